//! A whole account copied to another IMAP server, one way, exact and
//! resumable: the same change detection as the Maildir mirror (QRESYNC,
//! CONDSTORE or a full listing of the source), with the destination
//! server where the mirror has its Maildirs.
//!
//! - Every mailbox (or those matching LIST patterns) is created on the
//!   destination, its hierarchy delimiter converted, renamed by the
//!   caller's map, and subscribed when it is subscribed on the source.
//! - Each message arrives byte for byte with its flags, keywords and
//!   INTERNALDATE: pipelined `UID FETCH` batches from the source go into
//!   one MULTIAPPEND per batch (or one APPEND per message); a message over
//!   1 MiB streams from the source's FETCH straight into the
//!   destination's APPEND, never held whole. Messages go in UID order, so
//!   that the destination's UIDs follow the source's.
//! - A repeated run copies new messages and the source's flag changes;
//!   with `delete`, messages expunged on the source are expunged on the
//!   destination too, and a mailbox the source no longer has is deleted
//!   there when it holds nothing but copies.
//! - The state (one JSON file per mailbox) maps source UIDs to
//!   destination UIDs (APPENDUID); each batch is recorded as pending
//!   before it is sent, so a run killed at any instant is completed by
//!   the next without a duplicate: what reached the destination is found
//!   there by Message-ID, INTERNALDATE and size. The same match adopts
//!   the messages already on the destination when the state is lost or
//!   a UIDVALIDITY changed. Flag STOREs are journalled the same way: the
//!   messages are marked before their STOREs go out, and the next run
//!   stores the marked ones again.
//! - A mailbox the destination refuses (a NO, or a command error, after
//!   which both connections are still in step) is reported in its
//!   [`CopyReport::failed`] and the others are copied.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io;
use std::path::PathBuf;

use imaplib::imaplib_proto::utf7;
use imaplib::types::SequenceSet;
use imaplib::Imap4;
use serde::{Deserialize, Serialize};

use crate::engine::view::list_flags;
use crate::engine::{answered, imap, list_server, local, server_delimiter, server_view};
use crate::engine::{Last, ServerMailbox, ServerView};
use crate::flags::{self, Flags};
use crate::state::{Saved, StateDir};
use crate::{Progress, SyncError};

mod transfer;

type Result<T> = std::result::Result<T, SyncError>;

/// What to copy, and how.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Where the state lives (one file per mailbox).
    pub state: PathBuf,
    /// LIST patterns of the source mailboxes to copy (none: `*`).
    pub patterns: Vec<String>,
    /// Renames, applied in order: a source mailbox named `OLD` (or below
    /// it: `OLD` + the source's delimiter + the rest) becomes `NEW` (+ the
    /// destination's delimiter + the rest). `OLD` is written with the
    /// source's delimiter, `NEW` with the destination's.
    pub map: Vec<(String, String)>,
    /// Also expunge from the destination what the source expunged, and
    /// delete the mailboxes copied before that the source no longer has
    /// (when they hold nothing but copies).
    pub delete: bool,
    /// Only say what would change.
    pub dry_run: bool,
}

/// What one mailbox's copy did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// The source mailbox.
    pub mailbox: String,
    /// Its name on the destination.
    pub target: String,
    /// The destination mailbox was created by this run.
    pub created: bool,
    /// It was subscribed on the destination by this run.
    pub subscribed: bool,
    /// Messages copied.
    pub copied: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Messages found already on the destination (after a lost state or
    /// an interrupted run) and not copied again.
    pub found: u64,
    /// Messages whose flags were changed on the destination.
    pub flags: u64,
    /// Messages expunged from the destination (`delete`).
    pub deleted: u64,
    /// The mailbox was deleted on the destination: the source no longer
    /// has it (`delete`).
    pub removed: bool,
    /// Messages not copied: over the destination's APPENDLIMIT, or refused
    /// by it; one line each.
    pub skipped: Vec<String>,
    /// What the destination said when it refused a message for being over
    /// its quota (`[OVERQUOTA]`): the messages after it were not sent.
    pub over_quota: Option<String>,
    /// Messages not sent because the destination was over its quota
    /// (counted, not listed); tried again next run.
    pub not_sent: u64,
    /// What a dry run would do, one line per change.
    pub planned: Vec<String>,
    /// Anything else worth telling.
    pub notes: Vec<String>,
    /// Why this mailbox could not be copied (the run went on with the
    /// others): a server's refusal or command error, after which both
    /// connections were still usable.
    pub failed: Option<String>,
}

impl CopyReport {
    /// True when nothing changed.
    pub fn is_unchanged(&self) -> bool {
        self.copied + self.found + self.flags + self.deleted == 0
            && !self.created
            && !self.removed
            && !self.subscribed
            && self.skipped.is_empty()
            && self.not_sent == 0
            && self.failed.is_none()
    }
}

/// True for an error that concerns one mailbox (a server's NO, or its
/// command error), not the connections or the local state.
fn mailbox_failure(e: &SyncError) -> bool {
    match e {
        SyncError::Refused { .. } => true,
        SyncError::Imap { err, .. } => err.kind() == imaplib::ErrorKind::Error,
        SyncError::Local { .. } => false,
    }
}

/// True when a connection can go on with the next mailbox: not broken,
/// no command of the failed one still waiting for its answer.
fn in_step(m: &Imap4) -> bool {
    m.session().broken().is_none() && m.session().in_flight() == 0
}

/// One mailbox's copy state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CopyState {
    /// The format's version.
    pub version: u32,
    /// The source mailbox (UTF-8).
    pub name: String,
    /// The destination mailbox (UTF-8).
    pub target: String,
    /// The source's UIDVALIDITY.
    pub src_uidvalidity: u32,
    /// The destination's UIDVALIDITY.
    pub dst_uidvalidity: u32,
    /// The source's HIGHESTMODSEQ at the last run, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highestmodseq: Option<u64>,
    /// The source's UIDNEXT at the last run.
    pub uidnext: u32,
    /// No destination UID below this one is a copy made since.
    pub dst_uidnext: u32,
    /// Source UID to its copy.
    pub copied: BTreeMap<u32, Copied>,
    /// Copies whose source message was expunged (source UID to
    /// destination UID), kept until `delete` removes them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gone: BTreeMap<u32, u32>,
    /// Source messages not copied (over APPENDLIMIT, or refused): tried
    /// and reported again on every run.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub skipped: BTreeSet<u32>,
    /// Messages being appended: their copies may be on the destination.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingCopy>,
    /// Source UIDs whose flags were being stored on the destination: what
    /// the destination holds may be the flags recorded or the ones before,
    /// so the next run stores the source's again.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub flags_pending: BTreeSet<u32>,
}

/// A message's copy on the destination.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Copied {
    /// Its destination UID.
    pub uid: u32,
    /// The source's flags as last copied.
    pub flags: Flags,
}

/// A message whose APPEND may have reached the destination.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingCopy {
    /// Its source UID.
    pub src: u32,
    /// Its size as sent.
    pub size: u64,
    /// The size the destination may report instead (a server that counts
    /// bare line ends as CRLF), when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted: Option<u64>,
    /// Its Message-ID header, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Its INTERNALDATE (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<i64>,
    /// Its flags as sent.
    pub flags: Flags,
}

/// The version written in copy state files.
pub const COPY_VERSION: u32 = 1;

impl CopyState {
    /// The destination UIDs of every copy it knows (gone ones too).
    fn copies(&self) -> HashSet<u32> {
        self.copied
            .values()
            .map(|c| c.uid)
            .chain(self.gone.values().copied())
            .collect()
    }
}

impl Saved for CopyState {
    const VERSION: u32 = COPY_VERSION;
    fn version(&self) -> u32 {
        self.version
    }
    fn set_version(&mut self) {
        self.version = COPY_VERSION;
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// How a message is recognised on the destination: Message-ID, size,
/// INTERNALDATE.
pub(crate) type Key = (Option<String>, u64, Option<i64>);

/// Copies the account behind `src` to the one behind `dst` (both logged
/// in); `on_report` gets each mailbox's report as it is done.
pub fn copy_account(
    src: &mut Imap4,
    dst: &mut Imap4,
    opts: &CopyOptions,
    mut on_report: impl FnMut(&CopyReport),
    mut on_progress: impl FnMut(&Progress),
) -> Result<Vec<CopyReport>> {
    let states = StateDir::at(&opts.state, !opts.dry_run).map_err(local(format!(
        "cannot open the state directory {}",
        opts.state.display()
    )))?;
    let (src_delim, source) = list_server(src, &opts.patterns)?;
    let subscribed = subscriptions(src)?;
    let dst_delim = server_delimiter(dst);
    let (_, existing) = list_server(dst, &[])?;
    let dst_subscribed = subscriptions(dst)?;
    let limit = append_limit(dst);

    // Every target first: two sources may not land in one mailbox.
    let mut targets: BTreeMap<String, String> = BTreeMap::new();
    let mut plan = Vec::new();
    for mb in source.values() {
        let (target, note) = target_name(&mb.name, src_delim, dst_delim, &opts.map);
        if let Some(other) = targets.insert(target.clone(), mb.name.clone()) {
            return Err(SyncError::Refused {
                context: "cannot copy".into(),
                text: format!(
                    "{other:?} and {:?} would both become {target:?} on the destination",
                    mb.name
                ),
            });
        }
        plan.push((mb, target, note));
    }

    let mut reports = Vec::new();
    for (mb, target, note) in plan {
        let mut report = CopyReport {
            mailbox: mb.name.clone(),
            target: target.clone(),
            ..Default::default()
        };
        report.notes.extend(note);
        let dest = ServerMailbox {
            wire: utf7::encode(&target),
            name: target.clone(),
        };
        let exists = existing.contains_key(&target);
        let copied = (|| -> Result<()> {
            if !exists {
                if !opts.dry_run {
                    answered(dst.create(&dest.wire), format!("cannot create {target}"))?;
                }
                report.created = true;
            }
            if subscribed.contains(&mb.name) && !dst_subscribed.contains(&target) {
                if !opts.dry_run {
                    answered(
                        dst.subscribe(&dest.wire),
                        format!("cannot subscribe to {target}"),
                    )?;
                }
                report.subscribed = true;
            }
            OneCopy {
                src: &mut *src,
                mb,
                exists,
                sink: Sink {
                    dst: &mut *dst,
                    dest: &dest,
                    states: &states,
                    dry: opts.dry_run,
                    delete: opts.delete,
                    limit,
                    dst_modseq: None,
                    report: &mut report,
                    progress: &mut on_progress,
                    total: (0, 0),
                },
            }
            .run()
        })();
        if let Err(e) = copied {
            // One mailbox the servers refuse does not stop the others, as
            // long as both connections are still in step.
            if !mailbox_failure(&e) || !in_step(src) || !in_step(dst) {
                return Err(e);
            }
            report.failed = Some(e.to_string());
        }
        on_report(&report);
        reports.push(report);
    }
    if opts.delete {
        for st in states
            .load_all::<CopyState>()
            .map_err(local("cannot read the state"))?
        {
            let wanted = opts.patterns.is_empty()
                || opts
                    .patterns
                    .iter()
                    .any(|p| crate::engine::matches(p, &st.name, src_delim));
            // A mailbox still copied into (the source renamed, --map sends
            // the new name to the old target) is not removed.
            if source.contains_key(&st.name) || !wanted || targets.contains_key(&st.target) {
                continue;
            }
            let report = remove_target(dst, &states, st, opts.dry_run)?;
            on_report(&report);
            reports.push(report);
        }
    }
    Ok(reports)
}

/// With `delete`: a mailbox copied before that the source no longer has
/// is deleted on the destination, when it holds nothing but the copies
/// (else it is kept, and the report says why).
fn remove_target(
    dst: &mut Imap4,
    states: &StateDir,
    st: CopyState,
    dry_run: bool,
) -> Result<CopyReport> {
    let mut report = CopyReport {
        mailbox: st.name.clone(),
        target: st.target.clone(),
        ..Default::default()
    };
    let wire = utf7::encode(&st.target);
    let known = st.copies();
    // Gone already (refused), or made anew since: nothing of ours to
    // remove. A lost connection stops the run.
    let info = match dst.select_typed(&wire, true) {
        Ok(info) if info.uid_validity == Some(st.dst_uidvalidity) => Some(info),
        Ok(_) => None,
        Err(e) if e.is_abort() => return Err(imap(format!("cannot open {}", st.target))(e)),
        Err(_) => None,
    };
    if let Some(info) = info {
        let all = if info.exists > 0 {
            dst.uid_search_typed(["ALL"])
                .map_err(imap(format!("cannot search {}", st.target)))?
                .ids
        } else {
            Vec::new()
        };
        let _ = dst.close();
        if all.iter().any(|u| !known.contains(u)) {
            report.notes.push(
                "gone from the source; kept on the destination, which holds other messages in it"
                    .into(),
            );
            return Ok(report);
        }
        report.removed = true;
        report.deleted = all.len() as u64;
        if dry_run {
            report
                .planned
                .push(format!("delete the mailbox {}", st.target));
            return Ok(report);
        }
        answered(dst.delete(&wire), format!("cannot delete {}", st.target))?;
    }
    if !dry_run {
        states
            .remove(&st.name)
            .map_err(local("cannot remove the state"))?;
    }
    Ok(report)
}

/// The subscribed mailboxes (UTF-8 names).
fn subscriptions(m: &mut Imap4) -> Result<BTreeSet<String>> {
    let entries = m
        .lsub_typed(Some(""), Some("*"))
        .map_err(imap("cannot list the subscriptions"))?;
    Ok(entries
        .into_iter()
        .filter_map(|e| {
            let wire = String::from_utf8(e.mailbox.raw.to_vec()).ok()?;
            Some(utf7::decode(wire.as_bytes()).unwrap_or(wire))
        })
        .collect())
}

/// The APPENDLIMIT the server announces for every mailbox (RFC 7889).
fn append_limit(m: &Imap4) -> Option<u64> {
    m.capabilities()
        .iter()
        .find_map(|c| c.strip_prefix("APPENDLIMIT=")?.parse().ok())
}

/// The destination name of the source mailbox `name`: the first
/// matching rename of `map`, and the hierarchy delimiter converted. A
/// level that holds the destination's delimiter cannot keep it (it would
/// split the level in two): it becomes `_`, and the note says so.
pub fn target_name(
    name: &str,
    src: Option<char>,
    dst: Option<char>,
    map: &[(String, String)],
) -> (String, Option<String>) {
    if name.eq_ignore_ascii_case("INBOX")
        && !map.iter().any(|(old, _)| old.eq_ignore_ascii_case("INBOX"))
    {
        return ("INBOX".to_string(), None);
    }
    let levels: Vec<&str> = match src {
        Some(d) => name.split(d).collect(),
        None => vec![name],
    };
    // A rename: `OLD` is a whole prefix of levels.
    for (old, new) in map {
        let old_levels: Vec<&str> = match src {
            Some(d) => old.split(d).collect(),
            None => vec![old.as_str()],
        };
        if levels.len() >= old_levels.len() && levels[..old_levels.len()] == old_levels[..] {
            let (rest, note) = join_levels(&levels[old_levels.len()..], dst);
            let joined = match (rest.is_empty(), dst) {
                (true, _) => new.clone(),
                (false, Some(d)) => format!("{new}{d}{rest}"),
                (false, None) => format!("{new}{rest}"),
            };
            return (joined, note);
        }
    }
    join_levels(&levels, dst)
}

fn join_levels(levels: &[&str], dst: Option<char>) -> (String, Option<String>) {
    let mut note = None;
    let fixed: Vec<String> = levels
        .iter()
        .map(|l| match dst {
            Some(d) if l.contains(d) => {
                note = Some(format!(
                    "the destination's hierarchy delimiter {d:?} in a name became '_'"
                ));
                l.replace(d, "_")
            }
            _ => l.to_string(),
        })
        .collect();
    let sep = dst.map(String::from).unwrap_or_default();
    (fixed.join(&sep), note)
}

/// One mailbox being copied: the source side.
struct OneCopy<'a> {
    src: &'a mut Imap4,
    mb: &'a ServerMailbox,
    /// The destination mailbox existed before this run.
    exists: bool,
    sink: Sink<'a>,
}

/// One mailbox being copied: the destination side, and what is told.
pub(crate) struct Sink<'a> {
    dst: &'a mut Imap4,
    dest: &'a ServerMailbox,
    states: &'a StateDir,
    dry: bool,
    delete: bool,
    /// The destination's APPENDLIMIT.
    limit: Option<u64>,
    /// The destination mailbox's HIGHESTMODSEQ when this run selected it
    /// (CONDSTORE), for its STOREs.
    dst_modseq: Option<u64>,
    report: &'a mut CopyReport,
    progress: &'a mut dyn FnMut(&Progress),
    /// What this run has to copy (messages, bytes), for the progress.
    total: (u64, u64),
}

impl OneCopy<'_> {
    fn run(&mut self) -> Result<()> {
        let dry = self.sink.dry;
        let delete = self.sink.delete;
        let name = self.mb.name.clone();
        let target = self.sink.dest.name.clone();
        let saved: Option<CopyState> = self
            .sink
            .states
            .load(&name)
            .map_err(local("cannot read the state"))?;
        // The destination as it is, without selecting it.
        let (dst_uidvalidity, dst_uidnext, dst_messages) = if self.exists || !dry {
            let status = self
                .sink
                .dst
                .status_typed(&self.sink.dest.wire, "(UIDVALIDITY UIDNEXT MESSAGES)")
                .map_err(imap(format!("cannot open {target}")))?;
            (
                status.uid_validity().unwrap_or_default(),
                status.uid_next().unwrap_or_default(),
                status.messages().unwrap_or_default(),
            )
        } else {
            (0, 0, 0)
        };
        let saved = saved.filter(|s| {
            let same = s.target == target && s.dst_uidvalidity == dst_uidvalidity;
            if !same {
                self.sink.report.notes.push(if s.target != target {
                    format!(
                        "copied to {} before: matched again by content here",
                        s.target
                    )
                } else {
                    "the destination's UIDVALIDITY changed: matched again by content".into()
                });
            }
            same
        });
        let mut view = {
            let mut uids = saved.iter().flat_map(|s| {
                s.copied
                    .keys()
                    .chain(&s.skipped)
                    .copied()
                    .chain(s.pending.iter().map(|p| p.src))
            });
            let last = saved.as_ref().map(|s| Last {
                uidvalidity: s.src_uidvalidity,
                highestmodseq: s.highestmodseq,
                uids: &mut uids,
            });
            server_view(self.src, self.mb, last, true)?
        };
        if let Some(st) = &saved {
            if unchanged(st, &view, delete) {
                return Ok(());
            }
        }
        let mut st = match saved {
            Some(st) if st.src_uidvalidity == view.uidvalidity => st,
            other => {
                if other.is_some() {
                    self.sink
                        .report
                        .notes
                        .push("UIDVALIDITY changed: messages matched again by content".into());
                }
                CopyState {
                    version: COPY_VERSION,
                    name: name.clone(),
                    target: target.clone(),
                    src_uidvalidity: view.uidvalidity,
                    dst_uidvalidity,
                    dst_uidnext,
                    ..Default::default()
                }
            }
        };
        if !dry || self.exists {
            // Read-only in a dry run: only looked at.
            let dst = &mut *self.sink.dst;
            let wire = &self.sink.dest.wire;
            let info = if dst.has_capability("CONDSTORE") {
                dst.select_condstore(wire, dry)
            } else {
                dst.select_typed(wire, dry)
            }
            .map_err(imap(format!("cannot open {target}")))?;
            self.sink.dst_modseq = info.highest_modseq.filter(|_| !info.no_modseq);
        }

        // What an interrupted run appended without recording it (found
        // from the lowest UID it could have, so only after this).
        if !st.pending.is_empty() && !dry {
            self.sink.recover_pending(&mut st)?;
        }
        st.dst_uidnext = st.dst_uidnext.max(dst_uidnext);

        // Copies whose source is gone.
        let gone: Vec<u32> = st
            .copied
            .keys()
            .copied()
            .filter(|u| !view.now.contains_key(u))
            .collect();
        for uid in gone {
            if let Some(c) = st.copied.remove(&uid) {
                st.gone.insert(uid, c.uid);
            }
        }
        if delete && !st.gone.is_empty() {
            self.sink.delete_gone(&mut st)?;
        }

        // Flags changed on the source, and those an interrupted run was
        // storing.
        let mut stores: BTreeMap<Vec<String>, Vec<u32>> = BTreeMap::new();
        let unsure = std::mem::take(&mut st.flags_pending);
        // Marked ones whose flags this listing does not carry (it lists
        // only changes since a point): asked for.
        let unlisted: Vec<u32> = unsure
            .iter()
            .copied()
            .filter(|u| matches!(view.now.get(u), Some(None)))
            .collect();
        if !unlisted.is_empty() {
            list_flags(self.src, &self.mb.name, &unlisted, &mut view.now)?;
        }
        for (uid, c) in st.copied.iter_mut() {
            if let Some(Some(now)) = view.now.get(uid) {
                if *now != c.flags || unsure.contains(uid) {
                    stores
                        .entry(now.iter().cloned().collect())
                        .or_default()
                        .push(c.uid);
                    if dry {
                        self.sink
                            .report
                            .planned
                            .push(format!("flags of UID {uid} become ({})", flags::list(now)));
                    }
                    c.flags = now.clone();
                }
            }
        }

        // New on the source (or not copied before).
        st.skipped.retain(|u| view.now.contains_key(u));
        let mut new: Vec<u32> = view
            .now
            .keys()
            .copied()
            .filter(|u| !st.copied.contains_key(u))
            .collect();
        // No state (or a lost one) and messages there already: those
        // that are copies of these are adopted, not copied again.
        if st.copied.is_empty() && dst_messages > 0 && !new.is_empty() {
            let adopted = self.adopt(&mut st, &new, &view, &mut stores)?;
            new.retain(|u| !adopted.contains(u));
        }
        let stored = stores.values().map(|v| v.len() as u64).sum::<u64>();
        // Marked ones whose flags this view does not carry stay marked.
        let unknown: BTreeSet<u32> = unsure
            .into_iter()
            .filter(|u| matches!(view.now.get(u), Some(None)))
            .collect();
        if !dry && !stores.is_empty() {
            // Journalled: a run killed during the STOREs (or whose STOREs
            // its server session carries out after the kill) leaves these
            // marked, and the next run stores them again even if the
            // source's flags went back to the ones recorded before.
            let storing: HashSet<u32> = stores.values().flatten().copied().collect();
            st.flags_pending = st
                .copied
                .iter()
                .filter(|(_, c)| storing.contains(&c.uid))
                .map(|(src, _)| *src)
                .chain(unknown.iter().copied())
                .collect();
            self.sink.save(&st)?;
            self.sink.store(&stores)?;
            self.sink.report.flags += stored;
            st.flags_pending = unknown;
            self.sink.save(&st)?;
        } else if dry {
            self.sink.report.flags += stored;
        } else {
            st.flags_pending = unknown;
            self.sink.save(&st)?;
        }
        if dry {
            self.sink
                .report
                .planned
                .extend(new.iter().map(|u| format!("copy UID {u}")));
            self.sink.report.copied = new.len() as u64;
        } else if !new.is_empty() {
            self.copy(&mut st, &new)?;
            // Not sent by the source (expunged meanwhile, or no body):
            // kept in view and tried again next time.
            let missed: Vec<u32> = new
                .iter()
                .copied()
                .filter(|u| {
                    !st.copied.contains_key(u)
                        && !st.skipped.contains(u)
                        && !st.pending.iter().any(|p| p.src == *u)
                })
                .collect();
            if !missed.is_empty() {
                self.sink.report.notes.push(format!(
                    "{} not sent by the source (expunged meanwhile?): tried again next run",
                    missed.len()
                ));
                st.skipped.extend(missed);
            }
        }
        if !dry {
            st.uidnext = view.uidnext;
            st.highestmodseq = view.highestmodseq;
            self.sink.save(&st)?;
        }
        Ok(())
    }

    /// Matches `new` source messages with the destination's messages that
    /// no copy names, by Message-ID, size and INTERNALDATE; a match is
    /// recorded as the copy (its flags set to the source's). Returns the
    /// source UIDs matched.
    fn adopt(
        &mut self,
        st: &mut CopyState,
        new: &[u32],
        view: &ServerView,
        stores: &mut BTreeMap<Vec<String>, Vec<u32>>,
    ) -> Result<HashSet<u32>> {
        let mut there = self.sink.keys_on_destination(st, 1)?;
        let mut adopted = HashSet::new();
        if there.is_empty() {
            return Ok(adopted);
        }
        let name = self.mb.name.clone();
        for chunk in new.chunks(crate::engine::LIST_CHUNK) {
            let set = SequenceSet::from_numbers(chunk.iter().copied()).to_string();
            let listed = self
                .src
                .uid_fetch_typed(&set, transfer::KEY_ITEMS)
                .map_err(imap(format!("cannot list the messages of {name}")))?;
            for f in listed {
                let Some(uid) = f.uid() else { continue };
                let Some(key) = transfer::key_of(&f) else {
                    continue;
                };
                let Some((dst_uid, dst_flags)) = there.get_mut(&key).and_then(Vec::pop) else {
                    continue;
                };
                let src_flags = match view.now.get(&uid) {
                    Some(Some(f)) => f.clone(),
                    _ => flags::of_fetch(&f),
                };
                if src_flags != dst_flags {
                    stores
                        .entry(src_flags.iter().cloned().collect())
                        .or_default()
                        .push(dst_uid);
                }
                st.copied.insert(
                    uid,
                    Copied {
                        uid: dst_uid,
                        flags: src_flags,
                    },
                );
                adopted.insert(uid);
            }
        }
        self.sink.report.found += adopted.len() as u64;
        if !adopted.is_empty() {
            self.sink.report.notes.push(format!(
                "{} found on the destination already, not copied again",
                adopted.len()
            ));
        }
        Ok(adopted)
    }
}

impl Sink<'_> {
    fn save(&self, st: &CopyState) -> Result<()> {
        self.states.save(st).map_err(local("cannot save the state"))
    }

    /// `UID STORE ... FLAGS` of each group of copies that take the same
    /// flags.
    ///
    /// With the destination's HIGHESTMODSEQ from this run's SELECT, each
    /// STORE is `UNCHANGEDSINCE` it: a STORE of an earlier, killed run that
    /// its server session carries out late (it had read it) then fails on
    /// the messages this run changed, instead of undoing them. A message
    /// changed since this run's SELECT (MODIFIED) is stored again
    /// unconditionally: the source wins.
    fn store(&mut self, stores: &BTreeMap<Vec<String>, Vec<u32>>) -> Result<()> {
        let context = format!("cannot store flags in {}", self.dest.name);
        for (list, uids) in stores {
            let flags = format!("({})", list.join(" "));
            for chunk in uids.chunks(crate::engine::LIST_CHUNK) {
                let set = SequenceSet::from_numbers(chunk.iter().copied()).to_string();
                let again = match self.dst_modseq {
                    Some(modseq) => {
                        let (_, modified) = self
                            .dst
                            .uid_store_unchanged_since(&set, modseq, "FLAGS.SILENT", &flags)
                            .map_err(imap(context.clone()))?;
                        modified.map(|m| m.to_string())
                    }
                    None => Some(set),
                };
                if let Some(set) = again.filter(|s| !s.is_empty()) {
                    answered(
                        self.dst
                            .uid("STORE", [set.as_str(), "FLAGS.SILENT", &flags]),
                        context.clone(),
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Expunges the copies of messages the source expunged: exactly those
    /// with UIDPLUS; without it they are only marked `\Deleted`, since a
    /// plain EXPUNGE would also remove copies the source keeps `\Deleted`.
    fn delete_gone(&mut self, st: &mut CopyState) -> Result<()> {
        let uids: Vec<u32> = st.gone.values().copied().collect();
        self.report.deleted += uids.len() as u64;
        if self.dry {
            self.report
                .planned
                .extend(uids.iter().map(|u| format!("expunge destination UID {u}")));
            return Ok(());
        }
        let target = self.dest.name.clone();
        let uidplus = self.dst.has_capability("UIDPLUS");
        for chunk in uids.chunks(crate::engine::LIST_CHUNK) {
            let set = SequenceSet::from_numbers(chunk.iter().copied()).to_string();
            answered(
                self.dst
                    .uid("STORE", [set.as_str(), "+FLAGS.SILENT", "(\\Deleted)"]),
                format!("cannot delete in {target}"),
            )?;
            if uidplus {
                answered(
                    self.dst.uid_expunge(&set),
                    format!("cannot expunge in {target}"),
                )?;
            }
        }
        if !uidplus {
            self.report.notes.push(format!(
                "{} marked \\Deleted, not expunged (the destination has no UIDPLUS)",
                uids.len()
            ));
        }
        st.gone.clear();
        self.save(st)
    }

    /// The destination's messages from UID `from` on that no copy names,
    /// by key, with their flags (in UID order; popped from the back).
    fn keys_on_destination(
        &mut self,
        st: &CopyState,
        from: u32,
    ) -> Result<HashMap<Key, Vec<(u32, Flags)>>> {
        let known = st.copies();
        let target = self.dest.name.clone();
        let listed = self
            .dst
            .uid_fetch_typed(format!("{}:*", from.max(1)), transfer::KEY_ITEMS)
            .map_err(imap(format!("cannot list the messages of {target}")))?;
        let mut out: HashMap<Key, Vec<(u32, Flags)>> = HashMap::new();
        for f in listed.iter().rev() {
            let (Some(uid), Some(key)) = (f.uid(), transfer::key_of(f)) else {
                continue;
            };
            // `n:*` always names the last message, even below `n`.
            if uid < from || known.contains(&uid) {
                continue;
            }
            out.entry(key).or_default().push((uid, flags::of_fetch(f)));
        }
        Ok(out)
    }

    /// Matches the pending APPENDs of an interrupted run (or of a
    /// destination without APPENDUID) with the messages that arrived on
    /// the destination since; those not found were never stored and are
    /// copied again.
    fn recover_pending(&mut self, st: &mut CopyState) -> Result<()> {
        let mut there = self.keys_on_destination(st, st.dst_uidnext)?;
        let pending = std::mem::take(&mut st.pending);
        for p in pending {
            let found = [Some(p.size), p.counted]
                .into_iter()
                .flatten()
                .find_map(|size| {
                    there
                        .get_mut(&(p.message_id.clone(), size, p.date))
                        .and_then(Vec::pop)
                });
            match found {
                Some((uid, _)) => {
                    st.dst_uidnext = st.dst_uidnext.max(uid.saturating_add(1));
                    st.skipped.remove(&p.src);
                    self.report.found += 1;
                    st.copied.insert(
                        p.src,
                        Copied {
                            uid,
                            flags: p.flags,
                        },
                    );
                }
                // Never stored: copied again (this run or the next).
                None => {
                    st.skipped.insert(p.src);
                }
            }
        }
        self.save(st)
    }
}

/// True when the source holds exactly the messages copied, with the
/// flags copied, and nothing is waiting.
fn unchanged(st: &CopyState, view: &ServerView, delete: bool) -> bool {
    st.pending.is_empty()
        && st.flags_pending.is_empty()
        && st.skipped.is_empty()
        && (!delete || st.gone.is_empty())
        && st.src_uidvalidity == view.uidvalidity
        && st.uidnext == view.uidnext
        && st.highestmodseq == view.highestmodseq
        && view.now.len() == st.copied.len()
        && view.now.iter().all(|(uid, flags)| {
            st.copied
                .get(uid)
                .is_some_and(|c| flags.as_ref().is_none_or(|f| *f == c.flags))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_change_delimiter_and_follow_the_map() {
        let none: &[(String, String)] = &[];
        assert_eq!(
            target_name("a/b/c", Some('/'), Some('.'), none),
            ("a.b.c".into(), None)
        );
        let (name, note) = target_name("Projects/v1.2", Some('/'), Some('.'), none);
        assert_eq!(name, "Projects.v1_2");
        assert!(note.is_some());
        assert_eq!(
            target_name("inbox", Some('.'), Some('/'), none),
            ("INBOX".into(), None)
        );
        let map = vec![("Old.Stuff".to_string(), "Archive/2020".to_string())];
        assert_eq!(
            target_name("Old.Stuff.x", Some('.'), Some('/'), &map),
            ("Archive/2020/x".into(), None)
        );
        assert_eq!(
            target_name("Old.Stuff", Some('.'), Some('/'), &map),
            ("Archive/2020".into(), None)
        );
        // A prefix of a level is not a match.
        assert_eq!(
            target_name("Old.Stuffing", Some('.'), Some('/'), &map),
            ("Old/Stuffing".into(), None)
        );
    }
}
