//! Runs and health: `sync_runs`, `job_runs`, and the summary `status` shows.

use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::automation::{SuspendedRule, suspended_rules};
use super::outbox::{MailList, OutboxEntry, list_mail};
use super::tasks::{SyncState, sync_state};
use super::{RunCounts, Store};
use crate::model::automation::{ActionStatus, FiringStatus, MailStatus, WebhookStatus};
use crate::model::run::{JobKind, JobOutcome, SyncKind};

impl Store {
    /// What the health verdict is judged from, read in one step: the summary since `since`
    /// (the start of today) and the health of every job.
    /// `sources` are the configured ones as `job_runs` keys them (`None`: the one-source form).
    pub async fn health_inputs(
        &self,
        since: String,
        sources: Vec<Option<String>>,
    ) -> anyhow::Result<(Summary, Vec<JobHealth>)> {
        self.call("read the jobs' health", move |c| {
            Ok((summary(c, &since)?, job_health(c, &JobKind::ALL, &sources)?))
        })
        .await
    }

    /// Records the start of an attempt of `job` (now) on `source` (`None`: the one-source form,
    /// or a job of the whole process); its id for [`Store::job_finished`].
    pub async fn job_started(&self, job: JobKind, source: Option<String>) -> anyhow::Result<i64> {
        let now = crate::model::time::iso(chrono::Utc::now());
        self.call("record the start of a job", move |c| {
            start_job(c, job, source.as_deref(), &now)
        })
        .await
    }

    /// Records the end of an attempt (now), with its error if it failed; one stopped by a
    /// shutdown is `interrupted`, not failed.
    pub async fn job_finished(&self, id: i64, error: Option<&anyhow::Error>) -> anyhow::Result<()> {
        let now = crate::model::time::iso(chrono::Utc::now());
        let outcome = JobOutcome::of(error);
        let error = error.map(|error| format!("{error:#}"));
        self.call("record the end of a job", move |c| {
            finish_job(c, id, outcome, error.as_deref(), &now)
        })
        .await
    }

    /// Notes on a running attempt the error it is retrying after (`None`: it is not), so that
    /// `status` shows a job waiting out a failure before the attempt ends.
    pub async fn job_retrying(&self, id: i64, error: Option<String>) -> anyhow::Result<()> {
        self.call("note the error a job retries after", move |c| {
            c.execute(
                "UPDATE job_runs SET error = ?2 WHERE id = ?1 AND outcome = 'running'",
                params![id, error],
            )?;
            Ok(())
        })
        .await
    }

    /// Starts a sync run record; returns its id. Runs left `running` by a crash become `interrupted`.
    pub async fn start_run(
        &self,
        data_source_id: String,
        kind: SyncKind,
        now: String,
    ) -> anyhow::Result<i64> {
        self.call("record the start of a sync run", move |c| {
            start_run(c, &data_source_id, kind, &now)
        })
        .await
    }

    /// Finishes a sync run record, and notes the sync time in the source's state.
    pub async fn finish_run(
        &self,
        run_id: i64,
        counts: RunCounts,
        duration: Duration,
        error: Option<String>,
        now: String,
        full: bool,
    ) -> anyhow::Result<()> {
        self.call("record the end of a sync run", move |c| {
            finish_run(c, run_id, &counts, duration, error.as_deref(), &now, full)
        })
        .await
    }

    /// The health of each job named, from its recorded attempts (see [`Store::health_inputs`]).
    pub async fn job_health(
        &self,
        jobs: Vec<JobKind>,
        sources: Vec<Option<String>>,
    ) -> anyhow::Result<Vec<JobHealth>> {
        self.call("read the jobs' health", move |c| {
            job_health(c, &jobs, &sources)
        })
        .await
    }

    /// The mirror's state for `tasksync status`; `since` is the start of "today".
    pub async fn summary(&self, since: String) -> anyhow::Result<Summary> {
        self.call("read the mirror's summary", move |c| summary(c, &since))
            .await
    }
}

/// Starts a sync run record; returns its id. Runs left `running` by a crash become `interrupted`.
pub(super) fn start_run(
    connection: &mut Connection,
    data_source_id: &str,
    kind: SyncKind,
    now: &str,
) -> anyhow::Result<i64> {
    let transaction = connection.transaction()?;
    transaction.execute(
        "UPDATE sync_runs SET result = 'interrupted' WHERE result = 'running' AND data_source_id = ?1",
        [data_source_id],
    )?;
    transaction.execute(
        "INSERT INTO sync_runs (data_source_id, kind, started_at) VALUES (?1, ?2, ?3)",
        params![data_source_id, kind.as_str(), now],
    )?;
    let id = transaction.last_insert_rowid();
    transaction.commit()?;
    Ok(id)
}

/// Finishes a sync run record, and notes the sync time in the source's state.
pub(super) fn finish_run(
    connection: &mut Connection,
    run_id: i64,
    counts: &RunCounts,
    duration: Duration,
    error: Option<&str>,
    now: &str,
    full: bool,
) -> anyhow::Result<()> {
    let transaction = connection.transaction()?;
    transaction.execute(
        "UPDATE sync_runs SET finished_at = ?2, result = ?3, new_tasks = ?4, changed = ?5, deleted = ?6, restored = ?7,
         unchanged = ?8, requests = ?9, duration_ms = ?10, error = ?11 WHERE id = ?1",
        params![
            run_id,
            now,
            if error.is_some() {
                JobOutcome::Failed.as_str()
            } else {
                JobOutcome::Ok.as_str()
            },
            super::sql_integer(counts.new),
            super::sql_integer(counts.changed),
            super::sql_integer(counts.deleted),
            super::sql_integer(counts.restored),
            super::sql_integer(counts.unchanged),
            super::sql_integer(counts.requests),
            duration.as_millis() as i64,
            error,
        ],
    )?;
    if error.is_none() {
        let full_sync = if full { Some(now) } else { None };
        transaction.execute(
            "UPDATE sync_state SET last_sync_at = ?2, last_full_sync_at = COALESCE(?3, last_full_sync_at)
             WHERE data_source_id = (SELECT data_source_id FROM sync_runs WHERE id = ?1)",
            params![run_id, now, full_sync],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

/// The last sync run, for `status`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunRecord {
    pub kind: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub result: String,
    pub counts: RunCounts,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
}

/// What `tasksync status` shows, read from the mirror.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub tasks: i64,
    pub deleted_tasks: i64,
    pub sources: Vec<SyncState>,
    pub last_run: Option<RunRecord>,
    /// Actions by status (`pending`, `running`, `done`, `skipped`, `failed`).
    pub actions: std::collections::BTreeMap<String, i64>,
    /// Mail by status (`queued`, `sending`, `sent`, `failed`, `skipped`).
    pub mail: std::collections::BTreeMap<String, i64>,
    /// Firings since `since` (the start of today, UTC), and how many were stopped.
    pub firings_today: i64,
    pub stopped_today: i64,
    pub failed_mail: Vec<OutboxEntry>,
    /// Mail not delivered yet whose last attempt failed (newest first): the server's error.
    pub retrying_mail: Vec<OutboxEntry>,
    /// How many mails are retrying (the list above holds the newest five).
    pub retrying_mail_count: usize,
    /// When the oldest mail not delivered yet was queued.
    pub oldest_undelivered_mail: Option<String>,
    /// The latest mail that could not reach someone it was for (no email), with who and why.
    pub skipped_someone: Vec<OutboxEntry>,
    /// Webhooks by status (`queued`, `sending`, `sent`, `failed`).
    pub webhooks: std::collections::BTreeMap<String, i64>,
    pub failed_webhooks: Vec<super::WebhookEntry>,
    /// Rules that do not fit the data source's schema as it is now (they do not run).
    pub suspended_rules: Vec<SuspendedRule>,
    /// Requests to Notion's webhook endpoint, by outcome: the last of each, and how many.
    pub notion_webhooks: Vec<super::InboundNote>,
    /// The latest edits by another writer using this integration's token, newest first.
    pub other_writers: Vec<crate::model::stored::OtherWriterEdit>,
}

/// Rows of `table` by status, every status of `statuses` present (zero included), so that
/// `status --json` has a stable shape.
pub(super) fn counts_by_status(
    connection: &Connection,
    table: &str,
    statuses: impl IntoIterator<Item = &'static str>,
) -> anyhow::Result<std::collections::BTreeMap<String, i64>> {
    let mut statement = connection.prepare(&format!(
        "SELECT status, count(*) FROM {table} GROUP BY status"
    ))?;
    let mut counts: std::collections::BTreeMap<String, i64> = statuses
        .into_iter()
        .map(|status| (status.to_string(), 0))
        .collect();
    for row in statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))? {
        let (status, count): (String, i64) = row?;
        counts.insert(status, count);
    }
    Ok(counts)
}

/// Attempts kept per job; older ones are pruned as new ones finish.
const JOB_RUNS_KEPT: i64 = 500;

/// Records that an attempt of `job` starts (an earlier one still `running` was interrupted).
pub(super) fn start_job(
    connection: &mut Connection,
    job: JobKind,
    source: Option<&str>,
    now: &str,
) -> anyhow::Result<i64> {
    let job = job.as_str();
    let transaction = connection.transaction()?;
    transaction.execute(
        "UPDATE job_runs SET outcome = 'interrupted' WHERE job = ?1 AND source IS ?2 AND outcome = 'running'",
        params![job, source],
    )?;
    transaction.execute(
        "INSERT INTO job_runs (job, source, started_at) VALUES (?1, ?2, ?3)",
        params![job, source, now],
    )?;
    let id = transaction.last_insert_rowid();
    transaction
        .commit()
        .with_context(|| format!("cannot record the start of the {job} job"))?;
    Ok(id)
}

/// Records how an attempt ended (`error` is `None` for success), pruning old attempts.
pub(super) fn finish_job(
    connection: &mut Connection,
    id: i64,
    outcome: JobOutcome,
    error: Option<&str>,
    now: &str,
) -> anyhow::Result<()> {
    let transaction = connection.transaction()?;
    transaction.execute(
        "UPDATE job_runs SET finished_at = ?2, outcome = ?3, error = ?4 WHERE id = ?1",
        params![id, now, outcome.as_str(), error],
    )?;
    let (job, source): (String, Option<String>) = transaction.query_row(
        "SELECT job, source FROM job_runs WHERE id = ?1",
        [id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    transaction.execute(
        "DELETE FROM job_runs WHERE job = ?1 AND source IS ?2
         AND id < (SELECT id FROM job_runs WHERE job = ?1 AND source IS ?2
                   ORDER BY id DESC LIMIT 1 OFFSET ?3)",
        params![job, source, JOB_RUNS_KEPT - 1],
    )?;
    transaction
        .commit()
        .context("cannot record the end of a job")?;
    Ok(())
}

/// The health of one job: its last attempt and its last success.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct JobHealth {
    pub job: String,
    /// The source it worked on (`None`: the one-source form, or a job of the whole process).
    pub source: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_outcome: Option<JobOutcome>,
    /// The error of the last attempt, when it failed (or, while it runs, the error it is
    /// retrying after).
    pub last_error: Option<String>,
    pub last_success_at: Option<String>,
}

/// The health of each job named, from its recorded attempts: a job on tasks once per source
/// of `sources`, the process's jobs once.
pub(super) fn job_health(
    connection: &Connection,
    jobs: &[JobKind],
    sources: &[Option<String>],
) -> anyhow::Result<Vec<JobHealth>> {
    let whole = [None];
    let mut health = Vec::new();
    for job in jobs {
        let keys = if job.per_source() && !sources.is_empty() {
            sources
        } else {
            &whole[..]
        };
        for source in keys {
            health.push(one_job_health(connection, *job, source.as_deref())?);
        }
    }
    Ok(health)
}

fn one_job_health(
    connection: &Connection,
    job: JobKind,
    source: Option<&str>,
) -> anyhow::Result<JobHealth> {
    let last = connection
        .query_row(
            "SELECT started_at, outcome, error FROM job_runs WHERE job = ?1 AND source IS ?2 ORDER BY id DESC LIMIT 1",
            params![job.as_str(), source],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .context("cannot read the jobs' health")?;
    let success: Option<String> = connection
        .query_row(
            "SELECT started_at FROM job_runs WHERE job = ?1 AND source IS ?2 AND outcome = 'ok' ORDER BY id DESC LIMIT 1",
            params![job.as_str(), source],
            |row| row.get(0),
        )
        .optional()
        .context("cannot read the jobs' health")?;
    let (last_attempt_at, last_outcome, last_error) = match last {
        Some((at, outcome, error)) => {
            let outcome: String = outcome;
            let outcome = JobOutcome::parse(&outcome)
                .with_context(|| format!("job_runs has an unknown outcome {outcome:?}"))?;
            (Some(at), Some(outcome), error)
        }
        None => (None, None, None),
    };
    Ok(JobHealth {
        job: job.as_str().to_string(),
        source: source.map(str::to_string),
        last_attempt_at,
        last_outcome,
        last_error,
        last_success_at: success,
    })
}

/// The mirror's state for `tasksync status`; `since` is the start of "today".
pub(super) fn summary(connection: &Connection, since: &str) -> anyhow::Result<Summary> {
    let count =
        |sql: &str| -> anyhow::Result<i64> { Ok(connection.query_row(sql, [], |row| row.get(0))?) };
    let mut sources = Vec::new();
    {
        let mut statement =
            connection.prepare("SELECT data_source_id FROM sync_state ORDER BY data_source_id")?;
        let ids: Vec<String> = statement
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        for id in ids {
            sources.extend(sync_state(connection, &id)?);
        }
    }
    let last_run = connection
        .query_row(
            "SELECT kind, started_at, finished_at, result, new_tasks, changed, deleted, restored, unchanged, requests, duration_ms, error
             FROM sync_runs ORDER BY id DESC LIMIT 1",
            [],
            |row| {
                Ok(RunRecord {
                    kind: row.get(0)?,
                    started_at: row.get(1)?,
                    finished_at: row.get(2)?,
                    result: row.get(3)?,
                    counts: RunCounts {
                        new: row.get::<_, i64>(4)? as u64,
                        changed: row.get::<_, i64>(5)? as u64,
                        deleted: row.get::<_, i64>(6)? as u64,
                        restored: row.get::<_, i64>(7)? as u64,
                        unchanged: row.get::<_, i64>(8)? as u64,
                        requests: row.get::<_, i64>(9)? as u64,
                    },
                    duration_ms: row.get(10)?,
                    error: row.get(11)?,
                })
            },
        )
        .optional()?;
    let today = |status: &str| -> anyhow::Result<i64> {
        Ok(connection.query_row(
            "SELECT count(*) FROM rule_firings WHERE fired_at >= ?1 AND (?2 = '' OR status = ?2)",
            params![since, status],
            |row| row.get(0),
        )?)
    };
    let mut failed_mail = list_mail(connection, MailList::Failed)?;
    failed_mail.truncate(5);
    let mut skipped_someone = list_mail(connection, MailList::SkippedSomeone)?;
    skipped_someone.truncate(5);
    let mut retrying_mail = list_mail(connection, MailList::Retrying)?;
    let retrying_mail_count = retrying_mail.len();
    retrying_mail.truncate(5);
    let mut failed_webhooks = super::hooks::list_webhooks(connection, true)?;
    failed_webhooks.truncate(5);
    Ok(Summary {
        other_writers: super::automation::other_writers(connection, 5)?,
        suspended_rules: suspended_rules(connection)?,
        tasks: count("SELECT count(*) FROM tasks WHERE deleted_at IS NULL")?,
        deleted_tasks: count("SELECT count(*) FROM tasks WHERE deleted_at IS NOT NULL")?,
        sources,
        last_run,
        actions: counts_by_status(
            connection,
            "actions",
            ActionStatus::ALL.iter().map(|s| s.as_str()),
        )?,
        mail: counts_by_status(
            connection,
            "mail_outbox",
            MailStatus::ALL.iter().map(|s| s.as_str()),
        )?,
        firings_today: today("")?,
        stopped_today: today(FiringStatus::Stopped.as_str())?,
        failed_mail,
        retrying_mail,
        retrying_mail_count,
        oldest_undelivered_mail: super::outbox::oldest_undelivered(connection)?,
        skipped_someone,
        webhooks: counts_by_status(
            connection,
            "webhook_outbox",
            WebhookStatus::ALL.iter().map(|s| s.as_str()),
        )?,
        failed_webhooks,
        notion_webhooks: super::events::webhook_requests(connection)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{AT, SOURCE, mirror, with_source};
    use super::*;

    #[tokio::test]
    async fn a_run_left_running_by_a_crash_is_interrupted_and_a_good_one_dates_the_sync() {
        let (_dir, store) = mirror();
        with_source(&store).await;
        let crashed = store
            .start_run(SOURCE.into(), SyncKind::Incremental, AT.into())
            .await
            .unwrap();
        let run = store
            .start_run(SOURCE.into(), SyncKind::Full, AT.into())
            .await
            .unwrap();
        assert!(run > crashed);
        let counts = RunCounts {
            new: 3,
            ..RunCounts::default()
        };
        let done = "2026-07-10T09:31:00.000Z";
        store
            .finish_run(
                run,
                counts,
                Duration::from_millis(1500),
                None,
                done.into(),
                true,
            )
            .await
            .unwrap();
        let summary = store
            .summary("2026-07-10T00:00:00.000Z".into())
            .await
            .unwrap();
        let last = summary.last_run.unwrap();
        assert_eq!(
            (last.kind.as_str(), last.result.as_str()),
            (SyncKind::Full.as_str(), JobOutcome::Ok.as_str())
        );
        assert_eq!(last.counts.new, 3);
        assert_eq!(last.duration_ms, Some(1500));
        assert_eq!(summary.sources[0].last_sync_at.as_deref(), Some(done));
        assert_eq!(summary.sources[0].last_full_sync_at.as_deref(), Some(done));
    }

    #[tokio::test]
    async fn every_attempt_of_a_job_is_recorded_with_its_outcome() {
        let (_dir, store) = mirror();
        let first = store.job_started(JobKind::Sync, None).await.unwrap();
        store
            .job_retrying(first, Some("could not reach Notion".into()))
            .await
            .unwrap();
        let health = store.health_inputs(AT.into(), vec![None]).await.unwrap().1;
        let sync = &health[0];
        assert_eq!(sync.job, "sync");
        assert_eq!(sync.last_outcome, Some(JobOutcome::Running));
        assert_eq!(sync.last_error.as_deref(), Some("could not reach Notion"));
        let error = anyhow::anyhow!("Notion answered 500");
        store.job_finished(first, Some(&error)).await.unwrap();
        let second = store.job_started(JobKind::Sync, None).await.unwrap();
        store.job_finished(second, None).await.unwrap();
        let (_, health) = store.health_inputs(AT.into(), vec![None]).await.unwrap();
        assert_eq!(
            health.len(),
            JobKind::ALL.len(),
            "every job, attempted or not"
        );
        assert_eq!(health[0].last_outcome, Some(JobOutcome::Ok));
        assert!(health[0].last_success_at.is_some());
        let reload = health.iter().find(|h| h.job == "reload").unwrap();
        assert_eq!(reload.last_outcome, None);
        // A new attempt while one is still running: the old one was interrupted.
        let stale = store.job_started(JobKind::Outbox, None).await.unwrap();
        let fresh = store.job_started(JobKind::Outbox, None).await.unwrap();
        assert!(fresh > stale);
        let (_, health) = store.health_inputs(AT.into(), vec![None]).await.unwrap();
        let outbox = health.iter().find(|h| h.job == "outbox").unwrap();
        assert_eq!(outbox.last_outcome, Some(JobOutcome::Running));
    }

    #[tokio::test]
    async fn the_summary_has_every_status_even_at_zero() {
        let (_dir, store) = mirror();
        let summary = store.summary(AT.into()).await.unwrap();
        assert_eq!(summary.tasks, 0);
        assert_eq!(summary.actions.len(), ActionStatus::ALL.len());
        assert_eq!(summary.mail.len(), MailStatus::ALL.len());
        assert!(summary.actions.values().all(|count| *count == 0));
        assert_eq!(summary.last_run, None);
    }
}
