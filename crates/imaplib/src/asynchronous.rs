//! The async client on tokio (feature `tokio`): [`AsyncImap4`], with the
//! same methods, names and results as the blocking [`crate::Imap4`], over
//! TCP, TLS (tokio-rustls, same verification rules) and a child process.
//!
//! Both clients drive the same sans-IO [`Session`]; the plain imaplib
//! methods come from one shared list (`methods.rs`), so a command is
//! defined once. What differs is only how bytes move.
//!
//! **Cancellation.** Dropping a method's future mid-flight cannot leave the
//! connection out of step unnoticed: the client marks itself busy while a
//! command runs, and the next call on a client whose previous command was
//! dropped before completing gets an `abort` (the connection is broken;
//! make a new one).

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use crate::date::time_to_internaldate;
use base64::Engine as _;
use bytes::Bytes;
use imaplib_proto::command::build;
use imaplib_proto::date::DateInput;
use imaplib_proto::types::{
    decode_data, Fetch, ListEntry, MailboxStatus, SearchResult, Typed, Untagged,
};
use imaplib_proto::{
    Command, Data, Event, ProtoError, ProtoErrorKind, Reply, Session, State, Status,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::client::{Options, IMAP4_PORT, IMAP4_SSL_PORT};
use crate::engine::{Conn, Engine, Link};
use crate::error::{Error, Result};
use crate::extensions as ext;
use crate::idle::{IdleEnd, IdleOptions, IdleOutcome, IdleStop};
use crate::streaming::Streamed;
use crate::tls::TlsConfig;
use crate::typed::SelectInfo;

/// Any async byte stream usable as a transport.
pub trait AsyncConnection: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncConnection for T {}

struct ChildPipes {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
}

enum Transport {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    Child(Box<ChildPipes>),
    Custom(Box<dyn AsyncConnection>),
    /// COMPRESS=DEFLATE over another transport.
    Deflate(Box<(Transport, crate::compress::DeflateCodec)>),
    Closed,
}

impl Transport {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Transport::Deflate(d) = self {
            let (inner, codec) = &mut **d;
            loop {
                if let Some(n) = codec.inflate(buf)? {
                    return Ok(n);
                }
                let mut chunk = [0u8; 16 * 1024];
                let n = Box::pin(inner.read(&mut chunk)).await?;
                if n == 0 {
                    return Ok(0);
                }
                codec.push_input(&chunk[..n]);
            }
        }
        match self {
            Transport::Tcp(s) => s.read(buf).await,
            Transport::Tls(s) => match s.read(buf).await {
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
            Transport::Child(c) => c.stdout.read(buf).await,
            Transport::Custom(c) => c.read(buf).await,
            Transport::Deflate(_) => unreachable!("handled above"),
            Transport::Closed => Err(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "connection closed",
            )),
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        if let Transport::Deflate(d) = self {
            let (inner, codec) = &mut **d;
            codec.deflate(data, flate2::FlushCompress::Sync)?;
            let out = std::mem::take(&mut codec.output);
            let r = Box::pin(inner.write_all(&out)).await;
            codec.output = out;
            codec.output.clear();
            return r;
        }
        match self {
            Transport::Tcp(s) => {
                s.write_all(data).await?;
                s.flush().await
            }
            Transport::Tls(s) => {
                s.write_all(data).await?;
                s.flush().await
            }
            Transport::Child(c) => {
                c.stdin.write_all(data).await?;
                c.stdin.flush().await
            }
            Transport::Custom(c) => {
                c.write_all(data).await?;
                c.flush().await
            }
            Transport::Deflate(_) => unreachable!("handled above"),
            Transport::Closed => Err(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "connection closed",
            )),
        }
    }

    /// The channel-binding data of a TLS transport (see [`crate::sasl`]);
    /// nothing otherwise.
    fn tls_bindings(&self) -> crate::sasl::TlsBindings {
        match self {
            Transport::Tls(s) => crate::sasl::TlsBindings::of(s.get_ref().1),
            Transport::Deflate(d) => d.0.tls_bindings(),
            _ => crate::sasl::TlsBindings::default(),
        }
    }

    async fn shutdown(&mut self) {
        match std::mem::replace(self, Transport::Closed) {
            Transport::Tcp(mut s) => {
                let _ = s.shutdown().await;
            }
            Transport::Tls(mut s) => {
                let _ = s.shutdown().await;
            }
            Transport::Child(c) => {
                let ChildPipes {
                    mut child, stdin, ..
                } = *c;
                drop(stdin);
                if tokio::time::timeout(Duration::from_secs(1), child.wait())
                    .await
                    .is_err()
                {
                    let _ = child.kill().await;
                }
            }
            Transport::Custom(mut c) => {
                let _ = c.shutdown().await;
            }
            Transport::Deflate(d) => {
                let (mut inner, _) = *d;
                Box::pin(inner.shutdown()).await;
            }
            Transport::Closed => {}
        }
    }
}

/// The async IMAP4 client. See the module documentation.
pub struct AsyncImap4 {
    engine: Engine,
    transport: Transport,
    busy: bool,
}

/// The tokio link: the transport's reads and writes under tokio's timers.
struct AsyncLink<'a>(&'a mut Transport);

impl Link for AsyncLink<'_> {
    async fn read(&mut self, buf: &mut [u8], wait: Option<Duration>) -> std::io::Result<usize> {
        let read = self.0.read(buf);
        match wait {
            Some(t) => tokio::time::timeout(t, read)
                .await
                .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into())),
            None => read.await,
        }
    }

    async fn write_all(&mut self, data: &[u8], wait: Option<Duration>) -> std::io::Result<()> {
        let write = self.0.write_all(data);
        match wait {
            Some(t) => tokio::time::timeout(t, write)
                .await
                .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into())),
            None => write.await,
        }
    }

    fn tls_bindings(&self) -> crate::sasl::TlsBindings {
        self.0.tls_bindings()
    }
}

impl std::fmt::Debug for AsyncImap4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncImap4")
            .field("host", &self.engine.host)
            .field("port", &self.engine.port)
            .field("state", &self.engine.session.state())
            .field("tls", &self.engine.tls_active)
            .finish()
    }
}

async fn connect_tcp(host: &str, port: u16, options: &Options) -> Result<TcpStream> {
    let connect = TcpStream::connect((host, port));
    let stream = match options.connect_timeout.or(options.timeout) {
        Some(t) => tokio::time::timeout(t, connect)
            .await
            .map_err(|_| Error::abort(format!("cannot connect to {host}:{port}: timed out")))?,
        None => connect.await,
    }
    .map_err(|e| Error::io(&format!("cannot connect to {host}:{port}"), e))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

async fn tls_handshake(
    tcp: TcpStream,
    tls: &TlsConfig,
    host: &str,
    options: &Options,
) -> Result<Transport> {
    let config = tls.build()?;
    let name = tls.name_for(host)?;
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(&config));
    let handshake = connector.connect(name, tcp);
    let result = match options.timeout {
        Some(t) => tokio::time::timeout(t, handshake)
            .await
            .map_err(|_| Error::abort("TLS handshake timed out"))?,
        None => handshake.await,
    };
    match result {
        Ok(s) => Ok(Transport::Tls(Box::new(s))),
        Err(e) => Err(Error::abort(crate::tls::describe_tls_error(&e))),
    }
}

impl AsyncImap4 {
    // ----- construction ------------------------------------------------------

    /// Plain TCP (imaplib's `IMAP4`; default `localhost:143`).
    pub async fn new(host: &str, port: u16) -> Result<AsyncImap4> {
        Self::with_options(host, port, Options::default()).await
    }

    /// [`AsyncImap4::new`] with options.
    pub async fn with_options(host: &str, port: u16, options: Options) -> Result<AsyncImap4> {
        let host = if host.is_empty() { "localhost" } else { host };
        let port = if port == 0 { IMAP4_PORT } else { port };
        let tcp = connect_tcp(host, port, &options).await?;
        Self::start(Transport::Tcp(tcp), host, port, options, false).await
    }

    /// Implicit TLS (imaplib's `IMAP4_SSL`; default port 993), certificates
    /// verified per `options.tls`.
    pub async fn ssl(host: &str, port: u16) -> Result<AsyncImap4> {
        Self::ssl_with_options(host, port, Options::default()).await
    }

    /// [`AsyncImap4::ssl`] with options.
    pub async fn ssl_with_options(host: &str, port: u16, options: Options) -> Result<AsyncImap4> {
        let host = if host.is_empty() { "localhost" } else { host };
        let port = if port == 0 { IMAP4_SSL_PORT } else { port };
        let tcp = connect_tcp(host, port, &options).await?;
        let transport = tls_handshake(tcp, &options.tls.clone(), host, &options).await?;
        Self::start(transport, host, port, options, true).await
    }

    /// A child process's stdin/stdout (imaplib's `IMAP4_stream`), started
    /// with `sh -c command`.
    pub async fn stream(command: &str) -> Result<AsyncImap4> {
        Self::stream_with_options(command, Options::default()).await
    }

    /// [`AsyncImap4::stream`] with options.
    pub async fn stream_with_options(command: &str, options: Options) -> Result<AsyncImap4> {
        let mut child = tokio::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Error::io(&format!("cannot start {command:?}"), e))?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let pipes = ChildPipes {
            child,
            stdin,
            stdout,
        };
        Self::start(Transport::Child(Box::new(pipes)), "", 0, options, false).await
    }

    /// Over any async byte stream.
    pub async fn from_transport(
        conn: Box<dyn AsyncConnection>,
        options: Options,
    ) -> Result<AsyncImap4> {
        Self::start(Transport::Custom(conn), "", 0, options, false).await
    }

    async fn start(
        transport: Transport,
        host: &str,
        port: u16,
        options: Options,
        tls: bool,
    ) -> Result<AsyncImap4> {
        let mut imap = AsyncImap4 {
            engine: Engine::new(host, port, options, tls),
            transport,
            busy: false,
        };
        imap.conn().greet().await?;
        Ok(imap)
    }

    /// The engine over this client's transport, for one operation.
    fn conn(&mut self) -> Conn<'_, AsyncLink<'_>> {
        Conn {
            e: &mut self.engine,
            link: AsyncLink(&mut self.transport),
        }
    }

    async fn refresh_capabilities(&mut self) -> Result<()> {
        self.conn().refresh_capabilities().await
    }

    fn set_protocol_version(&mut self) -> Result<()> {
        self.engine.set_protocol_version()
    }

    // ----- attributes ----------------------------------------------------------

    /// imaplib's `PROTOCOL_VERSION`.
    pub fn protocol_version(&self) -> &str {
        &self.engine.protocol_version
    }

    /// imaplib's `capabilities`.
    pub fn capabilities(&self) -> &[String] {
        self.engine.session.capabilities()
    }

    /// True if the server announced `name`.
    pub fn has_capability(&self, name: &str) -> bool {
        self.engine.session.has_capability(name)
    }

    /// imaplib's `state`.
    pub fn state(&self) -> State {
        self.engine.session.state()
    }

    /// imaplib's `welcome`.
    pub fn welcome(&self) -> &[u8] {
        self.engine.session.welcome()
    }

    /// imaplib's `untagged_responses`.
    pub fn untagged_responses(&self) -> &std::collections::HashMap<String, Vec<Data>> {
        self.engine.session.untagged_responses()
    }

    /// True when the connection runs over TLS.
    pub fn is_tls(&self) -> bool {
        self.engine.tls_active
    }

    /// The sans-IO session underneath.
    pub fn session(&self) -> &Session {
        &self.engine.session
    }

    // ----- plumbing ---------------------------------------------------------------

    fn fail(&mut self, err: Error) -> Error {
        self.engine.fail(err)
    }

    /// Marks the client busy; a client still busy from a dropped future is
    /// out of step and is broken.
    fn begin(&mut self) -> Result<()> {
        if self.busy {
            let err = Error::abort("a previous command was cancelled before it completed; the connection is out of step");
            return Err(self.fail(err));
        }
        self.busy = true;
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        self.conn().flush().await
    }

    /// Reads once; `Ok(false)` if `wait` passed with no data.
    async fn read_once(&mut self, wait: Option<Duration>) -> Result<bool> {
        self.conn().read_once(wait).await
    }

    async fn fill(&mut self) -> Result<()> {
        self.conn().fill().await
    }

    /// Changes the line and literal limits.
    pub fn set_limits(&mut self, limits: imaplib_proto::Limits) {
        self.engine.options.limits = limits;
        self.engine.session.set_limits(limits);
    }

    /// Changes the most bytes of untagged data held between commands.
    pub fn set_max_untagged_bytes(&mut self, max: usize) {
        self.engine.options.max_untagged_bytes = max;
        self.engine.session.set_max_untagged_bytes(max);
    }

    /// Changes the timeout of each read.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.engine.options.timeout = timeout;
    }

    /// Changes the bound on one command's duration
    /// ([`Options::command_timeout`]).
    pub fn set_command_timeout(&mut self, timeout: Option<Duration>) {
        self.engine.options.command_timeout = timeout;
    }

    /// Reads until the command with `tag` completes, within
    /// [`Options::command_timeout`] when set.
    async fn wait(&mut self, tag: &str) -> Result<Reply> {
        self.conn().wait(tag).await
    }

    /// [`AsyncImap4::wait`], calling `each` after every response that
    /// arrives (to take what [`Session::capture_responses`] kept).
    async fn wait_with(
        &mut self,
        tag: &str,
        each: impl FnMut(&mut Session) -> Result<()> + Send,
    ) -> Result<Reply> {
        self.conn().wait_with(tag, each).await
    }

    /// Sends any command and waits for its imaplib-shaped reply.
    pub async fn run_command(&mut self, cmd: Command) -> Result<Reply> {
        self.begin()?;
        let result = self.conn().run(cmd).await;
        self.busy = false;
        result
    }

    async fn after_auth(&mut self, reply: Reply) -> Result<Reply> {
        self.conn().after_auth(reply).await
    }

    // ----- imaplib's methods -------------------------------------------------------

    crate::methods::simple_commands!(async_methods);

    /// APPEND, as [`crate::Imap4::append`].
    pub async fn append(
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
            self.engine.session.utf8_enabled(),
        );
        self.run_command(cmd).await
    }

    /// AUTHENTICATE, as [`crate::Imap4::authenticate`].
    pub async fn authenticate<F>(&mut self, mechanism: &str, mut authobject: F) -> Result<Reply>
    where
        F: FnMut(&[u8]) -> Option<Vec<u8>>,
    {
        self.begin()?;
        let result = async {
            let tag = self.engine.session.command(build::authenticate(mechanism))?;
            self.flush().await?;
            let b64 = base64::engine::general_purpose::STANDARD;
            let mut bad_challenge = None;
            loop {
                if let Some(result) = self.engine.session.take_reply(&tag) {
                    let reply = result.map_err(Error::from)?;
                    if let Some(e) = bad_challenge {
                        return Err(e);
                    }
                    return Ok(reply);
                }
                match self.engine.session.poll_event()? {
                    Some(Event::Continuation { tag: t, text }) if t == tag => {
                        let answer = match b64.decode(text.trim_ascii()) {
                            Ok(challenge) => authobject(&challenge).map(|r| b64.encode(r)),
                            Err(_) => {
                                bad_challenge = Some(Error::error(
                                    "server sent a challenge that is not base64",
                                ));
                                None
                            }
                        };
                        let line = answer.unwrap_or_else(|| "*".to_string());
                        self.engine.session.continue_with(&tag, line.as_bytes(), true)?;
                        self.flush().await?;
                    }
                    Some(_) => {}
                    None => self.fill().await?,
                }
            }
        }
        .await;
        self.busy = false;
        self.after_auth(result?).await
    }

    /// AUTHENTICATE with a SASL mechanism, as
    /// [`crate::Imap4::authenticate_sasl`].
    pub async fn authenticate_sasl(
        &mut self,
        mech: &mut dyn crate::sasl::Mechanism,
    ) -> Result<Reply> {
        self.begin()?;
        let result = async {
            let sasl_ir = self.engine.session.has_capability("SASL-IR");
            let (mut exchange, cmd) = crate::sasl::Exchange::start(mech, sasl_ir)?;
            let tag = self.engine.session.command(cmd)?;
            self.flush().await?;
            loop {
                if let Some(result) = self.engine.session.take_reply(&tag) {
                    return exchange.complete(result).map_err(|e| self.fail(e));
                }
                match self.engine.session.poll_event()? {
                    Some(Event::Continuation { tag: t, text }) if t == tag => {
                        let line = exchange.respond(&text);
                        self.engine.session.continue_with(&tag, &line, true)?;
                        self.flush().await?;
                    }
                    Some(_) => {}
                    None => self.fill().await?,
                }
            }
        }
        .await;
        self.busy = false;
        self.after_auth(result?).await
    }

    /// The `tls-exporter` channel-binding data, as
    /// [`crate::Imap4::channel_binding`].
    pub fn channel_binding(&self) -> Option<Vec<u8>> {
        self.transport.tls_bindings().exporter
    }

    /// The `tls-server-end-point` channel-binding data, as
    /// [`crate::Imap4::tls_server_end_point`].
    pub fn tls_server_end_point(&self) -> Option<Vec<u8>> {
        self.transport.tls_bindings().server_end_point
    }

    /// Logs in with the strongest way both sides offer, as
    /// [`crate::Imap4::login_auto`] (with its one retry without binding).
    pub async fn login_auto(&mut self, user: &str, password: &str) -> Result<Reply> {
        let bindings = self.transport.tls_bindings();
        let tls = self.engine.tls_active;
        let mut plan = crate::sasl::choose_login(&self.engine.session, tls, bindings, user, password)?;
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

    /// ENABLE, as [`crate::Imap4::enable`].
    pub async fn enable(&mut self, capability: &str) -> Result<Reply> {
        if !self.engine.session.has_capability("ENABLE") {
            return Err(Error::missing_capability("ENABLE"));
        }
        self.run_command(build::enable(capability)).await
    }

    /// LOGIN, as [`crate::Imap4::login`].
    pub async fn login(
        &mut self,
        user: impl AsRef<[u8]>,
        password: impl AsRef<[u8]>,
    ) -> Result<Reply> {
        let reply = self
            .run_command(build::login(user.as_ref(), password.as_ref()))
            .await?;
        self.after_auth(reply).await
    }

    /// AUTHENTICATE CRAM-MD5, as [`crate::Imap4::login_cram_md5`].
    pub async fn login_cram_md5(&mut self, user: &str, password: &str) -> Result<Reply> {
        use hmac::{Hmac, Mac};
        let user = user.to_string();
        let password = password.as_bytes().to_vec();
        self.authenticate("CRAM-MD5", move |challenge| {
            let mut mac = Hmac::<md5::Md5>::new_from_slice(&password).ok()?;
            mac.update(challenge);
            let hex: String = mac
                .finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            Some(format!("{user} {hex}").into_bytes())
        })
        .await
    }

    /// LOGOUT, as [`crate::Imap4::logout`].
    pub async fn logout(&mut self) -> Result<Reply> {
        self.engine.session.set_state(State::Logout);
        let result = self.run_command(build::logout()).await;
        self.transport.shutdown().await;
        self.engine.session.set_broken(ProtoError::msg(
            ProtoErrorKind::Unexpected,
            "connection closed",
        ));
        match result {
            Ok(r) => Ok(r),
            Err(e) => Ok(Reply {
                typ: Status::No,
                data: vec![Data::Line(Bytes::from(e.to_string()))],
            }),
        }
    }

    /// imaplib's `recent`.
    pub async fn recent(&mut self) -> Result<Reply> {
        if let Some(items) = self.engine.session.pop_untagged("RECENT") {
            if items
                .last()
                .is_some_and(|d| d.as_bytes().is_some_and(|b| !b.is_empty()))
            {
                return Ok(Reply {
                    typ: Status::Ok,
                    data: items,
                });
            }
        }
        let reply = self.noop().await?;
        if reply.typ == Status::No {
            return Ok(reply);
        }
        let data = self
            .engine
            .session
            .pop_untagged("RECENT")
            .unwrap_or_else(|| vec![Data::None]);
        Ok(Reply {
            typ: reply.typ,
            data,
        })
    }

    /// imaplib's `response(code)`.
    pub fn response(&mut self, code: &str) -> (String, Vec<Data>) {
        let data = self
            .engine
            .session
            .pop_untagged(code)
            .unwrap_or_else(|| vec![Data::None]);
        (code.to_string(), data)
    }

    /// COMPRESS DEFLATE (RFC 4978), as [`crate::Imap4::compress_deflate`].
    pub async fn compress_deflate(&mut self) -> Result<Reply> {
        if !self.has_capability("COMPRESS=DEFLATE") {
            return Err(Error::missing_capability("COMPRESS=DEFLATE"));
        }
        if matches!(self.transport, Transport::Deflate(_)) {
            return Err(Error::error("compression is already active"));
        }
        let cmd =
            Command::new("COMPRESS").arg(imaplib_proto::Arg::Raw(Bytes::from_static(b"DEFLATE")));
        let reply = self.run_command(cmd).await?;
        if reply.typ == Status::Ok {
            let pending = self.engine.session.framer_mut().take_raw(usize::MAX);
            let inner = std::mem::replace(&mut self.transport, Transport::Closed);
            let codec = crate::compress::DeflateCodec::new(&pending);
            self.transport = Transport::Deflate(Box::new((inner, codec)));
        }
        Ok(reply)
    }

    /// True once COMPRESS=DEFLATE is active.
    pub fn is_compressed(&self) -> bool {
        matches!(self.transport, Transport::Deflate(_))
    }

    /// SEARCH, as [`crate::Imap4::search`].
    pub async fn search<I, A>(&mut self, charset: Option<&str>, criteria: I) -> Result<Reply>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        if charset.is_some() && self.engine.session.utf8_enabled() {
            return Err(Error::error("Non-None charset not valid in UTF8 mode"));
        }
        self.run_command(build::search(charset, criteria)).await
    }

    /// STARTTLS, as [`crate::Imap4::starttls`]: fails closed.
    pub async fn starttls(&mut self, tls: Option<&TlsConfig>) -> Result<Reply> {
        if self.engine.tls_active {
            return Err(Error::abort("TLS session already established"));
        }
        if let Err(e) = self.engine.session.require_tls() {
            let err = Error::from(e);
            return Err(self.fail(err));
        }
        if !matches!(self.transport, Transport::Tcp(_)) {
            return Err(Error::error("STARTTLS needs a TCP connection"));
        }
        let tls = tls.cloned().unwrap_or_else(|| self.engine.options.tls.clone());
        let reply = self.run_command(build::starttls()).await?;
        if self.engine.session.buffered_input() > 0 {
            let err = self.engine.session.tls_established().unwrap_err();
            return Err(self.fail(err.into()));
        }
        let Transport::Tcp(tcp) = std::mem::replace(&mut self.transport, Transport::Closed) else {
            unreachable!("checked above");
        };
        let host = if self.engine.host.is_empty() {
            "localhost".to_string()
        } else {
            self.engine.host.clone()
        };
        let options = self.engine.options.clone();
        match tls_handshake(tcp, &tls, &host, &options).await {
            Ok(t) => self.transport = t,
            Err(e) => return Err(self.fail(e)),
        }
        self.engine.tls_active = true;
        self.engine.session.tls_established()?;
        self.refresh_capabilities().await?;
        self.set_protocol_version()?;
        Ok(reply)
    }

    /// Any command (imaplib's `xatom`).
    pub async fn xatom<I, A>(&mut self, name: &str, args: I) -> Result<Reply>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        self.engine.session.register_command(name);
        self.run_command(build::xatom(name, args)).await
    }

    /// IDLE until `duration` passes or `stop(event)` returns true for a
    /// typed event; re-issued every `reissue_after`. Raises `error` if the
    /// server lacks IDLE, `abort` on BYE or a lost connection. To stop it
    /// from another task, drop the future: the next call gets an `abort`
    /// (see the module documentation), or pass a condition.
    pub async fn idle<F>(&mut self, duration: Option<Duration>, mut stop: F) -> Result<Vec<Typed>>
    where
        F: FnMut(&Typed) -> bool,
    {
        if !self.engine.session.has_capability("IDLE") {
            return Err(Error::missing_capability("IDLE"));
        }
        self.begin()?;
        self.engine.session.start_capture();
        let deadline = duration.map(|d| tokio::time::Instant::now() + d);
        let result = async {
            let mut events = Vec::new();
            let limit = self.engine.options.max_untagged_bytes;
            let mut held = 0usize;
            let tag = self.engine.session.command(build::idle())?;
            self.flush().await?;
            loop {
                if let Some(result) = self.engine.session.take_reply(&tag) {
                    result?;
                    return Ok(events);
                }
                match self.engine.session.poll_event()? {
                    Some(Event::Continuation { tag: t, .. }) if t == tag => break,
                    Some(_) => {}
                    None => self.fill().await?,
                }
            }
            'idle: loop {
                for (name, data) in self.engine.session.take_captured() {
                    held += data.iter().map(|d| d.weight() + 64).sum::<usize>();
                    if held > limit {
                        return Err(Error::from(ProtoError::msg(
                            ProtoErrorKind::TooMuchData,
                            "too many responses collected during IDLE",
                        )));
                    }
                    let typed = match decode_data(&name, &data).into_iter().next() {
                        Some(Ok(u)) => Typed::Untagged(u),
                        Some(Err(error)) => Typed::Undecodable { name, error },
                        None => continue,
                    };
                    let done = stop(&typed);
                    events.push(typed);
                    if done {
                        break 'idle;
                    }
                }
                if let Some(result) = self.engine.session.take_reply(&tag) {
                    result?;
                    return Ok(events);
                }
                if self.engine.session.poll_event()?.is_some() {
                    continue;
                }
                let wait =
                    deadline.map(|d| d.saturating_duration_since(tokio::time::Instant::now()));
                if wait == Some(Duration::ZERO) {
                    break;
                }
                if !self.read_once(wait).await? {
                    break;
                }
            }
            self.engine.session.idle_done(&tag)?;
            self.flush().await?;
            self.wait(&tag).await?;
            Ok(events)
        }
        .await;
        self.engine.session.stop_capture();
        self.busy = false;
        result
    }

    // ----- typed methods ------------------------------------------------------------

    /// [`AsyncImap4::typed`] for listings: an entry that does not decode
    /// is left out.
    async fn typed_listing(&mut self, cmd: Command, name: &str) -> Result<Vec<Untagged>> {
        self.engine.session.pop_untagged(name);
        let reply = self.run_command(cmd).await?;
        crate::typed::decode_reply_lenient(&reply, name)
    }

    async fn typed(&mut self, cmd: Command, name: &str) -> Result<Vec<Untagged>> {
        // As the blocking client: only data that arrived while it ran.
        self.engine.session.pop_untagged(name);
        let reply = self.run_command(cmd).await?;
        crate::typed::decode_reply(&reply, name)
    }

    /// SELECT / EXAMINE, typed, as [`crate::Imap4::select_typed`].
    pub async fn select_typed(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        readonly: bool,
    ) -> Result<SelectInfo> {
        let reply = self.select(mailbox, readonly).await?;
        crate::typed::select_info(&reply, self.engine.session.untagged_responses(), readonly)
    }

    /// FETCH, typed.
    pub async fn fetch_typed(
        &mut self,
        message_set: impl AsRef<[u8]>,
        message_parts: impl AsRef<[u8]>,
    ) -> Result<Vec<Fetch>> {
        let items = self
            .typed(
                build::fetch(message_set.as_ref(), message_parts.as_ref()),
                "FETCH",
            )
            .await?;
        Ok(crate::typed::fetches(items))
    }

    /// UID FETCH, typed.
    pub async fn uid_fetch_typed(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        message_parts: impl AsRef<[u8]>,
    ) -> Result<Vec<Fetch>> {
        let cmd = build::uid("FETCH", [uid_set.as_ref(), message_parts.as_ref()]);
        Ok(crate::typed::fetches(self.typed(cmd, "FETCH").await?))
    }

    /// LIST, typed.
    pub async fn list_typed(
        &mut self,
        directory: Option<&str>,
        pattern: Option<&str>,
    ) -> Result<Vec<ListEntry>> {
        let cmd = build::list(
            directory.unwrap_or("\"\"").as_bytes(),
            pattern.unwrap_or("*").as_bytes(),
        );
        Ok(crate::typed::list_entries(
            self.typed_listing(cmd, "LIST").await?,
        ))
    }

    /// STATUS, typed.
    pub async fn status_typed(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        names: impl AsRef<[u8]>,
    ) -> Result<MailboxStatus> {
        let items = self
            .typed(build::status(mailbox.as_ref(), names.as_ref()), "STATUS")
            .await?;
        crate::typed::one_status(items, mailbox.as_ref())
    }

    /// SEARCH, typed.
    pub async fn search_typed<I, A>(
        &mut self,
        charset: Option<&str>,
        criteria: I,
    ) -> Result<SearchResult>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let items = self
            .typed(build::search(charset, criteria), "SEARCH")
            .await?;
        crate::typed::merge_search(items)
    }

    // ----- streaming, pipelining, IDLE that stays up ----------------------------------

    /// FETCH with literals streamed to `sink`, as
    /// [`crate::Imap4::fetch_streamed`].
    pub async fn fetch_streamed<F>(
        &mut self,
        uid: bool,
        message_set: impl AsRef<[u8]>,
        message_parts: impl AsRef<[u8]>,
        mut sink: F,
    ) -> Result<Reply>
    where
        F: FnMut(Streamed<'_>) -> std::io::Result<()>,
    {
        let cmd = if uid {
            build::uid("FETCH", [message_set.as_ref(), message_parts.as_ref()])
        } else {
            build::fetch(message_set.as_ref(), message_parts.as_ref())
        };
        self.begin()?;
        let result = async {
            let tag = self.engine.session.command(cmd.streaming())?;
            self.flush().await?;
            let mut sink_error: Option<std::io::Error> = None;
            loop {
                if let Some(result) = self.engine.session.take_reply(&tag) {
                    let reply = result?;
                    return match sink_error {
                        Some(e) => {
                            Err(Error::error(format!("writing fetched data: {e}")).with_source(e))
                        }
                        None => Ok(reply),
                    };
                }
                let event = self.engine.session.poll_event()?;
                let piece = match &event {
                    Some(Event::LiteralStart { line, size }) => {
                        Some(Streamed::Start { line, size: *size })
                    }
                    Some(Event::LiteralChunk { data, .. }) => Some(Streamed::Data(data)),
                    Some(_) => None,
                    None => {
                        self.fill().await?;
                        None
                    }
                };
                if let (Some(piece), None) = (piece, &sink_error) {
                    if let Err(e) = sink(piece) {
                        sink_error = Some(e);
                    }
                }
            }
        }
        .await;
        self.busy = false;
        result
    }

    /// Writes one message part into an async `sink` without holding it in
    /// memory, as [`crate::Imap4::uid_fetch_to`]. Returns the bytes written.
    pub async fn uid_fetch_to<W>(&mut self, uid: u32, item: &str, sink: &mut W) -> Result<u64>
    where
        W: AsyncWrite + Unpin,
    {
        // Pieces are handed over synchronously; they are written to the
        // async sink in bounded batches between reads.
        self.begin()?;
        let result = async {
            let cmd =
                build::uid("FETCH", [uid.to_string().as_str(), &format!("({item})")]).streaming();
            let tag = self.engine.session.command(cmd)?;
            self.flush().await?;
            let mut written = 0u64;
            let mut literals = 0;
            let mut sink_error: Option<std::io::Error> = None;
            loop {
                if let Some(result) = self.engine.session.take_reply(&tag) {
                    let reply = result?;
                    if let Some(e) = sink_error {
                        return Err(
                            Error::error(format!("writing fetched data: {e}")).with_source(e)
                        );
                    }
                    if reply.typ != Status::Ok {
                        return Err(Error::error(format!("UID FETCH {uid} refused")));
                    }
                    if literals == 0 {
                        let mut found = false;
                        for item in decode_data("FETCH", &reply.data).into_iter().flatten() {
                            if let Untagged::Fetch(f) = item {
                                found = true;
                                if let Some(body) = f.body() {
                                    sink.write_all(body).await.map_err(|e| {
                                        Error::error(format!("writing fetched data: {e}"))
                                    })?;
                                    written += body.len() as u64;
                                }
                            }
                        }
                        if !found {
                            return Err(Error::error(format!("no message with UID {uid}")));
                        }
                    }
                    sink.flush()
                        .await
                        .map_err(|e| Error::error(format!("writing fetched data: {e}")))?;
                    return Ok(written);
                }
                match self.engine.session.poll_event()? {
                    Some(Event::LiteralStart { .. }) => literals += 1,
                    Some(Event::LiteralChunk { data, .. })
                        if literals == 1 && sink_error.is_none() =>
                    {
                        match sink.write_all(&data).await {
                            Ok(()) => written += data.len() as u64,
                            Err(e) => sink_error = Some(e),
                        }
                    }
                    Some(_) => {}
                    None => self.fill().await?,
                }
            }
        }
        .await;
        self.busy = false;
        result
    }

    /// APPEND `len` bytes read from an async `source`, never holding the
    /// message in memory, as [`crate::Imap4::append_from`].
    pub async fn append_from<R>(
        &mut self,
        mailbox: Option<&str>,
        flags: Option<&str>,
        source: &mut R,
        len: u64,
        mut progress: impl FnMut(u64),
    ) -> Result<Reply>
    where
        R: AsyncRead + Unpin,
    {
        let mbox = mailbox.filter(|m| !m.is_empty()).unwrap_or("INBOX");
        let mut cmd = Command::new("APPEND").arg(imaplib_proto::Arg::Mailbox(
            Bytes::copy_from_slice(mbox.as_bytes()),
        ));
        if let Some(f) = flags.filter(|f| !f.is_empty()) {
            let f = if f.starts_with('(') && f.ends_with(')') {
                f.to_string()
            } else {
                format!("({f})")
            };
            cmd = cmd.arg(imaplib_proto::Arg::Raw(Bytes::from(f)));
        }
        self.begin()?;
        let result = async {
            let tag = self.engine.session.command(cmd.arg(imaplib_proto::Arg::ExternalLiteral(len)))?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                while let Some(chunk) = self.engine.session.poll_chunk() {
                    let r = if chunk.external > 0 {
                        let mut left = chunk.external;
                        let mut r = Ok(());
                        while left > 0 {
                            let want = buf.len().min(left as usize);
                            match source.read(&mut buf[..want]).await {
                                Ok(0) => {
                                    r = Err(std::io::Error::new(
                                        std::io::ErrorKind::UnexpectedEof,
                                        format!("the source ended {left} bytes before the announced length"),
                                    ));
                                    break;
                                }
                                Ok(n) => {
                                    if let Err(e) = self.transport.write_all(&buf[..n]).await {
                                        r = Err(e);
                                        break;
                                    }
                                    left -= n as u64;
                                    progress(chunk.external - left);
                                }
                                Err(e) => {
                                    r = Err(e);
                                    break;
                                }
                            }
                        }
                        r
                    } else {
                        self.transport.write_all(&chunk.bytes).await
                    };
                    if let Err(e) = r {
                        let err = Error::io("APPEND from a stream", e);
                        return Err(self.fail(err));
                    }
                }
                if let Some(result) = self.engine.session.take_reply(&tag) {
                    return result.map_err(Error::from);
                }
                match self.engine.session.poll_event()? {
                    Some(_) => {}
                    None => {
                        if !self.engine.session.wants_transmit() {
                            self.fill().await?;
                        }
                    }
                }
            }
        }
        .await;
        self.busy = false;
        result
    }

    /// Appends several messages: one MULTIAPPEND when the server announces
    /// it, else one APPEND each, as [`crate::Imap4::append_many`].
    pub async fn append_many(
        &mut self,
        mailbox: Option<&str>,
        messages: &[(Option<&str>, Option<DateInput>, &[u8])],
    ) -> Result<Reply> {
        let dates = crate::streaming::append_dates(messages)?;
        if self.has_capability("MULTIAPPEND") {
            let utf8 = self.engine.session.utf8_enabled();
            let cmd = crate::streaming::multiappend_command(mailbox, messages, &dates, utf8);
            return self.run_command(cmd).await;
        }
        let mut last = None;
        for (flags, date, message) in messages {
            let reply = self.append(mailbox, *flags, date.clone(), message).await?;
            let ok = reply.is_ok();
            last = Some(reply);
            if !ok {
                break;
            }
        }
        Ok(last.expect("at least one message"))
    }

    /// Sends `commands` with up to `window` in flight, handing each reply to
    /// `on_reply` in order, as [`crate::Imap4::pipeline`].
    pub async fn pipeline<I, F>(
        &mut self,
        commands: I,
        window: usize,
        mut on_reply: F,
    ) -> Result<()>
    where
        I: IntoIterator<Item = Command>,
        F: FnMut(usize, Result<Reply>) -> Result<()>,
    {
        self.begin()?;
        let result = async {
            let window = window.max(1);
            let mut pending = commands.into_iter().enumerate();
            let mut in_flight: std::collections::VecDeque<(usize, String)> = Default::default();
            let mut stop: Option<Error> = None;
            loop {
                while stop.is_none() && in_flight.len() < window {
                    let Some((i, cmd)) = pending.next() else {
                        break;
                    };
                    match self.engine.session.command(cmd) {
                        Ok(tag) => in_flight.push_back((i, tag)),
                        Err(e) => {
                            let e = Error::from(e);
                            if e.is_abort() {
                                return Err(e);
                            }
                            if let Err(e) = on_reply(i, Err(e)) {
                                stop = Some(e);
                            }
                        }
                    }
                }
                self.flush().await?;
                let Some((i, tag)) = in_flight.pop_front() else {
                    break;
                };
                let result = self.wait(&tag).await;
                if let Err(e) = &result {
                    if e.is_abort() {
                        return Err(result.unwrap_err());
                    }
                }
                if stop.is_none() {
                    if let Err(e) = on_reply(i, result) {
                        stop = Some(e);
                    }
                }
            }
            match stop {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
        .await;
        self.busy = false;
        result
    }

    /// Downloads these UIDs in pipelined `UID FETCH` batches, as
    /// [`crate::Imap4::uid_fetch_pipelined`].
    pub async fn uid_fetch_pipelined<F>(
        &mut self,
        uids: &[u32],
        items: &str,
        batch: usize,
        window: usize,
        mut each: F,
    ) -> Result<()>
    where
        F: FnMut(Fetch) -> Result<()>,
    {
        let commands: Vec<Command> = uids
            .chunks(batch.max(1))
            .map(|chunk| {
                let set = imaplib_proto::types::SequenceSet::from_numbers(chunk.iter().copied())
                    .to_string();
                build::uid("FETCH", [set.as_str(), items])
            })
            .collect();
        self.pipeline(commands, window, |_, reply| {
            let reply = reply?;
            for f in crate::typed::fetches(crate::typed::decode_reply(&reply, "FETCH")?) {
                each(f)?;
            }
            Ok(())
        })
        .await
    }

    /// IDLE with typed events, a stop signal (set from any task or thread),
    /// a deadline, re-issuing and a keepalive check, as
    /// [`crate::Imap4::idle_with`].
    pub async fn idle_with<F>(
        &mut self,
        options: &IdleOptions,
        stop: Option<&IdleStop>,
        mut on_event: F,
    ) -> Result<IdleOutcome>
    where
        F: FnMut(&Typed) -> bool,
    {
        if !self.engine.session.has_capability("IDLE") {
            return Err(Error::missing_capability("IDLE"));
        }
        self.begin()?;
        self.engine.session.start_capture();
        let deadline = options.duration.map(|d| tokio::time::Instant::now() + d);
        let result = async {
            let mut reissued = 0;
            loop {
                let tag = self.engine.session.command(build::idle())?;
                self.flush().await?;
                loop {
                    if let Some(result) = self.engine.session.take_reply(&tag) {
                        return Ok(IdleOutcome {
                            reply: result?,
                            end: IdleEnd::ServerEnded,
                            reissued,
                        });
                    }
                    match self.engine.session.poll_event()? {
                        Some(Event::Continuation { tag: t, .. }) if t == tag => break,
                        Some(_) => {}
                        None => self.fill().await?,
                    }
                }
                let started = tokio::time::Instant::now();
                let mut last_data = started;
                let end = 'idle: loop {
                    for (name, data) in self.engine.session.take_captured() {
                        let typed = match decode_data(&name, &data).into_iter().next() {
                            Some(Ok(u)) => Typed::Untagged(u),
                            Some(Err(error)) => Typed::Undecodable { name, error },
                            None => continue,
                        };
                        if on_event(&typed) {
                            break 'idle Some(IdleEnd::Condition);
                        }
                    }
                    if let Some(result) = self.engine.session.take_reply(&tag) {
                        return Ok(IdleOutcome {
                            reply: result?,
                            end: IdleEnd::ServerEnded,
                            reissued,
                        });
                    }
                    if self.engine.session.poll_event()?.is_some() {
                        continue;
                    }
                    let now = tokio::time::Instant::now();
                    if stop.is_some_and(IdleStop::is_stopped) {
                        break Some(IdleEnd::Stopped);
                    }
                    if deadline.is_some_and(|d| now >= d) {
                        break Some(IdleEnd::Deadline);
                    }
                    if now - started >= options.reissue_after {
                        break None;
                    }
                    if let Some(k) = options.keepalive {
                        if now - last_data >= k {
                            let err = Error::abort(format!(
                                "connection dead: nothing received for {:.0?} while idling",
                                now - last_data
                            ));
                            return Err(self.fail(err));
                        }
                    }
                    let mut wait = options.poll.max(Duration::from_millis(1));
                    if let Some(d) = deadline {
                        wait = wait.min(d.saturating_duration_since(now));
                    }
                    wait =
                        wait.min((started + options.reissue_after).saturating_duration_since(now));
                    if let Some(k) = options.keepalive {
                        wait = wait.min((last_data + k).saturating_duration_since(now));
                    }
                    if self
                        .read_once(Some(wait.max(Duration::from_millis(1))))
                        .await?
                    {
                        last_data = tokio::time::Instant::now();
                    }
                };
                self.engine.session.idle_done(&tag)?;
                self.flush().await?;
                let reply = self.wait(&tag).await?;
                match end {
                    Some(end) => {
                        return Ok(IdleOutcome {
                            reply,
                            end,
                            reissued,
                        })
                    }
                    None if reply.typ == Status::Ok => reissued += 1,
                    None => {
                        return Ok(IdleOutcome {
                            reply,
                            end: IdleEnd::ServerEnded,
                            reissued,
                        })
                    }
                }
            }
        }
        .await;
        self.engine.session.stop_capture();
        self.busy = false;
        result
    }

    // ----- the rest of the typed methods and raw access ---------------------------------

    /// UID SEARCH, typed.
    pub async fn uid_search_typed<I, A>(&mut self, criteria: I) -> Result<SearchResult>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let args: Vec<Bytes> = criteria
            .into_iter()
            .map(|c| Bytes::copy_from_slice(c.as_ref()))
            .collect();
        let items = self.typed(build::uid("SEARCH", args), "SEARCH").await?;
        crate::typed::merge_search(items)
    }

    /// STORE, typed.
    pub async fn store_typed(
        &mut self,
        message_set: impl AsRef<[u8]>,
        command: impl AsRef<[u8]>,
        flags: impl AsRef<[u8]>,
    ) -> Result<Vec<Fetch>> {
        let cmd = build::store(message_set.as_ref(), command.as_ref(), flags.as_ref());
        Ok(crate::typed::fetches(self.typed(cmd, "FETCH").await?))
    }

    /// LSUB, typed.
    pub async fn lsub_typed(
        &mut self,
        directory: Option<&str>,
        pattern: Option<&str>,
    ) -> Result<Vec<ListEntry>> {
        let (cmd, name) = crate::typed::lsub_command(self.capabilities(), directory, pattern);
        Ok(crate::typed::subscribed_entries(
            self.typed_listing(cmd, name).await?,
        ))
    }

    /// SEARCH RETURN (...) (ESEARCH), as [`crate::Imap4::esearch`].
    pub async fn esearch<I, A>(
        &mut self,
        uid: bool,
        return_options: &str,
        criteria: I,
    ) -> Result<imaplib_proto::types::ESearch>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let cmd = crate::typed::esearch_command(
            self.engine.session.capabilities(),
            uid,
            return_options,
            criteria,
        )?;
        let mut all = self.typed(cmd, "ESEARCH").await?;
        Ok(crate::typed::one_esearch(all.pop(), uid))
    }

    /// SORT, typed.
    pub async fn sort_typed<I, A>(
        &mut self,
        sort_criteria: impl AsRef<[u8]>,
        charset: &str,
        criteria: I,
    ) -> Result<Vec<u32>>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let items = self
            .typed(
                build::sort(sort_criteria.as_ref(), charset, criteria),
                "SORT",
            )
            .await?;
        Ok(crate::typed::sort_ids(items))
    }

    /// THREAD, typed.
    pub async fn thread_typed<I, A>(
        &mut self,
        algorithm: impl AsRef<[u8]>,
        charset: &str,
        criteria: I,
    ) -> Result<Vec<imaplib_proto::types::ThreadNode>>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let items = self
            .typed(
                build::thread(algorithm.as_ref(), charset, criteria),
                "THREAD",
            )
            .await?;
        Ok(crate::typed::threads(items))
    }

    /// NAMESPACE, typed.
    pub async fn namespace_typed(&mut self) -> Result<imaplib_proto::types::Namespaces> {
        let items = self.typed(build::namespace(), "NAMESPACE").await?;
        crate::typed::one_namespace(items)
    }

    /// GETQUOTA, typed.
    pub async fn getquota_typed(
        &mut self,
        root: impl AsRef<[u8]>,
    ) -> Result<Vec<imaplib_proto::types::Quota>> {
        let items = self.typed(build::getquota(root.as_ref()), "QUOTA").await?;
        Ok(crate::typed::quotas(items))
    }

    /// GETQUOTAROOT, typed.
    pub async fn getquotaroot_typed(
        &mut self,
        mailbox: impl AsRef<[u8]>,
    ) -> Result<(
        imaplib_proto::types::QuotaRoot,
        Vec<imaplib_proto::types::Quota>,
    )> {
        let reply = self.getquotaroot(mailbox).await?;
        crate::typed::quota_root_of(&reply)
    }

    /// GETACL, typed.
    pub async fn getacl_typed(
        &mut self,
        mailbox: impl AsRef<[u8]>,
    ) -> Result<imaplib_proto::types::Acl> {
        let items = self.typed(build::getacl(mailbox.as_ref()), "ACL").await?;
        crate::typed::one_acl(items)
    }

    /// MYRIGHTS, typed.
    pub async fn myrights_typed(&mut self, mailbox: impl AsRef<[u8]>) -> Result<Bytes> {
        let items = self
            .typed(build::myrights(mailbox.as_ref()), "MYRIGHTS")
            .await?;
        crate::typed::one_rights(items)
    }

    /// APPEND, returning the APPENDUID when the server sends one.
    pub async fn append_typed(
        &mut self,
        mailbox: Option<&str>,
        flags: Option<&str>,
        date_time: Option<DateInput>,
        message: impl AsRef<[u8]>,
    ) -> Result<Option<(u32, imaplib_proto::types::SequenceSet)>> {
        let reply = self.append(mailbox, flags, date_time, message).await?;
        crate::typed::append_uid(&reply)
    }

    /// Starts or stops keeping unsolicited responses as events.
    pub fn set_events(&mut self, enabled: bool) {
        self.engine.session.set_unsolicited(enabled);
    }

    /// The unsolicited responses received since the last call, typed.
    pub fn take_events(&mut self) -> Vec<Typed> {
        self.engine.session
            .take_unsolicited()
            .iter()
            .map(imaplib_proto::types::decode_response)
            .collect()
    }

    /// Writes raw bytes (imaplib's `send`).
    pub async fn send(&mut self, data: &[u8]) -> Result<()> {
        if let Err(e) = self.transport.write_all(data).await {
            let err = Error::io("socket error", e);
            return Err(self.fail(err));
        }
        Ok(())
    }

    /// Reads up to `size` raw bytes (imaplib's `read`).
    pub async fn read(&mut self, size: usize) -> Result<Bytes> {
        let mut out = Vec::with_capacity(size.min(1 << 20));
        while out.len() < size {
            let got = self.engine.session.framer_mut().take_raw(size - out.len());
            if got.is_empty() {
                self.fill().await?;
                continue;
            }
            out.extend_from_slice(&got);
        }
        Ok(Bytes::from(out))
    }

    /// Reads one raw line (imaplib's `readline`).
    pub async fn readline(&mut self) -> Result<Bytes> {
        let max = self.engine.session.limits().max_line;
        let mut out = Vec::new();
        loop {
            let got = self.engine.session.framer_mut().take_raw(1);
            if got.is_empty() {
                self.fill().await?;
                continue;
            }
            out.push(got[0]);
            if got[0] == b'\n' {
                return Ok(Bytes::from(out));
            }
            if out.len() > max {
                return Err(Error::error(format!("got more than {max} bytes")));
            }
        }
    }

    /// Closes the connection (imaplib's `shutdown`).
    pub async fn shutdown(&mut self) {
        self.transport.shutdown().await;
        self.engine.session.set_broken(ProtoError::msg(
            ProtoErrorKind::Unexpected,
            "connection closed",
        ));
    }

    // ----- modern extensions (see `Imap4` for each method's contract) -----------------

    /// ENABLE IMAP4rev2 when offered, as [`crate::Imap4::enable_imap4rev2`].
    pub async fn enable_imap4rev2(&mut self) -> Result<bool> {
        if !self.has_capability("IMAP4REV2") {
            return Ok(false);
        }
        let reply = self.enable("IMAP4rev2").await?;
        let enabled = ext::enabled_includes(&self.response("ENABLED").1, "IMAP4REV2");
        if reply.is_ok() && enabled {
            self.engine.protocol_version = "IMAP4REV2".to_string();
            return Ok(true);
        }
        Ok(false)
    }

    /// ID, as [`crate::Imap4::id`].
    pub async fn id(
        &mut self,
        fields: Option<&[(&str, &str)]>,
    ) -> Result<Option<imaplib_proto::types::Pairs>> {
        if !self.has_capability("ID") {
            return Err(Error::missing_capability("ID"));
        }
        Ok(ext::one_id(self.typed(build::id(fields), "ID").await?))
    }

    /// UID EXPUNGE, as [`crate::Imap4::uid_expunge`].
    pub async fn uid_expunge(&mut self, uid_set: impl AsRef<[u8]>) -> Result<Reply> {
        if !self.has_capability("UIDPLUS") && !self.has_capability("IMAP4REV2") {
            return Err(Error::missing_capability("UIDPLUS"));
        }
        self.run_command(build::uid_expunge(uid_set.as_ref())).await
    }

    /// UID COPY with COPYUID, as [`crate::Imap4::uid_copy_typed`].
    pub async fn uid_copy_typed(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        mailbox: impl AsRef<[u8]>,
    ) -> Result<
        Option<(
            u32,
            imaplib_proto::types::SequenceSet,
            imaplib_proto::types::SequenceSet,
        )>,
    > {
        let reply = self
            .uid("COPY", [uid_set.as_ref(), mailbox.as_ref()])
            .await?;
        if reply.typ != Status::Ok {
            return Err(Error::error(format!("UID COPY refused: {:?}", reply.data)));
        }
        Ok(ext::copy_uid_of(&reply, self.engine.session.untagged_responses()))
    }

    /// MOVE by UID with a safe fallback, as [`crate::Imap4::uid_move_typed`].
    pub async fn uid_move_typed(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        mailbox: impl AsRef<[u8]>,
    ) -> Result<crate::MoveResult> {
        let set = uid_set.as_ref();
        if self.has_capability("MOVE") || self.has_capability("IMAP4REV2") {
            self.response("COPYUID");
            let reply = self.uid("MOVE", [set, mailbox.as_ref()]).await?;
            if reply.typ != Status::Ok {
                return Err(Error::error(format!("UID MOVE refused: {:?}", reply.data)));
            }
            let copy_uid = ext::copy_uid_of(&reply, self.engine.session.untagged_responses());
            self.response("COPYUID");
            return Ok(crate::MoveResult {
                copy_uid,
                fallback: false,
            });
        }
        if !self.has_capability("UIDPLUS") {
            return Err(Error::error(
                "Server has neither MOVE nor UIDPLUS: moving would need an EXPUNGE that can remove other messages",
            ));
        }
        let copy_uid = self.uid_copy_typed(set, mailbox).await?;
        let reply = self
            .uid("STORE", [set, b"+FLAGS.SILENT", b"(\\Deleted)"])
            .await?;
        if reply.typ != Status::Ok {
            return Err(Error::error(format!("UID STORE refused: {:?}", reply.data)));
        }
        let reply = self.uid_expunge(set).await?;
        if reply.typ != Status::Ok {
            return Err(Error::error(format!(
                "UID EXPUNGE refused: {:?}",
                reply.data
            )));
        }
        Ok(crate::MoveResult {
            copy_uid,
            fallback: true,
        })
    }

    /// SELECT with CONDSTORE, as [`crate::Imap4::select_condstore`].
    pub async fn select_condstore(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        readonly: bool,
    ) -> Result<SelectInfo> {
        if !self.has_capability("CONDSTORE") {
            return Err(Error::missing_capability("CONDSTORE"));
        }
        let reply = self
            .run_command(build::select_condstore(mailbox.as_ref(), readonly))
            .await?;
        crate::typed::select_info(&reply, self.engine.session.untagged_responses(), readonly)
    }

    /// FETCH handing each message over as it arrives, as
    /// [`crate::Imap4::fetch_each`].
    pub async fn fetch_each<F>(
        &mut self,
        message_set: impl AsRef<[u8]>,
        message_parts: impl AsRef<[u8]>,
        each: F,
    ) -> Result<usize>
    where
        F: FnMut(std::result::Result<Fetch, imaplib_proto::types::DecodeError>) + Send,
    {
        let cmd = build::fetch(message_set.as_ref(), message_parts.as_ref());
        self.fetch_each_command(cmd, each).await
    }

    /// UID FETCH handing each message over as it arrives, as
    /// [`crate::Imap4::uid_fetch_each`].
    pub async fn uid_fetch_each<F>(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        message_parts: impl AsRef<[u8]>,
        each: F,
    ) -> Result<usize>
    where
        F: FnMut(std::result::Result<Fetch, imaplib_proto::types::DecodeError>) + Send,
    {
        let cmd = build::uid("FETCH", [uid_set.as_ref(), message_parts.as_ref()]);
        self.fetch_each_command(cmd, each).await
    }

    /// FETCH with borrowed views, as [`crate::Imap4::fetch_each_view`].
    pub async fn fetch_each_view<F>(
        &mut self,
        message_set: impl AsRef<[u8]>,
        message_parts: impl AsRef<[u8]>,
        mut each: F,
    ) -> Result<usize>
    where
        F: FnMut(
                std::result::Result<
                    imaplib_proto::types::view::FetchView<'_>,
                    imaplib_proto::types::DecodeError,
                >,
            ) + Send,
    {
        let cmd = build::fetch(message_set.as_ref(), message_parts.as_ref());
        self.each_response(cmd, &mut |resp| each(crate::typed::view_of(resp)))
            .await
    }

    /// UID FETCH with borrowed views, as
    /// [`crate::Imap4::uid_fetch_each_view`].
    pub async fn uid_fetch_each_view<F>(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        message_parts: impl AsRef<[u8]>,
        mut each: F,
    ) -> Result<usize>
    where
        F: FnMut(
                std::result::Result<
                    imaplib_proto::types::view::FetchView<'_>,
                    imaplib_proto::types::DecodeError,
                >,
            ) + Send,
    {
        let cmd = build::uid("FETCH", [uid_set.as_ref(), message_parts.as_ref()]);
        self.each_response(cmd, &mut |resp| each(crate::typed::view_of(resp)))
            .await
    }

    async fn fetch_each_command<F>(&mut self, cmd: Command, mut each: F) -> Result<usize>
    where
        F: FnMut(std::result::Result<Fetch, imaplib_proto::types::DecodeError>) + Send,
    {
        self.each_response(cmd, &mut |resp| each(crate::typed::fetch_of(resp)))
            .await
    }

    /// Runs a FETCH-like command, handing each FETCH response over as it
    /// arrives instead of storing it.
    async fn each_response(
        &mut self,
        cmd: Command,
        each: &mut (dyn FnMut(&imaplib_proto::Response) + Send),
    ) -> Result<usize> {
        self.begin()?;
        self.engine.session.pop_untagged("FETCH");
        self.engine.session.capture_responses(Some("FETCH"));
        let mut count = 0;
        let result = async {
            let tag = self.engine.session.command(cmd)?;
            self.flush().await?;
            self.wait_with(&tag, |session: &mut Session| {
                for resp in session.take_responses() {
                    count += 1;
                    each(&resp);
                }
                Ok(())
            })
            .await
        }
        .await;
        self.engine.session.capture_responses(None);
        self.busy = false;
        crate::typed::require_ok(&result?)?;
        Ok(count)
    }

    /// UID FETCH CHANGEDSINCE, as [`crate::Imap4::uid_fetch_changed_since`].
    pub async fn uid_fetch_changed_since(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        items: impl AsRef<[u8]>,
        modseq: u64,
        vanished: bool,
    ) -> Result<(Vec<Fetch>, Option<imaplib_proto::types::SequenceSet>)> {
        self.response("VANISHED");
        let cmd =
            build::uid_fetch_changed_since(uid_set.as_ref(), items.as_ref(), modseq, vanished);
        let fetched = crate::typed::fetches(self.typed(cmd, "FETCH").await?);
        Ok((fetched, ext::vanished_of(self.response("VANISHED").1)))
    }

    /// UID STORE UNCHANGEDSINCE, as [`crate::Imap4::uid_store_unchanged_since`].
    pub async fn uid_store_unchanged_since(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        modseq: u64,
        command: impl AsRef<[u8]>,
        flags: impl AsRef<[u8]>,
    ) -> Result<(Vec<Fetch>, Option<imaplib_proto::types::SequenceSet>)> {
        let cmd = build::uid_store_unchanged_since(
            uid_set.as_ref(),
            modseq,
            command.as_ref(),
            flags.as_ref(),
        );
        self.response("MODIFIED");
        let fetched = crate::typed::fetches(self.typed(cmd, "FETCH").await?);
        Ok((fetched, ext::modified_of(&self.response("MODIFIED").1)))
    }

    /// SELECT / EXAMINE with QRESYNC parameters, as
    /// [`crate::Imap4::select_qresync`].
    pub async fn select_qresync(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        readonly: bool,
        saved_uid_validity: u32,
        saved_modseq: u64,
        known_uids: Option<&str>,
    ) -> Result<crate::Resync> {
        let cmd = ext::qresync_command(
            self.capabilities(),
            mailbox.as_ref(),
            readonly,
            saved_uid_validity,
            saved_modseq,
            known_uids,
        )?;
        if self.state() == State::Selected {
            self.unselect().await?;
        }
        crate::typed::require_ok(&self.enable("QRESYNC").await?)?;
        let reply = self.run_command(cmd).await?;
        ext::qresync_result(
            &reply,
            self.engine.session.untagged_responses(),
            saved_uid_validity,
        )
    }

    /// Resynchronises from a saved state, as [`crate::Imap4::resync`].
    pub async fn resync(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        saved_uid_validity: u32,
        saved_modseq: u64,
    ) -> Result<crate::Resync> {
        let mailbox = mailbox.as_ref();
        if self.has_capability("QRESYNC") {
            return self
                .select_qresync(mailbox, false, saved_uid_validity, saved_modseq, None)
                .await;
        }
        let info = self.select_condstore(mailbox, false).await?;
        if info.uid_validity != Some(saved_uid_validity) {
            return Ok(crate::Resync {
                info,
                uid_validity_changed: true,
                changed: Vec::new(),
                vanished: None,
            });
        }
        let (changed, _) = self
            .uid_fetch_changed_since("1:*", "(UID FLAGS)", saved_modseq, false)
            .await?;
        Ok(crate::Resync {
            info,
            uid_validity_changed: false,
            changed,
            vanished: None,
        })
    }

    /// LIST-EXTENDED / LIST-STATUS, as [`crate::Imap4::list_extended`].
    pub async fn list_extended(
        &mut self,
        selection: &[&str],
        reference: &str,
        patterns: &[&str],
        returns: &[&str],
    ) -> Result<Vec<crate::ListWithStatus>> {
        if !self.has_capability("LIST-EXTENDED") && !self.has_capability("IMAP4REV2") {
            return Err(Error::missing_capability("LIST-EXTENDED"));
        }
        if returns
            .iter()
            .any(|r| r.to_ascii_uppercase().starts_with("STATUS"))
            && !self.has_capability("LIST-STATUS")
        {
            return Err(Error::missing_capability("LIST-STATUS"));
        }
        let patterns: Vec<&[u8]> = patterns.iter().map(|p| p.as_bytes()).collect();
        self.response("STATUS");
        self.response("LIST");
        let reply = self
            .run_command(build::list_extended(
                selection,
                reference.as_bytes(),
                &patterns,
                returns,
            ))
            .await?;
        let statuses = self.response("STATUS").1;
        ext::list_with_status(&reply, statuses)
    }

    /// Special-use mailboxes, as [`crate::Imap4::special_use_mailboxes`].
    pub async fn special_use_mailboxes(
        &mut self,
    ) -> Result<std::collections::HashMap<String, ListEntry>> {
        let entries = if self.has_capability("SPECIAL-USE") && self.has_capability("LIST-EXTENDED")
        {
            self.list_extended(&["SPECIAL-USE"], "", &["*"], &[])
                .await?
                .into_iter()
                .map(|l| l.entry)
                .collect()
        } else {
            self.list_typed(None, None).await?
        };
        Ok(ext::by_special_use(entries))
    }

    /// GETMETADATA, as [`crate::Imap4::getmetadata`].
    pub async fn getmetadata(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        entries: &[&str],
        options: Option<&str>,
    ) -> Result<imaplib_proto::types::Metadata> {
        if !self.has_capability("METADATA") && !self.has_capability("METADATA-SERVER") {
            return Err(Error::missing_capability("METADATA"));
        }
        ext::merge_metadata(
            self.typed(
                build::getmetadata(mailbox.as_ref(), entries, options),
                "METADATA",
            )
            .await?,
        )
    }

    /// SETMETADATA, as [`crate::Imap4::setmetadata`].
    pub async fn setmetadata(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        entries: &[(&str, Option<&[u8]>)],
    ) -> Result<Reply> {
        if !self.has_capability("METADATA") && !self.has_capability("METADATA-SERVER") {
            return Err(Error::missing_capability("METADATA"));
        }
        self.run_command(build::setmetadata(mailbox.as_ref(), entries))
            .await
    }

    /// LISTRIGHTS, as [`crate::Imap4::listrights`].
    pub async fn listrights(
        &mut self,
        mailbox: impl AsRef<[u8]>,
        identifier: impl AsRef<[u8]>,
    ) -> Result<imaplib_proto::types::ListRights> {
        if !self.has_capability("ACL") {
            return Err(Error::missing_capability("ACL"));
        }
        ext::one_listrights(
            self.typed(
                build::listrights(mailbox.as_ref(), identifier.as_ref()),
                "LISTRIGHTS",
            )
            .await?,
        )
    }

    /// SORT RETURN (...) (ESORT), as [`crate::Imap4::esort`].
    pub async fn esort<I, A>(
        &mut self,
        uid: bool,
        return_options: &str,
        sort_criteria: &str,
        charset: &str,
        criteria: I,
    ) -> Result<imaplib_proto::types::ESearch>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let caps = self.engine.session.capabilities();
        let cmd = ext::esort_command(caps, uid, return_options, sort_criteria, charset, criteria)?;
        let mut all = self.typed(cmd, "ESEARCH").await?;
        Ok(crate::typed::one_esearch(all.pop(), uid))
    }

    /// APPEND binary content as a literal8, as [`crate::Imap4::append_binary`].
    pub async fn append_binary(
        &mut self,
        mailbox: Option<&str>,
        flags: Option<&str>,
        message: impl AsRef<[u8]>,
    ) -> Result<Reply> {
        if !self.has_capability("BINARY") {
            return Err(Error::missing_capability("BINARY"));
        }
        let cmd = build::append_binary(
            mailbox.map(str::as_bytes),
            flags.map(str::as_bytes),
            None,
            message.as_ref(),
        );
        self.run_command(cmd).await
    }
    /// APPEND with CATENATE (RFC 4469), as [`crate::Imap4::append_catenate`].
    pub async fn append_catenate(
        &mut self,
        mailbox: Option<&str>,
        flags: Option<&str>,
        date_time: Option<&str>,
        parts: &[build::CatenatePart<'_>],
    ) -> Result<Option<(u32, imaplib_proto::types::SequenceSet)>> {
        let cmd = ext::catenate_command(self.capabilities(), mailbox, flags, date_time, parts)?;
        crate::typed::append_uid(&self.run_command(cmd).await?)
    }

    /// UID FETCH with PARTIAL (RFC 9394), as [`crate::Imap4::uid_fetch_partial`].
    pub async fn uid_fetch_partial(
        &mut self,
        uid_set: impl AsRef<[u8]>,
        items: impl AsRef<[u8]>,
        range: imaplib_proto::types::PartialRange,
    ) -> Result<Vec<imaplib_proto::types::Fetch>> {
        let cmd = ext::partial_fetch_command(
            self.capabilities(),
            uid_set.as_ref(),
            items.as_ref(),
            range,
        )?;
        Ok(crate::typed::fetches(self.typed(cmd, "FETCH").await?))
    }

    /// One page of SEARCH results (RFC 9394), as [`crate::Imap4::search_partial`].
    pub async fn search_partial<I, A>(
        &mut self,
        uid: bool,
        range: imaplib_proto::types::PartialRange,
        criteria: I,
    ) -> Result<imaplib_proto::types::ESearch>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let options = ext::search_partial_options(self.capabilities(), range)?;
        self.esearch(uid, &options, criteria).await
    }

    /// The resources SETQUOTA may set, as [`crate::Imap4::quota_resources`].
    pub fn quota_resources(&self) -> Vec<String> {
        ext::quota_resources_of(self.capabilities())
    }

    /// SETQUOTA (RFC 9208), as [`crate::Imap4::setquota_typed`].
    pub async fn setquota_typed(
        &mut self,
        root: impl AsRef<[u8]>,
        limits: &[(&str, u64)],
    ) -> Result<Vec<imaplib_proto::types::Quota>> {
        let cmd = ext::setquota_command(self.capabilities(), root.as_ref(), limits)?;
        Ok(crate::typed::quotas(self.typed(cmd, "QUOTA").await?))
    }

    /// NOTIFY SET (RFC 5465), as [`crate::Imap4::notify_set`].
    pub async fn notify_set(
        &mut self,
        status: bool,
        groups: &[build::NotifyGroup],
    ) -> Result<Reply> {
        let cmd = ext::notify_command(self.capabilities(), status, groups)?;
        let reply = self.run_command(cmd).await?;
        crate::typed::require_ok(&reply)?;
        Ok(reply)
    }

    /// NOTIFY NONE, as [`crate::Imap4::notify_none`].
    pub async fn notify_none(&mut self) -> Result<Reply> {
        let cmd = ext::notify_none_command(self.capabilities())?;
        self.run_command(cmd).await
    }
}
