//! Checking rules against the data source's schema and turning them into what the evaluator
//! runs: properties resolved to their stable ids, operators checked against each property type
//! (Notion's filter vocabulary), options and dates checked, templates compiled.
//! Every problem is collected, with file, line, column and rule name.
//!
//! Two kinds of problem: those in the files (found without looking at the schema: syntax, names,
//! operators, dates, templates) make the whole set fail (exit 78); those that come from the
//! schema as it is now (a property or option that is not there, a type that does not fit)
//! *suspend* the rule alone: it does not run, the others do, and `status` shows it (`check`
//! fails on it: the file names something Notion does not have). Notion can change under a
//! running daemon; a file cannot. A property renamed in Notion is followed: a rule naming its
//! former name (`former_names`) resolves to it by id, and templates see it under that name too.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::render::sample_context;
use super::source::{LineIndex, MailConfig, Problem, RuleEntry};
use super::syntax::{ConditionConfig, Scalar};
use crate::model::{DataSource, PropertySchema};

pub use super::program::*;

mod actions;
mod create;
mod webhook;

struct Compiler<'a> {
    entry: &'a RuleEntry,
    /// The lines of the entry's file, indexed once per file.
    lines: &'a LineIndex,
    rule: &'a str,
    schema: &'a DataSource,
    /// Former property names (before a rename in Notion) → current ones.
    former_names: &'a BTreeMap<String, String>,
    /// Problems in the files: the set fails.
    problems: &'a mut Vec<Problem>,
    /// Problems with the schema as it is now: the rule is suspended.
    mismatches: &'a mut Vec<Problem>,
    followed: &'a mut Vec<Followed>,
    templates: &'a mut minijinja::Environment<'static>,
    sample: &'a minijinja::Value,
    checker: &'a minijinja::Environment<'static>,
    template_count: usize,
    literals: &'a mut std::collections::HashMap<String, String>,
}

/// Compiles every rule against the schema; all problems or the rule set.
pub fn compile(
    entries: &[RuleEntry],
    schema: &DataSource,
    mail: &MailConfig,
    firing_budget: u32,
) -> Result<RuleSet, Vec<Problem>> {
    compile_following(entries, schema, &BTreeMap::new(), mail, firing_budget)
}

/// Compiles every rule against the schema, following renamed properties (`former_names`:
/// former name → current name). Problems in the files: all problems (with the mismatches).
/// Otherwise the rule set, where rules that do not fit the schema are suspended.
pub fn compile_following(
    entries: &[RuleEntry],
    schema: &DataSource,
    former_names: &BTreeMap<String, String>,
    mail: &MailConfig,
    firing_budget: u32,
) -> Result<RuleSet, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut mismatches = Vec::new();
    let mut suspended = Vec::new();
    let mut followed = Vec::new();
    let mut templates = super::render::environment();
    let mut literals = std::collections::HashMap::new();
    let mut checker = super::render::environment();
    checker.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // Former names templates may still use (`{{ old.Priority }}` after a rename to `Prio`).
    let followable: BTreeMap<String, String> = former_names
        .iter()
        .filter(|(former, current)| {
            !schema.properties.contains_key(*former) && schema.properties.contains_key(*current)
        })
        .map(|(former, current)| (former.clone(), current.clone()))
        .collect();
    let sample = sample_context(schema, &followable);
    let mut rules = Vec::new();
    let mut seen: BTreeMap<String, (std::path::PathBuf, usize)> = BTreeMap::new();
    // One line index per file (entries of one file share its text): positions stay linear in
    // the size of the files however many rules there are.
    let mut indexes: std::collections::HashMap<*const u8, LineIndex> =
        std::collections::HashMap::new();
    for entry in entries {
        indexes
            .entry(entry.text.as_ptr())
            .or_insert_with(|| LineIndex::new(&entry.text));
    }
    for entry in entries {
        let name = entry.rule.name.get_ref().trim().to_string();
        let Some(lines) = indexes.get(&entry.text.as_ptr()) else {
            continue; // every entry's text was indexed just above
        };
        let mismatched_before = mismatches.len();
        let mut compiler = Compiler {
            entry,
            lines,
            rule: &name,
            schema,
            former_names,
            problems: &mut problems,
            mismatches: &mut mismatches,
            followed: &mut followed,
            templates: &mut templates,
            sample: &sample,
            checker: &checker,
            template_count: 0,
            literals: &mut literals,
        };
        if name.is_empty() {
            compiler.problem(
                &entry.rule.name.span(),
                "the rule name is empty: give every rule a unique, stable name".into(),
            );
        } else if !name
            .chars()
            .all(|c| c.is_alphanumeric() || " -_.:/".contains(c))
        {
            compiler.problem(
                &entry.rule.name.span(),
                "a rule name may hold letters, digits, spaces and - _ . : / only".into(),
            );
        }
        if let Some((file, line)) = seen.get(&name) {
            let message = format!(
                "the rule name is used twice (first at {}:{line}): names must be unique",
                file.display()
            );
            compiler.problem(&entry.rule.name.span(), message);
        } else {
            seen.insert(
                name.clone(),
                (
                    entry.file.clone(),
                    lines.position(&entry.text, entry.rule.name.span().start).0,
                ),
            );
        }
        let condition = compiler.condition(&entry.rule.when);
        let actions = compiler.actions(&entry.rule.actions, mail);
        if let (Some(condition), Some(actions)) = (condition, actions) {
            let trigger = if condition.has_transition() {
                Trigger::Edge
            } else if condition.is_timed() {
                Trigger::Timed
            } else {
                Trigger::Enter
            };
            rules.push(Rule {
                name,
                description: entry.rule.description.clone(),
                condition,
                actions,
                on_own_edits: entry.rule.on_own_edits,
                enabled: entry.rule.enabled,
                trigger,
            });
        } else if mismatches.len() > mismatched_before {
            suspended.push(Suspension {
                rule: name,
                reasons: mismatches[mismatched_before..].to_vec(),
            });
        }
    }
    if problems.is_empty() {
        // Whether a template may show a relation (then the sync reads the related titles).
        let relations: Vec<&str> = schema
            .properties
            .values()
            .filter(|p| p.kind == "relation")
            .map(|p| p.name.as_str())
            .collect();
        let renders_relations = templates.templates().any(|(_, template)| {
            relations
                .iter()
                .any(|name| template.source().contains(name))
        });
        let mentions = templates
            .templates()
            .any(|(_, template)| template.source().contains("mention"));
        // The former names the templates use: templates see them beside the current ones.
        let mut aliases = BTreeMap::new();
        for (name, template) in templates.templates() {
            let rule = name.split_once('#').map_or(name, |(rule, _)| rule);
            for (former, current) in &followable {
                if template.source().contains(former.as_str()) {
                    aliases.insert(former.clone(), current.clone());
                    let note = Followed {
                        rule: rule.to_string(),
                        former: former.clone(),
                        current: current.clone(),
                    };
                    if !followed.contains(&note) {
                        followed.push(note);
                    }
                }
            }
        }
        Ok(RuleSet {
            mentions,
            aliases,
            rules,
            suspended,
            followed,
            templates,
            literals,
            firing_budget,
            renders_relations,
        })
    } else {
        problems.extend(mismatches);
        problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        Err(problems)
    }
}

/// What to say of a property name the data source does not have: the closest name it has
/// ("did you mean", case and small typos) and the names it has.
fn property_list(schema: &DataSource, wanted: &str) -> String {
    let names: Vec<&str> = schema.properties.keys().map(String::as_str).collect();
    match closest(wanted, names.iter().copied()) {
        Some(close) => format!("did you mean `{close}`? It has: {}", names.join(", ")),
        None => format!("it has: {}", names.join(", ")),
    }
}

/// The candidate closest to `wanted` ignoring case, when it is close enough to be a typo (a
/// case-only difference, or at most a third of the letters, up to three, wrong).
pub(crate) fn closest<'c>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let wanted = wanted.trim().to_lowercase();
    let limit = wanted.chars().count().div_ceil(3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(&wanted, &candidate.to_lowercase()), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

impl<'a> Compiler<'a> {
    fn located(&self, span: &Range<usize>, message: String) -> Problem {
        let (line, column) = self.lines.position(&self.entry.text, span.start);
        Problem {
            file: Some(self.entry.file.clone()),
            line,
            column,
            message: format!("rule `{}`: {message}", self.rule),
        }
    }

    /// A problem in the files: the rule set fails.
    fn problem(&mut self, span: &Range<usize>, message: String) {
        let problem = self.located(span, message);
        self.problems.push(problem);
    }

    /// A rule that does not fit the schema as it is now: the rule is suspended.
    fn mismatch(&mut self, span: &Range<usize>, message: String) {
        let problem = self.located(span, message);
        self.mismatches.push(problem);
    }

    /// The property a rule names: by its current name, or by a name it had before a rename.
    fn property(&mut self, name: &str) -> Option<&'a PropertySchema> {
        let schema: &'a DataSource = self.schema;
        if let Some(property) = schema.properties.get(name) {
            return Some(property);
        }
        let current = self.former_names.get(name)?;
        let property = schema.properties.get(current)?;
        let followed = Followed {
            rule: self.rule.to_string(),
            former: name.to_string(),
            current: current.clone(),
        };
        if !self.followed.contains(&followed) {
            self.followed.push(followed);
        }
        Some(property)
    }

    fn condition(&mut self, spanned: &Spanned<ConditionConfig>) -> Option<Condition> {
        let span = spanned.span();
        let config = spanned.get_ref();
        let mut forms = Vec::new();
        if config.all.is_some() {
            forms.push("all");
        }
        if config.any.is_some() {
            forms.push("any");
        }
        if config.not.is_some() {
            forms.push("not");
        }
        if config.new.is_some() {
            forms.push("new");
        }
        if config.deleted.is_some() {
            forms.push("deleted");
        }
        if config.property.is_some() {
            forms.push("property");
        }
        match forms.as_slice() {
            ["all" | "any"] => {
                let items = config.all.as_ref().or(config.any.as_ref())?;
                if items.is_empty() {
                    self.problem(
                        &span,
                        format!("`{}` needs at least one condition", forms[0]),
                    );
                    return None;
                }
                let compiled: Vec<Option<Condition>> =
                    items.iter().map(|item| self.condition(item)).collect();
                let compiled: Option<Vec<Condition>> = compiled.into_iter().collect();
                compiled.map(|items| {
                    if forms[0] == "all" {
                        Condition::All(items)
                    } else {
                        Condition::Any(items)
                    }
                })
            }
            ["not"] => {
                let inner = config.not.as_ref()?;
                self.condition(inner).map(|c| Condition::Not(Box::new(c)))
            }
            ["new" | "deleted"] => {
                if config.new == Some(false) || config.deleted == Some(false) {
                    self.problem(
                        &span,
                        format!(
                            "write `{0} = true` (for the opposite, use `not = {{ {0} = true }}`)",
                            forms[0]
                        ),
                    );
                    return None;
                }
                Some(if forms[0] == "new" {
                    Condition::New
                } else {
                    Condition::Deleted
                })
            }
            ["property"] => self.test(&span, config),
            [] => {
                self.problem(&span, "the condition is empty: use `property` with an operator, `all`, `any`, `not`, `new` or `deleted`".into());
                None
            }
            several => {
                self.problem(
                    &span,
                    format!(
                        "a condition takes one form, not {}: nest them with `all` or `any`",
                        several.join(" and ")
                    ),
                );
                None
            }
        }
    }

    fn test(&mut self, span: &Range<usize>, config: &ConditionConfig) -> Option<Condition> {
        let name = config.property.as_deref().unwrap_or_default();
        let Some(property) = self.property(name) else {
            let list = property_list(self.schema, name);
            self.mismatch(
                span,
                format!("the data source has no property `{name}`; {list}"),
            );
            return None;
        };
        let Some(family) = Family::of(&property.kind) else {
            self.mismatch(
                span,
                format!(
                    "`{name}` is a {} property, which rules cannot test",
                    property.kind
                ),
            );
            return None;
        };
        let operators = config.operators();
        let (operator, value) = match operators.as_slice() {
            [single] => single.clone(),
            [] => {
                let allowed = family.operators().join(", ");
                self.problem(
                    span,
                    format!("no operator for `{name}`: use one of {allowed}"),
                );
                return None;
            }
            several => {
                let names: Vec<&str> = several.iter().map(|(n, _)| *n).collect();
                self.problem(span, format!("one operator per condition, not {}: combine conditions with `all` or `any`", names.join(" and ")));
                return None;
            }
        };
        if !family.operators().contains(&operator) {
            let allowed = family.operators().join(", ");
            self.mismatch(
                span,
                format!(
                    "`{operator}` does not apply to `{name}`, a {} property; use one of {allowed}",
                    property.kind
                ),
            );
            return None;
        }
        let test = self.test_value(span, property, family, operator, &value)?;
        Some(Condition::Test {
            property_id: property.id.clone(),
            property: property.name.clone(),
            family,
            test,
        })
    }

    fn test_value(
        &mut self,
        span: &Range<usize>,
        property: &PropertySchema,
        family: Family,
        operator: &str,
        value: &Scalar,
    ) -> Option<Test> {
        match operator {
            "is_empty" | "is_not_empty" | "changed" => {
                let Scalar::Bool(yes) = value else {
                    self.problem(span, format!("`{operator}` takes true or false"));
                    return None;
                };
                return Some(match operator {
                    "is_empty" => Test::Empty(*yes),
                    "is_not_empty" => Test::Empty(!*yes),
                    _ => Test::Changed(*yes),
                });
            }
            "greater_than" | "less_than" | "greater_than_or_equal_to" | "less_than_or_equal_to" => {
                let Some(number) = value.as_number() else {
                    self.problem(
                        span,
                        format!(
                            "`{operator}` on `{}` takes a number, not {}",
                            property.name,
                            value.describe()
                        ),
                    );
                    return None;
                };
                let comparison = match operator {
                    "greater_than" => Comparison::Greater,
                    "less_than" => Comparison::Less,
                    "greater_than_or_equal_to" => Comparison::GreaterOrEqual,
                    _ => Comparison::LessOrEqual,
                };
                return Some(Test::Compare(comparison, number));
            }
            "before" | "after" | "on_or_before" | "on_or_after" => {
                let date = self.date(span, value)?;
                let comparison = match operator {
                    "before" => DateComparison::Before,
                    "after" => DateComparison::After,
                    "on_or_before" => DateComparison::OnOrBefore,
                    _ => DateComparison::OnOrAfter,
                };
                return Some(Test::Date(comparison, date));
            }
            "starts_with" | "ends_with" => {
                let Some(text) = value.as_text() else {
                    self.problem(
                        span,
                        format!("`{operator}` takes text, not {}", value.describe()),
                    );
                    return None;
                };
                return Some(if operator == "starts_with" {
                    Test::StartsWith(text.into())
                } else {
                    Test::EndsWith(text.into())
                });
            }
            _ => {}
        }
        let operand = self.operand(span, property, family, value)?;
        if family == Family::Date
            && operator == "equals"
            && let Operand::Date(date) = &operand
        {
            return Some(Test::Date(DateComparison::Equals, date.clone()));
        }
        Some(match operator {
            "equals" => Test::Equals(operand),
            "does_not_equal" => Test::NotEquals(operand),
            "contains" => Test::Contains(operand),
            "does_not_contain" => Test::NotContains(operand),
            "changed_from" => Test::ChangedFrom(operand),
            _ => Test::ChangedTo(operand),
        })
    }

    fn date(&mut self, span: &Range<usize>, value: &Scalar) -> Option<DateRef> {
        let Some(text) = value.as_text() else {
            self.problem(
                span,
                format!(
                    "a date is written as text, such as \"today\" or \"2026-07-10\", not {}",
                    value.describe()
                ),
            );
            return None;
        };
        match DateRef::parse(text) {
            Ok(date) => Some(date),
            Err(message) => {
                self.problem(span, message);
                None
            }
        }
    }

    /// The operand of equals/contains/changed_*: typed by the property.
    fn operand(
        &mut self,
        span: &Range<usize>,
        property: &PropertySchema,
        family: Family,
        value: &Scalar,
    ) -> Option<Operand> {
        match (family, value) {
            (Family::Checkbox, Scalar::Bool(flag)) => Some(Operand::Bool(*flag)),
            (Family::Checkbox, other) => {
                self.mismatch(
                    span,
                    format!(
                        "`{}` is a checkbox: compare it with true or false, not {}",
                        property.name,
                        other.describe()
                    ),
                );
                None
            }
            (Family::Number, value) => match value.as_number() {
                Some(number) => Some(Operand::Number(number)),
                None => {
                    self.mismatch(
                        span,
                        format!(
                            "`{}` is a number property: compare it with a number, not {}",
                            property.name,
                            value.describe()
                        ),
                    );
                    None
                }
            },
            (Family::Date, value) => self.date(span, value).map(Operand::Date),
            (Family::Option | Family::Options, Scalar::Text(text)) => {
                self.option(span, property, text).map(Operand::Text)
            }
            (Family::Computed, Scalar::Bool(flag)) => Some(Operand::Bool(*flag)),
            (Family::Computed, Scalar::Integer(_) | Scalar::Float(_)) => {
                value.as_number().map(Operand::Number)
            }
            (_, Scalar::Text(text)) => Some(Operand::Text(text.clone())),
            (_, other) => {
                self.mismatch(
                    span,
                    format!(
                        "`{}` is a {} property: compare it with text, not {}",
                        property.name,
                        property.kind,
                        other.describe()
                    ),
                );
                None
            }
        }
    }

    /// The exact name of an option of a select, status or multi-select property.
    fn option(
        &mut self,
        span: &Range<usize>,
        property: &PropertySchema,
        wanted: &str,
    ) -> Option<String> {
        if let Some(option) = property.options.iter().find(|o| o.name == wanted) {
            return Some(option.name.clone());
        }
        // Options match case-insensitively, as in `tasks set-status` (one option only: two that
        // differ by case alone need the exact name).
        let mut same = property
            .options
            .iter()
            .filter(|o| o.name.to_lowercase() == wanted.to_lowercase());
        if let (Some(option), None) = (same.next(), same.next()) {
            return Some(option.name.clone());
        }
        let names: Vec<String> = property
            .options
            .iter()
            .map(|o| format!("`{}`", o.name))
            .collect();
        let hint = closest(wanted, property.options.iter().map(|o| o.name.as_str()))
            .map(|name| format!(" (did you mean `{name}`?)"))
            .unwrap_or_default();
        self.mismatch(
            span,
            format!(
                "`{wanted}` is not an option of the {} property `{}`{hint}; its options: {}",
                property.kind,
                property.name,
                names.join(", ")
            ),
        );
        None
    }
}

#[cfg(test)]
mod tests;
