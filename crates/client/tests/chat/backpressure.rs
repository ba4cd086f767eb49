//! One task per guest chat, bounded queues: a slow app's backpressure reaches the socket and
//! nothing is lost; a slow member lookup holds no event back.

use futures::StreamExt;
use guest_chat_emulator::{AgentMode, ConversationState, Emulator, EmulatorHandle, Faults};
use purecloud_guest_chat_client::events::EventStreamOptions;
use purecloud_guest_chat_client::session::{
    ChatOptions, ChatState, GuestChat, SessionEvent, SessionEvents, SESSION_QUEUE,
};
use purecloud_guest_chat_client::{BodyType, CreateWebChatConversationRequest, Role};
use std::time::Duration;
use tokio::time::timeout;

use crate::support::client;

const WAIT: Duration = Duration::from_secs(10);

fn request() -> CreateWebChatConversationRequest {
    CreateWebChatConversationRequest::new("org-1", "dep-1", "Support", "Ada")
}

async fn emulator(heartbeat: Duration, faults: Faults) -> EmulatorHandle {
    Emulator::builder()
        .agent(AgentMode::Manual)
        .agent_delay(Duration::from_millis(5))
        .heartbeat_interval(heartbeat)
        .rate_limit(10_000, Duration::from_secs(60))
        .faults(faults)
        .start()
        .await
        .expect("emulator starts")
}

/// A chat whose agent has connected (as the emulator sees it), on an emulator beating every
/// 30 s with these faults.
async fn connected(faults: Faults) -> (EmulatorHandle, GuestChat, SessionEvents) {
    let emu = emulator(Duration::from_secs(30), faults).await;
    let chat = GuestChat::start(&client(&emu), &request())
        .await
        .expect("chat starts");
    let events = chat.events();
    emu.wait_for_state(chat.conversation_id(), ConversationState::Connected)
        .await
        .expect("agent connects");
    (emu, chat, events)
}

async fn next(events: &mut SessionEvents) -> SessionEvent {
    timeout(WAIT, events.next())
        .await
        .expect("an event within the wait")
        .expect("the chat has not ended")
}

/// The app stops reading while the agent sends many times what the queue holds: the chat's
/// task stops taking frames from its socket (it never runs more than a queue ahead of the
/// app), a stall longer than the liveness window causes no reconnection storm, and then every
/// message arrives exactly once, in order.
///
/// The emulator, like the service, drops a socket that stops taking its frames (its
/// per-socket buffer overflows once the TCP buffers are full): the chat then reconnects once
/// and resyncs from the history, which must still deliver everything exactly once.
#[tokio::test]
async fn a_slow_app_stops_the_socket_reads_and_loses_nothing() {
    const MESSAGES: usize = SESSION_QUEUE * 6;
    // Silence for 2.5 heartbeats (500 ms) would be a dead connection.
    let heartbeat = Duration::from_millis(200);
    let emu = emulator(heartbeat, Faults::default()).await;
    let client = client(&emu);
    let options =
        ChatOptions::default().stream(EventStreamOptions::default().heartbeat_interval(heartbeat));
    let chat = GuestChat::start_with(&client, &request(), options)
        .await
        .expect("chat starts");
    let cid = chat.conversation_id().to_owned();
    emu.wait_for_state(&cid, ConversationState::Connected)
        .await
        .expect("agent connects");
    let mut stats = chat.queue_stats();
    for i in 0..MESSAGES {
        emu.agent_say(&cid, format!("m{i}")).expect("agent says");
    }
    // The queue fills and the task waits for the app.
    let full = timeout(WAIT, stats.wait_for(|s| s.waits > 0))
        .await
        .expect("the queue fills within the wait")
        .expect("the chat lives")
        .to_owned();
    assert_eq!(full.capacity, SESSION_QUEUE);
    assert_eq!(full.high_water, SESSION_QUEUE);
    // A heartbeat or a member change may slip in besides the events that filled the queue.
    let slack = 16;
    assert!(
        full.taken <= (SESSION_QUEUE + slack) as u64,
        "the task took {} items with the app reading none",
        full.taken
    );
    // The app is busy for three liveness windows (a slow app, not synchronisation).
    tokio::time::sleep(heartbeat * 8).await;
    assert!(
        stats.borrow().taken <= (SESSION_QUEUE + slack) as u64,
        "the task read on while the queue was full: {:?}",
        *stats.borrow()
    );

    let mut events = chat.events();
    let mut read = 0u64;
    let mut reconnects = 0;
    let mut got = Vec::new();
    while got.len() < MESSAGES {
        let event = next(&mut events).await;
        read += 1;
        let taken = stats.borrow().taken;
        assert!(
            taken <= read + (SESSION_QUEUE + slack) as u64,
            "the task ran {taken} items ahead of the app's {read}"
        );
        match event {
            SessionEvent::Message {
                message,
                own: false,
                ..
            } if message.body_type == Some(BodyType::Standard) => {
                got.push(message.body.unwrap_or_default());
            }
            SessionEvent::Reconnecting { .. } => reconnects += 1,
            _ => {}
        }
    }
    let want: Vec<String> = (0..MESSAGES).map(|i| format!("m{i}")).collect();
    assert_eq!(got, want, "every message exactly once, in order");
    assert!(reconnects <= 1, "{reconnects} reconnections: a storm");
    assert_eq!(stats.borrow().high_water, SESSION_QUEUE);
    chat.leave().await.expect("leave");
    emu.shutdown().await;
}

/// The agent's lookup (`GET .../members/{id}`) takes seconds: its message still comes at
/// once, with the sender's role unknown, and `MemberUpdated` (then the chat state that needed
/// the role) follows when the lookup lands.
#[tokio::test]
async fn a_slow_member_lookup_does_not_hold_later_events() {
    let lookup = Duration::from_secs(5);
    let faults = Faults {
        member_lookup_delay_ms: u64::try_from(lookup.as_millis()).expect("small"),
        ..Faults::default()
    };
    let (emu, chat, mut events) = connected(faults).await;
    let cid = chat.conversation_id().to_owned();
    let asked = tokio::time::Instant::now();
    emu.agent_say(&cid, "not held back").expect("agent says");
    let sender = loop {
        match next(&mut events).await {
            SessionEvent::Message {
                message, sender, ..
            } if message.body.as_deref() == Some("not held back") => break sender,
            SessionEvent::MemberUpdated(m) if m.id != chat.member_id() => {
                panic!("the slow lookup landed before the message: {m:?}")
            }
            _ => {}
        }
    };
    assert!(
        asked.elapsed() < lookup,
        "the message waited for the lookup"
    );
    assert_eq!(sender.role, None, "the lookup is still on its way");
    assert_eq!(
        chat.state(),
        ChatState::Waiting,
        "no role yet: not known to be an agent"
    );
    // The lookup lands: the member's role and name, then the chat state that waited for it.
    let updated = loop {
        if let SessionEvent::MemberUpdated(m) = next(&mut events).await {
            if m.id == sender.id {
                break m;
            }
        }
    };
    assert_eq!(updated.id, sender.id);
    assert_eq!(updated.role, Some(Role::Agent));
    assert!(updated.display_name.is_some());
    assert!(matches!(
        next(&mut events).await,
        SessionEvent::StateChanged(ChatState::Connected)
    ));
    assert_eq!(chat.agent().map(|a| a.id), Some(sender.id));
    emu.shutdown().await;
}

/// The agent leaves (a transfer) before its slow lookup has landed: the chat cannot tell an
/// agent from another member yet, so the ended-or-transferred decision (the driver's one
/// "is the chat over?" check) is taken when the lookup lands, and it is still right: a
/// transfer, then the new agent; and when the new agent ends the chat, the chat has ended.
#[tokio::test]
async fn an_agent_leaving_before_its_lookup_lands_is_still_a_transfer() {
    let faults = Faults {
        member_lookup_delay_ms: 1_500,
        ..Faults::default()
    };
    let (emu, chat, mut events) = connected(faults).await;
    let cid = chat.conversation_id().to_owned();
    let second = emu
        .transfer(&cid, Some("Agent Two"))
        .await
        .expect("transfer");
    let mut states = Vec::new();
    while states.len() < 2 {
        if let SessionEvent::StateChanged(state) = next(&mut events).await {
            states.push(state);
        }
    }
    assert_eq!(states, [ChatState::Transferred, ChatState::Connected]);
    let agent = chat.agent().expect("the new agent");
    assert_eq!(agent.id, second);
    assert_eq!(agent.display_name.as_deref(), Some("Agent Two"));

    emu.end_chat(&cid).expect("end");
    loop {
        match next(&mut events).await {
            SessionEvent::StateChanged(state) => {
                assert_eq!(state, ChatState::Ended);
                break;
            }
            SessionEvent::Ended(reason) => panic!("ended ({reason:?}) without the state change"),
            _ => {}
        }
    }
    assert_eq!(
        chat.ended_by(),
        Some(purecloud_guest_chat_client::session::EndedBy::Agent)
    );
    emu.shutdown().await;
}
