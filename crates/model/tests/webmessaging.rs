//! Web Messaging wire models: the frames of the protocol notes decode to the right variants,
//! requests serialise to the wire shape and round-trip losslessly, secrets stay out of `Debug`,
//! and property tests: any JSON object is a typed [`ServerFrame`] or `Unknown`, never an error
//! or a panic; any request that decodes serialises back unchanged.

use guest_chat_model::webmessaging::*;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Server frames as the protocol sources show them (shapes only; ids shortened).
const SESSION_NEW: &str = r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":true}}"#;
const SESSION_RICH: &str = r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":false,"readOnly":false,"maxCustomDataBytes":100,"allowedMedia":{"inbound":{"fileTypes":[{"type":"*/*"}],"maxFileSizeKB":10240}},"blockedExtensions":[".ade"],"clearedExistingSession":false}}"#;
const INBOUND_ECHO: &str = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"text":"hi","direction":"Inbound","id":"m1","channel":{"time":"2023-01-01T00:00:00.000Z","messageId":"m1"},"type":"Text","metadata":{"correlationId":"c1"}}}"#;
const BOT_TEXT: &str = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"text":"How can I help?","direction":"Outbound","id":"m2","channel":{"time":"2023-01-01T00:00:01.000Z","type":"Private"},"type":"Text","originatingEntity":"Bot","metadata":{"correlationId":"c2"}}}"#;
const QUICK_REPLIES: &str = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"direction":"Outbound","id":"msg_id","channel":{"time":"2023-01-01T00:00:02.000Z","type":"Private"},"type":"Structured","text":"Hi","content":[{"contentType":"QuickReply","quickReply":{"text":"text_a","payload":"payload_a","action":"action_a"}}],"originatingEntity":"Bot"}}"#;
const AGENT_TYPING: &str = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"direction":"Outbound","id":"m3","channel":{"time":"2023-01-01T00:00:03.000Z"},"type":"Event","events":[{"eventType":"Typing","typing":{"type":"On","duration":5000}}]}}"#;
const DISCONNECT: &str = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"direction":"Outbound","id":"m4","channel":{"time":"2023-01-01T00:00:04.000Z"},"type":"Event","events":[{"eventType":"Presence","presence":{"type":"Disconnect"}}]}}"#;
const CLEARED: &str = r#"{"type":"message","class":"SessionClearedEvent","code":200,"body":{}}"#;
const ECHO_REPLY: &str = r#"{"type":"response","class":"StructuredMessage","code":200,"body":{"text":"ping","type":"Text","direction":"Inbound","id":"echo_id"},"tracingId":"SGVhbHRoQ2hlY2tNZXNzYWdlSWQ="}"#;
const JWT: &str = r#"{"type":"response","class":"JwtResponse","code":200,"body":{"jwt":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln","exp":1623675564}}"#;
const TOO_MANY: &str = r#"{"type":"response","class":"TooManyRequestsErrorMessage","code":429,"body":{"retryAfter":3,"errorCode":4029,"errorMessage":"Message rate too high for this session"}}"#;
const ERROR: &str =
    r#"{"type":"response","class":"string","code":4007,"body":"session not found error message"}"#;
const EXPIRED: &str = r#"{"type":"response","class":"SessionExpiredEvent","code":200,"body":{}}"#;
const CLOSED: &str =
    r#"{"type":"message","class":"ConnectionClosedEvent","code":200,"body":{"reason":"signedIn"}}"#;
const PRESIGNED: &str = r#"{"type":"response","class":"PresignedUrlResponse","code":200,"body":{"attachmentId":"a1","headers":{"x-amz-tagging":"t"},"url":"https://uploads.invalid/foo.png"}}"#;
const UPLOADED: &str = r#"{"type":"message","class":"UploadSuccessEvent","code":200,"body":{"attachmentId":"a1","downloadUrl":"https://d.invalid/a1","timestamp":"2021-04-21T14:03:09.581Z"}}"#;

/// Requests as the protocol sources show them.
const REQUESTS: &[&str] = &[
    r#"{"token":"t-1","deploymentId":"dep","startNew":false,"journeyContext":{"customer":{"id":"c","idType":"cookie"},"customerSession":{"id":"","type":"web"}},"tracingId":"tr","action":"configureSession"}"#,
    r#"{"action":"configureSession","deploymentId":"dep","token":"t-1"}"#,
    r#"{"action":"configureAuthenticatedSession","deploymentId":"dep","token":"t-1","data":{"code":"eyJ.x.y"}}"#,
    r#"{"token":"t-1","message":{"text":"Hello world","type":"Text"},"tracingId":"tr","action":"onMessage"}"#,
    r#"{"token":"t-1","action":"onMessage","message":{"type":"Text","text":"","content":[{"contentType":"ButtonResponse","buttonResponse":{"text":"text_a","payload":"payload_a","type":"QuickReply"}}]}}"#,
    r#"{"token":"t-1","action":"onMessage","message":{"type":"Event","events":[{"eventType":"Typing","typing":{"type":"On"}}]}}"#,
    r#"{"token":"t-1","action":"onMessage","message":{"events":[{"eventType":"Presence","presence":{"type":"Join"}}],"channel":{"metadata":{"customAttributes":{"A":"B"}}},"type":"Event"}}"#,
    r#"{"action":"onMessage","token":"t-1","tracingId":"tr","message":{"type":"Event","events":[{"eventType":"Presence","presence":{"type":"Clear"}}]}}"#,
    r#"{"action":"onMessage","token":"t-1","time":"2023-01-01T00:00:00Z","channel":{"metadata":{"customAttributes":{"k":"v"}}},"message":{"type":"Text","text":"x","metadata":{"m":"1"}}}"#,
    r#"{"token":"t-1","tracingId":"SGVhbHRoQ2hlY2tNZXNzYWdlSWQ=","action":"echo","message":{"text":"ping","type":"Text"}}"#,
    r#"{"token":"t-1","action":"getJwt"}"#,
    r#"{"token":"t-1","attachmentId":"a1","fileName":"foo.png","fileType":"image/png","fileSize":424242,"errorsAsJson":true,"action":"onAttachment"}"#,
    r#"{"token":"t-1","attachmentId":"a1","action":"getAttachment"}"#,
    r#"{"token":"t-1","attachmentId":"a1","action":"deleteAttachment"}"#,
    r#"{"token":"t-1","closeAllConnections":true,"action":"closeSession"}"#,
    r#"{"token":"t-1","deploymentId":"dep","action":"getConfiguration"}"#,
];

fn frame(text: &str) -> ServerFrame {
    serde_json::from_str(text).expect("a JSON object decodes")
}

#[allow(
    clippy::too_many_lines,
    reason = "a table of frames and the variant each decodes to"
)]
#[test]
fn protocol_frames_decode_to_their_variants() {
    let ServerFrame::SessionResponse(s) = frame(SESSION_NEW) else {
        panic!()
    };
    assert!(s.body.connected);
    assert_eq!(s.body.new_session, Some(true));
    assert_eq!(s.kind, BaseMessageType::Response);

    let ServerFrame::SessionResponse(s) = frame(SESSION_RICH) else {
        panic!()
    };
    assert_eq!(s.body.new_session, Some(false));
    assert_eq!(
        s.body.allowed_media.unwrap().inbound.max_file_size_kb,
        10240.into()
    );

    let ServerFrame::Message(m) = frame(INBOUND_ECHO) else {
        panic!()
    };
    assert_eq!(m.body.direction, Some(Direction::Inbound));
    assert_eq!(m.body.text.as_deref(), Some("hi"));
    assert_eq!(m.body.metadata.unwrap()["correlationId"], "c1");

    let ServerFrame::Message(m) = frame(BOT_TEXT) else {
        panic!()
    };
    assert_eq!(m.body.originating_entity, Some(OriginatingEntity::Bot));
    assert_eq!(m.body.channel.unwrap().kind, Some(ChannelType::Private));

    let ServerFrame::Message(m) = frame(QUICK_REPLIES) else {
        panic!()
    };
    let content = m.body.content.unwrap();
    let [MessageContent::QuickReply(q)] = content.as_slice() else {
        panic!("{content:?}")
    };
    assert_eq!(
        (q.text.as_str(), q.payload.as_str()),
        ("text_a", "payload_a")
    );
    assert_eq!(q.action.as_deref(), Some("action_a"));

    let ServerFrame::Message(m) = frame(AGENT_TYPING) else {
        panic!()
    };
    let events = m.body.events.unwrap();
    let [MessageEvent::Typing(t)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(t.kind, EventTypingType::On);
    assert_eq!(
        t.duration.as_ref().and_then(serde_json::Number::as_u64),
        Some(5000)
    );

    let ServerFrame::Message(m) = frame(DISCONNECT) else {
        panic!()
    };
    let events = m.body.events.unwrap();
    let [MessageEvent::Presence(p)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(p.kind, EventPresenceType::Disconnect);

    assert!(matches!(frame(CLEARED), ServerFrame::SessionCleared(_)));
    let echo = frame(ECHO_REPLY);
    assert_eq!(echo.tracing_id(), Some(HEALTH_CHECK_TRACING_ID));
    assert!(matches!(echo, ServerFrame::Message(_)));

    let ServerFrame::Jwt(j) = frame(JWT) else {
        panic!()
    };
    assert!(j.body.jwt.expose().starts_with("eyJ"));
    assert_eq!(j.body.exp.as_u64(), Some(1623675564));

    let ServerFrame::TooManyRequests(t) = frame(TOO_MANY) else {
        panic!()
    };
    assert_eq!(
        (t.code, t.body.retry_after, t.body.error_code),
        (429, 3, 4029)
    );
    assert!(codes::is_message_level(t.body.error_code));

    let ServerFrame::Error(e) = frame(ERROR) else {
        panic!()
    };
    assert_eq!(e.code, codes::SESSION_NOT_FOUND);
    assert_eq!(e.body, "session not found error message");
    assert!(codes::is_session_fatal(e.code));

    assert!(matches!(frame(EXPIRED), ServerFrame::SessionExpired(_)));
    let ServerFrame::ConnectionClosed(c) = frame(CLOSED) else {
        panic!()
    };
    assert_eq!(c.body.reason.as_deref(), Some("signedIn"));
    let ServerFrame::PresignedUrl(p) = frame(PRESIGNED) else {
        panic!()
    };
    assert_eq!(p.body.headers["x-amz-tagging"], "t");
    assert!(matches!(frame(UPLOADED), ServerFrame::UploadSuccess(_)));
}

#[test]
fn typed_frames_serialise_back_to_the_same_json() {
    for text in [
        SESSION_NEW,
        SESSION_RICH,
        INBOUND_ECHO,
        BOT_TEXT,
        QUICK_REPLIES,
        AGENT_TYPING,
        DISCONNECT,
        CLEARED,
        ECHO_REPLY,
        JWT,
        TOO_MANY,
        ERROR,
        EXPIRED,
        CLOSED,
        PRESIGNED,
        UPLOADED,
    ] {
        let f = frame(text);
        assert!(!matches!(f, ServerFrame::Unknown { .. }), "{text} -> {f:?}");
        let original: Value = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_value(&f).unwrap(), original, "{text}");
    }
}

#[test]
fn unmodelled_classes_and_misfit_bodies_are_unknown_not_errors() {
    let f = frame(r#"{"type":"response","class":"GetConfigurationResponse","code":200,"body":{}}"#);
    let ServerFrame::Unknown { class, error, raw } = f else {
        panic!()
    };
    assert_eq!(class.as_deref(), Some("GetConfigurationResponse"));
    assert_eq!(error, None);
    assert_eq!(raw["code"], 200);

    // A known class whose body does not fit: Unknown with the reason.
    let f = frame(
        r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":"yes"}}"#,
    );
    let ServerFrame::Unknown { class, error, .. } = f else {
        panic!()
    };
    assert_eq!(class.as_deref(), Some("SessionResponse"));
    assert!(error.unwrap().contains("invalid type"));

    // Unknown content and event types are kept whole inside a typed message.
    let f = frame(
        r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"type":"Structured","direction":"Outbound","content":[{"contentType":"RichLink","richLink":{"text":"t","url":"u"}}],"events":[{"eventType":"CoBrowse","coBrowse":{"type":"Offering"}}]}}"#,
    );
    let ServerFrame::Message(m) = f else { panic!() };
    let content = m.body.content.unwrap();
    assert_eq!(content[0].content_type(), Some("RichLink"));
    assert!(matches!(content[0], MessageContent::Unknown(_)));
    assert_eq!(m.body.events.unwrap()[0].event_type(), Some("CoBrowse"));

    // Only non-objects are errors.
    for text in ["[]", "1", "\"x\"", "null", "{"] {
        assert!(serde_json::from_str::<ServerFrame>(text).is_err(), "{text}");
    }
}

#[test]
fn requests_round_trip_losslessly() {
    for text in REQUESTS {
        let original: Value = serde_json::from_str(text).unwrap();
        let req: ClientRequest =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(serde_json::to_value(&req).unwrap(), original, "{text}");
        assert_eq!(req.action(), original["action"]);
    }
    let quick: ClientRequest = serde_json::from_str(REQUESTS[4]).unwrap();
    let ClientRequest::OnMessage(m) = quick else {
        panic!()
    };
    assert!(matches!(
        m.message.content.as_deref(),
        Some([MessageContent::ButtonResponse(b)]) if b.kind == ButtonResponseType::QuickReply && b.payload == "payload_a"
    ));
}

#[test]
fn request_constructors_give_the_wire_shapes() {
    let v = |r: ClientRequest| serde_json::to_value(r).unwrap();
    assert_eq!(
        v(ClientRequest::configure_session("tok", "dep")),
        json!({"action":"configureSession","token":"tok","deploymentId":"dep"})
    );
    assert_eq!(
        v(ClientRequest::text("tok", "hello").with_tracing_id("tr")),
        json!({"action":"onMessage","token":"tok","tracingId":"tr","message":{"type":"Text","text":"hello"}})
    );
    assert_eq!(
        v(ClientRequest::typing("tok")),
        json!({"action":"onMessage","token":"tok","message":{"type":"Event","events":[{"eventType":"Typing","typing":{"type":"On"}}]}})
    );
    assert_eq!(
        v(ClientRequest::presence("tok", EventPresenceType::Clear)),
        json!({"action":"onMessage","token":"tok","message":{"type":"Event","events":[{"eventType":"Presence","presence":{"type":"Clear"}}]}})
    );
    assert_eq!(
        v(ClientRequest::on_message(
            "tok",
            IncomingNormalizedMessage::quick_reply_response("Yes", "yes")
        )),
        json!({"action":"onMessage","token":"tok","message":{"type":"Text","text":"","content":[{"contentType":"ButtonResponse","buttonResponse":{"type":"QuickReply","text":"Yes","payload":"yes"}}]}})
    );
    assert_eq!(
        v(ClientRequest::echo("tok")),
        json!({"action":"echo","token":"tok","tracingId":HEALTH_CHECK_TRACING_ID,"message":{"type":"Text","text":"ping"}})
    );
    assert_eq!(
        v(ClientRequest::get_jwt("tok")),
        json!({"action":"getJwt","token":"tok"})
    );
    assert_eq!(
        v(ClientRequest::close_session("tok", true)),
        json!({"action":"closeSession","token":"tok","closeAllConnections":true})
    );
}

#[test]
fn bad_requests_are_typed_errors() {
    for text in [
        r#"{"action":"refreshSession","token":"t"}"#,
        r#"{"token":"t"}"#,
        r#"{"action":"configureSession","token":"t"}"#,
        r#"{"action":"onMessage","token":"t","message":{"text":"no type"}}"#,
        r#"[1]"#,
    ] {
        assert!(
            serde_json::from_str::<ClientRequest>(text).is_err(),
            "{text}"
        );
    }
}

#[test]
fn secrets_stay_out_of_debug() {
    let req = ClientRequest::configure_session("a-very-secret-session-token", "dep");
    assert!(!format!("{req:?}").contains("a-very-secret"));
    let auth: ClientRequest = serde_json::from_str(REQUESTS[2]).unwrap();
    assert!(!format!("{auth:?}").contains("eyJ.x.y"));
    let jwt = frame(JWT);
    let dbg = format!("{jwt:?}");
    assert!(!dbg.contains("eyJhbGci"), "{dbg}");
    // Also when the frame does not fit and is kept raw.
    let bad = frame(
        r#"{"type":"response","class":"JwtResponse","code":200,"body":{"jwt":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln","exp":"soon"}}"#,
    );
    assert!(matches!(bad, ServerFrame::Unknown { .. }));
    assert!(!format!("{bad:?}").contains("eyJhbGci"));
}

// ---- property tests -------------------------------------------------------------------

const CLASSES: &[&str] = &[
    "SessionResponse",
    "StructuredMessage",
    "JwtResponse",
    "TooManyRequestsErrorMessage",
    "string",
    "SessionExpiredEvent",
    "ConnectionClosedEvent",
    "SessionClearedEvent",
    "LogoutEvent",
    "PresignedUrlResponse",
    "AttachmentDeletedResponse",
    "UploadSuccessEvent",
    "UploadFailureEvent",
    "GetConfigurationResponse",
    "Unknown",
    "Error",
    "x",
];

/// Field names of the schema, so random objects hit real fields.
const KEYS: &[&str] = &[
    "type",
    "class",
    "code",
    "body",
    "tracingId",
    "connected",
    "newSession",
    "readOnly",
    "text",
    "direction",
    "id",
    "channel",
    "time",
    "messageId",
    "content",
    "contentType",
    "quickReply",
    "payload",
    "events",
    "eventType",
    "typing",
    "presence",
    "duration",
    "metadata",
    "jwt",
    "exp",
    "retryAfter",
    "errorCode",
    "errorMessage",
    "reason",
    "attachmentId",
    "headers",
    "url",
    "originatingEntity",
    "buttonResponse",
    "card",
    "title",
    "actions",
    "x",
];

const STRINGS: &[&str] = &[
    "response",
    "message",
    "Text",
    "Structured",
    "Event",
    "Inbound",
    "Outbound",
    "On",
    "Join",
    "Disconnect",
    "Clear",
    "QuickReply",
    "Typing",
    "Presence",
    "Bot",
    "Private",
    "",
];

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,12}",
        prop::sample::select(STRINGS).prop_map(str::to_owned),
        prop::sample::select(CLASSES).prop_map(str::to_owned),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (any::<i32>(), 0u8..4).prop_map(|(m, e)| Value::from(m as f64 / 2f64.powi(e as i32))),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..7).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// Frame-shaped objects: a real class, a `type`, a code, and a random or real body.
fn arb_frame() -> impl Strategy<Value = Value> {
    let real: Vec<Value> = [
        SESSION_RICH,
        QUICK_REPLIES,
        AGENT_TYPING,
        DISCONNECT,
        JWT,
        TOO_MANY,
        ERROR,
        CLOSED,
        PRESIGNED,
    ]
    .iter()
    .map(|t| serde_json::from_str::<Value>(t).unwrap()["body"].clone())
    .collect();
    (
        prop::sample::select(CLASSES),
        prop_oneof![Just(json!("response")), Just(json!("message")), arb_json()],
        prop_oneof![Just(json!(200)), arb_json()],
        prop_oneof![prop::sample::select(real), arb_json()],
        prop::collection::vec((prop::sample::select(KEYS), arb_json()), 0..3),
    )
        .prop_map(|(class, kind, code, body, extra)| {
            let mut m = serde_json::Map::new();
            for (k, v) in extra {
                m.insert(k.to_owned(), v);
            }
            m.insert("class".into(), json!(class));
            m.insert("type".into(), kind);
            m.insert("code".into(), code);
            m.insert("body".into(), body);
            Value::Object(m)
        })
}

fn check_frame(v: &Value) -> Result<(), TestCaseError> {
    let decoded = serde_json::from_str::<ServerFrame>(&v.to_string());
    let f = decoded.map_err(|e| TestCaseError::fail(format!("object refused: {e}")))?;
    prop_assert_eq!(f.class(), v.get("class").and_then(Value::as_str));
    if !matches!(f, ServerFrame::Unknown { .. }) {
        // Typed: serialises to JSON that decodes to the same frame.
        let again = serde_json::to_string(&f).unwrap();
        prop_assert_eq!(serde_json::from_str::<ServerFrame>(&again).unwrap(), f);
    }
    Ok(())
}

const ACTIONS: &[&str] = &[
    "configureSession",
    "configureAuthenticatedSession",
    "onMessage",
    "echo",
    "getJwt",
    "closeSession",
    "onAttachment",
    "getAttachment",
    "deleteAttachment",
    "getConfiguration",
];

/// JSON without nulls (an explicit null on an optional field is read as absent, so it is
/// the one thing a request does not keep).
fn arb_json_no_null() -> impl Strategy<Value = Value> {
    arb_json().prop_map(strip_nulls)
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.into_iter()
                .filter(|v| !v.is_null())
                .map(strip_nulls)
                .collect(),
        ),
        other => other,
    }
}

/// Request-shaped objects: a real request with fields added or replaced at random.
fn arb_request() -> impl Strategy<Value = Value> {
    let real: Vec<Value> = REQUESTS
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
    (
        prop::sample::select(real),
        prop::sample::select(ACTIONS),
        any::<bool>(),
        prop::collection::vec((prop::sample::select(KEYS), arb_json_no_null()), 0..3),
    )
        .prop_map(|(mut v, action, swap_action, changes)| {
            let m = v.as_object_mut().unwrap();
            if swap_action {
                m.insert("action".into(), json!(action));
            }
            for (k, val) in changes.into_iter().filter(|(_, val)| !val.is_null()) {
                m.insert(k.to_owned(), val);
            }
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn any_frame_shaped_object_is_typed_or_unknown(v in arb_frame()) {
        check_frame(&v)?;
    }

    #[test]
    fn any_object_is_typed_or_unknown(v in arb_json()) {
        if v.is_object() {
            check_frame(&v)?;
        } else {
            prop_assert!(serde_json::from_str::<ServerFrame>(&v.to_string()).is_err());
        }
    }

    #[test]
    fn any_text_never_panics(s in "\\PC{0,64}") {
        let _ = serde_json::from_str::<ServerFrame>(&s);
        let _ = serde_json::from_str::<ClientRequest>(&s);
    }

    #[test]
    fn every_request_that_decodes_serialises_back_unchanged(v in arb_request()) {
        if let Ok(req) = serde_json::from_value::<ClientRequest>(v.clone()) {
            prop_assert_eq!(serde_json::to_value(&req).unwrap(), v);
        }
    }

    #[test]
    fn built_requests_round_trip(
        token in "\\PC{1,40}",
        text in "\\PC{0,40}",
        tracing in proptest::option::of("[a-zA-Z0-9=-]{1,20}"),
        which in 0u8..6,
    ) {
        let req = match which {
            0 => ClientRequest::configure_session(token.as_str(), text.as_str()),
            1 => ClientRequest::text(token.as_str(), text.as_str()),
            2 => ClientRequest::typing(token.as_str()),
            3 => ClientRequest::presence(token.as_str(), EventPresenceType::parse(&text)),
            4 => ClientRequest::on_message(token.as_str(), IncomingNormalizedMessage::quick_reply_response(text.as_str(), "p")),
            _ => ClientRequest::get_jwt(token.as_str()),
        };
        let req = match tracing { Some(t) => req.with_tracing_id(t), None => req };
        let wire = serde_json::to_string(&req).unwrap();
        let back: ClientRequest = serde_json::from_str(&wire).unwrap();
        prop_assert_eq!(back, req);
    }
}

#[test]
fn a_large_number_survives_the_round_trip_exactly() {
    // Found by the `server_frame` fuzz target: without serde_json's exact float parsing,
    // 1.62369999999e55 came back as 1.6236999999900003e55.
    let text = r#"{"type":"response","class":"JwtResponse","code":200,"body":{"jwt":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln","exp":16236999999900000000000000000000000000000000001500286168}}"#;
    let first = frame(text);
    let again = serde_json::to_string(&first).expect("serialises");
    assert_eq!(frame(&again), first);
}
