//! REST over HTTP: one operation of the route table sent with retries, logging and a
//! tracing span per attempt, and its failures classified into [`Error`]s.
//!
//! The per-call work is kept small (issue 14, target 5): the `Authorization` value comes
//! made (once per JWT, by the client), the URL comes whole, the span is entered and the
//! correlation id looked up only when a subscriber records or the logger logs, and the
//! timeout is set per request only when the HTTP client does not carry it.

use crate::error::{header_str, ApiError, Error};
use crate::logging::{HttpExchange, SdkLogger};
use crate::retry::RetryPolicy;
use crate::routes::OperationSpec;
use crate::rt::Instant;
use crate::secret::{mask_secrets, Jwt};
use bytes::Bytes;
use futures::future::Either;
use http::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use std::time::Duration;
use tracing::Instrument;

const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");
const CORRELATION_ID: &str = "inin-correlation-id";

/// What sends REST calls: the pooled HTTP client, the retry policy and the whole-call timeout.
pub(crate) struct Rest {
    pub(crate) http: reqwest::Client,
    pub(crate) retry: RetryPolicy,
    /// The whole-call timeout (for error messages; `http` or each call applies it).
    pub(crate) timeout: Option<Duration>,
    /// The timeout set on each request: `timeout` when `http` does not carry it itself (a
    /// caller's own client, `fetch` in a browser), else `None`.
    pub(crate) per_call_timeout: Option<Duration>,
}

/// One call of [`Rest::execute`].
pub(crate) struct Call<'a> {
    /// The operation (method, retry safety, span name).
    pub(crate) spec: &'static OperationSpec,
    /// The whole URL: base, encoded path and query.
    pub(crate) url: &'a str,
    /// The JSON body.
    pub(crate) body: Option<Bytes>,
    /// The guest JWT (for the logger's masking).
    pub(crate) jwt: Option<&'a Jwt>,
    /// Its `Authorization: Bearer` value (sensitive), made once per JWT.
    pub(crate) authorization: Option<&'a HeaderValue>,
    /// Where exchanges are logged.
    pub(crate) logger: &'a SdkLogger,
}

impl Call<'_> {
    /// The request of one attempt: reqwest's own, its headers put straight into its map.
    /// Fails as sending would (an unusable URL), with reqwest's error.
    fn request(&self, rest: &Rest) -> Result<reqwest::Request, reqwest::Error> {
        let mut request = match reqwest::Url::parse(self.url) {
            Ok(url) if url.has_host() && url.username().is_empty() && url.password().is_none() => {
                reqwest::Request::new(self.spec.http_method(), url)
            }
            // Not usable, or with credentials: reqwest's builder, which refuses the one as
            // sending it would and turns the other into basic authentication.
            _ => rest
                .http
                .request(self.spec.http_method(), self.url)
                .build()?,
        };
        let headers = self.headers();
        if request.headers().is_empty() {
            *request.headers_mut() = headers;
        } else {
            // Basic authentication from the URL stays, as reqwest made it.
            for (name, value) in &headers {
                request.headers_mut().append(name, value.clone());
            }
        }
        if let Some(b) = &self.body {
            *request.body_mut() = Some(b.clone().into());
        }
        // Per call only when the client does not carry it (a caller's own client).
        if let Some(t) = rest.per_call_timeout {
            *request.timeout_mut() = Some(t);
        }
        Ok(request)
    }

    /// The request's headers: `Accept`, `Content-Type` with a body, `Authorization` with a
    /// JWT (the same map goes to the logger).
    fn headers(&self) -> HeaderMap {
        // Room for the client's `User-Agent` too, added by reqwest: no regrowth.
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(ACCEPT, APPLICATION_JSON);
        if self.body.is_some() {
            headers.insert(CONTENT_TYPE, APPLICATION_JSON);
        }
        if let Some(v) = self.authorization {
            headers.insert(AUTHORIZATION, v.clone());
        }
        headers
    }
}

/// A raw 2xx answer.
pub(crate) struct RawResponse {
    pub(crate) status: http::StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Rest {
    /// Sends one operation, with retries, logging and a tracing span per attempt.
    /// Returns the raw 2xx answer.
    pub(crate) async fn execute(&self, call: Call<'_>) -> Result<RawResponse, Error> {
        let spec = call.spec;
        let mut retry = 0u32;
        loop {
            let attempt = retry + 1;
            let span = tracing::info_span!(
                "guest_chat.request",
                route = spec.path,
                method = spec.method.as_str(),
                attempt,
                status = tracing::field::Empty,
                correlation_id = tracing::field::Empty,
            );
            // Boxed: moved as a pointer through the layers of `async fn` above it (moving
            // the future itself cost more than the allocation).
            let attempt = Box::pin(self.attempt(&call, &span));
            // Entering a span nobody records still costs on every poll: skipped then. One
            // future either way (not one per branch), so the call's future stays small.
            let attempt = if span.is_disabled() {
                Either::Right(attempt)
            } else {
                Either::Left(attempt.instrument(span.clone()))
            };
            let result = attempt.await;
            let error = match result {
                Ok(raw) => return Ok(raw),
                Err(e) => e,
            };
            let Some(wait) = self.retry.delay(retry, spec.idempotent, &error) else {
                return Err(error);
            };
            tracing::debug!(
                parent: &span,
                error = %error,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "retrying"
            );
            // Not kept across the wait (nor in the call's future).
            drop(error);
            crate::rt::sleep(wait).await;
            retry += 1;
        }
    }

    /// One attempt: sent, its answer read whole, logged; a non-2xx answer becomes an
    /// [`ApiError`]. Keeps little across its awaits (its future is part of every call's):
    /// what the logger needs is put together only when it logs.
    async fn attempt(&self, call: &Call<'_>, span: &tracing::Span) -> Result<RawResponse, Error> {
        let started = Instant::now();
        let pending = match call.request(self) {
            Ok(request) => self.http.execute(request),
            Err(e) => return Err(self.failed(call, e, started, None)),
        };
        let mut response = match pending.await {
            Ok(r) => r,
            Err(e) => return Err(self.failed(call, e, started, None)),
        };
        let status = response.status();
        // Taken, not cloned: `bytes()` consumes the response anyway.
        let headers = std::mem::take(response.headers_mut());
        span.record("status", status.as_u16());
        if !span.is_disabled() {
            // Masked: a server may put anything there, a token included.
            if let Some(c) = header_str(&headers, CORRELATION_ID) {
                span.record("correlation_id", mask_secrets(c).as_ref());
            }
        }
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return Err(self.failed(call, e, started, Some((status, &headers)))),
        };
        if call.logger.is_on() {
            log_exchange(call, Some((status, &headers)), Some(&bytes), None);
        }
        if status.is_success() {
            Ok(RawResponse {
                status,
                headers,
                body: bytes,
            })
        } else {
            Err(ApiError::from_response(status, headers, &bytes).into())
        }
    }

    /// A failed send or body read: classified, and logged with what was known by then (the
    /// status and headers when an answer had begun).
    fn failed(
        &self,
        call: &Call<'_>,
        e: reqwest::Error,
        started: Instant,
        answered: Option<(http::StatusCode, &HeaderMap)>,
    ) -> Error {
        let err = self.classify(e, &call.spec.method, call.url, started);
        if call.logger.is_on() {
            let msg = err.to_string();
            log_exchange(call, answered, None, Some(&msg));
        }
        err
    }

    fn classify(
        &self,
        e: reqwest::Error,
        method: &http::Method,
        url: &str,
        started: Instant,
    ) -> Error {
        // Unmasked here: the error masks its whole text when shown (`Display`, `Debug`).
        let mut msg = format!("{method} {url}");
        let mut src: Option<&dyn std::error::Error> = Some(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        // The message keeps the chain on one line (masked); `source()` keeps the error itself.
        let cause = e.without_url();
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(tls) = crate::error::rustls_cause(&cause) {
            msg.push_str(crate::error::tls_hint(tls));
            return Error::Tls(crate::error::TransportError::with_source(msg, cause));
        }
        if cause.is_timeout() {
            let limit = self
                .timeout
                .map_or_else(|| "the limit".into(), |t| format!("{} ms", t.as_millis()));
            let msg = format!(
                "no answer within {limit} (after {} ms): {msg}",
                started.elapsed().as_millis()
            );
            Error::Timeout(crate::error::TransportError::with_source(msg, cause))
        } else if is_connect(&cause) {
            Error::Connect(crate::error::TransportError::with_source(msg, cause))
        } else {
            Error::Transport(crate::error::TransportError::with_source(msg, cause))
        }
    }
}

/// Hands one exchange to the logger: the request as sent (its headers made again, as
/// [`Call::request`] made them), and the answer or the error.
fn log_exchange(
    call: &Call<'_>,
    answered: Option<(http::StatusCode, &HeaderMap)>,
    response_body: Option<&[u8]>,
    error: Option<&str>,
) {
    let request_headers = call.headers();
    let response_headers = answered.map(|(_, h)| h);
    call.logger.record(&HttpExchange {
        method: call.spec.method.as_str(),
        url: call.url,
        request_headers: &request_headers,
        request_body: call.body.as_deref(),
        status: answered.map(|(s, _)| s.as_u16()),
        response_headers,
        response_body,
        correlation_id: response_headers.and_then(|h| header_str(h, CORRELATION_ID)),
        error,
        jwt: call.jwt,
    });
}

/// Whether the request never reached the server (fetch does not tell, in a browser).
fn is_connect(e: &reqwest::Error) -> bool {
    #[cfg(not(target_arch = "wasm32"))]
    return e.is_connect();
    #[cfg(target_arch = "wasm32")]
    return e.is_request();
}
