//! `From<E> for std::io::Error` for every error the crate returns, so a
//! driver over `std::io` can use `?` (house style: a driver maps the core's
//! outcomes to its runtime's idioms).
//!
//! This is the one mapping: the tokio driver and the examples convert
//! through these impls and [`ClosedReason::to_io_error`], and the crate docs'
//! "Errors" table states the same rows (tests/io_error.rs pins each one,
//! tests/tokio_driver.rs the driver's).
//!
//! The [`ErrorKind`] follows the blame split of [`crate::error`]: what the
//! peer did wrong is [`ErrorKind::InvalidData`] (as `std` reports bad bytes
//! from a stream), what the caller did wrong is [`ErrorKind::InvalidInput`]
//! (as `std` reports a bad argument). A few say more than that:
//!
//! | error | kind |
//! |---|---|
//! | [`ProtocolError`] (any) | `InvalidData` |
//! | [`HandshakeError`] (any) | `InvalidData` |
//! | [`ClientHandshakeError::Status`] (the server answered, but not 101) | `ConnectionRefused` |
//! | [`ClientHandshakeError`] (any other) | `InvalidData` |
//! | [`SendError::Closed`] (our Close is sent, or the connection ended) | `BrokenPipe` |
//! | [`SendError`] (any other) | `InvalidInput` |
//! | [`BuildError`] (any) | `InvalidInput` |
//! | [`ClosedReason::ProtocolError`] | `InvalidData` |
//! | [`ClosedReason::Eof`] (the transport ended without a close handshake) | `UnexpectedEof` |
//! | [`ClosedReason`] `KeepaliveTimeout`, `CloseTimeout`, `MessageTimeout` | `TimedOut` |
//! | [`ClosedReason::Clean`] | no error |
//!
//! These are the kinds a user of `std::net` or tokio-tungstenite's
//! `io::Error` conversions already handles. `BrokenPipe` because that is
//! what writing to a stream whose write side is shut down reports (EPIPE),
//! and a send after Close is exactly that; a driver treating it as
//! "connection gone" does the right thing. (`NotConnected`, ENOTCONN, is
//! what a socket that was never connected reports: not this case.)
//! `ConnectionRefused` because the server did refuse: the attached response
//! (a redirect, an authentication challenge) is not malformed data, and a
//! client retrying on `ConnectionRefused` treats a 503 as it treats a
//! closed port. `UnexpectedEof` and `TimedOut` are what `read_exact` and a
//! socket timeout report for the same ends.
//!
//! The `io::Error` wraps the original error (`io::Error::new(kind, e)`):
//! its `Display` is the original's, and the original comes back with
//! [`io::Error::get_ref`] and `downcast_ref`, or [`io::Error::into_inner`]
//! and `downcast`.

use std::io::{self, ErrorKind};

use crate::connection::ClosedReason;
use crate::error::{ProtocolError, SendError};
use crate::handshake::{BuildError, ClientHandshakeError, HandshakeError};

impl From<ProtocolError> for io::Error {
    fn from(e: ProtocolError) -> io::Error {
        io::Error::new(ErrorKind::InvalidData, e)
    }
}

impl From<SendError> for io::Error {
    fn from(e: SendError) -> io::Error {
        let kind = match e {
            SendError::Closed => ErrorKind::BrokenPipe,
            _ => ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e)
    }
}

impl From<HandshakeError> for io::Error {
    fn from(e: HandshakeError) -> io::Error {
        io::Error::new(ErrorKind::InvalidData, e)
    }
}

impl From<ClientHandshakeError> for io::Error {
    fn from(e: ClientHandshakeError) -> io::Error {
        let kind = match e {
            ClientHandshakeError::Status(_) => ErrorKind::ConnectionRefused,
            _ => ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

impl From<BuildError> for io::Error {
    fn from(e: BuildError) -> io::Error {
        io::Error::new(ErrorKind::InvalidInput, e)
    }
}

impl ClosedReason {
    /// The `io::Error` a driver over `std::io` reports for this end, as the
    /// module's table says; `None` for a clean close handshake, which is
    /// the end of the stream rather than an error. A protocol error is the
    /// error's source; any other end's message is the reason's `Display`,
    /// formatted into a new `String` (the one allocation besides the
    /// `io::Error`'s own box).
    #[must_use]
    pub fn to_io_error(self) -> Option<io::Error> {
        let kind = match self {
            ClosedReason::Clean { .. } => return None,
            ClosedReason::ProtocolError(e) => return Some(e.into()),
            ClosedReason::Eof => ErrorKind::UnexpectedEof,
            ClosedReason::KeepaliveTimeout
            | ClosedReason::CloseTimeout
            | ClosedReason::MessageTimeout => ErrorKind::TimedOut,
        };
        Some(io::Error::new(kind, alloc::format!("websocket: {self}")))
    }
}
