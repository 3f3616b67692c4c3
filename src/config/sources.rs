//! `[[sources]]`: several data sources in one configuration, one mirror and one daemon, each with
//! its own rules; and `[webhook]`, the listener for Notion's integration webhooks.
//!
//! `[notion] database = ...` stays the one-source form: a configuration with one unnamed source.
//! A rule belongs to the source whose `rules` file holds it, or to the one its `source` key
//! names; with one source, to that one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::{ConfigError, Origin, Problem, RuleEntry, line_column};
use crate::model::ids::NotionId;

/// One `[[sources]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// A short name (letters, digits, `-`, `_`): what `--source NAME`, rules' `source` key,
    /// `status` and the logs call it.
    pub name: Spanned<String>,
    /// The database: its URL, its id, or the id of one of its data sources.
    #[serde(deserialize_with = "database")]
    pub database: NotionId,
    /// The data source (name or id) when the database has several. Default: the only one.
    #[serde(default)]
    pub data_source: Option<String>,
    /// Files of `[[rules]]` for this source, relative to the configuration file.
    #[serde(default)]
    pub rules: Vec<String>,
}

fn database<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NotionId, D::Error> {
    let text = String::deserialize(deserializer)?;
    NotionId::parse(&text).map_err(serde::de::Error::custom)
}

/// A source as the rest of the program sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// `None`: the one-source form (`[notion] database`).
    pub name: Option<String>,
    pub database: NotionId,
    pub data_source: Option<String>,
}

impl SourceSpec {
    /// How messages name it: its name, or "the database" for the one-source form.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("source {name}"),
            None => "the database".to_string(),
        }
    }
}

/// The longest source name.
pub const MAX_SOURCE_NAME: usize = 40;

/// Whether `name` may name a source.
pub fn valid_source_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_SOURCE_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `[webhook]`: the listener for Notion's integration webhooks, a low-latency hint that
/// starts a sync; polling stays the source of truth. Off unless `listen` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The address to listen on, behind the user's HTTPS reverse proxy: `"127.0.0.1:8787"`.
    #[serde(default, deserialize_with = "socket_address")]
    pub listen: Option<std::net::SocketAddr>,
    /// How long events gather before they start a sync (default "2s"): Notion sends several
    /// for one edit.
    #[serde(default = "default_debounce", deserialize_with = "debounce")]
    pub debounce: std::time::Duration,
}

fn default_debounce() -> std::time::Duration {
    std::time::Duration::from_secs(2)
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            listen: None,
            debounce: default_debounce(),
        }
    }
}

fn socket_address<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<std::net::SocketAddr>, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "`{text}` is not an address and port: write e.g. \"127.0.0.1:8787\" (a reverse proxy serves HTTPS in front of it)"
        ))
    })
}

/// The longest debounce: longer would defeat the point of the hint.
pub const MAX_DEBOUNCE: std::time::Duration = std::time::Duration::from_secs(600);

fn debounce<'de, D: Deserializer<'de>>(deserializer: D) -> Result<std::time::Duration, D::Error> {
    super::bounded_duration(deserializer, "webhook.debounce", MAX_DEBOUNCE)
}

/// Checks the sources and which rules belong to which, once the rule files are read: every
/// problem located. `text` is the configuration file's.
pub(super) fn check(config: &super::Config, text: &str, path: &Path, problems: &mut Vec<Problem>) {
    let at = |span: std::ops::Range<usize>, message: String| {
        let (line, column) = line_column(text, span.start);
        Problem {
            file: Some(path.to_path_buf()),
            line,
            column,
            message,
        }
    };
    let mut seen: Vec<&str> = Vec::new();
    for source in &config.sources {
        let name = source.name.get_ref();
        if !valid_source_name(name) {
            problems.push(at(
                source.name.span(),
                format!(
                    "`{name}` cannot name a source: use 1 to {MAX_SOURCE_NAME} letters, digits, `-` or `_`"
                ),
            ));
        } else if seen.contains(&name.as_str()) {
            problems.push(at(
                source.name.span(),
                format!("the source name `{name}` is used twice: names must be unique"),
            ));
        }
        seen.push(name);
    }
    // The same data source twice would be two actors on it in one process: each rule twice.
    for (index, source) in config.sources.iter().enumerate() {
        let same = config.sources[..index].iter().find(|earlier| {
            earlier.database == source.database && earlier.data_source == source.data_source
        });
        if let Some(earlier) = same {
            problems.push(at(
                source.name.span(),
                format!(
                    "sources `{}` and `{}` name the same database{}: one `[[sources]]` table per data source (name a `data_source` when the database has several)",
                    earlier.name.get_ref(),
                    source.name.get_ref(),
                    source
                        .data_source
                        .as_deref()
                        .map_or_else(String::new, |ds| format!(" and data source `{ds}`"))
                ),
            ));
        }
    }
    if let Some(first) = config.sources.first()
        && (config.notion.database.is_some() || config.notion.data_source.is_some())
    {
        problems.push(at(
            first.name.span(),
            "`[[sources]]` and `[notion] database`/`data_source` are both set: move the database into a `[[sources]]` table (the rest of `[notion]` stays)".into(),
        ));
    }
    let names: Vec<&str> = config
        .sources
        .iter()
        .map(|s| s.name.get_ref().as_str())
        .collect();
    let mut first_of_name: std::collections::BTreeMap<&str, (&RuleEntry, Option<String>)> =
        Default::default();
    for entry in &config.located_rules {
        let locate = |span: std::ops::Range<usize>, message: String| {
            let (line, column) = entry.position(&span);
            Problem {
                file: Some(entry.file.clone()),
                line,
                column,
                message,
            }
        };
        let rule = &entry.rule;
        let owner = match (&entry.source, &rule.source) {
            (_, Some(key)) if names.is_empty() => {
                problems.push(locate(
                    key.span(),
                    format!(
                        "`source = \"{}\"`, but the configuration has no `[[sources]]`: remove the key, or configure the sources",
                        key.get_ref()
                    ),
                ));
                continue;
            }
            (_, Some(key)) if !names.contains(&key.get_ref().as_str()) => {
                problems.push(locate(
                    key.span(),
                    format!(
                        "there is no source `{}`: the sources are {}",
                        key.get_ref(),
                        names.join(", ")
                    ),
                ));
                continue;
            }
            (Some(file_source), Some(key)) if key.get_ref() != file_source => {
                problems.push(locate(
                    key.span(),
                    format!(
                        "this file holds the rules of source `{file_source}` (its `rules` list names it), but the rule says `source = \"{}\"`",
                        key.get_ref()
                    ),
                ));
                continue;
            }
            (_, Some(key)) => Some(key.get_ref().clone()),
            (Some(file_source), None) => Some(file_source.clone()),
            (None, None) if names.len() > 1 => {
                problems.push(locate(
                    rule.name.span(),
                    format!(
                        "rule `{}`: the configuration has {} sources ({}): say which one the rule is for with `source = \"...\"`, or move it into a source's `rules` file",
                        rule.name.get_ref(),
                        names.len(),
                        names.join(", ")
                    ),
                ));
                continue;
            }
            (None, None) => names.first().map(ToString::to_string),
        };
        // The same name within one source is `check`'s to report (with the rest of the rule);
        // across sources only here, as names key what fired.
        match first_of_name.get(rule.name.get_ref().as_str()) {
            Some((first, first_owner)) if *first_owner != owner => {
                let (line, _) = first.position(&first.rule.name.span());
                problems.push(locate(
                    rule.name.span(),
                    format!(
                        "the rule name `{}` is used by two sources (first at {}:{line}): names must be unique across sources",
                        rule.name.get_ref(),
                        first.file.display()
                    ),
                ));
            }
            Some(_) => {}
            None => {
                first_of_name.insert(rule.name.get_ref().as_str(), (entry, owner));
            }
        }
    }
}

impl super::Config {
    /// The configured database, or an error saying how to configure it.
    pub fn database(&self, origin: &Origin) -> Result<&NotionId, ConfigError> {
        self.notion.database.as_ref().ok_or_else(|| {
            let hint = match origin {
                Origin::File(path) => format!("set `database` under [notion] (or add `[[sources]]` tables) in {}", path.display()),
                Origin::Defaults { searched } => {
                    let searched: Vec<String> =
                        searched.iter().map(|path| path.display().to_string()).collect();
                    format!(
                        "no configuration file was found (searched {}); copy config/tasksync.example.toml to tasksync.toml \
                         or pass --config",
                        searched.join(", ")
                    )
                }
            };
            ConfigError::Missing(format!(
                "no Notion database is configured: {hint} (run `tasksync databases` to list the ones your token can see)"
            ))
        })
    }

    /// The configured sources: the `[[sources]]` tables, or the one-source form; an error
    /// saying how to configure one when there is none.
    pub fn source_specs(&self, origin: &Origin) -> Result<Vec<SourceSpec>, ConfigError> {
        if self.sources.is_empty() {
            let database = self.database(origin)?;
            return Ok(vec![SourceSpec {
                name: None,
                database: database.clone(),
                data_source: self.notion.data_source.clone(),
            }]);
        }
        Ok(self
            .sources
            .iter()
            .map(|source| SourceSpec {
                name: Some(source.name.get_ref().clone()),
                database: source.database.clone(),
                data_source: source.data_source.clone(),
            })
            .collect())
    }

    /// The sources a command works on: the one `--source` names, or all of them.
    pub fn select_sources(
        &self,
        origin: &Origin,
        wanted: Option<&str>,
    ) -> Result<Vec<SourceSpec>, ConfigError> {
        let all = self.source_specs(origin)?;
        let Some(wanted) = wanted else {
            return Ok(all);
        };
        if self.sources.is_empty() {
            return Err(ConfigError::Missing(format!(
                "--source {wanted}: the configuration has no `[[sources]]` (it names one database under [notion]): leave --source out"
            )));
        }
        match all.iter().find(|s| s.name.as_deref() == Some(wanted)) {
            Some(source) => Ok(vec![source.clone()]),
            None => Err(ConfigError::Missing(format!(
                "there is no source `{wanted}`: the sources are {}",
                self.source_names().join(", ")
            ))),
        }
    }

    /// The names of the `[[sources]]` (none for the one-source form).
    pub fn source_names(&self) -> Vec<String> {
        self.sources
            .iter()
            .map(|s| s.name.get_ref().clone())
            .collect()
    }

    /// The sources as `status` and the health verdict key them: each name, or `None` once for
    /// the one-source form.
    pub fn source_keys(&self) -> Vec<Option<String>> {
        if self.sources.is_empty() {
            vec![None]
        } else {
            self.source_names().into_iter().map(Some).collect()
        }
    }

    /// The rules of one source (`None`: the one-source form, every rule).
    pub fn rules_of(&self, source: Option<&str>) -> Vec<RuleEntry> {
        let Some(source) = source else {
            return self.located_rules.clone();
        };
        let only = self.sources.len() == 1;
        self.located_rules
            .iter()
            .filter(|entry| {
                let owner = entry
                    .rule
                    .source
                    .as_ref()
                    .map(|key| key.get_ref().as_str())
                    .or(entry.source.as_deref());
                owner == Some(source) || (owner.is_none() && only)
            })
            .cloned()
            .collect()
    }

    /// The names of the rules of the sources other than `source` (none for the one-source form):
    /// what that source's rules decide nothing about.
    pub fn rules_of_others(&self, source: Option<&str>) -> Vec<String> {
        let own: std::collections::HashSet<String> = self
            .rules_of(source)
            .into_iter()
            .map(|entry| entry.rule.name.into_inner())
            .collect();
        self.located_rules
            .iter()
            .map(|entry| entry.rule.name.get_ref().clone())
            .filter(|name| !own.contains(name))
            .collect()
    }

    /// The files of rules each source names, relative to the configuration's directory.
    pub(super) fn source_rule_files(&self, base: &Path) -> Vec<(String, PathBuf)> {
        self.sources
            .iter()
            .flat_map(|source| {
                source
                    .rules
                    .iter()
                    .map(|file| (source.name.get_ref().clone(), base.join(file)))
            })
            .collect()
    }
}
