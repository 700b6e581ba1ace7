//! Splits a shell line into words the way a POSIX shell does (quotes and
//! backslashes; no expansions), remembering which words were quoted so that
//! `'None'` stays the text `None`.

/// One word of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word's text, quotes removed.
    pub text: String,
    /// True when any part of the word was quoted or escaped.
    pub quoted: bool,
}

/// Splits `line` into words: blanks separate words; `'...'` keeps
/// everything literally; `"..."` keeps everything except that a backslash
/// escapes `"`, `\`, `$` and `` ` ``; a backslash outside quotes escapes the
/// next character; `#` at the start of a word begins a comment.
pub fn split(line: &str) -> Result<Vec<Word>, String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        match chars.peek() {
            None | Some('\r') | Some('\n') => break,
            Some('#') => break,
            Some(_) => {}
        }
        let mut word = Word {
            text: String::new(),
            quoted: false,
        };
        while let Some(&c) = chars.peek() {
            match c {
                ' ' | '\t' | '\r' | '\n' => break,
                '\'' => {
                    chars.next();
                    word.quoted = true;
                    loop {
                        match chars.next() {
                            Some('\'') => break,
                            Some(c) => word.text.push(c),
                            None => return Err("unterminated single quote".into()),
                        }
                    }
                }
                '"' => {
                    chars.next();
                    word.quoted = true;
                    loop {
                        match chars.next() {
                            Some('"') => break,
                            Some('\\') => match chars.next() {
                                Some(e @ ('"' | '\\' | '$' | '`')) => word.text.push(e),
                                Some(other) => {
                                    word.text.push('\\');
                                    word.text.push(other);
                                }
                                None => return Err("unterminated double quote".into()),
                            },
                            Some(c) => word.text.push(c),
                            None => return Err("unterminated double quote".into()),
                        }
                    }
                }
                '\\' => {
                    chars.next();
                    word.quoted = true;
                    match chars.next() {
                        Some(c) => word.text.push(c),
                        None => return Err("the line ends with a lone backslash".into()),
                    }
                }
                c => {
                    chars.next();
                    word.text.push(c);
                }
            }
        }
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<String> {
        split(line).unwrap().into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(texts("fetch 1 (FLAGS)"), ["fetch", "1", "(FLAGS)"]);
        assert_eq!(
            texts(r#"search None 'FROM "a b"' "x\"y" a\ b"#),
            ["search", "None", "FROM \"a b\"", "x\"y", "a b"]
        );
        assert_eq!(texts(r#"a "\n\\""#), ["a", "\\n\\"]);
        assert_eq!(texts("  noop   # a comment"), ["noop"]);
        assert_eq!(texts("a#b"), ["a#b"]);
        assert_eq!(texts("x ''"), ["x", ""]);
        assert!(texts("").is_empty());
        assert!(texts("# only a comment").is_empty());
    }

    #[test]
    fn remembers_quoting() {
        let w = split("None 'None' \\None").unwrap();
        assert_eq!(
            w.iter().map(|w| w.quoted).collect::<Vec<_>>(),
            [false, true, true]
        );
    }

    #[test]
    fn random_lines_never_panic() {
        let alphabet = ['a', ' ', '\'', '"', '\\', '#', '\t', 'é', '\n', '$'];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..5000 {
            let mut line = String::new();
            for _ in 0..(seed % 24) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                line.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let _ = split(&line);
            seed = seed.wrapping_add(1);
        }
    }

    #[test]
    fn reports_malformed_lines() {
        assert_eq!(split("a 'b").unwrap_err(), "unterminated single quote");
        assert_eq!(split("a \"b").unwrap_err(), "unterminated double quote");
        assert_eq!(
            split("a \\").unwrap_err(),
            "the line ends with a lone backslash"
        );
    }
}
