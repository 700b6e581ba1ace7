//! Running the built `imap` binary, throwaway servers and small helpers.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub use crate::dovecot::{Dovecot, PreauthDovecot};

/// How long one run of the binary may take before the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// What a run of `imap` produced.
#[derive(Debug)]
pub struct Run {
    /// The exit status (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Standard output as text.
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Fails unless the exit status is `code`.
    #[track_caller]
    pub fn expect(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            code,
            "exit status {} instead of {code}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            self.out(),
            self.stderr
        );
        self
    }

    /// The JSON objects printed, one per line.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.out()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    /// Fails unless stderr is exactly one line starting with `imap: ` and
    /// containing `text`.
    #[track_caller]
    pub fn one_error_line(&self, text: &str) {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "stderr is not one line:\n{}", self.stderr);
        assert!(
            lines[0].starts_with("imap: ") && lines[0].contains(text),
            "stderr {:?} does not mention {text:?}",
            lines[0]
        );
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "{}",
            self.stderr
        );
    }
}

/// A command line for the `imap` binary.
pub struct Imap {
    cmd: Command,
    stdin: Vec<u8>,
}

/// `imap ARGS...`.
pub fn imap<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> Imap {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imap"));
    cmd.args(args);
    cmd.env_remove("IMAP_PASSWORD");
    // The machine's proxy settings stay out of the tests that do not set them.
    for var in ["ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"] {
        cmd.env_remove(var);
    }
    Imap {
        cmd,
        stdin: Vec::new(),
    }
}

impl Imap {
    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Imap {
        self.cmd.env(key, value);
        self
    }

    /// Feeds these bytes on stdin.
    pub fn stdin(mut self, data: impl AsRef<[u8]>) -> Imap {
        self.stdin = data.as_ref().to_vec();
        self
    }

    /// Runs in this directory.
    pub fn dir(mut self, dir: &Path) -> Imap {
        self.cmd.current_dir(dir);
        self
    }

    /// Runs to completion (killing it after a minute).
    pub fn run(mut self) -> Run {
        let mut child = self
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run imap");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = std::mem::take(&mut self.stdin);
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let mut stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let out = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = stdout.read_to_end(&mut v);
            v
        });
        let err = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = stderr.read_to_end(&mut v);
            v
        });
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if started.elapsed() > RUN_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("imap ran for more than {RUN_LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let _ = writer.join();
        Run {
            code: status.code().unwrap_or(-1),
            stdout: out.join().unwrap_or_default(),
            stderr: String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned(),
        }
    }
}

/// A fresh empty directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates one.
    pub fn new(name: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "imap-cli-test-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// A path inside.
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One Dovecot daemon shared by the tests of this binary (each test uses
/// its own mailboxes). It stops when the test process exits.
pub fn daemon() -> &'static Dovecot {
    static SERVER: OnceLock<Dovecot> = OnceLock::new();
    SERVER.get_or_init(Dovecot::start)
}

/// `--host 127.0.0.1 --port P --user alice --password-env IMAP_PASSWORD`
/// plus the TLS flags, for the shared daemon.
pub fn tcp_args(server: &Dovecot, tls: &str) -> Vec<String> {
    let port = if tls == "--tls" {
        server.imaps_port
    } else {
        server.imap_port
    };
    let mut v = vec![
        "--host".to_string(),
        "127.0.0.1".to_string(),
        "--port".to_string(),
        port.to_string(),
        "--user".to_string(),
        "alice".to_string(),
        "--password-env".to_string(),
        "IMAP_PASSWORD".to_string(),
    ];
    if !tls.is_empty() {
        v.push(tls.to_string());
        v.push("--ca-file".to_string());
        v.push(server.ca_file.display().to_string());
    }
    v
}

/// A message of about `size` bytes.
pub fn message(subject: &str, size: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\n\
         Subject: {subject}\r\nDate: Thu, 01 Jan 2026 10:00:00 +0000\r\n\
         Message-ID: <{}@example.org>\r\n\r\n",
        subject.replace(' ', ".")
    );
    let line = "The quick brown fox jumps over the lazy dog. 0123456789\r\n";
    while m.len() < size {
        m.push_str(line);
    }
    m.push_str("From the end, with a From line.\r\n");
    m.into_bytes()
}

/// The files in `dir` (names), sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A TCP forwarder from `listen` (an address on this machine) to
/// `target`; with `cut_after`, it closes each connection after that many
/// bytes came from the server.
pub fn forward(listen: &str, target: SocketAddr, cut_after: Option<usize>) -> u16 {
    let listener = TcpListener::bind((listen, 0)).expect("bind the forwarder");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect(target) else {
                continue;
            };
            let (c2, s2) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            std::thread::spawn(move || copy(c2, s2, None));
            std::thread::spawn(move || copy(server, client, cut_after));
        }
    });
    port
}

fn copy(mut from: TcpStream, mut to: TcpStream, limit: Option<usize>) {
    let mut buf = [0u8; 4096];
    let mut sent = 0usize;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let n = match limit {
            Some(l) => n.min(l - sent),
            None => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        sent += n;
        if limit.is_some_and(|l| sent >= l) {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

/// A one-connection server on 127.0.0.1 that sends `greeting` and then
/// answers nothing; returns its port.
pub fn greeter(greeting: &'static [u8]) -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.write_all(greeting);
            let mut buf = [0u8; 1024];
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.read(&mut buf);
        }
    });
    port
}

/// A FETCH's flags as a message keeps them: sorted, without `\Recent`.
pub fn kept_flags(f: &imaplib::types::Fetch) -> Vec<String> {
    let mut flags: Vec<String> = f
        .flags()
        .map(|l| l.to_vec())
        .unwrap_or_default()
        .into_iter()
        .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
        .collect();
    flags.sort();
    flags
}

/// When the kill tests kill a run: at a random moment within a window that
/// follows how long runs take on this machine. It halves when a run
/// finished before its kill and grows by 15 % when one was killed, so that
/// about four runs in five are killed mid-way on a fast machine as on a
/// slow one (fixed delays killed too few where runs are quick).
pub struct KillWindow {
    ms: u64,
}

impl KillWindow {
    /// A window of `ms` milliseconds to start with.
    pub fn new(ms: u64) -> Self {
        KillWindow { ms }
    }

    /// The delay before the kill; `pick(n)` draws a number below `n`.
    pub fn delay(&self, pick: impl FnOnce(u64) -> u64) -> std::time::Duration {
        std::time::Duration::from_millis(2 + pick(self.ms))
    }

    /// The run finished before its kill.
    pub fn finished(&mut self) {
        self.ms = (self.ms / 2).max(4);
    }

    /// The run was killed.
    pub fn killed(&mut self) {
        self.ms = (self.ms * 23 / 20).min(5_000);
    }
}
