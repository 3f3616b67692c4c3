//! `tasksync mail test|list|retry`: the outbox and the SMTP server.

use std::path::Path;

use super::output;
use crate::config::{self, ConfigError, SMTP_URL_VARIABLE};
use crate::model::automation::MailStatus;
use crate::notify::Mailer;
use crate::store::Store;

/// The mailer the environment describes; an error saying how to set it up when there is none.
pub fn mailer(mail: &config::MailConfig) -> anyhow::Result<Mailer> {
    Mailer::from_environment(mail)?.ok_or_else(|| {
        ConfigError::Missing(format!(
            "{SMTP_URL_VARIABLE} is not set: name the SMTP server, e.g. SMTP_URL=smtps://user@smtp.example.com:465 with SMTP_PASSWORD, \
             or smtp://localhost:25?tls=none for a local relay"
        ))
        .into()
    })
}

pub async fn test(config_path: Option<&Path>, to: Option<String>) -> anyhow::Result<()> {
    let (config, _) = config::load(config_path)?;
    let mailer = mailer(&config.mail)?;
    let recipients = match to {
        Some(address) => vec![address],
        None if !config.mail.to.is_empty() => config.mail.to.clone(),
        None => anyhow::bail!("no recipient: pass --to ADDRESS or set [mail] to"),
    };
    out!(
        "Sending a test message to {} through {} ...",
        recipients.join(", "),
        mailer.target
    );
    match mailer.send_test(&recipients).await {
        Ok(reply) => {
            out!("Sent. The server answered: {reply}");
            Ok(())
        }
        Err(failure) => anyhow::bail!("{failure}"),
    }
}

pub(super) fn open(config_path: Option<&Path>) -> anyhow::Result<Store> {
    let (config, _) = config::load(config_path)?;
    open_mirror(&config.mirror_path()?)
}

/// The mirror at `path`, which must exist.
fn open_mirror(path: &Path) -> anyhow::Result<Store> {
    if !path.exists() {
        anyhow::bail!(
            "there is no mirror at {} yet: run `tasksync sync` first",
            path.display()
        );
    }
    Store::open(path)
}

pub async fn list(config_path: Option<&Path>, failed: bool, json: bool) -> anyhow::Result<()> {
    let store = open(config_path)?;
    let mails = store.list_mail(failed).await?;
    if json {
        return output::json(&mails);
    }
    if mails.is_empty() {
        out!(
            "{}",
            if failed {
                "No failed mail."
            } else {
                "The outbox is empty."
            }
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = mails
        .iter()
        .map(|m| {
            let note = match m.status {
                MailStatus::Sent => m.server_reply.clone().unwrap_or_default(),
                MailStatus::Queued if m.next_attempt_at.is_some() => {
                    format!(
                        "next try {}: {}",
                        m.next_attempt_at.as_deref().unwrap_or_default(),
                        m.last_error.as_deref().unwrap_or_default()
                    )
                }
                _ => m.last_error.clone().unwrap_or_default(),
            };
            let note = if m.skipped.is_empty() || m.status == MailStatus::Skipped {
                note
            } else {
                format!("{note} (skipped {})", m.skipped.join("; "))
                    .trim_start()
                    .to_string()
            };
            vec![
                m.id.to_string(),
                m.status.to_string(),
                m.attempts.to_string(),
                m.to.join(", "),
                m.subject.clone(),
                note,
            ]
        })
        .collect();
    output::table(
        &[
            "ID",
            "STATUS",
            "TRIES",
            "TO",
            "SUBJECT",
            "SERVER REPLY / ERROR",
        ],
        &rows,
    );
    Ok(())
}

/// `mail retry ID|--all`: makes the mail due now (failed mail queued again, queued mail no
/// longer waiting out its backoff), then sends it at once when no other tasksync holds the
/// mirror; a running daemon sends it at its next outbox run.
pub async fn retry(config_path: Option<&Path>, id: Option<i64>, all: bool) -> anyhow::Result<()> {
    if id.is_none() && !all {
        anyhow::bail!(
            "name the mail to retry (its ID from `tasksync mail list`) or pass --all (every queued and failed mail)"
        );
    }
    let (config, _) = config::load(config_path)?;
    let path = config.mirror_path()?;
    let store = open_mirror(&path)?;
    let count = store.retry_mail(id).await?;
    if let (Some(id), 0) = (id, count) {
        anyhow::bail!(
            "mail {id} is neither queued nor failed: nothing to retry (see `tasksync mail list`)"
        );
    }
    if count == 0 {
        out!("No queued or failed mail: nothing to retry.");
        return Ok(());
    }
    // One actor per mirror: send now only when no other tasksync (the daemon) holds it.
    let lock = match crate::lock::InstanceLock::acquire_as(&path, "mail retry") {
        Ok(lock) => lock,
        Err(error) => {
            let holder = error
                .downcast_ref::<crate::lock::Busy>()
                .and_then(|busy| busy.holder.pid)
                .map(|pid| format!(" (pid {pid})"))
                .unwrap_or_default();
            out!(
                "{count} mail(s) due now; the tasksync holding the mirror{holder} sends them at its next outbox run (schedule.outbox = {})",
                config.schedule.outbox
            );
            return Ok(());
        }
    };
    let Some(mailer) = Mailer::from_environment(&config.mail)? else {
        out!("{count} mail(s) due now; set {SMTP_URL_VARIABLE} to send them");
        return Ok(());
    };
    let report = crate::notify::flush(&store, &mailer, chrono::Utc::now()).await?;
    drop(lock);
    out!(
        "Sent {}, {} retrying, {} failed (through {}).",
        report.sent,
        report.retrying,
        report.failed,
        mailer.target
    );
    if report.retrying + report.failed > 0 {
        let error = store
            .list_mail(false)
            .await?
            .into_iter()
            .find_map(|mail| mail.last_error.filter(|_| mail.status != MailStatus::Sent));
        anyhow::bail!(
            "the mail server still refuses: {}",
            error.unwrap_or_else(|| "no message".into())
        );
    }
    Ok(())
}
