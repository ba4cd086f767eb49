//! The raw, typed event stream: every frame as a `ChatEvent`, plus the stream's own
//! lifecycle (connected, reconnecting, resynced, closed).
//!
//! With no argument it starts the bundled emulator in-process and drops the socket once to
//! show a reconnect and resync; with a base URL it follows a chat on that emulator.
//!
//! ```text
//! cargo run -p purecloud-guest-chat-client --example events
//! ```

use futures::StreamExt;
use purecloud_guest_chat_client::{
    ApiClient, ChatEvent, CreateWebChatConversationRequest, CreateWebChatMessageRequest,
    EventStream, StreamEvent, WebChatApi,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    let created = WebChatApi::new(&client)
        .post_webchat_guest_conversations(&CreateWebChatConversationRequest::new(
            "my-org",
            "my-deployment",
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
    let chat_api = WebChatApi::new(&client.with_jwt(created.jwt.clone().unwrap_or_default()));

    let mut stream = EventStream::new(&client, &created)?;
    let mut dropped = false;
    while let Some(item) = stream.next().await {
        match item? {
            StreamEvent::Chat(ChatEvent::Message(m)) => {
                println!(
                    "message from {:?}: {:?} ({:?})",
                    m.sender.and_then(|s| s.id),
                    m.body.unwrap_or_default(),
                    m.body_type
                );
                if let (Some(emu), false) = (&local, dropped) {
                    // Show a reconnect: the stream resyncs what it missed over REST.
                    dropped = true;
                    emu.drop_sockets(&cid, guest_chat_emulator::DropMode::Abrupt)?;
                    chat_api
                        .post_webchat_guest_conversation_member_messages(
                            &cid,
                            &me,
                            &CreateWebChatMessageRequest::new("bye"),
                        )
                        .await?;
                }
            }
            StreamEvent::Chat(ChatEvent::MemberChange {
                member_id, state, ..
            }) => {
                println!("member {member_id} is now {state}");
            }
            StreamEvent::Chat(other) => println!("{other:?}"),
            StreamEvent::Closed { reason } => println!("closed: {reason:?}"),
            lifecycle => println!("-- {lifecycle:?}"),
        }
    }
    if let Some(emu) = local {
        emu.shutdown().await;
    }
    Ok(())
}
