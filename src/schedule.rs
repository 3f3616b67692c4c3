//! Schedules for the daemon: a plain interval (`"90s"`, `"5m"`) or a cron expression (5 fields,
//! or 6 with seconds first) in a time zone. Pure: "now" is a parameter.
//!
//! The next occurrence of a cron expression is computed afresh each time in the schedule's IANA
//! time zone (croner + chrono-tz), so `0 9 * * *` in Europe/Berlin is 09:00 local on both sides
//! of a daylight-saving change. (tokio-cron-scheduler keeps the UTC offset a job was created
//! with and drifts by an hour after a change: see docs/dependencies.md.)

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};

/// Longest interval a schedule may have; anything longer is a mistake (use cron for rare jobs).
pub const MAX_INTERVAL: Duration = Duration::from_secs(31 * 86_400);
/// Longest duration tasksync reads anywhere: a hundred years.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Parses a duration such as `"90s"`, `"5m"`, `"2h"` or `"1d"`, of at most a hundred years
/// (checked arithmetic: no value wraps around or panics).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_seconds: u64 = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    if unit_seconds == 0 || number.is_empty() {
        return Err(format!(
            "`{text}` is not a duration: write a whole number and a unit, such as \"90s\", \"5m\", \"2h\" or \"1d\""
        ));
    }
    number
        .parse::<u64>()
        .ok()
        .and_then(|amount| amount.checked_mul(unit_seconds))
        .map(Duration::from_secs)
        .filter(|duration| *duration <= MAX_DURATION)
        .ok_or_else(|| format!("`{text}` is longer than tasksync accepts (at most 100 years)"))
}

/// A duration in its largest whole unit, as the configuration writes it (`1d`, `90s`).
pub fn describe_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if seconds >= size && seconds.is_multiple_of(size) {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

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
        // A number and a unit is an interval; cron expressions have fields separated by spaces.
        let trimmed = text.trim();
        if trimmed.starts_with(|c: char| c.is_ascii_digit()) && !trimmed.contains(' ') {
            let interval = parse_duration(text)?;
            if interval.is_zero() {
                return Err(format!("`{text}`: an interval must be longer than zero"));
            }
            if interval > MAX_INTERVAL {
                return Err(format!(
                    "`{text}`: an interval is at most \"{}\" (use a cron expression for rarer jobs)",
                    describe_duration(MAX_INTERVAL)
                ));
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
            Self::Every(interval) => write!(f, "every {}", describe_duration(*interval)),
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
