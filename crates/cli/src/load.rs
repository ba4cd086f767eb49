//! `guest-chat load`: many virtual guests in one process against the emulator, with latency
//! histograms, throughput, errors by kind and the process's peak memory.
//!
//! Every run is bounded: a fixed number of chats, a wall-clock limit (`--duration-secs`) after
//! which every unfinished chat is dropped, and a per-step limit inside each chat. Without
//! `--environment` the target is an emulator on a free loopback port: in this process, or in
//! a child `guest-chat emulator` process when both ends of every socket would not fit the
//! open-file limit here (or with `--emulator-process`). An explicit environment must be a
//! loopback URL unless `--allow-remote` is given.

use crate::connect::describe;
use anyhow::{anyhow, bail, Context};
use futures::StreamExt;
use guest_chat_emulator::{AgentMode, Emulator, EmulatorHandle};
use hdrhistogram::Histogram;
use purecloud_guest_chat_client::model::Role;
use purecloud_guest_chat_client::session::{ChatOptions, GuestChat, SessionEvent, SessionEvents};
use purecloud_guest_chat_client::{ApiClient, CreateWebChatConversationRequest, Error};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// The longest a single step of a chat (greeting, one reply, the end) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest accepted `--chats` (a bound, not a target).
const MAX_CHATS: usize = 1_000_000;

/// Flags of `guest-chat load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// How many chats to run in total.
    #[arg(long, default_value_t = 100, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=MAX_CHATS as u64))]
    pub chats: u64,
    /// How many chats may be opening (create until the guest is CONNECTED) at once; with
    /// --hold also how many leave at once.
    #[arg(long, default_value_t = 100, value_name = "C",
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub concurrency: u64,
    /// Messages each guest sends, each awaiting the echo agent's reply.
    #[arg(long, default_value_t = 5, value_name = "M",
          value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub messages: u64,
    /// Pause between a reply and the guest's next message, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub message_interval_ms: u64,
    /// Stop the run (dropping unfinished chats) after this many seconds.
    #[arg(long, default_value_t = 120, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub duration_secs: u64,
    /// An emulator's base URL (http://127.0.0.1:PORT). Default: an embedded emulator on a
    /// free loopback port (in this process, or in a child process; see --emulator-process).
    #[arg(long, short = 'e', value_name = "URL")]
    pub environment: Option<String>,
    /// Allow an --environment that is not a loopback address (only point this at an emulator
    /// you run).
    #[arg(long, requires = "environment")]
    pub allow_remote: bool,
    /// Trust this PEM certificate (an emulator started with --tls writes its own with
    /// --tls-cert-out) for https:// and wss://, in addition to the public roots.
    #[arg(long, value_name = "FILE", requires = "environment")]
    pub root_cert: Option<std::path::PathBuf>,
    /// Embedded emulator only: the echo agent's pause between steps, in milliseconds.
    #[arg(long, default_value_t = 20, value_name = "MS")]
    pub agent_delay_ms: u64,
    /// Keep every chat open until all chats have started, so all are open at the same time.
    #[arg(long)]
    pub hold: bool,
    /// Run the emulator as a child process (`guest-chat emulator`) instead of in this one, so
    /// this process's open-file budget goes to the chats alone. Chosen by itself when the
    /// in-process emulator's sockets would not fit the open-file limit.
    #[arg(long, conflicts_with = "environment")]
    pub emulator_process: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// What the chats record, shared by all of them.
struct Recorder {
    start: Histogram<u64>,
    round_trip: Histogram<u64>,
    send: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    samples: BTreeMap<String, String>,
    warnings: u64,
    reconnects: u64,
}

impl Recorder {
    fn new() -> anyhow::Result<Recorder> {
        // Microseconds, 1 us .. 1 h, 3 significant digits.
        let h = || Histogram::new_with_bounds(1, 3_600_000_000, 3);
        Ok(Recorder {
            start: h()?,
            round_trip: h()?,
            send: h()?,
            errors: BTreeMap::new(),
            samples: BTreeMap::new(),
            warnings: 0,
            reconnects: 0,
        })
    }

    fn error(&mut self, kind: &str, detail: String) {
        self.errors_n(kind, 1, detail);
    }

    fn errors_n(&mut self, kind: &str, n: u64, detail: String) {
        *self.errors.entry(kind.to_owned()).or_default() += n;
        self.samples.entry(kind.to_owned()).or_insert(detail);
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Counters read by the progress line and the summary.
#[derive(Default)]
struct Counters {
    started: AtomicUsize,
    settled_openings: AtomicUsize,
    completed: AtomicUsize,
    failed: AtomicUsize,
    round_trips: AtomicUsize,
    open: AtomicUsize,
    peak_open: AtomicUsize,
}

/// Decrements the open-chat count when a chat task ends, however it ends.
struct OpenGuard<'a>(&'a Counters);

impl<'a> OpenGuard<'a> {
    fn new(c: &'a Counters) -> Self {
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

/// Everything a chat task needs.
struct Ctx {
    client: ApiClient,
    request: CreateWebChatConversationRequest,
    opening: Semaphore,
    messages: u64,
    interval: Duration,
    hold: bool,
    chats: usize,
    all_opened: watch::Sender<bool>,
    rec: Mutex<Recorder>,
    counters: Counters,
}

impl Ctx {
    fn rec(&self) -> std::sync::MutexGuard<'_, Recorder> {
        self.rec.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn opening_settled(&self) {
        let n = self
            .counters
            .settled_openings
            .fetch_add(1, Ordering::Relaxed)
            + 1;
        if n >= self.chats {
            let _ = self.all_opened.send(true);
        }
    }
}

/// Why a chat failed: a kind to group by, and one line of detail.
struct Failure {
    kind: String,
    detail: String,
}

impl Failure {
    fn sdk(step: &str, e: &Error) -> Failure {
        let kind = match e {
            Error::Api(api) => api
                .code()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("http {}", api.status)),
            Error::Timeout(_) => "timeout".into(),
            Error::Connect(_) => "connect".into(),
            Error::Tls(_) => "tls".into(),
            Error::Transport(_) => "transport".into(),
            Error::EventStream(_) => "event stream".into(),
            Error::Decode { .. } => "decode".into(),
            _ => "other".into(),
        };
        Failure {
            kind,
            detail: format!("{step}: {}", describe(e)),
        }
    }

    fn local(kind: &str, detail: impl Into<String>) -> Failure {
        Failure {
            kind: kind.to_owned(),
            detail: detail.into(),
        }
    }
}

/// Waits for the first event `want` accepts; fails on the chat's end or after `STEP_TIMEOUT`.
async fn wait_for(
    ctx: &Ctx,
    events: &mut SessionEvents,
    step: &str,
    mut want: impl FnMut(&SessionEvent) -> bool,
) -> Result<(), Failure> {
    let wait = async {
        while let Some(event) = events.next().await {
            if want(&event) {
                return Ok(());
            }
            match event {
                SessionEvent::Warning(_) => ctx.rec().warnings += 1,
                SessionEvent::Reconnecting { .. } => ctx.rec().reconnects += 1,
                SessionEvent::Ended(reason) => {
                    return Err(Failure::local(
                        "ended early",
                        format!("{step}: the chat ended ({reason:?})"),
                    ))
                }
                _ => {}
            }
        }
        Err(Failure::local(
            "ended early",
            format!("{step}: the event stream stopped"),
        ))
    };
    tokio::time::timeout(STEP_TIMEOUT, wait)
        .await
        .unwrap_or_else(|_| {
            Err(Failure::local(
                &format!("no {step} in {}s", STEP_TIMEOUT.as_secs()),
                format!("{step}: nothing within {STEP_TIMEOUT:?}"),
            ))
        })
}

fn agent_text(event: &SessionEvent) -> Option<&str> {
    match event {
        SessionEvent::Message {
            message,
            sender,
            own: false,
        } if sender.role == Some(Role::Agent) => message.body.as_deref(),
        _ => None,
    }
}

/// One virtual guest: start, greeting, M messages each awaiting the echo, leave, end.
async fn one_chat(ctx: Arc<Ctx>, n: usize) -> Result<(), Failure> {
    let opening = async {
        let _permit = ctx
            .opening
            .acquire()
            .await
            .map_err(|_| Failure::local("internal", "semaphore closed"))?;
        let t0 = Instant::now();
        // Long step limits of their own, so only the start's own timeout applies.
        let options = ChatOptions::default().join_timeout(STEP_TIMEOUT);
        let chat = GuestChat::start_with(&ctx.client, &ctx.request, options)
            .await
            .map_err(|e| Failure::sdk("start", &e))?;
        ctx.rec().start.saturating_record(micros(t0.elapsed()));
        Ok::<GuestChat, Failure>(chat)
    };
    let opened = opening.await;
    ctx.opening_settled();
    let chat = opened?;
    let _open = OpenGuard::new(&ctx.counters);
    ctx.counters.started.fetch_add(1, Ordering::Relaxed);
    let mut events = chat.events();

    wait_for(&ctx, &mut events, "greeting", |e| agent_text(e).is_some()).await?;
    for k in 0..ctx.messages {
        if k > 0 && !ctx.interval.is_zero() {
            tokio::time::sleep(ctx.interval).await;
        }
        let text = format!("guest {n} message {k}");
        let expected = format!("You said: {text}");
        let t0 = Instant::now();
        chat.send(&text)
            .await
            .map_err(|e| Failure::sdk("send", &e))?;
        ctx.rec().send.saturating_record(micros(t0.elapsed()));
        wait_for(&ctx, &mut events, "reply", |e| {
            agent_text(e) == Some(expected.as_str())
        })
        .await?;
        ctx.rec().round_trip.saturating_record(micros(t0.elapsed()));
        ctx.counters.round_trips.fetch_add(1, Ordering::Relaxed);
    }
    if ctx.hold {
        let mut all = ctx.all_opened.subscribe();
        // The run's own limit bounds this wait.
        let _ = all.wait_for(|done| *done).await;
    }
    {
        // After --hold every chat leaves at the same moment: without a gate that is one new
        // REST connection per chat, and an 8,000-chat run ran out of descriptors here.
        let _permit = if ctx.hold {
            ctx.opening.acquire().await.ok()
        } else {
            None
        };
        chat.leave().await.map_err(|e| Failure::sdk("leave", &e))?;
    }
    wait_for(&ctx, &mut events, "end", |e| {
        matches!(e, SessionEvent::Ended(_))
    })
    .await?;
    Ok(())
}

/// Peak resident set size of this process (VmHWM), in bytes; Linux only.
fn peak_rss() -> Option<u64> {
    proc_status_kib("self", "VmHWM:").map(|k| k * 1024)
}

/// Current resident set size (VmRSS), in bytes; Linux only.
fn current_rss() -> Option<u64> {
    proc_status_kib("self", "VmRSS:").map(|k| k * 1024)
}

/// A `/proc/<process>/status` value in KiB (`process` is a pid or `self`).
fn proc_status_kib(process: &str, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Raises the soft open-file limit to the hard one; returns the limit now in force.
fn raise_nofile() -> Option<u64> {
    #[cfg(unix)]
    {
        let (soft, hard) = rlimit::Resource::NOFILE.get().ok()?;
        if soft < hard && rlimit::Resource::NOFILE.set(hard, hard).is_ok() {
            return Some(hard);
        }
        Some(soft)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Refuses anything but an http(s) URL, and non-loopback hosts unless allowed.
fn check_environment(env: &str, allow_remote: bool) -> anyhow::Result<url::Url> {
    let url = url::Url::parse(env)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            anyhow!("--environment must be an emulator base URL such as http://127.0.0.1:8080, got {env:?}")
        })?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if !loopback && !allow_remote {
        bail!(
            "--environment {env} is not a loopback address; load runs only target an emulator you run (add --allow-remote to confirm)"
        );
    }
    Ok(url)
}

/// Fails fast, with one clear line, when nothing listens at the target.
async fn preflight(url: &url::Url) -> anyhow::Result<()> {
    let host = url.host_str().unwrap_or_default().to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<_> = (host.trim_matches(['[', ']']), port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {host}"))?
        .collect();
    let mut last = None;
    for addr in addrs {
        match tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
            .await
        {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => last = Some(e.to_string()),
            Err(_) => last = Some("no answer within 5 s".into()),
        }
    }
    bail!(
        "cannot reach {url}: {}",
        last.unwrap_or_else(|| "no address".into())
    )
}

fn latency_json(h: &Histogram<u64>) -> Value {
    let ms = |us: u64| (us as f64 / 1000.0 * 1000.0).round() / 1000.0;
    if h.is_empty() {
        return json!({"count": 0});
    }
    json!({
        "count": h.len(),
        "p50": ms(h.value_at_quantile(0.50)),
        "p90": ms(h.value_at_quantile(0.90)),
        "p99": ms(h.value_at_quantile(0.99)),
        "max": ms(h.max()),
    })
}

/// Where the emulator of a run lives.
enum Peer {
    /// One the user runs (`--environment`).
    External,
    /// In this process.
    InProcess(EmulatorHandle),
    /// A child `guest-chat emulator` process.
    Child(EmulatorProcess),
}

/// A `guest-chat emulator` child process; killed when dropped.
struct EmulatorProcess {
    child: tokio::process::Child,
    pid: Option<u32>,
}

impl EmulatorProcess {
    /// Starts `guest-chat emulator` on a free loopback port with the load's agent settings;
    /// returns it and its base URL.
    async fn start(agent_delay_ms: u64) -> anyhow::Result<(EmulatorProcess, String)> {
        let exe = std::env::current_exe()
            .context("cannot find this program to start the emulator process")?;
        let delay = agent_delay_ms.to_string();
        let mut child = tokio::process::Command::new(exe)
            .args(["emulator", "--port", "0", "--agent", "echo"])
            .args(["--agent-delay-ms", delay.as_str()])
            // A load run measures the SDK, not the real service's per-JWT limit.
            .args(["--rate-limit", "1000000/1"])
            // Its stdin is a pipe only this process holds: however this process ends, the
            // pipe closes and the emulator stops with it.
            .arg("--exit-on-stdin-close")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the emulator process")?;
        let pid = child.id();
        let stdout = child
            .stdout
            .take()
            .context("the emulator process has no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(15), lines.next_line())
            .await
            .map_err(|_| anyhow!("the emulator process did not start within 15 s"))?
            .context("cannot read the emulator process's output")?
            .ok_or_else(|| anyhow!("the emulator process exited before listening"))?;
        let url = first
            .strip_prefix("guest-chat emulator listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .ok_or_else(|| anyhow!("unexpected first line from the emulator process: {first}"))?
            .to_owned();
        // Keep reading, so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok((EmulatorProcess { child, pid }, url))
    }

    /// The child's peak resident set size, in bytes; Linux only.
    fn peak_rss(&self) -> Option<u64> {
        let pid = self.pid?.to_string();
        proc_status_kib(&pid, "VmHWM:").map(|k| k * 1024)
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Descriptors a run needs: two per open chat with the emulator in this process (both ends
/// of every socket), one otherwise, plus pooled REST connections and a margin.
fn descriptors_needed(at_once: usize, concurrency: usize, per_chat: usize) -> usize {
    (at_once + concurrency) * per_chat + 64
}

/// Runs the load and prints the summary.
pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let chats = usize::try_from(args.chats).unwrap_or(MAX_CHATS);
    let concurrency = usize::try_from(args.concurrency).unwrap_or(usize::MAX);
    let nofile = raise_nofile();

    // With --hold every chat is open at once; otherwise at least `concurrency` are.
    let at_once = if args.hold {
        chats
    } else {
        chats.min(concurrency)
    };
    let in_process_fits = nofile.is_none_or(|limit| {
        usize::try_from(limit).unwrap_or(usize::MAX) >= descriptors_needed(at_once, concurrency, 2)
    });
    let (peer, base_url) = match &args.environment {
        Some(env) => {
            let url = check_environment(env, args.allow_remote)?;
            preflight(&url).await?;
            (Peer::External, env.clone())
        }
        None if args.emulator_process || !in_process_fits => {
            let (child, url) = EmulatorProcess::start(args.agent_delay_ms).await?;
            (Peer::Child(child), url)
        }
        None => {
            let emu = Emulator::builder()
                .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                .agent(AgentMode::Echo)
                .agent_delay(Duration::from_millis(args.agent_delay_ms))
                // A load run measures the SDK, not the real service's per-JWT limit.
                .rate_limit(1_000_000, Duration::from_secs(1))
                .start()
                .await
                .map_err(|e| anyhow!("cannot start the embedded emulator: {e}"))?;
            let url = emu.base_url().to_string();
            (Peer::InProcess(emu), url)
        }
    };
    let target = match &peer {
        Peer::InProcess(_) => format!("embedded emulator {base_url}"),
        Peer::Child(child) => match child.pid {
            Some(pid) => format!("emulator process {base_url} (pid {pid})"),
            None => format!("emulator process {base_url}"),
        },
        Peer::External => base_url.clone(),
    };
    // Sockets per open chat: the WebSocket, twice when the emulator is in this process.
    let per_chat = if matches!(peer, Peer::InProcess(_)) {
        2
    } else {
        1
    };
    let want_fds = descriptors_needed(at_once, concurrency, per_chat);
    let fd_note = match nofile {
        Some(limit) if (limit as usize) < want_fds => Some(format!(
            "open-file limit {limit} is below the ~{want_fds} descriptors {at_once} open chats need ({per_chat} per chat plus pooled REST connections); raise the hard limit (ulimit -Hn)"
        )),
        _ => None,
    };
    if let Some(note) = &fd_note {
        eprintln!("note: {note}");
    }

    let mut builder = ApiClient::builder()
        .environment(base_url.as_str())
        .no_config_file();
    if let Some(path) = &args.root_cert {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read --root-cert {}", path.display()))?;
        builder = builder.add_root_certificate_pem(&pem);
    }
    let client = builder
        .build()
        .map_err(|e| anyhow!(describe(&e)))
        .context("invalid --environment or --root-cert")?;
    let (all_opened, _) = watch::channel(false);
    let ctx = Arc::new(Ctx {
        client,
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
        rec: Mutex::new(Recorder::new()?),
        counters: Counters::default(),
    });

    let rss_before = current_rss();
    let started = Instant::now();
    let limit = Duration::from_secs(args.duration_secs);
    let progress = std::io::stderr().is_terminal().then(|| {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let c = &ctx.counters;
                eprint!(
                    "\r{:>6.1}s  started {}/{}  open {}  done {}  failed {}  round trips {}   ",
                    started.elapsed().as_secs_f64(),
                    c.started.load(Ordering::Relaxed),
                    chats,
                    c.open.load(Ordering::Relaxed),
                    c.completed.load(Ordering::Relaxed),
                    c.failed.load(Ordering::Relaxed),
                    c.round_trips.load(Ordering::Relaxed),
                );
                let _ = std::io::stderr().flush();
            }
        })
    });

    let mut set = JoinSet::new();
    for n in 0..chats {
        let ctx = ctx.clone();
        set.spawn(async move {
            let result = one_chat(ctx.clone(), n).await;
            match result {
                Ok(()) => ctx.counters.completed.fetch_add(1, Ordering::Relaxed),
                Err(f) => {
                    ctx.rec().error(&f.kind, f.detail);
                    ctx.counters.failed.fetch_add(1, Ordering::Relaxed)
                }
            };
        });
    }
    let deadline = tokio::time::Instant::now() + limit;
    let mut timed_out = false;
    loop {
        match tokio::time::timeout_at(deadline, set.join_next()).await {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => {
                timed_out = true;
                break;
            }
        }
    }
    let unfinished = set.len();
    set.abort_all();
    while set.join_next().await.is_some() {}
    let wall = started.elapsed();
    if let Some(p) = progress {
        p.abort();
        eprint!("\r{:80}\r", "");
    }
    if unfinished > 0 {
        ctx.rec().errors_n(
            "run time limit",
            unfinished as u64,
            format!(
                "{unfinished} chats unfinished after --duration-secs {}",
                args.duration_secs
            ),
        );
    }
    let peak = peak_rss();
    let emulator_peak = match peer {
        Peer::InProcess(emu) => {
            emu.shutdown().await;
            None
        }
        Peer::Child(child) => {
            let peak = child.peak_rss();
            child.stop().await;
            peak
        }
        Peer::External => None,
    };

    let c = &ctx.counters;
    let completed = c.completed.load(Ordering::Relaxed);
    let failed = c.failed.load(Ordering::Relaxed) + unfinished;
    let round_trips = c.round_trips.load(Ordering::Relaxed);
    let peak_open = c.peak_open.load(Ordering::Relaxed);
    let rec = ctx.rec();
    let error_total: u64 = rec.errors.values().sum();
    let per_sec = round_trips as f64 / wall.as_secs_f64().max(1e-9);
    let rss_per_chat = match (peak, rss_before) {
        (Some(p), Some(b)) if peak_open > 0 => Some(p.saturating_sub(b) / peak_open as u64),
        _ => None,
    };
    let summary = json!({
        "target": target,
        "chats": chats,
        "concurrency": concurrency,
        "messagesPerChat": args.messages,
        "hold": args.hold,
        "completed": completed,
        "failed": failed,
        "messageRoundTrips": round_trips,
        "wallSecs": (wall.as_secs_f64() * 1000.0).round() / 1000.0,
        "timedOut": timed_out,
        "messagesPerSec": (per_sec * 10.0).round() / 10.0,
        "latencyMs": {
            "chatStart": latency_json(&rec.start),
            "roundTrip": latency_json(&rec.round_trip),
            "send": latency_json(&rec.send),
        },
        "errors": rec.errors,
        "errorSamples": rec.samples,
        "errorTotal": error_total,
        "warnings": rec.warnings,
        "reconnects": rec.reconnects,
        "peakConcurrentChats": peak_open,
        "peakRssBytes": peak,
        "emulatorProcessPeakRssBytes": emulator_peak,
        "rssPerChatBytes": rss_per_chat,
        "openFileLimit": nofile,
        "note": fd_note,
    });
    if args.json {
        println!("{summary}");
    } else {
        print_table(&summary, &rec);
    }
    if completed == 0 && failed > 0 {
        let first = rec.samples.values().next().cloned().unwrap_or_default();
        bail!("no chat completed ({failed} failed); first error: {first}");
    }
    if failed > 0 {
        bail!("{failed} of {chats} chats failed");
    }
    Ok(())
}

fn print_table(s: &Value, rec: &Recorder) {
    let mib = |b: &Value| {
        b.as_u64()
            .map(|b| format!("{:.1} MiB", b as f64 / 1048576.0))
            .unwrap_or_else(|| "n/a".into())
    };
    let kib = |b: &Value| {
        b.as_u64()
            .map(|b| format!("{:.1} KiB", b as f64 / 1024.0))
            .unwrap_or_else(|| "n/a".into())
    };
    println!(
        "guest-chat load against {}",
        s["target"].as_str().unwrap_or("")
    );
    println!(
        "  chats {}  completed {}  failed {}  concurrency {}  messages/chat {}{}",
        s["chats"],
        s["completed"],
        s["failed"],
        s["concurrency"],
        s["messagesPerChat"],
        if s["hold"] == true {
            "  (held open)"
        } else {
            ""
        }
    );
    println!(
        "  wall {:.2} s{}  round trips {}  throughput {} msg/s",
        s["wallSecs"].as_f64().unwrap_or(0.0),
        if s["timedOut"] == true {
            " (run time limit reached)"
        } else {
            ""
        },
        s["messageRoundTrips"],
        s["messagesPerSec"]
    );
    println!();
    println!(
        "  {:<24} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "latency (ms)", "count", "p50", "p90", "p99", "max"
    );
    for (label, h) in [
        ("chat start (-> CONNECTED)", &rec.start),
        ("message round trip", &rec.round_trip),
        ("REST send", &rec.send),
    ] {
        if h.is_empty() {
            println!("  {label:<24} {:>8}", 0);
            continue;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        println!(
            "  {label:<24} {:>8} {:>10.2} {:>10.2} {:>10.2} {:>10.2}",
            h.len(),
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.9)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max())
        );
    }
    println!();
    println!(
        "  peak concurrent chats {}  peak RSS {}  RSS per chat {}  open-file limit {}",
        s["peakConcurrentChats"],
        mib(&s["peakRssBytes"]),
        kib(&s["rssPerChatBytes"]),
        s["openFileLimit"]
    );
    if rec.errors.is_empty() {
        println!("  errors: none");
    } else {
        println!("  errors:");
        for (kind, n) in &rec.errors {
            let sample = rec.samples.get(kind).map(String::as_str).unwrap_or("");
            println!("    {n:>7}  {kind}  (e.g. {sample})");
        }
    }
    if rec.warnings > 0 || rec.reconnects > 0 {
        println!("  warnings {}  reconnects {}", rec.warnings, rec.reconnects);
    }
    if s["emulatorProcessPeakRssBytes"].is_u64() {
        println!(
            "  emulator process peak RSS {}",
            mib(&s["emulatorProcessPeakRssBytes"])
        );
    }
    if let Some(note) = s["note"].as_str() {
        println!("  note: {note}");
    }
}
