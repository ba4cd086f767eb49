//! The transport: how the SDK's bytes reach the service. REST calls ([`rest`]: execute,
//! attempt, classify) and the sockets ([`ws`]: the event stream's and Web Messaging's) both
//! go through here, natively with the same proxy choice (`proxy`) and TLS roots (`tls`).
//!
//! Nothing here knows about chats: [`crate::client`] and [`crate::api`] build REST calls on
//! [`rest`], [`crate::events`] and [`crate::webmessaging`] open their sockets with [`ws`].
//!
//! In a browser (`wasm32`), REST is the page's `fetch` (reqwest's wasm backend) and [`ws`]
//! is the page's `WebSocket`; proxies and TLS roots are the browser's business and do not
//! exist here.

#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod proxy;
pub(crate) mod rest;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod tls;
#[cfg(not(target_arch = "wasm32"))]
mod upgrade;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod ws;
#[cfg(target_arch = "wasm32")]
#[path = "ws_browser.rs"]
pub(crate) mod ws;

pub(crate) use rest::{Call, RawResponse, Rest};
pub(crate) use ws::{Socket, WsSettings};

/// Where a client's connections go: the proxy environment variables, one proxy for
/// everything, or straight to the server.
#[derive(Debug, Clone)]
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub(crate) enum ProxyMode {
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, read when a socket opens.
    System,
    /// This proxy URL, for every host.
    Explicit(String),
    /// No proxy at all.
    Disabled,
}

/// Why the socket could not be opened: `ProxyAuth` and `Tls` (retrying cannot help),
/// `HandshakeRefused`, `Connect`.
pub(crate) type ConnectError = crate::error::EventStreamError;

/// One frame read from a [`Socket`].
#[derive(Debug)]
pub(crate) enum Frame {
    /// A text frame (a binary frame holding UTF-8 arrives as text too).
    Text(String),
    /// The peer closed the socket: code and reason, when it gave them.
    Close(Option<(u16, String)>),
    /// The answer to a ping sent with [`Socket::ping`] (never in a browser: pages send none).
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    Pong,
    /// Anything else (a ping, a binary frame that is not text): proof of life only.
    Other,
}

/// The URI with its JWT masked, for messages.
pub(crate) fn masked_uri(uri: &secrecy::SecretString) -> String {
    use secrecy::ExposeSecret;
    crate::secret::mask_secrets(uri.expose_secret()).into_owned()
}
