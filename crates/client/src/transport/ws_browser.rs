//! Sockets in a browser: the page's `WebSocket` (through `gloo-net`). The browser chooses
//! the proxy and verifies TLS itself, so there is nothing to configure; the `Origin` header
//! is the page's.

use super::{masked_uri, ConnectError, Frame, ProxyMode};
use crate::secret::mask_secrets;
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, WebSocketError};
use secrecy::{ExposeSecret, SecretString};

/// Nothing to set in a browser (the proxy and TLS roots are the browser's).
#[derive(Clone, Debug, Default)]
pub(crate) struct WsSettings;

impl WsSettings {
    /// The proxy choice: the browser's own settings.
    pub(crate) fn proxy(&self) -> ProxyMode {
        ProxyMode::System
    }
}

/// Opens the event stream's socket (the whole of it runs under the caller's timeout).
pub(crate) async fn connect(
    _settings: &WsSettings,
    target: &SecretString,
) -> Result<Socket, ConnectError> {
    open(target.expose_secret())
        .await
        .map_err(|e| ConnectError::Other(format!("cannot connect to {}: {e}", masked_uri(target))))
}

/// Opens a socket to `url`; a browser sends the page's own `Origin`, so `origin` is not
/// used, and it does not say why an upgrade was refused.
pub(crate) async fn connect_direct(
    url: &str,
    _origin: Option<&str>,
) -> Result<Socket, ConnectError> {
    open(url)
        .await
        .map_err(|e| ConnectError::Other(format!("cannot connect to {}: {e}", mask_secrets(url))))
}

/// Opens the socket and waits until it is open (or failed).
async fn open(url: &str) -> Result<Socket, String> {
    let mut ws = WebSocket::open(url).map_err(|e| mask_secrets(&e.to_string()).into_owned())?;
    // A sink is ready once the socket is open; a socket that fails to open errs here.
    futures::future::poll_fn(|cx| ws.poll_ready_unpin(cx))
        .await
        .map_err(|e| describe(&e))?;
    Ok(Socket(Some(ws)))
}

fn describe(e: &WebSocketError) -> String {
    match e {
        WebSocketError::ConnectionError => "the connection failed".to_owned(),
        WebSocketError::ConnectionClose(c) => format!("closed: {} {}", c.code, c.reason),
        other => mask_secrets(&other.to_string()).into_owned(),
    }
}

/// An open browser WebSocket.
pub(crate) struct Socket(Option<WebSocket>);

impl Socket {
    /// The next frame; `None` when the socket ended without a close frame. Errors are
    /// masked text.
    pub(crate) async fn next(&mut self) -> Option<Result<Frame, String>> {
        let ws = self.0.as_mut()?;
        let frame = match ws.next().await? {
            Ok(Message::Text(t)) => Frame::Text(t),
            Ok(Message::Bytes(b)) => match String::from_utf8(b) {
                Ok(t) => Frame::Text(t),
                Err(_) => Frame::Other,
            },
            Err(WebSocketError::ConnectionClose(c)) => Frame::Close(Some((c.code, c.reason))),
            Err(e) => return Some(Err(describe(&e))),
        };
        Some(Ok(frame))
    }

    /// Sends a text frame.
    pub(crate) async fn send_text(&mut self, text: String) -> Result<(), String> {
        let ws = self
            .0
            .as_mut()
            .ok_or_else(|| "the socket is closed".to_owned())?;
        ws.send(Message::Text(text)).await.map_err(|e| describe(&e))
    }

    /// Pages cannot send WebSocket pings (the browser answers the server's itself): sends
    /// nothing and returns `false` (no pong will come).
    pub(crate) async fn ping(&mut self) -> Result<bool, String> {
        Ok(false)
    }

    /// Closes the socket (the browser finishes the closing handshake).
    pub(crate) async fn close(&mut self) {
        if let Some(ws) = self.0.take() {
            let _ = ws.close(None, None);
        }
    }
}
