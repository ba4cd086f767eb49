//! End-to-end tests of the `guest-chat` binary, run as a child process: `chat` and `demo`
//! (`chat.rs`), the `emulator` subcommand (`emulator.rs`), what a user sees when something
//! fails (`errors.rs`), the configuration file (`config.rs`), `load` (`load.rs`) and Web
//! Messaging (`web_messaging.rs`).
//!
//! One test binary (it links the emulator and the SDK once); shared set-up lives in
//! `tests/support/`. The terminal UI is tested under tmux by `scripts/tui-test.sh`.

#[path = "../support/mod.rs"]
mod support;

mod chat;
mod config;
mod emulator;
mod errors;
mod load;
mod web_messaging;
