//! `guest-chat chat`: the interactive terminal chat (ratatui + crossterm).
//!
//! One `tokio::select!` loop over the terminal's events, the chat's events, the results of
//! background REST calls and a redraw tick, so a slow request never freezes the screen.

use crate::connect::{
    config_warnings, describe, leave_quietly, signals, start_chat, Target, LEAVE_LIMIT,
};
use crate::format;
use anyhow::{anyhow, Context};
use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use purecloud_guest_chat_client::events::CloseReason;
use purecloud_guest_chat_client::model::{BodyType, MemberState, Role};
use purecloud_guest_chat_client::session::{ChatState, EndedBy, GuestChat, Member, SessionEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::{DefaultTerminal, Frame};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Typing indicators are sent at most this often.
const TYPING_EVERY: Duration = Duration::from_secs(3);
/// Redraw period (clock, typing indicator expiry).
const TICK: Duration = Duration::from_millis(250);
/// Width of the member pane.
const MEMBERS_WIDTH: u16 = 26;

/// Restores the terminal when dropped (every exit path, including `?` and unwinding).
struct RestoreGuard;

impl Drop for RestoreGuard {
    fn drop(&mut self) {
        ratatui::restore();
        let _ = crossterm::execute!(std::io::stdout(), crossterm::cursor::Show);
    }
}

/// Runs the terminal chat until the user quits.
pub async fn run(target: Target) -> anyhow::Result<()> {
    // Console logging from the SDK would scribble over the screen.
    let logger = target.client.config().logger_settings();
    if logger.log_to_console {
        let mut quiet = logger;
        quiet.log_to_console = false;
        let _ = target.client.config().set_logger(quiet);
    }
    // try_init also installs a panic hook that restores the terminal.
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let guard = RestoreGuard;
    let result = session(&mut terminal, &target).await;
    drop(guard);
    target.shutdown().await;
    let (summary, outcome) = result?;
    println!("{summary}");
    outcome
}

/// What a key press asks for.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    None,
    Send(String),
    Typing,
    Leave,
    Quit,
}

/// Work done off the UI loop, in order.
enum Command {
    Send(String),
    Typing,
    Leave,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Own,
    Agent,
    Other,
    System,
    Warning,
}

struct Entry {
    time: String,
    who: Option<String>,
    text: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    Connecting,
    Live,
    Reconnecting(u32),
    Resynced(usize),
    Ended,
}

struct App {
    target: String,
    own_id: String,
    entries: Vec<Entry>,
    members: Vec<Member>,
    typing: Vec<Member>,
    conn: Conn,
    state: ChatState,
    input: String,
    /// Lines scrolled up from the bottom of the transcript.
    scroll: usize,
    ended: Option<String>,
    messages: usize,
    last_typing: Option<Instant>,
    leaving: bool,
    /// Who ended the chat, read from the session when it ends.
    ended_by: Option<EndedBy>,
    /// How the chat ended (for the exit status); `None` while it goes on.
    close: Option<(CloseReason, Option<EndedBy>)>,
    quit: bool,
}

impl App {
    fn new(target: String) -> App {
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
        }
    }

    fn push(&mut self, kind: Kind, time: String, who: Option<String>, text: String) {
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

    fn system(&mut self, text: impl Into<String>) {
        self.push(Kind::System, format::clock(None), None, text.into());
    }

    fn warn(&mut self, text: impl Into<String>) {
        self.push(Kind::Warning, format::clock(None), None, text.into());
    }

    fn who(&self, m: &Member) -> String {
        format::who(m, &self.own_id)
    }

    fn upsert_member(&mut self, member: &Member) {
        match self.members.iter_mut().find(|m| m.id == member.id) {
            Some(m) => *m = member.clone(),
            None => self.members.push(member.clone()),
        }
    }

    fn on_event(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::Message {
                message,
                sender,
                own,
            } => {
                self.typing.retain(|m| m.id != sender.id);
                let time = format::clock(message.timestamp.as_ref());
                let body =
                    format::visible(message.body.as_deref().unwrap_or_default(), true).into_owned();
                match message.body_type.as_ref() {
                    Some(BodyType::MemberJoin) | Some(BodyType::MemberLeave) => {}
                    Some(BodyType::MediaRequest) => {
                        let who = self.who(&sender);
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
                        let who = self.who(&sender);
                        self.push(kind, time, Some(who), text);
                    }
                }
            }
            SessionEvent::TypingStarted(m)
                if m.id != self.own_id && !self.typing.iter().any(|t| t.id == m.id) =>
            {
                self.typing.push(m);
            }
            SessionEvent::TypingStopped(m) => self.typing.retain(|t| t.id != m.id),
            SessionEvent::MemberChanged { member, .. } => {
                self.upsert_member(&member);
                if member.state == Some(MemberState::Disconnected) {
                    self.typing.retain(|t| t.id != member.id);
                }
                let verb = member
                    .state
                    .as_ref()
                    .map(format::member_verb)
                    .unwrap_or_else(|| "changed".into());
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

    fn end(&mut self, reason: String) {
        if self.ended.is_some() {
            return;
        }
        self.system(format!("chat ended: {reason}"));
        self.ended = Some(reason);
        self.conn = Conn::Ended;
        self.state = ChatState::Ended;
        self.typing.clear();
    }

    fn on_terminal(&mut self, event: Event) -> Action {
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

    fn on_key(&mut self, key: KeyEvent) -> Action {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('q')) {
            return Action::Quit;
        }
        if self.ended.is_some() {
            return match key.code {
                KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Esc | KeyCode::Enter => {
                    Action::Quit
                }
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

    fn scroll_by(&mut self, n: usize) -> Action {
        self.scroll = self.scroll.saturating_add(n);
        Action::None
    }

    fn scroll_down(&mut self, n: usize) -> Action {
        self.scroll = self.scroll.saturating_sub(n);
        Action::None
    }

    fn maybe_typing(&mut self) -> Action {
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

    fn submit(&mut self) -> Action {
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
                self.system("commands: /leave ends the chat, /quit leaves and exits, /help");
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

    fn status(&self) -> (String, Color) {
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

    fn draw(&self, f: &mut Frame) {
        let [top, body, typing, input] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(3),
        ])
        .areas(f.area());

        let (status, color) = self.status();
        let bar = Line::from(vec![
            Span::styled(
                " guest-chat ",
                Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            ),
            Span::raw(" "),
            Span::styled(status, Style::new().fg(color).add_modifier(Modifier::BOLD)),
            Span::styled(
                format!("  {}", self.target),
                Style::new().fg(Color::DarkGray),
            ),
        ]);
        f.render_widget(Paragraph::new(bar), top);

        let member_w = if body.width >= 60 { MEMBERS_WIDTH } else { 0 };
        let [transcript, members] =
            Layout::horizontal([Constraint::Min(20), Constraint::Length(member_w)]).areas(body);
        self.draw_transcript(f, transcript);
        if member_w > 0 {
            self.draw_members(f, members);
        }

        let typing_text = match self.typing.as_slice() {
            [] => String::new(),
            [one] => format!(" {} is typing...", self.who(one)),
            many => format!(" {} people are typing...", many.len()),
        };
        f.render_widget(
            Paragraph::new(Span::styled(
                typing_text,
                Style::new().fg(Color::Cyan).add_modifier(Modifier::ITALIC),
            )),
            typing,
        );

        let title = if self.ended.is_some() {
            " chat ended · q quits ".to_owned()
        } else {
            " Message · Enter sends · /leave · /quit · /help ".to_owned()
        };
        let block = Block::bordered().title(title);
        let inner = block.inner(input);
        let width = usize::from(inner.width.max(1));
        let chars: Vec<char> = self.input.chars().collect();
        let shown: String = chars[chars.len().saturating_sub(width - 1)..]
            .iter()
            .collect();
        let cursor_x = inner.x + u16::try_from(shown.chars().count()).unwrap_or(0);
        f.render_widget(Paragraph::new(shown).block(block), input);
        if self.ended.is_none() {
            f.set_cursor_position((cursor_x, inner.y));
        }

        if let Some(reason) = &self.ended {
            self.draw_end(f, reason);
        }
    }

    fn draw_transcript(&self, f: &mut Frame, area: Rect) {
        let title = if self.scroll > 0 {
            format!(" Transcript (scrolled up {} · PgDn) ", self.scroll)
        } else {
            " Transcript ".to_owned()
        };
        let block = Block::bordered().title(title);
        let inner = block.inner(area);
        let width = usize::from(inner.width);
        let height = usize::from(inner.height);
        let mut lines: Vec<Line> = Vec::new();
        for e in &self.entries {
            lines.extend(entry_lines(e, width));
        }
        let max_scroll = lines.len().saturating_sub(height);
        let scroll = self.scroll.min(max_scroll);
        let end = lines.len() - scroll;
        let start = end.saturating_sub(height);
        let visible: Vec<Line> = lines.drain(start..end).collect();
        f.render_widget(Paragraph::new(visible).block(block), area);
    }

    fn draw_members(&self, f: &mut Frame, area: Rect) {
        let block = Block::bordered().title(" Members ");
        let inner_w = usize::from(block.inner(area).width);
        let mut lines = Vec::new();
        for m in &self.members {
            let (dot, color) = match &m.state {
                Some(MemberState::Connected) => ("●", Color::Green),
                Some(MemberState::Alerting) => ("◌", Color::Yellow),
                Some(MemberState::Disconnected) => ("○", Color::DarkGray),
                _ => ("?", Color::Gray),
            };
            let name = format::visible(&m.display_name.clone().unwrap_or_else(|| m.label()), false)
                .into_owned();
            let name = if m.id == self.own_id {
                format!("{name} (you)")
            } else {
                name
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{dot} "), Style::new().fg(color)),
                Span::styled(
                    truncate(&name, inner_w.saturating_sub(2)),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
            ]));
            let role = m
                .role
                .as_ref()
                .map(|r| format::visible(&r.to_string().to_lowercase(), false).into_owned())
                .unwrap_or_else(|| "?".into());
            let state = match &m.state {
                Some(MemberState::Connected) => "connected".to_owned(),
                Some(MemberState::Disconnected) => "left".to_owned(),
                Some(MemberState::Alerting) => "offered".to_owned(),
                Some(other) => {
                    format::visible(&other.to_string().to_lowercase(), false).into_owned()
                }
                None => "?".to_owned(),
            };
            lines.push(Line::from(Span::styled(
                truncate(&format!("  {role} · {state}"), inner_w),
                Style::new().fg(color),
            )));
        }
        f.render_widget(Paragraph::new(lines).block(block), area);
    }

    fn draw_end(&self, f: &mut Frame, reason: &str) {
        let area = f.area();
        let w = area.width.saturating_sub(4).min(56);
        let h = 7.min(area.height);
        let popup = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + (area.height - h) / 2,
            width: w,
            height: h,
        };
        let agents: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.role == Some(Role::Agent))
            .map(|m| format::visible(&m.label(), false).into_owned())
            .collect();
        let with = if agents.is_empty() {
            String::new()
        } else {
            format!(" with {}", agents.join(", "))
        };
        let text = vec![
            Line::from(Span::styled(
                "Chat ended",
                Style::new().add_modifier(Modifier::BOLD),
            )),
            Line::from(reason.to_owned()),
            Line::from(format!("{}{with}", format::count(self.messages, "message"))),
            Line::from(Span::styled(
                "Press q, Esc or Enter to quit",
                Style::new().fg(Color::Yellow),
            )),
        ];
        f.render_widget(Clear, popup);
        f.render_widget(
            Paragraph::new(text)
                .centered()
                .block(Block::bordered().title(" guest-chat ")),
            popup,
        );
    }
}

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Greedy word wrap by characters; words longer than the width are split.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0usize;
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let need = if len == 0 {
                word.len()
            } else {
                len + 1 + word.len()
            };
            if need <= width {
                if len > 0 {
                    line.push(' ');
                    len += 1;
                }
                line.extend(word.iter());
                len += word.len();
                break;
            }
            if len > 0 {
                lines.push(std::mem::take(&mut line));
                len = 0;
                continue;
            }
            let rest = word.split_off(width);
            lines.push(word.iter().collect());
            word = rest;
        }
    }
    lines.push(line);
    lines
}

const TIME_WIDTH: usize = 9;

fn entry_lines(e: &Entry, width: usize) -> Vec<Line<'static>> {
    let text_w = width.saturating_sub(TIME_WIDTH).max(1);
    let (who_style, text_style) = match e.kind {
        Kind::Own => (
            Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
            Style::new(),
        ),
        Kind::Agent => (
            Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
            Style::new(),
        ),
        Kind::Other => (Style::new().add_modifier(Modifier::BOLD), Style::new()),
        Kind::System => (Style::new(), Style::new().fg(Color::DarkGray)),
        Kind::Warning => (Style::new(), Style::new().fg(Color::Red)),
    };
    let full = match &e.who {
        Some(who) => format!("{who}: {}", e.text),
        None => format!("· {}", e.text),
    };
    let mut out = Vec::new();
    let time_style = Style::new().fg(Color::DarkGray);
    for (i, chunk) in full.split('\n').flat_map(|l| wrap(l, text_w)).enumerate() {
        let time = if i == 0 {
            format!("{:<TIME_WIDTH$}", e.time)
        } else {
            " ".repeat(TIME_WIDTH)
        };
        let mut spans = vec![Span::styled(time, time_style)];
        let prefix = e.who.as_ref().map(|w| format!("{w}:"));
        match prefix {
            Some(p) if i == 0 && chunk.starts_with(&p) => {
                let rest = chunk[p.len()..].to_owned();
                spans.push(Span::styled(p, who_style));
                spans.push(Span::styled(rest, text_style));
            }
            _ => spans.push(Span::styled(chunk, text_style)),
        }
        out.push(Line::from(spans));
    }
    out
}

/// Performs the chat's REST calls in order, reporting failures back to the UI.
async fn worker(
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

/// The chat's end as an exit: Ok when the guest left or the agent ended it.
type Outcome = anyhow::Result<()>;

/// Runs the UI until the user quits; the summary line and the outcome for the exit status.
/// A chat still going on is left on every way out.
async fn session(
    terminal: &mut DefaultTerminal,
    target: &Target,
) -> anyhow::Result<(String, Outcome)> {
    let mut app = App::new(target.describe());
    let mut keys = EventStream::new();
    let mut signals = signals();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    app.system(format!("connecting to {}...", target.describe()));
    if let Some(e) = target.client.config().last_error() {
        app.warn(crate::connect::config_warning(&e));
    }

    let start = start_chat(target);
    tokio::pin!(start);
    let quit_early = loop {
        terminal.draw(|f| app.draw(f))?;
        tokio::select! {
            r = &mut start => break r.map(Some),
            key = keys.next() => match key {
                Some(Ok(ev)) => {
                    if app.on_terminal(ev) == Action::Quit {
                        break Ok(None);
                    }
                }
                Some(Err(e)) => break Err(anyhow!("cannot read the terminal: {e}")),
                None => break Err(anyhow!("the terminal closed")),
            },
            Some(_) = signals.recv() => break Ok(None),
            _ = tick.tick() => {}
        }
    };
    let chat = match quit_early {
        Ok(Some(chat)) => chat,
        other => {
            // The create may already be on the server: finish it (bounded) and leave.
            if let Ok(Ok(chat)) = tokio::time::timeout(LEAVE_LIMIT, start).await {
                leave_quietly(&chat).await;
            }
            return other.map(|_| ("guest-chat: quit before the chat started".into(), Ok(())));
        }
    };
    let result = live(terminal, &mut app, &chat, &mut keys, &mut signals).await;
    leave_quietly(&chat).await;
    result?;
    let ended = match &app.ended {
        Some(reason) => format!("chat ended ({reason})"),
        None => "left the chat".to_owned(),
    };
    let summary = format!(
        "guest-chat: {ended}; {} in conversation {}",
        format::count(app.messages, "message"),
        chat.conversation_id()
    );
    let outcome = match &app.close {
        Some((reason, by)) => crate::plain::outcome(reason, *by),
        None if app.ended.is_some() => {
            Err(anyhow!("the event stream stopped before the chat ended"))
        }
        None => Ok(()),
    };
    Ok((summary, outcome))
}

/// The UI loop of a started chat, until the user quits.
async fn live(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    chat: &GuestChat,
    keys: &mut EventStream,
    signals: &mut mpsc::UnboundedReceiver<&'static str>,
) -> anyhow::Result<()> {
    app.own_id = chat.member_id().to_owned();
    app.conn = Conn::Live;
    app.system(format!(
        "chat {} started; type a message and press Enter (/help for commands)",
        chat.conversation_id()
    ));

    let mut events = chat.events();
    let mut warnings = config_warnings(chat.api().client());
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (report_tx, mut report_rx) = mpsc::unbounded_channel();
    let worker = tokio::spawn(worker(chat.clone(), cmd_rx, report_tx));
    let _abort = AbortOnDrop(worker);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut events_done = false;

    while !app.quit {
        terminal.draw(|f| app.draw(f))?;
        tokio::select! {
            event = events.next(), if !events_done => match event {
                Some(e) => {
                    if let (Conn::Resynced(_), SessionEvent::StateChanged(_)) = (app.conn, &e) {
                        app.conn = Conn::Live;
                    }
                    app.ended_by = chat.ended_by();
                    app.on_event(e);
                }
                None => {
                    events_done = true;
                    app.end("the event stream stopped".into());
                }
            },
            key = keys.next() => match key {
                Some(Ok(ev)) => match app.on_terminal(ev) {
                    Action::None => {}
                    Action::Send(text) => { let _ = cmd_tx.send(Command::Send(text)); }
                    Action::Typing => { let _ = cmd_tx.send(Command::Typing); }
                    Action::Leave => { let _ = cmd_tx.send(Command::Leave); }
                    Action::Quit => app.quit = true,
                },
                Some(Err(e)) => return Err(anyhow!("cannot read the terminal: {e}")),
                None => app.quit = true,
            },
            Some(report) = report_rx.recv() => {
                if app.leaving && app.ended.is_none() && report.starts_with("cannot leave") {
                    app.leaving = false;
                }
                app.warn(report);
            }
            Some(w) = warnings.recv() => app.warn(w),
            Some(_) = signals.recv() => app.quit = true,
            _ = tick.tick() => {}
        }
    }
    Ok(())
}

/// Aborts the task when dropped (the worker must not outlive the UI loop).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    #[test]
    fn wraps_words_and_long_words() {
        assert_eq!(wrap("hello world", 5), vec!["hello", "world"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("", 3), vec![""]);
        assert_eq!(wrap("a b c", 10), vec!["a b c"]);
    }

    fn member(id: &str, name: &str, role: Role, state: MemberState) -> Member {
        Member {
            id: id.into(),
            display_name: Some(name.into()),
            role: Some(role),
            state: Some(state),
        }
    }

    fn screen(app: &App, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| app.draw(f)).unwrap();
        let buf = t.backend().buffer().clone();
        let mut s = String::new();
        for y in 0..h {
            for x in 0..w {
                s.push_str(buf[(x, y)].symbol());
            }
            s.push('\n');
        }
        s
    }

    #[test]
    fn renders_members_typing_and_end_screen_in_80x24() {
        let mut app = App::new("embedded emulator".into());
        app.own_id = "g".into();
        app.conn = Conn::Live;
        app.on_event(SessionEvent::MemberChanged {
            member: member("g", "Ada", Role::Customer, MemberState::Connected),
            previous: None,
        });
        app.on_event(SessionEvent::MemberChanged {
            member: member("a", "Alex", Role::Agent, MemberState::Connected),
            previous: None,
        });
        app.on_event(SessionEvent::StateChanged(ChatState::Connected));
        app.on_event(SessionEvent::TypingStarted(member(
            "a",
            "Alex",
            Role::Agent,
            MemberState::Connected,
        )));
        let s = screen(&app, 80, 24);
        assert!(s.contains("Alex (agent) joined"), "{s}");
        assert!(s.contains("Alex (agent) is typing..."), "{s}");
        assert!(s.contains("● Alex"), "{s}");
        assert!(s.contains("connected"), "{s}");
        app.end("the chat is over".into());
        let s = screen(&app, 80, 24);
        assert!(s.contains("Chat ended"), "{s}");
        assert!(s.contains("Press q"), "{s}");
        // Tiny terminals must not panic.
        let _ = screen(&app, 10, 5);
        let _ = screen(&app, 1, 1);
    }

    #[test]
    fn control_characters_in_remote_text_are_made_visible() {
        use purecloud_guest_chat_client::model::WebChatMessage;
        let mut app = App::new("x".into());
        app.own_id = "g".into();
        let evil = member("a", "Eve\u{1b}[31m", Role::Agent, MemberState::Connected);
        app.on_event(SessionEvent::MemberChanged {
            member: evil.clone(),
            previous: None,
        });
        let mut message: WebChatMessage =
            serde_json::from_value(serde_json::json!({"id": "m", "bodyType": "standard"}))
                .expect("message");
        message.body = Some("\u{1b}]0;title\u{7}\u{1b}[2J\r".into());
        app.on_event(SessionEvent::Message {
            message,
            sender: evil,
            own: false,
        });
        let s = screen(&app, 100, 24);
        for c in ['\u{1b}', '\u{7}', '\r'] {
            assert!(!s.contains(c), "{c:?} on screen:\n{s}");
        }
        assert!(s.contains("\\u{1b}]0;title\\u{7}\\u{1b}[2J\\u{d}"), "{s}");
        assert!(s.contains("Eve\\u{1b}[31m"), "{s}");
    }

    #[test]
    fn typing_is_throttled_and_commands_parse() {
        let mut app = App::new("x".into());
        app.conn = Conn::Live;
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(app.on_key(key('h')), Action::Typing);
        assert_eq!(app.on_key(key('i')), Action::None);
        assert_eq!(
            app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            Action::Send("hi".into())
        );
        for c in "/leave".chars() {
            assert_eq!(app.on_key(key(c)), Action::None);
        }
        assert_eq!(
            app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            Action::Leave
        );
        assert_eq!(
            app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Action::Quit
        );
    }
}
