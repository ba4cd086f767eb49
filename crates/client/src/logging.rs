//! The SDK logger: the JavaScript SDK's levels, formats, body switches, console and file
//! output, with the JWT and `Authorization` redacted in every entry.
//!
//! What each level records (a call is *failed* when its status is 400 or more, or when no
//! response arrived at all):
//!
//! | level | successful call | failed call |
//! |---|---|---|
//! | `trace` | a `trace` entry (method, URL, request body, status, request and response headers, response body), then a `debug` entry | an `error` entry |
//! | `debug` | a `debug` entry (method, URL, request body, status, request headers) | an `error` entry |
//! | `error` | nothing | an `error` entry (method, URL, request body, response body, status, request and response headers, transport error) |
//! | `none` | nothing | nothing |
//!
//! Bodies appear only when `log_request_body` / `log_response_body` are on. Every entry
//! carries a timestamp and the correlation id. Entries are formatted on the calling thread
//! (only when the level asks for them) and written by a dedicated background thread fed by
//! a bounded channel: a full channel drops the entry (counted, and reported in a later
//! line) instead of blocking the request.

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::secret::{self, Jwt, REDACTED};

/// How much the logger records (the JavaScript SDK's `log_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum LogLevel {
    /// Nothing (the default).
    #[default]
    None,
    /// Failed calls only.
    Error,
    /// Every call (method, URL, request body, status, request headers) and failures.
    Debug,
    /// Every call with request and response headers, plus debug and error entries.
    Trace,
}

/// Layout of a log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum LogFormat {
    /// A multi-line human-readable block (the default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// A level or format string that is not one of the accepted values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?} (expected one of: {expected})")]
pub struct ParseSettingError {
    /// `log_level` or `log_format`.
    pub what: &'static str,
    /// What was given.
    pub value: String,
    /// The accepted values.
    pub expected: &'static str,
}

impl FromStr for LogLevel {
    type Err = ParseSettingError;
    /// Case-insensitive, surrounding white space ignored (`" TRACE "` is trace).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "off" => Ok(LogLevel::None),
            "error" => Ok(LogLevel::Error),
            "debug" => Ok(LogLevel::Debug),
            "trace" => Ok(LogLevel::Trace),
            _ => Err(ParseSettingError {
                what: "log_level",
                value: s.to_owned(),
                expected: "trace, debug, error, none",
            }),
        }
    }
}

impl FromStr for LogFormat {
    type Err = ParseSettingError;
    /// Case-insensitive, surrounding white space ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(ParseSettingError {
                what: "log_format",
                value: s.to_owned(),
                expected: "text, json",
            }),
        }
    }
}

/// The logger's settings, as in the JavaScript SDK's `client.config.logger`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggerSettings {
    /// What to record; default [`LogLevel::None`].
    pub log_level: LogLevel,
    /// Entry layout; default [`LogFormat::Text`].
    pub log_format: LogFormat,
    /// Write entries to stdout; default true.
    pub log_to_console: bool,
    /// Also append entries to this file (parent directories are created); default none.
    pub log_file_path: Option<PathBuf>,
    /// Include request bodies (may hold personal data); default false.
    pub log_request_body: bool,
    /// Include response bodies (may hold personal data); default false.
    pub log_response_body: bool,
}

impl Default for LoggerSettings {
    fn default() -> Self {
        LoggerSettings {
            log_level: LogLevel::None,
            log_format: LogFormat::Text,
            log_to_console: true,
            log_file_path: None,
            log_request_body: false,
            log_response_body: false,
        }
    }
}

/// What the SDK knows of one finished HTTP exchange, handed to [`SdkLogger::record`].
///
/// Headers and bodies are the real ones: the logger redacts its own copy and never
/// touches what was sent.
#[derive(Debug, Clone, Copy)]
pub struct HttpExchange<'a> {
    /// `GET`, `POST` ...
    pub method: &'a str,
    /// The full URL as sent.
    pub url: &'a str,
    /// The request headers as sent (including `Authorization`).
    pub request_headers: &'a http::HeaderMap,
    /// The request body, if any.
    pub request_body: Option<&'a [u8]>,
    /// The response status; `None` when no response arrived (timeout, connect error).
    pub status: Option<u16>,
    /// The response headers, when a response arrived.
    pub response_headers: Option<&'a http::HeaderMap>,
    /// The response body, when a response arrived.
    pub response_body: Option<&'a [u8]>,
    /// The `ININ-Correlation-Id` of the response, if any.
    pub correlation_id: Option<&'a str>,
    /// The transport error, when no response arrived.
    pub error: Option<&'a str>,
    /// The JWT in use, to scrub from every field.
    pub jwt: Option<&'a crate::secret::Jwt>,
}

/// How many formatted entries may wait for the writer thread before new ones are dropped.
const QUEUE_CAPACITY: usize = 1024;

/// Where one entry goes: fixed when the entry is recorded, so entries queued before a
/// settings change still go where they were meant to.
struct Sinks {
    console: bool,
    file: Option<(PathBuf, File)>,
    /// A write error is reported (via `tracing::warn!`) once per sink set, not per entry.
    write_error_reported: AtomicBool,
}

impl Sinks {
    fn write(&self, text: &str) {
        if self.console {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            if let Err(e) = lock.write_all(text.as_bytes()).and_then(|()| lock.flush()) {
                self.report_write_error(Path::new("<stdout>"), &e);
            }
        }
        if let Some((path, file)) = &self.file {
            // One `write_all` per entry on an `O_APPEND` file: entries from several
            // processes appending to the same file do not interleave mid-entry.
            let mut f: &File = file;
            if let Err(e) = f.write_all(text.as_bytes()) {
                self.report_write_error(path, &e);
            }
        }
    }

    fn report_write_error(&self, path: &Path, e: &std::io::Error) {
        if !self.write_error_reported.swap(true, Ordering::Relaxed) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write SDK log entry");
        }
    }
}

struct Entry {
    text: String,
    format: LogFormat,
    sinks: Arc<Sinks>,
}

/// Counters shared by the recording side and the writer thread (for `flush`).
#[derive(Default)]
struct Progress {
    enqueued: AtomicU64,
    dropped: AtomicU64,
    /// Entries written (or given up on), guarded for the condition variable.
    done: Mutex<u64>,
    cond: Condvar,
}

impl Progress {
    fn mark_done(&self) {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        *done += 1;
        self.cond.notify_all();
    }
}

/// The logger behind `client.config()`; cheap to consult when off.
pub struct SdkLogger {
    settings: arc_swap::ArcSwap<LoggerSettings>,
    sinks: arc_swap::ArcSwap<Sinks>,
    /// Serialises `apply` so settings and sinks always change together.
    apply_lock: Mutex<()>,
    /// The writer thread's queue, started on the first entry (`None` if it cannot start).
    queue: OnceLock<Option<SyncSender<Entry>>>,
    progress: Arc<Progress>,
}

impl fmt::Debug for SdkLogger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SdkLogger")
            .field("settings", &**self.settings.load())
            .field("dropped", &self.progress.dropped.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for SdkLogger {
    fn default() -> Self {
        SdkLogger {
            settings: arc_swap::ArcSwap::from_pointee(LoggerSettings::default()),
            sinks: arc_swap::ArcSwap::from_pointee(Sinks {
                console: false,
                file: None,
                write_error_reported: AtomicBool::new(false),
            }),
            apply_lock: Mutex::new(()),
            queue: OnceLock::new(),
            progress: Arc::new(Progress::default()),
        }
    }
}

/// Why settings could not be applied (for example an unwritable log file).
///
/// The message names the log file and the operating-system error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot apply logger settings: {0}")]
pub struct LoggerError(pub String);

fn open_log_file(path: &Path) -> Result<File, LoggerError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            LoggerError(format!(
                "cannot create the directory {} for the log file {}: {e}",
                parent.display(),
                path.display()
            ))
        })?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| LoggerError(format!("cannot open the log file {}: {e}", path.display())))
}

impl SdkLogger {
    /// A logger with the default settings (off).
    pub fn new() -> Self {
        SdkLogger::default()
    }

    /// Applies new settings.
    ///
    /// When the level is not `none` and a `log_file_path` is set, the file is opened for
    /// appending now (its parent directories are created); if that fails the error names
    /// the path and the OS error, and the previous settings stay in force.
    pub fn apply(&self, settings: LoggerSettings) -> Result<(), LoggerError> {
        let _guard = self.apply_lock.lock().unwrap_or_else(|p| p.into_inner());
        let file = match (&settings.log_file_path, settings.log_level) {
            (Some(path), level) if level != LogLevel::None => {
                Some((path.clone(), open_log_file(path)?))
            }
            _ => None,
        };
        self.sinks.store(Arc::new(Sinks {
            console: settings.log_to_console,
            file,
            write_error_reported: AtomicBool::new(false),
        }));
        self.settings.store(Arc::new(settings));
        Ok(())
    }

    /// The settings in force.
    pub fn settings(&self) -> LoggerSettings {
        (**self.settings.load()).clone()
    }

    /// The level in force (a cheap check for the request path).
    pub fn level(&self) -> LogLevel {
        self.settings.load().log_level
    }

    /// How many entries were dropped so far because the writer thread fell behind.
    pub fn dropped_entries(&self) -> u64 {
        self.progress.dropped.load(Ordering::Relaxed)
    }

    /// Blocks until every entry recorded before this call is written, or `timeout`
    /// passes; returns true when drained. Meant for tests and orderly shutdown.
    pub fn flush(&self, timeout: Duration) -> bool {
        let target = self.progress.enqueued.load(Ordering::Acquire);
        let deadline = Instant::now() + timeout.min(crate::LONGEST_WAIT);
        let mut done = self.progress.done.lock().unwrap_or_else(|p| p.into_inner());
        while *done < target {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            done = match self.progress.cond.wait_timeout(done, deadline - now) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    /// Records one exchange at the levels the settings ask for. Never fails or blocks.
    ///
    /// Also emits a `tracing` debug event (target `purecloud_guest_chat_client::http`)
    /// with the method, the redacted URL, the status and the correlation id, whatever the
    /// SDK logger's own level.
    pub fn record(&self, exchange: &HttpExchange<'_>) {
        tracing::debug!(
            target: "purecloud_guest_chat_client::http",
            method = exchange.method,
            url = %secret::redact(exchange.url, exchange.jwt),
            status = exchange.status,
            correlation_id = exchange.correlation_id.map(|c| secret::redact(c, exchange.jwt).into_owned()),
            error = exchange.error.map(|e| secret::redact(e, exchange.jwt).into_owned()),
            "HTTP exchange"
        );
        let settings = self.settings.load();
        if settings.log_level == LogLevel::None {
            return;
        }
        let failed = exchange.status.is_none_or(|s| s >= 400);
        let kinds: &[EntryKind] = match (failed, settings.log_level) {
            (true, _) => &[EntryKind::Error],
            (false, LogLevel::Trace) => &[EntryKind::Trace, EntryKind::Debug],
            (false, LogLevel::Debug) => &[EntryKind::Debug],
            (false, _) => &[],
        };
        if kinds.is_empty() {
            return;
        }
        let view = RedactedExchange::new(exchange);
        let date = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let sinks = self.sinks.load_full();
        for &kind in kinds {
            let text = match settings.log_format {
                LogFormat::Text => view.text(kind, &date, &settings),
                LogFormat::Json => view.json(kind, &date, &settings),
            };
            // The boundary: the whole entry once more, whatever its fields missed.
            let text = secret::mask_secrets(&text).into_owned();
            self.enqueue(Entry {
                text,
                format: settings.log_format,
                sinks: Arc::clone(&sinks),
            });
        }
    }

    /// Writes one warning (a configuration file not applied) to the sinks in force, at every
    /// level but `none`: the same layout as the dropped-entries notice.
    pub(crate) fn warning(&self, message: &str) {
        let settings = self.settings.load();
        if settings.log_level == LogLevel::None {
            return;
        }
        let date = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let message = secret::mask_secrets(message);
        let text = match settings.log_format {
            LogFormat::Text => format!("WARN: {date}\n{message}\n\n"),
            LogFormat::Json => {
                let mut v = serde_json::Map::new();
                v.insert("date".into(), date.into());
                v.insert("level".into(), "warn".into());
                v.insert("message".into(), message.into_owned().into());
                format!("{}\n", serde_json::Value::Object(v))
            }
        };
        self.enqueue(Entry {
            text,
            format: settings.log_format,
            sinks: self.sinks.load_full(),
        });
    }

    fn enqueue(&self, entry: Entry) {
        let queue = self
            .queue
            .get_or_init(|| spawn_writer(Arc::clone(&self.progress)));
        let Some(tx) = queue else {
            self.progress.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        // Count first so a concurrent `flush` never sees done > enqueued.
        self.progress.enqueued.fetch_add(1, Ordering::AcqRel);
        match tx.try_send(entry) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.progress.dropped.fetch_add(1, Ordering::Relaxed);
                self.progress.mark_done();
            }
        }
    }
}

fn spawn_writer(progress: Arc<Progress>) -> Option<SyncSender<Entry>> {
    let (tx, rx) = mpsc::sync_channel::<Entry>(QUEUE_CAPACITY);
    let spawned = std::thread::Builder::new()
        .name("guest-chat-sdk-logger".into())
        .spawn(move || {
            let mut reported = 0u64;
            // Ends when the logger (the only sender) is dropped and the queue is drained.
            while let Ok(entry) = rx.recv() {
                let dropped = progress.dropped.load(Ordering::Relaxed);
                if dropped > reported {
                    entry
                        .sinks
                        .write(&dropped_notice(dropped - reported, entry.format));
                    reported = dropped;
                }
                entry.sinks.write(&entry.text);
                drop(entry);
                progress.mark_done();
            }
        });
    match spawned {
        Ok(_) => Some(tx),
        Err(e) => {
            tracing::warn!(error = %e, "cannot start the SDK logger thread; SDK log entries are dropped");
            None
        }
    }
}

fn dropped_notice(count: u64, format: LogFormat) -> String {
    let date = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let message = format!("{count} log entries were dropped because the log writer fell behind");
    match format {
        LogFormat::Text => format!("WARN: {date}\n{message}\n\n"),
        LogFormat::Json => {
            let mut v = serde_json::Map::new();
            v.insert("date".into(), date.into());
            v.insert("droppedEntries".into(), count.into());
            v.insert("level".into(), "warn".into());
            v.insert("message".into(), message.into());
            format!("{}\n", serde_json::Value::Object(v))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    Trace,
    Debug,
    Error,
}

impl EntryKind {
    fn name(self) -> &'static str {
        match self {
            EntryKind::Trace => "trace",
            EntryKind::Debug => "debug",
            EntryKind::Error => "error",
        }
    }
    fn response_headers(self) -> bool {
        self != EntryKind::Debug
    }
    fn response_body(self) -> bool {
        self != EntryKind::Debug
    }
}

/// A body as logged: pretty JSON when it parses, else (lossy UTF-8) text; already redacted.
enum LoggedBody {
    Json(serde_json::Value),
    Text(String),
}

impl LoggedBody {
    fn to_json(&self) -> serde_json::Value {
        match self {
            LoggedBody::Json(v) => v.clone(),
            LoggedBody::Text(t) => serde_json::Value::String(t.clone()),
        }
    }
    fn to_text(&self) -> String {
        match self {
            LoggedBody::Json(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
            LoggedBody::Text(t) => t.clone(),
        }
    }
}

/// The log copy of an exchange: every text field and header value redacted.
struct RedactedExchange {
    method: String,
    url: String,
    request_headers: Vec<(String, String)>,
    request_body: Option<LoggedBody>,
    status: Option<u16>,
    response_headers: Option<Vec<(String, String)>>,
    response_body: Option<LoggedBody>,
    correlation_id: Option<String>,
    error: Option<String>,
}

/// Secrets to scrub besides JWT-shaped tokens: the client's JWT and any `jwt` value found
/// in a body (the create response hands one out before the client knows it).
struct Scrubber<'a> {
    jwt: Option<&'a Jwt>,
    found: Vec<String>,
}

impl Scrubber<'_> {
    fn scrub(&self, text: &str) -> String {
        let mut out = secret::redact(text, self.jwt).into_owned();
        for s in &self.found {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }

    fn scrub_json(&self, v: &mut serde_json::Value) {
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

    fn body(&self, bytes: &[u8]) -> LoggedBody {
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

    fn headers(&self, map: &http::HeaderMap) -> Vec<(String, String)> {
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
fn collect_jwt_fields(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_jwt_fields(x, out)),
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                match x {
                    serde_json::Value::String(s)
                        if k.eq_ignore_ascii_case("jwt") && !s.is_empty() =>
                    {
                        out.push(s.clone())
                    }
                    _ => collect_jwt_fields(x, out),
                }
            }
        }
        _ => {}
    }
}

impl RedactedExchange {
    fn new(x: &HttpExchange<'_>) -> Self {
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

    /// One JSON object per line, keys in alphabetical order (as the JavaScript SDK's).
    fn json(&self, kind: EntryKind, date: &str, st: &LoggerSettings) -> String {
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
    fn text(&self, kind: EntryKind, date: &str, st: &LoggerSettings) -> String {
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

fn write_headers(out: &mut String, headers: &[(String, String)]) {
    out.push_str("Headers:\n");
    for (k, v) in headers {
        out.push('\t');
        out.push_str(k);
        out.push_str(": ");
        out.push_str(v);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_notice_has_the_entry_layout() {
        let json: serde_json::Value =
            serde_json::from_str(dropped_notice(3, LogFormat::Json).trim_end()).unwrap();
        assert_eq!(json["level"], "warn");
        assert_eq!(json["droppedEntries"], 3);
        let text = dropped_notice(3, LogFormat::Text);
        assert!(
            text.starts_with("WARN: ") && text.ends_with("\n\n"),
            "{text}"
        );
        assert!(text.contains("3 log entries were dropped"));
    }

    #[test]
    fn flush_with_nothing_recorded_returns_at_once() {
        assert!(SdkLogger::new().flush(Duration::from_millis(1)));
    }
}
