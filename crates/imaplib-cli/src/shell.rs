//! `imap shell`: imaplib calls, one per line, from a terminal (with line
//! editing and history), a file or stdin; each result printed readably or
//! as one JSON object per call.

use std::io::{BufRead, IsTerminal as _, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use imaplib::{Data, DateInput, Imap4, Reply, State};
use serde_json::{Map, Value};

use crate::connect::{self, Resolved};
use crate::exit::{describe, one_line, output_error, print_out, CliError, CliResult, Exit};
use crate::json;
use crate::words::{self, Word};

/// Options of `imap shell`.
#[derive(Args, Debug, Clone)]
pub struct ShellArgs {
    /// Read the calls from this file ("-": standard input). Default: the
    /// terminal when there is one, else standard input.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Print each result as one JSON object on its own line.
    #[arg(long)]
    pub json: bool,
    /// Stop at the first call that fails (like `sh -e`).
    #[arg(short = 'e', long)]
    pub exit_on_error: bool,
    /// Do not log in with --user: leave that to `login` or `authenticate`
    /// calls (which take --user and the password options).
    #[arg(long)]
    pub no_login: bool,
}

/// The calls the shell runs itself (not in the library's list of plain
/// commands), with their arguments, for `help`.
const SPECIAL_METHODS: &[(&str, &str)] = &[
    ("append", "mailbox flags date_time message"),
    (
        "authenticate",
        "mechanism   (credentials from --user and the password options)",
    ),
    ("enable", "capability"),
    (
        "idle",
        "[seconds]   (without seconds: until the first response)",
    ),
    ("list", "[directory [pattern]]"),
    ("login", "user password"),
    ("login_cram_md5", "user password"),
    ("logout", ""),
    ("lsub", "[directory [pattern]]"),
    ("open", "[host [port]]"),
    ("read", "size"),
    ("readline", ""),
    ("recent", ""),
    ("response", "code"),
    ("search", "charset criterion..."),
    ("select", "[mailbox [readonly]]"),
    ("send", "data"),
    ("shutdown", ""),
    ("starttls", ""),
    ("xatom", "name arg..."),
];

/// The plain commands' names and arguments, from the library's list of
/// them (the one `plain_call` runs): `name...` for the rest of the line.
macro_rules! plain_help {
    ($( $(#[$doc:meta])* $name:ident ( $($args:tt)* ) => $build:expr ; )*) => {
        /// The plain commands, for `help`.
        fn plain_methods() -> Vec<(&'static str, String)> {
            vec![$(
                (
                    stringify!($name).trim_start_matches("r#"),
                    plain_help!(@args [] $($args)*),
                ),
            )*]
        }
    };
    (@args [$($done:expr),*]) => {{
        let words: Vec<String> = vec![$($done.to_string()),*];
        words.join(" ")
    }};
    (@args [$($done:expr),*] $a:ident : impl IntoIterator<Item = impl AsRef<[u8]>>) => {
        plain_help!(@args [$($done,)* concat!(stringify!($a), "...")])
    };
    (@args [$($done:expr),*] $a:ident : $t:ty $(, $($rest:tt)*)?) => {
        plain_help!(@args [$($done,)* stringify!($a)] $($($rest)*)?)
    };
}

imaplib::__imaplib_simple_commands!(plain_help);

/// Every call the shell knows, with its arguments, sorted by name.
fn methods() -> Vec<(&'static str, String)> {
    let mut all: Vec<(&'static str, String)> = SPECIAL_METHODS
        .iter()
        .map(|(name, args)| (*name, args.to_string()))
        .collect();
    for (name, args) in plain_methods() {
        if !all.iter().any(|(n, _)| *n == name) {
            all.push((name, args));
        }
    }
    all.sort();
    all
}

/// Attributes of the connection that a line may name (imaplib's).
const ATTRIBUTES: &[&str] = &[
    "PROTOCOL_VERSION",
    "capabilities",
    "debug",
    "host",
    "is_readonly",
    "port",
    "state",
    "tagpre",
    "untagged_responses",
    "utf8_enabled",
    "welcome",
];

/// The help text printed by `help`.
fn help_text() -> String {
    let mut s = String::from(
        "One imaplib call per line: a method name and its arguments, split like a POSIX \
         shell\n(quote every argument that holds a space or a backslash: '(FLAGS UID)', '(\\Seen)').\n\
         None = no argument, True/False = booleans, @PATH = the bytes of a file (quote them \
         to mean the text).\n\nMethods:\n",
    );
    for (name, args) in methods() {
        s.push_str(&format!("  {name} {args}\n"));
    }
    s.push_str("\nAttributes: ");
    s.push_str(&ATTRIBUTES.join(" "));
    s.push_str("\nAlso: help, quit (or end of input)\n");
    s
}

/// One argument after conversion.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// `None`.
    None,
    /// `True` or `False`.
    Bool(bool),
    /// Text, or the bytes of an `@PATH` file.
    Bytes(Vec<u8>),
}

/// Converts a word: unquoted `None`, `True`, `False` and `@PATH` are
/// special; everything else is its text.
fn convert(word: &Word) -> Result<Arg, String> {
    if word.quoted {
        return Ok(Arg::Bytes(word.text.clone().into_bytes()));
    }
    match word.text.as_str() {
        "None" => Ok(Arg::None),
        "True" => Ok(Arg::Bool(true)),
        "False" => Ok(Arg::Bool(false)),
        t if t.len() > 1 && t.starts_with('@') => std::fs::read(&t[1..])
            .map(Arg::Bytes)
            .map_err(|e| format!("cannot read {}: {e}", &t[1..])),
        t => Ok(Arg::Bytes(t.as_bytes().to_vec())),
    }
}

/// The arguments of one call, with typed accessors that explain misuse.
struct Call {
    name: String,
    args: Vec<Arg>,
}

impl Call {
    /// Checks the number of arguments against the method's signature.
    fn arity(&self, min: usize, max: Option<usize>) -> Result<(), String> {
        let n = self.args.len();
        let ok = n >= min && max.is_none_or(|m| n <= m);
        if ok {
            return Ok(());
        }
        let sig = methods()
            .into_iter()
            .find(|(m, _)| *m == self.name)
            .map(|(_, s)| s)
            .unwrap_or_default();
        let wanted = match max {
            Some(m) if m == min => format!("{min}"),
            Some(m) => format!("{min} to {m}"),
            None => format!("at least {min}"),
        };
        let hint = if max.is_some_and(|m| n > m) {
            "; quote an argument that holds spaces, e.g. '(FLAGS UID)'"
        } else {
            ""
        };
        Err(format!(
            "{} takes {wanted} argument(s) ({}), got {n}{hint}",
            self.name,
            if sig.is_empty() { "none" } else { &sig }
        ))
    }

    /// Argument `i` as bytes; it must be given and not `None`.
    fn bytes(&self, i: usize, what: &str) -> Result<&[u8], String> {
        match self.args.get(i) {
            Some(Arg::Bytes(b)) => Ok(b),
            Some(Arg::None) | None => Err(format!("{}: {what} may not be None", self.name)),
            Some(Arg::Bool(_)) => Err(format!("{}: {what} must be text, not a boolean", self.name)),
        }
    }

    /// Argument `i` as UTF-8 text.
    fn text(&self, i: usize, what: &str) -> Result<&str, String> {
        std::str::from_utf8(self.bytes(i, what)?)
            .map_err(|_| format!("{}: {what} must be UTF-8 text", self.name))
    }

    /// Argument `i` as text, `None` when absent or `None`.
    fn opt_text(&self, i: usize, what: &str) -> Result<Option<&str>, String> {
        match self.args.get(i) {
            Some(Arg::None) | None => Ok(None),
            _ => self.text(i, what).map(Some),
        }
    }

    /// Argument `i` as `True`/`False`, `default` when absent or `None`.
    fn boolean(&self, i: usize, what: &str, default: bool) -> Result<bool, String> {
        match self.args.get(i) {
            Some(Arg::Bool(b)) => Ok(*b),
            Some(Arg::None) | None => Ok(default),
            Some(Arg::Bytes(_)) => Err(format!("{}: {what} must be True or False", self.name)),
        }
    }

    /// Argument `i` as a non-negative number, `None` when absent.
    fn number(&self, i: usize, what: &str) -> Result<Option<f64>, String> {
        match self.args.get(i) {
            Some(Arg::None) | None => Ok(None),
            _ => {
                let t = self.text(i, what)?;
                t.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && (0.0..=1e9).contains(v))
                    .map(Some)
                    .ok_or_else(|| format!("{}: {what} must be a number, not {t:?}", self.name))
            }
        }
    }

    /// Arguments from `i` on, `None`s left out (as imaplib leaves them out).
    fn rest(&self, i: usize) -> Result<Vec<&[u8]>, String> {
        let mut out = Vec::new();
        for (k, a) in self.args.iter().enumerate().skip(i) {
            match a {
                Arg::None => {}
                Arg::Bytes(b) => out.push(b.as_slice()),
                Arg::Bool(_) => {
                    return Err(format!(
                        "{}: argument {} must be text, not a boolean",
                        self.name,
                        k + 1
                    ))
                }
            }
        }
        Ok(out)
    }
}

/// What a call produced.
enum Outcome {
    /// imaplib's `(typ, data)`.
    Reply(String, Vec<Data>),
    /// IDLE's reply and the responses received while idling.
    Idle(Reply, Vec<(String, Vec<Data>)>),
    /// Another value (attributes, `read`...).
    Value(Value),
    /// The library raised an error.
    Failed(imaplib::Error),
    /// The line could not be run.
    Usage(String),
}

/// The outcome of a method returning `(typ, data)`.
fn reply(r: imaplib::Result<Reply>) -> Outcome {
    match r {
        Ok(r) => Outcome::Reply(r.typ.as_str().to_string(), r.data),
        Err(e) => Outcome::Failed(e),
    }
}

/// The outcome of a method returning nothing (imaplib's `None`).
fn unit(r: imaplib::Result<()>) -> Outcome {
    match r {
        Ok(()) => Outcome::Value(Value::Null),
        Err(e) => Outcome::Failed(e),
    }
}

/// The plain commands, one dispatch each, generated from the library's
/// list of them (the same list both clients' methods come from): each
/// argument is converted by its type there (bytes, text, optional text, a
/// flag, or the rest of the line), after the number of arguments is
/// checked.
macro_rules! plain_dispatch {
    ($( $(#[$doc:meta])* $name:ident ( $($args:tt)* ) => $build:expr ; )*) => {
        /// Runs `c` when it names one of the plain commands.
        fn plain_call(m: &mut Imap4, c: &Call) -> Option<Result<Outcome, String>> {
            $(
                if c.name == stringify!($name).trim_start_matches("r#") {
                    let mut run = || -> Result<Outcome, String> {
                        plain_args!(c, m, $name, 0usize, []; $($args)*)
                    };
                    return Some(run());
                }
            )*
            None
        }
    };
}

/// Converts a plain command's arguments one by one, then calls it.
macro_rules! plain_args {
    ($c:ident, $m:ident, $name:ident, $n:expr, [$($v:expr),*]; ) => {{
        $c.arity($n, Some($n))?;
        Ok(reply($m.$name($($v),*)))
    }};
    ($c:ident, $m:ident, $name:ident, $n:expr, [$($v:expr),*];
     $a:ident : impl AsRef<[u8]> $(, $($rest:tt)*)?) => {
        plain_args!($c, $m, $name, $n + 1, [$($v,)* $c.bytes($n, stringify!($a))?]; $($($rest)*)?)
    };
    ($c:ident, $m:ident, $name:ident, $n:expr, [$($v:expr),*];
     $a:ident : &str $(, $($rest:tt)*)?) => {
        plain_args!($c, $m, $name, $n + 1, [$($v,)* $c.text($n, stringify!($a))?]; $($($rest)*)?)
    };
    ($c:ident, $m:ident, $name:ident, $n:expr, [$($v:expr),*];
     $a:ident : Option<&str> $(, $($rest:tt)*)?) => {
        plain_args!($c, $m, $name, $n + 1, [$($v,)* $c.opt_text($n, stringify!($a))?]; $($($rest)*)?)
    };
    ($c:ident, $m:ident, $name:ident, $n:expr, [$($v:expr),*];
     $a:ident : bool $(, $($rest:tt)*)?) => {
        plain_args!($c, $m, $name, $n + 1, [$($v,)* $c.boolean($n, stringify!($a), false)?]; $($($rest)*)?)
    };
    // The rest of the line, always last: at least the arguments before it.
    ($c:ident, $m:ident, $name:ident, $n:expr, [$($v:expr),*];
     $a:ident : impl IntoIterator<Item = impl AsRef<[u8]>>) => {{
        $c.arity($n, None)?;
        Ok(reply($m.$name($($v,)* $c.rest($n)?)))
    }};
}

imaplib::__imaplib_simple_commands!(plain_dispatch);

/// Runs one call.
fn call(m: &mut Imap4, c: &Call, conn: &Resolved) -> Result<Outcome, String> {
    let name = c.name.as_str();
    // The plain commands come from the library's own list, but for those
    // whose imaplib defaults need saying here (LIST, LSUB, SELECT).
    if !matches!(name, "list" | "lsub" | "select") {
        if let Some(outcome) = plain_call(m, c) {
            return outcome;
        }
    }
    let none = |c: &Call| c.arity(0, Some(0));
    Ok(match name {
        "append" => {
            c.arity(4, Some(4))?;
            let date = match &c.args[2] {
                Arg::None => None,
                Arg::Bool(_) => return Err("append: date_time must be text".into()),
                Arg::Bytes(_) => {
                    let t = c.text(2, "date_time")?;
                    Some(match t.parse::<f64>() {
                        Ok(ts) => DateInput::Timestamp(ts),
                        Err(_) => DateInput::Quoted(t.to_string()),
                    })
                }
            };
            let mailbox = c.opt_text(0, "mailbox")?;
            let flags = c.opt_text(1, "flags")?;
            let message = c.bytes(3, "message")?;
            reply(m.append(mailbox, flags, date, message))
        }
        "authenticate" => {
            c.arity(1, Some(1))?;
            let mech = c.text(0, "mechanism")?.to_ascii_uppercase();
            if !connect::MECHANISMS.contains(&mech.as_str()) {
                return Err(format!(
                    "authenticate: unsupported mechanism {mech} (use one of {})",
                    connect::MECHANISMS.join(", ")
                ));
            }
            let (user, password) = conn.credentials().map_err(|e| e.message)?;
            reply(connect::authenticate(m, Some(&mech), &user, &password))
        }
        "enable" => {
            c.arity(1, Some(1))?;
            reply(m.enable(c.text(0, "capability")?))
        }
        "idle" => {
            c.arity(0, Some(1))?;
            let seconds = c.number(0, "seconds")?;
            let result = match seconds {
                Some(s) => m.idle(Some(Duration::from_secs_f64(s)), |_, _| false),
                None => m.idle(None, |_, _| true),
            };
            match result {
                Ok(r) => Outcome::Idle(r.reply, r.responses),
                Err(e) => Outcome::Failed(e),
            }
        }
        "list" | "lsub" => {
            c.arity(0, Some(2))?;
            let dir = c.opt_text(0, "directory")?;
            let pat = c.opt_text(1, "pattern")?;
            if name == "list" {
                reply(m.list(dir, pat))
            } else {
                reply(m.lsub(dir, pat))
            }
        }
        "login" => {
            c.arity(2, Some(2))?;
            reply(m.login(c.bytes(0, "user")?, c.bytes(1, "password")?))
        }
        "login_cram_md5" => {
            c.arity(2, Some(2))?;
            reply(m.login_cram_md5(c.text(0, "user")?, c.text(1, "password")?))
        }
        "logout" => {
            none(c)?;
            reply(m.logout())
        }
        "open" => {
            c.arity(0, Some(2))?;
            let host = c.opt_text(0, "host")?.unwrap_or("").to_string();
            let port = match c.number(1, "port")? {
                Some(p) if p.fract() == 0.0 && p <= 65535.0 => p as u16,
                Some(p) => return Err(format!("open: {p} is not a port")),
                None => 0,
            };
            let (host, port) = match (&conn.target, host.is_empty()) {
                (connect::Target::Tcp { host, port: p, .. }, true) => {
                    (host.clone(), if port == 0 { *p } else { port })
                }
                _ => (host, port),
            };
            unit(m.open(&host, port))
        }
        "read" => {
            c.arity(1, Some(1))?;
            let size = c
                .number(0, "size")?
                .filter(|s| s.fract() == 0.0 && *s <= 1e9)
                .ok_or("read: size must be a whole number of bytes")?;
            match m.read(size as usize) {
                Ok(b) => Outcome::Value(json::bytes(&b)),
                Err(e) => Outcome::Failed(e),
            }
        }
        "readline" => {
            none(c)?;
            match m.readline() {
                Ok(b) => Outcome::Value(json::bytes(&b)),
                Err(e) => Outcome::Failed(e),
            }
        }
        "recent" => {
            none(c)?;
            reply(m.recent())
        }
        "response" => {
            c.arity(1, Some(1))?;
            let (code, data) = m.response(c.text(0, "code")?);
            Outcome::Reply(code, data)
        }
        "search" => {
            c.arity(1, None)?;
            reply(m.search(c.opt_text(0, "charset")?, c.rest(1)?))
        }
        "select" => {
            c.arity(0, Some(2))?;
            let mailbox = match c.args.first() {
                Some(Arg::None) | None => b"INBOX".as_slice(),
                _ => c.bytes(0, "mailbox")?,
            };
            reply(m.select(mailbox, c.boolean(1, "readonly", false)?))
        }
        "send" => {
            c.arity(1, Some(1))?;
            unit(m.send(c.bytes(0, "data")?))
        }
        "shutdown" => {
            none(c)?;
            unit(m.shutdown())
        }
        "starttls" => {
            c.arity(0, Some(1))?;
            if !matches!(c.args.first(), None | Some(Arg::None)) {
                return Err(
                    "starttls: the TLS settings come from --ca-file and --insecure; pass no \
                     ssl_context"
                        .into(),
                );
            }
            reply(m.starttls(None))
        }
        "xatom" => {
            c.arity(1, None)?;
            reply(m.xatom(c.text(0, "name")?, c.rest(1)?))
        }
        attr if ATTRIBUTES.contains(&attr) => {
            none(c)?;
            Outcome::Value(attribute(m, attr))
        }
        other => {
            let hint = methods()
                .into_iter()
                .map(|(n, _)| n)
                .chain(ATTRIBUTES.iter().copied())
                .find(|n| n.eq_ignore_ascii_case(other));
            return Err(match hint {
                Some(n) => format!("unknown method {other:?} (did you mean {n}?)"),
                None => format!("unknown method {other:?} (`help` lists them)"),
            });
        }
    })
}

/// The value of one of imaplib's attributes.
fn attribute(m: &Imap4, name: &str) -> Value {
    match name {
        "PROTOCOL_VERSION" => Value::String(m.protocol_version().to_string()),
        "capabilities" => Value::Array(
            m.capabilities()
                .iter()
                .map(|c| Value::String(c.clone()))
                .collect(),
        ),
        "debug" => Value::from(m.debug()),
        "host" => Value::String(m.host().to_string()),
        "is_readonly" => Value::Bool(m.is_readonly()),
        "port" => Value::from(m.port()),
        "state" => Value::String(m.state().as_str().to_string()),
        "tagpre" => Value::String(m.tag_prefix().to_string()),
        "untagged_responses" => {
            let mut names: Vec<&String> = m.untagged_responses().keys().collect();
            names.sort();
            let mut map = Map::new();
            for n in names {
                map.insert(n.clone(), json::items(&m.untagged_responses()[n]));
            }
            Value::Object(map)
        }
        "utf8_enabled" => Value::Bool(m.utf8_enabled()),
        "welcome" => json::bytes(m.welcome()),
        _ => Value::Null,
    }
}

/// Bytes for a reader: printable text kept, other bytes escaped.
fn readable(b: &[u8]) -> String {
    let text = String::from_utf8_lossy(b);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Appends the readable form of one data item, indented.
fn print_item(out: &mut String, item: &Data, indent: usize) {
    let pad = " ".repeat(indent);
    match item {
        Data::None => out.push_str(&format!("{pad}None\n")),
        Data::Line(b) => out.push_str(&format!("{pad}{}\n", readable(b))),
        Data::Literal { header, literal } => {
            out.push_str(&format!("{pad}{}\n", readable(header)));
            let text = literal.strip_suffix(b"\r\n").unwrap_or(literal);
            for line in text.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                out.push_str(&format!("{pad}  | {}\n", readable(line)));
            }
        }
        Data::List(items) => {
            out.push_str(&format!("{pad}[\n"));
            for i in items {
                print_item(out, i, indent + 2);
            }
            out.push_str(&format!("{pad}]\n"));
        }
    }
}

/// The readable form of a result.
fn readable_outcome(o: &Outcome) -> String {
    let mut s = String::new();
    match o {
        Outcome::Reply(typ, data) => {
            s.push_str(typ);
            s.push('\n');
            for d in data {
                print_item(&mut s, d, 2);
            }
        }
        Outcome::Idle(r, responses) => {
            s.push_str(r.typ.as_str());
            s.push('\n');
            for d in &r.data {
                print_item(&mut s, d, 2);
            }
            for (name, data) in responses {
                s.push_str(&format!("  {}:\n", crate::term::safe(name)));
                for d in data {
                    print_item(&mut s, d, 4);
                }
            }
        }
        Outcome::Value(Value::String(v)) => {
            s.push_str(&readable(v.as_bytes()));
            s.push('\n');
        }
        Outcome::Value(v) => {
            s.push_str(&json::line(v));
            s.push('\n');
        }
        Outcome::Failed(_) | Outcome::Usage(_) => {}
    }
    s
}

/// The JSON form of a result.
fn json_outcome(o: &Outcome) -> Value {
    match o {
        Outcome::Reply(typ, data) => json::reply(typ, data),
        Outcome::Idle(r, responses) => {
            let mut v = json::reply(r.typ.as_str(), &r.data);
            if let Value::Object(m) = &mut v {
                m.insert(
                    "responses".into(),
                    Value::Array(
                        responses
                            .iter()
                            .map(|(n, d)| {
                                Value::Array(vec![Value::String(n.clone()), json::items(d)])
                            })
                            .collect(),
                    ),
                );
            }
            v
        }
        Outcome::Value(v) => json::result(v.clone()),
        Outcome::Failed(e) => json::error(json::kind_name(e.kind()), &describe(e)),
        Outcome::Usage(msg) => json::error("usage", msg),
    }
}

/// Where lines come from.
enum Lines {
    /// A terminal, with line editing and history.
    Terminal(Box<rustyline::DefaultEditor>),
    /// A file or a pipe.
    Reader(Box<dyn BufRead>),
}

impl Lines {
    /// The next line (or why it cannot be used); `None` at the end.
    fn next(&mut self, prompt: &str) -> CliResult<Option<Result<String, String>>> {
        match self {
            Lines::Terminal(editor) => match editor.readline(prompt) {
                Ok(line) => {
                    let secret = line.trim_start().starts_with("login");
                    if !line.trim().is_empty() && !secret {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    Ok(Some(Ok(line)))
                }
                Err(rustyline::error::ReadlineError::Interrupted) => Ok(Some(Ok(String::new()))),
                Err(rustyline::error::ReadlineError::Eof) => Ok(None),
                Err(e) => Err(CliError::local(format!("cannot read the terminal: {e}"))),
            },
            Lines::Reader(r) => {
                let mut buf = Vec::new();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) => Ok(None),
                    Ok(_) => {
                        if buf.last() == Some(&b'\n') {
                            buf.pop();
                        }
                        if buf.last() == Some(&b'\r') {
                            buf.pop();
                        }
                        Ok(Some(
                            String::from_utf8(buf)
                                .map_err(|_| "the line is not valid UTF-8".into()),
                        ))
                    }
                    Err(e) => Err(CliError::local(format!("cannot read the calls: {e}"))),
                }
            }
        }
    }
}

/// Runs the shell until the input ends, `quit`, or (non-interactively) a
/// lost connection.
pub fn run(args: &ShellArgs, conn: &Resolved) -> CliResult<()> {
    let mut lines = match &args.file {
        Some(p) if p.as_os_str() != "-" => {
            let f = std::fs::File::open(p)
                .map_err(|e| CliError::local(format!("cannot open {}: {e}", p.display())))?;
            Lines::Reader(Box::new(std::io::BufReader::new(f)))
        }
        Some(_) => Lines::Reader(Box::new(std::io::BufReader::new(std::io::stdin()))),
        None if std::io::stdin().is_terminal() => {
            let editor = rustyline::DefaultEditor::new()
                .map_err(|e| CliError::local(format!("cannot set up line editing: {e}")))?;
            Lines::Terminal(Box::new(editor))
        }
        None => Lines::Reader(Box::new(std::io::BufReader::new(std::io::stdin()))),
    };
    let interactive = matches!(lines, Lines::Terminal(_));
    let mut m = conn.connect()?;
    if !args.no_login {
        conn.login(&mut m, false)?;
    }
    if !conn.has_timeout() {
        // Calls such as `idle` may rightly wait for a long time.
        m.set_timeout(None)
            .map_err(|e| CliError::imap("cannot change the timeout", &e))?;
    }
    if interactive {
        eprintln!(
            "Connected to {} ({}, {}). Type `help` for the calls, Ctrl-D to leave.",
            conn.describe(),
            m.state(),
            m.protocol_version()
        );
    }
    let stdout = std::io::stdout();
    let mut worst = Exit::Ok;
    let mut number = 0usize;
    loop {
        let prompt = format!("imap {}> ", m.state());
        let Some(line) = lines.next(&prompt)? else {
            break;
        };
        number += 1;
        let words = match line.and_then(|line| words::split(&line).map(|w| (line, w))) {
            Ok(w) => w,
            Err(why) => {
                emit(&stdout, args.json, &Outcome::Usage(why.clone()))?;
                eprintln!("imap: line {number}: {why}");
                worst = worse(worst, Exit::Usage);
                if args.exit_on_error {
                    return Err(CliError::usage(format!(
                        "stopped at line {number} (malformed)"
                    )));
                }
                continue;
            }
        };
        let (line, words) = words;
        let Some((first, rest)) = words.split_first() else {
            continue;
        };
        match first.text.as_str() {
            "quit" | "exit" if rest.is_empty() => break,
            "help" => {
                let text = help_text();
                if args.json {
                    eprint!("{text}");
                } else {
                    print_out(&text)?;
                }
                continue;
            }
            _ => {}
        }
        if !args.json && !interactive {
            // Readable output from a file or a pipe: show which call each
            // result belongs to.
            print_out(&format!(">>> {}\n", line.trim()))?;
        }
        let converted: Result<Vec<Arg>, String> = rest.iter().map(convert).collect();
        let outcome = match converted {
            Ok(args) => {
                let c = Call {
                    name: first.text.clone(),
                    args,
                };
                call(&mut m, &c, conn).unwrap_or_else(Outcome::Usage)
            }
            Err(why) => Outcome::Usage(format!("{}: {why}", first.text)),
        };
        emit(&stdout, args.json, &outcome)?;
        let status = match &outcome {
            Outcome::Usage(msg) => {
                eprintln!("imap: line {number}: {msg}");
                Exit::Usage
            }
            Outcome::Failed(e) => {
                let status = if e.is_abort() {
                    Exit::Abort
                } else {
                    Exit::Server
                };
                eprintln!(
                    "imap: line {number}: {} {}: {}",
                    first.text,
                    json::kind_name(e.kind()),
                    one_line(&describe(e))
                );
                status
            }
            _ => Exit::Ok,
        };
        worst = worse(worst, status);
        if status != Exit::Ok && (args.exit_on_error || (status == Exit::Abort && !interactive)) {
            return Err(CliError::new(
                status,
                format!("stopped at line {number} ({})", first.text),
            ));
        }
    }
    if m.state() != State::Logout {
        let _ = m.logout();
    }
    if interactive || worst == Exit::Ok {
        return Ok(());
    }
    Err(CliError::new(
        worst,
        match worst {
            Exit::Usage => "some lines could not be run".to_string(),
            _ => "some calls raised an error".to_string(),
        },
    ))
}

/// The more telling of two statuses: usage errors first, then server
/// errors.
fn worse(a: Exit, b: Exit) -> Exit {
    let rank = |e: Exit| match e {
        Exit::Ok => 0,
        Exit::Server => 1,
        Exit::Usage => 2,
        _ => 3,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// Prints a result.
fn emit(stdout: &std::io::Stdout, as_json: bool, outcome: &Outcome) -> CliResult<()> {
    let text = if as_json {
        format!("{}\n", json::line(&json_outcome(outcome)))
    } else {
        readable_outcome(outcome)
    };
    let mut out = stdout.lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(output_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_of(line: &str) -> Call {
        let words = words::split(line).unwrap();
        Call {
            name: words[0].text.clone(),
            args: words[1..].iter().map(|w| convert(w).unwrap()).collect(),
        }
    }

    #[test]
    fn conversions() {
        let c = call_of("select None True 'None' \"True\"");
        assert_eq!(
            c.args,
            [
                Arg::None,
                Arg::Bool(true),
                Arg::Bytes(b"None".to_vec()),
                Arg::Bytes(b"True".to_vec())
            ]
        );
        assert!(convert(&words::split("@/no/such/file").unwrap()[0]).is_err());
        assert_eq!(
            convert(&words::split("'@x'").unwrap()[0]).unwrap(),
            Arg::Bytes(b"@x".to_vec())
        );
    }

    #[test]
    fn argument_checks_explain_themselves() {
        let c = call_of("fetch 1");
        assert_eq!(
            c.arity(2, Some(2)).unwrap_err(),
            "fetch takes 2 argument(s) (message_set message_parts), got 1"
        );
        let c = call_of("fetch None (FLAGS)");
        assert_eq!(
            c.bytes(0, "message_set").unwrap_err(),
            "fetch: message_set may not be None"
        );
        let c = call_of("select INBOX yes");
        assert!(c.boolean(1, "readonly", false).is_err());
        let c = call_of("search None ALL None SEEN");
        assert_eq!(c.rest(1).unwrap(), [b"ALL".as_slice(), b"SEEN"]);
        let c = call_of("idle x");
        assert!(c.number(0, "seconds").is_err());
    }

    #[test]
    fn readable_output() {
        let o = Outcome::Reply(
            "OK".into(),
            vec![
                Data::Literal {
                    header: bytes::Bytes::from_static(b"1 (BODY[] {9}"),
                    literal: bytes::Bytes::from_static(b"a\r\nb\x01\r\n"),
                },
                Data::from(")"),
                Data::None,
            ],
        );
        assert_eq!(
            readable_outcome(&o),
            "OK\n  1 (BODY[] {9}\n    | a\n    | b\\x01\n  )\n  None\n"
        );
    }
}
