//! Frames the service sends down the socket (`ServerFrame`, dispatched on `class`).

use super::{
    BaseMessageType, BaseMessagingChannel, Direction, Extra, MessageContent, MessageEvent,
    NormalizedType, OriginatingEntity, Raw, Secret,
};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Number, Value};
use std::collections::BTreeMap;

/// Shyrka error codes carried by error frames (`class: "string"`) and error bodies.
pub mod codes {
    /// The feature is not available (for example attachments off).
    pub const FEATURE_UNAVAILABLE: i64 = 4000;
    /// The session expired: fatal for the session.
    pub const SESSION_EXPIRED: i64 = 4006;
    /// No session for this token: fatal for the session.
    pub const SESSION_NOT_FOUND: i64 = 4007;
    /// The message is too long: fails that message only.
    pub const MESSAGE_TOO_LONG: i64 = 4011;
    /// The custom attributes are too large: fails that message only.
    pub const CUSTOM_ATTRIBUTES_TOO_LARGE: i64 = 4013;
    /// A required parameter is missing.
    pub const MISSING_PARAMETER: i64 = 4020;
    /// Too many messages: fails that message only (in `TooManyRequestsErrorMessage`).
    pub const RATE_TOO_HIGH: i64 = 4029;
    /// An unexpected server error.
    pub const UNEXPECTED: i64 = 5000;

    /// True for the codes that end the session (the token is no longer usable).
    pub fn is_session_fatal(code: i64) -> bool {
        matches!(code, SESSION_EXPIRED | SESSION_NOT_FOUND)
    }

    /// True for the codes that fail only the request that caused them.
    pub fn is_message_level(code: i64) -> bool {
        matches!(
            code,
            MESSAGE_TOO_LONG | CUSTOM_ATTRIBUTES_TOO_LARGE | RATE_TOO_HIGH | 429
        )
    }
}

/// The envelope of a server frame (`BaseMessage`), without its `class`, which the
/// [`ServerFrame`] variant gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<B> {
    /// `response` (answers a request) or `message` (unsolicited).
    #[serde(rename = "type")]
    pub kind: BaseMessageType,
    /// HTTP-like status or Shyrka code (200 on success).
    pub code: i64,
    /// The body, typed by the class.
    pub body: B,
    /// The request's `tracingId`, copied by the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl<B> Envelope<B> {
    /// A `response` frame with code 200.
    pub fn response(body: B, tracing_id: Option<String>) -> Self {
        Envelope {
            kind: BaseMessageType::Response,
            code: 200,
            body,
            tracing_id,
            extra: Extra::new(),
        }
    }

    /// An unsolicited `message` frame with code 200.
    pub fn message(body: B) -> Self {
        Envelope {
            kind: BaseMessageType::Message,
            code: 200,
            body,
            tracing_id: None,
            extra: Extra::new(),
        }
    }

    /// The same frame with another code.
    pub fn with_code(mut self, code: i64) -> Self {
        self.code = code;
        self
    }
}

/// `FileType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileType {
    /// A MIME type or pattern (`*/*`, `image/png`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `FileUploadMode`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileUploadMode {
    /// Accepted types.
    pub file_types: Vec<FileType>,
    /// Largest file, in KB.
    #[serde(rename = "maxFileSizeKB")]
    pub max_file_size_kb: Number,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `AllowedMedia`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllowedMedia {
    /// What a guest may upload.
    pub inbound: FileUploadMode,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `SessionResponse`: the answer to `configureSession` (and to `closeSession`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    /// The session is open.
    pub connected: bool,
    /// False when the token resumed an existing conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_session: Option<bool>,
    /// Sends are refused (the agent ended a read-only conversation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// A previous conversation was cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleared_existing_session: Option<bool>,
    /// Attachments allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_media: Option<AllowedMedia>,
    /// File extensions refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_extensions: Option<Vec<String>>,
    /// Largest custom attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_custom_data_bytes: Option<Number>,
    /// Seconds left before the session expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<Number>,
    /// When the session expires (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_date: Option<Number>,
    /// The conversation was started by the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_started: Option<bool>,
    /// Copied tracing id (some frames carry it in the body too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `StructuredMessage`: a message (text, rich content, events), including the Inbound echo
/// of the guest's own sends and the reply to `echo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StructuredMessage {
    /// `Text`, `Structured`, `Event` or `Receipt`.
    #[serde(rename = "type")]
    pub kind: NormalizedType,
    /// Platform message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Inbound` (from the guest) or `Outbound` (agent, bot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Time, sender, custom attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<BaseMessagingChannel>,
    /// Rich content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<MessageContent>>,
    /// Events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<MessageEvent>>,
    /// String metadata (`correlationId`, `readOnly`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// `Bot` or `Human`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originating_entity: Option<OriginatingEntity>,
    /// Copied tracing id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl StructuredMessage {
    /// A message of this type with no other field set.
    pub fn new(kind: NormalizedType) -> Self {
        StructuredMessage {
            kind,
            id: None,
            direction: None,
            text: None,
            channel: None,
            content: None,
            events: None,
            metadata: None,
            originating_entity: None,
            tracing_id: None,
            extra: Extra::new(),
        }
    }
}

/// `JwtResponse`: the answer to `getJwt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtResponse {
    /// Bearer token for the REST history.
    pub jwt: Secret,
    /// When it expires (epoch seconds).
    pub exp: Number,
    /// Copied tracing id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `TooManyRequestsErrorMessage`: an `onMessage` over the rate limit (code 429).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TooManyRequestsErrorMessage {
    /// Seconds to wait before sending again.
    pub retry_after: i64,
    /// 4029.
    pub error_code: i64,
    /// Human-readable reason.
    pub error_message: String,
    /// Error name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Copied tracing id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// Other fields (`stack`), kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ConnectionClosedEvent`: another socket closed this one (`closeSession`, sign-in, limit).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionClosedEvent {
    /// Reason code (schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// Reason (`signedIn`), as the mobile client reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Copied tracing id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The empty body of `SessionExpiredEvent`, `SessionClearedEvent` and `LogoutEvent`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventBody {
    /// Copied tracing id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `PresignedUrlResponse`: where to upload (`onAttachment`) or download (`getAttachment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignedUrlResponse {
    /// The attachment.
    pub attachment_id: String,
    /// Headers to send with the upload.
    pub headers: BTreeMap<String, String>,
    /// The presigned URL.
    pub url: String,
    /// File name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<i64>,
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_type: Option<String>,
    /// Copied tracing id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `AttachmentDeletedResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentDeletedResponse {
    /// The attachment.
    pub attachment_id: String,
    /// Copied tracing id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `UploadSuccessEvent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadSuccessEvent {
    /// The attachment.
    pub attachment_id: String,
    /// Where it can be downloaded.
    pub download_url: String,
    /// When (ISO-8601).
    pub timestamp: String,
    /// Copied tracing id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `UploadFailureEvent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadFailureEvent {
    /// The attachment.
    pub attachment_id: String,
    /// Shyrka code (4001-4010).
    pub error_code: i64,
    /// Reason.
    pub error_message: String,
    /// When (ISO-8601).
    pub timestamp: String,
    /// Copied tracing id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One frame from the service, dispatched on its `class`.
///
/// `serde_json::from_str::<ServerFrame>(text)` fails only when `text` is not a JSON object;
/// any object decodes, to [`ServerFrame::Unknown`] when its class is not modelled or its
/// envelope or body does not fit the class.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // wire types, decoded one at a time
pub enum ServerFrame {
    /// `SessionResponse`.
    SessionResponse(Envelope<SessionResponse>),
    /// `StructuredMessage`: Inbound echoes, agent and bot messages, events, echo replies.
    Message(Envelope<StructuredMessage>),
    /// `JwtResponse`.
    Jwt(Envelope<JwtResponse>),
    /// `TooManyRequestsErrorMessage`.
    TooManyRequests(Envelope<TooManyRequestsErrorMessage>),
    /// class `string`: an error, its Shyrka or HTTP-like code in `code`, its text as body.
    Error(Envelope<String>),
    /// `SessionExpiredEvent`.
    SessionExpired(Envelope<EventBody>),
    /// `ConnectionClosedEvent`.
    ConnectionClosed(Envelope<ConnectionClosedEvent>),
    /// `SessionClearedEvent`.
    SessionCleared(Envelope<EventBody>),
    /// `LogoutEvent`.
    Logout(Envelope<EventBody>),
    /// `PresignedUrlResponse`.
    PresignedUrl(Envelope<PresignedUrlResponse>),
    /// `AttachmentDeletedResponse`.
    AttachmentDeleted(Envelope<AttachmentDeletedResponse>),
    /// `UploadSuccessEvent`.
    UploadSuccess(Envelope<UploadSuccessEvent>),
    /// `UploadFailureEvent`.
    UploadFailure(Envelope<UploadFailureEvent>),
    /// Any other frame, kept whole.
    Unknown {
        /// Its `class`, when it has a string one.
        class: Option<String>,
        /// Why a modelled class did not decode (`None`: the class is not modelled).
        error: Option<String>,
        /// The whole frame.
        raw: Raw,
    },
}

impl ServerFrame {
    /// The frame's `class`.
    pub fn class(&self) -> Option<&str> {
        Some(match self {
            ServerFrame::SessionResponse(_) => "SessionResponse",
            ServerFrame::Message(_) => "StructuredMessage",
            ServerFrame::Jwt(_) => "JwtResponse",
            ServerFrame::TooManyRequests(_) => "TooManyRequestsErrorMessage",
            ServerFrame::Error(_) => "string",
            ServerFrame::SessionExpired(_) => "SessionExpiredEvent",
            ServerFrame::ConnectionClosed(_) => "ConnectionClosedEvent",
            ServerFrame::SessionCleared(_) => "SessionClearedEvent",
            ServerFrame::Logout(_) => "LogoutEvent",
            ServerFrame::PresignedUrl(_) => "PresignedUrlResponse",
            ServerFrame::AttachmentDeleted(_) => "AttachmentDeletedResponse",
            ServerFrame::UploadSuccess(_) => "UploadSuccessEvent",
            ServerFrame::UploadFailure(_) => "UploadFailureEvent",
            ServerFrame::Unknown { class, .. } => return class.as_deref(),
        })
    }

    /// The frame's `tracingId`, when it has one.
    pub fn tracing_id(&self) -> Option<&str> {
        fn t<B>(e: &Envelope<B>) -> Option<&str> {
            e.tracing_id.as_deref()
        }
        match self {
            ServerFrame::SessionResponse(e) => t(e),
            ServerFrame::Message(e) => t(e),
            ServerFrame::Jwt(e) => t(e),
            ServerFrame::TooManyRequests(e) => t(e),
            ServerFrame::Error(e) => t(e),
            ServerFrame::SessionExpired(e)
            | ServerFrame::SessionCleared(e)
            | ServerFrame::Logout(e) => t(e),
            ServerFrame::ConnectionClosed(e) => t(e),
            ServerFrame::PresignedUrl(e) => t(e),
            ServerFrame::AttachmentDeleted(e) => t(e),
            ServerFrame::UploadSuccess(e) => t(e),
            ServerFrame::UploadFailure(e) => t(e),
            ServerFrame::Unknown { raw, .. } => raw.get("tracingId").and_then(Value::as_str),
        }
    }

    /// An error frame (class `string`) answering a request.
    pub fn error(code: i64, text: impl Into<String>, tracing_id: Option<String>) -> Self {
        ServerFrame::Error(Envelope::response(text.into(), tracing_id).with_code(code))
    }

    /// Decodes a frame already parsed as JSON; see the type's documentation.
    pub fn from_value(v: Value) -> Self {
        let class = v.get("class").and_then(Value::as_str).map(str::to_owned);
        fn de<B: for<'a> Deserialize<'a>>(v: &Value) -> Result<Envelope<B>, String> {
            let mut env = Envelope::<B>::deserialize(v).map_err(|e| e.to_string())?;
            env.extra.remove("class");
            Ok(env)
        }
        let decoded = match class.as_deref() {
            Some("SessionResponse") => de(&v).map(ServerFrame::SessionResponse),
            Some("StructuredMessage") => de(&v).map(ServerFrame::Message),
            Some("JwtResponse") => de(&v).map(ServerFrame::Jwt),
            Some("TooManyRequestsErrorMessage") => de(&v).map(ServerFrame::TooManyRequests),
            Some("string") => de(&v).map(ServerFrame::Error),
            Some("SessionExpiredEvent") => de(&v).map(ServerFrame::SessionExpired),
            Some("ConnectionClosedEvent") => de(&v).map(ServerFrame::ConnectionClosed),
            Some("SessionClearedEvent") => de(&v).map(ServerFrame::SessionCleared),
            Some("LogoutEvent") => de(&v).map(ServerFrame::Logout),
            Some("PresignedUrlResponse") => de(&v).map(ServerFrame::PresignedUrl),
            Some("AttachmentDeletedResponse") => de(&v).map(ServerFrame::AttachmentDeleted),
            Some("UploadSuccessEvent") => de(&v).map(ServerFrame::UploadSuccess),
            Some("UploadFailureEvent") => de(&v).map(ServerFrame::UploadFailure),
            _ => {
                return ServerFrame::Unknown {
                    class,
                    error: None,
                    raw: Raw(v),
                }
            }
        };
        decoded.unwrap_or_else(|error| ServerFrame::Unknown {
            class,
            error: Some(crate::redact::mask_jwts(&error).into_owned()),
            raw: Raw(v),
        })
    }
}

impl<'de> Deserialize<'de> for ServerFrame {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        if !v.is_object() {
            return Err(D::Error::custom("a server frame is a JSON object"));
        }
        Ok(ServerFrame::from_value(v))
    }
}

/// The serialised form of an envelope with its class.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WithClass<'a, B> {
    #[serde(rename = "type")]
    kind: &'a BaseMessageType,
    class: &'a str,
    code: i64,
    body: &'a B,
    #[serde(skip_serializing_if = "Option::is_none")]
    tracing_id: &'a Option<String>,
    #[serde(flatten)]
    extra: &'a Extra,
}

fn with_class<B: Serialize, S: Serializer>(
    s: S,
    class: &str,
    e: &Envelope<B>,
) -> Result<S::Ok, S::Error> {
    WithClass {
        kind: &e.kind,
        class,
        code: e.code,
        body: &e.body,
        tracing_id: &e.tracing_id,
        extra: &e.extra,
    }
    .serialize(s)
}

impl Serialize for ServerFrame {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let class = self.class().unwrap_or_default();
        match self {
            ServerFrame::SessionResponse(e) => with_class(s, class, e),
            ServerFrame::Message(e) => with_class(s, class, e),
            ServerFrame::Jwt(e) => with_class(s, class, e),
            ServerFrame::TooManyRequests(e) => with_class(s, class, e),
            ServerFrame::Error(e) => with_class(s, class, e),
            ServerFrame::SessionExpired(e)
            | ServerFrame::SessionCleared(e)
            | ServerFrame::Logout(e) => with_class(s, class, e),
            ServerFrame::ConnectionClosed(e) => with_class(s, class, e),
            ServerFrame::PresignedUrl(e) => with_class(s, class, e),
            ServerFrame::AttachmentDeleted(e) => with_class(s, class, e),
            ServerFrame::UploadSuccess(e) => with_class(s, class, e),
            ServerFrame::UploadFailure(e) => with_class(s, class, e),
            ServerFrame::Unknown { raw, .. } => raw.serialize(s),
        }
    }
}
