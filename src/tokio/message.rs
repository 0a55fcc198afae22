//! Owned messages, for [`WebSocket::recv`](super::WebSocket::recv).

use alloc::string::String;
use alloc::vec::Vec;

use crate::close::CloseCode;
use crate::connection::Event;

/// An event of the connection with its payload copied out, so it can
/// outlive the next call on the [`WebSocket`](super::WebSocket).
///
/// [`WebSocket::recv_with`](super::WebSocket::recv_with) hands out the
/// borrowed [`Event`] instead, without that copy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A whole text message.
    Text(String),
    /// A whole binary message.
    Binary(Vec<u8>),
    /// In streaming mode, the next piece of a text message.
    TextFragment {
        /// The piece.
        data: String,
        /// Whether the message ends with this piece.
        fin: bool,
    },
    /// In streaming mode, the next piece of a binary message.
    BinaryFragment {
        /// The piece.
        data: Vec<u8>,
        /// Whether the message ends with this piece.
        fin: bool,
    },
    /// A Ping arrived (already answered if `auto_pong` is on).
    Ping(Vec<u8>),
    /// A Pong arrived.
    Pong(Vec<u8>),
    /// The peer's Close arrived (already answered if `auto_close` is on).
    /// `recv` returns `None` once the close handshake is over.
    Close {
        /// The peer's code, 1005 if it sent none.
        code: CloseCode,
        /// The peer's reason.
        reason: String,
    },
}

impl Message {
    /// Copy a borrowed event out. `None` for [`Event::Closed`], which the
    /// driver reports itself, and for kinds this version does not know.
    #[must_use]
    pub fn from_event(event: Event<'_>) -> Option<Message> {
        Some(match event {
            Event::Text(text) => Message::Text(text.into()),
            Event::Binary(data) => Message::Binary(data.into()),
            Event::TextFragment { data, fin } => Message::TextFragment {
                data: data.into(),
                fin,
            },
            Event::BinaryFragment { data, fin } => Message::BinaryFragment {
                data: data.into(),
                fin,
            },
            Event::Ping(data) => Message::Ping(data.into()),
            Event::Pong(data) => Message::Pong(data.into()),
            Event::Close { code, reason } => Message::Close {
                code,
                reason: reason.into(),
            },
            _ => return None,
        })
    }
}
