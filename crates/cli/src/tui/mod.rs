//! `guest-chat chat`: the interactive terminal chat (ratatui + crossterm).
//!
//! One `tokio::select!` loop over the terminal's events, the chat's events, the results of
//! background REST calls and a redraw tick, so a slow request never freezes the screen.
//!
//! [`app`] holds the state, [`view`] draws it, [`worker`](mod@worker) makes the chat's REST calls.

mod app;
mod view;
mod worker;

use crate::connect::{config_warnings, leave_quietly, signals, start_chat, Target, LEAVE_LIMIT};
use crate::format;
use anyhow::{anyhow, Context};
use app::{Action, App, Conn};
use crossterm::event::EventStream;
use futures::StreamExt;
use purecloud_guest_chat_client::session::{GuestChat, SessionEvent};
use ratatui::DefaultTerminal;
use std::time::Duration;
use tokio::sync::mpsc;
use worker::{worker, Command};

/// Redraw period (clock, typing indicator expiry).
const TICK: Duration = Duration::from_millis(250);

/// Restores the terminal when dropped (every exit path, including `?` and unwinding).
struct RestoreGuard;

impl Drop for RestoreGuard {
    fn drop(&mut self) {
        ratatui::restore();
        let _ = crossterm::execute!(std::io::stdout(), crossterm::cursor::Show);
    }
}

/// Runs the terminal chat until the user quits.
pub(crate) async fn run(target: Target) -> anyhow::Result<()> {
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

/// The chat's end as an exit: Ok when the guest left or the agent ended it.
type Outcome = anyhow::Result<()>;

/// Runs the UI until the user quits; the summary line and the outcome for the exit status.
/// A chat still going on is left on every way out.
async fn session(
    terminal: &mut DefaultTerminal,
    target: &Target,
) -> anyhow::Result<(String, Outcome)> {
    let mut app = App::new(target.describe());
    app.keeps_conversation = target.keeps_conversation();
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
            // The create may already be on the server: finish it (bounded) and leave, unless
            // a token file keeps the conversation for the next run.
            if !target.keeps_conversation() {
                if let Ok(Ok(chat)) = tokio::time::timeout(LEAVE_LIMIT, start).await {
                    leave_quietly(&chat).await;
                }
            }
            return other.map(|_| ("guest-chat: quit before the chat started".into(), Ok(())));
        }
    };
    let result = live(terminal, &mut app, &chat, &mut keys, &mut signals).await;
    // With --token-file, quitting keeps the conversation (only /leave ends it).
    let kept = target.keeps_conversation() && !app.leaving && app.ended.is_none();
    if !kept {
        leave_quietly(&chat).await;
    }
    result?;
    let ended = match &app.ended {
        Some(reason) => format!("chat ended ({reason})"),
        None if kept => {
            "conversation kept; run again with the same --token-file to resume it".to_owned()
        }
        None => "left the chat".to_owned(),
    };
    let summary = format!(
        "guest-chat: {ended}; {} in {}",
        format::count(app.messages, "message"),
        crate::connect::conversation_label(&chat)
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
    let which = match chat.conversation_id() {
        "" => "over Web Messaging".to_owned(),
        id => id.to_owned(),
    };
    app.system(format!(
        "chat {which} started; type a message and press Enter (/help for commands)"
    ));
    if chat.new_session() == Some(false) {
        app.system("conversation resumed from --token-file");
    }

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
            Some(failure) = report_rx.recv() => {
                if app.leaving && app.ended.is_none() && matches!(failure.command, Command::Leave) {
                    app.leaving = false;
                }
                app.warn(failure.describe());
            }
            Some(e) = warnings.recv() => app.warn(crate::connect::config_warning(&e)),
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
    use super::view::wrap;
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use purecloud_guest_chat_client::model::{MemberState, Role};
    use purecloud_guest_chat_client::session::{ChatState, Member};
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
