//! CORS on every response, exactly as tower-http's `CorsLayer` with the emulator's settings
//! ([`cors_rules`]) answers, without its per-request work on the hot path.
//!
//! tower-http builds a `HeaderMap` of the CORS headers for every request and merges it into the
//! response. With these settings the headers of an actual (non-`OPTIONS`) request are fixed
//! but for the mirrored `Origin`, so they are added directly. `OPTIONS` (which tower-http
//! answers itself, as a preflight, without calling the routes) still goes through tower-http.
//! A test compares both on a set of requests, header order included.

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ORIGIN, VARY};
use http::{HeaderName, HeaderValue, Method};
use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::{Layer, Service};
use tower_http::cors::{AllowOrigin, Cors, CorsLayer};

/// tower-http's default `Vary` list, as it joins it.
const VARY_VALUE: &str = "origin, access-control-request-method, access-control-request-headers";
/// The exposed headers of [`cors_rules`], as tower-http joins them.
const EXPOSE_VALUE: &str = "inin-correlation-id,inin-ratelimit-allowed,inin-ratelimit-count,inin-ratelimit-reset,retry-after";

/// The emulator's CORS rules: any origin (mirrored), the API's methods and request headers,
/// the correlation and rate-limit headers exposed, preflights cached for an hour.
pub(crate) fn cors_rules() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            http::header::AUTHORIZATION,
            http::header::CONTENT_TYPE,
            http::header::ACCEPT,
        ])
        .expose_headers([
            HeaderName::from_static("inin-correlation-id"),
            HeaderName::from_static("inin-ratelimit-allowed"),
            HeaderName::from_static("inin-ratelimit-count"),
            HeaderName::from_static("inin-ratelimit-reset"),
            http::header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(3600))
}

/// [`cors_rules`] as a layer (see the module documentation).
#[derive(Clone)]
pub(crate) struct EmulatorCors {
    preflight: CorsLayer,
}

impl EmulatorCors {
    pub(crate) fn new() -> Self {
        EmulatorCors {
            preflight: cors_rules(),
        }
    }
}

impl<S> Layer<S> for EmulatorCors {
    type Service = CorsService<S>;
    fn layer(&self, inner: S) -> CorsService<S> {
        CorsService {
            preflight: self.preflight.layer(NoRoute),
            inner,
        }
    }
}

/// The route behind tower-http's preflight answers, which never call it.
#[derive(Clone, Copy)]
pub(crate) struct NoRoute;

impl Service<Request> for NoRoute {
    type Response = Response;
    type Error = Infallible;
    type Future = Ready<Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request) -> Self::Future {
        ready(Ok(Response::new(Body::empty())))
    }
}

/// [`EmulatorCors`]'s service.
#[derive(Clone)]
pub(crate) struct CorsService<S> {
    preflight: Cors<NoRoute>,
    inner: S,
}

impl<S> Service<Request> for CorsService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = CorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if req.method() == Method::OPTIONS {
            return CorsFuture::Preflight {
                fut: self.preflight.call(req),
            };
        }
        CorsFuture::Actual {
            cors: ActualRequest::of(&req),
            fut: self.inner.call(req),
        }
    }
}

pin_project_lite::pin_project! {
    /// [`CorsService`]'s answer.
    #[project = CorsFutureProj]
    pub(crate) enum CorsFuture<F> {
        Actual { #[pin] fut: F, cors: ActualRequest },
        Preflight { #[pin] fut: tower_http::cors::ResponseFuture<Ready<Result<Response, Infallible>>> },
    }
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for CorsFuture<F> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            CorsFutureProj::Preflight { fut } => fut.poll(cx),
            CorsFutureProj::Actual { fut, cors } => {
                let Ok(mut resp) = std::task::ready!(fut.poll(cx));
                cors.take().apply(&mut resp);
                Poll::Ready(Ok(resp))
            }
        }
    }
}

/// The CORS headers of the answer to an actual (non-`OPTIONS`) request.
#[derive(Default)]
pub(crate) struct ActualRequest {
    origin: Option<HeaderValue>,
}

impl ActualRequest {
    pub(crate) fn of(req: &Request) -> Self {
        ActualRequest {
            origin: req.headers().get(ORIGIN).cloned(),
        }
    }

    fn take(&mut self) -> Self {
        std::mem::take(self)
    }

    /// Adds them as tower-http does: `Vary` appended to any the route set, then the others
    /// (replacing any the route set) in the order its header map leaves them.
    pub(crate) fn apply(self, resp: &mut Response) {
        let h = resp.headers_mut();
        // Constants: `from_static` checks its argument each time it runs.
        #[allow(clippy::declare_interior_mutable_const)]
        const VARY_HEADER: HeaderValue = HeaderValue::from_static(VARY_VALUE);
        #[allow(clippy::declare_interior_mutable_const)]
        const EXPOSE_HEADER: HeaderValue = HeaderValue::from_static(EXPOSE_VALUE);
        h.append(VARY, VARY_HEADER);
        if let Some(origin) = self.origin {
            h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
        h.insert(ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    /// A route that sets a few headers, `Vary` and a CORS one among them.
    #[derive(Clone, Copy)]
    struct Route;

    impl Service<Request> for Route {
        type Response = Response;
        type Error = Infallible;
        type Future = Ready<Result<Response, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: Request) -> Self::Future {
            let mut resp = Response::new(Body::from("route"));
            let h = resp.headers_mut();
            h.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            if req.uri().path() == "/vary" {
                h.insert(VARY, HeaderValue::from_static("accept-encoding"));
                h.insert(ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("x"));
            }
            h.insert("inin-ratelimit-count", HeaderValue::from(3u32));
            ready(Ok(resp))
        }
    }

    type Seen = (http::StatusCode, Vec<(String, Vec<u8>)>, bytes::Bytes);
    /// Method, path, request headers.
    type Case<'a> = (Method, &'a str, Vec<(&'a str, &'a str)>);

    async fn answer<S>(svc: S, req: Request) -> Seen
    where
        S: Service<Request, Response = Response, Error = Infallible>,
    {
        let Ok(resp) = svc.oneshot(req).await;
        let (parts, body) = resp.into_parts();
        let headers = parts
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        let body = axum::body::to_bytes(body, 1 << 16).await.expect("body");
        (parts.status, headers, body)
    }

    fn request(method: &Method, path: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = http::Request::builder().method(method.clone()).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).expect("request")
    }

    #[tokio::test]
    async fn answers_exactly_as_tower_http_does() {
        let origin = ("origin", "https://site.example");
        let preflight = [
            origin,
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization,content-type",
            ),
        ];
        let cases: Vec<Case> = vec![
            (Method::GET, "/", vec![]),
            (Method::GET, "/", vec![origin]),
            (Method::POST, "/vary", vec![origin]),
            (Method::POST, "/vary", vec![]),
            (Method::DELETE, "/", vec![origin, origin]),
            (Method::PATCH, "/", vec![("origin", "null")]),
            (Method::OPTIONS, "/", preflight.to_vec()),
            (Method::OPTIONS, "/", vec![]),
            (Method::OPTIONS, "/vary", vec![origin]),
        ];
        for (method, path, headers) in cases {
            let ours = answer(
                EmulatorCors::new().layer(Route),
                request(&method, path, &headers),
            );
            let theirs = answer(cors_rules().layer(Route), request(&method, path, &headers));
            let (ours, theirs) = (ours.await, theirs.await);
            assert_eq!(ours, theirs, "{method} {path} {headers:?}");
            assert!(ours.1.iter().any(|(k, _)| k == "vary"), "{method} {path}");
        }
    }
}
