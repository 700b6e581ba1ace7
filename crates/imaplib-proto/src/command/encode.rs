//! The command encoder: turns arguments into wire bytes, choosing atom,
//! quoted string or literal by content (RFC 3501 §4.1, §4.3, RFC 7888,
//! RFC 3516, RFC 6855).
//!
//! Safety rules, whatever the caller passes:
//! - NUL is never sent: an argument containing it is refused (RFC 3501
//!   §4.3: a literal may not hold NUL either; only a `~{N}` literal8 may).
//! - CR and LF are never sent inline: a value containing them is sent as a
//!   literal, and an argument that must go inline (a pre-quoted string, a
//!   parenthesised list, a raw expression) is refused if it contains them.

use bytes::Bytes;

use crate::error::{ProtoError, ProtoErrorKind};

/// One argument of a command, with the rule that decides how it is sent.
#[derive(Clone, PartialEq, Eq)]
pub enum Arg {
    /// An `astring` (user names, ACL identifiers, annotation entries...):
    /// sent as an atom when it is one, else quoted, else as a literal.
    /// A value the caller already enclosed in double quotes or parentheses
    /// passes through unchanged, as imaplib passes it.
    String(Bytes),
    /// A text value (the strings of SEARCH keys: FROM, SUBJECT, HEADER
    /// values...): always encoded from its content, an atom when it is one,
    /// else a quoted string, else a literal (CR or LF, or 8-bit data
    /// without UTF8=ACCEPT); the empty value is `""`. Unlike
    /// [`Arg::String`], a value that looks quoted or parenthesised is
    /// encoded too (`"x"` is sent as `"\"x\""`). NUL is refused.
    Text(Bytes),
    /// A mailbox name: like [`Arg::String`], and a non-ASCII name is encoded
    /// in modified UTF-7 (RFC 3501 §5.1.3) unless UTF8=ACCEPT is enabled.
    Mailbox(Bytes),
    /// A LIST/LSUB pattern: like [`Arg::Mailbox`], with `%` and `*` allowed
    /// in the atom form.
    Pattern(Bytes),
    /// A secret (LOGIN's password): always quoted or a literal, never an
    /// atom and never passed through; shown as `***` in traces.
    Secret(Bytes),
    /// A secret sent inline exactly as given, never quoted: the SASL-IR
    /// initial response of AUTHENTICATE (RFC 4959: base64, or `=` for an
    /// empty one). Refused unless it is non-empty and every byte is an
    /// ATOM-CHAR; shown as `***` in traces.
    SecretAtom(Bytes),
    /// An expression passed as the caller wrote it (sequence sets, search
    /// criteria, fetch item lists, flag lists, status item lists). CR, LF and
    /// NUL are refused. A single word with 8-bit bytes is sent as a literal;
    /// a multi-word expression with 8-bit bytes is sent inline only under
    /// UTF8=ACCEPT.
    Raw(Bytes),
    /// Always a literal (APPEND's message).
    Literal(Bytes),
    /// RFC 6855 `UTF8 (~{N}...)` append data.
    Utf8Literal(Bytes),
    /// A literal8 `~{N}` (RFC 3516 BINARY): may hold any byte, NUL
    /// included.
    Literal8(Bytes),
    /// Opens a parenthesised list: ` (` with no space before the next
    /// argument.
    ListStart,
    /// Closes a parenthesised list: `)` with no space before it.
    ListEnd,
    /// A literal of this many bytes that the client supplies from a
    /// stream when the chunk comes up ([`Chunk::external`]); used to APPEND
    /// from a `Read` without holding the message in memory.
    ExternalLiteral(u64),
}

impl std::fmt::Debug for Arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::Printable;
        match self {
            Arg::String(b) => write!(f, "String({:?})", Printable(b)),
            Arg::Text(b) => write!(f, "Text({:?})", Printable(b)),
            Arg::Mailbox(b) => write!(f, "Mailbox({:?})", Printable(b)),
            Arg::Pattern(b) => write!(f, "Pattern({:?})", Printable(b)),
            Arg::Secret(_) => f.write_str("Secret(***)"),
            Arg::SecretAtom(_) => f.write_str("SecretAtom(***)"),
            Arg::Raw(b) => write!(f, "Raw({:?})", Printable(b)),
            Arg::Literal(b) => write!(f, "Literal({} bytes)", b.len()),
            Arg::Utf8Literal(b) => write!(f, "Utf8Literal({} bytes)", b.len()),
            Arg::Literal8(b) => write!(f, "Literal8({} bytes)", b.len()),
            Arg::ExternalLiteral(n) => write!(f, "ExternalLiteral({n} bytes)"),
            Arg::ListStart => f.write_str("ListStart"),
            Arg::ListEnd => f.write_str("ListEnd"),
        }
    }
}

/// How literals may be sent, from the server's capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LiteralMode {
    /// Every literal waits for the server's `+` (RFC 3501).
    #[default]
    Synchronizing,
    /// LITERAL+ (RFC 7888): every literal may be non-synchronizing.
    Plus,
    /// LITERAL- (RFC 7888): non-synchronizing up to 4096 bytes.
    Minus,
}

/// Encoder settings taken from the session.
#[derive(Debug, Clone, Copy, Default)]
pub struct EncodeOptions {
    /// Literal announcement style.
    pub literals: LiteralMode,
    /// UTF8=ACCEPT is enabled (RFC 6855): UTF-8 may be sent in quoted
    /// strings and mailbox names are not converted to modified UTF-7.
    pub utf8: bool,
}

/// A piece of an encoded command.
#[derive(Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Bytes to send.
    pub bytes: Bytes,
    /// What a protocol trace shows instead of `bytes` (secrets and literal
    /// contents hidden).
    pub trace: String,
    /// True when the server's `+` must be awaited after sending this chunk.
    pub wait_continuation: bool,
    /// When non-zero, the chunk stands for this many literal bytes that the
    /// client must copy from its own source after `bytes` (which is empty).
    pub external: u64,
}

impl std::fmt::Debug for Chunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Chunk({:?}, wait={})",
            self.trace, self.wait_continuation
        )
    }
}

/// Builds the chunks of one command line: `tag NAME args...CRLF`, split
/// after every synchronizing literal announcement.
#[derive(Debug)]
pub(crate) struct Encoder {
    opts: EncodeOptions,
    chunks: Vec<Chunk>,
    cur: Vec<u8>,
    trace: String,
    /// The previous argument opened a list: no space before the next one.
    glue: bool,
}

impl Encoder {
    pub(crate) fn new(opts: EncodeOptions) -> Self {
        Encoder {
            opts,
            chunks: Vec::new(),
            cur: Vec::with_capacity(64),
            trace: String::new(),
            glue: false,
        }
    }

    /// Appends bytes known to be safe, shown as they are in the trace.
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.cur.extend_from_slice(bytes);
        self.trace.push_str(&String::from_utf8_lossy(bytes));
    }

    fn hidden(&mut self, bytes: &[u8], shown: &str) {
        self.cur.extend_from_slice(bytes);
        self.trace.push_str(shown);
    }

    /// Appends one argument, preceded by a space.
    pub(crate) fn arg(&mut self, arg: &Arg) -> Result<(), ProtoError> {
        match arg {
            Arg::ListEnd => {
                self.glue = false;
                self.raw(b")");
                return Ok(());
            }
            _ if self.glue => self.glue = false,
            _ => self.raw(b" "),
        }
        match arg {
            Arg::ListStart => {
                self.raw(b"(");
                self.glue = true;
                Ok(())
            }
            Arg::ListEnd => Ok(()),
            Arg::String(v) => self.astring(v, false, true),
            Arg::Text(v) => self.astring(v, false, false),
            Arg::Mailbox(v) | Arg::Pattern(v) => {
                let wildcards = matches!(arg, Arg::Pattern(_));
                // A name is encoded in modified UTF-7 unless it already is:
                // non-ASCII names always are, ASCII ones when they are not
                // valid modified UTF-7 as they stand ("Tom & Jerry"), so that
                // names taken from LIST responses pass through unchanged.
                let needs_encoding = !v.is_ascii() || crate::utf7::decode(v).is_err();
                if !self.opts.utf8 && needs_encoding && !is_enclosed(v) {
                    if let Ok(text) = std::str::from_utf8(v) {
                        let encoded = crate::utf7::encode(text);
                        return self.astring(encoded.as_bytes(), wildcards, true);
                    }
                }
                self.astring(v, wildcards, true)
            }
            Arg::Secret(v) => {
                if v.contains(&0) {
                    // The secret itself is not repeated in the error.
                    return Err(ProtoError::msg(
                        ProtoErrorKind::BadArgument,
                        "a password contains a NUL byte, which IMAP cannot carry",
                    ));
                }
                if is_quotable(v, self.opts.utf8) {
                    let mut q = Vec::with_capacity(v.len() + 2);
                    push_quoted(&mut q, v);
                    self.hidden(&q, "\"***\"");
                    Ok(())
                } else {
                    self.literal(v, false, true);
                    Ok(())
                }
            }
            Arg::SecretAtom(v) => {
                if v.is_empty() || !v.iter().all(|&b| is_astring_char(b, false)) {
                    // The secret itself is not repeated in the error.
                    return Err(ProtoError::msg(
                        ProtoErrorKind::BadArgument,
                        "an inline secret (SASL initial response) must be a non-empty atom",
                    ));
                }
                self.hidden(v, "***");
                Ok(())
            }
            Arg::Raw(v) => self.raw_expr(v),
            Arg::Literal(v) => {
                check_no_nul(v, "a literal")?;
                self.literal(v, false, false);
                Ok(())
            }
            Arg::Literal8(v) => {
                self.literal(v, true, false);
                Ok(())
            }
            Arg::Utf8Literal(v) => {
                self.raw(b"UTF8 (");
                self.literal(v, true, false);
                self.raw(b")");
                Ok(())
            }
            Arg::ExternalLiteral(n) => {
                self.announce(*n, false);
                self.flush(false);
                self.chunks.push(Chunk {
                    bytes: Bytes::new(),
                    trace: format!("<{n} literal bytes from a stream>"),
                    wait_continuation: false,
                    external: *n,
                });
                Ok(())
            }
        }
    }

    fn astring(
        &mut self,
        v: &[u8],
        wildcards: bool,
        pass_enclosed: bool,
    ) -> Result<(), ProtoError> {
        check_no_nul(v, "an argument")?;
        if pass_enclosed && is_enclosed(v) {
            check_inline(v)?;
            self.raw(v);
        } else if !v.is_empty() && v.iter().all(|&b| is_astring_char(b, wildcards)) {
            self.raw(v);
        } else if is_quotable(v, self.opts.utf8) {
            let mut q = Vec::with_capacity(v.len() + 2);
            push_quoted(&mut q, v);
            self.raw(&q);
        } else {
            self.literal(v, false, false);
        }
        Ok(())
    }

    fn raw_expr(&mut self, v: &[u8]) -> Result<(), ProtoError> {
        check_no_nul(v, "an argument")?;
        if v.is_ascii() || self.opts.utf8 {
            check_inline(v)?;
            self.raw(v);
            return Ok(());
        }
        // 8-bit data without UTF8=ACCEPT.
        if !v.contains(&b' ') && !is_enclosed(v) {
            self.literal(v, false, false);
            return Ok(());
        }
        Err(ProtoError::new(
            ProtoErrorKind::BadArgument,
            "8-bit data inside a multi-word argument cannot be sent without UTF8=ACCEPT; \
             pass the value as an argument of its own so that it is sent as a literal",
            v,
        ))
    }

    /// Appends a literal announcement; a synchronizing one ends the chunk.
    fn announce(&mut self, len: u64, binary: bool) {
        let nonsync = match self.opts.literals {
            LiteralMode::Synchronizing => false,
            LiteralMode::Plus => true,
            LiteralMode::Minus => len <= 4096,
        };
        let announce = format!(
            "{}{{{}{}}}\r\n",
            if binary { "~" } else { "" },
            len,
            if nonsync { "+" } else { "" }
        );
        self.raw(announce.as_bytes());
        if !nonsync {
            self.flush(true);
        }
    }

    /// Appends a literal announcement and its data.
    fn literal(&mut self, data: &[u8], binary: bool, secret: bool) {
        self.announce(data.len() as u64, binary);
        let shown = if secret {
            "***".to_string()
        } else {
            format!("<{} literal bytes>", data.len())
        };
        self.hidden(data, &shown);
    }

    fn flush(&mut self, wait_continuation: bool) {
        let bytes = Bytes::from(std::mem::take(&mut self.cur));
        let trace = std::mem::take(&mut self.trace);
        self.chunks.push(Chunk {
            bytes,
            trace,
            wait_continuation,
            external: 0,
        });
    }

    /// Ends the command line with CRLF and returns its chunks.
    pub(crate) fn finish(mut self) -> Vec<Chunk> {
        self.cur.extend_from_slice(b"\r\n");
        self.flush(false);
        self.chunks
    }
}

fn check_no_nul(v: &[u8], what: &str) -> Result<(), ProtoError> {
    if v.contains(&0) {
        return Err(ProtoError::new(
            ProtoErrorKind::BadArgument,
            format!("{what} contains a NUL byte, which IMAP cannot carry"),
            v,
        ));
    }
    Ok(())
}

/// Refuses CR, LF and NUL in a value that must be sent inline, and a value
/// that ends like a literal announcement (`{5}`, `{5+}`, `~{5}`): at the end
/// of the line the server would take the next command as literal data.
pub(crate) fn check_inline(v: &[u8]) -> Result<(), ProtoError> {
    if crate::response::framer::literal_announcement(v)
        != crate::response::framer::Announcement::None
    {
        return Err(ProtoError::new(
            ProtoErrorKind::BadArgument,
            "argument ends like a literal announcement",
            v,
        ));
    }
    if let Some(&b) = v.iter().find(|&&b| b == b'\r' || b == b'\n' || b == 0) {
        let name = match b {
            b'\r' => "CR",
            b'\n' => "LF",
            _ => "NUL",
        };
        return Err(ProtoError::new(
            ProtoErrorKind::BadArgument,
            format!("argument contains {name}, which cannot be sent inline"),
            v,
        ));
    }
    Ok(())
}

/// True for a value the caller already wrapped in `"..."` or `(...)`.
pub(crate) fn is_enclosed(v: &[u8]) -> bool {
    v.len() >= 2 && matches!((v[0], v[v.len() - 1]), (b'"', b'"') | (b'(', b')'))
}

/// RFC 3501 ASTRING-CHAR (ATOM-CHAR or `]`); with `wildcards`, also the
/// list-wildcards `%` and `*`.
fn is_astring_char(b: u8, wildcards: bool) -> bool {
    match b {
        b'(' | b')' | b'{' | b' ' | b'"' | b'\\' => false,
        b'%' | b'*' => wildcards,
        0x21..=0x7e => true,
        _ => false,
    }
}

/// True when `v` can be a quoted string: no CR, LF or NUL, and 7-bit unless
/// UTF-8 is allowed.
fn is_quotable(v: &[u8], utf8: bool) -> bool {
    v.iter()
        .all(|&b| b != b'\r' && b != b'\n' && b != 0 && (b < 0x80 || utf8))
}

fn push_quoted(out: &mut Vec<u8>, v: &[u8]) {
    out.push(b'"');
    for &b in v {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(args: &[Arg], opts: EncodeOptions) -> Result<Vec<Chunk>, ProtoError> {
        let mut e = Encoder::new(opts);
        e.raw(b"A1 CMD");
        for a in args {
            e.arg(a)?;
        }
        Ok(e.finish())
    }

    fn wire(args: &[Arg], opts: EncodeOptions) -> Vec<u8> {
        enc(args, opts)
            .unwrap()
            .iter()
            .flat_map(|c| c.bytes.to_vec())
            .collect()
    }

    fn s(v: &str) -> Bytes {
        Bytes::copy_from_slice(v.as_bytes())
    }

    #[test]
    fn atoms_quoted_and_literals() {
        let o = EncodeOptions::default();
        assert_eq!(wire(&[Arg::String(s("INBOX"))], o), b"A1 CMD INBOX\r\n");
        assert_eq!(wire(&[Arg::String(s(""))], o), b"A1 CMD \"\"\r\n");
        assert_eq!(
            wire(&[Arg::Mailbox(s("My Box"))], o),
            b"A1 CMD \"My Box\"\r\n"
        );
        assert_eq!(
            wire(&[Arg::String(s("a\"b\\c"))], o),
            b"A1 CMD \"a\\\"b\\\\c\"\r\n"
        );
        assert_eq!(
            wire(&[Arg::Mailbox(s("[Gmail]/All"))], o),
            b"A1 CMD [Gmail]/All\r\n"
        );
        assert_eq!(wire(&[Arg::Mailbox(s("a]b"))], o), b"A1 CMD a]b\r\n");
        assert_eq!(wire(&[Arg::Pattern(s("*"))], o), b"A1 CMD *\r\n");
        assert_eq!(wire(&[Arg::Mailbox(s("a*"))], o), b"A1 CMD \"a*\"\r\n");
        // Pre-quoted and parenthesised values pass through.
        assert_eq!(wire(&[Arg::Mailbox(s("\"\""))], o), b"A1 CMD \"\"\r\n");
        assert_eq!(
            wire(&[Arg::Mailbox(s("\"[Gmail]/Sent Mail\""))], o),
            b"A1 CMD \"[Gmail]/Sent Mail\"\r\n"
        );
        // CR/LF inside a value: a literal, waiting for '+'.
        let chunks = enc(&[Arg::String(s("a\r\nb"))], o).unwrap();
        assert_eq!(chunks.len(), 2);
        assert_eq!(&chunks[0].bytes[..], b"A1 CMD {4}\r\n");
        assert!(chunks[0].wait_continuation);
        assert_eq!(&chunks[1].bytes[..], b"a\r\nb\r\n");
        assert!(!chunks[1].wait_continuation);
    }

    #[test]
    fn text_is_always_encoded_from_its_content() {
        let o = EncodeOptions::default();
        assert_eq!(wire(&[Arg::Text(s("bob"))], o), b"A1 CMD bob\r\n");
        assert_eq!(wire(&[Arg::Text(s(""))], o), b"A1 CMD \"\"\r\n");
        // Unlike Arg::String, enclosed values are not passed through.
        assert_eq!(
            wire(&[Arg::Text(s("\"x\""))], o),
            b"A1 CMD \"\\\"x\\\"\"\r\n"
        );
        assert_eq!(wire(&[Arg::String(s("\"x\""))], o), b"A1 CMD \"x\"\r\n");
        assert_eq!(wire(&[Arg::Text(s("(a b)"))], o), b"A1 CMD \"(a b)\"\r\n");
        assert_eq!(wire(&[Arg::Text(s("a*"))], o), b"A1 CMD \"a*\"\r\n");
        assert_eq!(
            wire(&[Arg::Text(s("a\r\nb"))], o),
            b"A1 CMD {4}\r\na\r\nb\r\n"
        );
        assert_eq!(wire(&[Arg::Text(s("é"))], o), b"A1 CMD {2}\r\n\xc3\xa9\r\n");
        let utf8 = EncodeOptions { utf8: true, ..o };
        assert_eq!(
            wire(&[Arg::Text(s("é"))], utf8),
            "A1 CMD \"é\"\r\n".as_bytes()
        );
        assert_eq!(
            enc(&[Arg::Text(s("a\0"))], o).unwrap_err().kind(),
            ProtoErrorKind::BadArgument
        );
        assert_eq!(format!("{:?}", Arg::Text(s("x"))), "Text(b\"x\")");
    }

    #[test]
    fn eight_bit_values() {
        let o = EncodeOptions::default();
        // A non-ASCII mailbox name becomes modified UTF-7.
        assert_eq!(
            wire(&[Arg::Mailbox(s("Entwürfe"))], o),
            b"A1 CMD Entw&APw-rfe\r\n"
        );
        // Already encoded names pass through; a bare '&' is encoded.
        assert_eq!(
            wire(&[Arg::Mailbox(s("Entw&APw-rfe"))], o),
            b"A1 CMD Entw&APw-rfe\r\n"
        );
        assert_eq!(
            wire(&[Arg::Mailbox(s("Tom & Jerry"))], o),
            b"A1 CMD \"Tom &- Jerry\"\r\n"
        );
        // A non-ASCII string value becomes a literal.
        assert_eq!(
            wire(&[Arg::String(s("é"))], o),
            b"A1 CMD {2}\r\n\xc3\xa9\r\n"
        );
        let utf8 = EncodeOptions { utf8: true, ..o };
        assert_eq!(
            wire(&[Arg::Mailbox(s("Entwürfe"))], utf8),
            "A1 CMD \"Entwürfe\"\r\n".as_bytes()
        );
        // Raw single word: literal; multi-word: refused unless UTF-8.
        assert_eq!(
            wire(&[Arg::Raw(s("héllo"))], o),
            "A1 CMD {6}\r\nhéllo\r\n".as_bytes()
        );
        assert_eq!(
            enc(&[Arg::Raw(s("SUBJECT héllo"))], o).unwrap_err().kind(),
            ProtoErrorKind::BadArgument
        );
        assert_eq!(
            wire(&[Arg::Raw(s("SUBJECT héllo"))], utf8),
            "A1 CMD SUBJECT héllo\r\n".as_bytes()
        );
    }

    #[test]
    fn injection_refused() {
        let o = EncodeOptions::default();
        for arg in [
            Arg::Raw(s("1:* (FLAGS)\r\nA2 DELETE INBOX")),
            Arg::Raw(s("ALL\n")),
            Arg::Mailbox(s("\"x\r\nA2 LOGOUT\"")),
            Arg::String(s("(a\rb)")),
            Arg::String(s("a\0b")),
            Arg::Secret(s("pw\0")),
            Arg::Literal(s("x\0y")),
            Arg::Raw(s("a\0")),
        ] {
            let err = enc(std::slice::from_ref(&arg), o).unwrap_err();
            assert_eq!(err.kind(), ProtoErrorKind::BadArgument, "{arg:?}");
        }
    }

    #[test]
    fn secret_atoms_are_inline_and_hidden() {
        let o = EncodeOptions::default();
        let chunks = enc(&[Arg::SecretAtom(s("AHVzZXIAcGFzcw=="))], o).unwrap();
        assert_eq!(&chunks[0].bytes[..], b"A1 CMD AHVzZXIAcGFzcw==\r\n");
        assert_eq!(chunks[0].trace, "A1 CMD ***");
        assert_eq!(format!("{:?}", Arg::SecretAtom(s("x"))), "SecretAtom(***)");
        for bad in ["", "a b", "\"x\"", "a\r\n", "(x)", "caf\u{e9}"] {
            let err = enc(&[Arg::SecretAtom(s(bad))], o).unwrap_err();
            assert_eq!(err.kind(), ProtoErrorKind::BadArgument);
            assert!(bad.is_empty() || !err.message().contains(bad));
        }
    }

    #[test]
    fn secrets_are_quoted_and_hidden() {
        let o = EncodeOptions::default();
        let chunks = enc(&[Arg::String(s("user")), Arg::Secret(s("pass"))], o).unwrap();
        assert_eq!(&chunks[0].bytes[..], b"A1 CMD user \"pass\"\r\n");
        assert_eq!(chunks[0].trace, "A1 CMD user \"***\"");
        // A password that looks pre-quoted is still quoted.
        assert_eq!(
            wire(&[Arg::Secret(s("\"pw\""))], o),
            b"A1 CMD \"\\\"pw\\\"\"\r\n"
        );
        // With CR/LF or 8-bit: a literal, hidden from the trace.
        let chunks = enc(&[Arg::Secret(s("pässword"))], o).unwrap();
        assert_eq!(&chunks[0].bytes[..], b"A1 CMD {9}\r\n");
        assert_eq!(chunks[1].trace, "***");
        assert!(!chunks.iter().any(|c| c.trace.contains("ssword")));
    }

    #[test]
    fn literal_modes() {
        let data = Arg::Literal(s("hello"));
        let plus = EncodeOptions {
            literals: LiteralMode::Plus,
            utf8: false,
        };
        let chunks = enc(std::slice::from_ref(&data), plus).unwrap();
        assert_eq!(chunks.len(), 1);
        assert_eq!(&chunks[0].bytes[..], b"A1 CMD {5+}\r\nhello\r\n");
        let minus = EncodeOptions {
            literals: LiteralMode::Minus,
            utf8: false,
        };
        assert_eq!(enc(&[data], minus).unwrap().len(), 1);
        let big = Arg::Literal(Bytes::from(vec![b'x'; 4097]));
        let chunks = enc(&[big], minus).unwrap();
        assert_eq!(chunks.len(), 2);
        assert_eq!(&chunks[0].bytes[..], b"A1 CMD {4097}\r\n");
        let chunks = enc(&[Arg::Utf8Literal(s("msg"))], EncodeOptions::default()).unwrap();
        assert_eq!(&chunks[0].bytes[..], b"A1 CMD UTF8 (~{3}\r\n");
        assert_eq!(&chunks[1].bytes[..], b"msg)\r\n");
    }
}
