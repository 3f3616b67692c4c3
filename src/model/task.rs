//! Domain types: tasks, their property values, data source schemas and property writes.
//!
//! These are what the rest of the program works with; only `notion::wire` converts them from and
//! to Notion's JSON. They serialise to a stable JSON form (used by `--json` and the mirror).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids::NotionId;

/// A Notion user or bot, as far as tasksync needs one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl User {
    /// The name when known, else the id: what a person reading output wants.
    pub fn display(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// One piece of rich text; `plain_text` is what reading and matching use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RichText {
    pub plain_text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// `text`, `mention` or `equation`.
    pub kind: String,
}

/// The plain text of the first title among `values` ("" when there is none).
pub fn title_of<'a>(values: impl IntoIterator<Item = &'a PropertyValue>) -> String {
    values
        .into_iter()
        .find_map(|value| match value {
            PropertyValue::Title(text) => Some(plain_text(text)),
            _ => None,
        })
        .unwrap_or_default()
}

/// The option name of the first status among `values`.
pub fn status_of<'a>(values: impl IntoIterator<Item = &'a PropertyValue>) -> Option<String> {
    values
        .into_iter()
        .find_map(|value| match value {
            PropertyValue::Status(option) => Some(option.as_ref().map(|o| o.name.clone())),
            _ => None,
        })
        .flatten()
}

/// Concatenates the plain text of rich text pieces.
pub fn plain_text(pieces: &[RichText]) -> String {
    pieces
        .iter()
        .map(|piece| piece.plain_text.as_str())
        .collect()
}

/// An option of a select, status or multi-select property.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelectOption {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// A date property value: `start` and `end` are ISO dates or date-times, as Notion sends them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DateValue {
    pub start: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// A file attached to a `files` property.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The computed value of a formula property.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum FormulaValue {
    String(Option<String>),
    Number(Option<f64>),
    Boolean(Option<bool>),
    Date(Option<DateValue>),
}

/// The computed value of a rollup property.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum RollupValue {
    Number(Option<f64>),
    Date(Option<DateValue>),
    Array(Vec<PropertyValue>),
    Incomplete,
    Unsupported,
}

/// A property value of a page, one variant per Notion property type.
///
/// `Unknown` keeps a type this version does not know as raw JSON: a new Notion property type
/// never makes a page unreadable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum PropertyValue {
    Title(Vec<RichText>),
    RichText(Vec<RichText>),
    Number(Option<f64>),
    Select(Option<SelectOption>),
    Status(Option<SelectOption>),
    MultiSelect(Vec<SelectOption>),
    Date(Option<DateValue>),
    People(Vec<User>),
    Files(Vec<FileRef>),
    Checkbox(bool),
    Url(Option<String>),
    Email(Option<String>),
    PhoneNumber(Option<String>),
    Formula(FormulaValue),
    Relation(Vec<String>),
    Rollup {
        function: Option<String>,
        result: RollupValue,
    },
    UniqueId {
        prefix: Option<String>,
        number: Option<i64>,
    },
    CreatedTime(String),
    CreatedBy(User),
    LastEditedTime(String),
    LastEditedBy(User),
    Verification(serde_json::Value),
    Unknown {
        type_name: String,
        raw: serde_json::Value,
    },
}

impl PropertyValue {
    /// Notion's name of the property type (`"status"`, `"rich_text"`, ...).
    pub fn type_name(&self) -> &str {
        match self {
            Self::Title(_) => "title",
            Self::RichText(_) => "rich_text",
            Self::Number(_) => "number",
            Self::Select(_) => "select",
            Self::Status(_) => "status",
            Self::MultiSelect(_) => "multi_select",
            Self::Date(_) => "date",
            Self::People(_) => "people",
            Self::Files(_) => "files",
            Self::Checkbox(_) => "checkbox",
            Self::Url(_) => "url",
            Self::Email(_) => "email",
            Self::PhoneNumber(_) => "phone_number",
            Self::Formula(_) => "formula",
            Self::Relation(_) => "relation",
            Self::Rollup { .. } => "rollup",
            Self::UniqueId { .. } => "unique_id",
            Self::CreatedTime(_) => "created_time",
            Self::CreatedBy(_) => "created_by",
            Self::LastEditedTime(_) => "last_edited_time",
            Self::LastEditedBy(_) => "last_edited_by",
            Self::Verification(_) => "verification",
            Self::Unknown { type_name, .. } => type_name,
        }
    }

    /// Fills in the names of users given by id only, from `names` (id → name).
    pub fn fill_user_names(&mut self, names: &std::collections::HashMap<String, String>) {
        let fill = |user: &mut User| {
            if user.name.as_deref().is_none_or(str::is_empty)
                && let Some(name) = names.get(&user.id)
            {
                user.name = Some(name.clone());
            }
        };
        match self {
            Self::People(users) => users.iter_mut().for_each(fill),
            Self::CreatedBy(user) | Self::LastEditedBy(user) => fill(user),
            _ => {}
        }
    }

    /// A short human rendering, for tables and detail views.
    pub fn display(&self) -> String {
        fn names(options: &[SelectOption]) -> String {
            let names: Vec<&str> = options.iter().map(|o| o.name.as_str()).collect();
            names.join(", ")
        }
        fn date(value: &DateValue) -> String {
            match &value.end {
                Some(end) => format!("{} → {end}", value.start),
                None => value.start.clone(),
            }
        }
        fn number(value: f64) -> String {
            if value.fract() == 0.0 && value.abs() < 1e15 {
                format!("{value:.0}")
            } else {
                value.to_string()
            }
        }
        match self {
            Self::Title(text) | Self::RichText(text) => plain_text(text),
            Self::Number(value) => value.map(number).unwrap_or_default(),
            Self::Select(option) | Self::Status(option) => {
                option.as_ref().map(|o| o.name.clone()).unwrap_or_default()
            }
            Self::MultiSelect(options) => names(options),
            Self::Date(value) => value.as_ref().map(date).unwrap_or_default(),
            Self::People(users) => {
                let names: Vec<&str> = users.iter().map(User::display).collect();
                names.join(", ")
            }
            Self::Files(files) => {
                let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
                names.join(", ")
            }
            Self::Checkbox(checked) => if *checked { "yes" } else { "no" }.to_string(),
            Self::Url(value) | Self::Email(value) | Self::PhoneNumber(value) => {
                value.clone().unwrap_or_default()
            }
            Self::Formula(formula) => match formula {
                FormulaValue::String(value) => value.clone().unwrap_or_default(),
                FormulaValue::Number(value) => value.map(number).unwrap_or_default(),
                FormulaValue::Boolean(value) => value.map(|b| b.to_string()).unwrap_or_default(),
                FormulaValue::Date(value) => value.as_ref().map(date).unwrap_or_default(),
            },
            Self::Relation(ids) => format!("{} linked", ids.len()),
            Self::Rollup { result, .. } => match result {
                RollupValue::Number(value) => value.map(number).unwrap_or_default(),
                RollupValue::Date(value) => value.as_ref().map(date).unwrap_or_default(),
                RollupValue::Array(items) => {
                    let shown: Vec<String> = items.iter().map(Self::display).collect();
                    shown.join(", ")
                }
                RollupValue::Incomplete => "(incomplete)".to_string(),
                RollupValue::Unsupported => "(unsupported)".to_string(),
            },
            Self::UniqueId { prefix, number } => match (prefix, number) {
                (Some(prefix), Some(number)) => format!("{prefix}-{number}"),
                (None, Some(number)) => number.to_string(),
                _ => String::new(),
            },
            Self::CreatedTime(time) | Self::LastEditedTime(time) => time.clone(),
            Self::CreatedBy(user) | Self::LastEditedBy(user) => user.display().to_string(),
            Self::Verification(raw) => raw
                .get("state")
                .and_then(|state| state.as_str())
                .unwrap_or_default()
                .to_string(),
            Self::Unknown { type_name, .. } => format!("({type_name})"),
        }
    }
}

/// One property of a page: its stable id, current name and value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Property {
    pub id: String,
    #[serde(flatten)]
    pub value: PropertyValue,
    /// The value may be cut at 25 references, or computed from a relation that was: the full
    /// value is on the page-property endpoint.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// A task: a page in the tasks data source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: NotionId,
    pub url: String,
    pub created_time: String,
    pub last_edited_time: String,
    pub created_by: Option<String>,
    pub last_edited_by: Option<String>,
    pub in_trash: bool,
    /// The data source the page belongs to, when its parent is one.
    pub data_source_id: Option<String>,
    /// Properties by their current name.
    pub properties: BTreeMap<String, Property>,
}

impl Task {
    /// Fills in the names of people that the page object gives by id only (`created_by`,
    /// `last_edited_by`, and people without a name), from the workspace's users.
    pub fn fill_user_names(&mut self, names: &std::collections::HashMap<String, String>) {
        if names.is_empty() {
            return;
        }
        for property in self.properties.values_mut() {
            property.value.fill_user_names(names);
        }
    }

    /// The plain text of the title property ("" when the page has none).
    pub fn title(&self) -> String {
        title_of(self.properties.values().map(|p| &p.value))
    }

    /// The name of the first status property's current option.
    pub fn status(&self) -> Option<String> {
        status_of(self.properties.values().map(|p| &p.value))
    }

    /// Marks rollups and formulas computed from a truncated relation as truncated too: Notion
    /// computes them in page objects over the first 25 references only.
    pub fn mark_derived_truncation(&mut self, schema: &DataSource) {
        let cut: Vec<String> = self
            .properties
            .values()
            .filter(|property| {
                property.truncated && matches!(property.value, PropertyValue::Relation(_))
            })
            .map(|property| property.id.clone())
            .collect();
        if cut.is_empty() {
            return;
        }
        let derived: Vec<&str> = schema
            .properties
            .values()
            .filter(|schema| schema.computed_from.iter().any(|id| cut.contains(id)))
            .map(|schema| schema.id.as_str())
            .collect();
        for property in self.properties.values_mut() {
            if derived.contains(&property.id.as_str()) {
                property.truncated = true;
            }
        }
    }
}

/// The schema of one property of a data source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PropertySchema {
    pub id: String,
    pub name: String,
    /// Notion's type name (`"status"`, `"select"`, ...).
    pub kind: String,
    /// Options of select, status and multi-select properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<SelectOption>,
    /// For rollups and formulas: the ids of the relation properties the value is computed from.
    /// Page objects compute such values over the first 25 references only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub computed_from: Vec<String>,
    /// A status property's groups (To-do, In progress, Complete), in order, with the ids of
    /// their options: what "open", "in progress" and "done" mean in any database.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<StatusGroup>,
}

/// One group of a status property's options (reference/property-object, "Status").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusGroup {
    pub name: String,
    pub option_ids: Vec<String>,
}

/// A data source: the table of tasks inside a database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSource {
    pub id: NotionId,
    pub name: String,
    pub database_id: Option<NotionId>,
    /// Properties by name.
    pub properties: BTreeMap<String, PropertySchema>,
}

impl DataSource {
    /// The first property of a type (`"status"`, `"title"`): what "the status" of a task means.
    pub fn first_of_kind(&self, kind: &str) -> Option<&PropertySchema> {
        self.properties.values().find(|p| p.kind == kind)
    }

    /// Property names by property id: what identifies a property across renames.
    pub fn names_by_id(&self) -> BTreeMap<String, String> {
        self.properties
            .values()
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect()
    }
}

/// A data source as listed by search or a database: enough to choose one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSourceSummary {
    pub id: NotionId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_id: Option<NotionId>,
}

/// A block of page content, reduced to its type and text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub id: String,
    pub kind: String,
    pub text: String,
    #[serde(default)]
    pub has_children: bool,
}

/// A new value for one property of a page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum PropertyWrite {
    Status(String),
    Select(Option<String>),
    MultiSelect(Vec<String>),
    Checkbox(bool),
    /// An ISO date or date-time; `None` clears the date.
    Date(Option<String>),
    Number(Option<f64>),
    RichText(String),
    Title(String),
    Url(Option<String>),
    Email(Option<String>),
    PhoneNumber(Option<String>),
    /// People by user id (the whole value: an empty list clears it).
    People(Vec<String>),
    /// Related pages by id (the whole value: an empty list clears it).
    Relation(Vec<String>),
}
