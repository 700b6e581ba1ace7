//! Benchmark 6: `imap sync` against mbsync (isync 1.4), side by side on
//! one Dovecot.
//!
//! The server holds two identical accounts, one per tool (`alice` for
//! ours, `bob` for mbsync), each with 10 mailboxes of 2,000 messages of
//! about 20 KB written straight into Dovecot's Maildirs. Both tools log in
//! over plain TCP on loopback with LOGIN, and each mirrors its account
//! into a directory of its own. Round after round, the tools take turns
//! (the order rotates) at three steps:
//!
//! 1. the first mirror into an empty directory;
//! 2. a re-sync with nothing changed;
//! 3. a re-sync after 1 % of the messages got flag changes on the server
//!    (`\Seen \Flagged` added by UID STORE) and 1 % new messages were
//!    delivered: made on the tool's own account just before its turn,
//!    and undone afterwards, so that every round starts from the same
//!    20,000 messages.
//!
//! Every run is a process of its own, timed from start to exit, its peak
//! RSS taken from `wait4`. The mirrors are checked after every run (the
//! number of message files, and after step 3 the number flagged). Before
//! the rounds, each tool makes one untimed first mirror (Dovecot's caches
//! then hold what it asks for) and two traced re-syncs, nothing changed
//! and after step 3's changes, whose commands are counted per mailbox.
//! Before every timed run the disks are flushed (sync(2)), and a tool's
//! runs are at least two seconds apart; each round's first mirror goes
//! into a new directory, the old ones are removed at the end.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use imaplib::{Imap4, Options};

use crate::dovecot::Dovecot;
use crate::inputs;
use crate::table::{median, round_ratio, Row, Table};

/// The mailboxes that hold the messages (Dovecot adds four empty
/// special-use ones, Drafts, Junk, Sent and Trash, which the tools mirror
/// or copy too).
pub(crate) const MAILBOXES: [&str; 10] = [
    "INBOX",
    "Archive",
    "Clients",
    "Finance",
    "Lists",
    "Newsletters",
    "Projects",
    "Receipts",
    "Travel",
    "Work",
];

/// One message in a hundred changes in step 3.
const CHANGE_EVERY: u32 = 100;

/// The least time between the end of a tool's run and the start of its
/// next one.
const MIN_GAP: Duration = Duration::from_secs(2);

/// The round number whose changes the warm-up makes (for the traces).
const WARM_UP_ROUND: usize = 50;

/// The environment variable that carries our password to `imap sync`.
const PASSWORD_VAR: &str = "BENCH_SYNC_PASSWORD";

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tool {
    Ours,
    Mbsync,
}

/// One tool, its account and its mirror.
struct Side {
    tool: Tool,
    user: &'static str,
    password: &'static str,
    /// A short name for its files.
    name: String,
    /// The mirror's root.
    out: PathBuf,
    /// mbsync's configuration file.
    rc: PathBuf,
    /// Where each run's output goes.
    log: PathBuf,
    /// When its last run ended.
    last_end: Option<Instant>,
}

impl Side {
    /// Points the side at a new, empty mirror directory (mbsync wants it
    /// to exist).
    fn fresh_mirror(&mut self, work: &Path, run: &str, port: u16) {
        self.out = work.join(format!("mirror-{}-{run}", self.name));
        fs::create_dir_all(&self.out).unwrap();
        if self.tool == Tool::Mbsync {
            write_mbsyncrc(self, port);
        }
    }
}

/// One timed run.
#[derive(Clone, Copy)]
pub(crate) struct Run {
    pub(crate) secs: f64,
    pub(crate) max_rss_kb: u64,
}

/// The three steps.
const STEPS: [&str; 3] = [
    "1. first mirror into an empty directory",
    "2. re-sync, nothing changed",
    "3. re-sync after 1 % flag changes and 1 % new messages on the server",
];

/// The `imap` command built in release mode, its version and mbsync's
/// (both must be there).
pub(crate) fn tools() -> (PathBuf, String, String) {
    let imap_bin = std::env::var_os("BENCH_IMAP")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/imap"));
    assert!(
        imap_bin.is_file(),
        "{} is missing: build it with `cargo build --release -p imaplib-cli` \
         (scripts/bench-compare.sh does)",
        imap_bin.display()
    );
    let mbsync_version = Command::new("mbsync")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| {
            panic!("mbsync is not installed ({e}): run scripts/install-deps.sh (package isync)")
        });
    let imap_version = Command::new(&imap_bin)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    (imap_bin, imap_version, mbsync_version)
}

/// Runs the benchmark, adds its rows to `table` and prints its own
/// side-by-side table.
pub fn run(table: &mut Table) {
    let per_mailbox: u32 = env_number("BENCH_SYNC_MESSAGES", 2000);
    let rounds: usize = env_number("BENCH_SYNC_ROUNDS", 5).max(1);
    let (imap_bin, imap_version, mbsync_version) = tools();

    let server = Dovecot::start();
    let total = per_mailbox as usize * MAILBOXES.len();
    let t = Instant::now();
    let mut bytes = 0usize;
    let users = Dovecot::users();
    for (k, mailbox) in MAILBOXES.iter().enumerate() {
        for i in 1..=per_mailbox as usize {
            let m = message(k * 1_000_000 + i);
            bytes += m.len();
            for (user, _) in users {
                server.deliver(user, mailbox, &m);
            }
        }
    }
    eprintln!(
        "delivered {total} messages ({:.0} MB) into each of {} accounts in {:.1} s",
        bytes as f64 / 1e6,
        users.len(),
        t.elapsed().as_secs_f64()
    );
    // Dovecot moves them from new/ to cur/ and indexes them at the first
    // SELECT: done here, for both accounts, before anything is timed.
    for (user, password) in users {
        let mut m = login(&server, user, password);
        for mailbox in MAILBOXES {
            let info = m.select_typed(mailbox, false).expect("SELECT");
            assert_eq!(info.exists, per_mailbox, "{user}: {mailbox}");
            assert_eq!(info.uid_next, Some(per_mailbox + 1), "{user}: {mailbox}");
        }
        let _ = m.logout();
    }

    // Written to disk now, so that no tool pays for the fixture's
    // writeback.
    flush_disks();

    let work = server.dir.join("bench-sync");
    fs::create_dir_all(&work).unwrap();
    let side = |tool: Tool, (user, password): (&'static str, &'static str), name: &str| Side {
        tool,
        user,
        password,
        name: name.to_string(),
        out: PathBuf::new(),
        rc: work.join(format!("{name}.mbsyncrc")),
        log: work.join(format!("{name}.log")),
        last_end: None,
    };
    let mut sides = [
        side(Tool::Mbsync, users[1], "mbsync"),
        side(Tool::Ours, users[0], "ours"),
    ];
    let port = server.imap_port;

    // Warm-up: one first mirror each (Dovecot's caches fill with what each
    // tool asks for), then, traced, a re-sync with nothing changed and one
    // after step 3's changes, to count the commands.
    let mut commands = Vec::new();
    for s in sides.iter_mut() {
        s.fresh_mirror(&work, "warm-up", port);
        let r = sync(s, &imap_bin, &server, false);
        check_mirror(s, total, 0);
        eprintln!("  warm-up, {}: first mirror {:.1} s", label(s.tool), r.secs);
        sync(s, &imap_bin, &server, true);
        let unchanged = count_commands(s);
        keep_trace(s, "unchanged");
        let (flagged, added) = change(&server, s, WARM_UP_ROUND, per_mailbox);
        sync(s, &imap_bin, &server, true);
        check_mirror(s, total + added, flagged);
        undo(&server, s, WARM_UP_ROUND, per_mailbox);
        commands.push((s.tool, unchanged, count_commands(s)));
        keep_trace(s, "changed");
    }

    let mut runs: BTreeMap<(usize, Tool), Vec<Run>> = BTreeMap::new();
    for round in 0..rounds {
        // mbsync first in odd rounds, ours first in even ones.
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        eprintln!("  round {} (load average {})", round + 1, crate::loadavg());
        for &i in &order {
            let s = &mut sides[i];
            // A new directory each round: removing the last one would make
            // the file system's inode allocation slow for a minute (on
            // ext4 without a journal it skips recently deleted inodes one
            // by one), which is not what is measured here.
            s.fresh_mirror(&work, &(round + 1).to_string(), port);
            let r = sync(s, &imap_bin, &server, false);
            check_mirror(s, total, 0);
            runs.entry((0, s.tool)).or_default().push(r);
            eprintln!("    step 1, {}: {:.2} s", label(s.tool), r.secs);
        }
        for &i in &order {
            let s = &mut sides[i];
            let r = sync(s, &imap_bin, &server, false);
            check_mirror(s, total, 0);
            runs.entry((1, s.tool)).or_default().push(r);
            eprintln!("    step 2, {}: {:.3} s", label(s.tool), r.secs);
        }
        for &i in &order {
            let s = &mut sides[i];
            let (flagged, added) = change(&server, s, round, per_mailbox);
            let r = sync(s, &imap_bin, &server, false);
            check_mirror(s, total + added, flagged);
            undo(&server, s, round, per_mailbox);
            runs.entry((2, s.tool)).or_default().push(r);
            eprintln!("    step 3, {}: {:.3} s", label(s.tool), r.secs);
        }
    }

    // The tables.
    let mut side_by_side = String::from(
        "| step | imap sync | mbsync | mbsync ÷ imap sync | rounds: imap sync / mbsync (s) | peak RSS: imap sync / mbsync |\n\
         |---|---|---|---|---|---|\n",
    );
    let workload = format!(
        "{} mailboxes × {per_mailbox} messages of about 20 KB ({:.0} MB), Dovecot, plain TCP",
        MAILBOXES.len(),
        bytes as f64 / 1e6
    );
    for (step, what) in STEPS.iter().enumerate() {
        let times = |tool| -> Vec<f64> { runs[&(step, tool)].iter().map(|r| r.secs).collect() };
        let rss = |tool| -> u64 {
            runs[&(step, tool)]
                .iter()
                .map(|r| r.max_rss_kb)
                .max()
                .unwrap_or(0)
        };
        let (o, t) = (times(Tool::Ours), times(Tool::Mbsync));
        let ratio = round_ratio(&t, &o);
        let fmt_times = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.2}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = writeln!(
            side_by_side,
            "| {what} | {:.3} s | {:.3} s | {ratio:.2} | {} / {} | {:.1} / {:.1} MB |",
            median(&mut o.clone()),
            median(&mut t.clone()),
            fmt_times(&o),
            fmt_times(&t),
            rss(Tool::Ours) as f64 / 1024.0,
            rss(Tool::Mbsync) as f64 / 1024.0,
        );
        for (tool, v, r) in [(Tool::Ours, &o, 1.0), (Tool::Mbsync, &t, ratio)] {
            table.push(Row {
                section: "6 sync".into(),
                workload: format!("{what}; {workload}"),
                client: label(tool).into(),
                figure: format!("{:.3} s", median(&mut v.clone())),
                note: format!(
                    "peak RSS {:.1} MB; rounds {}",
                    rss(tool) as f64 / 1024.0,
                    fmt_times(v)
                ),
                ratio: Some(r),
            });
        }
    }
    println!("\n`imap sync` against mbsync: {workload}; {rounds} interleaved rounds");
    println!("({imap_version}; {mbsync_version}; times are medians, the ratio the median of per-round ratios)\n");
    print!("{side_by_side}");
    println!();
    for (tool, unchanged, changed) in &commands {
        println!(
            "{}, re-sync with nothing changed: {unchanged}",
            label(*tool)
        );
        println!(
            "{}, re-sync after the changes of step 3: {changed}",
            label(*tool)
        );
    }
}

fn label(tool: Tool) -> &'static str {
    match tool {
        Tool::Ours => "imap sync",
        Tool::Mbsync => "mbsync",
    }
}

pub(crate) fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Message `i`: 15 to 25 KB of text, 20 KB on average.
pub(crate) fn message(i: usize) -> Vec<u8> {
    inputs::message(i, 15_000 + (i * 7919) % 10_000)
}

fn login(server: &Dovecot, user: &str, password: &str) -> Imap4 {
    let mut m = Imap4::with_options(
        "127.0.0.1",
        server.imap_port,
        Options::with_timeout(Duration::from_secs(300)),
    )
    .expect("connect to Dovecot");
    m.login(user, password).expect("LOGIN");
    m
}

/// mbsync's configuration: plain TCP with LOGIN, like ours; everything
/// else as it comes (FSync yes, pipelining unlimited), except COMPRESS,
/// which ours does not use either.
fn write_mbsyncrc(s: &Side, port: u16) {
    let out = s.out.display();
    let rc = format!(
        "IMAPAccount bench\n\
         Host 127.0.0.1\n\
         Port {port}\n\
         User {user}\n\
         Pass {password}\n\
         SSLType None\n\
         AuthMechs LOGIN\n\
         DisableExtension COMPRESS=DEFLATE\n\
         \n\
         IMAPStore remote\n\
         Account bench\n\
         \n\
         MaildirStore local\n\
         Path {out}/\n\
         Inbox {out}/INBOX\n\
         SubFolders Verbatim\n\
         \n\
         Channel bench\n\
         Far :remote:\n\
         Near :local:\n\
         Patterns *\n\
         Create Both\n\
         Remove Both\n\
         Expunge Both\n\
         Sync All\n\
         SyncState *\n",
        user = s.user,
        password = s.password,
    );
    fs::write(&s.rc, rc).unwrap();
}

/// One sync by `s`'s tool, timed from the start of its process to its
/// exit; `traced`: with the protocol trace in the log, and mbsync's
/// network debug output.
fn sync(s: &mut Side, imap_bin: &Path, server: &Dovecot, traced: bool) -> Run {
    let mut cmd = match s.tool {
        Tool::Ours => {
            let mut c = Command::new(imap_bin);
            c.arg("sync");
            if traced {
                c.arg("-vv");
            }
            c.args(["--host", "127.0.0.1", "--port"])
                .arg(server.imap_port.to_string())
                .args(["--user", s.user, "--password-env", PASSWORD_VAR, "--out"])
                .arg(&s.out)
                .arg("-q")
                .env(PASSWORD_VAR, s.password);
            c
        }
        Tool::Mbsync => {
            let mut c = Command::new("mbsync");
            c.arg(if traced { "-Dn" } else { "-q" })
                .arg("-c")
                .arg(&s.rc)
                .arg("bench");
            c
        }
    };
    let log = File::create(&s.log).unwrap();
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    // mbsync waits a second when a Maildir changed within the current
    // second (file times have one-second steps); a re-sync comes later
    // than that in real use.
    if let Some(end) = s.last_end {
        std::thread::sleep(MIN_GAP.saturating_sub(end.elapsed()));
    }
    // What earlier runs left unwritten is not this run's to write.
    flush_disks();
    let (run, ok) = run_timed(&mut cmd);
    s.last_end = Some(Instant::now());
    if !ok {
        panic!(
            "{} failed:\n{}",
            label(s.tool),
            fs::read_to_string(&s.log).unwrap_or_default()
        );
    }
    run
}

/// `cmds` joined with commas, repeats as `NAME ×N`.
fn runs_of(cmds: &[String]) -> String {
    let mut out: Vec<(String, usize)> = Vec::new();
    for c in cmds {
        match out.last_mut() {
            Some((last, n)) if last == c => *n += 1,
            _ => out.push((c.clone(), 1)),
        }
    }
    out.iter()
        .map(|(c, n)| {
            if *n == 1 {
                c.clone()
            } else {
                format!("{c} ×{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Keeps the log of a traced run as
/// `benches/compare/target/sync-trace-NAME-WHAT.log` (the server's
/// directory goes at the end).
fn keep_trace(s: &Side, what: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let _ = fs::create_dir_all(&dir);
    let _ = fs::copy(
        &s.log,
        dir.join(format!("sync-trace-{}-{what}.log", s.name)),
    );
}

/// Writes every file system's dirty data to disk (sync(2)).
pub(crate) fn flush_disks() {
    // SAFETY: no arguments, no memory shared.
    unsafe { libc::sync() };
}

/// Runs `cmd` to its end: its wall time, its peak RSS and whether it
/// exited with status 0.
pub(crate) fn run_timed(cmd: &mut Command) -> (Run, bool) {
    let start = Instant::now();
    let child = cmd.spawn().expect("start the tool");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain data, and `wait4` writes only into the two
    // locals it is given; `child` is not waited for through `std` after.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(got, pid, "wait4: {}", std::io::Error::last_os_error());
    drop(child);
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    (
        Run {
            secs,
            // Kilobytes on Linux.
            max_rss_kb: usage.ru_maxrss as u64,
        },
        ok,
    )
}

/// Counts the message files under `s.out` (in `cur/` and `new/`) and the
/// flagged ones, and checks them.
fn check_mirror(s: &Side, messages: usize, flagged: usize) {
    fn walk(dir: &Path, counts: &mut (usize, usize)) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        let in_mail_dir = matches!(
            dir.file_name().and_then(|n| n.to_str()),
            Some("cur" | "new")
        );
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                walk(&entry.path(), counts);
            } else if kind.is_file() && in_mail_dir {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') {
                    continue;
                }
                counts.0 += 1;
                let info = name.rsplit_once(":2,").map_or("", |(_, i)| i);
                if info.contains('F') {
                    counts.1 += 1;
                }
            }
        }
    }
    let mut counts = (0, 0);
    walk(&s.out, &mut counts);
    assert_eq!(
        counts,
        (messages, flagged),
        "{}: (messages, flagged) in {}",
        label(s.tool),
        s.out.display()
    );
}

/// The UIDs whose flags change in `round`: one in a hundred, a different
/// one each round.
fn changed_uids(round: usize, per_mailbox: u32) -> String {
    let first = 1 + (round as u32 * 37) % CHANGE_EVERY;
    let uids: Vec<String> = (first..=per_mailbox)
        .step_by(CHANGE_EVERY as usize)
        .map(|u| u.to_string())
        .collect();
    uids.join(",")
}

/// Step 3's changes on `s`'s account: `\Seen \Flagged` added to 1 % of
/// each mailbox's messages, and 1 % new messages delivered. Returns how
/// many messages were flagged and added.
fn change(server: &Dovecot, s: &Side, round: usize, per_mailbox: u32) -> (usize, usize) {
    let set = changed_uids(round, per_mailbox);
    let per = set.split(',').count();
    let new = (per_mailbox / CHANGE_EVERY).max(1) as usize;
    let mut m = login(server, s.user, s.password);
    for mailbox in MAILBOXES {
        m.select_typed(mailbox, false).expect("SELECT");
        let reply = m
            .uid(
                "STORE",
                [set.as_str(), "+FLAGS.SILENT", "(\\Seen \\Flagged)"],
            )
            .expect("UID STORE");
        assert_eq!(reply.typ, imaplib::Status::Ok);
    }
    let _ = m.logout();
    for (k, mailbox) in MAILBOXES.iter().enumerate() {
        for i in 0..new {
            let m = message(500_000 + k * 1_000_000 + round * 1000 + i);
            server.deliver(s.user, mailbox, &m);
        }
    }
    (per * MAILBOXES.len(), new * MAILBOXES.len())
}

/// Undoes [`change`]: the flags taken off, the new messages expunged.
fn undo(server: &Dovecot, s: &Side, round: usize, per_mailbox: u32) {
    let set = changed_uids(round, per_mailbox);
    let mut m = login(server, s.user, s.password);
    for mailbox in MAILBOXES {
        m.select_typed(mailbox, false).expect("SELECT");
        m.uid(
            "STORE",
            [set.as_str(), "-FLAGS.SILENT", "(\\Seen \\Flagged)"],
        )
        .expect("UID STORE");
        let found = m
            .uid_search_typed(["UID", &format!("{}:*", per_mailbox + 1)])
            .expect("UID SEARCH");
        let added: Vec<String> = found
            .ids
            .iter()
            .filter(|&&u| u > per_mailbox)
            .map(|u| u.to_string())
            .collect();
        if !added.is_empty() {
            let added = added.join(",");
            m.uid("STORE", [added.as_str(), "+FLAGS.SILENT", "(\\Deleted)"])
                .expect("UID STORE");
            m.uid_expunge(&added).expect("UID EXPUNGE");
        }
        let info = m.select_typed(mailbox, false).expect("SELECT");
        assert_eq!(info.exists, per_mailbox, "{}: {mailbox} after undo", s.user);
    }
    let _ = m.logout();
}

/// The commands a traced run sent, told per mailbox: how many mailboxes
/// got which sequence, and what the session sent besides. A mailbox's
/// commands run from the ENABLE sent for it (if any) through its SELECT
/// to the next mailbox's.
fn count_commands(s: &Side) -> String {
    let log = fs::read_to_string(&s.log).unwrap_or_default();
    // (mailbox, its commands)
    let mut per: Vec<(String, Vec<String>)> = Vec::new();
    let mut session = Vec::new();
    let mut ahead = Vec::new();
    let mut pipelined = 0;
    for line in log.lines() {
        if s.tool == Tool::Mbsync && line.contains(" in progress) >>> ") {
            pipelined += 1;
        }
        let sent = match s.tool {
            Tool::Ours => line
                .split_once("imaplib::protocol: > ")
                .map(|(_, rest)| rest.to_string()),
            // mbsync -Dn: ">>> TAG COMMAND ...", after "(N in progress) "
            // when pipelined.
            Tool::Mbsync => line.split_once(">>> ").map(|(_, rest)| rest.to_string()),
        };
        let Some(sent) = sent else { continue };
        let mut words = sent.split_whitespace().skip(1);
        let Some(verb) = words.next() else { continue };
        let verb = verb.to_ascii_uppercase();
        match verb.as_str() {
            "UID" => {
                let name = format!("UID {}", words.next().unwrap_or("").to_ascii_uppercase());
                match per.last_mut() {
                    Some((_, cmds)) => cmds.push(name),
                    None => session.push(name),
                }
            }
            "SELECT" | "EXAMINE" => {
                let mailbox = words.next().unwrap_or("").trim_matches('"').to_string();
                // The parameter's name only (QRESYNC, CONDSTORE): the
                // numbers change from run to run.
                let name = match words.next() {
                    Some(p) => format!("{verb} {}", p.trim_matches(['(', ')'])),
                    None => verb,
                };
                let mut cmds = std::mem::take(&mut ahead);
                cmds.push(name);
                per.push((mailbox, cmds));
            }
            "LOGIN" | "AUTHENTICATE" | "CAPABILITY" | "NAMESPACE" | "LIST" | "LSUB" | "ID"
            | "LOGOUT" => session.push(verb),
            "ENABLE" => ahead.push(format!("ENABLE {}", words.next().unwrap_or(""))),
            _ => match per.last_mut() {
                Some((_, cmds)) => cmds.push(verb),
                None => session.push(verb),
            },
        }
    }
    session.append(&mut ahead);
    let mut patterns: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for (mailbox, cmds) in per {
        patterns.entry(cmds).or_default().push(mailbox);
    }
    let mut out = String::new();
    for (cmds, mailboxes) in &patterns {
        let _ = write!(
            out,
            "{} mailboxes, {} commands each ({}); ",
            mailboxes.len(),
            cmds.len(),
            runs_of(cmds)
        );
    }
    let _ = write!(
        out,
        "once per session: {} ({})",
        session.len(),
        session.join(", ")
    );
    if s.tool == Tool::Mbsync {
        let _ = write!(out, "; {pipelined} sent while another was in flight");
    }
    out
}
