//! The examples run, to the end, as their doc comments say: `chat` and `events` bring their own
//! emulator; `rest` is pointed at one this test starts. Examples that stop working fail here,
//! not in a user's first five minutes.

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

#[test]
fn the_chat_example_has_a_whole_conversation() {
    let (ok, out, err) = run("chat", &[]);
    assert!(ok, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("joined chat "), "{out}");
    assert!(out.contains("You said: Thanks, bye"), "{out}");
    assert!(out.trim_end().ends_with("chat ended: ChatEnded"), "{out}");
}

#[test]
fn the_events_example_resyncs_and_ends() {
    let (ok, out, err) = run("events", &[]);
    assert!(ok, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("-- Connected"), "{out}");
    assert!(out.contains("-- Resynced { missed: "), "{out}");
    assert!(out.trim_end().ends_with("closed: ChatEnded"), "{out}");
}

/// The rest example against an emulator this test starts; its stdout.
fn run_rest(activate_without_stream: bool) -> String {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let emu = rt
        .block_on(
            guest_chat_emulator::Emulator::builder()
                .activate_without_stream(activate_without_stream)
                .start(),
        )
        .expect("emulator");
    let url = emu.base_url();
    let (ok, out, err) = run("rest", &[url.as_str()]);
    rt.block_on(emu.shutdown());
    assert!(ok, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.starts_with("created conversation "), "{out}");
    assert!(out.trim_end().ends_with("left the chat"), "{out}");
    out
}

#[test]
fn the_rest_example_shows_the_not_routed_error_and_carries_on() {
    let out = run_rest(false);
    assert!(out.contains("chat.error.conversation.state"), "{out}");
}

#[test]
fn the_rest_example_sends_and_reads_the_history_when_routed() {
    let out = run_rest(true);
    assert!(out.contains("sent message "), "{out}");
    assert!(out.contains("[standard] Hello from Rust"), "{out}");
}
