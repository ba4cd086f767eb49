//! The SDK's error type: what the server said (status, headers, Genesys `ErrorBody`, raw
//! text, correlation id) or why no answer arrived, with the predicates retry code needs.
//!
//! No JWT, nor a piece of a known one, ever appears in a `Display` or `Debug` of these
//! types: each is formatted whole, then masked once by
//! [`mask_secrets`](crate::secret::mask_secrets()) (the SDK's one masking boundary).

use crate::region::InvalidEnvironment;
use crate::secret::mask_secrets;
use guest_chat_model::ErrorBody;
use http::HeaderMap;
use std::fmt;
use std::time::Duration;

/// How many characters of a raw body `Display` shows.
const DISPLAY_BODY_CHARS: usize = 200;

/// Everything that can go wrong with a call.
#[non_exhaustive]
pub enum Error {
    /// The server answered with a non-2xx status.
    Api(Box<ApiError>),
    /// No answer within the request timeout (the call may or may not have been processed).
    Timeout(TransportError),
    /// The connection could not be established (nothing was sent).
    Connect(TransportError),
    /// A 2xx answer whose body is not the expected JSON.
    Decode {
        /// HTTP status of the answer.
        status: u16,
        /// JSON path of the offending value (`.` for the whole document, and always `.` in a
        /// browser build, where `message` gives the line and column instead).
        path: String,
        /// What serde said.
        message: String,
        /// The raw body, JWTs masked.
        body: String,
    },
    /// A call was refused locally, before sending, because an argument is unusable.
    InvalidArgument {
        /// The parameter's name as the swagger spells it (`conversationId`, `body`).
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// The environment string could not be understood.
    InvalidEnvironment(InvalidEnvironment),
    /// The operation needs the guest JWT and none is set (`set_jwt` / `with_jwt`).
    MissingJwt {
        /// The operation id.
        operation: &'static str,
    },
    /// The TLS handshake failed: most often the server's certificate is not trusted (add its
    /// issuer with `ApiClientBuilder::add_root_certificate_pem`). Not retried: the same
    /// handshake fails the same way.
    Tls(TransportError),
    /// Any other transport failure (protocol, body read, client construction).
    Transport(TransportError),
    /// The event stream could not continue, or skipped an undecodable frame.
    EventStream(EventStreamError),
    /// A message send whose outcome could not be settled: a POST failed ambiguously (its
    /// answer was lost: timeout, 5xx, broken connection) and the conversation's history, where
    /// [`GuestChat::send`](crate::session::GuestChat::send) looks for the message before
    /// sending it again, could not be read or did not settle it. The message may or may not
    /// have been delivered; sending it again may duplicate it.
    DeliveryUnknown {
        /// How many POSTs were made.
        attempts: u32,
        /// Why the history did not settle it.
        why: String,
        /// The last POST's error.
        last: Box<Error>,
    },
    /// A Web Messaging failure (a [`GuestChat`](crate::session::GuestChat) started with
    /// [`start_web_messaging`](crate::session::GuestChat::start_web_messaging)), with the
    /// protocol's code where it has one; it never contains the session token or a JWT.
    WebMessaging(crate::webmessaging::WmError),
}

/// The unmasked text of an error; only ever written through [`mask_secrets`].
struct RawDisplay<'a>(&'a Error);

impl fmt::Display for RawDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Error::Api(e) => write!(f, "{e}"),
            Error::Timeout(m) => write!(f, "request timed out: {m}"),
            Error::Connect(m) => write!(f, "cannot connect: {m}"),
            Error::Decode {
                status,
                path,
                message,
                body,
            } => write!(
                f,
                "cannot decode the HTTP {status} response at `{path}`: {message} (body: {})",
                truncate(body)
            ),
            Error::InvalidArgument { name, reason } => {
                write!(f, "invalid argument `{name}`: {reason}")
            }
            Error::InvalidEnvironment(e) => write!(f, "{e}"),
            Error::MissingJwt { operation } => write!(
                f,
                "{operation} needs the guest JWT, but none is set: call set_jwt() or with_jwt() \
                 with the jwt of the create-conversation response"
            ),
            Error::Tls(m) => write!(f, "TLS handshake failed: {m}"),
            Error::Transport(m) => write!(f, "transport error: {m}"),
            Error::EventStream(m) => write!(f, "event stream: {m}"),
            Error::WebMessaging(e) => write!(f, "web messaging: {e}"),
            Error::DeliveryUnknown {
                attempts,
                why,
                last,
            } => write!(
                f,
                "the message may or may not have been delivered (after {attempts} attempt(s), \
                 {why}): {}",
                RawDisplay(last)
            ),
        }
    }
}

/// The unmasked `Debug` of an error; only ever written through [`mask_secrets`].
struct RawDebug<'a>(&'a Error);

impl fmt::Debug for RawDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Error::Api(e) => f.debug_tuple("Api").field(&RawApiDebug(e)).finish(),
            Error::Timeout(m) => f.debug_tuple("Timeout").field(m).finish(),
            Error::Connect(m) => f.debug_tuple("Connect").field(m).finish(),
            Error::Decode {
                status,
                path,
                message,
                body,
            } => f
                .debug_struct("Decode")
                .field("status", status)
                .field("path", path)
                .field("message", message)
                .field("body", body)
                .finish(),
            Error::InvalidArgument { name, reason } => f
                .debug_struct("InvalidArgument")
                .field("name", name)
                .field("reason", reason)
                .finish(),
            Error::InvalidEnvironment(e) => f.debug_tuple("InvalidEnvironment").field(e).finish(),
            Error::MissingJwt { operation } => f
                .debug_struct("MissingJwt")
                .field("operation", operation)
                .finish(),
            Error::Tls(m) => f.debug_tuple("Tls").field(m).finish(),
            Error::Transport(m) => f.debug_tuple("Transport").field(m).finish(),
            Error::EventStream(m) => f.debug_tuple("EventStream").field(m).finish(),
            Error::WebMessaging(e) => f.debug_tuple("WebMessaging").field(e).finish(),
            Error::DeliveryUnknown {
                attempts,
                why,
                last,
            } => f
                .debug_struct("DeliveryUnknown")
                .field("attempts", attempts)
                .field("why", why)
                .field("last", &RawDebug(last))
                .finish(),
        }
    }
}

/// Formats `text` whole, then masks it once.
fn write_masked(f: &mut fmt::Formatter<'_>, text: fmt::Arguments<'_>) -> fmt::Result {
    let raw = fmt::format(text);
    f.write_str(&mask_secrets(&raw))
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_masked(f, format_args!("{}", RawDisplay(self)))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            write_masked(f, format_args!("{:#?}", RawDebug(self)))
        } else {
            write_masked(f, format_args!("{:?}", RawDebug(self)))
        }
    }
}

impl std::error::Error for Error {
    /// The cause: the HTTP client's, TLS's or the operating system's error for a transport
    /// failure, the [`EventStreamError`] of the event stream, the last attempt's error for
    /// [`Error::DeliveryUnknown`].
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::InvalidEnvironment(e) => Some(e),
            Error::WebMessaging(e) => Some(e),
            Error::Timeout(t) | Error::Connect(t) | Error::Tls(t) | Error::Transport(t) => {
                t.cause()
            }
            Error::EventStream(e) => Some(e),
            Error::DeliveryUnknown { last, .. } => Some(&**last),
            Error::Api(_)
            | Error::Decode { .. }
            | Error::InvalidArgument { .. }
            | Error::MissingJwt { .. } => None,
        }
    }
}

impl From<EventStreamError> for Error {
    fn from(e: EventStreamError) -> Self {
        Error::EventStream(e)
    }
}

/// The cause of a transport failure, boxed.
pub(crate) type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure below HTTP (no connection, no answer in time, TLS, a broken socket): what
/// happened, and the error that caused it ([`source()`](std::error::Error::source)), so that
/// a caller can walk down to the `reqwest`, `rustls` or `std::io` error.
///
/// `Display` and `Debug` mask JWTs (see [`mask_secrets`]).
pub struct TransportError {
    message: String,
    source: Option<Cause>,
}

impl TransportError {
    /// A failure described by `message` alone.
    pub fn new(message: impl Into<String>) -> Self {
        TransportError {
            message: message.into(),
            source: None,
        }
    }

    /// A failure described by `message`, caused by `source`.
    pub fn with_source(message: impl Into<String>, source: impl Into<Cause>) -> Self {
        TransportError {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// What happened, JWTs masked.
    pub fn message(&self) -> String {
        mask_secrets(&self.message).into_owned()
    }

    fn cause(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<String> for TransportError {
    fn from(message: String) -> Self {
        TransportError::new(message)
    }
}

impl From<&str> for TransportError {
    fn from(message: &str) -> Self {
        TransportError::new(message)
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask_secrets(&self.message))
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = self.source.as_ref().map(|s| format!("{s:?}"));
        write_masked(
            f,
            format_args!(
                "TransportError {{ message: {:?}, source: {:?} }}",
                self.message, source
            ),
        )
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause()
    }
}

/// Why the event stream failed, one variant per kind of failure. `Display` and `Debug`
/// mask JWTs (the stream's URI carries one).
#[non_exhaustive]
pub enum EventStreamError {
    /// The server answered the WebSocket upgrade with this HTTP status instead of 101.
    HandshakeRefused {
        /// The HTTP status (401 for a JWT it does not accept).
        status: u16,
    },
    /// No connection to the server or the proxy (refused, unreachable, bad URI).
    Connect(TransportError),
    /// Connecting (proxy, TLS and upgrade included) took longer than the connect timeout.
    ConnectTimeout {
        /// The connect timeout.
        after: Duration,
    },
    /// The TLS handshake failed (an untrusted certificate, or no TLS at the other end).
    Tls(TransportError),
    /// The proxy refused the credentials (407): retrying cannot help.
    ProxyAuth(TransportError),
    /// No frame, not even a heartbeat, within the liveness window.
    HeartbeatLost {
        /// The liveness window.
        after: Duration,
    },
    /// The socket failed while being read (a protocol error, a reset connection).
    Socket(TransportError),
    /// The server closed the socket with a close frame.
    Closed {
        /// The close code, when the frame has one.
        code: Option<u16>,
        /// The close frame's reason (empty without one).
        reason: String,
    },
    /// The socket ended without a close frame.
    Dropped,
    /// A frame that is not a valid event was skipped (the stream goes on).
    Frame(TransportError),
    /// Catching up on the messages missed while disconnected failed.
    ResyncFailed(Box<Error>),
    /// The stream stopped reconnecting after this many attempts; `last` says why the last
    /// one failed.
    GaveUp {
        /// Reconnection attempts made.
        attempts: u32,
        /// The last failure.
        last: Box<EventStreamError>,
    },
    /// The event stream ended before the guest joined the chat.
    EndedBeforeJoin,
    /// The guest was not `CONNECTED` within the join timeout.
    JoinTimeout {
        /// The join timeout.
        after: Duration,
    },
}

/// The unmasked text of an event-stream error; only ever written through [`mask_secrets`].
struct RawStreamDisplay<'a>(&'a EventStreamError);

impl fmt::Display for RawStreamDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use EventStreamError as E;
        match self.0 {
            E::HandshakeRefused { status } => {
                write!(f, "the server refused the WebSocket upgrade: HTTP {status}")
            }
            E::Connect(t) => write!(f, "connect failed: {}", t.message),
            E::ConnectTimeout { after } => write!(f, "connect timed out after {after:?}"),
            E::Tls(t) => write!(f, "TLS handshake failed: {}", t.message),
            E::ProxyAuth(t) => write!(f, "{}", t.message),
            E::HeartbeatLost { after } => write!(f, "no frame for {after:?} (heartbeats stopped)"),
            E::Socket(t) => write!(f, "socket error: {}", t.message),
            E::Closed {
                code: Some(code),
                reason,
            } => write!(f, "closed by server: {code} {reason}"),
            E::Closed { code: None, .. } => f.write_str("closed by server"),
            E::Dropped => f.write_str("socket closed without a close frame"),
            E::Frame(t) => write!(f, "undecodable frame skipped: {}", t.message),
            E::ResyncFailed(e) => write!(f, "resync failed: {}", RawDisplay(e)),
            E::GaveUp { attempts, last } => write!(
                f,
                "gave up reconnecting after {attempts} attempts: {}",
                RawStreamDisplay(last)
            ),
            E::EndedBeforeJoin => {
                f.write_str("the event stream ended before the guest joined the chat")
            }
            E::JoinTimeout { after } => write!(
                f,
                "the guest was not CONNECTED within {after:?} of opening the event stream"
            ),
        }
    }
}

impl fmt::Display for EventStreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_masked(f, format_args!("{}", RawStreamDisplay(self)))
    }
}

impl std::error::Error for EventStreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        use EventStreamError as E;
        match self {
            E::Connect(t) | E::Tls(t) | E::ProxyAuth(t) | E::Socket(t) | E::Frame(t) => t.cause(),
            E::ResyncFailed(e) => Some(&**e),
            E::GaveUp { last, .. } => Some(&**last),
            E::HandshakeRefused { .. }
            | E::ConnectTimeout { .. }
            | E::HeartbeatLost { .. }
            | E::Closed { .. }
            | E::Dropped
            | E::EndedBeforeJoin
            | E::JoinTimeout { .. } => None,
        }
    }
}

impl fmt::Debug for EventStreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = RawStreamDisplay(self).to_string();
        write_masked(
            f,
            format_args!("EventStreamError::{}({text:?})", self.kind()),
        )
    }
}

impl EventStreamError {
    /// The variant's name (`HandshakeRefused`, `HeartbeatLost`, ...), for metrics and logs.
    pub fn kind(&self) -> &'static str {
        use EventStreamError as E;
        match self {
            E::HandshakeRefused { .. } => "HandshakeRefused",
            E::Connect(_) => "Connect",
            E::ConnectTimeout { .. } => "ConnectTimeout",
            E::Tls(_) => "Tls",
            E::ProxyAuth(_) => "ProxyAuth",
            E::HeartbeatLost { .. } => "HeartbeatLost",
            E::Socket(_) => "Socket",
            E::Closed { .. } => "Closed",
            E::Dropped => "Dropped",
            E::Frame(_) => "Frame",
            E::ResyncFailed(_) => "ResyncFailed",
            E::GaveUp { .. } => "GaveUp",
            E::EndedBeforeJoin => "EndedBeforeJoin",
            E::JoinTimeout { .. } => "JoinTimeout",
        }
    }

    /// True when trying again with the same settings cannot help (TLS, proxy credentials).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            EventStreamError::Tls(_) | EventStreamError::ProxyAuth(_)
        )
    }
}

impl From<crate::webmessaging::WmError> for Error {
    fn from(e: crate::webmessaging::WmError) -> Self {
        Error::WebMessaging(e)
    }
}

impl From<InvalidEnvironment> for Error {
    fn from(e: InvalidEnvironment) -> Self {
        Error::InvalidEnvironment(e)
    }
}

impl From<std::convert::Infallible> for Error {
    fn from(e: std::convert::Infallible) -> Self {
        match e {}
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl Error {
    /// The variant's name (`Api`, `Timeout`, `Connect`, `Tls`, `EventStream`, ...), for
    /// metrics and logs; [`EventStreamError::kind`] goes one level deeper.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Api(_) => "Api",
            Error::Timeout(_) => "Timeout",
            Error::Connect(_) => "Connect",
            Error::Decode { .. } => "Decode",
            Error::InvalidArgument { .. } => "InvalidArgument",
            Error::InvalidEnvironment(_) => "InvalidEnvironment",
            Error::MissingJwt { .. } => "MissingJwt",
            Error::Tls(_) => "Tls",
            Error::Transport(_) => "Transport",
            Error::EventStream(_) => "EventStream",
            Error::DeliveryUnknown { .. } => "DeliveryUnknown",
            Error::WebMessaging(_) => "WebMessaging",
        }
    }

    /// The HTTP status, for [`Error::Api`] and [`Error::Decode`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for a request timeout (local timer, or a 408/504 from the server).
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout(_) => true,
            Error::Api(e) => matches!(e.status, 408 | 504),
            _ => false,
        }
    }

    /// True for a connection failure (nothing was sent).
    pub fn is_connect(&self) -> bool {
        matches!(self, Error::Connect(_))
    }

    /// True when the TLS handshake failed (an untrusted or invalid server certificate, or
    /// no TLS at the other end).
    pub fn is_tls(&self) -> bool {
        matches!(
            self,
            Error::Tls(_) | Error::EventStream(EventStreamError::Tls(_))
        )
    }

    /// True when trying again later may succeed: 429, 502, 503, 504, timeouts and
    /// connection failures. Whether it is *safe* to replay depends on the operation
    /// (see [`RetryPolicy`](crate::retry::RetryPolicy)).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => matches!(e.status, 429 | 502 | 503 | 504),
            Error::Timeout(_) | Error::Connect(_) => true,
            _ => false,
        }
    }

    /// How long the server asked us to wait (`Retry-After`, or `inin-ratelimit-reset` on 429),
    /// capped at [`MAX_RETRY_AFTER_HINT`].
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(e) => e.retry_after,
            _ => None,
        }
    }

    /// The Genesys error code (`chat.error.not.found`), when the body parsed.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.code(),
            _ => None,
        }
    }

    /// The `ININ-Correlation-Id` of the answer (or the body's `contextId`).
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.correlation_id.as_deref(),
            _ => None,
        }
    }

    /// The API error, for [`Error::Api`].
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }
}

/// A non-2xx answer, kept whole.
#[derive(Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Its reason phrase (`Not Found`).
    pub status_text: String,
    /// The response headers.
    pub headers: HeaderMap,
    /// The Genesys error body, when the body is one.
    pub body: Option<ErrorBody>,
    /// The raw body, always (also when it is not JSON).
    pub text: String,
    /// `ININ-Correlation-Id`, else the body's `contextId`.
    pub correlation_id: Option<String>,
    /// `Retry-After` (seconds or HTTP date), else `inin-ratelimit-reset` on a 429.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// Builds the error from a raw answer.
    pub fn from_response(status: http::StatusCode, headers: HeaderMap, raw: &[u8]) -> ApiError {
        let text = String::from_utf8_lossy(raw).into_owned();
        let body = serde_json::from_slice::<ErrorBody>(raw)
            .ok()
            .filter(|b| b.code.is_some() || b.message.is_some() || b.status.is_some());
        let correlation_id = header_str(&headers, "inin-correlation-id")
            .map(str::to_owned)
            .or_else(|| body.as_ref().and_then(|b| b.context_id.clone()));
        let retry_after = retry_after(status.as_u16(), &headers);
        ApiError {
            status: status.as_u16(),
            status_text: status.canonical_reason().unwrap_or("").to_owned(),
            headers,
            body,
            text,
            correlation_id,
            retry_after,
        }
    }

    /// The Genesys error code, when the body parsed.
    pub fn code(&self) -> Option<&str> {
        self.body.as_ref().and_then(|b| b.code.as_deref())
    }

    /// The body's `message`, when the body parsed.
    pub fn message(&self) -> Option<&str> {
        self.body.as_ref().and_then(|b| b.message.as_deref())
    }
}

/// The unmasked text of an API error; only ever written through [`mask_secrets`].
struct RawApiDisplay<'a>(&'a ApiError);

impl fmt::Display for RawApiDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        write!(f, "HTTP {}", e.status)?;
        if !e.status_text.is_empty() {
            write!(f, " {}", e.status_text)?;
        }
        match &e.body {
            Some(b) => {
                if let Some(code) = &b.code {
                    write!(f, ": {code}")?;
                }
                if let Some(msg) = &b.message {
                    write!(f, ": {msg}")?;
                }
                if let Some(params) = b.message_params.as_ref().filter(|p| !p.is_empty()) {
                    let joined: Vec<String> =
                        params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    write!(f, " [{}]", joined.join(", "))?;
                }
            }
            None if !e.text.trim().is_empty() => {
                write!(f, ": {}", truncate(&e.text))?;
            }
            None => {}
        }
        if let Some(c) = &e.correlation_id {
            write!(f, " (correlation id {c})")?;
        }
        Ok(())
    }
}

/// The unmasked `Debug` of an API error; only ever written through [`mask_secrets`].
struct RawApiDebug<'a>(&'a ApiError);

impl fmt::Debug for RawApiDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        f.debug_struct("ApiError")
            .field("status", &e.status)
            .field("status_text", &e.status_text)
            .field("headers", &e.headers)
            .field("body", &e.body)
            .field("text", &e.text)
            .field("correlation_id", &e.correlation_id)
            .field("retry_after", &e.retry_after)
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_masked(f, format_args!("{}", RawApiDisplay(self)))
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            write_masked(f, format_args!("{:#?}", RawApiDebug(self)))
        } else {
            write_masked(f, format_args!("{:?}", RawApiDebug(self)))
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// The rustls error somewhere in `error`'s chain, also inside an `io::Error` (which is how
/// tokio-rustls, and so reqwest and tungstenite, report a failed handshake).
pub(crate) fn rustls_cause<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(tls) = rustls_cause(inner) {
                return Some(tls);
            }
        }
        next = e.source();
    }
    None
}

/// What to add to a TLS failure's message so that its reader knows what to do.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn tls_hint(cause: &rustls::Error) -> &'static str {
    use rustls::CertificateError as C;
    match cause {
        // A trusted certificate for another name, or out of its dates: trusting it more
        // would not help.
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => " (the certificate does not list this host name)",
        rustls::Error::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        ) => " (the certificate is outside its validity period, or this machine's clock is wrong)",
        rustls::Error::InvalidCertificate(_) => {
            " (the server's certificate is not trusted: add the certificate of its issuer, or \
             the self-signed certificate itself, with ApiClientBuilder::add_root_certificate_pem)"
        }
        _ => "",
    }
}

/// A header as text, looked up case-insensitively (`HeaderMap` names are lower case).
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The longest wait a server's hint is taken at: a year. Larger (or absurd) values are capped
/// here, so neither this SDK nor an app adding the hint to an `Instant` can overflow.
pub const MAX_RETRY_AFTER_HINT: Duration = crate::LONGEST_WAIT;

/// Non-negative (fractional) seconds from a header value, capped at [`MAX_RETRY_AFTER_HINT`].
fn header_secs(v: &str) -> Option<Duration> {
    let secs = v
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)?;
    let d = Duration::try_from_secs_f64(secs).unwrap_or(MAX_RETRY_AFTER_HINT);
    Some(d.min(MAX_RETRY_AFTER_HINT))
}

/// `Retry-After` as delta-seconds or HTTP date; on a 429 without it, `inin-ratelimit-reset`.
pub(crate) fn retry_after(status: u16, headers: &HeaderMap) -> Option<Duration> {
    if let Some(v) = header_str(headers, "retry-after") {
        if let Some(d) = header_secs(v) {
            return Some(d);
        }
        if let Ok(when) = chrono::DateTime::parse_from_rfc2822(v) {
            let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
            return Some(
                delta
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(MAX_RETRY_AFTER_HINT),
            );
        }
    }
    if status == 429 {
        if let Some(d) = header_str(headers, "inin-ratelimit-reset").and_then(header_secs) {
            return Some(d);
        }
    }
    None
}

/// The first [`DISPLAY_BODY_CHARS`] characters of a body on one line, secrets masked first
/// (a token cut in two would no longer look like one).
fn truncate(body: &str) -> String {
    let masked = mask_secrets(body);
    let one_line: String = masked
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(DISPLAY_BODY_CHARS)
        .collect();
    if masked.chars().count() > DISPLAY_BODY_CHARS {
        format!("{one_line}…")
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_clear_line() {
        let mut h = HeaderMap::new();
        h.insert("ININ-Correlation-Id", "1234".parse().unwrap());
        let raw = br#"{"status":404,"code":"chat.error.not.found","message":"The web chat conversation member was not found.","details":[],"errors":[]}"#;
        let e = ApiError::from_response(http::StatusCode::NOT_FOUND, h, raw);
        assert_eq!(
            e.to_string(),
            "HTTP 404 Not Found: chat.error.not.found: The web chat conversation member was not found. (correlation id 1234)"
        );
    }

    #[test]
    fn retry_after_shapes() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(503, &h), Some(Duration::from_secs(3)));
        let mut h = HeaderMap::new();
        h.insert("inin-ratelimit-reset", "7".parse().unwrap());
        assert_eq!(retry_after(429, &h), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(503, &h), None);
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(429, &h), Some(Duration::ZERO));
    }

    #[test]
    fn absurd_retry_after_values_are_capped_not_a_panic() {
        for v in ["1e30", "18446744073709551616", "1e20", "31536001"] {
            let mut h = HeaderMap::new();
            h.insert("retry-after", v.parse().unwrap());
            assert_eq!(retry_after(429, &h), Some(MAX_RETRY_AFTER_HINT), "{v}");
            let mut h = HeaderMap::new();
            h.insert("inin-ratelimit-reset", v.parse().unwrap());
            assert_eq!(retry_after(429, &h), Some(MAX_RETRY_AFTER_HINT), "{v}");
        }
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            "Fri, 31 Dec 9999 23:59:59 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(429, &h), Some(MAX_RETRY_AFTER_HINT));
        for v in ["-1", "NaN", "inf", "soon"] {
            let mut h = HeaderMap::new();
            h.insert("retry-after", v.parse().unwrap());
            assert_eq!(retry_after(503, &h), None, "{v}");
        }
    }

    #[test]
    fn non_json_body_is_kept_and_truncated() {
        let raw = "<html>".repeat(100);
        let e = ApiError::from_response(
            http::StatusCode::SERVICE_UNAVAILABLE,
            HeaderMap::new(),
            raw.as_bytes(),
        );
        assert!(e.body.is_none());
        assert_eq!(e.text, raw);
        assert!(e.to_string().ends_with('…'));
    }
}
