//! Round-trips of real captured payloads (docs/protocol.md), tolerance rules, timestamps and
//! the open enums' catch-alls.

use guest_chat_model::*;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Decodes `raw` as `T`, re-encodes it, and checks the JSON is unchanged.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(raw: &str) -> T {
    let value: T = serde_json::from_str(raw).expect("decodes");
    let back = serde_json::to_value(&value).expect("encodes");
    let orig: Value = serde_json::from_str(raw).expect("json");
    assert_eq!(back, orig, "round trip of {raw}");
    value
}

#[test]
fn create_response_4_1() {
    let r: CreateWebChatConversationResponse = round_trip(
        r#"{"id":"0e4a4c93-dd6f-4440-929a-3f22fb1c7d3f",
 "jwt":"eyJhbGciOiJSUzI1NiIs.eyJ.sig",
 "eventStreamUri":"wss://carrier-pigeon.mypurecloud.com/v1/token/eyJhbGciOiJSUzI1NiIs.eyJ.sig",
 "member":{"id":"2f999537-c4ad-475d-bd95-3d38a814cd46"}}"#,
    );
    let member = r.member.unwrap();
    assert_eq!(
        member.id.as_deref(),
        Some("2f999537-c4ad-475d-bd95-3d38a814cd46")
    );
    assert!(member.role.is_none());
}

#[test]
fn message_4_5() {
    let m: WebChatMessage = round_trip(
        r#"{"id":"d184e1de-b9c8-4dd3-b970-a2a5adbaac3a",
 "conversation":{"id":"0e4a4c93","selfUri":"/api/v2/conversations/0e4a4c93"},
 "sender":{"id":"2f999537"},
 "body":"Teste chat","bodyType":"standard","timestamp":"2020-08-05T13:09:49.546Z",
 "selfUri":"/api/v2/webchat/guest/conversations/0e4a4c93/messages/d184e1de"}"#,
    );
    assert_eq!(m.body_type, Some(BodyType::Standard));
    assert_eq!(m.timestamp.unwrap().timestamp_millis(), 1_596_632_989_546);
}

#[test]
fn typing_4_6() {
    let t: WebChatTyping = round_trip(
        r#"{"id":"411570eb-09b9-41e4-a271-3bbe1a4fcca5",
 "conversation":{"id":"0e4a4c93","selfUri":"/api/v2/conversations/0e4a4c93"},
 "sender":{"id":"2f999537"},"timestamp":"2020-08-05T13:10:35.673Z"}"#,
    );
    assert_eq!(t.sender.unwrap().id.as_deref(), Some("2f999537"));
}

#[test]
fn error_bodies_section_6() {
    let e: ErrorBody = round_trip(
        r#"{"message":"Conversation State","code":"chat.error.conversation.state","status":400,
 "messageWithParams":"Conversation State","messageParams":{"message":"The conversation is not active"},
 "contextId":"9cfabc07-bd3c-4119-ada9-88f135942b2e","details":[],"errors":[]}"#,
    );
    assert_eq!(e.code.as_deref(), Some("chat.error.conversation.state"));
    assert_eq!(
        e.message_params.unwrap().get("message").map(String::as_str),
        Some("The conversation is not active")
    );
    let e: ErrorBody = round_trip(
        r#"{"status":404,"code":"not.found","message":"The requested operation failed with status 404",
 "contextId":"d11bd3b3-ab7e-4fd4-9687-d04af9f30a63","details":[],"errors":[]}"#,
    );
    assert_eq!(e.status, Some(404));
    let nested: ErrorBody = round_trip(
        r#"{"status":429,"code":"too.many.requests","errors":[{"code":"x","details":[{"errorCode":"e","fieldName":"f"}]}],"limit":{"key":"k","namespace":"webchat","value":180}}"#,
    );
    assert_eq!(
        nested.limit.unwrap().namespace,
        Some(LimitNamespace::Webchat)
    );
}

#[test]
fn absent_fields_are_not_serialised_and_unknown_fields_ignored() {
    assert_eq!(
        serde_json::to_string(&WebChatMemberInfo::default()).unwrap(),
        "{}"
    );
    assert_eq!(
        serde_json::to_value(CreateWebChatMessageRequest::new("hi")).unwrap(),
        json!({"body":"hi","bodyType":"standard"})
    );
    let m: WebChatMemberInfo = serde_json::from_value(json!({
        "id":"a","role":"AGENT","profileImageUrl":"x","brandNew":{"deep":[1,2]}
    }))
    .unwrap();
    assert_eq!(m.role, Some(Role::Agent));
    assert_eq!(
        serde_json::to_value(&m).unwrap(),
        json!({"id":"a","role":"AGENT"})
    );
}

#[test]
fn target_type_is_case_insensitive() {
    let t: WebChatRoutingTarget =
        serde_json::from_value(json!({"targetType":"queue","targetAddress":"Sales"})).unwrap();
    assert_eq!(t.target_type, Some(TargetType::Queue));
    assert_eq!(serde_json::to_value(&t).unwrap()["targetType"], "QUEUE");
    let t: WebChatRoutingTarget = serde_json::from_value(json!({"targetType":"USER"})).unwrap();
    assert_eq!(t.target_type, Some(TargetType::Unknown("USER".into())));
}

#[test]
fn timestamps_in_every_shape() {
    let want = Timestamp::parse("2020-08-05T13:09:49Z").unwrap();
    for s in [
        "2020-08-05T13:09:49Z",
        "2020-08-05T13:09:49.000Z",
        "2020-08-05T15:09:49+02:00",
        "2020-08-05T15:09:49.000+02:00",
        "2020-08-05T15:09:49+0200",
        "2020-08-05T13:09:49",
        "2020-08-05T13:09:49.000",
    ] {
        let m: WebChatMessage = serde_json::from_value(json!({ "timestamp": s })).unwrap();
        assert_eq!(m.timestamp, Some(want), "{s}");
    }
    let millis: WebChatMessage =
        serde_json::from_value(json!({"timestamp":"2020-08-05T13:09:49.546Z"})).unwrap();
    assert_eq!(millis.timestamp.unwrap().timestamp_millis() % 1000, 546);
    let date: WebChatMemberInfo = serde_json::from_value(json!({"joinDate":"2020-08-05"})).unwrap();
    assert_eq!(
        date.join_date.unwrap().to_string(),
        "2020-08-05T00:00:00.000Z"
    );
    // Written in the service's own shape.
    assert_eq!(want.to_string(), "2020-08-05T13:09:49.000Z");
    assert!(serde_json::from_value::<WebChatMessage>(json!({"timestamp":"yesterday"})).is_err());
}

#[test]
fn member_change_frame_7_5() {
    let frame = r#"{"topicName":"v2.conversations.chats.6a8e057a-d340-4d9f-aabb-66ed9ffc2d8b.members","version":"2",
 "eventBody":{"conversation":{"id":"6a8e057a-d340-4d9f-aabb-66ed9ffc2d8b"},
              "member":{"id":"1c5f7bbc-7d06-4b14-b0fc-3dca8b7010f9","state":"CONNECTED"},
              "timestamp":"2020-04-20T09:36:45.355Z"},
 "metadata":{"CorrelationId":"3079a590-8f0a-47dd-ac4b-13e5fc7ade39","type":"member-change"}}"#;
    match serde_json::from_str::<ChatEvent>(frame).unwrap() {
        ChatEvent::MemberChange {
            conversation_id,
            member_id,
            state,
            timestamp,
            correlation_id,
        } => {
            assert_eq!(conversation_id, "6a8e057a-d340-4d9f-aabb-66ed9ffc2d8b");
            assert_eq!(member_id, "1c5f7bbc-7d06-4b14-b0fc-3dca8b7010f9");
            assert_eq!(state, MemberState::Connected);
            assert!(timestamp.is_some());
            assert_eq!(
                correlation_id.as_deref(),
                Some("3079a590-8f0a-47dd-ac4b-13e5fc7ade39")
            );
        }
        other => panic!("{other:?}"),
    }
    // The frame envelope itself round-trips.
    let _: EventFrame<MemberChangeBodyAlias> = round_trip(frame);
}

type MemberChangeBodyAlias = guest_chat_model::event::MemberChangeBody;

#[test]
fn message_frame_7_6_and_lower_case_correlation_id() {
    let frame = r#"{"topicName":"v2.conversations.chats.aa06a6fc.messages","version":"2",
 "eventBody":{"id":"485fc952-3021-4dab-bb04-e3ad84d8b62a","conversation":{"id":"aa06a6fc"},
              "sender":{"id":"6408f799-973a-436a-9e1a-a75a6ddc46f5"},
              "body":"Hi, how are you?","bodyType":"standard","timestamp":"2019-06-18T16:59:22.277Z"},
 "metadata":{"CorrelationId":"ca138a93-3198-43b4-8ef4-bced8d38b3b9","type":"message"}}"#;
    let ev: ChatEvent = serde_json::from_str(frame).unwrap();
    assert_eq!(
        ev.message_id(),
        Some("485fc952-3021-4dab-bb04-e3ad84d8b62a")
    );
    assert_eq!(ev.member_id(), Some("6408f799-973a-436a-9e1a-a75a6ddc46f5"));
    let _: EventFrame<WebChatMessage> = round_trip(frame);

    let lower = frame.replace("CorrelationId", "correlationId");
    let f: EventFrame<WebChatMessage> = serde_json::from_str(&lower).unwrap();
    assert_eq!(
        f.metadata.unwrap().correlation_id.as_deref(),
        Some("ca138a93-3198-43b4-8ef4-bced8d38b3b9")
    );
    let mc = r#"{"topicName":"t","eventBody":{"conversation":{"id":"c"},"member":{"id":"m","state":"DISCONNECTED"}},"metadata":{"correlationId":"x","type":"member-change"}}"#;
    match ChatEvent::from_frame(mc).unwrap() {
        ChatEvent::MemberChange { correlation_id, .. } => {
            assert_eq!(correlation_id.as_deref(), Some("x"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn heartbeat_7_3_and_unknown_frames() {
    let hb = r#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}"#;
    assert_eq!(
        serde_json::from_str::<ChatEvent>(hb).unwrap(),
        ChatEvent::Heartbeat
    );
    let _: EventFrame<guest_chat_model::event::ChannelBody> = round_trip(hb);

    let unknown_topic = r#"{"topicName":"v2.conversations.chats.c.mediarequests","eventBody":{},"metadata":{"type":"media-request"}}"#;
    match serde_json::from_str::<ChatEvent>(unknown_topic).unwrap() {
        ChatEvent::Unknown { topic, kind, .. } => {
            assert_eq!(
                topic.as_deref(),
                Some("v2.conversations.chats.c.mediarequests")
            );
            assert_eq!(kind.as_deref(), Some("media-request"));
        }
        other => panic!("{other:?}"),
    }
    let unknown_type = r#"{"topicName":"v2.conversations.chats.c.messages","eventBody":{"x":1},"metadata":{"type":"brand-new"}}"#;
    assert!(matches!(
        serde_json::from_str::<ChatEvent>(unknown_type).unwrap(),
        ChatEvent::Unknown { .. }
    ));
    assert!(matches!(
        ChatEvent::from_frame(
            r#"{"topicName":"channel.metadata","eventBody":{"message":"other"}}"#
        )
        .unwrap(),
        ChatEvent::Unknown { .. }
    ));
    let err = ChatEvent::from_frame(
        r#"{"topicName":"t","eventBody":{"timestamp":"nope"},"metadata":{"type":"message"}}"#,
    )
    .unwrap_err();
    assert_eq!(err.path, "eventBody.timestamp");
    assert!(ChatEvent::from_frame("not json").is_err());
}

#[test]
fn request_helpers_serialise_like_the_contract() {
    let req = CreateWebChatConversationRequest::new("org", "dep", "Sales", "Ada");
    assert_eq!(
        serde_json::to_value(&req).unwrap(),
        json!({"organizationId":"org","deploymentId":"dep",
               "routingTarget":{"targetType":"QUEUE","targetAddress":"Sales"},
               "memberInfo":{"displayName":"Ada"}})
    );
}

fn known_wire_values() -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    v.extend(TargetType::KNOWN.iter().map(|x| x.as_str().to_owned()));
    v.extend(Role::KNOWN.iter().map(|x| x.as_str().to_owned()));
    v.extend(MemberState::KNOWN.iter().map(|x| x.as_str().to_owned()));
    v.extend(BodyType::KNOWN.iter().map(|x| x.as_str().to_owned()));
    v.extend(
        MediaRequestType::KNOWN
            .iter()
            .map(|x| x.as_str().to_owned()),
    );
    v.extend(
        MediaRequestState::KNOWN
            .iter()
            .map(|x| x.as_str().to_owned()),
    );
    v.extend(SortOrder::KNOWN.iter().map(|x| x.as_str().to_owned()));
    v.extend(LimitNamespace::KNOWN.iter().map(|x| x.as_str().to_owned()));
    v
}

fn check_catch_all<T>(s: &str, unknown: fn(String) -> T)
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(s).unwrap();
    let v: T = serde_json::from_str(&json).unwrap();
    assert_eq!(v, unknown(s.to_owned()));
    assert_eq!(serde_json::to_string(&v).unwrap(), json);
}

proptest! {
    #[test]
    fn unknown_enum_values_round_trip(s in "\\PC{0,24}") {
        prop_assume!(!known_wire_values().iter().any(|k| k.eq_ignore_ascii_case(&s)));
        check_catch_all(&s, TargetType::Unknown);
        check_catch_all(&s, Role::Unknown);
        check_catch_all(&s, MemberState::Unknown);
        check_catch_all(&s, BodyType::Unknown);
        check_catch_all(&s, MediaRequestType::Unknown);
        check_catch_all(&s, MediaRequestState::Unknown);
        check_catch_all(&s, SortOrder::Unknown);
        check_catch_all(&s, LimitNamespace::Unknown);
    }

    #[test]
    fn known_enum_values_parse_in_any_case(idx in 0usize..5, upper in any::<bool>()) {
        let known = BodyType::KNOWN[idx].clone();
        let wire = if upper { known.as_str().to_uppercase() } else { known.as_str().to_owned() };
        let v: BodyType = serde_json::from_str(&serde_json::to_string(&wire).unwrap()).unwrap();
        prop_assert_eq!(v, known);
    }
}
