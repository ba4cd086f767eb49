//! Opening the event-stream socket through the same proxy as the client's REST calls.
//!
//! `tokio_tungstenite::connect_async` ignores proxies, so an app behind a corporate proxy
//! would get REST but no events. Here the TCP stream is opened first (directly, through an
//! `http://` proxy with `CONNECT host:port`, through an `https://` proxy (the same `CONNECT`
//! inside TLS to the proxy, which is verified like any server), or through a SOCKS5 proxy),
//! then the WebSocket handshake (and TLS for `wss`) runs over it.
//!
//! Messages never carry the proxy's credentials or the JWT of the URI.

use std::net::IpAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

/// A byte stream a WebSocket can run over: TCP, or a tunnel through a proxy (maybe in TLS).
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The stream under every event-stream socket.
pub(crate) type BoxedIo = Box<dyn Io>;

/// The largest proxy answer head we read.
const MAX_HEAD: usize = 8 * 1024;

/// Why the socket could not be opened.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// The proxy wants (other) credentials: retrying cannot help.
    ProxyAuth(String),
    /// The TLS handshake with the server failed (untrusted certificate...): retrying with
    /// the same trust roots cannot help. Masked text.
    Tls(String),
    /// Anything else (masked text).
    Other(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::ProxyAuth(m) | ConnectError::Tls(m) | ConnectError::Other(m) => {
                f.write_str(m)
            }
        }
    }
}

/// A proxy URL as `reqwest::Proxy` takes it (`host:port` alone means `http://host:port`).
pub(crate) fn parse_proxy_url(text: &str) -> Option<Url> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let url = if text.contains("://") {
        Url::parse(text).ok()?
    } else {
        Url::parse(&format!("http://{text}")).ok()?
    };
    url.host_str()?;
    Some(url)
}

fn env_var(names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .find(|v| !v.trim().is_empty())
}

/// The proxy the environment gives for `target`, the way reqwest reads it: `HTTPS_PROXY`
/// (`wss`) or `HTTP_PROXY` (`ws`; the upper-case name is ignored in CGI programs), then
/// `ALL_PROXY`, each upper case first; `NO_PROXY` exempts hosts.
pub(crate) fn from_env(target: &Url) -> Option<Url> {
    let host = target.host_str()?;
    let secure = matches!(target.scheme(), "wss" | "https");
    let specific = if secure {
        env_var(&["HTTPS_PROXY", "https_proxy"])
    } else if std::env::var_os("REQUEST_METHOD").is_some() {
        env_var(&["http_proxy"])
    } else {
        env_var(&["HTTP_PROXY", "http_proxy"])
    };
    let proxy = specific.or_else(|| env_var(&["ALL_PROXY", "all_proxy"]))?;
    if let Some(no_proxy) = env_var(&["NO_PROXY", "no_proxy"]) {
        if no_proxy_matches(&no_proxy, host) {
            return None;
        }
    }
    parse_proxy_url(&proxy)
}

/// `NO_PROXY` rules: `*` (everything), IP addresses, CIDR ranges, and domains (a domain,
/// with or without a leading `.` or `*.`, matches itself and its subdomains).
pub(crate) fn no_proxy_matches(no_proxy: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host_ip: Option<IpAddr> = host.parse().ok();
    let host = host.to_ascii_lowercase();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.trim_start_matches('[').trim_end_matches(']');
            if let Some(ip) = host_ip {
                if let Ok(e) = entry.parse::<IpAddr>() {
                    return e == ip;
                }
                if let Some((net, bits)) = entry.split_once('/') {
                    return in_cidr(ip, net, bits);
                }
                return false;
            }
            let domain = entry
                .trim_start_matches("*.")
                .trim_start_matches('.')
                .to_ascii_lowercase();
            !domain.is_empty()
                && (host == domain
                    || (host.ends_with(&domain)
                        && host[..host.len() - domain.len()].ends_with('.')))
        })
}

fn in_cidr(ip: IpAddr, net: &str, bits: &str) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// `host:port` of a URL (IPv6 in brackets), without credentials.
fn authority(url: &Url) -> Option<(String, u16)> {
    Some((url.host_str()?.to_owned(), url.port_or_known_default()?))
}

fn other(message: impl Into<String>) -> ConnectError {
    ConnectError::Other(message.into())
}

/// Opens a TCP stream to `target` (a `ws`/`wss` URL) through `proxy`; `tls` verifies an
/// `https://` proxy.
pub(crate) async fn tunnel(
    target: &Url,
    proxy: &Url,
    tls: Arc<rustls::ClientConfig>,
) -> Result<BoxedIo, ConnectError> {
    let (host, port) =
        authority(target).ok_or_else(|| other("the event stream URI has no host"))?;
    let (proxy_host, proxy_port) =
        authority(proxy).ok_or_else(|| other("the proxy URL has no host or port"))?;
    let proxy_at = format!("{proxy_host}:{proxy_port}");
    let scheme = proxy.scheme().to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https" | "socks5" | "socks5h") {
        return Err(other(format!(
            "{scheme}:// proxies are not supported for the event stream (use http://, https:// or socks5://)"
        )));
    }
    let mut stream = TcpStream::connect(&proxy_at)
        .await
        .map_err(|e| other(format!("cannot reach the proxy {proxy_at}: {e}")))?;
    let _ = stream.set_nodelay(true);
    let user = percent_decode(proxy.username());
    let password = percent_decode(proxy.password().unwrap_or(""));
    let credentials = (!user.is_empty() || proxy.password().is_some()).then_some((user, password));
    match scheme.as_str() {
        "http" => {
            http_connect(&mut stream, &host, port, credentials, &proxy_at).await?;
            Ok(Box::new(stream))
        }
        "https" => {
            let name = rustls::pki_types::ServerName::try_from(
                proxy_host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned(),
            )
            .map_err(|e| {
                other(format!(
                    "proxy {proxy_at}: not a valid TLS server name: {e}"
                ))
            })?;
            let mut stream = tokio_rustls::TlsConnector::from(tls)
                .connect(name, stream)
                .await
                .map_err(|e| {
                    let hint = crate::error::rustls_cause(&e)
                        .map(crate::error::tls_hint)
                        .unwrap_or("");
                    ConnectError::Tls(format!(
                        "TLS handshake with the proxy {proxy_at} failed: {e}{hint}"
                    ))
                })?;
            http_connect(&mut stream, &host, port, credentials, &proxy_at).await?;
            Ok(Box::new(stream))
        }
        _ => {
            socks5_connect(
                &mut stream,
                &host,
                port,
                scheme == "socks5h",
                credentials,
                &proxy_at,
            )
            .await?;
            Ok(Box::new(stream))
        }
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

async fn http_connect<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    host: &str,
    port: u16,
    credentials: Option<(String, String)>,
    proxy_at: &str,
) -> Result<(), ConnectError> {
    let mut request = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
    if let Some((user, password)) = credentials {
        request.push_str("Proxy-Authorization: Basic ");
        request.push_str(&base64(format!("{user}:{password}").as_bytes()));
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let io = |e: std::io::Error| other(format!("proxy {proxy_at}: {e}"));
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    // Byte by byte: whatever follows the head belongs to the tunnel.
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(other(format!(
                "proxy {proxy_at}: answer to CONNECT too long"
            )));
        }
        let byte = stream.read_u8().await.map_err(|e| {
            other(format!(
                "proxy {proxy_at} closed the connection during CONNECT: {e}"
            ))
        })?;
        head.push(byte);
    }
    let text = String::from_utf8_lossy(&head);
    let status_line = text.lines().next().unwrap_or("").trim().to_owned();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok());
    match status {
        Some(200..=299) => Ok(()),
        Some(407) => Err(ConnectError::ProxyAuth(format!(
            "proxy {proxy_at} refused CONNECT {host}:{port}: {status_line} (check the proxy credentials)"
        ))),
        _ => Err(other(format!(
            "proxy {proxy_at} refused CONNECT {host}:{port}: {status_line}"
        ))),
    }
}

async fn socks5_connect(
    stream: &mut TcpStream,
    host: &str,
    port: u16,
    remote_dns: bool,
    credentials: Option<(String, String)>,
    proxy_at: &str,
) -> Result<(), ConnectError> {
    let io = |e: std::io::Error| other(format!("SOCKS5 proxy {proxy_at}: {e}"));
    let method = if credentials.is_some() { 2u8 } else { 0u8 };
    stream.write_all(&[5, 1, method]).await.map_err(io)?;
    let mut reply = [0u8; 2];
    stream.read_exact(&mut reply).await.map_err(io)?;
    if reply[0] != 5 {
        return Err(other(format!("{proxy_at} is not a SOCKS5 proxy")));
    }
    match (reply[1], &credentials) {
        (0, _) => {}
        (2, Some((user, password))) => {
            let (u, p) = (user.as_bytes(), password.as_bytes());
            if u.len() > 255 || p.len() > 255 {
                return Err(other("SOCKS5 user name or password longer than 255 bytes"));
            }
            let mut auth = vec![1, u.len() as u8];
            auth.extend_from_slice(u);
            auth.push(p.len() as u8);
            auth.extend_from_slice(p);
            stream.write_all(&auth).await.map_err(io)?;
            stream.read_exact(&mut reply).await.map_err(io)?;
            if reply[1] != 0 {
                return Err(ConnectError::ProxyAuth(format!(
                    "SOCKS5 proxy {proxy_at} refused the credentials"
                )));
            }
        }
        _ => {
            return Err(ConnectError::ProxyAuth(format!(
                "SOCKS5 proxy {proxy_at} accepts none of the offered authentication methods"
            )))
        }
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let ip = match bare.parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) if remote_dns => None,
        Err(_) => Some(
            tokio::net::lookup_host((bare, port))
                .await
                .ok()
                .and_then(|mut a| a.next())
                .map(|a| a.ip())
                .ok_or_else(|| other(format!("cannot resolve {host}")))?,
        ),
    };
    let mut request = vec![5, 1, 0];
    match ip {
        Some(IpAddr::V4(v4)) => {
            request.push(1);
            request.extend_from_slice(&v4.octets());
        }
        Some(IpAddr::V6(v6)) => {
            request.push(4);
            request.extend_from_slice(&v6.octets());
        }
        None => {
            if bare.len() > 255 {
                return Err(other("host name longer than 255 bytes"));
            }
            request.push(3);
            request.push(bare.len() as u8);
            request.extend_from_slice(bare.as_bytes());
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    stream.write_all(&request).await.map_err(io)?;
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).await.map_err(io)?;
    if head[1] != 0 {
        let why = match head[1] {
            1 => "general failure",
            2 => "connection not allowed by ruleset",
            3 => "network unreachable",
            4 => "host unreachable",
            5 => "connection refused",
            6 => "TTL expired",
            7 => "command not supported",
            8 => "address type not supported",
            _ => "unknown error",
        };
        return Err(other(format!(
            "SOCKS5 proxy {proxy_at} refused {host}:{port}: {why}"
        )));
    }
    // The bound address: skip it.
    let skip = match head[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => usize::from(stream.read_u8().await.map_err(io)?) + 2,
        _ => return Err(other(format!("SOCKS5 proxy {proxy_at}: malformed reply"))),
    };
    let mut rest = vec![0u8; skip];
    stream.read_exact(&mut rest).await.map_err(io)?;
    Ok(())
}

/// Standard base64 with padding (for `Proxy-Authorization: Basic`).
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("user:pa ss", "dXNlcjpwYSBzcw=="),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn no_proxy_rules() {
        let rules = "localhost, .corp.example, example.org,10.0.0.0/8, ::1 ,192.168.1.7";
        for host in [
            "localhost",
            "a.corp.example",
            "corp.example",
            "example.org",
            "www.EXAMPLE.org",
            "10.1.2.3",
            "[::1]",
            "192.168.1.7",
        ] {
            assert!(no_proxy_matches(rules, host), "{host}");
        }
        for host in [
            "notexample.org",
            "example.com",
            "11.0.0.1",
            "192.168.1.8",
            "xlocalhost",
        ] {
            assert!(!no_proxy_matches(rules, host), "{host}");
        }
        assert!(no_proxy_matches("*", "anything"));
        assert!(!no_proxy_matches("", "anything"));
    }

    #[test]
    fn proxy_urls_like_reqwest() {
        assert_eq!(
            parse_proxy_url("127.0.0.1:3128").unwrap().as_str(),
            "http://127.0.0.1:3128/"
        );
        assert_eq!(
            parse_proxy_url("socks5://u:p@h:1080").unwrap().scheme(),
            "socks5"
        );
        assert!(parse_proxy_url("").is_none());
    }
}
