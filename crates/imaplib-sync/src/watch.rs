//! Waiting for the next change on either side, for `imap sync --watch`.
//!
//! The server is watched with IDLE on INBOX: new messages, expunges and
//! flag changes there end the wait at once; with NOTIFY (RFC 5465) so do
//! changes in every other mailbox and mailboxes made, renamed or deleted.
//! Without NOTIFY, other mailboxes are looked at when `interval` passes
//! (a full sync). The local tree is watched by
//! the times of its Maildirs' `cur/` and `new/` directories, polled once a
//! second from a thread, which ends the IDLE when one changes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use imaplib::types::{Typed, Untagged};
use imaplib::{IdleOptions, IdleStop, Imap4, NotifyEvent, NotifyFilter, NotifyGroup};

use crate::names;
use crate::state::StateDir;
use crate::SyncError;

/// What ended a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// The server reported a change in the watched mailbox.
    Server,
    /// A Maildir changed here.
    Local,
    /// The interval passed.
    Interval,
}

/// Waits, on the logged-in connection `m`, until something changes on
/// the server's INBOX or under `root`, or `interval` passes. A connection
/// that breaks (or stays silent past the keepalive) is an `abort` error.
///
/// `since` is what [`local_times`] said before the last sync began, so
/// that a local change made while it ran is not missed (the sync's own
/// changes then cost one more, quiet, sync).
pub fn wait_for_change(
    m: &mut Imap4,
    root: &Path,
    interval: Duration,
    since: &LocalTimes,
) -> Result<Woken, SyncError> {
    if local_times(root) != *since {
        return Ok(Woken::Local);
    }
    let imap = |context: &str| {
        let context = context.to_string();
        move |err| SyncError::Imap { context, err }
    };
    let info = m
        .select_typed("INBOX", true)
        .map_err(imap("cannot open INBOX to wait"))?;
    // What arrived in INBOX since the sync looked at it: no need to wait.
    let states = StateDir::open(root, false).map_err(|err| SyncError::Local {
        context: "cannot open the state directory".into(),
        err,
    })?;
    if let Ok(Some(st)) = states.load::<crate::state::MailboxState>("INBOX") {
        let moved = info.uid_next.is_some_and(|n| n != st.uidnext)
            || (info.highest_modseq.is_some()
                && st.highestmodseq.is_some()
                && info.highest_modseq != st.highestmodseq);
        if moved {
            return Ok(Woken::Server);
        }
    }
    let stop = IdleStop::new();
    let done = Arc::new(AtomicBool::new(false));
    let local_changed = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, done, changed) = (stop.clone(), done.clone(), local_changed.clone());
        let root = root.to_path_buf();
        let before = since.clone();
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(500));
                if local_times(&root) != before {
                    changed.store(true, Ordering::SeqCst);
                    stop.stop();
                    return;
                }
            }
        })
    };
    // With NOTIFY, every mailbox of the account is watched, not INBOX
    // alone: changes elsewhere arrive as STATUS, new mailboxes as LIST.
    let notify = m.has_capability("NOTIFY");
    if notify {
        let events = vec![
            NotifyEvent::MessageNew(None),
            NotifyEvent::MessageExpunge,
            NotifyEvent::FlagChange,
        ];
        let mut everywhere = events.clone();
        everywhere.push(NotifyEvent::MailboxName);
        let groups = [
            NotifyGroup {
                filter: NotifyFilter::Selected,
                events,
            },
            NotifyGroup {
                filter: NotifyFilter::Personal,
                events: everywhere,
            },
        ];
        m.notify_set(false, &groups)
            .map_err(imap("cannot ask for notifications"))?;
    }
    let options = IdleOptions {
        duration: Some(interval),
        keepalive: Some(Duration::from_secs(5 * 60)),
        ..IdleOptions::default()
    };
    let mut server = false;
    let outcome = m.idle_with(&options, Some(&stop), |event| {
        let change = matches!(
            event,
            Typed::Untagged(
                Untagged::Exists(_)
                    | Untagged::Expunge(_)
                    | Untagged::Vanished(_)
                    | Untagged::Fetch(_)
                    | Untagged::Status(_)
                    | Untagged::List(_)
            )
        );
        server |= change;
        change
    });
    done.store(true, Ordering::SeqCst);
    let _ = watcher.join();
    outcome.map_err(imap("connection lost while waiting"))?;
    if notify {
        m.notify_none()
            .map_err(imap("cannot end the notifications"))?;
    }
    Ok(if server {
        Woken::Server
    } else if local_changed.load(Ordering::SeqCst) {
        Woken::Local
    } else {
        Woken::Interval
    })
}

/// The times of every Maildir directory under a mirror's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTimes(BTreeMap<PathBuf, Option<SystemTime>>);

/// The times of every Maildir directory under `root` (`cur/`, `new/` and
/// the directories holding them), by path: they change when a message or
/// a Maildir is added, removed or renamed.
pub fn local_times(root: &Path) -> LocalTimes {
    let mut out = BTreeMap::new();
    walk(root, &mut out);
    LocalTimes(out)
}

fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Option<SystemTime>>) {
    out.insert(dir.to_path_buf(), mtime(dir));
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if !kind.is_dir() {
            continue;
        }
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        if name == "cur" || name == "new" {
            out.insert(path.clone(), mtime(&path));
        } else if !names::is_reserved(name) {
            walk(&path, out);
        }
    }
}

fn mtime(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).ok()?.modified().ok()
}
