//! The committed starting corpus of the cargo-fuzz targets (`fuzz/seeds/`, see
//! docs/fuzzing.md) stays what it claims to be: real, valid input for the SDK's parsers, so
//! that every fuzz run starts inside the accepted language rather than at its edge.

#[cfg(feature = "config-file")]
use purecloud_guest_chat_client::config::parse_config_text;
use purecloud_guest_chat_client::{ApiError, ChatEvent, Environment};
use std::fs;
use std::path::{Path, PathBuf};

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target);
    let mut out: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("dir entry").path();
            let bytes = fs::read(&path).expect("seed");
            (path, bytes)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

fn text(path: &Path, bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap_or_else(|_| panic!("{} is UTF-8", path.display()))
}

#[test]
fn event_frame_seeds_decode_as_known_events() {
    for (path, bytes) in seeds("event_frame") {
        let event = ChatEvent::from_frame(&text(&path, &bytes))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let is_closing = path.ends_with("closing.json");
        assert_eq!(
            matches!(event, ChatEvent::Unknown { .. }),
            is_closing,
            "{}: {event:?}",
            path.display()
        );
    }
}

#[cfg(feature = "config-file")]
#[test]
fn config_file_seeds_parse() {
    for (path, bytes) in seeds("config_file") {
        parse_config_text(&path, &text(&path, &bytes))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[test]
fn environment_seeds_parse() {
    for (path, bytes) in seeds("environment") {
        Environment::parse(&text(&path, &bytes))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[test]
fn api_error_seeds_give_the_status_they_encode() {
    for (path, bytes) in seeds("api_error") {
        // The target's layout: two bytes of status (mod 900, + 100), headers, blank line, body.
        let status = 100 + u16::from_be_bytes([bytes[0], bytes[1]]) % 900;
        let rest = &bytes[2..];
        let split = rest
            .windows(2)
            .position(|w| w == b"\n\n")
            .expect("a blank line after the headers");
        let mut headers = http::HeaderMap::new();
        for line in rest[..split]
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
        {
            let colon = line.iter().position(|b| *b == b':').expect("name: value");
            headers.append(
                http::HeaderName::from_bytes(&line[..colon]).expect("header name"),
                http::HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).expect("value"),
            );
        }
        let code = http::StatusCode::from_u16(status).expect("status");
        let err = ApiError::from_response(code, headers, &rest[split + 2..]);
        assert_eq!(err.status, status, "{}", path.display());
        assert!(
            err.to_string().starts_with(&format!("HTTP {status}")),
            "{}: {err}",
            path.display()
        );
    }
}
