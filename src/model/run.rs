//! Jobs and their outcomes, as `job_runs` and `sync_runs` record them.

/// A sync stopped between transactions because tasksync is shutting down: not a failure.
#[derive(Debug, thiserror::Error)]
#[error("stopped: tasksync is shutting down (nothing is lost; the next run resumes)")]
pub struct Stopped;

/// Whether `error` is (or was caused by) a stop for the shutdown.
pub fn is_stopped(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(<dyn std::error::Error + 'static>::is::<Stopped>)
}

/// A kind of job whose attempts are recorded (`job_runs.job`): the daemon's scheduled jobs, a
/// reload (SIGHUP), and `tasksync sync`, which is recorded as a `sync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    Sync,
    Reconcile,
    Outbox,
    TimeRules,
    /// Re-reads every task: catches formula and rollup drift and deletions.
    Full,
    /// Writes the flow report beside the mirror (`schedule.report`).
    Report,
    Reload,
    /// Webhook deliveries, in the daemon a task of their own beside the job loop.
    Webhooks,
}

impl JobKind {
    /// Every kind, in the order `status` reports them.
    pub const ALL: [JobKind; 8] = [
        Self::Sync,
        Self::Reconcile,
        Self::Outbox,
        Self::TimeRules,
        Self::Full,
        Self::Report,
        Self::Reload,
        Self::Webhooks,
    ];

    /// Whether its attempts are recorded per source (`job_runs.source`): the work on one data
    /// source's tasks. Mail, webhooks and reloads are the process's.
    pub fn per_source(self) -> bool {
        matches!(
            self,
            Self::Sync | Self::Reconcile | Self::TimeRules | Self::Full | Self::Report
        )
    }

    /// The job's name in `job_runs`, `status` and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Reconcile => "reconcile",
            Self::Outbox => "outbox",
            Self::TimeRules => "time_rules",
            Self::Full => "full",
            Self::Report => "report",
            Self::Reload => "reload",
            Self::Webhooks => "webhooks",
        }
    }
}

/// How an attempt of a job ended (`job_runs.outcome`, `sync_runs.result`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    Running,
    Ok,
    Failed,
    /// Stopped by a shutdown: not a failure.
    Interrupted,
}

impl JobOutcome {
    /// The outcome of an attempt that ended with `error` (or none).
    pub fn of(error: Option<&anyhow::Error>) -> Self {
        match error {
            None => Self::Ok,
            Some(error) if is_stopped(error) => Self::Interrupted,
            Some(_) => Self::Failed,
        }
    }

    /// The outcome a stored text names, if any.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Running, Self::Ok, Self::Failed, Self::Interrupted]
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }
}

/// What the webhook listener made of a request (`notion_webhook_requests.outcome`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InboundOutcome {
    /// A signed event seen for the first time: it started a sync.
    Accepted,
    /// A signed event whose id was seen before: nothing done again.
    Duplicate,
    /// A bad or missing signature, or no token to verify with: 401, nothing done.
    Rejected,
    /// Notion's verification request: its token was kept.
    Verification,
}

impl InboundOutcome {
    pub const ALL: [Self; 4] = [
        Self::Accepted,
        Self::Duplicate,
        Self::Rejected,
        Self::Verification,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Duplicate => "duplicate",
            Self::Rejected => "rejected",
            Self::Verification => "verification",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
    }
}

/// Whether a sync read every task or only the edited ones (`sync_runs.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncKind {
    Full,
    Incremental,
}

impl SyncKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Incremental => "incremental",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_tell_a_shutdown_from_a_failure() {
        assert_eq!(JobOutcome::of(None), JobOutcome::Ok);
        let stopped = anyhow::Error::new(Stopped).context("while syncing");
        assert_eq!(JobOutcome::of(Some(&stopped)), JobOutcome::Interrupted);
        let failed = anyhow::anyhow!("Notion answered 500");
        assert_eq!(JobOutcome::of(Some(&failed)), JobOutcome::Failed);
    }

    #[test]
    fn names_are_the_stored_texts() {
        let names: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "sync",
                "reconcile",
                "outbox",
                "time_rules",
                "full",
                "report",
                "reload",
                "webhooks"
            ]
        );
        assert_eq!(SyncKind::Full.as_str(), "full");
    }
}
