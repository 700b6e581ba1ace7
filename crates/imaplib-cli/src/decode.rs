//! `imap decode`: server-to-client bytes in, one JSON object per response
//! out (NDJSON).

use std::io::{Read, Write};

use clap::ValueEnum;
use imaplib::imaplib_proto::{Framer, Kind, Limits, Response, Status};
use serde_json::{Map, Value};

use crate::exit::{CliError, CliResult, Exit};
use crate::json;
use crate::typed;

/// Whether the first response is the server's greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Greeting {
    /// The first response is the greeting if it is an untagged PREAUTH, or
    /// an untagged OK or BYE whose response code (if any) is CAPABILITY or
    /// ALERT.
    Auto,
    /// The first response is the greeting.
    Yes,
    /// There is no greeting (a reply to a command).
    No,
}

/// What a response is, for the `kind` field.
fn kind_name(resp: &Response, greeting: bool) -> &'static str {
    match resp.kind() {
        _ if greeting => "greeting",
        Kind::Continuation => "continuation",
        Kind::Tagged { .. } => "tagged",
        Kind::Untagged { .. } => "untagged",
        Kind::Unparsed { .. } => "unparsed",
    }
}

/// True when `resp`, the first response of a stream, looks like a greeting.
fn looks_like_greeting(resp: &Response) -> bool {
    match resp.kind() {
        Kind::Untagged {
            status: Some(Status::PreAuth),
            ..
        } => true,
        Kind::Untagged {
            status: Some(Status::Ok | Status::Bye),
            ..
        } => resp
            .code()
            .is_none_or(|c| c.name == "CAPABILITY" || c.name == "ALERT"),
        _ => false,
    }
}

/// The JSON object describing one response. Every field the decoder knows
/// is built here, so that typed data can be added in this one place.
///
/// Fields: `kind` (`greeting`, `untagged`, `tagged`, `continuation`, or
/// `unparsed`), `tag`, `name` and `number` (untagged), `status`, `code`
/// (`{"name", "args"}` with the arguments raw), `text` (after the code),
/// `data` (imaplib's data items for the response), `raw` (every byte as
/// received), `typed` (the library's typed decoding, see [`typed`]), and
/// `error` for a response that could not be parsed or typed.
pub fn response_json(resp: &Response, greeting: bool) -> Value {
    let mut m = Map::new();
    m.insert(
        "kind".into(),
        Value::String(kind_name(resp, greeting).into()),
    );
    m.insert(
        "tag".into(),
        resp.tag().map_or(Value::Null, |t| json::bytes(t)),
    );
    let (name, number) = match resp.kind() {
        Kind::Untagged { name, number, .. } => (
            Value::String(name.clone()),
            number.as_ref().map_or(Value::Null, |n| json::bytes(n)),
        ),
        _ => (Value::Null, Value::Null),
    };
    m.insert("name".into(), name);
    m.insert("number".into(), number);
    m.insert(
        "status".into(),
        resp.status()
            .map_or(Value::Null, |s| Value::String(s.as_str().into())),
    );
    let code = resp.code().map_or(Value::Null, |c| {
        let mut code = Map::new();
        code.insert("name".into(), Value::String(c.name.clone()));
        code.insert("args".into(), json::bytes(&c.args));
        Value::Object(code)
    });
    m.insert("code".into(), code);
    let text = match resp.kind() {
        Kind::Unparsed { .. } => Value::Null,
        _ => json::bytes(&resp.text_after_code()),
    };
    m.insert("text".into(), text);
    let data = match resp.kind() {
        Kind::Unparsed { .. } => Value::Null,
        _ => json::items(&resp.imaplib_items()),
    };
    m.insert("data".into(), data);
    m.insert("raw".into(), json::bytes(resp.frame().raw()));
    let (typed, typed_error) = typed::response(resp);
    m.insert("typed".into(), typed);
    if let Some(reason) = resp.diagnostic().map(str::to_string).or(typed_error) {
        m.insert("error".into(), Value::String(reason));
    }
    Value::Object(m)
}

/// Decodes everything `input` holds, printing one line per response to
/// `out`. Fails (exit status 6) when the bytes cannot be framed or end in
/// the middle of a response.
pub fn run(input: &mut dyn Read, out: &mut dyn Write, greeting: Greeting) -> CliResult<()> {
    let mut framer = Framer::new(Limits::default());
    let mut buf = vec![0u8; 64 * 1024];
    let mut fed: u64 = 0;
    let mut first = true;
    let write_err = crate::exit::output_error;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CliError::local(format!("cannot read the input: {e}"))),
        };
        framer.feed(&buf[..n]);
        fed += n as u64;
        loop {
            let frame = match framer.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    let at = fed - framer.buffered() as u64;
                    return Err(CliError::new(
                        Exit::Abort,
                        format!("cannot frame the input at byte {at}: {e}"),
                    ));
                }
            };
            if frame.line_count() == 1 && frame.first_line().iter().all(|&b| b == b' ') {
                // An empty line carries nothing (servers send some).
                continue;
            }
            let resp = Response::parse(frame);
            let is_greeting = first
                && match greeting {
                    Greeting::Yes => true,
                    Greeting::No => false,
                    Greeting::Auto => looks_like_greeting(&resp),
                };
            first = false;
            writeln!(out, "{}", json::line(&response_json(&resp, is_greeting)))
                .map_err(write_err)?;
        }
    }
    out.flush().map_err(write_err)?;
    let left = framer.buffered();
    if left > 0 || framer.in_progress() {
        return Err(CliError::new(
            Exit::Abort,
            format!("the input ends in the middle of a response ({left} bytes left over)"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(input: &[u8], greeting: Greeting) -> (CliResult<()>, Vec<Value>) {
        let mut out = Vec::new();
        let r = run(&mut &input[..], &mut out, greeting);
        let values = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (r, values)
    }

    #[test]
    fn each_kind() {
        let input = b"* OK [CAPABILITY IMAP4rev1] ready\r\n\
            * 3 EXISTS\r\n\
            * 1 FETCH (BODY[] {5}\r\nhello)\r\n\
            + go on\r\n\
            A1 OK [READ-WRITE] done\r\n";
        let (r, v) = decode(input, Greeting::Auto);
        r.unwrap();
        assert_eq!(v.len(), 5);
        assert_eq!(v[0]["kind"], "greeting");
        assert_eq!(v[0]["status"], "OK");
        assert_eq!(v[0]["code"]["name"], "CAPABILITY");
        assert_eq!(v[0]["code"]["args"], "IMAP4rev1");
        assert_eq!(v[0]["text"], "ready");
        assert_eq!(v[1]["kind"], "untagged");
        assert_eq!(v[1]["name"], "EXISTS");
        assert_eq!(v[1]["number"], "3");
        assert_eq!(v[1]["data"], serde_json::json!(["3"]));
        assert_eq!(
            v[2]["data"],
            serde_json::json!([["1 (BODY[] {5}", "hello"], ")"])
        );
        assert_eq!(v[2]["raw"], "* 1 FETCH (BODY[] {5}\r\nhello)\r\n");
        assert_eq!(v[3]["kind"], "continuation");
        assert_eq!(v[4]["kind"], "tagged");
        assert_eq!(v[4]["tag"], "A1");
        assert!(v[4].get("error").is_none());
    }

    #[test]
    fn greeting_detection() {
        let (_, v) = decode(b"* OK [UIDVALIDITY 3] x\r\n", Greeting::Auto);
        assert_eq!(v[0]["kind"], "untagged");
        let (_, v) = decode(b"* OK [UIDVALIDITY 3] x\r\n", Greeting::Yes);
        assert_eq!(v[0]["kind"], "greeting");
        let (_, v) = decode(b"* PREAUTH hi\r\n", Greeting::No);
        assert_eq!(v[0]["kind"], "untagged");
    }

    #[test]
    fn unparsed_lines_print_and_decoding_goes_on() {
        let (r, v) = decode(b"garbage here\r\n* 1 EXISTS\r\n", Greeting::Auto);
        r.unwrap();
        assert_eq!(v[0]["kind"], "unparsed");
        assert!(v[0]["error"].is_string());
        assert_eq!(v[0]["raw"], "garbage here\r\n");
        assert_eq!(v[1]["name"], "EXISTS");
    }

    #[test]
    fn bad_streams_fail() {
        let (r, v) = decode(b"* 1 EXISTS\r\n* 1 FETCH (BODY[] {10}\r\nabc", Greeting::No);
        assert_eq!(r.unwrap_err().exit, Exit::Abort);
        assert_eq!(v.len(), 1);
        let (r, _) = decode(b"* 1 FETCH (BODY[] {-1}\r\n", Greeting::No);
        let e = r.unwrap_err();
        assert_eq!(e.exit, Exit::Abort);
        assert!(e.message.contains("byte 0"), "{}", e.message);
    }

    #[test]
    fn non_utf8_bytes_are_base64() {
        let (_, v) = decode(b"* OK caf\xe9\r\n", Greeting::No);
        assert_eq!(v[0]["raw"]["base64"], "KiBPSyBjYWbpDQo=");
    }
}
