//! Typed decoding of every response.
//!
//! imaplib hands back bytes; these decoders turn the same bytes into Rust
//! types. They work both on frames ([`decode_response`]) and on the
//! imaplib-shaped data a command returned ([`decode_data`]), so the typed
//! result of any call is available beside its `(type, data)`.
//!
//! Tolerance: a value that cannot be decoded makes only its own response
//! (or, in FETCH, its own item) undecodable, with the raw bytes and the
//! reason; everything else still decodes. Nesting is bounded by
//! [`MAX_DEPTH`].

mod code;
mod fetch;
mod mailbox;
mod reader;
mod seqset;
#[cfg(feature = "serde")]
mod serialize;
pub mod view;

pub use code::{ResponseCode, RFC5530_CODES};
pub use fetch::{
    Address, BodyStructure, Envelope, Extension, FetchItem, Multipart, Section, SectionText,
    SinglePart,
};
pub use mailbox::{
    Acl, ESearch, ListEntry, ListExtended, ListRights, Mailbox, MailboxStatus, Metadata,
    NamespaceEntry, Namespaces, Pairs, Quota, QuotaResource, QuotaRoot, SearchResult, StatusItem,
    ThreadNode, Vanished,
};
pub use reader::{DecodeError, Reader, Segments, MAX_DEPTH};
pub use seqset::{PartialRange, SeqBound, SeqRange, SeqSetError, SequenceSet};
pub use view::Fetch;

use bytes::Bytes;

use crate::response::{Data, Kind, Response, Status};

/// Typed untagged data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Untagged {
    /// OK / NO / BAD / PREAUTH / BYE, with the typed code and the text.
    Condition {
        /// The status.
        status: Status,
        /// The response code, typed.
        code: Option<ResponseCode>,
        /// The text after the code.
        text: Bytes,
    },
    /// CAPABILITY.
    Capability(Vec<String>),
    /// ENABLED (RFC 5161).
    Enabled(Vec<String>),
    /// FLAGS.
    Flags(Vec<String>),
    /// `n EXISTS`.
    Exists(u32),
    /// `n RECENT`.
    Recent(u32),
    /// `n EXPUNGE`.
    Expunge(u32),
    /// VANISHED (RFC 7162).
    Vanished(Vanished),
    /// `n FETCH (...)`.
    Fetch(Fetch),
    /// LIST.
    List(ListEntry),
    /// LSUB.
    Lsub(ListEntry),
    /// STATUS.
    Status(MailboxStatus),
    /// SEARCH.
    Search(SearchResult),
    /// ESEARCH.
    ESearch(ESearch),
    /// SORT (RFC 5256).
    Sort(SearchResult),
    /// THREAD (RFC 5256).
    Thread(Vec<ThreadNode>),
    /// NAMESPACE.
    Namespace(Namespaces),
    /// ID (RFC 2971): field/value pairs, `None` for NIL.
    Id(Option<Pairs>),
    /// QUOTA.
    Quota(Quota),
    /// QUOTAROOT.
    QuotaRoot(QuotaRoot),
    /// ACL.
    Acl(Acl),
    /// LISTRIGHTS.
    ListRights(ListRights),
    /// MYRIGHTS.
    MyRights {
        /// The mailbox.
        mailbox: Mailbox,
        /// The rights.
        rights: Bytes,
    },
    /// METADATA.
    Metadata(Metadata),
    /// ANNOTATION (draft ANNOTATE): mailbox, entry, attribute pairs.
    Annotation {
        /// The mailbox.
        mailbox: Mailbox,
        /// `(entry, [(attribute, value)])`.
        entries: Vec<(Bytes, Pairs)>,
    },
    /// A response this library does not know, kept raw.
    Other {
        /// Its name.
        name: String,
        /// Its data, raw.
        raw: Bytes,
    },
}

/// Decodes one untagged response's data. `name` is the response name
/// (upper case) and `segments` starts where imaplib's data starts: after
/// the name, or at the number for `* n NAME` responses.
pub fn decode_untagged(name: &str, segments: &Segments) -> Result<Untagged, DecodeError> {
    if name == "FETCH" {
        return Fetch::from_parts(segments.parts()).map(Untagged::Fetch);
    }
    let mut r = segments.reader();
    let number = if matches!(name, "EXISTS" | "RECENT" | "EXPUNGE") {
        Some(r.number32()?)
    } else {
        None
    };
    decode_after_name(name, number, segments, &mut r)
}

/// Decodes what follows the name; `number` is the `* n NAME` number.
fn decode_after_name(
    name: &str,
    number: Option<u32>,
    segments: &Segments,
    r: &mut Reader<'_>,
) -> Result<Untagged, DecodeError> {
    let num = || number.ok_or_else(|| DecodeError::new(format!("{name} without a number")));
    let words = |r: &mut Reader<'_>| -> Vec<String> {
        let rest = r.remaining_text();
        String::from_utf8_lossy(&rest)
            .split_ascii_whitespace()
            .map(str::to_string)
            .collect()
    };
    // Only a short name starting like OK, NO, BAD, PREAUTH or BYE needs the
    // (allocating) status look-up.
    let status = match name.as_bytes().first() {
        Some(b'O' | b'o' | b'N' | b'n' | b'B' | b'b' | b'P' | b'p') if name.len() <= 7 => {
            Status::from_bytes(name.as_bytes())
        }
        _ => None,
    };
    if let Some(status) = status {
        let (code, text) = decode_condition_text(&segments.joined());
        return Ok(Untagged::Condition { status, code, text });
    }
    let value = match name {
        "CAPABILITY" => Untagged::Capability(words(r)),
        "ENABLED" => Untagged::Enabled(words(r)),
        "FLAGS" => Untagged::Flags(fetch::flag_list(r)?),
        "EXISTS" => Untagged::Exists(num()?),
        "RECENT" => Untagged::Recent(num()?),
        "EXPUNGE" => Untagged::Expunge(nz(num()?)?),
        "VANISHED" => Untagged::Vanished(mailbox::vanished(r)?),
        "LIST" => Untagged::List(mailbox::list_entry(r)?),
        "LSUB" => Untagged::Lsub(mailbox::list_entry(r)?),
        "STATUS" => Untagged::Status(mailbox::status(r)?),
        "SEARCH" => Untagged::Search(mailbox::search(r)?),
        "SORT" => Untagged::Sort(mailbox::search(r)?),
        "ESEARCH" => Untagged::ESearch(mailbox::esearch(r)?),
        "THREAD" => Untagged::Thread(mailbox::thread(r)?),
        "NAMESPACE" => Untagged::Namespace(mailbox::namespace(r)?),
        "ID" => Untagged::Id(mailbox::pairs(r)?),
        "QUOTA" => Untagged::Quota(mailbox::quota(r)?),
        "QUOTAROOT" => Untagged::QuotaRoot(mailbox::quota_root(r)?),
        "ACL" => Untagged::Acl(mailbox::acl(r)?),
        "LISTRIGHTS" => Untagged::ListRights(mailbox::list_rights(r)?),
        "MYRIGHTS" => Untagged::MyRights {
            mailbox: Mailbox { raw: r.astring()? },
            rights: r.astring()?,
        },
        "METADATA" => Untagged::Metadata(mailbox::metadata(r)?),
        "ANNOTATION" => {
            let mailbox = Mailbox { raw: r.astring()? };
            let mut entries = Vec::new();
            loop {
                r.skip_spaces();
                if r.peek().is_none() {
                    break;
                }
                let entry = r.astring()?;
                let attrs = mailbox::pairs(r)?.unwrap_or_default();
                entries.push((entry, attrs));
            }
            Untagged::Annotation { mailbox, entries }
        }
        _ => {
            return Ok(Untagged::Other {
                name: name.to_string(),
                raw: segments.joined(),
            })
        }
    };
    Ok(value)
}

/// The typed form of one response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Typed {
    /// A continuation request and its text.
    Continuation(Bytes),
    /// A tagged completion.
    Tagged {
        /// The tag.
        tag: Bytes,
        /// OK, NO or BAD.
        status: Status,
        /// The response code, typed.
        code: Option<ResponseCode>,
        /// The text after the code.
        text: Bytes,
    },
    /// Untagged data, decoded.
    Untagged(Untagged),
    /// Untagged data that did not decode.
    Undecodable {
        /// The response name.
        name: String,
        /// Why.
        error: DecodeError,
    },
    /// A line that is not an IMAP response at all.
    Unparsed {
        /// Why.
        reason: &'static str,
    },
}

/// Decodes a response as it comes from the framer: a FETCH response is
/// checked in place and keeps the frame ([`Fetch::from_frame`]); any other
/// is parsed and decoded as [`decode_response`] does.
pub fn decode_frame(frame: crate::Frame) -> Typed {
    match Fetch::from_frame_or_back(frame) {
        Ok(fetch) => typed_fetch(fetch),
        Err(frame) => decode_response(&Response::parse(frame)),
    }
}

/// A decoded FETCH response, or why it does not decode, as [`Typed`].
fn typed_fetch(fetch: Result<Fetch, DecodeError>) -> Typed {
    match fetch {
        Ok(f) => Typed::Untagged(Untagged::Fetch(f)),
        Err(error) => Typed::Undecodable {
            name: "FETCH".to_string(),
            error,
        },
    }
}

/// Decodes a framed response.
pub fn decode_response(resp: &Response) -> Typed {
    let code = || resp.code().map(ResponseCode::decode);
    match resp.kind() {
        Kind::Continuation => Typed::Continuation(resp.text()),
        Kind::Unparsed { reason } => Typed::Unparsed { reason },
        Kind::Tagged { tag, status } => Typed::Tagged {
            tag: tag.clone(),
            status: *status,
            code: code(),
            text: resp.text_after_code(),
        },
        Kind::Untagged {
            name,
            status,
            number,
        } => {
            if let Some(status) = status {
                return Typed::Untagged(Untagged::Condition {
                    status: *status,
                    code: code(),
                    text: resp.text_after_code(),
                });
            }
            if name == "FETCH" {
                return typed_fetch(
                    Fetch::from_response(resp)
                        .unwrap_or_else(|| Err(DecodeError::new("not a FETCH response"))),
                );
            }
            let number = match number.as_deref().map(parse_u32) {
                None => None,
                Some(Some(n)) => Some(n),
                Some(None) => {
                    return Typed::Undecodable {
                        name: name.clone(),
                        error: DecodeError::new("number larger than 32 bits"),
                    }
                }
            };
            let seg = Segments::from_frame(resp.frame(), resp.data_offset());
            let mut r = seg.reader();
            match decode_after_name(name, number, &seg, &mut r) {
                Ok(v) => Typed::Untagged(v),
                Err(error) => Typed::Undecodable {
                    name: name.clone(),
                    error,
                },
            }
        }
    }
}

/// RFC 3501 `nz-number`: message 0 does not exist.
fn nz(n: u32) -> Result<u32, DecodeError> {
    if n == 0 {
        Err(DecodeError::new("message number 0 does not exist"))
    } else {
        Ok(n)
    }
}

fn parse_u32(digits: &[u8]) -> Option<u32> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Splits imaplib data items into responses: each response is zero or more
/// `(header, literal)` pairs followed by one line. `None` items are skipped.
pub fn split_responses(items: &[Data]) -> Vec<&[Data]> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, item) in items.iter().enumerate() {
        match item {
            Data::Line(_) => {
                out.push(&items[start..=i]);
                start = i + 1;
            }
            Data::None | Data::List(_) => start = i + 1,
            Data::Literal { .. } => {}
        }
    }
    out
}

/// Decodes imaplib data items of untagged responses named `name` (as
/// returned by `fetch`, `list`, `status`...), one result per response.
pub fn decode_data(name: &str, items: &[Data]) -> Vec<Result<Untagged, DecodeError>> {
    split_responses(items)
        .into_iter()
        .map(|resp| {
            let seg = Segments::from_items(resp)
                .ok_or_else(|| DecodeError::new("unexpected data shape"))?;
            decode_untagged(&name.to_ascii_uppercase(), &seg)
        })
        .collect()
}

/// Decodes a condition text (`[CODE args] text`) as imaplib stores it in
/// tagged data, e.g. `[APPENDUID 1 7] Append completed.`.
pub fn decode_condition_text(text: &[u8]) -> (Option<ResponseCode>, Bytes) {
    let mut line = b"* OK ".to_vec();
    line.extend_from_slice(text);
    line.extend_from_slice(b"\r\n");
    match crate::Frame::parse_one(&line) {
        Ok(frame) => {
            let resp = Response::parse(frame);
            (
                resp.code().map(ResponseCode::decode),
                resp.text_after_code(),
            )
        }
        Err(_) => (None, Bytes::copy_from_slice(text)),
    }
}
