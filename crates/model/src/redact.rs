//! Masking of JWT-shaped tokens, for every `Debug`, log line and error message.

use std::borrow::Cow;

/// What a masked token is replaced with.
pub const REDACTED: &str = "[REDACTED]";

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'='
}

/// Replaces every JWT-shaped token (`eyJ<b64>.<b64>.<b64>`) in `text` with `[REDACTED]`.
///
/// Used on every log line and error message the SDK produces, so a token is masked even
/// where the SDK did not know it yet (the create response, an `eventStreamUri`).
pub fn mask_jwts(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    if !text.contains("eyJ") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i + 3 <= bytes.len() {
        let at_boundary = i == 0 || !is_b64url(bytes[i - 1]);
        if at_boundary && &bytes[i..i + 3] == b"eyJ" {
            // header segment, '.', payload segment, '.', signature segment (may be empty)
            let mut j = i;
            let mut dots = 0;
            while j < bytes.len() && (is_b64url(bytes[j]) || (bytes[j] == b'.' && dots < 2)) {
                if bytes[j] == b'.' {
                    dots += 1;
                }
                j += 1;
            }
            if dots == 2 {
                out.push_str(&text[copied..i]);
                out.push_str(REDACTED);
                copied = j;
                i = j;
                continue;
            }
        }
        i += 1;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_tokens_and_leaves_other_text() {
        let t = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_";
        let uri = format!("ws://127.0.0.1:9/chat/jwt/{t}");
        assert_eq!(mask_jwts(&uri), "ws://127.0.0.1:9/chat/jwt/[REDACTED]");
        assert!(matches!(mask_jwts("plain eyJ text"), Cow::Borrowed(_)));
        assert_eq!(mask_jwts("a.b.c"), "a.b.c");
    }
}
