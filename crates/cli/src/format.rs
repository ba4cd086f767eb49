//! How session events read as text lines and as JSON objects.

use chrono::{DateTime, Local, SecondsFormat, Utc};
use purecloud_guest_chat_client::events::CloseReason;
use purecloud_guest_chat_client::model::{BodyType, MemberState, Role, Timestamp};
use purecloud_guest_chat_client::session::{ChatState, EndedBy, Member, SessionEvent};
use serde_json::{json, Value};
use std::borrow::Cow;

/// `1 message`, `2 messages`: `n` and the noun, plural unless `n == 1`.
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Remote text made safe for a terminal: every control character (C0, DEL, C1; ESC, BEL and
/// CR among them) becomes visible as `\u{..}`, so a peer cannot move the cursor, retitle
/// the window or overwrite a line. `keep_newlines` keeps `\n` (the terminal UI wraps at
/// it); otherwise it is shown as `\n` too, so one event stays one line. Tabs become a space.
pub(crate) fn visible(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && !(keep_newlines && c == '\n');
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push(' '),
            '\n' if keep_newlines => out.push('\n'),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `Alex (agent)`, `Ada (you)`, `queue (acd)`.
pub(crate) fn who(member: &Member, own_id: &str) -> String {
    let name = member.display_name.as_deref().map_or_else(
        || match &member.role {
            Some(Role::Acd) => "queue".to_owned(),
            Some(Role::Workflow) => "flow".to_owned(),
            Some(role) => role.to_string().to_lowercase(),
            None => visible(&short_id(&member.id), false).into_owned(),
        },
        |n| visible(n, false).into_owned(),
    );
    if member.id == own_id {
        return format!("{name} (you)");
    }
    match &member.role {
        Some(role) => format!("{name} ({})", role.to_string().to_lowercase()),
        None => name,
    }
}

fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

/// Local wall-clock time `HH:MM:SS` of a timestamp (or now).
pub(crate) fn clock(ts: Option<&Timestamp>) -> String {
    let t: DateTime<Local> = match ts {
        Some(t) => t.0.with_timezone(&Local),
        None => Local::now(),
    };
    t.format("%H:%M:%S").to_string()
}

fn iso(ts: Option<&Timestamp>) -> String {
    let t: DateTime<Utc> = match ts {
        Some(t) => t.0,
        None => Utc::now(),
    };
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Human text of a chat state.
pub(crate) fn state_text(state: ChatState) -> &'static str {
    match state {
        ChatState::Waiting => "waiting for an agent",
        ChatState::Connected => "connected to an agent",
        ChatState::Transferred => "transferred, waiting for the next agent",
        ChatState::Ended => "ended",
        _ => "unknown",
    }
}

/// Human text of why the chat ended; `by` is [`GuestChat::ended_by`] at that moment.
///
/// [`GuestChat::ended_by`]: purecloud_guest_chat_client::session::GuestChat::ended_by
pub(crate) fn close_text(reason: &CloseReason, by: Option<EndedBy>) -> String {
    match reason {
        CloseReason::ChatEnded => match by {
            Some(EndedBy::Guest) => "you left the chat".to_owned(),
            Some(EndedBy::Agent) => "the agent ended the chat".to_owned(),
            Some(EndedBy::Service) => "the service ended the chat".to_owned(),
            _ => "the chat is over".to_owned(),
        },
        CloseReason::Unauthorized => "the guest token is no longer accepted".to_owned(),
        CloseReason::GaveUp { attempts } => {
            let n = usize::try_from(*attempts).unwrap_or(usize::MAX);
            format!(
                "the connection was lost and {} failed",
                count(n, "reconnection attempt")
            )
        }
        other => format!("{other:?}"),
    }
}

fn close_code(reason: &CloseReason) -> &'static str {
    match reason {
        CloseReason::ChatEnded => "chat-ended",
        CloseReason::Unauthorized => "unauthorized",
        CloseReason::GaveUp { .. } => "gave-up",
        _ => "other",
    }
}

/// What a member-change means, as a verb phrase (`joined`, `left` ...).
pub(crate) fn member_verb(state: &MemberState) -> String {
    match state {
        MemberState::Connected => "joined".to_owned(),
        MemberState::Disconnected => "left".to_owned(),
        MemberState::Alerting => "is being offered the chat".to_owned(),
        other => format!("is now {other}"),
    }
}

/// True for a message body type that carries chat text.
pub(crate) fn is_text(body_type: Option<&BodyType>) -> bool {
    matches!(
        body_type,
        None | Some(BodyType::Standard | BodyType::Notice)
    )
}

/// True for another member whose name and role are still being looked up (the SDK sends
/// `MemberUpdated` when they land).
pub(crate) fn unresolved(member: &Member, own_id: &str) -> bool {
    member.id != own_id && member.display_name.is_none() && member.role.is_none()
}

/// The event as one text line (without the time), or `None` for events not worth a line;
/// `ended_by` words the end of the chat.
pub(crate) fn text(
    event: &SessionEvent,
    own_id: &str,
    ended_by: Option<EndedBy>,
) -> Option<String> {
    Some(match event {
        SessionEvent::Message {
            message, sender, ..
        } => {
            let body = visible(message.body.as_deref().unwrap_or_default(), false);
            match message.body_type.as_ref() {
                None | Some(BodyType::Standard) => format!("{}: {body}", who(sender, own_id)),
                Some(BodyType::Notice) => format!("{} [notice]: {body}", who(sender, own_id)),
                // Join/leave messages duplicate the member-change events.
                Some(BodyType::MemberJoin | BodyType::MemberLeave) => return None,
                Some(BodyType::MediaRequest) => {
                    format!("{} sent a media request {body}", who(sender, own_id))
                }
                Some(other) => format!(
                    "{} [{}]: {body}",
                    who(sender, own_id),
                    visible(&other.to_string(), false)
                ),
            }
        }
        SessionEvent::TypingStarted(m) if m.id != own_id => {
            format!("{} is typing...", who(m, own_id))
        }
        SessionEvent::TypingStarted(_) | SessionEvent::TypingStopped(_) => return None,
        // A member still being looked up: the line waits for its name (`MemberUpdated`).
        SessionEvent::MemberChanged { member, .. } if unresolved(member, own_id) => return None,
        SessionEvent::MemberUpdated(member) if member.state.is_none() => return None,
        SessionEvent::MemberChanged { member, .. } | SessionEvent::MemberUpdated(member) => {
            let verb = member
                .state
                .as_ref()
                .map_or_else(|| "changed".to_owned(), member_verb);
            format!("{} {}", who(member, own_id), visible(&verb, false))
        }
        // The Ended event says it better.
        SessionEvent::StateChanged(ChatState::Ended) => return None,
        SessionEvent::StateChanged(state) => format!("chat {}", state_text(*state)),
        SessionEvent::Reconnecting { attempt } => {
            format!("connection lost, reconnecting (attempt {attempt})...")
        }
        SessionEvent::Resynced { missed } => {
            format!(
                "reconnected; {} recovered",
                count(*missed, "missed message")
            )
        }
        SessionEvent::Warning(e) => {
            format!("warning: {}", visible(&crate::connect::describe(e), false))
        }
        SessionEvent::Other(_) => return None,
        SessionEvent::Ended(reason) => format!("chat ended: {}", close_text(reason, ended_by)),
        _ => return None,
    })
}

/// The time to show for an event: the message's own timestamp, else now.
pub(crate) fn event_clock(event: &SessionEvent) -> String {
    match event {
        SessionEvent::Message { message, .. } => clock(message.timestamp.as_ref()),
        _ => clock(None),
    }
}

fn member_json(m: &Member, own_id: &str) -> Value {
    json!({
        "id": m.id,
        "name": m.display_name,
        "role": m.role.as_ref().map(std::string::ToString::to_string),
        "state": m.state.as_ref().map(std::string::ToString::to_string),
        "you": m.id == own_id,
    })
}

/// The event as one JSON object, or `None` for events not worth a line; `ended_by` is
/// reported on the `ended` object.
pub(crate) fn json(event: &SessionEvent, own_id: &str, ended_by: Option<EndedBy>) -> Option<Value> {
    Some(match event {
        SessionEvent::Message {
            message,
            sender,
            own,
        } => json!({
            "type": "message",
            "id": message.id,
            "from": sender.display_name.clone().unwrap_or_else(|| sender.label()),
            "fromId": sender.id,
            "role": sender.role.as_ref().map(std::string::ToString::to_string),
            "own": own,
            "bodyType": message.body_type.as_ref().map(std::string::ToString::to_string),
            "text": message.body.clone().unwrap_or_default(),
            "timestamp": iso(message.timestamp.as_ref()),
        }),
        SessionEvent::TypingStarted(m) => json!({
            "type": "typing", "member": member_json(m, own_id), "timestamp": iso(None),
        }),
        SessionEvent::TypingStopped(m) => json!({
            "type": "typing-stopped", "member": member_json(m, own_id), "timestamp": iso(None),
        }),
        SessionEvent::MemberChanged { member, previous } => json!({
            "type": "member",
            "member": member_json(member, own_id),
            "previous": previous.as_ref().map(std::string::ToString::to_string),
            "timestamp": iso(None),
        }),
        SessionEvent::StateChanged(state) => json!({
            "type": "state", "state": state.to_string(), "timestamp": iso(None),
        }),
        SessionEvent::Reconnecting { attempt } => json!({
            "type": "reconnecting", "attempt": attempt, "timestamp": iso(None),
        }),
        SessionEvent::Resynced { missed } => json!({
            "type": "resynced", "missed": missed, "timestamp": iso(None),
        }),
        SessionEvent::Warning(e) => json!({
            "type": "warning", "message": crate::connect::describe(e), "timestamp": iso(None),
        }),
        SessionEvent::Other(_) => return None,
        SessionEvent::Ended(reason) => json!({
            "type": "ended",
            "reason": close_code(reason),
            "endedBy": ended_by.map(|b| b.to_string()),
            "message": close_text(reason, ended_by),
            "timestamp": iso(None),
        }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_with_plurals() {
        assert_eq!(count(0, "message"), "0 messages");
        assert_eq!(count(1, "message"), "1 message");
        assert_eq!(count(2, "member"), "2 members");
    }

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(
            visible("\u{1b}]0;title\u{7}", false),
            "\\u{1b}]0;title\\u{7}"
        );
        assert_eq!(visible("a\u{1b}[2Jb\rc", false), "a\\u{1b}[2Jb\\u{d}c");
        assert_eq!(visible("\u{9b}31m", false), "\\u{9b}31m");
        assert_eq!(visible("one\ntwo", false), "one\\ntwo");
        assert_eq!(visible("one\ntwo", true), "one\ntwo");
        assert_eq!(visible("a\tb", true), "a b");
        assert!(matches!(visible("plain é ✓", false), Cow::Borrowed(_)));
    }
}
