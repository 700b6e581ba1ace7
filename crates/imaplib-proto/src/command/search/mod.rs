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
        parse::parse(input)
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

mod parse;
#[cfg(test)]
mod tests;
