//! What monitoring can still read from a broken configuration file: `status` and `status
//! --check` must never go blind because the file was edited badly (the daemon keeps running on
//! the last good one). Each table that matters to them (`[store]`, `[schedule]`, `[health]`,
//! `[[sources]]`) is taken on its own when the file is TOML; when it is not even that, the
//! mirror's `path` under `[store]` is found line by line. Whatever cannot be read is the default.

use std::path::{Path, PathBuf};

use super::{Config, ConfigError};

/// The configuration as far as it can be read, for monitoring, with the error that stops the
/// full load (`None` when the file is good).
pub fn load_for_monitoring(
    explicit: Option<&Path>,
) -> Result<(Config, Option<ConfigError>), ConfigError> {
    let error = match super::load(explicit) {
        Ok((config, _)) => return Ok((config, None)),
        Err(error @ (ConfigError::Invalid { .. } | ConfigError::Read { .. })) => error,
        Err(other) => return Err(other),
    };
    let Some(path) = error_file(&error, explicit) else {
        return Err(error);
    };
    let text = super::read_config_text(&path).unwrap_or_default();
    let mut config = salvage(&text);
    let base = path.parent().unwrap_or(Path::new("."));
    config.directory = Some(super::absolute_directory(base));
    Ok((config, Some(error)))
}

/// The main configuration file the load read (or tried to).
fn error_file(error: &ConfigError, explicit: Option<&Path>) -> Option<PathBuf> {
    let named = explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(super::CONFIG_VARIABLE).map(PathBuf::from));
    match (named, error) {
        (Some(path), _) => Some(path),
        (None, ConfigError::Invalid { path, .. }) => Some(path.clone()),
        (None, _) => super::search_path().into_iter().find(|path| path.is_file()),
    }
}

/// The tables monitoring needs, each on its own.
fn salvage(text: &str) -> Config {
    let mut config = Config::default();
    let Ok(table) = text.parse::<toml::Table>() else {
        config.store.path = store_path_by_lines(text);
        return config;
    };
    fn take<T: serde::de::DeserializeOwned>(table: &toml::Table, key: &str) -> Option<T> {
        table
            .get(key)
            .cloned()
            .and_then(|value| value.try_into().ok())
    }
    if let Some(store) = take(&table, "store") {
        config.store = store;
    }
    if let Some(schedule) = take(&table, "schedule") {
        config.schedule = schedule;
    }
    if let Some(health) = take(&table, "health") {
        config.health = health;
    }
    if let Some(sources) = take(&table, "sources") {
        config.sources = sources;
    }
    config
}

/// `path = "..."` under `[store]`, in a file that does not parse as TOML.
fn store_path_by_lines(text: &str) -> Option<PathBuf> {
    let mut in_store = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_store = line.trim_start_matches('[').trim_end_matches(']').trim() == "store";
            continue;
        }
        if in_store && line.starts_with("path") {
            let value: toml::Table = line.parse().ok()?;
            return value
                .get("path")
                .and_then(toml::Value::as_str)
                .map(PathBuf::from);
        }
    }
    None
}

/// One line for a monitor: the first problem with its file and line.
pub fn one_line(error: &ConfigError) -> String {
    match error {
        ConfigError::Invalid { path, problems } => match problems.first() {
            Some(problem) => {
                let more = match problems.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                };
                format!(
                    "{}:{}: {}{more}",
                    problem.file.as_deref().unwrap_or(path).display(),
                    problem.line,
                    problem.message
                )
            }
            None => error.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_path_is_found_in_a_file_that_is_not_toml() {
        let text =
            "[notion]\ndatabase = \"x\"\n[store]\npath = \"mirror.db\" # here\n[[rules]\nname =";
        assert!(text.parse::<toml::Table>().is_err());
        assert_eq!(salvage(text).store.path, Some(PathBuf::from("mirror.db")));
    }

    #[test]
    fn the_tables_that_parse_are_kept_when_another_is_wrong() {
        let text = "[store]\npath = \"m.db\"\n[health]\nwarning_intervals = 5\n[sync]\nnope = 1\n";
        let config = salvage(text);
        assert_eq!(config.store.path, Some(PathBuf::from("m.db")));
        assert_eq!(config.health.warning_intervals, 5);
    }
}
