//! `tasksync check` and `tasksync rules preview`.

use std::path::Path;

use crate::model::automation::FiringStatus;

use super::mirror::{find_in_mirror, print_firings};
use super::output;
use super::tasks::{Patience, Session};
use crate::rules::eval::{Snapshot, is_inside};
use crate::store::Store;
use crate::sync::{SyncOptions, sync};

pub async fn check(
    config_path: Option<&Path>,
    patience: Patience,
    strict: bool,
    source: Option<String>,
) -> anyhow::Result<()> {
    let session = Session::open(config_path, patience)?.with_source(source);
    out!("Configuration: {} (ok)", session.origin);
    let me = session.client.me().await?;
    out!("Token: ok (integration \"{}\")", me.display());
    // The mirror (when there is one) remembers former property names, to follow renames.
    let mirror = Store::open_read_only(&session.config.mirror_path()?).unwrap_or(None);
    // Each source's rules against its own schema.
    let mut suspended = Vec::new();
    let mut mails_people = false;
    let mut webhook_unset = Vec::new();
    for resolved in session.sources().await? {
        let rules = check_source(&session, &resolved, mirror.as_ref()).await?;
        mails_people |= rules.mails_people();
        webhook_unset.extend(
            rules
                .webhook_variables()
                .into_iter()
                .filter(|(_, variable)| {
                    !std::env::var(variable).is_ok_and(|url| !url.trim().is_empty())
                })
                .map(|(rule, variable)| (rule.to_string(), variable.to_string())),
        );
        suspended.extend(rules.suspended);
    }
    let mut warnings = 0;
    for (rule, variable) in &webhook_unset {
        warnings += 1;
        out!(
            "  warning: rule `{rule}` posts to the URL in ${variable}, which is not set: its webhooks wait in the outbox until it is (put it in the environment or .env)"
        );
    }
    if mails_people {
        for line in people_without_email(mirror.as_ref()).await? {
            warnings += 1;
            out!("  warning: {line}");
        }
    }
    match crate::notify::Mailer::from_environment(&session.config.mail)? {
        Some(mailer) => out!(
            "Mail: through {} (send a test with `tasksync mail test`)",
            mailer.target
        ),
        None => out!("Mail: SMTP_URL is not set; mail from rules waits in the outbox"),
    }
    // A rule that does not fit the schema names a property or option Notion does not have (or
    // one of another type): certainly a mistake to fix, so `check` fails on it. The daemon
    // still starts and suspends such a rule: Notion's schema never stops the service.
    if !suspended.is_empty() {
        let path = match &session.origin {
            crate::config::Origin::File(path) => path.clone(),
            crate::config::Origin::Defaults { .. } => "tasksync.toml".into(),
        };
        let problems = suspended
            .iter()
            .flat_map(|s| s.reasons.iter().cloned())
            .collect();
        return Err(crate::config::ConfigError::Invalid { path, problems }.into());
    }
    if strict && warnings > 0 {
        return Err(crate::config::ConfigError::Missing(format!(
            "`check --strict` fails on warnings: {warnings} above"
        ))
        .into());
    }
    Ok(())
}

/// One source's part of `check`: its data source, its rules against the schema, the people and
/// tasks they name, the webhook variables they need.
async fn check_source(
    session: &Session,
    resolved: &super::tasks::Resolved,
    mirror: Option<&Store>,
) -> anyhow::Result<crate::rules::RuleSet> {
    let source = &resolved.source;
    let named = resolved
        .name()
        .map(|name| format!("Source {name}: "))
        .unwrap_or_default();
    out!(
        "{named}data source \"{}\" ({}) with {} properties",
        source.name,
        source.id,
        source.properties.len()
    );
    let former = super::tasks::former_names(mirror, source).await;
    let rules = super::tasks::compile_rules(
        &session.config,
        &session.origin,
        resolved.name(),
        source,
        &former,
    )?;
    let files: std::collections::BTreeSet<_> = session
        .config
        .rules_of(resolved.name())
        .iter()
        .map(|r| r.file.display().to_string())
        .collect();
    let files: Vec<String> = files.into_iter().collect();
    let files = if files.is_empty() {
        String::new()
    } else {
        format!(" ({})", files.join(", "))
    };
    if rules.suspended.is_empty() {
        out!(
            "Rules: {} checked against the schema, no problems{files}",
            rules.rules.len()
        );
    } else {
        out!(
            "Rules: {} checked against the schema{files}; {} do not fit it as it is now (the daemon would suspend them and run the others)",
            rules.rules.len() + rules.suspended.len(),
            rules.suspended.len()
        );
    }
    for followed in &rules.followed {
        out!(
            "  note: rule `{}` names `{}`, which Notion now calls `{}`: followed by id; rename it in the rules file",
            followed.rule,
            followed.former,
            followed.current
        );
    }
    check_references(session, &rules, mirror).await?;
    for (rule, variable) in rules.webhook_variables() {
        if std::env::var(variable).is_ok_and(|url| !url.trim().is_empty()) {
            out!("Webhook of rule `{rule}`: URL from ${variable} (set)");
        }
    }
    Ok(rules)
}

/// People and tasks rules name in `set` values, looked up in the mirror: one that matches nothing
/// (or several) is a configuration error at its file and line. Without a mirror they are
/// checked when the rule fires (a firing error says which).
async fn check_references(
    session: &Session,
    rules: &crate::rules::RuleSet,
    mirror: Option<&Store>,
) -> anyhow::Result<()> {
    let references = rules.references();
    if references.is_empty() {
        return Ok(());
    }
    let Some(store) = mirror else {
        out!(
            "  note: rules name {} people or task(s) in `set` values; they are checked against the mirror once there is one (run `tasksync sync`)",
            references.len()
        );
        return Ok(());
    };
    let mut directory = crate::rules::directory::Directory {
        users: store.users().await?,
        ..Default::default()
    };
    directory.set_tasks(store.task_references(rules.task_references()).await?);
    let problems = rules.unknown_references(&directory);
    if problems.is_empty() {
        out!(
            "People and tasks named in rules: {} found in the mirror",
            references.len()
        );
        return Ok(());
    }
    let path = match &session.origin {
        crate::config::Origin::File(path) => path.clone(),
        crate::config::Origin::Defaults { .. } => "tasksync.toml".into(),
    };
    Err(crate::config::ConfigError::Invalid { path, problems }.into())
}

/// What `check` warns about when rules mail the people of a people property: people the mirror
/// knows no email for (bots, or the integration lacks the user-information capability).
async fn people_without_email(mirror: Option<&Store>) -> anyhow::Result<Vec<String>> {
    let users = match mirror {
        Some(store) => store.users().await?,
        None => Default::default(),
    };
    if users.is_empty() {
        return Ok(vec![
            "rules mail the people of a people property, but the mirror knows no users yet: run `tasksync sync` (mail to people whose email is unknown is skipped, and `tasksync status` shows it)".into(),
        ]);
    }
    let mut people: Vec<&crate::model::User> = users
        .values()
        .filter(|user| user.kind.as_deref() != Some("bot") && user.email.is_none())
        .collect();
    people.sort_by(|a, b| a.display().cmp(b.display()));
    let bots = users
        .values()
        .filter(|user| user.kind.as_deref() == Some("bot"))
        .count();
    let mut lines = Vec::new();
    if !people.is_empty() {
        let names: Vec<&str> = people.iter().take(10).map(|user| user.display()).collect();
        let more = if people.len() > 10 { ", …" } else { "" };
        lines.push(format!(
            "{} of {} people have no email tasksync can read ({}{more}): give the integration the user-information capability with email addresses; until then mail to them is skipped, and `tasksync status` shows it",
            people.len(),
            users.len() - bots,
            names.join(", ")
        ));
    }
    Ok(lines)
}

pub async fn preview(
    config_path: Option<&Path>,
    patience: Patience,
    task: Option<&str>,
    rule: Option<&str>,
    json: bool,
    source: Option<String>,
) -> anyhow::Result<()> {
    let session = Session::open(config_path, patience)?.with_source(source);
    let resolved = session.one_source().await?;
    let store = Store::open_read_only(&session.config.mirror_path()?)?;
    let rules = session.rules(&resolved, store.as_ref()).await?;
    let source = resolved.source;
    if let Some(wanted) = rule
        && !rules.rules.iter().any(|r| r.name == wanted)
    {
        let names: Vec<&str> = rules.rules.iter().map(|r| r.name.as_str()).collect();
        anyhow::bail!(
            "there is no rule `{wanted}`; the rules are: {}",
            names.join(", ")
        );
    }
    let task_row = match (task, &store) {
        (Some(reference), Some(store)) => {
            Some(find_in_mirror(store, reference, Some(&[source.id.to_string()])).await?)
        }
        (Some(reference), None) => anyhow::bail!(
            "there is no mirror yet to find {reference} in: run `tasksync sync` first"
        ),
        _ => None,
    };
    let options = SyncOptions {
        dry_run: true,
        overlap: chrono::Duration::from_std(session.config.sync.overlap)?,
        reconcile_every: chrono::Duration::from_std(session.config.sync.reconcile_every)?,
        ..SyncOptions::default()
    };
    let mut report = sync(&session.client, store.as_ref(), &source, &rules, &options).await?;
    report.planned.clear();
    report.firings.retain(|f| {
        rule.is_none_or(|r| f.rule == r) && task_row.as_ref().is_none_or(|t| f.task_id == t.id)
    });
    report.fired = report
        .firings
        .iter()
        .filter(|f| f.status != FiringStatus::Stopped)
        .count() as u64;
    report.stopped = report.firings.len() as u64 - report.fired;
    let conditions: Vec<(String, &'static str)> = match &task_row {
        Some(row) => {
            let properties = row.properties()?;
            let snapshot = Snapshot::new(&properties, row.deleted_at.is_some());
            rules
                .rules
                .iter()
                .filter(|r| rule.is_none_or(|wanted| r.name == wanted))
                .map(|r| {
                    let fires = report
                        .firings
                        .iter()
                        .any(|f| f.rule == r.name && f.task_id == row.id);
                    let state = if fires {
                        "would fire on the change since the last sync (above)"
                    } else if r.trigger == crate::rules::Trigger::Edge {
                        "a transition rule: fires on the change itself, not on a state"
                    } else if is_inside(&r.condition, &snapshot, chrono::Utc::now()) {
                        "holds (fires when a task enters it, not while it stays)"
                    } else {
                        "does not hold in the mirror"
                    };
                    (r.name.clone(), state)
                })
                .collect()
        }
        None => Vec::new(),
    };
    if json {
        let conditions: serde_json::Map<String, serde_json::Value> = conditions
            .iter()
            .map(|(n, holds)| (n.clone(), (*holds).into()))
            .collect();
        return output::json(
            &serde_json::json!({ "firings": super::mirror::firings_json(&report.firings)?, "conditions_now": conditions }),
        );
    }
    if report.firings.is_empty() {
        out!("No rule would fire on the changes since the last sync (nothing was written).");
    } else {
        print_firings(&report);
        out!("Nothing was written.");
    }
    if let Some(row) = &task_row {
        out!(
            "\nConditions for \"{}\" as the mirror last recorded it (before the changes since the last sync):",
            row.title
        );
        for (name, state) in conditions {
            out!("  {name}: {state}");
        }
    }
    Ok(())
}
