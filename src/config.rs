//! The configuration file: where it is found, how it is read, and the checked `Config` the rest
//! of the program trusts.
//!
//! Every key has its default declared once, next to its doc comment. Reading collects every
//! problem (syntax errors, unknown keys, wrong types, bad values) with file, line and column,
//! and reports them together. Secrets never come from here: see [`notion_token`].

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};
use toml::de::{DeTable, DeValue};

use crate::model::ids::NotionId;
use crate::notion::ApiVersion;
pub use crate::rules::source::{LineIndex, MailConfig, Problem, RuleEntry, line_column};
use crate::rules::syntax::RuleConfig;
pub use sources::{SourceConfig, SourceSpec, WebhookConfig, valid_source_name};
mod paths;
mod salvage;
mod schedule;
mod sources;

pub use paths::expand_path;
pub use salvage::{load_for_monitoring, one_line};

pub use schedule::ScheduleConfig;

/// The environment variable holding the Notion token.
pub const TOKEN_VARIABLE: &str = "NOTION_TOKEN";
/// The SMTP server, as a URL: `smtps://user@host:465`, `smtp://host:587` (STARTTLS required),
/// `smtp://host:25?tls=none` (plain, for a local relay).
pub const SMTP_URL_VARIABLE: &str = "SMTP_URL";
/// The SMTP password for the user in `SMTP_URL`.
pub const SMTP_PASSWORD_VARIABLE: &str = "SMTP_PASSWORD";
/// The environment variable naming the configuration file.
pub const CONFIG_VARIABLE: &str = "TASKSYNC_CONFIG";

/// The checked configuration.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[notion]`: which database, and how to talk to the API.
    #[serde(default)]
    pub notion: NotionConfig,
    /// `[store]`: the local SQLite mirror.
    #[serde(default)]
    pub store: StoreConfig,
    /// `[sync]`: how the mirror follows Notion.
    #[serde(default)]
    pub sync: SyncConfig,
    /// `[automation]`: how rules run.
    #[serde(default)]
    pub automation: AutomationConfig,
    /// `[schedule]`: when the daemon runs its jobs.
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// `[mail]`: defaults for mail actions.
    #[serde(default)]
    pub mail: MailConfig,
    /// `[health]`: when `status --check` warns and when it is critical.
    #[serde(default)]
    pub health: HealthConfig,
    /// `[[sources]]`: several data sources with their own rules (or `[notion] database`).
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// `[webhook]`: the listener for Notion's integration webhooks (off by default).
    #[serde(default)]
    pub webhook: WebhookConfig,
    /// More files with `[[rules]]`, relative to this file.
    #[serde(default)]
    pub include: Vec<String>,
    /// `[[rules]]` of this file; after loading, all rules are in `located_rules`.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// Every rule of this file and the included ones, with where it was written.
    #[serde(skip)]
    pub located_rules: Vec<RuleEntry>,
    /// The directory of the configuration file, which relative paths are relative to (`None`
    /// when no file was read).
    #[serde(skip)]
    pub directory: Option<PathBuf>,
}

/// A file of rules named by `include`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rules: Vec<RuleConfig>,
}

/// `[health]`: the thresholds of `tasksync status --check`, in sync intervals (`schedule.sync`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// WARNING when the last good sync is older than this many sync intervals (or anything
    /// failed: the last attempt of a job, an action).
    #[serde(default = "default_warning_intervals")]
    pub warning_intervals: u32,
    /// CRITICAL when the last good sync is older than this many sync intervals (or mail failed
    /// for good).
    #[serde(default = "default_critical_intervals")]
    pub critical_intervals: u32,
    /// CRITICAL when the oldest mail not delivered yet was queued longer ago than this (a dead
    /// SMTP server is WARNING from its first failed attempt). `"1h"` by default.
    #[serde(
        default = "default_mail_critical_after",
        deserialize_with = "mail_critical_after"
    )]
    pub mail_critical_after: std::time::Duration,
}

fn default_mail_critical_after() -> std::time::Duration {
    std::time::Duration::from_secs(3600)
}

/// Longest `health.mail_critical_after`: a week.
const MAX_MAIL_CRITICAL_AFTER: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

fn mail_critical_after<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<std::time::Duration, D::Error> {
    bounded_duration(
        deserializer,
        "health.mail_critical_after",
        MAX_MAIL_CRITICAL_AFTER,
    )
}

fn default_warning_intervals() -> u32 {
    3
}

fn default_critical_intervals() -> u32 {
    10
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            warning_intervals: default_warning_intervals(),
            critical_intervals: default_critical_intervals(),
            mail_critical_after: default_mail_critical_after(),
        }
    }
}

/// `[automation]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomationConfig {
    /// How many rule firings in a row tasksync's own edits may cause on one task before the
    /// chain is stopped (and the stop recorded): the guard against rules that undo each other.
    #[serde(default = "default_firing_budget")]
    pub firing_budget: u32,
    /// How many times an action is tried before it is marked failed.
    #[serde(default = "default_action_attempts")]
    pub action_attempts: u32,
}

fn default_firing_budget() -> u32 {
    5
}

fn default_action_attempts() -> u32 {
    5
}

impl Default for AutomationConfig {
    fn default() -> Self {
        Self {
            firing_budget: default_firing_budget(),
            action_attempts: default_action_attempts(),
        }
    }
}

/// `[sync]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// How far before the cursor an incremental sync starts reading. Notion rounds edit times
    /// down to the minute, so recent pages are re-read on purpose (unchanged ones cost nothing).
    #[serde(default = "default_overlap", deserialize_with = "overlap")]
    pub overlap: std::time::Duration,
    /// A `sync` also runs the cheap reconcile (finding deleted tasks) when the last one is older.
    #[serde(
        default = "default_reconcile_every",
        deserialize_with = "reconcile_every"
    )]
    pub reconcile_every: std::time::Duration,
}

fn default_overlap() -> std::time::Duration {
    std::time::Duration::from_secs(120)
}

fn default_reconcile_every() -> std::time::Duration {
    std::time::Duration::from_secs(3600)
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            overlap: default_overlap(),
            reconcile_every: default_reconcile_every(),
        }
    }
}

pub use crate::schedule::parse_duration;

/// Longest `sync.overlap`: re-reading more than a day of edits on every sync helps nothing.
pub const MAX_OVERLAP: std::time::Duration = std::time::Duration::from_secs(86_400);
/// Longest `sync.reconcile_every`.
pub const MAX_RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

fn bounded_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
    key: &str,
    max: std::time::Duration,
) -> Result<std::time::Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    let duration = parse_duration(&text)
        .map_err(|problem| serde::de::Error::custom(format!("{key}: {problem}")))?;
    if duration > max {
        return Err(serde::de::Error::custom(format!(
            "`{text}` is too long for `{key}`: at most \"{}\"",
            crate::schedule::describe_duration(max)
        )));
    }
    Ok(duration)
}

fn overlap<'de, D: Deserializer<'de>>(deserializer: D) -> Result<std::time::Duration, D::Error> {
    bounded_duration(deserializer, "sync.overlap", MAX_OVERLAP)
}

fn reconcile_every<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<std::time::Duration, D::Error> {
    bounded_duration(deserializer, "sync.reconcile_every", MAX_RECONCILE_EVERY)
}

/// `[notion]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotionConfig {
    /// The tasks database: its URL, its id, or the id of one of its data sources. Required by
    /// every command that works on tasks.
    #[serde(default, deserialize_with = "notion_id")]
    pub database: Option<NotionId>,
    /// The data source (name or id) when the database has several. Default: the only one.
    #[serde(default)]
    pub data_source: Option<String>,
    /// The Notion API version: "2026-03-11" or "2025-09-03".
    #[serde(default, deserialize_with = "api_version")]
    pub api_version: ApiVersion,
    /// The API's base URL; point it at `tasksync simulator` to try things out.
    #[serde(default = "default_base_url", deserialize_with = "base_url")]
    pub base_url: String,
    /// Average requests per second to Notion, shared by all requests of the process.
    #[serde(
        default = "default_requests_per_second",
        deserialize_with = "positive_rate"
    )]
    pub requests_per_second: f64,
}

fn default_base_url() -> String {
    "https://api.notion.com".to_string()
}

fn default_requests_per_second() -> f64 {
    3.0
}

impl Default for NotionConfig {
    fn default() -> Self {
        Self {
            database: None,
            data_source: None,
            api_version: ApiVersion::default(),
            base_url: default_base_url(),
            requests_per_second: default_requests_per_second(),
        }
    }
}

/// `[store]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite mirror file. A relative path is relative to the configuration file's
    /// directory (never to the working directory, so every command finds the same mirror);
    /// without one, `tasksync.db` in the state directory (`$STATE_DIRECTORY` under systemd,
    /// else `$XDG_STATE_HOME/tasksync`, else `~/.local/state/tasksync`).
    #[serde(default, deserialize_with = "non_empty_path")]
    pub path: Option<PathBuf>,
}

/// The mirror's file name in the state directory when `store.path` is not set.
pub const DEFAULT_MIRROR_NAME: &str = "tasksync.db";

fn non_empty_path<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<PathBuf>, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text.is_empty() {
        return Err(serde::de::Error::custom(
            "the path is empty: name the mirror file, or leave `path` out for the state directory",
        ));
    }
    expand_path(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// The directory systemd gives a service in `systemd_variable` (`STATE_DIRECTORY`,
/// `RUNTIME_DIRECTORY`: the first of its list), else `tasksync` under the XDG directory in
/// `xdg_variable`; only absolute paths count.
pub fn service_directory(systemd_variable: &str, xdg_variable: &str) -> Option<PathBuf> {
    let systemd = std::env::var(systemd_variable)
        .ok()
        .and_then(|dirs| dirs.split(':').next().map(PathBuf::from));
    let xdg = || std::env::var_os(xdg_variable).map(|base| PathBuf::from(base).join("tasksync"));
    systemd
        .filter(|path| path.is_absolute())
        .or_else(|| xdg().filter(|path| path.is_absolute()))
}

/// Where tasksync keeps its state when nothing says otherwise: `$STATE_DIRECTORY` (systemd's
/// `StateDirectory=`), else `$XDG_STATE_HOME/tasksync`, else `~/.local/state/tasksync`.
pub fn state_directory() -> Result<PathBuf, ConfigError> {
    service_directory("STATE_DIRECTORY", "XDG_STATE_HOME")
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|home| home.is_absolute())
                .map(|home| home.join(".local/state/tasksync"))
        })
        .ok_or_else(|| {
            ConfigError::Missing(
                "cannot find a state directory for the mirror (neither STATE_DIRECTORY, XDG_STATE_HOME nor HOME is set): set `path` under [store]".into(),
            )
        })
}

fn notion_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<NotionId>, D::Error> {
    let text = String::deserialize(deserializer)?;
    NotionId::parse(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn api_version<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ApiVersion, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// The request rates tasksync accepts: slow enough to be a rate, fast enough for the simulator.
pub const RATE_RANGE: std::ops::RangeInclusive<f64> = 0.01..=10_000.0;

fn positive_rate<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let rate = f64::deserialize(deserializer)?;
    if RATE_RANGE.contains(&rate) {
        Ok(rate)
    } else {
        Err(serde::de::Error::custom(format!(
            "requests_per_second must be between {} and {} (Notion allows about 3), not {rate}",
            RATE_RANGE.start(),
            RATE_RANGE.end()
        )))
    }
}

fn base_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    let parsed = url::Url::parse(text.trim()).map_err(|error| {
        serde::de::Error::custom(format!(
            "`{text}` is not a URL ({error}): write e.g. \"https://api.notion.com\" or \"http://127.0.0.1:7878\""
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(serde::de::Error::custom(format!(
            "`{text}` is not an http(s) URL with a host: write e.g. \"https://api.notion.com\""
        )));
    }
    Ok(text.trim().to_string())
}

/// A configuration error: exit code 78 (EX_CONFIG).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The cause is said in the message, not chained as well (`{:#}` would say it twice).
    #[error("cannot read the configuration file {}: {cause}", .path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}", describe_problems(.path, .problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
    #[error("{0}")]
    Missing(String),
}

fn describe_problems(path: &Path, problems: &[Problem]) -> String {
    let count = problems.len();
    let mut text = format!(
        "{} has {count} problem{}:",
        path.display(),
        if count == 1 { "" } else { "s" }
    );
    for problem in problems {
        text.push_str(&format!(
            "\n  {}:{}:{}: {}",
            problem.file.as_deref().unwrap_or(path).display(),
            problem.line,
            problem.column,
            problem.message
        ));
    }
    text
}

/// Where the configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(PathBuf),
    /// No file was found: built-in defaults.
    Defaults {
        searched: Vec<PathBuf>,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Defaults { .. } => f.write_str("built-in defaults (no configuration file found)"),
        }
    }
}

/// The places searched for a configuration file, in order, when none is named.
pub fn search_path() -> Vec<PathBuf> {
    let mut paths = vec![PathBuf::from("tasksync.toml")];
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")));
    if let Some(config_home) = config_home {
        paths.push(config_home.join("tasksync").join("tasksync.toml"));
    }
    paths.push(PathBuf::from("/etc/tasksync/tasksync.toml"));
    paths
}

/// Finds and reads the configuration: `explicit` (from `--config`), else `$TASKSYNC_CONFIG`, else
/// the first file of [`search_path`] that exists, else the defaults.
pub fn load(explicit: Option<&Path>) -> Result<(Config, Origin), ConfigError> {
    let named = explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(CONFIG_VARIABLE).map(PathBuf::from));
    if let Some(path) = named {
        return Ok((load_file(&path)?, Origin::File(path)));
    }
    let searched = search_path();
    match searched.iter().find(|path| path.is_file()) {
        Some(path) => Ok((load_file(path)?, Origin::File(path.clone()))),
        None => Ok((Config::default(), Origin::Defaults { searched })),
    }
}

/// Reads one configuration file, and the rule files it includes.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let read = |path: &Path| {
        read_config_text(path).map_err(|cause| ConfigError::Read {
            path: path.to_path_buf(),
            cause,
        })
    };
    let text: std::sync::Arc<str> = read(path)?.into();
    let mut config = parse(&text).map_err(|problems| ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
    })?;
    let rules = std::mem::take(&mut config.rules);
    config.located_rules = rules
        .into_iter()
        .map(|rule| RuleEntry {
            file: path.to_path_buf(),
            source: None,
            text: text.clone(),
            rule,
        })
        .collect();
    let base = path.parent().unwrap_or(Path::new("."));
    config.directory = Some(absolute_directory(base));
    let mut problems = Vec::new();
    let files = config
        .include
        .iter()
        .map(|include| (None, base.join(include)))
        .chain(
            config
                .source_rule_files(base)
                .into_iter()
                .map(|(source, file)| (Some(source), file)),
        )
        .collect::<Vec<_>>();
    for (source, included) in files {
        let text: std::sync::Arc<str> = read(&included)?.into();
        match parse_document::<RulesFile>(&text) {
            Ok(file) => config
                .located_rules
                .extend(file.rules.into_iter().map(|rule| RuleEntry {
                    file: included.clone(),
                    source: source.clone(),
                    text: text.clone(),
                    rule,
                })),
            Err(found) => problems.extend(found.into_iter().map(|problem| Problem {
                file: Some(included.clone()),
                ..problem
            })),
        }
    }
    if problems.is_empty() {
        sources::check(&config, &text, path, &mut problems);
    }
    if !problems.is_empty() {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        });
    }
    Ok(config)
}

/// The largest configuration or rules file read: far more than any real one.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a configuration or rules file: a regular file (a FIFO or device would block or never
/// end) of at most [`MAX_CONFIG_BYTES`].
fn read_config_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let metadata = std::fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(std::io::Error::other(
            "it is not a regular file (a pipe or device cannot be a configuration)",
        ));
    }
    let mut text = String::new();
    let file = std::fs::File::open(path)?;
    file.take(MAX_CONFIG_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(std::io::Error::other(format!(
            "it is larger than {} MiB",
            MAX_CONFIG_BYTES / 1024 / 1024
        )));
    }
    Ok(text)
}

/// Parses configuration text, collecting every problem with its position.
pub fn parse(text: &str) -> Result<Config, Vec<Problem>> {
    parse_document(text)
}

/// Deserializes a TOML document into `T`, reporting all problems rather than the first.
///
/// Each failed attempt names one problem with its span; the entry it points at is removed and
/// the document deserialized again, so later problems are found too, with their original
/// positions. A "missing field" after a removal is a consequence, not a new problem.
pub fn parse_document<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, Vec<Problem>> {
    let locate = |span: Option<Range<usize>>, message: String| {
        let (line, column) = span.map_or((1, 1), |span| line_column(text, span.start));
        Problem {
            file: None,
            line,
            column,
            message,
        }
    };
    let (mut table, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        let mut problems: Vec<Problem> = syntax_errors
            .into_iter()
            .map(|error| {
                let message = match (error.message(), error.span()) {
                    // Name the key: "duplicate key" alone leaves the reader to find it.
                    ("duplicate key", Some(span)) => match text.get(span.clone()) {
                        Some(key) if !key.trim().is_empty() && key.len() < 100 => format!(
                            "duplicate key `{}`: a key may be set once in a table",
                            key.trim()
                        ),
                        _ => "duplicate key".to_string(),
                    },
                    (message, _) => message.to_string(),
                };
                locate(error.span(), message)
            })
            .collect();
        problems.sort_by_key(|problem| (problem.line, problem.column));
        return Err(problems);
    }
    let mut problems = Vec::new();
    for _ in 0..100 {
        let error = match T::deserialize(toml::de::Deserializer::from(table.clone())) {
            Ok(value) if problems.is_empty() => return Ok(value),
            Ok(_) => break,
            Err(error) => error,
        };
        if !problems.is_empty() && error.message().starts_with("missing field") {
            break;
        }
        let span = error.span();
        // Name the key the problem is at, unless the message does already.
        let key = span
            .as_ref()
            .and_then(|span| key_at(table.get_ref(), span, ""));
        let names_it = |key: &str| {
            let last = key.rsplit(['.', ']']).next().unwrap_or(key);
            let message = error.message();
            message.contains(key)
                || message.contains(&format!("`{last}`"))
                || message.starts_with(last)
        };
        let message = match key {
            Some(key) if !names_it(&key) => {
                format!("`{key}`: {}", error.message())
            }
            _ => error.message().to_string(),
        };
        problems.push(locate(span.clone(), message));
        let removed = span.is_some_and(|span| remove_entry_at(table.get_mut(), &span));
        if !removed {
            break;
        }
    }
    problems.sort_by_key(|problem| (problem.line, problem.column));
    Err(problems)
}

/// The dotted name of the innermost key whose entry covers `span` (`notion.requests_per_second`,
/// `sources[2].name`).
fn key_at(table: &DeTable<'_>, span: &Range<usize>, prefix: &str) -> Option<String> {
    let covers = |outer: Range<usize>| outer.start <= span.start && span.end <= outer.end;
    for (key, value) in table {
        let name = match prefix {
            "" => key.get_ref().to_string(),
            _ => format!("{prefix}.{}", key.get_ref()),
        };
        let inside = match value.get_ref() {
            DeValue::Table(inner) => key_at(inner, span, &name),
            DeValue::Array(items) => items.iter().enumerate().find_map(|(index, item)| match item
                .get_ref()
            {
                DeValue::Table(inner) => key_at(inner, span, &format!("{name}[{}]", index + 1)),
                _ => None,
            }),
            _ => None,
        };
        if inside.is_some() {
            return inside;
        }
        if covers(key.span()) || covers(value.span()) {
            return Some(name);
        }
    }
    None
}

/// Removes the innermost table entry whose key or value covers `span`.
fn remove_entry_at(table: &mut DeTable<'_>, span: &Range<usize>) -> bool {
    let covers = |outer: Range<usize>| outer.start <= span.start && span.end <= outer.end;
    for (_, value) in table.iter_mut() {
        let removed_inside = match value.get_mut() {
            DeValue::Table(inner) => remove_entry_at(inner, span),
            DeValue::Array(items) => items.iter_mut().any(|item| match item.get_mut() {
                DeValue::Table(inner) => remove_entry_at(inner, span),
                _ => false,
            }),
            _ => false,
        };
        if removed_inside {
            return true;
        }
    }
    let doomed: Option<String> = table
        .iter()
        .find(|(key, value)| covers(key.span()) || covers(value.span()))
        .map(|(key, _)| key.get_ref().to_string());
    doomed.is_some_and(|key| table.remove(key.as_str()).is_some())
}

/// The Notion token from the environment (which `.env` may have filled).
pub fn notion_token() -> Result<SecretString, ConfigError> {
    match std::env::var(TOKEN_VARIABLE) {
        // Never echo the token, not even in part.
        Ok(token)
            if token
                .trim()
                .chars()
                .any(|c| c.is_control() || c.is_whitespace()) =>
        {
            Err(ConfigError::Missing(format!(
                "{TOKEN_VARIABLE} contains a line break, a space or another character a token never has: set it to the token alone (NOTION_TOKEN=ntn_...)"
            )))
        }
        Ok(token) if !token.trim().is_empty() => Ok(SecretString::from(token.trim().to_string())),
        _ => Err(ConfigError::Missing(format!(
            "{TOKEN_VARIABLE} is not set: create an internal integration at https://www.notion.so/profile/integrations, \
             then put its token in the environment or in a .env file (NOTION_TOKEN=ntn_...)"
        ))),
    }
}

/// Creates a directory (and its parents) readable by its owner only, if it is missing.
pub fn create_private_directory(directory: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(directory)
}

/// A directory as an absolute path (the working directory joined to a relative one), so that
/// paths relative to it mean the same from wherever a command runs.
fn absolute_directory(directory: &Path) -> PathBuf {
    let directory = if directory.as_os_str().is_empty() {
        Path::new(".")
    } else {
        directory
    };
    std::path::absolute(directory).unwrap_or_else(|_| directory.to_path_buf())
}

impl Config {
    /// The mirror file: `store.path` relative to the configuration file's directory, or
    /// `tasksync.db` in the state directory (created if missing).
    pub fn mirror_path(&self) -> Result<PathBuf, ConfigError> {
        match (&self.store.path, &self.directory) {
            (Some(path), _) if path.is_absolute() => Ok(path.clone()),
            (Some(path), Some(directory)) => Ok(directory.join(path)),
            (Some(path), None) => Ok(absolute_directory(Path::new(".")).join(path)),
            (None, _) => {
                let directory = state_directory()?;
                create_private_directory(&directory).map_err(|source| {
                    ConfigError::Missing(format!(
                        "cannot create the state directory {}: {source}; set `path` under [store]",
                        directory.display()
                    ))
                })?;
                Ok(directory.join(DEFAULT_MIRROR_NAME))
            }
        }
    }
}

#[cfg(test)]
mod tests;
