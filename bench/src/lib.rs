//! Shared parts of the benchmark drivers: arguments, the closed-loop runner and the report line.
//!
//! Every driver runs `in_flight` closed loops (each sends the next call when the previous answer
//! is decoded) on one single-threaded tokio runtime, counts the calls that complete in the
//! measured window (after a short warm-up) and prints one JSON line.

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// The send-message reply of the emulator (`POST .../members/{m}/messages`), byte for byte apart
/// from its ids and timestamp; the fixed-reply server answers it to every request.
pub const REPLY: &str = r#"{"id":"9f0c3f0e-5d7a-4c1e-9a57-0d3d3c8e2b61","conversation":{"id":"5b5a7a1e-0c2f-4f4e-8a9e-1b0e4f3c2d10","selfUri":"/api/v2/conversations/5b5a7a1e-0c2f-4f4e-8a9e-1b0e4f3c2d10"},"sender":{"id":"0a6d2b9c-3e7f-4d21-b5c8-7e9f1a2b3c4d"},"body":"hello","bodyType":"standard","timestamp":"2026-11-29T03:20:00.123Z","selfUri":"/api/v2/webchat/guest/conversations/5b5a7a1e-0c2f-4f4e-8a9e-1b0e4f3c2d10/messages/9f0c3f0e-5d7a-4c1e-9a57-0d3d3c8e2b61"}"#;

/// What a driver is asked to do.
#[derive(Debug, Clone)]
pub struct Args {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Conversation id of the path.
    pub conv: String,
    /// Member id of the path.
    pub member: String,
    /// The bearer JWT.
    pub jwt: String,
    /// Calls in flight (closed loops).
    pub in_flight: usize,
    /// Measured seconds.
    pub secs: f64,
    /// Warm-up seconds (not counted).
    pub warmup: f64,
}

impl Args {
    /// Parses `--url U --conv C --member M --jwt J --in-flight N --secs S [--warmup W]`.
    pub fn parse() -> Result<Args> {
        let mut a = Args {
            url: String::new(),
            conv: "c1".into(),
            member: "m1".into(),
            jwt: "abc.def.ghi".into(),
            in_flight: 1,
            secs: 4.0,
            warmup: 0.5,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let v = it.next().with_context(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--url" => a.url = v,
                "--conv" => a.conv = v,
                "--member" => a.member = v,
                "--jwt" => a.jwt = v,
                "--in-flight" => a.in_flight = v.parse()?,
                "--secs" => a.secs = v.parse()?,
                "--warmup" => a.warmup = v.parse()?,
                _ => bail!("unknown flag {flag}"),
            }
        }
        if a.url.is_empty() || a.in_flight == 0 {
            bail!("--url and a positive --in-flight are required");
        }
        Ok(a)
    }

    /// The send-message URL.
    pub fn send_url(&self) -> String {
        format!(
            "{}/api/v2/webchat/guest/conversations/{}/members/{}/messages",
            self.url, self.conv, self.member
        )
    }
}

/// A single-threaded runtime (each client gets one core).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

struct Tally {
    hist: Histogram<u64>,
    calls: u64,
    errors: u64,
    first_error: Option<String>,
}

/// Runs `args.in_flight` closed loops of `call` on the current (single-threaded) runtime and
/// prints the JSON report line for `client`.
pub async fn run<F, Fut>(client: &str, args: &Args, call: F) -> Result<()>
where
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = Result<()>> + 'static,
{
    let tally = Rc::new(RefCell::new(Tally {
        hist: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        calls: 0,
        errors: 0,
        first_error: None,
    }));
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let end = measure_from + Duration::from_secs_f64(args.secs);
    let call = Rc::new(call);
    let local = tokio::task::LocalSet::new();
    for _ in 0..args.in_flight {
        let (call, tally) = (call.clone(), tally.clone());
        local.spawn_local(async move {
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    return;
                }
                let r = call().await;
                let t1 = Instant::now();
                if t0 >= measure_from && t1 <= end {
                    let mut t = tally.borrow_mut();
                    match r {
                        Ok(()) => {
                            t.calls += 1;
                            let us = u64::try_from(t1.duration_since(t0).as_micros())
                                .unwrap_or(u64::MAX);
                            t.hist.saturating_record(us.max(1));
                        }
                        Err(e) => {
                            t.errors += 1;
                            t.first_error.get_or_insert_with(|| format!("{e:#}"));
                        }
                    }
                } else if let Err(e) = r {
                    let mut t = tally.borrow_mut();
                    t.errors += 1;
                    t.first_error.get_or_insert_with(|| format!("{e:#}"));
                }
            }
        });
    }
    local.await;
    let t = tally.borrow();
    let report = serde_json::json!({
        "client": client,
        "inFlight": args.in_flight,
        "calls": t.calls,
        "errors": t.errors,
        "firstError": t.first_error,
        "callsPerSec": t.calls as f64 / args.secs,
        "p50Us": t.hist.value_at_quantile(0.5),
        "p99Us": t.hist.value_at_quantile(0.99),
        "peakRssKiB": peak_rss_kib(),
    });
    println!("{report}");
    Ok(())
}

/// `VmHWM` of this process, in KiB (Linux).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
