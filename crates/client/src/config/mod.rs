//! The SDK configuration shared by a client and all its clones: the environment, the
//! logger, and the configuration file (INI or JSON, default path, live reload).
//!
//! The file has the JavaScript SDK's keys (`[logging]` `log_level`, `log_format`,
//! `log_to_console`, `log_file_path`, `log_request_body`, `log_response_body`; `[general]`
//! `live_reload_config`, `host`) in INI or JSON. Unlike the JavaScript SDK:
//! - a key missing from the file keeps its current value (a file without `[logging]` does
//!   not switch logging off);
//! - a malformed, unreadable or invalid file never panics and never replaces the last good
//!   settings: the error (naming the file, the line when there is one, and the reason) is
//!   kept in `Config::last_error` from the client's creation on, and logged as one warning
//!   line with `tracing::warn!` and in the SDK log (when the settings in force log anything),
//!   at start and at every failed reload;
//! - only a regular file of at most `MAX_CONFIG_FILE_BYTES` is read: a FIFO, a device (a
//!   symlink to `/dev/zero`), a directory or a larger file is refused before it is opened
//!   (`ConfigError::NotRegularFile`, `ConfigError::TooLarge`), so loading never blocks
//!   and never reads without bound;
//! - booleans, levels and formats are case-insensitive and trimmed; anything else is an error;
//! - live reload reacts within a second (file-system notifications, not a 5 s stat poll).

//!
//! Without the `config-file` cargo feature (on by default) there is no file, parser or
//! watcher: the configuration comes from code only.

#[cfg(all(feature = "config-file", not(target_arch = "wasm32")))]
mod file;
#[cfg(all(feature = "config-file", not(target_arch = "wasm32")))]
mod source;
#[cfg(all(feature = "config-file", not(target_arch = "wasm32")))]
mod watch;

#[cfg(all(feature = "config-file", not(target_arch = "wasm32")))]
#[doc(hidden)]
pub use file::parse_config_text;
#[cfg(all(feature = "config-file", not(target_arch = "wasm32")))]
pub use source::{default_config_path, ConfigError, MAX_CONFIG_FILE_BYTES};
#[cfg(all(feature = "config-file", not(target_arch = "wasm32")))]
pub use watch::WatchProbe;

use crate::logging::{LoggerError, LoggerSettings, SdkLogger};
use crate::region::Environment;
use arc_swap::ArcSwap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// How the client treats the configuration file at creation.
#[derive(Debug, Clone, Default)]
pub struct ConfigFileOptions {
    /// The file to read; `None` = the default path (`~/.genesyscloudrust-guest/config`).
    pub path: Option<PathBuf>,
    /// Read no file at all.
    pub disabled: bool,
    /// Force live reload on or off; `None` = as the file says (default on).
    pub live_reload: Option<bool>,
}

/// The configuration behind `client.config()`.
#[derive(Debug)]
pub struct Config {
    environment: ArcSwap<Environment>,
    environment_explicit: AtomicBool,
    logger: SdkLogger,
    #[cfg(all(feature = "config-file", not(target_arch = "wasm32")))]
    files: source::FileConfig,
    #[cfg_attr(
        any(not(feature = "config-file"), target_arch = "wasm32"),
        allow(dead_code)
    )]
    this: Weak<Config>,
}

#[cfg_attr(
    any(not(feature = "config-file"), target_arch = "wasm32"),
    allow(dead_code)
)]
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Config {
    /// A configuration with this environment; `explicit` when set by code (a file's
    /// `host` then does not override it). No file is read until [`Config::init_file`].
    #[doc(hidden)]
    pub fn new(environment: Environment, explicit: bool) -> Arc<Config> {
        Arc::new_cyclic(|this| Config {
            environment: ArcSwap::from_pointee(environment),
            environment_explicit: AtomicBool::new(explicit),
            logger: SdkLogger::new(),
            #[cfg(all(feature = "config-file", not(target_arch = "wasm32")))]
            files: source::FileConfig::default(),
            this: this.clone(),
        })
    }

    /// Without the `config-file` feature no file is ever read: this does nothing.
    #[cfg(any(not(feature = "config-file"), target_arch = "wasm32"))]
    #[doc(hidden)]
    pub fn init_file(&self, options: ConfigFileOptions) {
        let _ = options;
    }

    /// The environment in force.
    pub fn environment(&self) -> Environment {
        (**self.environment.load()).clone()
    }

    /// Sets the environment from code; a configuration file's `host` no longer overrides it.
    pub(crate) fn set_environment(&self, environment: Environment) {
        self.environment_explicit.store(true, Ordering::Release);
        self.environment.store(Arc::new(environment));
    }

    /// True when code set the environment explicitly.
    pub fn environment_is_explicit(&self) -> bool {
        self.environment_explicit.load(Ordering::Acquire)
    }

    /// Applies logger settings (the JavaScript SDK's `logger.setLogger()`).
    pub fn set_logger(&self, settings: LoggerSettings) -> Result<(), LoggerError> {
        self.logger.apply(settings)
    }

    /// The logger settings in force.
    pub fn logger_settings(&self) -> LoggerSettings {
        self.logger.settings()
    }

    /// The logger, for the request path (and tests: `flush`).
    #[doc(hidden)]
    pub fn logger(&self) -> &SdkLogger {
        &self.logger
    }
}
