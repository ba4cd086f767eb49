//! The SDK in a real browser: a whole chat against the emulator, from a page served on
//! another port than the emulator (cross-origin, as a web page would be), in headless
//! Chromium through `wasm-bindgen-test`. Run it with `scripts/browser-test.sh`, which starts
//! the emulator and passes its URL in `GUEST_CHAT_EMULATOR_URL` at compile time.
#![cfg(target_arch = "wasm32")]

use futures::StreamExt;
use purecloud_guest_chat_client::session::{ChatState, GuestChat, SessionEvent, SessionEvents};
use purecloud_guest_chat_client::{ApiClient, CreateWebChatConversationRequest, Role};
use std::time::Duration;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// How long any one expected event may take (generous: a loaded 2-core machine).
const WAIT: Duration = Duration::from_secs(20);

// Not env!: the URL exists only when scripts/browser-test.sh builds the test, and CI's wasm32
// clippy pass compiles it without one.
#[allow(
    clippy::option_env_unwrap,
    reason = "a build without the URL must still compile (clippy); running it then says why it fails"
)]
fn emulator_url() -> &'static str {
    option_env!("GUEST_CHAT_EMULATOR_URL")
        .expect("build with GUEST_CHAT_EMULATOR_URL set (scripts/browser-test.sh does)")
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
