//! The task behind an `EventStream` and a guest chat's `GuestChat`: connect, read, watch
//! liveness, reconnect, resync, keep the member table and decide whether the chat is over.
//!
//! The driver is generic over its [`Output`]: a plain stream's bounded channel, or a
//! `GuestChat`'s session layer, which then runs inside this task (one task per chat).

use super::output::{Flow, Output, Verdict};
use super::recent::RecentIds;
use super::roster::Roster;
use super::{CloseReason, EventStreamOptions, StreamEvent, StreamTarget};
use crate::error::{Error, EventStreamError, TransportError};
use crate::model::event::SOCKET_CLOSING_TOPIC;
use crate::model::{ChatEvent, MemberState};
use crate::rt::{sleep, sleep_until, timeout, Instant};
use crate::transport::{ws, Frame, Socket};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The largest page the history endpoint serves.
const HISTORY_PAGE: i32 = 100;
/// Page size for the member list during a resync.
const MEMBERS_PAGE: i32 = 100;

/// Why a connection ended.
enum Ended {
    /// The consumer dropped the stream or closed it.
    Stopped,
    /// The socket closed or failed.
    Lost {
        reason: EventStreamError,
        got_frames: bool,
    },
    /// The service announced maintenance (`v2.system.socket_closing`): the socket was
    /// closed by us so that a new one replaces it before the service drops this one.
    Closing,
}

/// What to do after a frame.
enum Next {
    Read,
    Stop,
    Reconnect,
}

mod resync;

/// Why the stream reconnects after a `socket_closing` frame.
const CLOSING_REASON: &str = "the service announced that the socket is closing";

pub(crate) struct Driver<O> {
    target: StreamTarget,
    options: EventStreamOptions,
    out: O,
    cancel: CancellationToken,
    last_message_id: Option<String>,
    recent: RecentIds,
    /// The chat's member table (states as last seen, to report what changed while offline).
    roster: Roster,
    own_disconnected: bool,
}

impl<O: Output> Driver<O> {
    pub(crate) fn new(
        target: StreamTarget,
        options: EventStreamOptions,
        out: O,
        roster: Roster,
        cancel: CancellationToken,
    ) -> Driver<O> {
        let last_message_id = options.resume_after.clone();
        Driver {
            target,
            options,
            out,
            cancel,
            last_message_id,
            recent: RecentIds::default(),
            roster,
            own_disconnected: false,
        }
    }

    /// Hands an item to the output (waiting while its queue is full); false when the
    /// consumer is gone or the output stops the chat.
    async fn emit(&mut self, item: Result<StreamEvent, Error>) -> bool {
        self.emit_change(item, None).await
    }

    /// As [`emit`](Self::emit), for a member change whose state before was `previous`.
    async fn emit_change(
        &mut self,
        item: Result<StreamEvent, Error>,
        previous: Option<MemberState>,
    ) -> bool {
        let flow = tokio::select! {
            _ = self.cancel.cancelled() => return false,
            // Boxed: the output's handling of an item (a guest chat's session layer, its
            // event and queue send) would otherwise sit inline in this task's state, for
            // every open chat, while it only lives for one item (issue 14).
            flow = Box::pin(self.out.emit(item, previous)) => flow,
        };
        self.follow(flow).await
    }

    /// Does what the output asked: goes on, stops, or asks the service whether the chat is
    /// over (the one place that decides it) and tells the output.
    async fn follow(&mut self, mut flow: Flow) -> bool {
        loop {
            match flow {
                Flow::Go => return true,
                Flow::Stop => return false,
                Flow::CheckOver => {
                    let verdict = tokio::select! {
                        _ = self.cancel.cancelled() => return false,
                        v = Box::pin(verdict(&self.target)) => v,
                    };
                    flow = tokio::select! {
                        _ = self.cancel.cancelled() => return false,
                        f = Box::pin(self.out.over_checked(verdict)) => f,
                    };
                }
            }
        }
    }

    /// The chat's task: connects, reads, reconnects, until the chat ends or is dropped.
    ///
    /// An `async` block around [`run_loop`](Self::run_loop) rather than an `async fn`: an
    /// `async fn` keeps its `self` argument twice in its state (the argument and the local it
    /// is moved to), hundreds of bytes for every open chat (issue 14).
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn would keep `self` twice in the task's state"
    )]
    pub(crate) fn run(mut self) -> impl std::future::Future<Output = ()> {
        async move { self.run_loop().await }
    }

    /// The body of [`run`](Self::run). The steps that only run around a (re)connection
    /// (the first event, the resync, the handling of a loss, the end) are boxed: inline,
    /// the largest of them sized this task's state for as long as the chat is open.
    async fn run_loop(&mut self) {
        let mut attempt: u32 = 0;
        let mut resync_needed = self.last_message_id.is_some();
        loop {
            // Connecting, resyncing and the REST check are boxed: inline, their futures (TLS,
            // WebSocket handshake, REST calls) made this task's state about 13 KiB for every
            // open chat, most of it unused while the socket is being read (issue 14).
            let connect = tokio::select! {
                _ = self.cancel.cancelled() => return,
                r = timeout(self.options.connect_timeout, Box::pin(ws::connect(self.target.api.client().ws_settings(), &self.target.uri))) => r,
            };
            let reason = match connect {
                Ok(Ok(ws)) => {
                    tracing::debug!(conversation = %self.target.conversation_id, "event stream connected");
                    if !Box::pin(self.emit(Ok(StreamEvent::Connected))).await {
                        return;
                    }
                    let resync_failed = if resync_needed {
                        match Box::pin(self.catch_up()).await {
                            Some(failed) => failed,
                            None => return,
                        }
                    } else {
                        None
                    };
                    // Every later connection must catch up on what it missed.
                    resync_needed = true;
                    if let Some(e) = resync_failed {
                        // Reading on would deliver live messages past the gap and move the
                        // resync point beyond it, losing the gap for good. Drop this socket
                        // instead: the next connection resyncs from the same point.
                        tracing::debug!(error = %e, "resync failed; reconnecting");
                        drop(ws);
                        EventStreamError::ResyncFailed(Box::new(e))
                    } else {
                        match self.read(ws).await {
                            Ended::Stopped => return,
                            Ended::Lost { reason, got_frames } => {
                                if got_frames {
                                    attempt = 0;
                                }
                                reason
                            }
                            Ended::Closing => {
                                // Planned: reconnect at once (no backoff, no REST check); the
                                // resync recovers anything sent in between.
                                attempt = 0;
                                if !Box::pin(self.closing()).await {
                                    return;
                                }
                                continue;
                            }
                        }
                    }
                }
                Ok(Err(e)) if e.is_permanent() => {
                    // Retrying with the same credentials, or the same roots against the same
                    // certificate, cannot succeed.
                    tracing::debug!(error = %e, "event stream: cannot connect; giving up");
                    Box::pin(self.give_up(Error::EventStream(e), attempt + 1)).await;
                    return;
                }
                Ok(Err(e)) => e,
                Err(_) => EventStreamError::ConnectTimeout {
                    after: self.options.connect_timeout,
                },
            };

            attempt += 1;
            if !Box::pin(self.after_loss(reason, attempt)).await {
                return;
            }
        }
    }

    /// The resync after a (re)connection: `None` when the stream stops, else whether it
    /// failed.
    async fn catch_up(&mut self) -> Option<Option<Error>> {
        let cancel = self.cancel.clone();
        let resynced = tokio::select! {
            _ = cancel.cancelled() => return None,
            r = Box::pin(self.resync()) => r,
        };
        match resynced {
            Ok(Some(missed)) => self
                .emit(Ok(StreamEvent::Resynced { missed }))
                .await
                .then_some(None),
            Ok(None) => None,
            Err(e) => Some(Some(e)),
        }
    }

    /// Reports the reconnection a `socket_closing` frame asked for; false when the stream
    /// stops.
    async fn closing(&mut self) -> bool {
        tracing::debug!(conversation = %self.target.conversation_id, "event stream: socket closing announced; reconnecting");
        let reconnecting = StreamEvent::Reconnecting {
            attempt: 1,
            delay: Duration::ZERO,
            reason: CLOSING_REASON.to_owned(),
        };
        self.emit(Ok(reconnecting)).await
    }

    /// After an unexpected loss: ends the stream when the chat is over or the attempts are
    /// used up (false), else reports the reconnection and waits its back-off (true).
    async fn after_loss(&mut self, reason: EventStreamError, attempt: u32) -> bool {
        if self.own_disconnected {
            self.close(CloseReason::ChatEnded).await;
            return false;
        }
        // docs/protocol.md 7.10: ask REST whether the chat is still on before reconnecting.
        let verdict = tokio::select! {
            _ = self.cancel.cancelled() => return false,
            v = Box::pin(verdict(&self.target)) => v,
        };
        if let Verdict::Over(close) = verdict {
            self.close(close).await;
            return false;
        }
        if let Some(max) = self.options.max_reconnect_attempts {
            if attempt > max {
                let error = Error::EventStream(EventStreamError::GaveUp {
                    attempts: max,
                    last: Box::new(reason),
                });
                self.give_up(error, max).await;
                return false;
            }
        }
        let delay = self.backoff(attempt);
        tracing::debug!(attempt, ?delay, %reason, "event stream lost; reconnecting");
        let reconnecting = StreamEvent::Reconnecting {
            attempt,
            delay,
            reason: reason.to_string(),
        };
        if !self.emit(Ok(reconnecting)).await {
            return false;
        }
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            () = sleep(delay) => true,
        }
    }

    /// Reports why the stream stops retrying, then closes it as given up.
    async fn give_up(&mut self, error: Error, attempts: u32) {
        let _ = self.emit(Err(error)).await;
        self.close(CloseReason::GaveUp { attempts }).await;
    }

    async fn close(&mut self, reason: CloseReason) {
        let _ = self.emit(Ok(StreamEvent::Closed { reason })).await;
    }

    /// The SDK's one back-off ([`crate::retry::backoff`], equal jitter); `attempt` is 1-based.
    fn backoff(&self, attempt: u32) -> Duration {
        crate::retry::backoff(
            self.options.backoff_base,
            self.options.backoff_max,
            attempt.saturating_sub(1),
        )
    }
}

/// Whether the chat is over, as REST tells (the guest's own member): the one decision, asked
/// when the socket is lost unexpectedly and when the output asks (an agent left).
async fn verdict(t: &StreamTarget) -> Verdict {
    {
        match t
            .api
            .get_webchat_guest_conversation_member(&t.conversation_id, &t.member_id)
            .await
        {
            Ok(member) if member.state == Some(MemberState::Disconnected) => {
                Verdict::Over(CloseReason::ChatEnded)
            }
            Ok(_) => Verdict::On,
            Err(e) => match e.status() {
                Some(401) => Verdict::Over(CloseReason::Unauthorized),
                Some(403 | 404) => Verdict::Over(CloseReason::ChatEnded),
                // Unreachable or failing service: keep trying to reconnect.
                _ => Verdict::Unknown,
            },
        }
    }
}

impl<O: Output> Driver<O> {
    /// Reads frames until the socket ends, the consumer leaves or liveness fails.
    async fn read(&mut self, mut ws: Socket) -> Ended {
        let dead_after = liveness_window(self.options.heartbeat_interval);
        let mut deadline = Instant::now() + dead_after;
        let mut got_frames = false;
        loop {
            // Biased: buffered frames are read before the deadline is judged, so a
            // consumer that was slow to take items is not mistaken for a dead link.
            let msg = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => {
                    ws.close().await;
                    return Ended::Stopped;
                }
                msg = ws.next() => msg,
                work = self.out.side_ready() => {
                    // Time spent waiting for the consumer does not count against liveness.
                    let began = Instant::now();
                    // Boxed, as is the frame's handling below: both are short-lived and
                    // would otherwise widen the state every chat holds while it reads.
                    if !Box::pin(self.side_work(work)).await {
                        ws.close().await;
                        return Ended::Stopped;
                    }
                    deadline += began.elapsed();
                    continue;
                }
                _ = sleep_until(deadline) => {
                    return Ended::Lost {
                        reason: EventStreamError::HeartbeatLost { after: dead_after },
                        got_frames,
                    };
                }
            };
            let text = match msg {
                None => {
                    return Ended::Lost {
                        reason: EventStreamError::Dropped,
                        got_frames,
                    }
                }
                Some(Err(e)) => {
                    return Ended::Lost {
                        reason: EventStreamError::Socket(TransportError::new(e)),
                        got_frames,
                    }
                }
                Some(Ok(Frame::Close(frame))) => {
                    let reason = match frame {
                        Some((code, reason)) => EventStreamError::Closed {
                            code: Some(code),
                            reason,
                        },
                        None => EventStreamError::Closed {
                            code: None,
                            reason: String::new(),
                        },
                    };
                    return Ended::Lost { reason, got_frames };
                }
                Some(Ok(Frame::Text(t))) => t,
                Some(Ok(Frame::Other | Frame::Pong)) => {
                    // Ping/pong/raw frames still prove the link is alive.
                    deadline = Instant::now() + dead_after;
                    continue;
                }
            };
            got_frames = true;
            let next = Box::pin(self.handle_frame(&text)).await;
            // Counted from when the frame was handed on: a consumer slow to take it (a full
            // queue) is not a silent service.
            deadline = Instant::now() + dead_after;
            match next {
                Next::Read => {}
                Next::Stop => {
                    ws.close().await;
                    return Ended::Stopped;
                }
                Next::Reconnect => {
                    // Close politely but do not wait long for the service's answer.
                    let _ = timeout(Duration::from_secs(1), ws.close()).await;
                    return Ended::Closing;
                }
            }
        }
    }

    /// Does the output's side work (a lookup landed, a timer fired); false when the stream
    /// stops.
    async fn side_work(&mut self, work: O::Side) -> bool {
        let flow = tokio::select! {
            _ = self.cancel.cancelled() => return false,
            f = Box::pin(self.out.side(work)) => f,
        };
        self.follow(flow).await
    }

    /// Decodes and forwards one frame.
    async fn handle_frame(&mut self, text: &str) -> Next {
        let delivered = match ChatEvent::from_frame(text) {
            Ok(event) => {
                let closing = matches!(&event, ChatEvent::Unknown { topic: Some(t), .. } if t == SOCKET_CLOSING_TOPIC);
                if let Some((event, previous)) = self.admit(event) {
                    if !self
                        .emit_change(Ok(StreamEvent::Chat(event)), previous)
                        .await
                    {
                        return Next::Stop;
                    }
                }
                return if closing { Next::Reconnect } else { Next::Read };
            }
            Err(e) => {
                self.emit(Err(Error::EventStream(EventStreamError::Frame(
                    TransportError::with_source(e.to_string(), e),
                ))))
                .await
            }
        };
        if delivered {
            Next::Read
        } else {
            Next::Stop
        }
    }

    /// Updates the stream's memory; `None` drops an already-delivered message. With the
    /// event, a member change's state before it.
    fn admit(&mut self, event: ChatEvent) -> Option<(ChatEvent, Option<MemberState>)> {
        let mut previous = None;
        match &event {
            ChatEvent::Message(m) => {
                if let Some(id) = m.id.as_deref() {
                    if !self.recent.insert(id) {
                        return None;
                    }
                    self.last_message_id = Some(id.to_owned());
                }
            }
            ChatEvent::MemberChange {
                member_id, state, ..
            } => {
                previous = self.remember_member(member_id, state.clone());
            }
            _ => {}
        }
        Some((event, previous))
    }

    /// Records a member's state in the table; returns the state before.
    fn remember_member(&mut self, member_id: &str, state: MemberState) -> Option<MemberState> {
        if member_id == self.target.member_id && state == MemberState::Disconnected {
            self.own_disconnected = true;
        }
        self.roster.set_state(member_id, state)
    }
}

/// How long a socket may stay silent before it counts as dead: 2.5 heartbeat intervals,
/// capped at a year so that any configured interval is safe to add to an `Instant`.
fn liveness_window(heartbeat: Duration) -> Duration {
    (heartbeat.saturating_mul(5) / 2).min(crate::LONGEST_WAIT)
}

#[cfg(test)]
mod tests {
    use super::liveness_window;
    use std::time::Duration;

    #[test]
    fn the_liveness_window_is_two_and_a_half_heartbeats_and_never_overflows() {
        assert_eq!(
            liveness_window(Duration::from_secs(30)),
            Duration::from_secs(75)
        );
        assert_eq!(
            liveness_window(Duration::from_millis(200)),
            Duration::from_millis(500)
        );
        let huge = liveness_window(Duration::MAX);
        assert_eq!(huge, crate::LONGEST_WAIT);
        assert!(tokio::time::Instant::now().checked_add(huge).is_some());
    }
}
