//! Benchmark: 50 rules evaluated over 100,000 task changes (`cargo bench --bench rules`).
//!
//! Pure evaluation as the sync engine runs it (`rules::evaluate`): before/after snapshots,
//! transition and state rules, time conditions, and rendering of every firing's actions.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Instant;

use chrono::{Duration, Utc};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use tasksync::config::{MailConfig, RuleEntry};
use tasksync::model::automation::Transition;
use tasksync::model::stored::{StoredProperties, StoredProperty};
use tasksync::model::{
    DataSource, DateValue, PropertySchema, PropertyValue, RichText, SelectOption,
};
use tasksync::notion::ids::NotionId;
use tasksync::rules::render::{ChangeFacts, TaskFacts};
use tasksync::rules::{Evaluation, TaskChange, compile, evaluate};

const CHANGES: usize = 100_000;
const STATUSES: [&str; 3] = ["To do", "In progress", "Done"];
const PRIORITIES: [&str; 4] = ["Low", "Medium", "High", "Urgent"];
const TAGS: [&str; 4] = ["bug", "docs", "ops", "customer"];

fn schema() -> DataSource {
    let property = |id: &str, name: &str, kind: &str, options: &[&str]| {
        let options = options
            .iter()
            .map(|o| SelectOption {
                id: None,
                name: o.to_string(),
                color: None,
            })
            .collect();
        (
            name.to_string(),
            PropertySchema {
                id: id.into(),
                name: name.into(),
                kind: kind.into(),
                options,
                computed_from: Vec::new(),
                groups: Vec::new(),
            },
        )
    };
    DataSource {
        id: NotionId::parse("0123456789abcdef0123456789abcdef").unwrap(),
        name: "Tasks".into(),
        database_id: None,
        properties: [
            property("title", "Name", "title", &[]),
            property("s", "Status", "status", &STATUSES),
            property("p", "Priority", "select", &PRIORITIES),
            property("t", "Tags", "multi_select", &TAGS),
            property("d", "Due", "date", &[]),
            property("n", "Estimate", "number", &[]),
            property("c", "Done", "checkbox", &[]),
        ]
        .into(),
    }
}

/// 50 rules of every kind: transitions, states, dates relative to today, combinations.
fn rules_text() -> String {
    let mut text = String::new();
    let mut add = |name: String, when: String, action: &str| {
        text.push_str(&format!(
            "[[rules]]\nname = \"{name}\"\nwhen = {when}\nactions = [{action}]\n\n"
        ));
    };
    for priority in PRIORITIES {
        add(
            format!("to-{priority}"),
            format!("{{ property = \"Priority\", changed_to = \"{priority}\" }}"),
            "{ append = \"Now {{ task.Priority }} (was {{ old.Priority }}).\" }",
        );
        add(
            format!("is-{priority}"),
            format!("{{ property = \"Priority\", equals = \"{priority}\" }}"),
            "{ set = { Done = false } }",
        );
    }
    for status in STATUSES {
        add(
            format!("status-to-{status}"),
            format!("{{ property = \"Status\", changed_to = \"{status}\" }}"),
            "{ append = \"{{ task.title }}: {{ task.status }}\" }",
        );
        add(
            format!("status-from-{status}"),
            format!("{{ property = \"Status\", changed_from = \"{status}\" }}"),
            "{ set = { Estimate = 1 } }",
        );
    }
    for tag in TAGS {
        add(
            format!("tag-{tag}"),
            format!("{{ property = \"Tags\", contains = \"{tag}\" }}"),
            "{ append = \"Tagged.\" }",
        );
        add(
            format!("gained-{tag}"),
            format!("{{ property = \"Tags\", changed_to = \"{tag}\" }}"),
            "{ mail = { to = [\"team@example.com\"], subject = \"{{ task.title }}\" } }",
        );
    }
    for status in STATUSES {
        add(
            format!("is-{status}"),
            format!("{{ property = \"Status\", equals = \"{status}\" }}"),
            "{ set = { Done = true } }",
        );
    }
    for days in [7, 14, 30] {
        add(
            format!("due-after-{days}"),
            format!("{{ property = \"Due\", after = \"+{days}d\" }}"),
            "{ append = \"Far out.\" }",
        );
    }
    for days in [-7, -1, 0, 1, 3, 7] {
        add(
            format!("due-before-{days}"),
            format!(
                "{{ all = [{{ property = \"Due\", before = \"{days:+}d\" }}, {{ property = \"Status\", does_not_equal = \"Done\" }}] }}"
            ),
            "{ append = \"Due {{ task.Due }}.\" }",
        );
    }
    for limit in [1, 3, 5, 8, 13] {
        add(
            format!("estimate-over-{limit}"),
            format!("{{ property = \"Estimate\", greater_than = {limit} }}"),
            "{ set = { Priority = \"High\" } }",
        );
    }
    for word in ["urgent", "fix", "plan", "ship"] {
        add(
            format!("title-{word}"),
            format!("{{ property = \"Name\", contains = \"{word}\" }}"),
            "{ append = \"Mentions {word}.\" }",
        );
    }
    add(
        "new-task".into(),
        "{ new = true }".into(),
        "{ append = \"Welcome.\" }",
    );
    add(
        "done-checked".into(),
        "{ property = \"Done\", changed_to = true }".into(),
        "{ set = { Status = \"Done\" } }",
    );
    add("not-done-urgent".into(), "{ all = [{ property = \"Priority\", equals = \"Urgent\" }, { not = { property = \"Status\", equals = \"Done\" } }] }".into(), "{ append = \"Urgent and open.\" }");
    add("any-high".into(), "{ any = [{ property = \"Priority\", equals = \"High\" }, { property = \"Estimate\", greater_than_or_equal_to = 8 }] }".into(), "{ append = \"Big.\" }");
    add(
        "estimate-changed".into(),
        "{ property = \"Estimate\", changed = true }".into(),
        "{ append = \"Re-estimated: {{ old.Estimate }} → {{ task.Estimate }}.\" }",
    );
    add(
        "due-cleared".into(),
        "{ property = \"Due\", is_empty = true }".into(),
        "{ set = { Due = \"+7d\" } }",
    );
    add(
        "title-starts".into(),
        "{ property = \"Name\", starts_with = \"Write\" }".into(),
        "{ append = \"Writing.\" }",
    );
    text
}

fn stored(values: Vec<(&str, &str, PropertyValue)>) -> StoredProperties {
    values
        .into_iter()
        .map(|(name, id, value)| {
            (
                name.to_string(),
                StoredProperty {
                    id: id.into(),
                    text: value.display(),
                    value,
                },
            )
        })
        .collect()
}

fn random_task(rng: &mut SmallRng, today: chrono::NaiveDate) -> StoredProperties {
    let option = |name: &str| SelectOption {
        id: None,
        name: name.into(),
        color: None,
    };
    let title = format!(
        "{} item {}",
        ["Fix", "Plan", "Ship", "Write", "Review"][rng.random_range(0..5)],
        rng.random_range(0..1000)
    );
    stored(vec![
        (
            "Name",
            "title",
            PropertyValue::Title(vec![RichText {
                plain_text: title,
                href: None,
                kind: "text".into(),
            }]),
        ),
        (
            "Status",
            "s",
            PropertyValue::Status(Some(option(STATUSES[rng.random_range(0..3)]))),
        ),
        (
            "Priority",
            "p",
            PropertyValue::Select(Some(option(PRIORITIES[rng.random_range(0..4)]))),
        ),
        (
            "Tags",
            "t",
            PropertyValue::MultiSelect(
                (0..rng.random_range(0..3))
                    .map(|_| option(TAGS[rng.random_range(0..4)]))
                    .collect(),
            ),
        ),
        (
            "Due",
            "d",
            PropertyValue::Date(rng.random_bool(0.8).then(|| DateValue {
                start: (today + Duration::days(rng.random_range(-20..20))).to_string(),
                end: None,
                time_zone: None,
            })),
        ),
        (
            "Estimate",
            "n",
            PropertyValue::Number(Some(f64::from(rng.random_range(0..15)))),
        ),
        ("Done", "c", PropertyValue::Checkbox(rng.random_bool(0.3))),
    ])
}

fn main() {
    let schema = schema();
    let text = rules_text();
    let config = tasksync::config::parse(&text).expect("the benchmark rules parse");
    let entries: Vec<RuleEntry> = config
        .rules
        .into_iter()
        .map(|rule| RuleEntry {
            source: None,
            file: "bench.toml".into(),
            text: text.clone().into(),
            rule,
        })
        .collect();
    let rules = compile(
        &entries,
        &schema,
        &MailConfig {
            from: Some("tasksync <tasksync@example.com>".into()),
            ..MailConfig::default()
        },
        5,
    )
    .expect("the benchmark rules compile");
    assert_eq!(rules.rules.len(), 50);

    let now = Utc::now();
    let mut rng = SmallRng::seed_from_u64(7);
    // Like a sync's changes: one task in ten is new; the others had one or two properties edited.
    let pairs: Vec<(Option<StoredProperties>, StoredProperties)> = (0..CHANGES)
        .map(|i| {
            let before = random_task(&mut rng, now.date_naive());
            if i % 10 == 0 {
                return (None, before);
            }
            let fresh = random_task(&mut rng, now.date_naive());
            let mut after = before.clone();
            for _ in 0..rng.random_range(1..3) {
                let name = [
                    "Status", "Priority", "Tags", "Due", "Estimate", "Done", "Name",
                ][rng.random_range(0..7)];
                after.insert(name.to_string(), fresh[name].clone());
            }
            (Some(before), after)
        })
        .collect();
    let inside: HashSet<String> = HashSet::new();
    let no_changes: Vec<ChangeFacts> = Vec::new();
    let evaluation = Evaluation {
        rules: &rules,
        now,
        baseline: false,
    };

    let directory = tasksync::rules::directory::Directory::default();
    let mut best = f64::MAX;
    let mut fired = 0;
    for _ in 0..3 {
        let started = Instant::now();
        fired = 0;
        for (index, (before, after)) in pairs.iter().enumerate() {
            let id = format!("{index:08}");
            let task = TaskFacts {
                id: &id,
                url: "https://www.notion.so/x",
                title: "t",
                status: None,
                created_time: "",
                last_edited_time: "",
                last_edited_by: None,
                deleted: false,
                properties: after,
                directory: &directory,
            };
            let change = TaskChange {
                task,
                before: before.as_ref().map(|b| (b, false)),
                changes: &no_changes,
                transition: Transition::observed(1, &id, "bench"),
                own_edit_depth: None,
                inside: &inside,
            };
            let (firings, _) = evaluate(&evaluation, &change);
            fired += firings.len();
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "rules: 50 rules over {CHANGES} task changes: {best:.3} s (best of 3), {:.0} changes/s, {fired} firings rendered",
        CHANGES as f64 / best
    );
}
