use super::*;

// ---------------------------------------------------------------------------
// The cursor: the owned reader's rules over borrowed bytes.

#[derive(Clone, Copy)]
pub(super) struct Cur<'a> {
    pub(super) src: Source<'a>,
    /// The buffer up to the end of the current line's data.
    pub(super) text: &'a [u8],
    pub(super) pos: usize,
    pub(super) line: u32,
    pub(super) depth: u32,
}

impl<'a> Cur<'a> {
    pub(super) fn new(src: Source<'a>, at: At) -> Cur<'a> {
        let (_, end) = src.line(at.line as usize);
        Cur {
            src,
            text: &src.buf[..end],
            pos: at.pos as usize,
            line: at.line,
            depth: 0,
        }
    }

    /// The position (which fits 32 bits: larger responses are refused).
    #[inline]
    pub(super) fn state(&self) -> At {
        At {
            pos: self.pos as u32,
            line: self.line,
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn fail(&self, m: Msg) -> Fail {
        Fail {
            what: What::At(m),
            at: self.pos,
            line: self.line,
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn fail_with(&self, what: What) -> Fail {
        Fail {
            what,
            at: self.pos,
            line: self.line,
        }
    }

    #[inline]
    pub(super) fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    #[inline]
    pub(super) fn rest(&self) -> &'a [u8] {
        self.text.get(self.pos..).unwrap_or_default()
    }

    pub(super) fn enter_line(&mut self, line: u32) {
        let (start, end) = self.src.line(line as usize);
        self.line = line;
        self.text = &self.src.buf[..end];
        self.pos = start;
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.text.len() && self.line as usize >= self.src.last_line()
    }

    #[inline(always)]
    pub(super) fn skip_spaces(&mut self) {
        // Values are mostly one space apart: one test for none, a loop
        // only past the first.
        let t = self.text;
        let mut p = self.pos;
        if t.get(p) == Some(&b' ') {
            p += 1;
            while t.get(p) == Some(&b' ') {
                p += 1;
            }
            self.pos = p;
        }
    }

    #[inline]
    pub(super) fn eat(&mut self, b: u8) -> bool {
        self.skip_spaces();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    #[inline]
    pub(super) fn expect(&mut self, b: u8) -> VResult<()> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.fail_with(What::Expected(b)))
        }
    }

    pub(super) fn atom(&mut self) -> VResult<&'a [u8]> {
        self.skip_spaces();
        self.atom_here()
    }

    /// [`Cur::atom`], spaces already skipped.
    pub(super) fn atom_here(&mut self) -> VResult<&'a [u8]> {
        let rest = self.rest();
        let len = rest
            .iter()
            .position(|&b| ends_atom(b))
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(self.fail(Msg::ExpectedAtom));
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    #[inline(always)]
    pub(super) fn eat_nil(&mut self) -> bool {
        let t = self.text;
        let p = self.pos;
        let Some(word) = t.get(p..p + 3) else {
            return false;
        };
        // ASCII letters compared without case: bit 5 cleared.
        if word[0] & 0xdf == b'N'
            && word[1] & 0xdf == b'I'
            && word[2] & 0xdf == b'L'
            && t.get(p + 3).is_none_or(|&b| ends_atom(b))
        {
            self.pos = p + 3;
            true
        } else {
            false
        }
    }

    pub(super) fn item_name(&mut self) -> VResult<&'a [u8]> {
        self.skip_spaces();
        self.item_name_here()
    }

    /// [`Cur::item_name`], spaces already skipped.
    pub(super) fn item_name_here(&mut self) -> VResult<&'a [u8]> {
        let rest = self.rest();
        let len = rest
            .iter()
            .position(|&b| STOPS[usize::from(b)] & ENDS_NAME != 0)
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(self.fail(Msg::ExpectedName));
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    pub(super) fn until(&mut self, stop: u8) -> VResult<()> {
        match self.rest().iter().position(|&b| b == stop) {
            Some(len) => {
                self.pos += len;
                Ok(())
            }
            None => Err(self.fail_with(What::Missing(stop))),
        }
    }

    pub(super) fn keyword(&mut self, word: &[u8]) -> bool {
        self.skip_spaces();
        let rest = self.rest();
        if rest.len() >= word.len()
            && rest[..word.len()].eq_ignore_ascii_case(word)
            && rest
                .get(word.len())
                .is_none_or(|&b| ends_atom(b) || b == b']' || b == b'[')
        {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    #[inline]
    pub(super) fn number(&mut self) -> VResult<u64> {
        self.skip_spaces();
        self.number_here()
    }

    /// [`Cur::number`], spaces already skipped.
    #[inline]
    pub(super) fn number_here(&mut self) -> VResult<u64> {
        let t = self.text;
        let start = self.pos;
        let mut p = start;
        let mut v: u64 = 0;
        // Up to 19 digits cannot overflow.
        while let Some(&d) = t.get(p) {
            let d = d.wrapping_sub(b'0');
            if d > 9 || p - start == 19 {
                break;
            }
            v = v * 10 + u64::from(d);
            p += 1;
        }
        if p == start || t.get(p).is_some_and(u8::is_ascii_digit) {
            return self.long_number();
        }
        self.pos = p;
        Ok(v)
    }

    /// [`Cur::number`] for no digit or more than 19 digits.
    #[cold]
    #[inline(never)]
    pub(super) fn long_number(&mut self) -> VResult<u64> {
        let rest = self.rest();
        let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 || len > 20 {
            return Err(self.fail(Msg::ExpectedNumber));
        }
        let mut v: u64 = 0;
        for &d in &rest[..len] {
            v = match v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
            {
                Some(v) => v,
                None => return Err(self.fail(Msg::NumberOutOfRange)),
            };
        }
        self.pos += len;
        Ok(v)
    }

    pub(super) fn number32(&mut self) -> VResult<u32> {
        let v = self.number()?;
        u32::try_from(v).map_err(|_| self.fail(Msg::NumberTooLarge))
    }

    #[inline]
    pub(super) fn at_literal(&self) -> bool {
        let rest = self.rest();
        rest.first() == Some(&b'{') || rest.starts_with(b"~{")
    }

    pub(super) fn skip_to_end(&mut self) {
        let last = self.src.last_line() as u32;
        self.enter_line(last);
        self.pos = self.text.len();
        self.depth = 0;
    }

    #[inline(always)]
    pub(super) fn nstring(&mut self) -> VResult<Option<StrView<'a>>> {
        self.skip_spaces();
        self.nstring_here()
    }

    /// [`Cur::nstring`], spaces already skipped.
    #[inline(always)]
    pub(super) fn nstring_here(&mut self) -> VResult<Option<StrView<'a>>> {
        match self.text.get(self.pos) {
            Some(b'"') => self.quoted().map(Some),
            Some(b'N' | b'n') if self.eat_nil() => Ok(None),
            Some(b'{' | b'~') if self.at_literal() => self.literal().map(Some),
            Some(b'(' | b')') | None => Err(self.fail(Msg::ExpectedStringOrNil)),
            Some(_) => self.atom().map(|a| Some(StrView::new(a, StrForm::Atom))),
        }
    }

    /// [`Cur::nstring`], reading nothing.
    #[inline(always)]
    pub(super) fn skip_nstring(&mut self) -> VResult<()> {
        self.skip_spaces();
        self.skip_nstring_here()
    }

    /// [`Cur::skip_nstring`], spaces already skipped.
    #[inline(always)]
    pub(super) fn skip_nstring_here(&mut self) -> VResult<()> {
        match self.text.get(self.pos) {
            Some(b'"') => self.skip_quoted(),
            Some(b'N' | b'n') if self.eat_nil() => Ok(()),
            Some(b'{' | b'~') if self.at_literal() => self.literal().map(|_| ()),
            Some(b'(' | b')') | None => Err(self.fail(Msg::ExpectedStringOrNil)),
            Some(_) => self.atom().map(|_| ()),
        }
    }

    /// The closing quote of the quoted string opening at the cursor, and
    /// whether the string holds a backslash.
    #[inline(always)]
    pub(super) fn quoted_end(&self) -> Option<(usize, bool)> {
        let t = self.text;
        let mut i = self.pos + 1;
        let mut escaped = false;
        loop {
            let k = quote_or_backslash(t, i)?;
            if t[k] == b'"' {
                return Some((k, escaped));
            }
            escaped = true;
            i = k + 2;
        }
    }

    /// [`Cur::quoted`], reading nothing.
    #[inline(always)]
    pub(super) fn skip_quoted(&mut self) -> VResult<()> {
        match self.quoted_end() {
            Some((end, _)) => {
                self.pos = end + 1;
                Ok(())
            }
            None => Err(self.fail(Msg::UnterminatedQuoted)),
        }
    }

    pub(super) fn string(&mut self) -> VResult<StrView<'a>> {
        self.skip_spaces();
        if self.at_literal() {
            return self.literal();
        }
        match self.peek() {
            Some(b'"') => self.quoted(),
            _ => self.atom().map(|a| StrView::new(a, StrForm::Atom)),
        }
    }

    /// A quoted string without escapes or an atom, borrowed; `None` for
    /// anything else (which [`Cur::string`] then reads).
    /// Spaces already skipped.
    pub(super) fn simple_string_slice(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest();
        match rest.first() {
            Some(b'"') => {
                let end = find_quote_or_backslash(&rest[1..])? + 1;
                if rest[end] != b'"' {
                    return None;
                }
                self.pos += end + 1;
                Some(&rest[1..end])
            }
            Some(b'{') | Some(b'~') | None => None,
            Some(_) => self.atom().ok(),
        }
    }

    #[inline(always)]
    pub(super) fn quoted(&mut self) -> VResult<StrView<'a>> {
        match self.quoted_end() {
            Some((end, escaped)) => {
                let raw = &self.text[self.pos + 1..end];
                self.pos = end + 1;
                Ok(StrView {
                    raw,
                    form: StrForm::Quoted,
                    escaped,
                    spans_literal: false,
                })
            }
            None => Err(self.fail(Msg::UnterminatedQuoted)),
        }
    }

    pub(super) fn literal(&mut self) -> VResult<StrView<'a>> {
        let rest = self.rest();
        let skip = usize::from(rest.first() == Some(&b'~'));
        if rest.get(skip) != Some(&b'{') {
            return Err(self.fail(Msg::ExpectedLiteral));
        }
        let Some(close) = rest.iter().position(|&b| b == b'}') else {
            return Err(self.fail(Msg::UnterminatedAnnouncement));
        };
        if close + 1 != rest.len() || self.line as usize >= self.src.last_line() {
            return Err(self.fail(Msg::AnnouncementNotAtEnd));
        }
        let data = self.src.literal(self.line as usize);
        self.enter_line(self.line + 1);
        Ok(StrView::new(data, StrForm::Literal))
    }

    pub(super) fn enter(&mut self) -> VResult<()> {
        self.depth += 1;
        if self.depth as usize > MAX_DEPTH {
            return Err(self.fail_with(What::Nesting));
        }
        Ok(())
    }

    pub(super) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// A parenthesised list, `item` called for each element; NIL is an
    /// empty list.
    #[inline]
    pub(super) fn list<F>(&mut self, item: F) -> VResult<()>
    where
        F: FnMut(&mut Self) -> VResult<()>,
    {
        self.skip_spaces();
        self.list_here(item)
    }

    /// [`Cur::list`], spaces already skipped.
    #[inline]
    pub(super) fn list_here<F>(&mut self, mut item: F) -> VResult<()>
    where
        F: FnMut(&mut Self) -> VResult<()>,
    {
        if self.peek() != Some(b'(') {
            if self.keyword(b"NIL") {
                return Ok(());
            }
            return Err(self.fail(Msg::ExpectedOpen));
        }
        self.enter()?;
        self.pos += 1;
        loop {
            self.skip_spaces();
            match self.peek() {
                Some(b')') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                None if self.at_end() => return Err(self.fail(Msg::UnterminatedList)),
                None => return Err(self.fail(Msg::EndOfLineInList)),
                _ => {
                    let before = (self.line, self.pos);
                    item(self)?;
                    if (self.line, self.pos) == before {
                        return Err(self.fail(Msg::ElementNotConsumed));
                    }
                }
            }
        }
    }

    /// Skips one value of any kind, as the owned reader does; returns it as
    /// written (a literal's data for a literal).
    pub(super) fn skip_value(&mut self) -> VResult<StrView<'a>> {
        self.skip_spaces();
        let (start_line, start) = (self.line, self.pos);
        if self.at_literal() {
            return self.literal();
        }
        match self.peek() {
            Some(b'(') => self.list(|c| c.skip_value().map(|_| ()))?,
            Some(b'"') => {
                self.quoted()?;
            }
            Some(b'[') => {
                let rest = self.rest();
                let mut depth = 0usize;
                let mut len = 0;
                for (i, &b) in rest.iter().enumerate() {
                    match b {
                        b'[' => depth += 1,
                        b']' => {
                            depth -= 1;
                            if depth == 0 {
                                len = i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                if len == 0 {
                    return Err(self.fail(Msg::UnbalancedBracket));
                }
                self.pos += len;
            }
            Some(_) => {
                self.atom()?;
            }
            None => return Err(self.fail(Msg::ExpectedValue)),
        }
        Ok(StrView {
            raw: &self.src.buf[start..self.pos.max(start)],
            form: StrForm::Raw,
            escaped: false,
            spans_literal: self.line != start_line,
        })
    }

    pub(super) fn raw_since(&self, from: At) -> RawView<'a> {
        RawView {
            src: self.src,
            from,
            to: self.state(),
        }
    }
}
