//! People and tasks that rules name in `set` values (`Assignee = "ada@example.com"`,
//! `"Blocked by" = ["TASK-3"]`): what they are in the mirror. Pure: the caller reads the mirror
//! (`Store::users`, `Store::task_references`) and `check` reports every name that matches
//! nothing, at its file and line.

use std::collections::HashMap;

use super::program::{Action, RuleSet, SetValue};
use super::source::Problem;
use crate::model::User;

/// A person or task a rule names, with where.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    pub text: String,
    /// Where it is written (the message is empty).
    pub at: Problem,
}

impl Reference {
    fn problem(&self, message: String) -> Problem {
        Problem {
            message: format!("{}{message}", self.at.message),
            ..self.at.clone()
        }
    }
}

/// A task of the mirror, as a relation names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownTask {
    pub id: String,
    pub title: String,
}

/// What the mirror knows of the people and tasks rules name.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    /// The workspace's users, by id.
    pub users: HashMap<String, User>,
    /// Each task reference rules use, with the live tasks it matches (by page id, unique ID or
    /// exact title).
    pub tasks: HashMap<String, Vec<KnownTask>>,
    /// Task titles by id, for templates that show relations (read only when one may).
    pub titles: HashMap<String, String>,
}

impl Directory {
    /// Records what the mirror found for each task reference, as (id, title) pairs.
    pub fn set_tasks(&mut self, found: HashMap<String, Vec<(String, String)>>) {
        self.tasks = found
            .into_iter()
            .map(|(reference, tasks)| {
                let tasks = tasks
                    .into_iter()
                    .map(|(id, title)| KnownTask { id, title })
                    .collect();
                (reference, tasks)
            })
            .collect();
    }

    /// The person a name, email or user id stands for.
    pub fn person(&self, text: &str) -> Result<&User, String> {
        let wanted = text.trim();
        if let Some(user) = self.users.get(wanted) {
            return Ok(user);
        }
        let by = |field: fn(&User) -> Option<&str>| -> Vec<&User> {
            self.users
                .values()
                .filter(|user| field(user).is_some_and(|value| value.eq_ignore_ascii_case(wanted)))
                .collect()
        };
        let by_email = by(|user| user.email.as_deref());
        let found = if by_email.is_empty() {
            by(|user| user.name.as_deref())
        } else {
            by_email
        };
        match found.as_slice() {
            [one] => Ok(one),
            [] if self.users.is_empty() => Err(format!(
                "`{wanted}` cannot be checked: the mirror knows no users yet (run `tasksync sync`)"
            )),
            [] => Err(format!(
                "no one in the workspace is called or has the email `{wanted}`"
            )),
            several => {
                let mut ids: Vec<&str> = several.iter().map(|user| user.id.as_str()).collect();
                ids.sort_unstable();
                Err(format!(
                    "{} people are called `{wanted}`: name them by email or user id ({})",
                    several.len(),
                    ids.join(", ")
                ))
            }
        }
    }

    /// The task a reference stands for.
    pub fn task(&self, text: &str) -> Result<&KnownTask, String> {
        let wanted = text.trim();
        match self.tasks.get(wanted).map(Vec::as_slice) {
            Some([one]) => Ok(one),
            Some([]) | None => Err(format!(
                "the mirror has no task `{wanted}` (name it by its unique ID such as TASK-12, its exact title or its page id; run `tasksync sync` if it is new)"
            )),
            Some(several) => {
                let ids: Vec<&str> = several.iter().map(|task| task.id.as_str()).collect();
                Err(format!(
                    "{} tasks are titled `{wanted}`: name one by its unique ID or page id ({})",
                    several.len(),
                    ids.join(", ")
                ))
            }
        }
    }
}

/// What a reference names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Person,
    Task,
}

impl RuleSet {
    /// Every person and task the running rules name in `set` values.
    pub fn references(&self) -> Vec<(Kind, &Reference)> {
        let mut found = Vec::new();
        for rule in self.rules.iter().filter(|rule| rule.enabled) {
            for action in &rule.actions {
                let Action::Set(properties) = action else {
                    continue;
                };
                for property in properties {
                    match &property.value {
                        SetValue::People(people) => {
                            found.extend(people.iter().map(|r| (Kind::Person, r)));
                        }
                        SetValue::Relation(tasks) => {
                            found.extend(tasks.iter().map(|r| (Kind::Task, r)));
                        }
                        _ => {}
                    }
                }
            }
        }
        found
    }

    /// The task references the rules use, to look up in the mirror.
    pub fn task_references(&self) -> Vec<String> {
        let mut texts: Vec<String> = self
            .references()
            .into_iter()
            .filter(|(kind, _)| *kind == Kind::Task)
            .map(|(_, reference)| reference.text.trim().to_string())
            .collect();
        texts.sort_unstable();
        texts.dedup();
        texts
    }

    /// Whether the rules need the mirror's users (to mail, set or give people).
    pub fn needs_users(&self) -> bool {
        let creates_people = self.rules.iter().filter(|rule| rule.enabled).any(|rule| {
            rule.actions.iter().any(|action| {
                matches!(action, Action::Create { properties, .. }
                    if properties.iter().any(|p| p.kind == "people"))
            })
        });
        creates_people
            || self.mails_people()
            || self
                .references()
                .iter()
                .any(|(kind, _)| *kind == Kind::Person)
    }

    /// Every person or task a rule names that the mirror does not know (or knows twice), at its
    /// file and line.
    pub fn unknown_references(&self, directory: &Directory) -> Vec<Problem> {
        self.references()
            .into_iter()
            .filter_map(|(kind, reference)| {
                let found = match kind {
                    Kind::Person => directory.person(&reference.text).map(|_| ()),
                    Kind::Task => directory.task(&reference.text).map(|_| ()),
                };
                found.err().map(|why| reference.problem(why))
            })
            .collect()
    }
}
