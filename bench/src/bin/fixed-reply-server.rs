//! A minimal hyper HTTP/1.1 server answering every request with the emulator's send-message
//! reply (same body shape and headers), on one thread. Prints `listening on http://ADDR`.
//!
//! `fixed-reply-server [PORT]`

use bytes::Bytes;
use guest_chat_bench::REPLY;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the request body, as any real route does.
    let _ = http_body_util::BodyExt::collect(req.into_body()).await;
    let mut resp = Response::new(Full::new(Bytes::from_static(REPLY.as_bytes())));
    let h = resp.headers_mut();
    let fixed: [(&str, &str); 10] = [
        ("content-type", "application/json"),
        ("inin-ratelimit-allowed", "180"),
        ("inin-ratelimit-count", "1"),
        ("inin-ratelimit-reset", "60"),
        ("vary", "origin, access-control-request-method, access-control-request-headers"),
        ("access-control-expose-headers", "inin-correlation-id,inin-ratelimit-allowed,inin-ratelimit-count,inin-ratelimit-reset,retry-after"),
        ("inin-correlation-id", "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"),
        ("cache-control", "no-cache, no-store, must-revalidate"),
        ("pragma", "no-cache"),
        ("expires", "0"),
    ];
    for (k, v) in fixed {
        h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
    }
    Ok(resp)
}

fn main() -> anyhow::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .map(|p| p.parse())
        .transpose()?
        .unwrap_or(0);
    guest_chat_bench::runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("listening on http://{}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), hyper::service::service_fn(answer))
                    .await;
            });
        }
    })
}
