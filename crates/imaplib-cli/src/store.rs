//! Where `imap fetch --out DIR` puts messages (Maildir, mbox or one `.eml`
//! file per message) and how it remembers what it already has.
//!
//! Each message is written, as its bytes arrive, to a temporary file
//! ([`Incoming`]) that is renamed into place once complete, so an
//! interrupted run never leaves half a message and no message is ever held
//! in memory whole; an mbox is appended to (from the temporary file), and
//! cut back on the next run to the length recorded after the last complete
//! batch. The state file `DIR/.imap-fetch.json` records,
//! per mailbox, the UIDVALIDITY and the highest UID saved; it is replaced
//! atomically after each batch.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Utc};
use clap::ValueEnum;
use serde_json::{json, Map, Value};

use crate::exit::{CliError, CliResult, Exit};

/// The state file's name inside the output directory.
pub const STATE_FILE: &str = ".imap-fetch.json";

/// How temporary files begin (in `tmp/` for a Maildir; with a leading dot
/// in the directory for `.eml` files and mbox).
const TEMP_PREFIX: &str = "imap-fetch.";

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A Maildir (`cur/`, `new/`, `tmp/`), flags in the file names.
    Maildir,
    /// One mbox file (mboxrd quoting) named after the mailbox.
    Mbox,
    /// One `UID.eml` file per message, bytes exactly as the server sent.
    Eml,
}

impl Format {
    /// The name used by `--format` and in the state file.
    fn name(self) -> &'static str {
        match self {
            Format::Maildir => "maildir",
            Format::Mbox => "mbox",
            Format::Eml => "eml",
        }
    }
}

/// What is known of a downloaded message besides its bytes.
#[derive(Debug, Clone)]
pub struct MessageInfo {
    /// Its UID.
    pub uid: u64,
    /// Its flags (`\Seen`...).
    pub flags: Vec<String>,
    /// Its INTERNALDATE, when the server sent a valid one.
    pub date: Option<DateTime<FixedOffset>>,
}

/// A message being received: its bytes go to a temporary file as they
/// arrive (line ends converted, and `From ` lines quoted for an mbox, on
/// the way). Dropped before [`Output::finish`], it removes its file.
pub struct Incoming {
    /// The temporary file (`None` once handed over).
    tmp: Option<PathBuf>,
    file: BufWriter<File>,
    filter: Filter,
    /// Scratch space for the filtered bytes of one piece.
    scratch: Vec<u8>,
    /// The last byte written to the file.
    last: Option<u8>,
    /// Bytes received (before filtering).
    pub received: u64,
}

impl Incoming {
    /// Appends the next bytes of the message.
    pub fn write(&mut self, data: &[u8]) -> CliResult<()> {
        self.received += data.len() as u64;
        self.scratch.clear();
        self.filter.push(data, &mut self.scratch);
        self.put_scratch()
    }

    /// Writes what the filter produced to the file.
    fn put_scratch(&mut self) -> CliResult<()> {
        if let Some(&b) = self.scratch.last() {
            self.last = Some(b);
        }
        let r = self.file.write_all(&self.scratch);
        r.map_err(|e| self.error(e))
    }

    /// A write failure naming the temporary file.
    fn error(&self, e: io::Error) -> CliError {
        match &self.tmp {
            Some(p) => io_err("write", p, e),
            None => CliError::local(format!("cannot write a message: {e}")),
        }
    }

    /// Writes what the filter holds back and closes the file, setting its
    /// modification time; returns the temporary file's path.
    fn close(mut self, mtime: Option<DateTime<FixedOffset>>) -> CliResult<PathBuf> {
        self.scratch.clear();
        self.filter.finish(&mut self.scratch);
        self.put_scratch()?;
        let r = self.file.flush();
        r.map_err(|e| self.error(e))?;
        if let Some(t) = mtime.and_then(system_time) {
            let _ = self.file.get_ref().set_modified(t);
        }
        self.tmp
            .take()
            .ok_or_else(|| CliError::local("a message was closed twice"))
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if let Some(p) = self.tmp.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// A time for file systems (none before 1970).
fn system_time(t: DateTime<FixedOffset>) -> Option<std::time::SystemTime> {
    u64::try_from(t.timestamp())
        .ok()
        .map(|s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s))
}

/// Turns a message's bytes as they arrive into the bytes stored: CRLF line
/// ends become LF (Maildir, mbox) and, for an mbox, lines matching
/// `>*From ` get one more `>` (mboxrd). State carries across pieces, so a
/// CR LF or a `From ` split between two pieces is seen whole; at most five
/// bytes are held back.
#[derive(Debug, Default)]
struct Filter {
    /// Convert CRLF to LF.
    to_lf: bool,
    /// Quote `From ` lines.
    quote_from: bool,
    /// A CR was seen and the next byte decides whether it is kept.
    pending_cr: bool,
    /// After the leading `>`s of a line, bytes that may begin `From `.
    head: Vec<u8>,
    /// At the start of a line (after any leading `>`s) and undecided.
    deciding: bool,
}

impl Filter {
    /// A filter for `format`.
    fn new(format: Format) -> Filter {
        Filter {
            to_lf: format != Format::Eml,
            quote_from: format == Format::Mbox,
            deciding: true,
            ..Filter::default()
        }
    }

    /// Filters the next piece into `out`.
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if !self.to_lf && !self.quote_from {
            out.extend_from_slice(input);
            return;
        }
        for &b in input {
            if self.pending_cr {
                self.pending_cr = false;
                if b == b'\n' {
                    self.emit(b'\n', out);
                    continue;
                }
                self.emit(b'\r', out);
            }
            if b == b'\r' && self.to_lf {
                self.pending_cr = true;
                continue;
            }
            self.emit(b, out);
        }
    }

    /// Writes what is held back, at the end of the message.
    fn finish(&mut self, out: &mut Vec<u8>) {
        if std::mem::take(&mut self.pending_cr) {
            self.emit(b'\r', out);
        }
        out.append(&mut self.head);
    }

    /// One byte of a line.
    fn emit(&mut self, c: u8, out: &mut Vec<u8>) {
        const FROM: &[u8] = b"From ";
        if !self.quote_from || !self.deciding {
            out.push(c);
            if c == b'\n' {
                self.deciding = true;
            }
            return;
        }
        if self.head.is_empty() && c == b'>' {
            // `>>From ` and `>` + `>From ` are the same bytes: the quoting
            // `>` can go after the ones already there.
            out.push(c);
            return;
        }
        self.head.push(c);
        if self.head == FROM {
            out.push(b'>');
            out.append(&mut self.head);
            self.deciding = false;
        } else if !FROM.starts_with(&self.head) {
            out.append(&mut self.head);
            self.deciding = c == b'\n';
        }
    }
}

/// An output directory opened for one mailbox.
pub struct Output {
    dir: PathBuf,
    format: Format,
    mailbox: String,
    uidvalidity: u64,
    state: Map<String, Value>,
    /// UIDs already on disk (Maildir and eml), for runs interrupted between
    /// writing a message and recording it.
    present: HashSet<u64>,
    mbox: Option<(PathBuf, File)>,
    host: String,
    /// Temporary files made so far (for their names).
    counter: u64,
    /// The highest UID saved so far.
    pub last_uid: u64,
    /// Bytes of an interrupted run cut off an mbox when it was opened.
    pub truncated: u64,
}

/// A file error as a local failure naming the file.
fn io_err(what: &str, path: &Path, e: io::Error) -> CliError {
    CliError::local(format!("cannot {what} {}: {e}", path.display()))
}

impl Output {
    /// Opens (creating if needed) `dir` for `mailbox`. Fails with exit
    /// status 7, touching nothing, when the mailbox's UIDVALIDITY differs
    /// from the one recorded.
    pub fn open(
        dir: &Path,
        format: Format,
        mailbox: &str,
        uidvalidity: u64,
        search: &str,
    ) -> CliResult<Output> {
        let state_path = dir.join(STATE_FILE);
        let mut state = match fs::read(&state_path) {
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => m,
                _ => {
                    return Err(CliError::local(format!(
                        "{} is not a state file this tool wrote; move it away to start over",
                        state_path.display()
                    )))
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(io_err("read", &state_path, e)),
        };
        if let Some(f) = state.get("format").and_then(Value::as_str) {
            if f != format.name() {
                return Err(CliError::usage(format!(
                    "{} holds a {f} download: use --format {f}, or another --out",
                    dir.display()
                )));
            }
        }
        let entry = state
            .get("mailboxes")
            .and_then(|m| m.get(mailbox))
            .cloned()
            .unwrap_or(Value::Null);
        let mut last_uid = 0;
        let mut mbox_length = 0;
        if let Some(recorded) = entry.get("uidvalidity").and_then(Value::as_u64) {
            if recorded != uidvalidity {
                return Err(CliError::new(
                    Exit::UidValidity,
                    format!(
                        "the UIDVALIDITY of {mailbox} changed from {recorded} to {uidvalidity} \
                         since the last run: the server renumbered its messages, so {} cannot \
                         be brought up to date; nothing was written (move it away, or use \
                         another --out, to download the mailbox again)",
                        dir.display()
                    ),
                ));
            }
            last_uid = entry.get("last_uid").and_then(Value::as_u64).unwrap_or(0);
            mbox_length = entry
                .get("mbox_length")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            if let Some(old) = entry.get("search").and_then(Value::as_str) {
                if old != search {
                    eprintln!(
                        "imap: warning: --search differs from the last run's ({old:?}); \
                         only messages after UID {last_uid} are considered"
                    );
                }
            }
        }
        fs::create_dir_all(dir).map_err(|e| io_err("create", dir, e))?;
        let mut out = Output {
            dir: dir.to_path_buf(),
            format,
            mailbox: mailbox.to_string(),
            uidvalidity,
            state: Map::new(),
            present: HashSet::new(),
            mbox: None,
            host: imaplib_sync::maildir::host().to_string(),
            counter: 0,
            last_uid,
            truncated: 0,
        };
        match format {
            Format::Maildir => {
                for sub in ["cur", "new", "tmp"] {
                    let p = dir.join(sub);
                    fs::create_dir_all(&p).map_err(|e| io_err("create", &p, e))?;
                }
                out.remove_stale(&dir.join("tmp"), TEMP_PREFIX)?;
                let marker = format!(".V{uidvalidity}U");
                for sub in ["cur", "new"] {
                    out.scan(&dir.join(sub), |name| {
                        let rest = &name[name.find(&marker)? + marker.len()..];
                        rest[..rest.find('.')?].parse().ok()
                    })?;
                }
            }
            Format::Eml => {
                out.remove_stale(dir, &format!(".{TEMP_PREFIX}"))?;
                out.scan(dir, |name| name.strip_suffix(".eml")?.parse().ok())?;
            }
            Format::Mbox => {
                out.remove_stale(dir, &format!(".{TEMP_PREFIX}"))?;
                let path = dir.join(format!("{}.mbox", file_name(mailbox)));
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| io_err("open", &path, e))?;
                let len = file.metadata().map_err(|e| io_err("read", &path, e))?.len();
                if len < mbox_length {
                    return Err(CliError::local(format!(
                        "{} is shorter than the last run left it ({len} < {mbox_length} \
                         bytes); remove {} to download everything again",
                        path.display(),
                        state_path.display()
                    )));
                }
                if len > mbox_length {
                    // The tail of an interrupted run: cut it off.
                    file.set_len(mbox_length)
                        .map_err(|e| io_err("truncate", &path, e))?;
                    out.truncated = len - mbox_length;
                }
                out.mbox = Some((path, file));
            }
        }
        state.insert("format".into(), Value::String(format.name().into()));
        let mut mailboxes = state
            .get("mailboxes")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut this = entry.as_object().cloned().unwrap_or_default();
        this.insert("uidvalidity".into(), json!(uidvalidity));
        this.insert("last_uid".into(), json!(last_uid));
        this.insert("search".into(), json!(search));
        if format == Format::Mbox {
            this.insert("mbox_length".into(), json!(mbox_length));
        }
        mailboxes.insert(mailbox.to_string(), Value::Object(this));
        state.insert("mailboxes".into(), Value::Object(mailboxes));
        out.state = state;
        Ok(out)
    }

    /// Where the messages go, for messages to the user.
    pub fn location(&self) -> PathBuf {
        match &self.mbox {
            Some((p, _)) => p.clone(),
            None => self.dir.clone(),
        }
    }

    /// Removes temporary files an interrupted run left in `dir` (never the
    /// state file).
    fn remove_stale(&self, dir: &Path, prefix: &str) -> CliResult<()> {
        let entries = fs::read_dir(dir).map_err(|e| io_err("read", dir, e))?;
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(prefix) && name != STATE_FILE {
                let _ = fs::remove_file(e.path());
            }
        }
        Ok(())
    }

    /// Notes the UIDs of the messages already in `dir`.
    fn scan(&mut self, dir: &Path, uid_of: impl Fn(&str) -> Option<u64>) -> CliResult<()> {
        let entries = fs::read_dir(dir).map_err(|e| io_err("read", dir, e))?;
        for e in entries.flatten() {
            if let Some(uid) = uid_of(&e.file_name().to_string_lossy()) {
                self.present.insert(uid);
            }
        }
        Ok(())
    }

    /// True when the message with this UID is already saved (Maildir and
    /// `.eml` files, after a run interrupted between saving it and
    /// recording it).
    pub fn has(&self, uid: u64) -> bool {
        match self.format {
            Format::Maildir => self.present.contains(&uid),
            Format::Eml => {
                self.present.contains(&uid) || self.dir.join(format!("{uid}.eml")).exists()
            }
            Format::Mbox => false,
        }
    }

    /// Starts receiving a message into a new temporary file.
    pub fn begin(&mut self) -> CliResult<Incoming> {
        self.counter += 1;
        let name = format!("{TEMP_PREFIX}{}.{}", std::process::id(), self.counter);
        let tmp = match self.format {
            Format::Maildir => self.dir.join("tmp").join(name),
            Format::Eml | Format::Mbox => self.dir.join(format!(".{name}")),
        };
        let file = File::create(&tmp).map_err(|e| io_err("create", &tmp, e))?;
        Ok(Incoming {
            tmp: Some(tmp),
            file: BufWriter::with_capacity(64 * 1024, file),
            filter: Filter::new(self.format),
            scratch: Vec::new(),
            last: None,
            received: 0,
        })
    }

    /// Saves a message received whole into `incoming`: renames its file into
    /// place (Maildir, `.eml`) or appends it to the mbox. False (and the
    /// file removed) when the message was already there.
    pub fn finish(&mut self, incoming: Incoming, info: &MessageInfo) -> CliResult<bool> {
        if self.has(info.uid) {
            drop(incoming);
            return Ok(false);
        }
        let last = incoming.last;
        let tmp = incoming.close(info.date)?;
        let result = self.place(&tmp, last, info);
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Puts a complete temporary file where it belongs.
    fn place(&mut self, tmp: &Path, last: Option<u8>, info: &MessageInfo) -> CliResult<bool> {
        match self.format {
            Format::Maildir => {
                let secs = info
                    .date
                    .map(|d| d.timestamp())
                    .unwrap_or_else(|| Utc::now().timestamp())
                    .max(0);
                let name = format!(
                    "{secs}.V{}U{}.{}:2,{}",
                    self.uidvalidity,
                    info.uid,
                    self.host,
                    maildir_flags(&info.flags)
                );
                let dest = self.dir.join("cur").join(name);
                fs::rename(tmp, &dest).map_err(|e| io_err("write", &dest, e))?;
                self.present.insert(info.uid);
            }
            Format::Eml => {
                let dest = self.dir.join(format!("{}.eml", info.uid));
                fs::rename(tmp, &dest).map_err(|e| io_err("write", &dest, e))?;
                self.present.insert(info.uid);
            }
            Format::Mbox => {
                let Some((path, file)) = self.mbox.as_mut() else {
                    return Ok(false);
                };
                let when = info
                    .date
                    .map(|d| d.with_timezone(&Utc))
                    .unwrap_or_else(Utc::now);
                let from_line = format!(
                    "From MAILER-DAEMON {}\n",
                    when.format("%a %b %e %H:%M:%S %Y")
                );
                let ending: &[u8] = match last {
                    None | Some(b'\n') => b"\n",
                    Some(_) => b"\n\n",
                };
                let copied = (|| {
                    let mut src = File::open(tmp)?;
                    file.write_all(from_line.as_bytes())?;
                    io::copy(&mut src, file)?;
                    file.write_all(ending)
                })();
                copied.map_err(|e| io_err("write", path, e))?;
                let _ = fs::remove_file(tmp);
            }
        }
        Ok(true)
    }

    /// Saves a message whose bytes are all at hand (a small one the server
    /// sent without a literal); false when it was already there.
    pub fn write(&mut self, info: &MessageInfo, body: &[u8]) -> CliResult<bool> {
        if self.has(info.uid) {
            return Ok(false);
        }
        let mut incoming = self.begin()?;
        incoming.write(body)?;
        self.finish(incoming, info)
    }

    /// Records that everything up to `last_uid` is saved (after a batch).
    pub fn commit(&mut self, last_uid: u64) -> CliResult<()> {
        self.last_uid = self.last_uid.max(last_uid);
        let mut mbox_length = None;
        if let Some((path, file)) = &mut self.mbox {
            file.flush().map_err(|e| io_err("write", path, e))?;
            file.sync_data().map_err(|e| io_err("write", path, e))?;
            mbox_length = Some(file.metadata().map_err(|e| io_err("read", path, e))?.len());
        }
        if let Some(Value::Object(mailboxes)) = self.state.get_mut("mailboxes") {
            if let Some(Value::Object(this)) = mailboxes.get_mut(&self.mailbox) {
                this.insert("last_uid".into(), json!(self.last_uid));
                if let Some(len) = mbox_length {
                    this.insert("mbox_length".into(), json!(len));
                }
            }
        }
        self.save()
    }

    /// Writes the state file atomically.
    pub fn save(&self) -> CliResult<()> {
        let path = self.dir.join(STATE_FILE);
        let tmp = self.dir.join(format!("{STATE_FILE}.tmp"));
        let mut text = serde_json::to_vec_pretty(&Value::Object(self.state.clone()))
            .map_err(|e| CliError::local(format!("cannot encode the state: {e}")))?;
        text.push(b'\n');
        write_then_rename(&tmp, &path, &text)
    }
}

/// Writes `data` to `tmp`, then renames it to `dest` (never over an
/// existing file's content half-written).
fn write_then_rename(tmp: &Path, dest: &Path, data: &[u8]) -> CliResult<()> {
    let result = (|| {
        let mut f = File::create(tmp)?;
        f.write_all(data)?;
        drop(f);
        fs::rename(tmp, dest)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(tmp);
        io_err("write", dest, e)
    })
}

/// Maildir info letters for IMAP flags, in ASCII order (the mirror's
/// rules: `imap sync` names its files the same way).
fn maildir_flags(flags: &[String]) -> String {
    imaplib_sync::flags::letters(&imaplib_sync::flags::from_server(flags))
}

/// A mailbox name usable as a file name.
fn file_name(mailbox: &str) -> String {
    let s: String = mailbox
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '\0' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    match s.as_str() {
        "" | "." | ".." => format!("mailbox{s}"),
        _ if s.starts_with('.') => format!("_{}", &s[1..]),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(uid: u64) -> MessageInfo {
        MessageInfo {
            uid,
            flags: vec!["\\Seen".into(), "\\Answered".into(), "$X".into()],
            date: DateTime::parse_from_rfc3339("2024-01-02T03:04:05+01:00").ok(),
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("imap-cli-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    /// `input` through a filter for `format`, cut into pieces of `step`.
    fn filtered(format: Format, input: &[u8], step: usize) -> String {
        let mut f = Filter::new(format);
        let mut out = Vec::new();
        for piece in input.chunks(step) {
            f.push(piece, &mut out);
        }
        f.finish(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn filters_work_across_any_split() {
        let input = b"From: a\r\n\r\nFrom here\r\n>From there\r\n>>From x\r\nFro\r\n\
            >Fr\r\nlone\rcr\r\nFrom\r\nend\r";
        for step in 1..=input.len() {
            assert_eq!(
                filtered(Format::Mbox, input, step),
                "From: a\n\n>From here\n>>From there\n>>>From x\nFro\n>Fr\nlone\rcr\nFrom\nend\r",
                "step {step}"
            );
            assert_eq!(
                filtered(Format::Maildir, input, step),
                String::from_utf8_lossy(input).replace("\r\n", "\n"),
                "step {step}"
            );
            assert_eq!(
                filtered(Format::Eml, input, step).as_bytes(),
                input,
                "step {step}"
            );
        }
        assert_eq!(filtered(Format::Mbox, b"From ", 1), ">From ");
        assert_eq!(filtered(Format::Mbox, b"", 1), "");
    }

    #[test]
    fn maildir_flag_letters() {
        assert_eq!(maildir_flags(&info(1).flags), "RS");
        assert_eq!(
            maildir_flags(&["\\Deleted".into(), "\\Draft".into(), "\\Flagged".into()]),
            "DFT"
        );
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name("INBOX"), "INBOX");
        assert_eq!(file_name("a/b"), "a_b");
        assert_eq!(file_name(".."), "mailbox..");
        assert_eq!(file_name(".hidden"), "_hidden");
    }

    #[test]
    fn maildir_state_and_uidvalidity() {
        let dir = temp_dir("maildir");
        let mut o = Output::open(&dir, Format::Maildir, "INBOX", 7, "ALL").unwrap();
        let mut incoming = o.begin().unwrap();
        incoming.write(b"a\r").unwrap();
        incoming.write(b"\nb\r\n").unwrap();
        assert_eq!(files(&dir.join("tmp")).len(), 1, "written as it arrives");
        assert!(o.finish(incoming, &info(3)).unwrap());
        assert!(!o.write(&info(3), b"again").unwrap());
        assert!(o.has(3) && !o.has(4));
        // A message abandoned half-way leaves nothing.
        let mut incoming = o.begin().unwrap();
        incoming.write(b"half").unwrap();
        drop(incoming);
        assert!(files(&dir.join("tmp")).is_empty());
        o.commit(3).unwrap();
        let names = files(&dir.join("cur"));
        assert_eq!(names.len(), 1);
        assert!(names[0].starts_with("1704161045.V7U3."), "{}", names[0]);
        assert!(names[0].ends_with(":2,RS"), "{}", names[0]);
        assert_eq!(
            fs::read(dir.join("cur").join(&names[0])).unwrap(),
            b"a\nb\n"
        );
        let o = Output::open(&dir, Format::Maildir, "INBOX", 7, "ALL").unwrap();
        assert_eq!(o.last_uid, 3);
        let e = Output::open(&dir, Format::Maildir, "INBOX", 8, "ALL")
            .err()
            .unwrap();
        assert_eq!(e.exit, Exit::UidValidity);
        let e = Output::open(&dir, Format::Mbox, "INBOX", 7, "ALL")
            .err()
            .unwrap();
        assert_eq!(e.exit, Exit::Usage);
        fs::remove_dir_all(&dir).unwrap();
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn eml_files_keep_exact_bytes_and_the_state_file() {
        let dir = temp_dir("eml");
        let o = Output::open(&dir, Format::Eml, "INBOX", 1, "ALL").unwrap();
        o.save().unwrap();
        // A temporary file left by an interrupted run goes; the state stays.
        fs::write(dir.join(".imap-fetch.1.1"), b"half").unwrap();
        let mut o = Output::open(&dir, Format::Eml, "INBOX", 1, "ALL").unwrap();
        assert_eq!(files(&dir), [".imap-fetch.json"]);
        assert!(o.write(&info(5), b"a\r\nFrom b\r\n").unwrap());
        assert!(!o.write(&info(5), b"again").unwrap());
        assert_eq!(fs::read(dir.join("5.eml")).unwrap(), b"a\r\nFrom b\r\n");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn mbox_entries_and_the_tail_of_an_interrupted_run() {
        let dir = temp_dir("mbox");
        let mut o = Output::open(&dir, Format::Mbox, "INBOX", 1, "ALL").unwrap();
        let mut incoming = o.begin().unwrap();
        for piece in [
            &b"Subject: x\r\n\r\nFr"[..],
            b"om here\r",
            b"\n>From there\r\nend",
        ] {
            incoming.write(piece).unwrap();
        }
        assert!(o.finish(incoming, &info(1)).unwrap());
        o.commit(1).unwrap();
        let path = o.location();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "From MAILER-DAEMON Tue Jan  2 02:04:05 2024\nSubject: x\n\n>From here\n>>From there\nend\n\n"
        );
        let good = fs::metadata(&path).unwrap().len();
        o.write(&info(2), b"two, never committed\r\n").unwrap();
        drop(o);
        assert!(fs::metadata(&path).unwrap().len() > good);
        let o = Output::open(&dir, Format::Mbox, "INBOX", 1, "ALL").unwrap();
        assert_eq!(o.last_uid, 1);
        assert!(o.truncated > 0);
        assert_eq!(fs::metadata(&path).unwrap().len(), good);
        assert_eq!(files(&dir), [".imap-fetch.json", "INBOX.mbox"]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
