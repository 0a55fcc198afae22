//! Close status codes (RFC 6455 section 7.4).

use core::fmt;

/// A close status code as carried in a Close frame (RFC 6455 section 7.4).
///
/// An open newtype rather than an enum: any `u16` can arrive on the wire, and
/// applications define their own codes in 4000-4999. The associated constants
/// name the codes the RFC (and the IANA registry it set up) defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer violated the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: the endpoint received a type of data it cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no status code was present. Never sent on the wire.
    pub const NO_STATUS_RECEIVED: CloseCode = CloseCode(1005);
    /// 1006: the connection closed without a Close frame. Never sent on the wire.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: a message's data was not consistent with its type (e.g. text that is not UTF-8).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message was too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected the server to negotiate an extension it did not.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: the server acting as a gateway got an invalid response (IANA registry).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: the TLS handshake failed. Never sent on the wire.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether this code may appear in a Close frame on the wire, sent or
    /// received (section 7.4.1 and 7.4.2).
    ///
    /// Allowed: the defined codes 1000-1003 and 1007-1014, and 3000-4999
    /// (registered libraries and private use). Refused: below 1000, 1004
    /// (reserved), 1005, 1006 and 1015 (reserved for reporting, never
    /// sent), 1016-2999 (reserved for future revisions and extensions), and
    /// 5000 and up (undefined). A refused code is
    /// [`SendError::InvalidCloseCode`](crate::SendError::InvalidCloseCode)
    /// when we would send it, and fails the connection with
    /// [`ProtocolError::InvalidCloseCode`](crate::ProtocolError::InvalidCloseCode)
    /// (1002) when the peer does.
    #[must_use]
    pub const fn is_allowed_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// Whether this code only ever reports a local condition (1005, 1006,
    /// 1015) and so must never be put in a Close frame.
    #[must_use]
    pub const fn is_reserved_for_reporting(self) -> bool {
        matches!(self.0, 1005 | 1006 | 1015)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            1000 => "normal closure",
            1001 => "going away",
            1002 => "protocol error",
            1003 => "unsupported data",
            1005 => "no status received",
            1006 => "abnormal closure",
            1007 => "invalid payload data",
            1008 => "policy violation",
            1009 => "message too big",
            1010 => "mandatory extension",
            1011 => "internal error",
            1012 => "service restart",
            1013 => "try again later",
            1014 => "bad gateway",
            1015 => "TLS handshake failure",
            _ => return write!(f, "{}", self.0),
        };
        write!(f, "{} ({name})", self.0)
    }
}
