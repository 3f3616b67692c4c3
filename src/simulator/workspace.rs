//! The simulator's in-memory workspace: one database, its data sources, generated tasks, users
//! and page content; rendering as Notion JSON and applying writes the way Notion validates them.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
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
/// within 2,000 UTF-16 units.
pub fn check_rich_text(items: &[Value], path: &str) -> Result<Vec<Value>, ApiError> {
    if items.len() > RICH_TEXT_ITEMS {
        return Err(too_long(path, RICH_TEXT_ITEMS, items.len()));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            if item.get("mention").is_some() {
                return Ok(item.clone());
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
            if let Some(url) = link {
                stored["text"]["link"] = json!({ "url": url });
                stored["href"] = json!(url);
            }
            Ok(stored)
        })
        .collect()
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
    rng: SmallRng,
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

fn uuid(rng: &mut SmallRng) -> String {
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

fn rich_text(content: &str) -> Value {
    json!({
        "type": "text",
        "text": { "content": content, "link": null },
        "annotations": { "bold": false, "italic": false, "strikethrough": false, "underline": false, "code": false, "color": "default" },
        "plain_text": content,
        "href": null,
    })
}

/// A rich text mention of a person, as Notion returns one.
fn mention(user: &Value) -> Value {
    let name = user["name"].as_str().unwrap_or("Anonymous");
    json!({
        "type": "mention",
        "mention": { "type": "user", "user": { "object": "user", "id": user["id"] } },
        "annotations": { "bold": false, "italic": false, "strikethrough": false, "underline": false, "code": false, "color": "default" },
        "plain_text": format!("@{name}"),
        "href": null,
    })
}

fn options(names: &[(&str, &str)], rng: &mut SmallRng) -> Value {
    Value::Array(
        names
            .iter()
            .map(|(name, color)| json!({ "id": uuid(rng), "name": name, "color": color }))
            .collect(),
    )
}

const STATUSES: [(&str, &str); 3] = [
    ("To do", "gray"),
    ("In progress", "blue"),
    ("Done", "green"),
];
const PRIORITIES: [(&str, &str); 4] = [
    ("Low", "gray"),
    ("Medium", "yellow"),
    ("High", "orange"),
    ("Urgent", "red"),
];
const TAGS: [(&str, &str); 6] = [
    ("backend", "blue"),
    ("frontend", "purple"),
    ("ops", "brown"),
    ("docs", "green"),
    ("bug", "red"),
    ("customer", "pink"),
];
const VERBS: [&str; 12] = [
    "Fix",
    "Write",
    "Review",
    "Plan",
    "Ship",
    "Test",
    "Update",
    "Design",
    "Migrate",
    "Document",
    "Investigate",
    "Prepare",
];
const OBJECTS: [&str; 12] = [
    "the login flow",
    "quarterly report",
    "billing export",
    "onboarding email",
    "API rate limits",
    "release notes",
    "search index",
    "customer call notes",
    "backup restore drill",
    "pricing page",
    "mobile crash",
    "team offsite agenda",
];
const PEOPLE: [&str; 8] = [
    "Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances",
];
const SURNAMES: [&str; 5] = ["Hopper", "Lovelace", "Thompson", "Liskov", "Ritchie"];

fn schema(rng: &mut SmallRng) -> Vec<PropDef> {
    let status_options = options(&STATUSES, rng);
    let group = |name: &str, color: &str, ids: Vec<Value>| json!({ "id": name.to_lowercase().replace(' ', "-"), "name": name, "color": color, "option_ids": ids });
    let status_ids: Vec<Value> = status_options
        .as_array()
        .map(|options| options.iter().map(|option| option["id"].clone()).collect())
        .unwrap_or_default();
    let status_config = json!({
        "options": status_options,
        "groups": [
            group("To-do", "gray", vec![status_ids[0].clone()]),
            group("In progress", "blue", vec![status_ids[1].clone()]),
            group("Complete", "green", vec![status_ids[2].clone()]),
        ],
    });
    let def = |id: &str, name: &str, kind: &str, config: Value| PropDef {
        id: id.to_string(),
        name: name.to_string(),
        kind: kind.to_string(),
        config,
    };
    vec![
        def("title", "Name", "title", json!({})),
        def("St%3Au", "Status", "status", status_config),
        def(
            "pr%40i",
            "Priority",
            "select",
            json!({ "options": options(&PRIORITIES, rng) }),
        ),
        def("du%3De", "Due", "date", json!({})),
        def("as%3Fs", "Assignee", "people", json!({})),
        def(
            "tg%5Ds",
            "Tags",
            "multi_select",
            json!({ "options": options(&TAGS, rng) }),
        ),
        def(
            "es%7Bt",
            "Estimate",
            "number",
            json!({ "format": "number" }),
        ),
        def("dn%3Ao", "Done", "checkbox", json!({})),
        def("nt%3Bs", "Notes", "rich_text", json!({})),
        def("uid%3A", "ID", "unique_id", json!({ "prefix": "TASK" })),
        def(
            "rl%3Ai",
            "Related",
            "relation",
            json!({ "type": "single_property", "single_property": {} }),
        ),
        def("ln%3Ak", "Link", "url", json!({})),
        def("em%3Al", "Contact", "email", json!({})),
        def("ph%3An", "Phone", "phone_number", json!({})),
        def("fl%3As", "Attachments", "files", json!({})),
        def(
            "sc%3Ar",
            "Score",
            "formula",
            json!({ "expression": "prop(\"Estimate\") * 2" }),
        ),
        def(
            "rc%3Ao",
            "Related count",
            "rollup",
            json!({ "function": "count", "relation_property_name": "Related", "relation_property_id": "rl%3Ai", "rollup_property_name": "Name", "rollup_property_id": "title" }),
        ),
        def("ct%3Am", "Created", "created_time", json!({})),
        def("cb%3Ay", "Created by", "created_by", json!({})),
        def("et%3Am", "Edited", "last_edited_time", json!({})),
        def("eb%3Ay", "Edited by", "last_edited_by", json!({})),
        def("bt%3An", "Start timer", "button", json!({})),
    ]
}

/// What to generate.
pub struct Seed {
    pub tasks: usize,
    pub seed: u64,
    pub data_sources: u8,
    pub now: DateTime<Utc>,
}

impl Workspace {
    pub fn generate(seed: &Seed) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed.seed);
        let created = minute(seed.now - Duration::days(400));
        let bot = json!({
            "object": "user", "id": uuid(&mut rng), "name": "tasksync", "avatar_url": null, "type": "bot",
            "bot": { "owner": { "type": "workspace", "workspace": true }, "workspace_name": "Acme" },
        });
        let users: Vec<Value> = (0..40)
            .map(|i| {
                let name = format!("{} {}", PEOPLE[i % PEOPLE.len()], SURNAMES[i % SURNAMES.len()]);
                let email = format!("{}.{}@example.com", PEOPLE[i % PEOPLE.len()].to_lowercase(), i);
                json!({ "object": "user", "id": uuid(&mut rng), "name": name, "avatar_url": null, "type": "person", "person": { "email": email } })
            })
            .collect();
        let mut sources = vec![Source {
            id: uuid(&mut rng),
            name: "Tasks".into(),
            props: schema(&mut rng),
        }];
        if seed.data_sources > 1 {
            sources.push(Source {
                id: uuid(&mut rng),
                name: "Archive".into(),
                props: schema(&mut rng),
            });
        }
        let mut workspace = Workspace {
            database_id: uuid(&mut rng),
            database_title: "Tasks".into(),
            created,
            sources,
            pages: Vec::with_capacity(seed.tasks),
            index: HashMap::with_capacity(seed.tasks),
            users,
            bot,
            blocks: HashMap::new(),
            next_number: 1,
            version: 0,
            rng,
        };
        let now = minute(seed.now);
        for i in 0..seed.tasks {
            // Three tasks a minute, ending a day ago: created_time windows have ties to handle.
            let age_minutes = ((seed.tasks - i) / 3) as i64 + 24 * 60;
            workspace.generate_task(0, i, now - Duration::minutes(age_minutes), now);
        }
        if seed.data_sources > 1 {
            for i in 0..20 {
                workspace.generate_task(
                    1,
                    i,
                    now - Duration::days(30) + Duration::hours(i as i64),
                    now,
                );
            }
        }
        workspace
    }

    fn generate_task(
        &mut self,
        source: usize,
        i: usize,
        created: DateTime<Utc>,
        now: DateTime<Utc>,
    ) {
        let rng = &mut self.rng;
        let id = uuid(rng);
        let title = format!(
            "{} {}",
            VERBS[rng.random_range(0..VERBS.len())],
            OBJECTS[rng.random_range(0..OBJECTS.len())]
        );
        let props = &self.sources[source].props;
        let option = |prop: &PropDef, index: usize| prop.config["options"][index].clone();
        let status_index = rng.random_range(0..3);
        let mut values = HashMap::new();
        values.insert("title".to_string(), json!([rich_text(&title)]));
        values.insert(props[1].id.clone(), option(&props[1], status_index));
        let priority = if rng.random_bool(0.15) {
            Value::Null
        } else {
            option(&props[2], rng.random_range(0..4))
        };
        values.insert(props[2].id.clone(), priority);
        let due = if rng.random_bool(0.7) {
            let day = (now + Duration::days(rng.random_range(-30..45))).date_naive();
            json!({ "start": day.to_string(), "end": null, "time_zone": null })
        } else {
            Value::Null
        };
        values.insert(props[3].id.clone(), due);
        let people_count = if i % 97 == 5 {
            30
        } else {
            rng.random_range(0..3)
        };
        let people: Vec<Value> = (0..people_count)
            .map(|k| {
                let user = &self.users[(i + k * 7) % self.users.len()];
                json!({ "object": "user", "id": user["id"], "name": user["name"], "avatar_url": null, "type": "person", "person": user["person"] })
            })
            .collect();
        values.insert(props[4].id.clone(), Value::Array(people));
        let tags: Vec<Value> = (0..rng.random_range(0..3))
            .map(|_| option(&props[5], rng.random_range(0..TAGS.len())))
            .collect();
        values.insert(props[5].id.clone(), Value::Array(tags));
        let estimate = if rng.random_bool(0.8) {
            json!(rng.random_range(1..14))
        } else {
            Value::Null
        };
        values.insert(props[6].id.clone(), estimate);
        values.insert(props[7].id.clone(), json!(status_index == 2));
        let notes = if i % 50 == 7 {
            let long = "Background and acceptance criteria for this task. ".repeat(70);
            let pieces: Vec<Value> = long
                .as_bytes()
                .chunks(TEXT_LIMIT)
                .map(|chunk| rich_text(&String::from_utf8_lossy(chunk)))
                .collect();
            Value::Array(pieces)
        } else if rng.random_bool(0.5) {
            json!([rich_text("Check with the team before starting.")])
        } else {
            json!([])
        };
        // A review with more people mentioned than page objects return (30 > 25); decided after
        // the draws above so that every other generated value stays as it was.
        let notes = if i % 83 == 11 {
            let mut items = vec![rich_text("Reviewers: ")];
            for k in 0..30 {
                let user = &self.users[(i + k * 3) % self.users.len()];
                if k > 0 {
                    items.push(rich_text(", "));
                }
                items.push(mention(user));
            }
            Value::Array(items)
        } else {
            notes
        };
        values.insert(props[8].id.clone(), notes);
        let related_count = if i % 89 == 3 {
            30
        } else {
            rng.random_range(0..3)
        };
        let related: Vec<Value> = (0..related_count.min(self.pages.len()))
            .map(|k| json!({ "id": self.pages[(i * 31 + k * 17) % self.pages.len()].id }))
            .collect();
        values.insert(props[10].id.clone(), Value::Array(related));
        let link = if i.is_multiple_of(4) {
            json!(format!("https://example.com/tickets/{i}"))
        } else {
            Value::Null
        };
        values.insert(props[11].id.clone(), link);
        let email = if i.is_multiple_of(6) {
            json!(format!("customer{i}@example.com"))
        } else {
            Value::Null
        };
        values.insert(props[12].id.clone(), email);
        let phone = if i.is_multiple_of(9) {
            json!("+1 555 0100")
        } else {
            Value::Null
        };
        values.insert(props[13].id.clone(), phone);
        let files = if i.is_multiple_of(10) {
            json!([{ "name": "spec.pdf", "type": "external", "external": { "url": "https://example.com/spec.pdf" } }])
        } else {
            json!([])
        };
        values.insert(props[14].id.clone(), files);
        values.insert(props[21].id.clone(), json!({}));
        // Last edits spread between creation and now, so few tasks were edited in the last minutes.
        let age = (now - created).num_minutes().max(1);
        let edited = created + Duration::minutes(rng.random_range(0..age));
        let author = self.users[i % self.users.len()]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let number = self.next_number;
        self.next_number += 1;
        self.index.insert(id.clone(), self.pages.len());
        if i.is_multiple_of(3) {
            let block = BlockRecord {
                id: uuid(&mut self.rng),
                kind: "paragraph".into(),
                payload: json!({ "rich_text": [rich_text("Context: see the linked ticket.")], "color": "default" }),
                created,
                has_children: false,
            };
            self.blocks.insert(id.clone(), vec![block]);
        }
        self.pages.push(PageRecord {
            id,
            source,
            created,
            edited,
            created_by: author.clone(),
            edited_by: author,
            in_trash: false,
            number,
            values,
        });
    }

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
                check_rich_text(items, &format!("body.properties.{name}.{kind}")).map(Value::Array)
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
        page.values.extend(values);
        if let Some(trash) = trash {
            page.in_trash = trash;
        }
        page.edited = minute(now);
        page.edited_by = actor.to_string();
        self.version += 1;
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
            id,
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
        self.pages.len() - 1
    }
}
