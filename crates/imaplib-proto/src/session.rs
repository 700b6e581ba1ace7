//! The session: a sans-IO IMAP client state machine.
//!
//! It owns no socket and reads no clock. The client drives it:
//! 1. [`Session::command`] checks the command against the connection state
//!    (imaplib's table), gives it a tag and queues its bytes;
//! 2. the client writes whatever [`Session::poll_transmit`] returns;
//! 3. the client feeds received bytes with [`Session::feed`] and calls
//!    [`Session::poll_event`] until it returns `Ok(None)` (more input
//!    needed), acting on [`Event`]s: continuation requests for interactive
//!    commands (AUTHENTICATE, IDLE) and command completions;
//! 4. [`Session::take_reply`] gives the command's imaplib-shaped [`Reply`].
//!
//! Synchronizing literals are handled inside: the bytes after a `{N}`
//! announcement are released only when the server's `+` arrives, and a later
//! command is never sent while an earlier one still waits (RFC 3501 §5.5).
//! Untagged responses are kept by name in arrival order, as imaplib's
//! `untagged_responses`, bounded by [`SessionConfig::max_untagged_bytes`].

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;

use crate::command::{allowed_states, Chunk, Command, EncodeOptions, Encoder, Finish, LiteralMode};
use crate::error::{ProtoError, ProtoErrorKind};
use crate::response::{Data, Frame, Framer, Kind, Limits, Piece, Response, Status};
use crate::Printable;

/// What one held data item costs beyond its bytes (bookkeeping), so that
/// floods of empty responses are bounded too.
const ITEM_OVERHEAD: usize = 64;

/// The framer's limits: one response may not hold more than the untagged
/// data limit either.
fn framer_limits(cfg: &SessionConfig) -> Limits {
    Limits {
        max_response: cfg.limits.max_response.min(cfg.max_untagged_bytes as u64),
        ..cfg.limits
    }
}

/// RFC 3501 ATOM-CHARs only (command names).
fn is_atom(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            (0x21..0x7f).contains(&b)
                && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
        })
}

/// Connection state (RFC 3501 §3), named as imaplib names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not authenticated (imaplib `NONAUTH`).
    NonAuth,
    /// Authenticated, no mailbox selected (`AUTH`).
    Auth,
    /// A mailbox is selected (`SELECTED`).
    Selected,
    /// Logging out (`LOGOUT`).
    Logout,
}

impl State {
    /// imaplib's name for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            State::NonAuth => "NONAUTH",
            State::Auth => "AUTH",
            State::Selected => "SELECTED",
            State::Logout => "LOGOUT",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Settings of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Framer limits (line length, literal size).
    pub limits: Limits,
    /// Most bytes of untagged data held for the caller at once; more is a
    /// fatal [`ProtoErrorKind::TooMuchData`] error. Default 512 MiB.
    pub max_untagged_bytes: usize,
    /// Seed of the tag prefix: imaplib uses `Int2AP(random(4096, 65535))`.
    pub tag_seed: u32,
    /// imaplib's debug level; at 4 and above the protocol trace is logged at
    /// `DEBUG` level (always at `TRACE`), secrets redacted.
    pub debug: u8,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            limits: Limits::default(),
            max_untagged_bytes: 512 * 1024 * 1024,
            tag_seed: 0xA5A5,
            debug: 0,
        }
    }
}

/// imaplib's `(typ, data)` result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// `OK` or `NO` (a `BAD` is an error), or `BYE` for LOGOUT.
    pub typ: Status,
    /// The data items.
    pub data: Vec<Data>,
}

impl Reply {
    /// True when `typ` is OK.
    pub fn is_ok(&self) -> bool {
        self.typ == Status::Ok
    }
}

/// Something the client may need to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The greeting was processed; the state is now NONAUTH or AUTH.
    Greeting,
    /// An untagged response was stored under this name (or captured for IDLE).
    Untagged {
        /// Its name (`EXISTS`, `FETCH`...).
        name: String,
    },
    /// The server asked an interactive command (AUTHENTICATE, IDLE) to go on.
    Continuation {
        /// The command's tag.
        tag: String,
        /// The text after `+` (a base64 challenge for AUTHENTICATE).
        text: Bytes,
    },
    /// A command completed; [`Session::take_reply`] has its result.
    Completed {
        /// The command's tag.
        tag: String,
    },
    /// The server sent BYE.
    Bye {
        /// The BYE text.
        text: Bytes,
    },
    /// A streamed literal begins (see [`Command::streaming`]).
    LiteralStart {
        /// The line that announced it (e.g. `* 3 FETCH (UID 9 BODY[] {5000}`).
        line: Bytes,
        /// Its size.
        size: u64,
    },
    /// Bytes of the streamed literal, in order.
    LiteralChunk {
        /// The bytes.
        data: Bytes,
        /// Bytes still to come.
        remaining: u64,
    },
}

#[derive(Debug)]
struct InFlight {
    tag: String,
    name: String,
    finish: Finish,
    pending: VecDeque<Chunk>,
    /// A chunk that waits for `+` was sent and the `+` has not come yet.
    waiting: bool,
    interactive: bool,
    caps_generation: u64,
    stream_literals: bool,
    /// [`Session::fed`] when the command's first bytes were queued for
    /// sending: a completion that was fully received by then cannot be its.
    sent_mark: Option<u64>,
}

/// The sans-IO client session. See the module documentation.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    framer: Framer,
    state: State,
    greeted: bool,
    welcome: Bytes,
    tag_prefix: String,
    tag_counter: u64,
    capabilities: Vec<String>,
    caps_generation: u64,
    caps_stale: bool,
    untagged: HashMap<String, Vec<Data>>,
    untagged_weight: usize,
    idle_capture: Option<VecDeque<(String, Vec<Data>)>>,
    inflight: VecDeque<InFlight>,
    completed: HashMap<String, Result<Reply, ProtoError>>,
    outbox: VecDeque<Chunk>,
    utf8: bool,
    is_readonly: bool,
    bye: Option<Bytes>,
    broken: Option<ProtoError>,
    awaiting_tls: bool,
    extra_commands: HashMap<String, Vec<State>>,
    continuation_text: Bytes,
    unparsed_count: u64,
    events_enabled: bool,
    unsolicited: VecDeque<Response>,
    /// Untagged responses of this name are kept whole, in arrival order,
    /// for [`Session::take_responses`] instead of being stored.
    response_capture: Option<String>,
    captured: VecDeque<Response>,
    /// The caller asked for TLS (STARTTLS) and it is not established yet:
    /// nothing but LOGOUT may be sent.
    tls_required: bool,
    /// Bytes fed so far.
    fed: u64,
}

impl Session {
    /// A session waiting for the server's greeting.
    pub fn new(cfg: SessionConfig) -> Self {
        let seed = 4096 + cfg.tag_seed % (65536 - 4096);
        let tag_prefix = String::from_utf8(crate::int_to_ap(u64::from(seed))).unwrap_or_default();
        Session {
            framer: Framer::new(framer_limits(&cfg)),
            cfg,
            state: State::NonAuth,
            greeted: false,
            welcome: Bytes::new(),
            tag_prefix,
            tag_counter: 0,
            capabilities: Vec::new(),
            caps_generation: 0,
            caps_stale: true,
            untagged: HashMap::new(),
            untagged_weight: 0,
            idle_capture: None,
            inflight: VecDeque::new(),
            completed: HashMap::new(),
            outbox: VecDeque::new(),
            utf8: false,
            is_readonly: false,
            bye: None,
            broken: None,
            awaiting_tls: false,
            extra_commands: HashMap::new(),
            continuation_text: Bytes::new(),
            unparsed_count: 0,
            events_enabled: false,
            unsolicited: VecDeque::new(),
            response_capture: None,
            captured: VecDeque::new(),
            tls_required: false,
            fed: 0,
        }
    }

    // ----- attributes -------------------------------------------------------

    /// The connection state.
    pub fn state(&self) -> State {
        self.state
    }

    /// True once the greeting was received.
    pub fn greeted(&self) -> bool {
        self.greeted
    }

    /// The greeting line (imaplib's `welcome`).
    pub fn welcome(&self) -> &Bytes {
        &self.welcome
    }

    /// The tag prefix (imaplib's `tagpre`).
    pub fn tag_prefix(&self) -> &str {
        &self.tag_prefix
    }

    /// The server's capabilities, upper case, as imaplib keeps them.
    pub fn capabilities(&self) -> &[String] {
        &self.capabilities
    }

    /// True if the server announced `name` (case-insensitive).
    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
    }

    /// True when the capabilities must be asked for again (never received,
    /// or invalidated by LOGIN, AUTHENTICATE or STARTTLS without the server
    /// sending new ones).
    pub fn capabilities_stale(&self) -> bool {
        self.caps_stale
    }

    /// UTF8=ACCEPT is enabled (imaplib's `utf8_enabled`).
    pub fn utf8_enabled(&self) -> bool {
        self.utf8
    }

    /// The mailbox was opened read-only (imaplib's `is_readonly`).
    pub fn is_readonly(&self) -> bool {
        self.is_readonly
    }

    /// The framer limits.
    pub fn limits(&self) -> Limits {
        self.framer.limits()
    }

    /// Changes the framer limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.cfg.limits = limits;
        self.framer.set_limits(framer_limits(&self.cfg));
    }

    /// Changes the most bytes of untagged data held (see
    /// [`SessionConfig::max_untagged_bytes`]); data held already is kept,
    /// and counts against the new bound.
    pub fn set_max_untagged_bytes(&mut self, max: usize) {
        self.cfg.max_untagged_bytes = max;
        self.framer.set_limits(framer_limits(&self.cfg));
    }

    /// imaplib's debug level.
    pub fn debug(&self) -> u8 {
        self.cfg.debug
    }

    /// Sets imaplib's debug level.
    pub fn set_debug(&mut self, level: u8) {
        self.cfg.debug = level;
    }

    /// The text of the last continuation request.
    pub fn continuation_text(&self) -> &Bytes {
        &self.continuation_text
    }

    /// The BYE text, once the server said BYE.
    pub fn bye(&self) -> Option<&Bytes> {
        self.bye.as_ref()
    }

    /// The fatal error that broke the session, if any.
    pub fn broken(&self) -> Option<&ProtoError> {
        self.broken.as_ref()
    }

    /// Marks the session unusable (transport failure); later calls fail
    /// with this error.
    pub fn set_broken(&mut self, err: ProtoError) {
        if self.broken.is_none() {
            self.broken = Some(err);
        }
    }

    /// Number of commands sent and not yet completed.
    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// Forces the state (imaplib assigns `state` directly in places, e.g.
    /// LOGOUT before sending).
    pub fn set_state(&mut self, state: State) {
        self.state = state;
    }

    // ----- untagged responses ----------------------------------------------

    /// imaplib's `untagged_responses`: stored data by name.
    pub fn untagged_responses(&self) -> &HashMap<String, Vec<Data>> {
        &self.untagged
    }

    /// Removes and returns the stored responses of `name` (imaplib's
    /// `response(code)` and `_untagged_response`).
    pub fn pop_untagged(&mut self, name: &str) -> Option<Vec<Data>> {
        let items = self.untagged.remove(&name.to_ascii_uppercase())?;
        self.release_weight(&items);
        Some(items)
    }

    /// What held items cost against `max_untagged_bytes`: their bytes and
    /// the bookkeeping overhead each was charged when stored.
    fn held_weight(items: &[Data]) -> usize {
        items.iter().map(|d| d.weight() + ITEM_OVERHEAD).sum()
    }

    /// Gives back what `items` were charged when they were stored.
    fn release_weight(&mut self, items: &[Data]) {
        self.untagged_weight = self
            .untagged_weight
            .saturating_sub(Self::held_weight(items));
    }

    /// Bytes (and bookkeeping) of untagged data held now, counted against
    /// [`SessionConfig::max_untagged_bytes`].
    pub fn held_untagged_bytes(&self) -> usize {
        self.untagged_weight
    }

    /// Forgets every stored untagged response.
    pub fn clear_untagged(&mut self) {
        self.untagged.clear();
        self.untagged_weight = 0;
    }

    fn append_untagged(&mut self, name: &str, item: Data) -> Result<(), ProtoError> {
        self.untagged_weight += item.weight() + ITEM_OVERHEAD;
        if self.untagged_weight > self.cfg.max_untagged_bytes {
            return Err(ProtoError::msg(
                ProtoErrorKind::TooMuchData,
                format!(
                    "more than {} bytes of untagged responses held; fetch in smaller batches \
                     or raise the limit",
                    self.cfg.max_untagged_bytes
                ),
            ));
        }
        match self.untagged.get_mut(name) {
            Some(list) => list.push(item),
            None => {
                self.untagged.insert(name.to_string(), vec![item]);
            }
        }
        Ok(())
    }

    /// Starts capturing untagged responses in arrival order instead of
    /// storing them by name (used while IDLE runs).
    pub fn start_capture(&mut self) {
        if self.idle_capture.is_none() {
            self.idle_capture = Some(VecDeque::new());
        }
    }

    /// Takes the responses captured so far, oldest first.
    pub fn take_captured(&mut self) -> Vec<(String, Vec<Data>)> {
        match &mut self.idle_capture {
            Some(q) => {
                let out: Vec<_> = q.drain(..).collect();
                let weight: usize = out.iter().map(|(_, d)| Self::held_weight(d)).sum();
                self.untagged_weight = self.untagged_weight.saturating_sub(weight);
                out
            }
            None => Vec::new(),
        }
    }

    /// Stops capturing; anything not taken is stored by name as usual.
    pub fn stop_capture(&mut self) {
        if let Some(q) = self.idle_capture.take() {
            for (name, items) in q {
                self.untagged.entry(name).or_default().extend(items);
            }
        }
    }

    // ----- sending ----------------------------------------------------------

    fn fatal(&self) -> Option<ProtoError> {
        self.broken.clone()
    }

    /// Checks `name` against imaplib's state table (and the commands
    /// `xatom` registered).
    pub fn check_state(&self, name: &str) -> Result<(), ProtoError> {
        let upper = name.to_ascii_uppercase();
        let states: &[State] = match allowed_states(&upper) {
            Some(s) => s,
            None => match self.extra_commands.get(&upper) {
                Some(s) => s,
                None => {
                    return Err(ProtoError::msg(
                        ProtoErrorKind::IllegalState,
                        format!("unknown IMAP4 command: {upper}"),
                    ))
                }
            },
        };
        if !states.contains(&self.state) {
            let list: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
            return Err(ProtoError::msg(
                ProtoErrorKind::IllegalState,
                format!(
                    "command {upper} illegal in state {}, only allowed in states {}",
                    self.state,
                    list.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// Registers a command unknown to imaplib's table as legal in the
    /// current state (imaplib's `xatom` does this). A name that is not an
    /// atom is ignored (and [`Session::command`] refuses it).
    pub fn register_command(&mut self, name: &str) {
        if !is_atom(name) {
            return;
        }
        let upper = name.to_ascii_uppercase();
        if allowed_states(&upper).is_none() {
            self.extra_commands
                .entry(upper)
                .or_insert_with(|| vec![self.state]);
        }
    }

    fn encode_options(&self) -> EncodeOptions {
        let literals = if self.has_capability("LITERAL+") {
            LiteralMode::Plus
        } else if self.has_capability("LITERAL-") {
            LiteralMode::Minus
        } else {
            LiteralMode::Synchronizing
        };
        EncodeOptions {
            literals,
            utf8: self.utf8,
        }
    }

    /// Queues a command and returns its tag. Fails, before anything is
    /// queued, when the command is illegal in the current state, an
    /// argument cannot be sent safely, the mailbox turned read-only, or the
    /// session is broken.
    pub fn command(&mut self, cmd: Command) -> Result<String, ProtoError> {
        if let Some(err) = self.fatal() {
            return Err(err);
        }
        if !self.greeted {
            return Err(ProtoError::msg(
                ProtoErrorKind::IllegalState,
                "no greeting received yet",
            ));
        }
        if self.awaiting_tls {
            return Err(ProtoError::msg(
                ProtoErrorKind::IllegalState,
                "the TLS handshake must complete first",
            ));
        }
        if !is_atom(&cmd.name) {
            return Err(ProtoError::new(
                ProtoErrorKind::BadArgument,
                "a command name must be an atom",
                cmd.name.as_bytes(),
            ));
        }
        if self.tls_required && cmd.finish != Finish::Logout && cmd.finish != Finish::StartTls {
            return Err(ProtoError::msg(
                ProtoErrorKind::TlsRequired,
                "TLS was asked for and is not established; refusing to send anything but LOGOUT in cleartext",
            ));
        }
        self.check_state(&cmd.name)?;
        if let Some(sub) = &cmd.sub_command {
            self.check_state(sub)
                .map_err(|e| ProtoError::msg(e.kind(), format!("UID {}", e.message())))?;
        }
        let is_logout = cmd.finish == Finish::Logout;
        if let (Some(bye), false) = (&self.bye, is_logout) {
            return Err(ProtoError::new(
                ProtoErrorKind::Bye,
                String::from_utf8_lossy(bye).into_owned(),
                &[],
            ));
        }
        // Encode first: a bad argument must leave no trace.
        let tag = format!("{}{}", self.tag_prefix, self.tag_counter);
        let mut enc = Encoder::new(self.encode_options());
        enc.raw(tag.as_bytes());
        enc.raw(b" ");
        enc.raw(cmd.name.as_bytes());
        for arg in &cmd.args {
            enc.arg(arg)?;
        }
        let chunks = enc.finish();

        // What imaplib's methods do before `_command`.
        match &cmd.finish {
            Finish::Select { readonly } => {
                self.clear_untagged();
                self.is_readonly = *readonly;
            }
            Finish::Deselect if cmd.name == "UNSELECT" => self.clear_untagged(),
            _ => {}
        }
        for typ in ["OK", "NO", "BAD"] {
            self.pop_untagged(typ);
        }
        if self.untagged.contains_key("READ-ONLY") && !self.is_readonly {
            return Err(ProtoError::msg(
                ProtoErrorKind::Readonly,
                "mailbox status changed to READ-ONLY",
            ));
        }
        if is_logout {
            self.state = State::Logout;
        }
        self.tag_counter += 1;
        self.inflight.push_back(InFlight {
            tag: tag.clone(),
            name: cmd.name.clone(),
            finish: cmd.finish,
            pending: chunks.into(),
            waiting: false,
            interactive: cmd.interactive,
            caps_generation: self.caps_generation,
            stream_literals: cmd.stream_literals,
            sent_mark: None,
        });
        self.update_streaming();
        if is_logout {
            if let Some(bye) = self.pop_untagged("BYE") {
                // BYE came before LOGOUT was even sent: that is the answer.
                self.complete(
                    tag.clone(),
                    Ok(Reply {
                        typ: Status::Bye,
                        data: bye,
                    }),
                );
            }
        }
        self.pump();
        Ok(tag)
    }

    /// Streams FETCH literals while some command in flight asked for it.
    fn update_streaming(&mut self) {
        let on = self.inflight.iter().any(|f| f.stream_literals);
        self.framer.set_stream_fetch_literals(on);
    }

    /// Moves every chunk that may be sent now into the outbox.
    fn pump(&mut self) {
        let fed = self.fed;
        for f in self.inflight.iter_mut() {
            while !f.waiting {
                let Some(chunk) = f.pending.pop_front() else {
                    break;
                };
                f.sent_mark.get_or_insert(fed);
                f.waiting = chunk.wait_continuation;
                self.outbox.push_back(chunk);
            }
            if f.waiting || f.interactive || !f.pending.is_empty() {
                break;
            }
        }
    }

    /// Next bytes to write, if any. Written in order, they keep the
    /// protocol in step. A chunk with [`Chunk::external`] literal bytes
    /// (APPEND from a stream) is not returned here: use
    /// [`Session::poll_chunk`] when sending such commands.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.outbox.front().is_some_and(|c| c.external > 0) {
            return None;
        }
        let chunk = self.outbox.pop_front()?;
        self.trace_out(&chunk.trace);
        Some(chunk.bytes)
    }

    /// Next chunk to write, including chunks whose literal bytes the client
    /// supplies from its own stream ([`Chunk::external`]).
    pub fn poll_chunk(&mut self) -> Option<Chunk> {
        let chunk = self.outbox.pop_front()?;
        self.trace_out(&chunk.trace);
        Some(chunk)
    }

    /// Everything that may be written now, joined (one write, as the
    /// Nagle/delayed-ACK pitfall requires), up to a chunk with external
    /// literal bytes.
    pub fn take_transmit(&mut self) -> Option<Vec<u8>> {
        let mut out: Option<Vec<u8>> = None;
        while let Some(b) = self.poll_transmit() {
            out.get_or_insert_with(Vec::new).extend_from_slice(&b);
        }
        out
    }

    /// True when bytes are waiting in the outbox.
    pub fn wants_transmit(&self) -> bool {
        !self.outbox.is_empty()
    }

    /// Answers a continuation request of an interactive command
    /// (AUTHENTICATE): sends `line` CRLF. `secret` hides it in the trace.
    pub fn continue_with(
        &mut self,
        tag: &str,
        line: &[u8],
        secret: bool,
    ) -> Result<(), ProtoError> {
        if !self.inflight.iter().any(|f| f.tag == tag && f.interactive) {
            return Err(ProtoError::msg(
                ProtoErrorKind::IllegalState,
                format!("no interactive command {tag} in flight"),
            ));
        }
        crate::command::check_inline(line)?;
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line);
        bytes.extend_from_slice(b"\r\n");
        let trace = if secret {
            "<redacted>".to_string()
        } else {
            String::from_utf8_lossy(line).into_owned()
        };
        self.outbox.push_back(Chunk {
            bytes: Bytes::from(bytes),
            trace,
            wait_continuation: false,
            external: 0,
        });
        Ok(())
    }

    /// Ends IDLE: sends `DONE`.
    pub fn idle_done(&mut self, tag: &str) -> Result<(), ProtoError> {
        self.continue_with(tag, b"DONE", false)
    }

    // ----- receiving --------------------------------------------------------

    /// Hands received bytes to the framer.
    pub fn feed(&mut self, data: &[u8]) {
        self.fed += data.len() as u64;
        self.framer.feed(data);
    }

    /// Declares that the caller wants TLS (before STARTTLS): until
    /// [`Session::tls_established`], nothing but STARTTLS and LOGOUT may be
    /// sent, even if STARTTLS fails. Fails, and breaks the session, when TLS
    /// can no longer be started: not in NONAUTH state (e.g. a cleartext
    /// PREAUTH greeting) or STARTTLS not offered.
    pub fn require_tls(&mut self) -> Result<(), ProtoError> {
        self.tls_required = true;
        if self.state != State::NonAuth {
            let err = ProtoError::msg(
                ProtoErrorKind::TlsRequired,
                format!(
                    "TLS cannot be started in state {} (a cleartext PREAUTH greeting?); refusing to continue without it",
                    self.state
                ),
            );
            return Err(self.break_with(err));
        }
        if !self.has_capability("STARTTLS") {
            let err = ProtoError::msg(
                ProtoErrorKind::TlsRequired,
                "TLS not supported by server (STARTTLS not offered); refusing to continue without it",
            );
            return Err(self.break_with(err));
        }
        Ok(())
    }

    /// The framer, to read raw bytes past the protocol (imaplib's `read` and
    /// `readline`).
    pub fn framer_mut(&mut self) -> &mut Framer {
        &mut self.framer
    }

    /// Processes the next complete response, if there is one. `Ok(None)`
    /// means more input is needed. A fatal error breaks the session.
    pub fn poll_event(&mut self) -> Result<Option<Event>, ProtoError> {
        if let Some(err) = self.fatal() {
            return Err(err);
        }
        loop {
            if self.awaiting_tls {
                return Ok(None);
            }
            let frame = match self.framer.next_piece() {
                Ok(Some(Piece::Frame(frame))) => frame,
                Ok(Some(Piece::LiteralStart { line, size })) => {
                    return Ok(Some(Event::LiteralStart { line, size }))
                }
                Ok(Some(Piece::LiteralChunk { data, remaining })) => {
                    return Ok(Some(Event::LiteralChunk { data, remaining }))
                }
                Ok(None) => return Ok(None),
                Err(err) => return Err(self.break_with(err)),
            };
            self.trace_in(&frame);
            if frame.line_count() == 1 && frame.first_line().iter().all(|&b| b == b' ') {
                // Some servers send empty lines; they carry nothing.
                continue;
            }
            let resp = Response::parse(frame);
            match self.process(resp) {
                Ok(Some(ev)) => return Ok(Some(ev)),
                Ok(None) => continue,
                Err(err) => return Err(self.break_with(err)),
            }
        }
    }

    fn break_with(&mut self, err: ProtoError) -> ProtoError {
        self.set_broken(err.clone());
        err
    }

    fn process(&mut self, resp: Response) -> Result<Option<Event>, ProtoError> {
        if !self.greeted {
            return self.process_greeting(resp).map(Some);
        }
        // Matched by reference: cloning the kind would cost an allocation
        // per response.
        match resp.kind() {
            Kind::Continuation => Ok(self.process_continuation(&resp)),
            Kind::Tagged { tag, status } => self.process_tagged(&resp, tag, *status).map(Some),
            Kind::Untagged { name, .. }
                if self.idle_capture.is_none()
                    && self.response_capture.as_deref() == Some(name.as_str()) =>
            {
                let name = name.clone();
                self.capture(resp, name).map(Some)
            }
            Kind::Untagged { name, status, .. } => {
                match self.process_untagged(&resp, name, *status)? {
                    // The event names the response: its name is moved
                    // there, not copied.
                    Stored::Named => match resp.into_kind() {
                        Kind::Untagged { name, .. } => Ok(Some(Event::Untagged { name })),
                        _ => Ok(None),
                    },
                    Stored::Bye(text) => Ok(Some(Event::Bye { text })),
                }
            }
            Kind::Unparsed { reason } => self.process_unparsed(&resp, reason),
        }
    }

    /// Keeps a response whole for [`Session::take_responses`] (moved, not
    /// copied).
    fn capture(&mut self, resp: Response, name: String) -> Result<Event, ProtoError> {
        self.untagged_weight += resp.frame().len() + ITEM_OVERHEAD;
        self.captured.push_back(resp);
        if self.untagged_weight > self.cfg.max_untagged_bytes {
            return Err(ProtoError::msg(
                ProtoErrorKind::TooMuchData,
                "too many captured responses not taken",
            ));
        }
        Ok(Event::Untagged { name })
    }

    fn process_greeting(&mut self, resp: Response) -> Result<Event, ProtoError> {
        let line = resp.frame().line(0);
        let (name, status) = match resp.kind() {
            Kind::Untagged { name, status, .. } => (name.clone(), *status),
            _ => {
                return Err(ProtoError::new(
                    ProtoErrorKind::Unexpected,
                    "unexpected response instead of a greeting",
                    &line,
                ))
            }
        };
        match status {
            Some(Status::Ok) => self.state = State::NonAuth,
            Some(Status::PreAuth) => self.state = State::Auth,
            Some(Status::Bye) => {
                return Err(ProtoError::new(
                    ProtoErrorKind::Bye,
                    format!(
                        "server refused the connection: {}",
                        String::from_utf8_lossy(&resp.text())
                    ),
                    &line,
                ))
            }
            _ => {
                return Err(ProtoError::new(
                    ProtoErrorKind::Unexpected,
                    "greeting is neither OK, PREAUTH nor BYE",
                    &line,
                ))
            }
        }
        self.greeted = true;
        self.welcome = line;
        for item in resp.imaplib_items() {
            self.append_untagged(&name, item)?;
        }
        self.store_code(&resp)?;
        if !self.caps_stale {
            // imaplib asks CAPABILITY while connecting, which takes the
            // greeting's code out of the store; the code answered that
            // question here, so it is taken out the same way.
            self.pop_untagged("CAPABILITY");
        }
        Ok(Event::Greeting)
    }

    fn process_continuation(&mut self, resp: &Response) -> Option<Event> {
        self.continuation_text = resp.text();
        let target = self
            .inflight
            .iter()
            .position(|f| f.waiting || f.interactive || !f.pending.is_empty());
        match target.map(|i| (i, self.inflight[i].waiting, self.inflight[i].interactive)) {
            Some((i, true, _)) => {
                self.inflight[i].waiting = false;
                self.pump();
                None
            }
            Some((i, false, true)) => Some(Event::Continuation {
                tag: self.inflight[i].tag.clone(),
                text: resp.text(),
            }),
            _ => {
                tracing::warn!(
                    target: "imaplib::protocol",
                    "ignoring a continuation request no command asked for: {:?}",
                    Printable(resp.frame().first_line())
                );
                None
            }
        }
    }

    /// A line that fits no response form. If it starts with the tag of a
    /// command in flight, that command's completion is unreadable: abort.
    /// Otherwise it is a server defect (typically a wrong literal size) and
    /// is skipped with a warning, so the session survives.
    fn process_unparsed(
        &mut self,
        resp: &Response,
        reason: &'static str,
    ) -> Result<Option<Event>, ProtoError> {
        let line = resp.frame().first_line();
        let first_word = line.split(|&b| b == b' ').next().unwrap_or_default();
        if self.inflight.iter().any(|f| f.tag.as_bytes() == first_word) {
            return Err(ProtoError::new(ProtoErrorKind::Parse, reason, line));
        }
        self.unparsed_count += 1;
        tracing::warn!(
            target: "imaplib::protocol",
            "skipping a line that is not an IMAP response ({reason}): {:?}",
            Printable(line)
        );
        Ok(None)
    }

    /// Number of lines skipped because they were not IMAP responses.
    pub fn unparsed_count(&self) -> u64 {
        self.unparsed_count
    }

    fn process_untagged(
        &mut self,
        resp: &Response,
        name: &str,
        status: Option<Status>,
    ) -> Result<Stored, ProtoError> {
        if name == "CAPABILITY" {
            self.set_capabilities(&resp.text());
        }
        if let Some(q) = &mut self.idle_capture {
            if status != Some(Status::Bye) {
                let items = resp.imaplib_items();
                self.untagged_weight += Self::held_weight(&items);
                q.push_back((name.to_string(), items));
                if self.untagged_weight > self.cfg.max_untagged_bytes {
                    return Err(ProtoError::msg(
                        ProtoErrorKind::TooMuchData,
                        "too many untagged responses captured during IDLE",
                    ));
                }
                self.store_code(resp)?;
                return Ok(Stored::Named);
            }
        }
        if self.events_enabled && self.is_event(name, resp) {
            self.untagged_weight += resp.frame().len();
            self.unsolicited.push_back(resp.clone());
        }
        // Stored one by one, with no list of them built first.
        for item in resp.imaplib_item_iter() {
            self.append_untagged(name, item)?;
        }
        self.store_code(resp)?;
        if status == Some(Status::Bye) {
            let text = resp.text();
            self.bye = Some(text.clone());
            self.on_bye(&text);
            return Ok(Stored::Bye(text));
        }
        Ok(Stored::Named)
    }

    /// True for a response that is news about the mailbox or the server
    /// rather than the result a command in flight asked for.
    fn is_event(&self, name: &str, resp: &Response) -> bool {
        let claimed = |n: &str| {
            self.inflight
                .iter()
                .any(|f| matches!(&f.finish, Finish::Untagged(c) if c == n))
        };
        match name {
            "EXISTS" | "RECENT" | "FLAGS" | "VANISHED" | "BYE" => true,
            // NOTIFY (RFC 5465) reports other mailboxes this way.
            "FETCH" | "EXPUNGE" | "LIST" | "METADATA" => !claimed(name),
            // LIST-STATUS answers a LIST with STATUS responses too.
            "STATUS" => !claimed(name) && !claimed("LIST"),
            "OK" | "NO" | "BAD" => resp.code().is_some_and(|c| c.name == "ALERT"),
            _ => false,
        }
    }

    /// Starts (or stops) keeping unsolicited responses (EXISTS, EXPUNGE,
    /// FETCH flag updates outside a FETCH/STORE, VANISHED, RECENT, FLAGS,
    /// ALERT, BYE, and the STATUS, LIST and METADATA that NOTIFY sends
    /// outside the commands asking for them) in arrival order for [`Session::take_unsolicited`]. They
    /// stay in `untagged_responses` too, as imaplib keeps them.
    pub fn set_unsolicited(&mut self, enabled: bool) {
        self.events_enabled = enabled;
        if !enabled {
            self.take_unsolicited();
        }
    }

    /// Keeps untagged responses named `name` (e.g. `FETCH`) whole, in
    /// arrival order, for [`Session::take_responses`], instead of storing
    /// them as imaplib data; `None` stops (anything not taken is dropped).
    /// This lets a caller decode a large result response by response, in
    /// bounded memory. What is held still counts against
    /// `max_untagged_bytes`. Not applied while IDLE data is captured.
    pub fn capture_responses(&mut self, name: Option<&str>) {
        self.response_capture = name.map(str::to_ascii_uppercase);
        if name.is_none() {
            self.take_responses();
        }
    }

    /// Takes the responses kept by [`Session::capture_responses`], oldest
    /// first.
    pub fn take_responses(&mut self) -> Vec<Response> {
        let out: Vec<Response> = self.captured.drain(..).collect();
        let weight: usize = out.iter().map(|r| r.frame().len() + ITEM_OVERHEAD).sum();
        self.untagged_weight = self.untagged_weight.saturating_sub(weight);
        out
    }

    /// Takes the unsolicited responses kept so far, oldest first.
    pub fn take_unsolicited(&mut self) -> Vec<Response> {
        let out: Vec<Response> = self.unsolicited.drain(..).collect();
        let weight: usize = out.iter().map(|r| r.frame().len()).sum();
        self.untagged_weight = self.untagged_weight.saturating_sub(weight);
        out
    }

    /// imaplib stores a response code of OK / NO / BAD under the code's
    /// name (`UIDVALIDITY`, `READ-ONLY`...). A CAPABILITY code updates the
    /// capabilities.
    fn store_code(&mut self, resp: &Response) -> Result<(), ProtoError> {
        let Some(code) = resp.code() else {
            return Ok(());
        };
        if code.name == "CAPABILITY" {
            self.set_capabilities(&code.args);
        }
        if matches!(resp.status(), Some(Status::Ok | Status::No | Status::Bad)) {
            let name = code.name.clone();
            let args = code.args.clone();
            self.append_untagged(&name, Data::Line(args))?;
        }
        Ok(())
    }

    fn set_capabilities(&mut self, text: &[u8]) {
        self.capabilities = String::from_utf8_lossy(text)
            .split_ascii_whitespace()
            .map(|c| c.to_ascii_uppercase())
            .collect();
        self.caps_generation += 1;
        self.caps_stale = false;
    }

    /// After BYE every command in flight fails with `abort`, except LOGOUT,
    /// whose result is the BYE.
    fn on_bye(&mut self, text: &Bytes) {
        let tags: Vec<(String, bool)> = self
            .inflight
            .iter()
            .map(|f| (f.tag.clone(), f.finish == Finish::Logout))
            .collect();
        for (tag, is_logout) in tags {
            let result = if is_logout {
                let data = self.pop_untagged("BYE").unwrap_or_else(|| vec![Data::None]);
                Ok(Reply {
                    typ: Status::Bye,
                    data,
                })
            } else {
                Err(ProtoError::msg(
                    ProtoErrorKind::Bye,
                    String::from_utf8_lossy(text).into_owned(),
                ))
            };
            self.complete(tag, result);
        }
        if self.state != State::Logout {
            self.state = State::Logout;
        }
    }

    fn complete(&mut self, tag: String, result: Result<Reply, ProtoError>) {
        if let Some(pos) = self.inflight.iter().position(|f| f.tag == tag) {
            self.inflight.remove(pos);
        }
        self.completed.insert(tag, result);
        self.update_streaming();
        self.pump();
    }

    fn process_tagged(
        &mut self,
        resp: &Response,
        tag: &Bytes,
        status: Status,
    ) -> Result<Event, ProtoError> {
        let tag_str = String::from_utf8_lossy(tag).into_owned();
        let Some(pos) = self.inflight.iter().position(|f| f.tag == tag_str) else {
            if self.completed.contains_key(&tag_str) {
                // LOGOUT completed on BYE; its tagged OK follows.
                return Ok(Event::Completed { tag: tag_str });
            }
            return Err(ProtoError::new(
                ProtoErrorKind::UnknownTag,
                "unexpected tagged response",
                resp.frame().first_line(),
            ));
        };
        let received_by = self.fed - self.framer.buffered() as u64;
        if self.inflight[pos]
            .sent_mark
            .is_none_or(|mark| received_by <= mark)
        {
            return Err(ProtoError::new(
                ProtoErrorKind::UnknownTag,
                "tagged response for a command that had not been sent yet",
                resp.frame().first_line(),
            ));
        }
        let f = self.inflight.remove(pos).expect("position is valid");
        self.store_code(resp)?;
        let data = resp.imaplib_items();
        let result = self.finish(&f, status, data, resp);
        self.completed.insert(f.tag.clone(), result);
        self.update_streaming();
        self.pump();
        Ok(Event::Completed { tag: f.tag })
    }

    /// IMAP4rev2 servers answer SEARCH with ESEARCH (RFC 9051 §7.3.4):
    /// the ESEARCH tagged with this command becomes the SEARCH data
    /// imaplib callers expect (`1 2 3`, with `(MODSEQ n)` when present).
    /// The expansion is bounded by `max_untagged_bytes`, since a few bytes
    /// of sequence set can name billions of messages.
    fn search_from_esearch(&mut self, tag: &str) -> Result<Option<Vec<Data>>, ProtoError> {
        let Some(items) = self.untagged.get("ESEARCH") else {
            return Ok(None);
        };
        let decoded = crate::types::decode_data("ESEARCH", items);
        if decoded.len() != items.len() {
            return Ok(None);
        }
        let Some(pos) = decoded.iter().position(|d| {
            matches!(d, Ok(crate::types::Untagged::ESearch(e))
                if e.tag.as_deref() == Some(tag.as_bytes()))
        }) else {
            return Ok(None);
        };
        let Some(Ok(crate::types::Untagged::ESearch(e))) = decoded.into_iter().nth(pos) else {
            return Ok(None);
        };
        use std::fmt::Write as _;
        let mut text = String::new();
        if let Some(all) = &e.all {
            // Each number costs at most 11 bytes ("4294967295 ").
            let count = all.count(u32::MAX);
            if count.saturating_mul(11) > self.cfg.max_untagged_bytes as u64 {
                return Err(ProtoError::msg(
                    ProtoErrorKind::TooMuchData,
                    format!(
                        "ESEARCH result names {count} messages; too many to expand into SEARCH data"
                    ),
                ));
            }
            for (i, n) in all.iter_numbers().enumerate() {
                if i > 0 {
                    text.push(' ');
                }
                let _ = write!(text, "{n}");
            }
        }
        if let Some(m) = e.modseq {
            if !text.is_empty() {
                text.push(' ');
            }
            let _ = write!(text, "(MODSEQ {m})");
        }
        if let Some(list) = self.untagged.get_mut("ESEARCH") {
            let item = list.remove(pos);
            let charge = Self::held_weight(std::slice::from_ref(&item));
            self.untagged_weight = self.untagged_weight.saturating_sub(charge);
            if list.is_empty() {
                self.untagged.remove("ESEARCH");
            }
        }
        Ok(Some(vec![Data::Line(Bytes::from(text))]))
    }

    /// Builds a command's result, as the tail of each imaplib method does,
    /// and applies its state change.
    fn finish(
        &mut self,
        f: &InFlight,
        status: Status,
        data: Vec<Data>,
        resp: &Response,
    ) -> Result<Reply, ProtoError> {
        let text = || String::from_utf8_lossy(&resp.text()).into_owned();
        // Commands whose state changes whatever the outcome.
        if f.finish == Finish::Deselect {
            self.state = State::Auth;
        }
        if status == Status::Bad {
            return Err(ProtoError::new(
                ProtoErrorKind::CommandBad,
                format!("{} command error: BAD {}", f.name, text()),
                &[],
            ));
        }
        let reply = |typ, data| Ok(Reply { typ, data });
        match &f.finish {
            Finish::Tagged | Finish::Idle | Finish::Deselect => reply(status, data),
            Finish::Untagged(name) => {
                if status == Status::No {
                    return reply(status, data);
                }
                let items = match self.pop_untagged(name) {
                    Some(items) => items,
                    None if name == "SEARCH" => self
                        .search_from_esearch(&f.tag)?
                        .unwrap_or_else(|| vec![Data::None]),
                    None => vec![Data::None],
                };
                reply(status, items)
            }
            Finish::Capability => {
                let items = self
                    .pop_untagged("CAPABILITY")
                    .unwrap_or_else(|| vec![Data::None]);
                reply(status, items)
            }
            Finish::Select { readonly } => {
                if status != Status::Ok {
                    self.state = State::Auth;
                    return reply(status, data);
                }
                self.state = State::Selected;
                if self.untagged.contains_key("READ-ONLY") && !readonly {
                    return Err(ProtoError::msg(
                        ProtoErrorKind::Readonly,
                        "mailbox is not writable",
                    ));
                }
                let exists = self
                    .untagged
                    .get("EXISTS")
                    .cloned()
                    .unwrap_or_else(|| vec![Data::None]);
                reply(status, exists)
            }
            Finish::Login | Finish::Authenticate => {
                if status != Status::Ok {
                    return Err(ProtoError::msg(ProtoErrorKind::CommandFailed, text()));
                }
                self.state = State::Auth;
                if self.caps_generation == f.caps_generation {
                    self.caps_stale = true;
                }
                reply(status, data)
            }
            Finish::Logout => {
                let items = self.pop_untagged("BYE");
                match items {
                    Some(bye) => reply(Status::Bye, bye),
                    None => reply(status, data),
                }
            }
            Finish::QuotaRoot => {
                if status == Status::No {
                    return reply(status, vec![Data::List(data.clone()), Data::List(data)]);
                }
                let quota = self
                    .pop_untagged("QUOTA")
                    .unwrap_or_else(|| vec![Data::None]);
                let root = self
                    .pop_untagged("QUOTAROOT")
                    .unwrap_or_else(|| vec![Data::None]);
                reply(status, vec![Data::List(root), Data::List(quota)])
            }
            Finish::Enable { utf8 } => {
                if status == Status::Ok && *utf8 {
                    self.utf8 = true;
                }
                reply(status, data)
            }
            Finish::StartTls => {
                if status != Status::Ok {
                    return Err(ProtoError::msg(
                        ProtoErrorKind::CommandFailed,
                        format!("Couldn't establish TLS session: {}", text()),
                    ));
                }
                // Nothing more is read in cleartext; capabilities are asked
                // again over TLS.
                self.awaiting_tls = true;
                self.capabilities.clear();
                self.caps_stale = true;
                reply(status, data)
            }
        }
    }

    /// Takes the result of a completed command.
    pub fn take_reply(&mut self, tag: &str) -> Option<Result<Reply, ProtoError>> {
        // Clients ask after every response; most of the time nothing has
        // completed, and the answer then costs no hashing.
        if self.completed.is_empty() {
            return None;
        }
        self.completed.remove(tag)
    }

    /// True if the command with this tag has completed.
    pub fn is_completed(&self, tag: &str) -> bool {
        self.completed.contains_key(tag)
    }

    /// True while the session waits for the client to run the TLS
    /// handshake after STARTTLS.
    pub fn awaiting_tls(&self) -> bool {
        self.awaiting_tls
    }

    /// Tells the session the TLS handshake after STARTTLS is done. Fails,
    /// and breaks the session, if the server sent anything after its
    /// STARTTLS OK in cleartext (a response-injection attempt); untagged
    /// data received in cleartext is forgotten.
    pub fn tls_established(&mut self) -> Result<(), ProtoError> {
        self.awaiting_tls = false;
        self.tls_required = false;
        self.clear_untagged();
        let leftover = self.framer.buffered();
        if leftover > 0 {
            self.framer.discard_buffered();
            let err = ProtoError::msg(
                ProtoErrorKind::Unexpected,
                format!(
                    "server sent {leftover} bytes in cleartext after accepting STARTTLS; \
                     refusing to continue"
                ),
            );
            return Err(self.break_with(err));
        }
        Ok(())
    }

    /// Bytes received in cleartext that were not yet framed (checked by the
    /// client before starting the TLS handshake).
    pub fn buffered_input(&self) -> usize {
        self.framer.buffered()
    }

    // ----- tracing ----------------------------------------------------------

    fn trace_out(&self, shown: &str) {
        if self.cfg.debug >= 4 {
            tracing::debug!(target: "imaplib::protocol", "> {}", shown.trim_end());
        } else {
            tracing::trace!(target: "imaplib::protocol", "> {}", shown.trim_end());
        }
    }

    fn trace_in(&self, frame: &Frame) {
        // Formatting costs more than decoding: only when someone listens.
        let debug = self.cfg.debug >= 4;
        let enabled = if debug {
            tracing::enabled!(target: "imaplib::protocol", tracing::Level::DEBUG)
        } else {
            tracing::enabled!(target: "imaplib::protocol", tracing::Level::TRACE)
        };
        if !enabled {
            return;
        }
        let mut shown = format!("{:?}", Printable(frame.first_line()));
        if frame.literal_count() > 0 {
            shown.push_str(&format!(
                " (+{} literal(s), {} bytes)",
                frame.literal_count(),
                frame.len()
            ));
        }
        if debug {
            tracing::debug!(target: "imaplib::protocol", "< {}", shown);
        } else {
            tracing::trace!(target: "imaplib::protocol", "< {}", shown);
        }
    }
}

/// What storing an untagged response gives the caller to report.
enum Stored {
    /// An [`Event::Untagged`] naming the response.
    Named,
    /// The server said BYE, with this text.
    Bye(Bytes),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::build;

    fn greeted(greeting: &[u8]) -> Session {
        let mut s = Session::new(SessionConfig::default());
        s.feed(greeting);
        assert_eq!(s.poll_event().unwrap(), Some(Event::Greeting));
        s
    }

    fn sent(s: &mut Session) -> Vec<u8> {
        s.take_transmit().unwrap_or_default()
    }

    /// Feeds `input` and returns the events until more input is needed.
    fn events(s: &mut Session, input: &[u8]) -> Vec<Event> {
        s.feed(input);
        let mut out = Vec::new();
        while let Some(ev) = s.poll_event().unwrap() {
            out.push(ev);
        }
        out
    }

    #[test]
    fn tags_are_int2ap_prefix_plus_counter() {
        let mut s = greeted(b"* OK [CAPABILITY IMAP4rev1] hi\r\n");
        let prefix = s.tag_prefix().to_string();
        assert_eq!(prefix.len(), 4);
        assert!(prefix.bytes().all(|b| (b'A'..=b'P').contains(&b)));
        let t0 = s.command(build::noop()).unwrap();
        let t1 = s.command(build::noop()).unwrap();
        assert_eq!(t0, format!("{prefix}0"));
        assert_eq!(t1, format!("{prefix}1"));
        assert_eq!(
            sent(&mut s),
            format!("{t0} NOOP\r\n{t1} NOOP\r\n").into_bytes()
        );
    }

    #[test]
    fn greeting_states_and_capabilities() {
        let s = greeted(b"* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n");
        assert_eq!(s.state(), State::NonAuth);
        assert!(s.has_capability("idle"));
        assert!(!s.capabilities_stale());
        let s = greeted(b"* PREAUTH ready\r\n");
        assert_eq!(s.state(), State::Auth);
        assert!(s.capabilities_stale());
        assert_eq!(s.welcome().as_ref(), b"* PREAUTH ready");
        let mut s = Session::new(SessionConfig::default());
        s.feed(b"* BYE go away\r\n");
        assert_eq!(s.poll_event().unwrap_err().kind(), ProtoErrorKind::Bye);
    }

    #[test]
    fn state_table_is_enforced_before_sending() {
        let mut s = greeted(b"* OK [CAPABILITY IMAP4rev1] hi\r\n");
        let err = s.command(build::fetch(b"1", b"(FLAGS)")).unwrap_err();
        assert_eq!(err.kind(), ProtoErrorKind::IllegalState);
        assert!(err.message().contains("illegal in state NONAUTH"));
        assert!(!s.wants_transmit());
        let err = s.command(build::uid("FETCH", ["1", "FLAGS"])).unwrap_err();
        assert_eq!(err.kind(), ProtoErrorKind::IllegalState);
        // LOGIN moves to AUTH, SELECT to SELECTED, CLOSE back to AUTH.
        let t = s.command(build::login(b"u", b"p")).unwrap();
        events(
            &mut s,
            format!("{t} OK [CAPABILITY IMAP4rev1 MOVE] in\r\n").as_bytes(),
        );
        assert!(s.take_reply(&t).unwrap().is_ok());
        assert_eq!(s.state(), State::Auth);
        assert!(!s.capabilities_stale(), "the OK carried capabilities");
        assert!(s.has_capability("MOVE"));
        let t = s.command(build::select(b"INBOX", false)).unwrap();
        events(
            &mut s,
            format!("* 4 EXISTS\r\n{t} OK [READ-WRITE] done\r\n").as_bytes(),
        );
        let reply = s.take_reply(&t).unwrap().unwrap();
        assert_eq!(reply.data, vec![Data::from("4")]);
        assert_eq!(s.state(), State::Selected);
        let t = s.command(build::close()).unwrap();
        events(&mut s, format!("{t} NO odd\r\n").as_bytes());
        assert_eq!(s.take_reply(&t).unwrap().unwrap().typ, Status::No);
        assert_eq!(
            s.state(),
            State::Auth,
            "CLOSE deselects whatever the answer"
        );
        // A failed SELECT leaves no mailbox selected.
        let t = s.command(build::select(b"nope", false)).unwrap();
        events(&mut s, format!("{t} NO [NONEXISTENT] no\r\n").as_bytes());
        assert_eq!(s.take_reply(&t).unwrap().unwrap().typ, Status::No);
        assert_eq!(s.state(), State::Auth);
    }

    #[test]
    fn login_without_capabilities_makes_them_stale() {
        let mut s = greeted(b"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED STARTTLS] hi\r\n");
        let t = s.command(build::login(b"u", b"p")).unwrap();
        events(&mut s, format!("{t} OK in\r\n").as_bytes());
        s.take_reply(&t).unwrap().unwrap();
        assert!(s.capabilities_stale());
    }

    #[test]
    fn untagged_store_in_arrival_order_and_codes() {
        let mut s = greeted(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n");
        let t = s.command(build::noop()).unwrap();
        let evs = events(
            &mut s,
            format!(
                "* 3 EXISTS\r\n* OK [UIDNEXT 9] next\r\n* 4 EXISTS\r\n* FLAGS (\\Seen)\r\n{t} OK done\r\n"
            )
            .as_bytes(),
        );
        assert_eq!(evs.len(), 5);
        assert_eq!(
            s.take_reply(&t).unwrap().unwrap().data,
            vec![Data::from("done")]
        );
        assert_eq!(
            s.pop_untagged("EXISTS").unwrap(),
            vec![Data::from("3"), Data::from("4")]
        );
        assert_eq!(s.pop_untagged("uidnext").unwrap(), vec![Data::from("9")]);
        assert_eq!(
            s.pop_untagged("OK").unwrap(),
            vec![Data::from("[UIDNEXT 9] next")]
        );
        assert!(s.pop_untagged("EXISTS").is_none());
        // OK/NO/BAD are forgotten at the next command, others kept.
        let t = s.command(build::noop()).unwrap();
        events(&mut s, format!("* OK a\r\n* NO b\r\n{t} OK\r\n").as_bytes());
        s.take_reply(&t).unwrap().unwrap();
        let _t = s.command(build::noop()).unwrap();
        assert!(!s.untagged_responses().contains_key("OK"));
        assert!(s.untagged_responses().contains_key("FLAGS"));
    }

    #[test]
    fn untagged_store_is_bounded() {
        let mut s = Session::new(SessionConfig {
            max_untagged_bytes: 1000,
            ..SessionConfig::default()
        });
        s.feed(b"* PREAUTH hi\r\n");
        s.poll_event().unwrap();
        let _t = s.command(build::noop()).unwrap();
        let line = format!("* 1 FETCH (BODY[] {{{}}}\r\n{})\r\n", 600, "x".repeat(600));
        s.feed(line.as_bytes());
        s.poll_event().unwrap();
        s.feed(line.as_bytes());
        assert_eq!(
            s.poll_event().unwrap_err().kind(),
            ProtoErrorKind::TooMuchData
        );
        assert!(s.command(build::noop()).is_err(), "the session is broken");
    }

    #[test]
    fn handing_data_back_releases_its_whole_charge() {
        // Each stored item is charged its bytes plus bookkeeping; taking it
        // back must release both, or a long-lived session would drift into
        // "too much data" after enough commands.
        let mut s = Session::new(SessionConfig {
            max_untagged_bytes: 4000,
            ..SessionConfig::default()
        });
        s.feed(b"* PREAUTH [CAPABILITY IMAP4rev1 IDLE] hi\r\n");
        s.poll_event().unwrap();
        let t = s.command(build::select(b"INBOX", false)).unwrap();
        events(
            &mut s,
            format!("* 3 EXISTS\r\n{t} OK [READ-WRITE] done\r\n").as_bytes(),
        );
        s.take_reply(&t).unwrap().unwrap();
        s.clear_untagged();
        for round in 0..200 {
            let t = s.command(build::fetch(b"1:3", b"(FLAGS)")).unwrap();
            let input = format!(
                "* 1 FETCH (FLAGS ())\r\n* 2 FETCH (FLAGS ())\r\n* 3 FETCH (FLAGS ())\r\n{t} OK\r\n"
            );
            events(&mut s, input.as_bytes());
            let reply = s.take_reply(&t).unwrap().unwrap();
            assert_eq!(reply.data.len(), 3, "round {round}");
            assert_eq!(s.held_untagged_bytes(), 0, "round {round}");
        }
        s.start_capture();
        events(&mut s, b"* 4 EXISTS\r\n* 1 RECENT\r\n");
        assert!(s.held_untagged_bytes() > 0);
        assert_eq!(s.take_captured().len(), 2);
        assert_eq!(s.held_untagged_bytes(), 0);
        s.stop_capture();
    }

    #[test]
    fn esearch_answer_to_search_becomes_search_data() {
        let mut s = greeted(b"* PREAUTH [CAPABILITY IMAP4rev2] hi\r\n");
        let t = s.command(build::select(b"INBOX", false)).unwrap();
        events(&mut s, format!("{t} OK [READ-WRITE] done\r\n").as_bytes());
        s.take_reply(&t).unwrap().unwrap();

        let t = s.command(build::search(None, ["UNSEEN"])).unwrap();
        let other = "* ESEARCH (TAG \"zz\") ALL 9";
        let input = format!("{other}\r\n* ESEARCH (TAG \"{t}\") ALL 2:4,7 MODSEQ 12\r\n{t} OK\r\n");
        events(&mut s, input.as_bytes());
        let reply = s.take_reply(&t).unwrap().unwrap();
        assert_eq!(reply.data, vec![Data::from("2 3 4 7 (MODSEQ 12)")]);
        // Someone else's ESEARCH stays where it was.
        assert_eq!(s.untagged_responses()["ESEARCH"].len(), 1);

        // No match: an ESEARCH with only the tag, as `* SEARCH` would be.
        let t = s.command(build::uid("SEARCH", ["DELETED"])).unwrap();
        let input = format!("* ESEARCH (TAG \"{t}\") UID\r\n{t} OK\r\n");
        events(&mut s, input.as_bytes());
        assert_eq!(
            s.take_reply(&t).unwrap().unwrap().data,
            vec![Data::from("")]
        );

        // A tiny set naming billions of messages is refused, not expanded.
        let t = s.command(build::search(None, ["ALL"])).unwrap();
        let input = format!("* ESEARCH (TAG \"{t}\") ALL 1:4294967295\r\n{t} OK\r\n");
        events(&mut s, input.as_bytes());
        let err = s.take_reply(&t).unwrap().unwrap_err();
        assert_eq!(err.kind(), ProtoErrorKind::TooMuchData);
    }

    #[test]
    fn synchronizing_literal_waits_and_blocks_later_commands() {
        let mut s = greeted(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n");
        let t0 = s
            .command(build::append(None, None, None, b"hello", false))
            .unwrap();
        let t1 = s.command(build::noop()).unwrap();
        assert_eq!(
            sent(&mut s),
            format!("{t0} APPEND INBOX {{5}}\r\n").into_bytes()
        );
        assert!(!s.wants_transmit(), "NOOP must wait behind the literal");
        assert!(events(&mut s, b"+ go\r\n").is_empty());
        assert_eq!(sent(&mut s), format!("hello\r\n{t1} NOOP\r\n").into_bytes());
        events(&mut s, format!("{t0} OK a\r\n{t1} OK b\r\n").as_bytes());
        assert!(s.take_reply(&t0).unwrap().is_ok());
        assert!(s.take_reply(&t1).unwrap().is_ok());
        // With LITERAL+ nothing waits.
        let mut s = greeted(b"* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n");
        let t0 = s
            .command(build::append(None, None, None, b"hello", false))
            .unwrap();
        assert_eq!(
            sent(&mut s),
            format!("{t0} APPEND INBOX {{5+}}\r\nhello\r\n").into_bytes()
        );
    }

    #[test]
    fn unexpected_continuation_is_ignored_and_unknown_tag_aborts() {
        let mut s = greeted(b"* PREAUTH hi\r\n");
        let t = s.command(build::noop()).unwrap();
        assert!(events(&mut s, b"+ what\r\n").is_empty());
        s.feed(b"XYZ1 OK forged\r\n");
        assert_eq!(
            s.poll_event().unwrap_err().kind(),
            ProtoErrorKind::UnknownTag
        );
        assert!(s.take_reply(&t).is_none());
        assert_eq!(
            s.command(build::noop()).unwrap_err().kind(),
            ProtoErrorKind::UnknownTag
        );
    }

    #[test]
    fn interactive_commands_get_continuations() {
        let mut s = greeted(b"* OK [CAPABILITY IMAP4rev1] hi\r\n");
        let t = s.command(build::authenticate("plain")).unwrap();
        assert_eq!(
            sent(&mut s),
            format!("{t} AUTHENTICATE PLAIN\r\n").into_bytes()
        );
        let evs = events(&mut s, b"+ \r\n");
        assert_eq!(
            evs,
            vec![Event::Continuation {
                tag: t.clone(),
                text: Bytes::new()
            }]
        );
        s.continue_with(&t, b"AHUAcA==", true).unwrap();
        assert_eq!(sent(&mut s), b"AHUAcA==\r\n");
        assert!(s.continue_with(&t, b"x\r\ny", true).is_err());
        events(
            &mut s,
            format!("{t} OK [CAPABILITY IMAP4rev1] ok\r\n").as_bytes(),
        );
        s.take_reply(&t).unwrap().unwrap();
        assert_eq!(s.state(), State::Auth);
    }

    #[test]
    fn bye_fails_commands_in_flight_but_answers_logout() {
        let mut s = greeted(b"* PREAUTH hi\r\n");
        let t = s.command(build::noop()).unwrap();
        events(&mut s, b"* BYE shutting down\r\n");
        let err = s.take_reply(&t).unwrap().unwrap_err();
        assert_eq!(err.kind(), ProtoErrorKind::Bye);
        assert!(err.message().contains("shutting down"));
        let mut s = greeted(b"* PREAUTH hi\r\n");
        let t = s.command(build::logout()).unwrap();
        assert_eq!(s.state(), State::Logout);
        events(&mut s, format!("* BYE bye\r\n{t} OK done\r\n").as_bytes());
        let reply = s.take_reply(&t).unwrap().unwrap();
        assert_eq!(reply.typ, Status::Bye);
        assert_eq!(reply.data, vec![Data::from("bye")]);
    }

    #[test]
    fn starttls_stops_reading_and_refuses_leftovers() {
        let mut s = greeted(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n");
        let t = s.command(build::starttls()).unwrap();
        let evs = events(
            &mut s,
            format!("{t} OK go\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n").as_bytes(),
        );
        assert_eq!(evs, vec![Event::Completed { tag: t.clone() }]);
        assert!(s.awaiting_tls());
        assert!(s.capabilities().is_empty());
        assert!(s.command(build::noop()).is_err());
        assert!(s.buffered_input() > 0);
        assert!(s.tls_established().is_err());
        // A clean STARTTLS: nothing left over.
        let mut s = greeted(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n");
        let t = s.command(build::starttls()).unwrap();
        events(&mut s, format!("* 1 EXISTS\r\n{t} OK go\r\n").as_bytes());
        s.tls_established().unwrap();
        assert!(
            s.untagged_responses().is_empty(),
            "cleartext data is forgotten"
        );
        assert!(s.capabilities_stale());
    }

    #[test]
    fn xatom_registers_unknown_commands_in_current_state() {
        let mut s = greeted(b"* OK hi\r\n");
        assert!(s.command(build::xatom("XFOO", ["a"])).is_err());
        s.register_command("XFOO");
        let t = s.command(build::xatom("XFOO", ["a"])).unwrap();
        assert_eq!(sent(&mut s), format!("{t} XFOO a\r\n").into_bytes());
    }

    #[test]
    fn idle_capture_keeps_arrival_order() {
        let mut s = greeted(b"* PREAUTH [CAPABILITY IMAP4rev1 IDLE] hi\r\n");
        s.start_capture();
        let t = s.command(build::idle()).unwrap();
        let evs = events(
            &mut s,
            b"+ idling\r\n* 2 EXISTS\r\n* 1 EXPUNGE\r\n* 3 EXISTS\r\n",
        );
        assert_eq!(evs.len(), 4);
        let got = s.take_captured();
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["EXISTS", "EXPUNGE", "EXISTS"]);
        s.idle_done(&t).unwrap();
        assert_eq!(sent(&mut s), format!("{t} IDLE\r\nDONE\r\n").into_bytes());
        events(&mut s, format!("{t} OK done\r\n").as_bytes());
        s.stop_capture();
        assert!(s.take_reply(&t).unwrap().is_ok());
    }
}
