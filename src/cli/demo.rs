//! `tasksync demo`: the whole pipeline on a simulated Notion database, with nothing to set up.
//!
//! A simulator with a seeded task database and a team's last months of work in it, a temporary
//! mirror, the example configuration's rules and mail saved as files. It syncs once a simulated
//! day through those months (the mirror keeps the history), switches the rules on, plays a
//! colleague editing in Notion (one task becomes urgent, one is done, one deleted, one overdue),
//! syncs again, tells what happened, and ends with the flow report of the history.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::Args;
use secrecy::SecretString;

use crate::actions::perform_queued;
use crate::config::{self, RuleEntry};
use crate::model::PropertyWrite;
use crate::model::ids::NotionId;
use crate::model::stored::unique_id;
use crate::notify::{Mailer, flush};
use crate::notion::{ClientSettings, NotionClient};
use crate::rules::compile;
use crate::simulator::{Simulator, SimulatorOptions};
use crate::store::Store;
use crate::sync::{SyncOptions, SyncReport, sync};

/// The shipped example configuration: its rules and mail settings drive the demo.
const EXAMPLE: &str = include_str!("../../config/tasksync.example.toml");

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many tasks the simulated database holds.
    #[arg(long, default_value_t = 40)]
    pub tasks: usize,
    /// Keep the mirror and the saved mail in DIR (created if needed) instead of a temporary
    /// directory removed at the end.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// How many days of the team's work the simulator plays before today (synced once a
    /// simulated day, for the flow report).
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(0..=730))]
    pub days: u32,
    /// Where to write the flow report [default: report.html in --keep DIR, else
    /// tasksync-demo-report.html here].
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// The four tasks the simulated colleague edits between the two syncs.
struct Edited<'a> {
    urgent: &'a str,
    done: &'a str,
    deleted: &'a str,
    overdue: &'a str,
}

/// Who edits in Notion during the demo.
const PERSON: &str = "Ada Hopper";

/// What the demo runs on: the simulator, a client of it, the data source, the example's rules,
/// the mirror and the mail saved as files, in `dir`.
struct Demo {
    simulator: Simulator,
    client: NotionClient,
    source: crate::model::DataSource,
    rules: crate::rules::RuleSet,
    store: Store,
    mailer: Mailer,
    dir: PathBuf,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let (_temporary, dir) = directory(args.keep.as_deref())?;
    let tasks = args.tasks.max(10);
    out!("tasksync demo: the whole pipeline against a simulated Notion, nothing to set up.\n");
    let demo = Demo::start(tasks, args.days, dir).await?;
    demo.introduce(tasks, args.days, args.keep.is_some());
    demo.history(args.days).await?;
    let pages = demo.simulator.page_ids();
    let edited = Edited {
        urgent: &pages[1],
        done: &pages[2],
        deleted: &pages[3],
        overdue: &pages[4],
    };
    demo.before_tasksync_looks(&edited)?;
    demo.first_sync().await?;
    let labels = labels(&demo.store).await?;
    let label = |id: &str| labels.get(id).cloned().unwrap_or_else(|| id.to_string());
    demo.colleague_edits(&edited, &label)?;
    demo.second_sync(&edited, &label).await?;
    demo.explore(args.keep.is_some());
    let report = args.report.unwrap_or_else(|| match &args.keep {
        Some(dir) => dir.join("report.html"),
        None => PathBuf::from("tasksync-demo-report.html"),
    });
    demo.report(args.days, &report).await?;
    Ok(())
}

/// The directory the demo writes in: `--keep DIR`, or a temporary one removed at the end (kept
/// alive by the first value).
fn directory(keep: Option<&Path>) -> anyhow::Result<(Option<tempfile::TempDir>, PathBuf)> {
    match keep {
        Some(dir) => {
            // The story starts from nothing: a second run into the same directory would sync
            // into the first run's mirror and tell of changes that are not there.
            if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
                anyhow::bail!(
                    "{} is not empty: --keep needs a new or empty directory (the demo starts from nothing; remove it or name another)",
                    dir.display()
                );
            }
            std::fs::create_dir_all(dir)?;
            Ok((None, dir.to_path_buf()))
        }
        None => {
            let temporary = tempfile::Builder::new()
                .prefix("tasksync-demo-")
                .tempdir()?;
            let dir = temporary.path().to_path_buf();
            Ok((Some(temporary), dir))
        }
    }
}

/// The example configuration's rules, compiled against the simulated data source.
fn example_rules(
    source: &crate::model::DataSource,
) -> anyhow::Result<(config::Config, crate::rules::RuleSet)> {
    let example = config::parse(EXAMPLE)
        .map_err(|problems| anyhow::anyhow!("the example configuration is broken: {problems:?}"))?;
    let entries: Vec<RuleEntry> = example
        .rules
        .iter()
        .cloned()
        .map(|rule| RuleEntry {
            source: None,
            file: "config/tasksync.example.toml".into(),
            text: EXAMPLE.into(),
            rule,
        })
        .collect();
    let rules = compile(
        &entries,
        source,
        &example.mail,
        example.automation.firing_budget,
    )
    .map_err(|problems| {
        anyhow::anyhow!("the example rules do not fit the simulated database: {problems:?}")
    })?;
    Ok((example, rules))
}

fn set(name: &str, write: PropertyWrite) -> (String, PropertyWrite) {
    (name.to_string(), write)
}

/// A date `days` from today, as Notion writes a date.
fn days_from_today(days: i64) -> String {
    (Utc::now() + chrono::Duration::days(days))
        .date_naive()
        .to_string()
}

impl Demo {
    /// Step 1: a simulator with `tasks` tasks, a client, the example's rules, the mirror.
    async fn start(tasks: usize, days: u32, dir: PathBuf) -> anyhow::Result<Self> {
        let simulator = Simulator::start(
            SimulatorOptions {
                tasks,
                seed: 7,
                history_days: days,
                ..SimulatorOptions::default()
            },
            ([127, 0, 0, 1], 0).into(),
        )
        .await?;
        let mut settings = ClientSettings::new(
            simulator.base_url(),
            SecretString::from(simulator.token().to_string()),
        );
        settings.requests_per_second = 0.0;
        let client = NotionClient::new(settings)?;
        let source = client
            .resolve_data_source(&NotionId::parse(&simulator.database_id())?, None)
            .await?;
        let (example, rules) = example_rules(&source)?;
        let mailer = Mailer::to_directory(&dir.join("mail"), &example.mail)?;
        let store = Store::open(&dir.join("tasksync.db"))?;
        Ok(Self {
            simulator,
            client,
            source,
            rules,
            store,
            mailer,
            dir,
        })
    }

    fn introduce(&self, tasks: usize, days: u32, kept: bool) {
        out!(
            "1. A Notion simulator serves a database of {tasks} tasks at {}, and plays a team's last {days} days of work in it.",
            self.simulator.base_url()
        );
        out!(
            "   Rules: {} from config/tasksync.example.toml. Files: {}{}",
            self.rules.rules.len(),
            self.dir.display(),
            if kept {
                ""
            } else {
                " (removed at the end; --keep DIR keeps them)"
            }
        );
    }

    /// This morning, before the rules are switched on: the four tasks the colleague will edit,
    /// in a known state (open, due later: nothing for the rules yet).
    fn before_tasksync_looks(&self, edited: &Edited<'_>) -> anyhow::Result<()> {
        self.simulator.edit_as(
            PERSON,
            edited.urgent,
            &[
                set("Priority", PropertyWrite::Select(Some("Low".into()))),
                set("Status", PropertyWrite::Status("To do".into())),
                set("Due", PropertyWrite::Date(Some(days_from_today(20)))),
            ],
            None,
        )?;
        self.simulator.edit_as(
            PERSON,
            edited.done,
            &[
                set("Status", PropertyWrite::Status("In progress".into())),
                set("Due", PropertyWrite::Date(Some(days_from_today(20)))),
            ],
            None,
        )?;
        self.simulator.edit_as(
            PERSON,
            edited.overdue,
            &[
                set("Status", PropertyWrite::Status("To do".into())),
                set("Due", PropertyWrite::Date(Some(days_from_today(10)))),
            ],
            None,
        )?;
        Ok(())
    }

    async fn sync(&self) -> anyhow::Result<SyncReport> {
        let options = SyncOptions {
            reconcile_every: chrono::Duration::zero(),
            ..SyncOptions::default()
        };
        sync(
            &self.client,
            Some(&self.store),
            &self.source,
            &self.rules,
            &options,
        )
        .await
    }

    /// Step 2: the last `days` days in fast-forward, synced once a simulated day, before any
    /// rule was written: the mirror's history for the report.
    async fn history(&self, days: u32) -> anyhow::Result<()> {
        let no_rules = compile(&[], &self.source, &config::MailConfig::default(), 1)
            .map_err(|problems| anyhow::anyhow!("{problems:?}"))?;
        let (mut first, mut new, mut changed, mut requests) = (0, 0, 0, 0);
        for day in 0..=days {
            if day > 0 {
                self.simulator.advance_clock(chrono::Duration::days(1));
            }
            let options = SyncOptions {
                now: Some(self.simulator.now()),
                ..SyncOptions::default()
            };
            let report = sync(
                &self.client,
                Some(&self.store),
                &self.source,
                &no_rules,
                &options,
            )
            .await?;
            if day == 0 {
                first = report.new;
            } else {
                new += report.new;
                changed += report.changed;
            }
            requests += report.requests;
        }
        out!(
            "2. The last {days} days in fast-forward, one sync a simulated day: the first mirrored {first} tasks into tasksync.db (a baseline); then {new} tasks were created and {changed} were edited, each change kept with who and when ({} syncs, {requests} requests). No rules yet.",
            days + 1
        );
        Ok(())
    }

    /// Step 3: today the rules are switched on.
    async fn first_sync(&self) -> anyhow::Result<()> {
        let first = self.sync().await?;
        out!(
            "3. Today the example's rules are switched on. A sync reads the morning's edits ({} changed, {} requests, {} rule(s) fired): rules new to the mirror note what already holds and fire only on what changes from now on.",
            first.changed,
            first.requests,
            first.fired
        );
        Ok(())
    }

    /// Step 4: a colleague edits four tasks in Notion.
    fn colleague_edits(
        &self,
        edited: &Edited<'_>,
        label: &dyn Fn(&str) -> String,
    ) -> anyhow::Result<()> {
        self.simulator.edit_as(
            PERSON,
            edited.urgent,
            &[set(
                "Priority",
                PropertyWrite::Select(Some("Urgent".into())),
            )],
            None,
        )?;
        self.simulator.edit_as(
            PERSON,
            edited.done,
            &[set("Status", PropertyWrite::Status("Done".into()))],
            None,
        )?;
        self.simulator
            .edit_as(PERSON, edited.deleted, &[], Some(true))?;
        self.simulator.edit_as(
            PERSON,
            edited.overdue,
            &[set("Due", PropertyWrite::Date(Some(days_from_today(-1))))],
            None,
        )?;
        out!(
            "4. Meanwhile, in Notion, {PERSON} edits four tasks: {} becomes Urgent, {} is done, {} goes to the trash, {} gets yesterday as its due date.",
            label(edited.urgent),
            label(edited.done),
            label(edited.deleted),
            label(edited.overdue)
        );
        Ok(())
    }

    /// Steps 5 to 8: the second sync, what it recorded, what the rules did, what was written
    /// back to Notion and the mail sent.
    async fn second_sync(
        &self,
        edited: &Edited<'_>,
        label: &dyn Fn(&str) -> String,
    ) -> anyhow::Result<()> {
        let pages = [edited.urgent, edited.done, edited.deleted, edited.overdue];
        let mut known = Vec::new();
        for page in pages {
            known.push(self.store.history(page.to_string()).await?.len());
        }
        let second = self.sync().await?;
        let actions = perform_queued(&self.client, &self.store, 5).await?;
        let mail = flush(&self.store, &self.mailer, Utc::now()).await?;
        out!(
            "5. Second sync: {} changed, {} deleted, {} unchanged ({} requests). What it recorded:",
            second.changed,
            second.deleted,
            second.unchanged,
            second.requests
        );
        for (page, known) in pages.into_iter().zip(known) {
            for change in self
                .store
                .history(page.to_string())
                .await?
                .iter()
                .skip(known)
            {
                let what = super::mirror::describe_change(change);
                let by = change
                    .by()
                    .map(|by| format!(" (by {by})"))
                    .unwrap_or_default();
                out!("   {}  {what}{by}", label(page));
            }
        }
        story(&second, &self.rules, label);
        out!(
            "7. Written back to Notion ({} action(s) done, {} skipped as already so):",
            actions.done,
            actions.skipped
        );
        for page in [edited.urgent, edited.overdue] {
            let id = NotionId::parse(page)?;
            let task = self.client.retrieve_page(&id).await?;
            let last = self
                .client
                .list_children(&id)
                .await?
                .pop()
                .map(|b| b.text)
                .unwrap_or_default();
            out!(
                "   {} \"{}\" is {}; its page ends with: \"{last}\"",
                label(page),
                task.title(),
                task.status().unwrap_or_default()
            );
        }
        out!("8. Mail: {} message(s) delivered as files:", mail.sent);
        for file in saved_mail(&self.dir.join("mail"))? {
            let subject = std::fs::read_to_string(&file)?
                .lines()
                .find_map(|l| l.strip_prefix("Subject: ").map(str::to_string))
                .unwrap_or_default();
            out!("   {}  \"{subject}\"", file.display());
        }
        Ok(())
    }

    /// Step 9: what to ask the mirror next.
    fn explore(&self, kept: bool) {
        out!(
            "9. Explore the mirror with SQL{}:",
            if kept {
                ""
            } else {
                " (run the demo with --keep DIR first)"
            }
        );
        let db = self.dir.join("tasksync.db");
        for (what, sql) in [
            (
                "the change history of the day",
                "SELECT c.property, c.old_value, c.new_value, u.name AS who FROM task_changes c LEFT JOIN users u ON u.id = c.edited_by WHERE c.property NOT LIKE '(%' ORDER BY c.id DESC LIMIT 10",
            ),
            (
                "what the rules did",
                "SELECT f.rule, t.title, a.kind, a.status FROM rule_firings f JOIN tasks t ON t.id = f.task_id LEFT JOIN actions a ON a.firing_id = f.id",
            ),
            (
                "open tasks by priority",
                "SELECT json_extract(properties_json, '$.Priority.text') AS priority, count(*) FROM tasks WHERE deleted_at IS NULL AND status IS NOT 'Done' GROUP BY priority",
            ),
        ] {
            out!("   # {what}\n   sqlite3 {} \"{sql}\"", db.display());
        }
    }

    /// Step 10: the flow report of the history, and what comes next.
    async fn report(&self, days: u32, out: &Path) -> anyhow::Result<()> {
        let written = crate::report::build::write_report(
            &self.store,
            &self.source.id.to_string(),
            &self.source.name,
            chrono::Duration::days(i64::from(days)),
            Utc::now(),
            out,
        )
        .await?;
        let shown = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
        out!(
            "10. The flow report of those {days} days ({} tasks, {} done: cumulative flow, cycle time, throughput, aging work, rule activity), from the mirror alone:\n   {}\n   Open it in a browser; `tasksync report` writes the same for your own mirror.",
            written.tasks,
            written.done,
            shown.display()
        );
        out!(
            "\nNext: connect your own Notion (README, \"Connect your own Notion\"), or try every command against `tasksync simulator`."
        );
        Ok(())
    }
}

/// Unique IDs (`TASK-7`) by page id, from the mirror.
async fn labels(store: &Store) -> anyhow::Result<BTreeMap<String, String>> {
    let rows = store.list_tasks(None, true).await?;
    let mut labels = BTreeMap::new();
    for row in rows {
        if let Some(unique) = unique_id(&row.properties()?) {
            labels.insert(row.id, unique);
        }
    }
    Ok(labels)
}

fn story(report: &SyncReport, rules: &crate::rules::RuleSet, label: &dyn Fn(&str) -> String) {
    out!("6. The rules that fired, and why:");
    if report.firings.is_empty() {
        out!("   none");
    }
    for firing in &report.firings {
        let why = rules
            .rules
            .iter()
            .find(|r| r.name == firing.rule)
            .and_then(|r| r.description.clone())
            .unwrap_or_default();
        out!(
            "   {} on {} \"{}\": {why}",
            firing.rule,
            label(&firing.task_id),
            firing.title
        );
        for action in &firing.actions {
            for (index, line) in super::mirror::action_lines(action).iter().enumerate() {
                let arrow = if index == 0 { "→" } else { " " };
                out!("      {arrow} {line}");
            }
        }
    }
}

fn saved_mail(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    Ok(files)
}
