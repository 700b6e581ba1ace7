//! The JSON shapes printed by `imap shell --json` and `imap decode`.
//!
//! Bytes become a JSON string when they are valid UTF-8 and
//! `{"base64": "..."}` otherwise, so that nothing is lost; imaplib's data
//! items keep their shape: `None` is `null`, a `(header, literal)` pair is a
//! two-element array, a nested list (GETQUOTAROOT) is an array.

use base64::Engine as _;
use imaplib::{Data, ErrorKind};
use serde_json::{json, Map, Value};

/// Bytes as a JSON string (valid UTF-8) or `{"base64": "..."}`.
pub fn bytes(b: &[u8]) -> Value {
    match std::str::from_utf8(b) {
        Ok(s) => Value::String(s.to_string()),
        Err(_) => json!({ "base64": base64::engine::general_purpose::STANDARD.encode(b) }),
    }
}

/// One imaplib data item.
pub fn item(d: &Data) -> Value {
    match d {
        Data::None => Value::Null,
        Data::Line(b) => bytes(b),
        Data::Literal { header, literal } => Value::Array(vec![bytes(header), bytes(literal)]),
        Data::List(items) => Value::Array(items.iter().map(item).collect()),
    }
}

/// imaplib data items as a JSON array.
pub fn items(data: &[Data]) -> Value {
    Value::Array(data.iter().map(item).collect())
}

/// `{"typ": TYP, "data": [ITEM, ...]}`.
pub fn reply(typ: &str, data: &[Data]) -> Value {
    let mut m = Map::new();
    m.insert("typ".into(), Value::String(typ.to_string()));
    m.insert("data".into(), items(data));
    Value::Object(m)
}

/// imaplib's name of an error kind.
pub fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Error => "error",
        ErrorKind::Abort => "abort",
        ErrorKind::Readonly => "readonly",
    }
}

/// `{"error": {"kind": KIND, "message": MESSAGE}}`.
pub fn error(kind: &str, message: &str) -> Value {
    let mut inner = Map::new();
    inner.insert("kind".into(), Value::String(kind.to_string()));
    inner.insert("message".into(), Value::String(message.to_string()));
    let mut m = Map::new();
    m.insert("error".into(), Value::Object(inner));
    Value::Object(m)
}

/// `{"result": VALUE}`, for calls that return something other than
/// `(typ, data)` (attributes, `read`, `readline`...).
pub fn result(value: Value) -> Value {
    let mut m = Map::new();
    m.insert("result".into(), value);
    Value::Object(m)
}

/// A value as one line of compact JSON. Beyond what JSON requires (C0
/// controls escaped), DEL and the C1 controls are written as `\u` escapes
/// too, so that the line is safe on a terminal; the value is the same.
pub fn line(value: &Value) -> String {
    // Serialising a `Value` cannot fail (its map keys are strings).
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
    if !text.chars().any(|c| ('\u{7f}'..='\u{9f}').contains(&c)) {
        return text;
    }
    // Outside strings JSON has no such characters: every one is inside a
    // string, where `\u` stands for it.
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if ('\u{7f}'..='\u{9f}').contains(&c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn json_lines_are_terminal_safe() {
        let v = Value::String("a\u{1b}[2J\u{7f}\u{9b}b".into());
        let text = line(&v);
        assert_eq!(text, "\"a\\u001b[2J\\u007f\\u009bb\"");
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn items_keep_imaplib_shapes() {
        let data = vec![
            Data::None,
            Data::from("1 (FLAGS (\\Seen))"),
            Data::Literal {
                header: Bytes::from_static(b"2 (BODY[] {3}"),
                literal: Bytes::from_static(b"a\xffb"),
            },
            Data::List(vec![Data::from("x"), Data::None]),
        ];
        assert_eq!(
            line(&reply("OK", &data)),
            r#"{"typ":"OK","data":[null,"1 (FLAGS (\\Seen))",["2 (BODY[] {3}",{"base64":"Yf9i"}],["x",null]]}"#
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            line(&error("abort", "socket error: EOF")),
            r#"{"error":{"kind":"abort","message":"socket error: EOF"}}"#
        );
        assert_eq!(line(&result(Value::Null)), r#"{"result":null}"#);
    }
}
