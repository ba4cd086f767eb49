//! The emulator as a library: a manual agent driven from Rust, and a guest talking to it.
//! `cargo run -p purecloud-guest-chat-client --example emulator`
use std::time::Duration;

use futures::StreamExt;
use guest_chat_emulator::{AgentMode, ConversationState, Emulator};
use purecloud_guest_chat_client::{
    ApiClient, BodyType, CreateWebChatConversationRequest, GuestChat, SessionEvent,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emu = Emulator::builder()
        .agent(AgentMode::Manual) // Echo (the default), Manual, or a script
        .agent_delay(Duration::from_millis(10)) // default 300 ms
        .heartbeat_interval(Duration::from_secs(5)) // default 30 s
        .start()
        .await?;
    println!("emulator on {}", emu.base_url()); // http://127.0.0.1:PORT

    let client = ApiClient::builder()
        .environment(emu.base_url().as_str())
        .build()?;
    let request = CreateWebChatConversationRequest::new("org", "deployment", "Support", "Ada");
    let chat = GuestChat::start(&client, &request).await?;
    let cid = chat.conversation_id().to_owned();
    emu.wait_for_state(&cid, ConversationState::Connected)
        .await?;
    emu.agent_say(&cid, "Hello from the manual agent")?;

    let mut events = chat.events();
    while let Some(event) = events.next().await {
        match event {
            SessionEvent::Message {
                message, sender, ..
            } if message.body_type == Some(BodyType::Standard) => {
                println!("{}: {}", sender.label(), message.body.unwrap_or_default());
                chat.leave().await?;
            }
            SessionEvent::Ended(reason) => println!("chat over: {reason:?}"),
            _ => {}
        }
    }
    emu.shutdown().await;
    Ok(())
}
