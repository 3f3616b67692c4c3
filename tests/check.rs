//! `tasksync check` on broken rule files: one clear message each, exit 78, never a panic. A rule
//! that does not fit the schema as it is now (a property or option Notion does not have, with
//! "did you mean") fails `check` too; the daemon would suspend it and run the other rules.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use tasksync::simulator::SimulatorOptions;

struct Checked {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn check(simulator: &tasksync::simulator::Simulator, rules: &str) -> Checked {
    check_with(simulator, rules, &[]).await
}

async fn check_with(
    simulator: &tasksync::simulator::Simulator,
    rules: &str,
    flags: &[&str],
) -> Checked {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[notion]\ndatabase = \"{}\"\nbase_url = \"{}\"\n{rules}",
        simulator.database_id(),
        simulator.base_url()
    );
    std::fs::write(dir.path().join("tasksync.toml"), config).unwrap();
    let output = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("tasksync"))
        .arg("check")
        .args(flags)
        .current_dir(dir.path())
        .env("NOTION_TOKEN", simulator.token())
        .env_remove("RUST_LOG")
        .output()
        .await
        .unwrap();
    Checked {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn rule(when: &str, actions: &str) -> String {
    format!("\n[[rules]]\nname = \"broken\"\nwhen = {when}\nactions = {actions}\n")
}

const APPEND: &str = r#"[{ append = "x" }]"#;
const URGENT: &str = r#"{ property = "Priority", equals = "Urgent" }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_broken_rule_file_gets_one_clear_message_and_exit_78() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 1,
        ..SimulatorOptions::default()
    })
    .await;
    // (what, rules, message, a mismatch with the schema rather than a problem in the file)
    let cases: Vec<(&str, String, &str, bool)> = vec![
        (
            "unknown property",
            rule(r#"{ property = "Priorty", equals = "Urgent" }"#, APPEND),
            "the data source has no property `Priorty`; did you mean `Priority`? It has: Assignee, Attachments",
            true,
        ),
        (
            "operator that does not fit the type",
            rule(r#"{ property = "Status", greater_than = 3 }"#, APPEND),
            "`greater_than` does not apply to `Status`, a status property; use one of equals, does_not_equal",
            true,
        ),
        (
            "unknown status option",
            rule(r#"{ property = "Status", equals = "Blocked" }"#, APPEND),
            "`Blocked` is not an option of the status property `Status`; its options: `To do`, `In progress`, `Done`",
            true,
        ),
        (
            "misspelt option",
            rule(r#"{ property = "Status", equals = "Dnoe" }"#, APPEND),
            "`Dnoe` is not an option of the status property `Status` (did you mean `Done`?)",
            true,
        ),
        (
            "bad template",
            rule(URGENT, r#"[{ append = "{{ task.title " }]"#),
            "the append template is wrong: syntax error",
            false,
        ),
        (
            "misspelt property in a template",
            rule(URGENT, r#"[{ append = "{{ task.Prority }}" }]"#),
            "the append template is wrong: `task.Prority` is not a property of the task: did you mean `task.Priority`?",
            true,
        ),
        (
            "bad relative date",
            rule(r#"{ property = "Due", before = "+2x" }"#, APPEND),
            "`+2x` is not a date: use an ISO date",
            false,
        ),
        (
            "duplicate rule name",
            format!("{}{}", rule(URGENT, APPEND), rule(URGENT, APPEND)),
            "the rule name is used twice (first at",
            false,
        ),
        (
            "unknown action",
            rule(URGENT, r#"[{ notify = "x" }]"#),
            "unknown field `notify`, expected one of `set`, `append`, `format`, `mail`, `webhook`, `create`",
            false,
        ),
        (
            "empty action list",
            rule(URGENT, "[]"),
            "the rule has no actions: give it at least one `set`, `append`, `mail`, `webhook` or `create`",
            false,
        ),
        (
            "unknown operator",
            rule(r#"{ property = "Status", equal = "Done" }"#, APPEND),
            "unknown field `equal`, expected one of",
            false,
        ),
        (
            "two operators in one condition",
            rule(
                r#"{ property = "Estimate", greater_than = 1, less_than = 5 }"#,
                APPEND,
            ),
            "one operator per condition, not greater_than and less_than",
            false,
        ),
        (
            "set on a computed property",
            rule(URGENT, r#"[{ set = { Score = 3 } }]"#),
            "`Score` is a formula property, which tasksync cannot set",
            true,
        ),
        (
            "set with the wrong type",
            rule(URGENT, r#"[{ set = { Done = "yes" } }]"#),
            "`Done` is a checkbox property: set it to true or false, not text",
            true,
        ),
        (
            "number compared with text",
            rule(r#"{ property = "Estimate", equals = "three" }"#, APPEND),
            "`Estimate` is a number property: compare it with a number, not text",
            true,
        ),
        (
            "mail without recipients",
            rule(URGENT, "[{ mail = {} }]"),
            "the mail has no recipients: set `to` in the action or under [mail]",
            false,
        ),
        (
            "missing condition",
            "\n[[rules]]\nname = \"broken\"\nactions = [{ append = \"x\" }]\n".to_string(),
            "missing field `when`",
            false,
        ),
    ];
    assert!(cases.len() >= 12);
    for (what, rules, expected, mismatch) in &cases {
        let checked = check(&simulator, rules).await;
        if *mismatch {
            // Said to be about the schema as it is now: the daemon would suspend the rule.
            assert!(
                checked.stdout.contains(
                    "1 do not fit it as it is now (the daemon would suspend them and run the others)"
                ),
                "{what}: {}",
                checked.stdout
            );
        }
        assert_eq!(checked.code, 78, "{what}: {}", checked.stderr);
        assert!(
            !checked.stderr.contains("panicked"),
            "{what}: {}",
            checked.stderr
        );
        assert!(
            checked.stderr.contains(expected),
            "{what}: expected «{expected}» in:\n{}",
            checked.stderr
        );
        assert!(
            checked.stderr.contains("tasksync.toml:"),
            "{what}: the message names the file and line:\n{}",
            checked.stderr
        );
        assert_eq!(
            checked.stderr.matches("\n  ").count(),
            1,
            "{what}: exactly one problem:\n{}",
            checked.stderr
        );
        if !rules.contains("missing")
            && !expected.contains("unknown field")
            && !expected.contains("missing field")
        {
            assert!(
                checked.stderr.contains("rule `broken`"),
                "{what}: the message names the rule:\n{}",
                checked.stderr
            );
        }
    }

    // Several problems are reported together, in file order, with their lines.
    let many = format!(
        "{}{}",
        rule(r#"{ property = "Priorty", equals = "Urgent" }"#, APPEND),
        "\n[[rules]]\nname = \"second\"\nwhen = { property = \"Due\", before = \"soon\" }\nactions = []\n"
    );
    let checked = check(&simulator, &many).await;
    assert_eq!(checked.code, 78);
    assert!(
        checked.stderr.contains("has 3 problems:"),
        "{}",
        checked.stderr
    );
    let lines: Vec<&str> = checked
        .stderr
        .lines()
        .filter(|l| l.starts_with("  "))
        .collect();
    assert!(
        lines[0].contains("tasksync.toml:7:8: rule `broken`"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("tasksync.toml:12:8: rule `second`: `soon` is not a date"),
        "{lines:?}"
    );
    assert!(
        lines[2].contains("tasksync.toml:13:11: rule `second`: the rule has no actions"),
        "{lines:?}"
    );

    let fine = check(&simulator, &rule(URGENT, APPEND)).await;
    assert_eq!(fine.code, 0, "{}", fine.stderr);
    assert!(
        fine.stdout
            .contains("Rules: 1 checked against the schema, no problems"),
        "{}",
        fine.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_example_configuration_checks_clean() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 1,
        ..SimulatorOptions::default()
    })
    .await;
    let example = include_str!("../config/tasksync.example.toml");
    let rules_part = &example[example.find("[automation]").unwrap()..];
    let checked = check(&simulator, rules_part).await;
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    assert!(
        checked.stdout.contains("Rules: 3 checked"),
        "{}",
        checked.stdout
    );
}
