//! The listener for Notion's integration webhooks: `POST /notion/webhook`, behind the user's
//! HTTPS reverse proxy. The only code that answers requests from outside.
//!
//! A webhook is a hint, never data: a signed event seen for the first time marks the source it
//! concerns as wanting a sync ([`Hints`]); the daemon's job loop runs it after the debounce,
//! like any other job. Polling stays the source of truth, so a lost event costs latency only.
//!
//! - Notion's verification request (`{"verification_token": ...}`, unsigned) is answered 200 and
//!   its token kept beside the mirror (mode 0600), for `tasksync webhook token` to print; a
//!   token already kept (or `NOTION_WEBHOOK_TOKEN`) is never replaced by a request.
//! - Every other request must carry `X-Notion-Signature: sha256=<hex HMAC-SHA256 of the raw
//!   body>` with that token (compared in constant time): else 401, logged without the body.
//! - Bodies over [`MAX_BODY`] are 413; other methods 405; other paths 404.
//! - Events are deduplicated by id in the mirror (`notion_events`): a redelivery or a replay
//!   starts nothing twice.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use secrecy::{ExposeSecret, SecretString};

use crate::model::run::InboundOutcome;
use crate::notion::events::{self, Inbound};
use crate::store::Store;

/// The endpoint's path.
pub const PATH: &str = "/notion/webhook";
/// The largest body read: Notion's events are a few kilobytes.
pub const MAX_BODY: usize = 256 * 1024;
/// The environment variable that may hold the verification token instead of the file.
pub const TOKEN_VARIABLE: &str = "NOTION_WEBHOOK_TOKEN";

/// The file beside the mirror that keeps the verification token.
pub fn token_file(mirror: &Path) -> PathBuf {
    let mut name = mirror.file_name().unwrap_or_default().to_os_string();
    name.push(".notion-webhook-token");
    mirror.with_file_name(name)
}

/// Where the verification token comes from: `NOTION_WEBHOOK_TOKEN`, else the file.
pub struct TokenStore {
    file: PathBuf,
    from_environment: Option<SecretString>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenStore")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl TokenStore {
    /// The token of the mirror at `mirror`, with the environment's variable read now.
    pub fn new(mirror: &Path) -> Self {
        let from_environment = std::env::var(TOKEN_VARIABLE)
            .ok()
            .map(|token| token.trim().to_string())
            .filter(|token| !token.is_empty())
            .map(SecretString::from);
        Self {
            file: token_file(mirror),
            from_environment,
        }
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Whether the token comes from `NOTION_WEBHOOK_TOKEN`.
    pub fn is_from_environment(&self) -> bool {
        self.from_environment.is_some()
    }

    /// The token signatures are verified with, if there is one yet.
    pub fn current(&self) -> Option<SecretString> {
        if let Some(token) = &self.from_environment {
            return Some(token.clone());
        }
        let text = std::fs::read_to_string(&self.file).ok()?;
        let token = text.trim();
        (!token.is_empty()).then(|| SecretString::from(token.to_string()))
    }

    /// Keeps the token of a verification request, unless one is kept already (or comes from the
    /// environment): `Ok(false)` then. Written readable by its owner only.
    pub fn keep(&self, token: &str) -> std::io::Result<bool> {
        if self.current().is_some() {
            return Ok(false);
        }
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = match options.open(&self.file) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
            Err(error) => return Err(error),
        };
        file.write_all(token.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        Ok(true)
    }
}

/// What the sources want after the events seen since the last run: syncs, and schema reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// By index in the daemon's sources.
    pub sync: BTreeSet<usize>,
    pub schema: BTreeSet<usize>,
}

impl Wanted {
    pub fn is_empty(&self) -> bool {
        self.sync.is_empty() && self.schema.is_empty()
    }
}

/// The hand-over between the listener and the job loop: events add to what is wanted and wake
/// the loop; the loop takes it all when it runs.
#[derive(Debug, Default)]
pub struct Hints {
    wanted: Mutex<Wanted>,
    notify: tokio::sync::Notify,
}

impl Hints {
    fn add(&self, sources: &[usize], schema: bool) {
        {
            let mut wanted = self
                .wanted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            wanted.sync.extend(sources);
            if schema {
                wanted.schema.extend(sources);
            }
        }
        self.notify.notify_one();
    }

    /// Waits until an event wants something.
    pub async fn arrived(&self) {
        self.notify.notified().await;
    }

    /// Everything wanted since the last take.
    pub fn take(&self) -> Wanted {
        std::mem::take(
            &mut *self
                .wanted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// A source as events name it: its data source and its database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceIds {
    pub data_source_id: String,
    pub database_id: Option<String>,
}

/// What the endpoint needs.
pub struct Listener {
    pub store: Store,
    pub token: TokenStore,
    pub sources: Vec<SourceIds>,
    pub hints: Arc<Hints>,
}

/// The router: `POST /notion/webhook`, with the body limit.
pub fn router(listener: Arc<Listener>) -> axum::Router {
    axum::Router::new()
        .route(PATH, axum::routing::post(receive))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(listener)
}

/// Which sources an event concerns: the one whose data source (or database) it names, else the
/// one holding the task it names; an event that names none of them concerns all (a sync that
/// finds nothing costs one query a source).
async fn sources_of(listener: &Listener, event: &events::Event) -> Vec<usize> {
    let normal = |id: &str| id.replace('-', "").to_ascii_lowercase();
    let named: Vec<String> = [
        event.data_source_id.as_deref(),
        event.parent_id.as_deref(),
        event.entity_id.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(normal)
    .collect();
    let by_data_source: Vec<usize> = listener
        .sources
        .iter()
        .enumerate()
        .filter(|(_, s)| named.contains(&normal(&s.data_source_id)))
        .map(|(i, _)| i)
        .collect();
    if !by_data_source.is_empty() {
        return by_data_source;
    }
    if let Some(task) = &event.entity_id
        && let Ok(Some(data_source)) = listener.store.data_source_of_task(task.clone()).await
        && let Some(index) = listener
            .sources
            .iter()
            .position(|s| normal(&s.data_source_id) == normal(&data_source))
    {
        return vec![index];
    }
    let by_database: Vec<usize> = listener
        .sources
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.database_id
                .as_deref()
                .is_some_and(|db| named.contains(&normal(db)))
        })
        .map(|(i, _)| i)
        .collect();
    if !by_database.is_empty() {
        return by_database;
    }
    (0..listener.sources.len()).collect()
}

async fn note(listener: &Listener, outcome: InboundOutcome, detail: Option<String>) {
    if let Err(error) = listener.store.note_webhook_request(outcome, detail).await {
        tracing::error!(error = %format!("{error:#}"), "cannot note a webhook request");
    }
}

async fn receive(
    State(listener): State<Arc<Listener>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let signature = headers
        .get(events::SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    let token = listener.token.current();
    let verified = token
        .as_ref()
        .is_some_and(|token| events::verify(token.expose_secret(), &body, signature));
    if !verified {
        // The one unsigned request Notion sends: the verification, while no token is kept.
        if signature.is_none()
            && let Ok(Inbound::Verification { token: offered }) = events::parse(&body)
        {
            return match listener.token.keep(&offered) {
                Ok(true) => {
                    tracing::warn!(
                        file = %listener.token.file().display(),
                        "Notion sent the webhook verification token: run `tasksync webhook token` and paste it into the subscription's Verify dialog"
                    );
                    note(&listener, InboundOutcome::Verification, None).await;
                    StatusCode::OK
                }
                Ok(false) => {
                    tracing::warn!(
                        file = %listener.token.file().display(),
                        "a verification request arrived, but a token is kept already (or NOTION_WEBHOOK_TOKEN is set): it was not replaced; delete the file to accept a new subscription's token"
                    );
                    note(
                        &listener,
                        InboundOutcome::Rejected,
                        Some("a verification request while a token is kept".into()),
                    )
                    .await;
                    StatusCode::CONFLICT
                }
                Err(error) => {
                    tracing::error!(file = %listener.token.file().display(), %error, "cannot keep the webhook verification token");
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            };
        }
        let why = match (&token, signature) {
            (None, _) => {
                "no verification token yet (Notion's verification request has not arrived, and NOTION_WEBHOOK_TOKEN is not set)"
            }
            (Some(_), None) => "no X-Notion-Signature header",
            (Some(_), Some(_)) => "the signature does not match the body",
        };
        tracing::warn!(
            reason = why,
            bytes = body.len(),
            "webhook request refused (401)"
        );
        note(&listener, InboundOutcome::Rejected, Some(why.into())).await;
        return StatusCode::UNAUTHORIZED;
    }
    let event = match events::parse(&body) {
        Ok(Inbound::Event(event)) => event,
        Ok(Inbound::Verification { .. }) => return StatusCode::OK,
        Err(why) => {
            tracing::warn!(reason = %why, "a signed webhook request that is not an event; ignored");
            return StatusCode::BAD_REQUEST;
        }
    };
    match listener
        .store
        .record_event(
            event.id.clone(),
            event.kind.clone(),
            event.entity_id.clone(),
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(event = %event.id, kind = %event.kind, "event seen before: nothing to do again");
            note(
                &listener,
                InboundOutcome::Duplicate,
                Some(event.kind.clone()),
            )
            .await;
            return StatusCode::OK;
        }
        Err(error) => {
            // Not recorded, so not acted on: Notion delivers again after an error answer.
            tracing::error!(error = %format!("{error:#}"), "cannot record a Notion event");
            return StatusCode::SERVICE_UNAVAILABLE;
        }
    }
    let sources = sources_of(&listener, &event).await;
    tracing::info!(event = %event.id, kind = %event.kind, ?sources, "Notion event: a sync is due");
    listener.hints.add(&sources, event.changes_schema());
    note(&listener, InboundOutcome::Accepted, Some(event.kind)).await;
    StatusCode::OK
}

#[cfg(test)]
mod tests;
