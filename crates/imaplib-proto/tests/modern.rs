//! What the builders for CATENATE, PARTIAL, SETQUOTA (RFC 9208) and
//! NOTIFY put on the wire, through a session as the clients use them.

use imaplib_proto::command::build::{self, CatenatePart, NotifyEvent, NotifyFilter, NotifyGroup};
use imaplib_proto::types::PartialRange;
use imaplib_proto::{Command, Event, Session, SessionConfig};

/// A session greeted with `caps`, in the selected state.
fn selected(caps: &str) -> Session {
    let mut s = Session::new(SessionConfig::default());
    s.feed(format!("* PREAUTH [CAPABILITY {caps}] hi\r\n").as_bytes());
    assert_eq!(s.poll_event().unwrap(), Some(Event::Greeting));
    let t = s.command(build::select(b"INBOX", false)).unwrap();
    s.take_transmit();
    s.feed(format!("{t} OK [READ-WRITE] done\r\n").as_bytes());
    while s.poll_event().unwrap().is_some() {}
    s.take_reply(&t).unwrap().unwrap();
    s
}

/// The bytes a command puts on the wire, tag removed.
fn wire(s: &mut Session, cmd: Command) -> String {
    let t = s.command(cmd).unwrap();
    let out = String::from_utf8(s.take_transmit().unwrap()).unwrap();
    out.strip_prefix(&format!("{t} ")).unwrap().to_string()
}

#[test]
fn catenate_sends_text_as_literals_and_urls_as_strings() {
    let mut s = selected("IMAP4rev1 CATENATE LITERAL+");
    let cmd = build::append_catenate(
        Some(b"Drafts"),
        Some(b"\\Draft"),
        None,
        &[
            CatenatePart::Text(b"Subject: x\n\n"),
            CatenatePart::Url("/INBOX;UIDVALIDITY=7/;UID=20/;SECTION=TEXT"),
            CatenatePart::Text(b"-- \r\nsig\r\n"),
        ],
    );
    assert_eq!(
        wire(&mut s, cmd),
        "APPEND Drafts (\\Draft) CATENATE (TEXT {14+}\r\nSubject: x\r\n\r\n \
         URL /INBOX;UIDVALIDITY=7/;UID=20/;SECTION=TEXT TEXT {10+}\r\n-- \r\nsig\r\n)\r\n"
    );
}

#[test]
fn partial_fetch_and_setquota() {
    let mut s = selected("IMAP4rev1 PARTIAL QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE");
    let cmd = build::uid_fetch_partial(b"1:*", b"(FLAGS)", PartialRange::last(1, 50).unwrap());
    assert_eq!(
        wire(&mut s, cmd),
        "UID FETCH 1:* (FLAGS) (PARTIAL -1:-50)\r\n"
    );
    let cmd = build::setquota_resources(b"", &[("storage", 512), ("MESSAGE", 1000)]);
    assert_eq!(
        wire(&mut s, cmd),
        "SETQUOTA \"\" (STORAGE 512 MESSAGE 1000)\r\n"
    );
    let cmd = build::setquota_resources(b"user.bob", &[]);
    assert_eq!(wire(&mut s, cmd), "SETQUOTA user.bob ()\r\n");
}

#[test]
fn notify_groups_filters_and_events() {
    let mut s = selected("IMAP4rev1 NOTIFY");
    let cmd = build::notify_set(
        true,
        &[
            NotifyGroup {
                filter: NotifyFilter::Selected,
                events: vec![
                    NotifyEvent::MessageNew(Some("UID FLAGS".into())),
                    NotifyEvent::MessageExpunge,
                    NotifyEvent::FlagChange,
                ],
            },
            NotifyGroup {
                filter: NotifyFilter::Subtree(vec!["Lists".into(), "Über".into()]),
                events: vec![NotifyEvent::MessageNew(None)],
            },
            NotifyGroup {
                filter: NotifyFilter::Personal,
                events: vec![NotifyEvent::MailboxName, NotifyEvent::SubscriptionChange],
            },
            NotifyGroup {
                filter: NotifyFilter::Mailboxes(vec!["Spam".into()]),
                events: vec![],
            },
        ],
    );
    assert_eq!(
        wire(&mut s, cmd),
        "NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) \
         (subtree (Lists &ANw-ber) (MessageNew)) \
         (personal (MailboxName SubscriptionChange)) (mailboxes (Spam) NONE)\r\n"
    );
    assert_eq!(wire(&mut s, build::notify_none()), "NOTIFY NONE\r\n");
}

#[test]
fn notify_mailbox_names_cannot_smuggle_lines() {
    let mut s = selected("IMAP4rev1 NOTIFY");
    let cmd = build::notify_set(
        false,
        &[NotifyGroup {
            filter: NotifyFilter::Mailboxes(vec!["a\r\nX DELETE INBOX".into()]),
            events: vec![NotifyEvent::MessageNew(None)],
        }],
    );
    match s.command(cmd) {
        // Sent as a literal, never inline.
        Ok(_) => {
            let out = s.take_transmit().unwrap();
            assert!(!out.windows(4).any(|w| w == b"\r\nX "), "{out:?}");
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}
