//! What rules name, as the mirror knows it: the workspace's users (emails for mail to people
//! properties), the tasks `set` and `create` values name, and titles for relations in templates.

use std::collections::HashMap;

use rusqlite::{Connection, params};

use super::Store;
use crate::model::ids::NotionId;

impl Store {
    /// The workspace's users the mirror knows, by id (name, email and kind as Notion gave them).
    pub async fn users(&self) -> anyhow::Result<HashMap<String, crate::model::User>> {
        self.call("read the users", |c| users(c)).await
    }

    /// The live tasks each reference names, as (id, title): a page id, a unique ID (`TASK-12`,
    /// or the number alone), else an exact title.
    pub async fn task_references(
        &self,
        references: Vec<String>,
    ) -> anyhow::Result<HashMap<String, Vec<(String, String)>>> {
        self.call("find the tasks rules name", move |c| {
            task_references(c, &references)
        })
        .await
    }

    /// The titles of a data source's tasks by id (deleted ones included: a relation may point
    /// at one).
    pub async fn task_titles(
        &self,
        data_source_id: String,
    ) -> anyhow::Result<HashMap<String, String>> {
        self.call("read the tasks' titles", move |c| {
            let rows = c
                .prepare("SELECT id, title FROM tasks WHERE data_source_id = ?1")?
                .query_map([data_source_id], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }
}

/// The live tasks each reference names: by page id, unique ID, else exact title.
pub(super) fn task_references(
    connection: &Connection,
    references: &[String],
) -> anyhow::Result<HashMap<String, Vec<(String, String)>>> {
    let mut by_id = connection
        .prepare_cached("SELECT id, title FROM tasks WHERE id = ?1 AND deleted_at IS NULL")?;
    let mut by_number = connection.prepare_cached(
        "SELECT id, title FROM tasks t WHERE deleted_at IS NULL AND EXISTS (SELECT 1 FROM json_each(t.properties_json) p
             WHERE json_extract(p.value, '$.type') = 'unique_id' AND json_extract(p.value, '$.value.number') = ?1
             AND (?2 IS NULL OR upper(coalesce(json_extract(p.value, '$.value.prefix'), '')) = upper(?2)))",
    )?;
    let mut by_title = connection
        .prepare_cached("SELECT id, title FROM tasks WHERE title = ?1 AND deleted_at IS NULL")?;
    let pair = |row: &rusqlite::Row<'_>| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?));
    let mut found = HashMap::new();
    for reference in references {
        let text = reference.trim();
        let mut tasks: Vec<(String, String)> = Vec::new();
        if let Ok(id) = NotionId::parse(text) {
            tasks = by_id
                .query_map([id.to_string()], pair)?
                .collect::<Result<_, _>>()?;
        } else if let Some((prefix, number)) = unique_reference(text) {
            tasks = by_number
                .query_map(params![number, prefix], pair)?
                .collect::<Result<_, _>>()?;
        }
        if tasks.is_empty() {
            tasks = by_title
                .query_map([text], pair)?
                .collect::<Result<_, _>>()?;
        }
        found.insert(reference.clone(), tasks);
    }
    Ok(found)
}

/// `TASK-12` as (prefix, number), `12` as (none, number).
fn unique_reference(text: &str) -> Option<(Option<&str>, i64)> {
    let (prefix, digits) = match text.rsplit_once('-') {
        Some((prefix, digits)) if !prefix.is_empty() => (Some(prefix), digits),
        _ => (None, text),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((prefix, digits.parse().ok()?))
}

/// The users the mirror knows, by id.
pub(super) fn users(
    connection: &Connection,
) -> anyhow::Result<HashMap<String, crate::model::User>> {
    let rows = connection
        .prepare("SELECT id, name, email, kind FROM users")?
        .query_map([], |row| {
            let user = crate::model::User {
                id: row.get(0)?,
                name: row.get(1)?,
                email: row.get(2)?,
                kind: row.get(3)?,
            };
            Ok((user.id.clone(), user))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
