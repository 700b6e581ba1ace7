//! The protocol trace (passwords and AUTHENTICATE data never shown).

use super::*;

impl Session {
    // ----- tracing ----------------------------------------------------------

    /// Keeps the protocol trace for the caller: each line sent (secrets
    /// shown as `***`) and the first line of each response received, at
    /// most the last [`Session::TRACE_KEPT`]; `false` stops and forgets.
    /// Python's imaplib prints this at debug level 4.
    pub fn capture_trace(&mut self, on: bool) {
        if on {
            self.wire_trace.get_or_insert_with(VecDeque::new);
        } else {
            self.wire_trace = None;
        }
    }

    /// The trace kept since the last call: `(true, line)` for a line sent,
    /// `(false, line)` for one received.
    pub fn take_trace(&mut self) -> Vec<(bool, Bytes)> {
        self.wire_trace
            .as_mut()
            .map(|c| c.drain(..).collect())
            .unwrap_or_default()
    }

    /// Lines of trace kept at most.
    pub const TRACE_KEPT: usize = 1000;

    fn keep(&mut self, out: bool, line: Bytes) {
        if let Some(c) = self.wire_trace.as_mut() {
            if c.len() == Self::TRACE_KEPT {
                c.pop_front();
            }
            c.push_back((out, line));
        }
    }

    pub(super) fn trace_out(&mut self, shown: &str) {
        if self.wire_trace.is_some() {
            let line = Bytes::copy_from_slice(shown.trim_end().as_bytes());
            self.keep(true, line);
        }
        if self.cfg.debug >= 4 {
            tracing::debug!(target: "imaplib::protocol", "> {}", shown.trim_end());
        } else {
            tracing::trace!(target: "imaplib::protocol", "> {}", shown.trim_end());
        }
    }

    pub(super) fn trace_in(&mut self, frame: &Frame) {
        if self.wire_trace.is_some() {
            let line = Bytes::copy_from_slice(frame.first_line());
            self.keep(false, line);
        }
        // Formatting costs more than decoding: only when someone listens.
        let debug = self.cfg.debug >= 4;
        let enabled = if debug {
            tracing::enabled!(target: "imaplib::protocol", tracing::Level::DEBUG)
        } else {
            tracing::enabled!(target: "imaplib::protocol", tracing::Level::TRACE)
        };
        if !enabled {
            return;
        }
        let mut shown = format!("{:?}", Printable(frame.first_line()));
        if frame.literal_count() > 0 {
            shown.push_str(&format!(
                " (+{} literal(s), {} bytes)",
                frame.literal_count(),
                frame.len()
            ));
        }
        if debug {
            tracing::debug!(target: "imaplib::protocol", "< {}", shown);
        } else {
            tracing::trace!(target: "imaplib::protocol", "< {}", shown);
        }
    }
}
