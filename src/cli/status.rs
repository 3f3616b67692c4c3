//! `tasksync status`: what tasksync has been doing, from the mirror alone (no Notion, no token).

use std::path::Path;

use serde::Serialize;

use super::output;
use crate::config;
use crate::lock::InstanceLock;
use crate::store::{self, Store, Summary};

#[derive(Serialize)]
struct StatusJson<'a> {
    mirror: String,
    /// The pid of the tasksync (daemon or sync) using the mirror right now, if any.
    running_pid: Option<u32>,
    /// The daemon's schedules, with the next run of cron schedules.
    schedules: Vec<ScheduleJson>,
    #[serde(flatten)]
    summary: &'a Summary,
}

#[derive(Serialize)]
struct ScheduleJson {
    job: &'static str,
    schedule: String,
    /// For cron schedules; an interval counts from when the daemon started.
    next_run: Option<String>,
}

fn schedules(config: &config::Config) -> anyhow::Result<Vec<ScheduleJson>> {
    let parsed = config
        .schedule
        .parsed()
        .map_err(config::ConfigError::Missing)?;
    let now = chrono::Utc::now();
    Ok(["sync", "reconcile", "outbox", "time_rules"]
        .into_iter()
        .zip(parsed)
        .map(|(job, schedule)| ScheduleJson {
            job,
            next_run: match &schedule {
                crate::schedule::Schedule::Cron { .. } => {
                    schedule.next_after(now).map(crate::sync::iso)
                }
                crate::schedule::Schedule::Every(_) => None,
            },
            schedule: schedule.to_string(),
        })
        .collect())
}

pub fn status(config_path: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let (config, _) = config::load(config_path)?;
    let schedules = schedules(&config)?;
    let path = config.mirror_path()?;
    let store = Store::open_read_only(&path)?.ok_or_else(|| {
        anyhow::anyhow!(
            "there is no mirror at {} yet: run `tasksync sync` first",
            path.display()
        )
    })?;
    let since = format!("{}T00:00:00.000Z", chrono::Utc::now().date_naive());
    let summary = store.with(|c| store::summary(c, &since))?;
    let running_pid = InstanceLock::holder(&path);
    if json {
        return output::json(&StatusJson {
            mirror: path.display().to_string(),
            running_pid,
            schedules,
            summary: &summary,
        });
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
    let of = |map: &std::collections::BTreeMap<String, i64>, key: &str| {
        map.get(key).copied().unwrap_or(0)
    };
    out!(
        "Actions: {} pending, {} failed, {} done, {} skipped",
        of(&summary.actions, "pending") + of(&summary.actions, "running"),
        of(&summary.actions, "failed"),
        of(&summary.actions, "done"),
        of(&summary.actions, "skipped")
    );
    out!(
        "Mail: {} queued, {} sent, {} failed",
        of(&summary.mail, "queued") + of(&summary.mail, "sending"),
        of(&summary.mail, "sent"),
        of(&summary.mail, "failed")
    );
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
