//! `tasksync demo`: the whole pipeline on a simulated Notion database, with nothing to set up.
//!
//! A simulator with a seeded task database, a temporary mirror, the example configuration's rules
//! and mail saved as files. It syncs, plays a colleague editing in Notion (one task becomes
//! urgent, one is done, one deleted, one overdue), syncs again, and tells what happened.

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
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let temporary = match &args.keep {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("tasksync-demo-")
                .tempdir()?,
        ),
    };
    let dir: PathBuf = match (&args.keep, &temporary) {
        (Some(dir), _) => {
            std::fs::create_dir_all(dir)?;
            dir.clone()
        }
        (None, Some(temporary)) => temporary.path().to_path_buf(),
        (None, None) => unreachable!("a temporary directory exists when --keep is not given"),
    };
    let tasks = args.tasks.max(10);
    out!("tasksync demo: the whole pipeline against a simulated Notion, nothing to set up.\n");
    let simulator = Simulator::start(
        SimulatorOptions {
            tasks,
            seed: 7,
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

    let example = config::parse(EXAMPLE)
        .map_err(|problems| anyhow::anyhow!("the example configuration is broken: {problems:?}"))?;
    let entries: Vec<RuleEntry> = example
        .rules
        .iter()
        .cloned()
        .map(|rule| RuleEntry {
            file: "config/tasksync.example.toml".into(),
            text: EXAMPLE.into(),
            rule,
        })
        .collect();
    let rules = compile(
        &entries,
        &source,
        &example.mail,
        example.automation.firing_budget,
    )
    .map_err(|problems| {
        anyhow::anyhow!("the example rules do not fit the simulated database: {problems:?}")
    })?;
    let mailer = Mailer::to_directory(&dir.join("mail"), &example.mail)?;
    let store = Store::open(&dir.join("tasksync.db"))?;
    out!(
        "1. A Notion simulator serves a database of {tasks} tasks at {}.",
        simulator.base_url()
    );
    out!(
        "   Rules: {} from config/tasksync.example.toml. Files: {}{}",
        rules.rules.len(),
        dir.display(),
        if args.keep.is_some() {
            ""
        } else {
            " (removed at the end; --keep DIR keeps them)"
        }
    );

    // Before tasksync looks: the four tasks the colleague will edit, in a known state.
    let pages = simulator.page_ids();
    let (urgent, done, deleted, overdue) = (&pages[1], &pages[2], &pages[3], &pages[4]);
    let person = "Ada Hopper";
    let set = |name: &str, write: PropertyWrite| (name.to_string(), write);
    let in_ten_days = (Utc::now() + chrono::Duration::days(10))
        .date_naive()
        .to_string();
    simulator.edit_as(
        person,
        urgent,
        &[
            set("Priority", PropertyWrite::Select(Some("Low".into()))),
            set("Status", PropertyWrite::Status("To do".into())),
        ],
        None,
    )?;
    simulator.edit_as(
        person,
        done,
        &[set("Status", PropertyWrite::Status("In progress".into()))],
        None,
    )?;
    simulator.edit_as(
        person,
        overdue,
        &[
            set("Status", PropertyWrite::Status("To do".into())),
            set("Due", PropertyWrite::Date(Some(in_ten_days))),
        ],
        None,
    )?;

    let options = SyncOptions {
        reconcile_every: chrono::Duration::zero(),
        ..SyncOptions::default()
    };
    let run_sync = || sync(&client, Some(&store), &source, &rules, &options);
    let first = run_sync().await?;
    out!(
        "2. First sync: {} tasks mirrored into tasksync.db with {} requests. (A first sync is a baseline: rules note what holds and fire nothing.)",
        first.new,
        first.requests
    );

    let labels = labels(&store).await?;
    let label = |id: &str| labels.get(id).cloned().unwrap_or_else(|| id.to_string());
    let yesterday = (Utc::now() - chrono::Duration::days(1))
        .date_naive()
        .to_string();
    simulator.edit_as(
        person,
        urgent,
        &[set(
            "Priority",
            PropertyWrite::Select(Some("Urgent".into())),
        )],
        None,
    )?;
    simulator.edit_as(
        person,
        done,
        &[set("Status", PropertyWrite::Status("Done".into()))],
        None,
    )?;
    simulator.edit_as(person, deleted, &[], Some(true))?;
    simulator.edit_as(
        person,
        overdue,
        &[set("Due", PropertyWrite::Date(Some(yesterday)))],
        None,
    )?;
    out!(
        "3. Meanwhile, in Notion, {person} edits four tasks: {} becomes Urgent, {} is done, {} goes to the trash, {} gets yesterday as its due date.",
        label(urgent),
        label(done),
        label(deleted),
        label(overdue)
    );

    let second = run_sync().await?;
    let actions = perform_queued(&client, &store, 5).await?;
    let mail = flush(&store, &mailer, Utc::now()).await?;
    out!(
        "4. Second sync: {} changed, {} deleted, {} unchanged ({} requests). What it recorded:",
        second.changed,
        second.deleted,
        second.unchanged,
        second.requests
    );
    for page in [urgent, done, deleted, overdue] {
        for change in store.history(page.clone()).await?.iter().skip(1) {
            let what = super::mirror::describe_change(change);
            let by = change
                .by()
                .map(|by| format!(" (by {by})"))
                .unwrap_or_default();
            out!("   {}  {what}{by}", label(page));
        }
    }
    story(&second, &rules, &label);
    out!(
        "6. Written back to Notion ({} action(s) done, {} skipped as already so):",
        actions.done,
        actions.skipped
    );
    for page in [urgent, overdue] {
        let id = NotionId::parse(page)?;
        let task = client.retrieve_page(&id).await?;
        let last = client
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
    out!("7. Mail: {} message(s) delivered as files:", mail.sent);
    for file in saved_mail(&dir.join("mail"))? {
        let subject = std::fs::read_to_string(&file)?
            .lines()
            .find_map(|l| l.strip_prefix("Subject: ").map(str::to_string))
            .unwrap_or_default();
        out!("   {}  \"{subject}\"", file.display());
    }
    out!(
        "8. Explore the mirror with SQL{}:",
        if args.keep.is_some() {
            ""
        } else {
            " (run the demo with --keep DIR first)"
        }
    );
    let db = dir.join("tasksync.db");
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
    out!(
        "\nNext: connect your own Notion (README, \"Connect your own Notion\"), or try every command against `tasksync simulator`."
    );
    drop(simulator);
    Ok(())
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
    out!("5. The rules that fired, and why:");
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
            out!("      → {}", action.describe());
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
