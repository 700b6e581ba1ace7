"""pytest fixtures for the imaplib_rs tests.

* ``dovecot`` (session): a throwaway Dovecot 2.3 daemon on 127.0.0.1, with a
  plaintext port (offering STARTTLS), an implicit-TLS port whose certificate
  is signed by a private CA, the users alice/alicepw and bob/bobpw, and the
  QUOTA, ACL, METADATA and SPECIAL-USE extensions. Everything lives in one
  temporary directory, removed at the end. This is the Python counterpart
  of crates/imaplib/tests/support/dovecot.rs and keeps its behaviour (root
  vs. non-root, the supervisor that stops Dovecot when this process dies,
  the fast shutdown).
* ``fresh_user`` (function): alice with a freshly built, empty mail store;
  ``fresh_user.reset(...)`` rebuilds it with given messages. The store is
  built deterministically (fixed UIDs, UIDVALIDITY values and INTERNALDATEs)
  so that the same scenario run twice from ``reset`` sees byte-identical
  server responses.
* ``impl`` (function, parametrized ``cpython``/``rs``): the imaplib module
  under test. If ``imaplib_rs`` cannot be imported the ``rs`` tests fail
  with the ImportError; they are never skipped.

A missing Dovecot or openssl, or a daemon that does not come up, makes the
tests fail (with Dovecot's log in the message), never skip.

Run from the repository root with the project's virtualenv:

    target/pyenv/bin/pytest crates/imaplib-py/tests            # everything
    target/pyenv/bin/pytest crates/imaplib-py/tests -k cpython # the harness alone
"""

import dataclasses
import grp
import hashlib
import importlib
import os
import pwd
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

# ---------------------------------------------------------------------------
# Constants

#: Test users and their passwords.
USERS = {"alice": "alicepw", "bob": "bobpw"}

#: Mailboxes Dovecot creates and subscribes by itself, with their flag.
SPECIAL_USE_MAILBOXES = (
    ("Drafts", "\\Drafts"),
    ("Junk", "\\Junk"),
    ("Sent", "\\Sent"),
    ("Trash", "\\Trash"),
)

#: Storage limit announced through QUOTA, in KiB.
QUOTA_STORAGE_KB = 1024 * 1024

#: How long the daemon may take to greet.
START_TIMEOUT = 15.0
#: New ports are picked this many times after a lost port race.
START_ATTEMPTS = 4
#: After SIGTERM, the daemon gets this long before it is killed.
STOP_GRACE = 2.0
#: How long stopping waits for the supervisor at all.
STOP_TIMEOUT = 10.0

#: First INTERNALDATE (seconds since the epoch) given to messages put in
#: place by ``reset`` (14 Nov 2023 22:13:20 UTC); message i of a mailbox
#: gets this plus i hours unless it names its own date.
FIXED_EPOCH = 1_700_000_000
#: UIDVALIDITY of INBOX after ``reset``; the other mailboxes built by
#: ``reset`` follow in order (+1, +2, ...).
FIXED_UIDVALIDITY = 1_000_000_001
#: Mailboxes created by a client (CREATE, RENAME, COPY with auto-create)
#: get UIDVALIDITY values counting up from this one plus one, whatever the
#: clock says (Dovecot's ``dovecot-uidvalidity`` file, see
#: src/lib-storage/mailbox-uidvalidity.c).
UIDVALIDITY_COUNTER = 1_100_000_000

#: Maildir info letters of the IMAP system flags.
MAILDIR_FLAG_LETTERS = {
    "\\Draft": "D",
    "\\Flagged": "F",
    "\\Answered": "R",
    "\\Seen": "S",
    "\\Deleted": "T",
}

INSTALL_HINT = (
    "run `scripts/install-deps.sh` (as root or with sudo) to install dovecot-imapd and openssl"
)

# Supervisor run by `sh -c` as the direct child of this process (the same
# script as the Rust support uses). It starts `dovecot -F` and blocks reading
# its own stdin, a pipe whose write end only this process holds. When that
# pipe closes (the fixture stops it, or this process exits or is killed),
# it marks the shutdown, sends SIGTERM to Dovecot, waits for it and removes
# the directory. SIGTERM/SIGINT/SIGHUP sent to the supervisor itself do the
# same. If Dovecot exits on its own (say, a lost port race), the supervisor
# exits with Dovecot's status and leaves the directory for diagnosis.
# Positional parameters: $1 = dovecot binary, $2 = config, $3 = directory.
SUPERVISOR = r"""
dovecot=$1 conf=$2 dir=$3
exec 3<&0 </dev/null
"$dovecot" -F -c "$conf" 3<&- &
dovecot_pid=$!
stop() {
  : > "$dir/stopping"
  kill -TERM "$dovecot_pid" 2>/dev/null
}
trap stop TERM INT HUP
(
  trap - TERM INT HUP
  read -r _ <&3 || :
  stop
) &
watcher_pid=$!
exec 3<&-
wait "$dovecot_pid"
status=$?
while kill -0 "$dovecot_pid" 2>/dev/null; do
  wait "$dovecot_pid"
  status=$?
done
if [ -e "$dir/stopping" ]; then
  rm -rf "$dir"
else
  kill -TERM "$watcher_pid" 2>/dev/null
fi
exit "$status"
"""

OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no

[dn]
CN = imaplib test

[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[leaf_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
"""


class DovecotError(RuntimeError):
    """The test server could not be set up (never a reason to skip)."""


# ---------------------------------------------------------------------------
# Small helpers


def find_program(name, usual):
    for candidate in list(usual) + [shutil.which(name)]:
        if candidate and os.path.isfile(candidate):
            return candidate
    raise DovecotError(f"`{name}` is not installed; {INSTALL_HINT}")


def find_imap_binary():
    for candidate in ("/usr/lib/dovecot/imap", "/usr/libexec/dovecot/imap"):
        if os.path.isfile(candidate):
            return candidate
    raise DovecotError(
        f"Dovecot's imap binary (/usr/lib/dovecot/imap) is not installed; {INSTALL_HINT}"
    )


def child_processes(parent):
    """Direct children of ``parent`` as ``[(pid, command name)]``, from /proc."""
    children = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return children
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses.
        head, _, tail = stat.rpartition(")")
        name = head.partition("(")[2]
        fields = tail.split()
        if len(fields) >= 2 and fields[1].isdigit() and int(fields[1]) == parent:
            children.append((int(entry), name))
    return children


def signal_processes(sig, pids):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def free_port_pair():
    """Two distinct ports that were free on 127.0.0.1 a moment ago."""
    a = socket.socket()
    b = socket.socket()
    try:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        return a.getsockname()[1], b.getsockname()[1]
    finally:
        a.close()
        b.close()


def read_greeting(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.settimeout(2)
        line = sock.makefile("rb").readline()
    if not line:
        raise ConnectionError("connection closed before the greeting")
    return line.decode("utf-8", "replace").rstrip("\r\n")


def remove_tree(path):
    """Removes ``path``, retrying while exiting Dovecot processes write in it."""
    for _ in range(50):
        try:
            shutil.rmtree(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)
    shutil.rmtree(path, ignore_errors=True)


@dataclasses.dataclass(frozen=True)
class Owner:
    """Numeric owner of the mail files; ``chown`` when running as root."""

    uid: int
    gid: int
    chown: bool

    def apply(self, path):
        if self.chown:
            os.chown(path, self.uid, self.gid)

    def apply_tree(self, root):
        if not self.chown:
            return
        os.chown(root, self.uid, self.gid)
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                os.chown(os.path.join(dirpath, name), self.uid, self.gid)


@dataclasses.dataclass(frozen=True)
class ServerIds:
    """System users a server runs with (see ``ServerIds::detect`` in Rust)."""

    root: bool
    internal_user: str
    internal_group: str
    login_user: str
    mail: Owner

    @classmethod
    def detect(cls):
        uid, gid = os.geteuid(), os.getegid()
        if uid == 0:
            for user in ("dovecot", "dovenull"):
                try:
                    pwd.getpwnam(user)
                except KeyError:
                    raise DovecotError(
                        f"system user {user!r} is missing (it comes with dovecot-core); "
                        f"{INSTALL_HINT}"
                    ) from None
            try:
                mail = pwd.getpwnam("mail")
            except KeyError:
                raise DovecotError('system user "mail" is missing from /etc/passwd') from None
            return cls(True, "dovecot", "dovecot", "dovenull", Owner(mail.pw_uid, mail.pw_gid, True))
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            raise DovecotError(
                f"uid {uid} has no /etc/passwd entry; Dovecot needs a user name"
            ) from None
        try:
            group = grp.getgrgid(gid).gr_name
        except KeyError:
            raise DovecotError(f"gid {gid} has no /etc/group entry; Dovecot needs a group") from None
        return cls(False, name, group, name, Owner(uid, gid, False))


def write_file(path, data, mode=0o644, owner=None):
    if isinstance(data, str):
        data = data.encode()
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    if owner is not None:
        owner.apply(path)


def make_dir(path, owner=None):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)
    if owner is not None:
        owner.apply(path)


def make_maildir(path, owner=None):
    make_dir(path, owner)
    for sub in ("cur", "new", "tmp"):
        make_dir(os.path.join(path, sub), owner)


def maildir_folder(maildir, mailbox):
    """On-disk folder of ``mailbox`` in a Maildir++ tree (separator '.')."""
    if mailbox.upper() == "INBOX":
        return Path(maildir)
    if not mailbox or "/" in mailbox or mailbox.startswith("."):
        raise ValueError(f"mailbox name {mailbox!r} is not usable with Maildir++")
    return Path(maildir) / f".{mailbox}"


_counter = 0


def unique_number():
    global _counter
    _counter += 1
    return _counter


# ---------------------------------------------------------------------------
# Configuration


def mail_config(imap_plugins):
    conf = (
        "mail_location = maildir:~/Maildir\n"
        "mail_fsync = never\n"
        "# Only new/ is rescanned on changes: files dropped into new/ are\n"
        "# still picked up.\n"
        "maildir_very_dirty_syncs = yes\n"
        "mail_plugins = $mail_plugins quota acl\n"
        "protocol imap {\n"
        f"  mail_plugins = $mail_plugins {imap_plugins}\n"
        "  mail_max_userip_connections = 1000\n"
        "}\n"
        "plugin {\n"
        "  quota = maildir:User quota\n"
        f"  quota_rule = *:storage={QUOTA_STORAGE_KB}k\n"
        "  acl = vfile\n"
        "}\n"
        "imap_metadata = yes\n"
        "mail_attribute_dict = file:%h/dovecot-attributes\n"
        "namespace inbox {\n"
        "  inbox = yes\n"
    )
    for name, flag in SPECIAL_USE_MAILBOXES:
        conf += f"  mailbox {name} {{\n    special_use = {flag}\n    auto = subscribe\n  }}\n"
    return conf + "}\n"


def daemon_config(d, unique, ids, imap_port, imaps_port):
    conf = f"""\
# Throwaway test instance; nothing from /etc/dovecot is read.
instance_name = {unique}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
login_greeting = Dovecot ready ({unique}).
# No statistics: a process starting while the daemon stops would wait for it.
stats_writer_socket_path =
default_internal_user = {ids.internal_user}
default_internal_group = {ids.internal_group}
default_login_user = {ids.login_user}
first_valid_uid = {ids.mail.uid}
first_valid_gid = {ids.mail.gid}
ssl = yes
ssl_cert = <{d}/certs/server.pem
ssl_key = <{d}/certs/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256
auth_failure_delay = 0 secs
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/users
  default_fields = uid={ids.mail.uid} gid={ids.mail.gid} home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
# No extra delay for logins after a failed one.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
    if not ids.root:
        conf += "# Not root: no chroots.\n"
        for service in (
            "aggregator",
            "anvil",
            "director",
            "imap-login",
            "imap-urlauth-login",
            "ipc",
            "old-stats",
            "pop3-login",
            "submission-login",
        ):
            conf += f"service {service} {{\n  chroot =\n}}\n"
    return conf + mail_config("imap_quota imap_acl imap_zlib")


def preauth_config(d, ids):
    conf = f"""\
# Preauthenticated imap on stdin/stdout; nothing from /etc/dovecot is read.
base_dir = {d}/preauth/run
state_dir = {d}/preauth/state
log_path = {d}/preauth.log
ssl = no
first_valid_uid = 0
first_valid_gid = 0
"""
    if ids.root:
        # Dovecot refuses to access mail as root: switch to the mail owner.
        conf += f"mail_uid = {ids.mail.uid}\nmail_gid = {ids.mail.gid}\n"
    return conf + mail_config("imap_quota imap_acl")


def make_certificates(certs):
    """A private CA (ca.pem) and a server certificate signed by it."""
    openssl = find_program("openssl", ["/usr/bin/openssl", "/usr/local/bin/openssl"])
    os.makedirs(certs, exist_ok=True)
    write_file(os.path.join(certs, "openssl.cnf"), OPENSSL_CNF)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    serial = "0x%x" % (int(time.time() * 1000) ^ os.getpid())
    steps = [
        ["req", "-config", "openssl.cnf", "-x509", "-new", *ec, "-keyout", "ca.key",
         "-out", "ca.pem", "-days", "3650", "-subj", "/CN=imaplib test CA",
         "-extensions", "ca_ext"],
        ["req", "-config", "openssl.cnf", "-new", *ec, "-keyout", "server.key",
         "-out", "server.csr", "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-set_serial", serial, "-days", "3650", "-out", "server.pem",
         "-extfile", "openssl.cnf", "-extensions", "leaf_ext"],
    ]
    for args in steps:
        out = subprocess.run(
            [openssl, *args], cwd=certs, stdin=subprocess.DEVNULL, capture_output=True
        )
        if out.returncode != 0:
            raise DovecotError(
                f"openssl {' '.join(args)} failed ({out.returncode}):\n"
                + out.stderr.decode("utf-8", "replace")
            )
    os.chmod(os.path.join(certs, "server.key"), 0o600)


# ---------------------------------------------------------------------------
# Mail store contents


@dataclasses.dataclass(frozen=True)
class Message:
    """A message put in place by ``Dovecot.reset``.

    ``flags`` are IMAP system flags (``"\\Seen"`` ...); ``internaldate`` is
    seconds since the epoch (default: see ``FIXED_EPOCH``).
    """

    body: bytes
    flags: tuple = ()
    internaldate: float = None


def _as_message(item):
    if isinstance(item, Message):
        return item
    if isinstance(item, (bytes, bytearray)):
        return Message(bytes(item))
    raise TypeError(f"not a message: {item!r}")


def _maildir_info(flags):
    letters = []
    for flag in flags:
        try:
            letters.append(MAILDIR_FLAG_LETTERS[flag])
        except KeyError:
            raise ValueError(f"only system flags can be preset, not {flag!r}") from None
    return "".join(sorted(set(letters)))


# ---------------------------------------------------------------------------
# The daemon


class Dovecot:
    """A throwaway Dovecot daemon on 127.0.0.1; see the module docstring.

    Mail is kept in Maildir++ format (hierarchy separator ``.``) under
    ``dir/mail/USER/Maildir``. The greeting is ``* OK [CAPABILITY ...]
    Dovecot ready (NAME).`` with NAME unique to the instance.
    """

    host = "127.0.0.1"
    users = USERS

    def __init__(self):
        self.dovecot_bin = find_program("dovecot", ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"])
        self.imap_bin = find_imap_binary()
        self.dir = None
        self.imap_port = self.imaps_port = None
        self.ca_file = None
        self._supervisor = None
        self._generation = 0

    # -- start and stop ----------------------------------------------------

    def start(self):
        failures = []
        for attempt in range(1, START_ATTEMPTS + 1):
            # A fresh directory per attempt: stopping an attempt removes it.
            self._prepare()
            self._spawn()
            outcome, why = self._wait_until_ready()
            if outcome == "ready":
                return self
            if outcome == "port":
                failures.append(f"attempt {attempt}: {why}")
                self.stop()
                continue
            diagnostics = self.diagnostics()
            self.stop()
            raise DovecotError(f"Dovecot did not start: {why}\n{diagnostics}")
        raise DovecotError(
            f"Dovecot did not start after {START_ATTEMPTS} attempts (port races):\n"
            + "\n".join(failures)
        )

    def _prepare(self):
        self.dir = Path(tempfile.mkdtemp(prefix="imaplib-py-dovecot-"))
        # Dovecot's unprivileged processes must be able to traverse it.
        os.chmod(self.dir, 0o755)
        self.ids = ServerIds.detect()
        self.imap_port, self.imaps_port = free_port_pair()
        self.ca_file = str(self.dir / "certs" / "ca.pem")
        make_certificates(str(self.dir / "certs"))
        write_file(self.dir / "users", "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in USERS.items()))
        make_dir(self.dir / "mail", self.ids.mail)
        make_dir(self.dir / "staging", self.ids.mail)
        for user in USERS:
            home = self.dir / "mail" / user
            make_dir(home, self.ids.mail)
            make_maildir(home / "Maildir", self.ids.mail)
        write_file(self.conf_path, daemon_config(self.dir, self.unique, self.ids, self.imap_port, self.imaps_port))
        # The preauthenticated `imap` (stream transport) shares the homes.
        make_dir(self.dir / "preauth")
        write_file(self.dir / "preauth" / "dc.conf", preauth_config(self.dir, self.ids))
        write_file(self.dir / "preauth.log", b"", 0o644, self.ids.mail)

    @property
    def unique(self):
        return self.dir.name

    @property
    def conf_path(self):
        return self.dir / "dovecot.conf"

    @property
    def log_path(self):
        return self.dir / "dovecot.log"

    def log(self):
        text = ""
        for name in ("dovecot.log", "preauth.log"):
            try:
                text += (self.dir / name).read_text(errors="replace")
            except OSError:
                pass
        return text

    def diagnostics(self):
        try:
            stderr = (self.dir / "master.stderr").read_text(errors="replace")
        except OSError:
            stderr = ""
        return f"--- {self.log_path} ---\n{self.log()}--- dovecot stderr ---\n{stderr}"

    def _spawn(self):
        with open(self.dir / "master.stderr", "wb") as stderr:
            self._supervisor = subprocess.Popen(
                ["/bin/sh", "-c", SUPERVISOR, "dovecot-supervisor", self.dovecot_bin,
                 str(self.conf_path), str(self.dir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                close_fds=True,
            )

    def _wait_until_ready(self):
        token = f"({self.unique})"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            status = self._supervisor.poll()
            if status is not None:
                why = f"dovecot exited early (status {status})"
                if "Address already in use" in self.diagnostics():
                    return "port", why
                return "fatal", why
            if time.monotonic() >= deadline:
                return "fatal", f"no greeting on 127.0.0.1:{self.imap_port} within {START_TIMEOUT} s"
            try:
                greeting = read_greeting(self.imap_port)
            except OSError:
                time.sleep(0.01)
                continue
            if token in greeting:
                # The master binds every listener before starting any process.
                return "ready", None
            return "port", f"port {self.imap_port} is served by another server: {greeting!r}"

    def stop(self):
        """Stops the daemon quickly and removes the directory.

        Closing the supervisor's stdin makes it send SIGTERM to the master;
        the master's children other than the log process get SIGTERM right
        away too, and once only the log process is left (or after
        ``STOP_GRACE``) whatever is left is killed.
        """
        child, self._supervisor = self._supervisor, None
        if child is not None:
            try:
                master = int((self.dir / "run" / "master.pid").read_text().strip())
            except (OSError, ValueError):
                master = None

            def ours(pid):
                # Only while the master is still the supervisor's child, so
                # that a stale pid never hits an unrelated process.
                return any(p == pid for p, _ in child_processes(child.pid))

            if master is not None and not ours(master):
                master = None
            child.stdin.close()
            if master is not None:
                signal_processes(15, [master])
                signal_processes(15, [p for p, name in child_processes(master) if name != "log"])
            started = time.monotonic()
            killed = False
            while time.monotonic() - started < STOP_TIMEOUT:
                if child.poll() is not None:
                    break
                if master is not None and not killed:
                    children = child_processes(master)
                    only_log = all(name == "log" for _, name in children)
                    if (only_log or time.monotonic() - started >= STOP_GRACE) and ours(master):
                        signal_processes(9, [master] + [p for p, _ in children])
                        killed = True
                time.sleep(0.005)
            else:
                child.kill()
                child.wait()
        if self.dir is not None:
            remove_tree(self.dir)

    # -- clients -------------------------------------------------------------

    def ssl_context(self):
        """An ``ssl.SSLContext`` trusting the private CA, checking host names."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
        return ctx

    def home(self, user):
        self._check_user(user)
        return self.dir / "mail" / user

    def preauth_command(self, user="alice"):
        """A shell command running Dovecot's ``imap`` for ``user`` on
        stdin/stdout, already authenticated (greeting ``* PREAUTH``), for
        ``IMAP4_stream``. Each run is a new session on the user's mail (the
        same store the daemon serves). The shell ``exec``s Dovecot, so ending
        the child process ends the session; Dovecot logs to preauth.log.
        """
        self._check_user(user)
        q = shlex.quote
        return (
            f"exec env USER={q(user)} HOME={q(str(self.home(user)))} {q(self.imap_bin)} "
            f"-c {q(str(self.dir / 'preauth' / 'dc.conf'))} 2>>{q(str(self.dir / 'preauth.log'))}"
        )

    # -- mail ------------------------------------------------------------------

    def _check_user(self, user):
        if user not in USERS:
            raise ValueError(f"unknown test user {user!r}")

    def maildir_path(self, user, mailbox="INBOX"):
        return maildir_folder(self.home(user) / "Maildir", mailbox)

    def deliver(self, user, mailbox, message, *, internaldate=None):
        """Drops ``message`` into ``user``'s Maildir, in ``mailbox`` (INBOX or
        another folder, created on disk if missing), so that it appears on the
        next SELECT or NOOP (or as an IDLE notification) as a new message.
        ``internaldate`` (seconds since the epoch) defaults to now.
        """
        folder = self.maildir_path(user, mailbox)
        owner = self.ids.mail
        if not (folder / "new").is_dir():
            make_maildir(folder, owner)
            if folder != self.maildir_path(user, "INBOX"):
                write_file(folder / "maildirfolder", b"", 0o600, owner)
        now = time.time()
        name = "%d.M%dP%dQ%d.imaplib-py-test,S=%d" % (
            int(now), int(now * 1e6) % 1_000_000, os.getpid(), unique_number(), len(message),
        )
        tmp = folder / "tmp" / name
        write_file(tmp, message, 0o600, owner)
        if internaldate is not None:
            os.utime(tmp, (internaldate, internaldate))
        os.rename(tmp, folder / "new" / name)

    def wait_sessions_gone(self, timeout=1.0):
        """Waits (up to ``timeout``) until no ``imap`` session process is left:
        neither a child of the daemon nor a preauthenticated one started by
        this process. An idle session left open by a failed test is harmless,
        so this does not fail when the time is up."""
        try:
            master = int((self.dir / "run" / "master.pid").read_text().strip())
        except (OSError, ValueError):
            master = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sessions = [p for p, name in child_processes(os.getpid()) if name == "imap"]
            if master is not None:
                sessions += [p for p, name in child_processes(master) if name == "imap"]
            if not sessions:
                return True
            time.sleep(0.005)
        return False

    def reset(self, user, mailboxes=None, *, subscriptions=(), acls=None):
        """Replaces ``user``'s whole mail store with a freshly built one.

        ``mailboxes`` maps mailbox names to lists of messages (``bytes`` or
        ``Message``); INBOX and the special-use mailboxes always exist. The
        result is the same every time for the same arguments: messages get
        UIDs 1, 2, ... in list order, fixed INTERNALDATEs, and every mailbox
        a fixed UIDVALIDITY (INBOX ``FIXED_UIDVALIDITY``, the others counting
        up in sorted order); mailboxes created later by a client count up
        from ``UIDVALIDITY_COUNTER``. ``subscriptions`` are written to the
        subscriptions file (the special-use mailboxes are subscribed anyway);
        ``acls`` maps a mailbox to the contents of its ``dovecot-acl`` file
        (e.g. ``"owner lr"`` makes it read-only for the user).

        Server sessions still open on the old store are waited for briefly;
        the new store is built aside and then renamed into place.
        """
        self._check_user(user)
        mailboxes = dict(mailboxes or {})
        acls = dict(acls or {})
        inbox = [key for key in mailboxes if key.upper() == "INBOX"]
        contents = {"INBOX": [_as_message(m) for k in inbox for m in mailboxes.pop(k)]}
        for name, _ in SPECIAL_USE_MAILBOXES:
            contents[name] = []
        for name, messages in mailboxes.items():
            contents[name] = [_as_message(m) for m in messages]
        for name in acls:
            contents.setdefault(name, [])
        self.wait_sessions_gone()
        self._generation += 1
        owner = self.ids.mail
        stage = self.dir / "staging" / f"{user}.{self._generation}"
        make_dir(stage, owner)
        maildir = stage / "Maildir"
        make_maildir(maildir, owner)
        order = ["INBOX"] + sorted(n for n in contents if n != "INBOX")
        for index, name in enumerate(order):
            folder = maildir_folder(maildir, name)
            make_maildir(folder, owner)
            if name != "INBOX":
                write_file(folder / "maildirfolder", b"", 0o600, owner)
            uidvalidity = FIXED_UIDVALIDITY + index
            guid = hashlib.md5(f"{user}/{name}".encode()).hexdigest()
            records = []
            for number, message in enumerate(contents[name], start=1):
                base = "%d.M%dP1Q%d.imaplib-py,S=%d" % (FIXED_EPOCH + number, number, number, len(message.body))
                path = folder / "cur" / f"{base}:2,{_maildir_info(message.flags)}"
                write_file(path, message.body, 0o600, owner)
                date = message.internaldate
                if date is None:
                    date = FIXED_EPOCH + 3600 * (number - 1)
                os.utime(path, (date, date))
                records.append(f"{number} :{base}\n")
            uidlist = f"3 V{uidvalidity} N{len(records) + 1} G{guid}\n" + "".join(records)
            write_file(folder / "dovecot-uidlist", uidlist, 0o600, owner)
            if name in acls:
                write_file(folder / "dovecot-acl", acls[name].rstrip("\n") + "\n", 0o600, owner)
        # Next UIDVALIDITY handed out: the counter plus one (the value is in
        # the file and in the name of the empty marker file next to it).
        write_file(maildir / "dovecot-uidvalidity", "%08x" % UIDVALIDITY_COUNTER, 0o600, owner)
        write_file(maildir / ("dovecot-uidvalidity.%08x" % UIDVALIDITY_COUNTER), b"", 0o444, owner)
        if subscriptions:
            write_file(maildir / "subscriptions", "".join(f"{s}\n" for s in subscriptions), 0o600, owner)
        home = self.dir / "mail" / user
        retired = self.dir / "staging" / f"{user}.{self._generation}.old"
        if home.exists():
            os.rename(home, retired)
        os.rename(stage, home)
        remove_tree(retired)


class MailUser:
    """One test user of a ``Dovecot``, with a mail store of its own state."""

    def __init__(self, dovecot, name):
        self.dovecot = dovecot
        self.name = name
        self.password = USERS[name]

    def reset(self, mailboxes=None, **kwargs):
        self.dovecot.reset(self.name, mailboxes, **kwargs)

    def deliver(self, mailbox, message, **kwargs):
        self.dovecot.deliver(self.name, mailbox, message, **kwargs)

    def preauth_command(self):
        return self.dovecot.preauth_command(self.name)

    def maildir_path(self, mailbox="INBOX"):
        return self.dovecot.maildir_path(self.name, mailbox)


# ---------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def dovecot():
    """The session's Dovecot daemon (see ``Dovecot``)."""
    server = Dovecot()
    try:
        server.start()
    except DovecotError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_user(dovecot):
    """alice, with an empty mail store built for this test alone."""
    user = MailUser(dovecot, "alice")
    user.reset()
    return user


# -- the implementation under test -------------------------------------------

IMPLEMENTATIONS = ("cpython", "rs")


class ImplementationUnavailable(ImportError):
    """``imaplib_rs`` cannot be imported: the ``rs`` tests fail with this."""


def load_implementation(name):
    """The module object for ``name``: ``imaplib`` or ``imaplib_rs``."""
    if name == "cpython":
        return importlib.import_module("imaplib")
    if name == "rs":
        try:
            return importlib.import_module("imaplib_rs")
        except ImportError as e:
            raise ImplementationUnavailable(
                f"cannot import imaplib_rs with {sys.executable}: {e!r} "
                "(build it into the virtualenv with maturin first)"
            ) from e
    raise ValueError(name)


@pytest.fixture(params=IMPLEMENTATIONS)
def impl(request):
    """The imaplib module under test (``imaplib`` or ``imaplib_rs``)."""
    return load_implementation(request.param)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # A missing imaplib_rs is a failure of the test, not a setup error and
    # never a skip: report it in the "call" phase so it counts as failed.
    outcome = yield
    report = outcome.get_result()
    if (
        call.when == "setup"
        and call.excinfo is not None
        and call.excinfo.errisinstance(ImplementationUnavailable)
    ):
        report.when = "call"


# -- a watchdog --------------------------------------------------------------

#: No single test may take longer than this (a client waiting forever for a
#: reply would otherwise hang the whole run).
TEST_TIMEOUT = 30


class TestTimeout(BaseException):
    """Raised in the main thread when a test runs past ``TEST_TIMEOUT``; a
    BaseException so that code recording ``Exception``s lets it through."""

    __test__ = False  # not a test class, despite the name


@pytest.fixture(autouse=True)
def _watchdog():
    def expired(signum, frame):
        raise TestTimeout(f"test still running after {TEST_TIMEOUT} s (a client waiting for a reply?)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
