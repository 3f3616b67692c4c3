//! The SQLite mirror: the only module that writes SQL.
//!
//! Tables (a user contract, documented in the README): `tasks`, `task_changes`, `sync_state`,
//! `sync_runs`. Migrations are an append-only list applied in one transaction, progress kept in
//! `PRAGMA user_version`. WAL mode, foreign keys, a busy timeout; the file is created readable by
//! its owner only. rusqlite is synchronous: async callers go through [`Store::call`], which runs
//! the work on the blocking pool.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use serde::Serialize;

use crate::model::automation::{Firing, PlannedAction, RuleStateChange, message_id};
use crate::model::run::{JobKind, JobOutcome};
use crate::model::stored::{Change, MirroredTask};

/// Schema migrations, in order. Never edit or reorder an entry: append a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tasks (
    id               TEXT PRIMARY KEY,
    data_source_id   TEXT NOT NULL,
    title            TEXT NOT NULL DEFAULT '',
    status           TEXT,
    url              TEXT NOT NULL DEFAULT '',
    created_time     TEXT NOT NULL,
    last_edited_time TEXT NOT NULL,
    created_by       TEXT,
    last_edited_by   TEXT,
    deleted_at       TEXT,
    properties_json  TEXT NOT NULL,
    content_hash     TEXT NOT NULL,
    first_seen_at    TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX tasks_by_source ON tasks (data_source_id, deleted_at);
CREATE INDEX tasks_by_status ON tasks (status);

CREATE TABLE sync_runs (
    id             INTEGER PRIMARY KEY,
    data_source_id TEXT NOT NULL,
    kind           TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    finished_at    TEXT,
    result         TEXT NOT NULL DEFAULT 'running',
    new_tasks      INTEGER NOT NULL DEFAULT 0,
    changed        INTEGER NOT NULL DEFAULT 0,
    deleted        INTEGER NOT NULL DEFAULT 0,
    restored       INTEGER NOT NULL DEFAULT 0,
    unchanged      INTEGER NOT NULL DEFAULT 0,
    requests       INTEGER NOT NULL DEFAULT 0,
    duration_ms    INTEGER,
    error          TEXT
);

CREATE TABLE task_changes (
    id          INTEGER PRIMARY KEY,
    task_id     TEXT NOT NULL REFERENCES tasks (id),
    property    TEXT NOT NULL,
    property_id TEXT,
    old_value   TEXT,
    new_value   TEXT,
    old_json    TEXT,
    new_json    TEXT,
    observed_at TEXT NOT NULL,
    edited_at   TEXT,
    edited_by   TEXT,
    sync_run_id INTEGER REFERENCES sync_runs (id)
);
CREATE INDEX task_changes_by_task ON task_changes (task_id, id);
CREATE INDEX task_changes_by_property ON task_changes (property, new_value);

CREATE TABLE sync_state (
    data_source_id    TEXT PRIMARY KEY,
    database_id       TEXT,
    name              TEXT,
    cursor            TEXT,
    last_sync_at      TEXT,
    last_full_sync_at TEXT,
    last_reconcile_at TEXT,
    schema_json       TEXT
);
"#,
    r#"
ALTER TABLE sync_state ADD COLUMN bot_user_id TEXT;

CREATE TABLE rule_firings (
    id          INTEGER PRIMARY KEY,
    rule        TEXT NOT NULL,
    task_id     TEXT NOT NULL REFERENCES tasks (id),
    transition  TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT,
    chain_depth INTEGER NOT NULL DEFAULT 0,
    fired_at    TEXT NOT NULL,
    sync_run_id INTEGER REFERENCES sync_runs (id),
    UNIQUE (rule, task_id, transition)
);
CREATE INDEX rule_firings_by_task ON rule_firings (task_id, id);

CREATE TABLE actions (
    id           INTEGER PRIMARY KEY,
    firing_id    INTEGER NOT NULL REFERENCES rule_firings (id),
    task_id      TEXT NOT NULL REFERENCES tasks (id),
    kind         TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    done_at      TEXT
);
CREATE INDEX actions_by_status ON actions (status, id);
CREATE INDEX actions_by_task ON actions (task_id, kind, status);

CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    firing_id       INTEGER REFERENCES rule_firings (id),
    task_id         TEXT REFERENCES tasks (id),
    message_id      TEXT NOT NULL UNIQUE,
    to_json         TEXT NOT NULL,
    cc_json         TEXT NOT NULL DEFAULT '[]',
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT,
    status          TEXT NOT NULL DEFAULT 'queued',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX mail_outbox_by_status ON mail_outbox (status, id);

CREATE TABLE rule_states (
    rule    TEXT NOT NULL,
    task_id TEXT NOT NULL REFERENCES tasks (id),
    since   TEXT NOT NULL,
    PRIMARY KEY (rule, task_id)
);

CREATE TABLE rule_baselines (
    rule           TEXT NOT NULL,
    data_source_id TEXT NOT NULL,
    evaluated_at   TEXT NOT NULL,
    PRIMARY KEY (rule, data_source_id)
);
"#,
    r#"
ALTER TABLE mail_outbox ADD COLUMN server_reply TEXT;
"#,
    // Every attempt of every job (sync, reconcile, outbox, time_rules, full, reload), failures
    // before the first request included: what `status` and `status --check` report.
    r#"
CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY,
    job         TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT NOT NULL DEFAULT 'running',
    error       TEXT
);
CREATE INDEX job_runs_by_job ON job_runs (job, id);
"#,
    // An append's batches (design.md §9): the block each was sent after, then the blocks it
    // created. A batch with an anchor and no blocks is decided from the page after the anchor.
    r#"
CREATE TABLE append_batches (
    action_id      INTEGER NOT NULL REFERENCES actions (id),
    batch          INTEGER NOT NULL,
    anchor         TEXT,
    block_ids_json TEXT,
    started_at     TEXT NOT NULL,
    landed_at      TEXT,
    PRIMARY KEY (action_id, batch)
);
"#,
    // Schema drift and people by name: every name a property has had (a rule naming a former
    // name follows the rename by id); the rules suspended because they do not fit the schema as
    // it is now; the workspace's users, from Notion's users endpoint.
    r#"
CREATE TABLE property_names (
    data_source_id TEXT NOT NULL,
    name           TEXT NOT NULL,
    property_id    TEXT NOT NULL,
    seen_at        TEXT NOT NULL,
    PRIMARY KEY (data_source_id, name)
);
CREATE TABLE rule_suspensions (
    rule   TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    since  TEXT NOT NULL
);
CREATE TABLE users (
    id      TEXT PRIMARY KEY,
    name    TEXT,
    email   TEXT,
    kind    TEXT,
    seen_at TEXT NOT NULL
);
"#,
];

/// The schema version a migrated mirror has (`PRAGMA user_version`).
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// A change read back from history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryRow {
    pub property: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub observed_at: String,
    pub edited_at: Option<String>,
    /// The user id of who made the change (when Notion says).
    pub edited_by: Option<String>,
    /// Their name, when the mirror's `users` knows it.
    pub edited_by_name: Option<String>,
}

impl HistoryRow {
    /// Who made the change, for people: the name when known, else the user id.
    pub fn by(&self) -> Option<&str> {
        self.edited_by_name.as_deref().or(self.edited_by.as_deref())
    }
}

/// What the mirror knows of a task, for deciding whether a fetched version is new.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredVersion {
    pub content_hash: String,
    pub last_edited_time: String,
    pub deleted_at: Option<String>,
    pub properties_json: String,
}

/// The writes of one batch of pages: applied in one transaction with the cursor they justify.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub data_source_id: String,
    pub run_id: i64,
    pub observed_at: String,
    pub upserts: Vec<MirroredTask>,
    pub changes: Vec<Change>,
    pub firings: Vec<Firing>,
    pub rule_states: Vec<RuleStateChange>,
    /// The new cursor, when this batch lets it advance.
    pub cursor: Option<String>,
}

/// Per data source sync bookkeeping.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SyncState {
    pub data_source_id: String,
    pub database_id: Option<String>,
    pub name: Option<String>,
    pub cursor: Option<String>,
    pub last_sync_at: Option<String>,
    pub last_full_sync_at: Option<String>,
    pub last_reconcile_at: Option<String>,
    /// The property names by id (internal: not part of `status --json`).
    #[serde(skip)]
    pub schema_json: Option<String>,
}

/// Counts of one sync run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunCounts {
    pub new: u64,
    pub changed: u64,
    pub deleted: u64,
    pub restored: u64,
    pub unchanged: u64,
    pub requests: u64,
}

/// The mirror. Cheap to clone: clones share one connection.
#[derive(Clone)]
pub struct Store {
    connection: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating it, owner-only, if needed) and migrates the mirror.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        create_private(path)?;
        let mut connection = Connection::open(path)
            .with_context(|| format!("cannot open the mirror {}", path.display()))?;
        connection.busy_timeout(Duration::from_secs(10))?;
        // Before anything changes the file: another application's database is left untouched.
        identify(&connection, path)?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .with_context(|| format!("cannot use WAL mode on {}", path.display()))?;
        connection.pragma_update(None, "foreign_keys", true)?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        migrate(&mut connection)
            .with_context(|| format!("cannot migrate the mirror {}", path.display()))?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing mirror read-only (for dry runs and offline reads), or `None` when the
    /// file does not exist. Never creates or changes anything.
    pub fn open_read_only(path: &Path) -> anyhow::Result<Option<Self>> {
        if !path.exists() {
            return Ok(None);
        }
        // Without a write-ahead log there is no writer mid-transaction: open the file immutable,
        // which creates no `-wal`/`-shm` files beside it. Otherwise read through the existing log.
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let connection = if wal.exists() {
            Connection::open_with_flags(path, flags)
        } else {
            Connection::open_with_flags(immutable_uri(path), flags)
        }
        .with_context(|| format!("cannot open the mirror {}", path.display()))?;
        connection.busy_timeout(Duration::from_secs(10))?;
        identify(&connection, path)?;
        let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if version as usize > MIGRATIONS.len() {
            anyhow::bail!(
                "{} was written by a newer tasksync (schema {version}); upgrade tasksync",
                path.display()
            );
        }
        if (version as usize) < MIGRATIONS.len() {
            anyhow::bail!(
                "{} needs a schema upgrade: run `tasksync sync` once without --dry-run",
                path.display()
            );
        }
        Ok(Some(Self {
            connection: Arc::new(Mutex::new(connection)),
            path: path.to_path_buf(),
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs store work on the blocking pool (rusqlite is synchronous).
    pub async fn call<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = connection
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            work(&mut connection)
        })
        .await
        .context("a database task stopped unexpectedly")?
    }

    /// Records the start of an attempt of `job` (now); its id for [`Store::job_finished`].
    pub async fn job_started(&self, job: JobKind) -> anyhow::Result<i64> {
        let now = crate::model::time::iso(chrono::Utc::now());
        self.call(move |c| start_job(c, job, &now)).await
    }

    /// Records the end of an attempt (now), with its error if it failed; one stopped by a
    /// shutdown is `interrupted`, not failed.
    pub async fn job_finished(&self, id: i64, error: Option<&anyhow::Error>) -> anyhow::Result<()> {
        let now = crate::model::time::iso(chrono::Utc::now());
        let outcome = JobOutcome::of(error);
        let error = error.map(|error| format!("{error:#}"));
        self.call(move |c| finish_job(c, id, outcome, error.as_deref(), &now))
            .await
    }

    /// The names `source`'s properties had before a rename, as the mirror remembers them
    /// (former name → current name); none, with a warning, when the mirror cannot say.
    pub async fn former_names(
        &self,
        source: &crate::model::DataSource,
    ) -> BTreeMap<String, String> {
        let (id, schema) = (source.id.to_string(), source.names_by_id());
        match self.call(move |c| former_names(c, &id, &schema)).await {
            Ok(names) => names,
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "cannot read the former property names from the mirror");
                BTreeMap::new()
            }
        }
    }

    /// Records which rules are suspended now, as (rule, reason) (`status` shows them); the
    /// rules newly suspended and those running again.
    pub async fn rules_suspended(
        &self,
        suspended: Vec<(String, String)>,
    ) -> anyhow::Result<(Vec<String>, Vec<String>)> {
        let now = crate::model::time::iso(chrono::Utc::now());
        self.call(move |c| record_suspensions(c, &suspended, &now))
            .await
    }

    /// Notes on a running attempt the error it is retrying after (`None`: it is not), so that
    /// `status` shows a job waiting out a failure before the attempt ends.
    pub async fn job_retrying(&self, id: i64, error: Option<String>) -> anyhow::Result<()> {
        self.call(move |c| {
            c.execute(
                "UPDATE job_runs SET error = ?2 WHERE id = ?1 AND outcome = 'running'",
                params![id, error],
            )?;
            Ok(())
        })
        .await
    }

    /// Runs store work on the current thread (for synchronous callers).
    pub fn with<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        work(&mut connection)
    }
}

/// A SQLite URI that opens `path` read-only without locking or side files.
fn immutable_uri(path: &Path) -> String {
    const RESERVED: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b'%')
        .add(b'?')
        .add(b'#')
        .add(b' ');
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let encoded =
        percent_encoding::utf8_percent_encode(&absolute.to_string_lossy(), RESERVED).to_string();
    format!("file:{encoded}?immutable=1")
}

fn create_private(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        return Ok(());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => {
            Err(error).with_context(|| format!("cannot create the mirror {}", path.display()))
        }
    }
}

/// `PRAGMA application_id` of a tasksync mirror ("tSyn"), so that a mirror can be told from
/// another application's SQLite file.
pub const APPLICATION_ID: i32 = 0x7453_796E;

/// Whether the file at `path` is a tasksync mirror (or empty, to become one), without changing
/// it: a file of another application (another `application_id`, or tables but none of ours), or
/// a schema version tasksync does not know, is refused.
fn identify(connection: &Connection, path: &Path) -> anyhow::Result<()> {
    let read = |pragma: &str| -> anyhow::Result<i64> {
        connection
            .pragma_query_value(None, pragma, |row| row.get(0))
            .with_context(|| {
                format!(
                    "{} is not a SQLite database tasksync can read",
                    path.display()
                )
            })
    };
    let application = read("application_id")?;
    let version = read("user_version")?;
    let tables: Vec<String> = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let foreign = |why: String| {
        anyhow::anyhow!(
            "{} is not a tasksync mirror ({why}); tasksync leaves it untouched: set `store.path` to a file of its own",
            path.display()
        )
    };
    if application != 0 && application != i64::from(APPLICATION_ID) {
        return Err(foreign(format!("its application id is {application:#x}")));
    }
    if version < 0 || version as usize > MIGRATIONS.len() {
        anyhow::bail!(
            "{} has schema version {version}, which this tasksync does not know (it knows 0 to {}): upgrade tasksync, or use another file",
            path.display(),
            MIGRATIONS.len()
        );
    }
    // Mirrors made before the application id existed: our tables and a version of ours.
    let ours = tables.iter().any(|t| t == "tasks") && tables.iter().any(|t| t == "sync_state");
    if application == 0 && !tables.is_empty() && !(ours && version > 0) {
        let listed: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
        return Err(foreign(format!(
            "it holds other tables: {}",
            listed.join(", ")
        )));
    }
    Ok(())
}

fn migrate(connection: &mut Connection) -> anyhow::Result<()> {
    let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let version = usize::try_from(version).unwrap_or(0);
    let application: i64 =
        connection.pragma_query_value(None, "application_id", |row| row.get(0))?;
    if application == 0 {
        connection.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    if version > MIGRATIONS.len() {
        anyhow::bail!(
            "the mirror was written by a newer tasksync (schema {version}); upgrade tasksync"
        );
    }
    if version == MIGRATIONS.len() {
        return Ok(());
    }
    let transaction = connection.transaction()?;
    for migration in &MIGRATIONS[version..] {
        transaction.execute_batch(migration)?;
    }
    transaction.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    transaction.commit()?;
    Ok(())
}

/// The sync state of a data source.
pub fn sync_state(
    connection: &Connection,
    data_source_id: &str,
) -> anyhow::Result<Option<SyncState>> {
    Ok(connection
        .query_row(
            "SELECT data_source_id, database_id, name, cursor, last_sync_at, last_full_sync_at, last_reconcile_at, schema_json
             FROM sync_state WHERE data_source_id = ?1",
            [data_source_id],
            |row| {
                Ok(SyncState {
                    data_source_id: row.get(0)?,
                    database_id: row.get(1)?,
                    name: row.get(2)?,
                    cursor: row.get(3)?,
                    last_sync_at: row.get(4)?,
                    last_full_sync_at: row.get(5)?,
                    last_reconcile_at: row.get(6)?,
                    schema_json: row.get(7)?,
                })
            },
        )
        .optional()?)
}

/// Records the data source and its schema (property id → name); when a property was renamed
/// (same id, new name), its history follows it: earlier rows take the new name. Every name a
/// property has had is kept (`property_names`), so a rule naming a former name follows it.
#[allow(clippy::too_many_arguments)]
pub fn save_source(
    connection: &mut Connection,
    data_source_id: &str,
    database_id: Option<&str>,
    name: &str,
    schema: &BTreeMap<String, String>,
    renames: &[(String, String, String)],
    now: &str,
) -> anyhow::Result<()> {
    let schema_json = serde_json::to_string(schema)?;
    let transaction = connection.transaction()?;
    transaction.execute(
        "INSERT INTO sync_state (data_source_id, database_id, name, schema_json) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (data_source_id) DO UPDATE SET database_id = excluded.database_id, name = excluded.name,
         schema_json = excluded.schema_json",
        params![data_source_id, database_id, name, schema_json],
    )?;
    for (property_id, property_name) in schema {
        transaction.execute(
            "INSERT INTO property_names (data_source_id, name, property_id, seen_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (data_source_id, name) DO UPDATE SET property_id = excluded.property_id, seen_at = excluded.seen_at",
            params![data_source_id, property_name, property_id, now],
        )?;
    }
    for (property_id, old_name, new_name) in renames {
        transaction.execute(
            "UPDATE task_changes SET property = ?1 WHERE property_id = ?2 AND property = ?3
             AND task_id IN (SELECT id FROM tasks WHERE data_source_id = ?4)",
            params![new_name, property_id, old_name, data_source_id],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

/// Names properties had before a rename, for the properties the schema (id → name) still has:
/// former name → current name. A name the schema uses now is never a former one.
pub fn former_names(
    connection: &Connection,
    data_source_id: &str,
    schema: &BTreeMap<String, String>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let current: HashSet<&str> = schema.values().map(String::as_str).collect();
    let mut statement = connection
        .prepare("SELECT name, property_id FROM property_names WHERE data_source_id = ?1")?;
    let mut former = BTreeMap::new();
    for row in statement.query_map([data_source_id], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })? {
        let (name, property_id) = row?;
        if let Some(now_called) = schema.get(&property_id)
            && !current.contains(name.as_str())
        {
            former.insert(name, now_called.clone());
        }
    }
    Ok(former)
}

/// A rule suspended because it does not fit the data source's schema as it is now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SuspendedRule {
    pub rule: String,
    pub reason: String,
    /// When it was first found suspended (it stays so until the schema or the rule changes).
    pub since: String,
}

/// Replaces the suspended rules with `suspended` (rule, reason); a rule suspended before keeps
/// its `since`. Returns the rules newly suspended and those no longer suspended.
pub fn record_suspensions(
    connection: &mut Connection,
    suspended: &[(String, String)],
    now: &str,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let transaction = connection.transaction()?;
    let before: Vec<String> = transaction
        .prepare("SELECT rule FROM rule_suspensions ORDER BY rule")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let wanted: HashSet<&str> = suspended.iter().map(|(rule, _)| rule.as_str()).collect();
    let resumed: Vec<String> = before
        .iter()
        .filter(|rule| !wanted.contains(rule.as_str()))
        .cloned()
        .collect();
    for rule in &resumed {
        transaction.execute("DELETE FROM rule_suspensions WHERE rule = ?1", [rule])?;
    }
    let mut new = Vec::new();
    for (rule, reason) in suspended {
        if !before.contains(rule) {
            new.push(rule.clone());
        }
        transaction.execute(
            "INSERT INTO rule_suspensions (rule, reason, since) VALUES (?1, ?2, ?3)
             ON CONFLICT (rule) DO UPDATE SET reason = excluded.reason",
            params![rule, reason, now],
        )?;
    }
    transaction.commit()?;
    Ok((new, resumed))
}

/// The suspended rules, by name.
pub fn suspended_rules(connection: &Connection) -> anyhow::Result<Vec<SuspendedRule>> {
    let rows = connection
        .prepare("SELECT rule, reason, since FROM rule_suspensions ORDER BY rule")?
        .query_map([], |row| {
            Ok(SuspendedRule {
                rule: row.get(0)?,
                reason: row.get(1)?,
                since: row.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Records the workspace's users (from Notion's users endpoint, or the integration's own bot).
pub fn save_users(
    connection: &mut Connection,
    users: &[crate::model::User],
    now: &str,
) -> anyhow::Result<()> {
    let transaction = connection.transaction()?;
    for user in users {
        transaction.execute(
            "INSERT INTO users (id, name, email, kind, seen_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET name = coalesce(excluded.name, users.name),
             email = coalesce(excluded.email, users.email), kind = coalesce(excluded.kind, users.kind),
             seen_at = excluded.seen_at",
            params![user.id, user.name, user.email, user.kind, now],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

/// Users' names by id, for showing people by name.
pub fn user_names(connection: &Connection) -> anyhow::Result<HashMap<String, String>> {
    let rows = connection
        .prepare("SELECT id, name FROM users WHERE name IS NOT NULL AND name != ''")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Starts a sync run record; returns its id. Runs left `running` by a crash become `interrupted`.
pub fn start_run(
    connection: &mut Connection,
    data_source_id: &str,
    kind: &str,
    now: &str,
) -> anyhow::Result<i64> {
    let transaction = connection.transaction()?;
    transaction.execute(
        "UPDATE sync_runs SET result = 'interrupted' WHERE result = 'running' AND data_source_id = ?1",
        [data_source_id],
    )?;
    transaction.execute(
        "INSERT INTO sync_runs (data_source_id, kind, started_at) VALUES (?1, ?2, ?3)",
        params![data_source_id, kind, now],
    )?;
    let id = transaction.last_insert_rowid();
    transaction.commit()?;
    Ok(id)
}

/// Finishes a sync run record, and notes the sync time in the source's state.
pub fn finish_run(
    connection: &mut Connection,
    run_id: i64,
    counts: &RunCounts,
    duration: Duration,
    error: Option<&str>,
    now: &str,
    full: bool,
) -> anyhow::Result<()> {
    let transaction = connection.transaction()?;
    transaction.execute(
        "UPDATE sync_runs SET finished_at = ?2, result = ?3, new_tasks = ?4, changed = ?5, deleted = ?6, restored = ?7,
         unchanged = ?8, requests = ?9, duration_ms = ?10, error = ?11 WHERE id = ?1",
        params![
            run_id,
            now,
            if error.is_some() { "failed" } else { "ok" },
            counts.new as i64,
            counts.changed as i64,
            counts.deleted as i64,
            counts.restored as i64,
            counts.unchanged as i64,
            counts.requests as i64,
            duration.as_millis() as i64,
            error,
        ],
    )?;
    if error.is_none() {
        let full_sync = if full { Some(now) } else { None };
        transaction.execute(
            "UPDATE sync_state SET last_sync_at = ?2, last_full_sync_at = COALESCE(?3, last_full_sync_at)
             WHERE data_source_id = (SELECT data_source_id FROM sync_runs WHERE id = ?1)",
            params![run_id, now, full_sync],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

/// What the mirror holds for these task ids.
pub fn stored_versions(
    connection: &Connection,
    ids: &[String],
) -> anyhow::Result<HashMap<String, StoredVersion>> {
    let mut statement = connection.prepare_cached(
        "SELECT content_hash, last_edited_time, deleted_at, properties_json FROM tasks WHERE id = ?1",
    )?;
    let mut found = HashMap::with_capacity(ids.len());
    for id in ids {
        let version = statement
            .query_row([id], |row| {
                Ok(StoredVersion {
                    content_hash: row.get(0)?,
                    last_edited_time: row.get(1)?,
                    deleted_at: row.get(2)?,
                    properties_json: row.get(3)?,
                })
            })
            .optional()?;
        if let Some(version) = version {
            found.insert(id.clone(), version);
        }
    }
    Ok(found)
}

/// Applies one batch in one transaction: task rows, history rows, and the cursor.
pub fn apply_batch(connection: &mut Connection, batch: &Batch) -> anyhow::Result<()> {
    let transaction = connection.transaction()?;
    upsert_tasks(&transaction, &batch.upserts, &batch.observed_at)?;
    insert_changes(
        &transaction,
        &batch.changes,
        &batch.observed_at,
        batch.run_id,
    )?;
    insert_firings(
        &transaction,
        &batch.firings,
        &batch.observed_at,
        Some(batch.run_id),
    )?;
    apply_rule_states(&transaction, &batch.rule_states, &batch.observed_at)?;
    if let Some(cursor) = &batch.cursor {
        transaction.execute(
            "UPDATE sync_state SET cursor = ?2 WHERE data_source_id = ?1 AND (cursor IS NULL OR cursor < ?2)",
            params![batch.data_source_id, cursor],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

fn upsert_tasks(
    transaction: &Transaction<'_>,
    rows: &[MirroredTask],
    now: &str,
) -> anyhow::Result<()> {
    let mut statement = transaction.prepare_cached(
        "INSERT INTO tasks (id, data_source_id, title, status, url, created_time, last_edited_time, created_by,
            last_edited_by, deleted_at, properties_json, content_hash, first_seen_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)
         ON CONFLICT (id) DO UPDATE SET data_source_id = excluded.data_source_id, title = excluded.title,
            status = excluded.status, url = excluded.url, created_time = excluded.created_time,
            last_edited_time = excluded.last_edited_time, created_by = excluded.created_by,
            last_edited_by = excluded.last_edited_by, deleted_at = excluded.deleted_at,
            properties_json = excluded.properties_json, content_hash = excluded.content_hash,
            updated_at = excluded.updated_at",
    )?;
    for row in rows {
        statement.execute(params![
            row.id,
            row.data_source_id,
            row.title,
            row.status,
            row.url,
            row.created_time,
            row.last_edited_time,
            row.created_by,
            row.last_edited_by,
            row.deleted_at,
            row.properties_json,
            row.content_hash,
            now,
        ])?;
    }
    Ok(())
}

fn insert_changes(
    transaction: &Transaction<'_>,
    changes: &[Change],
    now: &str,
    run_id: i64,
) -> anyhow::Result<()> {
    let mut statement = transaction.prepare_cached(
        "INSERT INTO task_changes (task_id, property, property_id, old_value, new_value, old_json, new_json,
            observed_at, edited_at, edited_by, sync_run_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for change in changes {
        statement.execute(params![
            change.task_id,
            change.property,
            change.property_id,
            change.old_value,
            change.new_value,
            change.old_json,
            change.new_json,
            now,
            change.edited_at,
            change.edited_by,
            run_id,
        ])?;
    }
    Ok(())
}

/// Records firings (a transition already recorded is skipped: exactly once) and queues their
/// actions: Notion writes in `actions`, mail in `mail_outbox`.
fn insert_firings(
    transaction: &Transaction<'_>,
    firings: &[Firing],
    now: &str,
    run_id: Option<i64>,
) -> anyhow::Result<()> {
    let mut firing = transaction.prepare_cached(
        "INSERT INTO rule_firings (rule, task_id, transition, status, reason, chain_depth, fired_at, sync_run_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (rule, task_id, transition) DO NOTHING RETURNING id",
    )?;
    let mut action = transaction.prepare_cached(
        "INSERT INTO actions (firing_id, task_id, kind, payload_json, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?;
    let mut mail = transaction.prepare_cached(
        "INSERT INTO mail_outbox (firing_id, task_id, message_id, to_json, cc_json, subject, body_text, body_html, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for new in firings {
        let id: Option<i64> = firing
            .query_row(
                params![
                    new.rule,
                    new.task_id,
                    new.transition,
                    new.status,
                    new.reason,
                    new.chain_depth,
                    now,
                    run_id
                ],
                |row| row.get(0),
            )
            .optional()?;
        let Some(firing_id) = id else {
            continue;
        };
        for (index, planned) in new.actions.iter().enumerate() {
            match planned {
                PlannedAction::Mail {
                    to,
                    cc,
                    subject,
                    body,
                    html,
                } => {
                    let message_id = message_id(&new.rule, &new.task_id, &new.transition, index);
                    mail.execute(params![
                        firing_id,
                        new.task_id,
                        message_id,
                        serde_json::to_string(to)?,
                        serde_json::to_string(cc)?,
                        subject,
                        body,
                        html,
                        now,
                    ])?;
                }
                other => {
                    action.execute(params![
                        firing_id,
                        new.task_id,
                        other.kind(),
                        serde_json::to_string(other)?,
                        now
                    ])?;
                }
            }
        }
    }
    Ok(())
}

fn apply_rule_states(
    transaction: &Transaction<'_>,
    changes: &[RuleStateChange],
    now: &str,
) -> anyhow::Result<()> {
    let mut enter = transaction.prepare_cached(
        "INSERT OR IGNORE INTO rule_states (rule, task_id, since) VALUES (?1, ?2, ?3)",
    )?;
    let mut leave =
        transaction.prepare_cached("DELETE FROM rule_states WHERE rule = ?1 AND task_id = ?2")?;
    for change in changes {
        if change.inside {
            enter.execute(params![change.rule, change.task_id, now])?;
        } else {
            leave.execute(params![change.rule, change.task_id])?;
        }
    }
    Ok(())
}

/// Which (rule, task) pairs the mirror records as inside a time-dependent condition.
pub fn rule_states(
    connection: &Connection,
    task_ids: &[String],
) -> anyhow::Result<HashSet<(String, String)>> {
    let mut statement =
        connection.prepare_cached("SELECT rule FROM rule_states WHERE task_id = ?1")?;
    let mut inside = HashSet::new();
    for id in task_ids {
        for rule in statement.query_map([id], |row| row.get::<_, String>(0))? {
            inside.insert((rule?, id.clone()));
        }
    }
    Ok(inside)
}

/// Every recorded (rule, task) state of the given rules.
pub fn all_rule_states(connection: &Connection, rule: &str) -> anyhow::Result<HashSet<String>> {
    let mut statement = connection.prepare("SELECT task_id FROM rule_states WHERE rule = ?1")?;
    let ids = statement
        .query_map([rule], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// When a time-dependent rule was last evaluated over the whole mirror (`None`: never, so its
/// first evaluation is a baseline that fires nothing).
pub fn rule_baseline(
    connection: &Connection,
    rule: &str,
    data_source_id: &str,
) -> anyhow::Result<Option<String>> {
    Ok(connection
        .query_row(
            "SELECT evaluated_at FROM rule_baselines WHERE rule = ?1 AND data_source_id = ?2",
            params![rule, data_source_id],
            |row| row.get(0),
        )
        .optional()?)
}

/// Applies one evaluation of time-dependent rules over the mirror, in one transaction.
pub fn apply_time_evaluation(
    connection: &mut Connection,
    data_source_id: &str,
    rules: &[String],
    firings: &[Firing],
    states: &[RuleStateChange],
    now: &str,
    run_id: Option<i64>,
) -> anyhow::Result<()> {
    let transaction = connection.transaction()?;
    insert_firings(&transaction, firings, now, run_id)?;
    apply_rule_states(&transaction, states, now)?;
    for rule in rules {
        transaction.execute(
            "INSERT INTO rule_baselines (rule, data_source_id, evaluated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (rule, data_source_id) DO UPDATE SET evaluated_at = excluded.evaluated_at",
            params![rule, data_source_id, now],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

/// Property writes tasksync made to these tasks since `since` (our clock), with the chain depth
/// of the firing that made them: used to recognise our own edits when they come back.
pub fn own_writes(
    connection: &Connection,
    task_id: &str,
    since: &str,
) -> anyhow::Result<Vec<(PlannedAction, i64)>> {
    let mut statement = connection.prepare_cached(
        "SELECT a.payload_json, f.chain_depth FROM actions a JOIN rule_firings f ON f.id = a.firing_id
         WHERE a.task_id = ?1 AND a.kind = 'set' AND a.status = 'done' AND a.done_at >= ?2",
    )?;
    let rows = statement
        .query_map(params![task_id, since], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(payload, depth)| {
            serde_json::from_str(&payload)
                .ok()
                .map(|action| (action, depth))
        })
        .collect())
}

/// The bot user behind the token, as last recorded.
pub fn bot_user_id(
    connection: &Connection,
    data_source_id: &str,
) -> anyhow::Result<Option<String>> {
    Ok(connection
        .query_row(
            "SELECT bot_user_id FROM sync_state WHERE data_source_id = ?1",
            [data_source_id],
            |row| row.get(0),
        )
        .optional()?
        .flatten())
}

pub fn save_bot_user_id(
    connection: &Connection,
    data_source_id: &str,
    bot: &str,
) -> anyhow::Result<()> {
    connection.execute(
        "UPDATE sync_state SET bot_user_id = ?2 WHERE data_source_id = ?1",
        params![data_source_id, bot],
    )?;
    Ok(())
}

/// A queued action to perform.
#[derive(Clone, Debug, PartialEq)]
pub struct QueuedAction {
    pub id: i64,
    pub task_id: String,
    /// What people call the task, for logs: `TASK-12 "title"` (its page id without a unique ID).
    pub task: String,
    pub rule: String,
    pub action: PlannedAction,
    /// Attempts before this one: more than zero means an earlier attempt may have landed.
    pub attempts: i64,
}

/// Actions waiting to be performed (or interrupted mid-way), oldest first.
pub fn queued_actions(connection: &Connection, limit: usize) -> anyhow::Result<Vec<QueuedAction>> {
    let mut statement = connection.prepare(
        "SELECT a.id, a.task_id, f.rule, a.payload_json, a.attempts, t.title, t.properties_json
         FROM actions a JOIN rule_firings f ON f.id = a.firing_id LEFT JOIN tasks t ON t.id = a.task_id
         WHERE a.status IN ('pending', 'running') ORDER BY a.id LIMIT ?1",
    )?;
    let rows = statement
        .query_map([limit as i64], |row| {
            Ok((
                (
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, i64>(4)?,
                ),
                (
                    row.get::<_, Option<String>>(5)?,
                    row.get::<_, Option<String>>(6)?,
                ),
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(
            |((id, task_id, rule, payload, attempts), (title, properties))| {
                let action = serde_json::from_str(&payload)
                    .with_context(|| format!("action {id} has an unreadable payload"))?;
                let unique = properties
                    .and_then(|json| serde_json::from_str(&json).ok())
                    .and_then(|properties| crate::model::stored::unique_id(&properties));
                let task = format!(
                    "{} \"{}\"",
                    unique.unwrap_or_else(|| task_id.clone()),
                    title.unwrap_or_default()
                );
                Ok(QueuedAction {
                    id,
                    task_id,
                    task,
                    rule,
                    action,
                    attempts,
                })
            },
        )
        .collect()
}

/// Marks an action as being attempted (committed before Notion is called).
pub fn start_action(connection: &Connection, id: i64, now: &str) -> anyhow::Result<()> {
    connection.execute("UPDATE actions SET status = 'running', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1", params![id, now])?;
    Ok(())
}

/// What is recorded of one batch of an append: the anchor it was sent after, and the ids of
/// the blocks it created once Notion accepted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendBatchRow {
    pub anchor: Option<String>,
    pub block_ids: Option<Vec<String>>,
}

/// The record of batch `batch` of append action `action_id`, if it was started.
pub fn append_batch(
    connection: &Connection,
    action_id: i64,
    batch: usize,
) -> anyhow::Result<Option<AppendBatchRow>> {
    let row = connection
        .query_row(
            "SELECT anchor, block_ids_json FROM append_batches WHERE action_id = ?1 AND batch = ?2",
            params![action_id, batch as i64],
            |row| {
                Ok((
                    row.get::<_, Option<String>>(0)?,
                    row.get::<_, Option<String>>(1)?,
                ))
            },
        )
        .optional()
        .with_context(|| format!("cannot read batch {batch} of action {action_id}"))?;
    row.map(|(anchor, ids)| {
        let block_ids = ids
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .with_context(|| {
                format!("batch {batch} of action {action_id} has unreadable block ids")
            })?;
        Ok(AppendBatchRow { anchor, block_ids })
    })
    .transpose()
}

/// Records, before it is sent, the block batch `batch` goes after (its own transaction).
pub fn start_append_batch(
    connection: &Connection,
    action_id: i64,
    batch: usize,
    anchor: Option<&str>,
    now: &str,
) -> anyhow::Result<()> {
    connection
        .execute(
            "INSERT INTO append_batches (action_id, batch, anchor, started_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (action_id, batch) DO UPDATE SET anchor = excluded.anchor, started_at = excluded.started_at",
            params![action_id, batch as i64, anchor, now],
        )
        .with_context(|| format!("cannot record batch {batch} of action {action_id}"))?;
    Ok(())
}

/// Records the blocks Notion created for batch `batch` (its own transaction).
pub fn land_append_batch(
    connection: &Connection,
    action_id: i64,
    batch: usize,
    block_ids: &[String],
    now: &str,
) -> anyhow::Result<()> {
    let ids = serde_json::to_string(block_ids)?;
    connection
        .execute(
            "UPDATE append_batches SET block_ids_json = ?3, landed_at = ?4 WHERE action_id = ?1 AND batch = ?2",
            params![action_id, batch as i64, ids, now],
        )
        .with_context(|| format!("cannot record the blocks of batch {batch} of action {action_id}"))?;
    Ok(())
}

/// Records an action's outcome: `done`, `skipped`, `failed`, or `pending` again (to retry).
pub fn finish_action(
    connection: &Connection,
    id: i64,
    status: &str,
    error: Option<&str>,
    now: &str,
) -> anyhow::Result<()> {
    let done_at = matches!(status, "done" | "skipped").then_some(now);
    connection.execute(
        "UPDATE actions SET status = ?2, last_error = ?3, updated_at = ?4, done_at = COALESCE(?5, done_at) WHERE id = ?1",
        params![id, status, error, now, done_at],
    )?;
    Ok(())
}

/// A recorded rule firing, for `tasks show --mirror`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FiringRecord {
    pub rule: String,
    pub transition: String,
    pub status: String,
    pub reason: Option<String>,
    pub fired_at: String,
}

/// The rules that fired on a task, oldest first.
pub fn firings_of(connection: &Connection, task_id: &str) -> anyhow::Result<Vec<FiringRecord>> {
    let mut statement = connection.prepare(
        "SELECT rule, transition, status, reason, fired_at FROM rule_firings WHERE task_id = ?1 ORDER BY id",
    )?;
    let rows = statement
        .query_map([task_id], |row| {
            Ok(FiringRecord {
                rule: row.get(0)?,
                transition: row.get(1)?,
                status: row.get(2)?,
                reason: row.get(3)?,
                fired_at: row.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// A mail of the outbox, to send.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxMail {
    pub id: i64,
    pub message_id: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    /// Attempts before this one.
    pub attempts: i64,
}

/// A mail of the outbox as `mail list` shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub task_id: Option<String>,
    pub message_id: String,
    pub to: Vec<String>,
    pub subject: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub server_reply: Option<String>,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

/// Mail to send now: queued and due, or caught mid-send by a crash.
pub fn due_mail(
    connection: &Connection,
    now: &str,
    limit: usize,
) -> anyhow::Result<Vec<OutboxMail>> {
    let mut statement = connection.prepare(
        "SELECT id, message_id, to_json, cc_json, subject, body_text, body_html, attempts FROM mail_outbox
         WHERE status IN ('queued', 'sending') AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
         ORDER BY id LIMIT ?2",
    )?;
    let mut rows = statement.query(params![now, limit as i64])?;
    let mut mails = Vec::new();
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let to: String = row.get(2)?;
        let cc: String = row.get(3)?;
        mails.push(OutboxMail {
            id,
            message_id: row.get(1)?,
            to: serde_json::from_str(&to)
                .with_context(|| format!("mail {id} has unreadable recipients"))?,
            cc: serde_json::from_str(&cc).unwrap_or_default(),
            subject: row.get(4)?,
            body_text: row.get(5)?,
            body_html: row.get(6)?,
            attempts: row.get(7)?,
        });
    }
    Ok(mails)
}

/// Marks a mail as being sent (committed before the server is contacted).
pub fn start_mail(connection: &Connection, id: i64) -> anyhow::Result<()> {
    connection.execute(
        "UPDATE mail_outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

/// Records a send's outcome: `sent` (with the server's reply), `queued` again (with the next
/// attempt time and the error) or `failed` (with the error).
pub fn finish_mail(
    connection: &Connection,
    id: i64,
    status: &str,
    note: &str,
    next_attempt_at: Option<&str>,
    now: &str,
) -> anyhow::Result<()> {
    if status == "sent" {
        connection.execute(
            "UPDATE mail_outbox SET status = 'sent', server_reply = ?2, sent_at = ?3, next_attempt_at = NULL WHERE id = ?1",
            params![id, note, now],
        )?;
    } else {
        connection.execute(
            "UPDATE mail_outbox SET status = ?2, last_error = ?3, next_attempt_at = ?4 WHERE id = ?1",
            params![id, status, note, next_attempt_at],
        )?;
    }
    Ok(())
}

/// The outbox, newest first.
pub fn list_mail(connection: &Connection, failed_only: bool) -> anyhow::Result<Vec<OutboxEntry>> {
    let mut statement = connection.prepare(
        "SELECT id, task_id, message_id, to_json, subject, status, attempts, last_error, server_reply, next_attempt_at,
            created_at, sent_at FROM mail_outbox WHERE (NOT ?1 OR status = 'failed') ORDER BY id DESC",
    )?;
    let rows = statement
        .query_map([failed_only], |row| {
            Ok(OutboxEntry {
                id: row.get(0)?,
                task_id: row.get(1)?,
                message_id: row.get(2)?,
                to: serde_json::from_str(&row.get::<_, String>(3)?).unwrap_or_default(),
                subject: row.get(4)?,
                status: row.get(5)?,
                attempts: row.get(6)?,
                last_error: row.get(7)?,
                server_reply: row.get(8)?,
                next_attempt_at: row.get(9)?,
                created_at: row.get(10)?,
                sent_at: row.get(11)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Queues failed mail again (one by id, or all); how many.
pub fn retry_mail(connection: &Connection, id: Option<i64>) -> anyhow::Result<usize> {
    Ok(connection.execute(
        "UPDATE mail_outbox SET status = 'queued', next_attempt_at = NULL WHERE status = 'failed' AND (?1 IS NULL OR id = ?1)",
        [id],
    )?)
}

/// The last sync run, for `status`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunRecord {
    pub kind: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub result: String,
    pub counts: RunCounts,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
}

/// What `tasksync status` shows, read from the mirror.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub tasks: i64,
    pub deleted_tasks: i64,
    pub sources: Vec<SyncState>,
    pub last_run: Option<RunRecord>,
    /// Actions by status (`pending`, `running`, `done`, `skipped`, `failed`).
    pub actions: std::collections::BTreeMap<String, i64>,
    /// Mail by status (`queued`, `sending`, `sent`, `failed`).
    pub mail: std::collections::BTreeMap<String, i64>,
    /// Firings since `since` (the start of today, UTC), and how many were stopped.
    pub firings_today: i64,
    pub stopped_today: i64,
    pub failed_mail: Vec<OutboxEntry>,
    /// Rules that do not fit the data source's schema as it is now (they do not run).
    pub suspended_rules: Vec<SuspendedRule>,
}

/// Rows of `table` by status, every status of `statuses` present (zero included), so that
/// `status --json` has a stable shape.
fn counts_by_status(
    connection: &Connection,
    table: &str,
    statuses: &[&str],
) -> anyhow::Result<std::collections::BTreeMap<String, i64>> {
    let mut statement = connection.prepare(&format!(
        "SELECT status, count(*) FROM {table} GROUP BY status"
    ))?;
    let mut counts: std::collections::BTreeMap<String, i64> = statuses
        .iter()
        .map(|status| ((*status).to_string(), 0))
        .collect();
    for row in statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))? {
        let (status, count): (String, i64) = row?;
        counts.insert(status, count);
    }
    Ok(counts)
}

/// Attempts kept per job; older ones are pruned as new ones finish.
const JOB_RUNS_KEPT: i64 = 500;

/// Records that an attempt of `job` starts (an earlier one still `running` was interrupted).
pub fn start_job(connection: &mut Connection, job: JobKind, now: &str) -> anyhow::Result<i64> {
    let job = job.as_str();
    let transaction = connection.transaction()?;
    transaction.execute(
        "UPDATE job_runs SET outcome = 'interrupted' WHERE job = ?1 AND outcome = 'running'",
        [job],
    )?;
    transaction.execute(
        "INSERT INTO job_runs (job, started_at) VALUES (?1, ?2)",
        params![job, now],
    )?;
    let id = transaction.last_insert_rowid();
    transaction
        .commit()
        .with_context(|| format!("cannot record the start of the {job} job"))?;
    Ok(id)
}

/// Records how an attempt ended (`error` is `None` for success), pruning old attempts.
pub fn finish_job(
    connection: &mut Connection,
    id: i64,
    outcome: JobOutcome,
    error: Option<&str>,
    now: &str,
) -> anyhow::Result<()> {
    let transaction = connection.transaction()?;
    transaction.execute(
        "UPDATE job_runs SET finished_at = ?2, outcome = ?3, error = ?4 WHERE id = ?1",
        params![id, now, outcome.as_str(), error],
    )?;
    transaction.execute(
        "DELETE FROM job_runs WHERE job = (SELECT job FROM job_runs WHERE id = ?1)
         AND id < (SELECT id FROM job_runs WHERE job = (SELECT job FROM job_runs WHERE id = ?1)
                   ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        params![id, JOB_RUNS_KEPT - 1],
    )?;
    transaction
        .commit()
        .context("cannot record the end of a job")?;
    Ok(())
}

/// The health of one job: its last attempt and its last success.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct JobHealth {
    pub job: String,
    pub last_attempt_at: Option<String>,
    /// `running`, `ok`, `failed` or `interrupted`.
    pub last_outcome: Option<String>,
    /// The error of the last attempt, when it failed (or, while it runs, the error it is
    /// retrying after).
    pub last_error: Option<String>,
    pub last_success_at: Option<String>,
}

/// The health of each job named, from its recorded attempts.
pub fn job_health(connection: &Connection, jobs: &[JobKind]) -> anyhow::Result<Vec<JobHealth>> {
    jobs.iter()
        .map(|job| {
            let last = connection
                .query_row(
                    "SELECT started_at, outcome, error FROM job_runs WHERE job = ?1 ORDER BY id DESC LIMIT 1",
                    [job.as_str()],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            let success: Option<String> = connection
                .query_row(
                    "SELECT started_at FROM job_runs WHERE job = ?1 AND outcome = 'ok' ORDER BY id DESC LIMIT 1",
                    [job.as_str()],
                    |row| row.get(0),
                )
                .optional()?;
            let (last_attempt_at, last_outcome, last_error) = match last {
                Some((at, outcome, error)) => (Some(at), Some(outcome), error),
                None => (None, None, None),
            };
            Ok(JobHealth {
                job: job.as_str().to_string(),
                last_attempt_at,
                last_outcome,
                last_error,
                last_success_at: success,
            })
        })
        .collect::<anyhow::Result<_>>()
        .context("cannot read the jobs' health")
}

/// The data sources this mirror holds: (id, name), oldest first.
pub fn mirrored_data_sources(connection: &Connection) -> anyhow::Result<Vec<(String, String)>> {
    let mut statement = connection
        .prepare("SELECT data_source_id, COALESCE(name, '') FROM sync_state ORDER BY rowid")
        .context("cannot read which data source the mirror holds")?;
    let rows = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The mirror's state for `tasksync status`; `since` is the start of "today".
pub fn summary(connection: &Connection, since: &str) -> anyhow::Result<Summary> {
    let count =
        |sql: &str| -> anyhow::Result<i64> { Ok(connection.query_row(sql, [], |row| row.get(0))?) };
    let mut sources = Vec::new();
    {
        let mut statement =
            connection.prepare("SELECT data_source_id FROM sync_state ORDER BY data_source_id")?;
        let ids: Vec<String> = statement
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        for id in ids {
            sources.extend(sync_state(connection, &id)?);
        }
    }
    let last_run = connection
        .query_row(
            "SELECT kind, started_at, finished_at, result, new_tasks, changed, deleted, restored, unchanged, requests, duration_ms, error
             FROM sync_runs ORDER BY id DESC LIMIT 1",
            [],
            |row| {
                Ok(RunRecord {
                    kind: row.get(0)?,
                    started_at: row.get(1)?,
                    finished_at: row.get(2)?,
                    result: row.get(3)?,
                    counts: RunCounts {
                        new: row.get::<_, i64>(4)? as u64,
                        changed: row.get::<_, i64>(5)? as u64,
                        deleted: row.get::<_, i64>(6)? as u64,
                        restored: row.get::<_, i64>(7)? as u64,
                        unchanged: row.get::<_, i64>(8)? as u64,
                        requests: row.get::<_, i64>(9)? as u64,
                    },
                    duration_ms: row.get(10)?,
                    error: row.get(11)?,
                })
            },
        )
        .optional()?;
    let today = |status: &str| -> anyhow::Result<i64> {
        Ok(connection.query_row(
            "SELECT count(*) FROM rule_firings WHERE fired_at >= ?1 AND (?2 = '' OR status = ?2)",
            params![since, status],
            |row| row.get(0),
        )?)
    };
    let mut failed_mail = list_mail(connection, true)?;
    failed_mail.truncate(5);
    Ok(Summary {
        suspended_rules: suspended_rules(connection)?,
        tasks: count("SELECT count(*) FROM tasks WHERE deleted_at IS NULL")?,
        deleted_tasks: count("SELECT count(*) FROM tasks WHERE deleted_at IS NOT NULL")?,
        sources,
        last_run,
        actions: counts_by_status(
            connection,
            "actions",
            &["pending", "running", "done", "skipped", "failed"],
        )?,
        mail: counts_by_status(
            connection,
            "mail_outbox",
            &["queued", "sending", "sent", "failed"],
        )?,
        firings_today: today("")?,
        stopped_today: today("stopped")?,
        failed_mail,
    })
}

/// Task ids of a data source in the mirror: (live, deleted).
pub fn task_ids(
    connection: &Connection,
    data_source_id: &str,
) -> anyhow::Result<(HashSet<String>, HashSet<String>)> {
    let mut statement = connection
        .prepare("SELECT id, deleted_at IS NOT NULL FROM tasks WHERE data_source_id = ?1")?;
    let mut live = HashSet::new();
    let mut deleted = HashSet::new();
    for row in statement.query_map([data_source_id], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?))
    })? {
        let (id, is_deleted) = row?;
        if is_deleted {
            deleted.insert(id);
        } else {
            live.insert(id);
        }
    }
    Ok((live, deleted))
}

/// Marks tasks deleted (gone from the data source or trashed), each with a history row, and
/// notes the reconcile; one transaction.
pub fn mark_deleted(
    connection: &mut Connection,
    data_source_id: &str,
    ids: &[String],
    firings: &[Firing],
    now: &str,
    run_id: i64,
) -> anyhow::Result<()> {
    let transaction = connection.transaction()?;
    {
        let mut update = transaction.prepare_cached("UPDATE tasks SET deleted_at = ?2, updated_at = ?2 WHERE id = ?1 AND deleted_at IS NULL")?;
        let changes: Vec<Change> = ids
            .iter()
            .map(|id| Change {
                task_id: id.clone(),
                property: DELETED.into(),
                property_id: None,
                old_value: None,
                new_value: Some(now.to_string()),
                old_json: None,
                new_json: None,
                edited_at: None,
                edited_by: None,
            })
            .collect();
        for id in ids {
            update.execute(params![id, now])?;
        }
        insert_changes(&transaction, &changes, now, run_id)?;
        insert_firings(&transaction, firings, now, Some(run_id))?;
        let mut leave = transaction.prepare_cached("DELETE FROM rule_states WHERE task_id = ?1")?;
        for id in ids {
            leave.execute([id])?;
        }
    }
    transaction.execute(
        "UPDATE sync_state SET last_reconcile_at = ?2 WHERE data_source_id = ?1",
        params![data_source_id, now],
    )?;
    transaction.commit()?;
    Ok(())
}

/// The pseudo-property of history rows that record a deletion or a return.
pub const DELETED: &str = "(deleted)";
/// The pseudo-property of the history row that records a task's first sighting.
pub const CREATED: &str = "(created)";

/// Tasks of the mirror for `tasks list --mirror`.
pub fn list_tasks(
    connection: &Connection,
    status: Option<&str>,
    include_deleted: bool,
) -> anyhow::Result<Vec<MirroredTask>> {
    let mut statement = connection.prepare(
        "SELECT id, data_source_id, title, status, url, created_time, last_edited_time, created_by, last_edited_by,
            deleted_at, properties_json, content_hash FROM tasks
         WHERE (?1 IS NULL OR status = ?1 COLLATE NOCASE) AND (?2 OR deleted_at IS NULL)
         ORDER BY created_time DESC, id",
    )?;
    let rows = statement
        .query_map(params![status, include_deleted], task_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

fn task_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MirroredTask> {
    Ok(MirroredTask {
        id: row.get(0)?,
        data_source_id: row.get(1)?,
        title: row.get(2)?,
        status: row.get(3)?,
        url: row.get(4)?,
        created_time: row.get(5)?,
        last_edited_time: row.get(6)?,
        created_by: row.get(7)?,
        last_edited_by: row.get(8)?,
        deleted_at: row.get(9)?,
        properties_json: row.get(10)?,
        content_hash: row.get(11)?,
    })
}

/// One task of the mirror by page id, or by unique ID number when `number` is given.
pub fn find_task(
    connection: &Connection,
    id: Option<&str>,
    number: Option<i64>,
) -> anyhow::Result<Option<MirroredTask>> {
    let mut statement = connection.prepare(
        "SELECT id, data_source_id, title, status, url, created_time, last_edited_time, created_by, last_edited_by,
            deleted_at, properties_json, content_hash FROM tasks t
         WHERE id = ?1 OR EXISTS (SELECT 1 FROM json_each(t.properties_json) p
             WHERE json_extract(p.value, '$.type') = 'unique_id' AND json_extract(p.value, '$.value.number') = ?2)
         LIMIT 1",
    )?;
    Ok(statement
        .query_row(params![id, number], task_row)
        .optional()?)
}

/// Tasks of the mirror by id.
pub fn tasks_by_id(connection: &Connection, ids: &[String]) -> anyhow::Result<Vec<MirroredTask>> {
    let mut statement = connection.prepare_cached(
        "SELECT id, data_source_id, title, status, url, created_time, last_edited_time, created_by, last_edited_by,
            deleted_at, properties_json, content_hash FROM tasks WHERE id = ?1",
    )?;
    let mut rows = Vec::new();
    for id in ids {
        if let Some(row) = statement.query_row([id], task_row).optional()? {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Live tasks of a data source (for evaluating time-dependent rules).
pub fn live_tasks(
    connection: &Connection,
    data_source_id: &str,
) -> anyhow::Result<Vec<MirroredTask>> {
    let mut statement = connection.prepare(
        "SELECT id, data_source_id, title, status, url, created_time, last_edited_time, created_by, last_edited_by,
            deleted_at, properties_json, content_hash FROM tasks WHERE data_source_id = ?1 AND deleted_at IS NULL ORDER BY id",
    )?;
    let rows = statement
        .query_map([data_source_id], task_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The change history of a task, oldest first.
pub fn history(connection: &Connection, task_id: &str) -> anyhow::Result<Vec<HistoryRow>> {
    let mut statement = connection.prepare(
        "SELECT c.property, c.old_value, c.new_value, c.observed_at, c.edited_at, c.edited_by, u.name
         FROM task_changes c LEFT JOIN users u ON u.id = c.edited_by
         WHERE c.task_id = ?1 ORDER BY c.id",
    )?;
    let rows = statement
        .query_map([task_id], |row| {
            Ok(HistoryRow {
                property: row.get(0)?,
                old_value: row.get(1)?,
                new_value: row.get(2)?,
                observed_at: row.get(3)?,
                edited_at: row.get(4)?,
                edited_by: row.get(5)?,
                edited_by_name: row.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
