//! Error answers: `ApiError::from_response` from an arbitrary status, headers and body, then
//! everything a caller may print (Display, Debug) or read (code, message, retry-after).
//!
//! Input layout: two bytes of status (taken modulo 900, plus 100), then header lines
//! `name: value` up to an empty line, then the raw body.
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use libfuzzer_sys::fuzz_target;
use purecloud_guest_chat_client::ApiError;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let code = 100 + u16::from_be_bytes([data[0], data[1]]) % 900;
    let Ok(status) = StatusCode::from_u16(code) else {
        return;
    };
    let rest = &data[2..];
    let split = rest.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (&[][..], rest),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    let err = ApiError::from_response(status, headers, body);
    drop(err.to_string());
    drop(format!("{err:?}"));
    std::hint::black_box((err.code(), err.message(), err.retry_after));
});
