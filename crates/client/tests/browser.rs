//! The SDK in a real browser: a whole chat against the emulator, from a page served on
//! another port than the emulator (cross-origin, as a web page would be), in headless
//! Chromium through `wasm-bindgen-test`. Run it with `scripts/browser-test.sh`, which starts
//! the emulator and passes its URL in `GUEST_CHAT_EMULATOR_URL` at compile time.
#![cfg(target_arch = "wasm32")]

use futures::StreamExt;
use purecloud_guest_chat_client::session::{
    ChatOptions, ChatState, GuestChat, SessionEvent, SessionEvents,
};
use purecloud_guest_chat_client::EventStreamOptions;
use purecloud_guest_chat_client::{ApiClient, CreateWebChatConversationRequest, Role};
use std::time::Duration;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// How long any one expected event may take (generous: a loaded 2-core machine).
const WAIT: Duration = Duration::from_secs(20);

fn emulator_url() -> &'static str {
    env!(
        "GUEST_CHAT_EMULATOR_URL",
        "build with GUEST_CHAT_EMULATOR_URL set (scripts/browser-test.sh does)"
    )
}

/// A call to the emulator's control API (a plain cross-origin `fetch`).
async fn control(path: &str, body: serde_json::Value) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", emulator_url()))
        .json(&body)
        .send()
        .await
        .expect("the control API answers");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.expect("a JSON answer")
}

/// The next event, within [`WAIT`] (timed on the page's own timers).
async fn next(events: &mut SessionEvents) -> SessionEvent {
    let timer = gloo_timers::future::sleep(WAIT);
    futures::pin_mut!(timer);
    match futures::future::select(events.next(), timer).await {
        futures::future::Either::Left((Some(event), _)) => event,
        futures::future::Either::Left((None, _)) => panic!("the chat ended early"),
        futures::future::Either::Right(_) => panic!("no event within {WAIT:?}"),
    }
}

async fn until(
    events: &mut SessionEvents,
    mut pred: impl FnMut(&SessionEvent) -> bool,
) -> SessionEvent {
    loop {
        let event = next(events).await;
        if pred(&event) {
            return event;
        }
    }
}

/// Waits for the agent's standard message `text`, and returns how many reconnections
/// happened on the way.
async fn agent_says(events: &mut SessionEvents, text: &str) -> u32 {
    let mut reconnections = 0;
    loop {
        match next(events).await {
            SessionEvent::Message {
                message, sender, ..
            } if message.body.as_deref() == Some(text) => {
                assert_eq!(sender.role, Some(Role::Agent), "{text:?} is the agent's");
                return reconnections;
            }
            SessionEvent::Reconnecting { .. } => reconnections += 1,
            SessionEvent::Ended(reason) => panic!("ended before {text:?}: {reason:?}"),
            _ => {}
        }
    }
}

#[wasm_bindgen_test]
#[allow(
    clippy::too_many_lines,
    reason = "one browser session, run once: splitting it would start the page again per step"
)]
async fn a_whole_chat_in_the_browser_with_a_dropped_socket() {
    // The page is on the test runner's origin, the emulator on another port: every call
    // below is a CORS request, and the Authorization header makes it a preflighted one.
    let page = web_sys_origin();
    assert!(
        !emulator_url().starts_with(&page),
        "cross-origin: {page} vs {}",
        emulator_url()
    );

    control(
        "/emulator/agent",
        serde_json::json!({"mode": "manual", "delayMs": 20}),
    )
    .await;
    let client = ApiClient::builder()
        .environment(emulator_url())
        .build()
        .expect("a client");
    let request = CreateWebChatConversationRequest::new("org-1", "dep-1", "Support", "Ada");
    let chat = GuestChat::start(&client, &request)
        .await
        .expect("the chat starts");
    let cid = chat.conversation_id().to_owned();
    let mut events = chat.events();
    until(&mut events, |e| {
        matches!(e, SessionEvent::StateChanged(ChatState::Connected))
    })
    .await;
    assert_eq!(chat.agent().and_then(|a| a.role), Some(Role::Agent));

    // The guest writes; the agent answers and types.
    chat.send("hello from the browser")
        .await
        .expect("the guest's message is sent");
    control(
        &format!("/emulator/conversations/{cid}/agent/messages"),
        serde_json::json!({"body": "hello, guest"}),
    )
    .await;
    agent_says(&mut events, "hello, guest").await;
    chat.typing()
        .await
        .expect("the guest's typing indicator is sent");
    control(
        &format!("/emulator/conversations/{cid}/agent/typing"),
        serde_json::json!({}),
    )
    .await;
    let typing = until(&mut events, |e| matches!(e, SessionEvent::TypingStarted(_))).await;
    let SessionEvent::TypingStarted(who) = typing else {
        unreachable!()
    };
    assert_eq!(who.role, Some(Role::Agent));

    // The socket dies without a close frame; the agent speaks while it is down. The
    // stream reconnects and the resync delivers the message: nothing is lost.
    control(
        &format!("/emulator/conversations/{cid}/drop-socket"),
        serde_json::json!({"mode": "abrupt"}),
    )
    .await;
    control(
        &format!("/emulator/conversations/{cid}/agent/messages"),
        serde_json::json!({"body": "said while you were away"}),
    )
    .await;
    control(
        &format!("/emulator/conversations/{cid}/agent/messages"),
        serde_json::json!({"body": "and once more"}),
    )
    .await;
    let reconnections = agent_says(&mut events, "said while you were away").await
        + agent_says(&mut events, "and once more").await;
    let snapshot = control_get(&format!("/emulator/conversations/{cid}")).await;
    assert!(
        snapshot["sockets"].as_u64().unwrap_or(0) >= 1,
        "a socket is attached again: {snapshot}"
    );
    assert!(
        reconnections >= 1,
        "the dropped socket was noticed and replaced"
    );

    chat.send("still here")
        .await
        .expect("sending works after the reconnection");
    chat.leave().await.expect("the guest leaves");
    until(&mut events, |e| matches!(e, SessionEvent::Ended(_))).await;
    assert_eq!(chat.state(), ChatState::Ended);
    let snapshot = control_get(&format!("/emulator/conversations/{cid}")).await;
    assert_eq!(snapshot["state"], "ended", "{snapshot}");
}

async fn control_get(path: &str) -> serde_json::Value {
    reqwest::get(format!("{}{path}", emulator_url()))
        .await
        .expect("the control API answers")
        .json()
        .await
        .expect("a JSON answer")
}

/// The page's own origin (`location.origin`).
fn web_sys_origin() -> String {
    let location = js_sys::Reflect::get(&js_sys::global(), &"location".into()).expect("a page");
    js_sys::Reflect::get(&location, &"origin".into())
        .ok()
        .and_then(|o| o.as_string())
        .expect("location.origin")
}

fn proxy_url() -> &'static str {
    env!(
        "GUEST_CHAT_PROXY_URL",
        "build with GUEST_CHAT_PROXY_URL set (scripts/browser-test.sh does)"
    )
}

/// The network between the page and the service (scripts/netloss-proxy.py): `down` or `up`.
async fn network(state: &str) {
    let url = env!(
        "GUEST_CHAT_NETLOSS_URL",
        "build with GUEST_CHAT_NETLOSS_URL set (scripts/browser-test.sh does)"
    );
    let response = reqwest::Client::new()
        .post(format!("{url}/{state}"))
        .send()
        .await
        .expect("the proxy's control answers");
    assert_eq!(response.text().await.expect("its state"), state);
}

/// Milliseconds on the page's clock.
fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The agent's standard messages among `event`, by text.
fn agent_text(event: &SessionEvent) -> Option<String> {
    match event {
        SessionEvent::Message {
            message, sender, ..
        } if sender.role == Some(Role::Agent) => message.body.clone(),
        _ => None,
    }
}

/// The next event, or `None` once `deadline_ms` (page clock) has passed.
async fn next_before(events: &mut SessionEvents, deadline_ms: f64) -> Option<SessionEvent> {
    let left = (deadline_ms - now_ms()).max(0.0);
    let timer = gloo_timers::future::sleep(Duration::from_millis(left as u64));
    futures::pin_mut!(timer);
    match futures::future::select(events.next(), timer).await {
        futures::future::Either::Left((Some(event), _)) => Some(event),
        futures::future::Either::Left((None, _)) => panic!("the chat ended early"),
        futures::future::Either::Right(_) => None,
    }
}

/// The page loses its network for 30 s (the connections stay open but go silent: no close,
/// no reset) while the agent writes. The heartbeat liveness check notices the silent socket,
/// the stream keeps trying, and once the network is back it reconnects and resyncs: every
/// message arrives exactly once. A REST call made meanwhile ends with the client's timeout.
#[wasm_bindgen_test]
async fn thirty_seconds_without_network() {
    let request = CreateWebChatConversationRequest::new("org-1", "dep-1", "Support", "Grace");
    let (chat, mut events) = start_behind_the_proxy(&request).await;
    let cid = chat.conversation_id().to_owned();
    agent_writes(&cid, "before the outage").await;
    agent_says(&mut events, "before the outage").await;

    let said = ["lost 1", "lost 2", "lost 3"];
    network("down").await;
    let reconnecting = sit_out_the_outage(&cid, &request, &said, &mut events).await;
    // The socket was never closed: only the heartbeat liveness check can have noticed.
    assert!(
        reconnecting >= 1,
        "the silent connection was noticed during the outage"
    );
    network("up").await;

    let mut seen = after_the_network_returns(said.len(), &mut events).await;
    // A last message: anything duplicated would come before it.
    chat.send("back online")
        .await
        .expect("the guest sends after the outage");
    agent_writes(&cid, "after the outage").await;
    loop {
        let event = next(&mut events).await;
        if let Some(text) = agent_text(&event) {
            if text == "after the outage" {
                break;
            }
            seen.push(text);
        }
    }
    assert_eq!(seen, said, "every message once, in order");
    let transcript = control_get(&format!("/emulator/conversations/{cid}/transcript")).await;
    let guest_sent = transcript.to_string().matches("back online").count();
    assert_eq!(guest_sent, 1, "the guest's message once: {transcript}");
    chat.leave().await.expect("the guest leaves");
}

const OUTAGE_MS: f64 = 30_000.0;

async fn agent_writes(cid: &str, text: &str) {
    control(
        &format!("/emulator/conversations/{cid}/agent/messages"),
        serde_json::json!({"body": text}),
    )
    .await;
}

/// A chat whose every call and socket goes through the proxy (the control API does not),
/// connected to its agent.
async fn start_behind_the_proxy(
    request: &CreateWebChatConversationRequest,
) -> (GuestChat, SessionEvents) {
    control(
        "/emulator/agent",
        serde_json::json!({"mode": "manual", "delayMs": 20}),
    )
    .await;
    // Before it reconnects, the stream asks REST whether the chat is still on: a short
    // timeout (and one retry) keeps that question, unanswerable during the outage, well
    // inside it.
    let client = ApiClient::builder()
        .environment(proxy_url())
        .timeout(Duration::from_secs(4))
        .retry(purecloud_guest_chat_client::RetryPolicy::default().max_retries(1))
        .build()
        .expect("a client");
    // The emulator beats every 5 s (scripts/browser-test.sh): silence for 12.5 s is a dead
    // connection. Short back-off, so that the return of the network is seen soon.
    let options = ChatOptions::default().stream(
        EventStreamOptions::default()
            .heartbeat_interval(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(4))
            .backoff(Duration::from_millis(250), Duration::from_secs(2))
            .max_reconnect_attempts(None),
    );
    let chat = GuestChat::start_with(&client, request, options)
        .await
        .expect("the chat starts");
    let mut events = chat.events();
    until(&mut events, |e| {
        matches!(e, SessionEvent::StateChanged(ChatState::Connected))
    })
    .await;
    (chat, events)
}

/// The 30 s without network: the agent writes at its start, a third and two thirds of the
/// way through; nothing of it may arrive meanwhile. Returns the reconnections seen.
async fn sit_out_the_outage(
    cid: &str,
    request: &CreateWebChatConversationRequest,
    said: &[&str],
    events: &mut SessionEvents,
) -> u32 {
    let down_at = now_ms();
    let mut reconnecting = 0;
    for (i, text) in said.iter().enumerate() {
        agent_writes(cid, text).await;
        if i == 0 {
            a_call_without_network_times_out(request).await;
        }
        let until_ms = down_at + OUTAGE_MS * (i as f64 + 1.0) / said.len() as f64;
        while let Some(event) = next_before(events, until_ms).await {
            match &event {
                SessionEvent::Reconnecting { .. } => reconnecting += 1,
                SessionEvent::Ended(reason) => panic!("ended during the outage: {reason:?}"),
                _ => {}
            }
            if let Some(text) = agent_text(&event) {
                panic!("{text:?} arrived while the network was down");
            }
        }
    }
    assert!(now_ms() - down_at >= OUTAGE_MS, "the outage lasted 30 s");
    reconnecting
}

/// A REST call of a client with a 1 s timeout (no retries) cannot get through.
async fn a_call_without_network_times_out(request: &CreateWebChatConversationRequest) {
    let quick = ApiClient::builder()
        .environment(proxy_url())
        .timeout(Duration::from_secs(1))
        .retry(purecloud_guest_chat_client::RetryPolicy::default().max_retries(0))
        .build()
        .expect("a client");
    let started = now_ms();
    let result = purecloud_guest_chat_client::WebChatApi::new(&quick)
        .post_webchat_guest_conversations(request)
        .await;
    assert!(
        matches!(result, Err(purecloud_guest_chat_client::Error::Timeout(_))),
        "a call without network ends with the client's timeout: {result:?}"
    );
    let took = now_ms() - started;
    assert!(
        (900.0..15_000.0).contains(&took),
        "the timeout (1 s) ended it, after {took} ms"
    );
}

/// After the network returns: the agent's `count` messages and a resync, within 60 s.
async fn after_the_network_returns(count: usize, events: &mut SessionEvents) -> Vec<String> {
    let mut seen = Vec::new();
    let mut resynced = false;
    let deadline = now_ms() + 60_000.0;
    while seen.len() < count || !resynced {
        let Some(event) = next_before(events, deadline).await else {
            panic!("within 60 s of the network's return: seen {seen:?}, resynced {resynced}");
        };
        match &event {
            SessionEvent::Resynced { .. } => resynced = true,
            SessionEvent::Ended(reason) => panic!("ended after the outage: {reason:?}"),
            _ => {}
        }
        if let Some(text) = agent_text(&event) {
            seen.push(text);
        }
    }
    seen
}

/// Web Messaging in the browser: a refused upgrade is `UpgradeRefused` (status 0: the browser
/// hides it) while an unreachable server is a socket error; the keep-alive ping, which a page
/// cannot send as a WebSocket ping, is the protocol's `echo`, and its reply the pong.
#[wasm_bindgen_test]
async fn web_messaging_refusal_and_keep_alive() {
    use purecloud_guest_chat_client::webmessaging::{
        ConnectOptions, Endpoint, SessionToken, WebMessagingClient, WmError,
    };
    let endpoint = Endpoint::from_base_url(emulator_url()).expect("the emulator's URL");
    let options = ConnectOptions::default().answer_timeout(WAIT);

    // scripts/browser-test.sh starts the emulator with this deployment disabled: 403.
    let refused = WebMessagingClient::connect(&endpoint, "refused-deployment", options.clone())
        .await
        .expect_err("the upgrade is refused");
    assert!(
        matches!(refused, WmError::UpgradeRefused { status: 0 }),
        "a refused upgrade: {refused:?}"
    );
    // Nothing listens there (and Chromium blocks the port): not a refused upgrade.
    let nowhere = Endpoint::from_base_url("http://127.0.0.1:9").expect("a URL");
    let unreachable = WebMessagingClient::connect(&nowhere, "dep-1", options.clone())
        .await
        .expect_err("no server");
    assert!(
        matches!(unreachable, WmError::Socket(_)),
        "an unreachable server: {unreachable:?}"
    );

    let mut client = WebMessagingClient::connect(&endpoint, "dep-1", options)
        .await
        .expect("the socket opens");
    client
        .configure(&SessionToken::generate())
        .await
        .expect("the session starts");
    client.ping().await.expect("the ping is sent");
    assert!(client.pong_pending(), "a ping waits for its pong");
    // The echo's reply comes before the answer to the message sent after it.
    client
        .send_text("after a ping")
        .await
        .expect("the message is acknowledged");
    assert!(!client.pong_pending(), "the echo's reply is the pong");
    client.close().await;
}
