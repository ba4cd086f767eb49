//! Start a guest chat, greet the agent, leave after the agent's reply.
//! Run an emulator first (`cargo run -p guest-chat-cli -- emulator --port 8080`), then
//! `cargo run -p purecloud-guest-chat-client --example quickstart -- http://127.0.0.1:8080`.
use futures::StreamExt;
use purecloud_guest_chat_client::{
    ApiClient, BodyType, CreateWebChatConversationRequest, GuestChat, SessionEvent,
};

#[tokio::main]
async fn main() -> Result<(), purecloud_guest_chat_client::Error> {
    // A base URL (the first argument or GUEST_CHAT_BASE_URL), a region or a domain.
    let base = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("GUEST_CHAT_BASE_URL").ok())
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    let client = ApiClient::builder().environment(base.as_str()).build()?;
    let request = CreateWebChatConversationRequest::new(
        "your-organization-id",
        "your-deployment-id",
        "Support",
        "Ada",
    );
    // Creates the chat, opens the event stream, waits until the guest is CONNECTED.
    let chat = GuestChat::start(&client, &request).await?;
    let mut events = chat.events();
    let mut greeted = false;
    while let Some(event) = events.next().await {
        match event {
            // Text only: join/leave notices are messages too, with an empty body.
            SessionEvent::Message {
                message, sender, ..
            } if message.body_type == Some(BodyType::Standard) => {
                println!("{}: {}", sender.label(), message.body.unwrap_or_default());
                if greeted {
                    chat.leave().await?; // the agent answered: we are done
                } else {
                    chat.send("Hello! Where is my order?").await?;
                    greeted = true;
                }
            }
            SessionEvent::TypingStarted(who) => println!("{} is typing...", who.label()),
            SessionEvent::Ended(reason) => println!("chat over: {reason:?}"),
            _ => {}
        }
    }
    Ok(())
}
