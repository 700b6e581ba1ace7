//! The framer: splits the server's byte stream into complete responses.
//!
//! A response (RFC 3501 §7, RFC 9051 §7) is one line, or several lines joined
//! by literals: a line that ends with `{N}` (also `{N+}` and the RFC 3516
//! `~{N}` form) is followed by exactly `N` bytes of literal data and then the
//! rest of the response on a new line. The framer collects those pieces into
//! one [`Frame`] without interpreting anything else.
//!
//! Properties:
//! - **Linear time** whatever the chunking: each byte is scanned once; a line
//!   end is searched for only in bytes that have not been searched before.
//! - **Bounded memory**: a line longer than [`Limits::max_line`] or a literal
//!   announced larger than [`Limits::max_literal`] is an error before anything
//!   is allocated for it; the buffer grows only with bytes actually received.
//! - **Tolerant**: a line ending in a bare LF is accepted as if it were CRLF.
//! - **Copy once**: received bytes are copied into the frame buffer, and the
//!   finished frame hands out zero-copy [`Bytes`] slices of it.

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use crate::error::{ProtoError, ProtoErrorKind};

/// Size limits applied by the [`Framer`], per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line (excluding literal data) accepted, in bytes. Default
    /// 1,000,000, as Python's imaplib `_MAXLINE`.
    pub max_line: usize,
    /// Largest literal held in memory, in bytes. Default 100 MiB.
    pub max_literal: u64,
    /// Largest single response held in memory (lines and literals
    /// together, streamed literals excluded). Default 512 MiB.
    pub max_response: u64,
}

impl Limits {
    /// imaplib's line limit.
    pub const DEFAULT_MAX_LINE: usize = 1_000_000;
    /// Default literal limit: 100 MiB.
    pub const DEFAULT_MAX_LITERAL: u64 = 100 * 1024 * 1024;
    /// Default response limit: 512 MiB.
    pub const DEFAULT_MAX_RESPONSE: u64 = 512 * 1024 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: Self::DEFAULT_MAX_LINE,
            max_literal: Self::DEFAULT_MAX_LITERAL,
            max_response: Self::DEFAULT_MAX_RESPONSE,
        }
    }
}

/// The kind of literal announced at the end of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralKind {
    /// `{N}`: an ordinary literal.
    Plain,
    /// `{N+}`: a non-synchronizing literal (RFC 7888); servers rarely send it.
    NonSync,
    /// `~{N}`: a literal8 that may contain NUL (RFC 3516).
    Binary,
}

/// One complete server response: its lines and the literals between them.
///
/// The frame owns a single buffer holding every received byte of the
/// response (line terminators included); lines and literals are ranges in it.
/// There is always one more line than there are literals.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    buf: Bytes,
    /// The first line; every response has one, most have no other, so
    /// that framing them allocates nothing for their lines.
    first: Range<usize>,
    /// The lines after the first (one after each literal).
    more: Vec<Range<usize>>,
    literals: Vec<Range<usize>>,
    /// `(literal index, size)` of literals that were streamed out as
    /// [`Piece::LiteralChunk`]s instead of being kept in the frame.
    streamed: Vec<(usize, u64)>,
}

/// What [`Framer::next_piece`] yields: a complete response, or a piece of a
/// literal being streamed out of the response still being framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A complete response.
    Frame(Frame),
    /// A streamed literal begins: the line that announced it (the
    /// response's first line for the first literal) and its size.
    LiteralStart {
        /// The line ending with the `{N}` announcement.
        line: Bytes,
        /// The announced size.
        size: u64,
    },
    /// Bytes of a streamed literal, in order. The response they belong to
    /// follows as a [`Piece::Frame`] once complete; its literal is empty
    /// there and [`Frame::streamed_literal`] gives its size.
    LiteralChunk {
        /// The bytes.
        data: Bytes,
        /// Literal bytes still to come after these.
        remaining: u64,
    },
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_list();
        for (i, line) in std::iter::once(&self.first).chain(&self.more).enumerate() {
            list.entry(&crate::Printable(&self.buf[line.clone()]));
            if let Some(lit) = self.literals.get(i) {
                list.entry(&format_args!("<literal {} bytes>", lit.len()));
            }
        }
        list.finish()
    }
}

impl Frame {
    /// Builds a frame from a complete response already in memory (lines
    /// separated by CRLF or LF, with literals). Convenience for tests; the
    /// input must hold exactly one response.
    pub fn parse_one(input: &[u8]) -> Result<Frame, ProtoError> {
        let mut framer = Framer::new(Limits::default());
        framer.feed(input);
        match framer.next_frame()? {
            Some(frame) if framer.buffered() == 0 => Ok(frame),
            _ => Err(ProtoError::new(
                ProtoErrorKind::Incomplete,
                "input is not exactly one complete response",
                input,
            )),
        }
    }

    /// Builds a frame from a response's lines and literals, given
    /// alternately (`line, literal, line, ..., line`, as imaplib's data
    /// items hold them), each line without its terminator: the lines are
    /// taken as they are, even if one does not announce the literal after
    /// it. CRLF is written after each line.
    pub fn from_parts(parts: &[Bytes]) -> Frame {
        let total = parts.iter().map(|p| p.len() + 2).sum();
        let mut buf = Vec::with_capacity(total);
        let mut lines = Vec::with_capacity(parts.len() / 2 + 1);
        let mut literals = Vec::with_capacity(parts.len() / 2);
        for (i, part) in parts.iter().enumerate() {
            let start = buf.len();
            buf.extend_from_slice(part);
            if i % 2 == 0 {
                lines.push(start..buf.len());
                buf.extend_from_slice(b"\r\n");
            } else {
                literals.push(start..buf.len());
            }
        }
        if parts.len() % 2 == 0 {
            // Ends with a literal: an empty last line.
            lines.push(buf.len()..buf.len());
            buf.extend_from_slice(b"\r\n");
        }
        let mut lines = lines.into_iter();
        Frame {
            buf: Bytes::from(buf),
            first: lines.next().unwrap_or(0..0),
            more: lines.collect(),
            literals,
            streamed: Vec::new(),
        }
    }

    /// Every byte of the response as received, terminators included.
    pub fn raw(&self) -> &Bytes {
        &self.buf
    }

    /// Number of lines (always `literal_count() + 1`).
    pub fn line_count(&self) -> usize {
        1 + self.more.len()
    }

    /// Number of literals.
    pub fn literal_count(&self) -> usize {
        self.literals.len()
    }

    /// Line `i` without its terminator (CRLF or LF). Includes the `{N}`
    /// announcement that ends it when a literal follows.
    pub fn line(&self, i: usize) -> Bytes {
        self.buf.slice(self.line_range(i))
    }

    /// Literal `i`'s data (empty for a streamed literal).
    pub fn literal(&self, i: usize) -> Bytes {
        self.buf.slice(self.literals[i].clone())
    }

    /// The announced size of literal `i` if it was streamed out.
    pub fn streamed_literal(&self, i: usize) -> Option<u64> {
        self.streamed.iter().find(|(k, _)| *k == i).map(|(_, n)| *n)
    }

    /// True if some literal of this response was streamed out.
    pub fn has_streamed(&self) -> bool {
        !self.streamed.is_empty()
    }

    /// The first line, without terminator.
    pub fn first_line(&self) -> &[u8] {
        &self.buf[self.first.clone()]
    }

    /// Range of line `i` in [`Frame::raw`].
    #[inline]
    pub fn line_range(&self, i: usize) -> Range<usize> {
        match i {
            0 => self.first.clone(),
            _ => self.more[i - 1].clone(),
        }
    }

    /// Range of literal `i` in [`Frame::raw`].
    pub fn literal_range(&self, i: usize) -> Range<usize> {
        self.literals[i].clone()
    }

    /// Total number of bytes of the response.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Always false: a frame holds at least a line terminator.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Incremental splitter of a server byte stream into [`Frame`]s.
///
/// Feed bytes with [`Framer::feed`] as they arrive, then take complete
/// frames with [`Framer::next_frame`] until it returns `Ok(None)`.
/// After an error the stream cannot be resynchronised: the framer keeps
/// returning the same error and the connection must be dropped.
#[derive(Debug)]
pub struct Framer {
    limits: Limits,
    /// Bytes received and not yet handed out as a frame.
    buf: BytesMut,
    /// Offset in `buf` where the frame being assembled ends so far (the end
    /// of its last complete line or literal).
    frame_end: usize,
    /// Offset in `buf` up to which bytes were searched for a line end.
    scanned: usize,
    /// Literal bytes still expected before the next line starts.
    literal_remaining: u64,
    lines: Vec<Range<usize>>,
    literals: Vec<Range<usize>>,
    failed: Option<ProtoError>,
    /// Stream the literals of FETCH responses instead of keeping them.
    stream_fetch_literals: bool,
    /// The response being framed is a FETCH response.
    frame_is_fetch: bool,
    /// Bytes of a streamed literal still to come.
    stream_remaining: u64,
    /// The response's bytes before a streamed literal, moved out of `buf`.
    assembled: Vec<u8>,
    /// `assembled.len()` when the current part of `buf` started: ranges are
    /// recorded as `base + position in buf`.
    base: usize,
    streamed: Vec<(usize, u64)>,
    /// Room made at the last reservation (see [`Framer::feed`]).
    room: usize,
}

impl Framer {
    /// A framer with the given limits.
    pub fn new(limits: Limits) -> Self {
        Framer {
            limits,
            buf: BytesMut::new(),
            frame_end: 0,
            scanned: 0,
            literal_remaining: 0,
            lines: Vec::new(),
            literals: Vec::new(),
            failed: None,
            stream_fetch_literals: false,
            frame_is_fetch: false,
            stream_remaining: 0,
            assembled: Vec::new(),
            base: 0,
            streamed: Vec::new(),
            room: 0,
        }
    }

    /// Streams the literals of FETCH responses (`* n FETCH ...`) out as
    /// [`Piece::LiteralChunk`]s, whatever their size, instead of keeping
    /// them: memory then stays bounded by what one read brings. The size
    /// limit on literals does not apply to streamed ones. Takes effect for
    /// literals announced from now on.
    pub fn set_stream_fetch_literals(&mut self, on: bool) {
        self.stream_fetch_literals = on;
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Changes the limits; they apply to lines and literals not yet started.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Appends received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        // The buffer grows in step with what actually arrives, never by an
        // announced literal size; one reservation per read, so that the
        // bytes are copied once (a second, smaller reservation before this
        // one used to make the buffer grow twice, copying it again).
        //
        // While data keeps coming, the room made doubles at each
        // reservation, up to 256 KiB: frames split off the buffer keep its
        // allocation alive, and each new allocation starts with a copy of
        // the unfinished frame, so the fewer allocations, the less of them
        // is left unused (with 64 KiB steps and 20 KB messages, a FETCH of
        // many messages held about 13 % more than its bytes). Streamed
        // literals are handed over and dropped piece by piece: there the
        // room stays one read.
        //
        // When every frame cut from the buffer has been dropped already (a
        // caller that hands each response on as it comes), the allocation
        // is reused in place instead (what is left of an unfinished
        // response moved to its front): no new allocation is made, and
        // the buffer keeps the size it has grown to.
        if self.buf.capacity() - self.buf.len() < data.len() && !self.buf.try_reclaim(data.len()) {
            self.room = if self.stream_fetch_literals {
                data.len()
            } else {
                (self.room * 2).clamp(data.len(), Self::GROWTH.max(data.len()))
            };
            self.buf.reserve(self.room);
        }
        self.buf.extend_from_slice(data);
    }

    /// Least room made at a time in the buffer. Frames of
    /// [`Framer::SMALL_FRAME`] bytes and more share it; smaller ones are
    /// copied out, so a kept frame holds at most 64 times its size.
    const GROWTH: usize = 256 * 1024;

    /// Frames shorter than this are copied out of the buffer; longer ones
    /// share its allocation while they are alive.
    pub const SMALL_FRAME: usize = 4096;

    /// Number of bytes received but not yet returned in a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// True when a response has started arriving but is not complete.
    pub fn in_progress(&self) -> bool {
        !self.buf.is_empty() || !self.assembled.is_empty() || self.stream_remaining > 0
    }

    /// True while the framer is in the middle of a literal.
    pub fn in_literal(&self) -> bool {
        self.literal_remaining > 0 || self.stream_remaining > 0
    }

    /// Removes up to `n` raw bytes that have not been framed yet (for
    /// imaplib's `read`/`readline`, which bypass the protocol). Only valid
    /// between responses; returns nothing while a response is half-framed.
    pub fn take_raw(&mut self, n: usize) -> Bytes {
        if self.frame_end > 0 || self.in_literal() || !self.lines.is_empty() {
            return Bytes::new();
        }
        let n = n.min(self.buf.len());
        self.scanned = self.scanned.saturating_sub(n);
        self.buf.split_to(n).freeze()
    }

    /// Removes every byte not yet framed and resets the framer (used when
    /// bytes received before a TLS handshake must be discarded).
    pub fn discard_buffered(&mut self) -> usize {
        let n = self.buf.len() + self.assembled.len();
        self.buf.clear();
        self.frame_end = 0;
        self.scanned = 0;
        self.literal_remaining = 0;
        self.lines.clear();
        self.literals.clear();
        self.stream_remaining = 0;
        self.assembled.clear();
        self.base = 0;
        self.streamed.clear();
        n
    }

    /// Returns the next complete frame, `Ok(None)` if more bytes are needed.
    /// Streamed literal chunks (see [`Framer::set_stream_fetch_literals`])
    /// are dropped: use [`Framer::next_piece`] to receive them.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ProtoError> {
        loop {
            match self.next_piece()? {
                Some(Piece::Frame(f)) => return Ok(Some(f)),
                Some(Piece::LiteralChunk { .. } | Piece::LiteralStart { .. }) => continue,
                None => return Ok(None),
            }
        }
    }

    /// Returns the next complete frame or streamed literal chunk, `Ok(None)`
    /// if more bytes are needed.
    pub fn next_piece(&mut self) -> Result<Option<Piece>, ProtoError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        match self.advance() {
            Ok(piece) => Ok(piece),
            Err(err) => {
                self.failed = Some(err.clone());
                Err(err)
            }
        }
    }

    /// Moves the response's bytes so far out of `buf`, so that literal
    /// bytes can be cut from the front of `buf` as they arrive.
    fn move_head_out(&mut self) {
        self.assembled
            .extend_from_slice(&self.buf[..self.frame_end]);
        let _ = self.buf.split_to(self.frame_end);
        self.base = self.assembled.len();
        self.frame_end = 0;
        self.scanned = 0;
    }

    fn advance(&mut self) -> Result<Option<Piece>, ProtoError> {
        loop {
            if self.stream_remaining > 0 {
                let available = self.buf.len() - self.frame_end;
                if available == 0 {
                    return Ok(None);
                }
                let n = (available as u64).min(self.stream_remaining) as usize;
                let data = self.buf.split_to(n).freeze();
                self.stream_remaining -= n as u64;
                self.scanned = 0;
                return Ok(Some(Piece::LiteralChunk {
                    data,
                    remaining: self.stream_remaining,
                }));
            }
            if self.literal_remaining > 0 {
                let available = (self.buf.len() - self.frame_end) as u64;
                if available < self.literal_remaining {
                    return Ok(None);
                }
                let start = self.frame_end;
                let end = start + self.literal_remaining as usize;
                self.literals.push(self.base + start..self.base + end);
                self.frame_end = end;
                self.scanned = end;
                self.literal_remaining = 0;
            }
            let Some(lf) = memchr_lf(&self.buf[self.scanned..]).map(|i| i + self.scanned) else {
                self.scanned = self.buf.len();
                // A CR waiting for its LF does not count against the limit.
                let pending_cr = usize::from(self.buf.last() == Some(&b'\r'));
                if self.scanned - self.frame_end > self.limits.max_line + pending_cr {
                    return Err(self.line_too_long(self.frame_end..self.scanned));
                }
                return Ok(None);
            };
            let line_start = self.frame_end;
            let mut line_end = lf;
            if line_end > line_start && self.buf[line_end - 1] == b'\r' {
                line_end -= 1;
            }
            if line_end - line_start > self.limits.max_line {
                return Err(self.line_too_long(line_start..line_end));
            }
            if self.lines.is_empty() {
                self.frame_is_fetch = is_fetch_line(&self.buf[line_start..line_end]);
            }
            self.lines
                .push(self.base + line_start..self.base + line_end);
            self.frame_end = lf + 1;
            self.scanned = lf + 1;
            match literal_announcement(&self.buf[line_start..line_end]) {
                Announcement::None => {
                    let len = self.frame_end;
                    let mut buf = if len < Self::SMALL_FRAME {
                        // A small response gets an allocation of its own:
                        // kept (in the untagged store, say), it must not
                        // hold the whole read buffer alive.
                        let own = Bytes::copy_from_slice(&self.buf[..len]);
                        bytes::Buf::advance(&mut self.buf, len);
                        if self.buf.is_empty()
                            && self.buf.capacity() > Self::SMALL_FRAME
                            && !matches!(own.first(), Some(b'*' | b'+'))
                        {
                            // A command ended and nothing more is waiting:
                            // the grown buffer goes, so that a big answer
                            // leaves no allocation behind it (the process
                            // can give the memory back).
                            self.buf = BytesMut::new();
                            self.room = 0;
                        }
                        own
                    } else {
                        self.buf.split_to(len).freeze()
                    };
                    if !self.assembled.is_empty() {
                        self.assembled.extend_from_slice(&buf);
                        buf = Bytes::from(std::mem::take(&mut self.assembled));
                    }
                    self.frame_end = 0;
                    self.scanned = 0;
                    self.base = 0;
                    // The framer's line list keeps its allocation for the
                    // next response when this one has a single line.
                    let first = self.lines[0].clone();
                    let more = if self.lines.len() == 1 {
                        self.lines.clear();
                        Vec::new()
                    } else {
                        let mut more = std::mem::take(&mut self.lines);
                        more.remove(0);
                        more
                    };
                    return Ok(Some(Piece::Frame(Frame {
                        buf,
                        first,
                        more,
                        literals: std::mem::take(&mut self.literals),
                        streamed: std::mem::take(&mut self.streamed),
                    })));
                }
                Announcement::Literal(size, _kind)
                    if size > 0 && self.stream_fetch_literals && self.frame_is_fetch =>
                {
                    let line = Bytes::copy_from_slice(&self.buf[line_start..line_end]);
                    self.move_head_out();
                    self.literals.push(self.base..self.base);
                    self.streamed.push((self.literals.len() - 1, size));
                    self.stream_remaining = size;
                    return Ok(Some(Piece::LiteralStart { line, size }));
                }
                Announcement::Literal(size, _kind) => {
                    if size > self.limits.max_literal {
                        return Err(ProtoError::new(
                            ProtoErrorKind::LiteralTooLarge,
                            format!(
                                "server announced a {size}-byte literal, over the limit of {} bytes",
                                self.limits.max_literal
                            ),
                            &self.buf[line_start..line_end],
                        ));
                    }
                    let held = (self.base + self.frame_end) as u64;
                    if held.saturating_add(size) > self.limits.max_response {
                        return Err(ProtoError::new(
                            ProtoErrorKind::TooMuchData,
                            format!(
                                "one response would hold more than {} bytes",
                                self.limits.max_response
                            ),
                            &self.buf[line_start..line_end],
                        ));
                    }
                    if size == 0 {
                        let at = self.base + self.frame_end;
                        self.literals.push(at..at);
                        continue;
                    }
                    self.literal_remaining = size;
                }
                Announcement::Malformed => {
                    return Err(ProtoError::new(
                        ProtoErrorKind::BadLiteral,
                        "malformed literal size",
                        &self.buf[line_start..line_end],
                    ));
                }
            }
        }
    }

    fn line_too_long(&self, range: Range<usize>) -> ProtoError {
        ProtoError::new(
            ProtoErrorKind::LineTooLong,
            format!(
                "line longer than the limit of {} bytes",
                self.limits.max_line
            ),
            &self.buf[range],
        )
    }
}

/// `* <number> FETCH` at the start of a line, case-insensitively.
fn is_fetch_line(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"* ") else {
        return false;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0
        && rest.len() >= digits + 6
        && rest[digits] == b' '
        && rest[digits + 1..digits + 6].eq_ignore_ascii_case(b"FETCH")
        && rest.get(digits + 6).is_none_or(|&b| b == b' ')
}

/// Position of the first LF in `haystack`: the `memchr` crate's SIMD
/// search (16 or 32 bytes per step), which saved about 540 instructions
/// per FETCH response of decoder benchmark (b) over a 16-bytes-at-a-time
/// word search.
#[inline]
fn memchr_lf(haystack: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', haystack)
}

/// What the end of a line says about a following literal.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Announcement {
    None,
    Literal(u64, LiteralKind),
    Malformed,
}

/// Looks for `{N}`, `{N+}` or `~{N}` at the very end of `line`.
///
/// Text in braces that does not look like a number (`{foo}`) is not an
/// announcement. Braces holding something that starts like a number but is
/// not one (`{-1}`, `{5x}`, or too large for 64 bits) are malformed.
pub(crate) fn literal_announcement(line: &[u8]) -> Announcement {
    if line.last() != Some(&b'}') {
        return Announcement::None;
    }
    let Some(open) = line[..line.len() - 1].iter().rposition(|&b| b == b'{') else {
        return Announcement::None;
    };
    let inner = &line[open + 1..line.len() - 1];
    match inner.first() {
        Some(b'0'..=b'9') | Some(b'-') | Some(b'+') => {}
        _ => return Announcement::None,
    }
    let (digits, nonsync) = match inner.strip_suffix(b"+") {
        Some(d) => (d, true),
        None => (inner, false),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || digits.len() > 19 {
        return Announcement::Malformed;
    }
    let size = digits
        .iter()
        .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
    let kind = if open > 0 && line[open - 1] == b'~' {
        LiteralKind::Binary
    } else if nonsync {
        LiteralKind::NonSync
    } else {
        LiteralKind::Plain
    };
    Announcement::Literal(size, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames_of(chunks: &[&[u8]], limits: Limits) -> Result<Vec<Frame>, ProtoError> {
        let mut framer = Framer::new(limits);
        let mut out = Vec::new();
        for chunk in chunks {
            framer.feed(chunk);
            while let Some(frame) = framer.next_frame()? {
                out.push(frame);
            }
        }
        Ok(out)
    }

    fn shape(frames: &[Frame]) -> Vec<Vec<Vec<u8>>> {
        frames
            .iter()
            .map(|f| {
                let mut parts = Vec::new();
                for i in 0..f.line_count() {
                    parts.push(f.line(i).to_vec());
                    if i < f.literal_count() {
                        parts.push(f.literal(i).to_vec());
                    }
                }
                parts
            })
            .collect()
    }

    const SAMPLE: &[u8] = b"* OK [CAPABILITY IMAP4rev1] ready\r\n\
* 1 FETCH (BODY[] {12}\r\nhello\r\nA1 OK UID 7)\r\n\
* 2 FETCH (BODY[HEADER] {0}\r\n BODY[TEXT] ~{3}\r\na\0b)\r\n\
* SEARCH 1 2\n\
A1 OK done\r\n";

    #[test]
    fn frames_lines_and_literals() {
        let frames = frames_of(&[SAMPLE], Limits::default()).unwrap();
        let s = shape(&frames);
        assert_eq!(s.len(), 5);
        assert_eq!(s[0], vec![b"* OK [CAPABILITY IMAP4rev1] ready".to_vec()]);
        assert_eq!(
            s[1],
            vec![
                b"* 1 FETCH (BODY[] {12}".to_vec(),
                b"hello\r\nA1 OK".to_vec(),
                b" UID 7)".to_vec()
            ]
        );
        assert_eq!(
            s[2],
            vec![
                b"* 2 FETCH (BODY[HEADER] {0}".to_vec(),
                b"".to_vec(),
                b" BODY[TEXT] ~{3}".to_vec(),
                b"a\0b".to_vec(),
                b")".to_vec()
            ]
        );
        assert_eq!(s[3], vec![b"* SEARCH 1 2".to_vec()]);
        assert_eq!(s[4], vec![b"A1 OK done".to_vec()]);
    }

    #[test]
    fn every_two_way_split_and_byte_at_a_time_agree() {
        let whole = shape(&frames_of(&[SAMPLE], Limits::default()).unwrap());
        for cut in 0..=SAMPLE.len() {
            let (a, b) = SAMPLE.split_at(cut);
            let split = shape(&frames_of(&[a, b], Limits::default()).unwrap());
            assert_eq!(split, whole, "split at {cut}");
        }
        let bytes: Vec<&[u8]> = SAMPLE.chunks(1).collect();
        assert_eq!(shape(&frames_of(&bytes, Limits::default()).unwrap()), whole);
    }

    #[test]
    fn memchr_lf_finds_the_first_lf() {
        // Every length and position around the 8- and 16-byte strides,
        // over ASCII and 8-bit filler (which the quick test lets through
        // to the exact one).
        for filler in [b'a', 0x80, 0x8a, 0xff, 0x0b, 0x09, 0x00] {
            for len in 0..48 {
                let base = vec![filler; len];
                assert_eq!(memchr_lf(&base), None, "{filler} {len}");
                for at in 0..len {
                    let mut h = base.clone();
                    h[at] = b'\n';
                    assert_eq!(memchr_lf(&h), Some(at), "{filler} {len} {at}");
                    if at + 1 < len {
                        h[len - 1] = b'\n';
                        assert_eq!(memchr_lf(&h), Some(at), "{filler} {len} {at}");
                    }
                }
            }
        }
    }

    #[test]
    fn announcements() {
        use Announcement::*;
        assert_eq!(
            literal_announcement(b"x {5}"),
            Literal(5, LiteralKind::Plain)
        );
        assert_eq!(
            literal_announcement(b"x {5+}"),
            Literal(5, LiteralKind::NonSync)
        );
        assert_eq!(
            literal_announcement(b"x ~{5}"),
            Literal(5, LiteralKind::Binary)
        );
        assert_eq!(
            literal_announcement(b"x {0}"),
            Literal(0, LiteralKind::Plain)
        );
        assert_eq!(literal_announcement(b"x {foo}"), None);
        assert_eq!(literal_announcement(b"x {}"), None);
        assert_eq!(literal_announcement(b"x 5}"), None);
        assert_eq!(literal_announcement(b"x {-1}"), Malformed);
        assert_eq!(literal_announcement(b"x {5x}"), Malformed);
        assert_eq!(literal_announcement(b"x {+}"), Malformed);
        assert_eq!(literal_announcement(b"x {99999999999999999999}"), Malformed);
        assert_eq!(
            literal_announcement(b"x {18446744073709551615}"),
            Malformed,
            "20 digits are refused even when they would fit"
        );
        assert_eq!(
            literal_announcement(b"x {9999999999999999999}"),
            Literal(9_999_999_999_999_999_999, LiteralKind::Plain)
        );
    }

    #[test]
    fn malformed_sizes_are_errors() {
        for input in [
            &b"* 1 FETCH (BODY[] {-1}\r\n"[..],
            b"* 1 FETCH (BODY[] {99999999999999999999}\r\n",
            b"* 1 FETCH (BODY[] {5x}\r\n",
        ] {
            let err = frames_of(&[input], Limits::default()).unwrap_err();
            assert_eq!(err.kind(), ProtoErrorKind::BadLiteral, "{input:?}");
        }
    }

    #[test]
    fn huge_literal_refused_before_allocation() {
        let mut framer = Framer::new(Limits::default());
        framer.feed(b"* 1 FETCH (BODY[] {9999999999999}\r\nabc");
        let err = framer.next_frame().unwrap_err();
        assert_eq!(err.kind(), ProtoErrorKind::LiteralTooLarge);
        assert!(framer.buf.capacity() < 4096);
        // The error is sticky.
        assert_eq!(
            framer.next_frame().unwrap_err().kind(),
            ProtoErrorKind::LiteralTooLarge
        );
    }

    #[test]
    fn small_frames_do_not_hold_the_read_buffer() {
        let mut framer = Framer::new(Limits::default());
        let mut input = Vec::new();
        input.extend_from_slice(b"* 1 EXISTS\r\n");
        let body = vec![b'x'; 20_000];
        input.extend_from_slice(b"* 1 FETCH (RFC822 {20000}\r\n");
        input.extend_from_slice(&body);
        input.extend_from_slice(b")\r\n* 2 EXISTS\r\n");
        framer.feed(&input);
        let small = framer.next_frame().unwrap().unwrap();
        let big = framer.next_frame().unwrap().unwrap();
        let last = framer.next_frame().unwrap().unwrap();
        // The small ones own their bytes; the big one shares the buffer.
        assert!(small.buf.is_unique());
        assert!(last.buf.is_unique());
        assert!(!big.buf.is_unique());
        assert_eq!(&big.literal(0)[..], &body[..]);
    }

    #[test]
    fn a_finished_command_leaves_no_grown_buffer() {
        let mut framer = Framer::new(Limits::default());
        let body = vec![b'x'; 200_000];
        let mut input = b"* 1 FETCH (RFC822 {200000}\r\n".to_vec();
        input.extend_from_slice(&body);
        input.extend_from_slice(b")\r\n");
        for chunk in input.chunks(16_384) {
            framer.feed(chunk);
        }
        let fetch = framer.next_frame().unwrap().unwrap();
        assert_eq!(fetch.literal(0).len(), 200_000);
        assert!(framer.buf.capacity() > Framer::SMALL_FRAME);
        // An untagged line does not end a command: the buffer stays.
        framer.feed(b"* 2 EXISTS\r\n");
        framer.next_frame().unwrap().unwrap();
        assert!(framer.buf.capacity() > Framer::SMALL_FRAME);
        framer.feed(b"A1 OK done\r\n");
        framer.next_frame().unwrap().unwrap();
        assert_eq!(framer.buf.capacity(), 0);
        assert_eq!(framer.room, 0);
        // Bytes already behind the tagged line keep the buffer.
        framer.feed(&input);
        framer.feed(b"A2 OK done\r\n* 3 EXISTS\r\n");
        framer.next_frame().unwrap().unwrap();
        framer.next_frame().unwrap().unwrap();
        assert!(framer.buf.capacity() > Framer::SMALL_FRAME);
        assert_eq!(
            framer.next_frame().unwrap().unwrap().first_line(),
            b"* 3 EXISTS"
        );
    }

    #[test]
    fn frames_handed_on_at_once_reuse_one_allocation() {
        // 200 responses of 20 KB each, in reads of 64 KiB: dropped as soon
        // as they are framed, they leave the buffer free to be reused in
        // place; kept, they make the framer allocate anew.
        let body = vec![b'x'; 20_000];
        let mut input = Vec::new();
        for i in 1..=200 {
            input.extend_from_slice(format!("* {i} FETCH (RFC822 {{20000}}\r\n").as_bytes());
            input.extend_from_slice(&body);
            input.extend_from_slice(b")\r\n");
        }
        let run = |keep: bool| {
            let mut framer = Framer::new(Limits::default());
            let (mut kept, mut ends) = (Vec::new(), std::collections::HashSet::new());
            for chunk in input.chunks(64 << 10) {
                framer.feed(chunk);
                // Where the allocation ends stays the same while it is
                // the same allocation (cutting frames off its front moves
                // the start, not the end).
                ends.insert(framer.buf.as_ptr() as usize + framer.buf.capacity());
                while let Some(frame) = framer.next_frame().unwrap() {
                    assert_eq!(frame.literal(0).len(), 20_000);
                    if keep {
                        kept.push(frame);
                    }
                }
            }
            (framer.buf.capacity(), kept.len(), ends.len())
        };
        let (capacity, _, _) = run(false);
        assert!(capacity < 256 << 10, "capacity {capacity}");
        let (_, kept, _) = run(true);
        assert_eq!(kept, 200);
        // Reused: the buffer's allocation is the same from one read to the
        // next once it has grown (two allocations in all, against one per
        // 256 KiB of messages when they are kept).
        let (_, _, reused) = run(false);
        let (_, _, kept) = run(true);
        assert!(reused <= 2, "{reused} allocations");
        assert!(kept >= 15, "{kept} allocations");
    }

    #[test]
    fn room_doubles_while_data_keeps_coming() {
        let mut framer = Framer::new(Limits::default());
        let read = vec![b'x'; 1000];
        framer.feed(b"* 1 FETCH (RFC822 {100000000}\r\n");
        let mut rooms = Vec::new();
        for _ in 0..4000 {
            framer.feed(&read);
            if rooms.last() != Some(&framer.room) {
                rooms.push(framer.room);
            }
        }
        assert_eq!(rooms.first(), Some(&1000));
        assert!(rooms
            .windows(2)
            .all(|w| w[1] == (w[0] * 2).min(Framer::GROWTH)));
        assert_eq!(rooms.last(), Some(&Framer::GROWTH));
    }

    #[test]
    fn literal_memory_grows_with_received_bytes_only() {
        let limits = Limits {
            max_literal: 1 << 40,
            max_response: 1 << 40,
            ..Limits::default()
        };
        let mut framer = Framer::new(limits);
        framer.feed(b"* 1 FETCH (BODY[] {1000000000}\r\n");
        assert!(framer.next_frame().unwrap().is_none());
        framer.feed(&[b'x'; 1000]);
        assert!(framer.next_frame().unwrap().is_none());
        assert!(
            framer.buf.capacity() < 64 * 1024,
            "{}",
            framer.buf.capacity()
        );
    }

    #[test]
    fn long_line_refused() {
        let limits = Limits {
            max_line: 10,
            ..Limits::default()
        };
        let err = frames_of(&[b"* 0123456789abcdef\r\n"], limits).unwrap_err();
        assert_eq!(err.kind(), ProtoErrorKind::LineTooLong);
        // Also without the line end ever arriving.
        let err = frames_of(&[b"* 0123456", b"789abcdef"], limits).unwrap_err();
        assert_eq!(err.kind(), ProtoErrorKind::LineTooLong);
        // Exactly at the limit is fine.
        assert_eq!(frames_of(&[b"* 34567890\r\n"], limits).unwrap().len(), 1);
    }

    #[test]
    fn byte_at_a_time_is_linear() {
        // 200,000 bytes of one line fed one byte at a time: quadratic scanning
        // would take ~2e10 steps; linear takes well under a second.
        let mut framer = Framer::new(Limits::default());
        let mut line = vec![b'a'; 200_000];
        line.extend_from_slice(b"\r\n");
        for b in &line {
            framer.feed(std::slice::from_ref(b));
            assert!(framer.next_frame().unwrap().is_none() || *b == b'\n');
        }
        assert_eq!(framer.scanned, 0);
    }

    /// Feeds `input` in `chunk`-byte pieces with FETCH literals streamed;
    /// returns the frames (as shape) and the streamed bytes.
    type Streamed = (Vec<Vec<Vec<u8>>>, Vec<u8>, Vec<Option<u64>>);

    fn streamed(input: &[u8], chunk: usize) -> Streamed {
        let mut framer = Framer::new(Limits {
            max_literal: 10,
            ..Limits::default()
        });
        framer.set_stream_fetch_literals(true);
        let mut frames = Vec::new();
        let mut data = Vec::new();
        for piece in input.chunks(chunk) {
            framer.feed(piece);
            while let Some(p) = framer.next_piece().unwrap() {
                match p {
                    Piece::Frame(f) => frames.push(f),
                    Piece::LiteralChunk { data: d, .. } => data.extend_from_slice(&d),
                    Piece::LiteralStart { .. } => {}
                }
            }
        }
        let sizes = frames
            .iter()
            .flat_map(|f| {
                (0..f.literal_count())
                    .map(|i| f.streamed_literal(i))
                    .collect::<Vec<_>>()
            })
            .collect();
        (shape(&frames), data, sizes)
    }

    #[test]
    fn fetch_literals_stream_out() {
        let body = "x".repeat(1000);
        let input = format!(
            "* 1 FETCH (UID 5 BODY[] {{1000}}\r\n{body} BODY[HEADER] {{3}}\r\nabc)\r\n\
             * LIST () \"/\" {{4}}\r\nname\r\n\
             A1 OK done\r\n"
        );
        let (whole, data, sizes) = streamed(input.as_bytes(), input.len());
        assert_eq!(data, format!("{body}abc").into_bytes());
        assert_eq!(
            sizes,
            vec![Some(1000), Some(3), None],
            "the LIST literal is kept"
        );
        assert_eq!(
            whole[0],
            vec![
                b"* 1 FETCH (UID 5 BODY[] {1000}".to_vec(),
                b"".to_vec(),
                b" BODY[HEADER] {3}".to_vec(),
                b"".to_vec(),
                b")".to_vec()
            ]
        );
        assert_eq!(whole[1][1], b"name");
        assert_eq!(whole[2], vec![b"A1 OK done".to_vec()]);
        // Streamed literals ignore the literal size limit (10 here) and
        // arrive the same way whatever the chunking.
        for chunk in [1, 2, 7, 64, 999] {
            assert_eq!(
                streamed(input.as_bytes(), chunk),
                (whole.clone(), data.clone(), sizes.clone()),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn streaming_memory_stays_bounded() {
        let mut framer = Framer::new(Limits::default());
        framer.set_stream_fetch_literals(true);
        framer.feed(b"* 7 FETCH (BODY[] {1000000000}\r\n");
        assert_eq!(
            framer.next_piece().unwrap(),
            Some(Piece::LiteralStart {
                line: Bytes::from_static(b"* 7 FETCH (BODY[] {1000000000}"),
                size: 1_000_000_000
            })
        );
        assert!(framer.next_piece().unwrap().is_none());
        let block = vec![b'y'; 64 * 1024];
        let mut total = 0u64;
        for _ in 0..200 {
            framer.feed(&block);
            while let Some(Piece::LiteralChunk { data, remaining }) = framer.next_piece().unwrap() {
                total += data.len() as u64;
                assert_eq!(remaining, 1_000_000_000 - total);
            }
            assert!(
                framer.buf.capacity() <= 256 * 1024,
                "{}",
                framer.buf.capacity()
            );
        }
        assert_eq!(total, 200 * 64 * 1024);
    }

    #[test]
    fn lf_search_finds_the_first_line_feed() {
        for len in 0..40 {
            for at in 0..=len {
                let mut h = vec![b'a'; len];
                if at < len {
                    h[at] = b'\n';
                    // A second LF and bytes next to LF in value change nothing.
                    if at + 3 < len {
                        h[at + 3] = b'\n';
                    }
                    if at > 0 {
                        h[at - 1] = b'\x0b';
                    }
                }
                let want = h.iter().position(|&b| b == b'\n');
                assert_eq!(memchr_lf(&h), want, "len {len} at {at}");
            }
        }
        let mut h = vec![0x8a_u8; 100];
        h[77] = b'\n';
        assert_eq!(memchr_lf(&h), Some(77));
    }

    #[test]
    fn fetch_line_detection() {
        assert!(is_fetch_line(b"* 12 FETCH (BODY[] {3}"));
        assert!(is_fetch_line(b"* 1 fetch (x"));
        assert!(!is_fetch_line(b"* 12 FETCHX (x"));
        assert!(!is_fetch_line(b"* LIST () \"/\" {4}"));
        assert!(!is_fetch_line(b"A1 FETCH"));
        assert!(!is_fetch_line(b"* FETCH"));
    }

    #[test]
    fn take_raw_between_responses() {
        let mut framer = Framer::new(Limits::default());
        framer.feed(b"abc\r\ndef");
        assert_eq!(&framer.take_raw(2)[..], b"ab");
        assert_eq!(framer.next_frame().unwrap().unwrap().first_line(), b"c");
        assert_eq!(&framer.take_raw(10)[..], b"def");
    }
}
