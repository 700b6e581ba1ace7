//! Failures of the tool: one line of text and a distinct exit status.

use std::fmt;

use imaplib::{ErrorKind, ProxyFailure};

/// Exit statuses, one per kind of failure (listed in `imap --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked.
    Ok = 0,
    /// A local problem: a file that cannot be read or written.
    Local = 1,
    /// Bad command-line usage, or a malformed or unknown shell line.
    Usage = 2,
    /// The connection could not be made: DNS, TCP, TLS handshake or
    /// certificate, STARTTLS refused, the server refused to greet.
    Connect = 3,
    /// The server rejected the credentials.
    Auth = 4,
    /// The server answered a command with NO or BAD (imaplib's `error`).
    Server = 5,
    /// The connection broke or went out of step (imaplib's `abort`), or
    /// `imap decode` met bytes it cannot frame.
    Abort = 6,
    /// `imap fetch`: the mailbox's UIDVALIDITY changed since the last run
    /// into the same output; nothing was written.
    UidValidity = 7,
    /// The proxy cannot be reached, or did not answer in time.
    ProxyUnreachable = 8,
    /// The proxy wants credentials or refused the ones given.
    ProxyAuth = 9,
    /// The proxy refused, or failed, to connect to the server.
    ProxyTarget = 10,
    /// The proxy answered something that is not SOCKS5 or HTTP.
    ProxyProtocol = 11,
    /// `imap sync --to-...`: some messages were not copied (over the
    /// destination's APPENDLIMIT, or refused by it), or some mailboxes
    /// (refused by the destination); the rest was.
    Incomplete = 12,
}

impl Exit {
    /// The numeric status.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The text of `imap --help` that lists the exit statuses.
pub const EXIT_HELP: &str = "\
Exit status:
  0  success
  1  local error (a file cannot be read or written)
  2  usage error, or a malformed or unknown shell line
  3  connection failed (network, TLS handshake or certificate, STARTTLS)
  4  authentication failed
  5  the server answered NO or BAD (imaplib's `error`)
  6  connection lost or protocol out of step (imaplib's `abort`);
     for `imap decode`, input that cannot be framed
  7  `imap fetch`: UIDVALIDITY changed since the last run (nothing written)
  8  the proxy cannot be reached or did not answer
  9  the proxy refused the credentials (or wants some)
 10  the proxy refused or failed to connect to the server
 11  the proxy answered something that is not SOCKS5 or HTTP
 12  `imap sync --to-...`: some messages were not copied (over the
     destination's APPENDLIMIT, or refused by it), or some mailboxes
     (refused by the destination); all others were";

/// A failure: what to print (one line) and the exit status.
#[derive(Debug)]
pub struct CliError {
    /// The exit status.
    pub exit: Exit,
    /// The message, without the `imap: ` prefix.
    pub message: String,
}

impl CliError {
    /// A failure with this status and message.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        CliError {
            exit,
            message: message.into(),
        }
    }

    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// A local (file) error.
    pub fn local(message: impl Into<String>) -> Self {
        Self::new(Exit::Local, message)
    }

    /// A library error raised by a command: `error` is the server's (or
    /// the arguments') fault, `abort` and `readonly` mean the connection
    /// is gone.
    pub fn imap(context: &str, err: &imaplib::Error) -> Self {
        let exit = match err.kind() {
            ErrorKind::Error => Exit::Server,
            ErrorKind::Abort | ErrorKind::Readonly => Exit::Abort,
        };
        Self::new(exit, format!("{context}: {}", describe(err)))
    }

    /// A library error while connecting (any kind). The context is left
    /// out when the library's message already says what failed.
    pub fn connect(context: &str, err: &imaplib::Error) -> Self {
        let text = describe(err);
        if let Some(failure) = err.proxy_failure() {
            let exit = match failure {
                ProxyFailure::Unreachable => Exit::ProxyUnreachable,
                ProxyFailure::Credentials => Exit::ProxyAuth,
                ProxyFailure::Target => Exit::ProxyTarget,
                ProxyFailure::Protocol => Exit::ProxyProtocol,
            };
            return Self::new(exit, text);
        }
        if text.starts_with("cannot connect to") || text.starts_with("cannot resolve") {
            return Self::new(Exit::Connect, text);
        }
        Self::new(Exit::Connect, format!("{context}: {text}"))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A library error as one line: its message, and the offending server
/// bytes (escaped) when there are some.
pub fn describe(err: &imaplib::Error) -> String {
    let mut out = one_line(err.message());
    if !err.bytes().is_empty() {
        out.push_str(&format!(
            " (server sent {:?})",
            imaplib::imaplib_proto::Printable(err.bytes())
        ));
    }
    out
}

/// A message on one line, safe for a terminal: tabs become spaces, line
/// breaks and other control characters (which may come from the server)
/// are shown escaped.
pub fn one_line(text: &str) -> String {
    let spaced = text.replace('\t', " ");
    crate::term::safe(spaced.trim()).into_owned()
}

/// `Result` with a [`CliError`].
pub type CliResult<T> = Result<T, CliError>;

/// Writes `text` to stdout and flushes it. A closed pipe (`imap ... | head`)
/// ends the run quietly with status 1; other failures are reported.
pub fn print_out(text: &str) -> CliResult<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(output_error)
}

/// The error for a failed write to stdout.
pub fn output_error(e: std::io::Error) -> CliError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        CliError::local("")
    } else {
        CliError::local(format!("cannot write the output: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_stay_on_one_line() {
        assert_eq!(one_line("a\r\nb\tc\n"), "a\\r\\nb c");
        assert_eq!(
            one_line(" no \u{1b}]0;title\u{7} "),
            "no \\x1b]0;title\\x07"
        );
    }

    #[test]
    fn error_kinds_map_to_statuses() {
        let e = imaplib::Error::error("NO such mailbox");
        assert_eq!(CliError::imap("select", &e).exit, Exit::Server);
        let e = imaplib::Error::abort("socket error: EOF");
        assert_eq!(CliError::imap("fetch", &e).exit, Exit::Abort);
        assert_eq!(CliError::connect("connect", &e).exit, Exit::Connect);
    }
}
