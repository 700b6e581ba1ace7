//! The parser of the IMAP search syntax ([`Query::parse`]).

use super::*;

/// [`Query::parse`].
pub(super) fn parse(input: &str) -> Result<Query, ProtoError> {
    if let Some(c) = input.chars().find(|&c| matches!(c, '\r' | '\n' | '\0')) {
        let name = match c {
            '\r' => "CR",
            '\n' => "LF",
            _ => "NUL",
        };
        return Err(bad(
            format!("the search contains {name}, which a search cannot hold"),
            input,
        ));
    }
    let mut p = Parser {
        tokens: tokenize(input)?,
        pos: 0,
        depth: 0,
    };
    let mut items = p.sequence(false)?;
    match items.len() {
        0 => Err(bad(
            "the search is empty: give at least one key (ALL for every message)",
            input,
        )),
        1 => Ok(items.pop().map(|(q, _)| q).unwrap_or(Query::All)),
        _ => Ok(Query::And(items.into_iter().map(|(q, _)| q).collect())),
    }
}

fn bad(message: impl Into<String>, input: &str) -> ProtoError {
    ProtoError::new(ProtoErrorKind::BadArgument, message, input.as_bytes())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Word(String),
    Quoted(String),
}

impl Token {
    /// How the token is shown in an error message.
    fn describe(&self) -> String {
        match self {
            Token::Open => "`(`".into(),
            Token::Close => "`)`".into(),
            Token::Word(w) => format!("`{w}`"),
            Token::Quoted(q) => format!("the quoted string {}", quote(q)),
        }
    }
}

fn tokenize(input: &str) -> Result<Vec<Token>, ProtoError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            '"' => {
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, e @ ('"' | '\\'))) => s.push(e),
                            Some((_, e)) => {
                                return Err(bad(
                                    format!(
                                        "bad escape `\\{e}` in a quoted string: only \\\" and \\\\ are allowed"
                                    ),
                                    input.get(start..).unwrap_or(input),
                                ))
                            }
                            None => break,
                        },
                        c => s.push(c),
                    }
                }
                if !closed {
                    return Err(bad(
                        "unterminated quoted string",
                        input.get(start..).unwrap_or(input),
                    ));
                }
                tokens.push(Token::Quoted(s));
            }
            c => {
                let mut w = String::from(c);
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '"') {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(w));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    /// Keys up to the end (top level) or the closing parenthesis (in a
    /// group, which is consumed). Each key comes with whether it is an
    /// unknown key written without parentheses.
    fn sequence(&mut self, in_group: bool) -> Result<Vec<(Query, bool)>, ProtoError> {
        let mut items = Vec::new();
        loop {
            match self.peek() {
                None if in_group => {
                    return Err(ProtoError::msg(
                        ProtoErrorKind::BadArgument,
                        "unbalanced parentheses: a `(` is never closed",
                    ))
                }
                None => return Ok(items),
                Some(Token::Close) if in_group => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(Token::Close) => {
                    return Err(ProtoError::msg(
                        ProtoErrorKind::BadArgument,
                        "unbalanced parentheses: a `)` closes nothing",
                    ))
                }
                Some(_) => items.push(self.key(None)?),
            }
        }
    }

    /// One key; `after` names the key that wants it (NOT, OR) for error
    /// messages.
    fn key(&mut self, after: Option<&str>) -> Result<(Query, bool), ProtoError> {
        if self.depth >= MAX_DEPTH {
            return Err(ProtoError::msg(
                ProtoErrorKind::BadArgument,
                format!("the search is nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        self.depth += 1;
        let r = self.key_inner(after);
        self.depth -= 1;
        r
    }

    fn key_inner(&mut self, after: Option<&str>) -> Result<(Query, bool), ProtoError> {
        let wanted = || match after {
            Some(k) => format!("{k} needs a search key after it"),
            None => "expected a search key".to_string(),
        };
        let word = match self.next() {
            None => return Err(ProtoError::msg(ProtoErrorKind::BadArgument, wanted())),
            Some(Token::Open) => {
                let mut items = self.sequence(true)?;
                return Ok(match items.as_slice() {
                    [(_, true)] => (items.pop().map(|(q, _)| q).unwrap_or(Query::All), false),
                    _ => (
                        Query::And(items.into_iter().map(|(q, _)| q).collect()),
                        false,
                    ),
                });
            }
            Some(t @ (Token::Close | Token::Quoted(_))) => {
                return Err(ProtoError::msg(
                    ProtoErrorKind::BadArgument,
                    format!("{}, found {}", wanted(), t.describe()),
                ))
            }
            Some(Token::Word(w)) => w,
        };
        let upper = word.to_ascii_uppercase();
        let q = match upper.as_str() {
            "ALL" => Query::All,
            "ANSWERED" => Query::Answered,
            "BCC" => Query::Bcc(self.value("BCC", "a string")?),
            "BEFORE" => Query::Before(self.date("BEFORE")?),
            "BODY" => Query::Body(self.value("BODY", "a string")?),
            "CC" => Query::Cc(self.value("CC", "a string")?),
            "DELETED" => Query::Deleted,
            "DRAFT" => Query::Draft,
            "FLAGGED" => Query::Flagged,
            "FROM" => Query::From(self.value("FROM", "a string")?),
            "HEADER" => {
                let name = self.value("HEADER", "a field name and a string")?;
                let v = self.value("HEADER", "a field name and a string")?;
                Query::Header(name, v)
            }
            "KEYWORD" => Query::Keyword(self.value("KEYWORD", "a flag")?),
            "LARGER" => Query::Larger(self.number("LARGER")?),
            "NEW" => Query::New,
            "NOT" => Query::Not(Box::new(self.key(Some("NOT"))?.0)),
            "OLD" => Query::Old,
            "ON" => Query::On(self.date("ON")?),
            "OR" => {
                let a = self.key(Some("OR"))?.0;
                let b = self.key(Some("OR"))?.0;
                Query::Or(Box::new(a), Box::new(b))
            }
            "RECENT" => Query::Recent,
            "SEEN" => Query::Seen,
            "SENTBEFORE" => Query::SentBefore(self.date("SENTBEFORE")?),
            "SENTON" => Query::SentOn(self.date("SENTON")?),
            "SENTSINCE" => Query::SentSince(self.date("SENTSINCE")?),
            "SINCE" => Query::Since(self.date("SINCE")?),
            "SMALLER" => Query::Smaller(self.number("SMALLER")?),
            "SUBJECT" => Query::Subject(self.value("SUBJECT", "a string")?),
            "TEXT" => Query::Text(self.value("TEXT", "a string")?),
            "TO" => Query::To(self.value("TO", "a string")?),
            "UID" => match self.next() {
                Some(Token::Word(w)) if w == "$" => Query::SavedResult { uid: true },
                Some(Token::Word(w)) => Query::Uid(sequence_set(&w, "UID ")?),
                other => return Err(missing("UID", "a sequence set", other.as_ref())),
            },
            "UNANSWERED" => Query::Unanswered,
            "UNDELETED" => Query::Undeleted,
            "UNDRAFT" => Query::Undraft,
            "UNFLAGGED" => Query::Unflagged,
            "UNKEYWORD" => Query::Unkeyword(self.value("UNKEYWORD", "a flag")?),
            "UNSEEN" => Query::Unseen,
            "MODSEQ" => self.modseq()?,
            "OLDER" => Query::Older(self.number("OLDER")?),
            "YOUNGER" => Query::Younger(self.number("YOUNGER")?),
            "EMAILID" => Query::EmailId(self.value("EMAILID", "an email id")?),
            "THREADID" => Query::ThreadId(self.value("THREADID", "a thread id")?),
            "CHARSET" => {
                return Err(ProtoError::msg(
                    ProtoErrorKind::BadArgument,
                    "CHARSET is chosen from the text when the search is sent; leave it out",
                ))
            }
            "$" => Query::SavedResult { uid: false },
            _ if word.starts_with(|c: char| c.is_ascii_digit() || c == '*') => {
                Query::SequenceSet(sequence_set(&word, "")?)
            }
            _ => {
                let mut args = Vec::new();
                loop {
                    match self.peek() {
                        Some(Token::Word(w)) if !is_known_key(w) => args.push(w.clone()),
                        Some(Token::Quoted(q)) => args.push(q.clone()),
                        _ => break,
                    }
                    self.pos += 1;
                }
                return Ok((Query::Raw { key: word, args }, true));
            }
        };
        Ok((q, false))
    }

    /// A string value: one word or a quoted string.
    fn value(&mut self, key: &str, what: &str) -> Result<String, ProtoError> {
        match self.next() {
            Some(Token::Word(w)) => Ok(w),
            Some(Token::Quoted(q)) => Ok(q),
            other => Err(missing(key, what, other.as_ref())),
        }
    }

    fn date(&mut self, key: &str) -> Result<NaiveDate, ProtoError> {
        let v = match self.next() {
            Some(Token::Word(w)) => w,
            Some(Token::Quoted(q)) => q,
            other => return Err(missing(key, "a date (d-Mon-yyyy)", other.as_ref())),
        };
        parse_date(&v).ok_or_else(|| {
            bad(
                format!("{key}: bad date `{v}` (expected d-Mon-yyyy, e.g. 1-Feb-2024)"),
                &v,
            )
        })
    }

    fn number<T: std::str::FromStr>(&mut self, key: &str) -> Result<T, ProtoError> {
        let v = match self.next() {
            Some(Token::Word(w)) => w,
            other => return Err(missing(key, "a number", other.as_ref())),
        };
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(format!("{key}: `{v}` is not a number"), &v));
        }
        v.parse()
            .map_err(|_| bad(format!("{key}: the number `{v}` is too large"), &v))
    }

    /// `MODSEQ n` or `MODSEQ "entry" priv|shared|all n` (the entry name
    /// may also be written unquoted, as it starts with `/`).
    fn modseq(&mut self) -> Result<Query, ProtoError> {
        let entry_name = match self.peek() {
            Some(Token::Quoted(q)) => Some(q.clone()),
            // Entry names are `/flags/...` (RFC 7162), shown quoted.
            Some(Token::Word(w)) if w.starts_with('/') => Some(w.clone()),
            _ => None,
        };
        let entry = match entry_name {
            Some(name) => {
                self.pos += 1;
                let entry_type = match self.next() {
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("priv") => EntryType::Private,
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("shared") => EntryType::Shared,
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("all") => EntryType::All,
                    other => {
                        return Err(missing(
                            "MODSEQ",
                            "an entry type (priv, shared or all) after the entry name",
                            other.as_ref(),
                        ))
                    }
                };
                Some(ModSeqEntry { name, entry_type })
            }
            None => None,
        };
        let modseq = self.number("MODSEQ")?;
        Ok(Query::ModSeq { entry, modseq })
    }
}

fn missing(key: &str, what: &str, found: Option<&Token>) -> ProtoError {
    let message = match found {
        None => format!("{key} needs {what}, and the search ends there"),
        Some(t) => format!("{key} needs {what}, found {}", t.describe()),
    };
    ProtoError::msg(ProtoErrorKind::BadArgument, message)
}

fn sequence_set(v: &str, key: &str) -> Result<SequenceSet, ProtoError> {
    SequenceSet::parse(v.as_bytes()).map_err(|e| bad(format!("{key}`{v}`: {e}"), v))
}
