//! How conversations end without a guest: forgotten, expired, closing sockets, inactivity;
//! and the workflow member that greets first.

use crate::support::*;
use guest_chat_emulator::{ConversationState, Emulator, EmulatorConfig};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_forgotten_conversation_closes_sockets_with_4100_and_answers_404() {
    let emu = manual().await;
    let (c, chat, mut ws) = attached(&emu).await;
    // Through the control API, as a test in another language would.
    let r = c
        .delete(ctl(&emu, &format!("/conversations/{}", chat.cid)))
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
    let r = get_authed(&c, &emu, &chat, &format!("/members/{}", chat.member)).await;
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
    let path = format!("/conversations/{}/socket-closing", chat.cid);
    let r = post_control(&c, &emu, &path, Some(json!({"graceMs": 300}))).await;
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
    let r = post_control(&c, &emu, "/socket-closing", Some(json!({"graceMs": 50}))).await;
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
    let (c, chat, mut ws) = with_socket(&emu).await;
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
    let member = get_json(&c, &emu, &chat, &format!("/members/{flow}")).await;
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
