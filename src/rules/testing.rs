//! What the rules' unit tests share: a data source with a property of every kind tasksync
//! tests.

use crate::model::ids::NotionId;
use crate::model::{DataSource, PropertySchema, SelectOption};

pub fn option(name: &str) -> SelectOption {
    SelectOption {
        id: None,
        name: name.into(),
        color: None,
    }
}

pub fn schema() -> DataSource {
    let property = |id: &str, name: &str, kind: &str, options: &[&str]| {
        (
            name.to_string(),
            PropertySchema {
                id: id.into(),
                name: name.into(),
                kind: kind.into(),
                options: options.iter().map(|o| option(o)).collect(),
                computed_from: Vec::new(),
                groups: Vec::new(),
            },
        )
    };
    DataSource {
        id: NotionId::parse("0123456789abcdef0123456789abcdef").unwrap(),
        name: "Tasks".into(),
        database_id: None,
        properties: [
            property("title", "Name", "title", &[]),
            property("s", "Status", "status", &["To do", "In progress", "Done"]),
            property("p", "Priority", "select", &["Low", "High", "Urgent"]),
            property("t", "Tags", "multi_select", &["bug", "docs"]),
            property("d", "Due", "date", &[]),
            property("n", "Estimate", "number", &[]),
            property("c", "Done", "checkbox", &[]),
            property("a", "Assignee", "people", &[]),
            property("r", "Related", "relation", &[]),
            property("u", "Link", "url", &[]),
            property("i", "ID", "unique_id", &[]),
            property("f", "Score", "formula", &[]),
            property("e", "Edited", "last_edited_time", &[]),
        ]
        .into(),
    }
}
