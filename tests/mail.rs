//! Mail through a real SMTP server over TCP (tests/common/smtp.rs), with the simulator
//! for Notion and a real SQLite mirror.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::smtp::{Options, SmtpServer};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use tasksync::actions::perform_queued;
use tasksync::config::{MailConfig, RuleEntry};
use tasksync::notify::{FlushReport, Mailer, SmtpTarget, TlsMode, flush};
use tasksync::notion::ids::NotionId;
use tasksync::rules::{RuleSet, compile};
use tasksync::store::{self, Store};
use tasksync::sync::{SyncOptions, sync};

/// A raw message's header block (up to the first blank line) and its body, quoted-printable
/// decoded so it reads as written.
fn split(raw: &str) -> (String, String) {
    let raw = raw.replace("\r\n", "\n");
    let (headers, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    (headers.to_string(), quoted_printable(body))
}

fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn header<'a>(headers: &'a str, name: &str) -> Vec<&'a str> {
    headers
        .lines()
        .filter_map(|line| {
            line.split_once(':')
                .filter(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
        })
        .collect()
}

const RULES: &str = r#"
[[rules]]
name = "urgent-mail"
when.any = [
  { property = "Priority", equals = "Urgent" },
  { property = "Name", contains = "urgent" },
]
actions = [{ mail = {} }]
"#;

fn mail_config(ca: Option<PathBuf>) -> MailConfig {
    MailConfig {
        from: Some("tasksync <tasksync@example.com>".into()),
        to: vec!["team@example.com".into()],
        cc: vec!["lead@example.com".into()],
        ca_certificate: ca,
        ..MailConfig::default()
    }
}

fn plain(port: u16) -> SmtpTarget {
    SmtpTarget {
        host: "127.0.0.1".into(),
        port,
        tls: TlsMode::None,
        user: None,
    }
}

struct Fixture {
    base: common::Mirror,
    rules: RuleSet,
}

extends_mirror!(Fixture);

impl Fixture {
    async fn new(tasks: usize) -> Self {
        let base = common::Mirror::with_tasks(tasks).await;
        let rules = compile(
            &common::rule_entries(RULES),
            &base.source,
            &mail_config(None),
            5,
        )
        .unwrap();
        Self { base, rules }
    }

    async fn sync(&self, store: &Store) {
        sync(
            &self.client,
            Some(store),
            &self.source,
            &self.rules,
            &SyncOptions::default(),
        )
        .await
        .unwrap();
    }

    /// Sync, perform actions, send the outbox: what `tasksync sync` does.
    async fn cycle(&self, mailer: &Mailer) -> FlushReport {
        let store = self.store();
        self.sync(&store).await;
        perform_queued(&self.client, &store, 5).await.unwrap();
        flush(&store, mailer, Utc::now()).await.unwrap()
    }

    async fn priority(&self, page: &str, name: &str) {
        common::edit_as_person(
            &self.simulator,
            page,
            &json!({ "properties": { "Priority": { "select": { "name": name } } } }),
        )
        .await;
    }

    /// Creates a task as a person in the workspace would.
    async fn create(&self, properties: Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/v1/pages", self.simulator.base_url()))
            .bearer_auth(self.simulator.token())
            .header("Notion-Version", "2026-03-11")
            .header(tasksync::simulator::ACTING_USER_HEADER, self.simulator.user_ids()[0].as_str())
            .json(&json!({ "parent": { "data_source_id": self.source.id.to_string() }, "properties": properties }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    async fn outbox(&self) -> Vec<store::OutboxEntry> {
        self.store().list_mail(false).await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_mail_per_urgent_transition() {
    let fixture = Fixture::new(20).await;
    let out = fixture.dir.path().join("mail.jsonl");
    let server = SmtpServer::plain(SmtpServer::free_port(), &out);
    let mailer = Mailer::new(plain(server.port), None, &mail_config(None)).unwrap();
    let page = fixture.simulator.page_ids()[6].clone();
    let due = json!({ "properties": { "Priority": { "select": { "name": "Low" } }, "Due": { "date": { "start": "2026-12-01" } } } });
    common::edit_as_person(&fixture.simulator, &page, &due).await;
    assert_eq!(
        fixture.cycle(&mailer).await.sent,
        0,
        "the first sync is a baseline"
    );

    fixture.priority(&page, "Urgent").await;
    assert_eq!(fixture.cycle(&mailer).await.sent, 1);
    let mails = server.mails();
    assert_eq!(mails.len(), 1);
    let task = fixture
        .client
        .retrieve_page(&NotionId::parse(&page).unwrap())
        .await
        .unwrap();
    let (headers, body) = split(mails[0]["data"].as_str().unwrap());
    assert_eq!(
        mails[0]["to"],
        json!(["team@example.com", "lead@example.com"])
    );
    assert_eq!(
        header(&headers, "Subject"),
        [format!("[tasksync] {}", task.title())]
    );
    assert_eq!(
        header(&headers, "From"),
        ["tasksync <tasksync@example.com>"]
    );
    assert_eq!(header(&headers, "Cc"), ["lead@example.com"]);
    let message_id = header(&headers, "Message-ID")[0].to_string();
    assert!(
        message_id.starts_with("<tasksync.") && message_id.ends_with("@example.com>"),
        "{message_id}"
    );
    for field in [
        format!("Status: {}", task.status().unwrap()),
        "Due: 2026-12-01".to_string(),
        "Assignee: ".to_string(),
        "Priority: Low → Urgent".to_string(),
        format!("Open in Notion: {}", task.url),
    ] {
        assert!(body.contains(&field), "«{field}» missing from:\n{body}");
    }
    let outbox = fixture.outbox().await;
    assert_eq!(outbox[0].status.as_str(), "sent");
    assert_eq!(
        outbox[0].server_reply.as_deref(),
        Some("250 2.0.0 Ok: queued as TEST1")
    );

    // Still urgent: unrelated edits and later syncs send nothing.
    common::edit_as_person(
        &fixture.simulator,
        &page,
        &json!({ "properties": { "Estimate": { "number": 5 } } }),
    )
    .await;
    fixture.cycle(&mailer).await;
    fixture.cycle(&mailer).await;
    assert_eq!(server.mails().len(), 1);
    // Leaving and re-entering urgent is a new mail.
    fixture.priority(&page, "High").await;
    fixture.cycle(&mailer).await;
    assert_eq!(server.mails().len(), 1);
    fixture.priority(&page, "Urgent").await;
    assert_eq!(fixture.cycle(&mailer).await.sent, 1);
    let mails = server.mails();
    assert_eq!(mails.len(), 2);
    let (second, _) = split(mails[1]["data"].as_str().unwrap());
    assert_ne!(
        header(&second, "Message-ID")[0],
        message_id,
        "a new transition, a new message"
    );
}

async fn queue_one(fixture: &Fixture) {
    let page = fixture.simulator.page_ids()[2].clone();
    fixture.priority(&page, "Low").await;
    let store = fixture.store();
    fixture.sync(&store).await;
    fixture.priority(&page, "Urgent").await;
    fixture.sync(&store).await;
    assert_eq!(fixture.outbox().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_keeps_the_mail_queued_until_it_is_back() {
    let fixture = Fixture::new(10).await;
    queue_one(&fixture).await;
    let port = SmtpServer::free_port();
    let mailer = Mailer::new(plain(port), None, &mail_config(None)).unwrap();
    let store = fixture.store();
    let now = Utc::now();
    let down = flush(&store, &mailer, now).await.unwrap();
    assert_eq!((down.sent, down.retrying, down.failed), (0, 1, 0));
    let queued = &fixture.outbox().await[0];
    assert_eq!(queued.status.as_str(), "queued");
    assert!(
        queued
            .last_error
            .as_deref()
            .unwrap()
            .contains("could not talk to the SMTP server 127.0.0.1"),
        "{queued:?}"
    );
    assert!(queued.next_attempt_at.is_some());

    let out = fixture.dir.path().join("mail.jsonl");
    let server = SmtpServer::plain(port, &out);
    assert_eq!(
        flush(&store, &mailer, now).await.unwrap().sent,
        0,
        "not before the backoff"
    );
    assert_eq!(
        flush(&store, &mailer, now + Duration::minutes(2))
            .await
            .unwrap()
            .sent,
        1
    );
    assert_eq!(
        flush(&store, &mailer, now + Duration::minutes(10))
            .await
            .unwrap(),
        FlushReport::default()
    );
    assert_eq!(server.mails().len(), 1, "delivered exactly once");
    assert_eq!(fixture.outbox().await[0].attempts, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4xx_reply_is_retried_and_a_5xx_reply_fails_until_retried_by_hand() {
    let fixture = Fixture::new(10).await;
    queue_one(&fixture).await;
    let out = fixture.dir.path().join("mail.jsonl");
    let port = SmtpServer::free_port();
    let store = fixture.store();
    let mailer = Mailer::new(plain(port), None, &mail_config(None)).unwrap();
    {
        let _tempfail = SmtpServer::start(
            port,
            &out,
            Options {
                tempfail: 1,
                ..Options::default()
            },
        );
        assert_eq!(
            flush(&store, &mailer, Utc::now()).await.unwrap().retrying,
            1,
            "451 is transient"
        );
    }
    let rejecting = SmtpServer::start(
        port,
        &out,
        Options {
            reject: Some(550),
            ..Options::default()
        },
    );
    let later = Utc::now() + Duration::minutes(5);
    assert_eq!(flush(&store, &mailer, later).await.unwrap().failed, 1);
    let failed = &fixture.outbox().await[0];
    assert_eq!(failed.status.as_str(), "failed");
    let error = failed.last_error.as_deref().unwrap();
    assert!(
        error.contains("refused the mail")
            && error.contains("550")
            && error.contains("Recipient address rejected"),
        "{error}"
    );
    drop(rejecting);

    // Fixed: `tasksync mail list --failed` shows it; `tasksync mail retry` sends it at once.
    let server = SmtpServer::plain(port, &out);
    let config = format!(
        "[store]\npath = \"{}\"\n[mail]\nfrom = \"tasksync <tasksync@example.com>\"\n",
        fixture.dir.path().join("mirror.db").display()
    );
    std::fs::write(fixture.dir.path().join("tasksync.toml"), config).unwrap();
    let cli = |args: &[&str]| {
        Command::new(assert_cmd::cargo::cargo_bin("tasksync"))
            .args(args)
            .current_dir(fixture.dir.path())
            .env("SMTP_URL", format!("smtp://127.0.0.1:{port}?tls=none"))
            .output()
            .unwrap()
    };
    let listed = cli(&["mail", "list", "--failed"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("failed") && listed.contains("550"),
        "{listed}"
    );
    let retried = cli(&["mail", "retry", "--all"]);
    assert!(
        retried.status.success(),
        "{}",
        String::from_utf8_lossy(&retried.stderr)
    );
    let said = String::from_utf8_lossy(&retried.stdout);
    assert!(said.contains("Sent 1, 0 retrying, 0 failed"), "{said}");
    assert_eq!(server.mails().len(), 1);
    assert_eq!(flush(&store, &mailer, Utc::now()).await.unwrap().sent, 0);
    assert_eq!(fixture.outbox().await[0].status.as_str(), "sent");
}

/// A self-signed root and the server certificate it signs for `localhost`: (root, cert, key).
/// (webpki, rightly, does not accept a certificate that signs itself as a server's.)
fn private_authority(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let root_key = KeyPair::generate().unwrap();
    let mut root_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root_params
        .distinguished_name
        .push(DnType::CommonName, "tasksync test root");
    let root = root_params.self_signed(&root_key).unwrap();
    let issuer = Issuer::new(root_params, root_key);
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let paths = (
        dir.join("root.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, root.pem()).unwrap();
    std::fs::write(&paths.1, server.pem()).unwrap();
    std::fs::write(&paths.2, server_key.serialize_pem()).unwrap();
    paths
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_and_auth_with_a_certificate_trusted_by_configuration() {
    let fixture = Fixture::new(10).await;
    queue_one(&fixture).await;
    let (root, cert, key) = private_authority(fixture.dir.path());
    let out = fixture.dir.path().join("mail.jsonl");
    let port = SmtpServer::free_port();
    let server = SmtpServer::start(
        port,
        &out,
        Options {
            tls: Some((cert, key)),
            auth: Some(("ada".into(), "correct horse".into())),
            ..Options::default()
        },
    );
    let store = fixture.store();
    let target = tasksync::notify::parse_smtp_url(&format!("smtp://ada@localhost:{port}")).unwrap();
    assert_eq!(target.tls, TlsMode::Required);

    // Without trusting the certificate, TLS fails (verification is never switched off).
    let untrusting = Mailer::new(
        target.clone(),
        Some("correct horse".to_string().into()),
        &mail_config(None),
    )
    .unwrap();
    flush(&store, &untrusting, Utc::now()).await.unwrap();
    let error = fixture.outbox().await[0].last_error.clone().unwrap();
    assert!(error.contains("ca_certificate"), "{error}");

    // A wrong password: a clear error naming SMTP authentication.
    let wrong = Mailer::new(
        target.clone(),
        Some("battery staple".to_string().into()),
        &mail_config(Some(root.clone())),
    )
    .unwrap();
    let report = flush(&store, &wrong, Utc::now() + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(report.failed, 1, "{report:?} {:?}", fixture.outbox().await);
    let error = fixture.outbox().await[0].last_error.clone().unwrap();
    assert!(
        error.starts_with("SMTP authentication failed (") && error.contains("at ada@localhost:"),
        "{error}"
    );
    assert!(
        error.contains("535") && error.contains("SMTP_PASSWORD"),
        "{error}"
    );
    assert!(
        !error.contains("battery staple"),
        "the password stays out of errors"
    );

    store.retry_mail(None).await.unwrap();
    let right = Mailer::new(
        target,
        Some("correct horse".to_string().into()),
        &mail_config(Some(root)),
    )
    .unwrap();
    assert_eq!(flush(&store, &right, Utc::now()).await.unwrap().sent, 1);
    assert_eq!(server.mails().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_cannot_add_a_header() {
    let fixture = Fixture::new(5).await;
    let out = fixture.dir.path().join("mail.jsonl");
    let server = SmtpServer::plain(SmtpServer::free_port(), &out);
    let mailer = Mailer::new(plain(server.port), None, &mail_config(None)).unwrap();
    fixture.cycle(&mailer).await;
    let title = "Server down\r\nBcc: someone@example.com";
    fixture
        .create(json!({
            "Name": { "title": [{ "text": { "content": title } }] },
            "Priority": { "select": { "name": "Urgent" } },
        }))
        .await;
    assert_eq!(fixture.cycle(&mailer).await.sent, 1);
    let mails = server.mails();
    assert_eq!(
        mails[0]["to"],
        json!(["team@example.com", "lead@example.com"]),
        "no extra recipient"
    );
    let (headers, body) = split(mails[0]["data"].as_str().unwrap());
    assert!(header(&headers, "Bcc").is_empty(), "{headers}");
    assert_eq!(
        header(&headers, "Subject"),
        ["[tasksync] Server down  Bcc: someone@example.com"]
    );
    assert!(
        body.contains("Server down\nBcc: someone@example.com"),
        "the title is intact in the body:\n{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_while_sending_delivers_after_restart_with_the_same_message_id() {
    let fixture = Fixture::new(10).await;
    queue_one(&fixture).await;
    let out = fixture.dir.path().join("mail.jsonl");
    let port = SmtpServer::free_port();
    let config = format!(
        "[notion]\ndatabase = \"{}\"\nbase_url = \"{}\"\n[store]\npath = \"mirror.db\"\n[mail]\nfrom = \"tasksync <tasksync@example.com>\"\nto = [\"team@example.com\"]\n{RULES}",
        fixture.simulator.database_id(),
        fixture.simulator.base_url()
    );
    std::fs::write(fixture.dir.path().join("tasksync.toml"), config).unwrap();
    let run = || {
        tokio::process::Command::new(assert_cmd::cargo::cargo_bin("tasksync"))
            .arg("sync")
            .current_dir(fixture.dir.path())
            .env("XDG_RUNTIME_DIR", fixture.dir.path().join("run"))
            .env("TASKSYNC_LOCK_SCOPE", fixture.dir.path().join("run"))
            .env("NOTION_TOKEN", fixture.simulator.token())
            .env("SMTP_URL", format!("smtp://127.0.0.1:{port}?tls=none"))
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    {
        // The server takes the mail, then does not answer: kill the sender in that window.
        let stalling = SmtpServer::start(
            port,
            &out,
            Options {
                stall: Some(std::time::Duration::from_secs(60)),
                ..Options::default()
            },
        );
        let mut child = run();
        for _ in 0..500 {
            if !stalling.mails().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(stalling.mails().len(), 1, "the server received the mail");
        child.start_kill().unwrap();
        child.wait().await.unwrap();
    }
    assert_eq!(
        fixture.outbox().await[0].status.as_str(),
        "sending",
        "killed before the bookkeeping"
    );
    let server = SmtpServer::plain(port, &out);
    assert!(run().wait().await.unwrap().success());
    let mails = server.mails();
    assert_eq!(mails.len(), 2, "resent once after the restart");
    let ids: Vec<String> = mails
        .iter()
        .map(|m| header(&split(m["data"].as_str().unwrap()).0, "Message-ID")[0].to_string())
        .collect();
    assert_eq!(ids[0], ids[1], "the duplicate carries the same Message-ID");
    assert_eq!(fixture.outbox().await[0].status.as_str(), "sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_test_reports_the_server_reply_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mail.jsonl");
    let server = SmtpServer::plain(SmtpServer::free_port(), &out);
    std::fs::write(
        dir.path().join("tasksync.toml"),
        "[mail]\nfrom = \"tasksync <tasksync@example.com>\"\nto = [\"team@example.com\"]\n",
    )
    .unwrap();
    let run = |env: &[(&str, String)], args: &[&str]| {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("tasksync"));
        command
            .args(["mail", "test"])
            .args(args)
            .current_dir(dir.path())
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .env_remove("SMTP_URL")
            .env_remove("SMTP_PASSWORD");
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().unwrap()
    };
    let sent = run(
        &[(
            "SMTP_URL",
            format!("smtp://127.0.0.1:{}?tls=none", server.port),
        )],
        &["--to", "ada@example.com"],
    );
    let stdout = String::from_utf8_lossy(&sent.stdout);
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(
        stdout.contains("Sent. The server answered: 250 2.0.0 Ok: queued as TEST1"),
        "{stdout}"
    );
    assert_eq!(server.mails()[0]["to"], json!(["ada@example.com"]));

    let missing = run(&[], &[]);
    assert_eq!(missing.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("SMTP_URL is not set"));
    let secret_in_url = run(
        &[("SMTP_URL", "smtps://ada:hunter2@smtp.example.com".into())],
        &[],
    );
    assert_eq!(secret_in_url.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&secret_in_url.stderr);
    assert!(
        stderr.contains("put it in SMTP_PASSWORD") && !stderr.contains("hunter2"),
        "{stderr}"
    );
    let refused = run(
        &[(
            "SMTP_URL",
            format!("smtp://127.0.0.1:{}?tls=none", SmtpServer::free_port()),
        )],
        &[],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("could not talk to the SMTP server 127.0.0.1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_alternative_is_sent_and_escapes_task_text() {
    let fixture = Fixture::new(5).await;
    let html_rules = RULES.replace(
        "actions = [{ mail = {} }]",
        "actions = [{ mail = { html = \"<p>{{ task.title }}</p>\" } }]",
    );
    let config = tasksync::config::parse(&html_rules).unwrap();
    let entries: Vec<RuleEntry> = config
        .rules
        .into_iter()
        .map(|rule| RuleEntry {
            source: None,
            file: "rules.toml".into(),
            text: html_rules.clone().into(),
            rule,
        })
        .collect();
    let rules = compile(&entries, &fixture.source, &mail_config(None), 5).unwrap();
    let fixture = Fixture { rules, ..fixture };
    let out = fixture.dir.path().join("mail.jsonl");
    let server = SmtpServer::plain(SmtpServer::free_port(), &out);
    let mailer = Mailer::new(plain(server.port), None, &mail_config(None)).unwrap();
    fixture.cycle(&mailer).await;
    fixture
        .create(json!({
            "Name": { "title": [{ "text": { "content": "Urgent <script>alert(1)</script>" } }] },
        }))
        .await;
    assert_eq!(fixture.cycle(&mailer).await.sent, 1);
    let (headers, body) = split(server.mails()[0]["data"].as_str().unwrap());
    assert!(
        header(&headers, "Content-Type")[0].starts_with("multipart/alternative"),
        "{headers}"
    );
    assert!(
        body.contains("Content-Type: text/plain") && body.contains("Content-Type: text/html"),
        "{body}"
    );
    assert!(
        body.contains("<p>Urgent &lt;script&gt;alert(1)&lt;&#x2f;script&gt;</p>"),
        "escaped in HTML:\n{body}"
    );
    assert!(
        body.contains("Urgent <script>alert(1)</script>\n"),
        "as written in the text part:\n{body}"
    );
}

/// RFC 5322 §2.1.1: a header line is at most 998 characters. A title of 1,200 characters without
/// a space cannot be folded, so the subject is cut (with an ellipsis) instead of the server
/// refusing the mail; the body keeps the whole title.
#[tokio::test]
async fn a_very_long_title_still_makes_a_deliverable_mail() {
    let fixture = Fixture::new(5).await;
    let out = fixture.dir.path().join("mail.jsonl");
    let server = SmtpServer::plain(SmtpServer::free_port(), &out);
    let mailer = Mailer::new(plain(server.port), None, &mail_config(None)).unwrap();
    fixture.cycle(&mailer).await;
    let title = "x".repeat(1200);
    fixture
        .create(json!({
            "Name": { "title": [{ "text": { "content": title } }] },
            "Priority": { "select": { "name": "Urgent" } },
        }))
        .await;
    let report = fixture.cycle(&mailer).await;
    assert_eq!((report.sent, report.failed), (1, 0), "{report:?}");
    let mails = server.mails();
    let (headers, _) = split(mails[0]["data"].as_str().unwrap());
    // Unfolded (RFC 5322 §2.2.3): lettre folds the subject at its space.
    let headers = headers.replace("\r\n ", " ").replace("\n ", " ");
    assert_eq!(
        header(&headers, "Subject"),
        [format!("[tasksync] {}...", "x".repeat(186))]
    );
    assert!(
        mails[0]["data"]
            .as_str()
            .unwrap()
            .lines()
            .all(|line| line.len() <= 998),
        "every line within 998"
    );
}
