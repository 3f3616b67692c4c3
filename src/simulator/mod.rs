//! A simulator of the Notion API over real HTTP, for tests, the demo and benchmarks.
//!
//! It is worth what its fidelity is worth, so it follows Notion's documentation, not tasksync's
//! client. One workspace, one database, in memory; `GET /_simulator/stats` counts requests, and
//! faults can be injected (429/529 with `Retry-After`, 409, 5xx, a proxy's HTML page, slow,
//! dropped, lost or malformed answers).
//!
//! # The Notion behaviours it models
//!
//! Each fact names the page of developers.notion.com it comes from, and `tests/notion_facts.rs`
//! has one test per fact, on both API versions. A new fact gets its test there first.
//!
//! | fact | doc page |
//! | --- | --- |
//! | Text lengths are counted in UTF-16 code units (JavaScript `.length`): at most 2,000 per `text.content` and per `text.link.url`, 100 items per rich text array; `url` 2,000, `email` and `phone_number` 200. Over a limit: 400 `validation_error`, ``body failed validation: <path>.length should be ≤ `2000`, instead was `2001`.`` | reference/request-limits |
//! | An append takes at most 100 children, nested at most two levels; appended blocks come back with their `color` | reference/patch-block-children |
//! | Page objects (query results, `GET /v1/pages/{id}`) return at most 25 references for `people`, `relation` and mentions inside `title`/`rich_text` | reference/retrieve-a-page ("Limits") |
//! | Only `relation` carries `has_more`; people and mentions are cut with no flag | reference/page-property-values |
//! | Rollups in page objects are computed over the first 25 references only | reference/retrieve-a-page ("Limits") |
//! | `GET /v1/pages/{id}/properties/{property_id}` returns the full value: title, rich_text, people and relation as a paginated list of property items (`next_cursor`, `next_url`, page_size ≤ 100); a rollup as the list of relations with its value so far in `property_item.rollup`, final once `has_more` is false; other kinds as one property item | reference/retrieve-a-page-property |
//! | One query returns at most 10,000 rows; then `has_more` is false and `request_status.type` is `incomplete` | guides/data-apis/query-large-data-sources |
//! | `created_time` and `last_edited_time` of pages are rounded down to the minute; database timestamps are not, and carry a `+00:00` offset | changelog (last-edited-time-is-now-rounded-to-the-nearest-minute), reference/database |
//! | `2025-09-03` answers carry `archived` and `in_trash`; `2026-03-11` only `in_trash`, and appends take `position` instead of `after` | guides/get-started/upgrade-guide-2026-03-11 |
//! | Error bodies: `{"object": "error", "status", "code", "message", "request_id"}`, with `additional_data` (`integration_id` on 404, `rate_limit_reason` on 429) | reference/status-codes |
//! | 429 `rate_limited` and 529 `service_overload` carry `Retry-After` in seconds; 409 `conflict_error` means try again | reference/request-limits, reference/status-codes |
//! | An object not shared with the integration is 404 `object_not_found`, not 403 | reference/status-codes |
//! | A request without `Notion-Version` is 400 `missing_version` | reference/versioning |
//! | An unknown status option is 400 `validation_error`; an unknown select option is added | reference/patch-page, reference/page-property-values |
//! | `PATCH /v1/data_sources/{id}` renames a property with `{"name": ...}` (its id stays); `select`/`multi_select` `options` replace the options: existing ones (by id or name) are kept, new names added, omitted ones removed; a `status` property's options cannot be changed through the API | reference/update-data-source-properties |
//! | Rich text is stored with every annotation (the request's, the rest `false`/`"default"`) and `href` for a link; a user mention comes back as `{"type": "mention", "mention": {"type": "user", "user": {...}}}` with `plain_text` `@Name` | reference/rich-text |
//! | Appends create headings, list items, to-dos (`checked` false unless given), quotes, code (`language` one of Notion's, else a validation error listing them; `caption`) and dividers (`{}`); list items take nested children | reference/block, reference/patch-block-children |
//! | `POST /v1/pages` takes properties by name or id and `children` (created with the page); the new page's `created_by` is the integration's bot, and a `created_time` timestamp filter finds it | reference/post-page, reference/post-database-query-filter |
//! | `GET /v1/users` lists the workspace's users (people with `person.email`, and bots; guests are not listed), paginated with `start_cursor`, `page_size` ≤ 100 | reference/get-users |
//! | A status property's configuration lists `options` and `groups` (To-do, In progress, Complete, in order), each with the `option_ids` in it | reference/property-object |
//! | Webhooks: the endpoint first gets `{"verification_token": ...}` unsigned; then events (`page.created`, `page.properties_updated`, `page.content_updated`, `page.deleted`, `page.undeleted`, `data_source.schema_updated`) signed `X-Notion-Signature: sha256=<hex HMAC-SHA256 of the body>` with that token, carrying ids (entity, parent data source) and not values, edits of one page close together aggregated into one event, delivery tried again on failure, then dropped | reference/webhooks, reference/webhooks-events-delivery |
//! | Every answer carries a `request_id`; data sources carry `url`, `public_url`, `icon`, `cover`, `created_by`, `last_edited_by`, `is_inline` and a `description` per property; pages `is_archived` and `is_locked`; databases `is_locked`, `icon` and `cover` | reference/data-source, reference/page, reference/database |

mod blocks;
mod cache;
mod faults;
mod generate;
mod handlers;
mod history;
mod http;
mod query;
mod webhooks;
mod workspace;
mod writes;

pub use faults::{Fault, FaultSpec, ScriptedFault};

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State as AxumState};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use serde_json::json;
use tokio::time::Instant;

use crate::notion::ApiVersion;
use generate::Seed;
pub use webhooks::WebhookTarget;
use workspace::Workspace;

/// The query result cap Notion applies (guides/data-apis/query-large-data-sources).
pub const RESULT_CAP: usize = 10_000;

/// How to build and run a simulator.
#[derive(Clone, Debug)]
pub struct SimulatorOptions {
    pub tasks: usize,
    pub seed: u64,
    pub token: String,
    /// API versions accepted; requests with another `Notion-Version` are rejected.
    pub api_versions: Vec<ApiVersion>,
    /// Requests per second before answering 429; `None` for no limit.
    pub rate_limit: Option<f64>,
    /// Requests allowed at once before the rate limit applies.
    pub burst: u32,
    pub faults: FaultSpec,
    pub data_sources: u8,
    /// Deliver webhook events for edits to this endpoint, signed with this token.
    pub webhook: Option<WebhookTarget>,
    /// Play a team's work over this many days (0: none): the clock starts this many days back,
    /// and moving it on (`advance_clock`) plays the work planned up to the new time.
    pub history_days: u32,
}

impl Default for SimulatorOptions {
    fn default() -> Self {
        Self {
            tasks: 300,
            seed: 1,
            token: "ntn_simulator_token".into(),
            api_versions: ApiVersion::ALL.to_vec(),
            rate_limit: None,
            burst: 3,
            faults: FaultSpec::default(),
            data_sources: 1,
            webhook: None,
            history_days: 0,
        }
    }
}

/// Request counts, as served by `GET /_simulator/stats`.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct Stats {
    /// Every request to the Notion API (not the `/_simulator` endpoints).
    pub requests: u64,
    /// By `METHOD /route/{param}`.
    pub by_endpoint: BTreeMap<String, u64>,
    /// Answered 429 by the rate limit.
    pub rate_limited: u64,
    /// Answered with an injected fault.
    pub faulted: u64,
    /// Requests to endpoints that change the workspace.
    pub writes: u64,
}

impl Stats {
    /// Requests to one endpoint, e.g. `"POST /v1/data_sources/{id}/query"`.
    pub fn count(&self, endpoint: &str) -> u64 {
        self.by_endpoint.get(endpoint).copied().unwrap_or(0)
    }
}

/// A Notion error response (reference/status-codes).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `additional_data`: `integration_id` on 404, `rate_limit_reason` on 429.
    pub additional_data: Option<serde_json::Value>,
}

/// The id of the simulated integration, as 404 answers name it in `additional_data`.
pub const INTEGRATION_ID: &str = "5e9a6f2c-7d1b-4c3e-9a8f-0b1c2d3e4f50";

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            additional_data: None,
        }
    }

    fn with_data(mut self, data: serde_json::Value) -> Self {
        self.additional_data = Some(data);
        self
    }

    /// 429 `rate_limited`, saying which limit was hit.
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "You have been rate limited. Please try again in a few minutes.",
        )
        .with_data(json!({ "rate_limit_reason": "integration_rate_limit" }))
    }

    /// 500, as Notion answers when it fails itself (the simulator only if JSON cannot be written).
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_server_error",
            format!("Unexpected error: {error}"),
        )
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation_error", message)
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "object_not_found",
            format!(
                "Could not find {kind} with ID: {id}. Make sure the relevant pages and databases are shared with your integration."
            ),
        )
        .with_data(json!({ "integration_id": INTEGRATION_ID }))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "object": "error",
            "status": self.status.as_u16(),
            "code": self.code,
            "message": self.message,
            "request_id": request_id(),
        });
        if let Some(data) = self.additional_data {
            body["additional_data"] = data;
        }
        (self.status, axum::Json(body)).into_response()
    }
}

pub(crate) fn request_id() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

struct RateLimiter {
    interval: Duration,
    tolerance: Duration,
    theoretical_arrival: Instant,
}

impl RateLimiter {
    /// `None` when the request may proceed, else how long until it would have.
    fn check(&mut self) -> Option<Duration> {
        let now = Instant::now();
        if self.theoretical_arrival > now + self.tolerance {
            return Some(self.theoretical_arrival - self.tolerance - now);
        }
        self.theoretical_arrival = self.theoretical_arrival.max(now) + self.interval;
        None
    }
}

pub(crate) struct QueryCacheEntry {
    key: String,
    version: u64,
    indices: Arc<Vec<usize>>,
    positions: Arc<std::collections::HashMap<String, usize>>,
}

pub(crate) struct State {
    options: SimulatorOptions,
    workspace: Mutex<Workspace>,
    clock_offset: Mutex<chrono::Duration>,
    stats: Mutex<Stats>,
    faults: Mutex<(SmallRng, VecDeque<ScriptedFault>)>,
    random_faults: Mutex<FaultSpec>,
    limiter: Option<Mutex<RateLimiter>>,
    query_cache: Mutex<VecDeque<QueryCacheEntry>>,
    /// Page objects rendered to JSON bytes, as query results show them (every property), kept
    /// until the workspace changes.
    page_cache: Mutex<cache::PageCache>,
    /// The team's planned work (`SimulatorOptions::history_days`).
    plan: Mutex<Option<history::Plan>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl State {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *lock(&self.clock_offset)
    }

    /// Moves the clock by `by` and plays the planned work due by the new time.
    fn advance(&self, by: chrono::Duration) -> DateTime<Utc> {
        *lock(&self.clock_offset) += by;
        let now = self.now();
        if let Some(plan) = lock(&self.plan).as_mut() {
            plan.play(&mut lock(&self.workspace), now);
        }
        now
    }

    fn draw_fault(&self, endpoint: &str) -> Option<(Fault, Option<u64>)> {
        let mut faults = lock(&self.faults);
        let (rng, script) = &mut *faults;
        if let Some(position) = script.iter().position(|s| endpoint.contains(&s.matching)) {
            let scripted = script.remove(position)?;
            return Some((scripted.fault, scripted.retry_after));
        }
        let roll: f64 = rng.random();
        let mut cumulative = 0.0;
        for (fault, probability) in &lock(&self.random_faults).faults {
            cumulative += probability;
            if roll < cumulative {
                return Some((*fault, None));
            }
        }
        None
    }
}

/// The API version of the request being served.
#[derive(Clone, Copy)]
pub(crate) struct Version(pub ApiVersion);

/// Who the request acts as: the integration's bot, or a person (header `X-Simulator-User`).
#[derive(Clone)]
pub(crate) struct Actor(pub String);

/// The header that makes a write count as a person's edit in Notion (for tests of "a user edits").
pub const ACTING_USER_HEADER: &str = "x-simulator-user";

/// A running simulator. Dropping it stops the server.
pub struct Simulator {
    state: Arc<State>,
    base_url: String,
    server: tokio::task::JoinHandle<()>,
    /// Delivers webhook events (`SimulatorOptions::webhook`).
    deliverer: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.server.abort();
        if let Some(deliverer) = &self.deliverer {
            deliverer.abort();
        }
    }
}

impl Simulator {
    /// Generates the workspace and serves it on `address` (port 0 picks a free port).
    pub async fn start(options: SimulatorOptions, address: SocketAddr) -> anyhow::Result<Self> {
        let back = chrono::Duration::days(i64::from(options.history_days));
        let start = Utc::now() - back;
        let mut workspace = Workspace::generate(&Seed {
            tasks: options.tasks,
            seed: options.seed,
            data_sources: options.data_sources.max(1),
            now: start,
        });
        let plan = (options.history_days > 0)
            .then(|| history::Plan::new(&workspace, start, options.history_days, options.seed));
        if options.webhook.is_some() {
            workspace.events = Some(Vec::new());
        }
        let webhook = options.webhook.clone();
        let limiter = options.rate_limit.filter(|rate| *rate > 0.0).map(|rate| {
            let interval = crate::notion::pacing::interval_of(rate);
            Mutex::new(RateLimiter {
                interval,
                tolerance: interval.saturating_mul(options.burst.saturating_sub(1)),
                theoretical_arrival: Instant::now(),
            })
        });
        let state = Arc::new(State {
            faults: Mutex::new((
                SmallRng::seed_from_u64(options.seed ^ 0x5eed),
                VecDeque::new(),
            )),
            random_faults: Mutex::new(options.faults.clone()),
            options,
            workspace: Mutex::new(workspace),
            clock_offset: Mutex::new(-back),
            stats: Mutex::new(Stats::default()),
            limiter,
            query_cache: Mutex::new(VecDeque::new()),
            page_cache: Mutex::new(cache::PageCache::default()),
            plan: Mutex::new(plan),
        });
        let listener = tokio::net::TcpListener::bind(address).await?;
        let local = listener.local_addr()?;
        let app = router(state.clone());
        let deliverer =
            webhook.map(|target| tokio::spawn(webhooks::deliver(state.clone(), target)));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "simulator stopped");
            }
        });
        Ok(Self {
            state,
            base_url: format!("http://{local}"),
            server,
            deliverer,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn token(&self) -> &str {
        &self.state.options.token
    }

    pub fn database_id(&self) -> String {
        lock(&self.state.workspace).database_id.clone()
    }

    /// Data source ids with their names, in order.
    pub fn data_sources(&self) -> Vec<(String, String)> {
        lock(&self.state.workspace)
            .sources
            .iter()
            .map(|s| (s.id.clone(), s.name.clone()))
            .collect()
    }

    /// Ids of the pages of the first data source, in creation order.
    pub fn page_ids(&self) -> Vec<String> {
        lock(&self.state.workspace)
            .pages
            .iter()
            .filter(|p| p.source == 0)
            .map(|p| p.id.clone())
            .collect()
    }

    /// The bot user behind the token.
    pub fn bot_user_id(&self) -> String {
        lock(&self.state.workspace).bot_id()
    }

    /// Ids of the workspace's people.
    pub fn user_ids(&self) -> Vec<String> {
        lock(&self.state.workspace)
            .users
            .iter()
            .filter_map(|u| u["id"].as_str().map(str::to_string))
            .collect()
    }

    pub fn stats(&self) -> Stats {
        lock(&self.state.stats).clone()
    }

    pub fn reset_stats(&self) {
        *lock(&self.state.stats) = Stats::default();
    }

    /// Moves the simulator's clock (timestamps it gives edits) by `by`, playing the planned
    /// work (`SimulatorOptions::history_days`) due by the new time.
    pub fn advance_clock(&self, by: chrono::Duration) {
        self.state.advance(by);
    }

    /// The simulator's time now.
    pub fn now(&self) -> DateTime<Utc> {
        self.state.now()
    }

    /// Planned steps of the team's work not played yet.
    pub fn planned_steps(&self) -> usize {
        lock(&self.state.plan)
            .as_ref()
            .map_or(0, history::Plan::remaining)
    }

    /// Edits a page as a person of the workspace (by name or id) would in Notion: property
    /// writes (by name) and, optionally, moving it to or from the trash. For the demo.
    pub fn edit_as(
        &self,
        person: &str,
        page_id: &str,
        writes: &[(String, crate::model::PropertyWrite)],
        trash: Option<bool>,
    ) -> anyhow::Result<()> {
        let body = crate::notion::wire::property_writes_json(writes)
            .map_err(|(property, detail)| anyhow::anyhow!("{property}: {detail}"))?;
        let properties = body["properties"].as_object().cloned().unwrap_or_default();
        let now = self.state.now();
        let mut workspace = lock(&self.state.workspace);
        let actor = workspace
            .find_user(person)
            .and_then(|user| user["id"].as_str())
            .map(str::to_string)
            .ok_or_else(|| anyhow::anyhow!("the simulated workspace has no person `{person}`"))?;
        let index = *workspace
            .index
            .get(page_id)
            .ok_or_else(|| anyhow::anyhow!("no page {page_id}"))?;
        workspace
            .apply_edit(index, &properties, trash, &actor, now)
            .map_err(|error| anyhow::anyhow!("{}", error.message))
    }

    /// Replaces the random faults (an empty spec turns them off).
    pub fn set_faults(&self, faults: FaultSpec) {
        *lock(&self.state.random_faults) = faults;
    }

    /// Queues a fault for the next matching request.
    pub fn push_fault(&self, fault: ScriptedFault) {
        lock(&self.state.faults).1.push_back(fault);
    }
}

fn router(state: Arc<State>) -> Router {
    use axum::routing::{get, post};
    Router::new()
        .route("/v1/users/me", get(handlers::users_me))
        .route("/v1/users", get(handlers::list_users))
        .route("/v1/databases/{database_id}", get(handlers::get_database))
        .route(
            "/v1/data_sources/{data_source_id}",
            get(handlers::get_data_source).patch(handlers::update_data_source),
        )
        .route(
            "/v1/data_sources/{data_source_id}/query",
            post(handlers::query_data_source),
        )
        .route("/v1/search", post(handlers::search))
        .route("/v1/pages", post(handlers::create_page))
        .route(
            "/v1/pages/{page_id}",
            get(handlers::get_page).patch(handlers::update_page),
        )
        .route(
            "/v1/pages/{page_id}/properties/{property_id}",
            get(handlers::get_page_property),
        )
        .route(
            "/v1/blocks/{block_id}/children",
            get(blocks::get_block_children).patch(blocks::append_block_children),
        )
        .fallback(handlers::unknown_route)
        .layer(axum::middleware::from_fn_with_state(state.clone(), gate))
        .route(
            "/_simulator/stats",
            get(handlers::stats).delete(handlers::reset_stats),
        )
        .route("/_simulator/clock", post(handlers::advance_clock))
        .with_state(state)
}

/// Everything a Notion request goes through before its handler: counting, rate limit, version
/// and token checks, faults.
async fn gate(AxumState(state): AxumState<Arc<State>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || request.uri().path().to_string(),
        |m| m.as_str().to_string(),
    );
    let endpoint = format!("{} {}", request.method(), route);
    {
        let mut stats = lock(&state.stats);
        stats.requests += 1;
        *stats.by_endpoint.entry(endpoint.clone()).or_default() += 1;
        if matches!(request.method().as_str(), "PATCH" | "POST" | "DELETE")
            && !endpoint.ends_with("/query")
            && !endpoint.ends_with("/search")
        {
            stats.writes += 1;
        }
    }
    if let Some(limiter) = &state.limiter
        && let Some(wait) = lock(limiter).check()
    {
        lock(&state.stats).rate_limited += 1;
        return rate_limited(wait.as_secs_f64().ceil().max(1.0) as u64);
    }
    let version = match request
        .headers()
        .get("notion-version")
        .map(|v| v.to_str().unwrap_or_default())
    {
        None => {
            return ApiError::new(StatusCode::BAD_REQUEST, "missing_version", "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.").into_response();
        }
        Some(text) => match text.parse::<ApiVersion>() {
            Ok(version) if state.options.api_versions.contains(&version) => version,
            _ => {
                return ApiError::validation(format!("Notion-Version header failed validation: `{text}` is not a supported version of this simulator.")).into_response();
            }
        },
    };
    let expected = format!("Bearer {}", state.options.token);
    if request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        != Some(expected.as_str())
    {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "API token is invalid.",
        )
        .into_response();
    }
    let actor = match request
        .headers()
        .get(ACTING_USER_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        None => lock(&state.workspace).bot_id(),
        Some(key) => match lock(&state.workspace).find_user(key) {
            Some(user) => user["id"].as_str().unwrap_or_default().to_string(),
            None => {
                return ApiError::validation(format!("unknown {ACTING_USER_HEADER} `{key}`"))
                    .into_response();
            }
        },
    };
    let mut request = request;
    request.extensions_mut().insert(Version(version));
    request.extensions_mut().insert(Actor(actor));
    let Some((fault, retry_after)) = state
        .draw_fault(&endpoint)
        // A stuck cursor is a fault of listing endpoints only.
        .filter(|(fault, _)| *fault != Fault::StuckCursor || endpoint.ends_with("/query"))
    else {
        return next.run(request).await;
    };
    if !matches!(fault, Fault::Slow(_)) {
        lock(&state.stats).faulted += 1;
    }
    match fault {
        Fault::Status(status @ (429 | 529)) => {
            let error = match status {
                429 => ApiError::rate_limited(),
                _ => ApiError::new(
                    StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                    "service_overload",
                    "Notion is overloaded. Please try again in a few moments.",
                ),
            };
            let mut response = error.into_response();
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(retry_after.unwrap_or(1)));
            response
        }
        Fault::Status(status) => {
            let (code, message) = match status {
                409 => (
                    "conflict_error",
                    "Conflict occurred while saving. Please try again.",
                ),
                500 => ("internal_server_error", "Unexpected error occurred."),
                502 => ("bad_gateway", "Bad gateway."),
                503 => (
                    "service_unavailable",
                    "Notion is unavailable, try again later.",
                ),
                _ => ("gateway_timeout", "Gateway timeout."),
            };
            ApiError::new(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                code,
                message,
            )
            .into_response()
        }
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Fault::Drop => dropped_connection(),
        Fault::Lost => {
            let _ = next.run(request).await;
            dropped_connection()
        }
        Fault::Stall(delay) => {
            let response = next.run(request).await;
            tokio::time::sleep(delay).await;
            response
        }
        Fault::Proxy(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            let title = format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("Error")
            );
            let page = format!(
                "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            );
            (status, [("content-type", "text/html")], page).into_response()
        }
        Fault::StuckCursor => axum::Json(json!({
            "object": "list", "results": [], "has_more": true, "next_cursor": "stuck",
            "type": "page_or_data_source", "page_or_data_source": {},
        }))
        .into_response(),
        Fault::Malformed => (
            StatusCode::OK,
            [("content-type", "application/json")],
            "{\"object\":\"list\",\"results\":[{\"object\":\"page\",\"id\":",
        )
            .into_response(),
    }
}

fn rate_limited(retry_after: u64) -> Response {
    let mut response = ApiError::rate_limited().into_response();
    response
        .headers_mut()
        .insert("retry-after", HeaderValue::from(retry_after));
    response
}

/// A response whose body fails: the server aborts the connection without a complete answer.
fn dropped_connection() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("simulated dropped connection"))
    });
    Response::new(Body::from_stream(failing))
}

/// Serves the simulator until the process is stopped (the `tasksync simulator` command): prints
/// the base URL, then `database <id>` and `data_source <id>` lines.
pub async fn serve_forever(options: SimulatorOptions, address: SocketAddr) -> anyhow::Result<()> {
    let simulator = Simulator::start(options, address).await?;
    simulator.state.render_all();
    println!("{}", simulator.base_url());
    println!("database {}", simulator.database_id());
    for (id, _) in simulator.data_sources() {
        println!("data_source {id}");
    }
    use std::io::Write;
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(())
}

#[cfg(test)]
mod tests;
