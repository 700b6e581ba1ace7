//! `imap sync --out DIR`: the account mirrored into Maildirs, both ways.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use imaplib_sync::{Direction, MailboxReport, SyncError, SyncOptions};

use crate::connect::Resolved;
use crate::exit::{CliError, CliResult, Exit};
use crate::fetch::human_bytes;
use crate::term;

/// Options of `imap sync`.
#[derive(Args, Debug, Clone)]
pub struct SyncArgs {
    /// The root of the local mirror: one Maildir per mailbox under it.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
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
    /// No summary lines.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs `imap sync`.
pub fn run(args: &SyncArgs, conn: &Resolved) -> CliResult<()> {
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
    let direction = if args.pull {
        Direction::Pull
    } else if args.push {
        Direction::Push
    } else {
        Direction::Both
    };
    let opts = SyncOptions {
        root: args.out.clone(),
        patterns: args.mailboxes.clone(),
        direction,
        dry_run: args.dry_run,
    };
    let started = Instant::now();
    let mut m = conn.connect()?;
    conn.login(&mut m, true)?;
    let quiet = args.quiet;
    let result = imaplib_sync::sync(&mut m, &opts, |report| {
        if !quiet || opts.dry_run {
            print_report(report, opts.dry_run);
        }
    });
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
    let summary = if parts.is_empty() {
        "unchanged".to_string()
    } else {
        parts.join(", ")
    };
    let verb = if dry_run { " (dry run)" } else { "" };
    println!("{}: {summary}{verb}", term::safe(&r.mailbox));
    if dry_run {
        for line in &r.planned {
            println!("  {}", term::safe(line));
        }
    }
}

fn cli_error(e: SyncError) -> CliError {
    match &e {
        SyncError::Imap { context, err } => CliError::imap(context, err),
        SyncError::Refused { .. } => CliError::new(Exit::Server, e.to_string()),
        SyncError::Local { .. } => CliError::local(e.to_string()),
    }
}
