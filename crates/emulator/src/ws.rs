//! The event stream: `GET /chat/jwt/{jwt}` (plain WebSocket).

use crate::conv::{
    connect_error_reason, Conversation, ConversationState, DropMode, SocketCmd, CONNECT_ERROR_CODE,
    ENDED_REASON,
};
use crate::error::ApiError;
use crate::state::Shared;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use guest_chat_model::event::{ChannelBody, EventFrame, CHANNEL_METADATA_TOPIC, HEARTBEAT_MESSAGE};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

pub(crate) fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/chat/jwt/{jwt}", get(upgrade))
        .with_state(shared)
}

fn channel_frame(message: &str) -> String {
    let frame = EventFrame {
        topic_name: Some(CHANNEL_METADATA_TOPIC.to_owned()),
        version: None,
        event_body: ChannelBody {
            message: message.to_owned(),
        },
        metadata: None,
    };
    serde_json::to_string(&frame).unwrap_or_default()
}

async fn upgrade(
    State(shared): State<Arc<Shared>>,
    slot: Option<axum::Extension<Arc<crate::accept::ConnSlot>>>,
    Path(jwt): Path<String>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let claims = match crate::auth::verify(&shared, &jwt) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let conv = shared.store.get(&claims.data.conv);
    let ws = match ws {
        Ok(ws) => ws,
        // Not a WebSocket request: answer like REST would.
        Err(_) if conv.is_none() => return ApiError::not_found().into_response(),
        Err(rejection) => return rejection.into_response(),
    };
    let Some(conv) = conv else {
        // A valid JWT of a conversation the service no longer knows: the real service
        // accepted the socket and closed it with 4100 (docs/protocol.md 7.9).
        let reason = connect_error_reason(&claims.data.conv);
        return ws
            .read_buffer_size(WS_READ_BUFFER)
            .on_upgrade(move |socket| async move {
                close(socket, CONNECT_ERROR_CODE, &reason).await;
            });
    };
    // tungstenite zero-fills its whole read buffer (128 KiB by default) on every read, so
    // each socket kept 128 KiB resident and every frame cost a 128 KiB memset; event frames
    // are small and larger ones grow the buffer as needed.
    // The socket keeps its connection slot (the cap counts it) until it ends, and is never
    // closed to make room for new connections.
    if let Some(axum::Extension(slot)) = &slot {
        slot.mark_upgraded();
    }
    ws.read_buffer_size(WS_READ_BUFFER)
        .on_upgrade(move |socket| async move {
            let _slot = slot;
            serve(shared, conv, socket).await;
        })
}

/// Read buffer of a server-side socket (see `upgrade`). A guest sends only pings on this
/// socket (about 20 bytes each), so 1 KiB holds many; a larger frame grows the buffer.
const WS_READ_BUFFER: usize = 1024;

/// Decrements the socket count however the socket task ends.
struct Attached(Arc<Conversation>);

impl Drop for Attached {
    fn drop(&mut self) {
        self.0.socket_detached();
    }
}

async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    // Give the peer a moment to answer the close handshake, then drop the TCP stream.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(msg)) = socket.recv().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

async fn serve(shared: Arc<Shared>, conv: Arc<Conversation>, mut socket: WebSocket) {
    if conv.state() == ConversationState::Ended {
        close(socket, 1001, ENDED_REASON).await;
        return;
    }
    // Subscribe before activation so this socket sees the activation events.
    let mut rx = conv.subscribe();
    conv.socket_attached();
    let _attached = Attached(conv.clone());
    // The conversation may have ended between the check and the subscription.
    if conv.state() == ConversationState::Ended {
        close(socket, 1001, ENDED_REASON).await;
        return;
    }
    shared.activate(&conv);
    let period = shared.settings.heartbeat;
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let cancel = shared.cancel.clone();
    // Set by a `socket_closing` announcement: the socket closes at this instant.
    let mut closing_at: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => {
                close(socket, 1001, "Going away").await;
                return;
            }
            cmd = rx.recv() => match cmd {
                Ok(SocketCmd::Frame(text)) => match deliver(&shared, &mut socket, &text).await {
                    Delivery::Sent => {}
                    Delivery::Gone => return,
                    Delivery::Stall => {
                        drop(rx);
                        stall(&shared, socket).await;
                        return;
                    }
                },
                Ok(SocketCmd::Close { code, reason }) => {
                    close(socket, code, &reason).await;
                    return;
                }
                Ok(SocketCmd::Drop(DropMode::Abrupt)) => return,
                Ok(SocketCmd::Drop(DropMode::Close(code))) => {
                    close(socket, code, "Dropped by the emulator").await;
                    return;
                }
                Ok(SocketCmd::Closing { frame, grace_ms }) => {
                    if socket.send(Message::Text(frame.as_ref().into())).await.is_err() {
                        return;
                    }
                    let at = tokio::time::Instant::now() + Duration::from_millis(grace_ms.into());
                    closing_at = Some(closing_at.map_or(at, |t| t.min(at)));
                }
                // A socket too slow to keep up is dropped (the client resyncs over REST),
                // rather than slowing every other socket of the chat.
                Err(RecvError::Lagged(_) | RecvError::Closed) => return,
            },
            _ = sleep_until_some(closing_at) => {
                close(socket, 1001, "Going away").await;
                return;
            }
            _ = ticker.tick() => {
                if !conv.heartbeats_paused()
                    && socket.send(Message::Text(channel_frame(HEARTBEAT_MESSAGE).into())).await.is_err()
                {
                    return;
                }
            }
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(text))) => {
                    if !answer_ping(&mut socket, text.as_str()).await {
                        return;
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// What became of one event frame.
enum Delivery {
    Sent,
    /// The socket is gone (or the drop fault struck).
    Gone,
    /// The stall fault struck: the socket must go silent.
    Stall,
}

/// Sends one event frame, with the socket faults (drop, stall, duplicate) applied.
async fn deliver(shared: &Shared, socket: &mut WebSocket, text: &str) -> Delivery {
    let (drop_rate, stall_rate, dup_rate) = {
        let f = shared.faults.borrow();
        (f.drop_socket_rate, f.stall_rate, f.duplicate_frame_rate)
    };
    if shared.roll(drop_rate) {
        return Delivery::Gone;
    }
    if shared.roll(stall_rate) {
        return Delivery::Stall;
    }
    let copies = if shared.roll(dup_rate) { 2 } else { 1 };
    for _ in 0..copies {
        if socket.send(Message::Text(text.into())).await.is_err() {
            return Delivery::Gone;
        }
    }
    Delivery::Sent
}

/// Answers a client `{"message":"ping"}` with a pong; `false` when the socket is gone.
async fn answer_ping(socket: &mut WebSocket, text: &str) -> bool {
    let is_ping = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(|m| m.eq_ignore_ascii_case("ping"))
        })
        .unwrap_or(false);
    !is_ping
        || socket
            .send(Message::Text(channel_frame("pong").into()))
            .await
            .is_ok()
}

/// The stall fault: the socket stays open and sends nothing (no frame, heartbeat or pong)
/// until the client gives up on it, or the emulator stops.
async fn stall(shared: &Shared, mut socket: WebSocket) {
    loop {
        tokio::select! {
            _ = shared.cancel.cancelled() => return,
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Sleeps until `at`, or forever when there is no deadline.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
