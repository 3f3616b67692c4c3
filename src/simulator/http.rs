//! What every endpoint of the simulator shares: reading a request (JSON body, query
//! parameters, ids, page sizes) and answering as Notion does (a `request_id`, pagination).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::workspace::Workspace;
use super::{ApiError, State};
use crate::model::ids::NotionId;

pub(super) type Shared = AxumState<Arc<State>>;
pub(super) type Answer = Result<Response, ApiError>;

/// A success answer; like Notion's, it carries a `request_id`.
pub(super) fn ok(mut value: Value) -> Answer {
    if let Some(object) = value.as_object_mut() {
        object.insert("request_id".into(), json!(super::request_id()));
    }
    Ok(Json(value).into_response())
}

pub(super) fn body_json(bytes: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if bytes.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::validation(
            "body failed validation: body should be an object.",
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "Error parsing JSON body.",
        )),
    }
}

pub(super) fn reject_unknown(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match body.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(ApiError::validation(format!(
            "body failed validation: body.{key} should be not present, instead was `{}`.",
            body[key]
        ))),
        None => Ok(()),
    }
}

pub(super) fn canonical(id: &str, what: &str) -> Result<String, ApiError> {
    NotionId::parse(id).map(|id| id.to_string()).map_err(|_| {
        ApiError::validation(format!(
            "path failed validation: path.{what}_id should be a valid uuid, instead was `\"{id}\"`."
        ))
    })
}

pub(super) fn query_params(raw: Option<String>) -> Vec<(String, String)> {
    raw.unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |text: &str| super::workspace::decode(&text.replace('+', " "));
            (decode(key), decode(value))
        })
        .collect()
}

pub(super) fn param(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

pub(super) fn page_size(value: Option<&Value>) -> Result<usize, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(100),
        Some(value) => match value.as_u64() {
            Some(size @ 1..=100) => Ok(size as usize),
            _ => Err(ApiError::validation(format!(
                "body failed validation: body.page_size should be a number between 1 and 100, instead was `{value}`."
            ))),
        },
    }
}

/// The workspace's users, people and bots (guests are not listed), paginated (page_size ≤ 100).
/// reference/get-users
/// `page_size` of a paginated GET: 1 to 100, 100 when absent.
pub(super) fn query_page_size(params: &[(String, String)]) -> usize {
    param(params, "page_size")
        .and_then(|s| s.parse().ok())
        .filter(|s| (1..=100).contains(s))
        .unwrap_or(100)
}

/// Cursor pagination over a list of objects with ids: the cursor is the next object's id.
pub(super) fn paginate(
    results: Vec<Value>,
    cursor: Option<&str>,
    size: usize,
    kind: &str,
) -> Answer {
    let start = match cursor {
        None => 0,
        Some(cursor) => results
            .iter()
            .position(|r| r["id"] == cursor)
            .ok_or_else(|| {
                ApiError::validation(format!("start_cursor provided is invalid: {cursor}"))
            })?,
    };
    let end = (start + size).min(results.len());
    let has_more = end < results.len();
    let next = if has_more {
        results[end]["id"].clone()
    } else {
        Value::Null
    };
    ok(json!({
        "object": "list",
        "results": results[start..end],
        "next_cursor": next,
        "has_more": has_more,
        "type": kind,
        kind: {},
    }))
}

pub(super) fn find_page(workspace: &Workspace, id: &str) -> Result<usize, ApiError> {
    workspace
        .index
        .get(id)
        .copied()
        .ok_or_else(|| ApiError::not_found("page", id))
}
