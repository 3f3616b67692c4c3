//! An operator's day with the daemon (the real binary, the simulator over HTTP, a real SMTP
//! server over TCP, a real mirror): what it says at its start and at every firing, a dead mail
//! server seen by `status --check` within one outbox interval, and a configuration file broken
//! after SIGHUP seen by the monitor instead of blinding it.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::daemon::{hang_up, start, stopped, until, write_config};
use common::smtp::SmtpServer;
use serde_json::json;
use tasksync::simulator::{Simulator, SimulatorOptions};

/// The README's rule, mailing too.
const URGENT: &str = r#"
[mail]
from = "tasksync <tasksync@example.com>"

[[rules]]
name = "urgent-starts-work"
when = { property = "Priority", changed_to = "Urgent" }
actions = [
  { set = { Status = "In progress" } },
  { mail = { to = ["team@example.com"], subject = "Urgent: {{ task.title }}" } },
]
"#;

/// Sets a task's priority in Notion as a person, and waits until the mirror has it (so that
/// each step is a change of its own, not folded into the next between two syncs).
async fn set_priority(dir: &std::path::Path, simulator: &Simulator, page: &str, name: &str) {
    let body = json!({ "properties": { "Priority": { "select": { "name": name } } } });
    common::edit_as_person(simulator, page, &body).await;
    let sql = format!(
        "SELECT count(*) FROM tasks WHERE id = '{page}' AND json_extract(properties_json, '$.Priority.text') = '{name}'"
    );
    until(dir, &sql, 1, Duration::from_secs(20)).await;
}

/// Makes a task urgent (from Low): the rule's transition.
async fn make_urgent(dir: &std::path::Path, simulator: &Simulator, page: &str) {
    set_priority(dir, simulator, page, "Low").await;
    set_priority(dir, simulator, page, "Urgent").await;
}

/// A simulator of 5 tasks and the daemon (sync every second, the rule above) with `env`, its
/// configuration passed through `edit`, once it has mirrored them.
async fn running(
    env: &[(&str, String)],
    edit: impl FnOnce(String) -> String,
) -> (Simulator, tempfile::TempDir, tokio::process::Child) {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 5,
        ..SimulatorOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &simulator, "1s", URGENT);
    let path = dir.path().join("tasksync.toml");
    std::fs::write(&path, edit(std::fs::read_to_string(&path).unwrap())).unwrap();
    let daemon = start(dir.path(), &simulator, env);
    let all = "SELECT count(*) FROM tasks";
    until(dir.path(), all, 5, Duration::from_secs(20)).await;
    (simulator, dir, daemon)
}

/// In a terminal, at the default level: one start line saying what runs, one line per firing
/// naming rule and task, one line per action's outcome; no Rust `Debug` shapes, no idle lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_says_what_it_runs_and_every_firing() {
    let (simulator, dir, daemon) = running(&[], |config| config).await;
    let page = simulator.page_ids()[0].clone();
    make_urgent(dir.path(), &simulator, &page).await;
    let done = "SELECT count(*) FROM actions WHERE status = 'done'";
    until(dir.path(), done, 1, Duration::from_secs(20)).await;
    // Two idle ticks more.
    let syncs = common::daemon::count(
        dir.path(),
        "SELECT count(*) FROM job_runs WHERE job = 'sync'",
    );
    let later = format!(
        "SELECT count(*) >= {} FROM job_runs WHERE job = 'sync' AND outcome = 'ok'",
        syncs + 2
    );
    until(dir.path(), &later, 1, Duration::from_secs(20)).await;
    let log = stopped(daemon).await;
    let line = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with «{needle}»:\n{log}"))
            .to_string()
    };
    let start = line("tasksync daemon started:");
    assert!(
        start.contains("INFO")
            && start.contains("source \"Tasks\" with 1 rule(s)")
            && start.contains("sync every 1s")
            && start.contains("outbox every 1h")
            && start.contains("mail waits in the outbox (no SMTP_URL)"),
        "{start}"
    );
    let title = common::sql_text(
        &dir.path().join("mirror.db"),
        &format!("SELECT title FROM tasks WHERE id = '{page}'"),
    );
    let firing = line("rule urgent-starts-work fired on TASK-");
    assert!(
        firing.contains(&format!("\"{title}\"")) && firing.contains("set Status"),
        "{firing}"
    );
    let action = line("rule urgent-starts-work on TASK-");
    assert!(action.contains("done: set Status"), "{action}");
    assert!(!log.contains("Some("), "no Debug shapes:\n{log}");
    assert!(!log.contains("job done"), "idle ticks are silent:\n{log}");
    assert_eq!(
        log.lines().filter(|l| l.contains("fired on")).count(),
        1,
        "{log}"
    );
}

/// SMTP down: the first failed attempt makes `status --check` WARNING with the server's error,
/// within one outbox interval; `mail retry --all` once the server is back sends at once
/// (here: at the daemon's next outbox run, not after the backoff).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_mail_server_is_seen_at_once_and_retried_by_hand() {
    let port = SmtpServer::free_port();
    let smtp_url = format!("smtp://127.0.0.1:{port}?tls=none");
    let (simulator, dir, daemon) = running(&[("SMTP_URL", smtp_url)], |config| {
        config.replace("outbox = \"1h\"", "outbox = \"1s\"")
    })
    .await;
    let page = simulator.page_ids()[1].clone();
    make_urgent(dir.path(), &simulator, &page).await;
    let tried = "SELECT count(*) FROM mail_outbox WHERE attempts >= 1 AND status = 'queued'";
    until(dir.path(), tried, 1, Duration::from_secs(20)).await;
    let (code, line) = common::status_check(dir.path(), simulator.token());
    assert_eq!(code, 1, "{line}");
    assert!(
        line.starts_with("TASKSYNC WARNING")
            && line.contains("mail delivery failing (1 mail(s) retrying)")
            && line.contains(&format!("127.0.0.1:{port}")),
        "{line}"
    );
    let status = common::run_with_token(dir.path(), &["status"], simulator.token());
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("delivery failing: #1") && text.contains("mail retry --all"),
        "{text}"
    );

    // Back: `mail retry --all` makes it due now; the daemon sends it at its next outbox run,
    // long before the backoff (a minute) is over.
    let out = dir.path().join("mail.jsonl");
    let server = SmtpServer::plain(port, &out);
    let retried =
        common::run_with_token(dir.path(), &["mail", "retry", "--all"], simulator.token());
    let said = String::from_utf8_lossy(&retried.stdout);
    assert!(retried.status.success(), "{said}");
    assert!(said.contains("1 mail(s) due now"), "{said}");
    let sent = "SELECT count(*) FROM mail_outbox WHERE status = 'sent'";
    let waited = until(dir.path(), sent, 1, Duration::from_secs(20)).await;
    assert!(waited < Duration::from_secs(30), "{waited:?}");
    assert_eq!(server.mails().len(), 1);
    let (code, line) = common::status_check(dir.path(), simulator.token());
    assert_eq!(code, 0, "{line}");
    stopped(daemon).await;
}

/// The configuration file broken (not even TOML) after SIGHUP: the daemon keeps the last good
/// one; `status` and `status --check` still answer from the mirror, WARNING, naming file and
/// line, never exit 78.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_file_after_sighup_is_reported_by_the_monitor() {
    let (simulator, dir, daemon) = running(&[], |config| config).await;
    let path = dir.path().join("tasksync.toml");
    let good = std::fs::read_to_string(&path).unwrap();
    let broken = good.replace(
        "name = \"urgent-starts-work\"",
        "name = \"urgent-starts-work",
    );
    let line_number = broken
        .lines()
        .position(|l| l.contains("name = \"urgent-starts-work"))
        .unwrap()
        + 1;
    std::fs::write(&path, &broken).unwrap();
    hang_up(&daemon);
    let refused = "SELECT count(*) FROM job_runs WHERE job = 'reload' AND outcome = 'failed'";
    until(dir.path(), refused, 1, Duration::from_secs(20)).await;

    let (code, line) = common::status_check(dir.path(), simulator.token());
    assert_eq!(code, 1, "{line}");
    assert!(
        line.starts_with("TASKSYNC WARNING - the configuration file is broken (")
            && line.contains(&format!("tasksync.toml:{line_number}:"))
            && line.contains("last good sync"),
        "{line}"
    );
    let status = common::run_with_token(dir.path(), &["status"], simulator.token());
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{text}");
    assert!(text.contains("Configuration: BROKEN: "), "{text}");
    let json = common::run_with_token(dir.path(), &["status", "--json"], simulator.token());
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(
        json["configuration_error"]
            .as_str()
            .unwrap()
            .contains("tasksync.toml:"),
        "{json}"
    );

    // The rules in force keep firing.
    let page = simulator.page_ids()[2].clone();
    make_urgent(dir.path(), &simulator, &page).await;
    let fired = "SELECT count(*) FROM rule_firings WHERE rule = 'urgent-starts-work'";
    until(dir.path(), fired, 1, Duration::from_secs(20)).await;
    stopped(daemon).await;
}
