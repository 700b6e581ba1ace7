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
        // Python 3.14's imaplib knows IDLE (its `idle()`).
        let idle: &[&str] = if py.version_info() >= (3, 14) {
            &["IDLE"]
        } else {
            &[]
        };
        for name in COMMAND_NAMES.iter().chain(idle) {
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
        "IDLING" => State::Idling,
        _ => return None,
    })
}

/// The SSL context used when the caller gives none: the module's
/// `_default_ssl_context()`, looked up at each use.
pub(crate) fn default_ssl_context(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    py.import("imaplib_rs")?
        .getattr("_default_ssl_context")?
        .call0()
}

/// `_default_ssl_context()`: the SSL context for IMAP4_SSL and STARTTLS
/// when the caller gives none. It verifies certificates and host names
/// (`ssl.create_default_context()`); imaplib's own default verifies
/// neither.
#[pyfunction]
fn _default_ssl_context(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    py.import("ssl")?.call_method0("create_default_context")
}

/// The module's `_MAXLINE`, read at each use as imaplib reads it (tests
/// patch it).
pub(crate) fn max_line(py: Python<'_>) -> PyResult<usize> {
    let v: i64 = py.import("imaplib_rs")?.getattr("_MAXLINE")?.extract()?;
    Ok(usize::try_from(v).unwrap_or(0))
}

/// The bytes a module function takes; `str` raises imaplib's TypeError
/// (imaplib applies a bytes regex).
fn bytes_only(resp: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if resp.is_instance_of::<pyo3::types::PyString>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "cannot use a bytes pattern on a string-like object",
        ));
    }
    convert::bytes_arg(resp)
}

/// The fields of imaplib's INTERNALDATE pattern, found where imaplib's
/// regex finds them: on the first line, the last `INTERNALDATE "` that
/// is followed by a well-formed date.
fn internaldate_fields(resp: &[u8]) -> Option<[&[u8]; 10]> {
    const KEY: &[u8] = b"INTERNALDATE \"";
    let line = resp.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let digit = |b: u8| b.is_ascii_digit();
    let starts: Vec<usize> = (0..line.len().saturating_sub(KEY.len() - 1))
        .filter(|&i| line[i..].starts_with(KEY))
        .collect();
    starts.into_iter().rev().find_map(|i| {
        let d = line.get(i + KEY.len()..i + KEY.len() + 27)?;
        let ok = b" 0123".contains(&d[0])
            && digit(d[1])
            && d[2] == b'-'
            && d[3].is_ascii_uppercase()
            && d[4].is_ascii_lowercase()
            && d[5].is_ascii_lowercase()
            && d[6] == b'-'
            && d[7..11].iter().all(|&b| digit(b))
            && d[11] == b' '
            && digit(d[12])
            && digit(d[13])
            && d[14] == b':'
            && digit(d[15])
            && digit(d[16])
            && d[17] == b':'
            && digit(d[18])
            && digit(d[19])
            && d[20] == b' '
            && (d[21] == b'+' || d[21] == b'-')
            && d[22..26].iter().all(|&b| digit(b))
            && d[26] == b'"';
        ok.then(|| {
            [
                &d[0..2],
                &d[3..6],
                &d[7..11],
                &d[12..14],
                &d[15..17],
                &d[18..20],
                &d[21..22],
                &d[22..24],
                &d[24..26],
                &d[0..0],
            ]
        })
    })
}

/// `Internaldate2tuple(resp)`: the INTERNALDATE of a FETCH response as
/// local time (`time.struct_time`), or None; an unknown month name
/// raises KeyError, as in imaplib.
#[pyfunction]
#[pyo3(name = "Internaldate2tuple")]
fn internaldate2tuple(py: Python<'_>, resp: &Bound<'_, PyAny>) -> PyResult<PyObject> {
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let bytes = bytes_only(resp)?;
    let Some(f) = internaldate_fields(&bytes) else {
        return Ok(py.None());
    };
    let Some(month) = MONTHS.iter().position(|m| *m == f[1]) else {
        let key = pyo3::types::PyBytes::new(py, f[1]);
        return Err(pyo3::exceptions::PyKeyError::new_err(key.unbind()));
    };
    let num = |b: &[u8]| -> i64 {
        b.iter()
            .filter(|c| c.is_ascii_digit())
            .fold(0, |n, c| n * 10 + i64::from(c - b'0'))
    };
    let mut zone = (num(f[7]) * 60 + num(f[8])) * 60;
    if f[6] == b"-" {
        zone = -zone;
    }
    // calendar.timegm normalises out-of-range days as imaplib relies on.
    let tt = (
        num(f[2]),
        month as i64 + 1,
        num(f[0]),
        num(f[3]),
        num(f[4]),
        num(f[5]),
        -1,
        -1,
        -1,
    );
    let utc: i64 = py
        .import("calendar")?
        .call_method1("timegm", (tt,))?
        .extract()?;
    Ok(py
        .import("time")?
        .call_method1("localtime", (utc - zone,))?
        .unbind())
}

/// `Int2AP(num)`: the number in imaplib's letters A to P, as bytes
/// (`int(abs(num))`, so negative numbers and floats work as there).
#[pyfunction]
#[pyo3(name = "Int2AP")]
fn int2ap<'py>(
    py: Python<'py>,
    num: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    let builtins = py.import("builtins")?;
    let n = builtins
        .getattr("int")?
        .call1((builtins.getattr("abs")?.call1((num,))?,))?;
    let hex: String = builtins.getattr("format")?.call1((n, "x"))?.extract()?;
    let letters: Vec<u8> = hex
        .bytes()
        .filter(|&c| !(hex.len() == 1 && c == b'0'))
        .map(|c| {
            let v = (c as char).to_digit(16).unwrap_or(0) as u8;
            b'A' + v
        })
        .collect();
    Ok(pyo3::types::PyBytes::new(py, &letters))
}

/// `ParseFlags(resp)`: the flags of a FETCH response as a tuple of bytes.
#[pyfunction]
#[pyo3(name = "ParseFlags")]
fn parse_flags<'py>(py: Python<'py>, resp: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    let bytes = bytes_only(resp)?;
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
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("IMAP4_PORT", imaplib::IMAP4_PORT)?;
    m.add("IMAP4_SSL_PORT", imaplib::IMAP4_SSL_PORT)?;
    m.add("CRLF", pyo3::types::PyBytes::new(py, b"\r\n"))?;
    m.add("AllowedVersions", ("IMAP4REV1", "IMAP4"))?;
    m.add_function(wrap_pyfunction!(internaldate2tuple, m)?)?;
    m.add_function(wrap_pyfunction!(int2ap, m)?)?;
    m.add_function(wrap_pyfunction!(parse_flags, m)?)?;
    m.add_function(wrap_pyfunction!(time2internaldate, m)?)?;
    m.add_function(wrap_pyfunction!(install, m)?)?;
    m.add_function(wrap_pyfunction!(_default_ssl_context, m)?)?;
    m.add_class::<client::Base>()?;
    m.add_class::<client::Idler>()?;
    m.add_class::<client::Burst>()?;
    Ok(())
}
