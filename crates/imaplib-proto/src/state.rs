//! The connection states (RFC 3501 §3) and imaplib's `Commands` table of
//! the states in which each command is legal.

/// Connection state (RFC 3501 §3), named as imaplib names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Not authenticated (imaplib `NONAUTH`).
    NonAuth,
    /// Authenticated, no mailbox selected (`AUTH`).
    Auth,
    /// A mailbox is selected (`SELECTED`).
    Selected,
    /// Logging out (`LOGOUT`).
    Logout,
    /// IDLE is running and its caller reads its responses one by one
    /// (`IDLING`, as in imaplib 3.14): no command is legal until DONE.
    Idling,
}

impl State {
    /// imaplib's name for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            State::NonAuth => "NONAUTH",
            State::Auth => "AUTH",
            State::Selected => "SELECTED",
            State::Logout => "LOGOUT",
            State::Idling => "IDLING",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// imaplib's `Commands` table: the states in which each command is legal.
/// Returns `None` for a command imaplib does not know.
pub fn allowed_states(name: &str) -> Option<&'static [State]> {
    use State::*;
    const ANY: &[State] = &[NonAuth, Auth, Selected, Logout];
    const NONAUTH: &[State] = &[NonAuth];
    const AUTH_SEL: &[State] = &[Auth, Selected];
    const AUTH: &[State] = &[Auth];
    const SEL: &[State] = &[Selected];
    Some(match name {
        "APPEND" => AUTH_SEL,
        "AUTHENTICATE" => NONAUTH,
        "CAPABILITY" => ANY,
        "CHECK" => SEL,
        "CLOSE" => SEL,
        "COMPRESS" => AUTH_SEL,
        "COPY" => SEL,
        "CREATE" => AUTH_SEL,
        "DELETE" => AUTH_SEL,
        "DELETEACL" => AUTH_SEL,
        "ENABLE" => AUTH,
        "EXAMINE" => AUTH_SEL,
        "EXPUNGE" => SEL,
        "FETCH" => SEL,
        "GETACL" => AUTH_SEL,
        "GETANNOTATION" => AUTH_SEL,
        "GETQUOTA" => AUTH_SEL,
        "GETQUOTAROOT" => AUTH_SEL,
        "GETMETADATA" => AUTH_SEL,
        "ID" => &[NonAuth, Auth, Selected],
        "IDLE" => AUTH_SEL,
        "MYRIGHTS" => AUTH_SEL,
        "LIST" => AUTH_SEL,
        "LISTRIGHTS" => AUTH_SEL,
        "LOGIN" => NONAUTH,
        "LOGOUT" => ANY,
        "LSUB" => AUTH_SEL,
        "MOVE" => SEL,
        "NAMESPACE" => AUTH_SEL,
        "NOOP" => ANY,
        "NOTIFY" => AUTH_SEL,
        "PARTIAL" => SEL,
        "PROXYAUTH" => AUTH,
        "RENAME" => AUTH_SEL,
        "SEARCH" => SEL,
        "SELECT" => AUTH_SEL,
        "SETACL" => AUTH_SEL,
        "SETANNOTATION" => AUTH_SEL,
        "SETMETADATA" => AUTH_SEL,
        "SETQUOTA" => AUTH_SEL,
        "SORT" => SEL,
        "STARTTLS" => NONAUTH,
        "STATUS" => AUTH_SEL,
        "STORE" => SEL,
        "SUBSCRIBE" => AUTH_SEL,
        "THREAD" => SEL,
        "UID" => SEL,
        "UNSUBSCRIBE" => AUTH_SEL,
        "UNSELECT" => SEL,
        _ => return None,
    })
}
