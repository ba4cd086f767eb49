//! The Web Messaging backend of [`GuestChat`](super::GuestChat): one task owns the socket
//! ([`WebMessagingClient`]) and turns its frames into the same [`SessionEvent`]s guest chat
//! produces. The chat's handle talks to it through a bounded command queue.

use super::{lock, ChatState, EndedBy, Inner, Member, SessionEvent};
use crate::events::CloseReason;
use crate::model::{BodyType, MemberState, Role, Timestamp, WebChatMemberInfo, WebChatMessage};
use crate::rt::Instant;
use crate::webmessaging::{
    ConnectOptions, Direction, Endpoint, EventPresenceType, IncomingNormalizedMessage,
    MessageContent, MessageEvent, NormalizedType, OriginatingEntity, ServerFrame, SessionToken,
    StructuredMessage, WebMessagingClient, WmError,
};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Weak;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Minimum spacing of `onMessage` requests: the service allows 2 per second per session.
pub(super) const SEND_SPACING: Duration = Duration::from_millis(500);
/// The protocol asks for at most one typing indicator every 5 s.
pub(super) const TYPING_SPACING: Duration = Duration::from_secs(5);
/// How long before its expiry a cached history JWT is fetched again.
const JWT_MARGIN: Duration = Duration::from_secs(60);
/// The history page size used by resyncs and [`super::GuestChat::history`].
pub(super) const HISTORY_PAGE_SIZE: u32 = 25;
/// How many pages a resync after a reconnect reads at most.
const RESYNC_PAGES: u32 = 20;
/// How many times a send waits out a 429 and tries again.
const RATE_LIMIT_RETRIES: u32 = 3;
/// Message ids remembered for de-duplication across reconnects.
const SEEN_KEPT: usize = 4096;

/// Options of [`GuestChat::start_web_messaging`](super::GuestChat::start_web_messaging).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebMessagingOptions {
    /// The Messenger deployment id.
    pub deployment_id: String,
    /// Where the service is: a region ([`Endpoint::region`]) or a base URL (the emulator's).
    pub endpoint: Endpoint,
    /// `Origin` of the WebSocket upgrade (deployments may restrict it).
    pub origin: Option<String>,
    /// A stored session token to resume; `None` starts a new conversation with a new token.
    pub token: Option<SessionToken>,
    /// Custom attributes sent with the first message (`channel.metadata.customAttributes`).
    pub custom_attributes: BTreeMap<String, String>,
    /// How long each request waits for its answer (the Inbound echo of a send; default 10 s).
    pub answer_timeout: Duration,
    /// Interval of the `echo` health check (default 30 s); the socket is re-opened when it fails.
    pub keep_alive: Duration,
    /// Interval of the WebSocket pings (default 15 s, as the official mobile client); the
    /// socket is re-opened when a ping's pong has not come by the time the next one is due.
    pub ping_interval: Duration,
    /// Deliver the echo of the guest's own messages (default false).
    pub show_own_messages: bool,
    /// Reconnection attempts before the chat ends (default 10).
    pub max_reconnects: u32,
    /// The guest's name as the chat shows it on its own messages (Web Messaging does not
    /// carry it; default none).
    pub guest_name: Option<String>,
}

impl WebMessagingOptions {
    /// Options for `deployment_id` at `endpoint`, everything else by default.
    pub fn new(deployment_id: impl Into<String>, endpoint: Endpoint) -> Self {
        WebMessagingOptions {
            deployment_id: deployment_id.into(),
            endpoint,
            origin: None,
            token: None,
            custom_attributes: BTreeMap::new(),
            answer_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(30),
            ping_interval: Duration::from_secs(15),
            show_own_messages: false,
            max_reconnects: 10,
            guest_name: None,
        }
    }
    /// Sets the `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }
    /// Resumes the conversation of a stored token.
    pub fn token(mut self, token: SessionToken) -> Self {
        self.token = Some(token);
        self
    }
    /// Adds a custom attribute.
    pub fn custom_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.custom_attributes.insert(key.into(), value.into());
        self
    }
    /// Sets the answer timeout.
    pub fn answer_timeout(mut self, d: Duration) -> Self {
        self.answer_timeout = d;
        self
    }
    /// Sets the keep-alive interval.
    pub fn keep_alive(mut self, d: Duration) -> Self {
        self.keep_alive = d;
        self
    }
    /// Sets the WebSocket ping interval.
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.ping_interval = d;
        self
    }
    /// Sets the name shown on the guest's own messages.
    pub fn guest_name(mut self, name: impl Into<String>) -> Self {
        self.guest_name = Some(name.into());
        self
    }
    /// Delivers (or not) the echo of the guest's own messages.
    pub fn show_own_messages(mut self, show: bool) -> Self {
        self.show_own_messages = show;
        self
    }
}

/// What the chat's backend allows, read from the deployment configuration (Web Messaging) or
/// known (guest chat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// The guest may send typing indicators.
    pub typing: bool,
    /// The guest may end the conversation ([`GuestChat::leave`](super::GuestChat::leave)).
    pub end_conversation: bool,
    /// Quick replies and buttons can be answered.
    pub quick_replies: bool,
    /// The conversation can be resumed later with [`GuestChat::resume_token`](super::GuestChat::resume_token).
    pub resumable: bool,
}

impl Capabilities {
    /// Guest chat: typing and leave always; no quick replies; no resume.
    pub(super) const GUEST_CHAT: Capabilities = Capabilities {
        typing: true,
        end_conversation: true,
        quick_replies: false,
        resumable: false,
    };
}

/// Reads the deployment's `config.json`.
pub(super) async fn read_capabilities(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    deployment_id: &str,
) -> Result<Capabilities, WmError> {
    let rest = |why: String| WmError::Rest {
        what: "deployment configuration",
        why,
    };
    let response = http
        .get(endpoint.config_url(deployment_id))
        .send()
        .await
        .map_err(|e| rest(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(rest(format!("HTTP {}", response.status().as_u16())));
    }
    let config: serde_json::Value = response
        .json()
        .await
        .map_err(|e| rest(e.without_url().to_string()))?;
    let conversations = &config["messenger"]["apps"]["conversations"];
    Ok(Capabilities {
        typing: conversations["showUserTypingIndicator"]
            .as_bool()
            .unwrap_or(false),
        end_conversation: conversations["conversationClear"]["enabled"]
            .as_bool()
            .unwrap_or(false),
        quick_replies: true,
        resumable: true,
    })
}

/// A request from the chat's handle to its socket task.
pub(super) enum Command {
    Send(
        Box<IncomingNormalizedMessage>,
        oneshot::Sender<Result<StructuredMessage, WmError>>,
    ),
    Typing(oneshot::Sender<Result<(), WmError>>),
    Clear(oneshot::Sender<Result<(), WmError>>),
    Jwt(oneshot::Sender<Result<crate::webmessaging::Secret, WmError>>),
}

/// The socket task.
pub(super) struct SocketTask {
    pub(super) inner: Weak<Inner>,
    pub(super) options: WebMessagingOptions,
    pub(super) token: SessionToken,
    pub(super) http: reqwest::Client,
    pub(super) tx: mpsc::UnboundedSender<Box<SessionEvent>>,
    pub(super) commands: mpsc::Receiver<Command>,
    /// Ids of messages already delivered (or sent), oldest first.
    pub(super) seen: HashSet<String>,
    pub(super) seen_order: VecDeque<String>,
    pub(super) next_send: Instant,
    pub(super) last_typing: Option<Instant>,
    pub(super) jwt: Option<(crate::webmessaging::Secret, Instant)>,
    pub(super) attributes_sent: bool,
}

/// Opens the socket and configures the session.
pub(super) async fn open(
    options: &WebMessagingOptions,
    token: &SessionToken,
) -> Result<(WebMessagingClient, Option<bool>), WmError> {
    let mut connect = ConnectOptions::default().answer_timeout(options.answer_timeout);
    if let Some(origin) = &options.origin {
        connect = connect.origin(origin.clone());
    }
    let mut client =
        WebMessagingClient::connect(&options.endpoint, &options.deployment_id, connect).await?;
    let session = client.configure(token).await?;
    Ok((client, session.new_session))
}

/// The sender of an Outbound message or event. Web Messaging has no member ids: the id is
/// the role (`agent`, `bot`), followed by the name the message carries (`agent:Riley`), so
/// that two agents of one conversation are two members of the roster.
pub(super) fn agent_member(m: &StructuredMessage) -> Member {
    let from = m.channel.as_ref().and_then(|c| c.from.as_ref());
    let name = from.and_then(|f| f.nickname.clone().or_else(|| f.first_name.clone()));
    let bot = m.originating_entity == Some(OriginatingEntity::Bot);
    let role = if bot { "bot" } else { "agent" };
    Member {
        id: match &name {
            Some(name) => format!("{role}:{name}"),
            None => role.to_owned(),
        },
        display_name: name,
        role: Some(if bot { Role::Workflow } else { Role::Agent }),
        state: Some(MemberState::Connected),
    }
}

/// The guest's member id in a Web Messaging chat (the protocol has none).
pub(super) const GUEST_ID: &str = "guest";

pub(super) fn guest_member(name: Option<String>) -> Member {
    Member {
        id: GUEST_ID.to_owned(),
        display_name: name,
        role: Some(Role::Customer),
        state: Some(MemberState::Connected),
    }
}

/// A Web Messaging message as the [`WebChatMessage`] of the unified event stream.
pub(super) fn as_webchat_message(m: &StructuredMessage, sender: &Member) -> WebChatMessage {
    let timestamp = m
        .channel
        .as_ref()
        .and_then(|c| c.time.as_deref())
        .and_then(|t| serde_json::from_value::<Timestamp>(serde_json::json!(t)).ok());
    WebChatMessage {
        id: m.id.clone(),
        body: m.text.clone(),
        body_type: Some(BodyType::Standard),
        sender: Some(WebChatMemberInfo {
            id: Some(sender.id.clone()),
            display_name: sender.display_name.clone(),
            role: sender.role.clone(),
            ..WebChatMemberInfo::default()
        }),
        timestamp,
        ..WebChatMessage::default()
    }
}

fn rate_limited(e: &WmError) -> Option<Duration> {
    match e {
        WmError::RateLimited { retry_after } => Some(*retry_after),
        _ => None,
    }
}

impl SocketTask {
    fn emit(&self, event: SessionEvent) {
        let _ = self.tx.send(Box::new(event));
    }

    fn remember(&mut self, id: &str) -> bool {
        if !self.seen.insert(id.to_owned()) {
            return false;
        }
        self.seen_order.push_back(id.to_owned());
        while self.seen_order.len() > SEEN_KEPT {
            if let Some(old) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }

    /// Puts `member` in the roster with its state; emits `MemberChanged` when it is new or
    /// its state changed.
    fn see(&self, member: &Member) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let previous = {
            let mut s = lock(&inner.shared);
            match s.member_mut(&member.id) {
                Some(known) if known.state == member.state => return,
                Some(known) => {
                    let previous = known.state.clone();
                    *known = member.clone();
                    previous
                }
                None => {
                    s.members.push(member.clone());
                    None
                }
            }
        };
        self.emit(SessionEvent::MemberChanged {
            member: member.clone(),
            previous,
        });
    }

    fn set_state(&self, state: ChatState) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let changed = {
            let mut s = lock(&inner.shared);
            let changed = s.state != state;
            s.state = state;
            changed
        };
        if changed {
            self.emit(SessionEvent::StateChanged(state));
        }
    }

    fn finish(&self, by: EndedBy, reason: CloseReason) {
        if let Some(inner) = self.inner.upgrade() {
            let mut s = lock(&inner.shared);
            if s.ended_by.is_none() {
                s.ended_by = Some(if s.guest_leaving { EndedBy::Guest } else { by });
            }
            // The conversation is over for everyone in it.
            for member in &mut s.members {
                member.state = Some(MemberState::Disconnected);
            }
        }
        self.set_state(ChatState::Ended);
        self.emit(SessionEvent::Ended(reason));
    }

    /// Delivers a message once (the Inbound echo of the guest's own only when asked).
    fn deliver(&mut self, m: &StructuredMessage) {
        if let Some(id) = &m.id {
            if !self.remember(id) {
                return;
            }
        }
        let own = m.direction == Some(Direction::Inbound);
        if own && !self.options.show_own_messages {
            return;
        }
        let sender = if own {
            guest_member(self.options.guest_name.clone())
        } else {
            agent_member(m)
        };
        if !own {
            self.see(&sender);
            self.set_state(ChatState::Connected);
        }
        let message = as_webchat_message(m, &sender);
        let content: Vec<MessageContent> = m
            .content
            .iter()
            .flatten()
            .filter(|c| !matches!(c, MessageContent::Attachment(_)))
            .cloned()
            .collect();
        if !content.is_empty() {
            self.emit(SessionEvent::Structured {
                message,
                sender,
                content,
            });
        } else if m.text.is_some() {
            self.emit(SessionEvent::Message {
                message,
                sender,
                own,
            });
        }
    }

    /// Handles one frame; `false` when the conversation is over.
    fn on_frame(&mut self, frame: ServerFrame) -> bool {
        match frame {
            ServerFrame::Message(m) => {
                let m = m.body;
                if m.kind == NormalizedType::Event {
                    return self.on_events(&m);
                }
                self.deliver(&m);
                true
            }
            ServerFrame::SessionCleared(_) => {
                self.finish(EndedBy::Guest, CloseReason::ChatEnded);
                false
            }
            ServerFrame::SessionExpired(_) | ServerFrame::Logout(_) => {
                self.finish(EndedBy::Service, CloseReason::ChatEnded);
                false
            }
            ServerFrame::Error(e) => {
                let error = WmError::Protocol {
                    code: e.code,
                    message: guest_chat_model::redact::mask_jwts(&e.body).into_owned(),
                };
                if error.is_session_fatal() {
                    self.finish(EndedBy::Service, CloseReason::Unauthorized);
                    return false;
                }
                self.emit(SessionEvent::Warning(error.into()));
                true
            }
            _ => true,
        }
    }

    fn on_events(&mut self, m: &StructuredMessage) -> bool {
        if m.direction == Some(Direction::Inbound) {
            return true;
        }
        let member = agent_member(m);
        for event in m.events.iter().flatten() {
            match event {
                MessageEvent::Typing(_) => self.emit(SessionEvent::TypingStarted(member.clone())),
                MessageEvent::Presence(p) if p.kind == EventPresenceType::Join => {
                    self.see(&member);
                    self.set_state(ChatState::Connected);
                }
                MessageEvent::Presence(p) if p.kind == EventPresenceType::Disconnect => {
                    let mut gone = member.clone();
                    gone.state = Some(MemberState::Disconnected);
                    self.see(&gone);
                    self.finish(EndedBy::Agent, CloseReason::ChatEnded);
                    return false;
                }
                _ => {}
            }
        }
        true
    }

    /// The history JWT, cached until shortly before it expires.
    async fn jwt(
        &mut self,
        client: &mut WebMessagingClient,
    ) -> Result<crate::webmessaging::Secret, WmError> {
        if let Some((jwt, until)) = &self.jwt {
            if Instant::now() < *until {
                return Ok(jwt.clone());
            }
        }
        let answer = client.get_jwt().await?;
        let exp = answer.exp.as_i64().unwrap_or(0);
        let left = exp.saturating_sub(chrono::Utc::now().timestamp());
        let left = Duration::from_secs(u64::try_from(left).unwrap_or(0));
        let until = Instant::now() + left.saturating_sub(JWT_MARGIN);
        self.jwt = Some((answer.jwt.clone(), until));
        Ok(answer.jwt)
    }

    /// Waits for this session's next `onMessage` slot (2 per second; later after a 429).
    async fn pace(&mut self) {
        crate::rt::sleep_until(self.next_send).await;
        self.next_send = Instant::now() + SEND_SPACING;
    }

    async fn send(
        &mut self,
        client: &mut WebMessagingClient,
        mut message: IncomingNormalizedMessage,
    ) -> Result<StructuredMessage, WmError> {
        if !self.attributes_sent && !self.options.custom_attributes.is_empty() {
            let channel = serde_json::json!({
                "metadata": {"customAttributes": self.options.custom_attributes},
            });
            message.channel = serde_json::from_value(channel).ok();
        }
        let mut retries = 0;
        loop {
            self.pace().await;
            match client.send_message(message.clone()).await {
                Ok(echo) => {
                    self.attributes_sent = true;
                    // The echo is the acknowledgement; with `show_own_messages` it is an
                    // event too (once: it is remembered).
                    self.deliver(&echo);
                    return Ok(echo);
                }
                Err(e) => match rate_limited(&e) {
                    Some(wait) if retries < RATE_LIMIT_RETRIES => {
                        retries += 1;
                        self.next_send = Instant::now() + wait;
                    }
                    _ => return Err(e),
                },
            }
        }
    }

    async fn command(&mut self, client: &mut WebMessagingClient, command: Command) -> bool {
        match command {
            Command::Send(message, reply) => {
                let result = self.send(client, *message).await;
                let broken = matches!(result, Err(WmError::Socket(_) | WmError::Closed));
                let _ = reply.send(result);
                !broken
            }
            Command::Typing(reply) => {
                let now = Instant::now();
                let throttled = self
                    .last_typing
                    .is_some_and(|t| now.duration_since(t) < TYPING_SPACING);
                let result = if throttled {
                    Ok(())
                } else {
                    self.last_typing = Some(now);
                    self.pace().await;
                    client.send_typing().await
                };
                let _ = reply.send(result);
                true
            }
            Command::Clear(reply) => {
                let mut result = Err(WmError::Ended);
                for _ in 0..=RATE_LIMIT_RETRIES {
                    self.pace().await;
                    result = client.clear().await;
                    let wait = result.as_ref().err().and_then(rate_limited);
                    match wait {
                        Some(wait) => self.next_send = Instant::now() + wait,
                        None => break,
                    }
                }
                let cleared = result.is_ok();
                // Ended before `leave` returns: `ended_by()` is already known then.
                if cleared {
                    self.finish(EndedBy::Guest, CloseReason::ChatEnded);
                }
                let _ = reply.send(result);
                !cleared
            }
            Command::Jwt(reply) => {
                let result = self.jwt(client).await;
                let _ = reply.send(result);
                true
            }
        }
    }

    /// After a reconnect: the history pages newest first until a delivered message, then the
    /// missed ones in order.
    async fn resync(&mut self, client: &mut WebMessagingClient) -> Result<usize, WmError> {
        let jwt = self.jwt(client).await?;
        let mut missed = Vec::new();
        'pages: for page in 1..=RESYNC_PAGES {
            let entities = fetch_page(
                &self.http,
                &self.options.endpoint,
                &jwt,
                page,
                HISTORY_PAGE_SIZE,
            )
            .await?
            .0;
            let last_page = entities.len() < HISTORY_PAGE_SIZE as usize;
            for m in entities {
                if m.id.as_ref().is_some_and(|id| self.seen.contains(id)) {
                    break 'pages;
                }
                missed.push(m);
            }
            if last_page {
                break;
            }
        }
        let mut count = 0;
        for m in missed.into_iter().rev() {
            if m.kind == NormalizedType::Event {
                continue;
            }
            if m.direction != Some(Direction::Inbound) {
                count += 1;
            }
            self.deliver(&m);
        }
        Ok(count)
    }

    async fn reconnect(&mut self) -> Option<WebMessagingClient> {
        let mut delay = Duration::from_millis(200);
        for attempt in 1..=self.options.max_reconnects {
            self.emit(SessionEvent::Reconnecting { attempt });
            match open(&self.options, &self.token).await {
                Ok((mut client, _)) => {
                    self.jwt = None;
                    match self.resync(&mut client).await {
                        Ok(missed) => {
                            self.emit(SessionEvent::Resynced { missed });
                            return Some(client);
                        }
                        Err(e) => self.emit(SessionEvent::Warning(e.into())),
                    }
                }
                Err(e) if e.is_session_fatal() => {
                    self.finish(EndedBy::Service, CloseReason::Unauthorized);
                    return None;
                }
                Err(_) => {}
            }
            crate::rt::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        self.finish(
            EndedBy::Service,
            CloseReason::GaveUp {
                attempts: self.options.max_reconnects,
            },
        );
        None
    }

    pub(super) async fn run(mut self, mut client: WebMessagingClient, cancel: CancellationToken) {
        // After a long command (a send waiting out a 429), one late tick, not a burst
        // (`rt::interval` delays missed ticks).
        let mut keep_alive = crate::rt::interval(self.options.keep_alive);
        keep_alive.tick().await;
        let mut ping = crate::rt::interval(self.options.ping_interval);
        ping.tick().await;
        loop {
            // Biased: the socket is read before a ping tick is judged, so that a pong that
            // came while a command kept the task busy is seen first.
            let alive = tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                command = self.commands.recv() => match command {
                    None => break,
                    Some(c) => self.command(&mut client, c).await,
                },
                frame = client.next_frame() => match frame {
                    Ok(Some(f)) => {
                        if !self.on_frame(f) {
                            break;
                        }
                        true
                    }
                    Ok(None) | Err(_) => false,
                },
                _ = keep_alive.tick() => client.health_check().await.is_ok(),
                // No pong since the last ping: the connection is dead.
                _ = ping.tick() => !client.pong_pending() && client.ping().await.is_ok(),
            };
            if self.ended() {
                break;
            }
            if !alive {
                match self.reconnect().await {
                    Some(c) => {
                        client = c;
                        keep_alive.reset();
                        ping.reset();
                    }
                    None => break,
                }
            }
        }
        client.close().await;
        // Fail what is still queued.
        self.commands.close();
        while let Ok(c) = self.commands.try_recv() {
            match c {
                Command::Send(_, r) => drop(r.send(Err(WmError::Ended))),
                Command::Typing(r) | Command::Clear(r) => drop(r.send(Err(WmError::Ended))),
                Command::Jwt(r) => drop(r.send(Err(WmError::Ended))),
            }
        }
    }

    fn ended(&self) -> bool {
        self.inner
            .upgrade()
            .is_some_and(|i| lock(&i.shared).state == ChatState::Ended)
    }
}

/// One REST history page (newest first) and the total.
pub(super) async fn fetch_page(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    jwt: &crate::webmessaging::Secret,
    page_number: u32,
    page_size: u32,
) -> Result<(Vec<StructuredMessage>, u64), WmError> {
    let rest = |why: String| WmError::Rest {
        what: "history",
        why,
    };
    let response = http
        .get(endpoint.history_url(page_number, page_size))
        .bearer_auth(jwt.expose())
        .send()
        .await
        .map_err(|e| rest(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(rest(format!("HTTP {}", response.status().as_u16())));
    }
    #[derive(serde::Deserialize)]
    struct Page {
        #[serde(default)]
        entities: Vec<StructuredMessage>,
        #[serde(default)]
        total: u64,
    }
    let page: Page = response
        .json()
        .await
        .map_err(|e| rest(e.without_url().to_string()))?;
    Ok((page.entities, page.total))
}
