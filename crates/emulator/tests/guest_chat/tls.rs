//! The emulator over real TLS: https REST, wss event stream, a user's own certificate,
//! failed handshakes that leave the server serving, and a prompt shutdown.

use crate::support::{post_create, BASE, WAIT};
use futures::StreamExt;
use guest_chat_emulator::{Emulator, EmulatorError, EmulatorHandle, EmulatorTls};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

/// Creates a chat over `c` (asserting 200); the answer as JSON.
async fn create_json(c: &reqwest::Client, emu: &EmulatorHandle) -> Value {
    let r = post_create(c, emu).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.expect("json")
}

async fn start(tls: EmulatorTls) -> EmulatorHandle {
    Emulator::builder()
        .agent_delay(Duration::from_millis(5))
        .tls(tls)
        .start()
        .await
        .expect("emulator starts")
}

/// A REST client trusting only the public roots plus `pem` (when given).
fn http(pem: Option<&str>) -> reqwest::Client {
    let mut b = reqwest::Client::builder().use_rustls_tls();
    if let Some(pem) = pem {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("pem"));
    }
    b.build().expect("client")
}

/// rustls settings for tungstenite trusting `pem`.
fn ws_connector(pem: &str) -> Connector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.expect("cert")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Connector::Rustls(Arc::new(config))
}

#[tokio::test]
async fn self_signed_https_and_wss_end_to_end() {
    let emu = start(EmulatorTls::self_signed()).await;
    let base = emu.base_url();
    assert_eq!(base, format!("https://{}", emu.local_addr()));
    let pem = emu.tls_certificate_pem().expect("a certificate to trust");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");

    let created = create_json(&http(Some(&pem)), &emu).await;
    let uri = created["eventStreamUri"].as_str().expect("uri");
    let prefix = format!("wss://{}/chat/jwt/", emu.local_addr());
    assert!(uri.starts_with(&prefix), "{uri}");

    let (mut ws, _) = timeout(
        WAIT,
        tokio_tungstenite::connect_async_tls_with_config(uri, None, true, Some(ws_connector(&pem))),
    )
    .await
    .expect("in time")
    .expect("wss handshake with the trusted certificate");
    // The first frames over wss are the member changes of the routed chat.
    let frame = timeout(WAIT, ws.next())
        .await
        .expect("a frame in time")
        .expect("open")
        .expect("frame");
    let Message::Text(text) = frame else {
        panic!("expected a text frame, got {frame:?}");
    };
    let v: Value = serde_json::from_str(text.as_str()).expect("json frame");
    assert_eq!(v["metadata"]["type"], "member-change", "{v}");
    drop(ws);
    emu.shutdown().await;
}

#[tokio::test]
async fn failed_handshakes_do_not_stop_the_server() {
    let emu = start(EmulatorTls::self_signed()).await;
    let pem = emu.tls_certificate_pem().expect("pem");

    // A client that does not trust the certificate.
    let err = http(None)
        .post(format!("{}{BASE}", emu.base_url()))
        .json(&json!({}))
        .send()
        .await
        .expect_err("untrusted certificate");
    assert!(err.is_connect(), "{err:?}");
    // Plain HTTP to the TLS port.
    let plain = http(None)
        .get(format!("http://{}{BASE}/x", emu.local_addr()))
        .send()
        .await;
    assert!(
        plain.map(|r| r.status().is_success()).ok() != Some(true),
        "plain HTTP must not be served"
    );
    // Garbage bytes, then a half-open connection that never finishes its handshake.
    let mut junk = TcpStream::connect(emu.local_addr()).await.expect("tcp");
    junk.write_all(b"\x16\x03\x01\x00\x05hello world")
        .await
        .expect("write");
    let mut buf = [0u8; 64];
    let _ = timeout(WAIT, junk.read(&mut buf))
        .await
        .expect("answered or closed");
    let _idle = TcpStream::connect(emu.local_addr()).await.expect("tcp");

    // The server still serves a trusting client.
    let created = create_json(&http(Some(&pem)), &emu).await;
    assert!(created["id"].is_string());

    // And shuts down promptly although a connection is still open.
    let started = Instant::now();
    emu.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "shutdown took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_users_own_certificate_is_served() {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    let emu = start(EmulatorTls::from_pem(cert.pem(), key.serialize_pem()).expect("valid")).await;
    assert_eq!(
        emu.tls_certificate_pem().as_deref(),
        Some(cert.pem().as_str())
    );
    let created = create_json(&http(Some(&cert.pem())), &emu).await;
    assert!(created["eventStreamUri"]
        .as_str()
        .is_some_and(|u| u.starts_with("wss://")));
    emu.shutdown().await;
}

#[tokio::test]
async fn unusable_certificates_are_typed_errors() {
    let garbage = EmulatorTls::from_pem("not a certificate", "not a key");
    assert!(matches!(garbage, Err(EmulatorError::Tls(_))), "{garbage:?}");
    let missing = EmulatorTls::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem");
    assert!(matches!(missing, Err(EmulatorError::Tls(_))), "{missing:?}");
    // A plain emulator has no certificate and keeps http/ws.
    let emu = Emulator::builder().start().await.expect("plain");
    assert!(emu.base_url().starts_with("http://"));
    assert_eq!(emu.tls_certificate_pem(), None);
    let created = create_json(&http(None), &emu).await;
    assert!(created["eventStreamUri"]
        .as_str()
        .is_some_and(|u| u.starts_with("ws://")));
    emu.shutdown().await;
}
