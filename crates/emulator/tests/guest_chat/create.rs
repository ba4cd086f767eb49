//! Creating a chat: the answer, its JWT, and every way a create is refused.

use crate::support::*;
use base64::Engine;
use guest_chat_emulator::{ConversationState, Emulator, EmulatorConfig, EmulatorHandle};
use reqwest::Client;
use serde_json::{json, Value};

#[tokio::test]
async fn create_returns_ids_jwt_claims_and_headers() {
    let emu = manual().await;
    let c = Client::new();
    let r = c
        .post(format!("{}{BASE}", emu.base_url()))
        .header("Authorization", "Bearer junk")
        .json(&create_body("Support"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("inin-correlation-id"));
    assert_eq!(
        r.headers()["cache-control"],
        "no-cache, no-store, must-revalidate"
    );
    assert_eq!(r.headers()["pragma"], "no-cache");
    assert_eq!(r.headers()["expires"], "0");
    let v: Value = r.json().await.unwrap();
    let jwt = v["jwt"].as_str().unwrap();
    let cid = v["id"].as_str().unwrap();
    let member = v["member"]["id"].as_str().unwrap();
    assert_eq!(v["member"].as_object().unwrap().len(), 1);
    assert_eq!(
        v["eventStreamUri"],
        format!("ws://{}/chat/jwt/{jwt}", emu.local_addr()).as_str()
    );
    let parts: Vec<&str> = jwt.split('.').collect();
    let dec = |s: &str| -> Value {
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .unwrap(),
        )
        .unwrap()
    };
    let header = dec(parts[0]);
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].is_string());
    let claims = dec(parts[1]);
    assert_eq!(claims["data"]["conv"], cid);
    assert_eq!(claims["data"]["sub"], member);
    assert_eq!(claims["data"]["did"], "dep-1");
    assert_eq!(claims["org"], "org-1");
    assert_eq!(claims["iss"], "urn:purecloud:webchat");
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 21 * 3600);
    let keys: Vec<&String> = claims.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["data", "exp", "iat", "iss", "org"]);
    let snap = emu.conversation_snapshot(cid).unwrap();
    assert_eq!(snap.state, ConversationState::Created);
    emu.shutdown().await;
}

/// An emulator with one queue, one allowed origin, a disabled and an authenticated
/// deployment, and a 1000-byte request limit.
async fn configured() -> EmulatorHandle {
    let config = EmulatorConfig {
        queues: vec!["Support".into()],
        allowed_origins: vec!["https://good.example".into()],
        disabled_deployments: vec!["dep-off".into()],
        auth_deployments: vec!["dep-auth".into()],
        ..Default::default()
    };
    Emulator::builder()
        .config(config)
        .max_request_bytes(1000)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn invalid_create_bodies_get_the_services_codes() {
    let emu = configured().await;
    let c = Client::new();
    let url = format!("{}{BASE}", emu.base_url());
    let post = |body: Value| c.post(&url).json(&body).send();
    // (change to a valid create body, expected 400 code, or None for 200)
    type Edit = fn(&mut Value);
    let cases: &[(Edit, Option<&str>)] = &[
        (
            |b| b["memberInfo"] = json!({}),
            Some("chat.error.notnull.createconversationrequest.memberinfo.displayname"),
        ),
        (
            |b| {
                b.as_object_mut().unwrap().remove("routingTarget");
            },
            Some("chat.error.notnull.createconversationrequest.routingtarget"),
        ),
        (
            |b| b["routingTarget"]["targetType"] = json!("USER"),
            Some("chat.error.createconversationrequest.routingtarget"),
        ),
        (
            |b| {
                b.as_object_mut().unwrap().remove("deploymentId");
            },
            Some("chat.error.pattern.createconversationrequest.deploymentid"),
        ),
        (
            |b| b["journeyContext"] = json!({"customer": {"id": "x"}}),
            Some("chat.error.notnull.createconversationrequest.journeycontext.customer.customeridtype"),
        ),
        (
            |b| b["routingTarget"]["targetAddress"] = json!("Nope"),
            Some("chat.error.invalid.queue"),
        ),
        (|b| b["routingTarget"]["targetType"] = json!("QUEUE"), None),
        (
            |b| b["deploymentId"] = json!("dep-off"),
            Some("chat.deployment.disabled"),
        ),
        (
            |b| b["deploymentId"] = json!("dep-auth"),
            Some("chat.deployment.require.auth"),
        ),
        (
            |b| {
                b["deploymentId"] = json!("dep-auth");
                b["memberAuthToken"] = json!("bad");
            },
            Some("chat.deployment.bad.auth"),
        ),
    ];
    for (edit, code) in cases {
        let mut b = create_body("Support");
        edit(&mut b);
        let r = post(b).await.unwrap();
        match code {
            Some(code) => {
                error_of(r, 400, code).await;
            }
            None => assert_eq!(r.status(), 200),
        }
    }
    let mut b = create_body("Support");
    b["deploymentId"] = json!("dep-auth");
    b["memberAuthToken"] = json!("signed-data");
    assert_eq!(post(b).await.unwrap().status(), 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn foreign_origins_bad_bodies_and_oversized_requests_are_refused() {
    let emu = configured().await;
    let c = Client::new();
    let url = format!("{}{BASE}", emu.base_url());
    // A valid create from `origin`; a raw body of content type `ctype`.
    let from = |origin: &str| {
        c.post(&url)
            .header("Origin", origin)
            .json(&create_body("Support"))
            .send()
    };
    let raw = |ctype: &str, body: &'static str| {
        c.post(&url).header("Content-Type", ctype).body(body).send()
    };
    let r = from("https://evil.example").await.unwrap();
    error_of(r, 403, "origin.not.allowed").await;
    let r = from("https://good.example").await.unwrap();
    assert_eq!(r.status(), 200);
    let r = raw("application/json", "{not json").await.unwrap();
    error_of(r, 400, "bad.request").await;
    let r = raw("text/plain", "hello").await.unwrap();
    error_of(r, 415, "unsupported.media.type").await;
    let mut b = create_body("Support");
    b["memberInfo"]["displayName"] = json!("x".repeat(2000));
    let r = c.post(&url).json(&b).send().await.unwrap();
    let v = error_of(r, 413, "request.entity.too.large").await;
    assert_eq!(
        v["message"],
        "The request is over the size limit. Maximum bytes: 1000"
    );
    emu.shutdown().await;
}
