//! Creating a page exactly once, across crashes and lost answers.
//!
//! A create that times out, or a process killed after sending it, leaves the outcome unknown,
//! and creating again could make a second task. So the page is created with a *marker* in its
//! content (a text derived from the rule firing), and before creating again the data source is
//! searched for a page the integration's bot created since the action was queued whose content
//! holds that marker: found, it is the page; not found, the create did not happen.

use reqwest::Method;

use super::NotionClient;
use super::blocks::NewBlock;
use super::client::{Call, RequestFailure};
use super::error::NotionError;
use super::ids::NotionId;
use super::pacing::RequestKind;
use super::query::{DateCondition, Direction, Filter, Query, Sort, TimestampField};
use super::wire::{self, WireCreated};
use crate::model::PropertyWrite;

/// A page to create once.
pub struct NewPage<'a> {
    pub data_source: &'a NotionId,
    /// Property writes by property id or name.
    pub writes: &'a [(String, PropertyWrite)],
    /// Its first blocks (at most 100), the marker among them.
    pub children: &'a [NewBlock],
    /// The text in `children` that identifies this page.
    pub marker: &'a str,
    /// No page created before this instant (ISO) can be it.
    pub since: &'a str,
}

/// The page, and whether it was found (an earlier attempt had created it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    pub page: NotionId,
    pub found: bool,
}

impl NotionClient {
    /// Sends one create request; says when the outcome is unknown (`ambiguous`).
    async fn create_page(&self, new: &NewPage<'_>) -> Result<NotionId, RequestFailure> {
        let body = wire::create_page_body(new.data_source, new.writes, new.children).map_err(
            |(property, detail)| RequestFailure {
                error: NotionError::InvalidWrite { property, detail },
                ambiguous: false,
            },
        )?;
        let call = Call::with_body(
            Method::POST,
            "/v1/pages".to_string(),
            &body,
            RequestKind::Append,
        );
        let created: WireCreated = self.send(call).await?;
        NotionId::parse(&created.id).map_err(|error| RequestFailure {
            error: NotionError::Decode {
                endpoint: "/v1/pages".into(),
                detail: error.to_string(),
                attempts: 1,
            },
            ambiguous: true,
        })
    }

    /// The page of the data source that the integration created since `since` with `marker` in
    /// its content, if there is one.
    pub async fn find_created(&self, new: &NewPage<'_>) -> Result<Option<NotionId>, NotionError> {
        let bot = self.me().await?.id;
        let query = Query {
            filter: Some(Filter::Timestamp {
                field: TimestampField::CreatedTime,
                condition: DateCondition::OnOrAfter(new.since.to_string()),
            }),
            sorts: vec![Sort::Timestamp(
                TimestampField::CreatedTime,
                Direction::Descending,
            )],
            filter_properties: vec!["title".to_string()],
        };
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .query_page(new.data_source, &query, cursor.as_deref())
                .await?;
            for task in page.tasks {
                if task.created_by.as_deref() != Some(bot.as_str()) {
                    continue;
                }
                let children = self.list_children(&task.id).await?;
                if children.iter().any(|block| block.text.contains(new.marker)) {
                    return Ok(Some(task.id));
                }
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(None),
            }
        }
    }

    /// Creates the page once: when an earlier attempt may have created it (`earlier`), or this
    /// one's outcome is unknown, the data source is searched for its marker before creating.
    pub async fn create_exactly_once(
        &self,
        new: &NewPage<'_>,
        earlier: bool,
    ) -> Result<Created, NotionError> {
        if earlier && let Some(page) = self.find_created(new).await? {
            tracing::info!(page = %page, "an earlier attempt had created this page");
            return Ok(Created { page, found: true });
        }
        let mut checks = 0;
        loop {
            match self.create_page(new).await {
                Ok(page) => {
                    crate::failpoint::pause("create-sent", 0);
                    return Ok(Created { page, found: false });
                }
                Err(failure) if failure.ambiguous && checks < self.max_attempts() => {
                    checks += 1;
                    tracing::warn!(error = %failure.error, "create outcome unknown; looking for the page's marker");
                    if let Some(page) = self.find_created(new).await? {
                        return Ok(Created { page, found: true });
                    }
                }
                Err(failure) => return Err(failure.error),
            }
        }
    }
}
