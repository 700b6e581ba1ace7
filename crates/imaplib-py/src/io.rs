//! The transport the engine runs over inside Python:
//!
//! - the plain TCP socket `_create_socket` made (still `self.sock`, no I/O
//!   method overridden) is read and written natively, through a duplicate
//!   of its descriptor, without the GIL; the Python socket's timeout is
//!   honoured as Python honours it (see `client.rs`, which sets the
//!   descriptor up before each call): blocking, non-blocking
//!   (`BlockingIOError`) or a timeout (`TimeoutError`);
//! - any other socket (an `ssl.SSLSocket` wrapped by the caller's context,
//!   a socket a subclass made) goes through `self.sock.recv` / `sendall`;
//! - when a subclass overrides `read`, `readline` or `send` (as
//!   `IMAP4_stream` does), through those methods.
//!
//! The engine runs with the GIL released; a Python call takes it back. A
//! Python exception raised there (a timeout, a subclass's own error) is
//! kept and raised to the caller as it was, as imaplib lets it through.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyTimeoutError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyWeakrefReference};

/// What the instance and its transport share.
#[derive(Default)]
pub(crate) struct Shared {
    /// The Python exception that ended the last read or write.
    pub(crate) error: Option<PyErr>,
    /// The SSL context for the next STARTTLS.
    pub(crate) tls_context: Option<PyObject>,
    /// The Python socket's timeout when the current call began: `None`
    /// blocking, `Some(0.0)` non-blocking, else seconds.
    pub(crate) sock_timeout: Option<f64>,
    /// The engine's waits rule the reads, not the socket's timeout (IDLE
    /// iteration, where imaplib sets the socket's timeout to what is left
    /// of `duration`, or to None).
    pub(crate) engine_waits: bool,
}

/// The engine's transport: I/O through the Python instance.
pub(crate) struct PyIo {
    /// A weak reference to the instance (a strong one would keep it alive
    /// through the engine it owns).
    owner: Py<PyWeakrefReference>,
    /// Reads and writes go through `readline` / `send` (overridden hooks).
    hooks: bool,
    /// Bytes a `readline` returned beyond what the engine asked for.
    pending: Vec<u8>,
    pending_pos: usize,
    shared: Arc<Mutex<Shared>>,
    /// The plain socket, for native I/O (a duplicate of its descriptor).
    native: Option<TcpStream>,
    /// The wait the engine set for the next reads; it rules only while
    /// [`Shared::engine_waits`] is set (`None`: as long as it takes).
    wait: Option<Duration>,
}

impl PyIo {
    pub(crate) fn new(
        owner: &Bound<'_, PyAny>,
        hooks: bool,
        shared: Arc<Mutex<Shared>>,
        native: Option<TcpStream>,
    ) -> PyResult<PyIo> {
        Ok(PyIo {
            owner: PyWeakrefReference::new(owner)?.unbind(),
            hooks,
            pending: Vec::new(),
            pending_pos: 0,
            shared,
            native: if hooks { None } else { native },
            wait: None,
        })
    }

    /// Keeps `err` for the caller (raised when the call ends).
    fn hold(&self, err: PyErr) {
        if let Ok(mut shared) = self.shared.lock() {
            shared.error = Some(err);
        }
    }

    /// Keeps `err` for the caller and returns the engine's I/O error.
    fn stash(&self, err: PyErr, kind: io::ErrorKind, text: &str) -> io::Error {
        self.hold(err);
        io::Error::new(kind, text.to_string())
    }

    /// An error of the native socket, as Python's socket raises it.
    fn native_error(&self, e: io::Error) -> io::Error {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                let timeout = self.shared.lock().map(|s| s.sock_timeout).unwrap_or(None);
                if timeout.is_some_and(|t| t <= 0.0) {
                    let err = pyo3::exceptions::PyBlockingIOError::new_err((
                        11,
                        "Resource temporarily unavailable",
                    ));
                    self.stash(err, io::ErrorKind::WouldBlock, "would block")
                } else {
                    let err = PyTimeoutError::new_err("timed out");
                    self.stash(err, io::ErrorKind::TimedOut, "timed out")
                }
            }
            kind => {
                let text = e.to_string();
                self.stash(PyErr::from(e), kind, &text)
            }
        }
    }

    /// After an interrupted system call: Python's pending signals (Ctrl-C
    /// raises KeyboardInterrupt here, as in a Python socket call).
    fn check_signals(&self) -> io::Result<()> {
        // Not `io::ErrorKind::Interrupted`, which the engine retries: its
        // `transport::Interrupted`, a wait that ended with nothing read
        // (the stream stays whole), and the exception (KeyboardInterrupt)
        // reaches the caller.
        Python::with_gil(|py| py.check_signals()).map_err(|e| self.stash_interrupt(e))
    }

    /// Keeps `err`, raised by a signal handler (KeyboardInterrupt) while
    /// the read waited, and tells the engine the wait was interrupted with
    /// nothing read (`imaplib::transport::Interrupted`): the call ends, and
    /// the connection stays usable when the command needs only reading.
    fn stash_interrupt(&self, err: PyErr) -> io::Error {
        self.hold(err);
        io::Error::other(imaplib::transport::Interrupted)
    }

    /// The engine's wait, when it rules the reads: `Some(wait)`.
    fn engine_wait(&self) -> Option<Option<Duration>> {
        let on = self.shared.lock().map(|s| s.engine_waits).unwrap_or(false);
        on.then_some(self.wait)
    }

    fn native_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(wait) = self.engine_wait() else {
            return self.native_read_plain(buf, false);
        };
        // The engine's wait instead of the socket's timeout.
        let stream = self.native.as_ref().ok_or(io::ErrorKind::NotConnected)?;
        let (before, nonblocking) = (stream.read_timeout()?, self.sock_nonblocking());
        let set = stream
            .set_nonblocking(false)
            .and_then(|()| stream.set_read_timeout(wait.map(|w| w.max(Duration::from_millis(1)))));
        if let Err(e) = set {
            if nonblocking {
                let _ = stream.set_nonblocking(true);
            }
            return Err(e);
        }
        let result = self.native_read_plain(buf, true);
        // Put back as it was, whatever happened (what was read is kept).
        if let Some(stream) = self.native.as_ref() {
            let _ = stream.set_read_timeout(before);
            if nonblocking {
                let _ = stream.set_nonblocking(true);
            }
        }
        result
    }

    /// True when the Python socket is non-blocking (timeout 0).
    fn sock_nonblocking(&self) -> bool {
        let timeout = self.shared.lock().map(|s| s.sock_timeout).unwrap_or(None);
        timeout.is_some_and(|t| t <= 0.0)
    }

    /// One read of the native socket. With `engine_wait`, the socket's
    /// timeout is the engine's wait, and its passing is no error of the
    /// socket's (nothing is kept for the caller).
    fn native_read_plain(&mut self, buf: &mut [u8], engine_wait: bool) -> io::Result<usize> {
        loop {
            let Some(stream) = self.native.as_mut() else {
                return Err(io::ErrorKind::NotConnected.into());
            };
            match stream.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.check_signals()?,
                Err(e)
                    if engine_wait
                        && matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "wait passed"))
                }
                Err(e) => return Err(self.native_error(e)),
            }
        }
    }

    fn native_write(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let Some(stream) = self.native.as_mut() else {
                return Err(io::ErrorKind::NotConnected.into());
            };
            match stream.write(buf) {
                Ok(0) => return Err(self.native_error(io::ErrorKind::WriteZero.into())),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.check_signals()?,
                Err(e) => return Err(self.native_error(e)),
            }
        }
        Ok(())
    }

    /// Runs `f` with the instance under the GIL; a Python exception is kept
    /// for the caller and becomes an I/O error for the engine.
    fn with_owner<T>(&self, f: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<T>) -> io::Result<T> {
        Python::with_gil(|py| {
            let owner = self.owner.bind(py).upgrade().ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotConnected, "the IMAP4 object is gone")
            })?;
            f(&owner).map_err(|e| {
                if !e.is_instance_of::<pyo3::exceptions::PyOSError>(py) {
                    // Not the socket's own error: a signal handler's
                    // (KeyboardInterrupt), or the hook's; nothing was read.
                    return self.stash_interrupt(e);
                }
                let kind = if e.is_instance_of::<PyTimeoutError>(py) {
                    io::ErrorKind::TimedOut
                } else if would_block(py, &e) {
                    io::ErrorKind::WouldBlock
                } else {
                    io::ErrorKind::Other
                };
                let text = e.to_string();
                self.stash(e, kind, &text)
            })
        })
    }
}

impl Read for PyIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending_pos < self.pending.len() {
            let n = buf.len().min(self.pending.len() - self.pending_pos);
            buf[..n].copy_from_slice(&self.pending[self.pending_pos..self.pending_pos + n]);
            self.pending_pos += n;
            return Ok(n);
        }
        if self.native.is_some() {
            return self.native_read(buf);
        }
        let want = buf.len();
        let hooks = self.hooks;
        if !hooks {
            if let Some(wait) = self.engine_wait() {
                return self.python_read_within(buf, wait);
            }
        }
        let mut pending = Vec::new();
        let n = self.with_owner(|owner| {
            let got = if hooks {
                owner.call_method0("readline")?
            } else {
                owner.getattr("sock")?.call_method1("recv", (want,))?
            };
            Ok(hand_out(
                buf,
                got.downcast::<PyBytes>()?.as_bytes(),
                &mut pending,
            ))
        })?;
        self.keep(pending);
        Ok(n)
    }
}

/// Copies what fits of `data` into `buf` (straight from the Python bytes,
/// with no copy in between) and puts the rest in `rest`.
fn hand_out(buf: &mut [u8], data: &[u8], rest: &mut Vec<u8>) -> usize {
    let n = buf.len().min(data.len());
    buf[..n].copy_from_slice(&data[..n]);
    if n < data.len() {
        *rest = data[n..].to_vec();
    }
    n
}

impl PyIo {
    /// Keeps what a read could not hand out for the next read.
    fn keep(&mut self, rest: Vec<u8>) {
        if !rest.is_empty() {
            self.pending = rest;
            self.pending_pos = 0;
        }
    }

    /// A read of the Python socket (`recv`) within the engine's `wait`
    /// (`None`: blocking) instead of the socket's own timeout, which is
    /// put back after.
    fn python_read_within(&mut self, buf: &mut [u8], wait: Option<Duration>) -> io::Result<usize> {
        let want = buf.len();
        let mut pending = Vec::new();
        let got = Python::with_gil(|py| -> PyResult<Option<usize>> {
            let owner =
                self.owner.bind(py).upgrade().ok_or_else(|| {
                    pyo3::exceptions::PyOSError::new_err("the IMAP4 object is gone")
                })?;
            let sock = owner.getattr("sock")?;
            let before = sock.call_method0("gettimeout")?;
            sock.call_method1("settimeout", (wait.map(|w| w.as_secs_f64().max(0.001)),))?;
            let result = sock.call_method1("recv", (want,));
            // Put back whatever happened: what `recv` gave is kept.
            let _ = sock.call_method1("settimeout", (before,));
            match result {
                Ok(data) => Ok(Some(hand_out(
                    buf,
                    data.downcast::<PyBytes>()?.as_bytes(),
                    &mut pending,
                ))),
                Err(e) if e.is_instance_of::<PyTimeoutError>(py) || would_block(py, &e) => Ok(None),
                Err(e) => Err(e),
            }
        });
        match got {
            Ok(Some(n)) => {
                self.keep(pending);
                Ok(n)
            }
            Ok(None) => Err(io::Error::new(io::ErrorKind::TimedOut, "wait passed")),
            Err(e) => {
                // A signal handler's exception (Ctrl-C): nothing was read,
                // the stream stays whole (see `check_signals`).
                let signal =
                    Python::with_gil(|py| !e.is_instance_of::<pyo3::exceptions::PyOSError>(py));
                if signal {
                    return Err(self.stash_interrupt(e));
                }
                let text = e.to_string();
                Err(self.stash(e, io::ErrorKind::Other, &text))
            }
        }
    }
}

impl Write for PyIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.native.is_some() {
            self.native_write(buf)?;
            return Ok(buf.len());
        }
        let hooks = self.hooks;
        self.with_owner(|owner| {
            let data = PyBytes::new(owner.py(), buf);
            if hooks {
                owner.call_method1("send", (data,))?;
            } else {
                owner.getattr("sock")?.call_method1("sendall", (data,))?;
            }
            Ok(())
        })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl imaplib::transport::Connection for PyIo {
    /// The engine asks for a wait only where imaplib has one of its own
    /// (IDLE's `duration`); otherwise the Python socket's timeout rules.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.wait = timeout;
        Ok(())
    }

    fn can_start_tls(&self) -> bool {
        !self.hooks
    }

    fn start_tls(&mut self) -> io::Result<()> {
        // From here on the Python ssl socket carries the bytes.
        self.native = None;
        let context = self
            .shared
            .lock()
            .ok()
            .and_then(|mut s| s.tls_context.take());
        self.with_owner(|owner| {
            let py = owner.py();
            let context = match context {
                Some(c) => c.into_bound(py),
                None => crate::default_ssl_context(py)?,
            };
            let host = owner.getattr("host")?;
            let kwargs = pyo3::types::PyDict::new(py);
            kwargs.set_item("server_hostname", host)?;
            let sock =
                context.call_method("wrap_socket", (owner.getattr("sock")?,), Some(&kwargs))?;
            owner.setattr("file", sock.call_method1("makefile", ("rb",))?)?;
            owner.setattr("sock", sock)?;
            owner.setattr("_tls_established", true)?;
            Ok(())
        })
    }
}

/// A non-blocking socket with nothing to read (BlockingIOError, or the
/// ssl module's SSLWantReadError/SSLWantWriteError): programs poll this
/// way, and the connection stays usable.
fn would_block(py: Python<'_>, e: &PyErr) -> bool {
    if e.is_instance_of::<pyo3::exceptions::PyBlockingIOError>(py) {
        return true;
    }
    let Ok(ssl) = py.import("ssl") else {
        return false;
    };
    ["SSLWantReadError", "SSLWantWriteError"]
        .iter()
        .any(|name| {
            ssl.getattr(*name)
                .map(|cls| e.is_instance(py, &cls))
                .unwrap_or(false)
        })
}
