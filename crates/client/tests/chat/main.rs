//! Event stream and `GuestChat` over both protocols: delivery, reconnects, exactly-once sends, Web Messaging.
//!
//! One test binary per area (each links the SDK, the emulator and axum once); the tests
//! that change process-wide state (environment variables, the global tracing subscriber)
//! have binaries of their own. Shared set-up lives in `tests/support/`.

#[path = "../support/mod.rs"]
mod support;

mod backpressure;
mod events;
mod exactly_once;
mod session;
mod webmessaging;
mod wm_session;
