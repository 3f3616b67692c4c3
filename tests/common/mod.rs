//! Shared test helpers: a simulator per test, a client pointed at it.
#![allow(dead_code)]

pub mod daemon;
pub mod sink;
pub mod smtp;

use secrecy::SecretString;
use tasksync::notion::pacing::RetryPolicy;
use tasksync::notion::{ApiVersion, ClientSettings, NotionClient};
use tasksync::simulator::{Simulator, SimulatorOptions};

/// A loopback port free right now (for a server a test starts on it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A simulator on a free loopback port.
pub async fn simulator(options: SimulatorOptions) -> Simulator {
    Simulator::start(options, ([127, 0, 0, 1], 0).into())
        .await
        .expect("the simulator starts")
}

/// Client settings for a simulator: its token, the given version, no pacing, default retries.
pub fn settings(simulator: &Simulator, version: ApiVersion) -> ClientSettings {
    let mut settings = ClientSettings::new(
        simulator.base_url(),
        SecretString::from(simulator.token().to_string()),
    );
    settings.api_version = version;
    settings.requests_per_second = 0.0;
    settings.retry = RetryPolicy::default();
    settings
}

pub fn client(simulator: &Simulator, version: ApiVersion) -> NotionClient {
    NotionClient::new(settings(simulator, version)).expect("the client builds")
}

/// A simulator with `tasks` tasks and a client for it.
pub async fn setup(tasks: usize, version: ApiVersion) -> (Simulator, NotionClient) {
    let simulator = simulator(SimulatorOptions {
        tasks,
        ..SimulatorOptions::default()
    })
    .await;
    let client = client(&simulator, version);
    (simulator, client)
}

pub const QUERY: &str = "POST /v1/data_sources/{data_source_id}/query";

/// Edits a page as a person in the workspace would (not the integration), trying again when the
/// simulator injects a failure. `body` is the PATCH body (`{"properties": ...}` or `{"in_trash": ...}`).
pub async fn edit_as_person(simulator: &Simulator, page: &str, body: &serde_json::Value) {
    let person = simulator.user_ids()[3].clone();
    for _ in 0..20 {
        let response = reqwest::Client::new()
            .patch(format!("{}/v1/pages/{page}", simulator.base_url()))
            .bearer_auth(simulator.token())
            .header("Notion-Version", "2026-03-11")
            .header(tasksync::simulator::ACTING_USER_HEADER, person.as_str())
            .json(body)
            .send()
            .await;
        match response {
            Ok(response) if response.status() == 200 => return,
            Ok(response) if response.status().is_client_error() && response.status() != 429 => {
                panic!("{}", response.text().await.unwrap_or_default())
            }
            _ => continue,
        }
    }
    panic!("the edit never went through");
}

/// Starts `tasksync sync` in `dir` (which holds `tasksync.toml`), output discarded.
pub fn spawn_sync(dir: &std::path::Path, token: &str) -> tokio::process::Child {
    tokio::process::Command::new(assert_cmd::cargo::cargo_bin("tasksync"))
        .arg("sync")
        .current_dir(dir)
        .env("NOTION_TOKEN", token)
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env("TASKSYNC_LOCK_SCOPE", dir.join("run"))
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tasksync sync starts")
}

/// The contents of the fenced code blocks of one language, in order.
pub fn fenced_blocks(readme: &str, language: &str) -> Vec<String> {
    let opening = format!("```{language}");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim()) {
            (None, fence) if fence == opening => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// Raw HTTP against a simulator, as any Notion client would send it.
pub struct Raw {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub version: &'static str,
}

impl Raw {
    pub fn new(simulator: &Simulator, version: ApiVersion) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: simulator.base_url().to_string(),
            token: simulator.token().to_string(),
            version: version.as_str(),
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("Notion-Version", self.version)
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// `GET /v1/pages/{id}`: the page object (or the error body).
    pub async fn page(&self, id: &str) -> serde_json::Value {
        self.send(reqwest::Method::GET, &format!("/v1/pages/{id}"), None)
            .await
            .1
    }

    pub async fn query(
        &self,
        source: &str,
        body: serde_json::Value,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        self.send(
            reqwest::Method::POST,
            &format!("/v1/data_sources/{source}/query"),
            Some(body),
        )
        .await
    }
}

/// `tasksync` run in `dir` as a person would: its own runtime directory (per-machine locks of
/// this test only), no `RUST_LOG`, not under systemd.
pub fn tasksync(dir: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("tasksync"));
    command
        .current_dir(dir)
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env("TASKSYNC_LOCK_SCOPE", dir.join("run"))
        .env_remove("RUST_LOG")
        .env_remove("INVOCATION_ID")
        .env_remove("TASKSYNC_CONFIG");
    command
}

/// `tasksync simulator` running in a process of its own (so that stopping it closes every
/// connection, as Notion going away does); killed on drop.
pub struct SimulatorProcess {
    pub child: std::process::Child,
    pub base_url: String,
    pub database: String,
    pub data_sources: Vec<String>,
}

impl SimulatorProcess {
    /// Starts it on `listen` (`127.0.0.1:0` for a free port), accepting `token` (or its default
    /// one), with `extra` arguments (`--tasks`, `--data-sources`, `--faults`, ...).
    pub fn start(listen: &str, token: Option<&str>, extra: &[&str]) -> Self {
        use std::io::BufRead;
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("tasksync"));
        command.args(["simulator", "--listen", listen]);
        if let Some(token) = token {
            command.args(["--token", token]);
        }
        let mut child = command
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("tasksync simulator starts");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut next = || lines.next().expect("a line").expect("readable");
        let base_url = next();
        assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
        let database = next()
            .strip_prefix("database ")
            .expect("database line")
            .to_string();
        let data_source_count = match extra.windows(2).find(|pair| pair[0] == "--data-sources") {
            Some(pair) => pair[1].parse().expect("a count"),
            None => 1,
        };
        // Every line, read before the pipe closes (a write to a closed pipe would end it).
        let data_sources = (0..data_source_count)
            .map(|_| {
                next()
                    .strip_prefix("data_source ")
                    .expect("data_source line")
                    .to_string()
            })
            .collect();
        Self {
            child,
            base_url,
            database,
            data_sources,
        }
    }

    /// Stops it (every connection closes).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SimulatorProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The one number `sql` returns from the SQLite file at `path`, as a user's `sqlite3` would
/// read it; `None` when the file cannot be read or the query fails (a mirror being created).
pub fn sql_number(path: &std::path::Path, sql: &str) -> Option<i64> {
    rusqlite::Connection::open(path)
        .and_then(|c| c.query_row(sql, [], |row| row.get(0)))
        .ok()
}

/// One text from the SQLite file at `path` (panics when there is none).
pub fn sql_text(path: &std::path::Path, sql: &str) -> String {
    rusqlite::Connection::open(path)
        .and_then(|c| c.query_row(sql, [], |row| row.get(0)))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Waits (polling the SQLite file at `path`) until `sql` returns `expected`; how long it took.
/// For tests of a real process (the daemon), whose time cannot be paused.
pub async fn until_sql(
    path: &std::path::Path,
    sql: &str,
    expected: i64,
    limit: std::time::Duration,
) -> std::time::Duration {
    let started = std::time::Instant::now();
    while sql_number(path, sql).unwrap_or(-1) != expected {
        assert!(
            started.elapsed() < limit,
            "`{sql}` did not reach {expected} within {limit:?} (now {:?})",
            sql_number(path, sql)
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// Makes a test file's `Fixture { base: Mirror, .. }` usable as the `Mirror` it extends.
#[macro_export]
macro_rules! extends_mirror {
    ($fixture:ident) => {
        impl std::ops::Deref for $fixture {
            type Target = common::Mirror;
            fn deref(&self) -> &common::Mirror {
                &self.base
            }
        }

        impl std::ops::DerefMut for $fixture {
            fn deref_mut(&mut self) -> &mut common::Mirror {
                &mut self.base
            }
        }
    };
}

/// What every sync, rules and mail test starts from: a simulator, a client of it (latest API
/// version), its data source, and a directory for the mirror (`mirror.db`). Each test file's
/// fixture adds its own (rules, a mailer) and derefs to this.
pub struct Mirror {
    pub simulator: Simulator,
    pub client: NotionClient,
    pub source: tasksync::model::DataSource,
    pub dir: tempfile::TempDir,
}

impl Mirror {
    pub async fn new(options: SimulatorOptions) -> Self {
        let simulator = simulator(options).await;
        let client = client(&simulator, ApiVersion::V2026_03_11);
        let database = tasksync::notion::ids::NotionId::parse(&simulator.database_id()).unwrap();
        let source = client.resolve_data_source(&database, None).await.unwrap();
        Self {
            simulator,
            client,
            source,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub async fn with_tasks(tasks: usize) -> Self {
        Self::new(SimulatorOptions {
            tasks,
            ..SimulatorOptions::default()
        })
        .await
    }

    /// The mirror's file.
    pub fn mirror_path(&self) -> std::path::PathBuf {
        self.dir.path().join("mirror.db")
    }

    /// The mirror, opened (as each `tasksync` run opens it).
    pub fn store(&self) -> tasksync::store::Store {
        tasksync::store::Store::open(&self.mirror_path()).unwrap()
    }

    /// Edits a task in Notion as a person would.
    pub async fn edit_as_person(&self, page: &str, body: &serde_json::Value) {
        edit_as_person(&self.simulator, page, body).await;
    }
}

/// The `[[rules]]` of `text`, as if read from `rules.toml`.
pub fn rule_entries(text: &str) -> Vec<tasksync::config::RuleEntry> {
    let config = tasksync::config::parse(text).unwrap_or_else(|p| panic!("{p:?}"));
    config
        .rules
        .into_iter()
        .map(|rule| tasksync::config::RuleEntry {
            source: None,
            file: "rules.toml".into(),
            text: text.into(),
            rule,
        })
        .collect()
}

/// `tasksync ARGS` in `dir` (see [`tasksync`]) with `token` as NOTION_TOKEN; its output.
pub fn run_with_token(dir: &std::path::Path, args: &[&str], token: &str) -> std::process::Output {
    tasksync(dir)
        .args(args)
        .env("NOTION_TOKEN", token)
        .output()
        .expect("tasksync runs")
}

/// `tasksync status --check` in `dir`: the exit code and the line it printed.
pub fn status_check(dir: &std::path::Path, token: &str) -> (i32, String) {
    let output = run_with_token(dir, &["status", "--check"], token);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
    )
}
