//! A low-level Web Messaging client: one socket, one session token, requests correlated by
//! `tracingId`.
//!
//! Web Messaging replaced guest chat. Every request goes up one WebSocket and every answer and
//! event comes down it (see `docs/web-messaging.md`). This module is the transport only. It
//! connects, configures or resumes a session, sends text (the `Inbound` echo is the
//! acknowledgement), answers quick replies, sends typing indicators, fetches the history JWT
//! and runs the `echo` health check. Everything else the service sends is handed out by
//! [`WebMessagingClient::next_frame`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), purecloud_guest_chat_client::webmessaging::WmError> {
//! use purecloud_guest_chat_client::webmessaging::*;
//! let token = SessionToken::generate();
//! let endpoint = Endpoint::from_base_url("http://127.0.0.1:8080")?;
//! let mut client = WebMessagingClient::connect(&endpoint, "my-deployment", ConnectOptions::default()).await?;
//! let session = client.configure(&token).await?;
//! let echo = client.send_text("Hello").await?;
//! println!("new session: {:?}, message id: {:?}", session.new_session, echo.id);
//! # Ok(()) }
//! ```

pub use guest_chat_model::webmessaging::*;

use crate::transport::{ws, ConnectError, Frame, Socket};
use std::collections::VecDeque;
use std::time::Duration;

/// The session token: the only credential of a Web Messaging conversation.
///
/// The client generates it; whoever holds it can read the conversation. Persist it (as a
/// secret) to resume later. `Debug` prints `[REDACTED]`, and it has no `Display`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionToken(Secret);

impl SessionToken {
    /// A new random token (a UUID v4, as the official clients use).
    pub fn generate() -> Self {
        SessionToken(Secret::new(uuid::Uuid::new_v4().to_string()))
    }

    /// A stored token; `Err` when empty or longer than 2,048 characters.
    pub fn from_stored(token: impl Into<String>) -> Result<Self, WmError> {
        let s = Secret::new(token.into());
        if s.char_len() == 0 || s.char_len() > MAX_TOKEN_CHARS {
            return Err(WmError::InvalidToken);
        }
        Ok(SessionToken(s))
    }

    /// The token itself, for storage the app controls.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    fn secret(&self) -> Secret {
        self.0.clone()
    }
}

/// Errors of the Web Messaging client. None of them contains the session token or a JWT.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WmError {
    /// The base URL is not `http(s)://` or `ws(s)://`.
    #[error("invalid Web Messaging URL: {0}")]
    InvalidUrl(String),
    /// A stored token is empty or longer than 2,048 characters.
    #[error("a session token has 1 to 2,048 characters")]
    InvalidToken,
    /// The service refused the WebSocket upgrade (403: origin or deployment not allowed).
    ///
    /// A browser hides the answer to a refused upgrade from the page: there, this error means
    /// that the socket failed to open although the server answers HTTP at its URL, and
    /// `status` is 0 (unknown).
    #[error("the WebSocket upgrade was refused{}", refused_status(*status))]
    UpgradeRefused {
        /// The HTTP status; 0 in a browser, which does not tell.
        status: u16,
    },
    /// The connection failed.
    #[error("WebSocket error: {0}")]
    Socket(String),
    /// The socket closed.
    #[error("the socket closed")]
    Closed,
    /// No answer in time.
    #[error("no answer to {action} within {after:?}")]
    Timeout {
        /// The request's action.
        action: &'static str,
        /// How long it waited.
        after: Duration,
    },
    /// The deployment does not allow this (its `config.json`: typing indicators off, or
    /// `conversationClear` disabled).
    #[error("the deployment does not allow {0}")]
    NotAllowed(&'static str),
    /// The REST side (deployment configuration, history) failed.
    #[error("{what} failed: {why}")]
    Rest {
        /// What was asked (`deployment configuration`, `history`).
        what: &'static str,
        /// Why (HTTP status or transport error; no token or JWT).
        why: String,
    },
    /// The conversation is over on this client (cleared, expired or disconnected).
    #[error("the conversation is over")]
    Ended,
    /// `configureSession` has not been sent on this socket.
    #[error("no session: call configure first")]
    NotConfigured,
    /// The service answered with an error frame.
    #[error("the service answered {code}: {message}")]
    Protocol {
        /// Shyrka or HTTP-like code (see [`codes`]).
        code: i64,
        /// The service's text.
        message: String,
    },
    /// Over the rate limit: wait `retry_after` before sending again.
    #[error("rate limited: retry after {retry_after:?}")]
    RateLimited {
        /// From the frame's `retryAfter`.
        retry_after: Duration,
    },
}

/// The `UpgradeRefused` message's tail: the status, when known.
fn refused_status(status: u16) -> String {
    if status == 0 {
        " (the browser does not tell the HTTP status)".to_owned()
    } else {
        format!(" with HTTP {status}")
    }
}

impl WmError {
    /// True when the session is gone (4006, 4007): a new token is needed.
    pub fn is_session_fatal(&self) -> bool {
        matches!(self, WmError::Protocol { code, .. } if codes::is_session_fatal(*code))
            || matches!(self, WmError::Ended)
    }

    /// True when only the one request failed (message too long, attributes too large, rate
    /// limited): the session goes on.
    pub fn is_message_level(&self) -> bool {
        matches!(self, WmError::RateLimited { .. })
            || matches!(self, WmError::Protocol { code, .. } if codes::is_message_level(*code))
    }
}

/// Where the socket is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `ws://host:port` or `wss://host`, without `/v1`.
    socket_base: String,
    /// `http://host:port` or `https://api.<domain>`: the REST history.
    api_base: String,
    /// Where the deployment's `config.json` lives (`https://api-cdn.<domain>`).
    config_base: String,
}

impl Endpoint {
    /// From a base URL: `http(s)://host:port` (the emulator serves both protocols on one
    /// port) or `ws(s)://host`.
    pub fn from_base_url(url: &str) -> Result<Self, WmError> {
        let url = url.trim().trim_end_matches('/');
        let socket_base = if let Some(rest) = url.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = url.strip_prefix("http://") {
            format!("ws://{rest}")
        } else if url.starts_with("wss://") || url.starts_with("ws://") {
            url.to_owned()
        } else {
            return Err(WmError::InvalidUrl(url.to_owned()));
        };
        let socket_base = socket_base.trim_end_matches("/v1").to_owned();
        let api_base = if let Some(rest) = socket_base.strip_prefix("wss://") {
            format!("https://{rest}")
        } else {
            format!("http://{}", socket_base.trim_start_matches("ws://"))
        };
        Ok(Endpoint {
            socket_base,
            config_base: api_base.clone(),
            api_base,
        })
    }

    /// The Genesys Cloud region with this domain (`mypurecloud.com`, `euw2.pure.cloud`...):
    /// `wss://webmessaging.<domain>`.
    pub fn region(domain: &str) -> Self {
        let domain = domain.trim().trim_matches('.');
        Endpoint {
            socket_base: format!("wss://webmessaging.{domain}"),
            api_base: format!("https://api.{domain}"),
            config_base: format!("https://api-cdn.{domain}"),
        }
    }

    /// The REST API base (`https://api.<domain>`, or the emulator's base URL).
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// The REST history URL (`GET`, with the `getJwt` bearer).
    pub fn history_url(&self, page_number: u32, page_size: u32) -> String {
        format!(
            "{}/api/v2/webmessaging/messages?pageNumber={page_number}&pageSize={page_size}",
            self.api_base
        )
    }

    /// The URL of a deployment's `config.json`.
    pub fn config_url(&self, deployment_id: &str) -> String {
        let id: String = url::form_urlencoded::byte_serialize(deployment_id.as_bytes()).collect();
        format!(
            "{}/webdeployments/v1/deployments/{id}/config.json",
            self.config_base
        )
    }

    /// The socket URL of a deployment.
    pub fn socket_url(&self, deployment_id: &str) -> String {
        let id: String = url::form_urlencoded::byte_serialize(deployment_id.as_bytes()).collect();
        format!("{}/v1?deploymentId={id}", self.socket_base)
    }
}

/// Options of [`WebMessagingClient::connect`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// `Origin` header of the upgrade (deployments may restrict it).
    pub origin: Option<String>,
    /// How long to wait for each answer (default 10 s).
    pub answer_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            origin: None,
            answer_timeout: Duration::from_secs(10),
        }
    }
}

impl ConnectOptions {
    /// Sets the `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Sets the answer timeout.
    pub fn answer_timeout(mut self, d: Duration) -> Self {
        self.answer_timeout = d;
        self
    }
}

/// One Web Messaging socket.
pub struct WebMessagingClient {
    ws: Socket,
    deployment_id: String,
    token: Option<SessionToken>,
    pending: VecDeque<ServerFrame>,
    timeout: Duration,
    pong_pending: bool,
}

impl std::fmt::Debug for WebMessagingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebMessagingClient")
            .field("deployment_id", &self.deployment_id)
            .field("configured", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

fn tracing_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl WebMessagingClient {
    /// Opens the socket of `deployment_id`; a refused upgrade is [`WmError::UpgradeRefused`].
    pub async fn connect(
        endpoint: &Endpoint,
        deployment_id: &str,
        options: ConnectOptions,
    ) -> Result<Self, WmError> {
        let url = endpoint.socket_url(deployment_id);
        let connect = ws::connect_direct(url.as_str(), options.origin.as_deref());
        let ws = crate::rt::timeout(options.answer_timeout, connect)
            .await
            .map_err(|_| WmError::Timeout {
                action: "connect",
                after: options.answer_timeout,
            })?
            .map_err(|e| match e {
                ConnectError::HandshakeRefused { status } => WmError::UpgradeRefused { status },
                other => WmError::Socket(other.to_string()),
            })?;
        Ok(WebMessagingClient {
            ws,
            deployment_id: deployment_id.to_owned(),
            token: None,
            pending: VecDeque::new(),
            timeout: options.answer_timeout,
            pong_pending: false,
        })
    }

    /// `configureSession`: starts the conversation of a new token, or resumes the one of a
    /// stored token (`new_session == Some(false)`; fetch what was missed from history).
    pub async fn configure(&mut self, token: &SessionToken) -> Result<SessionResponse, WmError> {
        self.configure_with(token, false).await
    }

    /// `configureSession` with `startNew: true`: a new conversation on the same token.
    pub async fn start_new(&mut self, token: &SessionToken) -> Result<SessionResponse, WmError> {
        self.configure_with(token, true).await
    }

    async fn configure_with(
        &mut self,
        token: &SessionToken,
        start_new: bool,
    ) -> Result<SessionResponse, WmError> {
        let tid = tracing_id();
        let mut req = ClientRequest::configure_session(token.secret(), self.deployment_id.clone())
            .with_tracing_id(tid.clone());
        if let ClientRequest::ConfigureSession(r) = &mut req {
            r.start_new = start_new.then_some(true);
        }
        self.send(&req).await?;
        let frame = self
            .await_answer("configureSession", |f| match f {
                ServerFrame::SessionResponse(_) => true,
                other => other.tracing_id() == Some(tid.as_str()),
            })
            .await?;
        match frame {
            ServerFrame::SessionResponse(s) => {
                self.token = Some(token.clone());
                Ok(s.body)
            }
            other => Err(as_error(other)),
        }
    }

    fn token(&self) -> Result<Secret, WmError> {
        self.token
            .as_ref()
            .map(SessionToken::secret)
            .ok_or(WmError::NotConfigured)
    }

    /// Sends a text; returns its `Inbound` echo, the service's acknowledgement (with the
    /// message id). No echo in time is [`WmError::Timeout`].
    pub async fn send_text(&mut self, text: &str) -> Result<StructuredMessage, WmError> {
        self.send_message(IncomingNormalizedMessage::text(text))
            .await
    }

    /// Answers a quick reply (or a button) with its text and payload; returns the echo.
    pub async fn send_quick_reply(
        &mut self,
        text: &str,
        payload: &str,
    ) -> Result<StructuredMessage, WmError> {
        self.send_message(IncomingNormalizedMessage::quick_reply_response(
            text, payload,
        ))
        .await
    }

    /// Sends any message and waits for its `Inbound` echo.
    pub async fn send_message(
        &mut self,
        message: IncomingNormalizedMessage,
    ) -> Result<StructuredMessage, WmError> {
        let tid = tracing_id();
        let req = ClientRequest::on_message(self.token()?, message).with_tracing_id(tid.clone());
        self.send(&req).await?;
        let frame = self
            .await_answer("onMessage", |f| f.tracing_id() == Some(tid.as_str()))
            .await?;
        match frame {
            ServerFrame::Message(m) => Ok(m.body),
            other => Err(as_error(other)),
        }
    }

    /// Sends `Typing On` (no answer is expected). The protocol asks for at most one every
    /// 5 s, and only where the deployment shows the guest's typing.
    pub async fn send_typing(&mut self) -> Result<(), WmError> {
        let req = ClientRequest::typing(self.token()?).with_tracing_id(tracing_id());
        self.send(&req).await
    }

    /// Presence `Clear`: ends the conversation where the deployment allows it. The service
    /// answers `SessionClearedEvent` (returned here) and closes the socket.
    pub async fn clear(&mut self) -> Result<(), WmError> {
        let tid = tracing_id();
        let req = ClientRequest::presence(self.token()?, EventPresenceType::Clear)
            .with_tracing_id(tid.clone());
        self.send(&req).await?;
        let frame = self
            .await_answer("clear", |f| {
                matches!(f, ServerFrame::SessionCleared(_)) || f.tracing_id() == Some(tid.as_str())
            })
            .await?;
        match frame {
            ServerFrame::SessionCleared(_) => Ok(()),
            other => Err(as_error(other)),
        }
    }

    /// `getJwt`: the bearer for the REST history.
    pub async fn get_jwt(&mut self) -> Result<JwtResponse, WmError> {
        let tid = tracing_id();
        let req = ClientRequest::get_jwt(self.token()?).with_tracing_id(tid.clone());
        self.send(&req).await?;
        let frame = self
            .await_answer("getJwt", |f| f.tracing_id() == Some(tid.as_str()))
            .await?;
        match frame {
            ServerFrame::Jwt(j) => Ok(j.body),
            other => Err(as_error(other)),
        }
    }

    /// The `echo` health check; its reply never reaches [`Self::next_frame`].
    ///
    /// It carries the fixed `tracingId` the official clients use
    /// ([`HEALTH_CHECK_TRACING_ID`]), so that a reply arriving after its timeout is still
    /// recognised and dropped.
    pub async fn health_check(&mut self) -> Result<(), WmError> {
        let req = ClientRequest::echo(self.token()?);
        self.send(&req).await?;
        let frame = self
            .await_answer("echo", |f| f.tracing_id() == Some(HEALTH_CHECK_TRACING_ID))
            .await?;
        match frame {
            ServerFrame::Message(_) => Ok(()),
            other => Err(as_error(other)),
        }
    }

    /// Sends a WebSocket ping. Its pong is read along with the frames; until it comes,
    /// [`Self::pong_pending`] is true.
    ///
    /// In a browser, which lets a page send no WebSocket ping, the ping is the protocol's
    /// `echo` (with the health check's `tracingId`, sent only once the session is
    /// configured) and its reply is the pong.
    pub async fn ping(&mut self) -> Result<(), WmError> {
        #[cfg(not(target_arch = "wasm32"))]
        if self.ws.ping().await.map_err(WmError::Socket)? {
            self.pong_pending = true;
        }
        #[cfg(target_arch = "wasm32")]
        if let Ok(token) = self.token() {
            self.send(&ClientRequest::echo(token)).await?;
            self.pong_pending = true;
        }
        Ok(())
    }

    /// True when the last [`Self::ping`] has not been answered yet.
    pub fn pong_pending(&self) -> bool {
        self.pong_pending
    }

    /// The next frame not consumed as an answer: agent messages, the echoes of messages sent
    /// from the token's other sockets, events. `None` once the socket is closed.
    pub async fn next_frame(&mut self) -> Result<Option<ServerFrame>, WmError> {
        if let Some(f) = self.pending.pop_front() {
            return Ok(Some(f));
        }
        loop {
            match self.read().await {
                // A health-check reply that came after its timeout is not an event.
                Ok(f) if f.tracing_id() == Some(HEALTH_CHECK_TRACING_ID) => {}
                Ok(f) => return Ok(Some(f)),
                Err(WmError::Closed) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    /// Closes the socket (the conversation lives on: resume with the same token).
    pub async fn close(mut self) {
        self.ws.close().await;
    }

    async fn send(&mut self, req: &ClientRequest) -> Result<(), WmError> {
        let text = serde_json::to_string(req).map_err(|e| WmError::Socket(e.to_string()))?;
        self.ws.send_text(text).await.map_err(WmError::Socket)
    }

    async fn read(&mut self) -> Result<ServerFrame, WmError> {
        loop {
            match self.ws.next().await {
                None | Some(Ok(Frame::Close(_))) => return Err(WmError::Closed),
                Some(Err(e)) => return Err(WmError::Socket(e)),
                Some(Ok(Frame::Text(text))) => {
                    // A frame that is not a JSON object is not the service's: skip it.
                    if let Ok(frame) = serde_json::from_str::<ServerFrame>(text.as_str()) {
                        // In a browser, the reply to an `echo` ping is its pong.
                        #[cfg(target_arch = "wasm32")]
                        if frame.tracing_id() == Some(HEALTH_CHECK_TRACING_ID) {
                            self.pong_pending = false;
                        }
                        return Ok(frame);
                    }
                }
                Some(Ok(Frame::Pong)) => self.pong_pending = false,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Reads until a frame matches; the others are kept for [`Self::next_frame`].
    async fn await_answer(
        &mut self,
        action: &'static str,
        matches: impl Fn(&ServerFrame) -> bool,
    ) -> Result<ServerFrame, WmError> {
        let after = self.timeout;
        let deadline = crate::rt::Instant::now() + after;
        loop {
            let frame = crate::rt::timeout_at(deadline, self.read())
                .await
                .map_err(|_| WmError::Timeout { action, after })??;
            if matches(&frame) {
                return Ok(frame);
            }
            // A late health-check reply is not an event.
            if frame.tracing_id() == Some(HEALTH_CHECK_TRACING_ID) {
                continue;
            }
            self.pending.push_back(frame);
        }
    }
}

fn as_error(frame: ServerFrame) -> WmError {
    match frame {
        ServerFrame::Error(e) => WmError::Protocol {
            code: e.code,
            message: guest_chat_model::redact::mask_jwts(&e.body).into_owned(),
        },
        ServerFrame::TooManyRequests(e) => WmError::RateLimited {
            retry_after: Duration::from_secs(u64::try_from(e.body.retry_after).unwrap_or(1).max(1)),
        },
        ServerFrame::SessionExpired(_) => WmError::Protocol {
            code: codes::SESSION_EXPIRED,
            message: "session expired".to_owned(),
        },
        other => WmError::Protocol {
            code: 0,
            message: format!("unexpected {} frame", other.class().unwrap_or("unknown")),
        },
    }
}
