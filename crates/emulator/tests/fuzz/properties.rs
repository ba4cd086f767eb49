//! Property-based fuzzing of the emulator's parsers and of what clients can send it: agent
//! scripts, `--fault` items, the JSON configuration, and tokens in the `Authorization` header
//! and the event-stream URL. Bad input gets a typed error or a 4xx answer, never a panic or a
//! 5xx.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use guest_chat_emulator::{parse_script, Emulator, EmulatorConfig, EmulatorHandle, Faults};
use proptest::prelude::*;
use std::sync::OnceLock;

/// Script-like text: real step words with arguments of every shape, and noise.
fn script_text() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("wait".to_owned()),
        Just("typing".to_owned()),
        Just("say".to_owned()),
        Just("notice".to_owned()),
        Just("await-message".to_owned()),
        Just("transfer".to_owned()),
        Just("end".to_owned()),
        Just("#".to_owned()),
        Just("".to_owned()),
        "[a-z-]{1,8}",
    ];
    let arg = prop_oneof![
        Just(String::new()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f}s")),
        (0u32..400).prop_map(|e| format!("1e{e}s")),
        any::<u64>().prop_map(|n| format!("{n}ms")),
        "\\PC{0,12}",
    ];
    prop::collection::vec((word, arg), 0..8).prop_map(|lines| {
        lines
            .iter()
            .map(|(w, a)| format!("{w} {a}"))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn json_like() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("-1".to_owned()),
        Just("1e400".to_owned()),
        any::<u64>().prop_map(|n| n.to_string()),
        "\"\\PC{0,6}\"".prop_map(|s| serde_json::to_string(&s).expect("string")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("organizations"),
                        Just("queues"),
                        Just("rateLimit"),
                        Just("requests"),
                        Just("windowSecs"),
                        Just("agentName"),
                        Just("workflowMessage"),
                        Just("x"),
                    ],
                    inner,
                ),
                0..5,
            )
            .prop_map(|kv| {
                let body: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
                format!("{{{}}}", body.join(","))
            }),
        ]
    })
}

/// Token-like strings: three base64url segments of JSON-ish or random bytes, and noise.
fn token() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..48).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        json_like().prop_map(|j| URL_SAFE_NO_PAD.encode(j)),
        Just(URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT","kid":"x"}"#)),
        Just(URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#)),
        "[A-Za-z0-9_=+/-]{0,24}",
    ];
    prop_oneof![
        (segment.clone(), segment.clone(), segment).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        "[ -~]{0,40}",
    ]
}

/// One emulator (and a runtime to drive it) shared by every case.
fn emulator() -> &'static (tokio::runtime::Runtime, EmulatorHandle) {
    static EMU: OnceLock<(tokio::runtime::Runtime, EmulatorHandle)> = OnceLock::new();
    EMU.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let emu = rt.block_on(Emulator::builder().start()).expect("emulator");
        (rt, emu)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn scripts_parse_or_fail_with_an_error(text in script_text()) {
        if let Ok(steps) = parse_script(&text) {
            prop_assert!(steps.len() <= text.lines().count());
        }
    }

    #[test]
    fn fault_flags_apply_or_fail_with_an_error(
        key in prop_oneof![
            Just("error-rate".to_owned()), Just("latency-ms".to_owned()), Just("non-json-rate".to_owned()),
            Just("drop-sockets-secs".to_owned()), Just("seed".to_owned()), "[a-z-]{0,10}",
        ],
        value in prop_oneof![
            any::<f64>().prop_map(|f| f.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            "\\PC{0,10}",
        ],
        with_eq in any::<bool>(),
    ) {
        let item = if with_eq { format!("{key}={value}") } else { format!("{key}{value}") };
        let mut faults = Faults::default();
        if faults.apply_flag(&item).is_ok() {
            prop_assert!((0.0..=1.0).contains(&faults.error_rate), "{}", item);
            prop_assert!((0.0..=1.0).contains(&faults.non_json_rate), "{}", item);
        }
    }

    #[test]
    fn json_configs_parse_or_fail_with_an_error(text in json_like()) {
        let _ = EmulatorConfig::from_json_str(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever the token, the answer is a 401 with a Genesys `ErrorBody`, never a 5xx.
    #[test]
    fn any_bearer_token_gets_a_clean_401(t in token()) {
        let (rt, emu) = emulator();
        let url = format!(
            "{}/api/v2/webchat/guest/conversations/c/members/m",
            emu.base_url()
        );
        let Ok(header) = reqwest::header::HeaderValue::from_str(&format!("Bearer {t}")) else {
            return Ok(());
        };
        let (status, body) = rt.block_on(async {
            let r = reqwest::Client::new()
                .get(&url)
                .header(reqwest::header::AUTHORIZATION, header)
                .send()
                .await
                .expect("an answer");
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.expect("a JSON body"))
        });
        prop_assert_eq!(status, 401, "{}", body);
        prop_assert!(body["code"].is_string(), "{}", body);
        prop_assert!(body["contextId"].is_string(), "{}", body);
    }

    /// The event-stream URL with any token: refused with a 4xx, never a 5xx.
    #[test]
    fn any_stream_token_is_refused_cleanly(t in token()) {
        let (rt, emu) = emulator();
        let encoded: String = url::form_urlencoded::byte_serialize(t.as_bytes()).collect();
        let url = format!("{}/chat/jwt/{encoded}", emu.base_url());
        let status = rt.block_on(async {
            reqwest::Client::new()
                .get(&url)
                .send()
                .await
                .expect("an answer")
                .status()
                .as_u16()
        });
        prop_assert!((400..500).contains(&status), "{} for {:?}", status, t);
    }
}
