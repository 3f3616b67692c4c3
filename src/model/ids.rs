//! Notion ids: parsing page, database and data source ids out of what users paste (ids with or
//! without dashes, `notion.so` / `app.notion.com` URLs), and the canonical dashed form.

use std::fmt;

/// A Notion object id (UUID), kept in the canonical lower-case dashed form.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct NotionId(String);

impl NotionId {
    /// Parses an id or a Notion URL.
    ///
    /// From a URL the id is the 32-hex run that ends a path segment (`.../Tasks-<32hex>`); the
    /// `?v=<32hex>` query parameter names a view, not the object, and is ignored.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(IdError::Empty);
        }
        if let Some(id) = Self::from_bare(trimmed) {
            return Ok(id);
        }
        if trimmed.contains("://") || trimmed.contains('/') {
            return Self::from_url(trimmed);
        }
        Err(IdError::NotAnId(trimmed.to_string()))
    }

    fn from_bare(candidate: &str) -> Option<Self> {
        let hex: String = candidate.chars().filter(|c| *c != '-').collect();
        let dashes_ok = !candidate.contains('-') || is_dashed_uuid(candidate);
        (dashes_ok && hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| Self::from_hex(&hex))
    }

    fn from_url(url: &str) -> Result<Self, IdError> {
        let without_fragment = url.split('#').next().unwrap_or(url);
        let path = without_fragment
            .split('?')
            .next()
            .unwrap_or(without_fragment);
        let path = path.split_once("://").map_or(path, |(_, rest)| rest);
        path.split('/')
            .skip(1) // the host
            .filter_map(|segment| {
                let tail = segment.rsplit('-').next().unwrap_or(segment);
                Self::from_bare(tail).or_else(|| Self::from_bare(segment))
            })
            .last()
            .ok_or_else(|| IdError::NoIdInUrl(url.to_string()))
    }

    fn from_hex(hex: &str) -> Self {
        let hex = hex.to_ascii_lowercase();
        Self(format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        ))
    }

    /// The canonical dashed form, as Notion returns it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a 128-bit number: a compact key for sets of many ids (a full scan's).
    pub fn key(&self) -> u128 {
        self.0
            .chars()
            .filter_map(|c| c.to_digit(16))
            .fold(0, |key, digit| (key << 4) | u128::from(digit))
    }

    /// The id a [`NotionId::key`] stands for.
    pub fn from_key(key: u128) -> Self {
        Self::from_hex(&format!("{key:032x}"))
    }

    /// The 32-hex form without dashes, as it appears in Notion URLs.
    pub fn compact(&self) -> String {
        self.0.replace('-', "")
    }
}

fn is_dashed_uuid(candidate: &str) -> bool {
    let groups: Vec<usize> = candidate.split('-').map(str::len).collect();
    groups == [8, 4, 4, 4, 12]
}

impl fmt::Display for NotionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a string is not a Notion id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("the id is empty")]
    Empty,
    #[error(
        "`{0}` is not a Notion id: expected 32 hexadecimal digits (with or without dashes) or a Notion URL"
    )]
    NotAnId(String),
    #[error(
        "no Notion id found in the URL `{0}`: copy the link of the page or database itself (the 32 hexadecimal digits at the end of its path)"
    )]
    NoIdInUrl(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    const DASHED: &str = "01234567-89ab-cdef-0123-456789abcdef";

    fn check(input: &str, expected: Result<&str, ()>) {
        let parsed = NotionId::parse(input);
        match expected {
            Ok(id) => assert_eq!(parsed.as_ref().map(NotionId::as_str), Ok(id), "{input}"),
            Err(()) => assert!(parsed.is_err(), "{input} parsed as {parsed:?}"),
        }
    }

    #[test]
    fn parses_ids_and_urls() {
        check("0123456789abcdef0123456789abcdef", Ok(DASHED));
        check(DASHED, Ok(DASHED));
        check("0123456789ABCDEF0123456789ABCDEF", Ok(DASHED));
        check(
            "https://www.notion.so/acme/Tasks-0123456789abcdef0123456789abcdef",
            Ok(DASHED),
        );
        check(
            "https://www.notion.so/acme/0123456789abcdef0123456789abcdef?v=fedcba9876543210fedcba9876543210",
            Ok(DASHED),
        );
        check(
            "https://app.notion.com/p/Fix-the-login-bug-0123456789abcdef0123456789abcdef",
            Ok(DASHED),
        );
        check(
            "www.notion.so/Tasks-0123456789abcdef0123456789abcdef#heading",
            Ok(DASHED),
        );
        check("", Err(()));
        check("Tasks", Err(()));
        check("0123456789abcdef", Err(()));
        check("0123-456789abcdef0123456789abcdef", Err(()));
        check("https://www.notion.so/acme/Tasks", Err(()));
        check(
            "https://www.notion.so/acme?v=0123456789abcdef0123456789abcdef",
            Err(()),
        );
    }

    #[test]
    fn compact_form_drops_dashes() {
        let id = NotionId::parse(DASHED).unwrap();
        assert_eq!(id.compact(), "0123456789abcdef0123456789abcdef");
    }
}
