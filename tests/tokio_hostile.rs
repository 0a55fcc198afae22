//! The tokio driver against a hostile peer and a careless application: a
//! peer that stops reading, vanishes mid-close, floods; an application that
//! sends after the end, cancels at random, polls halves from two tasks or
//! from one `select!`, panics in `recv_with`. Every test is bounded by a
//! timeout, so a hang fails instead of stalling the run.

#[path = "common/tokio_pipe.rs"]
mod pipe;

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pipe::{pair, run};
use tokio::io::{
    AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf, duplex,
};
use tokio::time::timeout;
use wscore::tokio::{Message, Options, WebSocket};
use wscore::{ClosedReason, Config};

/// Longer than anything a test waits for on the paused clock: a timeout
/// past it is a hang.
const LIMIT: Duration = Duration::from_secs(60);

/// A config without permessage-deflate, so sizes on the wire are the
/// payloads'.
fn plain() -> Config {
    Config::default().with_deflate(wscore::extension::deflate::DeflateConfig::DISABLED)
}

/// A client's opening handshake with `frames` behind it, all in one write.
fn upgrade_then(frames: &[u8]) -> Vec<u8> {
    let mut bytes = b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n"
        .to_vec();
    bytes.extend_from_slice(frames);
    bytes
}

/// A masked frame (mask key zero) with `first` as its first byte and
/// `payload` (at most 125 bytes).
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![first, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

/// A server accepted over a pipe of `capacity` bytes each way, and the raw
/// client end, which has read the server's handshake answer and nothing
/// else.
async fn raw_peer(
    capacity: usize,
    config: Config,
    options: Options,
) -> (DuplexStream, WebSocket<DuplexStream>) {
    let (mut raw, b) = duplex(capacity);
    let server = tokio::spawn(async move { WebSocket::accept(b, &config, options).await });
    raw.write_all(&upgrade_then(&[])).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(raw.read_u8().await.unwrap());
    }
    (raw, server.await.unwrap().unwrap())
}

/// A connection that ends while the peer reads nothing (keepalive gives up
/// on it) must not leave a send waiting forever: once the end is reported
/// no more bytes will be written, so the send is refused, not parked on a
/// transport nobody drains. Before the fix, the drain gave up after its
/// timeout and the writing half, woken by the end, went back to waiting
/// for the peer to read.
#[test]
fn a_send_stuck_on_a_peer_that_never_reads_is_released_by_the_end() {
    run(async {
        let mut config = plain();
        config.keepalive_interval = Some(Duration::from_secs(1));
        config.keepalive_timeout = Some(Duration::from_secs(1));
        // The client is never polled again: it reads nothing.
        let (_client, server) = pair(1024, config, Options::default()).await;
        let (mut rx, mut tx) = server.split();
        let writer = tokio::spawn(async move { tx.send_binary(&[7; 100_000]).await });
        let reader = tokio::spawn(async move {
            let mut end = None;
            while let Some(message) = rx.next().await {
                if let Err(e) = message {
                    end = Some(e.kind());
                }
            }
            (end, rx.closed_reason())
        });
        let (end, reason) = timeout(LIMIT, reader)
            .await
            .expect("the reader ends")
            .unwrap();
        assert_eq!(end, Some(io::ErrorKind::TimedOut));
        assert_eq!(reason, Some(ClosedReason::KeepaliveTimeout));
        let sent = timeout(LIMIT, writer)
            .await
            .expect("the end releases the writer")
            .unwrap();
        assert_eq!(sent.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    });
}

/// The same on the whole socket: after the end, `flush` (and the `Sink`'s
/// `poll_close`, which flushes) with bytes the drain could not write
/// returns at once.
#[test]
fn flushing_after_the_end_never_waits_on_a_peer_that_never_reads() {
    run(async {
        let mut config = plain();
        config.keepalive_interval = Some(Duration::from_secs(1));
        config.keepalive_timeout = Some(Duration::from_secs(1));
        let (_client, mut server) = pair(1024, config, Options::default()).await;
        // Queued, partly written, then cut short.
        let cut = timeout(Duration::from_millis(1), server.send_binary(&[7; 100_000])).await;
        assert!(cut.is_err());
        let end = timeout(LIMIT, async {
            while let Some(message) = server.recv().await {
                if let Err(e) = message {
                    return Some(e.kind());
                }
            }
            None
        })
        .await
        .expect("keepalive ends it");
        assert_eq!(end, Some(io::ErrorKind::TimedOut));
        let flushed = timeout(LIMIT, server.flush()).await.expect("flush returns");
        assert_eq!(flushed.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        let closed = timeout(LIMIT, SinkExt::close(&mut server))
            .await
            .expect("the Sink's close returns");
        assert_eq!(closed.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    });
}

/// A transport whose reads fail once `broken` is set (a TLS record that
/// does not decrypt, a reset seen by the read side) while its writes still
/// go into the pipe.
struct BrokenReads {
    io: DuplexStream,
    broken: Arc<AtomicBool>,
}

impl AsyncRead for BrokenReads {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.broken.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for BrokenReads {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// After the transport failed (its error returned, then `None`), a send
/// is refused with `BrokenPipe` at once, the same as after any other end.
/// Before the fix the connection still took messages: they were written to
/// the failed transport, and against a peer that does not read the send
/// waited forever, with no timer left to end it.
#[test]
fn a_send_after_a_transport_failure_is_refused_at_once() {
    run(async {
        let (client_io, server_io) = duplex(1024);
        let broken = Arc::new(AtomicBool::new(false));
        let io = BrokenReads {
            io: server_io,
            broken: broken.clone(),
        };
        let server =
            tokio::spawn(async move { WebSocket::accept(io, &plain(), Options::default()).await });
        // The client is never polled after its handshake: it reads nothing.
        let _client = pipe::connect(client_io, &plain()).await.unwrap();
        let mut server = server.await.unwrap().unwrap();
        broken.store(true, Ordering::SeqCst);
        let failed = server.recv().await.unwrap().unwrap_err();
        assert_eq!(failed.kind(), io::ErrorKind::ConnectionReset);
        assert!(server.recv().await.is_none());
        let sent = timeout(LIMIT, server.send_binary(&[7; 100_000]))
            .await
            .expect("a send after the end returns");
        assert_eq!(sent.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        let sent = timeout(LIMIT, server.send(Message::binary(vec![7; 100_000])))
            .await
            .expect("a send after the end returns");
        assert_eq!(sent.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(server.pending_transmit(), 0, "nothing was queued");
    });
}

/// The peer breaks the protocol and vanishes while our Close is still
/// being written. A flush (from the application, or the writing half)
/// that meets the broken transport then must not overwrite how the
/// connection ended: the next `recv` still reports the violation, once,
/// and `closed_reason` tells it. Before the fix the failed write turned the
/// end into a silent `None`, which reads as a clean close.
#[test]
fn a_write_error_after_the_end_does_not_hide_how_the_connection_ended() {
    run(async {
        let (mut raw, mut server) = raw_peer(256, plain(), Options::default()).await;
        // Fill the pipe toward the peer, which does not read.
        let cut = timeout(Duration::from_millis(1), server.send_binary(&[7; 1000])).await;
        assert!(cut.is_err());
        // A frame with a reserved opcode: a violation (1002).
        raw.write_all(&masked(0x83, b"")).await.unwrap();
        // The end is found; finishing the transport waits on the pipe.
        let cut = timeout(Duration::from_millis(500), server.recv()).await;
        assert!(cut.is_err(), "our Close cannot be written yet");
        assert!(matches!(
            server.closed_reason(),
            Some(ClosedReason::ProtocolError(_))
        ));
        drop(raw);
        let flushed = server.flush().await;
        assert!(flushed.is_err(), "the peer is gone");
        let end = timeout(LIMIT, server.recv()).await.expect("recv returns");
        assert_eq!(
            end.map(|r| r.map_err(|e| e.kind())),
            Some(Err(io::ErrorKind::InvalidData)),
            "the end is reported once"
        );
        assert!(server.recv().await.is_none());
        assert!(matches!(
            server.closed_reason(),
            Some(ClosedReason::ProtocolError(_))
        ));
    });
}

/// A reading half and a writing half polled from one task's `select!`
/// (the writer waiting on a peer that does not read) must still yield
/// after 64 events: the writer's `Pending` is no yield of the task, since
/// `select!` goes on with the reader's ready event. Before the fix it
/// reset the reader's count, so a flooded task ran through the whole flood
/// while the other connection on its thread waited.
#[test]
fn a_pending_writer_in_the_same_select_does_not_stop_a_flooded_reader_yielding() {
    run(async {
        const FLOOD: usize = 10_000;
        let flood = upgrade_then(&masked(0x82, b"x").repeat(FLOOD));
        let (mut flooder, a) = duplex(flood.len() + 4096);
        flooder.write_all(&flood).await.unwrap();
        let (mut client, b) = duplex(4096);
        client
            .write_all(&upgrade_then(&masked(0x82, b"hi")))
            .await
            .unwrap();
        let handed_out = Arc::new(AtomicUsize::new(0));
        let count = handed_out.clone();
        let flooded = tokio::spawn(async move {
            // Room for the message below: backpressure must not be what
            // stops the reader.
            let mut options = Options::default();
            options.max_pending = 1 << 20;
            let ws = WebSocket::accept(a, &Config::default(), options).await?;
            let (mut rx, mut tx) = ws.split();
            // More than the pipe holds: it waits for the flooder to read.
            let big = vec![0; 200_000];
            let send = tx.send_binary(&big);
            tokio::pin!(send);
            while count.load(Ordering::Relaxed) < FLOOD {
                tokio::select! {
                    biased;
                    sent = &mut send => panic!("the flooder reads nothing: {sent:?}"),
                    message = rx.next() => {
                        message.expect("the flooder never closes")?;
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            io::Result::Ok(())
        });
        let count = handed_out.clone();
        let other = tokio::spawn(async move {
            let mut ws = WebSocket::accept(b, &Config::default(), Options::default()).await?;
            let message = ws.recv().await.expect("one message comes")?;
            assert_eq!(message, Message::Binary(b"hi".to_vec().into()));
            io::Result::Ok(count.load(Ordering::Relaxed))
        });
        let seen = other.await.unwrap().unwrap();
        assert!(
            seen < FLOOD / 10,
            "the other connection was answered after {seen} of the flood's {FLOOD} events"
        );
        timeout(LIMIT, flooded).await.unwrap().unwrap().unwrap();
        drop((flooder, client));
    });
}
