//! Wire models of the Web Messaging guest protocol, the WebSocket protocol that replaced
//! guest chat (the service's own name is "Shyrka"; its frame schema is titled `shyrka-chat`).
//!
//! - [`ClientRequest`]: every request a guest sends up the socket, tagged by `action`,
//!   serialising to the wire shape and round-tripping unknown fields;
//! - [`ServerFrame`]: any server text frame, decoded by its `class`
//!   (`serde_json::from_str::<ServerFrame>(frame)`); a class it does not model, or a body that
//!   does not fit, becomes [`ServerFrame::Unknown`] instead of an error;
//! - [`MessageContent`] and [`MessageEvent`]: the rich content (quick replies, buttons,
//!   cards, carousels, date and list pickers, attachments) and events (typing, presence) of a
//!   [`StructuredMessage`], each with an `Unknown` catch-all.
//!
//! Type and field names follow the schema. Secrets (the session token, the history JWT, OAuth
//! codes) are held in [`Secret`], whose `Debug` never shows them.

mod content;
mod frame;
mod request;

pub use content::*;
pub use frame::*;
pub use request::*;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A secret string of the protocol (session token, history JWT, OAuth code, resume token).
///
/// Serialises as the plain string; `Debug` prints `[REDACTED]`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself, for the wire or for storage the app controls.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Its length in characters (a session token may have at most 2,048).
    pub fn char_len(&self) -> usize {
        self.0.chars().count()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::redact::REDACTED)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

/// A JSON value kept whole by a catch-all variant. `Debug` masks JWT-shaped strings in it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Raw(pub Value);

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::redact::mask_jwts(&self.0.to_string()))
    }
}

impl std::ops::Deref for Raw {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.0
    }
}

/// Unknown fields of an object, kept so that what is decoded serialises back unchanged.
pub type Extra = serde_json::Map<String, Value>;

/// The longest session token the service accepts, in characters.
pub const MAX_TOKEN_CHARS: usize = 2048;
/// `onMessage` requests the service accepts per second and session.
pub const MESSAGES_PER_SECOND: u32 = 2;
/// The fixed `tracingId` of the official mobile client's `echo` health check.
pub const HEALTH_CHECK_TRACING_ID: &str = "SGVhbHRoQ2hlY2tNZXNzYWdlSWQ=";

/// Defines an open string enum of the protocol: exact (case-sensitive) wire values, with an
/// `Unknown(String)` variant that keeps any other value, so decoding never fails on it and
/// every value serialises back unchanged.
macro_rules! wm_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version does not know, kept as sent.
            Unknown(String),
        }

        impl $name {
            /// Every value this version knows, in schema order.
            pub const KNOWN: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(s) => s.as_str(),
                }
            }

            /// Parses a wire value; never fails.
            pub fn parse(s: &str) -> Self {
                match s {
                    $( $wire => $name::$variant, )+
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
                Ok($name::parse(&s))
            }
        }
    };
}
pub(crate) use wm_enum;

wm_enum! {
    /// `BaseMessageType`: the `type` of a server frame.
    BaseMessageType {
        /// Unsolicited (agent messages, events).
        Message => "message",
        /// The answer to a request.
        Response => "response",
    }
}

wm_enum! {
    /// `NormalizedType`: the `type` of a message.
    NormalizedType {
        /// Events only (typing, presence).
        Event => "Event",
        /// A plain message.
        Message => "Message",
        /// A delivery or read receipt.
        Receipt => "Receipt",
        /// Rich content (quick replies, cards...).
        Structured => "Structured",
        /// Text.
        Text => "Text",
    }
}

wm_enum! {
    /// `Direction`, seen from the platform: `Inbound` is from the guest.
    Direction {
        /// From the guest (the echo of the guest's own sends).
        Inbound => "Inbound",
        /// From an agent or a bot.
        Outbound => "Outbound",
    }
}

wm_enum! {
    /// `OriginatingEntity` of an outbound message.
    OriginatingEntity {
        /// A bot (an Architect flow).
        Bot => "Bot",
        /// A person.
        Human => "Human",
    }
}

wm_enum! {
    /// `ChannelType`.
    ChannelType {
        /// A private conversation.
        Private => "Private",
        /// A public one.
        Public => "Public",
    }
}

wm_enum! {
    /// `Status` of a message.
    Status {
        /// Delivered.
        Delivered => "Delivered",
        /// Failed.
        Failed => "Failed",
        /// Published.
        Published => "Published",
        /// Read.
        Read => "Read",
        /// Removed.
        Removed => "Removed",
        /// Sent.
        Sent => "Sent",
    }
}
