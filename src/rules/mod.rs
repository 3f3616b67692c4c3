//! Rules: automations written in TOML that fire when a task enters a condition or goes through a
//! transition, exactly once (design.md §4).
//!
//! - `syntax`: the TOML shapes; `compile`: checked against the schema (`tasksync check`);
//! - `eval`: pure evaluation on (before, after, now); `render`: the exact writes, text and mail;
//! - `executor`: performs queued actions against Notion, with retries and the append check.

pub mod compile;
pub mod eval;
pub mod render;
pub mod syntax;

pub use compile::{Rule, RuleSet, Trigger, compile};
