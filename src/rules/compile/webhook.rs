//! Compiling a webhook action: where it goes (a URL, or the environment variable holding one),
//! and its body (a table sent as JSON whose strings are templates, or a text template).

use std::ops::Range;

use super::super::program::{Action, JsonTemplate, WebhookBody};
use super::super::syntax::WebhookActionConfig;
use super::Compiler;
use crate::model::automation::{ALLOW_LINK_LOCAL_WEBHOOKS, WebhookTarget, webhook_url_problem};

/// Whether webhooks may reach link-local addresses (`TASKSYNC_ALLOW_LINK_LOCAL_WEBHOOKS=1`).
pub(crate) fn allow_link_local() -> bool {
    std::env::var(ALLOW_LINK_LOCAL_WEBHOOKS).is_ok_and(|value| value.trim() == "1")
}

/// The body of a webhook without one: JSON that Slack, Discord, Mattermost and Teams workflows
/// all show (`text`, `content`), with the task's facts for other endpoints.
const DEFAULT_BODY: &str = r#"
text = "{{ rule }}: {{ task.title }} ({{ task.status }}) {{ task.url }}"
content = "{{ rule }}: {{ task.title }} ({{ task.status }}) {{ task.url }}"
rule = "{{ rule }}"
task = { id = "{{ task.id }}", unique_id = "{{ task.unique_id }}", title = "{{ task.title }}", status = "{{ task.status }}", url = "{{ task.url }}" }
"#;

impl Compiler<'_> {
    pub(super) fn webhook(
        &mut self,
        span: &Range<usize>,
        config: &WebhookActionConfig,
    ) -> Option<Action> {
        let target = match (&config.url, &config.url_env) {
            (Some(url), None) => {
                if let Some(why) = webhook_url_problem(url, allow_link_local()) {
                    self.problem(span, format!("webhook `url = \"{url}\"` {why}"));
                    return None;
                }
                WebhookTarget::Url(url.clone())
            }
            (None, Some(name)) => {
                let valid = !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !name.starts_with(|c: char| c.is_ascii_digit());
                if !valid {
                    self.problem(
                        span,
                        format!("webhook `url_env = \"{name}\"` is not an environment variable name (letters, digits and _)"),
                    );
                    return None;
                }
                // Its value, when set where `check` runs, is checked too (never shown).
                if let Ok(url) = std::env::var(name)
                    && let Some(why) = webhook_url_problem(&url, allow_link_local())
                {
                    self.problem(
                        span,
                        format!("webhook `url_env = \"{name}\"`: the URL in {name} {why}"),
                    );
                    return None;
                }
                WebhookTarget::Env(name.clone())
            }
            _ => {
                self.problem(
                    span,
                    "a webhook needs exactly one of `url_env` (the environment variable holding a URL with a secret, such as Slack's) or `url`".into(),
                );
                return None;
            }
        };
        let default_body;
        let body_config = match &config.body {
            Some(body) => body,
            None => {
                default_body = toml::Value::Table(DEFAULT_BODY.parse().ok()?);
                &default_body
            }
        };
        let (body, default_type) = match body_config {
            toml::Value::String(text) => (
                WebhookBody::Text(self.template(span, "webhook body", text)?),
                "text/plain; charset=utf-8",
            ),
            other => (
                WebhookBody::Json(self.json_template(span, other)?),
                "application/json",
            ),
        };
        let content_type = config
            .content_type
            .clone()
            .unwrap_or_else(|| default_type.to_string());
        if content_type.chars().any(char::is_control) {
            self.problem(span, "webhook `content_type` has a line break".into());
            return None;
        }
        Some(Action::Webhook {
            target,
            content_type,
            body,
        })
    }

    /// A TOML value as JSON whose strings are templates.
    fn json_template(&mut self, span: &Range<usize>, value: &toml::Value) -> Option<JsonTemplate> {
        Some(match value {
            toml::Value::String(text) => {
                JsonTemplate::Text(self.template(span, "webhook body", text)?)
            }
            toml::Value::Integer(n) => JsonTemplate::Literal((*n).into()),
            toml::Value::Float(n) => JsonTemplate::Literal(
                serde_json::Number::from_f64(*n).map_or(serde_json::Value::Null, Into::into),
            ),
            toml::Value::Boolean(b) => JsonTemplate::Literal((*b).into()),
            toml::Value::Datetime(date) => JsonTemplate::Literal(date.to_string().into()),
            toml::Value::Array(items) => JsonTemplate::Array(
                items
                    .iter()
                    .map(|item| self.json_template(span, item))
                    .collect::<Option<_>>()?,
            ),
            toml::Value::Table(table) => JsonTemplate::Object(
                table
                    .iter()
                    .map(|(key, item)| Some((key.clone(), self.json_template(span, item)?)))
                    .collect::<Option<_>>()?,
            ),
        })
    }
}
