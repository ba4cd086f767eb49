//! REST throughput of the SDK against a trivial local server (a fixed 200 JSON reply), the
//! setup used to measure the official JavaScript SDK (about 2.0-2.8k
//! calls/s sequentially and 2.5-4.1k calls/s with 50 in flight on this kind of machine).
//!
//! `cargo bench -p purecloud-guest-chat-client --bench rest_throughput`

// criterion_group! defines an undocumented `pub fn`.
#![allow(missing_docs)]

use axum::routing::post;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::future::join_all;
use purecloud_guest_chat_client::{
    ApiClient, CreateWebChatMessageRequest, RetryPolicy, WebChatApi,
};
use std::net::SocketAddr;

const REPLY: &str = r#"{"id":"d184e1de-b9c8-4dd3-b970-a2a5adbaac3a","conversation":{"id":"c1","selfUri":"/api/v2/conversations/c1"},"sender":{"id":"m1"},"body":"x","bodyType":"standard","timestamp":"2020-08-05T13:09:49.546Z","selfUri":"/api/v2/webchat/guest/conversations/c1/messages/d184e1de"}"#;

/// Starts the fixed-reply server on its own single-threaded runtime (its own core).
fn start_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/api/v2/webchat/guest/conversations/{c}/members/{m}/messages",
                post(|| async { ([("content-type", "application/json")], REPLY) }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr"))
                .expect("send addr");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    rx.recv().expect("server address")
}

fn bench(c: &mut Criterion) {
    let addr = start_server();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let client = rt.block_on(async {
        ApiClient::builder()
            .environment(format!("http://{addr}").as_str())
            .no_config_file()
            .retry(RetryPolicy::none())
            .jwt("abc.def.ghi")
            .build()
            .expect("client")
    });
    let api = WebChatApi::new(&client);
    let body = CreateWebChatMessageRequest::new("x");

    let mut group = c.benchmark_group("post_message");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sequential", |b| {
        b.to_async(&rt).iter(|| async {
            api.post_webchat_guest_conversation_member_messages("c1", "m1", &body)
                .await
                .expect("200")
        });
    });
    const IN_FLIGHT: usize = 50;
    group.throughput(Throughput::Elements(IN_FLIGHT as u64));
    group.bench_function("50_in_flight", |b| {
        b.to_async(&rt).iter(|| async {
            let calls = (0..IN_FLIGHT)
                .map(|_| api.post_webchat_guest_conversation_member_messages("c1", "m1", &body));
            for r in join_all(calls).await {
                r.expect("200");
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
