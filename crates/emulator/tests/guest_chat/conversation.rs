//! One chat with the echo agent, step by step: the join sequence, members, the guest's
//! message and its echo, typing, message validation, history, and the agent ending it on "bye".

use crate::support::*;
use guest_chat_emulator::{ConversationState, EmulatorHandle};
use reqwest::Client;
use serde_json::{json, Value};

/// A chat with the echo agent through its join sequence (each event checked in order), up to
/// the greeting; returns the client, the chat, its stream and the agent's member id.
async fn joined(emu: &EmulatorHandle) -> (Client, Chat, Ws, String) {
    let c = Client::new();
    let chat = create(&c, emu).await;
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
    (c, chat, ws, agent)
}

/// The guest says "hi there": the answer (with its REST id and URIs), then on the stream its
/// echo, the agent's typing and the reply. Returns the answer.
async fn hi_there(
    c: &Client,
    emu: &EmulatorHandle,
    chat: &Chat,
    ws: &mut Ws,
    agent: &str,
) -> Value {
    let r = send(c, emu, chat, "hi there").await;
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
    let echo = next_event(ws).await;
    assert_eq!(echo["eventBody"]["id"], mid.as_str());
    assert_eq!(echo["eventBody"]["sender"]["id"], chat.member.as_str());
    let typing = next_event(ws).await;
    assert_eq!(typing["metadata"]["type"], "typing-indicator");
    assert_eq!(typing["eventBody"]["sender"]["id"], agent);
    let reply = next_event(ws).await;
    assert_eq!(reply["eventBody"]["body"], "You said: hi there");
    sent
}

#[tokio::test]
async fn members_are_paged_filtered_and_have_roles() {
    let emu = echo().await;
    let (c, chat, _ws, agent) = joined(&emu).await;
    // JS-SDK style empty query values.
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
    let v = get_json(
        &c,
        &emu,
        &chat,
        "/members?pageSize=1&pageNumber=2&excludeDisconnectedMembers=true",
    )
    .await;
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
    let m = get_json(&c, &emu, &chat, &format!("/members/{agent}")).await;
    assert_eq!(m["role"], "AGENT");
    assert_eq!(m["displayName"], "Riley");
    emu.shutdown().await;
}

#[tokio::test]
async fn own_messages_and_typing_are_echoed_and_the_agent_replies() {
    let emu = echo().await;
    let (c, chat, mut ws, agent) = joined(&emu).await;
    hi_there(&c, &emu, &chat, &mut ws, &agent).await;
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
    emu.shutdown().await;
}

#[tokio::test]
async fn messages_without_a_body_too_long_or_of_a_system_type_are_refused() {
    let emu = echo().await;
    let (c, chat, _ws, _agent) = joined(&emu).await;
    let post = |body: Value| {
        c.post(chat.url(&emu, &format!("/members/{}/messages", chat.member)))
            .header("Authorization", chat.auth())
            .json(&body)
            .send()
    };
    error_of(
        post(json!({"bodyType": "standard"})).await.unwrap(),
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
    error_of(
        post(json!({"body": "x", "bodyType": "member-join"}))
            .await
            .unwrap(),
        400,
        "invalid.value",
    )
    .await;
    emu.shutdown().await;
}

#[tokio::test]
async fn history_lists_pages_and_checks_its_query() {
    let emu = echo().await;
    let (c, chat, mut ws, agent) = joined(&emu).await;
    let sent = hi_there(&c, &emu, &chat, &mut ws, &agent).await;
    let mid = sent["id"].as_str().unwrap();
    let v = get_json(
        &c,
        &emu,
        &chat,
        "/messages?after=&before=&sortOrder=&maxResults=",
    )
    .await;
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
    assert_eq!(ents[3]["id"], mid);
    assert!(v["next"].is_null());
    let v = get_json(&c, &emu, &chat, &format!("/messages?after={mid}")).await;
    assert_eq!(v["entities"].as_array().unwrap().len(), 1);
    let q = format!("/messages?before={mid}&maxResults=2&sortOrder=descending");
    let v = get_json(&c, &emu, &chat, &q).await;
    let e = v["entities"].as_array().unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(e[0]["body"], "Hello Ada, I'm Riley. How can I help?");
    assert!(v["next"].as_str().unwrap().contains("before="));
    let v = get_json(&c, &emu, &chat, "/messages?maxResults=2").await;
    assert!(v["next"].as_str().unwrap().contains("after="));
    for (query, code) in [
        ("?maxResults=0", "constraint.validation"),
        ("?maxResults=101", "constraint.validation"),
        ("?after=unknown+id", "invalid.query.param.value"),
        ("?sortOrder=sideways", "invalid.query.param.value"),
    ] {
        let r = get_authed(&c, &emu, &chat, &format!("/messages{query}")).await;
        error_of(r, 400, code).await;
    }
    assert_eq!(
        get_json(&c, &emu, &chat, &format!("/messages/{mid}")).await,
        sent
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn bye_ends_the_chat_then_writes_are_refused_and_reads_work() {
    let emu = echo().await;
    let (c, chat, mut ws, agent) = joined(&emu).await;
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
    let m = get_json(&c, &emu, &chat, &format!("/members/{}", chat.member)).await;
    assert_eq!(m["state"], "DISCONNECTED");
    let mut again = connect(&chat.uri).await;
    expect_close(&mut again, 1001).await;
    emu.shutdown().await;
}
