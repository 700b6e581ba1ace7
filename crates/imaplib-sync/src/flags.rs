//! Flags as the mirror keeps them, their Maildir letters, and the merge
//! rule for changes made on both sides.
//!
//! A message's flags are a set of names: the system flags in their
//! canonical spelling (`\Seen`, `\Answered`, `\Flagged`, `\Deleted`,
//! `\Draft`) and keywords as the server spells them. `\Recent` is the
//! server's to set and is never mirrored. A Maildir file name carries the
//! five system flags as letters; keywords live only in the mirror's state.

use std::collections::BTreeSet;

/// A message's flags.
pub type Flags = BTreeSet<String>;

/// The system flags a Maildir file name can carry, with their letters in
/// ASCII order.
const LETTERS: [(char, &str); 5] = [
    ('D', "\\Draft"),
    ('F', "\\Flagged"),
    ('R', "\\Answered"),
    ('S', "\\Seen"),
    ('T', "\\Deleted"),
];

/// The canonical form of a flag as a server sent it: system flags in
/// their usual case, keywords unchanged; `None` for `\Recent` (and `\*`),
/// which are not a message's to keep.
pub fn canonical(flag: &str) -> Option<String> {
    if !flag.starts_with('\\') {
        return (!flag.is_empty()).then(|| flag.to_string());
    }
    if flag.eq_ignore_ascii_case("\\Recent") || flag == "\\*" {
        return None;
    }
    Some(
        LETTERS
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(flag))
            .map_or_else(|| flag.to_string(), |(_, name)| name.to_string()),
    )
}

/// The flags of a server's FLAGS list.
pub fn from_server<S: AsRef<str>>(flags: impl IntoIterator<Item = S>) -> Flags {
    flags
        .into_iter()
        .filter_map(|f| canonical(f.as_ref()))
        .collect()
}

/// The flags of a FETCH response (none if it carries no FLAGS).
pub fn of_fetch(f: &imaplib::types::Fetch) -> Flags {
    f.flags()
        .map_or_else(Flags::new, |list| from_server(list.iter()))
}

/// The Maildir letters of `flags`, sorted (keywords have none).
pub fn letters(flags: &Flags) -> String {
    LETTERS
        .iter()
        .filter(|(_, name)| flags.contains(*name))
        .map(|(c, _)| *c)
        .collect()
}

/// The system flags named by Maildir letters (unknown letters ignored).
pub fn from_letters(letters: &str) -> Flags {
    LETTERS
        .iter()
        .filter(|(c, _)| letters.contains(*c))
        .map(|(_, name)| name.to_string())
        .collect()
}

/// True for a flag a Maildir file name can carry.
pub fn has_letter(flag: &str) -> bool {
    LETTERS.iter().any(|(_, name)| *name == flag)
}

/// What the local copy says, read from its file name: its letters, plus
/// the keywords of `base` (a Maildir cannot change keywords).
pub fn local_view(letters: &str, base: &Flags) -> Flags {
    let mut flags = from_letters(letters);
    flags.extend(base.iter().filter(|f| !has_letter(f)).cloned());
    flags
}

/// The merge of two sides that both started from `base`: every flag
/// added on either side is there, every flag removed on either side is
/// gone, and a flag nobody touched stays as it was.
pub fn merge(base: &Flags, local: &Flags, server: &Flags) -> Flags {
    let mut out: Flags = local.intersection(server).cloned().collect();
    out.extend(local.difference(base).cloned());
    out.extend(server.difference(base).cloned());
    out
}

/// The flags as an IMAP list body: `\Seen $Forwarded`.
pub fn list(flags: &Flags) -> String {
    flags
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A flag set from names.
    pub(crate) fn set(s: &[&str]) -> Flags {
        s.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn canonical_spelling() {
        assert_eq!(canonical("\\SEEN").as_deref(), Some("\\Seen"));
        assert_eq!(canonical("\\recent"), None);
        assert_eq!(canonical("$Forwarded").as_deref(), Some("$Forwarded"));
        assert_eq!(canonical("\\X-Other").as_deref(), Some("\\X-Other"));
    }

    #[test]
    fn letters_both_ways() {
        let flags = set(&["\\Seen", "\\Answered", "$Label1", "\\Deleted"]);
        assert_eq!(letters(&flags), "RST");
        assert_eq!(
            from_letters("RST"),
            set(&["\\Seen", "\\Answered", "\\Deleted"])
        );
        assert_eq!(local_view("S", &flags), set(&["\\Seen", "$Label1"]));
    }

    #[test]
    fn additions_from_both_sides_are_kept() {
        let base = set(&[]);
        let merged = merge(&base, &set(&["\\Seen"]), &set(&["\\Flagged"]));
        assert_eq!(merged, set(&["\\Seen", "\\Flagged"]));
    }

    #[test]
    fn a_removal_on_either_side_wins() {
        let base = set(&["\\Seen", "\\Flagged"]);
        let merged = merge(
            &base,
            &set(&["\\Flagged"]),
            &set(&["\\Seen", "\\Flagged", "$Work"]),
        );
        assert_eq!(merged, set(&["\\Flagged", "$Work"]));
        let merged = merge(&base, &set(&["\\Seen", "\\Flagged"]), &set(&["\\Seen"]));
        assert_eq!(merged, set(&["\\Seen"]));
    }

    #[test]
    fn nothing_changed_is_the_base() {
        let base = set(&["\\Seen", "$Work"]);
        assert_eq!(merge(&base, &base, &base), base);
    }
}
