//! Bad input never panics the emulator: property tests of its parsers and of what clients
//! send it (`properties.rs`), and the cargo-fuzz entry points checked against the running
//! server (`entry.rs`). One test binary; `fuzz/` at the top holds the cargo-fuzz targets.

mod entry;
mod properties;
