//! Reads the few kinds of response data the tool itself needs (FETCH,
//! LIST, STATUS, SEARCH) out of imaplib-shaped data items.
//!
//! imaplib hands a response with literals over as `(header, literal)` pairs
//! followed by the rest of the line; this module glues them back together
//! and parses the result into atoms, strings, NIL and parenthesised lists
//! (RFC 3501 §4). It is deliberately small: the full typed decoding belongs
//! in the library.

use bytes::Bytes;
use imaplib::Data;

/// One parsed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An atom or number (also `BODY[...]<...>` section specifiers).
    Atom(Bytes),
    /// A quoted string or a literal.
    Str(Bytes),
    /// `NIL`.
    Nil,
    /// A parenthesised list.
    List(Vec<Value>),
}

impl Value {
    /// The bytes of an atom or string.
    pub fn bytes(&self) -> Option<&Bytes> {
        match self {
            Value::Atom(b) | Value::Str(b) => Some(b),
            _ => None,
        }
    }

    /// The value as a number.
    pub fn number(&self) -> Option<u64> {
        match self {
            Value::Atom(b) => std::str::from_utf8(b).ok()?.parse().ok(),
            _ => None,
        }
    }

    /// The items of a list.
    pub fn list(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) => Some(v),
            _ => None,
        }
    }
}

/// A piece of a response: text, or a literal's data.
enum Segment {
    Text(Bytes),
    Literal(Bytes),
}

/// Splits imaplib data items into responses (a `(header, literal)` item
/// continues into the next item) and parses each into its values.
pub fn responses(items: &[Data]) -> Result<Vec<Vec<Value>>, String> {
    let mut out = Vec::new();
    let mut segments = Vec::new();
    for item in items {
        match item {
            Data::None => {}
            Data::List(inner) => out.extend(responses(inner)?),
            Data::Line(line) => {
                segments.push(Segment::Text(line.clone()));
                out.push(parse(&std::mem::take(&mut segments))?);
            }
            Data::Literal { header, literal } => {
                let text = strip_announcement(header).ok_or_else(|| {
                    format!(
                        "a literal's header does not end in {{N}}: {:?}",
                        imaplib::imaplib_proto::Printable(header)
                    )
                })?;
                segments.push(Segment::Text(text));
                segments.push(Segment::Literal(literal.clone()));
            }
        }
    }
    if !segments.is_empty() {
        out.push(parse(&segments)?);
    }
    Ok(out)
}

/// The header without its trailing `{N}`, `{N+}` or `~{N}`.
fn strip_announcement(header: &Bytes) -> Option<Bytes> {
    let h = header.as_ref();
    if h.last() != Some(&b'}') {
        return None;
    }
    let open = h.iter().rposition(|&b| b == b'{')?;
    let digits = &h[open + 1..h.len() - 1];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let end = if open > 0 && h[open - 1] == b'~' {
        open - 1
    } else {
        open
    };
    Some(header.slice(..end))
}

/// Parses the segments of one response into its top-level values.
fn parse(segments: &[Segment]) -> Result<Vec<Value>, String> {
    let mut p = Parser {
        segments,
        seg: 0,
        pos: 0,
    };
    let values = p.values(false)?;
    Ok(values)
}

/// A cursor over the segments of one response.
struct Parser<'a> {
    segments: &'a [Segment],
    seg: usize,
    pos: usize,
}

impl Parser<'_> {
    /// Values up to the end (or up to the `)` closing a list).
    fn values(&mut self, in_list: bool) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        loop {
            let Some(seg) = self.segments.get(self.seg) else {
                if in_list {
                    return Err("a parenthesised list is not closed".into());
                }
                return Ok(out);
            };
            let text = match seg {
                Segment::Literal(data) => {
                    out.push(Value::Str(data.clone()));
                    self.seg += 1;
                    self.pos = 0;
                    continue;
                }
                Segment::Text(t) => t,
            };
            let Some(&c) = text.get(self.pos) else {
                self.seg += 1;
                self.pos = 0;
                continue;
            };
            match c {
                b' ' | b'\t' => self.pos += 1,
                b'(' => {
                    self.pos += 1;
                    out.push(Value::List(self.values(true)?));
                }
                b')' => {
                    self.pos += 1;
                    if in_list {
                        return Ok(out);
                    }
                    return Err("unbalanced ')'".into());
                }
                b'"' => out.push(Value::Str(self.quoted(text)?)),
                _ => {
                    let atom = self.atom(text);
                    if atom.eq_ignore_ascii_case(b"NIL") {
                        out.push(Value::Nil);
                    } else {
                        out.push(Value::Atom(atom));
                    }
                }
            }
        }
    }

    /// A quoted string starting at the cursor (RFC 3501 §4.3).
    fn quoted(&mut self, text: &Bytes) -> Result<Bytes, String> {
        let mut out = Vec::new();
        let mut i = self.pos + 1;
        while i < text.len() {
            match text[i] {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(Bytes::from(out));
                }
                b'\\' if i + 1 < text.len() => {
                    out.push(text[i + 1]);
                    i += 2;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        Err("a quoted string is not closed".into())
    }

    /// An atom; `[...]` sections may hold spaces and parentheses.
    fn atom(&mut self, text: &Bytes) -> Bytes {
        let start = self.pos;
        let mut depth = 0usize;
        let mut i = start;
        while i < text.len() {
            match text[i] {
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b' ' | b'\t' | b'(' | b')' | b'"' if depth == 0 => break,
                _ => {}
            }
            i += 1;
        }
        self.pos = i;
        text.slice(start..i)
    }
}

/// One FETCH response: the message number and its `name value` pairs
/// (names upper-cased).
#[derive(Debug, Clone)]
pub struct Fetch {
    /// The message sequence number.
    pub seq: u64,
    /// The data items in order.
    pub items: Vec<(String, Value)>,
}

impl Fetch {
    /// The value of the item named `name` (upper case).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.items.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The UID, if present.
    pub fn uid(&self) -> Option<u64> {
        self.get("UID").and_then(Value::number)
    }

    /// The flags, if present.
    pub fn flags(&self) -> Vec<String> {
        self.get("FLAGS")
            .and_then(Value::list)
            .unwrap_or_default()
            .iter()
            .filter_map(Value::bytes)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }
}

/// Parses the data of a FETCH (or UID FETCH) reply.
pub fn fetches(items: &[Data]) -> Result<Vec<Fetch>, String> {
    let mut out = Vec::new();
    for resp in responses(items)? {
        let [seq, Value::List(pairs)] = resp.as_slice() else {
            return Err("a FETCH response is not `N (...)`".into());
        };
        let seq = seq
            .number()
            .ok_or("a FETCH response does not start with a number")?;
        let mut items = Vec::new();
        let mut it = pairs.iter();
        while let Some(name) = it.next() {
            let name = name
                .bytes()
                .filter(|_| matches!(name, Value::Atom(_)))
                .ok_or("a FETCH item name is not an atom")?;
            let value = it.next().ok_or("a FETCH item has no value")?;
            items.push((
                String::from_utf8_lossy(name).to_ascii_uppercase(),
                value.clone(),
            ));
        }
        out.push(Fetch { seq, items });
    }
    Ok(out)
}

/// One LIST (or LSUB) response.
#[derive(Debug, Clone)]
pub struct ListEntry {
    /// The attributes (`\HasNoChildren`, `\Sent`...).
    pub attributes: Vec<String>,
    /// The hierarchy delimiter, if any.
    pub delimiter: Option<String>,
    /// The name as the server sent it (modified UTF-7 unless UTF-8 is on).
    pub raw_name: Bytes,
}

/// Parses the data of a LIST or LSUB reply.
pub fn list_entries(items: &[Data]) -> Result<Vec<ListEntry>, String> {
    let mut out = Vec::new();
    for resp in responses(items)? {
        if resp.is_empty() {
            continue;
        }
        let (Some(Value::List(attrs)), Some(delim), Some(name)) =
            (resp.first(), resp.get(1), resp.get(2))
        else {
            return Err("a LIST response is not `(attributes) delimiter name`".into());
        };
        let raw_name = match name {
            Value::Atom(b) | Value::Str(b) => b.clone(),
            _ => return Err("a LIST response has no mailbox name".into()),
        };
        out.push(ListEntry {
            attributes: attrs
                .iter()
                .filter_map(Value::bytes)
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect(),
            delimiter: delim
                .bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned()),
            raw_name,
        });
    }
    Ok(out)
}

/// The `name number` pairs of a STATUS reply (names upper-cased).
pub fn status_counts(items: &[Data]) -> Result<Vec<(String, u64)>, String> {
    let mut out = Vec::new();
    for resp in responses(items)? {
        let Some(Value::List(pairs)) = resp.last() else {
            continue;
        };
        for pair in pairs.chunks(2) {
            if let [name, value] = pair {
                if let (Some(n), Some(v)) = (name.bytes(), value.number()) {
                    out.push((String::from_utf8_lossy(n).to_ascii_uppercase(), v));
                }
            }
        }
    }
    Ok(out)
}

/// The numbers of a SEARCH reply.
pub fn search_numbers(items: &[Data]) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    for item in items {
        let Some(line) = item.as_bytes() else {
            continue;
        };
        for word in line.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
            if word.first() == Some(&b'(') {
                // A trailing `(MODSEQ n)` (RFC 7162): not a number.
                break;
            }
            let n = std::str::from_utf8(word)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    format!(
                        "a SEARCH result is not a number: {:?}",
                        String::from_utf8_lossy(word)
                    )
                })?;
            out.push(n);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(h: &'static [u8], l: &'static [u8]) -> Data {
        Data::Literal {
            header: Bytes::from_static(h),
            literal: Bytes::from_static(l),
        }
    }

    #[test]
    fn fetch_with_literals_glued_back() {
        let data = vec![
            lit(b"1 (UID 7 FLAGS (\\Seen $X) BODY[] {5}", b"hello"),
            Data::from(" INTERNALDATE \"01-Jan-2024 10:00:00 +0000\")"),
            Data::from("2 (UID 9 FLAGS ())"),
            lit(b"3 (BODY[HEADER.FIELDS (FROM)]<0> ~{2}", b"ab"),
            Data::from(")"),
        ];
        let f = fetches(&data).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].seq, 1);
        assert_eq!(f[0].uid(), Some(7));
        assert_eq!(f[0].flags(), ["\\Seen", "$X"]);
        assert_eq!(f[0].get("BODY[]"), Some(&Value::Str(Bytes::from("hello"))));
        assert_eq!(
            f[0].get("INTERNALDATE").and_then(Value::bytes).unwrap(),
            "01-Jan-2024 10:00:00 +0000"
        );
        assert_eq!(f[1].uid(), Some(9));
        assert!(f[1].flags().is_empty());
        assert_eq!(
            f[2].get("BODY[HEADER.FIELDS (FROM)]<0>"),
            Some(&Value::Str(Bytes::from("ab")))
        );
    }

    #[test]
    fn list_entries_with_quoted_literal_and_nil() {
        let data = vec![
            Data::from("(\\HasNoChildren \\Sent) \".\" Sent"),
            Data::from("(\\Noselect) NIL \"My \\\"Box\\\"\""),
            lit(b"() \"/\" {4}", b"a b)"),
            Data::from(""),
        ];
        let l = list_entries(&data).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].attributes, ["\\HasNoChildren", "\\Sent"]);
        assert_eq!(l[0].delimiter.as_deref(), Some("."));
        assert_eq!(l[0].raw_name, "Sent");
        assert_eq!(l[1].delimiter, None);
        assert_eq!(l[1].raw_name, "My \"Box\"");
        assert_eq!(l[2].raw_name, "a b)");
    }

    #[test]
    fn status_and_search() {
        let s = status_counts(&[Data::from("INBOX (MESSAGES 3 UNSEEN 1)")]).unwrap();
        assert_eq!(s, [("MESSAGES".to_string(), 3), ("UNSEEN".to_string(), 1)]);
        assert_eq!(
            search_numbers(&[Data::from("1 5 7 (MODSEQ 9)")]).unwrap(),
            [1, 5, 7]
        );
        assert!(search_numbers(&[Data::None]).unwrap().is_empty());
        assert!(search_numbers(&[Data::from("1 x")]).is_err());
    }

    #[test]
    fn random_input_never_panics() {
        let alphabet = b"() \"\\{}[]<>~+0123NIL\r\nAB*%";
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5000 {
            let len = (next() % 40) as usize;
            let line: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let items = vec![
                Data::Literal {
                    header: Bytes::from(line.clone()),
                    literal: Bytes::from_static(b"x"),
                },
                Data::Line(Bytes::from(line)),
            ];
            let _ = responses(&items);
            let _ = fetches(&items);
            let _ = list_entries(&items);
            let _ = status_counts(&items);
            let _ = search_numbers(&items);
        }
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in ["1 (UID", "1 (UID 2))", "(\"abc", "1 2 3", "x (UID)"] {
            assert!(fetches(&[Data::from(bad)]).is_err(), "{bad}");
        }
        assert!(fetches(&[lit(b"1 (BODY[] {x}", b"a")]).is_err());
    }
}
