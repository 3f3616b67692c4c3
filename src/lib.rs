//! tasksync: keeps a Notion task database in sync with a local SQLite mirror and runs
//! automations on it. See ARCHITECTURE.md for the module map, the import direction and the
//! invariants.
//!
//! The surface, deliberately: the binary needs [`cli`]; tests and benchmarks drive the parts a
//! user's setup is made of — the configuration ([`config`]), the Notion client ([`notion`]) and
//! its simulator ([`simulator`]), the domain types ([`model`]), the mirror ([`store`]), the sync
//! ([`sync`]), rules ([`rules`]), the executor ([`actions`]), mail ([`notify`]), schedules
//! ([`schedule`]) and the locks ([`lock`]). The daemon's loop, the health verdict and the crash
//! tests' pauses are the crate's own.

pub mod actions;
pub mod cli;
pub mod config;
mod daemon;
mod failpoint;
mod health;
pub mod hooks;
mod listen;
pub mod lock;
pub mod model;
pub mod notify;
pub mod notion;
pub mod report;
pub mod rules;
pub mod schedule;
pub mod simulator;
pub mod store;
pub mod sync;
