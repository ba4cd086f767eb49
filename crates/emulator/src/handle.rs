//! [`EmulatorHandle`]: the running emulator's test-facing API, which the control routes share.

use crate::agent::{self, AgentMode};
use crate::config::Faults;
use crate::conv::{ConversationSnapshot, ConversationState, DropMode, SocketCmd};
use crate::error::EmulatorError;
use crate::state::Shared;
use guest_chat_model::{
    BodyType, MediaRequestType, WebChatGuestMediaRequest, WebChatMessage, WebChatTyping,
};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running emulator (cheap to clone). Dropping it does not stop the server; call
/// [`EmulatorHandle::shutdown`].
#[derive(Clone)]
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    server: Arc<Mutex<Option<tokio::task::JoinHandle<std::io::Result<()>>>>>,
}

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("local_addr", &self.shared.local_addr)
            .finish()
    }
}

impl EmulatorHandle {
    /// The handle of a started emulator whose server task is `server`.
    pub(crate) fn new(
        shared: Arc<Shared>,
        server: tokio::task::JoinHandle<std::io::Result<()>>,
    ) -> Self {
        EmulatorHandle {
            shared,
            server: Arc::new(Mutex::new(Some(server))),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` with TLS.
    pub fn base_url(&self) -> String {
        let scheme = if self.shared.tls_certificate.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.shared.local_addr)
    }

    /// The certificate (PEM) clients must trust to reach this emulator over TLS: the
    /// generated one, or the chain given to [`EmulatorTls::from_pem`](crate::EmulatorTls::from_pem). `None` without TLS.
    pub fn tls_certificate_pem(&self) -> Option<String> {
        self.shared.tls_certificate.clone()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Stops the listener, closes every socket and ends every agent task.
    pub async fn shutdown(&self) {
        self.shared.cancel.cancel();
        self.shared.tracker.close();
        let server = self
            .server
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(server) = server {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.shared.tracker.wait()).await;
    }

    /// Ids and snapshots of every conversation.
    pub fn conversations(&self) -> Vec<ConversationSnapshot> {
        self.shared
            .store
            .all()
            .iter()
            .map(|c| c.snapshot())
            .collect()
    }

    /// Every message stored in the conversation (guest, agent and system), oldest first: what
    /// the service recorded, for checking that each message arrived once and in order.
    pub fn transcript(&self, cid: &str) -> Result<Vec<WebChatMessage>, EmulatorError> {
        Ok(self.shared.conv(cid)?.transcript())
    }

    /// The token the control API requires (`Authorization: Bearer ...`): the one given to
    /// [`EmulatorBuilder::control_token`](crate::EmulatorBuilder::control_token), or the one generated for a non-loopback bind.
    /// `None` when the control API is open (loopback, no token given).
    pub fn control_token(&self) -> Option<String> {
        self.shared.settings.control_token.clone()
    }

    /// Conversations kept right now (live, and ended ones not yet forgotten).
    pub fn conversation_count(&self) -> usize {
        self.shared.store.len()
    }

    /// One conversation's snapshot.
    pub fn conversation_snapshot(&self, cid: &str) -> Result<ConversationSnapshot, EmulatorError> {
        Ok(self.shared.conv(cid)?.snapshot())
    }

    /// The current agent sends a message.
    pub fn agent_say(
        &self,
        cid: &str,
        text: impl Into<String>,
    ) -> Result<WebChatMessage, EmulatorError> {
        self.shared
            .conv(cid)?
            .agent_say(text.into(), BodyType::Standard)
    }

    /// The current agent sends a message with this body type.
    pub fn agent_send(
        &self,
        cid: &str,
        text: impl Into<String>,
        body_type: BodyType,
    ) -> Result<WebChatMessage, EmulatorError> {
        self.shared.conv(cid)?.agent_say(text.into(), body_type)
    }

    /// The current agent's typing indicator.
    pub fn agent_typing(&self, cid: &str) -> Result<WebChatTyping, EmulatorError> {
        self.shared.conv(cid)?.agent_typing()
    }

    /// Transfers to a new agent; returns once the new agent is CONNECTED, with its id.
    pub async fn transfer(&self, cid: &str, name: Option<&str>) -> Result<String, EmulatorError> {
        let conv = self.shared.conv(cid)?;
        let delay = self.shared.agent_plan().delay;
        agent::transfer(&conv, name.unwrap_or(agent::TRANSFER_NAME), delay).await
    }

    /// The agent ends the chat.
    pub fn end_chat(&self, cid: &str) -> Result<(), EmulatorError> {
        self.shared.conv(cid)?.end_by_agent()
    }

    /// Re-sends a member's current state (default: the agent) as a new member-change.
    pub fn duplicate_member_change(
        &self,
        cid: &str,
        member_id: Option<&str>,
    ) -> Result<String, EmulatorError> {
        self.shared.conv(cid)?.duplicate_member_change(member_id)
    }

    /// Sends `text` verbatim as one frame to every socket of the conversation: for testing
    /// how clients take unknown topics and malformed frames.
    pub fn push_raw_frame(&self, cid: &str, text: &str) -> Result<(), EmulatorError> {
        self.shared.conv(cid)?.push_raw_frame(text);
        Ok(())
    }

    /// Creates a PENDING media request and announces it with a `media-request` message.
    pub fn push_media_request(
        &self,
        cid: &str,
        types: Vec<MediaRequestType>,
    ) -> Result<WebChatGuestMediaRequest, EmulatorError> {
        self.shared.conv(cid)?.push_media_request(types)
    }

    /// Drops every socket attached to the conversation.
    pub fn drop_sockets(&self, cid: &str, mode: DropMode) -> Result<(), EmulatorError> {
        self.shared.conv(cid)?.broadcast(SocketCmd::Drop(mode));
        Ok(())
    }

    /// Forgets the conversation, as the service eventually does: its sockets are closed with
    /// 4100 `Error connecting to conversation (<id>)`, a new socket with its (still valid) JWT
    /// is accepted and closed the same way, and REST calls answer 404. The emulator also
    /// forgets every conversation by itself once its JWT has expired.
    pub fn forget(&self, cid: &str) -> Result<(), EmulatorError> {
        self.shared.forget(cid)
    }

    /// Sends `v2.system.socket_closing` (docs/protocol.md 7.11) to the conversation's sockets
    /// (`None`: to every socket), then closes them with 1001 after `grace`, as the platform
    /// does before maintenance. Clients that reconnect at once lose nothing.
    pub fn announce_socket_closing(
        &self,
        cid: Option<&str>,
        grace: Duration,
    ) -> Result<(), EmulatorError> {
        self.shared.announce_socket_closing(cid, grace)
    }

    /// Pauses or resumes heartbeats on the conversation's sockets.
    pub fn pause_heartbeats(&self, cid: &str, paused: bool) -> Result<(), EmulatorError> {
        self.shared.conv(cid)?.pause_heartbeats(paused);
        Ok(())
    }

    /// Replaces the fault settings.
    pub fn set_faults(&self, faults: Faults) -> Result<(), EmulatorError> {
        faults.validate()?;
        self.shared.set_faults(faults);
        Ok(())
    }

    /// Changes the agent mode (and optionally delay) of conversations created from now on.
    pub fn set_agent(&self, mode: AgentMode, delay: Option<Duration>) {
        let mut plan = self
            .shared
            .agent
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        plan.mode = mode;
        if let Some(d) = delay {
            plan.delay = d;
        }
    }

    /// A guest JWT for the conversation with this lifetime in seconds (negative = already expired).
    pub fn mint_jwt(&self, cid: &str, lifetime_secs: i64) -> Result<String, EmulatorError> {
        let conv = self.shared.conv(cid)?;
        self.shared.signer.sign(
            &conv.id,
            &conv.deployment_id,
            &conv.guest_id,
            &conv.org_id,
            lifetime_secs,
        )
    }

    /// Waits until the conversation is in `state`.
    pub async fn wait_for_state(
        &self,
        cid: &str,
        state: ConversationState,
    ) -> Result<ConversationSnapshot, EmulatorError> {
        wait_for(&self.shared, cid, Some(state), None).await
    }

    /// Waits until at least `n` sockets are attached.
    pub async fn wait_for_sockets(
        &self,
        cid: &str,
        n: usize,
    ) -> Result<ConversationSnapshot, EmulatorError> {
        wait_for(&self.shared, cid, None, Some(n)).await
    }
}

/// Awaits a status change (never polls) until the condition holds.
pub(crate) async fn wait_for(
    shared: &Shared,
    cid: &str,
    state: Option<ConversationState>,
    sockets: Option<usize>,
) -> Result<ConversationSnapshot, EmulatorError> {
    let conv = shared.conv(cid)?;
    let mut rx = conv.watch();
    let cond = |s: &crate::conv::Status| {
        state.is_none_or(|st| s.state == st) && sockets.is_none_or(|n| s.sockets >= n)
    };
    tokio::select! {
        r = rx.wait_for(cond) => { r.map_err(|_| EmulatorError::Shutdown)?; }
        _ = shared.cancel.cancelled() => return Err(EmulatorError::Shutdown),
    }
    Ok(conv.snapshot())
}
