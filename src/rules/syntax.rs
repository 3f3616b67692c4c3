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
    /// The `[[sources]]` entry the rule is for, when the configuration has several and the rule
    /// is not in that source's `rules` file.
    #[serde(default)]
    pub source: Option<Spanned<String>>,
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

/// One action: exactly one of `set`, `append`, `mail`, `webhook`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    /// Properties to set, by name: `{ Status = "In progress", Done = true, Due = "+2d" }`.
    pub set: Option<BTreeMap<String, Scalar>>,
    /// Text to append to the page (a template; Markdown unless `format = "plain"`).
    pub append: Option<String>,
    /// How `append` is written: `"markdown"` (the default) or `"plain"` (paragraphs at blank
    /// lines, nothing else read).
    pub format: Option<String>,
    /// A mail to queue.
    pub mail: Option<MailActionConfig>,
    /// An HTTP POST to queue (Slack, Discord, ntfy, any endpoint).
    pub webhook: Option<WebhookActionConfig>,
    /// A new task to create (a follow-up, the next of a recurring task).
    pub create: Option<CreateActionConfig>,
}

/// A create action: the new task's properties (templates, by property name) and its text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateActionConfig {
    pub properties: BTreeMap<String, toml::Value>,
    /// Text of the page (a template; Markdown unless `format = "plain"`).
    pub append: Option<String>,
    pub format: Option<String>,
}

/// A webhook action: where to (a URL, or the environment variable holding one with a secret)
/// and what (a table sent as JSON, its strings templates; or a text template).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookActionConfig {
    pub url: Option<String>,
    pub url_env: Option<String>,
    pub body: Option<toml::Value>,
    pub content_type: Option<String>,
}

/// Who a mail goes to: an address, the people of a people property, or a list of these.
#[derive(Debug, Clone)]
pub struct RecipientsConfig(pub Vec<RecipientConfig>);

impl RecipientsConfig {
    pub fn into_list(self) -> Vec<RecipientConfig> {
        self.0
    }
}

/// One recipient.
#[derive(Debug, Clone, PartialEq)]
pub enum RecipientConfig {
    Address(String),
    /// `{ property = "Assignee" }`: each person of a people property, by the email Notion gives.
    People {
        property: String,
    },
}

const RECIPIENTS: &str = "an address, `{ property = \"Assignee\" }` (the people of a people property), or a list of these";

/// Reads one recipient: a string is an address, a table names a people property (read by hand:
/// a derived struct would also take a list, and `["a@example.com"]` would become a property).
struct RecipientVisitor;

impl<'de> serde::de::Visitor<'de> for RecipientVisitor {
    type Value = RecipientConfig;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(RECIPIENTS)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(RecipientConfig::Address(text.to_string()))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut property = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != "property" {
                return Err(serde::de::Error::unknown_field(&key, &["property"]));
            }
            property = Some(map.next_value::<String>()?);
        }
        property
            .map(|property| RecipientConfig::People { property })
            .ok_or_else(|| serde::de::Error::missing_field("property"))
    }
}

impl<'de> Deserialize<'de> for RecipientConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RecipientVisitor)
    }
}

/// Reads recipients: one, or a list.
struct RecipientsVisitor;

impl<'de> serde::de::Visitor<'de> for RecipientsVisitor {
    type Value = RecipientsConfig;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(RECIPIENTS)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
        RecipientVisitor
            .visit_str(text)
            .map(|one| RecipientsConfig(vec![one]))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        RecipientVisitor
            .visit_map(map)
            .map(|one| RecipientsConfig(vec![one]))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut list = Vec::new();
        while let Some(one) = seq.next_element::<RecipientConfig>()? {
            list.push(one);
        }
        Ok(RecipientsConfig(list))
    }
}

impl<'de> Deserialize<'de> for RecipientsConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RecipientsVisitor)
    }
}

/// A mail action; unset fields come from `[mail]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailActionConfig {
    pub to: Option<RecipientsConfig>,
    pub cc: Option<RecipientsConfig>,
    /// Subject template.
    pub subject: Option<String>,
    /// Plain-text body template.
    pub body: Option<String>,
    /// Optional HTML alternative template.
    pub html: Option<String>,
}
