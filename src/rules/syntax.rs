//! The rule language as written in TOML (`[[rules]]`): serde shapes with positions, checked
//! against the data source's schema by `rules::compile`.
//!
//! ```toml
//! [[rules]]
//! name = "urgent-starts-work"
//! when = { property = "Priority", changed_to = "Urgent" }
//! actions = [
//!   { set = { Status = "In progress" } },
//!   { append = "Escalated: priority became Urgent on {{ today }}." },
//! ]
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// One `[[rules]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique and stable: it keys the record of what fired.
    pub name: Spanned<String>,
    /// Free text for people reading the configuration.
    #[serde(default)]
    pub description: Option<String>,
    /// The condition; the rule fires when a task enters it (or on the transition it names).
    pub when: Spanned<ConditionConfig>,
    /// What to do, in order.
    pub actions: Spanned<Vec<Spanned<ActionConfig>>>,
    /// Also react to edits tasksync itself made (default: no, which prevents loops).
    #[serde(default)]
    pub on_own_edits: bool,
    /// A disabled rule is checked but never fires.
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

/// A value in a condition or a `set` action.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Bool(bool),
    Integer(i64),
    Float(f64),
    Text(String),
    List(Vec<Scalar>),
}

impl Scalar {
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Bool(_) => "true or false",
            Self::Integer(_) | Self::Float(_) => "a number",
            Self::Text(_) => "text",
            Self::List(_) => "a list",
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<f64> {
        match self {
            Self::Integer(number) => Some(*number as f64),
            Self::Float(number) => Some(*number),
            _ => None,
        }
    }
}

/// A condition: a combination (`all`, `any`, `not`), an event (`new`, `deleted`), or a test of
/// one property with one operator in Notion's filter words.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionConfig {
    pub all: Option<Vec<Spanned<ConditionConfig>>>,
    pub any: Option<Vec<Spanned<ConditionConfig>>>,
    pub not: Option<Box<Spanned<ConditionConfig>>>,
    /// The task was just created.
    pub new: Option<bool>,
    /// The task was just deleted (trashed or moved out of the database).
    pub deleted: Option<bool>,
    /// The property tested, by its name in Notion.
    pub property: Option<String>,
    pub equals: Option<Scalar>,
    pub does_not_equal: Option<Scalar>,
    pub contains: Option<Scalar>,
    pub does_not_contain: Option<Scalar>,
    pub starts_with: Option<Scalar>,
    pub ends_with: Option<Scalar>,
    pub is_empty: Option<bool>,
    pub is_not_empty: Option<bool>,
    pub greater_than: Option<Scalar>,
    pub less_than: Option<Scalar>,
    pub greater_than_or_equal_to: Option<Scalar>,
    pub less_than_or_equal_to: Option<Scalar>,
    pub before: Option<Scalar>,
    pub after: Option<Scalar>,
    pub on_or_before: Option<Scalar>,
    pub on_or_after: Option<Scalar>,
    pub changed: Option<bool>,
    pub changed_from: Option<Scalar>,
    pub changed_to: Option<Scalar>,
}

impl ConditionConfig {
    /// The operators given, by name, with their values (flags such as `is_empty = true` as
    /// booleans).
    pub fn operators(&self) -> Vec<(&'static str, Scalar)> {
        let scalars = [
            ("equals", &self.equals),
            ("does_not_equal", &self.does_not_equal),
            ("contains", &self.contains),
            ("does_not_contain", &self.does_not_contain),
            ("starts_with", &self.starts_with),
            ("ends_with", &self.ends_with),
            ("greater_than", &self.greater_than),
            ("less_than", &self.less_than),
            ("greater_than_or_equal_to", &self.greater_than_or_equal_to),
            ("less_than_or_equal_to", &self.less_than_or_equal_to),
            ("before", &self.before),
            ("after", &self.after),
            ("on_or_before", &self.on_or_before),
            ("on_or_after", &self.on_or_after),
            ("changed_from", &self.changed_from),
            ("changed_to", &self.changed_to),
        ];
        let flags = [
            ("is_empty", self.is_empty),
            ("is_not_empty", self.is_not_empty),
            ("changed", self.changed),
        ];
        scalars
            .into_iter()
            .filter_map(|(name, value)| value.clone().map(|value| (name, value)))
            .chain(
                flags
                    .into_iter()
                    .filter_map(|(name, flag)| flag.map(|flag| (name, Scalar::Bool(flag)))),
            )
            .collect()
    }
}

/// One action: exactly one of `set`, `append`, `mail`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    /// Properties to set, by name: `{ Status = "In progress", Done = true, Due = "+2d" }`.
    pub set: Option<BTreeMap<String, Scalar>>,
    /// Text to append to the page (a template; blank lines separate paragraphs).
    pub append: Option<String>,
    /// A mail to queue.
    pub mail: Option<MailActionConfig>,
}

/// A mail action; unset fields come from `[mail]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailActionConfig {
    pub to: Option<Vec<String>>,
    pub cc: Option<Vec<String>>,
    /// Subject template.
    pub subject: Option<String>,
    /// Plain-text body template.
    pub body: Option<String>,
    /// Optional HTML alternative template.
    pub html: Option<String>,
}
