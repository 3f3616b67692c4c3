//! `tasksync report`: the flow report of a source, from the mirror only (no request to Notion).

use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};

use crate::config;
use crate::report::build::write_report;

/// `tasksync report`.
pub async fn report(
    config_path: Option<&Path>,
    out: Option<PathBuf>,
    since: std::time::Duration,
    source: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let (config, origin) = config::load(config_path)?;
    let window = Duration::from_std(since)?;
    let store = super::mirror::read_mirror(&config)?;
    let held = store.mirrored_data_sources().await?;
    let (data_source, name) = match super::mirror::mirror_sources(&store, &config, &origin, source)
        .await?
    {
        Some(ids) => {
            let id = ids.into_iter().next().unwrap_or_default();
            let name = held
                .iter()
                .find(|(held, _)| *held == id)
                .map(|(_, name)| name.clone())
                .unwrap_or_default();
            (id, name)
        }
        None => match held.as_slice() {
            [one] => one.clone(),
            [] => anyhow::bail!("the mirror holds no tasks yet: run `tasksync sync` first"),
            _ => {
                let names = config.source_names();
                let hint = if names.is_empty() {
                    "configure them as `[[sources]]` (README \"Several databases\") and say which with --source NAME".to_string()
                } else {
                    format!(
                        "say which with --source NAME (the sources are {})",
                        names.join(", ")
                    )
                };
                return Err(config::ConfigError::Missing(format!(
                    "the mirror holds {} data sources: {hint}",
                    held.len()
                ))
                .into());
            }
        },
    };
    let out = out.unwrap_or_else(|| PathBuf::from("report.html"));
    let written = write_report(&store, &data_source, &name, window, Utc::now(), &out).await?;
    if json {
        #[derive(serde::Serialize)]
        struct Printed<'a> {
            source: &'a str,
            out: &'a Path,
            #[serde(flatten)]
            written: &'a crate::report::build::Written,
        }
        return super::output::json(&Printed {
            source: &name,
            out: &out,
            written: &written,
        });
    }
    let begins = match written.history_begins {
        Some(day) if day == written.since => {
            " (history begins there, at the mirror's first sync)".to_string()
        }
        _ => String::new(),
    };
    out!(
        "Report of \"{name}\" since {}{begins}: {} tasks, {} done in the period; written to {}",
        written.since,
        written.tasks,
        written.done,
        out.display()
    );
    Ok(())
}
