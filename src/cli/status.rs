//! `tasksync status`: what tasksync has been doing, from the mirror alone (no Notion, no token).

use std::path::Path;

use serde::Serialize;

use super::output;
use crate::config;
use crate::health::{Health, ago, assess, sync_interval};
use crate::lock::InstanceLock;
use crate::model::automation::{ActionStatus, MailStatus, WebhookStatus};
use crate::model::run::JobKind;
use crate::store::{JobHealth, Store, Summary};
use chrono::{DateTime, Utc};

#[derive(Serialize)]
struct StatusJson<'a> {
    mirror: String,
    /// The pid of the tasksync (daemon or sync) using the mirror right now, if any.
    running_pid: Option<u32>,
    /// The daemon's schedules, with the next run of cron schedules.
    schedules: Vec<ScheduleJson>,
    /// Every job's last attempt, outcome, error and last success.
    jobs: &'a [JobHealth],
    /// What `status --check` says.
    health: &'a Health,
    /// The configuration file's first problem (file:line: message) when it is broken.
    configuration_error: Option<&'a str>,
    #[serde(flatten)]
    summary: &'a Summary,
}

#[derive(Serialize)]
struct ScheduleJson {
    job: &'static str,
    schedule: String,
    /// For cron schedules; for an interval while a daemon runs, its last attempt's start plus
    /// the interval (none before the first: an interval counts from when the daemon started).
    next_run: Option<String>,
}

/// The schedules of the always-on jobs (in `JobKind::ALL`'s order), then the report's if on.
fn schedules(
    parsed: &[crate::schedule::Schedule],
    report: Option<&crate::schedule::Schedule>,
    jobs: &[JobHealth],
    now: DateTime<Utc>,
) -> Vec<ScheduleJson> {
    let last_attempt = |job: &str| {
        jobs.iter()
            .filter(|health| health.job == job)
            .filter_map(|health| health.last_attempt_at.as_deref())
            .filter_map(|at| DateTime::parse_from_rfc3339(at).ok())
            .map(|at| at.with_timezone(&Utc))
            .max()
    };
    JobKind::ALL
        .iter()
        .map(|kind| kind.as_str())
        .zip(parsed)
        .chain(report.map(|schedule| (JobKind::Report.as_str(), schedule)))
        .map(|(job, schedule)| ScheduleJson {
            job,
            next_run: match &schedule {
                crate::schedule::Schedule::Cron { .. } => {
                    schedule.next_after(now).map(crate::model::time::iso)
                }
                crate::schedule::Schedule::Every(interval) => last_attempt(job)
                    .and_then(|at| Some(at + chrono::Duration::from_std(*interval).ok()?))
                    .map(crate::model::time::iso),
            },
            schedule: schedule.to_string(),
        })
        .collect()
}

pub async fn status(config_path: Option<&Path>, json: bool, check: bool) -> anyhow::Result<()> {
    // A broken file never blinds the monitor: what can be read of it, and the error.
    let (config, mut broken_error) = config::load_for_monitoring(config_path)?;
    let broken = broken_error.as_ref().map(config::one_line);
    let parsed = config
        .schedule
        .parsed()
        .map_err(config::ConfigError::Missing)?;
    let report = config
        .schedule
        .report_schedule()
        .map_err(config::ConfigError::Missing)?;
    let now = Utc::now();
    let path = config.mirror_path()?;
    let store = match Store::open_read_only(&path)? {
        Some(store) => store,
        None if check => {
            let broken = broken
                .as_deref()
                .map(|error| format!("; the configuration file is broken ({error})"))
                .unwrap_or_default();
            out!(
                "TASKSYNC UNKNOWN - there is no mirror at {} yet{broken}",
                path.display()
            );
            return Err(super::MonitorExit(3).into());
        }
        // Nothing to report from: the broken file is the news.
        None if broken_error.is_some() => {
            return Err(broken_error.take().map_or_else(
                || anyhow::anyhow!("the configuration file is broken"),
                anyhow::Error::from,
            ));
        }
        None if config.directory.is_none() && config_path.is_none() => {
            let searched: Vec<String> = config::search_path()
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            anyhow::bail!(
                "there is no mirror at {} and no configuration file (looked for {}): pass --config PATH, or run `tasksync sync` with one first",
                path.display(),
                searched.join(", ")
            )
        }
        None => anyhow::bail!(
            "there is no mirror at {} yet: run `tasksync sync` first",
            path.display()
        ),
    };
    let (summary, jobs, mut health) = assess(
        &store,
        &config.health,
        sync_interval(&parsed[0], now),
        config.source_keys(),
        now,
    )
    .await?;
    // An interval's next run is known only while a daemon runs it (it counts from its start).
    let running_pid = InstanceLock::holder(&path);
    let running_jobs = if running_pid.is_some() {
        &jobs[..]
    } else {
        &[]
    };
    let schedules = schedules(&parsed, report.as_ref(), running_jobs, now);
    if let Some(error) = &broken {
        health.code = health.code.max(1);
        health.level = ["OK", "WARNING", "CRITICAL"][usize::from(health.code)];
        health.message = format!(
            "the configuration file is broken ({error}): a running daemon keeps the last good one; {}",
            health.message
        );
    }
    if check {
        out!("TASKSYNC {} - {}", health.level, health.message);
        return match health.code {
            0 => Ok(()),
            code => Err(super::MonitorExit(code).into()),
        };
    }
    if json {
        return output::json(&StatusJson {
            mirror: path.display().to_string(),
            running_pid,
            schedules,
            jobs: &jobs,
            health: &health,
            configuration_error: broken.as_deref(),
            summary: &summary,
        });
    }
    if let Some(error) = &broken {
        out!(
            "Configuration: BROKEN: {error} (a running daemon keeps the last good one; `tasksync check` lists every problem)"
        );
    }
    out!(
        "Mirror: {} ({} tasks, {} deleted)",
        path.display(),
        summary.tasks,
        summary.deleted_tasks
    );
    match running_pid {
        Some(pid) => out!("Running: a tasksync (pid {pid}) is using the mirror now"),
        None => out!(
            "Running: nothing is using the mirror now (start `tasksync daemon`, or run `tasksync sync` from a timer)"
        ),
    }
    let described: Vec<String> = schedules
        .iter()
        .map(|s| match &s.next_run {
            Some(next) => format!("{} {} (next {next})", s.job, s.schedule),
            None => format!("{} {}", s.job, s.schedule),
        })
        .collect();
    out!("Daemon schedules: {}", described.join("; "));
    out!("Health: {}: {}", health.level, health.message);
    for job in &jobs {
        let when = |at: &Option<String>| match at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        {
            Some(t) => format!(
                "{} ({} ago)",
                t.with_timezone(&Utc).format("%Y-%m-%d %H:%M:%S"),
                ago(now - t.with_timezone(&Utc))
            ),
            None => "never".to_string(),
        };
        let outcome = match (&job.last_outcome, &job.last_error) {
            (Some(outcome), Some(error)) => format!("{}: {error}", outcome.as_str()),
            (Some(outcome), None) => outcome.as_str().to_string(),
            (None, _) => "no attempt yet".to_string(),
        };
        let name = match &job.source {
            Some(source) => format!("{} ({source})", job.job),
            None => job.job.clone(),
        };
        if job.last_attempt_at.is_none() {
            match job.job == JobKind::Report.as_str() && report.is_none() {
                true => out!("Job {name}: off (set schedule.report to write the flow report)"),
                false => out!("Job {name}: no attempt yet"),
            }
            continue;
        }
        out!(
            "Job {name}: last attempt {}, {outcome}; last success {}",
            when(&job.last_attempt_at),
            when(&job.last_success_at)
        );
    }
    for source in &summary.sources {
        out!(
            "Data source \"{}\": cursor {}; last sync {}; last full sync {}; last reconcile {}",
            source.name.as_deref().unwrap_or("?"),
            source.cursor.as_deref().unwrap_or("none"),
            source.last_sync_at.as_deref().unwrap_or("never"),
            source.last_full_sync_at.as_deref().unwrap_or("never"),
            source.last_reconcile_at.as_deref().unwrap_or("never"),
        );
    }
    match &summary.last_run {
        Some(run) => {
            let c = &run.counts;
            let seconds = run
                .duration_ms
                .map_or("?".to_string(), |ms| format!("{:.1}", ms as f64 / 1000.0));
            out!(
                "Last sync: {} ({}), {}: {} new, {} changed, {} deleted, {} restored, {} unchanged; {} requests in {seconds} s",
                run.started_at,
                run.kind,
                run.result,
                c.new,
                c.changed,
                c.deleted,
                c.restored,
                c.unchanged,
                c.requests
            );
            if let Some(error) = &run.error {
                out!("  error: {error}");
            }
        }
        None => out!("Last sync: none"),
    }
    out!(
        "Rules: {} firing(s) today, {} stopped by the firing budget",
        summary.firings_today,
        summary.stopped_today
    );
    for suspended in &summary.suspended_rules {
        out!(
            "  Suspended rule {} (since {}): {}",
            suspended.rule,
            suspended.since,
            suspended.reason
        );
    }
    for edit in &summary.other_writers {
        out!(
            "Another writer with this integration's token edited {} at {} ({}; found {})",
            edit.task,
            edit.edited_at,
            edit.properties.join(", "),
            edit.detected_at
        );
    }
    let action = |status: ActionStatus| summary.actions.get(status.as_str()).copied().unwrap_or(0);
    let mail = |status: MailStatus| summary.mail.get(status.as_str()).copied().unwrap_or(0);
    out!(
        "Actions: {} pending, {} failed, {} done, {} skipped",
        action(ActionStatus::Pending) + action(ActionStatus::Running),
        action(ActionStatus::Failed),
        action(ActionStatus::Done),
        action(ActionStatus::Skipped)
    );
    out!(
        "Mail: {} queued, {} sent, {} failed, {} skipped (no one with an email)",
        mail(MailStatus::Queued) + mail(MailStatus::Sending),
        mail(MailStatus::Sent),
        mail(MailStatus::Failed),
        mail(MailStatus::Skipped)
    );
    if let Some(latest) = summary.retrying_mail.first() {
        let next = latest
            .next_attempt_at
            .as_deref()
            .map(|at| format!(", next attempt at {at}"))
            .unwrap_or_default();
        out!(
            "  delivery failing: #{} \"{}\" (try {}{next}): {}",
            latest.id,
            latest.subject,
            latest.attempts,
            latest.last_error.as_deref().unwrap_or_default()
        );
        out!("  after fixing it: `tasksync mail retry --all` sends now");
    }
    for mail in &summary.skipped_someone {
        let who = if mail.skipped.is_empty() || mail.status == MailStatus::Skipped {
            mail.last_error.clone().unwrap_or_default()
        } else {
            format!("skipped {}", mail.skipped.join("; "))
        };
        out!(
            "  #{} \"{}\" ({}): {who}",
            mail.id,
            mail.subject,
            mail.status
        );
    }
    let hook = |status: WebhookStatus| summary.webhooks.get(status.as_str()).copied().unwrap_or(0);
    if summary.webhooks.values().any(|n| *n > 0) {
        out!(
            "Webhooks: {} queued, {} sent, {} failed",
            hook(WebhookStatus::Queued) + hook(WebhookStatus::Sending),
            hook(WebhookStatus::Sent),
            hook(WebhookStatus::Failed)
        );
    }
    for note in &summary.notion_webhooks {
        let detail = note
            .detail
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let meaning = match note.outcome {
            crate::model::run::InboundOutcome::Accepted => "signed events that started a sync",
            crate::model::run::InboundOutcome::Duplicate => {
                "events seen before (nothing done again)"
            }
            crate::model::run::InboundOutcome::Rejected => {
                "requests refused (bad or missing signature)"
            }
            crate::model::run::InboundOutcome::Verification => "verification requests (token kept)",
        };
        out!(
            "Notion webhooks: {} {meaning}, the last at {}{detail}",
            note.count,
            note.last_at
        );
    }
    for webhook in &summary.failed_webhooks {
        out!(
            "  failed webhook #{} to {}: {}",
            webhook.id,
            webhook.target,
            webhook.last_error.as_deref().unwrap_or_default()
        );
    }
    for mail in &summary.failed_mail {
        out!(
            "  failed #{} \"{}\": {}",
            mail.id,
            mail.subject,
            mail.last_error.as_deref().unwrap_or_default()
        );
    }
    Ok(())
}
