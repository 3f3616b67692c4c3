//! The rules stage: each observed change, each deletion and each move in time through
//! `rules::evaluate`, the firings added to the change's own transaction.

use std::collections::{HashMap, HashSet};

use chrono::Duration;

use super::{Engine, FiringReport};
use crate::model::Task;
use crate::model::automation::{Firing, FiringStatus, RuleStateChange, Transition};
use crate::model::stored::{
    CREATED, Change, ChangeKind, MirroredTask, OtherWriterEdit, StoredProperties, unique_id,
};
use crate::model::time::{iso, parse_time};
use crate::rules::render::{ChangeFacts, TaskFacts};
use crate::rules::{Evaluation, TaskChange, Trigger};
use crate::store::Batch;

/// Firings reported in full by one sync; more are counted only.
const REPORTED_FIRINGS: usize = 1000;

/// What templates and rules see of a stored task.
fn facts_of<'a>(
    row: &'a MirroredTask,
    properties: &'a StoredProperties,
    deleted: bool,
    names: &'a HashMap<String, String>,
    directory: &'a crate::rules::directory::Directory,
) -> TaskFacts<'a> {
    let last_edited_by = row
        .last_edited_by
        .as_deref()
        .map(|id| names.get(id).map_or(id, String::as_str));
    TaskFacts {
        id: &row.id,
        url: &row.url,
        title: &row.title,
        status: row.status.as_deref(),
        created_time: &row.created_time,
        last_edited_time: &row.last_edited_time,
        last_edited_by,
        deleted,
        properties,
        directory,
    }
}

impl<'a> Engine<'a> {
    fn has_timed_rules(&self) -> bool {
        self.rules
            .rules
            .iter()
            .any(|r| r.enabled && r.trigger == Trigger::Timed)
    }

    fn evaluation(&self, baseline: bool) -> Evaluation<'a> {
        Evaluation {
            rules: self.rules,
            now: self.now,
            baseline,
        }
    }

    /// The time-dependent rules each task is recorded as inside.
    pub(super) async fn recorded_states(
        &self,
        tasks: &[Task],
    ) -> anyhow::Result<HashMap<String, HashSet<String>>> {
        let Some(reader) = self.store.filter(|_| self.has_timed_rules()) else {
            return Ok(HashMap::new());
        };
        let ids: Vec<String> = tasks.iter().map(|t| t.id.to_string()).collect();
        let pairs = reader.rule_states(ids).await?;
        let mut by_task: HashMap<String, HashSet<String>> = HashMap::new();
        for (rule, task) in pairs {
            by_task.entry(task).or_default().insert(rule);
        }
        Ok(by_task)
    }

    /// Evaluates the rules on one observed change and adds the firings and state changes to the
    /// batch, so they are recorded in the change's own transaction.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn evaluate(
        &mut self,
        task: &Task,
        row: &MirroredTask,
        before: Option<(Option<&StoredProperties>, bool)>,
        properties: &StoredProperties,
        rows: &[Change],
        inside: &HashSet<String>,
        batch: &mut Batch,
    ) -> anyhow::Result<()> {
        if self.rules.rules.is_empty() {
            return Ok(());
        }
        let changed: Vec<Change> = rows
            .iter()
            .filter(|r| !r.property.starts_with('('))
            .cloned()
            .collect();
        let own_edit_depth = self
            .own_edit_depth(task, before.is_some(), &changed)
            .await?;
        let facts: Vec<ChangeFacts> = changed
            .iter()
            .map(|r| ChangeFacts {
                property: r.property.clone(),
                old: r.old_value.clone().unwrap_or_default(),
                new: r.new_value.clone().unwrap_or_default(),
            })
            .collect();
        let empty = StoredProperties::new();
        let change = TaskChange {
            task: facts_of(row, properties, false, &self.names, &self.directory),
            before: before.map(|(props, deleted)| (props.unwrap_or(&empty), deleted)),
            changes: &facts,
            // Exactly once comes from recording the firing in the same transaction as the change.
            transition: Transition::observed(self.run_id, &row.last_edited_time, &row.content_hash),
            own_edit_depth,
            inside,
        };
        let (firings, states) = crate::rules::evaluate(&self.evaluation(self.baseline), &change);
        self.report(&firings, &row.title, unique_id(properties));
        batch.firings.extend(firings);
        batch.rule_states.extend(states);
        Ok(())
    }

    /// When the task was last edited by our bot and every change is a value one of our `set`
    /// actions wrote, the chain depth of that edit (see `rules::own_edit_depth`); a task our bot
    /// created, depth 1.
    async fn own_edit_depth(
        &self,
        task: &Task,
        existed: bool,
        changed: &[Change],
    ) -> anyhow::Result<Option<i64>> {
        let ours = self.bot.is_some() && task.last_edited_by == self.bot;
        // A task a create action made is tasksync's own edit too: `new` rules do not fire on
        // it unless they opt in (`on_own_edits`), so a rule cannot create tasks without end.
        if !existed && self.bot.is_some() && task.created_by == self.bot {
            return Ok(Some(1));
        }
        let Some(reader) = self
            .store
            .filter(|_| ours && existed && !changed.is_empty())
        else {
            return Ok(None);
        };
        // Our writes of the last day before this version: wide enough for minute-rounded edit
        // times and slow syncs; a match also needs the same property and value.
        let since = parse_time(&task.last_edited_time)
            .and_then(|t| t.checked_sub_signed(Duration::days(1)))
            .map_or_else(String::new, iso);
        let writes = reader.own_writes(task.id.to_string(), since).await?;
        Ok(crate::rules::own_edit_depth(changed, &writes))
    }

    /// An edit by our bot that none of tasksync's journals explains, if this version is one:
    /// properties our bot changed that no `set` action or `tasks` command of ours wrote, or a page
    /// our bot created when no create action of ours was under way. Logged at warn here; the
    /// batch records it and `status` turns WARNING. Not on a first sync (a baseline: what came
    /// before this mirror is not ours to judge), nor in a dry run.
    pub(super) async fn other_writer(
        &self,
        task: &Task,
        row: &MirroredTask,
        kind: ChangeKind,
        properties: &StoredProperties,
        changed: &[Change],
    ) -> anyhow::Result<Option<OtherWriterEdit>> {
        let (Some(store), Some(bot)) = (self.writer(), self.bot.as_ref()) else {
            return Ok(None);
        };
        if self.baseline {
            return Ok(None);
        }
        let (edited_at, properties_changed) = match kind {
            ChangeKind::New if task.created_by.as_ref() == Some(bot) => {
                if store.created_by_us(task.id.to_string()).await? {
                    return Ok(None);
                }
                (task.created_time.clone(), vec![CREATED.to_string()])
            }
            ChangeKind::Changed if task.last_edited_by.as_ref() == Some(bot) => {
                let journal = store.own_journal(task.id.to_string()).await?;
                let unexplained =
                    crate::rules::unexplained_changes(changed, &journal.actions, &journal.edits);
                if unexplained.is_empty() {
                    return Ok(None);
                }
                (task.last_edited_time.clone(), unexplained)
            }
            _ => return Ok(None),
        };
        let label = format!(
            "{} \"{}\"",
            unique_id(properties).unwrap_or_else(|| task.id.to_string()),
            row.title
        );
        let what = match kind {
            ChangeKind::New => "created the page".to_string(),
            _ => properties_changed.join(", "),
        };
        tracing::warn!(
            task = %label,
            edited_at = %edited_at,
            properties = %what,
            "another writer using this integration edited {label} at {edited_at} ({what}): another process acts with the same token (a second tasksync with its own mirror, or a script), so rules may act twice; find it and stop it (README, \"One actor\")"
        );
        Ok(Some(OtherWriterEdit {
            task_id: task.id.to_string(),
            data_source_id: self.source_id.clone(),
            task: label,
            edited_at,
            properties: properties_changed,
            detected_at: String::new(),
        }))
    }

    fn report(&mut self, firings: &[Firing], title: &str, unique_id: Option<String>) {
        for firing in firings {
            match firing.status {
                FiringStatus::Stopped => self.stopped += 1,
                FiringStatus::Fired | FiringStatus::Error => self.fired += 1,
            }
            if self.firings.len() < REPORTED_FIRINGS {
                self.firings.push(FiringReport {
                    rule: firing.rule.clone(),
                    task: unique_id.clone().unwrap_or_else(|| firing.task_id.clone()),
                    task_id: firing.task_id.clone(),
                    title: title.to_string(),
                    transition: firing.transition.clone(),
                    status: firing.status,
                    reason: firing.reason.clone(),
                    actions: firing.actions.clone(),
                });
            }
        }
    }

    /// Evaluates time-dependent rules over the whole mirror: a task that time alone moved into a
    /// condition fires once; one that left it is forgotten. With `unbaselined_only`, only rules
    /// never evaluated here run, recording who is inside without firing. Day-granular rules are
    /// re-evaluated once a day (changes to tasks are evaluated as they are synced).
    pub(super) async fn time_rules(&mut self, unbaselined_only: bool) -> anyhow::Result<()> {
        let Some(reader) = self.store.filter(|_| self.has_timed_rules()) else {
            return Ok(());
        };
        let today = self.now.date_naive().to_string();
        let mut due = Vec::new();
        for rule in self
            .rules
            .rules
            .iter()
            .filter(|r| r.enabled && r.trigger == Trigger::Timed)
        {
            let evaluated = reader
                .rule_baseline(rule.name.clone(), self.source_id.clone())
                .await?;
            let baseline = evaluated.is_none() || self.baseline;
            let stale = evaluated
                .as_deref()
                .is_none_or(|at| !at.starts_with(&today) || rule.condition.moves_by_the_minute());
            if (unbaselined_only && evaluated.is_none()) || (!unbaselined_only && stale) {
                due.push((rule, baseline));
            }
        }
        if due.is_empty() {
            return Ok(());
        }
        let tasks = reader.live_tasks(self.source_id.clone()).await?;
        let parsed: Vec<StoredProperties> = tasks
            .iter()
            .map(MirroredTask::properties)
            .collect::<Result<_, _>>()?;
        let mut firings = Vec::new();
        let mut states = Vec::new();
        for (rule, baseline) in &due {
            let recorded = reader.all_rule_states(rule.name.clone()).await?;
            let evaluation = self.evaluation(*baseline);
            let period = if rule.condition.moves_by_the_minute() {
                iso(self.now)
            } else {
                today.clone()
            };
            for (row, properties) in tasks.iter().zip(&parsed) {
                let snapshot = crate::rules::eval::Snapshot::new(properties, false);
                let inside_now =
                    crate::rules::eval::is_inside(&rule.condition, &snapshot, self.now);
                let inside_before = recorded.contains(&row.id);
                if inside_now == inside_before {
                    continue;
                }
                states.push(RuleStateChange {
                    rule: rule.name.clone(),
                    task_id: row.id.clone(),
                    inside: inside_now,
                });
                if inside_now && !evaluation.baseline {
                    let change = TaskChange {
                        task: facts_of(row, properties, false, &self.names, &self.directory),
                        before: None,
                        changes: &[],
                        transition: Transition::entered(&period),
                        own_edit_depth: None,
                        inside: &HashSet::new(),
                    };
                    let firing = crate::rules::firing(&evaluation, rule, &change);
                    self.report(
                        std::slice::from_ref(&firing),
                        &row.title,
                        unique_id(properties),
                    );
                    firings.push(firing);
                }
            }
        }
        if let Some(store) = self.writer() {
            let rules: Vec<String> = due.iter().map(|(rule, _)| rule.name.clone()).collect();
            store
                .apply_time_evaluation(
                    self.source_id.clone(),
                    rules,
                    firings,
                    states,
                    iso(self.now),
                    Some(self.run_id).filter(|r| *r > 0),
                )
                .await?;
        }
        Ok(())
    }

    /// Firings of `deleted` rules for tasks that left the data source.
    pub(super) async fn deletion_firings(
        &mut self,
        gone: &[String],
    ) -> anyhow::Result<Vec<Firing>> {
        let wanted = self
            .rules
            .rules
            .iter()
            .any(|r| r.enabled && r.condition.has_transition());
        let Some(reader) = self
            .store
            .filter(|_| wanted && !gone.is_empty() && !self.baseline)
        else {
            return Ok(Vec::new());
        };
        let rows = reader.tasks_by_id(gone.to_vec()).await?;
        let mut firings = Vec::new();
        for row in &rows {
            let properties = row.properties()?;
            let change = TaskChange {
                task: facts_of(row, &properties, true, &self.names, &self.directory),
                before: Some((&properties, false)),
                changes: &[],
                transition: Transition::deleted(&iso(self.now)),
                own_edit_depth: None,
                inside: &HashSet::new(),
            };
            let (found, _) = crate::rules::evaluate(&self.evaluation(false), &change);
            self.report(&found, &row.title, unique_id(&properties));
            firings.extend(found);
        }
        Ok(firings)
    }
}
