//! Typed response codes (RFC 3501 §7.1, RFC 4315, 7162, 5530, 9051...).

use bytes::Bytes;

use super::reader::{DResult, Segments};
use super::seqset::SequenceSet;
use crate::response::Code;

/// A response code, typed. Codes this library does not know, or whose
/// arguments do not decode, are [`ResponseCode::Other`] with the raw
/// arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseCode {
    /// `ALERT`: the text must be shown to the user.
    Alert,
    /// `BADCHARSET (charsets)`.
    BadCharset(Vec<String>),
    /// `CAPABILITY ...`.
    Capability(Vec<String>),
    /// `PARSE`.
    Parse,
    /// `PERMANENTFLAGS (...)`.
    PermanentFlags(Vec<String>),
    /// `READ-ONLY`.
    ReadOnly,
    /// `READ-WRITE`.
    ReadWrite,
    /// `TRYCREATE`.
    TryCreate,
    /// `UIDNEXT n`.
    UidNext(u32),
    /// `UIDVALIDITY n`.
    UidValidity(u32),
    /// `UNSEEN n`.
    Unseen(u32),
    /// `APPENDUID uidvalidity uids` (RFC 4315).
    AppendUid {
        /// UIDVALIDITY of the destination.
        uid_validity: u32,
        /// The new UIDs.
        uids: SequenceSet,
    },
    /// `COPYUID uidvalidity source dest` (RFC 4315).
    CopyUid {
        /// UIDVALIDITY of the destination.
        uid_validity: u32,
        /// Source UIDs.
        source: SequenceSet,
        /// Destination UIDs, in the same order.
        dest: SequenceSet,
    },
    /// `UIDNOTSTICKY` (RFC 4315).
    UidNotSticky,
    /// `HIGHESTMODSEQ n` (RFC 7162).
    HighestModSeq(u64),
    /// `NOMODSEQ` (RFC 7162).
    NoModSeq,
    /// `MODIFIED set` (RFC 7162).
    Modified(SequenceSet),
    /// `CLOSED` (RFC 7162).
    Closed,
    /// `NOTSAVED` (RFC 5182).
    NotSaved,
    /// `APPENDLIMIT n` (RFC 7889).
    AppendLimit(u64),
    /// One of the RFC 5530 codes (`AUTHENTICATIONFAILED`, `NONEXISTENT`...),
    /// by name.
    Rfc5530(String),
    /// Any other code, or one whose arguments did not decode.
    Other {
        /// The name, upper case.
        name: String,
        /// The raw arguments.
        args: Bytes,
    },
}

/// The RFC 5530 response codes.
pub const RFC5530_CODES: [&str; 17] = [
    "UNAVAILABLE",
    "AUTHENTICATIONFAILED",
    "AUTHORIZATIONFAILED",
    "EXPIRED",
    "PRIVACYREQUIRED",
    "CONTACTADMIN",
    "NOPERM",
    "INUSE",
    "EXPUNGEISSUED",
    "CORRUPTION",
    "SERVERBUG",
    "CLIENTBUG",
    "CANNOT",
    "LIMIT",
    "OVERQUOTA",
    "ALREADYEXISTS",
    "NONEXISTENT",
];

fn words(args: &Bytes) -> Vec<String> {
    String::from_utf8_lossy(args)
        .split_ascii_whitespace()
        .map(|w| w.trim_matches(|c| c == '(' || c == ')').to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

impl ResponseCode {
    /// Types a response code.
    pub fn decode(code: &Code) -> ResponseCode {
        Self::try_decode(code).unwrap_or_else(|_| ResponseCode::Other {
            name: code.name.clone(),
            args: code.args.clone(),
        })
    }

    fn try_decode(code: &Code) -> DResult<ResponseCode> {
        let seg = Segments::from_line(code.args.clone());
        let mut r = seg.reader();
        let set = |r: &mut super::reader::Reader<'_>| -> DResult<SequenceSet> {
            let a = r.atom()?;
            SequenceSet::parse(&a).map_err(|e| super::reader::DecodeError::new(e.to_string()))
        };
        let c = match code.name.as_str() {
            "ALERT" => ResponseCode::Alert,
            "BADCHARSET" => ResponseCode::BadCharset(words(&code.args)),
            "CAPABILITY" => ResponseCode::Capability(words(&code.args)),
            "PARSE" => ResponseCode::Parse,
            "PERMANENTFLAGS" => {
                r.skip_spaces();
                if r.peek() == Some(b'(') {
                    ResponseCode::PermanentFlags(super::fetch::flag_list(&mut r)?)
                } else {
                    ResponseCode::PermanentFlags(words(&code.args))
                }
            }
            "READ-ONLY" => ResponseCode::ReadOnly,
            "READ-WRITE" => ResponseCode::ReadWrite,
            "TRYCREATE" => ResponseCode::TryCreate,
            "UIDNEXT" => ResponseCode::UidNext(r.number32()?),
            "UIDVALIDITY" => ResponseCode::UidValidity(r.number32()?),
            "UNSEEN" => ResponseCode::Unseen(r.number32()?),
            "APPENDUID" => ResponseCode::AppendUid {
                uid_validity: r.number32()?,
                uids: set(&mut r)?,
            },
            "COPYUID" => ResponseCode::CopyUid {
                uid_validity: r.number32()?,
                source: set(&mut r)?,
                dest: set(&mut r)?,
            },
            "UIDNOTSTICKY" => ResponseCode::UidNotSticky,
            "HIGHESTMODSEQ" => ResponseCode::HighestModSeq(r.number()?),
            "NOMODSEQ" => ResponseCode::NoModSeq,
            "MODIFIED" => ResponseCode::Modified(set(&mut r)?),
            "CLOSED" => ResponseCode::Closed,
            "NOTSAVED" => ResponseCode::NotSaved,
            "APPENDLIMIT" => ResponseCode::AppendLimit(r.number()?),
            name if RFC5530_CODES.contains(&name) => ResponseCode::Rfc5530(name.to_string()),
            _ => {
                return Ok(ResponseCode::Other {
                    name: code.name.clone(),
                    args: code.args.clone(),
                })
            }
        };
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(name: &str, args: &str) -> ResponseCode {
        ResponseCode::decode(&Code {
            name: name.into(),
            args: Bytes::copy_from_slice(args.as_bytes()),
        })
    }

    #[test]
    fn typed_codes() {
        assert_eq!(
            code("UIDVALIDITY", "3857529045"),
            ResponseCode::UidValidity(3857529045)
        );
        assert_eq!(
            code("COPYUID", "38505 304,319:320 3956:3958"),
            ResponseCode::CopyUid {
                uid_validity: 38505,
                source: "304,319:320".parse().unwrap(),
                dest: "3956:3958".parse().unwrap()
            }
        );
        let huge = code("APPENDUID", "1 1:4294967295");
        assert!(
            matches!(huge, ResponseCode::AppendUid { ref uids, .. } if uids.count(0) == 4294967295)
        );
        assert_eq!(
            code("PERMANENTFLAGS", "(\\Deleted \\Seen \\[test] \\*)"),
            ResponseCode::PermanentFlags(vec![
                "\\Deleted".into(),
                "\\Seen".into(),
                "\\[test]".into(),
                "\\*".into()
            ])
        );
        assert_eq!(
            code("BADCHARSET", "(UTF-8 US-ASCII)"),
            ResponseCode::BadCharset(vec!["UTF-8".into(), "US-ASCII".into()])
        );
        assert_eq!(
            code("NONEXISTENT", ""),
            ResponseCode::Rfc5530("NONEXISTENT".into())
        );
        assert!(matches!(code("UIDNEXT", "x"), ResponseCode::Other { .. }));
        assert!(matches!(code("X-WEIRD", "a b"), ResponseCode::Other { .. }));
    }
}
