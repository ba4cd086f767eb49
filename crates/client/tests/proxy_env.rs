//! The event stream follows the proxy environment variables like REST does: `HTTP_PROXY`
//! for `ws://`, and `NO_PROXY` bypasses it. Its own test binary: the variables are
//! process-global, so this file holds a single test.

#[path = "support/proxy.rs"]
mod proxy_support;

use futures::StreamExt;
use guest_chat_emulator::Emulator;
use proxy_support::Proxy;
use purecloud_guest_chat_client::events::{EventStream, StreamEvent};
use purecloud_guest_chat_client::{ApiClient, CreateWebChatConversationRequest, WebChatApi};
use std::time::Duration;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

async fn connect_once(base_url: &str) {
    // Built after the variables are set: reqwest reads them when the client is built.
    let client = ApiClient::builder()
        .environment(base_url)
        .no_config_file()
        .build()
        .unwrap();
    let request = CreateWebChatConversationRequest::new("org-1", "dep-1", "Support", "Ada");
    let chat = WebChatApi::new(&client)
        .post_webchat_guest_conversations(&request)
        .await
        .unwrap();
    let mut events = EventStream::new(&client, &chat).unwrap();
    let first = timeout(WAIT, events.next()).await.expect("an item in time");
    assert!(
        matches!(first, Some(Ok(StreamEvent::Connected))),
        "{first:?}"
    );
}

#[tokio::test]
async fn http_proxy_is_used_and_no_proxy_bypasses_it() {
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "REQUEST_METHOD",
    ] {
        std::env::remove_var(name);
    }
    let emu = Emulator::builder().start().await.expect("emulator starts");
    let authority = emu.base_url().trim_start_matches("http://").to_owned();
    let proxy = Proxy::start(false).await;

    std::env::set_var("HTTP_PROXY", proxy.url());
    connect_once(&emu.base_url()).await;
    let tunnels = proxy.tunnels();
    assert_eq!(tunnels.len(), 1, "{tunnels:?}");
    assert_eq!(tunnels[0].target, authority);
    assert!(!proxy.forwarded().is_empty(), "REST used HTTP_PROXY too");

    std::env::set_var("NO_PROXY", "localhost, 127.0.0.0/8");
    let before = proxy.seen().len();
    connect_once(&emu.base_url()).await;
    assert_eq!(proxy.seen().len(), before, "NO_PROXY bypasses the proxy");

    std::env::set_var("NO_PROXY", "example.com");
    connect_once(&emu.base_url()).await;
    assert_eq!(
        proxy.tunnels().len(),
        2,
        "a non-matching NO_PROXY keeps the proxy"
    );
    emu.shutdown().await;
}
