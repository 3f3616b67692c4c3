//! Notion's integration webhooks as they arrive (reference/webhooks,
//! reference/webhooks-events-delivery): first a verification request carrying the
//! `verification_token`, then events signed with it in `X-Notion-Signature: sha256=<hex of
//! HMAC-SHA256 of the raw body>`. Events carry ids, not values, and are delivered at most once
//! and aggregated: a hint to sync, never the data.

use hmac::{KeyInit, Mac};
use serde::Deserialize;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "x-notion-signature";

/// The signature Notion sends for `body` with `token`: `sha256=<hex>`.
pub fn signature(token: &str, body: &[u8]) -> String {
    let mut mac = mac(token);
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn mac(token: &str) -> HmacSha256 {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    match HmacSha256::new_from_slice(token.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable_key(),
    }
}

#[cold]
fn unreachable_key() -> HmacSha256 {
    // Not reachable: HMAC accepts keys of every length. A fixed key keeps this total without
    // a panic; it verifies nothing anyone signed.
    <HmacSha256 as KeyInit>::new(&Default::default())
}

/// Whether `header` is the signature of `body` with `token`, compared in constant time. A
/// missing header, another scheme or bad hex is not.
pub fn verify(token: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_digest) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(digest) = hex::decode(hex_digest) else {
        return false;
    };
    let mut mac = mac(token);
    mac.update(body);
    mac.verify_slice(&digest).is_ok()
}

/// What a request to the webhook endpoint carries.
#[derive(Clone, PartialEq, Eq)]
pub enum Inbound {
    /// The one-time verification request: the token to paste into Notion (and to verify
    /// signatures with).
    Verification {
        token: String,
    },
    Event(Event),
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Verification { .. } => f.write_str("Verification { token: [redacted] }"),
            Self::Event(event) => f.debug_tuple("Event").field(event).finish(),
        }
    }
}

/// One event: what happened to which entity, under which parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Unique per event, the same on every delivery attempt: what duplicates are told by.
    pub id: String,
    /// `page.properties_updated`, `page.created`, `data_source.schema_updated`, ...
    pub kind: String,
    pub entity_id: Option<String>,
    /// `page`, `data_source`, `database`, `block`, `comment`, ...
    pub entity_type: Option<String>,
    /// The parent the event names (a data source or database for a task).
    pub parent_id: Option<String>,
    /// The data source of a page's parent database, when the event names it.
    pub data_source_id: Option<String>,
    pub attempt_number: Option<u32>,
}

impl Event {
    /// A change of a data source's (or database's) schema: the rules are checked again.
    pub fn changes_schema(&self) -> bool {
        self.kind.ends_with(".schema_updated")
    }
}

#[derive(Deserialize)]
struct WireInbound {
    verification_token: Option<String>,
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    entity: Option<WireEntity>,
    data: Option<WireData>,
    attempt_number: Option<u32>,
}

#[derive(Deserialize)]
struct WireEntity {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct WireData {
    parent: Option<WireParent>,
}

#[derive(Deserialize)]
struct WireParent {
    id: Option<String>,
    data_source_id: Option<String>,
}

/// The longest event id, type or entity id kept; longer is not Notion's.
const MAX_FIELD: usize = 200;

/// Reads a request body: a verification request, or an event with an id and a type. Anything
/// else is an error saying what is missing (never the body).
pub fn parse(body: &[u8]) -> Result<Inbound, String> {
    let wire: WireInbound = serde_json::from_slice(body)
        .map_err(|error| format!("the body is not a Notion webhook (JSON: {error})"))?;
    if let Some(token) = wire.verification_token {
        if wire.id.is_some() || token.trim().is_empty() || token.len() > MAX_FIELD {
            return Err("a verification request with an unusable token".into());
        }
        return Ok(Inbound::Verification { token });
    }
    let bounded = |field: Option<String>| field.filter(|text| text.len() <= MAX_FIELD);
    let id = bounded(wire.id).ok_or("an event without an id")?;
    let kind = bounded(wire.kind).ok_or("an event without a type")?;
    let (entity_id, entity_type) = match wire.entity {
        Some(entity) => (bounded(entity.id), bounded(entity.kind)),
        None => (None, None),
    };
    let parent = wire.data.and_then(|data| data.parent);
    let (parent_id, data_source_id) = match parent {
        Some(parent) => (bounded(parent.id), bounded(parent.data_source_id)),
        None => (None, None),
    };
    Ok(Inbound::Event(Event {
        id,
        kind,
        entity_id,
        entity_type,
        parent_id,
        data_source_id,
        attempt_number: wire.attempt_number,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_token_and_body() {
        let body = br#"{"id":"e1","type":"page.created"}"#;
        let signed = signature("secret_abc", body);
        assert!(signed.starts_with("sha256=") && signed.len() == 7 + 64);
        assert!(verify("secret_abc", body, Some(&signed)));
        assert!(!verify("secret_abd", body, Some(&signed)));
        assert!(!verify("secret_abc", b"{}", Some(&signed)));
        assert!(!verify("secret_abc", body, None));
        assert!(!verify("secret_abc", body, Some("sha1=00")));
        assert!(!verify("secret_abc", body, Some("sha256=zz")));
        assert!(!verify("secret_abc", body, Some(&signed[..20])));
        // A known value (HMAC-SHA256 of "" with key "key", RFC 4231 style check).
        assert_eq!(
            signature("key", b""),
            "sha256=5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0"
        );
    }

    #[test]
    fn events_and_the_verification_request_are_told_apart() {
        let verification = parse(br#"{"verification_token":"secret_xyz"}"#).unwrap();
        assert_eq!(
            verification,
            Inbound::Verification {
                token: "secret_xyz".into()
            }
        );
        assert!(!format!("{verification:?}").contains("secret_xyz"));
        let body = br#"{"id":"367cba44-b6f3-4c92-81e7-6a2e9659efd4","timestamp":"2024-12-05T23:55:34.285Z","workspace_id":"w","subscription_id":"s","integration_id":"i","type":"page.properties_updated","authors":[{"id":"u","type":"person"}],"attempt_number":1,"entity":{"id":"153104cd-477e-809d-8dc4-ff2d96ae3090","type":"page"},"data":{"parent":{"id":"13950b26-c203-4f3b-b97d-93ec06319565","type":"database","data_source_id":"25e5c4d0-2b12-4c64-8d3e-8a2d1c6c8f10"},"updated_properties":["XGe%40"]}}"#;
        let Inbound::Event(event) = parse(body).unwrap() else {
            panic!("an event")
        };
        assert_eq!(event.kind, "page.properties_updated");
        assert_eq!(
            event.entity_id.as_deref(),
            Some("153104cd-477e-809d-8dc4-ff2d96ae3090")
        );
        assert_eq!(
            event.data_source_id.as_deref(),
            Some("25e5c4d0-2b12-4c64-8d3e-8a2d1c6c8f10")
        );
        assert!(!event.changes_schema());
        assert!(parse(b"not json").is_err());
        assert!(parse(br#"{"type":"page.created"}"#).is_err());
        assert!(parse(br#"{"verification_token":""}"#).is_err());
    }
}
