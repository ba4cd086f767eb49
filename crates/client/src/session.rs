//! `GuestChat`: one guest chat as an object — create, connect, send, type, leave, and a
//! stream of high-level events with the roster resolved.
//!
//! What it does that every app otherwise hand-writes:
//! - waits for the guest's own CONNECTED before `start` returns (sending earlier fails on
//!   the real service: docs/protocol.md 7.1);
//! - resolves members (role, name) with `GET .../members/{id}`, once per member;
//! - filters the echo of the guest's own messages and typing (configurable);
//! - suppresses duplicate member-changes whose state did not change (docs/protocol.md 7.5);
//! - expires typing indicators after 4 s, or at the sender's next message;
//! - tracks the chat state (waiting, connected, transferred, ended).

use crate::api::{GetMessagesOptions, WebChatApi};
use crate::client::ApiClient;
use crate::error::Error;
use crate::events::{CloseReason, EventStream, EventStreamOptions, StreamEvent};
use crate::model::{
    BodyType, ChatEvent, CreateWebChatConversationRequest, CreateWebChatMessageRequest,
    MemberState, Role, SortOrder, WebChatMessage, WebChatTyping,
};
use crate::rt::{sleep_until, Instant};
use futures::StreamExt;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::{CancellationToken, DropGuard};

mod web_messaging;
use crate::webmessaging::{IncomingNormalizedMessage, MessageContent, SessionToken, WmError};
use web_messaging::Command;
pub use web_messaging::{Capabilities, WebMessagingOptions};

/// Options of a [`GuestChat`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChatOptions {
    /// Options of the underlying [`EventStream`].
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

#[derive(Debug)]
struct Shared {
    state: ChatState,
    members: Vec<Member>,
    /// Set before the guest's DELETE is sent (its events can beat its answer).
    guest_leaving: bool,
    ended_by: Option<EndedBy>,
}

impl Shared {
    fn member_mut(&mut self, id: &str) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == id)
    }
}

/// The events of a [`GuestChat`], as a `futures::Stream`.
pub struct SessionEvents {
    rx: Option<mpsc::UnboundedReceiver<Box<SessionEvent>>>,
}

impl fmt::Debug for SessionEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionEvents")
            .field("taken", &self.rx.is_none())
            .finish()
    }
}

impl futures::Stream for SessionEvents {
    type Item = SessionEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        match self.rx.as_mut() {
            Some(rx) => rx.poll_recv(cx).map(|e| e.map(|e| *e)),
            None => Poll::Ready(None),
        }
    }
}

struct Inner {
    api: WebChatApi,
    conversation_id: String,
    member_id: String,
    shared: Mutex<Shared>,
    events: Mutex<Option<mpsc::UnboundedReceiver<Box<SessionEvent>>>>,
    /// Serialises sends and remembers the messages they accounted for (exactly-once sends).
    sends: tokio::sync::Mutex<SendLog>,
    _guard: DropGuard,
}

/// How far before an attempt's start a stored message's timestamp may lie and still be taken
/// for that attempt's message: room for the service's clock being behind this machine's.
const CLOCK_SKEW_ALLOWANCE: Duration = Duration::from_secs(120);
/// History pages (100 messages each, newest first) a send looks through for its message.
const HISTORY_PAGES: usize = 5;
const HISTORY_PAGE_SIZE: i32 = 100;
/// How many ids of sent messages a chat remembers (so that one is never claimed twice).
const CLAIMED_KEPT: usize = 4096;

/// The ids of messages sends have already accounted for, the oldest forgotten first.
#[derive(Default)]
struct SendLog {
    claimed: HashSet<String>,
    order: VecDeque<String>,
}

impl SendLog {
    fn claim(&mut self, message: &WebChatMessage) {
        let Some(id) = message.id.clone() else {
            return;
        };
        if self.claimed.insert(id.clone()) {
            self.order.push_back(id);
            while self.order.len() > CLAIMED_KEPT {
                if let Some(old) = self.order.pop_front() {
                    self.claimed.remove(&old);
                }
            }
        }
    }

    fn is_claimed(&self, id: &str) -> bool {
        self.claimed.contains(id)
    }
}

/// What the history says about a message whose POST failed ambiguously.
enum Lookup {
    Found(Box<WebChatMessage>),
    /// Not there: every message since the attempt began was seen.
    Absent,
    /// Could not tell (the history could not be read, or is longer than the pages looked at).
    Unknown(String),
}

/// True when a failed POST may nevertheless have been processed.
fn ambiguous(error: &Error) -> bool {
    match error {
        Error::Timeout(_) | Error::Transport(_) => true,
        Error::Api(e) => e.status >= 500 || e.status == 408,
        _ => false,
    }
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

/// Where a page of [`GuestChat::history`] starts; opaque: take it from [`HistoryPage::next`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryCursor(CursorKind);

#[derive(Debug, Clone, PartialEq, Eq)]
enum CursorKind {
    /// Guest chat: messages before this message id.
    Before(String),
    /// Web Messaging: this REST history page.
    Page(u32),
}

/// One page of history, newest first.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HistoryPage {
    /// The messages, newest first.
    pub messages: Vec<WebChatMessage>,
    /// The cursor of the next (older) page; `None` at the start of the conversation.
    pub next: Option<HistoryCursor>,
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
    /// Creates the chat, opens its event stream and waits until the guest is CONNECTED.
    pub async fn start(
        client: &ApiClient,
        request: &CreateWebChatConversationRequest,
    ) -> Result<GuestChat, Error> {
        GuestChat::start_with(client, request, ChatOptions::default()).await
    }

    /// As [`GuestChat::start`], with options.
    pub async fn start_with(
        client: &ApiClient,
        request: &CreateWebChatConversationRequest,
        options: ChatOptions,
    ) -> Result<GuestChat, Error> {
        let created = WebChatApi::new(client)
            .post_webchat_guest_conversations(request)
            .await?;
        let stream = EventStream::with_options(client, &created, options.stream.clone())?;
        let jwt = created.jwt.clone().unwrap_or_default();
        let api = WebChatApi::new(&client.with_jwt(jwt));
        let conversation_id = created.id.clone().unwrap_or_default();
        let member_id = created
            .member
            .as_ref()
            .and_then(|m| m.id.clone())
            .unwrap_or_default();

        let cancel = CancellationToken::new();
        let (tx, rx) = mpsc::unbounded_channel();
        let (joined_tx, mut joined_rx) = watch::channel(false);
        let inner = Arc::new(Inner {
            api: api.clone(),
            conversation_id: conversation_id.clone(),
            member_id: member_id.clone(),
            shared: Mutex::new(Shared {
                state: ChatState::Waiting,
                members: Vec::new(),
                guest_leaving: false,
                ended_by: None,
            }),
            events: Mutex::new(Some(rx)),
            sends: tokio::sync::Mutex::new(SendLog::default()),
            _guard: cancel.clone().drop_guard(),
        });
        let task = SessionTask {
            inner: Arc::downgrade(&inner),
            api,
            conversation_id,
            member_id,
            options: options.clone(),
            tx,
            joined: joined_tx,
            typing: HashMap::new(),
            cache: HashMap::new(),
        };
        crate::rt::spawn(task.run(stream, cancel));

        let wait = async {
            loop {
                if *joined_rx.borrow_and_update() {
                    return Ok(());
                }
                if joined_rx.changed().await.is_err() {
                    return Err(Error::EventStream(
                        crate::error::EventStreamError::EndedBeforeJoin,
                    ));
                }
            }
        };
        match crate::rt::timeout(options.join_timeout, wait).await {
            Ok(Ok(())) => Ok(GuestChat { inner, wm: None }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::EventStream(
                crate::error::EventStreamError::JoinTimeout {
                    after: options.join_timeout,
                },
            )),
        }
    }

    /// Starts (or, with a stored token, resumes) a Web Messaging conversation: reads the
    /// deployment's configuration into [`Capabilities`], opens the socket and sends
    /// `configureSession`. Then the same calls as a guest chat: [`send`](Self::send),
    /// [`typing`](Self::typing), [`history`](Self::history), [`leave`](Self::leave),
    /// [`events`](Self::events), and [`resume_token`](Self::resume_token) to persist.
    ///
    /// A refused upgrade (bad origin or deployment) is
    /// [`WmError::UpgradeRefused`].
    pub async fn start_web_messaging(options: WebMessagingOptions) -> Result<GuestChat, Error> {
        let builder = reqwest::Client::builder();
        // In a browser, fetch has no client-wide timeout.
        #[cfg(not(target_arch = "wasm32"))]
        let builder = builder.timeout(options.answer_timeout);
        let http = builder.build().map_err(|e| {
            Error::Transport(crate::error::TransportError::with_source(e.to_string(), e))
        })?;
        let capabilities =
            web_messaging::read_capabilities(&http, &options.endpoint, &options.deployment_id)
                .await?;
        let token = options.token.clone().unwrap_or_else(SessionToken::generate);
        let (client, new_session) = web_messaging::open(&options, &token).await?;
        // The REST client of the API host; guest-chat routes do not apply to this chat.
        let api_client = ApiClient::builder()
            .environment(options.endpoint.api_base())
            .build()?;
        let cancel = CancellationToken::new();
        let (tx, rx) = mpsc::unbounded_channel();
        let (commands_tx, commands_rx) = mpsc::channel(16);
        let inner = Arc::new(Inner {
            api: WebChatApi::new(&api_client),
            conversation_id: String::new(),
            member_id: web_messaging::GUEST_ID.to_owned(),
            shared: Mutex::new(Shared {
                state: ChatState::Waiting,
                members: vec![web_messaging::guest_member(options.guest_name.clone())],
                guest_leaving: false,
                ended_by: None,
            }),
            events: Mutex::new(Some(rx)),
            sends: tokio::sync::Mutex::new(SendLog::default()),
            _guard: cancel.clone().drop_guard(),
        });
        let task = web_messaging::SocketTask {
            inner: Arc::downgrade(&inner),
            options: options.clone(),
            token: token.clone(),
            http: http.clone(),
            tx,
            commands: commands_rx,
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            next_send: crate::rt::Instant::now(),
            last_typing: None,
            jwt: None,
            attributes_sent: false,
        };
        crate::rt::spawn(task.run(client, cancel));
        Ok(GuestChat {
            inner,
            wm: Some(Arc::new(WmHandle {
                commands: commands_tx,
                token,
                capabilities,
                endpoint: options.endpoint,
                http,
                new_session,
            })),
        })
    }

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

    /// Answers a quick reply or a button (Web Messaging only); returns the stored message.
    pub async fn send_quick_reply(
        &self,
        text: &str,
        payload: &str,
    ) -> Result<WebChatMessage, Error> {
        let Some(wm) = &self.wm else {
            return Err(Error::InvalidArgument {
                name: "payload",
                reason: "quick replies exist only in Web Messaging".into(),
            });
        };
        let message = Box::new(IncomingNormalizedMessage::quick_reply_response(
            text, payload,
        ));
        let echo = wm.ask(|r| Command::Send(message, r)).await?;
        Ok(own_message(&echo))
    }

    /// One page of the conversation's history, newest first; `None` for the newest page,
    /// then the previous page's [`HistoryPage::next`].
    pub async fn history(&self, cursor: Option<&HistoryCursor>) -> Result<HistoryPage, Error> {
        match &self.wm {
            Some(wm) => {
                let page = match cursor {
                    None => 1,
                    Some(HistoryCursor(CursorKind::Page(n))) => *n,
                    Some(_) => {
                        return Err(Error::InvalidArgument {
                            name: "cursor",
                            reason: "a guest-chat cursor given to a Web Messaging chat".into(),
                        })
                    }
                };
                let jwt = wm.ask(Command::Jwt).await?;
                let size = web_messaging::HISTORY_PAGE_SIZE;
                let (entities, total) =
                    web_messaging::fetch_page(&wm.http, &wm.endpoint, &jwt, page, size).await?;
                let messages = entities
                    .iter()
                    .filter(|m| m.kind != crate::webmessaging::NormalizedType::Event)
                    .map(|m| {
                        if m.direction == Some(crate::webmessaging::Direction::Inbound) {
                            own_message(m)
                        } else {
                            web_messaging::as_webchat_message(m, &wm_sender(m))
                        }
                    })
                    .collect();
                let more = u64::from(page) * u64::from(size) < total;
                Ok(HistoryPage {
                    messages,
                    next: more.then_some(HistoryCursor(CursorKind::Page(page + 1))),
                })
            }
            None => {
                let mut options = GetMessagesOptions::new()
                    .sort_order(SortOrder::Descending)
                    .max_results(HISTORY_PAGE_SIZE);
                match cursor {
                    None => {}
                    Some(HistoryCursor(CursorKind::Before(id))) => options = options.before(id),
                    Some(_) => {
                        return Err(Error::InvalidArgument {
                            name: "cursor",
                            reason: "a Web Messaging cursor given to a guest chat".into(),
                        })
                    }
                }
                let list = self
                    .inner
                    .api
                    .get_webchat_guest_conversation_messages(&self.inner.conversation_id, &options)
                    .await?;
                let messages = list.entities.unwrap_or_default();
                let full = messages.len() >= usize::try_from(HISTORY_PAGE_SIZE).unwrap_or(100);
                let next = messages
                    .last()
                    .and_then(|m| m.id.clone())
                    .filter(|_| full)
                    .map(|id| HistoryCursor(CursorKind::Before(id)));
                Ok(HistoryPage { messages, next })
            }
        }
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

    /// Sends a standard message, exactly once.
    ///
    /// The service's message POST is at most once: when its answer is lost (a timeout, a 5xx,
    /// a connection broken after the request was written, a 2xx whose body is not JSON) the
    /// message may or may not have been stored. `send` settles that before doing anything
    /// else: it waits a back-off delay, then looks for the message in the conversation's
    /// history (newest first: sent by this guest's member, same text and type, timestamped
    /// after the attempt began, and not already returned by an earlier send of this chat).
    /// Found, it is returned as if the POST had answered; absent, the POST is made again, at
    /// most [`RetryPolicy::max_retries`](crate::RetryPolicy) more times (the client's policy;
    /// its back-off delays too).
    ///
    /// Sends of one chat are serialised (one at a time, in call order), so two identical
    /// texts sent at once are two messages, in order.
    ///
    /// Results:
    /// - `Ok(message)`: stored once (the POST's answer, or the stored message found in the
    ///   history);
    /// - the last POST's error (e.g. a 503): checked, and not stored;
    /// - [`Error::DeliveryUnknown`]: the history could not settle it (it could not be read,
    ///   or more than 500 messages arrived since the attempt began); the message may have
    ///   been stored, and sending it again may duplicate it;
    /// - any other error (4xx, a local refusal): refused, nothing stored.
    ///
    /// Limits: the history is assumed to show a stored message at once (it does on the
    /// emulator); a POST still being processed by the service when the check runs (one that
    /// timed out here but lands later) is taken for absent and may end up twice. The same
    /// text sent by another client with this chat's JWT within the attempt's window (plus a
    /// 2-minute allowance for clock skew) can be taken for this one.
    pub async fn send(&self, text: &str) -> Result<WebChatMessage, Error> {
        if let Some(wm) = &self.wm {
            let message = Box::new(IncomingNormalizedMessage::text(text));
            let echo = wm.ask(|r| Command::Send(message, r)).await?;
            return Ok(own_message(&echo));
        }
        self.post(CreateWebChatMessageRequest::new(text)).await
    }

    /// Sends a notice message, exactly once (as [`GuestChat::send`]).
    pub async fn send_notice(&self, text: &str) -> Result<WebChatMessage, Error> {
        if self.wm.is_some() {
            return self.send(text).await;
        }
        self.post(CreateWebChatMessageRequest::notice(text)).await
    }

    async fn post(&self, body: CreateWebChatMessageRequest) -> Result<WebChatMessage, Error> {
        let mut log = self.inner.sends.lock().await;
        let policy = self.inner.api.client().retry_policy();
        let began = chrono::Utc::now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let result = self
                .inner
                .api
                .post_webchat_guest_conversation_member_messages(
                    &self.inner.conversation_id,
                    &self.inner.member_id,
                    &body,
                )
                .await;
            let error = match result {
                Ok(message) => {
                    log.claim(&message);
                    return Ok(message);
                }
                Err(e) => e,
            };
            // A 2xx whose body could not be read: stored for sure, only its answer is lost.
            let stored =
                matches!(&error, Error::Decode { status, .. } if (200..300).contains(status));
            if !stored && !ambiguous(&error) {
                return Err(error);
            }
            let wait = error
                .retry_after()
                .filter(|w| *w <= policy.max_retry_after)
                .unwrap_or_else(|| policy.backoff(attempts - 1));
            tracing::debug!(
                attempts,
                error = %error,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "message send failed ambiguously: looking for it in the history"
            );
            crate::rt::sleep(wait).await;
            match self.find_sent(&body, began, &log).await {
                Lookup::Found(message) => {
                    log.claim(&message);
                    return Ok(*message);
                }
                Lookup::Absent if stored => {
                    return Err(Error::DeliveryUnknown {
                        attempts,
                        why: "the service answered 2xx but the message is not in the history"
                            .into(),
                        last: Box::new(error),
                    })
                }
                Lookup::Absent if attempts > policy.max_retries => return Err(error),
                Lookup::Absent => {}
                Lookup::Unknown(why) => {
                    return Err(Error::DeliveryUnknown {
                        attempts,
                        why,
                        last: Box::new(error),
                    })
                }
            }
        }
    }

    /// One page of history. The REST layer retries a GET's 5xx and 429 itself; a 2xx whose
    /// body is not JSON (a proxy's error page) is retried here too, within the client's retry
    /// policy, as reading again cannot change anything.
    async fn history_page(
        &self,
        options: &GetMessagesOptions,
    ) -> Result<crate::model::WebChatMessageEntityList, Error> {
        let policy = self.inner.api.client().retry_policy();
        let mut attempt = 0u32;
        loop {
            let result = self
                .inner
                .api
                .get_webchat_guest_conversation_messages(&self.inner.conversation_id, options)
                .await;
            match result {
                Err(Error::Decode { status, .. })
                    if (200..300).contains(&status) && attempt < policy.max_retries =>
                {
                    crate::rt::sleep(policy.backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Looks for the message `body` sent by this guest since `began` in the history.
    async fn find_sent(
        &self,
        body: &CreateWebChatMessageRequest,
        began: chrono::DateTime<chrono::Utc>,
        log: &SendLog,
    ) -> Lookup {
        let since = began
            - chrono::Duration::from_std(CLOCK_SKEW_ALLOWANCE).unwrap_or(chrono::Duration::zero());
        let wanted_type = body.body_type.clone().unwrap_or(BodyType::Standard);
        let mut before: Option<String> = None;
        // Newest first: the last match seen is the oldest, i.e. the earliest attempt's.
        let mut found: Option<WebChatMessage> = None;
        for _ in 0..HISTORY_PAGES {
            let options = GetMessagesOptions {
                before: before.clone(),
                sort_order: Some(SortOrder::Descending),
                max_results: Some(HISTORY_PAGE_SIZE),
                ..Default::default()
            };
            let page = match self.history_page(&options).await {
                Ok(page) => page.entities.unwrap_or_default(),
                Err(e) => return Lookup::Unknown(format!("the history could not be read: {e}")),
            };
            let full = page.len() >= usize::try_from(HISTORY_PAGE_SIZE).unwrap_or(usize::MAX);
            for message in &page {
                if message.timestamp.as_ref().is_some_and(|t| t.0 < since) {
                    return found.map_or(Lookup::Absent, |m| Lookup::Found(Box::new(m)));
                }
                let Some(id) = message.id.as_deref() else {
                    continue;
                };
                let sender = message.sender.as_ref().and_then(|s| s.id.as_deref());
                if sender == Some(self.inner.member_id.as_str())
                    && message.body == body.body
                    && message.body_type.clone().unwrap_or(BodyType::Standard) == wanted_type
                    && !log.is_claimed(id)
                {
                    found = Some(message.clone());
                }
            }
            if !full {
                return found.map_or(Lookup::Absent, |m| Lookup::Found(Box::new(m)));
            }
            match page.last().and_then(|m| m.id.clone()) {
                Some(id) => before = Some(id),
                None => break,
            }
        }
        match found {
            Some(m) => Lookup::Found(Box::new(m)),
            None => Lookup::Unknown(format!(
                "more than {} messages arrived since the attempt began",
                HISTORY_PAGES * usize::try_from(HISTORY_PAGE_SIZE).unwrap_or(0)
            )),
        }
    }

    /// Sends a typing indicator (one-shot; send at most one every few seconds).
    ///
    /// Web Messaging: refused with [`WmError::NotAllowed`] where the deployment does not show
    /// the guest's typing; at most one is sent every 5 s (the others return at once).
    pub async fn typing(&self) -> Result<WebChatTyping, Error> {
        if let Some(wm) = &self.wm {
            if !wm.capabilities.typing {
                return Err(WmError::NotAllowed("typing indicators").into());
            }
            wm.ask(Command::Typing).await?;
            return Ok(WebChatTyping::default());
        }
        self.inner
            .api
            .post_webchat_guest_conversation_member_typing(
                &self.inner.conversation_id,
                &self.inner.member_id,
            )
            .await
    }

    /// Leaves the chat (the guest ends it). The event stream then ends.
    ///
    /// Web Messaging: Presence `Clear`, where the deployment allows it (else
    /// [`WmError::NotAllowed`]; the conversation then lives on until the agent ends it).
    pub async fn leave(&self) -> Result<(), Error> {
        if let Some(wm) = &self.wm {
            if !wm.capabilities.end_conversation {
                return Err(
                    WmError::NotAllowed("ending the conversation (conversationClear)").into(),
                );
            }
            lock(&self.inner.shared).guest_leaving = true;
            return wm.ask(Command::Clear).await;
        }
        lock(&self.inner.shared).guest_leaving = true;
        let result = self
            .inner
            .api
            .delete_webchat_guest_conversation_member(
                &self.inner.conversation_id,
                &self.inner.member_id,
            )
            .await;
        if result.is_err() {
            let mut shared = lock(&self.inner.shared);
            if shared.ended_by.is_none() {
                shared.guest_leaving = false;
            }
        }
        result
    }

    /// Who ended the chat, once it has ended (`None` before).
    pub fn ended_by(&self) -> Option<EndedBy> {
        lock(&self.inner.shared).ended_by
    }

    /// The chat's events. The first call takes them; later calls get an empty stream.
    ///
    /// Events are queued from the start, so none is lost before this call or while the app is
    /// busy; an app that never takes them keeps them in memory until the chat is dropped.
    pub fn events(&self) -> SessionEvents {
        let rx = self
            .inner
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        SessionEvents { rx }
    }

    /// The members seen so far, with roles and latest states.
    pub fn members(&self) -> Vec<Member> {
        lock(&self.inner.shared).members.clone()
    }

    /// The agent currently connected or being offered the chat, if any.
    pub fn agent(&self) -> Option<Member> {
        lock(&self.inner.shared)
            .members
            .iter()
            .rev()
            .find(|m| {
                m.role == Some(Role::Agent)
                    && matches!(
                        m.state,
                        Some(MemberState::Connected | MemberState::Alerting)
                    )
            })
            .cloned()
    }

    /// Where the chat stands.
    pub fn state(&self) -> ChatState {
        lock(&self.inner.shared).state
    }
}

fn own_message(echo: &crate::webmessaging::StructuredMessage) -> WebChatMessage {
    web_messaging::as_webchat_message(echo, &web_messaging::guest_member(None))
}

fn wm_sender(m: &crate::webmessaging::StructuredMessage) -> Member {
    Member {
        state: None,
        ..web_messaging::agent_member(m)
    }
}

/// Who ended the chat, judged when it ends: the guest if it asked to leave, the agent if an
/// agent had already left (the agent-end sequence disconnects the agent first), else the
/// service.
fn ended_by(shared: &Shared) -> EndedBy {
    if shared.guest_leaving {
        return EndedBy::Guest;
    }
    let mut agents = shared
        .members
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

/// The task that turns raw stream items into session events.
struct SessionTask {
    inner: std::sync::Weak<Inner>,
    api: WebChatApi,
    conversation_id: String,
    member_id: String,
    options: ChatOptions,
    // Boxed: the channel allocates 32 slots at once, and an unboxed `SessionEvent` is
    // several hundred bytes (issue 14, memory per open chat).
    tx: mpsc::UnboundedSender<Box<SessionEvent>>,
    joined: watch::Sender<bool>,
    /// Member id -> when its typing indicator expires.
    typing: HashMap<String, Instant>,
    /// Resolved members (role, name), fetched once each.
    cache: HashMap<String, Member>,
}

impl SessionTask {
    async fn run(mut self, mut stream: EventStream, cancel: CancellationToken) {
        loop {
            let next_expiry = self.typing.values().min().copied();
            let item = tokio::select! {
                _ = cancel.cancelled() => return,
                _ = async {
                    match next_expiry {
                        Some(at) => sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => {
                    Box::pin(self.expire_typing()).await;
                    continue;
                }
                item = stream.next() => item,
            };
            let Some(item) = item else { return };
            // Boxed: handling may fetch a member over REST, a large future that would
            // otherwise live in every open chat's task state (issue 14).
            if !Box::pin(self.handle(item)).await {
                return;
            }
        }
    }

    fn send(&self, event: SessionEvent) {
        let _ = self.tx.send(Box::new(event));
    }

    async fn expire_typing(&mut self) {
        let now = Instant::now();
        let expired: Vec<String> = self
            .typing
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.typing.remove(&id);
            let member = self.member(&id).await;
            self.send(SessionEvent::TypingStopped(member));
        }
    }

    /// The member with this id, resolved over REST once.
    async fn member(&mut self, id: &str) -> Member {
        if let Some(m) = self.cache.get(id) {
            let mut m = m.clone();
            m.state = self.known_state(id).or(m.state);
            return m;
        }
        let member = match self
            .api
            .get_webchat_guest_conversation_member(self.conversation_id(), id)
            .await
        {
            Ok(info) => {
                let member = Member {
                    id: id.to_owned(),
                    display_name: info.display_name,
                    role: info.role,
                    state: info.state,
                };
                self.cache.insert(id.to_owned(), member.clone());
                member
            }
            Err(e) => {
                // Not cached: the next event from this member tries again.
                self.send(SessionEvent::Warning(e));
                Member {
                    id: id.to_owned(),
                    display_name: None,
                    role: None,
                    state: None,
                }
            }
        };
        let mut m = member;
        m.state = self.known_state(id).or(m.state);
        m
    }

    fn conversation_id(&self) -> &str {
        &self.conversation_id
    }

    fn known_state(&self, id: &str) -> Option<MemberState> {
        let inner = self.inner.upgrade()?;
        let shared = lock(&inner.shared);
        shared
            .members
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| m.state.clone())
    }

    fn set_state(&self, state: ChatState) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let changed = {
            let mut shared = lock(&inner.shared);
            let changed = shared.state != state && shared.state != ChatState::Ended;
            if changed {
                shared.state = state;
                if state == ChatState::Ended && shared.ended_by.is_none() {
                    shared.ended_by = Some(ended_by(&shared));
                }
            }
            changed
        };
        if changed {
            self.send(SessionEvent::StateChanged(state));
        }
    }

    /// Handles one stream item; false when the chat is over.
    async fn handle(&mut self, item: Result<StreamEvent, Error>) -> bool {
        let event = match item {
            Err(e) => {
                self.send(SessionEvent::Warning(e));
                return true;
            }
            Ok(StreamEvent::Chat(event)) => event,
            Ok(StreamEvent::Connected) => return true,
            Ok(StreamEvent::Reconnecting { attempt, .. }) => {
                self.send(SessionEvent::Reconnecting { attempt });
                return true;
            }
            Ok(StreamEvent::Resynced { missed }) => {
                self.send(SessionEvent::Resynced { missed });
                return true;
            }
            Ok(StreamEvent::Closed { reason }) => {
                self.set_state(ChatState::Ended);
                self.send(SessionEvent::Ended(reason));
                return false;
            }
        };
        match event {
            ChatEvent::Message(message) => self.on_message(message).await,
            ChatEvent::TypingIndicator(typing) => self.on_typing(typing).await,
            ChatEvent::MemberChange {
                member_id, state, ..
            } => self.on_member_change(member_id, state).await,
            ChatEvent::Heartbeat | ChatEvent::Pong => {}
            other => self.send(SessionEvent::Other(other)),
        }
        true
    }

    async fn on_message(&mut self, message: WebChatMessage) {
        let sender_id = message
            .sender
            .as_ref()
            .and_then(|s| s.id.clone())
            .unwrap_or_default();
        let own = sender_id == self.member_id;
        if own && !self.options.show_own_messages {
            return;
        }
        if self.typing.remove(&sender_id).is_some() {
            let member = self.member(&sender_id).await;
            self.send(SessionEvent::TypingStopped(member));
        }
        let sender = self.member(&sender_id).await;
        self.send(SessionEvent::Message {
            message,
            sender,
            own,
        });
    }

    async fn on_typing(&mut self, typing: WebChatTyping) {
        let sender_id = typing
            .sender
            .as_ref()
            .and_then(|s| s.id.clone())
            .unwrap_or_default();
        if sender_id == self.member_id && !self.options.show_own_messages {
            return;
        }
        let until = Instant::now() + self.options.typing_timeout.min(crate::LONGEST_WAIT);
        if self.typing.insert(sender_id.clone(), until).is_none() {
            let member = self.member(&sender_id).await;
            self.send(SessionEvent::TypingStarted(member));
        }
    }

    async fn on_member_change(&mut self, member_id: String, state: MemberState) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let previous = self.known_state(&member_id);
        if previous.as_ref() == Some(&state) {
            return; // a duplicate (agents switching focus re-send CONNECTED)
        }
        let mut member = self.member(&member_id).await;
        member.state = Some(state.clone());
        {
            let mut shared = lock(&inner.shared);
            match shared.member_mut(&member_id) {
                Some(m) => *m = member.clone(),
                None => shared.members.push(member.clone()),
            }
        }
        let is_own = member_id == self.member_id;
        if is_own && state == MemberState::Connected {
            let _ = self.joined.send(true);
        }
        self.send(SessionEvent::MemberChanged {
            member: member.clone(),
            previous,
        });
        if is_own && state == MemberState::Disconnected {
            self.set_state(ChatState::Ended);
            return;
        }
        if member.role == Some(Role::Agent) {
            match state {
                MemberState::Connected => self.set_state(ChatState::Connected),
                MemberState::Disconnected => {
                    // Agent gone: a transfer, unless the chat itself ended (docs/protocol.md 7.5, 7.9).
                    let own = self
                        .api
                        .get_webchat_guest_conversation_member(
                            &self.conversation_id,
                            &self.member_id,
                        )
                        .await;
                    match own {
                        Ok(m) if m.state == Some(MemberState::Disconnected) => {
                            self.set_state(ChatState::Ended);
                        }
                        Ok(_) => self.set_state(ChatState::Transferred),
                        Err(_) => {}
                    }
                }
                _ => {}
            }
        }
    }
}
