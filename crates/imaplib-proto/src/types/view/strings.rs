use super::*;

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
    pub(super) raw: &'a [u8],
    pub(super) form: StrForm,
    /// A quoted string with at least one backslash.
    pub(super) escaped: bool,
    /// A raw value that spans a literal.
    pub(super) spans_literal: bool,
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
    /// The empty string (what NIL reads as where the owned forms read
    /// NIL as empty).
    pub const EMPTY: StrView<'static> = StrView {
        raw: b"",
        form: StrForm::Atom,
        escaped: false,
        spans_literal: false,
    };

    pub(super) fn new(raw: &'a [u8], form: StrForm) -> StrView<'a> {
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

    /// The bytes as the owned form keeps them: a slice sharing the
    /// response's buffer when the string holds no escape and the owned
    /// form is being made from a whole response ([`sharing`]), else a copy.
    /// A raw value spanning a literal is kept as received.
    pub(super) fn to_owned_bytes(self) -> Bytes {
        if !self.escaped {
            if let Some(shared) = shared_slice(self.raw) {
                return shared;
            }
        }
        Bytes::from(self.as_bytes().into_owned())
    }
}

/// The bytes of a [`StrView`], backslash escapes removed on the fly.
#[derive(Clone, Debug)]
pub struct Unescaped<'a> {
    pub(super) rest: &'a [u8],
    pub(super) escaped: bool,
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
    pub(super) src: Source<'a>,
    pub(super) from: At,
    pub(super) to: At,
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

    /// The bytes as imaplib and the owned forms join them: CRLF and the
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

/// The empty string, for fields where the owned forms read NIL as empty.
pub(super) const EMPTY: StrView<'static> = StrView::EMPTY;

/// Position of the first `"` or `\\` in `s` at or after `from`: eight
/// bytes at a time (a byte of `w ^ c` is zero exactly where `w` holds `c`;
/// the borrow trick flags the lowest such byte exactly), then one at a
/// time.
#[inline]
pub(super) fn quote_or_backslash(s: &[u8], mut from: usize) -> Option<usize> {
    pub(super) const ONES: u64 = 0x0101_0101_0101_0101;
    pub(super) const HIGHS: u64 = 0x8080_8080_8080_8080;
    pub(super) const QUOTES: u64 = ONES * b'"' as u64;
    pub(super) const BACKSLASHES: u64 = ONES * b'\\' as u64;
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

thread_local! {
    /// The buffer of the response being made owned, if any (see [`sharing`]).
    static SHARED: std::cell::RefCell<Option<Bytes>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with the owned values it makes sharing `whole` (the buffer the
/// views of `f` read) instead of copying their bytes; the previous buffer,
/// if any, is put back afterwards.
pub(super) fn sharing<T>(whole: &Bytes, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Bytes>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            SHARED.with(|s| *s.borrow_mut() = previous);
        }
    }
    let previous = SHARED.with(|s| s.borrow_mut().replace(whole.clone()));
    let _restore = Restore(previous);
    f()
}

/// `part` as a slice of the shared buffer, when there is one and `part`
/// lies in it.
fn shared_slice(part: &[u8]) -> Option<Bytes> {
    if part.is_empty() {
        return Some(Bytes::new());
    }
    SHARED.with(|s| {
        let s = s.borrow();
        let whole = s.as_ref()?;
        let start = whole.as_ptr() as usize;
        let at = part.as_ptr() as usize;
        if at >= start && at + part.len() <= start + whole.len() {
            Some(whole.slice(at - start..at - start + part.len()))
        } else {
            None
        }
    })
}
