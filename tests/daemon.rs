//! `tasksync daemon` as systemd runs it: the real binary, the simulator over HTTP, a real mirror.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

use common::daemon::{count, hang_up, start, terminate, until, write_config};
use serde_json::json;
use tasksync::simulator::{FaultSpec, Simulator, SimulatorOptions};

/// A socket standing in for systemd's NOTIFY_SOCKET in `dir`, read with `timeout`: the socket
/// and the value for NOTIFY_SOCKET.
fn notify_socket(dir: &Path, timeout: Duration) -> (UnixDatagram, String) {
    let path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(timeout)).unwrap();
    (socket, path.display().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_mirrors_an_edit_within_two_ticks_and_talks_to_systemd() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 30,
        ..SimulatorOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &simulator, "1s", "");
    let (socket, socket_path) = notify_socket(dir.path(), Duration::from_secs(10));
    let mut daemon = start(
        dir.path(),
        &simulator,
        &[
            ("NOTIFY_SOCKET", socket_path.clone()),
            ("WATCHDOG_USEC", "400000".into()),
        ],
    );

    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    while !(seen.contains("READY=1")
        && seen.contains("STATUS=")
        && seen.contains("last sync:")
        && seen.contains("WATCHDOG=1"))
    {
        let size = socket.recv(&mut buffer).expect("notify messages arrive");
        seen.push_str(&String::from_utf8_lossy(&buffer[..size]));
        seen.push('\n');
    }
    let ready = seen.find("READY=1").unwrap();
    let synced = seen.find("last sync:").unwrap();
    assert!(
        ready < synced,
        "READY before the first sync's STATUS:\n{seen}"
    );
    until(
        dir.path(),
        "SELECT count(*) FROM tasks",
        30,
        Duration::from_secs(10),
    )
    .await;

    let page = simulator.page_ids()[3].clone();
    common::edit_as_person(
        &simulator,
        &page,
        &json!({ "properties": { "Estimate": { "number": 4242 } } }),
    )
    .await;
    let sql = format!(
        "SELECT count(*) FROM task_changes WHERE task_id = '{page}' AND property = 'Estimate' AND new_value = '4242'"
    );
    let took = until(dir.path(), &sql, 1, Duration::from_secs(10)).await;
    assert!(
        took <= Duration::from_millis(2500),
        "mirrored in {took:?}: more than two 1-second ticks"
    );

    terminate(&daemon);
    let exited = tokio::time::timeout(Duration::from_secs(5), daemon.wait())
        .await
        .expect("exits within 5 s")
        .unwrap();
    assert!(exited.success(), "{exited:?}");
    assert_eq!(count(dir.path(), &sql), 1, "seen once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_sync_makes_ticks_wait_instead_of_overlapping() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 10,
        ..SimulatorOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &simulator, "1s", "");
    simulator.set_faults("slow:1.0@700".parse::<FaultSpec>().unwrap());
    let daemon = start(dir.path(), &simulator, &[]);
    until(
        dir.path(),
        "SELECT count(*) FROM sync_runs WHERE result = 'ok'",
        3,
        Duration::from_secs(30),
    )
    .await;
    terminate(&daemon);
    let output = tokio::time::timeout(Duration::from_secs(5), daemon.wait_with_output())
        .await
        .expect("exits within 5 s")
        .unwrap();
    assert!(output.status.success());
    let connection = rusqlite::Connection::open(dir.path().join("mirror.db")).unwrap();
    let mut statement = connection.prepare("SELECT started_at, finished_at FROM sync_runs WHERE finished_at IS NOT NULL ORDER BY id").unwrap();
    let runs: Vec<(String, String)> = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for pair in runs.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "runs overlap: {pair:?}");
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("tick skipped: the job is still running"),
        "late ticks are skipped:\n{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_sync_exits_cleanly_and_the_next_start_resumes() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 1_500,
        ..SimulatorOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &simulator, "1s", "");
    simulator.set_faults("slow:1.0@250".parse::<FaultSpec>().unwrap());
    let mut daemon = start(dir.path(), &simulator, &[]);
    // Stop it in the middle of the first sync: some pages stored, not all.
    let started = Instant::now();
    while count(dir.path(), "SELECT count(*) FROM tasks") < 200 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the sync did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    terminate(&daemon);
    let stopping = Instant::now();
    let exited = tokio::time::timeout(Duration::from_secs(5), daemon.wait())
        .await
        .expect("exits within 5 s")
        .unwrap();
    assert!(exited.success(), "exit 0: {exited:?}");
    assert!(stopping.elapsed() < Duration::from_secs(5));
    let stored = count(dir.path(), "SELECT count(*) FROM tasks");
    assert!(stored < 1_500, "stopped half-way ({stored})");

    simulator.set_faults(FaultSpec::default());
    let daemon = start(dir.path(), &simulator, &[]);
    until(
        dir.path(),
        "SELECT count(*) FROM tasks",
        1_500,
        Duration::from_secs(30),
    )
    .await;
    until(
        dir.path(),
        "SELECT count(*) FROM task_changes WHERE property = '(created)'",
        1_500,
        Duration::from_secs(5),
    )
    .await;
    terminate(&daemon);
    assert!(daemon.wait_with_output().await.unwrap().status.success());
    assert_eq!(
        count(dir.path(), "SELECT count(*) FROM task_changes"),
        1_500,
        "nothing lost, nothing repeated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_is_refused() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 5,
        ..SimulatorOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &simulator, "1s", "");
    let first = start(dir.path(), &simulator, &[]);
    until(
        dir.path(),
        "SELECT count(*) FROM tasks",
        5,
        Duration::from_secs(10),
    )
    .await;
    let second = start(dir.path(), &simulator, &[])
        .wait_with_output()
        .await
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&format!(
            "another tasksync (pid {}) is using",
            first.id().unwrap()
        )),
        "{stderr}"
    );
    terminate(&first);
    assert!(first.wait_with_output().await.unwrap().status.success());
}

/// WATCHDOG=1 comes from the loop that runs the jobs: a job stuck in an endless loop (a
/// test-only spin, `TASKSYNC_SPIN_AT`) stops the pings, so systemd's WatchdogSec acts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_job_stops_the_watchdog_pings() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 5,
        ..SimulatorOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &simulator, "1h", "time_rules = \"1s\"\n");
    let (socket, socket_path) = notify_socket(dir.path(), Duration::from_millis(200));
    let mut daemon = start(
        dir.path(),
        &simulator,
        &[
            ("NOTIFY_SOCKET", socket_path.clone()),
            ("WATCHDOG_USEC", "400000".into()),
            // The time_rules job (the fourth) spins once it starts.
            ("TASKSYNC_SPIN_AT", "daemon-job:3".into()),
        ],
    );
    let stderr = daemon.stderr.take().unwrap();
    let (spun_tx, spun) = std::sync::mpsc::channel();
    tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("spinning at daemon-job:3") {
                let _ = spun_tx.send(());
            }
        }
    });
    let receive = |socket: &UnixDatagram, for_how_long: Duration| {
        let until = Instant::now() + for_how_long;
        let mut seen = String::new();
        let mut buffer = [0u8; 4096];
        while Instant::now() < until {
            if let Ok(size) = socket.recv(&mut buffer) {
                seen.push_str(&String::from_utf8_lossy(&buffer[..size]));
                seen.push('\n');
            }
        }
        seen
    };
    let before = tokio::task::block_in_place(|| {
        let mut seen = String::new();
        let give_up = Instant::now() + Duration::from_secs(30);
        while spun.recv_timeout(Duration::from_millis(10)).is_err() {
            seen.push_str(&receive(&socket, Duration::from_millis(50)));
            assert!(
                Instant::now() < give_up,
                "the job never started spinning:
{seen}"
            );
        }
        seen
    });
    assert!(
        before.contains("WATCHDOG=1"),
        "pings while jobs run normally:\n{before}"
    );
    tokio::task::block_in_place(|| receive(&socket, Duration::from_millis(300))); // in flight
    let after = tokio::task::block_in_place(|| receive(&socket, Duration::from_millis(1500)));
    assert!(
        !after.contains("WATCHDOG=1"),
        "no ping while the job loop is stuck (WatchdogSec 0.4 s):\n{after}"
    );
    daemon.kill().await.unwrap();
}

fn rules_config(dir: &Path, simulator: &Simulator, rules: &str) {
    write_config(dir, simulator, "1s", rules);
}

fn rule(name: &str, priority: &str) -> String {
    format!(
        "[[rules]]\nname = \"{name}\"\nwhen = {{ property = \"Priority\", changed_to = \"{priority}\" }}\nactions = [{{ append = \"{name}\" }}]\n"
    )
}

/// SIGHUP reloads the configuration and rules without a restart; a broken file leaves the old
/// rules running, and `status` shows the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_new_rules_and_keeps_the_old_ones_when_the_new_are_broken() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 5,
        ..SimulatorOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    rules_config(dir.path(), &simulator, &rule("first", "Urgent"));
    let mut daemon = start(dir.path(), &simulator, &[]);
    until(
        dir.path(),
        "SELECT count(*) FROM tasks",
        5,
        Duration::from_secs(20),
    )
    .await;
    let page = simulator.page_ids()[1].clone();
    let priority =
        |name: &str| json!({ "properties": { "Priority": { "select": { "name": name } } } });

    rules_config(dir.path(), &simulator, &rule("second", "High"));
    hang_up(&daemon);
    let reloaded = "SELECT count(*) FROM job_runs WHERE job = 'reload' AND outcome = 'ok'";
    until(dir.path(), reloaded, 1, Duration::from_secs(20)).await;
    common::edit_as_person(&simulator, &page, &priority("Low")).await;
    common::edit_as_person(&simulator, &page, &priority("High")).await;
    let second = "SELECT count(*) FROM rule_firings WHERE rule = 'second'";
    until(dir.path(), second, 1, Duration::from_secs(20)).await;

    // A broken file: the reload is refused, recorded, and the rules in force keep firing.
    rules_config(
        dir.path(),
        &simulator,
        "[[rules]]\nname = \"broken\"\nwhen = { property = \"Due\", before = \"Nope\" }\nactions = [{ append = \"x\" }]\n",
    );
    hang_up(&daemon);
    let refused = "SELECT count(*) FROM job_runs WHERE job = 'reload' AND outcome = 'failed'";
    until(dir.path(), refused, 1, Duration::from_secs(20)).await;
    let status = std::process::Command::new(assert_cmd::cargo::cargo_bin("tasksync"))
        .arg("status")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("Job reload: last attempt"), "{text}");
    assert!(text.contains("Nope"), "the error names the problem: {text}");
    assert!(text.contains("Health: WARNING"), "{text}");
    let other = simulator.page_ids()[2].clone();
    common::edit_as_person(&simulator, &other, &priority("Low")).await;
    common::edit_as_person(&simulator, &other, &priority("High")).await;
    until(dir.path(), second, 2, Duration::from_secs(20)).await;
    assert_eq!(
        count(
            dir.path(),
            "SELECT count(*) FROM rule_firings WHERE rule = 'first'"
        ),
        0
    );

    terminate(&daemon);
    let exited = tokio::time::timeout(Duration::from_secs(5), daemon.wait())
        .await
        .expect("exits within 5 s")
        .unwrap();
    assert!(exited.success(), "{exited:?}");
}

/// `schedule.full` re-reads every task on its own schedule (formula and rollup values change
/// without an edit, so only a full read sees them), recorded like every job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_sync_runs_on_its_schedule() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 5,
        ..SimulatorOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &simulator, "1h", "full = \"1s\"\n");
    let mut daemon = start(dir.path(), &simulator, &[]);
    let full = "SELECT count(*) >= 2 FROM job_runs WHERE job = 'full' AND outcome = 'ok'";
    until(dir.path(), full, 1, Duration::from_secs(20)).await;
    assert!(
        count(
            dir.path(),
            "SELECT count(*) FROM sync_runs WHERE kind = 'full'"
        ) >= 2,
        "each one a full sync"
    );
    terminate(&daemon);
    assert!(daemon.wait().await.unwrap().success());
    // The report is off unless `schedule.report` is set.
    assert_eq!(
        count(
            dir.path(),
            "SELECT count(*) FROM job_runs WHERE job = 'report'"
        ),
        0
    );
    assert!(!dir.path().join("report.html").exists());
}

/// `schedule.report`: the flow report of the mirror's history, written beside the mirror on its
/// schedule, each attempt recorded (and shown by `status`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flow_report_is_written_beside_the_mirror_on_its_schedule() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 12,
        ..SimulatorOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &simulator, "1h", "report = \"1s\"\n");
    let mut daemon = start(dir.path(), &simulator, &[]);
    let written = "SELECT count(*) >= 1 FROM job_runs WHERE job = 'report' AND outcome = 'ok'";
    until(dir.path(), written, 1, Duration::from_secs(20)).await;
    terminate(&daemon);
    assert!(daemon.wait().await.unwrap().success());
    let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(page.contains("<h1>Flow of Tasks</h1>"), "{page}");
    let live = count(
        dir.path(),
        "SELECT count(*) FROM tasks WHERE deleted_at IS NULL",
    );
    assert_eq!(live, 12);
    assert!(page.contains("Today: To do "), "{page}");
    assert!(!dir.path().join("report.html.partial").exists());
    let output = common::tasksync(dir.path())
        .arg("status")
        .env("NOTION_TOKEN", simulator.token())
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&output.stdout);
    assert!(status.contains("report every 1s"), "{status}");
    assert!(status.contains("Job report: "), "{status}");
}

/// Notion's schema changes under a running daemon: a renamed property is followed (the rule
/// keeps firing and its template, the README's `{{ old.Priority }}`, keeps rendering; an info
/// line names the rename); a deleted option suspends the one rule that uses it (a warn line,
/// `status` WARNING) while the other keeps firing; and a restart still reaches READY, the rules
/// named by the former name still running and rendering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_changes_in_notion_are_followed_or_suspend_one_rule() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 6,
        ..SimulatorOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[notion]\ndatabase = \"{}\"\nbase_url = \"{}\"\nrequests_per_second = 100\n[store]\npath = \"mirror.db\"\n\
         [schedule]\nsync = \"1s\"\nreconcile = \"1s\"\noutbox = \"1h\"\n{}{}",
        simulator.database_id(),
        simulator.base_url(),
        // The README's rule `urgent-starts-work`, its template naming the former name.
        rule("on-urgent", "Urgent").replace(
            "append = \"on-urgent\"",
            "append = \"Priority went from {{ old.Priority }} to Urgent.\"",
        ),
        rule("on-high", "High"),
    );
    std::fs::write(dir.path().join("tasksync.toml"), config).unwrap();
    let daemon = start(dir.path(), &simulator, &[]);
    until(
        dir.path(),
        "SELECT count(*) FROM tasks",
        6,
        Duration::from_secs(20),
    )
    .await;
    let raw = common::Raw::new(&simulator, tasksync::notion::ApiVersion::default());
    let schema_path = format!("/v1/data_sources/{}", simulator.data_sources()[0].0);
    let pages = simulator.page_ids();
    // Sets a task's priority in Notion, and waits until the mirror has it (a rule sees each
    // step as a transition of its own).
    let set = |page: &str, name: &str| {
        let (simulator, dir) = (&simulator, dir.path());
        let (page, name) = (page.to_string(), name.to_string());
        async move {
            let body = json!({ "properties": { "Prio": { "select": { "name": name } } } });
            common::edit_as_person(simulator, &page, &body).await;
            let sql = format!(
                "SELECT count(*) FROM tasks WHERE id = '{page}' AND json_extract(properties_json, '$.Prio.text') = '{name}'"
            );
            until(dir, &sql, 1, Duration::from_secs(20)).await;
        }
    };

    // Renamed in Notion: the rule (written with "Priority") keeps firing.
    let (status, _) = raw
        .send(
            reqwest::Method::PATCH,
            &schema_path,
            Some(json!({ "properties": { "Priority": { "name": "Prio" } } })),
        )
        .await;
    assert!(status.is_success());
    let renamed = "SELECT count(*) FROM property_names WHERE name = 'Prio'";
    until(dir.path(), renamed, 1, Duration::from_secs(20)).await;
    set(&pages[0], "Medium").await;
    set(&pages[0], "Urgent").await;
    let urgent = "SELECT count(*) FROM rule_firings WHERE rule = 'on-urgent'";
    until(dir.path(), urgent, 1, Duration::from_secs(20)).await;
    // The append rendered `{{ old.Priority }}` as the value before the change.
    let rendered = |page: String| {
        let raw = &raw;
        async move {
            let path = format!("/v1/blocks/{page}/children?page_size=100");
            for _ in 0..200 {
                let (_, children) = raw.send(reqwest::Method::GET, &path, None).await;
                if children
                    .to_string()
                    .contains("Priority went from Medium to Urgent.")
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("no rendered append on {page}");
        }
    };
    rendered(pages[0].clone()).await;

    // An option deleted in Notion: the rule using it is suspended, the other keeps firing.
    let (_, schema) = raw.send(reqwest::Method::GET, &schema_path, None).await;
    let kept: Vec<serde_json::Value> = schema["properties"]["Prio"]["select"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["name"] != "High")
        .map(|o| json!({ "id": o["id"] }))
        .collect();
    let (status, _) = raw
        .send(
            reqwest::Method::PATCH,
            &schema_path,
            Some(json!({ "properties": { "Prio": { "select": { "options": kept } } } })),
        )
        .await;
    assert!(status.is_success());
    let suspended = "SELECT count(*) FROM rule_suspensions WHERE rule = 'on-high'";
    until(dir.path(), suspended, 1, Duration::from_secs(20)).await;
    assert_eq!(
        count(dir.path(), "SELECT count(*) FROM rule_suspensions"),
        1
    );
    set(&pages[1], "Medium").await;
    set(&pages[1], "Urgent").await;
    until(dir.path(), urgent, 2, Duration::from_secs(20)).await;
    let status = common::tasksync(dir.path()).arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("Health: WARNING"), "{text}");
    assert!(text.contains("Suspended rule on-high"), "{text}");
    assert!(text.contains("`High` is not an option"), "{text}");
    let check = common::tasksync(dir.path())
        .args(["status", "--check"])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));

    let log = common::daemon::stopped(daemon).await;
    let line = |needle: &str| log.lines().find(|l| l.contains(needle)).map(str::to_string);
    let rename = line("property renamed").unwrap_or_else(|| panic!("no rename line:\n{log}"));
    assert!(
        rename.contains("INFO") && rename.contains("Priority") && rename.contains("Prio"),
        "{rename}"
    );
    let warn = line("rule suspended").unwrap_or_else(|| panic!("no suspension line:\n{log}"));
    assert!(
        warn.contains("WARN") && warn.contains("on-high") && !log.contains("ERROR"),
        "{warn}\n{log}"
    );

    // A restart still reaches READY; the rule written with the former name still runs.
    let (socket, socket_path) = notify_socket(dir.path(), Duration::from_secs(20));
    let mut daemon = start(
        dir.path(),
        &simulator,
        &[("NOTIFY_SOCKET", socket_path.clone())],
    );
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    while !seen.contains("READY=1") {
        let size = socket.recv(&mut buffer).expect("READY after a restart");
        seen.push_str(&String::from_utf8_lossy(&buffer[..size]));
    }
    set(&pages[2], "Medium").await;
    set(&pages[2], "Urgent").await;
    until(dir.path(), urgent, 3, Duration::from_secs(20)).await;
    rendered(pages[2].clone()).await;
    assert_eq!(
        count(
            dir.path(),
            "SELECT count(*) FROM rule_firings WHERE status <> 'fired'"
        ),
        0,
        "every firing rendered its actions"
    );
    assert_eq!(
        count(dir.path(), "SELECT count(*) FROM rule_suspensions"),
        1
    );
    terminate(&daemon);
    assert!(daemon.wait().await.unwrap().success());
}

/// An endpoint on loopback that answers each request after `delay`: how many requests it got,
/// and the most it held at once.
fn slow_endpoint(
    delay: Duration,
) -> (
    String,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let (got, held, most) = (
        std::sync::Arc::new(AtomicUsize::new(0)),
        std::sync::Arc::new(AtomicUsize::new(0)),
        std::sync::Arc::new(AtomicUsize::new(0)),
    );
    let (counted, at_once) = (got.clone(), most.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (counted, held, at_once) = (counted.clone(), held.clone(), at_once.clone());
            tokio::spawn(async move {
                let mut request = vec![0; 8192];
                let _ = stream.read(&mut request).await;
                counted.fetch_add(1, Ordering::SeqCst);
                let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                at_once.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                held.fetch_sub(1, Ordering::SeqCst);
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                    .await;
            });
        }
    });
    (url, got, most)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_webhook_endpoint_never_holds_back_the_syncs() {
    use std::sync::atomic::Ordering;
    let simulator = common::simulator(SimulatorOptions {
        tasks: 20,
        ..SimulatorOptions::default()
    })
    .await;
    // Answers after 25 s: every delivery waits out the 15 s timeout.
    let (url, got, most) = slow_endpoint(Duration::from_secs(25));
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &simulator,
        "3s",
        "[[rules]]\nname = \"urgent-hook\"\nwhen = { property = \"Priority\", changed_to = \"Urgent\" }\nactions = [{ webhook = { url_env = \"SLOW_HOOK\" } }]\n",
    );
    let _daemon = start(dir.path(), &simulator, &[("SLOW_HOOK", url)]);
    let syncs = "SELECT count(*) FROM job_runs WHERE job = 'sync' AND outcome = 'ok'";
    until(dir.path(), syncs, 1, Duration::from_secs(30)).await;
    // Ten tasks become urgent: their deliveries are due after the next sync.
    for page in simulator.page_ids().iter().take(10) {
        common::edit_as_person(
            &simulator,
            page,
            &json!({ "properties": { "Priority": { "select": { "name": "Urgent" } } } }),
        )
        .await;
    }
    // (One of them may have been urgent already: nine deliveries at least.)
    until(
        dir.path(),
        "SELECT count(*) >= 9 FROM webhook_outbox",
        1,
        Duration::from_secs(30),
    )
    .await;
    let started = Instant::now();
    while got.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no delivery began"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // While the deliveries wait on the endpoint, the daemon goes on syncing every 3 s.
    let before = count(dir.path(), syncs);
    tokio::time::sleep(Duration::from_secs(12)).await;
    let during = count(dir.path(), syncs) - before;
    assert!(
        during >= 3,
        "{during} sync(s) in 12 s while webhooks waited on a slow endpoint"
    );
    assert_eq!(
        most.load(Ordering::SeqCst),
        tasksync::hooks::CONCURRENT_PER_ENDPOINT,
        "deliveries to one endpoint are bounded"
    );
    let sending = count(
        dir.path(),
        "SELECT count(*) FROM webhook_outbox WHERE status = 'sending'",
    );
    assert!(sending <= 2, "{sending} sending at once");
}
