//! Event-stream frames (docs/protocol.md section 7) and the typed [`ChatEvent`].

use crate::enums::MemberState;
use crate::models::{WebChatMessage, WebChatTyping};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;

/// The topic of heartbeat and pong frames.
pub const CHANNEL_METADATA_TOPIC: &str = "channel.metadata";
/// The body text of a heartbeat frame.
pub const HEARTBEAT_MESSAGE: &str = "WebSocket Heartbeat";
/// `metadata.type` of a message frame.
pub const TYPE_MESSAGE: &str = "message";
/// `metadata.type` of a typing-indicator frame.
pub const TYPE_TYPING: &str = "typing-indicator";
/// `metadata.type` of a member-change frame.
pub const TYPE_MEMBER_CHANGE: &str = "member-change";
/// Topic of the platform's maintenance warning, sent about a minute before the service
/// closes a socket (docs/protocol.md 7.11). It decodes as [`ChatEvent::Unknown`]; the SDK's
/// event stream reconnects when it sees it.
pub const SOCKET_CLOSING_TOPIC: &str = "v2.system.socket_closing";

/// The envelope of every frame: `{topicName, version, eventBody, metadata}`.
///
/// `version` and `metadata` are absent on `channel.metadata` frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventFrame<B> {
    /// `v2.conversations.chats.{id}.members|messages` or `channel.metadata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_name: Option<String>,
    /// The string `"2"` on conversation topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The event payload.
    pub event_body: B,
    /// Correlation id and event type; absent on channel frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<FrameMetadata>,
}

/// `metadata` of a conversation frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameMetadata {
    /// Differs on every event, even duplicates. Captures spell it `CorrelationId`;
    /// some clients `correlationId`: both are accepted, `CorrelationId` is written.
    #[serde(
        rename = "CorrelationId",
        alias = "correlationId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub correlation_id: Option<String>,
    /// `message`, `typing-indicator` or `member-change`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// `{ "id": ... }`, as conversations and members appear in event bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRef {
    /// The id.
    pub id: String,
}

/// The member of a member-change body: only `id` and `state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStateRef {
    /// The member id.
    pub id: String,
    /// Its new state.
    pub state: MemberState,
}

/// `eventBody` of a member-change frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberChangeBody {
    /// The conversation.
    pub conversation: IdRef,
    /// The member and its new state.
    pub member: MemberStateRef,
    /// When it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}

/// `eventBody` of a `channel.metadata` frame (heartbeat, pong).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelBody {
    /// `WebSocket Heartbeat` or `pong`.
    pub message: String,
}

/// One event from the guest chat event stream, decoded from a raw frame.
///
/// `serde_json::from_str::<ChatEvent>(frame)` never fails on a well-formed JSON
/// frame of a topic or type it does not know: that becomes [`ChatEvent::Unknown`].
/// It fails only on text that is not JSON, or on a known event whose body is
/// malformed (the error names the JSON path).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ChatEvent {
    /// A chat message, including join/leave notices (`bodyType`) and the echo of
    /// the guest's own messages.
    Message(WebChatMessage),
    /// A typing indicator (one-shot; there is no "stopped typing").
    TypingIndicator(WebChatTyping),
    /// A member's state changed (carries only ids and the state).
    MemberChange {
        /// The conversation.
        conversation_id: String,
        /// The member.
        member_id: String,
        /// Its new state.
        state: MemberState,
        /// When it changed.
        timestamp: Option<Timestamp>,
        /// The frame's correlation id (differs even on duplicates).
        correlation_id: Option<String>,
    },
    /// `channel.metadata` "WebSocket Heartbeat".
    Heartbeat,
    /// `channel.metadata` "pong", the answer to a `{"message":"ping"}`.
    Pong,
    /// Any other well-formed frame, kept whole.
    Unknown {
        /// `topicName`, when the frame has one.
        topic: Option<String>,
        /// `metadata.type`, when the frame has one.
        kind: Option<String>,
        /// The whole frame.
        raw: Value,
    },
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// JSON path of the offending value (`eventBody.timestamp`), empty when the text is not JSON.
    pub path: String,
    /// What was wrong.
    pub message: String,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "malformed event frame: {}", self.message)
        } else {
            write!(
                f,
                "malformed event frame at {}: {}",
                self.path, self.message
            )
        }
    }
}

impl std::error::Error for FrameError {}

/// The envelope as [`ChatEvent::from_frame`] reads it first: strings borrowed from the frame
/// where they hold no escapes, the body kept as raw text.
#[derive(Deserialize)]
struct BorrowedFrame<'a> {
    #[serde(rename = "topicName", borrow, default)]
    topic_name: Option<Cow<'a, str>>,
    #[serde(rename = "eventBody", borrow, default)]
    event_body: Option<&'a RawValue>,
    #[serde(borrow, default)]
    metadata: Option<&'a RawValue>,
}

/// `text` when it is a JSON object (its first non-blank character is `{`).
fn object(text: &str) -> Option<&str> {
    text.trim_start().starts_with('{').then_some(text)
}

#[derive(Deserialize)]
struct BorrowedMetadata<'a> {
    // Kept apart (not an alias): `from_value` prefers `CorrelationId` when both are present.
    #[serde(rename = "CorrelationId", borrow, default)]
    correlation_upper: Option<Cow<'a, str>>,
    #[serde(rename = "correlationId", borrow, default)]
    correlation_lower: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
}

impl BorrowedMetadata<'_> {
    /// As `from_value` reads it: `CorrelationId`, else `correlationId`.
    fn correlation_id(&self) -> Option<String> {
        self.correlation_upper
            .as_deref()
            .or(self.correlation_lower.as_deref())
            .map(str::to_owned)
    }
}

/// The envelope with the body decoded as `B` in the same pass.
#[derive(Deserialize)]
struct TypedFrame<'a, B> {
    #[serde(rename = "topicName", borrow, default)]
    topic_name: Option<Cow<'a, str>>,
    // Boxed: a message body is several hundred bytes, moved several times on the way out.
    #[serde(rename = "eventBody", default = "Option::default")]
    event_body: Option<Box<B>>,
    #[serde(borrow, default)]
    metadata: Option<Object<BorrowedMetadata<'a>>>,
}

/// A `T` read from a JSON object only: serde's derived structs also accept an array (fields
/// by position), which `from_value` never reads as metadata.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for ObjectVisitor<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(ObjectVisitor(std::marker::PhantomData))
            .map(Object)
    }
}

/// The `metadata.type` near the end of `frame` (`"type":"message"` as the service writes it),
/// when it is one of the three decoded directly.
fn kind_hint(frame: &str) -> Option<&'static str> {
    const KEY: &[u8] = b"\"type\":\"";
    let bytes = frame.as_bytes();
    let low = bytes.len().saturating_sub(80);
    let mut i = bytes.len();
    while i > low {
        i -= 1;
        if bytes[i] == b'"' && bytes[i..].starts_with(KEY) {
            let rest = &bytes[i + KEY.len()..];
            return [TYPE_MESSAGE, TYPE_TYPING, TYPE_MEMBER_CHANGE]
                .into_iter()
                .find(|kind| {
                    rest.len() > kind.len()
                        && rest.starts_with(kind.as_bytes())
                        && rest[kind.len()] == b'"'
                });
        }
    }
    None
}

/// Decodes `frame` with a `kind` body in one pass; `None` unless the frame really is a
/// conversation frame of that `kind` with a non-null body that decodes.
fn typed<'a, B: serde::de::DeserializeOwned>(
    frame: &'a str,
    kind: &str,
) -> Option<(Box<B>, BorrowedMetadata<'a>)> {
    let f: TypedFrame<'a, B> = serde_json::from_str(frame).ok()?;
    if f.topic_name
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(CHANNEL_METADATA_TOPIC))
    {
        return None;
    }
    let Object(metadata) = f.metadata?;
    if metadata.kind.as_deref() != Some(kind) {
        return None;
    }
    Some((f.event_body?, metadata))
}

#[derive(Deserialize)]
struct BorrowedChannelBody<'a> {
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

#[cfg(not(target_arch = "wasm32"))]
fn body_as<T: serde::de::DeserializeOwned>(body: &Value) -> Result<T, FrameError> {
    serde_path_to_error::deserialize(body).map_err(|e| FrameError {
        // The body itself has the empty path, which serde_path_to_error shows as ".".
        path: match e.path().to_string().as_str() {
            "." => "eventBody".to_owned(),
            p => format!("eventBody.{p}"),
        },
        message: e.inner().to_string(),
    })
}

/// In a browser, size first: without the path-tracking decoder (the path is `eventBody`;
/// serde's message still names a missing field or the type expected).
#[cfg(target_arch = "wasm32")]
fn body_as<T: serde::de::DeserializeOwned>(body: &Value) -> Result<T, FrameError> {
    T::deserialize(body).map_err(|e| FrameError {
        path: "eventBody".to_owned(),
        message: e.to_string(),
    })
}

impl ChatEvent {
    /// Decodes one raw text frame.
    ///
    /// Message, typing, member-change, heartbeat and pong frames are decoded straight from
    /// the text, borrowing the envelope's strings; anything else (unknown frames, malformed
    /// bodies, odd shapes such as a `null` body or repeated keys) goes through
    /// [`ChatEvent::from_value`], so the result is always the one `from_value` gives.
    pub fn from_frame(frame: &str) -> Result<ChatEvent, FrameError> {
        if let Some(event) = ChatEvent::decode_direct(frame) {
            return Ok(event);
        }
        let value: Value = serde_json::from_str(frame).map_err(|e| FrameError {
            path: String::new(),
            message: e.to_string(),
        })?;
        ChatEvent::from_value(value)
    }

    /// The fast path of [`ChatEvent::from_frame`]: `None` when the frame needs the general one.
    fn decode_direct(frame: &str) -> Option<ChatEvent> {
        // Serde's derived structs also accept arrays (fields by position); `from_value` reads
        // the envelope, its metadata and a channel body by key only, so those must be objects.
        let frame = object(frame)?;
        // `metadata` (which says how to read `eventBody`) comes last on the wire. When its
        // type shows near the end of the text, the body is decoded as that type in the same
        // pass; the parsed type is then checked, so a wrong guess only costs the slow path.
        let typed_event =
            match kind_hint(frame) {
                Some(TYPE_MESSAGE) => typed::<WebChatMessage>(frame, TYPE_MESSAGE)
                    .map(|(body, _)| ChatEvent::Message(*body)),
                Some(TYPE_TYPING) => typed::<WebChatTyping>(frame, TYPE_TYPING)
                    .map(|(body, _)| ChatEvent::TypingIndicator(*body)),
                Some(TYPE_MEMBER_CHANGE) => typed::<MemberChangeBody>(frame, TYPE_MEMBER_CHANGE)
                    .map(|(b, m)| ChatEvent::MemberChange {
                        conversation_id: b.conversation.id,
                        member_id: b.member.id,
                        state: b.member.state,
                        timestamp: b.timestamp,
                        correlation_id: m.correlation_id(),
                    }),
                _ => None,
            };
        if typed_event.is_some() {
            return typed_event;
        }
        let f: BorrowedFrame<'_> = serde_json::from_str(frame).ok()?;
        let body = f.event_body?.get();
        let topic = f.topic_name.as_deref();
        if topic.is_some_and(|t| t.eq_ignore_ascii_case(CHANNEL_METADATA_TOPIC)) {
            let b: BorrowedChannelBody<'_> = serde_json::from_str(object(body)?).ok()?;
            return match b.message.as_deref() {
                Some(m) if m.eq_ignore_ascii_case(HEARTBEAT_MESSAGE) => Some(ChatEvent::Heartbeat),
                Some(m) if m.eq_ignore_ascii_case("pong") => Some(ChatEvent::Pong),
                _ => None,
            };
        }
        let metadata: Option<BorrowedMetadata<'_>> = match f.metadata {
            Some(m) => Some(serde_json::from_str(object(m.get())?).ok()?),
            None => None,
        };
        let metadata = metadata.as_ref();
        match metadata.and_then(|m| m.kind.as_deref()) {
            Some(TYPE_MESSAGE) => serde_json::from_str(body).ok().map(ChatEvent::Message),
            Some(TYPE_TYPING) => serde_json::from_str(body)
                .ok()
                .map(ChatEvent::TypingIndicator),
            Some(TYPE_MEMBER_CHANGE) => {
                let b: MemberChangeBody = serde_json::from_str(body).ok()?;
                let correlation_id = metadata.and_then(BorrowedMetadata::correlation_id);
                Some(ChatEvent::MemberChange {
                    conversation_id: b.conversation.id,
                    member_id: b.member.id,
                    state: b.member.state,
                    timestamp: b.timestamp,
                    correlation_id,
                })
            }
            _ => None,
        }
    }

    /// Decodes a frame already parsed as JSON.
    pub fn from_value(value: Value) -> Result<ChatEvent, FrameError> {
        let topic = value
            .get("topicName")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let metadata = value.get("metadata");
        let kind = metadata
            .and_then(|m| m.get("type"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let correlation_id = metadata
            .and_then(|m| m.get("CorrelationId").or_else(|| m.get("correlationId")))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let body = value.get("eventBody");

        if topic
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(CHANNEL_METADATA_TOPIC))
        {
            let msg = body.and_then(|b| b.get("message")).and_then(Value::as_str);
            return Ok(match msg {
                Some(m) if m.eq_ignore_ascii_case(HEARTBEAT_MESSAGE) => ChatEvent::Heartbeat,
                Some(m) if m.eq_ignore_ascii_case("pong") => ChatEvent::Pong,
                _ => ChatEvent::Unknown {
                    topic,
                    kind,
                    raw: value,
                },
            });
        }

        let Some(body) = body else {
            return Ok(ChatEvent::Unknown {
                topic,
                kind,
                raw: value,
            });
        };
        match kind.as_deref() {
            Some(TYPE_MESSAGE) => Ok(ChatEvent::Message(body_as(body)?)),
            Some(TYPE_TYPING) => Ok(ChatEvent::TypingIndicator(body_as(body)?)),
            Some(TYPE_MEMBER_CHANGE) => {
                let b: MemberChangeBody = body_as(body)?;
                Ok(ChatEvent::MemberChange {
                    conversation_id: b.conversation.id,
                    member_id: b.member.id,
                    state: b.member.state,
                    timestamp: b.timestamp,
                    correlation_id,
                })
            }
            _ => Ok(ChatEvent::Unknown {
                topic,
                kind,
                raw: value,
            }),
        }
    }

    /// The message id, for [`ChatEvent::Message`].
    pub fn message_id(&self) -> Option<&str> {
        match self {
            ChatEvent::Message(m) => m.id.as_deref(),
            _ => None,
        }
    }

    /// The id of the member who caused the event (sender or changed member).
    pub fn member_id(&self) -> Option<&str> {
        match self {
            ChatEvent::Message(m) => m.sender.as_ref().and_then(|s| s.id.as_deref()),
            ChatEvent::TypingIndicator(t) => t.sender.as_ref().and_then(|s| s.id.as_deref()),
            ChatEvent::MemberChange { member_id, .. } => Some(member_id),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for ChatEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        ChatEvent::from_value(value).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for ChatEvent {
    type Err = FrameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChatEvent::from_frame(s)
    }
}
