//! What the flow report reads: each task's creation and status changes, its stays in the trash,
//! the status property as the last sync saw it, and the rules' firings per week. Read-only.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::model::time::parse_time;

use super::Store;

/// A task as the report needs it, with its status changes and trash stays, oldest first.
/// Compact for mirrors of 100,000 tasks: times parsed, status names shared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportTask {
    pub id: String,
    pub status: Option<Arc<str>>,
    /// `None`: a creation time that does not parse (a row edited by hand).
    pub created_time: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub events: Vec<ReportEvent>,
}

/// A change of a task's status or trash state (at Notion's edit time, else when a sync saw it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportEvent {
    Status {
        at: DateTime<Utc>,
        old: Option<Arc<str>>,
        new: Option<Arc<str>>,
    },
    Trashed {
        at: DateTime<Utc>,
    },
    Restored {
        at: DateTime<Utc>,
    },
}

/// One rule's activity in one week (weeks by their Monday, UTC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleWeek {
    pub rule: String,
    pub week: String,
    pub firings: i64,
    pub actions: i64,
    pub actions_failed: i64,
}

/// Everything the report reads of one data source: each task as the caller made it of its rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportInputs<T> {
    pub tasks: Vec<T>,
    /// The status property (`PropertySchema` as JSON), if a sync saved it.
    pub status_json: Option<String>,
    pub rules: Vec<RuleWeek>,
    /// When the mirror's history of the source begins: its first sync. What happened before is
    /// not known (a task done then was done before history began).
    pub history_start: Option<DateTime<Utc>>,
}

impl Store {
    /// The report's inputs for one data source, firings since `since`. Each task is handed to
    /// `each` as soon as its rows are read, and what it makes of it is kept (`None`: nothing):
    /// a mirror of 100,000 tasks is never held twice.
    pub async fn report_inputs<T: Send + 'static>(
        &self,
        data_source_id: String,
        since: String,
        each: impl FnMut(ReportTask) -> Option<T> + Send + 'static,
    ) -> anyhow::Result<ReportInputs<T>> {
        self.call("read the history for the report", move |c| {
            report_inputs(c, &data_source_id, &since, each)
        })
        .await
    }
}

fn report_inputs<T>(
    connection: &Connection,
    data_source_id: &str,
    since: &str,
    mut each: impl FnMut(ReportTask) -> Option<T>,
) -> anyhow::Result<ReportInputs<T>> {
    let status_json: Option<String> = connection
        .query_row(
            "SELECT status_json FROM sync_state WHERE data_source_id = ?1",
            [data_source_id],
            |row| row.get(0),
        )
        .optional()?
        .flatten();
    let status_id: Option<String> = status_json
        .as_deref()
        .and_then(|json| serde_json::from_str::<crate::model::PropertySchema>(json).ok())
        .map(|schema| schema.id);
    // Tasks by id, and their changes by task id: one pass merges them (both in the same byte
    // order), holding one task's rows at a time beside the result.
    let mut names = Names::default();
    let mut changes = connection.prepare(
        "SELECT task_id, COALESCE(edited_at, observed_at), property, old_value, new_value
         FROM task_changes WHERE property_id = ?1 OR property = ?2 ORDER BY task_id, id",
    )?;
    let mut changes = changes.query(params![status_id, crate::model::stored::DELETED])?;
    let mut pending = changes.next()?;
    let mut tasks = Vec::new();
    let mut statement = connection.prepare(
        "SELECT id, status, created_time, deleted_at FROM tasks WHERE data_source_id = ?1 ORDER BY id",
    )?;
    let mut rows = statement.query([data_source_id])?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let mut events = Vec::new();
        while let Some(change) = pending {
            let task = change.get_ref(0)?.as_str()?;
            if task > id.as_str() {
                break;
            }
            if task == id {
                let at = change.get_ref(1)?.as_str().ok().and_then(parse_time);
                let property = change.get_ref(2)?.as_str()?;
                let new = names.get(change.get_ref(4)?.as_str_or_null()?);
                if let Some(at) = at {
                    events.push(if property == crate::model::stored::DELETED {
                        match new {
                            Some(_) => ReportEvent::Trashed { at },
                            None => ReportEvent::Restored { at },
                        }
                    } else {
                        let old = names.get(change.get_ref(3)?.as_str_or_null()?);
                        ReportEvent::Status { at, old, new }
                    });
                }
            }
            pending = changes.next()?;
        }
        tasks.extend(each(ReportTask {
            id,
            status: names.get(row.get_ref(1)?.as_str_or_null()?),
            created_time: row.get_ref(2)?.as_str().ok().and_then(parse_time),
            deleted_at: row.get_ref(3)?.as_str_or_null()?.and_then(parse_time),
            events,
        }));
    }
    // Every action of a firing counts: Notion writes (`actions`), mail and webhooks (their
    // outboxes).
    let rules = connection
        .prepare(
            "SELECT f.rule, date(f.fired_at, '-' || ((CAST(strftime('%w', f.fired_at) AS INTEGER) + 6) % 7) || ' days') AS week,
                    count(*),
                    sum((SELECT count(*) FROM actions a WHERE a.firing_id = f.id)
                        + (SELECT count(*) FROM mail_outbox m WHERE m.firing_id = f.id)
                        + (SELECT count(*) FROM webhook_outbox w WHERE w.firing_id = f.id)),
                    sum((SELECT count(*) FROM actions a WHERE a.firing_id = f.id AND a.status = 'failed')
                        + (SELECT count(*) FROM mail_outbox m WHERE m.firing_id = f.id AND m.status = 'failed')
                        + (SELECT count(*) FROM webhook_outbox w WHERE w.firing_id = f.id AND w.status = 'failed'))
             FROM rule_firings f JOIN tasks t ON t.id = f.task_id
             WHERE t.data_source_id = ?1 AND f.fired_at >= ?2
             GROUP BY f.rule, week ORDER BY week, f.rule",
        )?
        .query_map(params![data_source_id, since], |row| {
            Ok(RuleWeek {
                rule: row.get(0)?,
                week: row.get(1)?,
                firings: row.get(2)?,
                actions: row.get(3)?,
                actions_failed: row.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let history_start: Option<String> = connection.query_row(
        "SELECT min(started_at) FROM sync_runs WHERE data_source_id = ?1",
        [data_source_id],
        |row| row.get(0),
    )?;
    Ok(ReportInputs {
        tasks,
        status_json,
        rules,
        history_start: history_start.as_deref().and_then(parse_time),
    })
}

/// Status names, each kept once.
#[derive(Default)]
struct Names(HashSet<Arc<str>>);

impl Names {
    fn get(&mut self, name: Option<&str>) -> Option<Arc<str>> {
        let name = name?;
        if let Some(known) = self.0.get(name) {
            return Some(known.clone());
        }
        let new: Arc<str> = Arc::from(name);
        self.0.insert(new.clone());
        Some(new)
    }
}
