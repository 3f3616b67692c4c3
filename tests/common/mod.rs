//! Shared test helpers: a simulator per test, a client pointed at it.
#![allow(dead_code)]

use secrecy::SecretString;
use tasksync::notion::pacing::RetryPolicy;
use tasksync::notion::{ApiVersion, ClientSettings, NotionClient};
use tasksync::simulator::{Simulator, SimulatorOptions};

/// A simulator on a free loopback port.
pub async fn simulator(options: SimulatorOptions) -> Simulator {
    Simulator::start(options, ([127, 0, 0, 1], 0).into())
        .await
        .expect("the simulator starts")
}

/// Client settings for a simulator: its token, the given version, no pacing, default retries.
pub fn settings(simulator: &Simulator, version: ApiVersion) -> ClientSettings {
    let mut settings = ClientSettings::new(
        simulator.base_url(),
        SecretString::from(simulator.token().to_string()),
    );
    settings.api_version = version;
    settings.requests_per_second = 0.0;
    settings.retry = RetryPolicy::default();
    settings
}

pub fn client(simulator: &Simulator, version: ApiVersion) -> NotionClient {
    NotionClient::new(settings(simulator, version)).expect("the client builds")
}

/// A simulator with `tasks` tasks and a client for it.
pub async fn setup(tasks: usize, version: ApiVersion) -> (Simulator, NotionClient) {
    let simulator = simulator(SimulatorOptions {
        tasks,
        ..SimulatorOptions::default()
    })
    .await;
    let client = client(&simulator, version);
    (simulator, client)
}

pub const QUERY: &str = "POST /v1/data_sources/{data_source_id}/query";
