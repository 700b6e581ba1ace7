use super::*;

// ---------------------------------------------------------------------------
// BODY / BODYSTRUCTURE.

/// A body structure (RFC 3501 §7.4.2 BODY, BODYSTRUCTURE), checked and
/// not yet read: [`BodyView::read`] reads its top level.
#[derive(Clone, Copy, Debug)]
pub struct BodyView<'a> {
    pub(super) src: Source<'a>,
    pub(super) at: At,
    pub(super) extensible: bool,
}

impl<'a> BodyView<'a> {
    /// Reads the top level: a single part's fields, or a multipart's
    /// subtype and parameters (its parts are read as they are iterated).
    pub fn read(&self) -> BodyPart<'a> {
        match read_body(&mut Cur::new(self.src, self.at), self.extensible) {
            Ok(part) => part,
            // Cannot happen: the structure was checked when the response
            // was read. An empty part rather than a panic.
            Err(_) => BodyPart::Single(SinglePartView::empty(self.src, self.extensible)),
        }
    }

    /// True for a BODYSTRUCTURE (with extension data), false for BODY.
    pub fn is_extensible(&self) -> bool {
        self.extensible
    }

    /// The owned form.
    pub fn to_body_structure(&self) -> BodyStructure {
        self.read().to_body_structure()
    }
}

/// One level of a body structure, read in place.
#[derive(Clone, Copy, Debug)]
pub enum BodyPart<'a> {
    /// A non-multipart part.
    Single(SinglePartView<'a>),
    /// A multipart.
    Multipart(MultipartView<'a>),
}

impl<'a> BodyPart<'a> {
    /// True for a multipart.
    pub fn is_multipart(&self) -> bool {
        matches!(self, BodyPart::Multipart(_))
    }

    /// Media type (`TEXT`, `IMAGE`...; `MULTIPART` for a multipart).
    #[inline]
    pub fn media_type(&self) -> StrView<'a> {
        match self {
            BodyPart::Single(s) => s.media_type,
            BodyPart::Multipart(_) => StrView::new(b"MULTIPART", StrForm::Atom),
        }
    }

    /// Media subtype.
    #[inline]
    pub fn media_subtype(&self) -> StrView<'a> {
        match self {
            BodyPart::Single(s) => s.media_subtype,
            BodyPart::Multipart(m) => m.media_subtype,
        }
    }

    /// Content-Type parameters.
    pub fn params(&self) -> Params<'a> {
        match self {
            BodyPart::Single(s) => s.params(),
            BodyPart::Multipart(m) => m.params(),
        }
    }

    /// Extension data (disposition, language, location, more).
    pub fn extension(&self) -> ExtensionView<'a> {
        match self {
            BodyPart::Single(s) => s.extension(),
            BodyPart::Multipart(m) => m.extension(),
        }
    }

    /// The parts of a multipart (none for a single part).
    pub fn parts(&self) -> Parts<'a> {
        match self {
            BodyPart::Single(s) => Parts {
                kept: &[],
                c: Cur::new(s.src, s.params),
                extensible: false,
                done: true,
            },
            BodyPart::Multipart(m) => m.parts(),
        }
    }

    /// The owned form.
    pub fn to_body_structure(&self) -> BodyStructure {
        match self {
            BodyPart::Single(s) => BodyStructure::Single(Box::new(s.to_single_part())),
            BodyPart::Multipart(m) => BodyStructure::Multipart(Box::new(m.to_multipart())),
        }
    }
}

/// A non-multipart body part, read in place.
#[derive(Clone, Copy, Debug)]
pub struct SinglePartView<'a> {
    pub(super) src: Source<'a>,
    /// Media type, e.g. `TEXT` (NIL reads as empty).
    pub media_type: StrView<'a>,
    /// Media subtype, e.g. `PLAIN` (NIL reads as empty).
    pub media_subtype: StrView<'a>,
    pub(super) params: At,
    pub(super) params_rec: ParamRec,
    /// Content-ID.
    pub id: Option<StrView<'a>>,
    /// Content-Description.
    pub description: Option<StrView<'a>>,
    /// Content-Transfer-Encoding.
    pub encoding: Option<StrView<'a>>,
    /// Size in bytes (as encoded).
    pub size: u64,
    /// Lines, for TEXT and MESSAGE/RFC822 parts.
    pub lines: Option<u64>,
    /// The enclosed message's envelope and body, for MESSAGE/RFC822.
    pub(super) message: Option<(At, At)>,
    pub(super) extensible: bool,
    /// Content-MD5 (extension data).
    pub md5: Option<StrView<'a>>,
    pub(super) ext: ExtensionView<'a>,
}

impl<'a> SinglePartView<'a> {
    pub(super) fn empty(src: Source<'a>, extensible: bool) -> SinglePartView<'a> {
        SinglePartView {
            src,
            media_type: EMPTY,
            media_subtype: EMPTY,
            params: src.origin(),
            params_rec: ParamRec::EMPTY,
            id: None,
            description: None,
            encoding: None,
            size: 0,
            lines: None,
            message: None,
            extensible,
            md5: None,
            ext: ExtensionView::empty(src),
        }
    }

    /// Content-Type parameters.
    pub fn params(&self) -> Params<'a> {
        Params::new(self.src, Some(self.params), self.params_rec)
    }

    /// For MESSAGE/RFC822 (and MESSAGE/GLOBAL): the enclosed message's
    /// envelope and body structure.
    pub fn message(&self) -> Option<(EnvelopeView<'a>, BodyView<'a>)> {
        let (env, body_at) = self.message?;
        let envelope = envelope(&mut Cur::new(self.src, env)).ok()?;
        let inner = BodyView {
            src: self.src,
            at: body_at,
            extensible: self.extensible,
        };
        Some((envelope, inner))
    }

    /// Extension data.
    pub fn extension(&self) -> ExtensionView<'a> {
        self.ext
    }

    /// The owned form.
    pub fn to_single_part(&self) -> SinglePart {
        SinglePart {
            media_type: self.media_type.to_owned_bytes(),
            media_subtype: self.media_subtype.to_owned_bytes(),
            params: self.params().to_owned_pairs(),
            id: opt_bytes(self.id),
            description: opt_bytes(self.description),
            encoding: opt_bytes(self.encoding),
            size: self.size,
            lines: self.lines,
            message: self
                .message()
                .map(|(e, b)| (Box::new(e.to_envelope()), Box::new(b.to_body_structure()))),
            ext: self.extension().to_extension(),
            md5: opt_bytes(self.md5),
        }
    }
}

/// A multipart body, read in place.
#[derive(Clone, Copy, Debug)]
pub struct MultipartView<'a> {
    pub(super) src: Source<'a>,
    /// The parts read while checking, which come before `first`.
    pub(super) kept: &'a [SinglePartView<'a>],
    /// The first part not kept.
    pub(super) first: At,
    pub(super) extensible: bool,
    /// Subtype, e.g. `MIXED` (NIL reads as empty).
    pub media_subtype: StrView<'a>,
    pub(super) params: Option<At>,
    pub(super) params_rec: ParamRec,
    pub(super) ext: ExtensionView<'a>,
}

impl<'a> MultipartView<'a> {
    /// The parts, in order.
    pub fn parts(&self) -> Parts<'a> {
        Parts {
            kept: self.kept,
            c: Cur::new(self.src, self.first),
            extensible: self.extensible,
            done: false,
        }
    }

    /// Content-Type parameters (extension data).
    pub fn params(&self) -> Params<'a> {
        Params::new(self.src, self.params, self.params_rec)
    }

    /// Extension data.
    pub fn extension(&self) -> ExtensionView<'a> {
        self.ext
    }

    /// The owned form.
    pub fn to_multipart(&self) -> Multipart {
        Multipart {
            parts: self.parts().map(|p| p.to_body_structure()).collect(),
            media_subtype: self.media_subtype.to_owned_bytes(),
            params: self.params().to_owned_pairs(),
            ext: self.extension().to_extension(),
        }
    }
}

/// The parts of a multipart, read as they are iterated.
#[derive(Clone)]
pub struct Parts<'a> {
    pub(super) kept: &'a [SinglePartView<'a>],
    pub(super) c: Cur<'a>,
    pub(super) extensible: bool,
    pub(super) done: bool,
}

impl fmt::Debug for Parts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parts")
            .field("at", &self.c.state())
            .field("done", &self.done)
            .finish()
    }
}

impl<'a> Iterator for Parts<'a> {
    type Item = BodyPart<'a>;

    fn next(&mut self) -> Option<BodyPart<'a>> {
        if let Some((first, rest)) = self.kept.split_first() {
            self.kept = rest;
            return Some(BodyPart::Single(*first));
        }
        if self.done {
            return None;
        }
        self.c.skip_spaces();
        if self.c.peek() != Some(b'(') {
            self.done = true;
            return None;
        }
        let part = read_body_here(&mut self.c, self.extensible).ok();
        self.done = part.is_none();
        part
    }
}

/// Content-Type or disposition parameters: `(key, value)` pairs, NIL
/// read as empty, a key without value paired with an empty value.
#[derive(Clone, Debug)]
pub struct Params<'a> {
    pub(super) from: ParamSource<'a>,
}

#[derive(Clone, Debug)]
pub(super) enum ParamSource<'a> {
    Recorded {
        buf: &'a [u8],
        packed: Packed,
        next: u8,
        count: u8,
    },
    Read(Elements<'a>),
}

/// The first elements of a parameter list, recorded while checking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ParamRec {
    pub(super) packed: Packed,
    /// Elements recorded (at most 4), or [`ParamRec::UNRECORDED`].
    pub(super) count: u8,
}

impl ParamRec {
    pub(super) const EMPTY: ParamRec = ParamRec {
        packed: Packed {
            base: 0,
            spans: [(0, 0); 4],
            forms: [0; 4],
        },
        count: 0,
    };
    /// A list too long (or too far spread) to be recorded: read again.
    pub(super) const UNRECORDED: u8 = u8::MAX;
}

impl<'a> Params<'a> {
    /// The parameters of the list at `at` (none for `None`), from `rec`
    /// when they were recorded.
    #[inline]
    pub(super) fn new(src: Source<'a>, at: Option<At>, rec: ParamRec) -> Params<'a> {
        let from = match at {
            Some(at) if rec.count == ParamRec::UNRECORDED => {
                ParamSource::Read(Elements::open(src, at))
            }
            Some(_) => ParamSource::Recorded {
                buf: src.buf,
                packed: rec.packed,
                next: 0,
                count: rec.count,
            },
            None => ParamSource::Recorded {
                buf: src.buf,
                packed: rec.packed,
                next: 0,
                count: 0,
            },
        };
        Params { from }
    }

    pub(super) fn to_owned_pairs(&self) -> Vec<(Bytes, Bytes)> {
        self.clone()
            .map(|(k, v)| (k.to_owned_bytes(), v.to_owned_bytes()))
            .collect()
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = (StrView<'a>, StrView<'a>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let elements = match &mut self.from {
            ParamSource::Recorded {
                buf,
                packed,
                next,
                count,
            } => {
                let k = usize::from(*next);
                if k >= usize::from(*count) || k >= 4 {
                    return None;
                }
                let key = packed.get(k, buf).unwrap_or(EMPTY);
                let value = if k + 1 < usize::from(*count) && k + 1 < 4 {
                    packed.get(k + 1, buf).unwrap_or(EMPTY)
                } else {
                    EMPTY
                };
                *next += 2;
                return Some((key, value));
            }
            ParamSource::Read(elements) => elements,
        };
        let c = elements.next_element()?;
        let key = c.nstring_here().ok()?.unwrap_or(EMPTY);
        let value = match elements.next_element() {
            Some(c) => c.nstring_here().ok()?.unwrap_or(EMPTY),
            None => EMPTY,
        };
        Some((key, value))
    }
}

/// Extension data of a body part: disposition, language, location, and
/// any further values (RFC 3501 `body-ext-1part`, `body-ext-mpart`).
#[derive(Clone, Copy, Debug)]
pub struct ExtensionView<'a> {
    pub(super) src: Source<'a>,
    pub(super) disposition: Option<(StrView<'a>, Option<At>, ParamRec)>,
    pub(super) language: Language<'a>,
    pub(super) location: Option<StrView<'a>>,
    pub(super) extra: Option<At>,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Language<'a> {
    None,
    One(StrView<'a>),
    List(At),
}

impl<'a> ExtensionView<'a> {
    pub(super) fn empty(src: Source<'a>) -> ExtensionView<'a> {
        ExtensionView {
            src,
            disposition: None,
            language: Language::None,
            location: None,
            extra: None,
        }
    }

    /// Content-Disposition: its value and parameters.
    pub fn disposition(&self) -> Option<(StrView<'a>, Params<'a>)> {
        let (value, params, rec) = self.disposition?;
        Some((value, Params::new(self.src, params, rec)))
    }

    /// Content-Language values (NIL entries left out).
    pub fn language(&self) -> LanguageIter<'a> {
        match self.language {
            Language::None => LanguageIter {
                one: None,
                list: None,
            },
            Language::One(s) => LanguageIter {
                one: Some(s),
                list: None,
            },
            Language::List(at) => LanguageIter {
                one: None,
                list: Some(Elements::open(self.src, at)),
            },
        }
    }

    /// Content-Location.
    #[inline]
    pub fn location(&self) -> Option<StrView<'a>> {
        self.location
    }

    /// Further extension values, each as written ([`StrForm::Raw`], or a
    /// literal's data).
    pub fn extra(&self) -> Extra<'a> {
        Extra {
            c: self.extra.map(|at| Cur::new(self.src, at)),
        }
    }

    /// The owned form.
    pub fn to_extension(&self) -> Extension {
        Extension {
            disposition: self
                .disposition()
                .map(|(v, p)| (v.to_owned_bytes(), p.to_owned_pairs())),
            language: self.language().map(StrView::to_owned_bytes).collect(),
            location: opt_bytes(self.location),
            extra: self.extra().map(StrView::to_owned_bytes).collect(),
        }
    }
}

/// The Content-Language values of an [`ExtensionView`].
#[derive(Clone, Debug)]
pub struct LanguageIter<'a> {
    pub(super) one: Option<StrView<'a>>,
    pub(super) list: Option<Elements<'a>>,
}

impl<'a> Iterator for LanguageIter<'a> {
    type Item = StrView<'a>;

    fn next(&mut self) -> Option<StrView<'a>> {
        if let Some(one) = self.one.take() {
            return Some(one);
        }
        let elements = self.list.as_mut()?;
        loop {
            let c = elements.next_element()?;
            if let Some(s) = c.nstring().ok()? {
                return Some(s);
            }
        }
    }
}

/// The further extension values of an [`ExtensionView`].
#[derive(Clone)]
pub struct Extra<'a> {
    pub(super) c: Option<Cur<'a>>,
}

impl fmt::Debug for Extra<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extra")
            .field("at", &self.c.map(|c| c.state()))
            .finish()
    }
}

impl<'a> Iterator for Extra<'a> {
    type Item = StrView<'a>;

    fn next(&mut self) -> Option<StrView<'a>> {
        let c = self.c.as_mut()?;
        if c.eat(b')') || c.at_end() {
            self.c = None;
            return None;
        }
        let value = c.skip_value().ok();
        if value.is_none() {
            self.c = None;
        }
        value
    }
}

/// Reads the top level of a checked BODY or BODYSTRUCTURE value (nested
/// parts are checked again and skipped).
pub(super) fn read_body<'a>(c: &mut Cur<'a>, extensible: bool) -> VResult<BodyPart<'a>> {
    c.skip_spaces();
    read_body_here(c, extensible)
}

/// [`read_body`], spaces already skipped.
#[inline]
pub(super) fn read_body_here<'a>(c: &mut Cur<'a>, extensible: bool) -> VResult<BodyPart<'a>> {
    if c.peek() != Some(b'(') {
        return Err(c.fail_with(What::Expected(b'(')));
    }
    c.pos += 1;
    c.enter()?;
    c.skip_spaces();
    let result = if c.peek() == Some(b'(') {
        multipart(c, extensible).map(BodyPart::Multipart)
    } else {
        single(c, extensible).map(BodyPart::Single)
    };
    c.leave();
    result
}

pub(super) fn multipart<'a>(c: &mut Cur<'a>, extensible: bool) -> VResult<MultipartView<'a>> {
    multipart_keeping(c, extensible, &mut [], &mut 0)
}

/// [`multipart`], reading its first single parts into `keep` (`kept` of
/// them) rather than only checking them.
#[inline(always)]
pub(super) fn multipart_keeping<'a>(
    c: &mut Cur<'a>,
    extensible: bool,
    keep: &mut [SinglePartView<'a>],
    kept: &mut u8,
) -> VResult<MultipartView<'a>> {
    // Single parts are read while there is room (their rules are those
    // of `skip_body_here`).
    while usize::from(*kept) < keep.len() {
        c.skip_spaces();
        if c.peek() != Some(b'(') {
            break;
        }
        let mut ahead = *c;
        ahead.pos += 1;
        ahead.skip_spaces();
        if ahead.peek() == Some(b'(') {
            break;
        }
        c.pos += 1;
        c.enter()?;
        c.skip_spaces();
        let Some(slot) = keep.get_mut(usize::from(*kept)) else {
            break;
        };
        let read = single_into(c, extensible, slot);
        c.leave();
        read?;
        *kept += 1;
    }
    let first = c.state();
    loop {
        c.skip_spaces();
        if c.peek() == Some(b'(') {
            skip_body_here(c)?;
        } else {
            break;
        }
    }
    let mut m = MultipartView {
        src: c.src,
        first,
        kept: &[],
        extensible,
        media_subtype: c.nstring_here()?.unwrap_or(EMPTY),
        params: None,
        params_rec: ParamRec::EMPTY,
        ext: ExtensionView::empty(c.src),
    };
    if !c.eat(b')') {
        m.params = record_params(c, &mut m.params_rec)?;
        if !c.eat(b')') {
            m.ext = extension(c)?;
        }
    }
    Ok(m)
}

/// Spaces already skipped.
pub(super) fn single<'a>(c: &mut Cur<'a>, extensible: bool) -> VResult<SinglePartView<'a>> {
    let mut p = SinglePartView::empty(c.src, extensible);
    single_into(c, extensible, &mut p)?;
    Ok(p)
}

/// [`single`], read into `p`, every field of which it sets: the parts a
/// view keeps are filled where they lie instead of copied there.
#[inline(always)]
pub(super) fn single_into<'a>(
    c: &mut Cur<'a>,
    extensible: bool,
    p: &mut SinglePartView<'a>,
) -> VResult<()> {
    let media_type = c.nstring_here()?.unwrap_or(EMPTY);
    let media_subtype = c.nstring()?.unwrap_or(EMPTY);
    c.skip_spaces();
    p.src = c.src;
    p.media_type = media_type;
    p.media_subtype = media_subtype;
    p.params = c.state();
    record_params(c, &mut p.params_rec)?;
    p.id = nstring_or_list(c)?;
    p.description = nstring_or_list(c)?;
    p.encoding = nstring_or_list(c)?;
    p.size = number_tolerant(c)?;
    p.lines = None;
    p.message = None;
    p.extensible = extensible;
    p.md5 = None;
    p.ext = ExtensionView::empty(c.src);
    if media_type.eq_ignore_ascii_case(b"MESSAGE")
        && (media_subtype.eq_ignore_ascii_case(b"RFC822")
            || media_subtype.eq_ignore_ascii_case(b"GLOBAL"))
    {
        c.skip_spaces();
        if c.peek() == Some(b'(') {
            let env = c.state();
            skip_envelope(c)?;
            c.skip_spaces();
            let inner = c.state();
            skip_body(c)?;
            p.lines = Some(number_tolerant(c)?);
            p.message = Some((env, inner));
        }
    } else if media_type.eq_ignore_ascii_case(b"TEXT") {
        c.skip_spaces();
        if !matches!(c.peek(), Some(b')') | None) {
            p.lines = Some(number_tolerant(c)?);
        }
    }
    if c.eat(b')') {
        return Ok(());
    }
    p.md5 = nstring_or_list(c)?;
    if !c.eat(b')') {
        p.ext = extension(c)?;
    }
    Ok(())
}

/// Checks a BODY or BODYSTRUCTURE value; a handle to read it later.
pub(super) fn body_handle<'a>(c: &mut Cur<'a>, extensible: bool) -> VResult<BodyView<'a>> {
    c.skip_spaces();
    let body = BodyView {
        src: c.src,
        at: c.state(),
        extensible,
    };
    skip_body_here(c)?;
    Ok(body)
}

/// Checks a BODY or BODYSTRUCTURE value, reading nothing (the same rules
/// as [`read_body`]; both kinds are read alike).
pub(super) fn skip_body(c: &mut Cur<'_>) -> VResult<()> {
    c.skip_spaces();
    skip_body_here(c)
}

/// [`skip_body`], spaces already skipped.
pub(super) fn skip_body_here(c: &mut Cur<'_>) -> VResult<()> {
    if c.peek() != Some(b'(') {
        return Err(c.fail_with(What::Expected(b'(')));
    }
    c.pos += 1;
    c.enter()?;
    c.skip_spaces();
    let result = if c.peek() == Some(b'(') {
        skip_multipart(c)
    } else {
        skip_single(c)
    };
    c.leave();
    result
}

pub(super) fn skip_multipart(c: &mut Cur<'_>) -> VResult<()> {
    loop {
        c.skip_spaces();
        if c.peek() == Some(b'(') {
            skip_body_here(c)?;
        } else {
            break;
        }
    }
    c.skip_nstring_here()?;
    if !c.eat(b')') {
        skip_params(c)?;
        if !c.eat(b')') {
            extension(c)?;
        }
    }
    Ok(())
}

/// Spaces already skipped.
pub(super) fn skip_single(c: &mut Cur<'_>) -> VResult<()> {
    let media_type = c.nstring_here()?.unwrap_or(EMPTY);
    let media_subtype = c.nstring()?.unwrap_or(EMPTY);
    skip_params(c)?;
    skip_nstring_or_list(c)?;
    skip_nstring_or_list(c)?;
    skip_nstring_or_list(c)?;
    number_tolerant(c)?;
    if media_type.eq_ignore_ascii_case(b"MESSAGE")
        && (media_subtype.eq_ignore_ascii_case(b"RFC822")
            || media_subtype.eq_ignore_ascii_case(b"GLOBAL"))
    {
        c.skip_spaces();
        if c.peek() == Some(b'(') {
            skip_envelope(c)?;
            skip_body(c)?;
            number_tolerant(c)?;
        }
    } else if media_type.eq_ignore_ascii_case(b"TEXT") {
        c.skip_spaces();
        if !matches!(c.peek(), Some(b')') | None) {
            number_tolerant(c)?;
        }
    }
    if c.eat(b')') {
        return Ok(());
    }
    skip_nstring_or_list(c)?;
    if !c.eat(b')') {
        extension(c)?;
    }
    Ok(())
}

/// [`record_params`], reading nothing.
#[inline]
pub(super) fn skip_params(c: &mut Cur<'_>) -> VResult<()> {
    c.skip_spaces();
    if c.peek() != Some(b'(') {
        return c.skip_nstring_here();
    }
    c.list_here(Cur::skip_nstring_here)
}

/// [`nstring_or_list`], reading nothing.
#[inline]
pub(super) fn skip_nstring_or_list(c: &mut Cur<'_>) -> VResult<()> {
    c.skip_spaces();
    if c.peek() == Some(b'(') {
        return c.skip_value().map(|_| ());
    }
    c.skip_nstring_here()
}

/// Checks a parameter list (or NIL, or a bare string where the list
/// belongs), spaces already skipped; the position of the list, if it is
/// one, and its first elements, recorded.
#[inline]
pub(super) fn record_params(c: &mut Cur<'_>, rec: &mut ParamRec) -> VResult<Option<At>> {
    if c.peek() != Some(b'(') {
        c.nstring_here()?;
        *rec = ParamRec::EMPTY;
        return Ok(None);
    }
    let at = c.state();
    if simple_params(c, rec) {
        return Ok(Some(at));
    }
    let buf = c.src.buf;
    *rec = ParamRec::EMPTY;
    rec.packed.base = at.pos;
    c.list_here(|c| {
        let s = c.nstring_here()?;
        let k = usize::from(rec.count);
        rec.count = if k < 4 && rec.packed.set(k, s, buf) {
            rec.count + 1
        } else {
            ParamRec::UNRECORDED
        };
        Ok(())
    })?;
    Ok(Some(at))
}

#[inline]
pub(super) fn nstring_or_list<'a>(c: &mut Cur<'a>) -> VResult<Option<StrView<'a>>> {
    c.skip_spaces();
    if c.peek() == Some(b'(') {
        // A list where a string belongs: kept raw.
        return c.skip_value().map(Some);
    }
    c.nstring_here()
}

pub(super) fn number_tolerant(c: &mut Cur<'_>) -> VResult<u64> {
    c.skip_spaces();
    match c.peek() {
        Some(d) if d.is_ascii_digit() => c.number_here(),
        Some(b'"') => {
            let s = c.string()?;
            let bytes = s.as_bytes();
            std::str::from_utf8(&bytes)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .ok_or_else(|| c.fail(Msg::ExpectedNumber))
        }
        _ => {
            // NIL or garbage where a number belongs: 0.
            if c.keyword(b"NIL") {
                Ok(0)
            } else {
                c.number()
            }
        }
    }
}

/// Checks extension data up to and including the part's closing
/// parenthesis, reading disposition, language and location.
pub(super) fn extension<'a>(c: &mut Cur<'a>) -> VResult<ExtensionView<'a>> {
    let mut ext = ExtensionView::empty(c.src);
    c.skip_spaces();
    if c.peek() == Some(b'(') {
        c.pos += 1;
        c.enter()?;
        let value = c.nstring()?.unwrap_or(EMPTY);
        let (mut p, mut rec) = (None, ParamRec::EMPTY);
        if !c.eat(b')') {
            p = record_params(c, &mut rec)?;
            // Extra values before the closing parenthesis are tolerated.
            while !c.eat(b')') {
                if c.at_end() {
                    return Err(c.fail(Msg::UnterminatedDisposition));
                }
                c.skip_value()?;
            }
        }
        c.leave();
        ext.disposition = Some((value, p, rec));
    } else if let Some(v) = c.nstring_here()? {
        // A bare string (seen from broken servers).
        ext.disposition = Some((v, None, ParamRec::EMPTY));
    }
    if c.eat(b')') {
        return Ok(ext);
    }
    if c.peek() == Some(b'(') {
        let at = c.state();
        c.list_here(|c| c.nstring_here().map(|_| ()))?;
        ext.language = Language::List(at);
    } else if let Some(l) = c.nstring_here()? {
        ext.language = Language::One(l);
    }
    if c.eat(b')') {
        return Ok(ext);
    }
    ext.location = nstring_or_list(c)?;
    if c.eat(b')') {
        // No further values: nothing to read again.
        return Ok(ext);
    }
    ext.extra = Some(c.state());
    loop {
        if c.eat(b')') {
            return Ok(ext);
        }
        if c.at_end() {
            return Err(c.fail(Msg::UnterminatedExtension));
        }
        c.skip_value()?;
    }
}
