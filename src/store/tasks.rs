//! Tasks and their history: `tasks`, `task_changes`, `sync_state`, `property_names`, `users`.

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::automation::{apply_rule_states, insert_firings};
use super::{Batch, Store, StoredVersion};
use crate::model::automation::Firing;
use crate::model::ids::NotionId;
use crate::model::stored::{Change, DELETED, MirroredTask};

impl Store {
    /// Users' names by id, for showing people by name.
    pub async fn user_names(&self) -> anyhow::Result<HashMap<String, String>> {
        self.call("read the users' names", |c| user_names(c)).await
    }

    /// The data sources this mirror holds: (id, name), oldest first.
    pub async fn mirrored_data_sources(&self) -> anyhow::Result<Vec<(String, String)>> {
        self.call("read which data sources the mirror holds", |c| {
            mirrored_data_sources(c)
        })
        .await
    }

    /// The names `source`'s properties had before a rename, as the mirror remembers them
    /// (former name → current name); none, with a warning, when the mirror cannot say.
    pub async fn former_names(
        &self,
        source: &crate::model::DataSource,
    ) -> BTreeMap<String, String> {
        let (id, schema) = (source.id.to_string(), source.names_by_id());
        match self
            .call("read the properties' former names", move |c| {
                former_names(c, &id, &schema)
            })
            .await
        {
            Ok(names) => names,
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "cannot read the former property names from the mirror");
                BTreeMap::new()
            }
        }
    }

    /// The sync state of a data source.
    pub async fn sync_state(&self, data_source_id: String) -> anyhow::Result<Option<SyncState>> {
        self.call("read the sync state", move |c| {
            sync_state(c, &data_source_id)
        })
        .await
    }

    /// Records the data source and its schema (property id → name); when a property was renamed
    /// (same id, new name), its history follows it: earlier rows take the new name. Every name a
    /// property has had is kept (`property_names`), so a rule naming a former name follows it.
    pub async fn save_source(
        &self,
        data_source_id: String,
        database_id: Option<String>,
        name: String,
        schema: BTreeMap<String, String>,
        renames: Vec<(String, String, String)>,
        now: String,
    ) -> anyhow::Result<()> {
        self.call("record the data source and its schema", move |c| {
            save_source(
                c,
                &data_source_id,
                database_id.as_deref(),
                &name,
                &schema,
                &renames,
                &now,
            )
        })
        .await
    }

    /// Records the data source's status property (options and groups), for the flow report.
    pub async fn save_status_schema(
        &self,
        data_source_id: String,
        status: Option<crate::model::PropertySchema>,
    ) -> anyhow::Result<()> {
        let json = status.map(|s| serde_json::to_string(&s)).transpose()?;
        self.call("record the status property", move |c| {
            c.execute(
                "UPDATE sync_state SET status_json = ?2 WHERE data_source_id = ?1",
                params![data_source_id, json],
            )?;
            Ok(())
        })
        .await
    }

    /// Records the workspace's users (from Notion's users endpoint, or the integration's own bot).
    pub async fn save_users(
        &self,
        users: Vec<crate::model::User>,
        now: String,
    ) -> anyhow::Result<()> {
        self.call("record the workspace's users", move |c| {
            save_users(c, &users, &now)
        })
        .await
    }

    /// What the mirror holds for these task ids.
    pub async fn stored_versions(
        &self,
        ids: Vec<String>,
    ) -> anyhow::Result<HashMap<String, StoredVersion>> {
        self.call("read the stored versions of a page of tasks", move |c| {
            stored_versions(c, &ids)
        })
        .await
    }

    /// Applies one batch in one transaction: task rows, history rows, and the cursor.
    pub async fn apply_batch(&self, batch: Batch) -> anyhow::Result<()> {
        self.call(
            "store a page of tasks with its history and firings",
            move |c| apply_batch(c, &batch),
        )
        .await
    }

    /// The bot user behind the token, as last recorded.
    pub async fn bot_user_id(&self, data_source_id: String) -> anyhow::Result<Option<String>> {
        self.call("read the integration's bot user", move |c| {
            bot_user_id(c, &data_source_id)
        })
        .await
    }

    pub async fn save_bot_user_id(
        &self,
        data_source_id: String,
        bot: String,
    ) -> anyhow::Result<()> {
        self.call("record the integration's bot user", move |c| {
            save_bot_user_id(c, &data_source_id, &bot)
        })
        .await
    }

    /// What a complete scan that saw `seen` (ids as [`NotionId::key`]s) implies against the
    /// mirror: the live tasks it did not see (gone), and the tasks it saw that the mirror has
    /// deleted or lacks (returned). Streams the mirror's ids: no second set of every id.
    pub async fn scan_differences(
        &self,
        data_source_id: String,
        seen: HashSet<u128>,
    ) -> anyhow::Result<(Vec<String>, Vec<NotionId>)> {
        self.call("compare a complete scan with the mirror", move |c| {
            scan_differences(c, &data_source_id, seen)
        })
        .await
    }

    /// Marks tasks deleted (gone from the data source or trashed), each with a history row, and
    /// notes the reconcile; one transaction.
    pub async fn mark_deleted(
        &self,
        data_source_id: String,
        ids: Vec<String>,
        firings: Vec<Firing>,
        now: String,
        run_id: i64,
    ) -> anyhow::Result<()> {
        self.call("record deleted tasks", move |c| {
            mark_deleted(c, &data_source_id, &ids, &firings, &now, run_id)
        })
        .await
    }

    /// Tasks of the mirror for `tasks list --mirror`.
    pub async fn list_tasks(
        &self,
        status: Option<String>,
        include_deleted: bool,
    ) -> anyhow::Result<Vec<MirroredTask>> {
        self.call("list tasks", move |c| {
            list_tasks(c, status.as_deref(), include_deleted)
        })
        .await
    }

    /// The tasks of the mirror with this page id, or this unique ID number when `number` is
    /// given (one per source at most, as each source numbers its own).
    pub async fn find_task(
        &self,
        id: Option<String>,
        number: Option<i64>,
    ) -> anyhow::Result<Vec<MirroredTask>> {
        self.call("find a task", move |c| find_task(c, id.as_deref(), number))
            .await
    }

    /// The data sources the mirror holds of a configured database (its id, or one of its data
    /// sources' ids) and data source (name or id; `None`: any).
    pub async fn data_sources_of(
        &self,
        database: String,
        data_source: Option<String>,
    ) -> anyhow::Result<Vec<String>> {
        self.call("find a source's data source", move |c| {
            let mut statement = c.prepare(
                "SELECT data_source_id FROM sync_state
                 WHERE (database_id = ?1 OR data_source_id = ?1)
                   AND (?2 IS NULL OR name = ?2 OR data_source_id = ?2)",
            )?;
            let ids = statement
                .query_map(params![database, data_source], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(ids)
        })
        .await
    }

    /// Tasks of the mirror by id.
    pub async fn tasks_by_id(&self, ids: Vec<String>) -> anyhow::Result<Vec<MirroredTask>> {
        self.call("read tasks by id", move |c| tasks_by_id(c, &ids))
            .await
    }

    /// Live tasks of a data source (for evaluating time-dependent rules).
    pub async fn live_tasks(&self, data_source_id: String) -> anyhow::Result<Vec<MirroredTask>> {
        self.call("read the live tasks", move |c| {
            live_tasks(c, &data_source_id)
        })
        .await
    }

    /// The change history of a task, oldest first.
    pub async fn history(&self, task_id: String) -> anyhow::Result<Vec<HistoryRow>> {
        self.call("read a task's history", move |c| history(c, &task_id))
            .await
    }
}

/// A change read back from history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryRow {
    pub property: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub observed_at: String,
    pub edited_at: Option<String>,
    /// The user id of who made the change (when Notion says).
    pub edited_by: Option<String>,
    /// Their name, when the mirror's `users` knows it.
    pub edited_by_name: Option<String>,
}

impl HistoryRow {
    /// Who made the change, for people: the name when known, else the user id.
    pub fn by(&self) -> Option<&str> {
        self.edited_by_name.as_deref().or(self.edited_by.as_deref())
    }
}

/// Per data source sync bookkeeping.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SyncState {
    pub data_source_id: String,
    pub database_id: Option<String>,
    pub name: Option<String>,
    pub cursor: Option<String>,
    pub last_sync_at: Option<String>,
    pub last_full_sync_at: Option<String>,
    pub last_reconcile_at: Option<String>,
    /// The property names by id (internal: not part of `status --json`).
    #[serde(skip)]
    pub schema_json: Option<String>,
}

/// The sync state of a data source.
pub(super) fn sync_state(
    connection: &Connection,
    data_source_id: &str,
) -> anyhow::Result<Option<SyncState>> {
    Ok(connection
        .query_row(
            "SELECT data_source_id, database_id, name, cursor, last_sync_at, last_full_sync_at, last_reconcile_at, schema_json
             FROM sync_state WHERE data_source_id = ?1",
            [data_source_id],
            |row| {
                Ok(SyncState {
                    data_source_id: row.get(0)?,
                    database_id: row.get(1)?,
                    name: row.get(2)?,
                    cursor: row.get(3)?,
                    last_sync_at: row.get(4)?,
                    last_full_sync_at: row.get(5)?,
                    last_reconcile_at: row.get(6)?,
                    schema_json: row.get(7)?,
                })
            },
        )
        .optional()?)
}

/// Records the data source and its schema (property id → name); when a property was renamed
/// (same id, new name), its history follows it: earlier rows take the new name. Every name a
/// property has had is kept (`property_names`), so a rule naming a former name follows it.
#[allow(clippy::too_many_arguments)]
pub(super) fn save_source(
    connection: &mut Connection,
    data_source_id: &str,
    database_id: Option<&str>,
    name: &str,
    schema: &BTreeMap<String, String>,
    renames: &[(String, String, String)],
    now: &str,
) -> anyhow::Result<()> {
    let schema_json = serde_json::to_string(schema)?;
    let transaction = connection.transaction()?;
    transaction.execute(
        "INSERT INTO sync_state (data_source_id, database_id, name, schema_json) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (data_source_id) DO UPDATE SET database_id = excluded.database_id, name = excluded.name,
         schema_json = excluded.schema_json",
        params![data_source_id, database_id, name, schema_json],
    )?;
    for (property_id, property_name) in schema {
        transaction.execute(
            "INSERT INTO property_names (data_source_id, name, property_id, seen_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (data_source_id, name) DO UPDATE SET property_id = excluded.property_id, seen_at = excluded.seen_at",
            params![data_source_id, property_name, property_id, now],
        )?;
    }
    for (property_id, old_name, new_name) in renames {
        transaction.execute(
            "UPDATE task_changes SET property = ?1 WHERE property_id = ?2 AND property = ?3
             AND task_id IN (SELECT id FROM tasks WHERE data_source_id = ?4)",
            params![new_name, property_id, old_name, data_source_id],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

/// Names properties had before a rename, for the properties the schema (id → name) still has:
/// former name → current name. A name the schema uses now is never a former one.
pub(super) fn former_names(
    connection: &Connection,
    data_source_id: &str,
    schema: &BTreeMap<String, String>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let current: HashSet<&str> = schema.values().map(String::as_str).collect();
    let mut statement = connection
        .prepare("SELECT name, property_id FROM property_names WHERE data_source_id = ?1")?;
    let mut former = BTreeMap::new();
    for row in statement.query_map([data_source_id], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })? {
        let (name, property_id) = row?;
        if let Some(now_called) = schema.get(&property_id)
            && !current.contains(name.as_str())
        {
            former.insert(name, now_called.clone());
        }
    }
    Ok(former)
}

/// Records the workspace's users (from Notion's users endpoint, or the integration's own bot).
pub(super) fn save_users(
    connection: &mut Connection,
    users: &[crate::model::User],
    now: &str,
) -> anyhow::Result<()> {
    let transaction = connection.transaction()?;
    for user in users {
        transaction.execute(
            "INSERT INTO users (id, name, email, kind, seen_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET name = coalesce(excluded.name, users.name),
             email = coalesce(excluded.email, users.email), kind = coalesce(excluded.kind, users.kind),
             seen_at = excluded.seen_at",
            params![user.id, user.name, user.email, user.kind, now],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

/// Users' names by id, for showing people by name.
pub(super) fn user_names(connection: &Connection) -> anyhow::Result<HashMap<String, String>> {
    let rows = connection
        .prepare("SELECT id, name FROM users WHERE name IS NOT NULL AND name != ''")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// What the mirror holds for these task ids.
pub(super) fn stored_versions(
    connection: &Connection,
    ids: &[String],
) -> anyhow::Result<HashMap<String, StoredVersion>> {
    let mut statement = connection.prepare_cached(
        "SELECT content_hash, last_edited_time, deleted_at, properties_json FROM tasks WHERE id = ?1",
    )?;
    let mut found = HashMap::with_capacity(ids.len());
    for id in ids {
        let version = statement
            .query_row([id], |row| {
                Ok(StoredVersion {
                    content_hash: row.get(0)?,
                    last_edited_time: row.get(1)?,
                    deleted_at: row.get(2)?,
                    properties_json: row.get(3)?,
                })
            })
            .optional()?;
        if let Some(version) = version {
            found.insert(id.clone(), version);
        }
    }
    Ok(found)
}

/// Applies one batch in one transaction: task rows, history rows, and the cursor.
pub(super) fn apply_batch(connection: &mut Connection, batch: &Batch) -> anyhow::Result<()> {
    let transaction = connection.transaction()?;
    upsert_tasks(&transaction, &batch.upserts, &batch.observed_at)?;
    insert_changes(
        &transaction,
        &batch.changes,
        &batch.observed_at,
        batch.run_id,
    )?;
    insert_firings(
        &transaction,
        &batch.firings,
        &batch.observed_at,
        Some(batch.run_id),
    )?;
    apply_rule_states(&transaction, &batch.rule_states, &batch.observed_at)?;
    super::automation::insert_other_writers(
        &transaction,
        &batch.other_writers,
        &batch.observed_at,
    )?;
    if let Some(cursor) = &batch.cursor {
        transaction.execute(
            "UPDATE sync_state SET cursor = ?2 WHERE data_source_id = ?1 AND (cursor IS NULL OR cursor < ?2)",
            params![batch.data_source_id, cursor],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

fn upsert_tasks(
    transaction: &Transaction<'_>,
    rows: &[MirroredTask],
    now: &str,
) -> anyhow::Result<()> {
    let mut statement = transaction.prepare_cached(
        "INSERT INTO tasks (id, data_source_id, title, status, url, created_time, last_edited_time, created_by,
            last_edited_by, deleted_at, properties_json, content_hash, first_seen_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)
         ON CONFLICT (id) DO UPDATE SET data_source_id = excluded.data_source_id, title = excluded.title,
            status = excluded.status, url = excluded.url, created_time = excluded.created_time,
            last_edited_time = excluded.last_edited_time, created_by = excluded.created_by,
            last_edited_by = excluded.last_edited_by, deleted_at = excluded.deleted_at,
            properties_json = excluded.properties_json, content_hash = excluded.content_hash,
            updated_at = excluded.updated_at",
    )?;
    for row in rows {
        statement.execute(params![
            row.id,
            row.data_source_id,
            row.title,
            row.status,
            row.url,
            row.created_time,
            row.last_edited_time,
            row.created_by,
            row.last_edited_by,
            row.deleted_at,
            row.properties_json,
            row.content_hash,
            now,
        ])?;
    }
    Ok(())
}

pub(super) fn insert_changes(
    transaction: &Transaction<'_>,
    changes: &[Change],
    now: &str,
    run_id: i64,
) -> anyhow::Result<()> {
    let mut statement = transaction.prepare_cached(
        "INSERT INTO task_changes (task_id, property, property_id, old_value, new_value, old_json, new_json,
            observed_at, edited_at, edited_by, sync_run_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for change in changes {
        statement.execute(params![
            change.task_id,
            change.property,
            change.property_id,
            change.old_value,
            change.new_value,
            change.old_json,
            change.new_json,
            now,
            change.edited_at,
            change.edited_by,
            run_id,
        ])?;
    }
    Ok(())
}

/// The bot user behind the token, as last recorded.
pub(super) fn bot_user_id(
    connection: &Connection,
    data_source_id: &str,
) -> anyhow::Result<Option<String>> {
    Ok(connection
        .query_row(
            "SELECT bot_user_id FROM sync_state WHERE data_source_id = ?1",
            [data_source_id],
            |row| row.get(0),
        )
        .optional()?
        .flatten())
}

pub(super) fn save_bot_user_id(
    connection: &Connection,
    data_source_id: &str,
    bot: &str,
) -> anyhow::Result<()> {
    connection.execute(
        "INSERT INTO sync_state (data_source_id, bot_user_id) VALUES (?1, ?2)
         ON CONFLICT (data_source_id) DO UPDATE SET bot_user_id = excluded.bot_user_id",
        params![data_source_id, bot],
    )?;
    Ok(())
}

/// The data sources this mirror holds: (id, name), oldest first.
pub(super) fn mirrored_data_sources(
    connection: &Connection,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut statement = connection
        .prepare("SELECT data_source_id, COALESCE(name, '') FROM sync_state ORDER BY rowid")?;
    let rows = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Task ids of a data source in the mirror: (live, deleted).
fn scan_differences(
    connection: &Connection,
    data_source_id: &str,
    mut seen: HashSet<u128>,
) -> anyhow::Result<(Vec<String>, Vec<NotionId>)> {
    let mut statement = connection
        .prepare("SELECT id, deleted_at IS NOT NULL FROM tasks WHERE data_source_id = ?1")?;
    let mut gone = Vec::new();
    let mut returned = Vec::new();
    let mut rows = statement.query([data_source_id])?;
    while let Some(row) = rows.next()? {
        let (id, deleted): (String, bool) = (row.get(0)?, row.get(1)?);
        // An id that is not a Notion id (a row edited by hand) cannot have been seen.
        let key = NotionId::parse(&id).ok().map(|id| id.key());
        // Seen (and taken out of `seen`): returned if the mirror has it deleted.
        match key.filter(|key| seen.remove(key)) {
            Some(key) if deleted => returned.push(NotionId::from_key(key)),
            Some(_) => {}
            None if !deleted => gone.push(id),
            None => {}
        }
    }
    // Seen and not in the mirror at all.
    returned.extend(seen.into_iter().map(NotionId::from_key));
    gone.sort();
    returned.sort();
    Ok((gone, returned))
}

/// Marks tasks deleted (gone from the data source or trashed), each with a history row, and
/// notes the reconcile; one transaction.
pub(super) fn mark_deleted(
    connection: &mut Connection,
    data_source_id: &str,
    ids: &[String],
    firings: &[Firing],
    now: &str,
    run_id: i64,
) -> anyhow::Result<()> {
    let transaction = connection.transaction()?;
    {
        let mut update = transaction.prepare_cached("UPDATE tasks SET deleted_at = ?2, updated_at = ?2 WHERE id = ?1 AND deleted_at IS NULL")?;
        let changes: Vec<Change> = ids
            .iter()
            .map(|id| Change {
                task_id: id.clone(),
                property: DELETED.into(),
                property_id: None,
                old_value: None,
                new_value: Some(now.to_string()),
                old_json: None,
                new_json: None,
                edited_at: None,
                edited_by: None,
            })
            .collect();
        for id in ids {
            update.execute(params![id, now])?;
        }
        insert_changes(&transaction, &changes, now, run_id)?;
        insert_firings(&transaction, firings, now, Some(run_id))?;
        let mut leave = transaction.prepare_cached("DELETE FROM rule_states WHERE task_id = ?1")?;
        for id in ids {
            leave.execute([id])?;
        }
    }
    transaction.execute(
        "UPDATE sync_state SET last_reconcile_at = ?2 WHERE data_source_id = ?1",
        params![data_source_id, now],
    )?;
    transaction.commit()?;
    Ok(())
}

/// Tasks of the mirror for `tasks list --mirror`.
pub(super) fn list_tasks(
    connection: &Connection,
    status: Option<&str>,
    include_deleted: bool,
) -> anyhow::Result<Vec<MirroredTask>> {
    let mut statement = connection.prepare(
        "SELECT id, data_source_id, title, status, url, created_time, last_edited_time, created_by, last_edited_by,
            deleted_at, properties_json, content_hash FROM tasks
         WHERE (?1 IS NULL OR status = ?1 COLLATE NOCASE) AND (?2 OR deleted_at IS NULL)
         ORDER BY created_time DESC, id",
    )?;
    let rows = statement
        .query_map(params![status, include_deleted], task_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub(super) fn task_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MirroredTask> {
    Ok(MirroredTask {
        id: row.get(0)?,
        data_source_id: row.get(1)?,
        title: row.get(2)?,
        status: row.get(3)?,
        url: row.get(4)?,
        created_time: row.get(5)?,
        last_edited_time: row.get(6)?,
        created_by: row.get(7)?,
        last_edited_by: row.get(8)?,
        deleted_at: row.get(9)?,
        properties_json: row.get(10)?,
        content_hash: row.get(11)?,
    })
}

/// One task of the mirror by page id, or by unique ID number when `number` is given.
pub(super) fn find_task(
    connection: &Connection,
    id: Option<&str>,
    number: Option<i64>,
) -> anyhow::Result<Vec<MirroredTask>> {
    let mut statement = connection.prepare(
        "SELECT id, data_source_id, title, status, url, created_time, last_edited_time, created_by, last_edited_by,
            deleted_at, properties_json, content_hash FROM tasks t
         WHERE id = ?1 OR EXISTS (SELECT 1 FROM json_each(t.properties_json) p
             WHERE json_extract(p.value, '$.type') = 'unique_id' AND json_extract(p.value, '$.value.number') = ?2)
         LIMIT 20",
    )?;
    let rows = statement
        .query_map(params![id, number], task_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Tasks of the mirror by id.
pub(super) fn tasks_by_id(
    connection: &Connection,
    ids: &[String],
) -> anyhow::Result<Vec<MirroredTask>> {
    let mut statement = connection.prepare_cached(
        "SELECT id, data_source_id, title, status, url, created_time, last_edited_time, created_by, last_edited_by,
            deleted_at, properties_json, content_hash FROM tasks WHERE id = ?1",
    )?;
    let mut rows = Vec::new();
    for id in ids {
        if let Some(row) = statement.query_row([id], task_row).optional()? {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Live tasks of a data source (for evaluating time-dependent rules).
pub(super) fn live_tasks(
    connection: &Connection,
    data_source_id: &str,
) -> anyhow::Result<Vec<MirroredTask>> {
    let mut statement = connection.prepare(
        "SELECT id, data_source_id, title, status, url, created_time, last_edited_time, created_by, last_edited_by,
            deleted_at, properties_json, content_hash FROM tasks WHERE data_source_id = ?1 AND deleted_at IS NULL ORDER BY id",
    )?;
    let rows = statement
        .query_map([data_source_id], task_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The change history of a task, oldest first.
pub(super) fn history(connection: &Connection, task_id: &str) -> anyhow::Result<Vec<HistoryRow>> {
    let mut statement = connection.prepare(
        "SELECT c.property, c.old_value, c.new_value, c.observed_at, c.edited_at, c.edited_by, u.name
         FROM task_changes c LEFT JOIN users u ON u.id = c.edited_by
         WHERE c.task_id = ?1 ORDER BY c.id",
    )?;
    let rows = statement
        .query_map([task_id], |row| {
            Ok(HistoryRow {
                property: row.get(0)?,
                old_value: row.get(1)?,
                new_value: row.get(2)?,
                observed_at: row.get(3)?,
                edited_at: row.get(4)?,
                edited_by: row.get(5)?,
                edited_by_name: row.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests;
