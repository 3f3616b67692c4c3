//! The pull stage: Notion's pages of tasks, read through one pager for both windowed loops
//! (edited since the cursor; every task by creation time), and the deletions a complete scan
//! implies.

use std::collections::HashSet;

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::Engine;
use crate::model::Task;
use crate::model::ids::NotionId;
use crate::model::stored::ChangeKind;
use crate::model::time::iso;
use crate::notion::query::{
    DateCondition, Direction, Filter, Query, QueryPage, Sort, TimestampField,
};
use crate::notion::{NotionClient, NotionError};

/// Reads a query sorted ascending by a timestamp, page by page, past Notion's 10,000-row cap:
/// when a window is capped, the next starts at the last timestamp seen (pages read twice are
/// the caller's to de-duplicate or to recognise as unchanged).
///
/// Pipelined: as soon as a page says where the next one starts, the next is requested (one page
/// ahead, through the client's shared pacer), so Notion answers it while the caller stores this
/// one.
struct Pager {
    field: TimestampField,
    /// Where the current window starts (`None`: from the beginning).
    window: Option<String>,
    filter_properties: Vec<String>,
    start_cursor: Option<String>,
    capped: bool,
    last: Option<String>,
    done: bool,
    /// The next page, already requested.
    ahead: Option<tokio::task::JoinHandle<Result<QueryPage, NotionError>>>,
}

impl Drop for Pager {
    fn drop(&mut self) {
        // A sync that stops (or fails) does not leave a request running.
        if let Some(ahead) = self.ahead.take() {
            ahead.abort();
        }
    }
}

impl Pager {
    fn new(field: TimestampField, from: Option<String>, filter_properties: Vec<String>) -> Self {
        Self {
            field,
            window: from,
            filter_properties,
            start_cursor: None,
            capped: false,
            last: None,
            done: false,
            ahead: None,
        }
    }

    fn query(&self) -> Query {
        Query {
            filter: self.window.clone().map(|from| Filter::Timestamp {
                field: self.field,
                condition: DateCondition::OnOrAfter(from),
            }),
            sorts: vec![Sort::Timestamp(self.field, Direction::Ascending)],
            filter_properties: self.filter_properties.clone(),
        }
    }

    fn timestamp(&self, task: &Task) -> String {
        match self.field {
            TimestampField::LastEditedTime => task.last_edited_time.clone(),
            TimestampField::CreatedTime => task.created_time.clone(),
        }
    }

    /// The next page of tasks, or `None` when every window is read.
    async fn next(
        &mut self,
        client: &NotionClient,
        source: &NotionId,
    ) -> anyhow::Result<Option<QueryPage>> {
        if self.done {
            return Ok(None);
        }
        let page = match self.ahead.take() {
            Some(ahead) => ahead
                .await
                .context("a request for the next page of tasks stopped unexpectedly")??,
            None => {
                client
                    .query_page(source, &self.query(), self.start_cursor.as_deref())
                    .await?
            }
        };
        self.capped |= page.incomplete;
        // Sorted ascending by the field: the page's last task has its latest time.
        if let Some(last) = page.tasks.last() {
            self.last = Some(self.timestamp(last));
        }
        match &page.next_cursor {
            Some(next) => {
                self.start_cursor = Some(next.clone());
                let (client, source, query) = (client.clone(), source.clone(), self.query());
                let cursor = next.clone();
                self.ahead = Some(tokio::spawn(async move {
                    client.query_page(&source, &query, Some(&cursor)).await
                }));
            }
            None => self.end_window()?,
        }
        Ok(Some(page))
    }

    /// At the end of a window: done, or (capped) the next window from the last time seen.
    fn end_window(&mut self) -> anyhow::Result<()> {
        if !self.capped {
            self.done = true;
            return Ok(());
        }
        let restart = self
            .last
            .take()
            .context("Notion capped a query that returned nothing")?;
        anyhow::ensure!(
            self.window.as_deref() != Some(restart.as_str()),
            "{}",
            match self.field {
                TimestampField::LastEditedTime => format!(
                    "more than 10,000 tasks were edited within the minute {restart}; run `tasksync sync --full` (it reads by creation time)"
                ),
                TimestampField::CreatedTime => format!(
                    "more than 10,000 tasks share the creation minute {restart}: Notion's API cannot list them all"
                ),
            }
        );
        match self.field {
            TimestampField::LastEditedTime => {
                tracing::info!(from = %restart, "query capped at 10,000 rows; reading on from the last edit time seen");
            }
            TimestampField::CreatedTime => {
                tracing::info!(from = %restart, "query capped at 10,000 rows; reading on from the last creation time seen");
            }
        }
        self.window = Some(restart);
        self.start_cursor = None;
        self.capped = false;
        Ok(())
    }
}

impl Engine<'_> {
    /// Pages edited since `since`, oldest first, each stored with the cursor it justifies.
    pub(super) async fn incremental(&mut self, since: DateTime<Utc>) -> anyhow::Result<()> {
        let mut pager = Pager::new(TimestampField::LastEditedTime, Some(iso(since)), Vec::new());
        loop {
            self.check_stop()?;
            let Some(page) = pager.next(self.client, &self.source.id).await? else {
                return Ok(());
            };
            if let Some(last) = page.tasks.iter().map(|t| t.last_edited_time.clone()).max() {
                let cursor = self.capped(&last);
                self.ingest(page.tasks, Some(cursor)).await?;
            }
        }
    }

    /// Every live task, windowed by creation time past the 10,000-row cap. With `content`, each
    /// page of tasks is ingested; otherwise only ids are read (`filter_properties`). Returns the
    /// ids seen, as [`NotionId::key`]s (16 bytes each, whatever the number of tasks).
    pub(super) async fn scan(&mut self, content: bool) -> anyhow::Result<HashSet<u128>> {
        let mut seen = HashSet::new();
        let title = self.source.first_of_kind("title").map(|p| p.id.clone());
        let filter_properties = if content {
            Vec::new()
        } else {
            title.into_iter().collect()
        };
        let mut pager = Pager::new(TimestampField::CreatedTime, None, filter_properties);
        self.merging = content;
        loop {
            self.check_stop()?;
            let Some(page) = pager.next(self.client, &self.source.id).await? else {
                self.merging = false;
                self.flush().await?;
                return Ok(seen);
            };
            let fresh: Vec<Task> = page
                .tasks
                .into_iter()
                .filter(|t| seen.insert(t.id.key()))
                .collect();
            if content {
                for task in &fresh {
                    if self
                        .max_edited
                        .as_ref()
                        .is_none_or(|max| task.last_edited_time > *max)
                    {
                        self.max_edited = Some(task.last_edited_time.clone());
                    }
                }
                self.ingest(fresh, None).await?;
            } else {
                self.progressed(fresh.len() as u64);
            }
        }
    }

    /// Marks live mirror tasks that a complete scan did not see as deleted. After an id-only
    /// scan (`scanned_content` false), tasks it saw that the mirror has deleted or lacks are read
    /// whole and stored (a content scan stored them already).
    pub(super) async fn mark_missing(
        &mut self,
        seen: HashSet<u128>,
        scanned_content: bool,
    ) -> anyhow::Result<()> {
        let (gone, returned) = match self.store {
            Some(reader) => {
                reader
                    .scan_differences(self.source_id.clone(), seen)
                    .await?
            }
            None => (Vec::new(), Vec::new()),
        };
        self.counts.deleted += gone.len() as u64;
        for id in &gone {
            self.plan(
                id.clone(),
                None,
                String::new(),
                ChangeKind::Deleted,
                Vec::new(),
            );
        }
        let firings = self.deletion_firings(&gone).await?;
        if let Some(store) = self.writer() {
            store
                .mark_deleted(
                    self.source_id.clone(),
                    gone,
                    firings,
                    iso(self.now),
                    self.run_id,
                )
                .await?;
        }
        // Seen but deleted in the mirror (or never stored): read them whole.
        if returned.is_empty() || scanned_content {
            return Ok(());
        }
        let mut tasks = Vec::new();
        for page_id in returned {
            tasks.push(self.client.retrieve_page(&page_id).await?);
        }
        self.ingest(tasks, None).await
    }
}
