//! Mail: the only module that speaks SMTP. It sends the outbox through any SMTP server (lettre).
//!
//! The server comes from `SMTP_URL` (`smtps://user@host:465` for TLS, `smtp://host:587` for
//! STARTTLS, which is then required; `?tls=none` allows plain text, for local relays only and
//! never with a password) and the password from `SMTP_PASSWORD`. A mail is marked `sending`
//! before the server is contacted and `sent` with the server's reply after; 4xx replies and
//! connection failures wait and retry with backoff; 5xx replies mark it `failed` with the reply.
//! A crash between the server's acceptance and our bookkeeping resends the same message: the
//! Message-ID, derived from the firing, lets anyone recognise the duplicate.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::config::{ConfigError, MailConfig, SMTP_PASSWORD_VARIABLE, SMTP_URL_VARIABLE};
use crate::model::automation::MailStatus;
use crate::model::time::iso;
use crate::store::{OutboxMail, Store};

/// How the connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (`smtps://`, usually port 465).
    Wrapper,
    /// STARTTLS, and refuse to go on without it (`smtp://`, usually port 587).
    Required,
    /// Plain text (`?tls=none`): local relays only.
    None,
}

/// Where mail goes: `SMTP_URL` without its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: Option<String>,
}

impl std::fmt::Display for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tls = match self.tls {
            TlsMode::Wrapper => "TLS",
            TlsMode::Required => "STARTTLS",
            TlsMode::None => "no TLS",
        };
        let user = self
            .user
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        write!(f, "{user}{}:{} ({tls})", self.host, self.port)
    }
}

/// Parses `SMTP_URL`.
pub fn parse_smtp_url(text: &str) -> Result<SmtpTarget, String> {
    let hint = "write smtps://user@smtp.example.com:465, smtp://user@smtp.example.com:587 (STARTTLS) or smtp://localhost:25?tls=none";
    let url = url::Url::parse(text.trim())
        .map_err(|error| format!("{SMTP_URL_VARIABLE} is not a URL ({error}): {hint}"))?;
    if url.password().is_some() {
        return Err(format!(
            "{SMTP_URL_VARIABLE} holds a password: put it in {SMTP_PASSWORD_VARIABLE} instead"
        ));
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("{SMTP_URL_VARIABLE} names no host: {hint}"))?
        .to_string();
    let requested = url
        .query_pairs()
        .find(|(key, _)| key == "tls")
        .map(|(_, value)| value.into_owned());
    let (tls, default_port) = match (url.scheme(), requested.as_deref()) {
        ("smtps", None | Some("wrapper")) => (TlsMode::Wrapper, 465),
        ("smtp", None | Some("required" | "starttls")) => (TlsMode::Required, 587),
        ("smtp", Some("none")) => (TlsMode::None, 25),
        (scheme, tls) => {
            return Err(format!(
                "{SMTP_URL_VARIABLE}: `{scheme}://` with tls={} is not supported: {hint}",
                tls.unwrap_or("(none given)")
            ));
        }
    };
    let user = (!url.username().is_empty()).then(|| {
        percent_encoding::percent_decode_str(url.username())
            .decode_utf8_lossy()
            .into_owned()
    });
    if tls == TlsMode::None && user.is_some() {
        return Err(format!(
            "{SMTP_URL_VARIABLE} asks for no TLS and names a user: the password would cross the network in clear; use smtps:// or STARTTLS"
        ));
    }
    Ok(SmtpTarget {
        host,
        port: url.port().unwrap_or(default_port),
        tls,
        user,
    })
}

/// Where mail goes: an SMTP server, or files (the demo).
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// An SMTP connection's settings (or a directory of `.eml` files), ready to send.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// Where mail goes, for messages (no secret).
    pub target: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// A send that did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// Try again later (4xx replies, connection failures, timeouts).
    Transient(String),
    /// Retrying will not help (5xx replies, refused addresses, authentication).
    Permanent(String),
}

impl std::fmt::Display for SendFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transient(message) | Self::Permanent(message) => f.write_str(message),
        }
    }
}

impl Mailer {
    /// The mailer the environment describes, or `None` when `SMTP_URL` is not set.
    pub fn from_environment(mail: &MailConfig) -> Result<Option<Self>, ConfigError> {
        let Ok(url) = std::env::var(SMTP_URL_VARIABLE) else {
            return Ok(None);
        };
        let target = parse_smtp_url(&url).map_err(ConfigError::Missing)?;
        let password = std::env::var(SMTP_PASSWORD_VARIABLE)
            .ok()
            .filter(|p| !p.is_empty())
            .map(SecretString::from);
        Self::new(target, password, mail).map(Some)
    }

    pub fn new(
        target: SmtpTarget,
        password: Option<SecretString>,
        mail: &MailConfig,
    ) -> Result<Self, ConfigError> {
        let problem = |message: String| ConfigError::Missing(message);
        let from_text = mail
            .from
            .as_deref()
            .ok_or_else(|| problem("[mail] has no `from`: set the sender, e.g. from = \"tasksync <tasksync@example.com>\"".into()))?;
        let from: Mailbox = from_text.parse().map_err(|error| {
            problem(format!(
                "[mail] from = {from_text:?} is not a mail address ({error})"
            ))
        })?;
        let mut tls = TlsParameters::builder(target.host.clone());
        if let Some(path) = &mail.ca_certificate {
            tls = tls.add_root_certificate(read_certificate(path)?);
        }
        let tls = tls
            .build()
            .map_err(|error| problem(format!("cannot set up TLS for {}: {error}", target.host)))?;
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(target.host.clone())
                .port(target.port)
                .timeout(Some(Duration::from_secs(30)))
                .tls(match target.tls {
                    TlsMode::Wrapper => Tls::Wrapper(tls),
                    TlsMode::Required => Tls::Required(tls),
                    TlsMode::None => Tls::None,
                });
        match (&target.user, password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(
                    user.clone(),
                    password.expose_secret().to_string(),
                ));
            }
            (Some(user), None) => {
                return Err(problem(format!(
                    "{SMTP_URL_VARIABLE} names the user {user} but {SMTP_PASSWORD_VARIABLE} is not set"
                )));
            }
            (None, _) => {}
        }
        Ok(Self {
            transport: Transport::Smtp(builder.build()),
            from,
            target: target.to_string(),
        })
    }

    /// A mailer that writes each message as an `.eml` file into `directory` (the demo's local
    /// delivery); the reply names the file.
    pub fn to_directory(directory: &Path, mail: &MailConfig) -> Result<Self, ConfigError> {
        let from_text = mail
            .from
            .as_deref()
            .unwrap_or("tasksync <tasksync@example.com>");
        let from: Mailbox = from_text.parse().map_err(|error| {
            ConfigError::Missing(format!(
                "[mail] from = {from_text:?} is not a mail address ({error})"
            ))
        })?;
        std::fs::create_dir_all(directory).map_err(|cause| ConfigError::Read {
            path: directory.to_path_buf(),
            cause,
        })?;
        Ok(Self {
            transport: Transport::Files(AsyncFileTransport::new(directory)),
            from,
            target: format!("files in {}", directory.display()),
        })
    }

    /// Sends one mail; the server's reply on success.
    pub async fn send(&self, mail: &OutboxMail) -> Result<String, SendFailure> {
        let message = self.message(mail).map_err(SendFailure::Permanent)?;
        match &self.transport {
            Transport::Smtp(transport) => match transport.send(message).await {
                Ok(response) => {
                    let text: Vec<&str> = response.message().collect();
                    Ok(format!("{} {}", response.code(), text.join(" ")))
                }
                Err(error) => Err(self.classify(&error)),
            },
            Transport::Files(transport) => match transport.send(message).await {
                Ok(id) => Ok(format!("saved as {id}.eml")),
                Err(error) => Err(SendFailure::Transient(format!(
                    "cannot save the mail in {}: {error}",
                    self.target
                ))),
            },
        }
    }

    /// A plain test message to `to`.
    pub async fn send_test(&self, to: &[String]) -> Result<String, SendFailure> {
        let mail = OutboxMail {
            id: 0,
            message_id: format!(
                "<tasksync.test.{}@tasksync.invalid>",
                Utc::now().timestamp_millis()
            ),
            to: to.to_vec(),
            cc: Vec::new(),
            subject: "tasksync test message".into(),
            body_text: format!(
                "This is a test from tasksync through {}.\n\nIf you can read it, rule mail will arrive.\n",
                self.target
            ),
            body_html: None,
            attempts: 0,
        };
        self.send(&mail).await
    }

    pub(crate) fn message(&self, mail: &OutboxMail) -> Result<Message, String> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject_line(&mail.subject))
            .message_id(Some(self.message_id(&mail.message_id)));
        for address in &mail.to {
            builder = builder.to(address
                .parse()
                .map_err(|e| format!("`{address}` is not a mail address ({e})"))?);
        }
        for address in &mail.cc {
            builder = builder.cc(address
                .parse()
                .map_err(|e| format!("`{address}` is not a mail address ({e})"))?);
        }
        let built = match &mail.body_html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.body_text.clone(),
                html.clone(),
            )),
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(mail.body_text.clone()),
        };
        built.map_err(|error| format!("cannot build the mail: {error}"))
    }

    /// The stored Message-ID, in the sender's domain (still derived from the firing alone).
    fn message_id(&self, stored: &str) -> String {
        let domain = self.from.email.domain();
        stored.replace("@tasksync.invalid>", &format!("@{domain}>"))
    }

    /// Sorts a failure into retry-later or final, with the server's reply first (it is what a
    /// person scanning `mail list` looks for) and what to do.
    fn classify(&self, error: &lettre::transport::smtp::Error) -> SendFailure {
        // lettre's message already carries its cause ("permanent error (550): 5.1.1 ...").
        let detail = error.to_string();
        let code = error.status().map(|code| code.to_string());
        let server = &self.target;
        match code.as_deref() {
            Some("530" | "534" | "535" | "538") => SendFailure::Permanent(format!(
                "SMTP authentication failed ({detail}) at {server}: check the user in {SMTP_URL_VARIABLE} and {SMTP_PASSWORD_VARIABLE}"
            )),
            _ if error.is_permanent() => SendFailure::Permanent(format!(
                "{detail}: the SMTP server {server} refused the mail; fix the cause, then `tasksync mail retry`"
            )),
            _ if error.is_transient() => SendFailure::Transient(format!(
                "{detail}: the SMTP server {server} asked to try later"
            )),
            _ if error.is_tls() || detail.contains("certificate") => {
                SendFailure::Transient(format!(
                    "{detail}: TLS with the SMTP server {server} failed; a private certificate authority can be trusted with [mail] ca_certificate"
                ))
            }
            _ if error.is_client() => {
                SendFailure::Permanent(format!("{detail}: the mail could not be sent to {server}"))
            }
            _ => SendFailure::Transient(format!(
                "{detail}: could not talk to the SMTP server {server}"
            )),
        }
    }
}

fn read_certificate(path: &Path) -> Result<Certificate, ConfigError> {
    let pem = std::fs::read(path).map_err(|cause| ConfigError::Read {
        path: path.to_path_buf(),
        cause,
    })?;
    Certificate::from_pem(&pem).map_err(|error| {
        ConfigError::Missing(format!(
            "[mail] ca_certificate {} is not a PEM certificate: {error}",
            path.display()
        ))
    })
}

/// What a flush of the outbox did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FlushReport {
    pub sent: u64,
    pub failed: u64,
    /// Failed this time; queued again with a later attempt time.
    pub retrying: u64,
}

/// Transient failures before a mail is given up.
pub const MAX_ATTEMPTS: i64 = 20;

/// The wait before attempt `attempts + 1`: 1, 2, 4, ... minutes, at most an hour.
pub fn backoff(attempts: i64) -> chrono::Duration {
    let minutes = 1_i64 << attempts.clamp(1, 7).saturating_sub(1);
    chrono::Duration::minutes(minutes.min(60))
}

/// Sends every mail that is due, oldest first.
pub async fn flush(
    store: &Store,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> anyhow::Result<FlushReport> {
    let at = iso(now);
    let due = store.due_mail(at, 1000).await?;
    let mut report = FlushReport::default();
    for mail in due {
        let id = mail.id;
        store.start_mail(id).await?;
        let attempts = mail.attempts + 1;
        let to = mail.to.join(", ");
        let (status, note, next) = match mailer.send(&mail).await {
            Ok(reply) => {
                report.sent += 1;
                tracing::info!(mail = id, "mail #{id} to {to} sent: {reply}");
                (MailStatus::Sent, reply, None)
            }
            Err(SendFailure::Transient(message)) if attempts < MAX_ATTEMPTS => {
                report.retrying += 1;
                let next = now + backoff(attempts);
                tracing::warn!(
                    mail = id,
                    "mail #{id} to {to} not sent (try {attempts}; next at {}, or now with `tasksync mail retry {id}`): {message}",
                    iso(next)
                );
                (MailStatus::Queued, message, Some(iso(next)))
            }
            Err(failure) => {
                report.failed += 1;
                tracing::warn!(mail = id, "mail #{id} to {to} failed for good: {failure}");
                (MailStatus::Failed, failure.to_string(), None)
            }
        };
        let at = iso(Utc::now());
        store.finish_mail(id, status, note, next, at).await?;
    }
    Ok(report)
}

/// Most characters of a subject: a header line stays far below the 998 bytes SMTP allows
/// (RFC 5322 §2.1.1), even for a title without spaces that could not be folded.
pub const MAX_SUBJECT_CHARS: usize = 200;

/// A subject as sent: task text never reaches a header unencoded (line breaks become spaces) and
/// a long one is cut at a character boundary with an ellipsis (`...`), so the server never refuses the
/// message for a header line that is too long.
pub fn subject_line(subject: &str) -> String {
    let flat = subject.replace(['\r', '\n'], " ");
    if flat.chars().count() <= MAX_SUBJECT_CHARS {
        return flat;
    }
    // An ASCII ellipsis keeps an ASCII subject readable as it is, without an encoded word.
    let mut cut: String = flat.chars().take(MAX_SUBJECT_CHARS - 3).collect();
    cut.push_str("...");
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_lose_line_breaks_and_are_cut_at_200_characters() {
        assert_eq!(subject_line("a\r\nBcc: x"), "a  Bcc: x");
        let long = subject_line(&"é".repeat(1200));
        assert_eq!(long.chars().count(), 200);
        assert!(long.ends_with("..."));
        assert_eq!(subject_line(&"y".repeat(200)), "y".repeat(200));
    }

    #[test]
    fn smtp_urls() {
        let target = |text: &str| parse_smtp_url(text);
        assert_eq!(
            target("smtps://ada%40example.com@smtp.example.com"),
            Ok(SmtpTarget {
                host: "smtp.example.com".into(),
                port: 465,
                tls: TlsMode::Wrapper,
                user: Some("ada@example.com".into())
            })
        );
        assert_eq!(
            target("smtp://smtp.example.com").unwrap().tls,
            TlsMode::Required
        );
        assert_eq!(
            target("smtp://smtp.example.com:587?tls=required")
                .unwrap()
                .port,
            587
        );
        assert_eq!(
            target("smtp://localhost:2525?tls=none").unwrap().tls,
            TlsMode::None
        );
        assert!(
            target("smtp://u@localhost?tls=none")
                .unwrap_err()
                .contains("in clear")
        );
        assert!(
            target("smtp://u:secret@localhost")
                .unwrap_err()
                .contains("SMTP_PASSWORD")
        );
        assert!(
            target("http://localhost")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(
            target("smtps://example.com?tls=none")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(target("localhost").is_err());
        let shown = target("smtps://ada@smtp.example.com").unwrap().to_string();
        assert_eq!(shown, "ada@smtp.example.com:465 (TLS)");
    }

    #[test]
    fn backoff_doubles_to_an_hour() {
        let minutes: Vec<i64> = (1..=9).map(|a| backoff(a).num_minutes()).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
