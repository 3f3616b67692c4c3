use super::super::testing::{AT, SOURCE, batch, mirror, task, with_source};
use super::*;
use crate::model::PropertyWrite;
use crate::model::automation::PlannedWrite;

const A: &str = "11111111-1111-1111-1111-111111111111";

fn set(value: &str) -> PlannedAction {
    PlannedAction::Set {
        writes: vec![PlannedWrite {
            property: "Status".into(),
            property_id: "status-id".into(),
            value: PropertyWrite::Status(value.into()),
            text: value.into(),
        }],
    }
}

fn firing(transition: &str, actions: Vec<PlannedAction>) -> Firing {
    Firing {
        rule: "urgent".into(),
        task_id: A.into(),
        transition: transition.into(),
        status: FiringStatus::Fired,
        reason: None,
        chain_depth: 1,
        actions,
    }
}

async fn with_task() -> (tempfile::TempDir, Store) {
    let (dir, store) = mirror();
    with_source(&store).await;
    let mut first = batch();
    first.upserts = vec![task(A, 1)];
    store.apply_batch(first).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn a_transition_is_recorded_once_with_its_actions_queued_once() {
    let (_dir, store) = with_task().await;
    for _ in 0..2 {
        let mut again = batch();
        again.firings = vec![firing("t1", vec![set("In progress")])];
        store.apply_batch(again).await.unwrap();
    }
    let firings = store.firings_of(A.into()).await.unwrap();
    assert_eq!(firings.len(), 1, "the same transition fires once");
    assert_eq!(firings[0].status, FiringStatus::Fired);
    let queued = store.queued_actions(10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].task, "TASK-1 \"Task 1\"");
    assert_eq!(queued[0].action, set("In progress"));
    assert_eq!(queued[0].attempts, 0);
}

#[tokio::test]
async fn an_action_runs_then_finishes_and_our_writes_are_recognised() {
    let (_dir, store) = with_task().await;
    let mut first = batch();
    first.firings = vec![firing("t1", vec![set("Done")])];
    store.apply_batch(first).await.unwrap();
    let id = store.queued_actions(10).await.unwrap()[0].id;
    store.start_action(id, AT.into()).await.unwrap();
    let interrupted = store.queued_actions(10).await.unwrap();
    assert_eq!(
        interrupted[0].attempts, 1,
        "a running action is taken up again"
    );
    store
        .finish_action(id, ActionStatus::Done, None, AT.into())
        .await
        .unwrap();
    assert!(store.queued_actions(10).await.unwrap().is_empty());
    let ours = store.own_writes(A.into(), AT.into()).await.unwrap();
    assert_eq!(ours, vec![(set("Done"), 1)]);
    let later = "2026-07-11T00:00:00.000Z";
    assert!(
        store
            .own_writes(A.into(), later.into())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_append_batch_is_journalled_before_and_after_it_is_sent() {
    let (_dir, store) = with_task().await;
    let mut first = batch();
    first.firings = vec![firing(
        "t1",
        vec![PlannedAction::Append {
            text: "x".into(),
            format: Default::default(),
        }],
    )];
    store.apply_batch(first).await.unwrap();
    let id = store.queued_actions(10).await.unwrap()[0].id;
    assert_eq!(store.append_batch(id, 0).await.unwrap(), None);
    store
        .start_append_batch(id, 0, Some("block-9".into()), AT.into())
        .await
        .unwrap();
    let started = store.append_batch(id, 0).await.unwrap().unwrap();
    assert_eq!(started.anchor.as_deref(), Some("block-9"));
    assert_eq!(started.block_ids, None, "sent, outcome unknown");
    store
        .land_append_batch(id, 0, vec!["block-10".into()], AT.into())
        .await
        .unwrap();
    let landed = store.append_batch(id, 0).await.unwrap().unwrap();
    assert_eq!(landed.block_ids, Some(vec!["block-10".to_string()]));
}

#[tokio::test]
async fn time_rules_record_who_is_inside_and_when_they_were_evaluated() {
    let (_dir, store) = with_task().await;
    let rule = "overdue".to_string();
    assert_eq!(
        store
            .rule_baseline(rule.clone(), SOURCE.into())
            .await
            .unwrap(),
        None
    );
    let inside = RuleStateChange {
        rule: rule.clone(),
        task_id: A.into(),
        inside: true,
    };
    store
        .apply_time_evaluation(
            SOURCE.into(),
            vec![rule.clone()],
            Vec::new(),
            vec![inside.clone()],
            AT.into(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .rule_baseline(rule.clone(), SOURCE.into())
            .await
            .unwrap()
            .as_deref(),
        Some(AT)
    );
    assert_eq!(
        store.rule_states(vec![A.into()]).await.unwrap(),
        HashSet::from([(rule.clone(), A.to_string())])
    );
    let mut leaves = batch();
    leaves.rule_states = vec![RuleStateChange {
        inside: false,
        ..inside
    }];
    store.apply_batch(leaves).await.unwrap();
    assert!(store.all_rule_states(rule).await.unwrap().is_empty());
}

#[tokio::test]
async fn suspensions_report_the_rules_newly_suspended_and_resumed() {
    let (_dir, store) = mirror();
    let (new, resumed) = store
        .rules_suspended(vec![("a".into(), "no Priority".into())], Vec::new())
        .await
        .unwrap();
    assert_eq!((new, resumed), (vec!["a".to_string()], Vec::new()));
    let (new, resumed) = store
        .rules_suspended(vec![("b".into(), "no Due".into())], Vec::new())
        .await
        .unwrap();
    assert_eq!(
        (new, resumed),
        (vec!["b".to_string()], vec!["a".to_string()])
    );
    let summary = store.summary(AT.into()).await.unwrap();
    assert_eq!(summary.suspended_rules.len(), 1);
    assert_eq!(summary.suspended_rules[0].reason, "no Due");
    // Another source's rules decide nothing about b: it stays suspended.
    let (new, resumed) = store
        .rules_suspended(vec![("c".into(), "no Owner".into())], vec!["b".into()])
        .await
        .unwrap();
    assert_eq!((new, resumed), (vec!["c".to_string()], Vec::new()));
    assert_eq!(
        store
            .summary(AT.into())
            .await
            .unwrap()
            .suspended_rules
            .len(),
        2
    );
}

#[tokio::test]
async fn commits_before_an_effect_are_durable_and_bulk_writes_are_not() {
    let (_dir, store) = with_task().await;
    let mut queued = batch();
    queued.firings = vec![firing(
        "t1",
        vec![
            set("Done"),
            PlannedAction::Mail {
                to: vec!["ada@example.com".into()],
                cc: Vec::new(),
                skipped: Vec::new(),
                subject: "Urgent".into(),
                body: "Body".into(),
                html: None,
            },
            PlannedAction::Webhook {
                target: crate::model::automation::WebhookTarget::Url(
                    "https://example.com/hook".into(),
                ),
                content_type: "application/json".into(),
                body: "{}".into(),
            },
        ],
    )];
    store.apply_batch(queued).await.unwrap();
    let action = store.queued_actions(10).await.unwrap()[0].id;
    let mail = store.due_mail(AT.into(), 10).await.unwrap()[0].id;
    let webhook = store.due_webhooks(AT.into(), 10).await.unwrap()[0].id;
    store.commits.lock().unwrap().clear();

    // Each step an outside effect follows.
    store.start_action(action, AT.into()).await.unwrap();
    store
        .start_append_batch(action, 0, None, AT.into())
        .await
        .unwrap();
    store.start_mail(mail).await.unwrap();
    store.start_webhook(webhook).await.unwrap();
    store
        .record_own_edit(
            A.into(),
            "status-id".into(),
            Some("Done".into()),
            "tasks set-status",
            AT.into(),
        )
        .await
        .unwrap();
    // And a bulk write, and what follows an effect.
    store.apply_batch(batch()).await.unwrap();
    store
        .finish_action(action, ActionStatus::Done, None, AT.into())
        .await
        .unwrap();

    // SQLite's `synchronous` as each step ended: 2 is FULL, 1 NORMAL.
    let commits = store.commits.lock().unwrap().clone();
    assert_eq!(
        commits,
        [
            ("mark an action running", 2),
            ("record an append batch's anchor", 2),
            ("mark a mail sending", 2),
            ("mark a webhook sending", 2),
            ("record a write of a tasks command", 2),
            ("store a page of tasks with its history and firings", 1),
            ("record an action's outcome", 1),
        ]
    );
}
