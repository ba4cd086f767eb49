//! Create a chat, send a message, read the history: the REST API alone.
//!
//! Start an emulator first (`guest-chat emulator`), then:
//!
//! ```text
//! cargo run -p purecloud-guest-chat-client --example rest -- http://127.0.0.1:8080
//! ```
//!
//! The base URL comes from the first argument, else `GUEST_CHAT_BASE_URL`, else
//! `http://127.0.0.1:8080`. Against the emulator, a message sent before the event stream is
//! attached gets 400 `chat.error.conversation.state` unless it runs with
//! `--activate-without-stream`; this example shows that error and carries on.

use purecloud_guest_chat_client::{
    ApiClient, CreateWebChatConversationRequest, CreateWebChatMessageRequest, Error,
    GetMessagesOptions, SortOrder, WebChatApi,
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let base = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("GUEST_CHAT_BASE_URL").ok())
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());

    let client = ApiClient::builder().environment(base.as_str()).build()?;
    let api = WebChatApi::new(&client);

    let chat = api
        .post_webchat_guest_conversations(&CreateWebChatConversationRequest::new(
            "00000000-0000-0000-0000-000000000001",
            "00000000-0000-0000-0000-000000000002",
            "Sales",
            "Ada",
        ))
        .await?;
    let (Some(cid), Some(jwt), Some(mid)) = (chat.id, chat.jwt, chat.member.and_then(|m| m.id))
    else {
        eprintln!("the create response lacks id, jwt or member id");
        return Ok(());
    };
    println!("created conversation {cid} (guest member {mid})");

    // One client per chat: shares the connection pool, carries this chat's JWT.
    let chat_api = WebChatApi::new(&client.with_jwt(jwt));
    match chat_api
        .post_webchat_guest_conversation_member_messages(
            &cid,
            &mid,
            &CreateWebChatMessageRequest::new("Hello from Rust"),
        )
        .await
    {
        Ok(m) => println!("sent message {}", m.id.unwrap_or_default()),
        Err(e) if e.error_code() == Some("chat.error.conversation.state") => {
            println!("not sent yet (the chat is routed once the event stream attaches): {e}")
        }
        Err(e) => return Err(e),
    }

    let history = chat_api
        .get_webchat_guest_conversation_messages(
            &cid,
            &GetMessagesOptions::new().sort_order(SortOrder::Ascending),
        )
        .await?;
    for m in history.entities.unwrap_or_default() {
        println!(
            "{} [{}] {}",
            m.timestamp.map(|t| t.to_string()).unwrap_or_default(),
            m.body_type.map(|b| b.to_string()).unwrap_or_default(),
            m.body.unwrap_or_default()
        );
    }

    chat_api
        .delete_webchat_guest_conversation_member(&cid, &mid)
        .await?;
    println!("left the chat");
    Ok(())
}
