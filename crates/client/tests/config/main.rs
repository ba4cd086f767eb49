//! The configuration file, live reload and the SDK logger.
//!
//! One test binary per area (each links the SDK, the emulator and axum once); the tests
//! that change process-wide state (environment variables, the global tracing subscriber)
//! have binaries of their own. Shared set-up lives in `tests/support/`.

#[path = "../support/mod.rs"]
mod support;

mod config;
mod logging;
mod logging_e2e;
