//! Which end of the connection this endpoint is.

/// The side of a WebSocket connection an endpoint plays.
///
/// The role decides the masking rules of RFC 6455 section 5.1 (a client
/// masks every frame it sends, a server never does) and who closes the
/// transport first (section 7.1.1: the server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The endpoint that opened the connection and sent the upgrade request.
    Client,
    /// The endpoint that accepted the upgrade request.
    Server,
}

impl Role {
    /// The role of the other end.
    #[must_use]
    pub const fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }

    /// Whether frames sent by this role carry a masking key (section 5.1).
    #[must_use]
    pub const fn masks_outgoing(self) -> bool {
        matches!(self, Role::Client)
    }
}
