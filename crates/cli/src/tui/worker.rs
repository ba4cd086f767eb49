//! The terminal UI's REST calls, made off the UI loop in order.

use crate::connect::describe;
use purecloud_guest_chat_client::session::GuestChat;
use tokio::sync::mpsc;

/// Work done off the UI loop, in order.
pub(super) enum Command {
    Send(String),
    Typing,
    Leave,
}

/// Performs the chat's REST calls in order, reporting failures back to the UI.
pub(super) async fn worker(
    chat: GuestChat,
    mut rx: mpsc::UnboundedReceiver<Command>,
    report: mpsc::UnboundedSender<String>,
) {
    while let Some(cmd) = rx.recv().await {
        let result = match &cmd {
            Command::Send(text) => chat.send(text).await.map(|_| ()),
            Command::Typing => chat.typing().await.map(|_| ()),
            Command::Leave => chat.leave().await,
        };
        if let Err(e) = result {
            let what = match cmd {
                Command::Send(_) => "message not sent",
                Command::Typing => "typing indicator not sent",
                Command::Leave => "cannot leave the chat",
            };
            let _ = report.send(format!("{what}: {}", describe(&e)));
        }
    }
}
