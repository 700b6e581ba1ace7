//! imaplib's line patterns (tagged, untagged, continuation, literal,
//! response code), for the low-level calls that read lines themselves.

/// imaplib's tagged-response pattern: `TAGPRE\d+ [A-Z]+ data`.
pub(super) fn match_tagged<'a>(
    line: &'a [u8],
    tagpre: &[u8],
) -> Option<(&'a [u8], &'a [u8], &'a [u8])> {
    let rest = line.strip_prefix(tagpre)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let tag = &line[..tagpre.len() + digits];
    let rest = rest[digits..].strip_prefix(b" ")?;
    let letters = rest.iter().take_while(|b| b.is_ascii_uppercase()).count();
    if letters == 0 {
        return None;
    }
    let data = rest[letters..].strip_prefix(b" ")?;
    Some((tag, &rest[..letters], data))
}

/// imaplib's untagged patterns: `* TYPE[ data]`, or `* N TYPE[ data2]`
/// (whose data is `N data2`).
pub(super) fn match_untagged(line: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let rest = line.strip_prefix(b"* ")?;
    let is_type = |b: &u8| b.is_ascii_uppercase() || *b == b'-';
    let n = rest.iter().take_while(|b| is_type(b)).count();
    if n > 0 {
        let data = rest[n..].strip_prefix(b" ").unwrap_or(b"");
        return Some((rest[..n].to_vec(), data.to_vec()));
    }
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let after = rest[digits..].strip_prefix(b" ")?;
    let n = after.iter().take_while(|b| is_type(b)).count();
    if n == 0 {
        return None;
    }
    let mut data = rest[..digits].to_vec();
    if let Some(more) = after[n..].strip_prefix(b" ") {
        if !more.is_empty() {
            data.push(b' ');
            data.extend_from_slice(more);
        }
    }
    Some((after[..n].to_vec(), data))
}

/// imaplib's continuation pattern: `+[ data]`; `Some(None)` for a bare `+`.
pub(super) fn match_continuation(line: &[u8]) -> Option<Option<&[u8]>> {
    let rest = line.strip_prefix(b"+")?;
    Some(rest.strip_prefix(b" "))
}

/// imaplib's literal pattern: a line ending in `{N}`.
pub(super) fn literal_size(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// imaplib's response-code pattern at the start of the data:
/// `[TYPE[ data]]`, up to the last `]`.
pub(super) fn match_code(dat: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let rest = dat.strip_prefix(b"[")?;
    let n = rest
        .iter()
        .take_while(|b| b.is_ascii_uppercase() || **b == b'-')
        .count();
    if n == 0 {
        return None;
    }
    let after = &rest[n..];
    if after.first() == Some(&b']') {
        return Some((&rest[..n], None));
    }
    let inner = after.strip_prefix(b" ")?;
    let close = inner.iter().rposition(|&b| b == b']')?;
    Some((&rest[..n], Some(&inner[..close])))
}
