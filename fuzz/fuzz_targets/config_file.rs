//! Configuration files, INI and JSON (the format is detected from the text, as the SDK does
//! when it loads a file), through the SDK's parser and its error messages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use purecloud_guest_chat_client::config::parse_config_text;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // The SDK reads a file as UTF-8 text; other bytes are rejected before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = parse_config_text(Path::new("fuzz.ini"), text) {
        drop(e.to_string());
        drop(format!("{e:?}"));
    }
});
