//! Generating a plausible workspace: a schema, people, and tasks with every kind of value
//! (including more than 25 people, mentions and relations, which page objects cut).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use super::workspace::*;

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
        // How a task repeats, for recurring-task rules; empty on generated tasks. Its options
        // take no randomness, so the rest of the generated data stays as it was.
        def(
            "rp%3At",
            "Repeat",
            "select",
            json!({ "options": [
                { "id": "rp-weekly", "name": "Weekly", "color": "blue" },
                { "id": "rp-monthly", "name": "Monthly", "color": "green" },
            ] }),
        ),
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
            events: None,
        };
        let now = minute(seed.now);
        for i in 0..seed.tasks {
            // Three tasks a minute, ending a day ago: created_time windows have ties to handle.
            let age_minutes = i64::try_from((seed.tasks - i) / 3).unwrap_or(i64::MAX / 2) + 24 * 60;
            workspace.generate_task(0, i, now - Duration::minutes(age_minutes), now);
        }
        if seed.data_sources > 1 {
            for (i, hours) in (0..20).zip(0_i64..) {
                workspace.generate_task(
                    1,
                    i,
                    now - Duration::days(30) + Duration::hours(hours),
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
}
