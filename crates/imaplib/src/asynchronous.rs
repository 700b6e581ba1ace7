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

use bytes::Bytes;
use imaplib_proto::command::build;
use imaplib_proto::date::DateInput;
use imaplib_proto::types::{decode_data, Fetch, Typed, Untagged};
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

    /// Sends any command and waits for its imaplib-shaped reply.
    pub async fn run_command(&mut self, cmd: Command) -> Result<Reply> {
        self.begin()?;
        let result = self.conn().run(cmd).await;
        self.busy = false;
        result
    }

    // ----- imaplib's methods -------------------------------------------------------

    crate::methods::simple_commands!(async_methods);

    crate::engine::api::methods!(asynchronous);

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
        let tls = tls
            .cloned()
            .unwrap_or_else(|| self.engine.options.tls.clone());
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

    /// Starts or stops keeping unsolicited responses as events.
    pub fn set_events(&mut self, enabled: bool) {
        self.engine.session.set_unsolicited(enabled);
    }

    /// The unsolicited responses received since the last call, typed.
    pub fn take_events(&mut self) -> Vec<Typed> {
        self.engine
            .session
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

    /// The resources SETQUOTA may set, as [`crate::Imap4::quota_resources`].
    pub fn quota_resources(&self) -> Vec<String> {
        ext::quota_resources_of(self.capabilities())
    }
}
