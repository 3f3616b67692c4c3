//! Flow metrics from task histories, pure: the time is a parameter, the inputs are plain values.
//!
//! A task's status over time comes from the mirror's history; the stages (To-do, In progress,
//! Complete) from the status property's groups, so the figures mean the same in any database.
//! A task in the trash counts nowhere while it is there; a task re-opened is complete only from
//! its last completion on; a task that went straight to a complete status has a lead time but
//! no cycle time.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::model::PropertySchema;

/// Where a status stands in the work: Notion's three status groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    ToDo,
    InProgress,
    Complete,
}

/// The statuses of a database in their order (by group, then as Notion lists them), each with
/// its stage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workflow {
    pub statuses: Vec<(String, Stage)>,
}

impl Workflow {
    /// From a status property's options and groups. Groups are staged by name (`To-do`, `In
    /// progress`, `Complete`), else by position (the first is to-do, the last complete);
    /// options in no group come last, as to-do.
    pub fn from_schema(property: &PropertySchema) -> Self {
        let count = property.groups.len();
        let mut statuses = Vec::new();
        for (position, group) in property.groups.iter().enumerate() {
            let stage = match group.name.to_ascii_lowercase().as_str() {
                "to-do" | "to do" | "todo" => Stage::ToDo,
                "in progress" => Stage::InProgress,
                "complete" | "completed" => Stage::Complete,
                _ if position == 0 => Stage::ToDo,
                _ if position + 1 == count => Stage::Complete,
                _ => Stage::InProgress,
            };
            for option in &property.options {
                let in_group = option
                    .id
                    .as_ref()
                    .is_some_and(|id| group.option_ids.contains(id));
                if in_group && !statuses.iter().any(|(name, _)| *name == option.name) {
                    statuses.push((option.name.clone(), stage));
                }
            }
        }
        for option in &property.options {
            if !statuses.iter().any(|(name, _)| *name == option.name) {
                statuses.push((option.name.clone(), Stage::ToDo));
            }
        }
        Self { statuses }
    }

    pub fn stage(&self, status: &str) -> Option<Stage> {
        self.statuses
            .iter()
            .find(|(name, _)| name == status)
            .map(|(_, stage)| *stage)
    }

    fn position(&self, status: &str) -> Option<usize> {
        self.statuses.iter().position(|(name, _)| name == status)
    }
}

/// One task's history as the report needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskHistory {
    pub id: String,
    pub created: DateTime<Utc>,
    /// The status from each moment on, oldest first; the first at `created`.
    pub statuses: Vec<(DateTime<Utc>, Option<Arc<str>>)>,
    /// Stays in the trash: from, until (`None`: still there).
    pub trashed: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    /// From when its history is known: the mirror's first sync (its creation, if later). The
    /// first status is what it had then; when it entered it before is unknown, so a completion
    /// or a start there is not a time (no throughput, cycle or lead time from it).
    pub known_from: DateTime<Utc>,
}

impl TaskHistory {
    /// Whether the task exists and is out of the trash at `at`.
    pub fn alive_at(&self, at: DateTime<Utc>) -> bool {
        at >= self.created
            && !self
                .trashed
                .iter()
                .any(|(from, until)| *from <= at && until.is_none_or(|until| at < until))
    }

    /// Its status at `at` (`None`: not there then, or no status).
    pub fn status_at(&self, at: DateTime<Utc>) -> Option<&str> {
        if !self.alive_at(at) {
            return None;
        }
        self.statuses
            .iter()
            .take_while(|(since, _)| *since <= at)
            .last()
            .and_then(|(_, status)| status.as_deref())
    }

    fn stage_at(&self, workflow: &Workflow, at: DateTime<Utc>) -> Option<Stage> {
        self.status_at(at).and_then(|status| workflow.stage(status))
    }

    /// When the current run of the status it has at `now` began.
    fn current_since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let current = self.statuses.iter().take_while(|(since, _)| *since <= now);
        let mut since = self.created;
        let mut previous: Option<&Option<Arc<str>>> = None;
        for (at, status) in current {
            if previous != Some(status) {
                since = *at;
            }
            previous = Some(status);
        }
        since
    }

    /// When it was completed for the last time, if it is complete (and alive) at `now`.
    pub fn completed(&self, workflow: &Workflow, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.stage_at(workflow, now) != Some(Stage::Complete) {
            return None;
        }
        let mut completed = None;
        let mut was_complete = false;
        for (index, (at, status)) in self
            .statuses
            .iter()
            .take_while(|(since, _)| *since <= now)
            .enumerate()
        {
            let complete = status
                .as_deref()
                .and_then(|s| workflow.stage(s))
                .is_some_and(|stage| stage == Stage::Complete);
            if complete && !was_complete {
                completed = (!self.before_history(index)).then_some(*at);
            }
            was_complete = complete;
        }
        completed
    }

    /// Whether the status at `index` is the one the task had when history began, entered at
    /// an unknown time before.
    fn before_history(&self, index: usize) -> bool {
        index == 0 && self.created < self.known_from
    }

    /// When work on it first started (its first in-progress status), if before `until`.
    pub fn started(&self, workflow: &Workflow, until: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.statuses
            .iter()
            .take_while(|(since, _)| *since <= until)
            .enumerate()
            .find(|(_, (_, status))| {
                status.as_deref().and_then(|s| workflow.stage(s)) == Some(Stage::InProgress)
            })
            .filter(|(index, _)| !self.before_history(*index))
            .map(|(_, (at, _))| *at)
    }
}

/// How many tasks had each status at the end of a day (UTC), in the workflow's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayCounts {
    pub day: NaiveDate,
    pub counts: Vec<usize>,
}

/// The cumulative flow: for each day, the tasks in each status at its end.
///
/// One pass over the tasks: between two moments of a task's history (its creation, its status
/// changes, its trash stays) its status does not change, so each such stretch adds one to its
/// status on the days whose end falls in it (a step up where it starts counting, one down where
/// it stops), and the counts are the running sums.
pub fn cumulative_flow(
    tasks: &[TaskHistory],
    workflow: &Workflow,
    days: &[NaiveDate],
) -> Vec<DayCounts> {
    let ends: Vec<DateTime<Utc>> = days.iter().map(|day| end_of(*day)).collect();
    // How many days end before `at`: the index of the first day a status held from `at` counts.
    let first_day_from = |at: DateTime<Utc>| ends.partition_point(|end| *end < at);
    let mut steps = vec![vec![0_i64; days.len() + 1]; workflow.statuses.len()];
    let mut moments = Vec::new();
    for task in tasks {
        moments.clear();
        moments.push(task.created);
        moments.extend(task.statuses.iter().map(|(at, _)| *at));
        for (from, until) in &task.trashed {
            moments.push(*from);
            moments.extend(*until);
        }
        moments.sort_unstable();
        moments.dedup();
        for (index, at) in moments.iter().enumerate() {
            let Some(position) = task.status_at(*at).and_then(|s| workflow.position(s)) else {
                continue;
            };
            let from = first_day_from(*at);
            let until = moments
                .get(index + 1)
                .map_or(days.len(), |next| first_day_from(*next));
            if from < until {
                steps[position][from] += 1;
                steps[position][until] -= 1;
            }
        }
    }
    let mut running = vec![0_i64; workflow.statuses.len()];
    days.iter()
        .enumerate()
        .map(|(index, day)| {
            let counts = running
                .iter_mut()
                .zip(&steps)
                .map(|(count, steps)| {
                    *count += steps[index];
                    usize::try_from(*count).unwrap_or(0)
                })
                .collect();
            DayCounts { day: *day, counts }
        })
        .collect()
}

/// The last instant of a day (UTC).
fn end_of(day: NaiveDate) -> DateTime<Utc> {
    let next = day.succ_opt().unwrap_or(day);
    next.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc() - Duration::milliseconds(1))
        .unwrap_or_default()
}

/// Cycle times of the tasks complete at `now`: from the first in-progress status to the last
/// completion. A task that never was in progress has none.
pub fn cycle_times<'a>(
    tasks: impl IntoIterator<Item = &'a TaskHistory>,
    workflow: &Workflow,
    now: DateTime<Utc>,
) -> Vec<Duration> {
    tasks
        .into_iter()
        .filter_map(|task| {
            let done = task.completed(workflow, now)?;
            Some(done - task.started(workflow, done)?)
        })
        .collect()
}

/// Lead times of the tasks complete at `now`: from creation to the last completion.
pub fn lead_times<'a>(
    tasks: impl IntoIterator<Item = &'a TaskHistory>,
    workflow: &Workflow,
    now: DateTime<Utc>,
) -> Vec<Duration> {
    tasks
        .into_iter()
        .filter_map(|task| Some(task.completed(workflow, now)? - task.created))
        .collect()
}

/// The Monday of a day's week.
pub fn week_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// Tasks completed per week (weeks by their Monday, UTC): each complete task once, in the week of
/// its last completion.
pub fn throughput(
    tasks: &[TaskHistory],
    workflow: &Workflow,
    now: DateTime<Utc>,
    weeks: &[NaiveDate],
) -> Vec<(NaiveDate, usize)> {
    let done: Vec<NaiveDate> = tasks
        .iter()
        .filter_map(|task| task.completed(workflow, now))
        .map(|at| week_of(at.date_naive()))
        .collect();
    weeks
        .iter()
        .map(|week| (*week, done.iter().filter(|d| *d == week).count()))
        .collect()
}

/// An open task and how long it has had its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aging {
    /// Its index in the tasks given.
    pub task: usize,
    pub status: String,
    pub since: DateTime<Utc>,
    pub age: Duration,
}

/// Work in progress by age: the tasks alive and not complete at `now`, oldest in their status
/// first.
pub fn aging(tasks: &[TaskHistory], workflow: &Workflow, now: DateTime<Utc>) -> Vec<Aging> {
    let mut open: Vec<Aging> = tasks
        .iter()
        .enumerate()
        .filter_map(|(index, task)| {
            let status = task.status_at(now)?;
            if workflow.stage(status) == Some(Stage::Complete) {
                return None;
            }
            let since = task.current_since(now);
            Some(Aging {
                task: index,
                status: status.to_string(),
                since,
                age: now - since,
            })
        })
        .collect();
    open.sort_by(|a, b| b.age.cmp(&a.age).then(a.task.cmp(&b.task)));
    open
}

/// A distribution's count, median and 85th percentile (nearest rank).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spread {
    pub count: usize,
    pub median: Option<Duration>,
    pub p85: Option<Duration>,
}

pub fn spread(durations: &[Duration]) -> Spread {
    let mut sorted = durations.to_vec();
    sorted.sort();
    let rank = |p: usize| -> Option<Duration> {
        if sorted.is_empty() {
            return None;
        }
        // Nearest rank: the smallest value with at least p% of the values at or below it.
        let index = (p * sorted.len()).div_ceil(100).max(1) - 1;
        sorted.get(index).copied()
    };
    Spread {
        count: sorted.len(),
        median: rank(50),
        p85: rank(85),
    }
}

#[cfg(test)]
mod tests;
