//! Property-based fuzzing of every parser in the model crate (stable-toolchain stand-in for
//! cargo-fuzz): bad input gets a typed error, never a panic, and what decodes round-trips.

use guest_chat_model::redact::{mask_jwts, REDACTED};
use guest_chat_model::*;
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::borrow::Cow;
use std::fmt::Debug;

/// A real captured member-change frame (docs/protocol.md 7.5).
const MEMBER_CHANGE: &str = r#"{"topicName":"v2.conversations.chats.aa06a6fc-1fdf-4e59-b8a1-df3ca44f523e.members","version":"2","eventBody":{"conversation":{"id":"aa06a6fc-1fdf-4e59-b8a1-df3ca44f523e"},"member":{"id":"f3b14049-4631-4b29-b45d-1b2822410cbe","state":"CONNECTED"},"timestamp":"2019-06-18T16:59:09.689Z"},"metadata":{"CorrelationId":"bbd1fbef-cfbd-4a31-8008-51eba78dee76","type":"member-change"}}"#;
/// A real captured standard message frame (docs/protocol.md 7.6).
const MESSAGE: &str = r#"{"topicName":"v2.conversations.chats.aa06a6fc-1fdf-4e59-b8a1-df3ca44f523e.messages","version":"2","eventBody":{"id":"485fc952-3021-4dab-bb04-e3ad84d8b62a","conversation":{"id":"aa06a6fc-1fdf-4e59-b8a1-df3ca44f523e"},"sender":{"id":"6408f799-973a-436a-9e1a-a75a6ddc46f5"},"body":"Hi, how are you?","bodyType":"standard","timestamp":"2019-06-18T16:59:22.277Z"},"metadata":{"CorrelationId":"ca138a93-3198-43b4-8ef4-bced8d38b3b9","type":"message"}}"#;
/// docs/protocol.md 7.3 (heartbeat) and 7.7 (typing indicator).
const HEARTBEAT: &str =
    r#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}"#;
const TYPING: &str = r#"{"topicName":"v2.conversations.chats.aa06a6fc-1fdf-4e59-b8a1-df3ca44f523e.messages","version":"2","eventBody":{"id":"6a0b9d1e-0000-4000-8000-000000000001","conversation":{"id":"aa06a6fc-1fdf-4e59-b8a1-df3ca44f523e"},"sender":{"id":"f3b14049-4631-4b29-b45d-1b2822410cbe"},"timestamp":"2019-06-18T16:59:20.104Z"},"metadata":{"CorrelationId":"5c1e4ec4-2b2d-4b8b-a0ae-2bd6a4b0a1f0","type":"typing-indicator"}}"#;

fn frames() -> Vec<&'static str> {
    vec![MEMBER_CHANGE, MESSAGE, HEARTBEAT, TYPING]
}

/// Every wire field name of the models and frames, so random objects hit real fields.
const KEYS: &[&str] = &[
    "actionMap",
    "authenticatedGuest",
    "avatarImageUrl",
    "body",
    "bodyType",
    "code",
    "communicationId",
    "contextId",
    "conversation",
    "customFields",
    "customer",
    "customerSession",
    "deploymentId",
    "details",
    "displayName",
    "email",
    "entities",
    "entityId",
    "entityName",
    "errorCode",
    "errors",
    "eventStreamUri",
    "fieldName",
    "firstName",
    "firstUri",
    "id",
    "idType",
    "joinDate",
    "journeyContext",
    "jwt",
    "key",
    "language",
    "lastName",
    "lastUri",
    "leaveDate",
    "limit",
    "member",
    "memberAuthToken",
    "memberInfo",
    "message",
    "messageParams",
    "messageWithParams",
    "name",
    "namespace",
    "next",
    "nextUri",
    "organizationId",
    "pageCount",
    "pageNumber",
    "pageSize",
    "phoneNumber",
    "previousPage",
    "previousUri",
    "priority",
    "role",
    "routingTarget",
    "securityKey",
    "selfUri",
    "sender",
    "skills",
    "state",
    "status",
    "targetAddress",
    "targetType",
    "timestamp",
    "total",
    "triggeringAction",
    "types",
    "value",
    "version",
    "topicName",
    "eventBody",
    "metadata",
    "type",
    "CorrelationId",
    "x",
];

/// Strings the parsers care about: dates, enum values, tokens, and noise.
fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,16}",
        Just("2019-06-18T16:59:22.277Z".to_owned()),
        Just("2019-06-18".to_owned()),
        Just("CONNECTED".to_owned()),
        Just("DISCONNECTED".to_owned()),
        Just("standard".to_owned()),
        Just("member-join".to_owned()),
        Just("QUEUE".to_owned()),
        Just("message".to_owned()),
        Just("member-change".to_owned()),
        Just("typing-indicator".to_owned()),
        Just("channel.metadata".to_owned()),
        Just("WebSocket Heartbeat".to_owned()),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-9]{2})?",
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        // Floats that print and parse back exactly.
        (any::<i32>(), 0u8..4).prop_map(|(m, e)| Value::from(m as f64 / 2f64.powi(e as i32))),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

fn arb_object() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(KEYS), arb_json()), 0..10)
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

/// Decodes `v` as `T`; when it decodes, its serialisation decodes to an equal value.
fn model_round_trip<T>(v: &Value) -> Result<(), TestCaseError>
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let text = v.to_string();
    if let Ok(decoded) = serde_json::from_str::<T>(&text) {
        let again = serde_json::to_string(&decoded).expect("a decoded model serialises");
        let back: T = serde_json::from_str(&again)
            .map_err(|e| TestCaseError::fail(format!("re-decoding {again} failed: {e}")))?;
        prop_assert_eq!(back, decoded, "{}", again);
    }
    Ok(())
}

fn all_models(v: &Value) -> Result<(), TestCaseError> {
    model_round_trip::<CreateWebChatConversationRequest>(v)?;
    model_round_trip::<WebChatRoutingTarget>(v)?;
    model_round_trip::<GuestMemberInfo>(v)?;
    model_round_trip::<JourneyContext>(v)?;
    model_round_trip::<JourneyCustomer>(v)?;
    model_round_trip::<JourneyCustomerSession>(v)?;
    model_round_trip::<JourneyAction>(v)?;
    model_round_trip::<JourneyActionMap>(v)?;
    model_round_trip::<CreateWebChatConversationResponse>(v)?;
    model_round_trip::<WebChatMemberInfo>(v)?;
    model_round_trip::<WebChatMemberInfoEntityList>(v)?;
    model_round_trip::<CreateWebChatMessageRequest>(v)?;
    model_round_trip::<WebChatMessage>(v)?;
    model_round_trip::<WebChatMessageEntityList>(v)?;
    model_round_trip::<WebChatConversation>(v)?;
    model_round_trip::<WebChatTyping>(v)?;
    model_round_trip::<WebChatGuestMediaRequest>(v)?;
    model_round_trip::<WebChatGuestMediaRequestEntityList>(v)?;
    model_round_trip::<ErrorBody>(v)?;
    model_round_trip::<Detail>(v)?;
    model_round_trip::<Limit>(v)?;
    Ok(())
}

/// Every leaf path of a JSON value that holds a string.
fn string_leaves(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::String(_) => out.push(prefix.clone()),
        Value::Object(m) => {
            for (k, child) in m {
                prefix.push(k.clone());
                string_leaves(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |v, k| &mut v[k.as_str()])
}

/// A value no string field accepts.
fn arb_not_a_string() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        Just(json!([1, 2])),
        Just(json!({"a": 1})),
    ]
}

fn known_type_frames() -> Vec<&'static str> {
    vec![MEMBER_CHANGE, MESSAGE, TYPING]
}

fn assert_body_path(e: &FrameError) -> Result<(), TestCaseError> {
    prop_assert!(
        e.path == "eventBody" || (e.path.starts_with("eventBody.") && !e.path.contains("..")),
        "path {:?} is not under eventBody ({})",
        e.path,
        e
    );
    prop_assert!(e.to_string().contains(&e.path));
    Ok(())
}

/// `ChatEvent::from_frame` (which decodes typical frames straight from the text) gives exactly
/// what the general path, `from_value` on the parsed JSON, gives: the same event or error.
fn same_as_from_value(text: &str) -> Result<(), TestCaseError> {
    let direct = ChatEvent::from_frame(text);
    let general = match serde_json::from_str::<Value>(text) {
        Ok(v) => ChatEvent::from_value(v),
        Err(_) => {
            prop_assert!(direct.is_err(), "{text} is not JSON but decoded");
            return Ok(());
        }
    };
    prop_assert_eq!(direct, general, "{}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn frames_from_arbitrary_text_never_panic(s in "\\PC{0,64}") {
        let _ = ChatEvent::from_frame(&s);
        let _ = serde_json::from_str::<ChatEvent>(&s);
    }

    #[test]
    fn frames_from_arbitrary_json_never_panic(v in arb_json()) {
        let text = v.to_string();
        let a = ChatEvent::from_frame(&text);
        let b = serde_json::from_str::<ChatEvent>(&text);
        prop_assert_eq!(a.is_ok(), b.is_ok());
        if let Err(e) = a {
            // JSON that parsed can only fail inside a known event's body.
            assert_body_path(&e)?;
        }
    }

    #[test]
    fn unknown_topic_or_type_is_kept_as_unknown(
        topic in "\\PC{0,20}",
        kind in "\\PC{0,20}",
        body in arb_json(),
        base in 0usize..4,
    ) {
        prop_assume!(!["message", "typing-indicator", "member-change"].contains(&kind.as_str()));
        prop_assume!(!topic.eq_ignore_ascii_case("channel.metadata"));
        let mut frame: Value = serde_json::from_str(frames()[base]).unwrap();
        frame["topicName"] = Value::String(topic.clone());
        frame["metadata"] = json!({"type": kind});
        frame["eventBody"] = body;
        let event = ChatEvent::from_frame(&frame.to_string());
        match event {
            Ok(ChatEvent::Unknown { topic: t, kind: k, raw }) => {
                prop_assert_eq!(t.as_deref(), Some(topic.as_str()));
                prop_assert_eq!(k.as_deref(), Some(kind.as_str()));
                prop_assert_eq!(raw, frame);
            }
            other => prop_assert!(false, "expected Unknown, got {:?}", other),
        }
    }

    #[test]
    fn a_known_type_with_a_broken_body_names_the_path(
        base in 0usize..3,
        pick in any::<prop::sample::Index>(),
        bad in arb_not_a_string(),
    ) {
        let mut frame: Value = serde_json::from_str(known_type_frames()[base]).unwrap();
        let mut leaves = Vec::new();
        string_leaves(&frame["eventBody"], &mut Vec::new(), &mut leaves);
        let path = pick.get(&leaves).clone();
        *at_mut(&mut frame["eventBody"], &path) = bad;
        match ChatEvent::from_frame(&frame.to_string()) {
            Err(e) => {
                assert_body_path(&e)?;
                prop_assert_eq!(e.path, format!("eventBody.{}", path.join(".")));
            }
            Ok(ev) => prop_assert!(false, "broken {:?} decoded as {:?}", path, ev),
        }
    }

    #[test]
    fn a_known_type_with_a_scalar_body_is_an_error(base in 0usize..3, bad in prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::String),
    ]) {
        let mut frame: Value = serde_json::from_str(known_type_frames()[base]).unwrap();
        frame["eventBody"] = bad;
        let e = ChatEvent::from_frame(&frame.to_string()).unwrap_err();
        assert_body_path(&e)?;
    }

    #[test]
    fn mutated_captured_frames_never_panic(
        base in 0usize..4,
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..6),
    ) {
        let mut chars: Vec<char> = frames()[base].chars().collect();
        for (at, op, c) in edits {
            if chars.is_empty() {
                break;
            }
            let i = at.index(chars.len());
            match op {
                0 => chars[i] = c,
                1 => { chars.remove(i); }
                _ => chars.insert(i, c),
            }
        }
        let text: String = chars.into_iter().collect();
        let _ = ChatEvent::from_frame(&text);
        let _ = serde_json::from_str::<ChatEvent>(&text);
    }

    #[test]
    fn from_frame_matches_from_value_on_arbitrary_json(v in arb_json()) {
        same_as_from_value(&v.to_string())?;
    }

    #[test]
    fn from_frame_matches_from_value_on_edited_frames(
        base in 0usize..4,
        pick in any::<prop::sample::Index>(),
        v in arb_json(),
    ) {
        let mut frame: Value = serde_json::from_str(frames()[base]).unwrap();
        let mut leaves = Vec::new();
        string_leaves(&frame, &mut Vec::new(), &mut leaves);
        let path = pick.get(&leaves).clone();
        *at_mut(&mut frame, &path) = v;
        same_as_from_value(&frame.to_string())?;
    }

    #[test]
    fn captured_frames_with_a_field_replaced_never_panic(
        base in 0usize..4,
        pick in any::<prop::sample::Index>(),
        v in arb_json(),
    ) {
        let mut frame: Value = serde_json::from_str(frames()[base]).unwrap();
        let mut leaves = Vec::new();
        string_leaves(&frame, &mut Vec::new(), &mut leaves);
        let path = pick.get(&leaves).clone();
        *at_mut(&mut frame, &path) = v;
        if let Err(e) = ChatEvent::from_frame(&frame.to_string()) {
            assert_body_path(&e)?;
        }
    }

    #[test]
    fn timestamps_from_arbitrary_text_never_panic_and_round_trip(s in prop_oneof![
        "\\PC{0,40}",
        "[+-]?[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}(T[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,12})?)?)?(Z|z|[+-][0-9]{2}:?[0-9]{2})?",
    ]) {
        if let Ok(t) = Timestamp::parse(&s) {
            let shown = t.to_string();
            let again = Timestamp::parse(&shown)
                .map_err(|e| TestCaseError::fail(format!("{s:?} -> {shown:?}: {e}")))?;
            prop_assert_eq!(again, t, "{:?} displayed as {:?}", s, shown);
            let json = serde_json::to_string(&t).unwrap();
            prop_assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        }
    }

    #[test]
    fn rfc3339_of_any_instant_parses_to_that_instant(
        secs in -62_135_596_800i64..253_402_300_799i64,
        nanos in 0u32..1_000_000_000,
        offset_min in -1439i32..=1439,
        precision in 0usize..4,
    ) {
        use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
        let nanos = match precision {
            0 => 0,
            1 => nanos / 1_000_000 * 1_000_000,
            2 => nanos / 1000 * 1000,
            _ => nanos,
        };
        let utc = DateTime::<Utc>::from_timestamp(secs, nanos).unwrap();
        let local = utc.with_timezone(&FixedOffset::east_opt(offset_min * 60).unwrap());
        for text in [
            local.to_rfc3339_opts(SecondsFormat::AutoSi, false),
            utc.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        ] {
            let t = Timestamp::parse(&text)
                .map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
            prop_assert_eq!(t.0, utc, "{}", text);
            prop_assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
        }
    }

    #[test]
    fn mask_jwts_leaves_no_token(pieces in prop::collection::vec(prop_oneof![
        "[a-zA-Z0-9_=. /:?&-]{0,12}",
        "\\PC{0,6}",
        Just("eyJ".to_owned()),
        Just(".".to_owned()),
        "eyJ[A-Za-z0-9_-]{0,12}\\.[A-Za-z0-9_-]{0,12}\\.[A-Za-z0-9_=-]{0,12}",
        // A token standing alone (a space before it).
        " eyJ[A-Za-z0-9_-]{4,12}\\.[A-Za-z0-9_-]{0,12}\\.[A-Za-z0-9_=-]{0,12}",
    ], 0..10)) {
        let text: String = pieces.concat();
        let out = mask_jwts(&text);
        // No JWT-shaped token survives (by an independent scan, and masking finds nothing more).
        prop_assert_eq!(tokens_at_boundaries(&out), Vec::<String>::new(), "{:?}", text);
        let twice = mask_jwts(&out).into_owned();
        prop_assert_eq!(twice.as_str(), out.as_ref());
        // Every standalone token's header is gone.
        for piece in pieces.iter().filter(|p| p.starts_with(" eyJ")) {
            let header = &piece[..piece.find('.').unwrap() + 1];
            prop_assert!(!out.contains(header), "{:?} kept {:?}: {:?}", text, header, out);
        }
        if !text.contains("eyJ") {
            prop_assert!(matches!(out, Cow::Borrowed(_)));
            prop_assert_eq!(out.as_ref(), text.as_str());
        }
    }

    #[test]
    fn any_enum_string_round_trips(s in "\\PC{0,24}") {
        fn check<T: DeserializeOwned + Serialize + PartialEq + Debug>(s: &str) -> Result<(), TestCaseError> {
            let v: T = serde_json::from_value(Value::String(s.to_owned())).unwrap();
            let again: T = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
            prop_assert_eq!(again, v);
            Ok(())
        }
        check::<TargetType>(&s)?;
        check::<Role>(&s)?;
        check::<MemberState>(&s)?;
        check::<BodyType>(&s)?;
        check::<MediaRequestType>(&s)?;
        check::<MediaRequestState>(&s)?;
        check::<SortOrder>(&s)?;
        check::<LimitNamespace>(&s)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn every_model_decodes_arbitrary_objects_and_round_trips(v in arb_object()) {
        all_models(&v)?;
    }

    #[test]
    fn every_model_decodes_arbitrary_json_and_round_trips(v in arb_json()) {
        all_models(&v)?;
    }
}

/// Independent oracle: every `eyJ<b64>*.<b64>*.<b64>*` that starts at a token boundary.
fn tokens_at_boundaries(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let is_b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'=';
    let mut out = Vec::new();
    for i in 0..b.len() {
        if b[i..].starts_with(b"eyJ") && (i == 0 || !is_b64(b[i - 1])) {
            let mut j = i;
            let mut dots = 0;
            while j < b.len() && (is_b64(b[j]) || (b[j] == b'.' && dots < 2)) {
                dots += usize::from(b[j] == b'.');
                j += 1;
            }
            if dots == 2 {
                out.push(text[i..j].to_owned());
            }
        }
    }
    out
}

#[test]
fn redacted_marker_is_not_a_token() {
    assert_eq!(mask_jwts(REDACTED), REDACTED);
}

/// Regression: an `eventBody` that is not an object is reported at `eventBody`, not `eventBody..`.
#[test]
fn scalar_body_error_path_is_event_body() {
    let e = ChatEvent::from_frame(r#"{"metadata":{"type":"message"},"eventBody":5}"#).unwrap_err();
    assert_eq!(e.path, "eventBody");
}

/// Regression: sub-millisecond timestamps keep their precision through Display.
#[test]
fn sub_millisecond_timestamps_round_trip() {
    let t = Timestamp::parse("2020-08-05T13:09:49.546123Z").unwrap();
    assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
    let wire = Timestamp::parse("2020-08-05T13:09:49.546Z").unwrap();
    assert_eq!(wire.to_string(), "2020-08-05T13:09:49.546Z");
}

/// Regression: years RFC 3339 cannot write are refused instead of parsing to a value whose
/// text does not parse back.
#[test]
fn years_outside_rfc3339_are_refused() {
    for s in ["-1-1-1", "+10000-01-01", "9999-12-31T23:59:59-01:00"] {
        assert!(Timestamp::parse(s).is_err(), "{s}");
    }
    assert!(Timestamp::parse("0000-01-01T00:00:00Z").is_ok());
    assert!(Timestamp::parse("9999-12-31T23:59:59Z").is_ok());
}

/// Shapes the direct path of `from_frame` must hand to the general one (arrays where objects are
/// read by key, `null` bodies, repeated keys) or decode identically (escapes, both spellings of
/// the correlation id, pong, case).
#[test]
fn from_frame_matches_from_value_on_odd_shapes() {
    let cases = [
        MESSAGE,
        TYPING,
        MEMBER_CHANGE,
        HEARTBEAT,
        r#"["v2.conversations.chats.c.messages",{"body":"x"},{"type":"message"}]"#,
        r#"{"topicName":"t","eventBody":{"body":"x"},"metadata":[null,"message"]}"#,
        r#"{"topicName":"t","eventBody":{"body":"x"},"metadata":["a",null,"message"]}"#,
        r#"{"topicName":"channel.metadata","eventBody":["WebSocket Heartbeat"]}"#,
        r#"{"topicName":"channel.metadata","eventBody":{"message":"PONG"}}"#,
        r#"{"topicName":"Channel.Metadata","eventBody":{"message":"websocket heartbeat"}}"#,
        r#"{"topicName":"channel.metadata","eventBody":{"message":"other"}}"#,
        r#"{"topicName":"channel.metadata"}"#,
        r#"{"topicName":"t","eventBody":null,"metadata":{"type":"message"}}"#,
        r#"{"topicName":"t","eventBody":{"body":"x"},"metadata":null}"#,
        r#"{"topicName":"t","topicName":"u","eventBody":{"body":"x"},"metadata":{"type":"message"}}"#,
        r#"{"eventBody":{"body":"a","body":"b"},"metadata":{"type":"message"}}"#,
        r#"{"eventBody":{"body":"x"},"eventBody":{"body":"y"},"metadata":{"type":"message"}}"#,
        r#"{"topicName":"t\u002e\n","eventBody":{"body":"\u00e9\"q\""},"metadata":{"type":"mess\u0061ge"}}"#,
        r#"{"eventBody":{"conversation":{"id":"c"},"member":{"id":"m","state":"ALERTING"}},"metadata":{"correlationId":"lo","CorrelationId":"up","type":"member-change"}}"#,
        r#"{"eventBody":{"conversation":{"id":"c"},"member":{"id":"m","state":"ALERTING"}},"metadata":{"correlationId":"lo","type":"member-change"}}"#,
        r#"{"eventBody":{"conversation":{"id":"c"},"member":{"id":"m"}},"metadata":{"type":"member-change"}}"#,
        r#"{"eventBody":["id",null,null,{"id":"s"},"text"],"metadata":{"type":"message"}}"#,
        r#"{"eventBody":{"timestamp":"nope"},"metadata":{"type":"typing-indicator"}}"#,
        r#"{"eventBody":5,"metadata":{"type":"message"}}"#,
        r#"{"topicName":5,"eventBody":{},"metadata":{"type":"message"}}"#,
        r#"{"eventBody":{},"metadata":{"type":5}}"#,
        r#"  {"eventBody":{},"metadata":{"type":"message"}}  "#,
        r#"{"eventBody":{}} x"#,
        r#"{"eventBody":{"x":{"type":"message"}},"metadata":{"type":"typing-indicator"}}"#,
        r#"{"topicName":"channel.metadata","eventBody":{"message":"pong"},"metadata":{"type":"message"}}"#,
        r#"{"topicName":"t","eventBody":null,"metadata":{"type":"member-change"}}"#,
        r#"{"eventBody":{"conversation":{"id":"c"},"member":{"id":"m","state":"ALERTING"}},"metadata":{"type":"member-change"},"metadata":{"type":"member-change"}}"#,
        r#"{"eventBody":{"id":"x"},"metadata":{"type":"message","type":"message"}}"#,
        "[]",
        "7",
        "not json",
    ];
    for text in cases {
        if let Err(e) = same_as_from_value(text) {
            panic!("{e}");
        }
    }
}
