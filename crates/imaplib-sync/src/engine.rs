//! The sync of one account: which mailboxes, and for each what changed on
//! either side since the last run, decided and then carried out.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use imaplib::imaplib_proto::utf7;
use imaplib::types::SequenceSet;
use imaplib::{DateInput, Imap4, Status};

use crate::flags::{self, Flags};
use crate::maildir::{self, Incoming, LocalMessage, Maildir};
use crate::names;
use crate::state::{Known, MailboxState, Pending, StateDir};
use crate::{Direction, MailboxReport, Progress, SyncError, SyncOptions};

mod mailboxes;
mod transfer;
pub(crate) mod view;

pub use mailboxes::matches;
use mailboxes::{find_maildirs, follow_renames, remove_maildir};
pub(crate) use view::{
    list_server, server_delimiter, server_view, Last, ServerMailbox, ServerView,
};

pub(crate) use transfer::batches_by_size;
pub use transfer::message_id;

/// UIDs per listing command.
pub(crate) const LIST_CHUNK: usize = 5000;

type Result<T> = std::result::Result<T, SyncError>;

pub(crate) fn imap(context: impl Into<String>) -> impl FnOnce(imaplib::Error) -> SyncError {
    let context = context.into();
    move |err| SyncError::Imap { context, err }
}

pub(crate) fn local(context: impl Into<String>) -> impl FnOnce(io::Error) -> SyncError {
    let context = context.into();
    move |err| SyncError::Local { context, err }
}

/// A message known by its Message-ID and size (CRLF line ends).
type MessageKey = (Option<String>, u64);

/// Syncs the account behind `m` (logged in) into `opts.root`; `on_report`
/// gets each mailbox's report as it is done.
pub fn sync(
    m: &mut Imap4,
    opts: &SyncOptions,
    on_report: impl FnMut(&MailboxReport),
) -> Result<Vec<MailboxReport>> {
    sync_with_progress(m, opts, on_report, |_| {})
}

/// [`sync`], with `on_progress` told of each message moved (for a
/// progress display).
pub fn sync_with_progress(
    m: &mut Imap4,
    opts: &SyncOptions,
    mut on_report: impl FnMut(&MailboxReport),
    mut on_progress: impl FnMut(&Progress),
) -> Result<Vec<MailboxReport>> {
    let root = &opts.root;
    if !opts.dry_run {
        fs::create_dir_all(root).map_err(local(format!("cannot create {}", root.display())))?;
    }
    let states =
        StateDir::open(root, !opts.dry_run).map_err(local("cannot open the state directory"))?;
    let patterns: Vec<String> = if opts.patterns.is_empty() {
        vec!["*".to_string()]
    } else {
        opts.patterns.clone()
    };

    // The server's mailboxes.
    let (delimiter, mut server) = list_server(m, &patterns)?;

    // The local ones.
    let mut local_names = BTreeSet::new();
    find_maildirs(root, Path::new(""), &mut |rel| {
        if let Some(name) = names::name_of(rel, delimiter) {
            if patterns.iter().any(|p| matches(p, &name, delimiter)) {
                local_names.insert(name);
            }
        }
    })
    .map_err(local(format!("cannot read {}", root.display())))?;

    let mut reports = Vec::new();
    follow_renames(
        m,
        opts,
        &states,
        delimiter,
        &mut server,
        &mut local_names,
        &mut reports,
    )?;
    // Mailboxes made locally: created on the server first.
    for name in &local_names {
        if server.contains_key(name) {
            continue;
        }
        if let Some(st) = states
            .load::<MailboxState>(name)
            .map_err(local("cannot read the state"))?
        {
            // Synced before and deleted on the server since: removed here
            // too if nothing changed here; otherwise made again there.
            let md = Maildir::at(root.join(names::path_of(name, delimiter)));
            let found = md
                .scan()
                .map_err(local(format!("cannot read {}", md.dir().display())))?;
            let unchanged = st.pending.is_empty()
                && found.len() == st.messages.len()
                && st.messages.values().all(|k| {
                    found
                        .get(&k.base)
                        .is_some_and(|f| f.letters == flags::letters(&k.flags))
                });
            if unchanged && opts.direction != Direction::Push {
                let mut report = MailboxReport::new(name);
                report.deleted_locally = true;
                report.pulled_deletions = found.len() as u64;
                if !opts.dry_run {
                    remove_maildir(&md, &found)?;
                    states
                        .remove(name)
                        .map_err(local("cannot remove the state"))?;
                }
                on_report(&report);
                reports.push(report);
                continue;
            }
            if opts.direction == Direction::Pull {
                let mut report = MailboxReport::new(name);
                report
                    .notes
                    .push("deleted on the server, changed here: the local copy is kept".into());
                on_report(&report);
                reports.push(report);
                continue;
            }
            // Changed here: everything here goes back to a new mailbox.
            if !opts.dry_run {
                states
                    .remove(name)
                    .map_err(local("cannot remove the state"))?;
            }
        } else if opts.direction == Direction::Pull {
            continue;
        }
        let wire = utf7::encode(name);
        if !opts.dry_run {
            answered(m.create(&wire), format!("cannot create {name}"))?;
        }
        let mut report = MailboxReport::new(name);
        report.created_on_server = true;
        if opts.dry_run {
            on_report(&report);
            reports.push(report);
            continue;
        }
        server.insert(
            name.clone(),
            ServerMailbox {
                name: name.clone(),
                wire,
            },
        );
        reports.push(report);
    }

    for mb in server.values() {
        let path = names::path_of(&mb.name, delimiter);
        let mut report = reports
            .iter()
            .position(|r| r.mailbox == mb.name)
            .map(|i| reports.remove(i))
            .unwrap_or_else(|| MailboxReport::new(&mb.name));
        let mut one = OneMailbox {
            m,
            opts,
            states: &states,
            md: Maildir::at(root.join(&path)),
            path,
            mb,
            report: &mut report,
            progress: &mut on_progress,
        };
        one.run()?;
        on_report(&report);
        reports.push(report);
    }
    Ok(reports)
}

/// One mailbox being synced.
struct OneMailbox<'a> {
    m: &'a mut Imap4,
    opts: &'a SyncOptions,
    states: &'a StateDir,
    md: Maildir,
    path: PathBuf,
    mb: &'a ServerMailbox,
    report: &'a mut MailboxReport,
    progress: &'a mut dyn FnMut(&Progress),
}

/// What to do with one message both sides had at the last sync.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Flags: the new agreed set, and what each side must change.
    Flags {
        merged: Flags,
        to_local: Option<String>,
        add_server: Flags,
        remove_server: Flags,
    },
    /// Gone from the server, unchanged here: remove the file.
    DeleteLocal,
    /// Removed here, unchanged on the server: expunge it there.
    ExpungeServer,
    /// Removed here but changed on the server: download it again.
    Download,
    /// Gone from the server but changed here: append it again.
    Append,
    /// Gone on both sides, or not to be propagated: forget it.
    Forget,
}

/// True when the server has the same UIDs, UIDNEXT and flags as at the
/// last sync. If the Maildir's directories were not touched since either
/// (their times recorded, old enough to be trusted), the Maildir need not
/// even be read.
fn quiet_on_both_sides(st: &MailboxState, view: &ServerView) -> bool {
    st.pending.is_empty()
        && st.uidnext == view.uidnext
        && st.highestmodseq == view.highestmodseq
        && server_unchanged(st, view)
}

/// True when the server holds exactly the messages `st` knows, with the
/// flags it knows.
fn server_unchanged(st: &MailboxState, view: &ServerView) -> bool {
    st.uidvalidity == view.uidvalidity
        && view.now.len() == st.messages.len()
        && view.now.iter().all(|(uid, flags)| {
            st.messages
                .get(uid)
                .is_some_and(|k| flags.as_ref().is_none_or(|f| *f == k.flags))
        })
}

/// The rule for one message: `base` is what both sides agreed on last
/// time, `local` the file's flags (`None`: the file is gone), `server` the
/// flags on the server (`None`: expunged).
fn decide(
    base: &Flags,
    local: Option<&Flags>,
    server: Option<&Flags>,
    direction: Direction,
) -> Option<Action> {
    use Direction::*;
    match (local, server) {
        (Some(l), Some(s)) => {
            let merged = flags::merge(base, l, s);
            let (merged, to_local, to_server) = match direction {
                Both => (merged.clone(), Some(&merged), Some(&merged)),
                // Only the server's changes come here; the base follows
                // the server.
                Pull => (s.clone(), Some(&merged), None),
                // Only local changes go there; the base follows the file.
                Push => (l.clone(), None, Some(&merged)),
            };
            let to_local = to_local
                .filter(|t| flags::letters(t) != flags::letters(l))
                .map(flags::letters);
            let (add_server, remove_server) = match to_server {
                Some(t) => (
                    t.difference(s).cloned().collect(),
                    s.difference(t).cloned().collect(),
                ),
                None => (Flags::new(), Flags::new()),
            };
            if to_local.is_none()
                && add_server.is_empty()
                && remove_server.is_empty()
                && &merged == base
            {
                return None;
            }
            Some(Action::Flags {
                merged,
                to_local,
                add_server,
                remove_server,
            })
        }
        (Some(l), None) => Some(if flags::letters(l) == flags::letters(base) {
            match direction {
                Push => Action::Append,
                _ => Action::DeleteLocal,
            }
        } else {
            match direction {
                // Kept, as a local message the server does not have.
                Pull => Action::Forget,
                _ => Action::Append,
            }
        }),
        (None, Some(s)) => Some(if s == base {
            match direction {
                Pull => Action::Download,
                _ => Action::ExpungeServer,
            }
        } else {
            match direction {
                Push => Action::Forget,
                _ => Action::Download,
            }
        }),
        (None, None) => Some(Action::Forget),
    }
}

impl OneMailbox<'_> {
    fn name(&self) -> &str {
        &self.mb.name
    }

    fn run(&mut self) -> Result<()> {
        let dry = self.opts.dry_run;
        if !self.md.exists() && self.deleted_here()? {
            return Ok(());
        }
        if !self.md.exists() {
            self.report.created_locally = true;
        }
        // Always: a run killed while making the Maildir may have left
        // `cur/` without `new/` or `tmp/`.
        if !dry {
            self.md
                .create()
                .map_err(local(format!("cannot create {}", self.md.dir().display())))?;
        }
        let saved = self
            .states
            .load(self.name())
            .map_err(local("cannot read the state"))?;
        let mut view = self.server_view(saved.as_ref())?;
        if let Some(st) = &saved {
            let stamp = self.states.stamp(self.name());
            if stamp.is_some() && quiet_on_both_sides(st, &view) && self.md.stamp() == stamp {
                return Ok(());
            }
        }
        let saved_copy = saved.clone();
        let mut found = if self.md.exists() {
            self.md
                .scan()
                .map_err(local(format!("cannot read {}", self.md.dir().display())))?
        } else {
            HashMap::new()
        };
        let mut st = match saved {
            Some(st) if st.uidvalidity == view.uidvalidity => st,
            Some(old) => {
                let st = self.rematch(old, &view, &found)?;
                if !dry {
                    self.save(&st)?;
                }
                st
            }
            None => MailboxState {
                version: crate::state::VERSION,
                name: self.name().to_string(),
                path: self.path.clone(),
                uidvalidity: view.uidvalidity,
                ..Default::default()
            },
        };
        // What is on disk now: saved again only when it changes.
        let mut on_disk = saved_copy;

        // What an interrupted run appended without recording it.
        if !st.pending.is_empty() && !dry {
            self.recover_pending(&mut st)?;
        }
        // What an interrupted run downloaded without recording it.
        let known_bases: HashSet<&str> = st.messages.values().map(|k| k.base.as_str()).collect();
        let mut adopted = Vec::new();
        for (base, msg) in &found {
            if known_bases.contains(base.as_str()) {
                continue;
            }
            if let Some((v, uid)) = maildir::uid_of_base(base) {
                if v == view.uidvalidity && !st.messages.contains_key(&uid) {
                    if let Some(server_flags) = view.now.get(&uid) {
                        let mut base_flags = flags::from_letters(&msg.letters);
                        if let Some(s) = server_flags {
                            base_flags.extend(s.iter().filter(|f| !flags::has_letter(f)).cloned());
                        }
                        adopted.push((
                            uid,
                            Known {
                                base: base.clone(),
                                flags: base_flags,
                            },
                        ));
                    }
                }
            }
        }
        st.messages.extend(adopted);

        // Messages both sides had.
        let mut downloads: Vec<u32> = Vec::new();
        let mut expunges: Vec<u32> = Vec::new();
        let mut stores: BTreeMap<(Vec<String>, Vec<String>), Vec<u32>> = BTreeMap::new();
        // Files renamed or removed here (`cur/` flushed before the state).
        let mut touched_here = false;
        let mut planned: Vec<(u32, Action)> = Vec::new();
        for (&uid, known) in &st.messages {
            let local = found.get(&known.base);
            let server = view.now.get(&uid);
            // Both sides as agreed (the usual case): nothing to work out.
            if let (Some(l), Some(s)) = (local, server) {
                if s.as_ref().is_none_or(|s| *s == known.flags)
                    && l.letters == flags::letters(&known.flags)
                {
                    continue;
                }
            }
            let local_flags = local.map(|f| flags::local_view(&f.letters, &known.flags));
            let server_flags = server.map(|f| f.clone().unwrap_or_else(|| known.flags.clone()));
            if let Some(action) = decide(
                &known.flags,
                local_flags.as_ref(),
                server_flags.as_ref(),
                self.opts.direction,
            ) {
                planned.push((uid, action));
            }
        }
        for (uid, action) in planned {
            let known = st.messages[&uid].clone();
            self.report.plan(&action, uid);
            if dry {
                continue;
            }
            match action {
                Action::Flags {
                    merged,
                    to_local,
                    add_server,
                    remove_server,
                } => {
                    if let Some(letters) = to_local {
                        let msg = &found[&known.base];
                        let path = self
                            .md
                            .set_letters(&known.base, msg, &letters)
                            .inspect(|_| touched_here = true)
                            .map_err(local("cannot rename a message file"))?;
                        self.report.pulled_flags += 1;
                        found.insert(known.base.clone(), LocalMessage { path, letters });
                    }
                    if !add_server.is_empty() || !remove_server.is_empty() {
                        self.report.pushed_flags += 1;
                        stores
                            .entry((
                                add_server.into_iter().collect(),
                                remove_server.into_iter().collect(),
                            ))
                            .or_default()
                            .push(uid);
                    }
                    if let Some(k) = st.messages.get_mut(&uid) {
                        k.flags = merged;
                    }
                }
                Action::DeleteLocal => {
                    if let Some(msg) = found.remove(&known.base) {
                        remove_file(&msg.path)?;
                        touched_here = true;
                    }
                    st.messages.remove(&uid);
                    self.report.pulled_deletions += 1;
                }
                Action::ExpungeServer => expunges.push(uid),
                Action::Download => {
                    st.messages.remove(&uid);
                    downloads.push(uid);
                }
                Action::Append => {
                    st.messages.remove(&uid);
                    self.report.kept += 1;
                }
                Action::Forget => {
                    st.messages.remove(&uid);
                }
            }
        }
        if !dry {
            self.store(&stores)?;
            self.expunge(&mut st, &expunges)?;
            for uid in &expunges {
                view.now.remove(uid);
            }
            // The renames and removals before the state that records them.
            if touched_here && self.md.exists() {
                self.md
                    .sync_dir()
                    .map_err(local("cannot flush the Maildir"))?;
            }
            self.save_if_changed(&st, &mut on_disk)?;
        }

        // New on the server.
        if self.opts.direction != Direction::Push {
            let mut new: Vec<u32> = view
                .now
                .keys()
                .copied()
                .filter(|u| !st.messages.contains_key(u))
                .collect();
            new.extend(
                downloads
                    .iter()
                    .copied()
                    .filter(|u| view.now.contains_key(u)),
            );
            new.sort_unstable();
            new.dedup();
            self.report.pulled_new += new.len() as u64;
            if !dry && !new.is_empty() {
                self.download(&mut st, &new)?;
            } else if dry {
                self.report
                    .planned
                    .extend(new.iter().map(|u| format!("download UID {u}")));
            }
        }

        // New here.
        if self.opts.direction != Direction::Pull {
            let known_bases: HashSet<&str> =
                st.messages.values().map(|k| k.base.as_str()).collect();
            let mut new: Vec<String> = found
                .keys()
                .filter(|b| !known_bases.contains(b.as_str()))
                .cloned()
                .collect();
            new.sort();
            new.dedup();
            self.report.pushed_new += new.len() as u64;
            if dry {
                self.report
                    .planned
                    .extend(new.iter().map(|b| format!("append {b}")));
            } else if !new.is_empty() {
                self.append(&mut st, &found, &new, view.uidnext)?;
            }
        }

        if !dry {
            st.uidnext = st.uidnext.max(view.uidnext);
            st.highestmodseq = view.highestmodseq;
            st.path = self.path.clone();
            self.save_if_changed(&st, &mut on_disk)?;
            self.states
                .set_stamp(self.name(), self.md.stamp())
                .map_err(local("cannot save the state"))?;
        }
        Ok(())
    }

    /// The Maildir of a mailbox synced before is gone: the mailbox is
    /// deleted on the server too if nothing changed there since (true),
    /// else (and with `--pull`) it comes back here whole (false).
    fn deleted_here(&mut self) -> Result<bool> {
        let Some(saved) = self
            .states
            .load(self.name())
            .map_err(local("cannot read the state"))?
        else {
            return Ok(false);
        };
        let forget = |me: &mut Self| -> Result<()> {
            if !me.opts.dry_run {
                me.states
                    .remove(me.name())
                    .map_err(local("cannot remove the state"))?;
            }
            Ok(())
        };
        if self.opts.direction == Direction::Pull {
            forget(self)?;
            return Ok(false);
        }
        let view = self.server_view(Some(&saved))?;
        let unchanged = server_unchanged(&saved, &view);
        if !unchanged {
            self.report
                .notes
                .push("deleted here, changed on the server: downloaded again".into());
            forget(self)?;
            return Ok(false);
        }
        self.report.deleted_on_server = true;
        self.report.pushed_deletions = saved.messages.len() as u64;
        if self.opts.dry_run {
            return Ok(true);
        }
        let name = self.mb.name.clone();
        if self.m.has_capability("UNSELECT") {
            let _ = self.m.unselect();
        }
        answered(
            self.m.delete(&self.mb.wire),
            format!("cannot delete {name}"),
        )?;
        forget(self)?;
        Ok(true)
    }

    /// Saves `st` unless it equals what `on_disk` says was saved last.
    fn save_if_changed(&self, st: &MailboxState, on_disk: &mut Option<MailboxState>) -> Result<()> {
        if on_disk.as_ref() != Some(st) {
            self.save(st)?;
            *on_disk = Some(st.clone());
        }
        Ok(())
    }

    fn save(&self, st: &MailboxState) -> Result<()> {
        self.states.save(st).map_err(local("cannot save the state"))
    }

    /// Opens the mailbox and learns what it holds now (see
    /// [`server_view`]).
    fn server_view(&mut self, saved: Option<&MailboxState>) -> Result<ServerView> {
        let mut uids = saved.into_iter().flat_map(|s| s.messages.keys().copied());
        let last = saved.map(|s| Last {
            uidvalidity: s.uidvalidity,
            highestmodseq: s.highestmodseq,
            uids: &mut uids,
        });
        server_view(self.m, self.mb, last, false)
    }

    /// UID STORE of each group of messages that take the same change.
    fn store(&mut self, stores: &BTreeMap<(Vec<String>, Vec<String>), Vec<u32>>) -> Result<()> {
        for ((add, remove), uids) in stores {
            let set = SequenceSet::from_numbers(uids.iter().copied()).to_string();
            for (op, list) in [("+FLAGS.SILENT", add), ("-FLAGS.SILENT", remove)] {
                if list.is_empty() {
                    continue;
                }
                let flags = format!("({})", list.join(" "));
                answered(
                    self.m.uid("STORE", [set.as_str(), op, flags.as_str()]),
                    format!("cannot store flags in {}", self.mb.name),
                )?;
            }
        }
        Ok(())
    }

    /// Expunges exactly `uids` (UIDPLUS); without UIDPLUS they are only
    /// marked `\Deleted`, since a plain EXPUNGE would remove others too.
    fn expunge(&mut self, st: &mut MailboxState, uids: &[u32]) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = SequenceSet::from_numbers(uids.iter().copied()).to_string();
        let name = self.mb.name.clone();
        answered(
            self.m
                .uid("STORE", [set.as_str(), "+FLAGS.SILENT", "(\\Deleted)"]),
            format!("cannot delete in {name}"),
        )?;
        if self.m.has_capability("UIDPLUS") {
            answered(
                self.m.uid_expunge(&set),
                format!("cannot expunge in {name}"),
            )?;
            for uid in uids {
                st.messages.remove(uid);
            }
        } else {
            self.report.notes.push(format!(
                "{} marked \\Deleted, not expunged (no UIDPLUS)",
                uids.len()
            ));
            for uid in uids {
                if let Some(k) = st.messages.get_mut(uid) {
                    k.flags.insert("\\Deleted".into());
                }
            }
        }
        self.report.pushed_deletions += uids.len() as u64;
        Ok(())
    }
}

fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(local(format!("cannot remove {}", path.display()))(e))
        }
        _ => Ok(()),
    }
}

/// A command's outcome: its reply when OK; the library's error, or the
/// server's NO, as a [`SyncError`] saying what was being done.
pub(crate) fn answered(
    result: imaplib::Result<imaplib::Reply>,
    context: String,
) -> Result<imaplib::Reply> {
    match result {
        Ok(reply) if reply.typ == Status::Ok => Ok(reply),
        Ok(reply) => Err(SyncError::Refused {
            context,
            text: reply_text(&reply),
        }),
        Err(err) => Err(SyncError::Imap { context, err }),
    }
}

/// The RFC822.SIZE of a FETCH answer.
pub(crate) fn rfc822_size(f: &imaplib::types::Fetch) -> Option<u64> {
    f.rfc822_size()
}

/// The text of a refusal.
pub(crate) fn reply_text(reply: &imaplib::Reply) -> String {
    reply
        .data
        .iter()
        .filter_map(|d| {
            d.as_bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::flags::tests::set;

    #[test]
    fn fetch_batches_are_cut_by_bytes_and_count() {
        let uids = [1, 2, 3, 4, 5, 6, 7];
        let sizes: HashMap<u32, u64> = [
            (1, 100),
            (2, 100),
            (3, 1000),
            (4, 50),
            (5, 50),
            (6, 50),
            (7, u64::MAX),
        ]
        .into();
        let got = transfer::batches_by_size(&uids, &sizes, 250, 2);
        let want: Vec<&[u32]> = vec![&[1, 2], &[3], &[4, 5], &[6], &[7]];
        assert_eq!(got, want);
        assert!(transfer::batches_by_size(&[], &sizes, 250, 2).is_empty());
    }

    #[test]
    fn list_patterns() {
        assert!(matches("*", "a/b", Some('/')));
        assert!(matches("a/%", "a/b", Some('/')));
        assert!(!matches("a/%", "a/b/c", Some('/')));
        assert!(matches("inbox", "INBOX", Some('/')));
        assert!(!matches("Work*", "INBOX", Some('/')));
    }

    #[test]
    fn message_ids() {
        assert_eq!(
            message_id(b"Subject: x\r\nMessage-ID:\r\n <a@b>\r\n\r\nbody"),
            Some("<a@b>".into())
        );
        assert_eq!(message_id(b"Subject: x\n\nMessage-ID: <no@body>\n"), None);
    }

    #[test]
    fn a_message_deleted_on_one_side_and_changed_on_the_other_is_kept() {
        let base = set(&["\\Seen"]);
        // Expunged on the server, flagged here: sent back.
        let local = set(&["\\Seen", "\\Flagged"]);
        assert_eq!(
            decide(&base, Some(&local), None, Direction::Both),
            Some(Action::Append)
        );
        // Removed here, flagged on the server: downloaded again.
        let server = set(&["\\Seen", "\\Flagged"]);
        assert_eq!(
            decide(&base, None, Some(&server), Direction::Both),
            Some(Action::Download)
        );
        // Unchanged on the other side: the deletion goes through.
        assert_eq!(
            decide(&base, Some(&base), None, Direction::Both),
            Some(Action::DeleteLocal)
        );
        assert_eq!(
            decide(&base, None, Some(&base), Direction::Both),
            Some(Action::ExpungeServer)
        );
    }

    #[test]
    fn flags_merge_both_ways() {
        let base = set(&["\\Seen", "$Work"]);
        let local = set(&["\\Seen", "\\Flagged", "$Work"]);
        let server = set(&["$Work"]);
        let Some(Action::Flags {
            merged,
            to_local,
            add_server,
            remove_server,
        }) = decide(&base, Some(&local), Some(&server), Direction::Both)
        else {
            panic!("flags expected");
        };
        assert_eq!(merged, set(&["\\Flagged", "$Work"]));
        assert_eq!(to_local.as_deref(), Some("F"));
        assert_eq!(add_server, set(&["\\Flagged"]));
        assert!(remove_server.is_empty());
        assert_eq!(
            decide(&base, Some(&base), Some(&base), Direction::Both),
            None
        );
    }

    #[test]
    fn one_way_modes_leave_the_other_side_alone() {
        let base = set(&[]);
        let local = set(&["\\Seen"]);
        let server = set(&["\\Flagged"]);
        let Some(Action::Flags {
            to_local,
            add_server,
            ..
        }) = decide(&base, Some(&local), Some(&server), Direction::Pull)
        else {
            panic!()
        };
        assert_eq!(to_local.as_deref(), Some("FS"));
        assert!(add_server.is_empty());
        let Some(Action::Flags {
            to_local,
            add_server,
            ..
        }) = decide(&base, Some(&local), Some(&server), Direction::Push)
        else {
            panic!()
        };
        assert_eq!(to_local, None);
        assert_eq!(add_server, set(&["\\Seen"]));
        // A local deletion is not pushed by --pull: the message comes back.
        assert_eq!(
            decide(&base, None, Some(&base), Direction::Pull),
            Some(Action::Download)
        );
    }
}
