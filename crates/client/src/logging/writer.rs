//! The background writer: the bounded queue, the sinks (console, append-only file) an entry
//! goes to, the progress counters behind `flush`, and the dropped-entries notice.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Condvar, Mutex};

use super::settings::{LogFormat, LoggerError};

/// How many formatted entries may wait for the writer thread before new ones are dropped.
pub(super) const QUEUE_CAPACITY: usize = 1024;

/// Where one entry goes: fixed when the entry is recorded, so entries queued before a
/// settings change still go where they were meant to.
pub(super) struct Sinks {
    pub(super) console: bool,
    pub(super) file: Option<(PathBuf, File)>,
    /// A write error is reported (via `tracing::warn!`) once per sink set, not per entry.
    pub(super) write_error_reported: AtomicBool,
}

impl Sinks {
    pub(super) fn write(&self, text: &str) {
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

    pub(super) fn report_write_error(&self, path: &Path, e: &std::io::Error) {
        if !self.write_error_reported.swap(true, Ordering::Relaxed) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write SDK log entry");
        }
    }
}

pub(super) struct Entry {
    pub(super) text: String,
    pub(super) format: LogFormat,
    pub(super) sinks: Arc<Sinks>,
}

/// Counters shared by the recording side and the writer thread (for `flush`).
#[derive(Default)]
pub(super) struct Progress {
    pub(super) enqueued: AtomicU64,
    pub(super) dropped: AtomicU64,
    /// Entries written (or given up on), guarded for the condition variable.
    pub(super) done: Mutex<u64>,
    pub(super) cond: Condvar,
}

impl Progress {
    pub(super) fn mark_done(&self) {
        let mut done = self
            .done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *done += 1;
        self.cond.notify_all();
    }
}

pub(super) fn open_log_file(path: &Path) -> Result<File, LoggerError> {
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

pub(super) fn spawn_writer(progress: Arc<Progress>) -> Option<SyncSender<Entry>> {
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

pub(super) fn dropped_notice(count: u64, format: LogFormat) -> String {
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
}
