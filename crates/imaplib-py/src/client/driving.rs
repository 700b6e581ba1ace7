//! How `_IMAP4` drives its engine: calls with the GIL released, replies
//! as imaplib's, the native socket or the subclass's own I/O, imaplib's
//! attributes kept in step, and errors as the instance's exceptions.

use std::collections::HashMap;

use imaplib::imaplib_proto::command::{Arg, Command};
use imaplib::imaplib_proto::ProtoErrorKind;
use imaplib::{ErrorKind, Imap4, Options, State};
use pyo3::exceptions::{PyConnectionError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use super::*;

/// Sets attributes on `obj`.
pub(super) fn set_all(obj: &Bound<'_, PyAny>, items: &[(&str, PyObject)]) -> PyResult<()> {
    for (name, value) in items {
        obj.setattr(*name, value)?;
    }
    Ok(())
}

impl Base {
    /// The engine's slot (empty while a call runs, or once closed).
    pub(super) fn engine(&self) -> std::sync::MutexGuard<'_, Option<Imap4>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the engine with the GIL released, with
    /// `untagged_responses` and `Commands` handed over before and the
    /// attributes brought up to date after. An engine error becomes the
    /// instance's `error`, `abort` or `readonly`; a Python exception raised
    /// by the socket or a hook is raised as it was.
    pub(super) fn call<T: Send>(
        slf: &Bound<'_, Self>,
        f: impl FnOnce(&mut Imap4) -> imaplib::Result<T> + Send,
    ) -> PyResult<T> {
        Self::call_with(slf, f, |_, _| None)
    }

    /// [`Base::call`] where `on_error` may raise an engine error as the
    /// method's own imaplib exception (None: the usual one).
    pub(super) fn call_with<T: Send>(
        slf: &Bound<'_, Self>,
        f: impl FnOnce(&mut Imap4) -> imaplib::Result<T> + Send,
        on_error: impl FnOnce(&Bound<'_, PyAny>, &imaplib::Error) -> Option<PyErr>,
    ) -> PyResult<T> {
        // The work is done by one function for every method
        // (`run_engine`), not by a copy of it in each: each copy of its
        // code that runs would stay resident in the Python process.
        let (mut f, mut on_error, mut value) = (Some(f), Some(on_error), None);
        Self::run_engine(
            slf,
            &mut |imap| match f.take() {
                Some(f) => f(imap).map(|v| value = Some(v)),
                None => Ok(()),
            },
            &mut |any, e| on_error.take().and_then(|g| g(any, e)),
        )?;
        value.ok_or_else(|| PyRuntimeError::new_err("the engine call did not run"))
    }

    /// [`Base::call_with`] without its types.
    #[inline(never)]
    fn run_engine(
        slf: &Bound<'_, Self>,
        f: &mut (dyn FnMut(&mut Imap4) -> imaplib::Result<()> + Send),
        on_error: &mut dyn FnMut(&Bound<'_, PyAny>, &imaplib::Error) -> Option<PyErr>,
    ) -> PyResult<()> {
        let py = slf.py();
        let any = slf.as_any();
        let taken = slf.borrow().engine().take();
        let Some(mut imap) = taken else {
            return Err(closed_error(any)?);
        };
        if let Err(e) = Self::hand_over(slf, &mut imap) {
            *slf.borrow().engine() = Some(imap);
            return Err(e);
        }
        let result = py.allow_threads(|| f(&mut imap));
        let synced = Self::take_back(slf, &mut imap);
        *slf.borrow().engine() = Some(imap);
        synced?;
        result.map_err(|e| {
            Self::stashed(slf)
                .or_else(|| on_error(any, &e))
                .unwrap_or_else(|| raise(slf, &e))
        })
    }

    /// Takes the Python exception the I/O kept during the last call (a
    /// socket's error, a hook's, a signal handler's), if any.
    pub(super) fn stashed(slf: &Bound<'_, Self>) -> Option<PyErr> {
        slf.borrow()
            .shared
            .lock()
            .ok()
            .and_then(|mut s| s.error.take())
    }

    /// [`Base::call`] for a command: imaplib's `(typ, data)`.
    pub(super) fn reply(
        slf: &Bound<'_, Self>,
        f: impl FnOnce(&mut Imap4) -> imaplib::Result<imaplib::Reply> + Send,
    ) -> PyResult<PyObject> {
        let reply = Self::call(slf, f)?;
        reply_into_py(slf.py(), reply)
    }

    /// [`Base::reply`] for a command whose answer can be large (FETCH):
    /// the data stored under `name` becomes Python objects batch by batch
    /// as it arrives, so it is never held twice (as Rust bytes and as
    /// Python bytes). The result is imaplib's: the batches and the reply's
    /// data in order; on NO, or an error, the batches go back into
    /// `untagged_responses`, where imaplib leaves them.
    ///
    /// The objects are gathered in a Rust vector and the result list made
    /// once, at its size: a Python list grown one item at a time is moved
    /// by its many small growths past the objects made meanwhile, leaving
    /// its old copies as holes in the C heap (about 0.5 MB at the end of a
    /// 10,000-message header fetch from Dovecot); a vector doubles, so its
    /// old copies add up to at most its size.
    pub(super) fn reply_draining(
        slf: &Bound<'_, Self>,
        cmd: Command,
        name: &'static str,
    ) -> PyResult<PyObject> {
        /// Untagged data held before a batch is handed over.
        const BATCH_BYTES: usize = 16 << 10;
        let py = slf.py();
        let drained: std::sync::Mutex<Vec<PyObject>> = Default::default();
        let result = Self::call(slf, |m| {
            m.run_command_draining(cmd, name, BATCH_BYTES, |items| {
                if let Ok(mut all) = drained.lock() {
                    Python::with_gil(|py| {
                        all.extend(items.iter().filter_map(|d| data_to_py(py, d).ok()));
                    });
                }
            })
        });
        let drained = drained.into_inner().unwrap_or_default();
        let restore = |drained: Vec<PyObject>| -> PyResult<()> {
            if drained.is_empty() {
                return Ok(());
            }
            let dict = slf.as_any().getattr("untagged_responses")?;
            let mut rest = Vec::new();
            if let Ok(held) = dict.get_item(name) {
                for d in held.try_iter()? {
                    rest.push(d?.unbind());
                }
            }
            let items = PyList::new(py, drained.into_iter().chain(rest).collect::<Vec<_>>())?;
            dict.set_item(name, items)
        };
        let reply = match result {
            Ok(reply) => reply,
            Err(e) => {
                restore(drained)?;
                return Err(e);
            }
        };
        if drained.is_empty() {
            return reply_into_py(py, reply);
        }
        if reply.typ == imaplib::Status::No {
            restore(drained)?;
            return reply_into_py(py, reply);
        }
        let only_none = reply.data.len() == 1 && reply.data[0].is_none();
        let mut items = drained;
        if !only_none {
            items.reserve_exact(reply.data.len());
            for d in reply.data {
                items.push(data_to_py(py, &d)?);
            }
        }
        let typ = PyString::new(py, &reply.typ.to_string());
        let list = PyList::new(py, items)?;
        Ok(PyTuple::new(py, [typ.into_any(), list.into_any()])?
            .into_any()
            .unbind())
    }

    /// Sets the native socket's descriptor up for a call as the Python
    /// socket's timeout asks: blocking, or blocking with that timeout on
    /// each read and write (Python keeps such a socket non-blocking and
    /// waits itself; `finish_native` puts that back), or left non-blocking.
    pub(super) fn prepare_native(slf: &Bound<'_, Self>) -> PyResult<()> {
        let timeout = sock_timeout(slf.as_any());
        if let Ok(mut shared) = slf.borrow().shared.lock() {
            shared.sock_timeout = timeout;
        }
        if !sock_is_native(slf)? {
            return Ok(());
        }
        let me = slf.borrow();
        let Some((tcp, _)) = me.native.as_ref() else {
            return Ok(());
        };
        let wait = match timeout {
            Some(t) if t <= 0.0 => return Ok(()),
            Some(t) => Some(std::time::Duration::from_secs_f64(t)),
            None => None,
        };
        tcp.set_nonblocking(false)?;
        tcp.set_read_timeout(wait)?;
        tcp.set_write_timeout(wait)?;
        Ok(())
    }

    /// Gives the Python socket back the non-blocking mode its timeout
    /// needs.
    pub(super) fn finish_native(slf: &Bound<'_, Self>) -> PyResult<()> {
        let timeout = slf.borrow().shared.lock().ok().and_then(|s| s.sock_timeout);
        if timeout.is_some_and(|t| t > 0.0) && sock_is_native(slf)? {
            if let Some((tcp, _)) = slf.borrow().native.as_ref() {
                tcp.set_nonblocking(true)?;
            }
        }
        Ok(())
    }

    pub(super) fn hand_over(slf: &Bound<'_, Self>, imap: &mut Imap4) -> PyResult<()> {
        let py = slf.py();
        let any = slf.as_any();
        // An exception an earlier call kept and did not raise (its result
        // was not an error) is not this call's.
        if let Ok(mut shared) = slf.borrow().shared.lock() {
            shared.error = None;
        }
        Self::prepare_native(slf)?;
        let dict = any.getattr("untagged_responses")?;
        let dict = dict.downcast::<PyDict>()?;
        imap.replace_untagged_responses(dict_to_store(dict)?);
        let commands = crate::commands(py)?;
        let same = match &slf.borrow().commands_seen {
            Some(seen) => seen.bind(py).eq(commands)?,
            None => false,
        };
        if !same {
            let mut table: HashMap<String, Vec<State>> = HashMap::new();
            for (name, states) in commands.iter() {
                let list: Vec<State> = states
                    .try_iter()?
                    .filter_map(|s| s.ok().and_then(|s| s.extract::<String>().ok()))
                    .filter_map(|s| crate::parse_state(&s))
                    .collect();
                table.insert(str_arg(&name)?.to_ascii_uppercase(), list);
            }
            imap.set_command_table(Some(table));
            slf.borrow_mut().commands_seen = Some(commands.copy()?.unbind());
        }
        let state = any.getattr("state")?;
        if let Some(state) = state
            .extract::<String>()
            .ok()
            .and_then(|s| crate::parse_state(&s))
        {
            if state != imap.state() {
                imap.assume_state(state);
            }
        }
        let debug: u8 = any
            .getattr("debug")
            .and_then(|d| d.extract::<i64>())
            .map(|d| d.clamp(0, 255) as u8)
            .unwrap_or(0);
        imap.set_debug(debug);
        imap.capture_trace(debug >= 4);
        let limits = imaplib::Limits {
            max_line: crate::max_line(py)?,
            ..imap.limits()
        };
        imap.set_limits(limits);
        Ok(())
    }

    pub(super) fn take_back(slf: &Bound<'_, Self>, imap: &mut Imap4) -> PyResult<()> {
        let py = slf.py();
        let any = slf.as_any();
        Self::finish_native(slf)?;
        let store = imap.take_untagged_responses();
        let dict = any.getattr("untagged_responses")?;
        store_to_dict(py, dict.downcast::<PyDict>()?, &store)?;
        // imaplib's protocol trace at debug level 4, through `_mesg`.
        for (out, line) in imap.take_trace() {
            let shown = PyBytes::new(py, &line).repr()?;
            let text = format!("{} {shown}", if out { ">" } else { "<" });
            any.call_method1("_mesg", (text,))?;
        }
        sync_attributes(any, imap)
    }

    /// The engine, built over the instance's socket (or its hooks) once
    /// `open` has run; reads the greeting and the capabilities.
    pub(super) fn connect(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let any = slf.as_any();
        let hooks = overrides_io(slf)?;
        let shared = slf.borrow().shared.clone();
        let native = if !hooks && sock_is_native(slf)? {
            let me = slf.borrow();
            let handle = me.native.as_ref().map(|(tcp, _)| tcp.try_clone());
            handle.transpose().map_err(PyErr::from)?
        } else {
            None
        };
        Self::prepare_native(slf)?;
        let io = PyIo::new(any, hooks, shared.clone(), native)?;
        let mut options = Options::default();
        options.limits.max_line = crate::max_line(py)?;
        options.imaplib_capabilities = true;
        let made = py.allow_threads(|| Imap4::from_transport(Box::new(io), options));
        let mut imap = match made {
            Ok(imap) => imap,
            Err(e) => return Err(raise(slf, &e)),
        };
        Self::take_back(slf, &mut imap)?;
        sync_capabilities(any, &imap)?;
        any.setattr("welcome", PyBytes::new(py, imap.welcome()))?;
        any.setattr("tagpre", PyBytes::new(py, imap.tag_prefix().as_bytes()))?;
        let debug: i64 = any.getattr("debug")?.extract().unwrap_or(0);
        if debug >= 1 {
            let version = py.import("imaplib_rs")?.getattr("__version__")?;
            any.call_method1("_mesg", (format!("imaplib_rs version {version}"),))?;
            let tag = imap.tag_prefix().to_string();
            any.call_method1("_mesg", (format!("new IMAP4 connection, tag={tag}"),))?;
        }
        if debug >= 3 {
            let caps = any.getattr("capabilities")?.repr()?;
            any.call_method1("_mesg", (format!("CAPABILITIES: {caps}"),))?;
        }
        *slf.borrow().engine() = Some(imap);
        Ok(())
    }
}

/// True when a subclass replaced `read`, `readline` or `send`: the engine
/// then reads and writes through them.
pub(super) fn overrides_io(slf: &Bound<'_, Base>) -> PyResult<bool> {
    let py = slf.py();
    let cls = slf.get_type();
    let base = py.get_type::<Base>();
    for name in ["read", "readline", "send"] {
        if !cls.getattr(name)?.is(&base.getattr(name)?) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Writes the engine's view to imaplib's attributes. `state` becomes
/// LOGOUT only through `logout()`, as in imaplib (after a server's BYE the
/// attribute keeps its value; the next command fails with `abort`).
pub(super) fn sync_attributes(any: &Bound<'_, PyAny>, imap: &Imap4) -> PyResult<()> {
    let py = any.py();
    if imap.state() != State::Logout {
        any.setattr("state", imap.state().as_str())?;
    }
    any.setattr("tagnum", imap.session().tags_used())?;
    let utf8 = imap.utf8_enabled();
    set_all(
        any,
        &[
            (
                "is_readonly",
                imap.is_readonly()
                    .into_pyobject(py)?
                    .to_owned()
                    .into_any()
                    .unbind(),
            ),
            (
                "utf8_enabled",
                utf8.into_pyobject(py)?.to_owned().into_any().unbind(),
            ),
            (
                "_encoding",
                PyString::new(py, if utf8 { "utf-8" } else { "ascii" })
                    .into_any()
                    .unbind(),
            ),
        ],
    )
}

/// imaplib's `_get_capabilities` result: `capabilities` and
/// `PROTOCOL_VERSION`, written only where imaplib writes them (while
/// connecting and after STARTTLS).
pub(super) fn sync_capabilities(any: &Bound<'_, PyAny>, imap: &Imap4) -> PyResult<()> {
    let py = any.py();
    let caps: Vec<&str> = imap.capabilities().iter().map(String::as_str).collect();
    any.setattr("capabilities", PyTuple::new(py, caps)?)?;
    any.setattr("PROTOCOL_VERSION", imap.protocol_version())?;
    Ok(())
}

/// A failed connection as Python's: the OS error's own class
/// (ConnectionRefusedError, TimeoutError, socket.gaierror's OSError...),
/// or ConnectionError for a proxy's refusal.
pub(super) fn connect_error(e: &imaplib::Error) -> PyErr {
    if e.proxy_failure().is_none() {
        let io = std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>());
        if let Some(io) = io {
            // Python's own words: "[Errno 111] Connection refused", "timed out".
            if let Some(code) = io.raw_os_error() {
                // OSError(errno, strerror) picks the subclass and the words.
                return Python::with_gil(|py| {
                    let made = py.import("os").and_then(|os| {
                        let text = os.call_method1("strerror", (code,))?;
                        let err = py
                            .get_type::<pyo3::exceptions::PyOSError>()
                            .call1((code, text))?;
                        Ok(PyErr::from_value(err))
                    });
                    made.unwrap_or_else(|err| err)
                });
            }
            if matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) {
                return pyo3::exceptions::PyTimeoutError::new_err("timed out");
            }
            return PyErr::from(std::io::Error::new(io.kind(), e.message().to_string()));
        }
    }
    PyConnectionError::new_err(e.message().to_string())
}

/// True while `self.sock` is the plain socket `_create_socket` made (not
/// an ssl socket wrapping it, not one a subclass made).
pub(super) fn sock_is_native(slf: &Bound<'_, Base>) -> PyResult<bool> {
    let Some(fd) = slf.borrow().native.as_ref().map(|(_, fd)| *fd) else {
        return Ok(false);
    };
    let py = slf.py();
    let sock = slf.as_any().getattr("sock")?;
    if sock.is_none() || !sock.get_type().is(&py.import("socket")?.getattr("socket")?) {
        return Ok(false);
    }
    Ok(sock.call_method0("fileno")?.extract::<i64>()? == fd)
}

/// The Python socket's timeout (`None` blocking, `0.0` non-blocking).
pub(super) fn sock_timeout(any: &Bound<'_, PyAny>) -> Option<f64> {
    let sock = any.getattr("sock").ok().filter(|s| !s.is_none())?;
    sock.call_method0("gettimeout")
        .ok()?
        .extract::<Option<f64>>()
        .ok()?
}

/// What imaplib raises for a command after `shutdown()`: its send fails
/// on the closed socket, and the OSError becomes `abort`.
pub(super) fn closed_error(any: &Bound<'_, PyAny>) -> PyResult<PyErr> {
    let sock = any.getattr("sock").ok().filter(|s| !s.is_none());
    if let Some(sock) = sock {
        let empty = PyBytes::new(any.py(), b"");
        if let Err(e) = sock.call_method1("sendall", (empty,)) {
            if e.is_instance_of::<pyo3::exceptions::PyOSError>(any.py()) {
                let text = e.value(any.py()).str()?;
                return raise_kind(any, "abort", &format!("socket error: {text}"));
            }
            return Ok(e);
        }
    }
    raise_kind(any, "abort", "socket error: connection closed")
}

/// `cls_name` (`error`, `abort`, `readonly`) of the instance, raised with
/// `message`.
pub(super) fn raise_kind(any: &Bound<'_, PyAny>, cls_name: &str, message: &str) -> PyResult<PyErr> {
    let cls = any.getattr(cls_name)?;
    let value = cls.call1((message,))?;
    Ok(PyErr::from_value(value))
}

/// An engine error as the instance's exception, or the Python exception
/// that caused it.
pub(super) fn raise(slf: &Bound<'_, Base>, e: &imaplib::Error) -> PyErr {
    if let Some(err) = Base::stashed(slf) {
        return err;
    }
    if e.detail() == Some(ProtoErrorKind::LineTooLong) {
        // imaplib's words for a line over _MAXLINE.
        let max = crate::max_line(slf.py()).unwrap_or(0);
        let msg = format!("got more than {max} bytes");
        return raise_kind(slf.as_any(), "error", &msg).unwrap_or_else(|err| err);
    }
    if e.detail() == Some(ProtoErrorKind::CommandBad) {
        // imaplib: '%s command error: %s %s' % (name, typ, data), data
        // being the list of the tagged line's bytes.
        if let Some((name, text)) = e.message().split_once(" command error: BAD ") {
            let data = PyBytes::new(slf.py(), text.as_bytes());
            let shown = data.repr().map(|r| r.to_string()).unwrap_or_default();
            let msg = format!("{name} command error: BAD [{shown}]");
            return raise_kind(slf.as_any(), "error", &msg).unwrap_or_else(|err| err);
        }
    }
    let cls = match e.kind() {
        ErrorKind::Error => "error",
        ErrorKind::Abort => "abort",
        ErrorKind::Readonly => "readonly",
    };
    raise_kind(slf.as_any(), cls, e.message()).unwrap_or_else(|err| err)
}

impl Base {
    /// A command as imaplib's `_command` writes it: the name, each argument
    /// as given (str encoded), and `self.literal` as a literal.
    pub(super) fn raw_command(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<Command> {
        let name = str_arg(name)?;
        let mut cmd = Command::new(name.to_ascii_uppercase());
        for a in args_bytes(args)? {
            cmd = cmd.arg(Arg::Raw(a.into()));
        }
        let literal = slf.as_any().getattr("literal")?;
        if !literal.is_none() {
            slf.as_any().setattr("literal", slf.py().None())?;
            cmd = cmd.arg(Arg::Literal(bytes_arg(&literal)?.into()));
        }
        Ok(cmd)
    }
}
