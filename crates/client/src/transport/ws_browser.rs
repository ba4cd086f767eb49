//! Sockets in a browser: the page's `WebSocket` (through `gloo-net`). The browser chooses
//! the proxy and verifies TLS itself, so there is nothing to configure; the `Origin` header
//! is the page's. A page cannot send WebSocket pings (the browser answers the server's
//! itself): Web Messaging pings with the protocol's `echo` instead.

use super::{masked_uri, ConnectError, Frame, ProxyMode};
use crate::error::TransportError;
use crate::secret::mask_secrets;
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, State, WebSocketError};
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
    open(target.expose_secret()).await.map_err(|e| {
        ConnectError::Connect(TransportError::new(format!(
            "cannot connect to {}: {e}",
            masked_uri(target)
        )))
    })
}

/// Opens a socket to `url`; a browser sends the page's own `Origin`, so `origin` is not
/// used.
///
/// A browser does not tell a page why a socket failed to open (the HTTP status of a refused
/// upgrade is hidden, as is the difference from an unreachable server). So after a failure
/// the same URL is asked once more with a plain `fetch` in `no-cors` mode, whose answer the
/// page cannot read either, but which succeeds when the server answers HTTP there: then the
/// upgrade was refused ([`ConnectError::HandshakeRefused`] with status 0, unknown); else the
/// server was not reached ([`ConnectError::Connect`]). The URL is not secret (it names the
/// deployment only).
pub(crate) async fn connect_direct(
    url: &str,
    _origin: Option<&str>,
) -> Result<Socket, ConnectError> {
    match open(url).await {
        Ok(socket) => Ok(socket),
        Err(_) if answers_http(url).await => Err(ConnectError::HandshakeRefused { status: 0 }),
        Err(e) => Err(ConnectError::Connect(TransportError::new(format!(
            "cannot connect to {}: {e}",
            mask_secrets(url)
        )))),
    }
}

/// Whether a server answers HTTP at the socket URL `url` (`ws:` asked as `http:`, `wss:`
/// as `https:`), whatever its answer: a `fetch` in `cors` mode (it succeeds where the server
/// allows the page's origin, as the emulator does), else in `no-cors` mode (it succeeds on
/// any answer the browser does not block). Each has 5 s.
async fn answers_http(url: &str) -> bool {
    let Some(http_url) = url
        .strip_prefix("ws")
        .filter(|rest| rest.starts_with("://") || rest.starts_with("s://"))
        .map(|rest| format!("http{rest}"))
    else {
        return false;
    };
    for mode in ["cors", "no-cors"] {
        if fetch_answers(&http_url, mode).await {
            return true;
        }
    }
    false
}

/// One `fetch(url, {mode})` of the page (or worker): whether it got an answer.
async fn fetch_answers(url: &str, mode: &str) -> bool {
    use wasm_bindgen::JsCast;
    let global = js_sys::global();
    let Some(fetch) = js_sys::Reflect::get(&global, &"fetch".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    else {
        return false;
    };
    let init = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&init, &"mode".into(), &mode.into());
    let _ = js_sys::Reflect::set(&init, &"cache".into(), &"no-store".into());
    let Some(promise) = fetch
        .call2(&global, &url.into(), &init)
        .ok()
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
    else {
        return false;
    };
    let answer = wasm_bindgen_futures::JsFuture::from(promise);
    matches!(
        crate::rt::timeout(std::time::Duration::from_secs(5), answer).await,
        Ok(Ok(_))
    )
}

/// Opens the socket and waits until it is open (or failed).
async fn open(url: &str) -> Result<Socket, String> {
    let mut ws = WebSocket::open(url).map_err(|e| mask_secrets(&e.to_string()).into_owned())?;
    // The sink is ready once the socket has left CONNECTING: open, or failed to open (a
    // refused upgrade, an unreachable server), which only its state tells.
    futures::future::poll_fn(|cx| ws.poll_ready_unpin(cx))
        .await
        .map_err(|e| describe(&e))?;
    if !matches!(ws.state(), State::Open) {
        return Err("the socket did not open (the browser does not say why)".to_owned());
    }
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

    /// Closes the socket (the browser finishes the closing handshake).
    pub(crate) async fn close(&mut self) {
        if let Some(ws) = self.0.take() {
            let _ = ws.close(None, None);
        }
    }
}
