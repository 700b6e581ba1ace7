//! `imap sync --out DIR`: the account mirrored into Maildirs, both ways
//! (or, with `--to-url`, copied to another server: see [`crate::copy`]).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use std::io::IsTerminal as _;

use clap::Args;
use imaplib_sync::{Direction, MailboxReport, SyncError, SyncOptions};
use indicatif::{ProgressBar, ProgressStyle};

use crate::connect::{ConnectArgs, Resolved};
use crate::copy::ToArgs;
use crate::exit::{CliError, CliResult, Exit};
use crate::fetch::human_bytes;
use crate::term;

/// Options of `imap sync`.
#[derive(Args, Debug, Clone)]
pub struct SyncArgs {
    /// The root of the local mirror: one Maildir per mailbox under it.
    #[arg(long, value_name = "DIR", required_unless_present_any = ["to_url", "to_stream"],
          conflicts_with_all = ["to_url", "to_stream"])]
    pub out: Option<PathBuf>,
    /// Only the mailboxes matching this LIST pattern (`*` any text, `%`
    /// any text within one level); repeatable. Default: every mailbox.
    #[arg(long = "mailbox", value_name = "PATTERN")]
    pub mailboxes: Vec<String>,
    /// Only bring the server's changes here.
    #[arg(long, conflicts_with = "push")]
    pub pull: bool,
    /// Only take the local changes to the server.
    #[arg(long)]
    pub push: bool,
    /// Say what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Stay connected and sync again whenever something changes: at once
    /// for INBOX on the server (IDLE) and for the Maildirs here, every
    /// --interval for the other mailboxes. A lost connection is made again,
    /// waiting 1, 2, 4... up to 60 seconds between attempts.
    #[arg(long, conflicts_with = "dry_run")]
    pub watch: bool,
    /// With --watch: seconds between two syncs of every mailbox.
    #[arg(long, value_name = "SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub interval: u64,
    /// No summary lines.
    #[arg(short, long)]
    pub quiet: bool,
    /// Copy to another server instead.
    #[command(flatten)]
    pub to: ToArgs,
}

/// Runs `imap sync`.
pub fn run(args: &SyncArgs, conn: &Resolved, source_args: &ConnectArgs) -> CliResult<()> {
    if conn.mailbox.is_some() {
        return Err(CliError::usage(
            "imap sync takes no mailbox in the URL: use --mailbox PATTERN",
        ));
    }
    for p in &args.mailboxes {
        if p.contains(['\r', '\n', '\0']) {
            return Err(CliError::usage(
                "--mailbox may not contain line breaks or NUL",
            ));
        }
    }
    if args.to.given() {
        if args.pull || args.push || args.watch {
            return Err(CliError::usage(
                "a copy to another server (--to-url, --to-stream) goes one way: no --pull, \
                 --push or --watch",
            ));
        }
        return crate::copy::run(
            &args.to,
            &args.mailboxes,
            args.dry_run,
            args.quiet,
            conn,
            source_args,
        );
    }
    if let Some(option) = args.to.copy_only_option() {
        return Err(CliError::usage(format!(
            "{option} is for a copy to another server: give --to-url or --to-stream"
        )));
    }
    let Some(out) = &args.out else {
        return Err(CliError::usage(
            "say where to: --out DIR (a Maildir mirror) or --to-url URL (another server)",
        ));
    };
    let direction = if args.pull {
        Direction::Pull
    } else if args.push {
        Direction::Push
    } else {
        Direction::Both
    };
    let opts = SyncOptions {
        root: out.clone(),
        patterns: args.mailboxes.clone(),
        direction,
        dry_run: args.dry_run,
    };
    if args.watch {
        return watch(args, &opts, conn);
    }
    let started = Instant::now();
    let mut m = conn.connect()?;
    conn.login(&mut m, true)?;
    let quiet = args.quiet;
    let bar = spinner(quiet);
    let result = imaplib_sync::sync_with_progress(
        &mut m,
        &opts,
        |report| {
            if !quiet || opts.dry_run {
                bar.suspend(|| print_report(report, opts.dry_run));
            }
        },
        |p| {
            bar.set_message(format!(
                "{}: {} messages, {}",
                term::safe(p.mailbox),
                p.messages,
                human_bytes(p.bytes)
            ))
        },
    );
    bar.finish_and_clear();
    let reports = result.map_err(cli_error)?;
    let _ = m.logout();
    if !quiet {
        let changed = reports.iter().filter(|r| !r.is_unchanged()).count();
        eprintln!(
            "imap: {} mailboxes, {changed} changed, {} in {:.1} s",
            reports.len(),
            human_bytes(reports.iter().map(|r| r.bytes).sum()),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// `--watch`: sync, wait for a change, sync again, for ever; a lost
/// connection (or one that cannot be made) is tried again with a growing
/// pause, never in a busy loop. Other failures end the run.
fn watch(args: &SyncArgs, opts: &SyncOptions, conn: &Resolved) -> CliResult<()> {
    const LONGEST_PAUSE: Duration = Duration::from_secs(60);
    let interval = Duration::from_secs(args.interval);
    let mut pause = Duration::from_secs(1);
    loop {
        let lost = match watch_session(args, opts, conn, interval, &mut pause) {
            Ok(never) => match never {},
            Err(Lost(why)) => why,
            Err(Fatal(e)) => return Err(e),
        };
        eprintln!(
            "imap: {}; connecting again in {} s",
            term::safe(&lost),
            pause.as_secs()
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// How a watching session ended.
enum Ended {
    /// The connection was lost or could not be made: try again.
    Lost(String),
    /// Anything else: stop.
    Fatal(CliError),
}
use Ended::{Fatal, Lost};

/// One connection of `--watch`: returns only with an error.
fn watch_session(
    args: &SyncArgs,
    opts: &SyncOptions,
    conn: &Resolved,
    interval: Duration,
    pause: &mut Duration,
) -> Result<std::convert::Infallible, Ended> {
    let lost_or_fatal = |e: SyncError| match &e {
        SyncError::Imap { err, .. } if err.is_abort() => Lost(e.to_string()),
        _ => Fatal(cli_error(e)),
    };
    let mut m = conn.connect().map_err(|e| match e.exit {
        Exit::Connect | Exit::Abort | Exit::ProxyUnreachable => Lost(e.message),
        _ => Fatal(e),
    })?;
    conn.login(&mut m, true).map_err(|e| match e.exit {
        Exit::Abort => Lost(e.message),
        _ => Fatal(e),
    })?;
    loop {
        let quiet = args.quiet;
        let before = imaplib_sync::watch::local_times(&opts.root);
        let reports = imaplib_sync::sync(&mut m, opts, |report| {
            if !quiet && !report.is_unchanged() {
                print_report(report, false);
            }
        })
        .map_err(lost_or_fatal)?;
        let _ = reports;
        *pause = Duration::from_secs(1);
        imaplib_sync::watch::wait_for_change(&mut m, &opts.root, interval, &before)
            .map_err(lost_or_fatal)?;
    }
}

/// A spinner with the mailbox being synced and what moved, on a
/// terminal (hidden with -q or when stderr is not one).
fn spinner(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// One line per mailbox (and, in a dry run, one per planned change).
fn print_report(r: &MailboxReport, dry_run: bool) {
    let mut parts = Vec::new();
    let mut count = |n: u64, what: &str| {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    };
    count(r.pulled_new, "new from the server");
    count(r.pulled_flags, "flag changes from the server");
    count(r.pulled_deletions, "deleted on the server");
    count(r.pushed_new, "new to the server");
    count(r.pushed_flags, "flag changes to the server");
    count(r.pushed_deletions, "deleted here");
    count(r.kept, "kept (deleted on one side, changed on the other)");
    if r.created_locally {
        parts.push("created here".into());
    }
    if r.created_on_server {
        parts.push("created on the server".into());
    }
    if r.deleted_locally {
        parts.push("mailbox deleted on the server, removed here".into());
    }
    if r.deleted_on_server {
        parts.push("mailbox removed here, deleted on the server".into());
    }
    parts.extend(r.notes.iter().cloned());
    println!("{}: {}", term::safe(&r.mailbox), summary(&parts, dry_run));
    print!("{}", planned_lines(&r.planned, dry_run));
}

/// A mailbox's changes on one line: `unchanged`, or `parts` joined, and
/// ` (dry run)` in a dry run.
pub(crate) fn summary(parts: &[String], dry_run: bool) -> String {
    let text = if parts.is_empty() {
        "unchanged".to_string()
    } else {
        parts.join(", ")
    };
    let verb = if dry_run { " (dry run)" } else { "" };
    format!("{text}{verb}")
}

/// In a dry run, one indented line per planned change (else nothing).
pub(crate) fn planned_lines(planned: &[String], dry_run: bool) -> String {
    if !dry_run {
        return String::new();
    }
    planned
        .iter()
        .map(|line| format!("  {}\n", term::safe(line)))
        .collect()
}

pub(crate) fn cli_error(e: SyncError) -> CliError {
    match &e {
        SyncError::Imap { context, err } => CliError::imap(context, err),
        SyncError::Refused { .. } => CliError::new(Exit::Server, e.to_string()),
        SyncError::Local { .. } => CliError::local(e.to_string()),
    }
}
