//! Benchmark: what a durable commit before an outside effect costs per action
//! (`cargo bench --bench durable`; docs/semantics.md, "Durable before an effect").
//!
//! A mirror in `target/` (on the disk the mirror would be on, not a memory file system) with
//! 1,000 queued `set` actions. Each is marked `running` (`synchronous = FULL`: the log is synced
//! before the effect) and then finished (`NORMAL`), the two single-row commits the executor makes
//! around every Notion write; the difference is the price of durability per action.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use tasksync::model::PropertyWrite;
use tasksync::model::automation::{
    ActionStatus, Firing, FiringStatus, PlannedAction, PlannedWrite,
};
use tasksync::model::run::SyncKind;
use tasksync::model::stored::MirroredTask;
use tasksync::store::{Batch, Store};

const ACTIONS: usize = 1000;
const SOURCE: &str = "22222222-2222-2222-2222-222222222222";
const AT: &str = "2026-07-10T09:30:00.000Z";

fn task(number: usize) -> MirroredTask {
    MirroredTask {
        id: format!("00000000-0000-0000-0000-{number:012}"),
        data_source_id: SOURCE.into(),
        title: format!("Task {number}"),
        status: Some("To do".into()),
        url: format!("https://www.notion.so/{number}"),
        created_time: AT.into(),
        last_edited_time: AT.into(),
        created_by: None,
        last_edited_by: None,
        deleted_at: None,
        properties_json: "{}".into(),
        content_hash: format!("hash{number}"),
    }
}

fn firing(number: usize) -> Firing {
    Firing {
        rule: "urgent".into(),
        task_id: task(number).id,
        transition: format!("t{number}"),
        status: FiringStatus::Fired,
        reason: None,
        chain_depth: 1,
        actions: vec![PlannedAction::Set {
            writes: vec![PlannedWrite {
                property: "Status".into(),
                property_id: "status-id".into(),
                value: PropertyWrite::Status("Done".into()),
                text: "Done".into(),
            }],
        }],
    }
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
        let dir = tempfile::tempdir_in(&target).unwrap();
        let store = Store::open(&dir.path().join("mirror.db")).unwrap();
        store
            .save_source(
                SOURCE.into(),
                None,
                "Tasks".into(),
                Default::default(),
                Vec::new(),
                AT.into(),
            )
            .await
            .unwrap();
        let run_id = store
            .start_run(SOURCE.into(), SyncKind::Full, AT.into())
            .await
            .unwrap();
        store
            .apply_batch(Batch {
                data_source_id: SOURCE.into(),
                run_id,
                observed_at: AT.into(),
                upserts: (0..ACTIONS).map(task).collect(),
                firings: (0..ACTIONS).map(firing).collect(),
                ..Batch::default()
            })
            .await
            .unwrap();
        let ids: Vec<i64> = store
            .queued_actions(ACTIONS)
            .await
            .unwrap()
            .iter()
            .map(|action| action.id)
            .collect();
        assert_eq!(ids.len(), ACTIONS);
        let (mut durable, mut normal) = (Duration::ZERO, Duration::ZERO);
        for id in ids {
            let started = Instant::now();
            store.start_action(id, AT.into()).await.unwrap();
            durable += started.elapsed();
            let started = Instant::now();
            store
                .finish_action(id, ActionStatus::Done, None, AT.into())
                .await
                .unwrap();
            normal += started.elapsed();
        }
        let per = |total: Duration| total.as_secs_f64() * 1e6 / ACTIONS as f64;
        println!(
            "{ACTIONS} actions: marked running (FULL) {:.0} µs each, finished (NORMAL) {:.0} µs each: durability costs {:.0} µs per action",
            per(durable),
            per(normal),
            per(durable) - per(normal)
        );
    });
}
