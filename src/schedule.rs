//! Schedules for the daemon: a plain interval (`"90s"`, `"5m"`) or a cron expression (5 fields,
//! or 6 with seconds first) in a time zone. Pure: "now" is a parameter.
//!
//! The next occurrence of a cron expression is computed afresh each time in the schedule's IANA
//! time zone (croner + chrono-tz), so `0 9 * * *` in Europe/Berlin is 09:00 local on both sides
//! of a daylight-saving change. (tokio-cron-scheduler keeps the UTC offset a job was created
//! with and drifts by an hour after a change: see toolchain.md.)

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};

/// When a job runs.
#[derive(Clone, Debug)]
pub enum Schedule {
    Every(Duration),
    Cron {
        cron: Box<Cron>,
        zone: Tz,
        text: String,
    },
}

impl Schedule {
    /// Parses an interval or a cron expression; `zone` applies to cron expressions.
    pub fn parse(text: &str, zone: Tz) -> Result<Self, String> {
        if let Ok(interval) = crate::config::parse_duration(text) {
            if interval.is_zero() {
                return Err(format!("`{text}`: an interval must be longer than zero"));
            }
            return Ok(Self::Every(interval));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(text.trim())
            .map_err(|error| {
                format!("`{text}` is neither an interval (\"90s\", \"5m\", \"1h\") nor a cron expression (\"*/5 * * * *\", or 6 fields with seconds first): {error}")
            })?;
        Ok(Self::Cron {
            cron: Box::new(cron),
            zone,
            text: text.trim().to_string(),
        })
    }

    /// The first run strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Every(interval) => chrono::Duration::from_std(*interval)
                .ok()
                .map(|step| after + step),
            Self::Cron { cron, zone, .. } => cron
                .find_next_occurrence(&after.with_timezone(zone), false)
                .ok()
                .map(|next| next.with_timezone(&Utc)),
        }
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Every(interval) => write!(f, "every {}s", interval.as_secs()),
            Self::Cron { text, zone, .. } => write!(f, "cron \"{text}\" ({zone})"),
        }
    }
}

/// Parses an IANA time zone name (`"Europe/Berlin"`, `"UTC"`).
pub fn parse_zone(text: &str) -> Result<Tz, String> {
    text.trim()
        .parse::<Tz>()
        .map_err(|_| format!("`{text}` is not an IANA time zone: write e.g. \"UTC\", \"Europe/Berlin\" or \"America/New_York\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn next(schedule: &str, zone: &str, after: &str) -> String {
        let schedule = Schedule::parse(schedule, parse_zone(zone).unwrap()).unwrap();
        schedule.next_after(at(after)).unwrap().to_rfc3339()
    }

    #[test]
    fn intervals_and_cron_with_or_without_seconds() {
        assert_eq!(
            next("90s", "UTC", "2026-11-21T10:00:00Z"),
            "2026-11-21T10:01:30+00:00"
        );
        assert_eq!(
            next("*/5 * * * *", "UTC", "2026-11-21T10:01:00Z"),
            "2026-11-21T10:05:00+00:00"
        );
        assert_eq!(
            next("30 */5 * * * *", "UTC", "2026-11-21T10:01:00Z"),
            "2026-11-21T10:05:30+00:00"
        );
        assert!(
            Schedule::parse("every day", Tz::UTC)
                .unwrap_err()
                .contains("is neither an interval")
        );
        assert!(Schedule::parse("0s", Tz::UTC).is_err());
        assert!(parse_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn local_cron_keeps_wall_clock_time_across_daylight_saving_changes() {
        // 09:00 in Berlin: UTC+1 (CET) before 29 March 2026, UTC+2 (CEST) after, UTC+1 after 25 October.
        assert_eq!(
            next("0 9 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z"),
            "2026-03-28T08:00:00+00:00"
        );
        assert_eq!(
            next("0 9 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z"),
            "2026-03-29T07:00:00+00:00"
        );
        assert_eq!(
            next("0 9 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z"),
            "2026-10-25T08:00:00+00:00"
        );
        // New York changes on 8 March 2026: 09:00 is 14:00 UTC (EST), then 13:00 UTC (EDT).
        assert_eq!(
            next("0 9 * * *", "America/New_York", "2026-03-07T15:00:00Z"),
            "2026-03-08T13:00:00+00:00"
        );
        // 02:30 does not exist in Berlin on 29 March: the run is not lost.
        let skipped = next("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z");
        assert!(
            skipped.starts_with("2026-03-29T") || skipped.starts_with("2026-03-30T"),
            "{skipped}"
        );
    }
}
