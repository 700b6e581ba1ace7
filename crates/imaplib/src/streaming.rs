//! Literals streamed instead of buffered: FETCH into any sink, APPEND from
//! any `Read`. Memory stays bounded by the read buffer whatever the message
//! size.

use std::io::{self, Read, Write};

use crate::date::time_to_internaldate;
use bytes::Bytes;
use imaplib_proto::command::build;
use imaplib_proto::date::DateInput;
use imaplib_proto::{Arg, Command, Event, Reply};

use crate::client::Imap4;
use crate::error::{Error, Result};

/// What a streaming fetch hands to its sink, in order.
#[derive(Debug)]
pub enum Streamed<'a> {
    /// A literal begins: the line that announced it (for the first literal
    /// of a message, `* n FETCH (UID u BODY[] {size}`) and its size.
    Start {
        /// The announcing line.
        line: &'a [u8],
        /// The literal's size in bytes.
        size: u64,
    },
    /// The next bytes of the current literal.
    Data(&'a [u8]),
}

impl<'a> Streamed<'a> {
    /// For [`Streamed::Start`]: the FETCH item the literal is the value of
    /// (`BODY[]`, `BODY[HEADER.FIELDS (SUBJECT)]`, `BINARY[1]`...), as
    /// announced, read back from the announcing line.
    pub fn item(&self) -> Option<&'a [u8]> {
        let Streamed::Start { line, .. } = self else {
            return None;
        };
        // The line ends `ITEM {size}` (or `~{size}` for a literal8).
        let mut end = line.iter().rposition(|&b| b == b'{')?;
        if end > 0 && line[end - 1] == b'~' {
            end -= 1;
        }
        while end > 0 && line[end - 1] == b' ' {
            end -= 1;
        }
        // The item starts after the last space outside brackets.
        let mut depth = 0usize;
        let mut start = 0;
        for i in (0..end).rev() {
            match line[i] {
                b']' => depth += 1,
                b'[' => depth = depth.saturating_sub(1),
                b' ' | b'(' if depth == 0 => {
                    start = i + 1;
                    break;
                }
                _ => {}
            }
        }
        (start < end).then(|| &line[start..end])
    }

    /// For the [`Streamed::Start`] of a message's first literal: the
    /// message's sequence number (`* n FETCH`). Later literals of the same
    /// message start on a continuation line and give `None`.
    pub fn message_number(&self) -> Option<u32> {
        let Streamed::Start { line, .. } = self else {
            return None;
        };
        let rest = line.strip_prefix(b"* ")?;
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let after = &rest[digits..];
        if digits == 0 || !after.get(..7)?.eq_ignore_ascii_case(b" FETCH ") {
            return None;
        }
        std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
    }
}

impl Imap4 {
    /// FETCH (or UID FETCH when `uid`) with every literal of the FETCH
    /// responses handed to `sink` as it arrives instead of being kept in
    /// memory. Returns the imaplib-shaped reply, whose literals are empty
    /// (the sink got them). If the sink fails, the rest of the response is
    /// still read (the connection stays usable) and the sink's error is
    /// returned as `error`.
    pub fn fetch_streamed<F>(
        &mut self,
        uid: bool,
        message_set: impl AsRef<[u8]>,
        message_parts: impl AsRef<[u8]>,
        mut sink: F,
    ) -> Result<Reply>
    where
        F: FnMut(Streamed<'_>) -> io::Result<()>,
    {
        let cmd = if uid {
            build::uid("FETCH", [message_set.as_ref(), message_parts.as_ref()])
        } else {
            build::fetch(message_set.as_ref(), message_parts.as_ref())
        };
        let tag = self.send_command(cmd.streaming())?;
        let mut sink_error: Option<io::Error> = None;
        loop {
            if let Some(result) = self.engine.session.take_reply(&tag) {
                let reply = result?;
                return match sink_error {
                    Some(e) => {
                        Err(Error::error(format!("writing fetched data: {e}")).with_source(e))
                    }
                    None => Ok(reply),
                };
            }
            let event = self.engine.session.poll_event()?;
            let piece = match &event {
                Some(Event::LiteralStart { line, size }) => {
                    Some(Streamed::Start { line, size: *size })
                }
                Some(Event::LiteralChunk { data, .. }) => Some(Streamed::Data(data)),
                Some(_) => None,
                None => {
                    self.fill()?;
                    None
                }
            };
            if let (Some(piece), None) = (piece, &sink_error) {
                if let Err(e) = sink(piece) {
                    sink_error = Some(e);
                }
            }
        }
    }

    /// Writes one message part into `sink` without holding it in memory:
    /// `UID FETCH uid (item)`, e.g. `item` = `BODY.PEEK[]` for the whole
    /// message or `BINARY.PEEK[2]` for a decoded attachment. Returns the
    /// number of bytes written; `error` if the message does not exist.
    pub fn uid_fetch_to(&mut self, uid: u32, item: &str, sink: &mut dyn Write) -> Result<u64> {
        let mut written = 0u64;
        let mut literals = 0;
        let reply = self.fetch_streamed(true, uid.to_string(), format!("({item})"), |piece| {
            match piece {
                Streamed::Start { .. } => literals += 1,
                Streamed::Data(d) if literals == 1 => {
                    sink.write_all(d)?;
                    written += d.len() as u64;
                }
                Streamed::Data(_) => {}
            }
            Ok(())
        })?;
        if reply.typ != imaplib_proto::Status::Ok {
            return Err(Error::error(format!("UID FETCH {uid} refused")));
        }
        if literals == 0 {
            // Small or empty items may come as quoted strings or NIL.
            let has_fetch = reply.data.iter().any(|d| !d.is_none());
            if !has_fetch {
                return Err(Error::error(format!("no message with UID {uid}")));
            }
            for item in imaplib_proto::types::decode_data("FETCH", &reply.data)
                .into_iter()
                .flatten()
            {
                if let imaplib_proto::types::Untagged::Fetch(f) = item {
                    if let Some(body) = f.body() {
                        sink.write_all(body)
                            .map_err(|e| Error::error(format!("writing fetched data: {e}")))?;
                        written += body.len() as u64;
                    }
                }
            }
        }
        sink.flush()
            .map_err(|e| Error::error(format!("writing fetched data: {e}")))?;
        Ok(written)
    }

    /// Appends several messages (flags, date, content each): in one
    /// MULTIAPPEND command (RFC 3502, atomic: all or none) when the server
    /// announces MULTIAPPEND, else one APPEND per message, stopping at the
    /// first refusal. Returns the last reply (with the APPENDUID of all the
    /// messages under MULTIAPPEND).
    pub fn append_many(
        &mut self,
        mailbox: Option<&str>,
        messages: &[(Option<&str>, Option<DateInput>, &[u8])],
    ) -> Result<Reply> {
        let dates = append_dates(messages)?;
        if self.has_capability("MULTIAPPEND") {
            let utf8 = self.utf8_enabled();
            return self.run_command(multiappend_command(mailbox, messages, &dates, utf8));
        }
        let mut last = None;
        for (flags, date, message) in messages {
            let reply = self.append(mailbox, *flags, date.clone(), message)?;
            let ok = reply.is_ok();
            last = Some(reply);
            if !ok {
                break;
            }
        }
        Ok(last.expect("at least one message"))
    }

    /// APPEND a message of `len` bytes read from `source`, never holding it
    /// in memory. Uses a non-synchronizing literal when the server has
    /// LITERAL+ (or LITERAL- and the message is small enough). `progress` is
    /// called with the number of bytes sent so far. The message is sent as
    /// it is (line ends are not changed). If `source` ends early or fails,
    /// the connection cannot be kept in step and is aborted.
    pub fn append_from(
        &mut self,
        mailbox: Option<&str>,
        flags: Option<&str>,
        date_time: Option<DateInput>,
        source: &mut dyn Read,
        len: u64,
        mut progress: impl FnMut(u64),
    ) -> Result<Reply> {
        let mbox = mailbox.filter(|m| !m.is_empty()).unwrap_or("INBOX");
        let mut cmd =
            Command::new("APPEND").arg(Arg::Mailbox(Bytes::copy_from_slice(mbox.as_bytes())));
        if let Some(f) = flags.filter(|f| !f.is_empty()) {
            let f = if f.starts_with('(') && f.ends_with(')') {
                f.to_string()
            } else {
                format!("({f})")
            };
            cmd = cmd.arg(Arg::Raw(Bytes::from(f)));
        }
        if let Some(d) = date_time {
            let d = time_to_internaldate(d).map_err(Error::error)?;
            cmd = cmd.arg(Arg::Raw(Bytes::from(d)));
        }
        let tag = self
            .engine
            .session
            .command(cmd.arg(Arg::ExternalLiteral(len)))?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // Write whatever may be written, copying the literal from the
            // source when its turn comes.
            while let Some(chunk) = self.engine.session.poll_chunk() {
                let r = if chunk.external > 0 {
                    copy_exact(
                        source,
                        &mut self.transport,
                        chunk.external,
                        &mut buf,
                        &mut progress,
                    )
                } else {
                    self.transport.write_all(&chunk.bytes)
                };
                if let Err(e) = r.and_then(|_| self.transport.flush()) {
                    let err = Error::io("APPEND from a stream", e);
                    return Err(self.fail(err));
                }
            }
            if let Some(result) = self.engine.session.take_reply(&tag) {
                return result.map_err(Error::from);
            }
            match self.engine.session.poll_event()? {
                Some(_) => {}
                None => {
                    if !self.engine.session.wants_transmit() {
                        self.fill()?;
                    }
                }
            }
        }
    }
}

/// Copies exactly `len` bytes from `source` to `sink`.
fn copy_exact(
    source: &mut dyn Read,
    sink: &mut dyn Write,
    len: u64,
    buf: &mut [u8],
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(left as usize);
        let n = source.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the source ended {left} bytes before the announced length"),
            ));
        }
        sink.write_all(&buf[..n])?;
        left -= n as u64;
        progress(len - left);
    }
    Ok(())
}

/// The INTERNALDATEs of an `append_many` batch; refuses an empty batch.
pub(crate) fn append_dates(
    messages: &[(Option<&str>, Option<DateInput>, &[u8])],
) -> Result<Vec<Option<String>>> {
    if messages.is_empty() {
        return Err(Error::error("append_many: no message"));
    }
    messages
        .iter()
        .map(|(_, date, _)| match date {
            Some(d) => time_to_internaldate(d.clone())
                .map(Some)
                .map_err(Error::error),
            None => Ok(None),
        })
        .collect()
}

/// The one MULTIAPPEND command for an `append_many` batch.
pub(crate) fn multiappend_command(
    mailbox: Option<&str>,
    messages: &[(Option<&str>, Option<DateInput>, &[u8])],
    dates: &[Option<String>],
    utf8: bool,
) -> Command {
    let list: Vec<build::AppendMessage<'_>> = messages
        .iter()
        .zip(dates)
        .map(|((flags, _, message), date)| build::AppendMessage {
            flags: flags.map(str::as_bytes),
            date_time: date.as_deref().map(str::as_bytes),
            message,
        })
        .collect();
    build::multiappend(mailbox.map(str::as_bytes), &list, utf8)
}
