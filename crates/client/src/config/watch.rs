//! Live reload: a thread per watched configuration file.
//!
//! The thread watches the file's *parent directory* (non-recursively) with notify's
//! debouncer (`notify-debouncer-full`, which coalesces a burst of events into one batch
//! after [`DEBOUNCE`]) and keeps the batches naming the file, so edits, atomic replacement
//! by rename and delete-then-recreate are all seen. While the parent directory does not
//! exist it polls for it every [`POLL`] instead. The thread holds only a
//! `Weak<Config>`: it ends when the `Config` is dropped, when the watched path changes, or
//! when live reload is switched off (the owning [`Watch`] handle is dropped).

use super::Config;
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

/// How often the thread checks that its `Config` and the parent directory still exist.
const POLL: Duration = Duration::from_millis(500);
/// How long the debouncer gathers a burst of events before handing them over as one batch.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// The debouncer watching the parent directory; dropping it stops notify and its thread.
type DirWatcher = Debouncer<notify::RecommendedWatcher, RecommendedCache>;

enum Msg {
    Changed,
    Stop,
}

/// Tells whether a watcher thread has ended.
#[derive(Debug, Clone, Default)]
pub struct WatchProbe(Arc<(Mutex<bool>, Condvar)>);

impl WatchProbe {
    /// Waits until the watcher thread has ended; false if it still runs after `timeout`.
    pub fn wait_stopped(&self, timeout: Duration) -> bool {
        let (lock, cond) = &*self.0;
        let guard = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match cond.wait_timeout_while(guard, timeout, |stopped| !*stopped) {
            Ok((g, _)) => *g,
            Err(p) => *p.into_inner().0,
        }
    }
}

/// Marks the probe when the thread ends, however it ends.
struct StopOnDrop(WatchProbe);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let (lock, cond) = &*(self.0).0;
        *lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
        cond.notify_all();
    }
}

/// The handle kept by the `Config`; dropping it stops the thread.
#[derive(Debug)]
pub(crate) struct Watch {
    tx: mpsc::Sender<Msg>,
    probe: WatchProbe,
}

impl Watch {
    pub(crate) fn probe(&self) -> WatchProbe {
        self.probe.clone()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // No join: the handle may be dropped on the watcher thread itself.
        let _ = self.tx.send(Msg::Stop);
    }
}

/// Starts watching `path` for `config`; `epoch` identifies this watch so a reload from a
/// superseded watcher is ignored.
pub(crate) fn spawn(config: Weak<Config>, path: PathBuf, epoch: u64) -> Watch {
    let (tx, rx) = mpsc::channel();
    let probe = WatchProbe::default();
    let handle = Watch {
        tx: tx.clone(),
        probe: probe.clone(),
    };
    let guard = StopOnDrop(probe);
    // Registered before returning, so a change made right after `spawn` is not missed.
    let dir = parent_dir(&path);
    let initial = match path.file_name() {
        Some(name) if dir.is_dir() => start_notify(&dir, name.to_owned(), tx.clone()).ok(),
        _ => None,
    };
    let spawned = std::thread::Builder::new()
        .name("guest-chat-config-watch".into())
        .spawn(move || {
            let _guard = guard;
            run(&config, &path, epoch, initial, &tx, &rx);
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the configuration watcher thread; live reload is off");
    }
    handle
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn start_notify(dir: &Path, name: OsString, tx: mpsc::Sender<Msg>) -> notify::Result<DirWatcher> {
    let handler = move |res: DebounceEventResult| {
        let relevant = match res {
            Ok(events) => events.iter().any(|ev| {
                // Reading the file (ours included) is an access event: never a reason to reload.
                !matches!(ev.kind, EventKind::Access(_))
                    && (ev.need_rescan()
                        || ev
                            .paths
                            .iter()
                            .any(|p| p.file_name() == Some(name.as_os_str())))
            }),
            Err(_) => true,
        };
        if relevant {
            let _ = tx.send(Msg::Changed);
        }
    };
    let mut debouncer = notify_debouncer_full::new_debouncer(DEBOUNCE, None, handler)?;
    debouncer.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(debouncer)
}

fn reload(config: &Weak<Config>, epoch: u64) -> bool {
    match config.upgrade() {
        Some(cfg) => {
            cfg.reload_from_watch(epoch);
            true
        }
        None => false,
    }
}

fn run(
    config: &Weak<Config>,
    path: &Path,
    epoch: u64,
    initial: Option<DirWatcher>,
    tx: &mpsc::Sender<Msg>,
    rx: &mpsc::Receiver<Msg>,
) {
    let Some(name) = path.file_name().map(OsString::from) else {
        tracing::warn!(path = %path.display(), "the configuration path names no file; live reload is off");
        return;
    };
    let dir = parent_dir(path);
    let mut watcher = initial;
    let mut warned = false;
    loop {
        if watcher.is_none() && dir.is_dir() {
            match start_notify(&dir, name.clone(), tx.clone()) {
                Ok(w) => {
                    watcher = Some(w);
                    // The directory appeared after the start: the file may be there already.
                    if !reload(config, epoch) {
                        return;
                    }
                }
                Err(e) if !warned => {
                    warned = true;
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot watch the configuration directory; polling for it");
                }
                Err(_) => {}
            }
        }
        match rx.recv_timeout(POLL) {
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Ok(Msg::Changed) => {
                // One reload per debounced batch (the batch already covers the burst).
                if !reload(config, epoch) {
                    return;
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if config.strong_count() == 0 {
                    return;
                }
                if watcher.is_some() && !dir.is_dir() {
                    // The directory went away: poll until it comes back.
                    watcher = None;
                    if !reload(config, epoch) {
                        return;
                    }
                }
            }
        }
    }
}
