//! `GuestChat` over its Web Messaging backend, against the emulator.

use futures::StreamExt;
use guest_chat_emulator::{AgentMode, DeploymentSettings, EmulatorHandle};
use purecloud_guest_chat_client::model::{MemberState, Role};
use purecloud_guest_chat_client::session::{
    Backend, ChatState, EndedBy, GuestChat, SessionEvent, SessionEvents, WebMessagingOptions,
};
use purecloud_guest_chat_client::webmessaging::{Endpoint, SessionToken, WmError};
use purecloud_guest_chat_client::Error;
use std::time::Duration;

use crate::support::quick_agent_emulator;

const WAIT: Duration = Duration::from_secs(30);

fn options(emu: &EmulatorHandle) -> WebMessagingOptions {
    let endpoint = Endpoint::from_base_url(&emu.base_url()).unwrap();
    WebMessagingOptions::new("dep-1", endpoint).answer_timeout(Duration::from_secs(20))
}

/// An emulator with this agent and a Web Messaging chat started on it.
async fn web_messaging_chat(agent: AgentMode) -> (EmulatorHandle, GuestChat) {
    let emu = quick_agent_emulator(agent).await;
    let chat = GuestChat::start_web_messaging(options(&emu)).await.unwrap();
    (emu, chat)
}

async fn next(events: &mut SessionEvents) -> SessionEvent {
    tokio::time::timeout(WAIT, events.next())
        .await
        .expect("an event in time")
        .expect("the stream is open")
}

/// The next agent message's text, skipping other events.
async fn next_text(events: &mut SessionEvents) -> String {
    loop {
        if let SessionEvent::Message { message, own, .. } = next(events).await {
            assert!(!own);
            return message.body.unwrap_or_default();
        }
    }
}

fn conversation_id(emu: &EmulatorHandle) -> String {
    let sessions = emu.web_messaging().sessions();
    assert_eq!(sessions.len(), 1);
    sessions[0].conversation_id.clone()
}

/// Reads `events` until the chat ends (other events skipped).
async fn until_ended(events: &mut SessionEvents) {
    loop {
        if let SessionEvent::Ended(_) = next(events).await {
            break;
        }
    }
}

/// The guest says "hi" (which opens the conversation); returns the conversation's id.
async fn say_hi(emu: &EmulatorHandle, chat: &GuestChat) -> String {
    chat.send("hi").await.unwrap();
    conversation_id(emu)
}

#[tokio::test]
async fn the_same_calls_drive_a_web_messaging_chat() {
    let (emu, chat) = web_messaging_chat(AgentMode::Echo).await;
    assert_eq!(chat.backend(), Backend::WebMessaging);
    assert_eq!(chat.new_session(), Some(true));
    let caps = chat.capabilities();
    assert!(caps.typing && caps.end_conversation && caps.resumable);
    let token = chat.resume_token().expect("a resume token");
    assert!(!format!("{token:?}").contains(token.expose()));
    let mut events = chat.events();

    let sent = chat.send("hello").await.unwrap();
    assert_eq!(sent.body.as_deref(), Some("hello"));
    assert!(sent.id.is_some());
    assert_eq!(next_text(&mut events).await, "You said: hello");
    chat.typing().await.unwrap();
    // Throttled: a second one within 5 s returns at once without a frame.
    chat.typing().await.unwrap();

    let page = chat.history(None).await.unwrap();
    let bodies: Vec<_> = page
        .messages
        .iter()
        .filter_map(|m| m.body.clone())
        .collect();
    assert_eq!(bodies, ["You said: hello", "hello"], "newest first");
    assert!(page.next.is_none());

    chat.leave().await.unwrap();
    assert_eq!(
        chat.ended_by(),
        Some(EndedBy::Guest),
        "known when leave returns"
    );
    until_ended(&mut events).await;
    assert_eq!(chat.state(), ChatState::Ended);
    assert_eq!(chat.ended_by(), Some(EndedBy::Guest));
    assert!(matches!(
        chat.send("after").await,
        Err(Error::WebMessaging(WmError::Ended))
    ));
    emu.shutdown().await;
}

#[tokio::test]
async fn a_stored_token_resumes_the_conversation() {
    let emu = quick_agent_emulator(AgentMode::Manual).await;
    let first = GuestChat::start_web_messaging(options(&emu)).await.unwrap();
    first.send("before").await.unwrap();
    let stored = first.resume_token().unwrap().expose().to_owned();
    drop(first);
    let token = SessionToken::from_stored(stored).unwrap();
    let second = GuestChat::start_web_messaging(options(&emu).token(token))
        .await
        .unwrap();
    assert_eq!(second.new_session(), Some(false));
    let page = second.history(None).await.unwrap();
    assert_eq!(page.messages[0].body.as_deref(), Some("before"));
    emu.shutdown().await;
}

#[tokio::test]
async fn a_deployment_without_clear_or_typing_refuses_them_clearly() {
    let emu = quick_agent_emulator(AgentMode::Manual).await;
    emu.web_messaging().set_deployment(
        "dep-1",
        DeploymentSettings {
            conversation_clear: false,
            user_typing_indicator: false,
            ..DeploymentSettings::default()
        },
    );
    let chat = GuestChat::start_web_messaging(options(&emu)).await.unwrap();
    assert!(!chat.capabilities().end_conversation);
    assert!(matches!(
        chat.leave().await,
        Err(Error::WebMessaging(WmError::NotAllowed(_)))
    ));
    assert!(matches!(
        chat.typing().await,
        Err(Error::WebMessaging(WmError::NotAllowed(_)))
    ));
    // The chat goes on.
    chat.send("still here").await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn sends_over_the_rate_limit_are_spaced_not_refused() {
    let (emu, chat) = web_messaging_chat(AgentMode::Manual).await;
    for i in 0..6 {
        chat.send(&format!("m{i}")).await.unwrap();
    }
    let cid = conversation_id(&emu);
    let stored = emu
        .web_messaging()
        .sessions()
        .into_iter()
        .find(|s| s.conversation_id == cid)
        .unwrap();
    assert_eq!(stored.messages, 6);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_socket_dropped_mid_burst_loses_and_repeats_nothing() {
    let (emu, chat) = web_messaging_chat(AgentMode::Manual).await;
    let mut events = chat.events();
    let cid = say_hi(&emu, &chat).await;
    let wm = emu.web_messaging();
    const N: usize = 40;
    for i in 0..N {
        wm.agent_say(&cid, &format!("burst {i}")).unwrap();
        if i == N / 2 {
            wm.drop_sockets(&cid).unwrap();
        }
    }
    let mut got = Vec::new();
    let mut reconnected = false;
    let mut resynced = false;
    while got.len() < N || !resynced {
        match next(&mut events).await {
            SessionEvent::Message { message, .. } => got.push(message.body.unwrap_or_default()),
            SessionEvent::Reconnecting { .. } => reconnected = true,
            SessionEvent::Resynced { .. } => resynced = true,
            _ => {}
        }
    }
    let want: Vec<_> = (0..N).map(|i| format!("burst {i}")).collect();
    assert_eq!(got, want, "every message exactly once, in order");
    assert!(reconnected && resynced);
    // Nothing more (no repeats) after one more round trip.
    wm.agent_say(&cid, "after").unwrap();
    assert_eq!(next_text(&mut events).await, "after");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_quick_reply_is_answered_through_the_chat() {
    let (emu, chat) = web_messaging_chat(AgentMode::Manual).await;
    let echo = chat.send_quick_reply("Yes", "yes").await.unwrap();
    assert!(echo.id.is_some());
    let page = chat.history(None).await.unwrap();
    assert_eq!(page.messages.len(), 1, "the answer is stored once");
    emu.shutdown().await;
}

#[tokio::test]
async fn an_expired_session_ends_the_chat_with_a_typed_error_after() {
    let (emu, chat) = web_messaging_chat(AgentMode::Manual).await;
    let mut events = chat.events();
    let cid = say_hi(&emu, &chat).await;
    emu.web_messaging().expire(&cid).unwrap();
    until_ended(&mut events).await;
    assert_eq!(chat.ended_by(), Some(EndedBy::Service));
    let err = chat.send("late").await.unwrap_err();
    assert!(
        matches!(&err, Error::WebMessaging(e) if e.is_session_fatal()),
        "{err:?}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn the_agent_ending_the_conversation_is_ended_by_agent() {
    let (emu, chat) = web_messaging_chat(AgentMode::Manual).await;
    let mut events = chat.events();
    let cid = say_hi(&emu, &chat).await;
    emu.web_messaging().disconnect(&cid).unwrap();
    until_ended(&mut events).await;
    assert_eq!(chat.ended_by(), Some(EndedBy::Agent));
    emu.shutdown().await;
}

#[tokio::test]
async fn history_pages_are_reached_through_the_opaque_cursor() {
    let (emu, chat) = web_messaging_chat(AgentMode::Manual).await;
    let cid = say_hi(&emu, &chat).await;
    for i in 0..30 {
        emu.web_messaging()
            .agent_say(&cid, &format!("m{i}"))
            .unwrap();
    }
    let first = chat.history(None).await.unwrap();
    assert_eq!(first.messages[0].body.as_deref(), Some("m29"));
    let second = chat.history(first.next.as_ref()).await.unwrap();
    assert!(second.next.is_none());
    let all = first.messages.len() + second.messages.len();
    assert_eq!(all, 31);
    assert_eq!(second.messages.last().unwrap().body.as_deref(), Some("hi"));
    emu.shutdown().await;
}

#[tokio::test]
async fn a_guest_chat_has_the_same_history_call() {
    use purecloud_guest_chat_client::{ApiClient, CreateWebChatConversationRequest};
    let emu = quick_agent_emulator(AgentMode::Echo).await;
    let client = ApiClient::builder()
        .environment(emu.base_url().as_str())
        .no_config_file()
        .build()
        .unwrap();
    let request = CreateWebChatConversationRequest::new("org", "dep", "Support", "Ada");
    let chat = GuestChat::start(&client, &request).await.unwrap();
    assert_eq!(chat.backend(), Backend::GuestChat);
    assert!(chat.resume_token().is_none());
    assert_eq!(chat.known_conversation_id(), Some(chat.conversation_id()));
    assert!(!chat.conversation_id().is_empty());
    chat.send("from guest chat").await.unwrap();
    let page = chat.history(None).await.unwrap();
    assert!(page
        .messages
        .iter()
        .any(|m| m.body.as_deref() == Some("from guest chat")));
    emu.shutdown().await;
}

/// The emulator's snapshot of the chat's (only) session.
fn session(emu: &EmulatorHandle) -> guest_chat_emulator::WebMessagingSession {
    let sessions = emu.web_messaging().sessions();
    assert_eq!(sessions.len(), 1);
    sessions.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_429_is_waited_out_for_its_retry_after_then_the_send_goes_through() {
    let (emu, chat) = web_messaging_chat(AgentMode::Manual).await;
    chat.send("first").await.unwrap();
    // The next request is refused once with retryAfter 2 s: longer than the client's own
    // spacing (500 ms), so a retry that ignored it would come too early.
    emu.web_messaging().refuse_messages(1, 2);
    let before = std::time::Instant::now();
    let sent = chat.send("second").await.unwrap();
    let waited = before.elapsed();
    assert_eq!(sent.body.as_deref(), Some("second"));
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}");
    let s = session(&emu);
    assert_eq!(s.rate_limited, 1, "one 429 answered");
    assert_eq!(s.messages, 2, "each message stored once");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_429_that_outlasts_the_retries_is_a_typed_message_level_error() {
    let (emu, chat) = web_messaging_chat(AgentMode::Manual).await;
    let mut events = chat.events();
    // The first try and its three retries are all refused.
    emu.web_messaging().refuse_messages(4, 1);
    let err = chat.send("refused").await.unwrap_err();
    let Error::WebMessaging(e) = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(e, WmError::RateLimited { retry_after } if *retry_after == Duration::from_secs(1)),
        "{e:?}"
    );
    assert!(e.is_message_level() && !e.is_session_fatal());
    assert_eq!(session(&emu).rate_limited, 4);
    assert_eq!(session(&emu).messages, 0, "a refused message is not stored");
    // The chat goes on: the next send is stored, and the app saw no end.
    chat.send("later").await.unwrap();
    assert_eq!(session(&emu).messages, 1);
    assert_ne!(chat.state(), ChatState::Ended);
    let cid = conversation_id(&emu);
    emu.web_messaging().agent_say(&cid, "still here").unwrap();
    assert_eq!(next_text(&mut events).await, "still here");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_send_whose_echo_never_comes_times_out_and_loses_nothing() {
    let emu = quick_agent_emulator(AgentMode::Echo).await;
    let options = options(&emu)
        .answer_timeout(Duration::from_secs(5))
        .show_own_messages(true);
    let chat = GuestChat::start_web_messaging(options).await.unwrap();
    let mut events = chat.events();
    emu.web_messaging().lose_echoes(1);
    let err = chat.send("unacknowledged").await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::WebMessaging(WmError::Timeout {
                action: "onMessage",
                ..
            })
        ),
        "{err:?}"
    );
    assert!(!matches!(&err, Error::WebMessaging(e) if e.is_session_fatal()));
    // The service took it: the agent answers it, and the chat goes on.
    let mut own = Vec::new();
    let reply = loop {
        match next(&mut events).await {
            SessionEvent::Message {
                message, own: true, ..
            } => own.push(message.body.unwrap_or_default()),
            SessionEvent::Message { message, .. } => break message.body.unwrap_or_default(),
            SessionEvent::Ended(r) => panic!("ended: {r:?}"),
            _ => {}
        }
    };
    assert_eq!(reply, "You said: unacknowledged");
    assert!(own.is_empty(), "no echo came, so no own message: {own:?}");
    chat.send("next").await.unwrap();
    let page = chat.history(None).await.unwrap();
    let bodies: Vec<_> = page
        .messages
        .iter()
        .filter_map(|m| m.body.as_deref())
        .collect();
    let count = |b: &str| bodies.iter().filter(|x| **x == b).count();
    assert_eq!(count("unacknowledged"), 1, "{bodies:?}");
    assert_eq!(count("next"), 1, "{bodies:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_duplicated_echo_is_delivered_once() {
    let emu = quick_agent_emulator(AgentMode::Echo).await;
    let chat = GuestChat::start_web_messaging(options(&emu).show_own_messages(true))
        .await
        .unwrap();
    let mut events = chat.events();
    emu.web_messaging().duplicate_echoes(1);
    chat.send("twice").await.unwrap();
    let mut own = 0;
    loop {
        match next(&mut events).await {
            SessionEvent::Message {
                message, own: true, ..
            } => {
                assert_eq!(message.body.as_deref(), Some("twice"));
                own += 1;
            }
            // The agent's answer comes after both echoes.
            SessionEvent::Message { message, .. } => {
                assert_eq!(message.body.as_deref(), Some("You said: twice"));
                break;
            }
            _ => {}
        }
    }
    assert_eq!(own, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn keep_alive_pings_and_health_checks_never_reach_the_app() {
    let emu = quick_agent_emulator(AgentMode::Manual).await;
    // Own messages shown: a health-check reply (an Inbound "ping") would surface as one.
    let options = options(&emu)
        .keep_alive(Duration::from_millis(200))
        .ping_interval(Duration::from_millis(100))
        .show_own_messages(true);
    let chat = GuestChat::start_web_messaging(options).await.unwrap();
    let mut events = chat.events();
    // An idle session: wait until the emulator has seen several of each (it tells every
    // change of its counters; no polling).
    let seen = tokio::time::timeout(
        WAIT,
        emu.web_messaging()
            .wait_for(|s| s.len() == 1 && s[0].pings >= 3 && s[0].health_checks >= 3),
    )
    .await;
    assert!(
        seen.is_ok(),
        "keep-alive did not run: {:?}",
        emu.web_messaging().sessions()
    );
    let cid = conversation_id(&emu);
    emu.web_messaging().agent_say(&cid, "marker").unwrap();
    loop {
        match next(&mut events).await {
            SessionEvent::Message { message, .. } => {
                assert_eq!(
                    message.body.as_deref(),
                    Some("marker"),
                    "only the agent's text"
                );
                break;
            }
            SessionEvent::Structured { .. } => panic!("a structured message while idle"),
            SessionEvent::Reconnecting { .. } => panic!("keep-alive saw a healthy socket as dead"),
            SessionEvent::Ended(r) => panic!("ended: {r:?}"),
            _ => {}
        }
    }
    assert_eq!(session(&emu).messages, 1, "keep-alive stores nothing");
    emu.shutdown().await;
}

#[tokio::test]
async fn the_roster_comes_from_senders_and_presence() {
    let (emu, chat) = web_messaging_chat(AgentMode::Manual).await;
    assert_eq!(chat.conversation_id(), "");
    assert_eq!(chat.known_conversation_id(), None);
    let mut events = chat.events();
    let members = chat.members();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].id, chat.member_id());
    assert_eq!(members[0].role, Some(Role::Customer));
    assert!(chat.agent().is_none());

    let cid = say_hi(&emu, &chat).await;
    emu.web_messaging().agent_say(&cid, "hello").unwrap();
    let joined = loop {
        if let SessionEvent::MemberChanged { member, previous } = next(&mut events).await {
            assert_eq!(previous, None);
            break member;
        }
    };
    assert_eq!(joined.role, Some(Role::Agent));
    assert_eq!(joined.state, Some(MemberState::Connected));
    let agent = chat.agent().expect("the agent is in the roster");
    assert_eq!(agent, joined);
    assert!(agent.display_name.is_some(), "named from the message");

    emu.web_messaging().bot_say(&cid, "a bot").unwrap();
    emu.web_messaging().agent_say(&cid, "again").unwrap();
    assert_eq!(next_text(&mut events).await, "hello");
    assert_eq!(next_text(&mut events).await, "a bot");
    assert_eq!(next_text(&mut events).await, "again");
    let roles: Vec<_> = chat.members().into_iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Some(Role::Customer),
            Some(Role::Agent),
            Some(Role::Workflow)
        ],
        "each sender once"
    );

    emu.web_messaging().disconnect(&cid).unwrap();
    until_ended(&mut events).await;
    let members = chat.members();
    assert!(members
        .iter()
        .all(|m| m.state == Some(MemberState::Disconnected)));
    assert!(chat.agent().is_none());
    emu.shutdown().await;
}
