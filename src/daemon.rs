//! `tasksync daemon`: the only module that spawns long-lived tasks and handles signals.
//!
//! One event loop: each schedule only posts its job; jobs run one at a time, so a sync never
//! overlaps itself or the reconcile; a tick that finds its job still queued or running is
//! skipped, not queued. On SIGTERM or SIGINT the loop takes no new work, tells a running sync to
//! stop between transactions, waits for it at most four seconds, and returns (exit 0).
//! Jobs are recorded in the mirror (`job_runs`) with their outcome. WATCHDOG=1 is sent by the
//! job loop itself, so a job that never yields stops the pings; one that waits past
//! `JOB_TIME_LIMIT` is abandoned.
//! The reconcile and full jobs read the schema again first (as does any sync whose pages show a
//! property the schema lacks); when it changed, the rules are compiled against it: renames are
//! followed by id, rules that no longer fit are suspended, and the loop runs with the new ones.
//! Jobs on tasks run once per configured source (`[[sources]]`), each attempt recorded for its
//! source; mail and webhooks go out once after them. With `[webhook] listen`, the listener for
//! Notion's webhooks (`crate::listen`) runs beside the loop; the sources its events make due are
//! synced by the loop `debounce` after the first event, between the scheduled jobs.
//! systemd: READY=1 after the start-up checks, STATUS= after each job (the health verdict and
//! the job's outcome), WATCHDOG=1 pings when `WatchdogSec` is set; without systemd these do
//! nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use sd_notify::NotifyState;
use tokio::sync::{mpsc, watch};

use crate::actions::perform_queued;
use crate::config::HealthConfig;
use crate::model::DataSource;
use crate::model::run::JobKind;
use crate::notify::Mailer;
use crate::notion::NotionClient;
use crate::rules::RuleSet;
use crate::schedule::Schedule;
use crate::store::Store;
use crate::sync::{SyncOptions, sync};

mod jobs;
mod log;

/// Compiles the configured rules against a schema, following former property names: the rules
/// of the configuration in force, compiled again when Notion's schema changes.
pub type RuleCompiler =
    Arc<dyn Fn(&DataSource, &BTreeMap<String, String>) -> anyhow::Result<RuleSet> + Send + Sync>;

/// One source the daemon follows, with its rules.
pub struct SourceContext {
    /// Its `[[sources]]` name (`None`: the one-source form): how `job_runs` and logs key it.
    pub name: Option<String>,
    /// The data source and its schema as last read (again at each reconcile and full sync, and
    /// when pages show a property the schema does not have).
    pub source: DataSource,
    pub rules: RuleSet,
    pub compile: RuleCompiler,
    /// The rules of the other sources (whose suspensions these rules do not decide).
    pub others: Vec<String>,
}

impl SourceContext {
    fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.source.name)
    }
}

/// Everything the daemon's jobs need, checked before READY.
pub struct Context {
    pub client: NotionClient,
    /// Every configured source, in the configuration's order; one shared client (one pacer).
    pub sources: Vec<SourceContext>,
    pub store: Store,
    pub mailer: Option<Mailer>,
    /// Sends webhook actions.
    pub hooks: crate::hooks::Sender,
    /// Wakes the webhook deliveries, which run in a task of their own so that a slow endpoint
    /// never holds back a sync (`jobs::deliver_webhooks`).
    pub deliveries: Arc<tokio::sync::Notify>,
    pub sync_options: SyncOptions,
    pub action_attempts: u32,
    /// (sync, reconcile, outbox, time_rules, full)
    pub schedules: [Schedule; JOB_COUNT],
    /// `schedule.report`: the flow report of each source, written into `report_dir`; off when
    /// `None`.
    pub report_schedule: Option<Schedule>,
    pub report_dir: std::path::PathBuf,
    /// The thresholds of the verdict in the STATUS= line.
    pub health: HealthConfig,
    /// Reads and checks the configuration and rules afresh, for SIGHUP; `None`: no reload.
    pub reload: Option<Reloader>,
    /// The listener for Notion's webhooks (`[webhook] listen`), bound before READY.
    pub webhooks: Option<Webhooks>,
}

/// Notion's webhooks as the daemon serves them: events mark sources as due ([`Hints`]), and
/// the job loop syncs them `debounce` after the first, between its other jobs.
pub struct Webhooks {
    pub listener: tokio::net::TcpListener,
    pub endpoint: Arc<crate::listen::Listener>,
    pub hints: Arc<crate::listen::Hints>,
    pub debounce: Duration,
}

/// What a reload (SIGHUP) may change, read and checked in full before any of it applies.
pub struct Reloaded {
    /// Each source's rules, compiler and the other sources' rule names, in the order of
    /// `Context::sources` (a reload cannot add or remove sources).
    pub sources: Vec<(RuleSet, RuleCompiler, Vec<String>)>,
    pub mailer: Option<Mailer>,
    pub sync_options: SyncOptions,
    pub action_attempts: u32,
    pub schedules: [Schedule; JOB_COUNT],
    pub report_schedule: Option<Schedule>,
    pub health: HealthConfig,
}

/// A source as a reload sees it: its name, its schema and the former property names to follow.
pub type SourceSchema<'a> = (Option<&'a str>, &'a DataSource, BTreeMap<String, String>);

/// Reads the configuration again and checks each source's rules against its schema (following
/// the former property names given); refuses a configuration whose sources changed.
pub type Reloader = Box<dyn Fn(&[SourceSchema<'_>]) -> anyhow::Result<Reloaded> + Send + Sync>;

/// Former property names → current ones, for `schema`: those the mirror remembers, and those
/// the schema the daemon ran with had (`previous`).
async fn former_names(
    store: &Store,
    previous: &DataSource,
    schema: &DataSource,
) -> BTreeMap<String, String> {
    let mut former = store.former_names(schema).await;
    let current = schema.names_by_id();
    for (id, old) in previous.names_by_id() {
        if let Some(new) = current.get(&id)
            && *new != old
            && !schema.properties.contains_key(&old)
        {
            former.insert(old, new.clone());
        }
    }
    former
}

/// Records which rules are suspended; logs the rules newly suspended (warn, with why) and those
/// that run again (info).
async fn note_suspensions(store: &Store, rules: &RuleSet, others: &[String]) {
    match store
        .rules_suspended(rules.suspensions(), others.to_vec())
        .await
    {
        Ok((new, resumed)) => {
            for suspension in &rules.suspended {
                if new.contains(&suspension.rule) {
                    tracing::warn!(
                        rule = %suspension.rule,
                        reason = %suspension.reason(),
                        "rule suspended: it does not fit the data source's schema as it is now; the other rules run"
                    );
                }
            }
            for rule in resumed {
                tracing::info!(%rule, "rule runs again: it fits the schema as it is now");
            }
        }
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "cannot record the suspended rules");
        }
    }
}

/// Applies a reload: the configuration and rules are read and checked first; on any problem
/// the old ones stay, and the error is logged and recorded (`job_runs`, job `reload`).
async fn reload(context: &mut Context) -> bool {
    let Some(reloader) = &context.reload else {
        return false;
    };
    let recorded = context.store.job_started(JobKind::Reload, None).await;
    let mut formers = Vec::with_capacity(context.sources.len());
    for source in &context.sources {
        formers.push(former_names(&context.store, &source.source, &source.source).await);
    }
    let schemas: Vec<SourceSchema<'_>> = context
        .sources
        .iter()
        .zip(formers)
        .map(|(source, former)| (source.name.as_deref(), &source.source, former))
        .collect();
    let outcome = reloader(&schemas);
    if let Ok(id) = &recorded
        && let Err(error) = context
            .store
            .job_finished(*id, outcome.as_ref().err())
            .await
    {
        tracing::error!(error = %format!("{error:#}"), "cannot record the reload");
    }
    match outcome {
        Ok(reloaded) => {
            for (source, (rules, compile, others)) in
                context.sources.iter_mut().zip(reloaded.sources)
            {
                note_suspensions(&context.store, &rules, &others).await;
                source.rules = rules;
                source.compile = compile;
                source.others = others;
            }
            context.mailer = reloaded.mailer;
            context.sync_options = reloaded.sync_options;
            context.action_attempts = reloaded.action_attempts;
            context.schedules = reloaded.schedules;
            context.report_schedule = reloaded.report_schedule;
            context.health = reloaded.health;
            notify(&[NotifyState::Status("configuration reloaded")]);
            true
        }
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "SIGHUP: the new configuration has problems; the old one stays");
            false
        }
    }
}

/// A schema read again that differs from the one the daemon runs with, and the rules compiled
/// against it.
struct NewSchema {
    source: DataSource,
    rules: RuleSet,
}

/// Reads the data source's schema again; when it changed, says how (info) and compiles the
/// rules against it. Renamed properties are followed by id; rules whose property or option is
/// gone are suspended.
async fn read_schema(
    context: &Context,
    source: &SourceContext,
) -> anyhow::Result<Option<NewSchema>> {
    let current = &source.source;
    let fresh = context.client.retrieve_data_source(&current.id).await?;
    if fresh == *current {
        return Ok(None);
    }
    let before = current.names_by_id();
    let after = fresh.names_by_id();
    for (id, name) in &after {
        if !before.contains_key(id) {
            tracing::info!(property = %name, "schema: a property was added in Notion");
        }
    }
    for (id, name) in &before {
        match (after.get(id), current.properties.get(name)) {
            (None, _) => {
                tracing::info!(property = %name, "schema: a property was removed in Notion");
            }
            (Some(new), Some(old)) => {
                if let Some(new_schema) = fresh.properties.get(new) {
                    for option in &old.options {
                        if !new_schema.options.iter().any(|o| o.name == option.name) {
                            tracing::info!(property = %new, option = %option.name, "schema: an option was removed in Notion");
                        }
                    }
                    if new_schema.kind != old.kind {
                        tracing::info!(property = %new, from = %old.kind, to = %new_schema.kind, "schema: a property changed type in Notion");
                    }
                }
            }
            (Some(_), None) => {}
        }
    }
    let former = former_names(&context.store, current, &fresh).await;
    let rules = (source.compile)(&fresh, &former)?;
    Ok(Some(NewSchema {
        source: fresh,
        rules,
    }))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Job {
    Sync = 0,
    Reconcile = 1,
    Outbox = 2,
    TimeRules = 3,
    /// Re-reads every task: catches formula and rollup drift (they change without an edit) and
    /// deletions.
    Full = 4,
    /// Writes the flow report of each source (`schedule.report`, off by default).
    Report = 5,
}

/// How many jobs the daemon always schedules (the report is on when configured).
pub const JOB_COUNT: usize = 5;

/// Every job, the report included: one "queued or running" flag each.
const JOB_SLOTS: usize = JOB_COUNT + 1;

const JOBS: [Job; JOB_COUNT] = [
    Job::Sync,
    Job::Reconcile,
    Job::Outbox,
    Job::TimeRules,
    Job::Full,
];

impl Job {
    /// The kind its attempts are recorded as in `job_runs`.
    pub fn kind(self) -> JobKind {
        match self {
            Self::Sync => JobKind::Sync,
            Self::Reconcile => JobKind::Reconcile,
            Self::Outbox => JobKind::Outbox,
            Self::TimeRules => JobKind::TimeRules,
            Self::Full => JobKind::Full,
            Self::Report => JobKind::Report,
        }
    }
}

fn notify(states: &[NotifyState<'_>]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(%error, "cannot notify systemd");
    }
}

/// Runs until `shutdown` resolves; SIGHUP reloads the configuration and rules.
pub async fn serve(
    context: Context,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut context = context;
    // Listening from the start: SIGHUP's default action would end the process.
    let mut hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGHUP; reloading is off");
            None
        }
    };
    let (stopping_tx, mut stopping) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stopping_tx.send(true);
    });
    let stop = Arc::new(AtomicBool::new(false));
    let busy: Arc<[AtomicBool; JOB_SLOTS]> = Arc::new(Default::default());
    let (jobs_tx, mut jobs) = mpsc::channel::<Job>(JOB_SLOTS);
    let start_tickers = |context: &Context| -> Vec<tokio::task::JoinHandle<()>> {
        let report = context
            .report_schedule
            .clone()
            .map(|schedule| (Job::Report, schedule));
        JOBS.iter()
            .map(|job| (*job, context.schedules[*job as usize].clone()))
            .chain(report)
            .map(|(job, schedule)| {
                tokio::spawn(ticker(schedule, job, jobs_tx.clone(), busy.clone()))
            })
            .collect()
    };
    let mut tickers = start_tickers(&context);
    let deliverer = tokio::spawn(jobs::deliver_webhooks(
        context.store.clone(),
        context.hooks.clone(),
        context.deliveries.clone(),
    ));
    // What was due before the start goes out at once.
    context.deliveries.notify_one();
    // Notion's webhooks: served from the start; what they make due runs in this loop.
    let mut listening = None;
    let (hints, debounce) = match context.webhooks.take() {
        Some(webhooks) => {
            listening = webhooks.listener.local_addr().ok();
            let server = tokio::spawn(crate::listen::serve(webhooks.listener, webhooks.endpoint));
            (Some((webhooks.hints, server)), webhooks.debounce)
        }
        None => (None, Duration::ZERO),
    };
    let mut due_at: Option<tokio::time::Instant> = None;
    // WATCHDOG=1 comes from this loop, the one that runs the jobs, so a job stuck without
    // yielding (a loop that never ends) stops the pings and systemd's WatchdogSec acts.
    let watchdog = sd_notify::watchdog_enabled();
    let mut pings = tokio::time::interval(watchdog.map_or(Duration::from_secs(3600), |i| i / 2));
    notify(&[
        NotifyState::Ready,
        NotifyState::Status("started; first sync under way"),
    ]);
    log::started(&context, "started", listening);
    busy[Job::Sync as usize].store(true, Ordering::SeqCst);
    let _ = jobs_tx.send(Job::Sync).await;
    loop {
        let due = tokio::select! {
            _ = stopping.changed() => break,
            _ = pings.tick(), if watchdog.is_some() => {
                notify(&[NotifyState::Watchdog]);
                continue;
            }
            Some(()) = async { hangups.as_mut()?.recv().await }, if hangups.is_some() => {
                if reload(&mut context).await {
                    for ticker in tickers.drain(..) {
                        ticker.abort();
                    }
                    tickers = start_tickers(&context);
                    log::started(&context, "reloaded its configuration (SIGHUP)", listening);
                }
                continue;
            }
            Some(()) = async { hints.as_ref()?.0.arrived().await; Some(()) }, if hints.is_some() && due_at.is_none() => {
                due_at = Some(tokio::time::Instant::now() + debounce);
                continue;
            }
            _ = tokio::time::sleep_until(due_at.unwrap_or_else(tokio::time::Instant::now)), if due_at.is_some() => {
                due_at = None;
                let wanted = hints.as_ref().map(|(h, _)| h.take()).unwrap_or_default();
                if wanted.is_empty() {
                    continue;
                }
                Due::Hinted(wanted)
            }
            Some(job) = jobs.recv() => Due::Scheduled(job),
        };
        let (job, wanted) = match due {
            Due::Scheduled(job) => (job, None),
            Due::Hinted(wanted) => (Job::Sync, Some(wanted)),
        };
        let finished = {
            let work = run_job(&context, job, wanted.as_ref(), &stop);
            tokio::pin!(work);
            let limit = tokio::time::sleep(JOB_TIME_LIMIT);
            tokio::pin!(limit);
            let finished = loop {
                tokio::select! {
                    outcome = &mut work => break Some(outcome),
                    _ = stopping.changed() => break None,
                    _ = pings.tick(), if watchdog.is_some() => notify(&[NotifyState::Watchdog]),
                    _ = &mut limit => {
                        // A job waiting for ever (a request that never answers) is let go; every
                        // transaction it made is whole, and its next tick starts afresh.
                        tracing::error!(%job, "the {job} job ran past its time limit of {} s and is abandoned", JOB_TIME_LIMIT.as_secs());
                        break Some(JobResult {
                            summary: format!("{job} abandoned after {}s", JOB_TIME_LIMIT.as_secs()),
                            schemas: Vec::new(),
                        });
                    }
                }
            };
            if finished.is_none() {
                stop.store(true, Ordering::SeqCst);
                notify(&[NotifyState::Stopping]);
                tracing::info!(
                    %job,
                    "stopping: letting the job reach a transaction boundary"
                );
                if tokio::time::timeout(Duration::from_secs(4), &mut work)
                    .await
                    .is_err()
                {
                    tracing::warn!(
                        %job,
                        "the job did not stop in time; leaving it (every transaction is whole)"
                    );
                }
            }
            finished
        };
        if wanted.is_none() {
            busy[job as usize].store(false, Ordering::SeqCst);
        }
        let Some(outcome) = finished else {
            break;
        };
        for (index, new) in outcome.schemas {
            if let Some(source) = context.sources.get_mut(index) {
                note_suspensions(&context.store, &new.rules, &source.others).await;
                source.source = new.source;
                source.rules = new.rules;
            }
        }
        let line = status_line(&context, &outcome.summary).await;
        notify(&[NotifyState::Status(&line)]);
    }
    notify(&[NotifyState::Stopping]);
    for ticker in tickers {
        ticker.abort();
    }
    if let Some((_, server)) = hints {
        server.abort();
    }
    // A delivery cut short is marked `sending`: the next start sends it again with the same
    // Idempotency-Key.
    deliverer.abort();
    tracing::info!("daemon stopped");
    Ok(())
}

/// What the loop runs next: a scheduled job, or the syncs Notion's webhooks made due.
enum Due {
    Scheduled(Job),
    Hinted(crate::listen::Wanted),
}

/// How often a running job's attempt notes the error its requests are retrying after.
const RETRY_NOTE_EVERY: Duration = Duration::from_secs(1);

/// How long one job may run before it is abandoned (a full sync of 100,000 tasks at Notion's
/// 3 requests/s takes about half of it).
pub const JOB_TIME_LIMIT: Duration = Duration::from_secs(3600);

/// Posts `job` at each time the schedule names; skips a tick while the job is queued or running.
async fn ticker(
    schedule: Schedule,
    job: Job,
    jobs: mpsc::Sender<Job>,
    busy: Arc<[AtomicBool; JOB_SLOTS]>,
) {
    loop {
        let now = Utc::now();
        let Some(next) = schedule.next_after(now) else {
            tracing::warn!(
                %job,
                "the schedule has no next time; the job will not run again"
            );
            return;
        };
        tokio::time::sleep((next - now).to_std().unwrap_or_default()).await;
        if busy[job as usize].swap(true, Ordering::SeqCst) {
            tracing::info!(%job, "tick skipped: the job is still running");
            continue;
        }
        if jobs.send(job).await.is_err() {
            return;
        }
    }
}

/// What a job leaves: its outcome in a line, and a schema that changed in Notion (with the
/// rules compiled against it), to run with from now on.
struct JobResult {
    summary: String,
    /// By the source's index in `Context::sources`.
    schemas: Vec<(usize, NewSchema)>,
}

/// The STATUS= line: the health verdict (as `status --check` gives it), then the last job's
/// outcome.
async fn status_line(context: &Context, summary: &str) -> String {
    let now = Utc::now();
    let thresholds = context.health.clone();
    let interval = crate::health::sync_interval(&context.schedules[Job::Sync as usize], now);
    let sources = context.sources.iter().map(|s| s.name.clone()).collect();
    match crate::health::assess(&context.store, &thresholds, interval, sources, now).await {
        Ok((_, _, health)) => format!("{}: {} | {summary}", health.level, health.message),
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "cannot judge the health");
            summary.to_string()
        }
    }
}

/// Runs one job: a job on tasks once per source, each attempt recorded with its outcome (and
/// the mail and webhooks after a sync as an `outbox` attempt); the process's jobs once.
/// `wanted`: the sources Notion's webhooks made due (and those whose schema changed), synced
/// incrementally; `None`: every source.
async fn run_job(
    context: &Context,
    job: Job,
    wanted: Option<&crate::listen::Wanted>,
    stop: &Arc<AtomicBool>,
) -> JobResult {
    let started = Utc::now().format("%H:%M:%S");
    crate::failpoint::spin("daemon-job", job as usize);
    if let Some(wanted) = wanted {
        log::hinted(context, wanted);
    }
    let mut summaries = Vec::new();
    let mut schemas = Vec::new();
    if job.kind().per_source() {
        for (index, source) in context.sources.iter().enumerate() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            if wanted.is_some_and(|w| !w.sync.contains(&index)) {
                continue;
            }
            let schema_first = wanted.is_some_and(|w| w.schema.contains(&index));
            let work = async {
                match job {
                    Job::TimeRules => jobs::time_rules(context, source).await.map(|s| (s, None)),
                    Job::Report => jobs::report(context, source).await.map(|s| (s, None)),
                    _ => sync_job(context, source, job, schema_first, stop).await,
                }
            };
            let (summary, schema) =
                recorded(context, job.kind(), source.name.clone(), job, work).await;
            let summary = match &source.name {
                Some(name) if context.sources.len() > 1 => format!("{name}: {summary}"),
                _ => summary,
            };
            summaries.push(summary);
            schemas.extend(schema.flatten().map(|new| (index, new)));
        }
    }
    if matches!(job, Job::Sync | Job::Reconcile | Job::Full | Job::Outbox)
        && !stop.load(Ordering::SeqCst)
    {
        let work = async { jobs::outbox(context).await.map(|summary| (summary, None)) };
        let (summary, _) = recorded(context, JobKind::Outbox, None, job, work).await;
        summaries.push(summary);
    }
    JobResult {
        summary: format!("{started} {}", summaries.join("; ")),
        schemas,
    }
}

/// Runs one attempt of work recorded as `kind` on `source`: started before, finished with its
/// outcome; while its requests wait out a failure, the error they retry after is noted.
async fn recorded(
    context: &Context,
    kind: JobKind,
    source: Option<String>,
    job: Job,
    work: impl Future<Output = anyhow::Result<(String, Option<NewSchema>)>>,
) -> (String, Option<Option<NewSchema>>) {
    // Every attempt is recorded with its outcome: what `status` and `status --check` report.
    let recorded = context.store.job_started(kind, source.clone()).await;
    tokio::pin!(work);
    // While a request waits out a failure (patiently: up to a minute), the attempt shows the
    // error it is retrying after, so `status` tells at once that Notion cannot be reached.
    let mut look = tokio::time::interval(RETRY_NOTE_EVERY);
    let mut noted: Option<String> = None;
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            _ = look.tick() => {
                let retrying = context.client.retrying();
                if retrying != noted
                    && let Ok(id) = &recorded
                {
                    if let Err(error) = context.store.job_retrying(*id, retrying.clone()).await {
                        tracing::error!(%job, error = %format!("{error:#}"), "cannot note the retry");
                    }
                    noted = retrying;
                }
            }
        }
    };
    match recorded {
        Ok(id) => {
            if let Err(error) = context.store.job_finished(id, result.as_ref().err()).await {
                tracing::error!(%job, error = %format!("{error:#}"), "cannot record the job's outcome");
            }
        }
        Err(error) => {
            tracing::error!(%job, error = %format!("{error:#}"), "cannot record the job's start");
        }
    }
    let source = source.as_deref().unwrap_or("-");
    match result {
        Ok((summary, schema)) => {
            tracing::debug!(%job, %source, %summary, "job done");
            (summary, Some(schema))
        }
        Err(error) if crate::model::run::is_stopped(&error) => {
            tracing::info!(%job, %source, "job stopped between transactions for the shutdown");
            (format!("{job} stopped for the shutdown"), None)
        }
        Err(error) => {
            tracing::error!(%job, %source, error = %format!("{error:#}"), "job failed");
            (format!("{job} failed: {error:#}"), None)
        }
    }
}

/// A sync of one source, then the queued actions. A reconcile and a full sync read the schema
/// first (and run with it when it changed); any sync whose pages show a property the schema
/// does not have reads it after.
async fn sync_job(
    context: &Context,
    source: &SourceContext,
    job: Job,
    schema_first: bool,
    stop: &Arc<AtomicBool>,
) -> anyhow::Result<(String, Option<NewSchema>)> {
    let mut options = context.sync_options.clone();
    options.stop = Some(stop.clone());
    match job {
        Job::Reconcile => options.reconcile_every = chrono::Duration::zero(),
        Job::Full => options.full = true,
        _ => {}
    }
    let mut schema = match job {
        Job::Reconcile | Job::Full => read_schema(context, source).await?,
        _ if schema_first => read_schema(context, source).await?,
        _ => None,
    };
    let report = {
        let (data_source, rules) = match &schema {
            Some(new) => (&new.source, &new.rules),
            None => (&source.source, &source.rules),
        };
        sync(
            &context.client,
            Some(&context.store),
            data_source,
            rules,
            &options,
        )
        .await?
    };
    log::synced(source.label(), &report);
    if schema.is_none() && !report.unknown_properties.is_empty() {
        tracing::info!(
            source = %source.label(),
            properties = ?report.unknown_properties,
            "pages have properties the schema does not: reading the schema again"
        );
        schema = read_schema(context, source).await?;
    }
    let actions = perform_queued(&context.client, &context.store, context.action_attempts).await?;
    Ok((
        format!(
            "last sync: {} new, {} changed, {} deleted, {} unchanged; {} rule firing(s); {} action(s) done, {} failed",
            report.new,
            report.changed,
            report.deleted,
            report.unchanged,
            report.fired,
            actions.done,
            actions.failed
        ),
        schema,
    ))
}

/// Resolves on SIGTERM or SIGINT.
pub async fn signals() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = terminate => tracing::info!("SIGTERM: shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
    }
}
