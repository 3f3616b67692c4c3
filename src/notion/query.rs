//! The data source queries tasksync sends: filters and sorts as domain values.

/// A timestamp every page has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampField {
    CreatedTime,
    LastEditedTime,
}

/// A date comparison with an ISO 8601 value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateCondition {
    OnOrAfter(String),
    After(String),
    Before(String),
    OnOrBefore(String),
}

/// A query filter (Notion's filter vocabulary, the forms tasksync uses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    Timestamp {
        field: TimestampField,
        condition: DateCondition,
    },
    StatusEquals {
        property: String,
        name: String,
    },
    UniqueIdEquals {
        property: String,
        number: i64,
    },
    And(Vec<Filter>),
    Or(Vec<Filter>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

/// A query sort.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sort {
    Timestamp(TimestampField, Direction),
    Property(String, Direction),
}

impl Sort {
    pub fn direction(&self) -> Direction {
        match self {
            Self::Timestamp(_, direction) | Self::Property(_, direction) => *direction,
        }
    }
}

/// One data source query: filter, sorts, and which properties to return.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pub filter: Option<Filter>,
    pub sorts: Vec<Sort>,
    /// Property ids or names to return (`filter_properties`); empty returns all.
    pub filter_properties: Vec<String>,
}

/// One page of query results.
#[derive(Clone, Debug)]
pub struct QueryPage {
    pub tasks: Vec<crate::model::Task>,
    pub next_cursor: Option<String>,
    /// Notion capped the query at 10,000 rows: reading on needs a narrower query.
    pub incomplete: bool,
}
