use super::*;

// ---------------------------------------------------------------------------
// Errors, kept small and rendered only when asked.

/// Error messages, as [`DecodeError`] words them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Msg {
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
    pub(super) fn text(self) -> &'static str {
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
pub(super) enum What {
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
pub(super) struct Fail {
    pub(super) what: What,
    pub(super) at: usize,
    pub(super) line: u32,
}

pub(super) type VResult<T> = Result<T, Fail>;

impl Fail {
    /// The message [`DecodeError`] gives for the failure.
    pub(super) fn render(&self, src: &Source<'_>) -> String {
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

/// Why an item could not be decoded: the reason, rendered
/// when displayed.
#[derive(Clone, Copy)]
pub struct Reason<'a> {
    pub(super) src: Source<'a>,
    pub(super) fail: Fail,
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
