//! An IMAP4 client library in the shape of Python's `imaplib`.
//!
//! [`Imap4`] is imaplib's `IMAP4` (TCP), `IMAP4_SSL` (TLS) and
//! `IMAP4_stream` (a child process) in one type, with one method per imaplib
//! method, each returning imaplib's `(type, data)` as a [`Reply`]. The
//! protocol itself lives in the sans-IO crate [`imaplib_proto`].
//!
//! ```no_run
//! use imaplib::{Imap4, Status};
//!
//! let mut m = Imap4::ssl("imap.example.org", 993)?;
//! m.login("user", "password")?;
//! m.select("INBOX", false)?;
//! let found = m.search(None, ["ALL"])?;
//! let numbers = found.data[0].as_bytes().cloned().unwrap_or_default();
//! for num in numbers.split(|&b| b == b' ').filter(|n| !n.is_empty()) {
//!     let reply = m.fetch(num, "(RFC822)")?;
//!     assert_eq!(reply.typ, Status::Ok);
//!     if let Some(message) = reply.data[0].literal() {
//!         println!("Message {}\n{}", String::from_utf8_lossy(num), String::from_utf8_lossy(message));
//!     }
//! }
//! m.close()?;
//! m.logout()?;
//! # Ok::<(), imaplib::Error>(())
//! ```
//!
//! imaplib's module functions are here too: [`internaldate_to_tuple`]
//! (`Internaldate2tuple`), [`int_to_ap`] (`Int2AP`), [`parse_flags`]
//! (`ParseFlags`) and [`time_to_internaldate`] (`Time2Internaldate`).

#![forbid(unsafe_code)]

#[cfg(feature = "tokio")]
pub mod asynchronous;
mod client;
pub(crate) mod compress;
mod date;
pub(crate) mod engine;
mod error;
pub(crate) mod extensions;
pub(crate) mod idle;
mod methods;
mod pipeline;
mod proxy;
pub mod sasl;
pub(crate) mod streaming;
mod tls;
pub mod transport;
pub(crate) mod typed;

#[cfg(feature = "tokio")]
pub use asynchronous::AsyncImap4;
pub use client::{IdleResult, Imap4, Options, IMAP4_PORT, IMAP4_SSL_PORT};
pub use error::{Error, ErrorKind, Result};
pub use extensions::{ListWithStatus, MoveResult, Resync, SPECIAL_USES};
pub use idle::{IdleEnd, IdleOptions, IdleOutcome, IdleStep, IdleStop};
pub use proxy::{Proxy, ProxyFailure, ProxyKind};
pub use streaming::Streamed;
pub use tls::TlsConfig;
pub use typed::{reply_code, SelectInfo};

pub use date::{internaldate_to_tuple, time_to_internaldate};
pub use imaplib_proto;
pub use imaplib_proto::command::build::{CatenatePart, NotifyEvent, NotifyFilter, NotifyGroup};
pub use imaplib_proto::command::{EntryType, ModSeqEntry, Query};
pub use imaplib_proto::date::DateInput;
pub use imaplib_proto::types;
pub use imaplib_proto::{int_to_ap, parse_flags, Data, Limits, Reply, State, Status};

/// The README's examples, compiled as doc tests.
#[doc = include_str!("../../../README.md")]
#[cfg(all(doctest, feature = "tokio"))]
pub struct ReadmeDoctests;
