//! Throwaway Dovecot 2.3 servers for integration tests and examples.
//!
//! This module uses the standard library only, so it can be pulled into an
//! integration test with `mod support;` or into an example with
//! `#[path = "../tests/support/dovecot.rs"] mod dovecot;`.
//!
//! Two flavours are provided:
//!
//! * [`Dovecot`]: a full daemon listening on 127.0.0.1 with a plaintext (and
//!   STARTTLS) port and an implicit-TLS port, two password users, a private
//!   CA, and the QUOTA, ACL, METADATA, SPECIAL-USE and COMPRESS=DEFLATE
//!   extensions enabled.
//! * [`PreauthDovecot`]: the `imap` binary run directly on stdin/stdout,
//!   already authenticated (greeting `* PREAUTH`), for stream transports.
//!
//! Everything a server touches (configuration, sockets, state, logs,
//! certificates, mail) lives in a fresh directory under
//! [`std::env::temp_dir`]; nothing from `/etc/dovecot` is read. When the
//! process runs as root, Dovecot's own users (`dovecot`, `dovenull`) run the
//! helper processes and mail is owned by the `mail` user, because Dovecot
//! refuses to access mail as root. Otherwise everything runs under the
//! current user without chroots.
//!
//! Missing programs make the helpers panic (never skip): run
//! `scripts/install-deps.sh` to install them.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Hint appended to every "not installed" panic.
const INSTALL_HINT: &str = "run `scripts/install-deps.sh` (as root or with sudo) to install \
                            dovecot-imapd and openssl";

/// Test users and their passwords, shared by every [`Dovecot`].
const USERS: &[(&str, &str)] = &[("alice", "alicepw"), ("bob", "bobpw")];

/// Storage limit announced through QUOTA (in kibibytes, as Dovecot reports it).
pub const QUOTA_STORAGE_KB: u64 = 1024 * 1024;

/// Mailboxes created and subscribed automatically, with their special-use flag.
pub const SPECIAL_USE_MAILBOXES: &[(&str, &str)] = &[
    ("Drafts", "\\Drafts"),
    ("Junk", "\\Junk"),
    ("Sent", "\\Sent"),
    ("Trash", "\\Trash"),
];

/// How long [`Dovecot::start`] waits for the greeting before giving up.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// How many times [`Dovecot::start`] picks new ports after a lost port race.
const START_ATTEMPTS: usize = 4;

/// How long dropping a [`Dovecot`] lets the daemon shut down by itself after
/// SIGTERM before killing it.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// How long dropping a [`Dovecot`] waits for the daemon to exit at all.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Supervisor run by `sh -c` as the direct child of the test process.
///
/// It starts `dovecot -F` and blocks reading its own stdin, a pipe whose
/// write end only the test process holds. When that pipe closes (the
/// [`Dovecot`] is dropped, or the test process exits or is killed without
/// running destructors, e.g. for a server kept in a `static`) it marks the
/// shutdown, sends SIGTERM to Dovecot, waits for it and removes the
/// directory. SIGTERM, SIGINT or SIGHUP sent to the supervisor itself (say,
/// to the whole process group by `timeout` or Ctrl-C) does the same. If
/// Dovecot exits on its own (e.g. it lost a port race) the supervisor exits
/// with Dovecot's status and leaves the directory (and the log) in place for
/// diagnosis.
///
/// Positional parameters: `$1` = dovecot binary, `$2` = config, `$3` = dir.
const SUPERVISOR: &str = r#"
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
# A trapped signal interrupts `wait`: wait again until Dovecot is gone.
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
"#;

/// A throwaway Dovecot daemon on 127.0.0.1, stopped and removed on drop.
///
/// It has a plaintext port (which also offers STARTTLS) and an implicit-TLS
/// port whose certificate is for `localhost`, `127.0.0.1` and `::1` and is
/// signed by a private CA ([`Dovecot::ca_file`]); `dir/certs/` holds
/// `ca.pem`, `server.pem` and `server.key` (ECDSA P-256, PEM). The users are
/// [`Dovecot::users`]; mail is kept in Maildir++ format (hierarchy separator
/// `.`) under `dir/mail/USER/Maildir`. The greeting is `* OK [CAPABILITY
/// ...] Dovecot ready (NAME).` with NAME unique to the instance, and one
/// user may have up to 1000 concurrent sessions.
pub struct Dovecot {
    /// The instance's private directory; removed when the value is dropped.
    pub dir: PathBuf,
    /// Port of the plaintext listener (IMAP, with STARTTLS).
    pub imap_port: u16,
    /// Port of the implicit-TLS listener (IMAPS).
    pub imaps_port: u16,
    /// PEM file of the private CA that signed the server certificate.
    pub ca_file: PathBuf,
    /// Owner given to mail files written by [`Dovecot::deliver`].
    mail_owner: Owner,
    /// The supervisor shell (see [`SUPERVISOR`]); `None` once stopped.
    supervisor: Option<Child>,
    /// Write end of the supervisor's stdin; closing it stops Dovecot.
    supervisor_stdin: Option<ChildStdin>,
}

impl Dovecot {
    /// Starts a throwaway Dovecot daemon on 127.0.0.1 with free ports (a
    /// plaintext+STARTTLS port and an implicit-TLS port) and waits until it
    /// greets.
    ///
    /// # Panics
    ///
    /// If Dovecot or openssl is not installed (the message points at
    /// `scripts/install-deps.sh`), or if the daemon does not greet within 15
    /// seconds (the message includes its log).
    pub fn start() -> Dovecot {
        let dovecot_bin =
            find_program("dovecot", &["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]);
        let mut failures = String::new();
        for attempt in 1..=START_ATTEMPTS {
            // A fresh directory per attempt: stopping an attempt removes it.
            let mut dovecot = Dovecot::prepare();
            dovecot.spawn(&dovecot_bin);
            match dovecot.wait_until_ready() {
                Ok(()) => return dovecot,
                Err(StartError::PortTaken(why)) => {
                    // Another process grabbed a port between our probe and
                    // Dovecot's bind: try again with new ports.
                    let _ = writeln!(failures, "attempt {attempt}: {why}");
                }
                Err(StartError::Fatal(why)) => {
                    let diagnostics = dovecot.diagnostics();
                    drop(dovecot);
                    panic!("Dovecot did not start: {why}\n{diagnostics}");
                }
            }
        }
        panic!("Dovecot did not start after {START_ATTEMPTS} attempts (port races):\n{failures}");
    }

    /// Creates the directory with certificates, users, Maildirs and a
    /// configuration using two free ports; does not start anything.
    fn prepare() -> Dovecot {
        let dir = make_temp_dir("dovecot");
        let ids = ServerIds::detect(&dir);
        let (imap_port, imaps_port) = free_port_pair();
        // Built first so that a panic below still removes the directory.
        let dovecot = Dovecot {
            ca_file: dir.join("certs").join("ca.pem"),
            dir,
            imap_port,
            imaps_port,
            mail_owner: ids.mail.clone(),
            supervisor: None,
            supervisor_stdin: None,
        };
        let dir = &dovecot.dir;
        make_certificates(&dir.join("certs"));
        write_file(&dir.join("users"), users_file().as_bytes(), 0o644);
        create_dir(&dir.join("mail"), &ids.mail);
        for (user, _) in USERS {
            let home = dir.join("mail").join(user);
            create_dir(&home, &ids.mail);
            create_maildir(&home.join("Maildir"), &ids.mail);
        }
        let conf = daemon_config(dir, &dovecot.unique(), &ids, imap_port, imaps_port);
        write_file(&dovecot.conf_path(), conf.as_bytes(), 0o644);
        dovecot
    }

    /// The test users as `(name, password)`: `("alice", "alicepw")` and
    /// `("bob", "bobpw")`. Every mechanism in `auth_mechanisms` (PLAIN,
    /// LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256) works for them.
    pub fn users() -> &'static [(&'static str, &'static str)] {
        USERS
    }

    /// Drops `message` directly into `user`'s Maildir, in `mailbox` (`INBOX`
    /// or another folder, created on disk if missing), so that it appears on
    /// the next SELECT (or an IDLE notification) as a new, `\Recent` message.
    ///
    /// # Panics
    ///
    /// On an unknown user or an I/O error.
    pub fn deliver(&self, user: &str, mailbox: &str, message: &[u8]) {
        assert!(
            USERS.iter().any(|(name, _)| *name == user),
            "deliver: unknown test user {user:?}"
        );
        let home = self.dir.join("mail").join(user);
        deliver_to_maildir(&home.join("Maildir"), mailbox, message, &self.mail_owner);
    }

    /// Path of the on-disk Maildir folder holding `mailbox` for `user`
    /// (Maildir++ layout: `Maildir` for INBOX, `Maildir/.NAME` otherwise).
    pub fn maildir_path(&self, user: &str, mailbox: &str) -> PathBuf {
        maildir_folder(&self.dir.join("mail").join(user).join("Maildir"), mailbox)
    }

    /// Path of the Dovecot log file (for diagnostics in failing tests).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("dovecot.log")
    }

    /// Path of the generated configuration file (usable with `doveadm -c`).
    pub fn conf_path(&self) -> PathBuf {
        self.dir.join("dovecot.conf")
    }

    /// The log file's contents (empty if it does not exist yet).
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// `127.0.0.1:imap_port`, the plaintext (and STARTTLS) listener.
    pub fn imap_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.imap_port))
    }

    /// `127.0.0.1:imaps_port`, the implicit-TLS listener.
    pub fn imaps_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.imaps_port))
    }

    /// The instance's unique name (its directory's name), also used in the
    /// greeting to tell this instance from any other server.
    fn unique(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Starts the supervisor shell that runs `dovecot -F`.
    fn spawn(&mut self, dovecot_bin: &Path) {
        let stderr = fs::File::create(self.dir.join("master.stderr"))
            .unwrap_or_else(|e| panic!("cannot create master.stderr: {e}"));
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(SUPERVISOR)
            .arg("dovecot-supervisor")
            .arg(dovecot_bin)
            .arg(self.conf_path())
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run /bin/sh to start Dovecot: {e}"));
        self.supervisor_stdin = child.stdin.take();
        self.supervisor = Some(child);
    }

    /// Waits until the plaintext port greets with this instance's name (so
    /// that a server which took the port meanwhile is not mistaken for it).
    fn wait_until_ready(&mut self) -> Result<(), StartError> {
        let token = format!("({})", self.unique());
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.supervisor.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    let log = self.log() + &self.master_stderr();
                    let why = format!("dovecot exited early ({status})");
                    return Err(if log.contains("Address already in use") {
                        StartError::PortTaken(why)
                    } else {
                        StartError::Fatal(why)
                    });
                }
            }
            if Instant::now() >= deadline {
                return Err(StartError::Fatal(format!(
                    "no greeting on 127.0.0.1:{} within {START_TIMEOUT:?}",
                    self.imap_port
                )));
            }
            match read_greeting(self.imap_addr()) {
                // The master binds every listener before it starts any
                // process, so the TLS port is listening too.
                Ok(greeting) if greeting.contains(&token) => return Ok(()),
                Ok(greeting) => {
                    return Err(StartError::PortTaken(format!(
                        "port {} is served by another server: {greeting:?}",
                        self.imap_port
                    )));
                }
                // Not listening yet (connection refused) or still starting.
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// Stops the daemon and waits for it; the directory is kept (unless the
    /// supervisor removes it).
    ///
    /// Closing the supervisor's stdin makes it send SIGTERM to the master.
    /// Left alone, the master would first wait about a second for busy
    /// sessions before terminating them, and then another second for its
    /// log process (up to 6 s for a login process that was starting). To
    /// keep test teardown fast, the master's children other than the log
    /// process get SIGTERM right away too (sessions still say `* BYE Server
    /// shutting down.`), and once only the log process is left, or after
    /// [`STOP_GRACE`], the master and whatever is left are killed.
    fn stop(&mut self) {
        // Read before the supervisor can remove the directory.
        let master = fs::read_to_string(self.dir.join("run").join("master.pid"))
            .ok()
            .and_then(|pid| pid.trim().parse::<u32>().ok());
        let Some(mut child) = self.supervisor.take() else {
            drop(self.supervisor_stdin.take());
            return;
        };
        // Signals go to the master only while it is still the supervisor's
        // child, so that a stale pid never hits an unrelated process.
        let supervisor = child.id();
        let ours = |pid: u32| child_processes(supervisor).iter().any(|(p, _)| *p == pid);
        let master = master.filter(|&pid| ours(pid));
        drop(self.supervisor_stdin.take());
        if let Some(master) = master {
            // The master first, so that it takes its children's exits as
            // part of the shutdown instead of restarting them.
            kill_processes("TERM", &[master]);
            let children: Vec<u32> = child_processes(master)
                .into_iter()
                .filter(|(_, name)| name != "log")
                .map(|(pid, _)| pid)
                .collect();
            if !children.is_empty() {
                kill_processes("TERM", &children);
            }
        }
        let started = Instant::now();
        let mut killed = false;
        while started.elapsed() < STOP_TIMEOUT {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            if let (Some(master), false) = (master, killed) {
                let children = child_processes(master);
                let only_log = children.iter().all(|(_, name)| name == "log");
                if (only_log || started.elapsed() >= STOP_GRACE) && ours(master) {
                    let mut pids = vec![master];
                    pids.extend(children.iter().map(|(pid, _)| *pid));
                    kill_processes("KILL", &pids);
                    killed = true;
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // The supervisor itself is stuck: kill it.
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Stderr of `dovecot -F` (configuration errors end up there).
    fn master_stderr(&self) -> String {
        fs::read_to_string(self.dir.join("master.stderr")).unwrap_or_default()
    }

    /// Log and stderr contents for panic messages.
    fn diagnostics(&self) -> String {
        format!(
            "--- {} ---\n{}--- dovecot stderr ---\n{}",
            self.log_path().display(),
            self.log(),
            self.master_stderr()
        )
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
        remove_dir(&self.dir);
    }
}

/// Why one start attempt failed.
enum StartError {
    /// The ports were taken by someone else: retry with new ones.
    PortTaken(String),
    /// Anything else: give up.
    Fatal(String),
}

/// A preauthenticated Dovecot speaking IMAP on stdin/stdout, for stream
/// transports: [`PreauthDovecot::command`] is a shell command line that
/// greets with `* PREAUTH`.
///
/// Each run of the command is a new session on the same Maildir (under
/// `dir/home/Maildir`, Maildir++ layout with `.` as separator). The same
/// extensions as [`Dovecot`] are enabled except COMPRESS=DEFLATE. The
/// directory is removed on drop.
pub struct PreauthDovecot {
    /// The instance's private directory; removed when the value is dropped.
    pub dir: PathBuf,
    /// Path of the `imap` binary.
    imap_bin: PathBuf,
    /// Owner of the mail files (and the user the `imap` process runs as).
    mail_owner: Owner,
}

impl PreauthDovecot {
    /// The user name the preauthenticated session is logged in as.
    pub const USER: &'static str = "alice";

    /// Creates the directory, configuration and an empty Maildir.
    ///
    /// # Panics
    ///
    /// If Dovecot's `imap` binary is not installed (the message points at
    /// `scripts/install-deps.sh`).
    pub fn new() -> PreauthDovecot {
        let imap_bin = find_imap_binary();
        let dir = make_temp_dir("dovecot-preauth");
        let ids = ServerIds::detect(&dir);
        // Built first so that a panic below still removes the directory.
        let server = PreauthDovecot {
            dir,
            imap_bin,
            mail_owner: ids.mail.clone(),
        };
        let dir = &server.dir;
        let home = dir.join("home");
        create_dir(&home, &ids.mail);
        create_maildir(&home.join("Maildir"), &ids.mail);
        let conf = preauth_config(dir, &ids);
        write_file(&dir.join("dc.conf"), conf.as_bytes(), 0o644);
        // Writable by the mail user, in case `imap` opens `log_path` after
        // switching to it.
        let log = server.log_path();
        write_file(&log, b"", 0o644);
        set_owner(&log, &ids.mail);
        server
    }

    /// A shell command line (to be run with `sh -c`) that speaks IMAP on
    /// stdin/stdout, greeting `* PREAUTH`. The shell `exec`s Dovecot, so
    /// killing the child process ends the session. Dovecot's stderr (where a
    /// standalone `imap` logs) is appended to [`PreauthDovecot::log_path`].
    pub fn command(&self) -> String {
        format!(
            "exec env USER={} HOME={} {} -c {} 2>>{}",
            Self::USER,
            shell_quote(&self.dir.join("home")),
            shell_quote(&self.imap_bin),
            shell_quote(&self.dir.join("dc.conf")),
            shell_quote(&self.log_path())
        )
    }

    /// Drops `message` directly into `mailbox` (`INBOX` or another folder,
    /// created on disk if missing) so that it appears on the next SELECT.
    pub fn deliver(&self, mailbox: &str, message: &[u8]) {
        deliver_to_maildir(
            &self.dir.join("home").join("Maildir"),
            mailbox,
            message,
            &self.mail_owner,
        );
    }

    /// Path of the on-disk Maildir folder holding `mailbox`.
    pub fn maildir_path(&self, mailbox: &str) -> PathBuf {
        maildir_folder(&self.dir.join("home").join("Maildir"), mailbox)
    }

    /// Path of the log file (for diagnostics in failing tests).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("dovecot.log")
    }

    /// Makes the sessions started from now on announce exactly
    /// `capabilities` (Dovecot's `imap_capability`), e.g. without
    /// CONDSTORE and QRESYNC.
    #[allow(dead_code)]
    pub fn announce_only(&self, capabilities: &str) {
        let path = self.dir.join("dc.conf");
        let mut conf = std::fs::read_to_string(&path).expect("read dc.conf");
        let _ = writeln!(conf, "imap_capability = {capabilities}");
        write_file(&path, conf.as_bytes(), 0o644);
    }
}

impl PreauthDovecot {
    /// Makes the sessions started from now on use `separator` as the
    /// hierarchy delimiter instead of `.` (the Maildir++ layout on disk
    /// stays as it is).
    #[allow(dead_code)]
    pub fn use_separator(&self, separator: char) {
        self.add_config(&format!(
            "namespace inbox {{\n  separator = {separator}\n}}\n"
        ));
    }

    /// Makes the sessions started from now on refuse messages over
    /// `bytes` (`[LIMIT]`) and announce `APPENDLIMIT=bytes`.
    #[allow(dead_code)]
    pub fn limit_appends(&self, bytes: u64) {
        self.refuse_appends_over(bytes);
        self.add_config(&format!("imap_capability = +APPENDLIMIT={bytes}\n"));
    }

    /// Makes the sessions started from now on refuse messages over
    /// `bytes` (`[LIMIT]`) without announcing a limit.
    #[allow(dead_code)]
    pub fn refuse_appends_over(&self, bytes: u64) {
        self.add_config(&format!("plugin {{\n  quota_max_mail_size = {bytes}\n}}\n"));
    }

    /// Makes the sessions started from now on hold at most `kb` KiB of
    /// mail (the user's storage quota; appends beyond it get
    /// `NO [OVERQUOTA]`). Called again, the last value holds.
    #[allow(dead_code)]
    pub fn limit_storage(&self, kb: u64) {
        self.add_config(&format!("plugin {{\n  quota_rule = *:storage={kb}k\n}}\n"));
    }

    fn add_config(&self, text: &str) {
        let path = self.dir.join("dc.conf");
        let mut conf = std::fs::read_to_string(&path).expect("read dc.conf");
        conf.push_str(text);
        write_file(&path, conf.as_bytes(), 0o644);
    }
}

impl Default for PreauthDovecot {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for PreauthDovecot {
    fn drop(&mut self) {
        remove_dir(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// Users and ownership

/// A numeric owner for files Dovecot must read and write.
#[derive(Clone, Debug)]
struct Owner {
    uid: u32,
    gid: u32,
    /// Whether files must be chowned (we run as root and mail is not ours).
    chown: bool,
}

/// The system users a server instance runs with.
struct ServerIds {
    /// Whether the current process is root.
    root: bool,
    /// `default_internal_user`.
    internal_user: String,
    /// `default_internal_group`.
    internal_group: String,
    /// `default_login_user`.
    login_user: String,
    /// Owner of the mail (Dovecot refuses to access mail as root).
    mail: Owner,
}

impl ServerIds {
    /// Works out the users from the owner of `probe`, a directory this
    /// process just created (so its owner is our effective uid/gid).
    fn detect(probe: &Path) -> ServerIds {
        let meta =
            fs::metadata(probe).unwrap_or_else(|e| panic!("cannot stat {}: {e}", probe.display()));
        let (uid, gid) = (meta.uid(), meta.gid());
        if uid == 0 {
            for user in ["dovecot", "dovenull"] {
                if passwd_by_name(user).is_none() {
                    panic!(
                        "system user {user:?} is missing (it comes with dovecot-core); \
                         {INSTALL_HINT}"
                    );
                }
            }
            let (mail_uid, mail_gid) = passwd_by_name("mail")
                .unwrap_or_else(|| panic!("system user \"mail\" is missing from /etc/passwd"));
            ServerIds {
                root: true,
                internal_user: "dovecot".into(),
                internal_group: "dovecot".into(),
                login_user: "dovenull".into(),
                mail: Owner {
                    uid: mail_uid,
                    gid: mail_gid,
                    chown: true,
                },
            }
        } else {
            let name = passwd_by_uid(uid).unwrap_or_else(|| {
                panic!(
                    "uid {uid} has no /etc/passwd entry; Dovecot needs a user name to run \
                     its processes as"
                )
            });
            let group = group_by_gid(gid).unwrap_or_else(|| {
                panic!("gid {gid} has no /etc/group entry; Dovecot needs a group name")
            });
            ServerIds {
                root: false,
                internal_user: name.clone(),
                internal_group: group,
                login_user: name,
                mail: Owner {
                    uid,
                    gid,
                    chown: false,
                },
            }
        }
    }
}

/// `(uid, gid)` of `name` from /etc/passwd.
fn passwd_by_name(name: &str) -> Option<(u32, u32)> {
    let fields = passwd_entries().find(|f| f[0] == name)?;
    Some((fields[2].parse().ok()?, fields[3].parse().ok()?))
}

/// User name of `uid` from /etc/passwd.
fn passwd_by_uid(uid: u32) -> Option<String> {
    passwd_entries().find_map(|f| (f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].clone()))
}

/// Group name of `gid` from /etc/group.
fn group_by_gid(gid: u32) -> Option<String> {
    colon_file("/etc/group", 4)
        .find_map(|f| (f[2].parse::<u32>().ok() == Some(gid)).then(|| f[0].clone()))
}

/// The well-formed lines of /etc/passwd, split into fields.
fn passwd_entries() -> impl Iterator<Item = Vec<String>> {
    colon_file("/etc/passwd", 7)
}

/// The lines of a colon-separated file with at least `fields` fields.
fn colon_file(path: &str, fields: usize) -> impl Iterator<Item = Vec<String>> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| line.split(':').map(str::to_owned).collect::<Vec<_>>())
        .filter(|f| f.len() >= fields)
        .collect::<Vec<_>>()
        .into_iter()
}

/// The passwd-file read by both the passdb and the userdb.
fn users_file() -> String {
    USERS
        .iter()
        .map(|(user, pass)| format!("{user}:{{PLAIN}}{pass}::::::\n"))
        .collect()
}

// ---------------------------------------------------------------------------
// Configuration

/// Settings shared by the daemon and the preauthenticated `imap`: Maildir,
/// plugins, METADATA and SPECIAL-USE mailboxes.
fn mail_config(imap_plugins: &str) -> String {
    let mut conf = format!(
        "mail_location = maildir:~/Maildir\n\
         mail_fsync = never\n\
         # Only new/ is rescanned on changes: keeps APPEND fast, and files\n\
         # dropped into new/ by deliver() are still picked up.\n\
         maildir_very_dirty_syncs = yes\n\
         mail_plugins = $mail_plugins quota acl\n\
         protocol imap {{\n\
         \x20 mail_plugins = $mail_plugins {imap_plugins}\n\
         \x20 mail_max_userip_connections = 1000\n\
         }}\n\
         plugin {{\n\
         \x20 quota = maildir:User quota\n\
         \x20 quota_rule = *:storage={QUOTA_STORAGE_KB}k\n\
         \x20 acl = vfile\n\
         }}\n\
         imap_metadata = yes\n\
         mail_attribute_dict = file:%h/dovecot-attributes\n\
         namespace inbox {{\n\
         \x20 inbox = yes\n"
    );
    for (name, flag) in SPECIAL_USE_MAILBOXES {
        let _ = writeln!(
            conf,
            "  mailbox {name} {{\n    special_use = {flag}\n    auto = subscribe\n  }}"
        );
    }
    conf.push_str("}\n");
    conf
}

/// The daemon's configuration.
fn daemon_config(dir: &Path, unique: &str, ids: &ServerIds, imap: u16, imaps: u16) -> String {
    let d = dir.display();
    let mut conf = format!(
        "# Throwaway test instance; nothing from /etc/dovecot is read.\n\
         instance_name = {unique}\n\
         base_dir = {d}/run\n\
         state_dir = {d}/state\n\
         log_path = {d}/dovecot.log\n\
         protocols = imap\n\
         listen = 127.0.0.1\n\
         login_greeting = Dovecot ready ({unique}).\n\
         # No statistics: a process that starts while the daemon stops would\n\
         # otherwise wait 5 s for the (already gone) stats process.\n\
         stats_writer_socket_path =\n\
         default_internal_user = {internal}\n\
         default_internal_group = {internal_group}\n\
         default_login_user = {login}\n\
         first_valid_uid = {uid}\n\
         first_valid_gid = {gid}\n\
         ssl = yes\n\
         ssl_cert = <{d}/certs/server.pem\n\
         ssl_key = <{d}/certs/server.key\n\
         ssl_min_protocol = TLSv1.2\n\
         disable_plaintext_auth = no\n\
         auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256\n\
         auth_failure_delay = 0 secs\n\
         passdb {{\n\
         \x20 driver = passwd-file\n\
         \x20 args = scheme=PLAIN username_format=%u {d}/users\n\
         }}\n\
         userdb {{\n\
         \x20 driver = passwd-file\n\
         \x20 args = username_format=%u {d}/users\n\
         \x20 default_fields = uid={uid} gid={gid} home={d}/mail/%u\n\
         }}\n\
         service imap-login {{\n\
         \x20 inet_listener imap {{\n\
         \x20   address = 127.0.0.1\n\
         \x20   port = {imap}\n\
         \x20 }}\n\
         \x20 inet_listener imaps {{\n\
         \x20   address = 127.0.0.1\n\
         \x20   port = {imaps}\n\
         \x20   ssl = yes\n\
         \x20 }}\n\
         }}\n\
         # No extra delay for logins after a failed one.\n\
         service anvil {{\n\
         \x20 unix_listener anvil-auth-penalty {{\n\
         \x20   mode = 0\n\
         \x20 }}\n\
         }}\n",
        internal = ids.internal_user,
        internal_group = ids.internal_group,
        login = ids.login_user,
        uid = ids.mail.uid,
        gid = ids.mail.gid,
    );
    if !ids.root {
        // Only root can chroot: run every service in place.
        conf.push_str("# Not root: no chroots.\n");
        for service in [
            "aggregator",
            "anvil",
            "director",
            "imap-login",
            "imap-urlauth-login",
            "ipc",
            "old-stats",
            "pop3-login",
            "submission-login",
        ] {
            let _ = writeln!(conf, "service {service} {{\n  chroot =\n}}");
        }
    }
    conf.push_str(&mail_config("imap_quota imap_acl imap_zlib"));
    conf
}

/// The preauthenticated `imap` binary's configuration.
fn preauth_config(dir: &Path, ids: &ServerIds) -> String {
    let d = dir.display();
    let mut conf = format!(
        "# Preauthenticated imap on stdin/stdout; nothing from /etc/dovecot is read.\n\
         base_dir = {d}/run\n\
         state_dir = {d}/state\n\
         log_path = {d}/dovecot.log\n\
         ssl = no\n\
         first_valid_uid = 0\n\
         first_valid_gid = 0\n"
    );
    if ids.root {
        // Dovecot refuses to access mail as root: switch to the mail owner.
        let _ = writeln!(
            conf,
            "mail_uid = {}\nmail_gid = {}",
            ids.mail.uid, ids.mail.gid
        );
    }
    conf.push_str(&mail_config("imap_quota imap_acl"));
    conf
}

// ---------------------------------------------------------------------------
// Certificates

/// OpenSSL configuration for the private CA and the server certificate.
const OPENSSL_CNF: &str = "\
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
";

/// Creates a private CA (`ca.pem`, `ca.key`) and a server certificate signed
/// by it (`server.pem`, `server.key`) in `certs`. ECDSA P-256 keys keep this
/// fast.
fn make_certificates(certs: &Path) {
    let openssl = find_program("openssl", &["/usr/bin/openssl", "/usr/local/bin/openssl"]);
    fs::create_dir_all(certs).unwrap_or_else(|e| panic!("cannot create {}: {e}", certs.display()));
    write_file(&certs.join("openssl.cnf"), OPENSSL_CNF.as_bytes(), 0o644);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let serial = format!("0x{:x}", unique_number());
    let steps: [Vec<&str>; 3] = [
        [
            &["req", "-config", "openssl.cnf", "-x509", "-new"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "3650"],
            &["-subj", "/CN=imaplib test CA", "-extensions", "ca_ext"],
        ]
        .concat(),
        [
            &["req", "-config", "openssl.cnf", "-new"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat(),
        vec![
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            &serial,
            "-days",
            "3650",
            "-out",
            "server.pem",
            "-extfile",
            "openssl.cnf",
            "-extensions",
            "leaf_ext",
        ],
    ];
    for args in &steps {
        let out = Command::new(&openssl)
            .args(args)
            .current_dir(certs)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run openssl: {e}; {INSTALL_HINT}"));
        assert!(
            out.status.success(),
            "openssl {} failed ({}):\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Only Dovecot's config process (running as us) reads the key.
    let _ = fs::set_permissions(certs.join("server.key"), fs::Permissions::from_mode(0o600));
}

// ---------------------------------------------------------------------------
// Maildir

/// Creates `Maildir`-style `cur`, `new` and `tmp` under `path`.
fn create_maildir(path: &Path, owner: &Owner) {
    create_dir(path, owner);
    for sub in ["cur", "new", "tmp"] {
        create_dir(&path.join(sub), owner);
    }
}

/// The on-disk folder of `mailbox` in a Maildir++ tree rooted at `maildir`.
fn maildir_folder(maildir: &Path, mailbox: &str) -> PathBuf {
    if mailbox.eq_ignore_ascii_case("INBOX") {
        maildir.to_path_buf()
    } else {
        assert!(
            !mailbox.is_empty() && !mailbox.contains('/') && !mailbox.starts_with('.'),
            "mailbox name {mailbox:?} is not usable with Maildir++ \
             (the hierarchy separator is '.')"
        );
        maildir.join(format!(".{mailbox}"))
    }
}

/// Writes `message` into `mailbox`'s `new/` the Maildir way (write into
/// `tmp/`, then rename), creating the folder if needed.
fn deliver_to_maildir(maildir: &Path, mailbox: &str, message: &[u8], owner: &Owner) {
    let folder = maildir_folder(maildir, mailbox);
    if !folder.join("new").is_dir() {
        create_maildir(&folder, owner);
        if folder != maildir {
            // Marks a Maildir++ subfolder, as Dovecot itself does.
            write_file(&folder.join("maildirfolder"), b"", 0o600);
            set_owner(&folder.join("maildirfolder"), owner);
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let name = format!(
        "{}.M{}P{}Q{}.imaplib-test,S={}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        unique_number(),
        message.len()
    );
    let tmp = folder.join("tmp").join(&name);
    write_file(&tmp, message, 0o600);
    set_owner(&tmp, owner);
    let new = folder.join("new").join(&name);
    fs::rename(&tmp, &new)
        .unwrap_or_else(|e| panic!("cannot move {} to {}: {e}", tmp.display(), new.display()));
}

// ---------------------------------------------------------------------------
// Small helpers

/// A process-wide counter, for unique names.
fn unique_number() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// Creates a fresh directory `temp_dir()/imaplib-PREFIX-PID-COUNTER-TIME`.
/// Kept short: Dovecot's UNIX sockets live inside it (108-byte path limit).
fn make_temp_dir(prefix: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!(
        "imaplib-{prefix}-{}-{}-{:x}",
        std::process::id(),
        unique_number(),
        nanos & 0xffff_ffff_ffff
    ));
    fs::create_dir(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    // Dovecot's unprivileged processes must be able to traverse it.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", dir.display()));
    dir
}

/// Creates `path` (mode 0755) owned by `owner`; fine if it already exists.
fn create_dir(path: &Path, owner: &Owner) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o755));
    set_owner(path, owner);
}

/// Writes `contents` to `path` with `mode`.
fn write_file(path: &Path, contents: &[u8], mode: u32) {
    let mut file =
        fs::File::create(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    file.write_all(contents)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}

/// Gives `path` to `owner` when running as root.
fn set_owner(path: &Path, owner: &Owner) {
    if owner.chown {
        std::os::unix::fs::chown(path, Some(owner.uid), Some(owner.gid))
            .unwrap_or_else(|e| panic!("cannot chown {}: {e}", path.display()));
    }
}

/// Removes `dir` recursively, retrying briefly while exiting Dovecot
/// processes may still be writing into it.
fn remove_dir(dir: &Path) {
    for _ in 0..50 {
        match fs::remove_dir_all(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// The direct children of `parent` as `(pid, command name)`, from `/proc`.
fn child_processes(parent: u32) -> Vec<(u32, String)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            // "PID (COMM) STATE PPID ...": COMM may contain spaces and parens.
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (head, tail) = stat.rsplit_once(')')?;
            let name = head.split_once('(')?.1.to_owned();
            let ppid: u32 = tail.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent).then_some((pid, name))
        })
        .collect()
}

/// Sends `signal` (e.g. `"KILL"`) to `pids` with the `kill` command.
fn kill_processes(signal: &str, pids: &[u32]) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .args(pids.iter().map(u32::to_string))
        .stderr(Stdio::null())
        .status();
}

/// Finds `name` in the usual places or on `PATH`, or panics with the
/// install hint.
fn find_program(name: &str, usual: &[&str]) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    usual
        .iter()
        .map(PathBuf::from)
        .chain(on_path)
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{name}` is not installed; {INSTALL_HINT}"))
}

/// Finds Dovecot's `imap` binary, or panics with the install hint.
fn find_imap_binary() -> PathBuf {
    ["/usr/lib/dovecot/imap", "/usr/libexec/dovecot/imap"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("Dovecot's imap binary (/usr/lib/dovecot/imap) is not installed; {INSTALL_HINT}")
        })
}

/// Two distinct ports that were free a moment ago on 127.0.0.1.
fn free_port_pair() -> (u16, u16) {
    let bind = || {
        TcpListener::bind(("127.0.0.1", 0))
            .unwrap_or_else(|e| panic!("cannot bind a probe socket on 127.0.0.1: {e}"))
    };
    // Both listeners stay open until both ports are known, so they differ.
    let (a, b) = (bind(), bind());
    let port = |l: &TcpListener| l.local_addr().expect("probe socket address").port();
    (port(&a), port(&b))
}

/// Connects to `addr` and reads the first line the server sends.
fn read_greeting(addr: SocketAddr) -> std::io::Result<String> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let _ = stream.shutdown(Shutdown::Both);
    if line.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed before the greeting",
        ));
    }
    Ok(line.trim_end().to_owned())
}

/// Quotes `path` for `sh`.
fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}
