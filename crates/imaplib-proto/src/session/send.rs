//! Sending: commands queued, literals released when their turn comes.

use super::*;

impl Session {
    // ----- sending ----------------------------------------------------------

    pub(super) fn fatal(&self) -> Option<ProtoError> {
        self.broken.clone()
    }

    /// Checks `name` against imaplib's state table (and the commands
    /// `xatom` registered).
    pub fn check_state(&self, name: &str) -> Result<(), ProtoError> {
        let upper = name.to_ascii_uppercase();
        let table = match &self.command_table {
            Some(t) => t.get(&upper).map(Vec::as_slice),
            None => allowed_states(&upper),
        };
        let states: &[State] = match table {
            Some(s) => s,
            None => match self.extra_commands.get(&upper) {
                Some(s) => s,
                None => {
                    return Err(ProtoError::msg(
                        ProtoErrorKind::IllegalState,
                        format!("unknown IMAP4 command: {upper}"),
                    ))
                }
            },
        };
        if !states.contains(&self.state) {
            let list: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
            return Err(ProtoError::msg(
                ProtoErrorKind::IllegalState,
                format!(
                    "command {upper} illegal in state {}, only allowed in states {}",
                    self.state,
                    list.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// Replaces imaplib's table of commands and the states they are legal
    /// in (names upper case) with `table`; `None` restores imaplib's.
    /// Python's `imaplib.Commands` is such a table, which programs extend.
    pub fn set_command_table(&mut self, table: Option<HashMap<String, Vec<State>>>) {
        self.command_table = table;
    }

    /// Takes `state` as the connection's state without a command: Python's
    /// imaplib keeps `state` in a plain attribute that programs set (after
    /// sending their own LOGIN through `_simple_command`, for example), and
    /// the state checks obey it. Commands in flight are not affected.
    pub fn assume_state(&mut self, state: State) {
        self.state = state;
    }

    /// Registers a command unknown to imaplib's table as legal in the
    /// current state (imaplib's `xatom` does this). A name that is not an
    /// atom is ignored (and [`Session::command`] refuses it).
    pub fn register_command(&mut self, name: &str) {
        if !is_atom(name) {
            return;
        }
        let upper = name.to_ascii_uppercase();
        let known = match &self.command_table {
            Some(t) => t.contains_key(&upper),
            None => allowed_states(&upper).is_some(),
        };
        if !known {
            self.extra_commands
                .entry(upper)
                .or_insert_with(|| vec![self.state]);
        }
    }

    pub(super) fn encode_options(&self) -> EncodeOptions {
        let literals = if self.has_capability("LITERAL+") {
            LiteralMode::Plus
        } else if self.has_capability("LITERAL-") {
            LiteralMode::Minus
        } else {
            LiteralMode::Synchronizing
        };
        EncodeOptions {
            literals,
            utf8: self.utf8,
        }
    }

    /// Queues a command and returns its tag. Fails, before anything is
    /// queued, when the command is illegal in the current state, an
    /// argument cannot be sent safely, the mailbox turned read-only, or the
    /// session is broken.
    pub fn command(&mut self, cmd: Command) -> Result<String, ProtoError> {
        if let Some(err) = self.fatal() {
            return Err(err);
        }
        if !self.greeted {
            return Err(ProtoError::msg(
                ProtoErrorKind::IllegalState,
                "no greeting received yet",
            ));
        }
        if self.awaiting_tls {
            return Err(ProtoError::msg(
                ProtoErrorKind::IllegalState,
                "the TLS handshake must complete first",
            ));
        }
        if !is_atom(&cmd.name) {
            return Err(ProtoError::new(
                ProtoErrorKind::BadArgument,
                "a command name must be an atom",
                cmd.name.as_bytes(),
            ));
        }
        if self.tls_required && cmd.finish != Finish::Logout && cmd.finish != Finish::StartTls {
            return Err(ProtoError::msg(
                ProtoErrorKind::TlsRequired,
                "TLS was asked for and is not established; refusing to send anything but LOGOUT in cleartext",
            ));
        }
        self.check_state(&cmd.name)?;
        if let Some(sub) = &cmd.sub_command {
            self.check_state(sub)
                .map_err(|e| ProtoError::msg(e.kind(), format!("UID {}", e.message())))?;
        }
        let is_logout = cmd.finish == Finish::Logout;
        if let (Some(bye), false) = (&self.bye, is_logout) {
            return Err(ProtoError::new(
                ProtoErrorKind::Bye,
                String::from_utf8_lossy(bye).into_owned(),
                &[],
            ));
        }
        // Encode first: a bad argument must leave no trace.
        let tag = format!("{}{}", self.tag_prefix, self.tag_counter);
        let mut enc = Encoder::new(self.encode_options());
        enc.raw(tag.as_bytes());
        enc.raw(b" ");
        enc.raw(cmd.name.as_bytes());
        for arg in &cmd.args {
            enc.arg(arg)?;
        }
        let chunks = enc.finish();

        // What imaplib's methods do before `_command`.
        match &cmd.finish {
            Finish::Select { readonly } => {
                self.clear_untagged();
                self.is_readonly = *readonly;
            }
            Finish::Deselect if cmd.name == "UNSELECT" => self.clear_untagged(),
            _ => {}
        }
        for typ in ["OK", "NO", "BAD"] {
            self.pop_untagged(typ);
        }
        if self.untagged.contains_key("READ-ONLY") && !self.is_readonly {
            return Err(ProtoError::msg(
                ProtoErrorKind::Readonly,
                "mailbox status changed to READ-ONLY",
            ));
        }
        if is_logout {
            self.state = State::Logout;
        }
        self.tag_counter += 1;
        self.inflight.push_back(InFlight {
            tag: tag.clone(),
            name: cmd.name.clone(),
            finish: cmd.finish,
            pending: chunks.into(),
            waiting: false,
            interactive: cmd.interactive,
            caps_generation: self.caps_generation,
            stream_literals: cmd.stream_literals,
            sent_mark: None,
        });
        self.update_streaming();
        if is_logout {
            if let Some(bye) = self.pop_untagged("BYE") {
                // BYE came before LOGOUT was even sent: that is the answer.
                self.complete(
                    tag.clone(),
                    Ok(Reply {
                        typ: Status::Bye,
                        data: bye,
                    }),
                );
            }
        }
        self.pump();
        Ok(tag)
    }

    /// Streams FETCH literals while some command in flight asked for it.
    pub(super) fn update_streaming(&mut self) {
        let on = self.inflight.iter().any(|f| f.stream_literals);
        self.framer.set_stream_fetch_literals(on);
    }

    /// Moves every chunk that may be sent now into the outbox.
    pub(super) fn pump(&mut self) {
        let fed = self.fed;
        for f in self.inflight.iter_mut() {
            while !f.waiting {
                let Some(chunk) = f.pending.pop_front() else {
                    break;
                };
                f.sent_mark.get_or_insert(fed);
                f.waiting = chunk.wait_continuation;
                self.outbox.push_back(chunk);
            }
            if f.waiting || f.interactive || !f.pending.is_empty() {
                break;
            }
        }
    }

    /// Next bytes to write, if any. Written in order, they keep the
    /// protocol in step. A chunk with [`Chunk::external`] literal bytes
    /// (APPEND from a stream) is not returned here: use
    /// [`Session::poll_chunk`] when sending such commands.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.broken.is_some() {
            // Out of step with the server: nothing more goes out (a literal
            // released by a late continuation request included).
            self.outbox.clear();
            return None;
        }
        if self.outbox.front().is_some_and(|c| c.external > 0) {
            return None;
        }
        let chunk = self.outbox.pop_front()?;
        self.trace_out(&chunk.trace);
        Some(chunk.bytes)
    }

    /// Next chunk to write, including chunks whose literal bytes the client
    /// supplies from its own stream ([`Chunk::external`]).
    pub fn poll_chunk(&mut self) -> Option<Chunk> {
        if self.broken.is_some() {
            self.outbox.clear();
            return None;
        }
        let chunk = self.outbox.pop_front()?;
        self.trace_out(&chunk.trace);
        Some(chunk)
    }

    /// Everything that may be written now, joined (one write, as the
    /// Nagle/delayed-ACK pitfall requires), up to a chunk with external
    /// literal bytes.
    pub fn take_transmit(&mut self) -> Option<Vec<u8>> {
        let mut out: Option<Vec<u8>> = None;
        while let Some(b) = self.poll_transmit() {
            out.get_or_insert_with(Vec::new).extend_from_slice(&b);
        }
        out
    }

    /// True when bytes are waiting in the outbox.
    pub fn wants_transmit(&self) -> bool {
        !self.outbox.is_empty()
    }

    /// True when the session may be left between two reads and used
    /// again later: no interactive command (AUTHENTICATE, IDLE) is in
    /// flight, whose continuation requests only its caller can answer, and
    /// no literal waits to be sent from the caller's own stream. What else
    /// is in flight goes on by itself: responses are read by a later call,
    /// and literals held back for the server's go-ahead are sent when it
    /// comes, ahead of any command sent meanwhile.
    pub fn only_reading(&self) -> bool {
        let external = |c: &Chunk| c.external > 0;
        !self.outbox.iter().any(external)
            && !self
                .inflight
                .iter()
                .any(|f| f.interactive || f.pending.iter().any(external))
    }

    /// Answers a continuation request of an interactive command
    /// (AUTHENTICATE): sends `line` CRLF. `secret` hides it in the trace.
    pub fn continue_with(
        &mut self,
        tag: &str,
        line: &[u8],
        secret: bool,
    ) -> Result<(), ProtoError> {
        if !self.inflight.iter().any(|f| f.tag == tag && f.interactive) {
            return Err(ProtoError::msg(
                ProtoErrorKind::IllegalState,
                format!("no interactive command {tag} in flight"),
            ));
        }
        crate::command::check_inline(line)?;
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line);
        bytes.extend_from_slice(b"\r\n");
        let trace = if secret {
            "<redacted>".to_string()
        } else {
            String::from_utf8_lossy(line).into_owned()
        };
        self.outbox.push_back(Chunk {
            bytes: Bytes::from(bytes),
            trace,
            wait_continuation: false,
            external: 0,
        });
        Ok(())
    }

    /// Ends IDLE: sends `DONE`.
    pub fn idle_done(&mut self, tag: &str) -> Result<(), ProtoError> {
        self.continue_with(tag, b"DONE", false)
    }
}
