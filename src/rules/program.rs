//! The rule program: what `rules::compile` makes of the files and what `rules::eval` and
//! `rules::render` run. Conditions hold property ids, never names, so renames are followed.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::source::Problem;

/// A point in time a condition or `set` refers to.
#[derive(Clone, Debug, PartialEq)]
pub enum DateRef {
    /// A calendar day (`2026-07-10`).
    Day(NaiveDate),
    /// An instant (`2026-07-10T09:00:00Z`).
    Instant(DateTime<Utc>),
    /// Today plus some days (`today`, `+2d`, `-1w`): compared by calendar day (UTC).
    Today { days: i64 },
    /// Now plus an offset (`now`, `+3h`, `-30m`): compared to the instant.
    Now { offset: Duration },
}

/// The farthest a relative date may reach, in minutes: a hundred years.
const MAX_OFFSET_MINUTES: i64 = 100 * 365 * 24 * 60;

impl DateRef {
    /// Parses `today`, `now`, `+2d`, `-1w`, `+3h`, `-30m`, an ISO date or an ISO date-time.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        match text {
            "today" => return Ok(Self::Today { days: 0 }),
            "now" => {
                return Ok(Self::Now {
                    offset: Duration::zero(),
                });
            }
            _ => {}
        }
        if let Some(sign) = text.chars().next().filter(|c| *c == '+' || *c == '-') {
            let body = &text[1..];
            let split = body
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(body.len());
            let (number, unit) = body.split_at(split);
            let amount: i64 = number.parse().map_err(|_| bad_date(text))?;
            let amount = if sign == '-' { -amount } else { amount };
            // At most a hundred years either way, so no date arithmetic can overflow later.
            let too_far = || format!("`{text}` is too far from today: at most 100 years (36500d)");
            let minutes_per_unit: i64 = match unit {
                "d" => 24 * 60,
                "w" => 7 * 24 * 60,
                "h" => 60,
                "m" => 1,
                _ => return Err(bad_date(text)),
            };
            let minutes = amount
                .checked_mul(minutes_per_unit)
                .filter(|minutes| minutes.abs() <= MAX_OFFSET_MINUTES)
                .ok_or_else(too_far)?;
            return Ok(match unit {
                "d" | "w" => Self::Today {
                    days: minutes / (24 * 60),
                },
                _ => Self::Now {
                    offset: Duration::try_minutes(minutes).ok_or_else(too_far)?,
                },
            });
        }
        if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Ok(Self::Day(day));
        }
        DateTime::parse_from_rfc3339(text)
            .map(|time| Self::Instant(time.with_timezone(&Utc)))
            .map_err(|_| bad_date(text))
    }

    /// Whether it moves with time (`today`, `now`, offsets).
    pub fn is_relative(&self) -> bool {
        matches!(self, Self::Today { .. } | Self::Now { .. })
    }
}

fn bad_date(text: &str) -> String {
    format!(
        "`{text}` is not a date: use an ISO date (2026-07-10), an ISO date-time, `today`, `now`, or an offset such as `+2d`, `-1w`, `+3h`, `-30m`"
    )
}

/// A value a test compares with.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Text(String),
    Number(f64),
    Bool(bool),
    Date(DateRef),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Greater,
    Less,
    GreaterOrEqual,
    LessOrEqual,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateComparison {
    Equals,
    Before,
    After,
    OnOrBefore,
    OnOrAfter,
}

/// One test of one property.
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    Equals(Operand),
    NotEquals(Operand),
    Contains(Operand),
    NotContains(Operand),
    StartsWith(String),
    EndsWith(String),
    /// `is_empty = true` (true) or `is_not_empty = true` (false).
    Empty(bool),
    Compare(Comparison, f64),
    Date(DateComparison, DateRef),
    Changed(bool),
    ChangedFrom(Operand),
    ChangedTo(Operand),
}

impl Test {
    fn is_transition(&self) -> bool {
        matches!(
            self,
            Self::Changed(_) | Self::ChangedFrom(_) | Self::ChangedTo(_)
        )
    }
}

/// How a property type is tested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// title, rich_text, url, email, phone_number
    Text,
    /// select, status: one option
    Option,
    /// multi_select: several options
    Options,
    Number,
    Checkbox,
    /// date, created_time, last_edited_time
    Date,
    /// people, created_by, last_edited_by
    People,
    Relation,
    Files,
    /// formula, rollup, unique_id: tested by the type of the value they hold
    Computed,
}

impl Family {
    pub(crate) fn of(kind: &str) -> Option<Self> {
        Some(match kind {
            "title" | "rich_text" | "url" | "email" | "phone_number" => Self::Text,
            "select" | "status" => Self::Option,
            "multi_select" => Self::Options,
            "number" => Self::Number,
            "checkbox" => Self::Checkbox,
            "date" | "created_time" | "last_edited_time" => Self::Date,
            "people" | "created_by" | "last_edited_by" => Self::People,
            "relation" => Self::Relation,
            "files" => Self::Files,
            "formula" | "rollup" | "unique_id" => Self::Computed,
            _ => return None,
        })
    }

    /// Notion's filter operators for the type, plus the transitions.
    pub(crate) fn operators(self) -> &'static [&'static str] {
        match self {
            Self::Text => &[
                "equals",
                "does_not_equal",
                "contains",
                "does_not_contain",
                "starts_with",
                "ends_with",
                "is_empty",
                "is_not_empty",
                "changed",
                "changed_from",
                "changed_to",
            ],
            Self::Option => &[
                "equals",
                "does_not_equal",
                "is_empty",
                "is_not_empty",
                "changed",
                "changed_from",
                "changed_to",
            ],
            Self::Options | Self::People | Self::Relation => &[
                "contains",
                "does_not_contain",
                "is_empty",
                "is_not_empty",
                "changed",
                "changed_from",
                "changed_to",
            ],
            Self::Number => &[
                "equals",
                "does_not_equal",
                "greater_than",
                "less_than",
                "greater_than_or_equal_to",
                "less_than_or_equal_to",
                "is_empty",
                "is_not_empty",
                "changed",
                "changed_from",
                "changed_to",
            ],
            Self::Checkbox => &[
                "equals",
                "does_not_equal",
                "changed",
                "changed_from",
                "changed_to",
            ],
            Self::Date => &[
                "equals",
                "before",
                "after",
                "on_or_before",
                "on_or_after",
                "is_empty",
                "is_not_empty",
                "changed",
                "changed_from",
                "changed_to",
            ],
            Self::Files => &["is_empty", "is_not_empty", "changed"],
            Self::Computed => &[
                "equals",
                "does_not_equal",
                "contains",
                "does_not_contain",
                "starts_with",
                "ends_with",
                "greater_than",
                "less_than",
                "greater_than_or_equal_to",
                "less_than_or_equal_to",
                "before",
                "after",
                "on_or_before",
                "on_or_after",
                "is_empty",
                "is_not_empty",
                "changed",
                "changed_from",
                "changed_to",
            ],
        }
    }
}

/// A compiled condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    New,
    Deleted,
    Test {
        /// The property's stable id.
        property_id: String,
        property: String,
        family: Family,
        test: Test,
    },
}

impl Condition {
    fn any_leaf(&self, predicate: &dyn Fn(&Condition) -> bool) -> bool {
        match self {
            Self::All(items) | Self::Any(items) => items.iter().any(|c| c.any_leaf(predicate)),
            Self::Not(inner) => inner.any_leaf(predicate),
            leaf => predicate(leaf),
        }
    }

    /// Names a transition or event: fires on that edge rather than on entering a state.
    pub fn has_transition(&self) -> bool {
        self.any_leaf(&|leaf| match leaf {
            Self::New | Self::Deleted => true,
            Self::Test { test, .. } => test.is_transition(),
            _ => false,
        })
    }

    /// Refers to `now` or an hour/minute offset: can change from one minute to the next.
    pub fn moves_by_the_minute(&self) -> bool {
        self.any_leaf(&|leaf| {
            matches!(
                leaf,
                Self::Test {
                    test: Test::Date(_, DateRef::Now { .. }),
                    ..
                } | Self::Test {
                    test: Test::Equals(Operand::Date(DateRef::Now { .. }))
                        | Test::NotEquals(Operand::Date(DateRef::Now { .. })),
                    ..
                }
            )
        })
    }

    /// Refers to `today`, `now` or an offset: can become true by time passing alone.
    pub fn is_timed(&self) -> bool {
        self.any_leaf(&|leaf| match leaf {
            Self::Test {
                test: Test::Date(_, date),
                ..
            } => date.is_relative(),
            Self::Test {
                test: Test::Equals(Operand::Date(date)) | Test::NotEquals(Operand::Date(date)),
                ..
            } => date.is_relative(),
            _ => false,
        })
    }
}

/// When a rule fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The condition names a transition: fire when the change makes it true.
    Edge,
    /// Fire when a change makes the condition true that was false before.
    Enter,
    /// Like `Enter`, and also when time passing makes it true (the mirror remembers who is in).
    Timed,
}

/// A value to set.
#[derive(Clone, Debug, PartialEq)]
pub enum SetValue {
    Status(String),
    Select(Option<String>),
    MultiSelect(Vec<String>),
    Checkbox(bool),
    Date(Option<DateRef>),
    Number(Option<f64>),
    /// A template for rich text, title, url, email or phone properties: the kind says which.
    Text {
        kind: String,
        template: String,
    },
    /// People by name, email or user id, found in the mirror's users when the rule fires
    /// (`check` reports those it does not know); an empty list clears the property.
    People(Vec<super::directory::Reference>),
    /// Tasks by unique ID, exact title or page id, found in the mirror when the rule fires.
    Relation(Vec<super::directory::Reference>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct SetProperty {
    pub name: String,
    pub id: String,
    pub value: SetValue,
}

/// One property of a task to create: its value is a template, read as the property's type once
/// rendered.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateProperty {
    pub name: String,
    pub id: String,
    pub kind: String,
    pub template: String,
}

/// A webhook's body: a JSON structure whose strings are templates, or one text template.
#[derive(Clone, Debug, PartialEq)]
pub enum WebhookBody {
    Json(JsonTemplate),
    Text(String),
}

/// JSON with templates (by name) for strings.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonTemplate {
    Literal(serde_json::Value),
    Text(String),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

/// A mail recipient: an address, or the people of a people property (by its id; the name is for
/// messages).
#[derive(Clone, Debug, PartialEq)]
pub enum Recipient {
    Address(String),
    People { property: String, id: String },
}

/// A compiled action; templates are names in the rule set's environment.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Set(Vec<SetProperty>),
    Append {
        template: String,
        format: crate::model::automation::TextFormat,
    },
    /// A new page in the rule's own data source.
    Create {
        data_source_id: String,
        /// Each value rendered, then read as the property's type.
        properties: Vec<CreateProperty>,
        append: Option<String>,
        format: crate::model::automation::TextFormat,
    },
    Webhook {
        target: crate::model::automation::WebhookTarget,
        content_type: String,
        body: WebhookBody,
    },
    Mail {
        to: Vec<Recipient>,
        cc: Vec<Recipient>,
        subject: String,
        body: String,
        html: Option<String>,
    },
}

/// A rule ready to run.
#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    /// The rule's `description`, for people.
    pub description: Option<String>,
    pub condition: Condition,
    pub actions: Vec<Action>,
    pub on_own_edits: bool,
    pub enabled: bool,
    pub trigger: Trigger,
}

/// A rule that does not fit the data source's schema as it is now: it does not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suspension {
    pub rule: String,
    pub reasons: Vec<Problem>,
}

impl Suspension {
    /// The reasons in one line, each with its position.
    pub fn reason(&self) -> String {
        let reasons: Vec<String> = self
            .reasons
            .iter()
            .map(|p| {
                let file = p
                    .file
                    .as_deref()
                    .map(|f| format!("{}:", f.display()))
                    .unwrap_or_default();
                format!("{file}{}:{}: {}", p.line, p.column, p.message)
            })
            .collect();
        reasons.join("; ")
    }
}

/// A rule that names a property by a name it had before a rename in Notion: followed by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Followed {
    pub rule: String,
    pub former: String,
    pub current: String,
}

/// All rules, with their templates.
pub struct RuleSet {
    /// The rules that run.
    pub rules: Vec<Rule>,
    /// The rules that do not fit the schema as it is now, with why.
    pub suspended: Vec<Suspension>,
    /// Properties named by a former name, followed to their current one.
    pub followed: Vec<Followed>,
    pub templates: minijinja::Environment<'static>,
    /// Templates without any `{{`, `{%` or `{#`: their text, rendered without the engine.
    pub literals: std::collections::HashMap<String, String>,
    pub firing_budget: u32,
    /// Whether a template may show a relation property: its tasks' titles are then read.
    pub renders_relations: bool,
    /// Whether a template may call `mention`: the task's people are then indexed for it.
    pub mentions: bool,
    /// Former property names templates use → current names: `task` and `old` show each
    /// property under both, so a template keeps rendering after a rename in Notion.
    pub aliases: std::collections::BTreeMap<String, String>,
}

impl RuleSet {
    /// Whether a running rule mails the people of a people property (their emails are then read
    /// from the mirror's users).
    pub fn mails_people(&self) -> bool {
        self.rules.iter().filter(|rule| rule.enabled).any(|rule| {
            rule.actions.iter().any(|action| {
                matches!(action, Action::Mail { to, cc, .. }
                    if to.iter().chain(cc).any(|r| matches!(r, Recipient::People { .. })))
            })
        })
    }

    /// The environment variables webhooks take their URL from, as (rule, variable).
    pub fn webhook_variables(&self) -> Vec<(&str, &str)> {
        let mut found = Vec::new();
        for rule in self.rules.iter().filter(|rule| rule.enabled) {
            for action in &rule.actions {
                if let Action::Webhook {
                    target: crate::model::automation::WebhookTarget::Env(name),
                    ..
                } = action
                {
                    found.push((rule.name.as_str(), name.as_str()));
                }
            }
        }
        found
    }

    /// The suspended rules as (rule, reason), as the mirror records them.
    pub fn suspensions(&self) -> Vec<(String, String)> {
        self.suspended
            .iter()
            .map(|s| (s.rule.clone(), s.reason()))
            .collect()
    }
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules.len())
            .field("suspended", &self.suspended)
            .finish()
    }
}

impl RuleSet {
    pub fn empty() -> Self {
        Self {
            rules: Vec::new(),
            suspended: Vec::new(),
            followed: Vec::new(),
            templates: super::render::environment(),
            literals: Default::default(),
            firing_budget: 5,
            renders_relations: false,
            mentions: false,
            aliases: Default::default(),
        }
    }
}
