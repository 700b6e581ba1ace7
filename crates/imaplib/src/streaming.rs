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
use crate::engine::{Conn, Link};
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

impl<L: Link> Conn<'_, L> {
    /// Writes one message part into `sink` without holding it in memory:
    /// `UID FETCH uid (item)`. Returns the number of bytes written; `error`
    /// if the message does not exist or the sink fails (the rest of the
    /// answer is still read, so the connection stays usable).
    pub(crate) async fn uid_fetch_to(
        &mut self,
        uid: u32,
        item: &str,
        mut sink: impl ByteSink,
    ) -> Result<u64> {
        let cmd = build::uid("FETCH", [uid.to_string().as_str(), &format!("({item})")]);
        let tag = self.send_command(cmd.streaming()).await?;
        let mut written = 0u64;
        let mut literals = 0;
        let mut sink_error: Option<io::Error> = None;
        let reply = loop {
            if let Some(result) = self.e.session.take_reply(&tag) {
                break result?;
            }
            match self.e.session.poll_event()? {
                Some(Event::LiteralStart { .. }) => literals += 1,
                Some(Event::LiteralChunk { data, .. }) if literals == 1 => {
                    if sink_error.is_none() {
                        match sink.write_all(&data).await {
                            Ok(()) => written += data.len() as u64,
                            Err(e) => sink_error = Some(e),
                        }
                    }
                }
                Some(_) => {}
                None => self.fill().await?,
            }
        };
        let sink_failed =
            |e: io::Error| Error::error(format!("writing fetched data: {e}")).with_source(e);
        if let Some(e) = sink_error {
            return Err(sink_failed(e));
        }
        if reply.typ != imaplib_proto::Status::Ok {
            return Err(Error::error(format!("UID FETCH {uid} refused")));
        }
        if literals == 0 {
            // Small or empty items may come as quoted strings or NIL; no
            // FETCH at all means no such message.
            let mut found = false;
            for item in imaplib_proto::types::decode_data("FETCH", &reply.data)
                .into_iter()
                .flatten()
            {
                if let imaplib_proto::types::Untagged::Fetch(f) = item {
                    if f.uid() != Some(uid) && f.uid().is_some() {
                        continue;
                    }
                    found = true;
                    if let Some(body) = f.body() {
                        sink.write_all(&body).await.map_err(sink_failed)?;
                        written += body.len() as u64;
                    }
                }
            }
            if !found {
                return Err(Error::error(format!("no message with UID {uid}")));
            }
        }
        sink.flush().await.map_err(sink_failed)?;
        Ok(written)
    }

    /// APPEND a message of `len` bytes read from `source`, never holding it
    /// in memory (see the public method's documentation).
    pub(crate) async fn append_from(
        &mut self,
        mailbox: Option<&str>,
        flags: Option<&str>,
        date_time: Option<DateInput>,
        mut source: impl ByteSource,
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
        let tag = self.e.session.command(cmd.arg(Arg::ExternalLiteral(len)))?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // Write whatever may be written, copying the literal from the
            // source when its turn comes.
            while let Some(chunk) = self.e.session.poll_chunk() {
                let wait = self.e.options.timeout;
                let r = if chunk.external > 0 {
                    let mut left = chunk.external;
                    let mut r = Ok(());
                    while left > 0 {
                        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                        let n = match source.read(&mut buf[..want]).await {
                            Ok(0) => {
                                r = Err(io::Error::new(
                                    io::ErrorKind::UnexpectedEof,
                                    format!(
                                        "the source ended {left} bytes before the announced length"
                                    ),
                                ));
                                break;
                            }
                            Ok(n) => n,
                            Err(e) => {
                                r = Err(e);
                                break;
                            }
                        };
                        if let Err(e) = self.link.write_all(&buf[..n], wait).await {
                            r = Err(e);
                            break;
                        }
                        left -= n as u64;
                        progress(len - left);
                    }
                    r
                } else {
                    self.link.write_all(&chunk.bytes, wait).await
                };
                if let Err(e) = r {
                    let err = Error::io("APPEND from a stream", e);
                    return Err(self.fail(err));
                }
            }
            if let Some(result) = self.e.session.take_reply(&tag) {
                return result.map_err(Error::from);
            }
            match self.e.session.poll_event()? {
                Some(_) => {}
                None => {
                    if !self.e.session.wants_transmit() {
                        self.fill().await?;
                    }
                }
            }
        }
    }
}

/// Where [`Conn::uid_fetch_to`] writes: a `std::io::Write` for the blocking
/// client, a tokio `AsyncWrite` for the async one.
pub(crate) trait ByteSink {
    /// Writes all of `data`.
    fn write_all(&mut self, data: &[u8]) -> impl std::future::Future<Output = io::Result<()>>;
    /// Flushes what was written.
    fn flush(&mut self) -> impl std::future::Future<Output = io::Result<()>>;
}

/// What [`Conn::append_from`] reads: a `std::io::Read` for the blocking
/// client, a tokio `AsyncRead` for the async one.
pub(crate) trait ByteSource {
    /// Reads some bytes; `Ok(0)` at the end.
    fn read(&mut self, buf: &mut [u8]) -> impl std::future::Future<Output = io::Result<usize>>;
}

/// A blocking writer or reader as a [`ByteSink`] or [`ByteSource`].
pub(crate) struct Blocking<T>(pub(crate) T);

impl<W: Write + ?Sized> ByteSink for Blocking<&mut W> {
    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data)
    }
    async fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<R: Read + ?Sized> ByteSource for Blocking<&mut R> {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
}

impl Imap4 {
    /// Writes one message part into `sink` without holding it in memory:
    /// `UID FETCH uid (item)`, e.g. `item` = `BODY.PEEK[]` for the whole
    /// message or `BINARY.PEEK[2]` for a decoded attachment. Returns the
    /// number of bytes written; `error` if the message does not exist or
    /// `sink` fails.
    pub fn uid_fetch_to(&mut self, uid: u32, item: &str, sink: &mut dyn Write) -> Result<u64> {
        crate::engine::block_on(self.conn().uid_fetch_to(uid, item, Blocking(sink)))
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
        progress: impl FnMut(u64),
    ) -> Result<Reply> {
        let mut conn = self.conn();
        let op = conn.append_from(mailbox, flags, date_time, Blocking(source), len, progress);
        crate::engine::block_on(op)
    }
}

impl<L: Link> Conn<'_, L> {
    /// FETCH (or UID FETCH when `uid`) with every literal of the FETCH
    /// responses handed to `sink` as it arrives instead of being kept in
    /// memory. Returns the imaplib-shaped reply, whose literals are empty
    /// (the sink got them). If the sink fails, the rest of the response is
    /// still read (the connection stays usable) and the sink's error is
    /// returned as `error`.
    pub(crate) async fn fetch_streamed<F>(
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
        let tag = self.send_command(cmd.streaming()).await?;
        let mut sink_error: Option<io::Error> = None;
        loop {
            if let Some(result) = self.e.session.take_reply(&tag) {
                let reply = result?;
                return match sink_error {
                    Some(e) => {
                        Err(Error::error(format!("writing fetched data: {e}")).with_source(e))
                    }
                    None => Ok(reply),
                };
            }
            let event = self.e.session.poll_event()?;
            let piece = match &event {
                Some(Event::LiteralStart { line, size }) => {
                    Some(Streamed::Start { line, size: *size })
                }
                Some(Event::LiteralChunk { data, .. }) => Some(Streamed::Data(data)),
                Some(_) => None,
                None => {
                    self.fill().await?;
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

    /// Appends several messages (flags, date, content each): in one
    /// MULTIAPPEND command (RFC 3502, atomic: all or none) when the server
    /// announces MULTIAPPEND, else one APPEND per message, stopping at the
    /// first refusal. Returns the last reply (with the APPENDUID of all the
    /// messages under MULTIAPPEND).
    pub(crate) async fn append_many(
        &mut self,
        mailbox: Option<&str>,
        messages: &[(Option<&str>, Option<DateInput>, &[u8])],
    ) -> Result<Reply> {
        let dates = append_dates(messages)?;
        if self.has_capability("MULTIAPPEND") {
            let utf8 = self.e.session.utf8_enabled();
            return self
                .run_command(multiappend_command(mailbox, messages, &dates, utf8))
                .await;
        }
        let mut last = None;
        for (flags, date, message) in messages {
            let reply = self.append(mailbox, *flags, date.clone(), message).await?;
            let ok = reply.is_ok();
            last = Some(reply);
            if !ok {
                break;
            }
        }
        Ok(last.expect("at least one message"))
    }
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
