//! Evaluating conditions on a task before and after a change. Pure: the clock is a parameter.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};

use super::compile::{
    Comparison, Condition, DateComparison, DateRef, Family, Operand, Rule, Test, Trigger,
};
use crate::model::stored::{StoredProperties, StoredProperty};
use crate::model::{FormulaValue, PropertyValue, RollupValue};

/// A task's properties at one moment, by property id. A task has a few dozen properties at
/// most: a scan of a small vector beats hashing (measured in `benches/rules.rs`).
pub struct Snapshot<'a> {
    by_id: Vec<(&'a str, &'a StoredProperty)>,
    pub deleted: bool,
}

impl<'a> Snapshot<'a> {
    pub fn new(properties: &'a StoredProperties, deleted: bool) -> Self {
        Self {
            by_id: properties.values().map(|p| (p.id.as_str(), p)).collect(),
            deleted,
        }
    }

    fn value(&self, id: &str) -> Option<&'a PropertyValue> {
        self.by_id
            .iter()
            .find(|(key, _)| *key == id)
            .map(|(_, p)| &p.value)
    }
}

/// Whether the rule fires for this change. `before` is `None` for a new task. For `Timed`
/// rules, `inside_before` is the mirror's record of whether the task was already inside.
pub fn fires(
    rule: &Rule,
    before: Option<&Snapshot<'_>>,
    after: &Snapshot<'_>,
    now: DateTime<Utc>,
    inside_before: Option<bool>,
) -> bool {
    match rule.trigger {
        Trigger::Edge => holds(&rule.condition, before, after, now),
        Trigger::Enter | Trigger::Timed => {
            let inside_after = is_inside(&rule.condition, after, now);
            // A restore from the trash is not an entry: the restored task is compared with its
            // state before the trash (its stored properties), not with "deleted".
            let restored = before.is_some_and(|b| b.deleted) && !after.deleted;
            let inside_before = if restored {
                before.is_some_and(|b| holds(&rule.condition, None, b, now))
            } else {
                inside_before
                    .unwrap_or_else(|| before.is_some_and(|b| is_inside(&rule.condition, b, now)))
            };
            inside_after && !inside_before
        }
    }
}

/// Whether a live task is inside a state condition.
pub fn is_inside(condition: &Condition, task: &Snapshot<'_>, now: DateTime<Utc>) -> bool {
    !task.deleted && holds(condition, None, task, now)
}

/// Whether the condition holds after the change (transitions compare with `before`).
pub fn holds(
    condition: &Condition,
    before: Option<&Snapshot<'_>>,
    after: &Snapshot<'_>,
    now: DateTime<Utc>,
) -> bool {
    match condition {
        Condition::All(items) => items.iter().all(|c| holds(c, before, after, now)),
        Condition::Any(items) => items.iter().any(|c| holds(c, before, after, now)),
        Condition::Not(inner) => !holds(inner, before, after, now),
        Condition::New => before.is_none() && !after.deleted,
        Condition::Deleted => after.deleted && before.is_some_and(|b| !b.deleted),
        Condition::Test {
            property_id,
            family,
            test,
            ..
        } => {
            let new = after.value(property_id);
            let old = before.map(|b| b.value(property_id));
            check(test, *family, old, new, now)
        }
    }
}

/// One test. `old` is `None` for a new task, `Some(None)` when the property was absent.
fn check(
    test: &Test,
    family: Family,
    old: Option<Option<&PropertyValue>>,
    new: Option<&PropertyValue>,
    now: DateTime<Utc>,
) -> bool {
    let matches = |value: Option<&PropertyValue>, operand: &Operand| {
        value.is_some_and(|v| matches_operand(v, family, operand, now))
    };
    match test {
        Test::Equals(operand) => matches(new, operand),
        Test::NotEquals(operand) => !matches(new, operand),
        Test::Contains(operand) => new.is_some_and(|v| contains(v, operand)),
        Test::NotContains(operand) => !new.is_some_and(|v| contains(v, operand)),
        Test::StartsWith(prefix) => new
            .and_then(text)
            .is_some_and(|t| t.to_lowercase().starts_with(&prefix.to_lowercase())),
        Test::EndsWith(suffix) => new
            .and_then(text)
            .is_some_and(|t| t.to_lowercase().ends_with(&suffix.to_lowercase())),
        Test::Empty(empty) => new.is_none_or(is_empty) == *empty,
        Test::Compare(comparison, limit) => new
            .and_then(number)
            .and_then(|n| n.partial_cmp(limit))
            .is_some_and(|ordering| match comparison {
                Comparison::Greater => ordering == Ordering::Greater,
                Comparison::Less => ordering == Ordering::Less,
                Comparison::GreaterOrEqual => ordering != Ordering::Less,
                Comparison::LessOrEqual => ordering != Ordering::Greater,
            }),
        Test::Date(comparison, reference) => new
            .and_then(date)
            .is_some_and(|value| compare_date(value, *comparison, reference, now)),
        Test::Changed(changed) => {
            let differs = match old {
                None => new.is_some_and(|v| !is_empty(v)),
                Some(old) => old != new,
            };
            differs == *changed
        }
        Test::ChangedTo(operand) => {
            let before = old
                .flatten()
                .is_some_and(|v| matches_operand(v, family, operand, now));
            !before && matches(new, operand)
        }
        Test::ChangedFrom(operand) => {
            let before = old
                .flatten()
                .is_some_and(|v| matches_operand(v, family, operand, now));
            old.is_some() && before && !matches(new, operand)
        }
    }
}

/// `equals` for single values, `contains` for lists (so `changed_to = "bug"` on a multi-select
/// means "gained the tag bug").
fn matches_operand(
    value: &PropertyValue,
    family: Family,
    operand: &Operand,
    now: DateTime<Utc>,
) -> bool {
    match (family, operand) {
        (Family::Options | Family::People | Family::Relation, _) => contains(value, operand),
        (_, Operand::Text(wanted)) => text(value).is_some_and(|t| t == *wanted),
        (_, Operand::Number(wanted)) => number(value).is_some_and(|n| n == *wanted),
        (_, Operand::Bool(wanted)) => boolean(value) == Some(*wanted),
        (_, Operand::Date(reference)) => {
            date(value).is_some_and(|d| compare_date(d, DateComparison::Equals, reference, now))
        }
    }
}

fn contains(value: &PropertyValue, operand: &Operand) -> bool {
    let Operand::Text(wanted) = operand else {
        return false;
    };
    match value {
        PropertyValue::MultiSelect(options) => options.iter().any(|o| o.name == *wanted),
        PropertyValue::People(people) => people.iter().any(|p| {
            p.id == *wanted
                || p.name
                    .as_deref()
                    .is_some_and(|n| same_ignoring_case(n, wanted))
                || p.email
                    .as_deref()
                    .is_some_and(|e| same_ignoring_case(e, wanted))
        }),
        PropertyValue::CreatedBy(user) | PropertyValue::LastEditedBy(user) => {
            user.id == *wanted
                || user
                    .name
                    .as_deref()
                    .is_some_and(|n| same_ignoring_case(n, wanted))
        }
        PropertyValue::Relation(ids) => {
            let wanted = wanted.replace('-', "");
            ids.iter().any(|id| id.replace('-', "") == wanted)
        }
        // Notion's `contains` on text ignores case.
        other => text(other).is_some_and(|t| contains_ignoring_case(&t, wanted)),
    }
}

fn same_ignoring_case(text: &str, wanted: &str) -> bool {
    if text.is_ascii() && wanted.is_ascii() {
        text.eq_ignore_ascii_case(wanted)
    } else {
        text.to_lowercase() == wanted.to_lowercase()
    }
}

/// Substring search ignoring case, without allocating for ASCII text (the common case).
fn contains_ignoring_case(text: &str, wanted: &str) -> bool {
    if text.is_ascii() && wanted.is_ascii() {
        let (text, wanted) = (text.as_bytes(), wanted.as_bytes());
        wanted.is_empty()
            || text
                .windows(wanted.len())
                .any(|window| window.eq_ignore_ascii_case(wanted))
    } else {
        text.to_lowercase().contains(&wanted.to_lowercase())
    }
}

fn text(value: &PropertyValue) -> Option<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    match value {
        PropertyValue::Title(pieces) | PropertyValue::RichText(pieces) => {
            Some(match pieces.as_slice() {
                [single] => Cow::Borrowed(single.plain_text.as_str()),
                _ => Cow::Owned(value.display()),
            })
        }
        PropertyValue::Url(text)
        | PropertyValue::Email(text)
        | PropertyValue::PhoneNumber(text) => {
            Some(Cow::Borrowed(text.as_deref().unwrap_or_default()))
        }
        PropertyValue::Select(option) | PropertyValue::Status(option) => {
            option.as_ref().map(|o| Cow::Borrowed(o.name.as_str()))
        }
        PropertyValue::Formula(FormulaValue::String(text)) => text.as_deref().map(Cow::Borrowed),
        PropertyValue::UniqueId { .. } => Some(Cow::Owned(value.display())),
        _ => None,
    }
}

fn number(value: &PropertyValue) -> Option<f64> {
    match value {
        PropertyValue::Number(number) | PropertyValue::Formula(FormulaValue::Number(number)) => {
            *number
        }
        PropertyValue::Rollup {
            result: RollupValue::Number(number),
            ..
        } => *number,
        PropertyValue::UniqueId { number, .. } => number.map(|n| n as f64),
        _ => None,
    }
}

fn boolean(value: &PropertyValue) -> Option<bool> {
    match value {
        PropertyValue::Checkbox(flag) => Some(*flag),
        PropertyValue::Formula(FormulaValue::Boolean(flag)) => *flag,
        _ => None,
    }
}

fn date(value: &PropertyValue) -> Option<&str> {
    match value {
        PropertyValue::Date(Some(date))
        | PropertyValue::Formula(FormulaValue::Date(Some(date))) => Some(&date.start),
        PropertyValue::Rollup {
            result: RollupValue::Date(Some(date)),
            ..
        } => Some(&date.start),
        PropertyValue::CreatedTime(time) | PropertyValue::LastEditedTime(time) => Some(time),
        _ => None,
    }
}

fn is_empty(value: &PropertyValue) -> bool {
    match value {
        PropertyValue::Checkbox(_) => false,
        PropertyValue::MultiSelect(items) => items.is_empty(),
        PropertyValue::People(items) => items.is_empty(),
        PropertyValue::Files(items) => items.is_empty(),
        PropertyValue::Relation(items) => items.is_empty(),
        PropertyValue::Number(number) => number.is_none(),
        PropertyValue::Date(date) => date.is_none(),
        other => other.display().is_empty(),
    }
}

/// A date value (`2026-07-10` or an ISO date-time) as a day and, when it has one, an instant.
fn parse_value_date(text: &str) -> Option<(NaiveDate, Option<DateTime<Utc>>)> {
    if text.len() == 10 {
        return text.parse::<NaiveDate>().ok().map(|day| (day, None));
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        let time = time.with_timezone(&Utc);
        return Some((time.date_naive(), Some(time)));
    }
    text.get(..10)?
        .parse::<NaiveDate>()
        .ok()
        .map(|day| (day, None))
}

/// Compares by calendar day when the reference is a day (`today`, `+2d`, a date), by instant
/// when it is one (`now`, `+3h`, a date-time; a date-only value counts as its midnight UTC).
fn compare_date(
    value: &str,
    comparison: DateComparison,
    reference: &DateRef,
    now: DateTime<Utc>,
) -> bool {
    let Some((day, instant)) = parse_value_date(value) else {
        return false;
    };
    let ordering = match reference {
        DateRef::Day(reference) => day.cmp(reference),
        DateRef::Today { days } => day.cmp(&(now.date_naive() + chrono::Duration::days(*days))),
        DateRef::Instant(reference) => instant
            .unwrap_or_else(|| day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
            .cmp(reference),
        DateRef::Now { offset } => instant
            .unwrap_or_else(|| day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
            .cmp(&(now + *offset)),
    };
    match comparison {
        DateComparison::Equals => ordering == Ordering::Equal,
        DateComparison::Before => ordering == Ordering::Less,
        DateComparison::After => ordering == Ordering::Greater,
        DateComparison::OnOrBefore => ordering != Ordering::Greater,
        DateComparison::OnOrAfter => ordering != Ordering::Less,
    }
}

#[cfg(test)]
mod tests;
