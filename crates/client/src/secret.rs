//! The guest JWT, kept out of every `Debug`, `Display`, log line and error message, and the
//! process-wide registry of known secrets that [`mask_secrets`] masks (pieces included).

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};
use zeroize::Zeroize;

/// The guest's JWT: the only credential of a chat.
///
/// `Debug` and `Display` print `<redacted>`; [`Jwt::expose`] is the one way to read it.
///
/// While a `Jwt` (or a clone) lives, and for a while after (the last
/// [`RETIRED_SECRETS_KEPT`] dropped tokens), the token is a *known secret*: [`mask_secrets`]
/// masks it, and every piece of [`MIN_MASKED_PIECE`] or more of its characters, in every
/// SDK log entry and every error's `Display` and `Debug`.
#[derive(Clone)]
pub struct Jwt(Arc<Known>);

/// A registered secret; unregistered when the last clone goes. The text is the registry's
/// own copy (one copy of a token per process, however many hold it), zeroed by whoever drops
/// it last.
struct Known(Arc<str>);

impl Drop for Known {
    fn drop(&mut self) {
        registry_write().release(&self.0);
        zeroize_if_last(&mut self.0);
    }
}

/// Overwrites the text with zeros when `text` is its last holder (as `secrecy` does for the
/// strings it owns).
fn zeroize_if_last(text: &mut Arc<str>) {
    if let Some(text) = Arc::get_mut(text) {
        text.zeroize();
    }
}

impl Jwt {
    /// Wraps a token (and makes it a known secret: see the type's documentation).
    pub fn new(token: impl Into<String>) -> Self {
        let mut token = token.into();
        let shared = registry_write().acquire(&token);
        let known = shared.unwrap_or_else(|| Arc::from(token.as_str()));
        // The caller's copy goes now (the registry holds the one kept).
        token.zeroize();
        Jwt(Arc::new(Known(known)))
    }

    /// The token itself, for the `Authorization` header and the event-stream URI.
    pub fn expose(&self) -> &str {
        &self.0 .0
    }

    /// True for the empty token (treated as "no JWT").
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl fmt::Debug for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Jwt(<redacted>)")
    }
}

impl fmt::Display for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Jwt {
    fn from(s: String) -> Self {
        Jwt::new(s)
    }
}

impl From<&str> for Jwt {
    fn from(s: &str) -> Self {
        Jwt::new(s)
    }
}

impl PartialEq for Jwt {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

pub use guest_chat_model::redact::{mask_jwts, REDACTED};

/// Known secrets are indexed by windows of this many bytes (42 bits of a base64url token: a
/// hit is checked against the secret itself, so a window only has to be rare in other text).
const WINDOW: usize = 7;

/// Only every `STRIDE`-th window of a secret is indexed: a quarter of the memory of indexing
/// them all (a process holding 10,000 chats holds 10,000 JWTs), for a shortest masked piece
/// three characters longer.
const STRIDE: usize = 4;

/// The shortest piece of a known secret that is always masked on its own: 10 characters (any
/// such piece holds an indexed window). Shorter secrets are not registered (they are masked
/// only where the SDK passes them explicitly, as the logger does with its client's JWT).
pub const MIN_MASKED_PIECE: usize = WINDOW + STRIDE - 1;

/// How many secrets stay known after their last `Jwt` is dropped (a chat's token can still
/// show up in an error printed after the chat is gone).
pub const RETIRED_SECRETS_KEPT: usize = 64;

/// The process-wide set of known secrets, indexed by every [`STRIDE`]-th [`WINDOW`]-byte
/// window.
#[derive(Default)]
struct Registry {
    /// Secret -> its slot and the number of live `Jwt`s holding it (0 = retired).
    secrets: HashMap<Arc<str>, (u32, usize)>,
    /// The secrets by slot; `None` is a free slot (listed in `free`).
    slots: Vec<Option<Arc<str>>>,
    free: Vec<u32>,
    /// Retired secrets, oldest first.
    retired: VecDeque<Arc<str>>,
    /// Indexed window's fingerprint -> slot of a secret holding it. Neither the window nor
    /// where it sits in the secret is stored: a hit is checked against the secrets holding
    /// the fingerprint, which only happens when text really holds a piece of a token (8 bytes
    /// an entry, and a process holding 10,000 chats holds about 2 million entries). Two
    /// secrets sharing a fingerprint at indexed offsets keep the first one's entry here and
    /// the others' slots in `shared` (by chance for about one pair of windows in 2^32; by
    /// design where tokens share a prefix, such as a JWT header).
    windows: HashMap<WindowKey, u32>,
    /// Fingerprints held by more than one secret: the slots besides `windows`' own, so that
    /// forgetting one secret keeps the window indexed for the others. A set ordered by slot:
    /// every token from one issuer shares its header's windows, so with 10,000 chats each of
    /// these holds 10,000 slots, and forgetting one takes O(log n) where a `Vec` had to be
    /// scanned (about 4 bytes a slot either way: B-tree nodes are packed arrays).
    shared: HashMap<WindowKey, BTreeSet<u32>>,
}

/// A window's 32-bit fingerprint.
type WindowKey = u32;

fn window_key(w: &[u8]) -> WindowKey {
    let mut word = [0u8; 8];
    word[..WINDOW].copy_from_slice(&w[..WINDOW]);
    // Fibonacci hashing: the high half of the product mixes every byte of the window.
    let mixed = u64::from_le_bytes(word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 32) as u32
}

/// The keys of the indexed windows of `secret`.
fn indexed_windows(secret: &str) -> impl Iterator<Item = WindowKey> + '_ {
    secret
        .as_bytes()
        .windows(WINDOW)
        .step_by(STRIDE)
        .map(window_key)
}

/// Token characters: base64url, base64 and the JWT's dots. Only such secrets are indexed, so
/// a masked stretch of text is always ASCII (char boundaries) and never holds a quote or a
/// backslash (JSON log lines stay valid).
fn indexable(secret: &str) -> bool {
    secret.len() >= MIN_MASKED_PIECE
        && secret.len() <= u32::MAX as usize
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.=+/~".contains(&b))
}

impl Registry {
    /// Registers `secret` (once more), returning the registry's copy of it (`None` for a
    /// secret too short or not token-shaped, which is not registered).
    fn acquire(&mut self, secret: &str) -> Option<Arc<str>> {
        if !indexable(secret) {
            return None;
        }
        if let Some((known, (_, count))) = self.secrets.get_key_value(secret) {
            let known = known.clone();
            if *count == 0 {
                self.retired.retain(|s| &**s != secret);
            }
            if let Some((_, count)) = self.secrets.get_mut(secret) {
                *count += 1;
            }
            return Some(known);
        }
        let shared: Arc<str> = Arc::from(secret);
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        self.slots[slot as usize] = Some(shared.clone());
        self.secrets.insert(shared.clone(), (slot, 1));
        for key in indexed_windows(secret) {
            match self.windows.entry(key) {
                Entry::Vacant(entry) => {
                    entry.insert(slot);
                }
                Entry::Occupied(entry) if *entry.get() != slot => {
                    self.shared.entry(key).or_default().insert(slot);
                }
                Entry::Occupied(_) => {}
            }
        }
        Some(shared)
    }

    fn release(&mut self, secret: &str) {
        let Some((_, count)) = self.secrets.get_mut(secret) else {
            return;
        };
        *count = count.saturating_sub(1);
        if *count > 0 {
            return;
        }
        if let Some((key, _)) = self.secrets.get_key_value(secret) {
            let key = key.clone();
            self.retired.push_back(key);
        }
        while self.retired.len() > RETIRED_SECRETS_KEPT {
            if let Some(old) = self.retired.pop_front() {
                self.forget(old);
            }
        }
    }

    /// Forgets a retired secret (`old` is the retired list's copy) and zeroes its text.
    fn forget(&mut self, mut old: Arc<str>) {
        let Some((_, (slot, _))) = self.secrets.remove_entry(&*old) else {
            return;
        };
        self.slots[slot as usize] = None;
        let secret: &str = &old;
        self.free.push(slot);
        for key in indexed_windows(secret) {
            let Entry::Occupied(mut primary) = self.windows.entry(key) else {
                continue;
            };
            if *primary.get() != slot {
                // Held by another secret first: `slot` is among the others (if the window
                // occurs twice in this secret, the first pass removed it already).
                if let Entry::Occupied(mut others) = self.shared.entry(key) {
                    others.get_mut().remove(&slot);
                    if others.get().is_empty() {
                        others.remove();
                    }
                }
                continue;
            }
            // `slot` was the primary: the next holder (if any) takes its place.
            match self.shared.entry(key) {
                Entry::Occupied(mut others) => {
                    if let Some(next) = others.get_mut().pop_first() {
                        primary.insert(next);
                    }
                    if others.get().is_empty() {
                        others.remove();
                    }
                }
                Entry::Vacant(_) => {
                    primary.remove();
                }
            }
        }
        zeroize_if_last(&mut old);
        // Give memory back after a load run's thousands of chats are gone.
        if self.windows.capacity() > 4 * self.windows.len().max(1024) {
            self.windows.shrink_to_fit();
            self.secrets.shrink_to_fit();
        }
    }

    /// The byte ranges of `text` that are pieces of known secrets, merged: each indexed
    /// window found in `text` is extended both ways for as long as `text` goes on matching
    /// the secret it belongs to.
    fn covered(&self, text: &str) -> Vec<(usize, usize)> {
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        if self.windows.is_empty() {
            return ranges;
        }
        let bytes = text.as_bytes();
        let mut i = 0;
        while i + WINDOW <= bytes.len() {
            let key = window_key(&bytes[i..]);
            // `shared` only holds fingerprints `windows` has: it is read only on a hit there
            // that is not the primary holder's window (a fingerprint shared by chance).
            let hit = self.windows.get(&key).and_then(|&slot| {
                self.stretch(slot, bytes, i).or_else(|| {
                    let others = self.shared.get(&key)?;
                    others.iter().find_map(|&s| self.stretch(s, bytes, i))
                })
            });
            let Some((start, end)) = hit else {
                i += 1;
                continue;
            };
            match ranges.last_mut() {
                Some(last) if last.1 >= start => last.1 = last.1.max(end),
                _ => ranges.push((start, end)),
            }
            i = (end + 1).saturating_sub(WINDOW).max(i + 1);
        }
        ranges
    }
}

impl Registry {
    /// The longest stretch of `text` around its window at `at` that equals the secret in
    /// `slot` somewhere the window occurs in it; `None` when the window is not in it.
    fn stretch(&self, slot: u32, text: &[u8], at: usize) -> Option<(usize, usize)> {
        let secret = self.slots.get(slot as usize)?.as_deref()?.as_bytes();
        let window = &text[at..at + WINDOW];
        secret
            .windows(WINDOW)
            .enumerate()
            .filter(|(_, w)| *w == window)
            .map(|(off, _)| extend(text, at, secret, off))
            .max_by_key(|(start, end)| end - start)
    }
}

/// The stretch of `text` around the window at `at` that equals `secret` around `off`.
fn extend(text: &[u8], at: usize, secret: &[u8], off: usize) -> (usize, usize) {
    let left = (1..=at.min(off))
        .take_while(|&k| text[at - k] == secret[off - k])
        .last()
        .unwrap_or(0);
    let right = (WINDOW..)
        .take_while(|&k| {
            at + k < text.len() && off + k < secret.len() && text[at + k] == secret[off + k]
        })
        .last()
        .map_or(WINDOW, |k| k + 1);
    (at - left, at + right)
}

fn registry() -> &'static RwLock<Registry> {
    static REGISTRY: OnceLock<RwLock<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn registry_write() -> std::sync::RwLockWriteGuard<'static, Registry> {
    registry()
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Masks every secret in `text`: JWT-shaped tokens (`eyJ...` with two dots), and every piece
/// of [`MIN_MASKED_PIECE`] or more characters of a known secret (a live [`Jwt`], the token of
/// an event-stream URI), such as a JWT's signature segment on its own. Each masked stretch
/// becomes `[REDACTED]`.
///
/// The one boundary of the SDK: every log entry and every error's `Display` and `Debug` go
/// through it. Applications printing text that may carry a token (an error line, a header)
/// should too.
pub fn mask_secrets(text: &str) -> Cow<'_, str> {
    let masked = mask_jwts(text);
    let ranges = registry()
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .covered(&masked);
    if ranges.is_empty() {
        return masked;
    }
    let mut out = String::with_capacity(masked.len());
    let mut copied = 0;
    for (start, end) in ranges {
        out.push_str(&masked[copied..start]);
        out.push_str(REDACTED);
        copied = end;
    }
    out.push_str(&masked[copied..]);
    Cow::Owned(out)
}

/// [`mask_secrets`], and `secret` (when non-empty) wherever it occurs, whatever its length.
pub fn redact<'a>(text: &'a str, secret: Option<&Jwt>) -> Cow<'a, str> {
    let masked = mask_secrets(text);
    match secret {
        Some(jwt) if !jwt.is_empty() && masked.contains(jwt.expose()) => {
            Cow::Owned(masked.replace(jwt.expose(), REDACTED))
        }
        _ => masked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_token() {
        let jwt = Jwt::new("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln");
        assert_eq!(format!("{jwt:?}"), "Jwt(<redacted>)");
        assert_eq!(format!("{jwt}"), "<redacted>");
        assert!(!format!("{:?}", Some(jwt.clone())).contains("eyJ"));
    }

    #[test]
    fn masks_tokens_inside_uris_and_json() {
        let t = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_";
        let uri = format!("ws://127.0.0.1:9/chat/jwt/{t}");
        assert_eq!(mask_jwts(&uri), "ws://127.0.0.1:9/chat/jwt/[REDACTED]");
        let json = format!(r#"{{"jwt":"{t}","eventStreamUri":"wss://x/v1/token/{t}"}}"#);
        let masked = mask_jwts(&json);
        assert!(!masked.contains(t));
        assert_eq!(masked.matches(REDACTED).count(), 2);
    }

    #[test]
    fn leaves_other_text_alone() {
        assert!(matches!(mask_jwts("plain eyJ text"), Cow::Borrowed(_)));
        assert_eq!(mask_jwts("a.b.c"), "a.b.c");
        assert_eq!(
            redact("token abc.def", Some(&Jwt::new("abc.def"))),
            "token [REDACTED]"
        );
    }

    #[test]
    fn a_window_found_twice_in_a_secret_masks_the_piece_around_either_place() {
        // `Rep3atW1nd0w` occurs twice, with different neighbours: the index keeps only which
        // secret holds a window, so a hit must be extended from the right place.
        let secret = "AAAA1111Rep3atW1nd0wBBBBBBBBBBBBRep3atW1nd0wCCCC2222";
        let _jwt = Jwt::new(secret);
        for start in 0..=secret.len() - MIN_MASKED_PIECE {
            let piece = &secret[start..start + MIN_MASKED_PIECE];
            assert_eq!(
                mask_secrets(&format!("<{piece}>")),
                "<[REDACTED]>",
                "{piece}"
            );
        }
        for start in [0, 20, 28, 32] {
            let text = format!("x{}y", &secret[start..]);
            assert_eq!(mask_secrets(&text), "x[REDACTED]y", "{start}");
        }
    }

    #[test]
    fn pieces_of_a_known_token_are_masked_while_it_lives_and_after() {
        let header = "eyJhbGciOiJSUzI1NiJ9";
        let payload = "eyJzdWIiOiJ1bml0LXRlc3QtcGllY2VzIn0";
        let sig = "UmVnaXN0cnlTaWduYXR1cmVTZWdtZW50X3VuaXQ";
        let token = format!("{header}.{payload}.{sig}");
        let before = format!("sig={sig}");
        assert_eq!(mask_secrets(&before), before, "unknown yet");
        let jwt = Jwt::new(token.clone());
        let clone = jwt.clone();
        assert_eq!(mask_secrets(&before), "sig=[REDACTED]");
        // any 10-character piece, inside other text, in JSON
        let piece = &sig[5..15];
        assert_eq!(mask_secrets(&format!("x{piece}y")), "x[REDACTED]y");
        let json = format!(r#"{{"c":"{}"}}"#, &sig[3..]);
        let masked = mask_secrets(&json);
        assert_eq!(masked, r#"{"c":"[REDACTED]"}"#);
        assert!(serde_json::from_str::<serde_json::Value>(&masked).is_ok());
        // 7 characters are left alone
        assert_eq!(mask_secrets(&sig[..7]), &sig[..7]);
        // every piece of MIN_MASKED_PIECE characters, wherever it starts
        for start in 0..=sig.len() - MIN_MASKED_PIECE {
            let piece = &sig[start..start + MIN_MASKED_PIECE];
            assert_eq!(
                mask_secrets(&format!("<{piece}>")),
                "<[REDACTED]>",
                "{piece}"
            );
        }
        drop(jwt);
        drop(clone);
        // retired, still masked; forgotten once more than RETIRED_SECRETS_KEPT retired after it
        // (one test, so no parallel test retires tokens in between)
        assert_eq!(mask_secrets(&before), "sig=[REDACTED]");
        for i in 0..RETIRED_SECRETS_KEPT + 1 {
            drop(Jwt::new(format!("T3RoZXJSZXRpcmVkU2VjcmV0{i:04}zz")));
        }
        assert_eq!(mask_secrets(&before), before);

        // Tokens sharing a prefix (every JWT from one issuer shares its header): forgetting
        // the first one keeps the shared windows indexed for the one still alive.
        let prefix = "U2hhcmVkUHJlZml4T2ZUd29Ub2tlbnNGcm9tT25lSXNzdWVy";
        let first = Jwt::new(format!("{prefix}.Rmlyc3RUb2tlbnNPd25QYXJ0"));
        let second = Jwt::new(format!("{prefix}.U2Vjb25kVG9rZW5zT3duUGFydA"));
        drop(first);
        for i in 0..RETIRED_SECRETS_KEPT + 1 {
            drop(Jwt::new(format!("UmV0aXJlZEFnYWluU2VjcmV0{i:04}zz")));
        }
        for start in 0..=prefix.len() - MIN_MASKED_PIECE {
            let piece = &prefix[start..start + MIN_MASKED_PIECE];
            assert_eq!(
                mask_secrets(&format!("<{piece}>")),
                "<[REDACTED]>",
                "{piece}"
            );
        }
        drop(second);
    }

    #[test]
    fn forgetting_tokens_that_share_windows_in_any_order_keeps_the_others_masked() {
        // Five tokens with one prefix (every indexed window of it is shared), forgotten first,
        // middle and last registered: the prefix and the survivors stay masked, the forgotten
        // tokens' own parts do not.
        let prefix = "Rm9yZ2V0SW5BbnlPcmRlclNoYXJlZFByZWZpeA";
        let own = |i: usize| {
            [
                "u8jzPde0IgxLd6Gn",
                "cfBAepfJBd0Kh8oO",
                "OL8dKLzdocJ2isAj",
                "IhKtJ0RlgLKOmxgJ",
                "TeKdNnFRIBXuDL7D",
            ][i]
                .to_owned()
        };
        let mut tokens: Vec<Option<Jwt>> = (0..5)
            .map(|i| Some(Jwt::new(format!("{prefix}.{}", own(i)))))
            .collect();
        for gone in [0, 2, 4] {
            tokens[gone] = None;
        }
        for i in 0..RETIRED_SECRETS_KEPT + 1 {
            drop(Jwt::new(format!("QW55T3JkZXJSZXRpcmVtZW50{i:04}zz")));
        }
        for start in 0..=prefix.len() - MIN_MASKED_PIECE {
            let piece = &prefix[start..start + MIN_MASKED_PIECE];
            assert_eq!(
                mask_secrets(&format!("<{piece}>")),
                "<[REDACTED]>",
                "{piece}"
            );
        }
        for (i, token) in tokens.iter().enumerate() {
            let text = format!("<{}>", own(i));
            let expected = if token.is_some() {
                "<[REDACTED]>".to_owned()
            } else {
                text.clone()
            };
            assert_eq!(mask_secrets(&text), expected, "token {i}");
        }
        tokens.clear();
    }

    /// Two different windows with one fingerprint: a birthday search over pseudo-random
    /// 7-character texts (counted texts collide much later: their products are too regular).
    fn colliding_windows() -> (String, String) {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        // splitmix64
        let random = |n: u64| {
            let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let mut seen: HashMap<WindowKey, String> = HashMap::new();
        for n in 0u64.. {
            let r = random(n);
            let text: String = (0..WINDOW)
                .map(|k| ALPHABET[((r >> (6 * k)) & 63) as usize] as char)
                .collect();
            let key = window_key(text.as_bytes());
            match seen.get(&key) {
                Some(other) if *other != text => return (other.clone(), text),
                _ => {
                    seen.insert(key, text);
                }
            }
        }
        unreachable!("the search ends by the birthday bound")
    }

    #[test]
    fn a_window_whose_fingerprint_another_secret_holds_is_still_masked() {
        let (first, second) = colliding_windows();
        assert_eq!(window_key(first.as_bytes()), window_key(second.as_bytes()));
        // Each window at an indexed offset (0) of its own secret; the first registered
        // holds the fingerprint's entry, the second is among the others.
        let a = format!("{first}Q1w2E3r4T5y6U7i8O9p0");
        let b = format!("{second}Zz9Yy8Xx7Ww6Vv5Uu4Tt");
        let _a = Jwt::new(a.as_str());
        let _b = Jwt::new(b.as_str());
        for secret in [&a, &b] {
            let piece = &secret[..MIN_MASKED_PIECE];
            assert_eq!(
                mask_secrets(&format!("<{piece}>")),
                "<[REDACTED]>",
                "{piece}"
            );
        }
    }
}
