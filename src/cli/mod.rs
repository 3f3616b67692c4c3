//! The command line: clap definitions, dispatch, and the mapping of errors to exit codes.

#[macro_use]
mod output;
mod daemon;
mod demo;
pub mod env_file;
mod mail;
mod mirror;
mod outbox;
mod report;
mod rules;
mod status;
mod tasks;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::ConfigError;
use crate::notion::NotionError;

/// Exit codes (sysexits where one fits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// A runtime failure: Notion, the network, the disk.
    Failure = 1,
    /// The command line was wrong (clap reports these itself).
    Usage = 2,
    /// The configuration or environment is wrong; retrying will not help (EX_CONFIG).
    Config = 78,
}

/// Warns when a file that may hold secrets can be read by its group or by anyone.
pub fn warn_if_readable_by_others(path: &std::path::Path, what: &str) {
    #[cfg(unix)]
    if let Ok(metadata) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode();
        if mode & 0o044 != 0 {
            tracing::warn!(
                file = %path.display(),
                mode = format!("{:o}", mode & 0o777),
                "{} {what} but can be read by others: chmod 600 {}",
                path.display(),
                path.display()
            );
        }
    }
}

/// A command that ends with a monitoring plugin's exit code, its line already printed.
#[derive(Debug, thiserror::Error)]
#[error("exit {0}")]
pub struct MonitorExit(pub u8);

/// The exit code for an error that ended a command.
pub fn exit_code(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        // A mirror with two names is a set-up to correct: restarting cannot fix it.
        if cause.downcast_ref::<ConfigError>().is_some()
            || cause.downcast_ref::<crate::store::LinkedMirror>().is_some()
        {
            return Exit::Config;
        }
        if let Some(notion) = cause.downcast_ref::<NotionError>()
            && matches!(
                notion,
                NotionError::DataSourceChoice { .. } | NotionError::Api { status: 401, .. }
            )
        {
            return Exit::Config;
        }
    }
    Exit::Failure
}

const EXAMPLES: &str = "\
Examples:
  tasksync demo                          see everything work, no account needed
  tasksync databases                     list the data sources your token can see
  tasksync tasks list --status 'In progress'
  tasksync tasks show TASK-12            by unique ID, page id or page URL
  tasksync tasks set-status TASK-12 Done
  echo 'Notes from the call' | tasksync tasks append TASK-12 -

The Notion token comes from NOTION_TOKEN (a .env file in the working directory may set it).
The configuration file is --config, else $TASKSYNC_CONFIG, else ./tasksync.toml, else
~/.config/tasksync/tasksync.toml, else /etc/tasksync/tasksync.toml.
Exit codes: 0 ok, 1 runtime failure, 2 usage error, 78 configuration error.";

/// Keeps a Notion task database in sync with a local SQLite mirror and runs automations on it.
#[derive(Debug, Parser)]
#[command(name = "tasksync", version, after_long_help = EXAMPLES, after_help = "Run `tasksync help` or `--help` for examples.")]
pub struct Cli {
    /// The configuration file (TOML).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Log level: error, warn, info, debug or trace (default: info for `daemon`, which says what
    /// it does; warn for the other commands; RUST_LOG overrides).
    #[arg(long, global = true, value_name = "LEVEL", value_parser = ["error", "warn", "warning", "info", "debug", "trace"])]
    pub log_level: Option<String>,
    /// Seconds a command waits for Notion (each request with its retries) before it gives up
    /// with the last error; 0 waits as long as the daemon would. Default: 15, and no limit under
    /// systemd or for `daemon`.
    #[arg(long, global = true, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// A file of environment variables to load (NOTION_TOKEN=..., SMTP_URL=...) instead of
    /// `.env` in the working directory. Variables already set win.
    #[arg(long, global = true, value_name = "PATH")]
    pub env_file: Option<PathBuf>,
    /// Colour in log lines: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
    /// Log lines as `text` (coloured on a terminal, plain otherwise, e.g. for journald) or `json`.
    #[arg(long, global = true, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the data sources (task databases) your Notion token can see.
    ///
    /// The first thing to run with a new token: it shows which databases are shared with the
    /// integration, with the ids to put in the configuration.
    ///
    /// Example: tasksync databases --json | jq -r '.[].id'
    Databases {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Pull the database into the local SQLite mirror, recording every change.
    ///
    /// The first sync reads every task; later ones read only what changed since (with a small
    /// overlap, because Notion rounds edit times to the minute). Each page of 100 tasks is
    /// stored in one transaction, so an interrupted sync loses nothing: run it again. Tasks
    /// that left the database are marked deleted (kept, with `deleted_at`).
    ///
    /// Example: tasksync sync --dry-run
    Sync(SyncArgs),
    /// Run continuously: sync, reconcile and send mail on the schedules of `[schedule]`.
    ///
    /// Checks the configuration, the mirror, the token, the data source and the rules first
    /// (then tells systemd READY=1). One instance per mirror. Stops cleanly on SIGTERM/SIGINT.
    ///
    /// Example: tasksync daemon
    Daemon,
    /// Check the configuration, the token, the data source and every rule against its schema.
    ///
    /// Reports every problem at once, each with file, line and rule name, and exits 78 when
    /// anything in the files is wrong, a rule names a property or option the data source does
    /// not have (with "did you mean"), or a type does not fit; changes nothing. (The daemon
    /// would start and suspend such a rule: Notion's schema never stops the service.)
    /// `--strict` fails on warnings too (a webhook variable not set, people without email).
    ///
    /// Example: tasksync check --strict && tasksync sync
    Check {
        /// Exit 78 also on warnings (an unset webhook URL variable, people without email).
        #[arg(long)]
        strict: bool,
        /// Check only this source (a `[[sources]]` name); default: every source.
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
    },
    /// What tasksync has been doing: last sync, cursor, actions, mail, firings, running instance.
    ///
    /// Reads the mirror only: no Notion request, no token needed.
    ///
    /// Example: tasksync status --check   # for Nagios, Icinga, a systemd timer that alerts
    Status {
        /// Print JSON (a stable shape: every counter present; see the README).
        #[arg(long)]
        json: bool,
        /// Print one line and exit like a monitoring plugin: 0 OK, 1 WARNING, 2 CRITICAL,
        /// 3 UNKNOWN (no mirror), against the thresholds of `[health]`.
        #[arg(long, conflicts_with = "json")]
        check: bool,
    },
    /// Work with rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// The mail outbox and the SMTP server (SMTP_URL, SMTP_PASSWORD).
    #[command(subcommand)]
    Mail(MailCommand),
    /// Everything rules queued to go out: mail and webhooks, their state and errors.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// An HTML report of how work flows: cumulative flow, cycle time, throughput, aging work,
    /// rule activity; from the mirror only.
    ///
    /// One self-contained file (inline CSS and SVG, nothing from the network), readable
    /// offline and printable.
    ///
    /// Example: tasksync report --out flow.html --since 90d
    Report {
        /// Where to write the page (default: report.html).
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
        /// How far back to look: a whole number and a unit, "90d", "48h" (default 90d).
        #[arg(long, value_name = "DURATION", default_value = "90d", allow_hyphen_values = true, value_parser = report_window)]
        since: std::time::Duration,
        /// The source to report on (a `[[sources]]` name; needed when the mirror holds several).
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
        /// Print the figures as JSON (today's counts, cycle and lead time in days, weekly
        /// throughput, where the page went), for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Notion's webhooks, a low-latency hint that starts a sync (`[webhook] listen`).
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Read and change tasks directly in Notion (or, with --mirror, read the local mirror).
    Tasks(TasksArgs),
    /// Serve a local simulator of the Notion API, with generated tasks.
    ///
    /// Prints its base URL on the first line, then `database <id>` and one `data_source <id>`
    /// line per data source, and serves until stopped. Point `notion.base_url` at it and set
    /// NOTION_TOKEN to its token to try tasksync without an account.
    ///
    /// Example: tasksync simulator --listen 127.0.0.1:7878 --tasks 300
    Simulator(SimulatorArgs),
    /// Show tasksync at work against a built-in simulator: no account, nothing to set up.
    ///
    /// Example: tasksync demo --keep ./demo && sqlite3 ./demo/tasksync.db .tables
    Demo(demo::DemoArgs),
    /// Print shell completions.
    ///
    /// Example: tasksync completions bash > /etc/bash_completion.d/tasksync
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), generated from these definitions.
    ///
    /// Example: tasksync man > /usr/local/share/man/man1/tasksync.1
    Man,
}

#[derive(Debug, Args)]
pub struct TasksArgs {
    /// The source the tasks are in (a `[[sources]]` name; needed when there are several and
    /// a task is named by its unique ID, or to list one source's tasks).
    #[arg(long, global = true, value_name = "NAME")]
    pub source: Option<String>,
    #[command(subcommand)]
    pub command: TasksCommand,
}

#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// List the tasks of the configured database.
    ///
    /// Example: tasksync tasks list --status 'In progress' --json
    List {
        /// Only tasks with this status.
        #[arg(long)]
        status: Option<String>,
        /// Print JSON (one array of tasks) instead of a table.
        #[arg(long)]
        json: bool,
        /// Read the local mirror instead of Notion (offline; as of the last sync).
        #[arg(long)]
        mirror: bool,
    },
    /// Show one task: its properties and the text of its page.
    ///
    /// ID is a page id, a page URL, or the task's unique ID (e.g. TASK-12).
    ///
    /// Example: tasksync tasks show TASK-12
    Show {
        id: String,
        /// Print JSON instead of a detail view.
        #[arg(long)]
        json: bool,
        /// Read the local mirror instead of Notion, with the task's change history.
        #[arg(long)]
        mirror: bool,
    },
    /// Set the status of a task. The status must be one of the property's options.
    ///
    /// Example: tasksync tasks set-status TASK-12 Done
    SetStatus {
        id: String,
        status: String,
        /// Print the updated task as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Append text to the end of a task's page, written as Markdown.
    ///
    /// Markdown becomes Notion blocks: `#` headings, `-` and `1.` lists, `- [ ]` to-dos, `>`
    /// quotes, ``` code fences, `---` dividers, **bold**, *italic*, ~~strikethrough~~, `code`
    /// and [links](https://example.com). `--plain` writes paragraphs only (blank lines separate
    /// them). TEXT `-` reads the text from standard input. Long text is split within Notion's
    /// limits.
    ///
    /// Example: tasksync tasks append TASK-12 'Called the customer; **waiting for logs**.'
    Append {
        id: String,
        text: String,
        /// Write the text as plain paragraphs: no Markdown is read.
        #[arg(long)]
        plain: bool,
        /// Print the created blocks as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Print the verification token Notion sent to the daemon's webhook endpoint, to paste
    /// into the subscription's Verify dialog in Notion.
    ///
    /// The daemon keeps it beside the mirror (readable by its owner only);
    /// NOTION_WEBHOOK_TOKEN may provide it instead.
    ///
    /// Example: tasksync webhook token
    Token,
    /// Open the window in which the daemon accepts Notion's verification request, then wait
    /// for the token and print it.
    ///
    /// Outside this window the endpoint refuses verification requests (403), so nobody who
    /// reaches it first can plant a token of their own. Run this, then create the webhook
    /// subscription in Notion (or press Resend in its Verify dialog); the token Notion sends is
    /// kept and printed here, to paste into the Verify dialog. Not needed with
    /// NOTION_WEBHOOK_TOKEN.
    ///
    /// Example: tasksync webhook verify --for 10m
    Verify {
        /// How long the window stays open (`30s`, `10m`, at most `1h`).
        #[arg(long = "for", value_name = "DURATION", default_value = "10m", value_parser = verification_window)]
        window: std::time::Duration,
        /// Open the window and return at once, without waiting for the token.
        #[arg(long)]
        no_wait: bool,
    },
}

/// The report's window: a duration back from now, of at most ten years (a usage error
/// otherwise, exit 2).
fn report_window(text: &str) -> Result<std::time::Duration, String> {
    if text.trim_start().starts_with('-') {
        return Err(format!(
            "`{text}`: the window is how far back to look: write e.g. 5d, not -5d"
        ));
    }
    let window = crate::schedule::parse_duration(text)?;
    if window > std::time::Duration::from_secs(3650 * 86_400) {
        return Err(format!("`{text}`: the report looks back at most 3650d"));
    }
    Ok(window)
}

/// A verification window: a duration of at most an hour.
fn verification_window(text: &str) -> Result<std::time::Duration, String> {
    let window = crate::schedule::parse_duration(text)?;
    if window.is_zero() || window > std::time::Duration::from_secs(3600) {
        return Err(format!(
            "{text}: a verification window is more than 0 s and at most 1h"
        ));
    }
    Ok(window)
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Show mail and webhooks: queued (with the next try), sent, failed (with the answer).
    ///
    /// Example: tasksync outbox list --failed
    List {
        /// Only what failed for good.
        #[arg(long)]
        failed: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Queue what failed again, after fixing the cause (a webhook's URL, a mail server).
    ///
    /// Example: tasksync outbox retry webhook#3
    Retry {
        /// The ID from `tasksync outbox list --failed`: `mail#12` or `webhook#3`.
        id: Option<String>,
        /// Everything that failed.
        #[arg(long, conflicts_with = "id")]
        all_failed: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Show which rules would fire on which tasks, with the exact writes, text and mail.
    ///
    /// Reads Notion and the mirror like `sync --dry-run` and writes nothing anywhere. With
    /// --task, also shows for each rule whether its condition holds for that task now.
    ///
    /// Example: tasksync rules preview --task TASK-12
    Preview {
        /// Only this task (unique ID, page id or URL).
        #[arg(long)]
        task: Option<String>,
        /// Only this rule.
        #[arg(long)]
        rule: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The source whose rules to preview (a `[[sources]]` name; needed when there are
        /// several).
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Send a test message through the configured SMTP server and show its reply.
    ///
    /// Example: SMTP_URL=smtps://me@smtp.example.com SMTP_PASSWORD=... tasksync mail test --to me@example.com
    Test {
        /// The recipient (default: [mail] to).
        #[arg(long)]
        to: Option<String>,
    },
    /// Show the outbox: queued, sent (with the server's reply) and failed mail.
    ///
    /// Example: tasksync mail list --failed
    List {
        /// Only mail that failed for good.
        #[arg(long)]
        failed: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send queued and failed mail now, after fixing what made it fail.
    ///
    /// Failed mail is queued again and queued mail stops waiting out its backoff; then it is
    /// sent at once (or, while the daemon holds the mirror, at the daemon's next outbox run).
    ///
    /// Example: tasksync mail retry --all
    Retry {
        /// The mail's ID (from `tasksync mail list`).
        id: Option<i64>,
        /// Every queued and failed mail.
        #[arg(long, alias = "all-failed", conflicts_with = "id")]
        all: bool,
    },
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Read every task, not only what changed, and mark the ones gone as deleted.
    #[arg(long)]
    pub full: bool,
    /// Show what would change in the mirror; write nothing at all.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// When another tasksync is using the mirror, wait for it instead of stopping.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this many seconds (implies --wait).
    #[arg(long, value_name = "SECONDS")]
    pub wait_timeout: Option<u64>,
    /// Sync only this source (a `[[sources]]` name); default: every source.
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
}

#[derive(Debug, Args)]
pub struct SimulatorArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub listen: std::net::SocketAddr,
    /// How many tasks to generate.
    #[arg(long, default_value_t = 300)]
    pub tasks: usize,
    /// Seed for the generated tasks (same seed, same tasks).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The token clients must send.
    #[arg(long, default_value = "ntn_simulator_token")]
    pub token: String,
    /// Accept only this Notion-Version (default: 2025-09-03 and 2026-03-11).
    #[arg(long, value_name = "VERSION")]
    pub api_version: Option<crate::notion::ApiVersion>,
    /// Answer 429 with Retry-After past this many requests per second.
    #[arg(long, value_name = "RPS")]
    pub rate_limit: Option<f64>,
    /// Requests allowed at once before the rate limit applies.
    #[arg(long, default_value_t = 3)]
    pub burst: u32,
    /// Random faults, e.g. `429:0.05,503:0.05,malformed:0.02,drop:0.02,slow:0.05@1500`.
    #[arg(long, value_name = "SPEC", default_value = "")]
    pub faults: crate::simulator::FaultSpec,
    /// Data sources in the database (2 makes `notion.data_source` necessary).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub data_sources: u8,
    /// Deliver Notion-style webhook events for edits to this URL (e.g. the daemon's
    /// `http://127.0.0.1:8787/notion/webhook`): a verification request first, then signed
    /// events, aggregated per page.
    #[arg(long, value_name = "URL", requires = "webhook_token")]
    pub webhook: Option<String>,
    /// The verification token the webhook events are signed with.
    #[arg(long, value_name = "TOKEN", requires = "webhook")]
    pub webhook_token: Option<String>,
    /// Play a team's work over the last DAYS days: the clock starts DAYS days back, and moving
    /// it on (POST /_simulator/clock {"advance_seconds": N}) plays the work up to the new time.
    #[arg(long, value_name = "DAYS", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub history_days: u32,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let patience = tasks::Patience::from_flag(cli.timeout);
    match cli.command {
        Command::Databases { json } => {
            tasks::databases(cli.config.as_deref(), patience, json).await
        }
        Command::Sync(args) => mirror::sync(cli.config.as_deref(), patience, args).await,
        Command::Check { strict, source } => {
            rules::check(cli.config.as_deref(), patience, strict, source).await
        }
        Command::Daemon => daemon::daemon(cli.config.as_deref()).await,
        Command::Status { json, check } => status::status(cli.config.as_deref(), json, check).await,
        Command::Mail(MailCommand::Test { to }) => mail::test(cli.config.as_deref(), to).await,
        Command::Mail(MailCommand::List { failed, json }) => {
            mail::list(cli.config.as_deref(), failed, json).await
        }
        Command::Mail(MailCommand::Retry { id, all }) => {
            mail::retry(cli.config.as_deref(), id, all).await
        }
        Command::Report {
            out,
            since,
            source,
            json,
        } => report::report(cli.config.as_deref(), out, since, source.as_deref(), json).await,
        Command::Webhook(WebhookCommand::Token) => outbox::webhook_token(cli.config.as_deref()),
        Command::Webhook(WebhookCommand::Verify { window, no_wait }) => {
            outbox::webhook_verify(cli.config.as_deref(), window, no_wait).await
        }
        Command::Outbox(OutboxCommand::List { failed, json }) => {
            outbox::list(cli.config.as_deref(), failed, json).await
        }
        Command::Outbox(OutboxCommand::Retry { id, all_failed }) => {
            outbox::retry(cli.config.as_deref(), id, all_failed).await
        }
        Command::Rules(RulesCommand::Preview {
            task,
            rule,
            json,
            source,
        }) => {
            rules::preview(
                cli.config.as_deref(),
                patience,
                task.as_deref(),
                rule.as_deref(),
                json,
                source,
            )
            .await
        }
        Command::Tasks(TasksArgs {
            source,
            command:
                TasksCommand::List {
                    status,
                    json,
                    mirror: true,
                },
        }) => {
            mirror::list(
                cli.config.as_deref(),
                status.as_deref(),
                json,
                source.as_deref(),
            )
            .await
        }
        Command::Tasks(TasksArgs {
            source,
            command:
                TasksCommand::Show {
                    id,
                    json,
                    mirror: true,
                },
        }) => mirror::show(cli.config.as_deref(), &id, json, source.as_deref()).await,
        Command::Tasks(TasksArgs { source, command }) => {
            tasks::run(cli.config.as_deref(), patience, command, source).await
        }
        Command::Simulator(args) => {
            let options = crate::simulator::SimulatorOptions {
                tasks: args.tasks,
                seed: args.seed,
                token: args.token,
                api_versions: args
                    .api_version
                    .map_or_else(|| crate::notion::ApiVersion::ALL.to_vec(), |v| vec![v]),
                rate_limit: args.rate_limit,
                burst: args.burst,
                faults: args.faults,
                data_sources: args.data_sources,
                webhook: args
                    .webhook
                    .zip(args.webhook_token)
                    .map(|(url, token)| crate::simulator::WebhookTarget { url, token }),
                history_days: args.history_days,
            };
            crate::simulator::serve_forever(options, args.listen).await
        }
        Command::Demo(args) => demo::run(args).await,
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "tasksync", &mut script);
            Ok(output::write_bytes(&script)?)
        }
        Command::Man => Ok(output::write_bytes(&man_page()?)?),
    }
}

/// tasksync(1): one page with every command in it (clap_mangen's own SUBCOMMANDS section points
/// to a tasksync-COMMAND(1) page each, which are not installed: this one is the reference).
fn man_page() -> std::io::Result<Vec<u8>> {
    let command = <Cli as clap::CommandFactory>::command();
    let man = clap_mangen::Man::new(command.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    page.extend_from_slice(b".SH COMMANDS\n");
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
        page.extend_from_slice(
            format!(
                ".TP\n\\fBtasksync {}\\fR\n{}\n",
                roff_text(sub.get_name()),
                roff_text(&about)
            )
            .as_bytes(),
        );
    }
    page.extend_from_slice(
        b".PP\nEach command's options and an example: \\fBtasksync help\\fR \\fICOMMAND\\fR.\n",
    );
    man.render_extra_section(&mut page)?;
    man.render_version_section(&mut page)?;
    // Each section comes with roff's preamble (`.ie`/`.el` defining a string): once is enough.
    let text = String::from_utf8_lossy(&page).into_owned();
    let mut seen = std::collections::HashSet::new();
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| {
            !(line.starts_with(".ie ") || line.starts_with(".el ")) || seen.insert(*line)
        })
        .collect();
    Ok(format!("{}\n", lines.join("\n")).into_bytes())
}

/// Text for a roff line: backslashes and hyphens escaped, a leading dot or quote made literal.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    match escaped.starts_with(['.', '\'']) {
        true => format!("\\&{escaped}"),
        false => escaped,
    }
}
