//! What the flow report reads: each task's creation and status changes, its stays in the trash,
//! the status property as the last sync saw it, and the rules' firings per week. Read-only.

use rusqlite::{Connection, OptionalExtension, params};

use super::Store;

/// A task as the report needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportTask {
    pub id: String,
    pub status: Option<String>,
    pub created_time: String,
    pub deleted_at: Option<String>,
}

/// A change of a task's status or trash state, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportEvent {
    Status {
        task: String,
        at: String,
        old: Option<String>,
        new: Option<String>,
    },
    Trashed {
        task: String,
        at: String,
    },
    Restored {
        task: String,
        at: String,
    },
}

/// One rule's activity in one week (weeks by their Monday, UTC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleWeek {
    pub rule: String,
    pub week: String,
    pub firings: i64,
    pub actions_failed: i64,
}

/// Everything the report reads of one data source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportInputs {
    pub tasks: Vec<ReportTask>,
    pub events: Vec<ReportEvent>,
    /// The status property (`PropertySchema` as JSON), if a sync saved it.
    pub status_json: Option<String>,
    pub rules: Vec<RuleWeek>,
}

impl Store {
    /// The report's inputs for one data source, firings since `since`.
    pub async fn report_inputs(
        &self,
        data_source_id: String,
        since: String,
    ) -> anyhow::Result<ReportInputs> {
        self.call("read the history for the report", move |c| {
            report_inputs(c, &data_source_id, &since)
        })
        .await
    }
}

fn report_inputs(
    connection: &Connection,
    data_source_id: &str,
    since: &str,
) -> anyhow::Result<ReportInputs> {
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
    let tasks = connection
        .prepare(
            "SELECT id, status, created_time, deleted_at FROM tasks WHERE data_source_id = ?1 ORDER BY created_time, id",
        )?
        .query_map([data_source_id], |row| {
            Ok(ReportTask {
                id: row.get(0)?,
                status: row.get(1)?,
                created_time: row.get(2)?,
                deleted_at: row.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let events = connection
        .prepare(
            "SELECT c.task_id, COALESCE(c.edited_at, c.observed_at), c.property, c.old_value, c.new_value
             FROM task_changes c JOIN tasks t ON t.id = c.task_id
             WHERE t.data_source_id = ?1 AND (c.property_id = ?2 OR c.property = ?3)
             ORDER BY c.task_id, c.id",
        )?
        .query_map(
            params![data_source_id, status_id, crate::model::stored::DELETED],
            |row| {
                let (task, at, property): (String, String, String) =
                    (row.get(0)?, row.get(1)?, row.get(2)?);
                let (old, new): (Option<String>, Option<String>) = (row.get(3)?, row.get(4)?);
                Ok(if property == crate::model::stored::DELETED {
                    match new {
                        Some(_) => ReportEvent::Trashed { task, at },
                        None => ReportEvent::Restored { task, at },
                    }
                } else {
                    ReportEvent::Status { task, at, old, new }
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    let rules = connection
        .prepare(
            "SELECT f.rule, date(f.fired_at, '-' || ((CAST(strftime('%w', f.fired_at) AS INTEGER) + 6) % 7) || ' days') AS week,
                    count(DISTINCT f.id),
                    count(a.id) FILTER (WHERE a.status = 'failed')
             FROM rule_firings f JOIN tasks t ON t.id = f.task_id
             LEFT JOIN actions a ON a.firing_id = f.id
             WHERE t.data_source_id = ?1 AND f.fired_at >= ?2
             GROUP BY f.rule, week ORDER BY week, f.rule",
        )?
        .query_map(params![data_source_id, since], |row| {
            Ok(RuleWeek {
                rule: row.get(0)?,
                week: row.get(1)?,
                firings: row.get(2)?,
                actions_failed: row.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ReportInputs {
        tasks,
        events,
        status_json,
        rules,
    })
}
