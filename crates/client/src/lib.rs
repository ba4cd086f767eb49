#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod api;
pub mod client;
pub mod config;
pub mod error;
pub mod events;
pub mod logging;
pub mod region;
pub mod retry;
pub mod routes;
pub(crate) mod rt;
pub mod secret;
pub mod session;
pub(crate) mod transport;
pub mod webmessaging;

/// The longest wait the SDK ever sets up: a year. Every configured or server-given duration
/// that is added to a clock is capped here, so no value can overflow the clock (a panic).
pub(crate) const LONGEST_WAIT: std::time::Duration = std::time::Duration::from_secs(365 * 86_400);

pub use api::{
    ApiResponse, GetMembersOptions, GetMessagesOptions, OperationSpec, WebChatApi, OPERATIONS,
};
pub use client::{ApiClient, ApiClientBuilder};
pub use config::Config;
pub use error::{ApiError, Error};
pub use events::{CloseReason, EventStream, EventStreamOptions, StreamEvent};
pub use logging::{LogFormat, LogLevel, LoggerSettings};
pub use region::{Environment, InvalidEnvironment, Region};
pub use retry::RetryPolicy;
pub use secret::{mask_secrets, Jwt};
pub use session::{
    ChatOptions, ChatState, EndedBy, GuestChat, Member, SessionEvent, SessionEvents,
};

/// The wire models, re-exported from `guest-chat-model`.
pub use guest_chat_model as model;
pub use guest_chat_model::*;
