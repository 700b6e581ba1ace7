"""imaplib_rs beyond the differential tests: the module's ``Debug`` level
and ``_MAXLINE``, the ``proxy=`` option through a real SOCKS5 proxy
(microsocks, from Debian) and a real HTTP CONNECT proxy (tinyproxy), and
Ctrl-C while a command waits."""

import importlib
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

import imaplib_rs

PROXY_USER, PROXY_PASSWORD = "proxyuser", "proxy secret"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port, process, what):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    pytest.fail(f"{what} did not listen on port {port}")


def _program(name):
    path = shutil.which(name) or f"/usr/bin/{name}"
    if not Path(path).exists():
        pytest.fail(f"{name} is not installed (scripts/install-deps.sh installs it)")
    return path


@pytest.fixture
def microsocks():
    """A SOCKS5 proxy that wants a user name and password (RFC 1929)."""
    port = _free_port()
    process = subprocess.Popen(
        [_program("microsocks"), "-i", "127.0.0.1", "-p", str(port),
         "-u", PROXY_USER, "-P", PROXY_PASSWORD],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, process, "microsocks")
        yield port
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def tinyproxy():
    """An HTTP CONNECT proxy with Basic authentication (webuser/webpw)."""
    port = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="imaplib-py-tinyproxy-"))
    conf = workdir / "tinyproxy.conf"
    conf.write_text(
        f"Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\n"
        "Allow 127.0.0.1\nBasicAuth webuser webpw\n"
        f"PidFile \"{workdir}/tinyproxy.pid\"\nLogFile \"{workdir}/tinyproxy.log\"\n")
    process = subprocess.Popen([_program("tinyproxy"), "-d", "-c", str(conf)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, process, "tinyproxy")
        yield port
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def _session(M):
    typ, data = M.login("alice", "alicepw")
    assert typ == "OK"
    typ, data = M.select("INBOX")
    assert typ == "OK" and data == [b"1"]
    typ, data = M.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK" and data[0][1].startswith(b"Subject: through a proxy")
    assert M.logout()[0] == "BYE"


MESSAGE = b"Subject: through a proxy\r\nFrom: a@example.org\r\n\r\nhello\r\n"


def test_socks5_proxy_plain_starttls_and_tls(fresh_user, dovecot, microsocks):
    fresh_user.reset({"INBOX": [MESSAGE]})
    url = f"socks5://{PROXY_USER}:{PROXY_PASSWORD.replace(' ', '%20')}@127.0.0.1:{microsocks}"
    _session(imaplib_rs.IMAP4(dovecot.host, dovecot.imap_port, proxy=url))
    M = imaplib_rs.IMAP4(dovecot.host, dovecot.imap_port, proxy=url)
    assert M.starttls(dovecot.ssl_context()) == ("OK", [None])
    assert M.sock.version() in ("TLSv1.2", "TLSv1.3")
    _session(M)
    M = imaplib_rs.IMAP4_SSL(dovecot.host, dovecot.imaps_port,
                             ssl_context=dovecot.ssl_context(), proxy=url)
    # TLS runs end to end: the certificate is the IMAP server's.
    assert M.sock.getpeercert()["subjectAltName"][0] == ("DNS", "localhost")
    _session(M)


def test_socks5_proxy_refusing_the_credentials(dovecot, microsocks):
    url = f"socks5://{PROXY_USER}:wrong@127.0.0.1:{microsocks}"
    with pytest.raises(ConnectionError, match="refused the user name or password"):
        imaplib_rs.IMAP4(dovecot.host, dovecot.imap_port, proxy=url)


def test_http_connect_proxy(fresh_user, dovecot, tinyproxy):
    fresh_user.reset({"INBOX": [MESSAGE]})
    with pytest.raises(ConnectionError, match="requires a user name and password"):
        imaplib_rs.IMAP4(dovecot.host, dovecot.imap_port, proxy=f"http://127.0.0.1:{tinyproxy}")
    url = f"http://webuser:webpw@127.0.0.1:{tinyproxy}"
    _session(imaplib_rs.IMAP4_SSL(dovecot.host, dovecot.imaps_port,
                                  ssl_context=dovecot.ssl_context(), proxy=url))


def test_unreachable_proxy_and_bad_url(dovecot):
    with pytest.raises(ConnectionError):
        imaplib_rs.IMAP4(dovecot.host, dovecot.imap_port,
                         proxy=f"socks5://127.0.0.1:{_free_port()}")
    with pytest.raises(ValueError):
        imaplib_rs.IMAP4(dovecot.host, dovecot.imap_port, proxy="ftp://127.0.0.1:21")


def test_debug_level_4_traces_through_mesg(fresh_user, dovecot, monkeypatch):
    fresh_user.reset({"INBOX": [MESSAGE]})
    lines = []
    monkeypatch.setattr(imaplib_rs, "Debug", 4)
    monkeypatch.setattr(imaplib_rs.IMAP4, "_mesg", lambda self, s, secs=None: lines.append(s))
    M = imaplib_rs.IMAP4(dovecot.host, dovecot.imap_port)
    assert M.debug == 4
    assert any(line.startswith("new IMAP4 connection, tag=") for line in lines)
    assert any(line.startswith("CAPABILITIES: (") for line in lines)
    M.login("alice", "alicepw")
    M.select("INBOX")
    sent = [line for line in lines if line.startswith("> b'")]
    received = [line for line in lines if line.startswith("< b'")]
    assert any(b" SELECT INBOX'" in line.encode() for line in sent), sent
    assert any("* 1 EXISTS" in line for line in received), received
    # Passwords never reach the trace.
    assert not any("alicepw" in line for line in lines)
    M.debug = 0
    lines.clear()
    M.noop()
    assert lines == []
    M.logout()


def test_maxline_is_read_at_each_use(fresh_user, dovecot, monkeypatch):
    fresh_user.reset({"INBOX": [MESSAGE]})
    M = imaplib_rs.IMAP4(dovecot.host, dovecot.imap_port)
    M.login("alice", "alicepw")
    monkeypatch.setattr(imaplib_rs, "_MAXLINE", 20)
    with pytest.raises(imaplib_rs.IMAP4.error, match="got more than 20 bytes"):
        M.list()


def test_large_fetch_handed_over_in_batches_equals_cpython(fresh_user, dovecot):
    """A FETCH answer of several MiB becomes Python objects batch by batch
    while it arrives; the result is still exactly CPython's."""
    import imaplib as cpython_imaplib

    messages = [
        b"Subject: big %d\r\nFrom: a@example.org\r\n\r\n" % i + (b"%07d " % i) * 8000 + b"\r\n"
        for i in range(1, 41)
    ]
    results = []
    for module in (cpython_imaplib, imaplib_rs):
        fresh_user.reset({"INBOX": messages})
        M = module.IMAP4(dovecot.host, dovecot.imap_port)
        M.login("alice", "alicepw")
        M.select("INBOX")
        M.untagged_responses["FETCH"] = [b"1 (FLAGS (\\Seen))"]  # held from before
        fetched = M.fetch("1:*", "(UID RFC822)")
        uid_fetched = M.uid("FETCH", "1:*", "(RFC822.SIZE BODY.PEEK[TEXT])")
        results.append((fetched, uid_fetched, dict(M.untagged_responses)))
        M.logout()
    assert sum(len(d[1]) for d in results[1][0][1] if isinstance(d, tuple)) > 2_000_000
    for what, ours, theirs in zip(("fetch", "uid fetch", "untagged"), results[1], results[0]):
        if what == "untagged":
            assert ours == theirs
            continue
        assert ours[0] == theirs[0], what
        assert len(ours[1]) == len(theirs[1]), (what, len(ours[1]), len(theirs[1]))
        for i, (a, b) in enumerate(zip(ours[1], theirs[1])):
            assert a == b, (what, i, a if not isinstance(a, tuple) else a[0],
                            b if not isinstance(b, tuple) else b[0])


def test_plain_socket_timeouts_and_non_blocking_mode_as_python(fresh_user, dovecot):
    """The plain socket is read natively; its Python timeout still rules:
    a wait past it raises TimeoutError, a non-blocking socket raises
    BlockingIOError, and the connection stays usable afterwards."""
    fresh_user.reset({"INBOX": [MESSAGE]})
    M = imaplib_rs.IMAP4(dovecot.host, dovecot.imap_port, timeout=0.3)
    assert M.sock.gettimeout() == 0.3
    M.login("alice", "alicepw")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        M.readline()  # the server has nothing to say
    assert 0.25 < time.monotonic() - started < 3
    assert M.sock.gettimeout() == 0.3
    M.sock.setblocking(False)
    with pytest.raises(BlockingIOError):
        M.readline()
    M.sock.setblocking(True)
    assert M.select("INBOX") == ("OK", [b"1"])
    M.sock.settimeout(5)
    assert M.noop()[0] == "OK"
    assert M.logout()[0] == "BYE"


def test_dropped_instance_closes_without_logout():
    """An instance dropped without logout() lets the connection go at once
    (imaplib sends no LOGOUT either): the server sees end of file."""
    import gc
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    seen = []

    def serve():
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"* OK ready\r\n")
            f = conn.makefile("rb")
            tag = f.readline().split()[0]
            conn.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n")
            conn.settimeout(5)
            seen.append(f.readline())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    M = imaplib_rs.IMAP4("127.0.0.1", server.getsockname()[1])
    started = time.monotonic()
    del M
    gc.collect()
    thread.join(5)
    server.close()
    assert seen == [b""], seen
    assert time.monotonic() - started < 1


class _SlowServer:
    """A one-connection server that answers NOOP after 1.5 s, and asks
    for APPEND's literal and AUTHENTICATE's response after 1.5 s."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.literals = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self._serve()
        except OSError:
            pass  # the client gave the connection up (the tests that cut it)

    def _serve(self):
        conn, _ = self.listener.accept()
        with conn:
            f = conn.makefile("rb")
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
            while True:
                line = f.readline()
                if not line:
                    return
                tag, name = line.split()[:2]
                name = name.upper()
                if name == b"NOOP":
                    time.sleep(1.5)
                    conn.sendall(tag + b" OK NOOP done\r\n")
                elif name == b"APPEND":
                    time.sleep(1.5)
                    conn.sendall(b"+ go ahead\r\n")
                    size = int(line.rsplit(b"{", 1)[1].split(b"}")[0])
                    self.literals.append(f.read(size))
                    f.readline()
                    conn.sendall(tag + b" OK APPEND done\r\n")
                elif name == b"AUTHENTICATE":
                    time.sleep(1.5)
                    conn.sendall(b"+ \r\n")
                    f.readline()
                    conn.sendall(tag + b" OK AUTHENTICATE done\r\n")
                elif name == b"LOGOUT":
                    conn.sendall(b"* BYE bye\r\n" + tag + b" OK LOGOUT done\r\n")
                    return
                else:
                    conn.sendall(tag + b" OK done\r\n")


def _interrupt_soon():
    timer = threading.Timer(0.3, signal.pthread_kill, (threading.get_ident(), signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.parametrize("module", ["imaplib", "imaplib_rs"])
@pytest.mark.parametrize("transport", ["native", "python socket"])
def test_ctrl_c_while_waiting_for_a_reply_leaves_the_connection_usable(module, transport):
    # As with CPython's imaplib: KeyboardInterrupt reaches the program, and
    # the next command goes on (the interrupted one's reply is read then).
    lib = importlib.import_module(module)
    server = _SlowServer()
    M = _client(lib, server.port, transport)
    timer = _interrupt_soon()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        M.noop()
    timer.join()
    assert time.monotonic() - started < 1.2
    assert M.noop() == ("OK", [b"NOOP done"])
    assert M.state == "NONAUTH"
    assert M.logout()[0] == "BYE"


def _client(lib, port, transport):
    if transport == "native":
        return lib.IMAP4("127.0.0.1", port)

    class Client(lib.IMAP4):
        def _create_socket(self, timeout):
            class Socket(socket.socket):
                pass
            sock = Socket()
            sock.connect((self.host, self.port))
            return sock
    return Client("127.0.0.1", port)


@pytest.mark.parametrize("transport", ["native", "python socket"])
def test_ctrl_c_while_append_waits_for_the_go_ahead(transport):
    # The literal is sent when the server asks for it, ahead of the next
    # command: the connection stays in step (CPython's imaplib would send
    # the next command where the server expects the literal).
    server = _SlowServer()
    M = _client(imaplib_rs, server.port, transport)
    M.state = "AUTH"
    timer = _interrupt_soon()
    with pytest.raises(KeyboardInterrupt):
        M.append("INBOX", None, None, b"Subject: x\r\n\r\nbody\r\n")
    timer.join()
    assert M.noop() == ("OK", [b"NOOP done"])
    assert server.literals == [b"Subject: x\r\n\r\nbody\r\n"]
    assert M.logout()[0] == "BYE"


@pytest.mark.parametrize("transport", ["native", "python socket"])
def test_ctrl_c_in_the_middle_of_authenticate_breaks_the_connection_clearly(transport):
    # Only the interrupted call could answer the server's challenge: the
    # connection cannot go on, and the next call says why.
    server = _SlowServer()
    M = _client(imaplib_rs, server.port, transport)
    timer = _interrupt_soon()
    with pytest.raises(KeyboardInterrupt):
        M.authenticate("PLAIN", lambda challenge: b"\0user\0pass")
    timer.join()
    with pytest.raises(M.abort, match="interrupted in the middle of an exchange"):
        M.noop()
