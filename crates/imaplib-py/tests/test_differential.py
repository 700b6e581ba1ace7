"""imaplib_rs must return what CPython's imaplib returns.

Every scenario below is a function ``scenario(imp, env, rec)`` that drives
the module ``imp`` (``imaplib`` or ``imaplib_rs``) against the Dovecot
fixture and records each step's outcome with ``rec``: the value returned
(down to the type of every item: ``str``, ``bytes``, ``tuple``, ``None``,
...) or the exception raised (which of ``IMAP4.readonly``/``abort``/
``error``, or the exception type, and its message), and the connection's
``state`` after the step. A test runs the scenario with CPython's imaplib
and with the implementation under test, each time from the same freshly
built mail store, and compares the two recordings step by step.

With ``impl`` = ``cpython`` the "candidate" is CPython again: that run checks
the harness itself (the scenario runs cleanly, and the server state is
rebuilt exactly, so two runs agree byte for byte).

Known, deliberate differences, and how they are kept out of the comparison:

* imaplib_rs verifies certificates by default, CPython's imaplib does not:
  every TLS scenario passes an explicit ``ssl_context`` trusting the test CA.
* Tags are random per connection: no recorded value contains a tag (tags
  never reach returned data or the exception messages used here).
* Not a client difference but server noise: Dovecot appends the time a
  command took to some tagged replies ("... (0.001 + 0.000 secs)."); that
  text is replaced by "(<timing>)" in both recordings.
* ``untagged_responses`` is compared as a mapping (keys and each value list
  in order), not by the order of its keys.
* imaplib sends a ``str`` argument as given, so an argument with a space,
  a quote or 8-bit bytes becomes a broken command; imaplib_rs sends it as a
  quoted string or a literal (a value the caller already quoted passes
  unchanged). The steps where that shows, and the steps whose result
  follows from them, are listed in ``DELIBERATE`` with the reason; each must
  really differ, so the list cannot go stale.

Run ``python test_differential.py --subprocess SCENARIO MODULE`` to print a
scenario's recording (used for the module-level checks, which need a fresh
interpreter or another time zone).
"""

import ast
import contextlib
import datetime
import itertools
import os
import re
import reprlib
import socket
import ssl
import subprocess
import sys
import time
import traceback
from pathlib import Path

import imaplib as cpython_imaplib

import pytest

from conftest import Message

# ---------------------------------------------------------------------------
# Mail used by the scenarios


def _mail(*lines):
    return b"\r\n".join(line.encode("utf-8") if isinstance(line, str) else line for line in lines)


MSG_PLAIN = _mail(
    "From: Alice Example <alice@example.org>",
    "To: Bob Example <bob@example.org>",
    "Subject: hello world",
    "Date: Mon, 06 Nov 2023 10:00:00 +0000",
    "Message-ID: <plain-1@example.org>",
    "",
    "Hello Bob,",
    "this is a plain message.",
    "",
)

MSG_MULTIPART = _mail(
    "From: Carol <carol@example.org>",
    "To: alice@example.org",
    "Cc: Dave <dave@example.org>, erin@example.org",
    "Subject: report with attachment",
    "Date: Tue, 07 Nov 2023 11:30:00 +0100",
    "Message-ID: <multi-1@example.org>",
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="outer"',
    "",
    "This is a multi-part message in MIME format.",
    "--outer",
    'Content-Type: multipart/alternative; boundary="inner"',
    "",
    "--inner",
    "Content-Type: text/plain; charset=us-ascii",
    "",
    "The report is attached.",
    "--inner",
    "Content-Type: text/html; charset=us-ascii",
    "",
    "<p>The report is <b>attached</b>.</p>",
    "--inner--",
    "--outer",
    'Content-Type: application/octet-stream; name="report.bin"',
    "Content-Transfer-Encoding: base64",
    'Content-Disposition: attachment; filename="report.bin"',
    "",
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v",
    "--outer--",
    "",
)

MSG_8BIT = _mail(
    'From: "Jörg Müller" <joerg@example.org>',
    "To: alice@example.org",
    "Subject: Grüße aus Köln",
    "Date: Wed, 08 Nov 2023 08:15:00 -0500",
    "Message-ID: <eight-1@example.org>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    "Schöne Grüße, {5}",
    "Jörg",
    "",
)

MSG_QUOTES = _mail(
    "From: bob@example.org",
    "To: alice@example.org",
    'Subject: Re: say "hi" to C:\\temp (and) [more]',
    "Date: Thu, 09 Nov 2023 23:59:59 +0000",
    "Message-ID: <quotes-1@example.org>",
    "In-Reply-To: <plain-1@example.org>",
    "References: <plain-1@example.org>",
    "",
    "A body line with a literal-looking end {12}",
    "",
)

MSG_LONG = _mail(
    "From: robot@example.org",
    "To: alice@example.org",
    "Subject: a long one",
    "Date: Fri, 10 Nov 2023 12:00:00 +0000",
    "Message-ID: <long-1@example.org>",
    "",
    *("line %05d: %s" % (i, "0123456789abcdef" * 4) for i in range(2500)),
    "",
)

MSG_NEW = _mail(
    "From: carol@example.org",
    "To: alice@example.org",
    "Subject: appended",
    "Date: Sat, 11 Nov 2023 09:00:00 +0000",
    "Message-ID: <new-1@example.org>",
    "",
    "appended body",
    "",
)

# A bare-LF message: APPEND turns every line end into CRLF.
MSG_BARE_LF = b"From: lf@example.org\nSubject: bare line feeds\n\nline one\nline two\n"

#: The mail store most scenarios start from.
BASE_STATE = {
    "mailboxes": {
        "INBOX": [
            Message(MSG_PLAIN, ("\\Seen",)),
            Message(MSG_MULTIPART),
            Message(MSG_8BIT, ("\\Flagged",)),
            Message(MSG_QUOTES, ("\\Seen", "\\Answered")),
        ],
        "Work": [MSG_LONG, MSG_PLAIN],
        "Archive": [],
        "ReadOnly": [MSG_PLAIN],
    },
    "subscriptions": ["INBOX", "Work"],
    "acls": {"ReadOnly": "owner lr"},
}

#: Fixed dates used for APPEND (so that INTERNALDATE is reproducible).
DATE_1 = 1_699_000_000  # 03-Nov-2023 08:26:40 UTC
DATE_2 = 1_698_000_000.5

# ---------------------------------------------------------------------------
# Recording


TIMING = re.compile(r" \(\d+\.\d{3}(?: \+ \d+\.\d{3})* secs\)")
TIMING_B = re.compile(TIMING.pattern.encode())


def normalize(value):
    """Hides Dovecot's command timings (server noise, see the docstring)."""
    if type(value) is bytes:
        return TIMING_B.sub(b" (<timing>)", value)
    if type(value) is str:
        return TIMING.sub(" (<timing>)", value)
    return value


def shape(value):
    """A literal (``ast.literal_eval``-able) picture of ``value`` that keeps
    the exact type of every item, so that comparing two shapes compares
    types as well as values."""
    t = type(value)
    if value is None:
        return None
    if t in (bytes, str):
        return (t.__name__, normalize(value))
    if t in (bool, int, float):
        return (t.__name__, value)
    if t in (tuple, list):
        return (t.__name__, tuple(shape(v) for v in value))
    if t is dict:
        items = sorted(((shape(k), shape(v)) for k, v in value.items()), key=lambda kv: repr(kv[0]))
        return ("dict", tuple(items))
    if t is time.struct_time:
        return ("time.struct_time", tuple(value), value.tm_zone, value.tm_gmtoff)
    return (f"{t.__module__}.{t.__qualname__}", normalize(repr(value)))


def classify(imp, exc):
    """Which of the module's exception classes ``exc`` is, or its type."""
    cls = getattr(imp, "IMAP4", None)
    for name in ("readonly", "abort", "error"):
        kind = getattr(cls, name, None)
        if isinstance(kind, type) and isinstance(exc, kind):
            return f"IMAP4.{name}"
    t = type(exc)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


OK, RAISES, EITHER = "ok", "raises", "either"


class ScenarioStop(Exception):
    """A step the rest of the scenario depends on did not work."""


class Recorder:
    """Collects ``(step, outcome)`` pairs for one run of a scenario."""

    def __init__(self, imp):
        self.imp = imp
        self.steps = []
        #: Steps whose outcome contradicts the scenario's expectation (only
        #: checked for the CPython reference run: it validates the scenario).
        self.unexpected = []
        self.conn = None
        self.conns = []

    def _outcome(self, fn, args, kwargs):
        try:
            return fn(*args, **kwargs), None
        except Exception as e:  # noqa: BLE001 - every failure is recorded
            return None, e

    def call(self, step, fn, *args, expect=OK, **kwargs):
        """Runs ``fn(*args, **kwargs)`` and records its result or exception,
        then the current connection's ``state``."""
        value, exc = self._outcome(fn, args, kwargs)
        if exc is None:
            self.steps.append((step, ("returned", shape(value))))
            if expect == RAISES:
                self.unexpected.append(f"{step}: expected an exception, got {value!r}")
        else:
            self.steps.append((step, ("raised", classify(self.imp, exc), normalize(str(exc)))))
            if expect == OK:
                self.unexpected.append(
                    f"{step}: {''.join(traceback.format_exception(type(exc), exc, exc.__traceback__))}"
                )
        if self.conn is not None:
            self.steps.append((f"{step} -> state", shape(getattr(self.conn, "state", "<no state>"))))
        return value

    def attrs(self, step, obj, *names):
        """Records attributes of ``obj`` (a missing one is recorded as such)."""
        for name in names:
            try:
                value = ("value", shape(getattr(obj, name)))
            except Exception as e:  # noqa: BLE001
                value = ("raised", classify(self.imp, e), str(e))
            self.steps.append((f"{step}: .{name}", value))

    def connect(self, step, factory, *args, expect=OK, **kwargs):
        """Opens a connection (made the current one) and records what it
        knows right away. Raises ``ScenarioStop`` if it could not be made
        and ``expect`` is ``OK``."""
        value, exc = self._outcome(factory, args, kwargs)
        if exc is not None:
            self.steps.append((step, ("raised", classify(self.imp, exc), normalize(str(exc)))))
            if expect == OK:
                self.unexpected.append(f"{step}: {exc!r}")
                raise ScenarioStop(step)
            return None
        self.steps.append((step, ("connected", isinstance(value, self.imp.IMAP4))))
        if expect == RAISES:
            self.unexpected.append(f"{step}: expected an exception")
        self.conns.append(value)
        self.conn = value
        self.attrs(
            step, value, "welcome", "state", "capabilities", "PROTOCOL_VERSION",
            "is_readonly", "untagged_responses",
        )
        return value

    def note(self, step, value):
        self.steps.append((step, ("value", shape(value))))

    def close_all(self):
        for conn in self.conns:
            try:
                conn.shutdown()
            except Exception:  # noqa: BLE001 - already closed
                pass


def run_scenario(scenario, imp, env):
    """Runs ``scenario`` with module ``imp``; returns the ``Recorder``."""
    rec = Recorder(imp)
    commands = getattr(imp, "Commands", None)
    saved = dict(commands) if isinstance(commands, dict) else None
    try:
        scenario(imp, env, rec)
    except ScenarioStop as stop:
        rec.steps.append(("scenario stopped", str(stop)))
    except Exception as e:  # noqa: BLE001
        rec.steps.append(("scenario crashed", classify(imp, e), str(e)))
        rec.unexpected.append("scenario crashed:\n" + traceback.format_exc())
    finally:
        rec.close_all()
        # xatom() adds to the module's Commands table: undo it, so that a
        # scenario does not change what the next one sees.
        if saved is not None:
            commands.clear()
            commands.update(saved)
    return rec


class _Opaque:
    """Stands for a value of a type ``shape`` does not take apart."""

    def __init__(self, type_name, text):
        self.text = f"<{type_name} {text}>"

    def __repr__(self):
        return self.text


def unshape(picture):
    """Rebuilds plain Python values from ``shape``'s picture; their repr
    shows every type that matters (bytes vs str, tuple vs list, None)."""
    if picture is None:
        return None
    kind, content = picture[0], picture[1]
    if kind in ("bytes", "str", "bool", "int", "float"):
        return content
    if kind == "tuple":
        return tuple(unshape(p) for p in content)
    if kind == "list":
        return [unshape(p) for p in content]
    if kind == "dict":
        return {unshape(k): unshape(v) for k, v in content}
    if kind == "time.struct_time":
        return _Opaque(kind, f"{content} zone={picture[2]!r} gmtoff={picture[3]!r}")
    return _Opaque(kind, content)


def render(outcome):
    """One recorded outcome (the part after the step name), readably."""
    if outcome == "<missing>":
        return "<no such step>"
    if len(outcome) == 1 and isinstance(outcome[0], tuple):
        outcome = outcome[0]
    head = outcome[0]
    if head in ("returned", "value") and len(outcome) == 2:
        return f"{head} {describe(unshape(outcome[1]))}"
    if head == "raised":
        return f"raised {outcome[1]}: {describe(outcome[2])}"
    return describe(outcome)


def describe(value, limit=400):
    r = reprlib.Repr()
    r.maxstring = r.maxother = limit
    r.maxtuple = r.maxlist = r.maxdict = 60
    r.maxlevel = 12
    return r.repr(value)


def mismatches(reference, candidate):
    """``[(index, step, cpython, candidate)]`` where the recordings differ."""
    found = []
    for i, (a, b) in enumerate(itertools.zip_longest(reference, candidate)):
        if a != b:
            found.append((i, a[0] if a else b[0], a[1:] if a else "<missing>", b[1:] if b else "<missing>"))
    return found


#: ``(scenario, step)``: why imaplib_rs gives another result there.
_QUOTED = ("imaplib_rs quotes the argument by its content; imaplib sends it "
           "raw, and the server reads something else or refuses the syntax")
DELIBERATE = {
    ("mailbox_management", "list"):
        "the mailbox created from the unquoted 'Unquoted Name': " + _QUOTED
        + " (imaplib's CREATE made 'Unquoted')",
    ("mailbox_management", "list at the end"): "as the step 'list'",
    ("search_sort_thread", "search raw 8-bit bytes (an 8-bit atom)"):
        "an 8-bit word is sent as a literal; imaplib sends an 8-bit atom, "
        "which the server refuses",
    ("server_extensions", "getquota unquoted root with a space"): _QUOTED,
    ("utf8_accept", "create non-ASCII str name (UTF-8 mode)"):
        "the 8-bit name is sent quoted; imaplib sends an 8-bit atom, which "
        "the server refuses",
    ("errors", "list bad syntax"): _QUOTED + " (a lone '\"')",
}


def assert_same(reference, candidate, label, scenario=None):
    """Fails with every step where two recordings (step lists) differ,
    apart from the steps of ``scenario`` listed in DELIBERATE, which must
    differ."""
    found = mismatches(reference, candidate)
    if label == "imaplib_rs" and scenario is not None:
        listed = {step for (name, step) in DELIBERATE if name == scenario}
        differing = {step for _, step, _, _ in found}
        equal = sorted(listed - differing)
        assert not equal, f"listed in DELIBERATE but equal now: {equal}"
        found = [f for f in found if f[1] not in listed]
    if found:
        lines = [f"{len(found)} step(s) differ between CPython's imaplib and {label}:"]
        for i, step, a, b in found[:25]:
            lines.append(f"#{i} {step}\n    cpython: {render(a)}\n    {label}: {render(b)}")
        if len(found) > 25:
            lines.append(f"... and {len(found) - 25} more")
        raise AssertionError("\n".join(lines))


# ---------------------------------------------------------------------------
# The test environment handed to scenarios


class Env:
    def __init__(self, user):
        self.user_ = user
        dovecot = user.dovecot
        self.host = dovecot.host
        self.imap_port = dovecot.imap_port
        self.imaps_port = dovecot.imaps_port
        self.user = user.name
        self.password = user.password
        self._ctx = None

    def ssl_context(self):
        if self._ctx is None:
            self._ctx = self.user_.dovecot.ssl_context()
        return self._ctx

    def preauth_command(self):
        return self.user_.preauth_command()

    def deliver(self, mailbox, message, internaldate):
        self.user_.deliver(mailbox, message, internaldate=internaldate)

    @contextlib.contextmanager
    def closed_port(self):
        """A port on 127.0.0.1 nothing listens on: bound (so that nobody
        else takes it meanwhile) but never listening."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            yield s.getsockname()[1]


# ---------------------------------------------------------------------------
# Scenarios


def login(rec, M, env):
    rec.call("login", M.login, env.user, env.password)


def plain_session(imp, env, rec):
    """Plain TCP: greeting, capabilities, LOGIN, listing, LOGOUT."""
    M = rec.connect("IMAP4(host, port)", imp.IMAP4, env.host, env.imap_port)
    rec.attrs("connected", M, "host", "port")
    rec.call("socket() is .sock", lambda: M.socket() is M.sock)
    rec.call(".sock is a socket.socket", lambda: isinstance(M.sock, socket.socket))
    rec.call("capability", M.capability)
    rec.call("noop (NONAUTH)", M.noop)
    rec.call("select before login", M.select, "INBOX", expect=RAISES)
    rec.call("login wrong password", M.login, env.user, "wrong", expect=RAISES)
    rec.call("login unknown user", M.login, "nobody", "x", expect=RAISES)
    login(rec, M, env)
    rec.attrs("after login", M, "capabilities", "untagged_responses")
    rec.call("login again", M.login, env.user, env.password, expect=RAISES)
    rec.call("capability (AUTH)", M.capability)
    rec.call("CAPABILITY (upper-case alias)", lambda: M.CAPABILITY())
    rec.call("unknown upper-case attribute", lambda: M.NOSUCHCOMMAND, expect=RAISES)
    rec.call("namespace", M.namespace)
    rec.call("list", M.list)
    rec.call("list '%'", M.list, '""', "%")
    rec.call("list 'W*'", M.list, '""', "W*")
    rec.call("list no match", M.list, '""', "NoSuch*")
    rec.call("list keywords", M.list, directory='""', pattern="INBOX")
    rec.call("lsub", M.lsub)
    rec.call("lsub 'W*'", M.lsub, '""', "W*")
    rec.call("check in AUTH", M.check, expect=RAISES)
    rec.call("fetch in AUTH", M.fetch, "1", "(FLAGS)", expect=RAISES)
    rec.call("logout", M.logout)
    rec.attrs("after logout", M, "state")
    rec.call("noop after logout", M.noop, expect=RAISES)

    def with_block():
        with imp.IMAP4(env.host, env.imap_port) as M2:
            rec.conns.append(M2)
            M2.login(env.user, env.password)
            inside = M2.state
        return inside, M2.state

    rec.conn = None
    rec.call("with IMAP4(...) as M: login (state inside, after)", with_block)

    def timeout_kw():
        M3 = imp.IMAP4(env.host, env.imap_port, timeout=7.5)
        rec.conns.append(M3)
        try:
            return M3.sock.gettimeout(), M3.state
        finally:
            M3.logout()

    rec.call("IMAP4(timeout=7.5): socket timeout", timeout_kw)
    rec.call("IMAP4(timeout=0)", imp.IMAP4, env.host, env.imap_port, timeout=0, expect=RAISES)


def starttls_session(imp, env, rec):
    """STARTTLS with an explicit context, then a normal session."""
    M = rec.connect("IMAP4(host, port)", imp.IMAP4, env.host, env.imap_port)
    rec.call("starttls", M.starttls, ssl_context=env.ssl_context())
    rec.attrs("after starttls", M, "capabilities", "state", "untagged_responses")
    rec.call(".sock is an ssl.SSLSocket", lambda: isinstance(M.sock, ssl.SSLSocket))
    rec.call("starttls again", M.starttls, ssl_context=env.ssl_context(), expect=RAISES)
    login(rec, M, env)
    rec.call("starttls in AUTH", M.starttls, ssl_context=env.ssl_context(), expect=RAISES)
    rec.call("select", M.select)
    rec.call("fetch", M.fetch, "1:2", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    rec.call("logout", M.logout)


def implicit_tls_session(imp, env, rec):
    """IMAP4_SSL with an explicit context."""
    ctx = env.ssl_context()
    M = rec.connect("IMAP4_SSL(host, port, ssl_context)", imp.IMAP4_SSL, env.host, env.imaps_port, ssl_context=ctx)
    rec.attrs("connected", M, "host", "port")
    rec.call(".ssl_context is the one given", lambda: M.ssl_context is ctx)
    rec.call(".sock is an ssl.SSLSocket", lambda: isinstance(M.sock, ssl.SSLSocket))
    rec.call("starttls on TLS", M.starttls, ssl_context=ctx, expect=RAISES)
    login(rec, M, env)
    rec.attrs("after login", M, "capabilities")
    rec.call("list", M.list)
    rec.call("select readonly", M.select, "INBOX", readonly=True)
    rec.attrs("after select readonly", M, "is_readonly")
    rec.call("fetch", M.fetch, "1:*", "(UID FLAGS RFC822.SIZE)")
    rec.call("fetch BODY[] readonly", M.fetch, "2", "(BODY[])")
    rec.call("fetch FLAGS again (no \\Seen from BODY[] when read-only)", M.fetch, "2", "(FLAGS)")
    rec.call("logout", M.logout)
    rec.conn = None
    rec.call(
        "IMAP4_SSL(ssl_context and certfile)",
        imp.IMAP4_SSL, env.host, env.imaps_port, certfile="x.pem", ssl_context=ctx, expect=RAISES,
    )
    rec.call(
        "IMAP4_SSL(ssl_context and keyfile)",
        imp.IMAP4_SSL, env.host, env.imaps_port, keyfile="x.key", ssl_context=ctx, expect=RAISES,
    )
    untrusting = ssl.create_default_context()  # the system CAs only
    rec.call(
        "IMAP4_SSL with a context not trusting the CA",
        imp.IMAP4_SSL, env.host, env.imaps_port, ssl_context=untrusting, expect=RAISES,
    )


def stream_session(imp, env, rec):
    """IMAP4_stream on a preauthenticated Dovecot (greeting PREAUTH)."""
    command = env.preauth_command()
    M = rec.connect("IMAP4_stream(command)", imp.IMAP4_stream, command)
    rec.attrs("connected", M, "host", "port")
    rec.call(".command is the one given", lambda: M.command == command)
    rec.call("login when preauthenticated", M.login, env.user, env.password, expect=RAISES)
    rec.call("list", M.list)
    rec.call("select", M.select)
    rec.attrs("after select", M, "untagged_responses")
    rec.call("fetch", M.fetch, "1:*", "(UID FLAGS ENVELOPE)")
    rec.call("search", M.search, None, "UNSEEN")
    env.deliver("INBOX", MSG_NEW, internaldate=DATE_1)
    rec.call("noop (sees the delivered message)", M.noop)
    rec.call("response('EXISTS')", M.response, "EXISTS")
    rec.call("recent", M.recent)
    rec.call("recent again", M.recent)
    rec.call("fetch the new one", M.fetch, "5", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
    rec.call("store +FLAGS", M.store, "5", "+FLAGS", "(\\Deleted)")
    rec.call("expunge", M.expunge)
    rec.call("logout", M.logout)


def auth_mechanisms(imp, env, rec):
    """login_cram_md5 and authenticate() with callables."""
    M = rec.connect("IMAP4 #1", imp.IMAP4, env.host, env.imap_port)
    rec.call("login_cram_md5", M.login_cram_md5, env.user, env.password)
    rec.attrs("after login_cram_md5", M, "capabilities", "untagged_responses")
    rec.call("logout", M.logout)

    M = rec.connect("IMAP4 #2", imp.IMAP4, env.host, env.imap_port)
    rec.call("login_cram_md5 wrong password", M.login_cram_md5, env.user, "wrong", expect=RAISES)
    challenges = []

    def plain(challenge):
        challenges.append(challenge)
        return b"\0" + env.user.encode() + b"\0" + env.password.encode()

    rec.call("authenticate PLAIN", M.authenticate, "PLAIN", plain)
    rec.note("PLAIN challenges seen by the callable", challenges)
    rec.call("authenticate in AUTH", M.authenticate, "PLAIN", plain, expect=RAISES)
    rec.call("logout", M.logout)

    M = rec.connect("IMAP4 #3", imp.IMAP4, env.host, env.imap_port)
    rec.call(
        "authenticate plain (lower case, str answer)",
        M.authenticate, "plain", lambda _: f"\0{env.user}\0{env.password}",
    )
    rec.call("logout", M.logout)

    M = rec.connect("IMAP4 #4", imp.IMAP4, env.host, env.imap_port)
    rec.call("authenticate, callable returns None", M.authenticate, "PLAIN", lambda _: None, expect=RAISES)
    rec.call(
        "authenticate PLAIN wrong password", M.authenticate, "PLAIN",
        lambda _: f"\0{env.user}\0nope", expect=RAISES,
    )
    rec.call("authenticate unknown mechanism", M.authenticate, "NOPE", lambda _: b"", expect=RAISES)
    seen = []

    def login_mech(challenge):
        seen.append(challenge)
        return env.user if len(seen) == 1 else env.password.encode()

    rec.call("authenticate LOGIN (two steps)", M.authenticate, "LOGIN", login_mech)
    rec.note("LOGIN challenges seen by the callable", seen)
    rec.call("logout", M.logout)


def mailbox_management(imp, env, rec):
    """CREATE, RENAME, DELETE, SUBSCRIBE, UNSUBSCRIBE, STATUS, LSUB."""
    M = rec.connect("IMAP4_SSL", imp.IMAP4_SSL, env.host, env.imaps_port, ssl_context=env.ssl_context())
    login(rec, M, env)
    rec.call("create", M.create, "Projects")
    rec.call("create child", M.create, "Projects.2024")
    rec.call("create existing", M.create, "Projects")
    rec.call("create caller-quoted name with a space", M.create, '"Spaced Name"')
    rec.call("create unquoted name with a space", M.create, "Unquoted Name", expect=EITHER)
    rec.call("create non-ASCII str name", M.create, "Café", expect=EITHER)
    rec.call("create modified UTF-7 name", M.create, "Caf&AOk-")
    rec.call("create bytes name", M.create, b"Bytes")
    rec.call("list", M.list)
    rec.call("list Projects*", M.list, '""', "Projects*")
    rec.call("rename", M.rename, "Projects.2024", "Projects.2025")
    rec.call("rename missing", M.rename, "Nope", "Other")
    rec.call("status new mailbox", M.status, "Projects.2025", "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)")
    rec.call("status INBOX", M.status, "INBOX", "(MESSAGES UNSEEN UIDNEXT)")
    rec.call("status quoted name", M.status, '"Spaced Name"', "(MESSAGES)")
    rec.call("status missing", M.status, "Nope", "(MESSAGES)")
    rec.call("status bad item", M.status, "INBOX", "(BOGUS)", expect=RAISES)
    rec.call("subscribe", M.subscribe, "Projects")
    rec.call("subscribe child", M.subscribe, "Projects.2025")
    rec.call("lsub", M.lsub)
    rec.call("lsub Projects*", M.lsub, '""', "Projects*")
    rec.call("unsubscribe", M.unsubscribe, "Projects")
    rec.call("unsubscribe not subscribed", M.unsubscribe, "Work.Nope")
    rec.call("lsub after unsubscribe", M.lsub, '""', "Proj*")
    rec.call("delete child", M.delete, "Projects.2025")
    rec.call("delete", M.delete, "Projects")
    rec.call("delete missing", M.delete, "Nope")
    rec.call("delete INBOX", M.delete, "INBOX")
    rec.call("delete quoted", M.delete, '"Spaced Name"')
    rec.call("delete modified UTF-7", M.delete, "Caf&AOk-")
    rec.call("list at the end", M.list)
    rec.call("logout", M.logout)


def select_examine(imp, env, rec):
    """SELECT / EXAMINE, untagged responses, response(), recent(), read-only."""
    M = rec.connect("IMAP4", imp.IMAP4, env.host, env.imap_port)
    login(rec, M, env)
    rec.call("select", M.select)
    rec.attrs("after select", M, "is_readonly", "untagged_responses")
    rec.call("response('EXISTS') (taken by select)", M.response, "EXISTS")
    rec.call("response('FLAGS')", M.response, "FLAGS")
    rec.call("response('flags') again", M.response, "flags")
    rec.call("response('UIDVALIDITY')", M.response, "UIDVALIDITY")
    rec.call("response('READ-WRITE')", M.response, "READ-WRITE")
    rec.call("recent", M.recent)
    rec.call("recent (asks with NOOP)", M.recent)
    rec.attrs("after recent", M, "untagged_responses")
    rec.call("select Work", M.select, "Work")
    rec.call("check", M.check)
    rec.call("select INBOX readonly (EXAMINE)", M.select, "INBOX", True)
    rec.attrs("after examine", M, "is_readonly", "untagged_responses")
    rec.call("store while read-only", M.store, "1", "+FLAGS", "(\\Flagged)", expect=EITHER)
    rec.call("expunge while read-only", M.expunge, expect=EITHER)
    rec.call("select a mailbox without write rights", M.select, "ReadOnly", expect=RAISES)
    rec.attrs("after readonly error", M, "is_readonly")
    rec.call("noop after READ-ONLY", M.noop, expect=RAISES)
    rec.call("select readonly=True a mailbox without write rights", M.select, "ReadOnly", readonly=True)
    rec.call("fetch", M.fetch, "1", "(FLAGS)")
    rec.call("select missing", M.select, "Nope")
    rec.attrs("after failed select", M, "is_readonly", "untagged_responses")
    rec.call("close in AUTH", M.close, expect=RAISES)
    rec.call("select INBOX", M.select, "INBOX")
    rec.call("unselect", M.unselect)
    rec.call("unselect again", M.unselect, expect=RAISES)
    rec.call("select INBOX again", M.select, "INBOX")
    rec.call("close", M.close)
    rec.call("logout", M.logout)


def append_and_fetch(imp, env, rec):
    """APPEND (flags, dates) and FETCH with many item lists."""
    M = rec.connect("IMAP4", imp.IMAP4, env.host, env.imap_port)
    login(rec, M, env)
    rec.call("select", M.select)
    tz = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    rec.call(
        "append flags + Time2Internaldate(int)",
        M.append, "INBOX", "(\\Seen \\Flagged)", imp.Time2Internaldate(DATE_1), MSG_NEW,
    )
    rec.call("append flags without parentheses + float", M.append, "INBOX", "\\Draft", DATE_2, MSG_PLAIN)
    rec.call(
        "append aware datetime, no flags",
        M.append, "INBOX", None, datetime.datetime(2023, 10, 1, 12, 0, 0, tzinfo=tz), MSG_BARE_LF,
    )
    rec.call(
        "append struct_time to '' (INBOX)",
        M.append, "", "", time.localtime(DATE_1 + 60), MSG_QUOTES,
    )
    rec.call("append without a date to Archive", M.append, "Archive", None, None, MSG_NEW)
    rec.call("append to a missing mailbox", M.append, "Nope", None, DATE_1, MSG_NEW)
    rec.call("append str message", M.append, "Archive", None, DATE_1, "text", expect=RAISES)
    rec.call("append naive datetime", M.append, "Archive", None, datetime.datetime(2020, 1, 1), MSG_NEW, expect=RAISES)
    rec.call("noop (new messages)", M.noop)
    rec.call("response('EXISTS')", M.response, "EXISTS")
    rec.call("response('RECENT')", M.response, "RECENT")
    rec.call("status Archive", M.status, "Archive", "(MESSAGES UIDNEXT)")
    items = [
        ("1", "(RFC822)"),
        ("1", "RFC822"),
        ("1", "(RFC822.HEADER)"),
        ("2", "(BODY[])"),
        ("2", "(FLAGS)"),
        ("1:3", "(BODY.PEEK[HEADER])"),
        ("1:*", "(UID FLAGS ENVELOPE BODYSTRUCTURE INTERNALDATE RFC822.SIZE)"),
        ("1:*", "(BODY)"),
        ("2", "(BODY[1])"),
        ("2", "(BODY.PEEK[1.1] BODY.PEEK[1.2] BODY.PEEK[2])"),
        ("2", "(BODY.PEEK[2.MIME] BODY.PEEK[TEXT]<0.20>)"),
        ("3", "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])"),
        ("3", "(BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT FROM DATE)])"),
        ("3", "(BINARY.PEEK[1] BINARY.SIZE[1])"),
        ("4", "(ENVELOPE)"),
        ("1,3", "(FLAGS)"),
        ("3:1", "(UID)"),
        ("*", "(UID FLAGS)"),
        ("5:8", "(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"),
        ("1", "FAST"),
        ("1", "ALL"),
        ("1", "FULL"),
    ]
    for message_set, parts in items:
        rec.call(f"fetch {message_set} {parts}", M.fetch, message_set, parts)
    rec.call("fetch out of range", M.fetch, "99", "(FLAGS)", expect=RAISES)
    rec.call("fetch bad item", M.fetch, "1", "(NOSUCHITEM)", expect=RAISES)
    rec.call("uid FETCH", M.uid, "FETCH", "1:*", "(FLAGS)")
    rec.call("uid fetch (lower case) one", M.uid, "fetch", "3", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    rec.call("uid FETCH none", M.uid, "FETCH", "1000", "(FLAGS)")
    rec.call("select Work", M.select, "Work")
    rec.call("fetch a long message", M.fetch, "1", "(RFC822.SIZE BODY.PEEK[])")
    rec.call("fetch both", M.fetch, "1:2", "(BODY.PEEK[TEXT]<0.100>)")
    rec.call("logout", M.logout)


def search_sort_thread(imp, env, rec):
    """SEARCH with criteria and charsets, UID SEARCH, SORT, THREAD."""
    M = rec.connect("IMAP4", imp.IMAP4, env.host, env.imap_port)
    login(rec, M, env)
    rec.call("search before select", M.search, None, "ALL", expect=RAISES)
    rec.call("select", M.select)
    searches = [
        (None, "ALL"),
        (None, "UNSEEN"),
        (None, "SEEN", "ANSWERED"),
        (None, "FLAGGED"),
        (None, "FROM", '"alice"'),
        (None, "(OR SUBJECT hello SUBJECT report)"),
        (None, "SINCE", "01-Jan-2020", "NOT", "DELETED"),
        (None, "BEFORE", "01-Jan-2000"),
        (None, "HEADER", "Message-ID", "<quotes-1@example.org>"),
        (None, "BODY", "report"),
        (None, "LARGER", "600"),
        (None, "1:2"),
        ("UTF-8", "SUBJECT", "hello"),
        ("US-ASCII", "ALL"),
        (None, b"ALL"),
    ]
    for args in searches:
        rec.call(f"search {args!r}", M.search, *args)
    rec.call("search raw 8-bit bytes (an 8-bit atom)", M.search, "UTF-8", b"SUBJECT", "Grüße".encode(), expect=EITHER)
    rec.call("search unknown charset", M.search, "X-NO-SUCH-CHARSET", "ALL", expect=EITHER)
    rec.call("search bad criterion", M.search, None, "BOGUS", expect=RAISES)
    rec.call("search non-ASCII str (ASCII mode)", M.search, None, "SUBJECT", "Grüße", expect=RAISES)
    rec.call("uid SEARCH ALL", M.uid, "SEARCH", "ALL")
    rec.call("uid SEARCH UID range", M.uid, "SEARCH", "UID", "2:*")
    rec.call("uid SEARCH charset", M.uid, "SEARCH", "CHARSET", "UTF-8", "SUBJECT", "world")
    rec.call("sort by subject", M.sort, "(SUBJECT)", "UTF-8", "ALL")
    rec.call("sort without parentheses", M.sort, "REVERSE DATE", "UTF-8", "ALL")
    rec.call("sort bad key", M.sort, "(NOSUCHKEY)", "UTF-8", "ALL", expect=RAISES)
    rec.call("uid SORT", M.uid, "SORT", "(ARRIVAL)", "UTF-8", "SEEN")
    rec.call("thread REFERENCES", M.thread, "REFERENCES", "UTF-8", "ALL")
    rec.call("thread ORDEREDSUBJECT", M.thread, "ORDEREDSUBJECT", "UTF-8", "ALL")
    rec.call("uid THREAD", M.uid, "THREAD", "REFERENCES", "US-ASCII", "ALL")
    rec.call("uid unknown command", M.uid, "NOSUCH", "1", expect=RAISES)
    rec.call("logout", M.logout)


def flags_copy_move_expunge(imp, env, rec):
    """STORE, COPY, MOVE, EXPUNGE, CHECK, CLOSE, UNSELECT."""
    M = rec.connect("IMAP4_SSL", imp.IMAP4_SSL, env.host, env.imaps_port, ssl_context=env.ssl_context())
    login(rec, M, env)
    rec.call("select", M.select)
    rec.call("store +FLAGS", M.store, "1", "+FLAGS", "(\\Flagged)")
    rec.call("store -FLAGS without parentheses", M.store, "1:2", "-FLAGS", "\\Seen")
    rec.call("store FLAGS.SILENT", M.store, "2", "FLAGS.SILENT", "(\\Answered)")
    rec.call("store keyword", M.store, "3", "+FLAGS", "($Important)")
    rec.call("store FLAGS replace", M.store, "4", "FLAGS", "(\\Seen)")
    rec.call("store +FLAGS.SILENT", M.store, "1:*", "+FLAGS.SILENT", "(\\Draft)")
    rec.call("store bad message set", M.store, "x", "+FLAGS", "(\\Seen)", expect=RAISES)
    rec.call("fetch flags", M.fetch, "1:*", "(FLAGS)")
    rec.call("uid STORE", M.uid, "STORE", "1", "+FLAGS", "(\\Deleted)")
    rec.call("uid STORE silent", M.uid, "STORE", "2", "+FLAGS.SILENT", "(\\Deleted)")
    rec.call("copy", M.copy, "1:2", "Archive")
    rec.call("copy to a missing mailbox", M.copy, "1", "Nope")
    rec.call("uid COPY", M.uid, "COPY", "3", "Archive")
    rec.call("uid MOVE", M.uid, "MOVE", "4", "Archive")
    rec.attrs("after uid MOVE", M, "untagged_responses")
    if hasattr(cpython_imaplib.IMAP4, "move"):  # not in CPython 3.11
        rec.call("move", M.move, "1", "Work")
    rec.call("response('EXPUNGE')", M.response, "EXPUNGE")
    rec.call("fetch flags", M.fetch, "1:*", "(UID FLAGS)")
    rec.call("expunge", M.expunge)
    rec.call("expunge again (nothing)", M.expunge)
    rec.call("check", M.check)
    rec.call("status Archive", M.status, "Archive", "(MESSAGES UIDNEXT UIDVALIDITY)")
    rec.call("select Archive", M.select, "Archive")
    rec.call("fetch Archive", M.fetch, "1:*", "(UID FLAGS ENVELOPE)")
    rec.call("store \\Deleted", M.store, "1", "+FLAGS", "(\\Deleted)")
    rec.call("close (expunges)", M.close)
    rec.call("status Archive after close", M.status, "Archive", "(MESSAGES)")
    rec.call("expunge in AUTH", M.expunge, expect=RAISES)
    rec.call("select INBOX", M.select, "INBOX")
    rec.call("unselect", M.unselect)
    rec.call("logout", M.logout)


def server_extensions(imp, env, rec):
    """NAMESPACE, QUOTA, ACL, ENABLE, xatom and commands Dovecot lacks."""
    M = rec.connect("IMAP4", imp.IMAP4, env.host, env.imap_port)
    rec.call("enable in NONAUTH", M.enable, "CONDSTORE", expect=RAISES)
    login(rec, M, env)
    rec.call("namespace", M.namespace)
    rec.call("getquotaroot", M.getquotaroot, "INBOX")
    rec.call("getquota", M.getquota, '"User quota"')
    rec.call("getquota unquoted root with a space", M.getquota, "User quota", expect=EITHER)
    rec.call("getquota missing root", M.getquota, '"Nope"', expect=EITHER)
    rec.call("setquota", M.setquota, '"User quota"', "(STORAGE 500)", expect=EITHER)
    rec.call("myrights", M.myrights, "INBOX")
    rec.call("myrights read-only mailbox", M.myrights, "ReadOnly")
    rec.call("getacl", M.getacl, "INBOX")
    rec.call("setacl", M.setacl, "INBOX", "bob", "lr")
    rec.call("getacl after setacl", M.getacl, "INBOX")
    rec.call("deleteacl", M.deleteacl, "INBOX", "bob")
    rec.call("getacl after deleteacl", M.getacl, "INBOX")
    rec.call("getacl missing mailbox", M.getacl, "Nope", expect=EITHER)
    rec.call("getannotation", M.getannotation, "INBOX", '"/comment"', '"value.priv"', expect=EITHER)
    rec.call("setannotation", M.setannotation, "INBOX", '"/comment"', '("value.priv" "x")', expect=EITHER)
    rec.call("proxyauth", M.proxyauth, "bob", expect=EITHER)
    rec.call("xatom ID", M.xatom, "ID", '("name" "imaplib-test")')
    rec.call("response('ID')", M.response, "ID")
    rec.call("xatom unknown command", M.xatom, "XNOSUCHCOMMAND", expect=RAISES)
    rec.call("xatom NOOP with argument", M.xatom, "noop")
    rec.call("enable CONDSTORE", M.enable, "CONDSTORE")
    rec.call("response('ENABLED')", M.response, "ENABLED")
    rec.call("select (CONDSTORE on)", M.select)
    rec.attrs("after select", M, "untagged_responses")
    rec.call("enable in SELECTED", M.enable, "QRESYNC", expect=RAISES)
    rec.call("partial (Dovecot lacks it)", M.partial, "1", "BODY[]", "0", "10", expect=RAISES)
    # CPython sends arguments as given: ints are a TypeError.
    rec.call("partial with int arguments", M.partial, "1", "BODY[]", 0, 10, expect=EITHER)
    rec.call("fetch MODSEQ", M.fetch, "1:2", "(MODSEQ FLAGS)")
    rec.call("logout via xatom (returns the BYE)", M.xatom, "LOGOUT", expect=EITHER)
    rec.attrs("after BYE", M, "state")


def utf8_accept(imp, env, rec):
    """ENABLE UTF8=ACCEPT: CPython switches to UTF-8 on any OK reply."""
    M = rec.connect("IMAP4", imp.IMAP4, env.host, env.imap_port)
    login(rec, M, env)
    rec.attrs("before enable", M, "utf8_enabled")
    rec.call("enable UTF8=ACCEPT", M.enable, "UTF8=ACCEPT")
    rec.attrs("after enable", M, "utf8_enabled")
    rec.call("select", M.select)
    rec.call("search non-ASCII str (UTF-8 mode)", M.search, None, "SUBJECT", "Grüße", expect=EITHER)
    rec.call("create non-ASCII str name (UTF-8 mode)", M.create, "Café", expect=EITHER)
    rec.call("list", M.list)
    rec.call("logout", M.logout)


def errors(imp, env, rec):
    """Exceptions: connection refused, wrong state, BAD replies, abort."""
    with env.closed_port() as port:
        rec.call("IMAP4 to a closed port", imp.IMAP4, env.host, port, expect=RAISES)
    M = rec.connect("IMAP4", imp.IMAP4, env.host, env.imap_port)
    rec.call("status in NONAUTH", M.status, "INBOX", "(MESSAGES)", expect=RAISES)
    rec.call("uid in NONAUTH", M.uid, "FETCH", "1", "(FLAGS)", expect=RAISES)
    rec.call("login with a quote in the password", M.login, env.user, 'pa"ss\\word', expect=RAISES)
    login(rec, M, env)
    rec.call("store in AUTH", M.store, "1", "+FLAGS", "(\\Seen)", expect=RAISES)
    rec.call("uid FETCH in AUTH", M.uid, "FETCH", "1", "(FLAGS)", expect=RAISES)
    rec.call("select missing", M.select, "NoSuchBox")
    rec.call("examine missing", M.select, "NoSuchBox", readonly=True)
    rec.call("create invalid name", M.create, '""', expect=EITHER)
    rec.call("list bad syntax", M.list, '"', "*", expect=RAISES)
    rec.call("select", M.select)
    rec.call("copy bad set", M.copy, "0", "Archive", expect=RAISES)
    rec.call("logout", M.logout)
    # Dovecot says "* BYE Too many invalid IMAP commands." and hangs up on
    # the 21st bad command in a row: an IMAP4.abort from the client.
    M = rec.connect("IMAP4 (bad commands)", imp.IMAP4, env.host, env.imap_port)
    login(rec, M, env)
    outcomes = []
    for _ in range(20):
        try:
            M.xatom("XBOGUS")
            outcomes.append("returned")
        except Exception as e:  # noqa: BLE001
            outcomes.append(classify(imp, e))
    rec.note("20 bad commands", outcomes)
    rec.call("the 21st bad command (server says BYE)", M.xatom, "XBOGUS", expect=RAISES)
    rec.attrs("after abort", M, "state")


SCENARIOS = [
    plain_session,
    starttls_session,
    implicit_tls_session,
    stream_session,
    auth_mechanisms,
    mailbox_management,
    select_examine,
    append_and_fetch,
    search_sort_thread,
    flags_copy_move_expunge,
    server_extensions,
    utf8_accept,
    errors,
]

# ---------------------------------------------------------------------------
# Module-level functions and constants (no server)


class _Other:
    pass


def module_functions(imp, env, rec):
    """Internaldate2tuple, Int2AP, ParseFlags, Time2Internaldate."""
    dates = [
        b'INTERNALDATE "01-Jan-2000 12:00:00 +0000"',
        b'1 (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700")',
        b'INTERNALDATE " 1-Feb-2024 23:59:59 +0530"',
        b'INTERNALDATE "29-Feb-2024 00:00:00 -1200"',
        b'INTERNALDATE "31-Dec-1969 23:59:59 +0000"',
        b'INTERNALDATE "01-Jan-2038 03:14:08 +0000"',
        b'INTERNALDATE "01-Foo-2000 12:00:00 +0000"',
        b'INTERNALDATE "1-Jan-2000 12:00:00 +0000"',
        b"no date here",
        b"",
    ]
    for value in dates:
        # An unknown month name raises KeyError in CPython: compared as is.
        rec.call(f"Internaldate2tuple({value!r})", imp.Internaldate2tuple, value, expect=EITHER)
    rec.call("Internaldate2tuple(str)", imp.Internaldate2tuple, 'INTERNALDATE "01-Jan-2000 12:00:00 +0000"', expect=RAISES)
    for value in (0, 1, 15, 16, 255, 4096, 65535, 123456789, -42, 2**70, 3.9, True):
        rec.call(f"Int2AP({value!r})", imp.Int2AP, value)
    rec.call("Int2AP('x')", imp.Int2AP, "x", expect=RAISES)
    flags = [
        b"1 (FLAGS (\\Seen \\Deleted))",
        b"12 (UID 7 FLAGS (\\Answered $Label1 NonJunk) RFC822.SIZE 44)",
        b"1 (FLAGS ())",
        b"(FLAGS (\\Seen))",
        b"1 (UID 3)",
        b"",
    ]
    for value in flags:
        rec.call(f"ParseFlags({value!r})", imp.ParseFlags, value)
    rec.call("ParseFlags(str)", imp.ParseFlags, "1 (FLAGS (\\Seen))", expect=RAISES)
    utc = datetime.timezone.utc
    values = [
        ("int", 1_700_000_000),
        ("int 0", 0),
        ("negative int", -86400),
        ("float", 1_700_000_000.75),
        ("struct_time localtime", time.localtime(1_700_000_000)),
        ("struct_time gmtime", time.gmtime(1_700_000_000)),
        ("summer struct_time localtime", time.localtime(1_690_000_000)),
        ("9-tuple dst=-1", (2023, 7, 1, 12, 0, 0, 0, 0, -1)),
        ("9-tuple dst=0", (2023, 1, 15, 8, 30, 0, 0, 0, 0)),
        ("9-tuple dst=1", (2023, 7, 15, 8, 30, 0, 0, 0, 1)),
        ("aware datetime UTC", datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=utc)),
        ("aware datetime +05:30", datetime.datetime(2024, 2, 29, 1, 2, 3, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30)))),
        ("aware datetime -03:00", datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=datetime.timezone(datetime.timedelta(hours=-3)))),
        ("aware datetime with microseconds", datetime.datetime(2023, 5, 6, 7, 8, 9, 999999, tzinfo=utc)),
        ("quoted string", '"01-Jan-2000 00:00:00 +0000"'),
        ("quoted anything", '"whatever"'),
    ]
    for label, value in values:
        rec.call(f"Time2Internaldate({label})", imp.Time2Internaldate, value)
    bad = [
        ("naive datetime", datetime.datetime(2023, 11, 14, 22, 13, 20)),
        ("unquoted string", "01-Jan-2000 00:00:00 +0000"),
        ("empty string", ""),
        ("bytes", b'"01-Jan-2000 00:00:00 +0000"'),
        ("list", [2023, 1, 1, 0, 0, 0, 0, 0, 0]),
        ("None", None),
        ("object", _Other()),
        ("date", datetime.date(2023, 1, 1)),
    ]
    for label, value in bad:
        rec.call(f"Time2Internaldate({label})", imp.Time2Internaldate, value, expect=RAISES)
    # Works in zones without DST, IndexError in zones with DST: compared as is.
    rec.call("Time2Internaldate(short tuple)", imp.Time2Internaldate, (2023, 1, 1, 0, 0, 0), expect=EITHER)


def module_constants(imp, env, rec):
    """Module constants, the Commands table, __all__ and the classes."""
    rec.call("IMAP4_PORT", lambda: imp.IMAP4_PORT)
    rec.call("IMAP4_SSL_PORT", lambda: imp.IMAP4_SSL_PORT)
    rec.call("type(Commands)", lambda: type(imp.Commands).__name__)
    rec.call("Commands keys", lambda: sorted(imp.Commands))
    rec.call("Commands items", lambda: sorted(imp.Commands.items()))
    rec.call("__all__", lambda: imp.__all__)
    rec.call("every name in __all__ exists", lambda: [n for n in imp.__all__ if not hasattr(imp, n)])
    rec.call("IMAP4_SSL and IMAP4_stream subclass IMAP4", lambda: (
        issubclass(imp.IMAP4_SSL, imp.IMAP4), issubclass(imp.IMAP4_stream, imp.IMAP4)))
    rec.call("exception hierarchy", lambda: (
        issubclass(imp.IMAP4.error, Exception),
        issubclass(imp.IMAP4.abort, imp.IMAP4.error),
        issubclass(imp.IMAP4.readonly, imp.IMAP4.abort),
        imp.IMAP4_SSL.error is imp.IMAP4.error,
        imp.IMAP4_stream.abort is imp.IMAP4.abort,
    ))
    rec.call("exception class names", lambda: (
        imp.IMAP4.error.__name__, imp.IMAP4.abort.__name__, imp.IMAP4.readonly.__name__))


def run_in_subprocess(scenario_name, module_name, tz=None):
    """Runs a server-less scenario in a fresh interpreter (optionally with
    ``TZ`` set) and returns its steps and unexpected outcomes."""
    env = dict(os.environ)
    if tz is not None:
        env["TZ"] = tz
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--subprocess", scenario_name, module_name],
        env=env, capture_output=True, timeout=60, cwd=str(Path(__file__).resolve().parent),
    )
    if out.returncode != 0:
        raise AssertionError(
            f"{scenario_name} with {module_name} failed in a subprocess:\n"
            + out.stderr.decode("utf-8", "replace")
        )
    return ast.literal_eval(out.stdout.decode("utf-8"))


def _subprocess_main(scenario_name, module_name):
    import importlib

    imp = importlib.import_module(module_name)
    scenario = {"module_functions": module_functions, "module_constants": module_constants}[scenario_name]
    rec = run_scenario(scenario, imp, None)
    print(repr((rec.steps, rec.unexpected)))


# ---------------------------------------------------------------------------
# Tests


def _label(impl):
    return "imaplib_rs" if impl is not cpython_imaplib else "CPython (second run)"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_scenario(impl, scenario, fresh_user):
    env = Env(fresh_user)
    fresh_user.reset(**BASE_STATE)
    reference = run_scenario(scenario, cpython_imaplib, env)
    assert not reference.unexpected, (
        "the scenario itself is wrong (CPython's imaplib did not behave as it expects):\n"
        + "\n".join(reference.unexpected)
    )
    fresh_user.reset(**BASE_STATE)
    candidate = run_scenario(scenario, impl, env)
    assert_same(reference.steps, candidate.steps, _label(impl), scenario.__name__)


def test_module_functions(impl):
    reference = run_scenario(module_functions, cpython_imaplib, None)
    assert not reference.unexpected, "\n".join(reference.unexpected)
    candidate = run_scenario(module_functions, impl, None)
    assert_same(reference.steps, candidate.steps, _label(impl))


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/St_Johns", "Asia/Kolkata"])
def test_module_functions_in_timezone(impl, tz):
    """Local time conversions, in a fresh interpreter started with ``TZ``."""
    if not Path("/usr/share/zoneinfo", tz).exists():
        pytest.fail(f"time zone data for {tz} is missing (install tzdata)")
    reference, unexpected = run_in_subprocess("module_functions", "imaplib", tz)
    assert not unexpected, "\n".join(unexpected)
    candidate, _ = run_in_subprocess("module_functions", impl.__name__, tz)
    assert_same(reference, candidate, _label(impl))


def test_module_constants(impl):
    """In a fresh interpreter: nothing has changed ``Commands`` yet."""
    reference, unexpected = run_in_subprocess("module_constants", "imaplib")
    assert not unexpected, "\n".join(unexpected)
    candidate, _ = run_in_subprocess("module_constants", impl.__name__)
    assert_same(reference, candidate, _label(impl))


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--subprocess":
    _subprocess_main(sys.argv[2], sys.argv[3])
