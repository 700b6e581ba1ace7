//! The transport the engine runs over inside Python: the instance's own
//! socket (`self.sock.recv` / `sendall`), or, when a subclass overrides
//! `read`, `readline` or `send` (as `IMAP4_stream` does), those methods.
//!
//! The engine runs with the GIL released; each read or write takes it back
//! for the Python call. A Python exception raised there (a timeout, a
//! subclass's own error) is kept and raised to the caller as it was, as
//! imaplib lets it through.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

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
}

impl PyIo {
    pub(crate) fn new(
        owner: &Bound<'_, PyAny>,
        hooks: bool,
        shared: Arc<Mutex<Shared>>,
    ) -> PyResult<PyIo> {
        Ok(PyIo {
            owner: PyWeakrefReference::new(owner)?.unbind(),
            hooks,
            pending: Vec::new(),
            pending_pos: 0,
            shared,
        })
    }

    /// Runs `f` with the instance under the GIL; a Python exception is kept
    /// for the caller and becomes an I/O error for the engine.
    fn with_owner<T>(&self, f: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<T>) -> io::Result<T> {
        Python::with_gil(|py| {
            let owner = self.owner.bind(py).upgrade().ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotConnected, "the IMAP4 object is gone")
            })?;
            f(&owner).map_err(|e| {
                let kind = if e.is_instance_of::<PyTimeoutError>(py) {
                    io::ErrorKind::TimedOut
                } else if would_block(py, &e) {
                    io::ErrorKind::WouldBlock
                } else {
                    io::ErrorKind::Other
                };
                let text = e.to_string();
                if let Ok(mut shared) = self.shared.lock() {
                    shared.error = Some(e);
                }
                io::Error::new(kind, text)
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
        let want = buf.len();
        let hooks = self.hooks;
        let data: Vec<u8> = self.with_owner(|owner| {
            let got = if hooks {
                owner.call_method0("readline")?
            } else {
                owner.getattr("sock")?.call_method1("recv", (want,))?
            };
            Ok(got.downcast::<PyBytes>()?.as_bytes().to_vec())
        })?;
        let n = want.min(data.len());
        buf[..n].copy_from_slice(&data[..n]);
        if n < data.len() {
            self.pending = data;
            self.pending_pos = n;
        }
        Ok(n)
    }
}

impl Write for PyIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
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
    fn can_start_tls(&self) -> bool {
        !self.hooks
    }

    fn start_tls(&mut self) -> io::Result<()> {
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
