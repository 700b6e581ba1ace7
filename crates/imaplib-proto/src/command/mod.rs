//! Commands: what to send (name and [`Arg`]s), in which states it is legal
//! (imaplib's `Commands` table), and how its reply is assembled
//! ([`Finish`]). Each imaplib method is one builder function in [`build`];
//! the blocking and async clients both send what these build, so a command
//! is defined once.

mod encode;
mod search;

pub mod build;

pub(crate) use encode::{check_inline, is_enclosed, Encoder};
pub use encode::{Arg, Chunk, EncodeOptions, LiteralMode};
pub use search::{EntryType, ModSeqEntry, Query, SearchArgs};

/// How the reply of a command is assembled from what the server sent,
/// mirroring the tail of each imaplib method.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finish {
    /// `(typ, [tagged text])`, as `_simple_command`.
    Tagged,
    /// `_untagged_response(typ, dat, NAME)`: the untagged responses of that
    /// name, popped, or `[None]`; the tagged text on NO.
    Untagged(String),
    /// SELECT / EXAMINE: state change, READ-ONLY check, `EXISTS` data.
    Select {
        /// EXAMINE rather than SELECT.
        readonly: bool,
    },
    /// LOGIN: NO raises `error`; OK moves to AUTH.
    Login,
    /// AUTHENTICATE: NO raises `error`; OK moves to AUTH.
    Authenticate,
    /// LOGOUT: the BYE data is the result.
    Logout,
    /// CLOSE and UNSELECT: back to AUTH whatever the outcome.
    Deselect,
    /// GETQUOTAROOT: `[quotaroot list, quota list]`.
    QuotaRoot,
    /// ENABLE: turns UTF-8 mode on when `UTF8=ACCEPT` was enabled.
    Enable {
        /// The ENABLE asked for UTF8=ACCEPT.
        utf8: bool,
    },
    /// STARTTLS: NO raises `error`; OK makes capabilities stale.
    StartTls,
    /// CAPABILITY: the CAPABILITY data.
    Capability,
    /// IDLE: the tagged text; untagged responses are captured in order.
    Idle,
}

/// A command ready to be sent by a session.
#[derive(Debug, Clone)]
pub struct Command {
    /// The command name as sent (`SELECT`, `UID`, `XFOO`...).
    pub name: String,
    /// For `UID`: the sub-command, whose own state rules also apply.
    pub sub_command: Option<String>,
    /// Arguments in order.
    pub args: Vec<Arg>,
    /// How the reply is assembled.
    pub finish: Finish,
    /// True when continuation requests go to the caller (AUTHENTICATE, IDLE)
    /// instead of releasing the next literal.
    pub interactive: bool,
    /// True when the literals of FETCH responses received while this
    /// command runs are streamed to the caller ([`crate::Event::LiteralStart`],
    /// [`crate::Event::LiteralChunk`]) instead of being kept.
    pub stream_literals: bool,
}

impl Command {
    /// A command with the given name, no arguments and a tagged-text reply.
    pub fn new(name: impl Into<String>) -> Self {
        Command {
            name: name.into().to_ascii_uppercase(),
            sub_command: None,
            args: Vec::new(),
            finish: Finish::Tagged,
            interactive: false,
            stream_literals: false,
        }
    }

    /// Streams FETCH literals to the caller while this command runs.
    pub fn streaming(mut self) -> Self {
        self.stream_literals = true;
        self
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: Arg) -> Self {
        self.args.push(arg);
        self
    }

    /// Sets how the reply is assembled.
    pub fn finish(mut self, finish: Finish) -> Self {
        self.finish = finish;
        self
    }

    /// Marks continuation requests as the caller's to answer.
    pub fn interactive(mut self) -> Self {
        self.interactive = true;
        self
    }
}
