//! Tidy: the shape of the code, checked. Each top-level module may use only the modules below
//! it (ARCHITECTURE.md, "Import direction"), the table of who may use whom has no cycle, and no
//! source file grows past 800 lines. A failure names the file, the line and the rule it breaks.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Who may use whom: every top-level module of `src/` with the modules it may name as
/// `crate::…`. `model` is the neutral layer; `notion`, `rules` and `store` build on it alone;
/// `sync`, `actions` and `notify` on those; then `daemon`; `cli` on everything. The simulator
/// is a test double of Notion: it may use the model and Notion's wire types, nothing of ours.
const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("failpoint", &[]),
    ("schedule", &["model"]),
    ("notion", &["model", "failpoint"]),
    ("rules", &["model"]),
    ("store", &["model"]),
    ("config", &["model", "notion", "rules", "schedule"]),
    ("lock", &["model", "config"]),
    ("health", &["model", "store", "config", "schedule"]),
    (
        "sync",
        &["model", "notion", "rules", "store", "config", "failpoint"],
    ),
    ("actions", &["model", "notion", "store", "failpoint"]),
    ("notify", &["model", "store", "config"]),
    ("hooks", &["model", "store", "failpoint"]),
    ("listen", &["model", "notion", "store"]),
    ("report", &["model", "store"]),
    (
        "daemon",
        &[
            "model",
            "failpoint",
            "schedule",
            "notion",
            "rules",
            "store",
            "config",
            "health",
            "sync",
            "actions",
            "notify",
            "hooks",
            "listen",
            "report",
        ],
    ),
    (
        "cli",
        &[
            "model",
            "failpoint",
            "schedule",
            "notion",
            "rules",
            "store",
            "config",
            "lock",
            "health",
            "sync",
            "actions",
            "notify",
            "hooks",
            "listen",
            "report",
            "daemon",
            "simulator",
        ],
    ),
    ("simulator", &["model", "notion"]),
];

/// The longest a file in `src/` may be.
const MAX_LINES: usize = 800;

/// One use of `crate::<module>` in a file.
#[derive(Debug, PartialEq, Eq)]
struct Import {
    line: usize,
    module: String,
}

/// The crate modules a source text names, with their lines: `use crate::x`, grouped
/// `use crate::{x, y::z}` (over several lines too), and paths such as `crate::x::f()` in code.
/// Comments are skipped.
fn imports(text: &str) -> Vec<Import> {
    let mut found = Vec::new();
    let mut group: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let code = raw.split("//").next().unwrap_or("");
        if let Some((start, mut collected)) = group.take() {
            collected.push_str(code);
            if closes_group(&collected) {
                found.extend(group_modules(&collected).map(|module| Import {
                    line: start,
                    module,
                }));
            } else {
                group = Some((start, collected));
            }
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(inner) = after.strip_prefix('{') {
                if closes_group(inner) {
                    found.extend(group_modules(inner).map(|module| Import { line, module }));
                } else {
                    group = Some((line, inner.to_string()));
                }
                break;
            }
            let module: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &after[module.len()..];
            if !module.is_empty() {
                found.push(Import { line, module });
            }
        }
    }
    found
}

/// Whether `body`, the text after a group's opening brace, holds the brace that closes it.
fn closes_group(body: &str) -> bool {
    let mut depth = 1_i32;
    for c in body.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return true;
        }
    }
    false
}

/// The first segment of each path in a `{a, b::c, d::{e, f}}` group (its body, braces of the
/// group itself excluded).
fn group_modules(body: &str) -> impl Iterator<Item = String> {
    let mut depth = 0;
    let mut current = String::new();
    let mut heads = Vec::new();
    let mut at_head = true;
    for c in body.chars() {
        match c {
            '{' => {
                depth += 1;
                at_head = false;
            }
            '}' => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            ',' if depth == 0 => {
                heads.push(std::mem::take(&mut current));
                at_head = true;
            }
            ':' => at_head = false,
            c if at_head && (c.is_ascii_alphanumeric() || c == '_') => current.push(c),
            _ => {}
        }
    }
    heads.push(current);
    heads
        .into_iter()
        .filter(|head| !head.is_empty() && head != "self")
}

/// The top-level module a file under `src/` belongs to (`None`: the crate root or `main.rs`).
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "main.rs" => None,
        file if file.ends_with(".rs") => Some(file.trim_end_matches(".rs").to_string()),
        directory => Some(directory.to_string()),
    }
}

fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    ALLOWED
        .iter()
        .map(|(module, uses)| (*module, uses.iter().copied().collect()))
        .collect()
}

/// Every break of the direction in one file's text.
fn violations(module: &str, file: &str, text: &str) -> Vec<String> {
    let allowed = allowed();
    let Some(may_use) = allowed.get(module) else {
        return vec![format!(
            "{file}: module `{module}` is not in tests/tidy.rs ALLOWED: add it at its layer"
        )];
    };
    imports(text)
        .into_iter()
        .filter(|import| import.module != module && !may_use.contains(import.module.as_str()))
        .map(|import| {
            format!(
                "{file}:{}: `{module}` uses `crate::{}`, against the import direction (it may use: {})",
                import.line,
                import.module,
                may_use.iter().copied().collect::<Vec<_>>().join(", ")
            )
        })
        .collect()
}

fn source_files(directory: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            source_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

fn sources() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a source file is UTF-8");
            (path.strip_prefix(&root).unwrap().to_path_buf(), text)
        })
        .collect()
}

#[test]
fn every_module_imports_along_the_direction_only() {
    let mut problems = Vec::new();
    for (relative, text) in sources() {
        if let Some(module) = module_of(&relative) {
            problems.extend(violations(
                &module,
                &format!("src/{}", relative.display()),
                &text,
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_direction_has_no_cycle() {
    // Kahn's algorithm: a table that cannot be peeled layer by layer has a cycle.
    let mut remaining = allowed();
    let known: BTreeSet<&str> = remaining.keys().copied().collect();
    for (module, uses) in &remaining {
        for used in uses {
            assert!(
                known.contains(used),
                "{module} may use `{used}`, which is not a module"
            );
        }
    }
    while !remaining.is_empty() {
        let free: Vec<&str> = remaining
            .iter()
            .filter(|(_, uses)| uses.iter().all(|u| !remaining.contains_key(u)))
            .map(|(module, _)| *module)
            .collect();
        assert!(
            !free.is_empty(),
            "the import direction has a cycle among: {:?}",
            remaining.keys().collect::<Vec<_>>()
        );
        for module in free {
            remaining.remove(module);
        }
    }
}

#[test]
fn no_source_file_is_over_the_limit() {
    let long: Vec<String> = sources()
        .into_iter()
        .map(|(relative, text)| (relative, text.lines().count()))
        .filter(|(_, lines)| *lines > MAX_LINES)
        .map(|(relative, lines)| {
            format!(
                "src/{} has {lines} lines (at most {MAX_LINES}): split it by what it owns",
                relative.display()
            )
        })
        .collect();
    assert!(long.is_empty(), "{}", long.join("\n"));
}

#[test]
fn every_top_level_module_is_placed_in_the_direction() {
    let allowed = allowed();
    let mut unplaced = BTreeSet::new();
    for (relative, _) in sources() {
        if let Some(module) = module_of(&relative)
            && !allowed.contains_key(module.as_str())
        {
            unplaced.insert(module);
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules missing from ALLOWED: {unplaced:?}"
    );
}

/// States the mirror stores, as words that mean nothing else in the code: outside `model/`
/// (their enums' `as_str`) and SQL text, a literal of one of them is a state passed as a string.
const STATE_WORDS: &[&str] = &[
    "pending",
    "running",
    "done",
    "skipped",
    "sending",
    "sent",
    "queued",
    "stopped",
    "interrupted",
    "touched",
    "renamed",
    "restored",
    "reread",
    "incremental",
];

/// String literals of `text` that are exactly a state word, with their lines (comments skipped).
fn state_literals(text: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let code = raw.split("//").next().unwrap_or("");
        for word in STATE_WORDS {
            if code.contains(&format!("\"{word}\"")) {
                found.push((index + 1, *word));
            }
        }
    }
    found
}

#[test]
fn states_are_enums_outside_the_model() {
    let mut problems = Vec::new();
    for (relative, text) in sources() {
        let module = module_of(&relative);
        if matches!(module.as_deref(), Some("model" | "simulator")) {
            continue;
        }
        for (line, word) in state_literals(&text) {
            problems.push(format!(
                "src/{}:{line}: the state \"{word}\" as a string: use its enum in model/ (as_str for SQL)",
                relative.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// The checker itself: it must see every way a module is named, or the tests above prove nothing.

#[test]
fn the_checker_sees_plain_grouped_and_inline_paths() {
    let text = "\
//! use crate::cli; in a comment is not a use
use crate::model::Task;
use crate::{store::Store, rules::{self, RuleSet}};
use crate::{
    sync::sync,
    notify,
};
fn f() { crate::daemon::serve(); } // crate::cli here is a comment
use crate::{model::{Task,
    DataSource},
    lock,
};
";
    let found: Vec<(usize, String)> = imports(text)
        .into_iter()
        .map(|i| (i.line, i.module))
        .collect();
    assert_eq!(
        found,
        vec![
            (2, "model".to_string()),
            (3, "store".to_string()),
            (3, "rules".to_string()),
            (4, "sync".to_string()),
            (4, "notify".to_string()),
            (8, "daemon".to_string()),
            (9, "model".to_string()),
            (9, "lock".to_string()),
        ]
    );
}

#[test]
fn an_import_against_the_direction_is_reported_with_its_line() {
    let text = "use crate::model::Task;\nuse crate::sync::SyncReport;\n";
    let found = violations("store", "src/store/tasks.rs", text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("src/store/tasks.rs:2: `store` uses `crate::sync`"),
        "{}",
        found[0]
    );
    assert!(violations("model", "src/model/x.rs", "use crate::cli::Exit;").len() == 1);
    assert!(violations("cli", "src/cli/x.rs", "use crate::daemon::serve;").is_empty());
}

#[test]
fn a_state_as_a_string_is_found_but_not_in_sql_or_comments() {
    let text = "let s = \"queued\";\n// \"sent\" in a comment\nconn.execute(\"UPDATE t SET status = 'sent'\");\n";
    assert_eq!(state_literals(text), vec![(1, "queued")]);
}

#[test]
fn every_document_the_code_points_to_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    for (relative, text) in sources() {
        for (index, line) in text.lines().enumerate() {
            for word in line.split(|c: char| !(c.is_ascii_alphanumeric() || "_/.-".contains(c))) {
                if word.ends_with(".md") && !root.join(word).is_file() {
                    missing.push(format!(
                        "src/{}:{}: {word} is not in the repository",
                        relative.display(),
                        index + 1
                    ));
                }
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
