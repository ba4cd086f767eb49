//! The REST API by hand, as the JavaScript SDK does it: create a chat, open its event stream
//! (the service routes a chat only once its stream is attached), send a message, read the
//! history, leave. Run an emulator first (`cargo run -p guest-chat-cli -- emulator --port 8080`), then
//! `cargo run -p purecloud-guest-chat-client --example rest -- http://127.0.0.1:8080`.
use futures::StreamExt;
use purecloud_guest_chat_client::{
    ApiClient, ChatEvent, CreateWebChatConversationRequest, CreateWebChatMessageRequest,
    EventStream, GetMessagesOptions, MemberState, SortOrder, StreamEvent, WebChatApi,
};

#[tokio::main]
async fn main() -> Result<(), purecloud_guest_chat_client::Error> {
    // The base URL: the first argument, else GUEST_CHAT_BASE_URL, else the emulator's default.
    let base = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("GUEST_CHAT_BASE_URL").ok())
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    let client = ApiClient::builder().environment(base.as_str()).build()?;
    let created = WebChatApi::new(&client)
        .post_webchat_guest_conversations(&CreateWebChatConversationRequest::new(
            "your-organization-id",
            "your-deployment-id",
            "Support",
            "Ada",
        ))
        .await?;
    let cid = created.id.clone().unwrap_or_default();
    let me = created
        .member
        .as_ref()
        .and_then(|m| m.id.clone())
        .unwrap_or_default();
    println!("created conversation {cid} (guest member {me})");

    // Attach the event stream and wait for our own member to be CONNECTED: before that the
    // service answers a message with 400 chat.error.conversation.state.
    let mut stream = EventStream::new(&client, &created)?;
    while let Some(event) = stream.next().await {
        if let StreamEvent::Chat(ChatEvent::MemberChange {
            member_id, state, ..
        }) = event?
        {
            if member_id == me && state == MemberState::Connected {
                println!("connected");
                break;
            }
        }
    }

    // A per-chat client: shares the connection pool, carries this chat's JWT.
    let chat = WebChatApi::new(&client.with_jwt(created.jwt.clone().unwrap_or_default()));
    let sent = chat
        .post_webchat_guest_conversation_member_messages(
            &cid,
            &me,
            &CreateWebChatMessageRequest::new("Hello from Rust"),
        )
        .await?;
    println!("sent message {}", sent.id.unwrap_or_default());

    let options = GetMessagesOptions::new().sort_order(SortOrder::Ascending);
    let history = chat
        .get_webchat_guest_conversation_messages(&cid, &options)
        .await?;
    for m in history.entities.unwrap_or_default() {
        let kind = m.body_type.map(|b| b.to_string()).unwrap_or_default();
        println!("[{kind}] {}", m.body.unwrap_or_default());
    }

    chat.delete_webchat_guest_conversation_member(&cid, &me)
        .await?;
    println!("left the chat");
    Ok(())
}
