//! The logger's settings (the JavaScript SDK's `log_level`, `log_format` and switches) and
//! what one HTTP exchange hands to the logger.

use std::path::PathBuf;
use std::str::FromStr;

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

/// What the SDK knows of one finished HTTP exchange, handed to [`SdkLogger::record`](super::SdkLogger::record).
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

/// Why settings could not be applied (for example an unwritable log file).
///
/// The message names the log file and the operating-system error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot apply logger settings: {0}")]
pub struct LoggerError(pub String);
