//! tasksync: keeps a Notion task database in sync with a local SQLite mirror and runs
//! automations on it. See ARCHITECTURE.md for the module map and its invariants.

pub mod actions;
pub mod cli;
pub mod config;
pub mod daemon;
mod failpoint;
pub mod health;
pub mod lock;
pub mod model;
pub mod notify;
pub mod notion;
pub mod rules;
pub mod schedule;
pub mod simulator;
pub mod store;
pub mod sync;
