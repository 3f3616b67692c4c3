//! One page of fetched tasks through the stages: completed (values cut at 25 references read
//! whole), classified, evaluated by the rules, and stored in one transaction.

use std::collections::HashMap;

use super::classify::{Classified, Stored, classify};
use super::{Engine, PlannedProperty};
use crate::model::Task;
use crate::model::stored::{
    CREATED, ChangeKind, CorruptRow, StoredProperties, decode_properties, take_stored_properties,
    task_row,
};
use crate::store::{Batch, StoredVersion};

impl Engine<'_> {
    /// Stores one page of fetched tasks in one transaction (with `cursor`, when given).
    pub(super) async fn ingest(
        &mut self,
        mut tasks: Vec<Task>,
        cursor: Option<String>,
    ) -> anyhow::Result<()> {
        let count = tasks.len() as u64;
        let ids: Vec<String> = tasks.iter().map(|t| t.id.to_string()).collect();
        let stored: HashMap<String, StoredVersion> = match self.store {
            Some(reader) => reader.stored_versions(ids.clone()).await?,
            None => HashMap::new(),
        };
        let mut batch = Batch {
            cursor,
            ..self.batch()
        };
        let inside = self.recorded_states(&tasks).await?;
        for task in &mut tasks {
            task.fill_user_names(&self.names);
            for (name, property) in &task.properties {
                if !self.known_properties.contains(&property.id) {
                    self.unknown_properties.insert(name.clone());
                }
            }
        }
        // The mirror's version of each task, its properties decoded once (`Err`: a row that
        // does not decode).
        let olds: Vec<Old<'_>> = ids
            .iter()
            .map(|id| {
                let old = stored.get(id);
                let properties = old
                    .map(|old| decode_properties(id, &old.properties_json))
                    .transpose();
                (old, properties)
            })
            .collect();
        self.complete_truncated(&mut tasks, &olds).await?;
        for ((mut task, (old, old_properties)), id) in tasks.into_iter().zip(olds).zip(ids) {
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
            self.plan(
                id.clone(),
                crate::model::stored::unique_id(&properties),
                row.title.clone(),
                kind,
                planned,
            );
            if let Some(edit) = self
                .other_writer(&task, &row, kind, &properties, &changes)
                .await?
            {
                self.other_writers += 1;
                batch.other_writers.push(edit);
            }
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
    /// page-property endpoint otherwise (`NotionClient::complete_truncated`: a page of tasks'
    /// reads overlap).
    async fn complete_truncated(&self, tasks: &mut [Task], olds: &[Old<'_>]) -> anyhow::Result<()> {
        for (task, (old, old_properties)) in tasks.iter_mut().zip(olds) {
            task.mark_derived_truncation(self.source);
            // A corrupt row keeps nothing.
            let Ok(Some(old_properties)) = old_properties else {
                continue;
            };
            // Edit times are minute-rounded, so an equal `last_edited_time` alone does not prove
            // the page unchanged: every value the page object shows whole must be as stored too.
            let unedited = old.is_some_and(|o| o.last_edited_time == task.last_edited_time)
                && task.properties.values().filter(|p| !p.truncated).all(|p| {
                    old_properties
                        .values()
                        .any(|s| s.id == p.id && s.value == p.value)
                });
            if !unedited {
                continue;
            }
            for property in task.properties.values_mut().filter(|p| p.truncated) {
                if let Some(kept) = old_properties.values().find(|p| p.id == property.id) {
                    property.value = kept.value.clone();
                    property.truncated = false;
                }
            }
        }
        self.client.complete_truncated(tasks).await
    }
}

/// The mirror's version of a fetched task, and its decoded properties.
type Old<'a> = (
    Option<&'a StoredVersion>,
    Result<Option<StoredProperties>, CorruptRow>,
);
