//! The systemd units: `systemd-analyze verify` says nothing, and the exposure score is low.

use std::path::Path;
use std::process::Command;

/// A copy of the unit whose ExecStart names the binary under test (verify needs it to exist).
fn installable_copy(dir: &Path, name: &str) -> std::path::PathBuf {
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
        .expect("systemd-analyze runs (Debian package systemd; .ci/run installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn the_units_verify_without_a_single_warning() {
    let dir = tempfile::tempdir().unwrap();
    let service = installable_copy(dir.path(), "tasksync-sync.service");
    let timer = installable_copy(dir.path(), "tasksync-sync.timer");
    let (ok, text) = analyze(&[
        "verify",
        "--man=no",
        &service.display().to_string(),
        &timer.display().to_string(),
    ]);
    assert!(
        ok && text.trim().is_empty(),
        "systemd-analyze verify:\n{text}"
    );
}

#[test]
fn the_sync_service_is_locked_down() {
    let dir = tempfile::tempdir().unwrap();
    let service = installable_copy(dir.path(), "tasksync-sync.service");
    let (_, text) = analyze(&[
        "security",
        "--offline=yes",
        "--no-pager",
        &service.display().to_string(),
    ]);
    let score: f64 = text
        .lines()
        .find_map(|line| line.split("Overall exposure level for").nth(1))
        .and_then(|rest| rest.split(':').nth(1))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no exposure score in:\n{text}"));
    assert!(score <= 2.0, "exposure {score} is above 2.0:\n{text}");
    println!("exposure score: {score}");
}
