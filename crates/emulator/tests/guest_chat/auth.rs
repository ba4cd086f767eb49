//! Who may do what: the JWT on every request, another conversation's JWT, unknown ids, and
//! writes before the event stream attaches.

use crate::support::*;
use reqwest::Client;

/// `GET /members` of `chat` with this `Authorization` value (none when `None`).
async fn get_members(
    c: &Client,
    emu: &guest_chat_emulator::EmulatorHandle,
    chat: &Chat,
    auth: Option<String>,
) -> reqwest::Response {
    let mut r = c.get(chat.url(emu, "/members"));
    if let Some(a) = auth {
        r = r.header("Authorization", a);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn missing_malformed_tampered_and_expired_credentials_are_401() {
    let emu = manual().await;
    let c = Client::new();
    let chat = create(&c, &emu).await;
    let get = |auth: Option<String>| get_members(&c, &emu, &chat, auth);
    error_of(get(None).await, 401, "authentication.required").await;
    for bad in [
        "Bearer garbage".to_owned(),
        "[REDACTED]".to_owned(),
        format!("Basic {}", chat.jwt),
    ] {
        error_of(get(Some(bad)).await, 401, "bad.credentials").await;
    }
    let mut tampered = chat.jwt.clone();
    tampered.pop();
    tampered.push(if chat.jwt.ends_with('A') { 'B' } else { 'A' });
    error_of(
        get(Some(format!("Bearer {tampered}"))).await,
        401,
        "bad.credentials",
    )
    .await;
    let expired = emu.mint_jwt(&chat.cid, -10).unwrap();
    error_of(
        get(Some(format!("Bearer {expired}"))).await,
        401,
        "credentials.expired",
    )
    .await;
    assert_eq!(
        get(Some(format!("bearer {}", chat.jwt))).await.status(),
        200
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn another_conversations_jwt_is_403_and_unknown_ids_are_404() {
    let emu = manual().await;
    let c = Client::new();
    let chat = create(&c, &emu).await;
    let other = create(&c, &emu).await;
    let r = get_members(&c, &emu, &chat, Some(format!("Bearer {}", other.jwt))).await;
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
        let r = get_authed(&c, &emu, &chat, path).await;
        let v = error_of(r, 404, "chat.error.not.found").await;
        assert_eq!(v["message"], msg);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn writes_before_the_stream_attaches_and_a_bad_upgrade_are_refused() {
    let emu = manual().await;
    let c = Client::new();
    let chat = create(&c, &emu).await;
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
