//! Where the driver's items go: the [`Output`] it is generic over.
//!
//! A plain [`EventStream`](super::EventStream) hands every item to a bounded channel
//! ([`Channel`]). A [`GuestChat`](crate::session::GuestChat) plugs its session layer in
//! instead, so that one task per chat reads the socket, keeps the member table, decides
//! whether the chat is over and produces the session's events (`crate::session` explains it).

use super::{CloseReason, Item, StreamEvent};
use crate::error::Error;
use crate::model::MemberState;
use tokio::sync::mpsc;

/// What the driver does after handing an item on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Read on.
    Go,
    /// The consumer is gone or the chat is over: stop the task.
    Stop,
    /// Ask the service whether the chat is over ([`Verdict`]), then tell the output.
    CheckOver,
}

/// The service's answer to "is this chat over?" (the guest's own member, over REST).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Over: the guest is DISCONNECTED, the conversation is gone, or the JWT is refused.
    Over(CloseReason),
    /// The guest is still in the chat.
    On,
    /// The service could not be asked (unreachable, failing).
    Unknown,
}

/// What a driver emits into. Every method may wait (a full queue): that wait is what stops
/// the driver reading its socket, so a slow consumer's backpressure reaches the socket.
pub(crate) trait Output {
    /// Work done beside the event path (a lookup that landed, a timer that fired).
    type Side;

    /// Takes one item. `previous` is a member change's state before it (from the member
    /// table, which the driver has already updated).
    async fn emit(
        &mut self,
        item: Result<StreamEvent, Error>,
        previous: Option<MemberState>,
    ) -> Flow;

    /// Resolves when side work is ready. Must be cancel-safe: the driver races it against
    /// the socket read.
    async fn side_ready(&mut self) -> Self::Side;

    /// Does the side work [`side_ready`](Self::side_ready) returned.
    async fn side(&mut self, work: Self::Side) -> Flow;

    /// The answer to a [`Flow::CheckOver`].
    async fn over_checked(&mut self, verdict: Verdict) -> Flow;
}

/// The output of a plain [`EventStream`](super::EventStream): a bounded channel of items.
pub(crate) struct Channel(pub(crate) mpsc::Sender<Item>);

impl Output for Channel {
    type Side = ();

    async fn emit(&mut self, item: Result<StreamEvent, Error>, _: Option<MemberState>) -> Flow {
        match self.0.send(Box::new(item)).await {
            Ok(()) => Flow::Go,
            Err(_) => Flow::Stop,
        }
    }

    async fn side_ready(&mut self) {
        std::future::pending::<()>().await;
    }

    async fn side(&mut self, (): ()) -> Flow {
        Flow::Go
    }

    async fn over_checked(&mut self, _: Verdict) -> Flow {
        Flow::Go
    }
}
