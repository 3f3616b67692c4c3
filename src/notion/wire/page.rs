//! Page objects decoded straight from the response bytes (the sync's hot path): the page's
//! fields into typed structs, each property's JSON borrowed from the body (`RawValue`) and read
//! into its typed value without building a `serde_json::Value` tree first.
//!
//! The typed readers are a fast path, not a second definition: whenever one cannot read a
//! property (a shape it does not expect, a type it does not know), the property is read by
//! [`super::parse_property`], the total reader over `Value`, so the result is always exactly what
//! that reader gives. `tests::typed_and_value_readers_agree` holds them to it.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{WireUser, WireUserRef, parse_property, truncation};
use crate::model::ids::NotionId;
use crate::model::{
    DateValue, FileRef, FormulaValue, Property, PropertyValue, RichText, RollupValue, SelectOption,
    Task, User,
};

/// A JSON object read as `T`. Serde's derived structs also accept an array of the fields in
/// order, which the `Value` reader never takes for an object: every struct read here is wrapped,
/// so an array is refused (and the `Value` reader decides).
struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Only<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Only<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer
            .deserialize_map(Only(std::marker::PhantomData))
            .map(Obj)
    }
}

/// A page object, its properties still JSON borrowed from the response.
#[derive(Debug, Deserialize)]
pub struct WirePage<'a> {
    pub id: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub created_time: String,
    #[serde(default)]
    pub last_edited_time: String,
    #[serde(default)]
    pub created_by: Option<WireUserRef>,
    #[serde(default)]
    pub last_edited_by: Option<WireUserRef>,
    #[serde(default)]
    pub in_trash: Option<bool>,
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default, borrow)]
    pub parent: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub properties: std::collections::BTreeMap<String, &'a RawValue>,
}

impl WirePage<'_> {
    /// Converts into a task; fails only when the id is not a Notion id (or a property is not
    /// JSON that `serde_json` can hold, which a whole-body parse would have refused too).
    pub fn into_task(self) -> Result<Task, String> {
        let id = NotionId::parse(&self.id).map_err(|error| error.to_string())?;
        let data_source_id = self.parent.and_then(parent_data_source);
        let properties = self
            .properties
            .into_iter()
            .map(|(name, raw)| read_property(raw).map(|property| (name, property)))
            .collect::<Result<_, _>>()?;
        Ok(Task {
            id,
            url: self.url,
            created_time: self.created_time,
            last_edited_time: self.last_edited_time,
            created_by: self.created_by.map(|user| user.id),
            last_edited_by: self.last_edited_by.map(|user| user.id),
            in_trash: self.in_trash.or(self.archived).unwrap_or(false),
            data_source_id,
            properties,
        })
    }
}

/// `parent.data_source_id` when it is a string.
fn parent_data_source(raw: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Parent {
        data_source_id: Option<String>,
    }
    match serde_json::from_str::<Obj<Parent>>(raw.get()) {
        Ok(Obj(parent)) => parent.data_source_id,
        Err(_) => serde_json::from_str::<serde_json::Value>(raw.get())
            .ok()?
            .get("data_source_id")?
            .as_str()
            .map(str::to_string),
    }
}

/// One property: typed when the fast path can read it, else through the `Value` reader.
pub fn read_property(raw: &RawValue) -> Result<Property, String> {
    if let Some(property) = typed_property(raw.get()) {
        return Ok(property);
    }
    serde_json::from_str(raw.get())
        .map(parse_property)
        .map_err(|error| error.to_string())
}

/// The members of a property object the readers look at; the payload is the member named by
/// `type`. A duplicated member fails here (and the `Value` reader decides).
#[derive(Deserialize)]
struct Parts<'a> {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    has_more: Option<serde_json::Value>,
    #[serde(borrow)]
    title: Option<&'a RawValue>,
    #[serde(borrow)]
    rich_text: Option<&'a RawValue>,
    #[serde(borrow)]
    number: Option<&'a RawValue>,
    #[serde(borrow)]
    select: Option<&'a RawValue>,
    #[serde(borrow)]
    status: Option<&'a RawValue>,
    #[serde(borrow)]
    multi_select: Option<&'a RawValue>,
    #[serde(borrow)]
    date: Option<&'a RawValue>,
    #[serde(borrow)]
    people: Option<&'a RawValue>,
    #[serde(borrow)]
    files: Option<&'a RawValue>,
    #[serde(borrow)]
    checkbox: Option<&'a RawValue>,
    #[serde(borrow)]
    url: Option<&'a RawValue>,
    #[serde(borrow)]
    email: Option<&'a RawValue>,
    #[serde(borrow)]
    phone_number: Option<&'a RawValue>,
    #[serde(borrow)]
    formula: Option<&'a RawValue>,
    #[serde(borrow)]
    relation: Option<&'a RawValue>,
    #[serde(borrow)]
    rollup: Option<&'a RawValue>,
    #[serde(borrow)]
    unique_id: Option<&'a RawValue>,
    #[serde(borrow)]
    created_time: Option<&'a RawValue>,
    #[serde(borrow)]
    created_by: Option<&'a RawValue>,
    #[serde(borrow)]
    last_edited_time: Option<&'a RawValue>,
    #[serde(borrow)]
    last_edited_by: Option<&'a RawValue>,
}

impl<'a> Parts<'a> {
    /// The payload of a known type (`null` when absent, as the `Value` reader takes it), or
    /// `None` for a type the fast path leaves to the `Value` reader.
    fn payload(&self, kind: &str) -> Option<&'a str> {
        let member = match kind {
            "title" => self.title,
            "rich_text" => self.rich_text,
            "number" => self.number,
            "select" => self.select,
            "status" => self.status,
            "multi_select" => self.multi_select,
            "date" => self.date,
            "people" => self.people,
            "files" => self.files,
            "checkbox" => self.checkbox,
            "url" => self.url,
            "email" => self.email,
            "phone_number" => self.phone_number,
            "formula" => self.formula,
            "relation" => self.relation,
            "rollup" => self.rollup,
            "unique_id" => self.unique_id,
            "created_time" => self.created_time,
            "created_by" => self.created_by,
            "last_edited_time" => self.last_edited_time,
            "last_edited_by" => self.last_edited_by,
            _ => return None,
        };
        Some(member.map_or("null", RawValue::get))
    }
}

fn typed_property(json: &str) -> Option<Property> {
    let Obj(parts): Obj<Parts<'_>> = serde_json::from_str(json).ok()?;
    let kind = parts.kind.as_deref()?;
    let value = typed_value(kind, parts.payload(kind)?)?;
    let flagged = parts.has_more.as_ref().and_then(serde_json::Value::as_bool) == Some(true);
    Some(Property {
        id: parts.id.unwrap_or_default(),
        truncated: truncation(flagged, &value),
        value,
    })
}

fn read<'a, T: Deserialize<'a>>(json: &'a str) -> Option<T> {
    serde_json::from_str(json).ok()
}

fn typed_value(kind: &str, payload: &str) -> Option<PropertyValue> {
    Some(match kind {
        "title" => PropertyValue::Title(rich_texts(read(payload)?)?),
        "rich_text" => PropertyValue::RichText(rich_texts(read(payload)?)?),
        "number" => PropertyValue::Number(read(payload)?),
        "select" => {
            PropertyValue::Select(read::<Option<Obj<WireOption>>>(payload)?.map(|o| o.0.into()))
        }
        "status" => {
            PropertyValue::Status(read::<Option<Obj<WireOption>>>(payload)?.map(|o| o.0.into()))
        }
        "multi_select" => PropertyValue::MultiSelect(
            read::<Vec<Obj<WireOption>>>(payload)?
                .into_iter()
                .map(|o| o.0.into())
                .collect(),
        ),
        "date" => PropertyValue::Date(read::<Option<Obj<WireDate>>>(payload)?.map(|d| d.0.into())),
        // Users are read by the same derived `WireUser` as the `Value` reader's `from_value`
        // (which takes an array of fields too): not wrapped, so both agree.
        "people" => PropertyValue::People(
            read::<Vec<WireUser>>(payload)?
                .into_iter()
                .map(User::from)
                .collect(),
        ),
        "files" => PropertyValue::Files(
            read::<Vec<Obj<WireFile>>>(payload)?
                .into_iter()
                .map(|file| file.0.into_file())
                .collect::<Option<_>>()?,
        ),
        "checkbox" => PropertyValue::Checkbox(read(payload)?),
        "url" => PropertyValue::Url(read(payload)?),
        "email" => PropertyValue::Email(read(payload)?),
        "phone_number" => PropertyValue::PhoneNumber(read(payload)?),
        "formula" => PropertyValue::Formula(read::<Obj<WireFormula>>(payload)?.0.into_value()?),
        "relation" => PropertyValue::Relation(
            read::<Vec<Obj<WireUserRef>>>(payload)?
                .into_iter()
                .map(|reference| reference.0.id)
                .collect(),
        ),
        "rollup" => read::<Obj<WireRollup>>(payload)?.0.into_value()?,
        "unique_id" => {
            let Obj(unique): Obj<WireUniqueId> = read(payload)?;
            PropertyValue::UniqueId {
                prefix: unique.prefix,
                number: unique.number,
            }
        }
        "created_time" => PropertyValue::CreatedTime(read(payload)?),
        "last_edited_time" => PropertyValue::LastEditedTime(read(payload)?),
        "created_by" => PropertyValue::CreatedBy(read::<WireUser>(payload)?.into()),
        "last_edited_by" => PropertyValue::LastEditedBy(read::<WireUser>(payload)?.into()),
        _ => return None,
    })
}

/// A rich text item as the `Value` reader takes it: `plain_text`, else `text.content`.
#[derive(Deserialize)]
struct WireRichText {
    #[serde(rename = "type")]
    kind: Option<String>,
    plain_text: Option<String>,
    text: Option<Obj<WireTextContent>>,
    href: Option<String>,
}

#[derive(Deserialize)]
struct WireTextContent {
    content: Option<String>,
}

/// `None` when an item has no text at all (the `Value` reader then keeps the property raw).
fn rich_texts(items: Vec<Obj<WireRichText>>) -> Option<Vec<RichText>> {
    items
        .into_iter()
        .map(|Obj(item)| {
            Some(RichText {
                plain_text: item
                    .plain_text
                    .or_else(|| item.text.and_then(|text| text.0.content))?,
                href: item.href,
                kind: item.kind.unwrap_or_else(|| "text".to_string()),
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct WireOption {
    id: Option<String>,
    name: String,
    color: Option<String>,
}

impl From<WireOption> for SelectOption {
    fn from(option: WireOption) -> Self {
        SelectOption {
            id: option.id,
            name: option.name,
            color: option.color,
        }
    }
}

#[derive(Deserialize)]
struct WireDate {
    start: String,
    end: Option<String>,
    time_zone: Option<String>,
}

impl From<WireDate> for DateValue {
    fn from(date: WireDate) -> Self {
        DateValue {
            start: date.start,
            end: date.end,
            time_zone: date.time_zone,
        }
    }
}

#[derive(Deserialize)]
struct WireUrl {
    url: Option<String>,
}

#[derive(Deserialize)]
struct WireFile {
    name: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    file: Option<Obj<WireUrl>>,
    external: Option<Obj<WireUrl>>,
}

impl WireFile {
    /// `None` for a kind other than `file` and `external` (left to the `Value` reader).
    fn into_file(self) -> Option<FileRef> {
        let url = match self.kind.as_deref() {
            Some("file") => self.file.and_then(|payload| payload.0.url),
            Some("external") => self.external.and_then(|payload| payload.0.url),
            _ => return None,
        };
        Some(FileRef {
            name: self.name,
            url,
        })
    }
}

#[derive(Deserialize)]
struct WireFormula {
    #[serde(rename = "type")]
    kind: String,
    string: Option<String>,
    number: Option<f64>,
    boolean: Option<bool>,
    date: Option<Obj<WireDate>>,
}

impl WireFormula {
    fn into_value(self) -> Option<FormulaValue> {
        Some(match self.kind.as_str() {
            "string" => FormulaValue::String(self.string),
            "number" => FormulaValue::Number(self.number),
            "boolean" => FormulaValue::Boolean(self.boolean),
            "date" => FormulaValue::Date(self.date.map(|date| date.0.into())),
            _ => return None,
        })
    }
}

/// A rollup of a number or a date; arrays are left to the `Value` reader.
#[derive(Deserialize)]
struct WireRollup {
    #[serde(rename = "type")]
    kind: String,
    function: Option<String>,
    number: Option<f64>,
    date: Option<Obj<WireDate>>,
}

impl WireRollup {
    fn into_value(self) -> Option<PropertyValue> {
        let result = match self.kind.as_str() {
            "number" => RollupValue::Number(self.number),
            "date" => RollupValue::Date(self.date.map(|date| date.0.into())),
            "incomplete" => RollupValue::Incomplete,
            "unsupported" => RollupValue::Unsupported,
            _ => return None,
        };
        Some(PropertyValue::Rollup {
            function: self.function,
            result,
        })
    }
}

#[derive(Deserialize)]
struct WireUniqueId {
    prefix: Option<String>,
    number: Option<i64>,
}
