use super::*;

// ---------------------------------------------------------------------------
// FETCH.

/// A FETCH response read in place: `* n FETCH (item value ...)`.
///
/// Built by [`FetchView::from_frame`] or [`FetchView::from_response`],
/// which check every item's syntax; the accessors read the first item of
/// each kind, as [`Fetch`]'s do.
#[derive(Clone, Copy, Debug, yoke::Yokeable)]
pub struct FetchView<'a> {
    pub(super) core: Core<'a>,
    pub(super) envelope: Option<EnvelopeView<'a>>,
    pub(super) body_structure: Option<BodyPart<'a>>,
    /// The first parts of a multipart `body_structure`, read while
    /// checking (`kept` of them), so that iterating them reads nothing.
    pub(super) parts: [SinglePartView<'a>; KEPT_PARTS],
    pub(super) kept: u8,
}

/// What a [`FetchView`] knows besides its ENVELOPE and body structure:
/// all an owned [`Fetch`] keeps in place when the response has neither.
#[derive(Clone, Copy, Debug)]
pub(super) struct Core<'a> {
    pub(super) src: Source<'a>,
    pub(super) seq: u32,
    /// Just after the opening parenthesis.
    pub(super) items: At,
    pub(super) item_count: u32,
    pub(super) undecodable: u32,
    pub(super) uid: Option<u32>,
    pub(super) flags: Option<At>,
    pub(super) internal_date: Option<DateTime<FixedOffset>>,
    pub(super) rfc822_size: Option<u64>,
    pub(super) modseq: Option<u64>,
    pub(super) body: Option<StrView<'a>>,
}

impl<'a> Core<'a> {
    /// The view of a response that has neither ENVELOPE nor body
    /// structure.
    #[inline(always)]
    pub(super) fn view(self) -> FetchView<'a> {
        FetchView {
            core: self,
            envelope: None,
            body_structure: None,
            parts: [SinglePartView::empty(self.src, false); KEPT_PARTS],
            kept: 0,
        }
    }
}

/// How many single parts of a top-level multipart are kept while checking.
pub(super) const KEPT_PARTS: usize = 2;

impl<'a> FetchView<'a> {
    /// Reads a framed response. `None` if it is not an untagged FETCH
    /// response; otherwise the view, or why the response does not decode
    /// (what [`Typed::Undecodable`](crate::types::Typed) carries for it).
    ///
    /// Recognises `* n FETCH` exactly as [`Response::parse`] does, so
    /// parsing the response first is not needed.
    pub fn from_frame(frame: &'a Frame) -> Option<Result<FetchView<'a>, DecodeError>> {
        let (number, pos) = locate(frame.first_line())?;
        let number = number.map(|r| &frame.first_line()[r]);
        Some(Self::after_name(frame, number, pos))
    }

    /// Reads a parsed response. `None` if it is not an untagged FETCH
    /// response; otherwise as [`FetchView::from_frame`].
    pub fn from_response(resp: &'a Response) -> Option<Result<FetchView<'a>, DecodeError>> {
        match resp.kind() {
            Kind::Untagged {
                name,
                number,
                status: None,
            } if name == "FETCH" => Some(Self::after_name(
                resp.frame(),
                number.as_deref(),
                resp.data_offset(),
            )),
            _ => None,
        }
    }

    /// Reads the data of a FETCH response without literals, after its
    /// sequence number `seq`: `(item value ...)`.
    pub fn from_line(seq: u32, data: &'a [u8]) -> Result<FetchView<'a>, DecodeError> {
        let src = Source {
            buf: data,
            frame: None,
        };
        Self::decode(src, seq, 0)
    }

    #[inline]
    pub(super) fn after_name(
        frame: &'a Frame,
        number: Option<&[u8]>,
        offset: usize,
    ) -> Result<FetchView<'a>, DecodeError> {
        let (src, seq, start) = Self::located(frame, number, offset)?;
        Self::decode(src, seq, start)
    }

    /// [`FetchView::after_name`], handing the view to `keep` where it was
    /// checked instead of returning it (a copy of 1.7 KB spared to a
    /// caller that keeps only parts of it).
    #[inline]
    pub(super) fn after_name_kept<R>(
        frame: &'a Frame,
        number: Option<&[u8]>,
        offset: usize,
        keep: impl FnOnce(&FetchView<'a>) -> R,
    ) -> Result<R, DecodeError> {
        let (src, seq, start) = Self::located(frame, number, offset)?;
        let mut c = Self::opened(src, start)?;
        let mut view = Self::blank(src, seq, c.state());
        match Self::read_items(&mut c, &mut view) {
            Ok(()) => Ok(keep(&view)),
            Err(fail) => Err(DecodeError::new(fail.render(&src))),
        }
    }

    /// A view of no items yet, which start at `items`.
    #[inline(always)]
    fn blank(src: Source<'a>, seq: u32, items: At) -> FetchView<'a> {
        Core {
            src,
            seq,
            items,
            item_count: 0,
            undecodable: 0,
            uid: None,
            flags: None,
            internal_date: None,
            rfc822_size: None,
            modseq: None,
            body: None,
        }
        .view()
    }

    /// Where the items of a FETCH response begin: its bytes, its checked
    /// sequence number, and the offset after the name.
    #[inline(always)]
    fn located(
        frame: &'a Frame,
        number: Option<&[u8]>,
        offset: usize,
    ) -> Result<(Source<'a>, u32, usize), DecodeError> {
        let Some(digits) = number else {
            return Err(DecodeError::new("FETCH without a number"));
        };
        let seq = digits.iter().try_fold(0u32, |a, &d| {
            a.checked_mul(10)?
                .checked_add(u32::from(d.wrapping_sub(b'0')))
        });
        let Some(seq) = seq else {
            return Err(DecodeError::new("number larger than 32 bits"));
        };
        if seq == 0 {
            return Err(DecodeError::new("message number 0 does not exist"));
        }
        let first = frame.line_range(0);
        let src = Source {
            buf: frame.raw(),
            frame: Some(frame),
        };
        Ok((src, seq, (first.start + offset).min(first.end)))
    }

    /// The cursor just inside the opening parenthesis of the items.
    #[inline(always)]
    fn opened(src: Source<'a>, start: usize) -> Result<Cur<'a>, DecodeError> {
        if src.buf.len() > MAX_VIEW_LEN {
            return Err(DecodeError::new("response too large for a view"));
        }
        let mut c = Cur::new(
            src,
            At {
                pos: start as u32,
                line: 0,
            },
        );
        let opened = (|| {
            c.skip_spaces();
            if c.peek() != Some(b'(') {
                return Err(c.fail(Msg::ExpectedOpenAfterNumber));
            }
            c.enter()?;
            c.expect(b'(')
        })();
        match opened {
            Ok(()) => Ok(c),
            Err(fail) => Err(DecodeError::new(fail.render(&src))),
        }
    }

    #[inline(always)]
    pub(super) fn decode(
        src: Source<'a>,
        seq: u32,
        start: usize,
    ) -> Result<FetchView<'a>, DecodeError> {
        let mut c = Self::opened(src, start)?;
        let mut view = Self::blank(src, seq, c.state());
        match Self::read_items(&mut c, &mut view) {
            Ok(()) => Ok(view),
            Err(fail) => Err(DecodeError::new(fail.render(&src))),
        }
    }

    /// Reads the items into `view`, up to the closing parenthesis.
    #[inline(always)]
    pub(super) fn read_items(c: &mut Cur<'a>, view: &mut FetchView<'a>) -> VResult<()> {
        let src = c.src;
        loop {
            c.skip_spaces();
            match c.peek() {
                Some(b')') => return Ok(()),
                // Tolerate a missing final parenthesis.
                None if c.at_end() => return Ok(()),
                None => return Err(c.fail(Msg::EndOfLineInFetch)),
                _ => {}
            }
            let (mark, depth) = (c.state(), c.depth);
            view.core.item_count += 1;
            if let Err(fail) = item_into(c, view) {
                *c = Cur {
                    depth,
                    ..Cur::new(src, mark)
                };
                recover(c, mark, fail);
                view.core.undecodable += 1;
            }
        }
    }

    /// Notes the first item of each kind (the items [`item_into`] reads
    /// in place never come here).
    pub(super) fn record(&mut self, item: ItemView<'a>) {
        match item {
            ItemView::Uid(u) => {
                self.core.uid.get_or_insert(u);
            }
            ItemView::Flags(f) => {
                self.core.flags.get_or_insert(f.at);
            }
            ItemView::InternalDate(d) => {
                self.core.internal_date.get_or_insert(d);
            }
            ItemView::Rfc822Size(n) => {
                self.core.rfc822_size.get_or_insert(n);
            }
            ItemView::ModSeq(n) => {
                self.core.modseq.get_or_insert(n);
            }
            ItemView::Envelope(e) => {
                self.envelope.get_or_insert(e);
            }
            ItemView::BodySection { data: Some(d), .. }
            | ItemView::BinarySection { data: Some(d), .. }
            | ItemView::Rfc822(Some(d))
            | ItemView::Rfc822Header(Some(d))
            | ItemView::Rfc822Text(Some(d)) => {
                self.core.body.get_or_insert(d);
            }
            ItemView::Undecodable { .. } => self.core.undecodable += 1,
            _ => {}
        }
    }

    /// Message sequence number.
    #[inline]
    pub fn seq(&self) -> u32 {
        self.core.seq
    }

    /// Number of items.
    #[inline]
    pub fn item_count(&self) -> usize {
        self.core.item_count as usize
    }

    /// True if some item could not be decoded.
    #[inline]
    pub fn has_undecodable(&self) -> bool {
        self.core.undecodable > 0
    }

    /// The UID, if the response carries one.
    #[inline]
    pub fn uid(&self) -> Option<u32> {
        self.core.uid
    }

    /// The flags, if the response carries them.
    #[inline]
    pub fn flags(&self) -> Option<FlagsView<'a>> {
        self.core.flags.map(|at| FlagsView {
            src: self.core.src,
            at,
        })
    }

    /// The INTERNALDATE, if present.
    #[inline]
    pub fn internal_date(&self) -> Option<DateTime<FixedOffset>> {
        self.core.internal_date
    }

    /// The RFC822.SIZE, if present.
    #[inline]
    pub fn rfc822_size(&self) -> Option<u64> {
        self.core.rfc822_size
    }

    /// The MODSEQ (RFC 7162), if present.
    #[inline]
    pub fn modseq(&self) -> Option<u64> {
        self.core.modseq
    }

    /// The ENVELOPE, if present and decoded (read when the response was;
    /// borrowed from this view).
    #[inline]
    pub fn envelope(&self) -> Option<&EnvelopeView<'a>> {
        self.envelope.as_ref()
    }

    /// The top level of the BODYSTRUCTURE (or BODY) structure, if present
    /// and decoded (read when the response was, as were the first parts
    /// of a multipart, which the result borrows from this view).
    #[inline]
    pub fn body_structure(&self) -> Option<BodyPart<'_>> {
        match self.body_structure? {
            BodyPart::Multipart(mut m) => {
                m.kept = self.parts.get(..usize::from(self.kept)).unwrap_or_default();
                Some(BodyPart::Multipart(m))
            }
            single => Some(single),
        }
    }

    /// The data of the first body section item (`BODY[...]`,
    /// `BINARY[...]`, `RFC822`...) that is not NIL, if any.
    #[inline]
    pub fn body(&self) -> Option<StrView<'a>> {
        self.core.body
    }

    /// Every item in order, with its name as sent.
    pub fn items(&self) -> Items<'a> {
        Items {
            walk: Walk {
                c: Cur {
                    depth: 1,
                    ..Cur::new(self.core.src, self.core.items)
                },
                done: false,
            },
        }
    }

    /// Every item in order, owned: the [`FetchItem`]s that
    /// [`Fetch::to_items`] gives for the same response.
    pub fn to_items(&self) -> Vec<FetchItem> {
        let owned = || {
            self.items()
                .map(|(name, item)| item.to_fetch_item(name))
                .collect()
        };
        match self.core.src.frame {
            Some(frame) => sharing(frame.raw(), owned),
            None => owned(),
        }
    }

    /// The owned [`Fetch`] of this response, checked again (its bytes
    /// shared when the view reads a frame, copied when it reads data
    /// alone). The check gives what it gave for this view: the error is
    /// there only because the response is checked anew.
    pub fn to_fetch(&self) -> Result<Fetch, DecodeError> {
        if let Some(frame) = self.core.src.frame {
            if let Some(owned) = Fetch::from_frame(frame.clone()) {
                return owned;
            }
        }
        // A view of data alone: the number and the data.
        let (start, end) = self.core.src.line(0);
        let data = self.core.src.buf.get(start..end).unwrap_or_default();
        let mut line = format!("{} ", self.core.seq).into_bytes();
        line.extend_from_slice(data);
        Fetch::from_parts(&[Bytes::from(line)])
    }
}

/// Where an untagged FETCH response's number lies in its first line
/// (`None` if it has none) and where its data begins after the name;
/// `None` if the line is not `* [n] FETCH`. Recognises it exactly as
/// [`Response::parse`] does.
#[inline(always)]
pub(super) fn locate(line: &[u8]) -> Option<(Option<std::ops::Range<usize>>, usize)> {
    if line.first() != Some(&b'*') || line.get(1) != Some(&b' ') {
        return None;
    }
    let skip = |mut p: usize| {
        while line.get(p) == Some(&b' ') {
            p += 1;
        }
        p
    };
    let mut pos = skip(1);
    let digits = line[pos..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let mut number = None;
    if digits > 0 && line.get(pos + digits) == Some(&b' ') {
        number = Some(pos..pos + digits);
        pos = skip(pos + digits);
    }
    let name_len = line[pos..]
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='))
        .count();
    if !line[pos..pos + name_len].eq_ignore_ascii_case(b"FETCH") {
        return None;
    }
    pos += name_len;
    if line.get(pos) == Some(&b' ') {
        pos += 1;
    }
    Some((number, pos))
}

/// The items of a [`FetchView`], in order: `(name as sent, value)`.
#[derive(Clone, Debug)]
pub struct Items<'a> {
    pub(super) walk: Walk<'a>,
}

impl<'a> Iterator for Items<'a> {
    type Item = (&'a [u8], ItemView<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        // The items were checked when the view was built: an error here
        // cannot happen, and would end the iteration.
        self.walk.next_item()?.ok()
    }
}

/// The item loop: decodes one item at a time,
/// recovering from an item that does not decode.
#[derive(Clone)]
pub(super) struct Walk<'a> {
    pub(super) c: Cur<'a>,
    pub(super) done: bool,
}

impl fmt::Debug for Walk<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Walk").field("at", &self.c.state()).finish()
    }
}

impl<'a> Walk<'a> {
    pub(super) fn next_item(&mut self) -> Option<VResult<(&'a [u8], ItemView<'a>)>> {
        if self.done {
            return None;
        }
        let c = &mut self.c;
        c.skip_spaces();
        match c.peek() {
            Some(b')') => {
                c.pos += 1;
                c.leave();
                self.done = true;
                return None;
            }
            // Tolerate a missing final parenthesis.
            None if c.at_end() => {
                c.leave();
                self.done = true;
                return None;
            }
            None => {
                self.done = true;
                return Some(Err(c.fail(Msg::EndOfLineInFetch)));
            }
            _ => {}
        }
        let (mark, depth) = (c.state(), c.depth);
        match item(c) {
            Ok(found) => Some(Ok(found)),
            Err(fail) => {
                *c = Cur {
                    depth,
                    ..Cur::new(c.src, mark)
                };
                Some(Ok(recover(c, mark, fail)))
            }
        }
    }
}

/// After an item failed at `mark` (the cursor back there): skips the
/// item's name and one value, and keeps the raw bytes.
#[cold]
#[inline(never)]
pub(super) fn recover<'a>(c: &mut Cur<'a>, mark: At, fail: Fail) -> (&'a [u8], ItemView<'a>) {
    let name = c.item_name().unwrap_or_default();
    let delimited = skip_item_tail(c);
    if !delimited || c.state() == mark {
        c.skip_to_end();
    }
    (
        name,
        ItemView::Undecodable {
            raw: c.raw_since(mark),
            reason: Reason { src: c.src, fail },
        },
    )
}

/// After an item name: skips an optional `[...]`, `<...>` and one value.
/// False if the value could not be delimited.
pub(super) fn skip_item_tail(c: &mut Cur<'_>) -> bool {
    if c.peek() == Some(b'[') && c.skip_value().is_err() {
        return false;
    }
    if c.peek() == Some(b'<') && c.until(b'>').and_then(|_| c.expect(b'>')).is_err() {
        return false;
    }
    c.skip_spaces();
    if !matches!(c.peek(), Some(b')') | None) {
        return c.skip_value().is_ok();
    }
    true
}

/// The item names this library knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Name {
    Flags,
    Uid,
    InternalDate,
    Rfc822Size,
    Envelope,
    BodyStructure,
    Body,
    Binary,
    BinarySize,
    Rfc822,
    Rfc822Header,
    Rfc822Text,
    ModSeq,
    EmailId,
    ThreadId,
    SaveDate,
    Preview,
    GmailMessageId,
    GmailThreadId,
    GmailLabels,
    Other,
}

/// Which item `name` names, without regard to case: told apart by length
/// and first letter, then compared whole.
#[inline]
pub(super) fn name_of(name: &[u8]) -> Name {
    let is = |w: &[u8]| same_name(name, w);
    match (name.len(), name.first().map_or(0, |&b| b & 0xdf)) {
        (3, b'U') if is(b"UID") => Name::Uid,
        (4, b'B') if is(b"BODY") => Name::Body,
        (5, b'F') if is(b"FLAGS") => Name::Flags,
        (6, b'B') if is(b"BINARY") => Name::Binary,
        (6, b'M') if is(b"MODSEQ") => Name::ModSeq,
        (6, b'R') if is(b"RFC822") => Name::Rfc822,
        (7, b'E') if is(b"EMAILID") => Name::EmailId,
        (7, b'P') if is(b"PREVIEW") => Name::Preview,
        (8, b'E') if is(b"ENVELOPE") => Name::Envelope,
        (8, b'T') if is(b"THREADID") => Name::ThreadId,
        (8, b'S') if is(b"SAVEDATE") => Name::SaveDate,
        (10, b'X') if is(b"X-GM-MSGID") => Name::GmailMessageId,
        (10, b'X') if is(b"X-GM-THRID") => Name::GmailThreadId,
        (11, b'B') if is(b"BINARY.SIZE") => Name::BinarySize,
        (11, b'R') if is(b"RFC822.SIZE") => Name::Rfc822Size,
        (11, b'R') if is(b"RFC822.TEXT") => Name::Rfc822Text,
        (11, b'X') if is(b"X-GM-LABELS") => Name::GmailLabels,
        (12, b'I') if is(b"INTERNALDATE") => Name::InternalDate,
        (13, b'B') if is(b"BODYSTRUCTURE") => Name::BodyStructure,
        (13, b'R') if is(b"RFC822.HEADER") => Name::Rfc822Header,
        _ => Name::Other,
    }
}

/// The items a FETCH response usually holds, told by their first letter
/// and compared as two 64-bit words, without a scan for the end of the
/// name: the length of the name and its kind if `rest` starts with one of
/// them followed by the end of the name (what [`Cur::item_name_here`] and
/// [`name_of`] give for it); `None` otherwise, or when fewer than 16 bytes
/// remain on the line.
#[inline(always)]
pub(super) fn usual_item(rest: &[u8]) -> Option<(usize, Name)> {
    let head: &[u8; 16] = rest.get(..16)?.try_into().ok()?;
    let (pattern, kind) = match head[0] & 0xdf {
        b'U' => (&UID, Name::Uid),
        b'F' => (&FLAGS, Name::Flags),
        b'I' => (&INTERNALDATE, Name::InternalDate),
        b'R' => (&RFC822_SIZE, Name::Rfc822Size),
        b'E' => (&ENVELOPE, Name::Envelope),
        b'B' => (&BODYSTRUCTURE, Name::BodyStructure),
        b'M' => (&MODSEQ, Name::ModSeq),
        _ => return None,
    };
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&head[..8]);
    hi.copy_from_slice(&head[8..]);
    let (lo, hi) = (u64::from_le_bytes(lo), u64::from_le_bytes(hi));
    let len = pattern.len;
    if lo & pattern.mask[0] != pattern.word[0]
        || hi & pattern.mask[1] != pattern.word[1]
        || STOPS[usize::from(head[len])] & ENDS_NAME == 0
    {
        return None;
    }
    Some((len, kind))
}

/// An item name as two 64-bit words to compare with the first 16 bytes
/// of a line, after `mask` (which clears the case bit of letters and
/// keeps nothing past the name).
pub(super) struct NamePattern {
    pub(super) mask: [u64; 2],
    pub(super) word: [u64; 2],
    pub(super) len: usize,
}

pub(super) const fn name_pattern(name: &[u8]) -> NamePattern {
    let mut mask = [0u8; 16];
    let mut word = [0u8; 16];
    let mut i = 0;
    while i < name.len() {
        mask[i] = if name[i].is_ascii_uppercase() {
            0xdf
        } else {
            0xff
        };
        word[i] = name[i];
        i += 1;
    }
    NamePattern {
        mask: [half(&mask, 0), half(&mask, 8)],
        word: [half(&word, 0), half(&word, 8)],
        len: name.len(),
    }
}

/// Bytes `at..at + 8` of `b` as a little-endian word.
pub(super) const fn half(b: &[u8; 16], at: usize) -> u64 {
    let mut w = [0u8; 8];
    let mut k = 0;
    while k < 8 {
        w[k] = b[at + k];
        k += 1;
    }
    u64::from_le_bytes(w)
}

pub(super) const UID: NamePattern = name_pattern(b"UID");
pub(super) const FLAGS: NamePattern = name_pattern(b"FLAGS");
pub(super) const INTERNALDATE: NamePattern = name_pattern(b"INTERNALDATE");
pub(super) const RFC822_SIZE: NamePattern = name_pattern(b"RFC822.SIZE");
pub(super) const ENVELOPE: NamePattern = name_pattern(b"ENVELOPE");
pub(super) const BODYSTRUCTURE: NamePattern = name_pattern(b"BODYSTRUCTURE");
pub(super) const MODSEQ: NamePattern = name_pattern(b"MODSEQ");

/// `name` equals `word` (upper case, same length) without regard to the
/// case of letters: a letter's case bit is cleared before comparing,
/// every other byte is compared as is. No branch per byte.
#[inline(always)]
pub(super) fn same_name(name: &[u8], word: &[u8]) -> bool {
    if name.len() != word.len() {
        return false;
    }
    let mut diff = 0u8;
    for (&b, &w) in name.iter().zip(word) {
        let mask = if w.is_ascii_uppercase() { 0xdf } else { 0xff };
        diff |= (b & mask) ^ w;
    }
    diff == 0
}

/// One item: its name as sent and its value.
pub(super) fn item<'a>(c: &mut Cur<'a>) -> VResult<(&'a [u8], ItemView<'a>)> {
    c.skip_spaces();
    let name = c.item_name_here()?;
    Ok((name, value(c, name_of(name))?))
}

/// One item, noted straight into `view` (the first of each kind, as
/// [`FetchView::record`] does); the top level of the first body structure
/// is read while it is checked.
#[inline(always)]
pub(super) fn item_into<'a>(c: &mut Cur<'a>, view: &mut FetchView<'a>) -> VResult<()> {
    let kind = match usual_item(c.rest()) {
        Some((len, kind)) => {
            c.pos += len;
            kind
        }
        None => name_of(c.item_name_here()?),
    };
    match kind {
        Name::Uid => {
            let u = c.number32()?;
            view.core.uid.get_or_insert(u);
        }
        Name::Flags => {
            let at = flags(c)?;
            view.core.flags.get_or_insert(at);
        }
        Name::InternalDate => {
            let d = internal_date(c)?;
            view.core.internal_date.get_or_insert(d);
        }
        Name::Rfc822Size => {
            let n = c.number()?;
            view.core.rfc822_size.get_or_insert(n);
        }
        Name::Envelope => {
            if view.envelope.is_none() {
                view.envelope = Some(envelope(c)?);
            } else {
                envelope(c)?;
            }
        }
        Name::BodyStructure => body_into(c, true, view)?,
        Name::Body if c.peek() != Some(b'[') => body_into(c, false, view)?,
        kind => {
            let v = value(c, kind)?;
            view.record(v);
        }
    }
    Ok(())
}

/// Checks a BODY or BODYSTRUCTURE value; the first one is read into
/// `view`, with the first single parts of a multipart.
#[inline(always)]
pub(super) fn body_into<'a>(
    c: &mut Cur<'a>,
    extensible: bool,
    view: &mut FetchView<'a>,
) -> VResult<()> {
    c.skip_spaces();
    if view.body_structure.is_some() {
        return skip_body_here(c);
    }
    view.kept = 0;
    if c.peek() != Some(b'(') {
        return Err(c.fail_with(What::Expected(b'(')));
    }
    c.pos += 1;
    c.enter()?;
    c.skip_spaces();
    if c.peek() == Some(b'(') {
        let result = multipart_keeping(c, extensible, &mut view.parts, &mut view.kept);
        c.leave();
        view.body_structure = Some(BodyPart::Multipart(result?));
        return Ok(());
    }
    // A single part is read where it lies in the view.
    let slot = view
        .body_structure
        .insert(BodyPart::Single(SinglePartView::empty(c.src, extensible)));
    let result = match slot {
        BodyPart::Single(part) => single_into(c, extensible, part),
        BodyPart::Multipart(_) => Ok(()),
    };
    c.leave();
    if result.is_err() {
        view.body_structure = None;
    }
    result
}

/// Checks a FLAGS list; its position.
#[inline(always)]
pub(super) fn flags(c: &mut Cur<'_>) -> VResult<At> {
    c.skip_spaces();
    let at = c.state();
    if !simple_atoms(c) {
        c.list_here(|c| c.atom_here().map(|_| ()))?;
    }
    Ok(at)
}

/// The usual shape of a list of atoms, the cursor at its opening
/// parenthesis: atoms one space apart, the closing parenthesis right
/// after the last. Checked if so (true); false, the cursor left where it
/// was, for any other shape or where the list would nest too deep.
#[inline(always)]
pub(super) fn simple_atoms(c: &mut Cur<'_>) -> bool {
    if c.depth as usize >= MAX_DEPTH || c.peek() != Some(b'(') {
        return false;
    }
    let t = c.text;
    let mut p = c.pos + 1;
    if t.get(p) == Some(&b')') {
        c.pos = p + 1;
        return true;
    }
    loop {
        let start = p;
        while t.get(p).is_some_and(|&b| !ends_atom(b)) {
            p += 1;
        }
        if p == start {
            return false;
        }
        match t.get(p) {
            Some(b' ') => p += 1,
            Some(b')') => {
                c.pos = p + 1;
                return true;
            }
            _ => return false,
        }
    }
}

/// Reads an INTERNALDATE value.
#[inline(always)]
pub(super) fn internal_date(c: &mut Cur<'_>) -> VResult<DateTime<FixedOffset>> {
    c.skip_spaces();
    let at = c.state();
    let bad = Fail {
        what: What::BadDate,
        at: at.pos as usize,
        line: at.line,
    };
    let date = match c.simple_string_slice() {
        Some(s) => crate::date::parse_internaldate(s),
        None => {
            let s = c.string()?;
            crate::date::parse_internaldate(&s.as_bytes())
        }
    };
    date.ok_or(bad)
}

/// The value of an item of kind `kind`, its name read.
pub(super) fn value<'a>(c: &mut Cur<'a>, kind: Name) -> VResult<ItemView<'a>> {
    Ok(match kind {
        Name::Flags => ItemView::Flags(FlagsView {
            src: c.src,
            at: flags(c)?,
        }),
        Name::Uid => ItemView::Uid(c.number32()?),
        Name::InternalDate => ItemView::InternalDate(internal_date(c)?),
        Name::Rfc822Size => ItemView::Rfc822Size(c.number()?),
        Name::Envelope => ItemView::Envelope(envelope(c)?),
        Name::BodyStructure => ItemView::BodyStructure(body_handle(c, true)?),
        Name::Body if c.peek() != Some(b'[') => ItemView::Body(body_handle(c, false)?),
        Name::Body => {
            let section = section(c)?;
            let origin = origin(c)?;
            ItemView::BodySection {
                section,
                origin,
                data: c.nstring()?,
            }
        }
        Name::Binary => {
            let section = binary_section(c)?;
            let origin = origin(c)?;
            ItemView::BinarySection {
                section,
                origin,
                data: c.nstring()?,
            }
        }
        Name::BinarySize => ItemView::BinarySize {
            section: binary_section(c)?,
            size: c.number()?,
        },
        Name::Rfc822 => ItemView::Rfc822(c.nstring()?),
        Name::Rfc822Header => ItemView::Rfc822Header(c.nstring()?),
        Name::Rfc822Text => ItemView::Rfc822Text(c.nstring()?),
        Name::ModSeq => {
            c.expect(b'(')?;
            let v = c.number()?;
            c.expect(b')')?;
            ItemView::ModSeq(v)
        }
        Name::EmailId => {
            c.expect(b'(')?;
            let v = c.atom()?;
            c.expect(b')')?;
            ItemView::EmailId(v)
        }
        Name::ThreadId => {
            if c.keyword(b"NIL") {
                ItemView::ThreadId(None)
            } else {
                c.expect(b'(')?;
                let v = c.atom()?;
                c.expect(b')')?;
                ItemView::ThreadId(Some(v))
            }
        }
        Name::SaveDate => match c.nstring()? {
            None => ItemView::SaveDate(None),
            Some(s) => match crate::date::parse_internaldate(&s.as_bytes()) {
                Some(d) => ItemView::SaveDate(Some(d)),
                None => return Err(c.fail_with(What::BadSaveDate)),
            },
        },
        Name::Preview => ItemView::Preview(c.nstring()?),
        Name::GmailMessageId => ItemView::GmailMessageId(c.number()?),
        Name::GmailThreadId => ItemView::GmailThreadId(c.number()?),
        Name::GmailLabels => {
            c.skip_spaces();
            let at = c.state();
            c.list(|c| c.string().map(|_| ()))?;
            ItemView::GmailLabels(StringList { src: c.src, at })
        }
        Name::Other => {
            c.skip_spaces();
            let mark = c.state();
            if !skip_item_tail(c) {
                return Err(c.fail(Msg::CannotDelimit));
            }
            ItemView::Other {
                raw: c.raw_since(mark),
            }
        }
    })
}

pub(super) fn origin(c: &mut Cur<'_>) -> VResult<Option<u64>> {
    if c.peek() == Some(b'<') {
        c.expect(b'<')?;
        let v = c.number()?;
        c.expect(b'>')?;
        Ok(Some(v))
    } else {
        Ok(None)
    }
}

/// Length of the part numbers (`1.2.`) at the start of a section
/// specifier, as the owned [`Section`] splits it.
pub(super) fn part_numbers_len(spec: &[u8]) -> usize {
    let mut at = 0;
    loop {
        let digits = spec[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return at;
        }
        at += digits;
        match spec.get(at) {
            Some(b'.') => at += 1,
            _ => return at,
        }
    }
}

pub(super) fn section<'a>(c: &mut Cur<'a>) -> VResult<SectionView<'a>> {
    c.expect(b'[')?;
    c.skip_spaces();
    let word: &'a [u8] = if c.peek() == Some(b']') {
        b""
    } else {
        c.item_name()?
    };
    let split = part_numbers_len(word);
    let rest = &word[split..];
    let mut fields = None;
    if rest.eq_ignore_ascii_case(b"HEADER.FIELDS")
        || rest.eq_ignore_ascii_case(b"HEADER.FIELDS.NOT")
    {
        c.skip_spaces();
        let at = c.state();
        c.list(|c| c.string().map(|_| ()))?;
        fields = Some(at);
    }
    c.expect(b']')?;
    Ok(SectionView {
        src: c.src,
        word,
        split,
        fields,
    })
}

pub(super) fn binary_section<'a>(c: &mut Cur<'a>) -> VResult<PartNumbers<'a>> {
    c.expect(b'[')?;
    c.skip_spaces();
    if c.eat(b']') {
        return Ok(PartNumbers { spec: b"" });
    }
    let word = c.item_name()?;
    if part_numbers_len(word) != word.len() {
        return Err(c.fail(Msg::InvalidBinarySection));
    }
    c.expect(b']')?;
    Ok(PartNumbers { spec: word })
}

/// One FETCH item, borrowed.
// An envelope carries the addresses recorded when it was checked, which
// makes it the largest variant by far; boxing it would cost an allocation
// and the `Copy` the views share.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ItemView<'a> {
    /// `FLAGS (...)`.
    Flags(FlagsView<'a>),
    /// `UID n`.
    Uid(u32),
    /// `INTERNALDATE "..."`.
    InternalDate(DateTime<FixedOffset>),
    /// `RFC822.SIZE n`.
    Rfc822Size(u64),
    /// `ENVELOPE (...)`.
    Envelope(EnvelopeView<'a>),
    /// `BODYSTRUCTURE (...)`.
    BodyStructure(BodyView<'a>),
    /// `BODY (...)`: the structure without extension data.
    Body(BodyView<'a>),
    /// `BODY[section]<origin>` and its data (`None` for NIL).
    BodySection {
        /// The section.
        section: SectionView<'a>,
        /// The offset, for partial fetches.
        origin: Option<u64>,
        /// The data.
        data: Option<StrView<'a>>,
    },
    /// `BINARY[part]<origin>` (RFC 3516).
    BinarySection {
        /// Part numbers.
        section: PartNumbers<'a>,
        /// The offset, for partial fetches.
        origin: Option<u64>,
        /// The decoded content.
        data: Option<StrView<'a>>,
    },
    /// `BINARY.SIZE[part] n` (RFC 3516).
    BinarySize {
        /// Part numbers.
        section: PartNumbers<'a>,
        /// The decoded size.
        size: u64,
    },
    /// `RFC822` data.
    Rfc822(Option<StrView<'a>>),
    /// `RFC822.HEADER` data.
    Rfc822Header(Option<StrView<'a>>),
    /// `RFC822.TEXT` data.
    Rfc822Text(Option<StrView<'a>>),
    /// `MODSEQ (n)` (RFC 7162).
    ModSeq(u64),
    /// `EMAILID (id)` (RFC 8474).
    EmailId(&'a [u8]),
    /// `THREADID (id)` or `THREADID NIL` (RFC 8474).
    ThreadId(Option<&'a [u8]>),
    /// `SAVEDATE "..."` or NIL (RFC 8514).
    SaveDate(Option<DateTime<FixedOffset>>),
    /// `PREVIEW "..."` or NIL (RFC 8970).
    Preview(Option<StrView<'a>>),
    /// `X-GM-MSGID n` (Gmail).
    GmailMessageId(u64),
    /// `X-GM-THRID n` (Gmail).
    GmailThreadId(u64),
    /// `X-GM-LABELS (...)` (Gmail).
    GmailLabels(StringList<'a>),
    /// An item this library does not know: its value as received.
    Other {
        /// The value.
        raw: RawView<'a>,
    },
    /// An item that could not be decoded.
    Undecodable {
        /// Its bytes as received, name included (as far as they could be
        /// delimited).
        raw: RawView<'a>,
        /// Why it could not be decoded.
        reason: Reason<'a>,
    },
}

pub(super) fn upper_name(name: &[u8]) -> String {
    String::from_utf8_lossy(name).to_ascii_uppercase()
}

pub(super) fn opt_bytes(s: Option<StrView<'_>>) -> Option<Bytes> {
    s.map(StrView::to_owned_bytes)
}

impl ItemView<'_> {
    /// The owned item; `name` is the item's name as the iterator gave it.
    pub fn to_fetch_item(&self, name: &[u8]) -> FetchItem {
        match *self {
            ItemView::Flags(f) => FetchItem::Flags(f.iter().map(Cow::into_owned).collect()),
            ItemView::Uid(u) => FetchItem::Uid(u),
            ItemView::InternalDate(d) => FetchItem::InternalDate(d),
            ItemView::Rfc822Size(n) => FetchItem::Rfc822Size(n),
            ItemView::Envelope(e) => FetchItem::Envelope(Box::new(e.to_envelope())),
            ItemView::BodyStructure(b) => FetchItem::BodyStructure(Box::new(b.to_body_structure())),
            ItemView::Body(b) => FetchItem::Body(Box::new(b.to_body_structure())),
            ItemView::BodySection {
                section,
                origin,
                data,
            } => FetchItem::BodySection {
                section: section.to_section(),
                origin,
                data: opt_bytes(data),
            },
            ItemView::BinarySection {
                section,
                origin,
                data,
            } => FetchItem::BinarySection {
                section: section.iter().collect(),
                origin,
                data: opt_bytes(data),
            },
            ItemView::BinarySize { section, size } => FetchItem::BinarySize {
                section: section.iter().collect(),
                size,
            },
            ItemView::Rfc822(d) => FetchItem::Rfc822(opt_bytes(d)),
            ItemView::Rfc822Header(d) => FetchItem::Rfc822Header(opt_bytes(d)),
            ItemView::Rfc822Text(d) => FetchItem::Rfc822Text(opt_bytes(d)),
            ItemView::ModSeq(n) => FetchItem::ModSeq(n),
            ItemView::EmailId(id) => FetchItem::EmailId(Bytes::copy_from_slice(id)),
            ItemView::ThreadId(id) => FetchItem::ThreadId(id.map(Bytes::copy_from_slice)),
            ItemView::SaveDate(d) => FetchItem::SaveDate(d),
            ItemView::Preview(p) => FetchItem::Preview(opt_bytes(p)),
            ItemView::GmailMessageId(n) => FetchItem::GmailMessageId(n),
            ItemView::GmailThreadId(n) => FetchItem::GmailThreadId(n),
            ItemView::GmailLabels(l) => {
                FetchItem::GmailLabels(l.iter().map(StrView::to_owned_bytes).collect())
            }
            ItemView::Other { raw } => FetchItem::Other {
                name: upper_name(name),
                raw: Bytes::from(raw.joined().into_owned()),
            },
            ItemView::Undecodable { raw, reason } => FetchItem::Undecodable {
                name: upper_name(name),
                raw: Bytes::from(raw.joined().into_owned()),
                reason: reason.fail.render(&reason.src),
            },
        }
    }
}
