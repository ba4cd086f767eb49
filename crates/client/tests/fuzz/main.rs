//! Property-based fuzzing of the SDK's parsers, and its seed corpus.
//!
//! One test binary per area (each links the SDK, the emulator and axum once); the tests
//! that change process-wide state (environment variables, the global tracing subscriber)
//! have binaries of their own. Shared set-up lives in `tests/support/`.

#[path = "../support/mod.rs"]
mod support;

mod fuzz;
mod fuzz_seeds;
