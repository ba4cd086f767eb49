//! The event stream and REST through an explicit `http://`, `https://` or SOCKS5 proxy
//! (`ApiClientBuilder::proxy`).

use crate::support::proxy as proxy_support;

use futures::StreamExt;
use guest_chat_emulator::{Emulator, EmulatorHandle};
use proxy_support::Proxy;
use purecloud_guest_chat_client::events::{
    CloseReason, EventStream, EventStreamOptions, StreamEvent,
};
use purecloud_guest_chat_client::{
    ApiClient, ChatEvent, CreateWebChatConversationRequest, CreateWebChatConversationResponse,
    CreateWebChatMessageRequest, Error, EventStreamError, WebChatApi, WebChatMessage,
};
use std::time::Duration;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

async fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .agent_delay(Duration::from_millis(5))
        .start()
        .await
        .expect("emulator starts")
}

fn emulator_authority(emu: &EmulatorHandle) -> String {
    emu.base_url().trim_start_matches("http://").to_owned()
}

fn options() -> EventStreamOptions {
    EventStreamOptions::default()
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
        .max_reconnect_attempts(Some(3))
}

/// Creates a chat with `client` (directly or through its proxy).
async fn create_chat(client: &ApiClient) -> CreateWebChatConversationResponse {
    let request = CreateWebChatConversationRequest::new("org-1", "dep-1", "Support", "Ada");
    WebChatApi::new(client)
        .post_webchat_guest_conversations(&request)
        .await
        .unwrap()
}

async fn next(stream: &mut EventStream) -> Option<Result<StreamEvent, Error>> {
    timeout(WAIT, stream.next()).await.expect("an item in time")
}

/// A client for `emu` that goes through the proxy at `proxy_url`, trusting the extra roots
/// in `pems`.
fn proxied_client(emu: &EmulatorHandle, proxy_url: impl Into<String>, pems: &[&str]) -> ApiClient {
    pems.iter()
        .fold(
            ApiClient::builder()
                .environment(emu.base_url().as_str())
                .proxy(proxy_url),
            |builder, pem| builder.add_root_certificate_pem(pem.as_bytes()),
        )
        .no_config_file()
        .build()
        .unwrap()
}

/// A client for `emu` through the proxy at `proxy_url` (trusting `pems`), and a chat
/// created with it.
async fn chat_through(
    emu: &EmulatorHandle,
    proxy_url: impl Into<String>,
    pems: &[&str],
) -> (ApiClient, CreateWebChatConversationResponse) {
    let client = proxied_client(emu, proxy_url, pems);
    let chat = create_chat(&client).await;
    (client, chat)
}

/// A client for `emu` that connects directly, whatever the environment says.
fn direct_client(emu: &EmulatorHandle) -> ApiClient {
    ApiClient::builder()
        .environment(emu.base_url().as_str())
        .no_proxy()
        .no_config_file()
        .build()
        .unwrap()
}

/// Opens `chat`'s event stream with `client` and checks that it connects.
async fn connected_stream(
    client: &ApiClient,
    chat: &CreateWebChatConversationResponse,
) -> EventStream {
    let mut events = EventStream::with_options(client, chat, options()).unwrap();
    assert!(matches!(
        next(&mut events).await,
        Some(Ok(StreamEvent::Connected))
    ));
    events
}

/// Reads `events` until a chat message that `wanted` accepts arrives (other events skipped).
async fn until_message(events: &mut EventStream, wanted: impl Fn(&WebChatMessage) -> bool) {
    loop {
        match next(events).await {
            Some(Ok(StreamEvent::Chat(ChatEvent::Message(m)))) if wanted(&m) => break,
            Some(Ok(_)) => continue,
            other => panic!("stream ended or failed: {other:?}"),
        }
    }
}

#[tokio::test]
async fn event_stream_and_rest_go_through_the_proxy_with_credentials() {
    let emu = emulator().await;
    let proxy = Proxy::start(false).await;
    let proxy_url = format!("http://ada:p%40ss@127.0.0.1:{}", proxy.port);
    let (client, chat) = chat_through(&emu, proxy_url, &[]).await;
    assert!(!proxy.forwarded().is_empty(), "REST went through the proxy");

    let mut events = connected_stream(&client, &chat).await;
    let tunnels = proxy.tunnels();
    assert_eq!(tunnels.len(), 1, "{tunnels:?}");
    assert_eq!(tunnels[0].target, emulator_authority(&emu));
    // "ada:p@ss", percent-decoded from the URL.
    assert_eq!(tunnels[0].auth.as_deref(), Some("Basic YWRhOnBAc3M="));

    // Events flow through the tunnel: the echo agent answers a message.
    let chat_api = WebChatApi::new(&client.with_jwt(chat.jwt.clone().unwrap()));
    let conversation = chat.id.clone().unwrap();
    let member = chat.member.clone().unwrap().id.unwrap();
    chat_api
        .post_webchat_guest_conversation_member_messages(
            &conversation,
            &member,
            &CreateWebChatMessageRequest::new("through the proxy"),
        )
        .await
        .unwrap();
    until_message(&mut events, |m| {
        m.body
            .as_deref()
            .is_some_and(|b| b.contains("through the proxy"))
            && m.sender.as_ref().and_then(|s| s.id.as_deref()) != Some(&member)
    })
    .await;
    assert_eq!(proxy.tunnels().len(), 1, "one tunnel, no reconnects");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_proxy_refusing_the_tunnel_with_407_closes_the_stream_with_a_clear_error() {
    let emu = emulator().await;
    let proxy = Proxy::start(true).await;
    let proxy_url = format!("http://ada:hunter2@127.0.0.1:{}", proxy.port);
    let (client, chat) = chat_through(&emu, proxy_url, &[]).await;
    let jwt = chat.jwt.clone().unwrap();

    let mut events = EventStream::with_options(&client, &chat, options()).unwrap();
    let err = match next(&mut events).await {
        Some(Err(Error::EventStream(e))) => {
            assert!(matches!(e, EventStreamError::ProxyAuth(_)), "{e:?}");
            e.to_string()
        }
        other => panic!("expected an event-stream error, got {other:?}"),
    };
    assert!(err.contains("407"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{}", proxy.port)), "{err}");
    assert!(!err.contains("hunter2") && !err.contains(&jwt), "{err}");
    assert!(matches!(
        next(&mut events).await,
        Some(Ok(StreamEvent::Closed {
            reason: CloseReason::GaveUp { .. }
        }))
    ));
    assert!(next(&mut events).await.is_none());
    assert_eq!(
        proxy.tunnels().len(),
        1,
        "no retry with the same credentials"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn no_proxy_connects_directly() {
    let emu = emulator().await;
    let proxy = Proxy::start(false).await;
    // The builder's `no_proxy()` wins over the environment; nothing reaches the proxy.
    let client = direct_client(&emu);
    let chat = create_chat(&client).await;
    let _events = connected_stream(&client, &chat).await;
    assert!(proxy.seen().is_empty());
    emu.shutdown().await;
}

#[tokio::test]
async fn event_stream_and_rest_go_through_an_https_proxy() {
    let emu = emulator().await;
    let proxy = Proxy::start_tls().await;
    let proxy_pem = proxy.certificate_pem.as_deref().unwrap();
    let (client, chat) = chat_through(&emu, proxy.url(), &[proxy_pem]).await;
    assert!(!proxy.forwarded().is_empty(), "REST went through the proxy");
    let mut events = connected_stream(&client, &chat).await;
    let tunnels = proxy.tunnels();
    assert_eq!(tunnels.len(), 1, "{tunnels:?}");
    assert_eq!(tunnels[0].target, emulator_authority(&emu));
    // Events flow through the TLS tunnel: the echo agent's greeting arrives.
    until_message(&mut events, |m| {
        m.body.as_deref().is_some_and(|b| b.starts_with("Hello"))
    })
    .await;
    emu.shutdown().await;
}

#[tokio::test]
async fn an_untrusted_https_proxy_ends_the_stream_with_a_tls_error() {
    let emu = emulator().await;
    let proxy = Proxy::start_tls().await;
    let chat = create_chat(&direct_client(&emu)).await;
    let untrusting = proxied_client(&emu, proxy.url(), &[]);
    let mut events = EventStream::with_options(&untrusting, &chat, options()).unwrap();
    let mut errors = Vec::new();
    let mut closed = None;
    while let Some(item) = next(&mut events).await {
        match item {
            Err(e) => errors.push(e),
            Ok(StreamEvent::Closed { reason }) => closed = Some(reason),
            Ok(_) => {}
        }
    }
    assert_eq!(
        closed,
        Some(CloseReason::GaveUp { attempts: 1 }),
        "{errors:?}"
    );
    let text = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("TLS handshake with the proxy") && text.contains("add_root_certificate_pem"),
        "{text}"
    );
    assert!(
        proxy.tunnels().is_empty(),
        "no CONNECT before a verified handshake"
    );
    assert!(!text.contains(chat.jwt.as_deref().unwrap()), "{text}");
    emu.shutdown().await;
}

/// A minimal no-auth SOCKS5 server; returns its port and the targets it connected to.
async fn socks5_server() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = [0u8; 2];
                s.read_exact(&mut head).await?;
                let mut methods = vec![0u8; usize::from(head[1])];
                s.read_exact(&mut methods).await?;
                s.write_all(&[5, 0]).await?;
                let mut req = [0u8; 4];
                s.read_exact(&mut req).await?;
                let host = match req[3] {
                    1 => {
                        let mut a = [0u8; 4];
                        s.read_exact(&mut a).await?;
                        std::net::Ipv4Addr::from(a).to_string()
                    }
                    3 => {
                        let mut name = vec![0u8; usize::from(s.read_u8().await?)];
                        s.read_exact(&mut name).await?;
                        String::from_utf8_lossy(&name).into_owned()
                    }
                    _ => return Ok::<_, std::io::Error>(()),
                };
                let port = s.read_u16().await?;
                let target = format!("{host}:{port}");
                log.lock().unwrap().push(target.clone());
                let mut upstream = tokio::net::TcpStream::connect(&target).await?;
                s.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
                tokio::io::copy_bidirectional(&mut s, &mut upstream).await?;
                Ok(())
            });
        }
    });
    (port, seen)
}

#[tokio::test]
async fn event_stream_goes_through_a_socks5_proxy() {
    let emu = emulator().await;
    let (port, seen) = socks5_server().await;
    let (client, chat) = chat_through(&emu, format!("socks5h://127.0.0.1:{port}"), &[]).await;
    let before = seen.lock().unwrap().len();
    let _events = connected_stream(&client, &chat).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), before + 1, "{seen:?}");
    assert_eq!(seen[before], emulator_authority(&emu));
    emu.shutdown().await;
}

#[tokio::test]
async fn wss_through_the_proxy_trusts_the_extra_root() {
    let emu = Emulator::builder()
        .tls(guest_chat_emulator::EmulatorTls::self_signed())
        .agent_delay(Duration::from_millis(5))
        .start()
        .await
        .expect("emulator starts");
    let pem = emu.tls_certificate_pem().expect("pem");
    let proxy = Proxy::start(false).await;
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let client = proxied_client(&emu, proxy_url, &[pem.as_str()]);
    let request = CreateWebChatConversationRequest::new("org-1", "dep-1", "Support", "Ada");
    let chat = WebChatApi::new(&client)
        .post_webchat_guest_conversations(&request)
        .await
        .expect("create over https through the proxy");
    assert!(chat
        .event_stream_uri
        .as_deref()
        .is_some_and(|u| u.starts_with("wss://")));
    let events = connected_stream(&client, &chat).await;
    // https REST and the wss stream both tunnel (CONNECT) to the emulator.
    let authority = emu.local_addr().to_string();
    let tunnels = proxy.tunnels();
    assert!(tunnels.len() >= 2, "{tunnels:?}");
    assert!(tunnels.iter().all(|t| t.target == authority), "{tunnels:?}");
    assert!(proxy.forwarded().is_empty(), "nothing in the clear");
    drop(events);
    emu.shutdown().await;
}
