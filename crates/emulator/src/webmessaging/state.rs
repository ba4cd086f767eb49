//! Web Messaging sessions (by token and by conversation) and deployment settings, kept in the
//! emulator's shared state.

use super::session::{WmCmd, WmSession};
use crate::agent::AgentPlan;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// `maxCustomDataBytes` the emulator announces.
pub(crate) const MAX_CUSTOM_DATA_BYTES: u64 = 2048;

/// What a new session's agent runs with and under.
pub(crate) struct Agents<'a> {
    pub(crate) plan: AgentPlan,
    pub(crate) cancel: &'a CancellationToken,
    pub(crate) tracker: &'a TaskTracker,
}

/// What a deployment allows, as its `config.json` says and the socket enforces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentSettings {
    /// `conversationClear.enabled`: Presence Clear ends the conversation (else 403).
    pub conversation_clear: bool,
    /// `showUserTypingIndicator`: the guest may send Typing events (else 403).
    pub user_typing_indicator: bool,
    /// After the agent's Presence Disconnect, the conversation turns read-only
    /// (`conversationDisconnect.type: ReadOnly`).
    pub read_only_on_disconnect: bool,
    /// Session lifetime, announced as `durationSeconds`: when it is over the session expires
    /// (`SessionExpiredEvent`, its sockets close, and its token answers 4007 from then on).
    pub session_duration_secs: u64,
}

impl Default for DeploymentSettings {
    fn default() -> Self {
        DeploymentSettings {
            conversation_clear: true,
            user_typing_indicator: true,
            read_only_on_disconnect: true,
            session_duration_secs: 72 * 3600,
        }
    }
}

#[derive(Default)]
pub(crate) struct Sessions {
    pub(crate) by_token: HashMap<String, Arc<WmSession>>,
    pub(crate) by_conversation: HashMap<String, Arc<WmSession>>,
    /// Tokens of expired sessions: configuring them again answers 4007.
    pub(crate) expired: HashSet<String>,
}

impl Sessions {
    /// Forgets `session` (its token may already belong to a newer session).
    pub(crate) fn remove(&mut self, session: &WmSession) {
        if self
            .by_token
            .get(&session.token)
            .is_some_and(|s| s.conversation_id == session.conversation_id)
        {
            self.by_token.remove(&session.token);
        }
        self.by_conversation.remove(&session.conversation_id);
    }

    /// Forgets `session` and remembers its token as expired (configuring it again answers 4007).
    pub(crate) fn expire(&mut self, session: &WmSession) {
        self.remove(session);
        self.expired.insert(session.token.clone());
    }
}

fn lock(sessions: &Mutex<Sessions>) -> std::sync::MutexGuard<'_, Sessions> {
    sessions
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Expires `session` once its lifetime `after` (the deployment's `session_duration_secs`, the
/// service's session TTL) is over, unless it ends first.
fn expire_on_time(
    sessions: Arc<Mutex<Sessions>>,
    session: Arc<WmSession>,
    after: Duration,
    tracker: &TaskTracker,
) {
    tracker.spawn(async move {
        tokio::select! {
            _ = session.cancel.cancelled() => {}
            _ = tokio::time::sleep(after) => {
                lock(&sessions).expire(&session);
                session.expire();
            }
        }
    });
}

/// Web Messaging state of one emulator.
pub(crate) struct WmState {
    pub(crate) sessions: Arc<Mutex<Sessions>>,
    pub(crate) deployments: RwLock<HashMap<String, DeploymentSettings>>,
    pub(crate) default_deployment: RwLock<DeploymentSettings>,
    pub(crate) rate_per_second: RwLock<Option<u32>>,
    pub(crate) next_socket: AtomicU64,
    pub(crate) faults: Mutex<WmFaults>,
    /// Bumped after every change of a session (its counters, its history, a session opened
    /// or forgotten): `WebMessaging::wait_for` awaits it instead of polling.
    pub(crate) changes: watch::Sender<u64>,
}

/// One-shot Web Messaging faults: each count is used up by the requests it hits.
#[derive(Debug, Default)]
pub(crate) struct WmFaults {
    /// `onMessage` texts stored and handed to the agent, but whose `Inbound` echo is not sent.
    pub(crate) lose_echoes: u32,
    /// `onMessage` texts whose `Inbound` echo is sent twice.
    pub(crate) duplicate_echoes: u32,
    /// `onMessage` requests answered 429 with `refuse_retry_after`, not processed.
    pub(crate) refuse: u32,
    pub(crate) refuse_retry_after: i64,
}

impl Default for WmState {
    fn default() -> Self {
        WmState {
            sessions: Arc::default(),
            deployments: RwLock::default(),
            default_deployment: RwLock::default(),
            rate_per_second: RwLock::new(Some(guest_chat_model::webmessaging::MESSAGES_PER_SECOND)),
            next_socket: AtomicU64::new(1),
            faults: Mutex::default(),
            changes: watch::Sender::new(0),
        }
    }
}

impl WmState {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        lock(&self.sessions)
    }

    pub(crate) fn deployment(&self, id: &str) -> DeploymentSettings {
        let map = self
            .deployments
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match map.get(id) {
            Some(s) => s.clone(),
            None => self
                .default_deployment
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        }
    }

    pub(crate) fn faults(&self) -> std::sync::MutexGuard<'_, WmFaults> {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn rate_per_second(&self) -> Option<u32> {
        *self
            .rate_per_second
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The session of `token`, created when new (`true`) or when `start_new`;
    /// `Err` for the token of an expired session.
    pub(crate) fn open(
        &self,
        agents: Agents<'_>,
        token: &str,
        deployment: &str,
        start_new: bool,
    ) -> Result<(Arc<WmSession>, bool), ()> {
        let mut sessions = self.lock();
        if sessions.expired.contains(token) && !start_new {
            return Err(());
        }
        if !start_new {
            if let Some(s) = sessions.by_token.get(token) {
                return Ok((s.clone(), false));
            }
        }
        sessions.expired.remove(token);
        if let Some(old) = sessions.by_token.remove(token) {
            sessions.by_conversation.remove(&old.conversation_id);
            old.cancel.cancel();
        }
        let plan = agents.plan;
        let settings = self.deployment(deployment);
        let session = WmSession::new(
            token.to_owned(),
            deployment.to_owned(),
            settings.session_duration_secs,
            plan.name.clone(),
            agents.cancel,
            self.changes.clone(),
        );
        session.start_agent(plan, agents.tracker);
        let lifetime = Duration::from_secs(settings.session_duration_secs);
        expire_on_time(
            self.sessions.clone(),
            session.clone(),
            lifetime,
            agents.tracker,
        );
        sessions.by_token.insert(token.to_owned(), session.clone());
        sessions
            .by_conversation
            .insert(session.conversation_id.clone(), session.clone());
        drop(sessions);
        self.changed();
        Ok((session, true))
    }

    pub(crate) fn remove(&self, session: &WmSession) {
        self.lock().remove(session);
        self.changed();
    }

    /// Tells those waiting in `WebMessaging::wait_for` that a session changed.
    pub(crate) fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Drops every Web Messaging socket (the `drop_sockets_secs` fault); sessions live on.
    pub(crate) fn drop_all_sockets(&self) {
        for s in self.lock().by_conversation.values() {
            s.send(WmCmd::Drop);
        }
    }

    pub(crate) fn by_conversation(&self, id: &str) -> Option<Arc<WmSession>> {
        self.lock().by_conversation.get(id).cloned()
    }
}
