//! The faults the simulator can answer with: random (`--faults SPEC`) or scripted for the next
//! matching request.

use std::time::Duration;

/// A fault the simulator answers with instead of (or after) doing the work.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    /// An error status (409, 429, 500, 502, 503, 504, 529); 429 and 529 carry `Retry-After`.
    Status(u16),
    /// Wait this long, then answer normally.
    Slow(Duration),
    /// Drop the connection without an answer; the request is not processed.
    Drop,
    /// Process the request, then drop the connection: the client cannot know it succeeded.
    Lost,
    /// Process the request, then wait this long before answering.
    Stall(Duration),
    /// Answer 200 with a body that is not valid JSON; the request is not processed.
    Malformed,
    /// Answer this status with a proxy's HTML page instead of Notion's error body (what a
    /// reverse proxy or load balancer in between sends); the request is not processed.
    Proxy(u16),
    /// Answer an empty list that says `has_more` with the cursor `stuck`, whatever the cursor
    /// asked for: a broken server that would make a naive client loop for ever.
    StuckCursor,
}

/// Random faults: each request draws at most one, with these probabilities.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultSpec {
    pub faults: Vec<(Fault, f64)>,
}

impl std::str::FromStr for FaultSpec {
    type Err = String;

    /// `KIND:PROBABILITY,...` where KIND is 409, 429, 500, 502, 503, 504, 529, `drop`, `lost`,
    /// `malformed`, `proxy` (a proxy's 502 page), `slow` (`slow:0.1@1500` waits 1.5 s before answering; 1 s by default) or
    /// `stall` (processes the request, then waits; 30 s by default).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut faults = Vec::new();
        for part in text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            let (kind, rest) = part.split_once(':').ok_or_else(|| {
                format!("fault `{part}` should look like KIND:PROBABILITY, e.g. 503:0.05")
            })?;
            let (probability, detail) = rest
                .split_once('@')
                .map_or((rest, None), |(p, d)| (p, Some(d)));
            let probability: f64 = probability
                .parse()
                .ok()
                .filter(|p: &f64| (0.0..=1.0).contains(p))
                .ok_or_else(|| {
                    format!("fault `{part}`: the probability must be between 0 and 1")
                })?;
            let fault = match kind {
                "drop" => Fault::Drop,
                "lost" => Fault::Lost,
                "stall" => {
                    let millis = detail
                        .map_or(Ok(30_000), str::parse::<u64>)
                        .map_err(|_| format!("fault `{part}`: `@` takes milliseconds"))?;
                    Fault::Stall(Duration::from_millis(millis))
                }
                "malformed" => Fault::Malformed,
                "proxy" => Fault::Proxy(502),
                "stuck" => Fault::StuckCursor,
                "slow" => {
                    let millis = detail
                        .map_or(Ok(1000), str::parse::<u64>)
                        .map_err(|_| format!("fault `{part}`: `@` takes milliseconds"))?;
                    Fault::Slow(Duration::from_millis(millis))
                }
                code => match code.parse::<u16>() {
                    Ok(status @ (409 | 429 | 500 | 502 | 503 | 504 | 529)) => Fault::Status(status),
                    _ => {
                        return Err(format!(
                            "unknown fault `{kind}`: use 409, 429, 500, 502, 503, 504, 529, drop, lost, stall, malformed, proxy, stuck or slow"
                        ));
                    }
                },
            };
            faults.push((fault, probability));
        }
        let total: f64 = faults.iter().map(|(_, p)| p).sum();
        if total > 1.0 {
            return Err(format!(
                "fault probabilities add up to {total}, more than 1"
            ));
        }
        Ok(Self { faults })
    }
}

/// A fault for the next request whose `METHOD path` contains `matching` (every request if empty).
#[derive(Clone, Debug)]
pub struct ScriptedFault {
    pub matching: String,
    pub fault: Fault,
    /// `Retry-After` seconds for 429/529 (default 1).
    pub retry_after: Option<u64>,
}
