//! `imap list [PATTERN]`: mailboxes, their attributes and, with
//! `--status`, their message counts.

use clap::Args;
use imaplib::imaplib_proto::utf7;
use imaplib::Status;
use serde_json::{Map, Value};

use crate::connect::Resolved;
use crate::exit::{print_out, CliError, CliResult, Exit};
use crate::values::{self, ListEntry};

/// Special-use attributes (RFC 6154).
const SPECIAL_USE: &[&str] = &[
    "\\All",
    "\\Archive",
    "\\Drafts",
    "\\Flagged",
    "\\Junk",
    "\\Sent",
    "\\Trash",
];

/// Options of `imap list`.
#[derive(Args, Debug, Clone)]
pub struct ListArgs {
    /// Which mailboxes: `*` every level, `%` one level (e.g. 'Archive/%').
    #[arg(value_name = "PATTERN", default_value = "*")]
    pub pattern: String,
    /// LIST's reference name (the first argument of the command).
    #[arg(long, value_name = "NAME")]
    pub reference: Option<String>,
    /// Also show each mailbox's message and unseen counts (STATUS).
    #[arg(long)]
    pub status: bool,
    /// One JSON object per mailbox instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One mailbox to show.
struct Row {
    entry: ListEntry,
    name: String,
    counts: Option<(u64, u64)>,
}

/// False for `\Noselect` and `\NonExistent` mailboxes (no STATUS).
fn is_selectable(e: &ListEntry) -> bool {
    !e.attributes
        .iter()
        .any(|a| a.eq_ignore_ascii_case("\\Noselect") || a.eq_ignore_ascii_case("\\NonExistent"))
}

/// The mailbox's special-use attribute (RFC 6154), if any.
fn special_use(e: &ListEntry) -> Option<&str> {
    e.attributes
        .iter()
        .find(|a| SPECIAL_USE.iter().any(|s| s.eq_ignore_ascii_case(a)))
        .map(String::as_str)
}

/// Runs `imap list`.
pub fn run(args: &ListArgs, conn: &Resolved) -> CliResult<()> {
    if conn.mailbox.is_some() {
        return Err(CliError::usage(
            "imap list takes a PATTERN, not a mailbox in the URL",
        ));
    }
    let mut m = conn.connect()?;
    conn.login(&mut m, true)?;
    let reply = m
        .list(args.reference.as_deref(), Some(&args.pattern))
        .map_err(|e| CliError::imap("cannot list the mailboxes", &e))?;
    if reply.typ != Status::Ok {
        return Err(CliError::new(
            Exit::Server,
            format!(
                "cannot list the mailboxes: the server said NO: {}",
                reply
                    .data
                    .iter()
                    .filter_map(|d| d.as_bytes())
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ));
    }
    let entries = values::list_entries(&reply.data).map_err(|e| {
        CliError::new(
            Exit::Abort,
            format!("unexpected LIST data from the server: {e}"),
        )
    })?;
    let utf8 = m.utf8_enabled();
    let mut rows = Vec::new();
    for entry in entries {
        let name = if utf8 {
            String::from_utf8_lossy(&entry.raw_name).into_owned()
        } else {
            utf7::decode(&entry.raw_name)
                .unwrap_or_else(|_| String::from_utf8_lossy(&entry.raw_name).into_owned())
        };
        let mut counts = None;
        if args.status && is_selectable(&entry) {
            let reply = m
                .status(&entry.raw_name, "(MESSAGES UNSEEN)")
                .map_err(|e| CliError::imap(&format!("cannot get the status of {name}"), &e))?;
            if reply.typ == Status::Ok {
                let c = values::status_counts(&reply.data).map_err(|e| {
                    CliError::new(
                        Exit::Abort,
                        format!("unexpected STATUS data from the server: {e}"),
                    )
                })?;
                let get = |k: &str| c.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
                counts = Some((get("MESSAGES").unwrap_or(0), get("UNSEEN").unwrap_or(0)));
            } else {
                eprintln!("imap: warning: the server refused STATUS for {name}");
            }
        }
        rows.push(Row {
            entry,
            name,
            counts,
        });
    }
    let _ = m.logout();
    let mut out = String::new();
    if args.json {
        for r in &rows {
            let mut o = Map::new();
            o.insert("name".into(), Value::String(r.name.clone()));
            o.insert("raw_name".into(), crate::json::bytes(&r.entry.raw_name));
            o.insert(
                "delimiter".into(),
                r.entry.delimiter.clone().map_or(Value::Null, Value::String),
            );
            o.insert(
                "attributes".into(),
                Value::Array(
                    r.entry
                        .attributes
                        .iter()
                        .map(|a| Value::String(a.clone()))
                        .collect(),
                ),
            );
            o.insert(
                "special_use".into(),
                special_use(&r.entry).map_or(Value::Null, |s| Value::String(s.into())),
            );
            if args.status {
                let (messages, unseen) = match r.counts {
                    Some((m, u)) => (Value::from(m), Value::from(u)),
                    None => (Value::Null, Value::Null),
                };
                o.insert("messages".into(), messages);
                o.insert("unseen".into(), unseen);
            }
            out.push_str(&crate::json::line(&Value::Object(o)));
            out.push('\n');
        }
    } else {
        let width = rows
            .iter()
            .map(|r| r.name.chars().count())
            .max()
            .unwrap_or(0)
            .max(7);
        if args.status {
            out.push_str(&format!(
                "{:<width$}  {:>8}  {:>6}  ATTRIBUTES\n",
                "MAILBOX", "MESSAGES", "UNSEEN"
            ));
        }
        for r in &rows {
            let attrs = r.entry.attributes.join(" ");
            let line = if args.status {
                let (msgs, unseen) = match r.counts {
                    Some((m, u)) => (m.to_string(), u.to_string()),
                    None => ("-".into(), "-".into()),
                };
                format!("{:<width$}  {msgs:>8}  {unseen:>6}  {attrs}", r.name)
            } else {
                format!("{:<width$}  {attrs}", r.name)
            };
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    print_out(&out)
}
