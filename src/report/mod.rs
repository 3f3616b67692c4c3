//! The flow report (issue 18, in progress): what the mirror's history says about how work moves
//! through the statuses. `flow` holds the computations, pure functions over task histories;
//! the HTML page and its charts build on them.

pub mod flow;
