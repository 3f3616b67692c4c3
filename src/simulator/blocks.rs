//! The simulator's block endpoints: a page's children, read and appended as Notion does
//! (depth, position and the limits it checks).

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery};
use serde_json::{Value, json};

use super::http::{
    Answer, Shared, body_json, canonical, ok, paginate, param, query_page_size, query_params,
    reject_unknown,
};
use super::workspace::{BlockRecord, Workspace, check_rich_text, minute};
use super::{ApiError, Version, lock};
use crate::notion::ApiVersion;

pub async fn get_block_children(
    state: Shared,
    Extension(Version(version)): Extension<Version>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let id = canonical(&id, "block")?;
    let params = query_params(raw);
    let size = query_page_size(&params);
    let workspace = lock(&state.workspace);
    let known = workspace.index.contains_key(&id)
        || workspace.blocks.values().flatten().any(|b| b.id == id);
    if !known {
        return Err(ApiError::not_found("block", &id));
    }
    let results: Vec<Value> = workspace
        .blocks
        .get(&id)
        .map(|blocks| {
            blocks
                .iter()
                .map(|b| workspace.render_block(&id, b, version))
                .collect()
        })
        .unwrap_or_default();
    paginate(
        results,
        param(&params, "start_cursor").as_deref(),
        size,
        "block",
    )
}

/// A block to create, checked, with its own children.
pub(super) struct NewBlock {
    kind: String,
    payload: Value,
    children: Vec<NewBlock>,
}

/// The block types the simulator creates: those with rich text, code and dividers
/// (reference/block).
const TEXT_BLOCKS: [&str; 10] = [
    "paragraph",
    "heading_1",
    "heading_2",
    "heading_3",
    "bulleted_list_item",
    "numbered_list_item",
    "to_do",
    "quote",
    "callout",
    "toggle",
];

pub(super) fn check_children(children: &[Value], depth: usize) -> Result<Vec<NewBlock>, ApiError> {
    if children.len() > 100 {
        return Err(ApiError::validation(format!(
            "body failed validation: body.children.length should be ≤ `100`, instead was `{}`.",
            children.len()
        )));
    }
    children
        .iter()
        .enumerate()
        .map(|(i, child)| {
            let kind = child["type"].as_str().ok_or_else(|| ApiError::validation(format!("body.children[{i}].type should be defined")))?;
            let known = TEXT_BLOCKS.contains(&kind) || kind == "code" || kind == "divider";
            if !known {
                return Err(ApiError::validation(format!("body.children[{i}].type `{kind}` is not supported by the simulator")));
            }
            let mut payload = child.get(kind).cloned().ok_or_else(|| ApiError::validation(format!("body.children[{i}].{kind} should be defined, instead was `undefined`.")))?;
            let nested = payload.as_object_mut().and_then(|p| p.remove("children")).and_then(|c| c.as_array().cloned()).unwrap_or_default();
            if !nested.is_empty() && depth >= 2 {
                return Err(ApiError::validation("body failed validation: blocks may be nested at most two levels deep in one request."));
            }
            let payload = match kind {
                "divider" => json!({}),
                "code" => code_payload(&payload, &format!("body.children[{i}].code"))?,
                _ => {
                    let rich_text = payload["rich_text"].as_array().cloned().unwrap_or_default();
                    let stored = check_rich_text(&rich_text, &format!("body.children[{i}].{kind}.rich_text"))?;
                    payload["rich_text"] = Value::Array(stored);
                    // Notion fills in the block's colour when the request leaves it out, and a
                    // to-do's `checked`.
                    if payload.get("color").is_none() {
                        payload["color"] = json!("default");
                    }
                    if kind == "to_do" && payload.get("checked").is_none() {
                        payload["checked"] = json!(false);
                    }
                    payload
                }
            };
            Ok(NewBlock { kind: kind.to_string(), payload, children: check_children(&nested, depth + 1)? })
        })
        .collect()
}

/// A code block's object as Notion stores it: `caption`, `rich_text` and a `language` it knows
/// (any other is a validation error listing them; reference/block, "Code").
fn code_payload(payload: &Value, path: &str) -> Result<Value, ApiError> {
    let language = payload["language"].as_str().unwrap_or_default();
    if !crate::notion::wire::CODE_LANGUAGES.contains(&language) {
        let known: Vec<String> = crate::notion::wire::CODE_LANGUAGES
            .iter()
            .map(|l| format!("`\"{l}\"`"))
            .collect();
        return Err(ApiError::validation(format!(
            "body failed validation: {path}.language should be {}, instead was `{}`.",
            known.join(", "),
            payload["language"]
        )));
    }
    let rich_text = payload["rich_text"].as_array().cloned().unwrap_or_default();
    let caption = payload["caption"].as_array().cloned().unwrap_or_default();
    Ok(json!({
        "caption": check_rich_text(&caption, &format!("{path}.caption"))?,
        "rich_text": check_rich_text(&rich_text, &format!("{path}.rich_text"))?,
        "language": language,
    }))
}

pub(super) fn store_blocks(
    workspace: &mut Workspace,
    parent: &str,
    blocks: Vec<NewBlock>,
    after: Option<usize>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut insert_at = after;
    for mut block in blocks {
        let id = workspace.new_id();
        for field in ["rich_text", "caption"] {
            if let Some(items) = block.payload.get_mut(field).and_then(Value::as_array_mut) {
                workspace.name_mentions(items);
            }
        }
        let record = BlockRecord {
            id: id.clone(),
            kind: block.kind,
            payload: block.payload,
            created: minute(now),
            has_children: !block.children.is_empty(),
        };
        let siblings = workspace.blocks.entry(parent.to_string()).or_default();
        match insert_at {
            Some(position) => {
                siblings.insert(position.min(siblings.len()), record);
                insert_at = Some(position + 1);
            }
            None => siblings.push(record),
        }
        store_blocks(workspace, &id, block.children, None, now);
        ids.push(id);
    }
    workspace.version += 1;
    ids
}

pub async fn append_block_children(
    state: Shared,
    Extension(Version(version)): Extension<Version>,
    Extension(super::Actor(actor)): Extension<super::Actor>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let id = canonical(&id, "block")?;
    let body = body_json(&bytes)?;
    match version {
        ApiVersion::V2025_09_03 => reject_unknown(&body, &["children", "after"])?,
        ApiVersion::V2026_03_11 => reject_unknown(&body, &["children", "position"])?,
    }
    let children = body
        .get("children")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::validation("body.children should be defined, instead was `undefined`.")
        })?;
    let blocks = check_children(children, 1)?;
    let now = state.now();
    let mut workspace = lock(&state.workspace);
    if let Some(&index) = workspace.index.get(&id)
        && workspace.pages[index].in_trash
    {
        return Err(ApiError::validation(
            "Can't edit block that is archived. You must unarchive the block before editing.",
        ));
    }
    let known = workspace.index.contains_key(&id)
        || workspace.blocks.values().flatten().any(|b| b.id == id);
    if !known {
        return Err(ApiError::not_found("block", &id));
    }
    let siblings: Vec<String> = workspace
        .blocks
        .get(&id)
        .map(|b| b.iter().map(|b| b.id.clone()).collect())
        .unwrap_or_default();
    let after_block = |block: &str| -> Result<usize, ApiError> {
        let block = canonical(block, "block")?;
        siblings
            .iter()
            .position(|s| *s == block)
            .map(|p| p + 1)
            .ok_or_else(|| ApiError::validation(format!("Block {block} is not a child of {id}.")))
    };
    let position = match (body.get("after"), body.get("position")) {
        (Some(after), _) => Some(after_block(after.as_str().unwrap_or_default())?),
        (_, Some(position)) => match position["type"].as_str() {
            Some("end") => None,
            Some("start") => Some(0),
            Some("after_block") => Some(after_block(
                position["after_block"]["id"].as_str().unwrap_or_default(),
            )?),
            _ => {
                return Err(ApiError::validation(
                    "body.position.type should be `end`, `start` or `after_block`.",
                ));
            }
        },
        _ => None,
    };
    let ids = store_blocks(&mut workspace, &id, blocks, position, now);
    if let Some(&index) = workspace.index.get(&id) {
        let source = workspace.pages[index].source;
        workspace.emit("page.content_updated", &id, source, &actor);
    }
    let created: Vec<Value> = workspace
        .blocks
        .get(&id)
        .map(|blocks| {
            blocks
                .iter()
                .filter(|b| ids.contains(&b.id))
                .map(|b| workspace.render_block(&id, b, version))
                .collect()
        })
        .unwrap_or_default();
    ok(
        json!({ "object": "list", "results": created, "next_cursor": null, "has_more": false, "type": "block", "block": {} }),
    )
}
