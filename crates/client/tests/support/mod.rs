//! Shared set-up of the emulator-driven SDK tests.
#![allow(dead_code)] // each test binary uses its own part

pub(crate) mod proxy;

use guest_chat_emulator::{AgentMode, Emulator, EmulatorHandle};
use purecloud_guest_chat_client::ApiClient;
use std::time::Duration;

/// An emulator with a fast agent, this heartbeat, and a rate limit tests never reach.
pub(crate) async fn emulator(agent: AgentMode, heartbeat: Duration) -> EmulatorHandle {
    Emulator::builder()
        .agent(agent)
        .agent_delay(Duration::from_millis(5))
        .heartbeat_interval(heartbeat)
        .rate_limit(10_000, Duration::from_secs(60))
        .start()
        .await
        .expect("emulator starts")
}

/// An emulator whose `agent` answers after 5 ms, otherwise as the builder sets it.
pub(crate) async fn quick_agent_emulator(agent: AgentMode) -> EmulatorHandle {
    Emulator::builder()
        .agent(agent)
        .agent_delay(Duration::from_millis(5))
        .start()
        .await
        .unwrap()
}

/// A client for that emulator, reading no configuration file.
pub(crate) fn client(emu: &EmulatorHandle) -> ApiClient {
    ApiClient::builder()
        .environment(emu.base_url().as_str())
        .no_config_file()
        .build()
        .expect("client builds")
}
