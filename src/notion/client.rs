//! The HTTP side of the Notion client: one request loop (pacing, retries, error mapping) and the
//! endpoints tasksync uses.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::ApiVersion;
use super::blocks::{NewBlock, TextFormat, blocks_of};
use super::error::NotionError;
use super::ids::NotionId;
use super::pacing::{AttemptFailure, Decision, Pacer, RequestKind, RetryPolicy, decide};
use super::query::{Query, QueryPage};
use super::wire::{
    self, AppendPosition, WireBlock, WireDataSource, WireError, WireList, WirePage,
    WirePropertyItemPage, WireUser,
};
use crate::model::{
    Block, DataSource, DataSourceSummary, PropertyValue, PropertyWrite, Task, User,
};

/// Everything needed to build a client.
#[derive(Clone)]
pub struct ClientSettings {
    pub base_url: String,
    pub token: SecretString,
    pub api_version: ApiVersion,
    /// Average request rate; zero or less disables pacing.
    pub requests_per_second: f64,
    /// Requests allowed at once before pacing applies (default `pacing::DEFAULT_BURST`).
    pub burst: u32,
    pub retry: RetryPolicy,
    /// Client-side limit for one attempt (Notion itself gives up after 60 s).
    pub timeout: Duration,
}

impl ClientSettings {
    /// Settings with the documented defaults for a base URL and token.
    pub fn new(base_url: impl Into<String>, token: SecretString) -> Self {
        Self {
            base_url: base_url.into(),
            token,
            api_version: ApiVersion::default(),
            requests_per_second: 3.0,
            burst: super::pacing::DEFAULT_BURST,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(65),
        }
    }
}

/// A Notion API client. Cheap to clone; clones share the governor and the request counter.
#[derive(Clone)]
pub struct NotionClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    version: ApiVersion,
    pacer: Pacer,
    retry: RetryPolicy,
    requests: AtomicU64,
    /// The error a request is being retried after, until a request succeeds: what the daemon
    /// shows while a job waits out a failure (`NotionClient::retrying`).
    retrying: std::sync::Mutex<Option<String>>,
    has_retrying: std::sync::atomic::AtomicBool,
    /// The bot user behind the token, asked once per process (a token's bot never changes).
    me: tokio::sync::OnceCell<User>,
}

impl std::fmt::Debug for NotionClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotionClient")
            .field("base_url", &self.inner.base_url)
            .field("version", &self.inner.version)
            .finish_non_exhaustive()
    }
}

/// A failed request, with whether it may have been processed (appends only).
pub(super) struct RequestFailure {
    pub(super) error: NotionError,
    pub(super) ambiguous: bool,
}

impl From<RequestFailure> for NotionError {
    fn from(failure: RequestFailure) -> Self {
        failure.error
    }
}

/// One outgoing request.
pub(super) struct Call<'a> {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<&'a Value>,
    kind: RequestKind,
}

impl<'a> Call<'a> {
    fn get(path: String) -> Self {
        Self {
            method: Method::GET,
            path,
            query: Vec::new(),
            body: None,
            kind: RequestKind::Read,
        }
    }

    pub(super) fn with_body(
        method: Method,
        path: String,
        body: &'a Value,
        kind: RequestKind,
    ) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: Some(body),
            kind,
        }
    }
}

mod discover;

impl NotionClient {
    /// Builds a client; the token goes into a header marked sensitive and nowhere else.
    pub fn new(settings: ClientSettings) -> anyhow::Result<Self> {
        let mut headers = HeaderMap::new();
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", settings.token.expose_secret()))
            .map_err(|_| {
                anyhow::anyhow!(
                    "NOTION_TOKEN contains characters that cannot be sent in an HTTP header"
                )
            })?;
        auth.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, auth);
        headers.insert(
            "Notion-Version",
            HeaderValue::from_static(settings.api_version.as_str()),
        );
        // One attempt never outlasts the whole deadline of a command a person waits for.
        let attempt_timeout = settings
            .retry
            .deadline
            .map_or(settings.timeout, |deadline| settings.timeout.min(deadline));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("tasksync/", env!("CARGO_PKG_VERSION")))
            .timeout(attempt_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base_url: settings.base_url.trim_end_matches('/').to_string(),
                version: settings.api_version,
                pacer: Pacer::new(settings.requests_per_second, settings.burst),
                retry: settings.retry,
                requests: AtomicU64::new(0),
                retrying: std::sync::Mutex::new(None),
                has_retrying: std::sync::atomic::AtomicBool::new(false),
                me: tokio::sync::OnceCell::new(),
            }),
        })
    }

    /// The API version this client sends.
    pub fn api_version(&self) -> ApiVersion {
        self.inner.version
    }

    /// Attempts sent so far by this client and its clones (retries included).
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// The bot user behind the token: a cheap token check, and the author of our own edits.
    /// Asked of Notion once per process (and its clones); a failure is asked again.
    pub async fn me(&self) -> Result<User, NotionError> {
        self.inner
            .me
            .get_or_try_init(|| async {
                let user: WireUser = self.send(Call::get("/v1/users/me".into())).await?;
                Ok(user.into())
            })
            .await
            .cloned()
    }

    /// The workspace's users (people and bots; guests are not listed), page by page
    /// (reference/get-users). `None` when the integration may not read user information (403):
    /// people are then shown by id.
    pub async fn list_users(&self) -> Result<Option<Vec<User>>, NotionError> {
        match self.list_all::<WireUser>("/v1/users".into()).await {
            Ok(users) => Ok(Some(users.into_iter().map(User::from).collect())),
            Err(failure) if failure.error.status() == Some(403) => Ok(None),
            Err(failure) => Err(failure.error),
        }
    }

    /// Every item of a paginated GET list (100 a page).
    async fn list_all<T: DeserializeOwned>(&self, path: String) -> Result<Vec<T>, RequestFailure> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut call = Call::get(path.clone());
            call.query.push(("page_size", "100".into()));
            if let Some(cursor) = &cursor {
                call.query.push(("start_cursor", cursor.clone()));
            }
            let page: WireList<T> = self.send(call).await?;
            items.extend(page.results);
            match next_cursor(&path, cursor.as_deref(), page.next_cursor, page.has_more) {
                Ok(Some(next)) => cursor = Some(next),
                Ok(None) => return Ok(items),
                Err(error) => {
                    return Err(RequestFailure {
                        error,
                        ambiguous: false,
                    });
                }
            }
        }
    }

    /// A data source with its property schema.
    pub async fn retrieve_data_source(&self, id: &NotionId) -> Result<DataSource, NotionError> {
        let path = format!("/v1/data_sources/{id}");
        let source: WireDataSource = self.send(Call::get(path.clone())).await?;
        source
            .into_data_source()
            .map_err(|detail| decode_error(&path, detail))
    }

    /// The data sources the token can see, across all databases shared with the integration.
    pub async fn search_data_sources(&self) -> Result<Vec<DataSourceSummary>, NotionError> {
        let mut found = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let body = wire::search_data_sources_body(cursor.as_deref());
            let call = Call::with_body(Method::POST, "/v1/search".into(), &body, RequestKind::Read);
            let page: WireList<WireDataSource> = self.send(call).await?;
            for source in page.results {
                found.push(
                    source
                        .into_summary()
                        .map_err(|d| decode_error("/v1/search", d))?,
                );
            }
            match next_cursor(
                "/v1/search",
                cursor.as_deref(),
                page.next_cursor,
                page.has_more,
            )? {
                Some(next) => cursor = Some(next),
                None => return Ok(found),
            }
        }
    }

    /// One page (up to 100 tasks) of a data source query.
    pub async fn query_page(
        &self,
        data_source: &NotionId,
        query: &Query,
        start_cursor: Option<&str>,
    ) -> Result<QueryPage, NotionError> {
        let mut body = json!({ "page_size": 100 });
        if let Some(filter) = &query.filter {
            body["filter"] = wire::filter_json(filter);
        }
        if !query.sorts.is_empty() {
            body["sorts"] = wire::sorts_json(&query.sorts);
        }
        if let Some(cursor) = start_cursor {
            body["start_cursor"] = json!(cursor);
        }
        let path = format!("/v1/data_sources/{data_source}/query");
        let mut call = Call::with_body(Method::POST, path.clone(), &body, RequestKind::Read);
        call.query = query
            .filter_properties
            .iter()
            .map(|property| ("filter_properties", property.clone()))
            .collect();
        // Decoded from the body as it is read: each page object into a task, its properties
        // borrowed from the body on the way (no `Value` tree).
        let page = self
            .send_decoded(call, |bytes| {
                let list: WireList<WirePage<'_>> = serde_json::from_slice(bytes)?;
                let tasks: Vec<Result<Task, String>> =
                    list.results.into_iter().map(WirePage::into_task).collect();
                Ok(WireList {
                    results: tasks,
                    has_more: list.has_more,
                    next_cursor: list.next_cursor,
                    request_status: list.request_status,
                })
            })
            .await?;
        let incomplete = page
            .request_status
            .is_some_and(|status| status.kind == "incomplete");
        let tasks = page
            .results
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|detail| decode_error(&path, detail))?;
        Ok(QueryPage {
            tasks,
            next_cursor: next_cursor(&path, start_cursor, page.next_cursor, page.has_more)?,
            incomplete,
        })
    }

    /// Every task a query returns, following cursors. `incomplete` tells that Notion capped the
    /// query at 10,000 rows; the caller must narrow the query to read on.
    pub async fn query_all(
        &self,
        data_source: &NotionId,
        query: &Query,
    ) -> Result<(Vec<Task>, bool), NotionError> {
        let mut tasks = Vec::new();
        let mut incomplete = false;
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .query_page(data_source, query, cursor.as_deref())
                .await?;
            tasks.extend(page.tasks);
            incomplete |= page.incomplete;
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok((tasks, incomplete)),
            }
        }
    }

    /// One page, with its properties (values over 25 references marked truncated).
    pub async fn retrieve_page(&self, page_id: &NotionId) -> Result<Task, NotionError> {
        let path = format!("/v1/pages/{page_id}");
        self.send_decoded(Call::get(path.clone()), |bytes| {
            serde_json::from_slice::<WirePage<'_>>(bytes).map(WirePage::into_task)
        })
        .await?
        .map_err(|detail| decode_error(&path, detail))
    }

    /// The full value of one property, paging through values cut at 25 references.
    pub async fn property_value(
        &self,
        page_id: &NotionId,
        property_id: &str,
    ) -> Result<PropertyValue, NotionError> {
        let path = format!("/v1/pages/{page_id}/properties/{property_id}");
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut call = Call::get(path.clone());
            if let Some(cursor) = &cursor {
                call.query.push(("start_cursor", cursor.clone()));
            }
            let page: WirePropertyItemPage = self.send(call).await?;
            if page.object == "property_item" {
                let mut item: Map<String, Value> = page.rest;
                item.insert("object".into(), json!("property_item"));
                return Ok(wire::property_item_value(item));
            }
            items.extend(page.results);
            match next_cursor(
                &path,
                cursor.as_deref(),
                page.next_cursor.clone(),
                page.has_more,
            )? {
                Some(next) => cursor = Some(next),
                None => {
                    let last = page.rest.get("property_item").unwrap_or(&Value::Null);
                    let kind = last.get("type").and_then(Value::as_str).unwrap_or_default();
                    return Ok(wire::join_property_items(kind, &items, last));
                }
            }
        }
    }

    /// Sets properties of a page; only the named properties change. Returns the updated task.
    pub async fn update_page(
        &self,
        page_id: &NotionId,
        writes: &[(String, PropertyWrite)],
    ) -> Result<Task, NotionError> {
        let path = format!("/v1/pages/{page_id}");
        let body = wire::property_writes_json(writes)
            .map_err(|(property, detail)| NotionError::InvalidWrite { property, detail })?;
        let call = Call::with_body(
            Method::PATCH,
            path.clone(),
            &body,
            RequestKind::IdempotentWrite,
        );
        self.send_decoded(call, |bytes| {
            serde_json::from_slice::<WirePage<'_>>(bytes).map(WirePage::into_task)
        })
        .await?
        .map_err(|detail| decode_error(&path, detail))
    }

    /// Appends text to the end of a page as blocks (Markdown or plain paragraphs, within
    /// Notion's limits), exactly once within this process (`append_exactly_once` with a journal
    /// in memory): an attempt whose outcome is unknown is decided from the page's children after
    /// the block the batch was sent after. Returns the top-level blocks the text became.
    pub async fn append_text(
        &self,
        page_id: &NotionId,
        text: &str,
        format: TextFormat,
    ) -> Result<Vec<Block>, NotionError> {
        let blocks = blocks_of(text, format);
        let mut journal = super::append::MemoryJournal::default();
        let ids = self
            .append_exactly_once(page_id, &blocks, &mut journal)
            .await
            .map_err(|error| match error {
                super::append::AppendError::Notion(error) => error,
                // A journal in memory does not fail.
                super::append::AppendError::Journal(error) => NotionError::AmbiguousAppend {
                    page_id: page_id.to_string(),
                    detail: error.to_string(),
                },
            })?;
        Ok(ids
            .into_iter()
            .zip(&blocks)
            .map(|(id, block)| Block {
                id,
                kind: block.kind.type_name().into(),
                text: block.plain_text(),
                has_children: !block.children.is_empty(),
            })
            .collect())
    }

    /// Sends one batch of blocks to the end of a page; retries only what cannot have been
    /// processed, and says when the outcome is unknown (`ambiguous`).
    pub(super) async fn append_batch(
        &self,
        page_id: &NotionId,
        batch: &[NewBlock],
    ) -> Result<Vec<Block>, RequestFailure> {
        let position = match self.inner.version {
            ApiVersion::V2025_09_03 => AppendPosition::Implicit,
            ApiVersion::V2026_03_11 => AppendPosition::End,
        };
        let body = wire::append_body(batch, position);
        let path = format!("/v1/blocks/{page_id}/children");
        let call = Call::with_body(Method::PATCH, path, &body, RequestKind::Append);
        let list: WireList<WireBlock> = self.send(call).await?;
        Ok(list.results.into_iter().map(Block::from).collect())
    }

    /// Attempts allowed for one request (the first included).
    pub(super) fn max_attempts(&self) -> u32 {
        self.inner.retry.max_attempts
    }

    /// All child blocks of a page or block, in order.
    pub async fn list_children(&self, block_id: &NotionId) -> Result<Vec<Block>, NotionError> {
        let blocks: Vec<WireBlock> = self
            .list_all(format!("/v1/blocks/{block_id}/children"))
            .await?;
        Ok(blocks.into_iter().map(Block::from).collect())
    }

    /// Sends a call with pacing and retries, and decodes the success body.
    pub(super) async fn send<T: DeserializeOwned>(
        &self,
        call: Call<'_>,
    ) -> Result<T, RequestFailure> {
        self.send_decoded(call, |bytes| serde_json::from_slice(bytes))
            .await
    }

    /// Sends a call with pacing and retries; `decode` reads the success body (it may borrow
    /// from it, and returns what outlives it). A body it cannot read is retried like a broken one.
    async fn send_decoded<T>(
        &self,
        call: Call<'_>,
        decode: impl Fn(&[u8]) -> serde_json::Result<T>,
    ) -> Result<T, RequestFailure> {
        let policy = &self.inner.retry;
        let started = tokio::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.inner.pacer.acquire().await;
            self.inner.requests.fetch_add(1, Ordering::Relaxed);
            let (failure, retry_after, error) = match self.attempt(&call, attempt, &decode).await {
                Ok(value) => {
                    if self.inner.has_retrying.swap(false, Ordering::Relaxed) {
                        *self.retrying_slot() = None;
                    }
                    return Ok(value);
                }
                Err(outcome) => outcome,
            };
            let decision = decide(failure, call.kind);
            let delay = match decision {
                Decision::HoldAll => retry_after.unwrap_or_else(|| policy.backoff(attempt)),
                _ => policy.backoff(attempt),
            };
            // A person waiting gets the last error once the deadline would pass, not 8 tries.
            let past_deadline = policy
                .deadline
                .is_some_and(|deadline| started.elapsed() + delay > deadline);
            let out_of_attempts = attempt >= policy.max_attempts || past_deadline;
            match decision {
                Decision::GiveUp => {
                    return Err(RequestFailure {
                        error,
                        ambiguous: false,
                    });
                }
                Decision::Ambiguous => {
                    return Err(RequestFailure {
                        error,
                        ambiguous: true,
                    });
                }
                _ if out_of_attempts => {
                    return Err(RequestFailure {
                        error,
                        ambiguous: false,
                    });
                }
                Decision::HoldAll => {
                    self.note_retrying(format!("Notion asked to slow down ({error})"));
                    if policy.deadline.is_some() {
                        tracing::debug!(path = %call.path, ?delay, attempt, "Notion asked to slow down; holding back every request");
                    } else {
                        tracing::warn!(path = %call.path, ?delay, attempt, "Notion asked to slow down; holding back every request");
                    }
                    self.inner.pacer.hold_for(delay);
                }
                Decision::Backoff => {
                    self.note_retrying(error.to_string());
                    // A command a person waits for says its one error at the end; the daemon
                    // logs each retry.
                    if policy.deadline.is_some() {
                        tracing::debug!(path = %call.path, ?delay, attempt, %error, "retrying Notion request");
                    } else {
                        tracing::warn!(path = %call.path, ?delay, attempt, %error, "retrying Notion request");
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    fn retrying_slot(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.inner
            .retrying
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn note_retrying(&self, error: String) {
        *self.retrying_slot() = Some(error);
        self.inner.has_retrying.store(true, Ordering::Relaxed);
    }

    /// The error a request is being retried after, if one is (until a request succeeds).
    pub fn retrying(&self) -> Option<String> {
        if !self.inner.has_retrying.load(Ordering::Relaxed) {
            return None;
        }
        self.retrying_slot().clone()
    }

    /// One attempt: the decoded body, or what failed (for `decide`), Retry-After and the error.
    async fn attempt<T>(
        &self,
        call: &Call<'_>,
        attempt: u32,
        decode: &impl Fn(&[u8]) -> serde_json::Result<T>,
    ) -> Result<T, (AttemptFailure, Option<Duration>, NotionError)> {
        let url = format!("{}{}", self.inner.base_url, call.path);
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), &url)
            .query(&call.query);
        if let Some(body) = call.body {
            request = request.json(body);
        }
        tracing::debug!(method = %call.method, path = %call.path, attempt, "notion request");
        let transport = |error: reqwest::Error| {
            let failure = if error.is_connect() {
                AttemptFailure::Connect
            } else {
                AttemptFailure::Interrupted
            };
            let detail = describe_transport(&error);
            let error = NotionError::Transport {
                base_url: self.inner.base_url.clone(),
                detail,
                attempts: attempt,
            };
            (failure, None, error)
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(super::pacing::retry_after);
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let bytes = response.bytes().await.map_err(transport)?;
        tracing::debug!(method = %call.method, path = %call.path, status, bytes = bytes.len(), "notion response");
        if (200..300).contains(&status) {
            return decode(&bytes).map_err(|error| {
                let error = NotionError::Decode {
                    endpoint: format!("{} {}", call.method, call.path),
                    detail: error.to_string(),
                    attempts: attempt,
                };
                (AttemptFailure::MalformedBody, None, error)
            });
        }
        let error = match serde_json::from_slice::<WireError>(&bytes) {
            Ok(body) => NotionError::Api {
                status,
                code: body.code,
                message: body.message,
                request_id: body.request_id,
                additional_data: wire::additional_data_text(body.additional_data),
                attempts: attempt,
            },
            Err(_) => NotionError::UnexpectedResponse {
                endpoint: format!("{} {}", call.method, call.path),
                status,
                content_type: content_type.unwrap_or_else(|| "no content type".into()),
                excerpt: String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
                attempts: attempt,
            },
        };
        Err((AttemptFailure::Status(status), retry_after, error))
    }
}

/// The cursor to read on from, if there is more: a server that answers `has_more` with the cursor
/// it was given would make the client loop for ever, so that is an error naming the endpoint.
fn next_cursor(
    path: &str,
    given: Option<&str>,
    next: Option<String>,
    has_more: bool,
) -> Result<Option<String>, NotionError> {
    match next.filter(|_| has_more) {
        Some(next) if given == Some(next.as_str()) => Err(decode_error(
            path,
            format!(
                "it answered `has_more` with the cursor it was given (`{next}`), which would repeat the same page for ever"
            ),
        )),
        next => Ok(next),
    }
}

fn decode_error(path: &str, detail: String) -> NotionError {
    NotionError::Decode {
        endpoint: path.to_string(),
        detail,
        attempts: 1,
    }
}

/// A transport error as a sentence, with its cause chain (reqwest's top line alone is vague).
fn describe_transport(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "the request timed out".to_string()
    } else if error.is_connect() {
        "the connection could not be made".to_string()
    } else {
        "the connection broke".to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
