//! Where a run's emulator lives (`--environment`, in this process, or a child process), and
//! the process facts the report needs (open-file limit, resident set size).

use super::LoadArgs;
use anyhow::{anyhow, bail, Context};
use guest_chat_emulator::{AgentMode, Emulator, EmulatorHandle};
use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Where the emulator of a run lives.
pub(super) enum Peer {
    /// One the user runs (`--environment`).
    External,
    /// In this process.
    InProcess(EmulatorHandle),
    /// A child `guest-chat emulator` process.
    Child(EmulatorProcess),
}

/// The emulator a run talks to, with its base URL and a label for the report.
pub(super) struct Target {
    pub peer: Peer,
    pub base_url: String,
    pub label: String,
}

impl Target {
    /// Sockets per open chat: the WebSocket, twice when the emulator is in this process.
    pub(super) fn per_chat(&self) -> usize {
        if matches!(self.peer, Peer::InProcess(_)) {
            2
        } else {
            1
        }
    }

    /// Stops an emulator this run started; returns a child emulator's peak RSS.
    pub(super) async fn stop(self) -> Option<u64> {
        match self.peer {
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
        }
    }
}

/// Opens the run's target: `--environment` (checked and reachable), a child emulator
/// process (asked for, or when the in-process one would not fit `nofile`), or an emulator in
/// this process.
pub(super) async fn open(args: &LoadArgs, in_process_fits: bool) -> anyhow::Result<Target> {
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
                // Nor its defences against runaway clients: every chat of the run is let in.
                .create_rate_limit(1_000_000, Duration::from_secs(1))
                .max_conversations(LOAD_MAX_CONVERSATIONS)
                .start()
                .await
                .map_err(|e| anyhow!("cannot start the embedded emulator: {e}"))?;
            let url = emu.base_url().clone();
            (Peer::InProcess(emu), url)
        }
    };
    let label = match &peer {
        Peer::InProcess(_) => format!("embedded emulator {base_url}"),
        Peer::Child(child) => match child.pid {
            Some(pid) => format!("emulator process {base_url} (pid {pid})"),
            None => format!("emulator process {base_url}"),
        },
        Peer::External => base_url.clone(),
    };
    Ok(Target {
        peer,
        base_url,
        label,
    })
}

/// The load's emulator keeps this many conversations (its default, 20,000, is below a big run).
const LOAD_MAX_CONVERSATIONS: usize = 10_000_000;

/// A `guest-chat emulator` child process; killed when dropped.
pub(super) struct EmulatorProcess {
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
            // Nor its defences against runaway clients: every chat of the run is let in.
            .args(["--create-rate-limit", "1000000/1"])
            .args(["--max-conversations", &LOAD_MAX_CONVERSATIONS.to_string()])
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

/// Peak resident set size of this process (`VmHWM`), in bytes; Linux only.
pub(super) fn peak_rss() -> Option<u64> {
    proc_status_kib("self", "VmHWM:").map(|k| k * 1024)
}

/// Current resident set size (`VmRSS`), in bytes; Linux only.
pub(super) fn current_rss() -> Option<u64> {
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
pub(super) fn raise_nofile() -> Option<u64> {
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

/// Descriptors a run needs: two per open chat with the emulator in this process (both ends
/// of every socket), one otherwise, plus pooled REST connections and a margin.
pub(super) fn descriptors_needed(at_once: usize, concurrency: usize, per_chat: usize) -> usize {
    (at_once + concurrency) * per_chat + 64
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
