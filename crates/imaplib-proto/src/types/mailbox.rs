//! Mailbox and server data: LIST/LSUB (RFC 3501, 5258, 6154), STATUS
//! (RFC 3501, 7162, 8438, 7889), SEARCH / ESEARCH (RFC 4731, 7162, 9394),
//! SORT / THREAD (RFC 5256), NAMESPACE (RFC 2342), ID (RFC 2971), QUOTA
//! (RFC 9208), ACL (RFC 4314), METADATA (RFC 5464), VANISHED (RFC 7162).

use bytes::Bytes;

use super::reader::{DResult, DecodeError, Reader};
use super::seqset::{PartialRange, SequenceSet};

/// A mailbox name as the server sent it. The raw bytes are its identity
/// (send them back as they are); [`Mailbox::name`] decodes modified UTF-7
/// for display.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox {
    /// The name on the wire (modified UTF-7, or UTF-8 under UTF8=ACCEPT).
    pub raw: Bytes,
}

impl Mailbox {
    /// The name for display: modified UTF-7 decoded leniently (never fails).
    /// Names received under UTF8=ACCEPT are UTF-8 already: use
    /// [`Mailbox::name_utf8`].
    pub fn name(&self) -> String {
        if self.raw.eq_ignore_ascii_case(b"INBOX") {
            return "INBOX".to_string();
        }
        crate::utf7::decode_lossy(&self.raw)
    }

    /// The name taken as UTF-8 (UTF8=ACCEPT), invalid bytes replaced.
    pub fn name_utf8(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// Strict modified UTF-7 decoding.
    pub fn decode_strict(&self) -> Result<String, crate::utf7::DecodeError> {
        crate::utf7::decode(&self.raw)
    }
}

/// A LIST or LSUB entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// Attributes as sent (`\HasNoChildren`, `\Sent`, `\Noselect`...).
    pub attributes: Vec<String>,
    /// Hierarchy delimiter; `None` for a flat namespace (NIL).
    pub delimiter: Option<u8>,
    /// The mailbox.
    pub mailbox: Mailbox,
    /// Extended data (RFC 5258): CHILDINFO, OLDNAME...
    pub extended: Vec<ListExtended>,
}

/// RFC 5258 extended LIST data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListExtended {
    /// `CHILDINFO (...)`.
    ChildInfo(Vec<String>),
    /// `OLDNAME (name)` (RFC 9051).
    OldName(Mailbox),
    /// Anything else, raw.
    Other {
        /// The tag, upper case.
        tag: String,
        /// The value, raw.
        raw: Bytes,
    },
}

impl ListEntry {
    /// True if the entry carries `attr` (case-insensitive, with backslash).
    pub fn has_attribute(&self, attr: &str) -> bool {
        self.attributes.iter().any(|a| a.eq_ignore_ascii_case(attr))
    }

    /// The RFC 6154 special use of the mailbox, if any (`\Sent`...).
    pub fn special_use(&self) -> Option<&str> {
        const USES: [&str; 7] = [
            "\\All",
            "\\Archive",
            "\\Drafts",
            "\\Flagged",
            "\\Junk",
            "\\Sent",
            "\\Trash",
        ];
        self.attributes
            .iter()
            .find(|a| USES.iter().any(|u| u.eq_ignore_ascii_case(a)))
            .map(String::as_str)
    }
}

pub(crate) fn list_entry(r: &mut Reader<'_>) -> DResult<ListEntry> {
    let attributes = super::fetch::flag_list(r)?;
    let delimiter = match r.nstring()? {
        None => None,
        Some(d) if d.len() == 1 => Some(d[0]),
        Some(d) if d.is_empty() => None,
        // "\\" quoted becomes one byte already; anything longer is odd.
        Some(d) => Some(d[0]),
    };
    let mailbox = Mailbox { raw: r.astring()? };
    let mut extended = Vec::new();
    r.skip_spaces();
    if r.peek() == Some(b'(') {
        let mut pending: Option<String> = None;
        r.list(|r| {
            match pending.take() {
                None => pending = Some(String::from_utf8_lossy(&r.string()?).to_ascii_uppercase()),
                Some(tag) => extended.push(match tag.as_str() {
                    "CHILDINFO" => {
                        let mut v = Vec::new();
                        r.list(|r| {
                            v.push(String::from_utf8_lossy(&r.string()?).into_owned());
                            Ok(())
                        })?;
                        ListExtended::ChildInfo(v)
                    }
                    "OLDNAME" => {
                        r.expect(b'(')?;
                        let m = Mailbox { raw: r.astring()? };
                        r.expect(b')')?;
                        ListExtended::OldName(m)
                    }
                    _ => ListExtended::Other {
                        tag,
                        raw: r.skip_value()?,
                    },
                }),
            }
            Ok(())
        })?;
    }
    Ok(ListEntry {
        attributes,
        delimiter,
        mailbox,
        extended,
    })
}

/// One STATUS attribute (RFC 3501 §6.3.10 and extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusItem {
    /// `MESSAGES`
    Messages(u32),
    /// `RECENT`
    Recent(u32),
    /// `UIDNEXT`
    UidNext(u32),
    /// `UIDVALIDITY`
    UidValidity(u32),
    /// `UNSEEN`
    Unseen(u32),
    /// `DELETED` (RFC 9051)
    Deleted(u32),
    /// `SIZE` (RFC 8438)
    Size(u64),
    /// `HIGHESTMODSEQ` (RFC 7162)
    HighestModSeq(u64),
    /// `APPENDLIMIT` (RFC 7889); `None` for NIL (no limit).
    AppendLimit(Option<u64>),
    /// Anything else, raw.
    Other {
        /// The name, upper case.
        name: String,
        /// The value, raw.
        raw: Bytes,
    },
}

/// A STATUS response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxStatus {
    /// The mailbox.
    pub mailbox: Mailbox,
    /// The attributes in the order sent.
    pub items: Vec<StatusItem>,
}

impl MailboxStatus {
    fn find<T>(&self, f: impl Fn(&StatusItem) -> Option<T>) -> Option<T> {
        self.items.iter().find_map(f)
    }
    /// MESSAGES, if asked.
    pub fn messages(&self) -> Option<u32> {
        self.find(|i| {
            if let StatusItem::Messages(v) = i {
                Some(*v)
            } else {
                None
            }
        })
    }
    /// UNSEEN, if asked.
    pub fn unseen(&self) -> Option<u32> {
        self.find(|i| {
            if let StatusItem::Unseen(v) = i {
                Some(*v)
            } else {
                None
            }
        })
    }
    /// UIDNEXT, if asked.
    pub fn uid_next(&self) -> Option<u32> {
        self.find(|i| {
            if let StatusItem::UidNext(v) = i {
                Some(*v)
            } else {
                None
            }
        })
    }
    /// UIDVALIDITY, if asked.
    pub fn uid_validity(&self) -> Option<u32> {
        self.find(|i| {
            if let StatusItem::UidValidity(v) = i {
                Some(*v)
            } else {
                None
            }
        })
    }
}

pub(crate) fn status(r: &mut Reader<'_>) -> DResult<MailboxStatus> {
    let mailbox = Mailbox { raw: r.astring()? };
    let mut items = Vec::new();
    let mut pending: Option<String> = None;
    r.list(|r| {
        match pending.take() {
            None => pending = Some(String::from_utf8_lossy(&r.atom()?).to_ascii_uppercase()),
            Some(name) => items.push(match name.as_str() {
                "MESSAGES" => StatusItem::Messages(r.number32()?),
                "RECENT" => StatusItem::Recent(r.number32()?),
                "UIDNEXT" => StatusItem::UidNext(r.number32()?),
                "UIDVALIDITY" => StatusItem::UidValidity(r.number32()?),
                "UNSEEN" => StatusItem::Unseen(r.number32()?),
                "DELETED" => StatusItem::Deleted(r.number32()?),
                "SIZE" => StatusItem::Size(r.number()?),
                "HIGHESTMODSEQ" => StatusItem::HighestModSeq(r.number()?),
                "APPENDLIMIT" => {
                    if r.keyword("NIL") {
                        StatusItem::AppendLimit(None)
                    } else {
                        StatusItem::AppendLimit(Some(r.number()?))
                    }
                }
                _ => StatusItem::Other {
                    name,
                    raw: r.skip_value()?,
                },
            }),
        }
        Ok(())
    })?;
    if let Some(name) = pending {
        return Err(DecodeError::new(format!(
            "STATUS item {name} without a value"
        )));
    }
    Ok(MailboxStatus { mailbox, items })
}

/// SEARCH results (RFC 3501 §7.2.5), with the RFC 7162 MODSEQ.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchResult {
    /// Sequence numbers or UIDs.
    pub ids: Vec<u32>,
    /// `(MODSEQ n)` at the end, when CONDSTORE is in use.
    pub modseq: Option<u64>,
}

pub(crate) fn search(r: &mut Reader<'_>) -> DResult<SearchResult> {
    let mut out = SearchResult::default();
    loop {
        r.skip_spaces();
        match r.peek() {
            None => break,
            Some(b'(') => {
                r.expect(b'(')?;
                if !r.keyword("MODSEQ") {
                    return Err(r.error("expected MODSEQ"));
                }
                out.modseq = Some(r.number()?);
                r.expect(b')')?;
            }
            Some(_) => out.ids.push(r.number32()?),
        }
    }
    Ok(out)
}

/// ESEARCH results (RFC 4731, 9051, 7162, 9394 PARTIAL).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ESearch {
    /// The `(TAG "...")` correlator.
    pub tag: Option<Bytes>,
    /// True when the results are UIDs.
    pub uid: bool,
    /// `MIN`.
    pub min: Option<u32>,
    /// `MAX`.
    pub max: Option<u32>,
    /// `COUNT`.
    pub count: Option<u32>,
    /// `ALL`, as a sequence set (not expanded).
    pub all: Option<SequenceSet>,
    /// `PARTIAL (range set)` (RFC 9394).
    pub partial: Option<(Bytes, Option<SequenceSet>)>,
    /// `MODSEQ`.
    pub modseq: Option<u64>,
    /// Anything else, raw.
    pub other: Vec<(String, Bytes)>,
}

impl ESearch {
    /// The PARTIAL result (RFC 9394): the range it answers and the
    /// numbers in it (`None` when the range held no results). `None`
    /// when there is no PARTIAL result or its range does not parse.
    pub fn partial_result(&self) -> Option<(PartialRange, Option<&SequenceSet>)> {
        let (range, set) = self.partial.as_ref()?;
        Some((PartialRange::parse(range).ok()?, set.as_ref()))
    }
}

fn seqset_value(r: &mut Reader<'_>) -> DResult<SequenceSet> {
    let a = r.atom()?;
    SequenceSet::parse(&a).map_err(|e| DecodeError::new(e.to_string()))
}

pub(crate) fn esearch(r: &mut Reader<'_>) -> DResult<ESearch> {
    let mut out = ESearch::default();
    r.skip_spaces();
    if r.peek() == Some(b'(') {
        r.expect(b'(')?;
        if !r.keyword("TAG") {
            return Err(r.error("expected TAG"));
        }
        out.tag = Some(r.string()?);
        r.expect(b')')?;
    }
    loop {
        r.skip_spaces();
        if r.at_end() || r.peek().is_none() {
            break;
        }
        let name = String::from_utf8_lossy(&r.atom()?).to_ascii_uppercase();
        match name.as_str() {
            "UID" => out.uid = true,
            "MIN" => out.min = Some(r.number32()?),
            "MAX" => out.max = Some(r.number32()?),
            "COUNT" => out.count = Some(r.number32()?),
            "ALL" => out.all = Some(seqset_value(r)?),
            "MODSEQ" => out.modseq = Some(r.number()?),
            "PARTIAL" => {
                r.expect(b'(')?;
                let range = r.atom()?;
                let set = if r.keyword("NIL") {
                    None
                } else {
                    Some(seqset_value(r)?)
                };
                r.expect(b')')?;
                out.partial = Some((range, set));
            }
            _ => {
                let raw = r.skip_value()?;
                out.other.push((name, raw));
            }
        }
    }
    Ok(out)
}

/// One thread of a THREAD response (RFC 5256), as the wire nests it: a
/// chain of messages, each a reply to the one before, and the sub-threads
/// that branch from the last of them. A chain is a flat list however long,
/// so only branching nests (bounded by [`super::MAX_DEPTH`]). A placeholder
/// parent (siblings with no common message) has an empty chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThreadNode {
    /// The chain of messages, oldest first; empty for a placeholder.
    pub messages: Vec<u32>,
    /// Sub-threads branching from the last message of the chain.
    pub children: Vec<ThreadNode>,
}

impl ThreadNode {
    /// The first message of the thread, if any.
    pub fn root(&self) -> Option<u32> {
        self.messages.first().copied()
    }

    /// Every message of the thread, depth first.
    pub fn all_messages(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(n) = stack.pop() {
            out.extend_from_slice(&n.messages);
            stack.extend(n.children.iter().rev());
        }
        out
    }
}

/// Parses one parenthesised thread.
fn thread_list(r: &mut Reader<'_>) -> DResult<ThreadNode> {
    r.expect(b'(')?;
    r.enter()?;
    let mut node = ThreadNode::default();
    loop {
        r.skip_spaces();
        match r.peek() {
            Some(b')') => {
                r.expect(b')')?;
                break;
            }
            Some(b'(') => node.children.push(thread_list(r)?),
            Some(_) => {
                if !node.children.is_empty() {
                    return Err(r.error("message number after subthreads"));
                }
                node.messages.push(r.number32()?);
            }
            None => return Err(r.error("unterminated thread")),
        }
    }
    r.leave();
    Ok(node)
}

pub(crate) fn thread(r: &mut Reader<'_>) -> DResult<Vec<ThreadNode>> {
    let mut out = Vec::new();
    loop {
        r.skip_spaces();
        match r.peek() {
            None => break,
            Some(b'(') => out.push(thread_list(r)?),
            Some(_) => return Err(r.error("expected '('")),
        }
    }
    Ok(out)
}

/// One namespace (RFC 2342): prefix and delimiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceEntry {
    /// The prefix, raw.
    pub prefix: Bytes,
    /// The hierarchy delimiter.
    pub delimiter: Option<u8>,
    /// Extension data, raw.
    pub extensions: Vec<Bytes>,
}

/// The three namespace lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Namespaces {
    /// Personal namespaces.
    pub personal: Vec<NamespaceEntry>,
    /// Other users' namespaces.
    pub other_users: Vec<NamespaceEntry>,
    /// Shared namespaces.
    pub shared: Vec<NamespaceEntry>,
}

fn namespace_list(r: &mut Reader<'_>) -> DResult<Vec<NamespaceEntry>> {
    let mut out = Vec::new();
    r.list(|r| {
        r.expect(b'(')?;
        let prefix = r.string()?;
        let delimiter = r.nstring()?.and_then(|d| d.first().copied());
        let mut extensions = Vec::new();
        while !r.eat(b')') {
            if r.at_end() {
                return Err(r.error("unterminated namespace"));
            }
            extensions.push(r.skip_value()?);
        }
        out.push(NamespaceEntry {
            prefix,
            delimiter,
            extensions,
        });
        Ok(())
    })?;
    Ok(out)
}

pub(crate) fn namespace(r: &mut Reader<'_>) -> DResult<Namespaces> {
    Ok(Namespaces {
        personal: namespace_list(r)?,
        other_users: namespace_list(r)?,
        shared: namespace_list(r)?,
    })
}

/// `(key, value)` pairs of ID, METADATA and ANNOTATION; a value may be NIL.
pub type Pairs = Vec<(Bytes, Option<Bytes>)>;

/// `(key value ...)` pairs, or NIL (ID, METADATA).
pub(crate) fn pairs(r: &mut Reader<'_>) -> DResult<Option<Pairs>> {
    r.skip_spaces();
    if r.keyword("NIL") {
        return Ok(None);
    }
    let mut out = Vec::new();
    let mut key: Option<Bytes> = None;
    r.list(|r| {
        match key.take() {
            None => key = Some(r.string()?),
            Some(k) => out.push((k, r.nstring()?)),
        }
        Ok(())
    })?;
    if let Some(k) = key {
        out.push((k, None));
    }
    Ok(Some(out))
}

/// One resource of a QUOTA response (RFC 9208).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaResource {
    /// Resource name, upper case (`STORAGE`, `MESSAGE`...).
    pub name: String,
    /// Usage (STORAGE in KiB).
    pub usage: u64,
    /// Limit.
    pub limit: u64,
}

/// A QUOTA response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    /// The quota root.
    pub root: Bytes,
    /// Its resources.
    pub resources: Vec<QuotaResource>,
}

pub(crate) fn quota(r: &mut Reader<'_>) -> DResult<Quota> {
    let root = r.astring()?;
    let mut resources = Vec::new();
    let mut pending: Vec<Bytes> = Vec::new();
    r.list(|r| {
        pending.push(r.atom()?);
        if pending.len() == 3 {
            let parse = |b: &Bytes| -> DResult<u64> {
                std::str::from_utf8(b)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| DecodeError::new("quota value is not a number"))
            };
            resources.push(QuotaResource {
                name: String::from_utf8_lossy(&pending[0]).to_ascii_uppercase(),
                usage: parse(&pending[1])?,
                limit: parse(&pending[2])?,
            });
            pending.clear();
        }
        Ok(())
    })?;
    if !pending.is_empty() {
        return Err(DecodeError::new("incomplete quota resource"));
    }
    Ok(Quota { root, resources })
}

/// QUOTAROOT: the mailbox and its quota roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaRoot {
    /// The mailbox.
    pub mailbox: Mailbox,
    /// Its quota roots.
    pub roots: Vec<Bytes>,
}

pub(crate) fn quota_root(r: &mut Reader<'_>) -> DResult<QuotaRoot> {
    let mailbox = Mailbox { raw: r.astring()? };
    let mut roots = Vec::new();
    while !r.at_end() && r.peek().is_some() {
        roots.push(r.astring()?);
        r.skip_spaces();
    }
    Ok(QuotaRoot { mailbox, roots })
}

/// An ACL response (RFC 4314).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// The mailbox.
    pub mailbox: Mailbox,
    /// `(identifier, rights)` pairs.
    pub entries: Vec<(Bytes, Bytes)>,
}

pub(crate) fn acl(r: &mut Reader<'_>) -> DResult<Acl> {
    let mailbox = Mailbox { raw: r.astring()? };
    let mut entries = Vec::new();
    loop {
        r.skip_spaces();
        if r.peek().is_none() {
            break;
        }
        let who = r.astring()?;
        let rights = r.astring()?;
        entries.push((who, rights));
    }
    Ok(Acl { mailbox, entries })
}

/// A LISTRIGHTS response (RFC 4314).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRights {
    /// The mailbox.
    pub mailbox: Mailbox,
    /// The identifier.
    pub identifier: Bytes,
    /// Rights always granted.
    pub required: Bytes,
    /// Groups of optional rights.
    pub optional: Vec<Bytes>,
}

pub(crate) fn list_rights(r: &mut Reader<'_>) -> DResult<ListRights> {
    let mailbox = Mailbox { raw: r.astring()? };
    let identifier = r.astring()?;
    let required = r.astring()?;
    let mut optional = Vec::new();
    loop {
        r.skip_spaces();
        if r.peek().is_none() {
            break;
        }
        optional.push(r.astring()?);
    }
    Ok(ListRights {
        mailbox,
        identifier,
        required,
        optional,
    })
}

/// A METADATA response (RFC 5464): values, or (unsolicited) entry names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The mailbox (empty for server metadata).
    pub mailbox: Mailbox,
    /// `(entry, value)`; the value is `None` for NIL or for an unsolicited
    /// change notice that names entries only.
    pub entries: Vec<(Bytes, Option<Bytes>)>,
}

pub(crate) fn metadata(r: &mut Reader<'_>) -> DResult<Metadata> {
    let mailbox = Mailbox { raw: r.astring()? };
    r.skip_spaces();
    if r.peek() == Some(b'(') {
        let entries = pairs(r)?.unwrap_or_default();
        return Ok(Metadata { mailbox, entries });
    }
    let mut entries = Vec::new();
    while r.peek().is_some() {
        entries.push((r.astring()?, None));
        r.skip_spaces();
    }
    Ok(Metadata { mailbox, entries })
}

/// VANISHED (RFC 7162 §3.2.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vanished {
    /// True for `VANISHED (EARLIER)`.
    pub earlier: bool,
    /// The UIDs.
    pub uids: SequenceSet,
}

pub(crate) fn vanished(r: &mut Reader<'_>) -> DResult<Vanished> {
    r.skip_spaces();
    let mut earlier = false;
    if r.peek() == Some(b'(') {
        r.expect(b'(')?;
        if !r.keyword("EARLIER") {
            return Err(r.error("expected EARLIER"));
        }
        r.expect(b')')?;
        earlier = true;
    }
    Ok(Vanished {
        earlier,
        uids: seqset_value(r)?,
    })
}
