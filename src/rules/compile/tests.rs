//! Unit tests of `compile`: every message, data-driven through one `check(rules, expected)`.

use chrono::{Duration, NaiveDate};

use super::*;
use crate::rules::syntax::RuleConfig;
use crate::rules::testing::schema;

/// What compiling `rules` (the text of a rules file) says, one line per problem:
/// `problem L:C: message`, `suspended RULE L:C: message`, or `ok` when every rule runs.
fn compiled(rules: &str, mail: &MailConfig) -> String {
    #[derive(serde::Deserialize)]
    struct File {
        rules: Vec<RuleConfig>,
    }
    let file: File = toml::from_str(rules).unwrap_or_else(|e| panic!("{rules}: {e}"));
    let entries: Vec<RuleEntry> = file
        .rules
        .into_iter()
        .map(|rule| RuleEntry {
            source: None,
            file: "rules.toml".into(),
            text: rules.into(),
            rule,
        })
        .collect();
    let located = |p: &Problem| format!("{}:{}: {}", p.line, p.column, p.message);
    match compile(&entries, &schema(), mail, 5) {
        Err(problems) => problems
            .iter()
            .map(|p| format!("problem {}", located(p)))
            .collect::<Vec<_>>()
            .join("\n"),
        Ok(set) if set.suspended.is_empty() => "ok".into(),
        Ok(set) => set
            .suspended
            .iter()
            .flat_map(|s| {
                s.reasons
                    .iter()
                    .map(move |p| format!("suspended {} {}", s.rule, located(p)))
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// One rule named `r`, with `when` and `actions` as written in TOML.
fn rule(when: &str, actions: &str) -> String {
    format!("[[rules]]\nname = \"r\"\nwhen = {when}\nactions = {actions}\n")
}

const URGENT: &str = r#"{ property = "Priority", equals = "Urgent" }"#;
const APPEND: &str = r#"[{ append = "x" }]"#;

/// Asserts that compiling `rules` says `expected` (the start of the first line, position
/// included, so that every message is pinned where it points).
fn check(rules: &str, expected: &str) {
    let said = compiled(rules, &MailConfig::default());
    assert!(
        said.starts_with(expected),
        "expected «{expected}», got:\n{said}\nfor:\n{rules}"
    );
}

/// An undefined template variable names itself: a property the task lacks (schema: the rule
/// is suspended) or a name templates do not see (a problem in the file).
#[test]
fn an_undefined_template_variable_names_itself() {
    check(
        &rule(URGENT, r#"[{ append = "went from {{ old.Priorty }}" }]"#),
        "suspended r 4:12: rule `r`: the append template is wrong: `old.Priorty` is not a property of the task: did you mean `old.Priority`?",
    );
    check(
        &rule(URGENT, r#"[{ append = "{{ task['Prioity'] }}" }]"#),
        "suspended r 4:12: rule `r`: the append template is wrong: `task.Prioity` is not a property of the task: did you mean `task.Priority`?",
    );
    check(
        &rule(URGENT, r#"[{ append = "{{ taks.title }}" }]"#),
        "problem 4:12: rule `r`: the append template is wrong: `taks` is not defined: did you mean `task`?",
    );
    // Names a template defines itself, and functions, are not undefined.
    check(
        &rule(
            URGENT,
            r#"[{ append = "{% set who = task.Assignee %}{{ who }} {{ mention(who) }} {{ range(2) | list }}" }]"#,
        ),
        "ok",
    );
}

#[test]
fn a_rule_that_fits_compiles() {
    check(&rule(URGENT, APPEND), "ok");
    check(
        &rule(
            r#"{ all = [{ property = "Estimate", greater_than = 3 }, { property = "Due", before = "+2d" }] }"#,
            r#"[{ set = { Status = "Done", Done = true } }]"#,
        ),
        "ok",
    );
}

#[test]
fn problems_with_the_schema_suspend_the_rule_where_they_are() {
    // A literal a new task's date, number or checkbox can never take.
    for (property, value, wanted) in [
        (
            "Due",
            "not a date",
            "a date (2026-07-10) or an ISO date-time",
        ),
        ("Estimate", "many", "a number"),
        ("Done", "perhaps", "true or false"),
    ] {
        check(
            &rule(
                URGENT,
                &format!(
                    r#"[{{ create = {{ properties = {{ Name = "x", {property} = "{value}" }} }} }}]"#
                ),
            ),
            &format!(
                "suspended r 4:12: rule `r`: `create` {property} = \"{value}\" is not {wanted}, and without a template it never will be"
            ),
        );
    }
    check(
        &rule(
            URGENT,
            r#"[{ create = { properties = { Name = "x", Due = "2026-07-10", Estimate = "3", Done = "yes" } } }]"#,
        ),
        "ok",
    );
    check(
        &rule(r#"{ property = "Priorty", equals = "Urgent" }"#, APPEND),
        "suspended r 3:8: rule `r`: the data source has no property `Priorty`; did you mean `Priority`? It has: Assignee, Done, Due, Edited, Estimate, ID, Link, Name, Priority, Related, Score, Status, Tags",
    );
    check(
        &rule(r#"{ property = "Status", greater_than = 3 }"#, APPEND),
        "suspended r 3:8: rule `r`: `greater_than` does not apply to `Status`, a status property; use one of equals, does_not_equal, is_empty, is_not_empty, changed, changed_from, changed_to",
    );
    check(
        &rule(r#"{ property = "Status", equals = "Blocked" }"#, APPEND),
        "suspended r 3:8: rule `r`: `Blocked` is not an option of the status property `Status`; its options: `To do`, `In progress`, `Done`",
    );
    // Options match case-insensitively, as in `tasks set-status`; a typo gets "did you mean".
    check(
        &rule(r#"{ property = "Status", equals = "in progress" }"#, APPEND),
        "ok",
    );
    check(
        &rule(r#"{ property = "Status", equals = "In progres" }"#, APPEND),
        "suspended r 3:8: rule `r`: `In progres` is not an option of the status property `Status` (did you mean `In progress`?); its options: `To do`, `In progress`, `Done`",
    );
    check(
        &rule(URGENT, r#"[{ append = "{{ task.Prority }}" }]"#),
        "suspended r 4:12: rule `r`: the append template is wrong: `task.Prority` is not a property of the task: did you mean `task.Priority`?",
    );
    check(
        &rule(URGENT, r#"[{ set = { Score = 3 } }]"#),
        "suspended r 4:12: rule `r`: `Score` is a formula property, which tasksync cannot set",
    );
    check(
        &rule(URGENT, r#"[{ set = { Done = "yes" } }]"#),
        "suspended r 4:12: rule `r`: `Done` is a checkbox property: set it to true or false, not text",
    );
    check(
        &rule(r#"{ property = "Estimate", equals = "three" }"#, APPEND),
        "suspended r 3:8: rule `r`: `Estimate` is a number property: compare it with a number, not text",
    );
}

#[test]
fn problems_in_the_file_fail_the_set_where_they_are() {
    check(
        &rule(URGENT, r#"[{ append = "{{ task.title " }]"#),
        "problem 4:12: rule `r`: the append template is wrong: syntax error: unexpected end of input",
    );
    check(
        &rule(r#"{ property = "Due", before = "+2x" }"#, APPEND),
        "problem 3:8: rule `r`: `+2x` is not a date: use an ISO date",
    );
    check(
        &format!("{}{}", rule(URGENT, APPEND), rule(URGENT, APPEND)),
        "problem 6:8: rule `r`: the rule name is used twice (first at rules.toml:2): names must be unique",
    );
    check(
        &rule(URGENT, "[]"),
        "problem 4:11: rule `r`: the rule has no actions: give it at least one `set`, `append`, `mail`, `webhook` or `create`",
    );
    check(
        &rule(
            r#"{ property = "Estimate", greater_than = 1, less_than = 5 }"#,
            APPEND,
        ),
        "problem 3:8: rule `r`: one operator per condition, not greater_than and less_than: combine conditions with `all` or `any`",
    );
    check(
        &rule(URGENT, "[{ mail = {} }]"),
        "problem 4:12: rule `r`: the mail has no recipients: set `to` in the action or under [mail]",
    );
}

#[test]
fn every_problem_of_a_file_is_reported_together() {
    let text = format!(
        "{}{}",
        rule(r#"{ property = "Due", before = "soon" }"#, APPEND),
        rule(URGENT, "[]"),
    );
    // Three problems: a bad date in the first rule, no actions and a reused name (both rules are
    // `r`) in the second.
    let said = compiled(&text, &MailConfig::default());
    assert_eq!(said.lines().count(), 3, "{said}");
    assert!(
        said.lines().all(|line| line.starts_with("problem ")),
        "{said}"
    );
    for expected in [
        "`soon` is not a date",
        "the rule has no actions",
        "the rule name is used twice",
    ] {
        assert!(said.contains(expected), "«{expected}» in:\n{said}");
    }
}

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

#[test]
fn webhooks_need_one_target_and_get_a_default_json_body() {
    let text = rule(
        URGENT,
        r#"[{ webhook = { url = "https://hooks.example.com/t" } }]"#,
    );
    #[derive(serde::Deserialize)]
    struct File {
        rules: Vec<RuleConfig>,
    }
    let file: File = toml::from_str(&text).unwrap();
    let entries: Vec<RuleEntry> = file
        .rules
        .into_iter()
        .map(|rule| RuleEntry {
            source: None,
            file: "rules.toml".into(),
            text: text.clone().into(),
            rule,
        })
        .collect();
    let set = compile(&entries, &schema(), &MailConfig::default(), 5).unwrap();
    assert_eq!(set.rules.len(), 1, "the rule runs");
    let Action::Webhook {
        body, content_type, ..
    } = &set.rules[0].actions[0]
    else {
        panic!("{:?}", set.rules[0].actions);
    };
    assert_eq!(content_type, "application/json");
    let WebhookBody::Json(JsonTemplate::Object(fields)) = body else {
        panic!("{body:?}");
    };
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert!(keys.contains(&"text") && keys.contains(&"task"), "{keys:?}");

    check(
        &rule(
            URGENT,
            r#"[{ webhook = { url = "https://a.example", url_env = "HOOK" } }]"#,
        ),
        "problem 4:12: rule `r`: a webhook needs exactly one of `url_env`",
    );
    check(
        &rule(URGENT, r#"[{ webhook = { url = "ftp://a.example" } }]"#),
        "problem 4:12: rule `r`: webhook `url = \"ftp://a.example\"` is not an http or https URL",
    );
    check(
        &rule(URGENT, r#"[{ webhook = { url = "file:///etc/passwd" } }]"#),
        "problem 4:12: rule `r`: webhook `url = \"file:///etc/passwd\"` is not an http or https URL",
    );
    for metadata in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ] {
        check(
            &rule(
                URGENT,
                &format!(r#"[{{ webhook = {{ url = "{metadata}" }} }}]"#),
            ),
            &format!(
                "problem 4:12: rule `r`: webhook `url = \"{metadata}\"` points at a link-local or cloud metadata address"
            ),
        );
    }
    check(
        &rule(URGENT, r#"[{ webhook = { url_env = "1BAD" } }]"#),
        "problem 4:12: rule `r`: webhook `url_env = \"1BAD\"` is not an environment variable name",
    );
}
