//! Notion's webhooks end to end: the simulator delivers signed events for edits to the real
//! daemon's listener, which syncs the source they concern at once (debounce included), with a
//! poll schedule of an hour. Two sources, one mirror.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tasksync::model::PropertyWrite;
use tasksync::simulator::{Simulator, SimulatorOptions, WebhookTarget};
use tokio::process::{Child, Command};

const TOKEN: &str = "secret_end_to_end";

fn write_config(dir: &Path, simulator: &Simulator, port: u16) {
    let config = format!(
        r#"[notion]
base_url = "{base}"
requests_per_second = 50

[store]
path = "mirror.db"

[schedule]
sync = "1h"
reconcile = "1h"
outbox = "1h"
time_rules = "1h"
full = "1d"

[webhook]
listen = "127.0.0.1:{port}"

[[sources]]
name = "tasks"
database = "{database}"
data_source = "Tasks"

[[sources]]
name = "archive"
database = "{database}"
data_source = "Archive"

[[rules]]
name = "tasks-urgent"
source = "tasks"
when = {{ property = "Priority", changed_to = "Urgent" }}
actions = [{{ set = {{ Status = "In progress" }} }}]
"#,
        base = simulator.base_url(),
        database = simulator.database_id(),
    );
    std::fs::write(dir.join("tasksync.toml"), config).unwrap();
}

fn start(dir: &Path, simulator: &Simulator) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("tasksync"))
        .args(["--log-level", "info", "daemon"])
        .current_dir(dir)
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env("TASKSYNC_LOCK_SCOPE", dir.join("run"))
        .env("NOTION_TOKEN", simulator.token())
        .env_remove("NOTION_WEBHOOK_TOKEN")
        .env_remove("RUST_LOG")
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the daemon starts")
}

fn count(dir: &Path, sql: &str) -> i64 {
    common::sql_number(&dir.join("mirror.db"), sql).unwrap_or(-1)
}

/// Waits (polling the mirror) until `sql` returns `expected`; how long it took.
async fn until(dir: &Path, sql: &str, expected: i64, limit: Duration) -> Duration {
    common::until_sql(&dir.join("mirror.db"), sql, expected, limit).await
}

/// A Notion event for a page of a data source, signed with `token`.
fn event(id: &str, page: &str, data_source: &str, token: &str) -> (String, String) {
    let body = format!(
        r#"{{"id":"{id}","timestamp":"2026-12-03T10:00:00.000Z","workspace_id":"w","subscription_id":"s","integration_id":"i","type":"page.properties_updated","authors":[{{"id":"u","type":"person"}}],"attempt_number":1,"entity":{{"id":"{page}","type":"page"}},"data":{{"parent":{{"id":"d","type":"database","data_source_id":"{data_source}"}}}}}}"#
    );
    let signature = tasksync::notion::events::signature(token, body.as_bytes());
    (body, signature)
}

const SYNCS: &str = "SELECT count(*) FROM job_runs WHERE job = 'sync' AND outcome = 'ok'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_is_mirrored_and_acted_on_within_three_seconds_and_forged_or_replayed_events_do_nothing()
 {
    let port = common::free_port();
    let url = format!("http://127.0.0.1:{port}/notion/webhook");
    let simulator = common::simulator(SimulatorOptions {
        tasks: 30,
        data_sources: 2,
        webhook: Some(WebhookTarget {
            url: url.clone(),
            token: TOKEN.into(),
        }),
        ..SimulatorOptions::default()
    })
    .await;
    let sources = simulator.data_sources();
    let (tasks_id, archive_id) = (sources[0].0.clone(), sources[1].0.clone());
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &simulator, port);
    // The operator opens the verification window (and waits for the token), then the daemon
    // starts; Notion's verification request arrives with its first events.
    let verify = common::tasksync(dir.path())
        .args(["webhook", "verify", "--for", "1m"])
        .env_remove("NOTION_WEBHOOK_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut daemon = start(dir.path(), &simulator);
    // The first sync of each source (the start-up sync); then the poll waits an hour.
    until(dir.path(), SYNCS, 2, Duration::from_secs(30)).await;

    // A person makes a task urgent: Notion's event reaches the daemon (the verification
    // request first, whose token it keeps), which syncs that source and runs the rule.
    let task: String = {
        let connection = rusqlite::Connection::open(dir.path().join("mirror.db")).unwrap();
        connection
            .query_row(
                &format!("SELECT id FROM tasks WHERE data_source_id = '{tasks_id}' AND status IS NOT 'In progress' AND json_extract(properties_json, '$.Priority.text') IS NOT 'Urgent' LIMIT 1"),
                [],
                |row| row.get(0),
            )
            .unwrap()
    };
    let person = simulator.user_ids()[3].clone();
    let edited = Instant::now();
    simulator
        .edit_as(
            &person,
            &task,
            &[(
                "Priority".to_string(),
                PropertyWrite::Select(Some("Urgent".into())),
            )],
            None,
        )
        .unwrap();
    until(
        dir.path(),
        &format!(
            "SELECT count(*) FROM actions a JOIN rule_firings f ON f.id = a.firing_id WHERE f.rule = 'tasks-urgent' AND a.task_id = '{task}' AND a.status = 'done'"
        ),
        1,
        Duration::from_secs(10),
    )
    .await;
    let latency = edited.elapsed();
    eprintln!("edit → mirrored and acted on: {latency:?} (debounce 2 s)");
    assert!(
        latency < Duration::from_secs(3),
        "mirrored and acted on in {latency:?}"
    );
    assert_eq!(
        count(
            dir.path(),
            &format!(
                "SELECT count(*) FROM tasks WHERE id = '{task}' AND json_extract(properties_json, '$.Priority.text') = 'Urgent'"
            )
        ),
        1
    );
    let kept = std::fs::read_to_string(dir.path().join("mirror.db.notion-webhook-token")).unwrap();
    assert_eq!(kept.trim(), TOKEN);
    let verified = tokio::task::spawn_blocking(move || verify.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(verified.status.success(), "{verified:?}");
    assert_eq!(String::from_utf8_lossy(&verified.stdout).trim(), TOKEN);
    let printed = common::tasksync(dir.path())
        .args(["webhook", "token"])
        .env_remove("NOTION_WEBHOOK_TOKEN")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), TOKEN);
    // The daemon's own write comes back as an event too, and costs one more sync at most;
    // let it settle before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let http = reqwest::Client::new();
    let post = |body: String, signature: String| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            http.post(&url)
                .header("X-Notion-Signature", signature)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };

    // A forged event (another key): 401, and no sync.
    let syncs = count(dir.path(), SYNCS);
    let (body, forged) = event("forged-1", &task, &archive_id, "not_the_token");
    assert_eq!(post(body, forged).await, 401);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        count(dir.path(), SYNCS),
        syncs,
        "a forged event syncs nothing"
    );

    // A signed event for the archive: one sync of that source; the same id again: nothing.
    let archive_syncs = "SELECT count(*) FROM job_runs WHERE job = 'sync' AND source = 'archive' AND outcome = 'ok'";
    let before = count(dir.path(), archive_syncs);
    let (body, signature) = event("replayed-1", &task, &archive_id, TOKEN);
    assert_eq!(post(body.clone(), signature.clone()).await, 200);
    until(
        dir.path(),
        archive_syncs,
        before + 1,
        Duration::from_secs(5),
    )
    .await;
    let syncs = count(dir.path(), SYNCS);
    assert_eq!(post(body, signature).await, 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        count(dir.path(), SYNCS),
        syncs,
        "a replayed event syncs nothing"
    );

    // `status` says what the endpoint saw.
    let status = common::tasksync(dir.path())
        .args(["status"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("signed events that started a sync"), "{text}");
    assert!(
        text.contains("requests refused (bad or missing signature)"),
        "{text}"
    );
    assert!(
        text.contains("events seen before (nothing done again)"),
        "{text}"
    );
    let _ = tasks_id;
    daemon.kill().await.unwrap();
}
