//! Health is recorded, not inferred: every attempt of a sync is a row with its outcome, and
//! `status` / `status --check` (a monitoring plugin's exit codes) report failures as they are.

mod common;

use std::path::Path;
use std::process::Output;

use tasksync::simulator::{Simulator, SimulatorOptions};

fn run(dir: &Path, args: &[&str], token: &str) -> Output {
    common::tasksync(dir)
        .args(args)
        .env("NOTION_TOKEN", token)
        .output()
        .unwrap()
}

fn check(dir: &Path, token: &str) -> (i32, String) {
    let output = run(dir, &["status", "--check"], token);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
    )
}

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
        tokio::task::spawn_blocking(move || run(&work, &args, &token))
    };
    assert!(blocking(vec!["sync"]).await.unwrap().status.success());
    let (code, line) = tokio::task::block_in_place(|| check(&work, &token));
    assert_eq!(code, 0, "{line}");
    assert!(line.starts_with("TASKSYNC OK - last good sync"), "{line}");

    // Notion goes away: the failed attempt is recorded with its error, before any request got
    // through (discovery), and the check says so.
    drop(simulator);
    let failed = blocking(vec!["--timeout", "1", "sync"]).await.unwrap();
    assert_eq!(failed.status.code(), Some(1));
    let status = tokio::task::block_in_place(|| run(&work, &["status"], &token));
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("Job sync: last attempt"), "{text}");
    assert!(text.contains("failed: could not reach Notion at"), "{text}");
    let (code, line) = tokio::task::block_in_place(|| check(&work, &token));
    assert!(code >= 1, "{line}");
    assert!(
        line.contains("sync failed: could not reach Notion"),
        "{line}"
    );
    // Two sync intervals later without a good sync: CRITICAL.
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let (code, line) = tokio::task::block_in_place(|| check(&work, &token));
    assert_eq!(code, 2, "{line}");
    assert!(line.starts_with("TASKSYNC CRITICAL - "), "{line}");
    let json = tokio::task::block_in_place(|| run(&work, &["status", "--json"], &token));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["health"]["level"], "CRITICAL");
    assert_eq!(json["jobs"][0]["job"], "sync");
    assert_eq!(json["jobs"][0]["last_outcome"], "failed");
    assert_eq!(json["actions"]["failed"], 0, "every counter is present");
    assert_eq!(json["mail"]["failed"], 0);
    assert!(json["sources"][0].get("schema_json").is_none());

    // Notion is back: the next sync is recorded ok, and the check is OK again.
    let _back = start(address).await;
    assert!(blocking(vec!["sync"]).await.unwrap().status.success());
    let (code, line) = tokio::task::block_in_place(|| check(&work, &token));
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
    let (code, line) = check(dir.path(), "unused");
    assert_eq!(code, 3, "{line}");
    assert!(
        line.starts_with("TASKSYNC UNKNOWN - there is no mirror at"),
        "{line}"
    );
}
