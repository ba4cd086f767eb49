//! The event stream's socket: a WebSocket opened directly or through the client's proxy,
//! with TLS verified against the client's roots.

use super::proxy::{tunnel, BoxedIo, ProxyMode};
use super::tls::tls_config;
use super::upgrade::UpgradeIo;
use super::{masked_uri, ConnectError, Frame};
use crate::error::TransportError;
use crate::error::{rustls_cause, tls_hint};
use crate::secret::mask_secrets;
use futures::{SinkExt, StreamExt};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use url::Url;

/// How a client opens `WebSockets`: its proxy choice and, when extra roots are trusted, its
/// TLS settings (else tungstenite's default: the public webpki roots). Shared by
/// `with_jwt` children.
#[derive(Clone)]
pub(crate) struct WsSettings {
    pub(crate) proxy: ProxyMode,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
}

impl WsSettings {
    /// The proxy choice (for `Debug`).
    pub(crate) fn proxy(&self) -> ProxyMode {
        self.proxy.clone()
    }
}

/// Event frames are small JSON texts. tungstenite's default 128 KiB read buffer is
/// zero-filled on every read and stays resident per socket: with 10,000 chats in one process
/// it was most of the per-chat memory (measured with `guest-chat load`). A larger frame
/// grows the buffer for as long as it takes to read it.
const WS_READ_BUFFER: usize = 1024;

fn ws_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(WS_READ_BUFFER)
}

/// The socket's stream: plain or TLS behind one pointer, so that a plain socket does not
/// carry the room of a TLS session (about 1 KiB) in its state.
type Stream = UpgradeIo<BoxedIo>;
type Ws = tokio_tungstenite::WebSocketStream<Stream>;

/// Opens the socket, through the client's proxy when one applies (the whole of it,
/// proxy included, runs under the connect timeout).
pub(crate) async fn connect(
    settings: &WsSettings,
    target: &SecretString,
) -> Result<Socket, ConnectError> {
    let uri = target.expose_secret();
    let url = Url::parse(uri).map_err(|e| {
        ConnectError::Connect(TransportError::with_source(
            format!("invalid event stream URI {}: {e}", masked_uri(target)),
            e,
        ))
    })?;
    let stream: BoxedIo = match settings.proxy.intercept_for(&url) {
        None => {
            let host = url.host_str().unwrap_or_default();
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port = url.port_or_known_default().unwrap_or(80);
            let tcp = tokio::net::TcpStream::connect((host, port))
                .await
                .map_err(|e| {
                    ConnectError::Connect(TransportError::with_source(
                        format!("cannot connect to {}: {e}", masked_uri(target)),
                        e,
                    ))
                })?;
            let _ = tcp.set_nodelay(true);
            Box::new(tcp)
        }
        Some(proxy) => {
            let tls = tls_config(settings.tls.as_ref())
                .map_err(|m| ConnectError::Connect(TransportError::new(m)))?;
            tunnel(&url, &proxy, tls).await?
        }
    };
    let stream = secure(&url, stream, settings.tls.as_ref())
        .await
        .map_err(|e| secure_error(target, e))?;
    let opened =
        tokio_tungstenite::client_async_with_config(uri, UpgradeIo::new(stream), Some(ws_config()))
            .await;
    match opened {
        Ok((ws, _)) => Ok(Socket(Box::new(with_small_buffer(ws).await))),
        Err(e) => Err(upgrade_error(target, e)),
    }
}

/// TLS over `stream` for a `wss:` URL (the client's extra roots, else the public webpki
/// roots, as tungstenite would); the plain stream for `ws:`.
async fn secure(
    url: &Url,
    stream: BoxedIo,
    roots: Option<&Arc<rustls::ClientConfig>>,
) -> std::io::Result<BoxedIo> {
    if url.scheme() != "wss" {
        return Ok(stream);
    }
    let config = tls_config(roots).map_err(std::io::Error::other)?;
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|e| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{host}: {e}"))
    })?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await?;
    Ok(Box::new(tls))
}

/// The upgraded socket rebuilt around its stream with a read buffer of [`WS_READ_BUFFER`]
/// (tungstenite keeps the 4 KiB buffer of its handshake otherwise: see [`UpgradeIo`]). Kept
/// as it is when its buffer may hold bytes past the upgrade's answer.
async fn with_small_buffer(mut ws: Ws) -> Ws {
    let Some(rest) = ws.get_mut().take_rest() else {
        return ws;
    };
    tokio_tungstenite::WebSocketStream::from_partially_read(
        ws.into_inner(),
        rest,
        Role::Client,
        Some(ws_config()),
    )
    .await
}

/// A failed TLS handshake (with a hint at the likely fix), or another failure of the
/// connection during it.
fn secure_error(target: &SecretString, e: std::io::Error) -> ConnectError {
    match rustls_cause(&e).map(tls_hint) {
        Some(hint) => ConnectError::Tls(TransportError::with_source(
            format!("event stream {}: {e}{hint}", masked_uri(target)),
            e,
        )),
        None => ConnectError::Connect(TransportError::with_source(
            format!("cannot connect to {}: {e}", masked_uri(target)),
            e,
        )),
    }
}

/// A failed upgrade: refused (the service's status), or the connection failed during it.
fn upgrade_error(target: &SecretString, e: WsError) -> ConnectError {
    {
        // Unmasked here: the error masks its whole text when shown.
        let text = e.to_string();
        let tls = match &e {
            WsError::Tls(_) => Some(""),
            other => rustls_cause(other).map(tls_hint),
        };
        match (tls, &e) {
            (Some(hint), _) => ConnectError::Tls(TransportError::with_source(
                format!("event stream {}: {text}{hint}", masked_uri(target)),
                e,
            )),
            (None, WsError::Http(response)) => ConnectError::HandshakeRefused {
                status: response.status().as_u16(),
            },
            (None, _) => ConnectError::Connect(TransportError::with_source(text, e)),
        }
    }
}

/// Opens a socket to `url` directly (no proxy, tungstenite's TLS defaults), sending `origin`
/// as the `Origin` header when given. A refused upgrade is `HandshakeRefused`.
pub(crate) async fn connect_direct(
    url: &str,
    origin: Option<&str>,
) -> Result<Socket, ConnectError> {
    let mut request = url
        .into_client_request()
        .map_err(|e| ConnectError::Connect(TransportError::with_source(e.to_string(), e)))?;
    if let Some(origin) = origin {
        let value = http::HeaderValue::from_str(origin).map_err(|_| {
            ConnectError::Connect(TransportError::new(format!("bad origin {origin:?}")))
        })?;
        request.headers_mut().insert(http::header::ORIGIN, value);
    }
    let parsed = Url::parse(url)
        .map_err(|e| ConnectError::Connect(TransportError::with_source(e.to_string(), e)))?;
    let host = parsed.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = parsed.port_or_known_default().unwrap_or(80);
    let connect_failed =
        |e: std::io::Error| ConnectError::Connect(TransportError::with_source(e.to_string(), e));
    let tcp = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(connect_failed)?;
    let _ = tcp.set_nodelay(true);
    let stream = secure(&parsed, Box::new(tcp), None)
        .await
        .map_err(connect_failed)?;
    let opened = tokio_tungstenite::client_async_with_config(
        request,
        UpgradeIo::new(stream),
        Some(ws_config()),
    )
    .await;
    match opened {
        Ok((ws, _)) => Ok(Socket(Box::new(with_small_buffer(ws).await))),
        Err(WsError::Http(r)) => Err(ConnectError::HandshakeRefused {
            status: r.status().as_u16(),
        }),
        Err(e) => Err(ConnectError::Connect(TransportError::with_source(
            e.to_string(),
            e,
        ))),
    }
}

/// An open WebSocket (boxed: the socket, TLS state included, is large, and a task's state
/// would otherwise hold it twice).
pub(crate) struct Socket(Box<Ws>);

impl Socket {
    /// The next frame; `None` when the socket ended without a close frame. Errors are
    /// masked text.
    pub(crate) async fn next(&mut self) -> Option<Result<Frame, String>> {
        let frame = match self.0.next().await? {
            Err(e) => return Some(Err(mask_secrets(&e.to_string()).into_owned())),
            Ok(Message::Text(t)) => Frame::Text(t.to_string()),
            Ok(Message::Binary(b)) => match String::from_utf8(b.to_vec()) {
                Ok(t) => Frame::Text(t),
                Err(_) => Frame::Other,
            },
            Ok(Message::Close(frame)) => {
                Frame::Close(frame.map(|f| (u16::from(f.code), f.reason.to_string())))
            }
            Ok(Message::Pong(_)) => Frame::Pong,
            Ok(_) => Frame::Other,
        };
        Some(Ok(frame))
    }

    /// Sends a text frame.
    pub(crate) async fn send_text(&mut self, text: String) -> Result<(), String> {
        self.0
            .send(Message::text(text))
            .await
            .map_err(|e| mask_secrets(&e.to_string()).into_owned())
    }

    /// Sends a ping; `true` (a pong will follow as [`Frame::Pong`]).
    pub(crate) async fn ping(&mut self) -> Result<bool, String> {
        self.0
            .send(Message::Ping(Vec::new().into()))
            .await
            .map(|()| true)
            .map_err(|e| mask_secrets(&e.to_string()).into_owned())
    }

    /// Closes the socket politely (close frame, then waits for the peer's).
    pub(crate) async fn close(&mut self) {
        let _ = SinkExt::close(&mut *self.0).await;
    }
}
