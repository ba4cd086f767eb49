//! Wire models of the Genesys Cloud guest chat API (ACD Web Chat v2).
//!
//! - [`models`]: the 21 models of the REST contract, with the swagger names;
//! - [`enums`]: their enums, open-ended (an unknown value is kept, not an error);
//! - [`Timestamp`]: `date-time` values in every shape the service uses;
//! - [`event`]: event-stream frames and the typed [`ChatEvent`];
//! - [`webmessaging`]: the frames of Web Messaging, the protocol that replaced guest chat.
//!
//! serde only: no runtime, no HTTP. Shared by the SDK, the emulator and the CLI.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

#[macro_use]
pub mod enums;
pub mod event;
mod helpers;
pub mod models;
pub mod redact;
pub mod timestamp;
pub mod webmessaging;

pub use enums::*;
pub use event::{ChatEvent, EventFrame, FrameError, FrameMetadata};
pub use models::*;
pub use timestamp::{Timestamp, TimestampError};

/// The largest message body the service accepts, in characters as the service (written in
/// Java) counts them: UTF-16 code units, so a character outside the Basic Multilingual Plane
/// (most emoji) counts twice. Measure with [`message_length`].
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// The length of a message body as the service counts it against [`MAX_MESSAGE_CHARS`]: UTF-16
/// code units (`"a😀"` is 3).
pub fn message_length(text: &str) -> usize {
    text.encode_utf16().count()
}
