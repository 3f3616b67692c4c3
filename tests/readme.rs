//! The README works as written: every `sql` block runs against a real synced mirror and returns rows.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::json;
use tasksync::notion::ApiVersion;
use tasksync::notion::ids::NotionId;
use tasksync::simulator::SimulatorOptions;
use tasksync::store::Store;
use tasksync::sync::{SyncOptions, sync};

#[tokio::test]
async fn every_sql_example_in_the_readme_runs_and_finds_rows() {
    let blocks = common::fenced_blocks(include_str!("../README.md"), "sql");
    assert!(blocks.len() >= 5, "the README shows its queries");

    let simulator = common::simulator(SimulatorOptions {
        tasks: 200,
        ..SimulatorOptions::default()
    })
    .await;
    let client = common::client(&simulator, ApiVersion::V2026_03_11);
    let database = NotionId::parse(&simulator.database_id()).unwrap();
    let source = client.resolve_data_source(&database, None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasksync.db");
    let store = Store::open(&path).unwrap();
    let options = SyncOptions {
        reconcile_every: chrono::Duration::zero(),
        ..SyncOptions::default()
    };
    let text = "[[rules]]\nname = \"done\"\nwhen = { property = \"Status\", changed_to = \"Done\" }\nactions = [{ append = \"Done.\" }]\n";
    let entries = common::rule_entries(text);
    let rules = tasksync::rules::compile(
        &entries,
        &source,
        &tasksync::config::MailConfig::default(),
        5,
    )
    .unwrap();
    let run = || sync(&client, Some(&store), &source, &rules, &options);
    run().await.unwrap();

    let pages = simulator.page_ids();
    let edit = |page: String, body: serde_json::Value| {
        let simulator = &simulator;
        async move { common::edit_as_person(simulator, &page, &body).await }
    };
    let status = |name: &str| json!({ "properties": { "Status": { "status": { "name": name } } } });
    edit(pages[0].clone(), status("To do")).await;
    edit(pages[1].clone(), status("To do")).await;
    run().await.unwrap();
    edit(pages[0].clone(), status("In progress")).await;
    edit(pages[1].clone(), status("In progress")).await;
    run().await.unwrap();
    edit(pages[0].clone(), status("Done")).await;
    edit(pages[2].clone(), json!({ "in_trash": true })).await;
    run().await.unwrap();

    let connection = rusqlite::Connection::open(&path).unwrap();
    assert!(
        blocks.iter().filter(|b| b.contains("AS who")).count() >= 2,
        "the README shows who did what"
    );
    for block in blocks {
        let mut statement = connection
            .prepare(&block)
            .unwrap_or_else(|e| panic!("{e}\n{block}"));
        let who = statement.column_index("who").ok();
        let people: Vec<Option<String>> = statement
            .query_map([], |row| match who {
                Some(index) => row.get::<_, Option<String>>(index),
                None => Ok(None),
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!people.is_empty(), "no rows from:\n{block}");
        // A query that names people names them: a name, not a user id.
        if who.is_some() {
            for person in &people {
                let person = person.as_deref().unwrap_or_default();
                assert!(
                    !person.is_empty() && NotionId::parse(person).is_err(),
                    "`{person}` is not a name, from:\n{block}"
                );
            }
        }
    }
}

fn toml_rule_blocks(readme: &str) -> Vec<String> {
    common::fenced_blocks(readme, "toml")
        .into_iter()
        .filter(|block| block.contains("[[rules]]"))
        .collect()
}

#[tokio::test]
async fn every_rule_example_in_the_readme_compiles_against_the_schema() {
    let blocks = toml_rule_blocks(include_str!("../README.md"));
    assert!(
        blocks.len() >= 7,
        "the README shows its rules: {}",
        blocks.len()
    );
    let simulator = common::simulator(SimulatorOptions {
        tasks: 1,
        ..SimulatorOptions::default()
    })
    .await;
    let client = common::client(&simulator, ApiVersion::V2026_03_11);
    let database = NotionId::parse(&simulator.database_id()).unwrap();
    let source = client.resolve_data_source(&database, None).await.unwrap();
    let mut rules = 0;
    for block in blocks {
        let config = tasksync::config::parse(&block)
            .unwrap_or_else(|problems| panic!("{problems:?}\n{block}"));
        let entries: Vec<tasksync::config::RuleEntry> = config
            .rules
            .into_iter()
            .map(|rule| tasksync::config::RuleEntry {
                source: None,
                file: "README.md".into(),
                text: block.clone().into(),
                rule,
            })
            .collect();
        rules += entries.len();
        let compiled = tasksync::rules::compile(
            &entries,
            &source,
            // The README's configuration sets the sender under [mail]; rules need one.
            &tasksync::config::MailConfig {
                from: Some("tasksync <tasksync@example.com>".into()),
                ..tasksync::config::MailConfig::default()
            },
            5,
        );
        assert!(compiled.is_ok(), "{:?}\n{block}", compiled.err());
    }
    assert!(rules >= 10, "{rules} rules");
}
