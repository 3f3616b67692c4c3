//! The mirror's rows and the canonical stored form of a task: what reaches SQLite.
//!
//! `StoredProperties` is `tasks.properties_json` (its serde shape is a user contract: the README's
//! SQL reads `$.Name.text`), `MirroredTask` a `tasks` row, `Change` a `task_changes` row. The
//! content hash and the per-property differences between two versions are computed here. Pure:
//! no I/O, no clock.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Property, PropertyValue, Task};

/// A task as the mirror stores it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MirroredTask {
    pub id: String,
    pub data_source_id: String,
    pub title: String,
    pub status: Option<String>,
    pub url: String,
    pub created_time: String,
    pub last_edited_time: String,
    pub created_by: Option<String>,
    pub last_edited_by: Option<String>,
    pub deleted_at: Option<String>,
    pub properties_json: String,
    pub content_hash: String,
}

impl MirroredTask {
    /// Its stored properties; a row that does not decode is an error naming the task, never
    /// an empty set (which would diff as "everything changed" and could fire rules).
    pub fn properties(&self) -> Result<StoredProperties, CorruptRow> {
        decode_properties(&self.id, &self.properties_json)
    }
}

/// A mirror row whose `properties_json` does not decode: the mirror was edited by hand or is
/// damaged. Nothing is decided from it.
#[derive(Debug, thiserror::Error)]
#[error(
    "the mirror's row for task {task} has unreadable properties ({source}); run `tasksync sync --full` to rewrite it from Notion"
)]
pub struct CorruptRow {
    pub task: String,
    #[source]
    pub source: serde_json::Error,
}

/// The one decoder of `properties_json`.
pub fn decode_properties(task: &str, json: &str) -> Result<StoredProperties, CorruptRow> {
    serde_json::from_str(json).map_err(|source| CorruptRow {
        task: task.to_string(),
        source,
    })
}

/// An edit by our integration's bot that none of tasksync's journals explains: another process
/// acts with the same token (a second tasksync with its own mirror, a script).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OtherWriterEdit {
    pub task_id: String,
    pub data_source_id: String,
    /// What people call the task: `TASK-12 "title"`.
    pub task: String,
    /// Notion's `last_edited_time` of the edit (its `created_time` for a page it created).
    pub edited_at: String,
    /// The properties it changed (`(created)` for a page it created).
    pub properties: Vec<String>,
    /// When a sync found it (set by the store from the batch's time when empty).
    pub detected_at: String,
}

/// One changed property of one task, as one history row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub task_id: String,
    pub property: String,
    pub property_id: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub old_json: Option<String>,
    pub new_json: Option<String>,
    pub edited_at: Option<String>,
    pub edited_by: Option<String>,
}

/// The pseudo-property of history rows that record a deletion or a return.
pub const DELETED: &str = "(deleted)";
/// The pseudo-property of the history row that records a task's first sighting.
pub const CREATED: &str = "(created)";

/// What a fetched version of a task is, against the mirror (the sync's classify stage).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Not in the mirror before.
    New,
    /// The version the mirror has, read again: nothing to write.
    Reread,
    /// Edited in Notion without a change of content: the row is rewritten, no history.
    Touched,
    /// Only a property's name changed: the row is rewritten, no history, no rules.
    Renamed,
    /// Content changed: history rows, rules.
    Changed,
    /// Back from the trash (or seen again after a deletion).
    Restored,
    /// Gone from the data source (found by a reconcile or a full sync).
    Deleted,
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Reread => "reread",
            Self::Touched => "touched",
            Self::Renamed => "renamed",
            Self::Changed => "changed",
            Self::Restored => "restored",
            Self::Deleted => "deleted",
        }
    }

    /// Whether rules see the change (a renamed property alone is not a change of the task).
    pub fn is_evaluated(self) -> bool {
        !matches!(self, Self::Reread | Self::Renamed)
    }

    /// Whether a dry run lists it among the changes it would record.
    pub fn is_planned(self) -> bool {
        matches!(
            self,
            Self::New | Self::Changed | Self::Restored | Self::Deleted
        )
    }
}

/// Property types that change with every edit (or never): not content, so neither hashed nor
/// recorded as changes.
const VOLATILE: [&str; 4] = [
    "created_time",
    "created_by",
    "last_edited_time",
    "last_edited_by",
];

/// One property as `properties_json` stores it: its id, type, value, and a text rendering that
/// SQL can compare (`json_extract(properties_json, '$.Priority.text')`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredProperty {
    pub id: String,
    #[serde(flatten)]
    pub value: PropertyValue,
    pub text: String,
}

pub type StoredProperties = BTreeMap<String, StoredProperty>;

/// The properties of a task in stored form.
pub fn stored_properties(task: &Task) -> StoredProperties {
    task.properties
        .iter()
        .map(|(name, property)| (name.clone(), stored(property.clone())))
        .collect()
}

/// One property in stored form: its value and the text rendering of it.
fn stored(property: Property) -> StoredProperty {
    StoredProperty {
        text: property.value.display(),
        id: property.id,
        value: property.value,
    }
}

/// A task's unique ID (`TASK-12`) from its stored properties, when it has one.
pub fn unique_id(properties: &StoredProperties) -> Option<String> {
    properties
        .values()
        .find(|p| p.value.type_name() == "unique_id")
        .map(|p| p.text.clone())
        .filter(|t| !t.is_empty())
}

/// The properties of a task in stored form, moved out of the task (the sync's hot path: each
/// value is kept, not copied). The task is left without properties.
pub fn take_stored_properties(task: &mut Task) -> StoredProperties {
    std::mem::take(&mut task.properties)
        .into_iter()
        .map(|(name, property)| (name, stored(property)))
        .collect()
}

/// The mirror row of a task (its title and status read from `properties`).
pub fn task_row(task: &Task, data_source_id: &str, properties: &StoredProperties) -> MirroredTask {
    let (properties_json, content_hash) = canonical_json_and_hash(properties);
    MirroredTask {
        id: task.id.to_string(),
        data_source_id: data_source_id.to_string(),
        title: super::title_of(properties.values().map(|p| &p.value)),
        status: super::status_of(properties.values().map(|p| &p.value)),
        url: task.url.clone(),
        created_time: task.created_time.clone(),
        last_edited_time: task.last_edited_time.clone(),
        created_by: task.created_by.clone(),
        last_edited_by: task.last_edited_by.clone(),
        deleted_at: None,
        content_hash,
        properties_json,
    }
}

/// `properties_json` and the content hash in one pass: each value is serialised once, for both.
/// The JSON is exactly `serde_json::to_string(properties)` and the hash exactly
/// [`content_hash`] (tested), written by hand around the value's own JSON because `serde`'s
/// `flatten` would buffer every value first.
fn canonical_json_and_hash(properties: &StoredProperties) -> (String, String) {
    let mut json: Vec<u8> = Vec::with_capacity(256 * properties.len() + 2);
    let mut hash = Fnv::new();
    let mut value_json = Vec::with_capacity(256);
    json.push(b'{');
    for (index, (name, property)) in properties.iter().enumerate() {
        value_json.clear();
        let written = serde_json::to_writer(&mut value_json, &property.value)
            .and_then(|()| {
                if index > 0 {
                    json.push(b',');
                }
                serde_json::to_writer(&mut json, name)?;
                json.extend_from_slice(br#":{"id":"#);
                serde_json::to_writer(&mut json, &property.id)
            })
            .and_then(|()| {
                // The value is `{"type":…,"value":…}`: its members follow the id.
                json.push(b',');
                json.extend_from_slice(&value_json[1..value_json.len() - 1]);
                json.extend_from_slice(br#","text":"#);
                serde_json::to_writer(&mut json, &property.text)
            });
        if written.is_err() {
            return (
                serde_json::to_string(properties).unwrap_or_else(|_| "{}".into()),
                content_hash(properties),
            );
        }
        json.push(b'}');
        if !VOLATILE.contains(&property.value.type_name()) {
            hash.property(name, &property.id, &value_json);
        }
    }
    json.push(b'}');
    let json = String::from_utf8(json)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
    (json, hash.finish())
}

/// 64-bit FNV-1a over a task's content: for each property, its name, id and value JSON.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn feed(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn property(&mut self, name: &str, id: &str, value_json: &[u8]) {
        self.feed(name.as_bytes());
        self.feed(&[0]);
        self.feed(id.as_bytes());
        self.feed(&[0]);
        self.feed(value_json);
        self.feed(&[1]);
    }

    fn finish(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// A stable 64-bit FNV-1a hash of the content: property names, ids and values, without the
/// volatile ones. Stable across versions and platforms (it is stored), unlike `DefaultHasher`.
pub fn content_hash(properties: &StoredProperties) -> String {
    let mut hash = Fnv::new();
    for (name, property) in properties {
        if VOLATILE.contains(&property.value.type_name()) {
            continue;
        }
        let value = serde_json::to_string(&property.value).unwrap_or_default();
        hash.property(name, &property.id, value.as_bytes());
    }
    hash.finish()
}

/// The history rows for a task that changed from `old` to `new`: one per property whose value
/// differs, matched by property id so a renamed property is the same property.
pub fn changes(task: &Task, old: &StoredProperties, new: &StoredProperties) -> Vec<Change> {
    let old_by_id: BTreeMap<&str, &StoredProperty> =
        old.values().map(|p| (p.id.as_str(), p)).collect();
    let new_by_id: BTreeMap<&str, (&String, &StoredProperty)> =
        new.iter().map(|(n, p)| (p.id.as_str(), (n, p))).collect();
    let mut rows = Vec::new();
    for (name, property) in new {
        if VOLATILE.contains(&property.value.type_name()) {
            continue;
        }
        let before = old_by_id.get(property.id.as_str()).copied();
        if before.is_some_and(|before| before.value == property.value) {
            continue;
        }
        rows.push(change_row(task, name, &property.id, before, Some(property)));
    }
    for (name, property) in old {
        if !new_by_id.contains_key(property.id.as_str())
            && !VOLATILE.contains(&property.value.type_name())
        {
            rows.push(change_row(task, name, &property.id, Some(property), None));
        }
    }
    rows
}

fn change_row(
    task: &Task,
    name: &str,
    property_id: &str,
    old: Option<&StoredProperty>,
    new: Option<&StoredProperty>,
) -> Change {
    let json = |p: Option<&StoredProperty>| p.and_then(|p| serde_json::to_string(&p.value).ok());
    Change {
        task_id: task.id.to_string(),
        property: name.to_string(),
        property_id: Some(property_id.to_string()),
        old_value: old.map(|p| p.text.clone()),
        new_value: new.map(|p| p.text.clone()),
        old_json: json(old),
        new_json: json(new),
        edited_at: Some(task.last_edited_time.clone()),
        edited_by: task.last_edited_by.clone(),
    }
}

/// Properties renamed between two schema snapshots: (id, old name, new name).
pub fn renames(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<(String, String, String)> {
    new.iter()
        .filter_map(|(id, name)| {
            let before = old.get(id)?;
            (before != name).then(|| (id.clone(), before.clone(), name.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_row_is_an_error_naming_the_task_never_an_empty_set() {
        let error = decode_properties("TASK-7", "{\"Name\": 12").unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("task TASK-7 has unreadable properties"),
            "{message}"
        );
        assert!(message.contains("tasksync sync --full"), "{message}");
        assert!(decode_properties("t", "{}").unwrap().is_empty());
    }
    use crate::model::ids::NotionId;
    use crate::model::{Property, SelectOption};

    fn task(properties: &[(&str, &str, PropertyValue)]) -> Task {
        Task {
            id: NotionId::parse("0123456789abcdef0123456789abcdef").unwrap(),
            url: String::new(),
            created_time: "2026-11-01T10:00:00.000Z".into(),
            last_edited_time: "2026-11-02T10:00:00.000Z".into(),
            created_by: None,
            last_edited_by: Some("u1".into()),
            in_trash: false,
            data_source_id: None,
            properties: properties
                .iter()
                .map(|(name, id, value)| {
                    (
                        name.to_string(),
                        Property {
                            id: id.to_string(),
                            value: value.clone(),
                            truncated: false,
                        },
                    )
                })
                .collect(),
        }
    }

    fn status(name: &str) -> PropertyValue {
        PropertyValue::Status(Some(SelectOption {
            id: None,
            name: name.into(),
            color: None,
        }))
    }

    fn check(
        old: &[(&str, &str, PropertyValue)],
        new: &[(&str, &str, PropertyValue)],
        expected: &[(&str, Option<&str>, Option<&str>)],
    ) {
        let (old_task, new_task) = (task(old), task(new));
        let rows = changes(
            &new_task,
            &stored_properties(&old_task),
            &stored_properties(&new_task),
        );
        let got: Vec<(&str, Option<&str>, Option<&str>)> = rows
            .iter()
            .map(|r| {
                (
                    r.property.as_str(),
                    r.old_value.as_deref(),
                    r.new_value.as_deref(),
                )
            })
            .collect();
        assert_eq!(got, expected);
        let same_hash = content_hash(&stored_properties(&old_task))
            == content_hash(&stored_properties(&new_task));
        let same_names = old.iter().map(|p| p.0).eq(new.iter().map(|p| p.0));
        assert_eq!(
            same_hash,
            expected.is_empty() && same_names,
            "hash agrees with the diff"
        );
    }

    #[test]
    fn diffs_by_property_id() {
        let edited = |time: &str| PropertyValue::LastEditedTime(time.into());
        // Unchanged, except for the volatile edit time.
        check(
            &[
                ("Status", "s", status("To do")),
                ("Edited", "e", edited("a")),
            ],
            &[
                ("Status", "s", status("To do")),
                ("Edited", "e", edited("b")),
            ],
            &[],
        );
        check(
            &[
                ("Status", "s", status("To do")),
                ("Done", "d", PropertyValue::Checkbox(false)),
            ],
            &[
                ("Status", "s", status("Done")),
                ("Done", "d", PropertyValue::Checkbox(true)),
            ],
            &[
                ("Done", Some("no"), Some("yes")),
                ("Status", Some("To do"), Some("Done")),
            ],
        );
        // A rename is not a change of value.
        check(
            &[("Status", "s", status("Done"))],
            &[("State", "s", status("Done"))],
            &[],
        );
        // A new property, and one that went away.
        check(
            &[
                ("Status", "s", status("Done")),
                ("Old", "o", PropertyValue::Number(Some(1.0))),
            ],
            &[
                ("Status", "s", status("Done")),
                ("New", "n", PropertyValue::Url(Some("https://x".into()))),
            ],
            &[("New", None, Some("https://x")), ("Old", Some("1"), None)],
        );
    }

    #[test]
    fn finds_renames() {
        let old: BTreeMap<String, String> = [
            ("s".into(), "Status".into()),
            ("p".into(), "Priority".into()),
        ]
        .into();
        let new: BTreeMap<String, String> = [
            ("s".into(), "State".into()),
            ("p".into(), "Priority".into()),
        ]
        .into();
        assert_eq!(
            renames(&old, &new),
            [("s".to_string(), "Status".to_string(), "State".to_string())]
        );
    }
}
