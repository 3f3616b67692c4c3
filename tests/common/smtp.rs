//! A real SMTP server over TCP for mail tests, written for them on tokio (RFC 5321 with
//! STARTTLS, RFC 3207, and AUTH PLAIN and LOGIN, RFC 4954): no Python, no system package.
//!
//! It runs on a thread of its own with its own runtime, so a test's runtime (paused time, a
//! current-thread flavour, a blocking wait on a child process) never starves it. Each accepted
//! mail is appended to `out` as one JSON line, `{"from", "to", "data"}`, so a server started
//! again on the same file (after a test stopped the first) adds to what the first received.
//! [`Options`] scripts the failures tests need.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::pem::PemObject};

/// What the server does besides accepting mail.
#[derive(Clone, Default)]
pub struct Options {
    /// Answer every RCPT TO with this permanent code (a 5xx), naming the recipient.
    pub reject: Option<u16>,
    /// Answer DATA with 451 for the first this many mails.
    pub tempfail: usize,
    /// Record the first mail, then wait this long before answering its DATA.
    pub stall: Option<Duration>,
    /// Require STARTTLS with this certificate and key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Require AUTH (PLAIN or LOGIN, after STARTTLS when TLS is required) with this user and
    /// password.
    pub auth: Option<(String, String)>,
}

/// A server on 127.0.0.1, stopped (its port closed, its connections dropped) on drop.
pub struct SmtpServer {
    pub port: u16,
    out: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SmtpServer {
    pub fn free_port() -> u16 {
        super::free_port()
    }

    /// A server that accepts every mail.
    pub fn plain(port: u16, out: &Path) -> Self {
        Self::start(port, out, Options::default())
    }

    /// Listens on `port` before it returns.
    pub fn start(port: u16, out: &Path, options: Options) -> Self {
        let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .unwrap_or_else(|e| panic!("the SMTP test server cannot listen on port {port}: {e}"));
        listener.set_nonblocking(true).unwrap();
        let tls = options.tls.as_ref().map(|(cert, key)| acceptor(cert, key));
        let shared = Arc::new(Shared {
            options,
            tls,
            out: out.to_path_buf(),
            mails: AtomicUsize::new(0),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let accept = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        let shared = shared.clone();
                        tokio::spawn(async move {
                            let _ = session(stream, &shared).await;
                        });
                    }
                };
                tokio::select! {
                    () = accept => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime drops every connection still open (a stalled one too).
        });
        Self {
            port,
            out: out.to_path_buf(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The mails received so far: envelope sender and recipients, and the raw message.
    pub fn mails(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Shared {
    options: Options,
    tls: Option<TlsAcceptor>,
    out: PathBuf,
    mails: AtomicUsize,
}

fn acceptor(cert: &Path, key: &Path) -> TlsAcceptor {
    let chain = rustls::pki_types::CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(key).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

/// One client connection: in clear text until STARTTLS, then over TLS.
async fn session(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut conversation = Conversation::new(shared);
    let mut plain = BufReader::new(stream);
    plain
        .get_mut()
        .write_all(b"220 localhost ESMTP tasksync test server\r\n")
        .await?;
    if conversation.run(&mut plain).await? != Next::StartTls {
        return Ok(());
    }
    let acceptor = shared
        .tls
        .clone()
        .expect("STARTTLS is offered only with TLS");
    // Nothing the client sent after STARTTLS may be read in clear text (RFC 3207 §4.2).
    if !plain.buffer().is_empty() {
        return Ok(());
    }
    let tls = acceptor.accept(plain.into_inner()).await?;
    conversation.reset_after_tls();
    conversation.run(&mut BufReader::new(tls)).await?;
    Ok(())
}

#[derive(PartialEq)]
enum Next {
    Close,
    StartTls,
}

struct Conversation<'a> {
    shared: &'a Shared,
    tls: bool,
    authenticated: bool,
    from: Option<String>,
    to: Vec<String>,
}

impl<'a> Conversation<'a> {
    fn new(shared: &'a Shared) -> Self {
        Self {
            shared,
            tls: false,
            authenticated: false,
            from: None,
            to: Vec::new(),
        }
    }

    /// RFC 3207 §4.2: after the handshake the client starts again with EHLO; nothing carries over.
    fn reset_after_tls(&mut self) {
        self.tls = true;
        self.authenticated = false;
        self.from = None;
        self.to.clear();
    }

    async fn run<S>(&mut self, io: &mut BufReader<S>) -> std::io::Result<Next>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let options = &self.shared.options;
        loop {
            let Some(line) = read_line(io).await? else {
                return Ok(Next::Close);
            };
            let (verb, rest) = line.split_once(' ').unwrap_or((&line, ""));
            let reply: String = match verb.to_ascii_uppercase().as_str() {
                "EHLO" => {
                    let mut lines = vec!["localhost greets you".to_string()];
                    if self.shared.tls.is_some() && !self.tls {
                        lines.push("STARTTLS".into());
                    }
                    if options.auth.is_some() && (self.tls || self.shared.tls.is_none()) {
                        lines.push("AUTH PLAIN LOGIN".into());
                    }
                    lines.extend(["8BITMIME".into(), "SMTPUTF8".into()]);
                    multiline(250, &lines)
                }
                "HELO" => "250 localhost\r\n".into(),
                "STARTTLS" if self.shared.tls.is_some() && !self.tls => {
                    write(io, "220 2.0.0 Ready to start TLS\r\n").await?;
                    return Ok(Next::StartTls);
                }
                "AUTH" if options.auth.is_some() => self.auth(io, rest).await?,
                "MAIL" => match self.refusal() {
                    Some(refusal) => refusal.into(),
                    None => {
                        self.from = Some(address(rest));
                        self.to.clear();
                        "250 2.1.0 OK\r\n".into()
                    }
                },
                "RCPT" if self.from.is_none() => "503 5.5.1 Error: need MAIL command\r\n".into(),
                "RCPT" => {
                    let recipient = address(rest);
                    match options.reject {
                        Some(code) => format!(
                            "{code} 5.1.1 <{recipient}>: Recipient address rejected: User unknown\r\n"
                        ),
                        None => {
                            self.to.push(recipient);
                            "250 2.1.5 OK\r\n".into()
                        }
                    }
                }
                "DATA" if self.to.is_empty() => "503 5.5.1 Error: need RCPT command\r\n".into(),
                "DATA" => {
                    write(io, "354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                    let Some(data) = read_data(io).await? else {
                        return Ok(Next::Close);
                    };
                    let reply = self.deliver(data).await;
                    self.from = None;
                    self.to.clear();
                    reply
                }
                "RSET" => {
                    self.from = None;
                    self.to.clear();
                    "250 2.0.0 OK\r\n".into()
                }
                "NOOP" => "250 2.0.0 OK\r\n".into(),
                "QUIT" => {
                    write(io, "221 2.0.0 Bye\r\n").await?;
                    return Ok(Next::Close);
                }
                _ => "502 5.5.2 Error: command not recognized\r\n".into(),
            };
            write(io, &reply).await?;
        }
    }

    /// Why a mail transaction may not start yet.
    fn refusal(&self) -> Option<&'static str> {
        if self.shared.tls.is_some() && !self.tls {
            Some("530 5.7.0 Must issue a STARTTLS command first\r\n")
        } else if self.shared.options.auth.is_some() && !self.authenticated {
            Some("530 5.7.0 Authentication required\r\n")
        } else {
            None
        }
    }

    async fn auth<S>(&mut self, io: &mut BufReader<S>, rest: &str) -> std::io::Result<String>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        if self.shared.tls.is_some() && !self.tls {
            return Ok("530 5.7.0 Must issue a STARTTLS command first\r\n".into());
        }
        let (mechanism, initial) = rest.split_once(' ').unwrap_or((rest, ""));
        let credentials = match mechanism.to_ascii_uppercase().as_str() {
            "PLAIN" => {
                let response = if initial.is_empty() {
                    write(io, "334 \r\n").await?;
                    read_line(io).await?.unwrap_or_default()
                } else {
                    initial.to_string()
                };
                // authzid NUL authcid NUL password (RFC 4616).
                let decoded = decode(&response);
                let mut parts = decoded.splitn(3, '\0').skip(1);
                (
                    parts.next().unwrap_or_default().to_string(),
                    parts.next().unwrap_or_default().to_string(),
                )
            }
            "LOGIN" => {
                let user = if initial.is_empty() {
                    write(io, "334 VXNlcm5hbWU6\r\n").await?;
                    decode(&read_line(io).await?.unwrap_or_default())
                } else {
                    decode(initial)
                };
                write(io, "334 UGFzc3dvcmQ6\r\n").await?;
                (user, decode(&read_line(io).await?.unwrap_or_default()))
            }
            _ => return Ok("504 5.5.4 Unrecognized authentication type\r\n".into()),
        };
        let expected = self.shared.options.auth.as_ref().expect("AUTH is offered");
        Ok(
            if credentials.0 == expected.0 && credentials.1 == expected.1 {
                self.authenticated = true;
                "235 2.7.0 Authentication successful\r\n".into()
            } else {
                "535 5.7.8 Authentication credentials invalid\r\n".into()
            },
        )
    }

    async fn deliver(&self, data: String) -> String {
        let options = &self.shared.options;
        let count = self.shared.mails.fetch_add(1, Ordering::SeqCst) + 1;
        if count <= options.tempfail {
            return "451 4.3.0 Temporary local problem, try again later\r\n".into();
        }
        let record = json!({"from": self.from, "to": self.to, "data": data});
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.shared.out)
            .unwrap();
        writeln!(file, "{record}").unwrap();
        drop(file);
        if let (Some(stall), 1) = (options.stall, count) {
            tokio::time::sleep(stall).await;
        }
        format!("250 2.0.0 Ok: queued as TEST{count}\r\n")
    }
}

/// One command line without its CRLF; `None` when the client hung up.
async fn read_line<S: AsyncRead + Unpin>(io: &mut BufReader<S>) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    if io.read_until(b'\n', &mut line).await? == 0 {
        return Ok(None);
    }
    let line = String::from_utf8_lossy(&line);
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}

/// The message up to the line with a single dot, dot-stuffing undone (RFC 5321 §4.5.2), with
/// its CRLF line ends.
async fn read_data<S: AsyncRead + Unpin>(io: &mut BufReader<S>) -> std::io::Result<Option<String>> {
    let mut data = Vec::new();
    loop {
        let mut line = Vec::new();
        if io.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(Some(String::from_utf8_lossy(&data).into_owned()));
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        data.extend_from_slice(line);
    }
}

async fn write<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    reply: &str,
) -> std::io::Result<()> {
    io.get_mut().write_all(reply.as_bytes()).await?;
    io.get_mut().flush().await
}

fn multiline(code: u16, lines: &[String]) -> String {
    let last = lines.len() - 1;
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| format!("{code}{}{line}\r\n", if i == last { ' ' } else { '-' }))
        .collect()
}

/// The address in `FROM:<a@b> SIZE=1` or `TO:<a@b>`.
fn address(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |i| i + 1);
    let end = argument[start..]
        .find('>')
        .map_or(argument.len(), |i| start + i);
    argument[start..end].to_string()
}

fn decode(text: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}
