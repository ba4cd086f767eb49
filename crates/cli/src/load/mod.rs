//! `guest-chat load`: many virtual guests in one process against the emulator, with latency
//! histograms, throughput, errors by kind, exactly-once and order checks, and the process's
//! peak memory; `guest-chat load report` merges the interval logs of several runs.
//!
//! Every run is bounded: a fixed number of chats, a wall-clock limit (`--duration-secs`) after
//! which every unfinished chat is dropped, and a per-step limit inside each chat. Without
//! `--environment` the target is an emulator on a free loopback port: in this process, or in
//! a child `guest-chat emulator` process when both ends of every socket would not fit the
//! open-file limit here (or with `--emulator-process`). An explicit environment must be a
//! loopback URL unless `--allow-remote` is given. Ctrl-C prints the partial report and exits
//! with 130.

mod chat;
mod check;
mod hdr;
mod merge;
mod plot;
mod progress;
mod record;
mod report;
mod run;
mod send;
mod target;

pub(crate) use run::Interrupted;
use std::time::Duration;

/// The longest a single step of a chat (greeting, one reply, the end) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest accepted `--chats` (a bound, not a target).
const MAX_CHATS: usize = 1_000_000;

/// Flags of `guest-chat load`.
#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct LoadArgs {
    #[command(subcommand)]
    pub command: Option<LoadCommand>,
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
    /// Draw the latency distributions (percentile against milliseconds) to this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<std::path::PathBuf>,
    /// Write the latencies as an `HdrHistogram` interval log (one histogram per series and
    /// second, and the run's summary), for `guest-chat load report`.
    #[arg(long, value_name = "FILE")]
    pub hdr_out: Option<std::path::PathBuf>,
}

/// Subcommands of `guest-chat load`.
#[derive(Debug, Clone, clap::Subcommand)]
pub(crate) enum LoadCommand {
    /// Merge the --hdr-out logs of several runs into one summary.
    Report(merge::ReportArgs),
}

/// Runs `guest-chat load` (or `guest-chat load report`).
pub(crate) async fn run(args: LoadArgs) -> anyhow::Result<()> {
    match args.command.clone() {
        Some(LoadCommand::Report(report)) => merge::run(report),
        None => run::run(args).await,
    }
}
