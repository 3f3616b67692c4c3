//! Human output: aligned tables and detail views, and the stable JSON shape of a task.
//!
//! Everything the CLI prints goes through `out!`: when the reader goes away (`tasksync ... |
//! head`), the command stops quietly instead of panicking on a broken pipe.

/// Prints a line to standard output; a closed pipe ends the process quietly (exit 0).
macro_rules! out {
    () => { $crate::cli::output::write_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::cli::output::write_line(format_args!($($arg)*)) };
}

/// Writes raw bytes to standard output; a closed pipe ends the process quietly (exit 0).
pub fn write_bytes(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => other,
    }
}

pub fn write_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let text = line.to_string();
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{}", terminal_safe(&text))
        && error.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// `text` with what a terminal would act on written out instead: C0 and C1 control characters
/// (but line breaks and tabs) and the bidirectional overrides and isolates, as `\uXXXX`. A
/// colleague's task title holding `ESC]0;…BEL` or `ESC[2J` is shown, not obeyed. The form is
/// JSON's own escape, so `--json` output stays the same JSON.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let acts = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}' | '\u{200E}' | '\u{200F}')
    };
    if !text.chars().any(acts) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if acts(c) {
            safe.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            safe.push(c);
        }
    }
    std::borrow::Cow::Owned(safe)
}

use serde::Serialize;

use crate::model::{Block, Property, PropertyValue, Task};

/// Prints rows as a table with a header, columns aligned, long cells shortened.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    const MAX_CELL: usize = 60;
    let shorten = |cell: &str| -> String {
        let single_line = cell.replace('\n', " ");
        if single_line.chars().count() > MAX_CELL {
            let head: String = single_line.chars().take(MAX_CELL - 1).collect();
            format!("{head}…")
        } else {
            single_line
        }
    };
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| shorten(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// A task's unique ID (`TASK-12`) when it has one.
pub fn unique_id(task: &Task) -> Option<String> {
    task.properties
        .values()
        .find_map(|property| match &property.value {
            PropertyValue::UniqueId {
                number: Some(_), ..
            } => Some(property.value.display()),
            _ => None,
        })
}

/// What to call a task in messages: its unique ID, else its page id.
pub fn label(task: &Task) -> String {
    unique_id(task).unwrap_or_else(|| task.id.to_string())
}

/// The stable JSON form of a task for `--json`.
#[derive(Serialize)]
pub struct TaskJson<'a> {
    pub id: &'a str,
    pub unique_id: Option<String>,
    pub title: String,
    pub status: Option<String>,
    pub url: &'a str,
    pub created_time: &'a str,
    pub last_edited_time: &'a str,
    pub last_edited_by: Option<&'a str>,
    pub in_trash: bool,
    pub properties: &'a std::collections::BTreeMap<String, Property>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<&'a [Block]>,
}

impl<'a> TaskJson<'a> {
    pub fn new(task: &'a Task, content: Option<&'a [Block]>) -> Self {
        Self {
            id: task.id.as_str(),
            unique_id: unique_id(task),
            title: task.title(),
            status: task.status(),
            url: &task.url,
            created_time: &task.created_time,
            last_edited_time: &task.last_edited_time,
            last_edited_by: task.last_edited_by.as_deref(),
            in_trash: task.in_trash,
            properties: &task.properties,
            content,
        }
    }
}

/// Prints a value as pretty JSON.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    out!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints a task's detail view: title, properties with a value, then the page's text.
pub fn detail(task: &Task, content: &[Block]) {
    out!("{}  {}", label(task), task.title());
    let mut rows: Vec<(String, String)> = vec![
        ("url".into(), task.url.clone()),
        ("page id".into(), task.id.to_string()),
    ];
    if task.in_trash {
        rows.push(("in trash".into(), "yes".into()));
    }
    for (name, property) in &task.properties {
        if matches!(property.value, PropertyValue::Title(_)) {
            continue;
        }
        let shown = property.value.display();
        if !shown.is_empty() {
            rows.push((name.clone(), shown));
        }
    }
    let width = rows
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    for (name, value) in rows {
        let value = value.replace('\n', " ");
        let value = if value.chars().count() > 120 {
            format!("{}…", value.chars().take(119).collect::<String>())
        } else {
            value
        };
        out!("  {name:<width$}  {value}");
    }
    out!();
    if content.is_empty() {
        out!("(the page has no text)");
        return;
    }
    out!("Page content:");
    for block in content {
        for line in block.text.lines() {
            out!("  {line}");
        }
    }
}
