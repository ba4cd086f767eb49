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

mod format;
mod redaction;
mod settings;
mod writer;

pub use settings::{
    HttpExchange, LogFormat, LogLevel, LoggerError, LoggerSettings, ParseSettingError,
};

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::secret;
use format::{EntryKind, RedactedExchange};
use writer::{open_log_file, spawn_writer, Entry, Progress, Sinks};

/// The logger behind `client.config()`; cheap to consult when off.
pub struct SdkLogger {
    settings: arc_swap::ArcSwap<LoggerSettings>,
    /// Whether the level in force is not `none`: one atomic load per REST call.
    on: AtomicBool,
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
            on: AtomicBool::new(LoggerSettings::default().log_level != LogLevel::None),
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
        let _guard = self
            .apply_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
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
        let on = settings.log_level != LogLevel::None;
        self.settings.store(Arc::new(settings));
        self.on.store(on, Ordering::Release);
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

    /// Whether the level in force is not [`LogLevel::None`] (the check of the request path:
    /// cheaper than [`SdkLogger::level`]).
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Acquire)
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
        let mut done = self
            .progress
            .done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
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
    #[cfg_attr(
        any(not(feature = "config-file"), target_arch = "wasm32"),
        allow(dead_code)
    )]
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
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.progress.dropped.fetch_add(1, Ordering::Relaxed);
                self.progress.mark_done();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_with_nothing_recorded_returns_at_once() {
        assert!(SdkLogger::new().flush(Duration::from_millis(1)));
    }
}
