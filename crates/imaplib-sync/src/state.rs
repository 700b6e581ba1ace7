//! What the mirror remembers of each mailbox between runs, and how it is
//! written so that a kill at any instant loses nothing.
//!
//! One JSON file per mailbox in `DIR/.imap-sync/`, replaced atomically
//! (written beside, flushed to disk, renamed, directory flushed). The
//! files it names are always on disk before the state that names them,
//! so the state never claims a message the Maildir lacks. What a killed
//! run did after its last save is found again on the next run: a
//! downloaded file carries its UID in its name, and an APPEND is recorded
//! as pending before it is sent and matched on the server afterwards.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::flags::Flags;
use crate::names::STATE_DIR;

/// The version written in state files.
pub const VERSION: u32 = 1;

/// A state file's content: one per mailbox, named by the mailbox.
pub trait Saved: Serialize + DeserializeOwned + Clone {
    /// The format's version, written in every file.
    const VERSION: u32;
    /// The version the value carries.
    fn version(&self) -> u32;
    /// Marks the value as of [`Saved::VERSION`].
    fn set_version(&mut self);
    /// The mailbox it belongs to (names the file).
    fn name(&self) -> &str;
}

impl Saved for MailboxState {
    const VERSION: u32 = VERSION;
    fn version(&self) -> u32 {
        self.version
    }
    fn set_version(&mut self) {
        self.version = VERSION;
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// One mailbox's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct MailboxState {
    /// The format's version.
    pub version: u32,
    /// The mailbox name (UTF-8).
    pub name: String,
    /// The directory that mirrors it, relative to the root.
    pub path: PathBuf,
    /// The UIDVALIDITY the UIDs below belong to.
    pub uidvalidity: u32,
    /// HIGHESTMODSEQ when the server had one at the last sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highestmodseq: Option<u64>,
    /// UIDNEXT at the last sync.
    pub uidnext: u32,
    /// The messages both sides had at the last sync: UID to file base and
    /// the flags both sides agreed on.
    pub messages: BTreeMap<u32, Known>,
    /// Local messages being appended to the server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Pending>,
}

/// A message both sides have.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Known {
    /// The Maildir file's base name (before `:2,`).
    pub base: String,
    /// The flags as of the last sync (keywords included).
    pub flags: Flags,
}

/// A local message whose APPEND may have reached the server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pending {
    /// The file's base name.
    pub base: String,
    /// Its size as sent (CRLF line ends).
    pub size: u64,
    /// Its Message-ID header, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The flags it was sent with.
    pub flags: Flags,
    /// No UID below this one can be the appended copy.
    pub uid_from: u32,
}

/// Where the state of the mirror rooted at `root` lives.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// The state directory of the mirror at `root`, created if missing
    /// when `create`.
    pub fn open(root: &Path, create: bool) -> io::Result<StateDir> {
        StateDir::at(&root.join(STATE_DIR), create)
    }

    /// The state directory `dir` itself, created if missing when
    /// `create`.
    pub fn at(dir: &Path, create: bool) -> io::Result<StateDir> {
        if create {
            fs::create_dir_all(dir)?;
        }
        Ok(StateDir {
            dir: dir.to_path_buf(),
        })
    }

    fn file(&self, name: &str) -> PathBuf {
        let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{hex}.json"))
    }

    /// The saved state of `name`, if any.
    pub fn load<T: Saved>(&self, name: &str) -> io::Result<Option<T>> {
        let path = self.file(name);
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let state: T = serde_json::from_slice(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a state file of this program: {e}", path.display()),
            )
        })?;
        if state.version() != T::VERSION {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: state version {} is not {}",
                    path.display(),
                    state.version(),
                    T::VERSION
                ),
            ));
        }
        Ok(Some(state))
    }

    /// Every saved state.
    pub fn load_all<T: Saved>(&self) -> io::Result<Vec<T>> {
        let mut out = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            other => other?,
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            let bytes: Option<Vec<u8>> = (0..stem.len() / 2)
                .map(|i| u8::from_str_radix(stem.get(2 * i..2 * i + 2)?, 16).ok())
                .collect();
            let Some(Ok(mailbox)) = bytes.map(String::from_utf8) else {
                continue;
            };
            if let Some(state) = self.load(&mailbox)? {
                out.push(state);
            }
        }
        Ok(out)
    }

    /// Replaces the saved state of `state.name` atomically.
    pub fn save<T: Saved>(&self, state: &T) -> io::Result<()> {
        let path = self.file(state.name());
        let tmp = path.with_extension("json.tmp");
        let mut text = if state.version() == T::VERSION {
            serde_json::to_vec(state)
        } else {
            let mut state = state.clone();
            state.set_version();
            serde_json::to_vec(&state)
        }
        .map_err(io::Error::other)?;
        text.push(b'\n');
        let mut f = File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_data()?;
        drop(f);
        fs::rename(&tmp, &path)?;
        File::open(&self.dir)?.sync_all()
    }

    /// The times of `name`'s Maildir directories when its last sync
    /// ended (see [`crate::maildir::Maildir::stamp`]), if recorded. Kept
    /// apart from the state and written without flushing: it only spares
    /// reading an untouched Maildir, and a lost one costs one full scan.
    pub fn stamp(&self, name: &str) -> Option<[u64; 2]> {
        let text = fs::read_to_string(self.file(name).with_extension("stamp")).ok()?;
        let (a, b) = text.trim().split_once(' ')?;
        Some([a.parse().ok()?, b.parse().ok()?])
    }

    /// Records (or with `None` forgets) `name`'s directory times.
    pub fn set_stamp(&self, name: &str, stamp: Option<[u64; 2]>) -> io::Result<()> {
        let path = self.file(name).with_extension("stamp");
        match stamp {
            Some([a, b]) => {
                let tmp = path.with_extension("stamp.tmp");
                fs::write(&tmp, format!("{a} {b}\n"))?;
                fs::rename(&tmp, &path)
            }
            None => match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        }
    }

    /// Forgets the state of `name`.
    pub fn remove(&self, name: &str) -> io::Result<()> {
        self.set_stamp(name, None)?;
        match fs::remove_file(self.file(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_and_loaded() {
        let root = std::env::temp_dir().join(format!("imaplib-sync-state-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let dir = StateDir::open(&root, true).unwrap();
        assert_eq!(dir.load::<MailboxState>("Ünï/x").unwrap(), None);
        let mut st = MailboxState {
            name: "Ünï/x".into(),
            path: "Ünï/x".into(),
            uidvalidity: 7,
            highestmodseq: Some(99),
            uidnext: 12,
            ..Default::default()
        };
        st.messages.insert(
            3,
            Known {
                base: "1.V7U3.h".into(),
                flags: ["\\Seen".to_string(), "$Work".to_string()].into(),
            },
        );
        dir.save(&st).unwrap();
        let back: MailboxState = dir.load("Ünï/x").unwrap().unwrap();
        assert_eq!(back.messages, st.messages);
        assert_eq!(back.version, VERSION);
        assert_eq!(dir.load_all::<MailboxState>().unwrap().len(), 1);
        dir.remove("Ünï/x").unwrap();
        assert_eq!(dir.load::<MailboxState>("Ünï/x").unwrap(), None);
        fs::remove_dir_all(&root).unwrap();
    }
}
