//! The Notion API client: the only module that knows Notion's HTTP and JSON.
//!
//! One [`NotionClient`] per process (clones share it): one governor paces every request, and a
//! `Retry-After` holds back all of them. See docs/notion-api.md for the facts this follows.

pub(crate) mod append;
pub mod blocks;
mod client;
mod complete;
pub mod create;
mod error;
pub mod events;
mod markdown;
pub mod pacing;
pub mod query;
pub(crate) mod text;
pub(crate) mod wire;

/// Ids live in the model (every layer names tasks by them); kept here under their old path.
pub use crate::model::ids;
pub use client::{ClientSettings, NotionClient};
pub use error::NotionError;

use std::fmt;
use std::str::FromStr;

/// The Notion API versions tasksync speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ApiVersion {
    /// Data sources; the official SDKs' default.
    V2025_09_03,
    /// `in_trash` replaces `archived`; appends take `position`. The default.
    #[default]
    V2026_03_11,
}

impl ApiVersion {
    pub const ALL: [ApiVersion; 2] = [ApiVersion::V2025_09_03, ApiVersion::V2026_03_11];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2025_09_03 => "2025-09-03",
            Self::V2026_03_11 => "2026-03-11",
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiVersion {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|version| version.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unsupported Notion API version `{text}`: use \"2026-03-11\" or \"2025-09-03\""
                )
            })
    }
}
