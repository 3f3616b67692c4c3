//! The schema: an append-only list of migrations, and what makes a file a tasksync mirror.

use std::path::Path;

use anyhow::Context;
use rusqlite::Connection;

/// Schema migrations, in order. Never edit or reorder an entry: append a new one.
pub(super) const MIGRATIONS: &[&str] = &[
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
    // An append's batches (docs/semantics.md, "Exactly once"): the block each was sent after, then the blocks it
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
    // Mail to the people of a people property: who could not be mailed (no email), with why.
    r#"
ALTER TABLE mail_outbox ADD COLUMN skipped_json TEXT NOT NULL DEFAULT '[]';
"#,
    // Webhook actions: queued in the firing's transaction, sent with a stable Idempotency-Key.
    // A URL with a secret stays in the environment: only its variable's name is stored.
    r#"
CREATE TABLE webhook_outbox (
    id              INTEGER PRIMARY KEY,
    firing_id       INTEGER REFERENCES rule_firings (id),
    task_id         TEXT REFERENCES tasks (id),
    idempotency_key TEXT NOT NULL UNIQUE,
    url_env         TEXT,
    url             TEXT,
    content_type    TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    response_status INTEGER,
    next_attempt_at TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX webhook_outbox_by_status ON webhook_outbox (status, id);
"#,
    // Several sources in one mirror (`[[sources]]`): the work on one source's tasks is recorded
    // with the source's name (NULL for the one-source form and for the process's own jobs).
    r#"
ALTER TABLE job_runs ADD COLUMN source TEXT;
CREATE INDEX job_runs_by_source ON job_runs (job, source, id);
"#,
    // Notion's webhooks: the events seen (by id, so a redelivery or replay starts nothing
    // twice), and per outcome the last request and how many there were, for `status`.
    r#"
CREATE TABLE notion_events (
    event_id    TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    entity_id   TEXT,
    received_at TEXT NOT NULL
);
CREATE INDEX notion_events_by_time ON notion_events (received_at);
CREATE TABLE notion_webhook_requests (
    outcome TEXT PRIMARY KEY,
    last_at TEXT NOT NULL,
    detail  TEXT,
    count   INTEGER NOT NULL DEFAULT 0
);
"#,
    // The flow report reads the mirror only: the status property (options and groups) as the
    // last sync saw it.
    r#"
ALTER TABLE sync_state ADD COLUMN status_json TEXT;
"#,
    // Another writer with our integration's token: our own writes besides rule actions (the
    // `tasks` commands), recorded before they are sent, and the edits by our bot that none of
    // our journals explains, as the sync finds them.
    r#"
CREATE TABLE own_edits (
    id          INTEGER PRIMARY KEY,
    task_id     TEXT NOT NULL,
    property_id TEXT NOT NULL,
    value       TEXT,
    via         TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX own_edits_by_task ON own_edits (task_id, at);
CREATE TABLE other_writer_edits (
    task_id        TEXT NOT NULL,
    edited_at      TEXT NOT NULL,
    data_source_id TEXT NOT NULL,
    task           TEXT NOT NULL,
    properties     TEXT NOT NULL,
    detected_at    TEXT NOT NULL,
    PRIMARY KEY (task_id, edited_at)
);
CREATE INDEX other_writer_edits_by_time ON other_writer_edits (detected_at);
"#,
];

/// The schema version a migrated mirror has (`PRAGMA user_version`).
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// `PRAGMA application_id` of a tasksync mirror ("tSyn"), so that a mirror can be told from
/// another application's SQLite file.
pub const APPLICATION_ID: i32 = 0x7453_796E;

/// Whether the file at `path` is a tasksync mirror (or empty, to become one), without changing
/// it: a file of another application (another `application_id`, or tables but none of ours), or
/// a schema version tasksync does not know, is refused.
pub(super) fn identify(connection: &Connection, path: &Path) -> anyhow::Result<()> {
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

pub(super) fn migrate(connection: &mut Connection) -> anyhow::Result<()> {
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
    transaction.pragma_update(None, "user_version", super::sql_integer(MIGRATIONS.len()))?;
    transaction.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    #[test]
    fn a_new_mirror_carries_our_id_and_the_latest_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mirror.db");
        drop(Store::open(&path).unwrap());
        let connection = Connection::open(&path).unwrap();
        let read = |pragma: &str| -> i64 {
            connection
                .pragma_query_value(None, pragma, |row| row.get(0))
                .unwrap()
        };
        assert_eq!(read("application_id"), i64::from(APPLICATION_ID));
        assert_eq!(read("user_version") as usize, SCHEMA_VERSION);
        // Opening again migrates nothing and keeps everything.
        drop(connection);
        drop(Store::open(&path).unwrap());
        assert!(Store::open_read_only(&path).unwrap().is_some());
    }

    #[test]
    fn another_applications_file_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        let other = Connection::open(&path).unwrap();
        other
            .execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);")
            .unwrap();
        drop(other);
        let before = std::fs::read(&path).unwrap();
        let error = Store::open(&path).unwrap_err();
        assert!(
            format!("{error:#}")
                .contains("is not a tasksync mirror (it holds other tables: notes)"),
            "{error:#}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_schema_from_a_newer_tasksync_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mirror.db");
        drop(Store::open(&path).unwrap());
        let connection = Connection::open(&path).unwrap();
        connection
            .pragma_update(
                None,
                "user_version",
                super::super::sql_integer(SCHEMA_VERSION + 1),
            )
            .unwrap();
        drop(connection);
        let error = Store::open(&path).unwrap_err();
        assert!(
            format!("{error:#}").contains("upgrade tasksync"),
            "{error:#}"
        );
        assert!(
            Store::open_read_only(&dir.path().join("missing.db"))
                .unwrap()
                .is_none()
        );
    }
}
