//! The typed form of a response as JSON (the `typed` field of
//! `imap decode`), built from the library's decoders
//! ([`imaplib::types::decode_response`]).
//!
//! Every object has a `type` naming what it is (`fetch`, `list`,
//! `status`, `esearch`, `tagged`...). Bytes are strings when they are
//! UTF-8 and `{"base64": "..."}` otherwise, as everywhere in the tool;
//! sequence sets are strings (`1:3,7`), dates RFC 3339 strings, response
//! codes `{"name": ..., ...}` with their typed arguments. A response or a
//! FETCH item that does not decode keeps its raw bytes beside an `error`
//! reason. Gmail's 64-bit identifiers are strings, so that JSON readers
//! that hold numbers as doubles keep them exact.

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};
use imaplib::imaplib_proto::{Response, Status};
use imaplib::types::{
    decode_response, Address, BodyStructure, ESearch, Envelope, Extension, Fetch, FetchItem,
    ListEntry, ListExtended, Mailbox, MailboxStatus, NamespaceEntry, ResponseCode, SearchResult,
    Section, SectionText, StatusItem, ThreadNode, Typed, Untagged,
};
use serde_json::{json, Map, Value};

use crate::json::bytes;

/// The typed form of `resp`, and the reason when it could not be typed.
pub fn response(resp: &Response) -> (Value, Option<String>) {
    match decode_response(resp) {
        Typed::Continuation(text) => (object("continuation", [("text", bytes(&text))]), None),
        Typed::Tagged {
            tag,
            status,
            code,
            text,
        } => (
            object(
                "tagged",
                [
                    ("tag", bytes(&tag)),
                    ("status", status_name(status)),
                    ("code", code.as_ref().map_or(Value::Null, response_code)),
                    ("text", bytes(&text)),
                ],
            ),
            None,
        ),
        Typed::Untagged(u) => (untagged(&u), None),
        Typed::Undecodable { name, error } => (
            object(
                "undecodable",
                [
                    ("name", Value::String(name)),
                    ("error", Value::String(error.reason.clone())),
                    ("raw", bytes(resp.frame().raw())),
                ],
            ),
            Some(error.reason),
        ),
        Typed::Unparsed { reason } => (
            object(
                "unparsed",
                [
                    ("error", Value::String(reason.to_string())),
                    ("raw", bytes(resp.frame().raw())),
                ],
            ),
            Some(reason.to_string()),
        ),
        other => (
            object("unknown", [("debug", Value::String(format!("{other:?}")))]),
            None,
        ),
    }
}

/// `{"type": TYPE, FIELDS...}`.
fn object<const N: usize>(kind: &str, fields: [(&str, Value); N]) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), Value::String(kind.into()));
    for (k, v) in fields {
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

/// `OK`, `NO`, `BAD`, `PREAUTH` or `BYE`.
fn status_name(s: Status) -> Value {
    Value::String(s.as_str().into())
}

/// Optional bytes: a string (or base64 object), or `null`.
fn opt_bytes(b: Option<&Bytes>) -> Value {
    b.map_or(Value::Null, |b| bytes(b))
}

/// A list of byte strings.
fn byte_list<'a>(items: impl IntoIterator<Item = &'a Bytes>) -> Value {
    Value::Array(items.into_iter().map(|b| bytes(b)).collect())
}

/// A list of strings.
fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::String(s.clone())).collect())
}

/// `[[key, value], ...]`, `null` values for NIL.
fn pairs<'a>(items: impl IntoIterator<Item = &'a (Bytes, Option<Bytes>)>) -> Value {
    Value::Array(
        items
            .into_iter()
            .map(|(k, v)| Value::Array(vec![bytes(k), opt_bytes(v.as_ref())]))
            .collect(),
    )
}

/// `[[name, value], ...]` of body parameters.
fn params(items: &[(Bytes, Bytes)]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|(k, v)| Value::Array(vec![bytes(k), bytes(v)]))
            .collect(),
    )
}

/// A date as RFC 3339.
fn date(d: &DateTime<FixedOffset>) -> Value {
    Value::String(d.to_rfc3339())
}

/// A hierarchy delimiter (one byte) or `null`.
fn delimiter(d: Option<u8>) -> Value {
    d.map_or(Value::Null, |d| bytes(&[d]))
}

/// `{"raw": WIRE BYTES, "name": DISPLAY NAME}`.
fn mailbox(m: &Mailbox) -> Value {
    json!({ "raw": bytes(&m.raw), "name": m.name() })
}

/// A response code: `{"name": NAME, ARGUMENTS...}`.
pub fn response_code(code: &ResponseCode) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    let name = match code {
        ResponseCode::Alert => "ALERT",
        ResponseCode::BadCharset(c) => {
            put("charsets", strings(c));
            "BADCHARSET"
        }
        ResponseCode::Capability(c) => {
            put("capabilities", strings(c));
            "CAPABILITY"
        }
        ResponseCode::Parse => "PARSE",
        ResponseCode::PermanentFlags(f) => {
            put("flags", strings(f));
            "PERMANENTFLAGS"
        }
        ResponseCode::ReadOnly => "READ-ONLY",
        ResponseCode::ReadWrite => "READ-WRITE",
        ResponseCode::TryCreate => "TRYCREATE",
        ResponseCode::UidNext(n) => {
            put("value", json!(n));
            "UIDNEXT"
        }
        ResponseCode::UidValidity(n) => {
            put("value", json!(n));
            "UIDVALIDITY"
        }
        ResponseCode::Unseen(n) => {
            put("value", json!(n));
            "UNSEEN"
        }
        ResponseCode::AppendUid { uid_validity, uids } => {
            put("uid_validity", json!(uid_validity));
            put("uids", Value::String(uids.to_string()));
            "APPENDUID"
        }
        ResponseCode::CopyUid {
            uid_validity,
            source,
            dest,
        } => {
            put("uid_validity", json!(uid_validity));
            put("source", Value::String(source.to_string()));
            put("dest", Value::String(dest.to_string()));
            "COPYUID"
        }
        ResponseCode::UidNotSticky => "UIDNOTSTICKY",
        ResponseCode::HighestModSeq(n) => {
            put("value", json!(n));
            "HIGHESTMODSEQ"
        }
        ResponseCode::NoModSeq => "NOMODSEQ",
        ResponseCode::Modified(set) => {
            put("set", Value::String(set.to_string()));
            "MODIFIED"
        }
        ResponseCode::Closed => "CLOSED",
        ResponseCode::NotSaved => "NOTSAVED",
        ResponseCode::AppendLimit(n) => {
            put("value", json!(n));
            "APPENDLIMIT"
        }
        ResponseCode::Rfc5530(name) => {
            put("rfc5530", Value::Bool(true));
            name.as_str()
        }
        ResponseCode::Other { name, args } => {
            put("args", bytes(args));
            name.as_str()
        }
        other => {
            put("debug", Value::String(format!("{other:?}")));
            "UNKNOWN"
        }
    };
    let mut out = Map::new();
    out.insert("name".into(), Value::String(name.to_string()));
    out.extend(m);
    Value::Object(out)
}

/// Untagged data, typed.
fn untagged(u: &Untagged) -> Value {
    match u {
        Untagged::Condition { status, code, text } => object(
            "condition",
            [
                ("status", status_name(*status)),
                ("code", code.as_ref().map_or(Value::Null, response_code)),
                ("text", bytes(text)),
            ],
        ),
        Untagged::Capability(c) => object("capability", [("capabilities", strings(c))]),
        Untagged::Enabled(c) => object("enabled", [("capabilities", strings(c))]),
        Untagged::Flags(f) => object("flags", [("flags", strings(f))]),
        Untagged::Exists(n) => object("exists", [("count", json!(n))]),
        Untagged::Recent(n) => object("recent", [("count", json!(n))]),
        Untagged::Expunge(n) => object("expunge", [("seq", json!(n))]),
        Untagged::Vanished(v) => object(
            "vanished",
            [
                ("earlier", Value::Bool(v.earlier)),
                ("uids", Value::String(v.uids.to_string())),
            ],
        ),
        Untagged::Fetch(f) => fetch(f),
        Untagged::List(l) => list_entry("list", l),
        Untagged::Lsub(l) => list_entry("lsub", l),
        Untagged::Status(s) => status(s),
        Untagged::Search(s) => search("search", s),
        Untagged::Sort(s) => search("sort", s),
        Untagged::ESearch(e) => esearch(e),
        Untagged::Thread(t) => object(
            "thread",
            [("threads", Value::Array(t.iter().map(thread).collect()))],
        ),
        Untagged::Namespace(n) => object(
            "namespace",
            [
                ("personal", namespaces(&n.personal)),
                ("other_users", namespaces(&n.other_users)),
                ("shared", namespaces(&n.shared)),
            ],
        ),
        Untagged::Id(fields) => object(
            "id",
            [("fields", fields.as_ref().map_or(Value::Null, pairs))],
        ),
        Untagged::Quota(q) => object(
            "quota",
            [
                ("root", bytes(&q.root)),
                (
                    "resources",
                    Value::Array(
                        q.resources
                            .iter()
                            .map(|r| json!({"name": r.name, "usage": r.usage, "limit": r.limit}))
                            .collect(),
                    ),
                ),
            ],
        ),
        Untagged::QuotaRoot(q) => object(
            "quotaroot",
            [("mailbox", mailbox(&q.mailbox)), ("roots", byte_list(&q.roots))],
        ),
        Untagged::Acl(a) => object(
            "acl",
            [
                ("mailbox", mailbox(&a.mailbox)),
                (
                    "entries",
                    Value::Array(
                        a.entries
                            .iter()
                            .map(|(who, rights)| Value::Array(vec![bytes(who), bytes(rights)]))
                            .collect(),
                    ),
                ),
            ],
        ),
        Untagged::ListRights(l) => object(
            "listrights",
            [
                ("mailbox", mailbox(&l.mailbox)),
                ("identifier", bytes(&l.identifier)),
                ("required", bytes(&l.required)),
                ("optional", byte_list(&l.optional)),
            ],
        ),
        Untagged::MyRights {
            mailbox: m,
            rights,
        } => object(
            "myrights",
            [("mailbox", mailbox(m)), ("rights", bytes(rights))],
        ),
        Untagged::Metadata(md) => object(
            "metadata",
            [
                ("mailbox", mailbox(&md.mailbox)),
                ("entries", pairs(&md.entries)),
            ],
        ),
        Untagged::Annotation {
            mailbox: m,
            entries,
        } => object(
            "annotation",
            [
                ("mailbox", mailbox(m)),
                (
                    "entries",
                    Value::Array(
                        entries
                            .iter()
                            .map(|(entry, attrs)| {
                                json!({"entry": bytes(entry), "attributes": pairs(attrs)})
                            })
                            .collect(),
                    ),
                ),
            ],
        ),
        Untagged::Other { name, raw } => object(
            "other",
            [("name", Value::String(name.clone())), ("raw", bytes(raw))],
        ),
        // Kinds of data added to the library later: shown, not lost.
        other => object("other", [("debug", Value::String(format!("{other:?}")))]),
    }
}

/// A LIST or LSUB entry.
fn list_entry(kind: &str, l: &ListEntry) -> Value {
    let extended = l
        .extended
        .iter()
        .map(|e| match e {
            ListExtended::ChildInfo(c) => json!({"tag": "CHILDINFO", "value": strings(c)}),
            ListExtended::OldName(m) => json!({"tag": "OLDNAME", "value": mailbox(m)}),
            ListExtended::Other { tag, raw } => json!({"tag": tag, "raw": bytes(raw)}),
            other => json!({"tag": "UNKNOWN", "debug": format!("{other:?}")}),
        })
        .collect();
    object(
        kind,
        [
            ("attributes", strings(&l.attributes)),
            ("delimiter", delimiter(l.delimiter)),
            ("mailbox", mailbox(&l.mailbox)),
            (
                "special_use",
                l.special_use()
                    .map_or(Value::Null, |s| Value::String(s.into())),
            ),
            ("extended", Value::Array(extended)),
        ],
    )
}

/// A STATUS response: `items` maps each attribute to its value.
fn status(s: &MailboxStatus) -> Value {
    let mut items = Map::new();
    for item in &s.items {
        let (name, value) = match item {
            StatusItem::Messages(n) => ("MESSAGES", json!(n)),
            StatusItem::Recent(n) => ("RECENT", json!(n)),
            StatusItem::UidNext(n) => ("UIDNEXT", json!(n)),
            StatusItem::UidValidity(n) => ("UIDVALIDITY", json!(n)),
            StatusItem::Unseen(n) => ("UNSEEN", json!(n)),
            StatusItem::Deleted(n) => ("DELETED", json!(n)),
            StatusItem::Size(n) => ("SIZE", json!(n)),
            StatusItem::HighestModSeq(n) => ("HIGHESTMODSEQ", json!(n)),
            StatusItem::AppendLimit(n) => ("APPENDLIMIT", json!(n)),
            StatusItem::Other { name, raw } => (name.as_str(), json!({ "raw": bytes(raw) })),
            other => ("UNKNOWN", Value::String(format!("{other:?}"))),
        };
        items.insert(name.to_string(), value);
    }
    object(
        "status",
        [
            ("mailbox", mailbox(&s.mailbox)),
            ("items", Value::Object(items)),
        ],
    )
}

/// SEARCH or SORT results.
fn search(kind: &str, s: &SearchResult) -> Value {
    object(kind, [("ids", json!(s.ids)), ("modseq", json!(s.modseq))])
}

/// ESEARCH results.
fn esearch(e: &ESearch) -> Value {
    let set = |s: Option<&imaplib::types::SequenceSet>| {
        s.map_or(Value::Null, |s| Value::String(s.to_string()))
    };
    let partial = e.partial.as_ref().map_or(
        Value::Null,
        |(range, s)| json!({"range": bytes(range), "set": set(s.as_ref())}),
    );
    let other = e
        .other
        .iter()
        .map(|(name, raw)| json!({"name": name, "raw": bytes(raw)}))
        .collect();
    object(
        "esearch",
        [
            ("tag", opt_bytes(e.tag.as_ref())),
            ("uid", Value::Bool(e.uid)),
            ("min", json!(e.min)),
            ("max", json!(e.max)),
            ("count", json!(e.count)),
            ("all", set(e.all.as_ref())),
            ("partial", partial),
            ("modseq", json!(e.modseq)),
            ("other", Value::Array(other)),
        ],
    )
}

/// One thread as on the wire: `messages` is a chain (each message the
/// parent of the next; empty for a placeholder parent) and `replies` are the
/// sub-threads below its last message.
fn thread(node: &ThreadNode) -> Value {
    json!({
        "messages": node.messages,
        "replies": Value::Array(node.children.iter().map(thread).collect()),
    })
}

/// A NAMESPACE list.
fn namespaces(list: &[NamespaceEntry]) -> Value {
    Value::Array(
        list.iter()
            .map(|n| {
                json!({
                    "prefix": bytes(&n.prefix),
                    "delimiter": delimiter(n.delimiter),
                    "extensions": byte_list(&n.extensions),
                })
            })
            .collect(),
    )
}

/// A FETCH response: its sequence number and items in order.
pub fn fetch(f: &Fetch) -> Value {
    object(
        "fetch",
        [
            ("seq", json!(f.seq)),
            (
                "items",
                Value::Array(f.items.iter().map(fetch_item).collect()),
            ),
        ],
    )
}

/// `{"name": NAME, "value": VALUE}` plus extra fields.
fn item<const N: usize>(name: &str, value: Value, extra: [(&str, Value); N]) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::String(name.into()));
    for (k, v) in extra {
        m.insert(k.into(), v);
    }
    m.insert("value".into(), value);
    Value::Object(m)
}

/// Part numbers as written: `1.2.3`, empty for the whole message.
fn part_number(part: &[u32]) -> String {
    part.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// A section: `spec` as on the wire (`1.HEADER.FIELDS (FROM TO)`), the
/// part numbers, the text specifier and the header field names.
fn section(s: &Section) -> Value {
    let mut spec = part_number(&s.part);
    let (text, fields): (Option<String>, Option<&Vec<Bytes>>) = match &s.text {
        None => (None, None),
        Some(SectionText::Header) => (Some("HEADER".into()), None),
        Some(SectionText::Text) => (Some("TEXT".into()), None),
        Some(SectionText::Mime) => (Some("MIME".into()), None),
        Some(SectionText::HeaderFields(f)) => (Some("HEADER.FIELDS".into()), Some(f)),
        Some(SectionText::HeaderFieldsNot(f)) => (Some("HEADER.FIELDS.NOT".into()), Some(f)),
        Some(SectionText::Other(raw)) => (Some(String::from_utf8_lossy(raw).into_owned()), None),
    };
    if let Some(t) = &text {
        if !spec.is_empty() {
            spec.push('.');
        }
        spec.push_str(t);
    }
    if let Some(f) = fields {
        let names: Vec<String> = f
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        spec.push_str(&format!(" ({})", names.join(" ")));
    }
    let mut m = Map::new();
    m.insert("spec".into(), Value::String(spec));
    m.insert("part".into(), json!(s.part));
    m.insert(
        "text".into(),
        match (&s.text, text) {
            (Some(SectionText::Other(raw)), _) => bytes(raw),
            (_, t) => json!(t),
        },
    );
    if let Some(f) = fields {
        m.insert("fields".into(), byte_list(f));
    }
    Value::Object(m)
}

/// One FETCH item.
pub fn fetch_item(i: &FetchItem) -> Value {
    match i {
        FetchItem::Flags(f) => item("FLAGS", strings(f), []),
        FetchItem::Uid(u) => item("UID", json!(u), []),
        FetchItem::InternalDate(d) => item("INTERNALDATE", date(d), []),
        FetchItem::Rfc822Size(n) => item("RFC822.SIZE", json!(n), []),
        FetchItem::Envelope(e) => item("ENVELOPE", envelope(e), []),
        FetchItem::BodyStructure(b) => item("BODYSTRUCTURE", body(b), []),
        FetchItem::Body(b) => item("BODY", body(b), []),
        FetchItem::BodySection {
            section: s,
            origin,
            data,
        } => item(
            "BODY",
            opt_bytes(data.as_ref()),
            [("section", section(s)), ("origin", json!(origin))],
        ),
        FetchItem::BinarySection {
            section: part,
            origin,
            data,
        } => item(
            "BINARY",
            opt_bytes(data.as_ref()),
            [
                ("section", Value::String(part_number(part))),
                ("origin", json!(origin)),
            ],
        ),
        FetchItem::BinarySize {
            section: part,
            size,
        } => item(
            "BINARY.SIZE",
            json!(size),
            [("section", Value::String(part_number(part)))],
        ),
        FetchItem::Rfc822(d) => item("RFC822", opt_bytes(d.as_ref()), []),
        FetchItem::Rfc822Header(d) => item("RFC822.HEADER", opt_bytes(d.as_ref()), []),
        FetchItem::Rfc822Text(d) => item("RFC822.TEXT", opt_bytes(d.as_ref()), []),
        FetchItem::ModSeq(n) => item("MODSEQ", json!(n), []),
        FetchItem::EmailId(id) => item("EMAILID", bytes(id), []),
        FetchItem::ThreadId(id) => item("THREADID", opt_bytes(id.as_ref()), []),
        FetchItem::SaveDate(d) => item("SAVEDATE", d.as_ref().map_or(Value::Null, date), []),
        FetchItem::Preview(p) => item("PREVIEW", opt_bytes(p.as_ref()), []),
        FetchItem::GmailMessageId(n) => item("X-GM-MSGID", Value::String(n.to_string()), []),
        FetchItem::GmailThreadId(n) => item("X-GM-THRID", Value::String(n.to_string()), []),
        FetchItem::GmailLabels(l) => item("X-GM-LABELS", byte_list(l), []),
        FetchItem::Other { name, raw } => json!({"name": name, "raw": bytes(raw)}),
        FetchItem::Undecodable { name, raw, reason } => {
            json!({"name": name, "raw": bytes(raw), "error": reason})
        }
        other => item("UNKNOWN", Value::String(format!("{other:?}")), []),
    }
}

/// An ENVELOPE.
pub fn envelope(e: &Envelope) -> Value {
    let addrs = |list: &[Address]| Value::Array(list.iter().map(address).collect());
    json!({
        "date": opt_bytes(e.date.as_ref()),
        "subject": opt_bytes(e.subject.as_ref()),
        "from": addrs(&e.from),
        "sender": addrs(&e.sender),
        "reply_to": addrs(&e.reply_to),
        "to": addrs(&e.to),
        "cc": addrs(&e.cc),
        "bcc": addrs(&e.bcc),
        "in_reply_to": opt_bytes(e.in_reply_to.as_ref()),
        "message_id": opt_bytes(e.message_id.as_ref()),
    })
}

/// An address of an ENVELOPE (a group marker has no host).
fn address(a: &Address) -> Value {
    json!({
        "name": opt_bytes(a.name.as_ref()),
        "adl": opt_bytes(a.adl.as_ref()),
        "mailbox": opt_bytes(a.mailbox.as_ref()),
        "host": opt_bytes(a.host.as_ref()),
    })
}

/// Content-Disposition, Content-Language, Content-Location and further
/// extension values of a body part.
fn extension(m: &mut Map<String, Value>, ext: &Extension) {
    m.insert(
        "disposition".into(),
        ext.disposition.as_ref().map_or(
            Value::Null,
            |(kind, p)| json!({"type": bytes(kind), "params": params(p)}),
        ),
    );
    m.insert("language".into(), byte_list(&ext.language));
    m.insert("location".into(), opt_bytes(ext.location.as_ref()));
    m.insert("extra".into(), byte_list(&ext.extra));
}

/// A BODY or BODYSTRUCTURE, recursively (the library bounds the nesting).
pub fn body(b: &BodyStructure) -> Value {
    let mut m = Map::new();
    m.insert("mime_type".into(), Value::String(b.mime_type()));
    match b {
        BodyStructure::Single(p) => {
            m.insert("media_type".into(), bytes(&p.media_type));
            m.insert("media_subtype".into(), bytes(&p.media_subtype));
            m.insert("params".into(), params(&p.params));
            m.insert("id".into(), opt_bytes(p.id.as_ref()));
            m.insert("description".into(), opt_bytes(p.description.as_ref()));
            m.insert("encoding".into(), opt_bytes(p.encoding.as_ref()));
            m.insert("size".into(), json!(p.size));
            m.insert("lines".into(), json!(p.lines));
            m.insert(
                "message".into(),
                p.message.as_ref().map_or(
                    Value::Null,
                    |(env, inner)| json!({"envelope": envelope(env), "body": body(inner)}),
                ),
            );
            m.insert("md5".into(), opt_bytes(p.md5.as_ref()));
            extension(&mut m, &p.ext);
        }
        BodyStructure::Multipart(mp) => {
            m.insert("media_type".into(), Value::String("MULTIPART".into()));
            m.insert("media_subtype".into(), bytes(&mp.media_subtype));
            m.insert(
                "parts".into(),
                Value::Array(mp.parts.iter().map(body).collect()),
            );
            m.insert("params".into(), params(&mp.params));
            extension(&mut m, &mp.ext);
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;
    use imaplib::imaplib_proto::Frame;

    /// The typed form of one response (`\n` line ends become CRLF).
    fn typed(text: &str) -> Value {
        let input = text.replace('\n', "\r\n");
        let frame = Frame::parse_one(input.as_bytes()).expect("one response");
        response(&Response::parse(frame)).0
    }

    fn typed_bytes(input: &[u8]) -> Value {
        let frame = Frame::parse_one(input).expect("one response");
        response(&Response::parse(frame)).0
    }

    /// The FETCH item named `name`.
    fn fetch_item_of(t: &Value, name: &str) -> Value {
        t["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {t}"))
    }

    #[test]
    fn bodystructure_with_every_extension() {
        let t = typed(
            "* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") \"<id@x>\" \
             \"desc\" \"QUOTED-PRINTABLE\" 10 1 \"md5sum\" (\"INLINE\" NIL) (\"en\" \"de\") \
             \"http://x/loc\")(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 100 (\"Mon, 1 Jan 2024 \
             00:00:00 +0000\" \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" NIL \
             NIL NIL \"7BIT\" 5 1) 4 NIL (\"ATTACHMENT\" (\"FILENAME\" \"m.eml\")) NIL NIL) \
             \"MIXED\" (\"BOUNDARY\" \"b\") (\"INLINE\" NIL) \"fr\" NIL))\n",
        );
        let b = fetch_item_of(&t, "BODYSTRUCTURE")["value"].clone();
        assert_eq!(b["mime_type"], "multipart/mixed");
        assert_eq!(b["params"], json!([["BOUNDARY", "b"]]));
        assert_eq!(b["disposition"], json!({"type": "INLINE", "params": []}));
        assert_eq!(b["language"], json!(["fr"]));
        assert_eq!(b["location"], Value::Null);
        let text = &b["parts"][0];
        assert_eq!(text["id"], "<id@x>");
        assert_eq!(text["description"], "desc");
        assert_eq!(text["encoding"], "QUOTED-PRINTABLE");
        assert_eq!(text["md5"], "md5sum");
        assert_eq!(text["language"], json!(["en", "de"]));
        assert_eq!(text["location"], "http://x/loc");
        let msg = &b["parts"][1];
        assert_eq!(msg["mime_type"], "message/rfc822");
        assert_eq!(msg["lines"], 4);
        assert_eq!(msg["message"]["envelope"]["subject"], "inner");
        assert_eq!(msg["message"]["envelope"]["from"], json!([]));
        assert_eq!(msg["message"]["body"]["mime_type"], "text/plain");
        assert_eq!(msg["message"]["body"]["size"], 5);
        assert_eq!(
            msg["disposition"],
            json!({"type": "ATTACHMENT", "params": [["FILENAME", "m.eml"]]})
        );
    }

    #[test]
    fn every_fetch_item() {
        let t = typed(
            "* 3 FETCH (UID 9 BODY (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1) \
             BODY[1.2.MIME]<5> {3}\nabc BODY[2.HEADER.FIELDS.NOT (X-A X-B)] NIL BODY[] \"\" \
             BODY[1.XYZ] \"q\" BINARY[1.2]<0> ~{2}\nhi BINARY.SIZE[3] 42 RFC822 NIL \
             RFC822.HEADER \"h\" RFC822.TEXT \"t\" MODSEQ (77) EMAILID (M1) THREADID NIL \
             SAVEDATE \"01-Feb-2024 10:00:00 +0000\" PREVIEW \"p\" X-GM-MSGID 1278455344230334865 \
             X-GM-THRID 1 X-GM-LABELS (\\Inbox \"a b\") X-UNKNOWN (1 2) RFC822.SIZE 12)\n",
        );
        assert_eq!(t["type"], "fetch");
        assert_eq!(t["seq"], 3);
        let items = t["items"].as_array().unwrap();
        let expected = [
            json!({"name": "UID", "value": 9}),
            json!({"name": "BODY", "section": {"spec": "1.2.MIME", "part": [1, 2], "text": "MIME"},
                   "origin": 5, "value": "abc"}),
            json!({"name": "BODY", "section": {"spec": "2.HEADER.FIELDS.NOT (X-A X-B)",
                   "part": [2], "text": "HEADER.FIELDS.NOT", "fields": ["X-A", "X-B"]},
                   "origin": null, "value": null}),
            json!({"name": "BODY", "section": {"spec": "", "part": [], "text": null},
                   "origin": null, "value": ""}),
            json!({"name": "BODY", "section": {"spec": "1.XYZ", "part": [1], "text": "XYZ"},
                   "origin": null, "value": "q"}),
            json!({"name": "BINARY", "section": "1.2", "origin": 0, "value": "hi"}),
            json!({"name": "BINARY.SIZE", "section": "3", "value": 42}),
            json!({"name": "RFC822", "value": null}),
            json!({"name": "RFC822.HEADER", "value": "h"}),
            json!({"name": "RFC822.TEXT", "value": "t"}),
            json!({"name": "MODSEQ", "value": 77}),
            json!({"name": "EMAILID", "value": "M1"}),
            json!({"name": "THREADID", "value": null}),
            json!({"name": "SAVEDATE", "value": "2024-02-01T10:00:00+00:00"}),
            json!({"name": "PREVIEW", "value": "p"}),
            json!({"name": "X-GM-MSGID", "value": "1278455344230334865"}),
            json!({"name": "X-GM-THRID", "value": "1"}),
            json!({"name": "X-GM-LABELS", "value": ["\\Inbox", "a b"]}),
            json!({"name": "X-UNKNOWN", "raw": "(1 2)"}),
            json!({"name": "RFC822.SIZE", "value": 12}),
        ];
        assert_eq!(items[0], expected[0]);
        assert_eq!(items[1]["name"], "BODY");
        assert_eq!(items[1]["value"]["mime_type"], "text/plain");
        assert_eq!(items[1]["value"]["md5"], Value::Null);
        for (got, want) in items[2..].iter().zip(&expected[1..]) {
            assert_eq!(got, want);
        }
        assert_eq!(items.len(), expected.len() + 1);
    }

    #[test]
    fn non_utf8_bytes_are_base64() {
        let t = typed_bytes(b"* 1 FETCH (BODY[] {2}\r\n\xff\xfe ENVELOPE (NIL \"caf\xe9\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n");
        assert_eq!(
            fetch_item_of(&t, "BODY")["value"],
            json!({"base64": "//4="})
        );
        assert_eq!(
            fetch_item_of(&t, "ENVELOPE")["value"]["subject"],
            json!({"base64": "Y2Fm6Q=="})
        );
    }

    #[test]
    fn every_kind_of_untagged_data() {
        let cases = [
            (
                "* CAPABILITY IMAP4rev1 IDLE\n",
                json!({"type": "capability", "capabilities": ["IMAP4rev1", "IDLE"]}),
            ),
            (
                "* ENABLED UTF8=ACCEPT\n",
                json!({"type": "enabled", "capabilities": ["UTF8=ACCEPT"]}),
            ),
            (
                "* FLAGS (\\Seen $X)\n",
                json!({"type": "flags", "flags": ["\\Seen", "$X"]}),
            ),
            ("* 4 RECENT\n", json!({"type": "recent", "count": 4})),
            ("* 5 EXPUNGE\n", json!({"type": "expunge", "seq": 5})),
            (
                "* VANISHED (EARLIER) 1:3,7\n",
                json!({"type": "vanished", "earlier": true, "uids": "1:3,7"}),
            ),
            (
                "* LSUB () NIL &AOk-t&AOk-\n",
                json!({"type": "lsub", "attributes": [], "delimiter": null,
                "mailbox": {"raw": "&AOk-t&AOk-", "name": "été"}, "special_use": null, "extended": []}),
            ),
            (
                "* LIST (\\HasChildren) \"/\" Foo (CHILDINFO (SUBSCRIBED) OLDNAME (Bar) X-Y 1)\n",
                json!({"type": "list", "attributes": ["\\HasChildren"], "delimiter": "/",
                "mailbox": {"raw": "Foo", "name": "Foo"}, "special_use": null, "extended": [
                    {"tag": "CHILDINFO", "value": ["SUBSCRIBED"]},
                    {"tag": "OLDNAME", "value": {"raw": "Bar", "name": "Bar"}},
                    {"tag": "X-Y", "raw": "1"}]}),
            ),
            (
                "* SEARCH 2 4 (MODSEQ 9)\n",
                json!({"type": "search", "ids": [2, 4], "modseq": 9}),
            ),
            (
                "* SORT 5 1\n",
                json!({"type": "sort", "ids": [5, 1], "modseq": null}),
            ),
            (
                "* ESEARCH UID PARTIAL (1:5 NIL)\n",
                json!({"type": "esearch", "tag": null, "uid": true,
                "min": null, "max": null, "count": null, "all": null,
                "partial": {"range": "1:5", "set": null}, "modseq": null, "other": []}),
            ),
            (
                "* NAMESPACE ((\"\" \"/\")) NIL ((\"Shared/\" \"/\" \"X\" (\"a\")))\n",
                json!({"type": "namespace",
                "personal": [{"prefix": "", "delimiter": "/", "extensions": []}],
                "other_users": [],
                "shared": [{"prefix": "Shared/", "delimiter": "/", "extensions": ["\"X\"", "(\"a\")"]}]}),
            ),
            (
                "* ID (\"name\" \"Dovecot\" \"x\" NIL)\n",
                json!({"type": "id", "fields": [["name", "Dovecot"], ["x", null]]}),
            ),
            ("* ID NIL\n", json!({"type": "id", "fields": null})),
            (
                "* QUOTA \"\" (STORAGE 10 512)\n",
                json!({"type": "quota", "root": "",
                "resources": [{"name": "STORAGE", "usage": 10, "limit": 512}]}),
            ),
            (
                "* QUOTAROOT INBOX \"\"\n",
                json!({"type": "quotaroot", "mailbox": {"raw": "INBOX", "name": "INBOX"}, "roots": [""]}),
            ),
            (
                "* ACL INBOX alice lrswi\n",
                json!({"type": "acl", "mailbox": {"raw": "INBOX", "name": "INBOX"},
                "entries": [["alice", "lrswi"]]}),
            ),
            (
                "* LISTRIGHTS INBOX bob \"\" l r\n",
                json!({"type": "listrights", "mailbox": {"raw": "INBOX", "name": "INBOX"},
                "identifier": "bob", "required": "", "optional": ["l", "r"]}),
            ),
            (
                "* MYRIGHTS INBOX lr\n",
                json!({"type": "myrights", "mailbox": {"raw": "INBOX", "name": "INBOX"}, "rights": "lr"}),
            ),
            (
                "* METADATA \"\" (/shared/comment \"hi\")\n",
                json!({"type": "metadata", "mailbox": {"raw": "", "name": ""},
                "entries": [["/shared/comment", "hi"]]}),
            ),
            (
                "* ANNOTATION INBOX /comment (value.priv \"c\")\n",
                json!({"type": "annotation",
                "mailbox": {"raw": "INBOX", "name": "INBOX"},
                "entries": [{"entry": "/comment", "attributes": [["value.priv", "c"]]}]}),
            ),
            (
                "* XFOO a b\n",
                json!({"type": "other", "name": "XFOO", "raw": "a b"}),
            ),
            (
                "+ go ahead\n",
                json!({"type": "continuation", "text": "go ahead"}),
            ),
            (
                "* BYE [ALERT] going down\n",
                json!({"type": "condition", "status": "BYE",
                "code": {"name": "ALERT"}, "text": "going down"}),
            ),
            (
                "A1 NO [NONEXISTENT] no such mailbox\n",
                json!({"type": "tagged", "tag": "A1", "status": "NO",
                "code": {"name": "NONEXISTENT", "rfc5530": true}, "text": "no such mailbox"}),
            ),
            (
                "A2 OK [X-WEIRD 1 2] fine\n",
                json!({"type": "tagged", "tag": "A2", "status": "OK",
                "code": {"name": "X-WEIRD", "args": "1 2"}, "text": "fine"}),
            ),
            (
                "* OK [APPENDUID 7 3:4] x\n",
                json!({"type": "condition", "status": "OK",
                "code": {"name": "APPENDUID", "uid_validity": 7, "uids": "3:4"}, "text": "x"}),
            ),
            (
                "* OK [MODIFIED 2,4:*] x\n",
                json!({"type": "condition", "status": "OK",
                "code": {"name": "MODIFIED", "set": "2,4:*"}, "text": "x"}),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(typed(input), want, "{input}");
        }
    }

    #[test]
    fn undecodable_and_unparsed_keep_their_bytes() {
        let input = "* 99999999999 EXISTS\r\n";
        let frame = Frame::parse_one(input.as_bytes()).unwrap();
        let (t, error) = response(&Response::parse(frame));
        assert_eq!(t["type"], "undecodable");
        assert_eq!(t["raw"], input);
        assert!(error.is_some());
        let frame = Frame::parse_one(b"what is this\r\n").unwrap();
        let (t, error) = response(&Response::parse(frame));
        assert_eq!(t["type"], "unparsed");
        assert_eq!(t["raw"], "what is this\r\n");
        assert_eq!(t["error"].as_str(), error.as_deref());
    }

    #[test]
    fn long_thread_chains_stay_flat() {
        let ids: Vec<String> = (1..=10_000).map(|i| i.to_string()).collect();
        let t = typed(&format!("* THREAD ({})((1)(2))\n", ids.join(" ")));
        assert_eq!(
            t["threads"][0]["messages"].as_array().map(Vec::len),
            Some(10_000)
        );
        assert_eq!(t["threads"][0]["replies"], json!([]));
        // A placeholder parent (no message) with two replies.
        assert_eq!(
            t["threads"][1],
            json!({"messages": [], "replies": [
                {"messages": [1], "replies": []}, {"messages": [2], "replies": []}]})
        );
    }

    #[test]
    fn random_responses_never_panic() {
        let alphabet: &[&[u8]] = &[
            b"* ",
            b"1 ",
            b"FETCH ",
            b"(",
            b")",
            b" ",
            b"\"",
            b"NIL",
            b"BODY",
            b"[",
            b"]",
            b"BODYSTRUCTURE",
            b"ENVELOPE",
            b"UID",
            b"{2}\r\nab",
            b"THREAD",
            b"LIST",
            b"STATUS",
            b"ESEARCH",
            b"ALL",
            b"1:*",
            b"OK ",
            b"[UIDVALIDITY ",
            b"\xff",
            b"\\",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let mut line = Vec::new();
            for _ in 0..(next() % 30) {
                line.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
            line.extend_from_slice(b"\r\n");
            if let Ok(frame) = Frame::parse_one(&line) {
                let _ = json::line(&response(&Response::parse(frame)).0);
            }
        }
    }
}
