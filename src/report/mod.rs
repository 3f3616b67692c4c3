//! The flow report: what the mirror's history says about how work moves through the statuses.
//! `flow` holds the computations, pure functions over task histories; `html` draws the page;
//! `build` reads the mirror and writes the page (for `tasksync report`, the daemon's
//! `schedule.report` and the demo).

pub mod build;
pub mod flow;
pub mod html;
