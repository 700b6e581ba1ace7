//! Mailbox names and the directories that mirror them.
//!
//! A mailbox `Work/Projects 2026` (hierarchy delimiter `/`) is mirrored in
//! `DIR/Work/Projects 2026`: one directory per level, names in UTF-8
//! (modified UTF-7 decoded). Bytes a file name cannot hold are written as
//! `%XX`: `/`, `%`, NUL and control characters, and a leading `.` (so that
//! no mailbox can be `.`, `..` or the state directory). The mapping is
//! reversible, so that a directory made by hand becomes a mailbox.

use std::path::{Path, PathBuf};

/// The directory under the mirror's root that holds the engine's state.
pub const STATE_DIR: &str = ".imap-sync";

/// The relative path of the directory that mirrors `name`, a mailbox
/// name in UTF-8 whose levels are separated by `delimiter`.
pub fn path_of(name: &str, delimiter: Option<char>) -> PathBuf {
    let mut path = PathBuf::new();
    let levels: Vec<&str> = match delimiter {
        Some(d) => name.split(d).collect(),
        None => vec![name],
    };
    for level in levels {
        path.push(escape(level));
    }
    path
}

/// The mailbox name mirrored by the directory `rel` (relative to the
/// root), levels joined with `delimiter`; `None` when a level cannot be a
/// mailbox name (it holds the delimiter, or is not UTF-8).
pub fn name_of(rel: &Path, delimiter: Option<char>) -> Option<String> {
    let mut levels = Vec::new();
    for part in rel.components() {
        let level = unescape(part.as_os_str().to_str()?)?;
        if level.is_empty() || delimiter.is_some_and(|d| level.contains(d)) {
            return None;
        }
        levels.push(level);
    }
    if levels.is_empty() || (delimiter.is_none() && levels.len() > 1) {
        return None;
    }
    let sep = delimiter.map(String::from).unwrap_or_default();
    Some(levels.join(&sep))
}

fn escape(level: &str) -> String {
    let mut out = String::with_capacity(level.len());
    for (i, c) in level.chars().enumerate() {
        match c {
            '/' | '%' | '\0' => out.push_str(&format!("%{:02X}", c as u32)),
            '.' if i == 0 => out.push_str("%2E"),
            c if c.is_control() && (c as u32) < 0x100 => {
                out.push_str(&format!("%{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    if out.is_empty() {
        out.push_str("%00");
    }
    out
}

fn unescape(level: &str) -> Option<String> {
    let mut out = String::with_capacity(level.len());
    let mut chars = level.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            let hex: String = chars.by_ref().take(2).collect();
            let n = u8::from_str_radix(&hex, 16).ok()?;
            if n == 0 && out.is_empty() && chars.clone().next().is_none() {
                return Some(String::new());
            }
            out.push(char::from(n));
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// True for the names of a Maildir's own subdirectories and the state
/// directory, which never mirror a mailbox.
pub fn is_reserved(level: &str) -> bool {
    matches!(level, "cur" | "new" | "tmp" | STATE_DIR) || level.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchy_becomes_directories() {
        assert_eq!(path_of("INBOX", Some('/')), PathBuf::from("INBOX"));
        assert_eq!(
            path_of("Work/Ünïcødé 日本", Some('/')),
            PathBuf::from("Work/Ünïcødé 日本")
        );
        assert_eq!(path_of("a.b", Some('.')), PathBuf::from("a/b"));
        assert_eq!(path_of("a/b", Some('.')), PathBuf::from("a%2Fb"));
    }

    #[test]
    fn unsafe_names_are_escaped_and_come_back() {
        for (name, delim) in [
            (".hidden/..", Some('/')),
            ("100%/x", Some('/')),
            ("tab\there", None),
            ("a/b", None),
            ("Ünï.cødé", Some('.')),
        ] {
            let path = path_of(name, delim);
            for part in path.components() {
                let s = part.as_os_str().to_str().unwrap();
                assert!(!s.starts_with('.') && !s.contains('/'), "{name}: {path:?}");
            }
            assert_eq!(name_of(&path, delim).as_deref(), Some(name), "{path:?}");
        }
    }

    #[test]
    fn directories_that_cannot_be_names() {
        assert_eq!(name_of(Path::new("a/b"), None), None);
        assert_eq!(name_of(Path::new("a.b"), Some('.')), None);
        assert!(is_reserved("cur") && is_reserved(".imap-sync") && !is_reserved("Work"));
    }
}
