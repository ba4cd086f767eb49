//! End-to-end tests of `guest-chat load`: a small run against the embedded emulator, and an
//! unreachable environment. No timing assertions: speed is measured, not tested.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_guest-chat");
const LIMIT: Duration = Duration::from_secs(60);

/// Runs the binary to completion, killing it after `LIMIT`; returns (status, stdout, stderr).
fn run(args: &[&str]) -> (ExitStatus, String, String) {
    run_command(Command::new(BIN).args(args))
}

/// Runs the command to completion, killing it after `LIMIT`; returns (status, stdout, stderr).
fn run_command(command: &mut Command) -> (ExitStatus, String, String) {
    let mut child = command
        .env("HOME", std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn guest-chat");
    let drain = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("guest-chat load did not exit within {LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(50));
    };
    (
        status,
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    )
}

fn positive(v: &serde_json::Value, what: &str) {
    let x = v.as_f64().unwrap_or_else(|| panic!("{what} missing: {v}"));
    assert!(x > 0.0, "{what} = {x}");
}

#[test]
fn small_run_completes_every_chat_and_reports_latencies() {
    let (status, out, err) = run(&["load", "--chats", "20", "--messages", "2", "--json"]);
    assert!(
        status.success(),
        "exit {status:?}\nstdout: {out}\nstderr: {err}"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON object expected: {out}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).expect("JSON summary");
    assert_eq!(v["chats"], 20);
    assert_eq!(v["completed"], 20, "{v}");
    assert_eq!(v["failed"], 0, "{v}");
    assert_eq!(v["messageRoundTrips"], 40, "{v}");
    assert_eq!(v["errorTotal"], 0, "{v}");
    assert_eq!(v["errors"], serde_json::json!({}), "{v}");
    assert_eq!(v["timedOut"], false);
    for name in ["chatStart", "roundTrip", "send"] {
        let h = &v["latencyMs"][name];
        let count = if name == "chatStart" { 20 } else { 40 };
        assert_eq!(h["count"], count, "{name}: {h}");
        for q in ["p50", "p90", "p99", "max"] {
            positive(&h[q], &format!("{name}.{q}"));
        }
        assert!(h["p50"].as_f64() <= h["max"].as_f64(), "{name}: {h}");
    }
    // The round trip includes the send.
    assert!(v["latencyMs"]["roundTrip"]["max"].as_f64() >= v["latencyMs"]["send"]["p50"].as_f64());
    positive(&v["messagesPerSec"], "messagesPerSec");
    let peak = v["peakConcurrentChats"]
        .as_u64()
        .expect("peakConcurrentChats");
    assert!((1..=20).contains(&peak), "{v}");
    if cfg!(target_os = "linux") {
        positive(&v["peakRssBytes"], "peakRssBytes");
    }
}

/// The summary of a successful `--json` run of `chats` chats with one message each, whose
/// emulator ran as a child process that is gone once the run has ended.
fn check_child_emulator_run(out: &str, err: &str, chats: u64) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("JSON summary ({e}): {out}\nstderr: {err}"));
    assert_eq!(v["completed"], chats, "{v}\nstderr: {err}");
    assert_eq!(v["errorTotal"], 0, "{v}");
    let target = v["target"].as_str().expect("target");
    assert!(
        target.starts_with("emulator process http://127.0.0.1:"),
        "{target}"
    );
    let pid = target
        .rsplit_once("(pid ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .expect("the child's pid in the target");
    if cfg!(target_os = "linux") {
        positive(
            &v["emulatorProcessPeakRssBytes"],
            "emulatorProcessPeakRssBytes",
        );
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "the emulator process {pid} outlived the run"
        );
    }
    v
}

#[test]
fn emulator_process_runs_the_emulator_in_a_child_that_ends_with_the_run() {
    let (status, out, err) = run(&[
        "load",
        "--emulator-process",
        "--chats",
        "20",
        "--messages",
        "1",
        "--json",
    ]);
    assert!(status.success(), "exit {status:?}\nstderr: {err}");
    check_child_emulator_run(&out, &err, 20);
}

/// 150 chats held open need about 300 descriptors with the emulator in the same process
/// (both ends of every socket): more than a limit of 256. The run moves the emulator to a
/// child process by itself, and every chat completes.
#[cfg(target_os = "linux")]
#[test]
fn a_low_open_file_limit_moves_the_emulator_to_a_child_process() {
    let (status, out, err) = run_command(Command::new("prlimit").args([
        "--nofile=256:256",
        BIN,
        "load",
        "--chats",
        "150",
        "--hold",
        "--concurrency",
        "20",
        "--messages",
        "1",
        "--json",
    ]));
    assert!(
        status.success(),
        "exit {status:?} (prlimit is util-linux's)\nstdout: {out}\nstderr: {err}"
    );
    let v = check_child_emulator_run(&out, &err, 150);
    assert_eq!(v["openFileLimit"], 256, "{v}");
    assert_eq!(v["peakConcurrentChats"], 150, "{v}");
    assert!(v["note"].is_null(), "the child-process run fits: {v}");
}

#[test]
fn unreachable_environment_fails_with_one_line() {
    // Bind then drop a listener: a loopback port with (almost certainly) nobody behind it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let url = format!("http://127.0.0.1:{port}");
    let (status, out, err) = run(&[
        "load",
        "--environment",
        &url,
        "--chats",
        "3",
        "--duration-secs",
        "20",
    ]);
    assert!(!status.success(), "stdout: {out}\nstderr: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one error line expected: {err:?}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(lines[0].contains(&url), "{err}");
}

#[test]
fn remote_environment_is_refused_without_allow_remote() {
    let (status, _, err) = run(&[
        "load",
        "--environment",
        "http://192.0.2.1:8080",
        "--chats",
        "1",
    ]);
    assert!(!status.success());
    assert!(err.contains("not a loopback address"), "{err}");
}

/// A `guest-chat emulator --tls` child; killed on drop.
struct TlsEmulator {
    child: std::process::Child,
    base: String,
    cert: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for TlsEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tls_emulator() -> TlsEmulator {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("cert.pem");
    let mut child = Command::new(BIN)
        .args(["emulator", "--tls", "--tls-cert-out"])
        .arg(&cert)
        .args(["--agent-delay-ms", "5", "--rate-limit", "100000/1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the emulator");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines
        .next()
        .expect("a listening line")
        .expect("readable stdout");
    let base = first
        .strip_prefix("guest-chat emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_owned();
    // Keep draining stdout so the emulator never blocks on a full pipe.
    thread::spawn(move || for _ in lines {});
    TlsEmulator {
        child,
        base,
        cert,
        _dir: dir,
    }
}

#[test]
fn a_tls_emulator_is_loaded_over_https_and_wss_with_root_cert() {
    let emu = tls_emulator();
    assert!(emu.base.starts_with("https://127.0.0.1:"), "{}", emu.base);
    let cert = emu.cert.to_str().expect("utf-8 path");
    let (status, out, err) = run(&[
        "load",
        "--environment",
        &emu.base,
        "--root-cert",
        cert,
        "--chats",
        "5",
        "--messages",
        "1",
        "--json",
    ]);
    assert!(
        status.success(),
        "exit {status:?}\nstdout: {out}\nstderr: {err}"
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON summary");
    assert_eq!(v["completed"], 5, "{v}");
    assert_eq!(v["errorTotal"], 0, "{v}");
    // Without the certificate nothing gets through.
    let (status, out, err) = run(&[
        "load",
        "--environment",
        &emu.base,
        "--chats",
        "2",
        "--messages",
        "1",
        "--json",
    ]);
    assert!(!status.success(), "stdout: {out}\nstderr: {err}");
    assert!(
        format!("{out}{err}").to_lowercase().contains("certificate"),
        "stdout: {out}\nstderr: {err}"
    );
}
