//! A tiny HTTP proxy for the proxy tests: `CONNECT host:port` tunnels and absolute-form
//! requests (`GET http://host/...`), each relayed with `copy_bidirectional`. It records
//! what it saw, and can refuse tunnels with 407.

#![allow(dead_code)] // each test binary uses part of it

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request the proxy received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// `CONNECT` or the method of a forwarded request.
    pub method: String,
    /// `host:port` of a tunnel, or the absolute URL of a forwarded request.
    pub target: String,
    /// The `Proxy-Authorization` header, if any.
    pub auth: Option<String>,
}

#[derive(Clone)]
pub(crate) struct Proxy {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// For a TLS proxy: its self-signed certificate (PEM), to trust.
    pub certificate_pem: Option<String>,
}

impl Proxy {
    /// Starts the proxy; `refuse_tunnels` answers every CONNECT with 407.
    pub(crate) async fn start(refuse_tunnels: bool) -> Proxy {
        Proxy::start_with(refuse_tunnels, None).await
    }

    /// An `https://` proxy: the same, behind TLS with a self-signed certificate for 127.0.0.1.
    pub(crate) async fn start_tls() -> Proxy {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
        let mut proxy = Proxy::start_with(
            false,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
        .await;
        proxy.certificate_pem = Some(cert.pem());
        proxy
    }

    async fn start_with(refuse_tunnels: bool, tls: Option<tokio_rustls::TlsAcceptor>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let log = log.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => {
                            let _ = serve(socket, log, refuse_tunnels).await;
                        }
                        Some(acceptor) => {
                            if let Ok(socket) = acceptor.accept(socket).await {
                                let _ = serve(socket, log, refuse_tunnels).await;
                            }
                        }
                    }
                });
            }
        });
        Proxy {
            port,
            seen,
            certificate_pem: None,
        }
    }

    pub(crate) fn url(&self) -> String {
        let scheme = if self.certificate_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub(crate) fn tunnels(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == "CONNECT")
            .collect()
    }

    pub(crate) fn forwarded(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method != "CONNECT")
            .collect()
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut client: S,
    log: Arc<Mutex<Vec<Seen>>>,
    refuse_tunnels: bool,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_owned();
    let target = first.next().unwrap_or("").to_owned();
    let auth = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_owned())
    });
    log.lock().unwrap().push(Seen {
        method: method.clone(),
        target: target.clone(),
        auth,
    });
    if method == "CONNECT" {
        if refuse_tunnels {
            client
                .write_all(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                      Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
                )
                .await?;
            return Ok(());
        }
        let mut upstream = TcpStream::connect(&target).await?;
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        upstream.write_all(&buf[head_end..]).await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    } else {
        // Absolute form: relay the whole connection to that origin (hyper accepts it).
        let authority = target
            .strip_prefix("http://")
            .and_then(|r| r.split('/').next())
            .unwrap_or("")
            .to_owned();
        let mut upstream = TcpStream::connect(&authority).await?;
        upstream.write_all(&buf).await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    }
    Ok(())
}
