//! Appending text to a page exactly once, batch by batch, across crashes and lost answers.
//!
//! An append of more than 100 paragraphs is several requests, and any of them can land without
//! its answer reaching us (a timeout, a dropped connection, the process killed). Text equality
//! with the page's tail cannot tell whether *this* append landed: an earlier firing may have
//! written the same text, and an earlier batch of this append may already be there. So each
//! batch is decided from recorded facts (docs/semantics.md, "Exactly once"):
//!
//! 1. before a batch is sent, the journal records its *anchor*: the id of the page's last block
//!    at that moment (none for an empty page);
//! 2. after Notion accepts it, the journal records the ids of the blocks it created;
//! 3. a batch whose anchor is recorded but not its ids is decided from the page's children
//!    *after the anchor*: if its paragraphs are there, it landed and their ids are recorded;
//!    if not, it is sent again.
//!
//! Each record is its own step (for the executor, its own transaction), so a crash between any
//! two of them is recovered by the same rule. Only blocks after the anchor are looked at, so two
//! firings appending the same text are two appends.

use std::future::Future;

use super::NotionClient;
use super::blocks::{NewBlock, batches};
use super::error::NotionError;
use super::ids::NotionId;
use crate::model::Block;

/// What the journal holds of one batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchRecord {
    /// Sent, or about to be, after the block `anchor` (`None`: the page was empty).
    Started { anchor: Option<String> },
    /// Accepted by Notion, which created these blocks.
    Landed { block_ids: Vec<String> },
}

/// Where an append's progress is recorded: the mirror for queued actions, memory for a command.
pub trait AppendJournal {
    /// What is recorded of batch `index`, if anything.
    fn recorded(
        &mut self,
        index: usize,
    ) -> impl Future<Output = anyhow::Result<Option<BatchRecord>>> + Send;
    /// Records that batch `index` is about to be sent after `anchor`.
    fn started(
        &mut self,
        index: usize,
        anchor: Option<String>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Records the blocks Notion created for batch `index`.
    fn landed(
        &mut self,
        index: usize,
        block_ids: Vec<String>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// A journal in memory, for appends no other process will resume (`tasksync tasks append`).
#[derive(Debug, Default)]
pub struct MemoryJournal {
    records: Vec<Option<BatchRecord>>,
}

impl MemoryJournal {
    fn slot(&mut self, index: usize) -> &mut Option<BatchRecord> {
        if self.records.len() <= index {
            self.records.resize(index + 1, None);
        }
        &mut self.records[index]
    }
}

impl AppendJournal for MemoryJournal {
    async fn recorded(&mut self, index: usize) -> anyhow::Result<Option<BatchRecord>> {
        Ok(self.slot(index).clone())
    }

    async fn started(&mut self, index: usize, anchor: Option<String>) -> anyhow::Result<()> {
        *self.slot(index) = Some(BatchRecord::Started { anchor });
        Ok(())
    }

    async fn landed(&mut self, index: usize, block_ids: Vec<String>) -> anyhow::Result<()> {
        *self.slot(index) = Some(BatchRecord::Landed { block_ids });
        Ok(())
    }
}

/// What the page's children say about a batch sent after `anchor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// The batch's paragraphs follow the anchor (not necessarily right after it): these blocks.
    Landed(Vec<String>),
    /// They are not after the anchor: the batch was not processed.
    Missing,
    /// The anchor block is no longer on the page, so nothing can be decided.
    AnchorGone,
}

/// Decides from the page's children whether `batch`, sent after `anchor`, landed: its blocks,
/// of the same types and texts, in order after the anchor. Pure.
pub fn find_batch(children: &[Block], anchor: Option<&str>, batch: &[NewBlock]) -> Finding {
    let after = match anchor {
        None => 0,
        Some(anchor) => match children.iter().position(|block| block.id == anchor) {
            Some(position) => position + 1,
            None => return Finding::AnchorGone,
        },
    };
    let candidates = &children[after.min(children.len())..];
    if batch.is_empty() || candidates.len() < batch.len() {
        return Finding::Missing;
    }
    candidates
        .windows(batch.len())
        .find(|window| {
            window
                .iter()
                .zip(batch)
                .all(|(block, expected)| expected.matches(block))
        })
        .map_or(Finding::Missing, |window| {
            Finding::Landed(window.iter().map(|block| block.id.clone()).collect())
        })
}

/// An append that failed; `journal` errors are kept apart from Notion's.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error(transparent)]
    Notion(#[from] NotionError),
    #[error(transparent)]
    Journal(anyhow::Error),
}

/// Records the blocks a batch created.
async fn record<J: AppendJournal>(
    journal: &mut J,
    index: usize,
    ids: &[String],
) -> Result<(), AppendError> {
    journal
        .landed(index, ids.to_vec())
        .await
        .map_err(AppendError::Journal)
}

/// Decides from the page's children whether a batch sent after `anchor` landed: its blocks
/// (recorded), `None` when it did not, an error when the anchor is gone and nothing can be told.
async fn landed<J: AppendJournal>(
    page_id: &NotionId,
    children: &[Block],
    anchor: Option<&str>,
    index: usize,
    batch: &[NewBlock],
    journal: &mut J,
) -> Result<Option<Vec<String>>, AppendError> {
    match find_batch(children, anchor, batch) {
        Finding::Landed(ids) => {
            record(journal, index, &ids).await?;
            Ok(Some(ids))
        }
        Finding::Missing => Ok(None),
        Finding::AnchorGone => Err(NotionError::AmbiguousAppend {
            page_id: page_id.to_string(),
            detail: format!(
                "batch {} was sent after block {}, which is no longer on the page",
                index + 1,
                anchor.unwrap_or_default()
            ),
        }
        .into()),
    }
}

impl NotionClient {
    /// Appends `blocks` to the end of a page, exactly once: each batch of up to 100
    /// blocks is journalled (anchor before, block ids after) and, when its outcome is
    /// unknown, decided from the page's children after its anchor. Resuming with the same
    /// journal after a crash finishes the append without repeating what landed. Returns the
    /// ids of the blocks the text became.
    pub async fn append_exactly_once<J: AppendJournal>(
        &self,
        page_id: &NotionId,
        blocks: &[NewBlock],
        journal: &mut J,
    ) -> Result<Vec<String>, AppendError> {
        let mut created: Vec<String> = Vec::new();
        for (index, batch) in batches(blocks).into_iter().enumerate() {
            let record = journal
                .recorded(index)
                .await
                .map_err(AppendError::Journal)?;
            let ids = match record {
                Some(BatchRecord::Landed { block_ids }) => block_ids,
                Some(BatchRecord::Started { anchor }) => {
                    self.resume_batch(page_id, index, batch, anchor, journal)
                        .await?
                }
                None => {
                    // The anchor of a later batch is the last block of the one before it.
                    let anchor = match created.last() {
                        Some(last) => Some(last.clone()),
                        None => self.last_child(page_id).await?,
                    };
                    journal
                        .started(index, anchor.clone())
                        .await
                        .map_err(AppendError::Journal)?;
                    crate::failpoint::pause("append-before-send", index);
                    self.send_batch(page_id, index, batch, anchor, journal)
                        .await?
                }
            };
            created.extend(ids);
        }
        Ok(created)
    }

    /// A batch whose anchor is recorded but not its outcome: landed, or sent now.
    async fn resume_batch<J: AppendJournal>(
        &self,
        page_id: &NotionId,
        index: usize,
        batch: &[NewBlock],
        anchor: Option<String>,
        journal: &mut J,
    ) -> Result<Vec<String>, AppendError> {
        let children = self.list_children(page_id).await?;
        match landed(page_id, &children, anchor.as_deref(), index, batch, journal).await? {
            Some(ids) => {
                tracing::info!(page = %page_id, batch = index, "an earlier attempt had appended this batch");
                Ok(ids)
            }
            None => {
                self.send_batch(page_id, index, batch, anchor, journal)
                    .await
            }
        }
    }

    /// Sends a journalled batch; an unknown outcome is decided from the page, a bounded number
    /// of times.
    async fn send_batch<J: AppendJournal>(
        &self,
        page_id: &NotionId,
        index: usize,
        batch: &[NewBlock],
        anchor: Option<String>,
        journal: &mut J,
    ) -> Result<Vec<String>, AppendError> {
        let mut checks = 0;
        loop {
            match self.append_batch(page_id, batch).await {
                Ok(blocks) => {
                    crate::failpoint::pause("append-accepted", index);
                    let ids: Vec<String> = blocks.into_iter().map(|block| block.id).collect();
                    record(journal, index, &ids).await?;
                    crate::failpoint::pause("append-recorded", index);
                    return Ok(ids);
                }
                Err(failure) if failure.ambiguous && checks < self.max_attempts() => {
                    checks += 1;
                    tracing::warn!(page = %page_id, batch = index, error = %failure.error, "append outcome unknown; checking the page after the anchor");
                    let children = self.list_children(page_id).await.map_err(|check| {
                        NotionError::AmbiguousAppend {
                            page_id: page_id.to_string(),
                            detail: format!("{}; the check failed too: {check}", failure.error),
                        }
                    })?;
                    let found =
                        landed(page_id, &children, anchor.as_deref(), index, batch, journal)
                            .await?;
                    if let Some(ids) = found {
                        return Ok(ids);
                    }
                }
                Err(failure) => return Err(failure.error.into()),
            }
        }
    }

    /// The id of the page's last child block, if it has any.
    async fn last_child(&self, page_id: &NotionId) -> Result<Option<String>, NotionError> {
        Ok(self
            .list_children(page_id)
            .await?
            .pop()
            .map(|block| block.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notion::blocks::{BlockKind, Inline};

    fn block(id: &str, text: &str) -> Block {
        Block {
            id: id.into(),
            kind: "paragraph".into(),
            text: text.into(),
            has_children: false,
        }
    }

    fn batch(texts: &[&str]) -> Vec<NewBlock> {
        texts
            .iter()
            .map(|text| NewBlock::new(BlockKind::Paragraph, vec![Inline::text(*text)]))
            .collect()
    }

    #[test]
    fn a_batch_is_found_only_after_its_anchor() {
        let page = [
            block("a", "Escalated."),
            block("b", "Escalated."),
            block("c", "Other"),
        ];
        let escalated = batch(&["Escalated."]);
        // An earlier firing's identical text before the anchor does not count.
        assert_eq!(find_batch(&page, Some("b"), &escalated), Finding::Missing);
        assert_eq!(
            find_batch(&page, Some("a"), &escalated),
            Finding::Landed(vec!["b".into()])
        );
        assert_eq!(
            find_batch(&page, None, &escalated),
            Finding::Landed(vec!["a".into()])
        );
        assert_eq!(
            find_batch(&page, Some("gone"), &escalated),
            Finding::AnchorGone
        );
        assert_eq!(find_batch(&[], None, &escalated), Finding::Missing);
    }

    #[test]
    fn a_batch_is_found_behind_blocks_someone_else_appended() {
        let page = [
            block("a", "anchor"),
            block("x", "a colleague's note"),
            block("b", "one"),
            block("c", "two"),
        ];
        assert_eq!(
            find_batch(&page, Some("a"), &batch(&["one", "two"])),
            Finding::Landed(vec!["b".into(), "c".into()])
        );
        assert_eq!(
            find_batch(&page, Some("a"), &batch(&["two", "one"])),
            Finding::Missing
        );
    }
}
