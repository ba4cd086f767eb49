//! Errors a user sees: one line on stderr for an unreachable host, an HTTP error or a TLS
//! failure (with an accurate hint), exit 2 for bad flags, `--help` texts, and no JWT ever.

use crate::support::*;

#[test]
fn unreachable_host_is_one_line_on_stderr() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let mut argv = vec!["chat", "--plain", "--name", "n"];
    argv.extend(deployment(&url, "q"));
    let (status, out, err) = run(&argv);
    assert!(!status.success());
    assert_eq!(status.code(), Some(1));
    assert_eq!(err.trim_end().lines().count(), 1, "stderr: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.is_empty(), "stdout: {out}");
}

#[test]
fn http_4xx_shows_the_genesys_code_and_correlation_id() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let config = guest_chat_emulator::EmulatorConfig::from_json_str(r#"{"queues":["Support"]}"#)
        .expect("config");
    let emu = rt
        .block_on(
            guest_chat_emulator::Emulator::builder()
                .config(config)
                .start(),
        )
        .expect("emulator");
    let url = emu.base_url();
    let mut argv = vec!["chat", "--plain"];
    argv.extend(deployment(&url, "No Such Queue"));
    let (status, _, err) = run(&argv);
    rt.block_on(emu.shutdown());
    assert_eq!(status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "stderr: {err}");
    assert!(
        err.contains("HTTP 400 Bad Request: chat.error.invalid.queue"),
        "{err}"
    );
    assert!(err.contains("(correlation id "), "{err}");
}

#[test]
fn bad_flags_exit_2() {
    let (status, _, err) = run(&["chat", "--environment", "mypurecloud.ie"]);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("--organization-id"), "{err}");
    let (status, _, _) = run(&["chat", "--json"]);
    assert_eq!(status.code(), Some(2));
    let (status, _, _) = run(&["nonsense"]);
    assert_eq!(status.code(), Some(2));
}

#[test]
fn help_has_examples() {
    let (status, out, _) = run(&["--help"]);
    assert!(status.success());
    for cmd in ["demo", "chat", "emulator", "Examples:"] {
        assert!(out.contains(cmd), "{cmd} missing from:\n{out}");
    }
    let (status, out, _) = run(&["emulator", "--help"]);
    assert!(status.success());
    for flag in [
        "--port",
        "--agent",
        "--heartbeat-secs",
        "--rate-limit",
        "--fault",
        "--tls",
        "--tls-cert-out",
        "--tls-cert",
        "--tls-key",
    ] {
        assert!(out.contains(flag), "{flag} missing from:\n{out}");
    }
    let (status, out, _) = run(&["chat", "--help"]);
    assert!(status.success());
    for flag in [
        "--environment",
        "--plain",
        "--json",
        "--config",
        "--email",
        "--root-cert",
    ] {
        assert!(out.contains(flag), "{flag} missing from:\n{out}");
    }
}

/// A JWT-shaped token as a hostile server would echo it.
const HOSTILE_JWT: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJndWVzdC0xMjM0NTY3ODkwIn0.c2lnbmF0dXJlLW9mLXRoZS1ndWVzdC10b2tlbi0xMjM0NTY3ODkw";

/// Issue 10 F1: a server that puts a JWT in `ININ-Correlation-Id` (and the body) does not get
/// it printed. Before: the error line ended in `(correlation id eyJ...)`.
#[test]
fn a_jwt_in_the_correlation_id_is_never_printed() {
    use axum::http::{HeaderValue, StatusCode};
    use axum::response::IntoResponse;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = axum::Router::new().fallback(|| async {
        let body = format!(
            r#"{{"status":400,"code":"bad.request","message":"no","contextId":"{HOSTILE_JWT}"}}"#
        );
        let mut resp = (StatusCode::BAD_REQUEST, body).into_response();
        let h = resp.headers_mut();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("inin-correlation-id", HeaderValue::from_static(HOSTILE_JWT));
        resp
    });
    rt.spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://127.0.0.1:{port}");
    let mut argv = vec!["chat", "--plain"];
    argv.extend(deployment(&url, "Support"));
    let (status, out, err) = run(&argv);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("HTTP 400"), "{err}");
    let signature = HOSTILE_JWT.rsplit('.').next().expect("signature");
    for piece in [
        HOSTILE_JWT,
        signature,
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9",
    ] {
        assert!(!err.contains(piece), "token printed: {err}");
        assert!(!out.contains(piece), "token printed: {out}");
    }
}

/// Issue 10 F11: a name mismatch, an expired certificate and https to a plain-http port each
/// get their own hint. Before: all three said "pass it with --root-cert".
#[test]
fn tls_failures_get_accurate_hints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = test_certificate(dir.path(), "chat.example.test", (2020, 2090));
    let (mut emu, url) = emulator_url(&["--tls-cert", &cert, "--tls-key", &key]);
    let err = chat_error(&url, Some(&cert));
    let _ = emu.kill();
    let _ = emu.wait();
    assert!(err.contains("not valid for this host name"), "{err}");
    assert!(!err.contains("--root-cert"), "{err}");

    let (cert, key) = test_certificate(dir.path(), "localhost", (2001, 2002));
    let (mut emu, url) = emulator_url(&["--tls-cert", &cert, "--tls-key", &key]);
    let url = url.replace("127.0.0.1", "localhost");
    let err = chat_error(&url, Some(&cert));
    let _ = emu.kill();
    let _ = emu.wait();
    assert!(err.contains("expired"), "{err}");
    assert!(!err.contains("--root-cert"), "{err}");

    let (mut emu, url) = emulator_url(&[]);
    let err = chat_error(&url.replace("http://", "https://"), None);
    let _ = emu.kill();
    let _ = emu.wait();
    assert!(err.contains("http://"), "{err}");
    assert!(!err.contains("--root-cert"), "{err}");
}
