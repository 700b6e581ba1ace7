//! `imap sync --to-url URL` (or `--to-stream CMD`): the account copied to
//! another server, one way, resumable.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use imaplib_sync::{CopyOptions, CopyReport};
use indicatif::{ProgressBar, ProgressStyle};

use crate::connect::{ConnectArgs, Resolved};
use crate::exit::{print_out, CliError, CliResult, Exit};
use crate::fetch::human_bytes;
use crate::term;

/// The destination of `imap sync --to-url` and how to copy to it.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Destination (copy to another server)")]
pub struct ToArgs {
    /// The destination server's URL.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "to_stream",
        help = "Copy to this server instead of mirroring into --out: \
                imap://[USER[;AUTH=MECH]@]HOST[:PORT]/ or imaps://..."
    )]
    pub to_url: Option<String>,
    /// Copy to the server speaking IMAP on this shell command's
    /// stdin/stdout.
    #[arg(long, value_name = "COMMAND")]
    pub to_stream: Option<String>,
    /// The destination's user (instead of USER@ in --to-url).
    #[arg(long, value_name = "USER")]
    pub to_user: Option<String>,
    /// The destination's password from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub to_password_env: Option<String>,
    /// The destination's password from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub to_password_file: Option<PathBuf>,
    /// The destination's password from this shell command's first line.
    #[arg(long, value_name = "CMD")]
    pub to_password_command: Option<String>,
    /// Log in to the destination with AUTHENTICATE MECH.
    #[arg(long, value_name = "MECH")]
    pub to_auth: Option<String>,
    /// STARTTLS on an imap:// destination.
    #[arg(long)]
    pub to_starttls: bool,
    /// Also trust the CA certificates in this PEM file for the destination.
    #[arg(long, value_name = "FILE")]
    pub to_ca_file: Option<PathBuf>,
    /// Check the destination's certificate against NAME.
    #[arg(long, value_name = "NAME")]
    pub to_tls_server_name: Option<String>,
    /// DANGEROUS: accept any certificate from the destination.
    #[arg(long)]
    pub to_insecure: bool,
    /// Where the copy keeps its state (default: under
    /// $XDG_STATE_HOME/imap/copies/, one directory per pair of accounts).
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Rename on the way: the source mailbox OLD (and those below it)
    /// becomes NEW (written with the destination's hierarchy delimiter);
    /// repeatable, the first match wins.
    #[arg(long = "map", value_name = "OLD=NEW")]
    pub map: Vec<String>,
    /// Also expunge from the destination what the source expunged, and
    /// delete the mailboxes the source no longer has (when they hold
    /// nothing but copies). Off by default: the destination loses nothing
    /// unasked.
    #[arg(long)]
    pub delete: bool,
}

impl ToArgs {
    /// True when a destination server is given.
    pub fn given(&self) -> bool {
        self.to_url.is_some() || self.to_stream.is_some()
    }

    /// The first option given that only a copy to another server takes.
    pub fn copy_only_option(&self) -> Option<&'static str> {
        [
            (self.to_user.is_some(), "--to-user"),
            (self.to_password_env.is_some(), "--to-password-env"),
            (self.to_password_file.is_some(), "--to-password-file"),
            (self.to_password_command.is_some(), "--to-password-command"),
            (self.to_auth.is_some(), "--to-auth"),
            (self.to_starttls, "--to-starttls"),
            (self.to_ca_file.is_some(), "--to-ca-file"),
            (self.to_tls_server_name.is_some(), "--to-tls-server-name"),
            (self.to_insecure, "--to-insecure"),
            (self.state.is_some(), "--state"),
            (!self.map.is_empty(), "--map"),
            (self.delete, "--delete"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
    }

    /// The destination's connection settings; the source's --timeout and
    /// -v apply to it too.
    fn resolve(&self, source: &ConnectArgs) -> CliResult<Resolved> {
        let args = ConnectArgs {
            url: self.to_url.clone(),
            stream: self.to_stream.clone(),
            user: self.to_user.clone(),
            password_env: self.to_password_env.clone(),
            password_file: self.to_password_file.clone(),
            password_command: self.to_password_command.clone(),
            auth: self.to_auth.clone(),
            starttls: self.to_starttls,
            ca_file: self.to_ca_file.clone(),
            tls_server_name: self.to_tls_server_name.clone(),
            insecure: self.to_insecure,
            timeout: source.timeout,
            verbose: source.verbose,
            ..ConnectArgs::default()
        };
        args.resolve_with(false).map_err(|mut e| {
            e.message = format!("the destination (--to-...): {}", e.message);
            e
        })
    }
}

/// What a `--map` value says.
fn parse_map(values: &[String]) -> CliResult<Vec<(String, String)>> {
    values
        .iter()
        .map(|v| {
            let (old, new) = v
                .split_once('=')
                .filter(|(o, n)| !o.is_empty() && !n.is_empty())
                .ok_or_else(|| CliError::usage(format!("--map {v:?}: write OLD=NEW")))?;
            if v.contains(['\r', '\n', '\0']) {
                return Err(CliError::usage("--map may not contain line breaks or NUL"));
            }
            Ok((old.to_string(), new.to_string()))
        })
        .collect()
}

/// The default state directory of the copy from `src` to `dst`.
fn default_state(src: &Resolved, dst: &Resolved) -> CliResult<PathBuf> {
    let base = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".local").join("state"),
            None => {
                return Err(CliError::usage(
                    "no HOME or XDG_STATE_HOME to keep the state in: give --state DIR",
                ))
            }
        },
    };
    let pair = format!(
        "{} {} -> {} {}",
        src.user.as_deref().unwrap_or(""),
        src.describe(),
        dst.user.as_deref().unwrap_or(""),
        dst.describe()
    );
    // FNV-1a: the same name for the same pair, on every build.
    let hash = pair.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    Ok(base
        .join("imap")
        .join("copies")
        .join(format!("{hash:016x}")))
}

/// Runs `imap sync --to-...`.
pub fn run(
    to: &ToArgs,
    patterns: &[String],
    dry_run: bool,
    quiet: bool,
    src: &Resolved,
    source_args: &ConnectArgs,
) -> CliResult<()> {
    let dst = to.resolve(source_args)?;
    if dst.mailbox.is_some() {
        return Err(CliError::usage(
            "--to-url takes no mailbox: use --mailbox PATTERN (and --map OLD=NEW)",
        ));
    }
    let state = match &to.state {
        Some(dir) => dir.clone(),
        None => default_state(src, &dst)?,
    };
    let opts = CopyOptions {
        state,
        patterns: patterns.to_vec(),
        map: parse_map(&to.map)?,
        delete: to.delete,
        dry_run,
    };
    let started = Instant::now();
    let mut from = src.connect()?;
    src.login(&mut from, true)?;
    let mut into = dst.connect().map_err(destination)?;
    dst.login(&mut into, true).map_err(destination)?;
    if !quiet {
        eprintln!(
            "imap: copying to {} (state in {})",
            term::safe(&dst.describe()),
            term::safe(&opts.state.display().to_string())
        );
    }
    let bar = spinner(quiet);
    // The first failure to print (a closed stdout) ends the output, not
    // the copy.
    let mut printed: CliResult<()> = Ok(());
    let result = imaplib_sync::copy_account(
        &mut from,
        &mut into,
        &opts,
        |report| {
            let trouble =
                !report.skipped.is_empty() || report.not_sent > 0 || report.failed.is_some();
            if printed.is_ok() && (!quiet || dry_run || trouble) {
                printed = bar.suspend(|| print_out(&report_text(report, dry_run)));
            }
        },
        |p| {
            if p.total_bytes > 0 {
                bar.set_length(p.total_bytes);
                bar.set_position(p.bytes.min(p.total_bytes));
            }
            bar.set_message(format!(
                "{}: {}/{} messages",
                term::safe(p.mailbox),
                p.messages,
                p.total_messages
            ))
        },
    );
    bar.finish_and_clear();
    let reports = result.map_err(crate::sync::cli_error)?;
    printed?;
    let _ = from.logout();
    let _ = into.logout();
    let copied: u64 = reports.iter().map(|r| r.copied).sum();
    let bytes: u64 = reports.iter().map(|r| r.bytes).sum();
    let skipped: u64 = reports
        .iter()
        .map(|r| r.skipped.len() as u64 + r.not_sent)
        .sum();
    if !quiet && dry_run {
        eprintln!(
            "imap: {} mailboxes, {copied} messages would be copied (dry run: nothing changed)",
            reports.len()
        );
    } else if !quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "imap: {} mailboxes, {copied} messages copied ({}) in {secs:.1} s: {:.0} messages/s, {}/s",
            reports.len(),
            human_bytes(bytes),
            copied as f64 / secs.max(1e-3),
            human_bytes((bytes as f64 / secs.max(1e-3)) as u64)
        );
    }
    let failed = reports.iter().filter(|r| r.failed.is_some()).count();
    if failed > 0 {
        return Err(CliError::new(
            Exit::Incomplete,
            format!("{failed} mailboxes could not be copied (listed above); the others were"),
        ));
    }
    if skipped > 0 && !dry_run {
        return Err(CliError::new(
            Exit::Incomplete,
            format!("{skipped} messages were not copied (listed above)"),
        ));
    }
    Ok(())
}

/// Says that an error is the destination's.
fn destination(mut e: CliError) -> CliError {
    e.message = format!("the destination: {}", e.message);
    e
}

/// A bar for the mailbox being copied (bytes, rate, time left), on a
/// terminal (hidden with -q or when stderr is not one).
fn spinner(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// One line per mailbox, one per message skipped, and in a dry run one
/// per planned change.
fn report_text(r: &CopyReport, dry_run: bool) -> String {
    let mut parts = Vec::new();
    if r.created {
        parts.push("created".to_string());
    }
    if r.subscribed {
        parts.push("subscribed".to_string());
    }
    if r.removed {
        parts.push("gone from the source, deleted".to_string());
    }
    if r.copied > 0 {
        parts.push(format!("{} copied ({})", r.copied, human_bytes(r.bytes)));
    }
    for (n, what) in [
        (r.found, "found there already"),
        (r.flags, "flag changes"),
        (r.deleted, "expunged"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    let not_copied = r.skipped.len() as u64 + r.not_sent;
    if not_copied > 0 {
        parts.push(format!("{not_copied} not copied"));
    }
    if let Some(why) = &r.failed {
        parts.push(format!("FAILED ({why}); the other mailboxes go on"));
    }
    parts.extend(r.notes.iter().cloned());
    let arrow = if r.mailbox == r.target {
        String::new()
    } else {
        format!(" -> {}", term::safe(&r.target))
    };
    let mut out = format!(
        "{}{arrow}: {}\n",
        term::safe(&r.mailbox),
        term::safe(&crate::sync::summary(&parts, dry_run))
    );
    for line in &r.skipped {
        out.push_str(&format!("  not copied: {}\n", term::safe(line)));
    }
    if r.not_sent > 0 {
        out.push_str(&format!(
            "  not copied: {} more, not sent: the destination is over its quota; tried again next run\n",
            r.not_sent
        ));
    }
    out.push_str(&crate::sync::planned_lines(&r.planned, dry_run));
    out
}
