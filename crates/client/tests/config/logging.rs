//! The SDK logger: the level table, both layouts, the body switches, file output, and
//! redaction of the JWT and `Authorization` in every entry.

use http::{HeaderMap, HeaderValue};
use purecloud_guest_chat_client::logging::{HttpExchange, SdkLogger};
use purecloud_guest_chat_client::{Jwt, LogFormat, LogLevel, LoggerSettings};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// An RS256-shaped token (what the service hands out).
const JWT: &str =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtZW1iZXItMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
/// Payload segment alone: must not survive either.
const JWT_PAYLOAD: &str = "eyJzdWIiOiJtZW1iZXItMSJ9";

fn settings(
    path: &Path,
    level: LogLevel,
    format: LogFormat,
    req: bool,
    resp: bool,
) -> LoggerSettings {
    LoggerSettings {
        log_level: level,
        log_format: format,
        log_to_console: false,
        log_file_path: Some(path.to_owned()),
        log_request_body: req,
        log_response_body: resp,
    }
}

/// A logger writing to `path` only, at `level` in `format`, with the body switches as given.
fn file_logger(
    path: &Path,
    level: LogLevel,
    format: LogFormat,
    req: bool,
    resp: bool,
) -> SdkLogger {
    let logger = SdkLogger::new();
    logger
        .apply(settings(path, level, format, req, resp))
        .unwrap();
    logger
}

/// Settings for `path` at trace level in text, no bodies (for files that cannot be used).
fn trace_text_settings(path: &Path) -> LoggerSettings {
    settings(path, LogLevel::Trace, LogFormat::Text, false, false)
}

/// Drains `logger`'s writer and returns what its file at `path` holds.
fn flushed_log(logger: &SdkLogger, path: &Path) -> String {
    assert!(logger.flush(Duration::from_secs(5)));
    std::fs::read_to_string(path).unwrap()
}

fn request_headers(auth: bool) -> HeaderMap {
    let mut h = HeaderMap::new();
    if auth {
        h.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {JWT}")).unwrap(),
        );
    }
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert("accept", HeaderValue::from_static("application/json"));
    h
}

fn response_headers(corr: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert("inin-correlation-id", HeaderValue::from_str(corr).unwrap());
    // A header that echoes the token, to check header values are scrubbed too.
    h.insert(
        "x-echo",
        HeaderValue::from_str(&format!("token={JWT}")).unwrap(),
    );
    h
}

/// Records a success, an HTTP error and a transport failure, all carrying the JWT in the
/// `Authorization` header, the URL and both bodies.
fn record_all(logger: &SdkLogger) {
    let jwt = Jwt::new(JWT);
    let url = format!("http://127.0.0.1:9/api/v2/webchat/guest/conversations/c%201/chat/jwt/{JWT}");
    let body = format!(
        r#"{{"jwt":"{JWT}","eventStreamUri":"ws://127.0.0.1:9/chat/jwt/{JWT}","id":"c 1"}}"#
    );
    let req_h = request_headers(true);
    let before = req_h.clone();
    let ok_h = response_headers("corr-ok");
    let err_h = response_headers("corr-404");
    logger.record(&HttpExchange {
        method: "POST",
        url: &url,
        request_headers: &req_h,
        request_body: Some(body.as_bytes()),
        status: Some(200),
        response_headers: Some(&ok_h),
        response_body: Some(body.as_bytes()),
        correlation_id: Some("corr-ok"),
        error: None,
        jwt: Some(&jwt),
    });
    let err_body =
        format!(r#"{{"code":"not.found","message":"no member for {JWT}","status":404}}"#);
    logger.record(&HttpExchange {
        method: "GET",
        url: &url,
        request_headers: &req_h,
        request_body: Some(body.as_bytes()),
        status: Some(404),
        response_headers: Some(&err_h),
        response_body: Some(err_body.as_bytes()),
        correlation_id: Some("corr-404"),
        error: None,
        jwt: Some(&jwt),
    });
    let transport = format!("operation timed out: error sending request for url ({url})");
    logger.record(&HttpExchange {
        method: "DELETE",
        url: &url,
        request_headers: &req_h,
        request_body: None,
        status: None,
        response_headers: None,
        response_body: None,
        correlation_id: None,
        error: Some(&transport),
        jwt: Some(&jwt),
    });
    assert_eq!(req_h, before, "the request headers are never touched");
    assert!(logger.flush(Duration::from_secs(5)), "writer drained");
    assert!(
        logger.flush(Duration::MAX),
        "an absurd timeout is capped, not a panic"
    );
}

/// Text entries end with a blank line; bodies are pretty-printed without blank lines.
pub(crate) fn text_blocks(text: &str) -> Vec<&str> {
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .collect()
}

#[test]
fn every_level_format_and_body_switch_redacts_and_respects_the_level_table() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for level in [LogLevel::Trace, LogLevel::Debug, LogLevel::Error] {
        for format in [LogFormat::Text, LogFormat::Json] {
            for (req, resp) in [(false, false), (true, false), (false, true), (true, true)] {
                let path = dir
                    .path()
                    .join(format!("{level:?}-{format:?}-{req}-{resp}.log"));
                let logger = file_logger(&path, level, format, req, resp);
                record_all(&logger);
                let out = std::fs::read_to_string(&path).unwrap();
                let ctx = format!("{level:?} {format:?} req={req} resp={resp}:\n{out}");
                assert!(!out.contains(JWT), "JWT leaked: {ctx}");
                assert!(!out.contains(JWT_PAYLOAD), "JWT payload leaked: {ctx}");
                assert!(!out.contains("Bearer"), "Authorization value leaked: {ctx}");
                assert!(out.contains("[REDACTED]"), "{ctx}");
                // success: trace (+debug) per the table; both failures: error.
                let expected: &[&str] = match level {
                    LogLevel::Trace => &["trace", "debug", "error", "error"],
                    LogLevel::Debug => &["debug", "error", "error"],
                    _ => &["error", "error"],
                };
                match format {
                    LogFormat::Json => check_json(&out, expected, req, resp, &ctx),
                    _ => check_text(&out, expected, req, resp, &ctx),
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 24);
}

/// The entries of a JSON-layout log, one a line.
pub(crate) fn json_entries(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The `level` of each JSON entry, in order.
pub(crate) fn json_levels(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["level"].as_str().unwrap())
        .collect()
}

fn check_json(out: &str, expected: &[&str], req: bool, resp: bool, ctx: &str) {
    let entries = json_entries(out);
    let levels = json_levels(&entries);
    assert_eq!(levels, expected, "{ctx}");
    for e in &entries {
        let level = e["level"].as_str().unwrap();
        let o = e.as_object().unwrap();
        assert!(o["date"].as_str().unwrap().ends_with('Z'), "{ctx}");
        assert!(
            o.contains_key("correlationId") && o.contains_key("method") && o.contains_key("url")
        );
        assert!(
            o.contains_key("statusCode") && o.contains_key("requestHeaders"),
            "{ctx}"
        );
        assert_eq!(e["requestHeaders"]["authorization"], "[REDACTED]", "{ctx}");
        // The URL as sent: percent-encoding kept, the token masked.
        assert!(
            e["url"]
                .as_str()
                .unwrap()
                .contains("/c%201/chat/jwt/[REDACTED]"),
            "{ctx}"
        );
        let transport = e["statusCode"].is_null();
        let body_logged = req && !transport;
        assert_eq!(
            o.contains_key("requestBody"),
            body_logged,
            "{level} requestBody: {ctx}"
        );
        if body_logged {
            assert_eq!(e["requestBody"]["jwt"], "[REDACTED]");
            assert_eq!(
                e["requestBody"]["eventStreamUri"],
                "ws://127.0.0.1:9/chat/jwt/[REDACTED]"
            );
        }
        let has_response = !transport;
        match level {
            "debug" => {
                assert!(
                    !o.contains_key("responseHeaders") && !o.contains_key("responseBody"),
                    "{ctx}"
                );
                assert_eq!(e["statusCode"], 200);
            }
            _ => {
                assert_eq!(o.contains_key("responseHeaders"), has_response, "{ctx}");
                assert_eq!(
                    o.contains_key("responseBody"),
                    resp && has_response,
                    "{ctx}"
                );
                if has_response {
                    assert_eq!(e["responseHeaders"]["x-echo"], "token=[REDACTED]");
                    assert_eq!(
                        e["correlationId"],
                        e["responseHeaders"]["inin-correlation-id"]
                    );
                }
            }
        }
        if level == "error" && transport {
            assert!(e["error"].as_str().unwrap().contains("timed out"), "{ctx}");
            assert!(e["correlationId"].is_null());
        }
    }
}

fn check_text(out: &str, expected: &[&str], req: bool, resp: bool, ctx: &str) {
    let blocks = text_blocks(out);
    let levels: Vec<String> = blocks
        .iter()
        .map(|b| b.split(':').next().unwrap().to_ascii_lowercase())
        .collect();
    assert_eq!(levels, expected, "{ctx}");
    for b in blocks {
        let level = b.split(':').next().unwrap();
        assert!(
            b.contains("=== REQUEST ===") && b.contains("=== RESPONSE ==="),
            "{ctx}"
        );
        assert!(b.contains("\tauthorization: [REDACTED]\n"), "{ctx}");
        assert!(b.contains("CorrelationId: "), "{ctx}");
        assert!(b.contains("/c%201/chat/jwt/[REDACTED]"), "{ctx}");
        let transport = b.contains("Status: (no response)");
        let bodies = b.matches("Body: ").count();
        let headers = b.matches("Headers:\n").count();
        let want_req = usize::from(req && !transport);
        let want_resp = usize::from(resp && !transport && level != "DEBUG");
        assert_eq!(bodies, want_req + want_resp, "{level} bodies: {ctx}");
        let want_headers = if level == "DEBUG" || transport { 1 } else { 2 };
        assert_eq!(headers, want_headers, "{level} headers: {ctx}");
        if transport {
            assert!(b.contains("Error: operation timed out"), "{ctx}");
        }
    }
}

#[test]
fn no_authorization_entry_for_a_request_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noauth.log");
    let logger = file_logger(&path, LogLevel::Trace, LogFormat::Json, true, true);
    let req_h = request_headers(false);
    let resp_h = response_headers("corr-create");
    // The create response hands out a token the client does not know yet, in an opaque
    // (non-JWT-shaped) form: it is still masked, also inside eventStreamUri.
    let body = r#"{"id":"c1","jwt":"opaque.token.value","eventStreamUri":"wss://x/v1/token/opaque.token.value","member":{"id":"m1"}}"#;
    logger.record(&HttpExchange {
        method: "POST",
        url: "http://127.0.0.1:9/api/v2/webchat/guest/conversations",
        request_headers: &req_h,
        request_body: Some(b"{\"deploymentId\":\"d\"}"),
        status: Some(200),
        response_headers: Some(&resp_h),
        response_body: Some(body.as_bytes()),
        correlation_id: Some("corr-create"),
        error: None,
        jwt: None,
    });
    let out = flushed_log(&logger, &path);
    assert!(!out.to_ascii_lowercase().contains("authorization"), "{out}");
    assert!(!out.contains("opaque.token.value"), "{out}");
    let trace: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(trace["responseBody"]["jwt"], "[REDACTED]");
    assert_eq!(
        trace["responseBody"]["eventStreamUri"],
        "wss://x/v1/token/[REDACTED]"
    );
    assert_eq!(trace["responseBody"]["member"]["id"], "m1");
}

#[test]
fn a_known_opaque_jwt_is_masked_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opaque.log");
    let logger = file_logger(&path, LogLevel::Trace, LogFormat::Text, true, true);
    let jwt = Jwt::new("not-a-jwt-shaped-secret");
    let mut h = HeaderMap::new();
    h.insert(
        "authorization",
        HeaderValue::from_static("Bearer not-a-jwt-shaped-secret"),
    );
    logger.record(&HttpExchange {
        method: "GET",
        url: "http://h/chat/jwt/not-a-jwt-shaped-secret",
        request_headers: &h,
        request_body: Some(b"plain text not-a-jwt-shaped-secret"),
        status: Some(500),
        response_headers: Some(&h),
        response_body: Some(b"<html>not-a-jwt-shaped-secret</html>"),
        correlation_id: None,
        error: None,
        jwt: Some(&jwt),
    });
    let out = flushed_log(&logger, &path);
    assert!(!out.contains("not-a-jwt-shaped-secret"), "{out}");
    assert!(out.starts_with("ERROR: "), "{out}");
    assert!(out.contains("Body: <html>[REDACTED]</html>"), "{out}");
}

#[test]
fn level_none_writes_nothing_and_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/none.log");
    let logger = file_logger(&path, LogLevel::None, LogFormat::Json, true, true);
    record_all(&logger);
    assert!(!path.exists());
}

#[test]
fn file_output_appends_and_creates_parent_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/c/sdk.log");
    let logger = file_logger(&path, LogLevel::Error, LogFormat::Json, false, false);
    record_all(&logger);
    let first = std::fs::read_to_string(&path).unwrap();
    assert_eq!(first.lines().count(), 2);
    // A second logger on the same file appends rather than truncating.
    let again = file_logger(&path, LogLevel::Error, LogFormat::Json, false, false);
    record_all(&again);
    let second = std::fs::read_to_string(&path).unwrap();
    assert!(second.starts_with(&first));
    assert_eq!(second.lines().count(), 4);
}

#[test]
fn an_unusable_log_file_is_a_clear_error_and_keeps_the_previous_settings() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let bad = blocker.join("sdk.log");
    let logger = SdkLogger::new();
    let err = logger.apply(trace_text_settings(&bad)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&blocker.display().to_string()), "{msg}");
    assert_eq!(logger.settings(), LoggerSettings::default());
    // A directory as the file itself.
    let err = logger.apply(trace_text_settings(dir.path())).unwrap_err();
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
}

#[test]
fn defaults_are_the_seeds() {
    let s = LoggerSettings::default();
    assert_eq!(s.log_level, LogLevel::None);
    assert_eq!(s.log_format, LogFormat::Text);
    assert!(s.log_to_console);
    assert!(s.log_file_path.is_none());
    assert!(!s.log_request_body && !s.log_response_body);
    assert_eq!(" TRACE ".parse::<LogLevel>().unwrap(), LogLevel::Trace);
    assert_eq!("JSON".parse::<LogFormat>().unwrap(), LogFormat::Json);
    assert!("verbose".parse::<LogLevel>().is_err());
}

/// Prints one entry of each layout (used to write the README's examples).
#[test]
fn print_examples() {
    let dir = tempfile::tempdir().unwrap();
    for format in [LogFormat::Text, LogFormat::Json] {
        let path = dir.path().join(format!("{format:?}.log"));
        let logger = file_logger(&path, LogLevel::Trace, format, true, true);
        record_all(&logger);
        println!("{}", std::fs::read_to_string(&path).unwrap());
    }
}
