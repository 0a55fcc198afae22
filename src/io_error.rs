//! `From<E> for std::io::Error` for every error the crate returns, so a
//! driver over `std::io` can use `?` (house style: a driver maps the core's
//! outcomes to its runtime's idioms).
//!
//! The [`ErrorKind`] follows the blame split of [`crate::error`]: what the
//! peer did wrong is [`ErrorKind::InvalidData`] (as `std` reports bad bytes
//! from a stream), what the caller did wrong is [`ErrorKind::InvalidInput`]
//! (as `std` reports a bad argument). Two variants say more than that:
//!
//! | error | kind |
//! |---|---|
//! | [`ProtocolError`] (any) | `InvalidData` |
//! | [`HandshakeError`] (any) | `InvalidData` |
//! | [`ClientHandshakeError::Status`] (the server answered, but not 101) | `ConnectionRefused` |
//! | [`ClientHandshakeError`] (any other) | `InvalidData` |
//! | [`SendError::Closed`] (our Close is sent) | `BrokenPipe` |
//! | [`SendError`] (any other) | `InvalidInput` |
//! | [`BuildError`] (any) | `InvalidInput` |
//!
//! `BrokenPipe` because that is what writing to a stream whose write side
//! is shut down reports, and a send after Close is exactly that; a driver
//! treating it as "connection gone" does the right thing.
//! `ConnectionRefused` because the server did refuse: the attached response
//! (a redirect, an authentication challenge) is not malformed data.
//!
//! The `io::Error` wraps the original error (`io::Error::new(kind, e)`):
//! its `Display` is the original's, and the original comes back with
//! [`io::Error::get_ref`] and `downcast_ref`, or [`io::Error::into_inner`]
//! and `downcast`.

use std::io::{self, ErrorKind};

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
