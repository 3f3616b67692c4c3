//! The sync engine: pulls tasks from Notion into the mirror, exactly, in stages:
//! pull (`pull`: Notion's pages, one pager for the windowed loops) → classify (`classify`,
//! pure) → rules (`evaluate`: `rules::evaluate` on each change) → store (one transaction per
//! page). See docs/semantics.md, "Sync", for what it promises.
//!
//! - Incremental: `last_edited_time on_or_after (cursor − overlap)`, ascending, 100 a page; each
//!   page is stored in one transaction together with the cursor it justifies; the cursor never
//!   passes the sync's start − 1 minute. Unchanged tasks (same content hash) write nothing.
//! - Full: windows by `created_time`, restarting from the last seen time when Notion caps a
//!   query at 10,000 rows, de-duplicating by page id; tasks not seen are marked deleted.
//! - Reconcile: the same scan for ids only (`filter_properties`), to find deleted tasks.
//! - Dry run ([`Mode::DryRun`]): the same reads, no writes at all.
//!
//! Progress is reported through [`SyncOptions::progress`]; the engine prints nothing.

mod classify;
mod evaluate;
mod ingest;
mod pull;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;

use crate::model::DataSource;
use crate::model::automation::PlannedAction;
use crate::model::run::{Stopped, SyncKind};
use crate::model::stored::{ChangeKind, renames};
use crate::model::time::{iso, parse_time};
use crate::notion::NotionClient;
use crate::rules::RuleSet;
use crate::store::{Batch, RunCounts, Store};

pub use classify::{Classified, Stored, classify};

/// Told how many more tasks were read, as the sync goes (the CLI draws a progress bar).
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// How to sync.
#[derive(Clone)]
pub struct SyncOptions {
    /// Read every task (windowed by creation time) and mark the missing ones deleted.
    pub full: bool,
    /// Read from Notion and the mirror, write nothing anywhere.
    pub dry_run: bool,
    /// How far before the cursor an incremental sync starts reading (timestamps are rounded down
    /// to the minute, so recent pages are re-read on purpose).
    pub overlap: Duration,
    /// A cheap id-only reconcile runs when the last one is older than this.
    pub reconcile_every: Duration,
    /// The time rules are evaluated at; `None` is the clock (tests and previews set it).
    pub now: Option<DateTime<Utc>>,
    /// Set by a shutdown: the sync stops before its next request, between transactions.
    pub stop: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// Told of every task read; none: nobody is watching.
    pub progress: Option<Progress>,
}

impl std::fmt::Debug for SyncOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOptions")
            .field("full", &self.full)
            .field("dry_run", &self.dry_run)
            .field("overlap", &self.overlap)
            .field("reconcile_every", &self.reconcile_every)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            full: false,
            dry_run: false,
            overlap: Duration::minutes(2),
            reconcile_every: Duration::hours(1),
            now: None,
            stop: None,
            progress: None,
        }
    }
}

/// A change a dry run would record.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedChange {
    pub task_id: String,
    /// What people call the task: its unique ID (`TASK-12`), else its page id.
    pub task: String,
    pub title: String,
    /// `new`, `changed`, `deleted` or `restored`.
    pub kind: ChangeKind,
    pub properties: Vec<PlannedProperty>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlannedProperty {
    pub property: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// What a sync did (or, in a dry run, would do).
#[derive(Clone, Debug, Serialize)]
pub struct SyncReport {
    pub data_source_id: String,
    pub data_source: String,
    /// `incremental` or `full`.
    pub kind: SyncKind,
    pub reconciled: bool,
    pub dry_run: bool,
    pub new: u64,
    pub changed: u64,
    pub deleted: u64,
    pub restored: u64,
    pub unchanged: u64,
    /// Requests sent to Notion (retries included).
    pub requests: u64,
    pub duration_ms: u64,
    pub cursor: Option<String>,
    /// Rules that fired (or would, in a dry run), and chains stopped by the firing budget.
    pub fired: u64,
    pub stopped: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub planned: Vec<PlannedChange>,
    /// The firings, with their rendered actions (the first thousand).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub firings: Vec<FiringReport>,
    /// Edits by another process with this integration's token (warned about, recorded).
    #[serde(skip_serializing_if = "is_zero")]
    pub other_writers: u64,
    /// Properties the pages have and the schema read at the start does not (added in Notion
    /// meanwhile): the daemon reads the schema again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_properties: Vec<String>,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// A rule firing as reported (and, in a dry run, as it would be recorded).
#[derive(Clone, Debug, Serialize)]
pub struct FiringReport {
    pub rule: String,
    /// What people call the task: its unique ID (`TASK-12`), else its page id.
    pub task: String,
    pub task_id: String,
    pub title: String,
    pub transition: String,
    pub status: crate::model::automation::FiringStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub actions: Vec<PlannedAction>,
}

/// Whether the stages write: a dry run reads the mirror (when there is one) and writes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Write,
    DryRun,
}

/// Syncs one data source into the mirror. `store` may be `None` only for a dry run without a
/// mirror file (then everything is new).
pub async fn sync(
    client: &NotionClient,
    store: Option<&Store>,
    source: &DataSource,
    rules: &RuleSet,
    options: &SyncOptions,
) -> anyhow::Result<SyncReport> {
    let mode = if options.dry_run {
        Mode::DryRun
    } else {
        Mode::Write
    };
    anyhow::ensure!(
        store.is_some() || mode == Mode::DryRun,
        "a sync that writes needs the mirror"
    );
    let started = std::time::Instant::now();
    let requests_before = client.requests_sent();
    let now = options.now.unwrap_or_else(Utc::now);
    let source_id = source.id.to_string();
    let state = match store {
        Some(store) => store.sync_state(source_id.clone()).await?,
        None => None,
    };
    let first = state.as_ref().and_then(|s| s.cursor.as_ref()).is_none();
    let full = options.full || first;
    let kind = if full {
        SyncKind::Full
    } else {
        SyncKind::Incremental
    };
    let reconcile_due = state
        .as_ref()
        .and_then(|s| s.last_reconcile_at.as_deref())
        .and_then(parse_time)
        .is_none_or(|at| now - at >= options.reconcile_every);
    let mut engine = Engine::new(client, store, mode, source, rules, now);
    engine.baseline = first;
    engine.stop = options.stop.clone();
    engine.progress = options.progress.clone();
    engine.known_properties = source.properties.values().map(|p| p.id.clone()).collect();
    if rules.rules.iter().any(|rule| rule.enabled) {
        engine.bot = Some(engine.bot_user_id().await?);
    } else if let Some(reader) = engine.store {
        // Without rules the bot is only needed to tell another writer's edits: the mirror's
        // record of it costs no request.
        engine.bot = reader.bot_user_id(source_id.clone()).await?;
    }
    // People by name: the workspace's users, read again with each reconcile.
    if let Some(store) = engine.writer()
        && (reconcile_due || full)
    {
        engine.refresh_users(store).await?;
    }
    if let Some(reader) = engine.store {
        engine.names = reader.user_names().await?;
        if rules.needs_users() {
            engine.directory.users = reader.users().await?;
        }
        if rules.renders_relations {
            engine.directory.titles = reader.task_titles(source_id.clone()).await?;
        }
        let references = rules.task_references();
        if !references.is_empty() {
            let found = reader.task_references(references).await?;
            engine.directory.set_tasks(found);
        }
    }
    if let Some(store) = engine.writer() {
        engine
            .save_source(store, state.as_ref().and_then(|s| s.schema_json.clone()))
            .await?;
        engine.run_id = store.start_run(source_id.clone(), kind, iso(now)).await?;
    }
    // A full sync writes every task: the WAL is checkpointed every 32 MB and at its end rather
    // than every 4 MB (the same B-tree pages would be copied into the database again and again).
    let deferred = engine.writer().filter(|_| full);
    if let Some(store) = deferred {
        store.defer_checkpoints().await?;
    }
    let outcome = engine
        .run(
            full,
            reconcile_due || full,
            state.and_then(|s| s.cursor),
            options.overlap,
        )
        .await;
    if let Some(store) = deferred
        && let Err(error) = store.resume_checkpoints().await
    {
        // The sync's own outcome matters more; SQLite still checkpoints as the WAL grows.
        tracing::warn!(error = %format!("{error:#}"), "cannot checkpoint the mirror's WAL after a full sync");
    }
    engine.counts.requests = client.requests_sent() - requests_before;
    if let Some(store) = engine.writer() {
        let error = outcome.as_ref().err().map(|e| format!("{e:#}"));
        store
            .finish_run(
                engine.run_id,
                engine.counts.clone(),
                started.elapsed(),
                error,
                iso(Utc::now()),
                full,
            )
            .await?;
    }
    let reconciled = outcome?;
    let cursor = match store {
        Some(store) => store
            .sync_state(source_id.clone())
            .await?
            .and_then(|s| s.cursor),
        None => None,
    };
    Ok(SyncReport {
        data_source_id: source_id,
        data_source: source.name.clone(),
        kind,
        reconciled,
        dry_run: options.dry_run,
        new: engine.counts.new,
        changed: engine.counts.changed,
        deleted: engine.counts.deleted,
        restored: engine.counts.restored,
        unchanged: engine.counts.unchanged,
        requests: engine.counts.requests,
        duration_ms: started.elapsed().as_millis() as u64,
        cursor,
        fired: engine.fired,
        stopped: engine.stopped,
        other_writers: engine.other_writers,
        planned: engine.planned,
        firings: engine.firings,
        unknown_properties: engine.unknown_properties.into_iter().collect(),
    })
}

/// Evaluates time-dependent rules over the mirror alone (no request to Notion): what the daemon's
/// `time_rules` schedule runs between syncs. Returns how many rules fired.
pub async fn time_rules(
    client: &NotionClient,
    store: &Store,
    source: &DataSource,
    rules: &RuleSet,
    now: DateTime<Utc>,
) -> anyhow::Result<(u64, Vec<FiringReport>)> {
    let state = store.sync_state(source.id.to_string()).await?;
    if state.and_then(|s| s.cursor).is_none() {
        // Before the first sync there is nothing to evaluate (and the first sync is a baseline).
        return Ok((0, Vec::new()));
    }
    let mut engine = Engine::new(client, Some(store), Mode::Write, source, rules, now);
    engine.time_rules(false).await?;
    Ok((engine.fired, engine.firings))
}

/// The state of one sync as its stages go.
struct Engine<'a> {
    client: &'a NotionClient,
    /// The mirror, where reads come from (read-only in a dry run).
    store: Option<&'a Store>,
    mode: Mode,
    source: &'a DataSource,
    source_id: String,
    now: DateTime<Utc>,
    run_id: i64,
    counts: RunCounts,
    planned: Vec<PlannedChange>,
    /// The latest `last_edited_time` seen in a full scan: the cursor once the scan is complete.
    max_edited: Option<String>,
    progress: Option<Progress>,
    stop: Option<Arc<std::sync::atomic::AtomicBool>>,
    rules: &'a RuleSet,
    /// The first sync of the data source: rules record what holds but do not fire.
    baseline: bool,
    /// The integration's bot user: the author of tasksync's own edits.
    bot: Option<String>,
    fired: u64,
    stopped: u64,
    /// Edits by another writer with our token found (see `other_writer`).
    other_writers: u64,
    firings: Vec<FiringReport>,
    /// The schema's property ids, and properties the pages have beyond them.
    known_properties: HashSet<String>,
    unknown_properties: BTreeSet<String>,
    /// Users' names by id (the mirror's `users`), for people given by id only.
    names: HashMap<String, String>,
    /// The people and tasks rules name, and users' emails for mail to people properties (read
    /// only when a rule needs them).
    directory: crate::rules::directory::Directory,
    /// A full scan gathers pages into fewer transactions (`write`); `pending` is what it has
    /// gathered and not yet committed.
    merging: bool,
    pending: Option<Batch>,
}

/// About how many tasks a full scan commits at once: fewer, larger transactions write each
/// B-tree page to the WAL fewer times. A crash loses at most that much of the scan's work (the
/// scan moves no cursor until it is complete, so the next sync reads it again).
const MERGED_TASKS: usize = 400;

impl<'a> Engine<'a> {
    fn new(
        client: &'a NotionClient,
        store: Option<&'a Store>,
        mode: Mode,
        source: &'a DataSource,
        rules: &'a RuleSet,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            client,
            store,
            mode,
            source,
            source_id: source.id.to_string(),
            now,
            run_id: 0,
            counts: RunCounts::default(),
            planned: Vec::new(),
            max_edited: None,
            progress: None,
            stop: None,
            rules,
            baseline: false,
            bot: None,
            fired: 0,
            stopped: 0,
            other_writers: 0,
            firings: Vec::new(),
            known_properties: HashSet::new(),
            unknown_properties: BTreeSet::new(),
            names: HashMap::new(),
            directory: Default::default(),
            merging: false,
            pending: None,
        }
    }

    /// Where writes go: the mirror, unless this is a dry run.
    fn writer(&self) -> Option<&'a Store> {
        self.store.filter(|_| self.mode == Mode::Write)
    }

    fn progressed(&self, tasks: u64) {
        if let Some(progress) = &self.progress {
            progress(tasks);
        }
    }

    /// Runs the sync; returns whether a reconcile ran.
    async fn run(
        &mut self,
        full: bool,
        reconcile: bool,
        cursor: Option<String>,
        overlap: Duration,
    ) -> anyhow::Result<bool> {
        // Time-dependent rules new to this mirror first record who is inside (firing nothing),
        // so that the changes below are judged against that record.
        if !self.baseline {
            self.time_rules(true).await?;
        }
        let reconciled = self.pull(full, reconcile, cursor, overlap).await?;
        self.time_rules(false).await?;
        Ok(reconciled)
    }

    async fn pull(
        &mut self,
        full: bool,
        reconcile: bool,
        cursor: Option<String>,
        overlap: Duration,
    ) -> anyhow::Result<bool> {
        if full {
            let seen = self.scan(true).await?;
            self.mark_missing(seen, true).await?;
            if let Some(edited) = self.max_edited.take() {
                self.advance_cursor(&edited).await?;
            }
            return Ok(true);
        }
        let cursor = cursor
            .as_deref()
            .and_then(parse_time)
            .context("the stored sync cursor is unreadable: run `tasksync sync --full`")?;
        // A cursor from the mirror is a date Notion gave; checked all the same.
        let since = cursor
            .checked_sub_signed(overlap)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        self.incremental(since).await?;
        if reconcile {
            let seen = self.scan(false).await?;
            self.mark_missing(seen, false).await?;
        }
        Ok(reconcile)
    }

    /// Stops the sync (between transactions) once a shutdown was asked for.
    fn check_stop(&self) -> anyhow::Result<()> {
        match &self.stop {
            Some(stop) if stop.load(std::sync::atomic::Ordering::SeqCst) => Err(Stopped.into()),
            _ => Ok(()),
        }
    }

    /// The cursor may not pass the sync's start − 1 minute: later edits can still share a
    /// minute-rounded timestamp with what we saw.
    fn capped(&self, edited: &str) -> String {
        let limit = self
            .now
            .duration_trunc(Duration::minutes(1))
            .unwrap_or(self.now)
            - Duration::minutes(1);
        match parse_time(edited) {
            Some(time) if time < limit => iso(time),
            _ => iso(limit),
        }
    }

    async fn advance_cursor(&mut self, edited: &str) -> anyhow::Result<()> {
        let batch = Batch {
            cursor: Some(self.capped(edited)),
            ..self.batch()
        };
        self.write(batch).await
    }

    /// An empty batch of this run.
    fn batch(&self) -> Batch {
        Batch {
            data_source_id: self.source_id.clone(),
            run_id: self.run_id,
            observed_at: iso(self.now),
            ..Batch::default()
        }
    }

    /// The store stage: one page's writes in one transaction (nothing in a dry run). While a
    /// full scan is `merging`, pages are gathered into transactions of about
    /// [`MERGED_TASKS`] tasks: each page's tasks, history and firings still commit together, and a
    /// full scan moves no cursor until it is complete. A batch with a cursor is never merged.
    async fn write(&mut self, batch: Batch) -> anyhow::Result<()> {
        let Some(store) = self.writer() else {
            return Ok(());
        };
        if !self.merging || batch.cursor.is_some() {
            self.flush().await?;
            return store.apply_batch(batch).await;
        }
        let pending = match &mut self.pending {
            Some(pending) => {
                pending.upserts.extend(batch.upserts);
                pending.changes.extend(batch.changes);
                pending.firings.extend(batch.firings);
                pending.rule_states.extend(batch.rule_states);
                pending.other_writers.extend(batch.other_writers);
                pending
            }
            None => self.pending.insert(batch),
        };
        if pending.upserts.len() >= MERGED_TASKS {
            self.flush().await?;
        }
        Ok(())
    }

    /// Commits the pages gathered so far (see `write`).
    async fn flush(&mut self) -> anyhow::Result<()> {
        if let (Some(store), Some(batch)) = (self.writer(), self.pending.take()) {
            store.apply_batch(batch).await?;
        }
        Ok(())
    }

    async fn save_source(
        &self,
        store: &Store,
        previous_schema: Option<String>,
    ) -> anyhow::Result<()> {
        let schema = self.source.names_by_id();
        let previous: BTreeMap<String, String> = previous_schema
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default();
        let renames = renames(&previous, &schema);
        for (_, old, new) in &renames {
            tracing::info!(%old, %new, "property renamed; its history follows it");
        }
        store
            .save_source(
                self.source_id.clone(),
                self.source.database_id.as_ref().map(ToString::to_string),
                self.source.name.clone(),
                schema,
                renames,
                iso(self.now),
            )
            .await?;
        store
            .save_status_schema(
                self.source_id.clone(),
                self.source.first_of_kind("status").cloned(),
            )
            .await
    }

    /// Reads the workspace's users from Notion into the mirror (not when the integration may
    /// not read user information: then people stay ids).
    async fn refresh_users(&self, store: &Store) -> anyhow::Result<()> {
        match self
            .client
            .list_users()
            .await
            .context("cannot list the workspace's users")?
        {
            Some(users) => store.save_users(users, iso(self.now)).await,
            None => {
                tracing::info!(
                    "the integration may not read user information: people are shown by id (give it the \"Read user information\" capability)"
                );
                Ok(())
            }
        }
    }

    /// The integration's bot user id: from the mirror, else asked of Notion once and kept.
    async fn bot_user_id(&self) -> anyhow::Result<String> {
        if let Some(reader) = self.store
            && let Some(bot) = reader.bot_user_id(self.source_id.clone()).await?
        {
            return Ok(bot);
        }
        let bot = self
            .client
            .me()
            .await
            .context("cannot identify the integration (users/me)")?
            .id;
        if let Some(store) = self.writer() {
            store
                .save_bot_user_id(self.source_id.clone(), bot.clone())
                .await?;
        }
        Ok(bot)
    }

    /// Lists a change a dry run would record.
    fn plan(
        &mut self,
        task_id: String,
        unique_id: Option<String>,
        title: String,
        kind: ChangeKind,
        properties: Vec<PlannedProperty>,
    ) {
        if self.mode == Mode::DryRun && kind.is_planned() {
            self.planned.push(PlannedChange {
                task: unique_id.unwrap_or_else(|| task_id.clone()),
                task_id,
                title,
                kind,
                properties,
            });
        }
    }
}
