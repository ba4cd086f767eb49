//! The control API under `/emulator/...` (docs/emulator.md).

use crate::agent::{self, AgentMode};
use crate::config::Faults;
use crate::conv::{ConversationState, DropMode, SocketCmd};
use crate::error::{ApiError, EmulatorError};
use crate::handle::wait_for;
use crate::state::Shared;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use guest_chat_model::{BodyType, MediaRequestType};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

pub(crate) fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/emulator/health",
            get(|| async { Json(json!({"ok": true})) }),
        )
        .merge(guarded_routes(shared))
}

/// Every control route but health: behind the control token when one is set.
fn guarded_routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/emulator/conversations", get(list))
        .route(
            "/emulator/conversations/{cid}",
            get(snapshot).delete(forget),
        )
        .route("/emulator/conversations/{cid}/wait", get(wait))
        .route(
            "/emulator/conversations/{cid}/agent/messages",
            post(agent_message),
        )
        .route(
            "/emulator/conversations/{cid}/agent/typing",
            post(agent_typing),
        )
        .route(
            "/emulator/conversations/{cid}/agent/transfer",
            post(transfer),
        )
        .route("/emulator/conversations/{cid}/end", post(end))
        .route(
            "/emulator/conversations/{cid}/duplicate-member-change",
            post(duplicate),
        )
        .route("/emulator/conversations/{cid}/mediarequests", post(media))
        .route("/emulator/conversations/{cid}/raw-frame", post(raw_frame))
        .route(
            "/emulator/conversations/{cid}/drop-socket",
            post(drop_socket),
        )
        .route("/emulator/conversations/{cid}/heartbeats", post(heartbeats))
        .route(
            "/emulator/conversations/{cid}/socket-closing",
            post(socket_closing_one),
        )
        .route("/emulator/socket-closing", post(socket_closing_all))
        .route("/emulator/conversations/{cid}/jwt", post(jwt))
        .route("/emulator/faults", get(get_faults).post(set_faults))
        .route("/emulator/agent", post(set_agent))
        .route("/emulator/conversations/{cid}/transcript", get(transcript))
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            control_auth,
        ))
        .with_state(shared)
}

/// Requires `Authorization: Bearer TOKEN` when the emulator has a control token (always on a
/// non-loopback bind): the control API mints JWTs for any chat.
async fn control_auth(
    State(shared): State<Arc<Shared>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(expected) = &shared.settings.control_token {
        let given = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !same_secret(given.trim().as_bytes(), expected.as_bytes()) {
            return ApiError::new(
                401,
                "bad.credentials",
                "The control API needs Authorization: Bearer <control token>",
            )
            .header(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Compares without stopping at the first difference.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn err(e: EmulatorError) -> ApiError {
    ApiError::from_emulator(&e)
}

/// Parses an optional JSON body leniently: empty or missing means the default.
fn body<T: for<'de> Deserialize<'de> + Default>(raw: &[u8]) -> Result<T, ApiError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(raw).map_err(|e| ApiError::bad_request_detail(e.to_string()))
}

fn ok() -> Json<Value> {
    Json(json!({"ok": true}))
}

async fn list(State(s): State<Arc<Shared>>) -> Json<Value> {
    let items: Vec<Value> = s
        .store
        .all()
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "state": c.state(),
                "agentMode": c.agent_mode_name,
                "sockets": c.status().sockets,
            })
        })
        .collect();
    Json(Value::Array(items))
}

async fn snapshot(State(s): State<Arc<Shared>>, Path(cid): Path<String>) -> Response {
    match s.conv(&cid) {
        Ok(c) => Json(c.snapshot()).into_response(),
        Err(e) => err(e).into_response(),
    }
}

async fn transcript(State(s): State<Arc<Shared>>, Path(cid): Path<String>) -> Response {
    match s.conv(&cid) {
        Ok(c) => Json(c.transcript()).into_response(),
        Err(e) => err(e).into_response(),
    }
}

async fn forget(
    State(s): State<Arc<Shared>>,
    Path(cid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    s.forget(&cid).map_err(err)?;
    Ok(ok())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ClosingBody {
    /// Milliseconds between the warning and the close (default 60,000, as on the platform).
    grace_ms: Option<u64>,
}

fn grace(raw: &[u8]) -> Result<Duration, ApiError> {
    let b: ClosingBody = body(raw)?;
    Ok(Duration::from_millis(b.grace_ms.unwrap_or(60_000)))
}

async fn socket_closing_one(
    State(s): State<Arc<Shared>>,
    Path(cid): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    s.announce_socket_closing(Some(&cid), grace(&raw)?)
        .map_err(err)?;
    Ok(ok())
}

async fn socket_closing_all(
    State(s): State<Arc<Shared>>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    s.announce_socket_closing(None, grace(&raw)?).map_err(err)?;
    Ok(ok())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WaitQuery {
    state: Option<String>,
    sockets: Option<usize>,
    timeout_ms: Option<u64>,
}

async fn wait(
    State(s): State<Arc<Shared>>,
    Path(cid): Path<String>,
    Query(q): Query<WaitQuery>,
) -> Result<Response, ApiError> {
    let state = match q.state.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => Some(v.parse::<ConversationState>().map_err(|_| {
            ApiError::invalid_query(v, "state", "created, queued, connected, ended")
        })?),
        None => None,
    };
    let timeout = Duration::from_millis(q.timeout_ms.unwrap_or(10_000));
    match tokio::time::timeout(timeout, wait_for(&s, &cid, state, q.sockets)).await {
        Ok(Ok(snap)) => Ok(Json(snap).into_response()),
        Ok(Err(e)) => Err(err(e)),
        Err(_) => Err(ApiError::new(408, "request.timeout", "The wait timed out.")),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AgentMessage {
    body: Option<String>,
    body_type: Option<BodyType>,
}

async fn agent_message(
    State(s): State<Arc<Shared>>,
    Path(cid): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let m: AgentMessage = body(&raw)?;
    let conv = s.conv(&cid).map_err(err)?;
    let msg = conv
        .agent_say(
            m.body.unwrap_or_default(),
            m.body_type.unwrap_or(BodyType::Standard),
        )
        .map_err(err)?;
    Ok(Json(msg).into_response())
}

async fn agent_typing(
    State(s): State<Arc<Shared>>,
    Path(cid): Path<String>,
) -> Result<Response, ApiError> {
    let conv = s.conv(&cid).map_err(err)?;
    Ok(Json(conv.agent_typing().map_err(err)?).into_response())
}

#[derive(Deserialize, Default)]
struct TransferBody {
    name: Option<String>,
}

async fn transfer(
    State(s): State<Arc<Shared>>,
    Path(cid): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let t: TransferBody = body(&raw)?;
    let conv = s.conv(&cid).map_err(err)?;
    let delay = s.agent_plan().delay;
    let id = agent::transfer(
        &conv,
        t.name.as_deref().unwrap_or(agent::TRANSFER_NAME),
        delay,
    )
    .await
    .map_err(err)?;
    Ok(Json(json!({"ok": true, "agentId": id})).into_response())
}

async fn end(
    State(s): State<Arc<Shared>>,
    Path(cid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    s.conv(&cid).map_err(err)?.end_by_agent().map_err(err)?;
    Ok(ok())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DuplicateBody {
    member_id: Option<String>,
}

async fn duplicate(
    State(s): State<Arc<Shared>>,
    Path(cid): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let d: DuplicateBody = body(&raw)?;
    let id = s
        .conv(&cid)
        .map_err(err)?
        .duplicate_member_change(d.member_id.as_deref())
        .map_err(err)?;
    Ok(Json(json!({"ok": true, "memberId": id})))
}

/// Sends the request body verbatim as one frame (any text, JSON or not).
async fn raw_frame(
    State(s): State<Arc<Shared>>,
    Path(cid): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let text = std::str::from_utf8(&raw)
        .map_err(|_| ApiError::bad_request("the frame must be UTF-8 text"))?;
    s.conv(&cid).map_err(err)?.push_raw_frame(text);
    Ok(Json(json!({"ok": true})))
}

#[derive(Deserialize, Default)]
struct MediaBody {
    types: Option<Vec<MediaRequestType>>,
}

async fn media(
    State(s): State<Arc<Shared>>,
    Path(cid): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let m: MediaBody = body(&raw)?;
    let types = m.types.unwrap_or_else(|| vec![MediaRequestType::Cobrowse]);
    let req = s
        .conv(&cid)
        .map_err(err)?
        .push_media_request(types)
        .map_err(err)?;
    Ok(Json(req).into_response())
}

#[derive(Deserialize, Default)]
struct DropBody {
    mode: Option<String>,
    code: Option<u16>,
}

async fn drop_socket(
    State(s): State<Arc<Shared>>,
    Path(cid): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let d: DropBody = body(&raw)?;
    let mode = match d.mode.as_deref().unwrap_or("abrupt") {
        "abrupt" => DropMode::Abrupt,
        "close" => DropMode::Close(d.code.unwrap_or(4000)),
        other => {
            return Err(ApiError::new(
                400,
                "invalid.value",
                format!("Value [{other}] is not valid for field type [mode]. Allowable values are: abrupt, close"),
            ))
        }
    };
    s.conv(&cid).map_err(err)?.broadcast(SocketCmd::Drop(mode));
    Ok(ok())
}

#[derive(Deserialize, Default)]
struct HeartbeatBody {
    paused: Option<bool>,
}

async fn heartbeats(
    State(s): State<Arc<Shared>>,
    Path(cid): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let h: HeartbeatBody = body(&raw)?;
    let paused = h.paused.unwrap_or(true);
    s.conv(&cid).map_err(err)?.pause_heartbeats(paused);
    Ok(Json(json!({"ok": true, "paused": paused})))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JwtBody {
    lifetime_secs: Option<i64>,
}

async fn jwt(
    State(s): State<Arc<Shared>>,
    Path(cid): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let j: JwtBody = body(&raw)?;
    let conv = s.conv(&cid).map_err(err)?;
    let lifetime = j
        .lifetime_secs
        .unwrap_or_else(|| i64::try_from(s.settings.jwt_lifetime.as_secs()).unwrap_or(i64::MAX));
    let token = s
        .signer
        .sign(
            &conv.id,
            &conv.deployment_id,
            &conv.guest_id,
            &conv.org_id,
            lifetime,
        )
        .map_err(err)?;
    Ok(Json(json!({"jwt": token})))
}

async fn get_faults(State(s): State<Arc<Shared>>) -> Json<Faults> {
    Json(s.faults.borrow().clone())
}

async fn set_faults(
    State(s): State<Arc<Shared>>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let f: Faults = body(&raw)?;
    f.validate().map_err(err)?;
    s.set_faults(f);
    Ok(ok())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AgentBody {
    mode: Option<String>,
    script: Option<String>,
    delay_ms: Option<u64>,
}

async fn set_agent(
    State(s): State<Arc<Shared>>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let a: AgentBody = body(&raw)?;
    let mode = match a.mode.as_deref() {
        None => None,
        Some("echo") => Some(AgentMode::Echo),
        Some("manual") => Some(AgentMode::Manual),
        Some("script") => Some(AgentMode::script(a.script.as_deref().unwrap_or("")).map_err(err)?),
        Some(other) => {
            return Err(ApiError::new(
                400,
                "invalid.value",
                format!("Value [{other}] is not valid for field type [mode]. Allowable values are: echo, manual, script"),
            ))
        }
    };
    let mut plan = s
        .agent
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(m) = mode {
        plan.mode = m;
    }
    if let Some(d) = a.delay_ms {
        plan.delay = Duration::from_millis(d);
    }
    Ok(Json(
        json!({"ok": true, "mode": plan.mode.name(), "delayMs": plan.delay.as_millis() as u64}),
    ))
}
