//! The report from the mirror: each task's history from its rows, the figures over a window,
//! the page written beside its final name and renamed (never half a file). Reads the mirror
//! only.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::flow::{self, TaskHistory, Workflow};
use super::html::{AgingRow, Figures, RuleRow};
use crate::store::{ReportEvent, ReportTask};

/// How many open tasks the aging table names.
const AGING_ROWS: usize = 20;

/// A task's history from its rows in the mirror: its first status is the one before its first
/// recorded status change (else the one it has), its stays in the trash from the `(deleted)`
/// rows (and `deleted_at` for a mirror without them). `None` for a creation time that does not
/// parse.
pub fn history(task: ReportTask) -> Option<TaskHistory> {
    let created = task.created_time?;
    let first = task.events.iter().find_map(|event| match event {
        ReportEvent::Status { old, .. } => Some(old.clone()),
        _ => None,
    });
    let mut statuses = Vec::with_capacity(1 + task.events.len());
    statuses.push((created, first.unwrap_or(task.status)));
    let mut trashed: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = Vec::new();
    for event in task.events {
        match event {
            ReportEvent::Status { at, new, .. } => statuses.push((at.max(created), new)),
            ReportEvent::Trashed { at } => trashed.push((at, None)),
            ReportEvent::Restored { at } => {
                if let Some(last) = trashed.last_mut()
                    && last.1.is_none()
                {
                    last.1 = Some(at);
                }
            }
        }
    }
    if let Some(deleted) = task.deleted_at
        && !trashed.iter().any(|(_, until)| until.is_none())
    {
        trashed.push((deleted, None));
    }
    statuses.sort_by_key(|(at, _)| *at);
    Some(TaskHistory {
        id: task.id,
        created,
        statuses,
        trashed,
        known_from: created,
    })
}

/// A people value on one line of the aging table: the first person, and how many more.
fn one_line_people(value: &crate::model::PropertyValue) -> String {
    let crate::model::PropertyValue::People(users) = value else {
        return String::new();
    };
    match users.as_slice() {
        [] => String::new(),
        [one] => one.display().to_string(),
        [first, rest @ ..] => format!("{} +{}", first.display(), rest.len()),
    }
}

/// What a written report holds, to tell (and for `tasksync report --json`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Written {
    pub since: NaiveDate,
    /// The mirror's first sync of the source: charts and figures start there at the earliest,
    /// and a task done before it counts in none of them.
    pub history_begins: Option<NaiveDate>,
    /// Tasks the mirror holds for the source (in the trash too).
    pub tasks: usize,
    /// Tasks completed in the period.
    pub done: usize,
    /// Tasks in each status now, in the workflow's order.
    pub today: Vec<StatusCount>,
    pub cycle_time_days: SpreadDays,
    pub lead_time_days: SpreadDays,
    pub throughput: Vec<WeekDone>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StatusCount {
    pub status: String,
    pub tasks: usize,
}

/// A distribution in days: how many, median and 85th percentile.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SpreadDays {
    pub count: usize,
    pub median: Option<f64>,
    pub p85: Option<f64>,
}

impl SpreadDays {
    fn of(durations: &[Duration]) -> Self {
        let spread = flow::spread(durations);
        let days = |d: Duration| (d.num_minutes() as f64 / (24.0 * 60.0) * 10.0).round() / 10.0;
        Self {
            count: spread.count,
            median: spread.median.map(days),
            p85: spread.p85.map(days),
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct WeekDone {
    /// The week's Monday.
    pub week: NaiveDate,
    pub done: usize,
}

/// Builds the report of a data source (`name` for its title) over `window` up to `now`, from
/// the mirror only, and writes it to `out` (through a temporary file beside it, renamed).
pub async fn write_report(
    store: &crate::store::Store,
    data_source: &str,
    name: &str,
    window: Duration,
    now: DateTime<Utc>,
    out: &Path,
) -> anyhow::Result<Written> {
    let mut inputs = store
        .report_inputs(
            data_source.to_string(),
            crate::model::time::iso(now - window),
            history,
        )
        .await?;
    // History begins at the mirror's first sync: the charts start there, and what tasks were
    // before it is not made up.
    let history_start = inputs.history_start;
    if let Some(begins) = history_start {
        for task in &mut inputs.tasks {
            task.known_from = task.known_from.max(begins);
        }
    }
    let start = match history_start {
        Some(begins) => (now - window).max(begins),
        None => now - window,
    }
    .date_naive();
    let status: crate::model::PropertySchema = inputs
        .status_json
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the mirror does not know the status property of \"{name}\" yet: run `tasksync sync` (this tasksync saves it with each sync)"
            )
        })?;
    let workflow = Workflow::from_schema(&status);
    let rules = inputs.rules;
    let tasks = inputs.tasks;
    let days: Vec<NaiveDate> = start
        .iter_days()
        .take_while(|day| *day <= now.date_naive())
        .collect();
    let mut weeks = Vec::new();
    let mut week = flow::week_of(start);
    while week <= now.date_naive() {
        weeks.push(week);
        week += Duration::days(7);
    }
    let done_since = |at: DateTime<Utc>| at.date_naive() >= start;
    let recent = || {
        tasks
            .iter()
            .filter(|task| task.completed(&workflow, now).is_none_or(done_since))
    };
    let aging = flow::aging(&tasks, &workflow, now);
    let oldest: Vec<String> = aging
        .iter()
        .take(AGING_ROWS)
        .map(|a| tasks[a.task].id.clone())
        .collect();
    let rows: HashMap<String, crate::model::stored::MirroredTask> = store
        .tasks_by_id(oldest)
        .await?
        .into_iter()
        .map(|row| (row.id.clone(), row))
        .collect();
    let aging_rows: Vec<AgingRow> = aging
        .iter()
        .take(AGING_ROWS)
        .filter_map(|a| {
            let row = rows.get(&tasks[a.task].id)?;
            let properties = row.properties().ok();
            let label = properties
                .as_ref()
                .and_then(crate::model::stored::unique_id)
                .unwrap_or_else(|| row.id.clone());
            let assignee = properties
                .as_ref()
                .and_then(|p| {
                    p.values()
                        .find(|p| p.value.type_name() == "people" && !p.text.is_empty())
                })
                .map(|p| one_line_people(&p.value))
                .unwrap_or_default();
            Some(AgingRow {
                label,
                title: row.title.clone(),
                assignee,
                // A link only to a web page: the mirror's text is not trusted to be one.
                url: if row.url.starts_with("https://") || row.url.starts_with("http://") {
                    row.url.clone()
                } else {
                    String::new()
                },
                status: a.status.clone(),
                days: a.age.num_minutes() as f64 / (24.0 * 60.0),
            })
        })
        .collect();
    let figures = Figures {
        title: name.to_string(),
        generated_at: now.format("%Y-%m-%d %H:%M UTC").to_string(),
        since: start,
        history_begins: history_start.map(|at| at.date_naive()),
        flow: flow::cumulative_flow(&tasks, &workflow, &days),
        cycle: flow::cycle_times(recent(), &workflow, now),
        lead: flow::lead_times(recent(), &workflow, now),
        throughput: flow::throughput(&tasks, &workflow, now, &weeks),
        aging: aging_rows,
        rules: rules
            .iter()
            .map(|r| RuleRow {
                rule: r.rule.clone(),
                week: r.week.clone(),
                firings: r.firings,
                actions: r.actions,
                failed: r.actions_failed,
            })
            .collect(),
        workflow,
    };
    let page = crate::report::html::render(&figures)
        .map_err(|e| anyhow::anyhow!("cannot draw the report: {e}"))?;
    let temporary = out.with_extension("html.partial");
    // Private like the mirror it comes from (task titles, people): owner only, whatever the
    // umask (under systemd, UMask=0077 says the same).
    let written = || -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::remove_file(&temporary);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(page.as_bytes())?;
        file.sync_all()
    };
    written()
        .and_then(|()| std::fs::rename(&temporary, out))
        .map_err(|error| anyhow::anyhow!("cannot write {}: {error}", out.display()))?;
    let today = figures
        .flow
        .last()
        .map(|d| d.counts.clone())
        .unwrap_or_default();
    Ok(Written {
        since: start,
        history_begins: history_start.map(|at| at.date_naive()),
        tasks: tasks.len(),
        done: figures.lead.len(),
        today: figures
            .workflow
            .statuses
            .iter()
            .zip(today)
            .map(|((status, _), tasks)| StatusCount {
                status: status.clone(),
                tasks,
            })
            .collect(),
        cycle_time_days: SpreadDays::of(&figures.cycle),
        lead_time_days: SpreadDays::of(&figures.lead),
        throughput: figures
            .throughput
            .iter()
            .map(|(week, done)| WeekDone {
                week: *week,
                done: *done,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_history_starts_with_the_status_before_its_first_change_and_follows_the_trash() {
        let name = |s: &str| Some(Arc::<str>::from(s));
        let task = |id: &str, status: &str, deleted: Option<&str>, events| ReportTask {
            id: id.into(),
            status: name(status),
            created_time: Some(at("2026-11-02T09:00:00.000Z")),
            deleted_at: deleted.map(at),
            events,
        };
        let status = |when: &str, old: &str, new: &str| ReportEvent::Status {
            at: at(when),
            old: name(old),
            new: name(new),
        };
        let tasks = vec![
            task(
                "a",
                "Done",
                None,
                vec![
                    status("2026-11-03T10:00:00.000Z", "Not started", "In progress"),
                    status("2026-11-05T10:00:00.000Z", "In progress", "Done"),
                ],
            ),
            task(
                "b",
                "Not started",
                Some("2026-11-06T00:00:00.000Z"),
                Vec::new(),
            ),
            task(
                "c",
                "In progress",
                None,
                vec![
                    ReportEvent::Trashed {
                        at: at("2026-11-03T00:00:00.000Z"),
                    },
                    ReportEvent::Restored {
                        at: at("2026-11-04T00:00:00.000Z"),
                    },
                ],
            ),
            // A creation time that did not parse: left out.
            ReportTask {
                created_time: None,
                ..task("d", "Done", None, Vec::new())
            },
        ];
        let histories: Vec<TaskHistory> = tasks.into_iter().filter_map(history).collect();
        assert_eq!(histories.len(), 3);
        let statuses = |i: usize| -> Vec<Option<Arc<str>>> {
            histories[i]
                .statuses
                .iter()
                .map(|(_, s)| s.clone())
                .collect()
        };
        assert_eq!(
            statuses(0),
            [name("Not started"), name("In progress"), name("Done")]
        );
        // No recorded change: the status it has now, since it was created.
        assert_eq!(statuses(1), [name("Not started")]);
        // In the trash from deleted_at (a mirror without its `(deleted)` row).
        assert_eq!(histories[1].trashed.len(), 1);
        assert!(histories[1].trashed[0].1.is_none());
        // Trashed and restored: one closed stay.
        assert_eq!(
            histories[2].trashed,
            [(
                at("2026-11-03T00:00:00.000Z"),
                Some(at("2026-11-04T00:00:00.000Z"))
            )]
        );
    }
}
