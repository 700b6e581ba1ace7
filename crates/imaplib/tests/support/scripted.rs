//! A scripted IMAP server for tests: it listens on a free loopback port,
//! accepts one connection and runs a script (a closure) that checks what the
//! client sent and answers canned bytes. A failed check inside the script
//! fails the test when [`Scripted::finish`] joins it.
//!
//! The connection can be plain TCP, implicit TLS ([`Scripted::start_tls`])
//! or switch to TLS in the middle ([`Peer::starttls`]), with rustls on the
//! server side, so hostile TLS peers can be scripted too.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// How long a script waits for the client before giving up.
const SCRIPT_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes that arrived before a TLS handshake started are handed to rustls
/// first, then the socket is read.
struct Replay {
    pending: Vec<u8>,
    pos: usize,
    tcp: TcpStream,
}

impl Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.pending.len() {
            let n = buf.len().min(self.pending.len() - self.pos);
            buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.tcp.read(buf)
    }
}

impl Write for Replay {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// The byte stream of a connection: plain or TLS.
enum Stream {
    Tcp(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, Replay>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// The server side of one connection.
pub struct Peer {
    reader: BufReader<Stream>,
    /// The socket itself, for timeouts and shutdown whatever runs over it.
    tcp: TcpStream,
    sent: u64,
}

/// One command line the client sent.
#[derive(Debug, Clone)]
pub struct Cmd {
    /// The tag.
    pub tag: String,
    /// The command name, upper case.
    pub name: String,
    /// Everything after the name (without the leading space), as sent.
    pub rest: Vec<u8>,
    /// The whole line without CRLF.
    pub line: Vec<u8>,
}

impl Cmd {
    /// `rest` as text.
    pub fn args(&self) -> String {
        String::from_utf8_lossy(&self.rest).into_owned()
    }
}

/// One whole command, literals included, as a server parses it.
#[derive(Debug, Clone)]
pub struct FullCmd {
    /// The tag.
    pub tag: String,
    /// The command name, upper case.
    pub name: String,
    /// The arguments after the name, decoded: atoms as they are, quoted
    /// strings unescaped, literals as their data, parenthesised lists raw
    /// (parentheses included).
    pub args: Vec<Vec<u8>>,
    /// Every byte of the command as received (literal data and CRLFs too).
    pub wire: Vec<u8>,
    /// How many literals the command carried.
    pub literals: usize,
}

/// A literal announcement at the end of a command line: `{N}`, `{N+}`,
/// `~{N}`; returns the size, whether it is non-synchronizing, and where the
/// announcement starts in the line.
pub fn literal_suffix(line: &[u8]) -> Option<(usize, bool, usize)> {
    let inner_end = line.len().checked_sub(1)?;
    if line[inner_end] != b'}' {
        return None;
    }
    let open = line[..inner_end].iter().rposition(|&b| b == b'{')?;
    let inner = &line[open + 1..inner_end];
    let (digits, nonsync) = match inner.strip_suffix(b"+") {
        Some(d) => (d, true),
        None => (inner, false),
    };
    if digits.is_empty() || digits.len() > 12 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let size = std::str::from_utf8(digits).ok()?.parse().ok()?;
    let start = if open > 0 && line[open - 1] == b'~' {
        open - 1
    } else {
        open
    };
    Some((size, nonsync, start))
}

/// A piece of a command: text of a line, or literal data.
enum Piece {
    Text(Vec<u8>),
    Literal(Vec<u8>),
}

/// Splits the pieces of a command into decoded tokens (see [`FullCmd::args`]).
/// Panics on a quoted string that is not closed: the client must never send
/// one.
fn tokens(pieces: &[Piece]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut group: Option<(usize, Vec<u8>)> = None;
    for piece in pieces {
        let text = match piece {
            Piece::Literal(data) => {
                match &mut group {
                    Some((_, raw)) => raw.extend_from_slice(data),
                    None => out.push(data.clone()),
                }
                continue;
            }
            Piece::Text(t) => t,
        };
        let mut i = 0;
        while i < text.len() {
            let b = text[i];
            if let Some((depth, raw)) = &mut group {
                raw.push(b);
                match b {
                    b'(' => *depth += 1,
                    b')' => *depth -= 1,
                    b'"' => {
                        i += 1;
                        while i < text.len() && text[i] != b'"' {
                            if text[i] == b'\\' {
                                raw.push(text[i]);
                                i += 1;
                            }
                            raw.push(text[i]);
                            i += 1;
                        }
                        raw.push(b'"');
                    }
                    _ => {}
                }
                if *depth == 0 {
                    let (_, raw) = group.take().unwrap();
                    out.push(raw);
                }
                i += 1;
                continue;
            }
            match b {
                b' ' => i += 1,
                b'(' => {
                    group = Some((1, vec![b'(']));
                    i += 1;
                }
                b'"' => {
                    let mut value = Vec::new();
                    i += 1;
                    loop {
                        assert!(i < text.len(), "unterminated quoted string in {text:?}");
                        match text[i] {
                            b'"' => break,
                            b'\\' => {
                                i += 1;
                                assert!(i < text.len(), "dangling backslash in {text:?}");
                                value.push(text[i]);
                            }
                            c => value.push(c),
                        }
                        i += 1;
                    }
                    out.push(value);
                    i += 1;
                }
                _ => {
                    let start = i;
                    while i < text.len() && text[i] != b' ' && text[i] != b'(' {
                        i += 1;
                    }
                    out.push(text[start..i].to_vec());
                }
            }
        }
    }
    if let Some((_, raw)) = group {
        out.push(raw);
    }
    out
}

impl Peer {
    fn new(stream: Stream, tcp: TcpStream) -> Peer {
        Peer {
            reader: BufReader::new(stream),
            tcp,
            sent: 0,
        }
    }

    /// Sends bytes as they are.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.try_send(bytes).expect("server write");
    }

    /// Sends bytes; an error (the client closed the connection) is
    /// returned instead of failing the script.
    pub fn try_send(&mut self, bytes: impl AsRef<[u8]>) -> io::Result<()> {
        let bytes = bytes.as_ref();
        let w = self.reader.get_mut();
        w.write_all(bytes)?;
        w.flush()?;
        self.sent += bytes.len() as u64;
        Ok(())
    }

    /// Total bytes the script managed to send.
    pub fn bytes_sent(&self) -> u64 {
        self.sent
    }

    /// Sends a line, adding CRLF.
    pub fn line_out(&mut self, line: &str) {
        self.send(format!("{line}\r\n"));
    }

    /// Sends `TAG text` CRLF.
    pub fn tagged(&mut self, cmd: &Cmd, text: &str) {
        self.line_out(&format!("{} {text}", cmd.tag));
    }

    /// Reads one line (with its CRLF); panics on EOF or after 10 s.
    pub fn read_line(&mut self) -> Vec<u8> {
        let line = self.try_read_line().expect("server read");
        assert!(
            !line.is_empty(),
            "client closed the connection while the script expected a line"
        );
        line
    }

    /// Reads one line (with its CRLF); empty at EOF.
    pub fn try_read_line(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line)?;
        Ok(line)
    }

    /// Reads exactly `n` bytes.
    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        self.reader.read_exact(&mut buf).expect("server read_exact");
        buf
    }

    /// Reads a command line.
    pub fn command(&mut self) -> Cmd {
        let raw = self.read_line();
        assert!(
            raw.ends_with(b"\r\n"),
            "command line not ended by CRLF: {raw:?}"
        );
        let line = raw[..raw.len() - 2].to_vec();
        let text = String::from_utf8_lossy(&line).into_owned();
        let mut parts = text.splitn(3, ' ');
        let tag = parts.next().unwrap_or_default().to_string();
        let name = parts.next().unwrap_or_default().to_ascii_uppercase();
        let skip = tag.len() + 1 + name.len() + 1;
        let rest = if line.len() > skip {
            line[skip..].to_vec()
        } else {
            Vec::new()
        };
        Cmd {
            tag,
            name,
            rest,
            line,
        }
    }

    /// Reads one whole command the way a server does: a line, and for each
    /// literal it announces (`{N}` gets a `+` first, `{N+}` does not) the
    /// literal's bytes and the line that continues the command. Panics on
    /// EOF, on a line not ended by CRLF and on malformed quoting.
    pub fn full_command(&mut self) -> FullCmd {
        self.try_full_command()
            .expect("client closed the connection while the script expected a command")
    }

    /// [`Peer::full_command`], or `None` at EOF, timeout or a read error.
    pub fn try_full_command(&mut self) -> Option<FullCmd> {
        let mut pieces = Vec::new();
        let mut wire = Vec::new();
        let mut literals = 0;
        loop {
            let raw = self.try_read_line().ok()?;
            if raw.is_empty() {
                return None;
            }
            wire.extend_from_slice(&raw);
            assert!(
                raw.ends_with(b"\r\n"),
                "command line not ended by CRLF: {:?}",
                String::from_utf8_lossy(&raw)
            );
            let line = &raw[..raw.len() - 2];
            match literal_suffix(line) {
                Some((size, nonsync, start)) => {
                    pieces.push(Piece::Text(line[..start].to_vec()));
                    if !nonsync {
                        self.try_send("+ Ready for literal data\r\n").ok()?;
                    }
                    let mut data = vec![0u8; size];
                    self.reader.read_exact(&mut data).ok()?;
                    wire.extend_from_slice(&data);
                    pieces.push(Piece::Literal(data));
                    literals += 1;
                }
                None => {
                    pieces.push(Piece::Text(line.to_vec()));
                    break;
                }
            }
        }
        let mut all = tokens(&pieces).into_iter();
        let tag = String::from_utf8_lossy(&all.next().unwrap_or_default()).into_owned();
        let name = String::from_utf8_lossy(&all.next().unwrap_or_default()).to_ascii_uppercase();
        Some(FullCmd {
            tag,
            name,
            args: all.collect(),
            wire,
            literals,
        })
    }

    /// Reads a command and checks its name.
    pub fn expect(&mut self, name: &str) -> Cmd {
        let cmd = self.command();
        assert_eq!(
            cmd.name,
            name,
            "expected {name}, client sent {:?}",
            String::from_utf8_lossy(&cmd.line)
        );
        cmd
    }

    /// Reads a command and checks its whole line after the tag.
    pub fn expect_line(&mut self, after_tag: &str) -> Cmd {
        let cmd = self.command();
        let got = String::from_utf8_lossy(&cmd.line[cmd.tag.len() + 1..]).into_owned();
        assert_eq!(got, after_tag, "client sent an unexpected command");
        cmd
    }

    /// True if the client sends nothing within `wait`.
    pub fn silent_for(&mut self, wait: Duration) -> bool {
        if !self.reader.buffer().is_empty() {
            return false;
        }
        self.tcp.set_read_timeout(Some(wait)).unwrap();
        let r = self.reader.fill_buf().map(|b| b.is_empty());
        self.tcp
            .set_read_timeout(Some(SCRIPT_READ_TIMEOUT))
            .unwrap();
        r.unwrap_or(true)
    }

    /// Reads until the client closes the connection (or 10 s pass);
    /// returns what it sent.
    pub fn read_to_end(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = self.reader.read_to_end(&mut out);
        out
    }

    /// Answers whatever the client still sends until it closes: LOGOUT with
    /// BYE and OK, every other command with NO. Returns every byte received.
    pub fn answer_rest(&mut self) -> Vec<u8> {
        let mut got = Vec::new();
        while let Some(cmd) = self.try_full_command() {
            got.extend_from_slice(&cmd.wire);
            let answer = if cmd.name == "LOGOUT" {
                format!("* BYE logging out\r\n{} OK LOGOUT completed\r\n", cmd.tag)
            } else {
                format!("{} NO refused by the test server\r\n", cmd.tag)
            };
            if self.try_send(answer).is_err() {
                break;
            }
        }
        got.extend_from_slice(&self.read_to_end());
        got
    }

    /// Sets how long reads wait for the client.
    pub fn set_read_timeout(&mut self, wait: Duration) {
        self.tcp.set_read_timeout(Some(wait)).unwrap();
    }

    /// The usual LOGOUT exchange.
    pub fn logout(&mut self) {
        let cmd = self.expect("LOGOUT");
        self.line_out("* BYE logging out");
        self.tagged(&cmd, "OK LOGOUT completed");
    }

    /// Closes the sending side only: the client reads EOF, and what it
    /// still sends can be read.
    pub fn close_write(&mut self) {
        let _ = self.tcp.shutdown(Shutdown::Write);
    }

    /// Reads the socket itself (beneath TLS, if any) until the client
    /// closes the connection (or 10 s pass); returns the raw bytes.
    pub fn raw_read_to_end(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = self.tcp.read_to_end(&mut out);
        out
    }

    /// Closes the connection.
    pub fn close(&mut self) {
        let _ = self.tcp.shutdown(Shutdown::Both);
    }

    /// The server side's TLS exporter output (RFC 5705 / RFC 8446 §7.5)
    /// for `label`, no context, `len` bytes; `None` without TLS.
    pub fn tls_exporter(&self, label: &[u8], len: usize) -> Option<Vec<u8>> {
        match self.reader.get_ref() {
            Stream::Tls(s) => s
                .conn
                .export_keying_material(vec![0u8; len], label, None)
                .ok(),
            Stream::Tcp(_) => None,
        }
    }

    /// True once the connection runs over TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self.reader.get_ref(), Stream::Tls(_))
    }

    /// Runs the TLS handshake now (implicit TLS and after
    /// [`Peer::starttls`]); an error means the client refused or broke it.
    pub fn handshake(&mut self) -> io::Result<()> {
        match self.reader.get_mut() {
            Stream::Tls(s) => {
                let StreamOwned { conn, sock } = &mut **s;
                while conn.is_handshaking() {
                    conn.complete_io(sock)?;
                }
                Ok(())
            }
            Stream::Tcp(_) => Ok(()),
        }
    }

    /// Switches the connection to TLS with `config` (after answering
    /// STARTTLS) and runs the handshake. Bytes the client already sent are
    /// handed to the handshake. An error means the client refused or broke
    /// the handshake.
    pub fn starttls(&mut self, config: Arc<ServerConfig>) -> io::Result<()> {
        assert!(!self.is_tls(), "TLS is already running");
        let pending = self.reader.buffer().to_vec();
        let conn = ServerConnection::new(config).map_err(io::Error::other)?;
        let sock = Replay {
            pending,
            pos: 0,
            tcp: self.tcp.try_clone()?,
        };
        self.reader = BufReader::new(Stream::Tls(Box::new(StreamOwned::new(conn, sock))));
        self.handshake()
    }
}

/// A running scripted server.
pub struct Scripted {
    pub addr: SocketAddr,
    handle: Option<JoinHandle<()>>,
}

impl Scripted {
    /// Starts a server on 127.0.0.1 with a free port running `script` for
    /// the first connection.
    pub fn start<F>(script: F) -> Scripted
    where
        F: FnOnce(&mut Peer) + Send + 'static,
    {
        Self::spawn(None, script)
    }

    /// Like [`Scripted::start`], with implicit TLS: the connection runs over
    /// TLS with `config` from the first byte. The handshake runs when the
    /// script first sends or reads, or calls [`Peer::handshake`].
    pub fn start_tls<F>(config: Arc<ServerConfig>, script: F) -> Scripted
    where
        F: FnOnce(&mut Peer) + Send + 'static,
    {
        Self::spawn(Some(config), script)
    }

    fn spawn<F>(tls: Option<Arc<ServerConfig>>, script: F) -> Scripted
    where
        F: FnOnce(&mut Peer) + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            stream.set_read_timeout(Some(SCRIPT_READ_TIMEOUT)).unwrap();
            stream.set_write_timeout(Some(SCRIPT_READ_TIMEOUT)).unwrap();
            stream.set_nodelay(true).unwrap();
            let tcp = stream.try_clone().unwrap();
            let stream = match tls {
                None => Stream::Tcp(stream),
                Some(config) => {
                    let conn = ServerConnection::new(config).expect("TLS server setup");
                    let sock = Replay {
                        pending: Vec::new(),
                        pos: 0,
                        tcp: stream,
                    };
                    Stream::Tls(Box::new(StreamOwned::new(conn, sock)))
                }
            };
            let mut peer = Peer::new(stream, tcp);
            script(&mut peer);
        });
        Scripted {
            addr,
            handle: Some(handle),
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Waits for the script to end; a failed check in it fails the test.
    pub fn finish(mut self) {
        if let Some(h) = self.handle.take() {
            if let Err(panic) = h.join() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            if let Err(panic) = h.join() {
                if !std::thread::panicking() {
                    std::panic::resume_unwind(panic);
                }
            }
        }
    }
}

/// The greeting most scripts start with.
pub const GREETING: &str =
    "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=CRAM-MD5 ENABLE IDLE STARTTLS] ready";
