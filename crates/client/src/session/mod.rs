//! `GuestChat`: one guest chat as an object — create, connect, send, type, leave, and a
//! stream of high-level events with the roster resolved.
//!
//! What it does that every app otherwise hand-writes:
//! - waits for the guest's own CONNECTED before `start` returns (sending earlier fails on
//!   the real service: docs/protocol.md 7.1);
//! - resolves members (role, name) with `GET .../members/{id}`, once per member, beside the
//!   event path: an event never waits for a lookup (see [`SessionEvent::MemberUpdated`]);
//! - filters the echo of the guest's own messages and typing (configurable);
//! - suppresses duplicate member-changes whose state did not change (docs/protocol.md 7.5);
//! - expires typing indicators after 4 s, or at the sender's next message;
//! - tracks the chat state (waiting, connected, transferred, ended).
//!
//! # One task per chat, bounded queues
//!
//! A guest chat is one task: the event-stream driver (`crate::events`), generic over its
//! output, runs this module's session layer (`guest::Layer`) as that output. The driver
//! owns the socket, the member table (id, state, role, name) and the one decision whether
//! the chat is over (the guest's own member over REST, asked when the socket is lost and
//! when an agent leaves); the layer turns its items into [`SessionEvent`]s, runs the member
//! lookups (concurrently, in the same task) and expires typing indicators. A Web Messaging
//! chat is one task too (`web_messaging`).
//!
//! Both put their events in a bounded queue of [`SESSION_QUEUE`] events. When the app does
//! not take them and the queue is full, the task waits, and while it waits it does not read
//! its socket: the service's frames stay in the socket's buffers (and the service's), so
//! memory does not grow and nothing is lost. Time spent waiting does not count against the
//! liveness check, so a slow app does not cause reconnections.
//!
//! Module map: this file has the public types and the simple accessors; `guest` starts a
//! guest chat and holds its session layer; `sends` has the exactly-once sends, typing and
//! leave; `history` the history pages; `queue` the event queue; `web_messaging` and
//! `wm_options` the Web Messaging backend.

use crate::api::WebChatApi;
use crate::error::Error;
use crate::events::{CloseReason, EventStreamOptions, Roster};
use crate::model::{ChatEvent, MemberState, Role, WebChatMessage};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::DropGuard;

mod guest;
mod history;
mod queue;
mod sends;
mod web_messaging;
mod wm_options;
mod wm_start;
use crate::webmessaging::{MessageContent, SessionToken, WmError};
pub use history::{HistoryCursor, HistoryPage};
pub use queue::{QueueStats, SessionEvents, SESSION_QUEUE};
use web_messaging::Command;
pub use wm_options::{Capabilities, WebMessagingOptions};

/// Options of a [`GuestChat`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChatOptions {
    /// Options of the underlying [`EventStream`](crate::events::EventStream).
    pub stream: EventStreamOptions,
    /// Deliver the echo of the guest's own messages and typing (default false).
    pub show_own_messages: bool,
    /// How long a typing indicator lasts without a new one (default 4 s).
    pub typing_timeout: Duration,
    /// How long `start` waits for the guest's own CONNECTED (default 30 s).
    pub join_timeout: Duration,
}

impl Default for ChatOptions {
    fn default() -> Self {
        ChatOptions {
            stream: EventStreamOptions::default(),
            show_own_messages: false,
            typing_timeout: Duration::from_secs(4),
            join_timeout: Duration::from_secs(30),
        }
    }
}

impl ChatOptions {
    /// Sets the event-stream options.
    pub fn stream(mut self, stream: EventStreamOptions) -> Self {
        self.stream = stream;
        self
    }
    /// Delivers (or not) the echo of the guest's own messages and typing.
    pub fn show_own_messages(mut self, show: bool) -> Self {
        self.show_own_messages = show;
        self
    }
    /// Sets how long a typing indicator lasts.
    pub fn typing_timeout(mut self, d: Duration) -> Self {
        self.typing_timeout = d;
        self
    }
    /// Sets how long `start` waits for the guest to join.
    pub fn join_timeout(mut self, d: Duration) -> Self {
        self.join_timeout = d;
        self
    }
}

/// A member of the chat, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Member id.
    pub id: String,
    /// Display name, once resolved.
    pub display_name: Option<String>,
    /// Role (AGENT, CUSTOMER, ACD, WORKFLOW), once resolved.
    pub role: Option<Role>,
    /// Latest known state.
    pub state: Option<MemberState>,
}

impl Member {
    /// A name to show: the display name, else the role, else the id.
    pub fn label(&self) -> String {
        if let Some(name) = &self.display_name {
            return name.clone();
        }
        match &self.role {
            Some(role) => role.to_string().to_lowercase(),
            None => self.id.clone(),
        }
    }
}

/// Where the chat stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChatState {
    /// Created, waiting for an agent.
    Waiting,
    /// An agent is connected.
    Connected,
    /// The agent left while the guest stayed: a transfer (or a new agent is coming).
    Transferred,
    /// The chat is over.
    Ended,
}

impl fmt::Display for ChatState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChatState::Waiting => "waiting",
            ChatState::Connected => "connected",
            ChatState::Transferred => "transferred",
            ChatState::Ended => "ended",
        })
    }
}

/// Who ended a chat, as far as the guest can tell ([`GuestChat::ended_by`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndedBy {
    /// This guest left ([`GuestChat::leave`]).
    Guest,
    /// The agent ended it: the agent was DISCONNECTED before the guest was (docs/protocol.md 7.9).
    Agent,
    /// Anything else: the service (an inactivity timeout, a forgotten conversation, an
    /// expired JWT) or another client using this guest's JWT.
    Service,
}

impl fmt::Display for EndedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndedBy::Guest => "guest",
            EndedBy::Agent => "agent",
            EndedBy::Service => "service",
        })
    }
}

/// A high-level event of a [`GuestChat`].
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A message (standard, notice, member-join/leave, media-request).
    Message {
        /// The message as received.
        message: WebChatMessage,
        /// Who sent it (resolved).
        sender: Member,
        /// True for the echo of the guest's own message (only with `show_own_messages`).
        own: bool,
    },
    /// A message with structured content (Web Messaging: quick replies, buttons, cards,
    /// carousels, date and list pickers), the content typed as the protocol's model has it.
    /// Answer a quick reply or a button with [`GuestChat::send_quick_reply`].
    Structured {
        /// The message (its text, if any, in `body`).
        message: WebChatMessage,
        /// Who sent it.
        sender: Member,
        /// The structured content.
        content: Vec<MessageContent>,
    },
    /// A member started typing.
    TypingStarted(Member),
    /// A member's typing indicator expired or they sent a message.
    TypingStopped(Member),
    /// A member's state changed (duplicates are suppressed).
    MemberChanged {
        /// The member, with its new state.
        member: Member,
        /// The state before, if known.
        previous: Option<MemberState>,
    },
    /// A member's role and display name became known (guest chat: its lookup landed).
    ///
    /// Names are looked up beside the event path, never in front of it: an event whose
    /// member is still being looked up carries the member as known so far (`role` and
    /// `display_name` `None`), and this event follows once the lookup lands, with the member
    /// as [`GuestChat::members`] now has it. A lookup starts at a member's first appearance,
    /// usually its ALERTING or CONNECTED member change, so its messages rarely come before
    /// it. A lookup that fails is a [`Warning`](Self::Warning); the member's next event
    /// tries again.
    MemberUpdated(Member),
    /// The chat state changed.
    StateChanged(ChatState),
    /// The event stream reconnected: `missed` messages were recovered from history.
    Reconnecting {
        /// Attempt number.
        attempt: u32,
    },
    /// After a reconnection, history was resynced.
    Resynced {
        /// Messages recovered.
        missed: usize,
    },
    /// A problem that did not end the chat (an undecodable frame, a failed lookup).
    Warning(Error),
    /// Any other event of the stream (heartbeats are not forwarded).
    Other(ChatEvent),
    /// The chat is over; nothing follows.
    Ended(CloseReason),
}

/// The chat's state besides its members (those are in the [`Roster`]).
#[derive(Debug)]
struct Shared {
    state: ChatState,
    /// Set before the guest's DELETE is sent (its events can beat its answer).
    guest_leaving: bool,
    ended_by: Option<EndedBy>,
}

struct Inner {
    api: WebChatApi,
    conversation_id: String,
    member_id: String,
    shared: Mutex<Shared>,
    /// The chat's member table (the driver's, for a guest chat).
    roster: Roster,
    events: Mutex<Option<queue::Receiver>>,
    /// The event queue's fill, for tests ([`GuestChat::queue_stats`]).
    stats: tokio::sync::watch::Receiver<QueueStats>,
    /// Serialises sends and remembers the messages they accounted for (exactly-once sends).
    sends: tokio::sync::Mutex<sends::SendLog>,
    _guard: DropGuard,
}

/// One guest chat: created, connected and followed.
///
/// Cheap to clone; the chat's task stops when the last clone is dropped.
///
/// ```no_run
/// # async fn demo() -> Result<(), purecloud_guest_chat_client::Error> {
/// use futures::StreamExt;
/// use purecloud_guest_chat_client::{ApiClient, CreateWebChatConversationRequest};
/// use purecloud_guest_chat_client::session::{GuestChat, SessionEvent};
///
/// let client = ApiClient::builder().environment("http://127.0.0.1:8080").build()?;
/// let request = CreateWebChatConversationRequest::new("org", "deployment", "Support", "Ada");
/// let chat = GuestChat::start(&client, &request).await?;
/// let mut events = chat.events();
/// chat.send("Hello!").await?;
/// while let Some(event) = events.next().await {
///     if let SessionEvent::Message { message, sender, .. } = event {
///         println!("{}: {}", sender.label(), message.body.unwrap_or_default());
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GuestChat {
    inner: Arc<Inner>,
    /// `Some` for a Web Messaging chat: its socket task's handle. `None`: guest chat.
    wm: Option<Arc<WmHandle>>,
}

/// The handle of a Web Messaging chat's socket task.
struct WmHandle {
    commands: mpsc::Sender<Command>,
    token: SessionToken,
    capabilities: Capabilities,
    endpoint: crate::webmessaging::Endpoint,
    http: reqwest::Client,
    new_session: Option<bool>,
}

impl WmHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(tokio::sync::oneshot::Sender<Result<T, WmError>>) -> Command,
    ) -> Result<T, Error> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| Error::WebMessaging(WmError::Ended))?;
        rx.await
            .map_err(|_| Error::WebMessaging(WmError::Ended))?
            .map_err(Error::WebMessaging)
    }
}

/// Which protocol a [`GuestChat`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Guest chat (REST and the notification stream), [`GuestChat::start`].
    GuestChat,
    /// Web Messaging (one WebSocket), [`GuestChat::start_web_messaging`].
    WebMessaging,
}

impl fmt::Debug for GuestChat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestChat")
            .field("conversation_id", &self.inner.conversation_id)
            .field("member_id", &self.inner.member_id)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl GuestChat {
    /// Which protocol this chat speaks.
    pub fn backend(&self) -> Backend {
        if self.wm.is_some() {
            Backend::WebMessaging
        } else {
            Backend::GuestChat
        }
    }

    /// What this chat allows (Web Messaging: from the deployment's configuration).
    pub fn capabilities(&self) -> Capabilities {
        match &self.wm {
            Some(wm) => wm.capabilities,
            None => Capabilities::GUEST_CHAT,
        }
    }

    /// The handle to resume this conversation later (Web Messaging: the session token, a
    /// secret: persist it as one). `None` for guest chat, which cannot be resumed.
    pub fn resume_token(&self) -> Option<SessionToken> {
        self.wm.as_ref().map(|wm| wm.token.clone())
    }

    /// Web Messaging: whether `configureSession` started a new conversation (`Some(true)`) or
    /// resumed the token's (`Some(false)`). `None` for guest chat.
    pub fn new_session(&self) -> Option<bool> {
        self.wm.as_ref().and_then(|wm| wm.new_session)
    }

    /// The conversation id; empty for Web Messaging, which never tells the guest its
    /// conversation id (see [`known_conversation_id`](Self::known_conversation_id)).
    pub fn conversation_id(&self) -> &str {
        &self.inner.conversation_id
    }

    /// The conversation id when the protocol gives the guest one: `Some` for guest chat,
    /// `None` for Web Messaging.
    ///
    /// No Web Messaging frame carries a conversation id (the schema has no such field in any
    /// response, message or event), and the history JWT is an opaque bearer whose claims the
    /// service does not document. What identifies a Web Messaging conversation to the guest
    /// is its session token ([`resume_token`](Self::resume_token)), a secret.
    pub fn known_conversation_id(&self) -> Option<&str> {
        Some(self.inner.conversation_id.as_str()).filter(|_| self.wm.is_none())
    }

    /// The guest's own member id.
    pub fn member_id(&self) -> &str {
        &self.inner.member_id
    }

    /// The REST API bound to this chat's JWT.
    pub fn api(&self) -> &WebChatApi {
        &self.inner.api
    }

    /// Who ended the chat, once it has ended (`None` before).
    pub fn ended_by(&self) -> Option<EndedBy> {
        lock(&self.inner.shared).ended_by
    }

    /// The chat's events. The first call takes them; later calls get an empty stream.
    ///
    /// Events are queued from the start, so none is lost before this call or while the app is
    /// busy. The queue holds [`SESSION_QUEUE`] events: when it is full the chat stops reading
    /// its socket until the app takes one (nothing is lost, memory does not grow), and
    /// [`state`](Self::state), [`members`](Self::members) and the like stop moving too. An
    /// app that does not want the events should still drain them.
    pub fn events(&self) -> SessionEvents {
        let rx = self
            .inner
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        SessionEvents::new(rx)
    }

    /// The members seen so far (in member changes), with roles and names once looked up,
    /// and latest states.
    pub fn members(&self) -> Vec<Member> {
        self.inner.roster.members()
    }

    /// The agent currently connected or being offered the chat, if any (once its role is
    /// known).
    pub fn agent(&self) -> Option<Member> {
        self.inner.roster.members().into_iter().rev().find(|m| {
            m.role == Some(Role::Agent)
                && matches!(
                    m.state,
                    Some(MemberState::Connected | MemberState::Alerting)
                )
        })
    }

    /// Where the chat stands.
    pub fn state(&self) -> ChatState {
        lock(&self.inner.shared).state
    }

    /// How full the event queue is and has been (for tests of backpressure).
    #[doc(hidden)]
    pub fn queue_stats(&self) -> tokio::sync::watch::Receiver<QueueStats> {
        self.inner.stats.clone()
    }
}

fn own_message(echo: &crate::webmessaging::StructuredMessage) -> WebChatMessage {
    wm_start::as_webchat_message(echo, &wm_start::guest_member(None))
}

fn wm_sender(m: &crate::webmessaging::StructuredMessage) -> Member {
    Member {
        state: None,
        ..wm_start::agent_member(m)
    }
}

/// Who ended the chat, judged when it ends: the guest if it asked to leave, the agent if an
/// agent had already left (the agent-end sequence disconnects the agent first), else the
/// service.
fn ended_by(shared: &Shared, members: &[Member]) -> EndedBy {
    if shared.guest_leaving {
        return EndedBy::Guest;
    }
    let mut agents = members
        .iter()
        .filter(|m| m.role == Some(Role::Agent))
        .peekable();
    let agent_seen = agents.peek().is_some();
    let all_gone = agents.all(|m| m.state == Some(MemberState::Disconnected));
    if agent_seen && all_gone {
        EndedBy::Agent
    } else {
        EndedBy::Service
    }
}
