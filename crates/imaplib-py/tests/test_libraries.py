"""IMAPClient and imap_tools work unchanged on top of imaplib_rs.

Each test runs twice: first on CPython's imaplib (which shows that the test
itself is right), then with ``imaplib_rs.install()`` called before the
libraries are imported, so that their ``import imaplib`` binds to
imaplib_rs. The ``libs`` fixture imports fresh copies of the libraries for
each test and checks which imaplib they got; afterwards the previous
modules are put back.
"""

import datetime
import importlib
import sys
import threading
import time
import types

import imaplib as cpython_imaplib

import pytest

from conftest import IMPLEMENTATIONS, Message, load_implementation

# ---------------------------------------------------------------------------
# Mail


def _mail(subject, body, sender="carol@example.org", msgid=None):
    lines = [
        f"From: {sender}",
        "To: alice@example.org",
        f"Subject: {subject}",
        "Date: Mon, 06 Nov 2023 10:00:00 +0000",
        f"Message-ID: <{msgid or subject.replace(' ', '-')}@example.org>",
        "",
        body,
        "",
    ]
    return "\r\n".join(lines).encode()


HELLO = _mail("hello world", "Hello Alice.", sender="Bob Example <bob@example.org>")
REPORT = _mail("monthly report", "Numbers are up.")
NOTE = _mail("a short note", "Remember the milk.")
APPENDED = _mail("appended message", "Put here by APPEND.")
ARRIVING = _mail("arriving during IDLE", "Hi while you wait.")

STATE = {
    "mailboxes": {
        "INBOX": [Message(HELLO, ("\\Seen",)), REPORT, NOTE],
        "Archive": [],
    },
    "subscriptions": ["INBOX"],
}

MAILBOXES = {"INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"}
APPEND_TIME = datetime.datetime(2023, 11, 20, 8, 30, 0, tzinfo=datetime.timezone.utc)

# ---------------------------------------------------------------------------
# Binding the libraries to one imaplib


def _library_module(name):
    return name.split(".")[0] in ("imapclient", "imap_tools")


@pytest.fixture(params=IMPLEMENTATIONS)
def libs(request):
    """Fresh imports of imapclient and imap_tools bound to the imaplib under
    test: ``libs.imaplib``, ``libs.imapclient``, ``libs.imap_tools``."""
    rs = request.param == "rs"
    replaced = lambda name: _library_module(name) or (rs and name == "imaplib")  # noqa: E731
    saved = {name: mod for name, mod in sys.modules.items() if replaced(name)}
    saved_meta_path = list(sys.meta_path)
    for name in saved:
        del sys.modules[name]
    try:
        if rs:
            module = load_implementation("rs")
            module.install()
            assert sys.modules.get("imaplib") is module, "install() did not make `import imaplib` give imaplib_rs"
            assert importlib.import_module("imaplib") is module
        else:
            module = cpython_imaplib
        imapclient = importlib.import_module("imapclient")
        imap_tools = importlib.import_module("imap_tools")
        for lib_module in ("imapclient.imapclient", "imapclient.imap4", "imapclient.tls",
                           "imap_tools.mailbox", "imap_tools.idle", "imap_tools.message"):
            bound = sys.modules[lib_module].imaplib
            assert bound is module, f"{lib_module}.imaplib is {bound!r}, not {module!r}"
        yield types.SimpleNamespace(imaplib=module, imapclient=imapclient, imap_tools=imap_tools)
    finally:
        for name in [n for n in sys.modules if replaced(n)]:
            del sys.modules[name]
        sys.modules.update(saved)
        sys.meta_path[:] = saved_meta_path


@pytest.fixture
def opened():
    """Clients to shut down after the test, even when it fails (a failed
    test's traceback would otherwise keep its connections open)."""
    clients = []
    yield clients
    for client in clients:
        conn = getattr(client, "_imap", None) or getattr(client, "client", None) or client
        try:
            conn.shutdown()
        except Exception:  # noqa: BLE001 - already closed
            pass


@pytest.fixture
def mail(fresh_user):
    fresh_user.reset(**STATE)
    return fresh_user


def _other_append(dovecot, user, message, delay=0.0):
    """Appends ``message`` to INBOX over another connection (CPython's
    imaplib, whatever the libraries are bound to)."""
    time.sleep(delay)
    conn = cpython_imaplib.IMAP4(dovecot.host, dovecot.imap_port)
    try:
        conn.login(user.name, user.password)
        typ, data = conn.append("INBOX", None, None, message)
        assert typ == "OK", data
    finally:
        conn.logout()


# ---------------------------------------------------------------------------
# IMAPClient


def _imapclient_session(libs, client, user):
    """A full session on a logged-out ``client``; checks every result."""
    assert isinstance(client._imap, libs.imaplib.IMAP4)
    # Exact reply texts are compared with CPython's in test_differential.py;
    # here only that the libraries work.
    assert client.login(user.name, user.password).endswith(b"Logged in")
    caps = client.capabilities()
    assert b"IMAP4REV1" in caps and b"MOVE" in caps

    names = {name for _flags, _delim, name in client.list_folders()}
    assert names == MAILBOXES
    assert {name for _f, _d, name in client.list_sub_folders()} >= {"INBOX"}
    assert client.create_folder("Projects").startswith(b"Create completed")
    assert client.folder_exists("Projects")

    info = client.select_folder("INBOX")
    assert info[b"EXISTS"] == 3
    assert info[b"UIDVALIDITY"] == 1_000_000_001
    assert b"\\Seen" in info[b"FLAGS"]

    assert client.search(["ALL"]) == [1, 2, 3]
    assert client.search(["SUBJECT", "hello"]) == [1]
    assert client.search("UNSEEN") == [2, 3]
    assert client.search(["FROM", "bob@example.org", "SEEN"]) == [1]

    data = client.fetch([1, 2], ["FLAGS", "ENVELOPE", "BODY.PEEK[]", "RFC822.SIZE", "INTERNALDATE"])
    assert sorted(data) == [1, 2]
    assert data[1][b"FLAGS"] == (b"\\Seen",)
    assert data[1][b"ENVELOPE"].subject == b"hello world"
    assert data[1][b"ENVELOPE"].from_[0].mailbox == b"bob"
    assert data[1][b"BODY[]"] == HELLO
    assert data[1][b"RFC822.SIZE"] == len(HELLO)
    assert data[2][b"BODY[]"] == REPORT
    assert isinstance(data[2][b"INTERNALDATE"], datetime.datetime)

    result = client.append("INBOX", APPENDED, flags=[b"\\Seen"], msg_time=APPEND_TIME)
    assert result.startswith(b"[APPENDUID 1000000001 4] Append completed")
    appended = client.fetch([4], ["FLAGS", "INTERNALDATE", "BODY.PEEK[]"])[4]
    assert appended[b"BODY[]"] == APPENDED
    # \Recent: the message arrived while this session had INBOX selected.
    assert appended[b"FLAGS"] == (b"\\Seen", b"\\Recent")
    assert appended[b"INTERNALDATE"].astimezone(datetime.timezone.utc) == APPEND_TIME

    assert client.add_flags([2], [b"\\Flagged", b"$Work"]) == {2: (b"\\Flagged", b"$Work")}
    assert client.get_flags([2]) == {2: (b"\\Flagged", b"$Work")}
    assert client.remove_flags([2], [b"$Work"]) == {2: (b"\\Flagged",)}
    client.set_flags([3], [b"\\Answered"])
    assert client.get_flags([3]) == {3: (b"\\Answered",)}

    client.copy([1], "Archive")
    client.move([2], "Archive")
    assert client.search(["ALL"]) == [1, 3, 4]
    client.delete_messages([3])
    client.expunge()
    assert client.search(["ALL"]) == [1, 4]
    assert client.folder_status("Archive", ["MESSAGES", "UIDNEXT"]) == {b"MESSAGES": 2, b"UIDNEXT": 3}

    client.select_folder("Archive", readonly=True)
    archived = client.fetch([1, 2], ["ENVELOPE", "FLAGS"])
    assert sorted(m[b"ENVELOPE"].subject for m in archived.values()) == [b"hello world", b"monthly report"]
    assert client.unselect_folder() is not None
    assert client.delete_folder("Projects").startswith(b"Delete completed")
    assert client.logout() == b"Logging out"


def test_imapclient_plain(libs, mail, dovecot, opened):
    client = libs.imapclient.IMAPClient(dovecot.host, dovecot.imap_port, ssl=False)
    opened.append(client)
    assert b"STARTTLS" in client.capabilities()
    _imapclient_session(libs, client, mail)


def test_imapclient_starttls(libs, mail, dovecot, opened):
    client = libs.imapclient.IMAPClient(dovecot.host, dovecot.imap_port, ssl=False)
    opened.append(client)
    client.starttls(dovecot.ssl_context())
    assert client.socket().version() in ("TLSv1.2", "TLSv1.3")
    _imapclient_session(libs, client, mail)


def test_imapclient_tls(libs, mail, dovecot, opened):
    client = libs.imapclient.IMAPClient(
        dovecot.host, dovecot.imaps_port, ssl=True, ssl_context=dovecot.ssl_context()
    )
    opened.append(client)
    assert client.socket().version() in ("TLSv1.2", "TLSv1.3")
    _imapclient_session(libs, client, mail)


def test_imapclient_idle(libs, mail, dovecot, opened):
    client = libs.imapclient.IMAPClient(
        dovecot.host, dovecot.imaps_port, ssl=True, ssl_context=dovecot.ssl_context(), timeout=20
    )
    opened.append(client)
    client.login(mail.name, mail.password)
    client.select_folder("INBOX")
    client.idle()
    # Nothing happened yet: a short check comes back empty.
    assert client.idle_check(timeout=0.2) == []
    _other_append(dovecot, mail, ARRIVING)
    seen = []
    deadline = time.monotonic() + 10
    while (4, b"EXISTS") not in seen and time.monotonic() < deadline:
        seen += client.idle_check(timeout=1)
    text, responses = client.idle_done()
    assert (4, b"EXISTS") in seen, seen
    assert text.startswith(b"Idle completed")
    assert client.search(["SUBJECT", "arriving"]) == [4]
    client.logout()


# ---------------------------------------------------------------------------
# imap_tools


def _imap_tools_session(libs, mailbox, user):
    tools = libs.imap_tools
    assert isinstance(mailbox.client, libs.imaplib.IMAP4)
    mailbox.login(user.name, user.password, initial_folder="INBOX")
    assert mailbox.login_result[0] == "OK"
    assert {f.name for f in mailbox.folder.list()} == MAILBOXES
    assert mailbox.folder.get() == "INBOX"
    assert mailbox.folder.status("INBOX")["MESSAGES"] == 3

    messages = list(mailbox.fetch(tools.AND(all=True), mark_seen=False))
    assert [m.uid for m in messages] == ["1", "2", "3"]
    assert [m.subject for m in messages] == ["hello world", "monthly report", "a short note"]
    assert messages[0].from_ == "bob@example.org"
    assert messages[0].text.strip() == "Hello Alice."
    assert messages[0].flags == ("\\Seen",)
    assert mailbox.uids(tools.AND(subject="report")) == ["2"]
    assert mailbox.uids(tools.AND(seen=False)) == ["2", "3"]
    assert mailbox.numbers() == ["1", "2", "3"]

    result = mailbox.append(APPENDED, "INBOX", dt=APPEND_TIME, flag_set=[tools.MailMessageFlags.SEEN])
    assert result[0] == "OK"
    appended = list(mailbox.fetch(tools.AND(uid="4"), mark_seen=False))[0]
    assert appended.subject == "appended message"
    assert appended.date.astimezone(datetime.timezone.utc) == datetime.datetime(
        2023, 11, 6, 10, 0, tzinfo=datetime.timezone.utc)

    mailbox.flag(["2", "3"], tools.MailMessageFlags.FLAGGED, True)
    assert mailbox.uids(tools.AND(flagged=True)) == ["2", "3"]
    mailbox.flag("3", tools.MailMessageFlags.FLAGGED, False)
    assert mailbox.uids(tools.AND(flagged=True)) == ["2"]

    mailbox.copy("1", "Archive")
    mailbox.move("2", "Archive")
    mailbox.delete("3")
    assert mailbox.uids() == ["1", "4"]
    assert mailbox.folder.status("Archive")["MESSAGES"] == 2
    mailbox.folder.set("Archive", readonly=True)
    assert sorted(m.subject for m in mailbox.fetch(headers_only=True)) == ["hello world", "monthly report"]
    mailbox.folder.create("Projects")
    assert mailbox.folder.exists("Projects")
    mailbox.folder.delete("Projects")
    assert mailbox.logout()[0] == "BYE"


def test_imap_tools_tls(libs, mail, dovecot, opened):
    mailbox = libs.imap_tools.MailBox(dovecot.host, dovecot.imaps_port, ssl_context=dovecot.ssl_context())
    opened.append(mailbox)
    _imap_tools_session(libs, mailbox, mail)


def test_imap_tools_plain(libs, mail, dovecot, opened):
    mailbox = libs.imap_tools.MailBoxUnencrypted(dovecot.host, dovecot.imap_port)
    opened.append(mailbox)
    _imap_tools_session(libs, mailbox, mail)


def test_imap_tools_starttls(libs, mail, dovecot, opened):
    mailbox = libs.imap_tools.MailBoxStartTls(dovecot.host, dovecot.imap_port, ssl_context=dovecot.ssl_context())
    opened.append(mailbox)
    _imap_tools_session(libs, mailbox, mail)


def test_imap_tools_idle(libs, mail, dovecot, opened):
    mailbox = libs.imap_tools.MailBox(dovecot.host, dovecot.imaps_port, ssl_context=dovecot.ssl_context())
    opened.append(mailbox)
    mailbox.login(mail.name, mail.password, initial_folder="INBOX")
    errors = []

    def arrive():
        try:
            _other_append(dovecot, mail, ARRIVING, delay=0.3)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    other = threading.Thread(target=arrive)
    other.start()
    try:
        responses = mailbox.idle.wait(timeout=10)
    finally:
        other.join()
    assert not errors, errors
    assert b"* 4 EXISTS" in responses, responses
    assert mailbox.uids(libs.imap_tools.AND(subject="arriving")) == ["4"]
    assert mailbox.logout()[0] == "BYE"
