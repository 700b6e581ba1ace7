//! Typed methods for the modern extensions (IMAP4rev2, ID, MOVE, UIDPLUS,
//! CONDSTORE / QRESYNC, LIST-EXTENDED / LIST-STATUS / SPECIAL-USE,
//! METADATA, LISTRIGHTS), each checking the capability it needs and, where
//! a safe one exists, falling back when the server lacks it.
//!
//! The commands are built by [`imaplib_proto::command::build`] and their
//! replies decoded by the helpers here, so the async client shares them.

use std::collections::HashMap;

use bytes::Bytes;
use imaplib_proto::command::build::{self, CatenatePart, NotifyGroup};
use imaplib_proto::types::{
    decode_data, ESearch, Fetch, ListEntry, ListRights, MailboxStatus, Metadata, Pairs,
    PartialRange, Quota, ResponseCode, SequenceSet, Untagged, Vanished,
};
use imaplib_proto::{Data, Reply, Status};

use crate::engine::{Conn, Link};
use crate::error::{Error, Result};
use crate::typed::{decode_reply, reply_code, SelectInfo};

/// What a MOVE (or its fallback) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveResult {
    /// `COPYUID`: destination UIDVALIDITY, source UIDs, destination UIDs.
    pub copy_uid: Option<(u32, SequenceSet, SequenceSet)>,
    /// True when MOVE was missing and COPY + STORE + UID EXPUNGE was used.
    pub fallback: bool,
}

/// What changed in a mailbox since a saved state (see [`Imap4::resync`](crate::Imap4::resync)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resync {
    /// The mailbox's state now.
    pub info: SelectInfo,
    /// The saved UIDVALIDITY no longer holds: every UID is new and the
    /// caller must forget what it had.
    pub uid_validity_changed: bool,
    /// Messages whose flags changed or that are new (UID, FLAGS, MODSEQ).
    pub changed: Vec<Fetch>,
    /// UIDs expunged since (QRESYNC), when the server could tell.
    pub vanished: Option<SequenceSet>,
}

/// One LIST entry with the STATUS that LIST-STATUS returned for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListWithStatus {
    /// The LIST entry.
    pub entry: ListEntry,
    /// Its STATUS, when asked for and the mailbox is selectable.
    pub status: Option<MailboxStatus>,
}

/// RFC 6154 special uses, in the order [`Imap4::special_use_mailboxes`](crate::Imap4::special_use_mailboxes)
/// reports them.
pub const SPECIAL_USES: [&str; 7] = [
    "\\All",
    "\\Archive",
    "\\Drafts",
    "\\Flagged",
    "\\Junk",
    "\\Sent",
    "\\Trash",
];

pub(crate) fn copy_uid_of(
    reply: &Reply,
    untagged: &HashMap<String, Vec<Data>>,
) -> Option<(u32, SequenceSet, SequenceSet)> {
    // In the tagged OK (COPY) or in an untagged OK before the EXPUNGEs (MOVE).
    let from_tagged = match reply_code(reply) {
        Some(ResponseCode::CopyUid {
            uid_validity,
            source,
            dest,
        }) => Some((uid_validity, source, dest)),
        _ => None,
    };
    from_tagged.or_else(|| {
        let args = untagged.get("COPYUID")?.last()?.as_bytes()?.clone();
        match ResponseCode::decode(&imaplib_proto::Code {
            name: "COPYUID".into(),
            args,
        }) {
            ResponseCode::CopyUid {
                uid_validity,
                source,
                dest,
            } => Some((uid_validity, source, dest)),
            _ => None,
        }
    })
}

pub(crate) fn list_with_status(
    reply: &Reply,
    untagged_status: Vec<Data>,
) -> Result<Vec<ListWithStatus>> {
    let entries = crate::typed::list_entries(crate::typed::decode_reply_lenient(reply, "LIST")?);
    let mut statuses: HashMap<Bytes, MailboxStatus> = HashMap::new();
    for s in decode_data("STATUS", &untagged_status)
        .into_iter()
        .flatten()
    {
        if let Untagged::Status(s) = s {
            statuses.insert(s.mailbox.raw.clone(), s);
        }
    }
    Ok(entries
        .into_iter()
        .map(|entry| {
            let status = statuses.remove(&entry.mailbox.raw);
            ListWithStatus { entry, status }
        })
        .collect())
}

pub(crate) fn vanished_of(items: Vec<Data>) -> Option<SequenceSet> {
    let mut all: Vec<u32> = Vec::new();
    let mut any = false;
    for v in decode_data("VANISHED", &items).into_iter().flatten() {
        if let Untagged::Vanished(Vanished { uids, .. }) = v {
            any = true;
            all.extend(uids.iter_numbers().take(10_000_000));
        }
    }
    if !any {
        return None;
    }
    all.sort_unstable();
    all.dedup();
    Some(SequenceSet::from_numbers(all))
}

/// The ESORT command (SORT or UID SORT with RETURN), after checking the
/// server announces ESORT.
pub(crate) fn esort_command<I, A>(
    caps: &[String],
    uid: bool,
    return_options: &str,
    sort_criteria: &str,
    charset: &str,
    criteria: I,
) -> Result<imaplib_proto::Command>
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u8]>,
{
    if !caps.iter().any(|c| c == "ESORT") {
        return Err(Error::missing_capability("ESORT"));
    }
    Ok(if uid {
        build::uid_esort(return_options, sort_criteria.as_bytes(), charset, criteria)
    } else {
        build::esort(return_options, sort_criteria.as_bytes(), charset, criteria)
    })
}

pub(crate) fn by_special_use(entries: Vec<ListEntry>) -> HashMap<String, ListEntry> {
    let mut out = HashMap::new();
    for e in entries {
        if let Some(u) = e.special_use() {
            let key = SPECIAL_USES
                .iter()
                .find(|s| s.eq_ignore_ascii_case(u))
                .map_or_else(|| u.to_string(), |s| s.to_string());
            out.entry(key).or_insert(e);
        }
    }
    out
}

pub(crate) fn merge_metadata(items: Vec<Untagged>) -> Result<Metadata> {
    let mut merged: Option<Metadata> = None;
    for u in items {
        if let Untagged::Metadata(m) = u {
            match &mut merged {
                Some(all) => all.entries.extend(m.entries),
                None => merged = Some(m),
            }
        }
    }
    merged.ok_or_else(|| Error::error("no METADATA response"))
}

pub(crate) fn one_listrights(items: Vec<Untagged>) -> Result<ListRights> {
    items
        .into_iter()
        .find_map(|u| match u {
            Untagged::ListRights(l) => Some(l),
            _ => None,
        })
        .ok_or_else(|| Error::error("no LISTRIGHTS response"))
}

pub(crate) fn one_id(items: Vec<Untagged>) -> Option<Pairs> {
    items
        .into_iter()
        .find_map(|u| match u {
            Untagged::Id(p) => Some(p),
            _ => None,
        })
        .flatten()
}

pub(crate) fn enabled_includes(items: &[Data], what: &str) -> bool {
    items.iter().filter_map(Data::as_bytes).any(|b| {
        String::from_utf8_lossy(b)
            .to_ascii_uppercase()
            .contains(what)
    })
}

pub(crate) fn modified_of(items: &[Data]) -> Option<SequenceSet> {
    items
        .last()
        .and_then(Data::as_bytes)
        .and_then(|b| SequenceSet::parse(b).ok())
}

/// What a QRESYNC SELECT reported, from its reply and untagged data.
pub(crate) fn qresync_result(
    reply: &Reply,
    ur: &HashMap<String, Vec<Data>>,
    saved_uid_validity: u32,
) -> Result<Resync> {
    let info = crate::typed::select_info(reply, ur, false)?;
    let changed_validity = info.uid_validity != Some(saved_uid_validity);
    if changed_validity {
        return Ok(Resync {
            info,
            uid_validity_changed: true,
            changed: Vec::new(),
            vanished: None,
        });
    }
    let changed = crate::typed::fetches(
        decode_data(
            "FETCH",
            ur.get("FETCH").map(Vec::as_slice).unwrap_or_default(),
        )
        .into_iter()
        .flatten()
        .collect(),
    );
    let vanished = vanished_of(ur.get("VANISHED").cloned().unwrap_or_default());
    Ok(Resync {
        info,
        uid_validity_changed: false,
        changed,
        vanished,
    })
}

fn require_cap(caps: &[String], any_of: &[&str], what: &str) -> Result<()> {
    if any_of.iter().any(|c| caps.iter().any(|have| have == c)) {
        Ok(())
    } else {
        Err(Error::missing_capability(what))
    }
}

/// APPEND ... CATENATE (RFC 4469), after checking the capability and that
/// there is something to put together.
pub(crate) fn catenate_command(
    caps: &[String],
    mailbox: Option<&str>,
    flags: Option<&str>,
    date_time: Option<&str>,
    parts: &[CatenatePart<'_>],
) -> Result<imaplib_proto::Command> {
    require_cap(caps, &["CATENATE"], "CATENATE")?;
    if parts.is_empty() {
        return Err(Error::error("CATENATE needs at least one part"));
    }
    Ok(build::append_catenate(
        mailbox.map(str::as_bytes),
        flags.map(str::as_bytes),
        date_time.map(str::as_bytes),
        parts,
    ))
}

/// UID FETCH ... (PARTIAL range) (RFC 9394), after checking PARTIAL.
pub(crate) fn partial_fetch_command(
    caps: &[String],
    uid_set: &[u8],
    items: &[u8],
    range: PartialRange,
) -> Result<imaplib_proto::Command> {
    require_cap(caps, &["PARTIAL"], "PARTIAL")?;
    Ok(build::uid_fetch_partial(uid_set, items, range))
}

/// The resources a server lets SETQUOTA set (RFC 9208 `QUOTA=RES-*`),
/// upper case. Empty for an RFC 2087 server, which names none.
pub(crate) fn quota_resources_of(caps: &[String]) -> Vec<String> {
    caps.iter()
        .filter_map(|c| c.strip_prefix("QUOTA=RES-"))
        .map(str::to_string)
        .collect()
}

/// SETQUOTA (RFC 9208), after checking QUOTA and, when the server lists
/// its resources, that each one set is among them.
pub(crate) fn setquota_command(
    caps: &[String],
    root: &[u8],
    limits: &[(&str, u64)],
) -> Result<imaplib_proto::Command> {
    require_cap(caps, &["QUOTA"], "QUOTA")?;
    let known = quota_resources_of(caps);
    if !known.is_empty() {
        if let Some((bad, _)) = limits
            .iter()
            .find(|(r, _)| !known.iter().any(|k| k.eq_ignore_ascii_case(r)))
        {
            return Err(Error::error(format!(
                "Server does not support the quota resource {bad} (it announces {})",
                known.join(", ")
            )));
        }
    }
    if let Some((bad, _)) = limits
        .iter()
        .find(|(r, _)| r.is_empty() || !r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        return Err(Error::error(format!("invalid quota resource name {bad:?}")));
    }
    Ok(build::setquota_resources(root, limits))
}

/// SELECT / EXAMINE with QRESYNC parameters, after checking the capability
/// and the known-UID set.
pub(crate) fn qresync_command(
    caps: &[String],
    mailbox: &[u8],
    readonly: bool,
    uid_validity: u32,
    modseq: u64,
    known_uids: Option<&str>,
) -> Result<imaplib_proto::Command> {
    require_cap(caps, &["QRESYNC"], "QRESYNC")?;
    if let Some(k) = known_uids {
        SequenceSet::parse(k.as_bytes()).map_err(|e| Error::error(format!("known UIDs: {e}")))?;
    }
    if uid_validity == 0 || modseq == 0 {
        return Err(Error::error(
            "QRESYNC needs the saved UIDVALIDITY and a non-zero HIGHESTMODSEQ",
        ));
    }
    Ok(build::select_qresync(
        mailbox,
        readonly,
        uid_validity,
        modseq,
        known_uids,
    ))
}

/// The RETURN options of one page of SEARCH results (RFC 9394), after
/// checking PARTIAL.
pub(crate) fn search_partial_options(caps: &[String], range: PartialRange) -> Result<String> {
    require_cap(caps, &["PARTIAL"], "PARTIAL")?;
    Ok(format!("PARTIAL {range} COUNT"))
}

/// NOTIFY NONE, after checking NOTIFY.
pub(crate) fn notify_none_command(caps: &[String]) -> Result<imaplib_proto::Command> {
    require_cap(caps, &["NOTIFY"], "NOTIFY")?;
    Ok(build::notify_none())
}

/// NOTIFY SET (RFC 5465), after checking NOTIFY.
pub(crate) fn notify_command(
    caps: &[String],
    status: bool,
    groups: &[NotifyGroup],
) -> Result<imaplib_proto::Command> {
    require_cap(caps, &["NOTIFY"], "NOTIFY")?;
    if groups.is_empty() {
        return Err(Error::error(
            "NOTIFY SET needs at least one event group (use notify_none to stop)",
        ));
    }
    Ok(build::notify_set(status, groups))
}

impl<L: Link> Conn<'_, L> {
    /// ENABLE IMAP4rev2 (RFC 9051) when the server offers it; afterwards
    /// [`Imap4::protocol_version`] reports `IMAP4REV2`. Returns false when
    /// the server does not offer it.
    pub(crate) async fn enable_imap4rev2(&mut self) -> Result<bool> {
        if !self.has_capability("IMAP4REV2") {
            return Ok(false);
        }
        let reply = self.enable("IMAP4rev2").await?;
        let enabled = enabled_includes(&self.response("ENABLED").1, "IMAP4REV2");
        if reply.is_ok() && enabled {
            self.set_protocol_version_to("IMAP4REV2");
            return Ok(true);
        }
        Ok(false)
    }

    /// ID (RFC 2971): sends the client's fields and returns the server's,
    /// typed (`None` when it sends `ID NIL`). Raises `error` without ID.
    pub(crate) async fn id(&mut self, fields: Option<&[(&str, &str)]>) -> Result<Option<Pairs>> {
        if !self.has_capability("ID") {
            return Err(Error::missing_capability("ID"));
        }
        let items = self.typed_data(build::id(fields), "ID").await?;
        Ok(one_id(items))
    }

    /// UID EXPUNGE set (RFC 4315): expunges exactly these UIDs. Raises
    /// `error` without UIDPLUS (a plain EXPUNGE would remove others too).
    pub(crate) async fn uid_expunge(&mut self, uid_set: impl AsRef<[u8]>) -> Result<Reply> {
        if !self.has_capability("UIDPLUS") && !self.has_capability("IMAP4REV2") {
            return Err(Error::missing_capability("UIDPLUS"));
        }
        self.run_command(build::uid_expunge(uid_set.as_ref())).await
    }

    /// COPY by UID with the COPYUID result (RFC 4315).
    pub(crate) async fn uid_copy_typed(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        mailbox: impl AsRef<[u8]>,
    ) -> Result<Option<(u32, SequenceSet, SequenceSet)>> {
        let reply = self
            .uid("COPY", [uid_set.as_ref(), mailbox.as_ref()])
            .await?;
        if reply.typ != Status::Ok {
            return Err(Error::error(format!("UID COPY refused: {:?}", reply.data)));
        }
        Ok(copy_uid_of(&reply, self.untagged_responses()))
    }

    /// Moves messages by UID (RFC 6851): UID MOVE when the server has MOVE;
    /// otherwise, with UIDPLUS, UID COPY + UID STORE \Deleted + UID EXPUNGE
    /// of exactly those UIDs. Refuses (raises `error`, nothing sent) when
    /// neither is safe: a plain EXPUNGE could remove other messages.
    pub(crate) async fn uid_move_typed(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        mailbox: impl AsRef<[u8]>,
    ) -> Result<MoveResult> {
        let set = uid_set.as_ref();
        if self.has_capability("MOVE") || self.has_capability("IMAP4REV2") {
            self.response("COPYUID");
            let reply = self.uid("MOVE", [set, mailbox.as_ref()]).await?;
            if reply.typ != Status::Ok {
                return Err(Error::error(format!("UID MOVE refused: {:?}", reply.data)));
            }
            let copy_uid = copy_uid_of(&reply, self.untagged_responses());
            self.response("COPYUID");
            return Ok(MoveResult {
                copy_uid,
                fallback: false,
            });
        }
        if !self.has_capability("UIDPLUS") {
            return Err(Error::error(
                "Server has neither MOVE nor UIDPLUS: moving would need an EXPUNGE that can remove other messages",
            ));
        }
        let copy_uid = self.uid_copy_typed(set, mailbox).await?;
        let reply = self
            .uid("STORE", [set, b"+FLAGS.SILENT", b"(\\Deleted)"])
            .await?;
        if reply.typ != Status::Ok {
            return Err(Error::error(format!("UID STORE refused: {:?}", reply.data)));
        }
        let reply = self.uid_expunge(set).await?;
        if reply.typ != Status::Ok {
            return Err(Error::error(format!(
                "UID EXPUNGE refused: {:?}",
                reply.data
            )));
        }
        Ok(MoveResult {
            copy_uid,
            fallback: true,
        })
    }

    /// SELECT (or EXAMINE) with CONDSTORE (RFC 7162): the result carries
    /// HIGHESTMODSEQ (or NOMODSEQ).
    pub(crate) async fn select_condstore(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        readonly: bool,
    ) -> Result<SelectInfo> {
        if !self.has_capability("CONDSTORE") {
            return Err(Error::missing_capability("CONDSTORE"));
        }
        let reply = self
            .run_command(build::select_condstore(mailbox.as_ref(), readonly))
            .await?;
        crate::typed::select_info(&reply, self.untagged_responses(), readonly)
    }

    /// UID FETCH of the messages changed since `modseq` (RFC 7162), with
    /// the expunged UIDs (VANISHED) when QRESYNC is enabled and `vanished`.
    pub(crate) async fn uid_fetch_changed_since(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        items: impl AsRef<[u8]>,
        modseq: u64,
        vanished: bool,
    ) -> Result<(Vec<Fetch>, Option<SequenceSet>)> {
        self.response("VANISHED");
        self.response("FETCH");
        let reply = self
            .run_command(build::uid_fetch_changed_since(
                uid_set.as_ref(),
                items.as_ref(),
                modseq,
                vanished,
            ))
            .await?;
        let fetched = crate::typed::fetches(decode_reply(&reply, "FETCH")?);
        let gone = vanished_of(self.response("VANISHED").1);
        Ok((fetched, gone))
    }

    /// UID STORE with UNCHANGEDSINCE (RFC 7162): the FETCH results and the
    /// UIDs that were not stored because they changed (MODIFIED).
    pub(crate) async fn uid_store_unchanged_since(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        modseq: u64,
        command: impl AsRef<[u8]>,
        flags: impl AsRef<[u8]>,
    ) -> Result<(Vec<Fetch>, Option<SequenceSet>)> {
        let cmd = build::uid_store_unchanged_since(
            uid_set.as_ref(),
            modseq,
            command.as_ref(),
            flags.as_ref(),
        );
        self.response("MODIFIED");
        self.response("FETCH");
        let reply = self.run_command(cmd).await?;
        // The code comes with the tagged OK, which imaplib keeps by name.
        let modified = modified_of(&self.response("MODIFIED").1);
        Ok((
            crate::typed::fetches(decode_reply(&reply, "FETCH")?),
            modified,
        ))
    }

    /// SELECT (or EXAMINE) with QRESYNC parameters (RFC 7162 §3.2.5): the
    /// saved UIDVALIDITY and HIGHESTMODSEQ and, optionally, the UIDs the
    /// caller knows (`known_uids`, a UID set), so that VANISHED names only
    /// those. ENABLEs QRESYNC the first time (closing a selected mailbox to
    /// do so, as ENABLE needs the authenticated state). Raises `error` without
    /// QRESYNC or for a malformed UID set.
    pub(crate) async fn select_qresync(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        readonly: bool,
        saved_uid_validity: u32,
        saved_modseq: u64,
        known_uids: Option<&str>,
    ) -> Result<Resync> {
        let cmd = qresync_command(
            self.capabilities(),
            mailbox.as_ref(),
            readonly,
            saved_uid_validity,
            saved_modseq,
            known_uids,
        )?;
        // ENABLE holds for the rest of the session: sent (from the
        // authenticated state) only the first time.
        if !self.e.qresync_enabled {
            if self.e.session.state() == imaplib_proto::State::Selected {
                self.unselect().await?;
            }
            crate::typed::require_ok(&self.enable("QRESYNC").await?)?;
            self.e.qresync_enabled = true;
        }
        let reply = self.run_command(cmd).await?;
        qresync_result(&reply, self.untagged_responses(), saved_uid_validity)
    }

    /// Resynchronises a mailbox from a saved UIDVALIDITY and HIGHESTMODSEQ
    /// (RFC 7162): with QRESYNC (enabled here if needed) one SELECT returns
    /// the changes and the expunged UIDs; with CONDSTORE only, a SELECT and
    /// a FETCH CHANGEDSINCE return the changes (expunges then need a UID
    /// SEARCH by the caller). A changed UIDVALIDITY is reported and nothing
    /// else is trusted.
    pub(crate) async fn resync(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        saved_uid_validity: u32,
        saved_modseq: u64,
    ) -> Result<Resync> {
        self.resync_as(mailbox.as_ref(), false, saved_uid_validity, saved_modseq)
            .await
    }

    /// [`Conn::resync`] with EXAMINE: nothing in the mailbox changes.
    pub(crate) async fn resync_readonly(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        saved_uid_validity: u32,
        saved_modseq: u64,
    ) -> Result<Resync> {
        self.resync_as(mailbox.as_ref(), true, saved_uid_validity, saved_modseq)
            .await
    }

    async fn resync_as(
        &mut self,
        mailbox: &[u8],
        readonly: bool,
        saved_uid_validity: u32,
        saved_modseq: u64,
    ) -> Result<Resync> {
        if self.has_capability("QRESYNC") {
            return self
                .select_qresync(mailbox, readonly, saved_uid_validity, saved_modseq, None)
                .await;
        }
        let info = self.select_condstore(mailbox, readonly).await?;
        if info.uid_validity != Some(saved_uid_validity) {
            return Ok(Resync {
                info,
                uid_validity_changed: true,
                changed: Vec::new(),
                vanished: None,
            });
        }
        let (changed, _) = self
            .uid_fetch_changed_since("1:*", "(UID FLAGS)", saved_modseq, false)
            .await?;
        Ok(Resync {
            info,
            uid_validity_changed: false,
            changed,
            vanished: None,
        })
    }

    /// LIST with selection and return options (RFC 5258), STATUS in the
    /// same round trip with LIST-STATUS (RFC 5819). Raises `error` if the
    /// server lacks LIST-EXTENDED (or LIST-STATUS when a STATUS is asked).
    pub(crate) async fn list_extended(
        &mut self,
        selection: &[&str],
        reference: &str,
        patterns: &[&str],
        returns: &[&str],
    ) -> Result<Vec<ListWithStatus>> {
        if !self.has_capability("LIST-EXTENDED") && !self.has_capability("IMAP4REV2") {
            return Err(Error::missing_capability("LIST-EXTENDED"));
        }
        if returns
            .iter()
            .any(|r| r.to_ascii_uppercase().starts_with("STATUS"))
            && !self.has_capability("LIST-STATUS")
        {
            return Err(Error::missing_capability("LIST-STATUS"));
        }
        let patterns: Vec<&[u8]> = patterns.iter().map(|p| p.as_bytes()).collect();
        self.response("STATUS");
        self.response("LIST");
        let reply = self
            .run_command(build::list_extended(
                selection,
                reference.as_bytes(),
                &patterns,
                returns,
            ))
            .await?;
        let statuses = self.response("STATUS").1;
        list_with_status(&reply, statuses)
    }

    /// The mailboxes with an RFC 6154 special use, by use (`\Sent` ->
    /// mailbox). Uses `LIST (SPECIAL-USE)` when the server announces
    /// SPECIAL-USE, else the attributes of a plain LIST.
    pub(crate) async fn special_use_mailboxes(&mut self) -> Result<HashMap<String, ListEntry>> {
        let entries = if self.has_capability("SPECIAL-USE") && self.has_capability("LIST-EXTENDED")
        {
            self.list_extended(&["SPECIAL-USE"], "", &["*"], &[])
                .await?
                .into_iter()
                .map(|l| l.entry)
                .collect()
        } else {
            self.list_typed(None, None).await?
        };
        Ok(by_special_use(entries))
    }

    /// GETMETADATA (RFC 5464), typed. Raises `error` without METADATA.
    pub(crate) async fn getmetadata(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        entries: &[&str],
        options: Option<&str>,
    ) -> Result<Metadata> {
        if !self.has_capability("METADATA") && !self.has_capability("METADATA-SERVER") {
            return Err(Error::missing_capability("METADATA"));
        }
        let items = self
            .typed_data(
                build::getmetadata(mailbox.as_ref(), entries, options),
                "METADATA",
            )
            .await?;
        merge_metadata(items)
    }

    /// SETMETADATA (RFC 5464); `None` removes an entry.
    pub(crate) async fn setmetadata(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        entries: &[(&str, Option<&[u8]>)],
    ) -> Result<Reply> {
        if !self.has_capability("METADATA") && !self.has_capability("METADATA-SERVER") {
            return Err(Error::missing_capability("METADATA"));
        }
        self.run_command(build::setmetadata(mailbox.as_ref(), entries))
            .await
    }

    /// LISTRIGHTS (RFC 4314), typed.
    pub(crate) async fn listrights(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        identifier: impl AsRef<[u8]>,
    ) -> Result<ListRights> {
        if !self.has_capability("ACL") {
            return Err(Error::missing_capability("ACL"));
        }
        let items = self
            .typed_data(
                build::listrights(mailbox.as_ref(), identifier.as_ref()),
                "LISTRIGHTS",
            )
            .await?;
        one_listrights(items)
    }

    /// SORT RETURN (...) (RFC 5267 ESORT): MIN / MAX / COUNT / ALL of the
    /// sorted result, typed as ESEARCH; `uid` for UID SORT. Raises `error`
    /// without ESORT.
    pub(crate) async fn esort<I, A>(
        &mut self,
        uid: bool,
        return_options: &str,
        sort_criteria: &str,
        charset: &str,
        criteria: I,
    ) -> Result<imaplib_proto::types::ESearch>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let cmd = esort_command(
            self.capabilities(),
            uid,
            return_options,
            sort_criteria,
            charset,
            criteria,
        )?;
        let mut all = self.typed_data(cmd, "ESEARCH").await?;
        Ok(crate::typed::one_esearch(all.pop(), uid))
    }

    /// APPEND binary content as a literal8 (RFC 3516 BINARY): any bytes,
    /// NUL included, sent as they are. Raises `error` without BINARY.
    pub(crate) async fn append_binary(
        &mut self,
        mailbox: Option<&str>,
        flags: Option<&str>,
        message: impl AsRef<[u8]>,
    ) -> Result<Reply> {
        if !self.has_capability("BINARY") {
            return Err(Error::missing_capability("BINARY"));
        }
        self.run_command(build::append_binary(
            mailbox.map(str::as_bytes),
            flags.map(str::as_bytes),
            None,
            message.as_ref(),
        ))
        .await
    }

    /// APPEND with CATENATE (RFC 4469): the server builds the message from
    /// text parts and IMAP URLs of messages or parts it already holds
    /// (forwarding an attachment without downloading it). Returns the
    /// APPENDUID when the server sends one; a refusal (for instance
    /// `NO [BADURL ...]`) raises `error` with the server's text. Raises
    /// `error` without CATENATE.
    pub(crate) async fn append_catenate(
        &mut self,
        mailbox: Option<&str>,
        flags: Option<&str>,
        date_time: Option<&str>,
        parts: &[CatenatePart<'_>],
    ) -> Result<Option<(u32, SequenceSet)>> {
        let cmd = catenate_command(self.capabilities(), mailbox, flags, date_time, parts)?;
        crate::typed::append_uid(&self.run_command(cmd).await?)
    }

    /// UID FETCH of only the messages at positions `range` among those
    /// `uid_set` names (RFC 9394 PARTIAL), e.g. the newest 50 with
    /// `PartialRange::last(1, 50)`. Raises `error` without PARTIAL.
    pub(crate) async fn uid_fetch_partial(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        items: impl AsRef<[u8]>,
        range: PartialRange,
    ) -> Result<Vec<Fetch>> {
        let cmd =
            partial_fetch_command(self.capabilities(), uid_set.as_ref(), items.as_ref(), range)?;
        self.typed_fetches(cmd).await
    }

    /// One page of SEARCH results (RFC 9394 PARTIAL): `SEARCH RETURN
    /// (PARTIAL range COUNT)`, so the total comes along. The page is in
    /// [`ESearch::partial_result`]. Raises `error` without PARTIAL.
    pub(crate) async fn search_partial<I, A>(
        &mut self,
        uid: bool,
        range: PartialRange,
        criteria: I,
    ) -> Result<ESearch>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let options = search_partial_options(self.capabilities(), range)?;
        self.esearch(uid, &options, criteria).await
    }

    /// SETQUOTA root (resource limit ...) (RFC 9208, RFC 2087), typed: the
    /// QUOTA the server reports afterwards. Resource names are checked
    /// against the ones the server announces. Raises `error` without QUOTA
    /// or when refused.
    pub(crate) async fn setquota_typed(
        &mut self,
        root: impl AsRef<[u8]>,
        limits: &[(&str, u64)],
    ) -> Result<Vec<Quota>> {
        let cmd = setquota_command(self.capabilities(), root.as_ref(), limits)?;
        Ok(crate::typed::quotas(self.typed_data(cmd, "QUOTA").await?))
    }

    /// NOTIFY SET (RFC 5465): from now on the server reports the chosen
    /// events as they happen, also for mailboxes other than the selected
    /// one (as STATUS, LIST and METADATA responses). They arrive as typed
    /// events through [`Imap4::idle_with`], or through
    /// [`Imap4::take_events`] after any command when events are on
    /// ([`Imap4::set_events`]). With `status`, the server first sends a
    /// STATUS for every watched mailbox. Raises `error` without NOTIFY or
    /// when refused (`NO [BADEVENT ...]` names the events it lacks).
    pub(crate) async fn notify_set(
        &mut self,
        status: bool,
        groups: &[NotifyGroup],
    ) -> Result<Reply> {
        let cmd = notify_command(self.capabilities(), status, groups)?;
        let reply = self.run_command(cmd).await?;
        crate::typed::require_ok(&reply)?;
        Ok(reply)
    }

    /// NOTIFY NONE: no more notifications. Raises `error` without NOTIFY.
    pub(crate) async fn notify_none(&mut self) -> Result<Reply> {
        let cmd = notify_none_command(self.capabilities())?;
        self.run_command(cmd).await
    }
}
