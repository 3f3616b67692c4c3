//! Several data sources in one configuration (`[[sources]]`): one mirror, one pacer, each
//! source's rules on its own tasks; the real binary against the simulator over HTTP.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use serde_json::Value;
use tasksync::model::PropertyWrite;
use tasksync::simulator::{Simulator, SimulatorOptions};

/// Two sources of the simulator's database (Tasks and Archive), at Notion's 3 requests/s: the
/// Tasks rules in a file of their own, the Archive rule in the configuration with `source`.
fn write_config(dir: &Path, simulator: &Simulator) {
    let config = format!(
        r#"[notion]
base_url = "{base}"
requests_per_second = 3

[store]
path = "mirror.db"

[[sources]]
name = "tasks"
database = "{database}"
data_source = "Tasks"
rules = ["rules/tasks.toml"]

[[sources]]
name = "archive"
database = "{database}"
data_source = "Archive"

[[rules]]
name = "archive-urgent"
source = "archive"
when = {{ property = "Priority", changed_to = "Urgent" }}
actions = [{{ append = "Urgent in the archive." }}]
"#,
        base = simulator.base_url(),
        database = simulator.database_id(),
    );
    std::fs::write(dir.join("tasksync.toml"), config).unwrap();
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(
        dir.join("rules/tasks.toml"),
        r#"[[rules]]
name = "tasks-urgent"
when = { property = "Priority", changed_to = "Urgent" }
actions = [{ set = { Status = "In progress" } }]
"#,
    )
    .unwrap();
}

fn sync(dir: &Path, simulator: &Simulator, extra: &[&str]) -> Value {
    // Each run is a process of its own, with its own pacer: it starts as another program
    // sharing the token would, so the previous run's last requests must first leave the
    // simulator's window (its burst of 3 at 3/s). Within a run, one pacer serves both sources.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let output = common::tasksync(dir)
        .args(["sync", "--json"])
        .args(extra)
        .env("NOTION_TOKEN", simulator.token())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn rows(dir: &Path, sql: &str) -> Vec<String> {
    let connection = rusqlite::Connection::open(dir.join("mirror.db")).unwrap();
    let mut statement = connection.prepare(sql).unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sync_mirrors_two_sources_with_their_own_rules_through_one_pacer() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 40,
        data_sources: 2,
        rate_limit: Some(3.0),
        ..SimulatorOptions::default()
    })
    .await;
    let sources = simulator.data_sources();
    let (tasks_id, archive_id) = (sources[0].0.clone(), sources[1].0.clone());
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &simulator);

    // The first sync is a full one of each source, in one process, one mirror.
    let first = sync(dir.path(), &simulator, &[]);
    let reports = first["sources"].as_array().unwrap();
    assert_eq!(reports.len(), 2, "{first}");
    assert_eq!(reports[0]["source"], "tasks");
    assert_eq!(reports[0]["new"], 40);
    assert_eq!(reports[1]["source"], "archive");
    assert_eq!(reports[1]["new"], 20);
    let stats = simulator.stats();
    assert_eq!(stats.rate_limited, 0, "one pacer for both: {stats:?}");
    assert_eq!(stats.count("GET /v1/users/me"), 1, "{stats:?}");
    let count = |sql: &str| common::sql_number(&dir.path().join("mirror.db"), sql).unwrap();
    assert_eq!(
        count(&format!(
            "SELECT count(*) FROM tasks WHERE data_source_id = '{tasks_id}'"
        )),
        40
    );
    assert_eq!(
        count(&format!(
            "SELECT count(*) FROM tasks WHERE data_source_id = '{archive_id}'"
        )),
        20
    );

    // An urgent task in each source: each source's rule fires on its own task only.
    let in_tasks = rows(
        dir.path(),
        &format!("SELECT id FROM tasks WHERE data_source_id = '{tasks_id}' AND json_extract(properties_json, '$.Priority.text') IS NOT 'Urgent' AND status IS NOT 'In progress' LIMIT 1"),
    )
    .remove(0);
    let in_archive = rows(
        dir.path(),
        &format!("SELECT id FROM tasks WHERE data_source_id = '{archive_id}' AND json_extract(properties_json, '$.Priority.text') IS NOT 'Urgent' LIMIT 1"),
    )
    .remove(0);
    // Edited inside the simulator, as a person in Notion would: the test's own requests would
    // spend the integration's rate budget the sync is measured against.
    let person = simulator.user_ids()[3].clone();
    let urgent = [(
        "Priority".to_string(),
        PropertyWrite::Select(Some("Urgent".into())),
    )];
    simulator
        .edit_as(&person, &in_tasks, &urgent, None)
        .unwrap();
    simulator
        .edit_as(&person, &in_archive, &urgent, None)
        .unwrap();
    simulator.reset_stats();
    let second = sync(dir.path(), &simulator, &[]);
    let stats = simulator.stats();
    let fired = rows(
        dir.path(),
        "SELECT rule || ' ' || task_id FROM rule_firings ORDER BY rule",
    );
    assert_eq!(
        fired,
        vec![
            format!("archive-urgent {in_archive}"),
            format!("tasks-urgent {in_tasks}")
        ],
        "{second}"
    );
    assert_eq!(second["actions"]["done"], 2, "{second}");
    // The floor for two sources of one database: the database once, each data source, one
    // query each (the bot's id is in the mirror since the first sync); then the two actions:
    // the status write, and the append (the page's last block as its anchor, then the
    // append). Through one pacer at 3/s: no 429.
    let floor = |stats: &tasksync::simulator::Stats| {
        (
            stats.count("GET /v1/databases/{database_id}"),
            stats.count("GET /v1/data_sources/{data_source_id}"),
            stats.count(common::QUERY),
            stats.count("GET /v1/users/me"),
            stats.rate_limited,
        )
    };
    assert_eq!(floor(&stats), (1, 2, 2, 0, 0), "{stats:?}");
    assert_eq!(stats.requests, 5 + 1 + 2, "{stats:?}");
    assert_eq!(second["requests_total"].as_u64().unwrap(), stats.requests);
    simulator.reset_stats();
    let quiet = sync(dir.path(), &simulator, &[]);
    let stats = simulator.stats();
    assert_eq!(floor(&stats), (1, 2, 2, 0, 0), "{stats:?}");
    assert_eq!(stats.requests, 5, "{stats:?}");
    let each: Vec<u64> = quiet["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["requests"].as_u64().unwrap())
        .collect();
    assert_eq!(each, [1, 1], "one query per source: {quiet}");
    // One source alone: its database, its data source, its query.
    simulator.reset_stats();
    let alone = sync(dir.path(), &simulator, &["--source", "archive"]);
    assert_eq!(alone["sources"].as_array().unwrap().len(), 1, "{alone}");
    assert_eq!(alone["sources"][0]["source"], "archive");
    assert_eq!(floor(&simulator.stats()), (1, 1, 1, 0, 0));

    // Per-source records: `status --check` judges each source.
    let status = common::tasksync(dir.path())
        .args(["status", "--json"])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let synced: Vec<(String, String)> = status["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|job| job["job"] == "sync")
        .map(|job| {
            (
                job["source"].as_str().unwrap().to_string(),
                job["last_outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        synced,
        vec![
            ("tasks".to_string(), "ok".to_string()),
            ("archive".to_string(), "ok".to_string())
        ]
    );
    assert_eq!(status["health"]["level"], "OK", "{status}");

    // `tasks show` by unique ID without --source: the one source that has the task answers;
    // an ID both sources have asks which.
    let labels = |source: &str| -> std::collections::BTreeSet<String> {
        rows(
            dir.path(),
            &format!(
                "SELECT json_extract(t.properties_json, '$.ID.text') FROM tasks t
                 JOIN sync_state s ON s.data_source_id = t.data_source_id
                 WHERE s.name = '{source}' AND t.deleted_at IS NULL"
            ),
        )
        .into_iter()
        .collect()
    };
    let (tasks, archive) = (labels("Tasks"), labels("Archive"));
    let show = |label: &str| {
        std::thread::sleep(std::time::Duration::from_secs(1));
        common::tasksync(dir.path())
            .args(["tasks", "show", label])
            .env("NOTION_TOKEN", simulator.token())
            .output()
            .unwrap()
    };
    let only = archive
        .difference(&tasks)
        .next()
        .or_else(|| tasks.difference(&archive).next())
        .expect("an ID one source alone has");
    let shown = show(only);
    assert!(
        shown.status.success(),
        "{only}: {}",
        String::from_utf8_lossy(&shown.stderr)
    );
    if let Some(both) = tasks.intersection(&archive).next() {
        let asked = show(both);
        let said = String::from_utf8_lossy(&asked.stderr);
        assert_eq!(asked.status.code(), Some(78), "{said}");
        assert!(
            said.contains(
                "is a task of several sources (tasks, archive): say which with --source NAME"
            ),
            "{said}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_fails_is_reported_and_the_others_still_sync() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 10,
        data_sources: 2,
        ..SimulatorOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &simulator);
    let config = std::fs::read_to_string(dir.path().join("tasksync.toml"))
        .unwrap()
        .replace("data_source = \"Archive\"", "data_source = \"Gone\"");
    std::fs::write(dir.path().join("tasksync.toml"), config).unwrap();
    let output = common::tasksync(dir.path())
        .args(["sync"])
        .env("NOTION_TOKEN", simulator.token())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains("1 of 2 sources did not sync: source archive:"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Source tasks:"),
        "the other source synced"
    );
    assert_eq!(
        common::sql_number(&dir.path().join("mirror.db"), "SELECT count(*) FROM tasks"),
        Some(10)
    );
    let check = common::tasksync(dir.path())
        .args(["status", "--check"])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(2), "{line}");
    assert!(
        line.contains("archive: no successful sync yet") && line.contains("tasks: last good sync"),
        "{line}"
    );
    assert!(line.contains("sync of archive failed"), "{line}");
}

#[test]
fn rules_must_say_their_source_when_there_are_several() {
    let dir = tempfile::tempdir().unwrap();
    let database = "0123456789abcdef0123456789abcdef";
    std::fs::write(
        dir.path().join("tasksync.toml"),
        format!(
            r#"[[sources]]
name = "tasks"
database = "{database}"

[[sources]]
name = "bugs"
database = "{database}"
data_source = "Bugs"

[[rules]]
name = "no-source"
when = {{ property = "Priority", changed_to = "Urgent" }}
actions = [{{ set = {{ Status = "In progress" }} }}]

[[rules]]
name = "wrong-source"
source = "projects"
when = {{ property = "Priority", changed_to = "Urgent" }}
actions = [{{ set = {{ Status = "In progress" }} }}]
"#
        ),
    )
    .unwrap();
    let output = common::tasksync(dir.path())
        .args(["status"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains(
            "tasksync.toml:11:8: rule `no-source`: the configuration has 2 sources (tasks, bugs)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "tasksync.toml:17:10: there is no source `projects`: the sources are tasks, bugs"
        ),
        "{stderr}"
    );
}
