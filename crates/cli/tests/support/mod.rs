//! Shared set-up of the CLI's tests: the `guest-chat` binary run to completion or driven
//! line by line, an emulator child process, the control API over HTTP, test certificates.
#![allow(dead_code)] // each module uses its own part

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The binary under test; `GUEST_CHAT_TEST_BIN` runs the tests against another build (to
/// see a new test fail on an old binary).
pub(crate) fn bin() -> String {
    std::env::var("GUEST_CHAT_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_guest-chat").into())
}

/// Generous bound for a run or a line that should come: the tests share a loaded 2-core
/// machine. Only ever an upper bound of a wait that succeeds.
pub(crate) const LIMIT: Duration = Duration::from_secs(60);

/// Runs the binary to completion (bounded), returning (status, stdout, stderr).
pub(crate) fn run(args: &[&str]) -> (ExitStatus, String, String) {
    run_command(Command::new(bin()).args(args))
}

/// Runs `command` to completion with no configuration file and no stdin, killing it after
/// `LIMIT`; returns (status, stdout, stderr).
pub(crate) fn run_command(command: &mut Command) -> (ExitStatus, String, String) {
    let mut child = command
        .env("HOME", empty_home()) // no user config file
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn guest-chat");
    let out = drain(child.stdout.take().expect("stdout"));
    let err = drain(child.stderr.take().expect("stderr"));
    let status = wait_with_limit(&mut child, LIMIT);
    (status, join(out), join(err))
}

/// Runs the binary with `stdin` (then end of input) and a fresh HOME, bounded; returns
/// (exit code, stdout, stderr).
pub(crate) fn run_with_input(args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    let home = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(bin())
        .args(args)
        .env("HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn guest-chat");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    let out = drain(child.stdout.take().expect("stdout"));
    let err = drain(child.stderr.take().expect("stderr"));
    let status = wait_with_limit(&mut child, LIMIT);
    (status.code(), join(out), join(err))
}

/// A HOME with no configuration file in it (the temporary directory might have one).
pub(crate) fn empty_home() -> &'static std::path::Path {
    static HOME: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().expect("tempdir"))
        .path()
}

/// Waits for the child to exit, killing it after `limit`.
pub(crate) fn wait_with_limit(child: &mut Child, limit: Duration) -> ExitStatus {
    use wait_timeout::ChildExt;
    // Held open while waiting (`wait_timeout`, like `wait`, would close it first): a chat
    // whose input ends leaves, which is not what a test waiting for another end wants.
    let _stdin = child.stdin.take();
    match child.wait_timeout(limit).expect("wait for guest-chat") {
        Some(status) => status,
        None => {
            let _ = child.kill();
            panic!("guest-chat did not exit within {limit:?}");
        }
    }
}

pub(crate) fn drain<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = r.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

pub(crate) fn join(h: thread::JoinHandle<String>) -> String {
    h.join().unwrap_or_default()
}

/// A chat process with its stdout lines arriving on a channel.
pub(crate) struct Plain {
    pub(crate) child: Child,
    pub(crate) lines: mpsc::Receiver<String>,
    pub(crate) seen: Vec<String>,
    pub(crate) errs: mpsc::Receiver<String>,
    pub(crate) err_seen: Vec<String>,
}

/// The lines of `r` on a channel, read by a thread.
pub(crate) fn line_channel<R: std::io::Read + Send + 'static>(r: R) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Plain {
    pub(crate) fn spawn(extra: &[&str]) -> Plain {
        let mut argv = vec!["chat", "--plain", "--agent-delay-ms", "100"];
        argv.extend(extra);
        Plain::spawn_with(&argv, empty_home())
    }

    /// `guest-chat ARGV` with this HOME, stdin, stdout and stderr piped.
    pub(crate) fn spawn_with(argv: &[&str], home: &std::path::Path) -> Plain {
        let mut child = Command::new(bin())
            .args(argv)
            .env("HOME", home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn guest-chat");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        Plain {
            child,
            lines: line_channel(stdout),
            seen: Vec::new(),
            errs: line_channel(stderr),
            err_seen: Vec::new(),
        }
    }

    /// Reads stderr lines until one satisfies `pred`, within the limit.
    pub(crate) fn wait_for_err(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.errs.recv_timeout(left) {
                Ok(line) => {
                    self.err_seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "no stderr line with {what} within {LIMIT:?}; stderr:\n{}\nstdout:\n{}",
                        self.err_seen.join("\n"),
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    pub(crate) fn stderr_text(&mut self) -> String {
        while let Ok(line) = self.errs.recv_timeout(Duration::from_millis(500)) {
            self.err_seen.push(line);
        }
        let mut text = self.err_seen.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        text
    }

    pub(crate) fn write(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("write stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Reads lines until one satisfies `pred`, within the limit.
    pub(crate) fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    let err = self.stderr_text();
                    panic!(
                        "no line with {what} within {LIMIT:?}; stdout:\n{}\nstderr:\n{err}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Waits for the exit; returns the status, the remaining stdout lines and stderr.
    pub(crate) fn finish(mut self) -> (ExitStatus, Vec<String>, String) {
        let status = wait_with_limit(&mut self.child, LIMIT);
        self.seen.extend(self.lines.try_iter());
        // The reader thread may still be flushing the last lines.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.seen.push(line);
        }
        let err = self.stderr_text();
        (status, self.seen, err)
    }
}

/// The flags that point `chat` at a deployment: the environment and the ids.
pub(crate) fn deployment<'a>(url: &'a str, queue: &'a str) -> [&'a str; 8] {
    [
        "-e",
        url,
        "--organization-id",
        "o",
        "--deployment-id",
        "d",
        "--queue",
        queue,
    ]
}

pub(crate) fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// `guest-chat emulator --port 0` with these flags, once it has printed its listening line.
pub(crate) fn listening_emulator(flags: &[&str]) -> Child {
    let mut argv = vec!["--port", "0"];
    argv.extend(flags);
    let (mut child, lines) = spawn_emulator(&argv);
    let line = lines.recv_timeout(LIMIT).unwrap_or_else(|_| {
        let _ = child.kill();
        panic!("the emulator printed no line within {LIMIT:?}");
    });
    assert!(
        line.starts_with("guest-chat emulator listening on "),
        "{line}"
    );
    child
}

/// `guest-chat emulator` with these flags, and its stdout lines as they come. Its stdin is a
/// pipe the test holds (for `--exit-on-stdin-close`).
pub(crate) fn spawn_emulator(flags: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(bin())
        .arg("emulator")
        .args(flags)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// The emulator's two TLS lines: its base URL and the certificate file.
pub(crate) fn tls_lines(child: &mut Child, lines: &mpsc::Receiver<String>) -> (String, String) {
    let mut next = || match lines.recv_timeout(LIMIT) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            panic!("the emulator printed no line within {LIMIT:?}");
        }
    };
    let listening = next();
    let url = listening
        .strip_prefix("guest-chat emulator listening on ")
        .unwrap_or_else(|| panic!("{listening}"))
        .to_owned();
    let cert = next();
    let file = cert
        .strip_prefix("TLS certificate to trust (PEM): ")
        .unwrap_or_else(|| panic!("{cert}"))
        .to_owned();
    (url, file)
}

/// `guest-chat emulator` with these flags, and its base URL.
pub(crate) fn emulator_url(flags: &[&str]) -> (Child, String) {
    let mut argv = vec!["--port", "0"];
    argv.extend(flags);
    let (mut child, lines) = spawn_emulator(&argv);
    let first = lines.recv_timeout(LIMIT).unwrap_or_else(|_| {
        let _ = child.kill();
        panic!("the emulator printed no line within {LIMIT:?}");
    });
    let url = first
        .strip_prefix("guest-chat emulator listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .split_whitespace()
        .next()
        .expect("url")
        .to_owned();
    (child, url)
}

/// One call to the emulator's control API (or any URL), the JSON answer.
pub(crate) fn http(method: &str, url: &str, body: Option<serde_json::Value>) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = reqwest::Client::new();
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = client.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("control request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        assert!(status.is_success(), "{url}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    })
}

/// The state the emulator holds for the guest of conversation `cid`.
pub(crate) fn guest_state(url: &str, cid: &str) -> String {
    let snap = http("GET", &format!("{url}/emulator/conversations/{cid}"), None);
    let guest = snap["guestId"].as_str().expect("guestId").to_owned();
    let member = snap["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["id"] == guest.as_str())
        .unwrap_or_else(|| panic!("no guest member in {snap}"))
        .clone();
    member["state"].as_str().unwrap_or_default().to_owned()
}

pub(crate) fn set_faults(url: &str, faults: serde_json::Value) {
    http("POST", &format!("{url}/emulator/faults"), Some(faults));
}

/// A certificate and key (PEM) for `name`, valid from `not_before` to `not_after` (years).
pub(crate) fn test_certificate(
    dir: &std::path::Path,
    name: &str,
    years: (i32, i32),
) -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).expect("params");
    params.not_before = rcgen::date_time_ymd(years.0, 1, 1);
    params.not_after = rcgen::date_time_ymd(years.1, 1, 1);
    let cert = params.self_signed(&key).expect("certificate");
    let (c, k) = (
        dir.join(format!("{name}-{}.pem", years.1)),
        dir.join(format!("{name}-{}.key", years.1)),
    );
    std::fs::write(&c, cert.pem()).expect("write");
    std::fs::write(&k, key.serialize_pem()).expect("write");
    (c.display().to_string(), k.display().to_string())
}

/// `chat` against `url` trusting `root`; its stderr.
pub(crate) fn chat_error(url: &str, root: Option<&str>) -> String {
    let mut argv = vec!["chat", "--plain"];
    argv.extend(deployment(url, "Support"));
    if let Some(r) = root {
        argv.extend(["--root-cert", r]);
    }
    let (status, _, err) = run(&argv);
    assert_eq!(status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}
