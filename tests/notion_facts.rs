//! The facts about Notion's API that the simulator models, one test each, on both API versions.
//!
//! Every test names the page of developers.notion.com the fact comes from (the table in
//! `src/simulator/mod.rs` lists them all). A behaviour the simulator learns gets its test here
//! first, checked over raw HTTP as any client would see it, never through tasksync's client.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use reqwest::Method;
use serde_json::{Value, json};
use tasksync::notion::ApiVersion;
use tasksync::simulator::{Fault, ScriptedFault, Simulator, SimulatorOptions};

use common::Raw;

/// Generated tasks with more references than page objects return (see the simulator's
/// generation): task 6 has 30 assignees, task 12 mentions 30 people in Notes, task 93 relates to
/// 30 tasks.
const MANY_PEOPLE: usize = 5;
const MANY_MENTIONS: usize = 11;
const MANY_RELATIONS: usize = 92;

async fn workspace(tasks: usize) -> Simulator {
    common::simulator(SimulatorOptions {
        tasks,
        ..SimulatorOptions::default()
    })
    .await
}

fn source(simulator: &Simulator) -> String {
    simulator.data_sources()[0].0.clone()
}

fn page(simulator: &Simulator, index: usize) -> String {
    simulator.page_ids()[index].clone()
}

fn assert_validation(answer: &(reqwest::StatusCode, Value), message: &str) {
    assert_eq!(answer.0.as_u16(), 400, "{}", answer.1);
    assert_eq!(answer.1["code"], "validation_error");
    assert_eq!(answer.1["message"], message);
}

fn paragraph(items: Vec<Value>) -> Value {
    json!({ "children": [{ "object": "block", "type": "paragraph", "paragraph": { "rich_text": items } }] })
}

fn text(content: &str) -> Value {
    json!({ "type": "text", "text": { "content": content } })
}

/// reference/request-limits: lengths are JavaScript `.length`, UTF-16 code units.
#[tokio::test]
async fn text_lengths_are_counted_in_utf16_code_units() {
    let simulator = workspace(3).await;
    let task = page(&simulator, 0);
    let children = format!("/v1/blocks/{task}/children");
    let pages = format!("/v1/pages/{task}");
    // 1,000 emoji and one letter: 1,001 characters, 2,001 units.
    let over = format!("{}a", "😀".repeat(1000));
    let link = json!({ "type": "text", "text": { "content": "x", "link": { "url": format!("https://example.com/{}", "é".repeat(1981)) } } });
    let many: Vec<Value> = (0..101).map(|_| text("x")).collect();
    let cases = [
        (
            &children,
            paragraph(vec![text(&over)]),
            "body.children[0].paragraph.rich_text[0].text.content.length should be ≤ `2000`, instead was `2001`.",
        ),
        (
            &children,
            paragraph(vec![link]),
            "body.children[0].paragraph.rich_text[0].text.link.url.length should be ≤ `2000`, instead was `2001`.",
        ),
        (
            &pages,
            json!({ "properties": { "Notes": { "rich_text": [text("ok"), text(&over)] } } }),
            "body.properties.Notes.rich_text[1].text.content.length should be ≤ `2000`, instead was `2001`.",
        ),
        (
            &pages,
            json!({ "properties": { "Notes": { "rich_text": many } } }),
            "body.properties.Notes.rich_text.length should be ≤ `100`, instead was `101`.",
        ),
        (
            &pages,
            json!({ "properties": { "Link": { "url": format!("https://example.com/{}", "😀".repeat(991)) } } }),
            "body.properties.Link.url.length should be ≤ `2000`, instead was `2002`.",
        ),
        (
            &pages,
            json!({ "properties": { "Contact": { "email": format!("{}@example.com", "a".repeat(189)) } } }),
            "body.properties.Contact.email.length should be ≤ `200`, instead was `201`.",
        ),
    ];
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        // 1,000 emoji are 2,000 units (1,000 characters): accepted.
        let fits = raw
            .send(
                Method::PATCH,
                &children,
                Some(paragraph(vec![text(&"😀".repeat(1000))])),
            )
            .await;
        assert_eq!(fits.0.as_u16(), 200, "{version}: {}", fits.1);
        for (path, body, message) in &cases {
            let answer = raw.send(Method::PATCH, path, Some(body.clone())).await;
            assert_validation(&answer, &format!("body failed validation: {message}"));
        }
    }
}

/// reference/patch-block-children: at most 100 children per request; appended blocks come back
/// with their `color`.
#[tokio::test]
async fn an_append_takes_at_most_100_children_and_returns_them_whole() {
    let simulator = workspace(3).await;
    let task = page(&simulator, 1);
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let children = format!("/v1/blocks/{task}/children");
        let block = |n: usize| json!({ "object": "block", "type": "paragraph", "paragraph": { "rich_text": [text(&format!("line {n}"))] } });
        let many: Vec<Value> = (0..101).map(block).collect();
        let answer = raw
            .send(Method::PATCH, &children, Some(json!({ "children": many })))
            .await;
        assert_validation(
            &answer,
            "body failed validation: body.children.length should be ≤ `100`, instead was `101`.",
        );
        let hundred: Vec<Value> = (0..100).map(block).collect();
        let (status, body) = raw
            .send(
                Method::PATCH,
                &children,
                Some(json!({ "children": hundred })),
            )
            .await;
        assert_eq!(status.as_u16(), 200, "{body}");
        let results = body["results"].as_array().unwrap();
        assert_eq!(results.len(), 100);
        assert_eq!(results[0]["paragraph"]["color"], "default");
        assert_eq!(
            results[99]["paragraph"]["rich_text"][0]["plain_text"],
            "line 99"
        );
    }
}

/// reference/retrieve-a-page ("Limits") and reference/page-property-values: page objects return
/// at most 25 people, and say nothing about the rest.
#[tokio::test]
async fn page_objects_cut_people_at_25_with_no_flag() {
    let simulator = workspace(10).await;
    let task = page(&simulator, MANY_PEOPLE);
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let page = raw.page(&task).await;
        let assignee = &page["properties"]["Assignee"];
        assert_eq!(assignee["people"].as_array().unwrap().len(), 25);
        assert!(assignee.get("has_more").is_none(), "{assignee}");
        let (_, list) = raw.query(&source(&simulator), json!({})).await;
        let queried = list["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|result| result["id"] == task.as_str())
            .unwrap();
        assert_eq!(
            queried["properties"]["Assignee"]["people"]
                .as_array()
                .unwrap()
                .len(),
            25
        );
        assert!(queried["properties"]["Assignee"].get("has_more").is_none());
    }
}

/// reference/page-property-values ("Relation"): a relation says `has_more`, true when cut at 25.
#[tokio::test]
async fn only_relations_say_has_more() {
    let simulator = workspace(100).await;
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let cut = page(&simulator, MANY_RELATIONS);
        let page = raw.page(&cut).await;
        let related = &page["properties"]["Related"];
        assert_eq!(related["relation"].as_array().unwrap().len(), 25);
        assert_eq!(related["has_more"], true);
        let whole = self::page(&simulator, 0);
        let page = raw.page(&whole).await;
        assert_eq!(page["properties"]["Related"]["has_more"], false);
    }
}

/// reference/retrieve-a-page ("Limits"): mentions past the 25th in a text may be left out of
/// page objects; the property item endpoint has them all.
#[tokio::test]
async fn mentions_past_the_25th_are_left_out_of_page_objects() {
    let simulator = workspace(20).await;
    let task = page(&simulator, MANY_MENTIONS);
    let mentions = |items: &[Value]| items.iter().filter(|i| i["type"] == "mention").count();
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let page = raw.page(&task).await;
        let notes = &page["properties"]["Notes"];
        assert_eq!(mentions(notes["rich_text"].as_array().unwrap()), 25);
        assert!(notes.get("has_more").is_none());
        let items = property_items(&raw, &task, "nt%3Bs", 100).await;
        let full: Vec<Value> = items.iter().map(|item| item["rich_text"].clone()).collect();
        assert_eq!(mentions(&full), 30);
        assert_eq!(full[1]["mention"]["type"], "user");
    }
}

/// Every item of a paginated property item list, following `next_cursor`.
async fn property_items(raw: &Raw, page: &str, property: &str, size: usize) -> Vec<Value> {
    let (items, _) = property_pages(raw, page, property, size).await;
    items
}

/// The items of a paginated property item list and the `property_item` of each page.
async fn property_pages(
    raw: &Raw,
    page: &str,
    property: &str,
    size: usize,
) -> (Vec<Value>, Vec<Value>) {
    let mut items = Vec::new();
    let mut summaries = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/pages/{page}/properties/{property}?page_size={size}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&start_cursor={cursor}"));
        }
        let (status, body) = raw.send(Method::GET, &path, None).await;
        assert_eq!(status.as_u16(), 200, "{body}");
        assert_eq!(body["object"], "list");
        assert_eq!(body["type"], "property_item");
        items.extend(body["results"].as_array().unwrap().iter().cloned());
        summaries.push(body["property_item"].clone());
        match body["next_cursor"].as_str() {
            Some(next) if body["has_more"] == true => {
                assert!(body["property_item"]["next_url"].is_string());
                cursor = Some(next.to_string());
            }
            _ => {
                assert_eq!(body["has_more"], false);
                return (items, summaries);
            }
        }
    }
}

/// reference/retrieve-a-page-property: title, rich_text, people and relation are paginated
/// lists of property items (page_size ≤ 100); other kinds are one property item.
#[tokio::test]
async fn the_property_item_endpoint_pages_through_the_full_value() {
    let simulator = workspace(10).await;
    let task = page(&simulator, MANY_PEOPLE);
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let (items, summaries) = property_pages(&raw, &task, "as%3Fs", 10).await;
        assert_eq!(items.len(), 30);
        assert_eq!(summaries.len(), 3, "30 people, 10 a page");
        assert!(items.iter().all(|item| item["object"] == "property_item"
            && item["type"] == "people"
            && item["people"]["object"] == "user"));
        assert_eq!(summaries[0]["type"], "people");
        let (status, single) = raw
            .send(
                Method::GET,
                &format!("/v1/pages/{task}/properties/St%3Au"),
                None,
            )
            .await;
        assert_eq!(status.as_u16(), 200);
        assert_eq!(single["object"], "property_item");
        assert_eq!(single["type"], "status");
        let answer = raw
            .send(
                Method::GET,
                &format!("/v1/pages/{task}/properties/as%3Fs?page_size=101"),
                None,
            )
            .await;
        assert_eq!(answer.0.as_u16(), 400);
    }
}

/// reference/retrieve-a-page ("Limits") and reference/retrieve-a-page-property ("Rollup
/// properties"): a rollup in a page object uses the first 25 references; the property item
/// endpoint lists the relations with the value so far, final once `has_more` is false.
#[tokio::test]
async fn rollups_in_page_objects_count_25_and_the_property_item_is_right() {
    let simulator = workspace(100).await;
    let task = page(&simulator, MANY_RELATIONS);
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let page = raw.page(&task).await;
        assert_eq!(page["properties"]["Related count"]["rollup"]["number"], 25);
        let (items, summaries) = property_pages(&raw, &task, "rc%3Ao", 20).await;
        assert_eq!(items.len(), 30);
        assert!(items.iter().all(|item| item["type"] == "relation"));
        let counts: Vec<&Value> = summaries
            .iter()
            .map(|summary| &summary["rollup"]["number"])
            .collect();
        assert_eq!(counts, [&json!(20), &json!(30)]);
        assert_eq!(summaries[1]["type"], "rollup");
        assert_eq!(summaries[1]["rollup"]["function"], "count");
    }
}

/// guides/data-apis/query-large-data-sources: one query returns at most 10,000 rows, then says
/// `incomplete`.
#[tokio::test]
async fn a_query_stops_at_10000_rows() {
    let simulator = workspace(10_050).await;
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let mut rows = 0;
        let mut cursor: Option<String> = None;
        let last = loop {
            let mut body = json!({ "page_size": 100 });
            if let Some(cursor) = &cursor {
                body["start_cursor"] = json!(cursor);
            }
            let (status, list) = raw.query(&source(&simulator), body).await;
            assert_eq!(status.as_u16(), 200, "{list}");
            rows += list["results"].as_array().unwrap().len();
            match list["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break list,
            }
        };
        assert_eq!(rows, 10_000);
        assert_eq!(last["has_more"], false);
        assert_eq!(last["request_status"]["type"], "incomplete");
    }
}

/// changelog (last-edited-time-is-now-rounded-to-the-nearest-minute) and reference/database:
/// page timestamps are rounded down to the minute; database timestamps are exact, `+00:00`.
#[tokio::test]
async fn page_times_are_rounded_down_to_the_minute() {
    let simulator = workspace(3).await;
    let task = page(&simulator, 2);
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let (_, edited) = raw
            .send(
                Method::PATCH,
                &format!("/v1/pages/{task}"),
                Some(json!({ "properties": { "Estimate": { "number": 5 } } })),
            )
            .await;
        for field in ["created_time", "last_edited_time"] {
            let time = edited[field].as_str().unwrap();
            assert!(time.ends_with(":00.000Z"), "{field} {time}");
        }
        let (_, database) = raw
            .send(
                Method::GET,
                &format!("/v1/databases/{}", simulator.database_id()),
                None,
            )
            .await;
        let created = database["created_time"].as_str().unwrap();
        assert!(created.ends_with("+00:00"), "{created}");
        assert!(!created.contains(":00.000"), "{created}");
    }
}

/// guides/get-started/upgrade-guide-2026-03-11: `archived` is gone from 2026-03-11, both fields
/// are in 2025-09-03 answers; appends take `position` from 2026-03-11 on.
#[tokio::test]
async fn trash_fields_and_append_positions_follow_the_version() {
    let simulator = workspace(3).await;
    let task = page(&simulator, 0);
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let page = raw.page(&task).await;
        assert_eq!(page["in_trash"], false);
        let children = format!("/v1/blocks/{task}/children");
        let end = json!({ "children": paragraph(vec![text("x")])["children"], "position": { "type": "end" } });
        let answer = raw.send(Method::PATCH, &children, Some(end)).await;
        match version {
            ApiVersion::V2025_09_03 => {
                assert_eq!(page["archived"], false);
                assert_eq!(answer.0.as_u16(), 400, "position is not known yet");
            }
            ApiVersion::V2026_03_11 => {
                assert!(page.get("archived").is_none());
                assert_eq!(answer.0.as_u16(), 200, "{}", answer.1);
                let trash = raw
                    .send(
                        Method::PATCH,
                        &format!("/v1/pages/{task}"),
                        Some(json!({ "archived": true })),
                    )
                    .await;
                assert_eq!(trash.0.as_u16(), 400, "archived is gone");
            }
        }
    }
}

/// reference/status-codes: Notion's error body, and `additional_data` on 404 naming the
/// integration.
#[tokio::test]
async fn error_bodies_have_notions_shape() {
    let simulator = workspace(1).await;
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let (status, body) = raw
            .send(
                Method::GET,
                "/v1/pages/0123456789abcdef0123456789abcdef",
                None,
            )
            .await;
        assert_eq!(status.as_u16(), 404, "not shared is 404, not 403");
        assert_eq!(body["object"], "error");
        assert_eq!(body["status"], 404);
        assert_eq!(body["code"], "object_not_found");
        assert!(body["message"].is_string());
        assert!(body["request_id"].is_string());
        assert!(body["additional_data"]["integration_id"].is_string());
        let response = raw
            .http
            .get(format!("{}/v1/users/me", raw.base))
            .bearer_auth(&raw.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "reference/versioning");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "missing_version");
    }
}

/// reference/request-limits and reference/status-codes: 429 and 529 carry `Retry-After` in
/// seconds (429 with its `rate_limit_reason`); 409 `conflict_error` asks to try again.
#[tokio::test]
async fn busy_answers_say_when_to_come_back() {
    let simulator = workspace(1).await;
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        for (status, code) in [
            (429, "rate_limited"),
            (529, "service_overload"),
            (409, "conflict_error"),
        ] {
            simulator.push_fault(ScriptedFault {
                matching: "users/me".into(),
                fault: Fault::Status(status),
                retry_after: Some(7),
            });
            let response = raw
                .request(Method::GET, "/v1/users/me")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), status);
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], code);
            match status {
                409 => assert_eq!(retry_after, None),
                _ => assert_eq!(retry_after.as_deref(), Some("7")),
            }
            if status == 429 {
                assert!(body["additional_data"]["rate_limit_reason"].is_string());
            }
        }
    }
}

/// reference/patch-page: an unknown status option is refused; an unknown select option is
/// added to the schema.
#[tokio::test]
async fn unknown_status_options_are_refused_and_select_options_added() {
    let simulator = workspace(2).await;
    let task = page(&simulator, 0);
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let path = format!("/v1/pages/{task}");
        let answer = raw
            .send(
                Method::PATCH,
                &path,
                Some(json!({ "properties": { "Status": { "status": { "name": "Finished" } } } })),
            )
            .await;
        assert_eq!(answer.0.as_u16(), 400);
        assert_eq!(answer.1["code"], "validation_error");
        let name = format!("Someday {version}");
        let (status, page) = raw
            .send(
                Method::PATCH,
                &path,
                Some(json!({ "properties": { "Priority": { "select": { "name": name } } } })),
            )
            .await;
        assert_eq!(status.as_u16(), 200);
        assert_eq!(
            page["properties"]["Priority"]["select"]["name"],
            name.as_str()
        );
    }
}

/// reference/data-source, reference/page, reference/database: the fields real answers carry,
/// a `request_id` on every answer included.
#[tokio::test]
async fn answers_carry_the_fields_real_responses_do() {
    let simulator = workspace(2).await;
    let task = page(&simulator, 0);
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let (_, me) = raw.send(Method::GET, "/v1/users/me", None).await;
        assert!(me["request_id"].is_string());
        let (_, data_source) = raw
            .send(
                Method::GET,
                &format!("/v1/data_sources/{}", source(&simulator)),
                None,
            )
            .await;
        for field in [
            "url",
            "public_url",
            "icon",
            "cover",
            "created_by",
            "last_edited_by",
            "is_inline",
            "in_trash",
            "parent",
            "database_parent",
            "request_id",
        ] {
            assert!(data_source.get(field).is_some(), "data source: {field}");
        }
        assert_eq!(
            data_source.get("archived").is_some(),
            version == ApiVersion::V2025_09_03
        );
        assert!(
            data_source["properties"]
                .as_object()
                .unwrap()
                .values()
                .all(|property| property.get("description").is_some())
        );
        let page = raw.page(&task).await;
        for field in [
            "is_archived",
            "is_locked",
            "icon",
            "cover",
            "public_url",
            "request_id",
        ] {
            assert!(page.get(field).is_some(), "page: {field}");
        }
        let (_, database) = raw
            .send(
                Method::GET,
                &format!("/v1/databases/{}", simulator.database_id()),
                None,
            )
            .await;
        for field in ["is_locked", "icon", "cover", "request_id"] {
            assert!(database.get(field).is_some(), "database: {field}");
        }
        let (_, list) = raw.query(&source(&simulator), json!({})).await;
        assert!(list["request_id"].is_string());
    }
}

/// reference/update-data-source-properties: a rename keeps the property's id; `options`
/// replace a select's options (existing ones by id or name kept, new names added, omitted ones
/// removed, so pages lose them); a status's options cannot be changed through the API.
#[tokio::test]
async fn a_data_source_update_renames_and_replaces_select_options() {
    for version in ApiVersion::ALL {
        let simulator = workspace(40).await;
        let raw = Raw::new(&simulator, version);
        let path = format!("/v1/data_sources/{}", source(&simulator));
        let (_, before) = raw.send(Method::GET, &path, None).await;
        let priority = &before["properties"]["Priority"];
        let high = priority["select"]["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == "High")
            .unwrap()
            .clone();
        let (_, list) = raw.query(&source(&simulator), json!({})).await;
        let held_high: Vec<String> = list["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["properties"]["Priority"]["select"]["name"] == "High")
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect();
        assert!(!held_high.is_empty(), "some generated tasks are High");
        let kept: Vec<Value> = priority["select"]["options"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["name"] != "High")
            .map(|o| json!({ "id": o["id"] }))
            .chain([json!({ "name": "Someday" })])
            .collect();
        let (status, after) = raw
            .send(
                Method::PATCH,
                &path,
                Some(json!({ "properties": { "Priority": { "name": "Prio", "select": { "options": kept } } } })),
            )
            .await;
        assert_eq!(status.as_u16(), 200, "{version}: {after}");
        let prio = &after["properties"]["Prio"];
        assert_eq!(prio["id"], priority["id"], "a rename keeps the id");
        assert!(after["properties"].get("Priority").is_none());
        let names: Vec<&str> = prio["select"]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Low", "Medium", "Urgent", "Someday"]);
        assert!(
            !prio["select"]["options"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["id"] == high["id"])
        );
        let page = raw.page(&held_high[0]).await;
        assert!(page["properties"].get("Priority").is_none());
        assert_eq!(page["properties"]["Prio"]["select"], Value::Null);
        // A status's options cannot be changed through the API.
        let (status, refused) = raw
            .send(
                Method::PATCH,
                &path,
                Some(json!({ "properties": { "Status": { "status": { "options": [] } } } })),
            )
            .await;
        assert_eq!(status.as_u16(), 400, "{refused}");
        assert_eq!(refused["code"], "validation_error");
        // Nothing of a refused update applies.
        let (status, _) = raw
            .send(
                Method::PATCH,
                &path,
                Some(json!({ "properties": { "Prio": { "name": "P" }, "Status": { "status": {} } } })),
            )
            .await;
        assert_eq!(status.as_u16(), 400);
        let (_, unchanged) = raw.send(Method::GET, &path, None).await;
        assert!(unchanged["properties"].get("Prio").is_some());
    }
}

/// reference/get-users: the workspace's users, people (with their email) and bots, paginated.
#[tokio::test]
async fn users_are_listed_page_by_page() {
    let simulator = workspace(2).await;
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let mut users = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(cursor) => format!("/v1/users?page_size=15&start_cursor={cursor}"),
                None => "/v1/users?page_size=15".to_string(),
            };
            let (status, list) = raw.send(Method::GET, &path, None).await;
            assert_eq!(status.as_u16(), 200, "{list}");
            assert_eq!(list["object"], "list");
            assert_eq!(list["type"], "user");
            pages += 1;
            let results = list["results"].as_array().unwrap();
            assert!(results.len() <= 15);
            users.extend(results.iter().cloned());
            match list["next_cursor"].as_str() {
                Some(next) => {
                    assert_eq!(list["has_more"], true);
                    cursor = Some(next.to_string());
                }
                None => break,
            }
        }
        assert!(pages > 1);
        assert!(users.iter().any(|u| u["type"] == "person"
            && u["person"]["email"].is_string()
            && u["name"].is_string()));
        let (_, me) = raw.send(Method::GET, "/v1/users/me", None).await;
        assert!(
            users
                .iter()
                .any(|u| u["id"] == me["id"] && u["type"] == "bot")
        );
        let ids: std::collections::HashSet<&str> =
            users.iter().map(|u| u["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), users.len(), "no user twice");
    }
}

/// reference/rich-text: every stored rich text item carries all its annotations (the request's,
/// the rest `false` and `"default"`), `href` repeats a link, and a user mention comes back as a
/// `mention` of type `user` whose `plain_text` is `@` and the person's name.
#[tokio::test]
async fn rich_text_keeps_annotations_links_and_user_mentions() {
    let simulator = workspace(2).await;
    let task = page(&simulator, 0);
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let (_, users) = raw.send(Method::GET, "/v1/users", None).await;
        let person = users["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["type"] == "person")
            .unwrap()
            .clone();
        let items = vec![
            json!({ "type": "text", "text": { "content": "bold" }, "annotations": { "bold": true, "code": true } }),
            json!({ "type": "text", "text": { "content": "site", "link": { "url": "https://example.com/" } } }),
            json!({ "type": "mention", "mention": { "type": "user", "user": { "id": person["id"] } } }),
        ];
        let (status, body) = raw
            .send(
                Method::PATCH,
                &format!("/v1/blocks/{task}/children"),
                Some(paragraph(items)),
            )
            .await;
        assert_eq!(status.as_u16(), 200, "{body}");
        let stored = &body["results"][0]["paragraph"]["rich_text"];
        assert_eq!(
            stored[0]["annotations"],
            json!({ "bold": true, "italic": false, "strikethrough": false, "underline": false, "code": true, "color": "default" })
        );
        assert_eq!(stored[0]["href"], Value::Null);
        assert_eq!(stored[1]["text"]["link"]["url"], "https://example.com/");
        assert_eq!(stored[1]["href"], "https://example.com/");
        assert_eq!(stored[1]["annotations"]["bold"], false);
        assert_eq!(stored[2]["type"], "mention");
        assert_eq!(stored[2]["mention"]["type"], "user");
        assert_eq!(stored[2]["mention"]["user"]["id"], person["id"]);
        assert_eq!(
            stored[2]["plain_text"],
            format!("@{}", person["name"].as_str().unwrap())
        );
        assert_eq!(stored[2]["href"], Value::Null);
        // Read back the same way.
        let (_, children) = raw
            .send(Method::GET, &format!("/v1/blocks/{task}/children"), None)
            .await;
        let last = children["results"].as_array().unwrap().last().unwrap();
        assert_eq!(last["paragraph"]["rich_text"], *stored);
    }
}

/// reference/block: headings, list items, to-dos (`checked`, false unless given), quotes, code
/// (`language` one of Notion's, `caption`) and dividers (an empty object); list items take
/// nested children, returned as `has_children`.
#[tokio::test]
async fn appends_create_the_block_types_markdown_needs() {
    let simulator = workspace(2).await;
    let task = page(&simulator, 1);
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let children = format!("/v1/blocks/{task}/children");
        let rich = |content: &str| json!({ "rich_text": [text(content)] });
        let body = json!({ "children": [
            { "type": "heading_2", "heading_2": rich("Plan") },
            { "type": "bulleted_list_item", "bulleted_list_item": { "rich_text": [text("parent")], "children": [
                { "type": "numbered_list_item", "numbered_list_item": rich("child") }
            ] } },
            { "type": "to_do", "to_do": rich("open") },
            { "type": "to_do", "to_do": { "rich_text": [text("done")], "checked": true } },
            { "type": "quote", "quote": rich("said") },
            { "type": "code", "code": { "rich_text": [text("fn main() {}")], "language": "rust" } },
            { "type": "divider", "divider": {} },
        ] });
        let (status, answer) = raw.send(Method::PATCH, &children, Some(body)).await;
        assert_eq!(status.as_u16(), 200, "{answer}");
        let results = answer["results"].as_array().unwrap();
        let kinds: Vec<&str> = results
            .iter()
            .map(|b| b["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "heading_2",
                "bulleted_list_item",
                "to_do",
                "to_do",
                "quote",
                "code",
                "divider"
            ]
        );
        assert_eq!(results[1]["has_children"], true);
        assert_eq!(results[2]["to_do"]["checked"], false);
        assert_eq!(results[3]["to_do"]["checked"], true);
        assert_eq!(results[5]["code"]["language"], "rust");
        assert_eq!(results[5]["code"]["caption"], json!([]));
        assert_eq!(
            results[5]["code"]["rich_text"][0]["plain_text"],
            "fn main() {}"
        );
        assert_eq!(results[6]["divider"], json!({}));
        let parent = results[1]["id"].as_str().unwrap();
        let (_, nested) = raw
            .send(Method::GET, &format!("/v1/blocks/{parent}/children"), None)
            .await;
        assert_eq!(nested["results"][0]["type"], "numbered_list_item");

        let unknown = json!({ "children": [
            { "type": "code", "code": { "rich_text": [text("x")], "language": "text" } }
        ] });
        let answer = raw.send(Method::PATCH, &children, Some(unknown)).await;
        assert_eq!(answer.0.as_u16(), 400, "{}", answer.1);
        let message = answer.1["message"].as_str().unwrap();
        assert!(
            message.starts_with(
                "body failed validation: body.children[0].code.language should be `\"abap\"`"
            ),
            "{message}"
        );
        assert!(message.ends_with("instead was `\"text\"`."), "{message}");
    }
}

/// reference/post-page: a page created in a data source takes its properties by name or id and
/// its first blocks (`children`) in the same request; its `created_by` is the integration's bot,
/// and a `created_time` timestamp filter finds it.
#[tokio::test]
async fn created_pages_carry_their_children_and_the_bot_as_creator() {
    let simulator = workspace(3).await;
    let source = source(&simulator);
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let body = json!({
            "parent": { "type": "data_source_id", "data_source_id": source },
            "properties": {
                "title": { "title": [text("Created by the API")] },
                "Status": { "status": { "name": "To do" } },
            },
            "children": [{ "type": "paragraph", "paragraph": { "rich_text": [text("marker-1")] } }],
        });
        let (status, page) = raw.send(Method::POST, "/v1/pages", Some(body)).await;
        assert_eq!(status.as_u16(), 200, "{page}");
        let (_, me) = raw.send(Method::GET, "/v1/users/me", None).await;
        assert_eq!(page["created_by"]["id"], me["id"]);
        assert_eq!(
            page["properties"]["Name"]["title"][0]["plain_text"],
            "Created by the API"
        );
        let id = page["id"].as_str().unwrap();
        let (_, children) = raw
            .send(Method::GET, &format!("/v1/blocks/{id}/children"), None)
            .await;
        assert_eq!(
            children["results"][0]["paragraph"]["rich_text"][0]["plain_text"],
            "marker-1"
        );
        let since = page["created_time"].as_str().unwrap();
        let (_, found) = raw
            .send(
                Method::POST,
                &format!("/v1/data_sources/{source}/query"),
                Some(json!({ "filter": { "timestamp": "created_time", "created_time": { "on_or_after": since } } })),
            )
            .await;
        assert!(
            found["results"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["id"] == id),
            "{found}"
        );
    }
}

/// reference/webhooks, reference/webhooks-events-delivery: a subscription's endpoint first gets
/// the verification request (unsigned, the token in the body); then events, each signed with
/// that token as `X-Notion-Signature: sha256=<hex HMAC-SHA256 of the body>`, carrying ids and
/// not values, edits of one page close together aggregated into one event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_verify_first_then_deliver_signed_aggregated_events_without_values() {
    let sink = common::sink::Sink::start().await;
    let simulator = common::simulator(SimulatorOptions {
        tasks: 5,
        webhook: Some(tasksync::simulator::WebhookTarget {
            url: sink.url.clone(),
            token: "secret_simulated".into(),
        }),
        ..SimulatorOptions::default()
    })
    .await;
    let task = page(&simulator, 1);
    let person = simulator.user_ids()[3].clone();
    use tasksync::model::PropertyWrite;
    for write in [
        ("Priority", PropertyWrite::Select(Some("Urgent".into()))),
        ("Estimate", PropertyWrite::Number(Some(3.0))),
    ] {
        simulator
            .edit_as(&person, &task, &[(write.0.to_string(), write.1)], None)
            .unwrap();
    }
    let started = std::time::Instant::now();
    while sink.received().len() < 2 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{:?}",
            sink.received()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Anything more would have arrived with it: one aggregation window later.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let received = sink.received();
    assert_eq!(
        received.len(),
        2,
        "one verification, one event: {received:?}"
    );
    let verification: Value = serde_json::from_str(&received[0].body).unwrap();
    assert_eq!(
        verification,
        json!({ "verification_token": "secret_simulated" })
    );
    assert_eq!(received[0].signature, None);
    let event = &received[1];
    assert!(tasksync::notion::events::verify(
        "secret_simulated",
        event.body.as_bytes(),
        event.signature.as_deref()
    ));
    assert!(!tasksync::notion::events::verify(
        "another_token",
        event.body.as_bytes(),
        event.signature.as_deref()
    ));
    let body: Value = serde_json::from_str(&event.body).unwrap();
    assert_eq!(body["type"], "page.properties_updated");
    assert_eq!(body["entity"], json!({ "id": task, "type": "page" }));
    assert_eq!(body["data"]["parent"]["data_source_id"], source(&simulator));
    assert_eq!(body["data"]["parent"]["id"], simulator.database_id());
    assert_eq!(body["authors"][0]["id"], person);
    assert_eq!(body["attempt_number"], 1);
    for field in [
        "id",
        "timestamp",
        "workspace_id",
        "subscription_id",
        "integration_id",
    ] {
        assert!(body[field].is_string(), "{field}: {body}");
    }
    assert!(body.get("properties").is_none(), "ids, not values: {body}");
    assert!(!event.body.contains("Urgent"), "ids, not values: {body}");
}

/// reference/property-object ("Status"): a status property's configuration lists its `options`
/// and its `groups` (To-do, In progress, Complete, in that order), each group with the ids of
/// the options in it; every option is in one group. The client reads them into the schema.
#[tokio::test]
async fn a_status_property_lists_its_groups_with_their_option_ids() {
    let simulator = workspace(1).await;
    for version in ApiVersion::ALL {
        let raw = Raw::new(&simulator, version);
        let (status, body) = raw
            .send(
                Method::GET,
                &format!("/v1/data_sources/{}", source(&simulator)),
                None,
            )
            .await;
        assert_eq!(status, 200);
        let config = &body["properties"]["Status"]["status"];
        let groups = config["groups"].as_array().unwrap();
        let names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["To-do", "In progress", "Complete"]);
        let mut grouped: Vec<&str> = groups
            .iter()
            .flat_map(|g| g["option_ids"].as_array().unwrap())
            .map(|id| id.as_str().unwrap())
            .collect();
        let mut options: Vec<&str> = config["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap())
            .collect();
        grouped.sort_unstable();
        options.sort_unstable();
        assert_eq!(grouped, options, "every option in one group");
        let schema = common::client(&simulator, version)
            .resolve_data_source(
                &tasksync::model::ids::NotionId::parse(&simulator.database_id()).unwrap(),
                None,
            )
            .await
            .unwrap();
        let read: Vec<&str> = schema.properties["Status"]
            .groups
            .iter()
            .map(|g| g.name.as_str())
            .collect();
        assert_eq!(read, names);
    }
}
