//! The SDK logger, set in code (the JavaScript SDK's `client.config.logger` and `setLogger()`).
use purecloud_guest_chat_client::{ApiClient, LogFormat, LogLevel, LoggerSettings};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = ApiClient::builder().build()?;
    client.config().set_logger(LoggerSettings {
        log_level: LogLevel::Debug,
        log_format: LogFormat::Json,
        log_to_console: false,
        log_file_path: Some(std::env::temp_dir().join("guest-chat.log")),
        ..LoggerSettings::default()
    })?;
    println!("{:?}", client.config().logger_settings());
    Ok(())
}
