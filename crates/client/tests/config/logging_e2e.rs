//! The SDK logger end to end: real requests through `ApiClient` against the in-process
//! emulator, configured by a configuration file, logged with the JWT redacted.

#![cfg(feature = "config-file")]

use crate::logging::{json_entries, json_levels, text_blocks};
use guest_chat_emulator::Emulator;
use purecloud_guest_chat_client::*;
use std::time::Duration;

fn config_file(dir: &std::path::Path, format: &str, log: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join(format!("config-{format}"));
    std::fs::write(
        &path,
        format!(
            "[logging]\nlog_level = trace\nlog_format = {format}\nlog_to_console = false\n\
             log_file_path = {}\nlog_request_body = true\nlog_response_body = true\n\
             [general]\nlive_reload_config = false\n",
            log.display()
        ),
    )
    .unwrap();
    path
}

/// Create (no JWT), send a message (with the JWT), ask for a missing member (404).
/// Returns the JWT and the log file's content.
async fn run(format: &str) -> (String, String) {
    let emu = Emulator::builder()
        .activate_without_stream(true)
        .start()
        .await
        .expect("emulator");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs/sdk.log");
    let client = ApiClient::builder()
        .environment(emu.base_url())
        .config_file(config_file(dir.path(), format, &log))
        .no_proxy()
        .build()
        .expect("client");
    assert_eq!(client.config().last_error(), None);
    assert_eq!(client.config().logger_settings().log_level, LogLevel::Trace);
    let created = WebChatApi::new(&client)
        .post_webchat_guest_conversations(&CreateWebChatConversationRequest::new(
            "org-1", "dep-1", "Sales", "Ada",
        ))
        .await
        .expect("create");
    let jwt = created.jwt.clone().expect("jwt");
    let cid = created.id.clone().unwrap();
    let mid = created.member.and_then(|m| m.id).unwrap();
    client.set_jwt(jwt.clone());
    let api = WebChatApi::new(&client);
    // The real Authorization header went out (the log copy is redacted, not the request).
    api.post_webchat_guest_conversation_member_messages(
        &cid,
        &mid,
        &CreateWebChatMessageRequest::new("hello"),
    )
    .await
    .expect("send with the real JWT");
    let err = api
        .get_webchat_guest_conversation_member(&cid, "no-such-member")
        .await
        .unwrap_err();
    assert_eq!(err.as_api().map(|e| e.status), Some(404));
    assert!(client.config().logger().flush(Duration::from_secs(5)));
    let out = std::fs::read_to_string(&log).unwrap();
    emu.shutdown().await;
    (jwt, out)
}

fn assert_no_secret(jwt: &str, out: &str) {
    assert!(!out.contains(jwt), "JWT leaked:\n{out}");
    for segment in jwt.split('.').filter(|s| s.len() > 8) {
        assert!(!out.contains(segment), "JWT segment leaked:\n{out}");
    }
    assert!(!out.contains("Bearer"), "{out}");
    assert!(out.contains("[REDACTED]"), "{out}");
}

#[tokio::test]
async fn real_requests_are_logged_as_json_with_redaction() {
    let (jwt, out) = run("json").await;
    assert_no_secret(&jwt, &out);
    let entries = json_entries(&out);
    let levels = json_levels(&entries);
    assert_eq!(
        levels,
        ["trace", "debug", "trace", "debug", "error"],
        "{out}"
    );
    let create = &entries[0];
    assert_eq!(create["method"], "POST");
    assert!(
        create["requestHeaders"].get("authorization").is_none(),
        "create sent no JWT: {out}"
    );
    assert_eq!(create["responseBody"]["jwt"], "[REDACTED]");
    assert!(create["responseBody"]["eventStreamUri"]
        .as_str()
        .unwrap()
        .ends_with("[REDACTED]"));
    assert!(create["correlationId"].is_string());
    let send = &entries[2];
    assert_eq!(send["requestHeaders"]["authorization"], "[REDACTED]");
    assert_eq!(send["requestBody"]["body"], "hello");
    assert_eq!(send["statusCode"], 200);
    let missing = &entries[4];
    assert_eq!(missing["statusCode"], 404);
    assert!(missing["responseBody"].is_object());
    assert_eq!(missing["requestHeaders"]["authorization"], "[REDACTED]");
    println!("{out}");
}

#[tokio::test]
async fn real_requests_are_logged_as_text_with_redaction() {
    let (jwt, out) = run("text").await;
    assert_no_secret(&jwt, &out);
    let firsts: Vec<&str> = text_blocks(&out)
        .iter()
        .map(|b| b.split(':').next().unwrap())
        .collect();
    assert_eq!(
        firsts,
        ["TRACE", "DEBUG", "TRACE", "DEBUG", "ERROR"],
        "{out}"
    );
    println!("{out}");
}
