//! The SQLite mirror: the only module that imports rusqlite and writes SQL.
//!
//! Tables, by family (each family a file with its domain methods on [`Store`] and their tests):
//! - `migrations`: the append-only schema list (`PRAGMA user_version`) and the file's identity
//!   (`PRAGMA application_id`);
//! - `tasks`: `tasks`, `task_changes` (history), `sync_state` (cursor, schema, bot user),
//!   `property_names` (every name a property had), `users`;
//! - `automation`: `rule_firings`, `actions`, `append_batches`, `rule_states`, `rule_baselines`,
//!   `rule_suspensions`;
//! - `outbox`: `mail_outbox`;
//! - `runs`: `sync_runs`, `job_runs`, and the summary `status` shows;
//! - `events`: `notion_events`, `notion_webhook_requests` (Notion's webhooks).
//!
//! The tables are a user contract (the README's SQL). WAL mode, foreign keys, a busy timeout;
//! the file is created readable by its owner only. Each method is one logical step in one
//! transaction, run on the blocking pool; its error names the step and the mirror.

mod automation;
mod directory;
mod events;
mod hooks;
mod migrations;
mod outbox;
mod report;
mod runs;
mod tasks;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::model::automation::{Firing, RuleStateChange};
pub use crate::model::stored::{CREATED, DELETED};
use crate::model::stored::{Change, MirroredTask, OtherWriterEdit};
pub use automation::{AppendBatchRow, FiringRecord, OwnJournal, QueuedAction, SuspendedRule};
pub use events::InboundNote;
pub use hooks::{OutboxWebhook, WebhookEntry, WebhookOutcome};
pub use migrations::{APPLICATION_ID, SCHEMA_VERSION};
use migrations::{MIGRATIONS, identify, migrate};
pub use outbox::{OutboxEntry, OutboxMail};
pub use report::{ReportEvent, ReportInputs, ReportTask, RuleWeek};
pub use runs::{JobHealth, RunRecord, Summary};
pub use tasks::{HistoryRow, SyncState};

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
    /// Edits by our bot that none of our journals explains, found in this batch.
    pub other_writers: Vec<OtherWriterEdit>,
    /// The new cursor, when this batch lets it advance.
    pub cursor: Option<String>,
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
    /// The steps run, with the `synchronous` level SQLite had as each ended (tests).
    #[cfg(test)]
    commits: Arc<Mutex<Vec<(&'static str, i64)>>>,
}

/// How a step's commit reaches the disk: see [`Store::call`] and [`Store::call_durable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Durability {
    Normal,
    Full,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating it, owner-only, if needed) and migrates the mirror.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        create_mirror_file(path)?;
        refuse_other_links(path)?;
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
            #[cfg(test)]
            commits: Arc::default(),
        })
    }

    /// Opens an existing mirror read-only (for dry runs and offline reads), or `None` when the
    /// file does not exist. Never creates or changes anything.
    pub fn open_read_only(path: &Path) -> anyhow::Result<Option<Self>> {
        if !path.exists() {
            return Ok(None);
        }
        refuse_other_links(path)?;
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
            #[cfg(test)]
            commits: Arc::default(),
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Spaces SQLite's automatic WAL checkpoints out (every [`DEFERRED_CHECKPOINT_PAGES`] pages
    /// instead of 1,000) until [`Store::resume_checkpoints`]: for a full sync, which writes every
    /// task.
    pub async fn defer_checkpoints(&self) -> anyhow::Result<()> {
        self.call("defer WAL checkpoints", |c| {
            c.pragma_update(None, "wal_autocheckpoint", DEFERRED_CHECKPOINT_PAGES)?;
            Ok(())
        })
        .await
    }

    /// Checkpoints what it can of the WAL into the database and turns automatic checkpoints
    /// back on. Passive: it never waits for a reader (someone's SQL over the mirror) to finish;
    /// what a reader still holds goes with the next checkpoint.
    pub async fn resume_checkpoints(&self) -> anyhow::Result<()> {
        self.call("checkpoint the WAL", |c| {
            c.pragma_update(None, "wal_autocheckpoint", 1000)?;
            // One row: (busy, frames in the WAL, frames checkpointed).
            c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }

    /// Runs one step of store work on the blocking pool (rusqlite is synchronous); an error
    /// says which step failed, on which mirror. Only the store's own methods call it: callers
    /// say what they want, never which SQL to run. Its commits are made with
    /// `synchronous = NORMAL`: durable against a crash of the process, and fast; a power loss
    /// may undo the last of them (which the next sync reads again).
    async fn call<T, F>(&self, step: &'static str, work: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> anyhow::Result<T> + Send + 'static,
    {
        self.run(step, Durability::Normal, work).await
    }

    /// Like [`Store::call`], for a commit that an outside effect follows (a Notion write, a
    /// mail, a webhook delivery): made with `synchronous = FULL`, so the log is on the disk
    /// before the effect starts and a power loss cannot undo the record that says it may have
    /// happened (with NORMAL, SQLite's documentation says, a committed transaction in WAL mode
    /// may roll back after a power loss). Syncing the log makes every earlier commit durable
    /// too. docs/semantics.md, "Durable before an effect".
    async fn call_durable<T, F>(&self, step: &'static str, work: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> anyhow::Result<T> + Send + 'static,
    {
        self.run(step, Durability::Full, work).await
    }

    async fn run<T, F>(
        &self,
        step: &'static str,
        durability: Durability,
        work: F,
    ) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let connection = self.connection.clone();
        #[cfg(test)]
        let commits = self.commits.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = connection
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if durability == Durability::Full {
                connection.pragma_update(None, "synchronous", "FULL")?;
            }
            let done = work(&mut connection);
            // What SQLite held for this connection as the step ended: the tests read it.
            #[cfg(test)]
            if let Ok(level) = connection.pragma_query_value(None, "synchronous", |row| row.get(0))
            {
                commits
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((step, level));
            }
            if durability == Durability::Full {
                connection.pragma_update(None, "synchronous", "NORMAL")?;
            }
            done
        })
        .await
        .context("a database task stopped unexpectedly")?
        .with_context(|| format!("the mirror {}: cannot {step}", self.path.display()))
    }
}

/// WAL pages between checkpoints during a full sync (about 32 MB): each checkpoint copies the
/// pages written since the last, so fewer of them copy the same B-tree pages fewer times; the
/// bound keeps the WAL (and its index, mapped into memory) from growing with the data source.
const DEFERRED_CHECKPOINT_PAGES: i64 = 8192;

/// A count or index as SQLite's integer (saturating: no count here comes near `i64::MAX`).
fn sql_integer(value: impl TryInto<i64>) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

/// Column `index` of `row`, a status stored as text, decoded by `parse`: a text it does not know
/// is an error naming it, never a guess.
fn stored_status<T>(
    row: &rusqlite::Row<'_>,
    index: usize,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("unknown status {text:?} (the row was edited by hand or written by a newer tasksync)").into(),
        )
    })
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

/// Creates the mirror's file (empty, readable by its owner only) when it does not exist yet;
/// SQLite takes an empty file for an empty database.
fn create_mirror_file(path: &Path) -> anyhow::Result<()> {
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

/// A mirror file with more than one name (hard link).
#[derive(Debug, thiserror::Error)]
#[error(
    "the mirror {} has {links} names (hard links): SQLite keeps its write-ahead log beside the name a database is opened by, so two names are two logs for one database and corrupt it; remove the other names (`find / -xdev -samefile {}` lists them) and use one path, a symbolic link if you need a second"
, .path.display(), .path.display())]
pub struct LinkedMirror {
    pub path: PathBuf,
    pub links: u64,
}

/// Refuses a mirror file that has other names, before SQLite opens it by this one.
fn refuse_other_links(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let links = std::fs::metadata(path)
        .with_context(|| format!("cannot read the mirror {}", path.display()))?
        .nlink();
    if links > 1 {
        return Err(LinkedMirror {
            path: path.to_path_buf(),
            links,
        }
        .into());
    }
    Ok(())
}

/// What the families' tests share: a mirror in a temporary directory, and rows to put in it.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub const SOURCE: &str = "22222222-2222-2222-2222-222222222222";
    pub const AT: &str = "2026-07-10T09:30:00.000Z";

    /// A new mirror (the directory removes it when dropped).
    pub fn mirror() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("mirror.db")).unwrap();
        (dir, store)
    }

    /// A task row with `properties_json` holding a unique ID `TASK-number`.
    pub fn task(id: &str, number: i64) -> MirroredTask {
        let properties = format!(
            r#"{{"ID":{{"id":"uid","type":"unique_id","value":{{"prefix":"TASK","number":{number}}},"text":"TASK-{number}"}}}}"#
        );
        MirroredTask {
            id: id.into(),
            data_source_id: SOURCE.into(),
            title: format!("Task {number}"),
            status: Some("To do".into()),
            url: format!("https://www.notion.so/{number}"),
            created_time: AT.into(),
            last_edited_time: AT.into(),
            created_by: Some("ada".into()),
            last_edited_by: Some("ada".into()),
            deleted_at: None,
            properties_json: properties,
            content_hash: format!("hash{number}"),
        }
    }

    /// A history row of `task`: `property` from `old` to `new`.
    pub fn change(task: &str, property: &str, old: Option<&str>, new: Option<&str>) -> Change {
        Change {
            task_id: task.into(),
            property: property.into(),
            property_id: Some(format!("{property}-id")),
            old_value: old.map(str::to_string),
            new_value: new.map(str::to_string),
            old_json: None,
            new_json: None,
            edited_at: Some(AT.into()),
            edited_by: Some("ada".into()),
        }
    }

    /// The sync run of `with_source` (the first of a new mirror).
    pub const RUN: i64 = 1;

    /// A batch of this source at `AT`, in run `RUN`.
    pub fn batch() -> Batch {
        Batch {
            data_source_id: SOURCE.into(),
            run_id: RUN,
            observed_at: AT.into(),
            ..Batch::default()
        }
    }

    /// Records the data source, so that its sync state exists, and starts run `RUN`.
    pub async fn with_source(store: &Store) {
        store
            .save_source(
                SOURCE.into(),
                None,
                "Tasks".into(),
                [("title".to_string(), "Name".to_string())].into(),
                Vec::new(),
                AT.into(),
            )
            .await
            .unwrap();
        let run = store
            .start_run(SOURCE.into(), crate::model::run::SyncKind::Full, AT.into())
            .await
            .unwrap();
        assert_eq!(run, RUN);
    }
}
