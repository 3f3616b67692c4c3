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
        // A template naming a property the task lacks is a mismatch with the schema (the rule
        // is suspended, exit 0): an error with --strict.
        let args: &[&str] = if config.contains("task.Priorty") {
            &["check", "--strict"]
        } else {
            &["check"]
        };
        tokio::task::block_in_place(|| expect(&simulator, config, args, 78, expected));
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
