//! Entry points for the coverage-guided fuzz targets in `fuzz/` (see `docs/fuzzing.md`).
//!
//! Not a stable API: they run the emulator's own request-body validation on raw bytes,
//! without a server, so that a fuzzer can call it millions of times a second.

use guest_chat_model::ErrorBody;

/// Decodes and validates a `POST /api/v2/webchat/guest/conversations` body exactly as the
/// handler does before it creates anything. `Err` is the status and the error body the
/// emulator would answer with.
pub fn check_create_body(bytes: &[u8]) -> Result<(), (u16, Box<ErrorBody>)> {
    crate::rest::check_create_body(bytes)
}

/// Decodes and validates a `POST .../members/{memberId}/messages` body exactly as the
/// handler does before it stores the message (an empty body is a missing `body`).
pub fn check_message_body(bytes: &[u8]) -> Result<(), (u16, Box<ErrorBody>)> {
    crate::rest::check_message_body(bytes)
}
