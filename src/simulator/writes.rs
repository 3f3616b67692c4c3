//! Applying writes the way Notion validates them: property values by name or id, all or
//! nothing, with Notion's messages; options created on write; pages created and edited.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::ApiError;
use super::workspace::*;

impl Workspace {
    /// Checks and converts property writes (by name or id) into stored values, all or nothing.
    pub fn prepare_writes(
        &mut self,
        source: usize,
        writes: &Map<String, Value>,
    ) -> Result<Vec<(String, Value)>, ApiError> {
        let mut prepared = Vec::new();
        for (key, input) in writes {
            let Some(prop) = self.sources[source].prop(key) else {
                return Err(ApiError::validation(format!(
                    "{key} is not a property that exists."
                )));
            };
            let (id, kind, name) = (prop.id.clone(), prop.kind.clone(), prop.name.clone());
            let value = input.get(&kind).ok_or_else(|| {
                ApiError::validation(format!(
                    "body.properties.{name}.{kind} should be defined, instead was `undefined`."
                ))
            })?;
            let stored = self.convert_write(source, &id, &kind, &name, value)?;
            prepared.push((id, stored));
        }
        Ok(prepared)
    }

    fn convert_write(
        &mut self,
        source: usize,
        prop_id: &str,
        kind: &str,
        name: &str,
        value: &Value,
    ) -> Result<Value, ApiError> {
        let invalid =
            |what: &str| ApiError::validation(format!("body.properties.{name}.{kind} {what}"));
        match kind {
            "title" | "rich_text" => {
                let items = value
                    .as_array()
                    .ok_or_else(|| invalid("should be an array"))?;
                let mut stored = check_rich_text(items, &format!("body.properties.{name}.{kind}"))?;
                self.name_mentions(&mut stored);
                Ok(Value::Array(stored))
            }
            "status" | "select" => {
                if value.is_null() {
                    return Ok(Value::Null);
                }
                let wanted = value["name"]
                    .as_str()
                    .or_else(|| value["id"].as_str())
                    .ok_or_else(|| invalid("should have a name or id"))?;
                let prop = self.prop_mut(source, prop_id);
                let found = prop.config["options"]
                    .as_array()
                    .and_then(|options| {
                        options
                            .iter()
                            .find(|option| option["name"] == wanted || option["id"] == wanted)
                    })
                    .cloned();
                match (found, kind) {
                    (Some(option), _) => Ok(option),
                    (None, "status") => Err(ApiError::validation(format!(
                        "Invalid status option. Status option \"{wanted}\" does not exist\"."
                    ))),
                    (None, _) => Ok(self.add_option(source, prop_id, wanted)),
                }
            }
            "multi_select" => {
                let items = value
                    .as_array()
                    .ok_or_else(|| invalid("should be an array"))?;
                let names: Vec<String> = items
                    .iter()
                    .map(|item| {
                        item["name"]
                            .as_str()
                            .map(str::to_string)
                            .ok_or_else(|| invalid("items should have a name"))
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Value::Array(
                    names
                        .iter()
                        .map(|name| self.option_or_new(source, prop_id, name))
                        .collect(),
                ))
            }
            "date" => {
                if value.is_null() {
                    return Ok(Value::Null);
                }
                let start = value["start"]
                    .as_str()
                    .ok_or_else(|| invalid("should have a start"))?;
                if super::query::parse_instant(start).is_none() {
                    return Err(invalid(&format!(
                        "start should be a valid ISO 8601 date string, instead was `{start}`."
                    )));
                }
                Ok(
                    json!({ "start": start, "end": value.get("end").cloned().unwrap_or(Value::Null), "time_zone": value.get("time_zone").cloned().unwrap_or(Value::Null) }),
                )
            }
            "checkbox" => value
                .as_bool()
                .map(Value::Bool)
                .ok_or_else(|| invalid("should be a boolean")),
            "number" => {
                if value.is_null() || value.is_number() {
                    Ok(value.clone())
                } else {
                    Err(invalid("should be a number or `null`"))
                }
            }
            "url" | "email" | "phone_number" => {
                let limit = if kind == "url" {
                    URL_LIMIT
                } else {
                    EMAIL_OR_PHONE_LIMIT
                };
                match value {
                    Value::Null => Ok(Value::Null),
                    Value::String(text) if js_length(text) > limit => Err(too_long(
                        &format!("body.properties.{name}.{kind}"),
                        limit,
                        js_length(text),
                    )),
                    Value::String(_) => Ok(value.clone()),
                    _ => Err(invalid("should be a string or `null`")),
                }
            }
            "people" => {
                let items = value
                    .as_array()
                    .ok_or_else(|| invalid("should be an array"))?;
                items
                    .iter()
                    .map(|item| {
                        let id = item["id"].as_str().unwrap_or_default();
                        self.find_user(id)
                            .cloned()
                            .ok_or_else(|| invalid(&format!("contains an unknown user `{id}`")))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array)
            }
            "relation" => {
                let items = value
                    .as_array()
                    .ok_or_else(|| invalid("should be an array"))?;
                Ok(Value::Array(
                    items
                        .iter()
                        .map(|item| json!({ "id": item["id"] }))
                        .collect(),
                ))
            }
            "files" => Ok(value.clone()),
            other => Err(ApiError::validation(format!(
                "{name} is a {other} property, which cannot be updated through the API."
            ))),
        }
    }

    /// Applies a data source's property changes (the `properties` of PATCH
    /// /v1/data_sources/{id}), all checked before any applies: a new `name` renames (the id
    /// stays); `select`/`multi_select` `options` replace the options (an existing one, by id or
    /// name, is kept; a new name is added; an omitted one is removed, and pages holding it lose
    /// it); a status's options cannot be changed through the API.
    /// reference/update-data-source-properties
    pub fn update_properties(
        &mut self,
        source: usize,
        changes: &Map<String, Value>,
    ) -> Result<(), ApiError> {
        struct Change {
            prop_id: String,
            name: Option<String>,
            options: Option<Vec<Value>>,
        }
        let mut planned = Vec::new();
        for (key, change) in changes {
            let prop = self.sources[source].prop(key).ok_or_else(|| {
                ApiError::validation(format!("{key} is not a property that exists."))
            })?;
            let Some(change) = change.as_object() else {
                return Err(ApiError::validation(format!(
                    "body.properties.{key}: the simulator models renames and select options, not removing a property"
                )));
            };
            let mut planned_change = Change {
                prop_id: prop.id.clone(),
                name: None,
                options: None,
            };
            for (field, value) in change {
                match field.as_str() {
                    "name" => {
                        let name = value.as_str().ok_or_else(|| {
                            ApiError::validation(format!(
                                "body.properties.{key}.name should be a string, instead was `{value}`."
                            ))
                        })?;
                        planned_change.name = Some(name.to_string());
                    }
                    "status" if prop.kind == "status" => {
                        return Err(ApiError::validation(format!(
                            "body.properties.{key}.status: the name or options of a status property cannot be updated through the API."
                        )));
                    }
                    kind @ ("select" | "multi_select") if *kind == prop.kind => {
                        let options = value["options"].as_array().ok_or_else(|| {
                            ApiError::validation(format!(
                                "body.properties.{key}.{kind}.options should be an array, instead was `{}`.",
                                value["options"]
                            ))
                        })?;
                        let current = prop.config["options"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default();
                        let mut kept = Vec::new();
                        for option in options {
                            let existing = current.iter().find(|o| {
                                (option["id"].is_string() && o["id"] == option["id"])
                                    || (option["id"].is_null() && o["name"] == option["name"])
                            });
                            match (existing, option["name"].as_str()) {
                                (Some(existing), _) => kept.push(existing.clone()),
                                (None, Some(name)) if option["id"].is_null() => {
                                    kept.push(json!({ "name": name }));
                                }
                                _ => {
                                    return Err(ApiError::validation(format!(
                                        "body.properties.{key}.{kind}.options: {option} is neither an existing option nor a new one with a name."
                                    )));
                                }
                            }
                        }
                        planned_change.options = Some(kept);
                    }
                    other => {
                        return Err(ApiError::validation(format!(
                            "body.properties.{key}.{other}: the simulator models renames and select options only"
                        )));
                    }
                }
            }
            planned.push(planned_change);
        }
        for change in planned {
            if let Some(name) = change.name {
                self.prop_mut(source, &change.prop_id).name = name;
            }
            if let Some(options) = change.options {
                let mut kept = Vec::new();
                for option in options {
                    if option["id"].is_string() {
                        kept.push(option);
                    } else {
                        let name = option["name"].as_str().unwrap_or_default();
                        kept.push(
                            json!({ "id": uuid(&mut self.rng), "name": name, "color": "default" }),
                        );
                    }
                }
                let ids: HashSet<String> = kept
                    .iter()
                    .filter_map(|o| o["id"].as_str().map(str::to_string))
                    .collect();
                self.prop_mut(source, &change.prop_id).config["options"] = Value::Array(kept);
                let held = |value: &Value| value["id"].as_str().is_some_and(|id| ids.contains(id));
                for page in self.pages.iter_mut().filter(|p| p.source == source) {
                    match page.values.get_mut(&change.prop_id) {
                        Some(Value::Array(items)) => items.retain(held),
                        Some(value) if value.is_object() && !held(value) => *value = Value::Null,
                        _ => {}
                    }
                }
            }
        }
        self.version += 1;
        Ok(())
    }

    fn prop_mut(&mut self, source: usize, prop_id: &str) -> &mut PropDef {
        let props = &mut self.sources[source].props;
        let index = props
            .iter()
            .position(|prop| prop.id == prop_id)
            .unwrap_or(0);
        &mut props[index]
    }

    fn option_or_new(&mut self, source: usize, prop_id: &str, name: &str) -> Value {
        let existing = self.prop_mut(source, prop_id).config["options"]
            .as_array()
            .and_then(|options| options.iter().find(|option| option["name"] == name))
            .cloned();
        existing.unwrap_or_else(|| self.add_option(source, prop_id, name))
    }

    fn add_option(&mut self, source: usize, prop_id: &str, name: &str) -> Value {
        let option = json!({ "id": uuid(&mut self.rng), "name": name, "color": "default" });
        if let Some(options) = self.prop_mut(source, prop_id).config["options"].as_array_mut() {
            options.push(option.clone());
        }
        option
    }

    /// Applies property writes (checked as Notion checks them) and a trash flag to a page, as
    /// `actor`, at `now` (minute-rounded): what a PATCH of the page does.
    pub fn apply_edit(
        &mut self,
        index: usize,
        properties: &Map<String, Value>,
        trash: Option<bool>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let source = self.pages[index].source;
        let values = self.prepare_writes(source, properties)?;
        let page = &mut self.pages[index];
        let was_in_trash = page.in_trash;
        let changed_values = !values.is_empty();
        page.values.extend(values);
        if let Some(trash) = trash {
            page.in_trash = trash;
        }
        page.edited = minute(now);
        page.edited_by = actor.to_string();
        let (id, in_trash) = (page.id.clone(), page.in_trash);
        self.version += 1;
        if changed_values {
            self.emit("page.properties_updated", &id, source, actor);
        }
        match (was_in_trash, in_trash) {
            (false, true) => self.emit("page.deleted", &id, source, actor),
            (true, false) => self.emit("page.undeleted", &id, source, actor),
            _ => {}
        }
        Ok(())
    }

    /// Creates a page in a data source (values prepared by `prepare_writes`).
    pub fn insert_page(
        &mut self,
        source: usize,
        values: Vec<(String, Value)>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> usize {
        let id = self.new_id();
        let mut stored: HashMap<String, Value> = self.sources[source]
            .props
            .iter()
            .map(|prop| {
                let empty = match prop.kind.as_str() {
                    "title" | "rich_text" | "multi_select" | "people" | "relation" | "files" => {
                        json!([])
                    }
                    "checkbox" => json!(false),
                    "button" => json!({}),
                    _ => Value::Null,
                };
                (prop.id.clone(), empty)
            })
            .collect();
        stored.extend(values);
        let number = self.next_number;
        self.next_number += 1;
        self.index.insert(id.clone(), self.pages.len());
        self.pages.push(PageRecord {
            id: id.clone(),
            source,
            created: minute(now),
            edited: minute(now),
            created_by: actor.to_string(),
            edited_by: actor.to_string(),
            in_trash: false,
            number,
            values: stored,
        });
        self.version += 1;
        self.emit("page.created", &id, source, actor);
        self.pages.len() - 1
    }
}
