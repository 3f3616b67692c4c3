//! Webhook actions: **the only code that sends requests to users' endpoints** (Slack, Discord,
//! ntfy, anything that takes an HTTP POST).
//!
//! Each webhook was queued in the firing's transaction (`webhook_outbox`). It is marked
//! `sending` before the endpoint is contacted and `sent` after a 2xx; a crash in between sends
//! it again with the same `Idempotency-Key` (derived from the firing), so an endpoint that
//! honours the header does the work once, and one that does not gets it at most once more.
//! 429, 5xx, timeouts and refused connections are tried again with backoff (at least what
//! `Retry-After` asks); any other 4xx marks it `failed` with the answer. A URL with a secret
//! is read from the environment when sent and never logged: errors name its variable.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::automation::{WebhookStatus, WebhookTarget};
use crate::model::time::iso;
use crate::store::{OutboxWebhook, Store, WebhookOutcome};

/// Attempts before a webhook is marked failed for good.
pub const MAX_ATTEMPTS: i64 = 20;
/// How long one attempt may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// Most of an endpoint's answer kept with a failure.
const MAX_ANSWER_CHARS: usize = 300;

/// What a flush of the webhook outbox did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HookReport {
    pub sent: u64,
    pub retrying: u64,
    pub failed: u64,
}

/// The HTTP client webhooks are sent with.
#[derive(Clone, Debug)]
pub struct Sender {
    client: reqwest::Client,
}

impl Sender {
    pub fn new() -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("tasksync/", env!("CARGO_PKG_VERSION")))
            // A redirect would turn the POST into a GET: an endpoint's answer is taken as given.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { client })
    }
}

/// How one attempt ended.
enum Attempt {
    Sent(u16),
    /// Try again later, no sooner than `after` when the endpoint said so.
    Again {
        why: String,
        status: Option<u16>,
        after: Option<chrono::Duration>,
    },
    Refused {
        why: String,
        status: Option<u16>,
    },
}

/// The wait before attempt `attempts + 1`: 1, 2, 4 … minutes, at most an hour.
pub fn backoff(attempts: i64) -> chrono::Duration {
    let minutes = 1_i64 << attempts.clamp(1, 7).saturating_sub(1);
    chrono::Duration::minutes(minutes.min(60))
}

/// `Retry-After` as seconds or an HTTP date, at most an hour from `now`.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<chrono::Duration> {
    let value = value.trim();
    let wait = match value.parse::<i64>() {
        Ok(seconds) => chrono::Duration::seconds(seconds.max(0)),
        Err(_) => {
            DateTime::parse_from_rfc2822(value)
                .ok()?
                .with_timezone(&Utc)
                - now
        }
    };
    Some(wait.clamp(chrono::Duration::zero(), chrono::Duration::hours(1)))
}

async fn attempt(sender: &Sender, hook: &OutboxWebhook, now: DateTime<Utc>) -> Attempt {
    let url = match &hook.target {
        WebhookTarget::Url(url) => url.clone(),
        WebhookTarget::Env(name) => match std::env::var(name) {
            Ok(url) if !url.trim().is_empty() => url,
            _ => {
                return Attempt::Again {
                    why: format!(
                        "the environment variable {name} (the webhook's URL) is not set: set it where tasksync runs (the environment, .env or the systemd EnvironmentFile)"
                    ),
                    status: None,
                    after: None,
                };
            }
        },
    };
    let answer = sender
        .client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, &hook.content_type)
        .header("Idempotency-Key", &hook.idempotency_key)
        .body(hook.body.clone())
        .send()
        .await;
    let response = match answer {
        Ok(response) => response,
        Err(error) => {
            // Never the URL: it may hold a secret.
            let why = format!("{}", error.without_url());
            return Attempt::Again {
                why: format!("the request failed: {why}"),
                status: None,
                after: None,
            };
        }
    };
    let status = response.status().as_u16();
    let after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| retry_after(value, now));
    if response.status().is_success() {
        return Attempt::Sent(status);
    }
    let text = response.text().await.unwrap_or_default();
    let snippet: String = text.trim().chars().take(MAX_ANSWER_CHARS).collect();
    let why = if snippet.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {snippet}")
    };
    if status == 429 || status >= 500 {
        Attempt::Again {
            why,
            status: Some(status),
            after,
        }
    } else {
        Attempt::Refused {
            why,
            status: Some(status),
        }
    }
}

/// Sends every webhook that is due, oldest first.
pub async fn flush(
    store: &Store,
    sender: &Sender,
    now: DateTime<Utc>,
) -> anyhow::Result<HookReport> {
    let due = store.due_webhooks(iso(now), 1000).await?;
    let mut report = HookReport::default();
    for hook in due {
        store.start_webhook(hook.id).await?;
        crate::failpoint::pause("webhook-before-send", 0);
        let attempts = hook.attempts + 1;
        let outcome = attempt(sender, &hook, now).await;
        crate::failpoint::pause("webhook-answered", 0);
        let (status, note, response_status, next) = match outcome {
            Attempt::Sent(code) => {
                report.sent += 1;
                tracing::info!(webhook = hook.id, target = %hook.target, status = code, "webhook sent");
                (WebhookStatus::Sent, None, Some(code), None)
            }
            Attempt::Again { why, status, after } if attempts < MAX_ATTEMPTS => {
                report.retrying += 1;
                let wait = after.map_or(backoff(attempts), |after| after.max(backoff(attempts)));
                tracing::warn!(webhook = hook.id, target = %hook.target, error = %why, "webhook not delivered; will retry");
                (
                    WebhookStatus::Queued,
                    Some(why),
                    status,
                    Some(iso(now + wait)),
                )
            }
            Attempt::Again { why, status, .. } | Attempt::Refused { why, status } => {
                report.failed += 1;
                tracing::warn!(webhook = hook.id, target = %hook.target, error = %why, "webhook failed");
                (WebhookStatus::Failed, Some(why), status, None)
            }
        };
        store
            .finish_webhook(WebhookOutcome {
                id: hook.id,
                status,
                note,
                response_status,
                next_attempt_at: next,
                at: iso(Utc::now()),
            })
            .await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates_and_stays_within_an_hour() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after("30", now), Some(chrono::Duration::seconds(30)));
        assert_eq!(
            retry_after("Wed, 02 Dec 2026 10:02:00 GMT", now),
            Some(chrono::Duration::minutes(2))
        );
        assert_eq!(retry_after("99999", now), Some(chrono::Duration::hours(1)));
        assert_eq!(retry_after("-5", now), Some(chrono::Duration::zero()));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(backoff(1), chrono::Duration::minutes(1));
        assert_eq!(backoff(3), chrono::Duration::minutes(4));
        assert_eq!(backoff(30), chrono::Duration::minutes(60));
    }
}
