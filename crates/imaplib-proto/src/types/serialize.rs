//! `serde` serialization of the typed values (feature `serde`).
//!
//! Every typed value serializes to the shape the `imap decode` command
//! prints, so JSON written from Rust and JSON written by the tool agree
//! (the tool adds the raw bytes of a response that did not decode, which
//! [`Typed::Undecodable`] and [`Typed::Unparsed`] do not hold):
//!
//! - a response or untagged datum is a map whose `type` names what it is
//!   (`tagged`, `fetch`, `list`, `status`, `esearch`...);
//! - bytes are a string when they are UTF-8 and `{"base64": "..."}`
//!   otherwise; in formats that are not human-readable (CBOR...) they are
//!   plain bytes;
//! - sequence sets are strings as on the wire (`1:3,7`), dates RFC 3339
//!   strings, a hierarchy delimiter a one-character string or null;
//! - a response code is `{"name": NAME, ARGUMENTS...}`, a FETCH item
//!   `{"name": NAME, "value": VALUE}` (with `section` and `origin` for
//!   body sections), a STATUS response's `items` a map from attribute to
//!   value;
//! - Gmail's 64-bit identifiers are strings, so that readers holding
//!   numbers as doubles keep them exact.
//!
//! Serialization only: the typed values are built by the decoders, never
//! from serialized data. Every map announces its length, as compact
//! binary formats (bincode, postcard) need.

use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, FixedOffset};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::{
    Acl, Address, BodyStructure, DecodeError, ESearch, Envelope, Extension, Fetch, FetchItem,
    ListEntry, ListExtended, ListRights, Mailbox, MailboxStatus, Metadata, Multipart,
    NamespaceEntry, Namespaces, Quota, QuotaResource, QuotaRoot, ResponseCode, SearchResult,
    Section, SectionText, SequenceSet, SinglePart, StatusItem, ThreadNode, Typed, Untagged,
    Vanished,
};
use crate::response::Status;

/// Bytes: a UTF-8 string or `{"base64": ...}` (human-readable formats),
/// plain bytes otherwise.
struct B<'a>(&'a [u8]);

impl Serialize for B<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            return s.serialize_bytes(self.0);
        }
        match std::str::from_utf8(self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(
                    "base64",
                    &base64::engine::general_purpose::STANDARD.encode(self.0),
                )?;
                m.end()
            }
        }
    }
}

/// Optional bytes: as [`B`], or null.
fn ob(b: &Option<Bytes>) -> Option<B<'_>> {
    b.as_deref().map(B)
}

/// A list, each element serialized as `f` makes it.
struct Each<'a, T, F>(&'a [T], F);

impl<'a, T, F, V> Serialize for Each<'a, T, F>
where
    F: Fn(&'a T) -> V,
    V: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&(self.1)(item))?;
        }
        seq.end()
    }
}

fn one(b: &Bytes) -> B<'_> {
    B(b)
}

fn both(pair: &(Bytes, Bytes)) -> (B<'_>, B<'_>) {
    (B(&pair.0), B(&pair.1))
}

fn key_value(pair: &(Bytes, Option<Bytes>)) -> (B<'_>, Option<B<'_>>) {
    (B(&pair.0), ob(&pair.1))
}

/// A list of byte strings.
fn byte_list(items: &[Bytes]) -> impl Serialize + '_ {
    Each(items, one)
}

/// `[[name, value], ...]` (body parameters, ACL entries).
fn params(items: &[(Bytes, Bytes)]) -> impl Serialize + '_ {
    Each(items, both)
}

/// `[[key, value], ...]`, null values for NIL.
fn pairs(items: &[(Bytes, Option<Bytes>)]) -> impl Serialize + '_ {
    Each(items, key_value)
}

/// Anything written with `Display` (sequence sets, dates), as a string.
struct Text<T>(T);

impl<T: std::fmt::Display> Serialize for Text<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// A map of two entries: `{K1: V1, K2: V2}`.
struct Two<A, C>(&'static str, A, &'static str, C);

impl<A: Serialize, C: Serialize> Serialize for Two<A, C> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(self.0, &self.1)?;
        m.serialize_entry(self.2, &self.3)?;
        m.end()
    }
}

/// One ANNOTATION entry: `{"entry": ..., "attributes": [[name, value]...]}`.
fn annotation(entry: &(Bytes, Vec<(Bytes, Option<Bytes>)>)) -> impl Serialize + '_ {
    Two("entry", B(&entry.0), "attributes", pairs(&entry.1))
}

/// An unknown named value: `{"name": ..., "raw": ...}`.
fn other(item: &(String, Bytes)) -> impl Serialize + '_ {
    Two("name", item.0.as_str(), "raw", B(&item.1))
}

/// A date as RFC 3339.
fn date(d: &DateTime<FixedOffset>) -> String {
    d.to_rfc3339()
}

/// A hierarchy delimiter (one byte) as a string, or null.
fn delimiter(d: &Option<u8>) -> Option<B<'_>> {
    d.as_ref().map(std::slice::from_ref).map(B)
}

/// `OK`, `NO`, `BAD`, `PREAUTH` or `BYE`.
fn status(s: &Status) -> &'static str {
    s.as_str()
}

/// Writes the fields of a value into a map that another value opened (so
/// that untagged data gets its `type` first).
trait Fields {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error>;
}

/// A map of `value`'s fields, its length told first (formats such as
/// bincode and postcard need it): counted by a first, shallow pass that
/// serializes nothing.
fn map_of<S: Serializer, F: Fields + ?Sized>(s: S, value: &F) -> Result<S::Ok, S::Error> {
    let mut count = Count(0);
    // Counting cannot fail.
    let _ = value.fields(&mut count);
    let mut m = s.serialize_map(Some(count.0))?;
    value.fields(&mut m)?;
    m.end()
}

/// Counts the entries written to it, and nothing else.
struct Count(usize);

/// [`Count`]'s error, never made.
#[derive(Debug)]
struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("counting")
    }
}

impl std::error::Error for Never {}

impl serde::ser::Error for Never {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Never
    }
}

impl SerializeMap for Count {
    type Ok = ();
    type Error = Never;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), Never> {
        self.0 += 1;
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), Never> {
        Ok(())
    }

    fn end(self) -> Result<(), Never> {
        Ok(())
    }
}

macro_rules! serialize_fields {
    ($($t:ty),* $(,)?) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                map_of(s, self)
            }
        }
    )*};
}

serialize_fields!(
    Typed,
    Untagged,
    ResponseCode,
    Mailbox,
    ListEntry,
    ListExtended,
    MailboxStatus,
    SearchResult,
    ESearch,
    ThreadNode,
    NamespaceEntry,
    Namespaces,
    QuotaResource,
    Quota,
    QuotaRoot,
    Acl,
    ListRights,
    Metadata,
    Vanished,
    Fetch,
    FetchItem,
    Section,
    Envelope,
    Address,
    BodyStructure,
);

impl Serialize for SequenceSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for DecodeError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.reason)
    }
}

impl Fields for Typed {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        match self {
            Typed::Continuation(text) => {
                m.serialize_entry("type", "continuation")?;
                m.serialize_entry("text", &B(text))
            }
            Typed::Tagged {
                tag,
                status: st,
                code,
                text,
            } => {
                m.serialize_entry("type", "tagged")?;
                m.serialize_entry("tag", &B(tag))?;
                m.serialize_entry("status", status(st))?;
                m.serialize_entry("code", code)?;
                m.serialize_entry("text", &B(text))
            }
            Typed::Untagged(u) => u.fields(m),
            Typed::Undecodable { name, error } => {
                m.serialize_entry("type", "undecodable")?;
                m.serialize_entry("name", name)?;
                m.serialize_entry("error", error)
            }
            Typed::Unparsed { reason } => {
                m.serialize_entry("type", "unparsed")?;
                m.serialize_entry("error", reason)
            }
        }
    }
}

impl Fields for ResponseCode {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let name = |m: &mut M, n: &str| m.serialize_entry("name", n);
        match self {
            ResponseCode::Alert => name(m, "ALERT"),
            ResponseCode::BadCharset(c) => {
                name(m, "BADCHARSET")?;
                m.serialize_entry("charsets", c)
            }
            ResponseCode::Capability(c) => {
                name(m, "CAPABILITY")?;
                m.serialize_entry("capabilities", c)
            }
            ResponseCode::Parse => name(m, "PARSE"),
            ResponseCode::PermanentFlags(f) => {
                name(m, "PERMANENTFLAGS")?;
                m.serialize_entry("flags", f)
            }
            ResponseCode::ReadOnly => name(m, "READ-ONLY"),
            ResponseCode::ReadWrite => name(m, "READ-WRITE"),
            ResponseCode::TryCreate => name(m, "TRYCREATE"),
            ResponseCode::UidNext(n) => {
                name(m, "UIDNEXT")?;
                m.serialize_entry("value", n)
            }
            ResponseCode::UidValidity(n) => {
                name(m, "UIDVALIDITY")?;
                m.serialize_entry("value", n)
            }
            ResponseCode::Unseen(n) => {
                name(m, "UNSEEN")?;
                m.serialize_entry("value", n)
            }
            ResponseCode::AppendUid { uid_validity, uids } => {
                name(m, "APPENDUID")?;
                m.serialize_entry("uid_validity", uid_validity)?;
                m.serialize_entry("uids", uids)
            }
            ResponseCode::CopyUid {
                uid_validity,
                source,
                dest,
            } => {
                name(m, "COPYUID")?;
                m.serialize_entry("uid_validity", uid_validity)?;
                m.serialize_entry("source", source)?;
                m.serialize_entry("dest", dest)
            }
            ResponseCode::UidNotSticky => name(m, "UIDNOTSTICKY"),
            ResponseCode::HighestModSeq(n) => {
                name(m, "HIGHESTMODSEQ")?;
                m.serialize_entry("value", n)
            }
            ResponseCode::NoModSeq => name(m, "NOMODSEQ"),
            ResponseCode::Modified(set) => {
                name(m, "MODIFIED")?;
                m.serialize_entry("set", set)
            }
            ResponseCode::Closed => name(m, "CLOSED"),
            ResponseCode::NotSaved => name(m, "NOTSAVED"),
            ResponseCode::AppendLimit(n) => {
                name(m, "APPENDLIMIT")?;
                m.serialize_entry("value", n)
            }
            ResponseCode::Rfc5530(code) => {
                name(m, code)?;
                m.serialize_entry("rfc5530", &true)
            }
            ResponseCode::Other { name: n, args } => {
                name(m, n)?;
                m.serialize_entry("args", &B(args))
            }
        }
    }
}

impl Fields for Untagged {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let kind = |m: &mut M, k: &str| m.serialize_entry("type", k);
        match self {
            Untagged::Condition {
                status: st,
                code,
                text,
            } => {
                kind(m, "condition")?;
                m.serialize_entry("status", status(st))?;
                m.serialize_entry("code", code)?;
                m.serialize_entry("text", &B(text))
            }
            Untagged::Capability(c) => {
                kind(m, "capability")?;
                m.serialize_entry("capabilities", c)
            }
            Untagged::Enabled(c) => {
                kind(m, "enabled")?;
                m.serialize_entry("capabilities", c)
            }
            Untagged::Flags(f) => {
                kind(m, "flags")?;
                m.serialize_entry("flags", f)
            }
            Untagged::Exists(n) => {
                kind(m, "exists")?;
                m.serialize_entry("count", n)
            }
            Untagged::Recent(n) => {
                kind(m, "recent")?;
                m.serialize_entry("count", n)
            }
            Untagged::Expunge(n) => {
                kind(m, "expunge")?;
                m.serialize_entry("seq", n)
            }
            Untagged::Vanished(v) => {
                kind(m, "vanished")?;
                v.fields(m)
            }
            Untagged::Fetch(f) => {
                kind(m, "fetch")?;
                f.fields(m)
            }
            Untagged::List(l) => {
                kind(m, "list")?;
                l.fields(m)
            }
            Untagged::Lsub(l) => {
                kind(m, "lsub")?;
                l.fields(m)
            }
            Untagged::Status(st) => {
                kind(m, "status")?;
                st.fields(m)
            }
            Untagged::Search(r) => {
                kind(m, "search")?;
                r.fields(m)
            }
            Untagged::Sort(r) => {
                kind(m, "sort")?;
                r.fields(m)
            }
            Untagged::ESearch(e) => {
                kind(m, "esearch")?;
                e.fields(m)
            }
            Untagged::Thread(t) => {
                kind(m, "thread")?;
                m.serialize_entry("threads", t)
            }
            Untagged::Namespace(n) => {
                kind(m, "namespace")?;
                n.fields(m)
            }
            Untagged::Id(fields) => {
                kind(m, "id")?;
                m.serialize_entry("fields", &fields.as_deref().map(pairs))
            }
            Untagged::Quota(q) => {
                kind(m, "quota")?;
                q.fields(m)
            }
            Untagged::QuotaRoot(q) => {
                kind(m, "quotaroot")?;
                q.fields(m)
            }
            Untagged::Acl(a) => {
                kind(m, "acl")?;
                a.fields(m)
            }
            Untagged::ListRights(l) => {
                kind(m, "listrights")?;
                l.fields(m)
            }
            Untagged::MyRights { mailbox, rights } => {
                kind(m, "myrights")?;
                m.serialize_entry("mailbox", mailbox)?;
                m.serialize_entry("rights", &B(rights))
            }
            Untagged::Metadata(md) => {
                kind(m, "metadata")?;
                md.fields(m)
            }
            Untagged::Annotation { mailbox, entries } => {
                kind(m, "annotation")?;
                m.serialize_entry("mailbox", mailbox)?;
                m.serialize_entry("entries", &Each(entries, annotation))
            }
            Untagged::Other { name, raw } => {
                kind(m, "other")?;
                m.serialize_entry("name", name)?;
                m.serialize_entry("raw", &B(raw))
            }
        }
    }
}

impl Fields for Mailbox {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("raw", &B(&self.raw))?;
        m.serialize_entry("name", &self.name())
    }
}

impl Fields for ListEntry {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("attributes", &self.attributes)?;
        m.serialize_entry("delimiter", &delimiter(&self.delimiter))?;
        m.serialize_entry("mailbox", &self.mailbox)?;
        m.serialize_entry("special_use", &self.special_use())?;
        m.serialize_entry("extended", &self.extended)
    }
}

impl Fields for ListExtended {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        match self {
            ListExtended::ChildInfo(c) => {
                m.serialize_entry("tag", "CHILDINFO")?;
                m.serialize_entry("value", c)
            }
            ListExtended::OldName(mb) => {
                m.serialize_entry("tag", "OLDNAME")?;
                m.serialize_entry("value", mb)
            }
            ListExtended::Other { tag, raw } => {
                m.serialize_entry("tag", tag)?;
                m.serialize_entry("raw", &B(raw))
            }
        }
    }
}

impl Fields for MailboxStatus {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("mailbox", &self.mailbox)?;
        m.serialize_entry("items", &StatusItems(&self.items))
    }
}

/// STATUS attributes as a map from name to value.
struct StatusItems<'a>(&'a [StatusItem]);

impl Serialize for StatusItems<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for item in self.0 {
            match item {
                StatusItem::Messages(n) => m.serialize_entry("MESSAGES", n)?,
                StatusItem::Recent(n) => m.serialize_entry("RECENT", n)?,
                StatusItem::UidNext(n) => m.serialize_entry("UIDNEXT", n)?,
                StatusItem::UidValidity(n) => m.serialize_entry("UIDVALIDITY", n)?,
                StatusItem::Unseen(n) => m.serialize_entry("UNSEEN", n)?,
                StatusItem::Deleted(n) => m.serialize_entry("DELETED", n)?,
                StatusItem::Size(n) => m.serialize_entry("SIZE", n)?,
                StatusItem::HighestModSeq(n) => m.serialize_entry("HIGHESTMODSEQ", n)?,
                StatusItem::AppendLimit(n) => m.serialize_entry("APPENDLIMIT", n)?,
                StatusItem::Other { name, raw } => m.serialize_entry(name, &Raw(raw))?,
            }
        }
        m.end()
    }
}

/// `{"raw": BYTES}`.
struct Raw<'a>(&'a [u8]);

impl Serialize for Raw<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("raw", &B(self.0))?;
        m.end()
    }
}

impl Fields for SearchResult {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("ids", &self.ids)?;
        m.serialize_entry("modseq", &self.modseq)
    }
}

impl Fields for ESearch {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("tag", &ob(&self.tag))?;
        m.serialize_entry("uid", &self.uid)?;
        m.serialize_entry("min", &self.min)?;
        m.serialize_entry("max", &self.max)?;
        m.serialize_entry("count", &self.count)?;
        m.serialize_entry("all", &self.all)?;
        m.serialize_entry(
            "partial",
            &self
                .partial
                .as_ref()
                .map(|(range, set)| Two("range", B(range), "set", set)),
        )?;
        m.serialize_entry("modseq", &self.modseq)?;
        m.serialize_entry("other", &Each(&self.other, other))
    }
}

impl Fields for ThreadNode {
    /// One thread as on the wire: `messages` is a chain (each message the
    /// parent of the next; empty for a placeholder parent) and `replies`
    /// are the sub-threads below its last message.
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("messages", &self.messages)?;
        m.serialize_entry("replies", &self.children)
    }
}

impl Fields for NamespaceEntry {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("prefix", &B(&self.prefix))?;
        m.serialize_entry("delimiter", &delimiter(&self.delimiter))?;
        m.serialize_entry("extensions", &byte_list(&self.extensions))
    }
}

impl Fields for Namespaces {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("personal", &self.personal)?;
        m.serialize_entry("other_users", &self.other_users)?;
        m.serialize_entry("shared", &self.shared)
    }
}

impl Fields for QuotaResource {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("usage", &self.usage)?;
        m.serialize_entry("limit", &self.limit)
    }
}

impl Fields for Quota {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("root", &B(&self.root))?;
        m.serialize_entry("resources", &self.resources)
    }
}

impl Fields for QuotaRoot {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("mailbox", &self.mailbox)?;
        m.serialize_entry("roots", &byte_list(&self.roots))
    }
}

impl Fields for Acl {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("mailbox", &self.mailbox)?;
        m.serialize_entry("entries", &params(&self.entries))
    }
}

impl Fields for ListRights {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("mailbox", &self.mailbox)?;
        m.serialize_entry("identifier", &B(&self.identifier))?;
        m.serialize_entry("required", &B(&self.required))?;
        m.serialize_entry("optional", &byte_list(&self.optional))
    }
}

impl Fields for Metadata {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("mailbox", &self.mailbox)?;
        m.serialize_entry("entries", &pairs(&self.entries))
    }
}

impl Fields for Vanished {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("earlier", &self.earlier)?;
        m.serialize_entry("uids", &self.uids)
    }
}

impl Fields for Fetch {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("seq", &self.seq())?;
        m.serialize_entry("items", &self.to_items())
    }
}

/// Part numbers as written: `1.2.3`, empty for the whole message.
fn part_number(part: &[u32]) -> String {
    let mut out = String::new();
    for (i, n) in part.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(&n.to_string());
    }
    out
}

impl Fields for FetchItem {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        fn item<M: SerializeMap, V: Serialize + ?Sized>(
            m: &mut M,
            name: &str,
            value: &V,
        ) -> Result<(), M::Error> {
            m.serialize_entry("name", name)?;
            m.serialize_entry("value", value)
        }
        match self {
            FetchItem::Flags(f) => item(m, "FLAGS", f),
            FetchItem::Uid(u) => item(m, "UID", u),
            FetchItem::InternalDate(d) => item(m, "INTERNALDATE", &date(d)),
            FetchItem::Rfc822Size(n) => item(m, "RFC822.SIZE", n),
            FetchItem::Envelope(e) => item(m, "ENVELOPE", e),
            FetchItem::BodyStructure(b) => item(m, "BODYSTRUCTURE", b),
            FetchItem::Body(b) => item(m, "BODY", b),
            FetchItem::BodySection {
                section,
                origin,
                data,
            } => {
                m.serialize_entry("name", "BODY")?;
                m.serialize_entry("section", section)?;
                m.serialize_entry("origin", origin)?;
                m.serialize_entry("value", &ob(data))
            }
            FetchItem::BinarySection {
                section,
                origin,
                data,
            } => {
                m.serialize_entry("name", "BINARY")?;
                m.serialize_entry("section", &part_number(section))?;
                m.serialize_entry("origin", origin)?;
                m.serialize_entry("value", &ob(data))
            }
            FetchItem::BinarySize { section, size } => {
                m.serialize_entry("name", "BINARY.SIZE")?;
                m.serialize_entry("section", &part_number(section))?;
                m.serialize_entry("value", size)
            }
            FetchItem::Rfc822(d) => item(m, "RFC822", &ob(d)),
            FetchItem::Rfc822Header(d) => item(m, "RFC822.HEADER", &ob(d)),
            FetchItem::Rfc822Text(d) => item(m, "RFC822.TEXT", &ob(d)),
            FetchItem::ModSeq(n) => item(m, "MODSEQ", n),
            FetchItem::EmailId(id) => item(m, "EMAILID", &B(id)),
            FetchItem::ThreadId(id) => item(m, "THREADID", &ob(id)),
            FetchItem::SaveDate(d) => item(m, "SAVEDATE", &d.as_ref().map(date)),
            FetchItem::Preview(p) => item(m, "PREVIEW", &ob(p)),
            FetchItem::GmailMessageId(n) => item(m, "X-GM-MSGID", &Text(n)),
            FetchItem::GmailThreadId(n) => item(m, "X-GM-THRID", &Text(n)),
            FetchItem::GmailLabels(l) => item(m, "X-GM-LABELS", &byte_list(l)),
            FetchItem::Other { name, raw } => {
                m.serialize_entry("name", name)?;
                m.serialize_entry("raw", &B(raw))
            }
            FetchItem::Undecodable { name, raw, reason } => {
                m.serialize_entry("name", name)?;
                m.serialize_entry("raw", &B(raw))?;
                m.serialize_entry("error", reason)
            }
        }
    }
}

impl Fields for Section {
    /// `spec` as on the wire (`1.HEADER.FIELDS (FROM TO)`), the part
    /// numbers, the text specifier and, for HEADER.FIELDS, the field names.
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let (text, fields): (Option<String>, Option<&Vec<Bytes>>) = match &self.text {
            None => (None, None),
            Some(SectionText::Header) => (Some("HEADER".into()), None),
            Some(SectionText::Text) => (Some("TEXT".into()), None),
            Some(SectionText::Mime) => (Some("MIME".into()), None),
            Some(SectionText::HeaderFields(f)) => (Some("HEADER.FIELDS".into()), Some(f)),
            Some(SectionText::HeaderFieldsNot(f)) => (Some("HEADER.FIELDS.NOT".into()), Some(f)),
            Some(SectionText::Other(raw)) => {
                (Some(String::from_utf8_lossy(raw).into_owned()), None)
            }
        };
        let mut spec = part_number(&self.part);
        if let Some(t) = &text {
            if !spec.is_empty() {
                spec.push('.');
            }
            spec.push_str(t);
        }
        if let Some(f) = fields {
            let names: Vec<_> = f.iter().map(|b| String::from_utf8_lossy(b)).collect();
            spec.push_str(" (");
            spec.push_str(&names.join(" "));
            spec.push(')');
        }
        m.serialize_entry("spec", &spec)?;
        m.serialize_entry("part", &self.part)?;
        match &self.text {
            Some(SectionText::Other(raw)) => m.serialize_entry("text", &B(raw))?,
            _ => m.serialize_entry("text", &text)?,
        }
        if let Some(f) = fields {
            m.serialize_entry("fields", &byte_list(f))?;
        }
        Ok(())
    }
}

impl Fields for Envelope {
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("date", &ob(&self.date))?;
        m.serialize_entry("subject", &ob(&self.subject))?;
        m.serialize_entry("from", &self.from)?;
        m.serialize_entry("sender", &self.sender)?;
        m.serialize_entry("reply_to", &self.reply_to)?;
        m.serialize_entry("to", &self.to)?;
        m.serialize_entry("cc", &self.cc)?;
        m.serialize_entry("bcc", &self.bcc)?;
        m.serialize_entry("in_reply_to", &ob(&self.in_reply_to))?;
        m.serialize_entry("message_id", &ob(&self.message_id))
    }
}

impl Fields for Address {
    /// A group marker has no host.
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("name", &ob(&self.name))?;
        m.serialize_entry("adl", &ob(&self.adl))?;
        m.serialize_entry("mailbox", &ob(&self.mailbox))?;
        m.serialize_entry("host", &ob(&self.host))
    }
}

impl Fields for Extension {
    /// Content-Disposition, Content-Language, Content-Location and further
    /// extension values, written into the part's own map.
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry(
            "disposition",
            &self
                .disposition
                .as_ref()
                .map(|(kind, p)| Two("type", B(kind), "params", params(p))),
        )?;
        m.serialize_entry("language", &byte_list(&self.language))?;
        m.serialize_entry("location", &ob(&self.location))?;
        m.serialize_entry("extra", &byte_list(&self.extra))
    }
}

impl Fields for BodyStructure {
    /// `mime_type` (`text/plain`, lower case) first, then the fields of
    /// the part; a multipart's `media_type` is `MULTIPART`.
    fn fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("mime_type", &self.mime_type())?;
        match self {
            BodyStructure::Single(p) => single(p, m),
            BodyStructure::Multipart(mp) => multipart(mp, m),
        }
    }
}

fn single<M: SerializeMap>(p: &SinglePart, m: &mut M) -> Result<(), M::Error> {
    m.serialize_entry("media_type", &B(&p.media_type))?;
    m.serialize_entry("media_subtype", &B(&p.media_subtype))?;
    m.serialize_entry("params", &params(&p.params))?;
    m.serialize_entry("id", &ob(&p.id))?;
    m.serialize_entry("description", &ob(&p.description))?;
    m.serialize_entry("encoding", &ob(&p.encoding))?;
    m.serialize_entry("size", &p.size)?;
    m.serialize_entry("lines", &p.lines)?;
    m.serialize_entry(
        "message",
        &p.message
            .as_ref()
            .map(|(env, body)| Two("envelope", env, "body", body)),
    )?;
    m.serialize_entry("md5", &ob(&p.md5))?;
    p.ext.fields(m)
}

fn multipart<M: SerializeMap>(mp: &Multipart, m: &mut M) -> Result<(), M::Error> {
    m.serialize_entry("media_type", "MULTIPART")?;
    m.serialize_entry("media_subtype", &B(&mp.media_subtype))?;
    m.serialize_entry("parts", &mp.parts)?;
    m.serialize_entry("params", &params(&mp.params))?;
    mp.ext.fields(m)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::response::{Frame, Response};
    use crate::types::{decode_response, Typed, Untagged};

    fn typed(text: &str) -> Typed {
        let input = text.replace('\n', "\r\n");
        let frame = Frame::parse_one(input.as_bytes()).expect("one response");
        decode_response(&Response::parse(frame))
    }

    fn to_json(text: &str) -> Value {
        serde_json::to_value(typed(text)).expect("serializes")
    }

    #[test]
    fn responses_carry_their_type_first() {
        let v = to_json("a1 OK [APPENDUID 38505 3955:3957] done\n");
        assert_eq!(
            v,
            json!({"type": "tagged", "tag": "a1", "status": "OK",
                   "code": {"name": "APPENDUID", "uid_validity": 38505, "uids": "3955:3957"},
                   "text": "done"})
        );
        let text = serde_json::to_string(&typed("* 4 EXISTS\n")).unwrap();
        assert_eq!(text, r#"{"type":"exists","count":4}"#);
        let v = to_json("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent &AOQ-\"\n");
        assert_eq!(v["type"], "list");
        assert_eq!(v["delimiter"], "/");
        assert_eq!(v["special_use"], "\\Sent");
        assert_eq!(v["mailbox"], json!({"raw": "Sent &AOQ-", "name": "Sent ä"}));
        let v = to_json("* STATUS INBOX (MESSAGES 3 UIDNEXT 9 X-NEW 5)\n");
        assert_eq!(
            v["items"],
            json!({"MESSAGES": 3, "UIDNEXT": 9, "X-NEW": {"raw": "5"}})
        );
    }

    #[test]
    fn fetch_items_and_bytes_that_are_not_utf8() {
        let input = b"* 2 FETCH (UID 7 X-GM-MSGID 18446744073709551615 BODY[HEADER.FIELDS (FROM)] {2}\r\n\xff\xfe SAVEDATE NIL)\r\n";
        let frame = Frame::parse_one(input).expect("one response");
        let t = decode_response(&Response::parse(frame));
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["type"], "fetch");
        assert_eq!(v["seq"], 2);
        let items = v["items"].as_array().unwrap();
        assert_eq!(items[0], json!({"name": "UID", "value": 7}));
        assert_eq!(
            items[1],
            json!({"name": "X-GM-MSGID", "value": "18446744073709551615"})
        );
        assert_eq!(items[2]["section"]["spec"], "HEADER.FIELDS (FROM)");
        assert_eq!(items[2]["section"]["fields"], json!(["FROM"]));
        assert_eq!(items[2]["value"], json!({"base64": "//4="}));
        assert_eq!(items[3], json!({"name": "SAVEDATE", "value": null}));

        // A binary format gets the bytes themselves.
        let Typed::Untagged(Untagged::Fetch(fetch)) = &t else {
            panic!("not a FETCH: {t:?}")
        };
        let mut cbor = Vec::new();
        ciborium::into_writer(&fetch.to_items()[2], &mut cbor).unwrap();
        // A map of 4 entries, its length told (0xa0 + 4), not an
        // indefinite-length map (0xbf).
        assert_eq!(cbor[0], 0xa4);
        let mut whole = Vec::new();
        ciborium::into_writer(&t, &mut whole).unwrap();
        assert_eq!(whole[0], 0xa3, "type, seq, items");
        let back: ciborium::Value = ciborium::from_reader(cbor.as_slice()).unwrap();
        let value = back
            .as_map()
            .and_then(|m| m.iter().find(|(k, _)| k.as_text() == Some("value")))
            .map(|(_, v)| v.clone());
        assert_eq!(value, Some(ciborium::Value::Bytes(vec![0xff, 0xfe])));
    }

    #[test]
    fn undecodable_data_says_why() {
        let v = to_json("* 1 FETCH (UID x)\n");
        assert_eq!(v["type"], "fetch");
        assert_eq!(v["items"][0]["name"], "UID");
        assert!(v["items"][0]["error"].is_string(), "{v}");
        let v = to_json("* LIST (\\Noselect\n");
        assert_eq!(v["type"], "undecodable");
        assert_eq!(v["name"], "LIST");
        assert!(v["error"].is_string(), "{v}");
    }
}
