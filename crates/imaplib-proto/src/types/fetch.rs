//! FETCH data (RFC 3501 §7.4.2, RFC 9051 §7.5.2 and extensions): flags,
//! UID, dates, sizes, ENVELOPE, BODY/BODYSTRUCTURE, body sections, BINARY,
//! MODSEQ (RFC 7162), EMAILID/THREADID (RFC 8474), SAVEDATE (RFC 8514),
//! PREVIEW (RFC 8970), and Gmail's X-GM-* items.
//!
//! Each item decodes on its own: an item that cannot be decoded becomes
//! [`FetchItem::Undecodable`] with its raw bytes and the reason, and the
//! items after it still decode. An item this library does not know is kept
//! as [`FetchItem::Other`] under its name.

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};

use super::reader::{DResult, DecodeError, Reader};

/// One FETCH response: the message's sequence number and its items, in the
/// order the server sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    /// Message sequence number.
    pub seq: u32,
    /// The items.
    pub items: Vec<FetchItem>,
}

impl Fetch {
    /// The UID, if the response carries one.
    pub fn uid(&self) -> Option<u32> {
        self.items.iter().find_map(|i| match i {
            FetchItem::Uid(u) => Some(*u),
            _ => None,
        })
    }

    /// The flags, if the response carries them.
    pub fn flags(&self) -> Option<&[String]> {
        self.items.iter().find_map(|i| match i {
            FetchItem::Flags(f) => Some(f.as_slice()),
            _ => None,
        })
    }

    /// The ENVELOPE, if present and decoded.
    pub fn envelope(&self) -> Option<&Envelope> {
        self.items.iter().find_map(|i| match i {
            FetchItem::Envelope(e) => Some(e.as_ref()),
            _ => None,
        })
    }

    /// The BODYSTRUCTURE (or BODY) structure, if present and decoded.
    pub fn body_structure(&self) -> Option<&BodyStructure> {
        self.items.iter().find_map(|i| match i {
            FetchItem::BodyStructure(b) | FetchItem::Body(b) => Some(b.as_ref()),
            _ => None,
        })
    }

    /// The data of the first body section item (`BODY[...]`, `BINARY[...]`,
    /// `RFC822`...), if any.
    pub fn body(&self) -> Option<&Bytes> {
        self.items.iter().find_map(|i| match i {
            FetchItem::BodySection { data, .. } | FetchItem::BinarySection { data, .. } => {
                data.as_ref()
            }
            FetchItem::Rfc822(d) | FetchItem::Rfc822Header(d) | FetchItem::Rfc822Text(d) => {
                d.as_ref()
            }
            _ => None,
        })
    }

    /// The INTERNALDATE, if present.
    pub fn internal_date(&self) -> Option<DateTime<FixedOffset>> {
        self.items.iter().find_map(|i| match i {
            FetchItem::InternalDate(d) => Some(*d),
            _ => None,
        })
    }

    /// True if some item could not be decoded.
    pub fn has_undecodable(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, FetchItem::Undecodable { .. }))
    }
}

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

/// Decodes the data of a FETCH response after its sequence number:
/// `(item value ...)`.
pub fn decode_fetch(seq: u32, r: &mut Reader<'_>) -> DResult<Fetch> {
    let mut items = Vec::new();
    r.skip_spaces();
    if r.peek() != Some(b'(') {
        return Err(r.error("expected '(' after the sequence number"));
    }
    r.enter()?;
    r.expect(b'(')?;
    loop {
        r.skip_spaces();
        match r.peek() {
            Some(b')') => {
                r.expect(b')')?;
                r.leave();
                break;
            }
            None if r.at_end() => {
                // Tolerate a missing final parenthesis.
                r.leave();
                break;
            }
            None => return Err(r.error("unexpected end of line in FETCH")),
            _ => {}
        }
        let mark = r.mark();
        let snapshot = r.clone();
        match decode_item(r) {
            Ok(item) => items.push(item),
            Err(e) => {
                // Recover: skip the item's name and one value, keep the raw bytes.
                *r = snapshot;
                let name = r
                    .item_name()
                    .map(|n| String::from_utf8_lossy(&n).to_ascii_uppercase())
                    .unwrap_or_default();
                let delimited = skip_item_tail(r);
                if !delimited || r.mark() == mark {
                    // The item cannot even be delimited: the rest of the
                    // response is kept raw under it.
                    r.skip_to_end();
                }
                items.push(FetchItem::Undecodable {
                    name,
                    raw: r.since(mark),
                    reason: e.reason,
                });
            }
        }
    }
    Ok(Fetch { seq, items })
}

/// After an item name: skips an optional `[...]`, `<...>` and one value.
/// Returns false if the value could not be delimited.
fn skip_item_tail(r: &mut Reader<'_>) -> bool {
    if r.peek() == Some(b'[') && r.skip_value().is_err() {
        return false;
    }
    if r.peek() == Some(b'<') && r.until(b'>').and_then(|_| r.expect(b'>')).is_err() {
        return false;
    }
    r.skip_spaces();
    if !matches!(r.peek(), Some(b')') | None) {
        return r.skip_value().is_ok();
    }
    true
}

/// Longest item name matched without allocating (`RFC822.HEADER`,
/// `BODYSTRUCTURE`... are 13 bytes).
const MAX_KNOWN_NAME: usize = 16;

fn decode_item(r: &mut Reader<'_>) -> DResult<FetchItem> {
    let name_raw = r.item_name_slice()?;
    // Upper-cased on the stack: known names cost no allocation.
    let mut upper = [0u8; MAX_KNOWN_NAME];
    let key: &[u8] = match upper.get_mut(..name_raw.len()) {
        Some(buf) => {
            buf.copy_from_slice(name_raw);
            buf.make_ascii_uppercase();
            buf
        }
        None => b"",
    };
    Ok(match key {
        b"FLAGS" => FetchItem::Flags(flag_list(r)?),
        b"UID" => FetchItem::Uid(r.number32()?),
        b"INTERNALDATE" => {
            let invalid = |s: &[u8]| {
                DecodeError::new(format!("invalid INTERNALDATE {:?}", crate::Printable(s)))
            };
            // Borrowed when it can be: the date needs no copy of its own.
            let date = match r.simple_string_slice() {
                Some(s) => crate::date::parse_internaldate(s).ok_or_else(|| invalid(s)),
                None => {
                    let s = r.string()?;
                    crate::date::parse_internaldate(&s).ok_or_else(|| invalid(&s))
                }
            };
            FetchItem::InternalDate(date?)
        }
        b"RFC822.SIZE" => FetchItem::Rfc822Size(r.number()?),
        b"ENVELOPE" => FetchItem::Envelope(Box::new(envelope(r)?)),
        b"BODYSTRUCTURE" => FetchItem::BodyStructure(Box::new(body(r, true)?)),
        b"BODY" if r.peek() != Some(b'[') => FetchItem::Body(Box::new(body(r, false)?)),
        b"BODY" => {
            let section = section(r)?;
            let origin = origin(r)?;
            FetchItem::BodySection {
                section,
                origin,
                data: r.nstring()?,
            }
        }
        b"BINARY" => {
            let section = binary_section(r)?;
            let origin = origin(r)?;
            FetchItem::BinarySection {
                section,
                origin,
                data: r.nstring()?,
            }
        }
        b"BINARY.SIZE" => FetchItem::BinarySize {
            section: binary_section(r)?,
            size: r.number()?,
        },
        b"RFC822" => FetchItem::Rfc822(r.nstring()?),
        b"RFC822.HEADER" => FetchItem::Rfc822Header(r.nstring()?),
        b"RFC822.TEXT" => FetchItem::Rfc822Text(r.nstring()?),
        b"MODSEQ" => {
            r.expect(b'(')?;
            let v = r.number()?;
            r.expect(b')')?;
            FetchItem::ModSeq(v)
        }
        b"EMAILID" => {
            r.expect(b'(')?;
            let v = r.atom()?;
            r.expect(b')')?;
            FetchItem::EmailId(v)
        }
        b"THREADID" => {
            if r.keyword("NIL") {
                FetchItem::ThreadId(None)
            } else {
                r.expect(b'(')?;
                let v = r.atom()?;
                r.expect(b')')?;
                FetchItem::ThreadId(Some(v))
            }
        }
        b"SAVEDATE" => match r.nstring()? {
            None => FetchItem::SaveDate(None),
            Some(s) => FetchItem::SaveDate(Some(
                crate::date::parse_internaldate(&s)
                    .ok_or_else(|| DecodeError::new("invalid SAVEDATE"))?,
            )),
        },
        b"PREVIEW" => FetchItem::Preview(r.nstring()?),
        b"X-GM-MSGID" => FetchItem::GmailMessageId(r.number()?),
        b"X-GM-THRID" => FetchItem::GmailThreadId(r.number()?),
        b"X-GM-LABELS" => {
            let mut labels = Vec::new();
            r.list(|r| {
                labels.push(r.string()?);
                Ok(())
            })?;
            FetchItem::GmailLabels(labels)
        }
        _ => {
            let name = String::from_utf8_lossy(name_raw).to_ascii_uppercase();
            r.skip_spaces();
            let mark = r.mark();
            if !skip_item_tail(r) {
                return Err(r.error("cannot delimit the value"));
            }
            FetchItem::Other {
                name,
                raw: r.since(mark),
            }
        }
    })
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

fn origin(r: &mut Reader<'_>) -> DResult<Option<u64>> {
    if r.peek() == Some(b'<') {
        r.expect(b'<')?;
        let v = r.number()?;
        r.expect(b'>')?;
        Ok(Some(v))
    } else {
        Ok(None)
    }
}

fn part_numbers(spec: &[u8]) -> (Vec<u32>, &[u8]) {
    let mut part = Vec::new();
    let mut rest = spec;
    loop {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            break;
        }
        let n: u32 = rest[..digits]
            .iter()
            .fold(0, |a, &d| a * 10 + u32::from(d - b'0'));
        part.push(n);
        rest = &rest[digits..];
        match rest.first() {
            Some(b'.') => rest = &rest[1..],
            _ => break,
        }
    }
    (part, rest)
}

fn section(r: &mut Reader<'_>) -> DResult<Section> {
    r.expect(b'[')?;
    r.skip_spaces();
    let word = if r.peek() == Some(b']') {
        Bytes::new()
    } else {
        r.item_name()?
    };
    let (part, rest) = part_numbers(&word);
    let rest_upper = rest.to_ascii_uppercase();
    let text = match rest_upper.as_slice() {
        b"" => None,
        b"HEADER" => Some(SectionText::Header),
        b"TEXT" => Some(SectionText::Text),
        b"MIME" => Some(SectionText::Mime),
        b"HEADER.FIELDS" | b"HEADER.FIELDS.NOT" => {
            let mut fields = Vec::new();
            r.list(|r| {
                fields.push(r.string()?);
                Ok(())
            })?;
            if rest_upper.ends_with(b".NOT") {
                Some(SectionText::HeaderFieldsNot(fields))
            } else {
                Some(SectionText::HeaderFields(fields))
            }
        }
        _ => Some(SectionText::Other(Bytes::copy_from_slice(rest))),
    };
    r.expect(b']')?;
    Ok(Section { part, text })
}

fn binary_section(r: &mut Reader<'_>) -> DResult<Vec<u32>> {
    r.expect(b'[')?;
    r.skip_spaces();
    if r.eat(b']') {
        return Ok(Vec::new());
    }
    let word = r.item_name()?;
    let (part, rest) = part_numbers(&word);
    if !rest.is_empty() {
        return Err(r.error("invalid BINARY section"));
    }
    r.expect(b']')?;
    Ok(part)
}

/// Decodes an ENVELOPE (the list after the keyword).
pub fn envelope(r: &mut Reader<'_>) -> DResult<Envelope> {
    r.skip_spaces();
    r.expect(b'(')?;
    r.enter()?;
    let mut env = Envelope {
        date: r.nstring()?,
        subject: r.nstring()?,
        from: addresses(r)?,
        sender: addresses(r)?,
        reply_to: addresses(r)?,
        to: addresses(r)?,
        cc: addresses(r)?,
        bcc: addresses(r)?,
        ..Envelope::default()
    };
    // Some servers end the envelope early: accept missing trailing fields.
    if !r.eat(b')') {
        env.in_reply_to = r.nstring()?;
        if !r.eat(b')') {
            env.message_id = r.nstring()?;
            // Anything extra is skipped.
            while !r.eat(b')') {
                if r.at_end() {
                    return Err(r.error("unterminated ENVELOPE"));
                }
                r.skip_value()?;
            }
        }
    }
    r.leave();
    Ok(env)
}

fn addresses(r: &mut Reader<'_>) -> DResult<Vec<Address>> {
    let mut out = Vec::new();
    r.skip_spaces();
    if r.peek() == Some(b'"') {
        // A quoted string where an address list belongs (seen from broken
        // servers): treat as no address.
        r.string()?;
        return Ok(out);
    }
    r.list(|r| {
        r.skip_spaces();
        if r.peek() != Some(b'(') {
            // Stray NIL inside the list.
            r.skip_value()?;
            return Ok(());
        }
        r.expect(b'(')?;
        let a = Address {
            name: r.nstring()?,
            adl: r.nstring()?,
            mailbox: r.nstring()?,
            host: r.nstring()?,
        };
        r.expect(b')')?;
        out.push(a);
        Ok(())
    })?;
    Ok(out)
}

fn params(r: &mut Reader<'_>) -> DResult<Vec<(Bytes, Bytes)>> {
    let mut out = Vec::new();
    r.skip_spaces();
    if r.peek() != Some(b'(') {
        // NIL, or a bare string where a list belongs.
        r.nstring()?;
        return Ok(out);
    }
    let mut pending: Option<Bytes> = None;
    r.list(|r| {
        let v = r.nstring()?.unwrap_or_default();
        match pending.take() {
            None => pending = Some(v),
            Some(k) => out.push((k, v)),
        }
        Ok(())
    })?;
    if let Some(k) = pending {
        // Odd number of values: keep the key with an empty value.
        out.push((k, Bytes::new()));
    }
    Ok(out)
}

fn nstring_or_list_as_string(r: &mut Reader<'_>) -> DResult<Option<Bytes>> {
    r.skip_spaces();
    if r.peek() == Some(b'(') {
        // A list where a string belongs: keep it raw.
        return r.skip_value().map(Some);
    }
    r.nstring()
}

fn number_tolerant(r: &mut Reader<'_>) -> DResult<u64> {
    r.skip_spaces();
    match r.peek() {
        Some(b'"') => {
            let s = r.string()?;
            std::str::from_utf8(&s)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .ok_or_else(|| r.error("expected a number"))
        }
        Some(c) if c.is_ascii_digit() => r.number(),
        _ => {
            // NIL or garbage where a number belongs: 0.
            if r.keyword("NIL") {
                Ok(0)
            } else {
                r.number()
            }
        }
    }
}

/// Decodes a BODY or BODYSTRUCTURE value.
pub fn body(r: &mut Reader<'_>, extensible: bool) -> DResult<BodyStructure> {
    r.skip_spaces();
    r.expect(b'(')?;
    r.enter()?;
    r.skip_spaces();
    let result = if r.peek() == Some(b'(') {
        multipart(r, extensible)
    } else {
        single(r, extensible)
    };
    r.leave();
    result
}

fn multipart(r: &mut Reader<'_>, extensible: bool) -> DResult<BodyStructure> {
    let mut m = Multipart::default();
    loop {
        r.skip_spaces();
        if r.peek() == Some(b'(') {
            m.parts.push(body(r, extensible)?);
        } else {
            break;
        }
    }
    m.media_subtype = r.nstring()?.unwrap_or_default();
    if !r.eat(b')') {
        m.params = params(r)?;
        if !r.eat(b')') {
            m.ext = extension(r)?;
        }
    }
    Ok(BodyStructure::Multipart(Box::new(m)))
}

fn single(r: &mut Reader<'_>, extensible: bool) -> DResult<BodyStructure> {
    let _ = extensible;
    let mut p = SinglePart {
        media_type: r.nstring()?.unwrap_or_default(),
        media_subtype: r.nstring()?.unwrap_or_default(),
        ..SinglePart::default()
    };
    p.params = params(r)?;
    p.id = nstring_or_list_as_string(r)?;
    p.description = nstring_or_list_as_string(r)?;
    p.encoding = nstring_or_list_as_string(r)?;
    p.size = number_tolerant(r)?;
    let ty = &p.media_type;
    let sub = &p.media_subtype;
    if ty.eq_ignore_ascii_case(b"MESSAGE")
        && (sub.eq_ignore_ascii_case(b"RFC822") || sub.eq_ignore_ascii_case(b"GLOBAL"))
    {
        r.skip_spaces();
        if r.peek() == Some(b'(') {
            let env = envelope(r)?;
            let inner = body(r, extensible)?;
            p.lines = Some(number_tolerant(r)?);
            p.message = Some((Box::new(env), Box::new(inner)));
        }
    } else if ty.eq_ignore_ascii_case(b"TEXT") {
        r.skip_spaces();
        if !matches!(r.peek(), Some(b')') | None) {
            p.lines = Some(number_tolerant(r)?);
        }
    }
    if r.eat(b')') {
        return Ok(BodyStructure::Single(Box::new(p)));
    }
    p.md5 = nstring_or_list_as_string(r)?;
    if !r.eat(b')') {
        p.ext = extension(r)?;
    }
    Ok(BodyStructure::Single(Box::new(p)))
}

/// Disposition, language, location, then anything else, up to `)`.
fn extension(r: &mut Reader<'_>) -> DResult<Extension> {
    let mut ext = Extension::default();
    r.skip_spaces();
    if r.peek() == Some(b'(') {
        r.expect(b'(')?;
        r.enter()?;
        let value = r.nstring()?.unwrap_or_default();
        let mut p = Vec::new();
        if !r.eat(b')') {
            p = params(r)?;
            // Tolerate extra values before the closing parenthesis.
            while !r.eat(b')') {
                if r.at_end() {
                    return Err(r.error("unterminated disposition"));
                }
                r.skip_value()?;
            }
        }
        r.leave();
        ext.disposition = Some((value, p));
    } else {
        // NIL, or a bare string (seen from broken servers).
        if let Some(v) = r.nstring()? {
            ext.disposition = Some((v, Vec::new()));
        }
    }
    if r.eat(b')') {
        return Ok(ext);
    }
    r.skip_spaces();
    if r.peek() == Some(b'(') {
        r.list(|r| {
            if let Some(l) = r.nstring()? {
                ext.language.push(l);
            }
            Ok(())
        })?;
    } else if let Some(l) = r.nstring()? {
        ext.language.push(l);
    }
    if r.eat(b')') {
        return Ok(ext);
    }
    ext.location = nstring_or_list_as_string(r)?;
    loop {
        if r.eat(b')') {
            return Ok(ext);
        }
        if r.at_end() {
            return Err(r.error("unterminated body extension"));
        }
        ext.extra.push(r.skip_value()?);
    }
}
