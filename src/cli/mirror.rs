//! `tasksync sync` and the offline reads of the mirror (`tasks list|show --mirror`).

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::SyncArgs;
use super::output;
use super::tasks::{Patience, Session, UniqueRef};
use crate::actions::{ExecutorReport, perform_queued};
use crate::config;
use crate::model::automation::{MailStatus, PlannedAction};
use crate::model::ids::NotionId;
use crate::model::run::SyncKind;
use crate::model::stored::{CREATED, DELETED, MirroredTask, StoredProperties};
use crate::notion::blocks::{blocks_of, describe};
use crate::notion::wire::{AppendPosition, append_body};
use crate::store::{HistoryRow, Store};
use crate::sync::{SyncOptions, SyncReport, sync as run_sync};

pub async fn sync(
    config_path: Option<&Path>,
    patience: Patience,
    args: SyncArgs,
) -> anyhow::Result<()> {
    let session = Session::open(config_path, patience)?.with_source(args.source.clone());
    let specs = session
        .config
        .select_sources(&session.origin, args.source.as_deref())?;
    let configured = session.config.source_keys().len();
    let path = &session.config.mirror_path()?;
    // One writer per mirror: a second `sync` (or the daemon) stops with the holder's pid, or
    // waits with --wait. A dry run writes nothing and needs no lock.
    let _lock = match (args.dry_run, args.wait || args.wait_timeout.is_some()) {
        (true, _) => None,
        (false, false) => Some(crate::lock::InstanceLock::acquire(path)?),
        (false, true) => Some(
            crate::lock::InstanceLock::acquire_waiting(
                path,
                args.wait_timeout.map(std::time::Duration::from_secs),
                |message| eprintln!("{message}"),
            )
            .await?,
        ),
    };
    let store = if args.dry_run {
        Store::open_read_only(path)?
    } else {
        Some(Store::open(path)?)
    };
    // Every attempt is recorded with its outcome, per source, a failure before the first
    // request included, so `status` never says "ok" while syncs fail. A dry run records
    // nothing. One source failing does not keep the others from syncing.
    let mut synced = Vec::new();
    let mut failures: Vec<(config::SourceSpec, anyhow::Error)> = Vec::new();
    let mut locks = Vec::new();
    // Discovery first, for every source: a database several sources share is read once.
    let wanted: Vec<_> = specs
        .iter()
        .map(|spec| (spec.database.clone(), spec.data_source.clone()))
        .collect();
    let mut found = session
        .client
        .resolve_data_sources(&wanted)
        .await
        .into_iter();
    for spec in &specs {
        let discovered = found.next();
        let recorded = match (&store, args.dry_run) {
            (Some(store), false) => Some((
                store,
                store
                    .job_started(crate::model::run::JobKind::Sync, spec.name.clone())
                    .await?,
            )),
            _ => None,
        };
        let outcome = match discovered {
            Some(Ok(source)) => {
                let resolved = super::tasks::Resolved {
                    spec: spec.clone(),
                    source,
                };
                sync_source(&session, store.as_ref(), path, &args, resolved, configured).await
            }
            Some(Err(error)) => Err(error.into()),
            None => Err(anyhow::anyhow!("{} was not looked up", spec.label())),
        };
        if let Some((store, id)) = recorded {
            store.job_finished(id, outcome.as_ref().err()).await?;
        }
        match outcome {
            Ok((report, actions, lock)) => {
                synced.push((spec, report, actions));
                locks.extend(lock);
            }
            Err(error) if specs.len() == 1 => return Err(error),
            Err(error) => failures.push((spec.clone(), error)),
        }
    }
    // Mail and webhooks are the process's, sent once for every source (a job of its own).
    let (mail, hooks) = match (&store, args.dry_run) {
        (Some(store), false) => {
            let id = store
                .job_started(crate::model::run::JobKind::Outbox, None)
                .await?;
            let sent = send_outbox(store, &session.config.mail, args.json).await;
            store.job_finished(id, sent.as_ref().err()).await?;
            let (mail, hooks) = sent?;
            (mail, Some(hooks))
        }
        _ => (None, None),
    };
    drop(locks);
    // The sync's own requests are in each report; the process also made discovery's and the
    // actions' (and any retries): all of them count against Notion's rate limit.
    let requests_total = session.client.requests_sent();
    let mut actions_total: Option<ExecutorReport> = None;
    for (_, _, actions) in &synced {
        if let Some(actions) = actions {
            let total = actions_total.get_or_insert_with(ExecutorReport::default);
            total.done += actions.done;
            total.skipped += actions.skipped;
            total.failed += actions.failed;
            total.retrying += actions.retrying;
        }
    }
    if args.json {
        let mut value = if session.config.sources.is_empty() {
            match synced.first() {
                Some((_, report, _)) => serde_json::to_value(report)?,
                None => serde_json::json!({}),
            }
        } else {
            let mut reports = Vec::new();
            for (spec, report, _) in &synced {
                let mut one = serde_json::to_value(report)?;
                one["source"] = serde_json::to_value(&spec.name)?;
                reports.push(one);
            }
            let failed: Vec<serde_json::Value> = failures
                .iter()
                .map(|(spec, error)| {
                    serde_json::json!({ "source": spec.name, "error": format!("{error:#}") })
                })
                .collect();
            serde_json::json!({ "sources": reports, "failed_sources": failed })
        };
        value["requests_total"] = serde_json::to_value(requests_total)?;
        value["actions"] = serde_json::to_value(&actions_total)?;
        value["mail"] = serde_json::to_value(&mail)?;
        value["webhooks"] = serde_json::to_value(&hooks)?;
        output::json(&value)?;
    } else {
        for (spec, report, _) in &synced {
            if let Some(name) = &spec.name {
                out!("Source {name}:");
            }
            print_report(report, requests_total);
            print_firings(report);
        }
        if let Some(actions) = actions_total.filter(|a| *a != ExecutorReport::default()) {
            out!(
                "Actions: {} done, {} skipped (already so), {} failed, {} to retry",
                actions.done,
                actions.skipped,
                actions.failed,
                actions.retrying
            );
        }
        if let Some(mail) = mail.filter(|m| *m != crate::notify::FlushReport::default()) {
            out!(
                "Mail: {} sent, {} failed (see `tasksync mail list --failed`), {} to retry",
                mail.sent,
                mail.failed,
                mail.retrying
            );
        }
        if let Some(hooks) = hooks.filter(|h| *h != crate::hooks::HookReport::default()) {
            out!(
                "Webhooks: {} sent, {} failed (see `tasksync outbox list --failed`), {} to retry",
                hooks.sent,
                hooks.failed,
                hooks.retrying
            );
        }
    }
    match failures.len() {
        0 => Ok(()),
        _ => {
            let described: Vec<String> = failures
                .iter()
                .map(|(spec, error)| format!("{}: {error:#}", spec.label()))
                .collect();
            // A configuration error anywhere makes the exit 78; the others still synced.
            let config_error = failures
                .iter()
                .any(|(_, error)| super::exit_code(error) == super::Exit::Config);
            let message = format!(
                "{} of {} sources did not sync: {}",
                failures.len(),
                specs.len(),
                described.join("; ")
            );
            if config_error {
                Err(config::ConfigError::Missing(message).into())
            } else {
                Err(anyhow::anyhow!(message))
            }
        }
    }
}

/// Discovery, the rules, the sync itself and the actions of one source.
async fn sync_source(
    session: &Session,
    store: Option<&Store>,
    path: &Path,
    args: &SyncArgs,
    resolved: super::tasks::Resolved,
    configured: usize,
) -> anyhow::Result<(
    SyncReport,
    Option<ExecutorReport>,
    Option<crate::lock::SourceLock>,
)> {
    let spec = &resolved.spec;
    let rules = session.rules(&resolved, store).await?;
    let source = &resolved.source;
    let source_lock = match store {
        Some(store) => claim_source(store, source, path, configured, args.dry_run).await?,
        None => None,
    };
    if let (Some(store), false) = (store, args.dry_run) {
        store
            .rules_suspended(
                rules.suspensions(),
                session.config.rules_of_others(spec.name.as_deref()),
            )
            .await?;
    }
    crate::failpoint::pause("sync-claimed", 0);
    let progress = progress_bar(args.json);
    let bar = progress.clone();
    let options = SyncOptions {
        full: args.full,
        dry_run: args.dry_run,
        overlap: chrono::Duration::from_std(session.config.sync.overlap)?,
        reconcile_every: chrono::Duration::from_std(session.config.sync.reconcile_every)?,
        now: None,
        stop: None,
        progress: Some(std::sync::Arc::new(move |tasks| bar.inc(tasks))),
    };
    let report = run_sync(&session.client, store, source, &rules, &options).await;
    progress.finish_and_clear();
    let report = report?;
    let actions = match (store, args.dry_run) {
        (Some(store), false) => Some(
            perform_queued(
                &session.client,
                store,
                session.config.automation.action_attempts,
            )
            .await?,
        ),
        _ => None,
    };
    Ok((report, actions, source_lock))
}

/// Makes this process the one actor on `source` on this machine: the mirror may hold at most
/// `configured` data sources (the configuration's), this one among them, and no other mirror
/// of it may be in use (a lock keyed by the data source id in the runtime directory; a dry run
/// only looks).
pub(super) async fn claim_source(
    store: &Store,
    source: &crate::model::DataSource,
    path: &Path,
    configured: usize,
    dry_run: bool,
) -> anyhow::Result<Option<crate::lock::SourceLock>> {
    let held = store.mirrored_data_sources().await?;
    let wanted = source.id.to_string();
    let others: Vec<&(String, String)> = held.iter().filter(|(id, _)| *id != wanted).collect();
    if others.len() + 1 > configured
        && let Some((other, name)) = others.first()
    {
        let message = if configured == 1 {
            format!(
                "the mirror {} holds data source \"{name}\" ({other}), not \"{}\" ({wanted}) that the configuration names: give this database its own `store.path`",
                path.display(),
                source.name
            )
        } else {
            let names: Vec<String> = others
                .iter()
                .map(|(id, name)| format!("\"{name}\" ({id})"))
                .collect();
            format!(
                "the mirror {} holds data sources {} besides \"{}\" ({wanted}), more than the {configured} sources the configuration names: give the new source its own `store.path`, or configure the one it replaces again",
                path.display(),
                names.join(", "),
                source.name
            )
        };
        return Err(config::ConfigError::Missing(message).into());
    }
    if dry_run {
        return Ok(None);
    }
    Ok(Some(crate::lock::SourceLock::acquire(&wanted, path)?))
}

/// Sends the mail outbox (when SMTP is configured) and the webhook outbox.
async fn send_outbox(
    store: &Store,
    mail: &config::MailConfig,
    quiet: bool,
) -> anyhow::Result<(Option<crate::notify::FlushReport>, crate::hooks::HookReport)> {
    let mail = send_mail(store, mail, quiet).await?;
    let hooks =
        crate::hooks::flush(store, &crate::hooks::Sender::new()?, chrono::Utc::now()).await?;
    Ok((mail, hooks))
}

/// Sends the outbox when SMTP is configured; otherwise says how much mail waits.
async fn send_mail(
    store: &Store,
    mail: &config::MailConfig,
    quiet: bool,
) -> anyhow::Result<Option<crate::notify::FlushReport>> {
    match crate::notify::Mailer::from_environment(mail)? {
        Some(mailer) => Ok(Some(
            crate::notify::flush(store, &mailer, chrono::Utc::now()).await?,
        )),
        None => {
            let waiting = store
                .list_mail(false)
                .await?
                .iter()
                .filter(|m| m.status == MailStatus::Queued)
                .count();
            if waiting > 0 && !quiet {
                eprintln!(
                    "{waiting} mail(s) wait in the outbox: set SMTP_URL (and SMTP_PASSWORD) to send them"
                );
            }
            Ok(None)
        }
    }
}

/// The firings of a sync (or dry run), one line each, with their actions below.
pub fn print_firings(report: &SyncReport) {
    if report.fired + report.stopped == 0 {
        return;
    }
    let verb = if report.dry_run {
        "would fire"
    } else {
        "fired"
    };
    let stopped = if report.stopped > 0 {
        format!(", {} chain(s) stopped by the firing budget", report.stopped)
    } else {
        String::new()
    };
    out!("Rules {verb} {} time(s){stopped}:", report.fired);
    for firing in report.firings.iter().take(50) {
        out!("  {} → {} \"{}\"", firing.rule, firing.task, firing.title);
        if let Some(reason) = &firing.reason {
            out!("      {}: {reason}", firing.status);
        }
        for action in &firing.actions {
            for line in action_lines(action) {
                out!("      {line}");
            }
        }
    }
    if report.firings.len() > 50 {
        out!("  … and more (--json lists them)");
    }
}

/// An action as previews show it: one line, and for an append the blocks it writes below.
pub fn action_lines(action: &PlannedAction) -> Vec<String> {
    match action {
        PlannedAction::Append { text, format } => {
            let blocks = blocks_of(text, *format);
            let mut lines = vec![format!(
                "append ({}), {} block(s):",
                format.as_str(),
                blocks.len()
            )];
            lines.extend(
                describe(&blocks)
                    .into_iter()
                    .map(|line| format!("  {line}")),
            );
            lines
        }
        other => vec![other.describe()],
    }
}

/// The blocks of each append of a firing, as Notion receives them, for `--json` previews.
pub fn firings_json(firings: &[crate::sync::FiringReport]) -> anyhow::Result<serde_json::Value> {
    let mut value = serde_json::to_value(firings)?;
    for (firing, shown) in firings
        .iter()
        .zip(value.as_array_mut().into_iter().flatten())
    {
        for (action, shown) in firing
            .actions
            .iter()
            .zip(shown["actions"].as_array_mut().into_iter().flatten())
        {
            if let PlannedAction::Append { text, format } = action {
                let body = append_body(&blocks_of(text, *format), AppendPosition::End);
                shown["blocks"] = body["children"].clone();
            }
        }
    }
    Ok(value)
}

/// A spinner with a count on a terminal; nothing when output goes elsewhere.
fn progress_bar(json: bool) -> ProgressBar {
    if json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {human_pos} tasks read ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn print_report(report: &SyncReport, requests_total: u64) {
    let seconds = report.duration_ms as f64 / 1000.0;
    let kind = if report.reconciled && report.kind == SyncKind::Incremental {
        "incremental, with reconcile"
    } else {
        report.kind.as_str()
    };
    let counts = format!(
        "{} new, {} changed, {} deleted, {} restored, {} unchanged",
        report.new, report.changed, report.deleted, report.restored, report.unchanged
    );
    if !report.dry_run {
        out!(
            "Synced \"{}\" ({kind}): {counts}; {} requests in {seconds:.1} s ({requests_total} in all, with discovery and actions)",
            report.data_source,
            report.requests
        );
        if report.other_writers > 0 {
            out!(
                "Another writer: {} edit(s) by this integration that tasksync did not make (see the warnings above and `tasksync status`)",
                report.other_writers
            );
        }
        return;
    }
    out!(
        "Dry run of \"{}\" ({kind}): would record {counts}; {} requests in {seconds:.1} s ({requests_total} in all). Nothing was written.",
        report.data_source,
        report.requests
    );
    for change in report.planned.iter().take(50) {
        let details: Vec<String> = change
            .properties
            .iter()
            .map(|p| {
                format!(
                    "{}: {} → {}",
                    p.property,
                    p.old_value.as_deref().unwrap_or("(none)"),
                    p.new_value.as_deref().unwrap_or("(none)")
                )
            })
            .collect();
        out!(
            "  {:<8} {} \"{}\" {}",
            change.kind,
            change.task,
            change.title,
            details.join("; ")
        );
    }
    if report.planned.len() > 50 {
        out!(
            "  … and {} more (--json lists them all)",
            report.planned.len() - 50
        );
    }
}

/// The mirror, read-only, and the data sources `--source` means in it (`None`: all).
async fn open_mirror(
    config_path: Option<&Path>,
    source: Option<&str>,
) -> anyhow::Result<(Store, Option<Vec<String>>)> {
    let (config, origin) = config::load(config_path)?;
    let store = read_mirror(&config)?;
    let within = mirror_sources(&store, &config, &origin, source).await?;
    Ok((store, within))
}

/// The configuration's mirror, read-only; an error saying to sync first when there is none.
pub(super) fn read_mirror(config: &config::Config) -> anyhow::Result<Store> {
    let path = config.mirror_path()?;
    Store::open_read_only(&path)?.ok_or_else(|| {
        anyhow::anyhow!(
            "there is no mirror at {} yet: run `tasksync sync` first",
            path.display()
        )
    })
}

fn unique_id(properties: &StoredProperties) -> Option<String> {
    crate::model::stored::unique_id(properties)
}

pub async fn list(
    config_path: Option<&Path>,
    status: Option<&str>,
    json: bool,
    source: Option<&str>,
) -> anyhow::Result<()> {
    let (store, within) = open_mirror(config_path, source).await?;
    let mut rows = store.list_tasks(status.map(str::to_string), false).await?;
    if let Some(ids) = &within {
        rows.retain(|row| ids.contains(&row.data_source_id));
    }
    if json {
        let views: Vec<MirrorTask> = rows
            .iter()
            .map(|row| MirrorTask::new(row, None))
            .collect::<anyhow::Result<_>>()?;
        return output::json(&views);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let label = unique_id(&row.properties()?).unwrap_or_else(|| row.id.clone());
            Ok(vec![
                label,
                row.status.clone().unwrap_or_default(),
                row.last_edited_time.clone(),
                row.title.clone(),
            ])
        })
        .collect::<anyhow::Result<_>>()?;
    output::table(&["ID", "STATUS", "LAST EDITED", "TITLE"], &table);
    out!("{} task(s) in the mirror", rows.len());
    Ok(())
}

#[derive(Serialize)]
struct MirrorTask<'a> {
    id: &'a str,
    unique_id: Option<String>,
    title: &'a str,
    status: Option<&'a str>,
    url: &'a str,
    created_time: &'a str,
    last_edited_time: &'a str,
    last_edited_by: Option<&'a str>,
    deleted_at: Option<&'a str>,
    properties: StoredProperties,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<&'a [HistoryRow]>,
}

impl<'a> MirrorTask<'a> {
    fn new(row: &'a MirroredTask, history: Option<&'a [HistoryRow]>) -> anyhow::Result<Self> {
        let properties = row.properties()?;
        Ok(Self {
            id: &row.id,
            unique_id: unique_id(&properties),
            title: &row.title,
            status: row.status.as_deref(),
            url: &row.url,
            created_time: &row.created_time,
            last_edited_time: &row.last_edited_time,
            last_edited_by: row.last_edited_by.as_deref(),
            deleted_at: row.deleted_at.as_deref(),
            properties,
            history,
        })
    }
}

/// A task of the mirror by page id, page URL or unique ID (`TASK-12`).
/// A task of the mirror by page id, page URL or unique ID, in the data sources given (`None`:
/// any); a unique ID several sources have is an error asking for `--source`.
pub async fn find_in_mirror(
    store: &Store,
    reference: &str,
    within: Option<&[String]>,
) -> anyhow::Result<MirroredTask> {
    let page = NotionId::parse(reference).ok().map(|id| id.to_string());
    let unique = if page.is_none() {
        UniqueRef::parse(reference)
    } else {
        None
    };
    let number = unique.as_ref().map(|unique| unique.number);
    let mut rows: Vec<MirroredTask> = store
        .find_task(page, number)
        .await?
        .into_iter()
        .filter(|row| within.is_none_or(|ids| ids.contains(&row.data_source_id)))
        .collect();
    let missing = || {
        anyhow::anyhow!("the mirror has no task {reference} (run `tasksync sync` to refresh it)")
    };
    let Some(unique) = unique else {
        return rows.pop().ok_or_else(missing);
    };
    let prefix_of = |row: &MirroredTask| -> anyhow::Result<Option<String>> {
        Ok(unique_id(&row.properties()?)
            .as_deref()
            .and_then(|id| id.rsplit_once('-'))
            .map(|(prefix, _)| prefix.to_string()))
    };
    let mut fitting = Vec::new();
    let mut last_error = None;
    for row in rows {
        match unique.check_prefix(prefix_of(&row)?.as_deref()) {
            Ok(()) => fitting.push(row),
            Err(error) => last_error = Some(error),
        }
    }
    match (fitting.len(), last_error) {
        (0, Some(error)) => Err(error),
        (0, None) => Err(missing()),
        (1, _) => Ok(fitting.remove(0)),
        (n, _) => anyhow::bail!(
            "{n} tasks of the mirror have the ID {reference}, in different sources: say which with --source NAME"
        ),
    }
}

/// The data sources of the mirror that `--source NAME` means (`None`: all); offline, from what
/// the syncs recorded of each data source.
pub async fn mirror_sources(
    store: &Store,
    config: &config::Config,
    origin: &config::Origin,
    wanted: Option<&str>,
) -> anyhow::Result<Option<Vec<String>>> {
    let Some(wanted) = wanted else {
        return Ok(None);
    };
    let spec = config.select_sources(origin, Some(wanted))?.remove(0);
    let mut ids = store
        .data_sources_of(spec.database.to_string(), spec.data_source.clone())
        .await?;
    if ids.is_empty() && spec.data_source.is_none() {
        ids = store
            .data_sources_of(spec.database.to_string(), None)
            .await?;
    }
    if ids.is_empty() {
        anyhow::bail!(
            "the mirror holds nothing of source `{wanted}` yet: run `tasksync sync --source {wanted}`"
        );
    }
    Ok(Some(ids))
}

pub async fn show(
    config_path: Option<&Path>,
    reference: &str,
    json: bool,
    source: Option<&str>,
) -> anyhow::Result<()> {
    let (store, within) = open_mirror(config_path, source).await?;
    let row = find_in_mirror(&store, reference, within.as_deref()).await?;
    let history = store.history(row.id.clone()).await?;
    let firings = store.firings_of(row.id.clone()).await?;
    let names = store.user_names().await?;
    let mut view = MirrorTask::new(&row, Some(&history))?;
    // People the page gave by id (a task not read again since the users were known).
    for property in view.properties.values_mut() {
        let before = property.value.clone();
        property.value.fill_user_names(&names);
        if property.value != before {
            property.text = property.value.display();
        }
    }
    if json {
        let mut value = serde_json::to_value(&view)?;
        value["rule_firings"] = serde_json::to_value(&firings)?;
        return output::json(&value);
    }
    out!(
        "{}  {}",
        view.unique_id.clone().unwrap_or_else(|| row.id.clone()),
        row.title
    );
    let mut lines = vec![
        ("url".to_string(), row.url.clone()),
        ("page id".into(), row.id.clone()),
    ];
    if let Some(deleted) = &row.deleted_at {
        lines.push((
            "deleted".into(),
            format!("{deleted} (no longer in the database)"),
        ));
    }
    for (name, property) in &view.properties {
        if property.value.type_name() != "title" && !property.text.is_empty() {
            lines.push((name.clone(), property.text.clone()));
        }
    }
    let width = lines
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    for (name, value) in lines {
        out!("  {name:<width$}  {}", value.replace('\n', " "));
    }
    out!("\nHistory (oldest first):");
    for change in &history {
        let what = describe_change(change);
        let by = change
            .by()
            .map(|by| format!(" by {by}"))
            .unwrap_or_default();
        out!("  {}  {what}{by}", change.observed_at);
    }
    if !firings.is_empty() {
        out!("\nRules that fired:");
        for firing in &firings {
            let note = firing
                .reason
                .as_deref()
                .map(|r| format!(" ({}: {r})", firing.status))
                .unwrap_or_default();
            out!("  {}  {}{note}", firing.fired_at, firing.rule);
        }
    }
    Ok(())
}

/// One line of a task's history: "Status: To do → Done", "deleted from the database", ...
pub fn describe_change(change: &HistoryRow) -> String {
    let shown = |value: &Option<String>| {
        value
            .as_deref()
            .filter(|v| !v.is_empty())
            .unwrap_or("(empty)")
            .to_string()
    };
    match change.property.as_str() {
        CREATED => format!(
            "first seen as \"{}\"",
            change.new_value.as_deref().unwrap_or_default()
        ),
        DELETED if change.new_value.is_some() => "deleted from the database".to_string(),
        DELETED => "back in the database".to_string(),
        property => format!(
            "{property}: {} → {}",
            shown(&change.old_value),
            shown(&change.new_value)
        ),
    }
}
