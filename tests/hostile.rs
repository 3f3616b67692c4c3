//! Hostile input through the binary, as a careless or hostile user would give it: no panic, no
//! hang (each run is bounded here), the right exit code and a message naming the key, rule or
//! file. Configuration problems exit 78.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use tasksync::simulator::{FaultSpec, Simulator, SimulatorOptions};

/// Runs the binary in `dir` with a deadline; a run past it is a hang and fails the test.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = common::tasksync(dir);
    command
        .args(args)
        .env("HOME", dir)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null());
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("the command ends by itself (no hang)")
        .unwrap()
}

fn notion_section(simulator: &Simulator) -> String {
    format!(
        "[notion]\ndatabase = \"{}\"\nbase_url = \"{}\"\nrequests_per_second = 1000\n[store]\npath = \"mirror.db\"\n",
        simulator.database_id(),
        simulator.base_url()
    )
}

/// Writes `config`, runs `args`, and checks the exit code and that stderr says `expected`.
fn expect(
    simulator: &Simulator,
    config: &str,
    args: &[&str],
    code: i32,
    expected: &[&str],
) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tasksync.toml"), config).unwrap();
    let output = run(dir.path(), args, &[("NOTION_TOKEN", simulator.token())]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{config}\n{stderr}");
    assert_eq!(output.status.code(), Some(code), "{config}\n{stderr}");
    for text in expected {
        assert!(
            stderr.contains(text),
            "{config}\nwanted «{text}» in:\n{stderr}"
        );
    }
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_configuration_values_are_configuration_errors() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 3,
        ..SimulatorOptions::default()
    })
    .await;
    let notion = notion_section(&simulator);
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            format!("{notion}[sync]\noverlap = \"100000000d\"\n"),
            vec![
                "tasksync.toml:8:",
                "sync.overlap: `100000000d` is longer than tasksync accepts",
            ],
        ),
        (
            format!("{notion}[sync]\noverlap = \"3d\"\n"),
            vec![
                "tasksync.toml:8:",
                "is too long for `sync.overlap`: at most \"1d\"",
            ],
        ),
        (
            format!("{notion}[sync]\nreconcile_every = \"213503982334602d\"\n"),
            vec!["longer than tasksync accepts (at most 100 years)"],
        ),
        (
            format!("{notion}[schedule]\noutbox = \"100000000d\"\n"),
            vec!["schedule.outbox:", "longer than tasksync accepts"],
        ),
        (
            format!("{notion}[schedule]\nsync = \"40d\"\n"),
            vec!["schedule.sync:", "an interval is at most \"31d\""],
        ),
        (
            notion.replace("requests_per_second = 1000", "requests_per_second = 1e-300"),
            vec!["requests_per_second must be between 0.01 and 10000"],
        ),
        (
            notion.replace(simulator.base_url(), "not a url"),
            vec!["`not a url` is not a URL"],
        ),
        (
            notion.replace("path = \"mirror.db\"", "path = \"\""),
            vec!["tasksync.toml:6:", "the path is empty"],
        ),
    ];
    for (config, expected) in &cases {
        let started = std::time::Instant::now();
        let config = config.clone();
        let expected = expected.clone();
        let simulator_ref = &simulator;
        tokio::task::block_in_place(|| {
            expect(simulator_ref, &config, &["sync"], 78, &expected);
        });
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "a configuration error is found before any retry: {config}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_that_cannot_work_are_found_by_check() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 3,
        ..SimulatorOptions::default()
    })
    .await;
    let notion = notion_section(&simulator);
    let mail = "[mail]\nfrom = \"tasksync <tasksync@example.com>\"\nto = [\"team@example.com\"]\n";
    let rule = |actions: &str| {
        format!(
            "[[rules]]\nname = \"hostile\"\nwhen = {{ property = \"Priority\", equals = \"Urgent\" }}\nactions = [{actions}]\n"
        )
    };
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            format!(
                "{notion}[mail]\nto = [\"team@example.com\"]\n{}",
                rule("{ mail = {} }")
            ),
            vec!["rule `hostile`: the mail has no sender: set `from` under [mail]"],
        ),
        (
            format!(
                "{notion}[mail]\nfrom = \"not an address\"\nto = [\"team@example.com\"]\n{}",
                rule("{ mail = {} }")
            ),
            vec!["rule `hostile`: [mail] from:"],
        ),
        (
            format!(
                "{notion}{mail}{}",
                rule("{ append = \"{{ task.Priorty }}\" }")
            ),
            vec![
                "rule `hostile`",
                "`task.Priorty` is not a property of the task: did you mean `task.Priority`?",
            ],
        ),
        (
            format!(
                "{notion}{mail}{}",
                rule(
                    "{ append = \"{% for i in range(100000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}\" }"
                )
            ),
            vec!["rule `hostile`", "the template ran too long"],
        ),
        (
            format!(
                "{notion}{mail}{}",
                rule("{ append = \"{{ 'x' * 100000000 }}\" }")
            ),
            vec!["rule `hostile`", "longer than 1 MiB"],
        ),
        (
            format!(
                "{notion}{mail}[[rules]]\nname = \"far\"\nwhen = {{ property = \"Due\", before = \"+99999999999999d\" }}\nactions = [{{ append = \"x\" }}]\n"
            ),
            vec!["rule `far`", "is too far from today"],
        ),
    ];
    for (config, expected) in &cases {
        // A template naming a property the task lacks does not fit the schema: an error too.
        tokio::task::block_in_place(|| expect(&simulator, config, &["check"], 78, expected));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_with_a_line_break_is_a_configuration_error_that_never_shows_it() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 1,
        ..SimulatorOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tasksync.toml"), notion_section(&simulator)).unwrap();
    let token = format!("{}\nsecret_part_after_the_break", simulator.token());
    let output = tokio::task::block_in_place(|| {
        run(dir.path(), &["tasks", "list"], &[("NOTION_TOKEN", &token)])
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains("NOTION_TOKEN contains a line break"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret_part"), "{stderr}");
}

#[test]
fn a_fifo_as_configuration_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("config.toml");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let output = run(
        dir.path(),
        &["--config", &fifo.display().to_string(), "check"],
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("it is not a regular file"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_repeating_its_cursor_stops_the_sync_with_the_endpoint_named() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 3,
        ..SimulatorOptions::default()
    })
    .await;
    simulator.set_faults("stuck:1.0".parse::<FaultSpec>().unwrap());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tasksync.toml"), notion_section(&simulator)).unwrap();
    // Discovery goes through first (the fault only answers queries with lists).
    let output = tokio::task::block_in_place(|| {
        run(
            dir.path(),
            &["sync"],
            &[("NOTION_TOKEN", simulator.token())],
        )
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/query"), "{stderr}");
    assert!(stderr.contains("the cursor it was given"), "{stderr}");
    assert!(simulator.stats().requests < 20, "{:?}", simulator.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_applications_database_is_left_untouched() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 3,
        ..SimulatorOptions::default()
    })
    .await;
    for (setup, expected) in [
        (
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL); INSERT INTO orders VALUES (1, 9.5);",
            "is not a tasksync mirror (it holds other tables: orders)",
        ),
        (
            "PRAGMA application_id = 1234;",
            "is not a tasksync mirror (its application id is 0x4d2)",
        ),
        ("PRAGMA user_version = -1;", "has schema version -1"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mirror.db");
        rusqlite::Connection::open(&file)
            .unwrap()
            .execute_batch(setup)
            .unwrap();
        let before = std::fs::read(&file).unwrap();
        std::fs::write(dir.path().join("tasksync.toml"), notion_section(&simulator)).unwrap();
        let output = tokio::task::block_in_place(|| {
            run(
                dir.path(),
                &["sync"],
                &[("NOTION_TOKEN", simulator.token())],
            )
        });
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{setup}: {stderr}");
        assert_eq!(
            std::fs::read(&file).unwrap(),
            before,
            "{setup}: byte for byte"
        );
        assert!(
            !dir.path().join("mirror.db-wal").exists(),
            "{setup}: no log beside it"
        );
    }
}

#[test]
fn a_env_line_that_does_not_parse_never_shows_its_secret() {
    // Each secret kind, each way a line can fail to parse; logs at trace level.
    let secrets = [
        ("NOTION_TOKEN", "ntn_S3cretTokenValue0123456789"),
        ("SMTP_PASSWORD", "Sm7pS3cretPassword"),
        (
            "TEAM_HOOK_URL",
            "https://hooks.example.com/services/S3cretPath",
        ),
    ];
    let forms = [
        |name: &str, value: &str| format!("{name}=\"{value}\n"),
        |name: &str, value: &str| format!("export {name}='{value}\n"),
        |name: &str, value: &str| format!("{name} {value}\n"),
        |name: &str, value: &str| format!("{name}=\"{value}\\q\"\n"),
    ];
    for (name, value) in secrets {
        for form in forms {
            let dir = tempfile::tempdir().unwrap();
            let line = form(name, value);
            std::fs::write(dir.path().join(".env"), format!("# secrets\n{line}")).unwrap();
            let output = run(dir.path(), &["--log-level", "trace", "status"], &[]);
            let (stdout, stderr) = (
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
            );
            let secret = value.split('/').next_back().unwrap_or(value);
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "{line:?} leaked: {stdout}{stderr}"
            );
            // Either refused naming the file, the line and the variable (78), or read as a
            // value (a form dotenvy takes): never shown.
            if output.status.code() == Some(78) {
                assert!(
                    stderr.contains(&format!(".env: line 2 ({name}) does not parse")),
                    "{line:?}: {stderr}"
                );
            }
        }
    }
    // The two cases are refused.
    for line in ["NOTION_TOKEN=\"ntn_abc\n", "SMTP_PASSWORD s3cretPW\n"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), line).unwrap();
        let output = run(dir.path(), &["status"], &[]);
        assert_eq!(output.status.code(), Some(78), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(".env: line 1 ("), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_with_terminal_escapes_is_shown_not_obeyed() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 3,
        ..SimulatorOptions::default()
    })
    .await;
    let evil = "Evil \u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m \u{202e}txt.exe title";
    let page = simulator.page_ids()[0].clone();
    common::edit_as_person(
        &simulator,
        &page,
        &serde_json::json!({ "properties": { "Name": { "title": [{ "text": { "content": evil } }] } } }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tasksync.toml"), notion_section(&simulator)).unwrap();
    let token = [("NOTION_TOKEN", simulator.token())];
    let shown = |args: &[&str]| {
        let output = tokio::task::block_in_place(|| run(dir.path(), args, &token));
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    for args in [&["tasks", "list"][..], &["tasks", "show", "TASK-1"]] {
        let text = shown(args);
        assert!(
            !text.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}']),
            "{args:?}: {text:?}"
        );
        assert!(
            text.contains("Evil \\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m \\u202etxt.exe title"),
            "{args:?}: {text}"
        );
    }
    // --json stays the same JSON: the title reads back exactly.
    let json: serde_json::Value =
        serde_json::from_str(&shown(&["tasks", "show", "TASK-1", "--json"])).unwrap();
    assert_eq!(json["title"], evil);
}

#[test]
fn messages_name_their_key_or_flag_with_the_right_exit_code() {
    let database = "[notion]\ndatabase = \"0123456789abcdef0123456789abcdef\"\n";
    let cases: [(String, &[&str], i32, &str); 5] = [
        (
            format!("{database}database = \"x\"\n"),
            &["status"],
            78,
            "tasksync.toml:3:1: duplicate key `database`",
        ),
        (
            format!("{database}requests_per_second = \"fast\"\n"),
            &["status"],
            78,
            "`notion.requests_per_second`: invalid type: string \"fast\", expected f64",
        ),
        (
            format!("{database}[automation]\nfiring_budget = -1\n"),
            &["status"],
            78,
            "`automation.firing_budget`: invalid value: integer `-1`",
        ),
        (
            database.to_string(),
            &["report", "--since", "-5d"],
            2,
            "write e.g. 5d, not -5d",
        ),
        (
            database.to_string(),
            &["report", "--since", "99999999d"],
            2,
            "--since",
        ),
    ];
    for (config, args, code, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tasksync.toml"), &config).unwrap();
        let output = run(dir.path(), args, &[("NOTION_TOKEN", "ntn_x")]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{config}{args:?}: {stderr}"
        );
        assert!(stderr.contains(expected), "{config}{args:?}: {stderr}");
    }
    // A cause is said once, not once more as its own cause.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tasksync.toml"), "#".repeat(5 << 20)).unwrap();
    let output = run(dir.path(), &["status"], &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert_eq!(stderr.matches("larger than 4 MiB").count(), 1, "{stderr}");
}
