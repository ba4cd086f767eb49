//! Command-line flags (`EmulatorArgs`, embeddable by the `guest-chat` CLI) and [`run`].

use crate::agent::AgentMode;
use crate::config::{EmulatorConfig, Faults};
use crate::error::EmulatorError;
use crate::server::{Emulator, EmulatorBuilder};
use crate::tls::EmulatorTls;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Flags of the `guest-chat-emulator` binary (and of `guest-chat emulator`).
#[derive(Debug, Clone, clap::Args)]
pub struct EmulatorArgs {
    /// Port to listen on (0 = a free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Agent behaviour: echo, manual, or script:FILE (agent steps, one per line).
    #[arg(long, default_value = "echo")]
    pub agent: String,
    /// Pause between an agent's steps, in milliseconds.
    #[arg(long, default_value_t = 300)]
    pub agent_delay_ms: u64,
    /// Heartbeat period on every socket, in seconds.
    #[arg(long, default_value_t = 30)]
    pub heartbeat_secs: u64,
    /// Guest JWT lifetime, in seconds.
    #[arg(long, default_value_t = 21 * 3600)]
    pub jwt_lifetime_secs: u64,
    /// Per-JWT rate limit as REQUESTS/SECONDS.
    #[arg(long, default_value = "180/60")]
    pub rate_limit: String,
    /// Largest accepted request body, in bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    pub max_request_bytes: usize,
    /// JSON configuration file (`EmulatorConfig`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Fault injection, repeatable: error-rate=0.1, latency-ms=50, non-json-rate=0.05,
    /// drop-sockets-secs=30, message-error-rate=0.1 (guest message POSTs: 503 before storing),
    /// message-lost-answer-rate=0.1 (stored, then 503), seed=42.
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    /// Route conversations at create, without waiting for the event stream.
    #[arg(long)]
    pub activate_without_stream: bool,
    /// Also stop when standard input closes: for running under another program, whose exit
    /// (however it ends) then stops the emulator too.
    #[arg(long)]
    pub exit_on_stdin_close: bool,
    /// End a chat whose guest sent no message or typing indicator for this many seconds
    /// (default: never; the real service reportedly used 900).
    #[arg(long)]
    pub inactivity_timeout_secs: Option<u64>,
    /// An Architect inbound flow (a WORKFLOW member) posts this message in every chat before
    /// the agent is offered (overrides `workflowMessage` of --config).
    #[arg(long)]
    pub workflow_message: Option<String>,
    /// Serve https:// and wss:// with a self-signed certificate generated at start (valid for
    /// localhost, 127.0.0.1 and `::1`). Clients must trust it: see --tls-cert-out.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls: bool,
    /// Where to write the certificate (PEM) clients must trust. Without it: with --tls, a file
    /// in the temporary directory, removed at exit; with --tls-cert, that file. Either way the
    /// second output line names it.
    #[arg(long, value_name = "FILE")]
    pub tls_cert_out: Option<PathBuf>,
    /// Serve https:// and wss:// with this certificate chain (PEM, leaf first); needs
    /// --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Most TCP connections served at once (default 32768); over it, or out of file
    /// descriptors, the connection idle the longest is closed.
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Seconds a new connection has to send its first request head (default 30).
    #[arg(long)]
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a connection with no request in flight stays open (default 120).
    #[arg(long)]
    pub idle_timeout_secs: Option<u64>,
    /// Conversation creates per client IP address as REQUESTS/SECONDS (default 3000/60).
    #[arg(long)]
    pub create_rate_limit: Option<String>,
    /// Most conversations kept at once (default 20000).
    #[arg(long)]
    pub max_conversations: Option<usize>,
    /// Seconds an ended conversation stays readable before it is forgotten (default 600).
    #[arg(long)]
    pub ended_retention_secs: Option<u64>,
    /// Seconds after which a conversation with no socket and no guest call is forgotten
    /// (default 3600).
    #[arg(long)]
    pub abandoned_after_secs: Option<u64>,
    /// Token the control API (/emulator/...) requires as `Authorization: Bearer TOKEN`.
    /// Generated (and printed) when --host is not a loopback address and none is given.
    #[arg(
        long,
        env = "GUEST_CHAT_EMULATOR_CONTROL_TOKEN",
        hide_env_values = true
    )]
    pub control_token: Option<String>,
    /// Also serve a chat page at /demo that loads the SDK's JavaScript package (web build)
    /// and chats with this emulator's agent (build it first: scripts/build-js.sh).
    #[arg(long)]
    pub web_demo: bool,
    /// The page's directory (default: crates/js/demo of this checkout).
    #[arg(long, value_name = "DIR", requires = "web_demo")]
    pub web_demo_dir: Option<PathBuf>,
    /// The package's web build (default: crates/js/pkg/web of this checkout).
    #[arg(long, value_name = "DIR", requires = "web_demo")]
    pub web_demo_pkg: Option<PathBuf>,
}

fn parse_rate_limit(s: &str) -> Result<(u32, Duration), EmulatorError> {
    parse_limit_flag("--rate-limit", s)
}

fn parse_limit_flag(flag: &str, s: &str) -> Result<(u32, Duration), EmulatorError> {
    let bad = || {
        EmulatorError::Config(format!(
            "{flag} {s}: expected REQUESTS/SECONDS with REQUESTS >= 1, e.g. 180/60"
        ))
    };
    let (n, secs) = s.split_once('/').ok_or_else(bad)?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    let secs: u64 = secs.trim().parse().map_err(|_| bad())?;
    if secs == 0 || n == 0 {
        return Err(bad());
    }
    Ok((n, Duration::from_secs(secs)))
}

impl EmulatorArgs {
    /// The builder these flags describe.
    pub fn to_builder(&self) -> Result<EmulatorBuilder, EmulatorError> {
        let agent = AgentMode::from_flag(&self.agent)?;
        let (requests, window) = parse_rate_limit(&self.rate_limit)?;
        let mut faults = Faults::default();
        for f in &self.faults {
            faults.apply_flag(f)?;
        }
        if self.heartbeat_secs == 0 {
            return Err(EmulatorError::Config("--heartbeat-secs must be > 0".into()));
        }
        let config = self.config_with_flags()?;
        if self.jwt_lifetime_secs == 0 {
            return Err(EmulatorError::Config(
                "--jwt-lifetime-secs must be > 0 (every chat would fail at once)".into(),
            ));
        }
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(EmulatorTls::from_pem_files(cert, key)?),
            _ if self.tls => Some(EmulatorTls::self_signed()),
            _ => None,
        };
        if tls.is_none() && self.tls_cert_out.is_some() {
            return Err(EmulatorError::Config(
                "--tls-cert-out needs --tls (or --tls-cert and --tls-key)".into(),
            ));
        }
        let mut builder = Emulator::builder();
        if let Some(secs) = self.inactivity_timeout_secs {
            if secs == 0 {
                return Err(EmulatorError::Config(
                    "--inactivity-timeout-secs must be > 0".into(),
                ));
            }
            builder = builder.inactivity_timeout(Duration::from_secs(secs));
        }
        let builder = builder
            .bind(SocketAddr::new(self.host, self.port))
            .agent(agent)
            .agent_delay(Duration::from_millis(self.agent_delay_ms))
            .heartbeat_interval(Duration::from_secs(self.heartbeat_secs))
            .jwt_lifetime(Duration::from_secs(self.jwt_lifetime_secs))
            .rate_limit(requests, window)
            .max_request_bytes(self.max_request_bytes)
            .activate_without_stream(self.activate_without_stream)
            .config(config)
            .faults(faults);
        let builder = match self.web_demo {
            true => builder.web_demo(crate::web_demo::WebDemo::from_flags(
                self.web_demo_dir.as_deref(),
                self.web_demo_pkg.as_deref(),
            )?),
            false => builder,
        };
        Ok(match tls {
            Some(tls) => builder.tls(tls),
            None => builder,
        })
    }

    /// The config file (if any) with the flags that override it applied.
    fn config_with_flags(&self) -> Result<EmulatorConfig, EmulatorError> {
        let mut config = match &self.config {
            Some(p) => EmulatorConfig::from_file(p)?,
            None => EmulatorConfig::default(),
        };
        if let Some(text) = &self.workflow_message {
            config.workflow_message = Some(text.clone());
        }
        // Flags win over the file.
        if let Some(s) = &self.create_rate_limit {
            let (requests, window) = parse_limit_flag("--create-rate-limit", s)?;
            config.create_rate_limit = Some(crate::config::RateLimitConfig {
                requests,
                window_secs: window.as_secs(),
            });
        }
        let flags = [
            (
                &mut config.header_read_timeout_secs,
                self.header_read_timeout_secs,
                "--header-read-timeout-secs",
            ),
            (
                &mut config.idle_timeout_secs,
                self.idle_timeout_secs,
                "--idle-timeout-secs",
            ),
            (
                &mut config.ended_retention_secs,
                self.ended_retention_secs,
                "--ended-retention-secs",
            ),
            (
                &mut config.abandoned_after_secs,
                self.abandoned_after_secs,
                "--abandoned-after-secs",
            ),
        ];
        for (field, flag, name) in flags {
            if let Some(secs) = flag {
                if secs == 0 {
                    return Err(EmulatorError::Config(format!("{name} must be > 0")));
                }
                *field = Some(secs);
            }
        }
        if let Some(n) = self.max_connections {
            config.max_connections = Some(n);
        }
        if let Some(n) = self.max_conversations {
            config.max_conversations = Some(n);
        }
        if let Some(token) = &self.control_token {
            config.control_token = Some(token.clone());
        }
        Ok(config)
    }
}

/// Ctrl-C and SIGTERM, listened for from creation on: a signal that arrives right after the
/// listening line is printed (a script stopping the emulator at once) is then caught and ends
/// it cleanly, instead of killing it with the default action before anything listens.
struct Termination {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Termination {
    fn listen() -> Termination {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Termination {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Termination {}
        }
    }

    async fn wait(self) {
        #[cfg(unix)]
        {
            async fn recv(signal: Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            if self.interrupt.is_none() && self.terminate.is_none() {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
            tokio::select! {
                _ = recv(self.interrupt) => {}
                _ = recv(self.terminate) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Resolves when standard input reaches its end (never when `watch` is false). The read runs
/// on a plain thread, which the process's exit ends (a runtime's blocking pool would wait for
/// it instead).
async fn stdin_closed(watch: bool) {
    if !watch {
        return std::future::pending().await;
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = tx.send(());
    });
    let _ = rx.await;
}

/// Starts the emulator, prints `guest-chat emulator listening on http://HOST:PORT` (`https`
/// with TLS, then a line naming the certificate file to trust), and serves until Ctrl-C or
/// SIGTERM.
pub async fn run(args: EmulatorArgs) -> Result<(), EmulatorError> {
    let termination = Termination::listen();
    let handle = args.to_builder()?.start().await?;
    // The certificate file is written before the URL is printed, so a script that waits for
    // the first line can read it at once.
    let cert_file = match handle.tls_certificate_pem() {
        Some(pem) => match write_certificate(&args, &handle, &pem) {
            Ok(file) => Some(file),
            Err(e) => {
                handle.shutdown().await;
                return Err(e);
            }
        },
        None => None,
    };
    println!("guest-chat emulator listening on {}", handle.base_url());
    if let Some(file) = &cert_file {
        println!("TLS certificate to trust (PEM): {}", file.path.display());
    }
    if !args.host.is_loopback() {
        eprintln!(
            "WARNING: the emulator listens on {}, not a loopback address. It is a test tool with no real authentication: anyone who can reach this port can create chats, and its control API (/emulator/...) mints a guest JWT for any chat. The control API requires `Authorization: Bearer <control token>`.",
            args.host
        );
        // The user needs the generated token to use the control API at all; a token given
        // by flag or environment is theirs already and is not echoed.
        if args.control_token.is_none() && config_token_absent(&args) {
            if let Some(token) = handle.control_token() {
                println!("control API token (generated): {token}");
            }
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tokio::select! {
        _ = termination.wait() => {}
        _ = stdin_closed(args.exit_on_stdin_close) => {}
    }
    handle.shutdown().await;
    if let Some(file) = cert_file.filter(|f| f.remove_at_exit) {
        let _ = std::fs::remove_file(file.path);
    }
    Ok(())
}

/// Whether `--config` gives no control token (a given one is not printed).
fn config_token_absent(args: &EmulatorArgs) -> bool {
    args.config
        .as_ref()
        .and_then(|p| EmulatorConfig::from_file(p).ok())
        .is_none_or(|c| c.control_token.is_none())
}

struct CertFile {
    path: PathBuf,
    remove_at_exit: bool,
}

fn write_certificate(
    args: &EmulatorArgs,
    handle: &crate::EmulatorHandle,
    pem: &str,
) -> Result<CertFile, EmulatorError> {
    let (path, remove_at_exit) = match (&args.tls_cert_out, &args.tls_cert) {
        (Some(out), _) => (out.clone(), false),
        // The user's own chain is already in a file: name it, write no copy.
        (None, Some(own)) => {
            return Ok(CertFile {
                path: own.clone(),
                remove_at_exit: false,
            })
        }
        (None, None) => (
            std::env::temp_dir().join(format!(
                "guest-chat-emulator-{}.pem",
                handle.local_addr().port()
            )),
            true,
        ),
    };
    std::fs::write(&path, pem).map_err(|e| {
        EmulatorError::Config(format!(
            "cannot write the TLS certificate to {}: {e}",
            path.display()
        ))
    })?;
    Ok(CertFile {
        path,
        remove_at_exit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: EmulatorArgs,
    }

    fn parse(argv: &[&str]) -> EmulatorArgs {
        Wrap::try_parse_from(std::iter::once("x").chain(argv.iter().copied()))
            .unwrap()
            .args
    }

    #[test]
    fn flags_build_or_fail_cleanly() {
        let a = parse(&[
            "--port",
            "0",
            "--agent",
            "manual",
            "--rate-limit",
            "10/5",
            "--fault",
            "error-rate=0.5",
            "--fault",
            "latency-ms=3",
            "--activate-without-stream",
            "--inactivity-timeout-secs",
            "900",
            "--workflow-message",
            "Welcome!",
        ]);
        assert_eq!(a.inactivity_timeout_secs, Some(900));
        assert_eq!(a.workflow_message.as_deref(), Some("Welcome!"));
        assert!(a.to_builder().is_ok());
        assert!(parse(&["--tls", "--tls-cert-out", "/tmp/x.pem"])
            .to_builder()
            .is_ok());
        for conflicting in [
            &["--tls", "--tls-cert", "c.pem", "--tls-key", "k.pem"][..],
            &["--tls-cert", "c.pem"][..],
            &["--tls-key", "k.pem"][..],
        ] {
            let argv = std::iter::once("x").chain(conflicting.iter().copied());
            assert!(Wrap::try_parse_from(argv).is_err(), "{conflicting:?}");
        }
        assert_eq!(
            parse_rate_limit("180/60").unwrap(),
            (180, Duration::from_secs(60))
        );
        for bad in [
            vec!["--rate-limit", "5"],
            vec!["--rate-limit", "5/0"],
            vec!["--rate-limit", "0/60"],
            vec!["--jwt-lifetime-secs", "0"],
            vec!["--create-rate-limit", "0/60"],
            vec!["--idle-timeout-secs", "0"],
            vec!["--header-read-timeout-secs", "0"],
            vec!["--fault", "error-rate=2"],
            vec!["--fault", "nope=1"],
            vec!["--agent", "robot"],
            vec!["--heartbeat-secs", "0"],
            vec!["--inactivity-timeout-secs", "0"],
            vec!["--config", "/nonexistent/file.json"],
            vec!["--tls-cert-out", "/tmp/x.pem"],
            vec![
                "--tls-cert",
                "/nonexistent/c.pem",
                "--tls-key",
                "/nonexistent/k.pem",
            ],
        ] {
            assert!(parse(&bad).to_builder().is_err(), "{bad:?}");
        }
    }
}
