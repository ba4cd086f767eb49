//! The configuration file: reading it safely, applying it all or nothing, and live reload
//! (the `config-file` feature).

use super::file;
use super::watch::{self, WatchProbe};
use super::{lock, Config, ConfigFileOptions};
use crate::logging::LoggerError;
use crate::region::Environment;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The largest configuration file read: 1 MiB (a real one is a few hundred bytes).
pub const MAX_CONFIG_FILE_BYTES: u64 = 1024 * 1024;

/// Why a configuration file was not applied. The last good settings stay in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read the configuration file {}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error kind.
        kind: std::io::ErrorKind,
        /// The OS error.
        message: String,
    },
    /// An INI line that is neither a section, a `key = value` nor a comment.
    #[error("configuration file {}, line {line}: {message}", path.display())]
    IniSyntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Malformed JSON.
    #[error("configuration file {}, line {line}, column {column}: invalid JSON: {message}", path.display())]
    JsonSyntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// `serde_json`'s message.
        message: String,
    },
    /// A key with a value that is not accepted (an invalid boolean, level, format or host).
    #[error(
        "configuration file {}{}: invalid value {value:?} for {key}: {reason}",
        path.display(),
        line.map(|l| format!(", line {l}")).unwrap_or_default()
    )]
    InvalidValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// The value given.
        value: String,
        /// 1-based line, when known (INI files).
        line: Option<usize>,
        /// What is accepted.
        reason: String,
    },
    /// The logging settings of the file cannot be applied (for example an unwritable log file).
    #[error(
        "configuration file {}{}: {source}",
        path.display(),
        line.map(|l| format!(", line {l}")).unwrap_or_default()
    )]
    Logger {
        /// The configuration file.
        path: PathBuf,
        /// 1-based line of `log_file_path`, when the file sets it.
        line: Option<usize>,
        /// The logger's error (names the log file and the OS error).
        source: LoggerError,
    },
    /// The path names something else than a regular file (a FIFO, a device such as
    /// `/dev/zero`, a directory, a socket), possibly through a symlink. Not opened.
    #[error("configuration file {}: not a regular file but {what}; not read", path.display())]
    NotRegularFile {
        /// The file.
        path: PathBuf,
        /// What it is (`a FIFO (named pipe)`, `a character device`, `a directory`, ...).
        what: String,
    },
    /// The file is larger than [`MAX_CONFIG_FILE_BYTES`]. Not read.
    #[error("configuration file {}: {size} bytes or more, over the {limit}-byte limit; not read", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (at least).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file is not UTF-8 text (binary junk, another encoding).
    #[error("configuration file {}, line {line}: not UTF-8 text", path.display())]
    NotText {
        /// The file.
        path: PathBuf,
        /// 1-based line of the first byte that is not UTF-8.
        line: usize,
    },
}

/// What a non-regular file is, for [`ConfigError::NotRegularFile`].
fn file_kind(t: std::fs::FileType) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)".into();
        }
        if t.is_char_device() {
            return "a character device".into();
        }
        if t.is_block_device() {
            return "a block device".into();
        }
        if t.is_socket() {
            return "a socket".into();
        }
    }
    if t.is_dir() {
        "a directory".into()
    } else {
        "not a regular file".into()
    }
}

/// Reads a configuration file safely: `Ok(None)` when there is none. Checks what the path
/// names before opening it (a FIFO would block the open, `/dev/zero` would never end), opens
/// without blocking, checks the opened file again (it may have been swapped meanwhile) and
/// reads at most [`MAX_CONFIG_FILE_BYTES`].
fn read_config_file(path: &Path) -> Result<Option<String>, ConfigError> {
    use std::io::Read;
    let io = |e: std::io::Error| ConfigError::Io {
        path: path.to_owned(),
        kind: e.kind(),
        message: e.to_string(),
    };
    let check = |meta: &std::fs::Metadata| {
        if !meta.is_file() {
            return Err(ConfigError::NotRegularFile {
                path: path.to_owned(),
                what: file_kind(meta.file_type()),
            });
        }
        if meta.len() > MAX_CONFIG_FILE_BYTES {
            return Err(ConfigError::TooLarge {
                path: path.to_owned(),
                size: meta.len(),
                limit: MAX_CONFIG_FILE_BYTES,
            });
        }
        Ok(())
    };
    match std::fs::metadata(path) {
        Ok(meta) => check(&meta)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    check(&file.metadata().map_err(io)?)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_CONFIG_FILE_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
            limit: MAX_CONFIG_FILE_BYTES,
        });
    }
    String::from_utf8(bytes).map(Some).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        ConfigError::NotText {
            path: path.to_owned(),
            line: good.iter().filter(|b| **b == b'\n').count() + 1,
        }
    })
}

/// The default configuration file: `$HOME/.genesyscloudrust-guest/config`.
///
/// `HOME` is read first (when set and non-empty, also on Windows), then the platform's home
/// directory (`dirs::home_dir()`: `%USERPROFILE%` on Windows).
pub fn default_config_path() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(dirs::home_dir)?;
    Some(home.join(".genesyscloudrust-guest").join("config"))
}

#[derive(Debug, Default)]
struct FileState {
    /// The file in use.
    path: Option<PathBuf>,
    /// Bumped at each path switch; a watcher of an older epoch is ignored.
    epoch: u64,
    /// The builder's `live_reload` override.
    live_reload_override: Option<bool>,
    /// What the current file last said about `live_reload_config`.
    file_live_reload: Option<bool>,
    /// The content last read (`None` = absent), to ignore events that changed nothing.
    last_seen: Option<Option<String>>,
    watch: Option<watch::Watch>,
}

/// The file-related part of a [`Config`].
#[derive(Debug)]
pub(super) struct FileConfig {
    file: Mutex<FileState>,
    last_error: Mutex<Option<ConfigError>>,
    reloads: tokio::sync::watch::Sender<u64>,
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig {
            file: Mutex::new(FileState::default()),
            last_error: Mutex::new(None),
            reloads: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl Config {
    /// Reads the configuration file (if any) and starts watching it, as `options` say.
    ///
    /// An absent file is not an error (defaults stay; it is applied when created, if live
    /// reload is on); any other problem is in [`Config::last_error`].
    #[doc(hidden)]
    pub fn init_file(&self, options: ConfigFileOptions) {
        if options.disabled {
            return;
        }
        let Some(path) = options.path.or_else(default_config_path) else {
            tracing::debug!("no home directory: no default configuration file");
            return;
        };
        let _ = self.switch_to(path, Some(options.live_reload));
    }

    /// Reads this configuration file now and makes it the watched one (the JavaScript
    /// SDK's `config.setConfigPath`).
    ///
    /// An absent file is not an error (it is applied when it appears, if live reload is
    /// on). A file that cannot be applied gives the error (also kept in
    /// [`Config::last_error`]), keeps the last good settings, and is still watched so a fix
    /// is picked up.
    pub fn set_config_path(&self, path: impl AsRef<Path>) -> Result<(), ConfigError> {
        self.switch_to(path.as_ref().to_owned(), None)
    }

    /// The configuration file in use, if any.
    pub fn config_path(&self) -> Option<PathBuf> {
        lock(&self.files.file).path.clone()
    }

    /// Why the configuration file was last not applied; cleared by the next good load.
    pub fn last_error(&self) -> Option<ConfigError> {
        lock(&self.files.last_error).clone()
    }

    /// True while the configuration file is watched for changes.
    pub fn live_reload_active(&self) -> bool {
        lock(&self.files.file).watch.is_some()
    }

    /// A counter bumped after every load of the configuration file (applied, or refused
    /// with [`Config::last_error`] set); await it instead of sleeping.
    pub fn subscribe_reloads(&self) -> tokio::sync::watch::Receiver<u64> {
        self.files.reloads.subscribe()
    }

    /// A probe on the current watcher thread, to check that it stops.
    #[doc(hidden)]
    pub fn watch_probe(&self) -> Option<WatchProbe> {
        lock(&self.files.file)
            .watch
            .as_ref()
            .map(watch::Watch::probe)
    }

    /// `path` becomes the configuration file; `live_reload_override`: `Some(x)` sets the
    /// override to `x`, `None` keeps the current one.
    fn switch_to(
        &self,
        path: PathBuf,
        live_reload_override: Option<Option<bool>>,
    ) -> Result<(), ConfigError> {
        let mut st = lock(&self.files.file);
        st.watch = None; // stops the previous watcher
        st.epoch += 1;
        st.path = Some(path.clone());
        st.file_live_reload = None;
        st.last_seen = None;
        if let Some(o) = live_reload_override {
            st.live_reload_override = o;
        }
        // Watch before reading, so a change racing with this first read is not missed
        // (the watcher's reload then finds the content unchanged, or applies the change).
        let watch = (st.live_reload_override != Some(false))
            .then(|| watch::spawn(self.this.clone(), path.clone(), st.epoch));
        let result = self.load_locked(&mut st, &path);
        let live = st
            .live_reload_override
            .unwrap_or(st.file_live_reload.unwrap_or(true));
        st.watch = if live { watch } else { None };
        result
    }

    /// Called by the watcher thread of `epoch` after a change to the file.
    pub(super) fn reload_from_watch(&self, epoch: u64) {
        let mut st = lock(&self.files.file);
        if st.epoch != epoch {
            return;
        }
        let Some(path) = st.path.clone() else { return };
        let _ = self.load_locked(&mut st, &path);
        if st.live_reload_override.is_none() && st.file_live_reload == Some(false) {
            tracing::debug!(path = %path.display(), "live_reload_config = false: no longer watching the configuration file");
            st.watch = None;
        }
    }

    fn load_locked(&self, st: &mut FileState, path: &Path) -> Result<(), ConfigError> {
        let content = match read_config_file(path) {
            Ok(content) => content,
            Err(e) => {
                st.last_seen = None;
                return self.refuse(e);
            }
        };
        if st.last_seen.as_ref() == Some(&content) {
            return Ok(()); // an event that changed nothing (touch, or a burst already applied)
        }
        st.last_seen = Some(content.clone());
        let Some(text) = content else {
            tracing::debug!(path = %path.display(), "no configuration file; current settings kept");
            *lock(&self.files.last_error) = None;
            self.bump();
            return Ok(());
        };
        match self.apply_text(path, &text) {
            Ok(live_reload) => {
                if live_reload.is_some() {
                    st.file_live_reload = live_reload;
                }
                *lock(&self.files.last_error) = None;
                tracing::debug!(path = %path.display(), "configuration file applied");
                self.bump();
                Ok(())
            }
            Err(e) => self.refuse(e),
        }
    }

    /// Parses and applies a file's content, all or nothing; returns its `live_reload_config`.
    fn apply_text(&self, path: &Path, text: &str) -> Result<Option<bool>, ConfigError> {
        let f = file::parse(path, text)?;
        let environment = match &f.host {
            Some((host, _)) if self.environment_is_explicit() => {
                tracing::debug!(
                    host,
                    "the environment was set in code; ignoring the file's host"
                );
                None
            }
            Some((host, line)) => {
                Some(
                    Environment::parse(host).map_err(|e| ConfigError::InvalidValue {
                        path: path.to_owned(),
                        key: "host".into(),
                        value: host.clone(),
                        line: *line,
                        reason: e.reason,
                    })?,
                )
            }
            None => None,
        };
        let current = self.logger.settings();
        let mut next = current.clone();
        if let Some(v) = f.log_level {
            next.log_level = v;
        }
        if let Some(v) = f.log_format {
            next.log_format = v;
        }
        if let Some(v) = f.log_to_console {
            next.log_to_console = v;
        }
        if let Some(v) = f.log_file_path {
            next.log_file_path = v;
        }
        if let Some(v) = f.log_request_body {
            next.log_request_body = v;
        }
        if let Some(v) = f.log_response_body {
            next.log_response_body = v;
        }
        if next != current {
            self.logger
                .apply(next)
                .map_err(|source| ConfigError::Logger {
                    path: path.to_owned(),
                    line: f.log_file_path_line,
                    source,
                })?;
        }
        if let Some(env) = environment {
            self.environment.store(Arc::new(env));
        }
        Ok(f.live_reload_config)
    }

    fn refuse(&self, e: ConfigError) -> Result<(), ConfigError> {
        let line = format!("{e}; keeping the last good settings");
        tracing::warn!("{line}");
        self.logger.warning(&line);
        *lock(&self.files.last_error) = Some(e.clone());
        self.bump();
        Err(e)
    }

    fn bump(&self) {
        self.files.reloads.send_modify(|g| *g += 1);
    }
}
