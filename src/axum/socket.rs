//! [`WebSocket`]: the upgraded connection, with axum's methods.

use std::io;

use axum_core::Error;
use http::header::HeaderValue;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;

use super::Message;
use crate::tokio::{Message as TokioMessage, WebSocket as TokioWebSocket};

/// The driver's socket over hyper's upgraded connection.
type Inner = TokioWebSocket<TokioIo<Upgraded>>;

/// An accepted WebSocket connection, as axum's `WebSocket`: [`recv`](Self::recv)
/// and [`send`](Self::send) [`Message`]s.
///
/// It is the tokio driver's [`WebSocket`](crate::tokio::WebSocket) over
/// hyper's upgraded connection, with its memory, backpressure, deadlines
/// and cancel safety (see [`crate::tokio`]); [`get_mut`](Self::get_mut)
/// reaches it, e.g. for [`recv_with`](crate::tokio::WebSocket::recv_with),
/// which hands out payloads without copying them.
///
/// Dropping it drops the connection without a Close, as with axum's.
#[derive(Debug)]
pub struct WebSocket {
    inner: Inner,
    protocol: Option<HeaderValue>,
}

impl WebSocket {
    pub(super) fn new(inner: Inner, protocol: Option<HeaderValue>) -> WebSocket {
        WebSocket { inner, protocol }
    }

    /// The next message; `None` once the connection has ended (after a
    /// clean close handshake, or after the error that ended it). Pings and
    /// the peer's Close are answered before they are handed out.
    /// Cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        loop {
            match self.inner.recv().await? {
                Ok(message) => {
                    if let Some(message) = Message::from_tokio(message) {
                        return Some(Ok(message));
                    }
                }
                Err(e) => return Some(Err(Error::new(e))),
            }
        }
    }

    /// Send a message and write it out. Sending a [`Message::Close`]
    /// starts the close handshake (or finishes it, after the peer's Close:
    /// echoing the Close received is fine); anything sent after it fails.
    pub async fn send(&mut self, msg: Message) -> Result<(), Error> {
        let sent = match msg.into_tokio() {
            TokioMessage::Text(text) => self.inner.send_text(&text).await,
            TokioMessage::Binary(data) => self.inner.send_binary(&data).await,
            TokioMessage::Ping(data) => self.inner.send_ping(&data).await,
            TokioMessage::Close { code, reason } => self.inner.close(code, &reason).await.map(drop),
            // A Pong, until the driver's `send` takes any message.
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "sending a Pong needs the tokio driver's `send`",
            )),
        };
        sent.map_err(Error::new)
    }

    /// The subprotocol chosen in the handshake, if any.
    pub fn protocol(&self) -> Option<&HeaderValue> {
        self.protocol.as_ref()
    }

    /// The tokio driver's socket.
    #[must_use]
    pub fn get_ref(&self) -> &TokioWebSocket<TokioIo<Upgraded>> {
        &self.inner
    }

    /// The tokio driver's socket, for what axum's API has no room for
    /// (borrowed payloads, close reasons, heap usage).
    pub fn get_mut(&mut self) -> &mut TokioWebSocket<TokioIo<Upgraded>> {
        &mut self.inner
    }

    /// The tokio driver's socket, for good.
    #[must_use]
    pub fn into_inner(self) -> TokioWebSocket<TokioIo<Upgraded>> {
        self.inner
    }
}
