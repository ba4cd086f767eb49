//! Command-line flags (`EmulatorArgs`, embeddable by the `guest-chat` CLI) and [`run`].

use crate::agent::AgentMode;
use crate::config::{EmulatorConfig, Faults};
use crate::error::EmulatorError;
use crate::server::{Emulator, EmulatorBuilder};
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
    /// Agent behaviour: echo, manual, or script:<file>.
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
    /// JSON configuration file (EmulatorConfig).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Fault injection, repeatable: error-rate=0.1, latency-ms=50, non-json-rate=0.05,
    /// drop-sockets-secs=30, seed=42.
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    /// Route conversations at create, without waiting for the event stream.
    #[arg(long)]
    pub activate_without_stream: bool,
    /// End a chat whose guest sent no message or typing indicator for this many seconds
    /// (default: never; the real service reportedly used 900).
    #[arg(long)]
    pub inactivity_timeout_secs: Option<u64>,
    /// An Architect inbound flow (a WORKFLOW member) posts this message in every chat before
    /// the agent is offered (overrides `workflowMessage` of --config).
    #[arg(long)]
    pub workflow_message: Option<String>,
}

fn parse_rate_limit(s: &str) -> Result<(u32, Duration), EmulatorError> {
    let bad = || {
        EmulatorError::Config(format!(
            "--rate-limit {s}: expected REQUESTS/SECONDS, e.g. 180/60"
        ))
    };
    let (n, secs) = s.split_once('/').ok_or_else(bad)?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    let secs: u64 = secs.trim().parse().map_err(|_| bad())?;
    if secs == 0 {
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
        let mut config = match &self.config {
            Some(p) => EmulatorConfig::from_file(p)?,
            None => EmulatorConfig::default(),
        };
        if let Some(text) = &self.workflow_message {
            config.workflow_message = Some(text.clone());
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
        Ok(builder
            .bind(SocketAddr::new(self.host, self.port))
            .agent(agent)
            .agent_delay(Duration::from_millis(self.agent_delay_ms))
            .heartbeat_interval(Duration::from_secs(self.heartbeat_secs))
            .jwt_lifetime(Duration::from_secs(self.jwt_lifetime_secs))
            .rate_limit(requests, window)
            .max_request_bytes(self.max_request_bytes)
            .activate_without_stream(self.activate_without_stream)
            .config(config)
            .faults(faults))
    }
}

async fn terminated() {
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Starts the emulator, prints `guest-chat emulator listening on http://HOST:PORT`, and serves
/// until Ctrl-C or SIGTERM.
pub async fn run(args: EmulatorArgs) -> Result<(), EmulatorError> {
    let handle = args.to_builder()?.start().await?;
    println!("guest-chat emulator listening on {}", handle.base_url());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    terminated().await;
    handle.shutdown().await;
    Ok(())
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
        assert_eq!(
            parse_rate_limit("180/60").unwrap(),
            (180, Duration::from_secs(60))
        );
        for bad in [
            vec!["--rate-limit", "5"],
            vec!["--rate-limit", "5/0"],
            vec!["--fault", "error-rate=2"],
            vec!["--fault", "nope=1"],
            vec!["--agent", "robot"],
            vec!["--heartbeat-secs", "0"],
            vec!["--inactivity-timeout-secs", "0"],
            vec!["--config", "/nonexistent/file.json"],
        ] {
            assert!(parse(&bad).to_builder().is_err(), "{bad:?}");
        }
    }
}
