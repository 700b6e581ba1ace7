//! imaplib 3.14's `idle()`: the `Idler` context manager and its iteration,
//! on the engine's step-by-step IDLE (`idle_begin`, `idle_next`,
//! `idle_end`). On entry IDLE is sent and the server's continuation
//! awaited; iterating yields each untagged response as `(type, [data...])`
//! (untagged responses from the moment IDLE was sent, including those
//! before the continuation); on exit the responses not taken go to
//! `untagged_responses`, DONE is sent and the completion read. Meanwhile
//! `state` is `IDLING`, in which every command raises `error`.
//!
//! Differences from CPython's, all where CPython fails in ways no program
//! relies on: entering a second `Idler` while one is active raises
//! `error` ("command IDLE illegal in state IDLING") where CPython trips an
//! `assert`; a server that ends IDLE by itself ends the iteration (CPython
//! raises `IndexError`) and no DONE is sent on exit; a response cut by the
//! wait is kept whole for the next step on every transport.

use std::time::{Duration, Instant};

use imaplib::IdleStep;
use pyo3::exceptions::{PyStopIteration, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use super::Base;
use crate::convert::data_list;

use super::driving::raise_kind;

/// An error of the connection's own classes (`error`, `abort`).
fn failure(imap: &Bound<'_, Base>, kind: &str, message: &str) -> PyErr {
    match raise_kind(imap.as_any(), kind, message) {
        Ok(e) | Err(e) => e,
    }
}

/// True when the connection has a socket (`self.sock`), as `duration` and
/// `burst()` need.
fn has_socket(imap: &Bound<'_, Base>) -> PyResult<bool> {
    match imap.as_any().getattr("sock") {
        Ok(sock) => sock.is_truthy(),
        Err(_) => Ok(false),
    }
}

/// Seconds as given by Python (int or float), checked.
fn seconds(value: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value.max(0.0))
        .map_err(|_| PyValueError::new_err(format!("{what} out of range: {value}")))
}

/// Lets the engine's waits rule the reads of `imap`'s transport (or the
/// socket's timeout again).
fn set_engine_waits(imap: &Bound<'_, Base>, on: bool) {
    if let Ok(mut shared) = imap.borrow().shared.lock() {
        shared.engine_waits = on;
    }
}

/// True while the IDLE `tag` began is still running on `imap`.
fn still_idling(imap: &Bound<'_, Base>, tag: &str) -> bool {
    imap.borrow().engine().as_ref().is_some_and(|m| {
        m.session().broken().is_none()
            && m.state() == imaplib::State::Idling
            && m.session().is_in_flight(tag)
    })
}

/// `idle()`'s context manager. Iterable only while entered.
#[pyclass(module = "imaplib_rs._native", name = "Idler")]
pub(crate) struct Idler {
    imap: Py<Base>,
    duration: Option<Duration>,
    deadline: Option<Instant>,
    /// The IDLE command's tag while it runs.
    tag: Option<String>,
    /// `state` before IDLE, put back on exit whatever happened (as
    /// imaplib does).
    saved_state: Option<PyObject>,
}

impl Idler {
    /// `idle(duration)` on `imap`: refuses a server without IDLE, and a
    /// duration without a socket, as imaplib does.
    pub(super) fn start(imap: &Bound<'_, Base>, duration: Option<f64>) -> PyResult<Idler> {
        let caps = imap.as_any().getattr("capabilities")?;
        if !caps.contains("IDLE")? {
            return Err(failure(imap, "error", "Server does not support IMAP4 IDLE"));
        }
        if duration.is_some() && !has_socket(imap)? {
            return Err(failure(
                imap,
                "error",
                "duration requires a socket connection",
            ));
        }
        Ok(Idler {
            imap: imap.clone().unbind(),
            duration: duration.map(|d| seconds(d, "duration")).transpose()?,
            deadline: None,
            tag: None,
            saved_state: None,
        })
    }

    /// One step: the next response within `wait` as `(type, [data...])`,
    /// or None when the wait passed (or the server ended IDLE).
    fn pop(&mut self, py: Python<'_>, wait: Option<Duration>) -> PyResult<Option<PyObject>> {
        let imap = self.imap.bind(py);
        let Some(tag) = self.tag.clone() else {
            return Err(failure(imap, "error", "_pop() only works during IDLE"));
        };
        // The wait rules the reads, not the socket's timeout: imaplib
        // sets the socket's timeout to it (None: blocking).
        set_engine_waits(imap, true);
        let asked = tag.clone();
        let step = Base::call(imap, move |m| m.idle_next(&asked, wait));
        set_engine_waits(imap, false);
        // A signal's exception (Ctrl-C) ended a wait that got nothing:
        // IDLE still runs, and the exception is the caller's.
        let stashed = Base::stashed(imap);
        if let (Ok(IdleStep::Timeout), Some(err)) = (&step, stashed) {
            return Err(err);
        }
        let step = match step {
            Ok(step) => step,
            Err(e) => {
                // A BYE or a lost connection ended IDLE: nothing to end
                // on exit. (A signal's exception leaves it running.)
                if !still_idling(imap, &tag) {
                    self.tag = None;
                }
                return Err(e);
            }
        };
        match step {
            IdleStep::Response(name, data) => {
                let typ = PyString::new(py, &name);
                let list = data_list(py, &data)?;
                Ok(Some(
                    PyTuple::new(py, [typ.into_any(), list.into_bound(py).into_any()])?
                        .into_any()
                        .unbind(),
                ))
            }
            IdleStep::Ended(_) => {
                self.tag = None;
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// What is left of `duration`: None without one.
    fn left(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }
}

#[pymethods]
impl Idler {
    fn __enter__(mut slf: PyRefMut<'_, Self>) -> PyResult<PyRefMut<'_, Self>> {
        let py = slf.py();
        let imap = slf.imap.clone_ref(py);
        let imap = imap.bind(py);
        let saved = imap.as_any().getattr("state")?.unbind();
        match Base::call(imap, |m| m.idle_begin())? {
            Ok(tag) => {
                slf.deadline = slf.duration.map(|d| Instant::now() + d);
                slf.tag = Some(tag);
                slf.saved_state = Some(saved);
                Ok(slf)
            }
            Err(reply) => {
                let data = data_list(py, &reply.data)?;
                if reply.typ == imaplib::Status::No {
                    let shown = data.bind(py).repr()?;
                    Err(failure(imap, "error", &format!("idle denied: {shown}")))
                } else {
                    let text: Vec<String> = reply
                        .data
                        .iter()
                        .filter_map(|d| d.as_bytes())
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .collect();
                    Err(failure(
                        imap,
                        "abort",
                        &format!(
                            "unexpected status response: {} {}",
                            reply.typ,
                            text.join(" ")
                        ),
                    ))
                }
            }
        }
    }

    #[pyo3(signature = (exc_type=None, _exc=None, _tb=None))]
    fn __exit__(
        &mut self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let imap = self.imap.bind(py);
        let restore = |saved: Option<PyObject>| -> PyResult<()> {
            // `state` as before IDLE, unless IDLE's end changed it.
            if let Some(saved) = saved {
                let now = imap.as_any().getattr("state")?;
                if now.extract::<String>().is_ok_and(|s| s == "IDLING") {
                    imap.as_any().setattr("state", saved)?;
                }
            }
            Ok(())
        };
        let saved = self.saved_state.take();
        let Some(tag) = self.tag.take() else {
            restore(saved)?;
            return Ok(false);
        };
        let ended = Base::call(imap, move |m| m.idle_end(&tag));
        restore(saved)?;
        let body_raised = exc_type.is_some_and(|t| !t.is_none());
        let reply = match ended {
            Ok(reply) => reply,
            // What the body raised (a lost connection, Ctrl-C) is what the
            // caller sees, not the failure to end IDLE that follows it.
            Err(_) if body_raised => return Ok(false),
            Err(e) => return Err(e),
        };
        if reply.typ == imaplib::Status::Bad {
            let data = data_list(py, &reply.data)?;
            let shown = data.bind(py).str()?;
            return Err(failure(
                imap,
                "error",
                &format!("IDLE command error: BAD {shown}"),
            ));
        }
        Ok(false)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<PyObject> {
        let wait = self.left();
        self.pop(py, wait)?
            .ok_or_else(|| PyStopIteration::new_err(()))
    }

    /// The responses that come no more than `interval` seconds apart: the
    /// first within what is left of `duration`, each next within
    /// `interval` of the one before.
    #[pyo3(signature = (interval=0.1))]
    fn burst(slf: Bound<'_, Self>, interval: f64) -> PyResult<Burst> {
        Ok(Burst {
            idler: slf.unbind(),
            interval: seconds(interval, "interval")?,
            started: false,
        })
    }
}

/// The iterator `Idler.burst()` returns.
#[pyclass(module = "imaplib_rs._native", name = "_IdleBurst")]
pub(crate) struct Burst {
    idler: Py<Idler>,
    interval: Duration,
    started: bool,
}

#[pymethods]
impl Burst {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<PyObject> {
        let mut idler = self.idler.bind(py).borrow_mut();
        let wait = if self.started {
            Some(self.interval)
        } else {
            let imap = idler.imap.clone_ref(py);
            if !has_socket(imap.bind(py))? {
                return Err(failure(
                    imap.bind(py),
                    "error",
                    "burst() requires a socket connection",
                ));
            }
            self.started = true;
            idler.left()
        };
        idler
            .pop(py, wait)?
            .ok_or_else(|| PyStopIteration::new_err(()))
    }
}
