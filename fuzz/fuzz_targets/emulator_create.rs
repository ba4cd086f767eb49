//! The emulator's create-conversation body: JSON decoding and the request validation the
//! handler runs before it creates anything.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err((status, body)) = guest_chat_emulator::fuzzing::check_create_body(data) {
        assert!(
            (400..500).contains(&status),
            "a bad body is a 4xx, got {status}"
        );
        assert!(body.code.is_some(), "every error answer has a code");
    }
});
