//! `guest-chat chat --plain`: line-based chat over stdin/stdout, for pipes and scripts.
//!
//! Input lines are queued until an agent is in the chat, then sent in order. `/leave` or the
//! end of input waits (up to the linger time) for the replies still due, then leaves. A send
//! that fails is reported on stderr and the chat goes on; whatever ends the program leaves a
//! chat still going on (best effort, bounded).

use crate::connect::{
    config_warning, config_warnings, describe, leave_quietly, signals, start_chat, Target,
};
use crate::format;
use anyhow::anyhow;
use futures::StreamExt;
use purecloud_guest_chat_client::config::ConfigError;
use purecloud_guest_chat_client::events::CloseReason;
use purecloud_guest_chat_client::model::{BodyType, Role};
use purecloud_guest_chat_client::session::{Backend, ChatState, EndedBy, GuestChat, SessionEvent};
use serde_json::json;
use std::collections::VecDeque;
use std::io::Write;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long to wait for the end of the chat after leaving.
const LEAVE_GRACE: Duration = Duration::from_secs(10);
/// Input lines read ahead of the chat (the reader waits when this many are queued).
const READ_AHEAD: usize = 64;

fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (e.g. `| head`) is not an error worth a panic.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Runs the line-based chat; Ok when the guest left or the agent ended the chat.
pub(crate) async fn run(target: Target, as_json: bool, linger: Duration) -> anyhow::Result<()> {
    let mut signals = signals();
    let warnings = config_warnings(&target.client);
    let start = start_chat(&target);
    tokio::pin!(start);
    let result = tokio::select! {
        started = &mut start => match started {
            Ok(chat) => {
                let mut session = Session::new(&chat, &target, as_json, linger);
                let result = session.run(&mut signals, warnings).await;
                if !session.detached {
                    leave_quietly(&chat).await;
                }
                result
            }
            Err(e) => Err(e),
        },
        _ = signals.recv() => {
            // The create may already be on the server: finish it (bounded) and leave.
            if let Ok(Ok(chat)) = tokio::time::timeout(crate::connect::LEAVE_LIMIT, start).await {
                leave_quietly(&chat).await;
            }
            Ok(())
        }
    };
    target.shutdown().await;
    result
}

/// One item of input, in order.
enum Input {
    Line(String),
    Invalid { line: usize },
    Leave,
    Typing,
    End,
    Failed(String),
}

/// Reads stdin in its own task: one [`Input`] per line, then [`Input::End`].
fn read_stdin() -> mpsc::Receiver<Input> {
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    tokio::spawn(async move {
        let mut reader = BufReader::new(tokio::io::stdin());
        let mut buf = Vec::new();
        let mut n = 0usize;
        loop {
            buf.clear();
            let input = match reader.read_until(b'\n', &mut buf).await {
                Ok(0) => Input::End,
                Ok(_) => {
                    n += 1;
                    while matches!(buf.last(), Some(b'\n' | b'\r')) {
                        buf.pop();
                    }
                    match std::str::from_utf8(&buf) {
                        Ok(text) => match text.trim() {
                            "/leave" | "/quit" => Input::Leave,
                            "/typing" => Input::Typing,
                            _ => Input::Line(text.to_owned()),
                        },
                        Err(_) => Input::Invalid { line: n },
                    }
                }
                Err(e) => Input::Failed(e.to_string()),
            };
            let last = matches!(input, Input::End | Input::Failed(_));
            if tx.send(input).await.is_err() || last {
                return;
            }
        }
    });
    rx
}

struct Session<'a> {
    chat: &'a GuestChat,
    target: &'a Target,
    as_json: bool,
    linger: Duration,
    own: String,
    pending: VecDeque<Input>,
    input_open: bool,
    /// Messages posted successfully, and those of them seen back on the event stream.
    sent: usize,
    own_seen: usize,
    /// Own messages (seen on the stream) not yet followed by an agent message.
    unanswered: usize,
    /// When the replies still due stop being waited for (set by /leave or end of input).
    linger_until: Option<Instant>,
    /// When the leave request went out.
    left_at: Option<Instant>,
    /// Web Messaging with --token-file: the input ended and the conversation is kept (not
    /// cleared) to be resumed by a later run.
    detached: bool,
}

impl<'a> Session<'a> {
    fn new(chat: &'a GuestChat, target: &'a Target, as_json: bool, linger: Duration) -> Self {
        Session {
            chat,
            target,
            as_json,
            linger,
            own: chat.member_id().to_owned(),
            pending: VecDeque::new(),
            input_open: true,
            sent: 0,
            own_seen: 0,
            unanswered: 0,
            linger_until: None,
            left_at: None,
            detached: false,
        }
    }

    fn started_line(&self) {
        let chat = self.chat;
        if self.as_json {
            emit(
                &json!({
                    "type": "started",
                    "conversationId": chat.conversation_id(),
                    "memberId": self.own,
                    "environment": self.target.describe(),
                })
                .to_string(),
            );
        } else {
            emit(&format!(
                "{}  chat started on {} ({}); type a line to send it, /leave to leave",
                format::clock(None),
                self.target.describe(),
                crate::connect::conversation_label(chat)
            ));
        }
    }

    async fn run(
        &mut self,
        signals: &mut mpsc::UnboundedReceiver<&'static str>,
        mut warnings: mpsc::UnboundedReceiver<ConfigError>,
    ) -> anyhow::Result<()> {
        self.started_line();
        let mut events = self.chat.events();
        let mut stdin = read_stdin();
        loop {
            self.advance().await?;
            if self.detached {
                return Ok(());
            }
            let wake = self.wake_at();
            tokio::select! {
                event = events.next() => {
                    let Some(event) = event else {
                        return Err(anyhow!("the event stream stopped before the chat ended"));
                    };
                    if let Some(done) = self.on_event(event) {
                        return done;
                    }
                }
                input = stdin.recv(), if self.input_open && self.pending.len() < READ_AHEAD => {
                    let input = input.unwrap_or(Input::End);
                    if matches!(input, Input::End | Input::Failed(_) | Input::Leave) {
                        self.input_open = false;
                    }
                    self.pending.push_back(input);
                }
                Some(e) = warnings.recv() => eprintln!("{}", config_warning(&e)),
                Some(_) = signals.recv() => {
                    if self.left_at.is_some() {
                        return Err(anyhow!("interrupted while waiting for the end of the chat"));
                    }
                    self.pending.clear();
                    self.input_open = false;
                    self.leave().await?;
                }
                _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                    if self.left_at.is_some_and(|at| at.elapsed() >= LEAVE_GRACE) {
                        return Err(anyhow!(
                            "left the chat, but it did not end within {} s",
                            LEAVE_GRACE.as_secs()
                        ));
                    }
                }
            }
        }
    }

    /// The next deadline: the end of the linger time, or of the wait for the end.
    fn wake_at(&self) -> Option<Instant> {
        match (self.left_at, self.linger_until) {
            (Some(at), _) => Some(at + LEAVE_GRACE),
            (None, until) => until,
        }
    }

    /// Web Messaging with --token-file: the end of input keeps the conversation (only
    /// /leave ends it), so that the next run resumes it.
    fn keeps_conversation(&self) -> bool {
        self.target.keeps_conversation()
    }

    fn detach(&mut self) {
        self.detached = true;
        if self.as_json {
            emit(&json!({"type": "kept"}).to_string());
        } else {
            emit(&format!(
                "{}  end of input: conversation kept; run again with the same --token-file to resume it",
                format::clock(None)
            ));
        }
    }

    /// True when a line may be sent: guest chat once an agent is connected; Web Messaging
    /// at once (its agent answers the guest's first message).
    fn agent_present(&self) -> bool {
        self.chat.state() == ChatState::Connected || self.chat.backend() == Backend::WebMessaging
    }

    fn replies_due(&self) -> bool {
        self.sent > self.own_seen || self.unanswered > 0
    }

    /// Works through the queued input as far as the chat allows.
    async fn advance(&mut self) -> anyhow::Result<()> {
        while self.left_at.is_none() {
            match self.pending.front() {
                None => return Ok(()),
                Some(Input::Line(_) | Input::Typing) if !self.agent_present() => return Ok(()),
                Some(Input::Leave | Input::End) => {
                    let until = *self
                        .linger_until
                        .get_or_insert_with(|| Instant::now() + self.linger);
                    if self.replies_due() && Instant::now() < until {
                        return Ok(());
                    }
                    let end_of_input = matches!(self.pending.front(), Some(Input::End));
                    self.pending.clear();
                    if end_of_input && self.keeps_conversation() {
                        self.detach();
                        return Ok(());
                    }
                    return self.leave().await;
                }
                Some(_) => {}
            }
            match self.pending.pop_front() {
                Some(Input::Line(text)) if text.trim().is_empty() => {}
                Some(Input::Line(text)) => match self.chat.send(&text).await {
                    Ok(_) => self.sent += 1,
                    Err(e) => eprintln!("warning: message not sent: {}", describe(&e)),
                },
                Some(Input::Typing) => {
                    if let Err(e) = self.chat.typing().await {
                        eprintln!("warning: typing indicator not sent: {}", describe(&e));
                    }
                }
                Some(Input::Invalid { line }) => {
                    eprintln!("warning: input line {line} is not valid UTF-8; not sent");
                }
                Some(Input::Failed(e)) => {
                    eprintln!("warning: cannot read stdin: {e}; leaving the chat");
                    self.pending.push_front(Input::End);
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn leave(&mut self) -> anyhow::Result<()> {
        if self.left_at.is_some() {
            return Ok(());
        }
        self.chat
            .leave()
            .await
            .map_err(|e| anyhow!("cannot leave the chat: {}", describe(&e)))?;
        self.left_at = Some(Instant::now());
        Ok(())
    }

    /// Prints the event and keeps count; `Some` when the chat is over.
    fn on_event(&mut self, event: SessionEvent) -> Option<anyhow::Result<()>> {
        let by = self.chat.ended_by();
        if self.as_json {
            if let Some(v) = format::json(&event, &self.own, by) {
                emit(&v.to_string());
            }
        } else if let Some(t) = format::text(&event, &self.own, by) {
            emit(&format!("{}  {t}", format::event_clock(&event)));
        }
        match event {
            SessionEvent::Message {
                message,
                sender,
                own,
            } if matches!(message.body_type, None | Some(BodyType::Standard)) => {
                if own || sender.id == self.own {
                    self.own_seen += 1;
                    self.unanswered += 1;
                } else if sender.role == Some(Role::Agent) {
                    self.unanswered = self.unanswered.saturating_sub(1);
                }
                None
            }
            SessionEvent::Ended(reason) => Some(outcome(&reason, by)),
            _ => None,
        }
    }
}

/// The exit of a chat that ended: Ok when the guest left or the agent ended it.
pub(crate) fn outcome(reason: &CloseReason, by: Option<EndedBy>) -> anyhow::Result<()> {
    match (reason, by) {
        (CloseReason::ChatEnded, Some(EndedBy::Service)) => {
            Err(anyhow!("the service ended the chat"))
        }
        (CloseReason::ChatEnded, _) => Ok(()),
        (other, by) => Err(anyhow!(
            "chat ended abnormally: {}",
            format::close_text(other, by)
        )),
    }
}
