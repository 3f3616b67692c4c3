//! Health is recorded, not inferred: every attempt of a sync is a row with its outcome, and
//! `status` / `status --check` (a monitoring plugin's exit codes) report failures as they are.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use tasksync::simulator::{Simulator, SimulatorOptions};

async fn start(address: std::net::SocketAddr) -> Simulator {
    Simulator::start(
        SimulatorOptions {
            tasks: 5,
            ..SimulatorOptions::default()
        },
        address,
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sync_is_recorded_and_the_check_turns_critical_then_ok_again() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 5,
        ..SimulatorOptions::default()
    })
    .await;
    let address: std::net::SocketAddr = simulator
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let token = simulator.token().to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[notion]\ndatabase = \"{}\"\nbase_url = \"{}\"\nrequests_per_second = 1000\n[store]\npath = \"mirror.db\"\n[schedule]\nsync = \"1s\"\n[health]\nwarning_intervals = 1\ncritical_intervals = 2\n",
        simulator.database_id(),
        simulator.base_url()
    );
    std::fs::write(dir.path().join("tasksync.toml"), config).unwrap();
    let work = dir.path().to_path_buf();
    let blocking = |args: Vec<&'static str>| {
        let (work, token) = (work.clone(), token.clone());
        tokio::task::spawn_blocking(move || common::run_with_token(&work, &args, &token))
    };
    assert!(blocking(vec!["sync"]).await.unwrap().status.success());
    let (code, line) = tokio::task::block_in_place(|| common::status_check(&work, &token));
    assert_eq!(code, 0, "{line}");
    assert!(line.starts_with("TASKSYNC OK - last good sync"), "{line}");

    // Notion goes away: the failed attempt is recorded with its error, before any request got
    // through (discovery), and the check says so.
    drop(simulator);
    let failed = blocking(vec!["--timeout", "1", "sync"]).await.unwrap();
    assert_eq!(failed.status.code(), Some(1));
    let status = tokio::task::block_in_place(|| common::run_with_token(&work, &["status"], &token));
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("Job sync: last attempt"), "{text}");
    assert!(text.contains("failed: could not reach Notion at"), "{text}");
    let (code, line) = tokio::task::block_in_place(|| common::status_check(&work, &token));
    assert!(code >= 1, "{line}");
    assert!(
        line.contains("sync failed: could not reach Notion"),
        "{line}"
    );
    // Two sync intervals later without a good sync: CRITICAL.
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let (code, line) = tokio::task::block_in_place(|| common::status_check(&work, &token));
    assert_eq!(code, 2, "{line}");
    assert!(line.starts_with("TASKSYNC CRITICAL - "), "{line}");
    let json = tokio::task::block_in_place(|| {
        common::run_with_token(&work, &["status", "--json"], &token)
    });
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["health"]["level"], "CRITICAL");
    assert_eq!(json["jobs"][0]["job"], "sync");
    assert_eq!(json["jobs"][0]["last_outcome"], "failed");
    assert_eq!(json["actions"]["failed"], 0, "every counter is present");
    assert_eq!(json["mail"]["failed"], 0);
    assert_eq!(json["suspended_rules"], serde_json::json!([]));
    assert!(json["sources"][0].get("schema_json").is_none());

    // Notion is back: the next sync is recorded ok, and the check is OK again.
    let _back = start(address).await;
    assert!(blocking(vec!["sync"]).await.unwrap().status.success());
    let (code, line) = tokio::task::block_in_place(|| common::status_check(&work, &token));
    assert_eq!(code, 0, "{line}");
}

#[test]
fn the_check_without_a_mirror_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tasksync.toml"),
        "[store]\npath = \"none.db\"\n",
    )
    .unwrap();
    let (code, line) = common::status_check(dir.path(), "unused");
    assert_eq!(code, 3, "{line}");
    assert!(
        line.starts_with("TASKSYNC UNKNOWN - there is no mirror at"),
        "{line}"
    );
}

/// Polls `status --check` until it exits `code`; how long that took.
async fn until_check(dir: &Path, code: i32, limit: std::time::Duration) -> std::time::Duration {
    let started = std::time::Instant::now();
    loop {
        let (now, line) = tokio::task::block_in_place(|| common::status_check(dir, "unused"));
        if now == code {
            return started.elapsed();
        }
        if started.elapsed() >= limit {
            let log = std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            panic!(
                "`status --check` did not exit {code} within {limit:?}; it says: {line}\nthe daemon's last lines:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The simulator stopped under a running daemon: within two sync intervals `status` shows the
/// failure with its error and `status --check` exits 2 (the daemon's patient retries are shown
/// while they wait); restarted, both return to OK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_that_loses_notion_shows_it_at_once_and_recovers() {
    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut notion = common::SimulatorProcess::start(&listen, None, &["--tasks", "5"]);
    let (base_url, database) = (notion.base_url.clone(), notion.database.clone());
    let dir = tempfile::tempdir().unwrap();
    let interval = std::time::Duration::from_secs(4);
    let config = format!(
        "[notion]\ndatabase = \"{database}\"\nbase_url = \"{base_url}\"\nrequests_per_second = 100\n[store]\npath = \"mirror.db\"\n\
         [schedule]\nsync = \"4s\"\n[health]\nwarning_intervals = 1\ncritical_intervals = 1\n"
    );
    std::fs::write(dir.path().join("tasksync.toml"), config).unwrap();
    let log = std::fs::File::create(dir.path().join("daemon.log")).unwrap();
    let mut daemon = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("tasksync"))
        .args(["--log-level", "info", "daemon"])
        .current_dir(dir.path())
        .env("XDG_RUNTIME_DIR", dir.path().join("run"))
        .env("TASKSYNC_LOCK_SCOPE", dir.path().join("run"))
        .env("NOTION_TOKEN", "ntn_simulator_token")
        .env_remove("RUST_LOG")
        .env_remove("NOTIFY_SOCKET")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    until_check(dir.path(), 0, std::time::Duration::from_secs(30)).await;

    notion.stop();
    // Within two intervals (and some seconds for the processes started here on a loaded
    // machine), the check is CRITICAL and `status` shows the error the daemon retries after.
    let limit = 2 * interval + std::time::Duration::from_secs(5);
    let stopped = std::time::Instant::now();
    loop {
        let (code, line) =
            tokio::task::block_in_place(|| common::status_check(dir.path(), "unused"));
        let status = tokio::task::block_in_place(|| {
            common::run_with_token(dir.path(), &["status"], "unused")
        });
        let text = String::from_utf8_lossy(&status.stdout).into_owned();
        // `status --check` and `status` are two processes sampled one after the other: the
        // check may be CRITICAL for the age of the last good sync a moment before the daemon
        // notes the error, so both must show the error in the same round.
        if code == 2
            && line.contains("could not reach Notion")
            && text.contains("could not reach Notion")
        {
            assert!(text.contains("Health: CRITICAL"), "{text}");
            break;
        }
        assert!(
            stopped.elapsed() < limit,
            "not shown within {limit:?}: check {code} {line}\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let mut notion = common::SimulatorProcess::start(&listen, None, &["--tasks", "5"]);
    // The daemon's next retry (its backoff is at most 30 s) or its next tick gets through.
    until_check(dir.path(), 0, std::time::Duration::from_secs(90)).await;
    let status =
        tokio::task::block_in_place(|| common::run_with_token(dir.path(), &["status"], "unused"));
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("Health: OK"), "{text}");
    daemon.start_kill().unwrap();
    daemon.wait().await.unwrap();
    notion.stop();
}
