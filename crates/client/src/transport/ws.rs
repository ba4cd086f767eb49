//! The event stream's socket: a WebSocket opened directly or through the client's proxy,
//! with TLS verified against the client's roots.

use super::proxy::{tunnel, BoxedIo, ConnectError, ProxyMode};
use super::tls::tls_config;
use crate::error::{rustls_cause, tls_hint};
use crate::secret::mask_secrets;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Error as WsError;
use url::Url;

/// How a client opens WebSockets: its proxy choice and, when extra roots are trusted, its
/// TLS settings (else tungstenite's default: the public webpki roots). Shared by
/// `with_jwt` children.
#[derive(Clone)]
pub(crate) struct WsSettings {
    pub(crate) proxy: ProxyMode,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
}

/// Event frames are small JSON texts. tungstenite's default 128 KiB read buffer is
/// zero-filled on every read and stays resident per socket: with 10,000 chats in one process
/// it was most of the per-chat memory (measured with `guest-chat load`).
const WS_READ_BUFFER: usize = 4 * 1024;

fn ws_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(WS_READ_BUFFER)
}

/// An open event-stream socket.
pub(crate) type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<BoxedIo>>;

/// Opens the socket, through the client's proxy when one applies (the whole of it,
/// proxy included, runs under the connect timeout).
pub(crate) async fn connect(
    settings: &WsSettings,
    target: &SecretString,
) -> Result<Box<Ws>, ConnectError> {
    let uri = target.expose_secret();
    let url = Url::parse(uri).map_err(|e| {
        ConnectError::Other(format!(
            "invalid event stream URI {}: {e}",
            masked_uri(target)
        ))
    })?;
    let config = Some(ws_config());
    // `None` for a client without extra roots: tungstenite's default (webpki roots).
    let connector = settings
        .tls
        .as_ref()
        .map(|c| tokio_tungstenite::Connector::Rustls(Arc::clone(c)));
    let stream: BoxedIo = match settings.proxy.intercept_for(&url) {
        None => {
            let host = url.host_str().unwrap_or_default();
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port = url.port_or_known_default().unwrap_or(80);
            let tcp = tokio::net::TcpStream::connect((host, port))
                .await
                .map_err(|e| {
                    ConnectError::Other(format!("cannot connect to {}: {e}", masked_uri(target)))
                })?;
            let _ = tcp.set_nodelay(true);
            Box::new(tcp)
        }
        Some(proxy) => {
            let tls = tls_config(settings.tls.as_ref()).map_err(ConnectError::Other)?;
            tunnel(&url, &proxy, tls).await?
        }
    };
    let opened =
        tokio_tungstenite::client_async_tls_with_config(uri, stream, config, connector).await;
    // Boxed: the socket (TLS state included) is large, and the task's state would
    // otherwise hold it twice (the connect result and the read loop).
    opened.map(|(ws, _)| Box::new(ws)).map_err(|e| {
        let text = mask_secrets(&e.to_string()).into_owned();
        let tls = match &e {
            WsError::Tls(_) => Some(""),
            other => rustls_cause(other).map(tls_hint),
        };
        match tls {
            Some(hint) => {
                ConnectError::Tls(format!("event stream {}: {text}{hint}", masked_uri(target)))
            }
            None => ConnectError::Other(text),
        }
    })
}

/// The URI with its JWT masked, for messages.
pub(crate) fn masked_uri(uri: &SecretString) -> String {
    crate::secret::mask_secrets(uri.expose_secret()).into_owned()
}
