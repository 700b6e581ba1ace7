//! Where `imap fetch --out DIR` puts messages (Maildir, mbox or one `.eml`
//! file per message) and how it remembers what it already has.
//!
//! Each message file is written under a temporary name and renamed into
//! place, so an interrupted run never leaves half a message; an mbox is
//! appended to, and cut back on the next run to the length recorded after
//! the last complete batch. The state file `DIR/.imap-fetch.json` records,
//! per mailbox, the UIDVALIDITY and the highest UID saved; it is replaced
//! atomically after each batch.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Utc};
use clap::ValueEnum;
use serde_json::{json, Map, Value};

use crate::exit::{CliError, CliResult, Exit};

/// The state file's name inside the output directory.
pub const STATE_FILE: &str = ".imap-fetch.json";

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

/// One downloaded message.
#[derive(Debug, Clone)]
pub struct Message {
    /// Its UID.
    pub uid: u64,
    /// Its flags (`\Seen`...).
    pub flags: Vec<String>,
    /// Its INTERNALDATE, when the server sent a valid one.
    pub date: Option<DateTime<FixedOffset>>,
    /// The message as the server sent it.
    pub body: bytes::Bytes,
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
            host: hostname(),
            last_uid,
            truncated: 0,
        };
        match format {
            Format::Maildir => {
                for sub in ["cur", "new", "tmp"] {
                    let p = dir.join(sub);
                    fs::create_dir_all(&p).map_err(|e| io_err("create", &p, e))?;
                }
                out.remove_stale(&dir.join("tmp"), "imap-fetch.")?;
                let marker = format!(".V{uidvalidity}U");
                for sub in ["cur", "new"] {
                    out.scan(&dir.join(sub), |name| {
                        let rest = &name[name.find(&marker)? + marker.len()..];
                        rest[..rest.find('.')?].parse().ok()
                    })?;
                }
            }
            Format::Eml => {
                out.remove_stale(dir, ".imap-fetch.")?;
                out.scan(dir, |name| name.strip_suffix(".eml")?.parse().ok())?;
            }
            Format::Mbox => {
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

    /// Removes temporary files an interrupted run left in `dir`.
    fn remove_stale(&self, dir: &Path, prefix: &str) -> CliResult<()> {
        let entries = fs::read_dir(dir).map_err(|e| io_err("read", dir, e))?;
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(prefix) {
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

    /// Saves one message; false when it was already there.
    pub fn write(&mut self, msg: &Message) -> CliResult<bool> {
        match self.format {
            Format::Maildir => {
                if self.present.contains(&msg.uid) {
                    return Ok(false);
                }
                let secs = msg
                    .date
                    .map(|d| d.timestamp())
                    .unwrap_or_else(|| Utc::now().timestamp())
                    .max(0);
                let name = format!(
                    "{secs}.V{}U{}.{}:2,{}",
                    self.uidvalidity,
                    msg.uid,
                    self.host,
                    maildir_flags(&msg.flags)
                );
                let tmp = self.dir.join("tmp").join(format!(
                    "imap-fetch.{}.{}",
                    msg.uid,
                    std::process::id()
                ));
                let dest = self.dir.join("cur").join(name);
                write_then_rename(&tmp, &dest, &to_lf(&msg.body), msg.date)?;
                self.present.insert(msg.uid);
                Ok(true)
            }
            Format::Eml => {
                let dest = self.dir.join(format!("{}.eml", msg.uid));
                if self.present.contains(&msg.uid) || dest.exists() {
                    return Ok(false);
                }
                let tmp = self.dir.join(format!(".imap-fetch.{}.tmp", msg.uid));
                write_then_rename(&tmp, &dest, &msg.body, msg.date)?;
                self.present.insert(msg.uid);
                Ok(true)
            }
            Format::Mbox => {
                let Some((path, file)) = self.mbox.as_mut() else {
                    return Ok(false);
                };
                let entry = mbox_entry(msg);
                file.write_all(&entry)
                    .map_err(|e| io_err("write", path, e))?;
                Ok(true)
            }
        }
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
        write_then_rename(&tmp, &path, &text, None).map(|_| ())
    }
}

/// Writes `data` to `tmp`, then renames it to `dest` (never over an
/// existing file's content half-written).
fn write_then_rename(
    tmp: &Path,
    dest: &Path,
    data: &[u8],
    mtime: Option<DateTime<FixedOffset>>,
) -> CliResult<()> {
    let result = (|| {
        let mut f = File::create(tmp)?;
        f.write_all(data)?;
        if let Some(t) = mtime.and_then(|t| {
            u64::try_from(t.timestamp())
                .ok()
                .map(|s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s))
        }) {
            let _ = f.set_modified(t);
        }
        drop(f);
        fs::rename(tmp, dest)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(tmp);
        io_err("write", dest, e)
    })
}

/// Maildir info letters for IMAP flags, in ASCII order.
fn maildir_flags(flags: &[String]) -> String {
    let mut letters: Vec<char> = flags
        .iter()
        .filter_map(|f| match f.to_ascii_lowercase().as_str() {
            "\\draft" => Some('D'),
            "\\flagged" => Some('F'),
            "\\answered" => Some('R'),
            "\\seen" => Some('S'),
            "\\deleted" => Some('T'),
            _ => None,
        })
        .collect();
    letters.sort_unstable();
    letters.dedup();
    letters.into_iter().collect()
}

/// CRLF line ends to LF (Maildir and mbox hold Unix text).
fn to_lf(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'\r' && body.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(body[i]);
        i += 1;
    }
    out
}

/// One mboxrd entry: the `From ` line, the message with `>`-quoting of
/// `From ` lines, and a blank line.
fn mbox_entry(msg: &Message) -> Vec<u8> {
    let when = msg
        .date
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    let mut out = format!(
        "From MAILER-DAEMON {}\n",
        when.format("%a %b %e %H:%M:%S %Y")
    )
    .into_bytes();
    let body = to_lf(&msg.body);
    for line in body.split_inclusive(|&b| b == b'\n') {
        let quoted = line
            .iter()
            .skip_while(|&&b| b == b'>')
            .take(5)
            .eq(b"From ".iter());
        if quoted {
            out.push(b'>');
        }
        out.extend_from_slice(line);
    }
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.push(b'\n');
    out
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

/// This machine's name, made safe for Maildir file names.
fn hostname() -> String {
    let name = fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let name = name.trim();
    let name = if name.is_empty() { "localhost" } else { name };
    name.replace('/', "\\057").replace(':', "\\072")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(uid: u64, body: &str) -> Message {
        Message {
            uid,
            flags: vec!["\\Seen".into(), "\\Answered".into(), "$X".into()],
            date: DateTime::parse_from_rfc3339("2024-01-02T03:04:05+01:00").ok(),
            body: bytes::Bytes::from(body.to_string()),
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("imap-cli-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn mbox_entries_quote_from_lines() {
        let e = mbox_entry(&msg(1, "Subject: x\r\n\r\nFrom here\r\n>From there\r\nend"));
        assert_eq!(
            String::from_utf8(e).unwrap(),
            "From MAILER-DAEMON Tue Jan  2 02:04:05 2024\nSubject: x\n\n>From here\n>>From there\nend\n\n"
        );
    }

    #[test]
    fn maildir_flag_letters() {
        assert_eq!(maildir_flags(&msg(1, "").flags), "RS");
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
        assert!(o.write(&msg(3, "a\r\nb\r\n")).unwrap());
        assert!(!o.write(&msg(3, "again")).unwrap());
        o.commit(3).unwrap();
        let names: Vec<String> = fs::read_dir(dir.join("cur"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1);
        assert!(names[0].starts_with("1704161045.V7U3."), "{}", names[0]);
        assert!(names[0].ends_with(":2,RS"), "{}", names[0]);
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

    #[test]
    fn mbox_tail_of_an_interrupted_run_is_cut() {
        let dir = temp_dir("mbox");
        let mut o = Output::open(&dir, Format::Mbox, "INBOX", 1, "ALL").unwrap();
        o.write(&msg(1, "one\r\n")).unwrap();
        o.commit(1).unwrap();
        let path = o.location();
        let good = fs::metadata(&path).unwrap().len();
        o.write(&msg(2, "two, never committed\r\n")).unwrap();
        drop(o);
        assert!(fs::metadata(&path).unwrap().len() > good);
        let o = Output::open(&dir, Format::Mbox, "INBOX", 1, "ALL").unwrap();
        assert_eq!(o.last_uid, 1);
        assert!(o.truncated > 0);
        assert_eq!(fs::metadata(&path).unwrap().len(), good);
        fs::remove_dir_all(&dir).unwrap();
    }
}
