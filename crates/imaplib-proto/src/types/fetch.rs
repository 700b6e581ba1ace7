//! FETCH data (RFC 3501 §7.4.2, RFC 9051 §7.5.2 and extensions): flags,
//! UID, dates, sizes, ENVELOPE, BODY/BODYSTRUCTURE, body sections, BINARY,
//! MODSEQ (RFC 7162), EMAILID/THREADID (RFC 8474), SAVEDATE (RFC 8514),
//! PREVIEW (RFC 8970), and Gmail's X-GM-* items.
//!
//! The owned forms of FETCH items, which [`Fetch::to_items`] gives: what
//! to match on, or to keep apart from the response. A FETCH response is
//! checked once, by [`FetchView`](super::view::FetchView): the rules of
//! its syntax live there, and these values are built from what it reads.
//!
//! An item that cannot be decoded is [`FetchItem::Undecodable`] with its
//! raw bytes and the reason, and the items after it still decode. An item
//! this library does not know is kept as [`FetchItem::Other`] under its
//! name.

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};

use super::reader::{DResult, Reader};
#[cfg(doc)]
use super::view::Fetch;

/// One FETCH item.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchItem {
    /// `FLAGS (...)`.
    Flags(Vec<String>),
    /// `UID n`.
    Uid(u32),
    /// `INTERNALDATE "..."`.
    InternalDate(DateTime<FixedOffset>),
    /// `RFC822.SIZE n`.
    Rfc822Size(u64),
    /// `ENVELOPE (...)`.
    Envelope(Box<Envelope>),
    /// `BODYSTRUCTURE (...)`, with extension data.
    BodyStructure(Box<BodyStructure>),
    /// `BODY (...)`: the structure without extension data.
    Body(Box<BodyStructure>),
    /// `BODY[section]<origin>`: data (NIL when the server has none).
    BodySection {
        /// The section.
        section: Section,
        /// The offset, for partial fetches.
        origin: Option<u64>,
        /// The data.
        data: Option<Bytes>,
    },
    /// `BINARY[part]<origin>` (RFC 3516).
    BinarySection {
        /// Part numbers.
        section: Vec<u32>,
        /// The offset, for partial fetches.
        origin: Option<u64>,
        /// The decoded content.
        data: Option<Bytes>,
    },
    /// `BINARY.SIZE[part] n` (RFC 3516).
    BinarySize {
        /// Part numbers.
        section: Vec<u32>,
        /// The decoded size.
        size: u64,
    },
    /// `RFC822` data.
    Rfc822(Option<Bytes>),
    /// `RFC822.HEADER` data.
    Rfc822Header(Option<Bytes>),
    /// `RFC822.TEXT` data.
    Rfc822Text(Option<Bytes>),
    /// `MODSEQ (n)` (RFC 7162).
    ModSeq(u64),
    /// `EMAILID (id)` (RFC 8474).
    EmailId(Bytes),
    /// `THREADID (id)` or `THREADID NIL` (RFC 8474).
    ThreadId(Option<Bytes>),
    /// `SAVEDATE "..."` or NIL (RFC 8514).
    SaveDate(Option<DateTime<FixedOffset>>),
    /// `PREVIEW "..."` or NIL (RFC 8970).
    Preview(Option<Bytes>),
    /// `X-GM-MSGID n` (Gmail).
    GmailMessageId(u64),
    /// `X-GM-THRID n` (Gmail).
    GmailThreadId(u64),
    /// `X-GM-LABELS (...)` (Gmail).
    GmailLabels(Vec<Bytes>),
    /// An item this library does not know, kept whole.
    Other {
        /// The item name, upper case.
        name: String,
        /// Its value, raw.
        raw: Bytes,
    },
    /// An item that could not be decoded.
    Undecodable {
        /// The item name, upper case.
        name: String,
        /// Its bytes as received (as far as they could be delimited).
        raw: Bytes,
        /// Why it could not be decoded.
        reason: String,
    },
}

/// The part of a message a `BODY[...]` item names (RFC 3501 §6.4.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    /// Part numbers (`1.2.3`); empty for the whole message.
    pub part: Vec<u32>,
    /// What of that part.
    pub text: Option<SectionText>,
}

/// The text specifier of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (...)`
    HeaderFields(Vec<Bytes>),
    /// `HEADER.FIELDS.NOT (...)`
    HeaderFieldsNot(Vec<Bytes>),
    /// `TEXT`
    Text,
    /// `MIME`
    Mime,
    /// Something else, kept raw.
    Other(Bytes),
}

/// An ENVELOPE (RFC 3501 §7.4.2): the message's main header fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// Date header, raw.
    pub date: Option<Bytes>,
    /// Subject header, raw (may be RFC 2047 encoded).
    pub subject: Option<Bytes>,
    /// From addresses.
    pub from: Vec<Address>,
    /// Sender addresses.
    pub sender: Vec<Address>,
    /// Reply-To addresses.
    pub reply_to: Vec<Address>,
    /// To addresses.
    pub to: Vec<Address>,
    /// Cc addresses.
    pub cc: Vec<Address>,
    /// Bcc addresses.
    pub bcc: Vec<Address>,
    /// In-Reply-To header, raw.
    pub in_reply_to: Option<Bytes>,
    /// Message-ID header, raw.
    pub message_id: Option<Bytes>,
}

/// An address of an ENVELOPE. RFC 822 groups appear as a start marker
/// (mailbox = group name, host NIL), the members, and an end marker (mailbox
/// and host NIL): see [`Address::is_group_start`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// Display name.
    pub name: Option<Bytes>,
    /// Source route (obsolete).
    pub adl: Option<Bytes>,
    /// Local part (or group name for a group start marker).
    pub mailbox: Option<Bytes>,
    /// Domain.
    pub host: Option<Bytes>,
}

impl Address {
    /// True for the marker that starts a group.
    pub fn is_group_start(&self) -> bool {
        self.host.is_none() && self.mailbox.is_some()
    }

    /// True for the marker that ends a group.
    pub fn is_group_end(&self) -> bool {
        self.host.is_none() && self.mailbox.is_none()
    }

    /// `mailbox@host`, when both are present.
    pub fn email(&self) -> Option<String> {
        match (&self.mailbox, &self.host) {
            (Some(m), Some(h)) => Some(format!(
                "{}@{}",
                String::from_utf8_lossy(m),
                String::from_utf8_lossy(h)
            )),
            _ => None,
        }
    }
}

/// A body structure (RFC 3501 §7.4.2 BODYSTRUCTURE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyStructure {
    /// A non-multipart part.
    Single(Box<SinglePart>),
    /// A multipart.
    Multipart(Box<Multipart>),
}

/// A non-multipart body part.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SinglePart {
    /// Media type, e.g. `TEXT`.
    pub media_type: Bytes,
    /// Media subtype, e.g. `PLAIN`.
    pub media_subtype: Bytes,
    /// Content-Type parameters.
    pub params: Vec<(Bytes, Bytes)>,
    /// Content-ID.
    pub id: Option<Bytes>,
    /// Content-Description.
    pub description: Option<Bytes>,
    /// Content-Transfer-Encoding.
    pub encoding: Option<Bytes>,
    /// Size in bytes (as encoded).
    pub size: u64,
    /// Lines, for TEXT and MESSAGE/RFC822 parts.
    pub lines: Option<u64>,
    /// For MESSAGE/RFC822 (and MESSAGE/GLOBAL): the enclosed message.
    pub message: Option<(Box<Envelope>, Box<BodyStructure>)>,
    /// Extension data (BODYSTRUCTURE only).
    pub ext: Extension,
    /// Content-MD5 (extension data).
    pub md5: Option<Bytes>,
}

/// A multipart body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Multipart {
    /// The parts.
    pub parts: Vec<BodyStructure>,
    /// Subtype, e.g. `MIXED`.
    pub media_subtype: Bytes,
    /// Content-Type parameters (extension data).
    pub params: Vec<(Bytes, Bytes)>,
    /// Extension data.
    pub ext: Extension,
}

/// Extension data shared by single and multipart bodies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extension {
    /// Content-Disposition: value and parameters.
    pub disposition: Option<(Bytes, Vec<(Bytes, Bytes)>)>,
    /// Content-Language values.
    pub language: Vec<Bytes>,
    /// Content-Location.
    pub location: Option<Bytes>,
    /// Further extension values, raw.
    pub extra: Vec<Bytes>,
}

impl BodyStructure {
    /// `type/subtype` in lower case, `multipart/...` for multiparts.
    pub fn mime_type(&self) -> String {
        match self {
            BodyStructure::Single(p) => format!(
                "{}/{}",
                String::from_utf8_lossy(&p.media_type).to_ascii_lowercase(),
                String::from_utf8_lossy(&p.media_subtype).to_ascii_lowercase()
            ),
            BodyStructure::Multipart(m) => format!(
                "multipart/{}",
                String::from_utf8_lossy(&m.media_subtype).to_ascii_lowercase()
            ),
        }
    }

    /// Every part with its part number (`[1, 2]` is part 1.2), depth first.
    pub fn walk(&self) -> Vec<(Vec<u32>, &BodyStructure)> {
        fn go<'a>(
            b: &'a BodyStructure,
            path: Vec<u32>,
            out: &mut Vec<(Vec<u32>, &'a BodyStructure)>,
        ) {
            out.push((path.clone(), b));
            match b {
                BodyStructure::Multipart(m) => {
                    for (i, p) in m.parts.iter().enumerate() {
                        let mut sub = path.clone();
                        sub.push(i as u32 + 1);
                        go(p, sub, out);
                    }
                }
                BodyStructure::Single(s) => {
                    if let Some((_, inner)) = &s.message {
                        go(inner, path, out);
                    }
                }
            }
        }
        let mut out = Vec::new();
        go(self, Vec::new(), &mut out);
        out
    }
}

/// Reads a parenthesised flag list. Flags are atoms that may contain `[`
/// and `]` (seen in the wild); `\*` is kept as written.
pub(crate) fn flag_list(r: &mut Reader<'_>) -> DResult<Vec<String>> {
    let mut flags = Vec::new();
    r.list(|r| {
        let f = r.atom_slice()?;
        flags.push(String::from_utf8_lossy(f).into_owned());
        Ok(())
    })?;
    Ok(flags)
}
