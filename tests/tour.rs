//! The README's five-minute tour, run as written: every command of it, against
//! `tasksync simulator` on the port the README names, with the tasksync under test.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// The tour's `sh` blocks, in order.
fn tour_blocks() -> Vec<String> {
    let readme = include_str!("../README.md");
    let start = readme
        .find("## A five-minute tour")
        .expect("the README has a tour");
    let end = readme[start..]
        .find("## Connect your own Notion")
        .map_or(readme.len(), |e| start + e);
    common::fenced_blocks(&readme[start..end], "sh")
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[cfg_attr(
    not(all(tool_curl, tool_sqlite3)),
    ignore = "the tour uses curl and sqlite3 as a reader would, and one was not found on PATH at build time: `apt-get install curl sqlite3`, then `cargo test --test tour -- --include-ignored` (`.ci/test` does both)"
)]
fn the_readme_tour_works_as_written() {
    let blocks = tour_blocks();
    assert!(blocks.len() >= 4, "{blocks:?}");
    let binary = assert_cmd::cargo::cargo_bin("tasksync");
    let bin_dir = binary.parent().unwrap().to_path_buf();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));

    // The first block builds and starts the simulator; what it prints is in its comments.
    let first = &blocks[0];
    assert!(first.contains("tasksync simulator --tasks 300"), "{first}");
    let expected: Vec<&str> = first
        .lines()
        .filter_map(|l| l.trim().strip_prefix("# "))
        .collect();
    let mut simulator = Command::new(&binary)
        .args(["simulator", "--tasks", "300"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(simulator.stdout.take().unwrap()).lines();
    let printed: Vec<String> = (0..expected.len())
        .map(|_| lines.next().unwrap().unwrap())
        .collect();
    let _simulator = Killed(simulator);
    assert_eq!(
        printed, expected,
        "the simulator prints what the README shows (port and seeded ids)"
    );

    // The other blocks run in one shell, as a reader would type them in the second terminal.
    let mut script = String::from("set -euo pipefail\n");
    for block in &blocks[1..] {
        for line in block.lines() {
            if line.contains("# refused") {
                // A command the tour shows failing: it must fail, with its message.
                let command = line.split('#').next().unwrap().trim();
                script.push_str(&format!(
                    "if {command}; then echo 'expected a refusal: {command}' >&2; exit 1; fi\n"
                ));
            } else {
                script.push_str(line);
                script.push('\n');
            }
        }
    }
    let runtime = tempfile::tempdir().unwrap();
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(repo)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env_remove("NOTION_TOKEN")
        .env_remove("TASKSYNC_CONFIG")
        .env_remove("SMTP_URL")
        // Per-machine locks of this run only: other tests mirror the same seeded data source.
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env("TASKSYNC_LOCK_SCOPE", runtime.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the tour failed:\n{stdout}\n{stderr}"
    );
    for expected in [
        "Tasks  3eb909a5-1643-40dd-ad8f-f0b4499aafa5",
        "TASK-12 \"Fix team offsite agenda\": To do → Done",
        "Appended 1 block(s) (markdown)",
        "Synced \"Tasks\" (full): 300 new",
        "Dry run of \"Tasks\" (incremental): would record 0 new, 1 changed",
        "History (oldest first):",
        "Rules: 3 checked against the schema, no problems",
        "Rules would fire 2 time(s):",
        "Rules fired 2 time(s):",
        "[tasksync] Fix team offsite agenda|queued",
    ] {
        assert!(
            stdout.contains(expected),
            "«{expected}» missing from the tour's output:\n{stdout}\n{stderr}"
        );
    }
    assert!(
        stderr.contains("`Finished` is not an option of the status property `Status`"),
        "{stderr}"
    );
}
