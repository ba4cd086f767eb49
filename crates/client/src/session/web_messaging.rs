//! The Web Messaging backend of [`GuestChat`](super::GuestChat): one task owns the socket
//! ([`WebMessagingClient`]) and turns its frames into the same [`SessionEvent`]s guest chat
//! produces. The chat's handle talks to it through a bounded command queue.
//!
//! The events of one frame go to a short local list first, then into the chat's bounded
//! queue ([`SESSION_QUEUE`](super::SESSION_QUEUE)); while that list is not empty the task
//! does not read the socket (it still serves the app's commands), so an app that does not
//! take its events stops the reading. The ping and keep-alive timers restart after such a
//! wait: a pong left unread meanwhile is not a dead connection.

use super::queue::Queue;
use super::wm_options::{read_capabilities, WebMessagingOptions};
use super::{lock, ChatState, EndedBy, GuestChat, Inner, Member, SessionEvent, Shared, WmHandle};
use crate::api::WebChatApi;
use crate::client::ApiClient;
use crate::error::Error;
use crate::events::{CloseReason, Roster};
use crate::model::{BodyType, MemberState, Role, Timestamp, WebChatMemberInfo, WebChatMessage};
use crate::rt::Instant;
use crate::webmessaging::{
    ConnectOptions, Direction, Endpoint, EventPresenceType, IncomingNormalizedMessage,
    MessageContent, MessageEvent, NormalizedType, OriginatingEntity, ServerFrame, SessionToken,
    StructuredMessage, WebMessagingClient, WmError,
};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, Weak};
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

impl GuestChat {
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
            read_capabilities(&http, &options.endpoint, &options.deployment_id).await?;
        let token = options.token.clone().unwrap_or_else(SessionToken::generate);
        let (client, new_session) = open(&options, &token).await?;
        // The REST client of the API host; guest-chat routes do not apply to this chat.
        let api_client = ApiClient::builder()
            .environment(options.endpoint.api_base())
            .build()?;
        let cancel = CancellationToken::new();
        let roster = Roster::default();
        roster.with(|table| table.push(guest_member(options.guest_name.clone())));
        let (queue, rx, stats) = Queue::new();
        let (commands_tx, commands_rx) = mpsc::channel(16);
        let inner = Arc::new(Inner {
            api: WebChatApi::new(&api_client),
            conversation_id: String::new(),
            member_id: GUEST_ID.to_owned(),
            shared: Mutex::new(Shared {
                state: ChatState::Waiting,
                guest_leaving: false,
                ended_by: None,
            }),
            roster,
            events: Mutex::new(Some(rx)),
            stats,
            sends: tokio::sync::Mutex::new(super::sends::SendLog::default()),
            _guard: cancel.clone().drop_guard(),
        });
        let task = SocketTask {
            inner: Arc::downgrade(&inner),
            options: options.clone(),
            token: token.clone(),
            http: http.clone(),
            queue,
            pending: VecDeque::new(),
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
struct SocketTask {
    pub(super) inner: Weak<Inner>,
    pub(super) options: WebMessagingOptions,
    pub(super) token: SessionToken,
    pub(super) http: reqwest::Client,
    queue: Queue,
    /// Events waiting for room in the queue (the socket is not read meanwhile).
    pending: VecDeque<SessionEvent>,
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
    fn emit(&mut self, event: SessionEvent) {
        self.pending.push_back(event);
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
    fn see(&mut self, member: &Member) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let changed =
            inner
                .roster
                .with(|table| match table.iter_mut().find(|m| m.id == member.id) {
                    Some(known) if known.state == member.state => None,
                    Some(known) => {
                        let previous = known.state.clone();
                        *known = member.clone();
                        Some(previous)
                    }
                    None => {
                        table.push(member.clone());
                        Some(None)
                    }
                });
        let Some(previous) = changed else {
            return;
        };
        self.emit(SessionEvent::MemberChanged {
            member: member.clone(),
            previous,
        });
    }

    fn set_state(&mut self, state: ChatState) {
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

    fn finish(&mut self, by: EndedBy, reason: CloseReason) {
        if let Some(inner) = self.inner.upgrade() {
            {
                let mut s = lock(&inner.shared);
                if s.ended_by.is_none() {
                    s.ended_by = Some(if s.guest_leaving { EndedBy::Guest } else { by });
                }
            }
            // The conversation is over for everyone in it.
            inner.roster.with(|table| {
                for member in table.iter_mut() {
                    member.state = Some(MemberState::Disconnected);
                }
            });
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
        self.queue.taken();
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
            if !self.pending.is_empty() {
                // Events wait for the app: hand them on before reading the socket again
                // (the app's commands are still served).
                let waiting = self.queue.is_full();
                let alive = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => break,
                    command = self.commands.recv() => match command {
                        None => break,
                        Some(c) => self.command(&mut client, c).await,
                    },
                    () = flush(&self.queue, &mut self.pending) => true,
                };
                if waiting {
                    // The socket was not read while the app was behind: a pong left unread
                    // then is no sign of a dead connection.
                    keep_alive.reset();
                    ping.reset();
                }
                if self.ended() {
                    break;
                }
                if alive {
                    continue;
                }
                match self.reconnect().await {
                    Some(c) => {
                        client = c;
                        keep_alive.reset();
                        ping.reset();
                        continue;
                    }
                    None => break,
                }
            }
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
        // The last events (the end of the chat) still reach the app.
        tokio::select! {
            _ = cancel.cancelled() => {}
            () = flush(&self.queue, &mut self.pending) => {}
        }
    }

    fn ended(&self) -> bool {
        self.inner
            .upgrade()
            .is_some_and(|i| lock(&i.shared).state == ChatState::Ended)
    }
}

/// Moves waiting events into the queue, waiting for room. Cancel-safe: an event leaves the
/// list only once it is in the queue.
async fn flush(queue: &Queue, pending: &mut VecDeque<SessionEvent>) {
    while !pending.is_empty() {
        if !queue.send_first(pending).await {
            // The app dropped its events: nothing more to hand on.
            pending.clear();
        }
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
