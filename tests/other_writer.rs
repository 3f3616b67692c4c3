//! Another writer using the integration's token is detected (docs/semantics.md, "One actor"):
//! an edit by our bot that none of tasksync's journals made — not a rule's action, not a
//! `tasks` command, not a create of ours — is reported by the next sync, recorded, and turns
//! `status --check` to WARNING.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use serde_json::json;
use tasksync::notion::ApiVersion;
use tasksync::simulator::SimulatorOptions;

const RULES: &str = r#"
[[rules]]
name = "urgent-starts-work"
when = { property = "Priority", changed_to = "Urgent" }
actions = [{ set = { Status = "In progress" } }]

[[rules]]
name = "done-gets-a-follow-up"
when = { property = "Status", changed_to = "Done" }
actions = [{ create = { properties = { Name = "Follow up on {{ task.title }}" } } }]
"#;

fn sync(dir: &Path, token: &str) -> String {
    let output = common::run_with_token(dir, &["sync"], token);
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned() + &String::from_utf8_lossy(&output.stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_with_our_token_that_tasksync_did_not_make_is_reported() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 5,
        ..SimulatorOptions::default()
    })
    .await;
    let token = simulator.token().to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[notion]\ndatabase = \"{}\"\nbase_url = \"{}\"\nrequests_per_second = 1000\n[store]\npath = \"mirror.db\"\n{RULES}",
        simulator.database_id(),
        simulator.base_url()
    );
    std::fs::write(dir.path().join("tasksync.toml"), config).unwrap();
    let work = dir.path().to_path_buf();
    tokio::task::block_in_place(|| sync(&work, &token));
    let pages = simulator.page_ids();

    // tasksync's own writes: a rule's set (the sync after the person's edit performs it), a
    // `tasks set-status` from the command line, and a rule's create. None is another writer's.
    common::edit_as_person(
        &simulator,
        &pages[0],
        &json!({ "properties": { "Priority": { "select": { "name": "Urgent" } } } }),
    )
    .await;
    common::edit_as_person(
        &simulator,
        &pages[1],
        &json!({ "properties": { "Status": { "status": { "name": "To do" } } } }),
    )
    .await;
    tokio::task::block_in_place(|| sync(&work, &token));
    let set = tokio::task::block_in_place(|| {
        common::run_with_token(&work, &["tasks", "set-status", "TASK-2", "Done"], &token)
    });
    assert!(set.status.success(), "{set:?}");
    let own = tokio::task::block_in_place(|| sync(&work, &token) + &sync(&work, &token));
    assert!(!own.contains("another writer"), "{own}");
    assert!(
        own.contains("1 new"),
        "the follow-up was created and mirrored: {own}"
    );
    let (code, line) = tokio::task::block_in_place(|| common::status_check(&work, &token));
    assert_eq!(code, 0, "{line}");
    // A person's edit through the CLI is that person's: the rule on Done fired on it (the
    // follow-up above). History says which edit came from where: the CLI's by its journal,
    // the rule's by its action.
    let mirror = work.join("mirror.db");
    let via = rusqlite::Connection::open(&mirror)
        .unwrap()
        .query_row(
            "SELECT o.via FROM task_changes c JOIN own_edits o
               ON o.task_id = c.task_id AND o.property_id = c.property_id AND o.value = c.new_value
             WHERE c.property = 'Status' AND c.new_value = 'Done'",
            [],
            |row| row.get::<_, String>(0),
        )
        .unwrap();
    assert_eq!(via, "tasks set-status");
    assert_eq!(
        common::sql_number(
            &mirror,
            "SELECT count(*) FROM rule_firings f JOIN tasks t ON t.id = f.task_id
             WHERE f.rule = 'done-gets-a-follow-up' AND t.id = (SELECT task_id FROM own_edits WHERE via = 'tasks set-status')"
        ),
        Some(1)
    );

    // Another process with the same token: a script's PATCH, and a page it creates.
    let raw = common::Raw::new(&simulator, ApiVersion::V2026_03_11);
    let (status, _) = raw
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/pages/{}", pages[2]),
            Some(json!({ "properties": { "Priority": { "select": { "name": "Low" } } } })),
        )
        .await;
    assert_eq!(status, 200);
    let source = simulator.data_sources()[0].0.clone();
    let (status, _) = raw
        .send(
            reqwest::Method::POST,
            "/v1/pages",
            Some(json!({
                "parent": { "type": "data_source_id", "data_source_id": source },
                "properties": { "Name": { "title": [{ "text": { "content": "Made by a script" } }] } }
            })),
        )
        .await;
    assert_eq!(status, 200);
    let found = tokio::task::block_in_place(|| sync(&work, &token));
    assert!(
        found.contains("another writer using this integration edited TASK-3")
            && found.contains("(Priority)"),
        "{found}"
    );
    assert!(found.contains("\"Made by a script\""), "{found}");
    assert!(found.contains("(created the page)"), "{found}");
    assert!(
        found.contains("Another writer: 2 edit(s) by this integration"),
        "{found}"
    );
    let (code, line) = tokio::task::block_in_place(|| common::status_check(&work, &token));
    assert_eq!(code, 1, "{line}");
    assert!(
        line.starts_with("TASKSYNC WARNING")
            && line.contains("another writer using this integration edited"),
        "{line}"
    );
    let status = tokio::task::block_in_place(|| common::run_with_token(&work, &["status"], &token));
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("Another writer with this integration's token edited TASK-3"),
        "{text}"
    );

    // Found once: the next sync reads the same versions again (the overlap) and says nothing.
    let again = tokio::task::block_in_place(|| sync(&work, &token));
    assert!(!again.contains("another writer"), "{again}");
}
