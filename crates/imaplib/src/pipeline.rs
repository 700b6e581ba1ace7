//! Pipelining (RFC 3501 §5.5): several commands in flight on one
//! connection, their replies matched to them by tag.

use imaplib_proto::command::build;
use imaplib_proto::types::Fetch;
use imaplib_proto::{Command, Reply, Session};

use crate::engine::{Conn, Link};
use crate::error::{Error, Result};

impl<L: Link> Conn<'_, L> {
    /// Sends `commands` keeping up to `window` of them in flight, and hands
    /// each reply to `on_reply` with the command's index, in order. Only
    /// pipeline commands whose results do not depend on each other (e.g.
    /// FETCH batches); RFC 3501 §5.5 forbids pipelining commands that change
    /// the state the others rely on. A failing command does not stop the
    /// others; an error returned by `on_reply` stops sending new ones, waits
    /// for those in flight and is returned.
    pub(crate) async fn pipeline<I, F>(
        &mut self,
        commands: I,
        window: usize,
        mut on_reply: F,
    ) -> Result<()>
    where
        I: IntoIterator<Item = Command>,
        F: FnMut(usize, Result<Reply>) -> Result<()>,
    {
        self.pipeline_with(commands, window, |i, reply, _| on_reply(i, reply))
            .await
    }

    /// [`Conn::pipeline`], `on_reply` also getting the session (to take
    /// the responses it captured).
    pub(crate) async fn pipeline_with<I, F>(
        &mut self,
        commands: I,
        window: usize,
        mut on_reply: F,
    ) -> Result<()>
    where
        I: IntoIterator<Item = Command>,
        F: FnMut(usize, Result<Reply>, &mut Session) -> Result<()>,
    {
        let window = window.max(1);
        let mut pending = commands.into_iter().enumerate();
        let mut in_flight: std::collections::VecDeque<(usize, String)> = Default::default();
        let mut stop: Option<Error> = None;
        loop {
            while stop.is_none() && in_flight.len() < window {
                let Some((i, cmd)) = pending.next() else {
                    break;
                };
                match self.e.session.command(cmd) {
                    Ok(tag) => in_flight.push_back((i, tag)),
                    Err(e) => {
                        let e = Error::from(e);
                        if e.is_abort() {
                            return Err(e);
                        }
                        if let Err(e) = on_reply(i, Err(e), &mut self.e.session) {
                            stop = Some(e);
                        }
                    }
                }
            }
            self.flush().await?;
            let Some((i, tag)) = in_flight.pop_front() else {
                break;
            };
            let result = self.wait(&tag).await;
            if let Err(e) = &result {
                if e.is_abort() {
                    return Err(result.unwrap_err());
                }
            }
            if stop.is_none() {
                if let Err(e) = on_reply(i, result, &mut self.e.session) {
                    stop = Some(e);
                }
            }
        }
        match stop {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Downloads the messages with these UIDs: `UID FETCH` in batches of
    /// `batch` UIDs, `window` batches in flight at once, each message handed
    /// to `each` as a typed record as its batch completes.
    pub(crate) async fn uid_fetch_pipelined<F>(
        &mut self,
        uids: &[u32],
        items: &str,
        batch: usize,
        window: usize,
        each: F,
    ) -> Result<()>
    where
        F: FnMut(Fetch) -> Result<()>,
    {
        let batches: Vec<&[u32]> = uids.chunks(batch.max(1)).collect();
        self.uid_fetch_batches(&batches, items, window, each).await
    }

    /// [`Conn::uid_fetch_pipelined`] with the batches chosen by the caller
    /// (e.g. by size, so that no reply holds more than so many bytes): one
    /// `UID FETCH` per batch, `window` in flight at once.
    pub(crate) async fn uid_fetch_batches<F>(
        &mut self,
        batches: &[&[u32]],
        items: &str,
        window: usize,
        mut each: F,
    ) -> Result<()>
    where
        F: FnMut(Fetch) -> Result<()>,
    {
        let commands = batches.iter().filter(|b| !b.is_empty()).map(|chunk| {
            let set =
                imaplib_proto::types::SequenceSet::from_numbers(chunk.iter().copied()).to_string();
            build::uid("FETCH", [set.as_str(), items])
        });
        // The FETCH responses are taken as received (bodies shared, not
        // copied into imaplib's data), in order, as each reply completes.
        self.e.session.pop_untagged("FETCH");
        self.e.session.capture_responses(Some("FETCH"));
        let result = self
            .pipeline_with(commands, window, |_, reply, session| {
                let reply = reply?;
                let responses = session.take_responses();
                if reply.typ != imaplib_proto::Status::Ok {
                    return Err(Error::error(format!("UID FETCH refused: {:?}", reply.data)));
                }
                for resp in responses {
                    match crate::typed::fetch_of(&resp) {
                        Ok(f) => each(f)?,
                        Err(e) => {
                            return Err(Error::error(format!(
                                "cannot decode a FETCH response: {e}"
                            )))
                        }
                    }
                }
                Ok(())
            })
            .await;
        self.e.session.capture_responses(None);
        result
    }
}
