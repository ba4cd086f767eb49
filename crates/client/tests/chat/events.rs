//! The event stream end to end against the in-process emulator: typed events, heartbeat
//! liveness, reconnect + resync without loss or duplicates, and clean ends.

use futures::StreamExt;
use guest_chat_emulator::{
    AgentMode, ConversationState, DropMode, Emulator, EmulatorHandle, Faults,
};
use purecloud_guest_chat_client::events::{
    CloseReason, EventStream, EventStreamOptions, StreamEvent,
};
use purecloud_guest_chat_client::{
    ApiClient, BodyType, ChatEvent, CreateWebChatConversationRequest,
    CreateWebChatConversationResponse, Error, EventStreamError, MemberState, RetryPolicy,
    WebChatApi,
};
use std::time::Duration;
use tokio::time::timeout;

use crate::support as common;
use common::{client, emulator};

const WAIT: Duration = Duration::from_secs(10);

async fn create(client: &ApiClient) -> CreateWebChatConversationResponse {
    let request = CreateWebChatConversationRequest::new("org-1", "dep-1", "Support", "Ada");
    WebChatApi::new(client)
        .post_webchat_guest_conversations(&request)
        .await
        .expect("create succeeds")
}

fn fast_options(heartbeat: Duration) -> EventStreamOptions {
    EventStreamOptions::default()
        .heartbeat_interval(heartbeat)
        .backoff(Duration::from_millis(10), Duration::from_millis(100))
}

/// The next item, failing the test after `WAIT`.
async fn next(stream: &mut EventStream) -> StreamEvent {
    timeout(WAIT, stream.next())
        .await
        .expect("an item within the wait")
        .expect("the stream has not ended")
        .expect("no stream error")
}

/// Items until `pred` matches (returned), skipping heartbeats.
async fn until(
    stream: &mut EventStream,
    mut pred: impl FnMut(&StreamEvent) -> bool,
) -> StreamEvent {
    loop {
        let item = next(stream).await;
        if pred(&item) {
            return item;
        }
    }
}

/// A manual-agent chat whose stream is open and whose agent has connected.
async fn connected_stream() -> (EmulatorHandle, String, EventStream) {
    connected_stream_with(client).await
}

/// A client whose REST retries (of 5xx answers to GETs) wait a millisecond, not 200.
fn fast_retry_client(emu: &EmulatorHandle) -> ApiClient {
    ApiClient::builder()
        .environment(emu.base_url().as_str())
        .no_config_file()
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .build()
        .expect("client builds")
}

async fn connected_stream_with(
    make_client: fn(&EmulatorHandle) -> ApiClient,
) -> (EmulatorHandle, String, EventStream) {
    let emu = emulator(AgentMode::Manual, Duration::from_secs(30)).await;
    let client = make_client(&emu);
    let (cid, stream) = chat_with_agent(&emu, &client, fast_options(Duration::from_secs(30))).await;
    (emu, cid, stream)
}

/// Creates a chat with `client`, opens its stream with `options` (checking that it connects)
/// and waits for the agent to join; returns the conversation id and the stream.
async fn chat_with_agent(
    emu: &EmulatorHandle,
    client: &ApiClient,
    options: EventStreamOptions,
) -> (String, EventStream) {
    let created = create(client).await;
    let cid = created.id.clone().expect("id");
    let mut stream = EventStream::with_options(client, &created, options).expect("stream");
    assert_eq!(next(&mut stream).await, StreamEvent::Connected);
    emu.wait_for_state(&cid, ConversationState::Connected)
        .await
        .expect("agent connects");
    (cid, stream)
}

fn agent_text(item: &StreamEvent) -> Option<String> {
    match item {
        StreamEvent::Chat(ChatEvent::Message(m)) if m.body_type == Some(BodyType::Standard) => {
            m.body.clone()
        }
        _ => None,
    }
}

#[tokio::test]
async fn guest_connected_then_agent_joins_and_messages_flow() {
    let emu = emulator(AgentMode::Manual, Duration::from_secs(30)).await;
    let client = client(&emu);
    let created = create(&client).await;
    let cid = created.id.clone().expect("id");
    let own = created
        .member
        .as_ref()
        .and_then(|m| m.id.clone())
        .expect("member id");
    let mut stream =
        EventStream::with_options(&client, &created, fast_options(Duration::from_secs(30)))
            .expect("stream");

    assert_eq!(next(&mut stream).await, StreamEvent::Connected);
    let own_connected = until(&mut stream, |e| {
        matches!(
            e,
            StreamEvent::Chat(ChatEvent::MemberChange {
                state: MemberState::Connected,
                ..
            })
        )
    })
    .await;
    let StreamEvent::Chat(ChatEvent::MemberChange {
        member_id,
        conversation_id,
        ..
    }) = own_connected
    else {
        unreachable!()
    };
    assert_eq!(member_id, own, "the first CONNECTED is the guest's own");
    assert_eq!(conversation_id, cid);

    emu.wait_for_state(&cid, ConversationState::Connected)
        .await
        .expect("agent connects");
    let sent = emu.agent_say(&cid, "hello guest").expect("agent says");
    let got = until(&mut stream, |e| agent_text(e).is_some()).await;
    let StreamEvent::Chat(ChatEvent::Message(m)) = got else {
        unreachable!()
    };
    assert_eq!(m.body.as_deref(), Some("hello guest"));
    assert_eq!(
        m.id, sent.id,
        "the stream carries the id the service assigned"
    );

    emu.agent_typing(&cid).expect("agent types");
    until(&mut stream, |e| {
        matches!(e, StreamEvent::Chat(ChatEvent::TypingIndicator(_)))
    })
    .await;

    emu.end_chat(&cid).expect("agent ends");
    let closed = until(&mut stream, |e| matches!(e, StreamEvent::Closed { .. })).await;
    assert_eq!(
        closed,
        StreamEvent::Closed {
            reason: CloseReason::ChatEnded
        }
    );
    assert!(
        timeout(WAIT, stream.next()).await.expect("ends").is_none(),
        "nothing after Closed"
    );
    emu.shutdown().await;
}

/// Drops the socket between and during bursts of agent messages, many times: every
/// message arrives exactly once, in order.
#[tokio::test]
async fn no_message_lost_or_repeated_across_many_drops() {
    let (emu, cid, mut stream) = connected_stream().await;

    const ROUNDS: usize = 15;
    const BURST: usize = 12;
    let mut expected = Vec::new();
    let mut reconnects = 0;
    let mut resyncs = 0;
    let mut received = Vec::new();
    for round in 0..ROUNDS {
        emu.wait_for_sockets(&cid, 1)
            .await
            .expect("socket attached");
        for i in 0..BURST {
            let text = format!("r{round}-m{i}");
            emu.agent_say(&cid, text.clone()).expect("agent says");
            expected.push(text);
            // Drop mid-burst on even rounds, between bursts on odd ones.
            if round % 2 == 0 && i == BURST / 2 {
                emu.drop_sockets(&cid, DropMode::Abrupt).expect("drop");
            }
        }
        if round % 2 == 1 {
            emu.drop_sockets(&cid, DropMode::Abrupt).expect("drop");
        }
        // Read until this round's last message has arrived (whatever way it comes).
        let last = format!("r{round}-m{}", BURST - 1);
        loop {
            let item = next(&mut stream).await;
            match &item {
                StreamEvent::Reconnecting { .. } => reconnects += 1,
                StreamEvent::Resynced { .. } => resyncs += 1,
                StreamEvent::Closed { .. } => panic!("stream closed: {item:?}"),
                _ => {}
            }
            if let Some(text) = agent_text(&item) {
                let done = text == last;
                received.push(text);
                if done {
                    break;
                }
            }
        }
    }
    assert_eq!(received, expected, "every message exactly once, in order");
    assert!(
        reconnects >= ROUNDS - 1,
        "the socket really dropped ({reconnects} reconnects)"
    );
    // The last round may stop reading before its Resynced marker (which follows the
    // recovered messages), so one resync can still be in flight.
    assert!(
        resyncs + 1 >= reconnects,
        "each reconnect resynced ({resyncs} of {reconnects})"
    );
    emu.shutdown().await;
}

/// Drops the socket while every REST call fails, so the next connection's resync fails too,
/// several times: the stream keeps reconnecting until REST is back, then delivers every
/// message exactly once, in order (a failed resync never lets it read on past the gap).
#[tokio::test]
async fn no_message_lost_when_resyncs_fail() {
    let (emu, cid, mut stream) = connected_stream_with(fast_retry_client).await;
    const ROUNDS: usize = 5;
    const BURST: usize = 8;
    let mut expected = Vec::new();
    let mut received = Vec::new();
    let mut keep = |item: &StreamEvent| {
        if let StreamEvent::Closed { .. } = item {
            panic!("stream closed: {item:?}");
        }
        if let Some(text) = agent_text(item) {
            received.push(text);
        }
    };
    for round in 0..ROUNDS {
        emu.wait_for_sockets(&cid, 1)
            .await
            .expect("socket attached");
        for i in 0..BURST {
            if i == BURST / 2 {
                emu.set_faults(Faults {
                    error_rate: 1.0,
                    ..Faults::default()
                })
                .expect("faults");
                emu.drop_sockets(&cid, DropMode::Abrupt).expect("drop");
            }
            let text = format!("r{round}-m{i}");
            emu.agent_say(&cid, text.clone()).expect("agent says");
            expected.push(text);
        }
        // The reconnect's resync meets the 503s and gives up on that socket.
        loop {
            let item = next(&mut stream).await;
            keep(&item);
            if matches!(&item, StreamEvent::Reconnecting { reason, .. } if reason.starts_with("resync failed"))
            {
                break;
            }
        }
        emu.set_faults(Faults::default()).expect("faults");
        let last = format!("r{round}-m{}", BURST - 1);
        loop {
            let item = next(&mut stream).await;
            keep(&item);
            if agent_text(&item).as_deref() == Some(last.as_str()) {
                break;
            }
        }
    }
    assert_eq!(received, expected, "every message exactly once, in order");
    emu.shutdown().await;
}

#[tokio::test]
async fn stopped_heartbeats_mean_a_dead_connection_and_a_reconnect() {
    let heartbeat = Duration::from_millis(200);
    let emu = emulator(AgentMode::Manual, heartbeat).await;
    let client = client(&emu);
    let created = create(&client).await;
    let cid = created.id.clone().expect("id");
    let mut stream =
        EventStream::with_options(&client, &created, fast_options(heartbeat)).expect("stream");
    assert_eq!(next(&mut stream).await, StreamEvent::Connected);
    until(&mut stream, |e| {
        matches!(e, StreamEvent::Chat(ChatEvent::Heartbeat))
    })
    .await;
    emu.wait_for_state(&cid, ConversationState::Connected)
        .await
        .expect("agent connects");

    emu.pause_heartbeats(&cid, true).expect("pause");
    let lost = until(&mut stream, |e| {
        matches!(e, StreamEvent::Reconnecting { .. })
    })
    .await;
    let StreamEvent::Reconnecting {
        reason, attempt, ..
    } = lost
    else {
        unreachable!()
    };
    assert_eq!(attempt, 1);
    assert!(
        reason.contains("no frame"),
        "reason names the silence: {reason}"
    );
    // The pause belongs to the old socket; the new one gets heartbeats again.
    emu.pause_heartbeats(&cid, false).expect("resume");
    assert_eq!(
        until(&mut stream, |e| !matches!(e, StreamEvent::Chat(_))).await,
        StreamEvent::Connected
    );
    until(&mut stream, |e| matches!(e, StreamEvent::Resynced { .. })).await;
    emu.agent_say(&cid, "still here").expect("agent says");
    let got = until(&mut stream, |e| agent_text(e).is_some()).await;
    assert_eq!(agent_text(&got).as_deref(), Some("still here"));
    emu.shutdown().await;
}

#[tokio::test]
async fn reconnecting_to_an_ended_chat_ends_the_stream_without_a_loop() {
    let (emu, cid, mut stream) = connected_stream().await;

    // The socket goes; the chat ends while no socket is attached (no events reach us).
    emu.drop_sockets(&cid, DropMode::Abrupt).expect("drop");
    emu.end_chat(&cid).expect("end");
    let mut reconnects = 0;
    loop {
        match next(&mut stream).await {
            StreamEvent::Reconnecting { .. } => reconnects += 1,
            StreamEvent::Closed { reason } => {
                assert_eq!(reason, CloseReason::ChatEnded);
                break;
            }
            _ => {}
        }
    }
    assert!(reconnects <= 1, "no reconnect loop ({reconnects} attempts)");
    assert!(timeout(WAIT, stream.next()).await.expect("ends").is_none());
    emu.shutdown().await;
}

/// A chat (the guest may send before any stream attaches) with three guest messages in its
/// history, and their ids.
async fn chat_with_history(client: &ApiClient) -> (CreateWebChatConversationResponse, Vec<String>) {
    let created = create(client).await;
    let cid = created.id.clone().expect("id");
    let own = created
        .member
        .as_ref()
        .and_then(|m| m.id.clone())
        .expect("member");
    let chat = WebChatApi::new(&client.with_jwt(created.jwt.clone().expect("jwt")));
    let mut ids = Vec::new();
    for text in ["one", "two", "three"] {
        let m = chat
            .post_webchat_guest_conversation_member_messages(
                &cid,
                &own,
                &purecloud_guest_chat_client::CreateWebChatMessageRequest::new(text),
            )
            .await
            .expect("send");
        ids.push(m.id.expect("id"));
    }
    (created, ids)
}

async fn emulator_without_stream_gate() -> EmulatorHandle {
    Emulator::builder()
        .agent(AgentMode::Manual)
        .agent_delay(Duration::from_millis(5))
        .activate_without_stream(true)
        .start()
        .await
        .expect("emulator")
}

/// The standard messages' texts up to the `Resynced` item, and its `missed` count.
async fn texts_until_resynced(stream: &mut EventStream) -> (Vec<String>, usize) {
    let mut texts = Vec::new();
    loop {
        match next(stream).await {
            StreamEvent::Chat(ChatEvent::Message(m)) if m.body_type == Some(BodyType::Standard) => {
                texts.push(m.body.unwrap_or_default());
            }
            StreamEvent::Resynced { missed } => return (texts, missed),
            _ => {}
        }
    }
}

#[tokio::test]
async fn resume_after_delivers_history_first() {
    let emu = emulator_without_stream_gate().await;
    let client = client(&emu);
    let (created, ids) = chat_with_history(&client).await;
    let options = fast_options(Duration::from_secs(30)).resume_after(ids[0].clone());
    let mut stream = EventStream::with_options(&client, &created, options).expect("stream");
    assert_eq!(next(&mut stream).await, StreamEvent::Connected);
    let (texts, missed) = texts_until_resynced(&mut stream).await;
    assert!(missed >= 2, "the two later messages were missed ({missed})");
    assert_eq!(texts, ["two", "three"]);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_failed_resync_reconnects_and_resyncs_from_the_same_point() {
    let emu = emulator_without_stream_gate().await;
    let client = fast_retry_client(&emu);
    let (created, ids) = chat_with_history(&client).await;
    // Every REST answer is now a 503: the resync cannot read the history.
    emu.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    })
    .expect("faults");
    let options = fast_options(Duration::from_secs(30)).resume_after(ids[0].clone());
    let mut stream = EventStream::with_options(&client, &created, options).expect("stream");
    assert_eq!(next(&mut stream).await, StreamEvent::Connected);
    // The socket is up, but reading it without the history would skip the gap for good:
    // the stream drops it and reconnects instead, delivering nothing in between.
    let item = next(&mut stream).await;
    let StreamEvent::Reconnecting { reason, .. } = &item else {
        panic!("expected a reconnect after the failed resync, got {item:?}");
    };
    assert!(reason.starts_with("resync failed"), "{reason}");
    assert!(reason.contains("503"), "{reason}");
    emu.set_faults(Faults::default()).expect("faults");
    // A later connection resyncs from the same point: the gap arrives, once, in order.
    let (texts, missed) = texts_until_resynced(&mut stream).await;
    assert_eq!(texts, ["two", "three"]);
    assert!(missed >= 2, "the two later messages were missed ({missed})");
    emu.shutdown().await;
}

#[tokio::test]
async fn unknown_and_malformed_frames_do_not_break_the_stream() {
    let (emu, cid, mut stream) = connected_stream().await;

    emu.push_raw_frame(
        &cid,
        r#"{"topicName":"v2.users.u-1.presence","eventBody":{}}"#,
    )
    .expect("unknown topic");
    emu.push_raw_frame(&cid, "this is not json")
        .expect("garbage");
    emu.agent_say(&cid, "still flowing").expect("say");

    let unknown = until(&mut stream, |e| {
        matches!(e, StreamEvent::Chat(ChatEvent::Unknown { .. }))
    })
    .await;
    let StreamEvent::Chat(ChatEvent::Unknown { topic, .. }) = unknown else {
        unreachable!()
    };
    assert_eq!(topic.as_deref(), Some("v2.users.u-1.presence"));
    // The garbage frame is reported as an error item, and the stream goes on.
    let err = timeout(WAIT, stream.next())
        .await
        .expect("an item")
        .expect("not ended")
        .expect_err("a malformed frame is an error item");
    assert!(err.to_string().contains("undecodable frame"), "{err}");
    assert!(
        matches!(err, Error::EventStream(EventStreamError::Frame(_))),
        "{err:?}"
    );
    assert!(
        std::error::Error::source(&err)
            .and_then(|s| s.source())
            .is_some(),
        "the decode error is kept: {err:?}"
    );
    let got = until(&mut stream, |e| agent_text(e).is_some()).await;
    assert_eq!(agent_text(&got).as_deref(), Some("still flowing"));
    emu.shutdown().await;
}

#[tokio::test]
async fn a_socket_closing_warning_reconnects_at_once_and_loses_nothing() {
    let (emu, cid, mut stream) = connected_stream().await;
    // A grace far beyond the test's wait: only a client that reconnects by itself passes.
    emu.announce_socket_closing(Some(&cid), Duration::from_secs(120))
        .expect("announce");
    let mut expected = Vec::new();
    for i in 0..10 {
        let text = format!("m{i}");
        emu.agent_say(&cid, text.clone()).expect("agent says");
        expected.push(text);
    }
    let mut received = Vec::new();
    let mut saw_warning = false;
    let mut reconnected = false;
    while received.len() < expected.len() || !reconnected {
        let item = next(&mut stream).await;
        match &item {
            StreamEvent::Chat(ChatEvent::Unknown { topic, .. })
                if topic.as_deref() == Some("v2.system.socket_closing") =>
            {
                saw_warning = true;
            }
            StreamEvent::Reconnecting {
                attempt,
                delay,
                reason,
            } => {
                assert!(saw_warning, "reconnect follows the warning");
                assert_eq!((*attempt, *delay), (1, Duration::ZERO));
                assert!(reason.contains("socket is closing"), "{reason}");
            }
            StreamEvent::Resynced { .. } => reconnected = true,
            StreamEvent::Closed { .. } => panic!("stream closed: {item:?}"),
            _ => {}
        }
        if let Some(text) = agent_text(&item) {
            received.push(text);
        }
    }
    assert_eq!(received, expected, "every message exactly once, in order");
    // The new socket is live: a later message arrives on it.
    emu.agent_say(&cid, "after").expect("agent says");
    let item = until(&mut stream, |i| agent_text(i).is_some()).await;
    assert_eq!(agent_text(&item).as_deref(), Some("after"));
    emu.shutdown().await;
}

#[tokio::test]
async fn a_conversation_the_service_forgot_ends_the_stream() {
    let (emu, cid, mut stream) = connected_stream().await;
    // Its sockets close with 4100; REST then answers 404: the chat is over, no reconnect loop.
    emu.forget(&cid).expect("forget");
    let closed = until(&mut stream, |i| matches!(i, StreamEvent::Closed { .. })).await;
    assert_eq!(
        closed,
        StreamEvent::Closed {
            reason: CloseReason::ChatEnded
        }
    );
    assert!(timeout(WAIT, stream.next()).await.unwrap().is_none());
    emu.shutdown().await;
}

/// The error a stream that may not reconnect gives up with, and the items before it.
async fn given_up(mut stream: EventStream) -> EventStreamError {
    loop {
        let item = timeout(WAIT, stream.next())
            .await
            .expect("an item within the wait")
            .expect("the stream reports why it stops before it ends");
        match item {
            Err(Error::EventStream(EventStreamError::GaveUp { last, .. })) => return *last,
            Err(other) => panic!("unexpected error {other:?}"),
            Ok(_) => {}
        }
    }
}

fn no_retries(heartbeat: Duration) -> EventStreamOptions {
    fast_options(heartbeat).max_reconnect_attempts(Some(0))
}

#[tokio::test]
async fn each_event_stream_failure_is_its_own_error_variant() {
    let heartbeat = Duration::from_millis(200);
    let emu = emulator(AgentMode::Manual, heartbeat).await;
    let client = client(&emu);

    // The upgrade refused: the server answers 401 to a JWT it did not sign.
    let mut bad = create(&client).await;
    let uri = bad.event_stream_uri.clone().expect("uri");
    let cut = uri.rfind('/').expect("a path") + 1;
    bad.event_stream_uri = Some(format!("{}not-a-jwt", &uri[..cut]));
    let stream = EventStream::with_options(&client, &bad, no_retries(heartbeat)).expect("stream");
    let last = given_up(stream).await;
    assert!(
        matches!(last, EventStreamError::HandshakeRefused { status: 401 }),
        "{last:?}"
    );

    // Nothing listening: a connect failure that keeps the operating system's error.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut closed = create(&client).await;
    closed.event_stream_uri = Some(format!("ws://127.0.0.1:{port}/chat/jwt/x"));
    let stream =
        EventStream::with_options(&client, &closed, no_retries(heartbeat)).expect("stream");
    let last = given_up(stream).await;
    assert!(matches!(last, EventStreamError::Connect(_)), "{last:?}");
    let cause = std::error::Error::source(&last).expect("the cause is kept");
    assert!(
        cause.downcast_ref::<std::io::Error>().is_some(),
        "{cause:?}"
    );

    // Heartbeats stop: the liveness window passes without a frame.
    let (cid, stream) = chat_with_agent(&emu, &client, no_retries(heartbeat)).await;
    emu.pause_heartbeats(&cid, true).expect("pause");
    let last = given_up(stream).await;
    assert!(
        matches!(last, EventStreamError::HeartbeatLost { .. }),
        "{last:?}"
    );

    // The server closes the socket with a close frame, then resets it without one.
    for (mode, want) in [
        (DropMode::Close(4000), "Closed"),
        (DropMode::Abrupt, "Socket"),
    ] {
        let (cid, stream) =
            chat_with_agent(&emu, &client, no_retries(Duration::from_secs(30))).await;
        emu.drop_sockets(&cid, mode).expect("drop");
        let last = given_up(stream).await;
        assert_eq!(last.kind(), want, "{last:?}");
    }
    emu.shutdown().await;
}
