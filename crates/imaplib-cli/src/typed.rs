//! The typed form of a response as JSON (the `typed` field of
//! `imap decode`): the library's typed values
//! ([`imaplib::types::decode_response`]) through their `serde`
//! serialization, which documents the shape.
//!
//! Every object has a `type` naming what it is (`fetch`, `list`,
//! `status`, `esearch`, `tagged`...). Bytes are strings when they are
//! UTF-8 and `{"base64": "..."}` otherwise, as everywhere in the tool;
//! sequence sets are strings (`1:3,7`), dates RFC 3339 strings, response
//! codes `{"name": ..., ...}` with their typed arguments. A response or a
//! FETCH item that does not decode keeps its raw bytes beside an `error`
//! reason. Gmail's 64-bit identifiers are strings, so that JSON readers
//! that hold numbers as doubles keep them exact.

use imaplib::imaplib_proto::Response;
use imaplib::types::{decode_response, Typed};
use serde_json::Value;

use crate::json::bytes;

/// The typed form of `resp`, and the reason when it could not be typed.
pub fn response(resp: &Response) -> (Value, Option<String>) {
    let typed = decode_response(resp);
    let error = match &typed {
        Typed::Undecodable { error, .. } => Some(error.reason.clone()),
        Typed::Unparsed { reason } => Some(reason.to_string()),
        _ => None,
    };
    let mut value = serde_json::to_value(&typed).unwrap_or_else(
        |e| serde_json::json!({"type": "unknown", "debug": format!("{typed:?}: {e}")}),
    );
    // What did not decode keeps its bytes as received.
    if let (Some(_), Value::Object(m)) = (&error, &mut value) {
        m.insert("raw".into(), bytes(resp.frame().raw()));
    }
    (value, error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;
    use imaplib::imaplib_proto::Frame;
    use serde_json::json;

    /// The typed form of one response (`\n` line ends become CRLF).
    fn typed(text: &str) -> Value {
        let input = text.replace('\n', "\r\n");
        let frame = Frame::parse_one(input.as_bytes()).expect("one response");
        response(&Response::parse(frame)).0
    }

    fn typed_bytes(input: &[u8]) -> Value {
        let frame = Frame::parse_one(input).expect("one response");
        response(&Response::parse(frame)).0
    }

    /// The FETCH item named `name`.
    fn fetch_item_of(t: &Value, name: &str) -> Value {
        t["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {t}"))
    }

    #[test]
    fn bodystructure_with_every_extension() {
        let t = typed(
            "* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") \"<id@x>\" \
             \"desc\" \"QUOTED-PRINTABLE\" 10 1 \"md5sum\" (\"INLINE\" NIL) (\"en\" \"de\") \
             \"http://x/loc\")(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 100 (\"Mon, 1 Jan 2024 \
             00:00:00 +0000\" \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" NIL \
             NIL NIL \"7BIT\" 5 1) 4 NIL (\"ATTACHMENT\" (\"FILENAME\" \"m.eml\")) NIL NIL) \
             \"MIXED\" (\"BOUNDARY\" \"b\") (\"INLINE\" NIL) \"fr\" NIL))\n",
        );
        let b = fetch_item_of(&t, "BODYSTRUCTURE")["value"].clone();
        assert_eq!(b["mime_type"], "multipart/mixed");
        assert_eq!(b["params"], json!([["BOUNDARY", "b"]]));
        assert_eq!(b["disposition"], json!({"type": "INLINE", "params": []}));
        assert_eq!(b["language"], json!(["fr"]));
        assert_eq!(b["location"], Value::Null);
        let text = &b["parts"][0];
        assert_eq!(text["id"], "<id@x>");
        assert_eq!(text["description"], "desc");
        assert_eq!(text["encoding"], "QUOTED-PRINTABLE");
        assert_eq!(text["md5"], "md5sum");
        assert_eq!(text["language"], json!(["en", "de"]));
        assert_eq!(text["location"], "http://x/loc");
        let msg = &b["parts"][1];
        assert_eq!(msg["mime_type"], "message/rfc822");
        assert_eq!(msg["lines"], 4);
        assert_eq!(msg["message"]["envelope"]["subject"], "inner");
        assert_eq!(msg["message"]["envelope"]["from"], json!([]));
        assert_eq!(msg["message"]["body"]["mime_type"], "text/plain");
        assert_eq!(msg["message"]["body"]["size"], 5);
        assert_eq!(
            msg["disposition"],
            json!({"type": "ATTACHMENT", "params": [["FILENAME", "m.eml"]]})
        );
    }

    #[test]
    fn every_fetch_item() {
        let t = typed(
            "* 3 FETCH (UID 9 BODY (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1) \
             BODY[1.2.MIME]<5> {3}\nabc BODY[2.HEADER.FIELDS.NOT (X-A X-B)] NIL BODY[] \"\" \
             BODY[1.XYZ] \"q\" BINARY[1.2]<0> ~{2}\nhi BINARY.SIZE[3] 42 RFC822 NIL \
             RFC822.HEADER \"h\" RFC822.TEXT \"t\" MODSEQ (77) EMAILID (M1) THREADID NIL \
             SAVEDATE \"01-Feb-2024 10:00:00 +0000\" PREVIEW \"p\" X-GM-MSGID 1278455344230334865 \
             X-GM-THRID 1 X-GM-LABELS (\\Inbox \"a b\") X-UNKNOWN (1 2) RFC822.SIZE 12)\n",
        );
        assert_eq!(t["type"], "fetch");
        assert_eq!(t["seq"], 3);
        let items = t["items"].as_array().unwrap();
        let expected = [
            json!({"name": "UID", "value": 9}),
            json!({"name": "BODY", "section": {"spec": "1.2.MIME", "part": [1, 2], "text": "MIME"},
                   "origin": 5, "value": "abc"}),
            json!({"name": "BODY", "section": {"spec": "2.HEADER.FIELDS.NOT (X-A X-B)",
                   "part": [2], "text": "HEADER.FIELDS.NOT", "fields": ["X-A", "X-B"]},
                   "origin": null, "value": null}),
            json!({"name": "BODY", "section": {"spec": "", "part": [], "text": null},
                   "origin": null, "value": ""}),
            json!({"name": "BODY", "section": {"spec": "1.XYZ", "part": [1], "text": "XYZ"},
                   "origin": null, "value": "q"}),
            json!({"name": "BINARY", "section": "1.2", "origin": 0, "value": "hi"}),
            json!({"name": "BINARY.SIZE", "section": "3", "value": 42}),
            json!({"name": "RFC822", "value": null}),
            json!({"name": "RFC822.HEADER", "value": "h"}),
            json!({"name": "RFC822.TEXT", "value": "t"}),
            json!({"name": "MODSEQ", "value": 77}),
            json!({"name": "EMAILID", "value": "M1"}),
            json!({"name": "THREADID", "value": null}),
            json!({"name": "SAVEDATE", "value": "2024-02-01T10:00:00+00:00"}),
            json!({"name": "PREVIEW", "value": "p"}),
            json!({"name": "X-GM-MSGID", "value": "1278455344230334865"}),
            json!({"name": "X-GM-THRID", "value": "1"}),
            json!({"name": "X-GM-LABELS", "value": ["\\Inbox", "a b"]}),
            json!({"name": "X-UNKNOWN", "raw": "(1 2)"}),
            json!({"name": "RFC822.SIZE", "value": 12}),
        ];
        assert_eq!(items[0], expected[0]);
        assert_eq!(items[1]["name"], "BODY");
        assert_eq!(items[1]["value"]["mime_type"], "text/plain");
        assert_eq!(items[1]["value"]["md5"], Value::Null);
        for (got, want) in items[2..].iter().zip(&expected[1..]) {
            assert_eq!(got, want);
        }
        assert_eq!(items.len(), expected.len() + 1);
    }

    #[test]
    fn non_utf8_bytes_are_base64() {
        let t = typed_bytes(b"* 1 FETCH (BODY[] {2}\r\n\xff\xfe ENVELOPE (NIL \"caf\xe9\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n");
        assert_eq!(
            fetch_item_of(&t, "BODY")["value"],
            json!({"base64": "//4="})
        );
        assert_eq!(
            fetch_item_of(&t, "ENVELOPE")["value"]["subject"],
            json!({"base64": "Y2Fm6Q=="})
        );
    }

    #[test]
    fn every_kind_of_untagged_data() {
        let cases = [
            (
                "* CAPABILITY IMAP4rev1 IDLE\n",
                json!({"type": "capability", "capabilities": ["IMAP4rev1", "IDLE"]}),
            ),
            (
                "* ENABLED UTF8=ACCEPT\n",
                json!({"type": "enabled", "capabilities": ["UTF8=ACCEPT"]}),
            ),
            (
                "* FLAGS (\\Seen $X)\n",
                json!({"type": "flags", "flags": ["\\Seen", "$X"]}),
            ),
            ("* 4 RECENT\n", json!({"type": "recent", "count": 4})),
            ("* 5 EXPUNGE\n", json!({"type": "expunge", "seq": 5})),
            (
                "* VANISHED (EARLIER) 1:3,7\n",
                json!({"type": "vanished", "earlier": true, "uids": "1:3,7"}),
            ),
            (
                "* LSUB () NIL &AOk-t&AOk-\n",
                json!({"type": "lsub", "attributes": [], "delimiter": null,
                "mailbox": {"raw": "&AOk-t&AOk-", "name": "été"}, "special_use": null, "extended": []}),
            ),
            (
                "* LIST (\\HasChildren) \"/\" Foo (CHILDINFO (SUBSCRIBED) OLDNAME (Bar) X-Y 1)\n",
                json!({"type": "list", "attributes": ["\\HasChildren"], "delimiter": "/",
                "mailbox": {"raw": "Foo", "name": "Foo"}, "special_use": null, "extended": [
                    {"tag": "CHILDINFO", "value": ["SUBSCRIBED"]},
                    {"tag": "OLDNAME", "value": {"raw": "Bar", "name": "Bar"}},
                    {"tag": "X-Y", "raw": "1"}]}),
            ),
            (
                "* SEARCH 2 4 (MODSEQ 9)\n",
                json!({"type": "search", "ids": [2, 4], "modseq": 9}),
            ),
            (
                "* SORT 5 1\n",
                json!({"type": "sort", "ids": [5, 1], "modseq": null}),
            ),
            (
                "* ESEARCH UID PARTIAL (1:5 NIL)\n",
                json!({"type": "esearch", "tag": null, "uid": true,
                "min": null, "max": null, "count": null, "all": null,
                "partial": {"range": "1:5", "set": null}, "modseq": null, "other": []}),
            ),
            (
                "* NAMESPACE ((\"\" \"/\")) NIL ((\"Shared/\" \"/\" \"X\" (\"a\")))\n",
                json!({"type": "namespace",
                "personal": [{"prefix": "", "delimiter": "/", "extensions": []}],
                "other_users": [],
                "shared": [{"prefix": "Shared/", "delimiter": "/", "extensions": ["\"X\"", "(\"a\")"]}]}),
            ),
            (
                "* ID (\"name\" \"Dovecot\" \"x\" NIL)\n",
                json!({"type": "id", "fields": [["name", "Dovecot"], ["x", null]]}),
            ),
            ("* ID NIL\n", json!({"type": "id", "fields": null})),
            (
                "* QUOTA \"\" (STORAGE 10 512)\n",
                json!({"type": "quota", "root": "",
                "resources": [{"name": "STORAGE", "usage": 10, "limit": 512}]}),
            ),
            (
                "* QUOTAROOT INBOX \"\"\n",
                json!({"type": "quotaroot", "mailbox": {"raw": "INBOX", "name": "INBOX"}, "roots": [""]}),
            ),
            (
                "* ACL INBOX alice lrswi\n",
                json!({"type": "acl", "mailbox": {"raw": "INBOX", "name": "INBOX"},
                "entries": [["alice", "lrswi"]]}),
            ),
            (
                "* LISTRIGHTS INBOX bob \"\" l r\n",
                json!({"type": "listrights", "mailbox": {"raw": "INBOX", "name": "INBOX"},
                "identifier": "bob", "required": "", "optional": ["l", "r"]}),
            ),
            (
                "* MYRIGHTS INBOX lr\n",
                json!({"type": "myrights", "mailbox": {"raw": "INBOX", "name": "INBOX"}, "rights": "lr"}),
            ),
            (
                "* METADATA \"\" (/shared/comment \"hi\")\n",
                json!({"type": "metadata", "mailbox": {"raw": "", "name": ""},
                "entries": [["/shared/comment", "hi"]]}),
            ),
            (
                "* ANNOTATION INBOX /comment (value.priv \"c\")\n",
                json!({"type": "annotation",
                "mailbox": {"raw": "INBOX", "name": "INBOX"},
                "entries": [{"entry": "/comment", "attributes": [["value.priv", "c"]]}]}),
            ),
            (
                "* XFOO a b\n",
                json!({"type": "other", "name": "XFOO", "raw": "a b"}),
            ),
            (
                "+ go ahead\n",
                json!({"type": "continuation", "text": "go ahead"}),
            ),
            (
                "* BYE [ALERT] going down\n",
                json!({"type": "condition", "status": "BYE",
                "code": {"name": "ALERT"}, "text": "going down"}),
            ),
            (
                "A1 NO [NONEXISTENT] no such mailbox\n",
                json!({"type": "tagged", "tag": "A1", "status": "NO",
                "code": {"name": "NONEXISTENT", "rfc5530": true}, "text": "no such mailbox"}),
            ),
            (
                "A2 OK [X-WEIRD 1 2] fine\n",
                json!({"type": "tagged", "tag": "A2", "status": "OK",
                "code": {"name": "X-WEIRD", "args": "1 2"}, "text": "fine"}),
            ),
            (
                "* OK [APPENDUID 7 3:4] x\n",
                json!({"type": "condition", "status": "OK",
                "code": {"name": "APPENDUID", "uid_validity": 7, "uids": "3:4"}, "text": "x"}),
            ),
            (
                "* OK [MODIFIED 2,4:*] x\n",
                json!({"type": "condition", "status": "OK",
                "code": {"name": "MODIFIED", "set": "2,4:*"}, "text": "x"}),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(typed(input), want, "{input}");
        }
    }

    #[test]
    fn undecodable_and_unparsed_keep_their_bytes() {
        let input = "* 99999999999 EXISTS\r\n";
        let frame = Frame::parse_one(input.as_bytes()).unwrap();
        let (t, error) = response(&Response::parse(frame));
        assert_eq!(t["type"], "undecodable");
        assert_eq!(t["raw"], input);
        assert!(error.is_some());
        let frame = Frame::parse_one(b"what is this\r\n").unwrap();
        let (t, error) = response(&Response::parse(frame));
        assert_eq!(t["type"], "unparsed");
        assert_eq!(t["raw"], "what is this\r\n");
        assert_eq!(t["error"].as_str(), error.as_deref());
    }

    #[test]
    fn long_thread_chains_stay_flat() {
        let ids: Vec<String> = (1..=10_000).map(|i| i.to_string()).collect();
        let t = typed(&format!("* THREAD ({})((1)(2))\n", ids.join(" ")));
        assert_eq!(
            t["threads"][0]["messages"].as_array().map(Vec::len),
            Some(10_000)
        );
        assert_eq!(t["threads"][0]["replies"], json!([]));
        // A placeholder parent (no message) with two replies.
        assert_eq!(
            t["threads"][1],
            json!({"messages": [], "replies": [
                {"messages": [1], "replies": []}, {"messages": [2], "replies": []}]})
        );
    }

    #[test]
    fn random_responses_never_panic() {
        let alphabet: &[&[u8]] = &[
            b"* ",
            b"1 ",
            b"FETCH ",
            b"(",
            b")",
            b" ",
            b"\"",
            b"NIL",
            b"BODY",
            b"[",
            b"]",
            b"BODYSTRUCTURE",
            b"ENVELOPE",
            b"UID",
            b"{2}\r\nab",
            b"THREAD",
            b"LIST",
            b"STATUS",
            b"ESEARCH",
            b"ALL",
            b"1:*",
            b"OK ",
            b"[UIDVALIDITY ",
            b"\xff",
            b"\\",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let mut line = Vec::new();
            for _ in 0..(next() % 30) {
                line.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
            line.extend_from_slice(b"\r\n");
            if let Ok(frame) = Frame::parse_one(&line) {
                let _ = json::line(&response(&Response::parse(frame)).0);
            }
        }
    }
}
