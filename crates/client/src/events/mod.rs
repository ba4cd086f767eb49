//! `EventStream`: the guest chat event stream as a typed, self-healing `futures::Stream`.
//!
//! The official SDKs contain no event-stream code; every app hand-writes
//! `new WebSocket(eventStreamUri)` and loses messages on every disconnect. This stream:
//!
//! - connects lazily (on first poll) to `eventStreamUri`, with a connect timeout, through
//!   the same proxy as the client's REST calls (`http://` or `https://` via `CONNECT`, or
//!   SOCKS5);
//! - decodes every frame into a [`ChatEvent`] (unknown frames become `ChatEvent::Unknown`);
//! - watches liveness: no frame for 2.5 heartbeat intervals means a dead connection;
//! - on a `v2.system.socket_closing` frame (maintenance ahead) reconnects at once, without
//!   backoff, and resyncs, instead of waiting for the service to cut the socket;
//! - on an unexpected close asks REST whether the guest is still in the chat
//!   (docs/protocol.md 7.10); if not, it ends cleanly, otherwise it reconnects with jittered
//!   exponential backoff and resyncs over REST: missed messages (`GET .../messages?after=`,
//!   paged) are delivered in order, anything already delivered is dropped, and member
//!   states that changed while offline are reported as member-change events;
//! - reports its own lifecycle ([`StreamEvent::Connected`], [`StreamEvent::Reconnecting`],
//!   [`StreamEvent::Resynced`], [`StreamEvent::Closed`]) in the stream.
//!
//! Dropping the stream stops its task and closes the socket.
//!
//! The same driver runs a [`GuestChat`](crate::session::GuestChat): it is generic over its
//! output (`output::Output`), a bounded channel here, the session layer there, so that a
//! guest chat is one task that owns the socket, the member table (`roster::Roster`) and the
//! one decision whether the chat is over.

mod driver;
mod output;
mod recent;
mod roster;

use crate::api::WebChatApi;
use crate::client::ApiClient;
use crate::error::Error;
use crate::model::{ChatEvent, CreateWebChatConversationResponse};
use futures::Stream;
use secrecy::SecretString;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

pub(crate) use driver::Driver;
pub(crate) use output::{Flow, Output, Verdict};
pub(crate) use roster::Roster;

/// How many items an [`EventStream`] holds for a consumer that is not reading; when they are
/// all waiting, the stream stops reading its socket until the consumer takes one.
pub const STREAM_QUEUE: usize = 64;

/// One item of an [`EventStream`]: a chat event or a change of the connection.
// Nearly every item is `Chat`, so boxing it would only add an allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamEvent {
    /// An event from the service (also missed messages delivered by a resync).
    Chat(ChatEvent),
    /// A socket is open (first connection or a reconnection).
    Connected,
    /// The connection was lost; the next attempt starts after `delay`.
    Reconnecting {
        /// 1 for the first retry after a loss.
        attempt: u32,
        /// The backoff before this attempt.
        delay: Duration,
        /// Why the connection was lost (JWT masked).
        reason: String,
    },
    /// After a reconnection, the REST resync finished: `missed` messages were delivered.
    Resynced {
        /// Messages delivered from history that the socket had not delivered.
        missed: usize,
    },
    /// The stream is over; nothing follows.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// Why an [`EventStream`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The chat ended (the guest's member is DISCONNECTED, or the conversation is gone).
    ChatEnded,
    /// The JWT is no longer accepted (expired or revoked): the chat cannot continue.
    Unauthorized,
    /// Reconnection was given up after this many attempts.
    GaveUp {
        /// Attempts made.
        attempts: u32,
    },
}

/// Tuning of an [`EventStream`]. The defaults suit the real service.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EventStreamOptions {
    /// The service's heartbeat period (30 s); no frame for 2.5 of these = dead connection.
    pub heartbeat_interval: Duration,
    /// Limit on opening the socket (10 s).
    pub connect_timeout: Duration,
    /// First reconnection delay (250 ms), doubled per attempt, with equal jitter
    /// (each wait lies between half its ceiling and the ceiling; the same back-off as REST retries).
    pub backoff_base: Duration,
    /// Largest reconnection delay (30 s).
    pub backoff_max: Duration,
    /// Give up after this many consecutive failed attempts (`None` = never; default 20).
    pub max_reconnect_attempts: Option<u32>,
    /// Resume after this message id: on the first connection, messages after it are
    /// fetched from history and delivered first.
    pub resume_after: Option<String>,
}

impl Default for EventStreamOptions {
    fn default() -> Self {
        EventStreamOptions {
            heartbeat_interval: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            max_reconnect_attempts: Some(20),
            resume_after: None,
        }
    }
}

impl EventStreamOptions {
    /// Sets the heartbeat period the liveness check expects.
    pub fn heartbeat_interval(mut self, d: Duration) -> Self {
        self.heartbeat_interval = d;
        self
    }
    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }
    /// Sets the backoff range.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_max = max;
        self
    }
    /// Sets the reconnect limit (`None` = never give up).
    pub fn max_reconnect_attempts(mut self, n: Option<u32>) -> Self {
        self.max_reconnect_attempts = n;
        self
    }
    /// Resumes after a message id already seen (e.g. from a previous process).
    pub fn resume_after(mut self, message_id: impl Into<String>) -> Self {
        self.resume_after = Some(message_id.into());
        self
    }
}

/// What the stream needs to know of a chat.
pub(crate) struct StreamTarget {
    pub(crate) api: WebChatApi,
    pub(crate) conversation_id: String,
    pub(crate) member_id: String,
    pub(crate) uri: SecretString,
    /// The tokens of the URI, known secrets while the stream lives (masked in every log line
    /// and error, pieces included).
    _tokens: Vec<crate::secret::Jwt>,
}

/// The parts of an event-stream URI that may be tokens: path segments and query values of
/// 16 characters or more (the host is not one).
fn uri_tokens(uri: &str) -> Vec<crate::secret::Jwt> {
    let Ok(url) = url::Url::parse(uri) else {
        return Vec::new();
    };
    let path = url
        .path_segments()
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let query = url.query_pairs().map(|(_, v)| v.into_owned());
    path.into_iter()
        .chain(query)
        .filter(|t| t.len() >= 16)
        .map(crate::secret::Jwt::new)
        .collect()
}

/// What the driver task hands to the stream, boxed: a tokio channel allocates its slots 32 at a
/// time, and 32 unboxed items (a `ChatEvent` or an `Error` is several hundred bytes) were
/// kilobytes per open chat.
type Item = Box<Result<StreamEvent, Error>>;

enum State {
    Idle(Box<(StreamTarget, EventStreamOptions)>),
    Running(mpsc::Receiver<Item>),
    Done,
}

/// The typed, self-healing event stream of one chat.
///
/// ```no_run
/// # async fn demo(client: purecloud_guest_chat_client::ApiClient,
/// #               chat: purecloud_guest_chat_client::CreateWebChatConversationResponse)
/// #               -> Result<(), purecloud_guest_chat_client::Error> {
/// use futures::StreamExt;
/// use purecloud_guest_chat_client::events::{EventStream, StreamEvent};
///
/// let mut events = EventStream::new(&client, &chat)?;
/// while let Some(item) = events.next().await {
///     match item? {
///         StreamEvent::Chat(event) => println!("{event:?}"),
///         StreamEvent::Closed { reason } => println!("closed: {reason:?}"),
///         other => println!("{other:?}"),
///     }
/// }
/// # Ok(()) }
/// ```
pub struct EventStream {
    state: State,
    cancel: CancellationToken,
    _guard: DropGuard,
    conversation_id: String,
}

impl EventStream {
    /// A stream for the chat `created` by `post_webchat_guest_conversations`.
    ///
    /// `client` is used for the REST resync; the JWT of `created` is used (the client's
    /// own JWT is not needed).
    pub fn new(
        client: &ApiClient,
        created: &CreateWebChatConversationResponse,
    ) -> Result<EventStream, Error> {
        EventStream::with_options(client, created, EventStreamOptions::default())
    }

    /// As [`EventStream::new`], with options.
    pub fn with_options(
        client: &ApiClient,
        created: &CreateWebChatConversationResponse,
        options: EventStreamOptions,
    ) -> Result<EventStream, Error> {
        let missing = |what: &'static str| Error::InvalidArgument {
            name: what,
            reason: "missing from the create-conversation response; cannot open its event stream"
                .into(),
        };
        let conversation_id = created.id.clone().ok_or_else(|| missing("id"))?;
        let member_id = created
            .member
            .as_ref()
            .and_then(|m| m.id.clone())
            .ok_or_else(|| missing("member.id"))?;
        let jwt = created.jwt.clone().ok_or_else(|| missing("jwt"))?;
        let uri = created
            .event_stream_uri
            .clone()
            .ok_or_else(|| missing("eventStreamUri"))?;
        let client = client.with_jwt(jwt);
        Ok(EventStream::from_parts(
            WebChatApi::new(&client),
            conversation_id,
            member_id,
            uri,
            options,
        ))
    }

    /// A stream from its parts: `api` must carry the chat's JWT.
    pub fn from_parts(
        api: WebChatApi,
        conversation_id: impl Into<String>,
        member_id: impl Into<String>,
        event_stream_uri: impl Into<String>,
        options: EventStreamOptions,
    ) -> EventStream {
        let cancel = CancellationToken::new();
        let conversation_id = conversation_id.into();
        let event_stream_uri = event_stream_uri.into();
        let tokens = uri_tokens(&event_stream_uri);
        let target = StreamTarget {
            api,
            conversation_id: conversation_id.clone(),
            member_id: member_id.into(),
            uri: SecretString::from(event_stream_uri),
            _tokens: tokens,
        };
        EventStream {
            state: State::Idle(Box::new((target, options))),
            _guard: cancel.clone().drop_guard(),
            cancel,
            conversation_id,
        }
    }

    /// The driver of this stream (not polled yet) with another output, stopped by `cancel`:
    /// a [`GuestChat`](crate::session::GuestChat) runs it as its one task.
    /// The client the stream uses (with the chat's JWT), while it is not started.
    pub(crate) fn api(&self) -> Option<&WebChatApi> {
        match &self.state {
            State::Idle(boxed) => Some(&boxed.0.api),
            _ => None,
        }
    }

    pub(crate) fn into_driver<O: Output>(
        mut self,
        out: O,
        roster: Roster,
        cancel: CancellationToken,
    ) -> Option<Driver<O>> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Idle(boxed) => {
                let (target, options) = *boxed;
                Some(Driver::new(target, options, out, roster, cancel))
            }
            _ => None,
        }
    }

    /// Stops the stream now: the socket is closed and the stream ends.
    pub fn close(&mut self) {
        self.cancel.cancel();
        self.state = State::Done;
    }

    /// The conversation this stream follows.
    pub fn conversation_id(&self) -> &str {
        &self.conversation_id
    }
}

impl fmt::Debug for EventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Idle(_) => "idle",
            State::Running(_) => "running",
            State::Done => "done",
        };
        f.debug_struct("EventStream")
            .field("conversation_id", &self.conversation_id)
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

impl Stream for EventStream {
    type Item = Result<StreamEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let State::Idle(_) = this.state {
            let State::Idle(boxed) = std::mem::replace(&mut this.state, State::Done) else {
                return Poll::Ready(None);
            };
            let (target, options) = *boxed;
            // Small buffer: a slow consumer pauses socket reads (the liveness check
            // reads buffered frames first, so it does not mistake that for a dead link).
            let (tx, rx) = mpsc::channel(STREAM_QUEUE);
            let driver = Driver::new(
                target,
                options,
                output::Channel(tx),
                Roster::default(),
                this.cancel.clone(),
            );
            crate::rt::spawn(driver.run());
            this.state = State::Running(rx);
        }
        match &mut this.state {
            State::Running(rx) => match rx.poll_recv(cx) {
                Poll::Ready(None) => {
                    this.state = State::Done;
                    Poll::Ready(None)
                }
                Poll::Ready(Some(item)) => Poll::Ready(Some(*item)),
                Poll::Pending => Poll::Pending,
            },
            _ => Poll::Ready(None),
        }
    }
}
