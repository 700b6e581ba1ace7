use super::*;

// ---------------------------------------------------------------------------
// Where the bytes are.

/// The bytes of one response: a frame's buffer and where its data begins.
#[derive(Clone, Copy)]
pub(super) struct Source<'a> {
    /// Every byte of the response.
    pub(super) buf: &'a [u8],
    /// The frame, for the positions of its lines and literals; `None` for
    /// a single line.
    pub(super) frame: Option<&'a Frame>,
}

impl<'a> Source<'a> {
    pub(super) fn last_line(&self) -> usize {
        self.frame.map_or(0, |f| f.line_count() - 1)
    }

    /// Start and end of line `line` (the first line from its start, not
    /// from where the data begins).
    #[inline]
    pub(super) fn line(&self, line: usize) -> (usize, usize) {
        match self.frame {
            Some(f) if line < f.line_count() => {
                let r = f.line_range(line);
                (r.start, r.end)
            }
            None if line == 0 => (0, self.buf.len()),
            _ => (self.buf.len(), self.buf.len()),
        }
    }

    /// A position at the start of the buffer (for empty lists).
    pub(super) fn origin(&self) -> At {
        At {
            pos: self.line(0).0 as u32,
            line: 0,
        }
    }

    /// The literal that follows line `line`.
    pub(super) fn literal(&self, line: usize) -> &'a [u8] {
        match self.frame {
            Some(f) if line < f.literal_count() => {
                self.buf.get(f.literal_range(line)).unwrap_or(&[])
            }
            _ => &[],
        }
    }
}

impl fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("len", &self.buf.len())
            .field("lines", &(self.last_line() + 1))
            .finish()
    }
}

/// Largest response a view reads (positions are kept in 32 bits); the
/// framer's default limit on a response (512 MiB) is far below it.
pub(super) const MAX_VIEW_LEN: usize = u32::MAX as usize;

/// A reading position: offset in the buffer and line. Values are read
/// again from a position only once checked, so the nesting depth there
/// does not matter (reading starts at depth 0), except for the items of
/// the response, which start at depth 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct At {
    pub(super) pos: u32,
    pub(super) line: u32,
}
