//! The public methods both clients have, listed once.
//!
//! Each entry is a method's documentation and signature (without
//! `&mut self` and without the `Result` around its result); the operation of
//! the same name on [`super::Conn`] does the work. `__imaplib_methods!(blocking)`
//! expands the list into blocking methods on [`crate::Imap4`],
//! `__imaplib_methods!(asynchronous)` into async ones on [`crate::AsyncImap4`].
//! Adding a command: its operation on `Conn`, and one entry here.

/// The list. Invoke with the path of a generator macro. Exported (hidden)
/// so that the tests can build a client of their own from it.
#[doc(hidden)]
#[macro_export]
macro_rules! __imaplib_methods {
    ($($gen:tt)+) => {
        $($gen)+! {
        /// SELECT (or EXAMINE when `readonly`), with the mailbox's state typed.
        fn select_typed(mailbox: impl AsRef<[u8]>, readonly: bool) -> $crate::SelectInfo;
        /// FETCH with each message's items typed.
        fn fetch_typed(message_set: impl AsRef<[u8]>, message_parts: impl AsRef<[u8]>) -> Vec<$crate::types::Fetch>;
        /// FETCH, handing each message to `each` as it arrives, typed, instead
        /// of collecting them: memory stays bounded by one response however
        /// many messages match, and nothing waits for the end of the command.
        /// A response that does not decode at all is handed over as its
        /// [`DecodeError`](crate::types::DecodeError) (an undecodable item inside a FETCH is kept raw in
        /// the [`Fetch`](crate::types::Fetch)). Unsolicited FETCH responses (flag changes) arriving
        /// meanwhile are handed over too. Returns how many responses were
        /// handed over; a `NO` raises `error` after the ones that came.
        fn fetch_each(message_set: impl AsRef<[u8]>, message_parts: impl AsRef<[u8]>, each: impl FnMut(::std::result::Result<$crate::types::Fetch, $crate::types::DecodeError>)) -> usize;
        /// UID FETCH, handing each message over as it arrives (see
        /// [`Imap4::fetch_each`](crate::Imap4::fetch_each)).
        fn uid_fetch_each(uid_set: impl AsRef<[u8]>, message_parts: impl AsRef<[u8]>, each: impl FnMut(::std::result::Result<$crate::types::Fetch, $crate::types::DecodeError>)) -> usize;
        /// [`Imap4::fetch_each`](crate::Imap4::fetch_each) with borrowed views instead of owned values:
        /// each response is checked completely (as [`Fetch`](crate::types::Fetch) is,
        /// refused alike) and its values are read in place when asked for,
        /// with no allocation at all. The fastest way to walk many messages; a view
        /// lives only during the call, [`FetchView::to_fetch`](crate::types::view::FetchView::to_fetch) keeps one.
        fn fetch_each_view(message_set: impl AsRef<[u8]>, message_parts: impl AsRef<[u8]>, each: impl FnMut(::std::result::Result<$crate::types::view::FetchView<'_>, $crate::types::DecodeError>)) -> usize;
        /// UID FETCH with borrowed views (see [`Imap4::fetch_each_view`](crate::Imap4::fetch_each_view)).
        fn uid_fetch_each_view(uid_set: impl AsRef<[u8]>, message_parts: impl AsRef<[u8]>, each: impl FnMut(::std::result::Result<$crate::types::view::FetchView<'_>, $crate::types::DecodeError>)) -> usize;
        /// UID FETCH with each message's items typed.
        fn uid_fetch_typed(uid_set: impl AsRef<[u8]>, message_parts: impl AsRef<[u8]>) -> Vec<$crate::types::Fetch>;
        /// STORE with the resulting FETCH responses typed.
        fn store_typed(message_set: impl AsRef<[u8]>, command: impl AsRef<[u8]>, flags: impl AsRef<[u8]>) -> Vec<$crate::types::Fetch>;
        /// LIST, typed (`directory` defaults to `""`, `pattern` to `*`). An
        /// entry that does not decode is left out (with a warning in the
        /// trace) rather than failing the listing.
        fn list_typed(directory: Option<&str>, pattern: Option<&str>) -> Vec<$crate::types::ListEntry>;
        /// LSUB, typed. On a server that speaks only IMAP4rev2, which has no
        /// LSUB, sends `LIST (SUBSCRIBED)` instead (RFC 9051 §6.3.9).
        fn lsub_typed(directory: Option<&str>, pattern: Option<&str>) -> Vec<$crate::types::ListEntry>;
        /// STATUS, typed.
        fn status_typed(mailbox: impl AsRef<[u8]>, names: impl AsRef<[u8]>) -> $crate::types::MailboxStatus;
        /// SEARCH, typed (criteria as for [`Imap4::search`](crate::Imap4::search)).
        fn search_typed(charset: Option<&str>, criteria: impl IntoIterator<Item = impl AsRef<[u8]>>) -> $crate::types::SearchResult;
        /// UID SEARCH, typed.
        fn uid_search_typed(criteria: impl IntoIterator<Item = impl AsRef<[u8]>>) -> $crate::types::SearchResult;
        /// SEARCH RETURN (options) criteria (RFC 4731 ESEARCH), e.g. options
        /// `"MIN MAX COUNT ALL"`; with `uid`, as UID SEARCH. Raises `error` if
        /// the server lacks ESEARCH.
        fn esearch(uid: bool, return_options: &str, criteria: impl IntoIterator<Item = impl AsRef<[u8]>>) -> $crate::types::ESearch;
        /// SEARCH with a typed query ([`Query`](crate::Query)); the charset
        /// is picked by itself: none for ASCII text, and for 8-bit text
        /// UTF-8 as is under UTF8=ACCEPT, else `CHARSET UTF-8`. A server
        /// answering `[BADCHARSET]` raises `error` naming the charsets it
        /// offers.
        fn search_query(query: &$crate::Query) -> $crate::types::SearchResult;
        /// UID SEARCH with a typed query.
        fn uid_search_query(query: &$crate::Query) -> $crate::types::SearchResult;
        /// ESEARCH with a typed query: `SEARCH RETURN (options)`, or UID
        /// SEARCH with `uid`. Raises `error` if the server lacks ESEARCH.
        fn esearch_query(uid: bool, return_options: &str, query: &$crate::Query) -> $crate::types::ESearch;
        /// SORT with a typed query (`sort_criteria` such as `"REVERSE
        /// DATE"`); `uid` for UID SORT. The charset is `US-ASCII` or `UTF-8`.
        fn sort_query(sort_criteria: &str, query: &$crate::Query, uid: bool) -> Vec<u32>;
        /// THREAD with a typed query (`algorithm` such as `"REFERENCES"`);
        /// `uid` for UID THREAD.
        fn thread_query(algorithm: &str, query: &$crate::Query, uid: bool) -> Vec<$crate::types::ThreadNode>;
        /// SORT, typed.
        fn sort_typed(sort_criteria: impl AsRef<[u8]>, charset: &str, criteria: impl IntoIterator<Item = impl AsRef<[u8]>>) -> Vec<u32>;
        /// THREAD, typed as a forest of trees.
        fn thread_typed(algorithm: impl AsRef<[u8]>, charset: &str, criteria: impl IntoIterator<Item = impl AsRef<[u8]>>) -> Vec<$crate::types::ThreadNode>;
        /// NAMESPACE, typed.
        fn namespace_typed() -> $crate::types::Namespaces;
        /// GETQUOTA, typed.
        fn getquota_typed(root: impl AsRef<[u8]>) -> Vec<$crate::types::Quota>;
        /// GETQUOTAROOT, typed: the roots and their quotas.
        fn getquotaroot_typed(mailbox: impl AsRef<[u8]>) -> ($crate::types::QuotaRoot, Vec<$crate::types::Quota>);
        /// GETACL, typed.
        fn getacl_typed(mailbox: impl AsRef<[u8]>) -> $crate::types::Acl;
        /// MYRIGHTS, typed: the rights string.
        fn myrights_typed(mailbox: impl AsRef<[u8]>) -> bytes::Bytes;
        /// APPEND, returning the RFC 4315 APPENDUID (UIDVALIDITY and UIDs)
        /// when the server sends one.
        fn append_typed(mailbox: Option<&str>, flags: Option<&str>, date_time: Option<$crate::DateInput>, message: impl AsRef<[u8]>) -> Option<(u32, $crate::types::SequenceSet)>;
        /// ENABLE IMAP4rev2 (RFC 9051) when the server offers it; afterwards
        /// [`Imap4::protocol_version`](crate::Imap4::protocol_version) reports `IMAP4REV2`. Returns false when
        /// the server does not offer it.
        fn enable_imap4rev2() -> bool;
        /// ID (RFC 2971): sends the client's fields and returns the server's,
        /// typed (`None` when it sends `ID NIL`). Raises `error` without ID.
        fn id(fields: Option<&[(&str, &str)]>) -> Option<$crate::types::Pairs>;
        /// UID EXPUNGE set (RFC 4315): expunges exactly these UIDs. Raises
        /// `error` without UIDPLUS (a plain EXPUNGE would remove others too).
        fn uid_expunge(uid_set: impl AsRef<[u8]>) -> $crate::Reply;
        /// COPY by UID with the COPYUID result (RFC 4315).
        fn uid_copy_typed(uid_set: impl AsRef<[u8]>, mailbox: impl AsRef<[u8]>) -> Option<(u32, $crate::types::SequenceSet, $crate::types::SequenceSet)>;
        /// Moves messages by UID (RFC 6851): UID MOVE when the server has MOVE;
        /// otherwise, with UIDPLUS, UID COPY + UID STORE \Deleted + UID EXPUNGE
        /// of exactly those UIDs. Refuses (raises `error`, nothing sent) when
        /// neither is safe: a plain EXPUNGE could remove other messages.
        fn uid_move_typed(uid_set: impl AsRef<[u8]>, mailbox: impl AsRef<[u8]>) -> $crate::MoveResult;
        /// SELECT (or EXAMINE) with CONDSTORE (RFC 7162): the result carries
        /// HIGHESTMODSEQ (or NOMODSEQ).
        fn select_condstore(mailbox: impl AsRef<[u8]>, readonly: bool) -> $crate::SelectInfo;
        /// UID FETCH of the messages changed since `modseq` (RFC 7162), with
        /// the expunged UIDs (VANISHED) when QRESYNC is enabled and `vanished`.
        fn uid_fetch_changed_since(uid_set: impl AsRef<[u8]>, items: impl AsRef<[u8]>, modseq: u64, vanished: bool) -> (Vec<$crate::types::Fetch>, Option<$crate::types::SequenceSet>);
        /// UID STORE with UNCHANGEDSINCE (RFC 7162): the FETCH results and the
        /// UIDs that were not stored because they changed (MODIFIED).
        fn uid_store_unchanged_since(uid_set: impl AsRef<[u8]>, modseq: u64, command: impl AsRef<[u8]>, flags: impl AsRef<[u8]>) -> (Vec<$crate::types::Fetch>, Option<$crate::types::SequenceSet>);
        /// SELECT (or EXAMINE) with QRESYNC parameters (RFC 7162 §3.2.5): the
        /// saved UIDVALIDITY and HIGHESTMODSEQ and, optionally, the UIDs the
        /// caller knows (`known_uids`, a UID set), so that VANISHED names only
        /// those. ENABLEs QRESYNC the first time (closing a selected mailbox
        /// to do so, as ENABLE needs the authenticated state). Raises `error` without
        /// QRESYNC or for a malformed UID set.
        fn select_qresync(mailbox: impl AsRef<[u8]>, readonly: bool, saved_uid_validity: u32, saved_modseq: u64, known_uids: Option<&str>) -> $crate::Resync;
        /// Resynchronises a mailbox from a saved UIDVALIDITY and HIGHESTMODSEQ
        /// (RFC 7162): with QRESYNC (enabled here if needed) one SELECT returns
        /// the changes and the expunged UIDs; with CONDSTORE only, a SELECT and
        /// a FETCH CHANGEDSINCE return the changes (expunges then need a UID
        /// SEARCH by the caller). A changed UIDVALIDITY is reported and nothing
        /// else is trusted.
        fn resync(mailbox: impl AsRef<[u8]>, saved_uid_validity: u32, saved_modseq: u64) -> $crate::Resync;
        /// [`resync`](crate::Imap4::resync) with EXAMINE instead of SELECT:
        /// the mailbox is opened read-only and nothing in it changes (no
        /// `\Recent` cleared), for a copy that must leave its source alone.
        fn resync_readonly(mailbox: impl AsRef<[u8]>, saved_uid_validity: u32, saved_modseq: u64) -> $crate::Resync;
        /// LIST with selection and return options (RFC 5258), STATUS in the
        /// same round trip with LIST-STATUS (RFC 5819). Raises `error` if the
        /// server lacks LIST-EXTENDED (or LIST-STATUS when a STATUS is asked).
        fn list_extended(selection: &[&str], reference: &str, patterns: &[&str], returns: &[&str]) -> Vec<$crate::ListWithStatus>;
        /// The mailboxes with an RFC 6154 special use, by use (`\Sent` ->
        /// mailbox). Uses `LIST (SPECIAL-USE)` when the server announces
        /// SPECIAL-USE, else the attributes of a plain LIST.
        fn special_use_mailboxes() -> std::collections::HashMap<String, $crate::types::ListEntry>;
        /// GETMETADATA (RFC 5464), typed. Raises `error` without METADATA.
        fn getmetadata(mailbox: impl AsRef<[u8]>, entries: &[&str], options: Option<&str>) -> $crate::types::Metadata;
        /// SETMETADATA (RFC 5464); `None` removes an entry.
        fn setmetadata(mailbox: impl AsRef<[u8]>, entries: &[(&str, Option<&[u8]>)]) -> $crate::Reply;
        /// LISTRIGHTS (RFC 4314), typed.
        fn listrights(mailbox: impl AsRef<[u8]>, identifier: impl AsRef<[u8]>) -> $crate::types::ListRights;
        /// SORT RETURN (...) (RFC 5267 ESORT): MIN / MAX / COUNT / ALL of the
        /// sorted result, typed as ESEARCH; `uid` for UID SORT. Raises `error`
        /// without ESORT.
        fn esort(uid: bool, return_options: &str, sort_criteria: &str, charset: &str, criteria: impl IntoIterator<Item = impl AsRef<[u8]>>) -> $crate::types::ESearch;
        /// APPEND binary content as a literal8 (RFC 3516 BINARY): any bytes,
        /// NUL included, sent as they are. Raises `error` without BINARY.
        fn append_binary(mailbox: Option<&str>, flags: Option<&str>, message: impl AsRef<[u8]>) -> $crate::Reply;
        /// APPEND with CATENATE (RFC 4469): the server builds the message from
        /// text parts and IMAP URLs of messages or parts it already holds
        /// (forwarding an attachment without downloading it). Returns the
        /// APPENDUID when the server sends one; a refusal (for instance
        /// `NO [BADURL ...]`) raises `error` with the server's text. Raises
        /// `error` without CATENATE.
        fn append_catenate(mailbox: Option<&str>, flags: Option<&str>, date_time: Option<&str>, parts: &[$crate::CatenatePart<'_>]) -> Option<(u32, $crate::types::SequenceSet)>;
        /// UID FETCH of only the messages at positions `range` among those
        /// `uid_set` names (RFC 9394 PARTIAL), e.g. the newest 50 with
        /// `PartialRange::last(1, 50)`. Raises `error` without PARTIAL.
        fn uid_fetch_partial(uid_set: impl AsRef<[u8]>, items: impl AsRef<[u8]>, range: $crate::types::PartialRange) -> Vec<$crate::types::Fetch>;
        /// One page of SEARCH results (RFC 9394 PARTIAL): `SEARCH RETURN
        /// (PARTIAL range COUNT)`, so the total comes along. The page is in
        /// [`ESearch::partial_result`](crate::types::ESearch::partial_result). Raises `error` without PARTIAL.
        fn search_partial(uid: bool, range: $crate::types::PartialRange, criteria: impl IntoIterator<Item = impl AsRef<[u8]>>) -> $crate::types::ESearch;
        /// SETQUOTA root (resource limit ...) (RFC 9208, RFC 2087), typed: the
        /// QUOTA the server reports afterwards. Resource names are checked
        /// against the ones the server announces. Raises `error` without QUOTA
        /// or when refused.
        fn setquota_typed(root: impl AsRef<[u8]>, limits: &[(&str, u64)]) -> Vec<$crate::types::Quota>;
        /// NOTIFY SET (RFC 5465): from now on the server reports the chosen
        /// events as they happen, also for mailboxes other than the selected
        /// one (as STATUS, LIST and METADATA responses). They arrive as typed
        /// events through [`Imap4::idle_with`](crate::Imap4::idle_with), or through
        /// [`Imap4::take_events`](crate::Imap4::take_events) after any command when events are on
        /// ([`Imap4::set_events`](crate::Imap4::set_events)). With `status`, the server first sends a
        /// STATUS for every watched mailbox. Raises `error` without NOTIFY or
        /// when refused (`NO [BADEVENT ...]` names the events it lacks).
        fn notify_set(status: bool, groups: &[$crate::NotifyGroup]) -> $crate::Reply;
        /// NOTIFY NONE: no more notifications. Raises `error` without NOTIFY.
        fn notify_none() -> $crate::Reply;
        /// APPEND (RFC 3501 §6.3.11): appends `message` to `mailbox` (INBOX if
        /// `None`), with optional flags (`"(\\Seen)"` or `"\\Seen"`) and
        /// date-time ([`DateInput`]: timestamp, date-time or quoted string).
        fn append(mailbox: Option<&str>, flags: Option<&str>, date_time: Option<$crate::DateInput>, message: impl AsRef<[u8]>) -> $crate::Reply;
        /// AUTHENTICATE (RFC 3501 §6.2.2). `authobject` receives each decoded
        /// server challenge and returns the response (sent base64 encoded), or
        /// `None` to cancel with `*`. A refusal raises `error`, as in imaplib.
        fn authenticate(mechanism: &str, authobject: impl FnMut(&[u8]) -> Option<Vec<u8>>) -> $crate::Reply;
        /// AUTHENTICATE with a SASL mechanism ([`crate::sasl`]), its initial
        /// response on the command line when the server announces SASL-IR (RFC
        /// 4959). A mechanism error cancels the exchange with `*` and raises
        /// `error`, as does a refusal; an OK the mechanism cannot verify (SCRAM
        /// without a valid server signature) raises `abort`. Capabilities are
        /// refreshed afterwards, as after [`Imap4::login`](crate::Imap4::login).
        fn authenticate_sasl(mech: &mut dyn $crate::sasl::Mechanism) -> $crate::Reply;
        /// ENABLE capability (RFC 5161). Raises `error` when the server lacks
        /// ENABLE. Enabling UTF8=ACCEPT switches to UTF-8 mode.
        fn enable(capability: &str) -> $crate::Reply;
        /// LOGIN user password. The password is always quoted or sent as a
        /// literal, never shown in traces. A refusal raises `error`.
        fn login(user: impl AsRef<[u8]>, password: impl AsRef<[u8]>) -> $crate::Reply;
        /// Logs in with the strongest way both sides offer: SCRAM-SHA-256-PLUS
        /// or SCRAM-SHA-1-PLUS over TLS (bound with `tls-exporter` under TLS
        /// 1.3, `tls-server-end-point` otherwise) > SCRAM-SHA-256 >
        /// SCRAM-SHA-1 > AUTHENTICATE PLAIN (over TLS, or when the server does
        /// not say LOGINDISABLED) > LOGIN (unless LOGINDISABLED). Raises
        /// `error`, sending nothing, when the only ways left would send the
        /// password in cleartext to a server that says LOGINDISABLED.
        ///
        /// When the server refuses a `-PLUS` mechanism's binding type (as
        /// Cyrus IMAP 3.6 refuses `tls-exporter`), the same SCRAM hash is tried
        /// once more without binding, if the server offers it; the trace says
        /// so. No other refusal is retried, and never with a mechanism the
        /// server did not offer.
        fn login_auto(user: &str, password: &str) -> $crate::Reply;
        /// AUTHENTICATE CRAM-MD5 (RFC 2195) with `user` and `password`.
        fn login_cram_md5(user: &str, password: &str) -> $crate::Reply;
        /// imaplib's `recent`: the RECENT data already received, else a NOOP's.
        fn recent() -> $crate::Reply;
        /// SEARCH [CHARSET charset] criteria...: the SEARCH data. Each criterion
        /// is sent as written (a single word with 8-bit data as a literal).
        /// Raises `error` for a charset under UTF8=ACCEPT, as imaplib does.
        fn search(charset: Option<&str>, criteria: impl IntoIterator<Item = impl AsRef<[u8]>>) -> $crate::Reply;
        /// Any command (imaplib's `xatom`): allowed in the current state if
        /// imaplib does not know it; arguments sent as written (CR, LF and NUL
        /// refused).
        fn xatom(name: &str, args: impl IntoIterator<Item = impl AsRef<[u8]>>) -> $crate::Reply;
        /// FETCH (or UID FETCH when `uid`) with every literal of the FETCH
        /// responses handed to `sink` as it arrives instead of being kept in
        /// memory. Returns the imaplib-shaped reply, whose literals are empty
        /// (the sink got them). If the sink fails, the rest of the response is
        /// still read (the connection stays usable) and the sink's error is
        /// returned as `error`.
        fn fetch_streamed(uid: bool, message_set: impl AsRef<[u8]>, message_parts: impl AsRef<[u8]>, sink: impl FnMut($crate::Streamed<'_>) -> std::io::Result<()>) -> $crate::Reply;
        /// Appends several messages (flags, date, content each): in one
        /// MULTIAPPEND command (RFC 3502, atomic: all or none) when the server
        /// announces MULTIAPPEND, else one APPEND per message, stopping at the
        /// first refusal. Returns the last reply (with the APPENDUID of all the
        /// messages under MULTIAPPEND).
        fn append_many(mailbox: Option<&str>, messages: &[(Option<&str>, Option<$crate::DateInput>, &[u8])]) -> $crate::Reply;
        /// Sends `commands` keeping up to `window` of them in flight, and hands
        /// each reply to `on_reply` with the command's index, in order. Only
        /// pipeline commands whose results do not depend on each other (e.g.
        /// FETCH batches); RFC 3501 §5.5 forbids pipelining commands that change
        /// the state the others rely on. A failing command does not stop the
        /// others; an error returned by `on_reply` stops sending new ones, waits
        /// for those in flight and is returned.
        fn pipeline(commands: impl IntoIterator<Item = $crate::imaplib_proto::Command>, window: usize, on_reply: impl FnMut(usize, $crate::Result<$crate::Reply>) -> $crate::Result<()>) -> ();
        /// Downloads the messages with these UIDs: `UID FETCH` in batches of
        /// `batch` UIDs, `window` batches in flight at once, each message handed
        /// to `each` as a typed record as its batch completes.
        fn uid_fetch_pipelined(uids: &[u32], items: &str, batch: usize, window: usize, each: impl FnMut($crate::types::Fetch) -> $crate::Result<()>) -> ();
        /// [`uid_fetch_pipelined`](crate::Imap4::uid_fetch_pipelined) with the
        /// batches chosen by the caller (e.g. by size, so that no reply holds
        /// more than so many bytes): one `UID FETCH` per batch, `window` in
        /// flight at once.
        fn uid_fetch_batches(batches: &[&[u32]], items: &str, window: usize, each: impl FnMut($crate::types::Fetch) -> $crate::Result<()>) -> ();
        /// IDLE with typed events: `on_event` gets each untagged response as it
        /// arrives (EXISTS, EXPUNGE, FETCH flag changes, VANISHED, keepalive
        /// OKs...) and returns true to stop. Ends also on `stop`, after
        /// `options.duration`, or when the server ends IDLE; re-issues IDLE
        /// every `options.reissue_after`; reports a connection silent for longer
        /// than `options.keepalive` as `abort`, as it does BYE and EOF. Raises
        /// `error` if the server lacks IDLE.
        fn idle_with(options: &$crate::IdleOptions, stop: Option<&$crate::IdleStop>, on_event: impl FnMut(&$crate::types::Typed) -> bool) -> $crate::IdleOutcome;
        /// IDLE (RFC 2177): waits for untagged responses until `duration` has
        /// passed (forever if `None`) or `stop(name, data)` returns true for a
        /// response, then sends DONE. Returns every response received while
        /// idling, in order. The read timeout does not end the wait; see
        /// [`Imap4::idle_with`](crate::Imap4::idle_with) for keepalive checks, re-issuing, a stop signal
        /// and typed events. Raises `error` if the server lacks IDLE, `abort` on
        /// BYE or a lost connection.
        fn idle(duration: Option<std::time::Duration>, stop: impl FnMut(&str, &[$crate::Data]) -> bool) -> $crate::IdleResult;
        /// Starts an IDLE whose responses are taken one at a time with
        /// [`Imap4::idle_next`](crate::Imap4::idle_next) and which
        /// [`Imap4::idle_end`](crate::Imap4::idle_end) ends (imaplib 3.14's
        /// `idle()` iterator): sends IDLE and waits for the continuation.
        /// Returns the tag, or the server's completion when it answered
        /// with one (a NO) instead. Meanwhile the state is `IDLING`, in
        /// which every other command is illegal. Raises `error` if the
        /// server lacks IDLE.
        fn idle_begin() -> ::std::result::Result<String, $crate::Reply>;
        /// The next untagged response of the IDLE begun with `tag`: one
        /// already received, else the next within `wait` (`None`: no
        /// limit). A response cut by the wait stays buffered, whole, for
        /// the next call.
        fn idle_next(tag: &str, wait: Option<std::time::Duration>) -> $crate::IdleStep;
        /// Ends the IDLE begun with `tag`: responses not taken go to the
        /// untagged responses by name, DONE is sent, the completion read.
        fn idle_end(tag: &str) -> $crate::Reply;
        /// STARTTLS (RFC 3501 §6.2.1) with `tls` (or the connection's TLS
        /// options). Raises `abort` if the server does not offer STARTTLS or
        /// TLS is already active, `error` if it refuses; never continues in
        /// plaintext. Bytes the server sent after its OK and before the
        /// handshake make the connection fail. Capabilities are asked for
        /// again over TLS.
        fn starttls(tls: Option<&$crate::TlsConfig>) -> $crate::Reply;
        /// COMPRESS DEFLATE (RFC 4978): from the server's OK on, both
        /// directions are compressed. Raises `error` if the server does not
        /// offer COMPRESS=DEFLATE or compression is already on.
        fn compress_deflate() -> $crate::Reply;
        /// LOGOUT: returns the BYE data; the connection is shut down. As in
        /// imaplib, a failure during logout is returned as `NO` with its
        /// text, not raised.
        fn logout() -> $crate::Reply;
        /// Writes raw bytes to the server, bypassing the protocol (imaplib's
        /// `send`). Nothing is checked: the caller keeps the protocol in
        /// step.
        fn send(data: &[u8]) -> ();
        /// Sends a command without waiting for its completion and returns
        /// its tag (imaplib's `_command`); [`wait_command`](crate::Imap4::wait_command) completes it.
        fn send_command(cmd: $crate::imaplib_proto::Command) -> String;
        /// Reads until the command with `tag` completes and returns its reply
        /// (imaplib's `_command_complete`).
        fn wait_command(tag: &str) -> $crate::Reply;
        /// Runs `cmd` as `run_command` does, and hands what is stored under
        /// `name` (`FETCH`, say) to `each`, in order, whenever more than
        /// `batch_bytes` of untagged data is held while the answer arrives:
        /// an answer of any size is never held whole. The reply keeps what
        /// came after the last batch, so imaplib's data is the batches
        /// followed by the reply's data (unless that is `[None]`). A command
        /// that fails leaves the batches with the caller.
        fn run_command_draining(cmd: $crate::imaplib_proto::Command, name: &str, batch_bytes: usize, each: impl FnMut(Vec<$crate::Data>)) -> $crate::Reply;
        /// Reads up to `size` raw bytes from the server, bypassing the
        /// protocol (imaplib's `read`); bytes already received are returned
        /// first.
        fn read(size: usize) -> bytes::Bytes;
        /// Reads one raw line, up to and including LF (imaplib's
        /// `readline`), at most the line limit long.
        fn readline() -> bytes::Bytes;
        }
    };
}

/// The accessors, the same on both clients: what the connection knows
/// without asking the server (each is the [`super::Engine`] method of the
/// same name).
#[doc(hidden)]
#[macro_export]
macro_rules! __imaplib_accessors {
    ($($gen:tt)+) => {
        $($gen)+! {
            /// imaplib's `PROTOCOL_VERSION` (`IMAP4REV1`, `IMAP4REV2` or `IMAP4`).
            fn protocol_version(&self) -> &str;
            /// imaplib's `capabilities`: upper case.
            fn capabilities(&self) -> &[String];
            /// True if the server announced `name`.
            fn has_capability(&self, name: &str) -> bool;
            /// imaplib's `state`.
            fn state(&self) -> $crate::State;
            /// imaplib's `welcome`: the greeting line.
            fn welcome(&self) -> &[u8];
            /// imaplib's `debug` level.
            fn debug(&self) -> u8;
            /// Sets imaplib's `debug` level (4 and above: protocol trace).
            fn set_debug(&mut self, level: u8) -> ();
            /// imaplib's `untagged_responses`.
            fn untagged_responses(&self) -> &std::collections::HashMap<String, Vec<$crate::Data>>;
            /// imaplib's `is_readonly`.
            fn is_readonly(&self) -> bool;
            /// imaplib's `utf8_enabled`.
            fn utf8_enabled(&self) -> bool;
            /// imaplib's `host`.
            fn host(&self) -> &str;
            /// imaplib's `port`.
            fn port(&self) -> u16;
            /// imaplib's `tagpre`.
            fn tag_prefix(&self) -> &str;
            /// True when the connection runs over TLS.
            fn is_tls(&self) -> bool;
            /// The sans-IO session underneath.
            fn session(&self) -> &$crate::imaplib_proto::Session;
            /// Takes every untagged response out of the client's store (for a
            /// program that keeps them itself; give them back with
            /// `replace_untagged_responses`).
            fn take_untagged_responses(&mut self) -> std::collections::HashMap<String, Vec<$crate::Data>>;
            /// Replaces the stored untagged responses (names upper case).
            fn replace_untagged_responses(&mut self, untagged: std::collections::HashMap<String, Vec<$crate::Data>>) -> ();
            /// Replaces imaplib's table of the states each command is legal in
            /// (names upper case); `None` restores imaplib's own.
            fn set_command_table(&mut self, table: Option<std::collections::HashMap<String, Vec<$crate::State>>>) -> ();
            /// Keeps the protocol trace for the caller (see
            /// [`Session::capture_trace`]($crate::imaplib_proto::Session::capture_trace)).
            fn capture_trace(&mut self, on: bool) -> ();
            /// The trace kept since the last call: `(true, line)` sent,
            /// `(false, line)` received.
            fn take_trace(&mut self) -> Vec<(bool, bytes::Bytes)>;
            /// A tag the client will never use itself (imaplib's `_new_tag`),
            /// for a command the caller writes with `send` and reads with
            /// `readline`.
            fn reserve_tag(&mut self) -> String;
            /// Takes `state` as the connection's state without a command, as
            /// Python programs set imaplib's `state` attribute.
            fn assume_state(&mut self, state: $crate::State) -> ();
            /// Line and literal limits in force.
            fn limits(&self) -> $crate::Limits;
            /// Changes the line and literal limits.
            fn set_limits(&mut self, limits: $crate::Limits) -> ();
            /// Changes the most bytes of untagged data held between commands
            /// ([`Options::max_untagged_bytes`]($crate::Options::max_untagged_bytes)).
            fn set_max_untagged_bytes(&mut self, max: usize) -> ();
            /// Changes the bound on one command's duration
            /// ([`Options::command_timeout`]($crate::Options::command_timeout)).
            fn set_command_timeout(&mut self, timeout: Option<std::time::Duration>) -> ();
            /// imaplib's `response(code)`: pops the untagged responses (or
            /// response codes) stored under `code`; `(code, [None])` if none.
            fn response(&mut self, code: &str) -> (String, Vec<$crate::Data>);
            /// Starts (or stops) keeping unsolicited responses (EXISTS,
            /// EXPUNGE, FETCH flag changes, VANISHED, RECENT, FLAGS, ALERT,
            /// BYE) in arrival order; `take_events` returns them typed. They
            /// also stay in `untagged_responses`, as imaplib keeps them.
            fn set_events(&mut self, enabled: bool) -> ();
            /// The unsolicited responses received since the last call, typed,
            /// in arrival order.
            fn take_events(&mut self) -> Vec<$crate::types::Typed>;
            /// The resources SETQUOTA may set here (RFC 9208 `QUOTA=RES-*`),
            /// e.g. `["STORAGE", "MESSAGE"]`; empty on an RFC 2087 server.
            fn quota_resources(&self) -> Vec<String>;
        }
    };
}

/// Generates the accessors on a client whose engine is `self.engine`, one
/// entry at a time.
macro_rules! accessor_methods {
    () => {};
    ($(#[$doc:meta])* fn $name:ident (&self $(, $arg:ident : $ty:ty)*) -> $ret:ty ; $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $name(&self $(, $arg: $ty)*) -> $ret {
            self.engine.$name($($arg),*)
        }
        $crate::engine::api::accessor_methods!($($rest)*);
    };
    ($(#[$doc:meta])* fn $name:ident (&mut self $(, $arg:ident : $ty:ty)*) -> $ret:ty ; $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $name(&mut self $(, $arg: $ty)*) -> $ret {
            self.engine.$name($($arg),*)
        }
        $crate::engine::api::accessor_methods!($($rest)*);
    };
}

/// Blocking methods: each runs its operation to completion.
macro_rules! blocking {
    ($( $(#[$doc:meta])* fn $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty ; )*) => {
        $(
            $(#[$doc])*
            pub fn $name(&mut self $(, $arg: $ty)*) -> $crate::Result<$ret> {
                $crate::engine::block_on(self.conn().$name($($arg),*))
            }
        )*
    };
}

/// Async methods: each awaits its operation. A future dropped before the
/// operation ends leaves the client marked busy, so that the next call
/// reports the connection out of step instead of reading a stale answer.
#[allow(unused_macros)]
macro_rules! asynchronous {
    ($( $(#[$doc:meta])* fn $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty ; )*) => {
        $(
            $(#[$doc])*
            pub async fn $name(&mut self $(, $arg: $ty)*) -> $crate::Result<$ret> {
                self.begin()?;
                let result = self.conn().$name($($arg),*).await;
                self.busy = false;
                result
            }
        )*
    };
}

#[allow(unused_imports)]
pub(crate) use {accessor_methods, asynchronous, blocking};
