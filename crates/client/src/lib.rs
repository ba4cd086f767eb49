#![doc = include_str!("../../../README.md")]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod api;
pub mod client;
pub mod config;
pub mod error;
pub mod logging;
pub mod region;
pub mod retry;
pub mod secret;

pub use api::{
    ApiResponse, GetMembersOptions, GetMessagesOptions, OperationSpec, WebChatApi, OPERATIONS,
};
pub use client::{ApiClient, ApiClientBuilder};
pub use config::Config;
pub use error::{ApiError, Error};
pub use logging::{LogFormat, LogLevel, LoggerSettings};
pub use region::{Environment, InvalidEnvironment, Region};
pub use retry::RetryPolicy;
pub use secret::Jwt;

/// The wire models, re-exported from `guest-chat-model`.
pub use guest_chat_model as model;
pub use guest_chat_model::*;
