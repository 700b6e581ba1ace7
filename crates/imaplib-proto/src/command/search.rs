//! Typed SEARCH queries (RFC 3501 §6.4.4, RFC 9051 §6.4.4) that choose
//! their charset by themselves.
//!
//! A [`Query`] is a tree of search keys built with constructor functions
//! (`Query::from("bob").and(Query::since(date))`) or parsed from the usual
//! IMAP syntax ([`Query::parse`], `"UNSEEN FROM bob"`). [`Query::encode`]
//! turns it into command arguments:
//!
//! - all text US-ASCII: no `CHARSET`;
//! - 8-bit text with UTF8=ACCEPT enabled (RFC 6855): no `CHARSET`, the
//!   UTF-8 text sent as it is (in quoted strings);
//! - 8-bit text otherwise: `CHARSET UTF-8`, every 8-bit string a literal.
//!
//! String values are always encoded from their content ([`Arg::Text`]:
//! atom, quoted string or literal); keys, numbers, dates and sequence sets
//! go as atoms. The builders [`build::search_query`](super::build::search_query),
//! [`build::uid_search_query`](super::build::uid_search_query),
//! [`build::sort_query`](super::build::sort_query),
//! [`build::thread_query`](super::build::thread_query) and
//! [`build::esearch_query`](super::build::esearch_query) make the commands.

use std::fmt;

use bytes::Bytes;
use chrono::{Datelike, NaiveDate};

use super::Arg;
use crate::error::{ProtoError, ProtoErrorKind};
use crate::types::{SequenceSet, MAX_DEPTH};

/// The entry type of a MODSEQ search key's metadata item (RFC 7162
/// `entry-type-req`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryType {
    /// `priv`: the private (per-user) metadata.
    Private,
    /// `shared`: the shared metadata.
    Shared,
    /// `all`: the larger of the private and shared values.
    All,
}

impl EntryType {
    /// The keyword as written in a search (`priv`, `shared`, `all`).
    pub fn as_str(self) -> &'static str {
        match self {
            EntryType::Private => "priv",
            EntryType::Shared => "shared",
            EntryType::All => "all",
        }
    }
}

/// The metadata item of a MODSEQ key (RFC 7162 §3.1.5): only changes of
/// this item count, e.g. `"/flags/\\Seen" all`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModSeqEntry {
    /// The entry name, e.g. `/flags/\Seen` (without the quotes); it is
    /// always sent as a quoted string.
    pub name: String,
    /// Whose metadata counts.
    pub entry_type: EntryType,
}

/// A SEARCH query: one search key, possibly made of others (RFC 3501
/// §6.4.4, RFC 9051 §6.4.4, and the extension keys named below).
///
/// Build it with the constructor functions ([`Query::from`],
/// [`Query::since`], [`Query::uid`]...) and combine with [`Query::and`],
/// [`Query::or`] and [`Query::not`] (or `!query`), or parse it from text
/// with [`Query::parse`]. `Display` writes the syntax [`Query::parse`]
/// reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Query {
    /// `ALL`: every message.
    All,
    /// `ANSWERED`: messages with `\Answered`.
    Answered,
    /// `BCC string`: the Bcc header contains the string.
    Bcc(String),
    /// `BEFORE date`: internal date earlier than the day.
    Before(NaiveDate),
    /// `BODY string`: the body contains the string.
    Body(String),
    /// `CC string`: the Cc header contains the string.
    Cc(String),
    /// `DELETED`: messages with `\Deleted`.
    Deleted,
    /// `DRAFT`: messages with `\Draft`.
    Draft,
    /// `FLAGGED`: messages with `\Flagged`.
    Flagged,
    /// `FROM string`: the From header contains the string.
    From(String),
    /// `HEADER field-name string`: the header field contains the string
    /// (an empty string matches every message that has the field).
    Header(String, String),
    /// `KEYWORD flag`: messages with this keyword flag.
    Keyword(String),
    /// `LARGER n`: RFC 822 size larger than `n` octets.
    Larger(u64),
    /// `NEW`: recent and unseen (IMAP4rev1 only).
    New,
    /// `NOT key`: messages the key does not match.
    Not(Box<Query>),
    /// `OLD`: not recent (IMAP4rev1 only).
    Old,
    /// `ON date`: internal date within the day.
    On(NaiveDate),
    /// `OR key key`: messages either key matches.
    Or(Box<Query>, Box<Query>),
    /// `RECENT`: messages with `\Recent` (IMAP4rev1 only).
    Recent,
    /// `SEEN`: messages with `\Seen`.
    Seen,
    /// `SENTBEFORE date`: Date header earlier than the day.
    SentBefore(NaiveDate),
    /// `SENTON date`: Date header within the day.
    SentOn(NaiveDate),
    /// `SENTSINCE date`: Date header within or later than the day.
    SentSince(NaiveDate),
    /// `SINCE date`: internal date within or later than the day.
    Since(NaiveDate),
    /// `SMALLER n`: RFC 822 size smaller than `n` octets.
    Smaller(u64),
    /// `SUBJECT string`: the Subject header contains the string.
    Subject(String),
    /// `TEXT string`: the header or body contains the string.
    Text(String),
    /// `TO string`: the To header contains the string.
    To(String),
    /// `UID set`: messages with these UIDs. An empty set matches no
    /// message; IMAP cannot write one, so it is sent and shown as
    /// `NOT ALL`.
    Uid(SequenceSet),
    /// `UNANSWERED`: messages without `\Answered`.
    Unanswered,
    /// `UNDELETED`: messages without `\Deleted`.
    Undeleted,
    /// `UNDRAFT`: messages without `\Draft`.
    Undraft,
    /// `UNFLAGGED`: messages without `\Flagged`.
    Unflagged,
    /// `UNKEYWORD flag`: messages without this keyword flag.
    Unkeyword(String),
    /// `UNSEEN`: messages without `\Seen`.
    Unseen,
    /// A bare sequence set (`1:5,7`): messages with these sequence
    /// numbers. An empty set is sent and shown as `NOT ALL`, as for
    /// [`Query::Uid`].
    SequenceSet(SequenceSet),
    /// `(key key ...)`: messages every key matches. An empty list matches
    /// every message (it is sent as `ALL`, shown as `()`).
    And(Vec<Query>),
    /// `$` (or `UID $` with `uid`): the result an earlier
    /// `SEARCH RETURN (SAVE)` saved (RFC 5182 SEARCHRES).
    SavedResult {
        /// Written `UID $` rather than `$`.
        uid: bool,
    },
    /// `MODSEQ [entry] n` (RFC 7162 CONDSTORE): messages whose mod-sequence
    /// (of the entry, when given) is at least `n`.
    ModSeq {
        /// The metadata item whose changes count, if only one does.
        entry: Option<ModSeqEntry>,
        /// The lowest mod-sequence matched.
        modseq: u64,
    },
    /// `OLDER n` (RFC 5032 WITHIN): internal date more than `n` seconds ago.
    Older(u32),
    /// `YOUNGER n` (RFC 5032 WITHIN): internal date at most `n` seconds ago.
    Younger(u32),
    /// `EMAILID id` (RFC 8474 OBJECTID): the message with this email id.
    EmailId(String),
    /// `THREADID id` (RFC 8474 OBJECTID): messages of this thread.
    ThreadId(String),
    /// A key this type does not know, passed through: the key (sent as
    /// written when it is one word of printable ASCII, else encoded as a
    /// string) and its arguments (each encoded from its content, as every
    /// string), e.g. `X-GM-RAW "has:attachment"`. [`Query::parse`] gives
    /// an unknown key the words and quoted strings after it, up to the next
    /// known key or parenthesis.
    ///
    /// For [`Query::parse`] and `Display` to agree, `key` should be a word
    /// (no space, parenthesis or double quote) that is none of the keys
    /// above, not `$` and does not start with a digit or `*`.
    Raw {
        /// The key, e.g. `X-GM-RAW`.
        key: String,
        /// Its arguments.
        args: Vec<String>,
    },
}

/// The arguments of a SEARCH-like command made from a [`Query`]: the
/// charset to announce, if any, and the criteria.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchArgs {
    /// `Some("UTF-8")` when the criteria must be preceded by
    /// `CHARSET UTF-8` (8-bit text without UTF8=ACCEPT); `None` otherwise.
    pub charset: Option<&'static str>,
    /// The search keys, in order.
    pub args: Vec<Arg>,
}

impl SearchArgs {
    /// `CHARSET <charset>` (when there is one) followed by the keys: the
    /// `search-criteria` of a SEARCH, after its `RETURN (...)` if any.
    pub fn into_criteria(self) -> Vec<Arg> {
        match self.charset {
            Some(cs) => {
                let mut out = Vec::with_capacity(self.args.len() + 2);
                out.push(atom("CHARSET"));
                out.push(atom(cs));
                out.extend(self.args);
                out
            }
            None => self.args,
        }
    }
}

/// Every search key this module knows, as written (upper case).
const KEYS: &[&str] = &[
    "ALL",
    "ANSWERED",
    "BCC",
    "BEFORE",
    "BODY",
    "CC",
    "DELETED",
    "DRAFT",
    "EMAILID",
    "FLAGGED",
    "FROM",
    "HEADER",
    "KEYWORD",
    "LARGER",
    "MODSEQ",
    "NEW",
    "NOT",
    "OLD",
    "OLDER",
    "ON",
    "OR",
    "RECENT",
    "SEEN",
    "SENTBEFORE",
    "SENTON",
    "SENTSINCE",
    "SINCE",
    "SMALLER",
    "SUBJECT",
    "TEXT",
    "THREADID",
    "TO",
    "UID",
    "UNANSWERED",
    "UNDELETED",
    "UNDRAFT",
    "UNFLAGGED",
    "UNKEYWORD",
    "UNSEEN",
    "YOUNGER",
];

fn is_known_key(word: &str) -> bool {
    KEYS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// An IMAP `date`: `d-Mon-yyyy` (`1-Feb-2024`).
fn format_date(d: &NaiveDate) -> String {
    // month0() is always 0..=11.
    let month = MONTHS.get(d.month0() as usize).copied().unwrap_or("Jan");
    format!("{}-{}-{:04}", d.day(), month, d.year())
}

/// Reads `d-Mon-yyyy` (one or two day digits, the month in any case, four
/// year digits).
fn parse_date(s: &str) -> Option<NaiveDate> {
    let mut parts = s.split('-');
    let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || !(1..=2).contains(&day.len())
        || year.len() != 4
        || !day.bytes().chain(year.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))?;
    let day: u32 = day.parse().ok()?;
    let year: i32 = year.parse().ok()?;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()? + 1, day)
}

fn atom(v: &str) -> Arg {
    Arg::Raw(Bytes::copy_from_slice(v.as_bytes()))
}

fn text(v: &str) -> Arg {
    Arg::Text(Bytes::copy_from_slice(v.as_bytes()))
}

/// Writes `v` as a quoted string (backslash before `"` and `\`).
fn quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// True when `v` reads back as one unquoted word in [`Query::parse`]'s
/// syntax (and is pleasant to show so).
fn is_plain_word(v: &str) -> bool {
    !v.is_empty()
        && v.chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '(' | ')' | '"'))
}

impl Query {
    /// `ALL`.
    pub fn all() -> Query {
        Query::All
    }
    /// `ANSWERED`.
    pub fn answered() -> Query {
        Query::Answered
    }
    /// `BCC string`.
    pub fn bcc(s: impl Into<String>) -> Query {
        Query::Bcc(s.into())
    }
    /// `BEFORE date`.
    pub fn before(d: NaiveDate) -> Query {
        Query::Before(d)
    }
    /// `BODY string`.
    pub fn body(s: impl Into<String>) -> Query {
        Query::Body(s.into())
    }
    /// `CC string`.
    pub fn cc(s: impl Into<String>) -> Query {
        Query::Cc(s.into())
    }
    /// `DELETED`.
    pub fn deleted() -> Query {
        Query::Deleted
    }
    /// `DRAFT`.
    pub fn draft() -> Query {
        Query::Draft
    }
    /// `FLAGGED`.
    pub fn flagged() -> Query {
        Query::Flagged
    }
    /// `FROM string`.
    pub fn from(s: impl Into<String>) -> Query {
        Query::From(s.into())
    }
    /// `HEADER field-name string`.
    pub fn header(name: impl Into<String>, value: impl Into<String>) -> Query {
        Query::Header(name.into(), value.into())
    }
    /// `KEYWORD flag`.
    pub fn keyword(flag: impl Into<String>) -> Query {
        Query::Keyword(flag.into())
    }
    /// `LARGER n`.
    pub fn larger(n: u64) -> Query {
        Query::Larger(n)
    }
    /// `NEW` (named so that `Query::new` is not mistaken for a
    /// constructor).
    pub fn new_messages() -> Query {
        Query::New
    }
    /// `OLD`.
    pub fn old() -> Query {
        Query::Old
    }
    /// `ON date`.
    pub fn on(d: NaiveDate) -> Query {
        Query::On(d)
    }
    /// `RECENT`.
    pub fn recent() -> Query {
        Query::Recent
    }
    /// `SEEN`.
    pub fn seen() -> Query {
        Query::Seen
    }
    /// `SENTBEFORE date`.
    pub fn sent_before(d: NaiveDate) -> Query {
        Query::SentBefore(d)
    }
    /// `SENTON date`.
    pub fn sent_on(d: NaiveDate) -> Query {
        Query::SentOn(d)
    }
    /// `SENTSINCE date`.
    pub fn sent_since(d: NaiveDate) -> Query {
        Query::SentSince(d)
    }
    /// `SINCE date`.
    pub fn since(d: NaiveDate) -> Query {
        Query::Since(d)
    }
    /// `SMALLER n`.
    pub fn smaller(n: u64) -> Query {
        Query::Smaller(n)
    }
    /// `SUBJECT string`.
    pub fn subject(s: impl Into<String>) -> Query {
        Query::Subject(s.into())
    }
    /// `TEXT string`.
    pub fn text(s: impl Into<String>) -> Query {
        Query::Text(s.into())
    }
    /// `TO string`.
    pub fn to(s: impl Into<String>) -> Query {
        Query::To(s.into())
    }
    /// `UID set`.
    pub fn uid(set: SequenceSet) -> Query {
        Query::Uid(set)
    }
    /// `UNANSWERED`.
    pub fn unanswered() -> Query {
        Query::Unanswered
    }
    /// `UNDELETED`.
    pub fn undeleted() -> Query {
        Query::Undeleted
    }
    /// `UNDRAFT`.
    pub fn undraft() -> Query {
        Query::Undraft
    }
    /// `UNFLAGGED`.
    pub fn unflagged() -> Query {
        Query::Unflagged
    }
    /// `UNKEYWORD flag`.
    pub fn unkeyword(flag: impl Into<String>) -> Query {
        Query::Unkeyword(flag.into())
    }
    /// `UNSEEN`.
    pub fn unseen() -> Query {
        Query::Unseen
    }
    /// A bare sequence set: messages with these sequence numbers.
    pub fn sequence_set(set: SequenceSet) -> Query {
        Query::SequenceSet(set)
    }
    /// `$`, or `UID $` with `uid` (RFC 5182): the saved search result.
    pub fn saved_result(uid: bool) -> Query {
        Query::SavedResult { uid }
    }
    /// `MODSEQ n` (RFC 7162).
    pub fn modseq(modseq: u64) -> Query {
        Query::ModSeq {
            entry: None,
            modseq,
        }
    }
    /// `MODSEQ "entry" type n` (RFC 7162), e.g. `/flags/\Seen`.
    pub fn modseq_entry(name: impl Into<String>, entry_type: EntryType, modseq: u64) -> Query {
        Query::ModSeq {
            entry: Some(ModSeqEntry {
                name: name.into(),
                entry_type,
            }),
            modseq,
        }
    }
    /// `OLDER seconds` (RFC 5032).
    pub fn older(seconds: u32) -> Query {
        Query::Older(seconds)
    }
    /// `YOUNGER seconds` (RFC 5032).
    pub fn younger(seconds: u32) -> Query {
        Query::Younger(seconds)
    }
    /// `EMAILID id` (RFC 8474).
    pub fn email_id(id: impl Into<String>) -> Query {
        Query::EmailId(id.into())
    }
    /// `THREADID id` (RFC 8474).
    pub fn thread_id(id: impl Into<String>) -> Query {
        Query::ThreadId(id.into())
    }
    /// A key this type does not know, with its arguments, passed through
    /// (e.g. `Query::raw("X-GM-RAW", ["has:attachment"])`).
    pub fn raw<I, S>(key: impl Into<String>, args: I) -> Query
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Query::Raw {
            key: key.into(),
            args: args.into_iter().map(Into::into).collect(),
        }
    }

    /// Messages both match: `self other`. Lists are flattened, so
    /// `a.and(b).and(c)` is one list of three keys.
    pub fn and(self, other: Query) -> Query {
        let mut items = match self {
            Query::And(items) => items,
            q => vec![q],
        };
        match other {
            Query::And(more) => items.extend(more),
            q => items.push(q),
        }
        Query::And(items)
    }

    /// Messages either matches: `OR self other` (also callable as
    /// `Query::or(a, b)`).
    pub fn or(self, other: Query) -> Query {
        Query::Or(Box::new(self), Box::new(other))
    }

    /// Messages this key does not match: `NOT self` (also `!query`).
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Query {
        Query::Not(Box::new(self))
    }

    /// True when every string of the query is US-ASCII (no `CHARSET` is
    /// needed for SEARCH; SORT and THREAD say `US-ASCII`).
    pub fn is_ascii(&self) -> bool {
        match self {
            Query::Bcc(s)
            | Query::Body(s)
            | Query::Cc(s)
            | Query::From(s)
            | Query::Keyword(s)
            | Query::Subject(s)
            | Query::Text(s)
            | Query::To(s)
            | Query::Unkeyword(s)
            | Query::EmailId(s)
            | Query::ThreadId(s) => s.is_ascii(),
            Query::Header(n, v) => n.is_ascii() && v.is_ascii(),
            Query::Not(q) => q.is_ascii(),
            Query::Or(a, b) => a.is_ascii() && b.is_ascii(),
            Query::And(items) => items.iter().all(Query::is_ascii),
            Query::ModSeq { entry, .. } => entry.as_ref().is_none_or(|e| e.name.is_ascii()),
            Query::Raw { key, args } => key.is_ascii() && args.iter().all(|a| a.is_ascii()),
            Query::All
            | Query::Answered
            | Query::Before(_)
            | Query::Deleted
            | Query::Draft
            | Query::Flagged
            | Query::Larger(_)
            | Query::New
            | Query::Old
            | Query::On(_)
            | Query::Recent
            | Query::Seen
            | Query::SentBefore(_)
            | Query::SentOn(_)
            | Query::SentSince(_)
            | Query::Since(_)
            | Query::Smaller(_)
            | Query::Uid(_)
            | Query::Unanswered
            | Query::Undeleted
            | Query::Undraft
            | Query::Unflagged
            | Query::Unseen
            | Query::SequenceSet(_)
            | Query::SavedResult { .. }
            | Query::Older(_)
            | Query::Younger(_) => true,
        }
    }

    /// The arguments of a SEARCH for this query, with the charset chosen
    /// from its text: none when all of it is US-ASCII or when
    /// `utf8_enabled` (UTF8=ACCEPT is enabled, RFC 6855: 8-bit text goes in
    /// quoted strings), else `UTF-8` (8-bit text goes as literals).
    /// `utf8_enabled` must be the session's UTF-8 mode, which the encoder
    /// also follows.
    ///
    /// Several top-level keys are sent side by side (an implicit AND);
    /// nested lists in parentheses.
    pub fn encode(&self, utf8_enabled: bool) -> SearchArgs {
        let charset = if self.is_ascii() || utf8_enabled {
            None
        } else {
            Some("UTF-8")
        };
        let mut args = Vec::new();
        match self {
            Query::And(items) if !items.is_empty() => {
                for q in items {
                    q.emit(&mut args);
                }
            }
            q => q.emit(&mut args),
        }
        SearchArgs { charset, args }
    }

    /// Appends this key's arguments.
    fn emit(&self, out: &mut Vec<Arg>) {
        let keyed = |out: &mut Vec<Arg>, k: &str, v: Arg| {
            out.push(atom(k));
            out.push(v);
        };
        let set = |out: &mut Vec<Arg>, prefix: Option<&str>, s: &SequenceSet| {
            if s.is_empty() {
                out.push(atom("NOT"));
                out.push(atom("ALL"));
            } else {
                if let Some(p) = prefix {
                    out.push(atom(p));
                }
                out.push(atom(&s.to_string()));
            }
        };
        let date = |d: &NaiveDate| atom(&format_date(d));
        let num = |n: u64| atom(&n.to_string());
        match self {
            Query::All => out.push(atom("ALL")),
            Query::Answered => out.push(atom("ANSWERED")),
            Query::Bcc(s) => keyed(out, "BCC", text(s)),
            Query::Before(d) => keyed(out, "BEFORE", date(d)),
            Query::Body(s) => keyed(out, "BODY", text(s)),
            Query::Cc(s) => keyed(out, "CC", text(s)),
            Query::Deleted => out.push(atom("DELETED")),
            Query::Draft => out.push(atom("DRAFT")),
            Query::Flagged => out.push(atom("FLAGGED")),
            Query::From(s) => keyed(out, "FROM", text(s)),
            Query::Header(n, v) => {
                keyed(out, "HEADER", text(n));
                out.push(text(v));
            }
            Query::Keyword(s) => keyed(out, "KEYWORD", text(s)),
            Query::Larger(n) => keyed(out, "LARGER", num(*n)),
            Query::New => out.push(atom("NEW")),
            Query::Not(q) => {
                out.push(atom("NOT"));
                q.emit(out);
            }
            Query::Old => out.push(atom("OLD")),
            Query::On(d) => keyed(out, "ON", date(d)),
            Query::Or(a, b) => {
                out.push(atom("OR"));
                a.emit(out);
                b.emit(out);
            }
            Query::Recent => out.push(atom("RECENT")),
            Query::Seen => out.push(atom("SEEN")),
            Query::SentBefore(d) => keyed(out, "SENTBEFORE", date(d)),
            Query::SentOn(d) => keyed(out, "SENTON", date(d)),
            Query::SentSince(d) => keyed(out, "SENTSINCE", date(d)),
            Query::Since(d) => keyed(out, "SINCE", date(d)),
            Query::Smaller(n) => keyed(out, "SMALLER", num(*n)),
            Query::Subject(s) => keyed(out, "SUBJECT", text(s)),
            Query::Text(s) => keyed(out, "TEXT", text(s)),
            Query::To(s) => keyed(out, "TO", text(s)),
            Query::Uid(s) => set(out, Some("UID"), s),
            Query::Unanswered => out.push(atom("UNANSWERED")),
            Query::Undeleted => out.push(atom("UNDELETED")),
            Query::Undraft => out.push(atom("UNDRAFT")),
            Query::Unflagged => out.push(atom("UNFLAGGED")),
            Query::Unkeyword(s) => keyed(out, "UNKEYWORD", text(s)),
            Query::Unseen => out.push(atom("UNSEEN")),
            Query::SequenceSet(s) => set(out, None, s),
            Query::And(items) if items.is_empty() => out.push(atom("ALL")),
            Query::And(items) => {
                out.push(Arg::ListStart);
                for q in items {
                    q.emit(out);
                }
                out.push(Arg::ListEnd);
            }
            Query::SavedResult { uid } => {
                if *uid {
                    out.push(atom("UID"));
                }
                out.push(atom("$"));
            }
            Query::ModSeq { entry, modseq } => {
                out.push(atom("MODSEQ"));
                if let Some(e) = entry {
                    // The grammar wants a quoted string here, never an
                    // atom: quote it ourselves when it can be quoted.
                    let printable = e.name.bytes().all(|b| (0x20..=0x7e).contains(&b));
                    out.push(if printable {
                        Arg::Raw(Bytes::from(quote(&e.name)))
                    } else {
                        text(&e.name)
                    });
                    out.push(atom(e.entry_type.as_str()));
                }
                out.push(num(*modseq));
            }
            Query::Older(n) => keyed(out, "OLDER", num(u64::from(*n))),
            Query::Younger(n) => keyed(out, "YOUNGER", num(u64::from(*n))),
            Query::EmailId(s) => keyed(out, "EMAILID", text(s)),
            Query::ThreadId(s) => keyed(out, "THREADID", text(s)),
            Query::Raw { key, args } => {
                // Sent as written when it can go inline as one word; else
                // encoded as a string (it cannot then be a key anyway).
                let word = !key.is_empty()
                    && key
                        .bytes()
                        .all(|b| (0x21..=0x7e).contains(&b) && !matches!(b, b'(' | b')' | b'"'));
                out.push(if word { atom(key) } else { text(key) });
                out.extend(args.iter().map(|a| text(a)));
            }
        }
    }

    /// Parses the IMAP search-key syntax (RFC 3501 §6.4.4), as typed on a
    /// command line: `UNSEEN FROM bob`, `OR FROM alice FROM bob`,
    /// `(FROM a SUBJECT "x y") LARGER 100`, `UID 1:*`, `1:5,7`,
    /// `SUBJECT Grüße`, `X-GM-RAW "has:attachment"`.
    ///
    /// - Keys are case-insensitive; several keys side by side mean AND
    ///   (a [`Query::And`] unless there is only one).
    /// - A value is one word or a quoted string (`\"` and `\\` are the
    ///   only escapes); a word is anything up to a space, a parenthesis
    ///   or a double quote. Dates are `d-Mon-yyyy`, also quoted.
    /// - `(keys...)` is a [`Query::And`] of its keys, except that a
    ///   parenthesised unknown key alone, `(X-FOO a)`, is that key: the
    ///   parenthesis only ends its arguments.
    /// - `$` is [`Query::SavedResult`]; a word starting with a digit or
    ///   `*` must be a sequence set.
    /// - Any other word is a key this type does not know
    ///   ([`Query::Raw`]): it takes as its arguments the words and quoted
    ///   strings that follow, up to the next known key, parenthesis or the
    ///   end (so `X-GM-LABELS Inbox UNSEEN` is `X-GM-LABELS` with `Inbox`,
    ///   and UNSEEN). Write a known key's name as an argument in quotes;
    ///   put the unknown key in parentheses to end its arguments early.
    /// - `CHARSET` is refused: the charset is chosen when encoding.
    ///
    /// Errors ([`ProtoErrorKind::BadArgument`]) name the problem:
    /// unbalanced parentheses, a key missing its argument, a bad date,
    /// number or sequence set, an unterminated quoted string or bad escape,
    /// CR, LF or NUL in the input, nesting deeper than
    /// [`MAX_DEPTH`](crate::types::MAX_DEPTH).
    ///
    /// `Display` writes this syntax back, and parsing it gives the same
    /// query, for every query whose text holds no CR, LF or NUL, whose
    /// dates have four-digit years, whose sets are not empty and whose
    /// [`Query::Raw`] keys follow the rule written there.
    pub fn parse(input: &str) -> Result<Query, ProtoError> {
        if let Some(c) = input.chars().find(|&c| matches!(c, '\r' | '\n' | '\0')) {
            let name = match c {
                '\r' => "CR",
                '\n' => "LF",
                _ => "NUL",
            };
            return Err(bad(
                format!("the search contains {name}, which a search cannot hold"),
                input,
            ));
        }
        let mut p = Parser {
            tokens: tokenize(input)?,
            pos: 0,
            depth: 0,
        };
        let mut items = p.sequence(false)?;
        match items.len() {
            0 => Err(bad(
                "the search is empty: give at least one key (ALL for every message)",
                input,
            )),
            1 => Ok(items.pop().map(|(q, _)| q).unwrap_or(Query::All)),
            _ => Ok(Query::And(items.into_iter().map(|(q, _)| q).collect())),
        }
    }

    /// Writes this key; `wrap_raw` asks a [`Query::Raw`] here to be put in
    /// parentheses (what follows would be taken as its argument).
    fn write(&self, f: &mut fmt::Formatter<'_>, wrap_raw: bool) -> fmt::Result {
        let value = |f: &mut fmt::Formatter<'_>, key: &str, v: &str| {
            f.write_str(key)?;
            f.write_str(" ")?;
            write_value(f, v)
        };
        let date = |f: &mut fmt::Formatter<'_>, key: &str, d: &NaiveDate| {
            write!(f, "{key} {}", format_date(d))
        };
        let set = |f: &mut fmt::Formatter<'_>, prefix: &str, s: &SequenceSet| {
            if s.is_empty() {
                f.write_str("NOT ALL")
            } else {
                write!(f, "{prefix}{s}")
            }
        };
        match self {
            Query::All => f.write_str("ALL"),
            Query::Answered => f.write_str("ANSWERED"),
            Query::Bcc(s) => value(f, "BCC", s),
            Query::Before(d) => date(f, "BEFORE", d),
            Query::Body(s) => value(f, "BODY", s),
            Query::Cc(s) => value(f, "CC", s),
            Query::Deleted => f.write_str("DELETED"),
            Query::Draft => f.write_str("DRAFT"),
            Query::Flagged => f.write_str("FLAGGED"),
            Query::From(s) => value(f, "FROM", s),
            Query::Header(n, v) => {
                value(f, "HEADER", n)?;
                f.write_str(" ")?;
                write_value(f, v)
            }
            Query::Keyword(s) => value(f, "KEYWORD", s),
            Query::Larger(n) => write!(f, "LARGER {n}"),
            Query::New => f.write_str("NEW"),
            Query::Not(q) => {
                f.write_str("NOT ")?;
                q.write(f, wrap_raw)
            }
            Query::Old => f.write_str("OLD"),
            Query::On(d) => date(f, "ON", d),
            Query::Or(a, b) => {
                f.write_str("OR ")?;
                a.write(f, b.starts_with_plain_word())?;
                f.write_str(" ")?;
                b.write(f, wrap_raw)
            }
            Query::Recent => f.write_str("RECENT"),
            Query::Seen => f.write_str("SEEN"),
            Query::SentBefore(d) => date(f, "SENTBEFORE", d),
            Query::SentOn(d) => date(f, "SENTON", d),
            Query::SentSince(d) => date(f, "SENTSINCE", d),
            Query::Since(d) => date(f, "SINCE", d),
            Query::Smaller(n) => write!(f, "SMALLER {n}"),
            Query::Subject(s) => value(f, "SUBJECT", s),
            Query::Text(s) => value(f, "TEXT", s),
            Query::To(s) => value(f, "TO", s),
            Query::Uid(s) => set(f, "UID ", s),
            Query::Unanswered => f.write_str("UNANSWERED"),
            Query::Undeleted => f.write_str("UNDELETED"),
            Query::Undraft => f.write_str("UNDRAFT"),
            Query::Unflagged => f.write_str("UNFLAGGED"),
            Query::Unkeyword(s) => value(f, "UNKEYWORD", s),
            Query::Unseen => f.write_str("UNSEEN"),
            Query::SequenceSet(s) => set(f, "", s),
            Query::And(items) => {
                f.write_str("(")?;
                if let [only @ Query::Raw { .. }] = items.as_slice() {
                    // `(X)` alone reads back as the key X itself.
                    only.write(f, true)?;
                } else {
                    write_list(f, items)?;
                }
                f.write_str(")")
            }
            Query::SavedResult { uid } => f.write_str(if *uid { "UID $" } else { "$" }),
            Query::ModSeq { entry, modseq } => {
                f.write_str("MODSEQ ")?;
                if let Some(e) = entry {
                    write!(f, "{} {} ", quote(&e.name), e.entry_type.as_str())?;
                }
                write!(f, "{modseq}")
            }
            Query::Older(n) => write!(f, "OLDER {n}"),
            Query::Younger(n) => write!(f, "YOUNGER {n}"),
            Query::EmailId(s) => value(f, "EMAILID", s),
            Query::ThreadId(s) => value(f, "THREADID", s),
            Query::Raw { key, args } => {
                if wrap_raw {
                    f.write_str("(")?;
                }
                f.write_str(key)?;
                for a in args {
                    f.write_str(" ")?;
                    if is_known_key(a) {
                        f.write_str(&quote(a))?;
                    } else {
                        write_value(f, a)?;
                    }
                }
                if wrap_raw {
                    f.write_str(")")?;
                }
                Ok(())
            }
        }
    }

    /// True when this key is written starting with a word that a
    /// preceding unknown key would take as its argument.
    fn starts_with_plain_word(&self) -> bool {
        match self {
            Query::SequenceSet(s) => !s.is_empty(),
            Query::SavedResult { uid } => !uid,
            Query::Raw { .. } => true,
            _ => false,
        }
    }
}

/// Writes keys side by side, an unknown key in parentheses when the next
/// key would read as its argument.
fn write_list(f: &mut fmt::Formatter<'_>, items: &[Query]) -> fmt::Result {
    for (i, q) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        let next_plain = items.get(i + 1).is_some_and(Query::starts_with_plain_word);
        q.write(f, next_plain)?;
    }
    Ok(())
}

fn write_value(f: &mut fmt::Formatter<'_>, v: &str) -> fmt::Result {
    if is_plain_word(v) {
        f.write_str(v)
    } else {
        f.write_str(&quote(v))
    }
}

impl fmt::Display for Query {
    /// The search in [`Query::parse`]'s syntax; top-level keys of a
    /// [`Query::And`] side by side, without parentheses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Query::And(items) if items.len() >= 2 => write_list(f, items),
            q => q.write(f, false),
        }
    }
}

impl std::str::FromStr for Query {
    type Err = ProtoError;
    /// [`Query::parse`].
    fn from_str(s: &str) -> Result<Query, ProtoError> {
        Query::parse(s)
    }
}

impl std::ops::Not for Query {
    type Output = Query;
    /// `NOT self`.
    fn not(self) -> Query {
        Query::Not(Box::new(self))
    }
}

impl Default for Query {
    /// `ALL`.
    fn default() -> Query {
        Query::All
    }
}

fn bad(message: impl Into<String>, input: &str) -> ProtoError {
    ProtoError::new(ProtoErrorKind::BadArgument, message, input.as_bytes())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Word(String),
    Quoted(String),
}

impl Token {
    /// How the token is shown in an error message.
    fn describe(&self) -> String {
        match self {
            Token::Open => "`(`".into(),
            Token::Close => "`)`".into(),
            Token::Word(w) => format!("`{w}`"),
            Token::Quoted(q) => format!("the quoted string {}", quote(q)),
        }
    }
}

fn tokenize(input: &str) -> Result<Vec<Token>, ProtoError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            '"' => {
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, e @ ('"' | '\\'))) => s.push(e),
                            Some((_, e)) => {
                                return Err(bad(
                                    format!(
                                        "bad escape `\\{e}` in a quoted string: only \\\" and \\\\ are allowed"
                                    ),
                                    input.get(start..).unwrap_or(input),
                                ))
                            }
                            None => break,
                        },
                        c => s.push(c),
                    }
                }
                if !closed {
                    return Err(bad(
                        "unterminated quoted string",
                        input.get(start..).unwrap_or(input),
                    ));
                }
                tokens.push(Token::Quoted(s));
            }
            c => {
                let mut w = String::from(c);
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '"') {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(w));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    /// Keys up to the end (top level) or the closing parenthesis (in a
    /// group, which is consumed). Each key comes with whether it is an
    /// unknown key written without parentheses.
    fn sequence(&mut self, in_group: bool) -> Result<Vec<(Query, bool)>, ProtoError> {
        let mut items = Vec::new();
        loop {
            match self.peek() {
                None if in_group => {
                    return Err(ProtoError::msg(
                        ProtoErrorKind::BadArgument,
                        "unbalanced parentheses: a `(` is never closed",
                    ))
                }
                None => return Ok(items),
                Some(Token::Close) if in_group => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(Token::Close) => {
                    return Err(ProtoError::msg(
                        ProtoErrorKind::BadArgument,
                        "unbalanced parentheses: a `)` closes nothing",
                    ))
                }
                Some(_) => items.push(self.key(None)?),
            }
        }
    }

    /// One key; `after` names the key that wants it (NOT, OR) for error
    /// messages.
    fn key(&mut self, after: Option<&str>) -> Result<(Query, bool), ProtoError> {
        if self.depth >= MAX_DEPTH {
            return Err(ProtoError::msg(
                ProtoErrorKind::BadArgument,
                format!("the search is nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        self.depth += 1;
        let r = self.key_inner(after);
        self.depth -= 1;
        r
    }

    fn key_inner(&mut self, after: Option<&str>) -> Result<(Query, bool), ProtoError> {
        let wanted = || match after {
            Some(k) => format!("{k} needs a search key after it"),
            None => "expected a search key".to_string(),
        };
        let word = match self.next() {
            None => return Err(ProtoError::msg(ProtoErrorKind::BadArgument, wanted())),
            Some(Token::Open) => {
                let mut items = self.sequence(true)?;
                return Ok(match items.as_slice() {
                    [(_, true)] => (items.pop().map(|(q, _)| q).unwrap_or(Query::All), false),
                    _ => (
                        Query::And(items.into_iter().map(|(q, _)| q).collect()),
                        false,
                    ),
                });
            }
            Some(t @ (Token::Close | Token::Quoted(_))) => {
                return Err(ProtoError::msg(
                    ProtoErrorKind::BadArgument,
                    format!("{}, found {}", wanted(), t.describe()),
                ))
            }
            Some(Token::Word(w)) => w,
        };
        let upper = word.to_ascii_uppercase();
        let q = match upper.as_str() {
            "ALL" => Query::All,
            "ANSWERED" => Query::Answered,
            "BCC" => Query::Bcc(self.value("BCC", "a string")?),
            "BEFORE" => Query::Before(self.date("BEFORE")?),
            "BODY" => Query::Body(self.value("BODY", "a string")?),
            "CC" => Query::Cc(self.value("CC", "a string")?),
            "DELETED" => Query::Deleted,
            "DRAFT" => Query::Draft,
            "FLAGGED" => Query::Flagged,
            "FROM" => Query::From(self.value("FROM", "a string")?),
            "HEADER" => {
                let name = self.value("HEADER", "a field name and a string")?;
                let v = self.value("HEADER", "a field name and a string")?;
                Query::Header(name, v)
            }
            "KEYWORD" => Query::Keyword(self.value("KEYWORD", "a flag")?),
            "LARGER" => Query::Larger(self.number("LARGER")?),
            "NEW" => Query::New,
            "NOT" => Query::Not(Box::new(self.key(Some("NOT"))?.0)),
            "OLD" => Query::Old,
            "ON" => Query::On(self.date("ON")?),
            "OR" => {
                let a = self.key(Some("OR"))?.0;
                let b = self.key(Some("OR"))?.0;
                Query::Or(Box::new(a), Box::new(b))
            }
            "RECENT" => Query::Recent,
            "SEEN" => Query::Seen,
            "SENTBEFORE" => Query::SentBefore(self.date("SENTBEFORE")?),
            "SENTON" => Query::SentOn(self.date("SENTON")?),
            "SENTSINCE" => Query::SentSince(self.date("SENTSINCE")?),
            "SINCE" => Query::Since(self.date("SINCE")?),
            "SMALLER" => Query::Smaller(self.number("SMALLER")?),
            "SUBJECT" => Query::Subject(self.value("SUBJECT", "a string")?),
            "TEXT" => Query::Text(self.value("TEXT", "a string")?),
            "TO" => Query::To(self.value("TO", "a string")?),
            "UID" => match self.next() {
                Some(Token::Word(w)) if w == "$" => Query::SavedResult { uid: true },
                Some(Token::Word(w)) => Query::Uid(sequence_set(&w, "UID ")?),
                other => return Err(missing("UID", "a sequence set", other.as_ref())),
            },
            "UNANSWERED" => Query::Unanswered,
            "UNDELETED" => Query::Undeleted,
            "UNDRAFT" => Query::Undraft,
            "UNFLAGGED" => Query::Unflagged,
            "UNKEYWORD" => Query::Unkeyword(self.value("UNKEYWORD", "a flag")?),
            "UNSEEN" => Query::Unseen,
            "MODSEQ" => self.modseq()?,
            "OLDER" => Query::Older(self.number("OLDER")?),
            "YOUNGER" => Query::Younger(self.number("YOUNGER")?),
            "EMAILID" => Query::EmailId(self.value("EMAILID", "an email id")?),
            "THREADID" => Query::ThreadId(self.value("THREADID", "a thread id")?),
            "CHARSET" => {
                return Err(ProtoError::msg(
                    ProtoErrorKind::BadArgument,
                    "CHARSET is chosen from the text when the search is sent; leave it out",
                ))
            }
            "$" => Query::SavedResult { uid: false },
            _ if word.starts_with(|c: char| c.is_ascii_digit() || c == '*') => {
                Query::SequenceSet(sequence_set(&word, "")?)
            }
            _ => {
                let mut args = Vec::new();
                loop {
                    match self.peek() {
                        Some(Token::Word(w)) if !is_known_key(w) => args.push(w.clone()),
                        Some(Token::Quoted(q)) => args.push(q.clone()),
                        _ => break,
                    }
                    self.pos += 1;
                }
                return Ok((Query::Raw { key: word, args }, true));
            }
        };
        Ok((q, false))
    }

    /// A string value: one word or a quoted string.
    fn value(&mut self, key: &str, what: &str) -> Result<String, ProtoError> {
        match self.next() {
            Some(Token::Word(w)) => Ok(w),
            Some(Token::Quoted(q)) => Ok(q),
            other => Err(missing(key, what, other.as_ref())),
        }
    }

    fn date(&mut self, key: &str) -> Result<NaiveDate, ProtoError> {
        let v = match self.next() {
            Some(Token::Word(w)) => w,
            Some(Token::Quoted(q)) => q,
            other => return Err(missing(key, "a date (d-Mon-yyyy)", other.as_ref())),
        };
        parse_date(&v).ok_or_else(|| {
            bad(
                format!("{key}: bad date `{v}` (expected d-Mon-yyyy, e.g. 1-Feb-2024)"),
                &v,
            )
        })
    }

    fn number<T: std::str::FromStr>(&mut self, key: &str) -> Result<T, ProtoError> {
        let v = match self.next() {
            Some(Token::Word(w)) => w,
            other => return Err(missing(key, "a number", other.as_ref())),
        };
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(format!("{key}: `{v}` is not a number"), &v));
        }
        v.parse()
            .map_err(|_| bad(format!("{key}: the number `{v}` is too large"), &v))
    }

    /// `MODSEQ n` or `MODSEQ "entry" priv|shared|all n` (the entry name
    /// may also be written unquoted, as it starts with `/`).
    fn modseq(&mut self) -> Result<Query, ProtoError> {
        let entry_name = match self.peek() {
            Some(Token::Quoted(q)) => Some(q.clone()),
            // Entry names are `/flags/...` (RFC 7162), shown quoted.
            Some(Token::Word(w)) if w.starts_with('/') => Some(w.clone()),
            _ => None,
        };
        let entry = match entry_name {
            Some(name) => {
                self.pos += 1;
                let entry_type = match self.next() {
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("priv") => EntryType::Private,
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("shared") => EntryType::Shared,
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("all") => EntryType::All,
                    other => {
                        return Err(missing(
                            "MODSEQ",
                            "an entry type (priv, shared or all) after the entry name",
                            other.as_ref(),
                        ))
                    }
                };
                Some(ModSeqEntry { name, entry_type })
            }
            None => None,
        };
        let modseq = self.number("MODSEQ")?;
        Ok(Query::ModSeq { entry, modseq })
    }
}

fn missing(key: &str, what: &str, found: Option<&Token>) -> ProtoError {
    let message = match found {
        None => format!("{key} needs {what}, and the search ends there"),
        Some(t) => format!("{key} needs {what}, found {}", t.describe()),
    };
    ProtoError::msg(ProtoErrorKind::BadArgument, message)
}

fn sequence_set(v: &str, key: &str) -> Result<SequenceSet, ProtoError> {
    SequenceSet::parse(v.as_bytes()).map_err(|e| bad(format!("{key}`{v}`: {e}"), v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{build, Command, EncodeOptions, Encoder, Finish, LiteralMode};
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn set(s: &str) -> SequenceSet {
        SequenceSet::parse(s.as_bytes()).expect("valid test set")
    }

    /// The command as the session sends it (tag `A1`, synchronizing
    /// literals), every chunk joined.
    fn try_wire(cmd: &Command, utf8: bool) -> Result<String, ProtoError> {
        let mut e = Encoder::new(EncodeOptions {
            literals: LiteralMode::Synchronizing,
            utf8,
        });
        e.raw(b"A1 ");
        e.raw(cmd.name.as_bytes());
        for a in &cmd.args {
            e.arg(a)?;
        }
        let bytes: Vec<u8> = e.finish().iter().flat_map(|c| c.bytes.to_vec()).collect();
        Ok(String::from_utf8(bytes).expect("test wire is UTF-8"))
    }

    fn wire(cmd: &Command, utf8: bool) -> String {
        try_wire(cmd, utf8).expect("encodes")
    }

    fn search(q: &Query) -> String {
        wire(&build::search_query(q, false), false)
    }

    fn parse(s: &str) -> Query {
        Query::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn ascii_needs_no_charset() {
        let q = Query::from("bob");
        assert_eq!(search(&q), "A1 SEARCH FROM bob\r\n");
        assert_eq!(q.encode(false).charset, None);
        assert_eq!(q.encode(true).charset, None);
        let cmd = build::search_query(&q, false);
        assert_eq!(cmd.finish, Finish::Untagged("SEARCH".into()));
        assert_eq!(cmd.sub_command, None);
        assert_eq!(
            search(&Query::all()),
            "A1 SEARCH ALL\r\n",
            "a lone key with nothing around it"
        );
    }

    #[test]
    fn eight_bit_without_utf8_is_charset_utf8_and_literals() {
        for text in ["Grüße", "Καλημέρα", "日本語の件名", "party 🎉"] {
            let q = Query::subject(text);
            assert_eq!(q.encode(false).charset, Some("UTF-8"));
            assert_eq!(
                search(&q),
                format!(
                    "A1 SEARCH CHARSET UTF-8 SUBJECT {{{}}}\r\n{text}\r\n",
                    text.len()
                )
            );
            // The literal waits for the server's continuation.
            let cmd = build::search_query(&q, false);
            let mut e = Encoder::new(EncodeOptions::default());
            e.raw(b"A1 SEARCH");
            for a in &cmd.args {
                e.arg(a).expect("encodes");
            }
            let chunks = e.finish();
            assert_eq!(chunks.len(), 2);
            assert!(chunks[0].wait_continuation);
        }
        // ASCII strings beside it stay atoms or quoted strings.
        let q = Query::from("bob")
            .and(Query::subject("Grüße"))
            .and(Query::to("a b"));
        assert_eq!(
            search(&q),
            "A1 SEARCH CHARSET UTF-8 FROM bob SUBJECT {7}\r\nGrüße TO \"a b\"\r\n"
        );
    }

    #[test]
    fn eight_bit_with_utf8_is_sent_as_is() {
        let q = Query::subject("Grüße");
        assert_eq!(q.encode(true).charset, None);
        assert_eq!(
            wire(&build::search_query(&q, true), true),
            "A1 SEARCH SUBJECT \"Grüße\"\r\n"
        );
        let q = Query::from("山田").and(Query::body("🎉"));
        assert_eq!(
            wire(&build::search_query(&q, true), true),
            "A1 SEARCH FROM \"山田\" BODY \"🎉\"\r\n"
        );
    }

    #[test]
    fn strings_are_encoded_from_their_content() {
        assert_eq!(
            search(&Query::subject("\"x\"")),
            "A1 SEARCH SUBJECT \"\\\"x\\\"\"\r\n"
        );
        assert_eq!(
            search(&Query::subject("(x)")),
            "A1 SEARCH SUBJECT \"(x)\"\r\n"
        );
        assert_eq!(search(&Query::subject("")), "A1 SEARCH SUBJECT \"\"\r\n");
        assert_eq!(
            search(&Query::text("a\\b")),
            "A1 SEARCH TEXT \"a\\\\b\"\r\n"
        );
        assert_eq!(search(&Query::from("a]b")), "A1 SEARCH FROM a]b\r\n");
        assert_eq!(search(&Query::from("{5}")), "A1 SEARCH FROM \"{5}\"\r\n");
        assert_eq!(
            search(&Query::header("List-Id", "")),
            "A1 SEARCH HEADER List-Id \"\"\r\n"
        );
        assert_eq!(
            search(&Query::header("X-Spam Flag", "YES")),
            "A1 SEARCH HEADER \"X-Spam Flag\" YES\r\n"
        );
        // CR/LF: a literal, even in ASCII text (no charset needed then).
        let q = Query::subject("a\r\nb");
        assert_eq!(q.encode(false).charset, None);
        assert_eq!(search(&q), "A1 SEARCH SUBJECT {4}\r\na\r\nb\r\n");
        assert_eq!(
            wire(&build::search_query(&q, true), true),
            "A1 SEARCH SUBJECT {4}\r\na\r\nb\r\n"
        );
        // NUL: refused by the encoder.
        for q in [
            Query::subject("a\0b"),
            Query::header("X\0", "v"),
            Query::raw("X-GM-RAW", ["\0"]),
        ] {
            let err = try_wire(&build::search_query(&q, false), false).unwrap_err();
            assert_eq!(err.kind(), ProtoErrorKind::BadArgument);
        }
    }

    #[test]
    fn keys_numbers_dates_and_sets() {
        let q = Query::since(date(2024, 2, 1))
            .and(Query::before(date(2023, 12, 25)))
            .and(Query::on(date(1999, 1, 9)))
            .and(Query::sent_before(date(2024, 10, 31)))
            .and(Query::sent_on(date(2024, 3, 3)))
            .and(Query::sent_since(date(2024, 7, 14)));
        assert_eq!(
            search(&q),
            "A1 SEARCH SINCE 1-Feb-2024 BEFORE 25-Dec-2023 ON 9-Jan-1999 \
             SENTBEFORE 31-Oct-2024 SENTON 3-Mar-2024 SENTSINCE 14-Jul-2024\r\n"
        );
        let q = Query::larger(100)
            .and(Query::smaller(u64::MAX))
            .and(Query::uid(set("1:*")))
            .and(Query::sequence_set(set("1:5,7")))
            .and(Query::modseq(620162338))
            .and(Query::older(3600))
            .and(Query::younger(60))
            .and(Query::email_id("M6d99ac3275bb4e"))
            .and(Query::thread_id("T64b478a75b7ea9"))
            .and(Query::keyword("$Forwarded"))
            .and(Query::unkeyword("$Junk"));
        assert_eq!(
            search(&q),
            "A1 SEARCH LARGER 100 SMALLER 18446744073709551615 UID 1:* 1:5,7 \
             MODSEQ 620162338 OLDER 3600 YOUNGER 60 EMAILID M6d99ac3275bb4e \
             THREADID T64b478a75b7ea9 KEYWORD $Forwarded UNKEYWORD $Junk\r\n"
        );
        let flags = [
            Query::answered(),
            Query::deleted(),
            Query::draft(),
            Query::flagged(),
            Query::new_messages(),
            Query::old(),
            Query::recent(),
            Query::seen(),
            Query::unanswered(),
            Query::undeleted(),
            Query::undraft(),
            Query::unflagged(),
            Query::unseen(),
        ];
        let q = flags.into_iter().fold(Query::And(Vec::new()), Query::and);
        assert_eq!(
            search(&q),
            "A1 SEARCH ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN \
             UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN\r\n"
        );
        let q = Query::modseq_entry("/flags/\\draft", EntryType::All, 620162338);
        assert_eq!(
            search(&q),
            "A1 SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n"
        );
        assert_eq!(
            search(&Query::saved_result(false).and(Query::saved_result(true))),
            "A1 SEARCH $ UID $\r\n"
        );
        // An empty set matches nothing.
        assert_eq!(
            search(&Query::uid(SequenceSet::default())),
            "A1 SEARCH NOT ALL\r\n"
        );
        assert_eq!(Query::uid(SequenceSet::default()).to_string(), "NOT ALL");
    }

    #[test]
    fn or_not_and_parentheses() {
        let q = Query::or(Query::from("a").and(Query::subject("b")), !Query::seen())
            .and(Query::larger(100));
        assert_eq!(
            search(&q),
            "A1 SEARCH OR (FROM a SUBJECT b) NOT SEEN LARGER 100\r\n"
        );
        assert_eq!(q.to_string(), "OR (FROM a SUBJECT b) NOT SEEN LARGER 100");
        let q = Query::not(Query::or(
            Query::from("x"),
            Query::or(Query::to("y"), Query::cc("z").and(Query::unseen())),
        ));
        assert_eq!(
            search(&q),
            "A1 SEARCH NOT OR FROM x OR TO y (CC z UNSEEN)\r\n"
        );
        // Nested lists, and the empty list (every message).
        let q = Query::And(vec![
            Query::And(vec![Query::And(vec![Query::seen()])]),
            Query::And(Vec::new()),
        ]);
        assert_eq!(search(&q), "A1 SEARCH ((SEEN)) ALL\r\n");
        assert_eq!(search(&Query::And(Vec::new())), "A1 SEARCH ALL\r\n");
        assert_eq!(search(&!Query::And(Vec::new())), "A1 SEARCH NOT ALL\r\n");
    }

    #[test]
    fn uid_search() {
        let q = Query::subject("Grüße");
        let cmd = build::uid_search_query(&q, false);
        let reference = build::uid("SEARCH", ["ALL"]);
        assert_eq!(cmd.name, reference.name);
        assert_eq!(cmd.sub_command, reference.sub_command);
        assert_eq!(cmd.finish, reference.finish);
        assert_eq!(
            wire(&cmd, false),
            "A1 UID SEARCH CHARSET UTF-8 SUBJECT {7}\r\nGrüße\r\n"
        );
        assert_eq!(
            wire(
                &build::uid_search_query(&Query::uid(set("5:*")), false),
                false
            ),
            "A1 UID SEARCH UID 5:*\r\n"
        );
    }

    #[test]
    fn sort_and_thread_always_name_a_charset() {
        let ascii = Query::from("bob");
        let eight = Query::subject("Grüße");
        let cmd = build::sort_query(b"REVERSE DATE", &ascii, false, false);
        assert_eq!(cmd.finish, Finish::Untagged("SORT".into()));
        assert_eq!(
            wire(&cmd, false),
            "A1 SORT (REVERSE DATE) US-ASCII FROM bob\r\n"
        );
        assert_eq!(
            wire(&build::sort_query(b"(DATE)", &eight, false, false), false),
            "A1 SORT (DATE) UTF-8 SUBJECT {7}\r\nGrüße\r\n"
        );
        assert_eq!(
            wire(&build::sort_query(b"DATE", &eight, true, false), true),
            "A1 SORT (DATE) UTF-8 SUBJECT \"Grüße\"\r\n"
        );
        let cmd = build::sort_query(b"DATE", &ascii, false, true);
        assert_eq!(cmd.sub_command.as_deref(), Some("SORT"));
        assert_eq!(cmd.finish, build::uid("SORT", ["x"]).finish);
        assert_eq!(
            wire(&cmd, false),
            "A1 UID SORT (DATE) US-ASCII FROM bob\r\n"
        );

        let cmd = build::thread_query(b"REFERENCES", &Query::all(), false, false);
        assert_eq!(cmd.finish, Finish::Untagged("THREAD".into()));
        assert_eq!(wire(&cmd, false), "A1 THREAD REFERENCES US-ASCII ALL\r\n");
        let cmd = build::thread_query(b"ORDEREDSUBJECT", &eight, false, true);
        assert_eq!(cmd.sub_command.as_deref(), Some("THREAD"));
        assert_eq!(cmd.finish, Finish::Untagged("THREAD".into()));
        assert_eq!(
            wire(&cmd, false),
            "A1 UID THREAD ORDEREDSUBJECT UTF-8 SUBJECT {7}\r\nGrüße\r\n"
        );
    }

    #[test]
    fn esearch_puts_charset_after_return() {
        let q = Query::subject("Grüße").and(Query::unseen());
        let cmd = build::esearch_query(false, "MIN MAX COUNT", &q, false);
        assert_eq!(cmd.finish, Finish::Untagged("ESEARCH".into()));
        assert_eq!(cmd.sub_command, None);
        assert_eq!(
            wire(&cmd, false),
            "A1 SEARCH RETURN (MIN MAX COUNT) CHARSET UTF-8 SUBJECT {7}\r\nGrüße UNSEEN\r\n"
        );
        let cmd = build::esearch_query(true, "", &Query::from("bob"), false);
        assert_eq!(cmd.finish, Finish::Untagged("ESEARCH".into()));
        assert_eq!(cmd.sub_command.as_deref(), Some("SEARCH"));
        assert_eq!(wire(&cmd, false), "A1 UID SEARCH RETURN () FROM bob\r\n");
        assert_eq!(
            wire(&build::esearch_query(true, "SAVE", &q, true), true),
            "A1 UID SEARCH RETURN (SAVE) SUBJECT \"Grüße\" UNSEEN\r\n"
        );
    }

    #[test]
    fn raw_keys_pass_through() {
        let q = Query::raw("X-GM-RAW", ["has:attachment"]);
        assert_eq!(search(&q), "A1 SEARCH X-GM-RAW has:attachment\r\n");
        assert_eq!(q.to_string(), "X-GM-RAW has:attachment");
        let q = Query::raw("X-GM-RAW", ["has:attachment in:unread"]);
        assert_eq!(
            search(&q),
            "A1 SEARCH X-GM-RAW \"has:attachment in:unread\"\r\n"
        );
        let q = Query::raw("X-GM-RAW", ["Grüße"]);
        assert_eq!(
            search(&q),
            "A1 SEARCH CHARSET UTF-8 X-GM-RAW {7}\r\nGrüße\r\n"
        );
        assert_eq!(
            parse("x-gm-raw \"has:attachment\""),
            Query::raw("x-gm-raw", ["has:attachment"])
        );
    }

    #[test]
    fn parses_the_usual_syntax() {
        assert_eq!(parse("SINCE 1-Jan-2024"), Query::since(date(2024, 1, 1)));
        assert_eq!(
            parse("since \"01-jan-2024\""),
            Query::since(date(2024, 1, 1))
        );
        assert_eq!(
            parse("UNSEEN FROM bob"),
            Query::unseen().and(Query::from("bob"))
        );
        assert_eq!(
            parse("OR FROM alice FROM bob"),
            Query::or(Query::from("alice"), Query::from("bob"))
        );
        assert_eq!(parse("not seen"), !Query::seen());
        assert_eq!(
            parse("(FROM a SUBJECT \"x y\") LARGER 100"),
            Query::And(vec![
                Query::from("a").and(Query::subject("x y")),
                Query::larger(100)
            ])
        );
        assert_eq!(parse("UID 1:*"), Query::uid(set("1:*")));
        assert_eq!(parse("1:5,7"), Query::sequence_set(set("1:5,7")));
        assert_eq!(parse("*"), Query::sequence_set(set("*")));
        assert_eq!(parse("HEADER X-Foo bar"), Query::header("X-Foo", "bar"));
        assert_eq!(parse("SUBJECT \"Grüße\""), Query::subject("Grüße"));
        assert_eq!(parse("SUBJECT Grüße"), Query::subject("Grüße"));
        assert_eq!(
            parse("subject \"a \\\"b\\\" \\\\c\""),
            Query::subject("a \"b\" \\c")
        );
        assert_eq!(parse("FROM ALL"), Query::from("ALL"));
        assert_eq!(parse("SUBJECT \"\""), Query::subject(""));
        assert_eq!(parse("  ALL\t"), Query::all());
        assert_eq!(
            parse("$ UID $"),
            Query::saved_result(false).and(Query::saved_result(true))
        );
        assert_eq!(
            parse("MODSEQ \"/flags/\\\\draft\" ALL 620162338"),
            Query::modseq_entry("/flags/\\draft", EntryType::All, 620162338)
        );
        assert_eq!(parse("MODSEQ 5"), Query::modseq(5));
        assert_eq!(
            parse("modseq /flags/$Junk shared 7"),
            Query::modseq_entry("/flags/$Junk", EntryType::Shared, 7)
        );
        assert_eq!(
            parse("older 10 YOUNGER 5 emailid M1 threadid T2 keyword $x unkeyword y"),
            Query::older(10)
                .and(Query::younger(5))
                .and(Query::email_id("M1"))
                .and(Query::thread_id("T2"))
                .and(Query::keyword("$x"))
                .and(Query::unkeyword("y"))
        );
        // A group of one key is a list of one, except for an unknown key,
        // whose parentheses only end its arguments.
        assert_eq!(parse("(SEEN)"), Query::And(vec![Query::seen()]));
        assert_eq!(parse("()"), Query::And(Vec::new()));
        assert_eq!(parse("(X-FOO)"), Query::raw("X-FOO", Vec::<String>::new()));
        assert_eq!(
            parse("((X-FOO))"),
            Query::And(vec![Query::raw("X-FOO", Vec::<String>::new())])
        );
    }

    #[test]
    fn unknown_keys_take_the_words_that_follow() {
        assert_eq!(
            parse("X-GM-RAW \"has:attachment\""),
            Query::raw("X-GM-RAW", ["has:attachment"])
        );
        assert_eq!(
            parse("X-GM-LABELS Inbox \"ALL\" 5 UNSEEN"),
            Query::raw("X-GM-LABELS", ["Inbox", "ALL", "5"]).and(Query::unseen())
        );
        assert_eq!(
            parse("X-GM-THRID 1266894439832287888"),
            Query::raw("X-GM-THRID", ["1266894439832287888"])
        );
        assert_eq!(
            parse("SAVEDSINCE 1-Jan-2024 (SEEN)"),
            Query::And(vec![
                Query::raw("SAVEDSINCE", ["1-Jan-2024"]),
                Query::And(vec![Query::seen()])
            ])
        );
        assert_eq!(
            parse("(X-A) X-B"),
            Query::raw("X-A", Vec::<String>::new()).and(Query::raw("X-B", Vec::<String>::new()))
        );
        // Display puts an unknown key in parentheses when what follows
        // would otherwise become its argument.
        let q = Query::raw("X-A", ["1"])
            .and(Query::raw("X-B", Vec::<String>::new()))
            .and(Query::sequence_set(set("5")))
            .and(Query::from("x"));
        assert_eq!(q.to_string(), "(X-A 1) (X-B) 5 FROM x");
        assert_eq!(parse(&q.to_string()), q);
        let q = Query::or(
            Query::raw("X-A", Vec::<String>::new()),
            Query::raw("X-B", ["ALL"]),
        );
        assert_eq!(q.to_string(), "OR (X-A) X-B \"ALL\"");
        assert_eq!(parse(&q.to_string()), q);
    }

    #[test]
    fn parse_errors_name_the_problem() {
        for (input, needle) in [
            ("", "empty"),
            ("   ", "empty"),
            ("(FROM a", "never closed"),
            ("FROM a)", "closes nothing"),
            ("((SEEN)", "never closed"),
            ("FROM", "FROM needs a string"),
            ("FROM )", "FROM needs a string, found `)`"),
            ("HEADER X-Foo", "HEADER needs a field name and a string"),
            ("NOT", "NOT needs a search key"),
            ("OR SEEN", "OR needs a search key"),
            ("SINCE 2024-01-01", "bad date"),
            ("SINCE 31-Feb-2024", "bad date"),
            ("SINCE 1-Foo-2024", "bad date"),
            ("BEFORE", "BEFORE needs a date"),
            ("LARGER x", "not a number"),
            ("LARGER -1", "not a number"),
            ("LARGER 99999999999999999999", "too large"),
            ("OLDER 4294967296", "too large"),
            ("SMALLER \"5\"", "SMALLER needs a number"),
            ("UID", "UID needs a sequence set"),
            ("UID x", "invalid sequence set"),
            ("1:5,,7", "invalid sequence set"),
            ("0", "invalid sequence set"),
            ("\"FROM\"", "expected a search key, found the quoted string"),
            ("SUBJECT \"abc", "unterminated"),
            ("SUBJECT \"a\\nb\"", "bad escape"),
            ("SUBJECT a\r\n", "CR"),
            ("SUBJECT a\nb", "LF"),
            ("SUBJECT a\0", "NUL"),
            ("CHARSET UTF-8 ALL", "CHARSET"),
            ("MODSEQ \"/flags/x\" foo 5", "entry type"),
            ("MODSEQ abc", "MODSEQ: `abc` is not a number"),
            ("MODSEQ", "MODSEQ needs a number"),
        ] {
            let err = Query::parse(input).expect_err(input);
            assert_eq!(err.kind(), ProtoErrorKind::BadArgument, "{input:?}");
            assert!(
                err.to_string().contains(needle),
                "{input:?}: {err} does not mention {needle:?}"
            );
        }
        let deep = format!("{}SEEN{}", "(".repeat(500), ")".repeat(500));
        assert!(Query::parse(&deep)
            .unwrap_err()
            .message()
            .contains("nested"));
        let deep = format!("{}SEEN", "NOT ".repeat(500));
        assert!(Query::parse(&deep)
            .unwrap_err()
            .message()
            .contains("nested"));
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "SINCE 1-Jan-2024",
            "UNSEEN FROM bob",
            "OR FROM alice FROM bob",
            "NOT SEEN",
            "(FROM a SUBJECT \"x y\") LARGER 100",
            "UID 1:*",
            "1:5,7",
            "HEADER X-Foo bar",
            "SUBJECT Grüße",
            "X-GM-RAW has:attachment",
            "SUBJECT \"\\\"x\\\"\"",
            "SUBJECT \"\"",
            "MODSEQ \"/flags/\\\\Seen\" priv 3",
            "(SEEN)",
            "()",
            "((X-A))",
            "NOT (X-A) 5",
        ] {
            let q = parse(s);
            assert_eq!(q.to_string(), s);
            assert_eq!(parse(&q.to_string()), q);
            assert_eq!(s.parse::<Query>(), Ok(q));
        }
        assert_eq!(parse("since 01-JAN-2024").to_string(), "SINCE 1-Jan-2024");
        assert_eq!(
            parse("x-gm-raw \"has:attachment\" unseen").to_string(),
            "x-gm-raw has:attachment UNSEEN"
        );
    }

    #[test]
    fn builder_combinators() {
        let q = Query::from("a").and(Query::from("b")).and(Query::from("c"));
        assert_eq!(
            q,
            Query::And(vec![Query::from("a"), Query::from("b"), Query::from("c")])
        );
        assert_eq!(
            Query::from("a").and(Query::from("b").and(Query::from("c"))),
            q
        );
        assert_eq!(Query::seen().not(), !Query::seen());
        assert_eq!(
            Query::seen().or(Query::flagged()),
            Query::or(Query::seen(), Query::flagged())
        );
        assert_eq!(Query::default(), Query::all());
        assert!(Query::from("a").is_ascii());
        assert!(!Query::not(Query::header("X", "é")).is_ascii());
        let args = Query::subject("é").encode(false);
        assert_eq!(args.charset, Some("UTF-8"));
        assert_eq!(args.into_criteria()[..2], [atom("CHARSET"), atom("UTF-8")]);
    }

    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9 \"\\\\()*%{}$:,\\]\\[-]{0,8}",
            "[^\\r\\n\\x00]{0,8}",
            Just("ALL".to_string()),
        ]
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (0i32..=9999, 1u32..=12, 1u32..=31)
            .prop_filter_map("valid date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
    }

    fn any_set() -> impl Strategy<Value = SequenceSet> {
        let bound = prop_oneof![(1u32..).prop_map(|n| n.to_string()), Just("*".to_string())];
        proptest::collection::vec((bound.clone(), proptest::option::of(bound)), 1..4).prop_map(
            |ranges| {
                let text: Vec<String> = ranges
                    .into_iter()
                    .map(|(a, b)| match b {
                        Some(b) => format!("{a}:{b}"),
                        None => a,
                    })
                    .collect();
                set(&text.join(","))
            },
        )
    }

    fn any_query() -> impl Strategy<Value = Query> {
        let leaf = prop_oneof![
            Just(Query::All),
            Just(Query::Answered),
            Just(Query::Deleted),
            Just(Query::Draft),
            Just(Query::Flagged),
            Just(Query::New),
            Just(Query::Old),
            Just(Query::Recent),
            Just(Query::Seen),
            Just(Query::Unanswered),
            Just(Query::Undeleted),
            Just(Query::Undraft),
            Just(Query::Unflagged),
            Just(Query::Unseen),
            any::<bool>().prop_map(|uid| Query::SavedResult { uid }),
            any_text().prop_map(Query::Bcc),
            any_text().prop_map(Query::Body),
            any_text().prop_map(Query::Cc),
            any_text().prop_map(Query::From),
            any_text().prop_map(Query::Subject),
            any_text().prop_map(Query::Text),
            any_text().prop_map(Query::To),
            any_text().prop_map(Query::Keyword),
            any_text().prop_map(Query::Unkeyword),
            any_text().prop_map(Query::EmailId),
            any_text().prop_map(Query::ThreadId),
            (any_text(), any_text()).prop_map(|(n, v)| Query::Header(n, v)),
            any_date().prop_map(Query::Before),
            any_date().prop_map(Query::On),
            any_date().prop_map(Query::SentBefore),
            any_date().prop_map(Query::SentOn),
            any_date().prop_map(Query::SentSince),
            any_date().prop_map(Query::Since),
            any::<u64>().prop_map(Query::Larger),
            any::<u64>().prop_map(Query::Smaller),
            any::<u32>().prop_map(Query::Older),
            any::<u32>().prop_map(Query::Younger),
            any_set().prop_map(Query::Uid),
            any_set().prop_map(Query::SequenceSet),
            (
                proptest::option::of((
                    any_text(),
                    prop_oneof![
                        Just(EntryType::Private),
                        Just(EntryType::Shared),
                        Just(EntryType::All)
                    ]
                )),
                any::<u64>()
            )
                .prop_map(|(entry, modseq)| Query::ModSeq {
                    entry: entry.map(|(name, entry_type)| ModSeqEntry { name, entry_type }),
                    modseq,
                }),
            (
                "[xX]-[A-Za-z0-9-]{1,6}",
                proptest::collection::vec(any_text(), 0..3)
            )
                .prop_map(|(key, args)| Query::Raw { key, args }),
        ];
        leaf.prop_recursive(4, 48, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(|q| Query::Not(Box::new(q))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Query::Or(Box::new(a), Box::new(b))),
                proptest::collection::vec(inner, 0..4).prop_map(Query::And),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn display_then_parse_gives_the_query(q in any_query()) {
            let shown = q.to_string();
            let back = Query::parse(&shown);
            prop_assert_eq!(back, Ok(q), "shown as {}", shown);
        }

        #[test]
        fn encoding_never_panics(
            q in any_query(),
            crlf in "[\\x00-\\x7f\\r\\n]{0,4}",
            utf8 in any::<bool>(),
        ) {
            // With CR, LF and NUL mixed in too.
            let q = q.and(Query::subject(crlf));
            let args = q.encode(utf8);
            prop_assert_eq!(args.charset.is_some(), !utf8 && !q.is_ascii());
            for cmd in [
                build::search_query(&q, utf8),
                build::uid_search_query(&q, utf8),
                build::sort_query(b"DATE", &q, utf8, false),
                build::thread_query(b"REFERENCES", &q, utf8, true),
                build::esearch_query(true, "ALL", &q, utf8),
            ] {
                let _ = try_wire(&cmd, utf8);
            }
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = Query::parse(&s);
        }
    }
}
