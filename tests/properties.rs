//! Property tests: no configuration duration, server `Retry-After`, request rate or rule date
//! makes tasksync panic, and what is accepted stays within its documented bounds.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tasksync::notion::pacing::{MAX_INTERVAL, MAX_RETRY_AFTER, interval_of, retry_after};
use tasksync::rules::compile::DateRef;
use tasksync::schedule::{MAX_DURATION, Schedule, parse_duration};

proptest! {
    #[test]
    fn durations_parse_or_fail_without_panicking(
        number in "[0-9]{0,25}",
        unit in "(s|m|h|d|w|x|)",
        noise in ".{0,3}",
    ) {
        for text in [format!("{number}{unit}"), format!("{number}{unit}{noise}"), noise.clone()] {
            if let Ok(duration) = parse_duration(&text) {
                prop_assert!(duration <= MAX_DURATION, "{text}");
            }
            let _ = Schedule::parse(&text, chrono_tz::Tz::UTC);
        }
    }

    #[test]
    fn any_retry_after_is_honoured_within_its_cap(seconds in proptest::num::f64::ANY, text in ".{0,30}") {
        for value in [seconds.to_string(), format!("{seconds:e}"), text.clone()] {
            if let Some(delay) = retry_after(&value) {
                prop_assert!(delay <= MAX_RETRY_AFTER, "{value}");
            }
        }
    }

    #[test]
    fn any_rate_gives_a_bounded_interval(rate in proptest::num::f64::ANY) {
        prop_assert!(interval_of(rate) <= MAX_INTERVAL);
    }

    #[test]
    fn relative_dates_parse_or_fail_without_panicking(
        sign in "[+-]",
        number in "[0-9]{1,22}",
        unit in "[dwhmx]",
    ) {
        let _ = DateRef::parse(&format!("{sign}{number}{unit}"));
    }
}

#[test]
fn the_values_of_the_issue_are_refused_or_capped() {
    assert!(parse_duration("100000000d").is_err());
    assert!(parse_duration("213503982334602d").is_err());
    assert_eq!(retry_after("1e20"), Some(MAX_RETRY_AFTER));
    assert_eq!(retry_after("NaN"), None);
    assert_eq!(retry_after("-1"), None);
    assert_eq!(interval_of(1e-300), MAX_INTERVAL);
    assert!(DateRef::parse("+99999999999999d").is_err());
}
