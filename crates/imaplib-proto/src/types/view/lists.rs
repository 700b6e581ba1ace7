use super::*;

// ---------------------------------------------------------------------------
// Lists.

/// The flags of a `FLAGS (...)` item, read as they are iterated.
#[derive(Clone, Copy, Debug)]
pub struct FlagsView<'a> {
    pub(super) src: Source<'a>,
    pub(super) at: At,
}

impl<'a> FlagsView<'a> {
    /// The flags as sent (`\Seen`, `$Junk`...), in order.
    pub fn iter_raw(&self) -> RawFlags<'a> {
        RawFlags {
            elements: Elements::open(self.src, self.at),
        }
    }

    /// The flags as text (invalid UTF-8 replaced, as the owned forms
    /// does), in order.
    pub fn iter(&self) -> impl Iterator<Item = Cow<'a, str>> + 'a {
        // Flags are ASCII in practice: checked as such first, which is
        // cheaper than the lossy conversion's scan.
        self.iter_raw().map(|f| match std::str::from_utf8(f) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(f),
        })
    }

    /// True if `flag` is among the flags (letters compared without regard
    /// to case, as IMAP compares flags).
    pub fn contains(&self, flag: &str) -> bool {
        self.iter_raw()
            .any(|f| f.eq_ignore_ascii_case(flag.as_bytes()))
    }

    /// The flags as owned text, in order.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(Cow::into_owned).collect()
    }
}

/// The flags of a [`FlagsView`], as sent.
#[derive(Clone, Debug)]
pub struct RawFlags<'a> {
    pub(super) elements: Elements<'a>,
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
    pub(super) src: Source<'a>,
    pub(super) at: At,
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
    pub(super) elements: Elements<'a>,
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
pub(super) struct Elements<'a> {
    pub(super) c: Cur<'a>,
    pub(super) done: bool,
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
    pub(super) fn open(src: Source<'a>, at: At) -> Elements<'a> {
        let mut c = Cur::new(src, at);
        c.skip_spaces();
        let done = c.peek() != Some(b'(');
        c.pos += usize::from(!done);
        Elements { c, done }
    }

    pub(super) fn empty(src: Source<'a>) -> Elements<'a> {
        Elements {
            c: Cur::new(src, src.origin()),
            done: true,
        }
    }

    /// The cursor at the next element, or `None` at the closing
    /// parenthesis. The caller reads the element.
    pub(super) fn next_element(&mut self) -> Option<&mut Cur<'a>> {
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
