//! One Web Messaging session (a token and its conversation), its history and its agent.

use crate::agent::{AgentMode, AgentPlan, ScriptStep};
use guest_chat_model::webmessaging::{
    BaseMessagingChannel, BaseMessagingRecipient, ChannelType, ConnectionClosedEvent, Direction,
    Envelope, EventBody, EventPresenceType, EventTyping, EventTypingType, Extra, MessageEvent,
    NormalizedType, OriginatingEntity, ServerFrame, StructuredMessage,
};
use serde_json::Number;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// What a session tells its sockets.
#[derive(Debug, Clone)]
pub(crate) enum WmCmd {
    /// Send this frame.
    Frame(Arc<str>),
    /// Send `frame` (when set), then close with `code`; the socket `except` stays open.
    Close {
        except: Option<u64>,
        frame: Option<Arc<str>>,
        code: u16,
    },
    /// Drop the TCP connection without a close frame.
    Drop,
}

/// How long an agent's typing indicator lasts, in milliseconds.
pub(crate) const TYPING_MS: u64 = 5000;

pub(crate) struct Inner {
    /// Every message of the conversation, oldest first.
    pub history: Vec<StructuredMessage>,
    pub read_only: bool,
    /// Arrival of the `onMessage` requests of the last second.
    sends: VecDeque<Instant>,
    /// WebSocket pings, `echo` health checks and 429 answers, for the control API.
    pub pings: u64,
    pub health_checks: u64,
    pub rate_limited: u64,
}

pub(crate) struct WmSession {
    pub token: String,
    pub conversation_id: String,
    pub deployment_id: String,
    /// Epoch seconds.
    pub expires_at: i64,
    tx: broadcast::Sender<WmCmd>,
    inner: Mutex<Inner>,
    agent_tx: mpsc::UnboundedSender<String>,
    agent_rx: Mutex<Option<mpsc::UnboundedReceiver<String>>>,
    pub cancel: CancellationToken,
    pub agent_name: String,
    /// Bumped after every change of `inner` (see [`WmSession::update`]), for
    /// `WebMessaging::wait_for`.
    changes: watch::Sender<u64>,
}

pub(crate) fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn frame_text(frame: &ServerFrame) -> Arc<str> {
    serde_json::to_string(frame).unwrap_or_default().into()
}

impl WmSession {
    pub(crate) fn new(
        token: String,
        deployment_id: String,
        duration_secs: u64,
        agent_name: String,
        parent: &CancellationToken,
        changes: watch::Sender<u64>,
    ) -> Arc<WmSession> {
        let (tx, _) = broadcast::channel(256);
        let (agent_tx, agent_rx) = mpsc::unbounded_channel();
        let duration = i64::try_from(duration_secs).unwrap_or(i64::MAX);
        Arc::new(WmSession {
            token,
            conversation_id: uuid::Uuid::new_v4().to_string(),
            deployment_id,
            expires_at: chrono::Utc::now().timestamp().saturating_add(duration),
            tx,
            inner: Mutex::new(Inner {
                history: Vec::new(),
                read_only: false,
                sends: VecDeque::new(),
                pings: 0,
                health_checks: 0,
                rate_limited: 0,
            }),
            agent_tx,
            agent_rx: Mutex::new(Some(agent_rx)),
            cancel: parent.child_token(),
            agent_name,
            changes,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Changes the session's state and tells those waiting in `WebMessaging::wait_for`.
    pub(crate) fn update<R>(&self, change: impl FnOnce(&mut Inner) -> R) -> R {
        let r = change(&mut self.lock());
        self.changed();
        r
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<WmCmd> {
        self.tx.subscribe()
    }

    pub(crate) fn send(&self, cmd: WmCmd) {
        let _ = self.tx.send(cmd);
    }

    pub(crate) fn broadcast_frame(&self, frame: &ServerFrame) {
        self.send(WmCmd::Frame(frame_text(frame)));
    }

    pub(crate) fn read_only(&self) -> bool {
        self.lock().read_only
    }

    /// Counts one `onMessage`; `Err(retry_after_secs)` when over `per_second`.
    pub(crate) fn admit(&self, per_second: u32) -> Result<(), i64> {
        let now = Instant::now();
        let mut inner = self.lock();
        while inner
            .sends
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            inner.sends.pop_front();
        }
        if inner.sends.len() >= per_second as usize {
            return Err(1);
        }
        inner.sends.push_back(now);
        Ok(())
    }

    /// Records a message in the history without sending it (the lost-echo fault).
    pub(crate) fn store(&self, msg: StructuredMessage) {
        self.update(|inner| inner.history.push(msg));
    }

    /// Records a message in the history and sends it to every socket of the session.
    pub(crate) fn publish(&self, msg: StructuredMessage, tracing_id: Option<String>) {
        let keep = matches!(msg.kind, NormalizedType::Text | NormalizedType::Structured);
        if keep {
            self.update(|inner| inner.history.push(msg.clone()));
        }
        let mut env = Envelope::message(msg);
        env.tracing_id = tracing_id;
        self.broadcast_frame(&ServerFrame::Message(env));
    }

    /// Hands a guest text to the agent.
    pub(crate) fn to_agent(&self, text: String) {
        let _ = self.agent_tx.send(text);
    }

    fn outbound(&self, kind: NormalizedType, entity: OriginatingEntity) -> StructuredMessage {
        let mut msg = StructuredMessage::new(kind);
        let id = uuid::Uuid::new_v4().to_string();
        msg.direction = Some(Direction::Outbound);
        msg.channel = Some(BaseMessagingChannel {
            time: Some(now_iso()),
            kind: Some(ChannelType::Private),
            message_id: Some(id.clone()),
            from: Some(BaseMessagingRecipient {
                nickname: Some(self.agent_name.clone()),
                ..Default::default()
            }),
            ..Default::default()
        });
        msg.id = Some(id);
        msg.originating_entity = Some(entity);
        let mut meta = BTreeMap::new();
        meta.insert("correlationId".to_owned(), uuid::Uuid::new_v4().to_string());
        msg.metadata = Some(meta);
        msg
    }

    /// The agent (or a bot) sends a text.
    pub(crate) fn agent_say(&self, text: String, entity: OriginatingEntity) -> StructuredMessage {
        let mut msg = self.outbound(NormalizedType::Text, entity);
        msg.text = Some(text);
        self.publish(msg.clone(), None);
        msg
    }

    /// The agent's typing indicator.
    pub(crate) fn agent_typing(&self) {
        let mut msg = self.outbound(NormalizedType::Event, OriginatingEntity::Human);
        msg.events = Some(vec![MessageEvent::Typing(EventTyping {
            kind: EventTypingType::On,
            duration: Some(Number::from(TYPING_MS)),
            extra: Extra::new(),
        })]);
        self.publish(msg, None);
    }

    /// The agent ends the conversation: Presence Disconnect, read-only when asked.
    pub(crate) fn disconnect(&self, read_only: bool) {
        let mut msg = self.outbound(NormalizedType::Event, OriginatingEntity::Human);
        msg.events = Some(vec![MessageEvent::presence(EventPresenceType::Disconnect)]);
        if read_only {
            if let Some(meta) = msg.metadata.as_mut() {
                meta.insert("readOnly".to_owned(), "true".to_owned());
            }
            self.update(|inner| inner.read_only = true);
        }
        self.publish(msg, None);
    }

    /// Clears the conversation: `SessionClearedEvent`, then every socket closes.
    pub(crate) fn clear(&self, tracing_id: Option<String>) {
        let mut env = Envelope::message(EventBody::default());
        env.tracing_id = tracing_id;
        self.broadcast_frame(&ServerFrame::SessionCleared(env));
        self.send(WmCmd::Close {
            except: None,
            frame: None,
            code: 1000,
        });
        self.cancel.cancel();
    }

    /// The session expired: `SessionExpiredEvent`, then every socket closes.
    pub(crate) fn expire(&self) {
        self.broadcast_frame(&ServerFrame::SessionExpired(Envelope::message(
            EventBody::default(),
        )));
        self.send(WmCmd::Close {
            except: None,
            frame: None,
            code: 1000,
        });
        self.cancel.cancel();
        // Called once the session is forgotten (see `Sessions::expire`).
        self.changed();
    }

    /// `closeSession` with `closeAllConnections`: the other sockets get `ConnectionClosedEvent`.
    pub(crate) fn close_others(&self, except: u64) {
        let frame = frame_text(&ServerFrame::ConnectionClosed(Envelope::message(
            ConnectionClosedEvent::default(),
        )));
        self.send(WmCmd::Close {
            except: Some(except),
            frame: Some(frame),
            code: 1000,
        });
    }

    /// Starts the agent task (once).
    pub(crate) fn start_agent(
        self: &Arc<Self>,
        plan: AgentPlan,
        tracker: &tokio_util::task::TaskTracker,
    ) {
        let rx = self
            .agent_rx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(rx) = rx {
            let session = self.clone();
            tracker.spawn(async move {
                let cancel = session.cancel.clone();
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = behave(&session, &plan, rx) => {}
                }
            });
        }
    }
}

/// The agents of guest chat, speaking Web Messaging: echo answers every guest text with
/// `You said: <text>` (and `bye` with `Goodbye!` and a disconnect), a script runs its steps,
/// manual waits for the control API.
async fn behave(session: &WmSession, plan: &AgentPlan, mut rx: mpsc::UnboundedReceiver<String>) {
    match &plan.mode {
        AgentMode::Echo => {
            while let Some(text) = rx.recv().await {
                session.agent_typing();
                tokio::time::sleep(plan.delay).await;
                if text.trim() == "bye" {
                    session.agent_say("Goodbye!".to_owned(), OriginatingEntity::Human);
                    session.disconnect(true);
                    return;
                }
                session.agent_say(format!("You said: {text}"), OriginatingEntity::Human);
            }
        }
        AgentMode::Script(steps) => {
            for step in steps {
                match step {
                    ScriptStep::Wait(d) => tokio::time::sleep(*d).await,
                    ScriptStep::Typing => session.agent_typing(),
                    ScriptStep::Say(t) => {
                        session.agent_say(t.clone(), OriginatingEntity::Human);
                    }
                    ScriptStep::Notice(t) => {
                        session.agent_say(t.clone(), OriginatingEntity::Bot);
                    }
                    ScriptStep::AwaitMessage => {
                        if rx.recv().await.is_none() {
                            return;
                        }
                    }
                    // Web Messaging shows no member changes: a transfer is invisible.
                    ScriptStep::Transfer(_) => {}
                    ScriptStep::End => {
                        session.disconnect(true);
                        return;
                    }
                }
            }
            while rx.recv().await.is_some() {}
        }
        AgentMode::Manual => while rx.recv().await.is_some() {},
    }
}
