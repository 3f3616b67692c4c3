//! What the daemon says to a person reading its log: one line at the start saying what it runs,
//! one line per rule firing naming rule, task and actions. Plain words in the message, no Rust
//! `Debug` shapes; the fields repeat them for journald and `--log-format json`.

use super::{Context, Job, SourceContext};
use crate::sync::FiringReport;

/// The start line: sources with their rules, schedules, outbox and listener.
/// `verb`: "started", or "reloaded" after SIGHUP.
pub(super) fn started(context: &Context, verb: &str, listening: Option<std::net::SocketAddr>) {
    let sources: Vec<String> = context.sources.iter().map(source_text).collect();
    let mut schedules: Vec<String> = super::JOBS
        .iter()
        .map(|job| format!("{} {}", job, context.schedules[*job as usize]))
        .collect();
    if let Some(report) = &context.report_schedule {
        schedules.push(format!("{} {report}", Job::Report));
    }
    let mail = match &context.mailer {
        Some(mailer) => format!("mail through {}", mailer.target),
        None => "mail waits in the outbox (no SMTP_URL)".to_string(),
    };
    let listener = match listening {
        Some(address) => format!(
            "; Notion's webhooks on http://{address}{}",
            crate::listen::PATH
        ),
        None => String::new(),
    };
    let text = format!(
        "tasksync daemon {verb}: {}; {}; {mail}{listener}",
        sources.join(", "),
        schedules.join(", ")
    );
    tracing::info!("{text}");
}

fn source_text(source: &SourceContext) -> String {
    let suspended = match source.rules.suspended.len() {
        0 => String::new(),
        n => format!(", {n} suspended"),
    };
    format!(
        "source \"{}\" with {} rule(s){suspended}",
        source.label(),
        source.rules.rules.len()
    )
}

/// What a sync changed (silent when nothing did), then its firings.
pub(super) fn synced(source: &str, report: &crate::sync::SyncReport) {
    if report.new + report.changed + report.deleted > 0 {
        tracing::info!(
            "source \"{source}\" synced: {} new, {} changed, {} deleted",
            report.new,
            report.changed,
            report.deleted
        );
    }
    firings(&report.firings, report.fired + report.stopped);
}

/// One line per firing (of `total`, the first thousand listed): rule, task, and what it does
/// (or why it did nothing).
pub(super) fn firings(firings: &[FiringReport], total: u64) {
    for firing in firings {
        let task = format!("{} \"{}\"", firing.task, firing.title);
        let what = match &firing.reason {
            Some(reason) => format!("{}: {reason}", firing.status),
            None => firing
                .actions
                .iter()
                .map(crate::model::automation::PlannedAction::describe)
                .collect::<Vec<_>>()
                .join("; "),
        };
        tracing::info!(
            rule = %firing.rule,
            task = %firing.task,
            "rule {} fired on {task}: {what}",
            firing.rule
        );
    }
    let unlisted = total.saturating_sub(firings.len() as u64);
    if unlisted > 0 {
        tracing::info!(
            "and {unlisted} more firing(s) (`tasksync status` and the mirror list them)"
        );
    }
}

impl std::fmt::Display for Job {
    /// As `job_runs` and `status` name it: `sync`, `time_rules`, ...
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind().as_str())
    }
}

/// Notion's webhooks made sources due: which, by name.
pub(super) fn hinted(context: &Context, wanted: &crate::listen::Wanted) {
    let names = |indexes: &std::collections::BTreeSet<usize>| {
        indexes
            .iter()
            .filter_map(|index| context.sources.get(*index))
            .map(|source| format!("\"{}\"", source.label()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let schema = match names(&wanted.schema) {
        none if none.is_empty() => String::new(),
        some => format!(" (and the schema of {some})"),
    };
    tracing::info!(
        "Notion's webhooks: syncing {} now{schema}",
        names(&wanted.sync)
    );
}
