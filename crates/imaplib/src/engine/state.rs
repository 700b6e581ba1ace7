//! What a connection knows without asking the server: the accessors both
//! clients expose (listed in [`super::api`]).

use std::collections::HashMap;
use std::time::Duration;

use imaplib_proto::types::{decode_response, Typed};
use imaplib_proto::{Data, Limits, Session, State};

use super::Engine;

impl Engine {
    /// What a client's `Debug` shows: where it is connected and how.
    pub(crate) fn debug_fields(&self, d: &mut std::fmt::DebugStruct<'_, '_>) -> std::fmt::Result {
        d.field("host", &self.host)
            .field("port", &self.port)
            .field("state", &self.session.state())
            .field("tls", &self.tls_active)
            .finish()
    }

    pub(crate) fn protocol_version(&self) -> &str {
        &self.protocol_version
    }

    pub(crate) fn capabilities(&self) -> &[String] {
        self.session.capabilities()
    }

    pub(crate) fn has_capability(&self, name: &str) -> bool {
        self.session.has_capability(name)
    }

    pub(crate) fn state(&self) -> State {
        self.session.state()
    }

    pub(crate) fn welcome(&self) -> &[u8] {
        self.session.welcome()
    }

    pub(crate) fn debug(&self) -> u8 {
        self.session.debug()
    }

    pub(crate) fn set_debug(&mut self, level: u8) {
        self.session.set_debug(level);
    }

    pub(crate) fn untagged_responses(&self) -> &HashMap<String, Vec<Data>> {
        self.session.untagged_responses()
    }

    pub(crate) fn is_readonly(&self) -> bool {
        self.session.is_readonly()
    }

    pub(crate) fn utf8_enabled(&self) -> bool {
        self.session.utf8_enabled()
    }

    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn tag_prefix(&self) -> &str {
        self.session.tag_prefix()
    }

    pub(crate) fn is_tls(&self) -> bool {
        self.tls_active
    }

    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    pub(crate) fn take_untagged_responses(&mut self) -> HashMap<String, Vec<Data>> {
        self.session.take_untagged()
    }

    pub(crate) fn replace_untagged_responses(&mut self, untagged: HashMap<String, Vec<Data>>) {
        self.session.replace_untagged(untagged)
    }

    pub(crate) fn set_command_table(&mut self, table: Option<HashMap<String, Vec<crate::State>>>) {
        self.session.set_command_table(table)
    }

    pub(crate) fn capture_trace(&mut self, on: bool) {
        self.session.capture_trace(on)
    }

    pub(crate) fn take_trace(&mut self) -> Vec<(bool, bytes::Bytes)> {
        self.session.take_trace()
    }

    pub(crate) fn reserve_tag(&mut self) -> String {
        self.session.reserve_tag()
    }

    pub(crate) fn assume_state(&mut self, state: crate::State) {
        self.session.assume_state(state)
    }

    pub(crate) fn limits(&self) -> Limits {
        self.session.limits()
    }

    pub(crate) fn set_limits(&mut self, limits: Limits) {
        self.options.limits = limits;
        self.session.set_limits(limits);
    }

    pub(crate) fn set_max_untagged_bytes(&mut self, max: usize) {
        self.options.max_untagged_bytes = max;
        self.session.set_max_untagged_bytes(max);
    }

    pub(crate) fn set_command_timeout(&mut self, timeout: Option<Duration>) {
        self.options.command_timeout = timeout;
    }

    pub(crate) fn response(&mut self, code: &str) -> (String, Vec<Data>) {
        let data = self
            .session
            .pop_untagged(code)
            .unwrap_or_else(|| vec![Data::None]);
        (code.to_string(), data)
    }

    pub(crate) fn set_events(&mut self, enabled: bool) {
        self.session.set_unsolicited(enabled);
    }

    pub(crate) fn take_events(&mut self) -> Vec<Typed> {
        self.session
            .take_unsolicited()
            .iter()
            .map(decode_response)
            .collect()
    }

    pub(crate) fn quota_resources(&self) -> Vec<String> {
        crate::extensions::quota_resources_of(self.session.capabilities())
    }
}
