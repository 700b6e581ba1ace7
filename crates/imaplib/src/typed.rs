//! Typed methods: the same commands as the imaplib-shaped methods, with
//! their results decoded into Rust types ([`imaplib_proto::types`]). A `NO`
//! is an `error` here (the imaplib methods return it as `typ`); the
//! imaplib-shaped methods stay unchanged beside these.
//!
//! Their errors say why through [`crate::Error::detail`]: `CommandFailed`
//! when the server refused (NO), `Parse` when its answer did not decode,
//! `MissingCapability` when the server lacks the extension and nothing was
//! sent.

use bytes::Bytes;
use imaplib_proto::command::build;
use imaplib_proto::types::view::FetchView;
use imaplib_proto::types::{
    decode_condition_text, decode_data, decode_response, Acl, DecodeError, ESearch, Fetch,
    ListEntry, MailboxStatus, Namespaces, Quota, QuotaRoot, ResponseCode, SearchResult,
    SequenceSet, ThreadNode, Typed, Untagged,
};
use imaplib_proto::{Command, Data, Query, Reply, Status};

use crate::engine::{Conn, Link};
use crate::error::{Error, Result};

/// What SELECT / EXAMINE told about the mailbox (RFC 3501 §6.3.1,
/// RFC 7162).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SelectInfo {
    /// Number of messages (`EXISTS`).
    pub exists: u32,
    /// Number of recent messages (`RECENT`; absent under IMAP4rev2).
    pub recent: Option<u32>,
    /// Flags defined in the mailbox.
    pub flags: Vec<String>,
    /// Flags the client can change permanently (`\*`: new keywords allowed).
    pub permanent_flags: Option<Vec<String>>,
    /// `UIDVALIDITY`.
    pub uid_validity: Option<u32>,
    /// `UIDNEXT`.
    pub uid_next: Option<u32>,
    /// First unseen message (`UNSEEN` code).
    pub unseen: Option<u32>,
    /// `HIGHESTMODSEQ` (CONDSTORE).
    pub highest_modseq: Option<u64>,
    /// The server does not keep mod-sequences for this mailbox (`NOMODSEQ`).
    pub no_modseq: bool,
    /// The mailbox was opened read-only.
    pub read_only: bool,
}

/// A typed decoding failure becomes an `abort`-free `error` naming the
/// response: the data stays available through the imaplib-shaped method.
fn decode_error(what: &str, e: DecodeError) -> Error {
    Error::error(format!("cannot decode the {what} response: {e}"))
        .with_detail(imaplib_proto::ProtoErrorKind::Parse)
}

fn refused(reply: &Reply) -> Error {
    let text = reply
        .data
        .last()
        .and_then(Data::as_bytes)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let mut message = format!("server refused: {} {text}", reply.typ);
    if let Some(ResponseCode::BadCharset(offered)) = reply_code(reply) {
        // RFC 3501 §7.1: the charsets the server does search in, if it says.
        if offered.is_empty() {
            message.push_str(" (the server names no charset it supports)");
        } else {
            message.push_str(&format!(
                " (the server searches only in: {})",
                offered.join(", ")
            ));
        }
    }
    Error::error(message).with_detail(imaplib_proto::ProtoErrorKind::CommandFailed)
}

pub(crate) fn require_ok(reply: &Reply) -> Result<()> {
    if reply.typ == Status::Ok {
        Ok(())
    } else {
        Err(refused(reply))
    }
}

fn first_number<T: std::str::FromStr>(items: Option<&Vec<Data>>) -> Option<T> {
    let last = items?.iter().rev().find_map(Data::as_bytes)?;
    std::str::from_utf8(last)
        .ok()?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Decodes the untagged data a command returned under `name`; a NO is an
/// `error`.
pub(crate) fn decode_reply(reply: &Reply, name: &str) -> Result<Vec<Untagged>> {
    require_ok(reply)?;
    decode_data(name, &reply.data)
        .into_iter()
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| decode_error(name, e))
}

/// [`decode_reply`] for listings (LIST, LSUB): an entry that does not
/// decode is left out, with a warning in the trace, instead of failing the
/// whole listing; imaplib's `list()` still returns it raw.
pub(crate) fn decode_reply_lenient(reply: &Reply, name: &str) -> Result<Vec<Untagged>> {
    require_ok(reply)?;
    Ok(decode_data(name, &reply.data)
        .into_iter()
        .filter_map(|r| match r {
            Ok(u) => Some(u),
            Err(e) => {
                tracing::warn!(
                    target: "imaplib::typed",
                    "left out an undecodable {name} response: {e}"
                );
                None
            }
        })
        .collect())
}

/// Builds a [`SelectInfo`] from a SELECT reply and the untagged responses.
pub(crate) fn select_info(
    reply: &Reply,
    ur: &std::collections::HashMap<String, Vec<Data>>,
    readonly: bool,
) -> Result<SelectInfo> {
    require_ok(reply)?;
    let mut info = SelectInfo {
        exists: first_number(ur.get("EXISTS")).unwrap_or(0),
        recent: first_number(ur.get("RECENT")),
        uid_validity: first_number(ur.get("UIDVALIDITY")),
        uid_next: first_number(ur.get("UIDNEXT")),
        unseen: first_number(ur.get("UNSEEN")),
        highest_modseq: first_number(ur.get("HIGHESTMODSEQ")),
        no_modseq: ur.contains_key("NOMODSEQ"),
        read_only: ur.contains_key("READ-ONLY") || readonly,
        ..SelectInfo::default()
    };
    if let Some(Data::Line(flags)) = ur.get("FLAGS").and_then(|v| v.last()) {
        if let Some(Ok(Untagged::Flags(f))) = decode_data("FLAGS", &[Data::Line(flags.clone())])
            .into_iter()
            .next()
        {
            info.flags = f;
        }
    }
    if let Some(Data::Line(args)) = ur.get("PERMANENTFLAGS").and_then(|v| v.last()) {
        let code = imaplib_proto::Code {
            name: "PERMANENTFLAGS".into(),
            args: args.clone(),
        };
        if let ResponseCode::PermanentFlags(f) = ResponseCode::decode(&code) {
            info.permanent_flags = Some(f);
        }
    }
    Ok(info)
}

impl<L: Link> Conn<'_, L> {
    /// Runs an imaplib-shaped command and decodes the untagged data it
    /// returned under `name`. Data of that name held from before (an
    /// unsolicited FETCH, a STATUS sent by NOTIFY...) is dropped first, so
    /// a typed result holds only what arrived while its command ran; such
    /// data reaches [`Imap4::take_events`] when events are on.
    pub(crate) async fn typed_data(&mut self, cmd: Command, name: &str) -> Result<Vec<Untagged>> {
        self.e.session.pop_untagged(name);
        let reply = self.run_command(cmd).await?;
        decode_reply(&reply, name)
    }

    /// [`Imap4::typed_data`] for listings: an entry that does not decode
    /// is left out ([`decode_reply_lenient`]).
    pub(crate) async fn typed_listing(
        &mut self,
        cmd: Command,
        name: &str,
    ) -> Result<Vec<Untagged>> {
        self.e.session.pop_untagged(name);
        let reply = self.run_command(cmd).await?;
        decode_reply_lenient(&reply, name)
    }

    /// SELECT (or EXAMINE when `readonly`), with the mailbox's state typed.
    pub(crate) async fn select_typed(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        readonly: bool,
    ) -> Result<SelectInfo> {
        let reply = self.select(mailbox, readonly).await?;
        select_info(&reply, self.untagged_responses(), readonly)
    }

    /// FETCH with each message's items typed.
    pub(crate) async fn fetch_typed(
        &mut self,
        message_set: impl AsRef<[u8]>,
        message_parts: impl AsRef<[u8]>,
    ) -> Result<Vec<Fetch>> {
        let cmd = build::fetch(message_set.as_ref(), message_parts.as_ref());
        self.typed_fetches(cmd).await
    }

    /// Runs a FETCH-like command and types every FETCH response that comes
    /// with it, straight from the responses as received (bodies are shared
    /// with them, not copied), as they arrive. What they weigh stays
    /// counted by the session until the command ends, so the bound on
    /// untagged data (`set_max_untagged_bytes`) applies to them as to
    /// imaplib's data. A response that does not decode fails the call, as
    /// [`Imap4::typed_data`] does.
    pub(crate) async fn typed_fetches(&mut self, cmd: Command) -> Result<Vec<Fetch>> {
        let mut out = Vec::new();
        let mut failed = None;
        // The parsed responses are not kept; their weight is, until the
        // command ends.
        self.responses_of(cmd, true, |resp| match fetch_of(resp) {
            Ok(f) => out.push(f),
            Err(e) => {
                failed.get_or_insert(e);
            }
        })
        .await?;
        match failed {
            Some(e) => Err(decode_error("FETCH", e)),
            None => Ok(out),
        }
    }

    /// FETCH, handing each message to `each` as it arrives, typed, instead
    /// of collecting them: memory stays bounded by one response however
    /// many messages match, and nothing waits for the end of the command.
    /// A response that does not decode at all is handed over as its
    /// [`DecodeError`] (an undecodable item inside a FETCH is kept raw in
    /// the [`Fetch`]). Unsolicited FETCH responses (flag changes) arriving
    /// meanwhile are handed over too. Returns how many responses were
    /// handed over; a `NO` raises `error` after the ones that came.
    pub(crate) async fn fetch_each<F>(
        &mut self,
        message_set: impl AsRef<[u8]>,
        message_parts: impl AsRef<[u8]>,
        each: F,
    ) -> Result<usize>
    where
        F: FnMut(std::result::Result<Fetch, DecodeError>),
    {
        let cmd = build::fetch(message_set.as_ref(), message_parts.as_ref());
        self.fetch_each_command(cmd, each).await
    }

    /// UID FETCH, handing each message over as it arrives (see
    /// [`Imap4::fetch_each`]).
    pub(crate) async fn uid_fetch_each<F>(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        message_parts: impl AsRef<[u8]>,
        each: F,
    ) -> Result<usize>
    where
        F: FnMut(std::result::Result<Fetch, DecodeError>),
    {
        let cmd = build::uid("FETCH", [uid_set.as_ref(), message_parts.as_ref()]);
        self.fetch_each_command(cmd, each).await
    }

    /// [`Imap4::fetch_each`] with borrowed views instead of owned values:
    /// each response is checked completely (as [`Fetch`](crate::types::Fetch) is,
    /// refused alike) and its values are read in place when asked for,
    /// with no allocation at all. The fastest way to walk many messages; a view
    /// lives only during the call, [`FetchView::to_fetch`] keeps one.
    pub(crate) async fn fetch_each_view<F>(
        &mut self,
        message_set: impl AsRef<[u8]>,
        message_parts: impl AsRef<[u8]>,
        mut each: F,
    ) -> Result<usize>
    where
        F: FnMut(std::result::Result<FetchView<'_>, DecodeError>),
    {
        let cmd = build::fetch(message_set.as_ref(), message_parts.as_ref());
        self.each_response(cmd, |resp| each(view_of(resp))).await
    }

    /// UID FETCH with borrowed views (see [`Imap4::fetch_each_view`]).
    pub(crate) async fn uid_fetch_each_view<F>(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        message_parts: impl AsRef<[u8]>,
        mut each: F,
    ) -> Result<usize>
    where
        F: FnMut(std::result::Result<FetchView<'_>, DecodeError>),
    {
        let cmd = build::uid("FETCH", [uid_set.as_ref(), message_parts.as_ref()]);
        self.each_response(cmd, |resp| each(view_of(resp))).await
    }

    pub(crate) async fn fetch_each_command<F>(&mut self, cmd: Command, mut each: F) -> Result<usize>
    where
        F: FnMut(std::result::Result<Fetch, DecodeError>),
    {
        self.each_response(cmd, |resp| each(fetch_of(resp))).await
    }

    /// Runs a FETCH-like command, handing each FETCH response over as it
    /// arrives instead of storing it.
    pub(crate) async fn each_response(
        &mut self,
        cmd: Command,
        each: impl FnMut(&imaplib_proto::Response),
    ) -> Result<usize> {
        self.responses_of(cmd, false, each).await
    }

    /// [`Imap4::each_response`]; with `hold`, what the responses weigh
    /// stays counted against the bound on untagged data until the command
    /// ends (for a caller that keeps what it makes of them).
    async fn responses_of(
        &mut self,
        cmd: Command,
        hold: bool,
        mut each: impl FnMut(&imaplib_proto::Response),
    ) -> Result<usize> {
        self.e.session.pop_untagged("FETCH");
        self.e.session.capture_responses(Some("FETCH"));
        let mut count = 0;
        let result = match self.send_command(cmd).await {
            Ok(tag) => {
                self.wait_with(&tag, |session: &mut imaplib_proto::Session| {
                    let taken = if hold {
                        session.take_responses_held()
                    } else {
                        session.take_responses()
                    };
                    for resp in taken {
                        count += 1;
                        each(&resp);
                    }
                    Ok(())
                })
                .await
            }
            Err(e) => Err(e),
        };
        // Also stops counting what was held.
        self.e.session.capture_responses(None);
        require_ok(&result?)?;
        Ok(count)
    }

    /// UID FETCH with each message's items typed.
    pub(crate) async fn uid_fetch_typed(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        message_parts: impl AsRef<[u8]>,
    ) -> Result<Vec<Fetch>> {
        let cmd = build::uid("FETCH", [uid_set.as_ref(), message_parts.as_ref()]);
        self.typed_fetches(cmd).await
    }

    /// STORE with the resulting FETCH responses typed.
    pub(crate) async fn store_typed(
        &mut self,
        message_set: impl AsRef<[u8]>,
        command: impl AsRef<[u8]>,
        flags: impl AsRef<[u8]>,
    ) -> Result<Vec<Fetch>> {
        let cmd = build::store(message_set.as_ref(), command.as_ref(), flags.as_ref());
        self.typed_fetches(cmd).await
    }

    /// LIST, typed (`directory` defaults to `""`, `pattern` to `*`). An
    /// entry that does not decode is left out (with a warning in the
    /// trace) rather than failing the listing.
    pub(crate) async fn list_typed(
        &mut self,
        directory: Option<&str>,
        pattern: Option<&str>,
    ) -> Result<Vec<ListEntry>> {
        let cmd = build::list(
            directory.unwrap_or("\"\"").as_bytes(),
            pattern.unwrap_or("*").as_bytes(),
        );
        Ok(list_entries(self.typed_listing(cmd, "LIST").await?))
    }

    /// LSUB, typed. On a server that speaks only IMAP4rev2, which has no
    /// LSUB, sends `LIST (SUBSCRIBED)` instead (RFC 9051 §6.3.9).
    pub(crate) async fn lsub_typed(
        &mut self,
        directory: Option<&str>,
        pattern: Option<&str>,
    ) -> Result<Vec<ListEntry>> {
        let (cmd, name) = lsub_command(self.capabilities(), directory, pattern);
        Ok(subscribed_entries(self.typed_listing(cmd, name).await?))
    }

    /// STATUS, typed.
    pub(crate) async fn status_typed(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        names: impl AsRef<[u8]>,
    ) -> Result<MailboxStatus> {
        let cmd = build::status(mailbox.as_ref(), names.as_ref());
        one_status(self.typed_data(cmd, "STATUS").await?, mailbox.as_ref())
    }

    /// SEARCH, typed (criteria as for [`Imap4::search`]).
    pub(crate) async fn search_typed<I, A>(
        &mut self,
        charset: Option<&str>,
        criteria: I,
    ) -> Result<SearchResult>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let cmd = build::search(charset, criteria);
        merge_search(self.typed_data(cmd, "SEARCH").await?)
    }

    /// UID SEARCH, typed.
    pub(crate) async fn uid_search_typed<I, A>(&mut self, criteria: I) -> Result<SearchResult>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let args: Vec<Bytes> = criteria
            .into_iter()
            .map(|c| Bytes::copy_from_slice(c.as_ref()))
            .collect();
        let cmd = build::uid("SEARCH", args);
        merge_search(self.typed_data(cmd, "SEARCH").await?)
    }

    /// SEARCH RETURN (options) criteria (RFC 4731 ESEARCH), e.g. options
    /// `"MIN MAX COUNT ALL"`; with `uid`, as UID SEARCH. Raises `error` if
    /// the server lacks ESEARCH.
    pub(crate) async fn esearch<I, A>(
        &mut self,
        uid: bool,
        return_options: &str,
        criteria: I,
    ) -> Result<ESearch>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let cmd = esearch_command(self.capabilities(), uid, return_options, criteria)?;
        let mut all = self.typed_data(cmd, "ESEARCH").await?;
        Ok(one_esearch(all.pop(), uid))
    }

    /// SEARCH with a typed [`Query`]: the charset is chosen by itself
    /// (none for ASCII; with 8-bit text, UTF-8 as is under UTF8=ACCEPT,
    /// else `CHARSET UTF-8`).
    pub(crate) async fn search_query(&mut self, query: &Query) -> Result<SearchResult> {
        let cmd = build::search_query(query, self.e.session.utf8_enabled());
        merge_search(self.typed_data(cmd, "SEARCH").await?)
    }

    /// UID SEARCH with a typed [`Query`].
    pub(crate) async fn uid_search_query(&mut self, query: &Query) -> Result<SearchResult> {
        let cmd = build::uid_search_query(query, self.e.session.utf8_enabled());
        merge_search(self.typed_data(cmd, "SEARCH").await?)
    }

    /// ESEARCH (RFC 4731) with a typed [`Query`]: `SEARCH RETURN
    /// (options)`, or UID SEARCH with `uid`.
    pub(crate) async fn esearch_query(
        &mut self,
        uid: bool,
        return_options: &str,
        query: &Query,
    ) -> Result<ESearch> {
        esearch_allowed(self.capabilities(), return_options)?;
        let cmd = build::esearch_query(uid, return_options, query, self.e.session.utf8_enabled());
        let mut all = self.typed_data(cmd, "ESEARCH").await?;
        Ok(one_esearch(all.pop(), uid))
    }

    /// SORT (RFC 5256) with a typed [`Query`]; `uid` for UID SORT.
    pub(crate) async fn sort_query(
        &mut self,
        sort_criteria: &str,
        query: &Query,
        uid: bool,
    ) -> Result<Vec<u32>> {
        let utf8 = self.e.session.utf8_enabled();
        let cmd = build::sort_query(sort_criteria.as_bytes(), query, utf8, uid);
        Ok(sort_ids(self.typed_data(cmd, "SORT").await?))
    }

    /// THREAD (RFC 5256) with a typed [`Query`]; `uid` for UID THREAD.
    pub(crate) async fn thread_query(
        &mut self,
        algorithm: &str,
        query: &Query,
        uid: bool,
    ) -> Result<Vec<ThreadNode>> {
        let utf8 = self.e.session.utf8_enabled();
        let cmd = build::thread_query(algorithm.as_bytes(), query, utf8, uid);
        Ok(threads(self.typed_data(cmd, "THREAD").await?))
    }

    /// SORT, typed.
    pub(crate) async fn sort_typed<I, A>(
        &mut self,
        sort_criteria: impl AsRef<[u8]>,
        charset: &str,
        criteria: I,
    ) -> Result<Vec<u32>>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let cmd = build::sort(sort_criteria.as_ref(), charset, criteria);
        Ok(sort_ids(self.typed_data(cmd, "SORT").await?))
    }

    /// THREAD, typed as a forest of trees.
    pub(crate) async fn thread_typed<I, A>(
        &mut self,
        algorithm: impl AsRef<[u8]>,
        charset: &str,
        criteria: I,
    ) -> Result<Vec<ThreadNode>>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let cmd = build::thread(algorithm.as_ref(), charset, criteria);
        Ok(threads(self.typed_data(cmd, "THREAD").await?))
    }

    /// NAMESPACE, typed.
    pub(crate) async fn namespace_typed(&mut self) -> Result<Namespaces> {
        one_namespace(self.typed_data(build::namespace(), "NAMESPACE").await?)
    }

    /// GETQUOTA, typed.
    pub(crate) async fn getquota_typed(&mut self, root: impl AsRef<[u8]>) -> Result<Vec<Quota>> {
        Ok(quotas(
            self.typed_data(build::getquota(root.as_ref()), "QUOTA")
                .await?,
        ))
    }

    /// GETQUOTAROOT, typed: the roots and their quotas.
    pub(crate) async fn getquotaroot_typed(
        &mut self,
        mailbox: impl AsRef<[u8]>,
    ) -> Result<(QuotaRoot, Vec<Quota>)> {
        let reply = self.getquotaroot(mailbox).await?;
        quota_root_of(&reply)
    }

    /// GETACL, typed.
    pub(crate) async fn getacl_typed(&mut self, mailbox: impl AsRef<[u8]>) -> Result<Acl> {
        one_acl(
            self.typed_data(build::getacl(mailbox.as_ref()), "ACL")
                .await?,
        )
    }

    /// MYRIGHTS, typed: the rights string.
    pub(crate) async fn myrights_typed(&mut self, mailbox: impl AsRef<[u8]>) -> Result<Bytes> {
        one_rights(
            self.typed_data(build::myrights(mailbox.as_ref()), "MYRIGHTS")
                .await?,
        )
    }

    /// APPEND, returning the RFC 4315 APPENDUID (UIDVALIDITY and UIDs)
    /// when the server sends one.
    pub(crate) async fn append_typed(
        &mut self,
        mailbox: Option<&str>,
        flags: Option<&str>,
        date_time: Option<imaplib_proto::date::DateInput>,
        message: impl AsRef<[u8]>,
    ) -> Result<Option<(u32, SequenceSet)>> {
        let reply = self.append(mailbox, flags, date_time, message).await?;
        append_uid(&reply)
    }
}

/// The response code of a reply's tagged text (`[APPENDUID ...] done`).
pub fn reply_code(reply: &Reply) -> Option<ResponseCode> {
    let text = reply.data.last()?.as_bytes()?;
    decode_condition_text(text).0
}

pub(crate) fn fetches(items: Vec<Untagged>) -> Vec<Fetch> {
    items
        .into_iter()
        .filter_map(|u| match u {
            Untagged::Fetch(f) => Some(f),
            _ => None,
        })
        .collect()
}

pub(crate) fn list_entries(items: Vec<Untagged>) -> Vec<ListEntry> {
    items
        .into_iter()
        .filter_map(|u| match u {
            Untagged::List(l) => Some(l),
            _ => None,
        })
        .collect()
}

/// LSUB, or on an IMAP4rev2-only server (no LSUB there) `LIST
/// (SUBSCRIBED)`; with the name its data comes under.
pub(crate) fn lsub_command(
    caps: &[String],
    directory: Option<&str>,
    pattern: Option<&str>,
) -> (Command, &'static str) {
    let directory = directory.unwrap_or("\"\"");
    let pattern = pattern.unwrap_or("*");
    let rev2_only = caps.iter().any(|c| c == "IMAP4REV2") && !caps.iter().any(|c| c == "IMAP4REV1");
    if rev2_only {
        let cmd = build::list_extended(
            &["SUBSCRIBED"],
            directory.as_bytes(),
            &[pattern.as_bytes()],
            &[],
        );
        (cmd, "LIST")
    } else {
        (
            build::lsub(directory.as_bytes(), pattern.as_bytes()),
            "LSUB",
        )
    }
}

/// The entries of an LSUB or `LIST (SUBSCRIBED)` answer.
pub(crate) fn subscribed_entries(items: Vec<Untagged>) -> Vec<ListEntry> {
    items
        .into_iter()
        .filter_map(|u| match u {
            Untagged::Lsub(l) | Untagged::List(l) => Some(l),
            _ => None,
        })
        .collect()
}

/// One captured FETCH response, as a borrowed view.
pub(crate) fn view_of(
    resp: &imaplib_proto::Response,
) -> std::result::Result<FetchView<'_>, DecodeError> {
    FetchView::from_response(resp).unwrap_or_else(|| {
        Err(DecodeError {
            reason: "not a FETCH response".into(),
        })
    })
}

/// One captured FETCH response, typed.
pub(crate) fn fetch_of(resp: &imaplib_proto::Response) -> std::result::Result<Fetch, DecodeError> {
    match decode_response(resp) {
        Typed::Untagged(Untagged::Fetch(f)) => Ok(f),
        Typed::Undecodable { error, .. } => Err(error),
        other => Err(DecodeError {
            reason: format!("not a FETCH response: {other:?}"),
        }),
    }
}

/// The STATUS of `mailbox` among the STATUS responses held: others may be
/// there too (NOTIFY sends them unasked), so the one naming the mailbox
/// asked for wins, the latest if several do.
pub(crate) fn one_status(items: Vec<Untagged>, mailbox: &[u8]) -> Result<MailboxStatus> {
    let all: Vec<MailboxStatus> = items
        .into_iter()
        .filter_map(|u| match u {
            Untagged::Status(s) => Some(s),
            _ => None,
        })
        .collect();
    let asked = String::from_utf8_lossy(mailbox);
    let asked = asked.trim_matches('"');
    let matches = |s: &MailboxStatus| {
        s.mailbox.raw.as_ref() == asked.as_bytes()
            || s.mailbox.name() == asked
            || (asked.eq_ignore_ascii_case("INBOX") && s.mailbox.name() == "INBOX")
    };
    let wanted = all.iter().rposition(matches).or(all.len().checked_sub(1));
    wanted
        .and_then(|i| all.into_iter().nth(i))
        .ok_or_else(|| Error::error("no STATUS response"))
}

pub(crate) fn merge_search(items: Vec<Untagged>) -> Result<SearchResult> {
    let mut out = SearchResult::default();
    for u in items {
        if let Untagged::Search(s) = u {
            out.ids.extend(s.ids);
            out.modseq = s.modseq.or(out.modseq);
        }
    }
    Ok(out)
}

/// Raises `error` unless the server offers ESEARCH (and PARTIAL when the
/// return options ask for it).
fn esearch_allowed(caps: &[String], return_options: &str) -> Result<()> {
    if !caps.iter().any(|c| c == "ESEARCH" || c == "IMAP4REV2") {
        return Err(Error::missing_capability("ESEARCH"));
    }
    if return_options
        .to_ascii_uppercase()
        .split_whitespace()
        .any(|o| o == "PARTIAL")
        && !caps.iter().any(|c| c == "PARTIAL" || c == "CONTEXT=SEARCH")
    {
        return Err(Error::missing_capability("PARTIAL"));
    }
    Ok(())
}

pub(crate) fn esearch_command<I, A>(
    caps: &[String],
    uid: bool,
    return_options: &str,
    criteria: I,
) -> Result<Command>
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u8]>,
{
    esearch_allowed(caps, return_options)?;
    let mut args: Vec<Bytes> = vec![
        Bytes::from_static(b"RETURN"),
        Bytes::from(format!("({return_options})")),
    ];
    args.extend(
        criteria
            .into_iter()
            .map(|c| Bytes::copy_from_slice(c.as_ref())),
    );
    let finish = imaplib_proto::Finish::Untagged("ESEARCH".into());
    Ok(if uid {
        build::uid("SEARCH", args).finish(finish)
    } else {
        build::xatom("SEARCH", args).finish(finish)
    })
}

pub(crate) fn one_esearch(last: Option<Untagged>, uid: bool) -> ESearch {
    match last {
        Some(Untagged::ESearch(e)) => e,
        // A server may answer with no ESEARCH at all when nothing matched.
        _ => ESearch {
            uid,
            ..ESearch::default()
        },
    }
}

pub(crate) fn sort_ids(items: Vec<Untagged>) -> Vec<u32> {
    items
        .into_iter()
        .flat_map(|u| match u {
            Untagged::Sort(s) | Untagged::Search(s) => s.ids,
            _ => Vec::new(),
        })
        .collect()
}

pub(crate) fn threads(items: Vec<Untagged>) -> Vec<ThreadNode> {
    items
        .into_iter()
        .flat_map(|u| match u {
            Untagged::Thread(t) => t,
            _ => Vec::new(),
        })
        .collect()
}

pub(crate) fn one_namespace(items: Vec<Untagged>) -> Result<Namespaces> {
    items
        .into_iter()
        .find_map(|u| match u {
            Untagged::Namespace(n) => Some(n),
            _ => None,
        })
        .ok_or_else(|| Error::error("no NAMESPACE response"))
}

pub(crate) fn quotas(items: Vec<Untagged>) -> Vec<Quota> {
    items
        .into_iter()
        .filter_map(|u| match u {
            Untagged::Quota(q) => Some(q),
            _ => None,
        })
        .collect()
}

pub(crate) fn quota_root_of(reply: &Reply) -> Result<(QuotaRoot, Vec<Quota>)> {
    require_ok(reply)?;
    let (Some(Data::List(roots)), Some(Data::List(quota_items))) =
        (reply.data.first(), reply.data.get(1))
    else {
        return Err(Error::error("unexpected GETQUOTAROOT result"));
    };
    let root = decode_data("QUOTAROOT", roots)
        .into_iter()
        .find_map(|u| match u {
            Ok(Untagged::QuotaRoot(r)) => Some(r),
            _ => None,
        })
        .ok_or_else(|| Error::error("no QUOTAROOT response"))?;
    let list = decode_data("QUOTA", quota_items)
        .into_iter()
        .filter_map(|u| match u {
            Ok(Untagged::Quota(q)) => Some(q),
            _ => None,
        })
        .collect();
    Ok((root, list))
}

pub(crate) fn one_acl(items: Vec<Untagged>) -> Result<Acl> {
    items
        .into_iter()
        .find_map(|u| match u {
            Untagged::Acl(a) => Some(a),
            _ => None,
        })
        .ok_or_else(|| Error::error("no ACL response"))
}

pub(crate) fn one_rights(items: Vec<Untagged>) -> Result<Bytes> {
    items
        .into_iter()
        .find_map(|u| match u {
            Untagged::MyRights { rights, .. } => Some(rights),
            _ => None,
        })
        .ok_or_else(|| Error::error("no MYRIGHTS response"))
}

pub(crate) fn append_uid(reply: &Reply) -> Result<Option<(u32, SequenceSet)>> {
    require_ok(reply)?;
    Ok(match reply_code(reply) {
        Some(ResponseCode::AppendUid { uid_validity, uids }) => Some((uid_validity, uids)),
        _ => None,
    })
}
