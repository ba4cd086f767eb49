//! A Web Messaging guest through `GuestChat`: start (or resume with a stored token), send,
//! print the reply, read the history, end. With no argument it starts the bundled emulator
//! (echo agent); a real deployment takes `Endpoint::region("mypurecloud.ie")`.
//!
//! ```text
//! cargo run -p purecloud-guest-chat-client --example web_messaging
//! ```

use futures::StreamExt;
use purecloud_guest_chat_client::session::{GuestChat, SessionEvent, WebMessagingOptions};
use purecloud_guest_chat_client::webmessaging::{Endpoint, SessionToken};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut local = None;
    let endpoint = match std::env::args().nth(1) {
        Some(url) => Endpoint::from_base_url(&url)?,
        None => {
            let emu = guest_chat_emulator::Emulator::builder().start().await?;
            let endpoint = Endpoint::from_base_url(&emu.base_url())?;
            local = Some(emu);
            endpoint
        }
    };
    let mut options = WebMessagingOptions::new("my-deployment-id", endpoint)
        .origin("https://shop.example")
        .custom_attribute("orderId", "1234");
    // The app's secret store: a token saved by an earlier run resumes its conversation.
    if let Ok(stored) = std::env::var("WM_SESSION_TOKEN") {
        options = options.token(SessionToken::from_stored(stored)?);
    }
    let chat = GuestChat::start_web_messaging(options).await?;
    // Persist this (a secret: `Debug` redacts it) to resume later.
    let _token = chat.resume_token();
    println!("new conversation: {:?}", chat.new_session());

    let mut events = chat.events();
    chat.send("Hello!").await?;
    while let Some(event) = events.next().await {
        match event {
            SessionEvent::Message {
                message, sender, ..
            } => {
                println!("{}: {}", sender.label(), message.body.unwrap_or_default());
                break;
            }
            SessionEvent::Structured { content, .. } => println!("{} choices", content.len()),
            SessionEvent::Ended(reason) => return Err(format!("ended: {reason:?}").into()),
            _ => {}
        }
    }
    let page = chat.history(None).await?;
    println!("{} messages in history", page.messages.len());
    if chat.capabilities().end_conversation {
        chat.leave().await?;
        println!("conversation ended by {:?}", chat.ended_by());
    }
    if let Some(emu) = local {
        emu.shutdown().await;
    }
    Ok(())
}
