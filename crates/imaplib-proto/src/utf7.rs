//! Modified UTF-7 for mailbox names (RFC 3501 §5.1.3).
//!
//! Printable US-ASCII except `&` stands for itself, `&` is written `&-`, and
//! every other run of characters is UTF-16 encoded, then base64 encoded with
//! `,` in place of `/`, without padding, between `&` and `-`.

use std::fmt;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Encodes a mailbox name in modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let mut run: Vec<u16> = Vec::new();
    for ch in name.chars() {
        if (' '..='~').contains(&ch) {
            flush(&mut out, &mut run);
            if ch == '&' {
                out.push_str("&-");
            } else {
                out.push(ch);
            }
        } else {
            let mut buf = [0u16; 2];
            run.extend_from_slice(ch.encode_utf16(&mut buf));
        }
    }
    flush(&mut out, &mut run);
    out
}

fn flush(out: &mut String, run: &mut Vec<u16>) {
    if run.is_empty() {
        return;
    }
    out.push('&');
    let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..=n {
            out.push(ALPHABET[((v >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out.push('-');
    run.clear();
}

/// Why a name is not valid modified UTF-7.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What is wrong.
    pub reason: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid modified UTF-7 at byte {}: {}",
            self.offset, self.reason
        )
    }
}

impl std::error::Error for DecodeError {}

fn sextet(b: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == b).map(|p| p as u32)
}

/// Decodes a modified UTF-7 mailbox name strictly: 8-bit bytes,
/// unterminated or empty shifts, shifts that encode printable ASCII, bad
/// padding bits and unpaired surrogates are errors.
pub fn decode(name: &[u8]) -> Result<String, DecodeError> {
    let err = |offset, reason| DecodeError { offset, reason };
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < name.len() {
        let b = name[i];
        if !(0x20..=0x7e).contains(&b) {
            return Err(err(i, "byte outside printable US-ASCII"));
        }
        if b != b'&' {
            out.push(b as char);
            i += 1;
            continue;
        }
        let start = i;
        let Some(len) = name[i + 1..].iter().position(|&c| c == b'-') else {
            return Err(err(start, "unterminated shift"));
        };
        let body = &name[i + 1..i + 1 + len];
        i += len + 2;
        if body.is_empty() {
            out.push('&');
            continue;
        }
        let mut bits = 0u32;
        let mut nbits = 0u32;
        let mut units = Vec::new();
        for (k, &c) in body.iter().enumerate() {
            let v =
                sextet(c).ok_or_else(|| err(start + 1 + k, "byte outside the base64 alphabet"))?;
            bits = (bits << 6) | v;
            nbits += 6;
            if nbits >= 16 {
                nbits -= 16;
                units.push(((bits >> nbits) & 0xffff) as u16);
            }
        }
        if nbits >= 6 || (bits & ((1 << nbits) - 1)) != 0 {
            return Err(err(start, "bad padding in shift"));
        }
        let mut decoded = String::new();
        for r in char::decode_utf16(units.iter().copied()) {
            let ch = r.map_err(|_| err(start, "unpaired surrogate"))?;
            if (' '..='~').contains(&ch) {
                return Err(err(start, "shift encodes printable US-ASCII"));
            }
            decoded.push(ch);
        }
        out.push_str(&decoded);
        // Two shifts in a row should have been one.
        if name.get(i) == Some(&b'&') && name.get(i + 1) != Some(&b'-') && !out.is_empty() {
            return Err(err(i, "unnecessary shift: adjacent encoded runs"));
        }
    }
    Ok(out)
}

/// Decodes for display: never fails; what is not valid modified UTF-7 is
/// shown as it was received (invalid bytes replaced).
pub fn decode_lossy(name: &[u8]) -> String {
    decode(name).unwrap_or_else(|_| String::from_utf8_lossy(name).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for (plain, wire) in [
            ("INBOX", "INBOX"),
            ("Entwürfe", "Entw&APw-rfe"),
            ("&", "&-"),
            ("a&b", "a&-b"),
            ("日本語", "&ZeVnLIqe-"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("😀", "&2D3eAA-"),
        ] {
            assert_eq!(encode(plain), wire);
            assert_eq!(decode(wire.as_bytes()).unwrap(), plain);
        }
    }

    #[test]
    fn invalid_forms() {
        for bad in [
            &b"&ZeVnLIqe"[..],     // unterminated
            b"&AGE-",              // encodes 'a'
            b"&2D0-",              // lone surrogate
            b"\xc3\xa9",           // 8-bit
            b"&ZeVnLIqe-&U,BTFw-", // adjacent shifts
            b"&Ze!-",              // bad alphabet
            b"&APx-",              // non-zero padding bits
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
        assert_eq!(decode_lossy(b"&Ze!-"), "&Ze!-");
    }
}
