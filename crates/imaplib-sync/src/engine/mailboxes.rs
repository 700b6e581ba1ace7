//! The mailboxes themselves: finding the Maildirs, following renames,
//! removing a mirrored mailbox, LIST pattern matching.

use super::*;

/// Mailboxes renamed on either side since the last sync. A saved state
/// whose mailbox is gone from a side is matched with a mailbox that side
/// has and no state knows: on the server by UIDVALIDITY (kept by RENAME),
/// here by the file names the state records. The other side is then
/// renamed to match, and the state moves to the new name. Done before
/// anything is created or deleted, and safe to interrupt: whatever step
/// was done last, the next run matches what is left the same way.
pub(super) fn follow_renames(
    m: &mut Imap4,
    opts: &SyncOptions,
    states: &StateDir,
    delimiter: Option<char>,
    server: &mut BTreeMap<String, ServerMailbox>,
    local_names: &mut BTreeSet<String>,
    reports: &mut Vec<MailboxReport>,
) -> Result<()> {
    let root = &opts.root;
    let saved = states.load_all().map_err(local("cannot read the state"))?;
    let known: BTreeSet<String> = saved
        .iter()
        .map(|s: &MailboxState| s.name.clone())
        .collect();
    let orphans: Vec<&MailboxState> = saved
        .iter()
        .filter(|s| !server.contains_key(&s.name) || !local_names.contains(&s.name))
        .collect();
    if orphans.is_empty() {
        return Ok(());
    }
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for st in orphans {
        let old = st.name.clone();
        let old_dir = root.join(names::path_of(&old, delimiter));
        let new_name = if !server.contains_key(&old) {
            // Renamed on the server? A new server mailbox with the same
            // UIDVALIDITY.
            let mut hit = None;
            for cand in server.keys() {
                if known.contains(cand) || taken.contains(cand) {
                    continue;
                }
                let wire = &server[cand].wire;
                let Ok(status) = m.status_typed(wire, "(UIDVALIDITY)") else {
                    continue;
                };
                let validity = status.items.iter().find_map(|i| match i {
                    imaplib::types::StatusItem::UidValidity(v) => Some(*v),
                    _ => None,
                });
                if validity == Some(st.uidvalidity) {
                    hit = Some(cand.clone());
                    break;
                }
            }
            let Some(new) = hit else { continue };
            let new_dir = root.join(names::path_of(&new, delimiter));
            if !opts.dry_run && old_dir.join("cur").is_dir() && !new_dir.exists() {
                if let Some(parent) = new_dir.parent() {
                    fs::create_dir_all(parent).map_err(local("cannot rename a Maildir"))?;
                }
                fs::rename(&old_dir, &new_dir).map_err(local("cannot rename a Maildir"))?;
            }
            local_names.remove(&old);
            local_names.insert(new.clone());
            new
        } else {
            // Renamed here? A new Maildir holding the state's files.
            let bases: HashSet<&str> = st.messages.values().map(|k| k.base.as_str()).collect();
            let mut hit = None;
            for cand in local_names.iter() {
                if known.contains(cand) || taken.contains(cand) || server.contains_key(cand) {
                    continue;
                }
                let md = Maildir::at(root.join(names::path_of(cand, delimiter)));
                let Ok(found) = md.scan() else { continue };
                let shared = found.keys().filter(|b| bases.contains(b.as_str())).count();
                if shared > 0 && shared * 2 >= bases.len() {
                    hit = Some(cand.clone());
                    break;
                }
            }
            let Some(new) = hit else { continue };
            let wire_new = utf7::encode(&new);
            if !opts.dry_run {
                answered(
                    m.rename(&server[&old].wire, &wire_new),
                    format!("cannot rename {old} to {new}"),
                )?;
            }
            server.remove(&old);
            server.insert(
                new.clone(),
                ServerMailbox {
                    name: new.clone(),
                    wire: wire_new,
                },
            );
            new
        };
        taken.insert(new_name.clone());
        let mut report = MailboxReport::new(&new_name);
        report.notes.push(format!("renamed from {old}"));
        if !opts.dry_run {
            let mut moved = st.clone();
            moved.name = new_name.clone();
            moved.path = names::path_of(&new_name, delimiter);
            states
                .save(&moved)
                .map_err(local("cannot save the state"))?;
            states
                .remove(&old)
                .map_err(local("cannot remove the state"))?;
        }
        reports.push(report);
    }
    Ok(())
}

/// Calls `found` with the path (relative to `root`) of every Maildir
/// under `root`.
pub(super) fn find_maildirs(
    root: &Path,
    rel: &Path,
    found: &mut impl FnMut(&Path),
) -> io::Result<()> {
    let dir = root.join(rel);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name();
        let Some(level) = name.to_str() else { continue };
        if names::is_reserved(level) {
            continue;
        }
        let sub = rel.join(level);
        if root.join(&sub).join("cur").is_dir() {
            found(&sub);
        }
        find_maildirs(root, &sub, found)?;
    }
    Ok(())
}

/// IMAP LIST pattern matching: `*` matches anything, `%` anything but the
/// delimiter.
pub fn matches(pattern: &str, name: &str, delimiter: Option<char>) -> bool {
    fn go(p: &[char], n: &[char], d: Option<char>) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..], d)),
            Some(('%', rest)) => (0..=n.len())
                .take_while(|&i| i == 0 || Some(n[i - 1]) != d)
                .any(|i| go(rest, &n[i..], d)),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..], d),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    if pattern.eq_ignore_ascii_case("INBOX") && name.eq_ignore_ascii_case("INBOX") {
        return true;
    }
    go(&p, &n, delimiter)
}

/// Removes a mirrored mailbox's messages and its `cur`, `new` and `tmp`
/// (and the directory, unless it holds the Maildirs of child mailboxes).
pub(super) fn remove_maildir(md: &Maildir, found: &HashMap<String, LocalMessage>) -> Result<()> {
    for msg in found.values() {
        remove_file(&msg.path)?;
    }
    for sub in ["tmp", "new", "cur"] {
        let dir = md.dir().join(sub);
        if let Ok(entries) = fs::read_dir(&dir) {
            for e in entries.flatten() {
                let _ = fs::remove_file(e.path());
            }
        }
        let _ = fs::remove_dir(&dir);
    }
    let _ = fs::remove_dir(md.dir());
    Ok(())
}
