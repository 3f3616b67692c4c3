//! The webhook outbox: `webhook_outbox`, queued in the firing's transaction, delivered with a
//! stable `Idempotency-Key`, marked `sending` before each attempt.

use rusqlite::{Connection, Transaction, params};
use serde::Serialize;

use super::Store;
use crate::model::automation::{WebhookStatus, WebhookTarget};

impl Store {
    /// Webhooks to send now: queued and due, or caught mid-send by a crash.
    pub async fn due_webhooks(
        &self,
        now: String,
        limit: usize,
    ) -> anyhow::Result<Vec<OutboxWebhook>> {
        self.call("read the webhooks due", move |c| {
            due_webhooks(c, &now, limit)
        })
        .await
    }

    /// Marks a webhook as being sent (committed before the endpoint is contacted).
    pub async fn start_webhook(&self, id: i64) -> anyhow::Result<()> {
        self.call_durable("mark a webhook sending", move |c| {
            c.execute(
                "UPDATE webhook_outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ?1",
                [id],
            )?;
            Ok(())
        })
        .await
    }

    /// Records an attempt's outcome: `sent`, `queued` again (with the next attempt time and the
    /// error) or `failed` (with the error); the HTTP status when there was an answer.
    pub async fn finish_webhook(&self, outcome: WebhookOutcome) -> anyhow::Result<()> {
        self.call("record a webhook's outcome", move |c| {
            let sent_at = (outcome.status == WebhookStatus::Sent).then_some(&outcome.at);
            c.execute(
                "UPDATE webhook_outbox SET status = ?2, last_error = ?3, response_status = ?4,
                    next_attempt_at = ?5, sent_at = coalesce(?6, sent_at) WHERE id = ?1",
                params![
                    outcome.id,
                    outcome.status.as_str(),
                    outcome.note,
                    outcome.response_status,
                    outcome.next_attempt_at,
                    sent_at
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// The webhook outbox, newest first (failed ones only, or all).
    pub async fn list_webhooks(&self, failed_only: bool) -> anyhow::Result<Vec<WebhookEntry>> {
        self.call("list the webhook outbox", move |c| {
            list_webhooks(c, failed_only)
        })
        .await
    }

    /// Queues failed webhooks again (one by id, or all); how many.
    pub async fn retry_webhooks(&self, id: Option<i64>) -> anyhow::Result<usize> {
        self.call("queue failed webhooks again", move |c| {
            Ok(c.execute(
                "UPDATE webhook_outbox SET status = 'queued', next_attempt_at = NULL WHERE status = 'failed' AND (?1 IS NULL OR id = ?1)",
                [id],
            )?)
        })
        .await
    }
}

/// A webhook of the outbox, to send.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxWebhook {
    pub id: i64,
    pub idempotency_key: String,
    pub target: WebhookTarget,
    pub content_type: String,
    pub body: String,
    pub attempts: i64,
}

/// What an attempt to send a webhook came to.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookOutcome {
    pub id: i64,
    pub status: WebhookStatus,
    pub note: Option<String>,
    pub response_status: Option<u16>,
    pub next_attempt_at: Option<String>,
    pub at: String,
}

/// A webhook as `tasksync outbox list` and `status` show it (never the URL of an environment
/// variable: only its name).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WebhookEntry {
    pub id: i64,
    pub task_id: Option<String>,
    /// The rule whose firing queued it, and the task's title: what a person asks about.
    pub rule: Option<String>,
    pub task_title: Option<String>,
    pub idempotency_key: String,
    /// `$NAME` for a URL from the environment, else the URL.
    pub target: String,
    pub status: WebhookStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub response_status: Option<u16>,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

/// A webhook to queue with its firing.
pub(super) struct NewWebhook<'a> {
    pub firing_id: i64,
    pub task_id: &'a str,
    pub key: &'a str,
    pub target: &'a WebhookTarget,
    pub content_type: &'a str,
    pub body: &'a str,
    pub now: &'a str,
}

/// Queues a webhook in the firing's transaction.
pub(super) fn queue_webhook(
    transaction: &Transaction<'_>,
    new: NewWebhook<'_>,
) -> anyhow::Result<()> {
    let NewWebhook {
        firing_id,
        task_id,
        key,
        target,
        content_type,
        body,
        now,
    } = new;
    let (url_env, url) = match target {
        WebhookTarget::Env(name) => (Some(name.as_str()), None),
        WebhookTarget::Url(url) => (None, Some(url.as_str())),
    };
    transaction
        .prepare_cached(
            "INSERT INTO webhook_outbox (firing_id, task_id, idempotency_key, url_env, url, content_type, body, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![firing_id, task_id, key, url_env, url, content_type, body, now])?;
    Ok(())
}

fn target(url_env: Option<String>, url: Option<String>) -> WebhookTarget {
    match (url_env, url) {
        (Some(name), _) => WebhookTarget::Env(name),
        (None, url) => WebhookTarget::Url(url.unwrap_or_default()),
    }
}

fn due_webhooks(
    connection: &Connection,
    now: &str,
    limit: usize,
) -> anyhow::Result<Vec<OutboxWebhook>> {
    let mut statement = connection.prepare(
        "SELECT id, idempotency_key, url_env, url, content_type, body, attempts FROM webhook_outbox
         WHERE status IN ('queued', 'sending') AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
         ORDER BY id LIMIT ?2",
    )?;
    let rows = statement
        .query_map(params![now, super::sql_integer(limit)], |row| {
            Ok(OutboxWebhook {
                id: row.get(0)?,
                idempotency_key: row.get(1)?,
                target: target(row.get(2)?, row.get(3)?),
                content_type: row.get(4)?,
                body: row.get(5)?,
                attempts: row.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub(super) fn list_webhooks(
    connection: &Connection,
    failed_only: bool,
) -> anyhow::Result<Vec<WebhookEntry>> {
    let mut statement = connection.prepare(
        "SELECT w.id, w.task_id, w.idempotency_key, w.url_env, w.url, w.status, w.attempts, w.last_error,
            w.response_status, w.next_attempt_at, w.created_at, w.sent_at, f.rule, t.title
         FROM webhook_outbox w
         LEFT JOIN rule_firings f ON f.id = w.firing_id
         LEFT JOIN tasks t ON t.id = w.task_id
         WHERE (NOT ?1 OR w.status = 'failed') ORDER BY w.id DESC",
    )?;
    let rows = statement
        .query_map([failed_only], |row| {
            Ok(WebhookEntry {
                id: row.get(0)?,
                task_id: row.get(1)?,
                idempotency_key: row.get(2)?,
                target: target(row.get(3)?, row.get(4)?).to_string(),
                status: super::stored_status(row, 5, WebhookStatus::parse)?,
                attempts: row.get(6)?,
                last_error: row.get(7)?,
                response_status: row.get(8)?,
                next_attempt_at: row.get(9)?,
                created_at: row.get(10)?,
                sent_at: row.get(11)?,
                rule: row.get(12)?,
                task_title: row.get(13)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
