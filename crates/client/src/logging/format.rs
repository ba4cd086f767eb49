//! The two entry layouts: the JavaScript SDK's text block and its one-line JSON object.

use super::settings::LoggerSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EntryKind {
    Trace,
    Debug,
    Error,
}

impl EntryKind {
    pub(super) fn name(self) -> &'static str {
        match self {
            EntryKind::Trace => "trace",
            EntryKind::Debug => "debug",
            EntryKind::Error => "error",
        }
    }
    pub(super) fn response_headers(self) -> bool {
        self != EntryKind::Debug
    }
    pub(super) fn response_body(self) -> bool {
        self != EntryKind::Debug
    }
}

/// A body as logged: pretty JSON when it parses, else (lossy UTF-8) text; already redacted.
pub(super) enum LoggedBody {
    Json(serde_json::Value),
    Text(String),
}

impl LoggedBody {
    pub(super) fn to_json(&self) -> serde_json::Value {
        match self {
            LoggedBody::Json(v) => v.clone(),
            LoggedBody::Text(t) => serde_json::Value::String(t.clone()),
        }
    }
    pub(super) fn to_text(&self) -> String {
        match self {
            LoggedBody::Json(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
            LoggedBody::Text(t) => t.clone(),
        }
    }
}

/// The log copy of an exchange: every text field and header value redacted.
pub(super) struct RedactedExchange {
    pub(super) method: String,
    pub(super) url: String,
    pub(super) request_headers: Vec<(String, String)>,
    pub(super) request_body: Option<LoggedBody>,
    pub(super) status: Option<u16>,
    pub(super) response_headers: Option<Vec<(String, String)>>,
    pub(super) response_body: Option<LoggedBody>,
    pub(super) correlation_id: Option<String>,
    pub(super) error: Option<String>,
}

impl RedactedExchange {
    /// One JSON object per line, keys in alphabetical order (as the JavaScript SDK's).
    pub(super) fn json(&self, kind: EntryKind, date: &str, st: &LoggerSettings) -> String {
        use serde_json::Value;
        let headers = |h: &[(String, String)]| {
            Value::Object(
                h.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        };
        let mut m = serde_json::Map::new();
        m.insert(
            "correlationId".into(),
            self.correlation_id
                .clone()
                .map_or(Value::Null, Value::String),
        );
        m.insert("date".into(), date.into());
        if kind == EntryKind::Error {
            if let Some(e) = &self.error {
                m.insert("error".into(), e.clone().into());
            }
        }
        m.insert("level".into(), kind.name().into());
        m.insert("method".into(), self.method.clone().into());
        if st.log_request_body {
            if let Some(b) = &self.request_body {
                m.insert("requestBody".into(), b.to_json());
            }
        }
        m.insert("requestHeaders".into(), headers(&self.request_headers));
        if st.log_response_body && kind.response_body() {
            if let Some(b) = &self.response_body {
                m.insert("responseBody".into(), b.to_json());
            }
        }
        if kind.response_headers() {
            if let Some(h) = &self.response_headers {
                m.insert("responseHeaders".into(), headers(h));
            }
        }
        m.insert(
            "statusCode".into(),
            self.status.map_or(Value::Null, Value::from),
        );
        m.insert("url".into(), self.url.clone().into());
        format!("{}\n", Value::Object(m))
    }

    /// A multi-line block (as the JavaScript SDK's text layout), ending with a blank line.
    pub(super) fn text(&self, kind: EntryKind, date: &str, st: &LoggerSettings) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(512);
        let _ = writeln!(out, "{}: {date}", kind.name().to_ascii_uppercase());
        out.push_str("=== REQUEST ===\n");
        let _ = writeln!(out, "URL: {}", self.url);
        let _ = writeln!(out, "Method: {}", self.method);
        write_headers(&mut out, &self.request_headers);
        if st.log_request_body {
            if let Some(b) = &self.request_body {
                let _ = writeln!(out, "Body: {}", b.to_text());
            }
        }
        out.push_str("=== RESPONSE ===\n");
        match self.status {
            Some(s) => {
                let _ = writeln!(out, "Status: {s}");
            }
            None => out.push_str("Status: (no response)\n"),
        }
        if kind == EntryKind::Error {
            if let Some(e) = &self.error {
                let _ = writeln!(out, "Error: {e}");
            }
        }
        if kind.response_headers() {
            if let Some(h) = &self.response_headers {
                write_headers(&mut out, h);
            }
        }
        if st.log_response_body && kind.response_body() {
            if let Some(b) = &self.response_body {
                let _ = writeln!(out, "Body: {}", b.to_text());
            }
        }
        let _ = writeln!(
            out,
            "CorrelationId: {}",
            self.correlation_id.as_deref().unwrap_or("(none)")
        );
        out.push('\n');
        out
    }
}

pub(super) fn write_headers(out: &mut String, headers: &[(String, String)]) {
    out.push_str("Headers:\n");
    for (k, v) in headers {
        out.push('\t');
        out.push_str(k);
        out.push_str(": ");
        out.push_str(v);
        out.push('\n');
    }
}
