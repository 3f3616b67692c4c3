//! Completing values that page objects cut at 25 references (reference/retrieve-a-page,
//! "Limits") from the page-property endpoint.

use anyhow::Context;
use futures_util::{StreamExt, TryStreamExt, stream};

use super::NotionClient;
use crate::model::{DataSource, PropertyValue, Task};

/// Page-property reads in flight at once when completing truncated values.
const PARALLEL_READS: usize = 8;

impl NotionClient {
    /// Replaces every value of `task` that its page object may have cut at 25 references with
    /// the full value from the page-property endpoint: people, relations and texts with mentions
    /// (marked `truncated` when read), and, given the schema, rollups and formulas computed from
    /// a truncated relation.
    pub async fn complete_task(
        &self,
        task: &mut Task,
        schema: Option<&DataSource>,
    ) -> anyhow::Result<()> {
        if let Some(schema) = schema {
            task.mark_derived_truncation(schema);
        }
        self.complete_truncated(std::slice::from_mut(task)).await
    }

    /// Replaces every value of `tasks` still marked `truncated` with its full value from the
    /// page-property endpoint, up to [`PARALLEL_READS`] reads at once (all through the one
    /// pacer). A failure names the task and property.
    pub async fn complete_truncated(&self, tasks: &mut [Task]) -> anyhow::Result<()> {
        // (task, property name, property id) of each value to read.
        let reads: Vec<(usize, String, String)> = tasks
            .iter()
            .enumerate()
            .flat_map(|(index, task)| {
                task.properties
                    .iter()
                    .filter(|(_, p)| p.truncated)
                    .map(move |(name, p)| (index, name.clone(), p.id.clone()))
            })
            .collect();
        let values: Vec<PropertyValue> = stream::iter(reads.iter().map(|(index, name, id)| {
            let page_id = &tasks[*index].id;
            async move {
                self.property_value(page_id, id).await.with_context(|| {
                    format!("cannot read the full value of property {name:?} of task {page_id}")
                })
            }
        }))
        .buffered(PARALLEL_READS)
        .try_collect()
        .await?;
        for ((index, name, _), value) in reads.into_iter().zip(values) {
            if let Some(property) = tasks[index].properties.get_mut(&name) {
                property.value = value;
                property.truncated = false;
            }
        }
        Ok(())
    }
}
