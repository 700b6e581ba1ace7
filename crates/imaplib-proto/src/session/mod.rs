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

use crate::command::{Chunk, Command, EncodeOptions, Encoder, Finish, LiteralMode};
use crate::error::{ProtoError, ProtoErrorKind};
use crate::response::{Data, Frame, Framer, Kind, Limits, Piece, Response, Status};
use crate::state::allowed_states;
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

mod receive;
mod send;
mod store;
#[cfg(test)]
mod tests;
mod trace;

pub use crate::state::State;
use store::Stored;

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

impl InFlight {
    /// LOGOUT, or any command named LOGOUT (imaplib's `xatom('LOGOUT')`):
    /// the server's BYE is its result.
    fn expects_bye(&self) -> bool {
        self.finish == Finish::Logout || (self.finish == Finish::Tagged && self.name == "LOGOUT")
    }
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
    /// What of `untagged_weight` the caller holds, taken by
    /// [`Session::take_responses_held`].
    taken_weight: usize,
    /// The protocol trace kept for the caller ([`Session::capture_trace`]).
    wire_trace: Option<VecDeque<(bool, Bytes)>>,
    idle_capture: Option<VecDeque<(String, Vec<Data>)>>,
    /// The state to go back to when an IDLE driven step by step ends.
    before_idling: Option<State>,
    /// The capture queues as imaplib 3.14's IDLE does: each response code
    /// and a BYE as entries of their own.
    capture_as_imaplib: bool,
    inflight: VecDeque<InFlight>,
    completed: HashMap<String, Result<Reply, ProtoError>>,
    outbox: VecDeque<Chunk>,
    utf8: bool,
    is_readonly: bool,
    bye: Option<Bytes>,
    broken: Option<ProtoError>,
    awaiting_tls: bool,
    extra_commands: HashMap<String, Vec<State>>,
    /// A caller's table of commands and their states, in place of
    /// imaplib's (Python's mutable `imaplib.Commands`).
    command_table: Option<HashMap<String, Vec<State>>>,
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
            taken_weight: 0,
            wire_trace: None,
            idle_capture: None,
            before_idling: None,
            capture_as_imaplib: false,
            inflight: VecDeque::new(),
            completed: HashMap::new(),
            outbox: VecDeque::new(),
            utf8: false,
            is_readonly: false,
            bye: None,
            broken: None,
            awaiting_tls: false,
            extra_commands: HashMap::new(),
            command_table: None,
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

    /// A tag the session will never use itself (imaplib's `_new_tag`), for
    /// a command the caller writes and reads on its own.
    pub fn reserve_tag(&mut self) -> String {
        let tag = format!("{}{}", self.tag_prefix, self.tag_counter);
        self.tag_counter += 1;
        tag
    }

    /// How many tags were used or reserved (imaplib's `tagnum`).
    pub fn tags_used(&self) -> u64 {
        self.tag_counter
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
    /// with this error, and nothing queued is sent any more.
    pub fn set_broken(&mut self, err: ProtoError) {
        if self.broken.is_none() {
            self.broken = Some(err);
        }
        self.outbox.clear();
    }

    /// Number of commands sent and not yet completed.
    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// True while the command with `tag` was sent by this session and its
    /// result was not taken yet.
    pub fn is_in_flight(&self, tag: &str) -> bool {
        self.completed.contains_key(tag) || self.inflight.iter().any(|f| f.tag == tag)
    }

    /// Enters the LOGOUT state before LOGOUT is sent, as imaplib does: a
    /// failing LOGOUT still leaves the session logged out.
    pub fn begin_logout(&mut self) {
        self.state = State::Logout;
    }
}
