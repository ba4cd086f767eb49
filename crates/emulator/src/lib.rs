//! A faithful local emulator of the retired Genesys Cloud guest chat API (ACD Web Chat v2):
//! the 11 REST operations, the WebSocket event stream, RS256 guest JWTs, rate limits,
//! scripted agents, and fault injection, plus an `/emulator/...` control API.
//!
//! ```no_run
//! # async fn demo() -> Result<(), guest_chat_emulator::EmulatorError> {
//! let emu = guest_chat_emulator::Emulator::builder().start().await?;
//! println!("{}", emu.base_url());
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod accept;
mod agent;
mod auth;
mod cli;
mod config;
mod control;
mod conv;
mod cors;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod handle;
mod jwt;
mod rest;
mod server;
mod state;
mod tls;
mod web_demo;
mod webmessaging;
mod ws;

pub use agent::{parse_script, AgentMode, ScriptStep};
pub use cli::{run, EmulatorArgs};
pub use config::{EmulatorConfig, Faults, RateLimitConfig};
pub use conv::{ConversationSnapshot, ConversationState, DropMode};
pub use error::EmulatorError;
pub use handle::EmulatorHandle;
pub use jwt::{ClaimData, Claims, ISSUER};
pub use server::{Emulator, EmulatorBuilder};
pub use tls::EmulatorTls;
pub use web_demo::WebDemo;
pub use webmessaging::{DeploymentSettings, WebMessaging, WebMessagingSession};
