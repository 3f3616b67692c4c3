//! The listener for Notion's integration webhooks: `POST /notion/webhook`, behind the user's
//! HTTPS reverse proxy. The only code that answers requests from outside.
//!
//! A webhook is a hint, never data: a signed event seen for the first time marks the source it
//! concerns as wanting a sync ([`Hints`]); the daemon's job loop runs it after the debounce,
//! like any other job. Polling stays the source of truth, so a lost event costs latency only.
//!
//! - Notion's verification request (`{"verification_token": ...}`, unsigned) is accepted only
//!   inside a window the operator opens (`tasksync webhook verify`, a file beside the mirror
//!   holding when it closes): else 403, so whoever reaches the endpoint first cannot plant a
//!   token. Its token, checked against Notion's form, is kept beside the mirror (mode 0600) for
//!   `tasksync webhook token` to print, and the window closes; a token already kept (or
//!   `NOTION_WEBHOOK_TOKEN`) is never replaced by a request (409).
//! - Every other request must carry `X-Notion-Signature: sha256=<hex HMAC-SHA256 of the raw
//!   body>` with that token (compared in constant time): else 401.
//! - Bounded: a body announced over [`MAX_BODY`] is 413 before it is read (and one that grows
//!   past it), headers must arrive within [`HEADER_TIMEOUT`] and the body within
//!   [`BODY_TIMEOUT`] (408), at most [`MAX_CONNECTIONS`] connections are served at once (more
//!   are closed at once); other methods 405, other paths 404.
//! - Refused requests are counted in memory: the first of a minute is logged and noted in the
//!   mirror, the rest in one summary line (and one note) a minute, with the busiest clients.
//! - Events are deduplicated by id in the mirror (`notion_events`, a week and 20,000 ids at
//!   most): a redelivery or a replay starts nothing twice.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
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
/// How long a client may take to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's body, once its headers are in.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; a connection beyond them is closed at once.
pub const MAX_CONNECTIONS: usize = 64;
/// The longest verification token kept (Notion's are tens of characters).
const MAX_TOKEN: usize = 256;

/// The file beside the mirror that keeps the verification token.
pub fn token_file(mirror: &Path) -> PathBuf {
    beside(mirror, ".notion-webhook-token")
}

/// The file beside the mirror that holds when the verification window closes.
pub fn window_file(mirror: &Path) -> PathBuf {
    beside(mirror, ".notion-webhook-verify")
}

fn beside(mirror: &Path, suffix: &str) -> PathBuf {
    let mut name = mirror.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    mirror.with_file_name(name)
}

/// Whether `token` has the form of Notion's verification tokens: letters, digits, `_` and `-`,
/// at most [`MAX_TOKEN`] of them. Nothing else is kept (nor printed by `webhook token`).
pub fn valid_token(token: &str) -> bool {
    (1..=MAX_TOKEN).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Where the verification token comes from: `NOTION_WEBHOOK_TOKEN`, else the file; and the
/// window in which a verification request is accepted.
pub struct TokenStore {
    file: PathBuf,
    window: PathBuf,
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
            window: window_file(mirror),
            from_environment,
        }
    }

    /// Accepts Notion's verification request until `until` (written aside, then renamed).
    pub fn open_window(&self, until: DateTime<Utc>) -> std::io::Result<()> {
        use std::io::Write;
        let aside = beside(&self.window, ".new");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&aside)?;
        writeln!(file, "{}", crate::model::time::iso(until))?;
        file.sync_all()?;
        std::fs::rename(&aside, &self.window)
    }

    /// When the verification window closes, if one is open at `now`.
    pub fn window_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let text = std::fs::read_to_string(&self.window).ok()?;
        crate::model::time::parse_time(text.trim()).filter(|until| *until > now)
    }

    fn close_window(&self) {
        let _ = std::fs::remove_file(&self.window);
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
    pub refusals: Refusals,
}

/// The router: `POST /notion/webhook` (the body is read, bounded, by the handler).
pub fn router(listener: Arc<Listener>) -> axum::Router {
    axum::Router::new()
        .route(PATH, axum::routing::post(receive))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(listener)
}

/// Serves `router` on `tcp` until the task is dropped: HTTP/1 with a deadline for each request's
/// headers, at most [`MAX_CONNECTIONS`] at once (a connection beyond them is closed at once), the
/// peer's address handed to the handler. Refusals are summed up once a minute.
pub async fn serve(tcp: tokio::net::TcpListener, listener: Arc<Listener>) {
    let router = router(listener.clone());
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut minute = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(60),
        Duration::from_secs(60),
    );
    minute.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = tcp.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, most often: wait a little rather than spin.
                    tracing::warn!(%error, "the webhook listener cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = minute.tick() => {
                summarise_refusals(&listener).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Closed at once; counted, and logged like any refusal (the first of a minute).
            drop(stream);
            refuse(
                &listener,
                peer,
                StatusCode::SERVICE_UNAVAILABLE,
                "too many connections at once",
            )
            .await;
            continue;
        };
        let service = hyper::service::service_fn({
            let router = router.clone();
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                tower::ServiceExt::oneshot(router.clone(), request.map(Body::new))
            }
        });
        tokio::spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "a webhook connection ended with an error");
            }
        });
    }
}

/// Refused requests, counted in memory: a flood costs neither a database write nor a log line
/// per request.
#[derive(Debug, Default)]
pub struct Refusals {
    counts: Mutex<RefusalCounts>,
}

#[derive(Debug, Default)]
struct RefusalCounts {
    /// Refused since the last summary, the first of them included.
    refused: u64,
    /// By client (at most [`CLIENTS_COUNTED`] of them).
    by_client: HashMap<IpAddr, u64>,
    last_reason: String,
    /// The first of this minute was logged.
    logged: bool,
}

/// Clients counted by name in a minute's summary; more are counted in the total only.
const CLIENTS_COUNTED: usize = 1024;

impl Refusals {
    /// Counts a refused request; `true` when it is the first since the last summary (log it).
    pub fn refused(&self, client: IpAddr, why: &str) -> bool {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.refused += 1;
        if counts.by_client.len() < CLIENTS_COUNTED || counts.by_client.contains_key(&client) {
            *counts.by_client.entry(client).or_default() += 1;
        }
        if counts.last_reason != why {
            counts.last_reason = why.to_string();
        }
        !std::mem::replace(&mut counts.logged, true)
    }

    /// The requests refused since the last summary beyond the first (which was logged), the
    /// busiest clients and the last reason; the counts start again.
    fn take(&self) -> Option<(u64, String, String)> {
        let counts = std::mem::take(
            &mut *self
                .counts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let more = counts.refused.saturating_sub(1);
        if more == 0 {
            return None;
        }
        let mut clients: Vec<(IpAddr, u64)> = counts.by_client.into_iter().collect();
        clients.sort_by_key(|client| std::cmp::Reverse(client.1));
        let busiest: Vec<String> = clients
            .iter()
            .take(3)
            .map(|(client, n)| format!("{client} ({n})"))
            .collect();
        Some((more, busiest.join(", "), counts.last_reason))
    }
}

/// Logs and notes in the mirror the refusals of the last minute beyond its first, in one line.
async fn summarise_refusals(listener: &Listener) {
    let Some((more, busiest, reason)) = listener.refusals.take() else {
        return;
    };
    tracing::warn!(
        refused = more,
        clients = %busiest,
        "{more} more webhook request(s) refused in the last minute (busiest clients: {busiest}; last reason: {reason})"
    );
    if let Err(error) = listener
        .store
        .note_webhook_requests(InboundOutcome::Rejected, Some(reason), more)
        .await
    {
        tracing::error!(error = %format!("{error:#}"), "cannot note the refused webhook requests");
    }
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

/// Notion's verification request: its token kept when the operator opened the window and no
/// token is kept yet.
async fn verification(
    listener: &Listener,
    peer: SocketAddr,
    kept: bool,
    offered: &str,
) -> StatusCode {
    if kept {
        return refuse(
            listener,
            peer,
            StatusCode::CONFLICT,
            "a verification request while a token is kept (or NOTION_WEBHOOK_TOKEN is set): not replaced; delete the token file and run `tasksync webhook verify` to accept a new subscription's",
        )
        .await;
    }
    if listener.token.window_until(Utc::now()).is_none() {
        return refuse(
            listener,
            peer,
            StatusCode::FORBIDDEN,
            "a verification request while no verification window is open: run `tasksync webhook verify` first, then create the subscription (or press Resend) in Notion",
        )
        .await;
    }
    if !valid_token(offered) {
        return refuse(
            listener,
            peer,
            StatusCode::BAD_REQUEST,
            "a verification token that is not of Notion's form (letters, digits, _ and -, at most 256)",
        )
        .await;
    }
    match listener.token.keep(offered) {
        Ok(true) => {
            listener.token.close_window();
            tracing::warn!(
                file = %listener.token.file().display(),
                client = %peer.ip(),
                "Notion sent the webhook verification token: run `tasksync webhook token` and paste it into the subscription's Verify dialog"
            );
            note(listener, InboundOutcome::Verification, None).await;
            StatusCode::OK
        }
        Ok(false) => {
            refuse(
                listener,
                peer,
                StatusCode::CONFLICT,
                "a verification request while a token is kept: not replaced",
            )
            .await
        }
        Err(error) => {
            tracing::error!(file = %listener.token.file().display(), %error, "cannot keep the webhook verification token");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

async fn note(listener: &Listener, outcome: InboundOutcome, detail: Option<String>) {
    if let Err(error) = listener.store.note_webhook_request(outcome, detail).await {
        tracing::error!(error = %format!("{error:#}"), "cannot note a webhook request");
    }
}

/// Refuses a request with `status`: counted, and logged (with the client) and noted in the
/// mirror only when it is the first since the last summary.
async fn refuse(
    listener: &Listener,
    peer: SocketAddr,
    status: StatusCode,
    why: &str,
) -> StatusCode {
    if listener.refusals.refused(peer.ip(), why) {
        tracing::warn!(
            client = %peer.ip(),
            reason = why,
            "webhook request refused ({}): {why}; more refusals this minute are summed up in one line",
            status.as_u16()
        );
        note(listener, InboundOutcome::Rejected, Some(why.to_string())).await;
    }
    status
}

/// The body, read within [`BODY_TIMEOUT`] and [`MAX_BODY`]: one announced larger is refused
/// before a byte of it is read.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
) -> Result<axum::body::Bytes, (StatusCode, &'static str)> {
    let announced = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_BODY as u64) {
        return Err((StatusCode::PAYLOAD_TOO_LARGE, "a body larger than 256 KiB"));
    }
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            "a body larger than 256 KiB, or cut short",
        )),
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            "the body did not arrive in time",
        )),
    }
}

async fn receive(
    State(listener): State<Arc<Listener>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> StatusCode {
    let body = match read_body(&headers, body).await {
        Ok(body) => body,
        Err((status, why)) => return refuse(&listener, peer, status, why).await,
    };
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
            return verification(&listener, peer, token.is_some(), &offered).await;
        }
        let why = match (&token, signature) {
            (None, _) => {
                "no verification token yet (Notion's verification request has not arrived, and NOTION_WEBHOOK_TOKEN is not set)"
            }
            (Some(_), None) => "no X-Notion-Signature header",
            (Some(_), Some(_)) => "the signature does not match the body",
        };
        return refuse(&listener, peer, StatusCode::UNAUTHORIZED, why).await;
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
    tracing::info!(event = %event.id, kind = %event.kind, "Notion event {} ({}): a sync is due", event.id, event.kind);
    listener.hints.add(&sources, event.changes_schema());
    note(&listener, InboundOutcome::Accepted, Some(event.kind)).await;
    StatusCode::OK
}

#[cfg(test)]
mod tests;
