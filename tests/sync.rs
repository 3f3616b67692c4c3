//! `sync` against the simulator over HTTP with a real SQLite file: the cases of docs/semantics.md, "Sync".
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::{Value, json};
use tasksync::notion::ids::NotionId;
use tasksync::notion::{ApiVersion, NotionClient};
use tasksync::rules::RuleSet;
use tasksync::simulator::{FaultSpec, SimulatorOptions};
use tasksync::store::Store;
use tasksync::sync::{SyncOptions, SyncReport, sync};

const QUERY: &str = common::QUERY;

struct Fixture {
    base: common::Mirror,
}

extends_mirror!(Fixture);

impl Fixture {
    async fn new(options: SimulatorOptions) -> Self {
        Self {
            base: common::Mirror::new(options).await,
        }
    }

    async fn with_tasks(tasks: usize) -> Self {
        Self {
            base: common::Mirror::with_tasks(tasks).await,
        }
    }

    fn db(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    async fn sync_into(&self, name: &str, options: SyncOptions) -> anyhow::Result<SyncReport> {
        let store = Store::open(&self.db(name))?;
        sync(
            &self.client,
            Some(&store),
            &self.source,
            &RuleSet::empty(),
            &options,
        )
        .await
    }

    async fn full_sync(&self) -> SyncReport {
        self.sync_into(
            "mirror.db",
            SyncOptions {
                full: true,
                ..SyncOptions::default()
            },
        )
        .await
        .expect("the full sync succeeds")
    }

    async fn sync(&self) -> SyncReport {
        self.sync_into("mirror.db", SyncOptions::default())
            .await
            .expect("the sync succeeds")
    }

    /// Edits a task in Notion as a person would.
    async fn edit(&self, page: &str, body: Value) {
        self.edit_as_person(page, &body).await;
    }

    fn query(&self, name: &str, sql: &str) -> Vec<Vec<Value>> {
        rows(&self.db(name), sql)
    }
}

fn rows(path: &Path, sql: &str) -> Vec<Vec<Value>> {
    let connection = Connection::open(path).unwrap();
    let mut statement = connection.prepare(sql).unwrap();
    let columns = statement.column_count();
    statement
        .query_map([], |row| {
            Ok((0..columns)
                .map(|i| match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Null => Value::Null,
                    rusqlite::types::ValueRef::Integer(n) => json!(n),
                    rusqlite::types::ValueRef::Real(n) => json!(n),
                    rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                    rusqlite::types::ValueRef::Blob(_) => Value::Null,
                })
                .collect())
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn count(fixture: &Fixture, sql: &str) -> i64 {
    fixture.query("mirror.db", sql)[0][0].as_i64().unwrap()
}

/// Asserts two snapshots' rows are equal, naming the first row and field that differ.
fn assert_same_rows(left: &[Vec<Value>], right: &[Vec<Value>], what: &str) {
    assert_eq!(left.len(), right.len(), "{what}: row counts differ");
    for (l, r) in left.iter().zip(right) {
        for (field, (a, b)) in l.iter().zip(r).enumerate() {
            assert_eq!(a, b, "{what}: row {} differs in field {field}", l[0]);
        }
    }
}

/// The mirror's content, without the times of our own bookkeeping.
fn snapshot(path: &Path) -> (Vec<Vec<Value>>, Vec<Vec<Value>>) {
    let tasks = rows(
        path,
        "SELECT id, data_source_id, title, status, url, created_time, last_edited_time, created_by, last_edited_by, deleted_at IS NOT NULL, properties_json, content_hash FROM tasks ORDER BY id",
    );
    let history = rows(
        path,
        "SELECT task_id, property, property_id, old_value, new_value, old_json, new_json, edited_at, edited_by FROM task_changes ORDER BY task_id, property, new_value",
    );
    (tasks, history)
}

#[tokio::test]
async fn a_first_sync_mirrors_every_task_with_the_minimum_of_queries() {
    let fixture = Fixture::with_tasks(2_500).await;
    fixture.simulator.reset_stats();
    let report = fixture.sync().await;
    assert_eq!(
        (
            report.kind.as_str(),
            report.new,
            report.changed,
            report.deleted
        ),
        ("full", 2_500, 0, 0)
    );
    let stats = fixture.simulator.stats();
    assert_eq!(stats.count(QUERY), 25, "⌈2500/100⌉ queries");
    assert_eq!(stats.writes, 0);
    let mirrored: Vec<String> = fixture
        .query(
            "mirror.db",
            "SELECT id FROM tasks ORDER BY created_time, rowid",
        )
        .into_iter()
        .map(|r| r[0].as_str().unwrap().to_string())
        .collect();
    let mut expected = fixture.simulator.page_ids();
    let mut sorted_mirror = mirrored.clone();
    expected.sort();
    sorted_mirror.sort();
    assert_eq!(sorted_mirror, expected, "every task, once");
    // Values cut at 25 references were completed: task 6 has 30 assignees.
    let assignees = count(
        &fixture,
        "SELECT json_array_length(json_extract(properties_json, '$.Assignee.value')) FROM tasks t WHERE json_extract(properties_json, '$.ID.value.number') = 6",
    );
    assert_eq!(assignees, 30);
    assert_eq!(
        count(
            &fixture,
            "SELECT count(*) FROM task_changes WHERE property = '(created)'"
        ),
        2_500
    );
    let cursor = fixture.query("mirror.db", "SELECT cursor FROM sync_state")[0][0]
        .as_str()
        .unwrap()
        .to_string();
    let limit = chrono::Utc::now() - chrono::Duration::minutes(1);
    assert!(
        chrono::DateTime::parse_from_rfc3339(&cursor).unwrap() <= limit,
        "the cursor stays a minute behind: {cursor}"
    );
}

#[tokio::test]
async fn an_immediate_second_sync_makes_one_query_and_records_nothing() {
    let fixture = Fixture::with_tasks(2_500).await;
    fixture.sync().await;
    let history = count(&fixture, "SELECT count(*) FROM task_changes");
    fixture.simulator.reset_stats();
    let report = fixture.sync().await;
    assert_eq!(report.kind.as_str(), "incremental");
    assert_eq!(
        (report.new, report.changed, report.deleted, report.restored),
        (0, 0, 0, 0)
    );
    let stats = fixture.simulator.stats();
    assert_eq!(stats.count(QUERY), 1, "{stats:?}");
    assert_eq!(
        stats.requests, 1,
        "no property reads for unedited tasks: {stats:?}"
    );
    assert_eq!(
        count(&fixture, "SELECT count(*) FROM task_changes"),
        history
    );
}

#[tokio::test]
async fn edits_in_the_minute_of_the_previous_sync_are_each_seen_once() {
    let fixture = Fixture::with_tasks(300).await;
    fixture.sync().await;
    let pages = fixture.simulator.page_ids();
    // Right after the sync, in its minute: two edits to one task, one each to two others.
    fixture
        .edit(
            &pages[10],
            json!({ "properties": { "Priority": { "select": { "name": "Urgent" } } } }),
        )
        .await;
    fixture
        .edit(
            &pages[10],
            json!({ "properties": { "Estimate": { "number": 42 } } }),
        )
        .await;
    fixture
        .edit(
            &pages[20],
            json!({ "properties": { "Done": { "checkbox": true } } }),
        )
        .await;
    fixture.edit(&pages[30], json!({ "properties": { "Name": { "title": [{ "text": { "content": "Renamed task" } }] } } })).await;
    let report = fixture.sync().await;
    assert_eq!(report.changed, 3);
    // Later syncs re-read the overlap and record nothing more.
    fixture.sync().await;
    fixture.sync().await;
    let history = fixture.query("mirror.db", "SELECT task_id, property, new_value, edited_by FROM task_changes WHERE property NOT LIKE '(%' ORDER BY task_id, property");
    let person = fixture.simulator.user_ids()[3].clone();
    let expected: Vec<Vec<Value>> = {
        let mut rows = vec![
            vec![
                json!(pages[10]),
                json!("Estimate"),
                json!("42"),
                json!(person),
            ],
            vec![
                json!(pages[10]),
                json!("Priority"),
                json!("Urgent"),
                json!(person),
            ],
            vec![json!(pages[10]), json!("Score"), json!("84"), json!(person)],
            vec![json!(pages[20]), json!("Done"), json!("yes"), json!(person)],
            vec![
                json!(pages[30]),
                json!("Name"),
                json!("Renamed task"),
                json!(person),
            ],
        ];
        rows.sort_by_key(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_str().unwrap().to_string(),
            )
        });
        rows
    };
    assert_eq!(history, expected);
    let title = fixture.query(
        "mirror.db",
        &format!("SELECT title FROM tasks WHERE id = '{}'", pages[30]),
    );
    assert_eq!(title[0][0], "Renamed task");
}

#[tokio::test]
async fn a_full_sync_reads_past_the_ten_thousand_row_cap() {
    let fixture = Fixture::with_tasks(25_000).await;
    fixture.simulator.reset_stats();
    let report = fixture.sync().await;
    assert_eq!(report.new, 25_000);
    assert_eq!(
        count(&fixture, "SELECT count(DISTINCT id) FROM tasks"),
        25_000
    );
    let queries = fixture.simulator.stats().count(QUERY);
    // 250 pages, plus the re-read overlap of the windows restarted at the last creation minute.
    assert!((250..=253).contains(&queries), "{queries} queries");
}

#[tokio::test]
async fn a_trashed_task_is_deleted_by_the_reconcile_and_restored_when_it_comes_back() {
    let fixture = Fixture::with_tasks(200).await;
    fixture.sync().await;
    let page = fixture.simulator.page_ids()[5].clone();
    fixture.edit(&page, json!({ "in_trash": true })).await;
    let reconcile = SyncOptions {
        reconcile_every: chrono::Duration::zero(),
        ..SyncOptions::default()
    };
    let report = fixture
        .sync_into("mirror.db", reconcile.clone())
        .await
        .unwrap();
    assert!(report.reconciled);
    assert_eq!(report.deleted, 1);
    let deleted = fixture.query(
        "mirror.db",
        &format!("SELECT deleted_at IS NOT NULL FROM tasks WHERE id = '{page}'"),
    );
    assert_eq!(deleted[0][0], 1);
    assert_eq!(
        count(
            &fixture,
            "SELECT count(*) FROM task_changes WHERE property = '(deleted)' AND new_value IS NOT NULL"
        ),
        1
    );

    fixture.edit(&page, json!({ "in_trash": false })).await;
    let report = fixture.sync_into("mirror.db", reconcile).await.unwrap();
    assert_eq!((report.restored, report.deleted), (1, 0));
    let live = fixture.query(
        "mirror.db",
        &format!("SELECT deleted_at FROM tasks WHERE id = '{page}'"),
    );
    assert_eq!(live[0][0], Value::Null);
    assert_eq!(
        count(
            &fixture,
            "SELECT count(*) FROM task_changes WHERE property = '(deleted)' AND new_value IS NULL"
        ),
        1
    );
}

#[tokio::test]
async fn a_full_sync_marks_missing_tasks_deleted() {
    let fixture = Fixture::with_tasks(100).await;
    fixture.sync().await;
    let page = fixture.simulator.page_ids()[7].clone();
    fixture.edit(&page, json!({ "in_trash": true })).await;
    let report = fixture.full_sync().await;
    assert_eq!(
        (report.kind.as_str(), report.deleted, report.unchanged),
        ("full", 1, 99)
    );
}

#[tokio::test]
async fn a_renamed_property_keeps_its_history() {
    let fixture = Fixture::with_tasks(50).await;
    fixture.sync().await;
    let page = fixture.simulator.page_ids()[3].clone();
    fixture
        .edit(
            &page,
            json!({ "properties": { "Priority": { "select": { "name": "P1" } } } }),
        )
        .await;
    fixture.sync().await;
    let response = reqwest::Client::new()
        .patch(format!(
            "{}/v1/data_sources/{}",
            fixture.simulator.base_url(),
            fixture.source.id
        ))
        .bearer_auth(fixture.simulator.token())
        .header("Notion-Version", "2026-03-11")
        .json(&json!({ "properties": { "Priority": { "name": "Urgency" } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let database = NotionId::parse(&fixture.simulator.database_id()).unwrap();
    let renamed = fixture
        .client
        .resolve_data_source(&database, None)
        .await
        .unwrap();
    fixture
        .edit(
            &page,
            json!({ "properties": { "Urgency": { "select": { "name": "P2" } } } }),
        )
        .await;
    let store = Store::open(&fixture.db("mirror.db")).unwrap();
    sync(
        &fixture.client,
        Some(&store),
        &renamed,
        &RuleSet::empty(),
        &SyncOptions::default(),
    )
    .await
    .unwrap();
    let history = fixture.query("mirror.db", &format!("SELECT property, new_value FROM task_changes WHERE task_id = '{page}' AND property NOT LIKE '(%' ORDER BY id"));
    assert_eq!(
        history,
        [
            vec![json!("Urgency"), json!("P1")],
            vec![json!("Urgency"), json!("P2")]
        ]
    );
}

#[tokio::test]
async fn truncated_values_are_read_again_only_when_the_task_changed() {
    let fixture = Fixture::with_tasks(10).await;
    fixture.sync().await;
    let page = fixture.simulator.page_ids()[5].clone();
    fixture
        .edit(
            &page,
            json!({ "properties": { "Estimate": { "number": 1 } } }),
        )
        .await;
    fixture.simulator.reset_stats();
    fixture.sync().await;
    let stats = fixture.simulator.stats();
    assert_eq!(
        stats.count("GET /v1/pages/{page_id}/properties/{property_id}"),
        1,
        "the 30 assignees are read again: {stats:?}"
    );
    fixture.simulator.reset_stats();
    fixture.sync().await;
    assert_eq!(
        fixture
            .simulator
            .stats()
            .count("GET /v1/pages/{page_id}/properties/{property_id}"),
        0
    );
    let assignees = count(
        &fixture,
        &format!(
            "SELECT json_array_length(json_extract(properties_json, '$.Assignee.value')) FROM tasks WHERE id = '{page}'"
        ),
    );
    assert_eq!(assignees, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_syncs_converge_through_faults() {
    let mut fixture = Fixture::with_tasks(1_500).await;
    // Convergence is under test here, not the backoff schedule: retry quickly.
    let mut settings = common::settings(&fixture.simulator, ApiVersion::V2026_03_11);
    settings.retry.base_delay = std::time::Duration::from_millis(5);
    settings.retry.max_delay = std::time::Duration::from_millis(50);
    fixture.client = NotionClient::new(settings).unwrap();
    fixture
        .sync_into("reference-before.db", SyncOptions::default())
        .await
        .unwrap();
    fixture.simulator.set_faults(
        "429:0.04,500:0.04,502:0.03,503:0.03,504:0.03,malformed:0.03"
            .parse::<FaultSpec>()
            .unwrap(),
    );
    let mut attempts = 0;
    loop {
        attempts += 1;
        match fixture
            .sync_into("faulted.db", SyncOptions::default())
            .await
        {
            Ok(_) => break,
            Err(error) => assert!(attempts < 20, "no convergence: {error:#}"),
        }
    }
    let pages = fixture.simulator.page_ids();
    fixture
        .edit(
            &pages[1],
            json!({ "properties": { "Priority": { "select": { "name": "Escalated" } } } }),
        )
        .await;
    fixture.edit(&pages[2], json!({ "in_trash": true })).await;
    let faulted = SyncOptions {
        reconcile_every: chrono::Duration::zero(),
        ..SyncOptions::default()
    };
    let mut clean_runs = 0;
    while clean_runs < 2 {
        if fixture
            .sync_into("faulted.db", faulted.clone())
            .await
            .is_ok()
        {
            clean_runs += 1;
        }
    }
    let fault_count = fixture.simulator.stats().faulted;
    assert!(fault_count >= 8, "faults happened: {fault_count}");
    fixture.simulator.set_faults(FaultSpec::default());
    fixture
        .sync_into("faulted.db", faulted.clone())
        .await
        .unwrap();
    fixture.sync_into("reference.db", faulted).await.unwrap();
    let (faulted_tasks, faulted_history) = snapshot(&fixture.db("faulted.db"));
    let (reference_tasks, _) = snapshot(&fixture.db("reference.db"));
    // The reference first synced after the task went to the trash, so it never saw it; the
    // faulted mirror keeps it, marked deleted.
    let (live, deleted): (Vec<Vec<Value>>, Vec<Vec<Value>>) =
        faulted_tasks.into_iter().partition(|row| row[9] == 0);
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0][0], json!(pages[2]));
    assert_same_rows(&live, &reference_tasks, "the same mirror");
    let changes: Vec<&Vec<Value>> = faulted_history
        .iter()
        .filter(|r| r[1] != "(created)")
        .collect();
    assert_eq!(
        changes.len(),
        2,
        "Priority and the deletion, once each: {changes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_half_way_resumes_to_the_same_mirror() {
    let fixture = Fixture::new(SimulatorOptions {
        tasks: 3_000,
        faults: "slow:1.0@60".parse().unwrap(),
        ..SimulatorOptions::default()
    })
    .await;
    let work = fixture.dir.path();
    std::fs::write(
        work.join("tasksync.toml"),
        format!("[notion]\ndatabase = \"{}\"\nbase_url = \"{}\"\nrequests_per_second = 100\n[store]\npath = \"killed.db\"\n", fixture.simulator.database_id(), fixture.simulator.base_url()),
    )
    .unwrap();
    let mut child = common::spawn_sync(work, fixture.simulator.token());
    // Kill it once some, but not all, pages are stored.
    let killed_at = loop {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let stored = Connection::open(work.join("killed.db"))
            .and_then(|c| c.query_row("SELECT count(*) FROM tasks", [], |r| r.get::<_, i64>(0)))
            .unwrap_or(0);
        if stored >= 500 {
            child.start_kill().unwrap();
            break stored;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sync finished before it could be killed"
        );
    };
    child.wait().await.unwrap();
    assert!(killed_at < 3_000, "killed half-way ({killed_at} stored)");
    fixture.simulator.set_faults(FaultSpec::default());
    fixture
        .sync_into("killed.db", SyncOptions::default())
        .await
        .unwrap();
    fixture
        .sync_into("clean.db", SyncOptions::default())
        .await
        .unwrap();
    let (killed_tasks, killed_history) = snapshot(&fixture.db("killed.db"));
    let (clean_tasks, clean_history) = snapshot(&fixture.db("clean.db"));
    assert_eq!(killed_tasks.len(), 3_000);
    assert_same_rows(&killed_tasks, &clean_tasks, "the same mirror");
    assert_same_rows(&killed_history, &clean_history, "no duplicate history");
}

/// Each of the database's files with its size and a hash of its bytes (absent: `None`).
fn file_states(path: &Path) -> Vec<(String, Option<(usize, u64)>)> {
    use std::hash::{Hash, Hasher};
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| {
            let name = format!("{}{suffix}", path.display());
            let state = std::fs::read(&name).ok().map(|bytes| {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                bytes.hash(&mut hasher);
                (bytes.len(), hasher.finish())
            });
            (suffix.to_string(), state)
        })
        .collect()
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_reports_what_a_sync_would_do() {
    let fixture = Fixture::with_tasks(300).await;
    fixture.sync().await;
    let pages = fixture.simulator.page_ids();
    fixture.edit(&pages[4], json!({ "properties": { "Status": { "status": { "name": "Done" } }, "Priority": { "select": { "name": "Urgent" } } } })).await;
    let path = fixture.db("mirror.db");
    let before = file_states(&path);
    let store = Store::open_read_only(&path).unwrap().unwrap();
    let options = SyncOptions {
        dry_run: true,
        ..SyncOptions::default()
    };
    fixture.simulator.reset_stats();
    let dry = sync(
        &fixture.client,
        Some(&store),
        &fixture.source,
        &RuleSet::empty(),
        &options,
    )
    .await
    .unwrap();
    drop(store);
    assert_eq!(file_states(&path), before, "the mirror is byte-identical");
    assert_eq!(fixture.simulator.stats().writes, 0);
    assert_eq!(dry.changed, 1);
    assert_eq!(dry.planned.len(), 1);
    assert_eq!(dry.planned[0].task_id, pages[4]);
    let real = fixture.sync().await;
    assert_eq!(
        (real.new, real.changed, real.deleted),
        (dry.new, dry.changed, dry.deleted)
    );

    // Without a mirror file, a dry run creates none.
    let absent = fixture.db("absent.db");
    let report = sync(
        &fixture.client,
        None,
        &fixture.source,
        &RuleSet::empty(),
        &options,
    )
    .await
    .unwrap();
    assert_eq!(report.new, 300);
    assert!(!absent.exists());
}

#[test]
fn the_mirror_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("mirror.db");
    Store::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let version: i64 = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, tasksync::store::SCHEMA_VERSION);
    assert!(version >= 3);
}

#[tokio::test]
async fn an_edit_that_changes_nothing_updates_the_edit_time_without_history() {
    let fixture = Fixture::with_tasks(30).await;
    fixture.sync().await;
    let page = fixture.simulator.page_ids()[4].clone();
    let status = fixture.query(
        "mirror.db",
        &format!("SELECT status, last_edited_time FROM tasks WHERE id = '{page}'"),
    );
    let history = count(&fixture, "SELECT count(*) FROM task_changes");
    fixture
        .edit(
            &page,
            json!({ "properties": { "Status": { "status": { "name": status[0][0] } } } }),
        )
        .await;
    let report = fixture.sync().await;
    assert_eq!((report.changed, report.new), (0, 0));
    assert_eq!(
        count(&fixture, "SELECT count(*) FROM task_changes"),
        history,
        "no history row"
    );
    let after = fixture.query(
        "mirror.db",
        &format!("SELECT last_edited_time, last_edited_by FROM tasks WHERE id = '{page}'"),
    );
    assert_ne!(after[0][0], status[0][1], "the edit time follows Notion");
    assert_eq!(after[0][1], json!(fixture.simulator.user_ids()[3]));
}

/// Page objects return at most 25 people, relations and mentions, and compute rollups over
/// those 25 (reference/retrieve-a-page, "Limits"); only relations say `has_more`. The mirror
/// still holds every person, relation and mention and the true rollup, read from the property
/// item endpoint, with one read per cut value and nothing more.
#[tokio::test]
async fn values_cut_at_25_in_page_objects_are_mirrored_whole() {
    let fixture = Fixture::with_tasks(200).await;
    fixture.simulator.reset_stats();
    fixture.sync().await;
    let numbers = |sql: &str| -> Vec<i64> {
        fixture
            .query("mirror.db", sql)
            .into_iter()
            .map(|row| row[0].as_i64().unwrap())
            .collect()
    };
    // Tasks 6, 103 and 200 have 30 assignees; tasks 93 and 182 relate to 30 tasks; tasks 12, 95
    // and 178 mention 30 people in their notes.
    assert_eq!(
        numbers(
            "SELECT json_array_length(properties_json, '$.Assignee.value') AS n FROM tasks WHERE n > 25"
        ),
        [30, 30, 30]
    );
    assert_eq!(
        numbers(
            "SELECT json_array_length(properties_json, '$.Related.value') AS n FROM tasks WHERE n > 25"
        ),
        [30, 30]
    );
    assert_eq!(
        numbers(
            "SELECT (SELECT count(*) FROM json_each(properties_json, '$.Notes.value') WHERE json_extract(value, '$.kind') = 'mention') AS n FROM tasks WHERE n > 0"
        ),
        [30, 30, 30]
    );
    let rollups = fixture.query(
        "mirror.db",
        "SELECT json_extract(properties_json, '$.\"Related count\".value.result.value'), json_array_length(properties_json, '$.Related.value') FROM tasks",
    );
    assert_eq!(rollups.len(), 200);
    for row in &rollups {
        assert_eq!(
            row[0].as_f64(),
            row[1].as_f64(),
            "the rollup counts every relation"
        );
    }
    assert!(rollups.iter().any(|row| row[0].as_f64() == Some(30.0)));
    // What the query answered for the same tasks: at most 25, and no flag but on relations.
    let raw = common::Raw::new(&fixture.simulator, ApiVersion::V2026_03_11);
    let ids = fixture.simulator.page_ids();
    for (index, property, kind) in [
        (5, "Assignee", "people"),
        (92, "Related", "relation"),
        (11, "Notes", "rich_text"),
    ] {
        let (_, page) = raw
            .send(
                reqwest::Method::GET,
                &format!("/v1/pages/{}", ids[index]),
                None,
            )
            .await;
        let value = &page["properties"][property];
        let references = value[kind]
            .as_array()
            .unwrap()
            .iter()
            .filter(|item| kind != "rich_text" || item["type"] == "mention")
            .count();
        assert_eq!(references, 25, "{property}");
        assert_eq!(
            value.get("has_more").is_some(),
            kind == "relation",
            "{property}"
        );
        if kind == "relation" {
            assert_eq!(page["properties"]["Related count"]["rollup"]["number"], 25);
        }
    }
    // One read for each cut value: 3 people lists, 3 texts, 2 relations and their 2 rollups.
    assert_eq!(
        fixture
            .simulator
            .stats()
            .count("GET /v1/pages/{page_id}/properties/{property_id}"),
        10
    );
}

/// Edit times are minute-rounded: a page edited again in the minute of the version we stored
/// keeps its `last_edited_time`. When anything visible changed, its cut values are read again,
/// so a person removed past the 25th is not kept from the mirror.
#[tokio::test]
async fn a_second_edit_in_the_same_minute_rereads_cut_values() {
    let fixture = Fixture::with_tasks(10).await;
    fixture.sync().await;
    let page = fixture.simulator.page_ids()[5].clone();
    let raw = common::Raw::new(&fixture.simulator, ApiVersion::V2026_03_11);
    let (_, list) = raw
        .send(
            reqwest::Method::GET,
            &format!("/v1/pages/{page}/properties/as%3Fs"),
            None,
        )
        .await;
    let everyone: Vec<Value> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| json!({ "id": item["people"]["id"] }))
        .collect();
    assert_eq!(everyone.len(), 30);
    let edited_at = |fixture: &Fixture| {
        fixture.query(
            "mirror.db",
            &format!("SELECT last_edited_time FROM tasks WHERE id = '{page}'"),
        )[0][0]
            .clone()
    };
    let mut people = 30;
    for _ in 0..3 {
        fixture
            .edit(
                &page,
                json!({ "properties": { "Estimate": { "number": 2 } } }),
            )
            .await;
        fixture.sync().await;
        let stored = edited_at(&fixture);
        people -= 1;
        fixture
            .edit(
                &page,
                json!({ "properties": { "Estimate": { "number": 3 }, "Assignee": { "people": everyone[..people] } } }),
            )
            .await;
        fixture.sync().await;
        let count = count(
            &fixture,
            &format!(
                "SELECT json_array_length(properties_json, '$.Assignee.value') FROM tasks WHERE id = '{page}'"
            ),
        );
        assert_eq!(
            count,
            i64::try_from(people).unwrap(),
            "the person past the 25th is gone"
        );
        if edited_at(&fixture) == stored {
            return; // both edits fell in one minute: the case this test is about
        }
    }
    panic!("three tries crossed a minute boundary");
}

/// Pages with a property the schema the sync started with does not have (one added in Notion
/// meanwhile) are reported, so the daemon reads the schema again.
#[tokio::test]
async fn a_property_the_schema_lacks_is_reported() {
    let mut fixture = Fixture::with_tasks(5).await;
    let report = fixture.sync().await;
    assert!(report.unknown_properties.is_empty(), "{report:?}");
    // As if "Estimate" was added in Notion after the schema was read.
    fixture.source.properties.remove("Estimate").unwrap();
    let report = fixture.full_sync().await;
    assert_eq!(report.unknown_properties, ["Estimate"]);
}
