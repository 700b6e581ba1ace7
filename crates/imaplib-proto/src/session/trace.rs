//! The protocol trace (passwords and AUTHENTICATE data never shown).

use super::*;

impl Session {
    // ----- tracing ----------------------------------------------------------

    pub(super) fn trace_out(&self, shown: &str) {
        if self.cfg.debug >= 4 {
            tracing::debug!(target: "imaplib::protocol", "> {}", shown.trim_end());
        } else {
            tracing::trace!(target: "imaplib::protocol", "> {}", shown.trim_end());
        }
    }

    pub(super) fn trace_in(&self, frame: &Frame) {
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
