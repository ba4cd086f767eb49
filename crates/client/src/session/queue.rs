//! The bounded queue between a chat's task and the app: [`SessionEvents`].

use super::SessionEvent;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};

/// How many events a [`GuestChat`](super::GuestChat) holds for an app that is not taking
/// them. When the queue is full, the chat's task waits and stops reading its socket until the
/// app takes an event: backpressure reaches the socket, and nothing is dropped.
///
/// 64 covers a burst (a resync delivering missed messages, a busy agent) without making the
/// task wait, while an app that stops reading holds at most 64 events in memory per chat
/// (the rest stays in the socket's buffers).
pub const SESSION_QUEUE: usize = 64;

/// The fill of a chat's event queue ([`GuestChat::queue_stats`](super::GuestChat::queue_stats)),
/// for tests and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStats {
    /// The queue's capacity ([`SESSION_QUEUE`]).
    pub capacity: usize,
    /// Items the chat's task has taken from its connection (guest chat: event-stream items,
    /// heartbeats included; Web Messaging: frames).
    pub taken: u64,
    /// The most events that were waiting in the queue at once.
    pub high_water: usize,
    /// How many times the task found the queue full and waited for the app.
    pub waits: u64,
}

/// The app's end of the queue.
pub(super) type Receiver = mpsc::Receiver<Box<SessionEvent>>;

/// The task's end of the queue.
pub(super) struct Queue {
    // Boxed: the channel allocates 32 slots at once, and an unboxed `SessionEvent` is
    // several hundred bytes (issue 14, memory per open chat).
    tx: mpsc::Sender<Box<SessionEvent>>,
    stats: watch::Sender<QueueStats>,
}

impl Queue {
    /// A queue of [`SESSION_QUEUE`] events.
    pub(super) fn new() -> (Queue, Receiver, watch::Receiver<QueueStats>) {
        let (tx, rx) = mpsc::channel(SESSION_QUEUE);
        let (stats, stats_rx) = watch::channel(QueueStats {
            capacity: SESSION_QUEUE,
            ..QueueStats::default()
        });
        (Queue { tx, stats }, rx, stats_rx)
    }

    /// Queues an event, waiting while the queue is full. An app that dropped its
    /// [`SessionEvents`] gets no more events (and the task no longer waits).
    pub(super) async fn send(&self, event: SessionEvent) {
        let permit = match self.tx.try_reserve() {
            Ok(permit) => permit,
            Err(TrySendError::Full(())) => {
                self.stats.send_modify(|s| s.waits += 1);
                match self.tx.reserve().await {
                    Ok(permit) => permit,
                    Err(_) => return,
                }
            }
            Err(TrySendError::Closed(())) => return,
        };
        permit.send(Box::new(event));
        self.note_fill();
    }

    /// Moves the first of `pending` into the queue, waiting for room; false when the app has
    /// dropped its events. Cancel-safe: the event leaves `pending` only once it is queued.
    pub(super) async fn send_first(
        &self,
        pending: &mut std::collections::VecDeque<SessionEvent>,
    ) -> bool {
        if self.is_full() {
            self.stats.send_modify(|s| s.waits += 1);
        }
        let Ok(permit) = self.tx.reserve().await else {
            return false;
        };
        if let Some(event) = pending.pop_front() {
            permit.send(Box::new(event));
            self.note_fill();
        }
        true
    }

    /// True when the app has [`SESSION_QUEUE`] events waiting.
    pub(super) fn is_full(&self) -> bool {
        self.tx.capacity() == 0
    }

    fn note_fill(&self) {
        let queued = self.tx.max_capacity() - self.tx.capacity();
        self.stats.send_if_modified(|s| {
            let higher = queued > s.high_water;
            s.high_water = s.high_water.max(queued);
            higher
        });
    }

    /// Counts an item taken from the connection.
    pub(super) fn taken(&self) {
        self.stats.send_modify(|s| s.taken += 1);
    }
}

/// The events of a [`GuestChat`](super::GuestChat), as a `futures::Stream`.
pub struct SessionEvents {
    rx: Option<Receiver>,
}

impl SessionEvents {
    pub(super) fn new(rx: Option<Receiver>) -> SessionEvents {
        SessionEvents { rx }
    }
}

impl fmt::Debug for SessionEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionEvents")
            .field("taken", &self.rx.is_none())
            .finish()
    }
}

impl futures::Stream for SessionEvents {
    type Item = SessionEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        match self.rx.as_mut() {
            Some(rx) => rx.poll_recv(cx).map(|e| e.map(|e| *e)),
            None => Poll::Ready(None),
        }
    }
}
