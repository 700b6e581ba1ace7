//! The untagged responses held for the caller, bounded.

use super::*;

impl Session {
    // ----- untagged responses ----------------------------------------------

    /// imaplib's `untagged_responses`: stored data by name.
    pub fn untagged_responses(&self) -> &HashMap<String, Vec<Data>> {
        &self.untagged
    }

    /// Removes and returns the stored responses of `name` (imaplib's
    /// `response(code)` and `_untagged_response`).
    pub fn pop_untagged(&mut self, name: &str) -> Option<Vec<Data>> {
        let items = self.untagged.remove(&name.to_ascii_uppercase())?;
        self.release_weight(&items);
        Some(items)
    }

    /// What held items cost against `max_untagged_bytes`: their bytes and
    /// the bookkeeping overhead each was charged when stored.
    pub(super) fn held_weight(items: &[Data]) -> usize {
        items.iter().map(|d| d.weight() + ITEM_OVERHEAD).sum()
    }

    /// Gives back what `items` were charged when they were stored.
    pub(super) fn release_weight(&mut self, items: &[Data]) {
        self.untagged_weight = self
            .untagged_weight
            .saturating_sub(Self::held_weight(items));
    }

    /// Bytes (and bookkeeping) of untagged data held now, counted against
    /// [`SessionConfig::max_untagged_bytes`].
    pub fn held_untagged_bytes(&self) -> usize {
        self.untagged_weight
    }

    /// Takes every stored untagged response out of the session (a driver
    /// that keeps them in a store of its own, as Python's
    /// `untagged_responses` dict, gives them back with
    /// [`Session::replace_untagged`] before the next command).
    pub fn take_untagged(&mut self) -> HashMap<String, Vec<Data>> {
        // What a typed call holds stays counted.
        self.untagged_weight = self.taken_weight;
        std::mem::take(&mut self.untagged)
    }

    /// Replaces the stored untagged responses with `untagged` (names upper
    /// case, as the session stores them).
    pub fn replace_untagged(&mut self, untagged: HashMap<String, Vec<Data>>) {
        self.untagged_weight = self.taken_weight
            + untagged
                .values()
                .map(|v| Self::held_weight(v))
                .sum::<usize>();
        self.untagged = untagged;
    }

    /// Forgets every stored untagged response.
    pub fn clear_untagged(&mut self) {
        self.untagged.clear();
        self.untagged_weight = self.taken_weight;
    }

    pub(super) fn append_untagged(&mut self, name: &str, item: Data) -> Result<(), ProtoError> {
        self.untagged_weight += item.weight() + ITEM_OVERHEAD;
        if self.untagged_weight > self.cfg.max_untagged_bytes {
            return Err(ProtoError::msg(
                ProtoErrorKind::TooMuchData,
                format!(
                    "more than {} bytes of untagged responses held; fetch in smaller batches \
                     or raise the limit",
                    self.cfg.max_untagged_bytes
                ),
            ));
        }
        match self.untagged.get_mut(name) {
            Some(list) => list.push(item),
            None => {
                self.untagged.insert(name.to_string(), vec![item]);
            }
        }
        Ok(())
    }

    /// Starts capturing untagged responses in arrival order instead of
    /// storing them by name (used while IDLE runs).
    pub fn start_capture(&mut self) {
        if self.idle_capture.is_none() {
            self.idle_capture = Some(VecDeque::new());
        }
    }

    /// [`Session::start_capture`] as imaplib 3.14's IDLE queues responses:
    /// a response code as an entry of its own after its response (instead
    /// of stored by name), and a BYE too (it still ends the session).
    pub fn start_capture_as_imaplib(&mut self) {
        self.start_capture();
        self.capture_as_imaplib = true;
    }

    /// Takes the responses captured so far, oldest first.
    pub fn take_captured(&mut self) -> Vec<(String, Vec<Data>)> {
        match &mut self.idle_capture {
            Some(q) => {
                let out: Vec<_> = q.drain(..).collect();
                let weight: usize = out.iter().map(|(_, d)| Self::held_weight(d)).sum();
                self.untagged_weight = self.untagged_weight.saturating_sub(weight);
                out
            }
            None => Vec::new(),
        }
    }

    /// Takes the oldest captured response, if any.
    pub fn pop_captured(&mut self) -> Option<(String, Vec<Data>)> {
        let first = self.idle_capture.as_mut()?.pop_front()?;
        self.release_weight(&first.1);
        Some(first)
    }

    /// Enters [`State::Idling`] (an IDLE has been accepted and its caller
    /// reads the responses): every command is illegal until
    /// [`Session::leave_idling`].
    pub fn enter_idling(&mut self) {
        if self.state != State::Idling {
            self.before_idling = Some(self.state);
            self.state = State::Idling;
        }
    }

    /// Leaves [`State::Idling`] for the state IDLE started in (unless
    /// something else, such as a BYE, changed the state meanwhile).
    pub fn leave_idling(&mut self) {
        if let Some(before) = self.before_idling.take() {
            if self.state == State::Idling {
                self.state = before;
            }
        }
    }

    /// Stops capturing; anything not taken is stored by name as usual.
    pub fn stop_capture(&mut self) {
        self.capture_as_imaplib = false;
        if let Some(q) = self.idle_capture.take() {
            for (name, items) in q {
                self.untagged.entry(name).or_default().extend(items);
            }
        }
    }
}

/// What storing an untagged response gives the caller to report.
pub(super) enum Stored {
    /// An [`Event::Untagged`] naming the response.
    Named,
    /// The server said BYE, with this text.
    Bye(Bytes),
}
