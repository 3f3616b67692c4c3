//! `tasksync daemon`: the start-up checks (token, data source, the one-actor locks, the rules
//! against the schema), then `daemon::serve` until a signal; the settings a reload builds again.

use std::path::Path;

use super::mirror::claim_source;
use super::tasks::{Patience, Session};
use crate::config;
use crate::store::Store;
use crate::sync::SyncOptions;

/// What the daemon's jobs run with, from a configuration checked in full: the rules against the
/// data source's schema (following former property names), the schedules, the mail settings.
/// At start-up, and again for a reload (SIGHUP), where nothing of it applies unless all of it is
/// good.
fn daemon_settings(
    config: &config::Config,
    origin: &config::Origin,
    source: &crate::model::DataSource,
    former_names: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<crate::daemon::Reloaded> {
    let (rules_config, rules_origin) = (config.clone(), origin.clone());
    let compile: crate::daemon::RuleCompiler = std::sync::Arc::new(move |source, former| {
        super::tasks::compile_rules(&rules_config, &rules_origin, source, former)
    });
    Ok(crate::daemon::Reloaded {
        rules: compile(source, former_names)?,
        compile,
        mailer: crate::notify::Mailer::from_environment(&config.mail)?,
        sync_options: SyncOptions {
            overlap: chrono::Duration::from_std(config.sync.overlap)?,
            reconcile_every: chrono::Duration::from_std(config.sync.reconcile_every)?,
            ..SyncOptions::default()
        },
        action_attempts: config.automation.action_attempts,
        schedules: config
            .schedule
            .parsed()
            .map_err(config::ConfigError::Missing)?,
        health: config.health.clone(),
    })
}

/// `tasksync daemon`: the start-up checks, then `daemon::serve` until a signal.
///
/// A change in Notion's schema never stops the start: renamed properties are followed (the
/// mirror remembers former names), and rules that do not fit the schema are suspended.
pub async fn daemon(config_path: Option<&Path>) -> anyhow::Result<()> {
    // The daemon is patient: nobody waits on it, and it must ride out Notion's bad minutes.
    let session = Session::open(config_path, Patience::Patient)?;
    let path = session.config.mirror_path()?;
    let _lock = crate::lock::InstanceLock::acquire_as(&path, "daemon")?;
    let store = Store::open(&path)?;
    let me = session.client.me().await?;
    tracing::info!(integration = %me.display(), "token works");
    let source = session.data_source().await?;
    let _source_lock = claim_source(&store, &source, &path, false).await?;
    let former = super::tasks::former_names(Some(&store), &source).await;
    let settings = daemon_settings(&session.config, &session.origin, &source, &former)?;
    crate::rules::log_drift(&settings.rules);
    store.rules_suspended(settings.rules.suspensions()).await?;
    let reload_from = config_path.map(Path::to_path_buf);
    let reloader: crate::daemon::Reloader = Box::new(move |source, former| {
        let (config, origin) = config::load(reload_from.as_deref())?;
        daemon_settings(&config, &origin, source, former)
    });
    let context = crate::daemon::Context {
        client: session.client.clone(),
        source,
        rules: settings.rules,
        compile: settings.compile,
        store,
        mailer: settings.mailer,
        hooks: crate::hooks::Sender::new()?,
        sync_options: settings.sync_options,
        action_attempts: settings.action_attempts,
        schedules: settings.schedules,
        health: settings.health,
        reload: Some(reloader),
    };
    crate::daemon::serve(context, crate::daemon::signals()).await
}
