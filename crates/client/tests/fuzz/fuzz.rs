//! Property-based fuzzing of the client crate's parsers: environment strings, the
//! configuration file and error responses. Bad input gets a typed error, never a panic.

use proptest::prelude::*;
#[cfg(feature = "config-file")]
use purecloud_guest_chat_client::config::{parse_config_text, ConfigError};
use purecloud_guest_chat_client::error::MAX_RETRY_AFTER_HINT;
use purecloud_guest_chat_client::{ApiError, Environment, Region};
#[cfg(feature = "config-file")]
use std::path::Path;

/// Environment-like strings: schemes, hosts, ports, paths and noise.
fn arb_environment() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        Just(""),
        Just("https://"),
        Just("http://"),
        Just("HTTPS://"),
        Just("ftp://"),
        Just("//")
    ];
    let host = prop_oneof![
        "[a-z0-9.-]{0,16}",
        Just("api.mypurecloud.ie".to_owned()),
        Just("mypurecloud.com".to_owned()),
        Just("127.0.0.1".to_owned()),
        Just("[::1]".to_owned()),
        Just("localhost".to_owned()),
        Just("eu_west_1".to_owned()),
        "\\PC{0,10}",
    ];
    let tail = prop_oneof![
        Just(String::new()),
        Just("/".to_owned()),
        ":[0-9]{0,6}".prop_map(|s| s),
        "/[a-z/%.]{0,10}",
        "[?#@:][a-z=]{0,6}",
        "\\PC{0,6}",
    ];
    prop_oneof![
        (scheme, host, tail).prop_map(|(s, h, t)| format!("{s}{h}{t}")),
        "\\PC{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn environment_parse_never_panics_and_its_base_url_re_parses(s in arb_environment()) {
        if let Ok(env) = Environment::parse(&s) {
            let again = Environment::parse(env.base_url())
                .map_err(|e| TestCaseError::fail(format!("{s:?} -> {:?}: {e}", env.base_url())))?;
            prop_assert_eq!(again.base_url(), env.base_url(), "from {:?}", s);
            prop_assert!(again == env);
            let url = url::Url::parse(env.base_url()).unwrap();
            prop_assert!(url.username().is_empty() && url.password().is_none(), "credentials kept: {:?}", env.base_url());
        }
    }

    #[test]
    fn environment_errors_never_echo_a_token(
        before in prop_oneof![Just(String::new()), "\\PC{0,8}[ /:.?#@]", "https://[a-z.]{0,8}/"],
        token in "eyJ[A-Za-z0-9_-]{2,12}\\.[A-Za-z0-9_-]{1,12}\\.[A-Za-z0-9_-]{0,12}",
        after in prop_oneof![Just(String::new()), "[ /?#@:][\\PC]{0,8}"],
    ) {
        let input = format!("{before}{token}{after}");
        if let Err(e) = Environment::parse(&input) {
            prop_assert!(!e.to_string().contains(&token), "{}", e);
            prop_assert!(!format!("{e:?}").contains(&token), "{:?}", e);
        }
    }

    #[cfg(feature = "config-file")]
    #[test]
    fn config_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse_config_text(Path::new("config"), &text);
    }

    #[cfg(feature = "config-file")]
    #[test]
    fn config_lines_never_panic(lines in prop::collection::vec(prop_oneof![
        Just("[logging]".to_owned()),
        Just("[general]".to_owned()),
        Just("[".to_owned()),
        Just("; comment".to_owned()),
        Just(String::new()),
        "(log_level|log_format|log_to_console|log_file_path|log_request_body|log_response_body|live_reload_config|host) ?[=:] ?\\PC{0,12}",
        "\\PC{0,20}",
    ], 0..12)) {
        let text = lines.join("\n");
        let _ = parse_config_text(Path::new("config"), &text);
    }

    #[cfg(feature = "config-file")]
    #[test]
    fn json_config_never_panics(body in "\\PC{0,80}", json_value in json_like()) {
        let _ = parse_config_text(Path::new("config.json"), &format!("{{{body}"));
        let _ = parse_config_text(Path::new("config.json"), &json_value);
    }

    #[cfg(feature = "config-file")]
    #[test]
    fn a_malformed_ini_line_names_its_line(
        good in prop::collection::vec(prop_oneof![
            Just("[logging]".to_owned()),
            Just("; comment".to_owned()),
            Just("   ".to_owned()),
            Just("# note".to_owned()),
            Just("log_level = debug".to_owned()),
        ], 0..8),
        bad in prop_oneof![
            "[a-z]{1,10}",
            "\\[[a-z]{0,6}",
            Just("[]".to_owned()),
            " ?= ?[a-z]{0,5}",
        ],
    ) {
        let mut lines = good.clone();
        lines.insert(0, "[logging]".to_owned());
        lines.push(bad);
        let text = lines.join("\n");
        match parse_config_text(Path::new("config"), &text) {
            Err(ConfigError::IniSyntax { line, .. }) => prop_assert_eq!(line, lines.len()),
            other => prop_assert!(false, "{:?} gave {:?}", text, other),
        }
    }

    #[cfg(feature = "config-file")]
    #[test]
    fn malformed_json_names_a_line(
        lines_before in 0usize..5,
        junk in prop_oneof![Just(","), Just("}}"), Just("\"a\" 1"), Just("[")],
    ) {
        let text = format!("{{\n{}\"logging\": {{}}{junk}", "\n".repeat(lines_before));
        match parse_config_text(Path::new("config"), &text) {
            Err(e @ ConfigError::JsonSyntax { line, .. }) => {
                prop_assert!(line > lines_before, "{:?}: {}", text, e);
                let shown = format!("line {line}");
                prop_assert!(e.to_string().contains(&shown));
            }
            other => prop_assert!(false, "{:?} gave {:?}", text, other),
        }
    }
}

fn json_like() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("\"debug\"".to_owned()),
        Just("\"yes\"".to_owned()),
        Just("3".to_owned()),
        "\"\\PC{0,6}\"".prop_map(|s| serde_json::to_string(&s).unwrap()),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop::collection::vec(
            (
                prop_oneof![
                    Just("logging"),
                    Just("general"),
                    Just("log_level"),
                    Just("log_file_path"),
                    Just("log_to_console"),
                    Just("host"),
                    Just("live_reload_config"),
                    Just("x"),
                ],
                inner,
            ),
            0..5,
        )
        .prop_map(|kv| {
            let body: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
            format!("{{{}}}", body.join(","))
        })
    })
}

#[test]
fn every_region_base_url_re_parses() {
    for region in Region::ALL {
        let env = Environment::from(*region);
        assert!(Environment::parse(env.base_url()).unwrap() == env);
    }
}

/// Regression: credentials after an empty user name (`https://:pw@host`) were kept in the
/// base URL.
#[test]
fn a_password_without_user_is_refused() {
    let parsed = Environment::parse("https://:secret@example.com:8443");
    assert!(
        parsed.is_err(),
        "{:?}",
        parsed.map(|e| e.base_url().to_owned())
    );
}

/// Header values a server might send as `Retry-After` / `inin-ratelimit-reset`: numbers of
/// every size and notation, HTTP dates (past, near, absurd), and noise.
fn arb_wait_header() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        (0u32..400).prop_map(|e| format!("1e{e}")),
        (1u32..29, 1970i32..10000).prop_map(|(d, y)| format!("Mon, {d:02} Jan {y} 00:00:00 GMT")),
        "[ -~]{0,24}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn error_responses_never_panic_and_waits_stay_bounded(
        status in 400u16..600,
        retry_after in proptest::option::of(arb_wait_header()),
        reset in proptest::option::of(arb_wait_header()),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            json_like().prop_map(String::into_bytes),
        ],
    ) {
        let mut headers = http::HeaderMap::new();
        for (name, value) in [("retry-after", retry_after), ("inin-ratelimit-reset", reset)] {
            if let Some(v) = value.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
                headers.insert(name, v);
            }
        }
        let status = http::StatusCode::from_u16(status).expect("status in range");
        let e = ApiError::from_response(status, headers, &body);
        prop_assert_eq!(e.status, status.as_u16());
        if let Some(wait) = e.retry_after {
            prop_assert!(wait <= MAX_RETRY_AFTER_HINT, "{:?}", wait);
            prop_assert!(std::time::Instant::now().checked_add(wait).is_some());
        }
        let _ = e.to_string();
        let _ = format!("{e:?}");
    }
}
