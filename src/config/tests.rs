//! Unit tests of `config`.

use super::*;

fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(config) => panic!("expected problems, got {config:?}"),
        Err(problems) => problems
            .into_iter()
            .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
            .collect(),
    }
}

#[test]
fn empty_file_gives_the_documented_defaults() {
    let config = parse("").unwrap();
    assert_eq!(config.notion.base_url, "https://api.notion.com");
    assert_eq!(config.notion.api_version, ApiVersion::V2026_03_11);
    assert_eq!(config.notion.requests_per_second, 3.0);
    assert_eq!(config.notion.database, None);
    assert_eq!(config.store.path, None);
}

#[test]
fn reads_a_full_file() {
    let config = parse(
        r#"
[notion]
database = "https://www.notion.so/acme/Tasks-0123456789abcdef0123456789abcdef"
data_source = "Tasks"
api_version = "2025-09-03"
base_url = "http://127.0.0.1:4000"
requests_per_second = 2.5
[store]
path = "/var/lib/tasksync/tasksync.db"
"#,
    )
    .unwrap();
    assert_eq!(
        config.notion.database.unwrap().as_str(),
        "01234567-89ab-cdef-0123-456789abcdef"
    );
    assert_eq!(config.notion.api_version, ApiVersion::V2025_09_03);
    assert_eq!(config.notion.requests_per_second, 2.5);
}

#[test]
fn reports_every_problem_with_its_position() {
    let text = r#"[notion]
database = "not a database"
bse_url = "http://x"
api_version = "2024-01-01"
requests_per_second = 0
[store]
path = 3
[extra]
"#;
    assert_eq!(
        problems(text),
        [
            "2:12: `notion.database`: `not a database` is not a Notion id: expected 32 hexadecimal digits (with or without dashes) or a Notion URL",
            "3:1: unknown field `bse_url`, expected one of `database`, `data_source`, `api_version`, `base_url`, `requests_per_second`",
            "4:15: `notion.api_version`: unsupported Notion API version `2024-01-01`: use \"2026-03-11\" or \"2025-09-03\"",
            "5:23: requests_per_second must be between 0.01 and 10000 (Notion allows about 3), not 0",
            "7:8: `store.path`: invalid type: integer `3`, expected a string",
            "8:2: unknown field `extra`, expected one of `notion`, `store`, `sync`, `automation`, `schedule`, `mail`, `health`, `sources`, `webhook`, `include`, `rules`",
        ]
    );
}

#[test]
fn reports_all_syntax_errors() {
    let found = problems("[notion]\ndatabase = \"x\n[store]\npath = = 1\n");
    assert!(found.len() >= 2, "{found:?}");
    assert!(
        found[0].starts_with("2:14: invalid basic string"),
        "{found:?}"
    );
    assert!(found[1].starts_with("4:8: extra `=`"), "{found:?}");
}

#[test]
fn the_shipped_example_is_valid_and_states_the_real_defaults() {
    let example = parse(include_str!("../../config/tasksync.example.toml")).unwrap();
    let defaults = Config::default();
    assert!(example.notion.database.is_some());
    assert_eq!(example.notion.data_source, defaults.notion.data_source);
    assert_eq!(example.notion.api_version, defaults.notion.api_version);
    assert_eq!(example.notion.base_url, defaults.notion.base_url);
    assert_eq!(
        example.notion.requests_per_second,
        defaults.notion.requests_per_second
    );
    assert_eq!(example.store.path, defaults.store.path);
    assert_eq!(example.sync.overlap, defaults.sync.overlap);
    assert_eq!(example.sync.reconcile_every, defaults.sync.reconcile_every);
    assert_eq!(example.schedule.sync, defaults.schedule.sync);
    assert_eq!(example.schedule.reconcile, defaults.schedule.reconcile);
    assert_eq!(example.schedule.outbox, defaults.schedule.outbox);
    assert_eq!(example.schedule.time_rules, defaults.schedule.time_rules);
    assert_eq!(example.schedule.time_zone, defaults.schedule.time_zone);
    assert_eq!(example.schedule.full, defaults.schedule.full);
    assert!(example.schedule.parsed().is_ok());
    assert_eq!(
        example.health.warning_intervals,
        defaults.health.warning_intervals
    );
    assert_eq!(
        example.health.critical_intervals,
        defaults.health.critical_intervals
    );
}

#[test]
fn durations_need_a_unit() {
    assert_eq!(
        parse_duration("90s"),
        Ok(std::time::Duration::from_secs(90))
    );
    assert_eq!(
        parse_duration("5m"),
        Ok(std::time::Duration::from_secs(300))
    );
    assert_eq!(
        parse_duration("1d"),
        Ok(std::time::Duration::from_secs(86_400))
    );
    assert!(
        parse_duration("5")
            .unwrap_err()
            .contains("is not a duration")
    );
    assert!(parse_duration("m").is_err());
    assert!(parse_duration("-1m").is_err());
    let problem = problems("[sync]\noverlap = \"two minutes\"\n");
    assert_eq!(problem.len(), 1);
    assert!(
        problem[0].starts_with("2:11: sync.overlap: `two minutes` is not a duration"),
        "{problem:?}"
    );
}

#[test]
fn line_and_column_count_characters() {
    assert_eq!(line_column("ab\ncdé\nf", 0), (1, 1));
    assert_eq!(line_column("ab\ncdé\nf", 3), (2, 1));
    assert_eq!(line_column("ab\ncdé\nf", 8), (3, 1));
    assert_eq!(line_column("ab\ncdé\nf", 99), (3, 2));
}

#[test]
fn sources_own_the_rules_of_their_files_and_the_one_source_form_stays() {
    let dir = tempfile::tempdir().unwrap();
    let database = "0123456789abcdef0123456789abcdef";
    let rule = |name: &str, source: &str| {
        format!(
            "[[rules]]\nname = \"{name}\"\n{source}when = {{ property = \"Done\", equals = true }}\nactions = [{{ append = \"x\" }}]\n"
        )
    };
    std::fs::write(dir.path().join("bugs.toml"), rule("bug-rule", "")).unwrap();
    let path = dir.path().join("tasksync.toml");
    std::fs::write(
        &path,
        format!(
            "[[sources]]\nname = \"tasks\"\ndatabase = \"{database}\"\n[[sources]]\nname = \"bugs\"\ndatabase = \"{database}\"\ndata_source = \"Bugs\"\nrules = [\"bugs.toml\"]\n{}",
            rule("task-rule", "source = \"tasks\"\n")
        ),
    )
    .unwrap();
    let config = load_file(&path).unwrap();
    let names = |source| -> Vec<String> {
        config
            .rules_of(source)
            .into_iter()
            .map(|entry| entry.rule.name.into_inner())
            .collect()
    };
    assert_eq!(names(Some("tasks")), ["task-rule"]);
    assert_eq!(names(Some("bugs")), ["bug-rule"]);
    assert_eq!(config.rules_of_others(Some("bugs")), ["task-rule"]);
    assert_eq!(
        config.source_keys(),
        [Some("tasks".to_string()), Some("bugs".to_string())]
    );
    let origin = Origin::File(path.clone());
    assert!(config.select_sources(&origin, Some("nope")).is_err());
    assert_eq!(
        config.select_sources(&origin, Some("bugs")).unwrap().len(),
        1
    );

    // Both forms at once is a located problem; the one-source form is one unnamed source.
    std::fs::write(
        &path,
        format!("[notion]\ndatabase = \"{database}\"\n[[sources]]\nname = \"tasks\"\ndatabase = \"{database}\"\n"),
    )
    .unwrap();
    let error = load_file(&path).unwrap_err().to_string();
    assert!(
        error.contains("tasksync.toml:4:8: `[[sources]]` and `[notion] database`"),
        "{error}"
    );
    // The same data source twice is a located configuration problem (each rule would run twice).
    std::fs::write(
        &path,
        format!("[[sources]]\nname = \"a\"\ndatabase = \"{database}\"\n[[sources]]\nname = \"b\"\ndatabase = \"{database}\"\n"),
    )
    .unwrap();
    let error = load_file(&path).unwrap_err().to_string();
    assert!(
        error.contains("tasksync.toml:5:8: sources `a` and `b` name the same database"),
        "{error}"
    );
    std::fs::write(&path, format!("[notion]\ndatabase = \"{database}\"\n")).unwrap();
    let config = load_file(&path).unwrap();
    let specs = config.source_specs(&Origin::File(path.clone())).unwrap();
    assert_eq!((specs.len(), specs[0].name.as_deref()), (1, None));
    assert!(config.select_sources(&origin, Some("tasks")).is_err());
}
