//! Rules' records and queued actions: `rule_firings`, `actions`, `append_batches`,
//! `rule_states`, `rule_baselines`, `rule_suspensions`; what tasksync wrote besides them
//! (`own_edits`) and what another writer with its token did (`other_writer_edits`).

use std::collections::HashSet;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::Store;
use crate::model::automation::{
    ActionStatus, Firing, FiringStatus, MailStatus, PlannedAction, RuleStateChange,
    idempotency_key, message_id,
};
use crate::model::stored::OtherWriterEdit;

impl Store {
    /// Records which rules are suspended now, as (rule, reason) (`status` shows them); the
    /// rules newly suspended and those running again. `others` are the rules of the other
    /// sources, whose suspensions this set of rules does not decide.
    pub async fn rules_suspended(
        &self,
        suspended: Vec<(String, String)>,
        others: Vec<String>,
    ) -> anyhow::Result<(Vec<String>, Vec<String>)> {
        let now = crate::model::time::iso(chrono::Utc::now());
        self.call("record the suspended rules", move |c| {
            record_suspensions(c, &suspended, &others, &now)
        })
        .await
    }

    /// Which (rule, task) pairs the mirror records as inside a time-dependent condition.
    pub async fn rule_states(
        &self,
        task_ids: Vec<String>,
    ) -> anyhow::Result<HashSet<(String, String)>> {
        self.call("read the time rules' states", move |c| {
            rule_states(c, &task_ids)
        })
        .await
    }

    /// Every recorded (rule, task) state of the given rules.
    pub async fn all_rule_states(&self, rule: String) -> anyhow::Result<HashSet<String>> {
        self.call("read a time rule's states", move |c| {
            all_rule_states(c, &rule)
        })
        .await
    }

    /// When a time-dependent rule was last evaluated over the whole mirror (`None`: never, so its
    /// first evaluation is a baseline that fires nothing).
    pub async fn rule_baseline(
        &self,
        rule: String,
        data_source_id: String,
    ) -> anyhow::Result<Option<String>> {
        self.call("read a time rule's baseline", move |c| {
            rule_baseline(c, &rule, &data_source_id)
        })
        .await
    }

    /// Applies one evaluation of time-dependent rules over the mirror, in one transaction.
    pub async fn apply_time_evaluation(
        &self,
        data_source_id: String,
        rules: Vec<String>,
        firings: Vec<Firing>,
        states: Vec<RuleStateChange>,
        now: String,
        run_id: Option<i64>,
    ) -> anyhow::Result<()> {
        self.call("store an evaluation of time rules", move |c| {
            apply_time_evaluation(c, &data_source_id, &rules, &firings, &states, &now, run_id)
        })
        .await
    }

    /// Property writes tasksync made to these tasks since `since` (our clock), with the chain depth
    /// of the firing that made them: used to recognise our own edits when they come back.
    pub async fn own_writes(
        &self,
        task_id: String,
        since: String,
    ) -> anyhow::Result<Vec<(PlannedAction, i64)>> {
        self.call("read tasksync's own writes to a task", move |c| {
            own_writes(c, &task_id, &since)
        })
        .await
    }

    /// What tasksync itself wrote to a task: the writes of `set` actions that were attempted
    /// (landed or maybe landed), and the edits of `tasks` commands. An edit by our bot that none
    /// of them explains was made by another writer with our token. Not bounded in time: Notion's
    /// clock and ours need not agree (nor the simulator's, moved on by tests).
    pub async fn own_journal(&self, task_id: String) -> anyhow::Result<OwnJournal> {
        self.call("read what tasksync wrote to a task", move |c| {
            own_journal(c, &task_id)
        })
        .await
    }

    /// Whether page `page_id` may be one a create action of ours made: recorded as created, or
    /// a create action's outcome is still unknown (`running`: interrupted, not yet retried).
    pub async fn created_by_us(&self, page_id: String) -> anyhow::Result<bool> {
        self.call("read tasksync's creates", move |c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM own_edits WHERE task_id = ?1 AND property_id = ?2)
                     OR EXISTS (SELECT 1 FROM actions WHERE kind = 'create' AND status = 'running')",
                params![page_id, crate::model::stored::CREATED],
                |row| row.get(0),
            )?)
        })
        .await
    }

    /// Records, before it is sent, a write a `tasks` command makes (durable: the write follows).
    pub async fn record_own_edit(
        &self,
        task_id: String,
        property_id: String,
        value: Option<String>,
        via: &'static str,
        now: String,
    ) -> anyhow::Result<()> {
        self.call_durable("record a write of a tasks command", move |c| {
            c.execute(
                "INSERT INTO own_edits (task_id, property_id, value, via, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![task_id, property_id, value, via, now],
            )?;
            Ok(())
        })
        .await
    }

    /// Actions waiting to be performed (or interrupted mid-way), oldest first.
    pub async fn queued_actions(&self, limit: usize) -> anyhow::Result<Vec<QueuedAction>> {
        self.call("read the queued actions", move |c| queued_actions(c, limit))
            .await
    }

    /// Marks an action as being attempted (committed before Notion is called).
    pub async fn start_action(&self, id: i64, now: String) -> anyhow::Result<()> {
        self.call_durable("mark an action running", move |c| start_action(c, id, &now))
            .await
    }

    /// The record of batch `batch` of append action `action_id`, if it was started.
    pub async fn append_batch(
        &self,
        action_id: i64,
        batch: usize,
    ) -> anyhow::Result<Option<AppendBatchRow>> {
        self.call("read an append's batch record", move |c| {
            append_batch(c, action_id, batch)
        })
        .await
    }

    /// Records, before it is sent, the block batch `batch` goes after (its own transaction).
    pub async fn start_append_batch(
        &self,
        action_id: i64,
        batch: usize,
        anchor: Option<String>,
        now: String,
    ) -> anyhow::Result<()> {
        self.call_durable("record an append batch's anchor", move |c| {
            start_append_batch(c, action_id, batch, anchor.as_deref(), &now)
        })
        .await
    }

    /// Records the blocks Notion created for batch `batch` (its own transaction).
    pub async fn land_append_batch(
        &self,
        action_id: i64,
        batch: usize,
        block_ids: Vec<String>,
        now: String,
    ) -> anyhow::Result<()> {
        self.call("record an append batch's blocks", move |c| {
            land_append_batch(c, action_id, batch, &block_ids, &now)
        })
        .await
    }

    /// Records an action's outcome: `done`, `skipped`, `failed`, or `pending` again (to retry).
    pub async fn finish_action(
        &self,
        id: i64,
        status: ActionStatus,
        error: Option<String>,
        now: String,
    ) -> anyhow::Result<()> {
        self.call("record an action's outcome", move |c| {
            finish_action(c, id, status, error.as_deref(), &now)
        })
        .await
    }

    /// The rules that fired on a task, oldest first.
    pub async fn firings_of(&self, task_id: String) -> anyhow::Result<Vec<FiringRecord>> {
        self.call("read a task's firings", move |c| firings_of(c, &task_id))
            .await
    }
}

/// A rule suspended because it does not fit the data source's schema as it is now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SuspendedRule {
    pub rule: String,
    pub reason: String,
    /// When it was first found suspended (it stays so until the schema or the rule changes).
    pub since: String,
}

/// Replaces the suspended rules with `suspended` (rule, reason); a rule suspended before keeps
/// its `since`. Returns the rules newly suspended and those no longer suspended.
pub(super) fn record_suspensions(
    connection: &mut Connection,
    suspended: &[(String, String)],
    others: &[String],
    now: &str,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let transaction = connection.transaction()?;
    let before: Vec<String> = transaction
        .prepare("SELECT rule FROM rule_suspensions ORDER BY rule")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let wanted: HashSet<&str> = suspended.iter().map(|(rule, _)| rule.as_str()).collect();
    let resumed: Vec<String> = before
        .iter()
        .filter(|rule| !wanted.contains(rule.as_str()) && !others.contains(rule))
        .cloned()
        .collect();
    for rule in &resumed {
        transaction.execute("DELETE FROM rule_suspensions WHERE rule = ?1", [rule])?;
    }
    let mut new = Vec::new();
    for (rule, reason) in suspended {
        if !before.contains(rule) {
            new.push(rule.clone());
        }
        transaction.execute(
            "INSERT INTO rule_suspensions (rule, reason, since) VALUES (?1, ?2, ?3)
             ON CONFLICT (rule) DO UPDATE SET reason = excluded.reason",
            params![rule, reason, now],
        )?;
    }
    transaction.commit()?;
    Ok((new, resumed))
}

/// The suspended rules, by name.
pub(super) fn suspended_rules(connection: &Connection) -> anyhow::Result<Vec<SuspendedRule>> {
    let rows = connection
        .prepare("SELECT rule, reason, since FROM rule_suspensions ORDER BY rule")?
        .query_map([], |row| {
            Ok(SuspendedRule {
                rule: row.get(0)?,
                reason: row.get(1)?,
                since: row.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Records firings (a transition already recorded is skipped: exactly once) and queues their
/// actions: Notion writes in `actions`, mail in `mail_outbox`.
pub(super) fn insert_firings(
    transaction: &Transaction<'_>,
    firings: &[Firing],
    now: &str,
    run_id: Option<i64>,
) -> anyhow::Result<()> {
    let mut firing = transaction.prepare_cached(
        "INSERT INTO rule_firings (rule, task_id, transition, status, reason, chain_depth, fired_at, sync_run_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (rule, task_id, transition) DO NOTHING RETURNING id",
    )?;
    let mut action = transaction.prepare_cached(
        "INSERT INTO actions (firing_id, task_id, kind, payload_json, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?;
    let mut mail = transaction.prepare_cached(
        "INSERT INTO mail_outbox (firing_id, task_id, message_id, to_json, cc_json, subject, body_text, body_html, created_at, skipped_json, status, last_error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for new in firings {
        let id: Option<i64> = firing
            .query_row(
                params![
                    new.rule,
                    new.task_id,
                    new.transition,
                    new.status.as_str(),
                    new.reason,
                    new.chain_depth,
                    now,
                    run_id
                ],
                |row| row.get(0),
            )
            .optional()?;
        let Some(firing_id) = id else {
            continue;
        };
        for (index, planned) in new.actions.iter().enumerate() {
            match planned {
                PlannedAction::Mail {
                    to,
                    cc,
                    skipped,
                    subject,
                    body,
                    html,
                } => {
                    let message_id = message_id(&new.rule, &new.task_id, &new.transition, index);
                    // A mail for no one is recorded as skipped, with who it could not reach.
                    let (status, why) = if to.is_empty() && cc.is_empty() {
                        let why = if skipped.is_empty() {
                            "no one to send to: the people properties it mails are empty"
                                .to_string()
                        } else {
                            format!("no one to send to: {}", skipped.join("; "))
                        };
                        (MailStatus::Skipped, Some(why))
                    } else {
                        (MailStatus::Queued, None)
                    };
                    mail.execute(params![
                        firing_id,
                        new.task_id,
                        message_id,
                        serde_json::to_string(to)?,
                        serde_json::to_string(cc)?,
                        subject,
                        body,
                        html,
                        now,
                        serde_json::to_string(skipped)?,
                        status.as_str(),
                        why,
                    ])?;
                }
                PlannedAction::Webhook {
                    target,
                    content_type,
                    body,
                } => {
                    let key = idempotency_key(&new.rule, &new.task_id, &new.transition, index);
                    super::hooks::queue_webhook(
                        transaction,
                        super::hooks::NewWebhook {
                            firing_id,
                            task_id: &new.task_id,
                            key: &key,
                            target,
                            content_type,
                            body,
                            now,
                        },
                    )?;
                }
                other => {
                    action.execute(params![
                        firing_id,
                        new.task_id,
                        other.kind(),
                        serde_json::to_string(other)?,
                        now
                    ])?;
                }
            }
        }
    }
    Ok(())
}

pub(super) fn apply_rule_states(
    transaction: &Transaction<'_>,
    changes: &[RuleStateChange],
    now: &str,
) -> anyhow::Result<()> {
    let mut enter = transaction.prepare_cached(
        "INSERT OR IGNORE INTO rule_states (rule, task_id, since) VALUES (?1, ?2, ?3)",
    )?;
    let mut leave =
        transaction.prepare_cached("DELETE FROM rule_states WHERE rule = ?1 AND task_id = ?2")?;
    for change in changes {
        if change.inside {
            enter.execute(params![change.rule, change.task_id, now])?;
        } else {
            leave.execute(params![change.rule, change.task_id])?;
        }
    }
    Ok(())
}

/// Which (rule, task) pairs the mirror records as inside a time-dependent condition.
pub(super) fn rule_states(
    connection: &Connection,
    task_ids: &[String],
) -> anyhow::Result<HashSet<(String, String)>> {
    let mut statement =
        connection.prepare_cached("SELECT rule FROM rule_states WHERE task_id = ?1")?;
    let mut inside = HashSet::new();
    for id in task_ids {
        for rule in statement.query_map([id], |row| row.get::<_, String>(0))? {
            inside.insert((rule?, id.clone()));
        }
    }
    Ok(inside)
}

/// Every recorded (rule, task) state of the given rules.
pub(super) fn all_rule_states(
    connection: &Connection,
    rule: &str,
) -> anyhow::Result<HashSet<String>> {
    let mut statement = connection.prepare("SELECT task_id FROM rule_states WHERE rule = ?1")?;
    let ids = statement
        .query_map([rule], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// When a time-dependent rule was last evaluated over the whole mirror (`None`: never, so its
/// first evaluation is a baseline that fires nothing).
pub(super) fn rule_baseline(
    connection: &Connection,
    rule: &str,
    data_source_id: &str,
) -> anyhow::Result<Option<String>> {
    Ok(connection
        .query_row(
            "SELECT evaluated_at FROM rule_baselines WHERE rule = ?1 AND data_source_id = ?2",
            params![rule, data_source_id],
            |row| row.get(0),
        )
        .optional()?)
}

/// Applies one evaluation of time-dependent rules over the mirror, in one transaction.
pub(super) fn apply_time_evaluation(
    connection: &mut Connection,
    data_source_id: &str,
    rules: &[String],
    firings: &[Firing],
    states: &[RuleStateChange],
    now: &str,
    run_id: Option<i64>,
) -> anyhow::Result<()> {
    let transaction = connection.transaction()?;
    insert_firings(&transaction, firings, now, run_id)?;
    apply_rule_states(&transaction, states, now)?;
    for rule in rules {
        transaction.execute(
            "INSERT INTO rule_baselines (rule, data_source_id, evaluated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (rule, data_source_id) DO UPDATE SET evaluated_at = excluded.evaluated_at",
            params![rule, data_source_id, now],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

/// Property writes tasksync made to these tasks since `since` (our clock), with the chain depth
/// of the firing that made them: used to recognise our own edits when they come back.
pub(super) fn own_writes(
    connection: &Connection,
    task_id: &str,
    since: &str,
) -> anyhow::Result<Vec<(PlannedAction, i64)>> {
    let mut statement = connection.prepare_cached(
        "SELECT a.payload_json, f.chain_depth FROM actions a JOIN rule_firings f ON f.id = a.firing_id
         WHERE a.task_id = ?1 AND a.kind = 'set' AND a.status = 'done' AND a.done_at >= ?2",
    )?;
    let rows = statement
        .query_map(params![task_id, since], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(payload, depth)| {
            serde_json::from_str(&payload)
                .ok()
                .map(|action| (action, depth))
        })
        .collect())
}

/// What tasksync itself wrote to one task lately (see [`Store::own_journal`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OwnJournal {
    /// `set` actions attempted, with the chain depth of their firing.
    pub actions: Vec<(PlannedAction, i64)>,
    /// Writes of `tasks` commands: property id and value.
    pub edits: Vec<(String, Option<String>)>,
}

pub(super) fn own_journal(connection: &Connection, task_id: &str) -> anyhow::Result<OwnJournal> {
    let mut statement = connection.prepare_cached(
        "SELECT a.payload_json, f.chain_depth FROM actions a JOIN rule_firings f ON f.id = a.firing_id
         WHERE a.task_id = ?1 AND a.kind = 'set' AND a.attempts > 0",
    )?;
    let actions = statement
        .query_map(params![task_id], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter_map(|(payload, depth)| {
            serde_json::from_str(&payload)
                .ok()
                .map(|action| (action, depth))
        })
        .collect();
    let mut statement =
        connection.prepare_cached("SELECT property_id, value FROM own_edits WHERE task_id = ?1")?;
    let edits = statement
        .query_map(params![task_id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OwnJournal { actions, edits })
}

/// Records the edits of another writer a batch found (once per task and edit time).
pub(super) fn insert_other_writers(
    transaction: &Transaction<'_>,
    edits: &[OtherWriterEdit],
    now: &str,
) -> anyhow::Result<()> {
    let mut statement = transaction.prepare_cached(
        "INSERT OR IGNORE INTO other_writer_edits (task_id, edited_at, data_source_id, task, properties, detected_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for edit in edits {
        let detected = if edit.detected_at.is_empty() {
            now
        } else {
            edit.detected_at.as_str()
        };
        statement.execute(params![
            edit.task_id,
            edit.edited_at,
            edit.data_source_id,
            edit.task,
            edit.properties.join(", "),
            detected
        ])?;
    }
    Ok(())
}

/// The latest edits of another writer, newest first (at most `limit`).
pub(super) fn other_writers(
    connection: &Connection,
    limit: usize,
) -> anyhow::Result<Vec<OtherWriterEdit>> {
    let mut statement = connection.prepare_cached(
        "SELECT task_id, data_source_id, task, edited_at, properties, detected_at FROM other_writer_edits
         ORDER BY detected_at DESC, edited_at DESC LIMIT ?1",
    )?;
    let rows = statement
        .query_map([super::sql_integer(limit)], |row| {
            let properties: String = row.get(4)?;
            Ok(OtherWriterEdit {
                task_id: row.get(0)?,
                data_source_id: row.get(1)?,
                task: row.get(2)?,
                edited_at: row.get(3)?,
                properties: properties.split(", ").map(str::to_string).collect(),
                detected_at: row.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A queued action to perform.
#[derive(Clone, Debug, PartialEq)]
pub struct QueuedAction {
    pub id: i64,
    pub task_id: String,
    /// What people call the task, for logs: `TASK-12 "title"` (its page id without a unique ID).
    pub task: String,
    pub rule: String,
    pub action: PlannedAction,
    /// Attempts before this one: more than zero means an earlier attempt may have landed.
    pub attempts: i64,
    /// When the firing queued it.
    pub created_at: String,
}

/// Actions waiting to be performed (or interrupted mid-way), oldest first.
pub(super) fn queued_actions(
    connection: &Connection,
    limit: usize,
) -> anyhow::Result<Vec<QueuedAction>> {
    let mut statement = connection.prepare(
        "SELECT a.id, a.task_id, f.rule, a.payload_json, a.attempts, t.title, t.properties_json, a.created_at
         FROM actions a JOIN rule_firings f ON f.id = a.firing_id LEFT JOIN tasks t ON t.id = a.task_id
         WHERE a.status IN ('pending', 'running') ORDER BY a.id LIMIT ?1",
    )?;
    let rows = statement
        .query_map([super::sql_integer(limit)], |row| {
            Ok((
                (
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, i64>(4)?,
                ),
                (
                    row.get::<_, Option<String>>(5)?,
                    row.get::<_, Option<String>>(6)?,
                    row.get::<_, String>(7)?,
                ),
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(
            |((id, task_id, rule, payload, attempts), (title, properties, created_at))| {
                let action = serde_json::from_str(&payload)
                    .with_context(|| format!("action {id} has an unreadable payload"))?;
                let unique = properties
                    .and_then(|json| serde_json::from_str(&json).ok())
                    .and_then(|properties| crate::model::stored::unique_id(&properties));
                let task = format!(
                    "{} \"{}\"",
                    unique.unwrap_or_else(|| task_id.clone()),
                    title.unwrap_or_default()
                );
                Ok(QueuedAction {
                    id,
                    task_id,
                    task,
                    rule,
                    action,
                    attempts,
                    created_at,
                })
            },
        )
        .collect()
}

/// Marks an action as being attempted (committed before Notion is called).
pub(super) fn start_action(connection: &Connection, id: i64, now: &str) -> anyhow::Result<()> {
    connection.execute("UPDATE actions SET status = 'running', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1", params![id, now])?;
    Ok(())
}

/// What is recorded of one batch of an append: the anchor it was sent after, and the ids of
/// the blocks it created once Notion accepted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendBatchRow {
    pub anchor: Option<String>,
    pub block_ids: Option<Vec<String>>,
}

/// The record of batch `batch` of append action `action_id`, if it was started.
pub(super) fn append_batch(
    connection: &Connection,
    action_id: i64,
    batch: usize,
) -> anyhow::Result<Option<AppendBatchRow>> {
    let row = connection
        .query_row(
            "SELECT anchor, block_ids_json FROM append_batches WHERE action_id = ?1 AND batch = ?2",
            params![action_id, super::sql_integer(batch)],
            |row| {
                Ok((
                    row.get::<_, Option<String>>(0)?,
                    row.get::<_, Option<String>>(1)?,
                ))
            },
        )
        .optional()
        .with_context(|| format!("cannot read batch {batch} of action {action_id}"))?;
    row.map(|(anchor, ids)| {
        let block_ids = ids
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .with_context(|| {
                format!("batch {batch} of action {action_id} has unreadable block ids")
            })?;
        Ok(AppendBatchRow { anchor, block_ids })
    })
    .transpose()
}

/// Records, before it is sent, the block batch `batch` goes after (its own transaction).
pub(super) fn start_append_batch(
    connection: &Connection,
    action_id: i64,
    batch: usize,
    anchor: Option<&str>,
    now: &str,
) -> anyhow::Result<()> {
    connection
        .execute(
            "INSERT INTO append_batches (action_id, batch, anchor, started_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (action_id, batch) DO UPDATE SET anchor = excluded.anchor, started_at = excluded.started_at",
            params![action_id, super::sql_integer(batch), anchor, now],
        )
        .with_context(|| format!("cannot record batch {batch} of action {action_id}"))?;
    Ok(())
}

/// Records the blocks Notion created for batch `batch` (its own transaction).
pub(super) fn land_append_batch(
    connection: &Connection,
    action_id: i64,
    batch: usize,
    block_ids: &[String],
    now: &str,
) -> anyhow::Result<()> {
    let ids = serde_json::to_string(block_ids)?;
    connection
        .execute(
            "UPDATE append_batches SET block_ids_json = ?3, landed_at = ?4 WHERE action_id = ?1 AND batch = ?2",
            params![action_id, super::sql_integer(batch), ids, now],
        )
        .with_context(|| format!("cannot record the blocks of batch {batch} of action {action_id}"))?;
    Ok(())
}

/// Records an action's outcome: `done`, `skipped`, `failed`, or `pending` again (to retry).
pub(super) fn finish_action(
    connection: &Connection,
    id: i64,
    status: ActionStatus,
    error: Option<&str>,
    now: &str,
) -> anyhow::Result<()> {
    let done_at = status.is_done().then_some(now);
    connection.execute(
        "UPDATE actions SET status = ?2, last_error = ?3, updated_at = ?4, done_at = COALESCE(?5, done_at) WHERE id = ?1",
        params![id, status.as_str(), error, now, done_at],
    )?;
    Ok(())
}

/// A recorded rule firing, for `tasks show --mirror`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FiringRecord {
    pub rule: String,
    pub transition: String,
    pub status: FiringStatus,
    pub reason: Option<String>,
    pub fired_at: String,
}

/// The rules that fired on a task, oldest first.
pub(super) fn firings_of(
    connection: &Connection,
    task_id: &str,
) -> anyhow::Result<Vec<FiringRecord>> {
    let mut statement = connection.prepare(
        "SELECT rule, transition, status, reason, fired_at FROM rule_firings WHERE task_id = ?1 ORDER BY id",
    )?;
    let rows = statement
        .query_map([task_id], |row| {
            Ok(FiringRecord {
                rule: row.get(0)?,
                transition: row.get(1)?,
                status: super::stored_status(row, 2, FiringStatus::parse)?,
                reason: row.get(3)?,
                fired_at: row.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests;
