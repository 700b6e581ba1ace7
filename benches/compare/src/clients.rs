//! The clients measured end to end, each run in a child process of its own
//! (so that its peak RSS is its own): ours blocking and async, the `imap`
//! crate, a raw socket reader (the lower bound), and Python's imaplib (a
//! script beside this crate). Each logs in, selects INBOX, runs the FETCH
//! once to warm up and then `reps` times, timing only the FETCH, and prints
//! one `RESULT` line.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use imaplib::{Imap4, Options, TlsConfig};
use imaplib_proto::Limits;

use crate::replay::client_config;

/// What a child process is asked to do.
#[derive(Debug, Clone)]
pub struct Job {
    /// `ours`, `ours-typed`, `ours-each`, `ours-view`, `ours-stream`,
    /// `ours-async`, `ours-async-typed`,
    /// `imap`, `raw` or `python`.
    pub client: String,
    pub port: u16,
    /// The CA to trust for TLS; `None` for plain TCP.
    pub ca_file: Option<PathBuf>,
    pub user: String,
    pub password: String,
    /// UID FETCH instead of FETCH.
    pub uid: bool,
    pub set: String,
    pub items: String,
    pub reps: usize,
}

/// What a child reports.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Seconds of each timed FETCH.
    pub times: Vec<f64>,
    /// Literal (or, without literals, FETCH response) bytes of the last
    /// FETCH, as the client handed them over.
    pub bytes: u64,
    /// Messages of the last FETCH.
    pub messages: u64,
    /// Peak RSS of the child, in KiB.
    pub hwm_kb: u64,
}

impl Job {
    fn args(&self) -> Vec<String> {
        vec![
            self.client.clone(),
            self.port.to_string(),
            self.ca_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "-".into()),
            self.user.clone(),
            self.password.clone(),
            if self.uid { "1" } else { "0" }.into(),
            self.set.clone(),
            self.items.clone(),
            self.reps.to_string(),
        ]
    }

    fn from_args(a: &[String]) -> Job {
        Job {
            client: a[0].clone(),
            port: a[1].parse().unwrap(),
            ca_file: (a[2] != "-").then(|| PathBuf::from(&a[2])),
            user: a[3].clone(),
            password: a[4].clone(),
            uid: a[5] == "1",
            set: a[6].clone(),
            items: a[7].clone(),
            reps: a[8].parse().unwrap(),
        }
    }

    /// Runs the job in a child process and parses its report.
    pub fn run(&self) -> Outcome {
        let out = if self.client == "python" || self.client == "python-rs" {
            // BENCH_PYTHON: the interpreter with imaplib_rs built in
            // release mode (scripts/bench-compare.sh sets it up).
            let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
            let module = if self.client == "python" {
                "imaplib"
            } else {
                "imaplib_rs"
            };
            Command::new(python)
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("imaplib_client.py"))
                .args(&self.args()[1..])
                .env("BENCH_IMAPLIB", module)
                .output()
        } else {
            Command::new(std::env::current_exe().unwrap())
                .arg("child")
                .args(self.args())
                .output()
        }
        .expect("start the client process");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let Some(line) = stdout.lines().find(|l| l.starts_with("RESULT ")) else {
            panic!(
                "client {} failed ({}):\n{stdout}\n{}",
                self.client,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        };
        parse_result(line)
    }
}

fn parse_result(line: &str) -> Outcome {
    let mut o = Outcome {
        times: Vec::new(),
        bytes: 0,
        messages: 0,
        hwm_kb: 0,
    };
    for field in line.split_whitespace().skip(1) {
        let (k, v) = field.split_once('=').unwrap();
        match k {
            "times" => o.times = v.split(',').map(|t| t.parse().unwrap()).collect(),
            "bytes" => o.bytes = v.parse().unwrap(),
            "messages" => o.messages = v.parse().unwrap(),
            "hwm_kb" => o.hwm_kb = v.parse().unwrap(),
            _ => {}
        }
    }
    o
}

/// Peak RSS of this process in KiB (`VmHWM`).
pub fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Entry point of a child process: `child ARGS...`.
pub fn child_main(args: &[String]) {
    let job = Job::from_args(args);
    let mut times = Vec::new();
    let mut last = (0u64, 0u64);
    let mut timed = |f: &mut dyn FnMut() -> (u64, u64)| {
        for rep in 0..=job.reps {
            let t = Instant::now();
            last = f();
            if rep > 0 {
                times.push(t.elapsed().as_secs_f64());
            }
        }
    };
    match job.client.as_str() {
        "ours" | "ours-typed" | "ours-each" | "ours-view" | "ours-stream" => {
            let mut m = ours_connect(&job);
            timed(&mut || ours_fetch(&mut m, &job));
            let _ = m.logout();
        }
        "ours-async" | "ours-async-typed" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut m = ours_async_connect(&job).await;
                for rep in 0..=job.reps {
                    let t = Instant::now();
                    last = ours_async_fetch(&mut m, &job).await;
                    if rep > 0 {
                        times.push(t.elapsed().as_secs_f64());
                    }
                }
                let _ = m.logout().await;
            });
        }
        "imap" => {
            let tcp = TcpStream::connect(("127.0.0.1", job.port)).unwrap();
            tcp.set_nodelay(true).unwrap();
            match &job.ca_file {
                None => imap_crate(tcp, &job, &mut timed),
                Some(ca) => imap_crate(tls_stream(tcp, ca), &job, &mut timed),
            }
        }
        "raw" => {
            let tcp = TcpStream::connect(("127.0.0.1", job.port)).unwrap();
            tcp.set_nodelay(true).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(300)))
                .unwrap();
            match &job.ca_file {
                None => raw(tcp, &job, &mut timed),
                Some(ca) => raw(tls_stream(tcp, ca), &job, &mut timed),
            }
        }
        other => panic!("unknown client {other}"),
    }
    println!(
        "RESULT times={} bytes={} messages={} hwm_kb={}",
        times
            .iter()
            .map(|t| format!("{t:.6}"))
            .collect::<Vec<_>>()
            .join(","),
        last.0,
        last.1,
        vm_hwm_kb()
    );
}

fn tls_stream(
    tcp: TcpStream,
    ca: &Path,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let conn =
        rustls::ClientConnection::new(client_config(ca), "127.0.0.1".try_into().unwrap()).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

fn ours_options(job: &Job) -> Options {
    let mut o = Options::with_timeout(Duration::from_secs(120));
    // Room for the 200 MB message when it is not streamed.
    o.limits = Limits {
        max_literal: 1 << 30,
        max_response: 1 << 31,
        ..Limits::default()
    };
    o.max_untagged_bytes = 1 << 31;
    if let Some(ca) = &job.ca_file {
        o.tls = TlsConfig::new().ca_file(ca).only_given_cas();
    }
    o
}

fn ours_connect(job: &Job) -> Imap4 {
    let o = ours_options(job);
    let mut m = if job.ca_file.is_some() {
        Imap4::ssl_with_options("127.0.0.1", job.port, o)
    } else {
        Imap4::with_options("127.0.0.1", job.port, o)
    }
    .unwrap();
    m.login(&job.user, &job.password).unwrap();
    m.select("INBOX", false).unwrap();
    m
}

/// Sums literal bytes (or line bytes when there is no literal) of an
/// imaplib-shaped reply, and counts the responses.
fn count_data(data: &[imaplib_proto::Data]) -> (u64, u64) {
    let mut bytes = 0u64;
    let mut messages = 0u64;
    for d in data {
        match d {
            imaplib_proto::Data::Literal { literal, .. } => {
                bytes += literal.len() as u64;
                messages += 1;
            }
            imaplib_proto::Data::Line(l) if l.first().is_some_and(u8::is_ascii_digit) => {
                bytes += l.len() as u64;
                messages += 1;
            }
            _ => {}
        }
    }
    (bytes, messages)
}

fn count_typed(fetches: &[imaplib_proto::types::Fetch]) -> (u64, u64) {
    let mut bytes = 0u64;
    for f in fetches {
        bytes += f.body().map_or(0, |b| b.len() as u64);
        assert!(!f.has_undecodable(), "undecodable item: {f:?}");
    }
    (bytes, fetches.len() as u64)
}

fn ours_fetch(m: &mut Imap4, job: &Job) -> (u64, u64) {
    match job.client.as_str() {
        "ours" => {
            let reply = if job.uid {
                m.uid("FETCH", [job.set.as_str(), job.items.as_str()])
            } else {
                m.fetch(&job.set, &job.items)
            }
            .unwrap();
            assert_eq!(reply.typ, imaplib_proto::Status::Ok);
            count_data(&reply.data)
        }
        "ours-typed" => {
            let f = if job.uid {
                m.uid_fetch_typed(&job.set, &job.items)
            } else {
                m.fetch_typed(&job.set, &job.items)
            }
            .unwrap();
            count_typed(&f)
        }
        "ours-each" => {
            let mut bytes = 0u64;
            let mut messages = 0u64;
            let each = |f: Result<imaplib_proto::types::Fetch, _>| {
                let f = f.expect("decodes");
                assert!(!f.has_undecodable(), "undecodable item: {f:?}");
                messages += 1;
                bytes += f.body().map_or(0, |b| b.len() as u64);
            };
            if job.uid {
                m.uid_fetch_each(&job.set, &job.items, each)
            } else {
                m.fetch_each(&job.set, &job.items, each)
            }
            .unwrap();
            (bytes, messages)
        }
        "ours-view" => {
            let mut bytes = 0u64;
            let mut messages = 0u64;
            let each = |v: Result<imaplib_proto::types::view::FetchView<'_>, _>| {
                let v = v.expect("decodes");
                assert!(!v.has_undecodable());
                messages += 1;
                bytes += v.body().map_or(0, |b| b.as_bytes().len() as u64);
                // What the imap crate's loop touches.
                std::hint::black_box((
                    v.envelope().map(|e| e.subject()),
                    v.body_structure(),
                    v.flags(),
                    v.uid(),
                ));
            };
            if job.uid {
                m.uid_fetch_each_view(&job.set, &job.items, each)
            } else {
                m.fetch_each_view(&job.set, &job.items, each)
            }
            .unwrap();
            (bytes, messages)
        }
        "ours-stream" => {
            let uid: u32 = job.set.parse().unwrap();
            let item = job.items.trim_start_matches('(').trim_end_matches(')');
            let n = m.uid_fetch_to(uid, item, &mut io::sink()).unwrap();
            (n, 1)
        }
        _ => unreachable!(),
    }
}

async fn ours_async_connect(job: &Job) -> imaplib::AsyncImap4 {
    let o = ours_options(job);
    let mut m = if job.ca_file.is_some() {
        imaplib::AsyncImap4::ssl_with_options("127.0.0.1", job.port, o).await
    } else {
        imaplib::AsyncImap4::with_options("127.0.0.1", job.port, o).await
    }
    .unwrap();
    m.login(&job.user, &job.password).await.unwrap();
    m.select("INBOX", false).await.unwrap();
    m
}

async fn ours_async_fetch(m: &mut imaplib::AsyncImap4, job: &Job) -> (u64, u64) {
    match job.client.as_str() {
        "ours-async" => {
            let reply = if job.uid {
                m.uid("FETCH", [job.set.as_str(), job.items.as_str()]).await
            } else {
                m.fetch(&job.set, &job.items).await
            }
            .unwrap();
            assert_eq!(reply.typ, imaplib_proto::Status::Ok);
            count_data(&reply.data)
        }
        "ours-async-typed" => {
            let f = if job.uid {
                m.uid_fetch_typed(&job.set, &job.items).await
            } else {
                m.fetch_typed(&job.set, &job.items).await
            }
            .unwrap();
            count_typed(&f)
        }
        _ => unreachable!(),
    }
}

/// Times the closure it is given (which returns messages and bytes).
type Timer<'a> = &'a mut dyn FnMut(&mut dyn FnMut() -> (u64, u64));

fn imap_crate<S: Read + Write + std::fmt::Debug>(stream: S, job: &Job, timed: Timer<'_>) {
    let mut client = imap::Client::new(stream);
    client.read_greeting().unwrap();
    let mut s = client
        .login(&job.user, &job.password)
        .map_err(|e| e.0)
        .unwrap();
    s.select("INBOX").unwrap();
    timed(&mut || {
        let fetches = if job.uid {
            s.uid_fetch(&job.set, &job.items)
        } else {
            s.fetch(&job.set, &job.items)
        }
        .unwrap();
        let mut bytes = 0u64;
        let mut messages = 0u64;
        for f in fetches.iter() {
            messages += 1;
            bytes += f.body().map_or(0, |b| b.len() as u64);
            std::hint::black_box((f.envelope(), f.bodystructure(), f.flags(), f.uid));
        }
        (bytes, messages)
    });
    let _ = s.logout();
}

/// The lower bound: sends the command and reads until the tagged
/// completion, looking only at the last bytes of each read.
fn raw<S: Read + Write>(mut s: S, job: &Job, timed: Timer<'_>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0;
    read_to_tag(&mut s, &mut buf, None).unwrap();
    let mut command = |s: &mut S, buf: &mut Vec<u8>, text: &str| -> u64 {
        n += 1;
        let tag = format!("r{n}");
        s.write_all(format!("{tag} {text}\r\n").as_bytes()).unwrap();
        s.flush().unwrap();
        read_to_tag(s, buf, Some(&tag)).unwrap()
    };
    command(
        &mut s,
        &mut buf,
        &format!("LOGIN {} {}", job.user, job.password),
    );
    command(&mut s, &mut buf, "SELECT INBOX");
    let fetch = format!(
        "{}FETCH {} {}",
        if job.uid { "UID " } else { "" },
        job.set,
        job.items
    );
    timed(&mut || (command(&mut s, &mut buf, &fetch), 0));
    command(&mut s, &mut buf, "LOGOUT");
}

/// Reads until a line starting with `tag ` ends what was received (or,
/// without a tag, until the first line end). Returns the bytes read. Only
/// the last line of each read is looked at, and of it only the first
/// bytes: the least a reader can do.
fn read_to_tag<S: Read>(s: &mut S, buf: &mut [u8], tag: Option<&str>) -> io::Result<u64> {
    let want = tag.map(|t| format!("{t} ")).unwrap_or_default();
    let want = want.as_bytes();
    // The first bytes of the line still being received, when it started
    // in an earlier read.
    let mut head: Vec<u8> = Vec::with_capacity(64);
    let mut total = 0u64;
    loop {
        let n = s.read(buf)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        total += n as u64;
        let data = &buf[..n];
        let last_lf = data.iter().rposition(|&b| b == b'\n');
        if last_lf == Some(n - 1) {
            if tag.is_none() {
                return Ok(total);
            }
            let line_head = match data[..n - 1].iter().rposition(|&b| b == b'\n') {
                Some(p) => &data[p + 1..],
                None => {
                    let more = want.len().saturating_sub(head.len()).min(n);
                    head.extend_from_slice(&data[..more]);
                    &head[..]
                }
            };
            if line_head.starts_with(want) {
                return Ok(total);
            }
            head.clear();
        } else {
            let line = match last_lf {
                Some(p) => {
                    head.clear();
                    &data[p + 1..]
                }
                None => data,
            };
            let more = want.len().saturating_sub(head.len()).min(line.len());
            head.extend_from_slice(&line[..more]);
        }
    }
}
