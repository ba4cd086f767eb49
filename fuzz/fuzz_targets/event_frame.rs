//! Raw event-stream frames: `ChatEvent::from_frame` and the serde path must agree, and a
//! decoded message must survive a serde round trip.
#![no_main]

use guest_chat_model::{ChatEvent, WebChatMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = std::str::from_utf8(data) else {
        return;
    };
    let decoded = ChatEvent::from_frame(frame);
    let via_serde = serde_json::from_str::<ChatEvent>(frame);
    assert_eq!(
        decoded.is_ok(),
        via_serde.is_ok(),
        "from_frame and serde disagree"
    );
    match decoded {
        Ok(ChatEvent::Message(m)) => {
            let json = serde_json::to_string(&m).expect("a decoded message serialises");
            let back: WebChatMessage = serde_json::from_str(&json).expect("and decodes again");
            assert_eq!(back, m, "message serde round trip");
        }
        Ok(other) => drop(format!("{other:?}")),
        Err(e) => drop(e.to_string()),
    }
});
