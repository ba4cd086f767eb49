//! The terminal UI's drawing: status bar, transcript, members, typing line, input, end box.

use super::app::{App, Entry, Kind};
use crate::format;
use purecloud_guest_chat_client::model::{MemberState, Role};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

/// Width of the member pane.
pub(super) const MEMBERS_WIDTH: u16 = 26;

impl App {
    pub(super) fn draw(&self, f: &mut Frame) {
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

    pub(super) fn draw_transcript(&self, f: &mut Frame, area: Rect) {
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

    pub(super) fn draw_members(&self, f: &mut Frame, area: Rect) {
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
            let role = m.role.as_ref().map_or_else(
                || "?".into(),
                |r| format::visible(&r.to_string().to_lowercase(), false).into_owned(),
            );
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

    pub(super) fn draw_end(&self, f: &mut Frame, reason: &str) {
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

pub(super) fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Greedy word wrap by characters; words longer than the width are split.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
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

pub(super) const TIME_WIDTH: usize = 9;

pub(super) fn entry_lines(e: &Entry, width: usize) -> Vec<Line<'static>> {
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
