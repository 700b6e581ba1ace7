use super::*;

// ---------------------------------------------------------------------------
// Sections.

/// The section of a `BODY[section]` item (RFC 3501 §6.4.5).
#[derive(Clone, Copy, Debug)]
pub struct SectionView<'a> {
    pub(super) src: Source<'a>,
    /// The specifier as sent, up to the header field list.
    pub(super) word: &'a [u8],
    /// Where the part numbers end in `word`.
    pub(super) split: usize,
    pub(super) fields: Option<At>,
}

/// The text specifier of a [`SectionView`].
#[derive(Clone, Copy, Debug)]
pub enum SectionTextView<'a> {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (...)`
    HeaderFields(StringList<'a>),
    /// `HEADER.FIELDS.NOT (...)`
    HeaderFieldsNot(StringList<'a>),
    /// `TEXT`
    Text,
    /// `MIME`
    Mime,
    /// Something else, as sent.
    Other(&'a [u8]),
}

impl<'a> SectionView<'a> {
    /// Part numbers (`1.2.3`); none for the whole message.
    pub fn part(&self) -> PartNumbers<'a> {
        PartNumbers {
            spec: &self.word[..self.split],
        }
    }

    /// What of that part; `None` for all of it.
    pub fn text(&self) -> Option<SectionTextView<'a>> {
        let rest = &self.word[self.split..];
        let list = || StringList {
            src: self.src,
            at: self.fields.unwrap_or(self.src.origin()),
        };
        Some(if rest.is_empty() {
            return None;
        } else if rest.eq_ignore_ascii_case(b"HEADER") {
            SectionTextView::Header
        } else if rest.eq_ignore_ascii_case(b"TEXT") {
            SectionTextView::Text
        } else if rest.eq_ignore_ascii_case(b"MIME") {
            SectionTextView::Mime
        } else if rest.eq_ignore_ascii_case(b"HEADER.FIELDS") {
            SectionTextView::HeaderFields(list())
        } else if rest.eq_ignore_ascii_case(b"HEADER.FIELDS.NOT") {
            SectionTextView::HeaderFieldsNot(list())
        } else {
            SectionTextView::Other(rest)
        })
    }

    /// The owned form.
    pub fn to_section(&self) -> Section {
        let fields = |l: StringList<'_>| l.iter().map(StrView::to_owned_bytes).collect();
        Section {
            part: self.part().iter().collect(),
            text: self.text().map(|t| match t {
                SectionTextView::Header => SectionText::Header,
                SectionTextView::Text => SectionText::Text,
                SectionTextView::Mime => SectionText::Mime,
                SectionTextView::HeaderFields(l) => SectionText::HeaderFields(fields(l)),
                SectionTextView::HeaderFieldsNot(l) => SectionText::HeaderFieldsNot(fields(l)),
                SectionTextView::Other(o) => SectionText::Other(Bytes::copy_from_slice(o)),
            }),
        }
    }
}

/// Part numbers of a section (`1.2.3`), read as they are iterated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartNumbers<'a> {
    pub(super) spec: &'a [u8],
}

impl<'a> PartNumbers<'a> {
    /// The numbers, in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + 'a {
        self.spec
            .split(|&b| b == b'.')
            .filter(|n| !n.is_empty())
            .map(|n| n.iter().fold(0, |a, &d| a * 10 + u32::from(d - b'0')))
    }

    /// True for the whole message (no part number).
    pub fn is_empty(&self) -> bool {
        self.spec.is_empty()
    }

    /// The numbers as sent (`1.2.`).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the general reading gives: the name's length and kind.
    pub(super) fn general(rest: &[u8]) -> Option<(usize, Name)> {
        let len = rest
            .iter()
            .position(|&b| STOPS[usize::from(b)] & ENDS_NAME != 0)
            .unwrap_or(rest.len());
        (len > 0).then(|| (len, name_of(&rest[..len])))
    }

    #[test]
    pub(super) fn usual_item_names_read_as_the_general_reading_does() {
        let names: [&[u8]; 16] = [
            b"UID",
            b"uid",
            b"Flags",
            b"INTERNALDATE",
            b"RFC822.SIZE",
            b"rfc822.size",
            b"RFC822",
            b"RFC822.TEXT",
            b"ENVELOPE",
            b"BODYSTRUCTURE",
            b"BODY",
            b"MODSEQ",
            b"UIDX",
            b"FLAGSS",
            b"RFC822\x18SIZE",
            b"ENVELOP",
        ];
        let mut tried = 0;
        for name in names {
            for tail in [
                &b" 12 X (\\Seen) 1234567890"[..],
                b"[] x",
                b"(x) yyyyyyyyyyyy",
                b"<0>",
            ] {
                let mut rest = name.to_vec();
                rest.extend_from_slice(tail);
                rest.extend_from_slice(b"                ");
                if let Some((len, kind)) = usual_item(&rest) {
                    tried += 1;
                    assert_eq!(
                        Some((len, kind)),
                        general(&rest),
                        "{:?}",
                        crate::Printable(&rest)
                    );
                }
            }
            // Every byte after the name, as the name's next byte.
            for b in 0..=255u8 {
                let mut rest = name.to_vec();
                rest.push(b);
                rest.extend_from_slice(&[b'x'; 16]);
                if let Some(found) = usual_item(&rest) {
                    assert_eq!(Some(found), general(&rest), "{:?}", crate::Printable(&rest));
                }
            }
        }
        assert!(tried > 30, "the fast path was taken {tried} times");
        // Too short to compare as words: left to the general reading.
        assert_eq!(usual_item(b"UID 1)"), None);
    }
}
