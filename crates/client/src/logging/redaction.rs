//! The log copy of an exchange: the JWT, JWT-shaped tokens, `jwt` body fields and the
//! `Authorization` values replaced with `[REDACTED]` (the request itself is untouched).

use super::format::{LoggedBody, RedactedExchange};
use super::settings::HttpExchange;
use crate::secret::{self, Jwt, REDACTED};

/// Secrets to scrub besides JWT-shaped tokens: the client's JWT and any `jwt` value found
/// in a body (the create response hands one out before the client knows it).
pub(super) struct Scrubber<'a> {
    pub(super) jwt: Option<&'a Jwt>,
    pub(super) found: Vec<String>,
}

impl Scrubber<'_> {
    pub(super) fn scrub(&self, text: &str) -> String {
        let mut out = secret::redact(text, self.jwt).into_owned();
        for s in &self.found {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }

    pub(super) fn scrub_json(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => *s = self.scrub(s),
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| self.scrub_json(x)),
            serde_json::Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    if k.eq_ignore_ascii_case("jwt") && !x.is_null() {
                        *x = serde_json::Value::String(REDACTED.into());
                    } else {
                        self.scrub_json(x);
                    }
                }
            }
            _ => {}
        }
    }

    pub(super) fn body(&self, bytes: &[u8]) -> LoggedBody {
        if bytes.is_empty() {
            return LoggedBody::Text(String::new());
        }
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(mut v) => {
                self.scrub_json(&mut v);
                LoggedBody::Json(v)
            }
            Err(_) => LoggedBody::Text(self.scrub(&String::from_utf8_lossy(bytes))),
        }
    }

    pub(super) fn headers(&self, map: &http::HeaderMap) -> Vec<(String, String)> {
        map.iter()
            .map(|(name, value)| {
                let shown = if name == http::header::AUTHORIZATION
                    || name == http::header::PROXY_AUTHORIZATION
                {
                    REDACTED.to_owned()
                } else {
                    self.scrub(&String::from_utf8_lossy(value.as_bytes()))
                };
                (name.as_str().to_owned(), shown)
            })
            .collect()
    }
}

/// `jwt` string values anywhere in a JSON body.
pub(super) fn collect_jwt_fields(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_jwt_fields(x, out)),
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                match x {
                    serde_json::Value::String(s)
                        if k.eq_ignore_ascii_case("jwt") && !s.is_empty() =>
                    {
                        out.push(s.clone());
                    }
                    _ => collect_jwt_fields(x, out),
                }
            }
        }
        _ => {}
    }
}

impl RedactedExchange {
    /// The redacted copy of `x`.
    pub(super) fn new(x: &HttpExchange<'_>) -> Self {
        let mut found = Vec::new();
        for body in [x.request_body, x.response_body].into_iter().flatten() {
            if body.windows(5).any(|w| w.eq_ignore_ascii_case(b"\"jwt\"")) {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
                    collect_jwt_fields(&v, &mut found);
                }
            }
        }
        let s = Scrubber { jwt: x.jwt, found };
        RedactedExchange {
            method: s.scrub(x.method),
            url: s.scrub(x.url),
            request_headers: s.headers(x.request_headers),
            request_body: x.request_body.map(|b| s.body(b)),
            status: x.status,
            response_headers: x.response_headers.map(|h| s.headers(h)),
            response_body: x.response_body.map(|b| s.body(b)),
            correlation_id: x.correlation_id.map(|c| s.scrub(c)),
            error: x.error.map(|e| s.scrub(e)),
        }
    }
}
