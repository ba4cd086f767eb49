//! Raw Web Messaging server frames: `serde_json::from_str::<ServerFrame>` accepts exactly the
//! JSON objects, keeps their class, and a frame serialises to JSON that decodes to the same
//! frame (typed) or to the same raw object (`Unknown`).
#![no_main]

use guest_chat_model::webmessaging::ServerFrame;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let decoded = serde_json::from_str::<ServerFrame>(text);
    let value = serde_json::from_str::<Value>(text);
    let is_object = matches!(value, Ok(Value::Object(_)));
    assert_eq!(decoded.is_ok(), is_object, "only JSON objects decode");
    let Ok(frame) = decoded else {
        return;
    };
    let value = value.expect("an object");
    assert_eq!(
        frame.class(),
        value.get("class").and_then(Value::as_str),
        "the class is kept"
    );
    drop(format!("{frame:?}"));
    let _ = frame.tracing_id();
    let again = serde_json::to_string(&frame).expect("a frame serialises");
    let back = serde_json::from_str::<ServerFrame>(&again).expect("and decodes again");
    match &frame {
        ServerFrame::Unknown { raw, .. } => {
            let raw = serde_json::to_value(raw).expect("raw serialises");
            assert_eq!(raw, value, "an unknown frame is kept whole");
            assert_eq!(back.class(), frame.class());
        }
        _ => assert_eq!(back, frame, "typed frame serde round trip"),
    }
});
