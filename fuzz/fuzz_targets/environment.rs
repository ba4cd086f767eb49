//! Environment strings (`--environment`, `host` in a config file): `Environment::parse`.
//! What it accepts it must accept again in its normalised form, unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use purecloud_guest_chat_client::Environment;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Environment::parse(text) {
        Ok(env) => {
            let again =
                Environment::parse(env.base_url()).expect("a normalised environment parses again");
            assert_eq!(
                again.base_url(),
                env.base_url(),
                "normalisation is idempotent"
            );
            std::hint::black_box(env.region());
        }
        Err(e) => drop(e.to_string()),
    }
});
