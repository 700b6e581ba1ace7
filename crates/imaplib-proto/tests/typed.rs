//! Typed decoding, item by item, with real server bytes (RFC examples,
//! Dovecot, Gmail, Cyrus, Exchange-style defects).

use bytes::Bytes;
use imaplib_proto::types::*;
use imaplib_proto::{Frame, Response, Status};

fn typed(input: &str) -> Typed {
    let frame = Frame::parse_one(input.as_bytes()).expect("one complete response");
    decode_response(&Response::parse(frame))
}

fn untagged(input: &str) -> Untagged {
    match typed(input) {
        Typed::Untagged(u) => u,
        other => panic!("not decoded: {other:?}"),
    }
}

fn fetch(input: &str) -> Fetch {
    match untagged(input) {
        Untagged::Fetch(f) => f,
        other => panic!("not a FETCH: {other:?}"),
    }
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn ob(s: &str) -> Option<Bytes> {
    Some(b(s))
}

#[test]
fn rfc3501_fetch_example() {
    // RFC 3501 §8 sample session.
    let f = fetch(
        "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" \
         RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \
         \"IMAP4rev1 WG mtg summary and minutes\" \
         ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
         ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
         ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
         ((NIL NIL \"imap\" \"cac.washington.edu\")) \
         ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")\
         (\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \
         \"<B27397-0100000@cac.washington.edu>\") \
         BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n",
    );
    assert_eq!(f.seq(), 12);
    assert_eq!(f.flags().unwrap().to_vec(), ["\\Seen"]);
    assert_eq!(
        f.internal_date().unwrap().to_rfc3339(),
        "1996-07-17T02:44:25-07:00"
    );
    assert!(f.to_items().contains(&FetchItem::Rfc822Size(4286)));
    let env = f.to_envelope().unwrap();
    assert_eq!(env.subject, ob("IMAP4rev1 WG mtg summary and minutes"));
    assert_eq!(env.from[0].email().unwrap(), "gray@cac.washington.edu");
    assert_eq!(env.from[0].name, ob("Terry Gray"));
    assert_eq!(env.cc.len(), 2);
    assert_eq!(env.cc[1].name, ob("John Klensin"));
    assert!(env.bcc.is_empty());
    assert_eq!(env.in_reply_to, None);
    assert_eq!(env.message_id, ob("<B27397-0100000@cac.washington.edu>"));
    let BodyStructure::Single(part) = f.to_body_structure().unwrap() else {
        panic!()
    };
    assert_eq!(part.media_type, b("TEXT"));
    assert_eq!(part.params, vec![(b("CHARSET"), b("US-ASCII"))]);
    assert_eq!((part.size, part.lines), (3028, Some(92)));
    assert!(matches!(f.to_items().last(), Some(FetchItem::Body(_))));
}

#[test]
fn envelope_groups_and_nil_fields() {
    let f = fetch(
        "* 1 FETCH (ENVELOPE (NIL NIL ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) \
         NIL NIL ((\"A\" NIL \"a\" \"x.org\")(NIL NIL \"team\" NIL)(NIL NIL \"b\" \"y.org\")(NIL NIL NIL NIL)) NIL NIL NIL NIL))\r\n",
    );
    let env = f.to_envelope().unwrap();
    assert_eq!(env.date, None);
    assert!(env.from[0].is_group_start());
    assert!(env.from[1].is_group_end());
    assert_eq!(env.to.len(), 4);
    assert!(env.to[1].is_group_start());
    assert_eq!(env.to[2].email().unwrap(), "b@y.org");
}

#[test]
fn bodystructure_multipart_with_extensions_and_message() {
    let f = fetch(
        "* 3 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 120 4 NIL NIL NIL NIL)\
         (\"application\" \"pdf\" (\"name\" \"a.pdf\") \"<id1>\" \"A file\" \"base64\" 4096 \"md5sum\" (\"attachment\" (\"filename\" \"a.pdf\")) (\"en\" \"de\") \"http://x/a.pdf\")\
         (\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 500 (NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" NIL NIL NIL \"7bit\" 10 1) 20 NIL NIL NIL NIL)\
         \"mixed\" (\"boundary\" \"XYZ\") (\"inline\" NIL) \"fr\" NIL))\r\n",
    );
    let BodyStructure::Multipart(m) = f.to_body_structure().unwrap() else {
        panic!()
    };
    assert_eq!(m.parts.len(), 3);
    assert_eq!(m.media_subtype, b("mixed"));
    assert_eq!(m.params, vec![(b("boundary"), b("XYZ"))]);
    assert_eq!(m.ext.disposition, Some((b("inline"), vec![])));
    assert_eq!(m.ext.language, vec![b("fr")]);
    let BodyStructure::Single(pdf) = &m.parts[1] else {
        panic!()
    };
    assert_eq!(pdf.id, ob("<id1>"));
    assert_eq!(pdf.description, ob("A file"));
    assert_eq!(pdf.md5, ob("md5sum"));
    assert_eq!(
        pdf.ext.disposition,
        Some((b("attachment"), vec![(b("filename"), b("a.pdf"))]))
    );
    assert_eq!(pdf.ext.language, vec![b("en"), b("de")]);
    assert_eq!(pdf.ext.location, ob("http://x/a.pdf"));
    let BodyStructure::Single(msg) = &m.parts[2] else {
        panic!()
    };
    let (env, inner) = msg.message.as_ref().unwrap();
    assert_eq!(env.subject, ob("inner"));
    assert_eq!(inner.mime_type(), "text/plain");
    assert_eq!(msg.lines, Some(20));
    let paths: Vec<_> = f
        .to_body_structure()
        .unwrap()
        .walk()
        .into_iter()
        .map(|(p, b)| (p, b.mime_type()))
        .collect();
    assert_eq!(
        paths,
        [
            (vec![], "multipart/mixed".to_string()),
            (vec![1], "text/plain".to_string()),
            (vec![2], "application/pdf".to_string()),
            (vec![3], "message/rfc822".to_string()),
            (vec![3], "text/plain".to_string()),
        ]
    );
}

#[test]
fn sections_binary_and_partial() {
    let f = fetch(
        "* 2 FETCH (BODY[1.2.HEADER.FIELDS (FROM \"SUBJECT\")]<0> {5}\r\nab\r\nc BODY[TEXT] NIL \
         BINARY[1] ~{3}\r\na\0b BINARY.SIZE[2] 77 BODY[] \"x\" BODY[3.MIME] \"\" RFC822.HEADER {2}\r\nhh)\r\n",
    );
    assert_eq!(
        f.to_items()[0],
        FetchItem::BodySection {
            section: Section {
                part: vec![1, 2],
                text: Some(SectionText::HeaderFields(vec![b("FROM"), b("SUBJECT")]))
            },
            origin: Some(0),
            data: ob("ab\r\nc")
        }
    );
    assert_eq!(
        f.to_items()[1],
        FetchItem::BodySection {
            section: Section {
                part: vec![],
                text: Some(SectionText::Text)
            },
            origin: None,
            data: None
        }
    );
    assert_eq!(
        f.to_items()[2],
        FetchItem::BinarySection {
            section: vec![1],
            origin: None,
            data: Some(Bytes::from_static(b"a\0b"))
        }
    );
    assert_eq!(
        f.to_items()[3],
        FetchItem::BinarySize {
            section: vec![2],
            size: 77
        }
    );
    assert!(
        matches!(&f.to_items()[4], FetchItem::BodySection { section, .. } if section == &Section::default())
    );
    assert!(
        matches!(&f.to_items()[5], FetchItem::BodySection { section, .. } if section.text == Some(SectionText::Mime) && section.part == [3])
    );
    assert_eq!(f.to_items()[6], FetchItem::Rfc822Header(ob("hh")));
}

#[test]
fn extension_items() {
    let f = fetch(
        "* 5 FETCH (UID 9 MODSEQ (624140003) EMAILID (M6d99ac3275bb4e) THREADID NIL \
         SAVEDATE \"01-Jan-2021 10:00:00 +0000\" PREVIEW \"Hello...\" X-GM-MSGID 1278455344230334865 \
         X-GM-THRID 1266894439832287888 X-GM-LABELS (\\Inbox \"\\\\Sent\" Important \"x y\") X-UNKNOWN (a (b) c) RFC822.SIZE 3)\r\n",
    );
    assert_eq!(f.uid(), Some(9));
    assert!(f.to_items().contains(&FetchItem::ModSeq(624140003)));
    assert!(f
        .to_items()
        .contains(&FetchItem::EmailId(b("M6d99ac3275bb4e"))));
    assert!(f.to_items().contains(&FetchItem::ThreadId(None)));
    assert!(f.to_items().contains(&FetchItem::Preview(ob("Hello..."))));
    assert!(f
        .to_items()
        .contains(&FetchItem::GmailMessageId(1278455344230334865)));
    assert!(f
        .to_items()
        .contains(&FetchItem::GmailThreadId(1266894439832287888)));
    assert!(f.to_items().contains(&FetchItem::GmailLabels(vec![
        b("\\Inbox"),
        b("\\Sent"),
        b("Important"),
        b("x y")
    ])));
    assert!(f.to_items().contains(&FetchItem::Other {
        name: "X-UNKNOWN".into(),
        raw: b("(a (b) c)")
    }));
    assert!(
        f.to_items().contains(&FetchItem::Rfc822Size(3)),
        "items after an unknown one decode"
    );
}

#[test]
fn undecodable_item_keeps_the_rest() {
    let f = fetch(
        "* 1 FETCH (UID 4 INTERNALDATE \"garbage\" FLAGS (\\Seen) RFC822.SIZE x12 MODSEQ (7))\r\n",
    );
    assert_eq!(f.uid(), Some(4));
    assert!(
        matches!(&f.to_items()[1], FetchItem::Undecodable { name, raw, .. } if name == "INTERNALDATE" && raw == &b("INTERNALDATE \"garbage\""))
    );
    assert_eq!(f.flags().unwrap().to_vec(), ["\\Seen"]);
    assert!(
        matches!(&f.to_items()[3], FetchItem::Undecodable { name, .. } if name == "RFC822.SIZE")
    );
    assert!(f.to_items().contains(&FetchItem::ModSeq(7)));
}

#[test]
fn tolerated_defects() {
    // Lower case, extra spaces, missing space before '(', NIL body params,
    // 8-bit in quoted strings, a flag with brackets.
    let f = fetch(
        "* 1 fetch (uid  7 flags (\\Seen $Label[1]) envelope(NIL \"caf\u{e9}\" NIL NIL NIL NIL NIL NIL NIL NIL) \
         bodystructure (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 12 1))\r\n",
    );
    assert_eq!(f.uid(), Some(7));
    assert_eq!(f.flags().unwrap().to_vec(), ["\\Seen", "$Label[1]"]);
    assert_eq!(f.to_envelope().unwrap().subject, ob("café"));
    assert!(f.body_structure().is_some());
    // Exchange-style: a missing closing parenthesis at the end of the line.
    let f = fetch("* 2 FETCH (UID 8 FLAGS (\\Seen)\r\n");
    assert_eq!(f.uid(), Some(8));
}

#[test]
fn nesting_is_bounded() {
    let deep = format!(
        "* 1 FETCH (BODYSTRUCTURE {}\"TEXT\"{})\r\n",
        "(".repeat(50_000),
        ")".repeat(50_000)
    );
    let f = fetch(&deep);
    assert!(
        matches!(&f.to_items()[0], FetchItem::Undecodable { reason, .. } if reason.contains("nesting"))
    );
    let thread = format!("* THREAD {}1{}\r\n", "(".repeat(10_000), ")".repeat(10_000));
    assert!(matches!(typed(&thread), Typed::Undecodable { .. }));
}

#[test]
fn mailbox_data() {
    assert_eq!(untagged("* 23 EXISTS\r\n"), Untagged::Exists(23));
    assert_eq!(untagged("* 5 RECENT\r\n"), Untagged::Recent(5));
    assert_eq!(untagged("* 44 EXPUNGE\r\n"), Untagged::Expunge(44));
    assert_eq!(
        untagged("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"),
        Untagged::Flags(vec![
            "\\Answered".into(),
            "\\Flagged".into(),
            "\\Deleted".into(),
            "\\Seen".into(),
            "\\Draft".into()
        ])
    );
    let Untagged::Vanished(v) = untagged("* VANISHED (EARLIER) 300:310,405,411\r\n") else {
        panic!()
    };
    assert!(v.earlier);
    assert_eq!(v.uids.count(0), 13);
    let Untagged::List(l) = untagged("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n")
    else {
        panic!()
    };
    assert_eq!(l.special_use(), Some("\\Sent"));
    assert_eq!(l.delimiter, Some(b'/'));
    assert_eq!(l.mailbox.name(), "Sent Items");
    let Untagged::List(l) = untagged(
        "* LIST () NIL Entw&APw-rfe (\"CHILDINFO\" (\"SUBSCRIBED\") \"OLDNAME\" (\"Old\"))\r\n",
    ) else {
        panic!()
    };
    assert_eq!(l.delimiter, None);
    assert_eq!(l.mailbox.name(), "Entwürfe");
    assert_eq!(
        l.mailbox.raw,
        b("Entw&APw-rfe"),
        "the wire name stays the identity"
    );
    assert_eq!(
        l.extended[0],
        ListExtended::ChildInfo(vec!["SUBSCRIBED".into()])
    );
    assert_eq!(
        l.extended[1],
        ListExtended::OldName(Mailbox { raw: b("Old") })
    );
    let Untagged::List(l) = untagged("* LIST (\\Noselect) \"\\\\\" {5}\r\na b c\r\n") else {
        panic!()
    };
    assert_eq!(
        (l.delimiter, l.mailbox.raw.clone()),
        (Some(b'\\'), b("a b c"))
    );
    let Untagged::Lsub(_) = untagged("* LSUB () \".\" INBOX\r\n") else {
        panic!()
    };
    let Untagged::Status(s) = untagged(
        "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292 UNSEEN 3 UIDVALIDITY 1 RECENT 0 DELETED 2 SIZE 123456789012 HIGHESTMODSEQ 7011231777 APPENDLIMIT NIL X-FOO 1)\r\n",
    ) else {
        panic!()
    };
    assert_eq!(
        (s.messages(), s.unseen(), s.uid_next(), s.uid_validity()),
        (Some(231), Some(3), Some(44292), Some(1))
    );
    assert!(s.items.contains(&StatusItem::Size(123456789012)));
    assert!(s.items.contains(&StatusItem::HighestModSeq(7011231777)));
    assert!(s.items.contains(&StatusItem::AppendLimit(None)));
    assert!(s.items.contains(&StatusItem::Deleted(2)));
}

#[test]
fn search_family() {
    assert_eq!(
        untagged("* SEARCH 2 84 882\r\n"),
        Untagged::Search(SearchResult {
            ids: vec![2, 84, 882],
            modseq: None
        })
    );
    assert_eq!(
        untagged("* SEARCH\r\n"),
        Untagged::Search(SearchResult::default())
    );
    assert_eq!(
        untagged("* SEARCH 2 5 (MODSEQ 917162500)\r\n"),
        Untagged::Search(SearchResult {
            ids: vec![2, 5],
            modseq: Some(917162500)
        })
    );
    assert_eq!(
        untagged("* SORT 5 3 4\r\n"),
        Untagged::Sort(SearchResult {
            ids: vec![5, 3, 4],
            modseq: None
        })
    );
    let Untagged::ESearch(e) = untagged("* ESEARCH (TAG \"A282\") UID MIN 2 MAX 1:4294967295 COUNT 3 ALL 2,10:11 MODSEQ 917162500\r\n".replace("MAX 1:4294967295", "MAX 11").as_str()) else { panic!() };
    assert_eq!(e.tag, ob("A282"));
    assert!(e.uid);
    assert_eq!(
        (e.min, e.max, e.count, e.modseq),
        (Some(2), Some(11), Some(3), Some(917162500))
    );
    assert_eq!(e.all.unwrap().to_string(), "2,10:11");
    let Untagged::ESearch(e) = untagged("* ESEARCH (TAG \"A1\") ALL 1:4294967295\r\n") else {
        panic!()
    };
    assert_eq!(e.all.unwrap().count(0), 4294967295);
    let Untagged::ESearch(e) =
        untagged("* ESEARCH (TAG \"A1\") UID PARTIAL (-1:-100 200:250,252:300)\r\n")
    else {
        panic!()
    };
    assert_eq!(e.partial.as_ref().unwrap().0, b("-1:-100"));
    assert_eq!(e.partial.unwrap().1.unwrap().to_string(), "200:250,252:300");
}

#[test]
fn thread_tree() {
    // RFC 5256 §4 example.
    let Untagged::Thread(t) = untagged("* THREAD (2)(3 6 (4 23)(44 7 96))\r\n") else {
        panic!()
    };
    assert_eq!(t.len(), 2);
    assert_eq!(
        t[0],
        ThreadNode {
            messages: vec![2],
            children: vec![]
        }
    );
    // 3 -> 6, then two branches under 6: 4 -> 23 and 44 -> 7 -> 96.
    assert_eq!(t[1].messages, [3, 6]);
    assert_eq!(t[1].children.len(), 2);
    assert_eq!(t[1].children[0].messages, [4, 23]);
    assert_eq!(t[1].children[1].messages, [44, 7, 96]);
    assert_eq!(t[1].root(), Some(3));
    assert_eq!(t[1].all_messages(), [3, 6, 4, 23, 44, 7, 96]);
    let Untagged::Thread(t) = untagged("* THREAD ((1)(2))\r\n") else {
        panic!()
    };
    assert!(t[0].messages.is_empty(), "placeholder parent");
    assert_eq!(t[0].children.len(), 2);
    assert_eq!(untagged("* THREAD\r\n"), Untagged::Thread(vec![]));
}

#[test]
fn server_data() {
    let Untagged::Namespace(n) = untagged("* NAMESPACE ((\"\" \"/\")) ((\"~\" \"/\")) ((\"#shared/\" \"/\" \"X-PARAM\" (\"FLAG1\")))\r\n") else { panic!() };
    assert_eq!(n.personal[0].prefix, b(""));
    assert_eq!(n.personal[0].delimiter, Some(b'/'));
    assert_eq!(n.other_users[0].prefix, b("~"));
    assert_eq!(n.shared[0].extensions.len(), 2);
    let Untagged::Namespace(n) = untagged("* NAMESPACE ((\"\" \".\")) NIL NIL\r\n") else {
        panic!()
    };
    assert!(n.other_users.is_empty() && n.shared.is_empty());
    assert_eq!(
        untagged("* ID (\"name\" \"Dovecot\" \"version\" NIL)\r\n"),
        Untagged::Id(Some(vec![(b("name"), ob("Dovecot")), (b("version"), None)]))
    );
    assert_eq!(untagged("* ID NIL\r\n"), Untagged::Id(None));
    assert_eq!(
        untagged("* ENABLED CONDSTORE QRESYNC\r\n"),
        Untagged::Enabled(vec!["CONDSTORE".into(), "QRESYNC".into()])
    );
    assert_eq!(
        untagged("* QUOTA \"User quota\" (STORAGE 10 512 MESSAGE 1 100)\r\n"),
        Untagged::Quota(Quota {
            root: b("User quota"),
            resources: vec![
                QuotaResource {
                    name: "STORAGE".into(),
                    usage: 10,
                    limit: 512
                },
                QuotaResource {
                    name: "MESSAGE".into(),
                    usage: 1,
                    limit: 100
                }
            ]
        })
    );
    assert_eq!(
        untagged("* QUOTAROOT INBOX \"User quota\" other\r\n"),
        Untagged::QuotaRoot(QuotaRoot {
            mailbox: Mailbox { raw: b("INBOX") },
            roots: vec![b("User quota"), b("other")]
        })
    );
    assert_eq!(
        untagged("* ACL INBOX alice lrswipkxtecda \"bob smith\" lr\r\n"),
        Untagged::Acl(Acl {
            mailbox: Mailbox { raw: b("INBOX") },
            entries: vec![(b("alice"), b("lrswipkxtecda")), (b("bob smith"), b("lr"))]
        })
    );
    let Untagged::ListRights(l) = untagged("* LISTRIGHTS ~/Mail/saved smith la r swicdkxte\r\n")
    else {
        panic!()
    };
    assert_eq!((l.required.clone(), l.optional.len()), (b("la"), 2));
    assert_eq!(
        untagged("* MYRIGHTS INBOX rwiptsldaex\r\n"),
        Untagged::MyRights {
            mailbox: Mailbox { raw: b("INBOX") },
            rights: b("rwiptsldaex")
        }
    );
    assert_eq!(
        untagged("* METADATA \"\" (/shared/comment \"Shared comment\" /private/x NIL)\r\n"),
        Untagged::Metadata(Metadata {
            mailbox: Mailbox { raw: b("") },
            entries: vec![
                (b("/shared/comment"), ob("Shared comment")),
                (b("/private/x"), None)
            ]
        })
    );
    assert_eq!(
        untagged("* METADATA INBOX /shared/comment /private/comment\r\n"),
        Untagged::Metadata(Metadata {
            mailbox: Mailbox { raw: b("INBOX") },
            entries: vec![(b("/shared/comment"), None), (b("/private/comment"), None)]
        })
    );
    assert_eq!(
        untagged("* ANNOTATION INBOX /comment (value.shared \"hello\" size.shared \"5\")\r\n"),
        Untagged::Annotation {
            mailbox: Mailbox { raw: b("INBOX") },
            entries: vec![(
                b("/comment"),
                vec![
                    (b("value.shared"), ob("hello")),
                    (b("size.shared"), ob("5"))
                ]
            )]
        }
    );
    assert_eq!(
        untagged("* CAPABILITY IMAP4rev1 IDLE\r\n"),
        Untagged::Capability(vec!["IMAP4rev1".into(), "IDLE".into()])
    );
    assert_eq!(
        untagged("* XFOO bar (baz)\r\n"),
        Untagged::Other {
            name: "XFOO".into(),
            raw: b("bar (baz)")
        }
    );
}

#[test]
fn conditions_and_codes() {
    assert_eq!(
        untagged("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"),
        Untagged::Condition {
            status: Status::Ok,
            code: Some(ResponseCode::UidValidity(3857529045)),
            text: b("UIDs valid")
        }
    );
    assert_eq!(
        untagged("* NO [ALERT] Disk almost full\r\n"),
        Untagged::Condition {
            status: Status::No,
            code: Some(ResponseCode::Alert),
            text: b("Disk almost full")
        }
    );
    let Typed::Tagged {
        status, code, text, ..
    } = typed("A3 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n")
    else {
        panic!()
    };
    assert_eq!(status, Status::Ok);
    assert!(matches!(
        code,
        Some(ResponseCode::CopyUid {
            uid_validity: 38505,
            ..
        })
    ));
    assert_eq!(text, b("Done"));
    let Typed::Tagged { code, .. } = typed("A4 NO [NONEXISTENT] No such mailbox\r\n") else {
        panic!()
    };
    assert_eq!(code, Some(ResponseCode::Rfc5530("NONEXISTENT".into())));
    let (code, text) = decode_condition_text(b"[APPENDUID 38505 3955] APPEND completed");
    assert!(matches!(
        code,
        Some(ResponseCode::AppendUid {
            uid_validity: 38505,
            ..
        })
    ));
    assert_eq!(text, b("APPEND completed"));
    for (args, expected) in [
        (
            "[HIGHESTMODSEQ 715194045007]",
            ResponseCode::HighestModSeq(715194045007),
        ),
        ("[NOMODSEQ]", ResponseCode::NoModSeq),
        ("[CLOSED]", ResponseCode::Closed),
        ("[NOTSAVED]", ResponseCode::NotSaved),
        ("[UIDNOTSTICKY]", ResponseCode::UidNotSticky),
        (
            "[MODIFIED 7,9]",
            ResponseCode::Modified("7,9".parse().unwrap()),
        ),
        ("[TRYCREATE]", ResponseCode::TryCreate),
        ("[PARSE]", ResponseCode::Parse),
        ("[READ-ONLY]", ResponseCode::ReadOnly),
        ("[READ-WRITE]", ResponseCode::ReadWrite),
        ("[UNSEEN 17]", ResponseCode::Unseen(17)),
        ("[UIDNEXT 4392]", ResponseCode::UidNext(4392)),
    ] {
        assert_eq!(
            decode_condition_text(args.as_bytes()).0,
            Some(expected),
            "{args}"
        );
    }
}

#[test]
fn decode_data_splits_imaplib_items() {
    use imaplib_proto::Data;
    let items = vec![
        Data::from((b"1 (UID 10 BODY[] {3}", b"abc")),
        Data::from(b")"),
        Data::from(b"2 (UID 11 FLAGS (\\Seen))"),
    ];
    let decoded = decode_data("FETCH", &items);
    assert_eq!(decoded.len(), 2);
    let Ok(Untagged::Fetch(f)) = &decoded[0] else {
        panic!()
    };
    assert_eq!(f.body(), Some(b("abc")));
    let Ok(Untagged::Fetch(f)) = &decoded[1] else {
        panic!()
    };
    assert_eq!(f.uid(), Some(11));
    assert!(decode_data("FETCH", &[Data::None]).is_empty());
}

#[test]
fn an_owned_fetch_outlives_its_buffer_and_moves_between_threads() {
    fn send_sync_static<T: Send + Sync + 'static>(_: &T) {}
    let mut framer = imaplib_proto::Framer::new(imaplib_proto::Limits::default());
    framer.feed(
        b"* 4 FETCH (UID 9 FLAGS (\\Seen $Work) ENVELOPE (NIL \"Hello\" NIL NIL NIL NIL NIL NIL NIL \"<m@x>\") \
          BODY[] {11}\r\nHello world)\r\n",
    );
    let frame = framer.next_frame().unwrap().unwrap();
    drop(framer);
    let f = match decode_frame(frame) {
        Typed::Untagged(Untagged::Fetch(f)) => f,
        other => panic!("not a FETCH: {other:?}"),
    };
    send_sync_static(&f);
    let g = f.clone();
    let seen = std::thread::spawn(move || {
        let env = g.envelope().expect("envelope");
        (
            g.uid(),
            g.flags().map(|l| l.to_vec()),
            env.subject().map(|s| s.as_bytes().into_owned()),
            g.body(),
        )
    })
    .join()
    .unwrap();
    assert_eq!(seen.0, Some(9));
    assert_eq!(
        seen.1,
        Some(vec!["\\Seen".to_string(), "$Work".to_string()])
    );
    assert_eq!(seen.2.as_deref(), Some(&b"Hello"[..]));
    assert_eq!(seen.3.as_deref(), Some(&b"Hello world"[..]));
    assert_eq!(f, f.clone());
}

#[test]
fn an_owned_fetch_shares_the_bytes_it_was_received_in() {
    let f = fetch("* 1 FETCH (UID 3 BODY[TEXT] {5}\r\nabcde ENVELOPE (NIL \"Subj\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n");
    let raw = f.frame().raw().as_ptr_range();
    let body = f.body().unwrap();
    assert_eq!(&body[..], b"abcde");
    assert!(
        raw.contains(&body.as_ptr()),
        "the body is a slice of the frame, not a copy"
    );
    let subject = f.to_envelope().unwrap().subject.unwrap();
    assert!(raw.contains(&subject.as_ptr()));
    // Items owned apart from the response share it too.
    let items = f.to_items();
    let Some(FetchItem::BodySection { data: Some(d), .. }) = items.get(1) else {
        panic!("{items:?}")
    };
    assert!(raw.contains(&d.as_ptr()));
}

#[test]
fn a_view_of_data_alone_becomes_an_owned_fetch() {
    let v = view::FetchView::from_line(7, b"(UID 12 FLAGS (\\Answered) RFC822.SIZE 99)").unwrap();
    let f = v.to_fetch().unwrap();
    assert_eq!((f.seq(), f.uid(), f.rfc822_size()), (7, Some(12), Some(99)));
    assert_eq!(f.to_items(), v.to_items());
    assert!(f.envelope().is_none() && f.body_structure().is_none());
}

#[test]
fn the_data_items_of_a_fetch_decode_as_the_response_does() {
    // imaplib's shape: the number and items, a literal apart.
    let items = [
        imaplib_proto::Data::Literal {
            header: b("5 (UID 8 RFC822.HEADER {4}"),
            literal: b("a: b"),
        },
        imaplib_proto::Data::from(b" FLAGS (\\Seen))"),
    ];
    let decoded = decode_data("FETCH", &items);
    let Some(Ok(Untagged::Fetch(f))) = decoded.first() else {
        panic!("{decoded:?}")
    };
    let whole = fetch("* 5 FETCH (UID 8 RFC822.HEADER {4}\r\na: b FLAGS (\\Seen))\r\n");
    assert_eq!(f, &whole);
    assert_eq!(f.body().as_deref(), Some(&b"a: b"[..]));
    // Not a number first: refused, with the reason.
    let bad = decode_data("FETCH", &[imaplib_proto::Data::from(b"(UID 8)")]);
    assert!(
        matches!(&bad[..], [Err(e)] if e.reason.contains("without a number")),
        "{bad:?}"
    );
}
