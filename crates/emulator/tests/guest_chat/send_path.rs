//! A guest message post is answered without the router while no REST fault is set; with one
//! set (here a member-lookup delay, which does nothing to a post) it goes through the router
//! and its layers. Both must answer byte for byte alike on the wire, but for what differs
//! between any two answers (ids, timestamps, the date, the correlation id, rate counts).

use crate::support::{create, manual_builder, Chat, BASE};
use guest_chat_emulator::{EmulatorHandle, Faults};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An answer as read off the socket: status line, headers in order (the varying ones
/// blanked), the body with its varying fields removed.
type Wire = (String, Vec<(String, String)>, Value);

/// Sends one raw HTTP/1.1 request and reads its answer (`Connection: close`).
async fn raw(emu: &EmulatorHandle, head: &str, body: &str) -> Wire {
    let mut tcp = TcpStream::connect(emu.local_addr()).await.expect("connect");
    let host = emu.local_addr();
    let req = format!(
        "{head}\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.expect("write");
    let mut bytes = Vec::new();
    tokio::time::timeout(crate::support::WAIT, tcp.read_to_end(&mut bytes))
        .await
        .expect("answered in time")
        .expect("read");
    let text = String::from_utf8(bytes).expect("UTF-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.split("\r\n");
    let status = lines.next().expect("status line").to_owned();
    let mut headers = Vec::new();
    for line in lines {
        let (k, v) = line.split_once(": ").expect("a header line");
        let k = k.to_ascii_lowercase();
        if k == "content-length" {
            assert_eq!(v.parse::<usize>().expect("a length"), body.len(), "{line}");
        }
        let varies = [
            "date",
            "inin-correlation-id",
            "inin-ratelimit-count",
            "content-length",
        ];
        let v = if varies.contains(&k.as_str()) { "*" } else { v };
        headers.push((k, v.to_owned()));
    }
    let mut body: Value = serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()));
    if let Some(map) = body.as_object_mut() {
        for key in ["id", "timestamp", "selfUri", "contextId"] {
            map.remove(key);
        }
    }
    (status, headers, body)
}

/// The requests compared: valid posts (with and without `Origin`) and each way to refuse one.
fn requests(chat: &Chat, other: &Chat) -> Vec<(String, String)> {
    let post = |cid: &str, mid: &str, headers: &str| {
        format!("POST {BASE}/{cid}/members/{mid}/messages HTTP/1.1{headers}")
    };
    let auth = format!("\r\nAuthorization: {}", chat.auth());
    let json = format!("{auth}\r\nContent-Type: application/json");
    let ok = r#"{"body":"hello \"you\"","bodyType":"standard"}"#.to_owned();
    let (c, m) = (chat.cid.as_str(), chat.member.as_str());
    vec![
        (post(c, m, &json), ok.clone()),
        (
            post(c, m, &format!("{json}\r\nOrigin: https://site.example")),
            ok.clone(),
        ),
        (post(c, m, "\r\nContent-Type: application/json"), ok.clone()),
        (
            post(c, m, "\r\nAuthorization: Bearer a.b.c\r\nOrigin: null"),
            ok.clone(),
        ),
        (post(c, &other.member, &json), ok.clone()),
        (post(&other.cid, m, &json), ok.clone()),
        (post(c, m, &json), "{not json".to_owned()),
        (post(c, m, &json), String::new()),
        (post(c, m, &json), r#"{"bodyType":"standard"}"#.to_owned()),
        (
            post(c, m, &format!("{auth}\r\nContent-Type: text/plain")),
            ok,
        ),
    ]
}

#[tokio::test]
async fn a_message_post_answers_alike_with_and_without_the_router() {
    let emu = manual_builder()
        .activate_without_stream(true)
        .start()
        .await
        .expect("emulator starts");
    let c = reqwest::Client::new();
    let (chat, other) = (create(&c, &emu).await, create(&c, &emu).await);
    let router_path = Faults {
        member_lookup_delay_ms: 1,
        ..Faults::default()
    };
    for (head, body) in requests(&chat, &other) {
        emu.set_faults(Faults::default()).expect("faults off");
        let direct = raw(&emu, &head, &body).await;
        emu.set_faults(router_path.clone()).expect("faults on");
        let routed = raw(&emu, &head, &body).await;
        assert_eq!(direct, routed, "{head}");
        assert!(direct.1.iter().any(|(k, _)| k == "vary"), "{direct:?}");
    }
    // Both kinds of post were stored.
    let sent = emu.transcript(&chat.cid).expect("transcript");
    let hellos = sent
        .iter()
        .filter(|m| m.body.as_deref() == Some("hello \"you\""));
    assert_eq!(hellos.count(), 4);
}
