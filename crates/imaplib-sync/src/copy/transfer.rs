//! Moving messages between the two servers: pipelined FETCH batches into
//! one MULTIAPPEND each (or one APPEND per message), and big messages
//! streamed from the source's FETCH into the destination's APPEND by a
//! second thread, a few chunks in flight.

use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver};

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};
use imaplib::types::{Fetch, ResponseCode};
use imaplib::{DateInput, Reply, Status, Streamed};

use super::*;
use crate::engine::{batches_by_size, message_id, reply_text, rfc822_size};

/// What identifies a message on the destination (see [`key_of`]).
pub(super) const KEY_ITEMS: &str =
    "(UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])";
/// What a copy fetches.
const ITEMS: &str = "(UID FLAGS INTERNALDATE BODY.PEEK[])";
/// Messages at most this big go in batches; bigger ones are streamed.
const INLINE_MAX: u64 = 1024 * 1024;
/// Bytes in one batch at most.
const BATCH_BYTES: u64 = 2 * 1024 * 1024;
/// Messages in one batch at most.
const BATCH_MAX: usize = 500;
/// FETCH batches in flight at once.
const WINDOW: usize = 2;
/// Fetched batches waiting for their APPEND.
const BATCHES_AHEAD: usize = 1;
/// Chunks of a streamed message in flight between the two threads.
const CHUNKS_IN_FLIGHT: usize = 8;
/// Small messages fetched in one pipeline at most (several batches): once
/// the destination says it is over its quota, what is fetched but not
/// sent stays within one of these.
const RUN_BYTES: u64 = 8 * BATCH_BYTES;
/// Messages in one such pipeline at most.
const RUN_MAX: usize = 8 * BATCH_MAX;

/// The key of a [`KEY_ITEMS`] answer.
pub(super) fn key_of(f: &Fetch) -> Option<Key> {
    let size = rfc822_size(f)?;
    let id = f.body().and_then(|b| message_id(&b));
    Some((id, size, f.internal_date().map(|d| d.timestamp())))
}

/// A fetched message on its way.
struct Message {
    src: u32,
    flags: Flags,
    date: Option<DateTime<FixedOffset>>,
    body: Bytes,
}

/// What became of one APPEND.
enum Appended {
    /// Stored, with its UID when the destination said it (APPENDUID).
    Stored(Option<u32>),
    /// Refused, with the destination's text.
    Refused(String),
    /// Not sent: the destination is over its quota.
    NotSent,
}

impl OneCopy<'_> {
    /// Copies the source messages `uids`.
    pub(super) fn copy(&mut self, st: &mut CopyState, uids: &[u32]) -> Result<()> {
        let name = self.mb.name.clone();
        let mut sizes: HashMap<u32, u64> = HashMap::new();
        for chunk in uids.chunks(crate::engine::LIST_CHUNK) {
            let set = SequenceSet::from_numbers(chunk.iter().copied()).to_string();
            let listed = self
                .src
                .uid_fetch_typed(&set, "(UID RFC822.SIZE)")
                .map_err(imap(format!("cannot fetch from {name}")))?;
            for f in listed {
                if let (Some(uid), Some(size)) = (f.uid(), rfc822_size(&f)) {
                    sizes.insert(uid, size);
                }
            }
        }
        let mut wanted = Vec::new();
        for &uid in uids {
            let Some(&size) = sizes.get(&uid) else {
                continue; // Expunged meanwhile.
            };
            match self.sink.limit {
                Some(limit) if size > limit => {
                    st.skipped.insert(uid);
                    self.sink.report.skipped.push(format!(
                        "UID {uid}: {size} bytes, over the destination's APPENDLIMIT of {limit}"
                    ))
                }
                _ => wanted.push(uid),
            }
        }

        self.sink.total = (
            wanted.len() as u64,
            wanted.iter().fold(0u64, |t, u| t.saturating_add(sizes[u])),
        );
        self.sink.tell_progress(0);
        // In UID order, so that the destination's UIDs follow the
        // source's: runs of small messages in batches, each big one
        // streamed where it comes. Once the destination is over its
        // quota, the rest is not sent (and tried again next run).
        let mut run = Vec::new();
        let mut run_bytes = 0u64;
        for (i, &uid) in wanted.iter().enumerate() {
            let big = sizes[&uid] > INLINE_MAX;
            if big || run.len() >= RUN_MAX || run_bytes >= RUN_BYTES {
                self.copy_batched(st, &std::mem::take(&mut run), &sizes)?;
                run_bytes = 0;
            }
            if self.sink.report.over_quota.is_some() {
                let rest = &wanted[i..];
                st.skipped.extend(rest);
                self.sink.report.not_sent += rest.len() as u64;
                return self.sink.save(st);
            }
            if big {
                self.copy_streamed(st, uid)?;
            } else {
                run.push(uid);
                run_bytes += sizes[&uid];
            }
        }
        self.copy_batched(st, &run, &sizes)
    }

    /// Copies the small messages `small` (in this order): pipelined FETCH
    /// batches from the source, one MULTIAPPEND each on the destination.
    fn copy_batched(
        &mut self,
        st: &mut CopyState,
        small: &[u32],
        sizes: &HashMap<u32, u64>,
    ) -> Result<()> {
        if small.is_empty() {
            return Ok(());
        }
        let name = self.mb.name.clone();
        let batches = batches_by_size(small, sizes, BATCH_BYTES, BATCH_MAX);
        // The source's FETCH runs on a second thread, a batch ahead of
        // the destination's APPENDs: both servers work at once.
        let src = &mut *self.src;
        let sink = &mut self.sink;
        let batches = &batches;
        std::thread::scope(|scope| -> Result<()> {
            let (tx, rx) = sync_channel::<Vec<Message>>(BATCHES_AHEAD);
            let fetching = scope.spawn(move || {
                let mut wanted: HashSet<u32> = small.iter().copied().collect();
                let mut batch: Vec<Message> = Vec::new();
                let mut batch_bytes = 0u64;
                let fetched = src.uid_fetch_batches(batches, ITEMS, WINDOW, |f| {
                    let (Some(uid), Some(body)) = (f.uid(), f.body()) else {
                        return Ok(());
                    };
                    // Each message once, and only those asked for.
                    if !wanted.remove(&uid) {
                        return Ok(());
                    }
                    batch_bytes += body.len() as u64;
                    batch.push(Message {
                        src: uid,
                        flags: flags::of_fetch(&f),
                        date: f.internal_date(),
                        body: body.clone(),
                    });
                    if batch.len() >= BATCH_MAX || batch_bytes >= BATCH_BYTES {
                        batch_bytes = 0;
                        tx.send(std::mem::take(&mut batch))
                            .map_err(|_| imaplib::Error::error("the destination stopped"))?;
                    }
                    Ok(())
                });
                if fetched.is_ok() && !batch.is_empty() {
                    let _ = tx.send(batch);
                }
                fetched
            });
            let mut appended = Ok(());
            for batch in rx.iter() {
                appended = sink.append_batch(st, batch);
                if appended.is_err() {
                    break;
                }
            }
            // A failed APPEND stops the FETCH at its next batch.
            drop(rx);
            let fetched = fetching
                .join()
                .unwrap_or_else(|_| Err(imaplib::Error::abort("the fetching thread failed")));
            appended?;
            fetched.map_err(imap(format!("cannot fetch from {name}")))
        })
    }

    /// Copies one big message: the source's FETCH runs on a second
    /// thread and hands its chunks over as they arrive; the destination's
    /// APPEND (its length from the FETCH literal) reads them.
    fn copy_streamed(&mut self, st: &mut CopyState, uid: u32) -> Result<()> {
        let name = self.mb.name.clone();
        let info = self
            .src
            .uid_fetch_typed(uid.to_string(), KEY_ITEMS)
            .map_err(imap(format!("cannot fetch from {name}")))?;
        let Some(info) = info.into_iter().find(|f| f.uid() == Some(uid)) else {
            return Ok(()); // Expunged meanwhile.
        };
        let fl = flags::of_fetch(&info);
        let date = info.internal_date();
        let id = info.body().and_then(|b| message_id(&b));
        // What the destination may count instead of the bytes sent (a
        // server that counts bare line ends as CRLF, as the source does).
        let counted = rfc822_size(&info);
        let src = &mut *self.src;
        let sink = &mut self.sink;
        std::thread::scope(|scope| -> Result<()> {
            let (tx, rx) = sync_channel::<Piece>(CHUNKS_IN_FLIGHT);
            let fetching = scope.spawn(move || {
                src.fetch_streamed(true, uid.to_string(), "(BODY.PEEK[])", |piece| {
                    let piece = match piece {
                        Streamed::Start { size, .. } => Piece::Size(size),
                        Streamed::Data(data) => Piece::Data(data.to_vec()),
                    };
                    tx.send(piece).map_err(|_| {
                        io::Error::new(io::ErrorKind::BrokenPipe, "the destination stopped")
                    })
                })
            });
            let fetched = |fetching: std::thread::ScopedJoinHandle<'_, imaplib::Result<Reply>>| {
                let reply = fetching
                    .join()
                    .unwrap_or_else(|_| Err(imaplib::Error::abort("the fetching thread failed")));
                answered(reply, format!("cannot fetch from {name}"))
            };
            let size = match rx.recv() {
                Ok(Piece::Size(size)) => size,
                // No literal: expunged meanwhile (or a NIL body).
                _ => return fetched(fetching).map(drop),
            };
            st.pending.push(PendingCopy {
                src: uid,
                size,
                counted: counted.filter(|c| *c != size),
                message_id: id,
                date: date.map(|d| d.timestamp()),
                flags: fl.clone(),
            });
            sink.save(st)?;
            let mut reader = ChannelReader {
                rx,
                chunk: Vec::new(),
                at: 0,
            };
            let report = &mut *sink.report;
            let progress = &mut *sink.progress;
            let mailbox = name.as_str();
            let (moved, bytes) = (report.copied, report.bytes);
            let (total_messages, total_bytes) = sink.total;
            let appended = sink.dst.append_from(
                Some(&sink.dest.wire),
                Some(&format!("({})", flags::list(&fl))),
                date.map(DateInput::DateTime),
                &mut reader,
                size,
                |sent| {
                    progress(&Progress {
                        mailbox,
                        messages: moved,
                        bytes: bytes + sent,
                        total_messages,
                        total_bytes,
                    })
                },
            );
            // Whatever the APPEND left unread ends the FETCH's sends.
            drop(reader);
            let fetch_result = fetched(fetching);
            let appended = match appended {
                Ok(reply) => reply,
                // The source's failure, when there is one, is the cause.
                Err(e) => {
                    fetch_result?;
                    return Err(imap(format!("cannot append to {}", sink.dest.name))(e));
                }
            };
            let outcome = sink.outcome(st, &appended);
            match (&outcome, fetch_result) {
                // Refused before the message was read: the FETCH was cut
                // short here, and its connection is still in step.
                (Appended::Refused(_), Err(SyncError::Imap { err, .. })) if !err.is_abort() => {}
                (_, fetched) => {
                    fetched?;
                }
            }
            sink.settle(st, vec![(uid, size, outcome)])
        })
    }
}

/// What the fetching thread hands over.
enum Piece {
    /// The message's length, first.
    Size(u64),
    /// The next bytes.
    Data(Vec<u8>),
}

/// The chunks of a streamed message as a [`Read`]; the end of the
/// channel is the end of the data.
struct ChannelReader {
    rx: Receiver<Piece>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.recv() {
                Ok(Piece::Data(data)) => {
                    self.chunk = data;
                    self.at = 0;
                }
                Ok(Piece::Size(_)) => continue,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Sink<'_> {
    /// Appends one batch: recorded as pending first, then one MULTIAPPEND
    /// (all or nothing: a refusal is tried again message by message, so
    /// that one message over a limit does not stop the others), or one
    /// APPEND per message.
    fn append_batch(&mut self, st: &mut CopyState, batch: Vec<Message>) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        if self.report.over_quota.is_some() {
            let settled = batch
                .iter()
                .map(|m| (m.src, 0, Appended::NotSent))
                .collect();
            return self.settle(st, settled);
        }
        for m in &batch {
            st.pending.push(PendingCopy {
                src: m.src,
                // APPEND sends it with CRLF line ends.
                size: crlf_len(&m.body),
                counted: None,
                message_id: message_id(&m.body),
                date: m.date.map(|d| d.timestamp()),
                flags: m.flags.clone(),
            });
        }
        self.save(st)?;
        let lists: Vec<String> = batch
            .iter()
            .map(|m| format!("({})", flags::list(&m.flags)))
            .collect();
        let mut outcomes: Option<Vec<Appended>> = None;
        if self.dst.has_capability("MULTIAPPEND") && batch.len() > 1 {
            let items: Vec<(Option<&str>, Option<DateInput>, &[u8])> = batch
                .iter()
                .zip(&lists)
                .map(|(m, l)| {
                    (
                        Some(l.as_str()),
                        m.date.map(DateInput::DateTime),
                        m.body.as_ref(),
                    )
                })
                .collect();
            let reply = self
                .dst
                .append_many(Some(&self.dest.wire), &items)
                .map_err(imap(format!("cannot append to {}", self.dest.name)))?;
            if reply.typ == Status::Ok {
                let uids = match imaplib::reply_code(&reply) {
                    Some(ResponseCode::AppendUid { uid_validity, uids })
                        if uid_validity == st.dst_uidvalidity =>
                    {
                        // At most one more than expected: a hostile
                        // range is not expanded.
                        let uids: Vec<u32> = uids.iter_numbers().take(batch.len() + 1).collect();
                        (uids.len() == batch.len()).then_some(uids)
                    }
                    _ => None,
                };
                outcomes = Some(match uids {
                    Some(uids) => uids
                        .into_iter()
                        .map(|u| Appended::Stored(Some(u)))
                        .collect(),
                    None => batch.iter().map(|_| Appended::Stored(None)).collect(),
                });
            }
        }
        let outcomes = match outcomes {
            Some(o) => o,
            None => {
                let mut out = Vec::new();
                for (m, l) in batch.iter().zip(&lists) {
                    if self.report.over_quota.is_some() {
                        out.push(Appended::NotSent);
                        continue;
                    }
                    let reply = self
                        .dst
                        .append(
                            Some(&self.dest.wire),
                            Some(l),
                            m.date.map(DateInput::DateTime),
                            &m.body,
                        )
                        .map_err(imap(format!("cannot append to {}", self.dest.name)))?;
                    out.push(self.outcome(st, &reply));
                }
                out
            }
        };
        let settled = batch
            .iter()
            .zip(outcomes)
            .map(|(m, o)| (m.src, m.body.len() as u64, o))
            .collect();
        self.settle(st, settled)
    }

    /// Tells the progress: what is copied, plus `sending` bytes of the
    /// message under way.
    fn tell_progress(&mut self, sending: u64) {
        (self.progress)(&Progress {
            mailbox: &self.report.mailbox,
            messages: self.report.copied,
            bytes: self.report.bytes + sending,
            total_messages: self.total.0,
            total_bytes: self.total.1,
        });
    }

    /// What one APPEND's reply says. A refusal for being over quota is
    /// kept: the messages after it are not sent.
    fn outcome(&mut self, st: &CopyState, reply: &Reply) -> Appended {
        if reply.typ != Status::Ok {
            let text = reply_text(reply);
            if matches!(imaplib::reply_code(reply), Some(ResponseCode::Rfc5530(code)) if code == "OVERQUOTA")
            {
                self.report.over_quota = Some(text.clone());
            }
            return Appended::Refused(text);
        }
        match imaplib::reply_code(reply) {
            Some(ResponseCode::AppendUid { uid_validity, uids })
                if uid_validity == st.dst_uidvalidity =>
            {
                Appended::Stored(uids.iter_numbers().next())
            }
            _ => Appended::Stored(None),
        }
    }

    /// Records what became of the messages `(source UID, size, outcome)`:
    /// a known UID is a copy; a refusal is reported and no longer
    /// pending; the rest is found on the destination by its key.
    fn settle(&mut self, st: &mut CopyState, done: Vec<(u32, u64, Appended)>) -> Result<()> {
        let mut unknown = false;
        for (src, size, outcome) in done {
            match outcome {
                Appended::Stored(Some(uid)) => {
                    st.skipped.remove(&src);
                    if let Some(i) = st.pending.iter().position(|p| p.src == src) {
                        let p = st.pending.remove(i);
                        st.copied.insert(
                            src,
                            Copied {
                                uid,
                                flags: p.flags,
                            },
                        );
                    }
                    st.dst_uidnext = st.dst_uidnext.max(uid.saturating_add(1));
                }
                Appended::Stored(None) => {
                    st.skipped.remove(&src);
                    unknown = true;
                }
                Appended::NotSent => {
                    st.pending.retain(|p| p.src != src);
                    st.skipped.insert(src);
                    self.report.not_sent += 1;
                    continue;
                }
                Appended::Refused(text) => {
                    st.pending.retain(|p| p.src != src);
                    st.skipped.insert(src);
                    self.report
                        .skipped
                        .push(format!("UID {src}: refused by the destination: {text}"));
                    continue;
                }
            }
            self.report.copied += 1;
            self.report.bytes += size;
        }
        self.tell_progress(0);
        if unknown {
            return self.recover_pending(st);
        }
        self.save(st)
    }
}

/// The length of `body` once every bare CR or LF is CRLF (as APPEND sends
/// it).
fn crlf_len(body: &[u8]) -> u64 {
    let mut extra = 0u64;
    let mut rest = body;
    while let Some(at) = memchr::memchr2(b'\r', b'\n', rest) {
        let crlf = rest[at] == b'\r' && rest.get(at + 1) == Some(&b'\n');
        if !crlf {
            extra += 1;
        }
        rest = &rest[at + if crlf { 2 } else { 1 }..];
    }
    body.len() as u64 + extra
}

#[cfg(test)]
mod tests {
    use super::crlf_len;

    #[test]
    fn crlf_len_counts_bare_line_ends() {
        assert_eq!(crlf_len(b"a\r\nb"), 4);
        assert_eq!(crlf_len(b"a\nb\rc"), 7);
        assert_eq!(crlf_len(b"\n\r"), 4);
        assert_eq!(crlf_len(b""), 0);
    }
}
