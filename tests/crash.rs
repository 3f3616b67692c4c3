//! `tasksync sync` as a child process, paused at a named step (`TASKSYNC_PAUSE_AT`, debug builds
//! only): appends exactly once across SIGKILL at every step (docs/semantics.md, "Exactly once"), and one actor per
//! data source while one holds it (docs/semantics.md, "One actor per data source").
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use assert_cmd::cargo::cargo_bin;
use serde_json::json;
use tasksync::notion::ApiVersion;
use tasksync::notion::ids::NotionId;
use tasksync::simulator::{Simulator, SimulatorOptions};

const LONG: &str = r#"
[[rules]]
name = "long-report"
when = { property = "Priority", changed_to = "Urgent" }
actions = [{ append = "{% for i in range(250) %}Line {{ i }}\n\n{% endfor %}" }]
"#;

const SAME_TEXT: &str = r#"
[[rules]]
name = "escalate"
when = { property = "Priority", changed_to = "Urgent" }
actions = [{ append = "Escalated." }]

[[rules]]
name = "escalate-again"
when = { property = "Priority", changed_to = "Urgent" }
actions = [{ append = "Escalated." }]
"#;

struct Setup {
    simulator: Simulator,
    dir: tempfile::TempDir,
    page: String,
}

impl Setup {
    async fn new(rules: &str, version: ApiVersion) -> Self {
        let simulator = common::simulator(SimulatorOptions {
            tasks: 5,
            ..SimulatorOptions::default()
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "[notion]\ndatabase = \"{}\"\nbase_url = \"{}\"\napi_version = \"{version}\"\nrequests_per_second = 1000\n\n[store]\npath = \"mirror.db\"\n{rules}",
            simulator.database_id(),
            simulator.base_url(),
        );
        std::fs::write(dir.path().join("tasksync.toml"), config).unwrap();
        // Task 2 has no page content of its own; start it from Low.
        let page = simulator.page_ids()[1].clone();
        let setup = Self {
            simulator,
            dir,
            page,
        };
        setup.priority("Low").await;
        setup.sync(None).await;
        setup
    }

    async fn priority(&self, name: &str) {
        common::edit_as_person(
            &self.simulator,
            &self.page,
            &json!({ "properties": { "Priority": { "select": { "name": name } } } }),
        )
        .await;
    }

    /// Runs `tasksync sync`; with a step, pauses it there and kills it with SIGKILL.
    async fn sync(&self, pause_at: Option<&str>) {
        let dir = self.dir.path().to_path_buf();
        let token = self.simulator.token().to_string();
        let pause_at = pause_at.map(str::to_string);
        tokio::task::spawn_blocking(move || run_sync(&dir, &token, pause_at.as_deref()))
            .await
            .unwrap();
    }

    async fn paragraphs(&self) -> Vec<String> {
        let client = common::client(&self.simulator, ApiVersion::V2026_03_11);
        client
            .list_children(&NotionId::parse(&self.page).unwrap())
            .await
            .unwrap()
            .into_iter()
            .map(|block| block.text)
            .collect()
    }
}

fn sync_command(dir: &Path, token: &str) -> Command {
    let mut command = common::tasksync(dir);
    command
        .arg("sync")
        .env("NOTION_TOKEN", token)
        .env_remove("TASKSYNC_PAUSE_AT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// A `tasksync sync` paused at a step; killed with SIGKILL (and reaped) when dropped.
struct Paused(std::process::Child);

impl Paused {
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        let _ = self.0.kill(); // SIGKILL
        let _ = self.0.wait();
    }
}

/// Starts `tasksync sync` and returns once it is paused at `step`, still running.
fn paused_sync(dir: &Path, token: &str, step: &str) -> Paused {
    paused(sync_command(dir, token), step)
}

/// Starts `command` (a `tasksync sync`) and returns once it is paused at `step`.
fn paused(mut command: Command, step: &str) -> Paused {
    let mut paused = Paused(command.env("TASKSYNC_PAUSE_AT", step).spawn().unwrap());
    let mut stderr = BufReader::new(paused.0.stderr.take().unwrap());
    let mut seen = Vec::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            let status = paused.0.wait().unwrap();
            panic!("the sync never reached {step} ({status}): {seen:#?}");
        }
        if line.trim_end() == format!("paused at {step}") {
            return paused;
        }
        seen.push(line);
    }
}

/// A `tasksync sync` (`command`) holding its claims: paused once it has taken them.
async fn holding(command: Command) -> Paused {
    tokio::task::spawn_blocking(move || paused(command, "sync-claimed:0"))
        .await
        .unwrap()
}

fn run_sync(dir: &Path, token: &str, pause_at: Option<&str>) {
    let mut command = sync_command(dir, token);
    let Some(step) = pause_at else {
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    };
    drop(command);
    drop(paused_sync(dir, token, step));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_append_killed_at_every_step_lands_exactly_once() {
    let expected: Vec<String> = (0..250).map(|i| format!("Line {i}")).collect();
    for version in ApiVersion::ALL {
        for batch in 0..3 {
            for step in ["append-before-send", "append-accepted", "append-recorded"] {
                let setup = Setup::new(LONG, version).await;
                setup.priority("Urgent").await;
                setup.sync(Some(&format!("{step}:{batch}"))).await;
                setup.sync(None).await;
                setup.sync(None).await;
                assert_eq!(
                    setup.paragraphs().await,
                    expected,
                    "{version}, killed at {step} of batch {batch}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_firings_appending_the_same_text_each_land_once() {
    for version in ApiVersion::ALL {
        // Two rules fire on one change; the first is killed after Notion accepted its append.
        let setup = Setup::new(SAME_TEXT, version).await;
        setup.priority("Urgent").await;
        setup.sync(Some("append-accepted:0")).await;
        setup.sync(None).await;
        assert_eq!(
            setup.paragraphs().await,
            ["Escalated.", "Escalated."],
            "{version}"
        );

        // A later firing whose page already ends with the same text, killed before it sent
        // anything: it must still append (an earlier version took the tail for its own).
        setup.priority("High").await;
        setup.sync(None).await;
        setup.priority("Urgent").await;
        setup.sync(Some("append-before-send:0")).await;
        setup.sync(None).await;
        assert_eq!(setup.paragraphs().await, ["Escalated."; 4], "{version}");
    }
}

/// A config in `dir` for the simulator's database with `store_path`.
fn config_in(dir: &Path, simulator: &Simulator, store_path: &str) {
    let config = format!(
        "[notion]\ndatabase = \"{}\"\nbase_url = \"{}\"\nrequests_per_second = 1000\n[store]\npath = \"{store_path}\"\n",
        simulator.database_id(),
        simulator.base_url(),
    );
    std::fs::write(dir.join("tasksync.toml"), config).unwrap();
}

fn failed_sync(dir: &Path, token: &str, runtime: &Path) -> String {
    let output = sync_command(dir, token)
        .env("XDG_RUNTIME_DIR", runtime)
        .env("TASKSYNC_LOCK_SCOPE", runtime)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_through_a_symlink_or_a_second_mirror_of_the_source_is_refused() {
    let setup = Setup::new("", ApiVersion::V2026_03_11).await;
    let token = setup.simulator.token().to_string();
    let first = setup.dir.path().to_path_buf();
    let runtime = first.join("run");
    let holder = holding(sync_command(&first, &token)).await;
    let pid = holder.pid();

    // The same mirror through a symbolic link, from another directory.
    let linked = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(first.join("mirror.db"), linked.path().join("link.db")).unwrap();
    config_in(linked.path(), &setup.simulator, "link.db");
    let refused = failed_sync(linked.path(), &token, &runtime);
    assert!(
        refused.contains(&format!("another tasksync (pid {pid}) is using")),
        "{refused}"
    );

    // Another mirror file of the same data source.
    let second = tempfile::tempdir().unwrap();
    config_in(second.path(), &setup.simulator, "other.db");
    let refused = failed_sync(second.path(), &token, &runtime);
    let mirror = std::fs::canonicalize(first.join("mirror.db")).unwrap();
    assert!(
        refused.contains(&format!(
            "is already mirrored by {} (tasksync pid {pid})",
            mirror.display()
        )),
        "{refused}"
    );

    drop(holder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hard_link_to_the_mirror_is_refused_and_the_mirror_stays_whole() {
    let setup = Setup::new("", ApiVersion::V2026_03_11).await;
    let token = setup.simulator.token().to_string();
    let first = setup.dir.path().to_path_buf();
    let holder = holding(sync_command(&first, &token)).await;
    let pid = holder.pid();

    // A second name for the mirror file, used from another directory with another runtime
    // directory and lock scope: the claim is the file's, so it is refused, naming the holder.
    let other = tempfile::tempdir().unwrap();
    let alias = other.path().join("alias.db");
    std::fs::hard_link(first.join("mirror.db"), &alias).unwrap();
    config_in(other.path(), &setup.simulator, "alias.db");
    let refused = failed_sync(other.path(), &token, &other.path().join("run"));
    let mirror = std::fs::canonicalize(first.join("mirror.db")).unwrap();
    assert!(
        refused.contains(&format!("another tasksync (pid {pid}) is using"))
            && refused.contains(&format!("(the same file as {})", mirror.display())),
        "{refused}"
    );
    assert!(
        !other.path().join("alias.db-wal").exists(),
        "nothing was written through the second name"
    );
    drop(holder);

    // Nothing runs now: a file with two names is refused by either name (78), before SQLite
    // opens it.
    for dir in [first.as_path(), other.path()] {
        let output = sync_command(dir, &token).output().unwrap();
        assert_eq!(output.status.code(), Some(78), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("has 2 names (hard links)"), "{stderr}");
    }
    assert!(!other.path().join("alias.db-wal").exists());

    // One name again: the mirror is whole, and syncs.
    std::fs::remove_file(&alias).unwrap();
    let connection = rusqlite::Connection::open(first.join("mirror.db")).unwrap();
    let check: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(connection);
    run_sync(&first, &token, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_mirror_of_the_source_is_refused_whatever_the_runtime_directory() {
    // The claims are the machine's (no TASKSYNC_LOCK_SCOPE here): a seed of this run's own gives
    // the data source an id no other test's process uses.
    let seed = u64::from(std::process::id()) << 20 | u64::from(line!());
    let simulator = common::simulator(SimulatorOptions {
        tasks: 3,
        seed,
        ..SimulatorOptions::default()
    })
    .await;
    let token = simulator.token().to_string();
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    config_in(first.path(), &simulator, "mirror.db");
    config_in(second.path(), &simulator, "mirror.db");
    // As a unit (RUNTIME_DIRECTORY) and as a user's shell (XDG_RUNTIME_DIR) would differ.
    let command = |dir: &Path| {
        let mut command = sync_command(dir, &token);
        command
            .env_remove("TASKSYNC_LOCK_SCOPE")
            .env("RUNTIME_DIRECTORY", dir.join("unit-run"))
            .env("XDG_RUNTIME_DIR", dir.join("user-run"));
        command
    };
    let holder = holding(command(first.path())).await;
    let output = command(second.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let refused = String::from_utf8_lossy(&output.stderr);
    let mirror = std::fs::canonicalize(first.path().join("mirror.db")).unwrap();
    assert!(
        refused.contains(&format!(
            "is already mirrored by {} (tasksync pid {})",
            mirror.display(),
            holder.pid()
        )),
        "{refused}"
    );
    drop(holder);
    let output = command(second.path()).output().unwrap();
    assert!(
        output.status.success(),
        "free once the first ends: {output:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_finds_the_mirror_beside_its_configuration() {
    let setup = Setup::new("", ApiVersion::V2026_03_11).await;
    let config = setup.dir.path().join("tasksync.toml");
    let elsewhere = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(cargo_bin("tasksync"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .current_dir(elsewhere.path())
            .env("NOTION_TOKEN", setup.simulator.token())
            .env("XDG_RUNTIME_DIR", elsewhere.path().join("run"))
            .env("TASKSYNC_LOCK_SCOPE", elsewhere.path().join("run"))
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    let synced = run(&["sync"]);
    assert!(synced.status.success(), "{synced:?}");
    let status = run(&["status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains(&format!(
            "Mirror: {} (5 tasks",
            setup.dir.path().join("mirror.db").display()
        )),
        "{text}"
    );
    let created: Vec<_> = std::fs::read_dir(elsewhere.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .filter(|name| name != "run")
        .collect();
    assert!(
        created.is_empty(),
        "nothing in the working directory: {created:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_refuses_another_data_source() {
    let setup = Setup::new("", ApiVersion::V2026_03_11).await;
    let other = common::simulator(SimulatorOptions {
        tasks: 2,
        seed: 7,
        ..SimulatorOptions::default()
    })
    .await;
    config_in(setup.dir.path(), &other, "mirror.db");
    let output = sync_command(setup.dir.path(), other.token())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(78), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("holds data source \"Tasks\""), "{stderr}");
    assert!(
        stderr.contains("give this database its own `store.path`"),
        "{stderr}"
    );
}
