"""imaplib 3.14's ``idle()``: the ``Idler`` context manager, its iteration
and ``burst()``, against small scripted servers (the cases CPython 3.14's
own tests check) and against Dovecot.

The Python running the tests may be older than 3.14, whose imaplib has no
``idle()``; the module then has none either (as imaplib), and the tests
reach the same implementation through ``_idle`` with ``IDLE`` added to
``Commands``, as 3.14's table has it.
"""

import imaplib
import signal
import socket
import sys
import threading
import time

import pytest

import imaplib_rs


@pytest.fixture
def idle_command():
    """``Commands`` as Python 3.14's imaplib has it."""
    added = "IDLE" not in imaplib_rs.Commands
    if added:
        imaplib_rs.Commands["IDLE"] = ("AUTH", "SELECTED")
    yield
    if added:
        del imaplib_rs.Commands["IDLE"]


def idle(M, duration=None):
    return M.idle(duration) if hasattr(M, "idle") else M._idle(duration)


class Server:
    """A one-connection IMAP server on a loopback port: greets, answers
    CAPABILITY and LOGIN, and hands IDLE to ``on_idle(conn, tag)``."""

    def __init__(self, on_idle, capabilities="IMAP4rev1 IDLE"):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.on_idle = on_idle
        self.capabilities = capabilities
        self.received = []
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            conn, _ = self.listener.accept()
            with conn:
                self.conn = conn
                self.file = conn.makefile("rb")
                self.send(b"* OK IMAP4rev1 ready")
                while True:
                    line = self.file.readline()
                    if not line:
                        return
                    self.received.append(line)
                    tag, name = line.split()[:2]
                    name = name.upper()
                    if name == b"CAPABILITY":
                        self.send(b"* CAPABILITY " + self.capabilities.encode())
                        self.send(tag + b" OK CAPABILITY completed")
                    elif name == b"NOOP":
                        self.send(tag + b" OK NOOP completed")
                    elif name == b"LOGIN":
                        self.send(tag + b" OK LOGIN completed")
                    elif name == b"IDLE":
                        if self.on_idle(self, tag) == "close":
                            return
                    elif name == b"LOGOUT":
                        self.send(b"* BYE bye")
                        self.send(tag + b" OK LOGOUT completed")
                        return
                    else:
                        self.send(tag + b" BAD unexpected")
        except Exception as e:  # reported by finish()
            self.error = e
        finally:
            self.listener.close()

    def send(self, line, end=b"\r\n"):
        self.conn.sendall(line + end)

    def expect_done(self, tag, before=()):
        line = self.file.readline()
        self.received.append(line)
        assert line == b"DONE\r\n", line
        for extra in before:
            self.send(extra)
        self.send(tag + b" OK Idle completed")

    def finish(self):
        self.thread.join(10)
        assert not self.thread.is_alive(), "the server is still running"
        if self.error:
            raise self.error


def connect(server):
    M = imaplib_rs.IMAP4("127.0.0.1", server.port, timeout=10)
    M.login("user", "pass")
    return M


def idling(server, tag):
    server.send(b"* 0 EXISTS")
    server.send(b"+ idling")
    server.send(b"* 2 EXISTS")
    server.send(b"* 1 FETCH (BODY[HEADER.FIELDS (DATE)] {41}")
    server.conn.sendall(b"Date: Fri, 06 Dec 2024 06:00:00 +0000\r\n\r\n)\r\n")
    server.send(b"* 3 EXISTS")
    time.sleep(1)
    server.send(b"* 1 RECENT")
    server.expect_done(tag, before=[b"* 9 RECENT"])


def test_the_module_has_idle_where_imaplib_has_it():
    assert hasattr(imaplib_rs.IMAP4, "idle") == hasattr(imaplib.IMAP4, "idle")
    assert hasattr(imaplib_rs, "Idler") == hasattr(imaplib, "Idler")
    assert ("IDLE" in imaplib_rs.Commands) == ("IDLE" in imaplib.Commands)


def test_a_server_without_idle(idle_command):
    server = Server(None, capabilities="IMAP4rev1")
    M = connect(server)
    with pytest.raises(M.error, match="does not support IMAP4 IDLE"):
        with idle(M):
            pass
    M.logout()
    server.finish()


def test_idle_denied(idle_command):
    def deny(server, tag):
        server.send(tag + b" NO IDLE is not allowed at this time")

    server = Server(deny)
    M = connect(server)
    with pytest.raises(M.error) as raised:
        with idle(M):
            pass
    assert str(raised.value) == "idle denied: [b'IDLE is not allowed at this time']"
    assert M.state == "AUTH"
    assert M.noop()[0] == "OK"  # the connection is usable
    M.logout()
    server.finish()


def test_iteration_yields_each_response_and_exit_keeps_the_rest(idle_command):
    server = Server(idling)
    M = connect(server)
    with idle(M) as idler:
        assert M.state == "IDLING"
        with pytest.raises(M.error, match="command NOOP illegal in state IDLING"):
            M.noop()
        assert next(idler) == ("EXISTS", [b"0"])
        assert next(idler) == ("EXISTS", [b"2"])
        typ, data = next(idler)
        assert typ == "FETCH"
        assert data == [
            (b"1 (BODY[HEADER.FIELDS (DATE)] {41}",
             b"Date: Fri, 06 Dec 2024 06:00:00 +0000\r\n\r\n"),
            b")",
        ]
        assert next(idler) == ("EXISTS", [b"3"])
    assert M.state == "AUTH"
    assert M.response("EXISTS") == ("EXISTS", [None])
    assert M.response("RECENT") == ("RECENT", [b"1", b"9"])
    with pytest.raises(M.error, match="only works during IDLE"):
        next(idler)
    M.logout()
    server.finish()


def test_burst_ends_at_a_pause(idle_command):
    server = Server(idling)
    M = connect(server)
    with idle(M) as idler:
        got = list(idler.burst())
    assert [typ for typ, _ in got] == ["EXISTS", "EXISTS", "FETCH", "EXISTS"]
    assert M.response("RECENT") == ("RECENT", [b"1", b"9"])
    M.logout()
    server.finish()


def test_a_duration_ends_iteration_without_cutting_a_response(idle_command):
    def slow(server, tag):
        server.send(b"+ idling")
        server.conn.sendall(b"* 1 EX")
        time.sleep(0.2)
        server.conn.sendall(b"IS")
        time.sleep(1)
        server.conn.sendall(b"TS\r\n")
        server.expect_done(tag)

    server = Server(slow)
    M = connect(server)
    start = time.monotonic()
    with idle(M, 0.5) as idler:
        with pytest.raises(StopIteration):
            next(idler)
        assert 0.45 <= time.monotonic() - start < 1.1
    # The line that straddled the deadline arrived whole, after DONE.
    assert M.response("EXISTS") == ("EXISTS", [b"1"])
    M.logout()
    server.finish()


def test_a_server_ending_idle_ends_the_iteration(idle_command):
    def end(server, tag):
        server.send(b"+ idling")
        server.send(b"* 4 EXISTS")
        server.send(tag + b" OK IDLE ended by the server")

    server = Server(end)
    M = connect(server)
    with idle(M, 5) as idler:
        assert list(idler) == [("EXISTS", [b"4"])]
    assert M.state == "AUTH"
    M.logout()
    server.finish()
    # No DONE after the server's own completion.
    assert b"DONE\r\n" not in server.received


def test_the_socket_timeout_does_not_end_the_wait(idle_command):
    count = []

    def late(server, tag):
        count.append(tag)
        server.send(b"+ idling")
        time.sleep(0.8)
        server.send(b"* %d EXISTS" % (4 + len(count)))
        server.expect_done(tag)

    server = Server(late)
    M = imaplib_rs.IMAP4("127.0.0.1", server.port, timeout=0.3)
    M.login("user", "pass")
    # As imaplib sets the socket's timeout to what is left of duration
    # (or none at all) while it waits, the socket's 0.3 s do not count.
    with idle(M, 5) as idler:
        assert next(idler) == ("EXISTS", [b"5"])
    with idle(M) as idler:
        assert next(idler) == ("EXISTS", [b"6"])
    assert M.sock.gettimeout() == 0.3
    M.logout()
    server.finish()


def test_a_bye_is_yielded_then_the_connection_fails(idle_command):
    def bye(server, tag):
        server.send(b"+ idling")
        server.send(b"* OK [ALERT] going down soon")
        server.send(b"* BYE shutting down")
        return "close"

    server = Server(bye)
    M = connect(server)
    with pytest.raises(M.abort):
        with idle(M, 5) as idler:
            assert next(idler) == ("OK", [b"[ALERT] going down soon"])
            assert next(idler) == ("ALERT", [b""])
            assert next(idler) == ("BYE", [b"shutting down"])
            next(idler)
    assert M.state == "AUTH"
    server.finish()

    # Leaving right after the BYE: the exit says the server ended it.
    server = Server(bye)
    M = connect(server)
    with pytest.raises(M.abort, match="shutting down"):
        with idle(M, 5) as idler:
            for typ, data in idler:
                if typ == "BYE":
                    break
    assert M.state == "AUTH"
    server.finish()


@pytest.mark.parametrize("transport", ["native", "python socket"])
def test_ctrl_c_while_waiting_reaches_the_program_and_idle_ends_cleanly(idle_command, transport):
    def silent(server, tag):
        server.send(b"+ idling")
        server.expect_done(tag)

    server = Server(silent)
    if transport == "native":
        M = connect(server)
    else:
        # A socket subclass: read through the Python socket object.
        class Socket(socket.socket):
            pass

        class Client(imaplib_rs.IMAP4):
            def _create_socket(self, timeout):
                sock = Socket()
                sock.settimeout(timeout)
                sock.connect((self.host, self.port))
                return sock

        M = Client("127.0.0.1", server.port, timeout=10)
        M.login("user", "pass")
    timer = threading.Timer(0.3, signal.pthread_kill, (threading.get_ident(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):
        with idle(M) as idler:
            timer.start()
            next(idler)
    timer.join()
    # DONE was sent and the completion read: the connection goes on.
    assert M.state == "AUTH"
    assert M.noop()[0] == "OK"
    M.logout()
    server.finish()


def test_duration_and_burst_need_a_socket(idle_command, dovecot, fresh_user):
    M = imaplib_rs.IMAP4_stream(fresh_user.preauth_command())
    with pytest.raises(M.error, match="duration requires a socket connection"):
        idle(M, 1)
    with idle(M) as idler:
        with pytest.raises(M.error, match="burst\\(\\) requires a socket connection"):
            next(idler.burst())
    M.logout()


@pytest.mark.parametrize("transport", ["plain", "tls"])
def test_dovecot_reports_a_message_appended_elsewhere(idle_command, dovecot, fresh_user, transport):
    if transport == "tls":
        # Reads through the Python ssl socket, the wait set on it.
        M = imaplib_rs.IMAP4_SSL("127.0.0.1", dovecot.imaps_port,
                                 ssl_context=dovecot.ssl_context(), timeout=10)
    else:
        M = imaplib_rs.IMAP4("127.0.0.1", dovecot.imap_port, timeout=10)
    M.login(fresh_user.name, fresh_user.password)
    M.select("INBOX")
    other = imaplib_rs.IMAP4("127.0.0.1", dovecot.imap_port, timeout=10)
    other.login(fresh_user.name, fresh_user.password)
    with idle(M, 0.3) as idler:
        # Nothing happens: the duration ends the iteration.
        start = time.monotonic()
        assert list(idler) == []
        assert 0.25 <= time.monotonic() - start < 2
    assert M.sock.gettimeout() == 10
    with idle(M, 10) as idler:
        other.append("INBOX", None, None, b"Subject: new\r\n\r\nhello\r\n")
        typ, data = next(idler)
        while typ != "EXISTS":
            typ, data = next(idler)
        assert data == [b"1"]
    assert M.state == "SELECTED"
    assert M.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])")[0] == "OK"
    other.logout()
    M.logout()
