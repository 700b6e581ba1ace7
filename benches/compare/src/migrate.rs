//! Benchmark 7: `imap sync --to-url` (an account copied from one IMAP
//! server to another) against mbsync (isync 1.4) with IMAP stores on both
//! sides, and against a floor, side by side.
//!
//! The source is a Dovecot whose account `alice` holds 10 mailboxes of
//! 2,000 messages of about 20 KB (the messages of benchmark 6), written
//! straight into its Maildirs. Every tool reads that one account (ours
//! EXAMINEs it) and copies it into an empty account on a destination
//! Dovecot of its own, started for that run and stopped at the end of
//! the round. The servers keep their files in memory (`/dev/shm`, or
//! `BENCH_MIGRATE_SERVER_DIR`): on this machine's disk (ext4 without a
//! journal) every file created within a minute or more of many files
//! being deleted anywhere nearby costs a scan of the deleted inodes
//! (`recently_deleted`), and Dovecot creates and deletes a lock file
//! (`dovecot-uidlist.lock`) for every APPEND it commits, so each run would
//! slow down the creates of the next by an amount set by what ran before
//! (profiled: that scan took the largest share of the busy time). The
//! tools' own files (state, configuration, logs) stay on the disk.
//!
//! - ours: `imap sync --host … --to-url imap://alice@127.0.0.1:PORT/
//!   --state DIR -q`, a new state directory each round;
//! - mbsync: an `IMAPStore` on each side, a channel with `Create Near`,
//!   `Sync Pull`, `CopyArrivalDate yes` (ours keeps INTERNALDATE too), a
//!   new `SyncState` directory each round;
//! - the floor: this program in two processes of its own (`floor fetch`,
//!   `floor append`): one only fetches every message of the 10 mailboxes
//!   (`uid_fetch_pipelined` of `(UID FLAGS INTERNALDATE BODY.PEEK[])`,
//!   batches of about 2 MiB, two in flight, as ours fetches) and keeps
//!   nothing; the other, given the messages beforehand (fetched before
//!   its clock starts), only creates the mailboxes and appends the same
//!   bytes with their flags and dates, one MULTIAPPEND per batch of the
//!   same size. No state, no listing, no matching. The floor is the sum
//!   of the two times.
//!
//! Round after round, the three tools take turns at the full copy (the
//! order rotates), then ours and mbsync run once more with nothing new
//! (the re-run). Every run of ours and mbsync, and the fetching half of
//! the floor, is a process of its own timed from start to exit, its peak
//! RSS from `wait4`; the appending half times itself from before its
//! connection to after its LOGOUT. After every run the destination is
//! checked: each of the 10 mailboxes holds 2,000 messages whose sizes and
//! INTERNALDATEs add up to the source's (mbsync adds an `X-TUID` line to
//! each), and the account holds 20,000 in all. Before the rounds, each tool makes one untimed copy (Dovecot's
//! cache on the source then holds what it asks for); before every timed
//! run the disks are flushed (sync(2)).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use imaplib::{DateInput, Imap4, Options, Status};

use crate::dovecot::Dovecot;
use crate::sync::{self, env_number, flush_disks, message, tools, MAILBOXES};
use crate::table::{median, round_ratio, Row, Table};

/// What the floor fetches: what ours fetches.
const ITEMS: &str = "(UID FLAGS INTERNALDATE BODY.PEEK[])";
/// Bytes in one batch at most (ours: the same).
const BATCH_BYTES: u64 = 2 * 1024 * 1024;
/// Messages in one batch at most (ours: the same).
const BATCH_MAX: usize = 500;
/// FETCH batches in flight (ours: the same).
const WINDOW: usize = 2;

/// The environment variables that carry our passwords to `imap sync`.
const PASSWORD_VAR: &str = "BENCH_MIGRATE_PASSWORD";
const TO_PASSWORD_VAR: &str = "BENCH_MIGRATE_TO_PASSWORD";

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Tool {
    Ours,
    Mbsync,
    Floor,
}

const TOOLS: [Tool; 3] = [Tool::Ours, Tool::Mbsync, Tool::Floor];

fn label(tool: Tool) -> &'static str {
    match tool {
        Tool::Ours => "imap sync --to-url",
        Tool::Mbsync => "mbsync",
        Tool::Floor => "floor (fetch + append)",
    }
}

/// What the benchmark needs everywhere.
struct Bench {
    imap_bin: PathBuf,
    /// This program, for the floor's processes.
    self_bin: PathBuf,
    source_port: u16,
    source_user: &'static str,
    source_password: &'static str,
    per_mailbox: u32,
    /// Messages in one batch (from the average size, as ours works it out).
    batch: usize,
    /// The source, per mailbox.
    expected: Vec<MailboxSum>,
    /// The tools' files.
    work: PathBuf,
    /// Where the servers' directories go.
    servers: PathBuf,
}

/// One copy's destination: a daemon of its own, the account written to,
/// and the tool's state.
struct Target {
    tool: Tool,
    server: Dovecot,
    user: &'static str,
    password: &'static str,
    /// Ours: the `--state` directory; mbsync: its `SyncState` directory.
    state: PathBuf,
    /// mbsync's configuration file.
    rc: PathBuf,
    /// Where each run's output goes.
    log: PathBuf,
}

/// One timed run.
#[derive(Clone, Copy, Default)]
struct Run {
    secs: f64,
    max_rss_kb: u64,
    /// The floor: its two halves.
    fetch_secs: f64,
    append_secs: f64,
    /// The floor: the appending half's peak RSS (it holds every message).
    append_rss_kb: u64,
}

/// A mailbox's messages, their bytes, and their INTERNALDATEs added up
/// (seconds since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct MailboxSum {
    messages: u32,
    bytes: u64,
    dates: i64,
}

/// Runs the benchmark, adds its rows to `table` and prints its own
/// tables.
pub fn run(table: &mut Table) {
    let per_mailbox: u32 = env_number("BENCH_MIGRATE_MESSAGES", 2000);
    let rounds: usize = env_number("BENCH_MIGRATE_ROUNDS", 5).max(1);
    let (imap_bin, imap_version, mbsync_version) = tools();

    // The tools' own files (state, configuration, logs) on the disk, the
    // servers' in memory (see the top).
    let work = std::env::temp_dir().join(format!("imaplib-bench-migrate-{}", std::process::id()));
    fs::create_dir_all(&work).unwrap();
    let servers = std::env::var_os("BENCH_MIGRATE_SERVER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/dev/shm"));
    let servers = if servers.is_dir() {
        servers
    } else {
        std::env::temp_dir()
    };
    eprintln!(
        "servers under {}, the tools' files under {}",
        servers.display(),
        work.display()
    );
    let source = start_server(&servers);
    let (source_user, source_password) = Dovecot::users()[0];
    let total = per_mailbox as usize * MAILBOXES.len();
    let t = Instant::now();
    let mut bytes = 0u64;
    for (k, mailbox) in MAILBOXES.iter().enumerate() {
        for i in 1..=per_mailbox as usize {
            let m = message(k * 1_000_000 + i);
            bytes += m.len() as u64;
            source.deliver(source_user, mailbox, &m);
        }
    }
    eprintln!(
        "delivered {total} messages ({:.0} MB) into the source in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    // Dovecot moves them from new/ to cur/ and indexes them at the first
    // SELECT: done here, before anything is timed. The floor relies on
    // the UIDs being 1 to `per_mailbox`.
    {
        let mut m = login(source.imap_port, source_user, source_password);
        for mailbox in MAILBOXES {
            let info = m.select_typed(mailbox, false).expect("SELECT");
            assert_eq!(info.exists, per_mailbox, "source: {mailbox}");
            assert_eq!(info.uid_next, Some(per_mailbox + 1), "source: {mailbox}");
        }
        let _ = m.logout();
    }
    let (expected, in_all) = sums(source.imap_port, source_user, source_password);
    assert_eq!(in_all as usize, total, "source: messages in all mailboxes");
    assert_eq!(
        expected.iter().map(|s| s.bytes).sum::<u64>(),
        bytes,
        "source: bytes"
    );
    // Written to disk now, so that no tool pays for the fixture's
    // writeback.
    flush_disks();

    let avg = (bytes / total as u64).max(1);
    let bench = Bench {
        imap_bin,
        self_bin: std::env::current_exe().expect("the benchmark's own path"),
        source_port: source.imap_port,
        source_user,
        source_password,
        per_mailbox,
        batch: ((BATCH_BYTES / avg) as usize).clamp(1, BATCH_MAX),
        expected,
        work,
        servers,
    };

    // Warm-up: one untimed copy by each tool, and one re-run.
    for tool in TOOLS {
        let mut target = fresh_target(&bench, tool, "warm-up");
        let r = first_copy(&bench, &mut target);
        check(&bench, &target);
        let again = if tool == Tool::Floor {
            String::new()
        } else {
            let r = rerun(&bench, &target);
            check(&bench, &target);
            format!(", re-run {:.2} s", r.secs)
        };
        eprintln!("  warm-up, {}: {:.1} s{again}", label(tool), r.secs);
    }

    // (step, tool) → the runs, round by round.
    let mut runs: BTreeMap<(usize, Tool), Vec<Run>> = BTreeMap::new();
    for round in 0..rounds {
        let order: Vec<Tool> = (0..TOOLS.len())
            .map(|k| TOOLS[(k + round) % TOOLS.len()])
            .collect();
        eprintln!("  round {} (load average {})", round + 1, crate::loadavg());
        let mut targets = Vec::new();
        for &tool in &order {
            let mut target = fresh_target(&bench, tool, &(round + 1).to_string());
            let r = first_copy(&bench, &mut target);
            check(&bench, &target);
            runs.entry((0, tool)).or_default().push(r);
            if tool == Tool::Floor {
                eprintln!(
                    "    full copy, {}: {:.2} s ({:.2} + {:.2})",
                    label(tool),
                    r.secs,
                    r.fetch_secs,
                    r.append_secs
                );
            } else {
                eprintln!("    full copy, {}: {:.2} s", label(tool), r.secs);
            }
            targets.push(target);
        }
        for target in &targets {
            if target.tool == Tool::Floor {
                continue;
            }
            let r = rerun(&bench, target);
            check(&bench, target);
            runs.entry((1, target.tool)).or_default().push(r);
            eprintln!("    re-run, {}: {:.3} s", label(target.tool), r.secs);
        }
        // Stopped (and removed) here: in memory, that costs nothing to
        // the next round.
        drop(targets);
    }

    report(table, &bench, &runs, bytes, &imap_version, &mbsync_version);
    let _ = fs::remove_dir_all(&bench.work);
}

/// Prints the tables and adds the rows to `table`.
fn report(
    table: &mut Table,
    bench: &Bench,
    runs: &BTreeMap<(usize, Tool), Vec<Run>>,
    bytes: u64,
    imap_version: &str,
    mbsync_version: &str,
) {
    let total = bench.per_mailbox as usize * MAILBOXES.len();
    let rounds = runs[&(0, Tool::Ours)].len();
    let workload = format!(
        "{} mailboxes × {} messages of about 20 KB ({:.0} MB), Dovecot to Dovecot, plain TCP",
        MAILBOXES.len(),
        bench.per_mailbox,
        bytes as f64 / 1e6
    );
    let secs = |step: usize, tool: Tool| -> Vec<f64> {
        runs[&(step, tool)].iter().map(|r| r.secs).collect()
    };
    let part =
        |tool: Tool, f: fn(&Run) -> f64| -> Vec<f64> { runs[&(0, tool)].iter().map(f).collect() };
    let rss = |step: usize, tool: Tool| -> u64 {
        runs[&(step, tool)]
            .iter()
            .map(|r| r.max_rss_kb)
            .max()
            .unwrap_or(0)
    };
    let med = |v: &[f64]| median(&mut v.to_vec());
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mb = |kb: u64| kb as f64 / 1024.0;

    let (ours, theirs, floor) = (
        secs(0, Tool::Ours),
        secs(0, Tool::Mbsync),
        secs(0, Tool::Floor),
    );
    let (fetch, append) = (
        part(Tool::Floor, |r| r.fetch_secs),
        part(Tool::Floor, |r| r.append_secs),
    );
    let append_rss = runs[&(0, Tool::Floor)]
        .iter()
        .map(|r| r.append_rss_kb)
        .max()
        .unwrap_or(0);
    let (re_ours, re_theirs) = (secs(1, Tool::Ours), secs(1, Tool::Mbsync));

    let mut out = String::new();
    let _ = writeln!(
        out,
        "| run | imap sync --to-url | mbsync | floor: fetch + append | mbsync ÷ imap sync | imap sync ÷ floor | imap sync ÷ append only |\n\
         |---|---|---|---|---|---|---|"
    );
    let _ = writeln!(
        out,
        "| 1. full copy into an empty account | {:.2} s | {:.2} s | {:.2} + {:.2} = {:.2} s | {:.2} | {:.2} | {:.2} |",
        med(&ours),
        med(&theirs),
        med(&fetch),
        med(&append),
        med(&floor),
        round_ratio(&theirs, &ours),
        round_ratio(&ours, &floor),
        round_ratio(&ours, &append),
    );
    let _ = writeln!(
        out,
        "| 2. re-run, nothing new | {:.3} s | {:.3} s | — | {:.2} | — | — |",
        med(&re_ours),
        med(&re_theirs),
        round_ratio(&re_theirs, &re_ours),
    );
    let _ = writeln!(
        out,
        "\n| full copy | median | messages/s | MB/s | peak RSS | rounds (s) |\n\
         |---|---|---|---|---|---|"
    );
    let rate = |s: f64| format!("{:.0} | {:.1}", total as f64 / s, bytes as f64 / 1e6 / s);
    for (what, v, peak) in [
        (
            "imap sync --to-url",
            &ours,
            format!("{:.1} MB", mb(rss(0, Tool::Ours))),
        ),
        (
            "mbsync",
            &theirs,
            format!("{:.1} MB", mb(rss(0, Tool::Mbsync))),
        ),
        (
            "floor: fetch only",
            &fetch,
            format!("{:.1} MB", mb(rss(0, Tool::Floor))),
        ),
        (
            "floor: append only",
            &append,
            format!("({:.0} MB: holds every message)", mb(append_rss)),
        ),
        ("floor: the sum", &floor, "—".to_string()),
    ] {
        let _ = writeln!(
            out,
            "| {what} | {:.2} s | {} | {peak} | {} |",
            med(v),
            rate(med(v)),
            list(v)
        );
    }
    let _ = writeln!(
        out,
        "\n| re-run, nothing new | median | peak RSS | rounds (s) |\n|---|---|---|---|"
    );
    for (tool, v) in [(Tool::Ours, &re_ours), (Tool::Mbsync, &re_theirs)] {
        let _ = writeln!(
            out,
            "| {} | {:.3} s | {:.1} MB | {} |",
            label(tool),
            med(v),
            mb(rss(1, tool)),
            v.iter()
                .map(|x| format!("{x:.3}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }

    println!("\n`imap sync --to-url` against mbsync and the floor: {workload}; {rounds} interleaved rounds");
    println!(
        "({imap_version}; {mbsync_version}; times are medians, the ratios the medians of per-round ratios)\n"
    );
    print!("{out}");

    let full = format!("full copy into an empty account; {workload}");
    for (tool, v, ratio, peak) in [
        (Tool::Ours, &ours, 1.0, mb(rss(0, Tool::Ours))),
        (
            Tool::Mbsync,
            &theirs,
            round_ratio(&theirs, &ours),
            mb(rss(0, Tool::Mbsync)),
        ),
        (
            Tool::Floor,
            &floor,
            round_ratio(&floor, &ours),
            mb(rss(0, Tool::Floor)),
        ),
    ] {
        let s = med(v);
        let mut note = format!("peak RSS {peak:.1} MB; rounds {}", list(v));
        if tool == Tool::Floor {
            note = format!(
                "fetch only {:.2} s + append only {:.2} s; fetching process's peak RSS {peak:.1} MB; rounds {}",
                med(&fetch),
                med(&append),
                list(v)
            );
        }
        table.push(Row {
            section: "7 migrate".into(),
            workload: full.clone(),
            client: label(tool).into(),
            figure: format!(
                "{s:.2} s, {:.0} msg/s, {:.1} MB/s",
                total as f64 / s,
                bytes as f64 / 1e6 / s
            ),
            note,
            ratio: Some(ratio),
        });
    }
    for (tool, v, ratio) in [
        (Tool::Ours, &re_ours, 1.0),
        (Tool::Mbsync, &re_theirs, round_ratio(&re_theirs, &re_ours)),
    ] {
        table.push(Row {
            section: "7 migrate".into(),
            workload: format!("re-run, nothing new; {workload}"),
            client: label(tool).into(),
            figure: format!("{:.3} s", med(v)),
            note: format!("peak RSS {:.1} MB", mb(rss(1, tool))),
            ratio: Some(ratio),
        });
    }
}

fn login(port: u16, user: &str, password: &str) -> Imap4 {
    let mut m = Imap4::with_options(
        "127.0.0.1",
        port,
        Options::with_timeout(Duration::from_secs(300)),
    )
    .expect("connect to Dovecot");
    m.login(user, password).expect("LOGIN");
    m
}

/// A Dovecot daemon whose directory is under `root`.
fn start_server(root: &Path) -> Dovecot {
    // The helper makes its directory under `std::env::temp_dir()`.
    let before = std::env::var_os("TMPDIR");
    std::env::set_var("TMPDIR", root);
    let server = Dovecot::start();
    match before {
        Some(v) => std::env::set_var("TMPDIR", v),
        None => std::env::remove_var("TMPDIR"),
    }
    server
}

/// A new destination daemon for one copy by `tool`, logged in to once
/// (so that its login and mail processes are running), and a new state
/// directory.
fn fresh_target(bench: &Bench, tool: Tool, run: &str) -> Target {
    let server = start_server(&bench.servers);
    let (user, password) = match tool {
        Tool::Mbsync => Dovecot::users()[1],
        Tool::Ours | Tool::Floor => Dovecot::users()[0],
    };
    let mut m = login(server.imap_port, user, password);
    m.list_typed(None, None).expect("LIST");
    let _ = m.logout();
    let name = match tool {
        Tool::Ours => "ours",
        Tool::Mbsync => "mbsync",
        Tool::Floor => "floor",
    };
    let state = bench.work.join(format!("state-{name}-{run}"));
    fs::create_dir_all(&state).unwrap();
    let target = Target {
        tool,
        server,
        user,
        password,
        state,
        rc: bench.work.join(format!("{name}-{run}.mbsyncrc")),
        log: bench.work.join(format!("{name}.log")),
    };
    if tool == Tool::Mbsync {
        write_mbsyncrc(bench, &target);
    }
    target
}

/// mbsync's configuration: an IMAP store on each side, plain TCP with
/// LOGIN, like ours; everything else as it comes, except COMPRESS (ours
/// does not use it either) and the arrival dates, which it keeps as ours
/// does.
fn write_mbsyncrc(bench: &Bench, t: &Target) {
    let rc = format!(
        "IMAPAccount source\n\
         Host 127.0.0.1\n\
         Port {source_port}\n\
         User {source_user}\n\
         Pass {source_password}\n\
         SSLType None\n\
         AuthMechs LOGIN\n\
         DisableExtension COMPRESS=DEFLATE\n\
         \n\
         IMAPStore source\n\
         Account source\n\
         \n\
         IMAPAccount destination\n\
         Host 127.0.0.1\n\
         Port {port}\n\
         User {user}\n\
         Pass {password}\n\
         SSLType None\n\
         AuthMechs LOGIN\n\
         DisableExtension COMPRESS=DEFLATE\n\
         \n\
         IMAPStore destination\n\
         Account destination\n\
         \n\
         Channel migrate\n\
         Far :source:\n\
         Near :destination:\n\
         Patterns *\n\
         Create Near\n\
         Sync Pull\n\
         Expunge None\n\
         CopyArrivalDate yes\n\
         SyncState {state}/\n",
        source_port = bench.source_port,
        source_user = bench.source_user,
        source_password = bench.source_password,
        port = t.server.imap_port,
        user = t.user,
        password = t.password,
        state = t.state.display(),
    );
    fs::write(&t.rc, rc).unwrap();
}

/// The command that runs ours or mbsync once.
fn command(bench: &Bench, t: &Target) -> Command {
    match t.tool {
        Tool::Ours => {
            let mut c = Command::new(&bench.imap_bin);
            c.arg("sync")
                .args(["--host", "127.0.0.1", "--port"])
                .arg(bench.source_port.to_string())
                .args(["--user", bench.source_user, "--password-env", PASSWORD_VAR])
                .arg("--to-url")
                .arg(format!(
                    "imap://{}@127.0.0.1:{}/",
                    t.user, t.server.imap_port
                ))
                .args(["--to-password-env", TO_PASSWORD_VAR, "--state"])
                .arg(&t.state)
                .arg("-q")
                .env(PASSWORD_VAR, bench.source_password)
                .env(TO_PASSWORD_VAR, t.password);
            c
        }
        Tool::Mbsync => {
            let mut c = Command::new("mbsync");
            c.arg("-q").arg("-c").arg(&t.rc).arg("-a");
            c
        }
        Tool::Floor => unreachable!("the floor has commands of its own"),
    }
}

/// The full copy by `t`'s tool into its empty account.
fn first_copy(bench: &Bench, t: &mut Target) -> Run {
    match t.tool {
        Tool::Ours | Tool::Mbsync => timed(t, &mut command(bench, t)),
        Tool::Floor => {
            let floor_args = |c: &mut Command| {
                c.arg(bench.source_port.to_string())
                    .arg(bench.source_user)
                    .arg(bench.source_password)
                    .arg(bench.per_mailbox.to_string())
                    .arg(bench.batch.to_string());
            };
            let mut fetch = Command::new(&bench.self_bin);
            fetch.args(["floor", "fetch"]);
            floor_args(&mut fetch);
            let fetched = timed(t, &mut fetch);
            let told = fs::read_to_string(&t.log).unwrap_or_default();
            let (_, bytes, messages) = floor_line(&told);
            let expected = &bench.expected;
            assert_eq!(
                (bytes, messages),
                (
                    expected.iter().map(|s| s.bytes).sum(),
                    expected.iter().map(|s| u64::from(s.messages)).sum()
                ),
                "floor: fetched (bytes, messages)"
            );
            let mut append = Command::new(&bench.self_bin);
            append.args(["floor", "append"]);
            floor_args(&mut append);
            append
                .arg(t.server.imap_port.to_string())
                .arg(t.user)
                .arg(t.password);
            let appended = timed(t, &mut append);
            let told = fs::read_to_string(&t.log).unwrap_or_default();
            let (secs, _, _) = floor_line(&told);
            Run {
                secs: fetched.secs + secs,
                max_rss_kb: fetched.max_rss_kb,
                fetch_secs: fetched.secs,
                append_secs: secs,
                append_rss_kb: appended.max_rss_kb,
            }
        }
    }
}

/// A run of ours or mbsync with nothing new on the source.
fn rerun(bench: &Bench, t: &Target) -> Run {
    timed(t, &mut command(bench, t))
}

/// Runs `cmd` (its output into `t.log`) after flushing the disks, and
/// stops the benchmark if it fails.
fn timed(t: &Target, cmd: &mut Command) -> Run {
    let log = File::create(&t.log).unwrap();
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    // What earlier runs left unwritten is not this run's to write.
    flush_disks();
    let (run, ok) = run_timed(cmd);
    if !ok {
        panic!(
            "{} failed:\n{}",
            label(t.tool),
            fs::read_to_string(&t.log).unwrap_or_default()
        );
    }
    run
}

/// The floor's `FLOOR SECONDS BYTES MESSAGES` line.
fn floor_line(output: &str) -> (f64, u64, u64) {
    let line = output
        .lines()
        .find_map(|l| l.strip_prefix("FLOOR "))
        .unwrap_or_else(|| panic!("the floor printed no result:\n{output}"));
    let f: Vec<&str> = line.split_whitespace().collect();
    (
        f[0].parse().unwrap(),
        f[1].parse().unwrap(),
        f[2].parse().unwrap(),
    )
}

/// Runs `cmd` to its end (see [`sync::run_timed`]).
fn run_timed(cmd: &mut Command) -> (Run, bool) {
    let (timed, ok) = sync::run_timed(cmd);
    (
        Run {
            secs: timed.secs,
            max_rss_kb: timed.max_rss_kb,
            ..Run::default()
        },
        ok,
    )
}

/// Each of [`MAILBOXES`] of an account, summed up, and the messages of
/// all its mailboxes (STATUS MESSAGES of every one LIST names).
fn sums(port: u16, user: &str, password: &str) -> (Vec<MailboxSum>, u32) {
    let mut m = login(port, user, password);
    let mut out = Vec::new();
    for mailbox in MAILBOXES {
        let info = m
            .select_typed(mailbox, true)
            .unwrap_or_else(|e| panic!("{user}: EXAMINE {mailbox}: {e}"));
        let mut s = MailboxSum {
            messages: info.exists,
            ..MailboxSum::default()
        };
        if info.exists > 0 {
            let listed = m
                .fetch_typed("1:*", "(RFC822.SIZE INTERNALDATE)")
                .expect("FETCH");
            for f in &listed {
                s.bytes += f.rfc822_size().unwrap_or(0);
                s.dates += f.internal_date().map_or(0, |d| d.timestamp());
            }
        }
        out.push(s);
    }
    let mut in_all = 0;
    for entry in m.list_typed(None, None).expect("LIST") {
        if entry
            .attributes
            .iter()
            .any(|a| a.eq_ignore_ascii_case("\\Noselect"))
        {
            continue;
        }
        let status = m
            .status_typed(&entry.mailbox.raw, "(MESSAGES)")
            .expect("STATUS");
        in_all += status.messages().unwrap_or(0);
    }
    let _ = m.logout();
    (out, in_all)
}

/// The header line mbsync adds to every message it stores on an IMAP
/// server (`X-TUID: ` and 12 characters), to find it again after an
/// interrupted APPEND.
const X_TUID: &str = "X-TUID: 0123456789ab\r\n";

/// Checks that `t`'s account holds the source's messages: each mailbox
/// the same number, bytes (mbsync: plus its `X-TUID` line each) and
/// dates, and nothing else.
fn check(bench: &Bench, t: &Target) {
    let (got, in_all) = sums(t.server.imap_port, t.user, t.password);
    for ((mailbox, want), got) in MAILBOXES.iter().zip(&bench.expected).zip(&got) {
        let mut want = *want;
        if t.tool == Tool::Mbsync {
            want.bytes += u64::from(want.messages) * X_TUID.len() as u64;
        }
        assert_eq!(
            *got,
            want,
            "{}: {mailbox} on the destination (messages, bytes, dates)",
            label(t.tool)
        );
    }
    let total = bench.per_mailbox * MAILBOXES.len() as u32;
    assert_eq!(
        in_all,
        total,
        "{}: messages in all mailboxes of the destination",
        label(t.tool)
    );
}

/// `imaplib-compare floor fetch|append …`: the floor's two halves, each
/// printing `FLOOR SECONDS BYTES MESSAGES`.
///
/// - `fetch SOURCE_PORT USER PASSWORD PER_MAILBOX BATCH`: every message
///   of [`MAILBOXES`] fetched (UIDs 1 to PER_MAILBOX), nothing kept;
/// - `append SOURCE_PORT USER PASSWORD PER_MAILBOX BATCH PORT USER
///   PASSWORD`: the same fetched first, then, timed, the mailboxes created
///   on the destination and the messages appended, one MULTIAPPEND per
///   batch.
pub fn floor_main(args: &[String]) {
    let what = args[0].as_str();
    let port: u16 = args[1].parse().unwrap();
    let (user, password) = (&args[2], &args[3]);
    let per_mailbox: u32 = args[4].parse().unwrap();
    let batch: usize = args[5].parse().unwrap();
    let uids: Vec<u32> = (1..=per_mailbox).collect();
    match what {
        "fetch" => {
            let start = Instant::now();
            let (mut bytes, mut messages) = (0u64, 0u64);
            let mut m = login(port, user, password);
            for mailbox in MAILBOXES {
                m.select_typed(mailbox, true).expect("EXAMINE");
                m.uid_fetch_pipelined(&uids, ITEMS, batch, WINDOW, |f| {
                    if let Some(body) = f.body() {
                        bytes += body.len() as u64;
                        messages += 1;
                    }
                    Ok(())
                })
                .expect("UID FETCH");
            }
            let _ = m.logout();
            println!("FLOOR {} {bytes} {messages}", start.elapsed().as_secs_f64());
        }
        "append" => {
            let (dst_port, dst_user, dst_password): (u16, &str, &str) =
                (args[6].parse().unwrap(), &args[7], &args[8]);
            // Fetched before the clock starts: (flags, date, bytes).
            let mut held: Vec<Vec<(String, Option<DateInput>, Bytes)>> = Vec::new();
            let mut m = login(port, user, password);
            for mailbox in MAILBOXES {
                m.select_typed(mailbox, true).expect("EXAMINE");
                let mut these = Vec::new();
                m.uid_fetch_pipelined(&uids, ITEMS, batch, WINDOW, |f| {
                    if let Some(body) = f.body() {
                        let flags: Vec<String> = f
                            .flags()
                            .map(|l| l.to_vec())
                            .unwrap_or_default()
                            .into_iter()
                            .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
                            .collect();
                        these.push((
                            format!("({})", flags.join(" ")),
                            f.internal_date().map(DateInput::DateTime),
                            body,
                        ));
                    }
                    Ok(())
                })
                .expect("UID FETCH");
                held.push(these);
            }
            let _ = m.logout();

            let start = Instant::now();
            let (mut bytes, mut messages) = (0u64, 0u64);
            let mut m = login(dst_port, dst_user, dst_password);
            for (mailbox, these) in MAILBOXES.iter().zip(&held) {
                if !mailbox.eq_ignore_ascii_case("INBOX") {
                    let reply = m.create(mailbox).expect("CREATE");
                    assert_eq!(reply.typ, Status::Ok, "CREATE {mailbox}");
                }
                let mut from = 0;
                while from < these.len() {
                    let mut to = from;
                    let mut size = 0u64;
                    while to < these.len() && to - from < batch && size < BATCH_BYTES {
                        size += these[to].2.len() as u64;
                        to += 1;
                    }
                    let items: Vec<(Option<&str>, Option<DateInput>, &[u8])> = these[from..to]
                        .iter()
                        .map(|(flags, date, body)| {
                            (Some(flags.as_str()), date.clone(), body.as_ref())
                        })
                        .collect();
                    let reply = m.append_many(Some(mailbox), &items).expect("APPEND");
                    assert_eq!(reply.typ, Status::Ok, "APPEND to {mailbox}");
                    messages += (to - from) as u64;
                    bytes += size;
                    from = to;
                }
            }
            let _ = m.logout();
            println!("FLOOR {} {bytes} {messages}", start.elapsed().as_secs_f64());
        }
        other => panic!("floor: unknown half {other:?} (fetch or append)"),
    }
}
