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
use super::wm_options::WebMessagingOptions;
use super::wm_start::{agent_member, as_webchat_message, fetch_page, guest_member, open};
use super::{lock, ChatState, EndedBy, Inner, Member, SessionEvent};
use crate::events::CloseReason;
use crate::model::MemberState;
use crate::rt::Instant;
use crate::webmessaging::{
    Direction, EventPresenceType, IncomingNormalizedMessage, MessageContent, MessageEvent,
    NormalizedType, ServerFrame, SessionToken, StructuredMessage, WebMessagingClient, WmError,
};
use std::collections::{HashSet, VecDeque};
use std::sync::Weak;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

mod recovery;

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
    pub(super) queue: Queue,
    /// Events waiting for room in the queue (the socket is not read meanwhile).
    pub(super) pending: VecDeque<SessionEvent>,
    pub(super) commands: mpsc::Receiver<Command>,
    /// Ids of messages already delivered (or sent), oldest first.
    pub(super) seen: HashSet<String>,
    pub(super) seen_order: VecDeque<String>,
    pub(super) next_send: Instant,
    pub(super) last_typing: Option<Instant>,
    pub(super) jwt: Option<(crate::webmessaging::Secret, Instant)>,
    pub(super) attributes_sent: bool,
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
        self.shut_down(client, &cancel).await;
    }

    /// Closes the socket, fails the commands still queued and hands the last events (the end
    /// of the chat) to the app.
    async fn shut_down(&mut self, client: WebMessagingClient, cancel: &CancellationToken) {
        client.close().await;
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
