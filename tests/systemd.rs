//! The systemd units: `systemd-analyze verify` says nothing, and the exposure scores are low.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of the unit whose ExecStart names the binary under test (verify needs it to exist).
fn installable_copy(dir: &Path, name: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("systemd")
        .join(name);
    let text = std::fs::read_to_string(&source).unwrap();
    let binary = assert_cmd::cargo::cargo_bin("tasksync");
    let text = text.replace("/usr/local/bin/tasksync", &binary.display().to_string());
    let copy = dir.join(name);
    std::fs::write(&copy, text).unwrap();
    copy
}

fn analyze(args: &[&str]) -> (bool, String) {
    let output = Command::new("systemd-analyze")
        .args(args)
        .output()
        .expect("systemd-analyze runs (Debian package systemd; .ci/test installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
#[cfg_attr(
    not(tool_systemd_analyze),
    ignore = "needs systemd-analyze, not found on PATH at build time: `apt-get install systemd`, then `cargo test --test systemd -- --include-ignored` (`.ci/test` does both)"
)]
fn the_units_verify_without_a_single_warning() {
    let dir = tempfile::tempdir().unwrap();
    let units: Vec<String> = [
        "tasksync.service",
        "tasksync-sync.service",
        "tasksync-sync.timer",
    ]
    .iter()
    .map(|name| installable_copy(dir.path(), name).display().to_string())
    .collect();
    let mut args = vec!["verify", "--man=no"];
    args.extend(units.iter().map(String::as_str));
    let (ok, text) = analyze(&args);
    assert!(
        ok && text.trim().is_empty(),
        "systemd-analyze verify:\n{text}"
    );
}

fn exposure(name: &str) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let service = installable_copy(dir.path(), name);
    let (_, text) = analyze(&[
        "security",
        "--offline=yes",
        "--no-pager",
        &service.display().to_string(),
    ]);
    text.lines()
        .find_map(|line| line.split("Overall exposure level for").nth(1))
        .and_then(|rest| rest.split(':').nth(1))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no exposure score in:\n{text}"))
}

#[test]
#[cfg_attr(
    not(tool_systemd_analyze),
    ignore = "needs systemd-analyze, not found on PATH at build time: `apt-get install systemd`, then `cargo test --test systemd -- --include-ignored` (`.ci/test` does both)"
)]
fn the_services_are_locked_down() {
    for name in ["tasksync.service", "tasksync-sync.service"] {
        let score = exposure(name);
        println!("{name}: exposure {score}");
        assert!(score <= 1.5, "{name}: exposure {score} is above 1.5");
    }
}
