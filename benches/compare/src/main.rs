//! Side-by-side benchmarks of imaplib against the other IMAP clients and
//! parsers (issue 7). `scripts/bench-compare.sh` builds and runs this;
//! `benches/README.md` explains the table it prints.
//!
//! ```text
//! imaplib-compare [all|decode|replay|memory|dovecot|python|sync|migrate]...   benchmarks, then one table
//! imaplib-compare child ...                               internal: one client measurement
//! imaplib-compare floor fetch|append ...                  internal: the floor of benchmark 7
//! ```

#[path = "../../../crates/imaplib/tests/support/dovecot.rs"]
#[allow(dead_code, clippy::all)]
mod dovecot;

mod clients;
mod decode;
mod inputs;
mod migrate;
mod replay;
mod sync;
mod table;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clients::{Job, Outcome};
use table::{median, round_ratio, Row, Table};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        clients::child_main(&args[1..]);
        return;
    }
    if args.first().map(String::as_str) == Some("floor") {
        migrate::floor_main(&args[1..]);
        return;
    }
    if args.first().map(String::as_str) == Some("serve") {
        // `serve`: the replay servers alone (for profiling a client).
        // `serve python`: the Python benchmark's responses (20 KB messages).
        let certs = certs();
        let responses = if args.get(1).map(String::as_str) == Some("python") {
            python_responses()
        } else {
            replay_responses()
        };
        let plain = replay::start(responses.clone(), None);
        let tls = replay::start(responses, Some(certs.server.clone()));
        println!("plain {plain} tls {tls} ca {}", certs.ca_file.display());
        loop {
            std::thread::park();
        }
    }
    if args.first().map(String::as_str) == Some("profile") {
        // `profile a|b|c SECONDS [owned|view|frames]`: one decoder of ours
        // alone, in a loop, for perf.
        let variant = args.get(3).map_or("owned", String::as_str);
        decode::profile(&args[1], args[2].parse().unwrap(), variant);
        return;
    }
    let mut what: Vec<&str> = args.iter().map(String::as_str).collect();
    if what.is_empty() || what == ["all"] {
        what = vec!["decode", "replay", "memory", "dovecot", "python"];
    }
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    println!("{}", machine());
    let mut table = Table::default();
    for w in what {
        let start = Instant::now();
        eprintln!("== {w} (load average {})", loadavg());
        match w {
            "decode" => decode::run(&mut table, Duration::from_secs(3)),
            "replay" => replay_bench(&mut table, reps),
            "memory" => memory_bench(&mut table),
            "dovecot" => dovecot_bench(&mut table, reps.min(3)),
            "python" => python_bench(&mut table, reps),
            "sync" => sync::run(&mut table),
            "migrate" => migrate::run(&mut table),
            other => panic!("unknown benchmark {other}"),
        }
        eprintln!(
            "== {w} done in {:.0} s (load average {})",
            start.elapsed().as_secs_f64(),
            loadavg()
        );
    }
    println!("\n{}", table.markdown());
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The machine, as `/proc` tells it.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .map(|m| m.trim().to_string())
        .unwrap_or_default();
    format!(
        "machine: {model}, {} logical CPUs, {mem} memory, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    )
}

/// One client of an end-to-end workload and what its ratio compares with.
struct Client {
    key: &'static str,
    label: &'static str,
    /// The row of ours this one is compared with.
    reference: &'static str,
}

const OURS: Client = Client {
    key: "ours",
    label: "ours, blocking `fetch` (imaplib data)",
    reference: "ours",
};
const OURS_TYPED: Client = Client {
    key: "ours-typed",
    label: "ours, blocking `fetch_typed` (typed)",
    reference: "ours-typed",
};
const OURS_EACH: Client = Client {
    key: "ours-each",
    label: "ours, blocking `fetch_each` (typed, one message at a time)",
    reference: "ours-typed",
};
const OURS_VIEW: Client = Client {
    key: "ours-view",
    label: "ours, blocking `fetch_each_view` (borrowed views)",
    reference: "ours-typed",
};
const OURS_ASYNC: Client = Client {
    key: "ours-async",
    label: "ours, async `fetch` (imaplib data)",
    reference: "ours",
};
const OURS_ASYNC_TYPED: Client = Client {
    key: "ours-async-typed",
    label: "ours, async `fetch_typed` (typed)",
    reference: "ours-typed",
};
const PYTHON: Client = Client {
    key: "python",
    label: "Python 3.11 imaplib (imaplib data)",
    reference: "ours",
};
const IMAP_CRATE: Client = Client {
    key: "imap",
    label: "imap 3.0.0-alpha.15 (typed)",
    reference: "ours-typed",
};
const RAW: Client = Client {
    key: "raw",
    label: "raw socket reader (lower bound)",
    reference: "ours",
};

const ALL_CLIENTS: [Client; 9] = [
    OURS,
    OURS_TYPED,
    OURS_EACH,
    OURS_VIEW,
    OURS_ASYNC,
    OURS_ASYNC_TYPED,
    PYTHON,
    IMAP_CRATE,
    RAW,
];

/// Runs `clients` on one workload and adds a row each.
#[allow(clippy::too_many_arguments)]
fn end_to_end(
    table: &mut Table,
    section: &str,
    workload: &str,
    clients: &[Client],
    port: u16,
    ca_file: Option<&Path>,
    (user, password): (&str, &str),
    (set, items): (&str, &str),
    reps: usize,
) {
    // Round after round, each client in a process of its own for one
    // warm-up and one timed FETCH, in an order that rotates: a slow spell
    // of the shared machine then falls on every client alike, and the
    // ratios are taken round by round.
    let mut runs: HashMap<&str, Vec<Outcome>> = HashMap::new();
    for round in 0..reps.max(1) {
        for k in 0..clients.len() {
            let c = &clients[(k + round) % clients.len()];
            let job = Job {
                client: c.key.into(),
                port,
                ca_file: ca_file.map(Path::to_path_buf),
                user: user.into(),
                password: password.into(),
                uid: false,
                set: set.into(),
                items: items.into(),
                reps: 1,
            };
            runs.entry(c.key).or_default().push(job.run());
        }
    }
    let mut results: HashMap<&str, (f64, Outcome)> = HashMap::new();
    let mut round_times: HashMap<&str, Vec<f64>> = HashMap::new();
    for (key, outcomes) in runs {
        let times: Vec<f64> = outcomes.iter().flat_map(|o| o.times.clone()).collect();
        let last = outcomes.last().expect("one run per round");
        let outcome = Outcome {
            times: times.clone(),
            bytes: last.bytes,
            messages: last.messages,
            hwm_kb: outcomes.iter().map(|o| o.hwm_kb).max().unwrap_or(0),
        };
        results.insert(key, (median(&mut times.clone()), outcome));
        round_times.insert(key, times);
    }
    let wire = results.get("raw").map_or(0, |r| r.1.bytes);
    let expected = results
        .get(clients[0].key)
        .map(|r| (r.1.bytes, r.1.messages));
    for c in clients {
        let (t, o) = &results[c.key];
        let reference = round_times.get(c.reference);
        let mut note = format!("peak RSS {:.1} MB", o.hwm_kb as f64 / 1024.0);
        if c.key != "raw" {
            if let Some((bytes, messages)) = expected {
                // Typed results carry no bytes for items without literals.
                let typed = c.reference == "ours-typed";
                let got = (
                    if typed && o.bytes == 0 {
                        bytes
                    } else {
                        o.bytes
                    },
                    o.messages,
                );
                if got != (bytes, messages) {
                    note.push_str(&format!(
                        "; got {} bytes in {} messages (ours {bytes} in {messages})",
                        o.bytes, o.messages
                    ));
                }
            }
        }
        table.push(Row {
            section: section.into(),
            workload: workload.into(),
            client: c.label.into(),
            figure: format!("{:.3} s, {:.0} MB/s", t, wire as f64 / 1e6 / t),
            note,
            ratio: reference.map(|r| round_ratio(&round_times[c.key], r)),
        });
    }
}

/// The responses the replay server serves.
fn replay_responses() -> replay::Responses {
    let mut map = HashMap::new();
    map.insert(
        "(RFC822)".to_string(),
        Arc::new(inputs::literal_fetches(replay::EXISTS, 10_000, "RFC822")),
    );
    map.insert(
        inputs::ENVELOPE_ITEMS.to_string(),
        Arc::new(inputs::envelopes(replay::EXISTS)),
    );
    let big = Arc::new(inputs::body_literals(1, 200_000_000));
    map.insert("(BODY.PEEK[])".to_string(), big.clone());
    map.insert("(BODY[])".to_string(), big);
    Arc::new(map)
}

fn certs() -> replay::Certs {
    replay::Certs::make(&Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-certs"))
}

/// Benchmark 2: end to end against the replay server, plain TCP and TLS.
fn replay_bench(table: &mut Table, reps: usize) {
    let responses = replay_responses();
    let certs = certs();
    let plain = replay::start(responses.clone(), None);
    let tls = replay::start(responses, Some(certs.server.clone()));
    for (transport, port, ca) in [
        ("plain TCP", plain, None),
        ("TLS", tls, Some(certs.ca_file.as_path())),
    ] {
        for (what, items) in [
            ("`FETCH 1:* (RFC822)`, 10,000 × 10 KB", "(RFC822)"),
            (
                "`FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)`, 10,000 messages",
                inputs::ENVELOPE_ITEMS,
            ),
        ] {
            end_to_end(
                table,
                "2 replay server",
                &format!("{what}, {transport}"),
                &ALL_CLIENTS,
                port,
                ca,
                ("alice", "alicepw"),
                ("1:*", items),
                reps,
            );
        }
    }
}

/// Benchmark 4 (the streamed message): one 200 MB message from the replay
/// server over plain TCP; the figure is the client's peak RSS.
fn memory_bench(table: &mut Table) {
    let responses = replay_responses();
    let port = replay::start(responses, None);
    let clients: [(&str, &str); 5] = [
        ("ours-stream", "ours, `uid_fetch_to` into a sink (streamed)"),
        ("ours", "ours, `uid(\"FETCH\")` (held in memory)"),
        ("python", "Python 3.11 imaplib"),
        ("imap", "imap 3.0.0-alpha.15"),
        ("raw", "raw socket reader (lower bound)"),
    ];
    let mut results = Vec::new();
    for (key, label) in clients {
        let job = Job {
            client: key.into(),
            port,
            ca_file: None,
            user: "alice".into(),
            password: "alicepw".into(),
            uid: true,
            set: "1".into(),
            items: "(BODY.PEEK[])".into(),
            reps: 2,
        };
        let o = job.run();
        results.push((label, median(&mut o.times.clone()), o));
    }
    let ours_rss = results[0].2.hwm_kb as f64;
    for (label, t, o) in results {
        table.push(Row {
            section: "4 memory".into(),
            workload: "one 200 MB message, `UID FETCH 1 (BODY.PEEK[])`, replay server, plain TCP"
                .into(),
            client: label.into(),
            figure: format!("peak RSS {:.1} MB", o.hwm_kb as f64 / 1024.0),
            note: format!("{t:.3} s, {} literal bytes", o.bytes),
            ratio: Some(o.hwm_kb as f64 / ours_rss),
        });
    }
}

const PYTHON_RS: Client = Client {
    key: "python-rs",
    label: "imaplib_rs from Python (imaplib data)",
    reference: "python-rs",
};
const PYTHON_VS_RS: Client = Client {
    key: "python",
    label: "Python 3.11 imaplib (imaplib data)",
    reference: "python-rs",
};

/// The items of the Python benchmark's header FETCH.
const PYTHON_HEADERS: &str = "(UID FLAGS ENVELOPE BODYSTRUCTURE)";

/// The replay server's answers for the Python benchmark: 10,000 messages
/// of 20 KB, and their headers (the pre-built answer also carries
/// INTERNALDATE and RFC822.SIZE).
fn python_responses() -> replay::Responses {
    let mut map = HashMap::new();
    map.insert(
        "(RFC822)".to_string(),
        Arc::new(inputs::literal_fetches(replay::EXISTS, 20_000, "RFC822")),
    );
    map.insert(
        PYTHON_HEADERS.to_string(),
        Arc::new(inputs::envelopes(replay::EXISTS)),
    );
    Arc::new(map)
}

/// Benchmark 5: the Python package imaplib_rs against CPython's imaplib,
/// the same script (`imaplib_client.py`) with either module, interleaved;
/// 10,000 messages of 20 KB from the replay server (plain TCP and TLS) and
/// from Dovecot over TLS.
fn python_bench(table: &mut Table, reps: usize) {
    const HEADERS: &str = PYTHON_HEADERS;
    let clients = [PYTHON_RS, PYTHON_VS_RS, RAW];
    let responses = python_responses();
    let certs = certs();
    let plain = replay::start(responses.clone(), None);
    let tls = replay::start(responses, Some(certs.server.clone()));
    let workloads = [
        ("`fetch('1:*', '(RFC822)')`, 10,000 × 20 KB", "(RFC822)"),
        (
            "`fetch('1:*', '(UID FLAGS ENVELOPE BODYSTRUCTURE)')`, 10,000 messages",
            HEADERS,
        ),
    ];
    for (transport, port, ca) in [
        ("replay server, plain TCP", plain, None),
        ("replay server, TLS", tls, Some(certs.ca_file.as_path())),
    ] {
        for (what, items) in workloads {
            end_to_end(
                table,
                "5 Python",
                &format!("{what}, {transport}"),
                &clients,
                port,
                ca,
                ("alice", "alicepw"),
                ("1:*", items),
                reps,
            );
        }
    }
    let count: usize = std::env::var("BENCH_DOVECOT_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let server = dovecot::Dovecot::start();
    for i in 1..=count {
        server.deliver("alice", "INBOX", &inputs::message(i, 20_000));
    }
    for (what, items) in workloads {
        warm_dovecot(&server, items);
        end_to_end(
            table,
            "5 Python",
            &format!("{what}, Dovecot, TLS"),
            &clients,
            server.imaps_port,
            Some(&server.ca_file),
            ("alice", "alicepw"),
            ("1:*", items),
            reps.min(3),
        );
    }
}

/// Warms Dovecot's index and cache for `items` with one raw FETCH.
fn warm_dovecot(server: &dovecot::Dovecot, items: &str) {
    Job {
        client: "raw".into(),
        port: server.imaps_port,
        ca_file: Some(server.ca_file.clone()),
        user: "alice".into(),
        password: "alicepw".into(),
        uid: false,
        set: "1:*".into(),
        items: items.into(),
        reps: 1,
    }
    .run();
}

/// Benchmark 3: end to end against Dovecot over TLS, 10,000 messages.
fn dovecot_bench(table: &mut Table, reps: usize) {
    let count: usize = std::env::var("BENCH_DOVECOT_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let server = dovecot::Dovecot::start();
    let t = Instant::now();
    let mut total = 0;
    for i in 1..=count {
        let m = inputs::dovecot_message(i);
        total += m.len();
        server.deliver("alice", "INBOX", &m);
    }
    eprintln!(
        "delivered {count} messages ({:.1} MB) in {:.1} s",
        total as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let clients = [
        OURS, OURS_TYPED, OURS_EACH, OURS_VIEW, OURS_ASYNC, PYTHON, IMAP_CRATE, RAW,
    ];
    for (what, items) in [
        ("`FETCH 1:* (RFC822)`", "(RFC822)"),
        (
            "`FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)`",
            inputs::ENVELOPE_ITEMS,
        ),
    ] {
        warm_dovecot(&server, items);
        end_to_end(
            table,
            "3 Dovecot",
            &format!(
                "{what}, {count} messages ({:.0} MB), TLS",
                total as f64 / 1e6
            ),
            &clients,
            server.imaps_port,
            Some(&server.ca_file),
            ("alice", "alicepw"),
            ("1:*", items),
            reps,
        );
    }
}
