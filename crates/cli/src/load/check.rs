//! The exactly-once and order check of one chat: every message the guest sends must come back
//! from the echo agent as `You said: <text>` exactly once, in the order sent.

use std::collections::HashMap;

/// The prefix of the echo agent's replies.
pub(super) const ECHO_PREFIX: &str = "You said: ";

/// What one agent message means for the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Not an echo (the greeting, say): not checked.
    NotEcho,
    /// The first echo of message `k`, in order.
    InOrder(usize),
    /// The first echo of message `k`, after the echo of a later message.
    OutOfOrder(usize),
    /// Another echo of message `k`.
    Duplicate(usize),
    /// An echo of a text this guest never sent.
    Unknown,
}

impl Verdict {
    /// The violation kind, if this is one.
    pub(super) fn violation(self) -> Option<&'static str> {
        match self {
            Verdict::NotEcho | Verdict::InOrder(_) => None,
            Verdict::OutOfOrder(_) => Some("reply out of order"),
            Verdict::Duplicate(_) => Some("duplicate reply"),
            Verdict::Unknown => Some("reply to an unsent message"),
        }
    }
}

/// The kind of a sent message that never got its echo.
pub(super) const MISSING: &str = "missing reply";

/// One chat's sent texts and the echoes seen so far.
#[derive(Debug, Default)]
pub(super) struct EchoCheck {
    index: HashMap<String, usize>,
    /// Echoes seen, by message number.
    seen: Vec<u32>,
    /// The highest message number echoed so far.
    highest: Option<usize>,
}

impl EchoCheck {
    /// Registers the next message sent (texts are unique within a chat); returns its number.
    pub(super) fn sent(&mut self, text: &str) -> usize {
        let k = self.seen.len();
        self.index.insert(text.to_owned(), k);
        self.seen.push(0);
        k
    }

    /// Judges one agent message.
    pub(super) fn reply(&mut self, body: &str) -> Verdict {
        let Some(text) = body.strip_prefix(ECHO_PREFIX) else {
            return Verdict::NotEcho;
        };
        let Some(&k) = self.index.get(text) else {
            return Verdict::Unknown;
        };
        self.seen[k] += 1;
        if self.seen[k] > 1 {
            return Verdict::Duplicate(k);
        }
        let late = self.highest.is_some_and(|h| h > k);
        self.highest = Some(self.highest.map_or(k, |h| h.max(k)));
        if late {
            Verdict::OutOfOrder(k)
        } else {
            Verdict::InOrder(k)
        }
    }

    /// Whether message `k`'s echo has arrived.
    pub(super) fn echoed(&self, k: usize) -> bool {
        self.seen.get(k).is_some_and(|n| *n > 0)
    }

    /// How many sent messages have no echo yet.
    pub(super) fn missing(&self) -> usize {
        self.seen.iter().filter(|n| **n == 0).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo(t: &str) -> String {
        format!("{ECHO_PREFIX}{t}")
    }

    #[test]
    fn in_order_echoes_pass() {
        let mut c = EchoCheck::default();
        assert_eq!(c.reply("Hello, I'm Riley"), Verdict::NotEcho);
        for t in ["a", "b", "c"] {
            let k = c.sent(t);
            assert!(!c.echoed(k));
            assert_eq!(c.reply(&echo(t)), Verdict::InOrder(k));
            assert!(c.echoed(k));
        }
        assert_eq!(c.missing(), 0);
    }

    #[test]
    fn duplicates_reorders_unknown_and_missing_are_violations() {
        let mut c = EchoCheck::default();
        c.sent("a");
        c.sent("b");
        c.sent("c");
        assert_eq!(c.reply(&echo("b")), Verdict::InOrder(1));
        assert_eq!(c.reply(&echo("a")), Verdict::OutOfOrder(0));
        assert_eq!(c.reply(&echo("a")), Verdict::Duplicate(0));
        assert_eq!(c.reply(&echo("zzz")), Verdict::Unknown);
        assert_eq!(c.missing(), 1);
        for v in [
            Verdict::OutOfOrder(0),
            Verdict::Duplicate(0),
            Verdict::Unknown,
        ] {
            assert!(v.violation().is_some(), "{v:?}");
        }
        assert_eq!(Verdict::InOrder(0).violation(), None);
    }
}
