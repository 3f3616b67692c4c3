//! The classify stage: what a fetched version of a task is, against what the mirror holds.
//! Pure: the stored version and the fetched task in, a [`ChangeKind`] and its history rows out.

use crate::model::Task;
use crate::model::stored::{
    self, CREATED, Change, ChangeKind, DELETED, MirroredTask, StoredProperties,
};

/// What the mirror holds of a task, decoded.
#[derive(Clone, Copy, Debug)]
pub struct Stored<'a> {
    pub content_hash: &'a str,
    pub last_edited_time: &'a str,
    pub deleted_at: Option<&'a str>,
    pub properties: &'a StoredProperties,
}

/// A classified version: its kind and the history rows it adds (none for a re-read).
#[derive(Clone, Debug, PartialEq)]
pub struct Classified {
    pub kind: ChangeKind,
    pub changes: Vec<Change>,
}

/// Classifies `row` (the mirror row of the fetched `task`, with its stored `properties`)
/// against the mirror's version `old`.
pub fn classify(
    task: &Task,
    row: &MirroredTask,
    properties: &StoredProperties,
    old: Option<Stored<'_>>,
) -> Classified {
    let Some(old) = old else {
        let created = Change {
            task_id: row.id.clone(),
            property: CREATED.into(),
            property_id: None,
            old_value: None,
            new_value: Some(row.title.clone()),
            old_json: None,
            new_json: None,
            edited_at: Some(task.created_time.clone()),
            edited_by: task.created_by.clone(),
        };
        return Classified {
            kind: ChangeKind::New,
            changes: vec![created],
        };
    };
    if old.content_hash == row.content_hash && old.deleted_at.is_none() {
        // Same content: a re-read of the version we have, or an edit that changed nothing we
        // keep (then the edit time and author are kept exact, without a history row).
        let kind = if old.last_edited_time == row.last_edited_time {
            ChangeKind::Reread
        } else {
            ChangeKind::Touched
        };
        return Classified {
            kind,
            changes: Vec::new(),
        };
    }
    let mut changes = stored::changes(task, old.properties, properties);
    if let Some(deleted_at) = old.deleted_at {
        changes.push(Change {
            task_id: row.id.clone(),
            property: DELETED.into(),
            property_id: None,
            old_value: Some(deleted_at.to_string()),
            new_value: None,
            old_json: None,
            new_json: None,
            edited_at: Some(task.last_edited_time.clone()),
            edited_by: task.last_edited_by.clone(),
        });
        return Classified {
            kind: ChangeKind::Restored,
            changes,
        };
    }
    let kind = if changes.is_empty() {
        // Only a property name changed: the row is rewritten quietly.
        ChangeKind::Renamed
    } else {
        ChangeKind::Changed
    };
    Classified { kind, changes }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::ids::NotionId;
    use crate::model::stored::{stored_properties, task_row};
    use crate::model::{Property, PropertyValue, RichText, SelectOption};

    const SOURCE: &str = "22222222-2222-2222-2222-222222222222";

    fn task(edited: &str, title: &str, priority: &str, priority_name: &str) -> Task {
        let text = |t: &str| RichText {
            plain_text: t.into(),
            href: None,
            kind: "text".into(),
        };
        let mut properties = BTreeMap::new();
        properties.insert(
            "Name".to_string(),
            Property {
                id: "title".into(),
                value: PropertyValue::Title(vec![text(title)]),
                truncated: false,
            },
        );
        properties.insert(
            priority_name.to_string(),
            Property {
                id: "prio".into(),
                value: PropertyValue::Select(Some(SelectOption {
                    id: None,
                    name: priority.into(),
                    color: None,
                })),
                truncated: false,
            },
        );
        Task {
            id: NotionId::parse("11111111-1111-1111-1111-111111111111").unwrap(),
            url: "https://www.notion.so/t".into(),
            created_time: "2026-07-01T08:00:00.000Z".into(),
            last_edited_time: edited.into(),
            created_by: Some("ada".into()),
            last_edited_by: Some("grace".into()),
            in_trash: false,
            data_source_id: Some(SOURCE.into()),
            properties,
        }
    }

    /// Classifies `new` against `old` as the mirror would hold it (deleted at `deleted_at`).
    fn check(old: Option<(&Task, Option<&str>)>, new: &Task) -> Classified {
        let old = old.map(|(task, deleted_at)| {
            let properties = stored_properties(task);
            let row = task_row(task, SOURCE, &properties);
            (row, properties, deleted_at.map(str::to_string))
        });
        let properties = stored_properties(new);
        let row = task_row(new, SOURCE, &properties);
        classify(
            new,
            &row,
            &properties,
            old.as_ref().map(|(row, properties, deleted_at)| Stored {
                content_hash: &row.content_hash,
                last_edited_time: &row.last_edited_time,
                deleted_at: deleted_at.as_deref(),
                properties,
            }),
        )
    }

    const T1: &str = "2026-07-10T09:30:00.000Z";
    const T2: &str = "2026-07-10T09:31:00.000Z";

    #[test]
    fn a_task_the_mirror_lacks_is_new_with_its_creation_row() {
        let classified = check(None, &task(T1, "Write", "Low", "Priority"));
        assert_eq!(classified.kind, ChangeKind::New);
        assert_eq!(classified.changes.len(), 1);
        assert_eq!(classified.changes[0].property, CREATED);
        assert_eq!(classified.changes[0].new_value.as_deref(), Some("Write"));
        assert_eq!(classified.changes[0].edited_by.as_deref(), Some("ada"));
    }

    #[test]
    fn the_same_version_read_again_is_a_reread() {
        let old = task(T1, "Write", "Low", "Priority");
        let classified = check(Some((&old, None)), &old.clone());
        assert_eq!(classified.kind, ChangeKind::Reread);
        assert!(classified.changes.is_empty());
    }

    #[test]
    fn an_edit_that_changed_no_content_is_touched() {
        let old = task(T1, "Write", "Low", "Priority");
        let classified = check(Some((&old, None)), &task(T2, "Write", "Low", "Priority"));
        assert_eq!(classified.kind, ChangeKind::Touched);
        assert!(classified.changes.is_empty());
    }

    #[test]
    fn a_changed_value_is_changed_with_one_row_per_property() {
        let old = task(T1, "Write", "Low", "Priority");
        let classified = check(Some((&old, None)), &task(T2, "Write", "Urgent", "Priority"));
        assert_eq!(classified.kind, ChangeKind::Changed);
        assert_eq!(classified.changes.len(), 1);
        let change = &classified.changes[0];
        assert_eq!(change.property, "Priority");
        assert_eq!(change.old_value.as_deref(), Some("Low"));
        assert_eq!(change.new_value.as_deref(), Some("Urgent"));
        assert_eq!(change.edited_at.as_deref(), Some(T2));
    }

    #[test]
    fn a_renamed_property_alone_is_renamed_without_history() {
        let old = task(T1, "Write", "Low", "Priority");
        let classified = check(Some((&old, None)), &task(T1, "Write", "Low", "Prio"));
        assert_eq!(classified.kind, ChangeKind::Renamed);
        assert!(classified.changes.is_empty());
    }

    #[test]
    fn a_task_back_from_the_trash_is_restored_with_its_return_row() {
        let old = task(T1, "Write", "Low", "Priority");
        let at = "2026-07-10T09:00:00.000Z";
        let classified = check(
            Some((&old, Some(at))),
            &task(T2, "Write", "Low", "Priority"),
        );
        assert_eq!(classified.kind, ChangeKind::Restored);
        let back = classified.changes.last().unwrap();
        assert_eq!(back.property, DELETED);
        assert_eq!(back.old_value.as_deref(), Some(at));
        assert_eq!(back.new_value, None);
    }

    #[test]
    fn a_restored_task_that_also_changed_keeps_both_rows() {
        let old = task(T1, "Write", "Low", "Priority");
        let at = "2026-07-10T09:00:00.000Z";
        let classified = check(
            Some((&old, Some(at))),
            &task(T2, "Write", "Urgent", "Priority"),
        );
        assert_eq!(classified.kind, ChangeKind::Restored);
        let properties: Vec<&str> = classified
            .changes
            .iter()
            .map(|c| c.property.as_str())
            .collect();
        assert_eq!(properties, ["Priority", DELETED]);
    }
}
