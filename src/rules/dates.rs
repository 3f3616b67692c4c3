//! Date arithmetic for templates: `add_days`, `add_weeks`, `add_months`, `add_workdays` and
//! `next_weekday` filters over what a date property renders (`2026-07-10`, an ISO date-time, or a
//! range `start → end`, whose start counts). A date stays a date and a date-time keeps its time
//! and offset; an empty value stays empty, so a task without a due date makes a follow-up without
//! one.

use chrono::{DateTime, Datelike, Duration, FixedOffset, Months, NaiveDate, Weekday};

/// A date as a template gives it.
enum When {
    Day(NaiveDate),
    Instant(DateTime<FixedOffset>),
}

impl When {
    fn parse(text: &str) -> Result<Option<Self>, String> {
        // A range renders as `start → end`: its start is the date.
        let text = text.split('→').next().unwrap_or_default().trim();
        if text.is_empty() {
            return Ok(None);
        }
        if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Ok(Some(Self::Day(day)));
        }
        DateTime::parse_from_rfc3339(text)
            .map(|instant| Some(Self::Instant(instant)))
            .map_err(|_| format!("`{text}` is not a date (2026-07-10) or an ISO date-time"))
    }

    fn day(&self) -> NaiveDate {
        match self {
            Self::Day(day) => *day,
            Self::Instant(instant) => instant.date_naive(),
        }
    }

    /// The same kind of value on another day (a date-time keeps its time of day and offset).
    fn on(&self, day: NaiveDate) -> String {
        match self {
            Self::Day(_) => day.to_string(),
            Self::Instant(instant) => {
                let moved = day.and_time(instant.time());
                match moved.and_local_timezone(*instant.offset()).single() {
                    Some(instant) => instant.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    None => day.to_string(),
                }
            }
        }
    }
}

fn error(message: String) -> minijinja::Error {
    minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, message)
}

/// Applies `change` to the day of `value`; an empty value stays empty.
fn shift(
    value: &str,
    change: impl Fn(NaiveDate) -> Option<NaiveDate>,
) -> Result<String, minijinja::Error> {
    let Some(when) = When::parse(value).map_err(error)? else {
        return Ok(String::new());
    };
    let day =
        change(when.day()).ok_or_else(|| error(format!("`{value}` moved out of the calendar")))?;
    Ok(when.on(day))
}

fn bounded(amount: i64, unit: &str) -> Result<i64, minijinja::Error> {
    if amount.abs() > 100 * 366 {
        return Err(error(format!(
            "{amount} {unit} is too far: at most 100 years"
        )));
    }
    Ok(amount)
}

/// `{{ task.Due | add_days(7) }}`
pub fn add_days(value: String, days: i64) -> Result<String, minijinja::Error> {
    let days = bounded(days, "days")?;
    shift(&value, |day| day.checked_add_signed(Duration::days(days)))
}

/// `{{ task.Due | add_weeks(1) }}`
pub fn add_weeks(value: String, weeks: i64) -> Result<String, minijinja::Error> {
    let weeks = bounded(weeks, "weeks")?;
    shift(&value, |day| day.checked_add_signed(Duration::weeks(weeks)))
}

/// `{{ task.Due | add_months(1) }}`: the same day of the month, or the month's last day when it
/// is shorter (January 31 + 1 month = February 28 or 29).
pub fn add_months(value: String, months: i64) -> Result<String, minijinja::Error> {
    let months = bounded(months, "months")?;
    let count = Months::new(u32::try_from(months.unsigned_abs()).unwrap_or(u32::MAX));
    shift(&value, |day| {
        if months >= 0 {
            day.checked_add_months(count)
        } else {
            day.checked_sub_months(count)
        }
    })
}

/// `{{ task.Due | add_workdays(3) }}`: Monday to Friday only; from a weekend day, the count
/// starts on the next Monday.
pub fn add_workdays(value: String, days: i64) -> Result<String, minijinja::Error> {
    let days = bounded(days, "workdays")?;
    shift(&value, |mut day| {
        let step = if days >= 0 { 1 } else { -1 };
        let mut left = days.abs();
        while left > 0 {
            day = day.checked_add_signed(Duration::days(step))?;
            if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                left -= 1;
            }
        }
        Some(day)
    })
}

/// `{{ task.Due | next_weekday("monday") }}`: the first such weekday after the date.
pub fn next_weekday(value: String, weekday: String) -> Result<String, minijinja::Error> {
    let wanted: Weekday = weekday
        .trim()
        .parse()
        .map_err(|_| error(format!("`{weekday}` is not a weekday (monday … sunday)")))?;
    shift(&value, |day| {
        let ahead = (7 + i64::from(wanted.num_days_from_monday())
            - i64::from(day.weekday().num_days_from_monday()))
            % 7;
        let ahead = if ahead == 0 { 7 } else { ahead };
        day.checked_add_signed(Duration::days(ahead))
    })
}

/// Registers the date filters.
pub fn register(environment: &mut minijinja::Environment<'static>) {
    environment.add_filter("add_days", add_days);
    environment.add_filter("add_weeks", add_weeks);
    environment.add_filter("add_months", add_months);
    environment.add_filter("add_workdays", add_workdays);
    environment.add_filter("next_weekday", next_weekday);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(result: Result<String, minijinja::Error>) -> String {
        result.unwrap()
    }

    #[test]
    fn dates_move_by_days_weeks_months_and_workdays() {
        assert_eq!(ok(add_days("2026-12-30".into(), 7)), "2027-01-06");
        assert_eq!(ok(add_days("2026-03-01".into(), -1)), "2026-02-28");
        assert_eq!(ok(add_weeks("2026-12-02".into(), 1)), "2026-12-09");
        assert_eq!(ok(add_months("2026-01-31".into(), 1)), "2026-02-28");
        assert_eq!(ok(add_months("2028-01-31".into(), 1)), "2028-02-29");
        assert_eq!(ok(add_months("2026-03-31".into(), -1)), "2026-02-28");
        // Friday + 1 workday = Monday; Saturday + 1 = Monday.
        assert_eq!(ok(add_workdays("2026-12-04".into(), 1)), "2026-12-07");
        assert_eq!(ok(add_workdays("2026-12-05".into(), 1)), "2026-12-07");
        assert_eq!(ok(add_workdays("2026-12-07".into(), -1)), "2026-12-04");
        // Wednesday → next Monday; Monday → the Monday after.
        assert_eq!(
            ok(next_weekday("2026-12-02".into(), "monday".into())),
            "2026-12-07"
        );
        assert_eq!(
            ok(next_weekday("2026-12-07".into(), "Monday".into())),
            "2026-12-14"
        );
    }

    #[test]
    fn times_ranges_and_empty_values() {
        assert_eq!(
            ok(add_days("2026-12-02T09:30:00.000+01:00".into(), 7)),
            "2026-12-09T09:30:00.000+01:00"
        );
        assert_eq!(
            ok(add_days("2026-12-02 → 2026-12-04".into(), 1)),
            "2026-12-03"
        );
        assert_eq!(ok(add_days(String::new(), 7)), "");
        assert!(add_days("soon".into(), 1).is_err());
        assert!(add_days("2026-12-02".into(), 1_000_000).is_err());
        assert!(next_weekday("2026-12-02".into(), "someday".into()).is_err());
    }
}
