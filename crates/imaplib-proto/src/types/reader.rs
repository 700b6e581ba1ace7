//! A tolerant reader of IMAP data values (RFC 3501 §4, §9): atoms, numbers,
//! quoted strings, literals, NIL and parenthesised lists, over one response
//! split into text segments and the literals between them.
//!
//! Tolerance: runs of spaces count as one, a missing space before `(` or
//! `)` is accepted, keywords match case-insensitively, quoted strings may
//! hold 8-bit bytes, and an atom is accepted where a string belongs. Nesting
//! is bounded by [`MAX_DEPTH`].

use bytes::Bytes;

use crate::response::{Data, Frame};

/// Deepest nesting of parenthesised lists accepted (BODYSTRUCTURE, THREAD,
/// lists). Deeper input is an error, never a stack overflow.
pub const MAX_DEPTH: usize = 100;

/// Why a value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// What was expected or what is wrong.
    pub reason: String,
}

impl DecodeError {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        DecodeError {
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for DecodeError {}

pub(crate) type DResult<T> = Result<T, DecodeError>;

/// One response as alternating text segments and literals:
/// `text0, literal0, text1, literal1, ..., textN`.
#[derive(Debug, Clone)]
pub struct Segments {
    parts: Vec<Bytes>,
}

impl Segments {
    /// From a frame, skipping `skip` bytes of its first line.
    pub fn from_frame(frame: &Frame, skip: usize) -> Segments {
        let mut parts = Vec::with_capacity(frame.line_count() * 2 - 1);
        for i in 0..frame.line_count() {
            let mut range = frame.line_range(i);
            if i == 0 {
                range.start = (range.start + skip).min(range.end);
            }
            parts.push(frame.raw().slice(range));
            if i < frame.literal_count() {
                parts.push(frame.literal(i));
            }
        }
        Segments { parts }
    }

    /// From one response's imaplib items: zero or more `(header, literal)`
    /// pairs and one final line. Returns `None` if the items do not have
    /// that shape.
    pub fn from_items(items: &[Data]) -> Option<Segments> {
        let mut parts = Vec::with_capacity(items.len() * 2);
        let (last, pairs) = items.split_last()?;
        for item in pairs {
            match item {
                Data::Literal { header, literal } => {
                    parts.push(header.clone());
                    parts.push(literal.clone());
                }
                _ => return None,
            }
        }
        match last {
            Data::Line(b) => parts.push(b.clone()),
            _ => return None,
        }
        Some(Segments { parts })
    }

    /// From a single line without literals.
    pub fn from_line(line: Bytes) -> Segments {
        Segments { parts: vec![line] }
    }

    /// The text segments and literals, alternately.
    pub fn parts(&self) -> &[Bytes] {
        &self.parts
    }

    /// A reader at the start.
    pub fn reader(&self) -> Reader<'_> {
        Reader {
            parts: &self.parts,
            seg: 0,
            pos: 0,
            depth: 0,
            cur: self.parts.first().map_or(&[][..], |p| &p[..]),
        }
    }

    /// All the bytes, literals inlined with their announcements (for raw
    /// diagnostics).
    pub fn joined(&self) -> Bytes {
        if self.parts.len() == 1 {
            return self.parts[0].clone();
        }
        let mut out = Vec::new();
        for (i, p) in self.parts.iter().enumerate() {
            out.extend_from_slice(p);
            if i % 2 == 0 && i + 1 < self.parts.len() {
                out.extend_from_slice(b"\r\n");
            }
        }
        Bytes::from(out)
    }
}

/// A position in a [`Segments`].
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    parts: &'a [Bytes],
    seg: usize,
    pos: usize,
    depth: usize,
    /// `parts[seg]` as a slice, so that looking at the next bytes costs no
    /// index check and no reference count.
    cur: &'a [u8],
}

/// Position of the first `"` or `\\` in `haystack` (the bytes that end or
/// escape a quoted string), eight bytes at a time: a byte of `w ^ c` is
/// zero exactly where `w` holds `c`, and the borrow trick flags the lowest
/// such byte exactly.
pub(crate) fn find_quote_or_backslash(haystack: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    let mut chunks = haystack.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let (q, b) = (w ^ QUOTES, w ^ BACKSLASHES);
        let found = (q.wrapping_sub(ONES) & !q | b.wrapping_sub(ONES) & !b) & HIGHS;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|i| base + i)
}

/// Bytes that end an atom in the tolerant reader.
pub(crate) fn ends_atom(b: u8) -> bool {
    STOPS[usize::from(b)] & ENDS_ATOM != 0
}

/// [`STOPS`] bit: the byte ends an atom.
const ENDS_ATOM: u8 = 1;
/// [`STOPS`] bit: the byte ends a FETCH item name.
pub(crate) const ENDS_NAME: u8 = 2;

/// What each byte ends, looked up instead of compared (atoms and names
/// are scanned a byte at a time).
pub(crate) static STOPS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if matches!(c, b' ' | b'(' | b')' | b'"' | b'{' | b'\r' | b'\n') || c < 0x20 || c == 0x7f {
            t[b] = ENDS_ATOM | ENDS_NAME;
        } else if matches!(c, b'[' | b']' | b'<') {
            t[b] = ENDS_NAME;
        }
        b += 1;
    }
    t
};

impl<'a> Reader<'a> {
    fn text(&self) -> &'a Bytes {
        &self.parts[self.seg]
    }

    #[inline]
    fn rest(&self) -> &'a [u8] {
        self.cur.get(self.pos..).unwrap_or_default()
    }

    /// Moves to segment `seg`, at its start.
    fn enter_segment(&mut self, seg: usize) {
        self.seg = seg;
        self.pos = 0;
        self.cur = self.parts.get(seg).map_or(&[][..], |p| &p[..]);
    }

    /// The next byte, without consuming it.
    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.cur.get(self.pos).copied()
    }

    /// True at the very end of the response.
    pub fn at_end(&self) -> bool {
        self.rest().is_empty() && self.seg + 1 >= self.parts.len()
    }

    /// Skips any spaces.
    #[inline]
    pub fn skip_spaces(&mut self) {
        while self.cur.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    /// The unread bytes of the current text segment (for diagnostics and
    /// for keeping unknown data raw).
    pub fn remaining_text(&self) -> Bytes {
        let t = self.text();
        t.slice(self.pos.min(t.len())..)
    }

    /// Consumes `b` if it is next (after spaces).
    pub fn eat(&mut self, b: u8) -> bool {
        self.skip_spaces();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Requires `b` next (after spaces).
    pub fn expect(&mut self, b: u8) -> DResult<()> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.error(&format!("expected '{}'", b as char)))
        }
    }

    /// An error mentioning where the reader is.
    pub fn error(&self, what: &str) -> DecodeError {
        let rest = self.rest();
        let shown = &rest[..rest.len().min(40)];
        DecodeError::new(format!("{what} at {:?}", crate::Printable(shown)))
    }

    /// Reads an atom-like word (anything up to a space, parenthesis, quote
    /// or brace); `]` and `[` are part of it.
    pub fn atom(&mut self) -> DResult<Bytes> {
        let start = self.atom_len()?;
        Ok(self.text().slice(start..self.pos))
    }

    /// [`Reader::atom`] without the reference-counted copy: the atom's
    /// bytes borrowed from the response.
    pub(crate) fn atom_slice(&mut self) -> DResult<&'a [u8]> {
        let start = self.atom_len()?;
        Ok(&self.cur[start..self.pos])
    }

    /// Skips spaces and an atom; returns where the atom starts.
    fn atom_len(&mut self) -> DResult<usize> {
        self.skip_spaces();
        let rest = self.rest();
        let len = rest
            .iter()
            .position(|&b| ends_atom(b))
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(self.error("expected an atom"));
        }
        let start = self.pos;
        self.pos += len;
        Ok(start)
    }

    /// True (and consumed) if NIL comes next, followed by a delimiter.
    fn eat_nil(&mut self) -> bool {
        let rest = self.rest();
        if rest.len() >= 3
            && rest[..3].eq_ignore_ascii_case(b"NIL")
            && rest.get(3).is_none_or(|&b| ends_atom(b))
        {
            self.pos += 3;
            true
        } else {
            false
        }
    }

    /// Reads a word that stops also at `[` and `]` (FETCH item names).
    pub fn item_name(&mut self) -> DResult<Bytes> {
        let name = self.item_name_slice()?;
        let end = self.pos;
        Ok(self.text().slice(end - name.len()..end))
    }

    /// [`Reader::item_name`], borrowed from the response.
    pub(crate) fn item_name_slice(&mut self) -> DResult<&'a [u8]> {
        self.skip_spaces();
        let rest = self.rest();
        let len = rest
            .iter()
            .position(|&b| STOPS[usize::from(b)] & ENDS_NAME != 0)
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(self.error("expected a name"));
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    /// Reads raw bytes up to (not including) `stop`, within the current text.
    pub fn until(&mut self, stop: u8) -> DResult<Bytes> {
        let rest = self.rest();
        let len = rest
            .iter()
            .position(|&b| b == stop)
            .ok_or_else(|| self.error(&format!("missing '{}'", stop as char)))?;
        let start = self.pos;
        self.pos += len;
        Ok(self.text().slice(start..start + len))
    }

    /// True if the next word is `word` (case-insensitive) followed by a
    /// delimiter; consumes it if so.
    pub fn keyword(&mut self, word: &str) -> bool {
        self.skip_spaces();
        let rest = self.rest();
        let w = word.as_bytes();
        if rest.len() >= w.len()
            && rest[..w.len()].eq_ignore_ascii_case(w)
            && rest
                .get(w.len())
                .is_none_or(|&b| ends_atom(b) || b == b']' || b == b'[')
        {
            self.pos += w.len();
            true
        } else {
            false
        }
    }

    /// Reads a non-negative number.
    pub fn number(&mut self) -> DResult<u64> {
        self.skip_spaces();
        let rest = self.rest();
        let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 || len > 20 {
            return Err(self.error("expected a number"));
        }
        let mut v: u64 = 0;
        for &d in &rest[..len] {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
                .ok_or_else(|| self.error("number out of range"))?;
        }
        self.pos += len;
        Ok(v)
    }

    /// Reads a number that must fit 32 bits (sequence numbers, UIDs).
    pub fn number32(&mut self) -> DResult<u32> {
        let v = self.number()?;
        u32::try_from(v).map_err(|_| self.error("number larger than 32 bits"))
    }

    /// True if a literal (`{N}` or `~{N}`) starts here.
    fn at_literal(&self) -> bool {
        let rest = self.rest();
        rest.first() == Some(&b'{') || rest.starts_with(b"~{")
    }

    /// Moves to the very end of the response.
    pub fn skip_to_end(&mut self) {
        self.enter_segment(self.parts.len() - 1);
        self.pos = self.cur.len();
        self.depth = 0;
    }

    /// Reads NIL, a quoted string or a literal; an atom is accepted too.
    pub fn nstring(&mut self) -> DResult<Option<Bytes>> {
        self.skip_spaces();
        match self.peek() {
            // Quoted strings first: by far the most common.
            Some(b'"') => self.quoted().map(Some),
            _ if self.at_literal() => self.literal().map(Some),
            Some(b'(') | Some(b')') | None => Err(self.error("expected a string or NIL")),
            Some(_) if self.eat_nil() => Ok(None),
            Some(_) => self.atom().map(Some),
        }
    }

    /// Reads a string (quoted, literal or atom); NIL is refused.
    pub fn string(&mut self) -> DResult<Bytes> {
        self.skip_spaces();
        if self.at_literal() {
            return self.literal();
        }
        match self.peek() {
            Some(b'"') => self.quoted(),
            _ => self.atom(),
        }
    }

    /// Reads an astring where NIL means the text "NIL" (mailbox names).
    pub fn astring(&mut self) -> DResult<Bytes> {
        self.string()
    }

    fn quoted(&mut self) -> DResult<Bytes> {
        let rest = self.rest();
        debug_assert_eq!(rest.first(), Some(&b'"'));
        let mut i = 1;
        let mut escaped = false;
        while i < rest.len() {
            // Most strings hold no backslash: jump to the next quote or
            // backslash at once.
            match find_quote_or_backslash(&rest[i..]) {
                Some(k) => i += k,
                None => break,
            }
            match rest[i] {
                b'\\' => {
                    escaped = true;
                    i += 2;
                }
                _ => {
                    let start = self.pos + 1;
                    let inner = self.text().slice(start..start + i - 1);
                    self.pos += i + 1;
                    if !escaped {
                        return Ok(inner);
                    }
                    let mut out = Vec::with_capacity(inner.len());
                    let mut k = 0;
                    while k < inner.len() {
                        if inner[k] == b'\\' && k + 1 < inner.len() {
                            k += 1;
                        }
                        out.push(inner[k]);
                        k += 1;
                    }
                    return Ok(Bytes::from(out));
                }
            }
        }
        Err(self.error("unterminated quoted string"))
    }

    fn literal(&mut self) -> DResult<Bytes> {
        let rest = self.rest();
        let skip = usize::from(rest.first() == Some(&b'~'));
        if rest.get(skip) != Some(&b'{') {
            return Err(self.error("expected a literal"));
        }
        let close = rest
            .iter()
            .position(|&b| b == b'}')
            .ok_or_else(|| self.error("unterminated literal announcement"))?;
        if close + 1 != rest.len() || self.seg + 1 >= self.parts.len() {
            return Err(self.error("literal announcement not at the end of a line"));
        }
        let lit = self.parts[self.seg + 1].clone();
        self.enter_segment(self.seg + 2);
        Ok(lit)
    }

    /// Reads a parenthesised list, calling `item` for each element until
    /// `)`. NIL is accepted as an empty list.
    pub fn list<F>(&mut self, mut item: F) -> DResult<()>
    where
        F: FnMut(&mut Self) -> DResult<()>,
    {
        self.skip_spaces();
        if self.peek() != Some(b'(') {
            if self.keyword("NIL") {
                return Ok(());
            }
            return Err(self.error("expected '('"));
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
                None if self.at_end() => return Err(self.error("unterminated list")),
                None => return Err(self.error("unexpected end of line in a list")),
                _ => {
                    let before = (self.seg, self.pos);
                    item(self)?;
                    if (self.seg, self.pos) == before {
                        return Err(self.error("list element not consumed"));
                    }
                }
            }
        }
    }

    /// Enters one level of nesting, failing past [`MAX_DEPTH`].
    pub fn enter(&mut self) -> DResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(DecodeError::new(format!(
                "nesting deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    /// Leaves one level of nesting.
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Skips one value of any kind (balanced parentheses), returning its
    /// bytes as they appear in the current segment when it holds no literal.
    pub fn skip_value(&mut self) -> DResult<Bytes> {
        self.skip_spaces();
        let start_seg = self.seg;
        let start_pos = self.pos;
        if self.at_literal() {
            return self.literal();
        }
        match self.peek() {
            Some(b'(') => {
                self.list(|r| r.skip_value().map(|_| ()))?;
            }
            Some(b'"') => {
                self.quoted()?;
            }
            Some(b'[') => {
                // A bracketed section or code: up to the matching bracket.
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
                    return Err(self.error("unbalanced '['"));
                }
                self.pos += len;
            }
            Some(_) => {
                self.atom()?;
            }
            None => return Err(self.error("expected a value")),
        }
        if self.seg == start_seg {
            Ok(self.text().slice(start_pos..self.pos))
        } else {
            Ok(Bytes::new())
        }
    }

    /// Position marker, to slice raw bytes between two points of the same
    /// segment.
    pub fn mark(&self) -> (usize, usize) {
        (self.seg, self.pos)
    }

    /// The raw bytes from `mark` to here, literals inlined.
    pub fn since(&self, mark: (usize, usize)) -> Bytes {
        let (seg, pos) = mark;
        if seg == self.seg {
            return self.text().slice(pos.min(self.pos)..self.pos);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&self.parts[seg][pos..]);
        for s in seg + 1..=self.seg {
            if s % 2 == 1 {
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&self.parts[s]);
            } else if s == self.seg {
                out.extend_from_slice(&self.parts[s][..self.pos]);
            } else {
                out.extend_from_slice(&self.parts[s]);
            }
        }
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(s: &'static [u8]) -> Segments {
        Segments::from_line(Bytes::from_static(s))
    }

    #[test]
    fn values() {
        let s = seg(b"  42 \"a\\\"b\" NIL atom[x] (1 (2 3))");
        let mut r = s.reader();
        assert_eq!(r.number().unwrap(), 42);
        assert_eq!(&r.nstring().unwrap().unwrap()[..], b"a\"b");
        assert_eq!(r.nstring().unwrap(), None);
        assert_eq!(&r.atom().unwrap()[..], b"atom[x]");
        let mut seen = Vec::new();
        r.list(|r| {
            if r.peek() == Some(b'(') {
                r.list(|r| {
                    seen.push(r.number()?);
                    Ok(())
                })
            } else {
                seen.push(r.number()?);
                Ok(())
            }
        })
        .unwrap();
        assert_eq!(seen, [1, 2, 3]);
        assert!(r.at_end());
    }

    #[test]
    fn literals_across_segments() {
        let items = vec![
            Data::from((b"1 (BODY[] {3}", b"abc")),
            Data::from(b" X \"y\")"),
        ];
        let s = Segments::from_items(&items).unwrap();
        let mut r = s.reader();
        assert_eq!(r.number().unwrap(), 1);
        r.expect(b'(').unwrap();
        assert_eq!(&r.item_name().unwrap()[..], b"BODY");
        assert_eq!(&r.until(b']').unwrap()[..], b"[");
        r.expect(b']').unwrap();
        assert_eq!(&r.string().unwrap()[..], b"abc");
        assert_eq!(&r.atom().unwrap()[..], b"X");
        assert_eq!(&r.string().unwrap()[..], b"y");
        r.expect(b')').unwrap();
        assert!(r.at_end());
    }

    #[test]
    fn quote_search_finds_the_first_quote_or_backslash() {
        for len in 0..30 {
            for at in 0..=len {
                for c in [b'"', b'\\'] {
                    let mut h = vec![b'a'; len];
                    if at < len {
                        h[at] = c;
                        if at + 2 < len {
                            h[at + 2] = b'"';
                        }
                        if at > 0 {
                            h[at - 1] = c + 1;
                        }
                    }
                    let want = h.iter().position(|&b| b == b'"' || b == b'\\');
                    assert_eq!(find_quote_or_backslash(&h), want, "len {len} at {at}");
                }
            }
        }
        let s = seg(b"\"a\\\\b\\\"c\" \"plain quoted string, long enough\"");
        let mut r = s.reader();
        assert_eq!(&r.string().unwrap()[..], b"a\\b\"c");
        assert_eq!(
            &r.string().unwrap()[..],
            b"plain quoted string, long enough"
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}{}", "(".repeat(100_000), ")".repeat(100_000));
        let s = Segments::from_line(Bytes::from(deep));
        let err = s.reader().skip_value().unwrap_err();
        assert!(err.reason.contains("nesting deeper"));
        let ok = format!("{}{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        let s = Segments::from_line(Bytes::from(ok));
        assert!(s.reader().skip_value().is_ok());
    }
}
