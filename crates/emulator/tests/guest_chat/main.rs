//! Guest chat against the in-process emulator, over real HTTP, `WebSockets`, TLS and signed
//! JWTs: creating a chat, authorization, a whole chat with the echo agent, the control API,
//! the event stream's life, hostile clients, TLS and the demo page.
//!
//! One test binary for the area (it links the emulator, reqwest and tungstenite once); Web
//! Messaging (`tests/webmessaging/`) and the property tests (`tests/fuzz/`) have their own.
//! Shared set-up lives in `tests/support/`.

#[path = "../support/mod.rs"]
mod support;

mod auth;
mod control;
mod conversation;
mod create;
mod hardening;
mod lifecycle;
mod send_path;
mod stream;
mod tls;
mod web_demo;
