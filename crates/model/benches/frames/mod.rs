// Typical event-stream frames (docs/protocol.md 7.3, 7.5-7.7), shared by the criterion bench
// `from_frame` and the instruction-count driver `bench/src/bin/decode-frames.rs`.

/// A chat message (the most common frame).
pub(crate) const MESSAGE: &str = r#"{"topicName":"v2.conversations.chats.aa06a6fc-1fdf-4e59-b8a1-df3ca44f523e.messages","version":"2","eventBody":{"id":"485fc952-3021-4dab-bb04-e3ad84d8b62a","conversation":{"id":"aa06a6fc-1fdf-4e59-b8a1-df3ca44f523e"},"sender":{"id":"6408f799-973a-436a-9e1a-a75a6ddc46f5"},"body":"Hi, how are you?","bodyType":"standard","timestamp":"2019-06-18T16:59:22.277Z"},"metadata":{"CorrelationId":"ca138a93-3198-43b4-8ef4-bced8d38b3b9","type":"message"}}"#;
/// A member-change.
pub(crate) const MEMBER_CHANGE: &str = r#"{"topicName":"v2.conversations.chats.aa06a6fc-1fdf-4e59-b8a1-df3ca44f523e.members","version":"2","eventBody":{"conversation":{"id":"aa06a6fc-1fdf-4e59-b8a1-df3ca44f523e"},"member":{"id":"f3b14049-4631-4b29-b45d-1b2822410cbe","state":"CONNECTED"},"timestamp":"2019-06-18T16:59:09.689Z"},"metadata":{"CorrelationId":"bbd1fbef-cfbd-4a31-8008-51eba78dee76","type":"member-change"}}"#;
/// A typing indicator.
pub(crate) const TYPING: &str = r#"{"topicName":"v2.conversations.chats.aa06a6fc-1fdf-4e59-b8a1-df3ca44f523e.messages","version":"2","eventBody":{"id":"6a0b9d1e-0000-4000-8000-000000000001","conversation":{"id":"aa06a6fc-1fdf-4e59-b8a1-df3ca44f523e"},"sender":{"id":"f3b14049-4631-4b29-b45d-1b2822410cbe"},"timestamp":"2019-06-18T16:59:20.104Z"},"metadata":{"CorrelationId":"5c1e4ec4-2b2d-4b8b-a0ae-2bd6a4b0a1f0","type":"typing-indicator"}}"#;
/// A heartbeat.
pub(crate) const HEARTBEAT: &str =
    r#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}"#;

/// The mix decoded per "typical frame": mostly messages, as in a chat.
pub(crate) const MIX: [&str; 8] = [
    MESSAGE,
    MESSAGE,
    MESSAGE,
    MESSAGE,
    TYPING,
    TYPING,
    MEMBER_CHANGE,
    HEARTBEAT,
];
