//! What the connection reports. Payloads are borrowed from the connection's
//! input buffer, where they were unmasked in place.

use core::fmt;

use crate::close::CloseCode;
use crate::error::ProtocolError;

/// The kind of a data message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Arbitrary bytes (opcode 0x2).
    Binary,
}

/// Something the connection reports to the application, borrowed from the
/// connection until the next call that takes `&mut self`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A whole text message (valid UTF-8).
    Text(&'a str),
    /// A whole binary message.
    Binary(&'a [u8]),
    /// In streaming mode, the next piece of a text message. Pieces are cut at
    /// character boundaries; `fin` marks the message's last piece.
    TextFragment {
        /// The piece (possibly empty when it only marks the end).
        data: &'a str,
        /// Whether the message ends with this piece.
        fin: bool,
    },
    /// In streaming mode, the next piece of a binary message.
    BinaryFragment {
        /// The piece (possibly empty when it only marks the end).
        data: &'a [u8],
        /// Whether the message ends with this piece.
        fin: bool,
    },
    /// A Ping arrived (already answered if `auto_pong` is on).
    Ping(&'a [u8]),
    /// A Pong arrived.
    Pong(&'a [u8]),
    /// The peer sent a Close frame (already answered if `auto_close` is on).
    Close {
        /// The peer's code, or [`CloseCode::NO_STATUS_RECEIVED`] (1005) if its
        /// Close carried none (section 7.1.5).
        code: CloseCode,
        /// The peer's reason (valid UTF-8, possibly empty).
        reason: &'a str,
    },
    /// The connection is over: write out what `poll_transmit` still holds,
    /// then close the transport. Always the last event.
    Closed(ClosedReason),
}

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClosedReason {
    /// The close handshake completed (section 7.1.4: "the WebSocket connection
    /// is closed" cleanly). `code` is the peer's close code, 1005 if it sent none.
    Clean {
        /// The code of the peer's Close.
        code: CloseCode,
    },
    /// The peer broke the protocol; a Close with
    /// [`ProtocolError::close_code`] was queued for it.
    ProtocolError(ProtocolError),
    /// The transport ended before the close handshake did (reported as 1006).
    Eof,
    /// The peer did not answer a keepalive Ping in time (reported as 1006).
    KeepaliveTimeout,
    /// The close handshake did not finish in time (reported as 1006).
    CloseTimeout,
    /// A frame or message the peer had started was not complete within
    /// [`Config::message_timeout`](crate::Config::message_timeout): a Close
    /// with 1008 (policy violation) was queued for it. Every message that
    /// was complete before was handed out first.
    MessageTimeout,
}

impl ClosedReason {
    /// The code that describes this ending to the application (section 7.1.5):
    /// the peer's code for a clean close, the code we sent for a protocol
    /// error or a message timeout, and 1006 when the connection was lost.
    #[must_use]
    pub const fn code(self) -> CloseCode {
        match self {
            ClosedReason::Clean { code } => code,
            ClosedReason::ProtocolError(e) => e.close_code(),
            ClosedReason::MessageTimeout => CloseCode::POLICY_VIOLATION,
            ClosedReason::Eof | ClosedReason::KeepaliveTimeout | ClosedReason::CloseTimeout => {
                CloseCode::ABNORMAL
            }
        }
    }

    /// Whether the close handshake completed.
    #[must_use]
    pub const fn is_clean(self) -> bool {
        matches!(self, ClosedReason::Clean { .. })
    }
}

impl fmt::Display for ClosedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClosedReason::Clean { code } => write!(f, "closed cleanly by the peer with {code}"),
            ClosedReason::ProtocolError(e) => write!(f, "the peer broke the protocol: {e}"),
            ClosedReason::Eof => f.write_str("the transport ended before the close handshake"),
            ClosedReason::KeepaliveTimeout => {
                f.write_str("the peer did not answer a keepalive ping")
            }
            ClosedReason::CloseTimeout => f.write_str("the close handshake timed out"),
            ClosedReason::MessageTimeout => {
                f.write_str("the peer did not finish a frame or message in time")
            }
        }
    }
}
