//! The health verdict: what `status`, `status --check` and the daemon's STATUS= line say, from
//! what the mirror records (every job attempt, actions, mail, suspended rules). Pure: the time
//! is a parameter (`judge`); `assess` reads the mirror for it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config;
use crate::model::automation::{ActionStatus, MailStatus, WebhookStatus};
use crate::model::run::JobOutcome;
use crate::store::{JobHealth, Store, Summary};

/// Reads from the mirror what the verdict needs (the summary since the start of today, UTC,
/// and every job's health) and judges it.
/// `sources` are the configured sources (`Config::source_keys`), each judged on its own.
pub async fn assess(
    store: &Store,
    thresholds: &config::HealthConfig,
    interval: chrono::Duration,
    sources: Vec<Option<String>>,
    now: DateTime<Utc>,
) -> anyhow::Result<(Summary, Vec<JobHealth>, Health)> {
    let since = format!("{}T00:00:00.000Z", now.date_naive());
    let (summary, jobs) = store.health_inputs(since, sources).await?;
    let health = judge(thresholds, interval, &jobs, &summary, now);
    Ok((summary, jobs, health))
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
pub fn sync_interval(schedule: &crate::schedule::Schedule, now: DateTime<Utc>) -> chrono::Duration {
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

pub fn ago(duration: chrono::Duration) -> String {
    let seconds = duration.num_seconds().max(0);
    match seconds {
        0..120 => format!("{seconds} s"),
        120..7200 => format!("{} min", seconds / 60),
        7200..172_800 => format!("{} h", seconds / 3600),
        _ => format!("{} days", seconds / 86_400),
    }
}

/// How long an edit by another writer keeps the verdict at WARNING after it was found.
const OTHER_WRITER_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// Judges the mirror's health against `[health]`: CRITICAL when the last good sync is older than
/// `critical_intervals` sync intervals (or there never was one), mail failed for good, or the
/// oldest undelivered mail is older than `mail_critical_after`; WARNING when the last good sync
/// is older than `warning_intervals`, or a job's last attempt, an action or a mail delivery
/// attempt failed, or another writer used our token in the last day; OK otherwise. Pure: `now`
/// is a parameter.
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
    // Each source is judged by its own last good sync (a source whose syncs fail is not hidden
    // by another's); the one-source form also by `sync_state`, which mirrors older than
    // `job_runs` have.
    let is_sync = |job: &JobHealth| matches!(job.job.as_str(), "sync" | "reconcile");
    let mut sources: Vec<Option<&str>> = Vec::new();
    for job in jobs.iter().filter(|job| is_sync(job)) {
        if !sources.contains(&job.source.as_deref()) {
            sources.push(job.source.as_deref());
        }
    }
    if sources.is_empty() {
        sources.push(None);
    }
    let last_good = |source: Option<&str>| {
        let recorded = summary
            .sources
            .iter()
            .filter(|_| source.is_none())
            .filter_map(|s| s.last_sync_at.as_deref().and_then(parse));
        jobs.iter()
            .filter(|job| is_sync(job) && job.source.as_deref() == source)
            .filter_map(|job| job.last_success_at.as_deref().and_then(parse))
            .chain(recorded)
            .max()
    };
    let failed_jobs: Vec<String> = jobs
        .iter()
        .filter_map(|job| {
            let name = match &job.source {
                Some(source) => format!("{} of {source}", job.job),
                None => job.job.clone(),
            };
            match (job.last_outcome, &job.last_error) {
                (Some(JobOutcome::Failed), error) => Some(format!(
                    "{name} failed: {}",
                    error.as_deref().unwrap_or("no message")
                )),
                // Running, and retrying after an error: as bad as failed until it succeeds.
                (Some(JobOutcome::Running), Some(error)) => {
                    Some(format!("{name} is retrying after: {error}"))
                }
                _ => None,
            }
        })
        .collect();
    let count = |map: &std::collections::BTreeMap<String, i64>, key: &str| {
        map.get(key).copied().unwrap_or(0)
    };
    let failed_mail = count(&summary.mail, MailStatus::Failed.as_str());
    let failed_actions = count(&summary.actions, ActionStatus::Failed.as_str());
    let failed_webhooks = count(&summary.webhooks, WebhookStatus::Failed.as_str());
    let times = |n: u32| {
        interval
            .checked_mul(i32::try_from(n).unwrap_or(i32::MAX))
            .unwrap_or(chrono::Duration::MAX)
    };
    let mut problems: Vec<String> = Vec::new();
    let mut code = 0u8;
    for source in sources {
        let prefix = source.map(|name| format!("{name}: ")).unwrap_or_default();
        match last_good(source) {
            None => {
                code = 2;
                problems.push(format!("{prefix}no successful sync yet"));
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
                problems.push(format!("{prefix}last good sync {} ago", ago(age)));
            }
        }
    }
    if failed_mail > 0 {
        code = 2;
        problems.push(format!("{failed_mail} mail(s) failed for good"));
    }
    // A dead mail server: WARNING from the first failed attempt, with the server's words;
    // CRITICAL once the oldest undelivered mail waited longer than `mail_critical_after`.
    if let Some(latest) = summary.retrying_mail.first() {
        code = code.max(1);
        problems.push(format!(
            "mail delivery failing ({} mail(s) retrying): {}",
            summary.retrying_mail_count,
            latest.last_error.as_deref().unwrap_or("no message")
        ));
    }
    let mail_critical =
        chrono::Duration::from_std(thresholds.mail_critical_after).unwrap_or(chrono::Duration::MAX);
    if let Some(age) = summary
        .oldest_undelivered_mail
        .as_deref()
        .and_then(parse)
        .map(|at| now - at)
        .filter(|age| *age > mail_critical)
    {
        code = 2;
        problems.push(format!(
            "the oldest undelivered mail was queued {} ago (health.mail_critical_after = \"{}\")",
            ago(age),
            crate::schedule::describe_duration(thresholds.mail_critical_after)
        ));
    }
    if failed_actions > 0 {
        code = code.max(1);
        problems.push(format!("{failed_actions} action(s) failed"));
    }
    if failed_webhooks > 0 {
        code = code.max(1);
        problems.push(format!("{failed_webhooks} webhook(s) failed for good"));
    }
    if !failed_jobs.is_empty() {
        code = code.max(1);
        problems.extend(failed_jobs);
    }
    // Another process edits with our token: rules may act twice. Said for a day after the last
    // such edit was found.
    let recent: Vec<&crate::model::stored::OtherWriterEdit> = summary
        .other_writers
        .iter()
        .filter(|edit| parse(&edit.detected_at).is_some_and(|at| now - at < OTHER_WRITER_WINDOW))
        .collect();
    if let Some(latest) = recent.first() {
        code = code.max(1);
        let more = match recent.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        problems.push(format!(
            "another writer using this integration edited {} at {}{more}: another process acts with the same token (a second tasksync with its own mirror, or a script)",
            latest.task, latest.edited_at
        ));
    }
    if !summary.suspended_rules.is_empty() {
        code = code.max(1);
        let names: Vec<&str> = summary
            .suspended_rules
            .iter()
            .map(|s| s.rule.as_str())
            .collect();
        problems.push(format!(
            "{} rule(s) suspended (they do not fit the schema in Notion): {}",
            names.len(),
            names.join(", ")
        ));
    }
    let level = ["OK", "WARNING", "CRITICAL"][usize::from(code)];
    Health {
        level,
        code,
        message: problems.join("; "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::run::JobKind;

    fn job(
        kind: JobKind,
        outcome: JobOutcome,
        success: Option<&str>,
        error: Option<&str>,
    ) -> JobHealth {
        JobHealth {
            job: kind.as_str().into(),
            source: None,
            last_attempt_at: Some("2026-12-01T10:00:00.000Z".into()),
            last_outcome: Some(outcome),
            last_error: error.map(str::to_string),
            last_success_at: success.map(str::to_string),
        }
    }

    fn check(jobs: &[JobHealth], mail_failed: i64, minutes_later: i64) -> (u8, String) {
        let mut summary = Summary::default();
        summary
            .mail
            .insert(MailStatus::Failed.as_str().into(), mail_failed);
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

    /// A mail whose delivery attempt failed: WARNING at once with the server's words; CRITICAL
    /// once the oldest undelivered mail is older than `mail_critical_after` (an hour).
    #[test]
    fn a_dead_mail_server_is_a_warning_at_once_and_critical_after_an_hour() {
        let mut summary = Summary::default();
        summary.retrying_mail.push(crate::store::OutboxEntry {
            id: 3,
            task_id: None,
            rule: Some("urgent-mail".into()),
            message_id: "<m@x>".into(),
            to: vec!["team@example.com".into()],
            subject: "Urgent".into(),
            status: MailStatus::Queued,
            attempts: 1,
            last_error: Some("Connection refused: could not talk to the SMTP server".into()),
            server_reply: None,
            next_attempt_at: None,
            created_at: "2026-12-01T10:00:00.000Z".into(),
            sent_at: None,
            skipped: Vec::new(),
        });
        summary.retrying_mail_count = 1;
        summary.oldest_undelivered_mail = Some("2026-12-01T10:00:00.000Z".into());
        let judged = |minutes: i64| {
            let now = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc)
                + chrono::Duration::minutes(minutes);
            let good = job(
                JobKind::Sync,
                JobOutcome::Ok,
                Some(&crate::model::time::iso(now)),
                None,
            );
            judge(
                &config::HealthConfig::default(),
                chrono::Duration::minutes(2),
                &[good],
                &summary,
                now,
            )
        };
        let soon = judged(1);
        assert_eq!(soon.code, 1, "{}", soon.message);
        assert!(
            soon.message
                .contains("mail delivery failing (1 mail(s) retrying): Connection refused"),
            "{}",
            soon.message
        );
        let late = judged(61);
        assert_eq!(late.code, 2, "{}", late.message);
        assert!(
            late.message.contains(
                "the oldest undelivered mail was queued 61 min ago (health.mail_critical_after = \"1h\")"
            ),
            "{}",
            late.message
        );
    }

    #[test]
    fn a_webhook_failed_for_good_is_a_warning() {
        let mut summary = Summary::default();
        summary
            .webhooks
            .insert(WebhookStatus::Failed.as_str().into(), 2);
        let good = job(
            JobKind::Sync,
            JobOutcome::Ok,
            Some("2026-12-01T10:00:00.000Z"),
            None,
        );
        let now = DateTime::parse_from_rfc3339("2026-12-01T10:01:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let health = judge(
            &config::HealthConfig::default(),
            chrono::Duration::minutes(2),
            &[good],
            &summary,
            now,
        );
        assert_eq!(health.code, 1, "{}", health.message);
        assert!(
            health.message.contains("2 webhook(s) failed for good"),
            "{}",
            health.message
        );
    }

    #[test]
    fn another_writer_is_a_warning_for_a_day() {
        let mut summary = Summary::default();
        summary
            .other_writers
            .push(crate::model::stored::OtherWriterEdit {
                task_id: "t".into(),
                data_source_id: "s".into(),
                task: "TASK-3 \"Plan\"".into(),
                edited_at: "2026-12-01T09:58:00.000Z".into(),
                properties: vec!["Priority".into()],
                detected_at: "2026-12-01T10:00:00.000Z".into(),
            });
        let good = |at: &str| job(JobKind::Sync, JobOutcome::Ok, Some(at), None);
        let judged = |now: &str| {
            let now = DateTime::parse_from_rfc3339(now)
                .unwrap()
                .with_timezone(&Utc);
            let last = crate::model::time::iso(now);
            judge(
                &config::HealthConfig::default(),
                chrono::Duration::minutes(2),
                &[good(&last)],
                &summary,
                now,
            )
        };
        let soon = judged("2026-12-01T11:00:00Z");
        assert_eq!(soon.code, 1, "{}", soon.message);
        assert!(
            soon.message.contains(
                "another writer using this integration edited TASK-3 \"Plan\" at 2026-12-01T09:58:00.000Z"
            ),
            "{}",
            soon.message
        );
        let later = judged("2026-12-02T10:00:01Z");
        assert_eq!(later.code, 0, "a day later: {}", later.message);
    }

    #[test]
    fn health_follows_the_age_of_the_last_good_sync_and_failures() {
        let good = job(
            JobKind::Sync,
            JobOutcome::Ok,
            Some("2026-12-01T10:00:00.000Z"),
            None,
        );
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
            JobKind::Sync,
            JobOutcome::Failed,
            Some("2026-12-01T10:00:00.000Z"),
            Some("could not reach Notion"),
        );
        let (code, message) = check(&[failing], 0, 1);
        assert_eq!(code, 1);
        assert!(
            message.contains("sync failed: could not reach Notion"),
            "{message}"
        );
        let never = job(JobKind::Sync, JobOutcome::Failed, None, Some("401"));
        assert_eq!(check(&[never], 0, 0).0, 2, "never synced");
    }

    #[test]
    fn each_source_is_judged_by_its_own_syncs() {
        let of = |source: &str, outcome, success: Option<&str>, error: Option<&str>| JobHealth {
            source: Some(source.into()),
            ..job(JobKind::Sync, outcome, success, error)
        };
        let tasks = of(
            "tasks",
            JobOutcome::Ok,
            Some("2026-12-01T10:00:00.000Z"),
            None,
        );
        let bugs = of(
            "bugs",
            JobOutcome::Failed,
            Some("2026-12-01T09:00:00.000Z"),
            Some("Notion answered 404"),
        );
        let (code, message) = check(&[tasks.clone(), bugs], 0, 1);
        assert_eq!(code, 2, "{message}");
        assert!(
            message.contains("tasks: last good sync 60 s ago"),
            "{message}"
        );
        assert!(
            message.contains("bugs: last good sync 61 min ago"),
            "{message}"
        );
        assert!(
            message.contains("sync of bugs failed: Notion answered 404"),
            "{message}"
        );
        let never = of("bugs", JobOutcome::Failed, None, Some("401"));
        let (code, message) = check(&[tasks, never], 0, 1);
        assert_eq!(code, 2);
        assert!(
            message.contains("bugs: no successful sync yet"),
            "{message}"
        );
    }
}
