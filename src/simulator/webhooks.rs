//! Webhook delivery as Notion does it (reference/webhooks, reference/webhooks-events-delivery):
//! first the verification request `{"verification_token": ...}` (unsigned), then events signed
//! with that token in `X-Notion-Signature: sha256=<hex HMAC-SHA256 of the body>`. Events carry
//! ids, not values; edits of one page close together are aggregated into one event; a failed
//! delivery is tried again a few times, then dropped (at most once).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{State, lock};

/// Where the simulator delivers its events, and the token it signs them with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookTarget {
    pub url: String,
    pub token: String,
}

/// A change a subscription hears of: what happened to which entity, under which data source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageEvent {
    /// `page.created`, `page.properties_updated`, `page.content_updated`, `page.deleted`,
    /// `page.undeleted`, `data_source.schema_updated`.
    pub kind: &'static str,
    pub entity_id: String,
    /// The data source's index in the workspace.
    pub source: usize,
    pub author: String,
}

/// How long edits gather before they go out as one event per page and kind.
pub const AGGREGATION: Duration = Duration::from_millis(300);

/// Delivers events until the simulator stops.
pub(super) async fn deliver(state: Arc<State>, target: WebhookTarget) {
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "the simulator cannot deliver webhooks");
            return;
        }
    };
    let mut verified = false;
    let mut ids = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(rand::random());
    let mut tick = tokio::time::interval(AGGREGATION);
    loop {
        tick.tick().await;
        let (events, database_id, sources) = {
            let mut workspace = lock(&state.workspace);
            let events = workspace
                .events
                .as_mut()
                .map(std::mem::take)
                .unwrap_or_default();
            let sources: Vec<String> = workspace.sources.iter().map(|s| s.id.clone()).collect();
            (events, workspace.database_id.clone(), sources)
        };
        if events.is_empty() {
            continue;
        }
        if !verified {
            // Notion verifies the endpoint first; the token is then pasted into Notion.
            let body = json!({ "verification_token": target.token }).to_string();
            match http.post(&target.url).body(body).send().await {
                Ok(answer) if answer.status().is_success() || answer.status() == 409 => {
                    verified = true;
                }
                _ => {
                    // Not reachable yet: these events are lost, as Notion's would be.
                    continue;
                }
            }
        }
        // One event per page and kind, authors gathered (aggregation).
        let mut grouped: BTreeMap<(String, &'static str), (usize, Vec<String>)> = BTreeMap::new();
        for event in events {
            let entry = grouped
                .entry((event.entity_id, event.kind))
                .or_insert((event.source, Vec::new()));
            if !entry.1.contains(&event.author) {
                entry.1.push(event.author);
            }
        }
        for ((entity_id, kind), (source, authors)) in grouped {
            let data_source_id = sources.get(source).cloned().unwrap_or_default();
            let id = super::workspace::uuid(&mut ids);
            let event = event_body(
                &id,
                kind,
                &entity_id,
                &database_id,
                &data_source_id,
                &authors,
            );
            send(&http, &target, event).await;
        }
    }
}

fn event_body(
    id: &str,
    kind: &str,
    entity_id: &str,
    database_id: &str,
    data_source_id: &str,
    authors: &[String],
) -> Value {
    let (entity_type, data) = if kind.starts_with("data_source.") {
        (
            "data_source",
            json!({ "parent": { "id": database_id, "type": "database" } }),
        )
    } else {
        (
            "page",
            json!({ "parent": { "id": database_id, "type": "database", "data_source_id": data_source_id } }),
        )
    };
    let authors: Vec<Value> = authors
        .iter()
        .map(|id| json!({ "id": id, "type": "person" }))
        .collect();
    json!({
        "id": id,
        "timestamp": crate::model::time::iso(chrono::Utc::now()),
        "workspace_id": "00000000-0000-4000-8000-00000000a11a",
        "workspace_name": "Simulated workspace",
        "subscription_id": "00000000-0000-4000-8000-00000000511b",
        "integration_id": "00000000-0000-4000-8000-000000001a7e",
        "type": kind,
        "authors": authors,
        "attempt_number": 1,
        "api_version": "2026-03-11",
        "entity": { "id": entity_id, "type": entity_type },
        "data": data,
    })
}

/// Sends one event, signed; a failure is tried again twice (with its `attempt_number`), then
/// the event is dropped.
async fn send(http: &reqwest::Client, target: &WebhookTarget, mut event: Value) {
    for attempt in 1..=3u32 {
        event["attempt_number"] = json!(attempt);
        let body = event.to_string();
        let signature = crate::notion::events::signature(&target.token, body.as_bytes());
        let sent = http
            .post(&target.url)
            .header("content-type", "application/json")
            .header(crate::notion::events::SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await;
        if matches!(&sent, Ok(answer) if answer.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
    }
}
