//! The neutral layer: the domain's types and the shapes that reach SQLite, imported by every
//! other module and importing none (`tests/tidy.rs` keeps it so). Pure: no I/O, no clock.
//!
//! - `task`: tasks, property values, data source schemas, property writes, blocks;
//! - `ids`: Notion ids and URLs;
//! - `stored`: the mirror's rows and the canonical stored form of a task;
//! - `automation`: firings, planned actions and their statuses;
//! - `run`: jobs and their outcomes;
//! - `time`: timestamps as stored.

pub mod automation;
pub mod ids;
pub mod run;
pub mod stored;
mod task;
pub mod time;

pub use task::*;
