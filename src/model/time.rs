//! Time as the mirror and Notion write it: RFC 3339 in UTC with milliseconds.

use chrono::{DateTime, SecondsFormat, Utc};

/// Timestamps the way Notion writes them (and the mirror stores them).
pub fn iso(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A stored or Notion timestamp, in UTC; `None` when it is not RFC 3339.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trips_with_milliseconds_in_utc() {
        let time = parse_time("2026-07-10T09:30:00.123+02:00").unwrap();
        assert_eq!(iso(time), "2026-07-10T07:30:00.123Z");
        assert_eq!(parse_time(&iso(time)), Some(time));
        assert_eq!(parse_time("yesterday"), None);
    }
}
