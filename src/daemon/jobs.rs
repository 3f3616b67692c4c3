//! The daemon's jobs besides the sync: time rules, the outbox, the flow report.

use chrono::Utc;

use super::{Context, SourceContext};
use crate::actions::perform_queued;
use crate::notify::flush;

/// Delivers the webhooks that are due each time it is woken (by the outbox job, after every
/// sync), in a task of its own: deliveries run concurrently within `hooks`' bounds, and however
/// long an endpoint takes to answer, the job loop goes on syncing. Each flush is recorded as a
/// `webhooks` job.
pub(super) async fn deliver_webhooks(
    store: crate::store::Store,
    sender: crate::hooks::Sender,
    wanted: std::sync::Arc<tokio::sync::Notify>,
) {
    loop {
        wanted.notified().await;
        let recorded = store
            .job_started(crate::model::run::JobKind::Webhooks, None)
            .await;
        let flushed = crate::hooks::flush(&store, &sender, Utc::now()).await;
        match &flushed {
            Ok(report) if *report != crate::hooks::HookReport::default() => tracing::info!(
                sent = report.sent,
                failed = report.failed,
                retrying = report.retrying,
                "webhooks delivered"
            ),
            Ok(_) => {}
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "webhook deliveries failed");
            }
        }
        if let Ok(id) = recorded
            && let Err(error) = store.job_finished(id, flushed.as_ref().err()).await
        {
            tracing::error!(error = %format!("{error:#}"), "cannot record the webhook deliveries");
        }
    }
}

/// How far back the scheduled report looks.
const REPORT_WINDOW_DAYS: i64 = 90;

pub(super) async fn time_rules(
    context: &Context,
    source: &SourceContext,
) -> anyhow::Result<String> {
    let (fired, firings) = crate::sync::time_rules(
        &context.client,
        &context.store,
        &source.source,
        &source.rules,
        Utc::now(),
    )
    .await?;
    super::log::firings(&firings, fired);
    let actions = perform_queued(&context.client, &context.store, context.action_attempts).await?;
    Ok(format!(
        "time rules: {fired} firing(s); {} action(s) done",
        actions.done
    ))
}

pub(super) async fn outbox(context: &Context) -> anyhow::Result<String> {
    context.deliveries.notify_one();
    let hooks = "webhooks: delivered beside the jobs";
    match &context.mailer {
        Some(mailer) => {
            let report = flush(&context.store, mailer, Utc::now()).await?;
            Ok(format!(
                "mail: {} sent, {} failed, {} to retry; {hooks}",
                report.sent, report.failed, report.retrying
            ))
        }
        None => Ok(format!("mail: no SMTP_URL; {hooks}")),
    }
}

/// Writes the flow report of `source` into the report directory: `report.html`, or
/// `report-NAME.html` when the daemon follows several sources. From the mirror alone.
pub(super) async fn report(context: &Context, source: &SourceContext) -> anyhow::Result<String> {
    let file = match &source.name {
        Some(name) if context.sources.len() > 1 => format!("report-{name}.html"),
        _ => "report.html".to_string(),
    };
    let out = context.report_dir.join(file);
    let written = crate::report::build::write_report(
        &context.store,
        &source.source.id.to_string(),
        source.label(),
        chrono::Duration::days(REPORT_WINDOW_DAYS),
        Utc::now(),
        &out,
    )
    .await?;
    let summary = format!(
        "report: {} tasks, {} done since {}; written to {}",
        written.tasks,
        written.done,
        written.since,
        out.display()
    );
    tracing::info!("{summary}");
    Ok(summary)
}
