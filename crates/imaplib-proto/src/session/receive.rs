//! Receiving: bytes fed, responses framed and parsed, replies assembled.

use super::*;

impl Session {
    // ----- receiving --------------------------------------------------------

    /// Hands received bytes to the framer.
    pub fn feed(&mut self, data: &[u8]) {
        self.fed += data.len() as u64;
        self.framer.feed(data);
    }

    /// Declares that the caller wants TLS (before STARTTLS): until
    /// [`Session::tls_established`], nothing but STARTTLS and LOGOUT may be
    /// sent, even if STARTTLS fails. Fails, and breaks the session, when TLS
    /// can no longer be started: not in NONAUTH state (e.g. a cleartext
    /// PREAUTH greeting) or STARTTLS not offered.
    pub fn require_tls(&mut self) -> Result<(), ProtoError> {
        self.tls_required = true;
        if self.state != State::NonAuth {
            let err = ProtoError::msg(
                ProtoErrorKind::TlsRequired,
                format!(
                    "TLS cannot be started in state {} (a cleartext PREAUTH greeting?); refusing to continue without it",
                    self.state
                ),
            );
            return Err(self.break_with(err));
        }
        if !self.has_capability("STARTTLS") {
            let err = ProtoError::msg(
                ProtoErrorKind::TlsRequired,
                "TLS not supported by server (STARTTLS not offered); refusing to continue without it",
            );
            return Err(self.break_with(err));
        }
        Ok(())
    }

    /// Up to `n` bytes already received and not yet framed, read past the
    /// protocol (imaplib's `read`, `readline`, and what followed the OK to
    /// COMPRESS). Empty while a response is being assembled.
    pub fn take_raw(&mut self, n: usize) -> Bytes {
        self.framer.take_raw(n)
    }

    /// True while a response has started arriving and is not complete (so
    /// that the end of the stream there cuts it).
    pub fn mid_response(&self) -> bool {
        self.framer.in_progress()
    }

    /// Processes the next complete response, if there is one. `Ok(None)`
    /// means more input is needed. A fatal error breaks the session.
    pub fn poll_event(&mut self) -> Result<Option<Event>, ProtoError> {
        if let Some(err) = self.fatal() {
            return Err(err);
        }
        loop {
            if self.awaiting_tls {
                return Ok(None);
            }
            let frame = match self.framer.next_piece() {
                Ok(Some(Piece::Frame(frame))) => frame,
                Ok(Some(Piece::LiteralStart { line, size })) => {
                    return Ok(Some(Event::LiteralStart { line, size }))
                }
                Ok(Some(Piece::LiteralChunk { data, remaining })) => {
                    return Ok(Some(Event::LiteralChunk { data, remaining }))
                }
                Ok(None) => return Ok(None),
                Err(err) => return Err(self.break_with(err)),
            };
            self.trace_in(&frame);
            if frame.line_count() == 1 && frame.first_line().iter().all(|&b| b == b' ') {
                // Some servers send empty lines; they carry nothing.
                continue;
            }
            let resp = Response::parse(frame);
            match self.process(resp) {
                Ok(Some(ev)) => return Ok(Some(ev)),
                Ok(None) => continue,
                Err(err) => return Err(self.break_with(err)),
            }
        }
    }

    pub(super) fn break_with(&mut self, err: ProtoError) -> ProtoError {
        self.set_broken(err.clone());
        err
    }

    pub(super) fn process(&mut self, resp: Response) -> Result<Option<Event>, ProtoError> {
        if !self.greeted {
            return self.process_greeting(resp).map(Some);
        }
        // Matched by reference: cloning the kind would cost an allocation
        // per response.
        match resp.kind() {
            Kind::Continuation => Ok(self.process_continuation(&resp)),
            Kind::Tagged { tag, status } => self.process_tagged(&resp, tag, *status).map(Some),
            Kind::Untagged { name, .. }
                if self.idle_capture.is_none()
                    && self.response_capture.as_deref() == Some(name.as_str()) =>
            {
                let name = name.clone();
                self.capture(resp, name).map(Some)
            }
            Kind::Untagged { name, status, .. } => {
                match self.process_untagged(&resp, name, *status)? {
                    // The event names the response: its name is moved
                    // there, not copied.
                    Stored::Named => match resp.into_kind() {
                        Kind::Untagged { name, .. } => Ok(Some(Event::Untagged { name })),
                        _ => Ok(None),
                    },
                    Stored::Bye(text) => Ok(Some(Event::Bye { text })),
                }
            }
            Kind::Unparsed { reason } => self.process_unparsed(&resp, reason),
        }
    }

    /// Keeps a response whole for [`Session::take_responses`] (moved, not
    /// copied).
    pub(super) fn capture(&mut self, resp: Response, name: String) -> Result<Event, ProtoError> {
        self.untagged_weight += captured_weight(&resp);
        self.captured.push_back(resp);
        if self.untagged_weight > self.cfg.max_untagged_bytes {
            return Err(ProtoError::msg(
                ProtoErrorKind::TooMuchData,
                "too many captured responses not taken",
            ));
        }
        Ok(Event::Untagged { name })
    }

    pub(super) fn process_greeting(&mut self, resp: Response) -> Result<Event, ProtoError> {
        let line = resp.frame().line(0);
        let (name, status) = match resp.kind() {
            Kind::Untagged { name, status, .. } => (name.clone(), *status),
            _ => {
                return Err(ProtoError::new(
                    ProtoErrorKind::Unexpected,
                    "unexpected response instead of a greeting",
                    &line,
                ))
            }
        };
        match status {
            Some(Status::Ok) => self.state = State::NonAuth,
            Some(Status::PreAuth) => self.state = State::Auth,
            Some(Status::Bye) => {
                return Err(ProtoError::new(
                    ProtoErrorKind::Bye,
                    format!(
                        "server refused the connection: {}",
                        String::from_utf8_lossy(&resp.text())
                    ),
                    &line,
                ))
            }
            _ => {
                return Err(ProtoError::new(
                    ProtoErrorKind::Unexpected,
                    "greeting is neither OK, PREAUTH nor BYE",
                    &line,
                ))
            }
        }
        self.greeted = true;
        self.welcome = line;
        for item in resp.imaplib_items() {
            self.append_untagged(&name, item)?;
        }
        self.store_code(&resp)?;
        if !self.caps_stale {
            // imaplib asks CAPABILITY while connecting, which takes the
            // greeting's code out of the store; the code answered that
            // question here, so it is taken out the same way.
            self.pop_untagged("CAPABILITY");
        }
        Ok(Event::Greeting)
    }

    pub(super) fn process_continuation(&mut self, resp: &Response) -> Option<Event> {
        self.continuation_text = resp.text();
        let target = self
            .inflight
            .iter()
            .position(|f| f.waiting || f.interactive || !f.pending.is_empty());
        match target.map(|i| (i, self.inflight[i].waiting, self.inflight[i].interactive)) {
            Some((i, true, _)) => {
                self.inflight[i].waiting = false;
                self.pump();
                None
            }
            Some((i, false, true)) => Some(Event::Continuation {
                tag: self.inflight[i].tag.clone(),
                text: resp.text(),
            }),
            _ => {
                tracing::warn!(
                    target: "imaplib::protocol",
                    "ignoring a continuation request no command asked for: {:?}",
                    Printable(resp.frame().first_line())
                );
                None
            }
        }
    }

    /// A line that fits no response form. If it starts with the tag of a
    /// command in flight, that command's completion is unreadable: abort.
    /// Otherwise it is a server defect (typically a wrong literal size) and
    /// is skipped with a warning, so the session survives.
    pub(super) fn process_unparsed(
        &mut self,
        resp: &Response,
        reason: &'static str,
    ) -> Result<Option<Event>, ProtoError> {
        let line = resp.frame().first_line();
        let first_word = line.split(|&b| b == b' ').next().unwrap_or_default();
        if self.inflight.iter().any(|f| f.tag.as_bytes() == first_word) {
            return Err(ProtoError::new(ProtoErrorKind::Parse, reason, line));
        }
        self.unparsed_count += 1;
        tracing::warn!(
            target: "imaplib::protocol",
            "skipping a line that is not an IMAP response ({reason}): {:?}",
            Printable(line)
        );
        Ok(None)
    }

    /// Number of lines skipped because they were not IMAP responses.
    pub fn unparsed_count(&self) -> u64 {
        self.unparsed_count
    }

    pub(super) fn process_untagged(
        &mut self,
        resp: &Response,
        name: &str,
        status: Option<Status>,
    ) -> Result<Stored, ProtoError> {
        if name == "CAPABILITY" {
            self.set_capabilities(&resp.text());
        }
        // While IDLE runs, in arrival order. As imaplib 3.14's IDLE queues
        // them, a response code follows as an entry of its own, and a BYE
        // is queued too (it still ends the session); otherwise the code
        // is stored by name and a BYE is not queued.
        let capturing =
            self.idle_capture.is_some() && (self.capture_as_imaplib || status != Some(Status::Bye));
        if capturing {
            self.capture_idle(name, resp.imaplib_items())?;
            self.file_code(resp, self.capture_as_imaplib)?;
        } else {
            if self.events_enabled && self.is_event(name, resp) {
                self.untagged_weight += resp.frame().len();
                self.unsolicited.push_back(resp.clone());
            }
            // Stored one by one, with no list of them built first.
            for item in resp.imaplib_item_iter() {
                self.append_untagged(name, item)?;
            }
            self.file_code(resp, false)?;
        }
        if status == Some(Status::Bye) {
            let text = resp.text();
            self.bye = Some(text.clone());
            self.on_bye(&text);
            return Ok(Stored::Bye(text));
        }
        Ok(Stored::Named)
    }

    /// True for a response that is news about the mailbox or the server
    /// rather than the result a command in flight asked for.
    pub(super) fn is_event(&self, name: &str, resp: &Response) -> bool {
        let claimed = |n: &str| {
            self.inflight
                .iter()
                .any(|f| matches!(&f.finish, Finish::Untagged(c) if c == n))
        };
        match name {
            "EXISTS" | "RECENT" | "FLAGS" | "VANISHED" | "BYE" => true,
            // NOTIFY (RFC 5465) reports other mailboxes this way.
            "FETCH" | "EXPUNGE" | "LIST" | "METADATA" => !claimed(name),
            // LIST-STATUS answers a LIST with STATUS responses too.
            "STATUS" => !claimed(name) && !claimed("LIST"),
            "OK" | "NO" | "BAD" => resp.code().is_some_and(|c| c.name == "ALERT"),
            _ => false,
        }
    }

    /// Starts (or stops) keeping unsolicited responses (EXISTS, EXPUNGE,
    /// FETCH flag updates outside a FETCH/STORE, VANISHED, RECENT, FLAGS,
    /// ALERT, BYE, and the STATUS, LIST and METADATA that NOTIFY sends
    /// outside the commands asking for them) in arrival order for [`Session::take_unsolicited`]. They
    /// stay in `untagged_responses` too, as imaplib keeps them.
    pub fn set_unsolicited(&mut self, enabled: bool) {
        self.events_enabled = enabled;
        if !enabled {
            self.take_unsolicited();
        }
    }

    /// Keeps untagged responses named `name` (e.g. `FETCH`) whole, in
    /// arrival order, for [`Session::take_responses`], instead of storing
    /// them as imaplib data; `None` stops (anything not taken is dropped).
    /// This lets a caller decode a large result response by response, in
    /// bounded memory. What is held still counts against
    /// `max_untagged_bytes`. Not applied while IDLE data is captured.
    pub fn capture_responses(&mut self, name: Option<&str>) {
        self.response_capture = name.map(str::to_ascii_uppercase);
        if name.is_none() {
            self.take_responses();
            self.release_held();
        }
    }

    /// Takes the responses kept by [`Session::capture_responses`], oldest
    /// first.
    pub fn take_responses(&mut self) -> Vec<Response> {
        let out: Vec<Response> = self.captured.drain(..).collect();
        let weight: usize = out.iter().map(captured_weight).sum();
        self.untagged_weight = self.untagged_weight.saturating_sub(weight);
        out
    }

    /// Takes the captured responses as [`Session::take_responses`] does,
    /// but what they weigh stays counted against `max_untagged_bytes`
    /// until [`Session::release_held`] (or the end of the capture): for a
    /// caller that keeps them, or what it makes of them, until its command
    /// ends.
    pub fn take_responses_held(&mut self) -> Vec<Response> {
        let out: Vec<Response> = self.captured.drain(..).collect();
        self.taken_weight += out.iter().map(captured_weight).sum::<usize>();
        out
    }

    /// Stops counting what [`Session::take_responses_held`] handed out.
    pub fn release_held(&mut self) {
        self.untagged_weight = self.untagged_weight.saturating_sub(self.taken_weight);
        self.taken_weight = 0;
    }

    /// Takes the unsolicited responses kept so far, oldest first.
    pub fn take_unsolicited(&mut self) -> Vec<Response> {
        let out: Vec<Response> = self.unsolicited.drain(..).collect();
        let weight: usize = out.iter().map(|r| r.frame().len()).sum();
        self.untagged_weight = self.untagged_weight.saturating_sub(weight);
        out
    }

    /// Queues one captured response (IDLE), bounded like untagged data.
    fn capture_idle(&mut self, name: &str, items: Vec<Data>) -> Result<(), ProtoError> {
        let Some(q) = &mut self.idle_capture else {
            return Ok(());
        };
        self.untagged_weight += Self::held_weight(&items);
        q.push_back((name.to_string(), items));
        if self.untagged_weight > self.cfg.max_untagged_bytes {
            return Err(ProtoError::msg(
                ProtoErrorKind::TooMuchData,
                "too many untagged responses captured during IDLE",
            ));
        }
        Ok(())
    }

    /// imaplib stores a response code of OK / NO / BAD under the code's
    /// name (`UIDVALIDITY`, `READ-ONLY`...); a CAPABILITY code updates the
    /// capabilities.
    pub(super) fn store_code(&mut self, resp: &Response) -> Result<(), ProtoError> {
        self.file_code(resp, false)
    }

    /// [`Session::store_code`], or with `captured`, the code queued after
    /// its response instead (IDLE as imaplib 3.14 runs it).
    fn file_code(&mut self, resp: &Response, captured: bool) -> Result<(), ProtoError> {
        let Some(code) = resp.code() else {
            return Ok(());
        };
        if code.name == "CAPABILITY" {
            self.set_capabilities(&code.args);
        }
        if matches!(resp.status(), Some(Status::Ok | Status::No | Status::Bad)) {
            let item = Data::Line(code.args.clone());
            let name = code.name.clone();
            if captured {
                self.capture_idle(&name, vec![item])?;
            } else {
                self.append_untagged(&name, item)?;
            }
        }
        Ok(())
    }

    pub(super) fn set_capabilities(&mut self, text: &[u8]) {
        self.capabilities = String::from_utf8_lossy(text)
            .split_ascii_whitespace()
            .map(|c| c.to_ascii_uppercase())
            .collect();
        self.caps_generation += 1;
        self.caps_stale = false;
    }

    /// After BYE every command in flight fails with `abort`, except LOGOUT,
    /// whose result is the BYE.
    pub(super) fn on_bye(&mut self, text: &Bytes) {
        // imaplib expects BYE as the result of any command named LOGOUT
        // (xatom('LOGOUT') too); the others fail as its _command_complete
        // words it.
        let tags: Vec<(String, String, bool)> = self
            .inflight
            .iter()
            .map(|f| (f.tag.clone(), f.name.clone(), f.expects_bye()))
            .collect();
        for (tag, name, is_logout) in tags {
            let result = if is_logout {
                let data = self.pop_untagged("BYE").unwrap_or_else(|| vec![Data::None]);
                Ok(Reply {
                    typ: Status::Bye,
                    data,
                })
            } else {
                Err(ProtoError::msg(
                    ProtoErrorKind::Bye,
                    format!("command: {name} => {}", String::from_utf8_lossy(text)),
                ))
            };
            self.complete(tag, result);
        }
        if self.state != State::Logout {
            self.state = State::Logout;
        }
    }

    pub(super) fn complete(&mut self, tag: String, result: Result<Reply, ProtoError>) {
        if let Some(pos) = self.inflight.iter().position(|f| f.tag == tag) {
            self.inflight.remove(pos);
        }
        self.completed.insert(tag, result);
        self.update_streaming();
        self.pump();
    }

    pub(super) fn process_tagged(
        &mut self,
        resp: &Response,
        tag: &Bytes,
        status: Status,
    ) -> Result<Event, ProtoError> {
        let tag_str = String::from_utf8_lossy(tag).into_owned();
        let Some(pos) = self.inflight.iter().position(|f| f.tag == tag_str) else {
            if self.completed.contains_key(&tag_str) {
                // LOGOUT completed on BYE; its tagged OK follows.
                return Ok(Event::Completed { tag: tag_str });
            }
            return Err(ProtoError::new(
                ProtoErrorKind::UnknownTag,
                "unexpected tagged response",
                resp.frame().first_line(),
            ));
        };
        let received_by = self.fed - self.framer.buffered() as u64;
        if self.inflight[pos]
            .sent_mark
            .is_none_or(|mark| received_by <= mark)
        {
            return Err(ProtoError::new(
                ProtoErrorKind::UnknownTag,
                "tagged response for a command that had not been sent yet",
                resp.frame().first_line(),
            ));
        }
        let f = self.inflight.remove(pos).expect("position is valid");
        self.store_code(resp)?;
        let data = resp.imaplib_items();
        let result = self.finish(&f, status, data, resp);
        self.completed.insert(f.tag.clone(), result);
        self.update_streaming();
        self.pump();
        Ok(Event::Completed { tag: f.tag })
    }

    /// IMAP4rev2 servers answer SEARCH with ESEARCH (RFC 9051 §7.3.4):
    /// the ESEARCH tagged with this command becomes the SEARCH data
    /// imaplib callers expect (`1 2 3`, with `(MODSEQ n)` when present).
    /// The expansion is bounded by `max_untagged_bytes`, since a few bytes
    /// of sequence set can name billions of messages.
    pub(super) fn search_from_esearch(
        &mut self,
        tag: &str,
    ) -> Result<Option<Vec<Data>>, ProtoError> {
        let Some(items) = self.untagged.get("ESEARCH") else {
            return Ok(None);
        };
        let decoded = crate::types::decode_data("ESEARCH", items);
        if decoded.len() != items.len() {
            return Ok(None);
        }
        let Some(pos) = decoded.iter().position(|d| {
            matches!(d, Ok(crate::types::Untagged::ESearch(e))
                if e.tag.as_deref() == Some(tag.as_bytes()))
        }) else {
            return Ok(None);
        };
        let Some(Ok(crate::types::Untagged::ESearch(e))) = decoded.into_iter().nth(pos) else {
            return Ok(None);
        };
        use std::fmt::Write as _;
        let mut text = String::new();
        if let Some(all) = &e.all {
            // Each number costs at most 11 bytes ("4294967295 ").
            let count = all.count(u32::MAX);
            if count.saturating_mul(11) > self.cfg.max_untagged_bytes as u64 {
                return Err(ProtoError::msg(
                    ProtoErrorKind::TooMuchData,
                    format!(
                        "ESEARCH result names {count} messages; too many to expand into SEARCH data"
                    ),
                ));
            }
            for (i, n) in all.iter_numbers().enumerate() {
                if i > 0 {
                    text.push(' ');
                }
                let _ = write!(text, "{n}");
            }
        }
        if let Some(m) = e.modseq {
            if !text.is_empty() {
                text.push(' ');
            }
            let _ = write!(text, "(MODSEQ {m})");
        }
        if let Some(list) = self.untagged.get_mut("ESEARCH") {
            let item = list.remove(pos);
            let charge = Self::held_weight(std::slice::from_ref(&item));
            self.untagged_weight = self.untagged_weight.saturating_sub(charge);
            if list.is_empty() {
                self.untagged.remove("ESEARCH");
            }
        }
        Ok(Some(vec![Data::Line(Bytes::from(text))]))
    }

    /// Builds a command's result, as the tail of each imaplib method does,
    /// and applies its state change.
    pub(super) fn finish(
        &mut self,
        f: &InFlight,
        status: Status,
        data: Vec<Data>,
        resp: &Response,
    ) -> Result<Reply, ProtoError> {
        let text = || String::from_utf8_lossy(&resp.text()).into_owned();
        // Commands whose state changes whatever the outcome.
        if f.finish == Finish::Deselect {
            self.state = State::Auth;
        }
        if status == Status::Bad {
            return Err(ProtoError::new(
                ProtoErrorKind::CommandBad,
                format!("{} command error: BAD {}", f.name, text()),
                &[],
            ));
        }
        let reply = |typ, data| Ok(Reply { typ, data });
        match &f.finish {
            Finish::Tagged if f.name == "LOGOUT" => match self.pop_untagged("BYE") {
                Some(bye) => reply(Status::Bye, bye),
                None => reply(status, data),
            },
            Finish::Tagged | Finish::Idle | Finish::Deselect => reply(status, data),
            Finish::Untagged(name) => {
                if status == Status::No {
                    return reply(status, data);
                }
                let items = match self.pop_untagged(name) {
                    Some(items) => items,
                    None if name == "SEARCH" => self
                        .search_from_esearch(&f.tag)?
                        .unwrap_or_else(|| vec![Data::None]),
                    None => vec![Data::None],
                };
                reply(status, items)
            }
            Finish::Capability => {
                let items = self
                    .pop_untagged("CAPABILITY")
                    .unwrap_or_else(|| vec![Data::None]);
                reply(status, items)
            }
            Finish::Select { readonly } => {
                if status != Status::Ok {
                    self.state = State::Auth;
                    return reply(status, data);
                }
                self.state = State::Selected;
                if self.untagged.contains_key("READ-ONLY") && !readonly {
                    return Err(ProtoError::msg(
                        ProtoErrorKind::Readonly,
                        "mailbox is not writable",
                    ));
                }
                let exists = self
                    .untagged
                    .get("EXISTS")
                    .cloned()
                    .unwrap_or_else(|| vec![Data::None]);
                reply(status, exists)
            }
            Finish::Login | Finish::Authenticate => {
                if status != Status::Ok {
                    return Err(ProtoError::msg(ProtoErrorKind::CommandFailed, text()));
                }
                self.state = State::Auth;
                if self.caps_generation == f.caps_generation {
                    self.caps_stale = true;
                }
                reply(status, data)
            }
            Finish::Logout => {
                let items = self.pop_untagged("BYE");
                match items {
                    Some(bye) => reply(Status::Bye, bye),
                    None => reply(status, data),
                }
            }
            Finish::QuotaRoot => {
                if status == Status::No {
                    return reply(status, vec![Data::List(data.clone()), Data::List(data)]);
                }
                let quota = self
                    .pop_untagged("QUOTA")
                    .unwrap_or_else(|| vec![Data::None]);
                let root = self
                    .pop_untagged("QUOTAROOT")
                    .unwrap_or_else(|| vec![Data::None]);
                reply(status, vec![Data::List(root), Data::List(quota)])
            }
            Finish::Enable { utf8 } => {
                if status == Status::Ok && *utf8 {
                    self.utf8 = true;
                }
                reply(status, data)
            }
            Finish::StartTls => {
                if status != Status::Ok {
                    return Err(ProtoError::msg(
                        ProtoErrorKind::CommandFailed,
                        format!("Couldn't establish TLS session: {}", text()),
                    ));
                }
                // Nothing more is read in cleartext; capabilities are asked
                // again over TLS.
                self.awaiting_tls = true;
                self.capabilities.clear();
                self.caps_stale = true;
                reply(status, data)
            }
        }
    }

    /// Takes the result of a completed command.
    pub fn take_reply(&mut self, tag: &str) -> Option<Result<Reply, ProtoError>> {
        // Clients ask after every response; most of the time nothing has
        // completed, and the answer then costs no hashing.
        if self.completed.is_empty() {
            return None;
        }
        self.completed.remove(tag)
    }

    /// True if the command with this tag has completed.
    pub fn is_completed(&self, tag: &str) -> bool {
        self.completed.contains_key(tag)
    }

    /// True while the session waits for the client to run the TLS
    /// handshake after STARTTLS.
    pub fn awaiting_tls(&self) -> bool {
        self.awaiting_tls
    }

    /// Tells the session the TLS handshake after STARTTLS is done. Fails,
    /// and breaks the session, if the server sent anything after its
    /// STARTTLS OK in cleartext (a response-injection attempt); untagged
    /// data received in cleartext is forgotten.
    pub fn tls_established(&mut self) -> Result<(), ProtoError> {
        self.awaiting_tls = false;
        self.tls_required = false;
        self.clear_untagged();
        let leftover = self.framer.buffered();
        if leftover > 0 {
            self.framer.discard_buffered();
            let err = ProtoError::msg(
                ProtoErrorKind::Unexpected,
                format!(
                    "server sent {leftover} bytes in cleartext after accepting STARTTLS; \
                     refusing to continue"
                ),
            );
            return Err(self.break_with(err));
        }
        Ok(())
    }

    /// Bytes received in cleartext that were not yet framed (checked by the
    /// client before starting the TLS handshake).
    pub fn buffered_input(&self) -> usize {
        self.framer.buffered()
    }
}

/// What a captured response counts against `max_untagged_bytes`.
fn captured_weight(resp: &Response) -> usize {
    resp.frame().len() + ITEM_OVERHEAD
}
