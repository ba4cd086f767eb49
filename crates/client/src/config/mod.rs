//! The SDK configuration shared by a client and all its clones: the environment, the
//! logger, and the configuration file (INI or JSON, default path, live reload).
//!
//! SKELETON: the signatures used by `client.rs` are fixed; the configuration-file part
//! (`init_file`, `set_config_path`, live reload, `last_error`) is filled in by the
//! configuration work (issue 4).

use crate::logging::{LoggerError, LoggerSettings, SdkLogger};
use crate::region::Environment;
use arc_swap::ArcSwap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
}

impl Config {
    /// A configuration with this environment; `explicit` when set by code (a file's
    /// `host` then does not override it).
    pub(crate) fn new(environment: Environment, explicit: bool) -> Arc<Config> {
        Arc::new(Config {
            environment: ArcSwap::from_pointee(environment),
            environment_explicit: AtomicBool::new(explicit),
            logger: SdkLogger::new(),
        })
    }

    /// Reads the configuration file (if any) and starts watching it, as `options` say.
    pub(crate) fn init_file(&self, options: ConfigFileOptions) {
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

    /// The logger, for the request path.
    pub(crate) fn logger(&self) -> &SdkLogger {
        &self.logger
    }
}
