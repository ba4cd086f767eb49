//! The terminal UI's state: what the chat and the keys change.

use crate::connect::describe;
use crate::format;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use purecloud_guest_chat_client::events::CloseReason;
use purecloud_guest_chat_client::model::{BodyType, MemberState, Role, WebChatMessage};
use purecloud_guest_chat_client::session::{ChatState, EndedBy, Member, SessionEvent};
use ratatui::style::Color;
use std::time::{Duration, Instant};

/// Typing indicators are sent at most this often.
pub(super) const TYPING_EVERY: Duration = Duration::from_secs(3);

/// What a key press asks for.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Action {
    None,
    Send(String),
    Typing,
    Leave,
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Own,
    Agent,
    Other,
    System,
    Warning,
}

pub(super) struct Entry {
    pub(super) time: String,
    pub(super) who: Option<String>,
    pub(super) text: String,
    pub(super) kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Conn {
    Connecting,
    Live,
    Reconnecting(u32),
    Resynced(usize),
    Ended,
}

pub(super) struct App {
    pub(super) target: String,
    pub(super) own_id: String,
    pub(super) entries: Vec<Entry>,
    pub(super) members: Vec<Member>,
    pub(super) typing: Vec<Member>,
    pub(super) conn: Conn,
    pub(super) state: ChatState,
    pub(super) input: String,
    /// Lines scrolled up from the bottom of the transcript.
    pub(super) scroll: usize,
    pub(super) ended: Option<String>,
    pub(super) messages: usize,
    pub(super) last_typing: Option<Instant>,
    pub(super) leaving: bool,
    /// Who ended the chat, read from the session when it ends.
    pub(super) ended_by: Option<EndedBy>,
    /// How the chat ended (for the exit status); `None` while it goes on.
    pub(super) close: Option<(CloseReason, Option<EndedBy>)>,
    pub(super) quit: bool,
    /// Web Messaging with --token-file: quitting keeps the conversation (only /leave ends it).
    pub(super) keeps_conversation: bool,
}

impl App {
    pub(super) fn new(target: String) -> App {
        App {
            target,
            own_id: String::new(),
            entries: Vec::new(),
            members: Vec::new(),
            typing: Vec::new(),
            conn: Conn::Connecting,
            state: ChatState::Waiting,
            input: String::new(),
            scroll: 0,
            ended: None,
            messages: 0,
            last_typing: None,
            leaving: false,
            ended_by: None,
            close: None,
            quit: false,
            keeps_conversation: false,
        }
    }

    pub(super) fn push(&mut self, kind: Kind, time: String, who: Option<String>, text: String) {
        self.entries.push(Entry {
            time,
            who,
            text,
            kind,
        });
        if self.scroll > 0 {
            // Keep the lines the user is reading where they are.
            self.scroll += 1;
        }
    }

    pub(super) fn system(&mut self, text: impl Into<String>) {
        self.push(Kind::System, format::clock(None), None, text.into());
    }

    pub(super) fn warn(&mut self, text: impl Into<String>) {
        self.push(Kind::Warning, format::clock(None), None, text.into());
    }

    pub(super) fn who(&self, m: &Member) -> String {
        format::who(m, &self.own_id)
    }

    pub(super) fn upsert_member(&mut self, member: &Member) {
        match self.members.iter_mut().find(|m| m.id == member.id) {
            Some(m) => *m = member.clone(),
            None => self.members.push(member.clone()),
        }
    }

    fn on_message(&mut self, message: &WebChatMessage, sender: &Member, own: bool) {
        self.typing.retain(|m| m.id != sender.id);
        let time = format::clock(message.timestamp.as_ref());
        let body = format::visible(message.body.as_deref().unwrap_or_default(), true).into_owned();
        match message.body_type.as_ref() {
            Some(BodyType::MemberJoin | BodyType::MemberLeave) => {}
            Some(BodyType::MediaRequest) => {
                let who = self.who(sender);
                self.system(format!("{who} sent a media request (not supported here)"));
            }
            bt => {
                self.messages += 1;
                let kind = if own || sender.id == self.own_id {
                    Kind::Own
                } else if sender.role == Some(Role::Agent) {
                    Kind::Agent
                } else {
                    Kind::Other
                };
                let text = if bt == Some(&BodyType::Notice) {
                    format!("[notice] {body}")
                } else {
                    body
                };
                let who = self.who(sender);
                self.push(kind, time, Some(who), text);
            }
        }
    }

    pub(super) fn on_event(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::Message {
                message,
                sender,
                own,
            } => self.on_message(&message, &sender, own),
            SessionEvent::TypingStarted(m)
                if m.id != self.own_id && !self.typing.iter().any(|t| t.id == m.id) =>
            {
                self.typing.push(m);
            }
            SessionEvent::TypingStopped(m) => self.typing.retain(|t| t.id != m.id),
            SessionEvent::MemberChanged { member, .. } | SessionEvent::MemberUpdated(member) => {
                self.upsert_member(&member);
                if member.state == Some(MemberState::Disconnected) {
                    self.typing.retain(|t| t.id != member.id);
                }
                for typing in self.typing.iter_mut().filter(|t| t.id == member.id) {
                    typing.clone_from(&member);
                }
                // A member still being looked up gets its line when its name lands.
                if format::unresolved(&member, &self.own_id) || member.state.is_none() {
                    return;
                }
                let verb = member
                    .state
                    .as_ref()
                    .map_or_else(|| "changed".into(), format::member_verb);
                let verb = format::visible(&verb, false).into_owned();
                let who = self.who(&member);
                self.system(format!("{who} {verb}"));
            }
            SessionEvent::StateChanged(state) => {
                self.state = state;
                if state != ChatState::Ended {
                    self.system(format!("chat {}", format::state_text(state)));
                }
            }
            SessionEvent::Reconnecting { attempt } => {
                self.conn = Conn::Reconnecting(attempt);
                self.warn(format!("connection lost, reconnecting (attempt {attempt})"));
            }
            SessionEvent::Resynced { missed } => {
                self.conn = Conn::Resynced(missed);
                let missed = format::count(missed, "missed message");
                self.system(format!("reconnected; {missed} recovered"));
            }
            SessionEvent::Warning(e) => {
                let text = format::visible(&describe(&e), false).into_owned();
                self.warn(format!("warning: {text}"));
            }
            SessionEvent::Ended(reason) => {
                self.end(format::close_text(&reason, self.ended_by));
                self.close = Some((reason, self.ended_by));
            }
            _ => {}
        }
    }

    pub(super) fn end(&mut self, reason: String) {
        if self.ended.is_some() {
            return;
        }
        self.system(format!("chat ended: {reason}"));
        self.ended = Some(reason);
        self.conn = Conn::Ended;
        self.state = ChatState::Ended;
        self.typing.clear();
    }

    pub(super) fn on_terminal(&mut self, event: Event) -> Action {
        match event {
            Event::Key(key) if key.kind == KeyEventKind::Press => self.on_key(key),
            Event::Paste(text) if self.ended.is_none() => {
                let flat: String = text
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                self.input.push_str(&flat);
                Action::None
            }
            _ => Action::None,
        }
    }

    pub(super) fn on_key(&mut self, key: KeyEvent) -> Action {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c' | 'q')) {
            return Action::Quit;
        }
        if self.ended.is_some() {
            return match key.code {
                KeyCode::Char('q' | 'Q') | KeyCode::Esc | KeyCode::Enter => Action::Quit,
                KeyCode::PageUp | KeyCode::Up => {
                    self.scroll_by(if key.code == KeyCode::Up { 1 } else { 10 })
                }
                KeyCode::PageDown | KeyCode::Down => {
                    self.scroll_down(if key.code == KeyCode::Down { 1 } else { 10 })
                }
                _ => Action::None,
            };
        }
        match key.code {
            KeyCode::Char('u') if ctrl => {
                self.input.clear();
                Action::None
            }
            KeyCode::Char('d') if ctrl && self.input.is_empty() => Action::Quit,
            KeyCode::Char(c) if !ctrl => {
                self.input.push(c);
                self.maybe_typing()
            }
            KeyCode::Backspace => {
                self.input.pop();
                Action::None
            }
            KeyCode::Esc => {
                self.input.clear();
                Action::None
            }
            KeyCode::PageUp => self.scroll_by(10),
            KeyCode::Up => self.scroll_by(1),
            KeyCode::PageDown => self.scroll_down(10),
            KeyCode::Down => self.scroll_down(1),
            KeyCode::Enter => self.submit(),
            _ => Action::None,
        }
    }

    pub(super) fn scroll_by(&mut self, n: usize) -> Action {
        self.scroll = self.scroll.saturating_add(n);
        Action::None
    }

    pub(super) fn scroll_down(&mut self, n: usize) -> Action {
        self.scroll = self.scroll.saturating_sub(n);
        Action::None
    }

    pub(super) fn maybe_typing(&mut self) -> Action {
        if self.conn == Conn::Connecting || self.input.starts_with('/') {
            return Action::None;
        }
        let due = self
            .last_typing
            .is_none_or(|at| at.elapsed() >= TYPING_EVERY);
        if due {
            self.last_typing = Some(Instant::now());
            Action::Typing
        } else {
            Action::None
        }
    }

    pub(super) fn submit(&mut self) -> Action {
        let line = std::mem::take(&mut self.input);
        let text = line.trim();
        self.scroll = 0;
        match text {
            "" => Action::None,
            "/quit" | "/exit" => Action::Quit,
            "/leave" => {
                if self.leaving {
                    return Action::None;
                }
                self.leaving = true;
                self.system("leaving the chat...");
                Action::Leave
            }
            "/help" => {
                if self.keeps_conversation {
                    self.system(
                        "commands: /leave ends the chat, /quit exits and keeps it for the next run, /help",
                    );
                } else {
                    self.system("commands: /leave ends the chat, /quit leaves and exits, /help");
                }
                self.system("keys: Enter sends, PgUp/PgDn scroll, Esc clears, Ctrl-C quits");
                Action::None
            }
            t if t.starts_with('/') => {
                self.warn(format!("unknown command {t}; try /help"));
                Action::None
            }
            _ if self.conn == Conn::Connecting => {
                self.warn("still connecting: message not sent");
                self.input = line;
                Action::None
            }
            _ => {
                // The next keystroke may announce typing again right away.
                self.last_typing = None;
                Action::Send(line)
            }
        }
    }

    pub(super) fn status(&self) -> (String, Color) {
        let chat = match self.state {
            ChatState::Waiting => "waiting for an agent",
            ChatState::Connected => "connected",
            ChatState::Transferred => "transferred",
            ChatState::Ended => "ended",
            _ => "unknown",
        };
        match self.conn {
            Conn::Connecting => ("connecting...".into(), Color::Yellow),
            Conn::Reconnecting(n) => (format!("reconnecting (attempt {n})..."), Color::Red),
            Conn::Resynced(n) => (format!("{chat} · resynced ({n} missed)"), Color::Green),
            Conn::Ended => ("chat ended".into(), Color::Red),
            Conn::Live if self.state == ChatState::Connected => (chat.into(), Color::Green),
            Conn::Live => (chat.into(), Color::Yellow),
        }
    }
}
