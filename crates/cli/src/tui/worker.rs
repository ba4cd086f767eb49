//! The terminal UI's REST calls, made off the UI loop in order.

use crate::connect::describe;
use purecloud_guest_chat_client::session::GuestChat;
use purecloud_guest_chat_client::Error;
use tokio::sync::mpsc;

/// Work done off the UI loop, in order.
pub(super) enum Command {
    Send(String),
    Typing,
    Leave,
}

/// A command that failed, with the SDK's typed error: the UI decides what to show.
pub(super) struct Failure {
    pub(super) command: Command,
    pub(super) error: Error,
}

impl Failure {
    /// One line for the status bar.
    pub(super) fn describe(&self) -> String {
        let what = match self.command {
            Command::Send(_) => "message not sent",
            Command::Typing => "typing indicator not sent",
            Command::Leave => "cannot leave the chat",
        };
        format!("{what}: {}", describe(&self.error))
    }
}

/// Performs the chat's REST calls in order, reporting failures back to the UI.
pub(super) async fn worker(
    chat: GuestChat,
    mut rx: mpsc::UnboundedReceiver<Command>,
    report: mpsc::UnboundedSender<Failure>,
) {
    while let Some(cmd) = rx.recv().await {
        let result = match &cmd {
            Command::Send(text) => chat.send(text).await.map(|_| ()),
            Command::Typing => chat.typing().await.map(|_| ()),
            Command::Leave => chat.leave().await,
        };
        if let Err(error) = result {
            let _ = report.send(Failure {
                command: cmd,
                error,
            });
        }
    }
}
