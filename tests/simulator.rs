//! The simulator's fidelity to the Notion API, checked over raw HTTP.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tasksync::notion::ApiVersion;
use tasksync::simulator::{ACTING_USER_HEADER, SimulatorOptions};

use common::Raw;

fn assert_error(answer: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(answer.0.as_u16(), status, "{}", answer.1);
    assert_eq!(answer.1["object"], "error");
    assert_eq!(answer.1["code"], code, "{}", answer.1);
    assert!(answer.1["request_id"].is_string());
}

#[tokio::test]
async fn headers_are_checked_like_notion() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 1,
        ..SimulatorOptions::default()
    })
    .await;
    let raw = Raw::new(&simulator, ApiVersion::V2026_03_11);
    let url = format!("{}/v1/users/me", raw.base);
    let response = raw
        .http
        .get(&url)
        .bearer_auth(&raw.token)
        .send()
        .await
        .unwrap();
    let answer = (response.status(), response.json().await.unwrap());
    assert_error(&answer, 400, "missing_version");
    let response = raw
        .http
        .get(&url)
        .bearer_auth("ntn_wrong")
        .header("Notion-Version", "2026-03-11")
        .send()
        .await
        .unwrap();
    let answer = (response.status(), response.json().await.unwrap());
    assert_error(&answer, 401, "unauthorized");
    let answer = raw.send(reqwest::Method::GET, "/v1/users/me", None).await;
    assert_eq!(answer.1["type"], "bot");
    let answer = raw
        .send(
            reqwest::Method::GET,
            "/v1/pages/0123456789abcdef0123456789abcdef",
            None,
        )
        .await;
    assert_error(&answer, 404, "object_not_found");
    assert!(
        answer.1["message"]
            .as_str()
            .unwrap()
            .contains("shared with your integration")
    );
    let answer = raw.send(reqwest::Method::GET, "/v1/nothing", None).await;
    assert_error(&answer, 400, "invalid_request_url");
}

#[tokio::test]
async fn version_shapes_follow_the_upgrade_guides() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 2,
        ..SimulatorOptions::default()
    })
    .await;
    let page = simulator.page_ids()[0].clone();
    let old = Raw::new(&simulator, ApiVersion::V2025_09_03);
    let new = Raw::new(&simulator, ApiVersion::V2026_03_11);
    let (_, old_page) = old
        .send(reqwest::Method::GET, &format!("/v1/pages/{page}"), None)
        .await;
    let (_, new_page) = new
        .send(reqwest::Method::GET, &format!("/v1/pages/{page}"), None)
        .await;
    assert_eq!(old_page["archived"], false);
    assert_eq!(old_page["in_trash"], false);
    assert!(new_page.get("archived").is_none());
    assert_eq!(new_page["in_trash"], false);

    let children = json!([{ "object": "block", "type": "paragraph", "paragraph": { "rich_text": [{ "type": "text", "text": { "content": "hi" } }] } }]);
    let path = format!("/v1/blocks/{page}/children");
    let answer = new
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({ "children": children, "after": page })),
        )
        .await;
    assert_error(&answer, 400, "validation_error");
    let answer = old
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({ "children": children, "position": { "type": "end" } })),
        )
        .await;
    assert_error(&answer, 400, "validation_error");
    let (status, created) = new
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({ "children": children, "position": { "type": "start" } })),
        )
        .await;
    assert_eq!(status, 200);
    let (_, listed) = new.send(reqwest::Method::GET, &path, None).await;
    assert_eq!(
        listed["results"][0]["id"], created["results"][0]["id"],
        "position start puts it first"
    );
}

#[tokio::test]
async fn requests_notion_would_reject_are_rejected() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 2,
        ..SimulatorOptions::default()
    })
    .await;
    let page = simulator.page_ids()[0].clone();
    let raw = Raw::new(&simulator, ApiVersion::V2026_03_11);
    let paragraph = |text: &str| json!({ "type": "paragraph", "paragraph": { "rich_text": [{ "text": { "content": text } }] } });
    let path = format!("/v1/blocks/{page}/children");
    let too_many: Vec<Value> = (0..101).map(|_| paragraph("x")).collect();
    assert_error(
        &raw.send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({ "children": too_many })),
        )
        .await,
        400,
        "validation_error",
    );
    let too_long = paragraph(&"x".repeat(2001));
    let answer = raw
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({ "children": [too_long] })),
        )
        .await;
    assert_error(&answer, 400, "validation_error");
    assert!(
        answer.1["message"]
            .as_str()
            .unwrap()
            .contains("should be ≤ `2000`, instead was `2001`")
    );
    let status = json!({ "properties": { "Status": { "status": { "name": "Blocked" } } } });
    assert_error(
        &raw.send(
            reqwest::Method::PATCH,
            &format!("/v1/pages/{page}"),
            Some(status),
        )
        .await,
        400,
        "validation_error",
    );
    let formula = json!({ "properties": { "Score": { "formula": { "number": 1 } } } });
    assert_error(
        &raw.send(
            reqwest::Method::PATCH,
            &format!("/v1/pages/{page}"),
            Some(formula),
        )
        .await,
        400,
        "validation_error",
    );
    let response = raw
        .request(reqwest::Method::PATCH, &format!("/v1/pages/{page}"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let answer = (response.status(), response.json().await.unwrap());
    assert_error(&answer, 400, "invalid_json");
    let source = simulator.data_sources()[0].0.clone();
    assert_error(
        &raw.query(&source, json!({ "page_size": 101 })).await,
        400,
        "validation_error",
    );
    assert_error(
        &raw.query(
            &source,
            json!({ "filter": { "property": "Status", "select": { "equals": "Done" } } }),
        )
        .await,
        400,
        "validation_error",
    );
    assert_error(
        &raw.query(&source, json!({ "start_cursor": "nope" })).await,
        400,
        "validation_error",
    );
    assert_error(
        &raw.query(&source, json!({ "unknown": 1 })).await,
        400,
        "validation_error",
    );
}

#[tokio::test]
async fn edits_are_minute_rounded_attributed_and_filterable() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 50,
        ..SimulatorOptions::default()
    })
    .await;
    let raw = Raw::new(&simulator, ApiVersion::V2026_03_11);
    let source = simulator.data_sources()[0].0.clone();
    let page = simulator.page_ids()[7].clone();
    let person = simulator.user_ids()[3].clone();
    let response = raw
        .request(reqwest::Method::PATCH, &format!("/v1/pages/{page}"))
        .header(ACTING_USER_HEADER, &person)
        .json(&json!({ "properties": { "Priority": { "select": { "name": "Urgent" } }, "Tags": { "multi_select": [{ "name": "brand-new" }] } } }))
        .send().await.unwrap();
    assert_eq!(response.status(), 200);
    let edited: Value = response.json().await.unwrap();
    let time = edited["last_edited_time"].as_str().unwrap();
    assert!(
        time.ends_with(":00.000Z"),
        "rounded down to the minute: {time}"
    );
    assert_eq!(edited["last_edited_by"]["id"], person);
    assert_eq!(
        edited["properties"]["Tags"]["multi_select"][0]["name"], "brand-new",
        "a new select option is created"
    );

    let (_, found) = raw.query(&source, json!({
        "filter": { "and": [
            { "timestamp": "last_edited_time", "last_edited_time": { "on_or_after": time } },
            { "property": "Priority", "select": { "equals": "Urgent" } },
        ] },
        "sorts": [{ "timestamp": "last_edited_time", "direction": "ascending" }],
    })).await;
    let ids: Vec<&str> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&page.as_str()), "{ids:?}");

    let (_, trashed) = raw
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/pages/{page}"),
            Some(json!({ "in_trash": true })),
        )
        .await;
    assert_eq!(trashed["in_trash"], true);
    let (_, live) = raw.query(&source, json!({})).await;
    assert!(
        live["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["id"] != page.as_str())
    );
    let (_, in_trash) = raw.query(&source, json!({ "in_trash": true })).await;
    assert_eq!(in_trash["results"][0]["id"], page.as_str());

    let (status, created) = raw.send(reqwest::Method::POST, "/v1/pages", Some(json!({
        "parent": { "data_source_id": source },
        "properties": { "Name": { "title": [{ "text": { "content": "Call the bank" } }] }, "Status": { "status": { "name": "To do" } } },
    }))).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["properties"]["ID"]["unique_id"]["number"], 51);
    let (_, by_title) = raw
        .query(
            &source,
            json!({ "filter": { "property": "Name", "title": { "contains": "bank" } } }),
        )
        .await;
    assert_eq!(by_title["results"][0]["id"], created["id"]);
    let stats = simulator.stats();
    assert_eq!(stats.writes, 3);
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 1,
        rate_limit: Some(3.0),
        burst: 3,
        ..SimulatorOptions::default()
    })
    .await;
    let raw = Raw::new(&simulator, ApiVersion::V2026_03_11);
    let mut limited = None;
    for _ in 0..6 {
        let response = raw
            .request(reqwest::Method::GET, "/v1/users/me")
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let response = limited.expect("a burst past the limit is refused");
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(simulator.stats().rate_limited, 1);
}

#[tokio::test]
async fn stats_are_served_over_http() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 1,
        ..SimulatorOptions::default()
    })
    .await;
    let raw = Raw::new(&simulator, ApiVersion::V2026_03_11);
    raw.send(reqwest::Method::GET, "/v1/users/me", None).await;
    let stats: Value = raw
        .http
        .get(format!("{}/_simulator/stats", raw.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"], 1);
    assert_eq!(stats["by_endpoint"]["GET /v1/users/me"], 1);
}

#[test]
fn fault_specs_parse_or_explain() {
    use tasksync::simulator::{Fault, FaultSpec};
    let spec: FaultSpec = "429:0.05, 503:0.1,slow:0.1@1500,malformed:0.02"
        .parse()
        .unwrap();
    assert_eq!(spec.faults[0], (Fault::Status(429), 0.05));
    assert_eq!(
        spec.faults[2],
        (Fault::Slow(std::time::Duration::from_millis(1500)), 0.1)
    );
    assert!(
        "418:0.1"
            .parse::<FaultSpec>()
            .unwrap_err()
            .contains("unknown fault `418`")
    );
    assert!(
        "503:2"
            .parse::<FaultSpec>()
            .unwrap_err()
            .contains("between 0 and 1")
    );
    assert!(
        "503:0.6,502:0.6"
            .parse::<FaultSpec>()
            .unwrap_err()
            .contains("more than 1")
    );
}

/// The simulator's own clock endpoint refuses a move past a century (it would overflow the
/// date) instead of panicking, and keeps serving.
#[tokio::test]
async fn the_clock_refuses_a_move_it_cannot_make() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 1,
        ..SimulatorOptions::default()
    })
    .await;
    let raw = Raw::new(&simulator, ApiVersion::V2026_03_11);
    let clock = format!("{}/_simulator/clock", raw.base);
    for seconds in [i64::MAX, i64::MIN, 4_000_000_000] {
        let response = raw
            .http
            .post(&clock)
            .json(&json!({ "advance_seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "{seconds}");
    }
    let response = raw
        .http
        .post(&clock)
        .json(&json!({ "advance_seconds": 86_400 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let now: Value = response.json().await.unwrap();
    let moved = chrono::DateTime::parse_from_rfc3339(now["now"].as_str().unwrap()).unwrap();
    assert!(moved > chrono::Utc::now() + chrono::Duration::hours(23));
}
