//! Server responses: the [`framer`] that cuts the byte stream into
//! [`Frame`]s, and the parser that turns a frame into a [`Response`]
//! (RFC 3501 §7, RFC 9051 §7): a continuation request, a tagged completion or
//! an untagged response, with its status and response code.

pub mod framer;
mod parser;

pub use framer::{Frame, Framer, Limits, LiteralKind, Piece};

use bytes::Bytes;
use std::fmt;

use crate::Printable;

/// The status of a tagged or untagged status response (RFC 3501 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `OK`
    Ok,
    /// `NO`
    No,
    /// `BAD`
    Bad,
    /// `PREAUTH` (greeting only)
    PreAuth,
    /// `BYE`
    Bye,
}

impl Status {
    /// The status as the server spells it, upper case (`"OK"`, `"NO"`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::PreAuth => "PREAUTH",
            Status::Bye => "BYE",
        }
    }

    /// Recognises a status word, case-insensitively.
    pub fn from_bytes(word: &[u8]) -> Option<Status> {
        Some(match word.to_ascii_uppercase().as_slice() {
            b"OK" => Status::Ok,
            b"NO" => Status::No,
            b"BAD" => Status::Bad,
            b"PREAUTH" => Status::PreAuth,
            b"BYE" => Status::Bye,
            _ => return None,
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A response code: the bracketed `[NAME args]` at the start of a status
/// response's text (RFC 3501 §7.1). The name is upper-cased; the arguments
/// are kept raw, exactly as sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Code {
    /// The code's name, upper case (`UIDVALIDITY`, `CAPABILITY`, `X-FOO`...).
    pub name: String,
    /// Everything after the name and one space, up to the closing bracket;
    /// empty when the code has no arguments.
    pub args: Bytes,
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} {:?}]", self.name, Printable(&self.args))
    }
}

/// One item of imaplib's `data` list: a line of bytes, a `(header,
/// literal)` pair, `None`, or (for `getquotaroot`) a nested list.
#[derive(Clone, PartialEq, Eq)]
pub enum Data {
    /// Python's `None`: no response of the requested kind arrived.
    None,
    /// A line (without its CRLF).
    Line(Bytes),
    /// A line that announced a literal, with the literal's data.
    Literal {
        /// The line up to and including the `{N}` announcement.
        header: Bytes,
        /// The literal's bytes.
        literal: Bytes,
    },
    /// A nested list (imaplib's `getquotaroot` returns two lists).
    List(Vec<Data>),
}

impl Data {
    /// The line's bytes, or the header of a literal pair.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Data::Line(b) => Some(b),
            Data::Literal { header, .. } => Some(header),
            _ => None,
        }
    }

    /// The literal's bytes, for a `(header, literal)` pair.
    pub fn literal(&self) -> Option<&Bytes> {
        match self {
            Data::Literal { literal, .. } => Some(literal),
            _ => None,
        }
    }

    /// True for [`Data::None`].
    pub fn is_none(&self) -> bool {
        matches!(self, Data::None)
    }

    /// Bytes held (for memory accounting).
    pub fn weight(&self) -> usize {
        match self {
            Data::None => 0,
            Data::Line(b) => b.len(),
            Data::Literal { header, literal } => header.len() + literal.len(),
            Data::List(items) => items.iter().map(Data::weight).sum(),
        }
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Data::None => f.write_str("None"),
            Data::Line(b) => write!(f, "{:?}", Printable(b)),
            Data::Literal { header, literal } => {
                write!(f, "({:?}, {:?})", Printable(header), Printable(literal))
            }
            Data::List(items) => f.debug_list().entries(items).finish(),
        }
    }
}

impl From<&str> for Data {
    fn from(s: &str) -> Data {
        Data::Line(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<&[u8]> for Data {
    fn from(s: &[u8]) -> Data {
        Data::Line(Bytes::copy_from_slice(s))
    }
}

impl<const N: usize> From<&[u8; N]> for Data {
    fn from(s: &[u8; N]) -> Data {
        Data::Line(Bytes::copy_from_slice(s))
    }
}

impl<const N: usize, const M: usize> From<(&[u8; N], &[u8; M])> for Data {
    fn from((h, l): (&[u8; N], &[u8; M])) -> Data {
        Data::Literal {
            header: Bytes::copy_from_slice(h),
            literal: Bytes::copy_from_slice(l),
        }
    }
}

/// What kind of response a [`Response`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `+ text`: a continuation request.
    Continuation,
    /// `TAG STATUS text`: the completion of the command with that tag.
    Tagged {
        /// The tag.
        tag: Bytes,
        /// The completion status (OK, NO or BAD).
        status: Status,
    },
    /// A line that is neither a continuation, an untagged response nor a
    /// tagged status response (a server defect, such as a literal whose
    /// announced size was wrong). Kept whole; [`Response::diagnostic`] says
    /// what is wrong.
    Unparsed {
        /// Why the line could not be parsed.
        reason: &'static str,
    },
    /// `* ...`: untagged data or status.
    Untagged {
        /// The response's name, upper case: `OK`, `CAPABILITY`, `FETCH`,
        /// `EXISTS`, `LIST`...
        name: String,
        /// The number before the name (`* 3 EXISTS`), when there is one.
        number: Option<Bytes>,
        /// The status, for OK / NO / BAD / PREAUTH / BYE.
        status: Option<Status>,
    },
}

/// One parsed server response, owning its frame.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    frame: Frame,
    kind: Kind,
    /// Offset in the first line where the text (after the status, the name
    /// or the `+`) begins.
    text_start: usize,
    code: Option<Code>,
    /// Offset in the first line where the text after the response code
    /// begins (equal to `text_start` when there is no code).
    after_code: usize,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("kind", &self.kind)
            .field("code", &self.code)
            .field("frame", &self.frame)
            .finish()
    }
}

impl Response {
    /// Parses a frame. Never fails: a first line that is neither a
    /// continuation, an untagged response nor a tagged status response gives
    /// a [`Kind::Unparsed`] response.
    pub fn parse(frame: Frame) -> Response {
        parser::parse(frame)
    }

    /// Why the response could not be parsed, for [`Kind::Unparsed`].
    pub fn diagnostic(&self) -> Option<&'static str> {
        match self.kind {
            Kind::Unparsed { reason } => Some(reason),
            _ => None,
        }
    }

    /// The kind, with tag / name / status.
    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// The underlying frame.
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// The status for tagged and untagged status responses.
    pub fn status(&self) -> Option<Status> {
        match &self.kind {
            Kind::Tagged { status, .. } => Some(*status),
            Kind::Untagged { status, .. } => *status,
            Kind::Continuation | Kind::Unparsed { .. } => None,
        }
    }

    /// The tag of a tagged response.
    pub fn tag(&self) -> Option<&Bytes> {
        match &self.kind {
            Kind::Tagged { tag, .. } => Some(tag),
            _ => None,
        }
    }

    /// The name of an untagged response.
    pub fn name(&self) -> Option<&str> {
        match &self.kind {
            Kind::Untagged { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The response code, if the text starts with one.
    pub fn code(&self) -> Option<&Code> {
        self.code.as_ref()
    }

    /// The text of the first line after the tag and status, the untagged
    /// name, or the `+` (response code included), as imaplib's `data`.
    pub fn text(&self) -> Bytes {
        let line = self.frame.line(0);
        line.slice(self.text_start.min(line.len())..)
    }

    /// Offset in the first line where the data after the name (untagged),
    /// the status (tagged) or the `+` begins.
    pub fn data_offset(&self) -> usize {
        self.text_start
    }

    /// The human-readable text after the response code.
    pub fn text_after_code(&self) -> Bytes {
        let line = self.frame.line(0);
        line.slice(self.after_code.min(line.len())..)
    }

    /// The kind, taken out of the response.
    pub(crate) fn into_kind(self) -> Kind {
        self.kind
    }

    /// The response as imaplib stores it: for an untagged response, the
    /// data items appended to `untagged_responses[name]` (the first line's
    /// data, prefixed by the number for `* N NAME` responses; one
    /// `(header, literal)` pair per literal; then the rest of the line); for a
    /// tagged response the same with the text after the status.
    pub fn imaplib_items(&self) -> Vec<Data> {
        let mut items = Vec::with_capacity(self.frame.literal_count() + 1);
        items.extend(self.imaplib_item_iter());
        items
    }

    /// [`Response::imaplib_items`] one by one, without collecting them.
    pub(crate) fn imaplib_item_iter(&self) -> impl Iterator<Item = Data> + '_ {
        let first = match &self.kind {
            Kind::Untagged {
                number: Some(n), ..
            } => {
                let rest = self.text();
                if rest.is_empty() {
                    n.clone()
                } else {
                    let mut joined = Vec::with_capacity(n.len() + 1 + rest.len());
                    joined.extend_from_slice(n);
                    joined.push(b' ');
                    joined.extend_from_slice(&rest);
                    Bytes::from(joined)
                }
            }
            _ => self.text(),
        };
        let literals = self.frame.literal_count();
        let mut header = Some(first);
        let mut i = 0;
        std::iter::from_fn(move || {
            let h = header.take()?;
            if i < literals {
                let item = Data::Literal {
                    header: h,
                    literal: self.frame.literal(i),
                };
                header = Some(self.frame.line(i + 1));
                i += 1;
                Some(item)
            } else {
                Some(Data::Line(h))
            }
        })
    }
}
