//! What the chats of a run record: latency histograms, errors and exactly-once violations by
//! kind, send recoveries, and live counters for the progress bar.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The three latency series, in microseconds.
#[derive(Clone)]
pub(super) struct Series {
    /// Create until the guest is CONNECTED.
    pub start: Histogram<u64>,
    /// A message sent until its echo arrived.
    pub round_trip: Histogram<u64>,
    /// The REST send alone.
    pub send: Histogram<u64>,
}

/// Series names: the JSON key, the interval-log tag, and the label of the table and plot.
pub(super) const SERIES: [(&str, &str); 3] = [
    ("chatStart", "chat start (-> CONNECTED)"),
    ("roundTrip", "message round trip"),
    ("send", "REST send"),
];

impl Series {
    pub(super) fn new() -> Result<Series, hdrhistogram::CreationError> {
        // Microseconds, 1 us .. 1 h, 3 significant digits.
        let h = || Histogram::new_with_bounds(1, 3_600_000_000, 3);
        Ok(Series {
            start: h()?,
            round_trip: h()?,
            send: h()?,
        })
    }

    /// The histograms in the order of [`SERIES`].
    pub(super) fn all(&self) -> [&Histogram<u64>; 3] {
        [&self.start, &self.round_trip, &self.send]
    }

    pub(super) fn all_mut(&mut self) -> [&mut Histogram<u64>; 3] {
        [&mut self.start, &mut self.round_trip, &mut self.send]
    }

    pub(super) fn is_empty(&self) -> bool {
        self.all().iter().all(|h| h.is_empty())
    }
}

/// Which series a latency goes to.
#[derive(Clone, Copy)]
pub(super) enum Latency {
    Start = 0,
    RoundTrip = 1,
    Send = 2,
}

/// How sends that failed ambiguously (5xx, timeout, a reset, an unreadable answer) were
/// resolved.
#[derive(Default, Clone, Copy)]
pub(super) struct SendRecovery {
    /// Sends that failed ambiguously.
    pub ambiguous: u64,
    /// ... whose message was found in the conversation's history (delivered; not re-sent).
    pub found_in_history: u64,
    /// ... whose message was not in the history, so it was sent again.
    pub resent: u64,
}

/// Everything the chats record, shared by all of them behind one lock.
pub(super) struct Recorder {
    pub total: Series,
    /// The current interval of `--hdr-out` (None without it).
    pub interval: Option<Series>,
    pub errors: BTreeMap<String, u64>,
    pub samples: BTreeMap<String, String>,
    /// Exactly-once and order violations by kind (also counted in `errors`).
    pub violations: BTreeMap<String, u64>,
    pub recovery: SendRecovery,
    pub warnings: u64,
    pub reconnects: u64,
}

impl Recorder {
    pub(super) fn new(intervals: bool) -> Result<Recorder, hdrhistogram::CreationError> {
        Ok(Recorder {
            total: Series::new()?,
            interval: if intervals {
                Some(Series::new()?)
            } else {
                None
            },
            errors: BTreeMap::new(),
            samples: BTreeMap::new(),
            violations: BTreeMap::new(),
            recovery: SendRecovery::default(),
            warnings: 0,
            reconnects: 0,
        })
    }

    pub(super) fn latency(&mut self, which: Latency, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        self.total.all_mut()[which as usize].saturating_record(us);
        if let Some(interval) = &mut self.interval {
            interval.all_mut()[which as usize].saturating_record(us);
        }
    }

    pub(super) fn error(&mut self, kind: &str, detail: String) {
        self.errors_n(kind, 1, detail);
    }

    pub(super) fn errors_n(&mut self, kind: &str, n: u64, detail: String) {
        *self.errors.entry(kind.to_owned()).or_default() += n;
        self.samples.entry(kind.to_owned()).or_insert(detail);
    }

    /// An exactly-once or order violation: counted on its own and as an error.
    pub(super) fn violation(&mut self, kind: &str, detail: String) {
        *self.violations.entry(kind.to_owned()).or_default() += 1;
        self.error(kind, detail);
    }

    /// Takes the current interval's histograms, leaving empty ones.
    pub(super) fn take_interval(&mut self) -> Option<Series> {
        let interval = self.interval.as_mut()?;
        let fresh = Series::new().ok()?;
        Some(std::mem::replace(interval, fresh))
    }
}

/// Counters read by the progress bar and the summary.
#[derive(Default)]
pub(super) struct Counters {
    pub started: AtomicUsize,
    pub settled_openings: AtomicUsize,
    pub completed: AtomicUsize,
    pub failed: AtomicUsize,
    pub round_trips: AtomicUsize,
    pub open: AtomicUsize,
    pub peak_open: AtomicUsize,
}

impl Counters {
    pub(super) fn get(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::Relaxed)
    }

    pub(super) fn bump(counter: &AtomicUsize) -> usize {
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Decrements the open-chat count when a chat task ends, however it ends.
pub(super) struct OpenGuard<'a>(&'a Counters);

impl<'a> OpenGuard<'a> {
    pub(super) fn new(c: &'a Counters) -> Self {
        let now = c.open.fetch_add(1, Ordering::Relaxed) + 1;
        c.peak_open.fetch_max(now, Ordering::Relaxed);
        OpenGuard(c)
    }
}

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}
