//! A scripted IMAP server for tests: it listens on a free loopback port,
//! accepts one connection and runs a script (a closure) that checks what the
//! client sent and answers canned bytes. A failed check inside the script
//! fails the test when [`Scripted::finish`] joins it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

/// The server side of one connection.
pub struct Peer {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
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

impl Peer {
    /// Sends bytes as they are.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.writer.write_all(bytes.as_ref()).expect("server write");
        self.writer.flush().expect("server flush");
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
        let mut line = Vec::new();
        let n = self
            .reader
            .read_until(b'\n', &mut line)
            .expect("server read");
        assert!(
            n > 0,
            "client closed the connection while the script expected a line"
        );
        line
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
        self.writer.set_read_timeout(Some(wait)).unwrap();
        let mut b = [0u8; 1];
        let r = self.reader.get_mut().peek(&mut b);
        self.writer
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        match r {
            Ok(0) => true,
            Ok(_) => false,
            Err(_) => true,
        }
    }

    /// Reads until the client closes the connection; returns what it sent.
    pub fn read_to_end(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = self.reader.read_to_end(&mut out);
        out
    }

    /// The usual LOGOUT exchange.
    pub fn logout(&mut self) {
        let cmd = self.expect("LOGOUT");
        self.line_out("* BYE logging out");
        self.tagged(&cmd, "OK LOGOUT completed");
    }

    /// Closes the connection.
    pub fn close(&mut self) {
        let _ = self.writer.shutdown(std::net::Shutdown::Both);
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
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            stream.set_nodelay(true).unwrap();
            let writer = stream.try_clone().unwrap();
            let mut peer = Peer {
                reader: BufReader::new(stream),
                writer,
            };
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
