//! Pacing and retry policy for Notion requests: one governor shared by every request of the
//! process, and the one function that decides whether a failed attempt is retried.
//!
//! The governor is a GCRA token bucket on `tokio::time`, so tests drive it with paused time (the
//! `governor` crate keeps its own clock, which paused tokio time cannot move).

use std::sync::Mutex;
use std::time::Duration;

use rand::RngExt;
use tokio::time::Instant;

/// Paces requests to an average rate with a small burst, and holds every request back after
/// Notion answers `Retry-After`.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    tolerance: Duration,
    state: Mutex<PacerState>,
}

#[derive(Debug)]
struct PacerState {
    /// When the bucket is next empty (GCRA's theoretical arrival time).
    theoretical_arrival: Instant,
    /// No request may start before this instant (set from `Retry-After`).
    held_until: Option<Instant>,
}

/// The client's default burst: one, so requests are always at least `1 / rate` apart. Notion
/// (and the simulator) allow a small burst at the same average rate; if the client used all of
/// it too, a request that reached the server faster than the one before it (latency jitter)
/// would be refused with 429. Spacing evenly leaves the server's burst as slack for jitter.
pub const DEFAULT_BURST: u32 = 1;

impl Pacer {
    /// A pacer for `requests_per_second` on average with bursts of up to `burst` requests.
    /// A rate of zero or less disables pacing (the simulator's benchmarks use that).
    pub fn new(requests_per_second: f64, burst: u32) -> Self {
        Self::with_interval(interval_of(requests_per_second), burst)
    }

    fn with_interval(interval: Duration, burst: u32) -> Self {
        Self {
            interval,
            tolerance: interval.saturating_mul(burst.saturating_sub(1)),
            state: Mutex::new(PacerState {
                theoretical_arrival: Instant::now(),
                held_until: None,
            }),
        }
    }

    /// Waits until a request may start, and books its slot.
    pub async fn acquire(&self) {
        loop {
            let Some(wait_until) = self.try_book(Instant::now()) else {
                return;
            };
            tokio::time::sleep_until(wait_until).await;
        }
    }

    /// Books a slot if one is free at `now`; otherwise says when to try again.
    fn try_book(&self, now: Instant) -> Option<Instant> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(held_until) = state.held_until {
            if now < held_until {
                return Some(held_until);
            }
            state.held_until = None;
        }
        if state.theoretical_arrival > now + self.tolerance {
            return Some(state.theoretical_arrival - self.tolerance);
        }
        state.theoretical_arrival = state.theoretical_arrival.max(now) + self.interval;
        None
    }

    /// Holds back every request (not only the one retried) until `delay` from now has passed.
    pub fn hold_for(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.held_until = Some(state.held_until.map_or(until, |held| held.max(until)));
        // After a hold, resume at the average rate rather than with a burst.
        state.theoretical_arrival = state.theoretical_arrival.max(until + self.tolerance);
    }
}

/// The longest gap between two requests a rate may ask for (a rate of one an hour).
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// The gap between requests at `requests_per_second`: zero (no pacing) for zero, negative or
/// not-a-number rates, at most [`MAX_INTERVAL`] for tiny ones. Never panics.
pub fn interval_of(requests_per_second: f64) -> Duration {
    if requests_per_second.is_nan() || requests_per_second <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(1.0 / requests_per_second)
        .map_or(MAX_INTERVAL, |interval| interval.min(MAX_INTERVAL))
}

/// The longest `Retry-After` honoured: a server asking for more is asked again after this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(900);

/// A `Retry-After` header value in seconds (Notion sends an integer; any number is read), or
/// `None` when it is not a usable number. Capped at [`MAX_RETRY_AFTER`]; never panics.
pub fn retry_after(text: &str) -> Option<Duration> {
    let seconds = text.trim().parse::<f64>().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some(
        Duration::try_from_secs_f64(seconds)
            .map_or(MAX_RETRY_AFTER, |delay| delay.min(MAX_RETRY_AFTER)),
    )
}

/// How a request may be repeated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// Reads: any transient failure is retried, including 500.
    Read,
    /// Writes that give the same result when repeated (setting properties).
    IdempotentWrite,
    /// Writes that must not be repeated blindly (appending blocks, creating pages): only
    /// failures that prove the request was not processed are retried; the caller checks the
    /// page (or looks for the created one) for the others.
    Append,
}

/// What went wrong with one attempt, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptFailure {
    /// Notion answered with this HTTP status.
    Status(u16),
    /// No connection could be made: nothing was sent.
    Connect,
    /// The request timed out or the connection broke after it was sent.
    Interrupted,
    /// A success status with a body that is not the expected JSON.
    MalformedBody,
}

/// The decision about a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Retry after the backoff delay.
    Backoff,
    /// Retry after Notion's `Retry-After` (or the backoff when it sent none), holding back every
    /// request of the process meanwhile.
    HoldAll,
    /// Do not retry: the failure is final.
    GiveUp,
    /// Do not retry blindly: the request may have been processed (non-idempotent writes only).
    Ambiguous,
}

/// The one place that decides what is retried (docs/notion-api.md, "Errors and limits").
pub fn decide(failure: AttemptFailure, kind: RequestKind) -> Decision {
    use AttemptFailure::*;
    match (failure, kind) {
        (Status(429 | 529), _) => Decision::HoldAll,
        (Connect, _) => Decision::Backoff,
        (Status(500), RequestKind::Read) => Decision::Backoff,
        // 409 conflict_error: "the transaction could not be completed ... try again"
        // (reference/status-codes). An append is checked on the page before it is tried again.
        (Status(409 | 502..=504) | Interrupted | MalformedBody, RequestKind::Append) => {
            Decision::Ambiguous
        }
        (Status(409 | 502..=504) | Interrupted | MalformedBody, _) => Decision::Backoff,
        (Status(_), _) => Decision::GiveUp,
    }
}

/// Retry limits and backoff shape.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// For commands a person waits for: the total time one request may take with its retries;
    /// past it the last error is the answer. `None` is the daemon's patience.
    pub deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            deadline: None,
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with jitter after the given failed attempt (1-based), capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(16);
        let ceiling = self
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        // "Equal jitter": at least half the delay, so retries never bunch up at zero.
        let half = ceiling / 2;
        let jitter = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(rand::rng().random_range(0..=jitter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_follow_notion_guidance() {
        use AttemptFailure::*;
        use Decision::*;
        use RequestKind::*;
        let cases = [
            (Status(429), Read, HoldAll),
            (Status(529), Append, HoldAll),
            (Status(500), Read, Backoff),
            (Status(500), IdempotentWrite, GiveUp),
            (Status(502), IdempotentWrite, Backoff),
            (Status(503), Read, Backoff),
            (Status(504), Append, Ambiguous),
            (Interrupted, Read, Backoff),
            (Interrupted, Append, Ambiguous),
            (Connect, Append, Backoff),
            (MalformedBody, Read, Backoff),
            (Status(400), Read, GiveUp),
            (Status(401), Read, GiveUp),
            (Status(404), Read, GiveUp),
            (Status(409), IdempotentWrite, Backoff),
            (Status(409), Read, Backoff),
            (Status(409), Append, Ambiguous),
        ];
        for (failure, kind, expected) in cases {
            assert_eq!(decide(failure, kind), expected, "{failure:?} {kind:?}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        for attempt in 1..=20 {
            let delay = policy.backoff(attempt);
            let ceiling =
                (policy.base_delay * 2u32.pow((attempt - 1).min(16))).min(policy.max_delay);
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "{attempt}: {delay:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn pacer_allows_a_burst_then_the_average_rate() {
        let pacer = Pacer::new(3.0, 3);
        let start = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..9 {
            pacer.acquire().await;
            starts.push((Instant::now() - start).as_millis());
        }
        // Three at once, then one every third of a second (timers round up to the millisecond).
        let expected = [0, 0, 0, 333, 666, 1000, 1333, 1666, 2000];
        for (started, expected) in starts.iter().zip(expected) {
            assert!(started.abs_diff(expected) <= 1, "{starts:?}");
        }
    }

    /// A server-side limiter as Notion's and the simulator's: GCRA at 3/s with a burst of 3.
    struct Server {
        theoretical_arrival: Instant,
    }

    impl Server {
        fn accepts(&mut self, arrival: Instant) -> bool {
            let interval = Duration::from_secs(1) / 3;
            if self.theoretical_arrival > arrival + interval * 2 {
                return false;
            }
            self.theoretical_arrival = self.theoretical_arrival.max(arrival) + interval;
            true
        }
    }

    #[tokio::test(start_paused = true)]
    async fn default_pacing_never_trips_a_server_limit_of_the_same_rate_despite_jitter() {
        // With a client burst of 3 the fourth request is refused here (the bench saw one 429).
        let pacer = Pacer::new(3.0, DEFAULT_BURST);
        let mut server = Server {
            theoretical_arrival: Instant::now(),
        };
        let mut refused = Vec::new();
        for i in 0..200u64 {
            pacer.acquire().await;
            // The way to the server takes 5 to 155 ms, varying from request to request (a
            // busy network, a slow previous answer).
            let latency = Duration::from_millis(155 - (i * 3 % 4) * 50);
            if !server.accepts(Instant::now() + latency) {
                refused.push(i);
            }
            tokio::time::sleep(latency + Duration::from_millis(5)).await;
        }
        assert!(refused.is_empty(), "refused: {refused:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn hold_delays_every_request() {
        let pacer = Pacer::new(3.0, 3);
        let start = Instant::now();
        pacer.hold_for(Duration::from_secs(2));
        pacer.acquire().await;
        pacer.acquire().await;
        assert!((Instant::now() - start).as_millis().abs_diff(2333) <= 1);
    }
}
