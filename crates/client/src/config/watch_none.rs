//! The browser build has no file watcher (no files): the same names, doing nothing.

use super::Config;
use std::path::PathBuf;
use std::sync::Weak;
use std::time::Duration;

/// A probe on a watcher thread; in the browser there is none, so it is always stopped.
#[derive(Debug, Clone)]
pub struct WatchProbe(());

impl WatchProbe {
    /// True at once: no watcher runs in a browser.
    pub fn wait_stopped(&self, _timeout: Duration) -> bool {
        true
    }
}

/// No watcher.
#[derive(Debug)]
pub(crate) struct Watch(());

impl Watch {
    pub(crate) fn probe(&self) -> WatchProbe {
        WatchProbe(())
    }
}

pub(crate) fn spawn(_config: Weak<Config>, _path: PathBuf, _epoch: u64) -> Watch {
    Watch(())
}
