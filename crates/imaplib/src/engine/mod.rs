//! The engine: what every command does, written once for both clients.
//!
//! A command's behaviour (what it sends, how it reads the answer, when it
//! gives up, what it returns) is an `async fn` on [`Conn`], generic over
//! the [`Link`] that moves bytes. The engine holds no socket and reads no
//! clock of its own: the link reads and writes with the waits the engine
//! computes. The two clients are drivers:
//!
//! - the blocking [`crate::Imap4`] implements [`Link`] with `std::io` and
//!   runs each operation to completion with [`block_on`] (a blocking link
//!   never leaves an operation pending, so one poll finishes it);
//! - the async [`crate::AsyncImap4`] implements it with tokio and awaits
//!   the same operations.
//!
//! Each public method is listed once ([`api`]) and generated on both
//! clients from that list, so a command is added in one place: its
//! operation here and its line in the list.

pub(crate) mod api;
mod connection;
mod state;

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use imaplib_proto::command::build;
use imaplib_proto::{
    Command, Data, Event, ProtoError, ProtoErrorKind, Reply, Session, SessionConfig,
};

use rustls::pki_types::ServerName;
use rustls::ClientConfig;

use crate::client::Options;
use crate::error::{Error, Result};
use crate::sasl::TlsBindings;

/// How bytes move: the one thing a driver provides.
pub(crate) trait Link: Send {
    /// Reads at most `buf.len()` bytes, waiting at most `wait` (`None`:
    /// as long as it takes). `Ok(0)` is the end of the stream; an error of
    /// kind `TimedOut` or `WouldBlock` means `wait` passed first.
    fn read(
        &mut self,
        buf: &mut [u8],
        wait: Option<Duration>,
    ) -> impl Future<Output = io::Result<usize>> + Send;

    /// Writes all of `data` and flushes it, each write waiting at most
    /// `wait`.
    fn write_all(
        &mut self,
        data: &[u8],
        wait: Option<Duration>,
    ) -> impl Future<Output = io::Result<()>> + Send;

    /// The channel-binding data of a TLS link; nothing otherwise.
    fn tls_bindings(&self) -> TlsBindings;

    /// True for a plain TCP link (the one STARTTLS can upgrade).
    fn is_plain_tcp(&self) -> bool;

    /// True once COMPRESS=DEFLATE is active.
    fn is_compressed(&self) -> bool;

    /// Runs a TLS handshake over the plain TCP link and continues over
    /// TLS; a failure leaves the link closed.
    fn start_tls(
        &mut self,
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
        wait: Option<Duration>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Compresses both directions from now on (RFC 4978); `pending` is
    /// what arrived after the server's OK, compressed already.
    fn start_deflate(&mut self, pending: &[u8]);

    /// Closes the link.
    fn shutdown(&mut self) -> impl Future<Output = io::Result<()>> + Send;
}

/// Runs an operation of a blocking link to completion. A blocking link
/// finishes every read and write before returning, so the operation never
/// waits on a waker: the first poll completes it.
pub(crate) fn block_on<F: Future>(op: F) -> F::Output {
    let mut op = pin!(op);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = op.as_mut().poll(&mut cx) {
            return out;
        }
        // Not reached with a blocking link; polling again is still correct.
        std::thread::yield_now();
    }
}

/// How a connection was made, so that imaplib's `open` can make it again.
#[derive(Debug, Clone)]
pub(crate) enum Reopen {
    Tcp,
    Ssl,
    Stream(String),
    Custom,
}

/// imaplib's `open(host, port)` for a driver: connects again the way the
/// connection was made (TCP, TLS, or the same child process command, for
/// which `host` and `port` are ignored), then replaces the connection,
/// closed without LOGOUT. `$($aw)*` is `.await` for the async driver.
macro_rules! reopen {
    ($client:ident, $host:expr, $port:expr $(, $aw:tt)*) => {{
        let options = $client.engine.options.clone();
        let fresh = match $client.engine.reopen.clone() {
            $crate::engine::Reopen::Tcp => Self::with_options($host, $port, options)$(.$aw)*?,
            $crate::engine::Reopen::Ssl => Self::ssl_with_options($host, $port, options)$(.$aw)*?,
            $crate::engine::Reopen::Stream(cmd) => Self::stream_with_options(&cmd, options)$(.$aw)*?,
            $crate::engine::Reopen::Custom => {
                return Err($crate::Error::error("a custom transport cannot be reopened"))
            }
        };
        let _ = $client.shutdown()$(.$aw)*;
        *$client = fresh;
        Ok(())
    }};
}
pub(crate) use reopen;

/// Everything a connection knows apart from its transport.
pub(crate) struct Engine {
    /// How the connection was made.
    pub(crate) reopen: Reopen,
    pub(crate) session: Session,
    pub(crate) options: Options,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls_active: bool,
    pub(crate) protocol_version: String,
    /// QRESYNC was enabled by `select_qresync` (it stays on for the
    /// session, RFC 7162 §3.2.3).
    pub(crate) qresync_enabled: bool,
    read_buf: Vec<u8>,
}

impl Engine {
    /// A connection not yet greeted, made the way `kind` says (TLS from
    /// the start for [`Reopen::Ssl`]).
    pub(crate) fn new(host: &str, port: u16, options: Options, kind: Reopen) -> Engine {
        let tls = matches!(kind, Reopen::Ssl);
        let session = Session::new(SessionConfig {
            limits: options.limits,
            max_untagged_bytes: options.max_untagged_bytes,
            tag_seed: tag_seed(),
            debug: options.debug,
        });
        Engine {
            reopen: kind,
            session,
            options,
            host: host.to_string(),
            port,
            tls_active: tls,
            protocol_version: String::new(),
            qresync_enabled: false,
            read_buf: vec![0u8; 64 * 1024],
        }
    }

    /// Breaks the session on an `abort`: later calls fail too.
    pub(crate) fn fail(&mut self, err: Error) -> Error {
        if err.is_abort() {
            self.session.set_broken(ProtoError::msg(
                ProtoErrorKind::Unexpected,
                err.message().to_string(),
            ));
        }
        err
    }

    /// imaplib's `PROTOCOL_VERSION` from the capabilities.
    pub(crate) fn set_protocol_version(&mut self) -> Result<()> {
        self.protocol_version = ["IMAP4REV1", "IMAP4REV2", "IMAP4"]
            .into_iter()
            .find(|v| self.session.has_capability(v))
            .map(str::to_string)
            .ok_or_else(|| Error::error("server not IMAP4 compliant"))?;
        Ok(())
    }
}

/// A seed for the tag prefix: differs between connections and processes.
pub(crate) fn tag_seed() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or(0);
    nanos ^ std::process::id().rotate_left(16)
}

/// The `abort` of a command that outlived [`Options::command_timeout`].
pub(crate) fn command_timed_out(total: Duration) -> Error {
    Error::abort(format!(
        "socket error: the command did not complete within {total:?} (command_timeout)"
    ))
}

/// What one read of the link gave.
pub(crate) enum ReadStep {
    /// Bytes, fed to the session.
    Data,
    /// The wait passed with nothing read.
    TimedOut,
    /// The program interrupted the wait (nothing read).
    Interrupted,
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// An engine and the link it runs over, for one call (the link usually
/// borrows the driver's transport).
pub(crate) struct Conn<'a, L: Link> {
    pub(crate) e: &'a mut Engine,
    pub(crate) link: L,
}

impl<L: Link> Conn<'_, L> {
    crate::__imaplib_simple_commands!(crate::methods::conn_commands);

    /// The capabilities (upper case).
    pub(crate) fn capabilities(&self) -> &[String] {
        self.e.capabilities()
    }

    /// True if the server announced `name`.
    pub(crate) fn has_capability(&self, name: &str) -> bool {
        self.e.has_capability(name)
    }

    /// imaplib's `untagged_responses`.
    pub(crate) fn untagged_responses(&self) -> &std::collections::HashMap<String, Vec<Data>> {
        self.e.untagged_responses()
    }

    /// imaplib's `response(code)`: pops what is stored under `code`.
    pub(crate) fn response(&mut self, code: &str) -> (String, Vec<Data>) {
        self.e.response(code)
    }

    pub(crate) fn set_protocol_version_to(&mut self, version: &str) {
        self.e.protocol_version = version.to_string();
    }

    /// Breaks the session on an `abort`.
    pub(crate) fn fail(&mut self, err: Error) -> Error {
        self.e.fail(err)
    }

    /// Writes everything the session has queued.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        while let Some(bytes) = self.e.session.take_transmit() {
            if let Err(e) = self.link.write_all(&bytes, self.e.options.timeout).await {
                let err = if timed_out(&e) {
                    Error::abort("socket error: timed out writing to the server").with_source(e)
                } else {
                    Error::io("socket error", e)
                };
                return Err(self.fail(err));
            }
        }
        Ok(())
    }

    /// Writes anything queued, then reads once into the session, waiting
    /// at most `wait`: `Ok(false)` when it passed with nothing read. The
    /// end of the stream is an `abort` that says whether it cut a response;
    /// an interrupted wait is [`Conn::interrupted`].
    pub(crate) async fn read_once(&mut self, wait: Option<Duration>) -> Result<bool> {
        match self.read_step(wait).await? {
            ReadStep::Data => Ok(true),
            ReadStep::TimedOut => Ok(false),
            ReadStep::Interrupted => Err(self.interrupted()),
        }
    }

    /// [`Conn::read_once`], an interruption of the wait given back as such.
    pub(crate) async fn read_step(&mut self, wait: Option<Duration>) -> Result<ReadStep> {
        self.flush().await?;
        let Engine {
            session, read_buf, ..
        } = &mut *self.e;
        let result = loop {
            match self.link.read(read_buf, wait).await {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match result {
            Ok(0) => {
                let what = if session.mid_response() {
                    "socket error: EOF in the middle of a response"
                } else {
                    "socket error: EOF"
                };
                Err(self.fail(Error::abort(what)))
            }
            Ok(n) => {
                session.feed(&read_buf[..n]);
                Ok(ReadStep::Data)
            }
            Err(e) if crate::transport::Interrupted::is(&e) => Ok(ReadStep::Interrupted),
            Err(e) if timed_out(&e) => Ok(ReadStep::TimedOut),
            Err(e) => {
                let err = Error::io("socket error", e);
                Err(self.fail(err))
            }
        }
    }

    /// The error of a wait the program interrupted (see
    /// [`crate::transport::Interrupted`]): an `error` that leaves the
    /// connection as it is when what is in flight goes on by itself (its
    /// replies are taken by a later call), an `abort` that breaks it when
    /// only the interrupted call could have gone on with it.
    pub(crate) fn interrupted(&mut self) -> Error {
        if self.e.session.only_reading() {
            Error::error("interrupted while waiting for the server")
        } else {
            let err =
                Error::abort("interrupted in the middle of an exchange with the server: the connection cannot go on");
            self.fail(err)
        }
    }

    /// Reads once within the read timeout; its passing is an `abort`.
    pub(crate) async fn fill(&mut self) -> Result<()> {
        if self.read_once(self.e.options.timeout).await? {
            Ok(())
        } else {
            let err = Error::abort("socket error: timed out waiting for the server");
            Err(self.fail(err))
        }
    }

    /// Queues a command and writes it; returns its tag.
    pub(crate) async fn send_command(&mut self, cmd: Command) -> Result<String> {
        let tag = self.e.session.command(cmd)?;
        self.flush().await?;
        Ok(tag)
    }

    /// Reads until the command with `tag` completes, within
    /// [`Options::command_timeout`] when set.
    pub(crate) async fn wait(&mut self, tag: &str) -> Result<Reply> {
        self.wait_with(tag, |_| Ok(())).await
    }

    /// [`Conn::wait`], calling `each` after every response that arrives
    /// (to take what [`Session::capture_responses`] kept); an error from
    /// `each` ends the wait.
    pub(crate) async fn wait_with(
        &mut self,
        tag: &str,
        mut each: impl FnMut(&mut Session) -> Result<()>,
    ) -> Result<Reply> {
        let deadline = self
            .e
            .options
            .command_timeout
            .map(|total| (Instant::now() + total, total));
        loop {
            if let Some(result) = self.e.session.take_reply(tag) {
                each(&mut self.e.session)?;
                return result.map_err(Error::from);
            }
            if self.e.session.poll_event()?.is_some() {
                each(&mut self.e.session)?;
                continue;
            }
            let Some((end, total)) = deadline else {
                self.fill().await?;
                continue;
            };
            let left = end.saturating_duration_since(Instant::now());
            let wait = self.e.options.timeout.map_or(left, |t| t.min(left));
            if left.is_zero() || !self.read_once(Some(wait)).await? {
                let err = if Instant::now() >= end {
                    command_timed_out(total)
                } else {
                    Error::abort("socket error: timed out waiting for the server")
                };
                return Err(self.fail(err));
            }
        }
    }

    /// Reads until the command with `tag` completes (imaplib's
    /// `_command_complete`).
    pub(crate) async fn wait_command(&mut self, tag: &str) -> Result<Reply> {
        self.wait(tag).await
    }

    /// Sends a command and waits for its reply (imaplib's
    /// `_simple_command`).
    pub(crate) async fn run(&mut self, cmd: Command) -> Result<Reply> {
        let tag = self.send_command(cmd).await?;
        self.wait(&tag).await
    }

    /// Sends any command built with [`imaplib_proto::command::build`] (or
    /// by hand) and waits for its imaplib-shaped reply.
    pub(crate) async fn run_command(&mut self, cmd: Command) -> Result<Reply> {
        self.run(cmd).await
    }

    /// [`Conn::run_command`], handing what is stored under `name` to
    /// `each` while the answer arrives: whenever more than `batch_bytes`
    /// of untagged data is held, and as soon as a large response arrives
    /// (one of [`Framer::SMALL_FRAME`] bytes or more shares the read
    /// buffer while it is held; handed on at once, it lets the framer
    /// reuse that buffer in place instead of growing new ones).
    ///
    /// [`Framer::SMALL_FRAME`]: imaplib_proto::Framer::SMALL_FRAME
    pub(crate) async fn run_command_draining(
        &mut self,
        cmd: Command,
        name: &str,
        batch_bytes: usize,
        mut each: impl FnMut(Vec<Data>),
    ) -> Result<Reply> {
        let tag = self.send_command(cmd).await?;
        let mut before = self.e.session.held_untagged_bytes();
        self.wait_with(&tag, |session| {
            let held = session.held_untagged_bytes();
            let grown = held.saturating_sub(before);
            before = held;
            if held > batch_bytes || grown >= imaplib_proto::Framer::SMALL_FRAME {
                if let Some(items) = session.pop_untagged(name) {
                    each(items);
                    before = session.held_untagged_bytes();
                }
            }
            Ok(())
        })
        .await
    }

    /// Reads the greeting, then learns the capabilities (from its code, or
    /// by asking) and the protocol version.
    pub(crate) async fn greet(&mut self) -> Result<()> {
        loop {
            match self.e.session.poll_event()? {
                Some(Event::Greeting) => break,
                Some(_) => {}
                None => self.fill().await?,
            }
        }
        tracing::debug!(target: "imaplib", "greeting: {:?}", imaplib_proto::Printable(self.e.session.welcome()));
        if self.e.session.capabilities_stale() || self.e.options.imaplib_capabilities {
            self.refresh_capabilities().await?;
        }
        self.e.set_protocol_version()
    }

    /// Asks CAPABILITY (imaplib's `_get_capabilities`).
    pub(crate) async fn refresh_capabilities(&mut self) -> Result<()> {
        let reply = self
            .run(imaplib_proto::command::build::capability())
            .await?;
        if reply.data.iter().all(Data::is_none) && self.e.session.capabilities_stale() {
            return Err(Error::error("no CAPABILITY response from server"));
        }
        Ok(())
    }

    /// After LOGIN or AUTHENTICATE: capabilities asked again unless the
    /// server's OK carried them.
    pub(crate) async fn after_auth(&mut self, reply: Reply) -> Result<Reply> {
        if self.e.session.capabilities_stale() && !self.e.options.imaplib_capabilities {
            self.refresh_capabilities().await?;
            self.e.set_protocol_version()?;
        }
        Ok(reply)
    }
}
