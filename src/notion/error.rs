//! The Notion client's error: what went wrong, in sentences that say what to do.

use std::collections::BTreeMap;

use crate::model::DataSourceSummary;

/// An error from the Notion client. Callers match on it (`is_not_found`), so it is typed.
#[derive(Debug, thiserror::Error)]
pub enum NotionError {
    /// Notion answered with an error status and its error body.
    #[error("{}", api_message(.status, .code, .message, .request_id.as_deref(), .additional_data, *.attempts))]
    Api {
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
        /// Notion's `additional_data` (arrays joined with ", "): what tells the user what to do.
        additional_data: BTreeMap<String, String>,
        /// How many attempts were made before giving up.
        attempts: u32,
    },
    /// An error status whose body is not Notion's error (a proxy's page, a load balancer's JSON).
    #[error(
        "{endpoint} answered {status} with a response that is not from Notion's API ({content_type}): {excerpt:?}; check `notion.base_url` and any proxy in between"
    )]
    UnexpectedResponse {
        endpoint: String,
        status: u16,
        content_type: String,
        /// The first 200 bytes of the body, lossily decoded.
        excerpt: String,
        attempts: u32,
    },
    /// A write that Notion would refuse, found before it was sent.
    #[error("cannot write property `{property}`: {detail}")]
    InvalidWrite { property: String, detail: String },
    /// The request could not be completed (connection refused, reset, timeout).
    #[error(
        "could not reach Notion at {base_url} after {attempts} attempt(s): {detail}; check the network and `notion.base_url`"
    )]
    Transport {
        base_url: String,
        detail: String,
        attempts: u32,
    },
    /// A success status with a body that is not what the API documents.
    #[error(
        "Notion sent a response that could not be read ({endpoint}, after {attempts} attempt(s)): {detail}"
    )]
    Decode {
        endpoint: String,
        detail: String,
        attempts: u32,
    },
    /// An append whose outcome is unknown and could not be checked on the page.
    #[error(
        "appending to page {page_id} failed in a way that leaves its outcome unknown ({detail}), and the page could not be checked; look at the page before trying again"
    )]
    AmbiguousAppend { page_id: String, detail: String },
    /// The database holds several data sources and the configuration names none (or a wrong one).
    #[error("{}", data_source_choice(.database_id, .wanted.as_deref(), .available))]
    DataSourceChoice {
        database_id: String,
        wanted: Option<String>,
        available: Vec<DataSourceSummary>,
    },
    /// A status or select name that the property does not offer.
    #[error(
        "`{wanted}` is not an option of the {kind} property `{property}`; allowed: {}",
        quoted_list(.allowed)
    )]
    UnknownOption {
        property: String,
        kind: String,
        wanted: String,
        allowed: Vec<String>,
    },
    /// The data source has no property of a kind the command needs.
    #[error("the data source has no {kind} property{}", .hint)]
    MissingProperty { kind: String, hint: String },
}

impl NotionError {
    /// The object does not exist or is not shared with the integration.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status: 404, .. })
    }

    /// The HTTP status Notion answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::UnexpectedResponse { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn api_message(
    status: &u16,
    code: &str,
    message: &str,
    request_id: Option<&str>,
    additional_data: &BTreeMap<String, String>,
    attempts: u32,
) -> String {
    let advice = match (*status, code) {
        (401, _) => "Notion rejected the token: check NOTION_TOKEN (an internal integration token starts with `ntn_` or `secret_`)".to_string(),
        (403, _) => "the integration lacks a capability for this request: enable read, update and insert content in the integration's settings".to_string(),
        (404, _) => {
            let integration = additional_data
                .get("integration_id")
                .map(|id| format!(" (integration {id})"))
                .unwrap_or_default();
            format!("not found, or not shared with the integration{integration}: open the database in Notion and add the connection in its ••• menu (Connections)")
        }
        (409, _) => format!("Notion kept reporting a conflicting edit after {attempts} attempt(s): try again"),
        (429, _) => format!("Notion kept rate limiting after {attempts} attempts: lower `notion.requests_per_second` or try again later"),
        (400, "missing_version") => "the request lacked a Notion-Version header: set `notion.api_version`".to_string(),
        (400, _) => "Notion rejected the request".to_string(),
        (500..=599, _) => format!("Notion is failing after {attempts} attempt(s): try again later"),
        _ => "Notion returned an error".to_string(),
    };
    let mut text = format!("{advice} ({status} {code}");
    if !message.is_empty() {
        text.push_str(": ");
        text.push_str(message);
    }
    text.push(')');
    let details: Vec<String> = additional_data
        .iter()
        .filter(|(key, _)| !(*status == 404 && *key == "integration_id"))
        .map(|(key, value)| format!("{key}: {value}"))
        .collect();
    if !details.is_empty() {
        text.push_str(&format!(" ({})", details.join("; ")));
    }
    if let Some(request_id) = request_id {
        text.push_str(&format!(" [request id {request_id}]"));
    }
    text
}

fn data_source_choice(
    database_id: &str,
    wanted: Option<&str>,
    available: &[DataSourceSummary],
) -> String {
    let listing: Vec<String> = available
        .iter()
        .map(|source| format!("  \"{}\" (id {})", source.name, source.id))
        .collect();
    let head = match wanted {
        Some(wanted) => {
            format!("database {database_id} has no data source named or with id `{wanted}`")
        }
        None => format!(
            "database {database_id} has {} data sources: set `notion.data_source` to the name or id of one",
            available.len()
        ),
    };
    format!("{head}; it has:\n{}", listing.join("\n"))
}

fn quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    quoted.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        let unauthorized = NotionError::Api {
            status: 401,
            code: "unauthorized".into(),
            message: "API token is invalid.".into(),
            request_id: Some("abc".into()),
            additional_data: BTreeMap::new(),
            attempts: 1,
        };
        assert_eq!(
            unauthorized.to_string(),
            "Notion rejected the token: check NOTION_TOKEN (an internal integration token starts with `ntn_` or `secret_`) (401 unauthorized: API token is invalid.) [request id abc]"
        );
        let missing = NotionError::Api {
            status: 404,
            code: "object_not_found".into(),
            message: String::new(),
            request_id: None,
            additional_data: BTreeMap::from([("integration_id".into(), "1a2b".into())]),
            attempts: 1,
        };
        assert!(missing.is_not_found());
        assert!(
            missing
                .to_string()
                .starts_with("not found, or not shared with the integration (integration 1a2b):"),
            "{missing}"
        );
        let limited = NotionError::Api {
            status: 429,
            code: "rate_limited".into(),
            message: "Slow down.".into(),
            request_id: None,
            additional_data: BTreeMap::from([(
                "rate_limit_reason".into(),
                "workspace_limit".into(),
            )]),
            attempts: 8,
        };
        assert!(
            limited
                .to_string()
                .ends_with("(429 rate_limited: Slow down.) (rate_limit_reason: workspace_limit)"),
            "{limited}"
        );
        assert!(
            missing
                .to_string()
                .contains("add the connection in its ••• menu")
        );
    }
}
