use std::sync::Arc;

use yoke::Yoke;

use super::*;

// ---------------------------------------------------------------------------
// The owned FETCH response.

/// One FETCH response, owned: the response as received together with
/// what its one check found.
///
/// Decoding a FETCH response is [`FetchView`]'s check, done once: every
/// item's syntax is checked, and the positions of the values are kept with
/// the response's bytes (shared with the buffer they arrived in, not
/// copied). A `Fetch` can be kept, moved to another thread and cloned
/// cheaply; its accessors read values in place, as the view's do, without
/// checking anything again:
///
/// - [`Fetch::uid`], [`Fetch::flags`], [`Fetch::modseq`],
///   [`Fetch::rfc822_size`], [`Fetch::internal_date`]: kept while checking;
/// - [`Fetch::envelope`] and [`Fetch::body_structure`]: the
///   [`EnvelopeView`] and [`BodyPart`] read while checking;
/// - [`Fetch::body`]: the first body section's bytes, shared;
/// - [`Fetch::items`]: every item in order, as [`ItemView`]s;
/// - [`Fetch::to_items`]: every item as an owned [`FetchItem`], the form to
///   match on or keep apart from the response (its strings share the
///   response's bytes).
///
/// An item that does not decode is [`ItemView::Undecodable`] (and
/// [`FetchItem::Undecodable`]), with its raw bytes and the reason; the
/// items after it still decode. A response whose items cannot even be
/// delimited is refused as a whole, with the reason.
#[derive(Clone)]
pub struct Fetch {
    inner: Yoke<Stored<'static>, Arc<Frame>>,
}

/// What a [`Fetch`] keeps beside its frame: a response without ENVELOPE
/// or body structure (flags, UIDs, sizes: most of what a client fetches
/// by the thousand) keeps only the view's [`Core`]; another keeps the
/// rest of the view too, boxed.
#[derive(Clone, yoke::Yokeable)]
enum Stored<'a> {
    Lean(Core<'a>),
    Full(Box<Full<'a>>),
}

/// The view of a response with an ENVELOPE or a body structure, kept in
/// two allocations: the first parts of a multipart, read while checking,
/// apart, and only when there are some. Each stays small enough for the
/// allocator's fast path (glibc serves blocks up to 1,032 bytes from a
/// per-thread cache; the whole view, 1.7 KB, went through its general
/// path at each response).
#[derive(Clone)]
struct Full<'a> {
    core: Core<'a>,
    envelope: Option<EnvelopeView<'a>>,
    body_structure: Option<BodyPart<'a>>,
    parts: Option<Box<[SinglePartView<'a>; KEPT_PARTS]>>,
    kept: u8,
}

impl<'a> Stored<'a> {
    /// Checked on the stack, boxed only when there is more than the core
    /// to keep (a box checked in place would cost every lean response an
    /// allocation of the whole view).
    fn of(view: &FetchView<'a>) -> Stored<'a> {
        if view.envelope.is_none() && view.body_structure.is_none() {
            return Stored::Lean(view.core);
        }
        Stored::Full(Box::new(Full {
            core: view.core,
            envelope: view.envelope,
            body_structure: view.body_structure,
            parts: (view.kept > 0).then(|| Box::new(view.parts)),
            kept: view.kept,
        }))
    }

    fn core(&self) -> &Core<'a> {
        match self {
            Stored::Lean(core) => core,
            Stored::Full(full) => &full.core,
        }
    }
}

impl<'a> Full<'a> {
    /// The view again (the kept parts copied back in).
    fn view(&self) -> FetchView<'a> {
        let mut view = self.core.view();
        view.envelope = self.envelope;
        view.body_structure = self.body_structure;
        if let Some(parts) = &self.parts {
            view.parts = **parts;
            view.kept = self.kept;
        }
        view
    }

    /// As [`FetchView::body_structure`]: a multipart borrows its kept
    /// parts from here.
    fn body_structure(&self) -> Option<BodyPart<'_>> {
        match self.body_structure? {
            BodyPart::Multipart(mut m) => {
                m.kept = match &self.parts {
                    Some(parts) => parts.get(..usize::from(self.kept)).unwrap_or_default(),
                    None => &[],
                };
                Some(BodyPart::Multipart(m))
            }
            single => Some(single),
        }
    }
}

impl Fetch {
    /// Decodes a framed response. `None` if it is not an untagged FETCH
    /// response; otherwise the response, or why it does not decode.
    pub fn from_frame(frame: Frame) -> Option<Result<Fetch, DecodeError>> {
        Self::from_frame_or_back(frame).ok()
    }

    /// [`Fetch::from_frame`], giving the frame back if it is not an
    /// untagged FETCH response.
    pub(crate) fn from_frame_or_back(frame: Frame) -> Result<Result<Fetch, DecodeError>, Frame> {
        match locate(frame.first_line()) {
            Some((number, offset)) => Ok(Self::checked(Arc::new(frame), number, offset)),
            None => Err(frame),
        }
    }

    /// Decodes a parsed response, sharing its bytes. `None` if it is not
    /// an untagged FETCH response.
    pub fn from_response(resp: &Response) -> Option<Result<Fetch, DecodeError>> {
        match resp.kind() {
            // The frame says what the parsed response says: `locate`
            // recognises `* n FETCH` as the parser does.
            Kind::Untagged {
                name, status: None, ..
            } if name == "FETCH" => Self::from_frame(resp.frame().clone()),
            _ => None,
        }
    }

    /// Decodes imaplib's data items of one FETCH response (`(header,
    /// literal)` pairs and a final line, the first starting with the
    /// message number, as [`Segments`](crate::types::Segments) holds them).
    pub fn from_parts(parts: &[Bytes]) -> Result<Fetch, DecodeError> {
        let frame = Frame::from_parts(parts);
        let line = frame.first_line();
        let digits = line.iter().take_while(|b| b.is_ascii_digit()).count();
        let mut offset = digits;
        while line.get(offset) == Some(&b' ') {
            offset += 1;
        }
        let number = (digits > 0).then_some(0..digits);
        Self::checked(Arc::new(frame), number, offset)
    }

    fn checked(
        frame: Arc<Frame>,
        number: Option<std::ops::Range<usize>>,
        offset: usize,
    ) -> Result<Fetch, DecodeError> {
        let inner = Yoke::try_attach_to_cart(frame, |frame: &Frame| {
            let number = number.map(|r| &frame.first_line()[r]);
            FetchView::after_name_kept(frame, number, offset, Stored::of)
        })?;
        Ok(Fetch { inner })
    }

    fn core(&self) -> &Core<'_> {
        self.inner.get().core()
    }

    /// The view of this response (a copy of what the check found; the
    /// accessors below read without making one).
    pub fn view(&self) -> FetchView<'_> {
        match self.inner.get() {
            Stored::Lean(core) => core.view(),
            Stored::Full(full) => full.view(),
        }
    }

    /// The response as received.
    pub fn frame(&self) -> &Frame {
        self.inner.backing_cart()
    }

    /// Message sequence number.
    pub fn seq(&self) -> u32 {
        self.core().seq
    }

    /// Number of items.
    pub fn item_count(&self) -> usize {
        self.core().item_count as usize
    }

    /// True if some item could not be decoded.
    pub fn has_undecodable(&self) -> bool {
        self.core().undecodable > 0
    }

    /// The UID, if the response carries one.
    pub fn uid(&self) -> Option<u32> {
        self.core().uid
    }

    /// The flags, if the response carries them.
    pub fn flags(&self) -> Option<FlagsView<'_>> {
        let core = self.core();
        core.flags.map(|at| FlagsView { src: core.src, at })
    }

    /// The INTERNALDATE, if present.
    pub fn internal_date(&self) -> Option<DateTime<FixedOffset>> {
        self.core().internal_date
    }

    /// The RFC822.SIZE, if present.
    pub fn rfc822_size(&self) -> Option<u64> {
        self.core().rfc822_size
    }

    /// The MODSEQ (RFC 7162), if present.
    pub fn modseq(&self) -> Option<u64> {
        self.core().modseq
    }

    /// The ENVELOPE, if present and decoded.
    pub fn envelope(&self) -> Option<&EnvelopeView<'_>> {
        match self.inner.get() {
            Stored::Full(full) => full.envelope.as_ref(),
            Stored::Lean(_) => None,
        }
    }

    /// The BODYSTRUCTURE (or BODY) structure, if present and decoded.
    pub fn body_structure(&self) -> Option<BodyPart<'_>> {
        match self.inner.get() {
            Stored::Full(full) => full.body_structure(),
            Stored::Lean(_) => None,
        }
    }

    /// The data of the first body section item (`BODY[...]`,
    /// `BINARY[...]`, `RFC822`...) that is not NIL, if any: shared with
    /// the response when it is a literal or a string without escapes.
    pub fn body(&self) -> Option<Bytes> {
        let body = self.core().body?;
        Some(sharing(self.frame().raw(), || body.to_owned_bytes()))
    }

    /// Every item in order, with its name as sent.
    pub fn items(&self) -> Items<'_> {
        self.view().items()
    }

    /// Every item in order, owned: what to match on, or to keep apart from
    /// the response. Strings and data share the response's bytes.
    pub fn to_items(&self) -> Vec<FetchItem> {
        sharing(self.frame().raw(), || {
            self.items()
                .map(|(name, item)| item.to_fetch_item(name))
                .collect()
        })
    }

    /// The ENVELOPE as an owned [`Envelope`] (strings share the
    /// response's bytes), if present and decoded.
    pub fn to_envelope(&self) -> Option<Envelope> {
        let envelope = self.envelope()?;
        Some(sharing(self.frame().raw(), || envelope.to_envelope()))
    }

    /// The BODYSTRUCTURE (or BODY) as an owned [`BodyStructure`] (strings
    /// share the response's bytes), if present and decoded.
    pub fn to_body_structure(&self) -> Option<BodyStructure> {
        let body = self.body_structure()?;
        Some(sharing(self.frame().raw(), || body.to_body_structure()))
    }
}

impl fmt::Debug for Fetch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetch")
            .field("seq", &self.seq())
            .field("items", &self.to_items())
            .finish()
    }
}

/// Two responses are equal when they hold the same message number and
/// the same items, however they were written.
impl PartialEq for Fetch {
    fn eq(&self, other: &Fetch) -> bool {
        self.seq() == other.seq() && self.to_items() == other.to_items()
    }
}

impl Eq for Fetch {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each allocation a `Fetch` makes for its view stays within what
    /// glibc's per-thread cache serves (1,032 bytes), the point of keeping
    /// the parts apart.
    #[test]
    fn the_boxes_stay_within_the_allocators_fast_path() {
        let main = std::mem::size_of::<Full<'static>>();
        let parts = std::mem::size_of::<[SinglePartView<'static>; KEPT_PARTS]>();
        assert!(main <= 1032, "Full is {main} bytes");
        assert!(parts <= 1032, "the kept parts are {parts} bytes");
    }
}
