//! Performs queued actions against Notion, exactly once as far as Notion lets us tell.
//!
//! Each action is marked `running` (and its attempt counted) in the mirror before Notion is
//! called. An append is journalled batch by batch in `append_batches` (the block each batch is
//! sent after, then the blocks it created, each in its own transaction), so after a crash every
//! batch is decided from the page's children after its anchor, never from text equality
//! (`notion::append`). Setting a property to the value the mirror says it has is skipped.
//! Client errors (4xx but 429) are final; others retry on later runs until
//! `automation.action_attempts`.

use serde::Serialize;

use crate::model::automation::ActionStatus;
use crate::model::automation::PlannedAction;
use crate::model::ids::NotionId;
use crate::model::stored::StoredProperties;
use crate::model::time::iso;
use crate::notion::append::{AppendError, AppendJournal, BatchRecord};
use crate::notion::blocks::{BlockKind, Inline, NewBlock, Style, batches, blocks_of};
use crate::notion::create::NewPage;
use crate::notion::text::MAX_BLOCKS_PER_REQUEST;
use crate::notion::{NotionClient, NotionError};
use crate::store::{QueuedAction, Store};

/// What a run of the executor did.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ExecutorReport {
    pub done: u64,
    /// Nothing to do: the property already had the value.
    pub skipped: u64,
    /// Failed for good (the error is recorded on the action).
    pub failed: u64,
    /// Failed this time; tried again on the next run.
    pub retrying: u64,
}

enum Outcome {
    Done,
    Skipped(&'static str),
}

/// Performs every queued action, oldest first.
pub async fn perform_queued(
    client: &NotionClient,
    store: &Store,
    max_attempts: u32,
) -> anyhow::Result<ExecutorReport> {
    let queued = store.queued_actions(10_000).await?;
    let mut report = ExecutorReport::default();
    for action in queued {
        let id = action.id;
        let at = iso(chrono::Utc::now());
        store.start_action(id, at).await?;
        let outcome = perform(client, store, &action).await;
        let what = action.action.describe();
        let (status, error) = match outcome {
            Ok(Outcome::Done) => {
                report.done += 1;
                tracing::info!(action = id, rule = %action.rule, task = %action.task, "rule {} on {}: done: {what}", action.rule, action.task);
                (ActionStatus::Done, None)
            }
            Ok(Outcome::Skipped(reason)) => {
                report.skipped += 1;
                tracing::info!(action = id, rule = %action.rule, task = %action.task, "rule {} on {}: skipped ({reason}): {what}", action.rule, action.task);
                (ActionStatus::Skipped, Some(reason.to_string()))
            }
            Err(error) => {
                let message = format!("{error:#}");
                let final_error =
                    is_final(&error) || action.attempts + 1 >= i64::from(max_attempts);
                let verdict = if final_error {
                    "failed for good"
                } else {
                    "failed, tried again on the next run"
                };
                tracing::warn!(action = id, rule = %action.rule, task = %action.task, error = %message, final_error, "rule {} on {}: {verdict}: {what}: {message}", action.rule, action.task);
                if final_error {
                    report.failed += 1;
                    (ActionStatus::Failed, Some(message))
                } else {
                    report.retrying += 1;
                    (ActionStatus::Pending, Some(message))
                }
            }
        };
        let at = iso(chrono::Utc::now());
        store.finish_action(id, status, error, at).await?;
    }
    Ok(report)
}

/// A client error other than rate limiting, or a write Notion would refuse: repeating the
/// request cannot help.
fn is_final(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<NotionError>(),
            Some(
                NotionError::Api {
                    status: 400..=428 | 430..=499,
                    ..
                }
                | NotionError::InvalidWrite { .. },
            )
        )
    })
}

async fn perform(
    client: &NotionClient,
    store: &Store,
    action: &QueuedAction,
) -> anyhow::Result<Outcome> {
    let page = NotionId::parse(&action.task_id)?;
    match &action.action {
        PlannedAction::Set { writes } => {
            let current: StoredProperties =
                match store.tasks_by_id(vec![action.task_id.clone()]).await?.pop() {
                    Some(row) => row.properties()?,
                    None => StoredProperties::new(),
                };
            let needed: Vec<(String, crate::model::PropertyWrite)> = writes
                .iter()
                .filter(|write| {
                    !current
                        .values()
                        .any(|p| p.id == write.property_id && p.text == write.text)
                })
                .map(|write| (write.property_id.clone(), write.value.clone()))
                .collect();
            if needed.is_empty() {
                return Ok(Outcome::Skipped("already set"));
            }
            client
                .update_page(&page, &needed)
                .await
                .map_err(|error| match error {
                    // The request names properties by id; the user knows them by name.
                    NotionError::InvalidWrite { property, detail } => NotionError::InvalidWrite {
                        property: writes
                            .iter()
                            .find(|write| write.property_id == property)
                            .map_or(property, |write| write.property.clone()),
                        detail,
                    },
                    other => other,
                })?;
            Ok(Outcome::Done)
        }
        PlannedAction::Append { text, format } => {
            let mut journal = StoreJournal {
                store,
                action_id: action.id,
            };
            // The same text and format always become the same blocks and batches, so a resumed
            // append's journal lines up with what it sends.
            let blocks = blocks_of(text, *format);
            client
                .append_exactly_once(&page, &blocks, &mut journal)
                .await
                .map_err(|error| match error {
                    AppendError::Notion(error) => anyhow::Error::from(error),
                    AppendError::Journal(error) => error,
                })?;
            Ok(Outcome::Done)
        }
        PlannedAction::Mail { .. } => Ok(Outcome::Skipped("mail is sent from the outbox")),
        PlannedAction::Create {
            data_source_id,
            writes,
            text,
            format,
            marker,
        } => {
            create(
                client,
                store,
                action,
                data_source_id,
                writes,
                (text, *format),
                marker,
            )
            .await?;
            Ok(Outcome::Done)
        }
        PlannedAction::Webhook { .. } => Ok(Outcome::Skipped(
            "webhooks are sent from the webhook outbox",
        )),
    }
}

/// Creates a task exactly once: the page is made with its first blocks and a marker line derived
/// from the firing; an attempt after one whose outcome is unknown looks for the marker first
/// (`NotionClient::create_exactly_once`). Text beyond the first request is appended through the
/// append journal, so a resumed create finishes it without repeating a batch.
async fn create(
    client: &NotionClient,
    store: &Store,
    action: &QueuedAction,
    data_source_id: &str,
    writes: &[crate::model::automation::PlannedWrite],
    (text, format): (&str, crate::model::automation::TextFormat),
    marker: &str,
) -> anyhow::Result<()> {
    if marker.is_empty() {
        anyhow::bail!("the create action has no marker (queued by an older tasksync): not created");
    }
    let data_source = NotionId::parse(data_source_id)?;
    let mut blocks = blocks_of(text, format);
    let first = batches(&blocks)
        .first()
        .map_or(0, |batch| batch.len().min(MAX_BLOCKS_PER_REQUEST - 1));
    let rest = blocks.split_off(first);
    blocks.push(NewBlock::new(
        BlockKind::Paragraph,
        vec![Inline::Text {
            content: format!("Created by tasksync (rule \"{}\") · {marker}", action.rule),
            style: Style {
                italic: true,
                ..Style::default()
            },
            link: None,
        }],
    ));
    let writes: Vec<(String, crate::model::PropertyWrite)> = writes
        .iter()
        .map(|write| (write.property_id.clone(), write.value.clone()))
        .collect();
    // The page can only have been created after the firing queued it (two minutes' slack for
    // Notion's minute-rounded times).
    let since = crate::model::time::parse_time(&action.created_at)
        .map(|at| iso(at - chrono::Duration::minutes(2)))
        .unwrap_or_else(|| action.created_at.clone());
    let new = NewPage {
        data_source: &data_source,
        writes: &writes,
        children: &blocks,
        marker,
        since: &since,
    };
    let created = client
        .create_exactly_once(&new, action.attempts > 0)
        .await?;
    tracing::info!(action = action.id, rule = %action.rule, page = %created.page, found = created.found, "task created");
    // The page is ours: the sync that sees it will not take it for another writer's.
    store
        .record_own_edit(
            created.page.to_string(),
            crate::model::stored::CREATED.to_string(),
            None,
            "create action",
            iso(chrono::Utc::now()),
        )
        .await?;
    if !rest.is_empty() {
        let mut journal = StoreJournal {
            store,
            action_id: action.id,
        };
        client
            .append_exactly_once(&created.page, &rest, &mut journal)
            .await
            .map_err(|error| match error {
                AppendError::Notion(error) => anyhow::Error::from(error),
                AppendError::Journal(error) => error,
            })?;
    }
    Ok(())
}

/// An append's journal in the mirror: each record is its own transaction.
struct StoreJournal<'a> {
    store: &'a Store,
    action_id: i64,
}

impl AppendJournal for StoreJournal<'_> {
    async fn recorded(&mut self, index: usize) -> anyhow::Result<Option<BatchRecord>> {
        let id = self.action_id;
        let row = self.store.append_batch(id, index).await?;
        Ok(row.map(|row| match row.block_ids {
            Some(block_ids) => BatchRecord::Landed { block_ids },
            None => BatchRecord::Started { anchor: row.anchor },
        }))
    }

    async fn started(&mut self, index: usize, anchor: Option<String>) -> anyhow::Result<()> {
        let (id, at) = (self.action_id, iso(chrono::Utc::now()));
        self.store.start_append_batch(id, index, anchor, at).await
    }

    async fn landed(&mut self, index: usize, block_ids: Vec<String>) -> anyhow::Result<()> {
        let (id, at) = (self.action_id, iso(chrono::Utc::now()));
        self.store.land_append_batch(id, index, block_ids, at).await
    }
}
