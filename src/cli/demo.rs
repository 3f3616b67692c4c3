//! `tasksync demo`: the product at work against a built-in simulator, with nothing to set up.
//!
//! For now it shows the live task commands; sync, rules and mail join as they land.

use clap::Args;
use secrecy::SecretString;

use super::output;
use crate::model::PropertyWrite;
use crate::notion::ids::NotionId;
use crate::notion::query::{Direction, Query, Sort, TimestampField};
use crate::notion::{ClientSettings, NotionClient};
use crate::simulator::{Simulator, SimulatorOptions};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many tasks the simulated database holds.
    #[arg(long, default_value_t = 40)]
    pub tasks: usize,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let options = SimulatorOptions {
        tasks: args.tasks,
        ..SimulatorOptions::default()
    };
    let simulator = Simulator::start(options, ([127, 0, 0, 1], 0).into()).await?;
    out!(
        "Started a Notion API simulator at {} with {} generated tasks.",
        simulator.base_url(),
        args.tasks
    );
    let mut settings = ClientSettings::new(
        simulator.base_url(),
        SecretString::from(simulator.token().to_string()),
    );
    settings.requests_per_second = 0.0;
    let client = NotionClient::new(settings)?;

    let database = NotionId::parse(&simulator.database_id())?;
    let source = client.resolve_data_source(&database, None).await?;
    out!(
        "Resolved database {database} to its data source \"{}\" ({} properties).\n",
        source.name,
        source.properties.len()
    );

    let query = Query {
        sorts: vec![Sort::Timestamp(
            TimestampField::CreatedTime,
            Direction::Ascending,
        )],
        ..Query::default()
    };
    let (tasks, _) = client.query_all(&source.id, &query).await?;
    out!(
        "The first five of {} tasks (`tasksync tasks list`):",
        tasks.len()
    );
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .take(5)
        .map(|t| vec![output::label(t), t.status().unwrap_or_default(), t.title()])
        .collect();
    output::table(&["ID", "STATUS", "TITLE"], &rows);

    let task = tasks
        .iter()
        .find(|t| t.status().as_deref() == Some("To do"))
        .or_else(|| tasks.first())
        .ok_or_else(|| anyhow::anyhow!("the simulator generated no tasks"))?;
    let label = output::label(task);
    out!("\n`tasksync tasks set-status {label} \"In progress\"`:");
    let updated = client
        .update_page(
            &task.id,
            &[("Status".into(), PropertyWrite::Status("In progress".into()))],
        )
        .await?;
    out!(
        "  {label} \"{}\": {} → {}",
        updated.title(),
        task.status().unwrap_or_default(),
        updated.status().unwrap_or_default()
    );

    out!("\n`tasksync tasks append {label} \"Picked up by the demo.\"`:");
    let blocks = client
        .append_text(&task.id, "Picked up by the demo.")
        .await?;
    out!("  appended {} paragraph(s)", blocks.len());

    out!("\n`tasksync tasks show {label}`:");
    let content = client.list_children(&task.id).await?;
    output::detail(&updated, &content);

    let stats = simulator.stats();
    out!(
        "\nThe demo made {} requests to the simulator ({} writes).",
        stats.requests,
        stats.writes
    );
    out!(
        "Next: `tasksync simulator` serves the same API for you to try every command (see README)."
    );
    Ok(())
}
