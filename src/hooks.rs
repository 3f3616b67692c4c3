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
/// How long connecting to an endpoint may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most of an endpoint's answer kept with a failure.
const MAX_ANSWER_CHARS: usize = 300;
/// Most of a failed answer's body read: the rest is never downloaded (the connection is
/// dropped), whatever size the endpoint sends.
const MAX_ANSWER_BYTES: usize = 4096;
/// Deliveries in flight at once, in all and to one endpoint (its host, or its URL's variable).
pub const CONCURRENT: usize = 8;
pub const CONCURRENT_PER_ENDPOINT: usize = 2;

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
            .connect_timeout(CONNECT_TIMEOUT)
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
    let allowed = std::env::var(crate::model::automation::ALLOW_LINK_LOCAL_WEBHOOKS)
        .is_ok_and(|value| value.trim() == "1");
    if let Some(why) = crate::model::automation::webhook_url_problem(&url, allowed) {
        let what = match &hook.target {
            WebhookTarget::Env(name) => format!("the URL in {name}"),
            WebhookTarget::Url(_) => "the URL".to_string(),
        };
        return Attempt::Refused {
            why: format!("{what} {why}"),
            status: None,
        };
    }
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
            let why = if error.is_timeout() {
                format!(
                    "timed out after {} s (no answer from the endpoint in time)",
                    TIMEOUT.as_secs()
                )
            } else if error.is_connect() {
                format!("cannot connect: {}", error.without_url())
            } else {
                format!("the request failed: {}", error.without_url())
            };
            return Attempt::Again {
                why,
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
    let text = answer_head(response).await;
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

/// The first [`MAX_ANSWER_BYTES`] of an answer's body, as text; the rest is left unread.
async fn answer_head(mut response: reqwest::Response) -> String {
    let mut head = Vec::new();
    while head.len() < MAX_ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => head.extend_from_slice(&chunk),
            _ => break,
        }
    }
    head.truncate(MAX_ANSWER_BYTES);
    String::from_utf8_lossy(&head).into_owned()
}

/// What bounds deliveries to one endpoint: its URL's host and port, or the variable holding
/// its URL (read when sent, never here).
fn endpoint_of(target: &WebhookTarget) -> String {
    match target {
        WebhookTarget::Url(url) => url::Url::parse(url).map_or_else(
            |_| url.clone(),
            |url| {
                format!(
                    "{}:{}",
                    url.host_str().unwrap_or(""),
                    url.port_or_known_default().unwrap_or(0)
                )
            },
        ),
        WebhookTarget::Env(name) => format!("${name}"),
    }
}

/// Sends every webhook that is due: [`CONCURRENT`] at once, at most
/// [`CONCURRENT_PER_ENDPOINT`] to one endpoint, so one slow endpoint holds back only its own.
pub async fn flush(
    store: &Store,
    sender: &Sender,
    now: DateTime<Utc>,
) -> anyhow::Result<HookReport> {
    use futures_util::StreamExt;
    let due = store.due_webhooks(iso(now), 1000).await?;
    let mut endpoints: std::collections::HashMap<String, std::sync::Arc<tokio::sync::Semaphore>> =
        std::collections::HashMap::new();
    let deliveries = due.into_iter().map(|hook| {
        let endpoint = endpoints
            .entry(endpoint_of(&hook.target))
            .or_insert_with(|| {
                std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENT_PER_ENDPOINT))
            })
            .clone();
        async move {
            let _turn = endpoint.acquire_owned().await;
            deliver(store, sender, hook, now).await
        }
    });
    let outcomes: Vec<anyhow::Result<WebhookStatus>> = futures_util::stream::iter(deliveries)
        .buffer_unordered(CONCURRENT)
        .collect()
        .await;
    let mut report = HookReport::default();
    for outcome in outcomes {
        match outcome? {
            WebhookStatus::Sent => report.sent += 1,
            WebhookStatus::Queued => report.retrying += 1,
            _ => report.failed += 1,
        }
    }
    Ok(report)
}

/// One delivery: marked sending, attempted, its outcome recorded; the status it ends in.
async fn deliver(
    store: &Store,
    sender: &Sender,
    hook: OutboxWebhook,
    now: DateTime<Utc>,
) -> anyhow::Result<WebhookStatus> {
    store.start_webhook(hook.id).await?;
    crate::failpoint::pause("webhook-before-send", 0);
    let attempts = hook.attempts + 1;
    let outcome = attempt(sender, &hook, now).await;
    crate::failpoint::pause("webhook-answered", 0);
    let (status, note, response_status, next) = match outcome {
        Attempt::Sent(code) => {
            tracing::info!(webhook = hook.id, target = %hook.target, status = code, "webhook sent");
            (WebhookStatus::Sent, None, Some(code), None)
        }
        Attempt::Again { why, status, after } if attempts < MAX_ATTEMPTS => {
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
    Ok(status)
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

    /// An endpoint on loopback that answers 400 with a body of `size` bytes, counting what it
    /// managed to write before the client went away.
    async fn endpoint_answering(size: usize) -> (String, tokio::task::JoinHandle<usize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let served = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = vec![0; 4096];
            let _ = stream.read(&mut request).await;
            let head = format!("HTTP/1.1 400 Bad Request\r\nContent-Length: {size}\r\n\r\n");
            stream.write_all(head.as_bytes()).await.unwrap();
            let chunk = vec![b'x'; 64 * 1024];
            let mut written = 0;
            while written < size {
                match stream.write(&chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => written += n,
                }
            }
            written
        });
        (url, served)
    }

    #[tokio::test]
    async fn a_huge_error_body_is_read_only_as_far_as_it_is_kept() {
        let (url, served) = endpoint_answering(300 * 1024 * 1024).await;
        let hook = OutboxWebhook {
            id: 1,
            idempotency_key: "k".into(),
            target: WebhookTarget::Url(url),
            content_type: "application/json".into(),
            body: "{}".into(),
            attempts: 0,
        };
        let outcome = attempt(&Sender::new().unwrap(), &hook, Utc::now()).await;
        let Attempt::Refused { why, status } = outcome else {
            panic!("a 400 fails the webhook");
        };
        assert_eq!(status, Some(400));
        assert_eq!(why, format!("HTTP 400: {}", "x".repeat(MAX_ANSWER_CHARS)));
        // The connection was dropped after the first few kilobytes: what the endpoint got out
        // is what the socket buffers held, never the 300 MB.
        let written = served.await.unwrap();
        assert!(written < 16 * 1024 * 1024, "{written} bytes were taken");
    }
}
