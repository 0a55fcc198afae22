//! Errors, split by who is to blame.
//!
//! * [`ProtocolError`]: the peer broke RFC 6455. Each variant maps to exactly
//!   one close code, which the connection sends before it gives up.
//! * [`SendError`]: the local application asked for something the protocol
//!   does not allow. It never changes the connection's state.
//!
//! Handshake failures live in [`crate::handshake`] and map to HTTP statuses.
//!
//! With the `std` feature, each of these (and the handshake errors) converts
//! into a `std::io::Error` with `?`: a peer's violation becomes
//! `ErrorKind::InvalidData`, the caller's misuse `ErrorKind::InvalidInput`,
//! a send after Close `ErrorKind::BrokenPipe`, and a server's non-101
//! answer `ErrorKind::ConnectionRefused`. The `io::Error` wraps the
//! original, which `get_ref` and `downcast_ref` give back.

use core::fmt;

use crate::close::CloseCode;

/// A violation of RFC 6455 (or a configured limit) by the peer.
///
/// Every variant maps to exactly one close code ([`ProtocolError::close_code`]):
/// 1009 for [`FrameTooLarge`](Self::FrameTooLarge) and
/// [`MessageTooLarge`](Self::MessageTooLarge), 1007 for
/// [`InvalidUtf8`](Self::InvalidUtf8) and
/// [`InvalidCompressedData`](Self::InvalidCompressedData), 1002 for every
/// other. The connection reports it in
/// [`ClosedReason::ProtocolError`](crate::ClosedReason::ProtocolError) and
/// ignores input from then on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An opcode the RFC reserves (0x3-0x7, 0xB-0xF) (section 5.2).
    ReservedOpcode(u8),
    /// An RSV bit was set that no negotiated extension claims (section 5.2).
    ReservedBits,
    /// The 64-bit payload length had its most significant bit set (section 5.2).
    LengthOverflow,
    /// The payload length was not encoded in the minimal number of bytes (section 5.2).
    NonMinimalLength,
    /// A control frame without FIN (section 5.5).
    FragmentedControl,
    /// A control frame with more than 125 bytes of payload (section 5.5).
    ControlTooLong,
    /// A client sent a frame without a masking key (section 5.1).
    UnmaskedFrame,
    /// A server sent a frame with a masking key (section 5.1).
    MaskedFrame,
    /// A frame announced a payload over
    /// [`Config::max_frame_size`](crate::Config::max_frame_size); refused
    /// at its header, before any of its payload is buffered.
    FrameTooLarge,
    /// A message grew (or a frame header announced it would grow) over
    /// [`Config::max_message_size`](crate::Config::max_message_size); for a
    /// compressed message, what it inflates to did.
    MessageTooLarge,
    /// A continuation frame arrived with no fragmented message in progress (section 5.4).
    UnexpectedContinuation,
    /// A new text or binary frame arrived inside a fragmented message (section 5.4).
    ExpectedContinuation,
    /// A text message, or a close reason, was not valid UTF-8 (section 8.1).
    InvalidUtf8,
    /// A Close frame had a 1-byte payload (section 5.5.1).
    InvalidCloseLength,
    /// A Close frame carried a code that may not be sent (section 7.4).
    InvalidCloseCode(u16),
    /// A compressed message could not be decompressed (RFC 7692 section 7.2.3).
    InvalidCompressedData,
}

impl ProtocolError {
    /// The close code to send when failing the connection for this error.
    #[must_use]
    pub const fn close_code(self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCompressedData => {
                CloseCode::INVALID_PAYLOAD
            }
            ProtocolError::FrameTooLarge | ProtocolError::MessageTooLarge => {
                CloseCode::MESSAGE_TOO_BIG
            }
            ProtocolError::ReservedOpcode(_)
            | ProtocolError::ReservedBits
            | ProtocolError::LengthOverflow
            | ProtocolError::NonMinimalLength
            | ProtocolError::FragmentedControl
            | ProtocolError::ControlTooLong
            | ProtocolError::UnmaskedFrame
            | ProtocolError::MaskedFrame
            | ProtocolError::UnexpectedContinuation
            | ProtocolError::ExpectedContinuation
            | ProtocolError::InvalidCloseLength
            | ProtocolError::InvalidCloseCode(_) => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// A short reason suitable for the Close frame's reason field (well under
    /// the 123-byte limit, plain ASCII).
    #[must_use]
    pub const fn reason(self) -> &'static str {
        match self {
            ProtocolError::ReservedOpcode(_) => "reserved opcode",
            ProtocolError::ReservedBits => "reserved bits set",
            ProtocolError::LengthOverflow => "payload length overflow",
            ProtocolError::NonMinimalLength => "non-minimal payload length",
            ProtocolError::FragmentedControl => "fragmented control frame",
            ProtocolError::ControlTooLong => "control frame too long",
            ProtocolError::UnmaskedFrame => "unmasked client frame",
            ProtocolError::MaskedFrame => "masked server frame",
            ProtocolError::FrameTooLarge => "frame too large",
            ProtocolError::MessageTooLarge => "message too large",
            ProtocolError::UnexpectedContinuation => "unexpected continuation frame",
            ProtocolError::ExpectedContinuation => "expected continuation frame",
            ProtocolError::InvalidUtf8 => "invalid UTF-8",
            ProtocolError::InvalidCloseLength => "invalid close payload length",
            ProtocolError::InvalidCloseCode(_) => "invalid close code",
            ProtocolError::InvalidCompressedData => "invalid compressed data",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ProtocolError::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            ProtocolError::InvalidCloseCode(code) => write!(f, "invalid close code {code}"),
            other => f.write_str(other.reason()),
        }?;
        write!(f, " (close code {})", self.close_code().0)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ProtocolError {}

/// A request from the local application that the protocol does not allow.
///
/// Returning one never changes the connection's state: the call had no
/// effect, and nothing was queued for `poll_transmit`. Each variant names
/// the commands of [`Connection`](crate::Connection) (and
/// [`Sender`](crate::Sender)) that return it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// Our Close was already sent (or queued), and no frame may follow it
    /// (section 5.5.1), or the connection has ended (after a peer's
    /// violation, once the Close it owes is queued). Any command.
    Closed,
    /// The close code may not be sent (section 7.4): 1005, 1006, 1015, 1004,
    /// 1016-2999, below 1000 or 5000 and up. `close`.
    InvalidCloseCode(u16),
    /// A close reason over 123 bytes (section 5.5: 125 minus the 2-byte
    /// code). `close`.
    CloseReasonTooLong,
    /// A ping or pong payload over 125 bytes (section 5.5). `send_ping`,
    /// `send_pong`.
    ControlTooLong,
    /// A message fragment was sent with no streamed message started.
    /// `send_fragment`.
    NoMessageStarted,
    /// A new message was started while a streamed one is still open
    /// (section 5.4). `send_text`, `send_binary`, `send_uncompressed`,
    /// `send_in_place`, `begin_message`.
    MessageInProgress,
    /// Text that is not valid UTF-8: streamed pieces that do not join into
    /// it (`send_fragment`), or a payload given as bytes
    /// (`send_uncompressed`, `send_in_place`).
    InvalidUtf8,
    /// An in-place send while bytes wait in `poll_transmit`: they would have
    /// to go out between the header and the payload. `send_in_place`.
    TransmitPending,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed => f.write_str("the connection is closing or closed"),
            SendError::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            SendError::CloseReasonTooLong => f.write_str("close reason over 123 bytes"),
            SendError::ControlTooLong => f.write_str("control frame payload over 125 bytes"),
            SendError::NoMessageStarted => f.write_str("no streamed message is in progress"),
            SendError::MessageInProgress => f.write_str("a streamed message is still in progress"),
            SendError::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
            SendError::TransmitPending => {
                f.write_str("bytes are waiting in poll_transmit; write them out first")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SendError {}
