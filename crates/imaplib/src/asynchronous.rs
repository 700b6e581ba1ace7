//! The async client on tokio (feature `tokio`): [`AsyncImap4`], with the
//! same methods, names and results as the blocking [`crate::Imap4`], over
//! TCP, TLS (tokio-rustls, same verification rules) and a child process.
//!
//! This is a driver: it connects, and moves bytes for the engine
//! (`crate::engine`), whose operations both clients run. Every method is
//! generated from the same lists as the blocking client's, so a command is
//! defined once; what differs is only how bytes move (tokio here) and, for
//! streamed messages, that the sink and source are tokio's `AsyncWrite`
//! and `AsyncRead`.
//!
//! **Cancellation.** Dropping a method's future mid-flight cannot leave the
//! connection out of step unnoticed: the client marks itself busy while a
//! command runs, and the next call on a client whose previous command was
//! dropped before completing gets an `abort` (the connection is broken;
//! make a new one).

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use imaplib_proto::command::build;
use imaplib_proto::date::DateInput;
use imaplib_proto::{Command, Reply};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::client::{Options, IMAP4_PORT, IMAP4_SSL_PORT};
use crate::engine::{Conn, Engine, Link, Reopen};
use crate::error::{Error, Result};
use crate::streaming::{ByteSink, ByteSource};

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

/// A tokio writer or reader as the engine's sink or source.
struct Tokio<T>(T);

impl<W: AsyncWrite + Unpin + ?Sized> ByteSink for Tokio<&mut W> {
    async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        AsyncWriteExt::write_all(self.0, data).await
    }
    async fn flush(&mut self) -> std::io::Result<()> {
        AsyncWriteExt::flush(self.0).await
    }
}

impl<R: AsyncRead + Unpin + ?Sized> ByteSource for Tokio<&mut R> {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        AsyncReadExt::read(self.0, buf).await
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

    fn is_plain_tcp(&self) -> bool {
        matches!(self.0, Transport::Tcp(_))
    }

    fn is_compressed(&self) -> bool {
        matches!(self.0, Transport::Deflate(_))
    }

    async fn start_tls(
        &mut self,
        config: Arc<rustls::ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
        wait: Option<Duration>,
    ) -> Result<()> {
        let Transport::Tcp(tcp) = std::mem::replace(self.0, Transport::Closed) else {
            return Err(Error::error("STARTTLS needs a TCP connection"));
        };
        *self.0 = tls_handshake(tcp, config, name, wait).await?;
        Ok(())
    }

    fn start_deflate(&mut self, pending: &[u8]) {
        let inner = std::mem::replace(self.0, Transport::Closed);
        let codec = crate::compress::DeflateCodec::new(pending);
        *self.0 = Transport::Deflate(Box::new((inner, codec)));
    }

    async fn shutdown(&mut self) -> std::io::Result<()> {
        self.0.shutdown().await;
        Ok(())
    }
}

impl std::fmt::Debug for AsyncImap4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.engine.debug_fields(&mut f.debug_struct("AsyncImap4"))
    }
}

/// A TCP connection to `host:port`, through `options.proxy` when there is
/// one; connecting (and the proxy's exchange) may take `connect_timeout`,
/// else `timeout`.
async fn connect_tcp(host: &str, port: u16, options: &Options) -> Result<TcpStream> {
    let connect = async {
        let Some(proxy) = &options.proxy else {
            return direct(host, port).await;
        };
        let mut tcp = direct(&proxy.host, proxy.port)
            .await
            .map_err(|e| crate::proxy::unreachable(proxy, &e))?;
        crate::proxy::tunnel(&mut tcp, proxy, host, port).await?;
        Ok(tcp)
    };
    match options.connect_timeout.or(options.timeout) {
        Some(t) => tokio::time::timeout(t, connect)
            .await
            .map_err(|_| match &options.proxy {
                Some(proxy) => crate::proxy::timed_out(proxy),
                None => Error::abort(format!("cannot connect to {host}:{port}: timed out")),
            })?,
        None => connect.await,
    }
}

async fn direct(host: &str, port: u16) -> Result<TcpStream> {
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|e| Error::io(&format!("cannot connect to {host}:{port}"), e))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

impl crate::proxy::Pipe for TcpStream {
    async fn send(&mut self, data: &[u8]) -> std::io::Result<()> {
        tokio::io::AsyncWriteExt::write_all(self, data).await
    }

    async fn recv(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        tokio::io::AsyncReadExt::read(self, buf).await
    }
}

async fn tls_handshake(
    tcp: TcpStream,
    config: Arc<rustls::ClientConfig>,
    name: rustls::pki_types::ServerName<'static>,
    wait: Option<Duration>,
) -> Result<Transport> {
    let connector = tokio_rustls::TlsConnector::from(config);
    let handshake = connector.connect(name, tcp);
    let result = match wait {
        Some(t) => tokio::time::timeout(t, handshake)
            .await
            .map_err(|_| Error::abort("TLS handshake failed: timed out"))?,
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
        Self::start(
            Transport::Tcp(tcp),
            Engine::new(host, port, options, Reopen::Tcp),
        )
        .await
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
        let config = options.tls.build()?;
        let name = options.tls.name_for(host)?;
        let transport = tls_handshake(tcp, config, name, options.timeout).await?;
        Self::start(transport, Engine::new(host, port, options, Reopen::Ssl)).await
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
        let kind = Reopen::Stream(command.to_string());
        Self::start(
            Transport::Child(Box::new(pipes)),
            Engine::new("", 0, options, kind),
        )
        .await
    }

    /// Over any async byte stream.
    pub async fn from_transport(
        conn: Box<dyn AsyncConnection>,
        options: Options,
    ) -> Result<AsyncImap4> {
        Self::start(
            Transport::Custom(conn),
            Engine::new("", 0, options, Reopen::Custom),
        )
        .await
    }

    async fn start(transport: Transport, engine: Engine) -> Result<AsyncImap4> {
        let mut imap = AsyncImap4 {
            engine,
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

    crate::__imaplib_accessors!(crate::engine::api::accessor_methods);

    // ----- attributes ----------------------------------------------------------

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

    /// Changes the timeout of each read.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.engine.options.timeout = timeout;
    }

    /// Sends any command and waits for its imaplib-shaped reply.
    pub async fn run_command(&mut self, cmd: Command) -> Result<Reply> {
        self.begin()?;
        let result = self.conn().run(cmd).await;
        self.busy = false;
        result
    }

    // ----- imaplib's methods -------------------------------------------------------

    crate::__imaplib_simple_commands!(crate::methods::async_methods);

    crate::__imaplib_methods!(crate::engine::api::asynchronous);

    /// Writes one message part into `sink` without holding it in memory,
    /// as [`crate::Imap4::uid_fetch_to`].
    pub async fn uid_fetch_to<W>(&mut self, uid: u32, item: &str, sink: &mut W) -> Result<u64>
    where
        W: AsyncWrite + Unpin,
    {
        self.begin()?;
        let result = self.conn().uid_fetch_to(uid, item, Tokio(sink)).await;
        self.busy = false;
        result
    }

    /// APPEND a message of `len` bytes read from `source`, never holding it
    /// in memory, as [`crate::Imap4::append_from`].
    pub async fn append_from<R>(
        &mut self,
        mailbox: Option<&str>,
        flags: Option<&str>,
        date_time: Option<DateInput>,
        source: &mut R,
        len: u64,
        progress: impl FnMut(u64),
    ) -> Result<Reply>
    where
        R: AsyncRead + Unpin,
    {
        self.begin()?;
        let mut conn = self.conn();
        let op = conn.append_from(mailbox, flags, date_time, Tokio(source), len, progress);
        let result = op.await;
        self.busy = false;
        result
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

    /// True once COMPRESS=DEFLATE is active.
    pub fn is_compressed(&self) -> bool {
        matches!(self.transport, Transport::Deflate(_))
    }

    // ----- streaming, pipelining, IDLE that stays up ----------------------------------

    // ----- the rest of the typed methods and raw access ---------------------------------

    /// imaplib's `open(host, port)`, as [`crate::Imap4::open`]: connects
    /// again the same way and replaces the connection, closed without
    /// LOGOUT.
    pub async fn open(&mut self, host: &str, port: u16) -> Result<()> {
        crate::engine::reopen!(self, host, port, await)
    }

    /// Closes the connection (imaplib's `shutdown`).
    pub async fn shutdown(&mut self) {
        let _ = self.conn().shutdown().await;
    }

    // ----- modern extensions (see `Imap4` for each method's contract) -----------------
}
