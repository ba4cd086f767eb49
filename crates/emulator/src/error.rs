//! Genesys-style error answers (`ErrorBody`) and the emulator's own error type.

use axum::response::{IntoResponse, Response};
use axum::Json;
use guest_chat_model::ErrorBody;
use http::{HeaderName, HeaderValue, StatusCode};
use std::collections::BTreeMap;

/// Errors of the emulator's library API (start, control surface, configuration).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// Binding or serving failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A configuration file or value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An agent script could not be parsed.
    #[error("agent script line {line}: {message}")]
    Script {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// The TLS certificate or key is unusable (invalid PEM, key not matching the certificate),
    /// or the self-signed certificate could not be generated.
    #[error("TLS: {0}")]
    Tls(String),
    /// The RSA signing key could not be generated.
    #[error("key generation failed: {0}")]
    Key(String),
    /// No conversation with that id.
    #[error("conversation {0} not found")]
    NotFound(String),
    /// The conversation (or member) is in a state that does not permit the action.
    #[error("{0}")]
    State(String),
    /// The emulator was shut down while waiting.
    #[error("the emulator is shut down")]
    Shutdown,
}

/// Marker left in a response's extensions so the outer layer can fill `contextId`.
#[derive(Debug, Clone)]
pub(crate) struct ErrorMarker(pub ErrorBody);

/// An HTTP error answer with a Genesys `ErrorBody`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub body: Box<ErrorBody>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// The status and the error body (the request-body checks without a server).
    pub(crate) fn into_parts(self) -> (u16, Box<ErrorBody>) {
        (self.status.as_u16(), self.body)
    }

    pub(crate) fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: Box::new(ErrorBody::new(status, code, message)),
            headers: Vec::new(),
        }
    }

    /// Chat-service style: `message` is a short title, `messageParams.message` the detail.
    pub(crate) fn chat(status: u16, code: &str, title: &str, detail: &str) -> Self {
        let mut e = ApiError::new(status, code, title);
        e.body.message_with_params = Some(title.to_owned());
        let mut params = BTreeMap::new();
        params.insert("message".to_owned(), detail.to_owned());
        e.body.message_params = Some(params);
        e
    }

    pub(crate) fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        let _ = message.into();
        ApiError::new(
            400,
            "bad.request",
            "The request could not be understood by the server due to malformed syntax.",
        )
    }

    pub(crate) fn bad_request_detail(detail: impl Into<String>) -> Self {
        let mut e = ApiError::bad_request("");
        let mut params = BTreeMap::new();
        params.insert("detail".to_owned(), detail.into());
        e.body.message_params = Some(params);
        e
    }

    pub(crate) fn constraint(message: impl Into<String>) -> Self {
        ApiError::new(400, "constraint.validation", message)
    }

    pub(crate) fn invalid_query(value: &str, param: &str, allowed: &str) -> Self {
        ApiError::new(
            400,
            "invalid.query.param.value",
            format!("Value [{value}] is not valid for parameter [{param}]. Allowable values are: {allowed}"),
        )
    }

    pub(crate) fn conversation_state() -> Self {
        ApiError::chat(
            400,
            "chat.error.conversation.state",
            "Conversation State",
            "The conversation is not active",
        )
    }

    pub(crate) fn member_state() -> Self {
        ApiError::chat(
            400,
            "chat.error.member.state",
            "Member State",
            "The conversation member is not connected",
        )
    }

    pub(crate) fn not_authorized() -> Self {
        ApiError::new(
            403,
            "not.authorized",
            "You are not authorized to perform the requested action.",
        )
    }

    pub(crate) fn not_found() -> Self {
        ApiError::new(404, "not.found", "The requested resource was not found.")
    }

    pub(crate) fn chat_not_found(message: &str) -> Self {
        ApiError::new(404, "chat.error.not.found", message)
    }

    pub(crate) fn too_large(max: usize) -> Self {
        // The unread rest of the body makes the connection unusable, so say it will close:
        // a keep-alive client (node's agent) would otherwise reuse it and fail with EPIPE.
        ApiError::new(
            413,
            "request.entity.too.large",
            format!("The request is over the size limit. Maximum bytes: {max}"),
        )
        .header(http::header::CONNECTION, HeaderValue::from_static("close"))
    }

    pub(crate) fn unsupported_media() -> Self {
        ApiError::new(
            415,
            "unsupported.media.type",
            "Unsupported Media Type - Unsupported or incorrect media type, such as an incorrect Content-Type value in the header.",
        )
    }

    pub(crate) fn service_unavailable() -> Self {
        ApiError::new(
            503,
            "service.unavailable",
            "Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance).",
        )
    }

    pub(crate) fn from_emulator(e: &EmulatorError) -> Self {
        match e {
            EmulatorError::NotFound(_) => ApiError::not_found(),
            EmulatorError::State(m) => ApiError::chat(
                400,
                "chat.error.conversation.state",
                "Conversation State",
                m,
            ),
            EmulatorError::Shutdown => ApiError::service_unavailable(),
            other => ApiError::new(400, "bad.request", other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(&self.body)).into_response();
        for (k, v) in self.headers {
            resp.headers_mut().insert(k, v);
        }
        resp.extensions_mut().insert(ErrorMarker(*self.body));
        resp
    }
}
