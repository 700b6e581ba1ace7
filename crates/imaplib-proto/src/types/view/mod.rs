//! FETCH responses (RFC 3501 §7.4.2, RFC 9051 §7.5.2), checked once and
//! read in place: the one FETCH decoder of this library.
//!
//! [`FetchView::from_frame`] (or [`FetchView::from_response`]) checks the
//! complete syntax of every item in one pass and keeps only positions,
//! without a single heap allocation or reference count; the accessors then
//! hand out borrowed values:
//!
//! - strings as [`StrView`], whose bytes are unescaped only when asked and
//!   borrowed whenever the string holds no backslash;
//! - flags, address lists, parameters and the parts of a multipart as
//!   iterators;
//! - ENVELOPE as [`EnvelopeView`], BODY and BODYSTRUCTURE as [`BodyView`];
//! - every item, in order, through [`FetchView::items`].
//!
//! [`Fetch`], what [`decode_response`](crate::types::decode_response) and
//! every typed client method give, is the same check kept together with the
//! response's bytes: owned, it reads its values through the same views.
//! The owned forms ([`FetchItem`], [`Envelope`], [`BodyStructure`]...) are
//! made from the views ([`FetchView::to_items`], [`Fetch::to_items`],
//! [`EnvelopeView::to_envelope`]...), so the rules of the syntax exist
//! once. An item that does not decode is [`ItemView::Undecodable`] (and
//! [`FetchItem::Undecodable`]) with its raw bytes and the reason. Raw
//! bytes are handed out by the views as received; the owned forms write
//! CRLF after each line that announced a literal ([`RawView::joined`]
//! gives that form). A response larger than 4 GiB is refused (positions
//! are kept in 32 bits).
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
//! Nesting is bounded by [`MAX_DEPTH`].

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};

use super::fetch::{
    Address, BodyStructure, Envelope, Extension, FetchItem, Multipart, Section, SectionText,
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
mod owned;
mod section;
mod strings;

pub use body::*;
use buffer::*;
use cursor::*;
pub use envelope::*;
pub use errors::*;
pub use fetch::*;
pub use lists::*;
pub use owned::*;
pub use section::*;
pub use strings::*;
