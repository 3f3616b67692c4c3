//! Compiling a create action: the new task's properties (each a template, read as its
//! property's type once rendered) and its text.

use std::ops::Range;

use super::super::program::{Action, CreateProperty};
use super::super::syntax::CreateActionConfig;
use super::{Compiler, property_list};

/// The property types a new task's value can be given for.
const WRITABLE: &[&str] = &[
    "title",
    "rich_text",
    "url",
    "email",
    "phone_number",
    "status",
    "select",
    "multi_select",
    "date",
    "number",
    "checkbox",
    "people",
    "relation",
];

impl Compiler<'_> {
    pub(super) fn create(
        &mut self,
        span: &Range<usize>,
        config: &CreateActionConfig,
    ) -> Option<Action> {
        if config.properties.is_empty() {
            self.problem(
                span,
                "`create` names no property: give the new task at least its title, e.g. properties = { Name = \"Follow up: {{ task.title }}\" }".into(),
            );
            return None;
        }
        let mut ok = true;
        let mut properties = Vec::new();
        for (name, value) in &config.properties {
            let Some(property) = self.property(name) else {
                let list = property_list(self.schema, name);
                self.mismatch(
                    span,
                    format!("`create` names `{name}`, which the data source does not have; {list}"),
                );
                ok = false;
                continue;
            };
            if !WRITABLE.contains(&property.kind.as_str()) {
                self.mismatch(
                    span,
                    format!(
                        "`{name}` is a {} property, which a new task cannot be given",
                        property.kind
                    ),
                );
                ok = false;
                continue;
            }
            let source = match value {
                toml::Value::String(text) => text.clone(),
                toml::Value::Boolean(flag) => flag.to_string(),
                toml::Value::Integer(number) => number.to_string(),
                toml::Value::Float(number) => number.to_string(),
                toml::Value::Array(items) => {
                    let texts: Option<Vec<&str>> = items.iter().map(toml::Value::as_str).collect();
                    let Some(texts) = texts else {
                        self.problem(span, format!("`create` {name}: a list holds text only"));
                        ok = false;
                        continue;
                    };
                    texts.join(", ")
                }
                _ => {
                    self.problem(
                        span,
                        format!(
                            "`create` {name}: give a text (a template), a number or true/false"
                        ),
                    );
                    ok = false;
                    continue;
                }
            };
            // A literal option is checked now; a template's value when the rule fires.
            let literal = !source.contains("{{") && !source.contains("{%");
            if literal
                && matches!(property.kind.as_str(), "status" | "select")
                && !source.is_empty()
            {
                ok &= self.option(span, property, &source).is_some();
            }
            // A literal date, number or true/false that can never be one is found now too.
            if literal
                && let Some(wanted) =
                    super::super::render::create::unfit(&property.kind, source.trim())
                && !source.trim().is_empty()
            {
                self.mismatch(
                    span,
                    format!("`create` {name} = \"{source}\" is not {wanted}, and without a template it never will be"),
                );
                ok = false;
                continue;
            }
            let Some(template) = self.template(span, &format!("create {name}"), &source) else {
                ok = false;
                continue;
            };
            properties.push(CreateProperty {
                name: property.name.clone(),
                id: property.id.clone(),
                kind: property.kind.clone(),
                template,
            });
        }
        let format = self.text_format(span, config.format.as_deref())?;
        let append = match &config.append {
            Some(text) if !text.trim().is_empty() => {
                Some(self.template(span, "create append", text)?)
            }
            _ => None,
        };
        ok.then(|| Action::Create {
            data_source_id: self.schema.id.to_string(),
            properties,
            append,
            format,
        })
    }
}
