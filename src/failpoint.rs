//! Pauses at named steps, for tests that SIGKILL the process at exactly that step.
//!
//! With `TASKSYNC_PAUSE_AT=NAME:INDEX` set, a debug build that reaches step `NAME` for the
//! `INDEX`th time it is asked about prints `paused at NAME:INDEX` on standard error and waits
//! until it is killed. Release builds compile the check away. Steps: `append-before-send`,
//! `append-accepted`, `append-recorded` (each with the batch index), `sync-claimed`,
//! `webhook-before-send`, `webhook-answered` (the endpoint answered, nothing recorded yet) and
//! `create-sent` (Notion created the page, nothing recorded yet), each with index 0.

/// Spins for ever without yielding if the test asked for this step
/// (`TASKSYNC_SPIN_AT=NAME:INDEX`): a job stuck in an endless loop, for the watchdog's test.
pub fn spin(step: &str, index: usize) {
    #[cfg(debug_assertions)]
    if std::env::var("TASKSYNC_SPIN_AT").is_ok_and(|wanted| wanted == format!("{step}:{index}")) {
        eprintln!("spinning at {step}:{index}");
        loop {
            std::hint::spin_loop();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = (step, index);
}

/// Pauses here if the test asked for this step.
pub fn pause(step: &str, index: usize) {
    #[cfg(debug_assertions)]
    if let Ok(wanted) = std::env::var("TASKSYNC_PAUSE_AT")
        && wanted == format!("{step}:{index}")
    {
        eprintln!("paused at {wanted}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = (step, index);
}
