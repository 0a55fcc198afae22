//! [`WebSocket`]: the upgraded connection, with axum's methods, `Stream`
//! and `Sink`, delegating to the tokio driver's.

use core::future::poll_fn;
use core::pin::Pin;
use core::task::{Context, Poll, ready};

use axum_core::Error;
use futures_core::{FusedStream, Stream};
use futures_sink::Sink;
use http::header::HeaderValue;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;

use super::Message;
use crate::tokio::WebSocket as TokioWebSocket;

/// The driver's socket over hyper's upgraded connection.
type Inner = TokioWebSocket<TokioIo<Upgraded>>;

/// An accepted WebSocket connection, as axum's `WebSocket`:
/// [`recv`](Self::recv) and [`send`](Self::send) [`Message`]s, or use it
/// as a [`Stream`] and a [`Sink`], e.g. split with futures'
/// `StreamExt::split` into a reader task and a writer task.
///
/// It is the tokio driver's [`WebSocket`](crate::tokio::WebSocket) over
/// hyper's upgraded connection, with its memory, backpressure, deadlines
/// and cancel safety (see [`crate::tokio`]); [`get_mut`](Self::get_mut)
/// reaches it, e.g. for [`recv_with`](crate::tokio::WebSocket::recv_with),
/// which hands out payloads without copying them. Each message received is
/// copied once, out of the connection; each sent, once, into its frame.
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
    /// Cancel-safe: all its state lives in the socket.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Send a message and write it out (first waiting, as `SinkExt::send`
    /// does, until at most [`Options::max_pending`](crate::tokio::Options::max_pending)
    /// bytes wait to be written). Sending a [`Message::Close`] starts the
    /// close handshake; after the peer's Close, which the connection
    /// answered already, it only writes that answer out, so echoing every
    /// message is fine. Anything else sent after a Close fails.
    pub async fn send(&mut self, msg: Message) -> Result<(), Error> {
        if self.answered(&msg) {
            return self.inner.flush().await.map_err(Error::new);
        }
        self.inner.send(msg.into_tokio()).await.map_err(Error::new)
    }

    /// Send a message framed (and compressed) once for many sockets, and
    /// write it out: an axum broadcast hands the same
    /// `Arc<`[`PreparedMessage`](crate::PreparedMessage)`>` to every
    /// member's task instead of a [`Message`] each member would frame and
    /// compress again. Waits and fails as [`send`](Self::send) does (after
    /// our Close, it fails); what goes out is
    /// [`Connection::send_prepared`](crate::Connection::send_prepared)'s.
    pub async fn send_prepared(&mut self, message: &crate::PreparedMessage) -> Result<(), Error> {
        self.inner.send_prepared(message).await.map_err(Error::new)
    }

    /// A Close to send when ours went out already: as with axum's (and
    /// tungstenite's), there is nothing left to do but write it out.
    fn answered(&self, msg: &Message) -> bool {
        matches!(msg, Message::Close(_)) && self.inner.connection().close_sent()
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

/// The messages of [`WebSocket::recv`].
impl Stream for WebSocket {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match ready!(Pin::new(&mut this.inner).poll_next(cx)) {
                Some(Ok(message)) => {
                    // The driver's pieces of messages come only in
                    // streaming mode, which the upgrade turns off.
                    if let Some(message) = Message::from_tokio(message) {
                        return Poll::Ready(Some(Ok(message)));
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(Error::new(e)))),
                None => return Poll::Ready(None),
            }
        }
    }
}

impl FusedStream for WebSocket {
    /// Whether the stream gave `None` (the connection ended).
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}

/// Messages to send, as [`WebSocket::send`] sends them; `poll_close` sends
/// a Close with 1000 (unless one went out) and writes it out, and the
/// stream then ends with `None` once the peer answers.
impl Sink<Message> for WebSocket {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().inner)
            .poll_ready(cx)
            .map_err(Error::new)
    }

    fn start_send(self: Pin<&mut Self>, msg: Message) -> Result<(), Error> {
        let this = self.get_mut();
        if this.answered(&msg) {
            return Ok(());
        }
        Pin::new(&mut this.inner)
            .start_send(msg.into_tokio())
            .map_err(Error::new)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().inner)
            .poll_flush(cx)
            .map_err(Error::new)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().inner)
            .poll_close(cx)
            .map_err(Error::new)
    }
}
