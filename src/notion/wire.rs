//! Notion's JSON, both ways: the serde shapes of responses, their conversion into domain types,
//! and the request bodies the client sends. The only module that knows Notion's wire format.
//!
//! Property values are read from `serde_json::Value` by a total function: a value of an unknown
//! type, or of a known type in a shape we do not expect, is kept raw instead of failing the page.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::model::ids::NotionId;
use crate::model::{
    Block, DataSource, DataSourceSummary, DateValue, FileRef, FormulaValue, Property,
    PropertySchema, PropertyValue, PropertyWrite, RichText, RollupValue, SelectOption, User,
};
use crate::notion::query::{DateCondition, Direction, Filter, Sort, TimestampField};

mod blocks;
mod page;
pub use blocks::{AppendPosition, CODE_LANGUAGES, WireCreated, append_body, create_page_body};
pub use page::WirePage;

/// Notion's error body (reference/status-codes): `{"object": "error", "status", "code",
/// "message", "request_id", "additional_data"?}`. Every field but the last two is required, so a
/// body of another shape (a proxy's HTML page, a load balancer's JSON) is not taken for one.
#[derive(Debug, Deserialize)]
pub struct WireError {
    // Read by serde only: their presence is what makes a body Notion's error.
    #[expect(dead_code, reason = "required for the shape check, never read")]
    pub object: WireErrorTag,
    #[expect(
        dead_code,
        reason = "required for the shape check; the HTTP status is used"
    )]
    pub status: u16,
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub request_id: Option<String>,
    /// What tells the user what to do: `integration_id` on 404, `rate_limit_reason` on 429.
    #[serde(default)]
    pub additional_data: Option<Map<String, Value>>,
}

/// The `object` tag of an error body: only `"error"` deserialises.
#[derive(Debug, Deserialize)]
pub enum WireErrorTag {
    #[serde(rename = "error")]
    Error,
}

/// `additional_data` as text: strings as they are, arrays joined with ", ", anything else as JSON.
pub fn additional_data_text(
    data: Option<Map<String, Value>>,
) -> std::collections::BTreeMap<String, String> {
    data.unwrap_or_default()
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(text) => text,
                Value::Array(items) => items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .map_or_else(|| item.to_string(), str::to_string)
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            (key, text)
        })
        .collect()
}

/// A paginated list response (`object: "list"`).
#[derive(Debug, Deserialize)]
pub struct WireList<T> {
    pub results: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub next_cursor: Option<String>,
    #[serde(default)]
    pub request_status: Option<WireRequestStatus>,
}

/// `request_status` of a data source query: `incomplete` when the 10,000-row cap was hit.
#[derive(Debug, Deserialize)]
pub struct WireRequestStatus {
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Deserialize)]
pub struct WireUser {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub person: Option<WirePerson>,
}

#[derive(Debug, Deserialize)]
pub struct WirePerson {
    #[serde(default)]
    pub email: Option<String>,
}

impl From<WireUser> for User {
    fn from(user: WireUser) -> Self {
        User {
            id: user.id,
            name: user.name,
            email: user.person.and_then(|person| person.email),
            kind: user.kind,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WireDataSourceRef {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// `GET /v1/databases/{id}` (2025-09-03 and later).
#[derive(Debug, Deserialize)]
pub struct WireDatabase {
    pub id: String,
    #[serde(default)]
    pub data_sources: Vec<WireDataSourceRef>,
}

/// A data source object (retrieve, search results).
#[derive(Debug, Deserialize)]
pub struct WireDataSource {
    pub id: String,
    #[serde(default)]
    pub title: Vec<Value>,
    #[serde(default)]
    pub parent: Option<Value>,
    #[serde(default)]
    pub properties: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
pub struct WireUserRef {
    pub id: String,
}

/// A block object, reduced to what we read.
#[derive(Debug, Deserialize)]
pub struct WireBlock {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub has_children: bool,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A property item from `GET /v1/pages/{id}/properties/{property_id}`: either one value or a
/// paginated list of items.
#[derive(Debug, Deserialize)]
pub struct WirePropertyItemPage {
    pub object: String,
    #[serde(default)]
    pub results: Vec<Value>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub next_cursor: Option<String>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl WireDataSource {
    pub fn into_summary(self) -> Result<DataSourceSummary, String> {
        let database_id = self.database_id();
        Ok(DataSourceSummary {
            id: NotionId::parse(&self.id).map_err(|error| error.to_string())?,
            name: plain_text_of(&self.title),
            database_id,
        })
    }

    pub fn into_data_source(self) -> Result<DataSource, String> {
        let database_id = self.database_id();
        let mut properties: std::collections::BTreeMap<String, PropertySchema> = self
            .properties
            .iter()
            .map(|(name, schema)| (name.clone(), parse_property_schema(name, schema)))
            .collect();
        // Rollups first: a formula may depend on a relation through a rollup.
        for (kind, read) in [
            ("rollup", rollup_relation as fn(&Value, &_) -> Vec<String>),
            ("formula", formula_relations),
        ] {
            let found: Vec<(String, Vec<String>)> = self
                .properties
                .iter()
                .filter(|(_, schema)| str_field(schema, "type").as_deref() == Some(kind))
                .map(|(name, schema)| (name.clone(), read(schema, &properties)))
                .collect();
            for (name, relations) in found {
                if let Some(schema) = properties.get_mut(&name) {
                    schema.computed_from = relations;
                }
            }
        }
        Ok(DataSource {
            id: NotionId::parse(&self.id).map_err(|error| error.to_string())?,
            name: plain_text_of(&self.title),
            database_id,
            properties,
        })
    }

    fn database_id(&self) -> Option<NotionId> {
        let parent = self.parent.as_ref()?;
        let id = parent.get("database_id").and_then(Value::as_str)?;
        NotionId::parse(id).ok()
    }
}

impl From<WireBlock> for Block {
    fn from(block: WireBlock) -> Self {
        let text = block
            .rest
            .get(&block.kind)
            .and_then(|payload| payload.get("rich_text"))
            .and_then(Value::as_array)
            .map(|items| plain_text_of(items))
            .unwrap_or_default();
        Block {
            id: block.id,
            kind: block.kind,
            text,
            has_children: block.has_children,
        }
    }
}

fn parse_property_schema(name: &str, schema: &Value) -> PropertySchema {
    let kind = str_field(schema, "type").unwrap_or_default();
    let options = schema
        .get(&kind)
        .and_then(|config| config.get("options"))
        .and_then(Value::as_array)
        .map(|options| options.iter().filter_map(parse_option).collect())
        .unwrap_or_default();
    let groups = schema
        .get(&kind)
        .and_then(|config| config.get("groups"))
        .and_then(Value::as_array)
        .map(|groups| {
            groups
                .iter()
                .filter_map(|group| {
                    Some(crate::model::StatusGroup {
                        name: str_field(group, "name")?,
                        option_ids: group
                            .get("option_ids")
                            .and_then(Value::as_array)
                            .map(|ids| {
                                ids.iter()
                                    .filter_map(|id| id.as_str().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    PropertySchema {
        id: str_field(schema, "id").unwrap_or_default(),
        name: str_field(schema, "name").unwrap_or_else(|| name.to_string()),
        kind,
        options,
        computed_from: Vec::new(),
        groups,
    }
}

/// The relation a rollup is computed from (reference/property-object): its
/// `relation_property_id`, or the relation named by `relation_property_name`.
fn rollup_relation(
    schema: &Value,
    properties: &std::collections::BTreeMap<String, PropertySchema>,
) -> Vec<String> {
    let Some(config) = schema.get("rollup") else {
        return Vec::new();
    };
    let by_id = str_field(config, "relation_property_id").filter(|id| {
        properties
            .values()
            .any(|p| p.id == *id && p.kind == "relation")
    });
    by_id
        .or_else(|| {
            let name = str_field(config, "relation_property_name")?;
            properties
                .get(&name)
                .filter(|p| p.kind == "relation")
                .map(|p| p.id.clone())
        })
        .into_iter()
        .collect()
}

/// The relations a formula is computed from: those its expression mentions, directly or through
/// a rollup, as `prop("Name")` or as a `{{notion:block_property:<id>:…}}` token.
fn formula_relations(
    schema: &Value,
    properties: &std::collections::BTreeMap<String, PropertySchema>,
) -> Vec<String> {
    let expression = schema
        .pointer("/formula/expression")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mentions = |property: &PropertySchema| {
        let decoded = percent_encoding::percent_decode_str(&property.id).decode_utf8_lossy();
        expression.contains(&format!("prop(\"{}\")", property.name))
            || expression.contains(&format!("block_property:{}:", property.id))
            || expression.contains(&format!("block_property:{decoded}:"))
    };
    let mut relations: Vec<String> = properties
        .values()
        .filter(|property| mentions(property))
        .flat_map(|property| match property.kind.as_str() {
            "relation" => vec![property.id.clone()],
            "rollup" => property.computed_from.clone(),
            _ => Vec::new(),
        })
        .collect();
    relations.sort();
    relations.dedup();
    relations
}

/// Page objects return at most this many references per property (reference/retrieve-a-page,
/// "Limits"): people, relations, and mentions inside title and rich text.
pub const REFERENCE_LIMIT: usize = 25;

/// Reads one property of a page (`{"id", "type", "<type>": value}`).
///
/// A value is marked `truncated` when it may be incomplete: a relation that says `has_more`, and
/// (since Notion cuts them without a flag) a people list of 25 or more, or a text with 25 or more
/// mentions.
pub fn parse_property(value: Value) -> Property {
    let id = str_field(&value, "id").unwrap_or_default();
    let flagged = value.get("has_more").and_then(Value::as_bool) == Some(true);
    let value = parse_value(value);
    Property {
        id,
        truncated: truncation(flagged, &value),
        value,
    }
}

/// Whether a value read from a page object may be incomplete: flagged `has_more`, or at the
/// reference limit (Notion cuts people and mentions without a flag).
fn truncation(flagged: bool, value: &PropertyValue) -> bool {
    let at_limit = match value {
        PropertyValue::People(people) => people.len() >= REFERENCE_LIMIT,
        PropertyValue::Title(text) | PropertyValue::RichText(text) => {
            text.iter().filter(|piece| piece.kind == "mention").count() >= REFERENCE_LIMIT
        }
        _ => false,
    };
    flagged || at_limit
}

/// Reads a typed value (`{"type": t, t: ...}`), keeping it raw when it cannot be read.
fn parse_value(value: Value) -> PropertyValue {
    let type_name = str_field(&value, "type").unwrap_or_default();
    let payload = value.get(&type_name).cloned().unwrap_or(Value::Null);
    known_value(&type_name, &payload).unwrap_or(PropertyValue::Unknown {
        type_name,
        raw: value,
    })
}

fn known_value(type_name: &str, payload: &Value) -> Option<PropertyValue> {
    Some(match type_name {
        "title" => PropertyValue::Title(rich_texts(payload)?),
        "rich_text" => PropertyValue::RichText(rich_texts(payload)?),
        "number" => PropertyValue::Number(nullable(payload, Value::as_f64)?),
        "select" => PropertyValue::Select(nullable(payload, parse_option)?),
        "status" => PropertyValue::Status(nullable(payload, parse_option)?),
        "multi_select" => PropertyValue::MultiSelect(all(payload, parse_option)?),
        "date" => PropertyValue::Date(nullable(payload, parse_date)?),
        "people" => PropertyValue::People(all(payload, parse_user)?),
        "files" => PropertyValue::Files(all(payload, parse_file)?),
        "checkbox" => PropertyValue::Checkbox(payload.as_bool()?),
        "url" => PropertyValue::Url(nullable(payload, as_string)?),
        "email" => PropertyValue::Email(nullable(payload, as_string)?),
        "phone_number" => PropertyValue::PhoneNumber(nullable(payload, as_string)?),
        "formula" => PropertyValue::Formula(parse_formula(payload)?),
        "relation" => PropertyValue::Relation(all(payload, |item| str_field(item, "id"))?),
        "rollup" => parse_rollup(payload)?,
        "unique_id" => PropertyValue::UniqueId {
            prefix: payload.get("prefix").and_then(as_string),
            number: payload.get("number").and_then(Value::as_i64),
        },
        "created_time" => PropertyValue::CreatedTime(as_string(payload)?),
        "last_edited_time" => PropertyValue::LastEditedTime(as_string(payload)?),
        "created_by" => PropertyValue::CreatedBy(parse_user(payload)?),
        "last_edited_by" => PropertyValue::LastEditedBy(parse_user(payload)?),
        "verification" => PropertyValue::Verification(payload.clone()),
        _ => return None,
    })
}

/// `None` when the shape is wrong; `Some(None)` for JSON null.
fn nullable<T>(payload: &Value, read: impl Fn(&Value) -> Option<T>) -> Option<Option<T>> {
    if payload.is_null() {
        Some(None)
    } else {
        read(payload).map(Some)
    }
}

fn all<T>(payload: &Value, read: impl Fn(&Value) -> Option<T>) -> Option<Vec<T>> {
    payload.as_array()?.iter().map(read).collect()
}

fn as_string(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

fn str_field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(as_string)
}

fn rich_texts(payload: &Value) -> Option<Vec<RichText>> {
    all(payload, parse_rich_text)
}

fn parse_rich_text(item: &Value) -> Option<RichText> {
    let kind = str_field(item, "type").unwrap_or_else(|| "text".to_string());
    let plain_text = str_field(item, "plain_text")
        .or_else(|| item.get("text").and_then(|text| str_field(text, "content")))?;
    Some(RichText {
        plain_text,
        href: str_field(item, "href"),
        kind,
    })
}

fn plain_text_of(items: &[Value]) -> String {
    items
        .iter()
        .filter_map(parse_rich_text)
        .map(|piece| piece.plain_text)
        .collect()
}

fn parse_option(option: &Value) -> Option<SelectOption> {
    Some(SelectOption {
        id: str_field(option, "id"),
        name: str_field(option, "name")?,
        color: str_field(option, "color"),
    })
}

fn parse_date(date: &Value) -> Option<DateValue> {
    Some(DateValue {
        start: str_field(date, "start")?,
        end: str_field(date, "end"),
        time_zone: str_field(date, "time_zone"),
    })
}

fn parse_user(user: &Value) -> Option<User> {
    serde_json::from_value::<WireUser>(user.clone())
        .ok()
        .map(User::from)
}

fn parse_file(file: &Value) -> Option<FileRef> {
    let kind = str_field(file, "type").unwrap_or_default();
    Some(FileRef {
        name: str_field(file, "name")?,
        url: file
            .get(&kind)
            .and_then(|payload| str_field(payload, "url")),
    })
}

fn parse_formula(payload: &Value) -> Option<FormulaValue> {
    let kind = str_field(payload, "type")?;
    let value = payload.get(&kind).unwrap_or(&Value::Null);
    Some(match kind.as_str() {
        "string" => FormulaValue::String(nullable(value, as_string)?),
        "number" => FormulaValue::Number(nullable(value, Value::as_f64)?),
        "boolean" => FormulaValue::Boolean(nullable(value, Value::as_bool)?),
        "date" => FormulaValue::Date(nullable(value, parse_date)?),
        _ => return None,
    })
}

fn parse_rollup(payload: &Value) -> Option<PropertyValue> {
    let kind = str_field(payload, "type")?;
    let value = payload.get(&kind).unwrap_or(&Value::Null);
    let result = match kind.as_str() {
        "number" => RollupValue::Number(nullable(value, Value::as_f64)?),
        "date" => RollupValue::Date(nullable(value, parse_date)?),
        "array" => RollupValue::Array(value.as_array()?.iter().cloned().map(parse_value).collect()),
        "incomplete" => RollupValue::Incomplete,
        "unsupported" => RollupValue::Unsupported,
        _ => return None,
    };
    Some(PropertyValue::Rollup {
        function: str_field(payload, "function"),
        result,
    })
}

/// Joins the items of a paginated property item list into one value of the property's type.
///
/// `kind` is the property type; each item carries one element (`{"type":"relation","relation":{"id"}}`).
/// A rollup's list holds the items it is computed over, and its value is in `property_item` of
/// the last page (reference/retrieve-a-page-property, "Rollup properties"): a calculated rollup's
/// value as it stands there, a "show original" rollup's (an empty array) filled with the items.
pub fn join_property_items(
    kind: &str,
    items: &[Value],
    last_property_item: &Value,
) -> PropertyValue {
    if kind == "rollup" {
        let rollup = last_property_item
            .get("rollup")
            .cloned()
            .unwrap_or(Value::Null);
        let mut value = json!({ "type": "rollup", "rollup": rollup });
        if value.pointer("/rollup/type").and_then(Value::as_str) == Some("array") {
            value["rollup"]["array"] = Value::Array(items.to_vec());
        }
        return parse_value(value);
    }
    let elements: Vec<Value> = items
        .iter()
        .filter_map(|item| item.get(kind).cloned())
        .collect();
    parse_value(json!({ "type": kind, kind: elements }))
}

/// Reads a single (non-paginated) property item.
pub fn property_item_value(item: Map<String, Value>) -> PropertyValue {
    parse_value(Value::Object(item))
}

/// The JSON of a query filter.
pub fn filter_json(filter: &Filter) -> Value {
    match filter {
        Filter::Timestamp { field, condition } => {
            let field = match field {
                TimestampField::CreatedTime => "created_time",
                TimestampField::LastEditedTime => "last_edited_time",
            };
            json!({ "timestamp": field, field: date_condition_json(condition) })
        }
        Filter::StatusEquals { property, name } => {
            json!({ "property": property, "status": { "equals": name } })
        }
        Filter::UniqueIdEquals { property, number } => {
            json!({ "property": property, "unique_id": { "equals": number } })
        }
        Filter::And(filters) => {
            json!({ "and": filters.iter().map(filter_json).collect::<Vec<_>>() })
        }
        Filter::Or(filters) => json!({ "or": filters.iter().map(filter_json).collect::<Vec<_>>() }),
    }
}

fn date_condition_json(condition: &DateCondition) -> Value {
    let (operator, value) = match condition {
        DateCondition::OnOrAfter(value) => ("on_or_after", value),
        DateCondition::After(value) => ("after", value),
        DateCondition::Before(value) => ("before", value),
        DateCondition::OnOrBefore(value) => ("on_or_before", value),
    };
    json!({ operator: value })
}

/// The JSON of query sorts.
pub fn sorts_json(sorts: &[Sort]) -> Value {
    sorts
        .iter()
        .map(|sort| {
            let direction = match sort.direction() {
                Direction::Ascending => "ascending",
                Direction::Descending => "descending",
            };
            match sort {
                Sort::Timestamp(field, _) => json!({
                    "timestamp": match field {
                        TimestampField::CreatedTime => "created_time",
                        TimestampField::LastEditedTime => "last_edited_time",
                    },
                    "direction": direction,
                }),
                Sort::Property(name, _) => json!({ "property": name, "direction": direction }),
            }
        })
        .collect()
}

/// The `properties` object of a page update, or the first write Notion would refuse for its
/// length: (property name, what is wrong).
pub fn property_writes_json(writes: &[(String, PropertyWrite)]) -> Result<Value, (String, String)> {
    let properties = writes
        .iter()
        .map(|(name, write)| {
            property_write_json(write)
                .map(|json| (name.clone(), json))
                .map_err(|problem| (name.clone(), problem))
        })
        .collect::<Result<Map<String, Value>, _>>()?;
    Ok(json!({ "properties": properties }))
}

fn text_items(text: &str) -> Result<Value, String> {
    let pieces = crate::notion::text::rich_text_pieces(text).map_err(|error| error.to_string())?;
    Ok(pieces
        .iter()
        .map(|piece| json!({ "type": "text", "text": { "content": piece } }))
        .collect())
}

/// A string property value within its limit in UTF-16 units (reference/request-limits).
fn bounded(value: &Option<String>, limit: usize) -> Result<&Option<String>, String> {
    let units = value.as_deref().map_or(0, crate::notion::text::utf16_len);
    if units > limit {
        return Err(format!(
            "the value is {units} UTF-16 units long; Notion accepts at most {limit}"
        ));
    }
    Ok(value)
}

fn property_write_json(write: &PropertyWrite) -> Result<Value, String> {
    use crate::notion::text::{MAX_EMAIL_OR_PHONE_UNITS, MAX_URL_UNITS};
    Ok(match write {
        PropertyWrite::Status(name) => json!({ "status": { "name": name } }),
        PropertyWrite::Select(name) => {
            json!({ "select": name.as_ref().map(|name| json!({ "name": name })) })
        }
        PropertyWrite::MultiSelect(names) => json!({
            "multi_select": names.iter().map(|name| json!({ "name": name })).collect::<Vec<_>>()
        }),
        PropertyWrite::Checkbox(checked) => json!({ "checkbox": checked }),
        PropertyWrite::Date(start) => {
            json!({ "date": start.as_ref().map(|start| json!({ "start": start })) })
        }
        PropertyWrite::Number(number) => json!({ "number": number }),
        PropertyWrite::RichText(text) => json!({ "rich_text": text_items(text)? }),
        PropertyWrite::Title(text) => json!({ "title": text_items(text)? }),
        PropertyWrite::Url(url) => json!({ "url": bounded(url, MAX_URL_UNITS)? }),
        PropertyWrite::Email(email) => {
            json!({ "email": bounded(email, MAX_EMAIL_OR_PHONE_UNITS)? })
        }
        PropertyWrite::People(ids) => {
            let people: Vec<Value> = ids
                .iter()
                .map(|id| json!({ "object": "user", "id": id }))
                .collect();
            json!({ "people": people })
        }
        PropertyWrite::Relation(ids) => {
            let pages: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
            json!({ "relation": pages })
        }
        PropertyWrite::PhoneNumber(phone) => {
            json!({ "phone_number": bounded(phone, MAX_EMAIL_OR_PHONE_UNITS)? })
        }
    })
}

/// The body of a search for the data sources the token can see (`databases`).
pub fn search_data_sources_body(start_cursor: Option<&str>) -> Value {
    let mut body = json!({
        "filter": { "property": "object", "value": "data_source" },
        "page_size": 100,
    });
    if let Some(cursor) = start_cursor {
        body["start_cursor"] = json!(cursor);
    }
    body
}

#[cfg(test)]
mod tests;
