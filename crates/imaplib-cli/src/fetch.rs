//! `imap fetch MAILBOX`: download messages, in batches, to stdout or to a
//! Maildir, an mbox or `.eml` files, picking up where the last run stopped.

use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal as _, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use imaplib::types::{decode_data, split_responses, Fetch, FetchItem, SequenceSet, Untagged};
use imaplib::{Data, Imap4, Query, Status, Streamed};
use indicatif::{ProgressBar, ProgressStyle};

use crate::connect::Resolved;
use crate::exit::{output_error, print_out, CliError, CliResult, Exit};
use crate::store::{Format, Incoming, MessageInfo, Output};

/// Messages asked for in one FETCH at most (`--batch`).
const DEFAULT_BATCH: u64 = 100;
/// Bytes asked for in one FETCH at most (unless one message is larger).
const BATCH_BYTES: u64 = 8 * 1024 * 1024;
/// UIDs per `UID FETCH (RFC822.SIZE)` command.
const SIZE_CHUNK: usize = 2000;
/// What each batch asks for.
const BATCH_ITEMS: &str = "(UID FLAGS INTERNALDATE BODY.PEEK[])";
/// The largest literal kept in memory for an item other than the message
/// (a server may send any string as a literal); message bodies go to files.
const MAX_KEPT_LITERAL: u64 = 1024 * 1024;

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
    /// FROM alice' or 'SUBJECT Grüße'; words in any language work (the
    /// charset is chosen by itself).
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

/// Progress shown on a terminal: messages done and bytes received.
struct Progress {
    bar: ProgressBar,
    total: u64,
    done: u64,
    position: u64,
    /// Where the current batch ends (messages, bytes): what arrives is
    /// counted up to there, whatever the server sends.
    batch_end: (u64, u64),
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
            position: 0,
            batch_end: (0, 0),
        };
        p.bar.set_message(format!("0/{total_msgs} messages"));
        p
    }

    /// A batch of `msgs` messages and (as announced) `bytes` bytes begins.
    fn start_batch(&mut self, msgs: u64, bytes: u64) {
        self.batch_end = (self.done + msgs, self.position + bytes);
    }

    /// Counts bytes as they arrive.
    fn bytes(&mut self, n: u64) {
        let position = (self.position + n).min(self.batch_end.1);
        if position != self.position {
            self.position = position;
            self.bar.set_position(position);
        }
    }

    /// Counts one message done.
    fn message(&mut self) {
        if self.done < self.batch_end.0 {
            self.done += 1;
            self.show_count();
        }
    }

    /// The batch is done: every message of it counted (also those skipped
    /// or gone) and its announced size.
    fn end_batch(&mut self) {
        (self.done, self.position) = self.batch_end;
        self.bar.set_position(self.position);
        self.show_count();
    }

    /// `3/10 messages`.
    fn show_count(&self) {
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
    // Parsed here, so that the charset is chosen by the words' content.
    let query = Query::parse(&args.search)
        .map_err(|e| CliError::usage(format!("--search: {}", e.message())))?;
    let started = Instant::now();
    let mut m = conn.connect()?;
    conn.login(&mut m, true)?;
    let uidvalidity = m
        .select_typed(&mailbox, true)
        .map_err(|e| CliError::imap(&format!("cannot open {mailbox}"), &e))?
        .uid_validity
        .map(u64::from);

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
    let query = if last_uid > 0 {
        let newer = SequenceSet::parse(format!("{}:*", last_uid + 1).as_bytes())
            .map_err(|_| CliError::local(format!("bad last UID {last_uid} in the saved state")))?;
        Query::uid(newer).and(query)
    } else {
        query
    };
    let found = m
        .uid_search_query(&query)
        .map_err(|e| CliError::imap(&format!("cannot search {mailbox}"), &e))?;
    let mut uids: Vec<u64> = found
        .ids
        .into_iter()
        .map(u64::from)
        .filter(|&u| u > last_uid)
        .collect();
    uids.sort_unstable();
    uids.dedup();

    // How big they are, for the batches and the progress bar.
    let mut sizes = HashMap::new();
    for chunk in uids.chunks(SIZE_CHUNK) {
        let fetched = m
            .uid_fetch_typed(uid_set(chunk), "(RFC822.SIZE)")
            .map_err(|e| CliError::imap(&format!("cannot fetch from {mailbox}"), &e))?;
        for f in fetched {
            let size = f.rfc822_size();
            if let (Some(uid), Some(size)) = (f.uid(), size) {
                sizes.insert(u64::from(uid), size);
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
        progress.start_batch(
            batch.len() as u64,
            batch.iter().filter_map(|u| sizes.get(u)).sum(),
        );
        let result = fetch_batch(&mut m, &batch, &mut sink, &mut progress);
        match result {
            Ok(counts) => {
                saved += counts.saved;
                present += counts.present;
                gone += counts.gone;
                bytes += counts.bytes;
                progress.end_batch();
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
            Sink::Dir(_) => print_out(&format!("{}\n", crate::term::safe(&summary)))?,
            Sink::Stdout(_) => eprintln!("{}", crate::term::safe(&summary)),
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

/// What one batch did.
#[derive(Default)]
struct Counts {
    saved: u64,
    present: u64,
    gone: u64,
    bytes: u64,
}

/// Where a streamed literal goes.
enum Target {
    /// A message on its way to a temporary file.
    File(Incoming),
    /// A message printed as it arrives.
    Printed,
    /// Another item's literal (small), kept to be decoded with its
    /// response.
    Kept(Vec<u8>),
}

/// One streamed literal.
struct Literal {
    target: Target,
    size: u64,
    received: u64,
}

/// The state of one batch while its literals arrive.
struct Receiving<'a> {
    sink: &'a mut Sink,
    progress: &'a mut Progress,
    /// Every literal so far, in order.
    literals: Vec<Literal>,
    /// The sequence number of the FETCH response being received.
    seq: Option<u32>,
    /// Why receiving stopped (a file or stdout could not be written).
    failure: Option<CliError>,
}

impl Receiving<'_> {
    /// Takes the next piece of a streamed literal.
    fn piece(&mut self, piece: Streamed<'_>) -> CliResult<()> {
        match piece {
            Streamed::Start { line, size } => {
                if line.starts_with(b"*") {
                    self.seq = response_number(line);
                }
                let target = if announces_message(line) {
                    match &mut *self.sink {
                        Sink::Dir(o) => Target::File(o.begin()?),
                        Sink::Stdout(out) => {
                            let seq = self.seq.map_or_else(|| "?".to_string(), |n| n.to_string());
                            out.write_all(format!("Message {seq}\n").as_bytes())
                                .map_err(output_error)?;
                            Target::Printed
                        }
                    }
                } else if size <= MAX_KEPT_LITERAL {
                    Target::Kept(Vec::new())
                } else {
                    return Err(protocol(
                        "FETCH data",
                        format!(
                            "a {size}-byte literal for an item other than the message: {:?}",
                            imaplib::imaplib_proto::Printable(line)
                        ),
                    ));
                };
                self.literals.push(Literal {
                    target,
                    size,
                    received: 0,
                });
            }
            Streamed::Data(data) => {
                let Some(lit) = self.literals.last_mut() else {
                    return Err(protocol(
                        "FETCH data",
                        "literal bytes before a literal".into(),
                    ));
                };
                lit.received += data.len() as u64;
                match &mut lit.target {
                    Target::Kept(kept) => {
                        kept.extend_from_slice(data);
                        return Ok(());
                    }
                    Target::File(incoming) => incoming.write(data)?,
                    Target::Printed => {
                        if let Sink::Stdout(out) = &mut *self.sink {
                            out.write_all(data).map_err(output_error)?;
                        }
                    }
                }
                self.progress.bytes(data.len() as u64);
                if lit.received == lit.size {
                    if let (Target::Printed, Sink::Stdout(out)) = (&lit.target, &mut *self.sink) {
                        out.write_all(b"\n").map_err(output_error)?;
                    }
                    self.progress.message();
                }
            }
        }
        Ok(())
    }
}

/// The number of an untagged response line (`* 12 FETCH (...`).
fn response_number(line: &[u8]) -> Option<u32> {
    let rest = line.strip_prefix(b"*")?.trim_ascii_start();
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// True when the literal announced at the end of `line` is the whole
/// message (`... BODY[] {N}`).
fn announces_message(line: &[u8]) -> bool {
    let Some(open) = line.iter().rposition(|&b| b == b'{') else {
        return false;
    };
    let head = &line[..open];
    let head = head.strip_suffix(b"~").unwrap_or(head).trim_ascii_end();
    head.len() >= 6 && head[head.len() - 6..].eq_ignore_ascii_case(b"BODY[]")
}

/// The size a literal's header announces (`... {N}`, `{N+}`, `~{N}`).
fn announced_size(header: &[u8]) -> Option<u64> {
    let inner = header.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The message of one FETCH response.
enum Body {
    /// Streamed to a file or stdout while it arrived.
    Streamed(Literal),
    /// Sent without a literal (a quoted string, an empty literal or NIL).
    Inline(Bytes),
}

/// Puts each response's streamed literals back with it (the reply holds
/// empty literals in their place) and decodes it: the FETCH and its
/// message, if it carried one.
fn match_literals(data: &[Data], literals: Vec<Literal>) -> CliResult<Vec<(Fetch, Option<Body>)>> {
    let mut literals = literals.into_iter();
    let mut out = Vec::new();
    for resp in split_responses(data) {
        let mut items = Vec::with_capacity(resp.len());
        let mut body = None;
        for item in resp {
            match item {
                Data::Literal { header, literal }
                    if literal.is_empty() && announced_size(header).is_some_and(|n| n > 0) =>
                {
                    let lit = literals.next().ok_or_else(|| {
                        protocol("FETCH data", "more literals announced than received".into())
                    })?;
                    match lit.target {
                        Target::Kept(kept) => items.push(Data::Literal {
                            header: header.clone(),
                            literal: Bytes::from(kept),
                        }),
                        _ => {
                            items.push(item.clone());
                            body = Some(Body::Streamed(lit));
                        }
                    }
                }
                other => items.push(other.clone()),
            }
        }
        let decoded = decode_data("FETCH", &items).into_iter().next();
        let fetch = match decoded {
            Some(Ok(Untagged::Fetch(f))) => f,
            Some(Err(e)) if body.is_some() => {
                return Err(protocol("FETCH data", e.reason));
            }
            _ => continue,
        };
        if body.is_none() {
            body = fetch.to_items().into_iter().find_map(|i| match i {
                FetchItem::BodySection {
                    section,
                    origin: None,
                    data,
                } if section.part.is_empty() && section.text.is_none() => {
                    Some(Body::Inline(data.unwrap_or_default()))
                }
                _ => None,
            });
        }
        out.push((fetch, body));
    }
    Ok(out)
}

/// Downloads one batch, then records it as done. A message the server
/// still has but did not identify (a FETCH without its UID) is asked for
/// again once; if it still cannot be stored, the saved state stops below
/// it and the run fails naming it, so that no later run skips it.
fn fetch_batch(
    m: &mut Imap4,
    batch: &[u64],
    sink: &mut Sink,
    progress: &mut Progress,
) -> CliResult<Counts> {
    let mut counts = Counts::default();
    // Messages an interrupted run saved without recording them.
    let wanted: Vec<u64> = match &*sink {
        Sink::Dir(o) => batch.iter().copied().filter(|&u| !o.has(u)).collect(),
        Sink::Stdout(_) => batch.to_vec(),
    };
    counts.present = (batch.len() - wanted.len()) as u64;
    // Fetched once, and what the answer left out that the mailbox still
    // holds asked for once more (a printed message cannot be taken back).
    let attempts = if matches!(sink, Sink::Dir(_)) { 2 } else { 1 };
    let mut missing = wanted;
    for _ in 0..attempts {
        if missing.is_empty() {
            break;
        }
        missing = fetch_uids(m, &missing, sink, progress, &mut counts)?;
        if !missing.is_empty() {
            let there = still_there(m, &missing)?;
            counts.gone += (missing.len() - there.len()) as u64;
            missing = there;
        }
    }
    let done_up_to = match missing.first() {
        Some(&first) => first - 1,
        None => batch.last().copied().unwrap_or(0),
    };
    match sink {
        Sink::Dir(o) => o.commit(done_up_to)?,
        Sink::Stdout(out) => out.lock().flush().map_err(output_error)?,
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(u64::to_string).collect();
        let (uids, verb) = match missing.len() {
            1 => (format!("the message of UID {}", list[0]), "is"),
            _ => (format!("the messages of UIDs {}", list.join(", ")), "are"),
        };
        let what = match sink {
            Sink::Dir(_) => format!(
                "not saved (asked for twice); everything before UID {} is recorded, run again \
                 to retry",
                missing[0]
            ),
            Sink::Stdout(_) => "not identified in the output".to_string(),
        };
        return Err(protocol(
            "FETCH data",
            format!("{uids} came without its UID and {verb} {what}"),
        ));
    }
    Ok(counts)
}

/// Of `uids`, those the mailbox still holds.
fn still_there(m: &mut Imap4, uids: &[u64]) -> CliResult<Vec<u64>> {
    let found = m
        .uid_search_typed([format!("UID {}", uid_set(uids))])
        .map_err(|e| CliError::imap("cannot search", &e))?;
    let found: HashSet<u64> = found.ids.into_iter().map(u64::from).collect();
    Ok(uids.iter().copied().filter(|u| found.contains(u)).collect())
}

/// One UID FETCH of the messages `wanted`, each stored as it arrives;
/// adds to `counts` and returns the UIDs the answer did not identify (in
/// order), whether expunged meanwhile or sent without their UID.
fn fetch_uids(
    m: &mut Imap4,
    wanted: &[u64],
    sink: &mut Sink,
    progress: &mut Progress,
    counts: &mut Counts,
) -> CliResult<Vec<u64>> {
    let mut rx = Receiving {
        sink: &mut *sink,
        progress: &mut *progress,
        literals: Vec::new(),
        seq: None,
        failure: None,
    };
    let result = m.fetch_streamed(true, uid_set(wanted), BATCH_ITEMS, |piece| {
        match rx.piece(piece) {
            Ok(()) => Ok(()),
            Err(e) => {
                let text = e.message.clone();
                rx.failure = Some(e);
                Err(std::io::Error::other(text))
            }
        }
    });
    let reply = match result {
        Ok(reply) => reply,
        Err(e) => {
            if let Some(failure) = rx.failure.take() {
                return Err(failure);
            }
            let what = if e.is_abort() {
                "connection lost while fetching"
            } else {
                "cannot fetch"
            };
            return Err(CliError::imap(what, &e));
        }
    };
    if reply.typ != Status::Ok {
        return Err(refused("cannot fetch", &reply.data));
    }
    let literals = rx.literals;
    let wanted_set: HashSet<u64> = wanted.iter().copied().collect();
    let mut handled = HashSet::new();
    for (fetch, body) in match_literals(&reply.data, literals)? {
        // A FETCH without the message is a flag update, not our data; one
        // with the message but no UID cannot be stored (its file, if any,
        // is removed when `body` is dropped).
        let (Some(uid), Some(body)) = (fetch.uid().map(u64::from), body) else {
            continue;
        };
        if !wanted_set.contains(&uid) || !handled.insert(uid) {
            continue;
        }
        let info = MessageInfo {
            uid,
            flags: fetch.flags().map(|l| l.to_vec()).unwrap_or_default(),
            date: fetch.internal_date(),
        };
        let (written, size) = match (body, &mut *sink) {
            (
                Body::Streamed(Literal {
                    target: Target::File(incoming),
                    ..
                }),
                Sink::Dir(o),
            ) => {
                let size = incoming.received;
                (o.finish(incoming, &info)?, size)
            }
            (Body::Streamed(lit), _) => (true, lit.received),
            (Body::Inline(data), sink) => {
                progress.bytes(data.len() as u64);
                progress.message();
                let written = match sink {
                    Sink::Dir(o) => o.write(&info, &data)?,
                    Sink::Stdout(out) => {
                        out.write_all(format!("Message {}\n", fetch.seq()).as_bytes())
                            .and_then(|_| out.write_all(&data))
                            .and_then(|_| out.write_all(b"\n"))
                            .map_err(output_error)?;
                        true
                    }
                };
                (written, data.len() as u64)
            }
        };
        if written {
            counts.saved += 1;
            counts.bytes += size;
        } else {
            counts.present += 1;
        }
    }
    Ok(wanted
        .iter()
        .copied()
        .filter(|u| !handled.contains(u))
        .collect())
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
    fn progress_counts_bytes_and_messages_as_they_come() {
        let mut p = Progress::new(5, 500, true);
        p.start_batch(3, 300);
        p.bytes(40);
        p.bytes(60);
        p.message();
        assert_eq!((p.done, p.bar.position()), (1, 100));
        // More than the batch announced (sizes that differ, messages not
        // asked for) stays within the batch.
        p.bytes(1000);
        for _ in 0..5 {
            p.message();
        }
        assert_eq!((p.done, p.bar.position()), (3, 300));
        // The end of a batch with a message gone counts it too.
        p.start_batch(2, 200);
        p.bytes(50);
        p.message();
        p.end_batch();
        assert_eq!((p.done, p.position, p.bar.position()), (5, 500, 500));
    }

    fn lit(header: &'static str) -> Data {
        Data::Literal {
            header: Bytes::from_static(header.as_bytes()),
            literal: Bytes::new(),
        }
    }

    fn kept(data: &str) -> Literal {
        Literal {
            target: Target::Kept(data.as_bytes().to_vec()),
            size: data.len() as u64,
            received: data.len() as u64,
        }
    }

    #[test]
    fn streamed_literals_go_back_to_their_responses() {
        let printed = Literal {
            target: Target::Printed,
            size: 5,
            received: 5,
        };
        let data = vec![
            lit("1 (UID 4 INTERNALDATE {26}"),
            lit(" BODY[] {5}"),
            Data::from(" FLAGS (\\Seen))"),
            Data::from("1 (FLAGS (\\Seen \\Flagged))"),
            Data::from("2 (UID 5 BODY[] \"hi\")"),
            // An empty literal is not streamed.
            lit("3 (UID 6 BODY[] {0}"),
            Data::from(")"),
        ];
        let literals = vec![kept("02-Jan-2024 03:04:05 +0100"), printed];
        let got = match_literals(&data, literals).unwrap();
        assert_eq!(got.len(), 4);
        let (f, body) = &got[0];
        assert_eq!(f.uid(), Some(4));
        assert_eq!(
            f.flags().map(|l| l.to_vec()),
            Some(vec!["\\Seen".to_string()])
        );
        assert_eq!(
            f.internal_date().map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-01-02T03:04:05+01:00")
        );
        assert!(matches!(
            body,
            Some(Body::Streamed(Literal {
                target: Target::Printed,
                ..
            }))
        ));
        assert!(got[1].1.is_none(), "a flag update has no message");
        assert!(matches!(&got[2].1, Some(Body::Inline(b)) if b == "hi"));
        assert!(matches!(&got[3].1, Some(Body::Inline(b)) if b.is_empty()));

        // More literals announced than received: out of step.
        let e = match_literals(&data, vec![kept("02-Jan-2024 03:04:05 +0100")])
            .err()
            .unwrap();
        assert_eq!(e.exit, Exit::Abort);
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
