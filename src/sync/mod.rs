//! The sync engine: pulls tasks from Notion into the mirror, exactly (design.md §3).
//!
//! - Incremental: `last_edited_time on_or_after (cursor − overlap)`, ascending, 100 a page; each
//!   page is stored in one transaction together with the cursor it justifies; the cursor never
//!   passes the sync's start − 1 minute. Unchanged tasks (same content hash) write nothing.
//! - Full: windows by `created_time`, restarting from the last seen time when Notion caps a
//!   query at 10,000 rows, de-duplicating by page id; tasks not seen are marked deleted.
//! - Reconcile: the same scan for ids only (`filter_properties`), to find deleted tasks.
//! - Dry run: the same reads, no writes at all.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use anyhow::Context;
use chrono::{DateTime, Duration, DurationRound, Utc};
use indicatif::ProgressBar;
use serde::Serialize;

use crate::model::automation::{Firing, PlannedAction, RuleStateChange};
use crate::model::run::Stopped;
use crate::model::stored::{self as plan, StoredProperties, changes, stored_properties, task_row};
use crate::model::stored::{Change, MirroredTask};
use crate::model::time::{iso, parse_time};
use crate::model::{DataSource, Task};
use crate::notion::NotionClient;
use crate::notion::query::{DateCondition, Direction, Filter, Query, Sort, TimestampField};
use crate::rules::render::{ChangeFacts, TaskFacts};
use crate::rules::{Evaluation, RuleSet, TaskChange, Trigger};
use crate::store::{self, Batch, RunCounts, Store, StoredVersion};

/// How to sync.
#[derive(Clone, Debug)]
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
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
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
        }
    }
}

/// A change a dry run would record.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedChange {
    pub task_id: String,
    pub title: String,
    /// `new`, `changed`, `deleted` or `restored`.
    pub kind: &'static str,
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
    pub kind: &'static str,
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
    /// Properties the pages have and the schema read at the start does not (added in Notion
    /// meanwhile): the daemon reads the schema again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_properties: Vec<String>,
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
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub actions: Vec<PlannedAction>,
}

const REPORTED_FIRINGS: usize = 1000;

/// Syncs one data source into the mirror. `store` may be `None` only for a dry run without a
/// mirror file (then everything is new).
pub async fn sync(
    client: &NotionClient,
    store: Option<&Store>,
    source: &DataSource,
    rules: &RuleSet,
    options: &SyncOptions,
    progress: &ProgressBar,
) -> anyhow::Result<SyncReport> {
    anyhow::ensure!(
        store.is_some() || options.dry_run,
        "a sync that writes needs the mirror"
    );
    let started = std::time::Instant::now();
    let requests_before = client.requests_sent();
    let now = options.now.unwrap_or_else(Utc::now);
    let source_id = source.id.to_string();
    let state = match store {
        Some(store) => {
            let id = source_id.clone();
            store.call(move |c| store::sync_state(c, &id)).await?
        }
        None => None,
    };
    let first = state.as_ref().and_then(|s| s.cursor.as_ref()).is_none();
    let full = options.full || first;
    let reconcile_due = state
        .as_ref()
        .and_then(|s| s.last_reconcile_at.as_deref())
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .is_none_or(|at| now - at.with_timezone(&Utc) >= options.reconcile_every);
    let mut engine = Engine {
        client,
        store: store.filter(|_| !options.dry_run),
        reader: store,
        source,
        source_id: source_id.clone(),
        now,
        run_id: 0,
        counts: RunCounts::default(),
        planned: Vec::new(),
        max_edited: None,
        progress,
        stop: options.stop.clone(),
        rules,
        baseline: first,
        bot: None,
        fired: 0,
        stopped: 0,
        firings: Vec::new(),
        known_properties: source.properties.values().map(|p| p.id.clone()).collect(),
        unknown_properties: BTreeSet::new(),
        names: HashMap::new(),
    };
    if rules.rules.iter().any(|rule| rule.enabled) {
        engine.bot = Some(engine.bot_user_id().await?);
    }
    // People by name: the workspace's users, read again with each reconcile.
    if let Some(store) = engine.store
        && (reconcile_due || full)
    {
        engine.refresh_users(store).await?;
    }
    if let Some(reader) = engine.reader {
        engine.names = reader.call(|c| store::user_names(c)).await?;
    }
    if let Some(store) = engine.store {
        engine
            .save_source(store, state.as_ref().and_then(|s| s.schema_json.clone()))
            .await?;
        let (id, kind, at) = (
            source_id.clone(),
            if full { "full" } else { "incremental" },
            iso(now),
        );
        engine.run_id = store
            .call(move |c| store::start_run(c, &id, kind, &at))
            .await?;
    }
    let outcome = engine
        .run(
            full,
            reconcile_due || full,
            state.and_then(|s| s.cursor),
            options.overlap,
        )
        .await;
    engine.counts.requests = client.requests_sent() - requests_before;
    if let Some(store) = engine.store {
        let (run_id, counts, elapsed, at) = (
            engine.run_id,
            engine.counts.clone(),
            started.elapsed(),
            iso(Utc::now()),
        );
        let error = outcome.as_ref().err().map(|e| format!("{e:#}"));
        store
            .call(move |c| {
                store::finish_run(c, run_id, &counts, elapsed, error.as_deref(), &at, full)
            })
            .await?;
    }
    let reconciled = outcome?;
    let cursor = match store {
        Some(store) => {
            let id = source_id.clone();
            store
                .call(move |c| store::sync_state(c, &id))
                .await?
                .and_then(|s| s.cursor)
        }
        None => None,
    };
    Ok(SyncReport {
        data_source_id: source_id,
        data_source: source.name.clone(),
        kind: if full { "full" } else { "incremental" },
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
) -> anyhow::Result<u64> {
    let source_id = source.id.to_string();
    let id = source_id.clone();
    let state = store.call(move |c| store::sync_state(c, &id)).await?;
    if state.and_then(|s| s.cursor).is_none() {
        // Before the first sync there is nothing to evaluate (and the first sync is a baseline).
        return Ok(0);
    }
    let progress = ProgressBar::hidden();
    let mut engine = Engine {
        client,
        store: Some(store),
        reader: Some(store),
        source,
        source_id,
        now,
        run_id: 0,
        counts: RunCounts::default(),
        planned: Vec::new(),
        max_edited: None,
        progress: &progress,
        stop: None,
        rules,
        baseline: false,
        bot: None,
        fired: 0,
        stopped: 0,
        firings: Vec::new(),
        known_properties: HashSet::new(),
        unknown_properties: BTreeSet::new(),
        names: HashMap::new(),
    };
    engine.time_rules(false).await?;
    Ok(engine.fired)
}

/// What templates and rules see of a stored task.
fn facts_of<'a>(
    row: &'a MirroredTask,
    properties: &'a StoredProperties,
    deleted: bool,
    names: &'a HashMap<String, String>,
) -> TaskFacts<'a> {
    let last_edited_by = row
        .last_edited_by
        .as_deref()
        .map(|id| names.get(id).map_or(id, String::as_str));
    TaskFacts {
        id: &row.id,
        url: &row.url,
        title: &row.title,
        status: row.status.as_deref(),
        created_time: &row.created_time,
        last_edited_time: &row.last_edited_time,
        last_edited_by,
        deleted,
        properties,
    }
}

struct Engine<'a> {
    client: &'a NotionClient,
    /// Where writes go; `None` in a dry run.
    store: Option<&'a Store>,
    /// Where reads come from (the mirror, read-only in a dry run).
    reader: Option<&'a Store>,
    source: &'a DataSource,
    source_id: String,
    now: DateTime<Utc>,
    run_id: i64,
    counts: RunCounts,
    planned: Vec<PlannedChange>,
    /// The latest `last_edited_time` seen in a full scan: the cursor once the scan is complete.
    max_edited: Option<String>,
    progress: &'a ProgressBar,
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    rules: &'a RuleSet,
    /// The first sync of the data source: rules record what holds but do not fire.
    baseline: bool,
    /// The integration's bot user: the author of tasksync's own edits.
    bot: Option<String>,
    fired: u64,
    stopped: u64,
    firings: Vec<FiringReport>,
    /// The schema's property ids, and properties the pages have beyond them.
    known_properties: HashSet<String>,
    unknown_properties: BTreeSet<String>,
    /// Users' names by id (the mirror's `users`), for people given by id only.
    names: HashMap<String, String>,
}

impl Engine<'_> {
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
            self.mark_missing(&seen, true).await?;
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
            self.mark_missing(&seen, false).await?;
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
            data_source_id: self.source_id.clone(),
            run_id: self.run_id,
            observed_at: iso(self.now),
            cursor: Some(self.capped(edited)),
            ..Batch::default()
        };
        self.write(batch).await
    }

    async fn write(&self, batch: Batch) -> anyhow::Result<()> {
        if let Some(store) = self.store {
            store.call(move |c| store::apply_batch(c, &batch)).await?;
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
        let renames = plan::renames(&previous, &schema);
        for (_, old, new) in &renames {
            tracing::info!(%old, %new, "property renamed; its history follows it");
        }
        let (id, database, name, now) = (
            self.source_id.clone(),
            self.source.database_id.as_ref().map(ToString::to_string),
            self.source.name.clone(),
            iso(self.now),
        );
        store
            .call(move |c| {
                store::save_source(c, &id, database.as_deref(), &name, &schema, &renames, &now)
            })
            .await
    }

    /// Pages edited since `since`, oldest first; restarts past the 10,000-row cap from the last
    /// edit time seen.
    async fn incremental(&mut self, since: DateTime<Utc>) -> anyhow::Result<()> {
        let mut since = iso(since);
        loop {
            let query = Query {
                filter: Some(Filter::Timestamp {
                    field: TimestampField::LastEditedTime,
                    condition: DateCondition::OnOrAfter(since.clone()),
                }),
                sorts: vec![Sort::Timestamp(
                    TimestampField::LastEditedTime,
                    Direction::Ascending,
                )],
                filter_properties: Vec::new(),
            };
            let mut start_cursor: Option<String> = None;
            let mut capped = false;
            let mut last_edited: Option<String> = None;
            loop {
                self.check_stop()?;
                let page = self
                    .client
                    .query_page(&self.source.id, &query, start_cursor.as_deref())
                    .await?;
                capped |= page.incomplete;
                if let Some(last) = page.tasks.iter().map(|t| t.last_edited_time.clone()).max() {
                    last_edited = Some(last.clone());
                    let cursor = self.capped(&last);
                    self.ingest(page.tasks, Some(cursor)).await?;
                }
                match page.next_cursor {
                    Some(next) => start_cursor = Some(next),
                    None => break,
                }
            }
            if !capped {
                return Ok(());
            }
            let restart = last_edited.context("Notion capped a query that returned nothing")?;
            anyhow::ensure!(
                restart != since,
                "more than 10,000 tasks were edited within the minute {restart}; run `tasksync sync --full` (it reads by creation time)"
            );
            tracing::info!(from = %restart, "query capped at 10,000 rows; reading on from the last edit time seen");
            since = restart;
        }
    }

    /// Every live task, windowed by creation time past the 10,000-row cap. With `content`, each
    /// page of tasks is ingested; otherwise only ids are read (`filter_properties`). Returns the
    /// ids seen.
    async fn scan(&mut self, content: bool) -> anyhow::Result<HashSet<String>> {
        let mut seen = HashSet::new();
        let mut window: Option<String> = None;
        let title = self.source.first_of_kind("title").map(|p| p.id.clone());
        loop {
            let query = Query {
                filter: window.clone().map(|from| Filter::Timestamp {
                    field: TimestampField::CreatedTime,
                    condition: DateCondition::OnOrAfter(from),
                }),
                sorts: vec![Sort::Timestamp(
                    TimestampField::CreatedTime,
                    Direction::Ascending,
                )],
                filter_properties: if content {
                    Vec::new()
                } else {
                    title.clone().into_iter().collect()
                },
            };
            let mut start_cursor: Option<String> = None;
            let mut capped = false;
            let mut last_created: Option<String> = None;
            loop {
                self.check_stop()?;
                let page = self
                    .client
                    .query_page(&self.source.id, &query, start_cursor.as_deref())
                    .await?;
                capped |= page.incomplete;
                if let Some(last) = page.tasks.last() {
                    last_created = Some(last.created_time.clone());
                }
                let fresh: Vec<Task> = page
                    .tasks
                    .into_iter()
                    .filter(|t| seen.insert(t.id.to_string()))
                    .collect();
                if content {
                    for task in &fresh {
                        if self
                            .max_edited
                            .as_ref()
                            .is_none_or(|max| task.last_edited_time > *max)
                        {
                            self.max_edited = Some(task.last_edited_time.clone());
                        }
                    }
                    self.ingest(fresh, None).await?;
                } else {
                    self.progress.inc(fresh.len() as u64);
                }
                match page.next_cursor {
                    Some(next) => start_cursor = Some(next),
                    None => break,
                }
            }
            if !capped {
                return Ok(seen);
            }
            let restart = last_created.context("Notion capped a query that returned nothing")?;
            anyhow::ensure!(
                window.as_deref() != Some(restart.as_str()),
                "more than 10,000 tasks share the creation minute {restart}: Notion's API cannot list them all"
            );
            tracing::info!(from = %restart, "query capped at 10,000 rows; reading on from the last creation time seen");
            window = Some(restart);
        }
    }

    /// Marks live mirror tasks that a complete scan did not see as deleted. After an id-only
    /// scan (`scanned_content` false), tasks it saw that the mirror has deleted or lacks are read
    /// whole and stored (a content scan stored them already).
    async fn mark_missing(
        &mut self,
        seen: &HashSet<String>,
        scanned_content: bool,
    ) -> anyhow::Result<()> {
        let (live, deleted) = match self.reader {
            Some(reader) => {
                let id = self.source_id.clone();
                reader.call(move |c| store::task_ids(c, &id)).await?
            }
            None => Default::default(),
        };
        let mut gone: Vec<String> = live.difference(seen).cloned().collect();
        gone.sort();
        self.counts.deleted += gone.len() as u64;
        for id in &gone {
            self.plan(id.clone(), String::new(), "deleted", Vec::new());
        }
        let firings = self.deletion_firings(&gone).await?;
        if let Some(store) = self.store {
            let (id, run_id, at, gone) = (self.source_id.clone(), self.run_id, iso(self.now), gone);
            store
                .call(move |c| store::mark_deleted(c, &id, &gone, &firings, &at, run_id))
                .await?;
        }
        // Seen but deleted in the mirror (or never stored): read them whole.
        let returned: Vec<String> = seen
            .iter()
            .filter(|id| deleted.contains(*id) || !live.contains(*id))
            .cloned()
            .collect();
        if returned.is_empty() || scanned_content {
            return Ok(());
        }
        let mut tasks = Vec::new();
        for id in returned {
            let page_id = crate::model::ids::NotionId::parse(&id)?;
            tasks.push(self.client.retrieve_page(&page_id).await?);
        }
        self.ingest(tasks, None).await
    }

    /// Stores one page of fetched tasks in one transaction (with `cursor`, when given).
    async fn ingest(&mut self, tasks: Vec<Task>, cursor: Option<String>) -> anyhow::Result<()> {
        let count = tasks.len() as u64;
        let ids: Vec<String> = tasks.iter().map(|t| t.id.to_string()).collect();
        let stored: HashMap<String, StoredVersion> = match self.reader {
            Some(reader) => {
                reader
                    .call(move |c| store::stored_versions(c, &ids))
                    .await?
            }
            None => HashMap::new(),
        };
        let mut batch = Batch {
            data_source_id: self.source_id.clone(),
            run_id: self.run_id,
            observed_at: iso(self.now),
            cursor,
            ..Batch::default()
        };
        let inside = self.recorded_states(&tasks).await?;
        for mut task in tasks {
            task.fill_user_names(&self.names);
            for (name, property) in &task.properties {
                if !self.known_properties.contains(&property.id) {
                    self.unknown_properties.insert(name.clone());
                }
            }
            let id = task.id.to_string();
            let old = stored.get(&id);
            let old_properties: Option<StoredProperties> =
                old.map(|o| serde_json::from_str(&o.properties_json).unwrap_or_default());
            self.complete_truncated(&mut task, old, old_properties.as_ref())
                .await?;
            let properties = stored_properties(&task);
            let row = task_row(&task, &self.source_id, &properties);
            let (kind, rows) = match (old, old_properties.as_ref()) {
                (None, _) => {
                    self.counts.new += 1;
                    let created = Change {
                        task_id: id.clone(),
                        property: store::CREATED.into(),
                        property_id: None,
                        old_value: None,
                        new_value: Some(row.title.clone()),
                        old_json: None,
                        new_json: None,
                        edited_at: Some(task.created_time.clone()),
                        edited_by: task.created_by.clone(),
                    };
                    ("new", vec![created])
                }
                (Some(old), _)
                    if old.content_hash == row.content_hash && old.deleted_at.is_none() =>
                {
                    self.counts.unchanged += 1;
                    if old.last_edited_time == row.last_edited_time {
                        // A re-read of the version we have: nothing to write.
                        continue;
                    }
                    // Edited without a change of content: keep the edit time and author exact,
                    // without a history row.
                    ("touched", Vec::new())
                }
                (Some(old), old_properties) => {
                    let empty = StoredProperties::new();
                    let mut rows = changes(&task, old_properties.unwrap_or(&empty), &properties);
                    if let Some(deleted_at) = &old.deleted_at {
                        self.counts.restored += 1;
                        rows.push(Change {
                            task_id: id.clone(),
                            property: store::DELETED.into(),
                            property_id: None,
                            old_value: Some(deleted_at.clone()),
                            new_value: None,
                            old_json: None,
                            new_json: None,
                            edited_at: Some(task.last_edited_time.clone()),
                            edited_by: task.last_edited_by.clone(),
                        });
                        ("restored", rows)
                    } else if rows.is_empty() {
                        // Only a property name changed: rewrite the row quietly.
                        self.counts.unchanged += 1;
                        ("renamed", rows)
                    } else {
                        self.counts.changed += 1;
                        ("changed", rows)
                    }
                }
            };
            if self.store.is_none() && !matches!(kind, "renamed" | "touched") {
                let properties = rows
                    .iter()
                    .filter(|r| r.property != store::CREATED)
                    .map(|r| PlannedProperty {
                        property: r.property.clone(),
                        old_value: r.old_value.clone(),
                        new_value: r.new_value.clone(),
                    })
                    .collect();
                self.plan(id.clone(), row.title.clone(), kind, properties);
            }
            if kind != "renamed" {
                let before = old.map(|o| (old_properties.as_ref(), o.deleted_at.is_some()));
                let inside = inside.get(&id).cloned().unwrap_or_default();
                self.evaluate(&task, &row, before, &properties, &rows, &inside, &mut batch)
                    .await?;
            }
            batch.changes.extend(rows);
            batch.upserts.push(row);
        }
        self.write(batch).await?;
        self.progress.inc(count);
        Ok(())
    }

    /// The integration's bot user id: from the mirror, else asked of Notion once and kept.
    /// Reads the workspace's users from Notion into the mirror (not when the integration may
    /// not read user information: then people stay ids).
    async fn refresh_users(&self, store: &Store) -> anyhow::Result<()> {
        match self
            .client
            .list_users()
            .await
            .context("cannot list the workspace's users")?
        {
            Some(users) => {
                let now = iso(self.now);
                store
                    .call(move |c| store::save_users(c, &users, &now))
                    .await
            }
            None => {
                tracing::info!(
                    "the integration may not read user information: people are shown by id (give it the \"Read user information\" capability)"
                );
                Ok(())
            }
        }
    }

    async fn bot_user_id(&self) -> anyhow::Result<String> {
        if let Some(reader) = self.reader {
            let id = self.source_id.clone();
            if let Some(bot) = reader.call(move |c| store::bot_user_id(c, &id)).await? {
                return Ok(bot);
            }
        }
        let bot = self
            .client
            .me()
            .await
            .context("cannot identify the integration (users/me)")?
            .id;
        if let Some(store) = self.store {
            let (id, value) = (self.source_id.clone(), bot.clone());
            store
                .call(move |c| store::save_bot_user_id(c, &id, &value))
                .await?;
        }
        Ok(bot)
    }

    fn has_timed_rules(&self) -> bool {
        self.rules
            .rules
            .iter()
            .any(|r| r.enabled && r.trigger == Trigger::Timed)
    }

    /// The time-dependent rules each task is recorded as inside.
    async fn recorded_states(
        &self,
        tasks: &[Task],
    ) -> anyhow::Result<HashMap<String, HashSet<String>>> {
        let Some(reader) = self.reader.filter(|_| self.has_timed_rules()) else {
            return Ok(HashMap::new());
        };
        let ids: Vec<String> = tasks.iter().map(|t| t.id.to_string()).collect();
        let pairs = reader.call(move |c| store::rule_states(c, &ids)).await?;
        let mut by_task: HashMap<String, HashSet<String>> = HashMap::new();
        for (rule, task) in pairs {
            by_task.entry(task).or_default().insert(rule);
        }
        Ok(by_task)
    }

    /// Evaluates the rules on one observed change and adds the firings and state changes to the
    /// batch, so they are recorded in the change's own transaction.
    #[allow(clippy::too_many_arguments)]
    async fn evaluate(
        &mut self,
        task: &Task,
        row: &MirroredTask,
        before: Option<(Option<&StoredProperties>, bool)>,
        properties: &StoredProperties,
        rows: &[Change],
        inside: &HashSet<String>,
        batch: &mut Batch,
    ) -> anyhow::Result<()> {
        if self.rules.rules.is_empty() {
            return Ok(());
        }
        let changed: Vec<Change> = rows
            .iter()
            .filter(|r| !r.property.starts_with('('))
            .cloned()
            .collect();
        let own_edit_depth = self
            .own_edit_depth(task, before.is_some(), &changed)
            .await?;
        let facts: Vec<ChangeFacts> = changed
            .iter()
            .map(|r| ChangeFacts {
                property: r.property.clone(),
                old: r.old_value.clone().unwrap_or_default(),
                new: r.new_value.clone().unwrap_or_default(),
            })
            .collect();
        let empty = StoredProperties::new();
        let change = TaskChange {
            task: facts_of(row, properties, false, &self.names),
            before: before.map(|(props, deleted)| (props.unwrap_or(&empty), deleted)),
            changes: &facts,
            // The observation, not only the version: content can return to an earlier state
            // within one minute, and that is a new transition. Exactly once comes from recording
            // the firing in the same transaction as the change.
            transition: format!(
                "run{}:{}#{}",
                self.run_id, row.last_edited_time, row.content_hash
            ),
            own_edit_depth,
            inside,
        };
        let evaluation = Evaluation {
            rules: self.rules,
            now: self.now,
            baseline: self.baseline,
        };
        let (firings, states) = crate::rules::evaluate(&evaluation, &change);
        self.report(&firings, &row.title, plan::unique_id(properties));
        batch.firings.extend(firings);
        batch.rule_states.extend(states);
        Ok(())
    }

    /// When the task was last edited by our bot and every change is a value one of our `set`
    /// actions wrote, the chain depth of that edit (see `rules::own_edit_depth`).
    async fn own_edit_depth(
        &self,
        task: &Task,
        existed: bool,
        changed: &[Change],
    ) -> anyhow::Result<Option<i64>> {
        let ours = self.bot.is_some() && task.last_edited_by == self.bot;
        let Some(reader) = self
            .reader
            .filter(|_| ours && existed && !changed.is_empty())
        else {
            return Ok(None);
        };
        // Our writes of the last day before this version: wide enough for minute-rounded edit
        // times and slow syncs; a match also needs the same property and value.
        let since = parse_time(&task.last_edited_time)
            .and_then(|t| t.checked_sub_signed(Duration::days(1)))
            .map_or_else(String::new, iso);
        let id = task.id.to_string();
        let writes = reader
            .call(move |c| store::own_writes(c, &id, &since))
            .await?;
        Ok(crate::rules::own_edit_depth(changed, &writes))
    }

    fn report(&mut self, firings: &[Firing], title: &str, unique_id: Option<String>) {
        for firing in firings {
            match firing.status {
                "stopped" => self.stopped += 1,
                _ => self.fired += 1,
            }
            if self.firings.len() < REPORTED_FIRINGS {
                self.firings.push(FiringReport {
                    rule: firing.rule.clone(),
                    task: unique_id.clone().unwrap_or_else(|| firing.task_id.clone()),
                    task_id: firing.task_id.clone(),
                    title: title.to_string(),
                    transition: firing.transition.clone(),
                    status: firing.status,
                    reason: firing.reason.clone(),
                    actions: firing.actions.clone(),
                });
            }
        }
    }

    /// Evaluates time-dependent rules over the whole mirror: a task that time alone moved into a
    /// condition fires once; one that left it is forgotten. With `unbaselined_only`, only rules
    /// never evaluated here run, recording who is inside without firing. Day-granular rules are
    /// re-evaluated once a day (changes to tasks are evaluated as they are synced).
    async fn time_rules(&mut self, unbaselined_only: bool) -> anyhow::Result<()> {
        let Some(reader) = self.reader.filter(|_| self.has_timed_rules()) else {
            return Ok(());
        };
        let today = self.now.date_naive().to_string();
        let mut due = Vec::new();
        for rule in self
            .rules
            .rules
            .iter()
            .filter(|r| r.enabled && r.trigger == Trigger::Timed)
        {
            let (name, id) = (rule.name.clone(), self.source_id.clone());
            let evaluated = reader
                .call(move |c| store::rule_baseline(c, &name, &id))
                .await?;
            let baseline = evaluated.is_none() || self.baseline;
            let stale = evaluated
                .as_deref()
                .is_none_or(|at| !at.starts_with(&today) || rule.condition.moves_by_the_minute());
            if (unbaselined_only && evaluated.is_none()) || (!unbaselined_only && stale) {
                due.push((rule, baseline));
            }
        }
        if due.is_empty() {
            return Ok(());
        }
        let id = self.source_id.clone();
        let tasks = reader.call(move |c| store::live_tasks(c, &id)).await?;
        let parsed: Vec<StoredProperties> = tasks
            .iter()
            .map(|t| serde_json::from_str(&t.properties_json).unwrap_or_default())
            .collect();
        let mut firings = Vec::new();
        let mut states = Vec::new();
        for (rule, baseline) in &due {
            let name = rule.name.clone();
            let recorded = reader
                .call(move |c| store::all_rule_states(c, &name))
                .await?;
            let evaluation = Evaluation {
                rules: self.rules,
                now: self.now,
                baseline: *baseline,
            };
            for (row, properties) in tasks.iter().zip(&parsed) {
                let snapshot = crate::rules::eval::Snapshot::new(properties, false);
                let inside_now =
                    crate::rules::eval::is_inside(&rule.condition, &snapshot, self.now);
                let inside_before = recorded.contains(&row.id);
                if inside_now == inside_before {
                    continue;
                }
                states.push(RuleStateChange {
                    rule: rule.name.clone(),
                    task_id: row.id.clone(),
                    inside: inside_now,
                });
                if inside_now && !evaluation.baseline {
                    let change = TaskChange {
                        task: facts_of(row, properties, false, &self.names),
                        before: None,
                        changes: &[],
                        transition: format!(
                            "entered#{}",
                            if rule.condition.moves_by_the_minute() {
                                iso(self.now)
                            } else {
                                today.clone()
                            }
                        ),
                        own_edit_depth: None,
                        inside: &HashSet::new(),
                    };
                    let firing = crate::rules::firing(&evaluation, rule, &change);
                    self.report(
                        std::slice::from_ref(&firing),
                        &row.title,
                        plan::unique_id(properties),
                    );
                    firings.push(firing);
                }
            }
        }
        if let Some(store) = self.store {
            let rules: Vec<String> = due.iter().map(|(rule, _)| rule.name.clone()).collect();
            let (id, at, run) = (
                self.source_id.clone(),
                iso(self.now),
                Some(self.run_id).filter(|r| *r > 0),
            );
            store
                .call(move |c| {
                    store::apply_time_evaluation(c, &id, &rules, &firings, &states, &at, run)
                })
                .await?;
        }
        Ok(())
    }

    /// Firings of `deleted` rules for tasks that left the data source.
    async fn deletion_firings(&mut self, gone: &[String]) -> anyhow::Result<Vec<Firing>> {
        let wanted = self
            .rules
            .rules
            .iter()
            .any(|r| r.enabled && r.condition.has_transition());
        let Some(reader) = self
            .reader
            .filter(|_| wanted && !gone.is_empty() && !self.baseline)
        else {
            return Ok(Vec::new());
        };
        let ids = gone.to_vec();
        let rows = reader.call(move |c| store::tasks_by_id(c, &ids)).await?;
        let evaluation = Evaluation {
            rules: self.rules,
            now: self.now,
            baseline: false,
        };
        let mut firings = Vec::new();
        for row in &rows {
            let properties: StoredProperties =
                serde_json::from_str(&row.properties_json).unwrap_or_default();
            let change = TaskChange {
                task: facts_of(row, &properties, true, &self.names),
                before: Some((&properties, false)),
                changes: &[],
                transition: format!("deleted#{}", iso(self.now)),
                own_edit_depth: None,
                inside: &HashSet::new(),
            };
            let (found, _) = crate::rules::evaluate(&evaluation, &change);
            self.report(&found, &row.title, plan::unique_id(&properties));
            firings.extend(found);
        }
        Ok(firings)
    }

    fn plan(
        &mut self,
        task_id: String,
        title: String,
        kind: &'static str,
        properties: Vec<PlannedProperty>,
    ) {
        if self.store.is_none() {
            self.planned.push(PlannedChange {
                task_id,
                title,
                kind,
                properties,
            });
        }
    }

    /// Replaces values cut at 25 references (or computed from a relation that was) with their
    /// full value: reused from the mirror when the page has not been edited since, read from the
    /// page-property endpoint otherwise.
    async fn complete_truncated(
        &self,
        task: &mut Task,
        old: Option<&StoredVersion>,
        old_properties: Option<&StoredProperties>,
    ) -> anyhow::Result<()> {
        task.mark_derived_truncation(self.source);
        // Edit times are minute-rounded, so an equal `last_edited_time` alone does not prove the
        // page unchanged: every value the page object shows whole must be as stored too.
        let unedited = old.is_some_and(|o| o.last_edited_time == task.last_edited_time)
            && old_properties.is_some_and(|stored| {
                task.properties
                    .values()
                    .filter(|p| !p.truncated)
                    .all(|p| stored.values().any(|s| s.id == p.id && s.value == p.value))
            });
        let page_id = task.id.clone();
        let kept = |id: &str| {
            old_properties
                .filter(|_| unedited)
                .and_then(|props| props.values().find(|p| p.id == id))
                .map(|p| p.value.clone())
        };
        self.client
            // Derived truncation was marked above, before the comparison with the mirror.
            .complete_task(task, None, kept)
            .await
            .with_context(|| {
                format!("cannot read the full value of a property of task {page_id}")
            })?;
        Ok(())
    }
}
