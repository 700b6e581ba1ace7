//! Borrowed views of FETCH responses (RFC 3501 §7.4.2, RFC 9051 §7.5.2):
//! the data of [`Fetch`], read in place from the received bytes without a
//! single heap allocation or reference count.
//!
//! [`FetchView::from_frame`] (or [`FetchView::from_response`]) checks the
//! complete syntax of every item in one pass, exactly as
//! [`decode_response`](super::decode_response) does, and keeps only
//! positions; the accessors then hand out borrowed values:
//!
//! - strings as [`StrView`], whose bytes are unescaped only when asked and
//!   borrowed whenever the string holds no backslash;
//! - flags, address lists, parameters and the parts of a multipart as
//!   iterators;
//! - ENVELOPE as [`EnvelopeView`], BODY and BODYSTRUCTURE as [`BodyView`];
//! - every item, in order, through [`FetchView::items`].
//!
//! What the view accepts is exactly what the owned decoder accepts: a
//! response it rejects, the view rejects with the same reason; an item it
//! keeps as [`FetchItem::Undecodable`] the view keeps as
//! [`ItemView::Undecodable`] with the same raw bytes and reason; and
//! [`FetchView::to_fetch`] gives the very [`Fetch`] the owned decoder
//! gives. Two documented differences, both in values kept raw: a raw value
//! (a list where a string belongs, an unknown extension value) that spans a
//! literal is handed out here as received, CRLF and literal included, where
//! the owned decoder keeps it empty; and raw bytes are handed out as
//! received, where the owned decoder writes CRLF after each line that
//! announced a literal ([`RawView::joined`] gives that form). And a
//! response larger than 4 GiB is refused (positions are kept in 32 bits).
//!
//! Checking is one pass; reading is lazy: [`FetchView::body_structure`]
//! gives the top level read during the check, and the check records where
//! the fields of the first addresses of an envelope and the first
//! elements of each parameter list lie, so that iterating them reads
//! nothing again; the first two single parts of a top-level multipart
//! are read during the check as well (so [`FetchView::body_structure`]
//! borrows the view). Longer lists, the other parts and the enclosed
//! message of a MESSAGE/RFC822 part are read again from their recorded
//! positions when iterated or asked for.
//!
//! A response is one [`Frame`]: its lines and literals lie in one buffer,
//! so a string, a literal or a raw value is always one slice of it.
//! Nesting is bounded by [`MAX_DEPTH`] as in the owned decoder.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};

use super::fetch::{
    Address, BodyStructure, Envelope, Extension, Fetch, FetchItem, Multipart, Section, SectionText,
    SinglePart,
};
use super::reader::{ends_atom, find_quote_or_backslash, DecodeError, ENDS_NAME, MAX_DEPTH, STOPS};
use crate::response::{Frame, Kind, Response};

// ---------------------------------------------------------------------------
// Where the bytes are.

/// The bytes of one response: a frame's buffer and where its data begins.
#[derive(Clone, Copy)]
struct Source<'a> {
    /// Every byte of the response.
    buf: &'a [u8],
    /// The frame, for the positions of its lines and literals; `None` for
    /// a single line.
    frame: Option<&'a Frame>,
}

impl<'a> Source<'a> {
    fn last_line(&self) -> usize {
        self.frame.map_or(0, |f| f.line_count() - 1)
    }

    /// Start and end of line `line` (the first line from its start, not
    /// from where the data begins).
    #[inline]
    fn line(&self, line: usize) -> (usize, usize) {
        match self.frame {
            Some(f) if line < f.line_count() => {
                let r = f.line_range(line);
                (r.start, r.end)
            }
            None if line == 0 => (0, self.buf.len()),
            _ => (self.buf.len(), self.buf.len()),
        }
    }

    /// A position at the start of the buffer (for empty lists).
    fn origin(&self) -> At {
        At {
            pos: self.line(0).0 as u32,
            line: 0,
        }
    }

    /// The literal that follows line `line`.
    fn literal(&self, line: usize) -> &'a [u8] {
        match self.frame {
            Some(f) if line < f.literal_count() => {
                self.buf.get(f.literal_range(line)).unwrap_or(&[])
            }
            _ => &[],
        }
    }
}

impl fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("len", &self.buf.len())
            .field("lines", &(self.last_line() + 1))
            .finish()
    }
}

/// Largest response a view reads (positions are kept in 32 bits); the
/// owned decoder has no such limit, but the framer's default limit on a
/// response (512 MiB) is far below it.
const MAX_VIEW_LEN: usize = u32::MAX as usize;

/// A reading position: offset in the buffer and line. Values are read
/// again from a position only once checked, so the nesting depth there
/// does not matter (reading starts at depth 0), except for the items of
/// the response, which start at depth 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct At {
    pos: u32,
    line: u32,
}

// ---------------------------------------------------------------------------
// Errors, kept small and rendered only when asked.

/// Error messages, as the owned decoder words them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Msg {
    ExpectedAtom,
    ExpectedName,
    ExpectedNumber,
    NumberOutOfRange,
    NumberTooLarge,
    ExpectedStringOrNil,
    UnterminatedQuoted,
    ExpectedLiteral,
    UnterminatedAnnouncement,
    AnnouncementNotAtEnd,
    ExpectedOpen,
    UnterminatedList,
    EndOfLineInList,
    ElementNotConsumed,
    UnbalancedBracket,
    ExpectedValue,
    ExpectedOpenAfterNumber,
    EndOfLineInFetch,
    CannotDelimit,
    InvalidBinarySection,
    UnterminatedEnvelope,
    UnterminatedDisposition,
    UnterminatedExtension,
}

impl Msg {
    fn text(self) -> &'static str {
        match self {
            Msg::ExpectedAtom => "expected an atom",
            Msg::ExpectedName => "expected a name",
            Msg::ExpectedNumber => "expected a number",
            Msg::NumberOutOfRange => "number out of range",
            Msg::NumberTooLarge => "number larger than 32 bits",
            Msg::ExpectedStringOrNil => "expected a string or NIL",
            Msg::UnterminatedQuoted => "unterminated quoted string",
            Msg::ExpectedLiteral => "expected a literal",
            Msg::UnterminatedAnnouncement => "unterminated literal announcement",
            Msg::AnnouncementNotAtEnd => "literal announcement not at the end of a line",
            Msg::ExpectedOpen => "expected '('",
            Msg::UnterminatedList => "unterminated list",
            Msg::EndOfLineInList => "unexpected end of line in a list",
            Msg::ElementNotConsumed => "list element not consumed",
            Msg::UnbalancedBracket => "unbalanced '['",
            Msg::ExpectedValue => "expected a value",
            Msg::ExpectedOpenAfterNumber => "expected '(' after the sequence number",
            Msg::EndOfLineInFetch => "unexpected end of line in FETCH",
            Msg::CannotDelimit => "cannot delimit the value",
            Msg::InvalidBinarySection => "invalid BINARY section",
            Msg::UnterminatedEnvelope => "unterminated ENVELOPE",
            Msg::UnterminatedDisposition => "unterminated disposition",
            Msg::UnterminatedExtension => "unterminated body extension",
        }
    }
}

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum What {
    /// A message followed by where it happened.
    At(Msg),
    /// `expected 'c'`, followed by where.
    Expected(u8),
    /// `missing 'c'`, followed by where.
    Missing(u8),
    /// Nesting past [`MAX_DEPTH`].
    Nesting,
    /// An INTERNALDATE that is not a date; the position is the value's.
    BadDate,
    /// A SAVEDATE that is not a date.
    BadSaveDate,
}

/// A decoding failure: what, and where (offset and line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fail {
    what: What,
    at: usize,
    line: u32,
}

type VResult<T> = Result<T, Fail>;

impl Fail {
    /// The message the owned decoder gives for the same failure.
    fn render(&self, src: &Source<'_>) -> String {
        let (_, end) = src.line(self.line as usize);
        let from = self.at.min(end);
        let shown = crate::Printable(&src.buf[from..end.min(from + 40)]);
        match self.what {
            What::At(m) => format!("{} at {shown:?}", m.text()),
            What::Expected(b) => format!("expected '{}' at {shown:?}", b as char),
            What::Missing(b) => format!("missing '{}' at {shown:?}", b as char),
            What::Nesting => format!("nesting deeper than {MAX_DEPTH} levels"),
            What::BadDate => {
                let mut c = Cur::new(
                    *src,
                    At {
                        pos: self.at as u32,
                        line: self.line,
                    },
                );
                let value = c.string().map(|s| s.as_bytes()).unwrap_or_default();
                format!("invalid INTERNALDATE {:?}", crate::Printable(&value))
            }
            What::BadSaveDate => "invalid SAVEDATE".to_string(),
        }
    }
}

/// Why an item could not be decoded: the owned decoder's reason, rendered
/// when displayed.
#[derive(Clone, Copy)]
pub struct Reason<'a> {
    src: Source<'a>,
    fail: Fail,
}

impl Reason<'_> {
    /// The reason as a [`DecodeError`].
    pub fn to_decode_error(&self) -> DecodeError {
        DecodeError::new(self.fail.render(&self.src))
    }
}

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fail.render(&self.src))
    }
}

impl fmt::Debug for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Reason")
            .field(&self.fail.render(&self.src))
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Strings and raw bytes.

/// How a [`StrView`] was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StrForm {
    /// A quoted string (the view holds what is between the quotes).
    Quoted,
    /// A literal (the view holds its data).
    Literal,
    /// An atom where a string belongs (tolerated).
    Atom,
    /// A value kept as written (a list where a string belongs, an unknown
    /// extension value): parentheses and quotes included.
    Raw,
}

/// A string of a FETCH response, borrowed from the received bytes.
///
/// A quoted string is unescaped only when its bytes are asked for, and
/// only if it holds a backslash: [`StrView::as_bytes`] is a borrow
/// otherwise.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StrView<'a> {
    raw: &'a [u8],
    form: StrForm,
    /// A quoted string with at least one backslash.
    escaped: bool,
    /// A raw value that spans a literal.
    spans_literal: bool,
}

impl fmt::Debug for StrView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}({:?})",
            self.form,
            crate::Printable(&self.as_bytes())
        )
    }
}

impl<'a> StrView<'a> {
    /// The empty string (what NIL reads as where the owned decoder reads
    /// NIL as empty).
    pub const EMPTY: StrView<'static> = StrView {
        raw: b"",
        form: StrForm::Atom,
        escaped: false,
        spans_literal: false,
    };

    fn new(raw: &'a [u8], form: StrForm) -> StrView<'a> {
        StrView {
            raw,
            form,
            escaped: false,
            spans_literal: false,
        }
    }

    /// How the string was written.
    #[inline]
    pub fn form(&self) -> StrForm {
        self.form
    }

    /// The bytes as written: between the quotes with the backslashes kept,
    /// or the literal's data, or the atom, or the raw value.
    #[inline]
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// True for a quoted string holding backslash escapes.
    #[inline]
    pub fn has_escapes(&self) -> bool {
        self.escaped
    }

    /// True for a raw value that spans a literal (its bytes then include
    /// the line end and the literal, as received).
    #[inline]
    pub fn spans_literal(&self) -> bool {
        self.spans_literal
    }

    /// The string's bytes: unescaped (a copy) if it holds escapes,
    /// borrowed otherwise.
    #[inline]
    pub fn as_bytes(&self) -> Cow<'a, [u8]> {
        if self.escaped {
            Cow::Owned(self.bytes().collect())
        } else {
            Cow::Borrowed(self.raw)
        }
    }

    /// The string's bytes, unescaped as they are read: no copy at all.
    #[inline]
    pub fn bytes(&self) -> Unescaped<'a> {
        Unescaped {
            rest: self.raw,
            escaped: self.escaped,
        }
    }

    /// The string as text, invalid UTF-8 replaced; borrowed when it holds
    /// no escape and is valid UTF-8.
    pub fn to_str_lossy(&self) -> Cow<'a, str> {
        match self.as_bytes() {
            Cow::Borrowed(b) => String::from_utf8_lossy(b),
            Cow::Owned(v) => Cow::Owned(String::from_utf8_lossy(&v).into_owned()),
        }
    }

    /// True if the string is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Compares the unescaped bytes with `other`, ignoring ASCII case.
    #[inline]
    pub fn eq_ignore_ascii_case(&self, other: &[u8]) -> bool {
        if !self.escaped {
            return self.raw.eq_ignore_ascii_case(other);
        }
        let mut mine = self.bytes();
        for &b in other {
            match mine.next() {
                Some(m) if m.eq_ignore_ascii_case(&b) => {}
                _ => return false,
            }
        }
        mine.next().is_none()
    }

    /// The bytes as the owned decoder keeps them.
    fn to_owned_bytes(self) -> Bytes {
        if self.spans_literal {
            // The owned decoder keeps a raw value spanning a literal empty.
            return Bytes::new();
        }
        Bytes::from(self.as_bytes().into_owned())
    }
}

/// The bytes of a [`StrView`], backslash escapes removed on the fly.
#[derive(Clone, Debug)]
pub struct Unescaped<'a> {
    rest: &'a [u8],
    escaped: bool,
}

impl Iterator for Unescaped<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        if self.escaped && b == b'\\' {
            if let Some((&next, rest)) = self.rest.split_first() {
                self.rest = rest;
                return Some(next);
            }
        }
        Some(b)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.rest.len();
        if self.escaped {
            (n.div_ceil(2), Some(n))
        } else {
            (n, Some(n))
        }
    }
}

/// Raw bytes of an item, between two positions of the response (possibly
/// spanning literals).
#[derive(Clone, Copy)]
pub struct RawView<'a> {
    src: Source<'a>,
    from: At,
    to: At,
}

impl fmt::Debug for RawView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawView({:?})", crate::Printable(self.as_received()))
    }
}

impl<'a> RawView<'a> {
    /// The bytes as received, line ends and literals included.
    pub fn as_received(&self) -> &'a [u8] {
        let end = (self.to.pos as usize).min(self.src.buf.len());
        &self.src.buf[(self.from.pos as usize).min(end)..end]
    }

    /// The bytes as imaplib and the owned decoder join them: CRLF and the
    /// literal after each line that announced one. Borrowed unless the
    /// bytes span a literal.
    pub fn joined(&self) -> Cow<'a, [u8]> {
        if self.from.line == self.to.line {
            return Cow::Borrowed(self.as_received());
        }
        let buf = self.src.buf;
        let mut out = Vec::new();
        let (_, end) = self.src.line(self.from.line as usize);
        out.extend_from_slice(buf.get(self.from.pos as usize..end).unwrap_or_default());
        for line in self.from.line as usize + 1..=self.to.line as usize {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(self.src.literal(line - 1));
            let (start, end) = self.src.line(line);
            let end = if line == self.to.line as usize {
                self.to.pos as usize
            } else {
                end
            };
            out.extend_from_slice(buf.get(start..end.max(start)).unwrap_or_default());
        }
        Cow::Owned(out)
    }
}

/// The empty string, for fields where the owned decoder reads NIL as empty.
const EMPTY: StrView<'static> = StrView::EMPTY;

/// Position of the first `"` or `\\` in `s` at or after `from`: eight
/// bytes at a time (a byte of `w ^ c` is zero exactly where `w` holds `c`;
/// the borrow trick flags the lowest such byte exactly), then one at a
/// time.
#[inline]
fn quote_or_backslash(s: &[u8], mut from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    while let Some(chunk) = s.get(from..from + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let (q, b) = (w ^ QUOTES, w ^ BACKSLASHES);
        let found = (q.wrapping_sub(ONES) & !q | b.wrapping_sub(ONES) & !b) & HIGHS;
        if found != 0 {
            return Some(from + (found.trailing_zeros() / 8) as usize);
        }
        from += 8;
    }
    while let Some(&b) = s.get(from) {
        if b == b'"' || b == b'\\' {
            return Some(from);
        }
        from += 1;
    }
    None
}

// ---------------------------------------------------------------------------
// The cursor: the owned reader's rules over borrowed bytes.

#[derive(Clone, Copy)]
struct Cur<'a> {
    src: Source<'a>,
    /// The buffer up to the end of the current line's data.
    text: &'a [u8],
    pos: usize,
    line: u32,
    depth: u32,
}

impl<'a> Cur<'a> {
    fn new(src: Source<'a>, at: At) -> Cur<'a> {
        let (_, end) = src.line(at.line as usize);
        Cur {
            src,
            text: &src.buf[..end],
            pos: at.pos as usize,
            line: at.line,
            depth: 0,
        }
    }

    /// The position (which fits 32 bits: larger responses are refused).
    #[inline]
    fn state(&self) -> At {
        At {
            pos: self.pos as u32,
            line: self.line,
        }
    }

    #[cold]
    #[inline(never)]
    fn fail(&self, m: Msg) -> Fail {
        Fail {
            what: What::At(m),
            at: self.pos,
            line: self.line,
        }
    }

    #[cold]
    #[inline(never)]
    fn fail_with(&self, what: What) -> Fail {
        Fail {
            what,
            at: self.pos,
            line: self.line,
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    #[inline]
    fn rest(&self) -> &'a [u8] {
        self.text.get(self.pos..).unwrap_or_default()
    }

    fn enter_line(&mut self, line: u32) {
        let (start, end) = self.src.line(line as usize);
        self.line = line;
        self.text = &self.src.buf[..end];
        self.pos = start;
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len() && self.line as usize >= self.src.last_line()
    }

    #[inline(always)]
    fn skip_spaces(&mut self) {
        // Values are mostly one space apart: one test for none, a loop
        // only past the first.
        let t = self.text;
        let mut p = self.pos;
        if t.get(p) == Some(&b' ') {
            p += 1;
            while t.get(p) == Some(&b' ') {
                p += 1;
            }
            self.pos = p;
        }
    }

    #[inline]
    fn eat(&mut self, b: u8) -> bool {
        self.skip_spaces();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    #[inline]
    fn expect(&mut self, b: u8) -> VResult<()> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.fail_with(What::Expected(b)))
        }
    }

    fn atom(&mut self) -> VResult<&'a [u8]> {
        self.skip_spaces();
        self.atom_here()
    }

    /// [`Cur::atom`], spaces already skipped.
    fn atom_here(&mut self) -> VResult<&'a [u8]> {
        let rest = self.rest();
        let len = rest
            .iter()
            .position(|&b| ends_atom(b))
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(self.fail(Msg::ExpectedAtom));
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    #[inline(always)]
    fn eat_nil(&mut self) -> bool {
        let t = self.text;
        let p = self.pos;
        let Some(word) = t.get(p..p + 3) else {
            return false;
        };
        // ASCII letters compared without case: bit 5 cleared.
        if word[0] & 0xdf == b'N'
            && word[1] & 0xdf == b'I'
            && word[2] & 0xdf == b'L'
            && t.get(p + 3).is_none_or(|&b| ends_atom(b))
        {
            self.pos = p + 3;
            true
        } else {
            false
        }
    }

    fn item_name(&mut self) -> VResult<&'a [u8]> {
        self.skip_spaces();
        self.item_name_here()
    }

    /// [`Cur::item_name`], spaces already skipped.
    fn item_name_here(&mut self) -> VResult<&'a [u8]> {
        let rest = self.rest();
        let len = rest
            .iter()
            .position(|&b| STOPS[usize::from(b)] & ENDS_NAME != 0)
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(self.fail(Msg::ExpectedName));
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    fn until(&mut self, stop: u8) -> VResult<()> {
        match self.rest().iter().position(|&b| b == stop) {
            Some(len) => {
                self.pos += len;
                Ok(())
            }
            None => Err(self.fail_with(What::Missing(stop))),
        }
    }

    fn keyword(&mut self, word: &[u8]) -> bool {
        self.skip_spaces();
        let rest = self.rest();
        if rest.len() >= word.len()
            && rest[..word.len()].eq_ignore_ascii_case(word)
            && rest
                .get(word.len())
                .is_none_or(|&b| ends_atom(b) || b == b']' || b == b'[')
        {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    #[inline]
    fn number(&mut self) -> VResult<u64> {
        self.skip_spaces();
        self.number_here()
    }

    /// [`Cur::number`], spaces already skipped.
    #[inline]
    fn number_here(&mut self) -> VResult<u64> {
        let t = self.text;
        let start = self.pos;
        let mut p = start;
        let mut v: u64 = 0;
        // Up to 19 digits cannot overflow.
        while let Some(&d) = t.get(p) {
            let d = d.wrapping_sub(b'0');
            if d > 9 || p - start == 19 {
                break;
            }
            v = v * 10 + u64::from(d);
            p += 1;
        }
        if p == start || t.get(p).is_some_and(u8::is_ascii_digit) {
            return self.long_number();
        }
        self.pos = p;
        Ok(v)
    }

    /// [`Cur::number`] for no digit or more than 19 digits.
    #[cold]
    #[inline(never)]
    fn long_number(&mut self) -> VResult<u64> {
        let rest = self.rest();
        let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 || len > 20 {
            return Err(self.fail(Msg::ExpectedNumber));
        }
        let mut v: u64 = 0;
        for &d in &rest[..len] {
            v = match v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
            {
                Some(v) => v,
                None => return Err(self.fail(Msg::NumberOutOfRange)),
            };
        }
        self.pos += len;
        Ok(v)
    }

    fn number32(&mut self) -> VResult<u32> {
        let v = self.number()?;
        u32::try_from(v).map_err(|_| self.fail(Msg::NumberTooLarge))
    }

    #[inline]
    fn at_literal(&self) -> bool {
        let rest = self.rest();
        rest.first() == Some(&b'{') || rest.starts_with(b"~{")
    }

    fn skip_to_end(&mut self) {
        let last = self.src.last_line() as u32;
        self.enter_line(last);
        self.pos = self.text.len();
        self.depth = 0;
    }

    #[inline(always)]
    fn nstring(&mut self) -> VResult<Option<StrView<'a>>> {
        self.skip_spaces();
        self.nstring_here()
    }

    /// [`Cur::nstring`], spaces already skipped.
    #[inline(always)]
    fn nstring_here(&mut self) -> VResult<Option<StrView<'a>>> {
        match self.text.get(self.pos) {
            Some(b'"') => self.quoted().map(Some),
            Some(b'N' | b'n') if self.eat_nil() => Ok(None),
            Some(b'{' | b'~') if self.at_literal() => self.literal().map(Some),
            Some(b'(' | b')') | None => Err(self.fail(Msg::ExpectedStringOrNil)),
            Some(_) => self.atom().map(|a| Some(StrView::new(a, StrForm::Atom))),
        }
    }

    /// [`Cur::nstring`], reading nothing.
    #[inline(always)]
    fn skip_nstring(&mut self) -> VResult<()> {
        self.skip_spaces();
        self.skip_nstring_here()
    }

    /// [`Cur::skip_nstring`], spaces already skipped.
    #[inline(always)]
    fn skip_nstring_here(&mut self) -> VResult<()> {
        match self.text.get(self.pos) {
            Some(b'"') => self.skip_quoted(),
            Some(b'N' | b'n') if self.eat_nil() => Ok(()),
            Some(b'{' | b'~') if self.at_literal() => self.literal().map(|_| ()),
            Some(b'(' | b')') | None => Err(self.fail(Msg::ExpectedStringOrNil)),
            Some(_) => self.atom().map(|_| ()),
        }
    }

    /// The closing quote of the quoted string opening at the cursor, and
    /// whether the string holds a backslash.
    #[inline(always)]
    fn quoted_end(&self) -> Option<(usize, bool)> {
        let t = self.text;
        let mut i = self.pos + 1;
        let mut escaped = false;
        loop {
            let k = quote_or_backslash(t, i)?;
            if t[k] == b'"' {
                return Some((k, escaped));
            }
            escaped = true;
            i = k + 2;
        }
    }

    /// [`Cur::quoted`], reading nothing.
    #[inline(always)]
    fn skip_quoted(&mut self) -> VResult<()> {
        match self.quoted_end() {
            Some((end, _)) => {
                self.pos = end + 1;
                Ok(())
            }
            None => Err(self.fail(Msg::UnterminatedQuoted)),
        }
    }

    fn string(&mut self) -> VResult<StrView<'a>> {
        self.skip_spaces();
        if self.at_literal() {
            return self.literal();
        }
        match self.peek() {
            Some(b'"') => self.quoted(),
            _ => self.atom().map(|a| StrView::new(a, StrForm::Atom)),
        }
    }

    /// A quoted string without escapes or an atom, borrowed; `None` for
    /// anything else (which [`Cur::string`] then reads).
    /// Spaces already skipped.
    fn simple_string_slice(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest();
        match rest.first() {
            Some(b'"') => {
                let end = find_quote_or_backslash(&rest[1..])? + 1;
                if rest[end] != b'"' {
                    return None;
                }
                self.pos += end + 1;
                Some(&rest[1..end])
            }
            Some(b'{') | Some(b'~') | None => None,
            Some(_) => self.atom().ok(),
        }
    }

    #[inline(always)]
    fn quoted(&mut self) -> VResult<StrView<'a>> {
        match self.quoted_end() {
            Some((end, escaped)) => {
                let raw = &self.text[self.pos + 1..end];
                self.pos = end + 1;
                Ok(StrView {
                    raw,
                    form: StrForm::Quoted,
                    escaped,
                    spans_literal: false,
                })
            }
            None => Err(self.fail(Msg::UnterminatedQuoted)),
        }
    }

    fn literal(&mut self) -> VResult<StrView<'a>> {
        let rest = self.rest();
        let skip = usize::from(rest.first() == Some(&b'~'));
        if rest.get(skip) != Some(&b'{') {
            return Err(self.fail(Msg::ExpectedLiteral));
        }
        let Some(close) = rest.iter().position(|&b| b == b'}') else {
            return Err(self.fail(Msg::UnterminatedAnnouncement));
        };
        if close + 1 != rest.len() || self.line as usize >= self.src.last_line() {
            return Err(self.fail(Msg::AnnouncementNotAtEnd));
        }
        let data = self.src.literal(self.line as usize);
        self.enter_line(self.line + 1);
        Ok(StrView::new(data, StrForm::Literal))
    }

    fn enter(&mut self) -> VResult<()> {
        self.depth += 1;
        if self.depth as usize > MAX_DEPTH {
            return Err(self.fail_with(What::Nesting));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// A parenthesised list, `item` called for each element; NIL is an
    /// empty list.
    #[inline]
    fn list<F>(&mut self, item: F) -> VResult<()>
    where
        F: FnMut(&mut Self) -> VResult<()>,
    {
        self.skip_spaces();
        self.list_here(item)
    }

    /// [`Cur::list`], spaces already skipped.
    #[inline]
    fn list_here<F>(&mut self, mut item: F) -> VResult<()>
    where
        F: FnMut(&mut Self) -> VResult<()>,
    {
        if self.peek() != Some(b'(') {
            if self.keyword(b"NIL") {
                return Ok(());
            }
            return Err(self.fail(Msg::ExpectedOpen));
        }
        self.enter()?;
        self.pos += 1;
        loop {
            self.skip_spaces();
            match self.peek() {
                Some(b')') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                None if self.at_end() => return Err(self.fail(Msg::UnterminatedList)),
                None => return Err(self.fail(Msg::EndOfLineInList)),
                _ => {
                    let before = (self.line, self.pos);
                    item(self)?;
                    if (self.line, self.pos) == before {
                        return Err(self.fail(Msg::ElementNotConsumed));
                    }
                }
            }
        }
    }

    /// Skips one value of any kind, as the owned reader does; returns it as
    /// written (a literal's data for a literal).
    fn skip_value(&mut self) -> VResult<StrView<'a>> {
        self.skip_spaces();
        let (start_line, start) = (self.line, self.pos);
        if self.at_literal() {
            return self.literal();
        }
        match self.peek() {
            Some(b'(') => self.list(|c| c.skip_value().map(|_| ()))?,
            Some(b'"') => {
                self.quoted()?;
            }
            Some(b'[') => {
                let rest = self.rest();
                let mut depth = 0usize;
                let mut len = 0;
                for (i, &b) in rest.iter().enumerate() {
                    match b {
                        b'[' => depth += 1,
                        b']' => {
                            depth -= 1;
                            if depth == 0 {
                                len = i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                if len == 0 {
                    return Err(self.fail(Msg::UnbalancedBracket));
                }
                self.pos += len;
            }
            Some(_) => {
                self.atom()?;
            }
            None => return Err(self.fail(Msg::ExpectedValue)),
        }
        Ok(StrView {
            raw: &self.src.buf[start..self.pos.max(start)],
            form: StrForm::Raw,
            escaped: false,
            spans_literal: self.line != start_line,
        })
    }

    fn raw_since(&self, from: At) -> RawView<'a> {
        RawView {
            src: self.src,
            from,
            to: self.state(),
        }
    }
}

// ---------------------------------------------------------------------------
// FETCH.

/// A FETCH response read in place: `* n FETCH (item value ...)`.
///
/// Built by [`FetchView::from_frame`] or [`FetchView::from_response`],
/// which check every item's syntax; the accessors read the first item of
/// each kind, as [`Fetch`]'s do.
#[derive(Clone, Copy, Debug)]
pub struct FetchView<'a> {
    src: Source<'a>,
    seq: u32,
    /// Just after the opening parenthesis.
    items: At,
    item_count: u32,
    undecodable: u32,
    uid: Option<u32>,
    flags: Option<At>,
    internal_date: Option<DateTime<FixedOffset>>,
    rfc822_size: Option<u64>,
    modseq: Option<u64>,
    envelope: Option<EnvelopeView<'a>>,
    body_structure: Option<BodyPart<'a>>,
    body: Option<StrView<'a>>,
    /// The first parts of a multipart `body_structure`, read while
    /// checking (`kept` of them), so that iterating them reads nothing.
    parts: [SinglePartView<'a>; KEPT_PARTS],
    kept: u8,
}

/// How many single parts of a top-level multipart are kept while checking.
const KEPT_PARTS: usize = 2;

impl<'a> FetchView<'a> {
    /// Reads a framed response. `None` if it is not an untagged FETCH
    /// response; otherwise the view, or the error the owned decoder gives
    /// for the same response (as [`Typed::Undecodable`](super::Typed)).
    ///
    /// Recognises `* n FETCH` exactly as [`Response::parse`] does, so
    /// parsing the response first is not needed.
    pub fn from_frame(frame: &'a Frame) -> Option<Result<FetchView<'a>, DecodeError>> {
        let line = frame.first_line();
        if line.first() != Some(&b'*') || line.get(1) != Some(&b' ') {
            return None;
        }
        let skip = |mut p: usize| {
            while line.get(p) == Some(&b' ') {
                p += 1;
            }
            p
        };
        let mut pos = skip(1);
        let digits = line[pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let mut number = None;
        if digits > 0 && line.get(pos + digits) == Some(&b' ') {
            number = Some(&line[pos..pos + digits]);
            pos = skip(pos + digits);
        }
        let name_len = line[pos..]
            .iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='))
            .count();
        if !line[pos..pos + name_len].eq_ignore_ascii_case(b"FETCH") {
            return None;
        }
        pos += name_len;
        if line.get(pos) == Some(&b' ') {
            pos += 1;
        }
        Some(Self::after_name(frame, number, pos))
    }

    /// Reads a parsed response. `None` if it is not an untagged FETCH
    /// response; otherwise as [`FetchView::from_frame`].
    pub fn from_response(resp: &'a Response) -> Option<Result<FetchView<'a>, DecodeError>> {
        match resp.kind() {
            Kind::Untagged {
                name,
                number,
                status: None,
            } if name == "FETCH" => Some(Self::after_name(
                resp.frame(),
                number.as_deref(),
                resp.data_offset(),
            )),
            _ => None,
        }
    }

    /// Reads the data of a FETCH response without literals, after its
    /// sequence number `seq`: `(item value ...)`.
    pub fn from_line(seq: u32, data: &'a [u8]) -> Result<FetchView<'a>, DecodeError> {
        let src = Source {
            buf: data,
            frame: None,
        };
        Self::decode(src, seq, 0)
    }

    #[inline]
    fn after_name(
        frame: &'a Frame,
        number: Option<&[u8]>,
        offset: usize,
    ) -> Result<FetchView<'a>, DecodeError> {
        let Some(digits) = number else {
            return Err(DecodeError::new("FETCH without a number"));
        };
        let seq = digits.iter().try_fold(0u32, |a, &d| {
            a.checked_mul(10)?
                .checked_add(u32::from(d.wrapping_sub(b'0')))
        });
        let Some(seq) = seq else {
            return Err(DecodeError::new("number larger than 32 bits"));
        };
        if seq == 0 {
            return Err(DecodeError::new("message number 0 does not exist"));
        }
        let first = frame.line_range(0);
        let src = Source {
            buf: frame.raw(),
            frame: Some(frame),
        };
        Self::decode(src, seq, (first.start + offset).min(first.end))
    }

    #[inline(always)]
    fn decode(src: Source<'a>, seq: u32, start: usize) -> Result<FetchView<'a>, DecodeError> {
        if src.buf.len() > MAX_VIEW_LEN {
            return Err(DecodeError::new("response too large for a view"));
        }
        let mut c = Cur::new(
            src,
            At {
                pos: start as u32,
                line: 0,
            },
        );
        let opened = (|| {
            c.skip_spaces();
            if c.peek() != Some(b'(') {
                return Err(c.fail(Msg::ExpectedOpenAfterNumber));
            }
            c.enter()?;
            c.expect(b'(')
        })();
        if let Err(fail) = opened {
            return Err(DecodeError::new(fail.render(&src)));
        }
        let mut view = FetchView {
            src,
            seq,
            items: c.state(),
            item_count: 0,
            undecodable: 0,
            uid: None,
            flags: None,
            internal_date: None,
            rfc822_size: None,
            modseq: None,
            envelope: None,
            body_structure: None,
            body: None,
            parts: [SinglePartView::empty(src, false); KEPT_PARTS],
            kept: 0,
        };
        match Self::read_items(&mut c, &mut view) {
            Ok(()) => Ok(view),
            Err(fail) => Err(DecodeError::new(fail.render(&src))),
        }
    }

    /// Reads the items into `view`, up to the closing parenthesis.
    #[inline(always)]
    fn read_items(c: &mut Cur<'a>, view: &mut FetchView<'a>) -> VResult<()> {
        let src = c.src;
        loop {
            c.skip_spaces();
            match c.peek() {
                Some(b')') => return Ok(()),
                // Tolerate a missing final parenthesis.
                None if c.at_end() => return Ok(()),
                None => return Err(c.fail(Msg::EndOfLineInFetch)),
                _ => {}
            }
            let (mark, depth) = (c.state(), c.depth);
            view.item_count += 1;
            if let Err(fail) = item_into(c, view) {
                *c = Cur {
                    depth,
                    ..Cur::new(src, mark)
                };
                recover(c, mark, fail);
                view.undecodable += 1;
            }
        }
    }

    /// Notes the first item of each kind (the items [`item_into`] reads
    /// in place never come here).
    fn record(&mut self, item: ItemView<'a>) {
        match item {
            ItemView::Uid(u) => {
                self.uid.get_or_insert(u);
            }
            ItemView::Flags(f) => {
                self.flags.get_or_insert(f.at);
            }
            ItemView::InternalDate(d) => {
                self.internal_date.get_or_insert(d);
            }
            ItemView::Rfc822Size(n) => {
                self.rfc822_size.get_or_insert(n);
            }
            ItemView::ModSeq(n) => {
                self.modseq.get_or_insert(n);
            }
            ItemView::Envelope(e) => {
                self.envelope.get_or_insert(e);
            }
            ItemView::BodySection { data: Some(d), .. }
            | ItemView::BinarySection { data: Some(d), .. }
            | ItemView::Rfc822(Some(d))
            | ItemView::Rfc822Header(Some(d))
            | ItemView::Rfc822Text(Some(d)) => {
                self.body.get_or_insert(d);
            }
            ItemView::Undecodable { .. } => self.undecodable += 1,
            _ => {}
        }
    }

    /// Message sequence number.
    #[inline]
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// Number of items.
    #[inline]
    pub fn item_count(&self) -> usize {
        self.item_count as usize
    }

    /// True if some item could not be decoded.
    #[inline]
    pub fn has_undecodable(&self) -> bool {
        self.undecodable > 0
    }

    /// The UID, if the response carries one.
    #[inline]
    pub fn uid(&self) -> Option<u32> {
        self.uid
    }

    /// The flags, if the response carries them.
    #[inline]
    pub fn flags(&self) -> Option<FlagsView<'a>> {
        self.flags.map(|at| FlagsView { src: self.src, at })
    }

    /// The INTERNALDATE, if present.
    #[inline]
    pub fn internal_date(&self) -> Option<DateTime<FixedOffset>> {
        self.internal_date
    }

    /// The RFC822.SIZE, if present.
    #[inline]
    pub fn rfc822_size(&self) -> Option<u64> {
        self.rfc822_size
    }

    /// The MODSEQ (RFC 7162), if present.
    #[inline]
    pub fn modseq(&self) -> Option<u64> {
        self.modseq
    }

    /// The ENVELOPE, if present and decoded (read when the response was;
    /// borrowed from this view).
    #[inline]
    pub fn envelope(&self) -> Option<&EnvelopeView<'a>> {
        self.envelope.as_ref()
    }

    /// The top level of the BODYSTRUCTURE (or BODY) structure, if present
    /// and decoded (read when the response was, as were the first parts
    /// of a multipart, which the result borrows from this view).
    #[inline]
    pub fn body_structure(&self) -> Option<BodyPart<'_>> {
        match self.body_structure? {
            BodyPart::Multipart(mut m) => {
                m.kept = self.parts.get(..usize::from(self.kept)).unwrap_or_default();
                Some(BodyPart::Multipart(m))
            }
            single => Some(single),
        }
    }

    /// The data of the first body section item (`BODY[...]`,
    /// `BINARY[...]`, `RFC822`...) that is not NIL, if any.
    #[inline]
    pub fn body(&self) -> Option<StrView<'a>> {
        self.body
    }

    /// Every item in order, with its name as sent.
    pub fn items(&self) -> Items<'a> {
        Items {
            walk: Walk {
                c: Cur {
                    depth: 1,
                    ..Cur::new(self.src, self.items)
                },
                done: false,
            },
        }
    }

    /// The owned form: equal to what
    /// [`decode_response`](super::decode_response) gives for the same
    /// response.
    pub fn to_fetch(&self) -> Fetch {
        Fetch {
            seq: self.seq,
            items: self
                .items()
                .map(|(name, item)| item.to_fetch_item(name))
                .collect(),
        }
    }
}

/// The items of a [`FetchView`], in order: `(name as sent, value)`.
#[derive(Clone, Debug)]
pub struct Items<'a> {
    walk: Walk<'a>,
}

impl<'a> Iterator for Items<'a> {
    type Item = (&'a [u8], ItemView<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        // The items were checked when the view was built: an error here
        // cannot happen, and would end the iteration.
        self.walk.next_item()?.ok()
    }
}

/// The item loop of the owned decoder: decodes one item at a time,
/// recovering from an item that does not decode.
#[derive(Clone)]
struct Walk<'a> {
    c: Cur<'a>,
    done: bool,
}

impl fmt::Debug for Walk<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Walk").field("at", &self.c.state()).finish()
    }
}

impl<'a> Walk<'a> {
    fn next_item(&mut self) -> Option<VResult<(&'a [u8], ItemView<'a>)>> {
        if self.done {
            return None;
        }
        let c = &mut self.c;
        c.skip_spaces();
        match c.peek() {
            Some(b')') => {
                c.pos += 1;
                c.leave();
                self.done = true;
                return None;
            }
            // Tolerate a missing final parenthesis.
            None if c.at_end() => {
                c.leave();
                self.done = true;
                return None;
            }
            None => {
                self.done = true;
                return Some(Err(c.fail(Msg::EndOfLineInFetch)));
            }
            _ => {}
        }
        let (mark, depth) = (c.state(), c.depth);
        match item(c) {
            Ok(found) => Some(Ok(found)),
            Err(fail) => {
                *c = Cur {
                    depth,
                    ..Cur::new(c.src, mark)
                };
                Some(Ok(recover(c, mark, fail)))
            }
        }
    }
}

/// After an item failed at `mark` (the cursor back there): skips the
/// item's name and one value, and keeps the raw bytes.
#[cold]
#[inline(never)]
fn recover<'a>(c: &mut Cur<'a>, mark: At, fail: Fail) -> (&'a [u8], ItemView<'a>) {
    let name = c.item_name().unwrap_or_default();
    let delimited = skip_item_tail(c);
    if !delimited || c.state() == mark {
        c.skip_to_end();
    }
    (
        name,
        ItemView::Undecodable {
            raw: c.raw_since(mark),
            reason: Reason { src: c.src, fail },
        },
    )
}

/// After an item name: skips an optional `[...]`, `<...>` and one value.
/// False if the value could not be delimited.
fn skip_item_tail(c: &mut Cur<'_>) -> bool {
    if c.peek() == Some(b'[') && c.skip_value().is_err() {
        return false;
    }
    if c.peek() == Some(b'<') && c.until(b'>').and_then(|_| c.expect(b'>')).is_err() {
        return false;
    }
    c.skip_spaces();
    if !matches!(c.peek(), Some(b')') | None) {
        return c.skip_value().is_ok();
    }
    true
}

/// The item names this library knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Name {
    Flags,
    Uid,
    InternalDate,
    Rfc822Size,
    Envelope,
    BodyStructure,
    Body,
    Binary,
    BinarySize,
    Rfc822,
    Rfc822Header,
    Rfc822Text,
    ModSeq,
    EmailId,
    ThreadId,
    SaveDate,
    Preview,
    GmailMessageId,
    GmailThreadId,
    GmailLabels,
    Other,
}

/// Which item `name` names, without regard to case: told apart by length
/// and first letter, then compared whole.
#[inline]
fn name_of(name: &[u8]) -> Name {
    let is = |w: &[u8]| same_name(name, w);
    match (name.len(), name.first().map_or(0, |&b| b & 0xdf)) {
        (3, b'U') if is(b"UID") => Name::Uid,
        (4, b'B') if is(b"BODY") => Name::Body,
        (5, b'F') if is(b"FLAGS") => Name::Flags,
        (6, b'B') if is(b"BINARY") => Name::Binary,
        (6, b'M') if is(b"MODSEQ") => Name::ModSeq,
        (6, b'R') if is(b"RFC822") => Name::Rfc822,
        (7, b'E') if is(b"EMAILID") => Name::EmailId,
        (7, b'P') if is(b"PREVIEW") => Name::Preview,
        (8, b'E') if is(b"ENVELOPE") => Name::Envelope,
        (8, b'T') if is(b"THREADID") => Name::ThreadId,
        (8, b'S') if is(b"SAVEDATE") => Name::SaveDate,
        (10, b'X') if is(b"X-GM-MSGID") => Name::GmailMessageId,
        (10, b'X') if is(b"X-GM-THRID") => Name::GmailThreadId,
        (11, b'B') if is(b"BINARY.SIZE") => Name::BinarySize,
        (11, b'R') if is(b"RFC822.SIZE") => Name::Rfc822Size,
        (11, b'R') if is(b"RFC822.TEXT") => Name::Rfc822Text,
        (11, b'X') if is(b"X-GM-LABELS") => Name::GmailLabels,
        (12, b'I') if is(b"INTERNALDATE") => Name::InternalDate,
        (13, b'B') if is(b"BODYSTRUCTURE") => Name::BodyStructure,
        (13, b'R') if is(b"RFC822.HEADER") => Name::Rfc822Header,
        _ => Name::Other,
    }
}

/// The items a FETCH response usually holds, told by their first letter
/// and compared as two 64-bit words, without a scan for the end of the
/// name: the length of the name and its kind if `rest` starts with one of
/// them followed by the end of the name (what [`Cur::item_name_here`] and
/// [`name_of`] give for it); `None` otherwise, or when fewer than 16 bytes
/// remain on the line.
#[inline(always)]
fn usual_item(rest: &[u8]) -> Option<(usize, Name)> {
    let head: &[u8; 16] = rest.get(..16)?.try_into().ok()?;
    let (pattern, kind) = match head[0] & 0xdf {
        b'U' => (&UID, Name::Uid),
        b'F' => (&FLAGS, Name::Flags),
        b'I' => (&INTERNALDATE, Name::InternalDate),
        b'R' => (&RFC822_SIZE, Name::Rfc822Size),
        b'E' => (&ENVELOPE, Name::Envelope),
        b'B' => (&BODYSTRUCTURE, Name::BodyStructure),
        b'M' => (&MODSEQ, Name::ModSeq),
        _ => return None,
    };
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&head[..8]);
    hi.copy_from_slice(&head[8..]);
    let (lo, hi) = (u64::from_le_bytes(lo), u64::from_le_bytes(hi));
    let len = pattern.len;
    if lo & pattern.mask[0] != pattern.word[0]
        || hi & pattern.mask[1] != pattern.word[1]
        || STOPS[usize::from(head[len])] & ENDS_NAME == 0
    {
        return None;
    }
    Some((len, kind))
}

/// An item name as two 64-bit words to compare with the first 16 bytes
/// of a line, after `mask` (which clears the case bit of letters and
/// keeps nothing past the name).
struct NamePattern {
    mask: [u64; 2],
    word: [u64; 2],
    len: usize,
}

const fn name_pattern(name: &[u8]) -> NamePattern {
    let mut mask = [0u8; 16];
    let mut word = [0u8; 16];
    let mut i = 0;
    while i < name.len() {
        mask[i] = if name[i].is_ascii_uppercase() {
            0xdf
        } else {
            0xff
        };
        word[i] = name[i];
        i += 1;
    }
    NamePattern {
        mask: [half(&mask, 0), half(&mask, 8)],
        word: [half(&word, 0), half(&word, 8)],
        len: name.len(),
    }
}

/// Bytes `at..at + 8` of `b` as a little-endian word.
const fn half(b: &[u8; 16], at: usize) -> u64 {
    let mut w = [0u8; 8];
    let mut k = 0;
    while k < 8 {
        w[k] = b[at + k];
        k += 1;
    }
    u64::from_le_bytes(w)
}

const UID: NamePattern = name_pattern(b"UID");
const FLAGS: NamePattern = name_pattern(b"FLAGS");
const INTERNALDATE: NamePattern = name_pattern(b"INTERNALDATE");
const RFC822_SIZE: NamePattern = name_pattern(b"RFC822.SIZE");
const ENVELOPE: NamePattern = name_pattern(b"ENVELOPE");
const BODYSTRUCTURE: NamePattern = name_pattern(b"BODYSTRUCTURE");
const MODSEQ: NamePattern = name_pattern(b"MODSEQ");

/// `name` equals `word` (upper case, same length) without regard to the
/// case of letters: a letter's case bit is cleared before comparing,
/// every other byte is compared as is. No branch per byte.
#[inline(always)]
fn same_name(name: &[u8], word: &[u8]) -> bool {
    if name.len() != word.len() {
        return false;
    }
    let mut diff = 0u8;
    for (&b, &w) in name.iter().zip(word) {
        let mask = if w.is_ascii_uppercase() { 0xdf } else { 0xff };
        diff |= (b & mask) ^ w;
    }
    diff == 0
}

/// One item: its name as sent and its value.
fn item<'a>(c: &mut Cur<'a>) -> VResult<(&'a [u8], ItemView<'a>)> {
    c.skip_spaces();
    let name = c.item_name_here()?;
    Ok((name, value(c, name_of(name))?))
}

/// One item, noted straight into `view` (the first of each kind, as
/// [`FetchView::record`] does); the top level of the first body structure
/// is read while it is checked.
#[inline(always)]
fn item_into<'a>(c: &mut Cur<'a>, view: &mut FetchView<'a>) -> VResult<()> {
    let kind = match usual_item(c.rest()) {
        Some((len, kind)) => {
            c.pos += len;
            kind
        }
        None => name_of(c.item_name_here()?),
    };
    match kind {
        Name::Uid => {
            let u = c.number32()?;
            view.uid.get_or_insert(u);
        }
        Name::Flags => {
            let at = flags(c)?;
            view.flags.get_or_insert(at);
        }
        Name::InternalDate => {
            let d = internal_date(c)?;
            view.internal_date.get_or_insert(d);
        }
        Name::Rfc822Size => {
            let n = c.number()?;
            view.rfc822_size.get_or_insert(n);
        }
        Name::Envelope => {
            if view.envelope.is_none() {
                view.envelope = Some(envelope(c)?);
            } else {
                envelope(c)?;
            }
        }
        Name::BodyStructure => body_into(c, true, view)?,
        Name::Body if c.peek() != Some(b'[') => body_into(c, false, view)?,
        kind => {
            let v = value(c, kind)?;
            view.record(v);
        }
    }
    Ok(())
}

/// Checks a BODY or BODYSTRUCTURE value; the first one is read into
/// `view`, with the first single parts of a multipart.
#[inline(always)]
fn body_into<'a>(c: &mut Cur<'a>, extensible: bool, view: &mut FetchView<'a>) -> VResult<()> {
    c.skip_spaces();
    if view.body_structure.is_some() {
        return skip_body_here(c);
    }
    view.kept = 0;
    if c.peek() != Some(b'(') {
        return Err(c.fail_with(What::Expected(b'(')));
    }
    c.pos += 1;
    c.enter()?;
    c.skip_spaces();
    if c.peek() == Some(b'(') {
        let result = multipart_keeping(c, extensible, &mut view.parts, &mut view.kept);
        c.leave();
        view.body_structure = Some(BodyPart::Multipart(result?));
        return Ok(());
    }
    // A single part is read where it lies in the view.
    let slot = view
        .body_structure
        .insert(BodyPart::Single(SinglePartView::empty(c.src, extensible)));
    let result = match slot {
        BodyPart::Single(part) => single_into(c, extensible, part),
        BodyPart::Multipart(_) => Ok(()),
    };
    c.leave();
    if result.is_err() {
        view.body_structure = None;
    }
    result
}

/// Checks a FLAGS list; its position.
#[inline(always)]
fn flags(c: &mut Cur<'_>) -> VResult<At> {
    c.skip_spaces();
    let at = c.state();
    if !simple_atoms(c) {
        c.list_here(|c| c.atom_here().map(|_| ()))?;
    }
    Ok(at)
}

/// The usual shape of a list of atoms, the cursor at its opening
/// parenthesis: atoms one space apart, the closing parenthesis right
/// after the last. Checked if so (true); false, the cursor left where it
/// was, for any other shape or where the list would nest too deep.
#[inline(always)]
fn simple_atoms(c: &mut Cur<'_>) -> bool {
    if c.depth as usize >= MAX_DEPTH || c.peek() != Some(b'(') {
        return false;
    }
    let t = c.text;
    let mut p = c.pos + 1;
    if t.get(p) == Some(&b')') {
        c.pos = p + 1;
        return true;
    }
    loop {
        let start = p;
        while t.get(p).is_some_and(|&b| !ends_atom(b)) {
            p += 1;
        }
        if p == start {
            return false;
        }
        match t.get(p) {
            Some(b' ') => p += 1,
            Some(b')') => {
                c.pos = p + 1;
                return true;
            }
            _ => return false,
        }
    }
}

/// Reads an INTERNALDATE value.
#[inline(always)]
fn internal_date(c: &mut Cur<'_>) -> VResult<DateTime<FixedOffset>> {
    c.skip_spaces();
    let at = c.state();
    let bad = Fail {
        what: What::BadDate,
        at: at.pos as usize,
        line: at.line,
    };
    let date = match c.simple_string_slice() {
        Some(s) => crate::date::parse_internaldate(s),
        None => {
            let s = c.string()?;
            crate::date::parse_internaldate(&s.as_bytes())
        }
    };
    date.ok_or(bad)
}

/// The value of an item of kind `kind`, its name read.
fn value<'a>(c: &mut Cur<'a>, kind: Name) -> VResult<ItemView<'a>> {
    Ok(match kind {
        Name::Flags => ItemView::Flags(FlagsView {
            src: c.src,
            at: flags(c)?,
        }),
        Name::Uid => ItemView::Uid(c.number32()?),
        Name::InternalDate => ItemView::InternalDate(internal_date(c)?),
        Name::Rfc822Size => ItemView::Rfc822Size(c.number()?),
        Name::Envelope => ItemView::Envelope(envelope(c)?),
        Name::BodyStructure => ItemView::BodyStructure(body_handle(c, true)?),
        Name::Body if c.peek() != Some(b'[') => ItemView::Body(body_handle(c, false)?),
        Name::Body => {
            let section = section(c)?;
            let origin = origin(c)?;
            ItemView::BodySection {
                section,
                origin,
                data: c.nstring()?,
            }
        }
        Name::Binary => {
            let section = binary_section(c)?;
            let origin = origin(c)?;
            ItemView::BinarySection {
                section,
                origin,
                data: c.nstring()?,
            }
        }
        Name::BinarySize => ItemView::BinarySize {
            section: binary_section(c)?,
            size: c.number()?,
        },
        Name::Rfc822 => ItemView::Rfc822(c.nstring()?),
        Name::Rfc822Header => ItemView::Rfc822Header(c.nstring()?),
        Name::Rfc822Text => ItemView::Rfc822Text(c.nstring()?),
        Name::ModSeq => {
            c.expect(b'(')?;
            let v = c.number()?;
            c.expect(b')')?;
            ItemView::ModSeq(v)
        }
        Name::EmailId => {
            c.expect(b'(')?;
            let v = c.atom()?;
            c.expect(b')')?;
            ItemView::EmailId(v)
        }
        Name::ThreadId => {
            if c.keyword(b"NIL") {
                ItemView::ThreadId(None)
            } else {
                c.expect(b'(')?;
                let v = c.atom()?;
                c.expect(b')')?;
                ItemView::ThreadId(Some(v))
            }
        }
        Name::SaveDate => match c.nstring()? {
            None => ItemView::SaveDate(None),
            Some(s) => match crate::date::parse_internaldate(&s.as_bytes()) {
                Some(d) => ItemView::SaveDate(Some(d)),
                None => return Err(c.fail_with(What::BadSaveDate)),
            },
        },
        Name::Preview => ItemView::Preview(c.nstring()?),
        Name::GmailMessageId => ItemView::GmailMessageId(c.number()?),
        Name::GmailThreadId => ItemView::GmailThreadId(c.number()?),
        Name::GmailLabels => {
            c.skip_spaces();
            let at = c.state();
            c.list(|c| c.string().map(|_| ()))?;
            ItemView::GmailLabels(StringList { src: c.src, at })
        }
        Name::Other => {
            c.skip_spaces();
            let mark = c.state();
            if !skip_item_tail(c) {
                return Err(c.fail(Msg::CannotDelimit));
            }
            ItemView::Other {
                raw: c.raw_since(mark),
            }
        }
    })
}

fn origin(c: &mut Cur<'_>) -> VResult<Option<u64>> {
    if c.peek() == Some(b'<') {
        c.expect(b'<')?;
        let v = c.number()?;
        c.expect(b'>')?;
        Ok(Some(v))
    } else {
        Ok(None)
    }
}

/// Length of the part numbers (`1.2.`) at the start of a section
/// specifier, as the owned decoder splits it.
fn part_numbers_len(spec: &[u8]) -> usize {
    let mut at = 0;
    loop {
        let digits = spec[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return at;
        }
        at += digits;
        match spec.get(at) {
            Some(b'.') => at += 1,
            _ => return at,
        }
    }
}

fn section<'a>(c: &mut Cur<'a>) -> VResult<SectionView<'a>> {
    c.expect(b'[')?;
    c.skip_spaces();
    let word: &'a [u8] = if c.peek() == Some(b']') {
        b""
    } else {
        c.item_name()?
    };
    let split = part_numbers_len(word);
    let rest = &word[split..];
    let mut fields = None;
    if rest.eq_ignore_ascii_case(b"HEADER.FIELDS")
        || rest.eq_ignore_ascii_case(b"HEADER.FIELDS.NOT")
    {
        c.skip_spaces();
        let at = c.state();
        c.list(|c| c.string().map(|_| ()))?;
        fields = Some(at);
    }
    c.expect(b']')?;
    Ok(SectionView {
        src: c.src,
        word,
        split,
        fields,
    })
}

fn binary_section<'a>(c: &mut Cur<'a>) -> VResult<PartNumbers<'a>> {
    c.expect(b'[')?;
    c.skip_spaces();
    if c.eat(b']') {
        return Ok(PartNumbers { spec: b"" });
    }
    let word = c.item_name()?;
    if part_numbers_len(word) != word.len() {
        return Err(c.fail(Msg::InvalidBinarySection));
    }
    c.expect(b']')?;
    Ok(PartNumbers { spec: word })
}

/// One FETCH item, borrowed.
// An envelope carries the addresses recorded when it was checked, which
// makes it the largest variant by far; boxing it would cost an allocation
// and the `Copy` the views share.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ItemView<'a> {
    /// `FLAGS (...)`.
    Flags(FlagsView<'a>),
    /// `UID n`.
    Uid(u32),
    /// `INTERNALDATE "..."`.
    InternalDate(DateTime<FixedOffset>),
    /// `RFC822.SIZE n`.
    Rfc822Size(u64),
    /// `ENVELOPE (...)`.
    Envelope(EnvelopeView<'a>),
    /// `BODYSTRUCTURE (...)`.
    BodyStructure(BodyView<'a>),
    /// `BODY (...)`: the structure without extension data.
    Body(BodyView<'a>),
    /// `BODY[section]<origin>` and its data (`None` for NIL).
    BodySection {
        /// The section.
        section: SectionView<'a>,
        /// The offset, for partial fetches.
        origin: Option<u64>,
        /// The data.
        data: Option<StrView<'a>>,
    },
    /// `BINARY[part]<origin>` (RFC 3516).
    BinarySection {
        /// Part numbers.
        section: PartNumbers<'a>,
        /// The offset, for partial fetches.
        origin: Option<u64>,
        /// The decoded content.
        data: Option<StrView<'a>>,
    },
    /// `BINARY.SIZE[part] n` (RFC 3516).
    BinarySize {
        /// Part numbers.
        section: PartNumbers<'a>,
        /// The decoded size.
        size: u64,
    },
    /// `RFC822` data.
    Rfc822(Option<StrView<'a>>),
    /// `RFC822.HEADER` data.
    Rfc822Header(Option<StrView<'a>>),
    /// `RFC822.TEXT` data.
    Rfc822Text(Option<StrView<'a>>),
    /// `MODSEQ (n)` (RFC 7162).
    ModSeq(u64),
    /// `EMAILID (id)` (RFC 8474).
    EmailId(&'a [u8]),
    /// `THREADID (id)` or `THREADID NIL` (RFC 8474).
    ThreadId(Option<&'a [u8]>),
    /// `SAVEDATE "..."` or NIL (RFC 8514).
    SaveDate(Option<DateTime<FixedOffset>>),
    /// `PREVIEW "..."` or NIL (RFC 8970).
    Preview(Option<StrView<'a>>),
    /// `X-GM-MSGID n` (Gmail).
    GmailMessageId(u64),
    /// `X-GM-THRID n` (Gmail).
    GmailThreadId(u64),
    /// `X-GM-LABELS (...)` (Gmail).
    GmailLabels(StringList<'a>),
    /// An item this library does not know: its value as received.
    Other {
        /// The value.
        raw: RawView<'a>,
    },
    /// An item that could not be decoded.
    Undecodable {
        /// Its bytes as received, name included (as far as they could be
        /// delimited).
        raw: RawView<'a>,
        /// Why it could not be decoded.
        reason: Reason<'a>,
    },
}

fn upper_name(name: &[u8]) -> String {
    String::from_utf8_lossy(name).to_ascii_uppercase()
}

fn opt_bytes(s: Option<StrView<'_>>) -> Option<Bytes> {
    s.map(StrView::to_owned_bytes)
}

impl ItemView<'_> {
    /// The owned item; `name` is the item's name as the iterator gave it.
    pub fn to_fetch_item(&self, name: &[u8]) -> FetchItem {
        match *self {
            ItemView::Flags(f) => FetchItem::Flags(f.iter().map(Cow::into_owned).collect()),
            ItemView::Uid(u) => FetchItem::Uid(u),
            ItemView::InternalDate(d) => FetchItem::InternalDate(d),
            ItemView::Rfc822Size(n) => FetchItem::Rfc822Size(n),
            ItemView::Envelope(e) => FetchItem::Envelope(Box::new(e.to_envelope())),
            ItemView::BodyStructure(b) => FetchItem::BodyStructure(Box::new(b.to_body_structure())),
            ItemView::Body(b) => FetchItem::Body(Box::new(b.to_body_structure())),
            ItemView::BodySection {
                section,
                origin,
                data,
            } => FetchItem::BodySection {
                section: section.to_section(),
                origin,
                data: opt_bytes(data),
            },
            ItemView::BinarySection {
                section,
                origin,
                data,
            } => FetchItem::BinarySection {
                section: section.iter().collect(),
                origin,
                data: opt_bytes(data),
            },
            ItemView::BinarySize { section, size } => FetchItem::BinarySize {
                section: section.iter().collect(),
                size,
            },
            ItemView::Rfc822(d) => FetchItem::Rfc822(opt_bytes(d)),
            ItemView::Rfc822Header(d) => FetchItem::Rfc822Header(opt_bytes(d)),
            ItemView::Rfc822Text(d) => FetchItem::Rfc822Text(opt_bytes(d)),
            ItemView::ModSeq(n) => FetchItem::ModSeq(n),
            ItemView::EmailId(id) => FetchItem::EmailId(Bytes::copy_from_slice(id)),
            ItemView::ThreadId(id) => FetchItem::ThreadId(id.map(Bytes::copy_from_slice)),
            ItemView::SaveDate(d) => FetchItem::SaveDate(d),
            ItemView::Preview(p) => FetchItem::Preview(opt_bytes(p)),
            ItemView::GmailMessageId(n) => FetchItem::GmailMessageId(n),
            ItemView::GmailThreadId(n) => FetchItem::GmailThreadId(n),
            ItemView::GmailLabels(l) => {
                FetchItem::GmailLabels(l.iter().map(StrView::to_owned_bytes).collect())
            }
            ItemView::Other { raw } => FetchItem::Other {
                name: upper_name(name),
                raw: Bytes::from(raw.joined().into_owned()),
            },
            ItemView::Undecodable { raw, reason } => FetchItem::Undecodable {
                name: upper_name(name),
                raw: Bytes::from(raw.joined().into_owned()),
                reason: reason.fail.render(&reason.src),
            },
        }
    }
}

// ---------------------------------------------------------------------------
// Lists.

/// The flags of a `FLAGS (...)` item, read as they are iterated.
#[derive(Clone, Copy, Debug)]
pub struct FlagsView<'a> {
    src: Source<'a>,
    at: At,
}

impl<'a> FlagsView<'a> {
    /// The flags as sent (`\Seen`, `$Junk`...), in order.
    pub fn iter_raw(&self) -> RawFlags<'a> {
        RawFlags {
            elements: Elements::open(self.src, self.at),
        }
    }

    /// The flags as text (invalid UTF-8 replaced, as the owned decoder
    /// does), in order.
    pub fn iter(&self) -> impl Iterator<Item = Cow<'a, str>> + 'a {
        // Flags are ASCII in practice: checked as such first, which is
        // cheaper than the lossy conversion's scan.
        self.iter_raw().map(|f| match std::str::from_utf8(f) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(f),
        })
    }
}

/// The flags of a [`FlagsView`], as sent.
#[derive(Clone, Debug)]
pub struct RawFlags<'a> {
    elements: Elements<'a>,
}

impl<'a> Iterator for RawFlags<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let c = self.elements.next_element()?;
        c.atom().ok()
    }
}

/// A list of strings (`X-GM-LABELS`, `HEADER.FIELDS`), read as it is
/// iterated.
#[derive(Clone, Copy, Debug)]
pub struct StringList<'a> {
    src: Source<'a>,
    at: At,
}

impl<'a> StringList<'a> {
    /// The strings, in order.
    pub fn iter(&self) -> Strings<'a> {
        Strings {
            elements: Elements::open(self.src, self.at),
        }
    }
}

/// The strings of a [`StringList`].
#[derive(Clone, Debug)]
pub struct Strings<'a> {
    elements: Elements<'a>,
}

impl<'a> Iterator for Strings<'a> {
    type Item = StrView<'a>;

    fn next(&mut self) -> Option<StrView<'a>> {
        let c = self.elements.next_element()?;
        c.string().ok()
    }
}

/// Walks the elements of a checked parenthesised list (or NIL).
#[derive(Clone)]
struct Elements<'a> {
    c: Cur<'a>,
    done: bool,
}

impl fmt::Debug for Elements<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Elements")
            .field("at", &self.c.state())
            .field("done", &self.done)
            .finish()
    }
}

impl<'a> Elements<'a> {
    /// At the list's opening parenthesis (or NIL).
    fn open(src: Source<'a>, at: At) -> Elements<'a> {
        let mut c = Cur::new(src, at);
        c.skip_spaces();
        let done = c.peek() != Some(b'(');
        c.pos += usize::from(!done);
        Elements { c, done }
    }

    fn empty(src: Source<'a>) -> Elements<'a> {
        Elements {
            c: Cur::new(src, src.origin()),
            done: true,
        }
    }

    /// The cursor at the next element, or `None` at the closing
    /// parenthesis. The caller reads the element.
    fn next_element(&mut self) -> Option<&mut Cur<'a>> {
        if self.done {
            return None;
        }
        self.c.skip_spaces();
        match self.c.peek() {
            Some(b')') | None => {
                self.done = true;
                None
            }
            _ => Some(&mut self.c),
        }
    }
}

// ---------------------------------------------------------------------------
// ENVELOPE.

/// An ENVELOPE (RFC 3501 §7.4.2), read in place.
#[derive(Clone, Copy, Debug)]
pub struct EnvelopeView<'a> {
    src: Source<'a>,
    date: Option<StrView<'a>>,
    subject: Option<StrView<'a>>,
    /// From, sender, reply-to, to, cc, bcc; `None` for a quoted string
    /// where a list belongs (read as no address).
    lists: [Option<At>; 6],
    in_reply_to: Option<StrView<'a>>,
    message_id: Option<StrView<'a>>,
    /// The addresses recorded while checking, in order: list `i` holds
    /// `addrs[ends[i - 1]..ends[i]]` (from 0 for the first list).
    addrs: [Packed; RECORDED],
    ends: [u8; 6],
    /// Lists not recorded (bit `i` for list `i`), read again from their
    /// position when iterated.
    unrecorded: u8,
}

/// How many addresses an envelope records while it is checked; the lists
/// past them are read again when iterated.
const RECORDED: usize = 8;

/// An address recorded while checking: where its four fields lie.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Packed {
    /// Offset of the address's opening parenthesis.
    base: u32,
    /// Each field's offset from `base` and length.
    spans: [(u16, u16); 4],
    /// Each field's form: 0 for NIL, else a [`StrForm`] code, plus
    /// [`ESCAPED`] for a quoted string holding a backslash.
    forms: [u8; 4],
}

/// Form codes of [`Packed::forms`].
const QUOTED: u8 = 1;
const LITERAL: u8 = 2;
const ATOM: u8 = 3;
const ESCAPED: u8 = 4;

impl Packed {
    /// Records `s` as field `k`; false if it lies too far to be recorded.
    #[inline(always)]
    fn set(&mut self, k: usize, s: Option<StrView<'_>>, buf: &[u8]) -> bool {
        let Some(s) = s else {
            return true;
        };
        let off = (s.raw.as_ptr() as usize)
            .wrapping_sub(buf.as_ptr() as usize)
            .wrapping_sub(self.base as usize);
        let (Ok(off), Ok(len)) = (u16::try_from(off), u16::try_from(s.raw.len())) else {
            return false;
        };
        self.spans[k] = (off, len);
        self.forms[k] = match s.form {
            StrForm::Quoted => QUOTED,
            StrForm::Literal => LITERAL,
            StrForm::Atom | StrForm::Raw => ATOM,
        } | if s.escaped { ESCAPED } else { 0 };
        true
    }

    /// Field `k` again.
    #[inline(always)]
    fn get<'a>(&self, k: usize, buf: &'a [u8]) -> Option<StrView<'a>> {
        let code = self.forms[k];
        let form = match code & 3 {
            0 => return None,
            QUOTED => StrForm::Quoted,
            LITERAL => StrForm::Literal,
            _ => StrForm::Atom,
        };
        let (off, len) = self.spans[k];
        let start = self.base as usize + usize::from(off);
        Some(StrView {
            raw: buf.get(start..start + usize::from(len)).unwrap_or_default(),
            form,
            escaped: code & ESCAPED != 0,
            spans_literal: false,
        })
    }
}

impl<'a> EnvelopeView<'a> {
    /// Date header, raw.
    #[inline]
    pub fn date(&self) -> Option<StrView<'a>> {
        self.date
    }

    /// Subject header, raw (may be RFC 2047 encoded).
    #[inline]
    pub fn subject(&self) -> Option<StrView<'a>> {
        self.subject
    }

    #[inline]
    fn list(&self, i: usize) -> Addresses<'_> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let (start, end) = (usize::from(start), usize::from(self.ends[i]));
        if self.unrecorded & (1 << i) == 0 {
            return Addresses {
                from: AddressSource::Recorded {
                    buf: self.src.buf,
                    addrs: self.addrs.get(start..end).unwrap_or_default().iter(),
                },
            };
        }
        Addresses {
            from: AddressSource::Read(match self.lists[i] {
                Some(at) => Elements::open(self.src, at),
                None => Elements::empty(self.src),
            }),
        }
    }

    /// From addresses.
    #[inline]
    pub fn from(&self) -> Addresses<'_> {
        self.list(0)
    }

    /// Sender addresses.
    #[inline]
    pub fn sender(&self) -> Addresses<'_> {
        self.list(1)
    }

    /// Reply-To addresses.
    #[inline]
    pub fn reply_to(&self) -> Addresses<'_> {
        self.list(2)
    }

    /// To addresses.
    #[inline]
    pub fn to(&self) -> Addresses<'_> {
        self.list(3)
    }

    /// Cc addresses.
    #[inline]
    pub fn cc(&self) -> Addresses<'_> {
        self.list(4)
    }

    /// Bcc addresses.
    #[inline]
    pub fn bcc(&self) -> Addresses<'_> {
        self.list(5)
    }

    /// In-Reply-To header, raw.
    #[inline]
    pub fn in_reply_to(&self) -> Option<StrView<'a>> {
        self.in_reply_to
    }

    /// Message-ID header, raw.
    #[inline]
    pub fn message_id(&self) -> Option<StrView<'a>> {
        self.message_id
    }

    /// The owned form.
    pub fn to_envelope(&self) -> Envelope {
        let list = |a: Addresses<'_>| a.map(|a| a.to_address()).collect();
        Envelope {
            date: opt_bytes(self.date),
            subject: opt_bytes(self.subject),
            from: list(self.from()),
            sender: list(self.sender()),
            reply_to: list(self.reply_to()),
            to: list(self.to()),
            cc: list(self.cc()),
            bcc: list(self.bcc()),
            in_reply_to: opt_bytes(self.in_reply_to),
            message_id: opt_bytes(self.message_id),
        }
    }
}

/// The addresses of one ENVELOPE field, as recorded when the response
/// was checked (borrowed from the [`EnvelopeView`]) or read as they are
/// iterated.
#[derive(Clone, Debug)]
pub struct Addresses<'a> {
    from: AddressSource<'a>,
}

#[derive(Clone, Debug)]
enum AddressSource<'a> {
    /// Recorded while checking: read from the envelope view.
    Recorded {
        buf: &'a [u8],
        addrs: std::slice::Iter<'a, Packed>,
    },
    Read(Elements<'a>),
}

impl<'a> Iterator for Addresses<'a> {
    type Item = AddressView<'a>;

    #[inline]
    fn next(&mut self) -> Option<AddressView<'a>> {
        let elements = match &mut self.from {
            AddressSource::Recorded { buf, addrs } => {
                let a = addrs.next()?;
                return Some(AddressView {
                    name: a.get(0, buf),
                    adl: a.get(1, buf),
                    mailbox: a.get(2, buf),
                    host: a.get(3, buf),
                });
            }
            AddressSource::Read(elements) => elements,
        };
        loop {
            let c = elements.next_element()?;
            if c.peek() != Some(b'(') {
                // A stray value inside the list: skipped, as the owned
                // decoder does.
                c.skip_value().ok()?;
                continue;
            }
            c.pos += 1;
            let address = AddressView {
                name: c.nstring().ok()?,
                adl: c.nstring().ok()?,
                mailbox: c.nstring().ok()?,
                host: c.nstring().ok()?,
            };
            c.expect(b')').ok()?;
            return Some(address);
        }
    }
}

/// An address of an ENVELOPE. Groups appear as in [`Address`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressView<'a> {
    /// Display name.
    pub name: Option<StrView<'a>>,
    /// Source route (obsolete).
    pub adl: Option<StrView<'a>>,
    /// Local part (or group name for a group start marker).
    pub mailbox: Option<StrView<'a>>,
    /// Domain.
    pub host: Option<StrView<'a>>,
}

impl AddressView<'_> {
    /// True for the marker that starts a group.
    pub fn is_group_start(&self) -> bool {
        self.host.is_none() && self.mailbox.is_some()
    }

    /// True for the marker that ends a group.
    pub fn is_group_end(&self) -> bool {
        self.host.is_none() && self.mailbox.is_none()
    }

    /// The owned form.
    pub fn to_address(&self) -> Address {
        Address {
            name: opt_bytes(self.name),
            adl: opt_bytes(self.adl),
            mailbox: opt_bytes(self.mailbox),
            host: opt_bytes(self.host),
        }
    }
}

fn envelope<'a>(c: &mut Cur<'a>) -> VResult<EnvelopeView<'a>> {
    c.skip_spaces();
    if c.peek() != Some(b'(') {
        return Err(c.fail_with(What::Expected(b'(')));
    }
    c.pos += 1;
    c.enter()?;
    let date = c.nstring()?;
    let subject = c.nstring()?;
    let mut env = EnvelopeView {
        src: c.src,
        date,
        subject,
        lists: [None; 6],
        in_reply_to: None,
        message_id: None,
        addrs: [Packed::default(); RECORDED],
        ends: [0; 6],
        unrecorded: 0,
    };
    let mut count = 0;
    for i in 0..6 {
        let (at, recorded) = record_addresses(c, &mut env.addrs, &mut count)?;
        env.lists[i] = at;
        env.ends[i] = count as u8;
        if !recorded {
            env.unrecorded |= 1 << i;
        }
    }
    // Some servers end the envelope early: missing trailing fields are
    // accepted.
    if !c.eat(b')') {
        env.in_reply_to = c.nstring_here()?;
        if !c.eat(b')') {
            env.message_id = c.nstring_here()?;
            while !c.eat(b')') {
                if c.at_end() {
                    return Err(c.fail(Msg::UnterminatedEnvelope));
                }
                c.skip_value()?;
            }
        }
    }
    c.leave();
    Ok(env)
}

/// [`envelope`], reading nothing.
fn skip_envelope(c: &mut Cur<'_>) -> VResult<()> {
    c.skip_spaces();
    c.expect(b'(')?;
    c.enter()?;
    c.skip_nstring()?;
    c.skip_nstring()?;
    for _ in 0..6 {
        addresses(c)?;
    }
    if !c.eat(b')') {
        c.skip_nstring()?;
        if !c.eat(b')') {
            c.skip_nstring()?;
            while !c.eat(b')') {
                if c.at_end() {
                    return Err(c.fail(Msg::UnterminatedEnvelope));
                }
                c.skip_value()?;
            }
        }
    }
    c.leave();
    Ok(())
}

/// [`addresses`], recording the addresses in `addrs` from `*count` on;
/// also whether the whole list was recorded (if not, `*count` is left as
/// it was).
#[inline]
fn record_addresses(
    c: &mut Cur<'_>,
    addrs: &mut [Packed; RECORDED],
    count: &mut usize,
) -> VResult<(Option<At>, bool)> {
    c.skip_spaces();
    if c.peek() == Some(b'"') {
        c.string()?;
        return Ok((None, true));
    }
    let at = c.state();
    let first = *count;
    if simple_addresses(c, addrs, count) {
        return Ok((Some(at), true));
    }
    let buf = c.src.buf;
    let mut n = first;
    let mut recorded = true;
    c.list_here(|c| {
        if c.peek() != Some(b'(') {
            c.skip_value()?;
            recorded = false;
            return Ok(());
        }
        let mut spare = Packed::default();
        let full = n >= RECORDED;
        let slot = addrs.get_mut(n).unwrap_or(&mut spare);
        if simple_address(c, slot) {
            if full {
                recorded = false;
            } else {
                n += 1;
            }
            return Ok(());
        }
        let mut a = Packed {
            base: c.pos as u32,
            ..Packed::default()
        };
        c.pos += 1;
        let mut fits = a.set(0, c.nstring()?, buf);
        fits &= a.set(1, c.nstring()?, buf);
        fits &= a.set(2, c.nstring()?, buf);
        fits &= a.set(3, c.nstring()?, buf);
        c.expect(b')')?;
        match addrs.get_mut(n) {
            Some(slot) if fits => {
                *slot = a;
                n += 1;
            }
            _ => recorded = false,
        }
        Ok(())
    })?;
    *count = if recorded { n } else { first };
    Ok((Some(at), recorded))
}

/// The usual shape of an address list, the cursor at its opening
/// parenthesis: addresses of the usual shape ([`simple_address`]) with
/// nothing between them, all of which fit in `addrs`. Read and recorded
/// if so (true); false, the cursor and `*count` left as they were, for
/// any other shape or where the list would nest too deep.
#[inline(always)]
fn simple_addresses(c: &mut Cur<'_>, addrs: &mut [Packed; RECORDED], count: &mut usize) -> bool {
    if c.depth as usize >= MAX_DEPTH || c.peek() != Some(b'(') {
        return false;
    }
    let start = c.pos;
    let mut n = *count;
    c.pos += 1;
    loop {
        match c.peek() {
            Some(b')') => {
                c.pos += 1;
                *count = n;
                return true;
            }
            Some(b'(') if n < RECORDED => {
                if !simple_address(c, &mut addrs[n]) {
                    break;
                }
                n += 1;
            }
            _ => break,
        }
    }
    c.pos = start;
    false
}

/// The usual shape of an address, the cursor at its opening parenthesis:
/// four fields, each a quoted string without backslash or NIL, one space
/// apart, the closing parenthesis right after the last. Read and recorded
/// into `a` if so (what the general reading gives for it; true); false,
/// the cursor left where it was and `a` holding nothing of use, for any
/// other shape.
///
/// Written straight into its slot: building the record on the stack and
/// copying it there made the processor read back the many small writes
/// as whole words, which it cannot forward from its store buffer, and
/// stalled on every address.
#[inline(always)]
fn simple_address(c: &mut Cur<'_>, a: &mut Packed) -> bool {
    let t = c.text;
    let base = c.pos;
    let mut p = base + 1;
    a.base = base as u32;
    for k in 0..4 {
        match t.get(p) {
            Some(b'"') => {
                let Some(end) = quote_or_backslash(t, p + 1) else {
                    return false;
                };
                if t[end] != b'"' {
                    return false;
                }
                // Truncation is caught below: the whole address must lie
                // within 64 KiB of its start.
                a.spans[k] = ((p + 1 - base) as u16, (end - p - 1) as u16);
                a.forms[k] = QUOTED;
                p = end + 1;
            }
            Some(b'N' | b'n') => {
                let Some(word) = t.get(p..p + 3) else {
                    return false;
                };
                if word[1] & 0xdf != b'I' || word[2] & 0xdf != b'L' {
                    return false;
                }
                a.forms[k] = 0;
                p += 3;
            }
            _ => return false,
        }
        // A space (or the closing parenthesis) ends the NIL atom too.
        let next = if k == 3 { b')' } else { b' ' };
        if t.get(p) != Some(&next) {
            return false;
        }
        p += 1;
    }
    if p - base > usize::from(u16::MAX) {
        return false;
    }
    c.pos = p;
    true
}

/// The usual shape of a parameter list, the cursor at its opening
/// parenthesis: one to four quoted strings without backslash, one space
/// apart, the closing parenthesis right after the last. Read and recorded
/// into `rec` if so (what the general reading gives for it; true); false,
/// the cursor left where it was and `rec` holding nothing of use, for any
/// other shape or where the list would nest too deep. Written in place,
/// as [`simple_address`] is.
#[inline(always)]
fn simple_params(c: &mut Cur<'_>, rec: &mut ParamRec) -> bool {
    if c.depth as usize >= MAX_DEPTH {
        return false;
    }
    let t = c.text;
    let base = c.pos;
    let mut p = base + 1;
    rec.packed.base = base as u32;
    for k in 0..4 {
        if t.get(p) != Some(&b'"') {
            return false;
        }
        let Some(end) = quote_or_backslash(t, p + 1) else {
            return false;
        };
        if t[end] != b'"' {
            return false;
        }
        rec.packed.spans[k] = ((p + 1 - base) as u16, (end - p - 1) as u16);
        rec.packed.forms[k] = QUOTED;
        p = end + 1;
        match t.get(p) {
            Some(b' ') => p += 1,
            Some(b')') => {
                p += 1;
                if p - base > usize::from(u16::MAX) {
                    return false;
                }
                rec.count = k as u8 + 1;
                c.pos = p;
                return true;
            }
            _ => return false,
        }
    }
    false
}

/// Checks one address list; its position, or `None` for a quoted string
/// where the list belongs (no address).
#[inline]
fn addresses(c: &mut Cur<'_>) -> VResult<Option<At>> {
    c.skip_spaces();
    if c.peek() == Some(b'"') {
        c.string()?;
        return Ok(None);
    }
    let at = c.state();
    c.list(|c| {
        if c.peek() != Some(b'(') {
            c.skip_value()?;
            return Ok(());
        }
        c.pos += 1;
        c.skip_nstring()?;
        c.skip_nstring()?;
        c.skip_nstring()?;
        c.skip_nstring()?;
        c.expect(b')')
    })?;
    Ok(Some(at))
}

// ---------------------------------------------------------------------------
// BODY / BODYSTRUCTURE.

/// A body structure (RFC 3501 §7.4.2 BODY, BODYSTRUCTURE), checked and
/// not yet read: [`BodyView::read`] reads its top level.
#[derive(Clone, Copy, Debug)]
pub struct BodyView<'a> {
    src: Source<'a>,
    at: At,
    extensible: bool,
}

impl<'a> BodyView<'a> {
    /// Reads the top level: a single part's fields, or a multipart's
    /// subtype and parameters (its parts are read as they are iterated).
    pub fn read(&self) -> BodyPart<'a> {
        match read_body(&mut Cur::new(self.src, self.at), self.extensible) {
            Ok(part) => part,
            // Cannot happen: the structure was checked when the response
            // was read. An empty part rather than a panic.
            Err(_) => BodyPart::Single(SinglePartView::empty(self.src, self.extensible)),
        }
    }

    /// True for a BODYSTRUCTURE (with extension data), false for BODY.
    pub fn is_extensible(&self) -> bool {
        self.extensible
    }

    /// The owned form.
    pub fn to_body_structure(&self) -> BodyStructure {
        self.read().to_body_structure()
    }
}

/// One level of a body structure, read in place.
#[derive(Clone, Copy, Debug)]
pub enum BodyPart<'a> {
    /// A non-multipart part.
    Single(SinglePartView<'a>),
    /// A multipart.
    Multipart(MultipartView<'a>),
}

impl<'a> BodyPart<'a> {
    /// True for a multipart.
    pub fn is_multipart(&self) -> bool {
        matches!(self, BodyPart::Multipart(_))
    }

    /// Media type (`TEXT`, `IMAGE`...; `MULTIPART` for a multipart).
    #[inline]
    pub fn media_type(&self) -> StrView<'a> {
        match self {
            BodyPart::Single(s) => s.media_type,
            BodyPart::Multipart(_) => StrView::new(b"MULTIPART", StrForm::Atom),
        }
    }

    /// Media subtype.
    #[inline]
    pub fn media_subtype(&self) -> StrView<'a> {
        match self {
            BodyPart::Single(s) => s.media_subtype,
            BodyPart::Multipart(m) => m.media_subtype,
        }
    }

    /// Content-Type parameters.
    pub fn params(&self) -> Params<'a> {
        match self {
            BodyPart::Single(s) => s.params(),
            BodyPart::Multipart(m) => m.params(),
        }
    }

    /// Extension data (disposition, language, location, more).
    pub fn extension(&self) -> ExtensionView<'a> {
        match self {
            BodyPart::Single(s) => s.extension(),
            BodyPart::Multipart(m) => m.extension(),
        }
    }

    /// The parts of a multipart (none for a single part).
    pub fn parts(&self) -> Parts<'a> {
        match self {
            BodyPart::Single(s) => Parts {
                kept: &[],
                c: Cur::new(s.src, s.params),
                extensible: false,
                done: true,
            },
            BodyPart::Multipart(m) => m.parts(),
        }
    }

    /// The owned form.
    pub fn to_body_structure(&self) -> BodyStructure {
        match self {
            BodyPart::Single(s) => BodyStructure::Single(Box::new(s.to_single_part())),
            BodyPart::Multipart(m) => BodyStructure::Multipart(Box::new(m.to_multipart())),
        }
    }
}

/// A non-multipart body part, read in place.
#[derive(Clone, Copy, Debug)]
pub struct SinglePartView<'a> {
    src: Source<'a>,
    /// Media type, e.g. `TEXT` (NIL reads as empty).
    pub media_type: StrView<'a>,
    /// Media subtype, e.g. `PLAIN` (NIL reads as empty).
    pub media_subtype: StrView<'a>,
    params: At,
    params_rec: ParamRec,
    /// Content-ID.
    pub id: Option<StrView<'a>>,
    /// Content-Description.
    pub description: Option<StrView<'a>>,
    /// Content-Transfer-Encoding.
    pub encoding: Option<StrView<'a>>,
    /// Size in bytes (as encoded).
    pub size: u64,
    /// Lines, for TEXT and MESSAGE/RFC822 parts.
    pub lines: Option<u64>,
    /// The enclosed message's envelope and body, for MESSAGE/RFC822.
    message: Option<(At, At)>,
    extensible: bool,
    /// Content-MD5 (extension data).
    pub md5: Option<StrView<'a>>,
    ext: ExtensionView<'a>,
}

impl<'a> SinglePartView<'a> {
    fn empty(src: Source<'a>, extensible: bool) -> SinglePartView<'a> {
        SinglePartView {
            src,
            media_type: EMPTY,
            media_subtype: EMPTY,
            params: src.origin(),
            params_rec: ParamRec::EMPTY,
            id: None,
            description: None,
            encoding: None,
            size: 0,
            lines: None,
            message: None,
            extensible,
            md5: None,
            ext: ExtensionView::empty(src),
        }
    }

    /// Content-Type parameters.
    pub fn params(&self) -> Params<'a> {
        Params::new(self.src, Some(self.params), self.params_rec)
    }

    /// For MESSAGE/RFC822 (and MESSAGE/GLOBAL): the enclosed message's
    /// envelope and body structure.
    pub fn message(&self) -> Option<(EnvelopeView<'a>, BodyView<'a>)> {
        let (env, body_at) = self.message?;
        let envelope = envelope(&mut Cur::new(self.src, env)).ok()?;
        let inner = BodyView {
            src: self.src,
            at: body_at,
            extensible: self.extensible,
        };
        Some((envelope, inner))
    }

    /// Extension data.
    pub fn extension(&self) -> ExtensionView<'a> {
        self.ext
    }

    /// The owned form.
    pub fn to_single_part(&self) -> SinglePart {
        SinglePart {
            media_type: self.media_type.to_owned_bytes(),
            media_subtype: self.media_subtype.to_owned_bytes(),
            params: self.params().to_owned_pairs(),
            id: opt_bytes(self.id),
            description: opt_bytes(self.description),
            encoding: opt_bytes(self.encoding),
            size: self.size,
            lines: self.lines,
            message: self
                .message()
                .map(|(e, b)| (Box::new(e.to_envelope()), Box::new(b.to_body_structure()))),
            ext: self.extension().to_extension(),
            md5: opt_bytes(self.md5),
        }
    }
}

/// A multipart body, read in place.
#[derive(Clone, Copy, Debug)]
pub struct MultipartView<'a> {
    src: Source<'a>,
    /// The parts read while checking, which come before `first`.
    kept: &'a [SinglePartView<'a>],
    /// The first part not kept.
    first: At,
    extensible: bool,
    /// Subtype, e.g. `MIXED` (NIL reads as empty).
    pub media_subtype: StrView<'a>,
    params: Option<At>,
    params_rec: ParamRec,
    ext: ExtensionView<'a>,
}

impl<'a> MultipartView<'a> {
    /// The parts, in order.
    pub fn parts(&self) -> Parts<'a> {
        Parts {
            kept: self.kept,
            c: Cur::new(self.src, self.first),
            extensible: self.extensible,
            done: false,
        }
    }

    /// Content-Type parameters (extension data).
    pub fn params(&self) -> Params<'a> {
        Params::new(self.src, self.params, self.params_rec)
    }

    /// Extension data.
    pub fn extension(&self) -> ExtensionView<'a> {
        self.ext
    }

    /// The owned form.
    pub fn to_multipart(&self) -> Multipart {
        Multipart {
            parts: self.parts().map(|p| p.to_body_structure()).collect(),
            media_subtype: self.media_subtype.to_owned_bytes(),
            params: self.params().to_owned_pairs(),
            ext: self.extension().to_extension(),
        }
    }
}

/// The parts of a multipart, read as they are iterated.
#[derive(Clone)]
pub struct Parts<'a> {
    kept: &'a [SinglePartView<'a>],
    c: Cur<'a>,
    extensible: bool,
    done: bool,
}

impl fmt::Debug for Parts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parts")
            .field("at", &self.c.state())
            .field("done", &self.done)
            .finish()
    }
}

impl<'a> Iterator for Parts<'a> {
    type Item = BodyPart<'a>;

    fn next(&mut self) -> Option<BodyPart<'a>> {
        if let Some((first, rest)) = self.kept.split_first() {
            self.kept = rest;
            return Some(BodyPart::Single(*first));
        }
        if self.done {
            return None;
        }
        self.c.skip_spaces();
        if self.c.peek() != Some(b'(') {
            self.done = true;
            return None;
        }
        let part = read_body_here(&mut self.c, self.extensible).ok();
        self.done = part.is_none();
        part
    }
}

/// Content-Type or disposition parameters: `(key, value)` pairs, NIL
/// read as empty, a key without value paired with an empty value.
#[derive(Clone, Debug)]
pub struct Params<'a> {
    from: ParamSource<'a>,
}

#[derive(Clone, Debug)]
enum ParamSource<'a> {
    Recorded {
        buf: &'a [u8],
        packed: Packed,
        next: u8,
        count: u8,
    },
    Read(Elements<'a>),
}

/// The first elements of a parameter list, recorded while checking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ParamRec {
    packed: Packed,
    /// Elements recorded (at most 4), or [`ParamRec::UNRECORDED`].
    count: u8,
}

impl ParamRec {
    const EMPTY: ParamRec = ParamRec {
        packed: Packed {
            base: 0,
            spans: [(0, 0); 4],
            forms: [0; 4],
        },
        count: 0,
    };
    /// A list too long (or too far spread) to be recorded: read again.
    const UNRECORDED: u8 = u8::MAX;
}

impl<'a> Params<'a> {
    /// The parameters of the list at `at` (none for `None`), from `rec`
    /// when they were recorded.
    #[inline]
    fn new(src: Source<'a>, at: Option<At>, rec: ParamRec) -> Params<'a> {
        let from = match at {
            Some(at) if rec.count == ParamRec::UNRECORDED => {
                ParamSource::Read(Elements::open(src, at))
            }
            Some(_) => ParamSource::Recorded {
                buf: src.buf,
                packed: rec.packed,
                next: 0,
                count: rec.count,
            },
            None => ParamSource::Recorded {
                buf: src.buf,
                packed: rec.packed,
                next: 0,
                count: 0,
            },
        };
        Params { from }
    }

    fn to_owned_pairs(&self) -> Vec<(Bytes, Bytes)> {
        self.clone()
            .map(|(k, v)| (k.to_owned_bytes(), v.to_owned_bytes()))
            .collect()
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = (StrView<'a>, StrView<'a>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let elements = match &mut self.from {
            ParamSource::Recorded {
                buf,
                packed,
                next,
                count,
            } => {
                let k = usize::from(*next);
                if k >= usize::from(*count) || k >= 4 {
                    return None;
                }
                let key = packed.get(k, buf).unwrap_or(EMPTY);
                let value = if k + 1 < usize::from(*count) && k + 1 < 4 {
                    packed.get(k + 1, buf).unwrap_or(EMPTY)
                } else {
                    EMPTY
                };
                *next += 2;
                return Some((key, value));
            }
            ParamSource::Read(elements) => elements,
        };
        let c = elements.next_element()?;
        let key = c.nstring_here().ok()?.unwrap_or(EMPTY);
        let value = match elements.next_element() {
            Some(c) => c.nstring_here().ok()?.unwrap_or(EMPTY),
            None => EMPTY,
        };
        Some((key, value))
    }
}

/// Extension data of a body part: disposition, language, location, and
/// any further values (RFC 3501 `body-ext-1part`, `body-ext-mpart`).
#[derive(Clone, Copy, Debug)]
pub struct ExtensionView<'a> {
    src: Source<'a>,
    disposition: Option<(StrView<'a>, Option<At>, ParamRec)>,
    language: Language<'a>,
    location: Option<StrView<'a>>,
    extra: Option<At>,
}

#[derive(Clone, Copy, Debug)]
enum Language<'a> {
    None,
    One(StrView<'a>),
    List(At),
}

impl<'a> ExtensionView<'a> {
    fn empty(src: Source<'a>) -> ExtensionView<'a> {
        ExtensionView {
            src,
            disposition: None,
            language: Language::None,
            location: None,
            extra: None,
        }
    }

    /// Content-Disposition: its value and parameters.
    pub fn disposition(&self) -> Option<(StrView<'a>, Params<'a>)> {
        let (value, params, rec) = self.disposition?;
        Some((value, Params::new(self.src, params, rec)))
    }

    /// Content-Language values (NIL entries left out).
    pub fn language(&self) -> LanguageIter<'a> {
        match self.language {
            Language::None => LanguageIter {
                one: None,
                list: None,
            },
            Language::One(s) => LanguageIter {
                one: Some(s),
                list: None,
            },
            Language::List(at) => LanguageIter {
                one: None,
                list: Some(Elements::open(self.src, at)),
            },
        }
    }

    /// Content-Location.
    #[inline]
    pub fn location(&self) -> Option<StrView<'a>> {
        self.location
    }

    /// Further extension values, each as written ([`StrForm::Raw`], or a
    /// literal's data).
    pub fn extra(&self) -> Extra<'a> {
        Extra {
            c: self.extra.map(|at| Cur::new(self.src, at)),
        }
    }

    /// The owned form.
    pub fn to_extension(&self) -> Extension {
        Extension {
            disposition: self
                .disposition()
                .map(|(v, p)| (v.to_owned_bytes(), p.to_owned_pairs())),
            language: self.language().map(StrView::to_owned_bytes).collect(),
            location: opt_bytes(self.location),
            extra: self.extra().map(StrView::to_owned_bytes).collect(),
        }
    }
}

/// The Content-Language values of an [`ExtensionView`].
#[derive(Clone, Debug)]
pub struct LanguageIter<'a> {
    one: Option<StrView<'a>>,
    list: Option<Elements<'a>>,
}

impl<'a> Iterator for LanguageIter<'a> {
    type Item = StrView<'a>;

    fn next(&mut self) -> Option<StrView<'a>> {
        if let Some(one) = self.one.take() {
            return Some(one);
        }
        let elements = self.list.as_mut()?;
        loop {
            let c = elements.next_element()?;
            if let Some(s) = c.nstring().ok()? {
                return Some(s);
            }
        }
    }
}

/// The further extension values of an [`ExtensionView`].
#[derive(Clone)]
pub struct Extra<'a> {
    c: Option<Cur<'a>>,
}

impl fmt::Debug for Extra<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extra")
            .field("at", &self.c.map(|c| c.state()))
            .finish()
    }
}

impl<'a> Iterator for Extra<'a> {
    type Item = StrView<'a>;

    fn next(&mut self) -> Option<StrView<'a>> {
        let c = self.c.as_mut()?;
        if c.eat(b')') || c.at_end() {
            self.c = None;
            return None;
        }
        let value = c.skip_value().ok();
        if value.is_none() {
            self.c = None;
        }
        value
    }
}

/// Reads the top level of a checked BODY or BODYSTRUCTURE value (nested
/// parts are checked again and skipped).
fn read_body<'a>(c: &mut Cur<'a>, extensible: bool) -> VResult<BodyPart<'a>> {
    c.skip_spaces();
    read_body_here(c, extensible)
}

/// [`read_body`], spaces already skipped.
#[inline]
fn read_body_here<'a>(c: &mut Cur<'a>, extensible: bool) -> VResult<BodyPart<'a>> {
    if c.peek() != Some(b'(') {
        return Err(c.fail_with(What::Expected(b'(')));
    }
    c.pos += 1;
    c.enter()?;
    c.skip_spaces();
    let result = if c.peek() == Some(b'(') {
        multipart(c, extensible).map(BodyPart::Multipart)
    } else {
        single(c, extensible).map(BodyPart::Single)
    };
    c.leave();
    result
}

fn multipart<'a>(c: &mut Cur<'a>, extensible: bool) -> VResult<MultipartView<'a>> {
    multipart_keeping(c, extensible, &mut [], &mut 0)
}

/// [`multipart`], reading its first single parts into `keep` (`kept` of
/// them) rather than only checking them.
#[inline(always)]
fn multipart_keeping<'a>(
    c: &mut Cur<'a>,
    extensible: bool,
    keep: &mut [SinglePartView<'a>],
    kept: &mut u8,
) -> VResult<MultipartView<'a>> {
    // Single parts are read while there is room (their rules are those
    // of `skip_body_here`).
    while usize::from(*kept) < keep.len() {
        c.skip_spaces();
        if c.peek() != Some(b'(') {
            break;
        }
        let mut ahead = *c;
        ahead.pos += 1;
        ahead.skip_spaces();
        if ahead.peek() == Some(b'(') {
            break;
        }
        c.pos += 1;
        c.enter()?;
        c.skip_spaces();
        let Some(slot) = keep.get_mut(usize::from(*kept)) else {
            break;
        };
        let read = single_into(c, extensible, slot);
        c.leave();
        read?;
        *kept += 1;
    }
    let first = c.state();
    loop {
        c.skip_spaces();
        if c.peek() == Some(b'(') {
            skip_body_here(c)?;
        } else {
            break;
        }
    }
    let mut m = MultipartView {
        src: c.src,
        first,
        kept: &[],
        extensible,
        media_subtype: c.nstring_here()?.unwrap_or(EMPTY),
        params: None,
        params_rec: ParamRec::EMPTY,
        ext: ExtensionView::empty(c.src),
    };
    if !c.eat(b')') {
        m.params = record_params(c, &mut m.params_rec)?;
        if !c.eat(b')') {
            m.ext = extension(c)?;
        }
    }
    Ok(m)
}

/// Spaces already skipped.
fn single<'a>(c: &mut Cur<'a>, extensible: bool) -> VResult<SinglePartView<'a>> {
    let mut p = SinglePartView::empty(c.src, extensible);
    single_into(c, extensible, &mut p)?;
    Ok(p)
}

/// [`single`], read into `p`, every field of which it sets: the parts a
/// view keeps are filled where they lie instead of copied there.
#[inline(always)]
fn single_into<'a>(c: &mut Cur<'a>, extensible: bool, p: &mut SinglePartView<'a>) -> VResult<()> {
    let media_type = c.nstring_here()?.unwrap_or(EMPTY);
    let media_subtype = c.nstring()?.unwrap_or(EMPTY);
    c.skip_spaces();
    p.src = c.src;
    p.media_type = media_type;
    p.media_subtype = media_subtype;
    p.params = c.state();
    record_params(c, &mut p.params_rec)?;
    p.id = nstring_or_list(c)?;
    p.description = nstring_or_list(c)?;
    p.encoding = nstring_or_list(c)?;
    p.size = number_tolerant(c)?;
    p.lines = None;
    p.message = None;
    p.extensible = extensible;
    p.md5 = None;
    p.ext = ExtensionView::empty(c.src);
    if media_type.eq_ignore_ascii_case(b"MESSAGE")
        && (media_subtype.eq_ignore_ascii_case(b"RFC822")
            || media_subtype.eq_ignore_ascii_case(b"GLOBAL"))
    {
        c.skip_spaces();
        if c.peek() == Some(b'(') {
            let env = c.state();
            skip_envelope(c)?;
            c.skip_spaces();
            let inner = c.state();
            skip_body(c)?;
            p.lines = Some(number_tolerant(c)?);
            p.message = Some((env, inner));
        }
    } else if media_type.eq_ignore_ascii_case(b"TEXT") {
        c.skip_spaces();
        if !matches!(c.peek(), Some(b')') | None) {
            p.lines = Some(number_tolerant(c)?);
        }
    }
    if c.eat(b')') {
        return Ok(());
    }
    p.md5 = nstring_or_list(c)?;
    if !c.eat(b')') {
        p.ext = extension(c)?;
    }
    Ok(())
}

/// Checks a BODY or BODYSTRUCTURE value; a handle to read it later.
fn body_handle<'a>(c: &mut Cur<'a>, extensible: bool) -> VResult<BodyView<'a>> {
    c.skip_spaces();
    let body = BodyView {
        src: c.src,
        at: c.state(),
        extensible,
    };
    skip_body_here(c)?;
    Ok(body)
}

/// Checks a BODY or BODYSTRUCTURE value, reading nothing (the same rules
/// as [`read_body`]; both kinds are read alike).
fn skip_body(c: &mut Cur<'_>) -> VResult<()> {
    c.skip_spaces();
    skip_body_here(c)
}

/// [`skip_body`], spaces already skipped.
fn skip_body_here(c: &mut Cur<'_>) -> VResult<()> {
    if c.peek() != Some(b'(') {
        return Err(c.fail_with(What::Expected(b'(')));
    }
    c.pos += 1;
    c.enter()?;
    c.skip_spaces();
    let result = if c.peek() == Some(b'(') {
        skip_multipart(c)
    } else {
        skip_single(c)
    };
    c.leave();
    result
}

fn skip_multipart(c: &mut Cur<'_>) -> VResult<()> {
    loop {
        c.skip_spaces();
        if c.peek() == Some(b'(') {
            skip_body_here(c)?;
        } else {
            break;
        }
    }
    c.skip_nstring_here()?;
    if !c.eat(b')') {
        skip_params(c)?;
        if !c.eat(b')') {
            extension(c)?;
        }
    }
    Ok(())
}

/// Spaces already skipped.
fn skip_single(c: &mut Cur<'_>) -> VResult<()> {
    let media_type = c.nstring_here()?.unwrap_or(EMPTY);
    let media_subtype = c.nstring()?.unwrap_or(EMPTY);
    skip_params(c)?;
    skip_nstring_or_list(c)?;
    skip_nstring_or_list(c)?;
    skip_nstring_or_list(c)?;
    number_tolerant(c)?;
    if media_type.eq_ignore_ascii_case(b"MESSAGE")
        && (media_subtype.eq_ignore_ascii_case(b"RFC822")
            || media_subtype.eq_ignore_ascii_case(b"GLOBAL"))
    {
        c.skip_spaces();
        if c.peek() == Some(b'(') {
            skip_envelope(c)?;
            skip_body(c)?;
            number_tolerant(c)?;
        }
    } else if media_type.eq_ignore_ascii_case(b"TEXT") {
        c.skip_spaces();
        if !matches!(c.peek(), Some(b')') | None) {
            number_tolerant(c)?;
        }
    }
    if c.eat(b')') {
        return Ok(());
    }
    skip_nstring_or_list(c)?;
    if !c.eat(b')') {
        extension(c)?;
    }
    Ok(())
}

/// [`record_params`], reading nothing.
#[inline]
fn skip_params(c: &mut Cur<'_>) -> VResult<()> {
    c.skip_spaces();
    if c.peek() != Some(b'(') {
        return c.skip_nstring_here();
    }
    c.list_here(Cur::skip_nstring_here)
}

/// [`nstring_or_list`], reading nothing.
#[inline]
fn skip_nstring_or_list(c: &mut Cur<'_>) -> VResult<()> {
    c.skip_spaces();
    if c.peek() == Some(b'(') {
        return c.skip_value().map(|_| ());
    }
    c.skip_nstring_here()
}

/// Checks a parameter list (or NIL, or a bare string where the list
/// belongs), spaces already skipped; the position of the list, if it is
/// one, and its first elements, recorded.
#[inline]
fn record_params(c: &mut Cur<'_>, rec: &mut ParamRec) -> VResult<Option<At>> {
    if c.peek() != Some(b'(') {
        c.nstring_here()?;
        *rec = ParamRec::EMPTY;
        return Ok(None);
    }
    let at = c.state();
    if simple_params(c, rec) {
        return Ok(Some(at));
    }
    let buf = c.src.buf;
    *rec = ParamRec::EMPTY;
    rec.packed.base = at.pos;
    c.list_here(|c| {
        let s = c.nstring_here()?;
        let k = usize::from(rec.count);
        rec.count = if k < 4 && rec.packed.set(k, s, buf) {
            rec.count + 1
        } else {
            ParamRec::UNRECORDED
        };
        Ok(())
    })?;
    Ok(Some(at))
}

#[inline]
fn nstring_or_list<'a>(c: &mut Cur<'a>) -> VResult<Option<StrView<'a>>> {
    c.skip_spaces();
    if c.peek() == Some(b'(') {
        // A list where a string belongs: kept raw.
        return c.skip_value().map(Some);
    }
    c.nstring_here()
}

fn number_tolerant(c: &mut Cur<'_>) -> VResult<u64> {
    c.skip_spaces();
    match c.peek() {
        Some(d) if d.is_ascii_digit() => c.number_here(),
        Some(b'"') => {
            let s = c.string()?;
            let bytes = s.as_bytes();
            std::str::from_utf8(&bytes)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .ok_or_else(|| c.fail(Msg::ExpectedNumber))
        }
        _ => {
            // NIL or garbage where a number belongs: 0.
            if c.keyword(b"NIL") {
                Ok(0)
            } else {
                c.number()
            }
        }
    }
}

/// Checks extension data up to and including the part's closing
/// parenthesis, reading disposition, language and location.
fn extension<'a>(c: &mut Cur<'a>) -> VResult<ExtensionView<'a>> {
    let mut ext = ExtensionView::empty(c.src);
    c.skip_spaces();
    if c.peek() == Some(b'(') {
        c.pos += 1;
        c.enter()?;
        let value = c.nstring()?.unwrap_or(EMPTY);
        let (mut p, mut rec) = (None, ParamRec::EMPTY);
        if !c.eat(b')') {
            p = record_params(c, &mut rec)?;
            // Extra values before the closing parenthesis are tolerated.
            while !c.eat(b')') {
                if c.at_end() {
                    return Err(c.fail(Msg::UnterminatedDisposition));
                }
                c.skip_value()?;
            }
        }
        c.leave();
        ext.disposition = Some((value, p, rec));
    } else if let Some(v) = c.nstring_here()? {
        // A bare string (seen from broken servers).
        ext.disposition = Some((v, None, ParamRec::EMPTY));
    }
    if c.eat(b')') {
        return Ok(ext);
    }
    if c.peek() == Some(b'(') {
        let at = c.state();
        c.list_here(|c| c.nstring_here().map(|_| ()))?;
        ext.language = Language::List(at);
    } else if let Some(l) = c.nstring_here()? {
        ext.language = Language::One(l);
    }
    if c.eat(b')') {
        return Ok(ext);
    }
    ext.location = nstring_or_list(c)?;
    if c.eat(b')') {
        // No further values: nothing to read again.
        return Ok(ext);
    }
    ext.extra = Some(c.state());
    loop {
        if c.eat(b')') {
            return Ok(ext);
        }
        if c.at_end() {
            return Err(c.fail(Msg::UnterminatedExtension));
        }
        c.skip_value()?;
    }
}

// ---------------------------------------------------------------------------
// Sections.

/// The section of a `BODY[section]` item (RFC 3501 §6.4.5).
#[derive(Clone, Copy, Debug)]
pub struct SectionView<'a> {
    src: Source<'a>,
    /// The specifier as sent, up to the header field list.
    word: &'a [u8],
    /// Where the part numbers end in `word`.
    split: usize,
    fields: Option<At>,
}

/// The text specifier of a [`SectionView`].
#[derive(Clone, Copy, Debug)]
pub enum SectionTextView<'a> {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (...)`
    HeaderFields(StringList<'a>),
    /// `HEADER.FIELDS.NOT (...)`
    HeaderFieldsNot(StringList<'a>),
    /// `TEXT`
    Text,
    /// `MIME`
    Mime,
    /// Something else, as sent.
    Other(&'a [u8]),
}

impl<'a> SectionView<'a> {
    /// Part numbers (`1.2.3`); none for the whole message.
    pub fn part(&self) -> PartNumbers<'a> {
        PartNumbers {
            spec: &self.word[..self.split],
        }
    }

    /// What of that part; `None` for all of it.
    pub fn text(&self) -> Option<SectionTextView<'a>> {
        let rest = &self.word[self.split..];
        let list = || StringList {
            src: self.src,
            at: self.fields.unwrap_or(self.src.origin()),
        };
        Some(if rest.is_empty() {
            return None;
        } else if rest.eq_ignore_ascii_case(b"HEADER") {
            SectionTextView::Header
        } else if rest.eq_ignore_ascii_case(b"TEXT") {
            SectionTextView::Text
        } else if rest.eq_ignore_ascii_case(b"MIME") {
            SectionTextView::Mime
        } else if rest.eq_ignore_ascii_case(b"HEADER.FIELDS") {
            SectionTextView::HeaderFields(list())
        } else if rest.eq_ignore_ascii_case(b"HEADER.FIELDS.NOT") {
            SectionTextView::HeaderFieldsNot(list())
        } else {
            SectionTextView::Other(rest)
        })
    }

    /// The owned form.
    pub fn to_section(&self) -> Section {
        let fields = |l: StringList<'_>| l.iter().map(StrView::to_owned_bytes).collect();
        Section {
            part: self.part().iter().collect(),
            text: self.text().map(|t| match t {
                SectionTextView::Header => SectionText::Header,
                SectionTextView::Text => SectionText::Text,
                SectionTextView::Mime => SectionText::Mime,
                SectionTextView::HeaderFields(l) => SectionText::HeaderFields(fields(l)),
                SectionTextView::HeaderFieldsNot(l) => SectionText::HeaderFieldsNot(fields(l)),
                SectionTextView::Other(o) => SectionText::Other(Bytes::copy_from_slice(o)),
            }),
        }
    }
}

/// Part numbers of a section (`1.2.3`), read as they are iterated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartNumbers<'a> {
    spec: &'a [u8],
}

impl<'a> PartNumbers<'a> {
    /// The numbers, in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + 'a {
        self.spec
            .split(|&b| b == b'.')
            .filter(|n| !n.is_empty())
            .map(|n| n.iter().fold(0, |a, &d| a * 10 + u32::from(d - b'0')))
    }

    /// True for the whole message (no part number).
    pub fn is_empty(&self) -> bool {
        self.spec.is_empty()
    }

    /// The numbers as sent (`1.2.`).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the general reading gives: the name's length and kind.
    fn general(rest: &[u8]) -> Option<(usize, Name)> {
        let len = rest
            .iter()
            .position(|&b| STOPS[usize::from(b)] & ENDS_NAME != 0)
            .unwrap_or(rest.len());
        (len > 0).then(|| (len, name_of(&rest[..len])))
    }

    #[test]
    fn usual_item_names_read_as_the_general_reading_does() {
        let names: [&[u8]; 16] = [
            b"UID",
            b"uid",
            b"Flags",
            b"INTERNALDATE",
            b"RFC822.SIZE",
            b"rfc822.size",
            b"RFC822",
            b"RFC822.TEXT",
            b"ENVELOPE",
            b"BODYSTRUCTURE",
            b"BODY",
            b"MODSEQ",
            b"UIDX",
            b"FLAGSS",
            b"RFC822\x18SIZE",
            b"ENVELOP",
        ];
        let mut tried = 0;
        for name in names {
            for tail in [
                &b" 12 X (\\Seen) 1234567890"[..],
                b"[] x",
                b"(x) yyyyyyyyyyyy",
                b"<0>",
            ] {
                let mut rest = name.to_vec();
                rest.extend_from_slice(tail);
                rest.extend_from_slice(b"                ");
                if let Some((len, kind)) = usual_item(&rest) {
                    tried += 1;
                    assert_eq!(
                        Some((len, kind)),
                        general(&rest),
                        "{:?}",
                        crate::Printable(&rest)
                    );
                }
            }
            // Every byte after the name, as the name's next byte.
            for b in 0..=255u8 {
                let mut rest = name.to_vec();
                rest.push(b);
                rest.extend_from_slice(&[b'x'; 16]);
                if let Some(found) = usual_item(&rest) {
                    assert_eq!(Some(found), general(&rest), "{:?}", crate::Printable(&rest));
                }
            }
        }
        assert!(tried > 30, "the fast path was taken {tried} times");
        // Too short to compare as words: left to the general reading.
        assert_eq!(usual_item(b"UID 1)"), None);
    }
}
