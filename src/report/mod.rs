//! The flow report: what the mirror's history says about how work moves through the statuses.
//! `flow` holds the computations, pure functions over task histories; `html` draws the page.

pub mod flow;
pub mod html;
