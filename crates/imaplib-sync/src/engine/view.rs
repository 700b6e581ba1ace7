//! What a server holds: its mailboxes (LIST), and for one mailbox which
//! messages it has and whose flags may have changed since a known point
//! (QRESYNC, CONDSTORE or a full listing). Shared by the Maildir mirror
//! and the server-to-server copy.

use super::*;

/// A mailbox on the server, as LIST named it.
#[derive(Debug, Clone)]
pub(crate) struct ServerMailbox {
    /// Its name in UTF-8.
    pub(crate) name: String,
    /// Its name on the wire.
    pub(crate) wire: String,
}

/// The selectable mailboxes matching `patterns` (none: `*`), by UTF-8
/// name, and the hierarchy delimiter.
pub(crate) fn list_server(
    m: &mut Imap4,
    patterns: &[String],
) -> Result<(Option<char>, BTreeMap<String, ServerMailbox>)> {
    let all = ["*".to_string()];
    let patterns = if patterns.is_empty() {
        &all[..]
    } else {
        patterns
    };
    let mut delimiter = None;
    let mut server: BTreeMap<String, ServerMailbox> = BTreeMap::new();
    for pattern in patterns {
        let entries = m
            .list_typed(Some(""), Some(&utf7::encode(pattern)))
            .map_err(imap("cannot list the mailboxes"))?;
        for entry in entries {
            if let Some(d) = entry.delimiter {
                delimiter.get_or_insert(char::from(d));
            }
            let unselectable = entry.attributes.iter().any(|a| {
                a.eq_ignore_ascii_case("\\Noselect") || a.eq_ignore_ascii_case("\\NonExistent")
            });
            if unselectable {
                continue;
            }
            let Ok(wire) = String::from_utf8(entry.mailbox.raw.to_vec()) else {
                continue;
            };
            let name = utf7::decode(wire.as_bytes()).unwrap_or_else(|_| wire.clone());
            server.insert(name.clone(), ServerMailbox { name, wire });
        }
    }
    if delimiter.is_none() {
        delimiter = server_delimiter(m);
    }
    Ok((delimiter, server))
}

/// The server's hierarchy delimiter (`LIST "" ""`), if it has one.
pub(crate) fn server_delimiter(m: &mut Imap4) -> Option<char> {
    let entries = m.list_typed(Some(""), Some("")).ok()?;
    entries.first().and_then(|e| e.delimiter).map(char::from)
}

/// What the server says of a mailbox's messages now.
#[derive(Debug)]
pub(crate) struct ServerView {
    pub(crate) uidvalidity: u32,
    pub(crate) uidnext: u32,
    pub(crate) highestmodseq: Option<u64>,
    /// Every UID the mailbox holds, with its flags when they may have
    /// changed since the last sync (`None`: unchanged).
    pub(crate) now: BTreeMap<u32, Option<Flags>>,
}

/// What the last run saw of a mailbox.
pub(crate) struct Last<'a> {
    pub(crate) uidvalidity: u32,
    pub(crate) highestmodseq: Option<u64>,
    /// The UIDs it knew were there.
    pub(crate) uids: &'a mut dyn Iterator<Item = u32>,
}

/// Opens `mb` (read-only when `readonly`) and learns which messages it
/// holds, with the flags of those that may have changed: from QRESYNC or
/// CONDSTORE when the server has them and the last run left a
/// HIGHESTMODSEQ, else from a listing of every UID and its flags.
pub(crate) fn server_view(
    m: &mut Imap4,
    mb: &ServerMailbox,
    last: Option<Last<'_>>,
    readonly: bool,
) -> Result<ServerView> {
    let name = &mb.name;
    let wire = &mb.wire;
    let qresync = m.has_capability("QRESYNC");
    let condstore = qresync || m.has_capability("CONDSTORE");
    let mut now = BTreeMap::new();
    if let Some(last) = last.filter(|l| l.highestmodseq.is_some() && condstore) {
        let modseq = last.highestmodseq.unwrap_or_default();
        let r = if readonly {
            m.resync_readonly(wire, last.uidvalidity, modseq)
        } else {
            m.resync(wire, last.uidvalidity, modseq)
        }
        .map_err(imap(format!("cannot open {name}")))?;
        let info = r.info;
        let uidvalidity = info.uid_validity.unwrap_or_default();
        if !r.uid_validity_changed && uidvalidity == last.uidvalidity && !info.no_modseq {
            // The VANISHED ranges sorted and merged, each UID looked up in
            // them (a range may be huge: never expanded).
            let mut ranges: Vec<(u32, u32)> = r
                .vanished
                .as_ref()
                .map(|set| set.ranges().iter().map(|g| g.bounds(u32::MAX)).collect())
                .unwrap_or_default();
            ranges.sort_unstable();
            let mut gone: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
            for (lo, hi) in ranges {
                match gone.last_mut() {
                    Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                    _ => gone.push((lo, hi)),
                }
            }
            let vanished = |uid: u32| {
                let upto = gone.partition_point(|&(lo, _)| lo <= uid);
                upto > 0 && gone[upto - 1].1 >= uid
            };
            let mut present: Option<HashSet<u32>> = None;
            // Under QRESYNC no VANISHED means nothing was expunged.
            if !qresync {
                // CONDSTORE alone does not say what was expunged.
                let all = m
                    .uid_search_typed(["ALL"])
                    .map_err(imap(format!("cannot search {name}")))?;
                present = Some(all.ids.into_iter().collect());
            }
            for uid in last.uids {
                let there = match &present {
                    Some(p) => p.contains(&uid),
                    None => !vanished(uid),
                };
                if there {
                    now.insert(uid, None);
                }
            }
            for f in &r.changed {
                if let (Some(uid), Some(fl)) = (f.uid(), f.flags()) {
                    if present.as_ref().is_none_or(|p| p.contains(&uid)) {
                        now.insert(uid, Some(flags::from_server(fl.iter())));
                    }
                }
            }
            // New messages the CHANGEDSINCE answer did not carry.
            if let Some(p) = &present {
                let missing: Vec<u32> =
                    p.iter().copied().filter(|u| !now.contains_key(u)).collect();
                list_flags(m, name, &missing, &mut now)?;
            }
            return Ok(ServerView {
                uidvalidity,
                uidnext: info.uid_next.unwrap_or_default(),
                highestmodseq: info.highest_modseq,
                now,
            });
        }
        // A changed UIDVALIDITY (or no more mod-sequences): the full
        // listing below, from a plain SELECT.
    }
    let info = if condstore {
        m.select_condstore(wire, readonly)
    } else {
        m.select_typed(wire, readonly)
    }
    .map_err(imap(format!("cannot open {name}")))?;
    let uidvalidity = info.uid_validity.ok_or_else(|| SyncError::Refused {
        context: format!("cannot sync {name}"),
        text: "the server sent no UIDVALIDITY".into(),
    })?;
    if info.exists > 0 {
        let listed = m
            .uid_fetch_typed("1:*", "(UID FLAGS)")
            .map_err(imap(format!("cannot list the messages of {name}")))?;
        for f in listed {
            if let (Some(uid), Some(fl)) = (f.uid(), f.flags()) {
                now.insert(uid, Some(flags::from_server(fl.iter())));
            }
        }
    }
    Ok(ServerView {
        uidvalidity,
        uidnext: info.uid_next.unwrap_or_default(),
        highestmodseq: info.highest_modseq.filter(|_| !info.no_modseq),
        now,
    })
}

/// Adds the flags of `uids` to `now`.
pub(crate) fn list_flags(
    m: &mut Imap4,
    name: &str,
    uids: &[u32],
    now: &mut BTreeMap<u32, Option<Flags>>,
) -> Result<()> {
    for chunk in uids.chunks(LIST_CHUNK) {
        let set = SequenceSet::from_numbers(chunk.iter().copied()).to_string();
        let listed = m
            .uid_fetch_typed(&set, "(UID FLAGS)")
            .map_err(imap(format!("cannot list the messages of {name}")))?;
        for f in listed {
            if let (Some(uid), Some(fl)) = (f.uid(), f.flags()) {
                now.insert(uid, Some(flags::from_server(fl.iter())));
            }
        }
    }
    Ok(())
}
