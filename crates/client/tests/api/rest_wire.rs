//! What goes on the wire, against a scripted raw HTTP server: headers, paths, queries,
//! bodies, and how many requests the retry policy makes.

use purecloud_guest_chat_client::*;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One scripted answer: status line + extra headers + body, or a delay before answering.
#[derive(Clone)]
struct Answer {
    status: &'static str,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

fn answer(status: &'static str, body: &str) -> Answer {
    Answer {
        status,
        headers: vec![],
        body: body.to_owned(),
        delay: Duration::ZERO,
    }
}

struct Server {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// Serves `script` in order (the last answer repeats).
async fn server(script: Vec<Answer>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let queue = Arc::new(Mutex::new(VecDeque::from(script)));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let seen = seen2.clone();
            let queue = queue.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                loop {
                    // read one request
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match sock.read(&mut tmp).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&tmp[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                    let mut lines = head.split("\r\n");
                    let request_line = lines.next().unwrap_or("").to_owned();
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                        .collect();
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        match sock.read(&mut tmp).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&tmp[..n]),
                        }
                    }
                    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned();
                    buf.drain(..head_end + len);
                    seen.lock().unwrap().push(Seen {
                        request_line,
                        headers,
                        body,
                    });
                    let a = {
                        let mut q = queue.lock().unwrap();
                        if q.len() > 1 {
                            q.pop_front().unwrap()
                        } else {
                            q.front().cloned().unwrap()
                        }
                    };
                    tokio::time::sleep(a.delay).await;
                    let mut resp = format!(
                        "HTTP/1.1 {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\ninin-correlation-id: corr-1\r\n",
                        a.status,
                        a.body.len()
                    );
                    for (k, v) in &a.headers {
                        resp.push_str(&format!("{k}: {v}\r\n"));
                    }
                    resp.push_str("\r\n");
                    resp.push_str(&a.body);
                    if sock.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Server { base, seen }
}

fn client(base: &str, policy: RetryPolicy) -> ApiClient {
    ApiClient::builder()
        .environment(base)
        .no_config_file()
        .no_proxy()
        .retry(policy.base_delay(Duration::from_millis(5)))
        .default_header("X-App", "demo")
        .build()
        .unwrap()
}

const MEMBER: &str = r#"{"id":"m1","role":"CUSTOMER"}"#;
const ERR503: &str = r#"{"status":503,"code":"service.unavailable","message":"down"}"#;

#[allow(
    clippy::too_many_lines,
    reason = "what one recorded request carries, field by field"
)]
#[tokio::test]
async fn headers_paths_and_bodies() {
    let s = server(vec![
        answer(
            "200 OK",
            r#"{"id":"c1","jwt":"a.b.c","member":{"id":"m1"}}"#,
        ),
        answer("200 OK", r#"{"id":"x"}"#),
        answer("200 OK", r#"{"entities":[]}"#),
        answer("200 OK", r#"{"entities":[]}"#),
        answer("204 No Content", ""),
    ])
    .await;
    let c = client(&s.base, RetryPolicy::default());
    let api = WebChatApi::new(&c);
    c.set_jwt("should.not.be-sent-on-create");
    api.post_webchat_guest_conversations(&CreateWebChatConversationRequest::new(
        "o", "d", "q", "Ada",
    ))
    .await
    .unwrap();
    c.set_jwt("h.p.s");
    api.post_webchat_guest_conversation_member_messages(
        "c 1",
        "m/1",
        &CreateWebChatMessageRequest::new("hi"),
    )
    .await
    .unwrap();
    api.get_webchat_guest_conversation_members("c1", &GetMembersOptions::default())
        .await
        .unwrap();
    api.get_webchat_guest_conversation_messages(
        "c1",
        &GetMessagesOptions::new()
            .after("a b&c")
            .sort_order(SortOrder::Descending),
    )
    .await
    .unwrap();
    let r = api
        .delete_webchat_guest_conversation_member_with_http_info("c1", "m1")
        .await
        .unwrap();
    assert_eq!((r.status, r.status_text.as_str()), (204, "No Content"));
    assert_eq!(r.correlation_id(), Some("corr-1"));

    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 5);
    let create = &seen[0];
    assert_eq!(
        create.request_line,
        "POST /api/v2/webchat/guest/conversations HTTP/1.1"
    );
    assert_eq!(
        create.header("authorization"),
        None,
        "create never sends a JWT"
    );
    assert_eq!(create.header("accept"), Some("application/json"));
    assert_eq!(create.header("content-type"), Some("application/json"));
    assert_eq!(create.header("x-app"), Some("demo"));
    assert_eq!(
        create.header("user-agent"),
        Some(concat!(
            "purecloud-guest-chat-client-rust/",
            env!("CARGO_PKG_VERSION")
        ))
    );
    assert_eq!(
        create.body,
        r#"{"organizationId":"o","deploymentId":"d","routingTarget":{"targetType":"QUEUE","targetAddress":"q"},"memberInfo":{"displayName":"Ada"}}"#
    );
    let send = &seen[1];
    assert_eq!(
        send.request_line,
        "POST /api/v2/webchat/guest/conversations/c%201/members/m%2F1/messages HTTP/1.1"
    );
    assert_eq!(send.header("authorization"), Some("Bearer h.p.s"));
    assert_eq!(send.body, r#"{"body":"hi","bodyType":"standard"}"#);
    let members = &seen[2];
    assert_eq!(
        members.request_line, "GET /api/v2/webchat/guest/conversations/c1/members HTTP/1.1",
        "unset options are not sent"
    );
    assert_eq!(
        members.header("content-type"),
        None,
        "no body, no content type"
    );
    assert_eq!(members.header("accept"), Some("application/json"));
    assert_eq!(
        seen[3].request_line,
        "GET /api/v2/webchat/guest/conversations/c1/messages?after=a+b%26c&sortOrder=descending HTTP/1.1"
    );
    assert_eq!(
        seen[4].request_line,
        "DELETE /api/v2/webchat/guest/conversations/c1/members/m1 HTTP/1.1"
    );
}

#[tokio::test]
async fn reads_are_retried_on_503_writes_are_not() {
    let s = server(vec![
        answer("503 Service Unavailable", ERR503),
        answer("503 Service Unavailable", ERR503),
        answer("200 OK", MEMBER),
    ])
    .await;
    let c = client(&s.base, RetryPolicy::default());
    c.set_jwt("h.p.s");
    let api = WebChatApi::new(&c);
    let m = api
        .get_webchat_guest_conversation_member("c1", "m1")
        .await
        .unwrap();
    assert_eq!(m.id.as_deref(), Some("m1"));
    assert_eq!(s.seen.lock().unwrap().len(), 3);

    let s = server(vec![answer("503 Service Unavailable", ERR503)]).await;
    let c = client(&s.base, RetryPolicy::default());
    c.set_jwt("h.p.s");
    let e = WebChatApi::new(&c)
        .post_webchat_guest_conversation_member_typing("c1", "m1")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(
        s.seen.lock().unwrap().len(),
        1,
        "a POST is never replayed after a 503"
    );
    let e = WebChatApi::new(&c)
        .patch_webchat_guest_conversation_mediarequest(
            "c1",
            "r1",
            &WebChatGuestMediaRequest::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(s.seen.lock().unwrap().len(), 2, "nor is the PATCH");

    // bounded: 1 + max_retries requests, then the last error
    let s = server(vec![answer("502 Bad Gateway", "")]).await;
    let c = client(&s.base, RetryPolicy::default().max_retries(2));
    c.set_jwt("h.p.s");
    let e = WebChatApi::new(&c)
        .get_webchat_guest_conversation_mediarequests("c1")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(502));
    assert!(e.as_api().unwrap().body.is_none());
    assert_eq!(s.seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_429_is_retried_for_writes_too_honouring_retry_after() {
    let mut limited = answer(
        "429 Too Many Requests",
        r#"{"status":429,"code":"too.many.requests.retry.after","message":"Retry the request in [1] seconds"}"#,
    );
    limited.headers = vec![("retry-after", "1".into())];
    let s = server(vec![limited.clone(), answer("200 OK", r#"{"id":"msg"}"#)]).await;
    let c = client(&s.base, RetryPolicy::default());
    c.set_jwt("h.p.s");
    let t = Instant::now();
    WebChatApi::new(&c)
        .post_webchat_guest_conversation_member_messages(
            "c1",
            "m1",
            &CreateWebChatMessageRequest::new("x"),
        )
        .await
        .unwrap();
    assert!(t.elapsed() >= Duration::from_secs(1));
    assert_eq!(s.seen.lock().unwrap().len(), 2);

    // inin-ratelimit-reset when there is no Retry-After
    let mut reset = answer(
        "429 Too Many Requests",
        r#"{"status":429,"code":"too.many.requests"}"#,
    );
    reset.headers = vec![("inin-ratelimit-reset", "42".into())];
    let s = server(vec![reset]).await;
    let c = client(&s.base, RetryPolicy::none());
    c.set_jwt("h.p.s");
    let e = WebChatApi::new(&c)
        .get_webchat_guest_conversation_mediarequests("c1")
        .await
        .unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(42)));
    assert_eq!(e.correlation_id(), Some("corr-1"));
    assert_eq!(s.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn timeouts_are_retried_for_reads_only() {
    let mut slow = answer("200 OK", MEMBER);
    slow.delay = Duration::from_millis(400);
    let s = server(vec![slow.clone(), answer("200 OK", MEMBER)]).await;
    let c = ApiClient::builder()
        .environment(s.base.as_str())
        .no_config_file()
        .no_proxy()
        .timeout(Duration::from_millis(150))
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(5)))
        .jwt("h.p.s")
        .build()
        .unwrap();
    let api = WebChatApi::new(&c);
    api.get_webchat_guest_conversation_member("c1", "m1")
        .await
        .expect("second attempt answers in time");
    assert_eq!(s.seen.lock().unwrap().len(), 2);

    let s = server(vec![slow]).await;
    c.set_environment(s.base.as_str()).unwrap();
    let e = api
        .post_webchat_guest_conversation_member_typing("c1", "m1")
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    let cause = std::error::Error::source(&e).expect("a timeout keeps its cause");
    let cause = cause
        .downcast_ref::<reqwest::Error>()
        .expect("reqwest's error");
    assert!(cause.is_timeout(), "{cause:?}");
    assert_eq!(s.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn decode_errors_name_the_path() {
    let s = server(vec![answer(
        "200 OK",
        r#"{"id":"m1","joinDate":"not a date"}"#,
    )])
    .await;
    let c = client(&s.base, RetryPolicy::none());
    c.set_jwt("h.p.s");
    let e = WebChatApi::new(&c)
        .get_webchat_guest_conversation_member("c1", "m1")
        .await
        .unwrap_err();
    match &e {
        Error::Decode { path, status, .. } => {
            assert_eq!(path, "joinDate");
            assert_eq!(*status, 200);
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("`joinDate`"), "{e}");

    // an empty 200 is fine for delete
    let s = server(vec![answer("200 OK", "")]).await;
    c.set_environment(s.base.as_str()).unwrap();
    WebChatApi::new(&c)
        .delete_webchat_guest_conversation_member("c1", "m1")
        .await
        .unwrap();
}

#[tokio::test]
async fn connect_errors_are_retried_even_for_writes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = client(
        &format!("http://127.0.0.1:{port}"),
        RetryPolicy::default().max_retries(1),
    );
    c.set_jwt("h.p.s");
    let e = WebChatApi::new(&c)
        .post_webchat_guest_conversation_member_typing("c1", "m1")
        .await
        .unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    assert!(e.is_retryable());
    // The cause is kept down to the operating system's error.
    let chain: Vec<&dyn std::error::Error> =
        std::iter::successors(std::error::Error::source(&e), |s| s.source()).collect();
    assert!(
        chain
            .iter()
            .any(|s| s.downcast_ref::<std::io::Error>().is_some()),
        "{chain:?}"
    );
}

/// A server that answers GET member with the caller's TCP port as the member id, so a test
/// can see whether two calls shared a pooled connection.
async fn port_echo_server() -> String {
    use axum::extract::ConnectInfo;
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/api/v2/webchat/guest/conversations/{cid}/members/{mid}",
        get(
            |ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>| async move {
                axum::Json(serde_json::json!({"id": peer.port().to_string()}))
            },
        ),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    base
}

async fn ports_of_two_calls(client: &ApiClient) -> (String, String) {
    let api = WebChatApi::new(client);
    let mut ports = Vec::new();
    for _ in 0..2 {
        let m = api
            .get_webchat_guest_conversation_member("c-1", "m-1")
            .await
            .expect("member");
        ports.push(m.id.expect("id"));
    }
    (ports[0].clone(), ports[1].clone())
}

#[tokio::test]
async fn the_pool_reuses_connections_unless_told_not_to_keep_idle_ones() {
    let base = port_echo_server().await;
    let builder = || {
        ApiClient::builder()
            .environment(base.as_str())
            .jwt("not-checked-here")
            .no_config_file()
            .no_proxy()
    };
    let pooled = builder().build().unwrap();
    let (a, b) = ports_of_two_calls(&pooled).await;
    assert_eq!(a, b, "sequential calls share one keep-alive connection");
    let unpooled = builder().pool_max_idle_per_host(0).build().unwrap();
    let (a, b) = ports_of_two_calls(&unpooled).await;
    assert_ne!(
        a, b,
        "with no idle connections kept, each call opens its own"
    );
}
