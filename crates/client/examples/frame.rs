//! Decodes one event-stream frame into a typed `ChatEvent`.
use guest_chat_model::ChatEvent;

fn main() -> Result<(), serde_json::Error> {
    let frame = r#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}"#;
    let event: ChatEvent = serde_json::from_str(frame)?;
    println!("{event:?}");
    Ok(())
}
