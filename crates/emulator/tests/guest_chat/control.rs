//! The control API (`/emulator/...`) a test in any language drives the emulator with: health,
//! waits, the manual agent, duplicate member changes, transfers, media requests, dropped
//! sockets and ending a chat.

use crate::support::*;
use futures::StreamExt;
use guest_chat_emulator::{DropMode, EmulatorHandle};
use reqwest::Client;
use serde_json::{json, Value};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

/// `GET` the control route `path`; the answer, whatever it is.
async fn get_ctl(c: &Client, emu: &EmulatorHandle, path: &str) -> reqwest::Response {
    c.get(ctl(emu, path)).send().await.unwrap()
}

/// `POST` to a control route (with a JSON body when given), the answer as JSON.
async fn post_ctl(c: &Client, emu: &EmulatorHandle, path: &str, body: Option<Value>) -> Value {
    post_control(c, emu, path, body).await.json().await.unwrap()
}

/// A manual-agent chat found through the control API: health answers, the wait route sees it
/// connected with one socket, the list shows its agent mode; the stream is past the join.
/// Returns the client, the chat, its stream and the agent's member id.
async fn controlled(emu: &EmulatorHandle) -> (Client, Chat, Ws, String) {
    let c = Client::new();
    let chat = create(&c, emu).await;
    let health = get_value(&c, &ctl(emu, "/health")).await;
    assert_eq!(health, json!({"ok": true}));
    let mut ws = connect(&chat.uri).await;
    let wait = format!(
        "/conversations/{}/wait?state=connected&sockets=1&timeoutMs=5000",
        chat.cid
    );
    let r = get_ctl(&c, emu, &wait).await;
    assert_eq!(r.status(), 200);
    let snap: Value = r.json().await.unwrap();
    assert_eq!(snap["state"], "connected");
    let agent = snap["agentId"].as_str().unwrap().to_owned();
    let list = get_value(&c, &ctl(emu, "/conversations")).await;
    assert_eq!(list[0]["agentMode"], "manual");
    until(&mut ws, |v| v["eventBody"]["bodyType"] == "member-leave").await;
    (c, chat, ws, agent)
}

#[tokio::test]
async fn unknown_conversations_are_404_and_a_wait_that_cannot_succeed_is_408() {
    let emu = manual().await;
    let (c, chat, _ws, _agent) = controlled(&emu).await;
    let r = get_ctl(&c, &emu, "/conversations/nope").await;
    assert_eq!(r.status(), 404);
    let wait = format!("/conversations/{}/wait?state=queued&timeoutMs=50", chat.cid);
    let r = get_ctl(&c, &emu, &wait).await;
    assert_eq!(r.status(), 408);
    emu.shutdown().await;
}

#[tokio::test]
async fn the_manual_agent_speaks_and_types_when_told() {
    let emu = manual().await;
    let (c, chat, mut ws, agent) = controlled(&emu).await;
    let path = format!("/conversations/{}/agent/messages", chat.cid);
    let m = post_ctl(&c, &emu, &path, Some(json!({"body": "From the test"}))).await;
    let ev = next_event(&mut ws).await;
    assert_eq!(ev["eventBody"]["id"], m["id"]);
    assert_eq!(ev["eventBody"]["sender"]["id"], agent.as_str());
    let path = format!("/conversations/{}/agent/typing", chat.cid);
    post_control(&c, &emu, &path, None).await;
    assert_eq!(
        next_event(&mut ws).await["metadata"]["type"],
        "typing-indicator"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn duplicate_member_changes_and_transfers_are_announced() {
    let emu = manual().await;
    let (c, chat, mut ws, agent) = controlled(&emu).await;
    let path = format!("/conversations/{}/duplicate-member-change", chat.cid);
    let d = post_ctl(&c, &emu, &path, None).await;
    assert_eq!(d["memberId"], agent.as_str());
    assert!(member_change(
        &next_event(&mut ws).await,
        &agent,
        "CONNECTED"
    ));
    let path = format!("/conversations/{}/agent/transfer", chat.cid);
    let t = post_ctl(&c, &emu, &path, Some(json!({"name": "Agent Two"}))).await;
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
    let guest = get_json(&c, &emu, &chat, &format!("/members/{}", chat.member)).await;
    assert_eq!(guest["state"], "CONNECTED");
    emu.shutdown().await;
}

#[tokio::test]
async fn media_requests_are_listed_answered_once_and_closed_by_the_end() {
    let emu = manual().await;
    let (c, chat, mut ws, _agent) = controlled(&emu).await;
    let path = format!("/conversations/{}/mediarequests", chat.cid);
    let mr = post_ctl(&c, &emu, &path, Some(json!({"types": ["SCREENSHARE"]}))).await;
    assert_eq!(mr["state"], "PENDING");
    assert_eq!(
        next_event(&mut ws).await["eventBody"]["bodyType"],
        "media-request"
    );
    let rid = mr["id"].as_str().unwrap();
    let list = get_json(&c, &emu, &chat, "/mediarequests").await;
    assert_eq!(list["entities"][0]["id"], rid);
    let one = get_json(&c, &emu, &chat, &format!("/mediarequests/{rid}")).await;
    assert_eq!(one["types"], json!(["SCREENSHARE"]));
    let patch = |body: Value| {
        c.patch(chat.url(&emu, &format!("/mediarequests/{rid}")))
            .header("Authorization", chat.auth())
            .json(&body)
            .send()
    };
    let r = patch(json!({"types":["SCREENSHARE"],"state":"ACCEPTED"}))
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["state"], "ACCEPTED");
    let r = patch(json!({"state":"PENDING"})).await.unwrap();
    error_of(r, 400, "invalid.value").await;
    // End via control; PATCH after the end is refused.
    let ended = post_ctl(&c, &emu, &format!("/conversations/{}/end", chat.cid), None).await;
    assert_eq!(ended, json!({"ok": true}));
    let r = patch(json!({"state":"DECLINED"})).await.unwrap();
    error_of(r, 400, "chat.error.conversation.state").await;
    emu.shutdown().await;
}

#[tokio::test]
async fn sockets_are_dropped_without_a_close_frame_or_closed_with_a_code() {
    let emu = manual().await;
    let (c, chat, mut ws, _agent) = controlled(&emu).await;
    // Heartbeat pause route and drop-socket (abrupt: no close frame).
    let path = format!("/conversations/{}/heartbeats", chat.cid);
    let h = post_ctl(&c, &emu, &path, Some(json!({"paused": true}))).await;
    assert_eq!(h["paused"], true);
    let path = format!("/conversations/{}/drop-socket", chat.cid);
    post_control(&c, &emu, &path, None).await;
    let end = timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) => return "close frame",
                Some(Ok(_)) => {}
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
        match timeout(WAIT, ws2.next()).await.unwrap() {
            Some(Ok(Message::Close(Some(f)))) => break f,
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(u16::from(f.code), 4000);
    emu.shutdown().await;
}
