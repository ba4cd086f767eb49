//! The REST client against the emulator and the contract: every operation, the wire, TLS and proxies.
//!
//! One test binary per area (each links the SDK, the emulator and axum once); the tests
//! that change process-wide state (environment variables, the global tracing subscriber)
//! have binaries of their own. Shared set-up lives in `tests/support/`.

#[path = "../support/mod.rs"]
mod support;

mod contract;
mod proxy;
mod rest_api;
mod rest_wire;
mod tls;
