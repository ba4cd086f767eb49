//! The guest JWT, kept out of every `Debug`, `Display`, log line and error message.

use secrecy::{ExposeSecret, SecretString};
use std::borrow::Cow;
use std::fmt;

/// The guest's JWT: the only credential of a chat.
///
/// `Debug` and `Display` print `<redacted>`; [`Jwt::expose`] is the one way to read it.
#[derive(Clone)]
pub struct Jwt(SecretString);

impl Jwt {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Jwt(SecretString::from(token.into()))
    }

    /// The token itself, for the `Authorization` header and the event-stream URI.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// True for the empty token (treated as "no JWT").
    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().is_empty()
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

/// Masks `secret` (when non-empty) and every JWT-shaped token in `text`.
pub fn redact<'a>(text: &'a str, secret: Option<&Jwt>) -> Cow<'a, str> {
    let masked = mask_jwts(text);
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
}
