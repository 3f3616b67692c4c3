//! `.env`: variables for the environment (an already-set variable wins), read before anything
//! else. A line that does not parse is named by its file, line number and variable, never by its
//! text: it may hold a secret, and stderr goes to cron mails and the journal.

use std::path::Path;

/// Loads `path` into the environment: `Ok(true)` when it was read, `Ok(false)` when there is no
/// such file and none was asked for (`explicit`); otherwise a message safe to print.
pub fn load(path: &Path, explicit: bool) -> Result<bool, String> {
    match dotenvy::from_path(path) {
        Ok(()) => Ok(true),
        Err(dotenvy::Error::Io(error))
            if error.kind() == std::io::ErrorKind::NotFound && !explicit =>
        {
            Ok(false)
        }
        Err(dotenvy::Error::LineParse(text, _)) => {
            let content = std::fs::read_to_string(path).unwrap_or_default();
            Err(unparsed_line(path, &content, &text))
        }
        Err(error) => Err(format!("cannot read {}: {error}", path.display())),
    }
}

/// The message for a line that does not parse: `text` is what the parser held (the line, or
/// from an unclosed quote to the end of the file), `content` the whole file.
fn unparsed_line(path: &Path, content: &str, text: &str) -> String {
    // The parser holds the line, or only the part it failed in (a bad escape): the first line of
    // the file that holds it.
    let first = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r');
    let found = content
        .lines()
        .enumerate()
        .find(|(_, line)| !first.is_empty() && line.contains(first));
    let number = found.map_or_else(String::new, |(index, _)| format!(" line {}", index + 1));
    let line = found.map_or("", |(_, line)| line).trim_start();
    let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
    let name: String = line
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .take(64)
        .collect();
    let name = match name.is_empty() {
        true => String::new(),
        false => format!(" ({name})"),
    };
    format!(
        "cannot read {}:{number}{name} does not parse (an unclosed quote, a missing `=`, or a name with other characters than letters, digits and `_`); its text is not shown, as it may hold a secret: write it as NAME=value or NAME=\"value\"",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `content` as a `.env` and loads it; the message.
    fn refused(content: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, content).unwrap();
        load(&path, false).unwrap_err()
    }

    #[test]
    fn a_line_that_does_not_parse_is_named_never_shown() {
        let cases = [
            (
                "TASKSYNC_TEST_A=ok\nNOTION_TOKEN=\"ntn_S3CRET\n",
                " line 2 (NOTION_TOKEN)",
            ),
            ("SMTP_PASSWORD s3cretPW\n", " line 1 (SMTP_PASSWORD)"),
            (
                "# hooks\nexport HOOK_URL='https://hooks.example/S3CRET\n",
                " line 2 (HOOK_URL)",
            ),
            ("HOOK-URL=https://hooks.example/S3CRET\n", " line 1 (HOOK)"),
            (
                "HOOK_URL=\"https://hooks.example/S3CRET\\q\"\n",
                " line 1 (HOOK_URL)",
            ),
        ];
        for (content, named) in cases {
            let message = refused(content);
            assert!(
                message.contains(&format!(".env:{named} does not parse")),
                "{message}"
            );
            for secret in ["S3CRET", "s3cretPW", "ntn_"] {
                assert!(!message.contains(secret), "{message}");
            }
        }
    }

    #[test]
    fn a_missing_file_is_normal_unless_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        assert_eq!(load(&path, false), Ok(false));
        assert!(load(&path, true).unwrap_err().starts_with("cannot read "));
    }
}
