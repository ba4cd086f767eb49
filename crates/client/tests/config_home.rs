//! The default configuration path, `$HOME/.genesyscloudrust-guest/config`.
//!
//! `HOME` is process-global, so this binary holds a single test that sets it.

#![cfg(feature = "config-file")]

use purecloud_guest_chat_client::config::{default_config_path, Config, ConfigFileOptions};
use purecloud_guest_chat_client::{Environment, LogLevel};
use std::time::Duration;

#[tokio::test]
async fn the_default_path_is_read_at_start_and_watched_even_before_it_exists() {
    let home = tempfile::tempdir().unwrap();
    std::env::set_var("HOME", home.path());
    let expected = home.path().join(".genesyscloudrust-guest").join("config");
    assert_eq!(default_config_path(), Some(expected.clone()));

    // Absent (and its directory too): defaults, no error, watched by polling for the directory.
    let cfg = Config::new(Environment::default(), false);
    cfg.init_file(ConfigFileOptions::default());
    assert_eq!(cfg.config_path(), Some(expected.clone()));
    assert_eq!(cfg.last_error(), None);
    assert_eq!(cfg.logger_settings().log_level, LogLevel::None);
    let mut rx = cfg.subscribe_reloads();
    rx.borrow_and_update();

    std::fs::create_dir_all(expected.parent().unwrap()).unwrap();
    std::fs::write(
        &expected,
        "[logging]\nlog_level = debug\n[general]\nhost = http://127.0.0.1:7\n",
    )
    .unwrap();
    // The directory poll runs every 500 ms; the promise is 1 s; allow slack.
    tokio::time::timeout(Duration::from_secs(3), async {
        while cfg.logger_settings().log_level != LogLevel::Debug {
            rx.changed().await.unwrap();
        }
    })
    .await
    .expect("the file created under the default path is applied");
    assert_eq!(cfg.environment().base_url(), "http://127.0.0.1:7");

    // A new client reads the existing default file at creation.
    let again = Config::new(Environment::default(), false);
    again.init_file(ConfigFileOptions {
        live_reload: Some(false),
        ..Default::default()
    });
    assert_eq!(again.logger_settings().log_level, LogLevel::Debug);
}
