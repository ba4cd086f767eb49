//! The examples run, to the end, as their doc comments say: `chat`, `events`, `emulator` and
//! `emulator_tls` bring their own emulator; `quickstart` (the README's SDK example) and `rest`
//! (the REST walkthrough of docs/sdk.md) are given the base URL of one this test starts, as
//! their first argument. Examples that stop working fail here, not in a user's first five
//! minutes. (`tests/docs/docs_examples.rs` checks that the docs show these files byte for byte.)

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

/// The example's binary, built if `cargo test` did not build it already (as when only this
/// test target is selected).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/examples-<hash> -> target/<profile>/examples/<name>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile directory");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        build.args([
            "build",
            "-p",
            "purecloud-guest-chat-client",
            "--example",
            name,
        ]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        if let Some(target) = profile_dir.parent() {
            build.arg("--target-dir").arg(target);
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building example {name} failed");
    }
    assert!(path.exists(), "example binary {} missing", path.display());
    path
}

/// Runs the example to its end (killed after `LIMIT`); exit success and stdout.
fn run(name: &str, args: &[&str]) -> (bool, String, String) {
    let mut child = Command::new(example(name))
        .args(args)
        .env("HOME", std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("example starts");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `name` without arguments, asserts it exited 0 and returns its stdout.
fn run_ok(name: &str) -> String {
    let (ok, out, err) = run(name, &[]);
    assert!(ok, "stdout:\n{out}\nstderr:\n{err}");
    out
}

#[test]
fn the_chat_example_has_a_whole_conversation() {
    let out = run_ok("chat");
    assert!(out.contains("joined chat "), "{out}");
    assert!(out.contains("You said: Thanks, bye"), "{out}");
    assert!(out.trim_end().ends_with("chat ended: ChatEnded"), "{out}");
}

#[test]
fn the_events_example_resyncs_and_ends() {
    let out = run_ok("events");
    assert!(out.contains("-- Connected"), "{out}");
    assert!(out.contains("-- Resynced { missed: "), "{out}");
    assert!(out.trim_end().ends_with("closed: ChatEnded"), "{out}");
}

/// Runs `name` with the base URL of an emulator this test starts (echo agent, defaults);
/// asserts it exited 0 within `LIMIT` and returns its stdout.
fn run_against_emulator(name: &str) -> String {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let emu = rt
        .block_on(guest_chat_emulator::Emulator::builder().start())
        .expect("emulator");
    let url = emu.base_url();
    let (ok, out, err) = run(name, &[url.as_str()]);
    rt.block_on(emu.shutdown());
    assert!(
        ok,
        "{name} did not exit 0 within {LIMIT:?}\nstdout:\n{out}\nstderr:\n{err}"
    );
    out
}

#[test]
fn the_readme_quickstart_greets_the_agent_and_leaves_after_its_reply() {
    let out = run_against_emulator("quickstart");
    // The echo agent greets, then answers the guest's message.
    assert!(out.contains("Riley: Hello Ada"), "{out}");
    assert!(
        out.contains("Riley: You said: Hello! Where is my order?"),
        "{out}"
    );
    // Member-join/leave notices are messages with an empty body: none is printed.
    let empty: Vec<&str> = out.lines().filter(|l| l.ends_with(": ")).collect();
    assert!(empty.is_empty(), "empty message lines {empty:?} in\n{out}");
    assert!(out.trim_end().ends_with("chat over: ChatEnded"), "{out}");
}

#[test]
fn the_rest_walkthrough_opens_the_stream_before_sending() {
    let out = run_against_emulator("rest");
    assert!(out.starts_with("created conversation "), "{out}");
    assert!(out.contains("\nconnected\n"), "{out}");
    assert!(out.contains("sent message "), "{out}");
    assert!(out.contains("[standard] Hello from Rust"), "{out}");
    assert!(!out.contains("chat.error.conversation.state"), "{out}");
    assert!(out.trim_end().ends_with("left the chat"), "{out}");
}

#[test]
fn the_emulator_library_example_drives_a_manual_agent() {
    let out = run_ok("emulator");
    assert!(out.contains(": Hello from the manual agent"), "{out}");
    assert!(out.trim_end().ends_with("chat over: ChatEnded"), "{out}");
}

#[test]
fn the_emulator_tls_example_chats_over_https_and_wss() {
    let out = run_ok("emulator_tls");
    assert!(out.starts_with("emulator on https://127.0.0.1:"), "{out}");
    assert!(out.contains("connected over TLS to chat "), "{out}");
}

#[test]
fn the_web_messaging_example_talks_reads_history_and_ends() {
    let out = run_ok("web_messaging");
    assert!(out.contains("new conversation: Some(true)"), "{out}");
    assert!(
        out.contains("agent: You said: Hello!") || out.contains("Riley: You said: Hello!"),
        "{out}"
    );
    assert!(out.contains("2 messages in history"), "{out}");
    assert!(out.contains("conversation ended by Some(Guest)"), "{out}");
}
