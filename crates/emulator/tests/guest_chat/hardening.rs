//! Hostile clients: idle and silent connections, create floods, settings that would make every
//! chat fail, and the control token.

use crate::support::*;
use futures::StreamExt;
use guest_chat_emulator::{Emulator, EmulatorError, EmulatorHandle, Faults};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

#[tokio::test]
async fn idle_connections_over_the_cap_do_not_stop_it_answering() {
    let emu = Emulator::builder()
        .max_connections(32)
        .header_read_timeout(Duration::from_secs(600))
        .idle_timeout(Duration::from_secs(600))
        .start()
        .await
        .unwrap();
    // Ten times the cap in connections that never send a byte (the timeouts are far away:
    // only the cap's eviction of idle connections can make room).
    let mut idle = Vec::new();
    for _ in 0..320 {
        idle.push(TcpStream::connect(emu.local_addr()).await.unwrap());
    }
    let c = Client::new();
    assert_eq!(health(&c, &emu).await, StatusCode::OK);
    // The oldest idle connection was closed to make room.
    closed_within(&mut idle[0], WAIT).await;
    emu.shutdown().await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_header_read_timeout() {
    let emu = Emulator::builder()
        .header_read_timeout(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let mut silent = TcpStream::connect(emu.local_addr()).await.unwrap();
    // Half a request head, never finished.
    silent
        .write_all(b"GET /emulator/health HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let mut never = TcpStream::connect(emu.local_addr()).await.unwrap();
    closed_within(&mut silent, WAIT).await;
    closed_within(&mut never, WAIT).await;
    emu.shutdown().await;
}

#[tokio::test]
async fn a_silent_tls_connection_is_closed_after_the_header_read_timeout() {
    let emu = Emulator::builder()
        .tls(guest_chat_emulator::EmulatorTls::self_signed())
        .header_read_timeout(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    // No ClientHello at all: closed by the header-read deadline (well before the 10 s
    // handshake limit would).
    let mut silent = TcpStream::connect(emu.local_addr()).await.unwrap();
    closed_within(&mut silent, Duration::from_secs(8)).await;
    emu.shutdown().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let emu = Emulator::builder()
        .idle_timeout(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let mut tcp = TcpStream::connect(emu.local_addr()).await.unwrap();
    tcp.write_all(b"GET /emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).contains("{\"ok\":true}") {
        let n = timeout(WAIT, tcp.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "closed before answering");
        got.extend_from_slice(&buf[..n]);
    }
    closed_within(&mut tcp, WAIT).await;
    emu.shutdown().await;
}

/// The attack's exact setting: 400 idle connections against the emulator binary run with
/// its defaults under a 256 open-file limit. Before the fix the accept loop spun on EMFILE
/// and no request was answered until the idle connections went away.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn four_hundred_idle_connections_under_a_256_file_limit() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new("prlimit")
        .args([
            "--nofile=256:256",
            env!("CARGO_BIN_EXE_guest-chat-emulator"),
        ])
        .args(["--port", "0", "--exit-on-stdin-close"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("prlimit (util-linux) runs the emulator");
    let stdout = child.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line)
    });
    let first = timeout(WAIT, first).await.unwrap().unwrap().unwrap();
    let base = first
        .trim()
        .strip_prefix("guest-chat emulator listening on ")
        .unwrap()
        .to_owned();
    let addr = base.strip_prefix("http://").unwrap().to_owned();
    let mut idle = Vec::new();
    for _ in 0..400 {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    let c = Client::new();
    let r = timeout(WAIT, c.get(format!("{base}/emulator/health")).send())
        .await
        .expect("answered within 20 s despite 400 idle connections")
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = timeout(
        WAIT,
        c.post(format!("{base}{BASE}"))
            .json(&create_body("Support"))
            .send(),
    )
    .await
    .expect("a create answered too")
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    drop(idle);
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn creates_over_the_per_client_limit_get_429_with_retry_after() {
    let emu = Emulator::builder()
        .create_rate_limit(3, Duration::from_secs(600))
        .start()
        .await
        .unwrap();
    let c = Client::new();
    for _ in 0..3 {
        assert_eq!(post_create(&c, &emu).await.status(), StatusCode::OK);
    }
    let r = post_create(&c, &emu).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    assert!(r.headers().contains_key("inin-correlation-id"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "too.many.requests.retry.after", "{v}");
    assert_eq!(v["status"], 429);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains(&format!("[{retry}]")),
        "{v}"
    );
    assert_eq!(emu.conversation_count(), 3);
    emu.shutdown().await;
}

#[tokio::test]
async fn the_conversation_cap_refuses_creates_and_forgetting_frees_room() {
    let emu = Emulator::builder()
        .max_conversations(5)
        .ended_retention(Duration::from_secs(1))
        .activate_without_stream(true)
        .agent_delay(Duration::from_millis(5))
        .start()
        .await
        .unwrap();
    let c = Client::new();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let v: Value = post_create(&c, &emu).await.json().await.unwrap();
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    for _ in 0..20 {
        let r = post_create(&c, &emu).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "too.many.requests.retry.after", "{v}");
    }
    assert_eq!(emu.conversation_count(), 5);
    // An ended chat is forgotten after its retention, which makes room again.
    emu.wait_for_state(&ids[0], guest_chat_emulator::ConversationState::Connected)
        .await
        .unwrap();
    emu.end_chat(&ids[0]).unwrap();
    wait_until(|| emu.conversation_count() < 5).await;
    assert!(emu.conversation_snapshot(&ids[0]).is_err());
    assert_eq!(post_create(&c, &emu).await.status(), StatusCode::OK);
    emu.shutdown().await;
}

#[tokio::test]
async fn abandoned_conversations_do_not_pile_up() {
    let emu = Emulator::builder()
        .abandoned_after(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let c = Client::new();
    for _ in 0..50 {
        assert_eq!(post_create(&c, &emu).await.status(), StatusCode::OK);
    }
    // Nobody attaches a socket: all of them are forgotten, not kept for the JWT's 21 hours.
    wait_until(|| emu.conversation_count() == 0).await;
    emu.shutdown().await;
}

/// Polls a cheap in-process counter (the sweeper has no event to await) for up to 30 s.
async fn wait_until(mut cond: impl FnMut() -> bool) {
    let r = timeout(Duration::from_secs(30), async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(r.is_ok(), "condition not reached within 30 s");
}

#[tokio::test]
async fn settings_that_make_every_chat_fail_are_config_errors() {
    let latency = Faults {
        latency_ms: 100_000_000_000_000,
        ..Faults::default()
    };
    let cases = [
        (
            "rate limit",
            Emulator::builder().rate_limit(0, Duration::from_secs(60)),
        ),
        (
            "JWT lifetime",
            Emulator::builder().jwt_lifetime(Duration::ZERO),
        ),
        (
            "max request bytes",
            Emulator::builder().max_request_bytes(0),
        ),
        ("latency", Emulator::builder().faults(latency.clone())),
        (
            "agent delay",
            Emulator::builder().agent_delay(Duration::from_secs(1 << 40)),
        ),
        (
            "create rate limit",
            Emulator::builder().create_rate_limit(0, Duration::from_secs(1)),
        ),
        (
            "max conversations",
            Emulator::builder().max_conversations(0),
        ),
        ("max connections", Emulator::builder().max_connections(0)),
        (
            "header-read timeout",
            Emulator::builder().header_read_timeout(Duration::ZERO),
        ),
        (
            "idle timeout",
            Emulator::builder().idle_timeout(Duration::ZERO),
        ),
        ("control token", Emulator::builder().control_token("")),
    ];
    for (name, builder) in cases {
        match builder.start().await {
            Err(EmulatorError::Config(m)) => assert!(!m.is_empty(), "{name}"),
            Err(other) => panic!("{name}: expected a config error, got {other}"),
            Ok(emu) => {
                emu.shutdown().await;
                panic!("{name}: accepted");
            }
        }
    }
    // At run time too.
    let emu = Emulator::builder().start().await.unwrap();
    assert!(matches!(
        emu.set_faults(latency),
        Err(EmulatorError::Config(_))
    ));
    emu.shutdown().await;
}

#[tokio::test]
async fn the_control_token_guards_the_control_api() {
    let token = "test-control-token-1234";
    let emu = Emulator::builder()
        .control_token(token)
        .start()
        .await
        .unwrap();
    assert_eq!(emu.control_token().as_deref(), Some(token));
    let c = Client::new();
    let url = format!("{}/emulator/conversations", emu.base_url());
    assert_eq!(
        c.get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let wrong = c
        .get(&url)
        .bearer_auth("test-control-token-1235")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let ok = c.get(&url).bearer_auth(token).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    // Minting a JWT is what the token protects.
    let v: Value = post_create(&c, &emu).await.json().await.unwrap();
    let cid = v["id"].as_str().unwrap();
    let mint = format!("{}/emulator/conversations/{cid}/jwt", emu.base_url());
    assert_eq!(
        c.post(&mint).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        c.post(&mint)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Health stays open (scripts probe it), and the guest API is unaffected.
    assert_eq!(health(&c, &emu).await, StatusCode::OK);
    emu.shutdown().await;
}

#[tokio::test]
async fn the_transcript_lists_every_stored_message_in_order() {
    let emu = Emulator::builder()
        .agent(guest_chat_emulator::AgentMode::Manual)
        .agent_delay(Duration::from_millis(5))
        .activate_without_stream(true)
        .start()
        .await
        .unwrap();
    let c = Client::new();
    let v: Value = post_create(&c, &emu).await.json().await.unwrap();
    let cid = v["id"].as_str().unwrap().to_owned();
    emu.wait_for_state(&cid, guest_chat_emulator::ConversationState::Connected)
        .await
        .unwrap();
    for i in 0..3 {
        emu.agent_say(&cid, format!("m{i}")).unwrap();
    }
    let bodies: Vec<String> = emu
        .transcript(&cid)
        .unwrap()
        .into_iter()
        .filter_map(|m| m.body)
        .filter(|b| b.starts_with('m'))
        .collect();
    assert_eq!(bodies, ["m0", "m1", "m2"]);
    let over_http = get_value(&c, &ctl(&emu, &format!("/conversations/{cid}/transcript"))).await;
    assert_eq!(
        over_http.as_array().unwrap().len(),
        emu.transcript(&cid).unwrap().len()
    );
    emu.shutdown().await;
}

/// A manual-agent chat with 200 ms heartbeats, its socket attached and its agent connected,
/// then `faults` set.
async fn faulted_chat(faults: Faults) -> (EmulatorHandle, Client, Chat, Ws) {
    let emu = manual_builder()
        .heartbeat_interval(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let (c, chat, ws) = agent_connected(&emu).await;
    emu.set_faults(faults).unwrap();
    (emu, c, chat, ws)
}

/// The guest's message bodies in the transcript, in order.
fn guest_bodies(emu: &EmulatorHandle, chat: &Chat) -> Vec<String> {
    emu.transcript(&chat.cid)
        .unwrap()
        .into_iter()
        .filter(|m| m.sender.as_ref().and_then(|s| s.id.as_deref()) == Some(chat.member.as_str()))
        .filter_map(|m| m.body)
        .collect()
}

#[tokio::test]
async fn send_faults_answer_before_or_after_storing_and_spare_sends_exempts_them() {
    // 429 before processing: nothing stored.
    let (emu, c, chat, _ws) = faulted_chat(Faults {
        rate_limited_rate: 1.0,
        ..Faults::default()
    })
    .await;
    let r = send(&c, &emu, &chat, "limited").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "1");
    assert!(guest_bodies(&emu, &chat).is_empty());

    // 503 after processing: stored although the client saw an error.
    emu.set_faults(Faults {
        late_error_rate: 1.0,
        ..Faults::default()
    })
    .unwrap();
    let r = send(&c, &emu, &chat, "late").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(guest_bodies(&emu, &chat), ["late"]);

    // spare_sends exempts message POSTs from the ambiguous faults.
    emu.set_faults(Faults {
        late_error_rate: 1.0,
        error_rate: 1.0,
        non_json_rate: 1.0,
        spare_sends: true,
        ..Faults::default()
    })
    .unwrap();
    assert_eq!(
        send(&c, &emu, &chat, "spared").await.status(),
        StatusCode::OK
    );
    assert_eq!(guest_bodies(&emu, &chat), ["late", "spared"]);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_duplicated_frame_arrives_twice_identical() {
    let (emu, _c, chat, mut ws) = faulted_chat(Faults {
        duplicate_frame_rate: 1.0,
        ..Faults::default()
    })
    .await;
    let sent = emu.agent_say(&chat.cid, "twice").unwrap();
    let mut copies = Vec::new();
    while copies.len() < 2 {
        let msg = timeout(WAIT, ws.next()).await.unwrap().unwrap().unwrap();
        let text = msg.into_text().unwrap();
        if text.contains(sent.id.as_deref().unwrap()) && text.contains("\"twice\"") {
            copies.push(text.to_string());
        }
    }
    assert_eq!(copies[0], copies[1]);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_stalled_socket_stays_open_and_goes_silent_heartbeats_included() {
    let (emu, _c, chat, mut ws) = faulted_chat(Faults {
        stall_rate: 1.0,
        ..Faults::default()
    })
    .await;
    emu.agent_say(&chat.cid, "never seen").unwrap();
    let quiet = timeout(Duration::from_secs(2), async {
        loop {
            match ws.next().await {
                Some(Ok(m)) if m.is_close() => return "closed",
                Some(Ok(m)) if m.to_string().contains("never seen") => return "frame",
                Some(Ok(_)) => {} // frames queued before the stall
                _ => return "closed",
            }
        }
    })
    .await;
    assert!(
        quiet.is_err(),
        "the stalled socket sent something or closed: {quiet:?}"
    );
    assert_eq!(emu.conversation_snapshot(&chat.cid).unwrap().sockets, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_dropped_socket_closes_without_a_close_frame_before_the_next_frame() {
    let (emu, _c, chat, ws) = faulted_chat(Faults {
        drop_socket_rate: 1.0,
        ..Faults::default()
    })
    .await;
    // A new socket, opened under the fault.
    drop(ws);
    wait_until(|| emu.conversation_snapshot(&chat.cid).unwrap().sockets == 0).await;
    let mut ws2 = connect(&chat.uri).await;
    emu.wait_for_sockets(&chat.cid, 1).await.unwrap();
    emu.agent_say(&chat.cid, "dropped").unwrap();
    let end = timeout(WAIT, async {
        loop {
            match ws2.next().await {
                Some(Ok(m)) if m.is_close() => return "close frame",
                Some(Ok(m)) if m.to_string().contains("dropped") => return "frame",
                Some(Ok(_)) => {}
                _ => return "dropped",
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(end, "dropped");
    emu.shutdown().await;
}
