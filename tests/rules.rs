//! Rules end to end: the simulator over HTTP, a real SQLite mirror, the executor (docs/semantics.md, "Rules").
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tasksync::actions::{ExecutorReport, perform_queued};
use tasksync::config::{MailConfig, RuleEntry};
use tasksync::model::DataSource;
use tasksync::notion::ApiVersion;
use tasksync::notion::ids::NotionId;
use tasksync::rules::{RuleSet, compile};
use tasksync::simulator::{ACTING_USER_HEADER, Fault, ScriptedFault, SimulatorOptions};
use tasksync::store::Store;
use tasksync::sync::{SyncOptions, SyncReport, sync};

struct Fixture {
    base: common::Mirror,
    rules: RuleSet,
}

extends_mirror!(Fixture);

/// The `[[rules]]` of `text`, as if read from `rules.toml`.
fn entries(text: &str) -> Vec<RuleEntry> {
    common::rule_entries(text)
}

/// Compiles `[[rules]]` text against the data source.
fn rules_for(source: &DataSource, text: &str) -> RuleSet {
    let entries = entries(text);
    let mail = MailConfig {
        from: Some("tasksync <tasksync@example.com>".into()),
        to: vec!["team@example.com".into()],
        ..MailConfig::default()
    };
    compile(&entries, source, &mail, 5).unwrap_or_else(|p| panic!("{p:?}"))
}

impl Fixture {
    async fn new(tasks: usize, rules: &str) -> Self {
        let base = common::Mirror::with_tasks(tasks).await;
        let rules = rules_for(&base.source, rules);
        Self { base, rules }
    }

    fn db(&self) -> PathBuf {
        self.mirror_path()
    }

    async fn sync_at(&self, now: Option<DateTime<Utc>>) -> SyncReport {
        let store = Store::open(&self.db()).unwrap();
        let options = SyncOptions {
            now,
            reconcile_every: Duration::zero(),
            ..SyncOptions::default()
        };
        sync(
            &self.client,
            Some(&store),
            &self.source,
            &self.rules,
            &options,
        )
        .await
        .unwrap()
    }

    /// One cycle of the daemon or of `tasksync sync`: pull, rules, then the actions.
    async fn cycle(&self) -> (SyncReport, ExecutorReport) {
        let report = self.sync_at(None).await;
        let store = Store::open(&self.db()).unwrap();
        let actions = perform_queued(&self.client, &store, 5).await.unwrap();
        (report, actions)
    }

    async fn edit(&self, page: &str, properties: Value) {
        common::edit_as_person(&self.simulator, page, &json!({ "properties": properties })).await;
    }

    async fn create(&self, properties: Value) -> String {
        let response: Value = reqwest::Client::new()
            .post(format!("{}/v1/pages", self.simulator.base_url()))
            .bearer_auth(self.simulator.token())
            .header("Notion-Version", "2026-03-11")
            .header(ACTING_USER_HEADER, self.simulator.user_ids()[3].as_str())
            .json(&json!({ "parent": { "data_source_id": self.source.id.to_string() }, "properties": properties }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        response["id"].as_str().unwrap().to_string()
    }

    async fn paragraphs(&self, page: &str, text: &str) -> usize {
        let blocks = self
            .client
            .list_children(&NotionId::parse(page).unwrap())
            .await
            .unwrap();
        blocks.iter().filter(|b| b.text == text).count()
    }

    async fn status(&self, page: &str) -> String {
        self.client
            .retrieve_page(&NotionId::parse(page).unwrap())
            .await
            .unwrap()
            .status()
            .unwrap_or_default()
    }

    fn count(&self, sql: &str) -> i64 {
        common::sql_number(&self.db(), sql).expect("the query answers")
    }
}

const URGENT: &str = r#"
[[rules]]
name = "urgent-starts-work"
when = { property = "Priority", changed_to = "Urgent" }
actions = [
  { set = { Status = "In progress" } },
  { append = "Became urgent: {{ old.Priority }} → {{ task.Priority }}." },
]
"#;

#[tokio::test]
async fn a_transition_fires_exactly_once_and_again_on_re_entry() {
    let fixture = Fixture::new(20, URGENT).await;
    let page = fixture.simulator.page_ids()[4].clone();
    fixture.edit(&page, json!({ "Priority": { "select": { "name": "Low" } }, "Status": { "status": { "name": "To do" } } })).await;
    let (baseline, _) = fixture.cycle().await;
    assert_eq!(baseline.fired, 0, "the first sync is a baseline");

    fixture
        .edit(
            &page,
            json!({ "Priority": { "select": { "name": "Urgent" } } }),
        )
        .await;
    let (report, actions) = fixture.cycle().await;
    assert_eq!(report.fired, 1);
    assert_eq!((actions.done, actions.failed), (2, 0));
    assert_eq!(fixture.status(&page).await, "In progress");
    let line = "Became urgent: Low → Urgent.";
    assert_eq!(fixture.paragraphs(&page, line).await, 1);

    // Our own edit comes back; an unrelated edit; syncs after; a restart (new store, new client).
    let (echo, _) = fixture.cycle().await;
    assert_eq!(
        (echo.changed, echo.fired),
        (1, 0),
        "our own edit fires nothing"
    );
    fixture
        .edit(&page, json!({ "Estimate": { "number": 7 } }))
        .await;
    assert_eq!(fixture.cycle().await.0.fired, 0, "unrelated edit");
    assert_eq!(fixture.cycle().await.0.fired, 0, "next sync");
    let mut fixture = fixture;
    fixture.client = common::client(&fixture.simulator, ApiVersion::V2026_03_11);
    assert_eq!(fixture.cycle().await.0.fired, 0, "after a restart");
    assert_eq!(fixture.paragraphs(&page, line).await, 1);
    assert_eq!(fixture.count("SELECT count(*) FROM rule_firings"), 1);

    // Leaving Urgent and coming back is a new transition.
    fixture
        .edit(
            &page,
            json!({ "Priority": { "select": { "name": "High" } } }),
        )
        .await;
    assert_eq!(fixture.cycle().await.0.fired, 0);
    fixture.edit(&page, json!({ "Priority": { "select": { "name": "Urgent" } }, "Status": { "status": { "name": "To do" } } })).await;
    let (again, _) = fixture.cycle().await;
    assert_eq!(again.fired, 1);
    assert_eq!(
        fixture
            .paragraphs(&page, "Became urgent: High → Urgent.")
            .await,
        1
    );
    assert_eq!(fixture.count("SELECT count(*) FROM rule_firings"), 2);
    assert_eq!(
        fixture.count("SELECT count(*) FROM actions WHERE status = 'done'"),
        4
    );
}

#[tokio::test]
async fn a_set_to_the_current_value_is_skipped() {
    let fixture = Fixture::new(10, URGENT).await;
    let page = fixture.simulator.page_ids()[2].clone();
    fixture
        .edit(
            &page,
            json!({ "Priority": { "select": { "name": "Low" } } }),
        )
        .await;
    fixture.cycle().await;
    fixture.edit(&page, json!({ "Priority": { "select": { "name": "Urgent" } }, "Status": { "status": { "name": "In progress" } } })).await;
    fixture.simulator.reset_stats();
    let (_, actions) = fixture.cycle().await;
    assert_eq!(
        (actions.done, actions.skipped),
        (1, 1),
        "the status already was In progress"
    );
    assert_eq!(
        fixture.simulator.stats().count("PATCH /v1/pages/{page_id}"),
        0
    );
}

#[tokio::test]
async fn rules_that_undo_each_other_stop_at_the_budget() {
    let rules = r#"
[[rules]]
name = "a-start-means-done"
when = { property = "Status", changed_to = "In progress" }
actions = [{ set = { Status = "Done" } }]
on_own_edits = true

[[rules]]
name = "b-done-means-start"
when = { property = "Status", changed_to = "Done" }
actions = [{ set = { Status = "In progress" } }]
on_own_edits = true
"#;
    let fixture = Fixture::new(10, rules).await;
    let page = fixture.simulator.page_ids()[1].clone();
    fixture
        .edit(
            &page,
            json!({ "Status": { "status": { "name": "To do" } } }),
        )
        .await;
    fixture.cycle().await;
    fixture
        .edit(
            &page,
            json!({ "Status": { "status": { "name": "In progress" } } }),
        )
        .await;
    let mut stopped = 0;
    for _ in 0..12 {
        stopped += fixture.cycle().await.0.stopped;
    }
    assert_eq!(stopped, 1, "the chain is stopped once");
    assert_eq!(
        fixture.count("SELECT count(*) FROM rule_firings WHERE status = 'fired'"),
        6,
        "depths 0 to 5"
    );
    let reason: String = rusqlite::Connection::open(fixture.db())
        .unwrap()
        .query_row(
            "SELECT reason FROM rule_firings WHERE status = 'stopped'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(reason.contains("firing_budget = 5"), "{reason}");
    assert_eq!(fixture.cycle().await.0.fired, 0, "quiet after the stop");
}

#[tokio::test]
async fn overdue_fires_once_per_task_entering_as_days_pass() {
    let rules = r#"
[[rules]]
name = "overdue"
when.all = [
  { property = "Due", before = "today" },
  { property = "Status", does_not_equal = "Done" },
]
actions = [{ append = "Overdue since {{ task.Due }}." }]
"#;
    let fixture = Fixture::new(0, rules).await;
    let day0: DateTime<Utc> = Utc::now();
    let due = |days: i64| (day0 + Duration::days(days)).date_naive().to_string();
    let soon = fixture.create(json!({ "Name": { "title": [{ "text": { "content": "soon" } }] }, "Due": { "date": { "start": due(1) } }, "Status": { "status": { "name": "To do" } } })).await;
    let later = fixture.create(json!({ "Name": { "title": [{ "text": { "content": "later" } }] }, "Due": { "date": { "start": due(3) } }, "Status": { "status": { "name": "In progress" } } })).await;
    let done = fixture.create(json!({ "Name": { "title": [{ "text": { "content": "done" } }] }, "Due": { "date": { "start": due(1) } }, "Status": { "status": { "name": "Done" } } })).await;
    let already = fixture.create(json!({ "Name": { "title": [{ "text": { "content": "already" } }] }, "Due": { "date": { "start": due(-5) } }, "Status": { "status": { "name": "To do" } } })).await;

    assert_eq!(
        fixture.sync_at(Some(day0)).await.fired,
        0,
        "baseline: `already` was overdue before tasksync looked"
    );
    let fired_on = |report: &SyncReport| -> Vec<String> {
        report.firings.iter().map(|f| f.title.clone()).collect()
    };
    let day2 = fixture.sync_at(Some(day0 + Duration::days(2))).await;
    assert_eq!(fired_on(&day2), ["soon"]);
    assert_eq!(
        fixture
            .sync_at(Some(day0 + Duration::days(2) + Duration::hours(3)))
            .await
            .fired,
        0,
        "once per entry, not per tick"
    );
    // Between syncs, the daemon's time_rules job evaluates the mirror alone: no request to Notion.
    let requests = fixture.simulator.stats().requests;
    let store = Store::open(&fixture.db()).unwrap();
    let (fired, firings) = tasksync::sync::time_rules(
        &fixture.client,
        &store,
        &fixture.source,
        &fixture.rules,
        day0 + Duration::days(4),
    )
    .await
    .unwrap();
    assert_eq!(fired, 1, "`later` entered overdue");
    assert_eq!(firings[0].title, "later", "reported for the log");
    assert_eq!(fixture.simulator.stats().requests, requests);
    assert_eq!(fixture.count("SELECT count(*) FROM rule_firings f JOIN tasks t ON t.id = f.task_id WHERE t.title = 'later'"), 1);
    assert_eq!(
        fixture.sync_at(Some(day0 + Duration::days(9))).await.fired,
        0
    );
    let store = Store::open(&fixture.db()).unwrap();
    perform_queued(&fixture.client, &store, 5).await.unwrap();
    assert_eq!(
        fixture
            .paragraphs(&soon, &format!("Overdue since {}.", due(1)))
            .await,
        1
    );
    assert_eq!(
        fixture
            .paragraphs(&later, &format!("Overdue since {}.", due(3)))
            .await,
        1
    );
    assert_eq!(
        fixture
            .paragraphs(&done, &format!("Overdue since {}.", due(1)))
            .await,
        0
    );
    assert_eq!(
        fixture
            .paragraphs(&already, &format!("Overdue since {}.", due(-5)))
            .await,
        0
    );

    // Leaving (done) and re-entering (reopened) is a new entry.
    fixture
        .edit(&soon, json!({ "Status": { "status": { "name": "Done" } } }))
        .await;
    assert_eq!(
        fixture.sync_at(Some(day0 + Duration::days(10))).await.fired,
        0
    );
    fixture
        .edit(
            &soon,
            json!({ "Status": { "status": { "name": "To do" } } }),
        )
        .await;
    assert_eq!(
        fired_on(&fixture.sync_at(Some(day0 + Duration::days(10))).await),
        ["soon"]
    );
}

#[tokio::test]
async fn a_dry_run_reports_the_firings_a_real_run_performs_and_writes_nothing() {
    let rules = format!(
        "{URGENT}\n[[rules]]\nname = \"mail-on-urgent\"\nwhen = {{ property = \"Priority\", equals = \"Urgent\" }}\nactions = [{{ mail = {{ subject = \"Urgent: {{{{ task.title }}}}\" }} }}]\n"
    );
    let fixture = Fixture::new(30, &rules).await;
    let pages = fixture.simulator.page_ids();
    for page in &pages[..3] {
        fixture
            .edit(page, json!({ "Priority": { "select": { "name": "Low" } } }))
            .await;
    }
    fixture.cycle().await;
    for page in &pages[..3] {
        fixture
            .edit(
                page,
                json!({ "Priority": { "select": { "name": "Urgent" } } }),
            )
            .await;
    }
    let before = std::fs::read(fixture.db()).unwrap();
    let store = Store::open_read_only(&fixture.db()).unwrap().unwrap();
    fixture.simulator.reset_stats();
    let options = SyncOptions {
        dry_run: true,
        reconcile_every: Duration::zero(),
        ..SyncOptions::default()
    };
    let dry = sync(
        &fixture.client,
        Some(&store),
        &fixture.source,
        &fixture.rules,
        &options,
    )
    .await
    .unwrap();
    drop(store);
    assert_eq!(fixture.simulator.stats().writes, 0, "no write to Notion");
    assert_eq!(
        std::fs::read(fixture.db()).unwrap(),
        before,
        "no write to the mirror"
    );
    assert_eq!(dry.fired, 6);

    let (real, _) = fixture.cycle().await;
    let key = |r: &SyncReport| {
        let mut firings: Vec<(String, String, String)> = r
            .firings
            .iter()
            .map(|f| {
                (
                    f.rule.clone(),
                    f.task_id.clone(),
                    serde_json::to_string(&f.actions).unwrap(),
                )
            })
            .collect();
        firings.sort();
        firings
    };
    assert_eq!(
        key(&dry),
        key(&real),
        "the same firings, with the same rendered actions"
    );
    assert_eq!(
        fixture.count("SELECT count(*) FROM mail_outbox WHERE status = 'queued'"),
        3
    );
}

#[tokio::test]
async fn deletion_and_new_tasks_are_events() {
    let rules = r#"
[[rules]]
name = "welcome"
when = { new = true }
actions = [{ append = "Welcome, {{ task.title }}." }]

[[rules]]
name = "gone"
when = { deleted = true }
actions = [{ mail = { subject = "Deleted: {{ task.title }}" } }]
"#;
    let fixture = Fixture::new(5, rules).await;
    assert_eq!(
        fixture.cycle().await.0.fired,
        0,
        "existing tasks are not new"
    );
    let page = fixture
        .create(json!({ "Name": { "title": [{ "text": { "content": "Fresh" } }] } }))
        .await;
    let (report, _) = fixture.cycle().await;
    assert_eq!(
        report
            .firings
            .iter()
            .map(|f| f.rule.as_str())
            .collect::<Vec<_>>(),
        ["welcome"]
    );
    assert_eq!(fixture.paragraphs(&page, "Welcome, Fresh.").await, 1);
    let response = reqwest::Client::new()
        .patch(format!("{}/v1/pages/{page}", fixture.simulator.base_url()))
        .bearer_auth(fixture.simulator.token())
        .header("Notion-Version", "2026-03-11")
        .json(&json!({ "in_trash": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (report, _) = fixture.cycle().await;
    assert_eq!(report.deleted, 1);
    assert_eq!(
        report
            .firings
            .iter()
            .map(|f| f.rule.as_str())
            .collect::<Vec<_>>(),
        ["gone"]
    );
    assert_eq!(
        fixture.count("SELECT count(*) FROM mail_outbox WHERE subject = 'Deleted: Fresh'"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_killed_after_notion_accepted_it_is_not_repeated() {
    let fixture = Fixture::new(10, "").await;
    let work = fixture.dir.path();
    let config = format!(
        "[notion]\ndatabase = \"{}\"\nbase_url = \"{}\"\nrequests_per_second = 100\n[store]\npath = \"mirror.db\"\n{URGENT}",
        fixture.simulator.database_id(),
        fixture.simulator.base_url()
    );
    std::fs::write(work.join("tasksync.toml"), config).unwrap();
    let run = || common::spawn_sync(work, fixture.simulator.token());
    let page = fixture.simulator.page_ids()[3].clone();
    fixture
        .edit(
            &page,
            json!({ "Priority": { "select": { "name": "Low" } } }),
        )
        .await;
    assert!(run().wait().await.unwrap().success());
    fixture
        .edit(
            &page,
            json!({ "Priority": { "select": { "name": "Urgent" } } }),
        )
        .await;
    // Notion takes the append, then the answer hangs: kill the process in that window.
    fixture.simulator.push_fault(ScriptedFault {
        matching: "PATCH /v1/blocks".into(),
        fault: Fault::Stall(std::time::Duration::from_secs(60)),
        retry_after: None,
    });
    let mut child = run();
    let line = "Became urgent: Low → Urgent.";
    for _ in 0..500 {
        if fixture.paragraphs(&page, line).await == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        fixture.paragraphs(&page, line).await,
        1,
        "Notion accepted the append"
    );
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert_eq!(
        fixture.count("SELECT count(*) FROM actions WHERE kind = 'append' AND status = 'running'"),
        1,
        "killed before the bookkeeping"
    );

    assert!(
        run().wait().await.unwrap().success(),
        "the restart completes"
    );
    assert_eq!(
        fixture.paragraphs(&page, line).await,
        1,
        "exactly one paragraph"
    );
    assert_eq!(fixture.count("SELECT count(*) FROM actions WHERE kind = 'append' AND status = 'done' AND attempts = 2"), 1);
}

/// reference/request-limits: a rendered text Notion would refuse (over 100 pieces of 2,000
/// UTF-16 units) fails its action for good, naming the property, and nothing is sent; an emoji
/// text within the limit is split as Notion counts it and lands whole.
#[tokio::test]
async fn rendered_texts_are_checked_against_notions_limits_in_utf16_units() {
    let rules = r#"
[[rules]]
name = "huge-note"
when = { property = "Priority", changed_to = "Urgent" }
actions = [{ set = { Notes = "{{ '😀' * 100001 }}" } }]

[[rules]]
name = "emoji-title"
when = { property = "Priority", changed_to = "High" }
actions = [{ set = { Name = "{{ '🔥' * 1500 }}" } }]
"#;
    let fixture = Fixture::new(10, rules).await;
    let ids = fixture.simulator.page_ids();
    let (urgent, high) = (ids[1].clone(), ids[2].clone());
    for page in [&urgent, &high] {
        fixture
            .edit(page, json!({ "Priority": { "select": { "name": "Low" } } }))
            .await;
    }
    fixture.cycle().await;
    fixture
        .edit(
            &urgent,
            json!({ "Priority": { "select": { "name": "Urgent" } } }),
        )
        .await;
    fixture
        .edit(
            &high,
            json!({ "Priority": { "select": { "name": "High" } } }),
        )
        .await;
    fixture.simulator.reset_stats();
    let (report, actions) = fixture.cycle().await;
    assert_eq!(report.fired, 2);
    assert_eq!((actions.done, actions.failed, actions.retrying), (1, 1, 0));
    let error: String = rusqlite::Connection::open(fixture.db())
        .unwrap()
        .query_row(
            "SELECT a.last_error FROM actions a JOIN rule_firings f ON f.id = a.firing_id WHERE f.rule = 'huge-note' AND a.status = 'failed'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(
        error.contains("cannot write property `Notes`: the text is 200002 UTF-16 units long"),
        "{error}"
    );
    assert_eq!(
        fixture.simulator.stats().count("PATCH /v1/pages/{page_id}"),
        1,
        "only the emoji title was sent"
    );
    let task = fixture
        .client
        .retrieve_page(&NotionId::parse(&high).unwrap())
        .await
        .unwrap();
    assert_eq!(task.title(), "🔥".repeat(1500));
}

/// A trash and a restore are not an entry into a condition (docs/semantics.md, "Exactly once"): the restored task is
/// compared with its state before the trash, so an urgent task coming back fires nothing again.
#[tokio::test]
async fn restoring_an_urgent_task_from_the_trash_fires_nothing() {
    let rules = r#"
[[rules]]
name = "urgent-note"
when = { property = "Priority", equals = "Urgent" }
actions = [{ append = "Urgent now." }]
"#;
    let fixture = Fixture::new(10, rules).await;
    let page = fixture.simulator.page_ids()[1].clone();
    fixture
        .edit(
            &page,
            json!({ "Priority": { "select": { "name": "Low" } } }),
        )
        .await;
    fixture.cycle().await;
    fixture
        .edit(
            &page,
            json!({ "Priority": { "select": { "name": "Urgent" } } }),
        )
        .await;
    assert_eq!(fixture.cycle().await.0.fired, 1);
    for (trash, kind) in [(true, "trashed"), (false, "restored")] {
        common::edit_as_person(&fixture.simulator, &page, &json!({ "in_trash": trash })).await;
        let (report, _) = fixture.cycle().await;
        assert_eq!(report.fired, 0, "{kind}: {report:?}");
    }
    assert_eq!(
        fixture.count("SELECT count(*) FROM tasks WHERE deleted_at IS NULL"),
        10
    );
    assert_eq!(fixture.paragraphs(&page, "Urgent now.").await, 1);
    assert_eq!(fixture.count("SELECT count(*) FROM rule_firings"), 1);
}

/// A rule that does not fit the schema is suspended alone (the others compile); a former
/// property name is followed to the property by id; a problem in the file still fails the set.
#[tokio::test]
async fn rules_that_do_not_fit_the_schema_are_suspended_and_renames_followed() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 1,
        ..SimulatorOptions::default()
    })
    .await;
    let client = common::client(&simulator, ApiVersion::V2026_03_11);
    let database = NotionId::parse(&simulator.database_id()).unwrap();
    let mut source = client.resolve_data_source(&database, None).await.unwrap();
    // As after a rename in Notion: `Priority` is now `Prio`, same id; `Urgent` is gone.
    let mut priority = source.properties.remove("Priority").unwrap();
    priority.name = "Prio".into();
    priority.options.retain(|o| o.name != "Urgent");
    let priority_id = priority.id.clone();
    source.properties.insert("Prio".into(), priority);
    let text = r#"
[[rules]]
name = "high"
when = { property = "Priority", changed_to = "High" }
actions = [{ append = "{{ task.Priority }} from {{ old.Priority }} ({{ task[\"Priority\"] }})" }]

[[rules]]
name = "urgent"
when = { property = "Priority", changed_to = "Urgent" }
actions = [{ append = "urgent" }]

[[rules]]
name = "gone"
when = { property = "Effort", equals = 3 }
actions = [{ append = "x" }]
"#;
    let entries = entries(text);
    let mail = MailConfig::default();
    let former = std::collections::BTreeMap::from([("Priority".to_string(), "Prio".to_string())]);
    let rules = compile::compile_following(&entries, &source, &former, &mail, 5).unwrap();
    let running: Vec<&str> = rules.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(running, ["high"]);
    match &rules.rules[0].condition {
        compile::Condition::Test { property_id, .. } => {
            assert_eq!(*property_id, priority_id, "followed by id");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rules.followed.len(), 2, "{:?}", rules.followed);
    // Templates see the property under its former name too, so they keep rendering.
    assert_eq!(rules.aliases, former);
    let properties = std::collections::BTreeMap::from([(
        "Prio".to_string(),
        tasksync::model::stored::StoredProperty {
            id: priority_id.clone(),
            value: tasksync::model::PropertyValue::RichText(Vec::new()),
            text: "High".into(),
        },
    )]);
    let task = tasksync::rules::render::TaskFacts {
        id: "t",
        url: "https://www.notion.so/t",
        title: "A task",
        status: None,
        created_time: "2026-01-01T00:00:00.000Z",
        last_edited_time: "2026-01-01T00:00:00.000Z",
        last_edited_by: None,
        deleted: false,
        properties: &properties,
        directory: &Default::default(),
    };
    let changes = [tasksync::rules::render::ChangeFacts {
        property: "Prio".into(),
        old: "Medium".into(),
        new: "High".into(),
    }];
    let planned =
        tasksync::rules::render::render(&rules, &rules.rules[0], &task, &changes, Utc::now())
            .unwrap();
    match &planned[..] {
        [tasksync::model::automation::PlannedAction::Append { text, .. }] => {
            assert_eq!(text, "High from Medium (High)");
        }
        other => panic!("{other:?}"),
    }
    let suspended: Vec<(&str, String)> = rules
        .suspended
        .iter()
        .map(|s| (s.rule.as_str(), s.reason()))
        .collect();
    assert_eq!(suspended.len(), 2, "{suspended:?}");
    assert_eq!(suspended[0].0, "urgent");
    assert!(
        suspended[0]
            .1
            .contains("rules.toml:9:8: rule `urgent`: `Urgent` is not an option"),
        "{}",
        suspended[0].1
    );
    assert_eq!(suspended[1].0, "gone");
    assert!(
        suspended[1].1.contains("no property `Effort`"),
        "{}",
        suspended[1].1
    );
    // Without the former name, the rules naming `Priority` are suspended too.
    let unfollowed = compile(&entries, &source, &mail, 5).unwrap();
    assert!(unfollowed.rules.is_empty());
    assert_eq!(unfollowed.suspended.len(), 3);
    // A problem in the file (no actions) fails the whole set, the mismatches listed with it.
    let broken = text.replace("actions = [{ append = \"x\" }]", "actions = []");
    let entries = self::entries(&broken);
    let problems = compile::compile_following(&entries, &source, &former, &mail, 5).unwrap_err();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("the rule has no actions"))
    );
}

/// A mirror row whose `properties_json` was damaged decides nothing: the sync does not stop on
/// it, rewrites it from Notion without history or firings, and the next change fires as usual.
#[tokio::test]
async fn a_corrupt_mirror_row_is_rewritten_and_fires_nothing() {
    let fixture = Fixture::new(5, URGENT).await;
    let page = fixture.simulator.page_ids()[0].clone();
    fixture
        .edit(
            &page,
            json!({ "Priority": { "select": { "name": "Low" } } }),
        )
        .await;
    fixture.cycle().await;
    rusqlite::Connection::open(fixture.db())
        .unwrap()
        .execute(
            "UPDATE tasks SET properties_json = '{\"Priority\": broken' WHERE id = ?1",
            [&page],
        )
        .unwrap();
    let history = |fixture: &Fixture| {
        fixture.count(&format!(
            "SELECT count(*) FROM task_changes WHERE task_id = '{page}'"
        ))
    };
    let before = history(&fixture);

    fixture
        .edit(
            &page,
            json!({ "Priority": { "select": { "name": "Urgent" } } }),
        )
        .await;
    let (report, _) = fixture.cycle().await;
    assert_eq!(report.fired, 0, "nothing is decided from an unreadable row");
    assert_eq!(
        history(&fixture),
        before,
        "no history from an unreadable row"
    );
    assert_eq!(
        fixture.count(&format!(
            "SELECT count(*) FROM tasks WHERE id = '{page}' AND json_extract(properties_json, '$.Priority.text') = 'Urgent'"
        )),
        1,
        "the row is rewritten from Notion"
    );

    fixture
        .edit(
            &page,
            json!({ "Priority": { "select": { "name": "High" } } }),
        )
        .await;
    fixture.cycle().await;
    fixture
        .edit(
            &page,
            json!({ "Priority": { "select": { "name": "Urgent" } } }),
        )
        .await;
    assert_eq!(
        fixture.cycle().await.0.fired,
        1,
        "the repaired row works as any"
    );
}
