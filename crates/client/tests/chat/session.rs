//! `GuestChat` end to end against the emulator with each agent mode.

use futures::StreamExt;
use guest_chat_emulator::{AgentMode, ConversationState, EmulatorHandle};
use purecloud_guest_chat_client::events::CloseReason;
use purecloud_guest_chat_client::session::{
    ChatOptions, ChatState, EndedBy, GuestChat, Member, SessionEvent, SessionEvents,
};
use purecloud_guest_chat_client::{
    CreateWebChatConversationRequest, CreateWebChatMessageRequest, Error, MemberState, Role,
    WebChatApi,
};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::timeout;

use crate::support as common;
use common::client;

const WAIT: Duration = Duration::from_secs(10);

async fn emulator(agent: AgentMode) -> EmulatorHandle {
    common::emulator(agent, Duration::from_secs(30)).await
}

fn request() -> CreateWebChatConversationRequest {
    CreateWebChatConversationRequest::new("org-1", "dep-1", "Support", "Ada")
}

/// A chat started on `emu` (as Ada, through a client of the emulator) and a reader of its
/// events.
async fn started_chat(emu: &EmulatorHandle) -> (GuestChat, Reader) {
    let chat = GuestChat::start(&client(emu), &request())
        .await
        .expect("start");
    let events = Reader::new(chat.events());
    (chat, events)
}

/// A chat's events, with those read ahead (while waiting for a member's lookup) held back
/// for the next reads.
struct Reader {
    events: SessionEvents,
    held: VecDeque<SessionEvent>,
}

impl Reader {
    fn new(events: SessionEvents) -> Reader {
        Reader {
            events,
            held: VecDeque::new(),
        }
    }

    async fn read(&mut self) -> Option<SessionEvent> {
        match self.held.pop_front() {
            Some(e) => Some(e),
            None => timeout(WAIT, self.events.next())
                .await
                .expect("an event within the wait"),
        }
    }

    /// The role of `sender` as the chat resolves it: at once when its lookup had landed,
    /// else from the `MemberUpdated` that follows (later events are held back, not lost).
    async fn role_of(&mut self, sender: &Member) -> Option<Role> {
        if sender.role.is_some() {
            return sender.role.clone();
        }
        let updated =
            |e: &SessionEvent| matches!(e, SessionEvent::MemberUpdated(m) if m.id == sender.id);
        if let Some(i) = self.held.iter().position(updated) {
            let Some(SessionEvent::MemberUpdated(m)) = self.held.remove(i) else {
                unreachable!()
            };
            return m.role;
        }
        loop {
            let e = timeout(WAIT, self.events.next())
                .await
                .expect("the lookup lands within the wait")
                .expect("the chat has not ended");
            if let SessionEvent::MemberUpdated(m) = &e {
                if m.id == sender.id {
                    return m.role.clone();
                }
            }
            self.held.push_back(e);
        }
    }
}

async fn next(events: &mut Reader) -> SessionEvent {
    events.read().await.expect("the chat has not ended")
}

async fn until(events: &mut Reader, mut pred: impl FnMut(&SessionEvent) -> bool) -> SessionEvent {
    loop {
        let e = next(events).await;
        if pred(&e) {
            return e;
        }
    }
}

/// The next standard message text (skipping everything else), and its sender's role.
async fn next_text(events: &mut Reader) -> (String, bool, Option<Role>) {
    loop {
        if let SessionEvent::Message {
            message,
            sender,
            own,
        } = next(events).await
        {
            if message.body_type == Some(purecloud_guest_chat_client::BodyType::Standard) {
                let role = events.role_of(&sender).await;
                return (message.body.unwrap_or_default(), own, role);
            }
        }
    }
}

#[tokio::test]
async fn echo_agent_full_chat_and_guest_leaves() {
    let emu = emulator(AgentMode::Echo).await;
    let client = client(&emu);
    let chat = GuestChat::start(&client, &request())
        .await
        .expect("chat starts");
    let mut events = Reader::new(chat.events());

    let (greeting, own, role) = next_text(&mut events).await;
    assert!(
        greeting.contains("Ada"),
        "greeting names the guest: {greeting}"
    );
    assert!(!own);
    assert_eq!(role, Some(Role::Agent));
    assert_eq!(chat.state(), ChatState::Connected);
    let agent = chat.agent().expect("an agent is connected");
    assert_eq!(agent.state, Some(MemberState::Connected));
    assert!(chat
        .members()
        .iter()
        .any(|m| m.role == Some(Role::Customer)));

    chat.send("hello there").await.expect("send");
    let (reply, own, _) = next_text(&mut events).await;
    assert_eq!(
        reply, "You said: hello there",
        "own echo filtered; the agent's reply comes next"
    );
    assert!(!own);

    assert_eq!(chat.ended_by(), None);
    chat.leave().await.expect("leave");
    let ended = until(&mut events, |e| matches!(e, SessionEvent::Ended(_))).await;
    assert!(matches!(ended, SessionEvent::Ended(CloseReason::ChatEnded)));
    assert_eq!(chat.state(), ChatState::Ended);
    assert_eq!(chat.ended_by(), Some(EndedBy::Guest));
    assert!(events.read().await.is_none(), "nothing after the end");
    emu.shutdown().await;
}

#[tokio::test]
async fn own_echo_is_delivered_when_asked() {
    let emu = emulator(AgentMode::Manual).await;
    let client = client(&emu);
    // An absurd typing timeout is capped, not a clock overflow in the session task.
    let options = ChatOptions::default()
        .show_own_messages(true)
        .typing_timeout(Duration::MAX);
    let chat = GuestChat::start_with(&client, &request(), options)
        .await
        .expect("chat starts");
    let mut events = Reader::new(chat.events());
    let sent = chat.send("mine").await.expect("send");
    loop {
        if let SessionEvent::Message { message, own, .. } = next(&mut events).await {
            if message.id == sent.id {
                assert!(own);
                break;
            }
        }
    }
    chat.typing().await.expect("typing");
    let started = until(&mut events, |e| matches!(e, SessionEvent::TypingStarted(_))).await;
    let SessionEvent::TypingStarted(who) = started else {
        unreachable!()
    };
    assert_eq!(who.id, chat.member_id());
    emu.shutdown().await;
}

#[tokio::test]
async fn manual_agent_typing_transfer_duplicates_and_agent_end() {
    let emu = emulator(AgentMode::Manual).await;
    let client = client(&emu);
    let options = ChatOptions::default().typing_timeout(Duration::from_millis(150));
    let chat = GuestChat::start_with(&client, &request(), options)
        .await
        .expect("chat starts");
    let cid = chat.conversation_id().to_owned();
    let mut events = Reader::new(chat.events());
    emu.wait_for_state(&cid, ConversationState::Connected)
        .await
        .expect("agent connects");
    until(&mut events, |e| {
        matches!(e, SessionEvent::StateChanged(ChatState::Connected))
    })
    .await;
    let first_agent = chat.agent().expect("agent").id;

    // Typing starts, then expires by itself.
    emu.agent_typing(&cid).expect("typing");
    let started = until(&mut events, |e| matches!(e, SessionEvent::TypingStarted(_))).await;
    let SessionEvent::TypingStarted(who) = started else {
        unreachable!()
    };
    assert_eq!(who.role, Some(Role::Agent));
    until(&mut events, |e| matches!(e, SessionEvent::TypingStopped(_))).await;

    // A duplicate CONNECTED is suppressed: the next event is the message after it.
    emu.duplicate_member_change(&cid, None).expect("duplicate");
    emu.agent_say(&cid, "after the duplicate").expect("say");
    loop {
        match next(&mut events).await {
            SessionEvent::MemberChanged { member, .. } => {
                panic!("duplicate member-change leaked: {member:?}")
            }
            SessionEvent::Message { message, .. } => {
                assert_eq!(message.body.as_deref(), Some("after the duplicate"));
                break;
            }
            _ => {}
        }
    }

    // Transfer: the chat goes to Transferred, then Connected with a new agent.
    let new_agent = emu
        .transfer(&cid, Some("Agent Two"))
        .await
        .expect("transfer");
    until(&mut events, |e| {
        matches!(e, SessionEvent::StateChanged(ChatState::Transferred))
    })
    .await;
    until(&mut events, |e| {
        matches!(e, SessionEvent::StateChanged(ChatState::Connected))
    })
    .await;
    let agent = chat.agent().expect("new agent");
    assert_eq!(agent.id, new_agent);
    assert_ne!(agent.id, first_agent);
    assert_eq!(agent.display_name.as_deref(), Some("Agent Two"));

    emu.end_chat(&cid).expect("end");
    let ended = until(&mut events, |e| matches!(e, SessionEvent::Ended(_))).await;
    assert!(matches!(ended, SessionEvent::Ended(CloseReason::ChatEnded)));
    assert_eq!(chat.state(), ChatState::Ended);
    assert_eq!(chat.ended_by(), Some(EndedBy::Agent));
    let err = chat
        .send("too late")
        .await
        .expect_err("ended chats refuse messages");
    assert_eq!(err.error_code(), Some("chat.error.conversation.state"));
    emu.shutdown().await;
}

#[tokio::test]
async fn script_agent_runs_its_steps() {
    let script = "say Welcome to support\ntyping\nawait-message\nsay Thanks, goodbye\nend\n";
    let emu = emulator(AgentMode::script(script).expect("script parses")).await;
    let client = client(&emu);
    let chat = GuestChat::start(&client, &request())
        .await
        .expect("chat starts");
    let mut events = Reader::new(chat.events());
    assert_eq!(next_text(&mut events).await.0, "Welcome to support");
    chat.send("I need help").await.expect("send");
    assert_eq!(next_text(&mut events).await.0, "Thanks, goodbye");
    until(&mut events, |e| {
        matches!(e, SessionEvent::Ended(CloseReason::ChatEnded))
    })
    .await;
    emu.shutdown().await;
}

#[tokio::test]
async fn sending_before_the_stream_attaches_fails_like_the_service() {
    let emu = emulator(AgentMode::Echo).await;
    let client = client(&emu);
    let api = WebChatApi::new(&client);
    let created = api
        .post_webchat_guest_conversations(&request())
        .await
        .expect("create");
    let chat = WebChatApi::new(&client.with_jwt(created.jwt.clone().expect("jwt")));
    let err = chat
        .post_webchat_guest_conversation_member_messages(
            created.id.as_deref().expect("id"),
            created
                .member
                .as_ref()
                .and_then(|m| m.id.as_deref())
                .expect("member"),
            &CreateWebChatMessageRequest::new("too early"),
        )
        .await
        .expect_err("not active yet");
    assert!(matches!(err, Error::Api(_)));
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.error_code(), Some("chat.error.conversation.state"));
    // GuestChat::start waits for CONNECTED, so its first send works.
    let chat = GuestChat::start(&client, &request())
        .await
        .expect("chat starts");
    chat.send("in time").await.expect("send after joining");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_workflow_greeting_comes_before_the_agent_and_is_no_transfer() {
    let emu = guest_chat_emulator::Emulator::builder()
        .agent_delay(Duration::from_millis(5))
        .config(guest_chat_emulator::EmulatorConfig {
            workflow_message: Some("Thanks for contacting us.".into()),
            ..Default::default()
        })
        .start()
        .await
        .expect("emulator");
    let (chat, mut events) = started_chat(&emu).await;
    let (text, own, role) = next_text(&mut events).await;
    assert_eq!(
        (text.as_str(), own, role),
        ("Thanks for contacting us.", false, Some(Role::Workflow))
    );
    let (text, _, role) = next_text(&mut events).await;
    assert!(text.starts_with("Hello Ada"), "{text}");
    assert_eq!(role, Some(Role::Agent));
    assert_eq!(chat.state(), ChatState::Connected);
    chat.leave().await.expect("leave");
    emu.shutdown().await;
}

#[tokio::test]
async fn an_idle_chat_ended_by_the_service_ends_the_session() {
    let emu = guest_chat_emulator::Emulator::builder()
        .agent(AgentMode::Manual)
        .agent_delay(Duration::from_millis(5))
        .inactivity_timeout(Duration::from_secs(1))
        .start()
        .await
        .expect("emulator");
    let (chat, mut events) = started_chat(&emu).await;
    let ended = until(&mut events, |e| matches!(e, SessionEvent::Ended(_))).await;
    assert!(
        matches!(ended, SessionEvent::Ended(CloseReason::ChatEnded)),
        "{ended:?}"
    );
    assert_eq!(chat.state(), ChatState::Ended);
    // The service ends an idle chat with the agent-end sequence.
    assert_eq!(chat.ended_by(), Some(EndedBy::Agent));
    emu.shutdown().await;
}

#[tokio::test]
async fn a_chat_the_service_forgot_ends_by_the_service() {
    let emu = emulator(AgentMode::Manual).await;
    let (chat, mut events) = started_chat(&emu).await;
    emu.wait_for_state(chat.conversation_id(), ConversationState::Connected)
        .await
        .expect("agent connects");
    emu.forget(chat.conversation_id()).expect("forget");
    let ended = until(&mut events, |e| matches!(e, SessionEvent::Ended(_))).await;
    assert!(
        matches!(ended, SessionEvent::Ended(CloseReason::ChatEnded)),
        "{ended:?}"
    );
    assert_eq!(chat.ended_by(), Some(EndedBy::Service));
    emu.shutdown().await;
}
