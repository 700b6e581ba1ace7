//! The client's error type, with imaplib's three kinds.

use std::fmt;

use imaplib_proto::{ProtoError, ProtoErrorKind};

/// imaplib's three exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `IMAP4.error`: the command failed (BAD, refused LOGIN, a command
    /// illegal in this state, a bad argument). The connection is still usable.
    Error,
    /// `IMAP4.abort`: the connection is lost or out of step (EOF, BYE,
    /// timeout, unparseable or unexpected server data, TLS failure). Recovery
    /// means a new connection.
    Abort,
    /// `IMAP4.readonly`: a writable mailbox became read-only. Like imaplib's,
    /// it is also an abort ([`Error::is_abort`] is true).
    Readonly,
}

/// An error of the IMAP client.
pub struct Error {
    kind: ErrorKind,
    message: String,
    bytes: Vec<u8>,
    detail: Option<ProtoErrorKind>,
    proxy: Option<crate::proxy::ProxyFailure>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with the client's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A new error of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            bytes: Vec::new(),
            detail: None,
            proxy: None,
            source: None,
        }
    }

    /// imaplib's `error`.
    #[allow(clippy::self_named_constructors)]
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Error, message)
    }

    /// An `error` raised before anything is sent because the server does
    /// not announce `capability` ([`ProtoErrorKind::MissingCapability`]).
    pub fn missing_capability(capability: &str) -> Self {
        Self::error(format!("Server does not support {capability}"))
            .with_detail(ProtoErrorKind::MissingCapability)
    }

    /// The same error, classified by `detail`.
    pub fn with_detail(mut self, detail: ProtoErrorKind) -> Self {
        self.detail = Some(detail);
        self
    }

    /// imaplib's `abort`.
    pub fn abort(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Abort, message)
    }

    /// An abort caused by an I/O error.
    pub fn io(context: &str, err: std::io::Error) -> Self {
        let mut e = Self::abort(format!("{context}: {err}"));
        e.source = Some(Box::new(err));
        e
    }

    /// Attaches a source error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// imaplib's exception kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// True for `abort` and `readonly` (the connection must be replaced).
    pub fn is_abort(&self) -> bool {
        matches!(self.kind, ErrorKind::Abort | ErrorKind::Readonly)
    }

    /// The message (with the server's text where there is one).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The offending server bytes for parse errors (truncated).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The same error, marked as a proxy's failure.
    pub(crate) fn with_proxy_failure(mut self, failure: crate::proxy::ProxyFailure) -> Self {
        self.proxy = Some(failure);
        self
    }

    /// How the proxy failed, when the error came from the proxy (see
    /// [`crate::Options::proxy`]) rather than from the IMAP server.
    pub fn proxy_failure(&self) -> Option<crate::proxy::ProxyFailure> {
        self.proxy
    }

    /// The protocol core's finer classification, when the error came from it.
    pub fn detail(&self) -> Option<ProtoErrorKind> {
        self.detail
    }
}

impl From<ProtoError> for Error {
    fn from(e: ProtoError) -> Self {
        let kind = match e.kind() {
            ProtoErrorKind::Readonly => ErrorKind::Readonly,
            k if k.is_fatal() => ErrorKind::Abort,
            _ => ErrorKind::Error,
        };
        Error {
            kind,
            message: e.message().to_string(),
            bytes: e.bytes().to_vec(),
            detail: Some(e.kind()),
            proxy: None,
            source: None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ErrorKind::Error => "error",
            ErrorKind::Abort => "abort",
            ErrorKind::Readonly => "readonly",
        };
        write!(f, "IMAP {kind}: {}", self.message)?;
        if !self.bytes.is_empty() {
            write!(f, ": {:?}", imaplib_proto::Printable(&self.bytes))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|b| b.as_ref() as &(dyn std::error::Error + 'static))
    }
}
