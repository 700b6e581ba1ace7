use super::*;

// ---------------------------------------------------------------------------
// ENVELOPE.

/// An ENVELOPE (RFC 3501 §7.4.2), read in place.
#[derive(Clone, Copy, Debug)]
pub struct EnvelopeView<'a> {
    pub(super) src: Source<'a>,
    pub(super) date: Option<StrView<'a>>,
    pub(super) subject: Option<StrView<'a>>,
    /// From, sender, reply-to, to, cc, bcc; `None` for a quoted string
    /// where a list belongs (read as no address).
    pub(super) lists: [Option<At>; 6],
    pub(super) in_reply_to: Option<StrView<'a>>,
    pub(super) message_id: Option<StrView<'a>>,
    /// The addresses recorded while checking, in order: list `i` holds
    /// `addrs[ends[i - 1]..ends[i]]` (from 0 for the first list).
    pub(super) addrs: [Packed; RECORDED],
    pub(super) ends: [u8; 6],
    /// Lists not recorded (bit `i` for list `i`), read again from their
    /// position when iterated.
    pub(super) unrecorded: u8,
}

/// How many addresses an envelope records while it is checked; the lists
/// past them are read again when iterated.
pub(super) const RECORDED: usize = 8;

/// An address recorded while checking: where its four fields lie.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Packed {
    /// Offset of the address's opening parenthesis.
    pub(super) base: u32,
    /// Each field's offset from `base` and length.
    pub(super) spans: [(u16, u16); 4],
    /// Each field's form: 0 for NIL, else a [`StrForm`] code, plus
    /// [`ESCAPED`] for a quoted string holding a backslash.
    pub(super) forms: [u8; 4],
}

/// Form codes of [`Packed::forms`].
pub(super) const QUOTED: u8 = 1;
pub(super) const LITERAL: u8 = 2;
pub(super) const ATOM: u8 = 3;
pub(super) const ESCAPED: u8 = 4;

impl Packed {
    /// Records `s` as field `k`; false if it lies too far to be recorded.
    #[inline(always)]
    pub(super) fn set(&mut self, k: usize, s: Option<StrView<'_>>, buf: &[u8]) -> bool {
        let Some(s) = s else {
            return true;
        };
        let off = (s.raw.as_ptr() as usize)
            .wrapping_sub(buf.as_ptr() as usize)
            .wrapping_sub(self.base as usize);
        let (Ok(off), Ok(len)) = (u16::try_from(off), u16::try_from(s.raw.len())) else {
            return false;
        };
        self.spans[k] = (off, len);
        self.forms[k] = match s.form {
            StrForm::Quoted => QUOTED,
            StrForm::Literal => LITERAL,
            StrForm::Atom | StrForm::Raw => ATOM,
        } | if s.escaped { ESCAPED } else { 0 };
        true
    }

    /// Field `k` again.
    #[inline(always)]
    pub(super) fn get<'a>(&self, k: usize, buf: &'a [u8]) -> Option<StrView<'a>> {
        let code = self.forms[k];
        let form = match code & 3 {
            0 => return None,
            QUOTED => StrForm::Quoted,
            LITERAL => StrForm::Literal,
            _ => StrForm::Atom,
        };
        let (off, len) = self.spans[k];
        let start = self.base as usize + usize::from(off);
        Some(StrView {
            raw: buf.get(start..start + usize::from(len)).unwrap_or_default(),
            form,
            escaped: code & ESCAPED != 0,
            spans_literal: false,
        })
    }
}

impl<'a> EnvelopeView<'a> {
    /// Date header, raw.
    #[inline]
    pub fn date(&self) -> Option<StrView<'a>> {
        self.date
    }

    /// Subject header, raw (may be RFC 2047 encoded).
    #[inline]
    pub fn subject(&self) -> Option<StrView<'a>> {
        self.subject
    }

    #[inline]
    pub(super) fn list(&self, i: usize) -> Addresses<'_> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let (start, end) = (usize::from(start), usize::from(self.ends[i]));
        if self.unrecorded & (1 << i) == 0 {
            return Addresses {
                from: AddressSource::Recorded {
                    buf: self.src.buf,
                    addrs: self.addrs.get(start..end).unwrap_or_default().iter(),
                },
            };
        }
        Addresses {
            from: AddressSource::Read(match self.lists[i] {
                Some(at) => Elements::open(self.src, at),
                None => Elements::empty(self.src),
            }),
        }
    }

    /// From addresses.
    #[inline]
    pub fn from(&self) -> Addresses<'_> {
        self.list(0)
    }

    /// Sender addresses.
    #[inline]
    pub fn sender(&self) -> Addresses<'_> {
        self.list(1)
    }

    /// Reply-To addresses.
    #[inline]
    pub fn reply_to(&self) -> Addresses<'_> {
        self.list(2)
    }

    /// To addresses.
    #[inline]
    pub fn to(&self) -> Addresses<'_> {
        self.list(3)
    }

    /// Cc addresses.
    #[inline]
    pub fn cc(&self) -> Addresses<'_> {
        self.list(4)
    }

    /// Bcc addresses.
    #[inline]
    pub fn bcc(&self) -> Addresses<'_> {
        self.list(5)
    }

    /// In-Reply-To header, raw.
    #[inline]
    pub fn in_reply_to(&self) -> Option<StrView<'a>> {
        self.in_reply_to
    }

    /// Message-ID header, raw.
    #[inline]
    pub fn message_id(&self) -> Option<StrView<'a>> {
        self.message_id
    }

    /// The owned form.
    pub fn to_envelope(&self) -> Envelope {
        let list = |a: Addresses<'_>| a.map(|a| a.to_address()).collect();
        Envelope {
            date: opt_bytes(self.date),
            subject: opt_bytes(self.subject),
            from: list(self.from()),
            sender: list(self.sender()),
            reply_to: list(self.reply_to()),
            to: list(self.to()),
            cc: list(self.cc()),
            bcc: list(self.bcc()),
            in_reply_to: opt_bytes(self.in_reply_to),
            message_id: opt_bytes(self.message_id),
        }
    }
}

/// The addresses of one ENVELOPE field, as recorded when the response
/// was checked (borrowed from the [`EnvelopeView`]) or read as they are
/// iterated.
#[derive(Clone, Debug)]
pub struct Addresses<'a> {
    pub(super) from: AddressSource<'a>,
}

#[derive(Clone, Debug)]
pub(super) enum AddressSource<'a> {
    /// Recorded while checking: read from the envelope view.
    Recorded {
        buf: &'a [u8],
        addrs: std::slice::Iter<'a, Packed>,
    },
    Read(Elements<'a>),
}

impl<'a> Iterator for Addresses<'a> {
    type Item = AddressView<'a>;

    #[inline(always)]
    fn next(&mut self) -> Option<AddressView<'a>> {
        let elements = match &mut self.from {
            AddressSource::Recorded { buf, addrs } => {
                let a = addrs.next()?;
                return Some(AddressView {
                    name: a.get(0, buf),
                    adl: a.get(1, buf),
                    mailbox: a.get(2, buf),
                    host: a.get(3, buf),
                });
            }
            AddressSource::Read(elements) => elements,
        };
        loop {
            let c = elements.next_element()?;
            if c.peek() != Some(b'(') {
                // A stray value inside the list: skipped, as the owned
                // decoder does.
                c.skip_value().ok()?;
                continue;
            }
            c.pos += 1;
            let address = AddressView {
                name: c.nstring().ok()?,
                adl: c.nstring().ok()?,
                mailbox: c.nstring().ok()?,
                host: c.nstring().ok()?,
            };
            c.expect(b')').ok()?;
            return Some(address);
        }
    }
}

/// An address of an ENVELOPE. Groups appear as in [`Address`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressView<'a> {
    /// Display name.
    pub name: Option<StrView<'a>>,
    /// Source route (obsolete).
    pub adl: Option<StrView<'a>>,
    /// Local part (or group name for a group start marker).
    pub mailbox: Option<StrView<'a>>,
    /// Domain.
    pub host: Option<StrView<'a>>,
}

impl AddressView<'_> {
    /// True for the marker that starts a group.
    pub fn is_group_start(&self) -> bool {
        self.host.is_none() && self.mailbox.is_some()
    }

    /// True for the marker that ends a group.
    pub fn is_group_end(&self) -> bool {
        self.host.is_none() && self.mailbox.is_none()
    }

    /// The owned form.
    pub fn to_address(&self) -> Address {
        Address {
            name: opt_bytes(self.name),
            adl: opt_bytes(self.adl),
            mailbox: opt_bytes(self.mailbox),
            host: opt_bytes(self.host),
        }
    }
}

pub(super) fn envelope<'a>(c: &mut Cur<'a>) -> VResult<EnvelopeView<'a>> {
    c.skip_spaces();
    if c.peek() != Some(b'(') {
        return Err(c.fail_with(What::Expected(b'(')));
    }
    c.pos += 1;
    c.enter()?;
    let date = c.nstring()?;
    let subject = c.nstring()?;
    let mut env = EnvelopeView {
        src: c.src,
        date,
        subject,
        lists: [None; 6],
        in_reply_to: None,
        message_id: None,
        addrs: [Packed::default(); RECORDED],
        ends: [0; 6],
        unrecorded: 0,
    };
    let mut count = 0;
    for i in 0..6 {
        let (at, recorded) = record_addresses(c, &mut env.addrs, &mut count)?;
        env.lists[i] = at;
        env.ends[i] = count as u8;
        if !recorded {
            env.unrecorded |= 1 << i;
        }
    }
    // Some servers end the envelope early: missing trailing fields are
    // accepted.
    if !c.eat(b')') {
        env.in_reply_to = c.nstring_here()?;
        if !c.eat(b')') {
            env.message_id = c.nstring_here()?;
            while !c.eat(b')') {
                if c.at_end() {
                    return Err(c.fail(Msg::UnterminatedEnvelope));
                }
                c.skip_value()?;
            }
        }
    }
    c.leave();
    Ok(env)
}

/// [`envelope`], reading nothing.
pub(super) fn skip_envelope(c: &mut Cur<'_>) -> VResult<()> {
    c.skip_spaces();
    c.expect(b'(')?;
    c.enter()?;
    c.skip_nstring()?;
    c.skip_nstring()?;
    for _ in 0..6 {
        addresses(c)?;
    }
    if !c.eat(b')') {
        c.skip_nstring()?;
        if !c.eat(b')') {
            c.skip_nstring()?;
            while !c.eat(b')') {
                if c.at_end() {
                    return Err(c.fail(Msg::UnterminatedEnvelope));
                }
                c.skip_value()?;
            }
        }
    }
    c.leave();
    Ok(())
}

/// [`addresses`], recording the addresses in `addrs` from `*count` on;
/// also whether the whole list was recorded (if not, `*count` is left as
/// it was).
#[inline]
pub(super) fn record_addresses(
    c: &mut Cur<'_>,
    addrs: &mut [Packed; RECORDED],
    count: &mut usize,
) -> VResult<(Option<At>, bool)> {
    c.skip_spaces();
    if c.peek() == Some(b'"') {
        c.string()?;
        return Ok((None, true));
    }
    let at = c.state();
    let first = *count;
    if simple_addresses(c, addrs, count) {
        return Ok((Some(at), true));
    }
    let buf = c.src.buf;
    let mut n = first;
    let mut recorded = true;
    c.list_here(|c| {
        if c.peek() != Some(b'(') {
            c.skip_value()?;
            recorded = false;
            return Ok(());
        }
        let mut spare = Packed::default();
        let full = n >= RECORDED;
        let slot = addrs.get_mut(n).unwrap_or(&mut spare);
        if simple_address(c, slot) {
            if full {
                recorded = false;
            } else {
                n += 1;
            }
            return Ok(());
        }
        let mut a = Packed {
            base: c.pos as u32,
            ..Packed::default()
        };
        c.pos += 1;
        let mut fits = a.set(0, c.nstring()?, buf);
        fits &= a.set(1, c.nstring()?, buf);
        fits &= a.set(2, c.nstring()?, buf);
        fits &= a.set(3, c.nstring()?, buf);
        c.expect(b')')?;
        match addrs.get_mut(n) {
            Some(slot) if fits => {
                *slot = a;
                n += 1;
            }
            _ => recorded = false,
        }
        Ok(())
    })?;
    *count = if recorded { n } else { first };
    Ok((Some(at), recorded))
}

/// The usual shape of an address list, the cursor at its opening
/// parenthesis: addresses of the usual shape ([`simple_address`]) with
/// nothing between them, all of which fit in `addrs`. Read and recorded
/// if so (true); false, the cursor and `*count` left as they were, for
/// any other shape or where the list would nest too deep.
#[inline(always)]
pub(super) fn simple_addresses(
    c: &mut Cur<'_>,
    addrs: &mut [Packed; RECORDED],
    count: &mut usize,
) -> bool {
    if c.depth as usize >= MAX_DEPTH || c.peek() != Some(b'(') {
        return false;
    }
    let start = c.pos;
    let mut n = *count;
    c.pos += 1;
    loop {
        match c.peek() {
            Some(b')') => {
                c.pos += 1;
                *count = n;
                return true;
            }
            Some(b'(') if n < RECORDED => {
                if !simple_address(c, &mut addrs[n]) {
                    break;
                }
                n += 1;
            }
            _ => break,
        }
    }
    c.pos = start;
    false
}

/// The usual shape of an address, the cursor at its opening parenthesis:
/// four fields, each a quoted string without backslash or NIL, one space
/// apart, the closing parenthesis right after the last. Read and recorded
/// into `a` if so (what the general reading gives for it; true); false,
/// the cursor left where it was and `a` holding nothing of use, for any
/// other shape.
///
/// Written straight into its slot: building the record on the stack and
/// copying it there made the processor read back the many small writes
/// as whole words, which it cannot forward from its store buffer, and
/// stalled on every address.
#[inline(always)]
pub(super) fn simple_address(c: &mut Cur<'_>, a: &mut Packed) -> bool {
    let t = c.text;
    let base = c.pos;
    let mut p = base + 1;
    a.base = base as u32;
    for k in 0..4 {
        match t.get(p) {
            Some(b'"') => {
                let Some(end) = quote_or_backslash(t, p + 1) else {
                    return false;
                };
                if t[end] != b'"' {
                    return false;
                }
                // Truncation is caught below: the whole address must lie
                // within 64 KiB of its start.
                a.spans[k] = ((p + 1 - base) as u16, (end - p - 1) as u16);
                a.forms[k] = QUOTED;
                p = end + 1;
            }
            Some(b'N' | b'n') => {
                let Some(word) = t.get(p..p + 3) else {
                    return false;
                };
                if word[1] & 0xdf != b'I' || word[2] & 0xdf != b'L' {
                    return false;
                }
                a.forms[k] = 0;
                p += 3;
            }
            _ => return false,
        }
        // A space (or the closing parenthesis) ends the NIL atom too.
        let next = if k == 3 { b')' } else { b' ' };
        if t.get(p) != Some(&next) {
            return false;
        }
        p += 1;
    }
    if p - base > usize::from(u16::MAX) {
        return false;
    }
    c.pos = p;
    true
}

/// The usual shape of a parameter list, the cursor at its opening
/// parenthesis: one to four quoted strings without backslash, one space
/// apart, the closing parenthesis right after the last. Read and recorded
/// into `rec` if so (what the general reading gives for it; true); false,
/// the cursor left where it was and `rec` holding nothing of use, for any
/// other shape or where the list would nest too deep. Written in place,
/// as [`simple_address`] is.
#[inline(always)]
pub(super) fn simple_params(c: &mut Cur<'_>, rec: &mut ParamRec) -> bool {
    if c.depth as usize >= MAX_DEPTH {
        return false;
    }
    let t = c.text;
    let base = c.pos;
    let mut p = base + 1;
    rec.packed.base = base as u32;
    for k in 0..4 {
        if t.get(p) != Some(&b'"') {
            return false;
        }
        let Some(end) = quote_or_backslash(t, p + 1) else {
            return false;
        };
        if t[end] != b'"' {
            return false;
        }
        rec.packed.spans[k] = ((p + 1 - base) as u16, (end - p - 1) as u16);
        rec.packed.forms[k] = QUOTED;
        p = end + 1;
        match t.get(p) {
            Some(b' ') => p += 1,
            Some(b')') => {
                p += 1;
                if p - base > usize::from(u16::MAX) {
                    return false;
                }
                rec.count = k as u8 + 1;
                c.pos = p;
                return true;
            }
            _ => return false,
        }
    }
    false
}

/// Checks one address list; its position, or `None` for a quoted string
/// where the list belongs (no address).
#[inline]
pub(super) fn addresses(c: &mut Cur<'_>) -> VResult<Option<At>> {
    c.skip_spaces();
    if c.peek() == Some(b'"') {
        c.string()?;
        return Ok(None);
    }
    let at = c.state();
    c.list(|c| {
        if c.peek() != Some(b'(') {
            c.skip_value()?;
            return Ok(());
        }
        c.pos += 1;
        c.skip_nstring()?;
        c.skip_nstring()?;
        c.skip_nstring()?;
        c.skip_nstring()?;
        c.expect(b')')
    })?;
    Ok(Some(at))
}
