//! Requests a guest sends up the socket (`ClientRequest`, tagged by `action`).

use super::{
    BaseMessagingChannel, EventPresenceType, Extra, MessageContent, MessageEvent, NormalizedType,
    Secret, Status, HEALTH_CHECK_TRACING_ID,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `JourneyCustomer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JourneyCustomer {
    /// Customer id.
    pub id: String,
    /// Kind of id (`cookie`).
    pub id_type: String,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `JourneyCustomerSession`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyCustomerSession {
    /// Session id.
    pub id: String,
    /// Session type (`web`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `JourneyActionMap`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyActionMap {
    /// Action map id.
    pub id: String,
    /// Its version.
    pub version: i64,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `JourneyAction`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JourneyAction {
    /// Action id.
    pub id: String,
    /// Its action map.
    pub action_map: JourneyActionMap,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `JourneyContext` of a `configureSession`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JourneyContext {
    /// The customer.
    pub customer: JourneyCustomer,
    /// Their web session.
    pub customer_session: JourneyCustomerSession,
    /// The action that started the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggering_action: Option<JourneyAction>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ConfigureSessionRequest` (`configureSession`): the first request on every socket; the
/// same token resumes the conversation (`newSession: false`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigureSessionRequest {
    /// The session token the client generated (at most 2,048 characters).
    pub token: Secret,
    /// Copied into the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// The Messenger deployment.
    pub deployment_id: String,
    /// Start a new conversation on this token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_new: Option<bool>,
    /// Predictive-engagement context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey_context: Option<JourneyContext>,
    /// A resume token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_token: Option<Secret>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `oAuthParams`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthParams {
    /// The JWT from the OAuth code exchange.
    pub code: Secret,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ConfigureAuthenticatedSessionRequest` (`configureAuthenticatedSession`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigureAuthenticatedSessionRequest {
    /// The session token.
    pub token: Secret,
    /// Copied into the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// The Messenger deployment.
    pub deployment_id: String,
    /// The authentication code.
    pub data: OAuthParams,
    /// Start a new conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_new: Option<bool>,
    /// A resume token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_token: Option<Secret>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `IncomingNormalizedMessage`: the `message` of an `onMessage` or `echo` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncomingNormalizedMessage {
    /// `Text`, `Structured` or `Event`.
    #[serde(rename = "type")]
    pub kind: NormalizedType,
    /// The text (empty for a button response).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Rich content (button responses, attachments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<MessageContent>>,
    /// Events (typing, presence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<MessageEvent>>,
    /// String metadata, copied into the Inbound echo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Custom attributes (the nested placement the mobile SDK uses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<BaseMessagingChannel>,
    /// Message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl IncomingNormalizedMessage {
    fn empty(kind: NormalizedType) -> Self {
        IncomingNormalizedMessage {
            kind,
            text: None,
            content: None,
            events: None,
            metadata: None,
            channel: None,
            id: None,
            status: None,
            extra: Extra::new(),
        }
    }

    /// A `Text` message.
    pub fn text(text: impl Into<String>) -> Self {
        IncomingNormalizedMessage {
            text: Some(text.into()),
            ..Self::empty(NormalizedType::Text)
        }
    }

    /// An `Event` message with these events.
    pub fn events(events: Vec<MessageEvent>) -> Self {
        IncomingNormalizedMessage {
            events: Some(events),
            ..Self::empty(NormalizedType::Event)
        }
    }

    /// A quick-reply answer: `Text` with empty text and one `ButtonResponse`.
    pub fn quick_reply_response(text: impl Into<String>, payload: impl Into<String>) -> Self {
        IncomingNormalizedMessage {
            text: Some(String::new()),
            content: Some(vec![MessageContent::quick_reply_response(text, payload)]),
            ..Self::empty(NormalizedType::Text)
        }
    }
}

/// `SendMessageRequest` (`onMessage`): text, button responses, typing, presence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageRequest {
    /// The session token.
    pub token: Secret,
    /// Copied into the Inbound echo: how a client correlates a send with its echo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// The message.
    pub message: IncomingNormalizedMessage,
    /// Client time (ISO-8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Custom attributes (the top-level placement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<BaseMessagingChannel>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `SendEchoRequest` (`echo`): a health check answered with the same text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendEchoRequest {
    /// The session token.
    pub token: Secret,
    /// Copied into the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// Usually `Text` `ping`.
    pub message: IncomingNormalizedMessage,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GetJwtRequest` (`getJwt`): a short-lived JWT for the REST history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetJwtRequest {
    /// The session token.
    pub token: Secret,
    /// Copied into the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `CloseSessionRequest` (`closeSession`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseSessionRequest {
    /// The session token.
    pub token: Secret,
    /// Copied into the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// Close the token's other sockets too (they get `ConnectionClosedEvent`).
    pub close_all_connections: bool,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GenerateUploadUrlRequest` (`onAttachment`): asks for a presigned upload URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateUploadUrlRequest {
    /// The session token.
    pub token: Secret,
    /// Copied into the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// A client-chosen attachment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_id: Option<String>,
    /// File name.
    pub file_name: String,
    /// MIME type.
    pub file_type: String,
    /// Size in bytes.
    pub file_size: i64,
    /// MD5 of the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_md5: Option<String>,
    /// Failures as `GenerateUrlError` frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors_as_json: Option<bool>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GenerateDownloadUrlRequest` (`getAttachment`) and `DeleteAttachmentRequest`
/// (`deleteAttachment`): one attachment by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentRequest {
    /// The session token.
    pub token: Secret,
    /// Copied into the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// The attachment.
    pub attachment_id: String,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GetConfigurationRequest` (`getConfiguration`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConfigurationRequest {
    /// The session token.
    pub token: Secret,
    /// Copied into the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_id: Option<String>,
    /// The deployment.
    pub deployment_id: String,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Every request a guest sends, tagged by `action` (`RequestType`).
///
/// `serde_json::to_string` gives the wire frame; a frame with an unknown `action` or missing
/// required fields fails to decode with a message naming it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action")]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // wire types, decoded one at a time
pub enum ClientRequest {
    /// `configureSession`.
    #[serde(rename = "configureSession")]
    ConfigureSession(ConfigureSessionRequest),
    /// `configureAuthenticatedSession`.
    #[serde(rename = "configureAuthenticatedSession")]
    ConfigureAuthenticatedSession(ConfigureAuthenticatedSessionRequest),
    /// `onMessage`.
    #[serde(rename = "onMessage")]
    OnMessage(SendMessageRequest),
    /// `echo`.
    #[serde(rename = "echo")]
    Echo(SendEchoRequest),
    /// `getJwt`.
    #[serde(rename = "getJwt")]
    GetJwt(GetJwtRequest),
    /// `closeSession`.
    #[serde(rename = "closeSession")]
    CloseSession(CloseSessionRequest),
    /// `onAttachment`.
    #[serde(rename = "onAttachment")]
    OnAttachment(GenerateUploadUrlRequest),
    /// `getAttachment`.
    #[serde(rename = "getAttachment")]
    GetAttachment(AttachmentRequest),
    /// `deleteAttachment`.
    #[serde(rename = "deleteAttachment")]
    DeleteAttachment(AttachmentRequest),
    /// `getConfiguration`.
    #[serde(rename = "getConfiguration")]
    GetConfiguration(GetConfigurationRequest),
}

impl ClientRequest {
    /// `configureSession` for this token and deployment.
    pub fn configure_session(token: impl Into<Secret>, deployment_id: impl Into<String>) -> Self {
        ClientRequest::ConfigureSession(ConfigureSessionRequest {
            token: token.into(),
            tracing_id: None,
            deployment_id: deployment_id.into(),
            start_new: None,
            journey_context: None,
            resume_token: None,
            extra: Extra::new(),
        })
    }

    /// `onMessage` with this message.
    pub fn on_message(token: impl Into<Secret>, message: IncomingNormalizedMessage) -> Self {
        ClientRequest::OnMessage(SendMessageRequest {
            token: token.into(),
            tracing_id: None,
            message,
            time: None,
            channel: None,
            extra: Extra::new(),
        })
    }

    /// `onMessage` with a `Text` message.
    pub fn text(token: impl Into<Secret>, text: impl Into<String>) -> Self {
        Self::on_message(token, IncomingNormalizedMessage::text(text))
    }

    /// `onMessage` with a `Typing On` event.
    pub fn typing(token: impl Into<Secret>) -> Self {
        Self::on_message(
            token,
            IncomingNormalizedMessage::events(vec![MessageEvent::typing_on()]),
        )
    }

    /// `onMessage` with a presence event (`Join` to autostart, `Clear` to end).
    pub fn presence(token: impl Into<Secret>, kind: EventPresenceType) -> Self {
        Self::on_message(
            token,
            IncomingNormalizedMessage::events(vec![MessageEvent::presence(kind)]),
        )
    }

    /// The `echo` health check (`Text` `ping`, the mobile client's fixed tracing id).
    pub fn echo(token: impl Into<Secret>) -> Self {
        ClientRequest::Echo(SendEchoRequest {
            token: token.into(),
            tracing_id: Some(HEALTH_CHECK_TRACING_ID.to_owned()),
            message: IncomingNormalizedMessage::text("ping"),
            extra: Extra::new(),
        })
    }

    /// `getJwt`.
    pub fn get_jwt(token: impl Into<Secret>) -> Self {
        ClientRequest::GetJwt(GetJwtRequest {
            token: token.into(),
            tracing_id: None,
            extra: Extra::new(),
        })
    }

    /// `closeSession`.
    pub fn close_session(token: impl Into<Secret>, close_all_connections: bool) -> Self {
        ClientRequest::CloseSession(CloseSessionRequest {
            token: token.into(),
            tracing_id: None,
            close_all_connections,
            extra: Extra::new(),
        })
    }

    /// Sets the `tracingId`.
    pub fn with_tracing_id(mut self, id: impl Into<String>) -> Self {
        *self.tracing_id_mut() = Some(id.into());
        self
    }

    /// The wire `action`.
    pub fn action(&self) -> &'static str {
        match self {
            ClientRequest::ConfigureSession(_) => "configureSession",
            ClientRequest::ConfigureAuthenticatedSession(_) => "configureAuthenticatedSession",
            ClientRequest::OnMessage(_) => "onMessage",
            ClientRequest::Echo(_) => "echo",
            ClientRequest::GetJwt(_) => "getJwt",
            ClientRequest::CloseSession(_) => "closeSession",
            ClientRequest::OnAttachment(_) => "onAttachment",
            ClientRequest::GetAttachment(_) => "getAttachment",
            ClientRequest::DeleteAttachment(_) => "deleteAttachment",
            ClientRequest::GetConfiguration(_) => "getConfiguration",
        }
    }

    /// The session token.
    pub fn token(&self) -> &Secret {
        match self {
            ClientRequest::ConfigureSession(r) => &r.token,
            ClientRequest::ConfigureAuthenticatedSession(r) => &r.token,
            ClientRequest::OnMessage(r) => &r.token,
            ClientRequest::Echo(r) => &r.token,
            ClientRequest::GetJwt(r) => &r.token,
            ClientRequest::CloseSession(r) => &r.token,
            ClientRequest::OnAttachment(r) => &r.token,
            ClientRequest::GetAttachment(r) | ClientRequest::DeleteAttachment(r) => &r.token,
            ClientRequest::GetConfiguration(r) => &r.token,
        }
    }

    /// The `tracingId`, when set.
    pub fn tracing_id(&self) -> Option<&str> {
        match self {
            ClientRequest::ConfigureSession(r) => r.tracing_id.as_deref(),
            ClientRequest::ConfigureAuthenticatedSession(r) => r.tracing_id.as_deref(),
            ClientRequest::OnMessage(r) => r.tracing_id.as_deref(),
            ClientRequest::Echo(r) => r.tracing_id.as_deref(),
            ClientRequest::GetJwt(r) => r.tracing_id.as_deref(),
            ClientRequest::CloseSession(r) => r.tracing_id.as_deref(),
            ClientRequest::OnAttachment(r) => r.tracing_id.as_deref(),
            ClientRequest::GetAttachment(r) | ClientRequest::DeleteAttachment(r) => {
                r.tracing_id.as_deref()
            }
            ClientRequest::GetConfiguration(r) => r.tracing_id.as_deref(),
        }
    }

    fn tracing_id_mut(&mut self) -> &mut Option<String> {
        match self {
            ClientRequest::ConfigureSession(r) => &mut r.tracing_id,
            ClientRequest::ConfigureAuthenticatedSession(r) => &mut r.tracing_id,
            ClientRequest::OnMessage(r) => &mut r.tracing_id,
            ClientRequest::Echo(r) => &mut r.tracing_id,
            ClientRequest::GetJwt(r) => &mut r.tracing_id,
            ClientRequest::CloseSession(r) => &mut r.tracing_id,
            ClientRequest::OnAttachment(r) => &mut r.tracing_id,
            ClientRequest::GetAttachment(r) | ClientRequest::DeleteAttachment(r) => {
                &mut r.tracing_id
            }
            ClientRequest::GetConfiguration(r) => &mut r.tracing_id,
        }
    }
}
