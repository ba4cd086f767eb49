//! A scripted guest: start a chat, wait for the agent, say a few things, leave.
//!
//! With no argument it starts the bundled emulator in-process (echo agent); with a base
//! URL it talks to that emulator (`guest-chat emulator --port 8080`):
//!
//! ```text
//! cargo run -p purecloud-guest-chat-client --example chat
//! cargo run -p purecloud-guest-chat-client --example chat -- http://127.0.0.1:8080
//! ```

use futures::StreamExt;
use purecloud_guest_chat_client::{
    ApiClient, BodyType, ChatState, CreateWebChatConversationRequest, GuestChat, SessionEvent,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The emulator is a dev-dependency of the SDK, so the example can bring its own peer.
    let mut local = None;
    let base = match std::env::args().nth(1) {
        Some(url) => url,
        None => {
            let emu = guest_chat_emulator::Emulator::builder().start().await?;
            let url = emu.base_url();
            local = Some(emu);
            url
        }
    };
    let client = ApiClient::builder()
        .environment(base.as_str())
        .no_config_file()
        .build()?;
    let request =
        CreateWebChatConversationRequest::new("my-org", "my-deployment", "Support", "Ada");
    let chat = GuestChat::start(&client, &request).await?;
    println!(
        "joined chat {} as {}",
        chat.conversation_id(),
        chat.member_id()
    );

    let mut script = vec!["Hello!", "My order has not arrived.", "Thanks, bye"].into_iter();
    let mut events = chat.events();
    while let Some(event) = events.next().await {
        match event {
            SessionEvent::Message {
                message, sender, ..
            } if message.body_type == Some(BodyType::Standard) => {
                println!("{}: {}", sender.label(), message.body.unwrap_or_default());
                // Answer each agent message with the next line of the script.
                match script.next() {
                    Some(line) => {
                        println!("Ada (you): {line}");
                        chat.send(line).await?;
                    }
                    None => chat.leave().await?,
                }
            }
            SessionEvent::TypingStarted(member) => println!("{} is typing...", member.label()),
            SessionEvent::StateChanged(ChatState::Connected) => {
                if let Some(agent) = chat.agent() {
                    println!("{} joined", agent.label());
                }
            }
            SessionEvent::Ended(reason) => println!("chat ended: {reason:?}"),
            _ => {}
        }
    }
    if let Some(emu) = local {
        emu.shutdown().await;
    }
    Ok(())
}
