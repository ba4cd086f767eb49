//! Conversations: state machine, members, history, and the per-chat event fan-out.

use crate::error::EmulatorError;
use guest_chat_model::event::{
    EventFrame, FrameMetadata, IdRef, MemberChangeBody, MemberStateRef, SOCKET_CLOSING_TOPIC,
    TYPE_MEMBER_CHANGE, TYPE_MESSAGE, TYPE_TYPING,
};
use guest_chat_model::{
    BodyType, MediaRequestState, MediaRequestType, MemberState, Role, Timestamp,
    WebChatConversation, WebChatGuestMediaRequest, WebChatMemberInfo, WebChatMessage,
    WebChatTyping,
};
use serde::{Deserialize, Serialize};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Where a conversation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ConversationState {
    /// Created; no socket attached yet (not routed).
    Created,
    /// A socket attached; waiting for an agent (ACD member present, or a transfer in progress).
    Queued,
    /// An agent is connected.
    Connected,
    /// Ended by the agent or the guest.
    Ended,
}

impl ConversationState {
    /// `created`, `queued`, `connected` or `ended`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ConversationState::Created => "created",
            ConversationState::Queued => "queued",
            ConversationState::Connected => "connected",
            ConversationState::Ended => "ended",
        }
    }
}

impl std::fmt::Display for ConversationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ConversationState {
    type Err = EmulatorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "created" => Ok(ConversationState::Created),
            "queued" | "active" => Ok(ConversationState::Queued),
            "connected" => Ok(ConversationState::Connected),
            "ended" => Ok(ConversationState::Ended),
            other => Err(EmulatorError::Config(format!("unknown state {other}"))),
        }
    }
}

/// A point-in-time view of a conversation (the control API's object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationSnapshot {
    /// Conversation id.
    pub id: String,
    /// Current state.
    pub state: ConversationState,
    /// Every member, disconnected ones included.
    pub members: Vec<WebChatMemberInfo>,
    /// The current agent, if one is alerting or connected.
    pub agent_id: Option<String>,
    /// The guest member id.
    pub guest_id: String,
    /// Sockets attached right now.
    pub sockets: usize,
    /// Messages in the history.
    pub messages: usize,
}

/// Live status watched by waiters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status {
    pub state: ConversationState,
    pub sockets: usize,
}

/// How a socket is dropped by the control API or the fault injector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropMode {
    /// TCP close without a close frame.
    Abrupt,
    /// A close frame with this code.
    Close(u16),
}

/// What a socket task is told to do.
#[derive(Debug, Clone)]
pub(crate) enum SocketCmd {
    Frame(Arc<str>),
    Close {
        code: u16,
        reason: Arc<str>,
    },
    Drop(DropMode),
    /// Send this `v2.system.socket_closing` frame, then close with 1001 after `grace_ms`
    /// milliseconds. (Milliseconds in a `u32` keep the command at 24 bytes: the event channel
    /// of every conversation holds 64 of them from its creation on.)
    Closing {
        frame: Arc<str>,
        grace_ms: u32,
    },
}

/// What the agent task hears about.
#[derive(Debug, Clone)]
pub(crate) enum AgentInput {
    GuestMessage { body: String, body_type: BodyType },
}

pub(crate) struct Inner {
    pub state: ConversationState,
    pub members: Vec<WebChatMemberInfo>,
    /// The transcript, oldest first, stored compactly (a `WebChatMessage` is about 800 bytes
    /// inline, most of it the conversation and sender it repeats): see [`StoredMessage`].
    pub messages: Vec<StoredMessage>,
    pub media: Vec<WebChatGuestMediaRequest>,
    pub agent_id: Option<String>,
    pub acd_id: Option<String>,
}

/// One message of the transcript: what its REST shape has beyond the conversation's own facts.
#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    id: Box<str>,
    sender: Box<str>,
    body: Box<str>,
    body_type: BodyType,
    timestamp: Timestamp,
}

impl StoredMessage {
    pub(crate) fn id(&self) -> &str {
        &self.id
    }
}

/// Static facts about the guest given at create.
pub(crate) struct NewConversation {
    pub org_id: String,
    pub deployment_id: String,
    pub queue_name: String,
    pub guest: WebChatMemberInfo,
    pub agent_mode_name: &'static str,
    /// When the conversation's JWT expires: the emulator forgets it then (every call with
    /// that JWT already fails with 401 `credentials.expired`, so this changes nothing a
    /// client can see, and a long-lived emulator does not grow without bound).
    pub expires_at: Instant,
}

pub(crate) struct Conversation {
    pub id: String,
    pub guest_id: String,
    pub org_id: String,
    pub deployment_id: String,
    pub queue_name: String,
    pub guest_name: String,
    pub agent_mode_name: &'static str,
    pub expires_at: Instant,
    /// Last guest REST call or socket attach/detach (for forgetting abandoned chats).
    touched: Mutex<Instant>,
    /// When the conversation ended (for forgetting ended chats).
    ended_at: Mutex<Option<Instant>>,
    /// On tokio's clock, so the inactivity timeout can be tested with paused time.
    created: tokio::time::Instant,
    /// Milliseconds after `created` of the guest's last message or typing indicator.
    guest_activity_ms: AtomicU64,
    inner: Mutex<Inner>,
    events: broadcast::Sender<SocketCmd>,
    status: watch::Sender<Status>,
    pub heartbeats_paused: AtomicBool,
    pub cancel: CancellationToken,
    /// Items boxed: tokio allocates a channel's first block of 32 slots at creation, and this
    /// channel exists once per conversation.
    agent_tx: mpsc::UnboundedSender<Box<AgentInput>>,
    agent_rx: Mutex<Option<mpsc::UnboundedReceiver<Box<AgentInput>>>>,
    /// Set when the agent reads no more guest messages (a manual agent, a finished script):
    /// they are no longer copied and sent to it.
    agent_deaf: AtomicBool,
}

/// Frames a socket may fall behind before it is dropped (and its client resyncs over REST).
/// The channel allocates all its slots at creation (about 48 bytes each, once per
/// conversation): 32 rather than 64 saves 1.5 KiB per chat, and is still several times the
/// longest burst one chat produces (routing and the agent joining: a handful of member
/// changes and the greeting; a guest message with the agent's typing and reply: 3).
const EVENT_BUFFER: usize = 32;

pub(crate) fn conversation_uri(cid: &str) -> String {
    format!("/api/v2/conversations/{cid}")
}

pub(crate) fn message_uri(cid: &str, mid: &str) -> String {
    format!("/api/v2/webchat/guest/conversations/{cid}/messages/{mid}")
}

/// Room for a message's REST answer without its body (ids, links and timestamp: about 420
/// bytes).
const REPLY_BASE_BYTES: usize = 512;

/// Whether `serde_json` writes `s` as it is between its quotes: no control character, no
/// quote, no backslash.
fn plain(s: &str) -> bool {
    s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\')
}

/// A timestamp as `serde_json` writes it (its `Display`, `2019-06-18T16:59:22.277Z`), without
/// chrono's formatting machinery and its string for the usual instant: whole milliseconds, a
/// four-digit year, no leap second.
fn json_timestamp(out: &mut Vec<u8>, ts: &Timestamp) -> serde_json::Result<()> {
    use chrono::{Datelike, Timelike};
    let t = &ts.0;
    let nanos = t.nanosecond();
    if nanos % 1_000_000 != 0 || nanos >= 1_000_000_000 || !(0..=9999).contains(&t.year()) {
        return serde_json::to_writer(out, ts);
    }
    let digits = |out: &mut Vec<u8>, n: u32, width: u32| {
        for place in (0..width).rev() {
            // A single decimal digit: the cast cannot truncate.
            out.push(b'0' + (n / 10u32.pow(place) % 10) as u8);
        }
    };
    out.push(b'"');
    digits(out, t.year().unsigned_abs(), 4);
    for (sep, n) in [(b'-', t.month()), (b'-', t.day()), (b'T', t.hour())] {
        out.push(sep);
        digits(out, n, 2);
    }
    for (sep, n) in [(b':', t.minute()), (b':', t.second())] {
        out.push(sep);
        digits(out, n, 2);
    }
    out.push(b'.');
    digits(out, nanos / 1_000_000, 3);
    out.extend_from_slice(b"Z\"");
    Ok(())
}

/// `s` as a JSON string, as `serde_json` writes it.
fn json_str(out: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    if !plain(s) {
        return serde_json::to_writer(out, s);
    }
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
    Ok(())
}

fn id_only(id: &str) -> WebChatMemberInfo {
    WebChatMemberInfo {
        id: Some(id.to_owned()),
        ..Default::default()
    }
}

fn frame_text<B: Serialize>(cid: &str, topic: &str, kind: &str, body: B) -> Option<Arc<str>> {
    let frame = EventFrame {
        topic_name: Some(format!("v2.conversations.chats.{cid}.{topic}")),
        version: Some("2".to_owned()),
        event_body: body,
        metadata: Some(FrameMetadata {
            correlation_id: Some(uuid::Uuid::new_v4().to_string()),
            kind: Some(kind.to_owned()),
        }),
    };
    serde_json::to_string(&frame).ok().map(Arc::from)
}

impl Conversation {
    pub(crate) fn new(new: NewConversation, parent: &CancellationToken) -> Arc<Conversation> {
        let id = uuid::Uuid::new_v4().to_string();
        let guest_id = new.guest.id.clone().unwrap_or_default();
        let guest_name = new.guest.display_name.clone().unwrap_or_default();
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (status, _) = watch::channel(Status {
            state: ConversationState::Created,
            sockets: 0,
        });
        let (agent_tx, agent_rx) = mpsc::unbounded_channel();
        Arc::new(Conversation {
            id,
            guest_id,
            org_id: new.org_id,
            deployment_id: new.deployment_id,
            queue_name: new.queue_name,
            guest_name,
            agent_mode_name: new.agent_mode_name,
            expires_at: new.expires_at,
            touched: Mutex::new(Instant::now()),
            ended_at: Mutex::new(None),
            created: tokio::time::Instant::now(),
            guest_activity_ms: AtomicU64::new(0),
            inner: Mutex::new(Inner {
                state: ConversationState::Created,
                members: vec![new.guest],
                messages: Vec::new(),
                media: Vec::new(),
                agent_id: None,
                acd_id: None,
            }),
            events,
            status,
            heartbeats_paused: AtomicBool::new(false),
            cancel: parent.child_token(),
            agent_tx,
            agent_rx: Mutex::new(Some(agent_rx)),
            agent_deaf: AtomicBool::new(false),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means another thread panicked mid-update; the data is
        // still usable for an emulator, so recover instead of propagating the panic.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<SocketCmd> {
        self.events.subscribe()
    }

    pub(crate) fn watch(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    pub(crate) fn status(&self) -> Status {
        *self.status.borrow()
    }

    /// The agent reads no more guest messages (see `agent_deaf`).
    pub(crate) fn agent_stops_reading(&self) {
        self.agent_deaf.store(true, Ordering::Relaxed);
    }

    pub(crate) fn take_agent_rx(&self) -> Option<mpsc::UnboundedReceiver<Box<AgentInput>>> {
        self.agent_rx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    pub(crate) fn socket_attached(&self) {
        self.touch();
        self.status.send_modify(|s| s.sockets += 1);
    }

    pub(crate) fn socket_detached(&self) {
        self.touch();
        self.status
            .send_modify(|s| s.sockets = s.sockets.saturating_sub(1));
    }

    /// Records guest activity (a REST call, a socket attaching or leaving).
    pub(crate) fn touch(&self) {
        *self
            .touched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
    }

    /// Whether the emulator may forget this conversation at `now`: its JWT expired, it ended
    /// more than `ended_retention` ago, or nobody attached a socket or called for
    /// `abandoned_after`.
    pub(crate) fn forgettable(
        &self,
        now: Instant,
        ended_retention: Duration,
        abandoned_after: Duration,
    ) -> bool {
        if self.expires_at <= now {
            return true;
        }
        let ended = *self
            .ended_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if ended.is_some_and(|t| now.saturating_duration_since(t) >= ended_retention) {
            return true;
        }
        let touched = *self
            .touched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.status().sockets == 0 && now.saturating_duration_since(touched) >= abandoned_after
    }

    fn set_state(&self, inner: &mut Inner, state: ConversationState) {
        inner.state = state;
        self.status.send_modify(|s| s.state = state);
    }

    pub(crate) fn broadcast(&self, cmd: SocketCmd) {
        // No receiver = no socket attached: events are not buffered (docs/protocol.md 7.1).
        let _ = self.events.send(cmd);
    }

    /// The conversation is gone (forgotten, or its JWT expired): attached sockets are closed
    /// with 4100 as the real service closed failed connections (docs/protocol.md 7.9), and its
    /// agent stops.
    pub(crate) fn vanish(&self) {
        self.broadcast(SocketCmd::Close {
            code: CONNECT_ERROR_CODE,
            reason: Arc::from(connect_error_reason(&self.id)),
        });
        self.cancel.cancel();
    }

    /// Announces a maintenance close (`v2.system.socket_closing`, docs/protocol.md 7.11) to the
    /// attached sockets; they are closed with 1001 after `grace` unless their clients
    /// reconnect first.
    pub(crate) fn announce_socket_closing(&self, grace: Duration) {
        let frame = EventFrame {
            topic_name: Some(SOCKET_CLOSING_TOPIC.to_owned()),
            version: Some("2".to_owned()),
            event_body: serde_json::json!({
                "message": format!("The socket will close in {} ms for maintenance", grace.as_millis()),
            }),
            metadata: Some(FrameMetadata {
                correlation_id: Some(uuid::Uuid::new_v4().to_string()),
                kind: None,
            }),
        };
        if let Ok(text) = serde_json::to_string(&frame) {
            self.broadcast(SocketCmd::Closing {
                frame: Arc::from(text),
                grace_ms: u32::try_from(grace.as_millis()).unwrap_or(u32::MAX),
            });
        }
    }

    /// Records guest activity (a message or a typing indicator) for the inactivity timeout.
    fn guest_active(&self) {
        let ms = u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.guest_activity_ms.store(ms, Ordering::Relaxed);
    }

    /// When the guest was last active (creation counts).
    pub(crate) fn last_guest_activity(&self) -> tokio::time::Instant {
        self.created + Duration::from_millis(self.guest_activity_ms.load(Ordering::Relaxed))
    }

    /// Sends `text` as it is to every attached socket (for tests of unknown or broken frames).
    pub(crate) fn push_raw_frame(&self, text: &str) {
        self.broadcast(SocketCmd::Frame(Arc::from(text)));
    }

    fn publish(&self, text: Option<Arc<str>>) {
        if let Some(t) = text {
            self.broadcast(SocketCmd::Frame(t));
        }
    }

    fn member_mut<'a>(inner: &'a mut Inner, id: &str) -> Option<&'a mut WebChatMemberInfo> {
        inner
            .members
            .iter_mut()
            .find(|m| m.id.as_deref() == Some(id))
    }

    /// Sets a member's state and publishes a member-change.
    fn change_member(&self, inner: &mut Inner, member_id: &str, state: MemberState) {
        if let Some(m) = Self::member_mut(inner, member_id) {
            if state == MemberState::Disconnected && m.leave_date.is_none() {
                m.leave_date = Some(Timestamp::now());
            }
            m.state = Some(state.clone());
        }
        self.publish_member_change(member_id, state);
    }

    fn publish_member_change(&self, member_id: &str, state: MemberState) {
        let body = MemberChangeBody {
            conversation: IdRef {
                id: self.id.clone(),
            },
            member: MemberStateRef {
                id: member_id.to_owned(),
                state,
            },
            timestamp: Some(Timestamp::now()),
        };
        self.publish(frame_text(&self.id, "members", TYPE_MEMBER_CHANGE, body));
    }

    /// Stores a message in the history and publishes it; returns the REST shape.
    fn add_message(
        &self,
        inner: &mut Inner,
        sender: &str,
        body: String,
        body_type: BodyType,
    ) -> WebChatMessage {
        let stored = self.new_message(sender, body, body_type);
        let rest = self.rest_message(&stored);
        inner.messages.push(stored);
        rest
    }

    /// A new message, published (the caller holds the lock and stores it).
    fn new_message(&self, sender: &str, body: String, body_type: BodyType) -> StoredMessage {
        let mut buf = uuid::Uuid::encode_buffer();
        let stored = StoredMessage {
            id: (*uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf)).into(),
            sender: sender.into(),
            body: body.into_boxed_str(),
            body_type,
            timestamp: Timestamp::now(),
        };
        // No socket attached (a REST-only client, or between reconnects): no event to build;
        // the client reads the message over REST.
        if self.events.receiver_count() > 0 {
            let event = WebChatMessage {
                id: Some(stored.id.to_string()),
                conversation: Some(WebChatConversation {
                    id: Some(self.id.clone()),
                    ..Default::default()
                }),
                sender: Some(id_only(sender)),
                body: Some(stored.body.to_string()),
                body_type: Some(stored.body_type.clone()),
                timestamp: Some(stored.timestamp),
                ..Default::default()
            };
            self.publish(frame_text(&self.id, "messages", TYPE_MESSAGE, &event));
        }
        stored
    }

    /// [`Self::rest_message`] as `serde_json` writes it (a test compares them), written
    /// straight from the stored message: none of its strings copied, and the emulator's own
    /// ids and links, with nothing to escape in them, copied as they are.
    pub(crate) fn write_rest_message(
        &self,
        m: &StoredMessage,
        out: &mut Vec<u8>,
    ) -> serde_json::Result<()> {
        let (cid, mid) = (self.id.as_bytes(), m.id.as_bytes());
        if !(plain(&self.id) && plain(&m.id)) {
            return serde_json::to_writer(out, &self.rest_message(m));
        }
        let parts: [&[u8]; 5] = [
            b"{\"id\":\"",
            mid,
            b"\",\"conversation\":{\"id\":\"",
            cid,
            b"\",\"selfUri\":\"/api/v2/conversations/",
        ];
        parts.iter().for_each(|p| out.extend_from_slice(p));
        out.extend_from_slice(cid);
        out.extend_from_slice(b"\"},\"sender\":{\"id\":");
        json_str(out, &m.sender)?;
        out.extend_from_slice(b"},\"body\":");
        json_str(out, &m.body)?;
        out.extend_from_slice(b",\"bodyType\":");
        serde_json::to_writer(&mut *out, &m.body_type)?;
        out.extend_from_slice(b",\"timestamp\":");
        json_timestamp(out, &m.timestamp)?;
        let parts: [&[u8]; 5] = [
            b",\"selfUri\":\"/api/v2/webchat/guest/conversations/",
            cid,
            b"/messages/",
            mid,
            b"\"}",
        ];
        parts.iter().for_each(|p| out.extend_from_slice(p));
        Ok(())
    }

    /// A stored message in its REST shape (as `GET .../messages/{id}` answers it).
    pub(crate) fn rest_message(&self, m: &StoredMessage) -> WebChatMessage {
        WebChatMessage {
            id: Some(m.id.to_string()),
            conversation: Some(WebChatConversation {
                id: Some(self.id.clone()),
                self_uri: Some(conversation_uri(&self.id)),
                ..Default::default()
            }),
            sender: Some(id_only(&m.sender)),
            body: Some(m.body.to_string()),
            body_type: Some(m.body_type.clone()),
            timestamp: Some(m.timestamp),
            self_uri: Some(message_uri(&self.id, &m.id)),
            ..Default::default()
        }
    }

    /// Every stored message in its REST shape, oldest first.
    pub(crate) fn rest_messages(&self) -> Vec<WebChatMessage> {
        let stored = self.lock().messages.clone();
        stored.iter().map(|m| self.rest_message(m)).collect()
    }

    fn publish_typing(&self, sender: &str) -> WebChatTyping {
        let mut typing = WebChatTyping {
            id: Some(uuid::Uuid::new_v4().to_string()),
            conversation: Some(WebChatConversation {
                id: Some(self.id.clone()),
                ..Default::default()
            }),
            sender: Some(id_only(sender)),
            timestamp: Some(Timestamp::now()),
        };
        self.publish(frame_text(&self.id, "messages", TYPE_TYPING, &typing));
        if let Some(c) = typing.conversation.as_mut() {
            c.self_uri = Some(conversation_uri(&self.id));
        }
        typing
    }

    fn is_active(state: ConversationState) -> bool {
        matches!(
            state,
            ConversationState::Queued | ConversationState::Connected
        )
    }

    /// `created` -> `queued`: guest CONNECTED, ACD member CONNECTED. True when it happened now.
    pub(crate) fn activate(&self) -> bool {
        let mut inner = self.lock();
        if inner.state != ConversationState::Created {
            return false;
        }
        self.set_state(&mut inner, ConversationState::Queued);
        let guest = self.guest_id.clone();
        self.change_member(&mut inner, &guest, MemberState::Connected);
        let acd_id = uuid::Uuid::new_v4().to_string();
        // Room for the ACD and the agent, exactly: a member is about 280 bytes, and the
        // doubling growth would keep a fourth slot per chat.
        inner.members.reserve_exact(2);
        inner.members.push(WebChatMemberInfo {
            id: Some(acd_id.clone()),
            display_name: Some(self.queue_name.clone()),
            role: Some(Role::Acd),
            join_date: Some(Timestamp::now()),
            state: Some(MemberState::Connected),
            ..Default::default()
        });
        inner.acd_id = Some(acd_id.clone());
        self.publish_member_change(&acd_id, MemberState::Connected);
        true
    }

    fn guest_connected(&self, inner: &Inner) -> bool {
        inner.members.iter().any(|m| {
            m.id.as_deref() == Some(&self.guest_id) && m.state != Some(MemberState::Disconnected)
        })
    }

    /// A guest message (already validated).
    pub(crate) fn guest_message(
        &self,
        body: String,
        body_type: BodyType,
        activate_without_stream: bool,
    ) -> Result<serde_json::Result<Vec<u8>>, GuestWriteError> {
        // A copy for the agent only while it reads them (not a manual agent's).
        let mut reply = Vec::with_capacity(REPLY_BASE_BYTES + body.len() + body.len() / 8);
        let for_agent =
            (!self.agent_deaf.load(Ordering::Relaxed)).then(|| AgentInput::GuestMessage {
                body: body.clone(),
                body_type: body_type.clone(),
            });
        let msg = {
            let mut inner = self.lock();
            self.guest_write_allowed(&inner, activate_without_stream)?;
            let stored = self.new_message(&self.guest_id, body, body_type);
            let written = self.write_rest_message(&stored, &mut reply);
            inner.messages.push(stored);
            written.map(|()| reply)
        };
        self.guest_active();
        if let Some(input) = for_agent {
            let _ = self.agent_tx.send(Box::new(input));
        }
        Ok(msg)
    }

    fn guest_write_allowed(
        &self,
        inner: &Inner,
        activate_without_stream: bool,
    ) -> Result<(), GuestWriteError> {
        match inner.state {
            ConversationState::Created if !activate_without_stream => {
                Err(GuestWriteError::ConversationState)
            }
            ConversationState::Ended => Err(GuestWriteError::ConversationState),
            _ if !self.guest_connected(inner) => Err(GuestWriteError::MemberState),
            _ => Ok(()),
        }
    }

    pub(crate) fn guest_typing(
        &self,
        activate_without_stream: bool,
    ) -> Result<WebChatTyping, GuestWriteError> {
        let inner = self.lock();
        self.guest_write_allowed(&inner, activate_without_stream)?;
        self.guest_active();
        Ok(self.publish_typing(&self.guest_id))
    }

    /// Adds a member to an active conversation and publishes its member-change.
    fn join_member(
        &self,
        inner: &mut Inner,
        name: &str,
        role: Role,
        state: MemberState,
    ) -> Result<String, EmulatorError> {
        if !Self::is_active(inner.state) {
            return Err(EmulatorError::State(
                "The conversation is not active".into(),
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        inner.members.push(WebChatMemberInfo {
            id: Some(id.clone()),
            display_name: Some(name.to_owned()),
            role: Some(role),
            join_date: Some(Timestamp::now()),
            state: Some(state.clone()),
            ..Default::default()
        });
        self.publish_member_change(&id, state);
        Ok(id)
    }

    /// An Architect inbound flow (a WORKFLOW member, docs/protocol.md 7.8 step 3) joins, posts a
    /// standard message and leaves before an agent is offered.
    pub(crate) fn workflow_says(&self, name: &str, text: String) -> Result<String, EmulatorError> {
        let mut inner = self.lock();
        let id = self.join_member(&mut inner, name, Role::Workflow, MemberState::Connected)?;
        self.add_message(&mut inner, &id, text, BodyType::Standard);
        self.change_member(&mut inner, &id, MemberState::Disconnected);
        Ok(id)
    }

    /// A new agent member, ALERTING.
    pub(crate) fn agent_alerting(&self, name: &str) -> Result<String, EmulatorError> {
        let mut inner = self.lock();
        let id = self.join_member(&mut inner, name, Role::Agent, MemberState::Alerting)?;
        inner.agent_id = Some(id.clone());
        Ok(id)
    }

    /// The alerting agent answers: CONNECTED, member-join, ACD leaves.
    pub(crate) fn agent_connect(&self, agent_id: &str) -> Result<(), EmulatorError> {
        let mut inner = self.lock();
        if !Self::is_active(inner.state) || inner.agent_id.as_deref() != Some(agent_id) {
            return Err(EmulatorError::State(
                "The conversation is not active".into(),
            ));
        }
        self.change_member(&mut inner, agent_id, MemberState::Connected);
        self.add_message(&mut inner, agent_id, String::new(), BodyType::MemberJoin);
        if let Some(acd) = inner.acd_id.take() {
            self.change_member(&mut inner, &acd, MemberState::Disconnected);
            self.add_message(&mut inner, &acd, String::new(), BodyType::MemberLeave);
        }
        self.set_state(&mut inner, ConversationState::Connected);
        Ok(())
    }

    fn connected_agent(&self, inner: &Inner) -> Result<String, EmulatorError> {
        if !Self::is_active(inner.state) {
            return Err(EmulatorError::State(
                "The conversation is not active".into(),
            ));
        }
        let id = inner
            .agent_id
            .clone()
            .ok_or_else(|| EmulatorError::State("No agent is connected".into()))?;
        let connected = inner
            .members
            .iter()
            .any(|m| m.id.as_deref() == Some(&id) && m.state == Some(MemberState::Connected));
        if connected {
            Ok(id)
        } else {
            Err(EmulatorError::State("No agent is connected".into()))
        }
    }

    pub(crate) fn agent_say(
        &self,
        body: String,
        body_type: BodyType,
    ) -> Result<WebChatMessage, EmulatorError> {
        let mut inner = self.lock();
        let agent = self.connected_agent(&inner)?;
        Ok(self.add_message(&mut inner, &agent, body, body_type))
    }

    pub(crate) fn agent_typing(&self) -> Result<WebChatTyping, EmulatorError> {
        let inner = self.lock();
        let agent = self.connected_agent(&inner)?;
        Ok(self.publish_typing(&agent))
    }

    /// First half of a transfer: the current agent leaves, the chat is queued again.
    pub(crate) fn agent_leave(&self) -> Result<(), EmulatorError> {
        let mut inner = self.lock();
        if !Self::is_active(inner.state) {
            return Err(EmulatorError::State(
                "The conversation is not active".into(),
            ));
        }
        if let Some(agent) = inner.agent_id.take() {
            self.change_member(&mut inner, &agent, MemberState::Disconnected);
            self.add_message(&mut inner, &agent, String::new(), BodyType::MemberLeave);
        }
        self.set_state(&mut inner, ConversationState::Queued);
        Ok(())
    }

    fn finish(&self, inner: &mut Inner) {
        for m in &mut inner.members {
            if m.state != Some(MemberState::Disconnected) {
                m.state = Some(MemberState::Disconnected);
                m.leave_date = Some(Timestamp::now());
            }
        }
        inner.agent_id = None;
        inner.acd_id = None;
        self.set_state(inner, ConversationState::Ended);
        *self
            .ended_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
        self.broadcast(SocketCmd::Close {
            code: 1001,
            reason: Arc::from(ENDED_REASON),
        });
        self.cancel.cancel();
    }

    /// The agent ends the chat (docs/protocol.md 7.9 sequence).
    pub(crate) fn end_by_agent(&self) -> Result<(), EmulatorError> {
        let mut inner = self.lock();
        if inner.state == ConversationState::Ended {
            return Err(EmulatorError::State("The conversation is ended".into()));
        }
        if let Some(agent) = inner.agent_id.clone() {
            self.change_member(&mut inner, &agent, MemberState::Disconnected);
            self.add_message(&mut inner, &agent, String::new(), BodyType::MemberLeave);
        }
        if let Some(acd) = inner.acd_id.clone() {
            self.change_member(&mut inner, &acd, MemberState::Disconnected);
        }
        let guest = self.guest_id.clone();
        self.change_member(&mut inner, &guest, MemberState::Disconnected);
        self.finish(&mut inner);
        Ok(())
    }

    /// The guest leaves (DELETE own member).
    pub(crate) fn end_by_guest(&self) -> Result<(), GuestWriteError> {
        let mut inner = self.lock();
        if inner.state == ConversationState::Ended || !self.guest_connected(&inner) {
            return Err(GuestWriteError::MemberState);
        }
        let guest = self.guest_id.clone();
        self.change_member(&mut inner, &guest, MemberState::Disconnected);
        self.add_message(&mut inner, &guest, String::new(), BodyType::MemberLeave);
        if let Some(agent) = inner.agent_id.clone() {
            self.change_member(&mut inner, &agent, MemberState::Disconnected);
        }
        if let Some(acd) = inner.acd_id.clone() {
            self.change_member(&mut inner, &acd, MemberState::Disconnected);
        }
        self.finish(&mut inner);
        Ok(())
    }

    /// Re-sends a member's current state as a new member-change.
    pub(crate) fn duplicate_member_change(
        &self,
        member_id: Option<&str>,
    ) -> Result<String, EmulatorError> {
        let inner = self.lock();
        let id = match member_id {
            Some(id) => id.to_owned(),
            None => inner
                .agent_id
                .clone()
                .ok_or_else(|| EmulatorError::State("No agent is connected".into()))?,
        };
        let state = inner
            .members
            .iter()
            .find(|m| m.id.as_deref() == Some(&id))
            .and_then(|m| m.state.clone())
            .ok_or_else(|| EmulatorError::State(format!("member {id} not found")))?;
        self.publish_member_change(&id, state);
        Ok(id)
    }

    /// A PENDING media request, announced by a `media-request` message from the agent.
    pub(crate) fn push_media_request(
        &self,
        types: Vec<MediaRequestType>,
    ) -> Result<WebChatGuestMediaRequest, EmulatorError> {
        let mut inner = self.lock();
        if !Self::is_active(inner.state) {
            return Err(EmulatorError::State(
                "The conversation is not active".into(),
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let req = WebChatGuestMediaRequest {
            id: Some(id.clone()),
            name: Some(format!("Media request {}", inner.media.len() + 1)),
            types: Some(types),
            state: Some(MediaRequestState::Pending),
            communication_id: Some(uuid::Uuid::new_v4().to_string()),
            security_key: Some(uuid::Uuid::new_v4().simple().to_string()),
            self_uri: Some(format!(
                "/api/v2/webchat/guest/conversations/{}/mediarequests/{id}",
                self.id
            )),
        };
        inner.media.push(req.clone());
        let sender = inner
            .agent_id
            .clone()
            .unwrap_or_else(|| self.guest_id.clone());
        self.add_message(&mut inner, &sender, String::new(), BodyType::MediaRequest);
        Ok(req)
    }

    pub(crate) fn snapshot(&self) -> ConversationSnapshot {
        let inner = self.lock();
        ConversationSnapshot {
            id: self.id.clone(),
            state: inner.state,
            members: inner.members.clone(),
            agent_id: inner.agent_id.clone(),
            guest_id: self.guest_id.clone(),
            sockets: self.status().sockets,
            messages: inner.messages.len(),
        }
    }

    /// Every message stored, oldest first.
    pub(crate) fn transcript(&self) -> Vec<WebChatMessage> {
        self.rest_messages()
    }

    pub(crate) fn state(&self) -> ConversationState {
        self.lock().state
    }

    pub(crate) fn pause_heartbeats(&self, paused: bool) {
        self.heartbeats_paused.store(paused, Ordering::Relaxed);
    }

    pub(crate) fn heartbeats_paused(&self) -> bool {
        self.heartbeats_paused.load(Ordering::Relaxed)
    }
}

/// The close reason for ended conversations.
pub(crate) const ENDED_REASON: &str = "The conversation is ended";

/// The close code of a failed connection to a conversation (docs/protocol.md 7.9).
pub(crate) const CONNECT_ERROR_CODE: u16 = 4100;

/// The close reason that goes with [`CONNECT_ERROR_CODE`].
pub(crate) fn connect_error_reason(cid: &str) -> String {
    format!("Error connecting to conversation ({cid})")
}

/// Why a guest write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GuestWriteError {
    ConversationState,
    MemberState,
}

/// A sharded concurrent map of conversations (no global lock on the request path).
pub(crate) struct Store {
    shards: Vec<RwLock<HashMap<String, Arc<Conversation>>>>,
    count: std::sync::atomic::AtomicUsize,
}

const SHARDS: usize = 64;

impl Store {
    pub(crate) fn new() -> Store {
        Store {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            count: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn shard(&self, key: &str) -> &RwLock<HashMap<String, Arc<Conversation>>> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        // SHARDS is non-zero, so the index is always in bounds.
        &self.shards[(h.finish() as usize) % SHARDS]
    }

    /// Conversations kept right now.
    pub(crate) fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    pub(crate) fn insert(&self, conv: Arc<Conversation>) {
        let old = self
            .shard(&conv.id)
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(conv.id.clone(), conv);
        if old.is_none() {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn remove(&self, id: &str) -> Option<Arc<Conversation>> {
        let out = self
            .shard(id)
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
        if out.is_some() {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
        out
    }

    /// Removes and returns the conversations `forget` picks, a shard at a time.
    pub(crate) fn remove_where(
        &self,
        forget: impl Fn(&Conversation) -> bool,
    ) -> Vec<Arc<Conversation>> {
        let mut out = Vec::new();
        for s in &self.shards {
            // Scanned under the read lock: the write lock (which stalls lookups of the
            // shard) is taken only when something has expired.
            let any_expired = s
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .values()
                .any(|c| forget(c));
            if !any_expired {
                continue;
            }
            let mut shard = s.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            shard.retain(|_, c| {
                let keep = !forget(c);
                if !keep {
                    out.push(c.clone());
                }
                keep
            });
        }
        self.count.fetch_sub(out.len(), Ordering::Relaxed);
        out
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Conversation>> {
        self.shard(id)
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    pub(crate) fn all(&self) -> Vec<Arc<Conversation>> {
        let mut out = Vec::new();
        for s in &self.shards {
            out.extend(
                s.read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .values()
                    .cloned(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation() -> Arc<Conversation> {
        Conversation::new(
            NewConversation {
                org_id: "o".into(),
                deployment_id: "d".into(),
                queue_name: "q".into(),
                guest: WebChatMemberInfo {
                    id: Some("guest-1".into()),
                    display_name: Some("Ada".into()),
                    ..Default::default()
                },
                agent_mode_name: "manual",
                expires_at: Instant::now() + Duration::from_secs(60),
            },
            &CancellationToken::new(),
        )
    }

    #[test]
    fn the_written_rest_message_is_the_serialised_one() {
        let conv = conversation();
        let bodies = [
            "",
            "hello",
            "a \"quoted\" back\\slash",
            "line\nbreak\ttab\u{1}\u{1f}",
            "é ü 🙂 \u{7f} </script>",
        ];
        let types = [BodyType::Standard, BodyType::Notice, BodyType::MemberJoin];
        for (body, body_type) in bodies.iter().zip(types.iter().cycle()) {
            for sender in ["guest-1", "odd \"sender\""] {
                let m = conv.new_message(sender, (*body).to_owned(), body_type.clone());
                let mut written = Vec::new();
                conv.write_rest_message(&m, &mut written).expect("written");
                let serialised = serde_json::to_vec(&conv.rest_message(&m)).expect("serialised");
                assert_eq!(
                    String::from_utf8_lossy(&written),
                    String::from_utf8_lossy(&serialised)
                );
            }
        }
        // Ids that need escaping take serde's path.
        let mut m = conv.new_message("guest-1", "x".into(), BodyType::Standard);
        m.id = "id\"1".into();
        let mut written = Vec::new();
        conv.write_rest_message(&m, &mut written).expect("written");
        let serialised = serde_json::to_vec(&conv.rest_message(&m)).expect("serialised");
        assert_eq!(written, serialised);
    }

    #[test]
    fn the_written_timestamp_is_the_serialised_one() {
        use chrono::{DateTime, TimeZone, Utc};
        let mut instants: Vec<DateTime<Utc>> = vec![
            Utc::now(),
            DateTime::UNIX_EPOCH,
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 6, 15, 12, 30, 5).unwrap(),
            // A leap second, and instants finer than a millisecond.
            DateTime::from_timestamp(1_483_228_799, 1_500_000_000).unwrap(),
            DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap(),
            DateTime::from_timestamp(1_700_000_000, 1_000).unwrap(),
        ];
        for ms in [0, 1, 9, 10, 99, 100, 999] {
            instants.push(DateTime::from_timestamp_millis(1_764_417_126_000 + ms).unwrap());
        }
        for s in (0..400).map(|i| i * 7_919_993) {
            instants.push(DateTime::from_timestamp(s, (s as u32 % 1000) * 1_000_000).unwrap());
        }
        for t in instants {
            let ts = Timestamp(t);
            let mut written = Vec::new();
            json_timestamp(&mut written, &ts).expect("written");
            let serialised = serde_json::to_vec(&ts).expect("serialised");
            assert_eq!(
                String::from_utf8_lossy(&written),
                String::from_utf8_lossy(&serialised),
                "{t:?}"
            );
        }
    }
}
