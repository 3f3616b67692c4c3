//! The daemon as systemd runs it, for tests: its configuration, the binary started in a
//! directory of the test's own (claims scoped to it), signals, and the mirror polled.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tasksync::simulator::Simulator;
use tokio::process::{Child, Command};

/// The daemon's configuration: `sync_every`, then `extra` lines (more `[schedule]` keys first,
/// then any other tables).
pub fn write_config(dir: &Path, simulator: &Simulator, sync_every: &str, extra: &str) {
    let config = format!(
        "[notion]\ndatabase = \"{}\"\nbase_url = \"{}\"\nrequests_per_second = 100\n[store]\npath = \"mirror.db\"\n\
         [schedule]\nsync = \"{sync_every}\"\nreconcile = \"1h\"\noutbox = \"1h\"\n{extra}",
        simulator.database_id(),
        simulator.base_url()
    );
    std::fs::write(dir.join("tasksync.toml"), config).unwrap();
}

pub fn start(dir: &Path, simulator: &Simulator, env: &[(&str, String)]) -> Child {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("tasksync"));
    command
        .arg("daemon")
        .current_dir(dir)
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env("TASKSYNC_LOCK_SCOPE", dir.join("run"))
        .env("NOTION_TOKEN", simulator.token())
        .env_remove("RUST_LOG")
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, value) in env {
        command.env(key, value);
    }
    command.spawn().expect("the daemon starts")
}

pub fn terminate(child: &Child) {
    let pid = child.id().expect("running").to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
}

pub fn count(dir: &Path, sql: &str) -> i64 {
    super::sql_number(&dir.join("mirror.db"), sql).unwrap_or(-1)
}

/// Waits (polling the mirror) until `sql` returns `expected`; how long it took.
pub async fn until(dir: &Path, sql: &str, expected: i64, limit: Duration) -> Duration {
    super::until_sql(&dir.join("mirror.db"), sql, expected, limit).await
}

pub fn hang_up(child: &Child) {
    let pid = child.id().expect("running").to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
}

/// Stops the daemon with SIGTERM and waits (up to ten seconds) for it to exit cleanly; what it
/// logged.
pub async fn stopped(daemon: Child) -> String {
    terminate(&daemon);
    let output = tokio::time::timeout(Duration::from_secs(10), daemon.wait_with_output())
        .await
        .expect("the daemon exits within 10 s of SIGTERM")
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{:?}\n{log}", output.status);
    log
}
