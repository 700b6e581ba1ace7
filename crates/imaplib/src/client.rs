//! The blocking client: imaplib's `IMAP4`, `IMAP4_SSL` and `IMAP4_stream`
//! in one type, [`Imap4`], with one method per imaplib method.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::date::time_to_internaldate;
use base64::Engine as _;
use imaplib_proto::command::build;
use imaplib_proto::date::DateInput;
use imaplib_proto::{
    Command, Data, Event, Limits, ProtoError, ProtoErrorKind, Reply, SessionConfig, State,
};

use crate::engine::{block_on, Conn, Engine, Link, Reopen};
use crate::error::{Error, Result};
use crate::tls::TlsConfig;
use crate::transport::{ChildStream, Connection, Transport};

/// imaplib's `IMAP4_PORT`.
pub const IMAP4_PORT: u16 = 143;
/// imaplib's `IMAP4_SSL_PORT`.
pub const IMAP4_SSL_PORT: u16 = 993;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Timeout of every read and write, and of connecting unless
    /// [`Options::connect_timeout`] is set (imaplib's `timeout`). `None`
    /// (the default, as in imaplib) waits forever.
    pub timeout: Option<Duration>,
    /// Timeout of establishing the TCP connection; defaults to `timeout`.
    pub connect_timeout: Option<Duration>,
    /// Longest time one command may take from being sent to its
    /// completion, however the server trickles its bytes (`timeout` bounds
    /// each read only, so a server sending a byte just before every
    /// timeout could hold a command forever). Past it the command ends
    /// with `abort` and the connection is unusable. `None` (the default):
    /// no bound. Not applied to IDLE, which has its own deadline.
    pub command_timeout: Option<Duration>,
    /// Line and literal size limits.
    pub limits: Limits,
    /// Most bytes of untagged data held between commands.
    pub max_untagged_bytes: usize,
    /// imaplib's debug level (4 and above: protocol trace at DEBUG level).
    pub debug: u8,
    /// TLS settings for implicit TLS and STARTTLS.
    pub tls: TlsConfig,
    /// A SOCKS5 or HTTP CONNECT proxy to reach the server through (TCP,
    /// STARTTLS and implicit TLS; not child processes). The proxy resolves
    /// the server's name; TLS runs end to end and the certificate is
    /// checked against the server's name. `None` (the default): connect
    /// directly.
    pub proxy: Option<crate::Proxy>,
    /// Capabilities kept exactly as imaplib keeps them: asked with
    /// CAPABILITY right after the greeting (even when the greeting carried
    /// them) and after STARTTLS, and not asked again after LOGIN or
    /// AUTHENTICATE. `false` (the default) saves those round trips: the
    /// greeting's CAPABILITY code is used, and capabilities are refreshed
    /// after authentication. The Python module sets it.
    pub imaplib_capabilities: bool,
}

impl Default for Options {
    fn default() -> Self {
        let cfg = SessionConfig::default();
        Options {
            timeout: None,
            connect_timeout: None,
            command_timeout: None,
            limits: cfg.limits,
            max_untagged_bytes: cfg.max_untagged_bytes,
            debug: 0,
            tls: TlsConfig::default(),
            proxy: None,
            imaplib_capabilities: false,
        }
    }
}

impl Options {
    /// Default options with this timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        Options {
            timeout: Some(timeout),
            ..Options::default()
        }
    }
}

/// The result of [`Imap4::idle`]: the tagged completion and every untagged
/// response received while idling, in arrival order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleResult {
    /// The IDLE command's completion.
    pub reply: Reply,
    /// `(name, data)` for each untagged response, oldest first.
    pub responses: Vec<(String, Vec<Data>)>,
}

/// An IMAP4 client connection, in the shape of Python's `imaplib.IMAP4`.
///
/// Each imaplib method is a method here with the same name, returning
/// imaplib's `(type, data)` as a [`Reply`]. Errors carry imaplib's three
/// kinds ([`crate::ErrorKind`]).
///
/// Differences from imaplib, all on the safe side:
/// - arguments are quoted or sent as literals by content; CR, LF and NUL
///   are never sent inline (see [`imaplib_proto::Arg`]);
/// - TLS certificates are verified; STARTTLS refuses plaintext received
///   after the server's OK and asks for capabilities again;
/// - lines ending in a bare LF are accepted (imaplib aborts);
/// - untagged data held is bounded ([`Options::max_untagged_bytes`]);
/// - the greeting's CAPABILITY code is used instead of asking again, and
///   capabilities are refreshed after LOGIN and AUTHENTICATE;
/// - under UTF8=ACCEPT, APPEND sends RFC 6855 `UTF8 (~{N}...)`.
pub struct Imap4 {
    pub(crate) engine: Engine,
    pub(crate) transport: Transport,
    /// The read timeout the transport has now (`None`: not known).
    read_wait: Option<Option<Duration>>,
}

/// The blocking link: reads and writes on the transport, setting its read
/// timeout to each read's wait (only when that changes).
pub(crate) struct StdLink<'a> {
    transport: &'a mut Transport,
    read_wait: &'a mut Option<Option<Duration>>,
}

impl Link for StdLink<'_> {
    async fn read(&mut self, buf: &mut [u8], wait: Option<Duration>) -> io::Result<usize> {
        if *self.read_wait != Some(wait) {
            *self.read_wait = None;
            self.transport.set_read_timeout(wait)?;
            *self.read_wait = Some(wait);
        }
        self.transport.read(buf)
    }

    async fn write_all(&mut self, data: &[u8], _wait: Option<Duration>) -> io::Result<()> {
        // The write timeout is the socket's, set with the read timeout.
        self.transport.write_all(data)?;
        self.transport.flush()
    }

    fn tls_bindings(&self) -> crate::sasl::TlsBindings {
        self.transport.tls_bindings()
    }

    fn is_plain_tcp(&self) -> bool {
        match &self.transport {
            Transport::Tcp(_) => true,
            Transport::Custom(c) => c.can_start_tls(),
            _ => false,
        }
    }

    fn is_compressed(&self) -> bool {
        matches!(self.transport, Transport::Deflate(_))
    }

    async fn start_tls(
        &mut self,
        config: std::sync::Arc<rustls::ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
        _wait: Option<Duration>,
    ) -> Result<()> {
        if let Transport::Custom(c) = self.transport {
            // The transport runs TLS itself, with its own settings.
            return c
                .start_tls()
                .map_err(|e| Error::abort(format!("TLS handshake failed: {e}")));
        }
        // The handshake's reads and writes wait as long as the socket's
        // timeouts allow.
        let Transport::Tcp(tcp) = std::mem::replace(self.transport, Transport::Closed) else {
            return Err(Error::error("STARTTLS needs a TCP connection"));
        };
        *self.transport = Transport::tls_handshake(tcp, config, name)?;
        Ok(())
    }

    fn start_deflate(&mut self, pending: &[u8]) {
        let inner = std::mem::replace(self.transport, Transport::Closed);
        *self.transport =
            Transport::Deflate(Box::new(crate::compress::Deflate::new(inner, pending)));
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        self.transport.shutdown()
    }
}

impl std::fmt::Debug for Imap4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.engine.debug_fields(&mut f.debug_struct("Imap4"))
    }
}

impl Imap4 {
    // ----- construction (imaplib's three classes) ---------------------------

    /// imaplib's `IMAP4(host, port)`: plain TCP (default `localhost:143`
    /// when `host` is empty and `port` 0).
    pub fn new(host: &str, port: u16) -> Result<Imap4> {
        Self::with_options(host, port, Options::default())
    }

    /// [`Imap4::new`] with options (timeouts, limits, TLS for STARTTLS).
    pub fn with_options(host: &str, port: u16, options: Options) -> Result<Imap4> {
        let host = if host.is_empty() { "localhost" } else { host };
        let port = if port == 0 { IMAP4_PORT } else { port };
        let tcp = Transport::connect(host, port, &options)?;
        tcp.set_read_timeout(options.timeout)
            .and_then(|_| tcp.set_write_timeout(options.timeout))
            .map_err(|e| Error::io("setting the timeout", e))?;
        Self::start(
            Transport::Tcp(tcp),
            Engine::new(host, port, options, Reopen::Tcp),
        )
    }

    /// imaplib's `IMAP4_SSL(host, port)`: implicit TLS (default port 993),
    /// certificates verified per `options.tls`.
    pub fn ssl(host: &str, port: u16) -> Result<Imap4> {
        Self::ssl_with_options(host, port, Options::default())
    }

    /// [`Imap4::ssl`] with options.
    pub fn ssl_with_options(host: &str, port: u16, options: Options) -> Result<Imap4> {
        let host = if host.is_empty() { "localhost" } else { host };
        let port = if port == 0 { IMAP4_SSL_PORT } else { port };
        let config = options.tls.build()?;
        let name = options.tls.name_for(host)?;
        let tcp = Transport::connect(host, port, &options)?;
        tcp.set_read_timeout(options.timeout)
            .and_then(|_| tcp.set_write_timeout(options.timeout))
            .map_err(|e| Error::io("setting the timeout", e))?;
        let transport = Transport::tls_handshake(tcp, config, name)?;
        Self::start(transport, Engine::new(host, port, options, Reopen::Ssl))
    }

    /// imaplib's `IMAP4_stream(command)`: talks to `sh -c command` over its
    /// stdin and stdout (for example a preauthenticated server process).
    pub fn stream(command: &str) -> Result<Imap4> {
        Self::stream_with_options(command, Options::default())
    }

    /// [`Imap4::stream`] with options (the timeout applies to reads).
    pub fn stream_with_options(command: &str, options: Options) -> Result<Imap4> {
        let mut child = ChildStream::spawn(command)?;
        Connection::set_read_timeout(&mut child, options.timeout)
            .map_err(|e| Error::io("setting the timeout", e))?;
        let kind = Reopen::Stream(command.to_string());
        Self::start(
            Transport::Child(Box::new(child)),
            Engine::new("", 0, options, kind),
        )
    }

    /// A client over any transport (a `Read + Write` wrapped in
    /// [`crate::transport::Plain`], or a [`Connection`] with timeouts).
    pub fn from_transport(conn: Box<dyn Connection>, options: Options) -> Result<Imap4> {
        Self::start(
            Transport::Custom(conn),
            Engine::new("", 0, options, Reopen::Custom),
        )
    }

    fn start(transport: Transport, engine: Engine) -> Result<Imap4> {
        let mut imap = Imap4 {
            engine,
            transport,
            read_wait: None,
        };

        imap.read_greeting()?;
        Ok(imap)
    }

    /// imaplib's `open(host, port)`: connects again the same way (TCP,
    /// TLS, or the same child process command; `host` and `port` are
    /// ignored for a child process), reads the greeting and replaces the
    /// current connection, which is closed without LOGOUT. A custom
    /// transport cannot be reopened.
    pub fn open(&mut self, host: &str, port: u16) -> Result<()> {
        crate::engine::reopen!(self, host, port)
    }

    fn read_greeting(&mut self) -> Result<()> {
        block_on(self.conn().greet())
    }

    crate::__imaplib_accessors!(crate::engine::api::accessor_methods);

    // ----- attributes --------------------------------------------------------

    /// Changes the read/write timeout.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.engine.options.timeout = timeout;
        self.read_wait = None;
        self.transport
            .set_read_timeout(timeout)
            .map_err(|e| Error::io("setting the timeout", e))?;
        self.read_wait = Some(timeout);
        if let Some(tcp) = self.transport.tcp() {
            tcp.set_write_timeout(timeout)
                .map_err(|e| Error::io("setting the timeout", e))?;
        }
        Ok(())
    }

    // ----- I/O plumbing -------------------------------------------------------

    /// The engine over this client's transport, for one operation.
    pub(crate) fn conn(&mut self) -> Conn<'_, StdLink<'_>> {
        Conn {
            e: &mut self.engine,
            link: StdLink {
                transport: &mut self.transport,
                read_wait: &mut self.read_wait,
            },
        }
    }

    /// Sends a command and waits for its reply (imaplib's `_simple_command`).
    fn run(&mut self, cmd: Command) -> Result<Reply> {
        block_on(self.conn().run(cmd))
    }

    /// Sends any command built with [`imaplib_proto::command::build`] (or
    /// by hand) and waits for its imaplib-shaped reply.
    pub fn run_command(&mut self, cmd: Command) -> Result<Reply> {
        self.run(cmd)
    }

    // ----- imaplib's methods, alphabetically -----------------------------------
    // (the plain ones are generated from the shared list in methods.rs)

    crate::__imaplib_simple_commands!(crate::methods::blocking_methods);

    crate::__imaplib_methods!(crate::engine::api::blocking);

    /// The RFC 9266 `tls-exporter` channel-binding data of this connection,
    /// for SCRAM-SHA-256-PLUS ([`crate::sasl::Scram::sha256_plus`]); `None`
    /// unless it runs over TLS 1.3.
    pub fn channel_binding(&self) -> Option<Vec<u8>> {
        self.transport.tls_bindings().exporter
    }

    /// The RFC 5929 `tls-server-end-point` channel-binding data of this
    /// connection (the hash of the server's certificate), for a SCRAM
    /// `-PLUS` mechanism with
    /// [`crate::sasl::ChannelBinding::TlsServerEndPoint`]; `None` without
    /// TLS or for a certificate whose signature names no single hash.
    pub fn tls_server_end_point(&self) -> Option<Vec<u8>> {
        self.transport.tls_bindings().server_end_point
    }

    /// Closes the connection (imaplib's `shutdown`).
    pub fn shutdown(&mut self) -> Result<()> {
        let r = crate::engine::block_on(self.conn().shutdown());
        r.map_err(|e| Error::io("socket error", e))
    }

    /// The TCP socket under the connection (imaplib's `socket()`); `None`
    /// for a child process or a custom transport.
    pub fn socket(&self) -> Option<&TcpStream> {
        self.transport.tcp()
    }
}

impl<L: Link> Conn<'_, L> {
    /// IDLE (RFC 2177): waits for untagged responses until `duration` has
    /// passed (forever if `None`) or `stop(name, data)` returns true for a
    /// response, then sends DONE. Returns every response received while
    /// idling, in order. The read timeout does not end the wait; see
    /// [`Imap4::idle_with`] for keepalive checks, re-issuing, a stop signal
    /// and typed events. Raises `error` if the server lacks IDLE, `abort` on
    /// BYE or a lost connection.
    pub(crate) async fn idle<F>(
        &mut self,
        duration: Option<Duration>,
        mut stop: F,
    ) -> Result<IdleResult>
    where
        F: FnMut(&str, &[Data]) -> bool,
    {
        let options = crate::idle::IdleOptions {
            duration,
            ..crate::idle::IdleOptions::default()
        };
        let mut responses = Vec::new();
        // What is collected for the caller is bounded like untagged data.
        let limit = self.e.options.max_untagged_bytes;
        let mut held = 0usize;
        let outcome = self
            .idle_loop(&options, None, &mut |name, data| {
                held += data.iter().map(|d| d.weight() + 64).sum::<usize>();
                if held > limit {
                    return Err(Error::from(ProtoError::msg(
                        ProtoErrorKind::TooMuchData,
                        format!("more than {limit} bytes of responses collected during IDLE"),
                    )));
                }
                let done = stop(name, data);
                responses.push((name.to_string(), data.to_vec()));
                Ok(done)
            })
            .await?;
        Ok(IdleResult {
            reply: outcome.reply,
            responses,
        })
    }
}

impl<L: Link> Conn<'_, L> {
    /// APPEND (RFC 3501 §6.3.11): appends `message` to `mailbox` (INBOX if
    /// `None`), with optional flags (`"(\\Seen)"` or `"\\Seen"`) and
    /// date-time ([`DateInput`]: timestamp, date-time or quoted string).
    pub(crate) async fn append(
        &mut self,
        mailbox: Option<&str>,
        flags: Option<&str>,
        date_time: Option<DateInput>,
        message: impl AsRef<[u8]>,
    ) -> Result<Reply> {
        let date = match date_time {
            Some(d) => Some(time_to_internaldate(d).map_err(Error::error)?),
            None => None,
        };
        let cmd = build::append(
            mailbox.map(str::as_bytes),
            flags.map(str::as_bytes),
            date.as_deref().map(str::as_bytes),
            message.as_ref(),
            self.e.session.utf8_enabled(),
        );
        self.run(cmd).await
    }

    /// AUTHENTICATE (RFC 3501 §6.2.2). `authobject` receives each decoded
    /// server challenge and returns the response (sent base64 encoded), or
    /// `None` to cancel with `*`. A refusal raises `error`, as in imaplib.
    pub(crate) async fn authenticate<F>(
        &mut self,
        mechanism: &str,
        mut authobject: F,
    ) -> Result<Reply>
    where
        F: FnMut(&[u8]) -> Option<Vec<u8>>,
    {
        let tag = self.send_command(build::authenticate(mechanism)).await?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut bad_challenge = None;
        loop {
            if let Some(result) = self.e.session.take_reply(&tag) {
                let reply = result.map_err(Error::from)?;
                if let Some(e) = bad_challenge {
                    return Err(e);
                }
                return self.after_auth(reply).await;
            }
            match self.e.session.poll_event() {
                Ok(Some(Event::Continuation { tag: t, text })) if t == tag => {
                    let answer = match b64.decode(text.trim_ascii()) {
                        Ok(challenge) => authobject(&challenge).map(|r| b64.encode(r)),
                        Err(_) => {
                            bad_challenge = Some(Error::error(format!(
                                "server sent a challenge that is not base64: {:?}",
                                imaplib_proto::Printable(&text)
                            )));
                            None
                        }
                    };
                    let line = answer.unwrap_or_else(|| "*".to_string());
                    self.e.session.continue_with(&tag, line.as_bytes(), true)?;
                }
                Ok(Some(_)) => {}
                Ok(None) => self.fill().await?,
                Err(e) => return Err(e.into()),
            }
            self.flush().await?;
        }
    }

    /// AUTHENTICATE with a SASL mechanism ([`crate::sasl`]), its initial
    /// response on the command line when the server announces SASL-IR (RFC
    /// 4959). A mechanism error cancels the exchange with `*` and raises
    /// `error`, as does a refusal; an OK the mechanism cannot verify (SCRAM
    /// without a valid server signature) raises `abort`. Capabilities are
    /// refreshed afterwards, as after [`Imap4::login`].
    pub(crate) async fn authenticate_sasl(
        &mut self,
        mech: &mut dyn crate::sasl::Mechanism,
    ) -> Result<Reply> {
        let sasl_ir = self.e.session.has_capability("SASL-IR");
        let (mut exchange, cmd) = crate::sasl::Exchange::start(mech, sasl_ir)?;
        let tag = self.send_command(cmd).await?;
        loop {
            if let Some(result) = self.e.session.take_reply(&tag) {
                let reply = exchange.complete(result).map_err(|e| self.fail(e))?;
                return self.after_auth(reply).await;
            }
            match self.e.session.poll_event() {
                Ok(Some(Event::Continuation { tag: t, text })) if t == tag => {
                    let line = exchange.respond(&text);
                    self.e.session.continue_with(&tag, &line, true)?;
                }
                Ok(Some(_)) => {}
                Ok(None) => self.fill().await?,
                Err(e) => return Err(e.into()),
            }
            self.flush().await?;
        }
    }

    /// ENABLE capability (RFC 5161). Raises `error` when the server lacks
    /// ENABLE. Enabling UTF8=ACCEPT switches to UTF-8 mode.
    pub(crate) async fn enable(&mut self, capability: &str) -> Result<Reply> {
        if !self.e.session.has_capability("ENABLE") {
            return Err(Error::missing_capability("ENABLE"));
        }
        self.run(build::enable(capability)).await
    }

    /// LOGIN user password. The password is always quoted or sent as a
    /// literal, never shown in traces. A refusal raises `error`.
    pub(crate) async fn login(
        &mut self,
        user: impl AsRef<[u8]>,
        password: impl AsRef<[u8]>,
    ) -> Result<Reply> {
        let reply = self
            .run(build::login(user.as_ref(), password.as_ref()))
            .await?;
        self.after_auth(reply).await
    }

    /// Logs in with the strongest way both sides offer: SCRAM-SHA-256-PLUS
    /// or SCRAM-SHA-1-PLUS over TLS (bound with `tls-exporter` under TLS
    /// 1.3, `tls-server-end-point` otherwise) > SCRAM-SHA-256 >
    /// SCRAM-SHA-1 > AUTHENTICATE PLAIN (over TLS, or when the server does
    /// not say LOGINDISABLED) > LOGIN (unless LOGINDISABLED). Raises
    /// `error`, sending nothing, when the only ways left would send the
    /// password in cleartext to a server that says LOGINDISABLED.
    ///
    /// When the server refuses a `-PLUS` mechanism's binding type (as
    /// Cyrus IMAP 3.6 refuses `tls-exporter`), the same SCRAM hash is tried
    /// once more without binding, if the server offers it; the trace says
    /// so. No other refusal is retried, and never with a mechanism the
    /// server did not offer.
    pub(crate) async fn login_auto(&mut self, user: &str, password: &str) -> Result<Reply> {
        let bindings = self.link.tls_bindings();
        let tls = self.e.tls_active;
        let mut plan = crate::sasl::choose_login(&self.e.session, tls, bindings, user, password)?;
        let result = match &mut plan.first {
            crate::sasl::AutoLogin::Scram(m) => self.authenticate_sasl(m.as_mut()).await,
            crate::sasl::AutoLogin::Plain(m) => self.authenticate_sasl(m.as_mut()).await,
            crate::sasl::AutoLogin::Login => self.login(user, password).await,
        };
        match result {
            Err(err) => match plan.retry_after(&err) {
                Some(mut retry) => self.authenticate_sasl(&mut retry).await,
                None => Err(err),
            },
            ok => ok,
        }
    }

    /// AUTHENTICATE CRAM-MD5 (RFC 2195) with `user` and `password`.
    pub(crate) async fn login_cram_md5(&mut self, user: &str, password: &str) -> Result<Reply> {
        use hmac::{Hmac, Mac};
        let user = user.to_string();
        let password = password.as_bytes().to_vec();
        self.authenticate("CRAM-MD5", move |challenge| {
            let mut mac = Hmac::<md5::Md5>::new_from_slice(&password).ok()?;
            mac.update(challenge);
            let digest = mac.finalize().into_bytes();
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            Some(format!("{user} {hex}").into_bytes())
        })
        .await
    }

    /// imaplib's `recent`: the RECENT data already received, else a NOOP's.
    pub(crate) async fn recent(&mut self) -> Result<Reply> {
        if let Some(items) = self.e.session.pop_untagged("RECENT") {
            if items
                .last()
                .is_some_and(|d| d.as_bytes().is_some_and(|b| !b.is_empty()))
            {
                return Ok(Reply {
                    typ: imaplib_proto::Status::Ok,
                    data: items,
                });
            }
        }
        let reply = self.noop().await?;
        if reply.typ == imaplib_proto::Status::No {
            return Ok(reply);
        }
        let data = self
            .e
            .session
            .pop_untagged("RECENT")
            .unwrap_or_else(|| vec![Data::None]);
        Ok(Reply {
            typ: reply.typ,
            data,
        })
    }

    /// SEARCH [CHARSET charset] criteria...: the SEARCH data. Each criterion
    /// is sent as written (a single word with 8-bit data as a literal).
    /// Raises `error` for a charset under UTF8=ACCEPT, as imaplib does.
    pub(crate) async fn search<I, A>(&mut self, charset: Option<&str>, criteria: I) -> Result<Reply>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        if charset.is_some() && self.e.session.utf8_enabled() {
            return Err(Error::error("Non-None charset not valid in UTF8 mode"));
        }
        self.run(build::search(charset, criteria)).await
    }

    /// Any command (imaplib's `xatom`): allowed in the current state if
    /// imaplib does not know it; arguments sent as written (CR, LF and NUL
    /// refused).
    pub(crate) async fn xatom<I, A>(&mut self, name: &str, args: I) -> Result<Reply>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        self.e.session.register_command(name);
        self.run(build::xatom(name, args)).await
    }
}

impl Drop for Imap4 {
    /// Logs out if still connected, as imaplib's context manager does,
    /// waiting at most 5 seconds for the server.
    fn drop(&mut self) {
        if matches!(self.transport, Transport::Closed)
            || self.engine.session.broken().is_some()
            || self.engine.session.state() == State::Logout
        {
            return;
        }
        let limit = Duration::from_secs(5);
        let t = match self.engine.options.timeout {
            Some(t) if t < limit => t,
            _ => limit,
        };
        let _ = self.set_timeout(Some(t));
        let _ = self.logout();
    }
}
