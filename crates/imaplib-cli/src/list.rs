//! `imap list [PATTERN]`: mailboxes, their attributes and, with
//! `--status`, their message counts.

use clap::Args;
use imaplib::types::ListEntry;
use imaplib::ErrorKind;
use serde_json::{Map, Value};

use crate::connect::Resolved;
use crate::exit::{print_out, CliError, CliResult};
use crate::term::{pad, safe};

/// The widest the MAILBOX column is padded to; longer names overflow it.
const MAX_NAME_WIDTH: usize = 48;

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
    counts: Option<(u32, u32)>,
}

/// False for `\Noselect` and `\NonExistent` mailboxes (no STATUS).
fn is_selectable(e: &ListEntry) -> bool {
    !e.has_attribute("\\Noselect") && !e.has_attribute("\\NonExistent")
}

/// The delimiter as text (`None` for a flat namespace).
fn delimiter(e: &ListEntry) -> Option<String> {
    e.delimiter
        .map(|d| String::from_utf8_lossy(&[d]).into_owned())
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
    let entries = m
        .list_typed(args.reference.as_deref(), Some(&args.pattern))
        .map_err(|e| CliError::imap("cannot list the mailboxes", &e))?;
    let utf8 = m.utf8_enabled();
    let mut rows = Vec::new();
    for entry in entries {
        let name = if utf8 {
            entry.mailbox.name_utf8()
        } else {
            entry.mailbox.name()
        };
        let mut counts = None;
        if args.status && is_selectable(&entry) {
            match m.status_typed(&entry.mailbox.raw, "(MESSAGES UNSEEN)") {
                Ok(s) => counts = Some((s.messages().unwrap_or(0), s.unseen().unwrap_or(0))),
                Err(e) if e.kind() == ErrorKind::Error => eprintln!(
                    "imap: warning: no status for {}: {}",
                    safe(&name),
                    crate::exit::describe(&e)
                ),
                Err(e) => {
                    return Err(CliError::imap(
                        &format!("cannot get the status of {name}"),
                        &e,
                    ))
                }
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
            o.insert("raw_name".into(), crate::json::bytes(&r.entry.mailbox.raw));
            o.insert(
                "delimiter".into(),
                delimiter(&r.entry).map_or(Value::Null, Value::String),
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
                r.entry
                    .special_use()
                    .map_or(Value::Null, |s| Value::String(s.into())),
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
        // Names and attributes are the server's: shown escaped, and padded
        // by hand (a name may be longer than any format width).
        let names: Vec<_> = rows.iter().map(|r| safe(&r.name)).collect();
        let width = names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(7, MAX_NAME_WIDTH);
        if args.status {
            out.push_str(&format!(
                "{}  {:>8}  {:>6}  ATTRIBUTES\n",
                pad("MAILBOX", width),
                "MESSAGES",
                "UNSEEN"
            ));
        }
        for (r, name) in rows.iter().zip(&names) {
            let attrs = safe(&r.entry.attributes.join(" ")).into_owned();
            let name = pad(name, width);
            let line = if args.status {
                let (msgs, unseen) = match r.counts {
                    Some((m, u)) => (m.to_string(), u.to_string()),
                    None => ("-".into(), "-".into()),
                };
                format!("{name}  {msgs:>8}  {unseen:>6}  {attrs}")
            } else {
                format!("{name}  {attrs}")
            };
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    print_out(&out)
}
