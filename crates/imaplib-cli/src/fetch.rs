//! `imap fetch MAILBOX`: download messages, in batches, to stdout or to a
//! Maildir, an mbox or `.eml` files, picking up where the last run stopped.

use std::collections::HashMap;
use std::io::{IsTerminal as _, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use imaplib::imaplib_proto::date::parse_internaldate;
use imaplib::{Imap4, Status};
use indicatif::{ProgressBar, ProgressStyle};

use crate::connect::Resolved;
use crate::exit::{output_error, print_out, CliError, CliResult, Exit};
use crate::store::{Format, Message, Output};
use crate::values::{self, Value};

/// Messages asked for in one FETCH at most (`--batch`).
const DEFAULT_BATCH: u64 = 100;
/// Bytes asked for in one FETCH at most (unless one message is larger).
const BATCH_BYTES: u64 = 8 * 1024 * 1024;
/// UIDs per `UID FETCH (RFC822.SIZE)` command.
const SIZE_CHUNK: usize = 2000;

/// Options of `imap fetch`.
#[derive(Args, Debug, Clone)]
pub struct FetchArgs {
    /// The mailbox to download (default: the one in --url).
    #[arg(value_name = "MAILBOX")]
    pub mailbox: Option<String>,
    /// Save the messages in DIR instead of printing them; a later run into
    /// the same DIR fetches only new messages.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// How to save them (with --out).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// IMAP SEARCH criteria choosing the messages, e.g. 'SINCE 1-Jan-2024
    /// FROM alice'.
    #[arg(long, value_name = "CRITERIA", default_value = "ALL")]
    pub search: String,
    /// Messages per FETCH command.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BATCH,
          value_parser = clap::value_parser!(u64).range(1..=10000))]
    pub batch: u64,
    /// No progress bar and no summary line.
    #[arg(short, long)]
    pub quiet: bool,
}

/// A compact UID set: `1:5,7,9:12`.
pub fn uid_set(uids: &[u64]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if end > start {
            out.push_str(&format!("{start}:{end}"));
        } else {
            out.push_str(&start.to_string());
        }
        i += 1;
    }
    out
}

/// Splits UIDs into batches of at most `max` messages and (unless a single
/// message is larger) [`BATCH_BYTES`] bytes.
fn batches(uids: &[u64], sizes: &HashMap<u64, u64>, max: usize) -> Vec<Vec<u64>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut bytes = 0;
    for &uid in uids {
        let size = sizes.get(&uid).copied().unwrap_or(0);
        if !cur.is_empty()
            && (cur.len() >= max || bytes >= BATCH_BYTES || bytes + size > BATCH_BYTES)
        {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        cur.push(uid);
        bytes += size;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `1 message`, `2 messages`.
fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Sizes in a human unit.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// Server data the tool cannot read: the session is out of step (abort).
fn protocol(what: &str, why: String) -> CliError {
    CliError::new(
        Exit::Abort,
        format!("unexpected {what} from the server: {why}"),
    )
}

/// A NO answer as an error.
fn refused(what: &str, data: &[imaplib::Data]) -> CliError {
    let text = data
        .iter()
        .filter_map(|d| d.as_bytes())
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    CliError::new(Exit::Server, format!("{what}: the server said NO: {text}"))
}

/// Progress shown on a terminal.
struct Progress {
    bar: ProgressBar,
    total: u64,
    done: u64,
}

impl Progress {
    /// A bar for this many messages and bytes; hidden when `quiet` or
    /// when stderr is not a terminal.
    fn new(total_msgs: u64, total_bytes: u64, quiet: bool) -> Progress {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::new(total_bytes);
            let style = ProgressStyle::with_template(
                "{msg} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        };
        let p = Progress {
            bar,
            total: total_msgs,
            done: 0,
        };
        p.bar.set_message(format!("0/{total_msgs} messages"));
        p
    }

    /// Counts a finished batch.
    fn advance(&mut self, msgs: u64, bytes: u64) {
        self.done += msgs;
        self.bar.inc(bytes);
        self.bar
            .set_message(format!("{}/{} messages", self.done, self.total));
    }

    /// Leaves the bar, complete, on the terminal.
    fn finish(&self) {
        self.bar.finish();
    }

    /// Leaves the bar where the run stopped.
    fn abandon(&self) {
        self.bar.abandon();
    }
}

/// Where the messages go.
enum Sink {
    /// Printed, as imaplib's example does.
    Stdout(std::io::Stdout),
    /// Saved on disk.
    Dir(Box<Output>),
}

/// Runs `imap fetch`.
pub fn run(args: &FetchArgs, conn: &Resolved) -> CliResult<()> {
    let mailbox = args
        .mailbox
        .clone()
        .or_else(|| conn.mailbox.clone())
        .ok_or_else(|| CliError::usage("name the mailbox to fetch: imap fetch MAILBOX"))?;
    if args.format.is_some() && args.out.is_none() {
        return Err(CliError::usage("--format needs --out DIR"));
    }
    if args.search.contains(['\r', '\n']) {
        return Err(CliError::usage("--search may not contain line breaks"));
    }
    let started = Instant::now();
    let mut m = conn.connect()?;
    conn.login(&mut m, true)?;
    let reply = m
        .select(&mailbox, true)
        .map_err(|e| CliError::imap(&format!("cannot open {mailbox}"), &e))?;
    if reply.typ != Status::Ok {
        return Err(refused(&format!("cannot open {mailbox}"), &reply.data));
    }
    let (_, validity) = m.response("UIDVALIDITY");
    let uidvalidity = validity
        .iter()
        .rev()
        .filter_map(|d| d.as_bytes())
        .find_map(|b| std::str::from_utf8(b).ok()?.trim().parse::<u64>().ok());

    let mut sink = match &args.out {
        None => Sink::Stdout(std::io::stdout()),
        Some(dir) => {
            let uidvalidity = uidvalidity.ok_or_else(|| {
                CliError::new(
                    Exit::Abort,
                    format!(
                        "the server sent no UIDVALIDITY for {mailbox}: downloads into a \
                         directory cannot be kept up to date"
                    ),
                )
            })?;
            let format = args.format.unwrap_or(Format::Maildir);
            let out = Output::open(dir, format, &mailbox, uidvalidity, &args.search)?;
            if out.truncated > 0 {
                eprintln!(
                    "imap: removed {} left by an interrupted run from {}",
                    human_bytes(out.truncated),
                    out.location().display()
                );
            }
            out.save()?;
            Sink::Dir(Box::new(out))
        }
    };
    let last_uid = match &sink {
        Sink::Dir(o) => o.last_uid,
        Sink::Stdout(_) => 0,
    };

    // Which messages.
    let criteria = if last_uid > 0 {
        format!("UID {}:* ({})", last_uid + 1, args.search)
    } else {
        args.search.clone()
    };
    let reply = m
        .uid("SEARCH", [criteria.as_str()])
        .map_err(|e| CliError::imap(&format!("cannot search {mailbox}"), &e))?;
    if reply.typ != Status::Ok {
        return Err(refused(&format!("cannot search {mailbox}"), &reply.data));
    }
    let mut uids: Vec<u64> = values::search_numbers(&reply.data)
        .map_err(|e| protocol("SEARCH data", e))?
        .into_iter()
        .filter(|&u| u > last_uid)
        .collect();
    uids.sort_unstable();
    uids.dedup();

    // How big they are, for the batches and the progress bar.
    let mut sizes = HashMap::new();
    for chunk in uids.chunks(SIZE_CHUNK) {
        let reply = m
            .uid("FETCH", [uid_set(chunk).as_str(), "(RFC822.SIZE)"])
            .map_err(|e| CliError::imap(&format!("cannot fetch from {mailbox}"), &e))?;
        if reply.typ != Status::Ok {
            return Err(refused(
                &format!("cannot fetch from {mailbox}"),
                &reply.data,
            ));
        }
        for f in values::fetches(&reply.data).map_err(|e| protocol("FETCH data", e))? {
            if let (Some(uid), Some(size)) = (f.uid(), f.get("RFC822.SIZE").and_then(Value::number))
            {
                sizes.insert(uid, size);
            }
        }
    }
    let total_bytes: u64 = uids.iter().filter_map(|u| sizes.get(u)).sum();
    // Messages printed on a terminal would be mixed with the bar.
    let hide =
        args.quiet || uids.is_empty() || (args.out.is_none() && std::io::stdout().is_terminal());
    let mut progress = Progress::new(uids.len() as u64, total_bytes, hide);

    let mut saved = 0u64;
    let mut present = 0u64;
    let mut gone = 0u64;
    let mut bytes = 0u64;
    for batch in batches(&uids, &sizes, args.batch as usize) {
        let result = fetch_batch(&mut m, &batch, &mut sink);
        match result {
            Ok(counts) => {
                saved += counts.saved;
                present += counts.present;
                gone += counts.gone;
                bytes += counts.bytes;
                progress.advance(
                    batch.len() as u64,
                    batch.iter().filter_map(|u| sizes.get(u)).sum(),
                );
            }
            Err(e) => {
                progress.abandon();
                let kept = match &sink {
                    Sink::Dir(o) => format!(
                        "; {} kept in {}, run again to resume",
                        count(saved, "new message"),
                        o.location().display()
                    ),
                    Sink::Stdout(_) => String::new(),
                };
                return Err(CliError::new(e.exit, format!("{}{kept}", e.message)));
            }
        }
    }
    progress.finish();
    let _ = m.close();
    let _ = m.logout();

    if !args.quiet {
        let elapsed = started.elapsed().as_secs_f64();
        let mut summary = match &sink {
            Sink::Dir(o) if saved == 0 && present == 0 => format!(
                "{mailbox}: no new messages in {elapsed:.1} s ({} is up to date)",
                o.location().display()
            ),
            Sink::Dir(o) => format!(
                "{mailbox}: {}, {} saved in {} ({}) in {elapsed:.1} s",
                count(saved, "new message"),
                human_bytes(bytes),
                o.location().display(),
                args.format.unwrap_or(Format::Maildir).name_for_humans(),
            ),
            Sink::Stdout(_) => format!(
                "{mailbox}: {}, {} in {elapsed:.1} s",
                count(saved, "message"),
                human_bytes(bytes)
            ),
        };
        if present > 0 {
            summary.push_str(&format!("; {present} already there"));
        }
        if gone > 0 {
            summary.push_str(&format!("; {gone} deleted meanwhile"));
        }
        if let Sink::Dir(o) = &sink {
            summary.push_str(&format!("; last UID {}", o.last_uid));
        }
        match &sink {
            Sink::Dir(_) => print_out(&format!("{summary}\n"))?,
            Sink::Stdout(_) => eprintln!("{summary}"),
        }
    }
    Ok(())
}

impl Format {
    /// The format's name in the summary line.
    fn name_for_humans(self) -> &'static str {
        match self {
            Format::Maildir => "Maildir",
            Format::Mbox => "mbox",
            Format::Eml => ".eml files",
        }
    }
}

#[derive(Default)]
struct Counts {
    saved: u64,
    present: u64,
    gone: u64,
    bytes: u64,
}

/// Fetches one batch and saves it, then records it as done.
fn fetch_batch(m: &mut Imap4, batch: &[u64], sink: &mut Sink) -> CliResult<Counts> {
    let set = uid_set(batch);
    let reply = m
        .uid(
            "FETCH",
            [set.as_str(), "(UID FLAGS INTERNALDATE BODY.PEEK[])"],
        )
        .map_err(|e| {
            let what = if e.is_abort() {
                "connection lost while fetching"
            } else {
                "cannot fetch"
            };
            CliError::imap(what, &e)
        })?;
    if reply.typ != Status::Ok {
        return Err(refused("cannot fetch", &reply.data));
    }
    let mut by_uid = HashMap::new();
    for f in values::fetches(&reply.data).map_err(|e| protocol("FETCH data", e))? {
        let Some(uid) = f.uid() else { continue };
        let body = match f.get("BODY[]") {
            Some(Value::Str(b)) => b.clone(),
            Some(Value::Nil) => bytes::Bytes::new(),
            _ => continue, // a flag update, not our data
        };
        let date = f
            .get("INTERNALDATE")
            .and_then(Value::bytes)
            .and_then(|d| parse_internaldate(d));
        by_uid.insert(
            uid,
            (
                f.seq,
                Message {
                    uid,
                    flags: f.flags(),
                    date,
                    body,
                },
            ),
        );
    }
    let mut counts = Counts::default();
    for uid in batch {
        let Some((seq, msg)) = by_uid.remove(uid) else {
            counts.gone += 1;
            continue;
        };
        let written = match sink {
            Sink::Stdout(out) => {
                let mut out = out.lock();
                out.write_all(format!("Message {seq}\n").as_bytes())
                    .and_then(|_| out.write_all(&msg.body))
                    .and_then(|_| out.write_all(b"\n"))
                    .map_err(output_error)?;
                true
            }
            Sink::Dir(o) => o.write(&msg)?,
        };
        if written {
            counts.saved += 1;
            counts.bytes += msg.body.len() as u64;
        } else {
            counts.present += 1;
        }
    }
    match sink {
        Sink::Dir(o) => o.commit(batch.last().copied().unwrap_or(0))?,
        Sink::Stdout(out) => out.lock().flush().map_err(output_error)?,
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[4]), "4");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn batches_by_count_and_bytes() {
        let uids: Vec<u64> = (1..=5).collect();
        let mut sizes = HashMap::new();
        assert_eq!(batches(&uids, &sizes, 2), [vec![1, 2], vec![3, 4], vec![5]]);
        sizes.insert(2, BATCH_BYTES + 1);
        assert_eq!(
            batches(&uids, &sizes, 10),
            [vec![1], vec![2], vec![3, 4, 5]]
        );
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
