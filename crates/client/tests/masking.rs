//! Pieces of a known JWT (its signature segment alone, any 10 characters of it) are masked at
//! the SDK's one boundary: every error's `Display`/`Debug`, every SDK log entry (text and
//! JSON) and every `tracing` event. The JWT is a real signed one from the emulator; a small
//! server then echoes pieces of it the way a hostile or broken server could (in
//! `ININ-Correlation-Id`, a header, the error body).
//!
//! Own binary: the process-wide `tracing` subscriber must be installed before any event.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use purecloud_guest_chat_client::*;
use std::time::Duration;

#[path = "support/capture.rs"]
mod capture_support;

/// Installs the process-wide subscriber (events only) once.
fn capture() -> &'static capture_support::Capture {
    capture_support::install(tracing_subscriber::fmt::format::FmtSpan::NONE)
}

/// A real guest JWT, minted by the emulator for a real chat.
async fn real_jwt() -> String {
    let emu = guest_chat_emulator::Emulator::builder()
        .start()
        .await
        .expect("emulator");
    let client = ApiClient::builder()
        .environment(emu.base_url())
        .no_config_file()
        .no_proxy()
        .build()
        .unwrap();
    let created = WebChatApi::new(&client)
        .post_webchat_guest_conversations(&CreateWebChatConversationRequest::new(
            "org-1", "dep-1", "Support", "Ada",
        ))
        .await
        .expect("create");
    emu.shutdown().await;
    created.jwt.expect("jwt")
}

/// Fails when any `MIN_MASKED_PIECE` (10) consecutive characters of `jwt` appear in `text`.
fn assert_no_piece(jwt: &str, text: &str, what: &str) {
    for w in jwt.as_bytes().windows(secret::MIN_MASKED_PIECE) {
        let w = std::str::from_utf8(w).unwrap();
        assert!(!text.contains(w), "{what} holds {w:?} of the JWT:\n{text}");
    }
}

/// The JWT, its signature segment and a 10-character piece of that.
async fn jwt_signature_and_piece() -> (String, String, String) {
    let jwt = real_jwt().await;
    let sig = jwt.rsplit('.').next().unwrap().to_owned();
    assert!(sig.len() > 100, "an RS256 signature: {sig}");
    let piece = sig[20..30].to_owned();
    (jwt, sig, piece)
}

/// A server that answers every call 500, echoing the signature (in the correlation id, a
/// header and the body) and a piece of it (in the error code).
async fn hostile_server(sig: &str, piece: &str) -> std::net::SocketAddr {
    let (s, p) = (sig.to_owned(), piece.to_owned());
    let app = axum::Router::new().fallback(move || {
        let (s, p) = (s.clone(), p.clone());
        async move {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [
                    ("ININ-Correlation-Id", s.clone()),
                    ("x-detail", format!("sig {s}")),
                    ("content-type", "application/json".to_owned()),
                ],
                format!(r#"{{"status":500,"code":"bad.{p}","message":"signature {s} is bad"}}"#),
            )
                .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    addr
}

#[tokio::test]
async fn signature_segment_and_pieces_are_masked_in_errors_logs_and_tracing() {
    let capture = capture();
    let (jwt, sig, piece) = jwt_signature_and_piece().await;
    let addr = hostile_server(&sig, &piece).await;
    let dir = tempfile::tempdir().unwrap();
    let client = ApiClient::builder()
        .environment(format!("http://{addr}").as_str())
        .no_config_file()
        .no_proxy()
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
        .with_jwt(jwt.clone());
    let mut logs = Vec::new();
    for (i, format) in [LogFormat::Text, LogFormat::Json].into_iter().enumerate() {
        let path = dir.path().join(format!("sdk-{i}.log"));
        client
            .config()
            .set_logger(LoggerSettings {
                log_level: LogLevel::Trace,
                log_format: format,
                log_to_console: false,
                log_file_path: Some(path.clone()),
                log_request_body: true,
                log_response_body: true,
            })
            .unwrap();
        let e = WebChatApi::new(&client)
            .get_webchat_guest_conversation_member("c-1", "m-1")
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(500));
        // The raw data is kept (the app may need it); only what is printed is masked.
        assert_eq!(e.correlation_id(), Some(sig.as_str()));
        assert_no_piece(&jwt, &e.to_string(), "Display");
        assert_no_piece(&jwt, &format!("{e:?}"), "Debug");
        assert_no_piece(&jwt, &format!("{e:#?}"), "alternate Debug");
        let api = e.as_api().unwrap();
        assert_no_piece(&jwt, &api.to_string(), "ApiError Display");
        assert_no_piece(&jwt, &format!("{api:?}"), "ApiError Debug");
        assert!(e.to_string().contains("[REDACTED]"), "{e}");
        assert!(client.config().logger().flush(Duration::from_secs(10)));
        let log = std::fs::read_to_string(&path).unwrap();
        assert!(
            log.contains("statusCode") || log.contains("Status: 500"),
            "{log}"
        );
        logs.push(log);
    }
    assert_no_piece(&jwt, &logs[0], "text log");
    assert_no_piece(&jwt, &logs[1], "JSON log");
    for line in logs[1].lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("masking keeps JSON valid");
    }
    let traced = capture.text();
    assert!(traced.contains("HTTP exchange"), "{traced}");
    assert_no_piece(&jwt, &traced, "tracing output");
}

#[tokio::test]
async fn pieces_are_masked_in_transport_and_event_stream_errors_and_by_mask_secrets() {
    let (jwt, sig, piece) = jwt_signature_and_piece().await;
    // The SDK masks the JWTs it knows: this one, once a client holds it.
    let _holder = ApiClient::builder()
        .no_config_file()
        .no_proxy()
        .build()
        .unwrap()
        .with_jwt(jwt.clone());
    // A transport error carrying the piece (as a proxy or a library could word it).
    let e = Error::Transport(format!("connection reset by {piece}").into());
    assert_eq!(
        e.to_string(),
        "transport error: connection reset by [REDACTED]"
    );
    assert_no_piece(&jwt, &format!("{e:?}"), "Transport Debug");
    // The same at the boundary of the event stream's errors, nested ones included.
    let inner = TransportError::new(format!("socket to /chat/jwt/{jwt} reset by {piece}"));
    let e = Error::EventStream(EventStreamError::GaveUp {
        attempts: 3,
        last: Box::new(EventStreamError::Socket(inner)),
    });
    for (shown, what) in [
        (e.to_string(), "EventStream Display"),
        (format!("{e:?}"), "EventStream Debug"),
        (format!("{e:#?}"), "EventStream Debug alternate"),
    ] {
        assert_no_piece(&jwt, &shown, what);
        assert!(shown.contains("[REDACTED]"), "{shown}");
    }
    let source = std::error::Error::source(&e).expect("the stream error");
    assert_no_piece(&jwt, &source.to_string(), "EventStreamError Display");
    // The public function the CLI prints through.
    assert_eq!(
        mask_secrets(&format!("correlation id {sig}")),
        "correlation id [REDACTED]"
    );
}
