//! `tasksync status`: what tasksync has been doing, from the mirror alone (no Notion, no token).

use std::path::Path;

use serde::Serialize;

use super::output;
use crate::config;
use crate::lock::InstanceLock;
use crate::store::{self, JobHealth, Store, Summary};
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
    #[serde(flatten)]
    summary: &'a Summary,
}

/// The verdict of `status --check`, as a monitoring plugin gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Health {
    /// `OK`, `WARNING` or `CRITICAL`.
    pub level: &'static str,
    /// The plugin exit code: 0, 1 or 2.
    pub code: u8,
    pub message: String,
}

/// The interval between syncs a schedule implies (a cron's is measured between its next runs).
fn sync_interval(schedule: &crate::schedule::Schedule, now: DateTime<Utc>) -> chrono::Duration {
    match schedule {
        crate::schedule::Schedule::Every(interval) => {
            chrono::Duration::from_std(*interval).unwrap_or(chrono::Duration::MAX)
        }
        crate::schedule::Schedule::Cron { .. } => schedule
            .next_after(now)
            .and_then(|first| Some(schedule.next_after(first)? - first))
            .unwrap_or(chrono::Duration::MAX),
    }
}

fn ago(duration: chrono::Duration) -> String {
    let seconds = duration.num_seconds().max(0);
    match seconds {
        0..120 => format!("{seconds} s"),
        120..7200 => format!("{} min", seconds / 60),
        7200..172_800 => format!("{} h", seconds / 3600),
        _ => format!("{} days", seconds / 86_400),
    }
}

/// Judges the mirror's health against `[health]`: CRITICAL when the last good sync is older than
/// `critical_intervals` sync intervals (or there never was one) or mail failed for good;
/// WARNING when it is older than `warning_intervals`, or a job's last attempt or an action
/// failed; OK otherwise. Pure: `now` is a parameter.
pub fn judge(
    thresholds: &config::HealthConfig,
    interval: chrono::Duration,
    jobs: &[JobHealth],
    summary: &Summary,
    now: DateTime<Utc>,
) -> Health {
    let parse = |text: &str| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    let last_good = jobs
        .iter()
        .filter(|job| matches!(job.job.as_str(), "sync" | "reconcile"))
        .filter_map(|job| job.last_success_at.as_deref().and_then(parse))
        .chain(
            summary
                .sources
                .iter()
                .filter_map(|s| s.last_sync_at.as_deref().and_then(parse)),
        )
        .max();
    let failed_jobs: Vec<String> = jobs
        .iter()
        .filter(|job| job.last_outcome.as_deref() == Some("failed"))
        .map(|job| {
            format!(
                "{} failed: {}",
                job.job,
                job.last_error.as_deref().unwrap_or("no message")
            )
        })
        .collect();
    let count = |map: &std::collections::BTreeMap<String, i64>, key: &str| {
        map.get(key).copied().unwrap_or(0)
    };
    let failed_mail = count(&summary.mail, "failed");
    let failed_actions = count(&summary.actions, "failed");
    let times = |n: u32| {
        interval
            .checked_mul(i32::try_from(n).unwrap_or(i32::MAX))
            .unwrap_or(chrono::Duration::MAX)
    };
    let mut problems: Vec<String> = Vec::new();
    let mut code = 0u8;
    match last_good {
        None => {
            code = 2;
            problems.push("no successful sync yet".into());
        }
        Some(at) => {
            let age = now - at;
            let level = if age > times(thresholds.critical_intervals) {
                2
            } else if age > times(thresholds.warning_intervals) {
                1
            } else {
                0
            };
            code = code.max(level);
            problems.push(format!("last good sync {} ago", ago(age)));
        }
    }
    if failed_mail > 0 {
        code = 2;
        problems.push(format!("{failed_mail} mail(s) failed for good"));
    }
    if failed_actions > 0 {
        code = code.max(1);
        problems.push(format!("{failed_actions} action(s) failed"));
    }
    if !failed_jobs.is_empty() {
        code = code.max(1);
        problems.extend(failed_jobs);
    }
    let level = ["OK", "WARNING", "CRITICAL"][usize::from(code)];
    Health {
        level,
        code,
        message: problems.join("; "),
    }
}

#[derive(Serialize)]
struct ScheduleJson {
    job: &'static str,
    schedule: String,
    /// For cron schedules; an interval counts from when the daemon started.
    next_run: Option<String>,
}

fn schedules(parsed: &[crate::schedule::Schedule], now: DateTime<Utc>) -> Vec<ScheduleJson> {
    ["sync", "reconcile", "outbox", "time_rules", "full"]
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
        .collect()
}

pub fn status(config_path: Option<&Path>, json: bool, check: bool) -> anyhow::Result<()> {
    let (config, _) = config::load(config_path)?;
    let parsed = config
        .schedule
        .parsed()
        .map_err(config::ConfigError::Missing)?;
    let now = Utc::now();
    let schedules = schedules(&parsed, now);
    let path = config.mirror_path()?;
    let store = match Store::open_read_only(&path)? {
        Some(store) => store,
        None if check => {
            out!(
                "TASKSYNC UNKNOWN - there is no mirror at {} yet",
                path.display()
            );
            return Err(super::MonitorExit(3).into());
        }
        None => anyhow::bail!(
            "there is no mirror at {} yet: run `tasksync sync` first",
            path.display()
        ),
    };
    let since = format!("{}T00:00:00.000Z", now.date_naive());
    let summary = store.with(|c| store::summary(c, &since))?;
    let jobs = store.with(|c| store::job_health(c, &crate::daemon::JOB_NAMES))?;
    let health = judge(
        &config.health,
        sync_interval(&parsed[0], now),
        &jobs,
        &summary,
        now,
    );
    if check {
        out!("TASKSYNC {} - {}", health.level, health.message);
        return match health.code {
            0 => Ok(()),
            code => Err(super::MonitorExit(code).into()),
        };
    }
    let running_pid = InstanceLock::holder(&path);
    if json {
        return output::json(&StatusJson {
            mirror: path.display().to_string(),
            running_pid,
            schedules,
            jobs: &jobs,
            health: &health,
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
            (Some(outcome), Some(error)) => format!("{outcome}: {error}"),
            (Some(outcome), None) => outcome.clone(),
            (None, _) => "no attempt yet".to_string(),
        };
        out!(
            "Job {}: last attempt {}, {outcome}; last success {}",
            job.job,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn job(name: &str, outcome: &str, success: Option<&str>, error: Option<&str>) -> JobHealth {
        JobHealth {
            job: name.into(),
            last_attempt_at: Some("2026-12-01T10:00:00.000Z".into()),
            last_outcome: Some(outcome.into()),
            last_error: error.map(str::to_string),
            last_success_at: success.map(str::to_string),
        }
    }

    fn check(jobs: &[JobHealth], mail_failed: i64, minutes_later: i64) -> (u8, String) {
        let mut summary = Summary::default();
        summary.mail.insert("failed".into(), mail_failed);
        let now = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::minutes(minutes_later);
        let health = judge(
            &config::HealthConfig::default(),
            chrono::Duration::minutes(2),
            jobs,
            &summary,
            now,
        );
        (health.code, health.message)
    }

    #[test]
    fn health_follows_the_age_of_the_last_good_sync_and_failures() {
        let good = job("sync", "ok", Some("2026-12-01T10:00:00.000Z"), None);
        assert_eq!(check(std::slice::from_ref(&good), 0, 1).0, 0);
        assert_eq!(
            check(std::slice::from_ref(&good), 0, 7).0,
            1,
            "older than 3 intervals"
        );
        assert_eq!(
            check(std::slice::from_ref(&good), 0, 21).0,
            2,
            "older than 10 intervals"
        );
        assert_eq!(
            check(std::slice::from_ref(&good), 1, 1).0,
            2,
            "mail failed for good"
        );
        let failing = job(
            "sync",
            "failed",
            Some("2026-12-01T10:00:00.000Z"),
            Some("could not reach Notion"),
        );
        let (code, message) = check(&[failing], 0, 1);
        assert_eq!(code, 1);
        assert!(
            message.contains("sync failed: could not reach Notion"),
            "{message}"
        );
        let never = job("sync", "failed", None, Some("401"));
        assert_eq!(check(&[never], 0, 0).0, 2, "never synced");
    }
}
