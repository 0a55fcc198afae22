//! Owned messages, for [`WebSocket::recv`](super::WebSocket::recv) and
//! [`WebSocket::send`](super::WebSocket::send), and the text type they
//! carry.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Deref;

use bytes::Bytes;

use crate::close::CloseCode;
use crate::connection::Event;

/// An event of the connection with its payload copied out, so it can
/// outlive the next call on the [`WebSocket`](super::WebSocket); or a
/// message to send with [`WebSocket::send`](super::WebSocket::send).
///
/// Payloads are shared buffers: cloning a message (to hand one received
/// message to a thousand writers) copies no payload.
/// [`WebSocket::recv_with`](super::WebSocket::recv_with) hands out the
/// borrowed [`Event`] instead, without even the one copy out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A whole text message.
    Text(Utf8Bytes),
    /// A whole binary message.
    Binary(Bytes),
    /// In streaming mode, the next piece of a text message (sending: see
    /// [`Connection::send_fragment`](crate::Connection::send_fragment)).
    TextFragment {
        /// The piece: whole characters only.
        data: Utf8Bytes,
        /// Whether the message ends with this piece.
        fin: bool,
    },
    /// In streaming mode, the next piece of a binary message.
    BinaryFragment {
        /// The piece.
        data: Bytes,
        /// Whether the message ends with this piece.
        fin: bool,
    },
    /// A Ping arrived (already answered if `auto_pong` is on); sent, at
    /// most 125 bytes.
    Ping(Bytes),
    /// A Pong arrived; sent, an unsolicited Pong of at most 125 bytes.
    Pong(Bytes),
    /// The peer's Close arrived (already answered if `auto_close` is on;
    /// `recv` returns `None` once the close handshake is over). Sent, it
    /// starts the close handshake (the reason at most 123 bytes).
    Close {
        /// The code, 1005 if the peer sent none.
        code: CloseCode,
        /// The reason.
        reason: Utf8Bytes,
    },
}

impl Message {
    /// Copy a borrowed event out. `None` for [`Event::Closed`], which the
    /// driver reports itself, and for kinds this version does not know.
    #[must_use]
    pub fn from_event(event: Event<'_>) -> Option<Message> {
        Some(match event {
            Event::Text(text) => Message::Text(text.into()),
            Event::Binary(data) => Message::Binary(Bytes::copy_from_slice(data)),
            Event::TextFragment { data, fin } => Message::TextFragment {
                data: data.into(),
                fin,
            },
            Event::BinaryFragment { data, fin } => Message::BinaryFragment {
                data: Bytes::copy_from_slice(data),
                fin,
            },
            Event::Ping(data) => Message::Ping(Bytes::copy_from_slice(data)),
            Event::Pong(data) => Message::Pong(Bytes::copy_from_slice(data)),
            Event::Close { code, reason } => Message::Close {
                code,
                reason: reason.into(),
            },
            _ => return None,
        })
    }

    /// A text message.
    #[must_use]
    pub fn text(text: impl Into<Utf8Bytes>) -> Message {
        Message::Text(text.into())
    }

    /// A binary message.
    #[must_use]
    pub fn binary(data: impl Into<Bytes>) -> Message {
        Message::Binary(data.into())
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Message {
        Message::Text(text.into())
    }
}

impl From<String> for Message {
    fn from(text: String) -> Message {
        Message::Text(text.into())
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Message {
        Message::Binary(data.into())
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Message {
        Message::Binary(data)
    }
}

/// UTF-8 text in a shared buffer: a clone shares it, it derefs to `str`,
/// and it converts from `&str`, `String` and (checked) from `Bytes` or
/// `Vec<u8>`, like the `Utf8Bytes` of tungstenite and axum.
///
/// It holds an `Arc<str>`, so handing out `&str` needs no second check and
/// no `unsafe`. The price is one copy when made from a `String` (an `Arc`
/// needs its counts in front of the text); a message received is copied
/// once, out of the connection, either way.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Arc<str>);

impl Utf8Bytes {
    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Text from a literal (allocated once, for the shared counts; unlike
    /// axum's, not a `const fn` for that reason).
    #[must_use]
    pub fn from_static(text: &'static str) -> Utf8Bytes {
        Utf8Bytes(text.into())
    }
}

impl Default for Utf8Bytes {
    fn default() -> Utf8Bytes {
        Utf8Bytes::from_static("")
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl From<&str> for Utf8Bytes {
    fn from(text: &str) -> Utf8Bytes {
        Utf8Bytes(text.into())
    }
}

impl From<&String> for Utf8Bytes {
    fn from(text: &String) -> Utf8Bytes {
        Utf8Bytes(text.as_str().into())
    }
}

impl From<String> for Utf8Bytes {
    fn from(text: String) -> Utf8Bytes {
        Utf8Bytes(text.into())
    }
}

impl From<Arc<str>> for Utf8Bytes {
    fn from(text: Arc<str>) -> Utf8Bytes {
        Utf8Bytes(text)
    }
}

impl From<Utf8Bytes> for Arc<str> {
    fn from(text: Utf8Bytes) -> Arc<str> {
        text.0
    }
}

impl From<Utf8Bytes> for String {
    fn from(text: Utf8Bytes) -> String {
        String::from(&*text.0)
    }
}

/// The owner `Bytes` keeps alive when made from a `Utf8Bytes`.
struct SharedText(Arc<str>);

impl AsRef<[u8]> for SharedText {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl From<Utf8Bytes> for Bytes {
    /// Shares the text's buffer; no copy.
    fn from(text: Utf8Bytes) -> Bytes {
        Bytes::from_owner(SharedText(text.0))
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = core::str::Utf8Error;
    fn try_from(data: Bytes) -> Result<Utf8Bytes, Self::Error> {
        Ok(Utf8Bytes(core::str::from_utf8(&data)?.into()))
    }
}

/// The error is `Utf8Error`, as with axum's and tungstenite's type.
impl TryFrom<Vec<u8>> for Utf8Bytes {
    type Error = core::str::Utf8Error;
    fn try_from(data: Vec<u8>) -> Result<Utf8Bytes, Self::Error> {
        Ok(core::str::from_utf8(&data)?.into())
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for Utf8Bytes {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<&String> for Utf8Bytes {
    fn eq(&self, other: &&String) -> bool {
        *self.0 == ***other
    }
}

impl PartialEq<Utf8Bytes> for str {
    fn eq(&self, other: &Utf8Bytes) -> bool {
        *self == *other.0
    }
}

impl PartialEq<Utf8Bytes> for &str {
    fn eq(&self, other: &Utf8Bytes) -> bool {
        **self == *other.0
    }
}
