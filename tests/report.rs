//! `tasksync report` on a real mirror: a task moved through the statuses at known times (the
//! simulator's clock), synced, and the page's figures checked against them. History begins at
//! the mirror's first sync: the tasks already done then count in no throughput.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use tasksync::model::PropertyWrite;
use tasksync::simulator::SimulatorOptions;

fn run(dir: &std::path::Path, token: &str, args: &[&str]) -> String {
    let output = common::tasksync(dir)
        .args(args)
        .env("NOTION_TOKEN", token)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_shows_the_cycle_time_throughput_and_flow_the_history_holds() {
    let simulator = common::simulator(SimulatorOptions {
        tasks: 30,
        ..SimulatorOptions::default()
    })
    .await;
    let token = simulator.token().to_string();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tasksync.toml"),
        format!(
            r#"[notion]
database = "{}"
base_url = "{}"
requests_per_second = 100
[store]
path = "mirror.db"
[[rules]]
name = "done-note"
when = {{ property = "Status", changed_to = "Done" }}
actions = [{{ append = "Done." }}]
"#,
            simulator.database_id(),
            simulator.base_url()
        ),
    )
    .unwrap();
    let work = dir.path().to_path_buf();
    let sync = |args: &'static [&'static str]| {
        let (work, token) = (work.clone(), token.clone());
        tokio::task::spawn_blocking(move || run(&work, &token, args))
    };
    sync(&["sync"]).await.unwrap();
    let mirror = dir.path().join("mirror.db");
    let task: String = rusqlite::Connection::open(&mirror)
        .unwrap()
        .query_row(
            "SELECT id FROM tasks WHERE status = 'To do' ORDER BY created_time LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let person = simulator.user_ids()[3].clone();
    let status = |name: &str| [("Status".to_string(), PropertyWrite::Status(name.into()))];
    // Started a day ago (the simulator's tasks are all older), done now: a cycle time of a
    // day. A full sync records each change at Notion's edit time.
    simulator.advance_clock(chrono::Duration::days(-1));
    simulator
        .edit_as(&person, &task, &status("In progress"), None)
        .unwrap();
    sync(&["sync", "--full"]).await.unwrap();
    simulator.advance_clock(chrono::Duration::days(1));
    simulator
        .edit_as(&person, &task, &status("Done"), None)
        .unwrap();
    sync(&["sync", "--full"]).await.unwrap();

    let printed = sync(&["report", "--out", "flow.html", "--since", "30d"])
        .await
        .unwrap();
    assert!(printed.contains("written to flow.html"), "{printed}");
    let page = std::fs::read_to_string(dir.path().join("flow.html")).unwrap();
    // Private like the mirror (task titles, people), whatever the umask.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("flow.html"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    // Self-contained: three inline charts, no script, nothing fetched.
    assert_eq!(page.matches("<svg").count(), 3);
    assert!(!page.contains("<script") && !page.contains("src=\"http"));
    // The one task that went through In progress: a day.
    assert!(
        page.contains(r#"<b id="cycle-median">1.0 days</b>"#),
        "{page}"
    );
    assert!(page.contains(r#"<span id="cycle-p85">1.0 days</span>; 1 tasks"#));
    // Today's flow is what the mirror holds now.
    let count = |status: &str| {
        common::sql_number(
            &mirror,
            &format!("SELECT count(*) FROM tasks WHERE status = '{status}' AND deleted_at IS NULL"),
        )
        .unwrap()
    };
    let today = format!(
        "Today: To do {}, In progress {}, Done {}.",
        count("To do"),
        count("In progress"),
        count("Done")
    );
    assert!(page.contains(&today), "{today}\n{page}");
    // History begins at the first sync (today): the page says so, and `--since 30d` is clipped
    // to it. Throughput: only the task done after it; the generated tasks already done at the
    // first sync count in none of the figures.
    let first_sync = chrono::Utc::now().date_naive().to_string();
    assert!(
        page.contains(&format!(
            "History begins on {first_sync}, the mirror's first sync"
        )),
        "{page}"
    );
    let table = page
        .split("<table id=\"throughput-table\">")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    let weekly: Vec<i64> = table
        .split("<td class=\"number\">")
        .skip(1)
        .map(|cell| cell.split('<').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(weekly, [1], "one row, this week's: {table}");
    assert!(
        count("Done") > 1,
        "the simulator has tasks done before the first sync"
    );
    let weekly_total: i64 = weekly.iter().sum();
    // The same figures for scripts.
    let printed = sync(&["report", "--out", "flow2.html", "--since", "30d", "--json"])
        .await
        .unwrap();
    let figures: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(figures["source"], "Tasks");
    assert_eq!(figures["out"], "flow2.html");
    assert_eq!(figures["history_begins"], first_sync.as_str());
    assert_eq!(figures["since"], first_sync.as_str());
    assert_eq!(figures["lead_time_days"]["count"], 1);
    assert_eq!(figures["cycle_time_days"]["median"], 1.0);
    assert_eq!(figures["cycle_time_days"]["count"], 1);
    let today: Vec<(String, i64)> = figures["today"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["status"].as_str().unwrap().to_string(),
                s["tasks"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        today,
        [
            ("To do".to_string(), count("To do")),
            ("In progress".to_string(), count("In progress")),
            ("Done".to_string(), count("Done"))
        ]
    );
    let weeks: i64 = figures["throughput"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["done"].as_i64().unwrap())
        .sum();
    assert_eq!(weeks, weekly_total);
    // The rule fired once on the task, that week.
    assert!(
        page.contains(
            "<td>done-note</td><td class=\"number\">1</td><td class=\"number\">1</td><td class=\"number\">0</td>"
        ),
        "{page}"
    );
}
