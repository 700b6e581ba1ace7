//! `imaplib_rs`: Python's imaplib on the Rust engine.
//!
//! The native part of the package: the module functions and constants,
//! and the base class `_IMAP4` that holds an [`imaplib::Imap4`] running
//! over the instance's own socket (`io::PyIo`). The package's
//! `__init__.py` only declares the three classes with imaplib's
//! constructors and nested exception classes, which Python needs written
//! in Python.

mod client;
mod convert;
mod io;

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyTuple};

use imaplib::State;

/// imaplib's `Commands`: the module's mutable table, created once.
static COMMANDS: GILOnceCell<Py<PyDict>> = GILOnceCell::new();

/// Every command imaplib knows, with the states it is legal in.
const COMMAND_NAMES: &[&str] = &[
    "APPEND",
    "AUTHENTICATE",
    "CAPABILITY",
    "CHECK",
    "CLOSE",
    "COPY",
    "CREATE",
    "DELETE",
    "DELETEACL",
    "ENABLE",
    "EXAMINE",
    "EXPUNGE",
    "FETCH",
    "GETACL",
    "GETANNOTATION",
    "GETQUOTA",
    "GETQUOTAROOT",
    "MYRIGHTS",
    "LIST",
    "LOGIN",
    "LOGOUT",
    "LSUB",
    "MOVE",
    "NAMESPACE",
    "NOOP",
    "PARTIAL",
    "PROXYAUTH",
    "RENAME",
    "SEARCH",
    "SELECT",
    "SETACL",
    "SETANNOTATION",
    "SETQUOTA",
    "SORT",
    "STARTTLS",
    "STATUS",
    "STORE",
    "SUBSCRIBE",
    "THREAD",
    "UID",
    "UNSUBSCRIBE",
    "UNSELECT",
];

/// The module's `Commands` dict.
pub(crate) fn commands(py: Python<'_>) -> PyResult<&Bound<'_, PyDict>> {
    let dict = COMMANDS.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
        let d = PyDict::new(py);
        for name in COMMAND_NAMES {
            if let Some(states) = imaplib::imaplib_proto::state::allowed_states(name) {
                let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
                d.set_item(*name, PyTuple::new(py, names)?)?;
            }
        }
        Ok(d.unbind())
    })?;
    Ok(dict.bind(py))
}

/// imaplib's state name as a [`State`].
pub(crate) fn parse_state(name: &str) -> Option<State> {
    Some(match name {
        "NONAUTH" => State::NonAuth,
        "AUTH" => State::Auth,
        "SELECTED" => State::Selected,
        "LOGOUT" => State::Logout,
        _ => return None,
    })
}

/// The SSL context used when the caller gives none: certificates and host
/// names verified (imaplib's own default verifies neither).
pub(crate) fn default_ssl_context(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    py.import("ssl")?.call_method0("create_default_context")
}

/// `Internaldate2tuple(resp)`: the INTERNALDATE of a FETCH response as
/// local time (`time.struct_time`), or None.
#[pyfunction]
#[pyo3(name = "Internaldate2tuple")]
fn internaldate2tuple(py: Python<'_>, resp: &Bound<'_, PyAny>) -> PyResult<PyObject> {
    let bytes = convert::bytes_arg(resp)?;
    match imaplib::internaldate_to_tuple(&bytes) {
        Some(dt) => Ok(py
            .import("time")?
            .call_method1("localtime", (dt.timestamp(),))?
            .unbind()),
        None => Ok(py.None()),
    }
}

/// `Int2AP(num)`: the number in imaplib's letters A to P, as bytes.
#[pyfunction]
#[pyo3(name = "Int2AP")]
fn int2ap<'py>(py: Python<'py>, num: u64) -> Bound<'py, pyo3::types::PyBytes> {
    pyo3::types::PyBytes::new(py, &imaplib::int_to_ap(num))
}

/// `ParseFlags(resp)`: the flags of a FETCH response as a tuple of bytes.
#[pyfunction]
#[pyo3(name = "ParseFlags")]
fn parse_flags<'py>(py: Python<'py>, resp: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    let bytes = convert::bytes_arg(resp)?;
    let flags: Vec<Bound<'py, pyo3::types::PyBytes>> = imaplib::parse_flags(&bytes)
        .iter()
        .map(|f| pyo3::types::PyBytes::new(py, f))
        .collect();
    PyTuple::new(py, flags)
}

/// `Time2Internaldate(date_time)`: `'"DD-Mmm-YYYY HH:MM:SS +HHMM"'`.
#[pyfunction]
#[pyo3(name = "Time2Internaldate")]
fn time2internaldate(date_time: &Bound<'_, PyAny>) -> PyResult<String> {
    let input = convert::date_input(date_time)?;
    imaplib::time_to_internaldate(input).map_err(pyo3::exceptions::PyValueError::new_err)
}

/// Makes `import imaplib` give this module, for libraries built on
/// imaplib (IMAPClient, imap_tools): call it before importing them.
#[pyfunction]
fn install(py: Python<'_>) -> PyResult<()> {
    let me = py.import("imaplib_rs")?;
    py.import("sys")?
        .getattr("modules")?
        .set_item("imaplib", me)?;
    Ok(())
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Commands", commands(py)?)?;
    m.add("IMAP4_PORT", imaplib::IMAP4_PORT)?;
    m.add("IMAP4_SSL_PORT", imaplib::IMAP4_SSL_PORT)?;
    m.add("CRLF", pyo3::types::PyBytes::new(py, b"\r\n"))?;
    m.add("AllowedVersions", ("IMAP4REV1", "IMAP4"))?;
    m.add_function(wrap_pyfunction!(internaldate2tuple, m)?)?;
    m.add_function(wrap_pyfunction!(int2ap, m)?)?;
    m.add_function(wrap_pyfunction!(parse_flags, m)?)?;
    m.add_function(wrap_pyfunction!(time2internaldate, m)?)?;
    m.add_function(wrap_pyfunction!(install, m)?)?;
    m.add_class::<client::Base>()?;
    Ok(())
}
