#![doc = include_str!("../../../README.md")]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod config;
pub mod logging;
pub mod region;
pub mod secret;

pub use config::Config;
pub use logging::{LogFormat, LogLevel, LoggerSettings};
pub use region::{Environment, InvalidEnvironment, Region};
pub use secret::Jwt;

/// The wire models, re-exported from `guest-chat-model`.
pub use guest_chat_model as model;
pub use guest_chat_model::*;
