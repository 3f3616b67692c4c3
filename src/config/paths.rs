//! Paths in the configuration as a shell would read them: `~` and `$NAME`.

use std::path::PathBuf;

/// A path as a shell would read it: a leading `~` is the home directory, `$NAME` and `${NAME}`
/// the environment's value (read once, left to right: a value is not expanded again). A
/// variable that is not set is an error: a mirror created under a directory literally named
/// `~` or `$HOME` is a surprise nobody wants.
pub fn expand_path(text: &str) -> Result<PathBuf, String> {
    let home = || {
        std::env::var("HOME")
            .ok()
            .filter(|home| !home.is_empty())
            .ok_or_else(|| {
                format!("`{text}` starts with ~, but HOME is not set: write the full path")
            })
    };
    let (mut expanded, mut rest) = match text.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => (home()?, rest),
        Some(_) => {
            return Err(format!(
                "`{text}`: only ~ and ~/ are understood (not ~user): write the full path"
            ));
        }
        None => (String::new(), text),
    };
    while let Some(at) = rest.find('$') {
        expanded.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, length) = match after.strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => return Err(format!("`{text}`: `${{` without its `}}`")),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        if name.is_empty() {
            return Err(format!(
                "`{text}`: a `$` without a variable name (write $NAME or ${{NAME}})"
            ));
        }
        let value =
            std::env::var(name).map_err(|_| format!("`{text}` names ${name}, which is not set"))?;
        expanded.push_str(&value);
        rest = &after[length..];
    }
    expanded.push_str(rest);
    Ok(PathBuf::from(expanded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_and_variables_expand_and_unknown_ones_are_refused() {
        let home = std::env::var("HOME").unwrap();
        assert_eq!(
            expand_path("~/x.db").unwrap(),
            PathBuf::from(format!("{home}/x.db"))
        );
        assert_eq!(expand_path("~").unwrap(), PathBuf::from(&home));
        assert_eq!(
            expand_path("$HOME/a/${HOME}b").unwrap(),
            PathBuf::from(format!("{home}/a/{home}b"))
        );
        assert_eq!(
            expand_path("plain/path.db").unwrap(),
            PathBuf::from("plain/path.db")
        );
        let unknown = expand_path("$TASKSYNC_SURELY_UNSET_VARIABLE/x").unwrap_err();
        assert!(
            unknown.contains("$TASKSYNC_SURELY_UNSET_VARIABLE, which is not set"),
            "{unknown}"
        );
        assert!(expand_path("~ada/x").unwrap_err().contains("not ~user"));
        assert!(
            expand_path("a/$/b")
                .unwrap_err()
                .contains("without a variable name")
        );
        assert!(expand_path("${HOME").unwrap_err().contains("without its"));
    }
}
