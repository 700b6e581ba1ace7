//! Moving messages: downloads (pipelined, or streamed for big ones),
//! APPENDs journalled as pending, and matching messages again by content
//! after an interruption or a UIDVALIDITY change.

use super::*;
use crate::maildir::Staged;

/// Messages at most this big are fetched in pipelined batches (held in
/// memory one batch at a time); bigger ones are streamed to their file.
const INLINE_MAX: u64 = 1024 * 1024;
/// Bytes asked for in one batch at most.
const BATCH_BYTES: u64 = 8 * 1024 * 1024;
/// Messages per batch at most.
const BATCH_MAX: usize = 500;
/// Batches in flight at once.
const WINDOW: usize = 2;
/// Messages appended between two saves of the state.
const APPEND_CHUNK: usize = 50;
/// What a download asks for.
const ITEMS: &str = "(UID FLAGS INTERNALDATE BODY.PEEK[])";

impl OneMailbox<'_> {
    fn tell_progress(&mut self) {
        (self.progress)(&Progress {
            mailbox: &self.mb.name,
            messages: self.report.moved,
            bytes: self.report.bytes,
            total_messages: 0,
            total_bytes: 0,
        });
    }

    /// After a UIDVALIDITY change: the old UIDs name nothing, so the
    /// local files are matched with the server's messages by Message-ID
    /// and size (INTERNALDATE breaking ties), without downloading them.
    /// A matched file keeps its name and the flags both sides last agreed
    /// on; a file that matches nothing stays, and is a local message from
    /// now on (sent to the server unless `--pull`); nothing local is
    /// removed.
    pub(super) fn rematch(
        &mut self,
        old: MailboxState,
        view: &ServerView,
        found: &HashMap<String, LocalMessage>,
    ) -> Result<MailboxState> {
        let name = self.mb.name.clone();
        self.report.notes.push(format!(
            "UIDVALIDITY changed from {} to {}: messages matched again",
            old.uidvalidity, view.uidvalidity
        ));
        let listed = if view.now.is_empty() {
            Vec::new()
        } else {
            self.m
                .uid_fetch_typed(
                    "1:*",
                    "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
                )
                .map_err(imap(format!("cannot list the messages of {name}")))?
        };
        // The server's messages by (Message-ID, size).
        let mut by_key: HashMap<MessageKey, Vec<(u32, Option<i64>)>> = HashMap::new();
        for f in &listed {
            let size = rfc822_size(f);
            if let (Some(uid), Some(size)) = (f.uid(), size) {
                let id = f.body().and_then(|b| message_id(&b));
                let date = f.internal_date().map(|d| d.timestamp());
                by_key.entry((id, size)).or_default().push((uid, date));
            }
        }
        let old_flags: HashMap<&str, &Flags> = old
            .messages
            .values()
            .map(|k| (k.base.as_str(), &k.flags))
            .collect();
        let mut st = MailboxState {
            name: old.name.clone(),
            path: self.path.clone(),
            uidvalidity: view.uidvalidity,
            ..Default::default()
        };
        let mut bases: Vec<&String> = found.keys().collect();
        bases.sort();
        for base in bases {
            let msg = &found[base];
            let data = match maildir::read_for_append(&msg.path) {
                Ok(data) => data,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(local("cannot read a message")(e)),
            };
            let key = (message_id(&data), data.len() as u64);
            let Some(candidates) = by_key.get_mut(&key) else {
                continue;
            };
            // Our files begin with the INTERNALDATE they were given.
            let secs: Option<i64> = base.split('.').next().and_then(|s| s.parse().ok());
            let pick = candidates
                .iter()
                .position(|(_, date)| date.is_some() && *date == secs)
                .unwrap_or(0);
            let (uid, _) = candidates.remove(pick);
            if candidates.is_empty() {
                by_key.remove(&key);
            }
            let flags = match old_flags.get(base.as_str()) {
                Some(f) => (*f).clone(),
                None => flags::from_letters(&msg.letters),
            };
            st.messages.insert(
                uid,
                Known {
                    base: base.clone(),
                    flags,
                },
            );
        }
        Ok(st)
    }

    /// Downloads `uids` into the Maildir, saving the state after each
    /// batch.
    pub(super) fn download(&mut self, st: &mut MailboxState, uids: &[u32]) -> Result<()> {
        let name = self.mb.name.clone();
        let mut sizes: HashMap<u32, u64> = HashMap::new();
        for chunk in uids.chunks(LIST_CHUNK) {
            let set = SequenceSet::from_numbers(chunk.iter().copied()).to_string();
            let listed = self
                .m
                .uid_fetch_typed(&set, "(UID RFC822.SIZE)")
                .map_err(imap(format!("cannot fetch from {name}")))?;
            for f in listed {
                let size = rfc822_size(&f);
                if let (Some(uid), Some(size)) = (f.uid(), size) {
                    sizes.insert(uid, size);
                }
            }
        }
        let (small, big): (Vec<u32>, Vec<u32>) = uids
            .iter()
            .copied()
            .filter(|u| sizes.contains_key(u))
            .partition(|u| sizes[u] <= INLINE_MAX);

        let batches = batches_by_size(&small, &sizes, BATCH_BYTES, BATCH_MAX);
        let md = self.md.clone();
        let mut failure: Option<SyncError> = None;
        let mut staged: Vec<(Staged, Flags)> = Vec::new();
        let states = self.states;
        let report = &mut *self.report;
        let progress = &mut *self.progress;
        let mailbox = self.mb.name.as_str();
        let result = self.m.uid_fetch_batches(&batches, ITEMS, WINDOW, |f| {
            let stored = (|| -> Result<()> {
                let (Some(uid), Some(body)) = (f.uid(), f.body()) else {
                    return Ok(());
                };
                if st.messages.contains_key(&uid) || staged.iter().any(|(s, _)| s.uid() == uid) {
                    return Ok(());
                }
                let fl = flags::of_fetch(&f);
                let mut incoming = md.begin().map_err(local("cannot write a message"))?;
                incoming
                    .write(&body)
                    .map_err(local("cannot write a message"))?;
                let ready = incoming
                    .close(uid, f.internal_date(), &flags::letters(&fl))
                    .map_err(local("cannot write a message"))?;
                staged.push((ready, fl));
                report.bytes += body.len() as u64;
                report.moved += 1;
                progress(&Progress {
                    mailbox,
                    messages: report.moved,
                    bytes: report.bytes,
                    total_messages: 0,
                    total_bytes: 0,
                });
                if staged.len() >= BATCH_MAX {
                    commit(&md, states, st, std::mem::take(&mut staged))?;
                }
                Ok(())
            })();
            stored.map_err(|e| {
                let text = e.to_string();
                failure = Some(e);
                imaplib::Error::error(text)
            })
        });
        if let Some(f) = failure {
            return Err(f);
        }
        result.map_err(imap(format!("cannot fetch from {name}")))?;
        commit(&md, states, st, staged)?;

        for uid in big {
            self.download_streamed(st, uid)?;
        }
        Ok(())
    }

    /// Downloads one big message straight into its file.
    pub(super) fn download_streamed(&mut self, st: &mut MailboxState, uid: u32) -> Result<()> {
        let name = self.mb.name.clone();
        let info = self
            .m
            .uid_fetch_typed(uid.to_string(), "(UID FLAGS INTERNALDATE)")
            .map_err(imap(format!("cannot fetch from {name}")))?;
        let Some(info) = info.into_iter().find(|f| f.uid() == Some(uid)) else {
            return Ok(()); // Expunged meanwhile.
        };
        let fl = flags::of_fetch(&info);
        let mut incoming: Option<Incoming> = None;
        let mut write_error: Option<io::Error> = None;
        let md = self.md.clone();
        let mut received = 0u64;
        let reply = self
            .m
            .fetch_streamed(true, uid.to_string(), "(BODY.PEEK[])", |piece| {
                match piece {
                    imaplib::Streamed::Start { .. } => {
                        if incoming.is_none() {
                            incoming = Some(md.begin()?);
                        }
                    }
                    imaplib::Streamed::Data(data) => {
                        if let Some(inc) = incoming.as_mut() {
                            received += data.len() as u64;
                            if let Err(e) = inc.write(data) {
                                write_error = Some(io::Error::new(e.kind(), e.to_string()));
                                return Err(e);
                            }
                        }
                    }
                }
                Ok(())
            });
        if let Some(e) = write_error {
            return Err(SyncError::Local {
                context: "cannot write a message".into(),
                err: e,
            });
        }
        answered(reply, format!("cannot fetch from {name}"))?;
        let Some(incoming) = incoming else {
            return Ok(());
        };
        let ready = incoming
            .close(uid, info.internal_date(), &flags::letters(&fl))
            .map_err(local("cannot write a message"))?;
        self.report.bytes += received;
        self.report.moved += 1;
        self.tell_progress();
        commit(&md, self.states, st, vec![(ready, fl)])
    }

    /// Appends the local messages `bases` to the server. Each is recorded
    /// as pending before it is sent, so that a run killed in between finds
    /// the copy on the server instead of sending it twice.
    pub(super) fn append(
        &mut self,
        st: &mut MailboxState,
        found: &HashMap<String, LocalMessage>,
        bases: &[String],
        uidnext: u32,
    ) -> Result<()> {
        let name = self.mb.name.clone();
        let mut uid_from = uidnext.max(st.uidnext).max(1);
        for chunk in bases.chunks(APPEND_CHUNK) {
            let mut batch = Vec::new();
            for base in chunk {
                let msg = &found[base];
                let data = match maildir::read_for_append(&msg.path) {
                    Ok(data) => data,
                    // Removed since the scan: nothing to send.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(local("cannot read a message")(e)),
                };
                let fl = flags::from_letters(&msg.letters);
                st.pending.push(Pending {
                    base: base.clone(),
                    size: data.len() as u64,
                    message_id: message_id(&data),
                    flags: fl.clone(),
                    uid_from,
                });
                batch.push((base.clone(), data, fl, maildir::mtime(&msg.path)));
            }
            self.save(st)?;
            let mut unmatched = false;
            for (base, data, fl, date) in batch {
                let flag_list = format!("({})", flags::list(&fl));
                let answer = self
                    .m
                    .append_typed(
                        Some(&self.mb.wire),
                        Some(&flag_list),
                        date.map(DateInput::DateTime),
                        &data,
                    )
                    .map_err(imap(format!("cannot append to {name}")))?;
                self.report.bytes += data.len() as u64;
                self.report.moved += 1;
                self.tell_progress();
                match answer.and_then(|(v, set)| (v == st.uidvalidity).then_some(set)) {
                    Some(set) => {
                        if let Some(uid) = set.iter_numbers().next() {
                            st.pending.retain(|p| p.base != base);
                            st.messages.insert(uid, Known { base, flags: fl });
                            uid_from = uid_from.max(uid + 1);
                        }
                    }
                    None => unmatched = true,
                }
            }
            if unmatched {
                self.recover_pending(st)?;
            }
            self.save(st)?;
        }
        Ok(())
    }

    /// Matches the pending APPENDs of an interrupted run (or of a server
    /// without APPENDUID) with the messages that arrived on the server
    /// since: same size and Message-ID, a UID not yet known. Those not
    /// found were never stored, and are sent again.
    pub(super) fn recover_pending(&mut self, st: &mut MailboxState) -> Result<()> {
        let name = self.mb.name.clone();
        let from = st
            .pending
            .iter()
            .map(|p| p.uid_from)
            .min()
            .unwrap_or(1)
            .max(1);
        let candidates = self
            .m
            .uid_fetch_typed(
                format!("{from}:*"),
                "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
            )
            .map_err(imap(format!("cannot fetch from {name}")))?;
        let mut taken: HashSet<u32> = st.messages.keys().copied().collect();
        let pending = std::mem::take(&mut st.pending);
        for p in pending {
            let hit = candidates.iter().find_map(|f| {
                let uid = f.uid()?;
                let size = rfc822_size(f)?;
                let id = f.body().and_then(|b| message_id(&b));
                (uid >= p.uid_from && !taken.contains(&uid) && size == p.size && id == p.message_id)
                    .then_some(uid)
            });
            if let Some(uid) = hit {
                taken.insert(uid);
                st.messages.insert(
                    uid,
                    Known {
                        base: p.base,
                        flags: p.flags,
                    },
                );
            }
        }
        self.save(st)
    }
}

/// `uids` cut into FETCH batches of at most `max_bytes` (as the server
/// counts them in `sizes`; a bigger message alone) and `max_count`
/// messages, so that no reply is much bigger whatever the mix of sizes.
pub(crate) fn batches_by_size<'a>(
    uids: &'a [u32],
    sizes: &HashMap<u32, u64>,
    max_bytes: u64,
    max_count: usize,
) -> Vec<&'a [u32]> {
    let size = |u: &u32| sizes.get(u).copied().unwrap_or(0);
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, uid) in uids.iter().enumerate() {
        if i > start && (bytes.saturating_add(size(uid)) > max_bytes || i - start >= max_count) {
            batches.push(&uids[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes = bytes.saturating_add(size(uid));
    }
    if start < uids.len() {
        batches.push(&uids[start..]);
    }
    batches
}

/// Places a batch of downloaded messages (on disk whole first) and then
/// records them in the saved state.
fn commit(
    md: &Maildir,
    states: &StateDir,
    st: &mut MailboxState,
    batch: Vec<(Staged, Flags)>,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let (files, flags): (Vec<Staged>, Vec<Flags>) = batch.into_iter().unzip();
    let uids: Vec<u32> = files.iter().map(Staged::uid).collect();
    let bases = md
        .place_all(st.uidvalidity, files)
        .map_err(local("cannot write a message"))?;
    for ((uid, base), flags) in uids.into_iter().zip(bases).zip(flags) {
        st.messages.insert(uid, Known { base, flags });
    }
    states.save(st).map_err(local("cannot save the state"))
}

/// The Message-ID header of a message (or of its header section).
pub fn message_id(data: &[u8]) -> Option<String> {
    let mut lines = data.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.len() >= 11 && line[..11].eq_ignore_ascii_case(b"message-id:") {
            let mut value = String::from_utf8_lossy(&line[11..]).into_owned();
            while let Some(next) = lines.peek() {
                if next.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                    let next = lines.next().unwrap_or_default();
                    let next = next.strip_suffix(b"\r").unwrap_or(next);
                    value.push_str(&String::from_utf8_lossy(next));
                } else {
                    break;
                }
            }
            let value = value.trim().to_string();
            return (!value.is_empty()).then_some(value);
        }
    }
    None
}
