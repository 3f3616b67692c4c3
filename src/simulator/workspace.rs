//! The simulator's in-memory workspace: one database, its data sources, generated tasks, users
//! and page content; rendering as Notion JSON and applying writes the way Notion validates them.

use std::collections::HashMap;

use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};
use rand::RngExt;
use rand::rngs::SmallRng;
use serde_json::{Map, Value, json};

use super::ApiError;
use crate::notion::ApiVersion;

/// References beyond this many are cut from property values in page objects
/// (reference/retrieve-a-page, "Limits").
pub const REFERENCE_LIMIT: usize = 25;
/// Most UTF-16 code units in one rich text item's content or link (reference/request-limits).
pub const TEXT_LIMIT: usize = 2000;
/// Most items in one rich text array (reference/request-limits).
pub const RICH_TEXT_ITEMS: usize = 100;
/// Most UTF-16 code units of a `url` value; of an `email` or `phone_number` value.
pub const URL_LIMIT: usize = 2000;
pub const EMAIL_OR_PHONE_LIMIT: usize = 200;

/// A length as Notion measures it: JavaScript's `.length`, in UTF-16 code units.
pub fn js_length(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Notion's message for a value over its length limit, at `path` of the request.
pub fn too_long(path: &str, limit: usize, length: usize) -> ApiError {
    ApiError::validation(format!(
        "body failed validation: {path}.length should be ≤ `{limit}`, instead was `{length}`."
    ))
}

/// Checks a rich text array of a request (at `path`, e.g. `body.properties.Notes.rich_text`)
/// as Notion does and returns it as stored: at most 100 items, each text's content and link
/// within 2,000 UTF-16 units; every item with all its `annotations` (the request's, the rest
/// default) and `href` (the link); a user mention as Notion returns it, its `plain_text` filled
/// in by [`Workspace::name_mentions`] (reference/rich-text).
pub fn check_rich_text(items: &[Value], path: &str) -> Result<Vec<Value>, ApiError> {
    if items.len() > RICH_TEXT_ITEMS {
        return Err(too_long(path, RICH_TEXT_ITEMS, items.len()));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let annotations = annotations(&item["annotations"], &format!("{path}[{index}]"))?;
            if let Some(mention) = item.get("mention") {
                let user = mention["user"]["id"].as_str().ok_or_else(|| {
                    ApiError::validation(format!(
                        "body failed validation: {path}[{index}].mention.user.id should be defined, instead was `undefined`. (the simulator models user mentions only)"
                    ))
                })?;
                return Ok(json!({
                    "type": "mention",
                    "mention": { "type": "user", "user": { "object": "user", "id": user } },
                    "annotations": annotations,
                    "plain_text": "",
                    "href": null,
                }));
            }
            let content = item["text"]["content"].as_str().ok_or_else(|| {
                ApiError::validation(format!(
                    "body failed validation: {path}[{index}].text.content should be a string, instead was `undefined`."
                ))
            })?;
            let length = js_length(content);
            if length > TEXT_LIMIT {
                return Err(too_long(&format!("{path}[{index}].text.content"), TEXT_LIMIT, length));
            }
            let link = item["text"]["link"]["url"].as_str();
            if let Some(url) = link {
                let length = js_length(url);
                if length > TEXT_LIMIT {
                    return Err(too_long(&format!("{path}[{index}].text.link.url"), TEXT_LIMIT, length));
                }
            }
            let mut stored = rich_text(content);
            stored["annotations"] = annotations;
            if let Some(url) = link {
                stored["text"]["link"] = json!({ "url": url });
                stored["href"] = json!(url);
            }
            Ok(stored)
        })
        .collect()
}

/// A request item's annotations as Notion stores them: every field, `false` and `"default"`
/// where the request leaves one out.
fn annotations(requested: &Value, path: &str) -> Result<Value, ApiError> {
    let mut stored = json!({ "bold": false, "italic": false, "strikethrough": false, "underline": false, "code": false, "color": "default" });
    let Some(fields) = requested.as_object() else {
        return Ok(stored);
    };
    for (key, value) in fields {
        let valid = match key.as_str() {
            "bold" | "italic" | "strikethrough" | "underline" | "code" => value.is_boolean(),
            "color" => value.is_string(),
            _ => false,
        };
        if !valid {
            return Err(ApiError::validation(format!(
                "body failed validation: {path}.annotations.{key} is not valid."
            )));
        }
        stored[key] = value.clone();
    }
    Ok(stored)
}

pub struct PropDef {
    /// As Notion shows it: short, sometimes percent-encoded.
    pub id: String,
    pub name: String,
    pub kind: String,
    /// The type's configuration (options of selects and statuses).
    pub config: Value,
}

pub struct Source {
    pub id: String,
    pub name: String,
    pub props: Vec<PropDef>,
}

impl Source {
    /// A property by name, by id as shown, or by decoded id.
    pub fn prop(&self, key: &str) -> Option<&PropDef> {
        self.props
            .iter()
            .find(|prop| prop.name == key || prop.id == key || decode(&prop.id) == decode(key))
    }
}

pub fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

pub struct PageRecord {
    pub id: String,
    pub source: usize,
    pub created: DateTime<Utc>,
    pub edited: DateTime<Utc>,
    pub created_by: String,
    pub edited_by: String,
    pub in_trash: bool,
    pub number: i64,
    /// Stored values by property id; computed properties are not stored.
    pub values: HashMap<String, Value>,
}

pub struct BlockRecord {
    pub id: String,
    pub kind: String,
    pub payload: Value,
    pub created: DateTime<Utc>,
    pub has_children: bool,
}

pub struct Workspace {
    pub database_id: String,
    pub database_title: String,
    pub created: DateTime<Utc>,
    pub sources: Vec<Source>,
    pub pages: Vec<PageRecord>,
    pub index: HashMap<String, usize>,
    pub users: Vec<Value>,
    pub bot: Value,
    /// Children of pages and blocks, by parent id.
    pub blocks: HashMap<String, Vec<BlockRecord>>,
    pub next_number: i64,
    /// Bumped by every change; query caches key on it.
    pub version: u64,
    pub(super) rng: SmallRng,
    /// Changes a webhook subscription hears of, until delivered (`None`: no subscription).
    pub events: Option<Vec<super::webhooks::PageEvent>>,
}

/// A property value as page objects show it: people and relations cut at 25, and mentions past
/// the 25th left out of a text (reference/retrieve-a-page, "Limits"). Says whether it cut.
fn cut_references(kind: &str, mut value: Value) -> (Value, bool) {
    let Some(items) = value.as_array_mut() else {
        return (value, false);
    };
    let cut = match kind {
        "people" | "relation" if items.len() > REFERENCE_LIMIT => {
            items.truncate(REFERENCE_LIMIT);
            true
        }
        "title" | "rich_text" => {
            let mut mentions = 0;
            let before = items.len();
            items.retain(|item| {
                let mention = item["type"] == "mention";
                mentions += usize::from(mention);
                !mention || mentions <= REFERENCE_LIMIT
            });
            items.len() < before
        }
        _ => false,
    };
    (value, cut)
}

/// Timestamps as Notion shows them: rounded down to the minute.
pub fn minute(time: DateTime<Utc>) -> DateTime<Utc> {
    time.duration_trunc(Duration::minutes(1)).unwrap_or(time)
}

pub fn iso(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Workspace {
    pub fn new_id(&mut self) -> String {
        uuid(&mut self.rng)
    }

    pub fn bot_id(&self) -> String {
        self.bot["id"].as_str().unwrap_or_default().to_string()
    }

    /// The person who made the database: the first of the workspace.
    fn owner_id(&self) -> String {
        self.users
            .first()
            .and_then(|user| user["id"].as_str())
            .unwrap_or_default()
            .to_string()
    }

    fn user_ref(&self, id: &str) -> Value {
        json!({ "object": "user", "id": id })
    }

    /// Fills in the `plain_text` of user mentions as Notion shows them: `@` and the name.
    pub fn name_mentions(&self, items: &mut [Value]) {
        for item in items {
            if item["type"] == "mention" {
                let id = item["mention"]["user"]["id"].as_str().unwrap_or_default();
                let name = self
                    .find_user(id)
                    .and_then(|user| user["name"].as_str())
                    .unwrap_or_default()
                    .to_string();
                item["plain_text"] = json!(format!("@{name}"));
            }
        }
    }

    pub fn find_user(&self, key: &str) -> Option<&Value> {
        self.users
            .iter()
            .chain(std::iter::once(&self.bot))
            .find(|user| user["id"] == key || user["name"] == key)
    }

    /// The value of a property of a page, computed ones included.
    pub fn value(&self, page: &PageRecord, prop: &PropDef) -> Value {
        match prop.kind.as_str() {
            "unique_id" => json!({ "prefix": prop.config["prefix"], "number": page.number }),
            "created_time" => json!(iso(page.created)),
            "last_edited_time" => json!(iso(page.edited)),
            "created_by" => self.user_ref(&page.created_by),
            "last_edited_by" => self.user_ref(&page.edited_by),
            "formula" => {
                let estimate = self.sources[page.source]
                    .prop("Estimate")
                    .and_then(|estimate| page.values.get(&estimate.id))
                    .and_then(Value::as_f64);
                json!({ "type": "number", "number": estimate.map(|e| e * 2.0) })
            }
            "rollup" => self.rollup_value(page, prop, usize::MAX),
            _ => page.values.get(&prop.id).cloned().unwrap_or(Value::Null),
        }
    }

    /// The relations a rollup counts (the simulator's rollups are all `count` of a relation).
    pub fn rollup_relations<'a>(&self, page: &'a PageRecord, prop: &PropDef) -> &'a [Value] {
        let relation = prop.config["relation_property_name"]
            .as_str()
            .and_then(|name| self.sources[page.source].prop(name));
        relation
            .and_then(|related| page.values.get(&related.id))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// A rollup's value over the first `limit` references of its relation: page objects compute
    /// it over the first 25 (reference/retrieve-a-page, "Limits").
    pub fn rollup_value(&self, page: &PageRecord, prop: &PropDef, limit: usize) -> Value {
        let count = self.rollup_relations(page, prop).len().min(limit);
        json!({ "type": "number", "number": count, "function": "count" })
    }

    /// A page object as Notion returns it; `only` limits the properties (`filter_properties`).
    pub fn render_page(&self, page: &PageRecord, version: ApiVersion, only: &[String]) -> Value {
        let source = &self.sources[page.source];
        let mut properties = Map::new();
        for prop in &source.props {
            let wanted = only.is_empty()
                || only.iter().any(|key| {
                    *key == prop.name || *key == prop.id || decode(key) == decode(&prop.id)
                });
            if !wanted {
                continue;
            }
            let mut entry = json!({ "id": prop.id, "type": prop.kind });
            let value = match prop.kind.as_str() {
                "rollup" => self.rollup_value(page, prop, REFERENCE_LIMIT),
                _ => self.value(page, prop),
            };
            let (value, cut) = cut_references(&prop.kind, value);
            // Only relations say that they were cut (reference/page-property-values).
            if prop.kind == "relation" {
                entry["has_more"] = json!(cut);
            }
            entry[&prop.kind] = value;
            properties.insert(prop.name.clone(), entry);
        }
        let title = self.value(page, &source.props[0]);
        let slug: String = title[0]["plain_text"]
            .as_str()
            .unwrap_or("Untitled")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-");
        let mut object = json!({
            "object": "page",
            "id": page.id,
            "created_time": iso(page.created),
            "last_edited_time": iso(page.edited),
            "created_by": self.user_ref(&page.created_by),
            "last_edited_by": self.user_ref(&page.edited_by),
            "cover": null,
            "icon": null,
            "parent": { "type": "data_source_id", "data_source_id": source.id, "database_id": self.database_id },
            "in_trash": page.in_trash,
            "is_archived": page.in_trash,
            "is_locked": false,
            "properties": properties,
            "url": format!("https://www.notion.so/{slug}-{}", page.id.replace('-', "")),
            "public_url": null,
        });
        if version == ApiVersion::V2025_09_03 {
            object["archived"] = json!(page.in_trash);
        }
        object
    }

    /// A data source object as Notion returns it (reference/data-source), with the fields real
    /// responses carry even when tasksync does not read them.
    pub fn render_source(&self, source: &Source, version: ApiVersion) -> Value {
        let properties: Map<String, Value> = source
            .props
            .iter()
            .map(|prop| {
                (
                    prop.name.clone(),
                    json!({ "id": prop.id, "name": prop.name, "description": null, "type": prop.kind, prop.kind.clone(): prop.config }),
                )
            })
            .collect();
        let mut object = json!({
            "object": "data_source",
            "id": source.id,
            "created_time": iso(self.created),
            "last_edited_time": iso(self.created),
            "created_by": self.user_ref(&self.owner_id()),
            "last_edited_by": self.user_ref(&self.owner_id()),
            "title": [rich_text(&source.name)],
            "description": [],
            "icon": null,
            "cover": null,
            "parent": { "type": "database_id", "database_id": self.database_id },
            "database_parent": { "type": "workspace", "workspace": true },
            "is_inline": false,
            "in_trash": false,
            "properties": properties,
            "url": format!("https://www.notion.so/{}", source.id.replace('-', "")),
            "public_url": null,
        });
        if version == ApiVersion::V2025_09_03 {
            object["archived"] = json!(false);
        }
        object
    }

    /// A database object (reference/database): unlike pages, its timestamps are not rounded to
    /// the minute and carry a `+00:00` offset in real responses.
    pub fn render_database(&self, version: ApiVersion) -> Value {
        let sources: Vec<Value> = self
            .sources
            .iter()
            .map(|source| json!({ "id": source.id, "name": source.name }))
            .collect();
        let exact = |time: DateTime<Utc>| time.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string();
        let mut object = json!({
            "object": "database",
            "id": self.database_id,
            "created_time": exact(self.created + Duration::milliseconds(17_778)),
            "last_edited_time": exact(self.created + Duration::milliseconds(17_778)),
            "title": [rich_text(&self.database_title)],
            "description": [],
            "icon": null,
            "cover": null,
            "parent": { "type": "workspace", "workspace": true },
            "is_inline": false,
            "is_locked": false,
            "in_trash": false,
            "data_sources": sources,
            "url": format!("https://www.notion.so/{}", self.database_id.replace('-', "")),
            "public_url": null,
        });
        if version == ApiVersion::V2025_09_03 {
            object["archived"] = json!(false);
        }
        object
    }

    pub fn render_block(&self, parent: &str, block: &BlockRecord, version: ApiVersion) -> Value {
        let mut object = json!({
            "object": "block",
            "id": block.id,
            "parent": { "type": "page_id", "page_id": parent },
            "created_time": iso(block.created),
            "last_edited_time": iso(block.created),
            "created_by": self.user_ref(&self.bot_id()),
            "last_edited_by": self.user_ref(&self.bot_id()),
            "has_children": block.has_children,
            "in_trash": false,
            "type": block.kind,
        });
        object[&block.kind] = block.payload.clone();
        if version == ApiVersion::V2025_09_03 {
            object["archived"] = json!(false);
        }
        object
    }
}

impl Workspace {
    /// Notes a change for the webhook subscription, if there is one.
    pub fn emit(&mut self, kind: &'static str, entity_id: &str, source: usize, author: &str) {
        if let Some(events) = &mut self.events {
            events.push(super::webhooks::PageEvent {
                kind,
                entity_id: entity_id.to_string(),
                source,
                author: author.to_string(),
            });
        }
    }
}

pub(super) fn uuid(rng: &mut SmallRng) -> String {
    let hex = format!("{:032x}", rng.random::<u128>());
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

pub(super) fn rich_text(content: &str) -> Value {
    json!({
        "type": "text",
        "text": { "content": content, "link": null },
        "annotations": { "bold": false, "italic": false, "strikethrough": false, "underline": false, "code": false, "color": "default" },
        "plain_text": content,
        "href": null,
    })
}
