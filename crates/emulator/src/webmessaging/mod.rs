//! Web Messaging, the protocol that replaced guest chat, served on the same port:
//!
//! - the socket at `/v1?deploymentId=<id>` (`configureSession`, `onMessage`, `echo`,
//!   `getJwt`, `closeSession`; attachments and authenticated sessions answer 4000);
//! - the history at `GET /api/v2/webmessaging/messages?pageNumber=N&pageSize=M` with the
//!   `getJwt` JWT as bearer, newest first;
//! - the deployment configuration at `/webdeployments/v1/deployments/<id>/config.json`;
//! - control routes under `/emulator/webmessaging/...`.
//!
//! Sessions are keyed by the token the client generates; the agents are guest chat's (echo,
//! script, manual).

mod session;
mod socket;
pub(crate) mod state;

pub use state::DeploymentSettings;

use crate::error::ApiError;
use crate::handle::EmulatorHandle;
use crate::state::Shared;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use guest_chat_model::webmessaging::OriginatingEntity;
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::json;
use session::{WmCmd, WmSession};
use state::WmState;
use std::sync::Arc;

/// Default and largest history page size.
const DEFAULT_PAGE_SIZE: usize = 25;
const MAX_PAGE_SIZE: usize = 100;

/// A snapshot of one Web Messaging session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebMessagingSession {
    /// The conversation id (also the subject of its history JWTs).
    pub conversation_id: String,
    /// The deployment it was configured with.
    pub deployment_id: String,
    /// Messages in its history.
    pub messages: usize,
    /// Sends are refused.
    pub read_only: bool,
    /// WebSocket pings received from its sockets.
    pub pings: u64,
    /// `echo` health checks answered.
    pub health_checks: u64,
    /// `onMessage` requests answered 429.
    pub rate_limited: u64,
}

impl WebMessagingSession {
    fn of(s: &WmSession) -> Self {
        let inner = s.lock();
        WebMessagingSession {
            conversation_id: s.conversation_id.clone(),
            deployment_id: s.deployment_id.clone(),
            messages: inner.history.len(),
            read_only: inner.read_only,
            pings: inner.pings,
            health_checks: inner.health_checks,
            rate_limited: inner.rate_limited,
        }
    }
}

/// Drives the Web Messaging side of a running emulator ([`EmulatorHandle::web_messaging`]).
#[derive(Clone)]
pub struct WebMessaging {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for WebMessaging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebMessaging").finish_non_exhaustive()
    }
}

fn not_found(id: &str) -> crate::EmulatorError {
    crate::EmulatorError::NotFound(id.to_owned())
}

impl WebMessaging {
    fn wm(&self) -> &WmState {
        &self.shared.webmessaging
    }

    fn session(&self, conversation_id: &str) -> Result<Arc<WmSession>, crate::EmulatorError> {
        self.wm()
            .by_conversation(conversation_id)
            .ok_or_else(|| not_found(conversation_id))
    }

    /// Settings of deployments without their own (default: everything allowed).
    pub fn set_default_deployment(&self, settings: DeploymentSettings) {
        *self
            .wm()
            .default_deployment
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = settings;
    }

    /// Settings of one deployment.
    pub fn set_deployment(&self, deployment_id: impl Into<String>, settings: DeploymentSettings) {
        self.wm()
            .deployments
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(deployment_id.into(), settings);
    }

    /// `onMessage` requests allowed per second and session (`None`: no limit; default 2, as
    /// the service).
    pub fn set_rate_limit(&self, per_second: Option<u32>) {
        *self
            .wm()
            .rate_per_second
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = per_second;
    }

    /// Fault: the next `count` guest texts are stored and reach the agent, but their `Inbound`
    /// echo (the sender's acknowledgement) is never sent.
    pub fn lose_echoes(&self, count: u32) {
        self.wm().faults().lose_echoes = count;
    }

    /// Fault: the next `count` guest texts have their `Inbound` echo sent twice.
    pub fn duplicate_echoes(&self, count: u32) {
        self.wm().faults().duplicate_echoes = count;
    }

    /// Fault: the next `count` `onMessage` requests are answered 429
    /// `TooManyRequestsErrorMessage` with this `retryAfter` (seconds), and not processed.
    pub fn refuse_messages(&self, count: u32, retry_after_secs: i64) {
        let mut f = self.wm().faults();
        f.refuse = count;
        f.refuse_retry_after = retry_after_secs;
    }

    /// Every live session.
    pub fn sessions(&self) -> Vec<WebMessagingSession> {
        self.wm()
            .lock()
            .by_conversation
            .values()
            .map(|s| WebMessagingSession::of(s))
            .collect()
    }

    /// Waits until `ready` holds for the live sessions and returns them. `ready` is asked
    /// again after every change (a session opened or forgotten, a message stored, a ping, a
    /// health check or a 429 counted), so a test awaits a count instead of polling it. Wrap it
    /// in a timeout: it waits as long as it takes.
    pub async fn wait_for(
        &self,
        mut ready: impl FnMut(&[WebMessagingSession]) -> bool,
    ) -> Vec<WebMessagingSession> {
        let mut changes = self.wm().changes.subscribe();
        loop {
            // Marked seen before the snapshot: a change after it wakes the wait below.
            changes.borrow_and_update();
            let sessions = self.sessions();
            if ready(&sessions) {
                return sessions;
            }
            // The sender lives in `self.shared`, so this never ends in an error.
            if changes.changed().await.is_err() {
                return sessions;
            }
        }
    }

    /// The agent sends a text (Outbound, `Human`).
    pub fn agent_say(&self, conversation_id: &str, text: &str) -> Result<(), crate::EmulatorError> {
        self.session(conversation_id)?
            .agent_say(text.to_owned(), OriginatingEntity::Human);
        Ok(())
    }

    /// A bot sends a text (Outbound, `Bot`).
    pub fn bot_say(&self, conversation_id: &str, text: &str) -> Result<(), crate::EmulatorError> {
        self.session(conversation_id)?
            .agent_say(text.to_owned(), OriginatingEntity::Bot);
        Ok(())
    }

    /// The agent's typing indicator.
    pub fn agent_typing(&self, conversation_id: &str) -> Result<(), crate::EmulatorError> {
        self.session(conversation_id)?.agent_typing();
        Ok(())
    }

    /// The agent ends the conversation (Presence Disconnect; read-only when the deployment says
    /// so).
    pub fn disconnect(&self, conversation_id: &str) -> Result<(), crate::EmulatorError> {
        let s = self.session(conversation_id)?;
        let read_only = self
            .wm()
            .deployment(&s.deployment_id)
            .read_only_on_disconnect;
        s.disconnect(read_only);
        Ok(())
    }

    /// The session expires: `SessionExpiredEvent`, the sockets close, and configuring the
    /// token again answers 4007.
    pub fn expire(&self, conversation_id: &str) -> Result<(), crate::EmulatorError> {
        let s = self.session(conversation_id)?;
        self.wm().lock().expire(&s);
        s.expire();
        Ok(())
    }

    /// Drops every socket of the session without a close frame (the session lives on).
    pub fn drop_sockets(&self, conversation_id: &str) -> Result<(), crate::EmulatorError> {
        self.session(conversation_id)?.send(WmCmd::Drop);
        Ok(())
    }
}

impl EmulatorHandle {
    /// The Web Messaging side of this emulator.
    pub fn web_messaging(&self) -> WebMessaging {
        WebMessaging {
            shared: self.shared().clone(),
        }
    }
}

pub(crate) fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1", get(socket::upgrade))
        .route("/api/v2/webmessaging/messages", get(history))
        .route(
            "/webdeployments/v1/deployments/{id}/config.json",
            get(config_json),
        )
        .route("/emulator/webmessaging/sessions", get(list_sessions))
        .route(
            "/emulator/webmessaging/sessions/{cid}/agent/messages",
            post(control_say),
        )
        .route(
            "/emulator/webmessaging/sessions/{cid}/agent/typing",
            post(control_typing),
        )
        .route(
            "/emulator/webmessaging/sessions/{cid}/disconnect",
            post(control_disconnect),
        )
        .route(
            "/emulator/webmessaging/sessions/{cid}/expire",
            post(control_expire),
        )
        .route(
            "/emulator/webmessaging/sessions/{cid}/drop-socket",
            post(control_drop),
        )
        .route(
            "/emulator/webmessaging/deployments/{id}",
            get(control_get_deployment).put(control_set_deployment),
        )
        .with_state(shared)
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(rename = "pageNumber")]
    page_number: Option<String>,
    #[serde(rename = "pageSize")]
    page_size: Option<String>,
}

fn parse_positive(value: Option<&str>, default: usize, name: &str) -> Result<usize, ApiError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| ApiError::bad_request(format!("{name} must be a positive integer."))),
    }
}

async fn history(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let token = match crate::auth::bearer_token(&headers) {
        Ok(t) => t.to_owned(),
        Err(e) => return e.into_response(),
    };
    let claims = match crate::auth::verify(&shared, &token) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let page_number = match parse_positive(q.page_number.as_deref(), 1, "pageNumber") {
        Ok(n) => n,
        Err(e) => return e.into_response(),
    };
    let page_size = match parse_positive(q.page_size.as_deref(), DEFAULT_PAGE_SIZE, "pageSize") {
        Ok(n) => n.min(MAX_PAGE_SIZE),
        Err(e) => return e.into_response(),
    };
    let Some(session) = shared.webmessaging.by_conversation(&claims.data.conv) else {
        return ApiError::not_found().into_response();
    };
    let history = session.lock().history.clone();
    let total = history.len();
    let entities: Vec<_> = history
        .into_iter()
        .rev()
        .skip(page_size.saturating_mul(page_number - 1))
        .take(page_size)
        .collect();
    Json(json!({
        "entities": entities,
        "pageSize": page_size,
        "pageNumber": page_number,
        "total": total,
        "pageCount": total.div_ceil(page_size),
    }))
    .into_response()
}

async fn config_json(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let id = id.trim_end_matches(".json").to_owned();
    let s = shared.webmessaging.deployment(&id);
    let scheme = if shared.tls_certificate.is_some() {
        "https"
    } else {
        "http"
    };
    let base = format!("{scheme}://{}", shared.local_addr);
    let ws = format!("{}://{}", shared.ws_scheme(), shared.local_addr);
    Json(json!({
        "id": id,
        "version": "1",
        "status": "Active",
        "defaultLanguage": "en-us",
        "languages": ["en-us"],
        "apiEndpoint": base,
        "messenger": {
            "enabled": true,
            "apps": {
                "conversations": {
                    "enabled": true,
                    "messagingEndpoint": ws,
                    "showAgentTypingIndicator": true,
                    "showUserTypingIndicator": s.user_typing_indicator,
                    "autoStart": {"enabled": false},
                    "conversationDisconnect": {
                        "enabled": true,
                        "type": if s.read_only_on_disconnect { "ReadOnly" } else { "Send" },
                    },
                    "conversationClear": {"enabled": s.conversation_clear},
                    "markdown": {"enabled": false},
                },
            },
            "fileUpload": {"enableAttachments": false, "modes": []},
        },
        "auth": {"enabled": false, "allowSessionUpgrade": false},
        "journeyEvents": {"enabled": false},
    }))
    .into_response()
}

fn control(shared: Arc<Shared>) -> WebMessaging {
    WebMessaging { shared }
}

fn done(r: Result<(), crate::EmulatorError>) -> Response {
    match r {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err(e) => ApiError::from_emulator(&e).into_response(),
    }
}

async fn list_sessions(State(shared): State<Arc<Shared>>) -> Response {
    Json(control(shared).sessions()).into_response()
}

#[derive(Deserialize)]
struct SayBody {
    text: String,
    #[serde(default)]
    bot: bool,
}

async fn control_say(
    State(shared): State<Arc<Shared>>,
    Path(cid): Path<String>,
    Json(body): Json<SayBody>,
) -> Response {
    let c = control(shared);
    done(if body.bot {
        c.bot_say(&cid, &body.text)
    } else {
        c.agent_say(&cid, &body.text)
    })
}

async fn control_typing(State(shared): State<Arc<Shared>>, Path(cid): Path<String>) -> Response {
    done(control(shared).agent_typing(&cid))
}

async fn control_disconnect(
    State(shared): State<Arc<Shared>>,
    Path(cid): Path<String>,
) -> Response {
    done(control(shared).disconnect(&cid))
}

async fn control_expire(State(shared): State<Arc<Shared>>, Path(cid): Path<String>) -> Response {
    done(control(shared).expire(&cid))
}

async fn control_drop(State(shared): State<Arc<Shared>>, Path(cid): Path<String>) -> Response {
    done(control(shared).drop_sockets(&cid))
}

async fn control_get_deployment(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Response {
    Json(shared.webmessaging.deployment(&id)).into_response()
}

async fn control_set_deployment(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Json(settings): Json<DeploymentSettings>,
) -> Response {
    control(shared.clone()).set_deployment(id.clone(), settings);
    Json(shared.webmessaging.deployment(&id)).into_response()
}
