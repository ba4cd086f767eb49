//! Every operation and every error class against the in-process emulator.

use guest_chat_emulator::{Emulator, EmulatorBuilder, EmulatorHandle, Faults};
use purecloud_guest_chat_client::*;
use std::time::{Duration, Instant};

struct Chat {
    emu: EmulatorHandle,
    client: ApiClient,
    api: WebChatApi,
    cid: String,
    mid: String,
    jwt: String,
}

fn client_for(emu: &EmulatorHandle) -> ApiClient {
    direct_builder(emu).build().expect("client")
}

/// A builder for the emulator, with no config file and no proxy.
fn direct_builder(emu: &EmulatorHandle) -> ApiClientBuilder {
    ApiClient::builder()
        .environment(emu.base_url())
        .no_config_file()
        .no_proxy()
}

/// A client with the chat's JWT that gives up after `timeout` and never retries.
fn quick_client(c: &Chat, timeout: Duration) -> ApiClient {
    direct_builder(&c.emu)
        .timeout(timeout)
        .retry(RetryPolicy::none())
        .jwt(c.jwt.clone())
        .build()
        .unwrap()
}

/// Faults on the emulator: every answer after `ms` milliseconds.
fn slow(ms: u64) -> Faults {
    Faults {
        latency_ms: ms,
        ..Faults::default()
    }
}

/// Faults on the emulator: every success answered with a body that is not JSON.
fn non_json() -> Faults {
    Faults {
        non_json_rate: 1.0,
        ..Faults::default()
    }
}

/// Faults on the emulator: every call answered 503.
fn failing() -> Faults {
    Faults {
        error_rate: 1.0,
        ..Faults::default()
    }
}

impl Chat {
    fn set_faults(&self, faults: Faults) {
        self.emu.set_faults(faults).unwrap();
    }

    /// Faults off again, then the emulator stopped.
    async fn clear_faults_and_shut_down(self) {
        self.set_faults(Faults::default());
        self.emu.shutdown().await;
    }

    /// The chat's own member, fetched with its API (the call most fault tests make).
    async fn get_own_member(&self, api: &WebChatApi) -> Result<WebChatMemberInfo, Error> {
        api.get_webchat_guest_conversation_member(&self.cid, &self.mid)
            .await
    }
}

fn create_request() -> CreateWebChatConversationRequest {
    CreateWebChatConversationRequest::new("org-1", "dep-1", "Sales", "Ada")
}

/// An emulator (routing without a stream so REST sends work) and a chat on it.
async fn chat_with(builder: EmulatorBuilder) -> Chat {
    let emu = builder
        .activate_without_stream(true)
        .agent_delay(Duration::from_millis(10))
        .start()
        .await
        .expect("emulator");
    let base = client_for(&emu);
    let created = WebChatApi::new(&base)
        .post_webchat_guest_conversations(&create_request())
        .await
        .expect("create");
    let jwt = created.jwt.clone().expect("jwt");
    let client = base.with_jwt(jwt.clone());
    Chat {
        api: WebChatApi::new(&client),
        client,
        cid: created.id.expect("id"),
        mid: created.member.and_then(|m| m.id).expect("member id"),
        jwt,
        emu,
    }
}

async fn chat() -> Chat {
    chat_with(Emulator::builder()).await
}

fn api_err(e: &Error) -> &ApiError {
    e.as_api()
        .unwrap_or_else(|| panic!("expected an API error, got {e:?}"))
}

/// A manual-agent emulator routing without a stream, and a chat created on it over the
/// plain API (the create answer checked); returns the emulator, an API with the chat's JWT,
/// and the conversation and member ids.
async fn created() -> (EmulatorHandle, WebChatApi, String, String) {
    let emu = Emulator::builder()
        .activate_without_stream(true)
        .agent(guest_chat_emulator::AgentMode::Manual)
        .start()
        .await
        .unwrap();
    let base = client_for(&emu);
    let created = WebChatApi::new(&base)
        .post_webchat_guest_conversations_with_http_info(&create_request())
        .await
        .unwrap();
    assert_eq!(created.status, 200);
    assert_eq!(created.status_text, "OK");
    assert!(created.correlation_id().is_some(), "{:?}", created.headers);
    assert!(created.text.contains("\"jwt\""));
    let cid = created.body.id.clone().unwrap();
    let mid = created.body.member.clone().unwrap().id.unwrap();
    assert!(created.body.event_stream_uri.is_some());
    // create never sends a JWT; the base client has none and create still works
    assert!(base.jwt().is_none());

    let client = base.with_jwt(created.body.jwt.clone().unwrap());
    let api = WebChatApi::new(&client);

    (emu, api, cid, mid)
}

#[tokio::test]
async fn every_member_operation_succeeds() {
    let (emu, api, cid, mid) = created().await;
    let members = api
        .get_webchat_guest_conversation_members(&cid, &GetMembersOptions::default())
        .await
        .unwrap();
    let entities = members.entities.unwrap();
    assert!(entities.iter().any(|m| m.id.as_deref() == Some(&mid)));
    let page = api
        .get_webchat_guest_conversation_members_with_http_info(
            &cid,
            &GetMembersOptions::new()
                .page_size(1)
                .page_number(1)
                .exclude_disconnected_members(false),
        )
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(page.body.page_size, Some(1));
    assert!(page.headers.contains_key("inin-ratelimit-count"));

    let me = api
        .get_webchat_guest_conversation_member(&cid, &mid)
        .await
        .unwrap();
    assert_eq!(me.role, Some(Role::Customer));

    emu.shutdown().await;
}

#[tokio::test]
async fn every_message_operation_succeeds() {
    let (emu, api, cid, mid) = created().await;
    let sent = api
        .post_webchat_guest_conversation_member_messages_with_http_info(
            &cid,
            &mid,
            &CreateWebChatMessageRequest::new("hello émoji 😀"),
        )
        .await
        .unwrap();
    assert_eq!(sent.status, 200);
    assert_eq!(sent.body.body.as_deref(), Some("hello émoji 😀"));
    let msg_id = sent.body.id.clone().unwrap();

    let typing = api
        .post_webchat_guest_conversation_member_typing(&cid, &mid)
        .await
        .unwrap();
    assert!(typing.id.is_some());

    let history = api
        .get_webchat_guest_conversation_messages(
            &cid,
            &GetMessagesOptions::new()
                .sort_order(SortOrder::Descending)
                .max_results(10),
        )
        .await
        .unwrap();
    assert!(history
        .entities
        .unwrap()
        .iter()
        .any(|m| m.id.as_deref() == Some(&msg_id)));

    let one = api
        .get_webchat_guest_conversation_message(&cid, &msg_id)
        .await
        .unwrap();
    assert_eq!(one.body.as_deref(), Some("hello émoji 😀"));

    emu.shutdown().await;
}

#[tokio::test]
async fn every_media_request_operation_and_leaving_succeed() {
    let (emu, api, cid, mid) = created().await;
    let pushed = emu
        .push_media_request(&cid, vec![MediaRequestType::Cobrowse])
        .unwrap();
    let rid = pushed.id.clone().unwrap();
    let list = api
        .get_webchat_guest_conversation_mediarequests(&cid)
        .await
        .unwrap();
    assert!(list
        .entities
        .unwrap()
        .iter()
        .any(|r| r.id.as_deref() == Some(&rid)));
    let got = api
        .get_webchat_guest_conversation_mediarequest(&cid, &rid)
        .await
        .unwrap();
    assert_eq!(got.state, Some(MediaRequestState::Pending));
    let patched = api
        .patch_webchat_guest_conversation_mediarequest(
            &cid,
            &rid,
            &WebChatGuestMediaRequest::answer(
                vec![MediaRequestType::Cobrowse],
                MediaRequestState::Accepted,
            ),
        )
        .await
        .unwrap();
    assert_eq!(patched.state, Some(MediaRequestState::Accepted));

    let left = api
        .delete_webchat_guest_conversation_member_with_http_info(&cid, &mid)
        .await
        .unwrap();
    assert_eq!(left.status, 204);
    assert_eq!(left.body, ());
    emu.shutdown().await;
}

#[tokio::test]
async fn unauthorised_forbidden_and_expired() {
    let c = chat().await;
    // 401 bad credentials
    let bad = c.client.with_jwt("not-a-jwt");
    let e = WebChatApi::new(&bad)
        .get_webchat_guest_conversation_member(&c.cid, &c.mid)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert_eq!(e.error_code(), Some("bad.credentials"));
    assert!(!e.is_retryable());

    // 401 expired
    let expired = c.emu.mint_jwt(&c.cid, -60).unwrap();
    let e = WebChatApi::new(&c.client.with_jwt(expired))
        .get_webchat_guest_conversation_members(&c.cid, &GetMembersOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert_eq!(e.error_code(), Some("credentials.expired"));

    // 403: another conversation's JWT
    let other = WebChatApi::new(&client_for(&c.emu))
        .post_webchat_guest_conversations(&create_request())
        .await
        .unwrap();
    let e = WebChatApi::new(&c.client.with_jwt(other.jwt.unwrap()))
        .get_webchat_guest_conversation_messages(&c.cid, &GetMessagesOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403));
    let a = api_err(&e);
    assert_eq!(a.status_text, "Forbidden");
    assert!(a.body.is_some());
    c.emu.shutdown().await;
}

#[tokio::test]
async fn not_found_errors_keep_everything() {
    let c = chat().await;
    let e = c
        .api
        .get_webchat_guest_conversation_member(&c.cid, "00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    let a = api_err(&e);
    assert_eq!(a.status, 404);
    assert_eq!(a.status_text, "Not Found");
    assert_eq!(e.error_code(), Some("chat.error.not.found"));
    let cid = e.correlation_id().expect("correlation id").to_owned();
    assert_eq!(
        a.headers
            .get("ININ-Correlation-Id")
            .and_then(|v| v.to_str().ok()),
        Some(cid.as_str())
    );
    assert!(a.text.contains("chat.error.not.found"));
    let shown = e.to_string();
    assert!(
        shown.starts_with("HTTP 404 Not Found: chat.error.not.found: "),
        "{shown}"
    );
    assert!(
        shown.ends_with(&format!("(correlation id {cid})")),
        "{shown}"
    );
    assert!(!shown.contains('\n'));

    for e in [
        c.api
            .get_webchat_guest_conversation_message(&c.cid, "nope")
            .await
            .unwrap_err(),
        c.api
            .get_webchat_guest_conversation_mediarequest(&c.cid, "nope")
            .await
            .unwrap_err(),
    ] {
        assert_eq!(e.status(), Some(404), "{e}");
        assert_eq!(e.error_code(), Some("chat.error.not.found"), "{e}");
    }
    c.emu.shutdown().await;
}

#[tokio::test]
async fn validation_and_size_errors() {
    let c = chat_with(Emulator::builder().max_request_bytes(512)).await;
    let e = c
        .api
        .get_webchat_guest_conversation_messages(
            &c.cid,
            &GetMessagesOptions::new().max_results(500),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert_eq!(e.error_code(), Some("constraint.validation"));

    let e = WebChatApi::new(&client_for(&c.emu))
        .post_webchat_guest_conversations(&CreateWebChatConversationRequest {
            member_info: None,
            ..create_request()
        })
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
    assert!(
        e.error_code().is_some_and(|c| c.contains("displayname")),
        "{e}"
    );

    // within 4000 characters, over the emulator's 512-byte limit: 413
    let e = c
        .api
        .post_webchat_guest_conversation_member_messages(
            &c.cid,
            &c.mid,
            &CreateWebChatMessageRequest::new("x".repeat(1000)),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(413), "{e}");
    assert_eq!(e.error_code(), Some("request.entity.too.large"));
    c.emu.shutdown().await;
}

#[tokio::test]
async fn unsupported_media_type_via_raw_request() {
    // The SDK always sends application/json, so 415 needs a raw request.
    let c = chat().await;
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!(
            "{}/api/v2/webchat/guest/conversations/{}/members/{}/messages",
            c.emu.base_url(),
            c.cid,
            c.mid
        ))
        .header("Authorization", format!("Bearer {}", c.jwt))
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let e = ApiError::from_response(resp.status(), headers, &resp.bytes().await.unwrap());
    assert_eq!(status, 415);
    assert_eq!(e.code(), Some("unsupported.media.type"));
    c.emu.shutdown().await;
}

/// The number of JWT requests the emulator has counted in the current window.
async fn counted(c: &Chat) -> u32 {
    let r = c
        .api
        .get_webchat_guest_conversation_mediarequests_with_http_info(&c.cid)
        .await
        .unwrap();
    r.headers["inin-ratelimit-count"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[allow(
    clippy::too_many_lines,
    reason = "one check per argument the SDK refuses, each as long as the last"
)]
#[tokio::test]
async fn local_rejections_send_nothing() {
    let c = chat_with(Emulator::builder().rate_limit(1000, Duration::from_secs(600))).await;
    let before = counted(&c).await;
    let long = CreateWebChatMessageRequest::new("é".repeat(MAX_MESSAGE_CHARS + 1));
    let cases: Vec<(Error, &str)> = vec![
        (
            c.api
                .get_webchat_guest_conversation_member(&c.cid, "")
                .await
                .unwrap_err(),
            "memberId",
        ),
        (
            c.api
                .get_webchat_guest_conversation_member("..", &c.mid)
                .await
                .unwrap_err(),
            "conversationId",
        ),
        (
            c.api
                .get_webchat_guest_conversation_message(&c.cid, ".")
                .await
                .unwrap_err(),
            "messageId",
        ),
        (
            c.api
                .patch_webchat_guest_conversation_mediarequest(
                    &c.cid,
                    "..",
                    &WebChatGuestMediaRequest::default(),
                )
                .await
                .unwrap_err(),
            "mediaRequestId",
        ),
        (
            c.api
                .post_webchat_guest_conversation_member_messages(&c.cid, &c.mid, &long)
                .await
                .unwrap_err(),
            "body",
        ),
        (
            c.api
                .post_webchat_guest_conversation_member_messages(
                    &c.cid,
                    &c.mid,
                    &CreateWebChatMessageRequest::default(),
                )
                .await
                .unwrap_err(),
            "body",
        ),
    ];
    for (e, want) in cases {
        match e {
            Error::InvalidArgument { name, .. } => assert_eq!(name, want),
            other => panic!("{want}: {other:?}"),
        }
    }
    // exactly 4000 characters is fine
    c.api
        .post_webchat_guest_conversation_member_messages(
            &c.cid,
            &c.mid,
            &CreateWebChatMessageRequest::new("é".repeat(MAX_MESSAGE_CHARS)),
        )
        .await
        .expect("4000 characters are accepted");

    let no_jwt = ApiClient::builder()
        .environment(c.emu.base_url())
        .no_config_file()
        .no_proxy()
        .build()
        .unwrap();
    let e = WebChatApi::new(&no_jwt)
        .post_webchat_guest_conversation_member_typing(&c.cid, &c.mid)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::MissingJwt {
                operation: "postWebchatGuestConversationMemberTyping"
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("set_jwt"));

    // only the accepted message and the two counting calls reached the emulator
    assert_eq!(counted(&c).await, before + 2);
    c.emu.shutdown().await;
}

#[tokio::test]
async fn ids_are_percent_encoded_into_one_segment() {
    let c = chat().await;
    for id in ["a b/c?d#e", "ü€😀", "x%2Fy", "it's", "semi;colon:at@"] {
        let e = c
            .api
            .get_webchat_guest_conversation_member(&c.cid, id)
            .await
            .unwrap_err();
        // the handler's 404, not the router's `not.found`: the id stayed one segment
        assert_eq!(e.error_code(), Some("chat.error.not.found"), "{id}: {e}");
    }
    c.emu.shutdown().await;
}

#[tokio::test]
async fn rate_limit_is_retried_after_retry_after() {
    let c = chat_with(Emulator::builder().rate_limit(2, Duration::from_secs(1))).await;
    let strict = WebChatApi::new(&c.client.with_jwt(c.jwt.clone()));
    let start = Instant::now();
    for _ in 0..2 {
        c.api
            .get_webchat_guest_conversation_mediarequests(&c.cid)
            .await
            .unwrap();
    }
    // third call in the window: 429, retried after Retry-After, succeeds
    let r = c
        .api
        .post_webchat_guest_conversation_member_messages_with_http_info(
            &c.cid,
            &c.mid,
            &CreateWebChatMessageRequest::new("third"),
        )
        .await
        .expect("retried after the window");
    assert_eq!(r.status, 200);
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(r.headers["inin-ratelimit-count"], "1");

    // without retries: the 429 comes back with retry_after
    let none = ApiClient::builder()
        .environment(c.emu.base_url())
        .no_config_file()
        .no_proxy()
        .retry(RetryPolicy::none())
        .jwt(c.jwt.clone())
        .build()
        .unwrap();
    drop(strict);
    let api = WebChatApi::new(&none);
    let mut last = None;
    for _ in 0..3 {
        if let Err(e) = api
            .get_webchat_guest_conversation_mediarequests(&c.cid)
            .await
        {
            last = Some(e);
            break;
        }
    }
    let e = last.expect("a 429 within three calls");
    assert_eq!(e.status(), Some(429));
    assert!(e.is_retryable());
    assert_eq!(e.error_code(), Some("too.many.requests.retry.after"));
    let wait = e.retry_after().expect("retry_after");
    assert!(
        wait >= Duration::from_secs(1) && wait <= Duration::from_secs(1),
        "{wait:?}"
    );

    // a server asking for longer than max_retry_after is not waited for
    let impatient = ApiClient::builder()
        .environment(c.emu.base_url())
        .no_config_file()
        .no_proxy()
        .retry(RetryPolicy::default().max_retry_after(Duration::from_millis(10)))
        .jwt(c.jwt.clone())
        .build()
        .unwrap();
    let api = WebChatApi::new(&impatient);
    let t = Instant::now();
    let mut got429 = false;
    for _ in 0..3 {
        if let Err(e) = api
            .get_webchat_guest_conversation_mediarequests(&c.cid)
            .await
        {
            assert_eq!(e.status(), Some(429));
            got429 = true;
            break;
        }
    }
    assert!(got429);
    assert!(t.elapsed() < Duration::from_millis(900));
    c.emu.shutdown().await;
}

#[tokio::test]
async fn client_timeout_is_reported() {
    let c = chat().await;
    let quick = quick_client(&c, Duration::from_millis(150));
    let e = timed_out_against_a_slow_service(&c, &quick).await;
    assert!(e.is_retryable());
    assert!(e.status().is_none());
    c.clear_faults_and_shut_down().await;
}

/// A call of `client` while the emulator answers after 5 s: it times out, well before that
/// (a wide margin for a loaded machine).
async fn timed_out_against_a_slow_service(c: &Chat, client: &ApiClient) -> Error {
    c.set_faults(slow(5000));
    let t = Instant::now();
    let e = c
        .get_own_member(&WebChatApi::new(client))
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    e
}

#[tokio::test]
async fn non_json_success_is_a_decode_error() {
    let c = chat().await;
    c.set_faults(non_json());
    let e = c.get_own_member(&c.api).await.unwrap_err();
    match &e {
        Error::Decode { status, body, .. } => {
            assert_eq!(*status, 200);
            assert!(body.contains('<'), "{body}");
        }
        other => panic!("{other:?}"),
    }
    c.clear_faults_and_shut_down().await;
}

#[tokio::test]
async fn server_errors_are_retried_for_reads_only() {
    let c = chat().await;
    c.set_faults(failing());
    let fast = direct_builder(&c.emu)
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .jwt(c.jwt.clone())
        .build()
        .unwrap();
    let e = c.get_own_member(&WebChatApi::new(&fast)).await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(e.error_code(), Some("service.unavailable"));
    assert!(e.is_retryable());
    c.clear_faults_and_shut_down().await;
}

/// Errors the server side causes (API errors, a body that is not JSON, a timeout), each
/// with the chat's JWT at hand.
async fn server_errors(c: &Chat) -> Vec<Error> {
    let mut errors: Vec<Error> = Vec::new();
    // Api
    errors.push(
        c.api
            .get_webchat_guest_conversation_message(&c.cid, "nope")
            .await
            .unwrap_err(),
    );
    // Api 401 with the known JWT on a foreign conversation
    errors.push(
        c.api
            .get_webchat_guest_conversation_members("other", &GetMembersOptions::default())
            .await
            .unwrap_err(),
    );
    // Decode
    c.set_faults(non_json());
    errors.push(c.get_own_member(&c.api).await.unwrap_err());
    // Timeout
    c.set_faults(slow(1000));
    let quick = quick_client(c, Duration::from_millis(100));
    errors.push(
        c.get_own_member(&WebChatApi::new(&quick))
            .await
            .unwrap_err(),
    );
    c.set_faults(Faults::default());
    errors
}

/// Errors raised on the client side (no connection, bad arguments, no JWT), the JWT in
/// their inputs where it can be.
async fn client_errors(c: &Chat) -> Vec<Error> {
    let jwt = c.jwt.clone();
    let mut errors: Vec<Error> = Vec::new();
    // Connect: a closed port, the JWT in the path as well
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = ApiClient::builder()
        .environment(format!("http://127.0.0.1:{port}"))
        .no_config_file()
        .no_proxy()
        .retry(RetryPolicy::none())
        .jwt(jwt.clone())
        .build()
        .unwrap();
    errors.push(
        WebChatApi::new(&closed)
            .get_webchat_guest_conversation_member(&c.cid, &jwt)
            .await
            .unwrap_err(),
    );
    // InvalidArgument, InvalidEnvironment, MissingJwt
    errors.push(
        c.api
            .get_webchat_guest_conversation_member(&c.cid, "")
            .await
            .unwrap_err(),
    );
    errors.push(
        c.client
            .set_environment(format!("ftp://{jwt}"))
            .unwrap_err(),
    );
    errors.push(
        WebChatApi::new(&client_for(&c.emu))
            .get_webchat_guest_conversation_mediarequests(&c.cid)
            .await
            .unwrap_err(),
    );
    errors
}

#[tokio::test]
async fn no_jwt_in_any_error_display_or_debug() {
    let c = chat().await;
    let jwt = c.jwt.clone();
    assert!(jwt.starts_with("eyJ"));
    let mut errors = server_errors(&c).await;
    errors.extend(client_errors(&c).await);
    let kinds: Vec<&str> = errors
        .iter()
        .map(|e| match e {
            Error::Api(_) => "api",
            Error::Decode { .. } => "decode",
            Error::Timeout(_) => "timeout",
            Error::Connect(_) => "connect",
            Error::InvalidArgument { .. } => "invalid",
            Error::InvalidEnvironment(_) => "env",
            Error::MissingJwt { .. } => "missing",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["api", "api", "decode", "timeout", "connect", "invalid", "env", "missing"]
    );
    for e in &errors {
        for text in [format!("{e}"), format!("{e:?}")] {
            assert!(!text.contains(&jwt), "JWT leaked: {text}");
        }
    }
    c.emu.shutdown().await;
}

#[tokio::test]
async fn no_jwt_in_the_create_answer_or_client_debug() {
    let c = chat().await;
    let jwt = c.jwt.clone();
    // The create response (JWT in `jwt` and `eventStreamUri`) and the clients
    let created = WebChatApi::new(&client_for(&c.emu))
        .post_webchat_guest_conversations_with_http_info(&create_request())
        .await
        .unwrap();
    let other_jwt = created.body.jwt.clone().unwrap();
    let dbg = format!("{created:?}");
    assert!(!dbg.contains(&other_jwt), "{dbg}");
    for text in [
        format!("{:?}", c.client),
        format!("{:?}", c.api),
        format!("{:?}", c.client.jwt()),
    ] {
        assert!(!text.contains(&jwt), "{text}");
    }
    // the JWT is nevertheless what was sent
    assert_eq!(c.client.jwt().unwrap().expose(), jwt);
    c.emu.shutdown().await;
}

/// The service counts a body's length in UTF-16 code units (it is written in Java): 2,000
/// astral-plane emoji are 4,000 units and pass, 2,001 are 4,002 and are refused, by the SDK
/// before sending and by the emulator when a raw request bypasses the SDK.
#[tokio::test]
async fn message_length_counts_utf16_code_units() {
    let c = chat().await;
    let fits = "😀".repeat(MAX_MESSAGE_CHARS / 2);
    let over = "😀".repeat(MAX_MESSAGE_CHARS / 2 + 1);
    assert_eq!(message_length(&over), MAX_MESSAGE_CHARS + 2);

    let e = c
        .api
        .post_webchat_guest_conversation_member_messages(
            &c.cid,
            &c.mid,
            &CreateWebChatMessageRequest::new(over.clone()),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument { name: "body", .. }),
        "{e:?}"
    );
    let sent = c
        .api
        .post_webchat_guest_conversation_member_messages(
            &c.cid,
            &c.mid,
            &CreateWebChatMessageRequest::new(fits.clone()),
        )
        .await
        .expect("2,000 emoji (4,000 UTF-16 code units) are accepted");
    assert_eq!(sent.body.as_deref(), Some(fits.as_str()));

    let raw = |text: &str| {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(format!(
                "{}/api/v2/webchat/guest/conversations/{}/members/{}/messages",
                c.emu.base_url(),
                c.cid,
                c.mid
            ))
            .header("Authorization", format!("Bearer {}", c.jwt))
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(&CreateWebChatMessageRequest::new(text)).unwrap())
            .send()
    };
    let resp = raw(&over).await.unwrap();
    assert_eq!(
        resp.status().as_u16(),
        400,
        "the emulator refuses 2,001 emoji"
    );
    let e = ApiError::from_response(
        resp.status(),
        resp.headers().clone(),
        &resp.bytes().await.unwrap(),
    );
    assert_eq!(e.code(), Some("constraint.validation"));
    let resp = raw(&fits).await.unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "the emulator accepts 2,000 emoji"
    );
    c.emu.shutdown().await;
}

/// `ApiClientBuilder::http_client`: REST goes through the caller's own `reqwest::Client`.
/// The builder names a proxy nobody listens on; only the caller's client (no proxy) can
/// reach the emulator, so the call succeeds only if that client carries it.
#[tokio::test]
async fn a_callers_own_reqwest_client_carries_the_rest_calls() {
    let emu = Emulator::builder().start().await.expect("emulator");
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let own = reqwest::Client::builder().no_proxy().build().unwrap();
    let client = ApiClient::builder()
        .environment(emu.base_url())
        .no_config_file()
        .proxy(format!("http://127.0.0.1:{dead_port}"))
        .retry(RetryPolicy::none())
        .http_client(own)
        .build()
        .expect("client");
    let created = WebChatApi::new(&client)
        .post_webchat_guest_conversations(&create_request())
        .await;
    assert!(created.is_ok(), "{created:?}");
}

/// The whole-call timeout reaches a caller's own `reqwest::Client` (which has none): the SDK
/// sets it per call there, while a client it built carries it itself.
#[tokio::test]
async fn a_callers_own_reqwest_client_still_gets_the_timeout() {
    let c = chat().await;
    let own = reqwest::Client::builder().no_proxy().build().unwrap();
    let quick = ApiClient::builder()
        .environment(c.emu.base_url())
        .no_config_file()
        .timeout(Duration::from_millis(150))
        .retry(RetryPolicy::none())
        .http_client(own)
        .jwt(c.jwt.clone())
        .build()
        .unwrap();
    timed_out_against_a_slow_service(&c, &quick).await;
    c.clear_faults_and_shut_down().await;
}

/// The `Authorization` value is made once per JWT: a new JWT is sent from the next call on,
/// and a JWT no header can carry is refused before anything is sent.
#[tokio::test]
async fn a_new_jwt_is_sent_from_the_next_call_on() {
    let c = chat().await;
    let get = || c.api.get_webchat_guest_conversation_member(&c.cid, &c.mid);
    get().await.expect("the chat's own JWT");
    c.client.set_jwt("not.the.chats");
    let e = get().await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e:?}");
    c.client.set_jwt("bad\ntoken");
    match get().await.unwrap_err() {
        Error::InvalidArgument { name, .. } => assert_eq!(name, "jwt"),
        other => panic!("{other:?}"),
    }
    c.client.set_jwt(c.jwt.clone());
    get().await.expect("the chat's JWT again");
    c.emu.shutdown().await;
}
