//! Notion's webhooks as the mirror keeps them: `notion_events` (each event id once, so a
//! redelivery or a replay starts nothing twice) and `notion_webhook_requests` (per outcome, the
//! last request and a count: what `status` shows).

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::Store;
use crate::model::run::InboundOutcome;

/// How long event ids are kept: Notion retries a delivery up to 8 times over about a day.
const EVENTS_KEPT_DAYS: i64 = 7;
/// The most event ids kept, the oldest forgotten first (about 2 MB of mirror).
const EVENTS_KEPT_MOST: i64 = 20_000;

/// The last request of one outcome, and how many there were.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InboundNote {
    pub outcome: InboundOutcome,
    pub last_at: String,
    /// The event type, or why a request was rejected (never a body or a signature).
    pub detail: Option<String>,
    pub count: i64,
}

impl Store {
    /// Records an event id; `false` when it was seen before (nothing is to be done again).
    /// Ids older than a week are forgotten.
    pub async fn record_event(
        &self,
        event_id: String,
        kind: String,
        entity_id: Option<String>,
    ) -> anyhow::Result<bool> {
        let now = chrono::Utc::now();
        let (at, horizon) = (
            crate::model::time::iso(now),
            crate::model::time::iso(now - chrono::Duration::days(EVENTS_KEPT_DAYS)),
        );
        self.call("record a Notion event", move |c| {
            let transaction = c.transaction()?;
            transaction.execute(
                "DELETE FROM notion_events WHERE received_at < ?1",
                [&horizon],
            )?;
            // Bounded in rows as well as in days, whatever a flood of signed events holds.
            transaction.execute(
                "DELETE FROM notion_events WHERE rowid <= (SELECT max(rowid) FROM notion_events) - ?1",
                [EVENTS_KEPT_MOST],
            )?;
            let inserted = transaction.execute(
                "INSERT OR IGNORE INTO notion_events (event_id, type, entity_id, received_at) VALUES (?1, ?2, ?3, ?4)",
                params![event_id, kind, entity_id, at],
            )?;
            transaction.commit()?;
            Ok(inserted == 1)
        })
        .await
    }

    /// Notes a request to the webhook endpoint by its outcome.
    pub async fn note_webhook_request(
        &self,
        outcome: InboundOutcome,
        detail: Option<String>,
    ) -> anyhow::Result<()> {
        self.note_webhook_requests(outcome, detail, 1).await
    }

    /// Notes `count` requests of one outcome at once (the refused ones are counted in memory
    /// and written at most once a minute).
    pub async fn note_webhook_requests(
        &self,
        outcome: InboundOutcome,
        detail: Option<String>,
        count: u64,
    ) -> anyhow::Result<()> {
        let at = crate::model::time::iso(chrono::Utc::now());
        let count = super::sql_integer(count);
        self.call("note a webhook request", move |c| {
            c.execute(
                "INSERT INTO notion_webhook_requests (outcome, last_at, detail, count) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (outcome) DO UPDATE SET last_at = excluded.last_at, detail = excluded.detail, count = count + excluded.count",
                params![outcome.as_str(), at, detail, count],
            )?;
            Ok(())
        })
        .await
    }

    /// The data source of a task the mirror holds.
    pub async fn data_source_of_task(&self, task_id: String) -> anyhow::Result<Option<String>> {
        self.call("find a task's data source", move |c| {
            Ok(c.query_row(
                "SELECT data_source_id FROM tasks WHERE id = ?1",
                [task_id],
                |row| row.get(0),
            )
            .optional()?)
        })
        .await
    }
}

/// Every outcome the webhook endpoint has seen, for `status`.
pub(super) fn webhook_requests(connection: &Connection) -> anyhow::Result<Vec<InboundNote>> {
    let mut statement = connection.prepare(
        "SELECT outcome, last_at, detail, count FROM notion_webhook_requests ORDER BY last_at DESC",
    )?;
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(outcome, last_at, detail, count)| {
            Some(InboundNote {
                outcome: InboundOutcome::parse(&outcome)?,
                last_at,
                detail,
                count,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{AT, mirror};
    use super::*;

    #[tokio::test]
    async fn an_event_id_counts_once_and_requests_are_noted_by_outcome() {
        let (_dir, store) = mirror();
        let new = |id: &str| store.record_event(id.into(), "page.created".into(), None);
        assert!(new("e1").await.unwrap());
        assert!(!new("e1").await.unwrap(), "a replay is not new");
        assert!(new("e2").await.unwrap());
        store
            .note_webhook_request(InboundOutcome::Rejected, Some("bad signature".into()))
            .await
            .unwrap();
        store
            .note_webhook_request(InboundOutcome::Rejected, Some("no signature".into()))
            .await
            .unwrap();
        let summary = store.summary(AT.into()).await.unwrap();
        let rejected = &summary.notion_webhooks[0];
        assert_eq!(rejected.outcome, InboundOutcome::Rejected);
        assert_eq!(
            (rejected.count, rejected.detail.as_deref()),
            (2, Some("no signature"))
        );
    }
}
