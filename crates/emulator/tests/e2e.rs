//! End-to-end tests against the in-process emulator.

use base64::Engine;
use futures::{SinkExt, StreamExt};
use guest_chat_emulator::{
    AgentMode, ConversationState, DropMode, Emulator, EmulatorBuilder, EmulatorConfig,
    EmulatorHandle, Faults,
};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
const T: Duration = Duration::from_secs(5);
const BASE: &str = "/api/v2/webchat/guest/conversations";

/// The manual agent with a short delay, for tests that add settings of their own.
fn manual_builder() -> EmulatorBuilder {
    Emulator::builder()
        .agent(AgentMode::Manual)
        .agent_delay(Duration::from_millis(5))
}

async fn manual() -> EmulatorHandle {
    manual_builder().start().await.unwrap()
}

async fn echo() -> EmulatorHandle {
    Emulator::builder()
        .agent_delay(Duration::from_millis(5))
        .start()
        .await
        .unwrap()
}

struct Chat {
    cid: String,
    jwt: String,
    member: String,
    uri: String,
}

fn create_body(queue: &str) -> Value {
    json!({"organizationId":"org-1","deploymentId":"dep-1",
           "routingTarget":{"targetType":"queue","targetAddress":queue},
           "memberInfo":{"displayName":"Ada","customFields":{"firstName":"Ada"}}})
}

async fn create(c: &Client, emu: &EmulatorHandle) -> Chat {
    let r = c
        .post(format!("{}{BASE}", emu.base_url()))
        .json(&create_body("Support"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    Chat {
        cid: v["id"].as_str().unwrap().to_owned(),
        jwt: v["jwt"].as_str().unwrap().to_owned(),
        member: v["member"]["id"].as_str().unwrap().to_owned(),
        uri: v["eventStreamUri"].as_str().unwrap().to_owned(),
    }
}

impl Chat {
    fn url(&self, emu: &EmulatorHandle, rest: &str) -> String {
        format!("{}{BASE}/{}{rest}", emu.base_url(), self.cid)
    }
    fn auth(&self) -> String {
        format!("Bearer {}", self.jwt)
    }
}

async fn send(c: &Client, emu: &EmulatorHandle, chat: &Chat, text: &str) -> reqwest::Response {
    c.post(chat.url(emu, &format!("/members/{}/messages", chat.member)))
        .header("Authorization", chat.auth())
        .json(&json!({"body": text, "bodyType": "standard"}))
        .send()
        .await
        .unwrap()
}

async fn error_of(r: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status);
    let corr = r
        .headers()
        .get("inin-correlation-id")
        .expect("correlation header")
        .to_str()
        .unwrap()
        .to_owned();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], code, "{v}");
    assert_eq!(v["status"], status);
    assert_eq!(v["contextId"], corr.as_str());
    assert_eq!(v["details"], json!([]));
    assert_eq!(v["errors"], json!([]));
    v
}

async fn connect(uri: &str) -> Ws {
    timeout(T, tokio_tungstenite::connect_async(uri))
        .await
        .unwrap()
        .unwrap()
        .0
}

/// Next text frame as JSON, skipping heartbeats.
async fn next_event(ws: &mut Ws) -> Value {
    loop {
        let msg = timeout(T, ws.next())
            .await
            .expect("frame in time")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["topicName"] == "channel.metadata"
                && v["eventBody"]["message"] == "WebSocket Heartbeat"
            {
                continue;
            }
            return v;
        }
    }
}

/// Skips events until one matches.
async fn until(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let v = next_event(ws).await;
        if pred(&v) {
            return v;
        }
    }
}

fn member_change(v: &Value, id: &str, state: &str) -> bool {
    v["metadata"]["type"] == "member-change"
        && v["eventBody"]["member"]["id"] == id
        && v["eventBody"]["member"]["state"] == state
}

async fn expect_close(ws: &mut Ws, code: u16) {
    expect_close_with(ws, code, "The conversation is ended").await;
}

async fn expect_close_with(ws: &mut Ws, code: u16, reason: &str) {
    loop {
        let msg = timeout(T, ws.next()).await.expect("close in time");
        match msg {
            Some(Ok(Message::Close(Some(f)))) => {
                assert_eq!(u16::from(f.code), code);
                assert_eq!(f.reason.as_str(), reason);
                return;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

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

#[tokio::test]
async fn create_validation_and_config() {
    let config = EmulatorConfig {
        queues: vec!["Support".into()],
        allowed_origins: vec!["https://good.example".into()],
        disabled_deployments: vec!["dep-off".into()],
        auth_deployments: vec!["dep-auth".into()],
        ..Default::default()
    };
    let emu = Emulator::builder()
        .config(config)
        .max_request_bytes(1000)
        .start()
        .await
        .unwrap();
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
    let r = c
        .post(&url)
        .header("Origin", "https://evil.example")
        .json(&create_body("Support"))
        .send()
        .await
        .unwrap();
    error_of(r, 403, "origin.not.allowed").await;
    let r = c
        .post(&url)
        .header("Origin", "https://good.example")
        .json(&create_body("Support"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(&url)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    error_of(r, 400, "bad.request").await;
    let r = c
        .post(&url)
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    error_of(r, 415, "unsupported.media.type").await;
    let mut b = create_body("Support");
    b["memberInfo"]["displayName"] = json!("x".repeat(2000));
    let v = error_of(post(b).await.unwrap(), 413, "request.entity.too.large").await;
    assert_eq!(
        v["message"],
        "The request is over the size limit. Maximum bytes: 1000"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn auth_errors() {
    let emu = manual().await;
    let c = Client::new();
    let chat = create(&c, &emu).await;
    let other = create(&c, &emu).await;
    let get = |auth: Option<String>| {
        let mut r = c.get(chat.url(&emu, "/members"));
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        r.send()
    };
    error_of(get(None).await.unwrap(), 401, "authentication.required").await;
    error_of(
        get(Some("Bearer garbage".into())).await.unwrap(),
        401,
        "bad.credentials",
    )
    .await;
    error_of(
        get(Some("[REDACTED]".into())).await.unwrap(),
        401,
        "bad.credentials",
    )
    .await;
    error_of(
        get(Some(format!("Basic {}", chat.jwt))).await.unwrap(),
        401,
        "bad.credentials",
    )
    .await;
    let mut tampered = chat.jwt.clone();
    tampered.pop();
    tampered.push(if chat.jwt.ends_with('A') { 'B' } else { 'A' });
    error_of(
        get(Some(format!("Bearer {tampered}"))).await.unwrap(),
        401,
        "bad.credentials",
    )
    .await;
    let expired = emu.mint_jwt(&chat.cid, -10).unwrap();
    error_of(
        get(Some(format!("Bearer {expired}"))).await.unwrap(),
        401,
        "credentials.expired",
    )
    .await;
    assert_eq!(
        get(Some(format!("bearer {}", chat.jwt)))
            .await
            .unwrap()
            .status(),
        200
    );
    let r = get(Some(format!("Bearer {}", other.jwt))).await.unwrap();
    assert!(r.headers().contains_key("inin-ratelimit-allowed"));
    error_of(r, 403, "not.authorized").await;
    // Another member's path with my JWT (member-scoped write).
    let snap = emu.conversation_snapshot(&chat.cid).unwrap();
    assert_eq!(snap.members.len(), 1);
    let r = c
        .post(chat.url(&emu, &format!("/members/{}/typing", other.member)))
        .header("Authorization", chat.auth())
        .send()
        .await
        .unwrap();
    error_of(r, 404, "chat.error.not.found").await;
    for (path, msg) in [
        (
            "/members/nobody",
            "The web chat conversation member was not found.",
        ),
        (
            "/messages/nothing",
            "The web chat conversation message was not found.",
        ),
        ("/mediarequests/none", "The media request was not found."),
    ] {
        let r = c
            .get(chat.url(&emu, path))
            .header("Authorization", chat.auth())
            .send()
            .await
            .unwrap();
        let v = error_of(r, 404, "chat.error.not.found").await;
        assert_eq!(v["message"], msg);
    }
    // Writes before the stream attaches.
    let v = error_of(
        send(&c, &emu, &chat, "hi").await,
        400,
        "chat.error.conversation.state",
    )
    .await;
    assert_eq!(
        v["messageParams"]["message"],
        "The conversation is not active"
    );
    let r = c
        .post(chat.url(&emu, &format!("/members/{}/typing", chat.member)))
        .header("Authorization", chat.auth())
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    error_of(r, 400, "chat.error.conversation.state").await;
    // The upgrade refuses a bad JWT.
    match tokio_tungstenite::connect_async(format!("ws://{}/chat/jwt/garbage", emu.local_addr()))
        .await
    {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn echo_flow_history_members_and_agent_end() {
    let emu = echo().await;
    let c = Client::new();
    let chat = create(&c, &emu).await;
    let mut ws = connect(&chat.uri).await;
    let v = next_event(&mut ws).await;
    assert!(member_change(&v, &chat.member, "CONNECTED"), "{v}");
    assert_eq!(v["version"], "2");
    assert_eq!(
        v["topicName"],
        format!("v2.conversations.chats.{}.members", chat.cid)
    );
    assert!(v["metadata"]["CorrelationId"].is_string());
    let acd = next_event(&mut ws).await;
    assert_eq!(acd["eventBody"]["member"]["state"], "CONNECTED");
    let acd_id = acd["eventBody"]["member"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let alerting = next_event(&mut ws).await;
    assert_eq!(alerting["eventBody"]["member"]["state"], "ALERTING");
    let agent = alerting["eventBody"]["member"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(member_change(
        &next_event(&mut ws).await,
        &agent,
        "CONNECTED"
    ));
    let join = next_event(&mut ws).await;
    assert_eq!(join["eventBody"]["bodyType"], "member-join");
    assert_eq!(join["eventBody"]["sender"]["id"], agent.as_str());
    assert_eq!(join["eventBody"]["body"], "");
    assert!(member_change(
        &next_event(&mut ws).await,
        &acd_id,
        "DISCONNECTED"
    ));
    assert_eq!(
        next_event(&mut ws).await["eventBody"]["bodyType"],
        "member-leave"
    );
    let hello = next_event(&mut ws).await;
    assert_eq!(
        hello["eventBody"]["body"],
        "Hello Ada, I'm Riley. How can I help?"
    );
    emu.wait_for_state(&chat.cid, ConversationState::Connected)
        .await
        .unwrap();

    // Member roles over REST, with JS-SDK style empty query values.
    let r = c
        .get(chat.url(
            &emu,
            "/members?pageSize=&pageNumber=&excludeDisconnectedMembers=",
        ))
        .header("Authorization", chat.auth())
        .header("Content-Type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["inin-ratelimit-allowed"], "180");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["total"], 3);
    assert_eq!(v["pageSize"], 25);
    let r = c
        .get(chat.url(
            &emu,
            "/members?pageSize=1&pageNumber=2&excludeDisconnectedMembers=true",
        ))
        .header("Authorization", chat.auth())
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["total"], 2);
    assert_eq!(v["pageCount"], 2);
    assert!(v["nextUri"].is_null());
    assert!(v["previousUri"].as_str().unwrap().contains("pageNumber=1"));
    let r = c
        .get(chat.url(&emu, "/members?pageSize=abc"))
        .header("Authorization", chat.auth())
        .send()
        .await
        .unwrap();
    error_of(r, 400, "invalid.query.param.value").await;
    let r = c
        .get(chat.url(&emu, &format!("/members/{agent}")))
        .header("Authorization", chat.auth())
        .send()
        .await
        .unwrap();
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["role"], "AGENT");
    assert_eq!(m["displayName"], "Riley");

    // Own message echoed with the REST id, then typing and the reply.
    let r = send(&c, &emu, &chat, "hi there").await;
    assert_eq!(r.status(), 200);
    let sent: Value = r.json().await.unwrap();
    let mid = sent["id"].as_str().unwrap().to_owned();
    assert_eq!(
        sent["selfUri"],
        format!(
            "/api/v2/webchat/guest/conversations/{}/messages/{mid}",
            chat.cid
        )
        .as_str()
    );
    assert_eq!(
        sent["conversation"]["selfUri"],
        format!("/api/v2/conversations/{}", chat.cid).as_str()
    );
    let echo = next_event(&mut ws).await;
    assert_eq!(echo["eventBody"]["id"], mid.as_str());
    assert_eq!(echo["eventBody"]["sender"]["id"], chat.member.as_str());
    let typing = next_event(&mut ws).await;
    assert_eq!(typing["metadata"]["type"], "typing-indicator");
    assert_eq!(typing["eventBody"]["sender"]["id"], agent.as_str());
    let reply = next_event(&mut ws).await;
    assert_eq!(reply["eventBody"]["body"], "You said: hi there");

    // Guest typing (no body, Content-Length: 0) is echoed.
    let r = c
        .post(chat.url(&emu, &format!("/members/{}/typing", chat.member)))
        .header("Authorization", chat.auth())
        .header("Content-Type", "application/json")
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    let ev = next_event(&mut ws).await;
    assert_eq!(ev["metadata"]["type"], "typing-indicator");
    assert_eq!(ev["eventBody"]["id"], t["id"]);

    // Message validation.
    let r = c
        .post(chat.url(&emu, &format!("/members/{}/messages", chat.member)))
        .header("Authorization", chat.auth())
        .json(&json!({"bodyType": "standard"}))
        .send()
        .await
        .unwrap();
    error_of(
        r,
        400,
        "chat.error.notnull.createconversationmessagerequest.body",
    )
    .await;
    error_of(
        send(&c, &emu, &chat, &"x".repeat(4001)).await,
        400,
        "constraint.validation",
    )
    .await;
    let r = c
        .post(chat.url(&emu, &format!("/members/{}/messages", chat.member)))
        .header("Authorization", chat.auth())
        .json(&json!({"body": "x", "bodyType": "member-join"}))
        .send()
        .await
        .unwrap();
    error_of(r, 400, "invalid.value").await;

    // History.
    let hist = |q: &str| {
        c.get(chat.url(&emu, &format!("/messages{q}")))
            .header("Authorization", chat.auth())
            .send()
    };
    let v: Value = hist("?after=&before=&sortOrder=&maxResults=")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ents = v["entities"].as_array().unwrap();
    let types: Vec<&str> = ents
        .iter()
        .map(|e| e["bodyType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "member-join",
            "member-leave",
            "standard",
            "standard",
            "standard"
        ]
    );
    assert_eq!(ents[3]["id"], mid.as_str());
    assert!(v["next"].is_null());
    let v: Value = hist(&format!("?after={mid}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["entities"].as_array().unwrap().len(), 1);
    let v: Value = hist(&format!("?before={mid}&maxResults=2&sortOrder=descending"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let e = v["entities"].as_array().unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(e[0]["body"], "Hello Ada, I'm Riley. How can I help?");
    assert!(v["next"].as_str().unwrap().contains("before="));
    let v: Value = hist("?maxResults=2").await.unwrap().json().await.unwrap();
    assert!(v["next"].as_str().unwrap().contains("after="));
    error_of(
        hist("?maxResults=0").await.unwrap(),
        400,
        "constraint.validation",
    )
    .await;
    error_of(
        hist("?maxResults=101").await.unwrap(),
        400,
        "constraint.validation",
    )
    .await;
    error_of(
        hist("?after=unknown+id").await.unwrap(),
        400,
        "invalid.query.param.value",
    )
    .await;
    error_of(
        hist("?sortOrder=sideways").await.unwrap(),
        400,
        "invalid.query.param.value",
    )
    .await;
    let r = c
        .get(chat.url(&emu, &format!("/messages/{mid}")))
        .header("Authorization", chat.auth())
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), sent);

    // "bye": the agent ends the chat.
    assert_eq!(send(&c, &emu, &chat, "bye").await.status(), 200);
    until(&mut ws, |v| v["eventBody"]["body"] == "Goodbye!").await;
    assert!(member_change(
        &next_event(&mut ws).await,
        &agent,
        "DISCONNECTED"
    ));
    let leave = next_event(&mut ws).await;
    assert_eq!(leave["eventBody"]["bodyType"], "member-leave");
    assert_eq!(leave["eventBody"]["sender"]["id"], agent.as_str());
    assert!(member_change(
        &next_event(&mut ws).await,
        &chat.member,
        "DISCONNECTED"
    ));
    expect_close(&mut ws, 1001).await;
    emu.wait_for_state(&chat.cid, ConversationState::Ended)
        .await
        .unwrap();

    // After the end: writes refused, reads work, reconnect closed with 1001.
    error_of(
        send(&c, &emu, &chat, "still there?").await,
        400,
        "chat.error.conversation.state",
    )
    .await;
    let r = c
        .delete(chat.url(&emu, &format!("/members/{}", chat.member)))
        .header("Authorization", chat.auth())
        .send()
        .await
        .unwrap();
    error_of(r, 400, "chat.error.member.state").await;
    let r = c
        .get(chat.url(&emu, &format!("/members/{}", chat.member)))
        .header("Authorization", chat.auth())
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["state"], "DISCONNECTED");
    let mut again = connect(&chat.uri).await;
    expect_close(&mut again, 1001).await;
    emu.shutdown().await;
}

#[tokio::test]
async fn guest_ends_with_delete() {
    let emu = manual().await;
    let (c, chat, mut ws) = agent_connected(&emu).await;
    let r = c
        .delete(chat.url(&emu, &format!("/members/{}", chat.member)))
        .header("Authorization", chat.auth())
        .header("Content-Type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    until(&mut ws, |v| member_change(v, &chat.member, "DISCONNECTED")).await;
    let leave = next_event(&mut ws).await;
    assert_eq!(leave["eventBody"]["bodyType"], "member-leave");
    assert_eq!(leave["eventBody"]["sender"]["id"], chat.member.as_str());
    let agent_gone = next_event(&mut ws).await;
    assert_eq!(agent_gone["eventBody"]["member"]["state"], "DISCONNECTED");
    expect_close(&mut ws, 1001).await;
    emu.shutdown().await;
}

#[tokio::test]
async fn heartbeats_ping_pong_and_pause() {
    let emu = Emulator::builder()
        .agent(AgentMode::Manual)
        .heartbeat_interval(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let c = Client::new();
    let chat = create(&c, &emu).await;
    let mut ws = connect(&chat.uri).await;
    emu.wait_for_sockets(&chat.cid, 1).await.unwrap();
    let hb = loop {
        let msg = timeout(T, ws.next()).await.unwrap().unwrap().unwrap();
        let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        if v["topicName"] == "channel.metadata" {
            break v;
        }
    };
    assert_eq!(
        hb,
        json!({"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}})
    );
    ws.send(Message::Text(r#"{"message":"ping"}"#.into()))
        .await
        .unwrap();
    until(&mut ws, |v| v["eventBody"]["message"] == "pong").await;
    emu.pause_heartbeats(&chat.cid, true).unwrap();
    // Drain what was in flight, then no heartbeat may arrive for several intervals.
    let quiet = timeout(Duration::from_millis(450), async {
        let mut seen_after_pause = 0;
        while let Some(Ok(msg)) = ws.next().await {
            if msg.to_text().unwrap_or("").contains("Heartbeat") {
                seen_after_pause += 1;
                if seen_after_pause > 1 {
                    return;
                }
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "heartbeats kept coming while paused");
    emu.pause_heartbeats(&chat.cid, false).unwrap();
    timeout(T, async {
        loop {
            let msg = ws.next().await.unwrap().unwrap();
            if msg.to_text().unwrap_or("").contains("Heartbeat") {
                break;
            }
        }
    })
    .await
    .unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn rate_limit_429_with_headers() {
    let emu = Emulator::builder()
        .agent(AgentMode::Manual)
        .rate_limit(3, Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let c = Client::new();
    let chat = create(&c, &emu).await;
    for i in 1..=3 {
        let r = c
            .get(chat.url(&emu, "/messages"))
            .header("Authorization", chat.auth())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["inin-ratelimit-allowed"], "3");
        assert_eq!(r.headers()["inin-ratelimit-count"], i.to_string().as_str());
        let reset: u64 = r.headers()["inin-ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&reset));
    }
    let r = c
        .get(chat.url(&emu, "/messages"))
        .header("Authorization", chat.auth())
        .send()
        .await
        .unwrap();
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let v = error_of(r, 429, "too.many.requests.retry.after").await;
    assert_eq!(
        v["message"],
        format!("Rate limit exceeded the maximum. Retry the request in [{retry}] seconds").as_str()
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn control_api_transfer_media_duplicates_and_drop() {
    let emu = manual().await;
    let c = Client::new();
    let chat = create(&c, &emu).await;
    let base = emu.base_url();
    let ctl = |p: &str| format!("{base}/emulator{p}");
    assert_eq!(
        c.get(ctl("/health"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap(),
        json!({"ok": true})
    );
    let mut ws = connect(&chat.uri).await;
    let r = c
        .get(ctl(&format!(
            "/conversations/{}/wait?state=connected&sockets=1&timeoutMs=5000",
            chat.cid
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let snap: Value = r.json().await.unwrap();
    assert_eq!(snap["state"], "connected");
    let agent = snap["agentId"].as_str().unwrap().to_owned();
    let list: Value = c
        .get(ctl("/conversations"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["agentMode"], "manual");
    until(&mut ws, |v| v["eventBody"]["bodyType"] == "member-leave").await;

    let r = c
        .post(ctl(&format!("/conversations/{}/agent/messages", chat.cid)))
        .json(&json!({"body": "From the test"}))
        .send()
        .await
        .unwrap();
    let m: Value = r.json().await.unwrap();
    let ev = next_event(&mut ws).await;
    assert_eq!(ev["eventBody"]["id"], m["id"]);
    assert_eq!(ev["eventBody"]["sender"]["id"], agent.as_str());
    c.post(ctl(&format!("/conversations/{}/agent/typing", chat.cid)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut ws).await["metadata"]["type"],
        "typing-indicator"
    );

    let d: Value = c
        .post(ctl(&format!(
            "/conversations/{}/duplicate-member-change",
            chat.cid
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["memberId"], agent.as_str());
    assert!(member_change(
        &next_event(&mut ws).await,
        &agent,
        "CONNECTED"
    ));

    let t: Value = c
        .post(ctl(&format!("/conversations/{}/agent/transfer", chat.cid)))
        .json(&json!({"name": "Agent Two"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_agent = t["agentId"].as_str().unwrap().to_owned();
    assert!(member_change(
        &next_event(&mut ws).await,
        &agent,
        "DISCONNECTED"
    ));
    assert_eq!(
        next_event(&mut ws).await["eventBody"]["bodyType"],
        "member-leave"
    );
    assert!(member_change(
        &next_event(&mut ws).await,
        &new_agent,
        "ALERTING"
    ));
    assert!(member_change(
        &next_event(&mut ws).await,
        &new_agent,
        "CONNECTED"
    ));
    assert_eq!(
        next_event(&mut ws).await["eventBody"]["bodyType"],
        "member-join"
    );
    let guest: Value = c
        .get(chat.url(&emu, &format!("/members/{}", chat.member)))
        .header("Authorization", chat.auth())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(guest["state"], "CONNECTED");

    // Media requests.
    let mr: Value = c
        .post(ctl(&format!("/conversations/{}/mediarequests", chat.cid)))
        .json(&json!({"types": ["SCREENSHARE"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mr["state"], "PENDING");
    assert_eq!(
        next_event(&mut ws).await["eventBody"]["bodyType"],
        "media-request"
    );
    let rid = mr["id"].as_str().unwrap();
    let list: Value = c
        .get(chat.url(&emu, "/mediarequests"))
        .header("Authorization", chat.auth())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["entities"][0]["id"], rid);
    let one: Value = c
        .get(chat.url(&emu, &format!("/mediarequests/{rid}")))
        .header("Authorization", chat.auth())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["types"], json!(["SCREENSHARE"]));
    let r = c
        .patch(chat.url(&emu, &format!("/mediarequests/{rid}")))
        .header("Authorization", chat.auth())
        .json(&json!({"types":["SCREENSHARE"],"state":"ACCEPTED"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["state"], "ACCEPTED");
    let r = c
        .patch(chat.url(&emu, &format!("/mediarequests/{rid}")))
        .header("Authorization", chat.auth())
        .json(&json!({"state":"PENDING"}))
        .send()
        .await
        .unwrap();
    error_of(r, 400, "invalid.value").await;

    // Heartbeat pause route and drop-socket (abrupt: no close frame).
    let h: Value = c
        .post(ctl(&format!("/conversations/{}/heartbeats", chat.cid)))
        .json(&json!({"paused": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["paused"], true);
    c.post(ctl(&format!("/conversations/{}/drop-socket", chat.cid)))
        .send()
        .await
        .unwrap();
    let end = timeout(T, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) => return "close frame",
                Some(Ok(_)) => continue,
                _ => return "dropped",
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(end, "dropped");
    // Reconnect works (state unchanged), then a close-mode drop.
    let mut ws2 = connect(&chat.uri).await;
    emu.wait_for_sockets(&chat.cid, 1).await.unwrap();
    emu.drop_sockets(&chat.cid, DropMode::Close(4000)).unwrap();
    let f = loop {
        match timeout(T, ws2.next()).await.unwrap() {
            Some(Ok(Message::Close(Some(f)))) => break f,
            Some(Ok(_)) => continue,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(u16::from(f.code), 4000);

    // End via control; PATCH after the end is refused.
    let r = c
        .post(ctl(&format!("/conversations/{}/end", chat.cid)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"ok": true}));
    let r = c
        .patch(chat.url(&emu, &format!("/mediarequests/{rid}")))
        .header("Authorization", chat.auth())
        .json(&json!({"state":"DECLINED"}))
        .send()
        .await
        .unwrap();
    error_of(r, 400, "chat.error.conversation.state").await;
    let r = c.get(ctl("/conversations/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .get(ctl(&format!(
            "/conversations/{}/wait?state=queued&timeoutMs=50",
            chat.cid
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 408);
    emu.shutdown().await;
}

#[tokio::test]
async fn faults_and_activate_without_stream() {
    let emu = Emulator::builder()
        .agent(AgentMode::Manual)
        .agent_delay(Duration::from_millis(1))
        .activate_without_stream(true)
        .faults(Faults {
            error_rate: 1.0,
            seed: Some(7),
            ..Default::default()
        })
        .start()
        .await
        .unwrap();
    let c = Client::new();
    let url = format!("{}{BASE}", emu.base_url());
    let r = c
        .post(&url)
        .json(&create_body("Support"))
        .send()
        .await
        .unwrap();
    error_of(r, 503, "service.unavailable").await;
    let r = c
        .post(format!("{}/emulator/faults", emu.base_url()))
        .json(&json!({"nonJsonRate": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(&url)
        .json(&create_body("Support"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html");
    assert!(r.text().await.unwrap().starts_with("<html>"));
    emu.set_faults(Faults::default()).unwrap();
    let chat = create(&c, &emu).await;
    // No socket attached, yet the conversation is routed and accepts messages.
    emu.wait_for_state(&chat.cid, ConversationState::Connected)
        .await
        .unwrap();
    assert_eq!(send(&c, &emu, &chat, "hello").await.status(), 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn script_agent_and_cors() {
    let script = "# greet, wait, answer, end\nsay Hi, scripted here\nawait-message\ntyping\nwait 5ms\nsay Got it\nend\n";
    let emu = Emulator::builder()
        .agent(AgentMode::script(script).unwrap())
        .agent_delay(Duration::from_millis(1))
        .start()
        .await
        .unwrap();
    let c = Client::new();
    let chat = create(&c, &emu).await;
    let mut ws = connect(&chat.uri).await;
    until(&mut ws, |v| v["eventBody"]["body"] == "Hi, scripted here").await;
    assert_eq!(send(&c, &emu, &chat, "question").await.status(), 200);
    until(&mut ws, |v| v["eventBody"]["body"] == "Got it").await;
    expect_close(&mut ws, 1001).await;

    let r = c
        .request(reqwest::Method::OPTIONS, chat.url(&emu, "/messages"))
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "GET")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let allowed = r.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"));
    let r = c
        .get(chat.url(&emu, "/messages"))
        .header("Origin", "https://app.example")
        .header("Authorization", chat.auth())
        .send()
        .await
        .unwrap();
    let exposed = r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("inin-correlation-id") && exposed.contains("retry-after"));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_chats() {
    let emu = Emulator::builder()
        .agent_delay(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let c = Client::new();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (c, emu) = (c.clone(), emu.clone());
        tasks.push(tokio::spawn(async move {
            let chat = create(&c, &emu).await;
            let mut ws = connect(&chat.uri).await;
            emu.wait_for_state(&chat.cid, ConversationState::Connected)
                .await
                .unwrap();
            let text = format!("n{i}");
            assert_eq!(send(&c, &emu, &chat, &text).await.status(), 200);
            let want = format!("You said: {text}");
            until(&mut ws, |v| v["eventBody"]["body"] == want.as_str()).await;
        }));
    }
    for t in tasks {
        timeout(Duration::from_secs(30), t).await.unwrap().unwrap();
    }
    assert_eq!(emu.conversations().len(), 200);
    emu.shutdown().await;
}

/// A new chat whose socket is attached and whose agent is CONNECTED.
async fn agent_connected(emu: &EmulatorHandle) -> (Client, Chat, Ws) {
    let c = Client::new();
    let chat = create(&c, emu).await;
    let ws = connect(&chat.uri).await;
    emu.wait_for_state(&chat.cid, ConversationState::Connected)
        .await
        .unwrap();
    (c, chat, ws)
}

/// A new chat whose socket is attached and whose guest is CONNECTED.
async fn attached(emu: &EmulatorHandle) -> (Client, Chat, Ws) {
    let c = Client::new();
    let chat = create(&c, emu).await;
    let mut ws = connect(&chat.uri).await;
    until(&mut ws, |v| member_change(v, &chat.member, "CONNECTED")).await;
    (c, chat, ws)
}

#[tokio::test]
async fn a_forgotten_conversation_closes_sockets_with_4100_and_answers_404() {
    let emu = manual().await;
    let (c, chat, mut ws) = attached(&emu).await;
    // Through the control API, as a test in another language would.
    let r = c
        .delete(format!(
            "{}/emulator/conversations/{}",
            emu.base_url(),
            chat.cid
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let reason = format!("Error connecting to conversation ({})", chat.cid);
    // The attached socket is closed with 4100...
    expect_close_with(&mut ws, 4100, &reason).await;
    // ...a new socket with the still-valid JWT is accepted, then closed the same way...
    let mut again = connect(&chat.uri).await;
    expect_close_with(&mut again, 4100, &reason).await;
    // ...and REST no longer knows the conversation.
    let r = c
        .get(chat.url(&emu, &format!("/members/{}", chat.member)))
        .header("Authorization", chat.auth())
        .send()
        .await
        .unwrap();
    error_of(r, 404, "not.found").await;
    assert!(emu.conversations().iter().all(|s| s.id != chat.cid));
    // Forgetting twice is a 404 of the control API.
    assert!(emu.forget(&chat.cid).is_err());
    emu.shutdown().await;
}

#[tokio::test]
async fn conversations_are_forgotten_once_their_jwt_expired() {
    let emu = manual_builder()
        .jwt_lifetime(Duration::from_secs(2))
        .start()
        .await
        .unwrap();
    let (c, chat, mut ws) = attached(&emu).await;
    // While the conversation is known, its JWT is accepted; the first call that is refused must
    // be refused for the expired JWT (401), never answered 404 because the sweeper was first.
    let member_url = format!(
        "{}/api/v2/webchat/guest/conversations/{}/members/{}",
        emu.base_url(),
        chat.cid,
        chat.member
    );
    let refused = loop {
        let r = c
            .get(&member_url)
            .bearer_auth(&chat.jwt)
            .send()
            .await
            .unwrap();
        if r.status() != 200 {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    error_of(refused, 401, "credentials.expired").await;
    // The sweeper removes it shortly after and closes its socket.
    expect_close_with(
        &mut ws,
        4100,
        &format!("Error connecting to conversation ({})", chat.cid),
    )
    .await;
    assert!(emu.conversations().is_empty());
    emu.shutdown().await;
}

#[tokio::test]
async fn socket_closing_is_announced_then_the_socket_closes_after_the_grace() {
    let emu = manual().await;
    let (c, chat, mut ws) = agent_connected(&emu).await;
    let r = c
        .post(format!(
            "{}/emulator/conversations/{}/socket-closing",
            emu.base_url(),
            chat.cid
        ))
        .json(&json!({"graceMs": 300}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = until(&mut ws, |v| v["topicName"] == "v2.system.socket_closing").await;
    assert!(
        v["eventBody"]["message"]
            .as_str()
            .unwrap()
            .contains("300 ms"),
        "{v}"
    );
    // Events still flow during the grace period.
    emu.agent_say(&chat.cid, "still here")
        .unwrap_or_else(|e| panic!("{e}"));
    let said = until(&mut ws, |v| v["metadata"]["type"] == "message").await;
    assert_eq!(said["eventBody"]["body"], "still here");
    expect_close_with(&mut ws, 1001, "Going away").await;
    // The conversation itself goes on: a new socket works.
    let mut again = connect(&chat.uri).await;
    emu.agent_say(&chat.cid, "welcome back").unwrap();
    let said = until(&mut again, |v| v["metadata"]["type"] == "message").await;
    assert_eq!(said["eventBody"]["body"], "welcome back");
    // The all-sockets form.
    let r = c
        .post(format!("{}/emulator/socket-closing", emu.base_url()))
        .json(&json!({"graceMs": 50}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    until(&mut again, |v| v["topicName"] == "v2.system.socket_closing").await;
    expect_close_with(&mut again, 1001, "Going away").await;
    emu.shutdown().await;
}

#[tokio::test]
async fn a_workflow_member_greets_before_the_agent_is_offered() {
    let emu = Emulator::builder()
        .agent_delay(Duration::from_millis(5))
        .config(EmulatorConfig {
            workflow_message: Some("Thanks for contacting us.".into()),
            ..Default::default()
        })
        .start()
        .await
        .unwrap();
    let c = Client::new();
    let chat = create(&c, &emu).await;
    let mut ws = connect(&chat.uri).await;
    let said = until(&mut ws, |v| {
        v["metadata"]["type"] == "message" && v["eventBody"]["body"] == "Thanks for contacting us."
    })
    .await;
    let flow = said["eventBody"]["sender"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(said["eventBody"]["bodyType"], "standard");
    until(&mut ws, |v| member_change(v, &flow, "DISCONNECTED")).await;
    // Then the usual agent sequence.
    let alerting = until(&mut ws, |v| {
        v["metadata"]["type"] == "member-change" && v["eventBody"]["member"]["state"] == "ALERTING"
    })
    .await;
    assert_ne!(alerting["eventBody"]["member"]["id"], flow.as_str());
    let r = c
        .get(chat.url(&emu, &format!("/members/{flow}")))
        .header("Authorization", chat.auth())
        .send()
        .await
        .unwrap();
    let member: Value = r.json().await.unwrap();
    assert_eq!(member["role"], "WORKFLOW");
    assert_eq!(member["state"], "DISCONNECTED");
    assert_eq!(member["displayName"], "Inbound chat flow");
    emu.shutdown().await;
}

#[tokio::test]
async fn an_inactive_guest_is_disconnected_after_the_timeout() {
    let emu = manual_builder()
        .inactivity_timeout(Duration::from_millis(1500))
        .start()
        .await
        .unwrap();
    let (c, chat, mut ws) = attached(&emu).await;
    // (That activity postponing the end is unit-tested with a paused clock in agent.rs.)
    assert_eq!(send(&c, &emu, &chat, "hello").await.status(), 200);
    until(&mut ws, |v| {
        v["metadata"]["type"] == "message" && v["eventBody"]["body"] == "hello"
    })
    .await;
    // Then silence: the chat ends like an agent-ended one.
    until(&mut ws, |v| member_change(v, &chat.member, "DISCONNECTED")).await;
    expect_close(&mut ws, 1001).await;
    assert_eq!(
        emu.conversation_snapshot(&chat.cid).unwrap().state,
        ConversationState::Ended
    );
    assert!(Emulator::builder()
        .inactivity_timeout(Duration::ZERO)
        .start()
        .await
        .is_err());
    emu.shutdown().await;
}

#[tokio::test]
async fn absurdly_long_periods_are_a_config_error_not_a_panic() {
    let builders = [
        Emulator::builder().heartbeat_interval(Duration::MAX),
        Emulator::builder().inactivity_timeout(Duration::MAX),
        Emulator::builder().rate_limit(10, Duration::MAX),
        Emulator::builder().jwt_lifetime(Duration::MAX),
    ];
    for b in builders {
        match b.start().await {
            Err(e) => assert!(e.to_string().contains("at most 10 years"), "{e}"),
            Ok(emu) => {
                emu.shutdown().await;
                panic!("an absurd period was accepted");
            }
        }
    }
}
