//! Text for people: what a server sent, made safe to show on a terminal.
//!
//! A mailbox name, a flag or an error text can hold any character a server
//! chose, and a CR, an ESC or a C1 control written raw would let the server
//! rewrite the screen (fake a completion, move the cursor, set the window
//! title). Every human-readable output goes through [`safe`]; JSON output
//! does not need it (JSON escapes control characters itself).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

/// True for the characters never written raw: C0 controls except TAB, DEL,
/// and the C1 controls (U+0080 to U+009F).
pub fn is_unsafe(c: char) -> bool {
    c != '\t' && c.is_control()
}

/// `text` with every unsafe character shown escaped: `\r`, `\n`, `\0`, and
/// the others as `\x1b` (C0 and DEL) or `\u{9b}` (C1). Borrowed when there
/// is nothing to escape.
pub fn safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\0' => out.push_str("\\0"),
            c if is_unsafe(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` padded with spaces to `width` characters, for a column; longer
/// text is left as it is (no width limit applies, whatever its length).
pub fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    let mut out = String::with_capacity(text.len() + width.saturating_sub(len));
    out.push_str(text);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(len)));
    out
}

/// Standard error for the log (`-v`): each record written through
/// [`safe`], its final line break kept.
pub struct SafeStderr;

impl Write for SafeStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (body, end) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (&*text, ""),
        };
        let mut err = io::stderr().lock();
        err.write_all(safe(body).as_bytes())?;
        err.write_all(end.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped() {
        assert_eq!(safe("INBOX"), "INBOX");
        assert!(matches!(safe("Entwürfe\tx"), Cow::Borrowed(_)));
        assert_eq!(
            safe("evil\r\nA1 OK fake\u{1b}[2J\u{7f}\u{9b}31m\0"),
            "evil\\r\\nA1 OK fake\\x1b[2J\\x7f\\u{9b}31m\\0"
        );
    }

    #[test]
    fn padding_has_no_width_limit() {
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad("abcdef", 4), "abcdef");
        let long = "x".repeat(70_000);
        assert_eq!(pad(&long, 70_001).len(), 70_001);
    }
}
