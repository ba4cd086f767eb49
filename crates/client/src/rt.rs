//! The runtime the SDK's background work runs on: tasks, timers and the clock.
//!
//! Natively that is tokio (the caller's runtime). In a browser (`wasm32`) there is no tokio
//! runtime: tasks run on the page's event loop (`wasm-bindgen-futures`), timers are the
//! page's `setTimeout` (`gloo-timers`) and the clock is `performance.now()` (`web-time`).
//! Everything else in the crate uses these names only, so the event stream's driver, the
//! retries and `GuestChat` are the same code on both.

use std::future::Future;
#[cfg(target_arch = "wasm32")]
use std::time::Duration;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use tokio::time::{error::Elapsed, sleep, sleep_until, timeout, Instant};

/// Ticks every `period`, the first tick at once; a tick missed (the task was busy) fires
/// late once and the next ones follow from then (delay, not burst).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn interval(period: std::time::Duration) -> tokio::time::Interval {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}

/// Runs `task` in the background, detached.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn spawn<F>(task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    drop(tokio::spawn(task));
}

/// `timeout` against a deadline.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) async fn timeout_at<F: Future>(
    deadline: Instant,
    future: F,
) -> Result<F::Output, Elapsed> {
    tokio::time::timeout_at(deadline, future).await
}

#[cfg(target_arch = "wasm32")]
pub(crate) use wasm::*;

#[cfg(target_arch = "wasm32")]
mod wasm {
    use super::{Duration, Future};
    use futures::future::{select, Either};
    use std::pin::pin;

    /// The page's monotonic clock (`performance.now()`).
    pub(crate) use web_time::Instant;

    /// A future did not finish in time.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) struct Elapsed;

    impl std::fmt::Display for Elapsed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("deadline has elapsed")
        }
    }

    /// Runs `task` on the page's event loop, detached.
    pub(crate) fn spawn<F>(task: F)
    where
        F: Future<Output = ()> + 'static,
    {
        wasm_bindgen_futures::spawn_local(task);
    }

    /// Waits `duration` (a `setTimeout`; the browser clamps it to its own limits).
    pub(crate) async fn sleep(duration: Duration) {
        // setTimeout takes a 32-bit count of milliseconds: longer waits are chained.
        let mut left = duration;
        while !left.is_zero() {
            let step = left.min(Duration::from_millis(i32::MAX as u64));
            gloo_timers::future::sleep(step).await;
            left -= step;
        }
    }

    /// Waits until `deadline`.
    pub(crate) async fn sleep_until(deadline: Instant) {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            sleep(deadline - now).await;
        }
    }

    /// `future`, or [`Elapsed`] when it has not finished after `duration`.
    pub(crate) async fn timeout<F: Future>(
        duration: Duration,
        future: F,
    ) -> Result<F::Output, Elapsed> {
        let future = pin!(future);
        let timer = pin!(sleep(duration));
        match select(future, timer).await {
            Either::Left((out, _)) => Ok(out),
            Either::Right(_) => Err(Elapsed),
        }
    }

    /// `future`, or [`Elapsed`] when it has not finished by `deadline`.
    pub(crate) async fn timeout_at<F: Future>(
        deadline: Instant,
        future: F,
    ) -> Result<F::Output, Elapsed> {
        let future = pin!(future);
        let timer = pin!(sleep_until(deadline));
        match select(future, timer).await {
            Either::Left((out, _)) => Ok(out),
            Either::Right(_) => Err(Elapsed),
        }
    }

    /// Ticks every `period`, the first tick at once; a missed tick fires late once and the
    /// next ones follow from then (delay, not burst), as natively.
    pub(crate) fn interval(period: Duration) -> Interval {
        Interval {
            period,
            next: Instant::now(),
        }
    }

    /// See [`interval`].
    #[derive(Debug)]
    pub(crate) struct Interval {
        period: Duration,
        next: Instant,
    }

    impl Interval {
        /// Waits for the next tick.
        pub(crate) async fn tick(&mut self) -> Instant {
            sleep_until(self.next).await;
            let now = Instant::now();
            self.next = if now > self.next {
                now + self.period
            } else {
                self.next + self.period
            };
            now
        }
    }
}
