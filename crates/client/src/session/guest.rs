//! A guest chat: [`GuestChat::start`], and the session layer that runs as the output of the
//! event-stream driver, inside its task (one task per chat).
//!
//! The driver owns the socket, the member table and the "is the chat over?" decision; this
//! layer turns its items into [`SessionEvent`]s. Member lookups (`GET .../members/{id}`, for
//! role and name) run beside the event path: they are futures of this task
//! (`FuturesUnordered`), polled by the driver next to the socket read, one per member id at a
//! time; an event never waits for one (see [`SessionEvent::MemberUpdated`]).

use super::queue::Queue;
use super::{
    ended_by, lock, ChatOptions, ChatState, GuestChat, Inner, Member, SessionEvent, Shared,
};
use crate::api::WebChatApi;
use crate::client::ApiClient;
use crate::error::{Error, EventStreamError};
use crate::events::{EventStream, Flow, Output, Roster, StreamEvent, Verdict};
use crate::model::{
    ChatEvent, CreateWebChatConversationRequest, MemberState, Role, WebChatMemberInfo,
    WebChatMessage, WebChatTyping,
};
use crate::rt::{sleep_until, Instant};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What a lookup brings back: the member id and the service's answer.
type Looked = (String, Result<WebChatMemberInfo, Error>);

#[cfg(not(target_arch = "wasm32"))]
type LookupFuture = futures::future::BoxFuture<'static, Looked>;
#[cfg(target_arch = "wasm32")]
type LookupFuture = futures::future::LocalBoxFuture<'static, Looked>;

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
        // The stream's client (with the chat's JWT) serves the session too: a second
        // `with_jwt` would keep a second copy of the token for every open chat (issue 14).
        let Some(api) = stream.api().cloned() else {
            return Err(Error::EventStream(EventStreamError::EndedBeforeJoin));
        };
        let conversation_id = created.id.clone().unwrap_or_default();
        let own = created.member.clone().unwrap_or_default();
        let member_id = own.id.clone().unwrap_or_default();

        let cancel = CancellationToken::new();
        let (queue, rx, stats) = Queue::new();
        let (joined_tx, mut joined_rx) = watch::channel(false);
        let roster = Roster::default();
        // The guest is the chat's customer member, under the name it asked for: no lookup.
        let own_name = own.display_name.or_else(|| {
            request
                .member_info
                .as_ref()
                .and_then(|m| m.display_name.clone())
        });
        roster.set_info(&member_id, own_name, own.role.or(Some(Role::Customer)));
        let inner = Arc::new(Inner {
            api: api.clone(),
            conversation_id: conversation_id.clone(),
            member_id: member_id.clone(),
            shared: Mutex::new(Shared {
                state: ChatState::Waiting,
                guest_leaving: false,
                ended_by: None,
            }),
            roster: roster.clone(),
            events: Mutex::new(Some(rx)),
            stats,
            sends: tokio::sync::Mutex::new(super::sends::SendLog::default()),
            _guard: cancel.clone().drop_guard(),
        });
        let layer = Layer {
            inner: Arc::downgrade(&inner),
            api,
            conversation_id,
            member_id,
            show_own_messages: options.show_own_messages,
            typing_timeout: options.typing_timeout,
            queue,
            roster: roster.clone(),
            joined: joined_tx,
            typing: HashMap::new(),
            lookups: None,
            asked: HashSet::new(),
        };
        let Some(driver) = stream.into_driver(layer, roster, cancel) else {
            return Err(Error::EventStream(EventStreamError::EndedBeforeJoin));
        };
        crate::rt::spawn(driver.run());

        let wait = async {
            loop {
                if *joined_rx.borrow_and_update() {
                    return Ok(());
                }
                if joined_rx.changed().await.is_err() {
                    return Err(Error::EventStream(EventStreamError::EndedBeforeJoin));
                }
            }
        };
        match crate::rt::timeout(options.join_timeout, wait).await {
            Ok(Ok(())) => Ok(GuestChat { inner, wm: None }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::EventStream(EventStreamError::JoinTimeout {
                after: options.join_timeout,
            })),
        }
    }
}

/// Side work of the session layer, done between socket reads.
pub(crate) enum Side {
    /// A typing indicator is due to expire.
    TypingDue,
    /// A member lookup landed.
    Looked(Box<Looked>),
}

/// The session layer of a guest chat: the output of its event-stream driver.
pub(crate) struct Layer {
    inner: Weak<Inner>,
    api: WebChatApi,
    conversation_id: String,
    member_id: String,
    show_own_messages: bool,
    typing_timeout: std::time::Duration,
    queue: Queue,
    /// The driver's member table (the same one).
    roster: Roster,
    joined: watch::Sender<bool>,
    /// Member id -> when its typing indicator expires.
    typing: HashMap<String, Instant>,
    /// Lookups in flight; allocated by the first lookup and dropped when none is left (a
    /// `FuturesUnordered` allocates its queue at creation: issue 14, memory per open chat).
    lookups: Option<FuturesUnordered<LookupFuture>>,
    /// Member ids looked up or being looked up (one lookup per id; a failed one is removed,
    /// so the member's next event tries again). The guest itself is never looked up.
    asked: HashSet<String>,
}

impl Output for Layer {
    type Side = Side;

    async fn emit(
        &mut self,
        item: Result<StreamEvent, Error>,
        previous: Option<MemberState>,
    ) -> Flow {
        self.queue.taken();
        let event = match item {
            Err(e) => {
                self.queue.send(SessionEvent::Warning(e)).await;
                return Flow::Go;
            }
            Ok(StreamEvent::Chat(event)) => event,
            Ok(StreamEvent::Connected) => return Flow::Go,
            Ok(StreamEvent::Reconnecting { attempt, .. }) => {
                self.queue
                    .send(SessionEvent::Reconnecting { attempt })
                    .await;
                return Flow::Go;
            }
            Ok(StreamEvent::Resynced { missed }) => {
                self.queue.send(SessionEvent::Resynced { missed }).await;
                return Flow::Go;
            }
            Ok(StreamEvent::Closed { reason }) => {
                self.set_state(ChatState::Ended).await;
                self.queue.send(SessionEvent::Ended(reason)).await;
                return Flow::Stop;
            }
        };
        match event {
            ChatEvent::Message(message) => self.on_message(message).await,
            ChatEvent::TypingIndicator(typing) => self.on_typing(typing).await,
            ChatEvent::MemberChange {
                member_id, state, ..
            } => return self.on_member_change(&member_id, state, previous).await,
            ChatEvent::Heartbeat | ChatEvent::Pong => {}
            other => self.queue.send(SessionEvent::Other(other)).await,
        }
        Flow::Go
    }

    async fn side_ready(&mut self) -> Side {
        let expiry = self.typing.values().min().copied();
        let typing = async move {
            match expiry {
                Some(at) => sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = typing => Side::TypingDue,
            Some(looked) = next_lookup(&mut self.lookups) => {
                Side::Looked(Box::new(looked))
            }
        }
    }

    async fn side(&mut self, work: Side) -> Flow {
        match work {
            Side::TypingDue => {
                self.expire_typing().await;
                Flow::Go
            }
            Side::Looked(looked) => {
                let (id, result) = *looked;
                self.on_looked(id, result).await
            }
        }
    }

    async fn over_checked(&mut self, verdict: Verdict) -> Flow {
        // An agent left: a transfer, unless the chat itself ended (docs/protocol.md 7.5, 7.9).
        match verdict {
            Verdict::Over(crate::events::CloseReason::ChatEnded) => {
                self.set_state(ChatState::Ended).await;
            }
            // Unless another agent is connected already (a lookup that landed late).
            Verdict::On if !self.agent_connected() => {
                self.set_state(ChatState::Transferred).await;
            }
            Verdict::On => {}
            Verdict::Over(_) | Verdict::Unknown => {}
        }
        Flow::Go
    }
}

impl Layer {
    /// The member with this id as known now; starts its lookup if its role is not known.
    fn member(&mut self, id: &str) -> Member {
        let member = self.roster.get(id).unwrap_or_else(|| Member {
            id: id.to_owned(),
            display_name: None,
            role: None,
            state: None,
        });
        if member.role.is_none() {
            self.look_up(id);
        }
        member
    }

    /// Starts a lookup of `id` unless one ran or is running.
    fn look_up(&mut self, id: &str) {
        if id.is_empty() || id == self.member_id || !self.asked.insert(id.to_owned()) {
            return;
        }
        let api = self.api.clone();
        let conversation_id = self.conversation_id.clone();
        let id = id.to_owned();
        let lookups = self.lookups.get_or_insert_with(FuturesUnordered::new);
        lookups.push(Box::pin(async move {
            let result = api
                .get_webchat_guest_conversation_member(&conversation_id, &id)
                .await;
            (id, result)
        }));
    }

    /// A lookup landed: the table learns the role and name, the app gets `MemberUpdated`,
    /// and a role-dependent change of the chat state that waited for it happens now.
    async fn on_looked(&mut self, id: String, result: Result<WebChatMemberInfo, Error>) -> Flow {
        match result {
            Ok(info) => {
                let member = self.roster.set_info(&id, info.display_name, info.role);
                let agent = member.role == Some(Role::Agent);
                // The chat state that waited for the role is recorded before the app hears of
                // the role, and announced right after it.
                let connected = agent
                    && member.state == Some(MemberState::Connected)
                    && self.record_state(ChatState::Connected);
                self.queue
                    .send(SessionEvent::MemberUpdated(member.clone()))
                    .await;
                if connected {
                    self.queue
                        .send(SessionEvent::StateChanged(ChatState::Connected))
                        .await;
                }
                if agent && member.state == Some(MemberState::Disconnected) {
                    return Flow::CheckOver;
                }
                Flow::Go
            }
            Err(e) => {
                self.asked.remove(&id);
                self.queue.send(SessionEvent::Warning(e)).await;
                Flow::Go
            }
        }
    }

    /// What an agent's state means for the chat: connected, or gone (then the driver asks
    /// whether the chat is over: [`Output::over_checked`] has the answer).
    async fn agent_flow(&mut self, member: &Member) -> Flow {
        if member.role != Some(Role::Agent) {
            return Flow::Go;
        }
        match member.state {
            Some(MemberState::Connected) => {
                self.set_state(ChatState::Connected).await;
                Flow::Go
            }
            Some(MemberState::Disconnected) => Flow::CheckOver,
            _ => Flow::Go,
        }
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
            let member = self.member(&id);
            self.queue.send(SessionEvent::TypingStopped(member)).await;
        }
    }

    /// True when an agent (role known) is CONNECTED.
    fn agent_connected(&self) -> bool {
        self.roster
            .members()
            .iter()
            .any(|m| m.role == Some(Role::Agent) && m.state == Some(MemberState::Connected))
    }

    /// Changes the chat state and tells the app.
    async fn set_state(&mut self, state: ChatState) {
        if self.record_state(state) {
            self.queue.send(SessionEvent::StateChanged(state)).await;
        }
    }

    /// Changes the chat state (an ended chat stays ended); true when it changed.
    fn record_state(&self, state: ChatState) -> bool {
        let Some(inner) = self.inner.upgrade() else {
            return false;
        };
        let members = self.roster.members();
        let mut shared = lock(&inner.shared);
        let changed = shared.state != state && shared.state != ChatState::Ended;
        if changed {
            shared.state = state;
            if state == ChatState::Ended && shared.ended_by.is_none() {
                shared.ended_by = Some(ended_by(&shared, &members));
            }
        }
        changed
    }

    async fn on_message(&mut self, message: WebChatMessage) {
        let sender_id = message
            .sender
            .as_ref()
            .and_then(|s| s.id.clone())
            .unwrap_or_default();
        let own = sender_id == self.member_id;
        if own && !self.show_own_messages {
            return;
        }
        if self.typing.remove(&sender_id).is_some() {
            let member = self.member(&sender_id);
            self.queue.send(SessionEvent::TypingStopped(member)).await;
        }
        let sender = self.member(&sender_id);
        self.queue
            .send(SessionEvent::Message {
                message,
                sender,
                own,
            })
            .await;
    }

    async fn on_typing(&mut self, typing: WebChatTyping) {
        let sender_id = typing
            .sender
            .as_ref()
            .and_then(|s| s.id.clone())
            .unwrap_or_default();
        if sender_id == self.member_id && !self.show_own_messages {
            return;
        }
        let until = Instant::now() + self.typing_timeout.min(crate::LONGEST_WAIT);
        if self.typing.insert(sender_id.clone(), until).is_none() {
            let member = self.member(&sender_id);
            self.queue.send(SessionEvent::TypingStarted(member)).await;
        }
    }

    /// A member change (the driver has recorded the new state in the table already).
    async fn on_member_change(
        &mut self,
        member_id: &str,
        state: MemberState,
        previous: Option<MemberState>,
    ) -> Flow {
        if previous.as_ref() == Some(&state) {
            return Flow::Go; // a duplicate (agents switching focus re-send CONNECTED)
        }
        let mut member = self.member(member_id);
        member.state = Some(state.clone());
        let is_own = member_id == self.member_id;
        if is_own && state == MemberState::Connected {
            let _ = self.joined.send(true);
        }
        self.queue
            .send(SessionEvent::MemberChanged {
                member: member.clone(),
                previous,
            })
            .await;
        if is_own && state == MemberState::Disconnected {
            self.set_state(ChatState::Ended).await;
            return Flow::Go;
        }
        self.agent_flow(&member).await
    }
}

/// The next lookup to land; pending while none is in flight. The set is dropped once empty,
/// so an idle chat holds no lookup state.
async fn next_lookup(lookups: &mut Option<FuturesUnordered<LookupFuture>>) -> Option<Looked> {
    let Some(set) = lookups.as_mut().filter(|set| !set.is_empty()) else {
        return std::future::pending().await;
    };
    let looked = set.next().await;
    if set.is_empty() {
        *lookups = None;
    }
    looked
}
