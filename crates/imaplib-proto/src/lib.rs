//! Sans-IO IMAP4 protocol core.
//!
//! Everything here works on bytes in memory: no socket, no clock, no thread.
//! The blocking and async clients of the `imaplib` crate drive it.
//!
//! - [`command`]: commands, their arguments and the encoder that chooses
//!   atom, quoted string or literal for each argument; one builder per
//!   imaplib method in [`command::build`]; typed SEARCH queries that pick
//!   their charset by themselves ([`Query`]).
//! - [`response`]: the [`Framer`] that splits the server's byte stream into
//!   complete responses (lines plus literals, bounded, linear time) and the
//!   parser that recognises tagged, untagged and continuation responses with
//!   their status and response code.
//! - [`session`]: the state machine (states, tags, capabilities, literal
//!   continuation, untagged-response store) that turns it into imaplib's
//!   `(type, data)` results.
//! - [`types`]: typed values of every response (owned, and borrowed views
//!   of FETCH); with the `serde` feature they implement
//!   `serde::Serialize`, in the JSON shape the `imap decode` command prints.
//! - Utilities: [`int_to_ap`], [`parse_flags`], [`date`], [`utf7`].

#![forbid(unsafe_code)]

pub mod command;
pub mod date;
pub mod error;
pub mod response;
pub mod session;
pub mod state;
pub mod types;
pub mod utf7;

pub use command::{Arg, Command, Finish, Query, SearchArgs};
pub use error::{ProtoError, ProtoErrorKind};
pub use response::{Code, Data, Frame, Framer, Kind, Limits, Response, Status};
pub use session::{Event, Reply, Session, SessionConfig, State};

use std::fmt;

/// Formats bytes for humans: printable ASCII as is, everything else escaped
/// (`\r`, `\n`, `\x00`...), the way Python shows `bytes`.
pub struct Printable<'a>(pub &'a [u8]);

impl fmt::Debug for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("b\"")?;
        fmt::Display::fmt(self, f)?;
        f.write_str("\"")
    }
}

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.0 {
            match b {
                b'\r' => f.write_str("\\r")?,
                b'\n' => f.write_str("\\n")?,
                b'\t' => f.write_str("\\t")?,
                b'\\' => f.write_str("\\\\")?,
                b'"' => f.write_str("\\\"")?,
                0x20..=0x7e => fmt::Write::write_char(f, b as char)?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        Ok(())
    }
}

/// imaplib's `Int2AP`: writes `num` in base 16 with the digits `A`..`P`
/// (used for the tag prefix). `int_to_ap(0)` is empty, as in Python.
pub fn int_to_ap(num: u64) -> Vec<u8> {
    const AP: &[u8; 16] = b"ABCDEFGHIJKLMNOP";
    let mut out = Vec::new();
    let mut n = num;
    while n > 0 {
        out.push(AP[(n % 16) as usize]);
        n /= 16;
    }
    out.reverse();
    out
}

/// imaplib's `ParseFlags`: the flags of the last `FLAGS (...)` in a FETCH
/// response, split on whitespace; empty when there is none.
pub fn parse_flags(resp: &[u8]) -> Vec<Vec<u8>> {
    const KEY: &[u8] = b"FLAGS (";
    let Some(start) = resp
        .windows(KEY.len())
        .rposition(|w| w == KEY)
        .map(|i| i + KEY.len())
    else {
        return Vec::new();
    };
    let Some(len) = resp[start..].iter().position(|&b| b == b')') else {
        return Vec::new();
    };
    resp[start..start + len]
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int2ap() {
        assert_eq!(int_to_ap(0), b"");
        assert_eq!(int_to_ap(1), b"B");
        assert_eq!(int_to_ap(16), b"BA");
        assert_eq!(int_to_ap(4096), b"BAAA");
        assert_eq!(int_to_ap(65535), b"PPPP");
        assert_eq!(int_to_ap(0x1234), b"BCDE");
    }

    #[test]
    fn parseflags() {
        assert_eq!(
            parse_flags(b"1 (UID 5 FLAGS (\\Seen \\Answered $Label))"),
            vec![
                b"\\Seen".to_vec(),
                b"\\Answered".to_vec(),
                b"$Label".to_vec()
            ]
        );
        assert!(parse_flags(b"1 (FLAGS ())").is_empty());
        assert!(parse_flags(b"1 (UID 5)").is_empty());
        assert_eq!(parse_flags(b"FLAGS (\\[test])"), vec![b"\\[test]".to_vec()]);
    }

    #[test]
    fn printable() {
        assert_eq!(
            format!("{:?}", Printable(b"a\r\n\x00\"")),
            "b\"a\\r\\n\\x00\\\"\""
        );
    }
}
