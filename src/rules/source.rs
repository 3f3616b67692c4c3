//! Where rules come from and how problems in them are located: a rule with its file and text,
//! byte spans turned into lines and columns, a located problem, and the `[mail]` defaults that
//! mail actions compile against. The configuration file reads these shapes (`config` re-exports
//! them); `rules::compile` uses them without depending on the configuration.

use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;

use super::syntax::RuleConfig;

/// A rule with the file it comes from (and that file's text, to turn spans into lines).
#[derive(Debug, Clone)]
pub struct RuleEntry {
    pub file: PathBuf,
    /// The source whose `rules` file holds the rule (`[[sources]]`); `None` for the
    /// configuration file and its `include`s.
    pub source: Option<String>,
    pub text: std::sync::Arc<str>,
    pub rule: RuleConfig,
}

impl RuleEntry {
    /// 1-based line and column of a byte span in this rule's file.
    pub fn position(&self, span: &Range<usize>) -> (usize, usize) {
        line_column(&self.text, span.start)
    }
}

/// `[mail]`: defaults for mail actions (a rule's `mail` action may override each).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// The sender, e.g. `"tasksync <tasksync@example.com>"`.
    #[serde(default)]
    pub from: Option<String>,
    /// Default recipients.
    #[serde(default)]
    pub to: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    /// Default subject template.
    #[serde(default = "default_mail_subject")]
    pub subject: String,
    /// Default plain-text body template.
    #[serde(default = "default_mail_body")]
    pub body: String,
    /// Default HTML alternative template (none: plain text only).
    #[serde(default)]
    pub html: Option<String>,
    /// A PEM file of certificates to trust for the SMTP server's TLS, besides the system's (for
    /// a relay with a private or self-signed certificate). Verification stays on.
    #[serde(default)]
    pub ca_certificate: Option<PathBuf>,
}

fn default_mail_subject() -> String {
    "[tasksync] {{ task.title }}".to_string()
}

/// The default body: the title, status, due date and assignee (when the database has them),
/// the change that made the rule fire, and the link.
fn default_mail_body() -> String {
    concat!(
        "{{ task.title }}\n\n",
        "Status: {{ task.status }}\n",
        "{% if task.Due is defined and task.Due %}\nDue: {{ task.Due }}\n{% endif %}\n",
        "{% if task.Assignee is defined and task.Assignee %}\nAssignee: {{ task.Assignee }}\n{% endif %}\n",
        "{% if changes %}\n\nWhat changed:\n{% for change in changes %}\n",
        "  {{ change.property }}: {{ change.old or '(empty)' }} → {{ change.new or '(empty)' }}\n",
        "{% endfor %}\n{% endif %}\n",
        "\nOpen in Notion: {{ task.url }}\n\n",
        "-- \nSent by tasksync (rule \"{{ rule }}\").\n",
    )
    .to_string()
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: None,
            to: Vec::new(),
            cc: Vec::new(),
            subject: default_mail_subject(),
            body: default_mail_body(),
            html: None,
            ca_certificate: None,
        }
    }
}

/// One problem in a configuration file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, when it is not the one the error names (an included file).
    pub file: Option<PathBuf>,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Where the lines of a text start, for turning many byte offsets into lines and columns in
/// one pass over the text (`line_column` scans from the start on every call).
#[derive(Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        Self { starts }
    }

    /// 1-based line and column (in characters) of a byte offset in `text`, the indexed text.
    pub fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = text.floor_char_boundary(offset.min(text.len()));
        let line = self.starts.partition_point(|start| *start <= offset);
        let start = self.starts[line.saturating_sub(1)];
        (line, text[start..offset].chars().count() + 1)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |tail| tail.chars().count())
        + 1;
    (line, column)
}
