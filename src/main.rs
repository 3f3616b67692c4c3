//! The `tasksync` binary: load `.env`, set up logging, build the runtime, run the command, and
//! turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;
use tasksync::cli::{self, Cli, Exit};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `.env` of the working directory only (or `--env-file`), never a parent directory's; an
    // already-set variable wins; a missing `.env` is normal. Checked after logging is up, so a
    // warning about its permissions is seen.
    let env_file = cli
        .env_file
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from(".env"));
    let loaded = cli::env_file::load(&env_file, cli.env_file.is_some());
    // The daemon says what it does (its start, every firing) at info; other commands warn only.
    let level = cli.log_level.as_deref().or(match cli.command {
        cli::Command::Daemon => Some("info"),
        _ => None,
    });
    init_logging(level, cli.log_format == "json", use_color(&cli.color));
    match loaded {
        Ok(true) => cli::warn_if_readable_by_others(&env_file, "holds secrets"),
        Ok(false) => {}
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(Exit::Config as u8);
        }
    }
    // Then `.env` beside the configuration file (when it is elsewhere): a service's secrets
    // next to its configuration. The working directory's (or --env-file) wins, read first.
    if cli.env_file.is_none()
        && let Some(beside) = env_beside_config(cli.config.as_deref())
    {
        match cli::env_file::load(&beside, false) {
            Ok(true) => cli::warn_if_readable_by_others(&beside, "holds secrets"),
            Ok(false) => {}
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::from(Exit::Config as u8);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(Exit::Failure as u8);
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `status --check` has printed its line; its exit code is the answer.
            if let Some(cli::MonitorExit(code)) = error.downcast_ref::<cli::MonitorExit>() {
                return ExitCode::from(*code);
            }
            eprintln!("error: {error:#}");
            ExitCode::from(cli::exit_code(&error) as u8)
        }
    }
}

/// `.env` in the directory of the configuration file the command will read (`--config`, else
/// `$TASKSYNC_CONFIG`, else the first file of the search path), when that is not the working
/// directory.
fn env_beside_config(explicit: Option<&std::path::Path>) -> Option<std::path::PathBuf> {
    let config = explicit
        .map(std::path::Path::to_path_buf)
        .or_else(|| {
            std::env::var_os(tasksync::config::CONFIG_VARIABLE).map(std::path::PathBuf::from)
        })
        .or_else(|| {
            tasksync::config::search_path()
                .into_iter()
                .find(|path| path.is_file())
        })?;
    let directory = std::fs::canonicalize(config.parent()?.join(".")).ok()?;
    let working = std::env::current_dir().ok()?.canonicalize().ok()?;
    (directory != working).then(|| directory.join(".env"))
}

/// Whether log lines get colour: `--color always|never`, else on a terminal unless `NO_COLOR`
/// is set to anything (no-color.org).
fn use_color(choice: &str) -> bool {
    match choice {
        "always" => true,
        "never" => false,
        _ => {
            std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
                && std::io::IsTerminal::is_terminal(&std::io::stderr())
        }
    }
}

fn init_logging(level: Option<&str>, json: bool, color: bool) {
    // clap has checked the level against the allowed values; "warning" is read as "warn".
    let level = match level {
        Some("warning") | None => "warn",
        Some(level) => level,
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => spec,
        _ => format!("{level},hyper=warn,h2=warn,rustls=warn"),
    };
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|error| {
        eprintln!("warning: ignoring log filter `{filter}`: {error}");
        EnvFilter::new("warn")
    });
    if !json && stderr_is_the_journal() {
        match tracing_journald::layer() {
            Ok(journald) => {
                use tracing_subscriber::layer::SubscriberExt;
                use tracing_subscriber::util::SubscriberInitExt;
                tracing_subscriber::registry()
                    .with(filter)
                    .with(journald.with_syslog_identifier("tasksync".into()))
                    .init();
                return;
            }
            Err(error) => eprintln!("warning: cannot log to journald ({error}); logging to stderr"),
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.with_ansi(color).init();
    }
}

/// Whether standard error is connected to journald: systemd sets `JOURNAL_STREAM` to the
/// device and inode of that stream; they must still be standard error's (systemd.exec(5)).
fn stderr_is_the_journal() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Some((device, inode)) = std::env::var("JOURNAL_STREAM").ok().and_then(|value| {
            let (device, inode) = value.split_once(':')?;
            Some((device.parse::<u64>().ok()?, inode.parse::<u64>().ok()?))
        }) else {
            return false;
        };
        std::fs::metadata("/proc/self/fd/2")
            .is_ok_and(|stderr| stderr.dev() == device && stderr.ino() == inode)
    }
    #[cfg(not(unix))]
    false
}
