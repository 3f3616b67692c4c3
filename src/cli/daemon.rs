//! `tasksync daemon`: the start-up checks (token, data source, the one-actor locks, the rules
//! against the schema), then `daemon::serve` until a signal; the settings a reload builds again.

use std::path::Path;

use super::mirror::claim_source;
use super::tasks::{Patience, Session};
use crate::config;
use crate::store::Store;
use crate::sync::SyncOptions;

/// What the daemon's jobs run with, from a configuration checked in full: each source's rules
/// against its data source's schema (following former property names), the schedules, the
/// mail settings. At start-up, and again for a reload (SIGHUP), where nothing of it applies
/// unless all of it is good; a reload whose sources differ from those running is refused.
fn daemon_settings(
    config: &config::Config,
    origin: &config::Origin,
    sources: &[crate::daemon::SourceSchema<'_>],
) -> anyhow::Result<crate::daemon::Reloaded> {
    let configured = config.source_keys();
    let running: Vec<Option<String>> = sources
        .iter()
        .map(|(name, ..)| name.map(str::to_string))
        .collect();
    if configured != running {
        let describe = |keys: &[Option<String>]| {
            keys.iter()
                .map(|key| key.as_deref().unwrap_or("[notion] database").to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(config::ConfigError::Missing(format!(
            "the sources changed (running: {}; configured now: {}): a reload does not add or remove sources; restart the daemon",
            describe(&running),
            describe(&configured)
        ))
        .into());
    }
    let mut compiled = Vec::with_capacity(sources.len());
    for (name, source, former) in sources {
        let (rules_config, rules_origin) = (config.clone(), origin.clone());
        let owned = name.map(str::to_string);
        let compile: crate::daemon::RuleCompiler = std::sync::Arc::new(move |source, former| {
            super::tasks::compile_rules(
                &rules_config,
                &rules_origin,
                owned.as_deref(),
                source,
                former,
            )
        });
        compiled.push((
            compile(source, former)?,
            compile,
            config.rules_of_others(*name),
        ));
    }
    Ok(crate::daemon::Reloaded {
        sources: compiled,
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
        report_schedule: config
            .schedule
            .report_schedule()
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
    let resolved = session.sources().await?;
    let configured = resolved.len();
    let mut source_locks = Vec::with_capacity(configured);
    let mut formers = Vec::with_capacity(configured);
    for source in &resolved {
        source_locks.push(claim_source(&store, &source.source, &path, configured, false).await?);
        formers.push(super::tasks::former_names(Some(&store), &source.source).await);
    }
    let schemas: Vec<crate::daemon::SourceSchema<'_>> = resolved
        .iter()
        .zip(formers)
        .map(|(source, former)| (source.name(), &source.source, former))
        .collect();
    let settings = daemon_settings(&session.config, &session.origin, &schemas)?;
    let mut sources = Vec::with_capacity(configured);
    for (source, (rules, compile, others)) in resolved.iter().zip(settings.sources) {
        crate::rules::log_drift(&rules);
        store
            .rules_suspended(rules.suspensions(), others.clone())
            .await?;
        sources.push(crate::daemon::SourceContext {
            name: source.spec.name.clone(),
            source: source.source.clone(),
            rules,
            compile,
            others,
        });
    }
    let reload_from = config_path.map(Path::to_path_buf);
    let reloader: crate::daemon::Reloader = Box::new(move |sources| {
        let (config, origin) = config::load(reload_from.as_deref())?;
        daemon_settings(&config, &origin, sources)
    });
    let webhooks = match session.config.webhook.listen {
        Some(address) => Some(webhooks(&session.config, &path, address, &store, &sources).await?),
        None => None,
    };
    let context = crate::daemon::Context {
        client: session.client.clone(),
        sources,
        store,
        mailer: settings.mailer,
        hooks: crate::hooks::Sender::new()?,
        deliveries: Default::default(),
        sync_options: settings.sync_options,
        action_attempts: settings.action_attempts,
        schedules: settings.schedules,
        report_schedule: settings.report_schedule,
        report_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        health: settings.health,
        reload: Some(reloader),
        webhooks,
    };
    crate::daemon::serve(context, crate::daemon::signals()).await
}

/// Binds the listener for Notion's webhooks (before READY, so a taken port stops the start),
/// and says whether signatures can be verified yet.
async fn webhooks(
    config: &config::Config,
    mirror: &Path,
    address: std::net::SocketAddr,
    store: &Store,
    sources: &[crate::daemon::SourceContext],
) -> anyhow::Result<crate::daemon::Webhooks> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| {
            anyhow::anyhow!(
                "cannot listen on {address} for Notion's webhooks ([webhook] listen): {error}"
            )
        })?;
    if !address.ip().is_loopback() {
        tracing::warn!(
            %address,
            "[webhook] listen is not a loopback address: the endpoint is reachable from other machines without TLS; it belongs behind your HTTPS reverse proxy, listening on 127.0.0.1"
        );
    }
    let token = crate::listen::TokenStore::new(mirror);
    if token.current().is_none() {
        tracing::warn!(
            file = %token.file().display(),
            "no webhook verification token yet: run `tasksync webhook verify`, then create the subscription in Notion (integration settings → Webhooks) with your public URL ending in {}; Notion then sends the token here, and `tasksync webhook verify` (or `tasksync webhook token`) prints it to paste back",
            crate::listen::PATH
        );
    }
    let hints = std::sync::Arc::new(crate::listen::Hints::default());
    let endpoint = crate::listen::Listener {
        store: store.clone(),
        token,
        sources: sources
            .iter()
            .map(|source| crate::listen::SourceIds {
                data_source_id: source.source.id.to_string(),
                database_id: source.source.database_id.as_ref().map(ToString::to_string),
            })
            .collect(),
        hints: hints.clone(),
        refusals: crate::listen::Refusals::default(),
    };
    Ok(crate::daemon::Webhooks {
        listener,
        endpoint: std::sync::Arc::new(endpoint),
        hints,
        debounce: config.webhook.debounce,
    })
}
