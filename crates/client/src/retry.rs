//! Bounded, jittered retries: capped, randomised waits; nothing possibly processed is replayed.
//!
//! What is retried:
//!
//! | answer | idempotent operations (GET, DELETE) | others (the POSTs, the media-request PATCH) |
//! |---|---|---|
//! | 429 | yes, after `Retry-After` / `inin-ratelimit-reset` | yes: the server says it did not process it |
//! | connection failure | yes | yes: nothing was sent |
//! | 502, 503, 504, timeout | yes | **no**: it may have been processed |
//! | anything else | no | no |
//!
//! DELETE (leave) is treated as idempotent: replaying it cannot leave twice. The media-request
//! PATCH is not: a replay after a processed answer would hit a request that is no longer
//! PENDING, so it is never replayed after a possible processing.

use crate::error::Error;
use rand::Rng;
use std::time::Duration;

/// How a client retries failed calls. Set with `ApiClientBuilder::retry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 3; 0 = never retry).
    pub max_retries: u32,
    /// First back-off delay, doubled on each retry (default 200 ms).
    pub base_delay: Duration,
    /// Ceiling of one back-off delay (default 10 s).
    pub max_delay: Duration,
    /// When a 429 asks to wait longer than this, give up and return it (default 3 min).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(180),
        }
    }
}

impl RetryPolicy {
    /// Never retry (every error is returned at once, like the JavaScript SDK).
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Sets the number of retries.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the first back-off delay.
    pub fn base_delay(mut self, d: Duration) -> Self {
        self.base_delay = d;
        self
    }

    /// Sets the ceiling of one back-off delay.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// Sets the longest `Retry-After` the client is willing to wait.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// The delay before retry number `retry` (0-based) after `error`, or `None` to give up.
    pub(crate) fn delay(&self, retry: u32, idempotent: bool, error: &Error) -> Option<Duration> {
        if retry >= self.max_retries || !should_retry(idempotent, error) {
            return None;
        }
        if let Some(wait) = error.retry_after() {
            if wait > self.max_retry_after {
                return None;
            }
            // A little jitter on top so that many clients told the same time do not stampede.
            let extra = jitter(self.base_delay.min(Duration::from_millis(100)));
            return Some(wait + extra);
        }
        Some(self.backoff(retry))
    }

    /// The back-off before retry number `retry` (0-based): [`backoff`] with this policy's
    /// base and ceiling.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        backoff(self.base_delay, self.max_delay, retry)
    }
}

/// The one back-off of the SDK, used by REST retries and event-stream reconnects alike:
/// exponential with "equal jitter". Wait number `n` (0-based) is `min(base * 2^n, max)`,
/// half of it fixed and the other half random, so it lies in `[ceiling / 2, ceiling]`.
pub(crate) fn backoff(base: Duration, max: Duration, n: u32) -> Duration {
    let ceiling = base.saturating_mul(2u32.saturating_pow(n.min(30))).min(max);
    ceiling / 2 + jitter(ceiling / 2)
}

/// Whether the rules of the module table allow a replay.
pub(crate) fn should_retry(idempotent: bool, error: &Error) -> bool {
    match error {
        Error::Api(e) if e.status == 429 => true,
        Error::Connect(_) => true,
        Error::Api(e) => idempotent && matches!(e.status, 502..=504),
        Error::Timeout(_) => idempotent,
        _ => false,
    }
}

fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::rng().random_range(0..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn api(status: u16, retry_after: Option<&str>) -> Error {
        let mut h = http::HeaderMap::new();
        if let Some(r) = retry_after {
            h.insert("retry-after", r.parse().unwrap());
        }
        ApiError::from_response(http::StatusCode::from_u16(status).unwrap(), h, b"").into()
    }

    #[test]
    fn rules() {
        let p = RetryPolicy::default();
        assert!(p.delay(0, false, &api(429, None)).is_some());
        assert!(p.delay(0, false, &api(503, None)).is_none());
        assert!(p.delay(0, true, &api(503, None)).is_some());
        assert!(p.delay(0, true, &api(500, None)).is_none());
        assert!(p.delay(0, false, &Error::Connect("x".into())).is_some());
        assert!(p.delay(0, false, &Error::Timeout("x".into())).is_none());
        assert!(p.delay(0, true, &Error::Tls("x".into())).is_none());
        assert!(p.delay(3, true, &api(503, None)).is_none());
        assert!(RetryPolicy::none()
            .delay(0, true, &api(429, None))
            .is_none());
        assert!(p.delay(0, true, &api(429, Some("181"))).is_none());
        let d = p.delay(0, true, &api(429, Some("2"))).unwrap();
        assert!(d >= Duration::from_secs(2) && d <= Duration::from_millis(2100));
    }

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy::default();
        for r in 0..40 {
            let d = p.backoff(r);
            assert!(d <= p.max_delay, "{r}: {d:?}");
        }
        let d0 = p.backoff(0);
        assert!(d0 >= Duration::from_millis(100) && d0 <= Duration::from_millis(200));
    }
}
