//! Borrowed views of FETCH responses (RFC 3501 §7.4.2, RFC 9051 §7.5.2):
//! the data of [`Fetch`], read in place from the received bytes without a
//! single heap allocation or reference count.
//!
//! [`FetchView::from_frame`] (or [`FetchView::from_response`]) checks the
//! complete syntax of every item in one pass, exactly as
//! [`decode_response`](crate::types::decode_response) does, and keeps only
//! positions; the accessors then hand out borrowed values:
//!
//! - strings as [`StrView`], whose bytes are unescaped only when asked and
//!   borrowed whenever the string holds no backslash;
//! - flags, address lists, parameters and the parts of a multipart as
//!   iterators;
//! - ENVELOPE as [`EnvelopeView`], BODY and BODYSTRUCTURE as [`BodyView`];
//! - every item, in order, through [`FetchView::items`].
//!
//! What the view accepts is exactly what the owned decoder accepts: a
//! response it rejects, the view rejects with the same reason; an item it
//! keeps as [`FetchItem::Undecodable`] the view keeps as
//! [`ItemView::Undecodable`] with the same raw bytes and reason; and
//! [`FetchView::to_fetch`] (or, in one pass without the check,
//! [`FetchView::owned_from_response`]) gives the very [`Fetch`] the owned
//! decoder gives. Two documented differences, both in values kept raw: a
//! raw value (a list where a string belongs, an unknown extension value)
//! that spans a literal is handed out here as received, CRLF and literal
//! included, where the owned decoder keeps it empty; and raw bytes are
//! handed out as received, where the owned decoder writes CRLF after each
//! line that announced a literal ([`RawView::joined`] gives that form). And
//! a response larger than 4 GiB is refused (positions are kept in 32 bits).
//!
//! Checking is one pass; reading is lazy: [`FetchView::body_structure`]
//! gives the top level read during the check, and the check records where
//! the fields of the first addresses of an envelope and the first
//! elements of each parameter list lie, so that iterating them reads
//! nothing again; the first two single parts of a top-level multipart
//! are read during the check as well (so [`FetchView::body_structure`]
//! borrows the view). Longer lists, the other parts and the enclosed
//! message of a MESSAGE/RFC822 part are read again from their recorded
//! positions when iterated or asked for.
//!
//! A response is one [`Frame`]: its lines and literals lie in one buffer,
//! so a string, a literal or a raw value is always one slice of it.
//! Nesting is bounded by [`MAX_DEPTH`] as in the owned decoder.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};

use super::fetch::{
    Address, BodyStructure, Envelope, Extension, Fetch, FetchItem, Multipart, Section, SectionText,
    SinglePart,
};
use super::reader::{ends_atom, find_quote_or_backslash, DecodeError, ENDS_NAME, MAX_DEPTH, STOPS};
use crate::response::{Frame, Kind, Response};

mod body;
mod buffer;
mod cursor;
mod envelope;
mod errors;
mod fetch;
mod lists;
mod section;
mod strings;

pub use body::*;
use buffer::*;
use cursor::*;
pub use envelope::*;
pub use errors::*;
pub use fetch::*;
pub use lists::*;
pub use section::*;
pub use strings::*;
