//! The event stream and the REST around it: heartbeats, the rate limit, faults, the script
//! agent, CORS, many chats at once, and the guest leaving.

use crate::support::*;
use futures::{SinkExt, StreamExt};
use guest_chat_emulator::{AgentMode, ConversationState, Emulator, Faults};
use reqwest::Client;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

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
    let emu = manual_builder()
        .heartbeat_interval(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let (_c, chat, mut ws) = with_socket(&emu).await;
    emu.wait_for_sockets(&chat.cid, 1).await.unwrap();
    let hb = loop {
        let msg = timeout(WAIT, ws.next()).await.unwrap().unwrap().unwrap();
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
    timeout(WAIT, async {
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
    let emu = manual_builder()
        .rate_limit(3, Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let c = Client::new();
    let chat = create(&c, &emu).await;
    for i in 1..=3 {
        let r = get_authed(&c, &emu, &chat, "/messages").await;
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
    let r = get_authed(&c, &emu, &chat, "/messages").await;
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
async fn faults_and_activate_without_stream() {
    let emu = manual_builder()
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
    let r = post_create(&c, &emu).await;
    error_of(r, 503, "service.unavailable").await;
    let r = post_control(&c, &emu, "/faults", Some(json!({"nonJsonRate": 1.0}))).await;
    assert_eq!(r.status(), 200);
    let r = post_create(&c, &emu).await;
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
    let (c, chat, mut ws) = with_socket(&emu).await;
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
