//! Checking rules against the data source's schema and turning them into what the evaluator
//! runs: properties resolved to their stable ids, operators checked against each property type
//! (Notion's filter vocabulary), options and dates checked, templates compiled.
//! Every problem is collected, with file, line, column and rule name.
//!
//! Two kinds of problem: those in the files (found without looking at the schema: syntax, names,
//! operators, dates, templates) make the whole set fail (exit 78); those that come from the
//! schema as it is now (a property or option that is not there, a type that does not fit)
//! *suspend* the rule alone: it does not run, the others do, and `status` and `check` show it.
//! Notion can change under a running daemon; a file cannot. A property renamed in Notion is
//! followed: a rule naming its former name (`former_names`) resolves to it by id.

use std::collections::BTreeMap;
use std::ops::Range;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use toml::Spanned;

use super::render::{TEMPLATE_FILTERS, sample_context};
use super::source::{LineIndex, MailConfig, Problem, RuleEntry};
use super::syntax::{ActionConfig, ConditionConfig, MailActionConfig, Scalar};
use crate::model::{DataSource, PropertySchema};

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
    fn of(kind: &str) -> Option<Self> {
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
    fn operators(self) -> &'static [&'static str] {
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
}

#[derive(Clone, Debug, PartialEq)]
pub struct SetProperty {
    pub name: String,
    pub id: String,
    pub value: SetValue,
}

/// A compiled action; templates are names in the rule set's environment.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Set(Vec<SetProperty>),
    Append {
        template: String,
    },
    Mail {
        to: Vec<String>,
        cc: Vec<String>,
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
}

impl RuleSet {
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
        }
    }
}

struct Compiler<'a> {
    entry: &'a RuleEntry,
    /// The lines of the entry's file, indexed once per file.
    lines: &'a LineIndex,
    rule: &'a str,
    schema: &'a DataSource,
    /// Former property names (before a rename in Notion) → current ones.
    former_names: &'a BTreeMap<String, String>,
    /// Problems in the files: the set fails.
    problems: &'a mut Vec<Problem>,
    /// Problems with the schema as it is now: the rule is suspended.
    mismatches: &'a mut Vec<Problem>,
    followed: &'a mut Vec<Followed>,
    templates: &'a mut minijinja::Environment<'static>,
    sample: &'a minijinja::Value,
    checker: &'a minijinja::Environment<'static>,
    template_count: usize,
    literals: &'a mut std::collections::HashMap<String, String>,
}

/// Compiles every rule against the schema; all problems or the rule set.
pub fn compile(
    entries: &[RuleEntry],
    schema: &DataSource,
    mail: &MailConfig,
    firing_budget: u32,
) -> Result<RuleSet, Vec<Problem>> {
    compile_following(entries, schema, &BTreeMap::new(), mail, firing_budget)
}

/// Compiles every rule against the schema, following renamed properties (`former_names`:
/// former name → current name). Problems in the files: all problems (with the mismatches).
/// Otherwise the rule set, where rules that do not fit the schema are suspended.
pub fn compile_following(
    entries: &[RuleEntry],
    schema: &DataSource,
    former_names: &BTreeMap<String, String>,
    mail: &MailConfig,
    firing_budget: u32,
) -> Result<RuleSet, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut mismatches = Vec::new();
    let mut suspended = Vec::new();
    let mut followed = Vec::new();
    let mut templates = super::render::environment();
    let mut literals = std::collections::HashMap::new();
    let mut checker = super::render::environment();
    checker.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let sample = sample_context(schema);
    let mut rules = Vec::new();
    let mut seen: BTreeMap<String, (std::path::PathBuf, usize)> = BTreeMap::new();
    // One line index per file (entries of one file share its text): positions stay linear in
    // the size of the files however many rules there are.
    let mut indexes: std::collections::HashMap<*const u8, LineIndex> =
        std::collections::HashMap::new();
    for entry in entries {
        indexes
            .entry(entry.text.as_ptr())
            .or_insert_with(|| LineIndex::new(&entry.text));
    }
    for entry in entries {
        let name = entry.rule.name.get_ref().trim().to_string();
        let Some(lines) = indexes.get(&entry.text.as_ptr()) else {
            continue; // every entry's text was indexed just above
        };
        let mismatched_before = mismatches.len();
        let mut compiler = Compiler {
            entry,
            lines,
            rule: &name,
            schema,
            former_names,
            problems: &mut problems,
            mismatches: &mut mismatches,
            followed: &mut followed,
            templates: &mut templates,
            sample: &sample,
            checker: &checker,
            template_count: 0,
            literals: &mut literals,
        };
        if name.is_empty() {
            compiler.problem(
                &entry.rule.name.span(),
                "the rule name is empty: give every rule a unique, stable name".into(),
            );
        } else if !name
            .chars()
            .all(|c| c.is_alphanumeric() || " -_.:/".contains(c))
        {
            compiler.problem(
                &entry.rule.name.span(),
                "a rule name may hold letters, digits, spaces and - _ . : / only".into(),
            );
        }
        if let Some((file, line)) = seen.get(&name) {
            let message = format!(
                "the rule name is used twice (first at {}:{line}): names must be unique",
                file.display()
            );
            compiler.problem(&entry.rule.name.span(), message);
        } else {
            seen.insert(
                name.clone(),
                (
                    entry.file.clone(),
                    lines.position(&entry.text, entry.rule.name.span().start).0,
                ),
            );
        }
        let condition = compiler.condition(&entry.rule.when);
        let actions = compiler.actions(&entry.rule.actions, mail);
        if let (Some(condition), Some(actions)) = (condition, actions) {
            let trigger = if condition.has_transition() {
                Trigger::Edge
            } else if condition.is_timed() {
                Trigger::Timed
            } else {
                Trigger::Enter
            };
            rules.push(Rule {
                name,
                description: entry.rule.description.clone(),
                condition,
                actions,
                on_own_edits: entry.rule.on_own_edits,
                enabled: entry.rule.enabled,
                trigger,
            });
        } else if mismatches.len() > mismatched_before {
            suspended.push(Suspension {
                rule: name,
                reasons: mismatches[mismatched_before..].to_vec(),
            });
        }
    }
    if problems.is_empty() {
        Ok(RuleSet {
            rules,
            suspended,
            followed,
            templates,
            literals,
            firing_budget,
        })
    } else {
        problems.extend(mismatches);
        problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        Err(problems)
    }
}

fn property_list(schema: &DataSource) -> String {
    let names: Vec<&str> = schema.properties.keys().map(String::as_str).collect();
    names.join(", ")
}

impl<'a> Compiler<'a> {
    fn located(&self, span: &Range<usize>, message: String) -> Problem {
        let (line, column) = self.lines.position(&self.entry.text, span.start);
        Problem {
            file: Some(self.entry.file.clone()),
            line,
            column,
            message: format!("rule `{}`: {message}", self.rule),
        }
    }

    /// A problem in the files: the rule set fails.
    fn problem(&mut self, span: &Range<usize>, message: String) {
        let problem = self.located(span, message);
        self.problems.push(problem);
    }

    /// A rule that does not fit the schema as it is now: the rule is suspended.
    fn mismatch(&mut self, span: &Range<usize>, message: String) {
        let problem = self.located(span, message);
        self.mismatches.push(problem);
    }

    /// The property a rule names: by its current name, or by a name it had before a rename.
    fn property(&mut self, name: &str) -> Option<&'a PropertySchema> {
        let schema: &'a DataSource = self.schema;
        if let Some(property) = schema.properties.get(name) {
            return Some(property);
        }
        let current = self.former_names.get(name)?;
        let property = schema.properties.get(current)?;
        let followed = Followed {
            rule: self.rule.to_string(),
            former: name.to_string(),
            current: current.clone(),
        };
        if !self.followed.contains(&followed) {
            self.followed.push(followed);
        }
        Some(property)
    }

    fn condition(&mut self, spanned: &Spanned<ConditionConfig>) -> Option<Condition> {
        let span = spanned.span();
        let config = spanned.get_ref();
        let mut forms = Vec::new();
        if config.all.is_some() {
            forms.push("all");
        }
        if config.any.is_some() {
            forms.push("any");
        }
        if config.not.is_some() {
            forms.push("not");
        }
        if config.new.is_some() {
            forms.push("new");
        }
        if config.deleted.is_some() {
            forms.push("deleted");
        }
        if config.property.is_some() {
            forms.push("property");
        }
        match forms.as_slice() {
            ["all"] | ["any"] => {
                let items = config.all.as_ref().or(config.any.as_ref())?;
                if items.is_empty() {
                    self.problem(
                        &span,
                        format!("`{}` needs at least one condition", forms[0]),
                    );
                    return None;
                }
                let compiled: Vec<Option<Condition>> =
                    items.iter().map(|item| self.condition(item)).collect();
                let compiled: Option<Vec<Condition>> = compiled.into_iter().collect();
                compiled.map(|items| {
                    if forms[0] == "all" {
                        Condition::All(items)
                    } else {
                        Condition::Any(items)
                    }
                })
            }
            ["not"] => {
                let inner = config.not.as_ref()?;
                self.condition(inner).map(|c| Condition::Not(Box::new(c)))
            }
            ["new"] | ["deleted"] => {
                if config.new == Some(false) || config.deleted == Some(false) {
                    self.problem(
                        &span,
                        format!(
                            "write `{0} = true` (for the opposite, use `not = {{ {0} = true }}`)",
                            forms[0]
                        ),
                    );
                    return None;
                }
                Some(if forms[0] == "new" {
                    Condition::New
                } else {
                    Condition::Deleted
                })
            }
            ["property"] => self.test(&span, config),
            [] => {
                self.problem(&span, "the condition is empty: use `property` with an operator, `all`, `any`, `not`, `new` or `deleted`".into());
                None
            }
            several => {
                self.problem(
                    &span,
                    format!(
                        "a condition takes one form, not {}: nest them with `all` or `any`",
                        several.join(" and ")
                    ),
                );
                None
            }
        }
    }

    fn test(&mut self, span: &Range<usize>, config: &ConditionConfig) -> Option<Condition> {
        let name = config.property.as_deref().unwrap_or_default();
        let Some(property) = self.property(name) else {
            let list = property_list(self.schema);
            self.mismatch(
                span,
                format!("the data source has no property `{name}`; it has: {list}"),
            );
            return None;
        };
        let Some(family) = Family::of(&property.kind) else {
            self.mismatch(
                span,
                format!(
                    "`{name}` is a {} property, which rules cannot test",
                    property.kind
                ),
            );
            return None;
        };
        let operators = config.operators();
        let (operator, value) = match operators.as_slice() {
            [single] => single.clone(),
            [] => {
                let allowed = family.operators().join(", ");
                self.problem(
                    span,
                    format!("no operator for `{name}`: use one of {allowed}"),
                );
                return None;
            }
            several => {
                let names: Vec<&str> = several.iter().map(|(n, _)| *n).collect();
                self.problem(span, format!("one operator per condition, not {}: combine conditions with `all` or `any`", names.join(" and ")));
                return None;
            }
        };
        if !family.operators().contains(&operator) {
            let allowed = family.operators().join(", ");
            self.mismatch(
                span,
                format!(
                    "`{operator}` does not apply to `{name}`, a {} property; use one of {allowed}",
                    property.kind
                ),
            );
            return None;
        }
        let test = self.test_value(span, property, family, operator, &value)?;
        Some(Condition::Test {
            property_id: property.id.clone(),
            property: property.name.clone(),
            family,
            test,
        })
    }

    fn test_value(
        &mut self,
        span: &Range<usize>,
        property: &PropertySchema,
        family: Family,
        operator: &str,
        value: &Scalar,
    ) -> Option<Test> {
        match operator {
            "is_empty" | "is_not_empty" | "changed" => {
                let Scalar::Bool(yes) = value else {
                    self.problem(span, format!("`{operator}` takes true or false"));
                    return None;
                };
                return Some(match operator {
                    "is_empty" => Test::Empty(*yes),
                    "is_not_empty" => Test::Empty(!*yes),
                    _ => Test::Changed(*yes),
                });
            }
            "greater_than" | "less_than" | "greater_than_or_equal_to" | "less_than_or_equal_to" => {
                let Some(number) = value.as_number() else {
                    self.problem(
                        span,
                        format!(
                            "`{operator}` on `{}` takes a number, not {}",
                            property.name,
                            value.describe()
                        ),
                    );
                    return None;
                };
                let comparison = match operator {
                    "greater_than" => Comparison::Greater,
                    "less_than" => Comparison::Less,
                    "greater_than_or_equal_to" => Comparison::GreaterOrEqual,
                    _ => Comparison::LessOrEqual,
                };
                return Some(Test::Compare(comparison, number));
            }
            "before" | "after" | "on_or_before" | "on_or_after" => {
                let date = self.date(span, value)?;
                let comparison = match operator {
                    "before" => DateComparison::Before,
                    "after" => DateComparison::After,
                    "on_or_before" => DateComparison::OnOrBefore,
                    _ => DateComparison::OnOrAfter,
                };
                return Some(Test::Date(comparison, date));
            }
            "starts_with" | "ends_with" => {
                let Some(text) = value.as_text() else {
                    self.problem(
                        span,
                        format!("`{operator}` takes text, not {}", value.describe()),
                    );
                    return None;
                };
                return Some(if operator == "starts_with" {
                    Test::StartsWith(text.into())
                } else {
                    Test::EndsWith(text.into())
                });
            }
            _ => {}
        }
        let operand = self.operand(span, property, family, value)?;
        if family == Family::Date
            && operator == "equals"
            && let Operand::Date(date) = &operand
        {
            return Some(Test::Date(DateComparison::Equals, date.clone()));
        }
        Some(match operator {
            "equals" => Test::Equals(operand),
            "does_not_equal" => Test::NotEquals(operand),
            "contains" => Test::Contains(operand),
            "does_not_contain" => Test::NotContains(operand),
            "changed_from" => Test::ChangedFrom(operand),
            _ => Test::ChangedTo(operand),
        })
    }

    fn date(&mut self, span: &Range<usize>, value: &Scalar) -> Option<DateRef> {
        let Some(text) = value.as_text() else {
            self.problem(
                span,
                format!(
                    "a date is written as text, such as \"today\" or \"2026-07-10\", not {}",
                    value.describe()
                ),
            );
            return None;
        };
        match DateRef::parse(text) {
            Ok(date) => Some(date),
            Err(message) => {
                self.problem(span, message);
                None
            }
        }
    }

    /// The operand of equals/contains/changed_*: typed by the property.
    fn operand(
        &mut self,
        span: &Range<usize>,
        property: &PropertySchema,
        family: Family,
        value: &Scalar,
    ) -> Option<Operand> {
        match (family, value) {
            (Family::Checkbox, Scalar::Bool(flag)) => Some(Operand::Bool(*flag)),
            (Family::Checkbox, other) => {
                self.mismatch(
                    span,
                    format!(
                        "`{}` is a checkbox: compare it with true or false, not {}",
                        property.name,
                        other.describe()
                    ),
                );
                None
            }
            (Family::Number, value) => match value.as_number() {
                Some(number) => Some(Operand::Number(number)),
                None => {
                    self.mismatch(
                        span,
                        format!(
                            "`{}` is a number property: compare it with a number, not {}",
                            property.name,
                            value.describe()
                        ),
                    );
                    None
                }
            },
            (Family::Date, value) => self.date(span, value).map(Operand::Date),
            (Family::Option | Family::Options, Scalar::Text(text)) => {
                self.option(span, property, text).map(Operand::Text)
            }
            (Family::Computed, Scalar::Bool(flag)) => Some(Operand::Bool(*flag)),
            (Family::Computed, Scalar::Integer(_) | Scalar::Float(_)) => {
                value.as_number().map(Operand::Number)
            }
            (_, Scalar::Text(text)) => Some(Operand::Text(text.clone())),
            (_, other) => {
                self.mismatch(
                    span,
                    format!(
                        "`{}` is a {} property: compare it with text, not {}",
                        property.name,
                        property.kind,
                        other.describe()
                    ),
                );
                None
            }
        }
    }

    /// The exact name of an option of a select, status or multi-select property.
    fn option(
        &mut self,
        span: &Range<usize>,
        property: &PropertySchema,
        wanted: &str,
    ) -> Option<String> {
        if let Some(option) = property.options.iter().find(|o| o.name == wanted) {
            return Some(option.name.clone());
        }
        let names: Vec<String> = property
            .options
            .iter()
            .map(|o| format!("`{}`", o.name))
            .collect();
        let hint = property
            .options
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(wanted))
            .map(|o| format!(" (did you mean `{}`?)", o.name))
            .unwrap_or_default();
        self.mismatch(
            span,
            format!(
                "`{wanted}` is not an option of the {} property `{}`{hint}; its options: {}",
                property.kind,
                property.name,
                names.join(", ")
            ),
        );
        None
    }

    fn actions(
        &mut self,
        spanned: &Spanned<Vec<Spanned<ActionConfig>>>,
        mail: &MailConfig,
    ) -> Option<Vec<Action>> {
        if spanned.get_ref().is_empty() {
            self.problem(
                &spanned.span(),
                "the rule has no actions: give it at least one `set`, `append` or `mail`".into(),
            );
            return None;
        }
        let compiled: Vec<Option<Action>> = spanned
            .get_ref()
            .iter()
            .map(|action| self.action(action, mail))
            .collect();
        compiled.into_iter().collect()
    }

    fn action(&mut self, spanned: &Spanned<ActionConfig>, mail: &MailConfig) -> Option<Action> {
        let span = spanned.span();
        let config = spanned.get_ref();
        let kinds = [
            config.set.is_some(),
            config.append.is_some(),
            config.mail.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            self.problem(
                &span,
                "an action is exactly one of `set`, `append` or `mail`".into(),
            );
            return None;
        }
        if let Some(set) = &config.set {
            return self.set(&span, set);
        }
        if let Some(text) = &config.append {
            if text.trim().is_empty() {
                self.problem(&span, "`append` has no text".into());
                return None;
            }
            return self
                .template(&span, "append", text)
                .map(|template| Action::Append { template });
        }
        self.mail(&span, config.mail.as_ref()?, mail)
    }

    fn set(&mut self, span: &Range<usize>, values: &BTreeMap<String, Scalar>) -> Option<Action> {
        if values.is_empty() {
            self.problem(span, "`set` names no property".into());
            return None;
        }
        let mut compiled = Vec::new();
        let mut ok = true;
        for (name, value) in values {
            let Some(property) = self.property(name) else {
                let list = property_list(self.schema);
                self.mismatch(
                    span,
                    format!(
                        "`set` names `{name}`, which the data source does not have; it has: {list}"
                    ),
                );
                ok = false;
                continue;
            };
            match self.set_value(span, property, value) {
                Some(value) => compiled.push(SetProperty {
                    name: property.name.clone(),
                    id: property.id.clone(),
                    value,
                }),
                None => ok = false,
            }
        }
        ok.then_some(Action::Set(compiled))
    }

    fn set_value(
        &mut self,
        span: &Range<usize>,
        property: &PropertySchema,
        value: &Scalar,
    ) -> Option<SetValue> {
        let name = &property.name;
        let wrong = |this: &mut Self, expected: &str| {
            this.mismatch(
                span,
                format!(
                    "`{name}` is a {} property: set it to {expected}, not {}",
                    property.kind,
                    value.describe()
                ),
            );
            None
        };
        match (property.kind.as_str(), value) {
            ("status", Scalar::Text(text)) => {
                self.option(span, property, text).map(SetValue::Status)
            }
            ("select", Scalar::Text(text)) if text.is_empty() => Some(SetValue::Select(None)),
            ("select", Scalar::Text(text)) => self
                .option(span, property, text)
                .map(|o| SetValue::Select(Some(o))),
            ("multi_select", Scalar::List(items)) => {
                let mut names = Vec::new();
                for item in items {
                    let Some(text) = item.as_text() else {
                        return wrong(self, "a list of option names");
                    };
                    names.push(self.option(span, property, text)?);
                }
                Some(SetValue::MultiSelect(names))
            }
            ("multi_select", Scalar::Text(text)) => self
                .option(span, property, text)
                .map(|o| SetValue::MultiSelect(vec![o])),
            ("checkbox", Scalar::Bool(flag)) => Some(SetValue::Checkbox(*flag)),
            ("date", Scalar::Text(text)) if text.is_empty() => Some(SetValue::Date(None)),
            ("date", Scalar::Text(_)) => self.date(span, value).map(|d| SetValue::Date(Some(d))),
            ("number", value) if value.as_number().is_some() => {
                Some(SetValue::Number(value.as_number()))
            }
            ("rich_text" | "title" | "url" | "email" | "phone_number", Scalar::Text(text)) => {
                let template = self.template(span, &format!("set {name}"), text)?;
                Some(SetValue::Text {
                    kind: property.kind.clone(),
                    template,
                })
            }
            ("status" | "select", _) => wrong(self, "the name of one of its options"),
            ("multi_select", _) => wrong(self, "a list of option names"),
            ("checkbox", _) => wrong(self, "true or false"),
            ("date", _) => wrong(
                self,
                "a date such as \"today\", \"+2d\" or \"2026-07-10\" (\"\" clears it)",
            ),
            ("number", _) => wrong(self, "a number"),
            ("rich_text" | "title" | "url" | "email" | "phone_number", _) => wrong(self, "text"),
            (kind, _) => {
                self.mismatch(
                    span,
                    format!("`{name}` is a {kind} property, which tasksync cannot set"),
                );
                None
            }
        }
    }

    fn mail(
        &mut self,
        span: &Range<usize>,
        action: &MailActionConfig,
        defaults: &MailConfig,
    ) -> Option<Action> {
        let to = action.to.clone().unwrap_or_else(|| defaults.to.clone());
        let cc = action.cc.clone().unwrap_or_else(|| defaults.cc.clone());
        if to.is_empty() {
            self.problem(
                span,
                "the mail has no recipients: set `to` in the action or under [mail]".into(),
            );
            return None;
        }
        let mut ok = true;
        // The sender is checked here, not first when a mail is sent: a sync would do all its
        // work, then fail on every run.
        match defaults.from.as_deref() {
            None => {
                self.problem(
                    span,
                    "the mail has no sender: set `from` under [mail], e.g. from = \"tasksync <tasksync@example.com>\"".into(),
                );
                ok = false;
            }
            Some(from) => {
                if let Err(message) = super::render::check_address(from) {
                    self.problem(span, format!("[mail] from: {message}"));
                    ok = false;
                }
            }
        }
        for address in to.iter().chain(&cc) {
            if let Err(message) = super::render::check_address(address) {
                self.problem(span, message);
                ok = false;
            }
        }
        let subject = self.template(
            span,
            "mail subject",
            action.subject.as_deref().unwrap_or(&defaults.subject),
        );
        let body = self.template(
            span,
            "mail body",
            action.body.as_deref().unwrap_or(&defaults.body),
        );
        let html = action
            .html
            .as_deref()
            .or(defaults.html.as_deref())
            .map(|source| self.template(span, "mail html", source));
        match (ok, subject, body, html) {
            (true, Some(subject), Some(body), None) => Some(Action::Mail {
                to,
                cc,
                subject,
                body,
                html: None,
            }),
            (true, Some(subject), Some(body), Some(Some(html))) => Some(Action::Mail {
                to,
                cc,
                subject,
                body,
                html: Some(html),
            }),
            _ => None,
        }
    }

    /// Compiles a template into the rule set's environment; checks it against a sample task
    /// (so a misspelt property is an error now, not an empty text later). Returns its name.
    fn template(&mut self, span: &Range<usize>, what: &str, source: &str) -> Option<String> {
        self.template_count += 1;
        // HTML templates escape what they insert (minijinja decides by the name's extension).
        let extension = if what.contains("html") { ".html" } else { "" };
        let name = format!("{}#{}{extension}", self.rule, self.template_count);
        // Rendered once against a sample task, strictly and within the limits (fuel, size).
        let checked = self.checker.template_from_str(source).and_then(|template| {
            super::render::render_within_limits(&template, self.sample.clone())
        });
        if let Err(error) = checked {
            if let Some(limit) = super::render::limit_exceeded(&error) {
                self.problem(span, format!("the {what} template is wrong: {limit}"));
                return None;
            }
            if error.kind() == minijinja::ErrorKind::UndefinedError
                && let Some(unknown) = unknown_task_field(source, self.sample)
            {
                self.mismatch(span, format!("the {what} template is wrong: {unknown}"));
                return None;
            }
            let detail = error.detail().map(|d| format!(": {d}")).unwrap_or_default();
            let line = error
                .line()
                .map(|l| format!(" on line {l} of the template"))
                .unwrap_or_default();
            self.problem(
                span,
                format!(
                    "the {what} template is wrong: {}{detail}{line} (templates see task, old, changes, rule, now, today; filters include {TEMPLATE_FILTERS})",
                    error.kind()
                ),
            );
            return None;
        }
        if !source.contains("{{") && !source.contains("{%") && !source.contains("{#") {
            self.literals.insert(name.clone(), source.to_string());
        }
        match self
            .templates
            .add_template_owned(name.clone(), source.to_string())
        {
            Ok(()) => Some(name),
            Err(error) => {
                self.problem(span, format!("the {what} template is wrong: {error}"));
                None
            }
        }
    }
}

/// The first `task.NAME` in a template that the task does not have, said with the closest
/// name it does have and the names there are: what "undefined value" means to a user.
fn unknown_task_field(source: &str, sample: &minijinja::Value) -> Option<String> {
    let task = sample.get_attr("task").ok()?;
    let known: Vec<String> = task
        .try_iter()
        .ok()?
        .filter_map(|key| key.as_str().map(str::to_string))
        .collect();
    let mut rest = source;
    while let Some(at) = rest.find("task.") {
        let after = &rest[at + "task.".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let boundary = at == 0 || !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        if boundary && !name.is_empty() && !known.contains(&name) {
            let closest = known
                .iter()
                .min_by_key(|candidate| {
                    edit_distance(&name.to_lowercase(), &candidate.to_lowercase())
                })
                .filter(|candidate| {
                    edit_distance(&name.to_lowercase(), &candidate.to_lowercase()) <= 3
                });
            let hint = closest
                .map(|c| format!(": did you mean `task.{c}`?"))
                .unwrap_or_default();
            let names: Vec<&str> = known.iter().map(String::as_str).collect();
            return Some(format!(
                "`task.{name}` is not a property of the task{hint} (a name with spaces is written task[\"Due date\"]; the task has: {})",
                names.join(", ")
            ));
        }
        rest = after;
    }
    None
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dates() {
        assert_eq!(DateRef::parse("today"), Ok(DateRef::Today { days: 0 }));
        assert_eq!(DateRef::parse("+2d"), Ok(DateRef::Today { days: 2 }));
        assert_eq!(DateRef::parse("-1w"), Ok(DateRef::Today { days: -7 }));
        assert_eq!(
            DateRef::parse("now"),
            Ok(DateRef::Now {
                offset: Duration::zero()
            })
        );
        assert_eq!(
            DateRef::parse("+3h"),
            Ok(DateRef::Now {
                offset: Duration::hours(3)
            })
        );
        assert_eq!(
            DateRef::parse("-30m"),
            Ok(DateRef::Now {
                offset: Duration::minutes(-30)
            })
        );
        assert_eq!(
            DateRef::parse("2026-07-10"),
            Ok(DateRef::Day(NaiveDate::from_ymd_opt(2026, 7, 10).unwrap()))
        );
        assert!(matches!(
            DateRef::parse("2026-07-10T09:00:00Z"),
            Ok(DateRef::Instant(_))
        ));
        for bad in ["tomorrow", "+2x", "2d", "+d", "2026-13-01"] {
            assert!(
                DateRef::parse(bad).unwrap_err().contains("is not a date"),
                "{bad}"
            );
        }
    }
}
