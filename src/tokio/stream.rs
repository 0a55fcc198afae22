//! [`Stream`] and [`Sink`] on the socket, as tokio-tungstenite's and axum's
//! sockets have them, so combinators (`StreamExt::next`, `SinkExt::send`,
//! `forward`, `StreamExt::split`) work on it.

use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use ::tokio::io::{AsyncRead, AsyncWrite};
use futures_core::{FusedStream, Stream};
use futures_sink::Sink;

use super::{Message, WebSocket};
use crate::close::CloseCode;

/// The messages of [`WebSocket::recv`]: `None` after the end, which is an
/// error first unless it was clean.
impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocket<S> {
    type Item = io::Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

/// Terminated once `None` was returned: after the end was reported.
impl<S: AsyncRead + AsyncWrite + Unpin> FusedStream for WebSocket<S> {
    fn is_terminated(&self) -> bool {
        self.is_terminated()
    }
}

/// Messages to send, as [`WebSocket::send`] sends them.
///
/// `poll_ready` waits until at most [`Options::max_pending`](super::Options)
/// bytes wait to be written; `start_send` queues the message (refusing it
/// as `send` does); `poll_flush` writes everything out. `poll_close` sends
/// a Close with 1000 (Normal), unless a Close went out already, and writes
/// it out; the close handshake then completes on the receiving side (the
/// stream ends with `None`), as with tokio-tungstenite. To wait for it
/// from here, use [`WebSocket::close`].
impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocket<S> {
    type Error = io::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_room(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> io::Result<()> {
        self.get_mut().queue(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_out(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let ws = self.get_mut();
        ws.start_close(CloseCode::NORMAL, "")?;
        ws.poll_flush_out(cx)
    }
}
