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
    },
    Mail {
        to: Vec<String>,
        cc: Vec<String>,
        subject: String,
        body: String,
        html: Option<String>,
    },
}

impl PlannedAction {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Set { .. } => "set",
            Self::Append { .. } => "append",
            Self::Mail { .. } => "mail",
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
            Self::Append { text } => format!("append {:?}", text),
            Self::Mail { to, subject, .. } => format!("mail {} \"{subject}\"", to.join(", ")),
        }
    }
}

/// A rule firing to record, with its rendered actions to queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Firing {
    pub rule: String,
    pub task_id: String,
    /// What the rule fired on (unique per rule and task: the same transition never fires twice).
    pub transition: String,
    /// `fired`, `stopped` (the loop budget ran out) or `error` (rendering failed).
    pub status: &'static str,
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
