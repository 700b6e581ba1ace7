//! `_IMAP4`: the base of the package's `IMAP4`, `IMAP4_SSL` and
//! `IMAP4_stream`. It holds the engine and gives imaplib's methods and
//! attributes; every command runs in the engine with the GIL released.
//!
//! imaplib keeps its state in instance attributes that programs read and
//! change (`state`, `capabilities`, `untagged_responses`...). They stay
//! plain attributes here: after each call the engine's view is written to
//! them, and `untagged_responses` (a real dict, which callers pop) is
//! handed to the engine before each command and taken back after it.

use std::sync::{Arc, Mutex};

use imaplib::imaplib_proto::command::build;
use imaplib::imaplib_proto::ProtoErrorKind;
use imaplib::{ErrorKind, Imap4, Options, Proxy};
use pyo3::exceptions::{PyAttributeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};

use crate::convert::{
    args_bytes, bytes_arg, data_to_py, date_input, dict_to_store, opt_str, reply_into_py,
    reply_to_py, store_to_dict, str_arg, Enc,
};
use crate::io::{PyIo, Shared};

mod driving;
mod idle;
mod patterns;

pub(crate) use idle::{Burst, Idler};

use driving::*;
use patterns::*;

/// The engine-backed base class.
#[pyclass(subclass, dict, name = "_IMAP4", module = "imaplib_rs._native")]
pub(crate) struct Base {
    inner: Mutex<Option<Imap4>>,
    shared: Arc<Mutex<Shared>>,
    proxy: Option<Proxy>,
    /// The TCP connection `_create_socket` made (a duplicate of the
    /// descriptor it handed to Python) and that descriptor's number: while
    /// `self.sock` is still that plain socket, the engine reads and writes
    /// it natively.
    native: Option<(std::net::TcpStream, i64)>,
    /// The `Commands` table last handed to the engine.
    commands_seen: Option<Py<PyDict>>,
}

impl Drop for Base {
    /// An instance dropped without `logout()` only lets its connection go,
    /// as imaplib's does: no LOGOUT is sent (the engine's own drop would
    /// send one and wait for the server).
    fn drop(&mut self) {
        let engine = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(mut imap) = engine.take() {
            let _ = imap.shutdown();
        }
    }
}

/// imaplib's `(typ, data)` tuple.
fn typ_data<'py>(py: Python<'py>, typ: &str, data: Bound<'py, PyAny>) -> PyResult<PyObject> {
    Ok(PyTuple::new(py, [PyString::new(py, typ).into_any(), data])?
        .into_any()
        .unbind())
}

fn py_bool(py: Python<'_>, v: bool) -> PyObject {
    v.into_pyobject(py)
        .map(|b| b.to_owned().into_any().unbind())
        .unwrap_or_else(|_| py.None())
}

#[pymethods]
impl Base {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        Base {
            inner: Mutex::new(None),
            shared: Arc::new(Mutex::new(Shared::default())),
            proxy: None,
            native: None,
            commands_seen: None,
        }
    }

    /// imaplib's `IMAP4.__init__`: the attributes, `open`, then the
    /// greeting and capabilities; `proxy` is a `socks5://` or `http://`
    /// URL to connect through.
    #[pyo3(signature = (host, port, timeout=None, proxy=None))]
    fn _init(
        slf: &Bound<'_, Self>,
        host: &Bound<'_, PyAny>,
        port: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        proxy: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let any = slf.as_any();
        if let Some(url) = opt_str(proxy)? {
            let parsed =
                Proxy::parse(&url).map_err(|e| PyValueError::new_err(e.message().to_string()))?;
            slf.borrow_mut().proxy = Some(parsed);
        }
        let debug = py.import("imaplib_rs")?.getattr("Debug")?;
        set_all(
            any,
            &[
                ("debug", debug.unbind()),
                ("state", PyString::new(py, "LOGOUT").into_any().unbind()),
                ("literal", py.None()),
                ("tagged_commands", PyDict::new(py).into_any().unbind()),
                ("untagged_responses", PyDict::new(py).into_any().unbind()),
                (
                    "continuation_response",
                    PyString::new(py, "").into_any().unbind(),
                ),
                ("is_readonly", py_bool(py, false)),
                ("tagnum", 0i64.into_pyobject(py)?.into_any().unbind()),
                ("_tls_established", py_bool(py, false)),
                ("utf8_enabled", py_bool(py, false)),
                ("_encoding", PyString::new(py, "ascii").into_any().unbind()),
                ("capabilities", PyTuple::empty(py).into_any().unbind()),
                (
                    "PROTOCOL_VERSION",
                    PyString::new(py, "").into_any().unbind(),
                ),
            ],
        )?;
        let timeout = timeout.map_or_else(|| py.None(), |t| t.clone().unbind());
        any.call_method1("open", (host, port, timeout))?;
        if let Err(e) = any.call_method0("_connect") {
            if let Err(second) = any.call_method0("shutdown") {
                if !second.is_instance_of::<pyo3::exceptions::PyOSError>(py) {
                    return Err(second);
                }
            }
            return Err(e);
        }
        Ok(())
    }

    /// imaplib's `_connect()`: the greeting and the capabilities, over
    /// what `open` set up.
    fn _connect(slf: &Bound<'_, Self>) -> PyResult<()> {
        Self::connect(slf)
    }

    // ----- connection hooks (imaplib's overridable methods) -----------------

    /// imaplib's `_create_socket(timeout)`: a TCP socket to `self.host`,
    /// `self.port` (through the proxy when one was given).
    #[pyo3(signature = (timeout=None))]
    fn _create_socket<'py>(
        slf: &Bound<'py, Self>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let any = slf.as_any();
        let timeout = timeout.filter(|t| !t.is_none());
        if let Some(t) = timeout {
            if !t.is_truthy()? {
                return Err(PyValueError::new_err(
                    "Non-blocking socket (timeout=0) is not supported",
                ));
            }
        }
        let host = any.getattr("host")?;
        let host: Option<String> = if host.is_truthy()? {
            Some(str_arg(&host)?)
        } else {
            None
        };
        let port: u16 = any.getattr("port")?.extract()?;
        let socket = py.import("socket")?;
        let seconds: Option<f64> = timeout.map(|t| t.extract()).transpose()?;
        let options = Options {
            connect_timeout: seconds.map(std::time::Duration::from_secs_f64),
            proxy: slf.borrow().proxy.clone(),
            ..Options::default()
        };
        let target = host.unwrap_or_else(|| "localhost".to_string());
        let tcp = py
            .allow_threads(|| imaplib::transport::connect(&target, port, &options))
            .map_err(|e| connect_error(&e))?;
        let keep = tcp.try_clone().map_err(PyErr::from)?;
        let fd = std::os::fd::IntoRawFd::into_raw_fd(tcp);
        let kwargs = PyDict::new(py);
        kwargs.set_item("fileno", fd)?;
        let sock = socket.getattr("socket")?.call((), Some(&kwargs))?;
        let t = timeout.map_or_else(|| py.None(), |t| t.clone().unbind());
        sock.call_method1("settimeout", (t,))?;
        slf.borrow_mut().native = Some((keep, i64::from(fd)));
        Ok(sock)
    }

    /// `IMAP4_SSL._create_socket`: the TCP socket wrapped by
    /// `self.ssl_context` for `self.host`.
    #[pyo3(signature = (timeout=None))]
    fn _ssl_create_socket<'py>(
        slf: &Bound<'py, Self>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let any = slf.as_any();
        let sock = Self::_create_socket(slf, timeout)?;
        // Python's ssl module carries these bytes, not the engine.
        slf.borrow_mut().native = None;
        let kwargs = PyDict::new(py);
        kwargs.set_item("server_hostname", any.getattr("host")?)?;
        any.getattr("ssl_context")?
            .call_method("wrap_socket", (sock,), Some(&kwargs))
    }

    /// imaplib's `open(host, port, timeout)`: `self.sock` and `self.file`.
    #[pyo3(signature = (host=None, port=None, timeout=None))]
    fn open(
        slf: &Bound<'_, Self>,
        host: Option<&Bound<'_, PyAny>>,
        port: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let any = slf.as_any();
        match host {
            Some(h) => any.setattr("host", h)?,
            None => any.setattr("host", "")?,
        }
        match port {
            Some(p) => any.setattr("port", p)?,
            None => any.setattr("port", imaplib::IMAP4_PORT)?,
        }
        let _ = py;
        let timeout = timeout.map_or_else(|| slf.py().None(), |t| t.clone().unbind());
        let sock = any.call_method1("_create_socket", (timeout,))?;
        any.setattr("file", sock.call_method1("makefile", ("rb",))?)?;
        any.setattr("sock", sock)?;
        Ok(())
    }

    /// imaplib's `read(size)`: raw bytes from the server.
    fn read<'py>(slf: &Bound<'py, Self>, size: usize) -> PyResult<Bound<'py, PyBytes>> {
        let data = Self::call(slf, |m| m.read(size))?;
        Ok(PyBytes::new(slf.py(), &data))
    }

    /// imaplib's `readline()`: one raw line from the server.
    fn readline<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyBytes>> {
        let data = Self::call(slf, |m| m.readline())?;
        Ok(PyBytes::new(slf.py(), &data))
    }

    /// imaplib's `send(data)`: raw bytes to the server.
    fn send(slf: &Bound<'_, Self>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = bytes_arg(data)?;
        Self::call(slf, move |m| m.send(&data))
    }

    /// imaplib's `shutdown()`: closes the file and the socket.
    fn shutdown(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let any = slf.as_any();
        let taken = slf.borrow().engine().take();
        if let Some(mut imap) = taken {
            let _ = py.allow_threads(|| imap.shutdown());
        }
        slf.borrow_mut().native = None;
        if let Ok(file) = any.getattr("file") {
            if !file.is_none() {
                file.call_method0("close")?;
            }
        }
        let sock = any.getattr("sock")?;
        if sock.is_none() {
            return Ok(());
        }
        let how = py.import("socket")?.getattr("SHUT_RDWR")?;
        let result = sock.call_method1("shutdown", (how,));
        let closed = sock.call_method0("close");
        if let Err(e) = result {
            let errno = py.import("errno")?.getattr("ENOTCONN")?;
            let code = e.value(py).getattr("errno").ok();
            if !code.is_some_and(|c| c.eq(&errno).unwrap_or(false)) {
                return Err(e);
            }
        }
        closed.map(|_| ())
    }

    /// imaplib's `socket()`.
    fn socket<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.as_any().getattr("sock")
    }

    // ----- IMAP4_stream's hooks ---------------------------------------------

    /// `IMAP4_stream.open`: starts `self.command` with pipes.
    #[pyo3(signature = (host=None, port=None, timeout=None))]
    fn _stream_open(
        slf: &Bound<'_, Self>,
        host: Option<&Bound<'_, PyAny>>,
        port: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let _ = (host, port, timeout);
        let py = slf.py();
        let any = slf.as_any();
        for name in ["host", "port", "sock", "file"] {
            any.setattr(name, py.None())?;
        }
        let subprocess = py.import("subprocess")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("bufsize", py.import("io")?.getattr("DEFAULT_BUFFER_SIZE")?)?;
        kwargs.set_item("stdin", subprocess.getattr("PIPE")?)?;
        kwargs.set_item("stdout", subprocess.getattr("PIPE")?)?;
        kwargs.set_item("shell", true)?;
        kwargs.set_item("close_fds", true)?;
        let process = subprocess
            .getattr("Popen")?
            .call((any.getattr("command")?,), Some(&kwargs))?;
        any.setattr("writefile", process.getattr("stdin")?)?;
        any.setattr("readfile", process.getattr("stdout")?)?;
        any.setattr("process", process)?;
        Ok(())
    }

    /// `IMAP4_stream.read`.
    fn _stream_read<'py>(slf: &Bound<'py, Self>, size: usize) -> PyResult<Bound<'py, PyAny>> {
        slf.as_any()
            .getattr("readfile")?
            .call_method1("read", (size,))
    }

    /// `IMAP4_stream.readline`.
    fn _stream_readline<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.as_any().getattr("readfile")?.call_method0("readline")
    }

    /// `IMAP4_stream.send`.
    fn _stream_send(slf: &Bound<'_, Self>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let w = slf.as_any().getattr("writefile")?;
        w.call_method1("write", (data,))?;
        w.call_method0("flush")?;
        Ok(())
    }

    /// `IMAP4_stream.shutdown`.
    fn _stream_shutdown(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let taken = slf.borrow().engine().take();
        if let Some(mut imap) = taken {
            let _ = py.allow_threads(|| imap.shutdown());
        }
        let any = slf.as_any();
        any.getattr("readfile")?.call_method0("close")?;
        any.getattr("writefile")?.call_method0("close")?;
        any.getattr("process")?.call_method0("wait")?;
        Ok(())
    }

    // ----- commands ---------------------------------------------------------

    /// APPEND: `mailbox` (INBOX if None), `flags`, `date_time` (anything
    /// `Time2Internaldate` takes), `message`.
    #[pyo3(signature = (mailbox, flags, date_time, message))]
    fn append(
        slf: &Bound<'_, Self>,
        mailbox: Option<&Bound<'_, PyAny>>,
        flags: Option<&Bound<'_, PyAny>>,
        date_time: Option<&Bound<'_, PyAny>>,
        message: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let mailbox = enc.opt(mailbox)?;
        let flags = enc.opt(flags)?;
        let date = match date_time {
            Some(d) if d.is_truthy()? => Some(date_input(d)?),
            _ => None,
        };
        if message.is_instance_of::<PyString>() {
            // imaplib applies a bytes regex to the message.
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "cannot use a bytes pattern on a string-like object",
            ));
        }
        let message = enc.arg(message)?;
        Self::reply(slf, move |m| {
            m.append(mailbox.as_deref(), flags.as_deref(), date, message)
        })
    }

    /// AUTHENTICATE `mechanism`: `authobject` gets each challenge (bytes)
    /// and returns the answer (bytes or str), or None to cancel.
    fn authenticate(
        slf: &Bound<'_, Self>,
        mechanism: &Bound<'_, PyAny>,
        authobject: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let mechanism = enc.text(mechanism)?.to_ascii_uppercase();
        let callback = authobject.clone().unbind();
        let shared = slf.borrow().shared.clone();
        Self::reply(slf, move |m| {
            m.authenticate(&mechanism, |challenge| {
                Python::with_gil(|py| {
                    let answer = callback
                        .bind(py)
                        .call1((PyBytes::new(py, challenge),))
                        .and_then(|a| {
                            if a.is_none() {
                                Ok(None)
                            } else {
                                bytes_arg(&a).map(Some)
                            }
                        });
                    match answer {
                        Ok(a) => a,
                        Err(e) => {
                            if let Ok(mut s) = shared.lock() {
                                s.error = Some(e);
                            }
                            None
                        }
                    }
                })
            })
        })
    }

    fn capability(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        Self::reply(slf, |m| m.capability())
    }

    fn check(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        Self::reply(slf, |m| m.check())
    }

    fn close(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        Self::reply(slf, |m| m.close())
    }

    fn copy(
        slf: &Bound<'_, Self>,
        message_set: &Bound<'_, PyAny>,
        new_mailbox: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let (set, mailbox) = (enc.arg(message_set)?, enc.arg(new_mailbox)?);
        Self::reply(slf, move |m| m.copy(set, mailbox))
    }

    fn create(slf: &Bound<'_, Self>, mailbox: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let mailbox = enc.arg(mailbox)?;
        Self::reply(slf, move |m| m.create(mailbox))
    }

    fn delete(slf: &Bound<'_, Self>, mailbox: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let mailbox = enc.arg(mailbox)?;
        Self::reply(slf, move |m| m.delete(mailbox))
    }

    fn deleteacl(
        slf: &Bound<'_, Self>,
        mailbox: &Bound<'_, PyAny>,
        who: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let (mailbox, who) = (enc.arg(mailbox)?, enc.arg(who)?);
        Self::reply(slf, move |m| m.deleteacl(mailbox, who))
    }

    fn enable(slf: &Bound<'_, Self>, capability: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let capability = enc.text(capability)?;
        Self::reply(slf, move |m| m.enable(&capability))
    }

    fn expunge(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        Self::reply(slf, |m| m.expunge())
    }

    fn fetch(
        slf: &Bound<'_, Self>,
        message_set: &Bound<'_, PyAny>,
        message_parts: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let (set, parts) = (enc.arg(message_set)?, enc.arg(message_parts)?);
        Self::reply_draining(slf, build::fetch(&set, &parts), "FETCH")
    }

    fn getacl(slf: &Bound<'_, Self>, mailbox: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let mailbox = enc.arg(mailbox)?;
        Self::reply(slf, move |m| m.getacl(mailbox))
    }

    fn getannotation(
        slf: &Bound<'_, Self>,
        mailbox: &Bound<'_, PyAny>,
        entry: &Bound<'_, PyAny>,
        attribute: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let (a, b, c) = (enc.arg(mailbox)?, enc.arg(entry)?, enc.arg(attribute)?);
        Self::reply(slf, move |m| m.getannotation(a, b, c))
    }

    fn getquota(slf: &Bound<'_, Self>, root: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let root = enc.arg(root)?;
        Self::reply(slf, move |m| m.getquota(root))
    }

    fn getquotaroot(slf: &Bound<'_, Self>, mailbox: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let mailbox = enc.arg(mailbox)?;
        Self::reply(slf, move |m| m.getquotaroot(mailbox))
    }

    #[pyo3(signature = (directory=None, pattern=None))]
    fn list(
        slf: &Bound<'_, Self>,
        directory: Option<&Bound<'_, PyAny>>,
        pattern: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let (directory, pattern) = (enc.opt(directory)?, enc.opt(pattern)?);
        Self::reply(slf, move |m| {
            m.list(directory.as_deref(), pattern.as_deref())
        })
    }

    fn login(
        slf: &Bound<'_, Self>,
        user: &Bound<'_, PyAny>,
        password: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let (user, password) = (enc.arg(user)?, enc.arg(password)?);
        let reply = Self::call_with(
            slf,
            move |m| m.login(user, password),
            |any, e| {
                // imaplib raises error(dat[-1]): the server's bytes.
                (e.detail() == Some(ProtoErrorKind::CommandFailed)).then(|| {
                    let text = PyBytes::new(any.py(), e.message().as_bytes());
                    any.getattr("error")
                        .and_then(|cls| cls.call1((text,)))
                        .map_or_else(|err| err, PyErr::from_value)
                })
            },
        )?;
        reply_to_py(slf.py(), &reply)
    }

    fn login_cram_md5(
        slf: &Bound<'_, Self>,
        user: &Bound<'_, PyAny>,
        password: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let (user, password) = (str_arg(user)?, str_arg(password)?);
        Self::reply(slf, move |m| m.login_cram_md5(&user, &password))
    }

    /// LOGOUT, then `shutdown()`.
    fn logout(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        let reply = Self::call(slf, |m| m.logout())?;
        slf.as_any().setattr("state", "LOGOUT")?;
        slf.as_any().call_method0("shutdown")?;
        reply_to_py(slf.py(), &reply)
    }

    #[pyo3(signature = (directory=None, pattern=None))]
    fn lsub(
        slf: &Bound<'_, Self>,
        directory: Option<&Bound<'_, PyAny>>,
        pattern: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let (directory, pattern) = (enc.opt(directory)?, enc.opt(pattern)?);
        Self::reply(slf, move |m| {
            m.lsub(directory.as_deref(), pattern.as_deref())
        })
    }

    fn myrights(slf: &Bound<'_, Self>, mailbox: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let mailbox = enc.arg(mailbox)?;
        Self::reply(slf, move |m| m.myrights(mailbox))
    }

    fn namespace(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        Self::reply(slf, |m| m.namespace())
    }

    fn noop(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        Self::reply(slf, |m| m.noop())
    }

    fn partial(
        slf: &Bound<'_, Self>,
        message_num: &Bound<'_, PyAny>,
        message_part: &Bound<'_, PyAny>,
        start: &Bound<'_, PyAny>,
        length: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let args = [
            enc.arg(message_num)?,
            enc.arg(message_part)?,
            enc.arg(start)?,
            enc.arg(length)?,
        ];
        Self::reply(slf, move |m| {
            let [a, b, c, d] = args;
            m.partial(a, b, c, d)
        })
    }

    fn proxyauth(slf: &Bound<'_, Self>, user: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let user = enc.arg(user)?;
        Self::reply(slf, move |m| m.proxyauth(user))
    }

    fn recent(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        Self::reply(slf, |m| m.recent())
    }

    fn rename(
        slf: &Bound<'_, Self>,
        oldmailbox: &Bound<'_, PyAny>,
        newmailbox: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let (old, new) = (enc.arg(oldmailbox)?, enc.arg(newmailbox)?);
        Self::reply(slf, move |m| m.rename(old, new))
    }

    /// imaplib's `response(code)`: pops `untagged_responses[code]`.
    fn response(slf: &Bound<'_, Self>, code: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let code = enc.text(code)?;
        let none = PyTuple::new(slf.py(), [slf.py().None()])?.to_list();
        Self::_untagged_response(slf, &code, none.as_any(), &code.to_ascii_uppercase())
    }

    #[pyo3(signature = (charset, *criteria))]
    fn search(
        slf: &Bound<'_, Self>,
        charset: Option<&Bound<'_, PyAny>>,
        criteria: &Bound<'_, PyTuple>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let charset = enc.opt(charset)?;
        let criteria = enc.args(criteria)?;
        Self::reply(slf, move |m| m.search(charset.as_deref(), criteria))
    }

    #[pyo3(signature = (mailbox=None, readonly=false))]
    fn select(
        slf: &Bound<'_, Self>,
        mailbox: Option<&Bound<'_, PyAny>>,
        readonly: bool,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let (mailbox, shown) = match mailbox {
            Some(m) if !m.is_none() => (enc.arg(m)?, m.str()?.to_string()),
            _ => (b"INBOX".to_vec(), "INBOX".to_string()),
        };
        let reply = Self::call_with(
            slf,
            move |m| m.select(mailbox, readonly),
            |any, e| {
                (e.kind() == ErrorKind::Readonly).then(|| {
                    raise_kind(any, "readonly", &format!("{shown} is not writable"))
                        .unwrap_or_else(|err| err)
                })
            },
        )?;
        reply_to_py(slf.py(), &reply)
    }

    fn setacl(
        slf: &Bound<'_, Self>,
        mailbox: &Bound<'_, PyAny>,
        who: &Bound<'_, PyAny>,
        what: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let (a, b, c) = (enc.arg(mailbox)?, enc.arg(who)?, enc.arg(what)?);
        Self::reply(slf, move |m| m.setacl(a, b, c))
    }

    #[pyo3(signature = (*args))]
    fn setannotation(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let args = enc.args(args)?;
        Self::reply(slf, move |m| m.setannotation(args))
    }

    fn setquota(
        slf: &Bound<'_, Self>,
        root: &Bound<'_, PyAny>,
        limits: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let (root, limits) = (enc.arg(root)?, enc.arg(limits)?);
        Self::reply(slf, move |m| m.setquota(root, limits))
    }

    #[pyo3(signature = (sort_criteria, charset, *search_criteria))]
    fn sort(
        slf: &Bound<'_, Self>,
        sort_criteria: &Bound<'_, PyAny>,
        charset: &Bound<'_, PyAny>,
        search_criteria: &Bound<'_, PyTuple>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let (criteria, charset) = (enc.arg(sort_criteria)?, enc.text(charset)?);
        let search = enc.args(search_criteria)?;
        Self::reply(slf, move |m| m.sort(criteria, &charset, search))
    }

    /// STARTTLS with `ssl_context` (by default one that verifies the
    /// certificate and host name).
    #[pyo3(signature = (ssl_context=None))]
    fn starttls(
        slf: &Bound<'_, Self>,
        ssl_context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyObject> {
        let any = slf.as_any();
        // imaplib's checks, which leave the connection usable.
        if any.getattr("_tls_established")?.is_truthy()? {
            return Err(raise_kind(any, "abort", "TLS session already established")?);
        }
        if !any.getattr("capabilities")?.contains("STARTTLS")? {
            return Err(raise_kind(any, "abort", "TLS not supported by server")?);
        }
        if let Some(ctx) = ssl_context.filter(|c| !c.is_none()) {
            if let Ok(mut s) = slf.borrow().shared.lock() {
                s.tls_context = Some(ctx.clone().unbind());
            }
        }
        let reply = Self::call(slf, |m| m.starttls(None))?;
        if let Some(imap) = slf.borrow().engine().as_ref() {
            sync_capabilities(any, imap)?;
        }
        let typ = reply.typ.to_string();
        let data = reply_to_py(slf.py(), &reply)?;
        let data = data.bind(slf.py()).get_item(1)?;
        Self::_untagged_response(slf, &typ, &data, "STARTTLS")
    }

    fn status(
        slf: &Bound<'_, Self>,
        mailbox: &Bound<'_, PyAny>,
        names: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let (mailbox, names) = (enc.arg(mailbox)?, enc.arg(names)?);
        Self::reply(slf, move |m| m.status(mailbox, names))
    }

    fn store(
        slf: &Bound<'_, Self>,
        message_set: &Bound<'_, PyAny>,
        command: &Bound<'_, PyAny>,
        flags: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let (a, b, c) = (enc.arg(message_set)?, enc.arg(command)?, enc.arg(flags)?);
        Self::reply(slf, move |m| m.store(a, b, c))
    }

    fn subscribe(slf: &Bound<'_, Self>, mailbox: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let mailbox = enc.arg(mailbox)?;
        Self::reply(slf, move |m| m.subscribe(mailbox))
    }

    #[pyo3(signature = (threading_algorithm, charset, *search_criteria))]
    fn thread(
        slf: &Bound<'_, Self>,
        threading_algorithm: &Bound<'_, PyAny>,
        charset: &Bound<'_, PyAny>,
        search_criteria: &Bound<'_, PyTuple>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let (algorithm, charset) = (enc.arg(threading_algorithm)?, enc.text(charset)?);
        let search = enc.args(search_criteria)?;
        Self::reply(slf, move |m| m.thread(algorithm, &charset, search))
    }

    #[pyo3(signature = (command, *args))]
    fn uid(
        slf: &Bound<'_, Self>,
        command: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let command = enc.text(command)?.to_ascii_uppercase();
        // imaplib's checks name the UID command's own command.
        let table = crate::commands(slf.py())?;
        let Some(states) = table.get_item(&command)? else {
            let msg = format!("Unknown IMAP4 UID command: {command}");
            return Err(raise_kind(slf.as_any(), "error", &msg)?);
        };
        let state = slf.as_any().getattr("state")?;
        if !states.contains(&state)? {
            slf.as_any().setattr("literal", slf.py().None())?;
            let names: Vec<String> = states
                .try_iter()?
                .map(|s| s.and_then(|s| s.str().map(|s| s.to_string())))
                .collect::<PyResult<_>>()?;
            let msg = format!(
                "command {command} illegal in state {}, only allowed in states {}",
                state.str()?,
                names.join(", ")
            );
            return Err(raise_kind(slf.as_any(), "error", &msg)?);
        }
        let args = enc.args(args)?;
        if command == "FETCH" {
            return Self::reply_draining(slf, build::uid(&command, args), "FETCH");
        }
        Self::reply(slf, move |m| m.uid(&command, args))
    }

    fn unselect(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        Self::reply(slf, |m| m.unselect())
    }

    fn unsubscribe(slf: &Bound<'_, Self>, mailbox: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let mailbox = enc.arg(mailbox)?;
        Self::reply(slf, move |m| m.unsubscribe(mailbox))
    }

    #[pyo3(signature = (name, *args))]
    fn xatom(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<PyObject> {
        let enc = Enc::of(slf.as_any())?;
        let name = enc.text(name)?;
        let args = enc.args(args)?;
        Self::reply(slf, move |m| m.xatom(&name, args))
    }

    // ----- the semi-private API that libraries call --------------------------

    /// imaplib 3.14's `idle(duration=None)`: the `Idler` context manager
    /// (the module's `IMAP4.idle` on Python 3.14 and newer).
    #[pyo3(signature = (duration=None))]
    fn _idle(slf: &Bound<'_, Self>, duration: Option<f64>) -> PyResult<Idler> {
        Idler::start(slf, duration)
    }

    /// imaplib's `_command(name, *args)`: sends the command (arguments as
    /// given, `self.literal` as a literal) and returns its tag.
    #[pyo3(signature = (name, *args))]
    fn _command<'py>(
        slf: &Bound<'py, Self>,
        name: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let cmd = Self::raw_command(slf, name, args)?;
        let tag = Self::call(slf, move |m| m.send_command(cmd))?;
        let tag = PyBytes::new(slf.py(), tag.as_bytes());
        let tagged = slf.as_any().getattr("tagged_commands")?;
        tagged.set_item(&tag, slf.py().None())?;
        Ok(tag)
    }

    /// imaplib's `_command_complete(name, tag)`: waits for the command's
    /// completion; `(typ, data)`. A command the engine sent is completed by
    /// the engine; one a program wrote itself (with `_new_tag` and `send`)
    /// is read with `_get_response` until its tagged line is in
    /// `tagged_commands`, as imaplib does.
    fn _command_complete(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        tag: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let py = slf.py();
        let any = slf.as_any();
        let name = str_arg(name)?;
        let tag_bytes = bytes_arg(tag)?;
        let tag_text = String::from_utf8_lossy(&tag_bytes).into_owned();
        let key = PyBytes::new(py, &tag_bytes);
        let tagged = any.getattr("tagged_commands")?;
        let engine_knows = slf
            .borrow()
            .engine()
            .as_ref()
            .is_some_and(|m| m.session().is_in_flight(&tag_text));
        if engine_knows {
            let result = Self::reply(slf, move |m| m.wait_command(&tag_text));
            let _ = tagged.del_item(&key);
            return result;
        }
        let logout = name == "LOGOUT";
        loop {
            if let Some(result) = tagged.get_item(&key).ok().filter(|r| !r.is_none()) {
                tagged.del_item(&key)?;
                let typ: String = result.get_item(0)?.extract()?;
                let data = result.get_item(1)?;
                if typ == "BAD" {
                    let msg = format!("{name} command error: {typ} {}", data.str()?);
                    return Err(raise_kind(any, "error", &msg)?);
                }
                return typ_data(py, &typ, data);
            }
            if logout {
                let ur = any.getattr("untagged_responses")?;
                if let Ok(bye) = ur.call_method1("pop", ("BYE", py.None())) {
                    if !bye.is_none() {
                        let _ = tagged.del_item(&key);
                        return typ_data(py, "BYE", bye);
                    }
                }
            }
            if let Err(e) = any.call_method0("_get_response") {
                if e.is_instance(py, &any.getattr("abort")?) {
                    let msg = format!("command: {name} => {}", e.value(py).str()?);
                    return Err(raise_kind(any, "abort", &msg)?);
                }
                return Err(e);
            }
        }
    }

    /// imaplib's `_new_tag()`: a tag the engine will not use, registered
    /// in `tagged_commands`.
    fn _new_tag<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyBytes>> {
        let py = slf.py();
        let tag = {
            let me = slf.borrow();
            let mut engine = me.engine();
            let Some(imap) = engine.as_mut() else {
                drop(engine);
                drop(me);
                return Err(closed_error(slf.as_any())?);
            };
            let tag = imap.reserve_tag();
            slf.as_any().setattr("tagnum", imap.session().tags_used())?;
            tag
        };
        let tag = PyBytes::new(py, tag.as_bytes());
        slf.as_any()
            .getattr("tagged_commands")?
            .set_item(&tag, py.None())?;
        Ok(tag)
    }

    /// imaplib's `_get_response()`: reads one response with `_get_line`
    /// (and `read` for its literals), files it in `tagged_commands` or
    /// `untagged_responses` as imaplib does, and returns the line, or None
    /// for a continuation request.
    fn _get_response(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        let py = slf.py();
        let any = slf.as_any();
        let resp_obj = any.call_method0("_get_line")?;
        let resp = bytes_arg(&resp_obj)?;
        let tagpre = bytes_arg(&any.getattr("tagpre")?)?;
        let (typ, dat): (String, Option<Vec<u8>>);
        if let Some((tag, t, d)) = match_tagged(&resp, &tagpre) {
            let tag = PyBytes::new(py, tag);
            let tagged = any.getattr("tagged_commands")?;
            if !tagged.contains(&tag)? {
                let msg = format!(
                    "unexpected tagged response: {}",
                    PyBytes::new(py, &resp).repr()?
                );
                return Err(raise_kind(any, "abort", &msg)?);
            }
            typ = String::from_utf8_lossy(t).into_owned();
            let list = pyo3::types::PyList::new(py, [PyBytes::new(py, d)])?;
            tagged.set_item(&tag, (typ.as_str(), list))?;
            dat = Some(d.to_vec());
        } else {
            let Some((t, d)) = match_untagged(&resp) else {
                if let Some(data) = match_continuation(&resp) {
                    let data =
                        data.map_or_else(|| py.None(), |d| PyBytes::new(py, d).into_any().unbind());
                    any.setattr("continuation_response", data)?;
                    return Ok(py.None());
                }
                let msg = format!("unexpected response: {}", PyBytes::new(py, &resp).repr()?);
                return Err(raise_kind(any, "abort", &msg)?);
            };
            typ = String::from_utf8_lossy(&t).into_owned();
            let mut d = d;
            while let Some(size) = literal_size(&d) {
                let data = any.call_method1("read", (size,))?;
                Self::_append_untagged(
                    slf,
                    &typ,
                    PyTuple::new(py, [PyBytes::new(py, &d).into_any(), data])?.as_any(),
                )?;
                d = bytes_arg(&any.call_method0("_get_line")?)?;
            }
            Self::_append_untagged(slf, &typ, PyBytes::new(py, &d).as_any())?;
            dat = Some(d);
        }
        if matches!(typ.as_str(), "OK" | "NO" | "BAD") {
            if let Some((code, data)) = dat.as_deref().and_then(match_code) {
                let code = String::from_utf8_lossy(code).into_owned();
                let data =
                    data.map_or_else(|| py.None(), |d| PyBytes::new(py, d).into_any().unbind());
                Self::_append_untagged(slf, &code, data.bind(py))?;
            }
        }
        Ok(resp_obj.unbind())
    }

    /// imaplib's `_append_untagged(typ, dat)`.
    fn _append_untagged(slf: &Bound<'_, Self>, typ: &str, dat: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let dat = if dat.is_none() {
            PyBytes::new(py, b"").into_any()
        } else {
            dat.clone()
        };
        let ur = slf.as_any().getattr("untagged_responses")?;
        match ur.get_item(typ).ok() {
            Some(list) => {
                list.call_method1("append", (dat,))?;
            }
            None => ur.set_item(typ, pyo3::types::PyList::new(py, [dat])?)?,
        }
        Ok(())
    }

    /// imaplib's `_simple_command(name, *args)`.
    #[pyo3(signature = (name, *args))]
    fn _simple_command(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<PyObject> {
        let cmd = Self::raw_command(slf, name, args)?;
        Self::reply(slf, move |m| m.run_command(cmd))
    }

    /// imaplib's `_untagged_response(typ, dat, name)`: pops
    /// `untagged_responses[name]` unless `typ` is NO.
    fn _untagged_response(
        slf: &Bound<'_, Self>,
        typ: &str,
        dat: &Bound<'_, PyAny>,
        name: &str,
    ) -> PyResult<PyObject> {
        let py = slf.py();
        if typ == "NO" {
            return typ_data(py, typ, dat.clone());
        }
        let dict = slf.as_any().getattr("untagged_responses")?;
        let dict = dict.downcast::<PyDict>()?;
        let data = match dict.get_item(name)? {
            Some(d) => {
                dict.del_item(name)?;
                d
            }
            None => PyTuple::new(py, [py.None()])?.to_list().into_any(),
        };
        typ_data(py, typ, data)
    }

    /// imaplib's `_get_line()`: one line without its CRLF.
    fn _get_line<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyBytes>> {
        let line = Self::call(slf, |m| m.readline())?;
        if line.is_empty() {
            return Err(raise_kind(slf.as_any(), "abort", "socket error: EOF")?);
        }
        let Some(body) = line.strip_suffix(b"\r\n") else {
            let msg = format!(
                "socket error: unterminated line: {:?}",
                PyBytes::new(slf.py(), &line)
            );
            return Err(raise_kind(slf.as_any(), "abort", &msg)?);
        };
        Ok(PyBytes::new(slf.py(), body))
    }

    /// imaplib's `_quote(arg)`.
    #[staticmethod]
    fn _quote(arg: &str) -> String {
        format!("\"{}\"", arg.replace('\\', "\\\\").replace('"', "\\\""))
    }

    /// imaplib's `_mesg(s, secs=None)`: a timestamped debug line on stderr.
    #[pyo3(signature = (s, secs=None))]
    fn _mesg(slf: &Bound<'_, Self>, s: &Bound<'_, PyAny>, secs: Option<f64>) -> PyResult<()> {
        let py = slf.py();
        let time = py.import("time")?;
        let secs = match secs {
            Some(s) => s,
            None => time.call_method0("time")?.extract()?,
        };
        let tm: String = time
            .call_method1(
                "strftime",
                ("%M:%S", time.call_method1("localtime", (secs,))?),
            )?
            .extract()?;
        let hundredths = ((secs * 100.0) % 100.0) as i64;
        let stderr = py.import("sys")?.getattr("stderr")?;
        stderr.call_method1("write", (format!("  {tm}.{hundredths:02} {}\n", s.str()?),))?;
        stderr.call_method0("flush")?;
        Ok(())
    }

    /// imaplib's `_dump_ur(dict)`: the untagged responses through `_mesg`.
    fn _dump_ur(slf: &Bound<'_, Self>, untagged_resp_dict: &Bound<'_, PyAny>) -> PyResult<()> {
        if !untagged_resp_dict.is_truthy()? {
            return Ok(());
        }
        let mut items = Vec::new();
        for item in untagged_resp_dict.call_method0("items")?.try_iter()? {
            let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            items.push(format!("{}: {}", key.str()?, value.repr()?));
        }
        let text = format!("untagged responses dump:{}", items.join("\n\t\t"));
        slf.as_any().call_method1("_mesg", (text,))?;
        Ok(())
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(slf: &Bound<'_, Self>, _args: &Bound<'_, PyTuple>) -> PyResult<()> {
        let state: String = slf.as_any().getattr("state")?.extract()?;
        if state == "LOGOUT" {
            return Ok(());
        }
        match slf.as_any().call_method0("logout") {
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyOSError>(slf.py()) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// imaplib's `__getattr__`: `imap.SELECT` is `imap.select`.
    fn __getattr__<'py>(slf: &Bound<'py, Self>, attr: &str) -> PyResult<Bound<'py, PyAny>> {
        if crate::commands(slf.py())?.contains(attr)? {
            return slf.as_any().getattr(attr.to_ascii_lowercase());
        }
        Err(PyAttributeError::new_err(format!(
            "Unknown IMAP4 command: '{attr}'"
        )))
    }
}
