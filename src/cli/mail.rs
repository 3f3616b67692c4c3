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
    let path = config.mirror_path()?;
    if !path.exists() {
        anyhow::bail!(
            "there is no mirror at {} yet: run `tasksync sync` first",
            path.display()
        );
    }
    Store::open(&path)
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

pub async fn retry(
    config_path: Option<&Path>,
    id: Option<i64>,
    all_failed: bool,
) -> anyhow::Result<()> {
    if id.is_none() && !all_failed {
        anyhow::bail!(
            "name the mail to retry (its ID from `tasksync mail list --failed`) or pass --all-failed"
        );
    }
    let store = open(config_path)?;
    let count = store.retry_mail(id).await?;
    match (id, count) {
        (Some(id), 0) => {
            anyhow::bail!("mail {id} is not a failed mail (see `tasksync mail list --failed`)")
        }
        _ => out!("Queued {count} mail(s) again; `tasksync sync` (or the daemon) sends them."),
    }
    Ok(())
}
