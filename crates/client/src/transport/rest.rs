//! REST over HTTP: one operation of the route table sent with retries, logging and a
//! tracing span per attempt, and its failures classified into [`Error`]s.

use crate::error::{header_str, ApiError, Error};
use crate::logging::{HttpExchange, LogLevel, SdkLogger};
use crate::retry::RetryPolicy;
use crate::routes::OperationSpec;
use crate::rt::Instant;
use crate::secret::{mask_secrets, Jwt};
use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use std::time::Duration;
use tracing::Instrument;

const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// What sends REST calls: the pooled HTTP client, the retry policy and the whole-call timeout.
pub(crate) struct Rest {
    pub(crate) http: reqwest::Client,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Option<Duration>,
}

/// One call of [`Rest::execute`].
pub(crate) struct Call<'a> {
    /// The operation (method, retry safety, span name).
    pub(crate) spec: &'static OperationSpec,
    /// The environment's base URL (`https://api.mypurecloud.com`).
    pub(crate) base_url: &'a str,
    /// The concrete, already encoded path.
    pub(crate) path: &'a str,
    /// The encoded query string (without `?`).
    pub(crate) query: Option<&'a str>,
    /// The JSON body.
    pub(crate) body: Option<Bytes>,
    /// The guest JWT, sent as `Authorization: Bearer`.
    pub(crate) jwt: Option<&'a Jwt>,
    /// Where exchanges are logged.
    pub(crate) logger: &'a SdkLogger,
}

/// What every attempt of one call sends.
struct Request<'a> {
    method: http::Method,
    url: &'a str,
    json_body: bool,
    /// `Bearer <jwt>`, made once per call.
    authorization: Option<HeaderValue>,
}

impl Request<'_> {
    /// The request for one attempt, its headers put straight into reqwest's own map.
    fn builder(&self, http: &reqwest::Client) -> reqwest::RequestBuilder {
        let mut rb = http
            .request(self.method.clone(), self.url)
            .header(ACCEPT, APPLICATION_JSON);
        if self.json_body {
            rb = rb.header(CONTENT_TYPE, APPLICATION_JSON);
        }
        if let Some(v) = &self.authorization {
            rb = rb.header(AUTHORIZATION, v.clone());
        }
        rb
    }

    /// The request's headers, as sent by [`Rest::attempt`] (for the logger): `Accept`,
    /// `Content-Type` with a body, `Authorization` with a JWT.
    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(3);
        headers.insert(ACCEPT, APPLICATION_JSON);
        if self.json_body {
            headers.insert(CONTENT_TYPE, APPLICATION_JSON);
        }
        if let Some(v) = &self.authorization {
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
    ///
    /// The JWT (when the operation needs one) becomes the `Authorization` header here.
    /// Returns the raw 2xx answer.
    pub(crate) async fn execute(&self, call: Call<'_>) -> Result<RawResponse, Error> {
        let Call {
            spec,
            base_url,
            path,
            query,
            body,
            jwt,
            logger,
        } = call;
        let mut url = String::with_capacity(base_url.len() + path.len() + 64);
        url.push_str(base_url);
        url.push_str(path);
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(q);
        }
        let method = spec.http_method();
        let authorization = match jwt {
            Some(j) => {
                let mut v =
                    HeaderValue::try_from(format!("Bearer {}", j.expose())).map_err(|_| {
                        Error::InvalidArgument {
                            name: "jwt",
                            reason: "contains characters not allowed in an HTTP header".into(),
                        }
                    })?;
                v.set_sensitive(true);
                Some(v)
            }
            None => None,
        };
        let request = Request {
            method,
            url: &url,
            json_body: body.is_some(),
            authorization,
        };

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
            let attempt = self.attempt(logger, &request, body.clone(), jwt, &span);
            // Entering a span nobody records still costs on every poll: skipped then.
            let result = if span.is_disabled() {
                attempt.await
            } else {
                attempt.instrument(span.clone()).await
            };
            let error = match result {
                Ok(raw) => return Ok(raw),
                Err(e) => e,
            };
            match self.retry.delay(retry, spec.idempotent, &error) {
                Some(wait) => {
                    tracing::debug!(
                        parent: &span,
                        error = %error,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "retrying"
                    );
                    crate::rt::sleep(wait).await;
                    retry += 1;
                }
                None => return Err(error),
            }
        }
    }

    async fn attempt(
        &self,
        logger: &SdkLogger,
        request: &Request<'_>,
        body: Option<Bytes>,
        jwt: Option<&Jwt>,
        span: &tracing::Span,
    ) -> Result<RawResponse, Error> {
        let logging = logger.level() != LogLevel::None;
        let Request { method, url, .. } = request;
        // The headers go straight into the request's own map; the logger gets a map of
        // them only when it logs.
        let logged_headers = if logging {
            request.headers()
        } else {
            HeaderMap::new()
        };
        let mut rb = request.builder(&self.http);
        if let Some(b) = &body {
            rb = rb.body(b.clone());
        }
        // Per call too, so that a caller's own `reqwest::Client` gets it as well.
        if let Some(t) = self.timeout {
            rb = rb.timeout(t);
        }
        // What every log entry of this attempt shares; each outcome fills in the rest.
        let exchange = HttpExchange {
            method: method.as_str(),
            url,
            request_headers: &logged_headers,
            request_body: body.as_deref(),
            status: None,
            response_headers: None,
            response_body: None,
            correlation_id: None,
            error: None,
            jwt,
        };
        let started = Instant::now();
        // A failed send or body read: classified, and logged with what was known by then.
        let fail = |e: reqwest::Error, known: &HttpExchange<'_>| {
            let err = self.classify(e, method, url, started);
            if logging {
                let msg = err.to_string();
                logger.record(&HttpExchange {
                    error: Some(&msg),
                    ..*known
                });
            }
            err
        };
        let mut response = match rb.send().await {
            Ok(r) => r,
            Err(e) => return Err(fail(e, &exchange)),
        };
        let status = response.status();
        // Taken, not cloned: `bytes()` consumes the response anyway.
        let response_headers = std::mem::take(response.headers_mut());
        let correlation_id = header_str(&response_headers, "inin-correlation-id");
        span.record("status", status.as_u16());
        // Masked: a server may put anything there, a token included (only when traced).
        if let Some(c) = correlation_id.filter(|_| !span.is_disabled()) {
            span.record("correlation_id", mask_secrets(c).as_ref());
        }
        let answered = HttpExchange {
            status: Some(status.as_u16()),
            response_headers: Some(&response_headers),
            correlation_id,
            ..exchange
        };
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return Err(fail(e, &answered)),
        };
        if logging {
            logger.record(&HttpExchange {
                response_body: Some(&bytes),
                ..answered
            });
        }
        if status.is_success() {
            Ok(RawResponse {
                status,
                headers: response_headers,
                body: bytes,
            })
        } else {
            Err(ApiError::from_response(status, response_headers, &bytes).into())
        }
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

/// Whether the request never reached the server (fetch does not tell, in a browser).
fn is_connect(e: &reqwest::Error) -> bool {
    #[cfg(not(target_arch = "wasm32"))]
    return e.is_connect();
    #[cfg(target_arch = "wasm32")]
    return e.is_request();
}
