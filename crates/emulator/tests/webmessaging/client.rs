//! A Web Messaging client for the tests: the model's request types over a real WebSocket,
//! every frame it receives checked against the schema.

use crate::schema::validate;
use crate::support::{Ws, WAIT};
use futures::{SinkExt, StreamExt};
use guest_chat_emulator::EmulatorHandle;
use guest_chat_model::webmessaging::*;
use serde_json::Value;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

fn ws_url(emu: &EmulatorHandle, deployment: &str) -> String {
    format!("ws://{}/v1?deploymentId={deployment}", emu.local_addr())
}

pub(crate) struct Client {
    pub(crate) ws: Ws,
    pub(crate) token: String,
}

impl Client {
    pub(crate) async fn connect(emu: &EmulatorHandle, token: &str) -> Client {
        let (ws, _) = timeout(WAIT, tokio_tungstenite::connect_async(ws_url(emu, "dep-1")))
            .await
            .unwrap()
            .unwrap();
        Client {
            ws,
            token: token.to_owned(),
        }
    }

    /// Connects and configures; returns the client and the `SessionResponse`.
    pub(crate) async fn configured(emu: &EmulatorHandle, token: &str) -> (Client, SessionResponse) {
        let mut c = Client::connect(emu, token).await;
        c.send(&ClientRequest::configure_session(token, "dep-1").with_tracing_id("cfg"))
            .await;
        let f = c.next().await;
        let ServerFrame::SessionResponse(s) = f else {
            panic!("{f:?}")
        };
        assert_eq!(s.tracing_id.as_deref(), Some("cfg"));
        (c, s.body)
    }

    pub(crate) async fn send(&mut self, req: &ClientRequest) {
        self.send_raw(&serde_json::to_string(req).unwrap()).await;
    }

    pub(crate) async fn send_raw(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// The next text frame, validated against the schema; panics on close or timeout.
    pub(crate) async fn next(&mut self) -> ServerFrame {
        loop {
            let msg = timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time")
                .expect("the socket is open")
                .expect("no socket error");
            match msg {
                Message::Text(text) => {
                    let v: Value = serde_json::from_str(text.as_str()).unwrap();
                    validate(&v);
                    return serde_json::from_value(v).unwrap();
                }
                Message::Close(c) => panic!("closed: {c:?}"),
                _ => continue,
            }
        }
    }

    /// The next frame, which must be an error frame.
    pub(crate) async fn next_error(&mut self) -> Envelope<String> {
        match self.next().await {
            ServerFrame::Error(e) => e,
            other => panic!("an error frame, not {other:?}"),
        }
    }

    /// The next frame, which must be a message frame.
    pub(crate) async fn next_message(&mut self) -> Envelope<StructuredMessage> {
        match self.next().await {
            ServerFrame::Message(m) => m,
            other => panic!("a message frame, not {other:?}"),
        }
    }

    /// The next frame that is not an agent typing event.
    pub(crate) async fn next_not_typing(&mut self) -> ServerFrame {
        loop {
            let f = self.next().await;
            if let ServerFrame::Message(m) = &f {
                if matches!(m.body.events.as_deref(), Some([MessageEvent::Typing(_)])) {
                    continue;
                }
            }
            return f;
        }
    }

    /// Waits for the server to close the socket (frames before it are validated).
    pub(crate) async fn closed(&mut self) {
        loop {
            match timeout(WAIT, self.ws.next()).await.expect("closed in time") {
                None | Some(Err(_) | Ok(Message::Close(_))) => return,
                Some(Ok(Message::Text(text))) => {
                    panic!("frame instead of a close: {}", text.as_str())
                }
                Some(Ok(_)) => {}
            }
        }
    }

    pub(crate) fn text(&self, text: &str) -> ClientRequest {
        ClientRequest::text(self.token.as_str(), text)
    }
}

pub(crate) fn token() -> String {
    uuid::Uuid::new_v4().to_string()
}
