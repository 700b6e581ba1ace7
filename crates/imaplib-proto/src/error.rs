//! Errors of the protocol core.

use std::fmt;

/// How many bytes of offending input an error keeps.
pub const ERROR_SNIPPET_MAX: usize = 256;

/// What went wrong in the protocol core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtoErrorKind {
    /// A server line exceeded the configured line limit.
    LineTooLong,
    /// A server literal was announced larger than the configured limit.
    LiteralTooLarge,
    /// A literal size could not be read (`{-1}`, `{5x}`, overflow).
    BadLiteral,
    /// A response did not follow the IMAP grammar closely enough to be used.
    Parse,
    /// The input ended in the middle of a response.
    Incomplete,
    /// A tagged response carried a tag no command in flight has.
    UnknownTag,
    /// The server sent something the current state does not allow.
    Unexpected,
    /// The server closed the session with BYE.
    Bye,
    /// Untagged data held for the caller exceeded the configured limit.
    TooMuchData,
    /// A command argument cannot be sent safely (CR, LF or NUL where they are
    /// not allowed, or a value the grammar cannot express).
    BadArgument,
    /// The command is not allowed in the session's current state.
    IllegalState,
    /// The server answered the command with BAD (imaplib raises `error`).
    CommandBad,
    /// The server refused a command whose refusal imaplib raises as `error`
    /// (LOGIN, AUTHENTICATE, STARTTLS answered NO).
    CommandFailed,
    /// TLS was asked for and cannot be (or is not yet) established: nothing
    /// is sent in cleartext.
    TlsRequired,
    /// The selected mailbox is, or became, read-only (imaplib's `readonly`,
    /// which is also an `abort`).
    Readonly,
    /// The server does not announce a capability the command needs.
    MissingCapability,
}

impl ProtoErrorKind {
    /// True for errors after which the connection cannot be used any more
    /// (imaplib's `abort`); false for errors of a single call (`error`).
    pub fn is_fatal(self) -> bool {
        !matches!(
            self,
            ProtoErrorKind::BadArgument
                | ProtoErrorKind::IllegalState
                | ProtoErrorKind::MissingCapability
                | ProtoErrorKind::CommandBad
                | ProtoErrorKind::CommandFailed
        )
    }
}

/// An error of the protocol core, with the offending bytes when there are
/// some (truncated to [`ERROR_SNIPPET_MAX`]).
#[derive(Clone, PartialEq, Eq)]
pub struct ProtoError {
    kind: ProtoErrorKind,
    message: String,
    bytes: Vec<u8>,
    truncated: bool,
}

impl ProtoError {
    /// A new error; `bytes` is the offending input (kept truncated).
    pub fn new(kind: ProtoErrorKind, message: impl Into<String>, bytes: &[u8]) -> Self {
        let keep = bytes.len().min(ERROR_SNIPPET_MAX);
        ProtoError {
            kind,
            message: message.into(),
            bytes: bytes[..keep].to_vec(),
            truncated: bytes.len() > keep,
        }
    }

    /// An error without offending bytes.
    pub fn msg(kind: ProtoErrorKind, message: impl Into<String>) -> Self {
        Self::new(kind, message, &[])
    }

    /// The kind of error.
    pub fn kind(&self) -> ProtoErrorKind {
        self.kind
    }

    /// The human-readable message (the server's text where there is one).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The offending bytes, possibly truncated (see [`ProtoError::truncated`]).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// True when [`ProtoError::bytes`] was cut short.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if !self.bytes.is_empty() {
            write!(f, ": {:?}", crate::Printable(&self.bytes))?;
            if self.truncated {
                f.write_str("...")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProtoError({:?}, {})", self.kind, self)
    }
}

impl std::error::Error for ProtoError {}
