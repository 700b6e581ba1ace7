//! The byte pipes a client talks over: TCP, TLS over TCP, a child
//! process's stdin/stdout, or any caller-supplied `Read + Write`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::{ClientConfig, ClientConnection, StreamOwned};

use crate::client::Options;
use crate::error::{Error, Result};
use crate::tls::describe_tls_error;

/// A caller-supplied transport (see [`crate::Imap4::from_transport`]).
pub trait Connection: Read + Write + Send {
    /// Sets the read timeout; transports without one ignore it.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Closes the transport.
    fn shutdown(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// True when the transport can run TLS over itself, so that STARTTLS
    /// may be sent ([`Connection::start_tls`] does the handshake).
    fn can_start_tls(&self) -> bool {
        false
    }

    /// Runs a TLS handshake over the transport after the server accepted
    /// STARTTLS, with the transport's own TLS settings; what is read and
    /// written afterwards goes through TLS.
    fn start_tls(&mut self) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this transport cannot start TLS",
        ))
    }
}

/// What a [`Connection`]'s read may fail with (as
/// `io::Error::other(Interrupted)`) when the program was interrupted while
/// it waited (a signal, Ctrl-C) and nothing was read: the call ends with an
/// error and, when what is in flight needs only its replies read, the
/// connection stays usable (a later call reads them, as imaplib does when
/// `KeyboardInterrupt` leaves a command unanswered; a literal waiting for
/// the server's go-ahead is sent when it comes). An interrupted exchange
/// that only the interrupted call could go on with (AUTHENTICATE, IDLE run
/// by `idle()`, a literal sent from the caller's stream) breaks the
/// connection instead. `io::ErrorKind::Interrupted` (EINTR) is retried,
/// not this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

impl Interrupted {
    /// True when `e` is this interruption.
    pub fn is(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<Interrupted>())
    }
}

/// A TCP connection to `host:port` as the clients make it: through
/// `options.proxy` when set, within `options.connect_timeout` (else
/// `options.timeout`). For programs that run their own transport over it.
pub fn connect(host: &str, port: u16, options: &Options) -> Result<TcpStream> {
    Transport::connect(host, port, options)
}

/// Wraps any `Read + Write + Send` as a [`Connection`] without timeouts.
pub struct Plain<T>(pub T);

impl<T: Read> Read for Plain<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<T: Write> Write for Plain<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<T: Read + Write + Send> Connection for Plain<T> {}

impl Connection for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn shutdown(&mut self) -> io::Result<()> {
        TcpStream::shutdown(self, Shutdown::Both)
    }
}

/// A child process speaking IMAP on its stdin/stdout (imaplib's
/// `IMAP4_stream`). Its stdout is read by a helper thread into a bounded
/// channel, which gives reads a timeout.
pub struct ChildStream {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<io::Result<Vec<u8>>>,
    pending: Vec<u8>,
    pending_pos: usize,
    timeout: Option<Duration>,
    eof: bool,
}

impl ChildStream {
    /// Starts `sh -c command` with piped stdin and stdout.
    pub fn spawn(command: &str) -> Result<ChildStream> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io(&format!("cannot start {command:?}"), e))?;
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().expect("stdout is piped");
        // Bounded: at most 8 chunks of 64 KiB wait for the reader.
        let (tx, rx) = mpsc::sync_channel(8);
        std::thread::Builder::new()
            .name("imaplib-stream-reader".into())
            .spawn(move || loop {
                let mut buf = vec![0u8; 64 * 1024];
                match stdout.read(&mut buf) {
                    Ok(0) => {
                        let _ = tx.send(Ok(Vec::new()));
                        return;
                    }
                    Ok(n) => {
                        buf.truncate(n);
                        if tx.send(Ok(buf)).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            })
            .map_err(|e| Error::io("cannot start the reader thread", e))?;
        Ok(ChildStream {
            child,
            stdin,
            rx,
            pending: Vec::new(),
            pending_pos: 0,
            timeout: None,
            eof: false,
        })
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Read for ChildStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending_pos >= self.pending.len() {
            if self.eof {
                return Ok(0);
            }
            let next = match self.timeout {
                Some(t) => self.rx.recv_timeout(t).map_err(|e| match e {
                    RecvTimeoutError::Timeout => {
                        io::Error::new(io::ErrorKind::TimedOut, "read timed out")
                    }
                    RecvTimeoutError::Disconnected => io::Error::from(io::ErrorKind::UnexpectedEof),
                }),
                None => self
                    .rx
                    .recv()
                    .map_err(|_| io::Error::from(io::ErrorKind::UnexpectedEof)),
            };
            let chunk = match next {
                Ok(r) => r?,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Vec::new(),
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                self.eof = true;
                return Ok(0);
            }
            self.pending = chunk;
            self.pending_pos = 0;
        }
        let n = buf.len().min(self.pending.len() - self.pending_pos);
        buf[..n].copy_from_slice(&self.pending[self.pending_pos..self.pending_pos + n]);
        self.pending_pos += n;
        Ok(n)
    }
}

impl Write for ChildStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.stdin {
            Some(s) => s.write(buf),
            None => Err(io::Error::from(io::ErrorKind::BrokenPipe)),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.stdin {
            Some(s) => s.flush(),
            None => Ok(()),
        }
    }
}

impl Connection for ChildStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeout = timeout;
        Ok(())
    }

    fn shutdown(&mut self) -> io::Result<()> {
        // Closing stdin ends a well-behaved server; give it a moment, then kill.
        self.stdin = None;
        for _ in 0..100 {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        self.child.wait().map(|_| ())
    }
}

impl Drop for ChildStream {
    fn drop(&mut self) {
        let _ = Connection::shutdown(self);
    }
}

/// The transport of a connected client.
pub(crate) enum Transport {
    Tcp(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
    Child(Box<ChildStream>),
    Custom(Box<dyn Connection>),
    /// COMPRESS=DEFLATE over another transport.
    Deflate(Box<crate::compress::Deflate>),
    Closed,
}

/// A blocking socket under a proxy exchange, with one deadline for the
/// whole exchange.
struct StdPipe<'a> {
    tcp: &'a TcpStream,
    deadline: Option<Instant>,
}

impl StdPipe<'_> {
    fn arm(&self) -> io::Result<()> {
        let Some(deadline) = self.deadline else {
            return Ok(());
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.tcp.set_read_timeout(Some(left))?;
        self.tcp.set_write_timeout(Some(left))
    }
}

impl crate::proxy::Pipe for StdPipe<'_> {
    async fn send(&mut self, data: &[u8]) -> io::Result<()> {
        self.arm()?;
        let mut tcp = self.tcp;
        tcp.write_all(data)?;
        tcp.flush()
    }

    async fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm()?;
        let mut tcp = self.tcp;
        tcp.read(buf)
    }
}

impl Transport {
    /// A TCP connection to `host:port`, through `options.proxy` when there
    /// is one. Connecting (and the proxy's exchange) may take
    /// `connect_timeout`, else `timeout`.
    pub(crate) fn connect(host: &str, port: u16, options: &Options) -> Result<TcpStream> {
        let wait = options.connect_timeout.or(options.timeout);
        let Some(proxy) = &options.proxy else {
            return Self::connect_tcp(host, port, wait);
        };
        let deadline = wait.map(|w| Instant::now() + w);
        let tcp = Self::connect_tcp(&proxy.host, proxy.port, wait)
            .map_err(|e| crate::proxy::unreachable(proxy, &e))?;
        let mut pipe = StdPipe {
            tcp: &tcp,
            deadline,
        };
        crate::engine::block_on(crate::proxy::tunnel(&mut pipe, proxy, host, port))?;
        Ok(tcp)
    }

    pub(crate) fn connect_tcp(
        host: &str,
        port: u16,
        timeout: Option<Duration>,
    ) -> Result<TcpStream> {
        let addrs: Vec<_> = (host, port)
            .to_socket_addrs()
            .map_err(|e| Error::io(&format!("cannot resolve {host}:{port}"), e))?
            .collect();
        let mut last = None;
        for addr in addrs {
            let r = match timeout {
                Some(t) => TcpStream::connect_timeout(&addr, t),
                None => TcpStream::connect(addr),
            };
            match r {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) => Error::io(&format!("cannot connect to {host}:{port}"), e),
            None => Error::abort(format!("{host}:{port} resolves to no address")),
        })
    }

    /// Runs a TLS handshake over `tcp`.
    pub(crate) fn tls_handshake(
        mut tcp: TcpStream,
        config: Arc<ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
    ) -> Result<Transport> {
        let mut conn = ClientConnection::new(config, name)
            .map_err(|e| Error::abort(format!("TLS setup failed: {e}")))?;
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut tcp) {
                let mut err = Error::abort(describe_tls_error(&e));
                if let Some(inner) = e.into_inner() {
                    err = err.with_source(IoSource(inner.to_string()));
                }
                return Err(err);
            }
        }
        Ok(Transport::Tls(Box::new(StreamOwned::new(conn, tcp))))
    }

    pub(crate) fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Transport::Tcp(s) => Some(s),
            Transport::Tls(s) => Some(s.get_ref()),
            Transport::Deflate(d) => d.inner.tcp(),
            _ => None,
        }
    }

    /// The channel-binding data of a TLS transport (see [`crate::sasl`]);
    /// nothing otherwise.
    pub(crate) fn tls_bindings(&self) -> crate::sasl::TlsBindings {
        match self {
            Transport::Tls(s) => crate::sasl::TlsBindings::of(&s.conn),
            Transport::Deflate(d) => d.inner.tls_bindings(),
            _ => crate::sasl::TlsBindings::default(),
        }
    }

    pub(crate) fn set_read_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.set_read_timeout(t),
            Transport::Tls(s) => s.get_ref().set_read_timeout(t),
            Transport::Child(c) => Connection::set_read_timeout(c.as_mut(), t),
            Transport::Custom(c) => c.set_read_timeout(t),
            Transport::Deflate(d) => d.inner.set_read_timeout(t),
            Transport::Closed => Ok(()),
        }
    }

    pub(crate) fn shutdown(&mut self) -> io::Result<()> {
        let r = match self {
            Transport::Tcp(s) => TcpStream::shutdown(s, Shutdown::Both),
            Transport::Tls(s) => {
                s.conn.send_close_notify();
                let _ = s.conn.complete_io(&mut s.sock);
                TcpStream::shutdown(&s.sock, Shutdown::Both)
            }
            Transport::Child(c) => Connection::shutdown(c.as_mut()),
            Transport::Custom(c) => c.shutdown(),
            Transport::Deflate(d) => d.inner.shutdown(),
            Transport::Closed => Ok(()),
        };
        *self = Transport::Closed;
        match r {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }
}

#[derive(Debug)]
struct IoSource(String);

impl std::fmt::Display for IoSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for IoSource {}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.read(buf),
            Transport::Tls(s) => match s.read(buf) {
                // A peer that closes without close_notify: treat as EOF.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
            Transport::Child(c) => c.read(buf),
            Transport::Custom(c) => c.read(buf),
            Transport::Deflate(d) => d.read(buf),
            Transport::Closed => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "connection closed",
            )),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.write(buf),
            Transport::Tls(s) => s.write(buf),
            Transport::Child(c) => c.write(buf),
            Transport::Custom(c) => c.write(buf),
            Transport::Deflate(d) => d.write(buf),
            Transport::Closed => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "connection closed",
            )),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.flush(),
            Transport::Tls(s) => s.flush(),
            Transport::Child(c) => c.flush(),
            Transport::Custom(c) => c.flush(),
            Transport::Deflate(d) => d.flush(),
            Transport::Closed => Ok(()),
        }
    }
}
