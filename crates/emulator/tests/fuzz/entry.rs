//! The request-body checks that the cargo-fuzz targets call (`guest_chat_emulator::fuzzing`,
//! see docs/fuzzing.md) answer exactly as the running emulator does, so that what the fuzzer
//! proves about them holds for the server; and the inputs the fuzzer found interesting stay
//! covered here as ordinary tests.

use guest_chat_emulator::fuzzing::{check_create_body, check_message_body};
use guest_chat_emulator::Emulator;
use serde_json::Value;
use std::time::Duration;

const CREATE_OK: &str = r#"{"organizationId":"org","deploymentId":"dep","routingTarget":{"targetType":"QUEUE","targetAddress":"Support"},"memberInfo":{"displayName":"Guest"}}"#;

/// Bodies for the create POST: valid ones, and one of each way to get a 400.
fn create_bodies() -> Vec<String> {
    let mut bodies = vec![
        CREATE_OK.to_owned(),
        String::new(),
        "{".to_owned(),
        "null".to_owned(),
        "[]".to_owned(),
        "{}".to_owned(),
        r#"{"organizationId":"org"}"#.to_owned(),
        r#"{"organizationId":" ","deploymentId":"dep"}"#.to_owned(),
        r#"{"organizationId":"org","deploymentId":"dep","routingTarget":{}}"#.to_owned(),
        r#"{"organizationId":"org","deploymentId":"dep","routingTarget":{"targetType":"QUEUE","targetAddress":"Support"}}"#.to_owned(),
        r#"{"organizationId":"org","deploymentId":"dep","routingTarget":{"targetType":"QUEUE","targetAddress":"Support"},"memberInfo":{"displayName":""}}"#.to_owned(),
        r#"{"organizationId":1}"#.to_owned(),
        r#"{"organizationId":"org","deploymentId":"dep","routingTarget":{"targetType":"NOPE","targetAddress":"Support"},"memberInfo":{"displayName":"Guest"}}"#.to_owned(),
    ];
    for journey in [
        r#"{}"#,
        r#"{"customer":{"id":"c"}}"#,
        r#"{"customer":{"id":"c","idType":"cookie"},"customerSession":{"id":"s"}}"#,
        r#"{"customer":{"id":"c","idType":"cookie"},"triggeringAction":{"id":"t","actionMap":{"id":"m"}}}"#,
        r#"{"customer":{"id":"c","idType":"cookie"},"customerSession":{"id":"s","type":"web"},"triggeringAction":{"id":"t","actionMap":{"id":"m","version":1}}}"#,
    ] {
        bodies.push(CREATE_OK.replace(
            r#""memberInfo""#,
            &format!(r#""journeyContext":{journey},"memberInfo""#),
        ));
    }
    bodies
}

/// Bodies for the message POST.
fn message_bodies() -> Vec<String> {
    vec![
        r#"{"body":"hello"}"#.to_owned(),
        r#"{"body":"hello","bodyType":"standard"}"#.to_owned(),
        r#"{"body":"note","bodyType":"notice"}"#.to_owned(),
        r#"{"body":"x","bodyType":"member-join"}"#.to_owned(),
        r#"{"body":"x","bodyType":"no-such-type"}"#.to_owned(),
        r#"{"bodyType":"standard"}"#.to_owned(),
        String::new(),
        "{}".to_owned(),
        "null".to_owned(),
        "[1]".to_owned(),
        r#"{"body":7}"#.to_owned(),
        "\u{feff}{\"body\":\"bom\"}".to_owned(),
        format!(r#"{{"body":"{}"}}"#, "a".repeat(4000)),
        format!(r#"{{"body":"{}"}}"#, "a".repeat(4001)),
    ]
}

/// The status and `code` the entry point predicts: 200 when it accepts the body.
fn predicted(result: Result<(), (u16, Box<guest_chat_model::ErrorBody>)>) -> (u16, Option<String>) {
    match result {
        Ok(()) => (200, None),
        Err((status, body)) => (status, body.code),
    }
}

async fn answered(resp: reqwest::Response) -> (u16, Option<String>) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("a JSON answer");
    let code = (status != 200).then(|| body["code"].as_str().map(str::to_owned));
    (status, code.flatten())
}

/// `POST` the raw JSON `body` to `url` (with `jwt` as the bearer when given); the answer.
async fn post_body(
    http: &reqwest::Client,
    url: &str,
    jwt: Option<&str>,
    body: &str,
) -> reqwest::Response {
    let mut r = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(jwt) = jwt {
        r = r.bearer_auth(jwt);
    }
    r.send().await.expect("answered")
}

#[tokio::test]
async fn the_body_checks_answer_like_the_server() {
    let emu = Emulator::builder()
        .rate_limit(100_000, Duration::from_secs(60))
        .activate_without_stream(true)
        .start()
        .await
        .expect("emulator");
    let http = reqwest::Client::new();
    let create_url = format!("{}/api/v2/webchat/guest/conversations", emu.base_url());

    for body in create_bodies() {
        let resp = post_body(&http, &create_url, None, &body).await;
        assert_eq!(
            answered(resp).await,
            predicted(check_create_body(body.as_bytes())),
            "create body {body:?}"
        );
    }

    let created: Value = post_body(&http, &create_url, None, CREATE_OK)
        .await
        .json()
        .await
        .expect("create JSON");
    let (cid, mid, jwt) = (
        created["id"].as_str().expect("id"),
        created["member"]["id"].as_str().expect("member id"),
        created["jwt"].as_str().expect("jwt"),
    );
    let message_url = format!("{create_url}/{cid}/members/{mid}/messages");
    for body in message_bodies() {
        let resp = post_body(&http, &message_url, Some(jwt), &body).await;
        assert_eq!(
            answered(resp).await,
            predicted(check_message_body(body.as_bytes())),
            "message body {body:?}"
        );
    }
    emu.shutdown().await;
}

#[test]
fn the_fuzz_seeds_get_the_expected_verdicts() {
    let seeds = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/seeds");
    for name in ["minimal.json", "journey.json"] {
        let body = std::fs::read(format!("{seeds}/emulator_create/{name}")).expect("seed");
        assert_eq!(check_create_body(&body).map_err(|e| e.0), Ok(()), "{name}");
    }
    for (name, want) in [
        ("standard.json", Ok(())),
        ("notice.json", Ok(())),
        ("join.json", Err(400)),
    ] {
        let body = std::fs::read(format!("{seeds}/emulator_message/{name}")).expect("seed");
        assert_eq!(check_message_body(&body).map_err(|e| e.0), want, "{name}");
    }
}
