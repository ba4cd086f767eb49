//! What the SDK tells an app that uses `tracing`, whatever the SDK logger's own settings.
//!
//! These tests live in their own binary with a process-wide subscriber installed before any
//! event fires: `tracing` caches each callsite's interest globally, so a scoped subscriber
//! (`with_default`) on one test thread can miss events whose callsite another test thread
//! registered first (that made CI red once).

use guest_chat_emulator::Emulator;
use http::{HeaderMap, HeaderValue};
use purecloud_guest_chat_client::logging::{HttpExchange, SdkLogger};
use purecloud_guest_chat_client::*;
use std::time::Duration;

#[path = "support/capture.rs"]
mod capture_support;

const JWT: &str =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtZW1iZXItMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
const JWT_PAYLOAD: &str = "eyJzdWIiOiJtZW1iZXItMSJ9";

/// Installs the process-wide subscriber (events and span closes) once; every test calls this
/// first.
fn capture() -> &'static capture_support::Capture {
    capture_support::install(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
}

#[test]
fn a_redacted_tracing_event_is_emitted_even_when_the_sdk_logger_is_off() {
    let capture = capture();
    let logger = SdkLogger::new(); // level none
    let mut h = HeaderMap::new();
    h.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {JWT}")).unwrap(),
    );
    let jwt = Jwt::new(JWT);
    logger.record(&HttpExchange {
        method: "GET",
        url: &format!("http://h/chat/jwt/{JWT}"),
        request_headers: &h,
        request_body: None,
        status: Some(200),
        response_headers: None,
        response_body: None,
        correlation_id: Some("corr-t"),
        error: None,
        jwt: Some(&jwt),
    });
    let out = capture.text();
    let line = out
        .lines()
        .find(|l| l.contains("corr-t"))
        .unwrap_or_else(|| panic!("no event with the correlation id in:\n{out}"));
    assert!(line.contains("purecloud_guest_chat_client::http"), "{line}");
    assert!(line.contains("http://h/chat/jwt/[REDACTED]"), "{line}");
    assert!(line.contains("200"), "{line}");
    assert!(!out.contains(JWT_PAYLOAD), "{out}");
}

#[tokio::test]
async fn tracing_spans_name_the_route_not_the_ids() {
    let capture = capture();
    let emu = Emulator::builder()
        .activate_without_stream(true)
        .agent_delay(Duration::from_millis(10))
        .start()
        .await
        .expect("emulator");
    let base = ApiClient::builder()
        .environment(emu.base_url())
        .no_config_file()
        .no_proxy()
        .build()
        .expect("client");
    let created = WebChatApi::new(&base)
        .post_webchat_guest_conversations(&CreateWebChatConversationRequest::new(
            "org-1", "dep-1", "Sales", "Ada",
        ))
        .await
        .expect("create");
    let jwt = created.jwt.clone().expect("jwt");
    let cid = created.id.expect("id");
    let mid = created.member.and_then(|m| m.id).expect("member id");
    let client = base.with_jwt(jwt.clone());
    WebChatApi::new(&client)
        .get_webchat_guest_conversation_member(&cid, &mid)
        .await
        .unwrap();
    let out = capture.text();
    let route = "/api/v2/webchat/guest/conversations/{conversationId}/members/{memberId}";
    let span = out
        .lines()
        .find(|l| l.contains("guest_chat.request") && l.contains(route))
        .unwrap_or_else(|| panic!("no request span for the member route in:\n{out}"));
    assert!(span.contains("status=200"), "{span}");
    assert!(!out.contains(&mid), "{out}");
    assert!(!out.contains(&jwt), "{out}");
    emu.shutdown().await;
}
