//! The live commands: `databases` and `tasks list|show|set-status|append`, straight against Notion.

use std::io::Read;
use std::path::Path;

use anyhow::Context;

use super::TasksCommand;
use super::output::{self, TaskJson};
use crate::config::{self, Config, Origin};
use crate::model::automation::TextFormat;
use crate::model::ids::NotionId;
use crate::model::{DataSource, PropertyWrite, Task};
use crate::notion::query::{Direction, Filter, Query, Sort, TimestampField};
use crate::notion::{ClientSettings, NotionClient, NotionError};
use crate::store::Store;

/// What a live command needs: the configuration and a client.
pub struct Session {
    pub config: Config,
    pub origin: Origin,
    pub client: NotionClient,
    /// `--source NAME`: the one source a command works on (`None`: all, or the only one).
    pub wanted: Option<String>,
}

/// The rules of one source of a configuration (`None`: the one-source form), checked against
/// its data source's schema; every problem is a configuration error located in its file.
pub fn compile_rules(
    config: &Config,
    origin: &Origin,
    name: Option<&str>,
    source: &DataSource,
    former_names: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<crate::rules::RuleSet> {
    let path = match origin {
        Origin::File(path) => path.clone(),
        Origin::Defaults { .. } => std::path::PathBuf::from("tasksync.toml"),
    };
    crate::rules::compile::compile_following(
        &config.rules_of(name),
        source,
        former_names,
        &config.mail,
        config.automation.firing_budget,
    )
    .map_err(|problems| config::ConfigError::Invalid { path, problems }.into())
}

/// A configured source and its data source as Notion describes it now.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub spec: config::SourceSpec,
    pub source: DataSource,
}

impl Resolved {
    pub fn name(&self) -> Option<&str> {
        self.spec.name.as_deref()
    }
}

/// The names the data source's properties had before a rename, as the mirror remembers them
/// (none without a mirror).
pub async fn former_names(
    store: Option<&Store>,
    source: &DataSource,
) -> std::collections::BTreeMap<String, String> {
    match store {
        Some(store) => store.former_names(source).await,
        None => Default::default(),
    }
}

/// How long a command waits for Notion before it gives its last error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Patience {
    /// A person waits: the whole of one request, retries included, within this deadline.
    Interactive(std::time::Duration),
    /// The daemon, or a sync started by systemd: retry as long as the policy allows.
    Patient,
}

/// The deadline of commands a person waits for, unless `--timeout` says otherwise.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

impl Patience {
    /// From `--timeout SECONDS` (0: patient); without it, patient under systemd (which sets
    /// `INVOCATION_ID` for its services and timers), interactive otherwise.
    pub fn from_flag(timeout: Option<u64>) -> Self {
        match timeout {
            Some(0) => Self::Patient,
            Some(seconds) => Self::Interactive(std::time::Duration::from_secs(seconds)),
            None if std::env::var_os("INVOCATION_ID").is_some() => Self::Patient,
            None => Self::Interactive(DEFAULT_TIMEOUT),
        }
    }
}

impl Session {
    pub fn open(config_path: Option<&Path>, patience: Patience) -> anyhow::Result<Self> {
        Self::open_with(config_path, patience, true)
    }

    /// A session for `databases`, which needs no database named.
    pub fn open_without_database(
        config_path: Option<&Path>,
        patience: Patience,
    ) -> anyhow::Result<Self> {
        Self::open_with(config_path, patience, false)
    }

    fn open_with(
        config_path: Option<&Path>,
        patience: Patience,
        needs_database: bool,
    ) -> anyhow::Result<Self> {
        let (config, origin) = config::load(config_path)?;
        // Without a file, nothing names a database: say where a file was looked for, at once,
        // instead of asking Notion.
        if needs_database
            && let Origin::Defaults { searched } = &origin
            && config.notion.database.is_none()
            && config.sources.is_empty()
        {
            let searched: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
            return Err(config::ConfigError::Missing(format!(
                "no configuration file: looked for {}; pass --config PATH or set TASKSYNC_CONFIG (an example: config/tasksync.example.toml, or `tasksync demo` to try it without one)",
                searched.join(", ")
            ))
            .into());
        }
        let token = config::notion_token()?;
        let mut settings = ClientSettings::new(config.notion.base_url.clone(), token);
        settings.api_version = config.notion.api_version;
        settings.requests_per_second = config.notion.requests_per_second;
        if let Patience::Interactive(deadline) = patience {
            settings.retry.deadline = Some(deadline);
        }
        let client = NotionClient::new(settings)?;
        Ok(Self {
            config,
            origin,
            client,
            wanted: None,
        })
    }

    /// The session for `--source NAME` (or all sources, without it).
    pub fn with_source(mut self, wanted: Option<String>) -> Self {
        self.wanted = wanted;
        self
    }

    /// The sources the command works on (`--source`, or all), each with its schema, in the
    /// configuration's order.
    pub async fn sources(&self) -> anyhow::Result<Vec<Resolved>> {
        let specs = self
            .config
            .select_sources(&self.origin, self.wanted.as_deref())?;
        let wanted: Vec<_> = specs
            .iter()
            .map(|spec| (spec.database.clone(), spec.data_source.clone()))
            .collect();
        let found = self.client.resolve_data_sources(&wanted).await;
        let mut resolved = Vec::with_capacity(specs.len());
        for (spec, found) in specs.into_iter().zip(found) {
            match (found, &spec.name) {
                (Ok(source), _) => resolved.push(Resolved { spec, source }),
                (Err(error), None) => return Err(error.into()),
                (Err(error), Some(name)) => {
                    return Err(anyhow::Error::new(error).context(format!("source {name}")));
                }
            }
        }
        Ok(resolved)
    }

    /// The one source a command on single tasks works on: the only one, or `--source`'s.
    pub async fn one_source(&self) -> anyhow::Result<Resolved> {
        let specs = self
            .config
            .select_sources(&self.origin, self.wanted.as_deref())?;
        if specs.len() > 1 {
            return Err(config::ConfigError::Missing(format!(
                "the configuration has {} sources ({}): say which with --source NAME",
                specs.len(),
                self.config.source_names().join(", ")
            ))
            .into());
        }
        let mut all = self.sources().await?;
        all.pop()
            .ok_or_else(|| anyhow::anyhow!("the configuration names no source"))
    }

    /// The configured data source with its schema (`one_source`'s).
    pub async fn data_source(&self) -> anyhow::Result<DataSource> {
        Ok(self.one_source().await?.source)
    }

    /// A source's rules, checked against its data source's schema, following renames the
    /// mirror (when there is one) remembers. Suspended rules and followed renames are logged.
    pub async fn rules(
        &self,
        resolved: &Resolved,
        store: Option<&Store>,
    ) -> anyhow::Result<crate::rules::RuleSet> {
        let source = &resolved.source;
        let former = former_names(store, source).await;
        let rules = compile_rules(&self.config, &self.origin, resolved.name(), source, &former)?;
        crate::rules::log_drift(&rules);
        Ok(rules)
    }

    /// A task named by page id, page URL or unique ID (`TASK-12`).
    pub async fn find_task(&self, reference: &str) -> anyhow::Result<Task> {
        if let Ok(id) = NotionId::parse(reference) {
            return self
                .client
                .retrieve_page(&id)
                .await
                .with_context(|| format!("cannot read task {reference}"));
        }
        let unique = UniqueRef::parse(reference).ok_or_else(|| {
            anyhow::anyhow!("`{reference}` is not a task: give a page id, a page URL or a unique ID such as TASK-12")
        })?;
        // Several sources and no --source: the one source that has the task.
        let several = self.wanted.is_none() && self.config.sources.len() > 1;
        if !several {
            let source = self.data_source().await?;
            return self
                .find_in(&source, &unique, reference)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no task has the ID {reference}"));
        }
        let mut found = Vec::new();
        let mut refusals = Vec::new();
        for resolved in self.sources().await? {
            match self.find_in(&resolved.source, &unique, reference).await {
                Ok(Some(task)) => {
                    found.push((resolved.name().unwrap_or_default().to_string(), task));
                }
                Ok(None) => {}
                Err(error) => refusals.push(format!("{error:#}")),
            }
        }
        match found.len() {
            1 => Ok(found.remove(0).1),
            0 if !refusals.is_empty() => anyhow::bail!("{}", refusals.join("; ")),
            0 => anyhow::bail!("no task of any source has the ID {reference}"),
            _ => {
                let names: Vec<String> = found.into_iter().map(|(name, _)| name).collect();
                Err(config::ConfigError::Missing(format!(
                    "{reference} is a task of several sources ({}): say which with --source NAME",
                    names.join(", ")
                ))
                .into())
            }
        }
    }

    /// The task with unique ID `unique` in `source`, if it has one.
    async fn find_in(
        &self,
        source: &DataSource,
        unique: &UniqueRef,
        reference: &str,
    ) -> anyhow::Result<Option<Task>> {
        let property =
            source
                .first_of_kind("unique_id")
                .ok_or_else(|| NotionError::MissingProperty {
                    kind: "unique_id".into(),
                    hint: format!(", so `{reference}` cannot be looked up: use the page id or URL"),
                })?;
        let query = Query {
            filter: Some(Filter::UniqueIdEquals {
                property: property.id.clone(),
                number: unique.number,
            }),
            ..Query::default()
        };
        let (mut found, _) = self.client.query_all(&source.id, &query).await?;
        let Some(task) = found.pop() else {
            return Ok(None);
        };
        let actual = task
            .properties
            .values()
            .find(|p| p.id == property.id)
            .and_then(|p| unique_prefix(&p.value));
        unique.check_prefix(actual)?;
        Ok(Some(task))
    }
}

/// The number of a unique ID such as `TASK-12` or `12`.
/// A task's unique ID as a user writes it: `TASK-12` (prefix and number) or `12`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UniqueRef {
    pub prefix: Option<String>,
    pub number: i64,
}

impl UniqueRef {
    pub fn parse(reference: &str) -> Option<Self> {
        let reference = reference.trim();
        let (prefix, digits) = match reference.rsplit_once('-') {
            Some((prefix, digits)) => (Some(prefix.to_string()), digits),
            None => (None, reference),
        };
        let number = digits.parse().ok()?;
        Some(Self { prefix, number })
    }

    /// Checks the prefix against the one the task's unique ID property has: `NOPE-12` must not
    /// find `TASK-12`.
    pub fn check_prefix(&self, actual: Option<&str>) -> anyhow::Result<()> {
        let given = self.prefix.as_deref().filter(|p| !p.is_empty());
        let actual = actual.filter(|p| !p.is_empty());
        match (given, actual) {
            (Some(given), Some(actual)) if given.eq_ignore_ascii_case(actual) => Ok(()),
            (None, _) => Ok(()),
            (Some(given), Some(actual)) => anyhow::bail!(
                "`{given}-{}` is not an ID of this database: its IDs have the prefix `{actual}` (e.g. {actual}-{})",
                self.number,
                self.number
            ),
            (Some(given), None) => anyhow::bail!(
                "`{given}-{}` is not an ID of this database: its IDs have no prefix (e.g. {})",
                self.number,
                self.number
            ),
        }
    }
}

/// The prefix of a task's unique ID property value, if the task has one.
pub fn unique_prefix(value: &crate::model::PropertyValue) -> Option<&str> {
    match value {
        crate::model::PropertyValue::UniqueId { prefix, .. } => prefix.as_deref(),
        _ => None,
    }
}

pub async fn databases(
    config_path: Option<&Path>,
    patience: Patience,
    json: bool,
) -> anyhow::Result<()> {
    let session = Session::open_without_database(config_path, patience)?;
    let sources = session.client.search_data_sources().await?;
    if json {
        return output::json(&sources);
    }
    if sources.is_empty() {
        out!(
            "No data sources are shared with this integration: in Notion, open the database's ••• menu → Connections and add it."
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = sources
        .iter()
        .map(|s| {
            let database = s
                .database_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            vec![s.name.clone(), s.id.to_string(), database]
        })
        .collect();
    output::table(&["NAME", "DATA SOURCE ID", "DATABASE ID"], &rows);
    Ok(())
}

pub async fn run(
    config_path: Option<&Path>,
    patience: Patience,
    command: TasksCommand,
    source: Option<String>,
) -> anyhow::Result<()> {
    let session = Session::open(config_path, patience)?.with_source(source);
    match command {
        TasksCommand::List { status, json, .. } => list(&session, status.as_deref(), json).await,
        TasksCommand::Show { id, json, .. } => show(&session, &id, json).await,
        TasksCommand::SetStatus { id, status, json } => {
            set_status(&session, &id, &status, json).await
        }
        TasksCommand::Append {
            id,
            text,
            plain,
            json,
        } => {
            let format = if plain {
                TextFormat::Plain
            } else {
                TextFormat::Markdown
            };
            append(&session, &id, &text, format, json).await
        }
    }
}

async fn list(session: &Session, status: Option<&str>, json: bool) -> anyhow::Result<()> {
    let source = session.data_source().await?;
    let filter = match status {
        Some(wanted) => {
            let (property, name) = status_option(&source, wanted)?;
            Some(Filter::StatusEquals { property, name })
        }
        None => None,
    };
    let query = Query {
        filter,
        sorts: vec![Sort::Timestamp(
            TimestampField::CreatedTime,
            Direction::Descending,
        )],
        filter_properties: Vec::new(),
    };
    let (tasks, incomplete) = session.client.query_all(&source.id, &query).await?;
    if incomplete {
        eprintln!(
            "warning: Notion returns at most 10,000 tasks for one query; narrow it with --status (`tasksync sync` reads past the limit)"
        );
    }
    if json {
        let views: Vec<TaskJson> = tasks.iter().map(|t| TaskJson::new(t, None)).collect();
        return output::json(&views);
    }
    let column = |kinds: &[&str], preferred: &str| {
        source
            .properties
            .get(preferred)
            .filter(|p| kinds.contains(&p.kind.as_str()))
            .or_else(|| {
                source
                    .properties
                    .values()
                    .find(|p| kinds.contains(&p.kind.as_str()))
            })
            .map(|p| p.name.clone())
    };
    let priority = column(&["select"], "Priority");
    let due = column(&["date"], "Due");
    let cell = |task: &Task, name: &Option<String>| {
        name.as_ref()
            .and_then(|name| task.properties.get(name))
            .map(|p| p.value.display())
            .unwrap_or_default()
    };
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|task| {
            vec![
                output::label(task),
                task.status().unwrap_or_default(),
                cell(task, &priority),
                cell(task, &due),
                task.title(),
            ]
        })
        .collect();
    let header = [
        "ID",
        "STATUS",
        priority.as_deref().unwrap_or("PRIORITY"),
        due.as_deref().unwrap_or("DUE"),
        "TITLE",
    ];
    let header: Vec<String> = header.iter().map(|h| h.to_uppercase()).collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    output::table(&header, &rows);
    out!("{} task(s)", tasks.len());
    Ok(())
}

/// The status property of a data source and the exact name of one of its options.
fn status_option(source: &DataSource, wanted: &str) -> anyhow::Result<(String, String)> {
    let property = source
        .properties
        .get("Status")
        .filter(|p| p.kind == "status")
        .or_else(|| source.first_of_kind("status"))
        .ok_or_else(|| NotionError::MissingProperty {
            kind: "status".into(),
            hint: String::new(),
        })?;
    let option = property
        .options
        .iter()
        .find(|option| option.name.eq_ignore_ascii_case(wanted.trim()))
        .ok_or_else(|| NotionError::UnknownOption {
            property: property.name.clone(),
            kind: "status".into(),
            wanted: wanted.to_string(),
            allowed: property.options.iter().map(|o| o.name.clone()).collect(),
        })?;
    Ok((property.name.clone(), option.name.clone()))
}

/// A task with its truncated values completed, and its page text.
async fn full_task(
    session: &Session,
    reference: &str,
) -> anyhow::Result<(Task, Vec<crate::model::Block>)> {
    let mut task = session.find_task(reference).await?;
    // Rollups and formulas over a truncated relation need the schema to be found.
    let relation_cut = task
        .properties
        .values()
        .any(|p| p.truncated && matches!(p.value, crate::model::PropertyValue::Relation(_)));
    let parent = task
        .data_source_id
        .as_deref()
        .and_then(|id| NotionId::parse(id).ok());
    let schema = match (relation_cut, parent) {
        (true, Some(parent)) => Some(session.client.retrieve_data_source(&parent).await?),
        (true, None) => Some(session.data_source().await?),
        (false, _) => None,
    };
    session
        .client
        .complete_task(&mut task, schema.as_ref())
        .await?;
    let content = session.client.list_children(&task.id).await?;
    Ok((task, content))
}

/// Users' names by id: the mirror's when it knows them, else Notion's users list (none when the
/// integration may not read user information).
async fn user_names(session: &Session) -> std::collections::HashMap<String, String> {
    let known = session
        .config
        .mirror_path()
        .ok()
        .and_then(|path| Store::open_read_only(&path).ok().flatten());
    let known = match known {
        Some(store) => store.user_names().await.unwrap_or_default(),
        None => Default::default(),
    };
    if !known.is_empty() {
        return known;
    }
    match session.client.list_users().await {
        Ok(Some(users)) => users
            .into_iter()
            .filter_map(|user| Some((user.id, user.name.filter(|n| !n.is_empty())?)))
            .collect(),
        Ok(None) => Default::default(),
        Err(error) => {
            tracing::debug!(%error, "cannot list the workspace's users; people are shown by id");
            Default::default()
        }
    }
}

async fn show(session: &Session, reference: &str, json: bool) -> anyhow::Result<()> {
    let (mut task, content) = full_task(session, reference).await?;
    task.fill_user_names(&user_names(session).await);
    if json {
        return output::json(&TaskJson::new(&task, Some(&content)));
    }
    output::detail(&task, &content);
    Ok(())
}

async fn set_status(
    session: &Session,
    reference: &str,
    wanted: &str,
    json: bool,
) -> anyhow::Result<()> {
    let task = session.find_task(reference).await?;
    let source_id = task
        .data_source_id
        .as_deref()
        .and_then(|id| NotionId::parse(id).ok())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{} is not a task in a database (its parent is not a data source)",
                output::label(&task)
            )
        })?;
    let source = session.client.retrieve_data_source(&source_id).await?;
    let (property, name) = status_option(&source, wanted)?;
    let before = task.status();
    let updated = if before.as_deref() == Some(name.as_str()) {
        eprintln!(
            "{} already has status {name}: nothing to change",
            output::label(&task)
        );
        task
    } else {
        if let Some(id) = source.properties.get(&property).map(|p| p.id.clone()) {
            note_own_edit(session, &task, id, &name).await;
        }
        let updated = session
            .client
            .update_page(&task.id, &[(property, PropertyWrite::Status(name.clone()))])
            .await
            .with_context(|| format!("cannot set the status of {}", output::label(&task)))?;
        if !json {
            out!(
                "{} \"{}\": {} → {name}",
                output::label(&updated),
                updated.title(),
                before.as_deref().unwrap_or("(none)")
            );
        }
        updated
    };
    if json {
        return output::json(&TaskJson::new(&updated, None));
    }
    Ok(())
}

/// Records in the mirror, before it is sent, a write this command makes, so that the next sync
/// knows the edit for tasksync's own (an edit by our integration that no record explains is
/// another writer's). Without a mirror there is nothing to tell; a mirror that cannot take the
/// record is said, not fatal: the person's command goes ahead.
async fn note_own_edit(session: &Session, task: &Task, property_id: String, value: &str) {
    let Ok(path) = session.config.mirror_path() else {
        return;
    };
    if !path.exists() {
        return;
    }
    let recorded = async {
        Store::open(&path)?
            .record_own_edit(
                task.id.to_string(),
                property_id,
                Some(value.to_string()),
                "tasks set-status",
                crate::model::time::iso(chrono::Utc::now()),
            )
            .await
    };
    if let Err(error) = recorded.await {
        tracing::warn!(
            "cannot record this edit in the mirror ({error:#}): the next sync may report it as another writer's"
        );
    }
}

async fn append(
    session: &Session,
    reference: &str,
    text: &str,
    format: TextFormat,
    json: bool,
) -> anyhow::Result<()> {
    let text = if text == "-" {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .context("cannot read the text from standard input")?;
        input
    } else {
        text.to_string()
    };
    if text.trim().is_empty() {
        anyhow::bail!("there is no text to append");
    }
    let task = session.find_task(reference).await?;
    let blocks = session
        .client
        .append_text(&task.id, &text, format)
        .await
        .with_context(|| format!("cannot append to {}", output::label(&task)))?;
    if json {
        return output::json(&blocks);
    }
    let characters = text.chars().count();
    out!(
        "Appended {} block(s) ({}), {characters} characters, to {} \"{}\"",
        blocks.len(),
        format.as_str(),
        output::label(&task),
        task.title()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_ids_must_carry_the_database_prefix() {
        let nope = UniqueRef::parse("NOPE-12").unwrap();
        assert_eq!(nope.number, 12);
        assert_eq!(
            nope.check_prefix(Some("TASK")).unwrap_err().to_string(),
            "`NOPE-12` is not an ID of this database: its IDs have the prefix `TASK` (e.g. TASK-12)"
        );
        assert!(
            UniqueRef::parse("task-12")
                .unwrap()
                .check_prefix(Some("TASK"))
                .is_ok()
        );
        assert!(
            UniqueRef::parse("12")
                .unwrap()
                .check_prefix(Some("TASK"))
                .is_ok()
        );
        assert!(
            UniqueRef::parse("TASK-12")
                .unwrap()
                .check_prefix(None)
                .is_err()
        );
        assert_eq!(UniqueRef::parse("TASK-x"), None);
        assert_eq!(
            UniqueRef::parse("MY-TEAM-7"),
            Some(UniqueRef {
                prefix: Some("MY-TEAM".into()),
                number: 7
            })
        );
    }
}
