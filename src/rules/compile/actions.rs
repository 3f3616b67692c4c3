//! Compiling a rule's actions: `set` values checked against each property type, mail addresses
//! and templates compiled (a template naming a field the task lacks says "did you mean").

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::super::directory::Reference;
use super::super::program::{Action, Recipient, SetProperty, SetValue};
use super::super::render::TEMPLATE_FILTERS;
use super::super::source::MailConfig;
use super::super::syntax::{
    ActionConfig, MailActionConfig, RecipientConfig, RecipientsConfig, Scalar,
};
use super::{Compiler, property_list};
use crate::model::PropertySchema;
use crate::model::automation::TextFormat;

impl Compiler<'_> {
    pub(super) fn actions(
        &mut self,
        spanned: &Spanned<Vec<Spanned<ActionConfig>>>,
        mail: &MailConfig,
    ) -> Option<Vec<Action>> {
        if spanned.get_ref().is_empty() {
            self.problem(
                &spanned.span(),
                "the rule has no actions: give it at least one `set`, `append`, `mail`, `webhook` or `create`"
                    .into(),
            );
            return None;
        }
        let compiled: Vec<Option<Action>> = spanned
            .get_ref()
            .iter()
            .map(|action| self.action(action, mail))
            .collect();
        compiled.into_iter().collect()
    }

    fn action(&mut self, spanned: &Spanned<ActionConfig>, mail: &MailConfig) -> Option<Action> {
        let span = spanned.span();
        let config = spanned.get_ref();
        let kinds = [
            config.set.is_some(),
            config.append.is_some(),
            config.mail.is_some(),
            config.webhook.is_some(),
            config.create.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            self.problem(
                &span,
                "an action is exactly one of `set`, `append`, `mail`, `webhook` or `create`".into(),
            );
            return None;
        }
        if let Some(create) = &config.create {
            return self.create(&span, create);
        }
        if let Some(webhook) = &config.webhook {
            return self.webhook(&span, webhook);
        }
        if let Some(set) = &config.set {
            return self.set(&span, set);
        }
        if config.format.is_some() && config.append.is_none() {
            self.problem(
                &span,
                "`format` belongs to an `append` action (format = \"plain\" or \"markdown\")"
                    .into(),
            );
            return None;
        }
        if let Some(text) = &config.append {
            if text.trim().is_empty() {
                self.problem(&span, "`append` has no text".into());
                return None;
            }
            let format = self.text_format(&span, config.format.as_deref())?;
            return self
                .template(&span, "append", text)
                .map(|template| Action::Append { template, format });
        }
        self.mail(&span, config.mail.as_ref()?, mail)
    }

    /// `format = "markdown"` (the default) or `"plain"`.
    pub(super) fn text_format(
        &mut self,
        span: &Range<usize>,
        format: Option<&str>,
    ) -> Option<TextFormat> {
        match format {
            None | Some("markdown") => Some(TextFormat::Markdown),
            Some("plain") => Some(TextFormat::Plain),
            Some(other) => {
                self.problem(
                    span,
                    format!(
                        "`format = \"{other}\"` is not a text format: use \"markdown\" (the default) or \"plain\""
                    ),
                );
                None
            }
        }
    }

    fn set(&mut self, span: &Range<usize>, values: &BTreeMap<String, Scalar>) -> Option<Action> {
        if values.is_empty() {
            self.problem(span, "`set` names no property".into());
            return None;
        }
        let mut compiled = Vec::new();
        let mut ok = true;
        for (name, value) in values {
            let Some(property) = self.property(name) else {
                let list = property_list(self.schema, name);
                self.mismatch(
                    span,
                    format!("`set` names `{name}`, which the data source does not have; {list}"),
                );
                ok = false;
                continue;
            };
            match self.set_value(span, property, value) {
                Some(value) => compiled.push(SetProperty {
                    name: property.name.clone(),
                    id: property.id.clone(),
                    value,
                }),
                None => ok = false,
            }
        }
        ok.then_some(Action::Set(compiled))
    }

    fn set_value(
        &mut self,
        span: &Range<usize>,
        property: &PropertySchema,
        value: &Scalar,
    ) -> Option<SetValue> {
        let name = &property.name;
        let wrong = |this: &mut Self, expected: &str| {
            this.mismatch(
                span,
                format!(
                    "`{name}` is a {} property: set it to {expected}, not {}",
                    property.kind,
                    value.describe()
                ),
            );
            None
        };
        match (property.kind.as_str(), value) {
            ("status", Scalar::Text(text)) => {
                self.option(span, property, text).map(SetValue::Status)
            }
            ("select", Scalar::Text(text)) if text.is_empty() => Some(SetValue::Select(None)),
            ("select", Scalar::Text(text)) => self
                .option(span, property, text)
                .map(|o| SetValue::Select(Some(o))),
            ("multi_select", Scalar::List(items)) => {
                let mut names = Vec::new();
                for item in items {
                    let Some(text) = item.as_text() else {
                        return wrong(self, "a list of option names");
                    };
                    names.push(self.option(span, property, text)?);
                }
                Some(SetValue::MultiSelect(names))
            }
            ("multi_select", Scalar::Text(text)) => self
                .option(span, property, text)
                .map(|o| SetValue::MultiSelect(vec![o])),
            ("checkbox", Scalar::Bool(flag)) => Some(SetValue::Checkbox(*flag)),
            ("date", Scalar::Text(text)) if text.is_empty() => Some(SetValue::Date(None)),
            ("date", Scalar::Text(_)) => self.date(span, value).map(|d| SetValue::Date(Some(d))),
            ("number", value) if value.as_number().is_some() => {
                Some(SetValue::Number(value.as_number()))
            }
            ("people" | "relation", Scalar::Text(_) | Scalar::List(_)) => {
                let texts: Vec<&str> = match value {
                    Scalar::Text(text) if text.trim().is_empty() => Vec::new(),
                    Scalar::Text(text) => vec![text.as_str()],
                    Scalar::List(items) => {
                        let texts: Option<Vec<&str>> = items.iter().map(Scalar::as_text).collect();
                        let Some(texts) = texts else {
                            return wrong(self, "a list of names");
                        };
                        texts
                    }
                    _ => Vec::new(),
                };
                let references: Vec<Reference> = texts
                    .into_iter()
                    .map(|text| Reference {
                        text: text.to_string(),
                        at: self.located(span, format!("`set` {name}: ")),
                    })
                    .collect();
                Some(if property.kind == "people" {
                    SetValue::People(references)
                } else {
                    SetValue::Relation(references)
                })
            }
            ("people", _) => wrong(
                self,
                "people by name, email or user id (a list for several; \"\" clears it)",
            ),
            ("relation", _) => wrong(
                self,
                "tasks by unique ID (TASK-12), exact title or page id (a list for several; \"\" clears it)",
            ),
            ("rich_text" | "title" | "url" | "email" | "phone_number", Scalar::Text(text)) => {
                let template = self.template(span, &format!("set {name}"), text)?;
                Some(SetValue::Text {
                    kind: property.kind.clone(),
                    template,
                })
            }
            ("status" | "select", _) => wrong(self, "the name of one of its options"),
            ("multi_select", _) => wrong(self, "a list of option names"),
            ("checkbox", _) => wrong(self, "true or false"),
            ("date", _) => wrong(
                self,
                "a date such as \"today\", \"+2d\" or \"2026-07-10\" (\"\" clears it)",
            ),
            ("number", _) => wrong(self, "a number"),
            ("rich_text" | "title" | "url" | "email" | "phone_number", _) => wrong(self, "text"),
            (kind, _) => {
                self.mismatch(
                    span,
                    format!("`{name}` is a {kind} property, which tasksync cannot set"),
                );
                None
            }
        }
    }

    fn mail(
        &mut self,
        span: &Range<usize>,
        action: &MailActionConfig,
        defaults: &MailConfig,
    ) -> Option<Action> {
        let listed = |given: &Option<RecipientsConfig>, default: &[String]| match given {
            Some(given) => given.clone().into_list(),
            None => default
                .iter()
                .cloned()
                .map(RecipientConfig::Address)
                .collect(),
        };
        let to = listed(&action.to, &defaults.to);
        let cc = listed(&action.cc, &defaults.cc);
        if to.is_empty() {
            self.problem(
                span,
                "the mail has no recipients: set `to` in the action or under [mail]".into(),
            );
            return None;
        }
        let mut ok = true;
        // The sender is checked here, not first when a mail is sent: a sync would do all its
        // work, then fail on every run.
        match defaults.from.as_deref() {
            None => {
                self.problem(
                    span,
                    "the mail has no sender: set `from` under [mail], e.g. from = \"tasksync <tasksync@example.com>\"".into(),
                );
                ok = false;
            }
            Some(from) => {
                if let Err(message) = super::super::render::check_address(from) {
                    self.problem(span, format!("[mail] from: {message}"));
                    ok = false;
                }
            }
        }
        let to = self.recipients(span, to, &mut ok);
        let cc = self.recipients(span, cc, &mut ok);
        let subject = self.template(
            span,
            "mail subject",
            action.subject.as_deref().unwrap_or(&defaults.subject),
        );
        let body = self.template(
            span,
            "mail body",
            action.body.as_deref().unwrap_or(&defaults.body),
        );
        let html = action
            .html
            .as_deref()
            .or(defaults.html.as_deref())
            .map(|source| self.template(span, "mail html", source));
        match (ok, subject, body, html) {
            (true, Some(subject), Some(body), None) => Some(Action::Mail {
                to,
                cc,
                subject,
                body,
                html: None,
            }),
            (true, Some(subject), Some(body), Some(Some(html))) => Some(Action::Mail {
                to,
                cc,
                subject,
                body,
                html: Some(html),
            }),
            _ => None,
        }
    }

    /// Checks recipients: addresses well formed, people properties existing and of a people type.
    fn recipients(
        &mut self,
        span: &Range<usize>,
        listed: Vec<RecipientConfig>,
        ok: &mut bool,
    ) -> Vec<Recipient> {
        let mut compiled = Vec::new();
        for recipient in listed {
            match recipient {
                RecipientConfig::Address(address) => {
                    if let Err(message) = super::super::render::check_address(&address) {
                        self.problem(span, message);
                        *ok = false;
                    }
                    compiled.push(Recipient::Address(address));
                }
                RecipientConfig::People { property: name } => {
                    let Some(property) = self.property(&name) else {
                        let list = property_list(self.schema, &name);
                        self.mismatch(
                            span,
                            format!("the mail goes to the people of `{name}`, which the data source does not have; {list}"),
                        );
                        *ok = false;
                        continue;
                    };
                    if !matches!(
                        property.kind.as_str(),
                        "people" | "created_by" | "last_edited_by"
                    ) {
                        self.mismatch(
                            span,
                            format!(
                                "`{name}` is a {} property: mail goes to the people of a people, created_by or last_edited_by property",
                                property.kind
                            ),
                        );
                        *ok = false;
                        continue;
                    }
                    compiled.push(Recipient::People {
                        property: property.name.clone(),
                        id: property.id.clone(),
                    });
                }
            }
        }
        compiled
    }

    /// Compiles a template into the rule set's environment; checks it against a sample task
    /// (so a misspelt property is an error now, not an empty text later). Returns its name.
    pub(super) fn template(
        &mut self,
        span: &Range<usize>,
        what: &str,
        source: &str,
    ) -> Option<String> {
        self.template_count += 1;
        // HTML templates escape what they insert (minijinja decides by the name's extension).
        let extension = if what.contains("html") { ".html" } else { "" };
        let name = format!("{}#{}{extension}", self.rule, self.template_count);
        // Rendered once against a sample task, strictly and within the limits (fuel, size).
        let checked = self.checker.template_from_str(source).and_then(|template| {
            super::super::render::render_within_limits(&template, self.sample.clone())
        });
        if let Err(error) = checked {
            if let Some(limit) = super::super::render::limit_exceeded(&error) {
                self.problem(span, format!("the {what} template is wrong: {limit}"));
                return None;
            }
            if error.kind() == minijinja::ErrorKind::UndefinedError
                && let Some(undefined) = undefined_variable(source, self.checker, self.sample)
            {
                match undefined {
                    Ok(schema) => {
                        self.mismatch(span, format!("the {what} template is wrong: {schema}"));
                    }
                    Err(file) => {
                        self.problem(span, format!("the {what} template is wrong: {file}"));
                    }
                }
                return None;
            }
            let detail = error.detail().map(|d| format!(": {d}")).unwrap_or_default();
            let line = error
                .line()
                .map(|l| format!(" on line {l} of the template"))
                .unwrap_or_default();
            self.problem(
                span,
                format!(
                    "the {what} template is wrong: {}{detail}{line} (templates see task, old, changes, rule, now, today; filters include {TEMPLATE_FILTERS}; mention(person) writes a user mention)",
                    error.kind()
                ),
            );
            return None;
        }
        if !source.contains("{{") && !source.contains("{%") && !source.contains("{#") {
            self.literals.insert(name.clone(), source.to_string());
        }
        match self
            .templates
            .add_template_owned(name.clone(), source.to_string())
        {
            Ok(()) => Some(name),
            Err(error) => {
                self.problem(span, format!("the {what} template is wrong: {error}"));
                None
            }
        }
    }
}

/// Why a template's variable is undefined, for a user: the variable named, with the closest
/// name there is. `Ok`: a property the task does not have (`task.X`, `old.X`, `task["X"]`):
/// it depends on the schema as it is now (the rule is suspended, not the daemon stopped).
/// `Err`: a name templates do not see at all: a mistake in the file.
fn undefined_variable(
    source: &str,
    checker: &minijinja::Environment<'static>,
    sample: &minijinja::Value,
) -> Option<Result<String, String>> {
    let template = checker.template_from_str(source).ok()?;
    let mut paths: Vec<(String, Option<String>)> = template
        .undeclared_variables(true)
        .into_iter()
        .map(|path| match path.split_once('.') {
            Some((root, rest)) => (
                root.to_string(),
                Some(rest.split('.').next().unwrap_or(rest).to_string()),
            ),
            None => (path, None),
        })
        .collect();
    paths.extend(subscripts(source));
    paths.sort();
    paths.dedup();
    let globals: Vec<&str> = checker.globals().map(|(name, _)| name).collect();
    for (root, field) in &paths {
        let value = sample.get_attr(root).unwrap_or_default();
        if value.is_undefined() {
            if globals.contains(&root.as_str()) {
                continue;
            }
            let known = ["task", "old", "changes", "rule", "now", "today"];
            let hint = super::closest(root, known)
                .map(|c| format!(": did you mean `{c}`?"))
                .unwrap_or_default();
            return Some(Err(format!(
                "`{root}` is not defined{hint} (templates see task, old, changes, rule, now, today)"
            )));
        }
        let Some(field) = field else { continue };
        if !matches!(root.as_str(), "task" | "old")
            || !value.get_attr(field).unwrap_or_default().is_undefined()
        {
            continue;
        }
        let known: Vec<String> = value
            .try_iter()
            .map(|keys| {
                keys.filter_map(|key| key.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let hint = super::closest(field, known.iter().map(String::as_str))
            .map(|c| format!(": did you mean `{root}.{c}`?"))
            .unwrap_or_default();
        return Some(Ok(format!(
            "`{root}.{field}` is not a property of the task{hint} (a name with spaces is written {root}[\"Due date\"]; the task has: {})",
            known.join(", ")
        )));
    }
    None
}

/// The `task["NAME"]` and `old['NAME']` lookups of a template, as (root, name).
fn subscripts(source: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    for root in ["task", "old"] {
        let mut rest = source;
        while let Some(at) = rest.find(&format!("{root}[")) {
            let boundary = at == 0
                || !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.');
            let after = &rest[at + root.len() + 1..];
            let quote = after.chars().next();
            if boundary
                && let Some(quote @ ('"' | '\'')) = quote
                && let Some(end) = after[1..].find(quote)
            {
                found.push((root.to_string(), Some(after[1..=end].to_string())));
            }
            rest = after;
        }
    }
    found
}
