//! The emulator's send-message body: JSON decoding and the handler's validation (body
//! present, length limit, body type).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err((status, body)) = guest_chat_emulator::fuzzing::check_message_body(data) {
        assert!(
            (400..500).contains(&status),
            "a bad body is a 4xx, got {status}"
        );
        assert!(body.code.is_some(), "every error answer has a code");
    }
});
