//! One virtual guest: start, greeting, M messages each awaiting its echo, leave, end, with
//! every agent message checked for exactly-once and order along the way.

use super::check::{EchoCheck, MISSING};
use super::record::{Counters, Latency, OpenGuard, Recorder};
use super::send;
use super::STEP_TIMEOUT;
use crate::connect::describe;
use futures::StreamExt;
use purecloud_guest_chat_client::model::Role;
use purecloud_guest_chat_client::session::{ChatOptions, GuestChat, SessionEvent, SessionEvents};
use purecloud_guest_chat_client::{ApiClient, CreateWebChatConversationRequest, Error};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};

/// Everything a chat task needs.
pub(super) struct Ctx {
    pub client: ApiClient,
    pub request: CreateWebChatConversationRequest,
    pub opening: Semaphore,
    pub messages: u64,
    pub interval: Duration,
    pub hold: bool,
    pub chats: usize,
    pub all_opened: watch::Sender<bool>,
    pub rec: Mutex<Recorder>,
    pub counters: Counters,
}

impl Ctx {
    pub(super) fn rec(&self) -> std::sync::MutexGuard<'_, Recorder> {
        self.rec
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn opening_settled(&self) {
        if Counters::bump(&self.counters.settled_openings) >= self.chats {
            let _ = self.all_opened.send(true);
        }
    }
}

/// Why a chat failed: a kind to group by, and one line of detail.
pub(super) struct Failure {
    pub kind: String,
    pub detail: String,
}

impl Failure {
    pub(super) fn sdk(step: &str, e: &Error) -> Failure {
        let kind = match e {
            Error::Api(api) => api
                .code()
                .map_or_else(|| format!("http {}", api.status), str::to_owned),
            Error::Timeout(_) => "timeout".into(),
            Error::Connect(_) => "connect".into(),
            Error::Tls(_) => "tls".into(),
            Error::Transport(_) => "transport".into(),
            Error::EventStream(_) => "event stream".into(),
            Error::Decode { .. } => "decode".into(),
            _ => "other".into(),
        };
        Failure {
            kind,
            detail: format!("{step}: {}", describe(e)),
        }
    }

    pub(super) fn local(kind: &str, detail: impl Into<String>) -> Failure {
        Failure {
            kind: kind.to_owned(),
            detail: detail.into(),
        }
    }
}

/// What a chat is waiting for.
#[derive(Clone, Copy)]
enum Until {
    /// Any agent message.
    Greeting,
    /// The echo of message `k`.
    Reply(usize),
    /// Nothing: the chat is held open until every chat has opened (`--hold`); messages
    /// arriving meanwhile are still checked, and an end is a failure.
    Hold,
    /// The chat's end.
    End,
}

impl Until {
    fn step(self) -> &'static str {
        match self {
            Until::Greeting => "greeting",
            Until::Reply(_) => "reply",
            Until::Hold => "hold",
            Until::End => "end",
        }
    }
}

/// A started chat's event stream and exactly-once check.
struct Conv {
    n: usize,
    events: SessionEvents,
    check: EchoCheck,
}

impl Conv {
    /// Judges one event; true when it is what `until` waits for. Chat ends other than the
    /// one awaited fail the chat.
    fn take(&mut self, ctx: &Ctx, until: Until, event: SessionEvent) -> Result<bool, Failure> {
        match event {
            SessionEvent::Message {
                message,
                sender,
                own: false,
                // The agent's (a role still being looked up counts: the load's chats have no
                // workflow, and a lookup never holds a message back).
            } if sender.role.as_ref().is_none_or(|r| *r == Role::Agent) => {
                let body = message.body.as_deref().unwrap_or_default();
                let verdict = self.check.reply(body);
                if let Some(kind) = verdict.violation() {
                    ctx.rec()
                        .violation(kind, format!("guest {}: {body:?}", self.n));
                }
                Ok(match until {
                    Until::Greeting => true,
                    Until::Reply(k) => self.check.echoed(k),
                    Until::Hold | Until::End => false,
                })
            }
            SessionEvent::Warning(_) => {
                ctx.rec().warnings += 1;
                Ok(false)
            }
            SessionEvent::Reconnecting { .. } => {
                ctx.rec().reconnects += 1;
                Ok(false)
            }
            SessionEvent::Ended(_) if matches!(until, Until::End) => Ok(true),
            SessionEvent::Ended(reason) => Err(Failure::local(
                "ended early",
                format!("{}: the chat ended ({reason:?})", until.step()),
            )),
            _ => Ok(false),
        }
    }

    /// Reads (and checks) events until every chat has opened: an app reads its events while
    /// it holds a chat open, and events left unread would sit in the SDK's queue and count as
    /// its memory per chat. The run's own limit bounds this wait.
    async fn hold(&mut self, ctx: &Ctx) -> Result<(), Failure> {
        let mut all = ctx.all_opened.subscribe();
        let all_opened = all.wait_for(|done| *done);
        tokio::pin!(all_opened);
        loop {
            tokio::select! {
                _ = &mut all_opened => return Ok(()),
                event = self.events.next() => match event {
                    Some(event) => {
                        self.take(ctx, Until::Hold, event)?;
                    }
                    None => {
                        return Err(Failure::local("ended early", "hold: the event stream stopped"));
                    }
                },
            }
        }
    }

    /// Reads events until `until` is met; fails on an early end or after `STEP_TIMEOUT`.
    async fn wait(&mut self, ctx: &Ctx, until: Until) -> Result<(), Failure> {
        let step = until.step();
        let wait = async {
            while let Some(event) = self.events.next().await {
                if self.take(ctx, until, event)? {
                    return Ok(());
                }
            }
            Err(Failure::local(
                "ended early",
                format!("{step}: the event stream stopped"),
            ))
        };
        tokio::time::timeout(STEP_TIMEOUT, wait)
            .await
            .unwrap_or_else(|_| {
                Err(Failure::local(
                    &format!("no {step} in {}s", STEP_TIMEOUT.as_secs()),
                    format!("{step}: nothing within {STEP_TIMEOUT:?}"),
                ))
            })
    }
}

/// Starts a chat under the opening gate, recording the start latency.
async fn open(ctx: &Ctx) -> Result<GuestChat, Failure> {
    let _permit = ctx
        .opening
        .acquire()
        .await
        .map_err(|_| Failure::local("internal", "semaphore closed"))?;
    let t0 = Instant::now();
    // Long step limits of their own, so only the start's own timeout applies.
    let options = ChatOptions::default().join_timeout(STEP_TIMEOUT);
    let chat = GuestChat::start_with(&ctx.client, &ctx.request, options)
        .await
        .map_err(|e| Failure::sdk("start", &e))?;
    ctx.rec().latency(Latency::Start, t0.elapsed());
    Ok(chat)
}

/// One virtual guest: start, greeting, M messages each awaiting the echo, leave, end.
///
/// The steps' futures are boxed: inline, the largest of them (the chat's start, a send) sat in
/// every chat's task for as long as the chat was held open, which the run's RSS per chat
/// counted as the SDK's (issue 14).
pub(super) async fn one_chat(ctx: Arc<Ctx>, n: usize) -> Result<(), Failure> {
    let opened = Box::pin(open(&ctx)).await;
    ctx.opening_settled();
    let chat = opened?;
    let _open = OpenGuard::new(&ctx.counters);
    Counters::bump(&ctx.counters.started);
    let mut conv = Conv {
        n,
        events: chat.events(),
        check: EchoCheck::default(),
    };
    Box::pin(conv.wait(&ctx, Until::Greeting)).await?;
    for k in 0..ctx.messages {
        if k > 0 && !ctx.interval.is_zero() {
            tokio::time::sleep(ctx.interval).await;
        }
        let text = format!("guest {n} message {k}");
        let t0 = Instant::now();
        let number = conv.check.sent(&text);
        Box::pin(send::exactly_once(&ctx, &chat, &text)).await?;
        ctx.rec().latency(Latency::Send, t0.elapsed());
        Box::pin(conv.wait(&ctx, Until::Reply(number))).await?;
        ctx.rec().latency(Latency::RoundTrip, t0.elapsed());
        Counters::bump(&ctx.counters.round_trips);
    }
    if ctx.hold {
        Box::pin(conv.hold(&ctx)).await?;
    }
    {
        // After --hold every chat leaves at the same moment: without a gate that is one new
        // REST connection per chat, and an 8,000-chat run ran out of descriptors here.
        let _permit = if ctx.hold {
            ctx.opening.acquire().await.ok()
        } else {
            None
        };
        Box::pin(send::leave(&chat)).await?;
    }
    // Echoes arriving until the end are still checked.
    Box::pin(conv.wait(&ctx, Until::End)).await?;
    let missing = conv.check.missing();
    if missing > 0 {
        let detail = format!("guest {n}: {missing} sent message(s) never echoed");
        for _ in 0..missing {
            ctx.rec().violation(MISSING, detail.clone());
        }
    }
    Ok(())
}
