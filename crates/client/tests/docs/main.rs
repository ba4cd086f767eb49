//! Every Rust block of the docs is an example file, and the examples run.
//!
//! One test binary per area (each links the SDK, the emulator and axum once); the tests
//! that change process-wide state (environment variables, the global tracing subscriber)
//! have binaries of their own. Shared set-up lives in `tests/support/`.

#[path = "../support/mod.rs"]
mod support;

mod docs_examples;
mod examples;
