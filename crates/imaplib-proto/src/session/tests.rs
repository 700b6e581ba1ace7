use super::*;
use crate::command::build;

fn greeted(greeting: &[u8]) -> Session {
    let mut s = Session::new(SessionConfig::default());
    s.feed(greeting);
    assert_eq!(s.poll_event().unwrap(), Some(Event::Greeting));
    s
}

fn sent(s: &mut Session) -> Vec<u8> {
    s.take_transmit().unwrap_or_default()
}

/// Feeds `input` and returns the events until more input is needed.
fn events(s: &mut Session, input: &[u8]) -> Vec<Event> {
    s.feed(input);
    let mut out = Vec::new();
    while let Some(ev) = s.poll_event().unwrap() {
        out.push(ev);
    }
    out
}

#[test]
fn tags_are_int2ap_prefix_plus_counter() {
    let mut s = greeted(b"* OK [CAPABILITY IMAP4rev1] hi\r\n");
    let prefix = s.tag_prefix().to_string();
    assert_eq!(prefix.len(), 4);
    assert!(prefix.bytes().all(|b| (b'A'..=b'P').contains(&b)));
    let t0 = s.command(build::noop()).unwrap();
    let t1 = s.command(build::noop()).unwrap();
    assert_eq!(t0, format!("{prefix}0"));
    assert_eq!(t1, format!("{prefix}1"));
    assert_eq!(
        sent(&mut s),
        format!("{t0} NOOP\r\n{t1} NOOP\r\n").into_bytes()
    );
}

#[test]
fn greeting_states_and_capabilities() {
    let s = greeted(b"* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n");
    assert_eq!(s.state(), State::NonAuth);
    assert!(s.has_capability("idle"));
    assert!(!s.capabilities_stale());
    let s = greeted(b"* PREAUTH ready\r\n");
    assert_eq!(s.state(), State::Auth);
    assert!(s.capabilities_stale());
    assert_eq!(s.welcome().as_ref(), b"* PREAUTH ready");
    let mut s = Session::new(SessionConfig::default());
    s.feed(b"* BYE go away\r\n");
    assert_eq!(s.poll_event().unwrap_err().kind(), ProtoErrorKind::Bye);
}

#[test]
fn state_table_is_enforced_before_sending() {
    let mut s = greeted(b"* OK [CAPABILITY IMAP4rev1] hi\r\n");
    let err = s.command(build::fetch(b"1", b"(FLAGS)")).unwrap_err();
    assert_eq!(err.kind(), ProtoErrorKind::IllegalState);
    assert!(err.message().contains("illegal in state NONAUTH"));
    assert!(!s.wants_transmit());
    let err = s.command(build::uid("FETCH", ["1", "FLAGS"])).unwrap_err();
    assert_eq!(err.kind(), ProtoErrorKind::IllegalState);
    // LOGIN moves to AUTH, SELECT to SELECTED, CLOSE back to AUTH.
    let t = s.command(build::login(b"u", b"p")).unwrap();
    events(
        &mut s,
        format!("{t} OK [CAPABILITY IMAP4rev1 MOVE] in\r\n").as_bytes(),
    );
    assert!(s.take_reply(&t).unwrap().is_ok());
    assert_eq!(s.state(), State::Auth);
    assert!(!s.capabilities_stale(), "the OK carried capabilities");
    assert!(s.has_capability("MOVE"));
    let t = s.command(build::select(b"INBOX", false)).unwrap();
    events(
        &mut s,
        format!("* 4 EXISTS\r\n{t} OK [READ-WRITE] done\r\n").as_bytes(),
    );
    let reply = s.take_reply(&t).unwrap().unwrap();
    assert_eq!(reply.data, vec![Data::from("4")]);
    assert_eq!(s.state(), State::Selected);
    let t = s.command(build::close()).unwrap();
    events(&mut s, format!("{t} NO odd\r\n").as_bytes());
    assert_eq!(s.take_reply(&t).unwrap().unwrap().typ, Status::No);
    assert_eq!(
        s.state(),
        State::Auth,
        "CLOSE deselects whatever the answer"
    );
    // A failed SELECT leaves no mailbox selected.
    let t = s.command(build::select(b"nope", false)).unwrap();
    events(&mut s, format!("{t} NO [NONEXISTENT] no\r\n").as_bytes());
    assert_eq!(s.take_reply(&t).unwrap().unwrap().typ, Status::No);
    assert_eq!(s.state(), State::Auth);
}

#[test]
fn login_without_capabilities_makes_them_stale() {
    let mut s = greeted(b"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED STARTTLS] hi\r\n");
    let t = s.command(build::login(b"u", b"p")).unwrap();
    events(&mut s, format!("{t} OK in\r\n").as_bytes());
    s.take_reply(&t).unwrap().unwrap();
    assert!(s.capabilities_stale());
}

#[test]
fn untagged_store_in_arrival_order_and_codes() {
    let mut s = greeted(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n");
    let t = s.command(build::noop()).unwrap();
    let evs = events(
        &mut s,
        format!(
            "* 3 EXISTS\r\n* OK [UIDNEXT 9] next\r\n* 4 EXISTS\r\n* FLAGS (\\Seen)\r\n{t} OK done\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(evs.len(), 5);
    assert_eq!(
        s.take_reply(&t).unwrap().unwrap().data,
        vec![Data::from("done")]
    );
    assert_eq!(
        s.pop_untagged("EXISTS").unwrap(),
        vec![Data::from("3"), Data::from("4")]
    );
    assert_eq!(s.pop_untagged("uidnext").unwrap(), vec![Data::from("9")]);
    assert_eq!(
        s.pop_untagged("OK").unwrap(),
        vec![Data::from("[UIDNEXT 9] next")]
    );
    assert!(s.pop_untagged("EXISTS").is_none());
    // OK/NO/BAD are forgotten at the next command, others kept.
    let t = s.command(build::noop()).unwrap();
    events(&mut s, format!("* OK a\r\n* NO b\r\n{t} OK\r\n").as_bytes());
    s.take_reply(&t).unwrap().unwrap();
    let _t = s.command(build::noop()).unwrap();
    assert!(!s.untagged_responses().contains_key("OK"));
    assert!(s.untagged_responses().contains_key("FLAGS"));
}

/// A preauthenticated session holding at most `limit` bytes of untagged
/// data.
fn bounded(limit: usize) -> Session {
    let mut s = Session::new(SessionConfig {
        max_untagged_bytes: limit,
        ..SessionConfig::default()
    });
    s.feed(b"* PREAUTH hi\r\n");
    s.poll_event().unwrap();
    s
}

#[test]
fn untagged_store_is_bounded() {
    let mut s = bounded(1000);
    let _t = s.command(build::noop()).unwrap();
    let line = format!("* 1 FETCH (BODY[] {{{}}}\r\n{})\r\n", 600, "x".repeat(600));
    s.feed(line.as_bytes());
    s.poll_event().unwrap();
    s.feed(line.as_bytes());
    assert_eq!(
        s.poll_event().unwrap_err().kind(),
        ProtoErrorKind::TooMuchData
    );
    assert!(s.command(build::noop()).is_err(), "the session is broken");
}

#[test]
fn handing_data_back_releases_its_whole_charge() {
    // Each stored item is charged its bytes plus bookkeeping; taking it
    // back must release both, or a long-lived session would drift into
    // "too much data" after enough commands.
    let mut s = Session::new(SessionConfig {
        max_untagged_bytes: 4000,
        ..SessionConfig::default()
    });
    s.feed(b"* PREAUTH [CAPABILITY IMAP4rev1 IDLE] hi\r\n");
    s.poll_event().unwrap();
    let t = s.command(build::select(b"INBOX", false)).unwrap();
    events(
        &mut s,
        format!("* 3 EXISTS\r\n{t} OK [READ-WRITE] done\r\n").as_bytes(),
    );
    s.take_reply(&t).unwrap().unwrap();
    s.clear_untagged();
    for round in 0..200 {
        let t = s.command(build::fetch(b"1:3", b"(FLAGS)")).unwrap();
        let input = format!(
            "* 1 FETCH (FLAGS ())\r\n* 2 FETCH (FLAGS ())\r\n* 3 FETCH (FLAGS ())\r\n{t} OK\r\n"
        );
        events(&mut s, input.as_bytes());
        let reply = s.take_reply(&t).unwrap().unwrap();
        assert_eq!(reply.data.len(), 3, "round {round}");
        assert_eq!(s.held_untagged_bytes(), 0, "round {round}");
    }
    s.start_capture();
    events(&mut s, b"* 4 EXISTS\r\n* 1 RECENT\r\n");
    assert!(s.held_untagged_bytes() > 0);
    assert_eq!(s.take_captured().len(), 2);
    assert_eq!(s.held_untagged_bytes(), 0);
    s.stop_capture();
}

#[test]
fn responses_taken_but_held_still_count_against_the_bound() {
    let mut s = bounded(1000);
    let _t = s.command(build::noop()).unwrap();
    s.capture_responses(Some("FETCH"));
    let line = |n: usize| {
        format!(
            "* {n} FETCH (BODY[] {{{}}}\r\n{})\r\n",
            250,
            "x".repeat(250)
        )
    };
    events(&mut s, line(1).as_bytes());
    assert_eq!(s.take_responses_held().len(), 1);
    assert!(s.held_untagged_bytes() > 250, "still counted");
    events(&mut s, line(2).as_bytes());
    assert_eq!(s.take_responses_held().len(), 1);
    // The third would put more than the bound in the caller's hands.
    s.feed(line(3).as_bytes());
    assert_eq!(
        s.poll_event().unwrap_err().kind(),
        ProtoErrorKind::TooMuchData
    );

    // Released, the charge is gone: a long-lived session does not drift.
    let mut s = bounded(1000);
    for round in 0..10 {
        s.clear_untagged();
        let t = s.command(build::noop()).unwrap();
        s.capture_responses(Some("FETCH"));
        events(&mut s, format!("{}{t} OK\r\n", line(1)).as_bytes());
        assert_eq!(s.take_responses_held().len(), 1, "round {round}");
        s.capture_responses(None);
        assert_eq!(s.held_untagged_bytes(), 0, "round {round}");
        s.take_reply(&t).unwrap().unwrap();
    }
}

#[test]
fn esearch_answer_to_search_becomes_search_data() {
    let mut s = greeted(b"* PREAUTH [CAPABILITY IMAP4rev2] hi\r\n");
    let t = s.command(build::select(b"INBOX", false)).unwrap();
    events(&mut s, format!("{t} OK [READ-WRITE] done\r\n").as_bytes());
    s.take_reply(&t).unwrap().unwrap();

    let t = s.command(build::search(None, ["UNSEEN"])).unwrap();
    let other = "* ESEARCH (TAG \"zz\") ALL 9";
    let input = format!("{other}\r\n* ESEARCH (TAG \"{t}\") ALL 2:4,7 MODSEQ 12\r\n{t} OK\r\n");
    events(&mut s, input.as_bytes());
    let reply = s.take_reply(&t).unwrap().unwrap();
    assert_eq!(reply.data, vec![Data::from("2 3 4 7 (MODSEQ 12)")]);
    // Someone else's ESEARCH stays where it was.
    assert_eq!(s.untagged_responses()["ESEARCH"].len(), 1);

    // No match: an ESEARCH with only the tag, as `* SEARCH` would be.
    let t = s.command(build::uid("SEARCH", ["DELETED"])).unwrap();
    let input = format!("* ESEARCH (TAG \"{t}\") UID\r\n{t} OK\r\n");
    events(&mut s, input.as_bytes());
    assert_eq!(
        s.take_reply(&t).unwrap().unwrap().data,
        vec![Data::from("")]
    );

    // A tiny set naming billions of messages is refused, not expanded.
    let t = s.command(build::search(None, ["ALL"])).unwrap();
    let input = format!("* ESEARCH (TAG \"{t}\") ALL 1:4294967295\r\n{t} OK\r\n");
    events(&mut s, input.as_bytes());
    let err = s.take_reply(&t).unwrap().unwrap_err();
    assert_eq!(err.kind(), ProtoErrorKind::TooMuchData);
}

#[test]
fn synchronizing_literal_waits_and_blocks_later_commands() {
    let mut s = greeted(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n");
    let t0 = s
        .command(build::append(None, None, None, b"hello", false))
        .unwrap();
    let t1 = s.command(build::noop()).unwrap();
    assert_eq!(
        sent(&mut s),
        format!("{t0} APPEND INBOX {{5}}\r\n").into_bytes()
    );
    assert!(!s.wants_transmit(), "NOOP must wait behind the literal");
    assert!(events(&mut s, b"+ go\r\n").is_empty());
    assert_eq!(sent(&mut s), format!("hello\r\n{t1} NOOP\r\n").into_bytes());
    events(&mut s, format!("{t0} OK a\r\n{t1} OK b\r\n").as_bytes());
    assert!(s.take_reply(&t0).unwrap().is_ok());
    assert!(s.take_reply(&t1).unwrap().is_ok());
    // With LITERAL+ nothing waits.
    let mut s = greeted(b"* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n");
    let t0 = s
        .command(build::append(None, None, None, b"hello", false))
        .unwrap();
    assert_eq!(
        sent(&mut s),
        format!("{t0} APPEND INBOX {{5+}}\r\nhello\r\n").into_bytes()
    );
}

#[test]
fn unexpected_continuation_is_ignored_and_unknown_tag_aborts() {
    let mut s = greeted(b"* PREAUTH hi\r\n");
    let t = s.command(build::noop()).unwrap();
    assert!(events(&mut s, b"+ what\r\n").is_empty());
    s.feed(b"XYZ1 OK forged\r\n");
    assert_eq!(
        s.poll_event().unwrap_err().kind(),
        ProtoErrorKind::UnknownTag
    );
    assert!(s.take_reply(&t).is_none());
    assert_eq!(
        s.command(build::noop()).unwrap_err().kind(),
        ProtoErrorKind::UnknownTag
    );
}

#[test]
fn interactive_commands_get_continuations() {
    let mut s = greeted(b"* OK [CAPABILITY IMAP4rev1] hi\r\n");
    let t = s.command(build::authenticate("plain")).unwrap();
    assert_eq!(
        sent(&mut s),
        format!("{t} AUTHENTICATE PLAIN\r\n").into_bytes()
    );
    let evs = events(&mut s, b"+ \r\n");
    assert_eq!(
        evs,
        vec![Event::Continuation {
            tag: t.clone(),
            text: Bytes::new()
        }]
    );
    s.continue_with(&t, b"AHUAcA==", true).unwrap();
    assert_eq!(sent(&mut s), b"AHUAcA==\r\n");
    assert!(s.continue_with(&t, b"x\r\ny", true).is_err());
    events(
        &mut s,
        format!("{t} OK [CAPABILITY IMAP4rev1] ok\r\n").as_bytes(),
    );
    s.take_reply(&t).unwrap().unwrap();
    assert_eq!(s.state(), State::Auth);
}

#[test]
fn bye_fails_commands_in_flight_but_answers_logout() {
    let mut s = greeted(b"* PREAUTH hi\r\n");
    let t = s.command(build::noop()).unwrap();
    events(&mut s, b"* BYE shutting down\r\n");
    let err = s.take_reply(&t).unwrap().unwrap_err();
    assert_eq!(err.kind(), ProtoErrorKind::Bye);
    assert!(err.message().contains("shutting down"));
    let mut s = greeted(b"* PREAUTH hi\r\n");
    let t = s.command(build::logout()).unwrap();
    assert_eq!(s.state(), State::Logout);
    events(&mut s, format!("* BYE bye\r\n{t} OK done\r\n").as_bytes());
    let reply = s.take_reply(&t).unwrap().unwrap();
    assert_eq!(reply.typ, Status::Bye);
    assert_eq!(reply.data, vec![Data::from("bye")]);
}

#[test]
fn starttls_stops_reading_and_refuses_leftovers() {
    let mut s = greeted(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n");
    let t = s.command(build::starttls()).unwrap();
    let evs = events(
        &mut s,
        format!("{t} OK go\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n").as_bytes(),
    );
    assert_eq!(evs, vec![Event::Completed { tag: t.clone() }]);
    assert!(s.awaiting_tls());
    assert!(s.capabilities().is_empty());
    assert!(s.command(build::noop()).is_err());
    assert!(s.buffered_input() > 0);
    assert!(s.tls_established().is_err());
    // A clean STARTTLS: nothing left over.
    let mut s = greeted(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n");
    let t = s.command(build::starttls()).unwrap();
    events(&mut s, format!("* 1 EXISTS\r\n{t} OK go\r\n").as_bytes());
    s.tls_established().unwrap();
    assert!(
        s.untagged_responses().is_empty(),
        "cleartext data is forgotten"
    );
    assert!(s.capabilities_stale());
}

#[test]
fn xatom_registers_unknown_commands_in_current_state() {
    let mut s = greeted(b"* OK hi\r\n");
    assert!(s.command(build::xatom("XFOO", ["a"])).is_err());
    s.register_command("XFOO");
    let t = s.command(build::xatom("XFOO", ["a"])).unwrap();
    assert_eq!(sent(&mut s), format!("{t} XFOO a\r\n").into_bytes());
}

#[test]
fn idle_capture_keeps_arrival_order() {
    let mut s = greeted(b"* PREAUTH [CAPABILITY IMAP4rev1 IDLE] hi\r\n");
    s.start_capture();
    let t = s.command(build::idle()).unwrap();
    let evs = events(
        &mut s,
        b"+ idling\r\n* 2 EXISTS\r\n* 1 EXPUNGE\r\n* 3 EXISTS\r\n",
    );
    assert_eq!(evs.len(), 4);
    let got = s.take_captured();
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["EXISTS", "EXPUNGE", "EXISTS"]);
    s.idle_done(&t).unwrap();
    assert_eq!(sent(&mut s), format!("{t} IDLE\r\nDONE\r\n").into_bytes());
    events(&mut s, format!("{t} OK done\r\n").as_bytes());
    s.stop_capture();
    assert!(s.take_reply(&t).unwrap().is_ok());
}

#[test]
fn a_broken_session_sends_nothing_it_had_queued() {
    // The server's go-ahead releases APPEND's literal, then a malformed
    // response breaks the session before the literal was written: it is
    // not sent (found by the session fuzz target).
    let mut s = Session::new(SessionConfig {
        limits: Limits {
            max_line: 64,
            ..Limits::default()
        },
        ..SessionConfig::default()
    });
    s.feed(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n");
    assert_eq!(s.poll_event().unwrap(), Some(Event::Greeting));
    let tag = s
        .command(build::append(Some(b"INBOX"), None, None, b"hello", false))
        .unwrap();
    let _ = s.command(build::noop()).unwrap();
    assert_eq!(
        sent(&mut s),
        format!("{tag} APPEND INBOX {{5}}\r\n").into_bytes()
    );
    let long = format!("+ go ahead\r\n* {} EXISTS\r\n", "9".repeat(100));
    s.feed(long.as_bytes());
    let mut failed = false;
    while !failed {
        match s.poll_event() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the long line was not refused"),
            Err(e) => failed = e.kind().is_fatal(),
        }
    }
    assert!(s.broken().is_some());
    assert_eq!(s.poll_transmit(), None);
    assert!(s.poll_chunk().is_none());
    assert!(s.take_transmit().is_none());
}
