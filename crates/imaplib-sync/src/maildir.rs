//! One mailbox's Maildir: reading what is there, placing downloaded
//! messages, renaming for flags, removing.
//!
//! Files are named as `imap fetch --format maildir` names them:
//! `SECS.V<uidvalidity>U<uid>.<host>:2,<letters>`, line ends LF. Messages
//! are written to `tmp/`, flushed to disk a batch at a time, and renamed
//! into `cur/`: each is either complete or absent. The part before `:2,` (the "base") never
//! changes, so the mirror's state can name a file across flag changes;
//! files another program puts in `new/` or `cur/` have bases of their own.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, FixedOffset, Utc};

/// A message file found in the Maildir.
#[derive(Debug, Clone)]
pub struct LocalMessage {
    /// Its path.
    pub path: PathBuf,
    /// Its Maildir letters (from the name).
    pub letters: String,
}

/// A Maildir directory (`cur`, `new`, `tmp` under `dir`).
#[derive(Debug, Clone)]
pub struct Maildir {
    dir: PathBuf,
}

impl Maildir {
    /// The Maildir at `dir` (nothing is created).
    pub fn at(dir: impl Into<PathBuf>) -> Maildir {
        Maildir { dir: dir.into() }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True when `dir/cur` exists.
    pub fn exists(&self) -> bool {
        self.dir.join("cur").is_dir()
    }

    /// Creates `cur`, `new` and `tmp` (and the directory) if missing.
    pub fn create(&self) -> io::Result<()> {
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(self.dir.join(sub))?;
        }
        Ok(())
    }

    /// Every message in `cur` and `new`, by base. Temporary files an
    /// interrupted run left in `tmp` are removed.
    pub fn scan(&self) -> io::Result<HashMap<String, LocalMessage>> {
        let mut found = HashMap::new();
        for sub in ["new", "cur"] {
            let dir = self.dir.join(sub);
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                if name.starts_with('.') || !entry.file_type()?.is_file() {
                    continue;
                }
                let (base, letters) = split_name(&name);
                found.insert(
                    base.to_string(),
                    LocalMessage {
                        path: entry.path(),
                        letters: letters.to_string(),
                    },
                );
            }
        }
        if let Ok(entries) = fs::read_dir(self.dir.join("tmp")) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                if name.to_string_lossy().starts_with(TEMP_PREFIX) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(found)
    }

    /// Starts a message in `tmp/`.
    pub fn begin(&self) -> io::Result<Incoming> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = self
            .dir
            .join("tmp")
            .join(format!("{TEMP_PREFIX}{}.{n}", std::process::id()));
        let file = File::create(&path)?;
        Ok(Incoming {
            path: Some(path),
            file: io::BufWriter::with_capacity(64 * 1024, file),
            pending_cr: false,
        })
    }

    /// Moves complete messages into `cur/`, each under the name of its
    /// UID of `uidvalidity` with its letters, and returns their bases in
    /// the same order. Their bytes reach the disk first (one flush of the
    /// file system for the whole batch), then the renames, then `cur/`
    /// itself: a batch named in the state is on disk whole.
    pub fn place_all(&self, uidvalidity: u32, batch: Vec<Staged>) -> io::Result<Vec<String>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        flush_files(self.dir.join("tmp"), batch.iter().map(|s| s.path()))?;
        let mut bases = Vec::with_capacity(batch.len());
        for mut staged in batch {
            let secs = staged
                .date
                .map_or_else(|| Utc::now().timestamp(), |d| d.timestamp())
                .max(0);
            let base = format!("{secs}.V{uidvalidity}U{}.{}", staged.uid, host());
            let dest = self
                .dir
                .join("cur")
                .join(format!("{base}:2,{}", staged.letters));
            let tmp = staged.path.take().expect("placed once");
            fs::rename(&tmp, &dest)?;
            bases.push(base);
        }
        self.sync_dir()?;
        Ok(bases)
    }

    /// Gives the message `msg` (base `base`) the letters `letters`, moving
    /// it to `cur/`; returns its new path.
    pub fn set_letters(
        &self,
        base: &str,
        msg: &LocalMessage,
        letters: &str,
    ) -> io::Result<PathBuf> {
        let dest = self.dir.join("cur").join(format!("{base}:2,{letters}"));
        if dest != msg.path {
            fs::rename(&msg.path, &dest)?;
        }
        Ok(dest)
    }

    /// The modification times of `cur/` and `new/`, if both are older
    /// than two seconds (a change within the clock's granularity of a
    /// time taken now could otherwise go unseen); `None` otherwise.
    pub fn stamp(&self) -> Option<[u64; 2]> {
        let now = std::time::SystemTime::now();
        let mut out = [0u64; 2];
        for (i, sub) in ["cur", "new"].into_iter().enumerate() {
            let modified = fs::metadata(self.dir.join(sub)).ok()?.modified().ok()?;
            if now.duration_since(modified).ok()? < std::time::Duration::from_secs(2) {
                return None;
            }
            let ns = modified
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_nanos();
            out[i] = u64::try_from(ns).ok()?;
        }
        Some(out)
    }

    /// Flushes the directory entries of `cur/` to disk (after renames,
    /// before the state that records them).
    pub fn sync_dir(&self) -> io::Result<()> {
        File::open(self.dir.join("cur"))?.sync_all()
    }
}

/// How temporary files begin.
const TEMP_PREFIX: &str = "imap-sync.";

/// Splits a Maildir file name into its base and its letters.
pub fn split_name(name: &str) -> (&str, &str) {
    match name.rsplit_once(":2,") {
        Some((base, info)) => (base, info),
        None => (name.split_once(':').map_or(name, |(b, _)| b), ""),
    }
}

/// The UIDVALIDITY and UID a file name of ours carries (`.V<v>U<u>.`).
pub fn uid_of_base(base: &str) -> Option<(u32, u32)> {
    let part = base.split('.').nth(1)?;
    let rest = part.strip_prefix('V')?;
    let (v, u) = rest.split_once('U')?;
    Some((v.parse().ok()?, u.parse().ok()?))
}

/// A message being written to `tmp/`, CRLF line ends turned into LF as
/// the bytes arrive. Dropped unfinished, it removes its file.
pub struct Incoming {
    path: Option<PathBuf>,
    file: io::BufWriter<File>,
    /// The last chunk ended with CR.
    pending_cr: bool,
}

impl Incoming {
    /// Writes the next bytes of the message.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        let mut rest = data;
        if self.pending_cr {
            self.pending_cr = false;
            if rest.first() != Some(&b'\n') {
                self.file.write_all(b"\r")?;
            }
        }
        while let Some(i) = rest.iter().position(|&b| b == b'\r') {
            self.file.write_all(&rest[..i])?;
            match rest.get(i + 1) {
                Some(b'\n') => {}
                Some(_) => self.file.write_all(b"\r")?,
                None => self.pending_cr = true,
            }
            rest = &rest[i + 1..];
        }
        self.file.write_all(rest)
    }

    /// Finishes writing (not yet flushed to disk): the message of UID
    /// `uid`, received at `date`, to be placed with `letters`.
    pub fn close(
        mut self,
        uid: u32,
        date: Option<DateTime<FixedOffset>>,
        letters: &str,
    ) -> io::Result<Staged> {
        if self.pending_cr {
            self.file.write_all(b"\r")?;
        }
        self.file.flush()?;
        if let Some(date) = date {
            let secs = u64::try_from(date.timestamp()).unwrap_or(0);
            let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            self.file.get_ref().set_modified(when)?;
        }
        Ok(Staged {
            path: self.path.take(),
            uid,
            date,
            letters: letters.to_string(),
        })
    }
}

/// A message complete in `tmp/`, waiting for [`Maildir::place_all`];
/// dropped before that, it removes its file.
pub struct Staged {
    path: Option<PathBuf>,
    uid: u32,
    date: Option<DateTime<FixedOffset>>,
    letters: String,
}

impl Staged {
    /// The message's UID.
    pub fn uid(&self) -> u32 {
        self.uid
    }

    fn path(&self) -> &Path {
        self.path.as_deref().expect("not placed yet")
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// Makes the bytes of `files` (all under `dir`) durable: on Linux one
/// `syncfs` of the file system holding `dir` (one device flush for the
/// whole batch), elsewhere each file's own flush.
fn flush_files<'a>(dir: PathBuf, files: impl Iterator<Item = &'a Path>) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let _ = files;
        rustix::fs::syncfs(File::open(dir)?).map_err(io::Error::from)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        for f in files {
            File::open(f)?.sync_data()?;
        }
        Ok(())
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// The message in `path` as IMAP wants it: line ends CRLF.
pub fn read_for_append(path: &Path) -> io::Result<Vec<u8>> {
    let data = fs::read(path)?;
    let mut out = Vec::with_capacity(data.len() + data.len() / 40);
    let mut prev = 0u8;
    for &b in &data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    Ok(out)
}

/// The modification time of `path`, as an INTERNALDATE for APPEND.
pub fn mtime(path: &Path) -> Option<DateTime<FixedOffset>> {
    let modified = fs::metadata(path).ok()?.modified().ok()?;
    let utc: DateTime<Utc> = modified.into();
    Some(utc.fixed_offset())
}

/// This machine's name, safe in a Maildir file name.
pub fn host() -> &'static str {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let name = fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| fs::read_to_string("/etc/hostname"))
            .unwrap_or_default();
        let name = name.trim();
        let name = if name.is_empty() { "localhost" } else { name };
        name.replace('/', "\\057").replace(':', "\\072")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("imaplib-sync-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn names_and_uids() {
        assert_eq!(split_name("123.V7U42.host:2,FS"), ("123.V7U42.host", "FS"));
        assert_eq!(split_name("123.M5P6.host"), ("123.M5P6.host", ""));
        assert_eq!(uid_of_base("123.V7U42.host"), Some((7, 42)));
        assert_eq!(uid_of_base("123.M5P6.host"), None);
    }

    #[test]
    fn line_ends_across_any_split() {
        let input = b"a\r\nb\rc\r\n\r\nd\r";
        for step in 1..input.len() {
            let dir = temp_dir(&format!("split{step}"));
            let md = Maildir::at(&dir);
            md.create().unwrap();
            let mut inc = md.begin().unwrap();
            for chunk in input.chunks(step) {
                inc.write(chunk).unwrap();
            }
            let staged = inc.close(9, None, "S").unwrap();
            let base = md.place_all(1, vec![staged]).unwrap().remove(0);
            let found = md.scan().unwrap();
            let msg = &found[&base];
            assert_eq!(
                fs::read(&msg.path).unwrap(),
                b"a\nb\rc\n\nd\r",
                "step {step}"
            );
            assert_eq!(msg.letters, "S");
            assert_eq!(read_for_append(&msg.path).unwrap(), b"a\r\nb\rc\r\n\r\nd\r");
            fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn unfinished_messages_leave_nothing() {
        let dir = temp_dir("unfinished");
        let md = Maildir::at(&dir);
        md.create().unwrap();
        let mut inc = md.begin().unwrap();
        inc.write(b"half").unwrap();
        drop(inc);
        assert_eq!(fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
        assert!(md.scan().unwrap().is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }
}
