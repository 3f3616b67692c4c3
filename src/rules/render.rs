//! Rendering a firing's actions: templates over the task, and `set` values resolved, into the
//! exact writes, text and mail that the executor performs and previews show. Pure.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::compile::{
    Action, DateRef, JsonTemplate, Recipient, Rule, RuleSet, SetValue, WebhookBody,
};
use super::directory::Directory;
use crate::model::automation::{
    MENTION_END, MENTION_START, PlannedAction, PlannedWrite, mentions_as_names, replace_mentions,
};
use crate::model::stored::StoredProperties;
use crate::model::{DataSource, PropertyValue, PropertyWrite, SelectOption, User};

/// Filters a template may use, for error messages.
pub const TEMPLATE_FILTERS: &str = "upper, lower, title, trim, default, truncate, replace, join, length, add_days, add_weeks, add_months, add_workdays, next_weekday";

/// Most instructions one template may run (minijinja fuel): far more than any real template,
/// little enough that a loop of a billion stops at once.
pub const TEMPLATE_FUEL: u64 = 500_000;
/// Most bytes one rendered template may produce.
pub const MAX_RENDERED_BYTES: usize = 1024 * 1024;

/// The template environment: minijinja with its built-in filters and a fuel limit; HTML
/// templates (names ending in `.html`) escape what they insert.
pub fn environment() -> minijinja::Environment<'static> {
    let mut environment = minijinja::Environment::new();
    environment.set_fuel(Some(TEMPLATE_FUEL));
    // Keep a template's last newline, and drop the newline after `{% ... %}` lines so loops in
    // mail bodies do not leave blank lines.
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .trim_blocks(true)
        .build()
    {
        environment.set_syntax(syntax);
    }
    environment.add_function("mention", mention);
    super::dates::register(&mut environment);
    environment
}

/// `mention(person)`: a token an append writes as a real Notion user mention (Notion then
/// notifies the person), and mail and property values as `@Name`. Takes what `task.Assignee`
/// (or any people property) renders: one person or several, by name, email or id, looked up
/// among the people of the task. An empty value mentions no one.
fn mention(
    state: &minijinja::State<'_, '_>,
    who: &minijinja::Value,
) -> Result<String, minijinja::Error> {
    let Some(text) = who
        .as_str()
        .map(str::to_string)
        .or_else(|| (!who.is_undefined() && !who.is_none()).then(|| who.to_string()))
    else {
        return Ok(String::new());
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(String::new());
    }
    if state.lookup(CHECKING_KEY).is_some_and(|c| c.is_true()) {
        // Checking a template against the sample task: no one to look up.
        return Ok(crate::model::automation::mention_token(
            "00000000-0000-0000-0000-000000000000",
            text,
        ));
    }
    let people = state.lookup(PEOPLE_KEY);
    let people = people.unwrap_or_default();
    let find = |key: &str| -> Option<String> {
        let person = people.get_item(&minijinja::Value::from(key)).ok()?;
        let id = person.get_attr("id").ok()?;
        let name = person.get_attr("name").ok()?;
        Some(crate::model::automation::mention_token(
            id.as_str()?,
            name.as_str()?,
        ))
    };
    if let Some(token) = find(text) {
        return Ok(token);
    }
    // Several people, as a people property renders them.
    let tokens: Option<Vec<String>> = text.split(", ").map(|part| find(part.trim())).collect();
    tokens.map(|tokens| tokens.join(" ")).ok_or_else(|| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("mention(\"{text}\"): no person of that name, email or id is on the task (mention takes a people property, e.g. mention(task.Assignee))"),
        )
    })
}

/// A task's own text without the characters of mention tokens: only `mention()` makes one, so
/// no title or note can mention (and notify) someone by itself.
fn unforged(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([MENTION_START, MENTION_END]) {
        std::borrow::Cow::Owned(text.replace([MENTION_START, MENTION_END], ""))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Where the context keeps the task's people for `mention`, by name, email and id.
const PEOPLE_KEY: &str = "__people";
/// Set in the sample context templates are checked with.
const CHECKING_KEY: &str = "__checking";

pub(crate) mod create;

/// A writer that refuses to grow past [`MAX_RENDERED_BYTES`].
struct Bounded(Vec<u8>);

impl std::io::Write for Bounded {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + bytes.len() > MAX_RENDERED_BYTES {
            return Err(std::io::Error::other("too long"));
        }
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Renders a template within the fuel and output limits; the error says which was hit.
pub fn render_bounded(
    template: &minijinja::Template<'_, '_>,
    context: minijinja::Value,
) -> Result<String, String> {
    render_within_limits(template, context)
        .map_err(|error| limit_exceeded(&error).unwrap_or_else(|| format!("{error:#}")))
}

/// Renders a template within the fuel and output limits, keeping minijinja's error (its kind
/// and line) for callers that explain it; [`limit_exceeded`] reads a limit from it.
pub fn render_within_limits(
    template: &minijinja::Template<'_, '_>,
    context: minijinja::Value,
) -> Result<String, minijinja::Error> {
    let mut out = Bounded(Vec::new());
    template.render_captured_to(context, &mut out)?;
    // Only `str` pieces were written: the bytes are UTF-8.
    Ok(String::from_utf8_lossy(&out.0).into_owned())
}

/// What a rendering error says when it is one of the limits (fuel, output size).
pub fn limit_exceeded(error: &minijinja::Error) -> Option<String> {
    match error.kind() {
        minijinja::ErrorKind::OutOfFuel => Some(format!(
            "the template ran too long (more than {TEMPLATE_FUEL} steps: a loop too large?)"
        )),
        minijinja::ErrorKind::WriteFailure => Some(format!(
            "the template's text is longer than {} MiB",
            MAX_RENDERED_BYTES / 1024 / 1024
        )),
        _ => None,
    }
}

/// What a template knows about the task.
pub struct TaskFacts<'a> {
    pub id: &'a str,
    pub url: &'a str,
    pub title: &'a str,
    pub status: Option<&'a str>,
    pub created_time: &'a str,
    pub last_edited_time: &'a str,
    /// Who edited last: the name when the mirror knows it, else the user id.
    pub last_edited_by: Option<&'a str>,
    pub deleted: bool,
    pub properties: &'a StoredProperties,
    /// The people and tasks the mirror knows that rules name (and users' emails, for mail to
    /// people properties).
    pub directory: &'a Directory,
}

/// One changed property, for templates (`changes`, `old`).
#[derive(Clone, Debug, Serialize)]
pub struct ChangeFacts {
    pub property: String,
    pub old: String,
    pub new: String,
}

/// `task` in templates: every property by name as text, and the task's own fields. Built as
/// minijinja values directly (no JSON in between); texts are shared with `task.properties`.
fn task_value(task: &TaskFacts<'_>, aliases: &BTreeMap<String, String>) -> minijinja::Value {
    let mut texts: BTreeMap<String, minijinja::Value> = task
        .properties
        .iter()
        .map(|(name, property)| {
            // A relation shows the related tasks' titles, when the mirror knows them.
            if let PropertyValue::Relation(ids) = &property.value
                && !task.directory.titles.is_empty()
            {
                let titles: Vec<&str> = ids
                    .iter()
                    .map(|id| {
                        task.directory
                            .titles
                            .get(id)
                            .map_or(id.as_str(), String::as_str)
                    })
                    .collect();
                return (name.clone(), minijinja::Value::from(titles.join(", ")));
            }
            (
                name.clone(),
                minijinja::Value::from(unforged(&property.text)),
            )
        })
        .collect();
    for (former, current) in aliases {
        if let Some(value) = texts.get(current).cloned() {
            texts.entry(former.clone()).or_insert(value);
        }
    }
    let unique_id = task
        .properties
        .values()
        .find(|p| p.value.type_name() == "unique_id")
        .map_or("", |p| p.text.as_str());
    let mut map = texts.clone();
    for (key, value) in [
        ("id", minijinja::Value::from(task.id)),
        ("url", minijinja::Value::from(task.url)),
        ("title", minijinja::Value::from(unforged(task.title))),
        (
            "status",
            minijinja::Value::from(task.status.unwrap_or_default()),
        ),
        ("unique_id", minijinja::Value::from(unique_id)),
        ("created_time", minijinja::Value::from(task.created_time)),
        (
            "last_edited_time",
            minijinja::Value::from(task.last_edited_time),
        ),
        (
            "last_edited_by",
            minijinja::Value::from(task.last_edited_by.unwrap_or_default()),
        ),
        ("deleted", minijinja::Value::from(task.deleted)),
        ("properties", minijinja::Value::from(texts)),
    ] {
        map.insert(key.to_string(), value);
    }
    minijinja::Value::from(map)
}

/// The task's people (people, created-by and last-edited-by values) by name, email and id,
/// each as `{id, name}`, for `mention`.
fn people_index(task: &TaskFacts<'_>) -> minijinja::Value {
    let mut index: BTreeMap<String, minijinja::Value> = BTreeMap::new();
    let mut add = |user: &User| {
        let name = user.display().to_string();
        let person = minijinja::context! { id => user.id.clone(), name => name.clone() };
        for key in [Some(name), user.email.clone(), Some(user.id.clone())]
            .into_iter()
            .flatten()
        {
            index.entry(key).or_insert_with(|| person.clone());
        }
    };
    for property in task.properties.values() {
        match &property.value {
            PropertyValue::People(users) => users.iter().for_each(&mut add),
            PropertyValue::CreatedBy(user) | PropertyValue::LastEditedBy(user) => add(user),
            _ => {}
        }
    }
    minijinja::Value::from(index)
}

/// The context templates render with.
pub fn context(
    rule: &str,
    task: &TaskFacts<'_>,
    changes: &[ChangeFacts],
    now: DateTime<Utc>,
) -> minijinja::Value {
    minijinja::context! { rule => rule, ..shared_context(task, changes, now, true, &BTreeMap::new()) }
}

/// A context with every property of the schema (and under the former names given), to check
/// templates when rules are loaded.
pub fn sample_context(schema: &DataSource, aliases: &BTreeMap<String, String>) -> minijinja::Value {
    let properties: StoredProperties = schema
        .properties
        .values()
        .map(|p| {
            let stored = crate::model::stored::StoredProperty {
                id: p.id.clone(),
                value: PropertyValue::RichText(Vec::new()),
                // Dates as dates, so date filters can be checked on them.
                text: if matches!(
                    p.kind.as_str(),
                    "date" | "created_time" | "last_edited_time"
                ) {
                    "2026-01-01".to_string()
                } else {
                    format!("({})", p.name)
                },
            };
            (p.name.clone(), stored)
        })
        .collect();
    let facts = TaskFacts {
        id: "00000000-0000-0000-0000-000000000000",
        url: "https://www.notion.so/example",
        title: "Example task",
        status: Some("To do"),
        created_time: "2026-01-01T00:00:00.000Z",
        last_edited_time: "2026-01-01T00:00:00.000Z",
        last_edited_by: Some("user"),
        deleted: false,
        properties: &properties,
        directory: &Directory::default(),
    };
    let changes: Vec<ChangeFacts> = schema
        .properties
        .keys()
        .map(|name| ChangeFacts {
            property: name.clone(),
            old: format!("(old {name})"),
            new: format!("({name})"),
        })
        .collect();
    let shared = shared_context(&facts, &changes, Utc::now(), true, aliases);
    minijinja::context! { __checking => true, rule => "example", ..shared }
}

/// Renders a rule's actions for a task.
pub fn render(
    set: &RuleSet,
    rule: &Rule,
    task: &TaskFacts<'_>,
    changes: &[ChangeFacts],
    now: DateTime<Utc>,
) -> Result<Vec<PlannedAction>, String> {
    render_in(
        set,
        rule,
        task,
        &shared_context(task, changes, now, set.mentions, &set.aliases),
        now,
    )
}

/// The part of the template context shared by every rule firing on one change.
pub fn shared_context(
    task: &TaskFacts<'_>,
    changes: &[ChangeFacts],
    now: DateTime<Utc>,
    mentions: bool,
    aliases: &BTreeMap<String, String>,
) -> minijinja::Value {
    let mut old: BTreeMap<&str, std::borrow::Cow<'_, str>> = changes
        .iter()
        .map(|c| (c.property.as_str(), unforged(&c.old)))
        .collect();
    for (former, current) in aliases {
        if let Some(value) = old.get(current.as_str()).cloned() {
            old.entry(former.as_str()).or_insert(value);
        }
    }
    let forged = |c: &ChangeFacts| {
        c.old.contains([MENTION_START, MENTION_END]) || c.new.contains([MENTION_START, MENTION_END])
    };
    // Copied only when a change holds token characters (never, but for a hostile text).
    let changes = if changes.iter().any(forged) {
        minijinja::Value::from(minijinja::value::Serde(
            changes
                .iter()
                .map(|c| ChangeFacts {
                    property: c.property.clone(),
                    old: unforged(&c.old).into_owned(),
                    new: unforged(&c.new).into_owned(),
                })
                .collect::<Vec<_>>(),
        ))
    } else {
        minijinja::Value::from(minijinja::value::Serde(changes))
    };
    // The people index only when a template may call `mention`.
    let people = if mentions {
        people_index(task)
    } else {
        minijinja::Value::UNDEFINED
    };
    minijinja::context! {
        task => task_value(task, aliases),
        __people => people,
        old => minijinja::Value::from(minijinja::value::Serde(old)),
        changes => changes,
        now => crate::model::time::iso(now),
        today => now.date_naive().to_string(),
    }
}

/// Renders a rule's actions with a context from `shared_context` (the rule's name is added).
pub fn render_in(
    set: &RuleSet,
    rule: &Rule,
    task: &TaskFacts<'_>,
    shared: &minijinja::Value,
    now: DateTime<Utc>,
) -> Result<Vec<PlannedAction>, String> {
    let context = std::cell::OnceCell::new();
    let render = |name: &str| -> Result<String, String> {
        if let Some(text) = set.literals.get(name) {
            return Ok(text.clone());
        }
        let context =
            context.get_or_init(|| minijinja::context! { rule => &rule.name, ..shared.clone() });
        set.templates
            .get_template(name)
            .map_err(|error| format!("{error:#}"))
            .and_then(|template| render_bounded(&template, context.clone()))
            .map_err(|error| format!("template of rule `{}`: {error}", rule.name))
    };
    rule.actions
        .iter()
        .map(|action| {
            Ok(match action {
                Action::Set(properties) => {
                    let mut writes = Vec::new();
                    for property in properties {
                        let value = match &property.value {
                            SetValue::Status(name) => PropertyWrite::Status(name.clone()),
                            SetValue::Select(name) => PropertyWrite::Select(name.clone()),
                            SetValue::MultiSelect(names) => {
                                PropertyWrite::MultiSelect(names.clone())
                            }
                            SetValue::Checkbox(flag) => PropertyWrite::Checkbox(*flag),
                            SetValue::Number(number) => PropertyWrite::Number(*number),
                            SetValue::Date(date) => {
                                PropertyWrite::Date(date.as_ref().map(|d| resolve_date(d, now)))
                            }
                            SetValue::Text { kind, template } => {
                                text_write(kind, mentions_as_names(render(template)?))
                            }
                            SetValue::People(references) => {
                                let people = references
                                    .iter()
                                    .map(|r| task.directory.person(&r.text))
                                    .collect::<Result<Vec<&User>, String>>()
                                    .map_err(|why| {
                                        format!(
                                            "rule `{}`: `set` {}: {why}",
                                            rule.name, property.name
                                        )
                                    })?;
                                let names: Vec<&str> = people.iter().map(|p| p.display()).collect();
                                let text = names.join(", ");
                                let ids = people.iter().map(|p| p.id.clone()).collect();
                                writes.push(PlannedWrite {
                                    property: property.name.clone(),
                                    property_id: property.id.clone(),
                                    text,
                                    value: PropertyWrite::People(ids),
                                });
                                continue;
                            }
                            SetValue::Relation(references) => {
                                let ids = references
                                    .iter()
                                    .map(|r| task.directory.task(&r.text).map(|t| t.id.clone()))
                                    .collect::<Result<Vec<String>, String>>()
                                    .map_err(|why| {
                                        format!(
                                            "rule `{}`: `set` {}: {why}",
                                            rule.name, property.name
                                        )
                                    })?;
                                PropertyWrite::Relation(ids)
                            }
                        };
                        writes.push(PlannedWrite {
                            property: property.name.clone(),
                            property_id: property.id.clone(),
                            text: expected_text(&value),
                            value,
                        });
                    }
                    PlannedAction::Set { writes }
                }
                Action::Create {
                    data_source_id,
                    properties,
                    append,
                    format,
                } => {
                    let mut writes = Vec::new();
                    for property in properties {
                        let rendered = render(&property.template)?;
                        let write = create::write_of(property, &rendered, task.directory)
                            .map_err(|why| format!("rule `{}`: {why}", rule.name))?;
                        writes.extend(write);
                    }
                    PlannedAction::Create {
                        data_source_id: data_source_id.clone(),
                        writes,
                        text: append
                            .as_deref()
                            .map(render)
                            .transpose()?
                            .unwrap_or_default(),
                        format: *format,
                        marker: String::new(),
                    }
                }
                Action::Webhook {
                    target,
                    content_type,
                    body,
                } => PlannedAction::Webhook {
                    target: target.clone(),
                    content_type: content_type.clone(),
                    body: match body {
                        WebhookBody::Text(template) => mentions_as_names(render(template)?),
                        WebhookBody::Json(json) => {
                            let value =
                                json_value(json, &|name| render(name).map(mentions_as_names))?;
                            serde_json::to_string(&value).map_err(|error| error.to_string())?
                        }
                    },
                },
                Action::Append { template, format } => PlannedAction::Append {
                    text: render(template)?,
                    format: *format,
                },
                Action::Mail {
                    to,
                    cc,
                    subject,
                    body,
                    html,
                } => {
                    let mut skipped = Vec::new();
                    let to = addresses(to, task, &mut skipped);
                    let cc = addresses(cc, task, &mut skipped);
                    PlannedAction::Mail {
                        to,
                        cc,
                        skipped,
                        subject: mentions_as_names(render(subject)?),
                        body: mentions_as_names(render(body)?),
                        html: html
                            .as_deref()
                            .map(|html| {
                                render(html).map(|text| {
                                    replace_mentions(&text, |name| {
                                        format!("@{}", minijinja::HtmlEscape(name))
                                    })
                                })
                            })
                            .transpose()?,
                    }
                }
            })
        })
        .collect()
}

/// A webhook's JSON body: its templates rendered into the strings.
fn json_value(
    json: &JsonTemplate,
    render: &dyn Fn(&str) -> Result<String, String>,
) -> Result<serde_json::Value, String> {
    Ok(match json {
        JsonTemplate::Literal(value) => value.clone(),
        JsonTemplate::Text(template) => serde_json::Value::String(render(template)?),
        JsonTemplate::Array(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|item| json_value(item, render))
                .collect::<Result<_, _>>()?,
        ),
        JsonTemplate::Object(fields) => serde_json::Value::Object(
            fields
                .iter()
                .map(|(key, item)| Ok((key.clone(), json_value(item, render)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// The addresses of recipients: given ones as they are, and each person of a people property
/// by the email Notion gave (on the page, else in the mirror's users); a person without one is
/// added to `skipped` with why, never dropped silently. No address twice.
fn addresses(
    recipients: &[Recipient],
    task: &TaskFacts<'_>,
    skipped: &mut Vec<String>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let add = |address: String, out: &mut Vec<String>| {
        if !out.contains(&address) {
            out.push(address);
        }
    };
    for recipient in recipients {
        match recipient {
            Recipient::Address(address) => add(address.clone(), &mut out),
            Recipient::People { property, id } => {
                let Some(stored) = task.properties.values().find(|p| &p.id == id) else {
                    continue;
                };
                let people: Vec<&User> = match &stored.value {
                    PropertyValue::People(users) => users.iter().collect(),
                    PropertyValue::CreatedBy(user) | PropertyValue::LastEditedBy(user) => {
                        vec![user]
                    }
                    _ => Vec::new(),
                };
                for person in people {
                    let known = task.directory.users.get(&person.id);
                    let email = person
                        .email
                        .clone()
                        .or_else(|| known.and_then(|k| k.email.clone()))
                        .filter(|email| check_address(email).is_ok());
                    match email {
                        Some(email) => add(email, &mut out),
                        None => {
                            let name = known
                                .and_then(|k| k.name.as_deref())
                                .or(person.name.as_deref())
                                .unwrap_or(&person.id);
                            let bot = person
                                .kind
                                .as_deref()
                                .or(known.and_then(|k| k.kind.as_deref()))
                                == Some("bot");
                            let why = if bot {
                                "a bot, which has no email"
                            } else if known.is_none() {
                                "not among the users the mirror knows: run `tasksync sync --full` to read them again"
                            } else {
                                "Notion gave no email: give the integration the user-information capability with email addresses"
                            };
                            skipped.push(format!("{name} of {property} ({why})"));
                        }
                    }
                }
            }
        }
    }
    out
}

fn text_write(kind: &str, text: String) -> PropertyWrite {
    let optional = if text.is_empty() {
        None
    } else {
        Some(text.clone())
    };
    match kind {
        "title" => PropertyWrite::Title(text),
        "url" => PropertyWrite::Url(optional),
        "email" => PropertyWrite::Email(optional),
        "phone_number" => PropertyWrite::PhoneNumber(optional),
        _ => PropertyWrite::RichText(text),
    }
}

/// A date reference as Notion takes it: a calendar day or an ISO instant.
pub fn resolve_date(date: &DateRef, now: DateTime<Utc>) -> String {
    match date {
        DateRef::Day(day) => day.to_string(),
        DateRef::Instant(instant) => crate::model::time::iso(*instant),
        DateRef::Today { days } => (now.date_naive() + chrono::Duration::days(*days)).to_string(),
        DateRef::Now { offset } => crate::model::time::iso(now + *offset),
    }
}

/// The text a property shows once the write is applied (as `PropertyValue::display` renders it).
pub fn expected_text(write: &PropertyWrite) -> String {
    let option = |name: &str| SelectOption {
        id: None,
        name: name.to_string(),
        color: None,
    };
    let value = match write {
        PropertyWrite::Status(name) => PropertyValue::Status(Some(option(name))),
        PropertyWrite::Select(name) => PropertyValue::Select(name.as_deref().map(option)),
        PropertyWrite::MultiSelect(names) => {
            PropertyValue::MultiSelect(names.iter().map(|n| option(n)).collect())
        }
        PropertyWrite::Checkbox(flag) => PropertyValue::Checkbox(*flag),
        PropertyWrite::Number(number) => PropertyValue::Number(*number),
        PropertyWrite::Date(date) => return date.clone().unwrap_or_default(),
        PropertyWrite::RichText(text) | PropertyWrite::Title(text) => return text.clone(),
        PropertyWrite::Url(text)
        | PropertyWrite::Email(text)
        | PropertyWrite::PhoneNumber(text) => return text.clone().unwrap_or_default(),
        // People show by name: the renderer, which knows the names, writes their text.
        PropertyWrite::People(ids) => return ids.join(", "),
        PropertyWrite::Relation(ids) => PropertyValue::Relation(ids.clone()),
    };
    value.display()
}

/// A mail address as `name@example.com` or `Name <name@example.com>`; no line breaks.
pub fn check_address(address: &str) -> Result<(), String> {
    let bare = match (address.find('<'), address.rfind('>')) {
        (Some(open), Some(close)) if close > open && close == address.trim_end().len() - 1 => {
            &address[open + 1..close]
        }
        _ => address,
    };
    let bare = bare.trim();
    let valid = !address.chars().any(char::is_control)
        && !bare.contains(char::is_whitespace)
        && bare.split('@').count() == 2
        && bare.split('@').all(|part| !part.is_empty())
        && bare
            .rsplit('@')
            .next()
            .is_some_and(|domain| domain.contains('.') || domain == "localhost");
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{address}` is not a mail address (write name@example.com or \"Name <name@example.com>\")"
        ))
    }
}

#[cfg(test)]
mod tests;
