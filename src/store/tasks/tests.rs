//! Unit tests of `tasks`.

use super::super::testing::{AT, RUN, SOURCE, batch, change, mirror, task, with_source};
use super::*;

const A: &str = "11111111-1111-1111-1111-111111111111";
const B: &str = "33333333-3333-3333-3333-333333333333";

#[tokio::test]
async fn a_batch_stores_rows_history_and_the_cursor_together() {
    let (_dir, store) = mirror();
    with_source(&store).await;
    let mut first = batch();
    first.upserts = vec![task(A, 1), task(B, 2)];
    first.changes = vec![change(A, "Priority", Some("Low"), Some("Urgent"))];
    first.cursor = Some("2026-07-10T09:00:00.000Z".into());
    store.apply_batch(first).await.unwrap();
    let versions = store
        .stored_versions(vec![A.into(), B.into(), "missing".into()])
        .await
        .unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[A].content_hash, "hash1");
    let history = store.history(A.into()).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].new_value.as_deref(), Some("Urgent"));
    let state = store.sync_state(SOURCE.into()).await.unwrap().unwrap();
    assert_eq!(state.cursor.as_deref(), Some("2026-07-10T09:00:00.000Z"));
    // The cursor never moves back.
    let mut older = batch();
    older.cursor = Some("2026-07-10T08:00:00.000Z".into());
    store.apply_batch(older).await.unwrap();
    let state = store.sync_state(SOURCE.into()).await.unwrap().unwrap();
    assert_eq!(state.cursor.as_deref(), Some("2026-07-10T09:00:00.000Z"));
}

#[tokio::test]
async fn a_batch_that_fails_leaves_nothing_behind() {
    let (_dir, store) = mirror();
    with_source(&store).await;
    let mut broken = batch();
    broken.upserts = vec![task(A, 1)];
    broken.cursor = Some(AT.into());
    // A history row of a task the mirror does not have breaks the foreign key.
    broken.changes = vec![change("no-such-task", "Priority", None, Some("Low"))];
    let error = store.apply_batch(broken).await.unwrap_err();
    assert!(
        format!("{error:#}").contains("cannot store a page of tasks"),
        "{error:#}"
    );
    assert!(
        store
            .stored_versions(vec![A.into()])
            .await
            .unwrap()
            .is_empty()
    );
    let state = store.sync_state(SOURCE.into()).await.unwrap().unwrap();
    assert_eq!(state.cursor, None, "the cursor moves with its tasks only");
}

#[tokio::test]
async fn deleted_tasks_get_a_history_row_and_the_reconcile_is_noted() {
    let (_dir, store) = mirror();
    with_source(&store).await;
    let mut first = batch();
    first.upserts = vec![task(A, 1), task(B, 2)];
    store.apply_batch(first).await.unwrap();
    store
        .mark_deleted(SOURCE.into(), vec![B.into()], Vec::new(), AT.into(), RUN)
        .await
        .unwrap();
    // A scan that saw A and B: nothing gone, B returned; one that saw neither: A gone.
    let key = |id: &str| NotionId::parse(id).unwrap().key();
    let (gone, returned) = store
        .scan_differences(SOURCE.into(), HashSet::from([key(A), key(B)]))
        .await
        .unwrap();
    assert!(gone.is_empty());
    assert_eq!(returned, [NotionId::parse(B).unwrap()]);
    let (gone, returned) = store
        .scan_differences(SOURCE.into(), HashSet::new())
        .await
        .unwrap();
    assert_eq!((gone, returned), (vec![A.to_string()], Vec::new()));
    // Seen and never stored: returned.
    let (_, returned) = store
        .scan_differences(SOURCE.into(), HashSet::from([7]))
        .await
        .unwrap();
    assert_eq!(returned, [NotionId::from_key(7)]);
    let history = store.history(B.into()).await.unwrap();
    assert_eq!(history[0].property, DELETED);
    assert_eq!(history[0].new_value.as_deref(), Some(AT));
    let state = store.sync_state(SOURCE.into()).await.unwrap().unwrap();
    assert_eq!(state.last_reconcile_at.as_deref(), Some(AT));
    assert_eq!(store.live_tasks(SOURCE.into()).await.unwrap().len(), 1);
    assert_eq!(store.list_tasks(None, true).await.unwrap().len(), 2);
    assert_eq!(store.list_tasks(None, false).await.unwrap().len(), 1);
}

#[tokio::test]
async fn tasks_are_found_by_page_id_or_unique_number_and_status() {
    let (_dir, store) = mirror();
    with_source(&store).await;
    let mut first = batch();
    let mut done = task(B, 2);
    done.status = Some("Done".into());
    first.upserts = vec![task(A, 1), done];
    store.apply_batch(first).await.unwrap();
    let by_number = store.find_task(None, Some(2)).await.unwrap();
    assert_eq!(by_number[0].id, B);
    assert_eq!(by_number.len(), 1);
    let by_id = store.find_task(Some(A.into()), None).await.unwrap();
    assert_eq!(by_id[0].title, "Task 1");
    assert!(store.find_task(None, Some(9)).await.unwrap().is_empty());
    let done = store.list_tasks(Some("DONE".into()), false).await.unwrap();
    assert_eq!(done.len(), 1, "status matches without case");
    let rows = store
        .tasks_by_id(vec![B.into(), "missing".into()])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].properties().unwrap()["ID"].text,
        "TASK-2",
        "the stored properties decode"
    );
}

#[tokio::test]
async fn a_rename_moves_history_and_former_names_are_remembered() {
    let (_dir, store) = mirror();
    with_source(&store).await;
    let mut first = batch();
    first.upserts = vec![task(A, 1)];
    first.changes = vec![change(A, "Priority", None, Some("Low"))];
    store.apply_batch(first).await.unwrap();
    let schema = |name: &str| {
        BTreeMap::from([
            ("title".to_string(), "Name".to_string()),
            ("Priority-id".to_string(), name.to_string()),
        ])
    };
    let save = |name: &'static str, renames: Vec<(String, String, String)>| {
        store.save_source(
            SOURCE.into(),
            None,
            "Tasks".into(),
            schema(name),
            renames,
            AT.into(),
        )
    };
    save("Priority", Vec::new()).await.unwrap();
    let renames = vec![("Priority-id".into(), "Priority".into(), "Prio".into())];
    save("Prio", renames).await.unwrap();
    let history = store.history(A.into()).await.unwrap();
    assert_eq!(history[0].property, "Prio", "history follows the rename");
    let former = store
        .former_names(&crate::model::DataSource {
            id: NotionId::parse(SOURCE).unwrap(),
            database_id: None,
            name: "Tasks".into(),
            properties: [(
                "Prio".to_string(),
                crate::model::PropertySchema {
                    id: "Priority-id".into(),
                    name: "Prio".into(),
                    kind: "select".into(),
                    options: Vec::new(),
                    computed_from: Vec::new(),
                    groups: Vec::new(),
                },
            )]
            .into(),
        })
        .await;
    assert_eq!(former.get("Priority").map(String::as_str), Some("Prio"));
}

#[tokio::test]
async fn users_name_people_and_the_bot_is_kept() {
    let (_dir, store) = mirror();
    with_source(&store).await;
    let ada = crate::model::User {
        id: "ada".into(),
        name: Some("Ada Hopper".into()),
        email: Some("ada@example.com".into()),
        kind: Some("person".into()),
    };
    store.save_users(vec![ada], AT.into()).await.unwrap();
    let names = store.user_names().await.unwrap();
    assert_eq!(names["ada"], "Ada Hopper");
    let mut first = batch();
    first.upserts = vec![task(A, 1)];
    first.changes = vec![change(A, "Priority", None, Some("Low"))];
    store.apply_batch(first).await.unwrap();
    let history = store.history(A.into()).await.unwrap();
    assert_eq!(history[0].by(), Some("Ada Hopper"));
    assert_eq!(store.bot_user_id(SOURCE.into()).await.unwrap(), None);
    store
        .save_bot_user_id(SOURCE.into(), "bot-1".into())
        .await
        .unwrap();
    assert_eq!(
        store.bot_user_id(SOURCE.into()).await.unwrap().as_deref(),
        Some("bot-1")
    );
    let held = store.mirrored_data_sources().await.unwrap();
    assert_eq!(held, vec![(SOURCE.to_string(), "Tasks".to_string())]);
}

#[tokio::test]
async fn a_full_sync_spaces_checkpoints_out_and_turns_them_back_on() {
    let (_dir, store) = mirror();
    let interval = |store: &Store| -> i64 {
        store
            .connection
            .lock()
            .unwrap()
            .pragma_query_value(None, "wal_autocheckpoint", |row| row.get(0))
            .unwrap()
    };
    assert_eq!(interval(&store), 1000);
    store.defer_checkpoints().await.unwrap();
    assert_eq!(interval(&store), super::super::DEFERRED_CHECKPOINT_PAGES);
    store.resume_checkpoints().await.unwrap();
    assert_eq!(interval(&store), 1000);
}
