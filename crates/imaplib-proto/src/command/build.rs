//! One builder per imaplib method: the arguments it sends and how its
//! reply is shaped. The clients call these and add only the I/O.
//!
//! Argument conventions follow imaplib: mailbox names and strings are quoted
//! as needed ([`Arg::Mailbox`], [`Arg::String`]); sequence sets, search
//! criteria, fetch item lists and flag lists are expressions passed as
//! written ([`Arg::Raw`]). Typed searches ([`Query`]) have their own
//! builders ([`search_query`], [`uid_search_query`], [`sort_query`],
//! [`thread_query`], [`esearch_query`]) that encode every string from its
//! content and choose the charset.

use bytes::Bytes;

use super::{is_enclosed, Arg, Command, Finish, Query};
use crate::types::PartialRange;

fn b(v: impl AsRef<[u8]>) -> Bytes {
    Bytes::copy_from_slice(v.as_ref())
}

fn mailbox(v: impl AsRef<[u8]>) -> Arg {
    Arg::Mailbox(b(v))
}

fn raw(v: impl AsRef<[u8]>) -> Arg {
    Arg::Raw(b(v))
}

fn string(v: impl AsRef<[u8]>) -> Arg {
    Arg::String(b(v))
}

/// Wraps a flag list in parentheses unless it already is, as imaplib does
/// for APPEND and STORE.
fn paren_list(v: &[u8]) -> Bytes {
    if v.first() == Some(&b'(') && v.last() == Some(&b')') {
        b(v)
    } else {
        let mut out = Vec::with_capacity(v.len() + 2);
        out.push(b'(');
        out.extend_from_slice(v);
        out.push(b')');
        Bytes::from(out)
    }
}

fn untagged(name: &str) -> Finish {
    Finish::Untagged(name.to_string())
}

/// Replaces every bare CR or LF by CRLF, as imaplib's `MapCRLF` does for
/// APPEND's message.
pub fn normalize_crlf(message: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(message.len() + message.len() / 32);
    let mut rest = message;
    // Runs between line ends are copied whole: a message whose lines all
    // end in CRLF costs one pass and one copy.
    while let Some(at) = memchr::memchr2(b'\r', b'\n', rest) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(b"\r\n");
        let crlf = rest[at] == b'\r' && rest.get(at + 1) == Some(&b'\n');
        rest = &rest[at + if crlf { 2 } else { 1 }..];
    }
    out.extend_from_slice(rest);
    Bytes::from(out)
}

/// `APPEND mailbox`, INBOX when no mailbox is named (as imaplib does).
fn append_to(mailbox_name: Option<&[u8]>) -> Command {
    let mbox = match mailbox_name {
        Some(m) if !m.is_empty() => m,
        _ => b"INBOX",
    };
    Command::new("APPEND").arg(mailbox(mbox))
}

/// A message's `(flags)` and `date-time` in an APPEND, each when given.
fn message_options(mut cmd: Command, flags: Option<&[u8]>, date_time: Option<&[u8]>) -> Command {
    if let Some(f) = flags.filter(|f| !f.is_empty()) {
        cmd = cmd.arg(Arg::Raw(paren_list(f)));
    }
    if let Some(d) = date_time.filter(|d| !d.is_empty()) {
        cmd = cmd.arg(raw(d));
    }
    cmd
}

/// APPEND (RFC 3501 §6.3.11). `flags` gets parentheses if it has none;
/// `date_time` must already be an INTERNALDATE (quoted); the message's line
/// ends are normalised to CRLF. Under UTF8=ACCEPT the message is sent as
/// RFC 6855 `UTF8 (~{N}...)` append data.
pub fn append(
    mailbox_name: Option<&[u8]>,
    flags: Option<&[u8]>,
    date_time: Option<&[u8]>,
    message: &[u8],
    utf8: bool,
) -> Command {
    let cmd = message_options(append_to(mailbox_name), flags, date_time);
    let literal = normalize_crlf(message);
    if utf8 {
        cmd.arg(Arg::Utf8Literal(literal))
    } else {
        cmd.arg(Arg::Literal(literal))
    }
}

/// One message of a MULTIAPPEND: flags, INTERNALDATE (quoted) and content.
#[derive(Debug, Clone, Copy)]
pub struct AppendMessage<'a> {
    /// Flags (`(\\Seen)` or `\\Seen`), if any.
    pub flags: Option<&'a [u8]>,
    /// A quoted INTERNALDATE, if any.
    pub date_time: Option<&'a [u8]>,
    /// The message; line ends are normalised to CRLF.
    pub message: &'a [u8],
}

/// MULTIAPPEND (RFC 3502): several messages appended atomically in one
/// command.
pub fn multiappend(
    mailbox_name: Option<&[u8]>,
    messages: &[AppendMessage<'_>],
    utf8: bool,
) -> Command {
    let mut cmd = append_to(mailbox_name);
    for m in messages {
        cmd = message_options(cmd, m.flags, m.date_time);
        let literal = normalize_crlf(m.message);
        cmd = cmd.arg(if utf8 {
            Arg::Utf8Literal(literal)
        } else {
            Arg::Literal(literal)
        });
    }
    cmd
}

/// AUTHENTICATE mechanism (RFC 3501 §6.2.2); challenges go to the caller.
pub fn authenticate(mechanism: &str) -> Command {
    Command::new("AUTHENTICATE")
        .arg(raw(mechanism.to_ascii_uppercase()))
        .finish(Finish::Authenticate)
        .interactive()
}

/// AUTHENTICATE mechanism initial-response (RFC 4959 SASL-IR): the
/// initial response is sent base64 encoded on the command line (`=` when
/// it is empty) and hidden in traces; `None` sends no initial response, as
/// [`authenticate`]. Use only when the server announced `SASL-IR`.
pub fn authenticate_ir(mechanism: &str, initial: Option<&[u8]>) -> Command {
    let mut cmd = authenticate(mechanism);
    if let Some(data) = initial {
        let encoded = if data.is_empty() {
            b"=".to_vec()
        } else {
            base64_standard(data)
        };
        cmd = cmd.arg(Arg::SecretAtom(Bytes::from(encoded)));
    }
    cmd
}

/// Standard base64 with padding (RFC 4648 §4), as SASL uses.
fn base64_standard(data: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for group in data.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
    out
}

/// CAPABILITY.
pub fn capability() -> Command {
    Command::new("CAPABILITY").finish(Finish::Capability)
}

/// CHECK.
pub fn check() -> Command {
    Command::new("CHECK")
}

/// CLOSE.
pub fn close() -> Command {
    Command::new("CLOSE").finish(Finish::Deselect)
}

/// COPY message_set new_mailbox.
pub fn copy(message_set: &[u8], new_mailbox: &[u8]) -> Command {
    Command::new("COPY")
        .arg(raw(message_set))
        .arg(mailbox(new_mailbox))
}

/// CREATE mailbox.
pub fn create(mailbox_name: &[u8]) -> Command {
    Command::new("CREATE").arg(mailbox(mailbox_name))
}

/// DELETE mailbox.
pub fn delete(mailbox_name: &[u8]) -> Command {
    Command::new("DELETE").arg(mailbox(mailbox_name))
}

/// DELETEACL mailbox who (RFC 4314).
pub fn deleteacl(mailbox_name: &[u8], who: &[u8]) -> Command {
    Command::new("DELETEACL")
        .arg(mailbox(mailbox_name))
        .arg(string(who))
}

/// ENABLE capability (RFC 5161).
pub fn enable(capability: &str) -> Command {
    let utf8 = capability.to_ascii_uppercase().contains("UTF8=ACCEPT");
    Command::new("ENABLE")
        .arg(raw(capability))
        .finish(Finish::Enable { utf8 })
}

/// EXPUNGE.
pub fn expunge() -> Command {
    Command::new("EXPUNGE").finish(untagged("EXPUNGE"))
}

/// FETCH message_set message_parts.
pub fn fetch(message_set: &[u8], message_parts: &[u8]) -> Command {
    Command::new("FETCH")
        .arg(raw(message_set))
        .arg(raw(message_parts))
        .finish(untagged("FETCH"))
}

/// GETACL mailbox.
pub fn getacl(mailbox_name: &[u8]) -> Command {
    Command::new("GETACL")
        .arg(mailbox(mailbox_name))
        .finish(untagged("ACL"))
}

/// GETANNOTATION mailbox entry attribute (draft ANNOTATE).
pub fn getannotation(mailbox_name: &[u8], entry: &[u8], attribute: &[u8]) -> Command {
    Command::new("GETANNOTATION")
        .arg(mailbox(mailbox_name))
        .arg(annotation_arg(entry))
        .arg(annotation_arg(attribute))
        .finish(untagged("ANNOTATION"))
}

fn annotation_arg(v: &[u8]) -> Arg {
    if is_enclosed(v) {
        raw(v)
    } else {
        string(v)
    }
}

/// GETQUOTA root (RFC 2087 / 9208).
pub fn getquota(root: &[u8]) -> Command {
    Command::new("GETQUOTA")
        .arg(string(root))
        .finish(untagged("QUOTA"))
}

/// GETQUOTAROOT mailbox.
pub fn getquotaroot(mailbox_name: &[u8]) -> Command {
    Command::new("GETQUOTAROOT")
        .arg(mailbox(mailbox_name))
        .finish(Finish::QuotaRoot)
}

/// IDLE (RFC 2177).
pub fn idle() -> Command {
    Command::new("IDLE").finish(Finish::Idle).interactive()
}

/// LIST directory pattern (imaplib's defaults are `""` and `*`).
pub fn list(directory: &[u8], pattern: &[u8]) -> Command {
    Command::new("LIST")
        .arg(mailbox(directory))
        .arg(Arg::Pattern(b(pattern)))
        .finish(untagged("LIST"))
}

/// LOGIN user password; the password is always quoted or a literal.
pub fn login(user: &[u8], password: &[u8]) -> Command {
    Command::new("LOGIN")
        .arg(string(user))
        .arg(Arg::Secret(b(password)))
        .finish(Finish::Login)
}

/// LOGOUT.
pub fn logout() -> Command {
    Command::new("LOGOUT").finish(Finish::Logout)
}

/// LSUB directory pattern.
pub fn lsub(directory: &[u8], pattern: &[u8]) -> Command {
    Command::new("LSUB")
        .arg(mailbox(directory))
        .arg(Arg::Pattern(b(pattern)))
        .finish(untagged("LSUB"))
}

/// MOVE message_set mailbox (RFC 6851).
pub fn move_(message_set: &[u8], new_mailbox: &[u8]) -> Command {
    Command::new("MOVE")
        .arg(raw(message_set))
        .arg(mailbox(new_mailbox))
}

/// MYRIGHTS mailbox.
pub fn myrights(mailbox_name: &[u8]) -> Command {
    Command::new("MYRIGHTS")
        .arg(mailbox(mailbox_name))
        .finish(untagged("MYRIGHTS"))
}

/// NAMESPACE (RFC 2342).
pub fn namespace() -> Command {
    Command::new("NAMESPACE").finish(untagged("NAMESPACE"))
}

/// NOOP.
pub fn noop() -> Command {
    Command::new("NOOP")
}

/// PARTIAL message_num message_part start length (obsolete RFC 1730).
pub fn partial(message_num: &[u8], message_part: &[u8], start: &[u8], length: &[u8]) -> Command {
    Command::new("PARTIAL")
        .arg(raw(message_num))
        .arg(raw(message_part))
        .arg(raw(start))
        .arg(raw(length))
        .finish(untagged("FETCH"))
}

/// PROXYAUTH user.
pub fn proxyauth(user: &[u8]) -> Command {
    Command::new("PROXYAUTH").arg(string(user))
}

/// RENAME oldmailbox newmailbox.
pub fn rename(old: &[u8], new: &[u8]) -> Command {
    Command::new("RENAME").arg(mailbox(old)).arg(mailbox(new))
}

/// SEARCH [CHARSET charset] criteria...
pub fn search<I, A>(charset: Option<&str>, criteria: I) -> Command
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u8]>,
{
    let mut cmd = Command::new("SEARCH");
    if let Some(cs) = charset {
        cmd = cmd.arg(raw("CHARSET")).arg(string(cs));
    }
    for c in criteria {
        cmd = cmd.arg(raw(c));
    }
    cmd.finish(untagged("SEARCH"))
}

/// SEARCH \[CHARSET UTF-8\] criteria from a typed [`Query`], the charset
/// chosen from its text (see [`Query::encode`]); `utf8` is the session's
/// UTF8=ACCEPT mode. The reply is shaped as [`search`]'s.
pub fn search_query(query: &Query, utf8: bool) -> Command {
    let mut cmd = Command::new("SEARCH");
    cmd.args = query.encode(utf8).into_criteria();
    cmd.finish(untagged("SEARCH"))
}

/// UID SEARCH \[CHARSET UTF-8\] criteria from a typed [`Query`]; the reply
/// is shaped as `uid("SEARCH", ..)`'s.
pub fn uid_search_query(query: &Query, utf8: bool) -> Command {
    let mut cmd = uid("SEARCH", std::iter::empty::<&[u8]>());
    cmd.args.extend(query.encode(utf8).into_criteria());
    cmd
}

/// SORT (or UID SORT) (sort_criteria) charset criteria from a typed
/// [`Query`] (RFC 5256): the charset is always given, `US-ASCII` when all
/// the text is ASCII, else `UTF-8`. `sort_criteria` gets parentheses if it
/// has none. The reply is shaped as [`sort`]'s (or `uid("SORT", ..)`'s).
pub fn sort_query(sort_criteria: &[u8], query: &Query, utf8: bool, uid: bool) -> Command {
    let charset = sort_charset(query);
    let mut cmd = if uid {
        self::uid("SORT", [&paren_list(sort_criteria)[..], charset.as_bytes()])
    } else {
        sort(sort_criteria, charset, std::iter::empty::<&[u8]>())
    };
    cmd.args.extend(query.encode(utf8).args);
    cmd
}

/// THREAD (or UID THREAD) algorithm charset criteria from a typed
/// [`Query`] (RFC 5256), the charset chosen as for [`sort_query`]. The
/// reply is shaped as [`thread`]'s (or `uid("THREAD", ..)`'s).
pub fn thread_query(algorithm: &[u8], query: &Query, utf8: bool, uid: bool) -> Command {
    let charset = sort_charset(query);
    let mut cmd = if uid {
        self::uid("THREAD", [algorithm, charset.as_bytes()])
    } else {
        thread(algorithm, charset, std::iter::empty::<&[u8]>())
    };
    cmd.args.extend(query.encode(utf8).args);
    cmd
}

/// SEARCH (or UID SEARCH) RETURN (return_options) \[CHARSET UTF-8\]
/// criteria from a typed [`Query`] (RFC 4731 ESEARCH, RFC 9051): the
/// charset, when needed, comes after the RETURN options. The reply is the
/// ESEARCH data.
pub fn esearch_query(uid: bool, return_options: &str, query: &Query, utf8: bool) -> Command {
    let options = format!("({return_options})");
    let mut cmd = if uid {
        self::uid("SEARCH", [&b"RETURN"[..], options.as_bytes()])
    } else {
        Command::new("SEARCH").arg(raw("RETURN")).arg(raw(&options))
    };
    cmd.args.extend(query.encode(utf8).into_criteria());
    cmd.finish(untagged("ESEARCH"))
}

/// The charset SORT and THREAD name for a query's text.
fn sort_charset(query: &Query) -> &'static str {
    if query.is_ascii() {
        "US-ASCII"
    } else {
        "UTF-8"
    }
}

/// SELECT mailbox, or EXAMINE when `readonly`.
pub fn select(mailbox_name: &[u8], readonly: bool) -> Command {
    let name = if readonly { "EXAMINE" } else { "SELECT" };
    let mbox: &[u8] = if mailbox_name.is_empty() {
        b"INBOX"
    } else {
        mailbox_name
    };
    Command::new(name)
        .arg(mailbox(mbox))
        .finish(Finish::Select { readonly })
}

/// SETACL mailbox who what.
pub fn setacl(mailbox_name: &[u8], who: &[u8], what: &[u8]) -> Command {
    Command::new("SETACL")
        .arg(mailbox(mailbox_name))
        .arg(string(who))
        .arg(string(what))
}

/// SETANNOTATION args... (passed as expressions, as imaplib does).
pub fn setannotation<I, A>(args: I) -> Command
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u8]>,
{
    let mut cmd = Command::new("SETANNOTATION");
    for (i, a) in args.into_iter().enumerate() {
        cmd = cmd.arg(if i == 0 { mailbox(a) } else { raw(a) });
    }
    cmd.finish(untagged("ANNOTATION"))
}

/// SETQUOTA root limits (`limits` such as `(STORAGE 512)`).
pub fn setquota(root: &[u8], limits: &[u8]) -> Command {
    Command::new("SETQUOTA")
        .arg(string(root))
        .arg(raw(limits))
        .finish(untagged("QUOTA"))
}

/// SORT (sort_criteria) charset criteria... (RFC 5256).
pub fn sort<I, A>(sort_criteria: &[u8], charset: &str, criteria: I) -> Command
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u8]>,
{
    let mut cmd = Command::new("SORT")
        .arg(Arg::Raw(paren_list(sort_criteria)))
        .arg(string(charset));
    for c in criteria {
        cmd = cmd.arg(raw(c));
    }
    cmd.finish(untagged("SORT"))
}

/// STARTTLS (RFC 3501 §6.2.1).
pub fn starttls() -> Command {
    Command::new("STARTTLS").finish(Finish::StartTls)
}

/// STATUS mailbox names.
pub fn status(mailbox_name: &[u8], names: &[u8]) -> Command {
    Command::new("STATUS")
        .arg(mailbox(mailbox_name))
        .arg(raw(names))
        .finish(untagged("STATUS"))
}

/// STORE message_set command flags (flags get parentheses if missing).
pub fn store(message_set: &[u8], command: &[u8], flags: &[u8]) -> Command {
    Command::new("STORE")
        .arg(raw(message_set))
        .arg(raw(command))
        .arg(Arg::Raw(paren_list(flags)))
        .finish(untagged("FETCH"))
}

/// SUBSCRIBE mailbox.
pub fn subscribe(mailbox_name: &[u8]) -> Command {
    Command::new("SUBSCRIBE").arg(mailbox(mailbox_name))
}

/// THREAD algorithm charset criteria... (RFC 5256).
pub fn thread<I, A>(algorithm: &[u8], charset: &str, criteria: I) -> Command
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u8]>,
{
    let mut cmd = Command::new("THREAD")
        .arg(raw(algorithm))
        .arg(string(charset));
    for c in criteria {
        cmd = cmd.arg(raw(c));
    }
    cmd.finish(untagged("THREAD"))
}

/// UID command args...: the reply is the SEARCH, SORT or THREAD data for
/// those commands, else the FETCH data, as imaplib shapes it.
pub fn uid<I, A>(command: &str, args: I) -> Command
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u8]>,
{
    let sub = command.to_ascii_uppercase();
    let name = match sub.as_str() {
        "SEARCH" | "SORT" | "THREAD" => sub.clone(),
        _ => "FETCH".to_string(),
    };
    let mut cmd = Command::new("UID").arg(raw(&sub));
    let copy_like = matches!(sub.as_str(), "COPY" | "MOVE");
    for (i, a) in args.into_iter().enumerate() {
        // The destination of UID COPY / UID MOVE is a mailbox name.
        cmd = cmd.arg(if copy_like && i == 1 {
            mailbox(a)
        } else {
            raw(a)
        });
    }
    cmd.sub_command = Some(sub);
    cmd.finish(Finish::Untagged(name))
}

/// UNSELECT (RFC 3691).
pub fn unselect() -> Command {
    Command::new("UNSELECT").finish(Finish::Deselect)
}

/// UNSUBSCRIBE mailbox.
pub fn unsubscribe(mailbox_name: &[u8]) -> Command {
    Command::new("UNSUBSCRIBE").arg(mailbox(mailbox_name))
}

/// Any command, arguments passed as expressions (imaplib's `xatom`).
pub fn xatom<I, A>(name: &str, args: I) -> Command
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u8]>,
{
    let mut cmd = Command::new(name);
    for a in args {
        cmd = cmd.arg(raw(a));
    }
    cmd
}

/// APPEND of binary content as a literal8 `~{N}` (RFC 3516): sent as is,
/// NUL and bare line ends included.
pub fn append_binary(
    mailbox_name: Option<&[u8]>,
    flags: Option<&[u8]>,
    date_time: Option<&[u8]>,
    message: &[u8],
) -> Command {
    let cmd = message_options(append_to(mailbox_name), flags, date_time);
    cmd.arg(Arg::Literal8(b(message)))
}

/// SORT RETURN (options) (criteria) charset search... (RFC 5267 ESORT):
/// the result comes as ESEARCH.
pub fn esort<I, A>(
    return_options: &str,
    sort_criteria: &[u8],
    charset: &str,
    criteria: I,
) -> Command
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u8]>,
{
    let mut cmd = Command::new("SORT")
        .arg(Arg::Raw(Bytes::from(format!("RETURN ({return_options})"))))
        .arg(Arg::Raw(paren_list(sort_criteria)))
        .arg(string(charset));
    for c in criteria {
        cmd = cmd.arg(raw(c));
    }
    cmd.finish(untagged("ESEARCH"))
}

/// UID SORT RETURN (...) (ESORT) by UID.
pub fn uid_esort<I, A>(
    return_options: &str,
    sort_criteria: &[u8],
    charset: &str,
    criteria: I,
) -> Command
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u8]>,
{
    let mut args: Vec<Bytes> = vec![
        Bytes::from(format!("RETURN ({return_options})")),
        paren_list(sort_criteria),
        b(charset),
    ];
    args.extend(criteria.into_iter().map(b));
    let mut cmd = uid("SORT", args);
    cmd.finish = untagged("ESEARCH");
    cmd
}

/// ID (RFC 2971) with the client's fields (`None`: `ID NIL`).
pub fn id(fields: Option<&[(&str, &str)]>) -> Command {
    let arg = match fields {
        None => Arg::Raw(Bytes::from_static(b"NIL")),
        Some(f) => {
            let mut out = Vec::from(&b"("[..]);
            for (i, (k, v)) in f.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                quote_into(&mut out, k.as_bytes());
                out.push(b' ');
                quote_into(&mut out, v.as_bytes());
            }
            out.push(b')');
            Arg::Raw(Bytes::from(out))
        }
    };
    Command::new("ID").arg(arg).finish(untagged("ID"))
}

/// Writes `v` as a quoted string (CR, LF and NUL are dropped: ID values
/// are informational).
fn quote_into(out: &mut Vec<u8>, v: &[u8]) {
    out.push(b'"');
    for &c in v {
        match c {
            b'\r' | b'\n' | 0 => {}
            b'"' | b'\\' => {
                out.push(b'\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

/// UID EXPUNGE set (RFC 4315): expunges only these UIDs.
pub fn uid_expunge(uid_set: &[u8]) -> Command {
    let mut cmd = uid("EXPUNGE", [uid_set]);
    cmd.finish = untagged("EXPUNGE");
    cmd
}

/// SELECT or EXAMINE with CONDSTORE (RFC 7162 §3.1.8).
pub fn select_condstore(mailbox_name: &[u8], readonly: bool) -> Command {
    select(mailbox_name, readonly).arg(raw("(CONDSTORE)"))
}

/// SELECT or EXAMINE with QRESYNC (RFC 7162 §3.2.5): the UIDVALIDITY and
/// HIGHESTMODSEQ the client knows, and optionally the UIDs it knows.
pub fn select_qresync(
    mailbox_name: &[u8],
    readonly: bool,
    uid_validity: u32,
    modseq: u64,
    known_uids: Option<&str>,
) -> Command {
    let params = match known_uids {
        Some(u) => format!("(QRESYNC ({uid_validity} {modseq} {u}))"),
        None => format!("(QRESYNC ({uid_validity} {modseq}))"),
    };
    select(mailbox_name, readonly).arg(Arg::Raw(Bytes::from(params)))
}

/// UID FETCH set items (CHANGEDSINCE modseq \[VANISHED\]) (RFC 7162).
pub fn uid_fetch_changed_since(
    uid_set: &[u8],
    items: &[u8],
    modseq: u64,
    vanished: bool,
) -> Command {
    let modifier = if vanished {
        format!("(CHANGEDSINCE {modseq} VANISHED)")
    } else {
        format!("(CHANGEDSINCE {modseq})")
    };
    uid("FETCH", [uid_set, items, modifier.as_bytes()])
}

/// UID STORE set (UNCHANGEDSINCE modseq) command flags (RFC 7162 §3.1.3).
pub fn uid_store_unchanged_since(
    uid_set: &[u8],
    modseq: u64,
    command: &[u8],
    flags: &[u8],
) -> Command {
    let modifier = format!("(UNCHANGEDSINCE {modseq})");
    uid(
        "STORE",
        [
            uid_set,
            modifier.as_bytes(),
            command,
            &paren_list(flags)[..],
        ],
    )
}

/// LIST with selection options, several patterns and return options
/// (RFC 5258, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE), e.g. selection
/// `["SPECIAL-USE"]`, return `["SPECIAL-USE", "STATUS (MESSAGES UNSEEN)"]`.
pub fn list_extended(
    selection: &[&str],
    reference: &[u8],
    patterns: &[&[u8]],
    returns: &[&str],
) -> Command {
    let mut cmd = Command::new("LIST");
    if !selection.is_empty() {
        cmd = cmd.arg(Arg::Raw(Bytes::from(format!("({})", selection.join(" ")))));
    }
    cmd = cmd.arg(mailbox(reference));
    if patterns.len() == 1 {
        cmd = cmd.arg(Arg::Pattern(b(patterns[0])));
    } else {
        // Several patterns: a parenthesised list of patterns.
        let mut enc = Vec::from(&b"("[..]);
        for (i, p) in patterns.iter().enumerate() {
            if i > 0 {
                enc.push(b' ');
            }
            quote_into(&mut enc, p);
        }
        enc.push(b')');
        cmd = cmd.arg(Arg::Raw(Bytes::from(enc)));
    }
    if !returns.is_empty() {
        cmd = cmd.arg(Arg::Raw(Bytes::from(format!(
            "RETURN ({})",
            returns.join(" ")
        ))));
    }
    cmd.finish(untagged("LIST"))
}

/// GETMETADATA mailbox (entries) (RFC 5464), with optional options such
/// as `MAXSIZE 1024` or `DEPTH infinity`.
pub fn getmetadata(mailbox_name: &[u8], entries: &[&str], options: Option<&str>) -> Command {
    let mut cmd = Command::new("GETMETADATA");
    if let Some(o) = options {
        cmd = cmd.arg(Arg::Raw(Bytes::from(format!("({o})"))));
    }
    cmd = cmd.arg(mailbox(mailbox_name));
    let mut list = Vec::from(&b"("[..]);
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            list.push(b' ');
        }
        quote_into(&mut list, e.as_bytes());
    }
    list.push(b')');
    cmd.arg(Arg::Raw(Bytes::from(list)))
        .finish(untagged("METADATA"))
}

/// SETMETADATA mailbox (entry value ...) (RFC 5464); a `None` value
/// removes the entry. Values go as literals when they need to.
pub fn setmetadata(mailbox_name: &[u8], entries: &[(&str, Option<&[u8]>)]) -> Command {
    let mut cmd = Command::new("SETMETADATA").arg(mailbox(mailbox_name));
    // The list is built from separate arguments so that values can be
    // literals.
    let mut args: Vec<Arg> = Vec::new();
    for (entry, value) in entries {
        args.push(Arg::String(b(entry)));
        args.push(match value {
            Some(v) => Arg::String(b(v)),
            None => Arg::Raw(Bytes::from_static(b"NIL")),
        });
    }
    cmd.args.push(Arg::ListStart);
    cmd.args.extend(args);
    cmd.args.push(Arg::ListEnd);
    cmd
}

/// LISTRIGHTS mailbox identifier (RFC 4314).
pub fn listrights(mailbox_name: &[u8], identifier: &[u8]) -> Command {
    Command::new("LISTRIGHTS")
        .arg(mailbox(mailbox_name))
        .arg(string(identifier))
        .finish(untagged("LISTRIGHTS"))
}

/// ENABLE with several capabilities.
pub fn enable_many(capabilities: &[&str]) -> Command {
    let utf8 = capabilities
        .iter()
        .any(|c| c.eq_ignore_ascii_case("UTF8=ACCEPT"));
    let mut cmd = Command::new("ENABLE");
    for c in capabilities {
        cmd = cmd.arg(raw(c));
    }
    cmd.finish(Finish::Enable { utf8 })
}

/// One part of a CATENATE append (RFC 4469): literal text, or an IMAP
/// URL naming a message or part already on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatenatePart<'a> {
    /// Text sent as a literal; bare CR or LF become CRLF.
    Text(&'a [u8]),
    /// An IMAP URL (RFC 5092), e.g.
    /// `/INBOX;UIDVALIDITY=7/;UID=20/;SECTION=TEXT`.
    Url(&'a str),
}

/// APPEND mailbox \[flags\] \[date\] CATENATE (parts) (RFC 4469): the new
/// message is put together by the server from text and existing messages
/// or parts, which need not travel through the client.
pub fn append_catenate(
    mailbox_name: Option<&[u8]>,
    flags: Option<&[u8]>,
    date_time: Option<&[u8]>,
    parts: &[CatenatePart<'_>],
) -> Command {
    let mut cmd = message_options(append_to(mailbox_name), flags, date_time);
    cmd = cmd.arg(raw("CATENATE"));
    cmd.args.push(Arg::ListStart);
    for part in parts {
        match part {
            CatenatePart::Text(t) => {
                cmd.args.push(raw("TEXT"));
                cmd.args.push(Arg::Literal(normalize_crlf(t)));
            }
            CatenatePart::Url(u) => {
                cmd.args.push(raw("URL"));
                cmd.args.push(string(u));
            }
        }
    }
    cmd.args.push(Arg::ListEnd);
    cmd
}

/// UID FETCH set items (PARTIAL range) (RFC 9394): only the messages at
/// those positions among the ones the set names.
pub fn uid_fetch_partial(uid_set: &[u8], items: &[u8], range: PartialRange) -> Command {
    let modifier = format!("(PARTIAL {range})");
    uid("FETCH", [uid_set, items, modifier.as_bytes()])
}

/// SETQUOTA root (resource limit ...) (RFC 9208 / RFC 2087); an empty
/// list removes every limit of the root.
pub fn setquota_resources(root: &[u8], limits: &[(&str, u64)]) -> Command {
    let list: Vec<String> = limits
        .iter()
        .map(|(name, limit)| format!("{} {limit}", name.to_ascii_uppercase()))
        .collect();
    Command::new("SETQUOTA")
        .arg(string(root))
        .arg(Arg::Raw(Bytes::from(format!("({})", list.join(" ")))))
        .finish(untagged("QUOTA"))
}

/// Which mailboxes a NOTIFY event group watches (RFC 5465 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotifyFilter {
    /// The selected mailbox, events sent at once (`selected`).
    Selected,
    /// The selected mailbox, expunges held until a command allows them
    /// (`selected-delayed`).
    SelectedDelayed,
    /// Every mailbox where new mail is delivered (`inboxes`).
    Inboxes,
    /// Every mailbox in the user's personal namespaces (`personal`).
    Personal,
    /// Every subscribed mailbox (`subscribed`).
    Subscribed,
    /// These mailboxes and all below them (`subtree`).
    Subtree(Vec<String>),
    /// Exactly these mailboxes (`mailboxes`).
    Mailboxes(Vec<String>),
}

/// An event NOTIFY can report (RFC 5465 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotifyEvent {
    /// New messages; in the selected mailbox, with these FETCH items
    /// (e.g. `"UID FLAGS"`) sent along, when given.
    MessageNew(Option<String>),
    /// Messages expunged.
    MessageExpunge,
    /// Flags changed.
    FlagChange,
    /// Annotations changed.
    AnnotationChange,
    /// Mailboxes created, deleted or renamed (sent as LIST).
    MailboxName,
    /// Subscriptions changed (sent as LIST).
    SubscriptionChange,
    /// Mailbox metadata changed (sent as METADATA).
    MailboxMetadataChange,
    /// Server metadata changed (sent as METADATA).
    ServerMetadataChange,
}

/// One NOTIFY event group: the mailboxes and the events wanted from them
/// (no events: `NONE`, nothing from those mailboxes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyGroup {
    /// The mailboxes.
    pub filter: NotifyFilter,
    /// The events.
    pub events: Vec<NotifyEvent>,
}

/// NOTIFY SET \[STATUS\] groups... (RFC 5465): unsolicited responses for
/// the chosen events from then on; with `status`, a STATUS for each
/// watched mailbox first.
pub fn notify_set(status: bool, groups: &[NotifyGroup]) -> Command {
    let mut cmd = Command::new("NOTIFY").arg(raw("SET"));
    if status {
        cmd = cmd.arg(raw("STATUS"));
    }
    for g in groups {
        cmd.args.push(Arg::ListStart);
        let names = match &g.filter {
            NotifyFilter::Selected => {
                cmd.args.push(raw("selected"));
                None
            }
            NotifyFilter::SelectedDelayed => {
                cmd.args.push(raw("selected-delayed"));
                None
            }
            NotifyFilter::Inboxes => {
                cmd.args.push(raw("inboxes"));
                None
            }
            NotifyFilter::Personal => {
                cmd.args.push(raw("personal"));
                None
            }
            NotifyFilter::Subscribed => {
                cmd.args.push(raw("subscribed"));
                None
            }
            NotifyFilter::Subtree(names) => {
                cmd.args.push(raw("subtree"));
                Some(names)
            }
            NotifyFilter::Mailboxes(names) => {
                cmd.args.push(raw("mailboxes"));
                Some(names)
            }
        };
        if let Some(names) = names {
            cmd.args.push(Arg::ListStart);
            for n in names {
                cmd.args.push(mailbox(n));
            }
            cmd.args.push(Arg::ListEnd);
        }
        if g.events.is_empty() {
            cmd.args.push(raw("NONE"));
        } else {
            cmd.args.push(Arg::ListStart);
            for e in &g.events {
                match e {
                    NotifyEvent::MessageNew(items) => {
                        cmd.args.push(raw("MessageNew"));
                        if let Some(items) = items.as_deref().filter(|i| !i.is_empty()) {
                            cmd.args.push(Arg::Raw(paren_list(items.as_bytes())));
                        }
                    }
                    NotifyEvent::MessageExpunge => cmd.args.push(raw("MessageExpunge")),
                    NotifyEvent::FlagChange => cmd.args.push(raw("FlagChange")),
                    NotifyEvent::AnnotationChange => cmd.args.push(raw("AnnotationChange")),
                    NotifyEvent::MailboxName => cmd.args.push(raw("MailboxName")),
                    NotifyEvent::SubscriptionChange => cmd.args.push(raw("SubscriptionChange")),
                    NotifyEvent::MailboxMetadataChange => {
                        cmd.args.push(raw("MailboxMetadataChange"))
                    }
                    NotifyEvent::ServerMetadataChange => cmd.args.push(raw("ServerMetadataChange")),
                }
            }
            cmd.args.push(Arg::ListEnd);
        }
        cmd.args.push(Arg::ListEnd);
    }
    cmd
}

/// NOTIFY NONE (RFC 5465): no more notifications.
pub fn notify_none() -> Command {
    Command::new("NOTIFY").arg(raw("NONE"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_normalisation() {
        assert_eq!(&normalize_crlf(b"a\nb\rc\r\nd")[..], b"a\r\nb\r\nc\r\nd");
        assert_eq!(&normalize_crlf(b"\r")[..], b"\r\n");
        assert_eq!(&normalize_crlf(b"")[..], b"");
        assert_eq!(&normalize_crlf(b"\n\n\r\r")[..], b"\r\n\r\n\r\n\r\n");
        assert_eq!(&normalize_crlf(b"x\r\n\ny")[..], b"x\r\n\r\ny");
        assert_eq!(&normalize_crlf(b"no line end")[..], b"no line end");
        // Against the rule written out byte by byte, on every string of
        // up to 7 bytes of CR, LF and `x`.
        let by_bytes = |m: &[u8]| {
            let mut out = Vec::new();
            let mut i = 0;
            while i < m.len() {
                match m[i] {
                    b'\r' if m.get(i + 1) == Some(&b'\n') => {
                        out.extend_from_slice(b"\r\n");
                        i += 1;
                    }
                    b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
                    c => out.push(c),
                }
                i += 1;
            }
            out
        };
        for len in 0..=7u32 {
            for code in 0..3u32.pow(len) {
                let m: Vec<u8> = (0..len)
                    .map(|k| b"\r\nx"[(code / 3u32.pow(k) % 3) as usize])
                    .collect();
                assert_eq!(&normalize_crlf(&m)[..], &by_bytes(&m)[..], "{m:?}");
            }
        }
    }

    #[test]
    fn authenticate_with_initial_response() {
        assert_eq!(base64_standard(b""), b"");
        assert_eq!(base64_standard(b"f"), b"Zg==");
        assert_eq!(base64_standard(b"fo"), b"Zm8=");
        assert_eq!(base64_standard(b"foo"), b"Zm9v");
        assert_eq!(base64_standard(b"foobar"), b"Zm9vYmFy");
        assert_eq!(base64_standard(b"\0user\0pass"), b"AHVzZXIAcGFzcw==");
        let cmd = authenticate_ir("plain", Some(b"\0user\0pass"));
        assert_eq!(cmd.name, "AUTHENTICATE");
        assert_eq!(
            cmd.args,
            vec![
                raw("PLAIN"),
                Arg::SecretAtom(Bytes::from_static(b"AHVzZXIAcGFzcw=="))
            ]
        );
        assert!(cmd.interactive);
        assert_eq!(cmd.finish, Finish::Authenticate);
        let empty = authenticate_ir("EXTERNAL", Some(b""));
        assert_eq!(empty.args[1], Arg::SecretAtom(Bytes::from_static(b"=")));
        assert_eq!(authenticate_ir("LOGIN", None).args, vec![raw("LOGIN")]);
    }

    #[test]
    fn flag_lists_get_parentheses() {
        let cmd = store(b"1", b"+FLAGS", b"\\Deleted");
        assert_eq!(cmd.args[2], Arg::Raw(Bytes::from_static(b"(\\Deleted)")));
        let cmd = store(b"1", b"+FLAGS", b"(\\Seen)");
        assert_eq!(cmd.args[2], Arg::Raw(Bytes::from_static(b"(\\Seen)")));
    }
}
