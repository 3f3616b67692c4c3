//! Rules: automations written in TOML that fire when a task enters a condition or goes through a
//! transition, exactly once (docs/semantics.md, "Rules").
//!
//! - `syntax`: the TOML shapes; `compile`: checked against the schema (`tasksync check`);
//! - `eval`: pure evaluation on (before, after, now); `render`: the exact writes, text and mail;
//! - `executor`: performs queued actions against Notion, with retries and the append check.

pub mod compile;
pub(crate) mod dates;
pub mod directory;
pub(crate) mod eval;
pub(crate) mod program;
pub mod render;
pub(crate) mod source;
pub(crate) mod syntax;
#[cfg(test)]
mod testing;

pub use compile::{Rule, RuleSet, Trigger, compile};

/// Logs what the schema as it is now did to the rules: each suspended rule (warn) and each
/// property followed from a former name (info).
pub fn log_drift(rules: &RuleSet) {
    for suspension in &rules.suspended {
        tracing::warn!(
            rule = %suspension.rule,
            reason = %suspension.reason(),
            "rule suspended: it does not fit the data source's schema as it is now; the other rules run"
        );
    }
    for followed in &rules.followed {
        tracing::info!(
            rule = %followed.rule,
            former = %followed.former,
            current = %followed.current,
            "the rule names a property by its former name; followed to its current name (rename it in the rules file)"
        );
    }
}

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::model::automation::{Firing, FiringStatus, PlannedAction, RuleStateChange, Transition};
use crate::model::stored::Change;
use crate::model::stored::StoredProperties;
use eval::Snapshot;
use render::{ChangeFacts, TaskFacts};

/// The circumstances of one evaluation.
pub struct Evaluation<'a> {
    pub rules: &'a RuleSet,
    pub now: DateTime<Utc>,
    /// The first sync of a data source: record what holds, fire nothing (existing tasks are not
    /// "new", and entering conditions they already met would flood actions).
    pub baseline: bool,
}

/// One observed change of a task, for the rules.
pub struct TaskChange<'a> {
    pub task: TaskFacts<'a>,
    /// The task before: its properties and whether it was deleted; `None` for a new task.
    pub before: Option<(&'a StoredProperties, bool)>,
    pub changes: &'a [ChangeFacts],
    /// Identifies this change: a rule fires at most once per task and transition.
    pub transition: Transition,
    /// `Some(depth)` when the change consists only of tasksync's own writes, made by firings
    /// `depth - 1` deep in a chain.
    pub own_edit_depth: Option<i64>,
    /// The time-dependent rules this task was inside, as recorded.
    pub inside: &'a HashSet<String>,
}

/// What logs call a task: `TASK-12 "title"` (its page id without a unique ID).
fn task_label(task: &TaskFacts<'_>) -> String {
    let unique = crate::model::stored::unique_id(task.properties);
    format!(
        "{} \"{}\"",
        unique.as_deref().unwrap_or(task.id),
        task.title
    )
}

/// The firings and time-rule state changes a task change causes. Pure.
pub fn evaluate(
    evaluation: &Evaluation<'_>,
    change: &TaskChange<'_>,
) -> (Vec<Firing>, Vec<RuleStateChange>) {
    let after = Snapshot::new(change.task.properties, change.task.deleted);
    let before = change
        .before
        .map(|(properties, deleted)| Snapshot::new(properties, deleted));
    let mut firings = Vec::new();
    let mut states = Vec::new();
    // Built on the first firing and shared by the others: most changes fire nothing.
    let context = std::cell::OnceCell::new();
    for rule in evaluation.rules.rules.iter().filter(|rule| rule.enabled) {
        let inside_before =
            (rule.trigger == Trigger::Timed).then(|| change.inside.contains(&rule.name));
        if rule.trigger == Trigger::Timed {
            let inside_now = eval::is_inside(&rule.condition, &after, evaluation.now);
            if Some(inside_now) != inside_before {
                states.push(RuleStateChange {
                    rule: rule.name.clone(),
                    task_id: change.task.id.to_string(),
                    inside: inside_now,
                });
            }
        }
        if evaluation.baseline || (change.own_edit_depth.is_some() && !rule.on_own_edits) {
            continue;
        }
        if !eval::fires(rule, before.as_ref(), &after, evaluation.now, inside_before) {
            continue;
        }
        let shared = context.get_or_init(|| {
            render::shared_context(
                &change.task,
                change.changes,
                evaluation.now,
                evaluation.rules.mentions,
                &evaluation.rules.aliases,
            )
        });
        firings.push(firing_in(evaluation, rule, change, shared));
    }
    (firings, states)
}

/// A firing of `rule` on the change: rendered, or stopped by the loop budget.
pub fn firing(evaluation: &Evaluation<'_>, rule: &Rule, change: &TaskChange<'_>) -> Firing {
    let shared = render::shared_context(
        &change.task,
        change.changes,
        evaluation.now,
        evaluation.rules.mentions,
        &evaluation.rules.aliases,
    );
    firing_in(evaluation, rule, change, &shared)
}

fn firing_in(
    evaluation: &Evaluation<'_>,
    rule: &Rule,
    change: &TaskChange<'_>,
    shared: &minijinja::Value,
) -> Firing {
    let depth = change.own_edit_depth.unwrap_or(0);
    let mut firing = Firing {
        rule: rule.name.clone(),
        task_id: change.task.id.to_string(),
        transition: change.transition.to_string(),
        status: FiringStatus::Fired,
        reason: None,
        chain_depth: depth,
        actions: Vec::new(),
    };
    if depth > i64::from(evaluation.rules.firing_budget) {
        firing.status = FiringStatus::Stopped;
        firing.reason = Some(format!(
            "loop guard: tasksync's own edits have already made rules fire {depth} times in a row on this task (automation.firing_budget = {})",
            evaluation.rules.firing_budget
        ));
        tracing::warn!(rule = %rule.name, task = %task_label(&change.task), depth, "rule chain stopped by the firing budget");
        return firing;
    }
    match render::render_in(evaluation.rules, rule, &change.task, shared, evaluation.now) {
        Ok(mut actions) => {
            // A created page carries a marker derived from the firing, to be found again.
            for (index, action) in actions.iter_mut().enumerate() {
                if let PlannedAction::Create { marker, .. } = action {
                    *marker = crate::model::automation::idempotency_key(
                        &firing.rule,
                        &firing.task_id,
                        &firing.transition,
                        index,
                    );
                }
            }
            firing.actions = actions;
        }
        Err(error) => {
            tracing::warn!(rule = %rule.name, task = %task_label(&change.task), %error, "a rule's template failed");
            firing.status = FiringStatus::Error;
            firing.reason = Some(error);
        }
    }
    firing
}

/// The properties of a change by our bot that none of tasksync's own writes explains: neither a
/// `set` action's write (`actions`) nor a `tasks` command's (`edits`: property id and value) put
/// that value in that property. Not empty: another writer used our token. Pure.
pub fn unexplained_changes(
    changes: &[Change],
    actions: &[(PlannedAction, i64)],
    edits: &[(String, Option<String>)],
) -> Vec<String> {
    let by_action = |change: &Change| {
        actions.iter().any(|(action, _)| match action {
            PlannedAction::Set { writes } => writes.iter().any(|w| {
                Some(&w.property_id) == change.property_id.as_ref()
                    && Some(&w.text) == change.new_value.as_ref()
            }),
            _ => false,
        })
    };
    let by_command = |change: &Change| {
        edits.iter().any(|(property, value)| {
            Some(property) == change.property_id.as_ref() && *value == change.new_value
        })
    };
    changes
        .iter()
        .filter(|change| !change.property.starts_with('('))
        .filter(|change| !by_action(change) && !by_command(change))
        .map(|change| change.property.clone())
        .collect()
}

/// Whether a change consists only of writes tasksync made (each changed property now holds what
/// one of our `set` actions wrote); then the chain depth of the firing it continues.
pub fn own_edit_depth(changes: &[Change], writes: &[(PlannedAction, i64)]) -> Option<i64> {
    let mut depth = None;
    for change in changes {
        // The deepest of our writes that explains this change: the chain it continues.
        let ours = writes
            .iter()
            .filter_map(|(action, firing_depth)| match action {
                PlannedAction::Set { writes } => writes
                    .iter()
                    .any(|w| {
                        Some(&w.property_id) == change.property_id.as_ref()
                            && Some(&w.text) == change.new_value.as_ref()
                    })
                    .then_some(*firing_depth),
                _ => None,
            })
            .max()?;
        depth = Some(depth.map_or(ours, |d: i64| d.max(ours)));
    }
    depth.map(|d| d + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PropertyWrite;
    use crate::model::automation::PlannedWrite;

    fn change(property: &str, new: &str) -> Change {
        Change {
            task_id: "t".into(),
            property: property.into(),
            property_id: Some(format!("{property}-id")),
            old_value: None,
            new_value: Some(new.into()),
            old_json: None,
            new_json: None,
            edited_at: None,
            edited_by: None,
        }
    }

    fn set(property: &str, value: &str) -> (PlannedAction, i64) {
        let write = PlannedWrite {
            property: property.into(),
            property_id: format!("{property}-id"),
            value: PropertyWrite::Status(value.into()),
            text: value.into(),
        };
        (
            PlannedAction::Set {
                writes: vec![write],
            },
            0,
        )
    }

    #[test]
    fn only_changes_none_of_our_writes_explains_are_another_writers() {
        let changes = [
            change("Status", "Done"),
            change("Priority", "Urgent"),
            change("(created)", ""),
        ];
        // Nothing of ours: every real property is unexplained (pseudo rows never count).
        assert_eq!(
            unexplained_changes(&changes, &[], &[]),
            ["Status", "Priority"]
        );
        // A rule's set explains Status; a `tasks` command's write explains Priority.
        let edits = [("Priority-id".to_string(), Some("Urgent".to_string()))];
        assert_eq!(
            unexplained_changes(&changes, &[set("Status", "Done")], &edits),
            Vec::<String>::new()
        );
        // The same property with another value than we wrote is not ours.
        assert_eq!(
            unexplained_changes(&changes, &[set("Status", "In progress")], &edits),
            ["Status"]
        );
    }
}
