//! Values between Python and the engine: arguments in, imaplib's
//! `(type, [data])` out.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::{FixedOffset, TimeZone};
use imaplib::{Data, DateInput, Reply};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple};

/// An argument given as `bytes`, `bytearray` or `str` (UTF-8).
pub(crate) fn bytes_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    if let Ok(b) = obj.downcast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "expected str or bytes, got {}",
        obj.get_type().name()?
    )))
}

/// imaplib's conversion of a command argument: `bytes` as given, `str`
/// encoded with the connection's `_encoding` (ASCII, or UTF-8 once
/// UTF8=ACCEPT is enabled; other text raises `UnicodeEncodeError`, as in
/// imaplib).
pub(crate) struct Enc(String);

impl Enc {
    /// The instance's `_encoding`.
    pub(crate) fn of(obj: &Bound<'_, PyAny>) -> PyResult<Enc> {
        let name = obj
            .getattr("_encoding")
            .and_then(|e| e.extract::<String>())
            .unwrap_or_else(|_| "ascii".to_string());
        Ok(Enc(name))
    }

    /// One argument; anything but `str` and bytes-like is refused with
    /// imaplib's TypeError.
    pub(crate) fn arg(&self, obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
        if obj.is_instance_of::<PyString>() {
            let b = obj.call_method1("encode", (self.0.as_str(),))?;
            return Ok(b.downcast::<PyBytes>()?.as_bytes().to_vec());
        }
        if let Ok(b) = obj.downcast::<PyBytes>() {
            return Ok(b.as_bytes().to_vec());
        }
        if let Ok(b) = obj.downcast::<PyByteArray>() {
            return Ok(b.to_vec());
        }
        Err(PyTypeError::new_err(format!(
            "can't concat {} to bytes",
            obj.get_type().name()?
        )))
    }

    /// An optional argument as text: `None` stays `None`.
    pub(crate) fn opt(&self, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
        match obj {
            Some(o) if !o.is_none() => {
                Ok(Some(String::from_utf8_lossy(&self.arg(o)?).into_owned()))
            }
            _ => Ok(None),
        }
    }

    /// An argument as text.
    pub(crate) fn text(&self, obj: &Bound<'_, PyAny>) -> PyResult<String> {
        Ok(String::from_utf8_lossy(&self.arg(obj)?).into_owned())
    }

    /// Every argument of a `*args` call that is not `None`.
    pub(crate) fn args(&self, args: &Bound<'_, PyTuple>) -> PyResult<Vec<Vec<u8>>> {
        args.iter()
            .filter(|a| !a.is_none())
            .map(|a| self.arg(&a))
            .collect()
    }
}

/// An argument as text (bytes must be UTF-8).
pub(crate) fn str_arg(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    String::from_utf8(bytes_arg(obj)?)
        .map_err(|_| PyValueError::new_err("argument is not valid UTF-8"))
}

/// An optional argument: `None` stays `None`.
pub(crate) fn opt_str(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    match obj {
        Some(o) if !o.is_none() => Ok(Some(str_arg(o)?)),
        _ => Ok(None),
    }
}

/// Every argument of a `*args` call that is not `None`, as bytes.
pub(crate) fn args_bytes(args: &Bound<'_, PyTuple>) -> PyResult<Vec<Vec<u8>>> {
    args.iter()
        .filter(|a| !a.is_none())
        .map(|a| bytes_arg(&a))
        .collect()
}

/// One data item as imaplib gives it: bytes, `(bytes, bytes)` or None.
pub(crate) fn data_to_py(py: Python<'_>, d: &Data) -> PyResult<PyObject> {
    Ok(match d {
        Data::None => py.None(),
        Data::Line(b) => PyBytes::new(py, b).into_any().unbind(),
        Data::Literal { header, literal } => {
            PyTuple::new(py, [PyBytes::new(py, header), PyBytes::new(py, literal)])?
                .into_any()
                .unbind()
        }
        Data::List(items) => {
            let list = PyList::empty(py);
            for i in items {
                list.append(data_to_py(py, i)?)?;
            }
            list.into_any().unbind()
        }
    })
}

/// A list of data items.
pub(crate) fn data_list(py: Python<'_>, items: &[Data]) -> PyResult<Py<PyList>> {
    let list = PyList::empty(py);
    for d in items {
        list.append(data_to_py(py, d)?)?;
    }
    Ok(list.unbind())
}

/// imaplib's `(typ, data)`.
pub(crate) fn reply_to_py(py: Python<'_>, reply: &Reply) -> PyResult<PyObject> {
    let typ = reply.typ.to_string();
    Ok(PyTuple::new(
        py,
        [
            PyString::new(py, &typ).into_any().unbind(),
            data_list(py, &reply.data)?.into_any(),
        ],
    )?
    .into_any()
    .unbind())
}

/// [`reply_to_py`] taking the reply: each item's bytes are freed as soon
/// as its Python copy exists, so a large FETCH is not held twice.
pub(crate) fn reply_into_py(py: Python<'_>, reply: Reply) -> PyResult<PyObject> {
    let typ = PyString::new(py, &reply.typ.to_string());
    let list = PyList::empty(py);
    for d in reply.data {
        list.append(data_to_py(py, &d)?)?;
    }
    Ok(PyTuple::new(py, [typ.into_any(), list.into_any()])?
        .into_any()
        .unbind())
}

/// A data item a caller left in `untagged_responses`, back to the engine.
pub(crate) fn py_to_data(obj: &Bound<'_, PyAny>) -> PyResult<Data> {
    if obj.is_none() {
        return Ok(Data::None);
    }
    if let Ok(t) = obj.downcast::<PyTuple>() {
        if t.len() == 2 {
            return Ok(Data::Literal {
                header: Bytes::from(bytes_arg(&t.get_item(0)?)?),
                literal: Bytes::from(bytes_arg(&t.get_item(1)?)?),
            });
        }
    }
    if let Ok(l) = obj.downcast::<PyList>() {
        return Ok(Data::List(
            l.iter().map(|i| py_to_data(&i)).collect::<PyResult<_>>()?,
        ));
    }
    Ok(Data::Line(Bytes::from(bytes_arg(obj)?)))
}

/// `untagged_responses` (a dict of lists) for the engine.
pub(crate) fn dict_to_store(dict: &Bound<'_, PyDict>) -> PyResult<HashMap<String, Vec<Data>>> {
    let mut out = HashMap::with_capacity(dict.len());
    for (k, v) in dict.iter() {
        let name = str_arg(&k)?.to_ascii_uppercase();
        let items = match v.downcast::<PyList>() {
            Ok(list) => list
                .iter()
                .map(|i| py_to_data(&i))
                .collect::<PyResult<_>>()?,
            Err(_) => vec![py_to_data(&v)?],
        };
        out.insert(name, items);
    }
    Ok(out)
}

/// Fills `dict` (in place: callers keep references to it) with the
/// engine's store.
pub(crate) fn store_to_dict(
    py: Python<'_>,
    dict: &Bound<'_, PyDict>,
    store: &HashMap<String, Vec<Data>>,
) -> PyResult<()> {
    dict.clear();
    for (name, items) in store {
        dict.set_item(name, data_list(py, items)?)?;
    }
    Ok(())
}

/// imaplib's accepted forms of a date-time (`Time2Internaldate`, APPEND):
/// seconds since the epoch, a time tuple or `struct_time`, an aware
/// `datetime`, or a string already in double quotes.
pub(crate) fn date_input(obj: &Bound<'_, PyAny>) -> PyResult<DateInput> {
    let py = obj.py();
    let unknown = || PyValueError::new_err("date_time not of a known type");
    if obj.is_instance_of::<pyo3::types::PyInt>() || obj.is_instance_of::<pyo3::types::PyFloat>() {
        // The local zone as Python sees it now (callers change TZ and call
        // time.tzset()), as imaplib does.
        let dt = py.import("datetime")?;
        let utc = dt.getattr("timezone")?.getattr("utc")?;
        let aware = dt
            .getattr("datetime")?
            .call_method1("fromtimestamp", (obj, utc))?
            .call_method0("astimezone")?;
        return date_input(&aware);
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        let s = s.to_cow()?;
        if s.is_empty() {
            // imaplib looks at date_time[0] first.
            return Err(pyo3::exceptions::PyIndexError::new_err(
                "string index out of range",
            ));
        }
        if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') || s == "\"" {
            return Ok(DateInput::Quoted(s.to_string()));
        }
        return Err(unknown());
    }
    let dt = py.import("datetime")?;
    let datetime = dt.getattr("datetime")?;
    if obj.is_instance(&datetime)? {
        let offset = obj.call_method0("utcoffset")?;
        if offset.is_none() {
            return Err(PyValueError::new_err("date_time must be aware"));
        }
        let seconds: f64 = offset.call_method0("total_seconds")?.extract()?;
        let fields: [u32; 6] = [
            obj.getattr("year")?.extract()?,
            obj.getattr("month")?.extract()?,
            obj.getattr("day")?.extract()?,
            obj.getattr("hour")?.extract()?,
            obj.getattr("minute")?.extract()?,
            obj.getattr("second")?.extract()?,
        ];
        return fixed(fields, seconds as i32);
    }
    if obj.is_instance_of::<PyTuple>() {
        // imaplib's steps, in Python, so that odd tuples fail as there.
        let gmtoff = match obj.getattr("tm_gmtoff") {
            Ok(g) => g,
            Err(_) => {
                let time = py.import("time")?;
                if time.getattr("daylight")?.is_truthy()? {
                    let mut dst = obj.get_item(8)?;
                    if dst.eq(-1)? {
                        let secs = time.call_method1("mktime", (obj,))?;
                        dst = time.call_method1("localtime", (secs,))?.get_item(8)?;
                    }
                    let zones =
                        PyTuple::new(py, [time.getattr("timezone")?, time.getattr("altzone")?])?;
                    zones.as_any().get_item(dst)?.neg()?
                } else {
                    time.getattr("timezone")?.neg()?
                }
            }
        };
        let kwargs = PyDict::new(py);
        kwargs.set_item("seconds", gmtoff)?;
        let delta = dt.getattr("timedelta")?.call((), Some(&kwargs))?;
        let zone = dt.getattr("timezone")?.call1((delta,))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("tzinfo", zone)?;
        let first = obj.get_item(pyo3::types::PySlice::new(py, 0, 6, 1))?;
        let first = first.downcast::<PyTuple>()?;
        let aware = datetime.call(first, Some(&kwargs))?;
        return date_input(&aware);
    }
    Err(unknown())
}

fn fixed(f: [u32; 6], offset_seconds: i32) -> PyResult<DateInput> {
    let bad = || PyValueError::new_err("date_time is not a valid date and time");
    let zone = FixedOffset::east_opt(offset_seconds).ok_or_else(bad)?;
    let year = i32::try_from(f[0]).map_err(|_| bad())?;
    let dt = zone
        .with_ymd_and_hms(year, f[1], f[2], f[3], f[4], f[5])
        .single()
        .ok_or_else(bad)?;
    Ok(DateInput::DateTime(dt))
}
