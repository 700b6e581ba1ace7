//! Wire bytes, parsing and round trips of [`Query`].

use super::*;
use crate::command::{build, Command, EncodeOptions, Encoder, Finish, LiteralMode};
use proptest::prelude::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

fn set(s: &str) -> SequenceSet {
    SequenceSet::parse(s.as_bytes()).expect("valid test set")
}

/// The command as the session sends it (tag `A1`, synchronizing
/// literals), every chunk joined.
fn try_wire(cmd: &Command, utf8: bool) -> Result<String, ProtoError> {
    let mut e = Encoder::new(EncodeOptions {
        literals: LiteralMode::Synchronizing,
        utf8,
    });
    e.raw(b"A1 ");
    e.raw(cmd.name.as_bytes());
    for a in &cmd.args {
        e.arg(a)?;
    }
    let bytes: Vec<u8> = e.finish().iter().flat_map(|c| c.bytes.to_vec()).collect();
    Ok(String::from_utf8(bytes).expect("test wire is UTF-8"))
}

fn wire(cmd: &Command, utf8: bool) -> String {
    try_wire(cmd, utf8).expect("encodes")
}

fn search(q: &Query) -> String {
    wire(&build::search_query(q, false), false)
}

fn parse(s: &str) -> Query {
    Query::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

#[test]
fn ascii_needs_no_charset() {
    let q = Query::from("bob");
    assert_eq!(search(&q), "A1 SEARCH FROM bob\r\n");
    assert_eq!(q.encode(false).charset, None);
    assert_eq!(q.encode(true).charset, None);
    let cmd = build::search_query(&q, false);
    assert_eq!(cmd.finish, Finish::Untagged("SEARCH".into()));
    assert_eq!(cmd.sub_command, None);
    assert_eq!(
        search(&Query::all()),
        "A1 SEARCH ALL\r\n",
        "a lone key with nothing around it"
    );
}

#[test]
fn eight_bit_without_utf8_is_charset_utf8_and_literals() {
    for text in ["Grüße", "Καλημέρα", "日本語の件名", "party 🎉"] {
        let q = Query::subject(text);
        assert_eq!(q.encode(false).charset, Some("UTF-8"));
        assert_eq!(
            search(&q),
            format!(
                "A1 SEARCH CHARSET UTF-8 SUBJECT {{{}}}\r\n{text}\r\n",
                text.len()
            )
        );
        // The literal waits for the server's continuation.
        let cmd = build::search_query(&q, false);
        let mut e = Encoder::new(EncodeOptions::default());
        e.raw(b"A1 SEARCH");
        for a in &cmd.args {
            e.arg(a).expect("encodes");
        }
        let chunks = e.finish();
        assert_eq!(chunks.len(), 2);
        assert!(chunks[0].wait_continuation);
    }
    // ASCII strings beside it stay atoms or quoted strings.
    let q = Query::from("bob")
        .and(Query::subject("Grüße"))
        .and(Query::to("a b"));
    assert_eq!(
        search(&q),
        "A1 SEARCH CHARSET UTF-8 FROM bob SUBJECT {7}\r\nGrüße TO \"a b\"\r\n"
    );
}

#[test]
fn eight_bit_with_utf8_is_sent_as_is() {
    let q = Query::subject("Grüße");
    assert_eq!(q.encode(true).charset, None);
    assert_eq!(
        wire(&build::search_query(&q, true), true),
        "A1 SEARCH SUBJECT \"Grüße\"\r\n"
    );
    let q = Query::from("山田").and(Query::body("🎉"));
    assert_eq!(
        wire(&build::search_query(&q, true), true),
        "A1 SEARCH FROM \"山田\" BODY \"🎉\"\r\n"
    );
}

#[test]
fn strings_are_encoded_from_their_content() {
    assert_eq!(
        search(&Query::subject("\"x\"")),
        "A1 SEARCH SUBJECT \"\\\"x\\\"\"\r\n"
    );
    assert_eq!(
        search(&Query::subject("(x)")),
        "A1 SEARCH SUBJECT \"(x)\"\r\n"
    );
    assert_eq!(search(&Query::subject("")), "A1 SEARCH SUBJECT \"\"\r\n");
    assert_eq!(
        search(&Query::text("a\\b")),
        "A1 SEARCH TEXT \"a\\\\b\"\r\n"
    );
    assert_eq!(search(&Query::from("a]b")), "A1 SEARCH FROM a]b\r\n");
    assert_eq!(search(&Query::from("{5}")), "A1 SEARCH FROM \"{5}\"\r\n");
    assert_eq!(
        search(&Query::header("List-Id", "")),
        "A1 SEARCH HEADER List-Id \"\"\r\n"
    );
    assert_eq!(
        search(&Query::header("X-Spam Flag", "YES")),
        "A1 SEARCH HEADER \"X-Spam Flag\" YES\r\n"
    );
    // CR/LF: a literal, even in ASCII text (no charset needed then).
    let q = Query::subject("a\r\nb");
    assert_eq!(q.encode(false).charset, None);
    assert_eq!(search(&q), "A1 SEARCH SUBJECT {4}\r\na\r\nb\r\n");
    assert_eq!(
        wire(&build::search_query(&q, true), true),
        "A1 SEARCH SUBJECT {4}\r\na\r\nb\r\n"
    );
    // NUL: refused by the encoder.
    for q in [
        Query::subject("a\0b"),
        Query::header("X\0", "v"),
        Query::raw("X-GM-RAW", ["\0"]),
    ] {
        let err = try_wire(&build::search_query(&q, false), false).unwrap_err();
        assert_eq!(err.kind(), ProtoErrorKind::BadArgument);
    }
}

#[test]
fn keys_numbers_dates_and_sets() {
    let q = Query::since(date(2024, 2, 1))
        .and(Query::before(date(2023, 12, 25)))
        .and(Query::on(date(1999, 1, 9)))
        .and(Query::sent_before(date(2024, 10, 31)))
        .and(Query::sent_on(date(2024, 3, 3)))
        .and(Query::sent_since(date(2024, 7, 14)));
    assert_eq!(
        search(&q),
        "A1 SEARCH SINCE 1-Feb-2024 BEFORE 25-Dec-2023 ON 9-Jan-1999 \
         SENTBEFORE 31-Oct-2024 SENTON 3-Mar-2024 SENTSINCE 14-Jul-2024\r\n"
    );
    let q = Query::larger(100)
        .and(Query::smaller(u64::MAX))
        .and(Query::uid(set("1:*")))
        .and(Query::sequence_set(set("1:5,7")))
        .and(Query::modseq(620162338))
        .and(Query::older(3600))
        .and(Query::younger(60))
        .and(Query::email_id("M6d99ac3275bb4e"))
        .and(Query::thread_id("T64b478a75b7ea9"))
        .and(Query::keyword("$Forwarded"))
        .and(Query::unkeyword("$Junk"));
    assert_eq!(
        search(&q),
        "A1 SEARCH LARGER 100 SMALLER 18446744073709551615 UID 1:* 1:5,7 \
         MODSEQ 620162338 OLDER 3600 YOUNGER 60 EMAILID M6d99ac3275bb4e \
         THREADID T64b478a75b7ea9 KEYWORD $Forwarded UNKEYWORD $Junk\r\n"
    );
    let flags = [
        Query::answered(),
        Query::deleted(),
        Query::draft(),
        Query::flagged(),
        Query::new_messages(),
        Query::old(),
        Query::recent(),
        Query::seen(),
        Query::unanswered(),
        Query::undeleted(),
        Query::undraft(),
        Query::unflagged(),
        Query::unseen(),
    ];
    let q = flags.into_iter().fold(Query::And(Vec::new()), Query::and);
    assert_eq!(
        search(&q),
        "A1 SEARCH ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN \
         UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN\r\n"
    );
    let q = Query::modseq_entry("/flags/\\draft", EntryType::All, 620162338);
    assert_eq!(
        search(&q),
        "A1 SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n"
    );
    assert_eq!(
        search(&Query::saved_result(false).and(Query::saved_result(true))),
        "A1 SEARCH $ UID $\r\n"
    );
    // An empty set matches nothing.
    assert_eq!(
        search(&Query::uid(SequenceSet::default())),
        "A1 SEARCH NOT ALL\r\n"
    );
    assert_eq!(Query::uid(SequenceSet::default()).to_string(), "NOT ALL");
}

#[test]
fn or_not_and_parentheses() {
    let q = Query::or(Query::from("a").and(Query::subject("b")), !Query::seen())
        .and(Query::larger(100));
    assert_eq!(
        search(&q),
        "A1 SEARCH OR (FROM a SUBJECT b) NOT SEEN LARGER 100\r\n"
    );
    assert_eq!(q.to_string(), "OR (FROM a SUBJECT b) NOT SEEN LARGER 100");
    let q = Query::not(Query::or(
        Query::from("x"),
        Query::or(Query::to("y"), Query::cc("z").and(Query::unseen())),
    ));
    assert_eq!(
        search(&q),
        "A1 SEARCH NOT OR FROM x OR TO y (CC z UNSEEN)\r\n"
    );
    // Nested lists, and the empty list (every message).
    let q = Query::And(vec![
        Query::And(vec![Query::And(vec![Query::seen()])]),
        Query::And(Vec::new()),
    ]);
    assert_eq!(search(&q), "A1 SEARCH ((SEEN)) ALL\r\n");
    assert_eq!(search(&Query::And(Vec::new())), "A1 SEARCH ALL\r\n");
    assert_eq!(search(&!Query::And(Vec::new())), "A1 SEARCH NOT ALL\r\n");
}

#[test]
fn uid_search() {
    let q = Query::subject("Grüße");
    let cmd = build::uid_search_query(&q, false);
    let reference = build::uid("SEARCH", ["ALL"]);
    assert_eq!(cmd.name, reference.name);
    assert_eq!(cmd.sub_command, reference.sub_command);
    assert_eq!(cmd.finish, reference.finish);
    assert_eq!(
        wire(&cmd, false),
        "A1 UID SEARCH CHARSET UTF-8 SUBJECT {7}\r\nGrüße\r\n"
    );
    assert_eq!(
        wire(
            &build::uid_search_query(&Query::uid(set("5:*")), false),
            false
        ),
        "A1 UID SEARCH UID 5:*\r\n"
    );
}

#[test]
fn sort_and_thread_always_name_a_charset() {
    let ascii = Query::from("bob");
    let eight = Query::subject("Grüße");
    let cmd = build::sort_query(b"REVERSE DATE", &ascii, false, false);
    assert_eq!(cmd.finish, Finish::Untagged("SORT".into()));
    assert_eq!(
        wire(&cmd, false),
        "A1 SORT (REVERSE DATE) US-ASCII FROM bob\r\n"
    );
    assert_eq!(
        wire(&build::sort_query(b"(DATE)", &eight, false, false), false),
        "A1 SORT (DATE) UTF-8 SUBJECT {7}\r\nGrüße\r\n"
    );
    assert_eq!(
        wire(&build::sort_query(b"DATE", &eight, true, false), true),
        "A1 SORT (DATE) UTF-8 SUBJECT \"Grüße\"\r\n"
    );
    let cmd = build::sort_query(b"DATE", &ascii, false, true);
    assert_eq!(cmd.sub_command.as_deref(), Some("SORT"));
    assert_eq!(cmd.finish, build::uid("SORT", ["x"]).finish);
    assert_eq!(
        wire(&cmd, false),
        "A1 UID SORT (DATE) US-ASCII FROM bob\r\n"
    );

    let cmd = build::thread_query(b"REFERENCES", &Query::all(), false, false);
    assert_eq!(cmd.finish, Finish::Untagged("THREAD".into()));
    assert_eq!(wire(&cmd, false), "A1 THREAD REFERENCES US-ASCII ALL\r\n");
    let cmd = build::thread_query(b"ORDEREDSUBJECT", &eight, false, true);
    assert_eq!(cmd.sub_command.as_deref(), Some("THREAD"));
    assert_eq!(cmd.finish, Finish::Untagged("THREAD".into()));
    assert_eq!(
        wire(&cmd, false),
        "A1 UID THREAD ORDEREDSUBJECT UTF-8 SUBJECT {7}\r\nGrüße\r\n"
    );
}

#[test]
fn esearch_puts_charset_after_return() {
    let q = Query::subject("Grüße").and(Query::unseen());
    let cmd = build::esearch_query(false, "MIN MAX COUNT", &q, false);
    assert_eq!(cmd.finish, Finish::Untagged("ESEARCH".into()));
    assert_eq!(cmd.sub_command, None);
    assert_eq!(
        wire(&cmd, false),
        "A1 SEARCH RETURN (MIN MAX COUNT) CHARSET UTF-8 SUBJECT {7}\r\nGrüße UNSEEN\r\n"
    );
    let cmd = build::esearch_query(true, "", &Query::from("bob"), false);
    assert_eq!(cmd.finish, Finish::Untagged("ESEARCH".into()));
    assert_eq!(cmd.sub_command.as_deref(), Some("SEARCH"));
    assert_eq!(wire(&cmd, false), "A1 UID SEARCH RETURN () FROM bob\r\n");
    assert_eq!(
        wire(&build::esearch_query(true, "SAVE", &q, true), true),
        "A1 UID SEARCH RETURN (SAVE) SUBJECT \"Grüße\" UNSEEN\r\n"
    );
}

#[test]
fn raw_keys_pass_through() {
    let q = Query::raw("X-GM-RAW", ["has:attachment"]);
    assert_eq!(search(&q), "A1 SEARCH X-GM-RAW has:attachment\r\n");
    assert_eq!(q.to_string(), "X-GM-RAW has:attachment");
    let q = Query::raw("X-GM-RAW", ["has:attachment in:unread"]);
    assert_eq!(
        search(&q),
        "A1 SEARCH X-GM-RAW \"has:attachment in:unread\"\r\n"
    );
    let q = Query::raw("X-GM-RAW", ["Grüße"]);
    assert_eq!(
        search(&q),
        "A1 SEARCH CHARSET UTF-8 X-GM-RAW {7}\r\nGrüße\r\n"
    );
    assert_eq!(
        parse("x-gm-raw \"has:attachment\""),
        Query::raw("x-gm-raw", ["has:attachment"])
    );
}

#[test]
fn parses_the_usual_syntax() {
    assert_eq!(parse("SINCE 1-Jan-2024"), Query::since(date(2024, 1, 1)));
    assert_eq!(
        parse("since \"01-jan-2024\""),
        Query::since(date(2024, 1, 1))
    );
    assert_eq!(
        parse("UNSEEN FROM bob"),
        Query::unseen().and(Query::from("bob"))
    );
    assert_eq!(
        parse("OR FROM alice FROM bob"),
        Query::or(Query::from("alice"), Query::from("bob"))
    );
    assert_eq!(parse("not seen"), !Query::seen());
    assert_eq!(
        parse("(FROM a SUBJECT \"x y\") LARGER 100"),
        Query::And(vec![
            Query::from("a").and(Query::subject("x y")),
            Query::larger(100)
        ])
    );
    assert_eq!(parse("UID 1:*"), Query::uid(set("1:*")));
    assert_eq!(parse("1:5,7"), Query::sequence_set(set("1:5,7")));
    assert_eq!(parse("*"), Query::sequence_set(set("*")));
    assert_eq!(parse("HEADER X-Foo bar"), Query::header("X-Foo", "bar"));
    assert_eq!(parse("SUBJECT \"Grüße\""), Query::subject("Grüße"));
    assert_eq!(parse("SUBJECT Grüße"), Query::subject("Grüße"));
    assert_eq!(
        parse("subject \"a \\\"b\\\" \\\\c\""),
        Query::subject("a \"b\" \\c")
    );
    assert_eq!(parse("FROM ALL"), Query::from("ALL"));
    assert_eq!(parse("SUBJECT \"\""), Query::subject(""));
    assert_eq!(parse("  ALL\t"), Query::all());
    assert_eq!(
        parse("$ UID $"),
        Query::saved_result(false).and(Query::saved_result(true))
    );
    assert_eq!(
        parse("MODSEQ \"/flags/\\\\draft\" ALL 620162338"),
        Query::modseq_entry("/flags/\\draft", EntryType::All, 620162338)
    );
    assert_eq!(parse("MODSEQ 5"), Query::modseq(5));
    assert_eq!(
        parse("modseq /flags/$Junk shared 7"),
        Query::modseq_entry("/flags/$Junk", EntryType::Shared, 7)
    );
    assert_eq!(
        parse("older 10 YOUNGER 5 emailid M1 threadid T2 keyword $x unkeyword y"),
        Query::older(10)
            .and(Query::younger(5))
            .and(Query::email_id("M1"))
            .and(Query::thread_id("T2"))
            .and(Query::keyword("$x"))
            .and(Query::unkeyword("y"))
    );
    // A group of one key is a list of one, except for an unknown key,
    // whose parentheses only end its arguments.
    assert_eq!(parse("(SEEN)"), Query::And(vec![Query::seen()]));
    assert_eq!(parse("()"), Query::And(Vec::new()));
    assert_eq!(parse("(X-FOO)"), Query::raw("X-FOO", Vec::<String>::new()));
    assert_eq!(
        parse("((X-FOO))"),
        Query::And(vec![Query::raw("X-FOO", Vec::<String>::new())])
    );
}

#[test]
fn unknown_keys_take_the_words_that_follow() {
    assert_eq!(
        parse("X-GM-RAW \"has:attachment\""),
        Query::raw("X-GM-RAW", ["has:attachment"])
    );
    assert_eq!(
        parse("X-GM-LABELS Inbox \"ALL\" 5 UNSEEN"),
        Query::raw("X-GM-LABELS", ["Inbox", "ALL", "5"]).and(Query::unseen())
    );
    assert_eq!(
        parse("X-GM-THRID 1266894439832287888"),
        Query::raw("X-GM-THRID", ["1266894439832287888"])
    );
    assert_eq!(
        parse("SAVEDSINCE 1-Jan-2024 (SEEN)"),
        Query::And(vec![
            Query::raw("SAVEDSINCE", ["1-Jan-2024"]),
            Query::And(vec![Query::seen()])
        ])
    );
    assert_eq!(
        parse("(X-A) X-B"),
        Query::raw("X-A", Vec::<String>::new()).and(Query::raw("X-B", Vec::<String>::new()))
    );
    // Display puts an unknown key in parentheses when what follows
    // would otherwise become its argument.
    let q = Query::raw("X-A", ["1"])
        .and(Query::raw("X-B", Vec::<String>::new()))
        .and(Query::sequence_set(set("5")))
        .and(Query::from("x"));
    assert_eq!(q.to_string(), "(X-A 1) (X-B) 5 FROM x");
    assert_eq!(parse(&q.to_string()), q);
    let q = Query::or(
        Query::raw("X-A", Vec::<String>::new()),
        Query::raw("X-B", ["ALL"]),
    );
    assert_eq!(q.to_string(), "OR (X-A) X-B \"ALL\"");
    assert_eq!(parse(&q.to_string()), q);
}

#[test]
fn parse_errors_name_the_problem() {
    for (input, needle) in [
        ("", "empty"),
        ("   ", "empty"),
        ("(FROM a", "never closed"),
        ("FROM a)", "closes nothing"),
        ("((SEEN)", "never closed"),
        ("FROM", "FROM needs a string"),
        ("FROM )", "FROM needs a string, found `)`"),
        ("HEADER X-Foo", "HEADER needs a field name and a string"),
        ("NOT", "NOT needs a search key"),
        ("OR SEEN", "OR needs a search key"),
        ("SINCE 2024-01-01", "bad date"),
        ("SINCE 31-Feb-2024", "bad date"),
        ("SINCE 1-Foo-2024", "bad date"),
        ("BEFORE", "BEFORE needs a date"),
        ("LARGER x", "not a number"),
        ("LARGER -1", "not a number"),
        ("LARGER 99999999999999999999", "too large"),
        ("OLDER 4294967296", "too large"),
        ("SMALLER \"5\"", "SMALLER needs a number"),
        ("UID", "UID needs a sequence set"),
        ("UID x", "invalid sequence set"),
        ("1:5,,7", "invalid sequence set"),
        ("0", "invalid sequence set"),
        ("\"FROM\"", "expected a search key, found the quoted string"),
        ("SUBJECT \"abc", "unterminated"),
        ("SUBJECT \"a\\nb\"", "bad escape"),
        ("SUBJECT a\r\n", "CR"),
        ("SUBJECT a\nb", "LF"),
        ("SUBJECT a\0", "NUL"),
        ("CHARSET UTF-8 ALL", "CHARSET"),
        ("MODSEQ \"/flags/x\" foo 5", "entry type"),
        ("MODSEQ abc", "MODSEQ: `abc` is not a number"),
        ("MODSEQ", "MODSEQ needs a number"),
    ] {
        let err = Query::parse(input).expect_err(input);
        assert_eq!(err.kind(), ProtoErrorKind::BadArgument, "{input:?}");
        assert!(
            err.to_string().contains(needle),
            "{input:?}: {err} does not mention {needle:?}"
        );
    }
    let deep = format!("{}SEEN{}", "(".repeat(500), ")".repeat(500));
    assert!(Query::parse(&deep)
        .unwrap_err()
        .message()
        .contains("nested"));
    let deep = format!("{}SEEN", "NOT ".repeat(500));
    assert!(Query::parse(&deep)
        .unwrap_err()
        .message()
        .contains("nested"));
}

#[test]
fn display_round_trips() {
    for s in [
        "SINCE 1-Jan-2024",
        "UNSEEN FROM bob",
        "OR FROM alice FROM bob",
        "NOT SEEN",
        "(FROM a SUBJECT \"x y\") LARGER 100",
        "UID 1:*",
        "1:5,7",
        "HEADER X-Foo bar",
        "SUBJECT Grüße",
        "X-GM-RAW has:attachment",
        "SUBJECT \"\\\"x\\\"\"",
        "SUBJECT \"\"",
        "MODSEQ \"/flags/\\\\Seen\" priv 3",
        "(SEEN)",
        "()",
        "((X-A))",
        "NOT (X-A) 5",
    ] {
        let q = parse(s);
        assert_eq!(q.to_string(), s);
        assert_eq!(parse(&q.to_string()), q);
        assert_eq!(s.parse::<Query>(), Ok(q));
    }
    assert_eq!(parse("since 01-JAN-2024").to_string(), "SINCE 1-Jan-2024");
    assert_eq!(
        parse("x-gm-raw \"has:attachment\" unseen").to_string(),
        "x-gm-raw has:attachment UNSEEN"
    );
}

#[test]
fn builder_combinators() {
    let q = Query::from("a").and(Query::from("b")).and(Query::from("c"));
    assert_eq!(
        q,
        Query::And(vec![Query::from("a"), Query::from("b"), Query::from("c")])
    );
    assert_eq!(
        Query::from("a").and(Query::from("b").and(Query::from("c"))),
        q
    );
    assert_eq!(Query::seen().not(), !Query::seen());
    assert_eq!(
        Query::seen().or(Query::flagged()),
        Query::or(Query::seen(), Query::flagged())
    );
    assert_eq!(Query::default(), Query::all());
    assert!(Query::from("a").is_ascii());
    assert!(!Query::not(Query::header("X", "é")).is_ascii());
    let args = Query::subject("é").encode(false);
    assert_eq!(args.charset, Some("UTF-8"));
    assert_eq!(args.into_criteria()[..2], [atom("CHARSET"), atom("UTF-8")]);
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 \"\\\\()*%{}$:,\\]\\[-]{0,8}",
        "[^\\r\\n\\x00]{0,8}",
        Just("ALL".to_string()),
    ]
}

fn any_date() -> impl Strategy<Value = NaiveDate> {
    (0i32..=9999, 1u32..=12, 1u32..=31)
        .prop_filter_map("valid date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
}

fn any_set() -> impl Strategy<Value = SequenceSet> {
    let bound = prop_oneof![(1u32..).prop_map(|n| n.to_string()), Just("*".to_string())];
    proptest::collection::vec((bound.clone(), proptest::option::of(bound)), 1..4).prop_map(
        |ranges| {
            let text: Vec<String> = ranges
                .into_iter()
                .map(|(a, b)| match b {
                    Some(b) => format!("{a}:{b}"),
                    None => a,
                })
                .collect();
            set(&text.join(","))
        },
    )
}

fn any_query() -> impl Strategy<Value = Query> {
    let leaf = prop_oneof![
        Just(Query::All),
        Just(Query::Answered),
        Just(Query::Deleted),
        Just(Query::Draft),
        Just(Query::Flagged),
        Just(Query::New),
        Just(Query::Old),
        Just(Query::Recent),
        Just(Query::Seen),
        Just(Query::Unanswered),
        Just(Query::Undeleted),
        Just(Query::Undraft),
        Just(Query::Unflagged),
        Just(Query::Unseen),
        any::<bool>().prop_map(|uid| Query::SavedResult { uid }),
        any_text().prop_map(Query::Bcc),
        any_text().prop_map(Query::Body),
        any_text().prop_map(Query::Cc),
        any_text().prop_map(Query::From),
        any_text().prop_map(Query::Subject),
        any_text().prop_map(Query::Text),
        any_text().prop_map(Query::To),
        any_text().prop_map(Query::Keyword),
        any_text().prop_map(Query::Unkeyword),
        any_text().prop_map(Query::EmailId),
        any_text().prop_map(Query::ThreadId),
        (any_text(), any_text()).prop_map(|(n, v)| Query::Header(n, v)),
        any_date().prop_map(Query::Before),
        any_date().prop_map(Query::On),
        any_date().prop_map(Query::SentBefore),
        any_date().prop_map(Query::SentOn),
        any_date().prop_map(Query::SentSince),
        any_date().prop_map(Query::Since),
        any::<u64>().prop_map(Query::Larger),
        any::<u64>().prop_map(Query::Smaller),
        any::<u32>().prop_map(Query::Older),
        any::<u32>().prop_map(Query::Younger),
        any_set().prop_map(Query::Uid),
        any_set().prop_map(Query::SequenceSet),
        (
            proptest::option::of((
                any_text(),
                prop_oneof![
                    Just(EntryType::Private),
                    Just(EntryType::Shared),
                    Just(EntryType::All)
                ]
            )),
            any::<u64>()
        )
            .prop_map(|(entry, modseq)| Query::ModSeq {
                entry: entry.map(|(name, entry_type)| ModSeqEntry { name, entry_type }),
                modseq,
            }),
        (
            "[xX]-[A-Za-z0-9-]{1,6}",
            proptest::collection::vec(any_text(), 0..3)
        )
            .prop_map(|(key, args)| Query::Raw { key, args }),
    ];
    leaf.prop_recursive(4, 48, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|q| Query::Not(Box::new(q))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Query::Or(Box::new(a), Box::new(b))),
            proptest::collection::vec(inner, 0..4).prop_map(Query::And),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn display_then_parse_gives_the_query(q in any_query()) {
        let shown = q.to_string();
        let back = Query::parse(&shown);
        prop_assert_eq!(back, Ok(q), "shown as {}", shown);
    }

    #[test]
    fn encoding_never_panics(
        q in any_query(),
        crlf in "[\\x00-\\x7f\\r\\n]{0,4}",
        utf8 in any::<bool>(),
    ) {
        // With CR, LF and NUL mixed in too.
        let q = q.and(Query::subject(crlf));
        let args = q.encode(utf8);
        prop_assert_eq!(args.charset.is_some(), !utf8 && !q.is_ascii());
        for cmd in [
            build::search_query(&q, utf8),
            build::uid_search_query(&q, utf8),
            build::sort_query(b"DATE", &q, utf8, false),
            build::thread_query(b"REFERENCES", &q, utf8, true),
            build::esearch_query(true, "ALL", &q, utf8),
        ] {
            let _ = try_wire(&cmd, utf8);
        }
    }

    #[test]
    fn parsing_never_panics(s in "\\PC{0,40}") {
        let _ = Query::parse(&s);
    }
}
