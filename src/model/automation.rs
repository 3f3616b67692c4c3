//! Automation records: what a rule firing decided, as the mirror stores it.
//!
//! `PlannedAction` serialises to `actions.payload_json` (its serde shape is a stored format: a
//! change needs a migration or a reader of both shapes). Statuses are enums whose `as_str` is
//! the text the SQL stores and matches.

use serde::{Deserialize, Serialize};

use super::PropertyWrite;

/// One property write, with the text Notion will show afterwards (to skip writes that change
/// nothing, and to recognise our own edits when they come back).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedWrite {
    pub property: String,
    pub property_id: String,
    pub value: PropertyWrite,
    pub text: String,
}

/// A rendered action: what the executor does, exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlannedAction {
    Set {
        writes: Vec<PlannedWrite>,
    },
    Append {
        text: String,
        /// Rows written before formats existed were plain text.
        #[serde(default)]
        format: TextFormat,
    },
    Mail {
        to: Vec<String>,
        cc: Vec<String>,
        /// People of a people property who could not be mailed, with why (no email known).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        skipped: Vec<String>,
        subject: String,
        body: String,
        html: Option<String>,
    },
    /// A new page in a data source, with text, created once: the page carries `marker` (derived
    /// from the firing) in its content, so an attempt whose outcome is unknown is found again
    /// instead of repeated.
    Create {
        data_source_id: String,
        writes: Vec<PlannedWrite>,
        /// Text for the page's content (empty for none).
        #[serde(default)]
        text: String,
        #[serde(default)]
        format: TextFormat,
        /// Set when the firing is recorded (`rules::fire`): what finds the page again.
        #[serde(default)]
        marker: String,
    },
    /// An HTTP POST to a user's endpoint (Slack, Discord, ntfy, anything), sent from the webhook
    /// outbox.
    Webhook {
        target: WebhookTarget,
        content_type: String,
        body: String,
    },
}

/// The environment variable that lets webhooks reach link-local addresses (cloud metadata).
pub const ALLOW_LINK_LOCAL_WEBHOOKS: &str = "TASKSYNC_ALLOW_LINK_LOCAL_WEBHOOKS";

/// Why `url` cannot be a webhook's target, if it cannot: not an http or https URL, or a
/// link-local address (169.254.0.0/16, fe80::/10: where clouds serve the host's credentials, at
/// 169.254.169.254) or a cloud metadata host, unless `allow_link_local`. The reason never repeats
/// the URL, which may hold a secret.
pub fn webhook_url_problem(url: &str, allow_link_local: bool) -> Option<String> {
    let Ok(parsed) = url::Url::parse(url.trim()) else {
        return Some("is not a URL".into());
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Some("is not an http or https URL".into());
    }
    let link_local = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_link_local(),
        Some(url::Host::Ipv6(ip)) => {
            (ip.segments()[0] & 0xffc0) == 0xfe80
                || ip.to_ipv4_mapped().is_some_and(|ip| ip.is_link_local())
        }
        Some(url::Host::Domain(host)) => matches!(
            host.trim_end_matches('.').to_ascii_lowercase().as_str(),
            "metadata"
                | "metadata.google.internal"
                | "instance-data"
                | "instance-data.ec2.internal"
        ),
        None => return Some("has no host".into()),
    };
    (link_local && !allow_link_local).then(|| {
        format!(
            "points at a link-local or cloud metadata address, where a request can read the host's credentials; set {ALLOW_LINK_LOCAL_WEBHOOKS}=1 where tasksync runs if you mean it"
        )
    })
}

/// Where a webhook goes. A URL holding a secret is named by its environment variable and read
/// when it is sent: it never reaches the mirror, a log or an error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookTarget {
    /// The URL is in this environment variable.
    Env(String),
    /// A URL without secrets, as written.
    Url(String),
}

impl std::fmt::Display for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Env(name) => write!(f, "${name}"),
            Self::Url(url) => f.write_str(url),
        }
    }
}

impl PlannedAction {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Set { .. } => "set",
            Self::Append { .. } => "append",
            Self::Mail { .. } => "mail",
            Self::Webhook { .. } => "webhook",
            Self::Create { .. } => "create",
        }
    }

    /// One line for previews and logs.
    pub fn describe(&self) -> String {
        match self {
            Self::Set { writes } => {
                let parts: Vec<String> = writes
                    .iter()
                    .map(|w| format!("{} = {}", w.property, w.text))
                    .collect();
                format!("set {}", parts.join(", "))
            }
            Self::Append { text, .. } => format!("append {text:?}"),
            Self::Mail {
                to,
                subject,
                skipped,
                ..
            } => {
                let to = if to.is_empty() {
                    "no one".to_string()
                } else {
                    to.join(", ")
                };
                let skipped = if skipped.is_empty() {
                    String::new()
                } else {
                    format!(" (skipped: {})", skipped.join("; "))
                };
                format!("mail {to} \"{subject}\"{skipped}")
            }
            Self::Webhook {
                target,
                content_type,
                body,
            } => format!("webhook POST {target} ({content_type}): {body}"),
            Self::Create { writes, text, .. } => {
                let parts: Vec<String> = writes
                    .iter()
                    .map(|w| format!("{} = {}", w.property, w.text))
                    .collect();
                let text = if text.is_empty() {
                    String::new()
                } else {
                    format!(" with text {text:?}")
                };
                format!("create a task: {}{text}", parts.join(", "))
            }
        }
    }
}

/// How an append's text is written: Markdown (headings, lists, to-dos, quotes, code, dividers,
/// bold, italic, strikethrough, code and links) or plain paragraphs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextFormat {
    Markdown,
    #[default]
    Plain,
}

impl TextFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Markdown => "markdown",
            Self::Plain => "plain",
        }
    }
}

/// Starts a mention token in rendered template text: `U+E000 user-id ':' hex(name) U+E001`,
/// what `mention(person)` writes. Private-use characters and hex digits, so neither Markdown nor
/// a user's text interferes; an append turns it into a user mention, other text into `@Name`.
pub const MENTION_START: char = '\u{E000}';
/// Ends a mention token.
pub const MENTION_END: char = '\u{E001}';

/// The token `mention(person)` writes into a template's text.
pub fn mention_token(user_id: &str, name: &str) -> String {
    let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{MENTION_START}{user_id}:{hex}{MENTION_END}")
}

/// The user id and name of a token's inside (between the delimiters), if it is one.
pub fn parse_mention(token: &str) -> Option<(String, String)> {
    let (id, hex) = token.split_once(':')?;
    let valid_id = !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if !valid_id || hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    let name = String::from_utf8(bytes?).ok()?;
    Some((id.to_string(), name))
}

/// Text with its mention tokens written as `@Name`: for mail and property values, which cannot
/// hold a mention.
pub fn mentions_as_names(text: String) -> String {
    if !text.contains(MENTION_START) {
        return text;
    }
    replace_mentions(&text, |name| format!("@{name}"))
}

/// Text with each mention token replaced by what `write` makes of the person's name.
pub fn replace_mentions(text: &str, write: impl Fn(&str) -> String) -> String {
    if !text.contains(MENTION_START) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(MENTION_START) {
        let after = &rest[start + MENTION_START.len_utf8()..];
        let parsed = after
            .find(MENTION_END)
            .and_then(|end| Some((end, parse_mention(&after[..end])?)));
        let Some((end, (_, name))) = parsed else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(&write(&name));
        rest = &after[end + MENTION_END.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// A rule firing to record, with its rendered actions to queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Firing {
    pub rule: String,
    pub task_id: String,
    /// What the rule fired on (unique per rule and task: the same transition never fires twice).
    pub transition: String,
    pub status: FiringStatus,
    pub reason: Option<String>,
    pub chain_depth: i64,
    pub actions: Vec<PlannedAction>,
}

/// A time-dependent rule's record of whether a task is inside its condition.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleStateChange {
    pub rule: String,
    pub task_id: String,
    pub inside: bool,
}

/// A stable Message-ID for the `index`th mail of a firing: a resend is recognisably the same mail.
pub fn message_id(rule: &str, task_id: &str, transition: &str, index: usize) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in [rule, task_id, transition, &index.to_string()]
        .join("\u{1f}")
        .bytes()
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!(
        "<tasksync.{hash:016x}.{}@tasksync.invalid>",
        task_id.replace('-', "")
    )
}

/// A stable `Idempotency-Key` for the `index`th action of a firing: a redelivery after a crash
/// carries the same key, so an endpoint that honours it does the work once.
pub fn idempotency_key(rule: &str, task_id: &str, transition: &str, index: usize) -> String {
    let id = message_id(rule, task_id, transition, index);
    let inner = id
        .trim_start_matches('<')
        .trim_end_matches("@tasksync.invalid>");
    inner.replace('.', "-")
}

/// What a rule fires on: unique per rule and task, so the same transition never fires twice
/// (`rule_firings.transition`). Its constructors are the one place these ids are made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition(String);

impl Transition {
    /// A change observed by sync run `run_id`: the version (edit time and content hash) *and* the
    /// observation, since content can return to an earlier state within one minute, and that
    /// is a new transition.
    pub fn observed(run_id: i64, last_edited_time: &str, content_hash: &str) -> Self {
        Self(format!("run{run_id}:{last_edited_time}#{content_hash}"))
    }

    /// A task that time alone moved into a time-dependent condition, in the period `period`
    /// (the day, or the minute for conditions that move by the minute).
    pub fn entered(period: &str) -> Self {
        Self(format!("entered#{period}"))
    }

    /// A task found gone from the data source at `at`.
    pub fn deleted(at: &str) -> Self {
        Self(format!("deleted#{at}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Transition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Declares a status enum whose `as_str` is the text the mirror stores, with `ALL` in the order
/// `status` reports them.
macro_rules! stored_status {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            /// Every status, in the order `status` reports them.
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The text the mirror stores.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The status a stored text names, if any.
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|status| status.as_str() == text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_status! {
    /// Where a queued Notion action is (`actions.status`).
    ActionStatus {
        Pending => "pending",
        /// Being attempted (marked before Notion is called).
        Running => "running",
        Done => "done",
        /// Nothing to do (the value was already there).
        Skipped => "skipped",
        Failed => "failed",
    }
}

stored_status! {
    /// Where a mail of the outbox is (`mail_outbox.status`).
    MailStatus {
        Queued => "queued",
        /// Being handed to the server (marked before it is contacted).
        Sending => "sending",
        Sent => "sent",
        Failed => "failed",
        /// Nobody to send to: every person it was for lacks an email (`last_error` says who).
        Skipped => "skipped",
    }
}

stored_status! {
    /// Where a webhook of the outbox is (`webhook_outbox.status`).
    WebhookStatus {
        Queued => "queued",
        /// Being sent (marked before the endpoint is contacted).
        Sending => "sending",
        Sent => "sent",
        /// Refused for good (a 4xx other than 429, or out of attempts): `last_error` says why.
        Failed => "failed",
    }
}

stored_status! {
    /// What became of a rule firing (`rule_firings.status`).
    FiringStatus {
        Fired => "fired",
        /// The chain of firings caused by our own edits ran out of budget.
        Stopped => "stopped",
        /// Rendering its actions failed.
        Error => "error",
    }
}

impl ActionStatus {
    /// Whether the action is over with success (`done_at` is set).
    pub fn is_done(self) -> bool {
        matches!(self, Self::Done | Self::Skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_stored_text() {
        for status in ActionStatus::ALL {
            assert_eq!(ActionStatus::parse(status.as_str()), Some(*status));
        }
        for status in MailStatus::ALL {
            assert_eq!(MailStatus::parse(status.as_str()), Some(*status));
        }
        for status in FiringStatus::ALL {
            assert_eq!(FiringStatus::parse(status.as_str()), Some(*status));
            assert_eq!(
                serde_json::to_string(status).unwrap(),
                format!("\"{}\"", status.as_str())
            );
        }
        assert_eq!(ActionStatus::parse("later"), None);
    }

    #[test]
    fn transitions_name_their_cause() {
        assert_eq!(
            Transition::observed(3, "2026-07-10T09:30:00.000Z", "ab12").as_str(),
            "run3:2026-07-10T09:30:00.000Z#ab12"
        );
        assert_eq!(
            Transition::entered("2026-07-10").as_str(),
            "entered#2026-07-10"
        );
        assert_eq!(
            Transition::deleted("2026-07-10T09:30:00.000Z").to_string(),
            "deleted#2026-07-10T09:30:00.000Z"
        );
    }

    #[test]
    fn message_ids_are_stable_per_firing_and_index() {
        let a = message_id("r", "page-1", "run1:t#h", 0);
        assert_eq!(a, message_id("r", "page-1", "run1:t#h", 0));
        assert_ne!(a, message_id("r", "page-1", "run1:t#h", 1));
        assert_ne!(a, message_id("r", "page-1", "run2:t#h", 0));
        assert!(a.starts_with("<tasksync.") && a.ends_with("page1@tasksync.invalid>"));
    }
}
