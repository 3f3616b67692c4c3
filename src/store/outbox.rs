//! The mail outbox: `mail_outbox`, queued in the firing's transaction, sent once.

use anyhow::Context;
use rusqlite::{Connection, params};
use serde::Serialize;

use super::Store;
use crate::model::automation::MailStatus;

impl Store {
    /// Mail to send now: queued and due, or caught mid-send by a crash.
    pub async fn due_mail(&self, now: String, limit: usize) -> anyhow::Result<Vec<OutboxMail>> {
        self.call("read the mail due", move |c| due_mail(c, &now, limit))
            .await
    }

    /// Marks a mail as being sent (committed before the server is contacted).
    pub async fn start_mail(&self, id: i64) -> anyhow::Result<()> {
        self.call_durable("mark a mail sending", move |c| start_mail(c, id))
            .await
    }

    /// Records a send's outcome: `sent` (with the server's reply), `queued` again (with the next
    /// attempt time and the error) or `failed` (with the error).
    pub async fn finish_mail(
        &self,
        id: i64,
        status: MailStatus,
        note: String,
        next_attempt_at: Option<String>,
        now: String,
    ) -> anyhow::Result<()> {
        self.call("record a mail's outcome", move |c| {
            finish_mail(c, id, status, &note, next_attempt_at.as_deref(), &now)
        })
        .await
    }

    /// The outbox, newest first.
    pub async fn list_mail(&self, failed_only: bool) -> anyhow::Result<Vec<OutboxEntry>> {
        let which = if failed_only {
            MailList::Failed
        } else {
            MailList::All
        };
        self.call("list the outbox", move |c| list_mail(c, which))
            .await
    }

    /// Makes mail due now (one by id, or all): failed mail queued again, queued mail no longer
    /// waiting out its backoff; how many.
    pub async fn retry_mail(&self, id: Option<i64>) -> anyhow::Result<usize> {
        self.call("queue failed mail again", move |c| retry_mail(c, id))
            .await
    }
}

/// A mail of the outbox, to send.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxMail {
    pub id: i64,
    pub message_id: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    /// Attempts before this one.
    pub attempts: i64,
}

/// A mail of the outbox as `mail list` shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub task_id: Option<String>,
    /// The rule whose firing queued it (none for a test mail).
    pub rule: Option<String>,
    pub message_id: String,
    pub to: Vec<String>,
    pub subject: String,
    pub status: MailStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub server_reply: Option<String>,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    /// People it was for who could not be mailed, with why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// Mail to send now: queued and due, or caught mid-send by a crash.
pub(super) fn due_mail(
    connection: &Connection,
    now: &str,
    limit: usize,
) -> anyhow::Result<Vec<OutboxMail>> {
    let mut statement = connection.prepare(
        "SELECT id, message_id, to_json, cc_json, subject, body_text, body_html, attempts FROM mail_outbox
         WHERE status IN ('queued', 'sending') AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
         ORDER BY id LIMIT ?2",
    )?;
    let mut rows = statement.query(params![now, super::sql_integer(limit)])?;
    let mut mails = Vec::new();
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let to: String = row.get(2)?;
        let cc: String = row.get(3)?;
        mails.push(OutboxMail {
            id,
            message_id: row.get(1)?,
            to: serde_json::from_str(&to)
                .with_context(|| format!("mail {id} has unreadable recipients"))?,
            cc: serde_json::from_str(&cc).unwrap_or_default(),
            subject: row.get(4)?,
            body_text: row.get(5)?,
            body_html: row.get(6)?,
            attempts: row.get(7)?,
        });
    }
    Ok(mails)
}

/// Marks a mail as being sent (committed before the server is contacted).
pub(super) fn start_mail(connection: &Connection, id: i64) -> anyhow::Result<()> {
    connection.execute(
        "UPDATE mail_outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

/// Records a send's outcome: `sent` (with the server's reply), `queued` again (with the next
/// attempt time and the error) or `failed` (with the error).
pub(super) fn finish_mail(
    connection: &Connection,
    id: i64,
    status: MailStatus,
    note: &str,
    next_attempt_at: Option<&str>,
    now: &str,
) -> anyhow::Result<()> {
    if status == MailStatus::Sent {
        connection.execute(
            "UPDATE mail_outbox SET status = 'sent', server_reply = ?2, sent_at = ?3, next_attempt_at = NULL WHERE id = ?1",
            params![id, note, now],
        )?;
    } else {
        connection.execute(
            "UPDATE mail_outbox SET status = ?2, last_error = ?3, next_attempt_at = ?4 WHERE id = ?1",
            params![id, status.as_str(), note, next_attempt_at],
        )?;
    }
    Ok(())
}

/// Which mail a listing shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MailList {
    All,
    Failed,
    /// Mail that could not reach someone it was for (skipped, or sent to the others).
    SkippedSomeone,
    /// Mail not delivered yet whose last attempt failed (the server down, a 4xx): retrying.
    Retrying,
}

/// The outbox, newest first.
pub(super) fn list_mail(
    connection: &Connection,
    which: MailList,
) -> anyhow::Result<Vec<OutboxEntry>> {
    let filter = match which {
        MailList::All => "1",
        MailList::Failed => "status = 'failed'",
        MailList::SkippedSomeone => "skipped_json != '[]' OR status = 'skipped'",
        MailList::Retrying => "status IN ('queued', 'sending') AND last_error IS NOT NULL",
    };
    let mut statement = connection.prepare(&format!(
        "SELECT id, task_id, message_id, to_json, subject, status, attempts, last_error, server_reply, next_attempt_at,
            created_at, sent_at, skipped_json,
            (SELECT rule FROM rule_firings f WHERE f.id = mail_outbox.firing_id)
         FROM mail_outbox WHERE {filter} ORDER BY id DESC"
    ))?;
    let rows = statement
        .query_map([], |row| {
            Ok(OutboxEntry {
                id: row.get(0)?,
                task_id: row.get(1)?,
                message_id: row.get(2)?,
                to: serde_json::from_str(&row.get::<_, String>(3)?).unwrap_or_default(),
                subject: row.get(4)?,
                status: super::stored_status(row, 5, MailStatus::parse)?,
                attempts: row.get(6)?,
                last_error: row.get(7)?,
                server_reply: row.get(8)?,
                next_attempt_at: row.get(9)?,
                created_at: row.get(10)?,
                sent_at: row.get(11)?,
                skipped: serde_json::from_str(&row.get::<_, String>(12)?).unwrap_or_default(),
                rule: row.get(13)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Makes mail due now (one by id, or all): failed mail is queued again, queued mail waiting out
/// its backoff is due at once; how many.
pub(super) fn retry_mail(connection: &Connection, id: Option<i64>) -> anyhow::Result<usize> {
    Ok(connection.execute(
        "UPDATE mail_outbox SET status = 'queued', next_attempt_at = NULL
         WHERE status IN ('failed', 'queued') AND (?1 IS NULL OR id = ?1)",
        [id],
    )?)
}

/// When the oldest mail not delivered yet (queued or sending) was queued.
pub(super) fn oldest_undelivered(connection: &Connection) -> anyhow::Result<Option<String>> {
    Ok(connection.query_row(
        "SELECT min(created_at) FROM mail_outbox WHERE status IN ('queued', 'sending')",
        [],
        |row| row.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{AT, batch, mirror, task, with_source};
    use super::*;
    use crate::model::automation::{Firing, FiringStatus, PlannedAction};

    const A: &str = "11111111-1111-1111-1111-111111111111";

    /// A mirror with one queued mail (from a firing of rule `r`).
    async fn queued() -> (tempfile::TempDir, Store) {
        let (dir, store) = mirror();
        with_source(&store).await;
        let mut first = batch();
        first.upserts = vec![task(A, 1)];
        first.firings = vec![Firing {
            rule: "r".into(),
            task_id: A.into(),
            transition: "t1".into(),
            status: FiringStatus::Fired,
            reason: None,
            chain_depth: 0,
            actions: vec![PlannedAction::Mail {
                to: vec!["ada@example.com".into()],
                cc: Vec::new(),
                skipped: Vec::new(),
                subject: "Urgent".into(),
                body: "Body".into(),
                html: None,
            }],
        }];
        store.apply_batch(first).await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn a_mail_goes_from_queued_to_sending_to_sent_with_the_reply() {
        let (_dir, store) = queued().await;
        let due = store.due_mail(AT.into(), 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].to, ["ada@example.com"]);
        assert!(due[0].message_id.starts_with("<tasksync."));
        store.start_mail(due[0].id).await.unwrap();
        let listed = store.list_mail(false).await.unwrap();
        assert_eq!(listed[0].status, MailStatus::Sending);
        assert_eq!(listed[0].attempts, 1);
        // Caught mid-send by a crash, it is due again (with the same Message-ID).
        let again = store.due_mail(AT.into(), 10).await.unwrap();
        assert_eq!(again[0].message_id, due[0].message_id);
        store
            .finish_mail(
                due[0].id,
                MailStatus::Sent,
                "250 OK".into(),
                None,
                AT.into(),
            )
            .await
            .unwrap();
        let listed = store.list_mail(false).await.unwrap();
        assert_eq!(listed[0].status, MailStatus::Sent);
        assert_eq!(listed[0].server_reply.as_deref(), Some("250 OK"));
        assert!(store.due_mail(AT.into(), 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_retry_waits_for_its_time_and_a_failure_waits_for_a_person() {
        let (_dir, store) = queued().await;
        let id = store.due_mail(AT.into(), 10).await.unwrap()[0].id;
        let later = "2026-07-10T09:40:00.000Z";
        store
            .finish_mail(
                id,
                MailStatus::Queued,
                "421 busy".into(),
                Some(later.into()),
                AT.into(),
            )
            .await
            .unwrap();
        assert!(store.due_mail(AT.into(), 10).await.unwrap().is_empty());
        assert_eq!(store.due_mail(later.into(), 10).await.unwrap().len(), 1);
        store
            .finish_mail(
                id,
                MailStatus::Failed,
                "550 no such user".into(),
                None,
                AT.into(),
            )
            .await
            .unwrap();
        let failed = store.list_mail(true).await.unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].last_error.as_deref(), Some("550 no such user"));
        assert!(store.due_mail(later.into(), 10).await.unwrap().is_empty());
        assert_eq!(store.retry_mail(Some(id + 1)).await.unwrap(), 0);
        assert_eq!(store.retry_mail(None).await.unwrap(), 1);
        assert_eq!(
            store.list_mail(false).await.unwrap()[0].status,
            MailStatus::Queued
        );
        assert_eq!(store.due_mail(AT.into(), 10).await.unwrap().len(), 1);
    }
}
