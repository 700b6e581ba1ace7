//! IDLE that stays up (RFC 2177): typed events as they arrive, a stop
//! signal usable from another thread, a deadline, re-issuing before the
//! server's 30-minute limit, and detection of a dead connection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imaplib_proto::command::build;
use imaplib_proto::types::{decode_data, Typed, Untagged};
use imaplib_proto::{Data, Event, Reply, Status};

use crate::engine::{Conn, Link};
use crate::error::{Error, Result};

/// Settings of [`Imap4::idle_with`](crate::Imap4::idle_with).
#[derive(Debug, Clone)]
pub struct IdleOptions {
    /// Stop after this long (`None`: no deadline).
    pub duration: Option<Duration>,
    /// End and re-issue IDLE after this long, before the server's
    /// inactivity limit (RFC 2177 asks clients to do so at least every 29
    /// minutes). Default 29 minutes.
    pub reissue_after: Duration,
    /// Declare the connection dead (`abort`) when nothing at all arrives for
    /// this long. Servers send keepalives while idling (Dovecot every 2
    /// minutes by default), so a few minutes is a good value. Default `None`
    /// (never).
    pub keepalive: Option<Duration>,
    /// How often the stop signal is checked while nothing arrives.
    /// Default 100 ms.
    pub poll: Duration,
}

impl Default for IdleOptions {
    fn default() -> Self {
        IdleOptions {
            duration: None,
            reissue_after: Duration::from_secs(29 * 60),
            keepalive: None,
            poll: Duration::from_millis(100),
        }
    }
}

/// A signal that ends an IDLE from another thread: clone it, hand it over,
/// call [`IdleStop::stop`].
#[derive(Debug, Clone, Default)]
pub struct IdleStop(Arc<AtomicBool>);

impl IdleStop {
    /// A new, unset signal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the IDLE to end (within the poll interval).
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once [`IdleStop::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Clears the signal so it can be used again.
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Why an IDLE ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleEnd {
    /// The caller's callback asked to stop.
    Condition,
    /// The stop signal was set.
    Stopped,
    /// The duration passed.
    Deadline,
    /// The server ended IDLE by itself (a tagged completion came first).
    ServerEnded,
}

/// The outcome of an IDLE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleOutcome {
    /// The IDLE command's completion (the last one, when re-issued).
    pub reply: Reply,
    /// Why it ended.
    pub end: IdleEnd,
    /// How many times IDLE was re-issued.
    pub reissued: u32,
}

impl<L: Link> Conn<'_, L> {
    /// IDLE with typed events: `on_event` gets each untagged response as it
    /// arrives (EXISTS, EXPUNGE, FETCH flag changes, VANISHED, keepalive
    /// OKs...) and returns true to stop. Ends also on `stop`, after
    /// `options.duration`, or when the server ends IDLE; re-issues IDLE
    /// every `options.reissue_after`; reports a connection silent for longer
    /// than `options.keepalive` as `abort`, as it does BYE and EOF. Raises
    /// `error` if the server lacks IDLE.
    pub(crate) async fn idle_with<F>(
        &mut self,
        options: &IdleOptions,
        stop: Option<&IdleStop>,
        mut on_event: F,
    ) -> Result<IdleOutcome>
    where
        F: FnMut(&Typed) -> bool,
    {
        self.idle_loop(options, stop, &mut |name, data| {
            let typed = typed_of(name, data);
            Ok(on_event(&typed))
        })
        .await
    }

    pub(crate) async fn idle_loop(
        &mut self,
        options: &IdleOptions,
        stop: Option<&IdleStop>,
        on_response: &mut impl FnMut(&str, &[Data]) -> Result<bool>,
    ) -> Result<IdleOutcome> {
        if !self.e.session.has_capability("IDLE") {
            return Err(Error::missing_capability("IDLE"));
        }
        let deadline = options.duration.map(|d| Instant::now() + d);
        let mut reissued = 0;
        self.e.session.start_capture();
        let result = loop {
            match self.idle_once(options, stop, deadline, on_response).await {
                Ok((reply, None)) => {
                    // Time to re-issue.
                    if reply.typ != Status::Ok {
                        break Ok(IdleOutcome {
                            reply,
                            end: IdleEnd::ServerEnded,
                            reissued,
                        });
                    }
                    reissued += 1;
                }
                Ok((reply, Some(end))) => {
                    break Ok(IdleOutcome {
                        reply,
                        end,
                        reissued,
                    })
                }
                Err(e) => break Err(e),
            }
        };
        // Responses that came between DONE and the completion are handed
        // over too (the callback's answer no longer matters).
        let mut result = result;
        if result.is_ok() {
            for (name, data) in self.e.session.take_captured() {
                if let Err(e) = on_response(&name, &data) {
                    result = Err(e);
                    break;
                }
            }
        }
        self.e.session.stop_capture();
        result
    }

    /// One IDLE command: returns its completion and why it ended, or `None`
    /// when it must be re-issued.
    pub(crate) async fn idle_once(
        &mut self,
        options: &IdleOptions,
        stop: Option<&IdleStop>,
        deadline: Option<Instant>,
        on_response: &mut impl FnMut(&str, &[Data]) -> Result<bool>,
    ) -> Result<(Reply, Option<IdleEnd>)> {
        let tag = self.send_command(build::idle()).await?;
        loop {
            if let Some(result) = self.e.session.take_reply(&tag) {
                return Ok((result?, Some(IdleEnd::ServerEnded)));
            }
            match self.e.session.poll_event()? {
                Some(Event::Continuation { tag: t, .. }) if t == tag => break,
                Some(_) => {}
                None => self.fill().await?,
            }
        }
        let started = Instant::now();
        let mut last_data = Instant::now();
        let end = 'idle: loop {
            for (name, data) in self.e.session.take_captured() {
                match on_response(&name, &data) {
                    Ok(true) => break 'idle Some(IdleEnd::Condition),
                    Ok(false) => {}
                    Err(e) => return Err(self.fail(e)),
                }
            }
            if let Some(result) = self.e.session.take_reply(&tag) {
                return Ok((result?, Some(IdleEnd::ServerEnded)));
            }
            if self.e.session.poll_event()?.is_some() {
                continue;
            }
            let now = Instant::now();
            if stop.is_some_and(IdleStop::is_stopped) {
                break Some(IdleEnd::Stopped);
            }
            if deadline.is_some_and(|d| now >= d) {
                break Some(IdleEnd::Deadline);
            }
            if now - started >= options.reissue_after {
                break None;
            }
            if let Some(k) = options.keepalive {
                if now - last_data >= k {
                    let err = Error::abort(format!(
                        "connection dead: nothing received for {:.0?} while idling",
                        now - last_data
                    ));
                    return Err(self.fail(err));
                }
            }
            // Sleep in the read until data, the next check, or a limit.
            let mut wait = options.poll.max(Duration::from_millis(1));
            if let Some(d) = deadline {
                wait = wait.min(d.saturating_duration_since(now));
            }
            wait = wait.min((started + options.reissue_after).saturating_duration_since(now));
            if let Some(k) = options.keepalive {
                wait = wait.min((last_data + k).saturating_duration_since(now));
            }
            // Sleep in the read: data, or the wait passing quietly.
            if self
                .read_once(Some(wait.max(Duration::from_millis(1))))
                .await?
            {
                last_data = Instant::now();
            }
        };
        if let Some(ended) = self.idle_ended(&tag) {
            return Ok((ended?, Some(IdleEnd::ServerEnded)));
        }
        self.e.session.idle_done(&tag)?;
        self.flush().await?;
        let reply = self.wait(&tag).await?;
        Ok((reply, end))
    }
}

/// One step of an IDLE that its caller drives ([`Imap4::idle_begin`],
/// [`Imap4::idle_next`], [`Imap4::idle_end`]).
///
/// [`Imap4::idle_begin`]: crate::Imap4::idle_begin
/// [`Imap4::idle_next`]: crate::Imap4::idle_next
/// [`Imap4::idle_end`]: crate::Imap4::idle_end
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdleStep {
    /// An untagged response in imaplib's shape: its name and data items
    /// (a literal and the rest of its line stay in one response).
    Response(String, Vec<Data>),
    /// The wait passed before a complete response came; what arrived of
    /// one stays buffered for the next step.
    Timeout,
    /// The server ended IDLE by itself: its completion. The connection is
    /// back in the state IDLE started in; send no DONE.
    Ended(Reply),
}

impl<L: Link> Conn<'_, L> {
    /// Starts an IDLE whose responses the caller takes one at a time:
    /// sends IDLE and waits for the server's continuation. Untagged
    /// responses from the moment IDLE is sent, even those before the
    /// continuation, are kept for [`Conn::idle_next`]. Returns the tag, or
    /// the server's completion when it answered IDLE with one (a NO, say)
    /// instead of continuing. From then on the state is
    /// [`State::Idling`](imaplib_proto::State::Idling), in which every
    /// command is illegal, until [`Conn::idle_end`] (or the server ending
    /// IDLE). Raises `error` if the server lacks IDLE.
    pub(crate) async fn idle_begin(&mut self) -> Result<std::result::Result<String, Reply>> {
        if !self.e.session.has_capability("IDLE") {
            return Err(Error::missing_capability("IDLE"));
        }
        self.e.session.check_state("IDLE")?;
        self.e.session.start_capture_as_imaplib();
        let started = self.idle_accepted().await;
        match &started {
            Ok(Ok(_)) => self.e.session.enter_idling(),
            _ => self.e.session.stop_capture(),
        }
        started
    }

    async fn idle_accepted(&mut self) -> Result<std::result::Result<String, Reply>> {
        let tag = self.send_command(build::idle()).await?;
        loop {
            if let Some(result) = self.e.session.take_reply(&tag) {
                return Ok(Err(result?));
            }
            match self.e.session.poll_event()? {
                Some(Event::Continuation { tag: t, .. }) if t == tag => return Ok(Ok(tag)),
                Some(_) => {}
                None => self.fill().await?,
            }
        }
    }

    /// The next response of the IDLE `tag` began: one already received
    /// first (even when `wait` is zero), else the next to arrive within
    /// `wait` (`None`: however long it takes).
    pub(crate) async fn idle_next(
        &mut self,
        tag: &str,
        wait: Option<Duration>,
    ) -> Result<IdleStep> {
        let deadline = wait.map(|w| Instant::now() + w);
        loop {
            if let Some((name, data)) = self.e.session.pop_captured() {
                return Ok(IdleStep::Response(name, data));
            }
            if let Some(ended) = self.idle_ended(tag) {
                self.e.session.stop_capture();
                self.e.session.leave_idling();
                return Ok(IdleStep::Ended(ended?));
            }
            if self.e.session.state() != imaplib_proto::State::Idling {
                return Err(Error::error(format!("no IDLE {tag} in progress")));
            }
            if self.e.session.poll_event()?.is_some() {
                continue;
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(IdleStep::Timeout);
            }
            // An interrupted wait ends the step as its passing does: IDLE
            // goes on until the caller ends it (idle_end sends DONE).
            match self.read_step(left).await? {
                crate::engine::ReadStep::Data => {}
                crate::engine::ReadStep::TimedOut | crate::engine::ReadStep::Interrupted => {
                    return Ok(IdleStep::Timeout)
                }
            }
        }
    }

    /// Ends the IDLE `tag` began: responses not taken are stored by name
    /// (imaplib's `untagged_responses`), DONE is sent, and the completion
    /// is awaited. The state is the one IDLE started in again.
    pub(crate) async fn idle_end(&mut self, tag: &str) -> Result<Reply> {
        self.e.session.stop_capture();
        // Responses already received go by name first; among them may be
        // the end of IDLE (the server's completion, or a BYE).
        while self.e.session.poll_event()?.is_some() {}
        self.e.session.leave_idling();
        if let Some(ended) = self.idle_ended(tag) {
            return ended;
        }
        self.e.session.idle_done(tag)?;
        self.flush().await?;
        self.wait(tag).await
    }

    /// The completion of an IDLE that is no longer running (the server
    /// ended it, or a BYE did): no DONE is to be sent.
    fn idle_ended(&mut self, tag: &str) -> Option<Result<Reply>> {
        if let Some(result) = self.e.session.take_reply(tag) {
            return Some(result.map_err(Error::from));
        }
        (!self.e.session.is_in_flight(tag))
            .then(|| Err(Error::error(format!("no IDLE {tag} in progress"))))
    }
}

/// Types one captured response.
fn typed_of(name: &str, data: &[Data]) -> Typed {
    match decode_data(name, data).into_iter().next() {
        Some(Ok(u)) => Typed::Untagged(u),
        Some(Err(error)) => Typed::Undecodable {
            name: name.to_string(),
            error,
        },
        None => Typed::Untagged(Untagged::Other {
            name: name.to_string(),
            raw: bytes::Bytes::new(),
        }),
    }
}
