//! The task behind an `EventStream`: connect, read, watch liveness, reconnect, resync.

use super::recent::RecentIds;
use super::{CloseReason, EventStreamOptions, StreamEvent, StreamTarget};
use crate::api::{GetMembersOptions, GetMessagesOptions};
use crate::error::{Error, EventStreamError, TransportError};
use crate::model::event::SOCKET_CLOSING_TOPIC;
use crate::model::{ChatEvent, MemberState, SortOrder};
use crate::rt::{sleep, sleep_until, timeout, Instant};
use crate::transport::{ws, Frame, Socket};
use std::time::Duration;
use tokio::sync::mpsc;
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

/// Why the stream reconnects after a `socket_closing` frame.
const CLOSING_REASON: &str = "the service announced that the socket is closing";

pub(crate) struct Driver {
    target: StreamTarget,
    options: EventStreamOptions,
    tx: mpsc::Sender<super::Item>,
    cancel: CancellationToken,
    last_message_id: Option<String>,
    recent: RecentIds,
    /// Member states as last seen, to report what changed while offline.
    members: Vec<(String, MemberState)>,
    own_disconnected: bool,
}

impl Driver {
    pub(crate) fn new(
        target: StreamTarget,
        options: EventStreamOptions,
        tx: mpsc::Sender<super::Item>,
        cancel: CancellationToken,
    ) -> Driver {
        let last_message_id = options.resume_after.clone();
        Driver {
            target,
            options,
            tx,
            cancel,
            last_message_id,
            recent: RecentIds::default(),
            members: Vec::new(),
            own_disconnected: false,
        }
    }

    /// Hands an item to the consumer; false when the consumer is gone.
    async fn emit(&self, item: Result<StreamEvent, Error>) -> bool {
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            sent = self.tx.send(Box::new(item)) => sent.is_ok(),
        }
    }

    #[allow(
        clippy::too_many_lines,
        reason = "temporary: events/ is being rewritten; the rewrite splits it"
    )]
    pub(crate) async fn run(mut self) {
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
                    if !self.emit(Ok(StreamEvent::Connected)).await {
                        return;
                    }
                    let resync_failed = if resync_needed {
                        let cancel = self.cancel.clone();
                        let resynced = tokio::select! {
                            _ = cancel.cancelled() => return,
                            r = Box::pin(self.resync()) => r,
                        };
                        match resynced {
                            Ok(Some(missed)) => {
                                if !self.emit(Ok(StreamEvent::Resynced { missed })).await {
                                    return;
                                }
                                None
                            }
                            Ok(None) => return,
                            Err(e) => Some(e),
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
                                tracing::debug!(conversation = %self.target.conversation_id, "event stream: socket closing announced; reconnecting");
                                let reconnecting = StreamEvent::Reconnecting {
                                    attempt: 1,
                                    delay: Duration::ZERO,
                                    reason: CLOSING_REASON.to_owned(),
                                };
                                if !self.emit(Ok(reconnecting)).await {
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
                    self.give_up(Error::EventStream(e), attempt + 1).await;
                    return;
                }
                Ok(Err(e)) => e,
                Err(_) => EventStreamError::ConnectTimeout {
                    after: self.options.connect_timeout,
                },
            };

            if self.own_disconnected {
                self.close(CloseReason::ChatEnded).await;
                return;
            }
            // docs/protocol.md 7.10: ask REST whether the chat is still on before reconnecting.
            let over = tokio::select! {
                _ = self.cancel.cancelled() => return,
                over = Box::pin(self.chat_over()) => over,
            };
            if let Some(close) = over {
                self.close(close).await;
                return;
            }
            attempt += 1;
            if let Some(max) = self.options.max_reconnect_attempts {
                if attempt > max {
                    let error = Error::EventStream(EventStreamError::GaveUp {
                        attempts: max,
                        last: Box::new(reason),
                    });
                    self.give_up(error, max).await;
                    return;
                }
            }
            let delay = self.backoff(attempt);
            tracing::debug!(attempt, ?delay, %reason, "event stream lost; reconnecting");
            if !self
                .emit(Ok(StreamEvent::Reconnecting {
                    attempt,
                    delay,
                    reason: reason.to_string(),
                }))
                .await
            {
                return;
            }
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = sleep(delay) => {}
            }
        }
    }

    /// Reports why the stream stops retrying, then closes it as given up.
    async fn give_up(&self, error: Error, attempts: u32) {
        let _ = self.emit(Err(error)).await;
        self.close(CloseReason::GaveUp { attempts }).await;
    }

    async fn close(&self, reason: CloseReason) {
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

    /// `Some(reason)` when REST says the chat cannot continue.
    async fn chat_over(&self) -> Option<CloseReason> {
        let t = &self.target;
        match t
            .api
            .get_webchat_guest_conversation_member(&t.conversation_id, &t.member_id)
            .await
        {
            Ok(member) if member.state == Some(MemberState::Disconnected) => {
                Some(CloseReason::ChatEnded)
            }
            Ok(_) => None,
            Err(e) => match e.status() {
                Some(401) => Some(CloseReason::Unauthorized),
                Some(403 | 404) => Some(CloseReason::ChatEnded),
                // Unreachable or failing service: keep trying to reconnect.
                _ => None,
            },
        }
    }

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
            deadline = Instant::now() + dead_after;
            got_frames = true;
            match self.handle_frame(&text).await {
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

    /// Decodes and forwards one frame.
    async fn handle_frame(&mut self, text: &str) -> Next {
        let delivered = match ChatEvent::from_frame(text) {
            Ok(event) => {
                let closing = matches!(&event, ChatEvent::Unknown { topic: Some(t), .. } if t == SOCKET_CLOSING_TOPIC);
                if let Some(event) = self.admit(event) {
                    if !self.emit(Ok(StreamEvent::Chat(event))).await {
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

    /// Updates the stream's memory; `None` drops an already-delivered message.
    fn admit(&mut self, event: ChatEvent) -> Option<ChatEvent> {
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
                self.remember_member(member_id, state.clone());
            }
            _ => {}
        }
        Some(event)
    }

    fn remember_member(&mut self, member_id: &str, state: MemberState) {
        if member_id == self.target.member_id && state == MemberState::Disconnected {
            self.own_disconnected = true;
        }
        match self.members.iter_mut().find(|(id, _)| id == member_id) {
            Some(entry) => entry.1 = state,
            None => self.members.push((member_id.to_owned(), state)),
        }
    }

    /// Delivers what the socket missed; `Ok(None)` when the consumer is gone.
    async fn resync(&mut self) -> Result<Option<usize>, Error> {
        let mut missed = 0;
        loop {
            let options = GetMessagesOptions {
                after: self.last_message_id.clone(),
                sort_order: Some(SortOrder::Ascending),
                max_results: Some(HISTORY_PAGE),
                ..Default::default()
            };
            let page = self
                .target
                .api
                .get_webchat_guest_conversation_messages(&self.target.conversation_id, &options)
                .await?;
            let entities = page.entities.unwrap_or_default();
            let count = entities.len();
            let mut advanced = false;
            for message in entities {
                let Some(id) = message.id.clone() else {
                    continue;
                };
                advanced = true;
                self.last_message_id = Some(id.clone());
                if self.recent.insert(&id) {
                    missed += 1;
                    if !self
                        .emit(Ok(StreamEvent::Chat(ChatEvent::Message(message))))
                        .await
                    {
                        return Ok(None);
                    }
                }
            }
            if count < HISTORY_PAGE as usize || !advanced {
                break;
            }
        }
        self.resync_members().await?;
        Ok(Some(missed))
    }

    /// Reports members whose state changed while the socket was away.
    async fn resync_members(&mut self) -> Result<(), Error> {
        let mut page_number = 1;
        loop {
            let options = GetMembersOptions {
                page_size: Some(MEMBERS_PAGE),
                page_number: Some(page_number),
                exclude_disconnected_members: Some(false),
            };
            let page = self
                .target
                .api
                .get_webchat_guest_conversation_members(&self.target.conversation_id, &options)
                .await?;
            let entities = page.entities.unwrap_or_default();
            let count = entities.len();
            for member in entities {
                let (Some(id), Some(state)) = (member.id, member.state) else {
                    continue;
                };
                let known = self.members.iter().find(|(m, _)| *m == id).map(|(_, s)| s);
                if known == Some(&state) {
                    continue;
                }
                self.remember_member(&id, state.clone());
                let event = ChatEvent::MemberChange {
                    conversation_id: self.target.conversation_id.clone(),
                    member_id: id,
                    state,
                    timestamp: None,
                    correlation_id: None,
                };
                if !self.emit(Ok(StreamEvent::Chat(event))).await {
                    return Ok(());
                }
            }
            let pages = page.page_count.unwrap_or(1);
            if count < MEMBERS_PAGE as usize || page_number >= pages {
                return Ok(());
            }
            page_number += 1;
        }
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
