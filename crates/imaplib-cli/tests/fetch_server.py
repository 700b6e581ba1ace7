#!/usr/bin/env python3
"""A scripted IMAP server on stdin/stdout for `imap fetch` tests.

Usage: fetch_server.py [TMP_DIR]

Serves INBOX with UIDs 1 to 4 the way odd servers answer the batch's
UID FETCH (UID FLAGS INTERNALDATE BODY.PEEK[]):
  - UID 1: a large BODY[] literal sent in two halves, with UID, FLAGS and
    INTERNALDATE after the literal (as Gmail does), and an unsolicited
    flag update for it in between;
  - UID 2: the message as a quoted string (no literal);
  - UID 3: deleted meanwhile (no response; UID SEARCH no longer finds it
    once the batch was sent);
  - UID 4: INTERNALDATE sent as a literal, then BODY[].
With TMP_DIR (the Maildir's tmp/), the server sends the second half of
UID 1 only once a file there holds most of the first half, and says BYE
if that never happens: the client must write the message as it arrives.
"""

import os
import sys
import time

HALF = 200 * 1024
LINE = b"The quick brown fox jumps over the lazy dog. 0123456789\r\n"


def body(subject, size):
    head = b"From: a@example.org\r\nSubject: " + subject + b"\r\n\r\n"
    out = head
    while len(out) < size:
        out += LINE
    return out[:size]


BIG = body(b"big", 2 * HALF)
SMALL = b"Subject: tiny"
FOURTH = body(b"fourth", 1000)


def send(data):
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def wait_for_first_half(tmp_dir):
    deadline = time.time() + 20
    while time.time() < deadline:
        for name in os.listdir(tmp_dir):
            try:
                if os.path.getsize(os.path.join(tmp_dir, name)) >= HALF // 2:
                    return True
            except OSError:
                pass
        time.sleep(0.01)
    return False


def batch(tag, tmp_dir):
    send(b"* 1 FETCH (BODY[] {%d}\r\n" % len(BIG) + BIG[:HALF])
    if tmp_dir is not None and not wait_for_first_half(tmp_dir):
        send(b"* BYE the message was not written as it arrived\r\n")
        sys.exit(0)
    send(BIG[HALF:] + b' UID 1 FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700")\r\n')
    send(b"* 1 FETCH (FLAGS (\\Seen \\Flagged))\r\n")
    send(b'* 2 FETCH (UID 2 FLAGS () BODY[] "' + SMALL + b'")\r\n')
    send(
        b"* 4 FETCH (UID 4 INTERNALDATE {26}\r\n02-Jan-2024 03:04:05 +0100 BODY[] {%d}\r\n"
        % len(FOURTH)
        + FOURTH
        + b" FLAGS (\\Answered))\r\n"
    )
    send(tag + b" OK UID FETCH completed\r\n")


def main():
    tmp_dir = sys.argv[1] if len(sys.argv) > 1 else None
    batch_sent = False
    send(b"* PREAUTH [CAPABILITY IMAP4rev1 UIDPLUS] ready\r\n")
    for line in sys.stdin.buffer:
        words = line.rstrip(b"\r\n").split(b" ")
        tag, cmd = words[0], b" ".join(words[1:]).upper()
        if cmd.startswith(b"EXAMINE") or cmd.startswith(b"SELECT"):
            send(b"* FLAGS (\\Seen \\Answered \\Flagged)\r\n* 4 EXISTS\r\n")
            send(b"* OK [UIDVALIDITY 42] UIDs valid\r\n* OK [UIDNEXT 5] next\r\n")
            send(tag + b" OK [READ-ONLY] done\r\n")
        elif cmd.startswith(b"UID SEARCH"):
            found = b"1 2 4" if batch_sent else b"1 2 3 4"
            send(b"* SEARCH " + found + b"\r\n" + tag + b" OK done\r\n")
        elif cmd.startswith(b"UID FETCH") and b"RFC822.SIZE" in cmd:
            for uid, size in ((1, len(BIG)), (2, len(SMALL)), (3, 10), (4, len(FOURTH))):
                send(b"* %d FETCH (UID %d RFC822.SIZE %d)\r\n" % (uid, uid, size))
            send(tag + b" OK done\r\n")
        elif cmd.startswith(b"UID FETCH"):
            batch(tag, tmp_dir)
            batch_sent = True
        elif cmd.startswith(b"LOGOUT"):
            send(b"* BYE bye\r\n" + tag + b" OK done\r\n")
            return
        else:
            send(tag + b" OK done\r\n")


if __name__ == "__main__":
    main()
