//! Web Messaging against the in-process emulator, over real `WebSockets` and HTTP, with the
//! model's types. Every frame the emulator sends is validated against the facts-only extract of
//! the official frame schema (`crates/model/tests/data/webmessaging-schema.json`, read at run
//! time): the envelope against `BaseMessage`, the body against the definition its `class`
//! names (class `string`: the body is a string).
//!
//! One test binary for Web Messaging; shared set-up lives in `tests/support/`, the schema
//! validator in `schema.rs` and the test client in `client.rs`.

#[path = "../support/mod.rs"]
mod support;

mod client;
mod protocol;
mod schema;
