//! One page of fetched tasks through the stages: completed (values cut at 25 references read
//! whole), classified, evaluated by the rules, and stored in one transaction.

use std::collections::HashMap;

use anyhow::Context;
use futures_util::{StreamExt, TryStreamExt, stream};

use super::classify::{Classified, Stored, classify};
use super::{Engine, PlannedProperty};
use crate::model::stored::{
    CREATED, ChangeKind, CorruptRow, StoredProperties, decode_properties, take_stored_properties,
    task_row,
};
use crate::model::{PropertyValue, Task};
use crate::store::{Batch, StoredVersion};

impl Engine<'_> {
    /// Stores one page of fetched tasks in one transaction (with `cursor`, when given).
    pub(super) async fn ingest(
        &mut self,
        tasks: Vec<Task>,
        cursor: Option<String>,
    ) -> anyhow::Result<()> {
        let count = tasks.len() as u64;
        let ids: Vec<String> = tasks.iter().map(|t| t.id.to_string()).collect();
        let stored: HashMap<String, StoredVersion> = match self.store {
            Some(reader) => reader.stored_versions(ids).await?,
            None => HashMap::new(),
        };
        let mut batch = Batch {
            cursor,
            ..self.batch()
        };
        let inside = self.recorded_states(&tasks).await?;
        let mut tasks = tasks;
        for task in &mut tasks {
            task.fill_user_names(&self.names);
            for (name, property) in &task.properties {
                if !self.known_properties.contains(&property.id) {
                    self.unknown_properties.insert(name.clone());
                }
            }
        }
        // The mirror's versions, decoded once; a row that does not decode is `Err`.
        let olds: Vec<Result<Option<StoredProperties>, CorruptRow>> = tasks
            .iter()
            .map(|task| {
                let id = task.id.to_string();
                stored
                    .get(&id)
                    .map(|old| decode_properties(&id, &old.properties_json))
                    .transpose()
            })
            .collect();
        self.complete_truncated(&mut tasks, &stored, &olds).await?;
        for (mut task, old_properties) in tasks.into_iter().zip(olds) {
            let id = task.id.to_string();
            let old = stored.get(&id);
            let old_properties = match old_properties {
                Ok(properties) => properties,
                Err(corrupt) => {
                    // Nothing is decided from a row we cannot read: the version from Notion
                    // replaces it, without history and without rules.
                    tracing::error!(error = %corrupt, "rewriting the task from Notion; its rules are not evaluated this time");
                    let properties = take_stored_properties(&mut task);
                    self.counts.unchanged += 1;
                    batch
                        .upserts
                        .push(task_row(&task, &self.source_id, &properties));
                    continue;
                }
            };
            let properties = take_stored_properties(&mut task);
            let row = task_row(&task, &self.source_id, &properties);
            let Classified { kind, changes } = classify(
                &task,
                &row,
                &properties,
                old.zip(old_properties.as_ref()).map(|(old, props)| Stored {
                    content_hash: &old.content_hash,
                    last_edited_time: &old.last_edited_time,
                    deleted_at: old.deleted_at.as_deref(),
                    properties: props,
                }),
            );
            self.count(kind);
            if kind == ChangeKind::Reread {
                continue;
            }
            let planned = changes
                .iter()
                .filter(|c| c.property != CREATED)
                .map(|c| PlannedProperty {
                    property: c.property.clone(),
                    old_value: c.old_value.clone(),
                    new_value: c.new_value.clone(),
                })
                .collect();
            self.plan(id.clone(), row.title.clone(), kind, planned);
            if kind.is_evaluated() {
                let before = old.map(|o| (old_properties.as_ref(), o.deleted_at.is_some()));
                let inside = inside.get(&id).cloned().unwrap_or_default();
                self.evaluate(
                    &task,
                    &row,
                    before,
                    &properties,
                    &changes,
                    &inside,
                    &mut batch,
                )
                .await?;
            }
            batch.changes.extend(changes);
            batch.upserts.push(row);
        }
        self.write(batch).await?;
        self.progressed(count);
        Ok(())
    }

    fn count(&mut self, kind: ChangeKind) {
        let counter = match kind {
            ChangeKind::New => &mut self.counts.new,
            ChangeKind::Changed => &mut self.counts.changed,
            ChangeKind::Restored => &mut self.counts.restored,
            ChangeKind::Deleted => &mut self.counts.deleted,
            ChangeKind::Reread | ChangeKind::Touched | ChangeKind::Renamed => {
                &mut self.counts.unchanged
            }
        };
        *counter += 1;
    }

    /// Replaces values cut at 25 references (or computed from a relation that was) with their
    /// full value: reused from the mirror when the page has not been edited since, read from the
    /// page-property endpoint otherwise. The reads of a page of tasks overlap (up to
    /// [`PARALLEL_READS`] at once, all through the client's one pacer).
    async fn complete_truncated(
        &self,
        tasks: &mut [Task],
        stored: &HashMap<String, StoredVersion>,
        olds: &[Result<Option<StoredProperties>, CorruptRow>],
    ) -> anyhow::Result<()> {
        // (task, property name, property id) of each value to read.
        let mut reads: Vec<(usize, String, String)> = Vec::new();
        for (index, (task, old_properties)) in tasks.iter_mut().zip(olds).enumerate() {
            task.mark_derived_truncation(self.source);
            // A corrupt row keeps nothing.
            let (old, old_properties) = match old_properties {
                Ok(properties) => (stored.get(&task.id.to_string()), properties.as_ref()),
                Err(_) => (None, None),
            };
            // Edit times are minute-rounded, so an equal `last_edited_time` alone does not prove
            // the page unchanged: every value the page object shows whole must be as stored too.
            let unedited = old.is_some_and(|o| o.last_edited_time == task.last_edited_time)
                && old_properties.is_some_and(|stored| {
                    task.properties
                        .values()
                        .filter(|p| !p.truncated)
                        .all(|p| stored.values().any(|s| s.id == p.id && s.value == p.value))
                });
            for (name, property) in task.properties.iter_mut().filter(|(_, p)| p.truncated) {
                let kept = old_properties
                    .filter(|_| unedited)
                    .and_then(|props| props.values().find(|p| p.id == property.id));
                match kept {
                    Some(kept) => {
                        property.value = kept.value.clone();
                        property.truncated = false;
                    }
                    None => reads.push((index, name.clone(), property.id.clone())),
                }
            }
        }
        let client = self.client;
        let values: Vec<PropertyValue> = stream::iter(reads.iter().map(|(index, _, property)| {
            let page_id = &tasks[*index].id;
            async move {
                client
                    .property_value(page_id, property)
                    .await
                    .with_context(|| {
                        format!("cannot read the full value of a property of task {page_id}")
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

/// Property reads of one page of tasks in flight at once.
const PARALLEL_READS: usize = 8;
