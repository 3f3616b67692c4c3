//! The automations people build (issue 16) end to end: the simulator over HTTP, a real SQLite
//! mirror, the executor. Markdown appends and mentions.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use serde_json::{Value, json};
use tasksync::actions::{ExecutorReport, perform_queued};
use tasksync::config::MailConfig;
use tasksync::notion::ApiVersion;
use tasksync::rules::{RuleSet, compile};
use tasksync::store::Store;
use tasksync::sync::{SyncOptions, SyncReport, sync};

use common::Raw;
use common::sink::Sink;
use tasksync::hooks::{self, HookReport, Sender};

struct Fixture {
    base: common::Mirror,
    rules: RuleSet,
}

extends_mirror!(Fixture);

impl Fixture {
    async fn new(tasks: usize, rules: &str) -> Self {
        let base = common::Mirror::with_tasks(tasks).await;
        let mail = MailConfig {
            from: Some("tasksync <tasksync@example.com>".into()),
            to: vec!["team@example.com".into()],
            ..MailConfig::default()
        };
        let rules = compile(&common::rule_entries(rules), &base.source, &mail, 5)
            .unwrap_or_else(|p| panic!("{p:?}"));
        Self { base, rules }
    }

    fn db(&self) -> PathBuf {
        self.mirror_path()
    }

    /// One cycle of the daemon or of `tasksync sync`: pull, rules, then the actions.
    async fn cycle(&self) -> (SyncReport, ExecutorReport) {
        let store = Store::open(&self.db()).unwrap();
        let report = sync(
            &self.client,
            Some(&store),
            &self.source,
            &self.rules,
            &SyncOptions::default(),
        )
        .await
        .unwrap();
        let actions = perform_queued(&self.client, &store, 5).await.unwrap();
        (report, actions)
    }

    /// A page's child blocks as Notion returns them, over raw HTTP.
    /// Makes sure the task is not urgent yet, as the mirror knows it.
    async fn calm(&self, page: &str) {
        self.edit_as_person(
            page,
            &json!({ "properties": { "Priority": { "select": { "name": "Low" } } } }),
        )
        .await;
        self.cycle().await;
    }

    async fn children(&self, page: &str) -> Vec<Value> {
        let raw = Raw::new(&self.simulator, ApiVersion::V2026_03_11);
        let (status, body) = raw
            .send(
                reqwest::Method::GET,
                &format!("/v1/blocks/{page}/children?page_size=100"),
                None,
            )
            .await;
        assert_eq!(status.as_u16(), 200, "{body}");
        body["results"].as_array().unwrap().clone()
    }
}

const MARKDOWN_RULE: &str = r#"
[[rules]]
name = "escalate"
when = { property = "Priority", changed_to = "Urgent" }
actions = [{ append = """
## Escalated

Over to {{ mention(task.Assignee) }}: **urgent** since *today*, see [the runbook](https://example.com/runbook).

- check the ~~old~~ logs
  - the `api` ones
1. call the customer

- [ ] reply
- [x] triage

> They said it is blocking.

```sh
tail -f /var/log/app.log
```

---
""" }]
"#;

/// Blocks as Notion would store them: types, texts, annotations, links, a user mention.
#[tokio::test]
async fn a_markdown_append_writes_notion_blocks_and_a_user_mention() {
    let fixture = Fixture::new(4, MARKDOWN_RULE).await;
    fixture.cycle().await;
    let page = fixture.simulator.page_ids()[1].clone();
    let assignee = fixture.simulator.user_ids()[2].clone();
    let raw = Raw::new(&fixture.simulator, ApiVersion::V2026_03_11);
    let (_, users) = raw
        .send(reqwest::Method::GET, "/v1/users?page_size=100", None)
        .await;
    let user = users["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == assignee.as_str())
        .unwrap()
        .clone();
    let name = user["name"].as_str().unwrap().to_string();
    fixture.calm(&page).await;
    let before = fixture.children(&page).await.len();
    fixture
        .edit_as_person(
            &page,
            &json!({ "properties": {
                "Priority": { "select": { "name": "Urgent" } },
                "Assignee": { "people": [{ "object": "user", "id": assignee }] },
            } }),
        )
        .await;
    let (report, actions) = fixture.cycle().await;
    assert_eq!(report.fired, 1, "{report:?}");
    assert_eq!(actions.done, 1, "{actions:?}");

    let blocks = fixture.children(&page).await.split_off(before);
    let kinds: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "heading_2",
            "paragraph",
            "bulleted_list_item",
            "numbered_list_item",
            "to_do",
            "to_do",
            "quote",
            "code",
            "divider"
        ]
    );
    let rich = |block: &Value| -> Vec<Value> {
        let kind = block["type"].as_str().unwrap();
        block[kind]["rich_text"].as_array().unwrap().clone()
    };
    let plain = |block: &Value| -> String {
        rich(block)
            .iter()
            .map(|item| item["plain_text"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(plain(&blocks[0]), "Escalated");
    assert_eq!(
        plain(&blocks[1]),
        format!("Over to @{name}: urgent since today, see the runbook.")
    );
    let paragraph = rich(&blocks[1]);
    assert_eq!(paragraph[1]["type"], "mention");
    assert_eq!(paragraph[1]["mention"]["user"]["id"], assignee.as_str());
    let styled = |text: &str| {
        paragraph
            .iter()
            .find(|item| item["plain_text"] == text)
            .unwrap_or_else(|| panic!("{text} in {paragraph:?}"))
            .clone()
    };
    assert_eq!(styled("urgent")["annotations"]["bold"], true);
    assert_eq!(styled("urgent")["annotations"]["italic"], false);
    assert_eq!(styled("today")["annotations"]["italic"], true);
    assert_eq!(styled("the runbook")["href"], "https://example.com/runbook");
    assert_eq!(
        styled("the runbook")["text"]["link"]["url"],
        "https://example.com/runbook"
    );

    assert_eq!(plain(&blocks[2]), "check the old logs");
    let list = rich(&blocks[2]);
    assert_eq!(list[1]["annotations"]["strikethrough"], true);
    assert_eq!(blocks[2]["has_children"], true);
    let nested = fixture.children(blocks[2]["id"].as_str().unwrap()).await;
    assert_eq!(nested[0]["type"], "bulleted_list_item");
    assert_eq!(plain(&nested[0]), "the api ones");
    assert_eq!(rich(&nested[0])[1]["annotations"]["code"], true);
    assert_eq!(plain(&blocks[3]), "call the customer");
    assert_eq!(blocks[4]["to_do"]["checked"], false);
    assert_eq!(blocks[5]["to_do"]["checked"], true);
    assert_eq!(plain(&blocks[6]), "They said it is blocking.");
    assert_eq!(blocks[7]["code"]["language"], "shell");
    assert_eq!(plain(&blocks[7]), "tail -f /var/log/app.log");
    assert_eq!(blocks[8]["divider"], json!({}));

    // Done once: a later cycle appends nothing more.
    let (_, actions) = fixture.cycle().await;
    assert_eq!(actions, ExecutorReport::default());
    assert_eq!(fixture.children(&page).await.len(), before + blocks.len());
}

/// `format = "plain"` keeps Markdown characters as they are.
#[tokio::test]
async fn a_plain_append_reads_no_markdown() {
    let rules = r##"
[[rules]]
name = "note"
when = { property = "Priority", changed_to = "Urgent" }
actions = [{ append = "# not a heading\n\n**{{ task.title }}**", format = "plain" }]
"##;
    let fixture = Fixture::new(3, rules).await;
    fixture.cycle().await;
    let page = fixture.simulator.page_ids()[0].clone();
    fixture.calm(&page).await;
    let before = fixture.children(&page).await.len();
    fixture
        .edit_as_person(
            &page,
            &json!({ "properties": { "Priority": { "select": { "name": "Urgent" } } } }),
        )
        .await;
    fixture.cycle().await;
    let blocks = fixture.children(&page).await.split_off(before);
    let texts: Vec<(&str, &str)> = blocks
        .iter()
        .map(|b| {
            (
                b["type"].as_str().unwrap(),
                b["paragraph"]["rich_text"][0]["plain_text"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(texts[0], ("paragraph", "# not a heading"));
    assert_eq!(texts[1].0, "paragraph");
    assert!(texts[1].1.starts_with("**") && texts[1].1.ends_with("**"));
}

/// Runs the `tasksync` binary in `dir` with the simulator's token and the mail server.
fn run(dir: &std::path::Path, args: &[&str], token: &str, smtp_port: u16) -> std::process::Output {
    common::tasksync(dir)
        .args(args)
        .env("NOTION_TOKEN", token)
        .env("SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}?tls=none"))
        .output()
        .unwrap()
}

/// Mail to `{ property = "Assignee" }`: each assignee gets it at the address Notion gives; one
/// without an email (a bot) is a recorded, visible skip, never a silent drop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_to_the_assignees_reaches_each_and_shows_who_was_skipped() {
    let simulator = common::simulator(tasksync::simulator::SimulatorOptions {
        tasks: 5,
        ..Default::default()
    })
    .await;
    let token = simulator.token().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mail.jsonl");
    let server = common::smtp::SmtpServer::plain(common::smtp::SmtpServer::free_port(), &out);
    let config = format!(
        r#"[notion]
database = "{}"
base_url = "{}"
requests_per_second = 1000
[store]
path = "mirror.db"
[mail]
from = "tasksync <tasksync@example.com>"

[[rules]]
name = "tell-the-assignees"
when = {{ property = "Priority", changed_to = "Urgent" }}
actions = [{{ mail = {{ to = {{ property = "Assignee" }}, cc = ["lead@example.com"], subject = "Urgent: {{{{ task.title }}}}", body = "For {{{{ task.Assignee }}}}." }} }}]

[[rules]]
name = "tell-the-editor-only"
when = {{ property = "Priority", changed_to = "Urgent" }}
actions = [{{ mail = {{ to = [{{ property = "Assignee" }}], subject = "Only people" }} }}]
"#,
        simulator.database_id(),
        simulator.base_url()
    );
    std::fs::write(dir.path().join("tasksync.toml"), config).unwrap();
    let work = dir.path().to_path_buf();
    let port = server.port;
    let cli = |args: Vec<&'static str>| {
        let (work, token) = (work.clone(), token.clone());
        tokio::task::spawn_blocking(move || run(&work, &args, &token, port))
    };
    let synced = cli(vec!["sync"]).await.unwrap();
    assert!(synced.status.success(), "{synced:?}");

    // Two people and the integration's bot are assigned.
    let (_, users) = Raw::new(&simulator, ApiVersion::V2026_03_11)
        .send(reqwest::Method::GET, "/v1/users?page_size=100", None)
        .await;
    let users = users["results"].as_array().unwrap().clone();
    let people: Vec<&Value> = users
        .iter()
        .filter(|u| u["type"] == "person")
        .take(2)
        .collect();
    let bot = users.iter().find(|u| u["type"] == "bot").unwrap();
    let page = simulator.page_ids()[2].clone();
    common::edit_as_person(
        &simulator,
        &page,
        &json!({ "properties": { "Priority": { "select": { "name": "Low" } } } }),
    )
    .await;
    assert!(cli(vec!["sync"]).await.unwrap().status.success());
    let assignees: Vec<Value> = people
        .iter()
        .chain(std::iter::once(&bot))
        .map(|u| json!({ "object": "user", "id": u["id"] }))
        .collect();
    common::edit_as_person(
        &simulator,
        &page,
        &json!({ "properties": {
            "Priority": { "select": { "name": "Urgent" } },
            "Assignee": { "people": assignees },
        } }),
    )
    .await;
    let synced = cli(vec!["sync"]).await.unwrap();
    assert!(synced.status.success(), "{synced:?}");

    let emails: Vec<String> = people
        .iter()
        .map(|u| u["person"]["email"].as_str().unwrap().to_string())
        .collect();
    let mails = server.mails();
    let store = Store::open(&dir.path().join("mirror.db")).unwrap();
    assert_eq!(
        mails.len(),
        2,
        "{mails:?}\n{:?}\n{}",
        store.list_mail(false).await.unwrap(),
        String::from_utf8_lossy(&synced.stdout)
    );
    let mut recipients: Vec<Value> = mails.iter().map(|m| m["to"].clone()).collect();
    recipients.sort_by_key(|r| r.as_array().unwrap().len());
    assert_eq!(recipients[0], json!([emails[0], emails[1]]));
    assert_eq!(
        recipients[1],
        json!([emails[0], emails[1], "lead@example.com"])
    );

    // The bot could not be mailed: recorded on both mails, and `status` says so.
    let outbox = store.list_mail(false).await.unwrap();
    assert!(
        outbox
            .iter()
            .all(|m| m.skipped.len() == 1 && m.skipped[0].contains("a bot, which has no email")),
        "{outbox:?}"
    );
    let status = cli(vec!["status"]).await.unwrap();
    let shown = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(
        shown.contains("Mail: 0 queued, 2 sent, 0 failed, 0 skipped"),
        "{shown}"
    );
    let bot_name = bot["name"].as_str().unwrap();
    assert!(
        shown.contains(&format!(
            "skipped {bot_name} of Assignee (a bot, which has no email)"
        )),
        "{shown}"
    );

    // Only the bot assigned: nobody to send to; a skipped mail, shown with why.
    common::edit_as_person(
        &simulator,
        &page,
        &json!({ "properties": {
            "Priority": { "select": { "name": "Low" } },
            "Assignee": { "people": [{ "object": "user", "id": bot["id"] }] },
        } }),
    )
    .await;
    assert!(cli(vec!["sync"]).await.unwrap().status.success());
    common::edit_as_person(
        &simulator,
        &page,
        &json!({ "properties": { "Priority": { "select": { "name": "Urgent" } } } }),
    )
    .await;
    assert!(cli(vec!["sync"]).await.unwrap().status.success());
    assert_eq!(server.mails().len(), 3, "only the mail with a cc went out");
    let status = cli(vec!["status", "--json"]).await.unwrap();
    let json: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["mail"]["skipped"], 1, "{json}");
    let shown = String::from_utf8_lossy(&cli(vec!["status"]).await.unwrap().stdout).to_string();
    assert!(
        shown.contains(&format!("\"Only people\" (skipped): no one to send to: {bot_name} of Assignee (a bot, which has no email)")),
        "{shown}"
    );
}

/// `set` of people (by email or name) and relations (by unique ID or title) writes their ids.
#[tokio::test]
async fn set_people_and_relations_writes_their_ids() {
    let probe = common::Mirror::with_tasks(6).await;
    let (_, users) = Raw::new(&probe.simulator, ApiVersion::V2026_03_11)
        .send(reqwest::Method::GET, "/v1/users?page_size=100", None)
        .await;
    let people: Vec<Value> = users["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["type"] == "person")
        .take(2)
        .cloned()
        .collect();
    let email = people[0]["person"]["email"].as_str().unwrap();
    let name = people[1]["name"].as_str().unwrap();
    let title = probe
        .client
        .retrieve_page(
            &tasksync::notion::ids::NotionId::parse(&probe.simulator.page_ids()[3]).unwrap(),
        )
        .await
        .unwrap()
        .title()
        .clone();
    drop(probe);
    let rules = format!(
        r#"
[[rules]]
name = "hand-over"
when = {{ property = "Priority", changed_to = "Urgent" }}
actions = [{{ set = {{ Assignee = ["{email}", "{name}"], Related = ["TASK-2", "{title}"] }} }}]
"#
    );
    let fixture = Fixture::new(6, &rules).await;
    let page = fixture.simulator.page_ids()[0].clone();
    fixture.calm(&page).await;
    fixture
        .edit_as_person(
            &page,
            &json!({ "properties": { "Priority": { "select": { "name": "Urgent" } } } }),
        )
        .await;
    let (report, actions) = fixture.cycle().await;
    assert_eq!(report.fired, 1, "{report:?}");
    assert_eq!(actions.done, 1, "{actions:?}");
    let object = Raw::new(&fixture.simulator, ApiVersion::V2026_03_11)
        .page(&page)
        .await;
    let assigned: Vec<&str> = object["properties"]["Assignee"]["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        assigned,
        [
            people[0]["id"].as_str().unwrap(),
            people[1]["id"].as_str().unwrap()
        ]
    );
    let related: Vec<&str> = object["properties"]["Related"]["relation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let ids = fixture.simulator.page_ids();
    assert_eq!(related, [ids[1].as_str(), ids[3].as_str()]);

    // Our own write comes back: it is recognised, fires nothing, and is not repeated.
    let (report, actions) = fixture.cycle().await;
    assert_eq!(report.fired, 0, "{report:?}");
    assert_eq!(actions, ExecutorReport::default());
}

/// `check` names an unknown person or task at its file and line, and exits 78.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_rejects_unknown_people_and_tasks_at_their_line() {
    let simulator = common::simulator(tasksync::simulator::SimulatorOptions {
        tasks: 5,
        ..Default::default()
    })
    .await;
    let token = simulator.token().to_string();
    let dir = tempfile::tempdir().unwrap();
    let head = format!(
        "[notion]\ndatabase = \"{}\"\nbase_url = \"{}\"\nrequests_per_second = 1000\n[store]\npath = \"mirror.db\"\n",
        simulator.database_id(),
        simulator.base_url()
    );
    let rules = r#"
[[rules]]
name = "assign"
when = { property = "Priority", changed_to = "Urgent" }
actions = [
  { set = { Assignee = "nobody@example.com" } },
  { set = { Related = ["TASK-2", "TASK-999"] } },
]
"#;
    std::fs::write(dir.path().join("tasksync.toml"), format!("{head}{rules}")).unwrap();
    let work = dir.path().to_path_buf();
    let cli = |args: Vec<&'static str>| {
        let (work, token) = (work.clone(), token.clone());
        tokio::task::spawn_blocking(move || {
            common::tasksync(&work)
                .args(args)
                .env("NOTION_TOKEN", token)
                .output()
                .unwrap()
        })
    };
    // Without a mirror they cannot be checked yet: said, not failed.
    let checked = cli(vec!["check"]).await.unwrap();
    assert!(checked.status.success(), "{checked:?}");
    assert!(
        String::from_utf8_lossy(&checked.stdout)
            .contains("checked against the mirror once there is one"),
        "{checked:?}"
    );
    assert!(cli(vec!["sync"]).await.unwrap().status.success());
    let checked = cli(vec!["check"]).await.unwrap();
    assert_eq!(checked.status.code(), Some(78), "{checked:?}");
    let stderr = String::from_utf8_lossy(&checked.stderr);
    let line = |needle: &str| {
        head.lines().count() + rules.lines().position(|l| l.contains(needle)).unwrap() + 1
    };
    assert!(
        stderr.contains(&format!(
            "tasksync.toml:{}:3: rule `assign`: `set` Assignee: no one in the workspace is called or has the email `nobody@example.com`",
            line("nobody")
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "tasksync.toml:{}:3: rule `assign`: `set` Related: the mirror has no task `TASK-999`",
            line("TASK-999")
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("`TASK-2`"), "{stderr}");
}

/// The webhook outbox sent at `now`, as the daemon's outbox job does.
async fn send_webhooks(fixture: &Fixture, now: chrono::DateTime<chrono::Utc>) -> HookReport {
    let store = Store::open(&fixture.db()).unwrap();
    hooks::flush(&store, &Sender::new().unwrap(), now)
        .await
        .unwrap()
}

fn webhook_rule(url: &str) -> String {
    format!(
        r#"
[[rules]]
name = "tell-chat"
when = {{ property = "Priority", changed_to = "Urgent" }}
actions = [{{ webhook = {{ url = "{url}", body = {{ text = "Urgent: {{{{ task.title }}}}", blocks = [{{ type = "section", count = 1 }}] }} }} }}]
"#
    )
}

/// Once per firing, with a stable Idempotency-Key; 503 (with Retry-After) then 200 delivers it
/// once more after the wait, not before; another firing has another key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_is_delivered_once_per_firing_after_backoff() {
    let sink = Sink::start().await;
    let fixture = Fixture::new(4, &webhook_rule(&sink.url)).await;
    let page = fixture.simulator.page_ids()[1].clone();
    fixture.calm(&page).await;
    sink.answer(&[(503, Some("120"))]);
    fixture
        .edit_as_person(
            &page,
            &json!({ "properties": { "Priority": { "select": { "name": "Urgent" } } } }),
        )
        .await;
    let (report, _) = fixture.cycle().await;
    assert_eq!(report.fired, 1);
    let now = chrono::Utc::now();
    let first = send_webhooks(&fixture, now).await;
    assert_eq!(
        first,
        HookReport {
            sent: 0,
            retrying: 1,
            failed: 0
        }
    );
    // Not before Retry-After (120 s, more than the first backoff of 1 minute).
    let early = send_webhooks(&fixture, now + chrono::Duration::seconds(90)).await;
    assert_eq!(early, HookReport::default());
    let later = send_webhooks(&fixture, now + chrono::Duration::seconds(121)).await;
    assert_eq!(later.sent, 1);
    assert_eq!(
        send_webhooks(&fixture, now + chrono::Duration::hours(2)).await,
        HookReport::default(),
        "sent once"
    );
    let received = sink.received();
    assert_eq!(received.len(), 2, "the 503, then the delivery");
    let key = received[0].idempotency_key.clone().unwrap();
    assert!(key.starts_with("tasksync-"), "{key}");
    assert_eq!(received[1].idempotency_key.as_deref(), Some(key.as_str()));
    assert_eq!(
        received[1].content_type.as_deref(),
        Some("application/json")
    );
    let title = Raw::new(&fixture.simulator, ApiVersion::V2026_03_11)
        .page(&page)
        .await["properties"]["Name"]["title"][0]["plain_text"]
        .as_str()
        .unwrap()
        .to_string();
    let body: Value = serde_json::from_str(&received[1].body).unwrap();
    assert_eq!(
        body,
        json!({ "text": format!("Urgent: {title}"), "blocks": [{ "type": "section", "count": 1 }] })
    );

    // A second firing on the same task: a new key.
    fixture.calm(&page).await;
    fixture
        .edit_as_person(
            &page,
            &json!({ "properties": { "Priority": { "select": { "name": "Urgent" } } } }),
        )
        .await;
    fixture.cycle().await;
    assert_eq!(send_webhooks(&fixture, chrono::Utc::now()).await.sent, 1);
    let received = sink.received();
    assert_eq!(received.len(), 3);
    assert_ne!(received[2].idempotency_key.as_deref(), Some(key.as_str()));
}

/// A 4xx other than 429 is final: the webhook is failed with the answer, shown in the outbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_webhook_fails_with_the_answer() {
    let sink = Sink::start().await;
    let fixture = Fixture::new(3, &webhook_rule(&sink.url)).await;
    let page = fixture.simulator.page_ids()[0].clone();
    fixture.calm(&page).await;
    sink.answer(&[(404, None)]);
    fixture
        .edit_as_person(
            &page,
            &json!({ "properties": { "Priority": { "select": { "name": "Urgent" } } } }),
        )
        .await;
    fixture.cycle().await;
    let report = send_webhooks(&fixture, chrono::Utc::now()).await;
    assert_eq!(report.failed, 1);
    let store = Store::open(&fixture.db()).unwrap();
    let listed = store.list_webhooks(true).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].response_status, Some(404));
    assert_eq!(
        listed[0].last_error.as_deref(),
        Some("HTTP 404: scripted 404 Not Found")
    );
    assert_eq!(
        send_webhooks(&fixture, chrono::Utc::now() + chrono::Duration::hours(1)).await,
        HookReport::default()
    );
    assert_eq!(sink.received().len(), 1);
}

/// `tasksync sync` killed with SIGKILL right after the endpoint accepted a webhook: the next run
/// delivers it again with the same Idempotency-Key, once, and never again. The URL (from the
/// environment) is in neither the mirror nor the outbox listing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_killed_after_delivery_is_redelivered_once_with_the_same_key() {
    let sink = Sink::start().await;
    let simulator = common::simulator(tasksync::simulator::SimulatorOptions {
        tasks: 4,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"[notion]
database = "{}"
base_url = "{}"
requests_per_second = 1000
[store]
path = "mirror.db"

[[rules]]
name = "tell-chat"
when = {{ property = "Priority", changed_to = "Urgent" }}
actions = [{{ webhook = {{ url_env = "TASKSYNC_TEST_HOOK", body = {{ text = "{{{{ task.title }}}}" }} }} }}]
"#,
        simulator.database_id(),
        simulator.base_url()
    );
    std::fs::write(dir.path().join("tasksync.toml"), config).unwrap();
    let command = |args: &[&str]| {
        let mut command = common::tasksync(dir.path());
        command
            .args(args)
            .env("NOTION_TOKEN", simulator.token())
            .env("TASKSYNC_TEST_HOOK", &sink.url)
            .env_remove("TASKSYNC_PAUSE_AT");
        command
    };
    let run = |args: &[&str]| {
        let output = tokio::task::block_in_place(|| command(args).output().unwrap());
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    let page = simulator.page_ids()[1].clone();
    let priority = |name: &'static str| json!({ "properties": { "Priority": { "select": { "name": name } } } });
    common::edit_as_person(&simulator, &page, &priority("Low")).await;
    run(&["sync"]);
    common::edit_as_person(&simulator, &page, &priority("Urgent")).await;
    let paused = paused_at(command(&["sync"]), "webhook-answered:0");
    assert_eq!(sink.received().len(), 1, "the endpoint accepted it");
    drop(paused); // SIGKILL

    run(&["sync"]);
    let received = sink.received();
    assert_eq!(received.len(), 2, "delivered once more");
    assert_eq!(received[0].idempotency_key, received[1].idempotency_key);
    assert_eq!(received[0].body, received[1].body);
    run(&["sync"]);
    assert_eq!(sink.received().len(), 2, "and never again");

    let listed = run(&["outbox", "list"]);
    assert!(
        listed.contains("webhook#1") && listed.contains("$TASKSYNC_TEST_HOOK"),
        "{listed}"
    );
    assert!(listed.contains("sent"), "{listed}");
    // Said as a person asks: which rule, on which task (not the Idempotency-Key).
    assert!(listed.contains("rule tell-chat on \""), "{listed}");
    assert!(!listed.contains("Idempotency-Key"), "{listed}");
    assert!(!listed.contains(&sink.url), "{listed}");
    let status = run(&["status"]);
    assert!(
        status.contains("Webhooks: 0 queued, 1 sent, 0 failed"),
        "{status}"
    );
    let mirror = std::fs::read(dir.path().join("mirror.db")).unwrap();
    let url = sink.url.as_bytes();
    assert!(
        !mirror.windows(url.len()).any(|w| w == url),
        "the URL from the environment is not stored"
    );
}

/// A `tasksync` run paused at a failpoint step (debug builds), killed with SIGKILL when dropped.
struct Paused(std::process::Child);

impl Drop for Paused {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command` with `TASKSYNC_PAUSE_AT=step` and returns once it says it is paused there.
fn paused_at(mut command: std::process::Command, step: &str) -> Paused {
    let mut child = command
        .env("TASKSYNC_PAUSE_AT", step)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let paused = Paused(child);
    tokio::task::block_in_place(|| {
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
        loop {
            let line = lines.next().expect("the run pauses").unwrap();
            if line.contains(&format!("paused at {step}")) {
                break;
            }
        }
    });
    paused
}

/// The README's recurring-task rule (`repeat-weekly`), as written there.
fn readme_rule(name: &str) -> String {
    let readme = include_str!("../README.md");
    common::fenced_blocks(readme, "toml")
        .into_iter()
        .find(|block| block.contains(&format!("name = \"{name}\"")))
        .unwrap_or_else(|| panic!("the README has rule {name}"))
}

/// The README's recurring-task recipe, run through a SIGKILL right after Notion accepted the
/// create request, then again: exactly one follow-up task, due a week later, with its text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recurring_task_recipe_creates_one_follow_up_through_a_crash() {
    let simulator = common::simulator(tasksync::simulator::SimulatorOptions {
        tasks: 6,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[notion]\ndatabase = \"{}\"\nbase_url = \"{}\"\nrequests_per_second = 1000\n[store]\npath = \"mirror.db\"\n\n{}",
        simulator.database_id(),
        simulator.base_url(),
        readme_rule("repeat-weekly")
    );
    std::fs::write(dir.path().join("tasksync.toml"), config).unwrap();
    let command = |args: &[&str]| {
        let mut command = common::tasksync(dir.path());
        command
            .args(args)
            .env("NOTION_TOKEN", simulator.token())
            .env_remove("TASKSYNC_PAUSE_AT");
        command
    };
    let run = |args: &[&str]| {
        let output = tokio::task::block_in_place(|| command(args).output().unwrap());
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    let page = simulator.page_ids()[2].clone();
    common::edit_as_person(
        &simulator,
        &page,
        &json!({ "properties": {
            "Status": { "status": { "name": "In progress" } },
            "Repeat": { "select": { "name": "Weekly" } },
            "Due": { "date": { "start": "2026-12-04" } },
        } }),
    )
    .await;
    run(&["sync"]);
    common::edit_as_person(
        &simulator,
        &page,
        &json!({ "properties": { "Status": { "status": { "name": "Done" } } } }),
    )
    .await;
    // SIGKILL, with the page created and nothing recorded.
    drop(paused_at(command(&["sync"]), "create-sent:0"));
    run(&["sync"]);
    run(&["sync"]);

    let raw = Raw::new(&simulator, ApiVersion::V2026_03_11);
    let source = simulator.data_sources()[0].0.clone();
    let (_, found) = raw
        .send(
            reqwest::Method::POST,
            &format!("/v1/data_sources/{source}/query"),
            Some(json!({ "filter": { "property": "Repeat", "select": { "equals": "Weekly" } } })),
        )
        .await;
    let tasks = found["results"].as_array().unwrap();
    let title = |task: &Value| {
        task["properties"]["Name"]["title"][0]["plain_text"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let original = tasks.iter().find(|t| t["id"] == page.as_str()).unwrap();
    let follow_ups: Vec<&Value> = tasks.iter().filter(|t| t["id"] != page.as_str()).collect();
    assert_eq!(follow_ups.len(), 1, "exactly one follow-up: {found}");
    let next = follow_ups[0];
    assert_eq!(title(next), title(original));
    assert_eq!(next["properties"]["Due"]["date"]["start"], "2026-12-11");
    assert_eq!(next["properties"]["Status"]["status"]["name"], "To do");
    assert_eq!(
        next["properties"]["Related"]["relation"][0]["id"],
        page.as_str()
    );
    let next_id = next["id"].as_str().unwrap();
    let (_, children) = raw
        .send(
            reqwest::Method::GET,
            &format!("/v1/blocks/{next_id}/children"),
            None,
        )
        .await;
    let texts: Vec<String> = children["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            b["paragraph"]["rich_text"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["plain_text"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert_eq!(
        texts[0],
        format!("Next round of {}, due 2026-12-11.", title(original))
    );
    assert!(
        texts[1].starts_with("Created by tasksync (rule \"repeat-weekly\") · tasksync-"),
        "{texts:?}"
    );
    // The follow-up is tasksync's own: it fires nothing, and no third task appears.
    run(&["sync"]);
    let (_, again) = raw
        .send(
            reqwest::Method::POST,
            &format!("/v1/data_sources/{source}/query"),
            Some(json!({ "filter": { "property": "Repeat", "select": { "equals": "Weekly" } } })),
        )
        .await;
    assert_eq!(again["results"].as_array().unwrap().len(), 2);
}

/// Templates show a relation as the related tasks' titles, and people by name.
#[tokio::test]
async fn templates_show_related_titles_and_people_names() {
    let rules = r#"
[[rules]]
name = "explain"
when = { property = "Priority", changed_to = "Urgent" }
actions = [{ append = "Related: {{ task.Related }}. Assigned: {{ task.Assignee }}.", format = "plain" }]
"#;
    let fixture = Fixture::new(5, rules).await;
    let ids = fixture.simulator.page_ids();
    let page = ids[0].clone();
    let raw = Raw::new(&fixture.simulator, ApiVersion::V2026_03_11);
    let title = |object: &Value| {
        object["properties"]["Name"]["title"][0]["plain_text"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (first, second) = (raw.page(&ids[1]).await, raw.page(&ids[2]).await);
    let assignee = fixture.simulator.user_ids()[1].clone();
    fixture
        .edit_as_person(
            &page,
            &json!({ "properties": {
                "Priority": { "select": { "name": "Low" } },
                "Related": { "relation": [{ "id": ids[1] }, { "id": ids[2] }] },
                "Assignee": { "people": [{ "object": "user", "id": assignee }] },
            } }),
        )
        .await;
    fixture.cycle().await;
    let before = fixture.children(&page).await.len();
    fixture
        .edit_as_person(
            &page,
            &json!({ "properties": { "Priority": { "select": { "name": "Urgent" } } } }),
        )
        .await;
    fixture.cycle().await;
    let added = fixture.children(&page).await.split_off(before);
    let object = raw.page(&page).await;
    let name = object["properties"]["Assignee"]["people"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        added[0]["paragraph"]["rich_text"][0]["plain_text"],
        format!(
            "Related: {}, {}. Assigned: {name}.",
            title(&first),
            title(&second)
        )
    );
}
