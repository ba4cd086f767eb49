//! The low-level Web Messaging client against the emulator, over real `WebSockets`.

use guest_chat_emulator::{
    AgentMode, DeploymentSettings, Emulator, EmulatorConfig, EmulatorHandle,
};
use purecloud_guest_chat_client::webmessaging::*;
use std::time::Duration;

use crate::support::quick_agent_emulator;

async fn connect(emu: &EmulatorHandle) -> WebMessagingClient {
    let endpoint = Endpoint::from_base_url(&emu.base_url()).unwrap();
    let options = ConnectOptions::default().answer_timeout(Duration::from_secs(20));
    WebMessagingClient::connect(&endpoint, "dep-1", options)
        .await
        .unwrap()
}

/// A client connected to `emu` and configured with a new session token; returns both.
async fn configured(emu: &EmulatorHandle) -> (SessionToken, WebMessagingClient) {
    let token = SessionToken::generate();
    let mut client = connect(emu).await;
    client.configure(&token).await.unwrap();
    (token, client)
}

/// The next agent text, skipping typing events.
async fn next_outbound_text(c: &mut WebMessagingClient) -> StructuredMessage {
    loop {
        let f = tokio::time::timeout(Duration::from_secs(20), c.next_frame())
            .await
            .expect("a frame in time")
            .unwrap()
            .expect("the socket is open");
        if let ServerFrame::Message(m) = f {
            if m.body.direction == Some(Direction::Outbound) && m.body.kind == NormalizedType::Text
            {
                return m.body;
            }
        }
    }
}

#[tokio::test]
async fn send_text_returns_the_inbound_echo_and_the_agent_reply_follows() {
    let emu = quick_agent_emulator(AgentMode::Echo).await;
    let token = SessionToken::generate();
    let mut c = connect(&emu).await;
    assert!(matches!(
        c.send_text("early").await,
        Err(WmError::NotConfigured)
    ));
    let s = c.configure(&token).await.unwrap();
    assert_eq!(s.new_session, Some(true));
    c.health_check().await.unwrap();
    let echo = c.send_text("hello").await.unwrap();
    assert_eq!(echo.direction, Some(Direction::Inbound));
    assert_eq!(echo.text.as_deref(), Some("hello"));
    assert!(echo.id.is_some());
    let reply = next_outbound_text(&mut c).await;
    assert_eq!(reply.text.as_deref(), Some("You said: hello"));
    let echo = c.send_quick_reply("Yes", "yes").await.unwrap();
    assert!(matches!(
        echo.content.as_deref(),
        Some([MessageContent::ButtonResponse(b)]) if b.payload == "yes"
    ));
    emu.shutdown().await;
}

#[tokio::test]
async fn a_stored_token_resumes_the_conversation_on_a_new_socket() {
    let emu = quick_agent_emulator(AgentMode::Manual).await;
    let (token, mut first) = configured(&emu).await;
    first.send_text("before").await.unwrap();
    first.close().await;
    let stored = SessionToken::from_stored(token.expose().to_owned()).unwrap();
    let mut second = connect(&emu).await;
    let s = second.configure(&stored).await.unwrap();
    assert_eq!(s.new_session, Some(false));
    assert_eq!(emu.web_messaging().sessions()[0].messages, 1);
    let s = second.start_new(&stored).await.unwrap();
    assert_eq!(s.new_session, Some(true));
    assert_eq!(emu.web_messaging().sessions()[0].messages, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn errors_are_typed() {
    let emu = quick_agent_emulator(AgentMode::Manual).await;
    let (_token, mut c) = configured(&emu).await;
    // The rate limit: a 429 frame becomes RateLimited with its retryAfter. One per second,
    // so that even a slow round trip meets it.
    emu.web_messaging().set_rate_limit(Some(1));
    let mut limited = None;
    for i in 0..10 {
        if let Err(e) = c.send_text(&format!("m{i}")).await {
            limited = Some(e);
            break;
        }
    }
    match limited {
        Some(WmError::RateLimited { retry_after }) => {
            assert!(retry_after >= Duration::from_secs(1));
        }
        other => panic!("{other:?}"),
    }
    // Clear refused by the deployment: a Protocol error with the service's code.
    emu.web_messaging().set_rate_limit(None);
    emu.web_messaging().set_deployment(
        "dep-1",
        DeploymentSettings {
            conversation_clear: false,
            ..Default::default()
        },
    );
    match c.clear().await {
        Err(WmError::Protocol { code: 403, .. }) => {}
        other => panic!("{other:?}"),
    }
    emu.web_messaging()
        .set_deployment("dep-1", DeploymentSettings::default());
    c.clear().await.unwrap();
    // An expired session is fatal.
    let mut d = connect(&emu).await;
    let t2 = SessionToken::generate();
    d.configure(&t2).await.unwrap();
    let cid = emu.web_messaging().sessions()[0].conversation_id.clone();
    emu.web_messaging().expire(&cid).unwrap();
    let mut e = connect(&emu).await;
    let err = e.configure(&t2).await.unwrap_err();
    assert!(err.is_session_fatal(), "{err:?}");
    assert!(matches!(
        SessionToken::from_stored(""),
        Err(WmError::InvalidToken)
    ));
    assert!(matches!(
        SessionToken::from_stored("x".repeat(2049)),
        Err(WmError::InvalidToken)
    ));
    emu.shutdown().await;
}

#[tokio::test]
async fn a_refused_upgrade_is_its_own_error() {
    let config = EmulatorConfig {
        deployments: vec!["only-this-one".into()],
        ..Default::default()
    };
    let emu = Emulator::builder().config(config).start().await.unwrap();
    let endpoint = Endpoint::from_base_url(&emu.base_url()).unwrap();
    let err = WebMessagingClient::connect(&endpoint, "dep-1", ConnectOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, WmError::UpgradeRefused { status: 403 }),
        "{err:?}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn the_history_jwt_works_and_secrets_stay_out_of_debug() {
    let emu = quick_agent_emulator(AgentMode::Manual).await;
    let (token, mut c) = configured(&emu).await;
    c.send_text("kept").await.unwrap();
    let jwt = c.get_jwt().await.unwrap();
    let page: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/api/v2/webmessaging/messages?pageNumber=1&pageSize=25",
            emu.base_url()
        ))
        .bearer_auth(jwt.jwt.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
    for dbg in [format!("{token:?}"), format!("{jwt:?}"), format!("{c:?}")] {
        assert!(!dbg.contains(token.expose()), "{dbg}");
        assert!(!dbg.contains(jwt.jwt.expose()), "{dbg}");
    }
    emu.shutdown().await;
}

#[test]
fn endpoints() {
    assert_eq!(
        Endpoint::from_base_url("http://127.0.0.1:8080/")
            .unwrap()
            .socket_url("d 1"),
        "ws://127.0.0.1:8080/v1?deploymentId=d+1"
    );
    assert_eq!(
        Endpoint::from_base_url("wss://webmessaging.example.test/v1")
            .unwrap()
            .socket_url("d"),
        "wss://webmessaging.example.test/v1?deploymentId=d"
    );
    assert_eq!(
        Endpoint::region("mypurecloud.ie").socket_url("d"),
        "wss://webmessaging.mypurecloud.ie/v1?deploymentId=d"
    );
    assert!(Endpoint::from_base_url("ftp://x").is_err());
}

#[tokio::test]
async fn a_ping_is_answered_by_a_pong_and_the_health_check_reply_is_no_frame() {
    let emu = quick_agent_emulator(AgentMode::Manual).await;
    let (_token, mut c) = configured(&emu).await;
    assert!(!c.pong_pending());
    c.ping().await.unwrap();
    assert!(c.pong_pending());
    // The pong is read along with the health check's answer.
    c.health_check().await.unwrap();
    c.health_check().await.unwrap();
    assert!(!c.pong_pending(), "the pong was read");
    let pings = emu.web_messaging().sessions()[0].pings;
    assert_eq!(pings, 1);
    // Neither the health checks' replies nor the pong is handed out as a frame.
    let cid = emu.web_messaging().sessions()[0].conversation_id.clone();
    emu.web_messaging().agent_say(&cid, "marker").unwrap();
    let f = tokio::time::timeout(Duration::from_secs(20), c.next_frame())
        .await
        .expect("a frame in time")
        .unwrap()
        .expect("the socket is open");
    let ServerFrame::Message(m) = f else {
        panic!("{f:?}")
    };
    assert_eq!(m.body.text.as_deref(), Some("marker"));
    emu.shutdown().await;
}
