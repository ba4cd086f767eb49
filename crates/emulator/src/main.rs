//! `guest-chat-emulator`: runs the emulator standalone.
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "guest-chat-emulator",
    version,
    about = "Local emulator of the Genesys Cloud guest chat API"
)]
struct Cli {
    #[command(flatten)]
    args: guest_chat_emulator::EmulatorArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("guest-chat-emulator: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(guest_chat_emulator::run(cli.args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("guest-chat-emulator: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
