//! A whole IMAP account mirrored into Maildirs and kept current in both
//! directions, on the `imaplib` engine.
//!
//! [`sync`] brings one local tree and one account into agreement:
//!
//! - every mailbox (or those matching LIST patterns) has a Maildir at
//!   `ROOT/<name>`, hierarchy as directories, names in UTF-8;
//! - new messages, flag changes and deletions go both ways (or one way,
//!   with [`Direction::Pull`] or [`Direction::Push`]); a mailbox made,
//!   renamed or deleted on either side is made, renamed or deleted on the
//!   other (a deletion only when nothing changed there since);
//! - flags merge: what either side added is added, what either side
//!   removed is removed; a message deleted on one side and changed on the
//!   other is kept (downloaded or appended again); nothing is removed
//!   that the other side changed;
//! - with QRESYNC one SELECT returns what changed and what was expunged;
//!   with CONDSTORE, a SELECT, a FETCH CHANGEDSINCE and a UID SEARCH;
//!   otherwise every UID and its flags are listed;
//! - new messages come in pipelined batches (messages over 1 MiB streamed
//!   straight to their file), each written to `tmp/`, flushed and renamed
//!   into `cur/`.
//!
//! [`watch::wait_for_change`] waits for the next change on either side
//! (IDLE on INBOX, the Maildirs' directory times), for a sync that stays
//! running.
//!
//! The state (`ROOT/.imap-sync/`, one JSON file per mailbox) is written
//! after the files it names, atomically, so that a kill at any instant
//! loses nothing and duplicates nothing: downloaded files carry their
//! UID in their names and are recognised, and each APPEND is recorded
//! as pending before it is sent and found on the server afterwards.

pub mod copy;
pub mod engine;
pub mod flags;
pub mod maildir;
pub mod names;
pub mod state;
pub mod watch;

use std::fmt;
use std::io;
use std::path::PathBuf;

pub use copy::{copy_account, CopyOptions, CopyReport};
pub use engine::{sync, sync_with_progress};

/// Which way changes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Both ways.
    #[default]
    Both,
    /// From the server to the Maildirs only.
    Pull,
    /// From the Maildirs to the server only.
    Push,
}

/// What to sync, and how.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// The root of the local tree.
    pub root: PathBuf,
    /// LIST patterns of the mailboxes to sync (none: `*`).
    pub patterns: Vec<String>,
    /// Which way changes go.
    pub direction: Direction,
    /// Only say what would change.
    pub dry_run: bool,
}

/// A message moved, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress<'a> {
    /// The mailbox being synced.
    pub mailbox: &'a str,
    /// Its messages moved so far (either way).
    pub messages: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The messages this mailbox's run has to move, when known (else 0).
    pub total_messages: u64,
    /// Their bytes, when known (else 0).
    pub total_bytes: u64,
}

/// What one mailbox's sync did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxReport {
    /// The mailbox.
    pub mailbox: String,
    /// New messages downloaded.
    pub pulled_new: u64,
    /// Local files renamed for the server's flag changes.
    pub pulled_flags: u64,
    /// Local files removed because the server expunged them.
    pub pulled_deletions: u64,
    /// Local messages appended to the server.
    pub pushed_new: u64,
    /// Messages whose flags were changed on the server.
    pub pushed_flags: u64,
    /// Messages expunged on the server because their files were removed.
    pub pushed_deletions: u64,
    /// Messages deleted on one side and changed on the other, kept.
    pub kept: u64,
    /// Message bytes moved either way.
    pub bytes: u64,
    /// Messages moved either way.
    pub moved: u64,
    /// The Maildir was made by this run.
    pub created_locally: bool,
    /// The mailbox was created on the server by this run.
    pub created_on_server: bool,
    /// The Maildir was removed: the mailbox was deleted on the server.
    pub deleted_locally: bool,
    /// The mailbox was deleted on the server: its Maildir was removed.
    pub deleted_on_server: bool,
    /// What a dry run would do, one line per change.
    pub planned: Vec<String>,
    /// Anything else worth telling.
    pub notes: Vec<String>,
}

impl MailboxReport {
    fn new(mailbox: &str) -> MailboxReport {
        MailboxReport {
            mailbox: mailbox.to_string(),
            ..Default::default()
        }
    }

    fn plan(&mut self, action: &engine_action::Action, uid: u32) {
        self.planned.push(engine_action::describe(action, uid));
    }

    /// True when nothing changed.
    pub fn is_unchanged(&self) -> bool {
        self.pulled_new
            + self.pulled_flags
            + self.pulled_deletions
            + self.pushed_new
            + self.pushed_flags
            + self.pushed_deletions
            + self.kept
            == 0
            && !self.created_locally
            && !self.created_on_server
            && !self.deleted_locally
            && !self.deleted_on_server
    }
}

mod engine_action {
    pub(crate) use crate::engine::Action;

    pub(crate) fn describe(action: &Action, uid: u32) -> String {
        match action {
            Action::Flags {
                to_local,
                add_server,
                remove_server,
                ..
            } => {
                let mut parts = Vec::new();
                if let Some(letters) = to_local {
                    parts.push(format!("local flags of UID {uid} become \"{letters}\""));
                }
                if !add_server.is_empty() {
                    parts.push(format!("server +FLAGS {add_server:?} on UID {uid}"));
                }
                if !remove_server.is_empty() {
                    parts.push(format!("server -FLAGS {remove_server:?} on UID {uid}"));
                }
                parts.join("; ")
            }
            Action::DeleteLocal => format!("remove the file of UID {uid} (expunged on the server)"),
            Action::ExpungeServer => format!("expunge UID {uid} on the server (file removed)"),
            Action::Download => format!("download UID {uid} again (changed on the server)"),
            Action::Append => format!("append the file of UID {uid} again (changed here)"),
            Action::Forget => format!("forget UID {uid}"),
        }
    }
}

/// Why a sync stopped.
#[derive(Debug)]
pub enum SyncError {
    /// A command failed (the library's error: `error` or `abort`).
    Imap {
        /// What was being done.
        context: String,
        /// The library's error.
        err: imaplib::Error,
    },
    /// The server answered NO.
    Refused {
        /// What was being done.
        context: String,
        /// The server's text.
        text: String,
    },
    /// A local file could not be read or written.
    Local {
        /// What was being done.
        context: String,
        /// The error.
        err: io::Error,
    },
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Imap { context, err } => write!(f, "{context}: {}", err.message()),
            SyncError::Refused { context, text } => write!(f, "{context}: {text}"),
            SyncError::Local { context, err } => write!(f, "{context}: {err}"),
        }
    }
}

impl std::error::Error for SyncError {}
