//! Tells the integration tests which system tools this machine has, so that a test needing one
//! that is missing is reported as ignored with its reason (`cfg_attr(not(tool_…), ignore = …)`)
//! instead of failing; `cargo test -- --include-ignored` runs them anyway, and `.ci/test` (the
//! README's test command) installs the tools first. Nothing here reaches the built binary.

use std::path::Path;

/// A cfg name each, and the commands any one of which provides the tool.
const TOOLS: &[(&str, &[&str])] = &[
    (
        "tool_chromium",
        &["chromium", "chromium-browser", "google-chrome"],
    ),
    ("tool_systemd_analyze", &["systemd-analyze"]),
    ("tool_curl", &["curl"]),
    ("tool_sqlite3", &["sqlite3"]),
];

fn main() {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<_> = std::env::split_paths(&path).collect();
    println!("cargo::rerun-if-env-changed=PATH");
    for dir in &dirs {
        // A package installed later changes its directory: look again then.
        if dir.is_absolute() && dir.is_dir() {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
    }
    for (cfg, commands) in TOOLS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        let found = commands
            .iter()
            .any(|command| dirs.iter().any(|dir| executable(&dir.join(command))));
        if found {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}

fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
