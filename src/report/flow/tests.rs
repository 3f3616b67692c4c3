//! The flow figures of a hand-made history, against values computed by hand: a plain task, a
//! re-opened one, one that skipped In progress, one deleted and restored, one deleted for good,
//! and one not started.

use super::*;
use crate::model::{SelectOption, StatusGroup};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("2026-{text}:00Z"))
        .unwrap()
        .with_timezone(&Utc)
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(&format!("2026-{text}"), "%Y-%m-%d").unwrap()
}

fn workflow() -> Workflow {
    let option = |id: &str, name: &str| SelectOption {
        id: Some(id.into()),
        name: name.into(),
        color: None,
    };
    let group = |name: &str, ids: &[&str]| StatusGroup {
        name: name.into(),
        option_ids: ids.iter().map(ToString::to_string).collect(),
    };
    Workflow::from_schema(&PropertySchema {
        id: "St".into(),
        name: "Status".into(),
        kind: "status".into(),
        // Notion lists options in its own order; the groups give the flow's.
        options: vec![
            option("o3", "Done"),
            option("o1", "Not started"),
            option("o2", "In progress"),
        ],
        computed_from: Vec::new(),
        groups: vec![
            group("To-do", &["o1"]),
            group("In progress", &["o2"]),
            group("Complete", &["o3"]),
        ],
    })
}

fn task(
    id: &str,
    created: &str,
    changes: &[(&str, &str)],
    trashed: &[(&str, Option<&str>)],
) -> TaskHistory {
    let mut statuses = vec![(at(created), Some(Arc::from("Not started")))];
    statuses.extend(
        changes
            .iter()
            .map(|(when, status)| (at(when), Some(Arc::from(*status)))),
    );
    TaskHistory {
        id: id.into(),
        created: at(created),
        statuses,
        trashed: trashed
            .iter()
            .map(|(from, until)| (at(from), until.map(at)))
            .collect(),
        known_from: at(created),
    }
}

fn history() -> Vec<TaskHistory> {
    vec![
        task(
            "plain",
            "11-02T09:00",
            &[("11-03T10:00", "In progress"), ("11-05T10:00", "Done")],
            &[],
        ),
        task(
            "reopened",
            "11-02T09:00",
            &[
                ("11-03T09:00", "In progress"),
                ("11-04T09:00", "Done"),
                ("11-06T09:00", "In progress"),
                ("11-09T12:00", "Done"),
            ],
            &[],
        ),
        task(
            "straight-to-done",
            "11-02T09:00",
            &[("11-04T09:00", "Done")],
            &[],
        ),
        task(
            "back-from-trash",
            "11-02T09:00",
            &[("11-06T09:00", "In progress")],
            &[("11-03T12:00", Some("11-05T12:00"))],
        ),
        task(
            "deleted",
            "11-02T09:00",
            &[("11-03T09:00", "In progress")],
            &[("11-04T09:00", None)],
        ),
        task("new", "11-08T09:00", &[], &[]),
    ]
}

#[test]
fn the_workflow_follows_the_status_groups() {
    let workflow = workflow();
    let names: Vec<&str> = workflow.statuses.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Not started", "In progress", "Done"]);
    assert_eq!(workflow.stage("Done"), Some(Stage::Complete));
    assert_eq!(workflow.stage("Archived"), None);
}

#[test]
fn cumulative_flow_counts_each_status_at_the_end_of_each_day() {
    let flow = cumulative_flow(
        &history(),
        &workflow(),
        &[day("11-03"), day("11-04"), day("11-05"), day("11-09")],
    );
    let counts: Vec<Vec<usize>> = flow.into_iter().map(|d| d.counts).collect();
    // [Not started, In progress, Done]
    assert_eq!(
        counts,
        [
            vec![1, 3, 0], // restored is in the trash; new does not exist yet
            vec![0, 1, 2], // deleted went to the trash; reopened and skipped are done
            vec![1, 0, 3], // restored is back, not started
            vec![1, 1, 3], // new; restored in progress; reopened done again
        ]
    );
}

/// The one-pass count agrees with asking each task its status at the end of each day, on
/// random histories (changes on the same minute, trash stays open and closed, days before the
/// first task and after the last change).
#[test]
fn cumulative_flow_agrees_with_each_tasks_status_at_each_days_end() {
    use rand::rngs::SmallRng;
    use rand::{RngExt, SeedableRng};
    let workflow = workflow();
    let names = ["Not started", "In progress", "Done", "Archived"];
    let mut rng = SmallRng::seed_from_u64(18);
    let start = at("10-01T00:00");
    let minutes = |rng: &mut SmallRng| Duration::minutes(rng.random_range(0..40 * 24 * 60));
    let tasks: Vec<TaskHistory> = (0..300)
        .map(|i| {
            let created = start + minutes(&mut rng);
            let mut statuses = vec![(created, Some(Arc::from(names[rng.random_range(0..4)])))];
            for _ in 0..rng.random_range(0..6) {
                let when = created + Duration::minutes(rng.random_range(0..10 * 24 * 60));
                let status =
                    (rng.random_range(0..5) > 0).then(|| Arc::from(names[rng.random_range(0..4)]));
                statuses.push((when, status));
            }
            statuses.sort_by_key(|(when, _)| *when);
            let trashed = (0..rng.random_range(0..3))
                .map(|_| {
                    let from = start + minutes(&mut rng);
                    let until = rng
                        .random_bool(0.6)
                        .then(|| from + Duration::minutes(rng.random_range(0..5 * 24 * 60)));
                    (from, until)
                })
                .collect();
            TaskHistory {
                id: format!("t{i}"),
                created,
                statuses,
                trashed,
                known_from: created,
            }
        })
        .collect();
    let days: Vec<NaiveDate> = day("09-28")
        .iter_days()
        .take_while(|d| *d <= day("11-30"))
        .collect();
    let flow = cumulative_flow(&tasks, &workflow, &days);
    for counts in &flow {
        let end = end_of(counts.day);
        let expected: Vec<usize> = workflow
            .statuses
            .iter()
            .map(|(name, _)| {
                tasks
                    .iter()
                    .filter(|t| t.status_at(end) == Some(name.as_str()))
                    .count()
            })
            .collect();
        assert_eq!(counts.counts, expected, "{}", counts.day);
    }
    assert!(flow.iter().any(|d| d.counts.iter().sum::<usize>() > 100));
}

#[test]
fn cycle_and_lead_times_count_to_the_last_completion() {
    let now = at("11-10T09:00");
    let mut cycle = cycle_times(&history(), &workflow(), now);
    cycle.sort();
    // plain: 3 Nov 10:00 → 5 Nov 10:00; reopened: 3 Nov 09:00 → 9 Nov 12:00; skipped has none.
    assert_eq!(
        cycle,
        [Duration::days(2), Duration::days(6) + Duration::hours(3)]
    );
    let spread_cycle = spread(&cycle);
    assert_eq!(spread_cycle.count, 2);
    assert_eq!(spread_cycle.median, Some(Duration::days(2)));
    assert_eq!(
        spread_cycle.p85,
        Some(Duration::days(6) + Duration::hours(3))
    );
    let lead = lead_times(&history(), &workflow(), now);
    let spread_lead = spread(&lead);
    // 3 d 1 h, 7 d 3 h, 2 d.
    assert_eq!(spread_lead.count, 3);
    assert_eq!(
        spread_lead.median,
        Some(Duration::days(3) + Duration::hours(1))
    );
    assert_eq!(
        spread_lead.p85,
        Some(Duration::days(7) + Duration::hours(3))
    );
    assert_eq!(spread(&[]).median, None);
}

#[test]
fn throughput_counts_each_task_once_in_the_week_of_its_last_completion() {
    let now = at("11-10T09:00");
    assert_eq!(week_of(day("11-05")), day("11-02"));
    assert_eq!(
        throughput(&history(), &workflow(), now, &[day("11-02"), day("11-09")]),
        [(day("11-02"), 2), (day("11-09"), 1)]
    );
}

#[test]
fn aging_lists_open_tasks_by_time_in_their_status() {
    let now = at("11-10T09:00");
    let tasks = history();
    let open = aging(&tasks, &workflow(), now);
    let listed: Vec<(&str, &str, Duration)> = open
        .iter()
        .map(|a| (tasks[a.task].id.as_str(), a.status.as_str(), a.age))
        .collect();
    assert_eq!(
        listed,
        [
            ("back-from-trash", "In progress", Duration::days(4)),
            ("new", "Not started", Duration::days(2)),
        ]
    );
}

/// A task done before the mirror's history began (its first sync) counts in no throughput,
/// cycle or lead time: when it was done is unknown. One done after counts as usual.
#[test]
fn a_task_done_before_history_began_is_no_throughput() {
    let workflow = workflow();
    let now = at("11-30T12:00");
    let mut before = task("before", "10-01T09:00", &[], &[]);
    before.statuses[0].1 = Some(Arc::from("Done"));
    before.known_from = at("11-20T00:00");
    let mut after = task(
        "after",
        "10-01T09:00",
        &[("11-21T10:00", "In progress"), ("11-24T10:00", "Done")],
        &[],
    );
    after.known_from = at("11-20T00:00");
    let tasks = [before, after];
    assert_eq!(tasks[0].completed(&workflow, now), None);
    assert_eq!(tasks[1].completed(&workflow, now), Some(at("11-24T10:00")));
    let weeks = [day("11-16"), day("11-23")];
    assert_eq!(
        throughput(&tasks, &workflow, now, &weeks),
        [(day("11-16"), 0), (day("11-23"), 1)]
    );
    assert_eq!(lead_times(&tasks, &workflow, now).len(), 1);
    assert_eq!(cycle_times(&tasks, &workflow, now), [Duration::days(3)]);
    // In progress when history began: a start at an unknown time, so no cycle time.
    let mut working = task("working", "10-01T09:00", &[("11-25T10:00", "Done")], &[]);
    working.statuses[0].1 = Some(Arc::from("In progress"));
    working.known_from = at("11-20T00:00");
    assert!(cycle_times([&working], &workflow, now).is_empty());
    assert_eq!(lead_times([&working], &workflow, now).len(), 1);
}
