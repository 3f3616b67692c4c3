//! The simulator's endpoints, one function each, answering as Notion does.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::blocks::{check_children, store_blocks};
use super::http::{
    Answer, Shared, body_json, canonical, find_page, ok, page_size, paginate, param,
    query_page_size, query_params, reject_unknown,
};
use super::query::{compile, compile_sorts};
use super::workspace::Workspace;
use super::{Actor, ApiError, QueryCacheEntry, RESULT_CAP, State, Version, lock};
use crate::notion::ApiVersion;

pub async fn unknown_route() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request_url",
        "Invalid request URL.",
    )
}

pub async fn users_me(state: Shared) -> Answer {
    ok(lock(&state.workspace).bot.clone())
}

pub async fn list_users(state: Shared, RawQuery(raw): RawQuery) -> Answer {
    let params = query_params(raw);
    let size = query_page_size(&params);
    let workspace = lock(&state.workspace);
    let users: Vec<Value> = workspace
        .users
        .iter()
        .chain(std::iter::once(&workspace.bot))
        .cloned()
        .collect();
    paginate(
        users,
        param(&params, "start_cursor").as_deref(),
        size,
        "user",
    )
}

pub async fn get_database(
    state: Shared,
    Extension(Version(version)): Extension<Version>,
    Path(id): Path<String>,
) -> Answer {
    let id = canonical(&id, "database")?;
    let workspace = lock(&state.workspace);
    if workspace.database_id != id {
        return Err(ApiError::not_found("database", &id));
    }
    ok(workspace.render_database(version))
}

pub async fn get_data_source(
    state: Shared,
    Extension(Version(version)): Extension<Version>,
    Path(id): Path<String>,
) -> Answer {
    let id = canonical(&id, "data_source")?;
    let workspace = lock(&state.workspace);
    let source = workspace
        .sources
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| ApiError::not_found("data_source", &id))?;
    ok(workspace.render_source(source, version))
}

/// Updates a data source's schema: renames (the id stays) and select options
/// (`Workspace::update_properties`). reference/update-data-source-properties
pub async fn update_data_source(
    state: Shared,
    Extension(Version(version)): Extension<Version>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let id = canonical(&id, "data_source")?;
    let body = body_json(&bytes)?;
    reject_unknown(&body, &["properties", "title"])?;
    let mut workspace = lock(&state.workspace);
    let index = workspace
        .sources
        .iter()
        .position(|s| s.id == id)
        .ok_or_else(|| ApiError::not_found("data_source", &id))?;
    let changes = match body.get("properties") {
        None => Map::new(),
        Some(Value::Object(changes)) => changes.clone(),
        Some(other) => {
            return Err(ApiError::validation(format!(
                "body failed validation: body.properties should be an object, instead was `{other}`."
            )));
        }
    };
    workspace.update_properties(index, &changes)?;
    if !changes.is_empty() {
        let id = workspace.sources[index].id.clone();
        let bot = workspace.bot["id"].as_str().unwrap_or_default().to_string();
        workspace.emit("data_source.schema_updated", &id, index, &bot);
    }
    let source = &workspace.sources[index];
    ok(workspace.render_source(source, version))
}

pub async fn query_data_source(
    state: Shared,
    Extension(Version(version)): Extension<Version>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    bytes: Bytes,
) -> Answer {
    let id = canonical(&id, "data_source")?;
    let body = body_json(&bytes)?;
    reject_unknown(
        &body,
        &[
            "filter",
            "sorts",
            "start_cursor",
            "page_size",
            "in_trash",
            "archived",
            "result_type",
        ],
    )?;
    let only: Vec<String> = query_params(raw)
        .into_iter()
        .filter(|(k, _)| k == "filter_properties")
        .map(|(_, v)| v)
        .collect();
    let size = page_size(body.get("page_size"))?;
    let now = state.now();
    let workspace = lock(&state.workspace);
    let source_index = workspace
        .sources
        .iter()
        .position(|s| s.id == id)
        .ok_or_else(|| ApiError::not_found("data_source", &id))?;
    let (indices, positions) = matching_pages(&state, &workspace, source_index, &body, now)?;
    let start = match body.get("start_cursor").and_then(Value::as_str) {
        None => 0,
        Some(cursor) => *positions.get(cursor).ok_or_else(|| {
            ApiError::validation(format!("start_cursor provided is invalid: {cursor}"))
        })?,
    };
    let capped = indices.len().min(RESULT_CAP);
    let end = (start + size).min(capped);
    let has_more = end < capped;
    let mut tail = Map::new();
    tail.insert(
        "next_cursor".into(),
        if has_more {
            json!(workspace.pages[indices[end]].id)
        } else {
            Value::Null
        },
    );
    tail.insert("has_more".into(), json!(has_more));
    tail.insert("type".into(), json!("page_or_data_source"));
    tail.insert("page_or_data_source".into(), json!({}));
    if indices.len() > RESULT_CAP {
        tail.insert(
            "request_status".into(),
            json!({ "type": "incomplete", "incomplete_reason": "query_result_limit_reached" }),
        );
    }
    tail.insert("request_id".into(), json!(super::request_id()));
    // The list is written around page objects already rendered to bytes (`State::page_json`):
    // the same JSON as rendering each, without doing it again for every query.
    let mut body = Vec::with_capacity(4096 * (end - start.min(end)) + 256);
    body.extend_from_slice(br#"{"object":"list","results":["#);
    for (position, index) in indices[start.min(end)..end].iter().enumerate() {
        if position > 0 {
            body.push(b',');
        }
        if only.is_empty() {
            body.extend_from_slice(&state.page_json(&workspace, *index, version));
        } else {
            let page = workspace.render_page(&workspace.pages[*index], version, &only);
            serde_json::to_writer(&mut body, &page).map_err(ApiError::internal)?;
        }
    }
    body.extend_from_slice(b"],");
    let tail = serde_json::to_vec(&tail).map_err(ApiError::internal)?;
    // `tail` is an object: its members follow the results.
    body.extend_from_slice(&tail[1..]);
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

type Matches = (Arc<Vec<usize>>, Arc<HashMap<String, usize>>);

/// The pages a query matches, sorted; cached per query and workspace version, since clients page
/// through the same query 100 rows at a time.
fn matching_pages(
    state: &State,
    workspace: &Workspace,
    source_index: usize,
    body: &Map<String, Value>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Matches, ApiError> {
    let trashed = body
        .get("in_trash")
        .or_else(|| body.get("archived"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let key = format!(
        "{source_index}|{}|{}|{trashed}",
        body.get("filter").unwrap_or(&Value::Null),
        body.get("sorts").unwrap_or(&Value::Null)
    );
    {
        let cache = lock(&state.query_cache);
        if let Some(entry) = cache
            .iter()
            .find(|entry| entry.key == key && entry.version == workspace.version)
        {
            return Ok((entry.indices.clone(), entry.positions.clone()));
        }
    }
    let source = &workspace.sources[source_index];
    let filter = body
        .get("filter")
        .filter(|f| !f.is_null())
        .map(|f| compile(f, source, now))
        .transpose()?;
    let sorter = compile_sorts(body.get("sorts").unwrap_or(&Value::Null), source)?;
    let mut indices: Vec<usize> = workspace
        .pages
        .iter()
        .enumerate()
        .filter(|(_, page)| page.source == source_index && page.in_trash == trashed)
        .filter(|(_, page)| filter.as_ref().is_none_or(|f| f.matches(workspace, page)))
        .map(|(index, _)| index)
        .collect();
    sorter.sort(&mut indices, workspace);
    let positions: HashMap<String, usize> = indices
        .iter()
        .enumerate()
        .map(|(position, index)| (workspace.pages[*index].id.clone(), position))
        .collect();
    let (indices, positions) = (Arc::new(indices), Arc::new(positions));
    let mut cache = lock(&state.query_cache);
    cache.push_front(QueryCacheEntry {
        key,
        version: workspace.version,
        indices: indices.clone(),
        positions: positions.clone(),
    });
    cache.truncate(4);
    Ok((indices, positions))
}

pub async fn search(
    state: Shared,
    Extension(Version(version)): Extension<Version>,
    bytes: Bytes,
) -> Answer {
    let body = body_json(&bytes)?;
    reject_unknown(
        &body,
        &["query", "filter", "sort", "start_cursor", "page_size"],
    )?;
    let size = page_size(body.get("page_size"))?;
    let wanted = body
        .get("filter")
        .and_then(|f| f["value"].as_str())
        .unwrap_or("data_source");
    let text = body
        .get("query")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_lowercase();
    let workspace = lock(&state.workspace);
    let results: Vec<Value> = match wanted {
        "data_source" => workspace
            .sources
            .iter()
            .filter(|s| s.name.to_lowercase().contains(&text))
            .map(|s| workspace.render_source(s, version))
            .collect(),
        "page" => workspace
            .pages
            .iter()
            .filter(|p| !p.in_trash)
            .map(|p| workspace.render_page(p, version, &[]))
            .filter(|p| text.is_empty() || p.to_string().to_lowercase().contains(&text))
            .collect(),
        other => {
            return Err(ApiError::validation(format!(
                "body.filter.value should be `page` or `data_source`, instead was `{other}`."
            )));
        }
    };
    paginate(
        results,
        body.get("start_cursor").and_then(Value::as_str),
        size,
        "page_or_data_source",
    )
}

pub async fn get_page(
    state: Shared,
    Extension(Version(version)): Extension<Version>,
    Path(id): Path<String>,
) -> Answer {
    let id = canonical(&id, "page")?;
    let workspace = lock(&state.workspace);
    let index = find_page(&workspace, &id)?;
    ok(workspace.render_page(&workspace.pages[index], version, &[]))
}

pub async fn get_page_property(
    state: Shared,
    Path((id, property)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let id = canonical(&id, "page")?;
    let params = query_params(raw);
    let size = param(&params, "page_size").map_or(Ok(100), |s| match s.parse::<usize>() {
        Ok(size @ 1..=100) => Ok(size),
        _ => Err(ApiError::validation(format!(
            "page_size should be between 1 and 100, instead was `{s}`."
        ))),
    })?;
    let workspace = lock(&state.workspace);
    let page = &workspace.pages[find_page(&workspace, &id)?];
    let prop = workspace.sources[page.source]
        .prop(&property)
        .ok_or_else(|| ApiError::not_found("property", &property))?;
    // Paginated kinds (reference/retrieve-a-page-property): title, rich_text, people and
    // relation list their items; a rollup lists the relations it is computed over, with its value
    // so far in `property_item.rollup` ("Once has_more is false, then the final rollup value is
    // returned"). Every other kind is one property item.
    let (items, item_kind) = match prop.kind.as_str() {
        "title" | "rich_text" | "people" | "relation" => (
            workspace
                .value(page, prop)
                .as_array()
                .cloned()
                .unwrap_or_default(),
            prop.kind.as_str(),
        ),
        "rollup" => (workspace.rollup_relations(page, prop).to_vec(), "relation"),
        _ => {
            let value = workspace.value(page, prop);
            return ok(
                json!({ "object": "property_item", "id": prop.id, "type": prop.kind, prop.kind.clone(): value }),
            );
        }
    };
    let start: usize = match param(&params, "start_cursor") {
        None => 0,
        Some(cursor) => cursor.parse().map_err(|_| {
            ApiError::validation(format!("start_cursor provided is invalid: {cursor}"))
        })?,
    };
    let end = (start + size).min(items.len());
    let results: Vec<Value> = items[start.min(end)..end]
        .iter()
        .map(|item| json!({ "object": "property_item", "id": prop.id, "type": item_kind, item_kind: item }))
        .collect();
    let has_more = end < items.len();
    let summary = match prop.kind.as_str() {
        "rollup" => workspace.rollup_value(page, prop, end),
        _ => json!({}),
    };
    let next_url = has_more.then(|| {
        format!(
            "https://api.notion.com/v1/pages/{id}/properties/{}?start_cursor={end}",
            prop.id
        )
    });
    ok(json!({
        "object": "list",
        "results": results,
        "next_cursor": if has_more { json!(end.to_string()) } else { Value::Null },
        "has_more": has_more,
        "type": "property_item",
        "property_item": { "id": prop.id, "next_url": next_url, "type": prop.kind, prop.kind.clone(): summary },
    }))
}

pub async fn create_page(
    state: Shared,
    Extension(Version(version)): Extension<Version>,
    Extension(Actor(actor)): Extension<Actor>,
    bytes: Bytes,
) -> Answer {
    let body = body_json(&bytes)?;
    reject_unknown(
        &body,
        &[
            "parent",
            "properties",
            "children",
            "icon",
            "cover",
            "template",
        ],
    )?;
    let parent = body.get("parent").ok_or_else(|| {
        ApiError::validation("body.parent should be defined, instead was `undefined`.")
    })?;
    let now = state.now();
    let mut workspace = lock(&state.workspace);
    let source = if let Some(id) = parent["data_source_id"].as_str() {
        let id = canonical(id, "data_source")?;
        workspace
            .sources
            .iter()
            .position(|s| s.id == id)
            .ok_or_else(|| ApiError::not_found("data_source", &id))?
    } else if let Some(id) = parent["database_id"].as_str() {
        let id = canonical(id, "database")?;
        if workspace.database_id != id {
            return Err(ApiError::not_found("database", &id));
        }
        if workspace.sources.len() > 1 {
            return Err(ApiError::validation(
                "Databases with multiple data sources are not supported as a page parent: use parent.data_source_id.",
            ));
        }
        0
    } else {
        return Err(ApiError::validation(
            "body.parent should have data_source_id or database_id.",
        ));
    };
    let properties = body
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let values = workspace.prepare_writes(source, &properties)?;
    let children = body
        .get("children")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let blocks = check_children(&children, 1)?;
    let index = workspace.insert_page(source, values, &actor, now);
    let page_id = workspace.pages[index].id.clone();
    store_blocks(&mut workspace, &page_id, blocks, None, now);
    ok(workspace.render_page(&workspace.pages[index], version, &[]))
}

pub async fn update_page(
    state: Shared,
    Extension(Version(version)): Extension<Version>,
    Extension(Actor(actor)): Extension<Actor>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let id = canonical(&id, "page")?;
    let body = body_json(&bytes)?;
    let mut allowed = vec!["properties", "in_trash", "icon", "cover", "is_locked"];
    if version == ApiVersion::V2025_09_03 {
        allowed.push("archived");
    }
    reject_unknown(&body, &allowed)?;
    let now = state.now();
    let mut workspace = lock(&state.workspace);
    let index = find_page(&workspace, &id)?;
    let trash = body
        .get("in_trash")
        .or_else(|| body.get("archived"))
        .map(|v| {
            v.as_bool()
                .ok_or_else(|| ApiError::validation("body.in_trash should be a boolean"))
        })
        .transpose()?;
    let properties = body
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if workspace.pages[index].in_trash && trash != Some(false) && !properties.is_empty() {
        return Err(ApiError::validation(
            "Can't edit block that is archived. You must unarchive the block before editing.",
        ));
    }
    workspace.apply_edit(index, &properties, trash, &actor, now)?;
    ok(workspace.render_page(&workspace.pages[index], version, &[]))
}

pub async fn stats(state: Shared) -> Answer {
    ok(serde_json::to_value(lock(&state.stats).clone()).unwrap_or(Value::Null))
}

pub async fn reset_stats(state: Shared) -> Answer {
    *lock(&state.stats) = super::Stats::default();
    ok(json!({}))
}

pub async fn advance_clock(state: Shared, bytes: Bytes) -> Answer {
    let body = body_json(&bytes)?;
    let seconds = body
        .get("advance_seconds")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::validation("advance_seconds should be an integer"))?;
    // At most a century either way: the clock stays a valid date, and no request panics it.
    const CENTURY: i64 = 100 * 366 * 24 * 3600;
    let by = chrono::Duration::try_seconds(seconds)
        .filter(|_| seconds.abs() <= CENTURY)
        .ok_or_else(|| {
            ApiError::validation("advance_seconds should be at most a century either way")
        })?;
    let now = state.advance(by);
    ok(json!({ "now": super::workspace::iso(now) }))
}
