//! The emulator over https and wss, and an SDK client that trusts its certificate.
//! `cargo run -p purecloud-guest-chat-client --example emulator_tls`
use guest_chat_emulator::{Emulator, EmulatorTls};
use purecloud_guest_chat_client::{ApiClient, CreateWebChatConversationRequest, GuestChat};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emu = Emulator::builder()
        .tls(EmulatorTls::self_signed()) // or EmulatorTls::from_pem(..) / from_pem_files(..)
        .start()
        .await?;
    println!("emulator on {}", emu.base_url()); // https://127.0.0.1:PORT
    let pem = emu
        .tls_certificate_pem()
        .ok_or("the emulator has no certificate")?;
    let client = ApiClient::builder()
        .environment(emu.base_url().as_str())
        .add_root_certificate_pem(pem.as_bytes())
        .build()?;
    let request = CreateWebChatConversationRequest::new("org", "deployment", "Support", "Ada");
    let chat = GuestChat::start(&client, &request).await?; // REST over https, events over wss
    println!("connected over TLS to chat {}", chat.conversation_id());
    chat.leave().await?;
    emu.shutdown().await;
    Ok(())
}
