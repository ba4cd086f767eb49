//! The Web Messaging socket: `GET /v1?deploymentId=<id>`.

use super::session::{frame_text, now_iso, WmCmd, WmSession};
use super::state::{Agents, DeploymentSettings, WmState, MAX_CUSTOM_DATA_BYTES};
use crate::error::ApiError;
use crate::state::Shared;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use guest_chat_model::webmessaging::{
    BaseMessagingChannel, ClientRequest, Direction, Envelope, EventPresenceType, JwtResponse,
    MessageEvent, NormalizedType, Secret, ServerFrame, SessionResponse, StructuredMessage,
    TooManyRequestsErrorMessage, MAX_TOKEN_CHARS,
};
use http::HeaderMap;
use serde_json::{json, Number, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Lifetime of the history JWTs `getJwt` hands out.
pub(crate) const JWT_LIFETIME_SECS: i64 = 3600;

pub(crate) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let deployment = query
        .get("deploymentId")
        .map(|d| d.trim().to_owned())
        .unwrap_or_default();
    if deployment.is_empty() {
        return ApiError::bad_request("The deploymentId query parameter is required.")
            .into_response();
    }
    let cfg = &shared.config;
    if (!cfg.deployments.is_empty() && !cfg.deployments.contains(&deployment))
        || cfg.disabled_deployments.contains(&deployment)
    {
        return ApiError::new(
            403,
            "forbidden",
            "This deployment does not accept connections.",
        )
        .into_response();
    }
    if !cfg.allowed_origins.is_empty() {
        let origin = headers
            .get(http::header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !cfg.allowed_origins.iter().any(|o| o == origin) {
            return ApiError::new(403, "origin.not.allowed", "The origin is not allowed.")
                .into_response();
        }
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    ws.read_buffer_size(4 * 1024)
        .on_upgrade(move |socket| serve(shared, deployment, socket))
}

struct Conn {
    id: u64,
    deployment: String,
    session: Option<Arc<WmSession>>,
    rx: Option<broadcast::Receiver<WmCmd>>,
}

async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(msg)) = socket.recv().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

async fn recv_cmd(rx: &mut Option<broadcast::Receiver<WmCmd>>) -> Option<WmCmd> {
    match rx {
        // A socket too slow to keep up is dropped; the client resyncs through history.
        Some(rx) => match rx.recv().await {
            Ok(cmd) => Some(cmd),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(WmCmd::Drop),
            Err(broadcast::error::RecvError::Closed) => None,
        },
        None => std::future::pending().await,
    }
}

async fn serve(shared: Arc<Shared>, deployment: String, mut socket: WebSocket) {
    let wm = &shared.webmessaging;
    let mut conn = Conn {
        id: wm.next_socket.fetch_add(1, Ordering::Relaxed),
        deployment,
        session: None,
        rx: None,
    };
    let cancel = shared.cancel.clone();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => {
                close(socket, 1001, "Going away").await;
                return;
            }
            cmd = recv_cmd(&mut conn.rx) => match cmd {
                Some(WmCmd::Frame(text)) => {
                    if socket.send(Message::Text(text.as_ref().into())).await.is_err() {
                        return;
                    }
                }
                Some(WmCmd::Close { except, frame, code }) => {
                    if except == Some(conn.id) {
                        continue;
                    }
                    if let Some(frame) = frame {
                        if socket.send(Message::Text(frame.as_ref().into())).await.is_err() {
                            return;
                        }
                    }
                    close(socket, code, "").await;
                    return;
                }
                Some(WmCmd::Drop) => return,
                // The session is gone (cleared or expired elsewhere): stop listening to it.
                None => conn.rx = None,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(text))) => {
                    for reply in handle(&shared, &mut conn, text.as_str()) {
                        if socket.send(Message::Text(reply.as_ref().into())).await.is_err() {
                            return;
                        }
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                // The pong is sent by the WebSocket layer; the ping is counted.
                Some(Ok(Message::Ping(_))) => {
                    if let Some(s) = &conn.session {
                        s.update(|inner| inner.pings += 1);
                    }
                }
                Some(Ok(_)) => {}
            },
        }
    }
}

fn error(code: i64, text: impl Into<String>, tracing_id: Option<String>) -> Arc<str> {
    frame_text(&ServerFrame::error(code, text, tracing_id))
}

/// Handles one text frame: the frames to send back to this socket.
/// `onAttachment` on a deployment without attachments (Shyrka 4000, feature unavailable).
const ATTACHMENTS_OFF: i64 = 4000;
/// `getAttachment` / `deleteAttachment` of an id the session never uploaded (Shyrka 4009).
const ATTACHMENT_NOT_FOUND: i64 = 4009;

/// The request in `text` and its `tracingId`, or the error frame that answers it.
fn parse(text: &str) -> Result<(ClientRequest, Option<String>), Arc<str>> {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Err(error(400, format!("Invalid JSON: {e}"), None)),
    };
    let tracing_id = value
        .get("tracingId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let request = match serde_json::from_value::<ClientRequest>(value) {
        Ok(r) => r,
        Err(e) => return Err(error(400, format!("Invalid request: {e}"), tracing_id)),
    };
    if request.token().char_len() > MAX_TOKEN_CHARS {
        return Err(error(
            400,
            format!("The token must be at most {MAX_TOKEN_CHARS} characters."),
            tracing_id,
        ));
    }
    Ok((request, tracing_id))
}

fn handle(shared: &Shared, conn: &mut Conn, text: &str) -> Vec<Arc<str>> {
    let (request, tracing_id) = match parse(text) {
        Ok(parsed) => parsed,
        Err(frame) => return vec![frame],
    };
    let reply = match request {
        ClientRequest::ConfigureSession(r) => {
            return configure(shared, conn, r.token, r.start_new == Some(true), tracing_id)
        }
        ClientRequest::ConfigureAuthenticatedSession(_) => error(
            4000,
            "Authenticated sessions are not available on this emulator.",
            tracing_id,
        ),
        ClientRequest::Echo(r) => echo_reply(conn, r, tracing_id),
        other => {
            let Some(session) = conn
                .session
                .clone()
                .filter(|s| s.token == other.token().expose() && !s.cancel.is_cancelled())
            else {
                return vec![error(
                    4007,
                    "Session not found: send configureSession first.",
                    tracing_id,
                )];
            };
            return in_session(shared, conn, &session, other, tracing_id);
        }
    };
    vec![reply]
}

/// A request that needs the socket's configured `session`.
fn in_session(
    shared: &Shared,
    conn: &mut Conn,
    session: &Arc<WmSession>,
    request: ClientRequest,
    tracing_id: Option<String>,
) -> Vec<Arc<str>> {
    let wm = &shared.webmessaging;
    let reply = match request {
        ClientRequest::OnMessage(r) => {
            let settings = wm.deployment(&session.deployment_id);
            return on_message(shared, conn, session, &settings, r, tracing_id);
        }
        ClientRequest::GetJwt(_) => jwt_reply(shared, session, tracing_id),
        ClientRequest::CloseSession(r) => {
            if r.close_all_connections {
                session.close_others(conn.id);
            }
            let body = SessionResponse {
                connected: false,
                read_only: Some(session.read_only()),
                ..Default::default()
            };
            conn.session = None;
            conn.rx = None;
            frame_text(&ServerFrame::SessionResponse(Envelope::response(
                body, tracing_id,
            )))
        }
        ClientRequest::GetConfiguration(_) => {
            configuration_reply(&wm.deployment(&session.deployment_id), tracing_id)
        }
        // The emulator's deployments have attachments off (`config.json`:
        // `fileUpload.enableAttachments: false`): no upload URL is ever handed out,
        // so no attachment id can name one.
        ClientRequest::OnAttachment(_) => error(
            ATTACHMENTS_OFF,
            "Attachments are not enabled on this deployment: onAttachment is refused.",
            tracing_id,
        ),
        ClientRequest::GetAttachment(r) | ClientRequest::DeleteAttachment(r) => error(
            ATTACHMENT_NOT_FOUND,
            format!("Attachment not found: {}.", r.attachment_id),
            tracing_id,
        ),
        _ => error(
            ATTACHMENTS_OFF,
            "This request is not available on this emulator.",
            tracing_id,
        ),
    };
    vec![reply]
}

/// The answer to `echo`: the message back (Inbound) with the session's countdown.
fn echo_reply(
    conn: &Conn,
    r: guest_chat_model::webmessaging::SendEchoRequest,
    tracing_id: Option<String>,
) -> Arc<str> {
    let mut msg = StructuredMessage::new(r.message.kind.clone());
    msg.text = r.message.text.clone();
    msg.direction = Some(Direction::Inbound);
    msg.id = Some(uuid::Uuid::new_v4().to_string());
    if let Some(s) = &conn.session {
        s.update(|inner| inner.health_checks += 1);
        let mut meta = BTreeMap::new();
        let left = s.expires_at - chrono::Utc::now().timestamp();
        meta.insert("durationSeconds".to_owned(), left.max(0).to_string());
        meta.insert("expirationDate".to_owned(), s.expires_at.to_string());
        msg.metadata = Some(meta);
    }
    frame_text(&ServerFrame::Message(Envelope::response(msg, tracing_id)))
}

/// The answer to `getJwt`: a history JWT for the session's conversation.
fn jwt_reply(shared: &Shared, session: &WmSession, tracing_id: Option<String>) -> Arc<str> {
    match shared.signer.sign(
        &session.conversation_id,
        &session.deployment_id,
        &session.conversation_id,
        "webmessaging",
        JWT_LIFETIME_SECS,
    ) {
        Ok(jwt) => frame_text(&ServerFrame::Jwt(Envelope::response(
            JwtResponse {
                jwt: Secret::new(jwt),
                exp: Number::from(
                    chrono::Utc::now()
                        .timestamp()
                        .saturating_add(JWT_LIFETIME_SECS),
                ),
                tracing_id: None,
                extra: Default::default(),
            },
            tracing_id,
        ))),
        Err(_) => error(5000, "Could not sign a token.", tracing_id),
    }
}

/// The answer to `getConfiguration`.
fn configuration_reply(settings: &DeploymentSettings, tracing_id: Option<String>) -> Arc<str> {
    let mut frame = json!({
        "type": "response",
        "class": "GetConfigurationResponse",
        "code": 200,
        "body": {
            "allowedMedia": {"inbound": {"fileTypes": [], "maxFileSizeKB": 0}},
            "blockedExtensions": [],
            "maxCustomDataBytes": MAX_CUSTOM_DATA_BYTES,
            "messageRoutingEnabled": true,
            "sessionDurationSeconds": settings.session_duration_secs,
        },
    });
    if let Some(t) = tracing_id {
        frame["tracingId"] = json!(t);
    }
    frame_text(&ServerFrame::from_value(frame))
}

fn configure(
    shared: &Shared,
    conn: &mut Conn,
    token: Secret,
    start_new: bool,
    tracing_id: Option<String>,
) -> Vec<Arc<str>> {
    let wm: &WmState = &shared.webmessaging;
    let settings = wm.deployment(&conn.deployment);
    let agents = Agents {
        plan: shared.agent_plan(),
        cancel: &shared.cancel,
        tracker: &shared.tracker,
    };
    let Ok((session, new_session)) = wm.open(agents, token.expose(), &conn.deployment, start_new)
    else {
        return vec![error(
            4007,
            "Session not found: the session expired.",
            tracing_id,
        )];
    };
    // Subscribe before answering, so that nothing published after the answer is missed.
    conn.rx = Some(session.subscribe());
    conn.session = Some(session.clone());
    let body = SessionResponse {
        connected: true,
        new_session: Some(new_session),
        read_only: Some(session.read_only()),
        max_custom_data_bytes: Some(Number::from(MAX_CUSTOM_DATA_BYTES)),
        duration_seconds: Some(Number::from(settings.session_duration_secs)),
        expiration_date: Some(Number::from(session.expires_at)),
        ..Default::default()
    };
    vec![frame_text(&ServerFrame::SessionResponse(
        Envelope::response(body, tracing_id),
    ))]
}

/// The rate limit and the custom-attribute size limit of one `onMessage`: the error frame
/// when the message is refused.
fn admit(
    shared: &Shared,
    session: &WmSession,
    r: &guest_chat_model::webmessaging::SendMessageRequest,
    tracing_id: Option<&String>,
) -> Result<(), Arc<str>> {
    let refused = {
        let mut f = shared.webmessaging.faults();
        (f.refuse > 0).then(|| {
            f.refuse -= 1;
            f.refuse_retry_after
        })
    };
    let admitted = match (refused, shared.webmessaging.rate_per_second()) {
        (Some(retry_after), _) => Err(retry_after),
        (None, Some(per_second)) => session.admit(per_second),
        (None, None) => Ok(()),
    };
    if let Err(retry_after) = admitted {
        session.update(|inner| inner.rate_limited += 1);
        let body = TooManyRequestsErrorMessage {
            retry_after,
            error_code: 4029,
            error_message: "Message rate too high for this session".to_owned(),
            name: Some("TooManyRequestsError".to_owned()),
            message: Some("Message rate too high for this session".to_owned()),
            tracing_id: None,
            extra: Default::default(),
        };
        let frame = ServerFrame::TooManyRequests(
            Envelope::response(body, tracing_id.cloned()).with_code(429),
        );
        return Err(frame_text(&frame));
    }
    let attributes = [r.channel.as_ref(), r.message.channel.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(|c| c.metadata.as_ref()?.custom_attributes.as_ref())
        .map(|a| serde_json::to_string(a).map_or(0, |s| s.len()))
        .max()
        .unwrap_or(0);
    if attributes > MAX_CUSTOM_DATA_BYTES as usize {
        return Err(error(
            4013,
            format!("Custom attributes are larger than {MAX_CUSTOM_DATA_BYTES} bytes."),
            tracing_id.cloned(),
        ));
    }
    Ok(())
}

/// The Inbound echo: the guest's message as the platform took it.
fn inbound_echo(
    message: &guest_chat_model::webmessaging::IncomingNormalizedMessage,
) -> StructuredMessage {
    let id = uuid::Uuid::new_v4().to_string();
    let mut echo = StructuredMessage::new(message.kind.clone());
    echo.id = Some(id.clone());
    echo.direction = Some(Direction::Inbound);
    echo.text = message.text.clone();
    echo.content = message.content.clone();
    echo.events = message.events.clone();
    echo.metadata = message.metadata.clone();
    echo.channel = Some(BaseMessagingChannel {
        time: Some(now_iso()),
        message_id: Some(id),
        ..Default::default()
    });
    echo
}

fn on_message(
    shared: &Shared,
    conn: &mut Conn,
    session: &Arc<WmSession>,
    settings: &DeploymentSettings,
    r: guest_chat_model::webmessaging::SendMessageRequest,
    tracing_id: Option<String>,
) -> Vec<Arc<str>> {
    let _ = conn;
    if let Err(frame) = admit(shared, session, &r, tracing_id.as_ref()) {
        return vec![frame];
    }
    let message = r.message;
    let events = message.events.clone().unwrap_or_default();
    let presence: Vec<EventPresenceType> = events
        .iter()
        .filter_map(|e| match e {
            MessageEvent::Presence(p) => Some(p.kind.clone()),
            _ => None,
        })
        .collect();
    let typing = events.iter().any(|e| matches!(e, MessageEvent::Typing(_)));
    if presence.contains(&EventPresenceType::Clear) {
        if !settings.conversation_clear {
            return vec![error(
                403,
                "Conversation clear is not enabled on this deployment.",
                tracing_id,
            )];
        }
        shared.webmessaging.remove(session);
        session.clear(tracing_id);
        return Vec::new();
    }
    if typing && !settings.user_typing_indicator {
        return vec![error(
            403,
            "Turn on the Feature Toggle to send typing indicators.",
            tracing_id,
        )];
    }
    let is_event = message.kind == NormalizedType::Event;
    if !is_event && session.read_only() {
        return vec![error(
            403,
            "The conversation is read-only: the agent ended it.",
            tracing_id,
        )];
    }
    if typing {
        // Typing goes to the agent's screen only: no echo.
        return Vec::new();
    }
    send_echo(
        shared,
        session,
        inbound_echo(&message),
        is_event,
        tracing_id,
    );
    if !is_event {
        session.to_agent(agent_text(message));
    }
    Vec::new()
}

/// Sends the guest's `Inbound` echo to the session's sockets, unless a fault loses it (stored
/// only) or duplicates it (sent twice). Events are never lost or duplicated.
fn send_echo(
    shared: &Shared,
    session: &WmSession,
    echo: StructuredMessage,
    is_event: bool,
    tracing_id: Option<String>,
) {
    let (lose, twice) = {
        let mut f = shared.webmessaging.faults();
        let lose = !is_event && f.lose_echoes > 0;
        let twice = !is_event && !lose && f.duplicate_echoes > 0;
        if lose {
            f.lose_echoes -= 1;
        }
        if twice {
            f.duplicate_echoes -= 1;
        }
        (lose, twice)
    };
    if lose {
        session.store(echo);
    } else if twice {
        session.publish(echo.clone(), tracing_id.clone());
        session.broadcast_frame(&ServerFrame::Message({
            let mut env = Envelope::message(echo);
            env.tracing_id = tracing_id;
            env
        }));
    } else {
        session.publish(echo, tracing_id);
    }
}

/// What the agent reads of a guest message: its text, or the text of the quick reply it
/// answers with.
fn agent_text(message: guest_chat_model::webmessaging::IncomingNormalizedMessage) -> String {
    let text = message.text.unwrap_or_default();
    match (&text, message.content.as_deref()) {
        (t, Some([guest_chat_model::webmessaging::MessageContent::ButtonResponse(b)]))
            if t.is_empty() =>
        {
            b.text.clone()
        }
        _ => text,
    }
}
