//! `guest-chat`: see a guest chat in one command, chat as a guest from a terminal, or run the
//! emulator standalone, or load-test the SDK.

mod connect;
mod demo;
mod format;
mod load;
mod plain;
mod tui;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Examples:
  guest-chat demo
      A whole chat with the bundled emulator's echo agent, in a few seconds.
  guest-chat chat
      Chat in the terminal with the embedded emulator.
  guest-chat chat --environment mypurecloud.ie --organization-id ORG \\
      --deployment-id DEPLOYMENT --queue Support --name Ada --email ada@example.com
      Chat with a real Genesys Cloud deployment.
  printf 'hello\\n/leave\\n' | guest-chat chat --plain --json
      Drive a chat from a script, one JSON object per event.
  guest-chat emulator --port 8080 --agent echo
      Run the emulator standalone.
  guest-chat load --chats 1000 --concurrency 200 --messages 5
      Load-test the SDK against an embedded emulator and print latencies.";

/// Genesys Cloud guest chat from the command line.
#[derive(Debug, Parser)]
#[command(
    name = "guest-chat",
    version,
    about = "Genesys Cloud guest chat from the terminal: a one-command demo, an interactive chat, and the emulator",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a whole guest chat against the bundled emulator and show it as it happens.
    #[command(after_help = "Example:\n  cargo run --release -p guest-chat-cli -- demo")]
    Demo(demo::DemoArgs),
    /// Chat as a guest: a terminal UI, or line-based with --plain.
    #[command(after_help = CHAT_HELP)]
    Chat(ChatArgs),
    /// Run the guest chat emulator standalone and print its base URL.
    #[command(after_help = EMULATOR_HELP)]
    Emulator(guest_chat_emulator::EmulatorArgs),
    /// Run many guest chats at once against an emulator and report latencies and memory.
    #[command(after_help = LOAD_HELP)]
    Load(load::LoadArgs),
}

const LOAD_HELP: &str = "\
Each virtual guest starts a chat, waits for the echo agent's greeting, sends its messages
(each awaiting the agent's `You said:` reply), leaves and waits for the end. Without
--environment the target is an embedded emulator on a free loopback port with a high rate
limit (run as a child process when the open-file limit needs it, or with --emulator-process);
--environment takes an emulator's base URL on a loopback address. Every run stops by
itself: after all chats, or after --duration-secs. Every reply is checked to arrive exactly
once and in order; a send that fails ambiguously (5xx, timeout) is looked up in the history
before it is sent again. The exit status is 0 when every chat completed with no violation,
130 after Ctrl-C (the partial report is printed). docs/load.md has the details.

Examples:
  guest-chat load
  guest-chat load --chats 10000 --concurrency 1000 --messages 2
  guest-chat load --chats 2000 --hold --json
  guest-chat load --chats 10000 --hold --concurrency 1000 --messages 2
  guest-chat load --environment http://127.0.0.1:8080 --chats 500
  guest-chat load --plot latency.svg --hdr-out run1.hdr
  guest-chat load report run1.hdr run2.hdr";

const CHAT_HELP: &str = "\
Without --environment an embedded emulator with an echo agent is started, so
`guest-chat chat` works offline. In the terminal UI: Enter sends, /leave ends the chat,
/quit (or Ctrl-C) leaves and exits, PgUp/PgDn scroll, /help lists the commands.

With --plain (chosen by itself when stdin or stdout is not a terminal) every stdin line is
sent as a message, once an agent has joined; /leave or end of input waits up to
--linger-secs for the replies still due, then leaves the chat and waits for its end. A
message that cannot be sent is reported on stderr and the chat goes on. Events are printed
one per line (--json: one JSON object per line). Whatever ends the program (an error,
Ctrl-C, SIGTERM, end of input) leaves a chat still going on.

Exit status (terminal UI and --plain):
  0  the guest left (/leave, /quit, Ctrl-C, end of input) or the agent ended the chat
  1  an error, or the service ended the chat
  2  usage: bad flags

Examples:
  guest-chat chat
  guest-chat chat --environment eu_west_1 --organization-id ORG --deployment-id DEP \\
      --queue Support --name Ada --email ada@example.com
  guest-chat chat --environment http://127.0.0.1:8080 --organization-id o \\
      --deployment-id d --queue q --config ./guest-chat.ini
  printf 'hello\\n/leave\\n' | guest-chat chat --plain
  printf 'hello\\n' | guest-chat chat --plain --json";

const EMULATOR_HELP: &str = "\
Examples:
  guest-chat emulator
  guest-chat emulator --port 8080 --agent script:agent.txt --heartbeat-secs 5
  guest-chat emulator --rate-limit 10/60 --fault error-rate=0.1 --fault latency-ms=50";

/// Flags of `guest-chat chat`.
#[derive(Debug, clap::Args)]
struct ChatArgs {
    #[command(flatten)]
    connect: connect::ConnectArgs,
    /// Line-based mode for pipes and scripts (no terminal UI).
    #[arg(long)]
    plain: bool,
    /// With --plain: print one JSON object per event.
    #[arg(long, requires = "plain")]
    json: bool,
    /// With --plain: after /leave or end of input, wait up to this many seconds for the
    /// replies still due before leaving (0 leaves at once).
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    linger_secs: u64,
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(args) => demo::run(args).await,
        Command::Chat(args) => {
            let plain = args.plain || !terminal_on_both_ends();
            if !args.plain && plain {
                eprintln!(
                    "note: stdin or stdout is not a terminal; chatting line by line (--plain)"
                );
            }
            let target = args.connect.target().await?;
            if plain {
                let linger = std::time::Duration::from_secs(args.linger_secs);
                Box::pin(plain::run(target, args.json, linger)).await
            } else {
                // Boxed, as the line mode above: both futures are large (over 16 KB).
                Box::pin(tui::run(target)).await
            }
        }
        Command::Load(args) => load::run(args).await,
        Command::Emulator(args) => guest_chat_emulator::run(args)
            .await
            .map_err(|e| anyhow::anyhow!("{e}")),
    }
}

/// The error's chain as text, masked like the SDK's log, with no control characters.
fn error_line(e: &anyhow::Error) -> String {
    let line = format!("{e:#}");
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    let masked = purecloud_guest_chat_client::secret::redact(&line, None);
    format::visible(&masked, false).into_owned()
}

/// True when both stdin and stdout are terminals (the terminal UI needs both).
fn terminal_on_both_ends() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Chat(args) = &cli.command {
        if let Err(missing) = args.connect.check() {
            use clap::CommandFactory;
            Cli::command()
                .error(clap::error::ErrorKind::MissingRequiredArgument, missing)
                .exit();
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Background tasks (sockets, the emulator) must not delay the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let line = error_line(&e);
            eprintln!(
                "error: {}",
                line.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            if e.is::<load::Interrupted>() {
                // 128 + SIGINT, as a shell reports a process ended by Ctrl-C.
                return ExitCode::from(130);
            }
            ExitCode::FAILURE
        }
    }
}
