//! The `tasksync` binary as a user runs it: against `tasksync simulator` in another process,
//! with a configuration file in a temporary directory.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

mod common;

use assert_cmd::cargo::cargo_bin;
use common::SimulatorProcess;
use serde_json::Value;

const TOKEN: &str = "ntn_cli_test_token_5f2c";

/// A working directory with a config file pointing at the simulator.
struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new(simulator: &SimulatorProcess, api_version: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "[notion]\ndatabase = \"{}\"\napi_version = \"{api_version}\"\nbase_url = \"{}\"\nrequests_per_second = 50\n[store]\npath = \"tasksync.db\"\n",
            simulator.database, simulator.base_url
        );
        std::fs::write(dir.path().join("tasksync.toml"), config).unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, None, &[("NOTION_TOKEN", TOKEN)])
    }

    fn run_with(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(cargo_bin("tasksync"));
        command
            .args(args)
            .current_dir(self.path())
            .env_remove("NOTION_TOKEN")
            .env_remove("TASKSYNC_CONFIG")
            .env_remove("RUST_LOG")
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("xdg"))
            .env("XDG_RUNTIME_DIR", self.path().join("run"))
            .env("TASKSYNC_LOCK_SCOPE", self.path().join("run"))
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            std::io::Write::write_all(&mut input, text.as_bytes()).unwrap();
        }
        drop(input);
        let output = child.wait_with_output().unwrap();
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

#[derive(Debug)]
struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Output {
    fn ok(self) -> Self {
        assert_eq!(self.code, 0, "{self:#?}");
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

fn tour(api_version: &str) {
    let simulator = SimulatorProcess::start("127.0.0.1:0", Some(TOKEN), &["--tasks", "300"]);
    let work = Workdir::new(&simulator, api_version);

    let listed = work.run(&["tasks", "list"]).ok();
    assert!(listed.stdout.starts_with("ID "), "{}", listed.stdout);
    assert!(listed.stdout.contains("300 task(s)"), "{}", listed.stdout);
    assert!(listed.stdout.contains("TASK-3 "), "{}", listed.stdout);

    let done = work
        .run(&["tasks", "list", "--status", "done", "--json"])
        .ok()
        .json();
    let done = done.as_array().unwrap();
    assert!(!done.is_empty());
    assert!(done.iter().all(|t| t["status"] == "Done"));

    let shown = work.run(&["tasks", "show", "TASK-3"]).ok();
    assert!(shown.stdout.starts_with("TASK-3  "), "{}", shown.stdout);
    // People by name (the page gives `created_by` by id; the users endpoint names them).
    let created_by = shown
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("Created by"))
        .unwrap_or_else(|| panic!("{}", shown.stdout));
    let person = created_by
        .trim_start()
        .trim_start_matches("Created by")
        .trim();
    assert!(
        !person.is_empty() && tasksync::notion::ids::NotionId::parse(person).is_err(),
        "{created_by}"
    );
    let before = work.run(&["tasks", "show", "TASK-3", "--json"]).ok().json();
    let target = if before["status"] == "Done" {
        "In progress"
    } else {
        "Done"
    };

    let set = work.run(&["tasks", "set-status", "TASK-3", target]).ok();
    assert!(
        set.stdout.contains(&format!("→ {target}")),
        "{}",
        set.stdout
    );

    let invalid = work.run(&["tasks", "set-status", "TASK-3", "Blocked"]);
    assert_eq!(invalid.code, 1, "{invalid:#?}");
    assert!(invalid.stderr.contains("`Blocked` is not an option of the status property `Status`; allowed: `To do`, `In progress`, `Done`"), "{}", invalid.stderr);

    let note = "Called the customer.\n\nThey will send logs tomorrow.";
    let appended = work
        .run_with(
            &["tasks", "append", "TASK-3", "-"],
            Some(note),
            &[("NOTION_TOKEN", TOKEN)],
        )
        .ok();
    assert!(
        appended.stdout.contains("Appended 2 block(s) (markdown)"),
        "{}",
        appended.stdout
    );

    let url = before["url"].as_str().unwrap().to_string();
    let after = work.run(&["tasks", "show", &url, "--json"]).ok().json();
    assert_eq!(after["status"], target);
    let content: Vec<&str> = after["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        content[content.len() - 2..],
        ["Called the customer.", "They will send logs tomorrow."]
    );
    let human = work.run(&["tasks", "show", "TASK-3"]).ok();
    assert!(
        human.stdout.contains(&format!("Status{}", " ")),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("They will send logs tomorrow."),
        "{}",
        human.stdout
    );
}

#[test]
fn the_task_commands_work_on_api_2026_03_11() {
    tour("2026-03-11");
}

#[test]
fn the_task_commands_work_on_api_2025_09_03() {
    tour("2025-09-03");
}

#[test]
fn databases_lists_what_the_token_sees() {
    let simulator = SimulatorProcess::start(
        "127.0.0.1:0",
        Some(TOKEN),
        &["--tasks", "1", "--data-sources", "2"],
    );
    let work = Workdir::new(&simulator, "2026-03-11");
    let table = work.run(&["databases"]).ok();
    assert!(
        table.stdout.contains("Tasks") && table.stdout.contains("Archive"),
        "{}",
        table.stdout
    );
    let json = work.run(&["databases", "--json"]).ok().json();
    let ids: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        simulator
            .data_sources
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );

    let ambiguous = work.run(&["tasks", "list"]);
    assert_eq!(ambiguous.code, 78, "{ambiguous:#?}");
    assert!(
        ambiguous.stderr.contains("set `notion.data_source`"),
        "{}",
        ambiguous.stderr
    );
}

#[test]
fn configuration_problems_exit_78_with_positions() {
    let simulator = SimulatorProcess::start("127.0.0.1:0", Some(TOKEN), &["--tasks", "1"]);
    let work = Workdir::new(&simulator, "2026-03-11");
    std::fs::write(
        work.path().join("bad.toml"),
        "[notion]\nbse_url = \"x\"\nrequests_per_second = -1\n",
    )
    .unwrap();
    let bad = work.run(&["--config", "bad.toml", "tasks", "list"]);
    assert_eq!(bad.code, 78, "{bad:#?}");
    assert!(
        bad.stderr.contains("bad.toml has 2 problems:"),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stderr
            .contains("bad.toml:2:1: unknown field `bse_url`, expected one of"),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stderr
            .contains("bad.toml:3:23: requests_per_second must be between 0.01 and 10000"),
        "{}",
        bad.stderr
    );

    let missing_token = work.run_with(&["tasks", "list"], None, &[]);
    assert_eq!(missing_token.code, 78);
    assert!(
        missing_token.stderr.contains("NOTION_TOKEN is not set"),
        "{}",
        missing_token.stderr
    );

    let wrong_token = work.run_with(&["tasks", "list"], None, &[("NOTION_TOKEN", "ntn_wrong")]);
    assert_eq!(wrong_token.code, 78);
    assert!(
        wrong_token
            .stderr
            .contains("Notion rejected the token: check NOTION_TOKEN"),
        "{}",
        wrong_token.stderr
    );

    // A file without a database, then no file at all: each said as it is.
    std::fs::write(
        work.path().join("tasksync.toml"),
        "[store]\npath = \"m.db\"\n",
    )
    .unwrap();
    let unconfigured = work.run(&["tasks", "list"]);
    assert_eq!(unconfigured.code, 78);
    assert!(
        unconfigured
            .stderr
            .contains("no Notion database is configured"),
        "{}",
        unconfigured.stderr
    );
    std::fs::remove_file(work.path().join("tasksync.toml")).unwrap();
    let unconfigured = work.run(&["tasks", "list"]);
    assert_eq!(unconfigured.code, 78);
    assert!(
        unconfigured
            .stderr
            .contains("no configuration file: looked for tasksync.toml"),
        "{}",
        unconfigured.stderr
    );

    let usage = work.run(&["tasks", "frobnicate"]);
    assert_eq!(usage.code, 2);
}

#[test]
fn a_token_from_dot_env_is_used_and_the_environment_wins() {
    let simulator = SimulatorProcess::start("127.0.0.1:0", Some(TOKEN), &["--tasks", "2"]);
    let work = Workdir::new(&simulator, "2026-03-11");
    std::fs::write(work.path().join(".env"), format!("NOTION_TOKEN={TOKEN}\n")).unwrap();
    work.run_with(&["tasks", "list"], None, &[]).ok();
    let overridden = work.run_with(&["tasks", "list"], None, &[("NOTION_TOKEN", "ntn_wrong")]);
    assert_eq!(
        overridden.code, 78,
        "an already-set variable wins over .env"
    );
}

#[test]
fn the_token_never_appears_in_output_even_at_trace_level() {
    let simulator = SimulatorProcess::start(
        "127.0.0.1:0",
        Some(TOKEN),
        &["--tasks", "30", "--faults", "503:0.2"],
    );
    let work = Workdir::new(&simulator, "2026-03-11");
    let trace = [("NOTION_TOKEN", TOKEN), ("RUST_LOG", "trace")];
    let mut everything = String::new();
    for args in [
        vec!["tasks", "list"],
        vec!["tasks", "show", "TASK-2"],
        vec!["tasks", "set-status", "TASK-2", "Done"],
        vec!["tasks", "append", "TASK-2", "traced"],
        vec!["databases"],
    ] {
        let output = work.run_with(&args, None, &trace);
        everything.push_str(&output.stdout);
        everything.push_str(&output.stderr);
    }
    let failing = work.run_with(
        &["--log-level", "trace", "tasks", "list"],
        None,
        &[("NOTION_TOKEN", "ntn_secret_that_fails")],
    );
    everything.push_str(&failing.stderr);
    assert!(
        everything.contains("notion request"),
        "trace logging was on"
    );
    assert!(everything.len() > 10_000, "trace output was captured");
    assert!(!everything.contains(TOKEN), "the token leaked");
    assert!(
        !everything.contains("ntn_secret_that_fails"),
        "the wrong token leaked"
    );
    assert!(
        !everything.contains(&TOKEN[4..]),
        "part of the token leaked"
    );
}

#[test]
fn help_reads_as_a_manual_with_examples() {
    let work = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["databases", "--help"],
        vec!["tasks", "list", "--help"],
        vec!["tasks", "show", "--help"],
        vec!["tasks", "set-status", "--help"],
        vec!["tasks", "append", "--help"],
        vec!["simulator", "--help"],
        vec!["sync", "--help"],
        vec!["daemon", "--help"],
        vec!["status", "--help"],
        vec!["check", "--help"],
        vec!["rules", "preview", "--help"],
        vec!["mail", "test", "--help"],
        vec!["mail", "list", "--help"],
        vec!["mail", "retry", "--help"],
        vec!["demo", "--help"],
        vec!["completions", "--help"],
        vec!["man", "--help"],
    ] {
        let output = Command::new(cargo_bin("tasksync"))
            .args(&args)
            .current_dir(work.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{args:?}");
        assert!(text.contains("Example"), "{args:?} has no example:\n{text}");
    }
}

#[test]
fn sync_then_read_the_mirror_offline() {
    let simulator = SimulatorProcess::start("127.0.0.1:0", Some(TOKEN), &["--tasks", "250"]);
    let work = Workdir::new(&simulator, "2026-03-11");
    let first = work.run(&["sync"]).ok();
    assert!(
        first
            .stdout
            .starts_with("Synced \"Tasks\" (full): 250 new, 0 changed, 0 deleted"),
        "{}",
        first.stdout
    );
    assert!(
        first.stderr.is_empty(),
        "no progress bar when output is not a terminal: {}",
        first.stderr
    );

    work.run(&["tasks", "set-status", "TASK-7", "Done"]).ok();
    let dry = work.run(&["sync", "--dry-run", "--json"]).ok().json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["planned"][0]["properties"][0]["property"], "Status");
    // Named as `sync` names it, by its unique ID.
    assert_eq!(dry["planned"][0]["task"], "TASK-7");
    let said = work.run(&["sync", "--dry-run"]).ok();
    assert!(said.stdout.contains(" TASK-7 \""), "{}", said.stdout);
    let report = work.run(&["sync", "--json"]).ok().json();
    assert_eq!(
        (report["kind"].as_str(), report["changed"].as_u64()),
        (Some("incremental"), Some(1))
    );

    let listed = work
        .run(&["tasks", "list", "--mirror", "--status", "done"])
        .ok();
    assert!(listed.stdout.contains("TASK-7 "), "{}", listed.stdout);
    let shown = work.run(&["tasks", "show", "TASK-7", "--mirror"]).ok();
    assert!(shown.stdout.starts_with("TASK-7  "), "{}", shown.stdout);
    assert!(
        shown.stdout.contains("History (oldest first):"),
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains("Status: ") && shown.stdout.contains("→ Done"),
        "{}",
        shown.stdout
    );
    // The change was made by tasksync's integration: named, not a user id.
    let change = shown.stdout.lines().find(|l| l.contains("→ Done")).unwrap();
    assert!(change.ends_with(" by tasksync"), "{change}");
    let edited_by = shown
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("Edited by"))
        .unwrap_or_else(|| panic!("{}", shown.stdout));
    assert!(edited_by.trim_end().ends_with("tasksync"), "{edited_by}");
    let json = work
        .run(&["tasks", "show", "TASK-7", "--mirror", "--json"])
        .ok()
        .json();
    assert_eq!(json["status"], "Done");
    assert_eq!(
        json["history"].as_array().unwrap().len(),
        2,
        "first seen, then the status change"
    );

    // Offline reads need no token.
    let offline = work
        .run_with(&["tasks", "list", "--mirror"], None, &[])
        .ok();
    assert!(
        offline.stdout.contains("250 task(s) in the mirror"),
        "{}",
        offline.stdout
    );
    std::fs::remove_file(work.path().join("tasksync.db")).unwrap();
    let missing = work.run(&["tasks", "list", "--mirror"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("run `tasksync sync` first"),
        "{}",
        missing.stderr
    );
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    let simulator = SimulatorProcess::start("127.0.0.1:0", Some(TOKEN), &["--tasks", "300"]);
    let work = Workdir::new(&simulator, "2026-03-11");
    let mut child = Command::new(cargo_bin("tasksync"))
        // JSON of 300 tasks is far larger than a pipe's buffer: the write must meet the closed end.
        .args(["tasks", "list", "--json"])
        .current_dir(work.path())
        .env("NOTION_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with('['), "{first}");
    // The reader is gone (as with `| head -1`): the command must stop without a panic.
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

#[test]
fn rules_from_the_example_configuration_fire_preview_and_show() {
    let simulator = SimulatorProcess::start("127.0.0.1:0", Some(TOKEN), &["--tasks", "50"]);
    let work = Workdir::new(&simulator, "2026-03-11");
    let example = include_str!("../config/tasksync.example.toml");
    let config = format!(
        "[notion]\ndatabase = \"{}\"\nbase_url = \"{}\"\nrequests_per_second = 50\n{}",
        simulator.database,
        simulator.base_url,
        &example[example.find("[automation]").unwrap()..]
    );
    std::fs::write(work.path().join("tasksync.toml"), config).unwrap();
    let checked = work.run(&["check"]).ok();
    assert!(
        checked
            .stdout
            .contains("Rules: 3 checked against the schema, no problems"),
        "{}",
        checked.stdout
    );
    work.run(&["sync"]).ok();
    let before = work.run(&["tasks", "show", "TASK-4", "--json"]).ok().json();
    let lower = if before["properties"]["Priority"]["text"] == "Low" {
        "Medium"
    } else {
        "Low"
    };
    let page = before["id"].as_str().unwrap().to_string();
    edit_as_person(
        &simulator,
        &page,
        &format!(
            r#"{{"properties":{{"Priority":{{"select":{{"name":"{lower}"}}}},"Status":{{"status":{{"name":"To do"}}}}}}}}"#
        ),
    );
    work.run(&["sync"]).ok();
    edit_as_person(
        &simulator,
        &page,
        r#"{"properties":{"Priority":{"select":{"name":"Urgent"}}}}"#,
    );

    let preview = work.run(&["rules", "preview", "--task", "TASK-4"]).ok();
    assert!(
        preview.stdout.contains("Rules would fire 2 time(s):"),
        "{}",
        preview.stdout
    );
    // The conditions below agree with the firings above (no "would fire" then "does not hold").
    assert!(
        preview
            .stdout
            .contains("  urgent-mail: would fire on the change since the last sync (above)"),
        "{}",
        preview.stdout
    );
    assert!(
        !preview
            .stdout
            .lines()
            .any(|l| l.contains("urgent-") && l.contains("does not hold")),
        "{}",
        preview.stdout
    );
    assert!(
        preview.stdout.contains("urgent-starts-work →"),
        "{}",
        preview.stdout
    );
    assert!(
        preview.stdout.contains("set Status = In progress"),
        "{}",
        preview.stdout
    );
    assert!(
        preview
            .stdout
            .contains("mail team@example.com \"[tasksync] "),
        "{}",
        preview.stdout
    );
    assert!(
        preview.stdout.contains("Nothing was written."),
        "{}",
        preview.stdout
    );

    let synced = work.run(&["sync"]).ok();
    assert!(
        synced.stdout.contains("Rules fired 2 time(s):"),
        "{}",
        synced.stdout
    );
    assert!(
        synced.stdout.contains("Actions: 2 done"),
        "{}",
        synced.stdout
    );
    let live = work.run(&["tasks", "show", "TASK-4"]).ok();
    assert!(
        live.stdout
            .contains("tasksync moved the task to In progress."),
        "{}",
        live.stdout
    );
    work.run(&["sync"]).ok();
    let shown = work.run(&["tasks", "show", "TASK-4", "--mirror"]).ok();
    assert!(
        shown.stdout.contains("Rules that fired:"),
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains("urgent-starts-work") && shown.stdout.contains("urgent-mail"),
        "{}",
        shown.stdout
    );
    let again = work.run(&["sync"]).ok();
    assert!(
        !again.stdout.contains("Rules fired"),
        "nothing fires twice: {}",
        again.stdout
    );
    assert!(
        again
            .stderr
            .contains("1 mail(s) wait in the outbox: set SMTP_URL"),
        "{}",
        again.stderr
    );

    let status = work.run_with(&["status"], None, &[]).ok();
    // No `[store] path` here: the mirror is in the state directory (HOME is the work dir).
    let mirror = format!(
        "Mirror: {} (50 tasks, 0 deleted)",
        work.path()
            .join(".local/state/tasksync/tasksync.db")
            .display()
    );
    for expected in [
        mirror.as_str(),
        "Running: nothing is using the mirror now",
        "Daemon schedules: sync every 2m; reconcile every 1h; outbox every 1m; time_rules every 15m",
        "(incremental), ok",
        "Rules: 2 firing(s) today, 0 stopped",
        "Actions: 0 pending, 0 failed, 2 done, 0 skipped",
        "Mail: 1 queued, 0 sent, 0 failed",
        "Job report: off (set schedule.report to write the flow report)",
    ] {
        assert!(
            status.stdout.contains(expected),
            "«{expected}» in:\n{}",
            status.stdout
        );
    }
    let json = work.run_with(&["status", "--json"], None, &[]).ok().json();
    assert_eq!(json["running_pid"], Value::Null);
    assert_eq!(json["mail"]["queued"], 1);
    assert_eq!(json["last_run"]["result"], "ok");
    assert!(json["sources"][0]["cursor"].is_string());
}

/// A PATCH of a page as a person in the workspace (not the integration).
fn edit_as_person(simulator: &SimulatorProcess, page: &str, body: &str) {
    let url = format!("{}/v1/pages/{page}", simulator.base_url);
    let body = body.to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = runtime.block_on(async move {
        reqwest::Client::new()
            .patch(url)
            .bearer_auth(TOKEN)
            .header("Notion-Version", "2026-03-11")
            .header("X-Simulator-User", "Ada Hopper")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "{status}");
}

#[test]
fn one_instance_per_mirror() {
    let simulator = SimulatorProcess::start("127.0.0.1:0", Some(TOKEN), &["--tasks", "20"]);
    let work = Workdir::new(&simulator, "2026-03-11");
    work.run(&["sync"]).ok();
    let mirror = work.path().join("tasksync.db");
    let held = tasksync::lock::InstanceLock::acquire(&mirror).unwrap();
    assert_eq!(
        tasksync::lock::InstanceLock::holder(&mirror),
        Some(std::process::id()),
        "the lock names its holder"
    );

    let refused = work.run(&["sync"]);
    assert_eq!(refused.code, 1, "{refused:#?}");
    let expected = format!("another tasksync (pid {}) is using", std::process::id());
    assert!(refused.stderr.contains(&expected), "{}", refused.stderr);
    let dry = work.run(&["sync", "--dry-run"]).ok();
    assert!(
        dry.stdout.contains("Nothing was written"),
        "a dry run needs no lock: {}",
        dry.stdout
    );

    // --wait blocks while the lock is held, then goes ahead.
    let mut waiting = Command::new(cargo_bin("tasksync"))
        .args(["sync", "--wait"])
        .current_dir(work.path())
        .env("XDG_RUNTIME_DIR", work.path().join("run"))
        .env("TASKSYNC_LOCK_SCOPE", work.path().join("run"))
        .env("NOTION_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It says what it waits for, once it waits: no guess at how long that takes.
    // (The reader lives until the process ends, so its later lines have somewhere to go.)
    let mut said = String::new();
    let mut stderr = BufReader::new(waiting.stderr.take().unwrap());
    stderr.read_line(&mut said).unwrap();
    let expected = format!("waiting for another tasksync (pid {})", std::process::id());
    assert!(said.starts_with(&expected), "{said}");
    assert!(
        waiting.try_wait().unwrap().is_none(),
        "it waits for the lock"
    );
    drop(held);
    assert!(waiting.wait().unwrap().success());
    work.run(&["sync"]).ok();
    assert_eq!(
        tasksync::lock::InstanceLock::holder(&mirror),
        None,
        "released when the process ends"
    );
}

#[test]
fn logs_can_be_json_lines() {
    let simulator = SimulatorProcess::start("127.0.0.1:0", Some(TOKEN), &["--tasks", "5"]);
    let work = Workdir::new(&simulator, "2026-03-11");
    let output = work
        .run(&[
            "--log-level",
            "trace",
            "--log-format",
            "json",
            "tasks",
            "list",
        ])
        .ok();
    let lines: Vec<&str> = output.stderr.lines().collect();
    assert!(lines.len() > 5, "{}", output.stderr);
    for line in lines {
        let parsed: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            parsed["level"].is_string() && parsed["timestamp"].is_string(),
            "{line}"
        );
    }
    assert!(
        !output.stderr.contains(TOKEN),
        "the token stays out of JSON logs too"
    );
}

#[test]
fn the_demo_tells_the_whole_story_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept");
    let output = Command::new(cargo_bin("tasksync"))
        .args(["demo", "--keep", &kept.display().to_string()])
        .current_dir(dir.path())
        .env_remove("NOTION_TOKEN")
        .env_remove("SMTP_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "the first mirrored 40 tasks into tasksync.db",
        "0 rule(s) fired",
        "Priority: Low → Urgent (by Ada Hopper)",
        "deleted from the database",
        "urgent-starts-work on TASK-2",
        "→ set Status = In progress",
        "→ append (markdown), 1 block(s):",
        "paragraph: \"Priority became Urgent on",
        "urgent-mail on TASK-2",
        "overdue-note on TASK-5",
        "is In progress; its page ends with: \"Priority became Urgent",
        "8. Mail: 1 message(s) delivered as files:",
        "10. The flow report of those 90 days",
        "sqlite3 ",
    ] {
        assert!(stdout.contains(expected), "«{expected}» missing:\n{stdout}");
    }
    let mails: Vec<_> = std::fs::read_dir(kept.join("mail")).unwrap().collect();
    assert_eq!(mails.len(), 1, "the urgent mail is saved");
    let mail = std::fs::read_to_string(mails[0].as_ref().unwrap().path()).unwrap();
    assert!(
        mail.contains("Subject: [tasksync] ") && mail.contains("Message-ID: <tasksync."),
        "{mail}"
    );
    assert!(kept.join("tasksync.db").exists());
    // Run again into the same directory: refused (its story starts from nothing).
    let again = Command::new(cargo_bin("tasksync"))
        .args(["demo", "--keep", &kept.display().to_string()])
        .current_dir(dir.path())
        .env_remove("NOTION_TOKEN")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success(), "{said}");
    assert!(
        said.contains("is not empty: --keep needs a new or empty directory"),
        "{said}"
    );
    // The flow report of the simulated months, where the demo says.
    let report = kept.join("report.html");
    assert!(stdout.contains(&report.display().to_string()), "{stdout}");
    let page = std::fs::read_to_string(&report).unwrap();
    assert_eq!(page.matches("<svg").count(), 3);
    // Months of history: the throughput table has a row per week of the 90 days.
    assert!(page.matches("<tr><td>").count() > 13, "{page}");
    // The demo's SQL names people: run its history query on the kept mirror.
    let connection = rusqlite::Connection::open(kept.join("tasksync.db")).unwrap();
    let who: Vec<String> = connection
        .prepare("SELECT u.name FROM task_changes c LEFT JOIN users u ON u.id = c.edited_by WHERE c.property NOT LIKE '(%'")
        .unwrap()
        .query_map([], |row| row.get::<_, Option<String>>(0))
        .unwrap()
        .map(|name| name.unwrap().unwrap_or_default())
        .collect();
    assert!(
        !who.is_empty() && who.iter().all(|n| !n.is_empty()),
        "{who:?}"
    );

    // Without --keep, the temporary files are gone when the demo ends.
    let output = Command::new(cargo_bin("tasksync"))
        .arg("demo")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    let temporary = stdout
        .split("Files: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap();
    assert!(!Path::new(temporary).exists(), "{temporary} was removed");
    // The report stays, in the directory the demo ran in.
    assert!(dir.path().join("tasksync-demo-report.html").exists());
}

#[test]
fn completions_and_a_man_page_come_from_the_definitions() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(cargo_bin("tasksync"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    for (shell, marker) in [
        ("bash", "_tasksync()"),
        ("zsh", "#compdef tasksync"),
        ("fish", "complete -c tasksync"),
    ] {
        let output = run(&["completions", shell]);
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && script.contains(marker),
            "{shell}: {script}"
        );
        assert!(
            script.contains("set-status") && script.contains("daemon"),
            "{shell} completes the commands"
        );
    }
    let page = run(&["man"]);
    let text = String::from_utf8_lossy(&page.stdout);
    assert!(page.status.success());
    assert!(
        text.contains(".TH tasksync 1") && text.contains("daemon") && text.contains("Exit codes"),
        "{text}"
    );
    // One page: every command is in it, and it points to no page that is not installed.
    assert!(
        text.contains(".SH COMMANDS") && text.contains("\\fBtasksync sync\\fR"),
        "{text}"
    );
    assert!(!text.contains("tasksync\\-sync(1)"), "{text}");
    // The page is valid roff for man(1) when it is installed.
    if Command::new("man").arg("--version").output().is_ok() {
        let path = dir.path().join("tasksync.1");
        std::fs::write(&path, &page.stdout).unwrap();
        let rendered = Command::new("man")
            .arg(&path)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        assert!(
            rendered.status.success(),
            "{}",
            String::from_utf8_lossy(&rendered.stderr)
        );
    }
}

/// Notion counts text lengths in UTF-16 code units (reference/request-limits): an append of text
/// where emoji count twice goes through whole, split where Notion allows, on both versions.
#[test]
fn appending_emoji_splits_by_utf16_units_and_keeps_the_text_exact() {
    let simulator = SimulatorProcess::start("127.0.0.1:0", Some(TOKEN), &["--tasks", "10"]);
    let emoji = "😀".repeat(2100); // 2,100 characters, 4,200 units
    // 5,000 units with an emoji across each 2,000-unit boundary, and no space to cut at.
    let mixed = format!(
        "{}😀{}😀{}",
        "a".repeat(1999),
        "b".repeat(1998),
        "c".repeat(999)
    );
    assert_eq!(mixed.encode_utf16().count(), 5000);
    for (version, task) in [("2026-03-11", "TASK-2"), ("2025-09-03", "TASK-5")] {
        let work = Workdir::new(&simulator, version);
        for text in [&emoji, &mixed] {
            let appended = work
                .run_with(
                    &["tasks", "append", task, "-"],
                    Some(text),
                    &[("NOTION_TOKEN", TOKEN)],
                )
                .ok();
            assert!(
                appended.stdout.contains("Appended 1 block(s) (markdown)"),
                "{}",
                appended.stdout
            );
        }
        let shown = work.run(&["tasks", "show", task, "--json"]).ok().json();
        let texts: Vec<&str> = shown["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|block| block["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts, [emoji.as_str(), mixed.as_str()], "{version}");
    }
}

#[test]
fn a_unique_id_with_another_prefix_finds_nothing_and_writes_nothing() {
    let simulator = SimulatorProcess::start("127.0.0.1:0", Some(TOKEN), &["--tasks", "20"]);
    let work = Workdir::new(&simulator, "2026-03-11");
    let refused = work.run(&["tasks", "set-status", "NOPE-12", "Done"]);
    assert_eq!(refused.code, 1, "{refused:#?}");
    assert!(
        refused.stderr.contains(
            "`NOPE-12` is not an ID of this database: its IDs have the prefix `TASK` (e.g. TASK-12)"
        ),
        "{}",
        refused.stderr
    );
    let stats: Value = tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::get(format!("{}/_simulator/stats", simulator.base_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(stats["writes"], 0, "nothing was written: {stats}");
    let shown = work
        .run(&["tasks", "show", "task-12", "--json"])
        .ok()
        .json();
    assert_eq!(shown["unique_id"], "TASK-12");
}

#[test]
fn log_levels_are_checked_and_colour_follows_no_color() {
    let simulator = SimulatorProcess::start("127.0.0.1:0", Some(TOKEN), &["--tasks", "3"]);
    let work = Workdir::new(&simulator, "2026-03-11");
    let loud = work.run(&["--log-level", "loud", "tasks", "list"]);
    assert_eq!(loud.code, 2, "{loud:#?}");
    assert!(
        loud.stderr
            .contains("[possible values: error, warn, warning, info, debug, trace]"),
        "{}",
        loud.stderr
    );
    let escape = '\u{1b}';
    let always = work
        .run(&["--log-level", "debug", "--color", "always", "tasks", "list"])
        .ok();
    assert!(always.stderr.contains(escape), "{}", always.stderr);
    for (args, env) in [
        (
            vec!["--log-level", "debug", "--color", "never", "tasks", "list"],
            vec![],
        ),
        (
            vec!["--log-level", "debug", "tasks", "list"],
            vec![("NO_COLOR", "1")],
        ),
    ] {
        let mut env = env;
        env.push(("NOTION_TOKEN", TOKEN));
        let plain = work.run_with(&args, None, &env).ok();
        assert!(plain.stderr.contains("notion request"), "{}", plain.stderr);
        assert!(!plain.stderr.contains(escape), "{args:?}: {}", plain.stderr);
    }
    let warning = work.run(&["--log-level", "warning", "tasks", "list"]).ok();
    assert!(!warning.stderr.contains("notion request"));
}

#[test]
fn a_person_waiting_gets_one_error_within_the_deadline() {
    // A port nothing listens on: every connection is refused.
    let port = common::free_port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tasksync.toml"),
        format!(
            "[notion]\ndatabase = \"7c5e0258-2fe3-4de8-af42-d055346f7b01\"\nbase_url = \"http://127.0.0.1:{port}\"\n"
        ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let output = Command::new(cargo_bin("tasksync"))
        .args(["--timeout", "2", "databases"])
        .current_dir(dir.path())
        .env("NOTION_TOKEN", TOKEN)
        .env_remove("RUST_LOG")
        .env_remove("INVOCATION_ID")
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        took < std::time::Duration::from_secs(10),
        "gave up near its 2 s deadline, not after 8 attempts: {took:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    assert!(
        stderr.starts_with("error: could not reach Notion at"),
        "{stderr}"
    );
}

#[test]
fn dot_env_is_read_from_the_working_directory_only_and_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let simulator = SimulatorProcess::start("127.0.0.1:0", Some(TOKEN), &["--tasks", "2"]);
    let work = Workdir::new(&simulator, "2026-03-11");
    // A `.env` in a parent directory is not read.
    let parent = work.path().join(".env");
    std::fs::write(&parent, format!("NOTION_TOKEN={TOKEN}\n")).unwrap();
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o644)).unwrap();
    let child = work.path().join("sub");
    std::fs::create_dir(&child).unwrap();
    std::fs::copy(
        work.path().join("tasksync.toml"),
        child.join("tasksync.toml"),
    )
    .unwrap();
    let output = Command::new(cargo_bin("tasksync"))
        .args(["tasks", "list"])
        .current_dir(&child)
        .env_remove("NOTION_TOKEN")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(78),
        "the parent's .env was not read"
    );
    // In the working directory it is read, with a warning while others can read it.
    let readable = work.run_with(&["tasks", "list"], None, &[]).ok();
    assert!(
        readable
            .stderr
            .contains("holds secrets but can be read by others: chmod 600"),
        "{}",
        readable.stderr
    );
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o600)).unwrap();
    let private = work.run_with(&["tasks", "list"], None, &[]).ok();
    assert!(!private.stderr.contains("chmod 600"), "{}", private.stderr);
    // Beside the configuration file named by --config, from another directory, it is read too.
    let config = work.path().join("tasksync.toml").display().to_string();
    let beside = Command::new(cargo_bin("tasksync"))
        .args(["--config", &config, "tasks", "list"])
        .current_dir(&child)
        .env_remove("NOTION_TOKEN")
        .env_remove("RUST_LOG")
        .env_remove("TASKSYNC_CONFIG")
        .output()
        .unwrap();
    assert_eq!(
        beside.status.code(),
        Some(0),
        "the .env beside the configuration was read: {}",
        String::from_utf8_lossy(&beside.stderr)
    );
    // --env-file names another file; a missing one is an error.
    let elsewhere = work.path().join("secrets.env");
    std::fs::rename(&parent, &elsewhere).unwrap();
    let named = work.run_with(
        &[
            "--env-file",
            &elsewhere.display().to_string(),
            "tasks",
            "list",
        ],
        None,
        &[],
    );
    assert_eq!(named.code, 0, "{named:#?}");
    let missing = work.run_with(&["--env-file", "nope.env", "tasks", "list"], None, &[]);
    assert_eq!(missing.code, 78, "{missing:#?}");
}

/// Without a configuration file, a command that needs Notion says where it looked and stops at
/// once (it never asks api.notion.com for a database nobody named); `~` in `store.path` is the
/// home directory.
#[test]
fn without_a_configuration_file_commands_say_where_they_looked() {
    let empty = tempfile::tempdir().unwrap();
    for args in [&["check"][..], &["tasks", "list"], &["sync"]] {
        let started = std::time::Instant::now();
        let output = Command::new(cargo_bin("tasksync"))
            .args(args)
            .current_dir(empty.path())
            .env("HOME", empty.path())
            .env("XDG_CONFIG_HOME", empty.path().join("config"))
            .env("NOTION_TOKEN", TOKEN)
            .env_remove("TASKSYNC_CONFIG")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(78), "{args:?}: {stderr}");
        assert!(
            stderr.contains("no configuration file: looked for tasksync.toml, ")
                && stderr.contains("/config/tasksync/tasksync.toml, /etc/tasksync/tasksync.toml")
                && stderr.contains("--config PATH"),
            "{args:?}: {stderr}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{args:?}: at once"
        );
    }
    std::fs::write(
        empty.path().join("tasksync.toml"),
        "[store]\npath = \"~/mirror.db\"\n",
    )
    .unwrap();
    let status = Command::new(cargo_bin("tasksync"))
        .args(["status"])
        .current_dir(empty.path())
        .env("HOME", empty.path())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(
        stderr.contains(&format!(
            "no mirror at {}/mirror.db",
            empty.path().display()
        )),
        "{stderr}"
    );
}

#[test]
fn sync_names_a_running_daemon_and_waits_only_as_long_as_asked() {
    let simulator = SimulatorProcess::start("127.0.0.1:0", Some(TOKEN), &["--tasks", "5"]);
    let work = Workdir::new(&simulator, "2026-03-11");
    work.run(&["sync"]).ok();
    let mirror = work.path().join("tasksync.db");
    let _daemon = tasksync::lock::InstanceLock::acquire_as(&mirror, "daemon").unwrap();
    let pid = std::process::id();
    let refused = work.run(&["sync"]);
    assert_eq!(refused.code, 1, "{refused:#?}");
    assert!(
        refused.stderr.contains(&format!(
            "the tasksync daemon (pid {pid}) is using {}: it syncs on its own schedule",
            mirror.display()
        )),
        "{}",
        refused.stderr
    );
    let started = std::time::Instant::now();
    let waited = work.run(&["sync", "--wait-timeout", "1"]);
    assert_eq!(waited.code, 1, "{waited:#?}");
    assert!(
        waited.stderr.contains(&format!(
            "waiting for the tasksync daemon (pid {pid}) to finish with"
        )),
        "{}",
        waited.stderr
    );
    assert!(
        waited.stderr.contains("gave up after waiting 1s"),
        "{}",
        waited.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn the_sync_report_counts_every_request_it_made() {
    let simulator = SimulatorProcess::start("127.0.0.1:0", Some(TOKEN), &["--tasks", "30"]);
    let work = Workdir::new(&simulator, "2026-03-11");
    let report = work.run(&["sync", "--json"]).ok().json();
    let stats: Value = tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::get(format!("{}/_simulator/stats", simulator.base_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(
        report["requests_total"], stats["requests"],
        "{report}\n{stats}"
    );
    assert!(report["requests"].as_u64().unwrap() < report["requests_total"].as_u64().unwrap());
}
