//! Opening the event-stream socket through the same proxy as the client's REST calls.
//!
//! `tokio_tungstenite::connect_async` ignores proxies, so an app behind a corporate proxy
//! would get REST but no events. Here the TCP stream is opened first (directly, through an
//! `http://` proxy with `CONNECT host:port`, through an `https://` proxy (the same `CONNECT`
//! inside TLS to the proxy, which is verified like any server), or through a SOCKS5 proxy),
//! then the WebSocket handshake (and TLS for `wss`) runs over it.
//!
//! The plumbing is hyper-util's: its proxy [`Matcher`] reads the proxy environment variables
//! and `NO_PROXY` (domains, IP addresses, CIDR ranges) the way reqwest does for REST, and its
//! [`Tunnel`] and [`SocksV5`] connectors speak `CONNECT` and SOCKS5. This module only picks
//! the proxy, opens the connection to it (TLS for an `https://` proxy) and turns failures into
//! [`ConnectError`]s. Messages never carry the proxy's credentials or the JWT of the URI.

use crate::error::TransportError;
use hyper_util::client::legacy::connect::proxy::{SocksV5, Tunnel};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tower_service::Service;
use url::Url;

pub(crate) use super::{ConnectError, ProxyMode};

/// A byte stream a WebSocket can run over: TCP, or a tunnel through a proxy (maybe in TLS).
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The stream under every event-stream socket.
pub(crate) type BoxedIo = Box<dyn Io>;

impl ProxyMode {
    /// The proxy for a WebSocket `url` (`ws`/`wss`), chosen as for REST: the builder's
    /// proxy, none, or the proxy environment variables (read now).
    pub(crate) fn intercept_for(&self, url: &Url) -> Option<Intercept> {
        let matcher = match self {
            ProxyMode::Disabled => return None,
            ProxyMode::Explicit(p) => explicit(p),
            ProxyMode::System => from_env(),
        };
        intercept(&matcher, url)
    }
}

/// The matcher for a proxy URL given to the builder (`host:port` alone means
/// `http://host:port`, as `reqwest::Proxy` takes it): every host goes through it.
pub(crate) fn explicit(proxy: &str) -> Matcher {
    Matcher::builder().all(proxy.trim().to_owned()).build()
}

/// The matcher the environment gives: `HTTPS_PROXY` (`wss`) or `HTTP_PROXY` (`ws`), then
/// `ALL_PROXY`, each upper case first; `NO_PROXY` exempts hosts. Read now.
pub(crate) fn from_env() -> Matcher {
    Matcher::from_env()
}

/// The proxy `matcher` gives for the WebSocket `target` (`ws` is matched as `http`, `wss`
/// as `https`), if any.
pub(crate) fn intercept(matcher: &Matcher, target: &Url) -> Option<Intercept> {
    let scheme = match target.scheme() {
        "wss" | "https" => "https",
        _ => "http",
    };
    let uri = http::Uri::builder()
        .scheme(scheme)
        .authority(authority(target)?)
        .path_and_query("/")
        .build()
        .ok()?;
    matcher.intercept(&uri)
}

/// `host:port` of a URL (IPv6 in brackets), without credentials.
fn authority(url: &Url) -> Option<String> {
    Some(format!(
        "{}:{}",
        url.host_str()?,
        url.port_or_known_default()?
    ))
}

fn other(message: impl Into<String>) -> ConnectError {
    ConnectError::Connect(TransportError::new(message))
}

/// A connector that hands hyper-util's proxy handshakes the connection we already opened
/// to the proxy (plain TCP, or TLS for an `https://` proxy).
struct Opened<S>(Option<S>);

impl<S: Send + 'static> Service<http::Uri> for Opened<S> {
    type Response = TokioIo<S>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let stream = self
            .0
            .take()
            .map(TokioIo::new)
            .ok_or_else(|| std::io::Error::other("the proxy connection was already used"));
        Box::pin(async move { stream })
    }
}

/// Opens a stream to `target` (a `ws`/`wss` URL) through `proxy`; `tls` verifies an
/// `https://` proxy.
pub(crate) async fn tunnel(
    target: &Url,
    proxy: &Intercept,
    tls: Arc<rustls::ClientConfig>,
) -> Result<BoxedIo, ConnectError> {
    let host_port = authority(target).ok_or_else(|| other("the event stream URI has no host"))?;
    let dst: http::Uri = format!("http://{host_port}/")
        .parse()
        .map_err(|e| other(format!("the event stream URI has no valid host: {e}")))?;
    let proxy_uri = proxy.uri();
    let (scheme, proxy_host, proxy_port) = proxy_endpoint(proxy_uri)?;
    let proxy_at = format!("{proxy_host}:{proxy_port}");
    let bare_host = proxy_host.trim_start_matches('[').trim_end_matches(']');
    let stream = TcpStream::connect((bare_host, proxy_port))
        .await
        .map_err(|e| {
            ConnectError::Connect(TransportError::with_source(
                format!("cannot reach the proxy {proxy_at}: {e}"),
                e,
            ))
        })?;
    let _ = stream.set_nodelay(true);
    // hyper-util's tunnel error type is private: its text tells a 407 apart.
    let refused = |e: Box<dyn std::error::Error + Send + Sync>| {
        let text = chain(&*e);
        if text.contains("proxy authorization required") {
            ConnectError::ProxyAuth(TransportError::with_source(format!(
                "proxy {proxy_at} refused CONNECT {host_port}: 407 Proxy Authentication Required (check the proxy credentials)"
            ), e))
        } else {
            ConnectError::Connect(TransportError::with_source(
                format!("proxy {proxy_at} refused CONNECT {host_port}: {text}"),
                e,
            ))
        }
    };
    match scheme.as_str() {
        "http" => {
            let mut connect = Tunnel::new(proxy_uri.clone(), Opened(Some(stream)));
            if let Some(auth) = proxy.basic_auth() {
                connect = connect.with_auth(auth.clone());
            }
            let io = connect.call(dst).await.map_err(|e| refused(e.into()))?;
            Ok(Box::new(io.into_inner()))
        }
        "https" => {
            let name =
                rustls::pki_types::ServerName::try_from(bare_host.to_owned()).map_err(|e| {
                    other(format!(
                        "proxy {proxy_at}: not a valid TLS server name: {e}"
                    ))
                })?;
            let stream = tokio_rustls::TlsConnector::from(tls)
                .connect(name, stream)
                .await
                .map_err(|e| {
                    let hint = crate::error::rustls_cause(&e).map_or("", crate::error::tls_hint);
                    ConnectError::Tls(TransportError::with_source(
                        format!("TLS handshake with the proxy {proxy_at} failed: {e}{hint}"),
                        e,
                    ))
                })?;
            let mut connect = Tunnel::new(proxy_uri.clone(), Opened(Some(stream)));
            if let Some(auth) = proxy.basic_auth() {
                connect = connect.with_auth(auth.clone());
            }
            let io = connect.call(dst).await.map_err(|e| refused(e.into()))?;
            Ok(Box::new(io.into_inner()))
        }
        _ => {
            let to = Endpoints {
                proxy_at: &proxy_at,
                host_port: &host_port,
            };
            socks_tunnel(proxy, stream, dst, scheme == "socks5", &to).await
        }
    }
}

/// The proxy's scheme (lower case), host and port (by default 80 for `http`, 443 for `https`,
/// 1080 for SOCKS5); an error for a scheme the event stream cannot tunnel through.
fn proxy_endpoint(proxy_uri: &http::Uri) -> Result<(String, String, u16), ConnectError> {
    let proxy_host = proxy_uri.host().unwrap_or_default().to_owned();
    let scheme = proxy_uri
        .scheme_str()
        .unwrap_or("http")
        .to_ascii_lowercase();
    let default_port = if scheme == "https" { 443 } else { 1080 };
    let proxy_port = proxy_uri.port_u16().unwrap_or(match scheme.as_str() {
        "http" => 80,
        _ => default_port,
    });
    if !matches!(scheme.as_str(), "http" | "https" | "socks5" | "socks5h") {
        return Err(other(format!(
            "{scheme}:// proxies are not supported for the event stream (use http://, https:// or socks5://)"
        )));
    }
    Ok((scheme, proxy_host, proxy_port))
}

/// The proxy and the target, as error messages name them.
struct Endpoints<'a> {
    proxy_at: &'a str,
    host_port: &'a str,
}

/// CONNECT to `dst` through the SOCKS5 proxy at the other end of `stream` (`local_dns`:
/// `socks5://`, the name is resolved here; `socks5h://`, by the proxy).
async fn socks_tunnel(
    proxy: &Intercept,
    stream: TcpStream,
    dst: http::Uri,
    local_dns: bool,
    to: &Endpoints<'_>,
) -> Result<BoxedIo, ConnectError> {
    let Endpoints {
        proxy_at,
        host_port,
    } = to;
    let mut connect = SocksV5::new(proxy.uri().clone(), Opened(Some(stream))).local_dns(local_dns);
    if let Some((user, password)) = proxy.raw_auth() {
        connect = connect.with_auth(user.to_owned(), password.to_owned());
    }
    let io = connect.call(dst).await.map_err(|e| {
        let text = e.to_string();
        let e: Box<dyn std::error::Error + Send + Sync> = e.into();
        if text.contains("auth") {
            ConnectError::ProxyAuth(TransportError::with_source(
                format!("SOCKS5 proxy {proxy_at} refused the credentials: {text}"),
                e,
            ))
        } else {
            ConnectError::Connect(TransportError::with_source(
                format!("SOCKS5 proxy {proxy_at} refused {host_port}: {text}"),
                e,
            ))
        }
    })?;
    Ok(Box::new(io.into_inner()))
}

/// An error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn via(matcher: &Matcher, target: &str) -> Option<String> {
        intercept(matcher, &Url::parse(target).unwrap()).map(|i| i.uri().to_string())
    }

    #[test]
    fn no_proxy_rules() {
        let matcher = Matcher::builder()
            .all("http://proxy.test:3128")
            .no("localhost, .corp.example, example.org,10.0.0.0/8, ::1 ,192.168.1.7")
            .build();
        for host in [
            "localhost",
            "a.corp.example",
            "example.org",
            "www.EXAMPLE.org",
            "10.1.2.3",
            "[::1]",
            "192.168.1.7",
        ] {
            assert_eq!(via(&matcher, &format!("wss://{host}/x")), None, "{host}");
        }
        for host in [
            "notexample.org",
            "example.com",
            "11.0.0.1",
            "192.168.1.8",
            "xlocalhost",
        ] {
            assert_eq!(
                via(&matcher, &format!("ws://{host}/x")).as_deref(),
                Some("http://proxy.test:3128/"),
                "{host}"
            );
        }
        let all = Matcher::builder().all("http://p:1").no("*").build();
        assert_eq!(via(&all, "wss://anything/"), None);
    }

    #[test]
    fn proxy_urls_like_reqwest() {
        assert_eq!(
            via(&explicit("127.0.0.1:3128"), "wss://h/").as_deref(),
            Some("http://127.0.0.1:3128/")
        );
        let socks = intercept(
            &explicit("socks5://u:p@h:1080"),
            &Url::parse("ws://x/").unwrap(),
        )
        .unwrap();
        assert_eq!(socks.uri().scheme_str(), Some("socks5"));
        assert_eq!(socks.raw_auth(), Some(("u", "p")));
        let basic = intercept(
            &explicit("http://ada:p%40ss@h:1"),
            &Url::parse("ws://x/").unwrap(),
        )
        .unwrap();
        // RFC 4648 base64 of "ada:p@ss".
        assert_eq!(basic.basic_auth().unwrap(), "Basic YWRhOnBAc3M=");
        assert!(via(&explicit(""), "ws://x/").is_none());
    }
}
