//! Agent scripts (`--agent script:FILE`): the emulator's line parser and its error messages.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match guest_chat_emulator::parse_script(text) {
        Ok(steps) => drop(format!("{steps:?}")),
        Err(e) => drop(e.to_string()),
    }
});
