//! [`Message`] and [`CloseFrame`], shaped like axum's (which are
//! tungstenite's), and their conversion to and from the tokio driver's
//! [`Message`](crate::tokio::Message).

use alloc::string::String;
use alloc::vec::Vec;

use axum_core::Error;
use bytes::Bytes;

use crate::close::CloseCode as WireCode;
use crate::tokio::{Message as TokioMessage, Utf8Bytes};

/// A close status code, as axum has it: a plain `u16` (the constants are
/// in [`close_code`](super::close_code); the crate's own type is
/// [`crate::CloseCode`]).
pub type CloseCode = u16;

/// The code and reason of a Close frame.
#[derive(Debug, Clone, Eq, PartialEq)]
pub struct CloseFrame {
    /// The code; sending needs one that may go on the wire (1000, 1001...
    /// 3000 to 4999), not 1005, 1006 or 1015.
    pub code: CloseCode,
    /// The reason: at most 123 bytes when sent.
    pub reason: Utf8Bytes,
}

/// A WebSocket message, as axum's: the same variants, helpers and
/// conversions.
///
/// Received, `Ping` and `Close` were already answered by the connection
/// (RFC 6455 says it MUST), so an application need not send a `Pong` or
/// echo the `Close`; echoing a `Close` anyway is harmless, it finishes the
/// close handshake. Sent, `Close` starts the close handshake; after it,
/// sending anything else fails.
#[derive(Debug, Eq, PartialEq, Clone)]
pub enum Message {
    /// A whole text message.
    Text(Utf8Bytes),
    /// A whole binary message.
    Binary(Bytes),
    /// A Ping, at most 125 bytes. A Ping received is answered by the
    /// connection before it is handed out.
    Ping(Bytes),
    /// A Pong, at most 125 bytes. Sent, it is an unsolicited Pong (a
    /// one-way heartbeat, RFC 6455 section 5.5.3).
    Pong(Bytes),
    /// A Close, with its code and reason when it had one. Received, the
    /// connection has answered it and [`recv`](super::WebSocket::recv)
    /// gives `None` next. Sent, it starts the close handshake (`None`
    /// sends code 1000 without a reason).
    Close(Option<CloseFrame>),
}

impl Message {
    /// The driver's message as this one: `None` for the pieces of a
    /// message, which only a config with `streaming` on hands out (the
    /// upgrade turns streaming off).
    pub(super) fn from_tokio(message: TokioMessage) -> Option<Message> {
        Some(match message {
            TokioMessage::Text(text) => Message::Text(text),
            TokioMessage::Binary(data) => Message::Binary(data),
            TokioMessage::Ping(data) => Message::Ping(data),
            TokioMessage::Pong(data) => Message::Pong(data),
            TokioMessage::Close { code, .. } if code == WireCode::NO_STATUS_RECEIVED => {
                Message::Close(None)
            }
            TokioMessage::Close { code, reason } => Message::Close(Some(CloseFrame {
                code: code.0,
                reason,
            })),
            _ => return None,
        })
    }

    /// This message as the driver's. `Close(None)` becomes code 1000
    /// without a reason: the connection always sends a code.
    pub(super) fn into_tokio(self) -> TokioMessage {
        match self {
            Message::Text(text) => TokioMessage::Text(text),
            Message::Binary(data) => TokioMessage::Binary(data),
            Message::Ping(data) => TokioMessage::Ping(data),
            Message::Pong(data) => TokioMessage::Pong(data),
            Message::Close(None) => TokioMessage::Close {
                code: WireCode::NORMAL,
                reason: Utf8Bytes::default(),
            },
            Message::Close(Some(frame)) => TokioMessage::Close {
                code: WireCode(frame.code),
                reason: frame.reason,
            },
        }
    }

    /// The payload as bytes: the text's bytes (shared, not copied), the
    /// data, or a Close's reason.
    #[must_use]
    pub fn into_data(self) -> Bytes {
        match self {
            Message::Text(text) => Bytes::from(text),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data,
            Message::Close(None) => Bytes::new(),
            Message::Close(Some(frame)) => Bytes::from(frame.reason),
        }
    }

    /// The payload as text: a text message's as it is, other payloads
    /// checked as UTF-8 and copied (an error if they are not UTF-8).
    pub fn into_text(self) -> Result<Utf8Bytes, Error> {
        match self {
            Message::Text(text) => Ok(text),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => {
                Utf8Bytes::try_from(data).map_err(Error::new)
            }
            Message::Close(None) => Ok(Utf8Bytes::default()),
            Message::Close(Some(frame)) => Ok(frame.reason),
        }
    }

    /// The payload as `&str`, checking other payloads than text as UTF-8.
    pub fn to_text(&self) -> Result<&str, Error> {
        match self {
            Message::Text(text) => Ok(text.as_str()),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => {
                core::str::from_utf8(data).map_err(Error::new)
            }
            Message::Close(None) => Ok(""),
            Message::Close(Some(frame)) => Ok(frame.reason.as_str()),
        }
    }

    /// A text message.
    pub fn text<S>(string: S) -> Message
    where
        S: Into<Utf8Bytes>,
    {
        Message::Text(string.into())
    }

    /// A binary message.
    pub fn binary<B>(bin: B) -> Message
    where
        B: Into<Bytes>,
    {
        Message::Binary(bin.into())
    }
}

impl From<String> for Message {
    fn from(string: String) -> Message {
        Message::Text(string.into())
    }
}

impl<'s> From<&'s str> for Message {
    fn from(string: &'s str) -> Message {
        Message::Text(string.into())
    }
}

impl<'b> From<&'b [u8]> for Message {
    /// Copies the bytes.
    fn from(data: &'b [u8]) -> Message {
        Message::Binary(Bytes::copy_from_slice(data))
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Message {
        Message::Binary(data)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Message {
        Message::Binary(data.into())
    }
}

impl From<Message> for Vec<u8> {
    /// Copies the payload.
    fn from(message: Message) -> Vec<u8> {
        message.into_data().to_vec()
    }
}
