//! Shared set-up of the emulator's tests: emulators with a fast agent, a guest chat created
//! over real HTTP, its event stream over a real WebSocket, and the checks every area repeats
//! (the error body, a member change, the close frame).
//!
//! Each test binary (`tests/guest_chat/`, `tests/webmessaging/`, `tests/fuzz/`) includes it
//! with `#[path = "../support/mod.rs"] mod support;` and uses its own part.
#![allow(dead_code)]

use futures::StreamExt;
use guest_chat_emulator::{
    AgentMode, ConversationState, Emulator, EmulatorBuilder, EmulatorHandle,
};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client's WebSocket (plain or TLS).
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Generous bound for anything that should happen "at once": the tests share a loaded
/// 2-core machine. Only ever an upper bound of a wait that succeeds.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// The guest chat REST base path.
pub(crate) const BASE: &str = "/api/v2/webchat/guest/conversations";

/// The manual agent with a short delay, for tests that add settings of their own.
pub(crate) fn manual_builder() -> EmulatorBuilder {
    Emulator::builder()
        .agent(AgentMode::Manual)
        .agent_delay(Duration::from_millis(5))
}

/// An emulator whose agent speaks only when the test tells it to.
pub(crate) async fn manual() -> EmulatorHandle {
    manual_builder().start().await.expect("emulator starts")
}

/// An emulator with `agent` answering after 5 ms.
pub(crate) async fn start(agent: AgentMode) -> EmulatorHandle {
    Emulator::builder()
        .agent(agent)
        .agent_delay(Duration::from_millis(5))
        .start()
        .await
        .expect("emulator starts")
}

/// An emulator with the echo agent (the default) answering after 5 ms.
pub(crate) async fn echo() -> EmulatorHandle {
    start(AgentMode::Echo).await
}

/// A valid create body routed to `queue`.
pub(crate) fn create_body(queue: &str) -> Value {
    json!({"organizationId":"org-1","deploymentId":"dep-1",
           "routingTarget":{"targetType":"queue","targetAddress":queue},
           "memberInfo":{"displayName":"Ada","customFields":{"firstName":"Ada"}}})
}

/// `POST` a create body to `emu`; the answer, whatever it is.
pub(crate) async fn post_create(c: &Client, emu: &EmulatorHandle) -> reqwest::Response {
    timeout(
        WAIT,
        c.post(format!("{}{BASE}", emu.base_url()))
            .json(&create_body("Support"))
            .send(),
    )
    .await
    .expect("create answered in time")
    .expect("create request")
}

/// A guest chat as the create answer describes it.
#[derive(Debug, Clone)]
pub(crate) struct Chat {
    pub(crate) cid: String,
    pub(crate) jwt: String,
    pub(crate) member: String,
    pub(crate) uri: String,
}

impl Chat {
    /// `rest` below this conversation's REST URL.
    pub(crate) fn url(&self, emu: &EmulatorHandle, rest: &str) -> String {
        format!("{}{BASE}/{}{rest}", emu.base_url(), self.cid)
    }

    /// The `Authorization` value of this chat's JWT.
    pub(crate) fn auth(&self) -> String {
        format!("Bearer {}", self.jwt)
    }
}

/// Creates a chat (asserting 200).
pub(crate) async fn create(c: &Client, emu: &EmulatorHandle) -> Chat {
    let r = post_create(c, emu).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("create body");
    let field = |v: &Value| v.as_str().expect("a string field").to_owned();
    Chat {
        cid: field(&v["id"]),
        jwt: field(&v["jwt"]),
        member: field(&v["member"]["id"]),
        uri: field(&v["eventStreamUri"]),
    }
}

/// The guest sends `text` (standard body).
pub(crate) async fn send(
    c: &Client,
    emu: &EmulatorHandle,
    chat: &Chat,
    text: &str,
) -> reqwest::Response {
    c.post(chat.url(emu, &format!("/members/{}/messages", chat.member)))
        .header("Authorization", chat.auth())
        .json(&json!({"body": text, "bodyType": "standard"}))
        .send()
        .await
        .expect("send answered")
}

/// `GET rest` below the chat with its JWT; the answer, whatever it is.
pub(crate) async fn get_authed(
    c: &Client,
    emu: &EmulatorHandle,
    chat: &Chat,
    rest: &str,
) -> reqwest::Response {
    c.get(chat.url(emu, rest))
        .header("Authorization", chat.auth())
        .send()
        .await
        .expect("answered")
}

/// `GET rest` below the chat with its JWT, as JSON.
pub(crate) async fn get_json(c: &Client, emu: &EmulatorHandle, chat: &Chat, rest: &str) -> Value {
    get_authed(c, emu, chat, rest)
        .await
        .json()
        .await
        .expect("a JSON body")
}

/// `GET url` (no credentials), the answer as JSON.
pub(crate) async fn get_value(c: &Client, url: &str) -> Value {
    c.get(url)
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("a JSON body")
}

/// The control route `path` (below `/emulator`) of `emu`.
pub(crate) fn ctl(emu: &EmulatorHandle, path: &str) -> String {
    format!("{}/emulator{path}", emu.base_url())
}

/// `POST` to the control route `path` (with a JSON body when given); the answer.
pub(crate) async fn post_control(
    c: &Client,
    emu: &EmulatorHandle,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut r = c.post(ctl(emu, path));
    if let Some(body) = body {
        r = r.json(&body);
    }
    r.send().await.expect("the control API answered")
}

/// Checks an error answer (status, `code`, the correlation id as `contextId`, empty
/// `details`/`errors`) and returns its body.
pub(crate) async fn error_of(r: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status);
    let corr = r
        .headers()
        .get("inin-correlation-id")
        .expect("correlation header")
        .to_str()
        .expect("ASCII header")
        .to_owned();
    let v: Value = r.json().await.expect("a JSON error body");
    assert_eq!(v["code"], code, "{v}");
    assert_eq!(v["status"], status);
    assert_eq!(v["contextId"], corr.as_str());
    assert_eq!(v["details"], json!([]));
    assert_eq!(v["errors"], json!([]));
    v
}

/// Opens the event stream at `uri`.
pub(crate) async fn connect(uri: &str) -> Ws {
    timeout(WAIT, tokio_tungstenite::connect_async(uri))
        .await
        .expect("connected in time")
        .expect("WebSocket upgrade")
        .0
}

/// Next text frame as JSON, skipping heartbeats.
pub(crate) async fn next_event(ws: &mut Ws) -> Value {
    loop {
        let msg = timeout(WAIT, ws.next())
            .await
            .expect("frame in time")
            .expect("the socket is open")
            .expect("no socket error");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(t.as_str()).expect("a JSON frame");
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
pub(crate) async fn until(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let v = next_event(ws).await;
        if pred(&v) {
            return v;
        }
    }
}

/// `v` is a member-change event of member `id` to `state`.
pub(crate) fn member_change(v: &Value, id: &str, state: &str) -> bool {
    v["metadata"]["type"] == "member-change"
        && v["eventBody"]["member"]["id"] == id
        && v["eventBody"]["member"]["state"] == state
}

/// Skips frames until the close frame, which must have `code` and the end-of-chat reason.
pub(crate) async fn expect_close(ws: &mut Ws, code: u16) {
    expect_close_with(ws, code, "The conversation is ended").await;
}

/// Skips frames until the close frame, which must have `code` and `reason`.
pub(crate) async fn expect_close_with(ws: &mut Ws, code: u16, reason: &str) {
    loop {
        let msg = timeout(WAIT, ws.next()).await.expect("close in time");
        match msg {
            Some(Ok(Message::Close(Some(f)))) => {
                assert_eq!(u16::from(f.code), code);
                assert_eq!(f.reason.as_str(), reason);
                return;
            }
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// A new chat and its event stream, just opened (nothing read from it yet).
pub(crate) async fn with_socket(emu: &EmulatorHandle) -> (Client, Chat, Ws) {
    let c = Client::new();
    let chat = create(&c, emu).await;
    let ws = connect(&chat.uri).await;
    (c, chat, ws)
}

/// A new chat whose socket is attached and whose agent is CONNECTED.
pub(crate) async fn agent_connected(emu: &EmulatorHandle) -> (Client, Chat, Ws) {
    let (c, chat, ws) = with_socket(emu).await;
    emu.wait_for_state(&chat.cid, ConversationState::Connected)
        .await
        .expect("the agent connects");
    (c, chat, ws)
}

/// A new chat whose socket is attached and whose guest is CONNECTED.
pub(crate) async fn attached(emu: &EmulatorHandle) -> (Client, Chat, Ws) {
    let (c, chat, mut ws) = with_socket(emu).await;
    until(&mut ws, |v| member_change(v, &chat.member, "CONNECTED")).await;
    (c, chat, ws)
}

/// Waits until the peer closes `tcp` (EOF or reset); panics after `within`.
pub(crate) async fn closed_within(tcp: &mut TcpStream, within: Duration) {
    let mut buf = [0u8; 512];
    let r = timeout(within, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        r.is_ok(),
        "the emulator did not close the connection within {within:?}"
    );
}

/// The status of `GET /emulator/health`.
pub(crate) async fn health(c: &Client, emu: &EmulatorHandle) -> StatusCode {
    timeout(
        WAIT,
        c.get(format!("{}/emulator/health", emu.base_url())).send(),
    )
    .await
    .expect("health answered in time")
    .expect("health request")
    .status()
}
