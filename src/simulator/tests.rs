//! Unit tests of the simulator's rendering.

use super::*;
use crate::notion::wire::{WirePage, parse_property};

/// The client's typed page reader takes the simulator's pages exactly as its `Value`
/// reader does (the simulator renders pages as Notion's docs show them).
#[test]
fn the_clients_typed_reader_reads_rendered_pages_as_the_value_reader_does() {
    let workspace = Workspace::generate(&Seed {
        tasks: 300,
        seed: 7,
        data_sources: 1,
        now: Utc::now(),
    });
    for record in &workspace.pages {
        let page = workspace.render_page(record, ApiVersion::default(), &[]);
        let text = page.to_string();
        let task = serde_json::from_str::<WirePage<'_>>(&text)
            .unwrap()
            .into_task()
            .unwrap();
        let properties = page["properties"].as_object().unwrap();
        assert_eq!(task.properties.len(), properties.len());
        for (name, value) in properties {
            assert_eq!(
                task.properties[name],
                parse_property(value.clone()),
                "{name}"
            );
        }
        assert_eq!(task.id.to_string(), page["id"].as_str().unwrap());
        assert_eq!(
            task.last_edited_time,
            page["last_edited_time"].as_str().unwrap()
        );
        assert_eq!(
            task.data_source_id.as_deref(),
            page["parent"]["data_source_id"].as_str()
        );
        // The stored form built in one pass is the canonical one.
        let stored = crate::model::stored::stored_properties(&task);
        let (title, status) = (task.title(), task.status());
        let mut taken = task.clone();
        let properties = crate::model::stored::take_stored_properties(&mut taken);
        let row = crate::model::stored::task_row(&taken, "s", &properties);
        assert_eq!(row.properties_json, serde_json::to_string(&stored).unwrap());
        assert_eq!(
            row.content_hash,
            crate::model::stored::content_hash(&stored)
        );
        assert_eq!((row.title, row.status), (title, status));
    }
}
