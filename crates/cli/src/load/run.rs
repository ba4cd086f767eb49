//! A load run from start to report: open the target, start the chats, wait for them (or the
//! run's time limit, or Ctrl-C), then report, plot and finish the interval log.

use super::chat::{one_chat, Ctx};
use super::hdr::{HdrLog, IntervalSender};
use super::progress::Progress;
use super::record::{Counters, Recorder};
use super::target::{self, Target};
use super::{report, LoadArgs, MAX_CHATS};
use crate::connect::describe;
use anyhow::{anyhow, bail, Context};
use purecloud_guest_chat_client::{ApiClient, CreateWebChatConversationRequest};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// The run was stopped by Ctrl-C (SIGINT); the partial report has been printed. The process
/// exits with 130.
#[derive(Debug)]
pub(crate) struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted (Ctrl-C); the report above is partial")
    }
}

impl std::error::Error for Interrupted {}

/// Ctrl-C, listened for from the start of the run (registered at once, not at first poll).
struct CtrlC {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl CtrlC {
    fn listen() -> CtrlC {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            CtrlC {
                signal: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        CtrlC {}
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        match &mut self.signal {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// How the wait for the chats ended.
struct Outcome {
    timed_out: bool,
    interrupted: bool,
    unfinished: usize,
    wall: Duration,
}

/// Builds the SDK client for the target.
fn client(args: &LoadArgs, base_url: &str) -> anyhow::Result<ApiClient> {
    // Idle REST connections are bounded by the opening concurrency: with --hold every chat
    // sends at once, and an unbounded pool kept each of those connections (about 20 KiB of
    // buffers apiece) until the run ended, a large part of the memory per open chat.
    let idle = usize::try_from(args.concurrency).unwrap_or(usize::MAX);
    let mut builder = ApiClient::builder()
        .environment(base_url)
        .no_config_file()
        .pool_max_idle_per_host(idle);
    if let Some(path) = &args.root_cert {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read --root-cert {}", path.display()))?;
        builder = builder.add_root_certificate_pem(&pem);
    }
    builder
        .build()
        .map_err(|e| anyhow!(describe(&e)))
        .context("invalid --environment or --root-cert")
}

/// Spawns every chat; each records its own outcome.
fn spawn_chats(ctx: &Arc<Ctx>) -> JoinSet<()> {
    let mut set = JoinSet::new();
    for n in 0..ctx.chats {
        let ctx = ctx.clone();
        set.spawn(async move {
            match one_chat(ctx.clone(), n).await {
                Ok(()) => Counters::bump(&ctx.counters.completed),
                Err(f) => {
                    ctx.rec().error(&f.kind, f.detail);
                    Counters::bump(&ctx.counters.failed)
                }
            };
        });
    }
    set
}

/// Waits for every chat, the run's limit or Ctrl-C; then drops what is unfinished.
async fn wait_all(mut set: JoinSet<()>, limit: Duration, ctrl_c: &mut CtrlC) -> Outcome {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + limit;
    let (mut timed_out, mut interrupted) = (false, false);
    loop {
        tokio::select! {
            next = tokio::time::timeout_at(deadline, set.join_next()) => match next {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => {
                    timed_out = true;
                    break;
                }
            },
            _ = ctrl_c.recv() => {
                interrupted = true;
                break;
            }
        }
    }
    let unfinished = set.len();
    set.abort_all();
    while set.join_next().await.is_some() {}
    Outcome {
        timed_out,
        interrupted,
        unfinished,
        wall: started.elapsed(),
    }
}

/// Sends the current interval to the log once a second.
fn interval_task(ctx: Arc<Ctx>, log: IntervalSender) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let start = Instant::now();
        let mut last = Duration::ZERO;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tick.tick().await;
            let now = start.elapsed();
            if let Some(series) = ctx.rec().take_interval() {
                log.interval(series, last, now - last);
            }
            last = now;
        }
    })
}

/// Runs the load and prints the summary.
pub(super) async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let mut ctrl_c = CtrlC::listen();
    let chats = usize::try_from(args.chats).unwrap_or(MAX_CHATS);
    let concurrency = usize::try_from(args.concurrency).unwrap_or(usize::MAX);
    let nofile = target::raise_nofile();
    // With --hold every chat is open at once; otherwise at least `concurrency` are.
    let at_once = if args.hold {
        chats
    } else {
        chats.min(concurrency)
    };
    let fits = nofile.is_none_or(|limit| {
        usize::try_from(limit).unwrap_or(usize::MAX)
            >= target::descriptors_needed(at_once, concurrency, 2)
    });
    let target = target::open(&args, fits).await?;
    let want_fds = target::descriptors_needed(at_once, concurrency, target.per_chat());
    let fd_note = match nofile {
        Some(limit) if (limit as usize) < want_fds => Some(format!(
            "open-file limit {limit} is below the ~{want_fds} descriptors {} need ({} per chat plus pooled REST connections); raise the hard limit (ulimit -Hn)",
            report::count(at_once as u64, "open chat", "open chats"),
            target.per_chat()
        )),
        _ => None,
    };
    if let Some(note) = &fd_note {
        eprintln!("note: {note}");
    }
    let hdr = match &args.hdr_out {
        Some(path) => Some(HdrLog::create(path, SystemTime::now())?),
        None => None,
    };
    let (all_opened, _) = watch::channel(false);
    let ctx = Arc::new(Ctx {
        client: client(&args, &target.base_url)?,
        request: CreateWebChatConversationRequest::new(
            "emulator-org",
            "emulator-deployment",
            "Support",
            "Load Guest",
        ),
        opening: Semaphore::new(concurrency),
        messages: args.messages,
        interval: Duration::from_millis(args.message_interval_ms),
        hold: args.hold,
        chats,
        all_opened,
        rec: Mutex::new(Recorder::new(hdr.is_some())?),
        counters: Counters::default(),
    });
    let facts = Facts {
        rss_before: target::current_rss(),
        nofile,
        fd_note,
        concurrency,
    };
    let progress = Progress::start(ctx.clone(), chats);
    let intervals = hdr.as_ref().map(|h| interval_task(ctx.clone(), h.sender()));
    let outcome = wait_all(
        spawn_chats(&ctx),
        Duration::from_secs(args.duration_secs),
        &mut ctrl_c,
    )
    .await;
    if let Some(p) = progress {
        p.clear();
    }
    if let Some(task) = intervals {
        task.abort();
    }
    finish(&args, &ctx, target, facts, outcome, hdr).await
}

/// What the report needs beyond the recorder and the outcome.
struct Facts {
    rss_before: Option<u64>,
    nofile: Option<u64>,
    fd_note: Option<String>,
    concurrency: usize,
}

/// Stops the target, prints the report, writes the plot and the log, and decides the result.
async fn finish(
    args: &LoadArgs,
    ctx: &Ctx,
    target: Target,
    facts: Facts,
    outcome: Outcome,
    hdr: Option<HdrLog>,
) -> anyhow::Result<()> {
    if outcome.unfinished > 0 && !outcome.interrupted {
        ctx.rec().errors_n(
            "run time limit",
            outcome.unfinished as u64,
            format!(
                "{} unfinished after --duration-secs {}",
                report::count(outcome.unfinished as u64, "chat", "chats"),
                args.duration_secs
            ),
        );
    }
    let peak = target::peak_rss();
    let label = target.label.clone();
    let emulator_peak = target.stop().await;
    let summary = summary(args, ctx, &label, &facts, &outcome, peak, emulator_peak);
    if args.json {
        println!("{summary}");
    } else {
        report::print_table(&summary);
    }
    if let Some(path) = &args.plot {
        let total = ctx.rec().total.clone();
        super::plot::write(path, &total, "guest-chat load: latency distribution")?;
    }
    if let Some(log) = hdr {
        if let Some(series) = ctx.rec().take_interval() {
            // The interval task cut whole seconds; this is the rest.
            let start = Duration::from_secs(outcome.wall.as_secs());
            let length = outcome.wall.saturating_sub(start);
            log.sender().interval(series, start, length);
        }
        log.finish(&summary)?;
    }
    verdict(&summary, &outcome)
}

/// The run's result: interrupted, failed chats, violations, or success.
fn verdict(s: &Value, outcome: &Outcome) -> anyhow::Result<()> {
    if outcome.interrupted {
        return Err(Interrupted.into());
    }
    let chats = s["chats"].as_u64().unwrap_or(0);
    let completed = s["completed"].as_u64().unwrap_or(0);
    let failed = s["failed"].as_u64().unwrap_or(0);
    if completed == 0 && failed > 0 {
        let first = s["errorSamples"]
            .as_object()
            .and_then(|m| m.values().next())
            .and_then(Value::as_str)
            .unwrap_or_default();
        bail!("no chat completed ({failed} failed); first error: {first}");
    }
    if failed > 0 {
        bail!(
            "{failed} of {} failed",
            report::count(chats, "chat", "chats")
        );
    }
    let violations = s["violationTotal"].as_u64().unwrap_or(0);
    if violations > 0 {
        bail!(
            "{} of exactly-once or order",
            report::count(violations, "violation", "violations")
        );
    }
    Ok(())
}

/// The summary object (`--json`; the table is drawn from it).
fn summary(
    args: &LoadArgs,
    ctx: &Ctx,
    label: &str,
    facts: &Facts,
    outcome: &Outcome,
    peak: Option<u64>,
    emulator_peak: Option<u64>,
) -> Value {
    let c = &ctx.counters;
    let completed = Counters::get(&c.completed);
    let failed = Counters::get(&c.failed)
        + if outcome.interrupted {
            0
        } else {
            outcome.unfinished
        };
    let round_trips = Counters::get(&c.round_trips);
    let peak_open = Counters::get(&c.peak_open);
    let per_sec = round_trips as f64 / outcome.wall.as_secs_f64().max(1e-9);
    let rss_per_chat = match (peak, facts.rss_before) {
        (Some(p), Some(b)) if peak_open > 0 => Some(p.saturating_sub(b) / peak_open as u64),
        _ => None,
    };
    let mut s = json!({
        "title": format!("guest-chat load against {label}"),
        "target": label,
        "chats": ctx.chats,
        "concurrency": facts.concurrency,
        "messagesPerChat": args.messages,
        "hold": args.hold,
        "completed": completed,
        "failed": failed,
        "interrupted": outcome.interrupted,
        "unfinished": if outcome.interrupted { outcome.unfinished } else { 0 },
        "messageRoundTrips": round_trips,
        "wallSecs": (outcome.wall.as_secs_f64() * 1000.0).round() / 1000.0,
        "timedOut": outcome.timed_out,
        "messagesPerSec": (per_sec * 10.0).round() / 10.0,
        "peakConcurrentChats": peak_open,
        "peakRssBytes": peak,
        "emulatorProcessPeakRssBytes": emulator_peak,
        "rssPerChatBytes": rss_per_chat,
        "openFileLimit": facts.nofile,
        "note": facts.fd_note,
    });
    if let Value::Object(m) = &mut s {
        m.extend(report::recorded(&ctx.rec()));
    }
    s
}
