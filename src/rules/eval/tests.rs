//! Unit tests of `eval`.

use super::*;
use crate::model::{DateValue, User};
use crate::rules::compile::compile;
use crate::rules::source::{MailConfig, RuleEntry};
use crate::rules::syntax::RuleConfig;

use crate::rules::testing::{option, schema};

/// A task's properties from (id, value) pairs.
fn task(values: &[(&str, PropertyValue)]) -> StoredProperties {
    values
        .iter()
        .map(|(id, value)| {
            let stored = StoredProperty {
                id: id.to_string(),
                value: value.clone(),
                text: value.display(),
            };
            (id.to_string(), stored)
        })
        .collect()
}

fn rule(when: &str) -> Rule {
    let text =
        format!("[[rules]]\nname = \"r\"\nwhen = {when}\nactions = [{{ append = \"x\" }}]\n");
    #[derive(serde::Deserialize)]
    struct File {
        rules: Vec<RuleConfig>,
    }
    let file: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{when}: {e}"));
    let entries: Vec<RuleEntry> = file
        .rules
        .into_iter()
        .map(|rule| RuleEntry {
            source: None,
            file: "t.toml".into(),
            text: text.clone().into(),
            rule,
        })
        .collect();
    let set = compile(&entries, &schema(), &MailConfig::default(), 5)
        .unwrap_or_else(|p| panic!("{when}: {p:?}"));
    set.rules.into_iter().next().unwrap()
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn status(name: &str) -> PropertyValue {
    PropertyValue::Status(Some(option(name)))
}
fn priority(name: &str) -> PropertyValue {
    PropertyValue::Select(Some(option(name)))
}
fn due(day: &str) -> PropertyValue {
    PropertyValue::Date(Some(DateValue {
        start: day.into(),
        end: None,
        time_zone: None,
    }))
}
fn title(text: &str) -> PropertyValue {
    PropertyValue::Title(vec![crate::model::RichText {
        plain_text: text.into(),
        href: None,
        kind: "text".into(),
    }])
}

/// `check(when, before, after, fires)`: before `None` is a new task.
fn check(
    when: &str,
    before: Option<&[(&str, PropertyValue)]>,
    after: &[(&str, PropertyValue)],
    expected: bool,
) {
    let rule = rule(when);
    let before_props = before.map(task);
    let after_props = task(after);
    let before = before_props.as_ref().map(|p| Snapshot::new(p, false));
    let after = Snapshot::new(&after_props, false);
    assert_eq!(
        fires(&rule, before.as_ref(), &after, now(), None),
        expected,
        "{when}"
    );
}

#[test]
fn state_conditions_fire_on_entry_only() {
    let when = r#"{ property = "Priority", equals = "Urgent" }"#;
    check(
        when,
        Some(&[("p", priority("Low"))]),
        &[("p", priority("Urgent"))],
        true,
    );
    check(
        when,
        Some(&[("p", priority("Urgent"))]),
        &[("p", priority("Urgent"))],
        false,
    );
    check(
        when,
        Some(&[("p", priority("Urgent"))]),
        &[("p", priority("Low"))],
        false,
    );
    check(when, None, &[("p", priority("Urgent"))], true);
    check(
        r#"{ property = "Priority", does_not_equal = "Urgent" }"#,
        Some(&[("p", priority("Urgent"))]),
        &[("p", PropertyValue::Select(None))],
        true,
    );
    check(
        r#"{ property = "Priority", is_empty = true }"#,
        Some(&[("p", priority("Low"))]),
        &[("p", PropertyValue::Select(None))],
        true,
    );
    check(
        r#"{ property = "Priority", is_not_empty = true }"#,
        Some(&[("p", PropertyValue::Select(None))]),
        &[("p", priority("Low"))],
        true,
    );
}

#[test]
fn transitions_fire_on_the_edge() {
    check(
        r#"{ property = "Priority", changed_to = "Urgent" }"#,
        Some(&[("p", priority("High"))]),
        &[("p", priority("Urgent"))],
        true,
    );
    check(
        r#"{ property = "Priority", changed_to = "Urgent" }"#,
        Some(&[("p", priority("Urgent"))]),
        &[("p", priority("Urgent"))],
        false,
    );
    check(
        r#"{ property = "Priority", changed_to = "Urgent" }"#,
        None,
        &[("p", priority("Urgent"))],
        true,
    );
    check(
        r#"{ property = "Status", changed_from = "In progress" }"#,
        Some(&[("s", status("In progress"))]),
        &[("s", status("Done"))],
        true,
    );
    check(
        r#"{ property = "Status", changed_from = "In progress" }"#,
        None,
        &[("s", status("Done"))],
        false,
    );
    check(
        r#"{ property = "Status", changed = true }"#,
        Some(&[("s", status("To do"))]),
        &[("s", status("Done"))],
        true,
    );
    check(
        r#"{ property = "Status", changed = true }"#,
        Some(&[("s", status("Done"))]),
        &[("s", status("Done"))],
        false,
    );
    check(
        r#"{ property = "Status", changed = false }"#,
        Some(&[("s", status("Done"))]),
        &[("s", status("Done"))],
        true,
    );
    check(
        r#"{ property = "Tags", changed_to = "bug" }"#,
        Some(&[("t", PropertyValue::MultiSelect(vec![option("docs")]))]),
        &[(
            "t",
            PropertyValue::MultiSelect(vec![option("docs"), option("bug")]),
        )],
        true,
    );
    check(r#"{ new = true }"#, None, &[], true);
    check(r#"{ new = true }"#, Some(&[]), &[], false);
    // A transition combined with a state: the state is read after the change.
    let when = r#"{ all = [{ property = "Priority", changed_to = "Urgent" }, { property = "Status", does_not_equal = "Done" }] }"#;
    check(
        when,
        Some(&[("p", priority("Low")), ("s", status("To do"))]),
        &[("p", priority("Urgent")), ("s", status("To do"))],
        true,
    );
    check(
        when,
        Some(&[("p", priority("Low")), ("s", status("Done"))]),
        &[("p", priority("Urgent")), ("s", status("Done"))],
        false,
    );
}

#[test]
fn deletion_is_an_event() {
    let rule = rule("{ deleted = true }");
    let props = task(&[]);
    let (live, gone) = (Snapshot::new(&props, false), Snapshot::new(&props, true));
    assert!(fires(&rule, Some(&live), &gone, now(), None));
    assert!(!fires(&rule, Some(&gone), &gone, now(), None));
    let state = rule_state_on_deleted();
    assert!(
        !fires(&state, Some(&live), &gone, now(), None),
        "a deleted task enters no state"
    );
}

fn rule_state_on_deleted() -> Rule {
    rule(r#"{ property = "Priority", is_empty = true }"#)
}

#[test]
fn text_numbers_checkboxes_people_relations() {
    check(
        r#"{ property = "Name", contains = "URGENT" }"#,
        Some(&[("title", title("Fix login"))]),
        &[("title", title("Fix login (urgent)"))],
        true,
    );
    check(
        r#"{ property = "Name", does_not_contain = "x" }"#,
        Some(&[("title", title("x"))]),
        &[("title", title("y"))],
        true,
    );
    check(
        r#"{ property = "Name", starts_with = "fix" }"#,
        Some(&[("title", title("Plan"))]),
        &[("title", title("Fix it"))],
        true,
    );
    check(
        r#"{ property = "Name", ends_with = "it" }"#,
        Some(&[("title", title("Plan"))]),
        &[("title", title("Fix it"))],
        true,
    );
    check(
        r#"{ property = "Name", equals = "Fix it" }"#,
        Some(&[("title", title("Plan"))]),
        &[("title", title("Fix it"))],
        true,
    );
    check(
        r#"{ property = "Link", is_not_empty = true }"#,
        Some(&[("u", PropertyValue::Url(None))]),
        &[("u", PropertyValue::Url(Some("https://x".into())))],
        true,
    );
    check(
        r#"{ property = "Estimate", greater_than = 5 }"#,
        Some(&[("n", PropertyValue::Number(Some(5.0)))]),
        &[("n", PropertyValue::Number(Some(8.0)))],
        true,
    );
    check(
        r#"{ property = "Estimate", greater_than_or_equal_to = 5 }"#,
        Some(&[("n", PropertyValue::Number(Some(4.0)))]),
        &[("n", PropertyValue::Number(Some(5.0)))],
        true,
    );
    check(
        r#"{ property = "Estimate", less_than = 2 }"#,
        Some(&[("n", PropertyValue::Number(None))]),
        &[("n", PropertyValue::Number(Some(1.0)))],
        true,
    );
    check(
        r#"{ property = "Estimate", less_than_or_equal_to = 2 }"#,
        Some(&[("n", PropertyValue::Number(Some(3.0)))]),
        &[("n", PropertyValue::Number(Some(2.0)))],
        true,
    );
    check(
        r#"{ property = "Estimate", equals = 3 }"#,
        Some(&[("n", PropertyValue::Number(None))]),
        &[("n", PropertyValue::Number(Some(3.0)))],
        true,
    );
    check(
        r#"{ property = "Estimate", is_empty = true }"#,
        Some(&[("n", PropertyValue::Number(Some(3.0)))]),
        &[("n", PropertyValue::Number(None))],
        true,
    );
    check(
        r#"{ property = "Done", equals = true }"#,
        Some(&[("c", PropertyValue::Checkbox(false))]),
        &[("c", PropertyValue::Checkbox(true))],
        true,
    );
    check(
        r#"{ property = "Done", does_not_equal = true }"#,
        Some(&[("c", PropertyValue::Checkbox(true))]),
        &[("c", PropertyValue::Checkbox(false))],
        true,
    );
    let ada = User {
        id: "u1".into(),
        name: Some("Ada Lovelace".into()),
        email: Some("ada@example.com".into()),
        kind: None,
    };
    check(
        r#"{ property = "Assignee", contains = "ada lovelace" }"#,
        Some(&[("a", PropertyValue::People(vec![]))]),
        &[("a", PropertyValue::People(vec![ada.clone()]))],
        true,
    );
    check(
        r#"{ property = "Assignee", contains = "ada@example.com" }"#,
        Some(&[("a", PropertyValue::People(vec![]))]),
        &[("a", PropertyValue::People(vec![ada.clone()]))],
        true,
    );
    check(
        r#"{ property = "Assignee", does_not_contain = "u1" }"#,
        Some(&[("a", PropertyValue::People(vec![ada]))]),
        &[("a", PropertyValue::People(vec![]))],
        true,
    );
    check(
        r#"{ property = "Related", contains = "0123456789abcdef0123456789abcdef" }"#,
        Some(&[("r", PropertyValue::Relation(vec![]))]),
        &[(
            "r",
            PropertyValue::Relation(vec!["01234567-89ab-cdef-0123-456789abcdef".into()]),
        )],
        true,
    );
    check(
        r#"{ property = "Tags", contains = "bug" }"#,
        Some(&[("t", PropertyValue::MultiSelect(vec![]))]),
        &[("t", PropertyValue::MultiSelect(vec![option("bug")]))],
        true,
    );
    check(
        r#"{ property = "Tags", does_not_contain = "bug" }"#,
        Some(&[("t", PropertyValue::MultiSelect(vec![option("bug")]))]),
        &[("t", PropertyValue::MultiSelect(vec![]))],
        true,
    );
    check(
        r#"{ property = "ID", greater_than = 10 }"#,
        Some(&[(
            "i",
            PropertyValue::UniqueId {
                prefix: None,
                number: Some(1),
            },
        )]),
        &[(
            "i",
            PropertyValue::UniqueId {
                prefix: None,
                number: Some(11),
            },
        )],
        true,
    );
    check(
        r#"{ property = "Score", greater_than = 3 }"#,
        Some(&[("f", PropertyValue::Formula(FormulaValue::Number(Some(2.0))))]),
        &[("f", PropertyValue::Formula(FormulaValue::Number(Some(4.0))))],
        true,
    );
}

#[test]
fn dates_absolute_and_relative() {
    // now() is 2026-11-21T12:00Z.
    check(
        r#"{ property = "Due", before = "today" }"#,
        Some(&[("d", due("2026-11-21"))]),
        &[("d", due("2026-11-20"))],
        true,
    );
    check(
        r#"{ property = "Due", before = "today" }"#,
        Some(&[("d", due("2026-11-22"))]),
        &[("d", due("2026-11-21"))],
        false,
    );
    check(
        r#"{ property = "Due", on_or_before = "+2d" }"#,
        Some(&[("d", PropertyValue::Date(None))]),
        &[("d", due("2026-11-23"))],
        true,
    );
    check(
        r#"{ property = "Due", after = "-1w" }"#,
        Some(&[("d", due("2026-11-01"))]),
        &[("d", due("2026-11-15"))],
        true,
    );
    check(
        r#"{ property = "Due", on_or_after = "2026-12-01" }"#,
        Some(&[("d", due("2026-11-01"))]),
        &[("d", due("2026-12-01"))],
        true,
    );
    check(
        r#"{ property = "Due", equals = "today" }"#,
        Some(&[("d", due("2026-11-20"))]),
        &[("d", due("2026-11-21T23:00:00.000Z"))],
        true,
    );
    check(
        r#"{ property = "Due", before = "now" }"#,
        Some(&[("d", due("2026-11-22T00:00:00.000Z"))]),
        &[("d", due("2026-11-21T11:59:00.000Z"))],
        true,
    );
    check(
        r#"{ property = "Due", after = "+3h" }"#,
        Some(&[("d", PropertyValue::Date(None))]),
        &[("d", due("2026-11-21T16:00:00.000Z"))],
        true,
    );
    check(
        r#"{ property = "Due", is_empty = true }"#,
        Some(&[("d", due("2026-11-21"))]),
        &[("d", PropertyValue::Date(None))],
        true,
    );
    check(
        r#"{ property = "Edited", after = "2026-11-01" }"#,
        Some(&[(
            "e",
            PropertyValue::LastEditedTime("2026-10-01T00:00:00.000Z".into()),
        )]),
        &[(
            "e",
            PropertyValue::LastEditedTime("2026-11-02T00:00:00.000Z".into()),
        )],
        true,
    );
}

#[test]
fn combinations() {
    let overdue = r#"{ all = [{ property = "Due", before = "today" }, { property = "Status", does_not_equal = "Done" }] }"#;
    check(
        overdue,
        Some(&[("d", due("2026-11-20")), ("s", status("Done"))]),
        &[("d", due("2026-11-20")), ("s", status("In progress"))],
        true,
    );
    check(
        overdue,
        Some(&[("d", due("2026-11-20")), ("s", status("To do"))]),
        &[("d", due("2026-11-20")), ("s", status("In progress"))],
        false,
    );
    let either = r#"{ any = [{ property = "Priority", equals = "Urgent" }, { property = "Name", contains = "urgent" }] }"#;
    check(
        either,
        Some(&[("p", priority("Low")), ("title", title("a"))]),
        &[("p", priority("Low")), ("title", title("URGENT: a"))],
        true,
    );
    check(
        either,
        Some(&[("p", priority("Urgent")), ("title", title("a"))]),
        &[("p", priority("Urgent")), ("title", title("urgent a"))],
        false,
    );
    check(
        r#"{ not = { property = "Status", equals = "Done" } }"#,
        Some(&[("s", status("Done"))]),
        &[("s", status("To do"))],
        true,
    );
}

#[test]
fn triggers_are_classified() {
    assert_eq!(
        rule(r#"{ property = "Priority", changed_to = "Urgent" }"#).trigger,
        Trigger::Edge
    );
    assert_eq!(
        rule(r#"{ property = "Priority", equals = "Urgent" }"#).trigger,
        Trigger::Enter
    );
    assert_eq!(
        rule(r#"{ property = "Due", before = "today" }"#).trigger,
        Trigger::Timed
    );
    assert_eq!(
        rule(r#"{ property = "Due", before = "2026-01-01" }"#).trigger,
        Trigger::Enter
    );
    assert_eq!(rule(r#"{ deleted = true }"#).trigger, Trigger::Edge);
}

#[test]
fn timed_rules_use_the_recorded_state() {
    let rule = rule(r#"{ property = "Due", before = "today" }"#);
    let props = task(&[("d", due("2026-11-20"))]);
    let snapshot = Snapshot::new(&props, false);
    assert!(
        fires(&rule, Some(&snapshot), &snapshot, now(), Some(false)),
        "time made it true"
    );
    assert!(
        !fires(&rule, Some(&snapshot), &snapshot, now(), Some(true)),
        "already inside"
    );
}
