//! `tasksync outbox`: everything rules queued to go out, mail and webhooks, in one list.

use std::path::Path;

use anyhow::Context;

use serde::Serialize;

use super::output;

/// One row of the outbox, mail or webhook.
#[derive(Debug, Serialize)]
struct Row {
    /// `mail#12` or `webhook#3`: what `tasksync outbox retry` takes.
    id: String,
    kind: &'static str,
    status: String,
    attempts: i64,
    /// Recipients, or `$VARIABLE` / the URL of a webhook.
    to: String,
    /// The rule that queued it and on which task (a mail's subject says more).
    what: String,
    /// The server's reply or the last error, and when it is tried again.
    note: String,
    created_at: String,
}

pub async fn list(config_path: Option<&Path>, failed: bool, json: bool) -> anyhow::Result<()> {
    let store = super::mail::open(config_path)?;
    let mut rows: Vec<Row> = Vec::new();
    for hook in store.list_webhooks(failed).await? {
        let mut note = hook.last_error.clone().unwrap_or_default();
        if let Some(next) = &hook.next_attempt_at {
            note = format!("next try {next}: {note}");
        } else if let Some(status) = hook.response_status.filter(|_| note.is_empty()) {
            note = format!("HTTP {status}");
        }
        rows.push(Row {
            id: format!("webhook#{}", hook.id),
            kind: "webhook",
            status: hook.status.to_string(),
            attempts: hook.attempts,
            to: hook.target.clone(),
            what: match (&hook.rule, &hook.task_title) {
                (Some(rule), Some(title)) => format!("rule {rule} on \"{title}\""),
                (Some(rule), None) => format!("rule {rule}"),
                _ => format!("Idempotency-Key {}", hook.idempotency_key),
            },
            note,
            created_at: hook.created_at.clone(),
        });
    }
    for mail in store.list_mail(failed).await? {
        let mut note = mail
            .server_reply
            .clone()
            .or(mail.last_error.clone())
            .unwrap_or_default();
        if !mail.skipped.is_empty() {
            note = format!("{note} (skipped {})", mail.skipped.join("; "))
                .trim()
                .to_string();
        }
        rows.push(Row {
            id: format!("mail#{}", mail.id),
            kind: "mail",
            status: mail.status.to_string(),
            attempts: mail.attempts,
            to: mail.to.join(", "),
            what: match &mail.rule {
                Some(rule) => format!("rule {rule}: \"{}\"", mail.subject),
                None => mail.subject.clone(),
            },
            note,
            created_at: mail.created_at.clone(),
        });
    }
    rows.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    if json {
        return output::json(&rows);
    }
    if rows.is_empty() {
        out!(
            "{}",
            if failed {
                "Nothing failed."
            } else {
                "The outbox is empty."
            }
        );
        return Ok(());
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.status.clone(),
                r.attempts.to_string(),
                r.to.clone(),
                r.what.clone(),
                r.note.clone(),
            ]
        })
        .collect();
    output::table(
        &["ID", "STATUS", "TRIES", "TO", "WHAT", "REPLY / ERROR"],
        &table,
    );
    Ok(())
}

pub async fn retry(
    config_path: Option<&Path>,
    id: Option<String>,
    all_failed: bool,
) -> anyhow::Result<()> {
    let store = super::mail::open(config_path)?;
    let (mail, hooks) = match id.as_deref() {
        None if all_failed => (
            store.retry_mail(None).await?,
            store.retry_webhooks(None).await?,
        ),
        None => anyhow::bail!(
            "name what to retry (its ID from `tasksync outbox list --failed`, e.g. webhook#3) or pass --all-failed"
        ),
        Some(text) => {
            let parsed = text
                .split_once('#')
                .and_then(|(kind, number)| Some((kind, number.parse::<i64>().ok()?)));
            match parsed {
                Some(("mail", number)) => (store.retry_mail(Some(number)).await?, 0),
                Some(("webhook", number)) => (0, store.retry_webhooks(Some(number)).await?),
                _ => anyhow::bail!(
                    "`{text}` is not an outbox ID: write mail#12 or webhook#3 (see `tasksync outbox list --failed`)"
                ),
            }
        }
    };
    if mail + hooks == 0 {
        anyhow::bail!("nothing failed to queue again (see `tasksync outbox list --failed`)");
    }
    out!(
        "Queued {mail} mail(s) and {hooks} webhook(s) again; `tasksync sync` (or the daemon) sends them."
    );
    Ok(())
}

/// `tasksync webhook verify`: opens the verification window, then (unless `no_wait`) waits for
/// the token Notion sends and prints it.
pub async fn webhook_verify(
    config_path: Option<&Path>,
    window: std::time::Duration,
    no_wait: bool,
) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    let (config, _) = crate::config::load(config_path)?;
    let mirror = config.mirror_path()?;
    let token = crate::listen::TokenStore::new(&mirror);
    if token.is_from_environment() {
        anyhow::bail!(
            "{} is set: the daemon verifies signatures with it and needs no verification request",
            crate::listen::TOKEN_VARIABLE
        );
    }
    if token.current().is_some() {
        anyhow::bail!(
            "a verification token is kept already ({}): `tasksync webhook token` prints it; to verify a new subscription, delete that file first",
            token.file().display()
        );
    }
    let until = chrono::Utc::now() + chrono::Duration::from_std(window)?;
    token.open_window(until).with_context(|| {
        format!(
            "cannot open the verification window beside the mirror {}",
            mirror.display()
        )
    })?;
    let listen = config.webhook.listen.map_or_else(
        || "nowhere: set [webhook] listen".to_string(),
        |a| a.to_string(),
    );
    eprintln!(
        "The daemon (listening on {listen}) accepts Notion's verification request until {}: create the webhook subscription in Notion now (or press Resend in its Verify dialog).",
        crate::model::time::iso(until)
    );
    if no_wait {
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + window;
    while tokio::time::Instant::now() < deadline {
        if let Some(secret) = token.current() {
            eprintln!("Notion's verification token (paste it into the Verify dialog):");
            out!("{}", secret.expose_secret());
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    anyhow::bail!(
        "no verification request reached the daemon in {}s: is it running with [webhook] listen, and does the subscription's URL end in {}?",
        window.as_secs(),
        crate::listen::PATH
    )
}

/// `tasksync webhook token`: the verification token Notion sent, for its Verify dialog.
pub fn webhook_token(config_path: Option<&Path>) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    let (config, _) = crate::config::load(config_path)?;
    let mirror = config.mirror_path()?;
    let token = crate::listen::TokenStore::new(&mirror);
    match token.current() {
        Some(secret) => {
            out!("{}", secret.expose_secret());
            if token.is_from_environment() {
                eprintln!(
                    "(from {}; the daemon verifies signatures with it)",
                    crate::listen::TOKEN_VARIABLE
                );
            }
            Ok(())
        }
        None => anyhow::bail!(
            "Notion has not sent a verification token yet ({} does not exist): set `[webhook] listen`, start the daemon behind your HTTPS proxy, and create the webhook subscription in Notion (integration settings → Webhooks) with the URL https://YOUR-HOST{}",
            token.file().display(),
            crate::listen::PATH
        ),
    }
}
