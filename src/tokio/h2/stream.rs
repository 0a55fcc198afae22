//! One HTTP/2 stream as a tokio byte stream: what a
//! [`WebSocket`](super::super::WebSocket) runs over after an extended
//! CONNECT (RFC 8441 section 5: the stream's DATA frames carry the
//! WebSocket's bytes, END_STREAM is the transport's end).

use core::pin::Pin;
use core::task::{Context, Poll, ready};
use std::io;

use ::h2::{RecvStream, SendStream};
use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use bytes::{Buf, Bytes};

/// The most a single write hands to h2 at once. h2 copies nothing, so this
/// bounds the one `Bytes` a write allocates; the flow-control window bounds
/// how much of it goes out before the peer reads.
const MAX_WRITE: usize = 64 << 10;

/// A WebSocket's HTTP/2 stream, as tokio's `AsyncRead + AsyncWrite`.
///
/// - Reads hand out the stream's DATA in order and give the same number of
///   bytes back to the peer's flow-control window (stream and connection)
///   only once they were read, so a peer that sends faster than this side
///   reads is held back by HTTP/2's flow control: at most the receive
///   window waits in h2's buffers. END_STREAM reads as the end of file
///   (a read of 0 bytes); a `RST_STREAM` from the peer, a GOAWAY or the
///   connection closing under the stream is
///   [`ConnectionReset`](io::ErrorKind::ConnectionReset), and a failure of
///   the transport (TLS, the socket) its own error; the
///   [`WebSocket`](super::super::WebSocket) reports either as an abrupt
///   end.
/// - Writes wait (`Pending`) until the peer's window has room, and hand h2
///   no more than that room, so nothing waits in h2's buffers unbounded.
///   [`poll_shutdown`](AsyncWrite::poll_shutdown) sends END_STREAM: the
///   end of a WebSocket over HTTP/2, where the close handshake ends the
///   stream, not the connection (RFC 8441 section 5).
///
/// Dropping it before both sides ended resets the stream (h2 sends
/// `RST_STREAM` with `CANCEL`); the connection and its other streams go on.
#[derive(Debug)]
pub struct H2Stream {
    send: SendStream<Bytes>,
    recv: RecvStream,
    /// DATA received and not yet read; its bytes are given back to the
    /// window as they are read.
    unread: Bytes,
    /// END_STREAM went out.
    shut: bool,
}

impl H2Stream {
    /// The stream's two halves, as h2 hands them over: the [`SendStream`]
    /// from `SendRequest::send_request` and the [`RecvStream`] body of the
    /// response.
    #[must_use]
    pub fn new(send: SendStream<Bytes>, recv: RecvStream) -> H2Stream {
        H2Stream {
            send,
            recv,
            unread: Bytes::new(),
            shut: false,
        }
    }

    /// The HTTP/2 stream's identifier, e.g. for logs.
    #[must_use]
    pub fn stream_id(&self) -> ::h2::StreamId {
        self.send.stream_id()
    }

    /// Whether the peer ended its side with END_STREAM and every byte
    /// before it was read: true after a clean end of the WebSocket (RFC
    /// 8441 section 5), false while open and after a `RST_STREAM`.
    #[must_use]
    pub fn is_end_stream(&self) -> bool {
        self.unread.is_empty() && self.recv.is_end_stream()
    }

    /// Give `n` read bytes back to the peer's windows.
    fn release(&mut self, n: usize) -> io::Result<()> {
        self.recv
            .flow_control()
            .release_capacity(n)
            .map_err(to_io_error)
    }

    /// Why writing is no longer possible: the peer's reset if there was
    /// one, else the stream ended on our side.
    fn poll_write_closed(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if self.shut {
            return Poll::Ready(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "write after the HTTP/2 stream was ended",
            ));
        }
        Poll::Ready(match ready!(self.send.poll_reset(cx)) {
            Ok(reason) => reset_error(reason),
            Err(e) => to_io_error(e),
        })
    }
}

/// A `RST_STREAM` from the peer, as the I/O error the driver expects of a
/// transport that ended abruptly.
fn reset_error(reason: ::h2::Reason) -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        alloc::format!("the peer reset the HTTP/2 stream: {reason}"),
    )
}

/// h2's error as an I/O error: its own I/O errors as they were, a reset or
/// GOAWAY as [`ConnectionReset`](io::ErrorKind::ConnectionReset), a misuse
/// of h2 (a bug here) as `Other`.
pub(super) fn to_io_error(e: ::h2::Error) -> io::Error {
    if e.is_io() {
        return e
            .into_io()
            .unwrap_or_else(|| io::Error::other("h2 I/O error"));
    }
    if e.is_reset() || e.is_go_away() || e.reason().is_some() {
        return io::Error::new(io::ErrorKind::ConnectionReset, e);
    }
    io::Error::other(e)
}

/// An error of the receiving side: as [`to_io_error`], except that h2
/// reports a connection that ended (its transport closed, without a
/// GOAWAY) to each open stream as a `BrokenPipe`, which is a writer's
/// word; to the reader it is the stream cut short, as by a reset.
fn read_error(e: ::h2::Error) -> io::Error {
    let e = to_io_error(e);
    if e.kind() == io::ErrorKind::BrokenPipe {
        return io::Error::new(
            io::ErrorKind::ConnectionReset,
            alloc::format!("the HTTP/2 connection ended before the stream did: {e}"),
        );
    }
    e
}

impl AsyncRead for H2Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while this.unread.is_empty() {
            match ready!(this.recv.poll_data(cx)) {
                Some(Ok(data)) => this.unread = data,
                Some(Err(e)) => return Poll::Ready(Err(read_error(e))),
                // END_STREAM (or the body ended by a reset already seen):
                // the end of file.
                None => return Poll::Ready(Ok(())),
            }
        }
        let n = this.unread.len().min(buf.remaining());
        buf.put_slice(&this.unread[..n]);
        this.unread.advance(n);
        if this.unread.is_empty() {
            // An emptied `Bytes` still holds its share of h2's read
            // buffer: an idle stream should hold none.
            this.unread = Bytes::new();
        }
        // Only what was read reopens the window (RFC 9113 section 5.2):
        // the peer can have no more in flight than this side buffers.
        Poll::Ready(this.release(n))
    }
}

impl AsyncWrite for H2Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let this = &mut *self;
        if this.shut {
            return Poll::Ready(Err(ready!(this.poll_write_closed(cx))));
        }
        let want = buf.len().min(MAX_WRITE);
        // The total asked for, not an increment: asking again for what is
        // still wanted keeps the request at `want`.
        this.send.reserve_capacity(want);
        loop {
            let room = this.send.capacity();
            if room > 0 {
                let n = room.min(want);
                this.send
                    .send_data(Bytes::copy_from_slice(&buf[..n]), false)
                    .map_err(to_io_error)?;
                return Poll::Ready(Ok(n));
            }
            // `poll_capacity` is edge-triggered: it is ready when room was
            // added since it was last polled, and `capacity` then tells
            // how much there is.
            match ready!(this.send.poll_capacity(cx)) {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Err(to_io_error(e))),
                None => return Poll::Ready(Err(ready!(this.poll_write_closed(cx)))),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // h2's connection task writes what `send_data` queued as soon as it
        // can; there is nothing to push from here.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.shut {
            this.shut = true;
            // Give back whatever room was asked for and not used, then end
            // the stream with an empty DATA frame carrying END_STREAM.
            this.send.reserve_capacity(0);
            this.send
                .send_data(Bytes::new(), true)
                .map_err(to_io_error)?;
        }
        Poll::Ready(Ok(()))
    }
}
