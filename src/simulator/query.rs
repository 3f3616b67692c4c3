//! Data source queries in the simulator: Notion's filter and sort JSON, compiled once per query
//! and checked as Notion checks them, then evaluated over the workspace's pages.

use std::cmp::Ordering;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::Value;

use super::ApiError;
use super::workspace::{PageRecord, Source, Workspace};

/// Parses an ISO date or date-time into an instant (a date means its midnight UTC).
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    if let Ok(time) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(time.and_utc());
    }
    if let Ok(time) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M") {
        return Some(time.and_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|time| time.and_utc())
}

pub enum DateOp {
    Equals(DateTime<Utc>, bool),
    Before(DateTime<Utc>),
    After(DateTime<Utc>),
    OnOrBefore(DateTime<Utc>),
    OnOrAfter(DateTime<Utc>),
    Within(DateTime<Utc>, DateTime<Utc>),
    Empty(bool),
}

impl DateOp {
    fn holds(&self, value: Option<DateTime<Utc>>) -> bool {
        match (self, value) {
            (Self::Empty(empty), value) => value.is_none() == *empty,
            (_, None) => false,
            (Self::Equals(at, date_only), Some(value)) => {
                if *date_only {
                    value.date_naive() == at.date_naive()
                } else {
                    value == *at
                }
            }
            (Self::Before(at), Some(value)) => value < *at,
            (Self::After(at), Some(value)) => value > *at,
            (Self::OnOrBefore(at), Some(value)) => value <= *at,
            (Self::OnOrAfter(at), Some(value)) => value >= *at,
            (Self::Within(from, to), Some(value)) => value >= *from && value <= *to,
        }
    }
}

pub enum Test {
    TextEquals(String, bool),
    TextContains(String, bool),
    StartsWith(String),
    EndsWith(String),
    Empty(bool),
    OptionEquals(String, bool),
    ListContains(String, bool),
    Checkbox(bool),
    Number(Ordering, f64, bool),
    NumberNot(f64),
    Date(DateOp),
}

pub enum Field {
    Created,
    Edited,
    Property { id: String, kind: String },
}

/// A compiled filter.
pub enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Leaf { field: Field, test: Test },
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::validation(message.into())
}

/// Compiles Notion filter JSON against a data source's schema.
pub fn compile(filter: &Value, source: &Source, now: DateTime<Utc>) -> Result<Filter, ApiError> {
    compile_at(filter, source, now, 0)
}

fn compile_at(
    filter: &Value,
    source: &Source,
    now: DateTime<Utc>,
    depth: usize,
) -> Result<Filter, ApiError> {
    for (key, compound) in [("and", true), ("or", false)] {
        if let Some(items) = filter.get(key) {
            if depth >= 2 {
                return Err(invalid(
                    "body.filter: compound filters may be nested at most two levels deep.",
                ));
            }
            let items = items
                .as_array()
                .ok_or_else(|| invalid(format!("body.filter.{key} should be an array")))?;
            if items.len() > 100 {
                return Err(invalid(format!(
                    "body.filter.{key} should have at most 100 items"
                )));
            }
            let compiled = items
                .iter()
                .map(|item| compile_at(item, source, now, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(if compound {
                Filter::All(compiled)
            } else {
                Filter::Any(compiled)
            });
        }
    }
    if let Some(timestamp) = filter.get("timestamp").and_then(Value::as_str) {
        let field = match timestamp {
            "created_time" => Field::Created,
            "last_edited_time" => Field::Edited,
            other => {
                return Err(invalid(format!(
                    "body.filter.timestamp should be `created_time` or `last_edited_time`, instead was `{other}`."
                )));
            }
        };
        let condition = filter
            .get(timestamp)
            .ok_or_else(|| invalid(format!("body.filter.{timestamp} should be defined")))?;
        return Ok(Filter::Leaf {
            field,
            test: Test::Date(date_op(condition, now)?),
        });
    }
    let key = filter
        .get("property")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid("body.filter should have `property`, `timestamp`, `and` or `or`.")
        })?;
    let prop = source
        .prop(key)
        .ok_or_else(|| invalid(format!("Could not find property with name or id: {key}")))?;
    let kind = prop.kind.as_str();
    let condition = filter.get(kind).ok_or_else(|| {
        invalid(format!(
            "body.filter.{kind} should be defined, instead was `undefined`."
        ))
    })?;
    let test = property_test(kind, condition, now)?;
    Ok(Filter::Leaf {
        field: Field::Property {
            id: prop.id.clone(),
            kind: kind.to_string(),
        },
        test,
    })
}

fn single(condition: &Value) -> Result<(&str, &Value), ApiError> {
    let object = condition
        .as_object()
        .ok_or_else(|| invalid("filter condition should be an object"))?;
    if object.len() != 1 {
        return Err(invalid("filter condition should have exactly one operator"));
    }
    object
        .iter()
        .next()
        .map(|(k, v)| (k.as_str(), v))
        .ok_or_else(|| invalid("empty filter condition"))
}

fn text_of(value: &Value, operator: &str) -> Result<String, ApiError> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| invalid(format!("{operator} should be a string")))
}

fn date_op(condition: &Value, now: DateTime<Utc>) -> Result<DateOp, ApiError> {
    let (operator, value) = single(condition)?;
    let at = || {
        value.as_str().and_then(parse_instant).ok_or_else(|| {
            invalid(format!(
                "{operator} should be a valid ISO 8601 date string, instead was `{value}`."
            ))
        })
    };
    Ok(match operator {
        "equals" => DateOp::Equals(at()?, value.as_str().is_some_and(|v| v.len() == 10)),
        "before" => DateOp::Before(at()?),
        "after" => DateOp::After(at()?),
        "on_or_before" => DateOp::OnOrBefore(at()?),
        "on_or_after" => DateOp::OnOrAfter(at()?),
        "is_empty" => DateOp::Empty(true),
        "is_not_empty" => DateOp::Empty(false),
        "past_week" => DateOp::Within(now - Duration::days(7), now),
        "past_month" => DateOp::Within(now - Duration::days(30), now),
        "next_week" => DateOp::Within(now, now + Duration::days(7)),
        "next_month" => DateOp::Within(now, now + Duration::days(30)),
        other => {
            return Err(invalid(format!(
                "unsupported date filter operator `{other}`"
            )));
        }
    })
}

fn property_test(kind: &str, condition: &Value, now: DateTime<Utc>) -> Result<Test, ApiError> {
    if matches!(kind, "date" | "created_time" | "last_edited_time") {
        return Ok(Test::Date(date_op(condition, now)?));
    }
    let (operator, value) = single(condition)?;
    let unsupported = || {
        invalid(format!(
            "`{operator}` is not a valid filter for a {kind} property"
        ))
    };
    Ok(match (kind, operator) {
        (_, "is_empty") => Test::Empty(true),
        (_, "is_not_empty") => Test::Empty(false),
        ("title" | "rich_text" | "url" | "email" | "phone_number", op) => match op {
            "equals" => Test::TextEquals(text_of(value, op)?, true),
            "does_not_equal" => Test::TextEquals(text_of(value, op)?, false),
            "contains" => Test::TextContains(text_of(value, op)?, true),
            "does_not_contain" => Test::TextContains(text_of(value, op)?, false),
            "starts_with" => Test::StartsWith(text_of(value, op)?),
            "ends_with" => Test::EndsWith(text_of(value, op)?),
            _ => return Err(unsupported()),
        },
        ("status" | "select", "equals") => Test::OptionEquals(text_of(value, operator)?, true),
        ("status" | "select", "does_not_equal") => {
            Test::OptionEquals(text_of(value, operator)?, false)
        }
        ("multi_select" | "people" | "relation", "contains") => {
            Test::ListContains(text_of(value, operator)?, true)
        }
        ("multi_select" | "people" | "relation", "does_not_contain") => {
            Test::ListContains(text_of(value, operator)?, false)
        }
        ("checkbox", "equals") => Test::Checkbox(value.as_bool().ok_or_else(unsupported)?),
        ("checkbox", "does_not_equal") => Test::Checkbox(!value.as_bool().ok_or_else(unsupported)?),
        ("number" | "unique_id", op) => {
            let number = value
                .as_f64()
                .ok_or_else(|| invalid(format!("{op} should be a number")))?;
            match op {
                "equals" => Test::Number(Ordering::Equal, number, false),
                "does_not_equal" => Test::NumberNot(number),
                "greater_than" => Test::Number(Ordering::Greater, number, false),
                "less_than" => Test::Number(Ordering::Less, number, false),
                "greater_than_or_equal_to" => Test::Number(Ordering::Greater, number, true),
                "less_than_or_equal_to" => Test::Number(Ordering::Less, number, true),
                _ => return Err(unsupported()),
            }
        }
        _ => return Err(unsupported()),
    })
}

impl Filter {
    pub fn matches(&self, workspace: &Workspace, page: &PageRecord) -> bool {
        match self {
            Self::All(filters) => filters.iter().all(|f| f.matches(workspace, page)),
            Self::Any(filters) => filters.iter().any(|f| f.matches(workspace, page)),
            Self::Leaf {
                field: Field::Created,
                test: Test::Date(op),
            } => op.holds(Some(page.created)),
            Self::Leaf {
                field: Field::Edited,
                test: Test::Date(op),
            } => op.holds(Some(page.edited)),
            Self::Leaf {
                field: Field::Property { id, kind },
                test,
            } => {
                let source = &workspace.sources[page.source];
                let Some(prop) = source.props.iter().find(|p| p.id == *id) else {
                    return false;
                };
                evaluate(test, kind, &workspace.value(page, prop))
            }
            Self::Leaf { .. } => false,
        }
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| item["plain_text"].as_str())
            .collect(),
        Value::String(text) => text.clone(),
        _ => String::new(),
    }
}

fn evaluate(test: &Test, kind: &str, value: &Value) -> bool {
    let is_empty = match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::String(text) => text.is_empty(),
        _ => false,
    };
    match test {
        Test::Empty(empty) => is_empty == *empty,
        Test::TextEquals(text, equal) => (plain(value) == *text) == *equal,
        Test::TextContains(text, contains) => {
            plain(value).to_lowercase().contains(&text.to_lowercase()) == *contains
        }
        Test::StartsWith(text) => plain(value).starts_with(text.as_str()),
        Test::EndsWith(text) => plain(value).ends_with(text.as_str()),
        Test::OptionEquals(name, equal) => {
            (value["name"].as_str() == Some(name.as_str())) == *equal
        }
        Test::ListContains(wanted, contains) => {
            let found = value.as_array().is_some_and(|items| {
                items
                    .iter()
                    .any(|item| item["name"] == *wanted.as_str() || item["id"] == *wanted.as_str())
            });
            found == *contains
        }
        Test::Checkbox(checked) => value.as_bool() == Some(*checked),
        Test::Number(ordering, number, or_equal) => {
            let actual = if kind == "unique_id" {
                value["number"].as_f64()
            } else {
                value.as_f64()
            };
            actual
                .and_then(|a| a.partial_cmp(number))
                .is_some_and(|o| o == *ordering || (*or_equal && o == Ordering::Equal))
        }
        Test::NumberNot(number) => value.as_f64() != Some(*number),
        Test::Date(op) => {
            let instant = match value {
                Value::String(text) => parse_instant(text),
                _ => value["start"].as_str().and_then(parse_instant),
            };
            op.holds(instant)
        }
    }
}

/// A sort key of one page for one sort.
#[derive(PartialEq, PartialOrd)]
enum Key {
    Number(f64),
    Text(String),
    Missing,
}

/// Compiled sorts.
pub struct Sorter {
    sorts: Vec<(SortField, bool)>,
}

enum SortField {
    Created,
    Edited,
    Property(String),
}

pub fn compile_sorts(sorts: &Value, source: &Source) -> Result<Sorter, ApiError> {
    let items = match sorts {
        Value::Null => return Ok(Sorter { sorts: Vec::new() }),
        Value::Array(items) => items,
        _ => return Err(invalid("body.sorts should be an array")),
    };
    let mut compiled = Vec::new();
    for sort in items {
        let descending = match sort["direction"].as_str() {
            Some("ascending") => false,
            Some("descending") => true,
            _ => {
                return Err(invalid(
                    "body.sorts[].direction should be `ascending` or `descending`",
                ));
            }
        };
        let field = if let Some(timestamp) = sort["timestamp"].as_str() {
            match timestamp {
                "created_time" => SortField::Created,
                "last_edited_time" => SortField::Edited,
                other => {
                    return Err(invalid(format!(
                        "body.sorts[].timestamp `{other}` is not valid"
                    )));
                }
            }
        } else if let Some(key) = sort["property"].as_str() {
            let prop = source.prop(key).ok_or_else(|| {
                invalid(format!(
                    "Could not find sort property with name or id: {key}"
                ))
            })?;
            SortField::Property(prop.id.clone())
        } else {
            return Err(invalid(
                "body.sorts[] should have `property` or `timestamp`",
            ));
        };
        compiled.push((field, descending));
    }
    Ok(Sorter { sorts: compiled })
}

impl Sorter {
    fn key(&self, field: &SortField, workspace: &Workspace, page: &PageRecord) -> Key {
        match field {
            SortField::Created => Key::Number(page.created.timestamp() as f64),
            SortField::Edited => Key::Number(page.edited.timestamp() as f64),
            SortField::Property(id) => {
                let source = &workspace.sources[page.source];
                let Some(prop) = source.props.iter().find(|p| p.id == *id) else {
                    return Key::Missing;
                };
                let value = workspace.value(page, prop);
                match &value {
                    Value::Number(number) => number.as_f64().map_or(Key::Missing, Key::Number),
                    Value::Bool(checked) => Key::Number(f64::from(u8::from(*checked))),
                    Value::Null => Key::Missing,
                    Value::Array(items) if items.is_empty() => Key::Missing,
                    Value::Object(object) => object
                        .get("name")
                        .or_else(|| object.get("start"))
                        .or_else(|| object.get("number"))
                        .map_or(Key::Missing, |inner| match inner {
                            Value::Number(number) => {
                                number.as_f64().map_or(Key::Missing, Key::Number)
                            }
                            other => Key::Text(other.as_str().unwrap_or_default().to_string()),
                        }),
                    other => Key::Text(plain(other)),
                }
            }
        }
    }

    /// Sorts page indices in place (stable: ties keep creation order).
    pub fn sort(&self, indices: &mut [usize], workspace: &Workspace) {
        if self.sorts.is_empty() {
            return;
        }
        indices.sort_by(|a, b| {
            let (a, b) = (&workspace.pages[*a], &workspace.pages[*b]);
            for (field, descending) in &self.sorts {
                let (ka, kb) = (self.key(field, workspace, a), self.key(field, workspace, b));
                let ordering = match (&ka, &kb) {
                    (Key::Missing, Key::Missing) => Ordering::Equal,
                    (Key::Missing, _) => Ordering::Greater,
                    (_, Key::Missing) => Ordering::Less,
                    _ => {
                        let ordering = ka.partial_cmp(&kb).unwrap_or(Ordering::Equal);
                        if *descending {
                            ordering.reverse()
                        } else {
                            ordering
                        }
                    }
                };
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            Ordering::Equal
        });
    }
}
