//! A team's work over the last weeks (`SimulatorOptions::history_days`): planned when the
//! simulator starts, with its clock set back that many days, and played as the clock moves on.
//! Each step is an edit as Notion records it: by a person of the team, at its own time
//! (minute-rounded), so a client that syncs as the clock moves sees the history happen.
//!
//! Plausible, not random noise: tasks arrive on working days (a few a day, fewer at weekends),
//! wait in To do, are started and finished during working hours; most take a few days, some a
//! few weeks; a few go straight to Done, a few are re-opened, and some wait long enough to age.
//! The tasks generated at the start that are not done move on in the same way.

use std::collections::VecDeque;

use chrono::{DateTime, Datelike, Duration, NaiveTime, Timelike, Utc, Weekday};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, Value};

use super::workspace::Workspace;
use crate::model::PropertyWrite;

/// How many people of the workspace do the work.
const TEAM: usize = 8;

const TITLES: [&str; 10] = [
    "Fix the login timeout",
    "Write the release notes",
    "Review the pricing page",
    "Migrate the billing jobs",
    "Answer the security questionnaire",
    "Plan the onboarding call",
    "Update the API examples",
    "Clean up the test fixtures",
    "Draft the quarterly report",
    "Triage the support backlog",
];

const PRIORITIES: [&str; 4] = ["Low", "Medium", "High", "Urgent"];

/// Which page a step edits: one that existed at the start, or the `n`th the plan creates.
#[derive(Clone, Copy, Debug)]
enum Target {
    Page(usize),
    Planned(usize),
}

#[derive(Clone, Debug)]
enum Step {
    Create {
        title: String,
        priority: &'static str,
        assignee: usize,
    },
    Status(&'static str),
}

#[derive(Clone, Debug)]
struct Planned {
    at: DateTime<Utc>,
    target: Target,
    /// The user (index in the workspace) who makes the edit.
    by: usize,
    step: Step,
}

/// The planned work, oldest first, and the pages it created so far.
pub(crate) struct Plan {
    steps: VecDeque<Planned>,
    created: Vec<Option<usize>>,
}

/// The next moment in working hours (9:00 to 18:00 UTC, Monday to Friday) at or after `at`.
fn working(at: DateTime<Utc>) -> DateTime<Utc> {
    let mut at = at;
    loop {
        let weekend = matches!(at.weekday(), Weekday::Sat | Weekday::Sun);
        if weekend || at.hour() >= 18 {
            let next = at.date_naive() + Duration::days(1);
            at = next.and_time(NaiveTime::MIN).and_utc() + Duration::hours(9);
        } else if at.hour() < 9 {
            at = at.date_naive().and_time(NaiveTime::MIN).and_utc() + Duration::hours(9);
        } else {
            return at;
        }
    }
}

impl Plan {
    /// Plans `days` days of work from `start` on the pages of the first data source.
    pub(crate) fn new(workspace: &Workspace, start: DateTime<Utc>, days: u32, seed: u64) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed ^ 0x4153_544f_5259);
        let team = TEAM.min(workspace.users.len()).max(1);
        let status_id = workspace.sources[0]
            .prop("Status")
            .map(|prop| prop.id.clone())
            .unwrap_or_default();
        let mut steps = Vec::new();
        for (index, page) in workspace.pages.iter().enumerate() {
            let status = page
                .values
                .get(&status_id)
                .and_then(|value| value["name"].as_str());
            if page.source != 0 || page.in_trash || !matches!(status, Some("To do" | "In progress"))
            {
                continue;
            }
            let began = working(start + Duration::minutes(rng.random_range(0..24 * 60)));
            let started = status == Some("In progress");
            progress(
                &mut rng,
                &mut steps,
                Target::Page(index),
                began,
                started,
                team,
            );
        }
        let mut planned = 0;
        for day in 0..i64::from(days) {
            let date = start + Duration::days(day);
            let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
            let arrivals = if weekend {
                rng.random_range(0..=1)
            } else {
                rng.random_range(1..=5)
            };
            for _ in 0..arrivals {
                let midnight = date.date_naive().and_time(NaiveTime::MIN).and_utc();
                let at = midnight + Duration::minutes(rng.random_range(8 * 60..19 * 60));
                if at < start {
                    continue;
                }
                let target = Target::Planned(planned);
                planned += 1;
                steps.push(Planned {
                    at,
                    target,
                    by: rng.random_range(0..team),
                    step: Step::Create {
                        title: TITLES[rng.random_range(0..TITLES.len())].to_string(),
                        priority: PRIORITIES[rng.random_range(0..PRIORITIES.len())],
                        assignee: rng.random_range(0..team),
                    },
                });
                progress(&mut rng, &mut steps, target, at, false, team);
            }
        }
        steps.sort_by_key(|step| step.at);
        Self {
            steps: steps.into(),
            created: vec![None; planned],
        }
    }

    /// Plays the steps due by `now`, each at its own time. A step on a page in the trash (or
    /// gone) is dropped, as Notion refuses edits to archived pages.
    pub(crate) fn play(&mut self, workspace: &mut Workspace, now: DateTime<Utc>) {
        while self.steps.front().is_some_and(|step| step.at <= now) {
            let Some(step) = self.steps.pop_front() else {
                break;
            };
            let actor = workspace.users[step.by]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            match step.step {
                Step::Create {
                    title,
                    priority,
                    assignee,
                } => {
                    let assignee = workspace.users[assignee]["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let writes = [
                        ("Name".to_string(), PropertyWrite::Title(title)),
                        ("Status".to_string(), PropertyWrite::Status("To do".into())),
                        (
                            "Priority".to_string(),
                            PropertyWrite::Select(Some(priority.into())),
                        ),
                        (
                            "Assignee".to_string(),
                            PropertyWrite::People(vec![assignee]),
                        ),
                    ];
                    let Some(values) =
                        properties(&writes).and_then(|map| workspace.prepare_writes(0, &map).ok())
                    else {
                        continue;
                    };
                    let index = workspace.insert_page(0, values, &actor, step.at);
                    if let Target::Planned(n) = step.target {
                        self.created[n] = Some(index);
                    }
                }
                Step::Status(status) => {
                    let index = match step.target {
                        Target::Page(index) => Some(index),
                        Target::Planned(n) => self.created[n],
                    };
                    let Some(index) =
                        index.filter(|i| workspace.pages.get(*i).is_some_and(|p| !p.in_trash))
                    else {
                        continue;
                    };
                    let writes = [("Status".to_string(), PropertyWrite::Status(status.into()))];
                    if let Some(map) = properties(&writes) {
                        // The plan's writes are valid for the generated schema; one that is not
                        // (a renamed option) is skipped, as a person would give up.
                        let _ = workspace.apply_edit(index, &map, None, &actor, step.at);
                    }
                }
            }
        }
    }

    /// Steps not played yet.
    pub(crate) fn remaining(&self) -> usize {
        self.steps.len()
    }
}

fn properties(writes: &[(String, PropertyWrite)]) -> Option<Map<String, Value>> {
    crate::notion::wire::property_writes_json(writes)
        .ok()
        .and_then(|body| body["properties"].as_object().cloned())
}

/// Plans a task's way from To do (or In progress, when `started`) at `from` to Done.
fn progress(
    rng: &mut SmallRng,
    steps: &mut Vec<Planned>,
    target: Target,
    from: DateTime<Utc>,
    started: bool,
    team: usize,
) {
    let worker = rng.random_range(0..team);
    let mut step = |at: DateTime<Utc>, status: &'static str| {
        steps.push(Planned {
            at,
            target,
            by: worker,
            step: Step::Status(status),
        });
    };
    let mut at = from;
    if !started {
        // Most wait days in To do; some wait weeks (the backlog ages).
        let wait = if rng.random_bool(0.12) {
            rng.random_range(20 * 24..60 * 24)
        } else {
            rng.random_range(2..10 * 24)
        };
        at = working(at + Duration::hours(wait));
        if rng.random_bool(0.08) {
            // Done without being started in Notion: a lead time, no cycle time.
            step(at, "Done");
            return;
        }
        step(at, "In progress");
    }
    let hours = match rng.random_range(0..10) {
        0..=5 => rng.random_range(3..4 * 24),
        6..=8 => rng.random_range(4 * 24..10 * 24),
        _ => rng.random_range(10 * 24..25 * 24),
    };
    at = working(at + Duration::hours(hours));
    step(at, "Done");
    if rng.random_bool(0.1) {
        // Re-opened: back to work a day or three later, done again.
        at = working(at + Duration::hours(rng.random_range(20..72)));
        step(at, "In progress");
        at = working(at + Duration::hours(rng.random_range(4..72)));
        step(at, "Done");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::generate::Seed;

    fn status(workspace: &Workspace, index: usize) -> String {
        let id = &workspace.sources[0].prop("Status").unwrap().id;
        workspace.pages[index].values[id]["name"]
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_plan_plays_a_teams_work_at_its_own_times_as_the_clock_moves() {
        let start = "2026-09-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let mut workspace = Workspace::generate(&Seed {
            tasks: 30,
            seed: 3,
            data_sources: 1,
            now: start,
        });
        let before: Vec<String> = (0..30).map(|i| status(&workspace, i)).collect();
        let mut plan = Plan::new(&workspace, start, 60, 3);
        let planned = plan.remaining();
        assert!(planned > 100, "{planned}");
        // Nothing is played before the clock moves.
        plan.play(&mut workspace, start);
        assert_eq!(workspace.pages.len(), 30);
        let middle = start + Duration::days(30);
        plan.play(&mut workspace, middle);
        let created_by_middle = workspace.pages.len() - 30;
        assert!(created_by_middle > 20, "{created_by_middle}");
        let end = start + Duration::days(60);
        plan.play(&mut workspace, end);
        assert!(workspace.pages.len() - 30 > created_by_middle);
        let team: Vec<&str> = workspace.users[..TEAM]
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        for (index, page) in workspace.pages.iter().enumerate().skip(30) {
            // Created in the window, by the team, edited no later than the clock; status edits
            // in working hours.
            assert!(page.created >= start && page.created <= end);
            assert!(page.edited >= page.created && page.edited <= end);
            assert!(team.contains(&page.edited_by.as_str()));
            if page.edited != page.created {
                assert!((9..18).contains(&page.edited.hour()), "{}", page.edited);
                assert!(!matches!(
                    page.edited.weekday(),
                    Weekday::Sat | Weekday::Sun
                ));
            }
            assert!(["To do", "In progress", "Done"].contains(&status(&workspace, index).as_str()));
        }
        // Work moved on: most started tasks are done, some still open.
        let done = (30..workspace.pages.len())
            .filter(|i| status(&workspace, *i) == "Done")
            .count();
        let open = workspace.pages.len() - 30 - done;
        assert!(done > open && open > 0, "{done} done, {open} open");
        // The generated tasks that were open moved on too; the done ones stayed done.
        let moved = (0..30)
            .filter(|i| status(&workspace, *i) != before[*i])
            .count();
        assert!(moved > 0);
        for (i, was) in before.iter().enumerate() {
            if was == "Done" {
                assert_eq!(status(&workspace, i), "Done");
            }
        }
        // The rest is due after the end, played if the clock moves on.
        assert!(plan.remaining() < planned && plan.remaining() > 0);
        // The same seed plans the same work.
        let again = Plan::new(
            &Workspace::generate(&Seed {
                tasks: 30,
                seed: 3,
                data_sources: 1,
                now: start,
            }),
            start,
            60,
            3,
        );
        assert_eq!(again.remaining(), planned);
    }

    #[test]
    fn working_hours_skip_nights_and_weekends() {
        let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        // Saturday evening → Monday 9:00.
        assert_eq!(
            working(at("2026-11-28T19:30:00Z")),
            at("2026-11-30T09:00:00Z")
        );
        // Tuesday 7:15 → 9:00 the same day; Tuesday 10:00 stays.
        assert_eq!(
            working(at("2026-12-01T07:15:00Z")),
            at("2026-12-01T09:00:00Z")
        );
        assert_eq!(
            working(at("2026-12-01T10:00:00Z")),
            at("2026-12-01T10:00:00Z")
        );
    }
}
