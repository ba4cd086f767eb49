//! Trust an extra certificate: here the one `guest-chat emulator --tls --tls-cert-out
//! emulator.pem` wrote (in-process it is `EmulatorHandle::tls_certificate_pem()`).
use purecloud_guest_chat_client::ApiClient;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pem = std::fs::read("emulator.pem")?;
    let client = ApiClient::builder()
        .environment("https://127.0.0.1:8443")
        .add_root_certificate_pem(&pem)
        .build()?;
    println!("REST and wss:// trust the public roots and emulator.pem: {client:?}");
    Ok(())
}
