//! The SDK over real TLS against the emulator with a self-signed certificate: REST over
//! https, the event stream over wss (also across a dropped socket), and clear errors for a
//! client that does not trust the certificate.

use futures::StreamExt;
use guest_chat_emulator::{AgentMode, DropMode, Emulator, EmulatorHandle, EmulatorTls};
use purecloud_guest_chat_client::events::{
    CloseReason, EventStream, EventStreamOptions, StreamEvent,
};
use purecloud_guest_chat_client::session::{ChatOptions, GuestChat, SessionEvent, SessionEvents};
use purecloud_guest_chat_client::{
    ApiClient, BodyType, CreateWebChatConversationRequest, Error, EventStreamError,
    GetMessagesOptions, WebChatApi,
};
use std::time::Duration;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

async fn tls_emulator(agent: AgentMode) -> EmulatorHandle {
    Emulator::builder()
        .tls(EmulatorTls::self_signed())
        .agent(agent)
        .agent_delay(Duration::from_millis(5))
        .rate_limit(10_000, Duration::from_secs(60))
        .start()
        .await
        .expect("emulator starts")
}

/// A client that trusts the emulator's certificate.
fn trusting(emu: &EmulatorHandle) -> ApiClient {
    let pem = emu.tls_certificate_pem().expect("a TLS emulator");
    ApiClient::builder()
        .environment(emu.base_url().as_str())
        .add_root_certificate_pem(pem.as_bytes())
        .no_config_file()
        .no_proxy()
        .build()
        .expect("client builds")
}

/// A client with only the public roots.
fn untrusting(emu: &EmulatorHandle) -> ApiClient {
    ApiClient::builder()
        .environment(emu.base_url().as_str())
        .no_config_file()
        .no_proxy()
        .build()
        .expect("client builds")
}

fn request() -> CreateWebChatConversationRequest {
    CreateWebChatConversationRequest::new("org-1", "dep-1", "Support", "Ada")
}

async fn next(events: &mut SessionEvents) -> SessionEvent {
    timeout(WAIT, events.next())
        .await
        .expect("an event within the wait")
        .expect("the chat has not ended")
}

/// The text of a standard message event.
fn text(e: &SessionEvent) -> Option<&str> {
    match e {
        SessionEvent::Message { message, .. } if message.body_type == Some(BodyType::Standard) => {
            message.body.as_deref()
        }
        _ => None,
    }
}

/// Events until a standard message with this text, returned with everything before it.
async fn until_text(events: &mut SessionEvents, wanted: &str) -> Vec<SessionEvent> {
    let mut seen = Vec::new();
    loop {
        let e = next(events).await;
        let done = text(&e) == Some(wanted);
        seen.push(e);
        if done {
            return seen;
        }
    }
}

#[tokio::test]
async fn guest_chat_over_https_and_wss_survives_a_dropped_socket() {
    let emu = tls_emulator(AgentMode::Echo).await;
    assert!(emu.base_url().starts_with("https://127.0.0.1:"));
    let client = trusting(&emu);
    let options = ChatOptions::default().stream(
        EventStreamOptions::default().backoff(Duration::from_millis(10), Duration::from_millis(50)),
    );
    let chat = GuestChat::start_with(&client, &request(), options)
        .await
        .expect("chat starts over https + wss");
    let cid = chat.conversation_id().to_owned();
    let mut events = chat.events();

    chat.send("hello over tls").await.expect("send");
    until_text(&mut events, "You said: hello over tls").await;

    // Cut the socket, and have the agent speak while the guest is away.
    emu.drop_sockets(&cid, DropMode::Abrupt).expect("drop");
    emu.agent_say(&cid, "while you were away")
        .expect("agent says");
    let mut seen = Vec::new();
    loop {
        let e = next(&mut events).await;
        let resynced = matches!(e, SessionEvent::Resynced { .. });
        seen.push(e);
        if resynced {
            break;
        }
    }
    assert!(
        seen.iter()
            .any(|e| matches!(e, SessionEvent::Reconnecting { .. })),
        "{seen:?}"
    );
    // The new socket is up (the emulator serves only TLS, so it is wss).
    emu.wait_for_sockets(&cid, 1).await.expect("reconnected");

    chat.send("back again")
        .await
        .expect("send after the reconnect");
    seen.extend(until_text(&mut events, "You said: back again").await);
    let away = seen
        .iter()
        .filter(|e| text(e) == Some("while you were away"))
        .count();
    assert_eq!(away, 1, "delivered exactly once: {seen:?}");

    chat.leave().await.expect("leave");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_client_without_the_certificate_gets_a_clear_tls_error() {
    let emu = tls_emulator(AgentMode::Manual).await;
    let untrusted = untrusting(&emu);

    let err = WebChatApi::new(&untrusted)
        .post_webchat_guest_conversations(&request())
        .await
        .expect_err("the certificate is not trusted");
    assert!(err.is_tls(), "{err:?}");
    assert!(!err.is_retryable(), "{err:?}");
    let cause = std::error::Error::source(&err).expect("the TLS failure keeps its cause");
    assert!(
        cause.downcast_ref::<reqwest::Error>().is_some(),
        "{cause:?}"
    );
    let text = err.to_string();
    assert!(text.starts_with("TLS handshake failed: "), "{text}");
    assert!(text.contains("certificate"), "{text}");
    assert!(text.contains("add_root_certificate_pem"), "{text}");
    assert!(emu.conversations().is_empty(), "nothing was created");

    // The server survived the failed handshake: a trusting client creates a chat.
    let created = WebChatApi::new(&trusting(&emu))
        .post_webchat_guest_conversations(&request())
        .await
        .expect("create over https");
    let jwt = created.jwt.clone().expect("jwt");
    let uri = created.event_stream_uri.clone().expect("uri");
    assert!(
        uri.starts_with(&format!("wss://{}/chat/jwt/", emu.local_addr())),
        "{uri}"
    );

    // REST with the JWT: a TLS error that does not carry it.
    let cid = created.id.clone().expect("id");
    let err = WebChatApi::new(&untrusted.with_jwt(jwt.clone()))
        .get_webchat_guest_conversation_messages(&cid, &GetMessagesOptions::default())
        .await
        .expect_err("untrusted");
    assert!(err.is_tls(), "{err:?}");
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(&jwt), "{shown}");
    }

    // The event stream: one clear error, no reconnect loop, no JWT.
    let mut stream = EventStream::new(&untrusted, &created).expect("stream");
    let first = timeout(WAIT, stream.next())
        .await
        .expect("in time")
        .expect("an item");
    let err = first.expect_err("the wss handshake fails");
    assert!(err.is_tls(), "{err:?}");
    assert!(
        matches!(err, Error::EventStream(EventStreamError::Tls(_))),
        "{err:?}"
    );
    let cause = std::error::Error::source(&err).and_then(|s| s.source());
    assert!(cause.is_some(), "the handshake error is kept: {err:?}");
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(&jwt), "{shown}");
        assert!(shown.contains("certificate"), "{shown}");
        assert!(shown.contains("wss://127.0.0.1:"), "{shown}");
    }
    let closed = timeout(WAIT, stream.next())
        .await
        .expect("in time")
        .expect("an item")
        .expect("no error");
    assert_eq!(
        closed,
        StreamEvent::Closed {
            reason: CloseReason::GaveUp { attempts: 1 }
        }
    );
    assert!(timeout(WAIT, stream.next()).await.expect("ends").is_none());

    // The same chat's stream works for a client that trusts the certificate.
    let mut stream = EventStream::new(&trusting(&emu), &created).expect("stream");
    let first = timeout(WAIT, stream.next())
        .await
        .expect("in time")
        .expect("an item")
        .expect("connected");
    assert_eq!(first, StreamEvent::Connected);
    drop(stream);
    emu.shutdown().await;
}

#[test]
fn root_certificates_that_are_not_pem_fail_the_build() {
    let built = ApiClient::builder()
        .no_config_file()
        .add_root_certificate_pem(b"not a certificate")
        .build();
    assert!(
        matches!(
            built,
            Err(Error::InvalidArgument {
                name: "rootCertificate",
                ..
            })
        ),
        "{built:?}"
    );
}
