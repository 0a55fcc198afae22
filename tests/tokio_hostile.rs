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

use futures_util::sink::Sink;
use futures_util::stream::Stream;
use futures_util::{SinkExt, StreamExt};
use pipe::{pair, run};
use tokio::io::{
    AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf, duplex,
};
use tokio::time::timeout;
use wscore::tokio::{Message, Options, WebSocket};
use wscore::{CloseCode, ClosedReason, Config};

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
        let (mut rx, mut tx) = server.into_split();
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

/// A transport whose writes fail once `broken` is set (a reset the write
/// side sees first) while its reads still come from the pipe.
struct BrokenWrites {
    io: DuplexStream,
    broken: Arc<AtomicBool>,
}

impl AsyncRead for BrokenWrites {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for BrokenWrites {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.broken.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The transport fails under the writing half while the reading half waits
/// in another task: the reader is woken and gets the failure once, then
/// `None`, rather than a bare `None` that reads as a clean close.
#[test]
fn a_transport_failing_under_the_writer_is_an_error_for_the_reader_too() {
    run(async {
        let (client_io, server_io) = duplex(1024);
        let broken = Arc::new(AtomicBool::new(false));
        let io = BrokenWrites {
            io: server_io,
            broken: broken.clone(),
        };
        let server =
            tokio::spawn(async move { WebSocket::accept(io, &plain(), Options::default()).await });
        let _client = pipe::connect(client_io, &plain()).await.unwrap();
        let (mut rx, mut tx) = server.await.unwrap().unwrap().into_split();
        let reader = tokio::spawn(async move {
            let first = rx.recv().await.map(|r| r.map_err(|e| e.kind()));
            (first, rx.recv().await.is_none(), rx.closed_reason())
        });
        tokio::task::yield_now().await;
        broken.store(true, Ordering::SeqCst);
        let sent = tx.send_text("into a reset").await.unwrap_err();
        assert_eq!(sent.kind(), io::ErrorKind::ConnectionReset);
        let (first, then_none, reason) = timeout(LIMIT, reader).await.expect("woken").unwrap();
        assert_eq!(
            first.map(|r| r.map(|_| ())),
            Some(Err(io::ErrorKind::ConnectionReset))
        );
        assert!(then_none);
        assert_eq!(reason, None, "no close handshake, no protocol reason");
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
            let (mut rx, mut tx) = ws.into_split();
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

/// A send waiting for room (the peer reads nothing, so neither do we)
/// when keepalive gives up on the peer is refused at that moment, not
/// after the drain has also given up `drain_timeout` later: the timer's
/// wake-up reaches the writing half too.
#[test]
fn a_send_waiting_for_room_is_refused_when_the_connection_ends() {
    run(async {
        let mut config = plain();
        config.keepalive_interval = Some(Duration::from_secs(1));
        config.keepalive_timeout = Some(Duration::from_secs(1));
        let mut options = Options::default();
        options.max_pending = 1024;
        options.drain_timeout = Duration::from_secs(10);
        let (client, server) = pair(1024, config, options).await;
        let (mut rx, mut tx) = server.into_split();
        let started = tokio::time::Instant::now();
        let writer = tokio::spawn(async move {
            // Queued, unwritten: the next waits for room.
            tx.feed(Message::binary(vec![1; 4096])).await?;
            tx.feed(Message::binary(vec![2; 4096])).await?;
            io::Result::Ok(())
        });
        let reader = tokio::spawn(async move { while rx.next().await.is_some() {} });
        let sent = timeout(LIMIT, writer)
            .await
            .expect("the writer returns")
            .unwrap();
        assert_eq!(sent.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        timeout(LIMIT, reader).await.unwrap().unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(12));
        drop(client);
    });
}

/// A xorshift generator: random enough for cancellation points, and
/// reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A timeout short enough to cut many calls short (tokio's timer
    /// rounds it up to its 1 ms tick), or none at all.
    fn deadline(&mut self) -> Option<Duration> {
        match self.next() % 4 {
            0 => None,
            n => Some(Duration::from_micros(n * 300)),
        }
    }
}

/// Run `fut` under `deadline`, if any: `None` if it was cut short.
async fn maybe_cut<F: std::future::Future>(
    deadline: Option<Duration>,
    fut: F,
) -> Option<F::Output> {
    match deadline {
        Some(d) => timeout(d, fut).await.ok(),
        None => Some(fut.await),
    }
}

/// Sequence numbers, each in a message of its own length.
fn numbered(seq: u32, rng: &mut Rng) -> Message {
    let mut data = seq.to_be_bytes().to_vec();
    data.resize(4 + (rng.next() % 3000) as usize, seq as u8);
    Message::binary(data)
}

fn number(message: &Message) -> u32 {
    match message {
        Message::Binary(data) => u32::from_be_bytes(data[..4].try_into().unwrap()),
        other => panic!("{other:?}"),
    }
}

/// Four tasks on real threads, both ways at once through a small pipe,
/// every send and receive under a random timeout (the cancel safety the
/// module docs claim): on one side the socket's own halves, on the other
/// `StreamExt::split` over the whole socket. No message whose send
/// returned `Ok` is lost, none is received twice or out of order, nobody
/// sleeps forever, and the close handshake ends both cleanly.
#[test]
fn halves_on_real_threads_under_random_cancellation_lose_and_repeat_nothing() {
    const COUNT: u32 = 3000;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut options = Options::default();
        options.max_pending = 4096;
        let (client, server) = pair(2048, Config::default(), options).await;
        let (mut client_rx, mut client_tx) = client.into_split();
        let (mut server_tx, mut server_rx) = StreamExt::split(server);
        let client_writer = tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
            let mut acked = Vec::new();
            for seq in 0..COUNT {
                let message = numbered(seq, &mut rng);
                if let Some(sent) = maybe_cut(rng.deadline(), client_tx.send(message)).await {
                    sent.unwrap();
                    acked.push(seq);
                }
            }
            (client_tx, acked)
        });
        let server_writer = tokio::spawn(async move {
            let mut rng = Rng(0xdead_beef_cafe_f00d);
            let mut acked = Vec::new();
            for seq in 0..COUNT {
                let message = numbered(seq, &mut rng);
                if let Some(sent) = maybe_cut(rng.deadline(), server_tx.send(message)).await {
                    sent.unwrap();
                    acked.push(seq);
                }
            }
            (server_tx, acked)
        });
        let client_reader = tokio::spawn(async move {
            let mut rng = Rng(0x0123_4567_89ab_cdef);
            let mut got = Vec::new();
            loop {
                // Now and then the reader dawdles: backpressure builds up.
                if rng.next() % 64 == 0 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                match maybe_cut(rng.deadline(), client_rx.next()).await {
                    None => {}
                    Some(None) => break,
                    Some(Some(message)) => match message.unwrap() {
                        Message::Close { .. } => {}
                        m => got.push(number(&m)),
                    },
                }
            }
            (client_rx, got)
        });
        let server_reader = tokio::spawn(async move {
            let mut rng = Rng(0xfedc_ba98_7654_3210);
            let mut got = Vec::new();
            loop {
                if rng.next() % 64 == 0 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                match maybe_cut(rng.deadline(), server_rx.next()).await {
                    None => {}
                    Some(None) => break,
                    Some(Some(message)) => match message.unwrap() {
                        Message::Close { .. } => {}
                        m => got.push(number(&m)),
                    },
                }
            }
            (server_rx, got)
        });
        let done = timeout(Duration::from_secs(30), async {
            let (mut client_tx, client_acked) = client_writer.await.unwrap();
            let (_server_tx, server_acked) = server_writer.await.unwrap();
            client_tx.close(CloseCode::NORMAL, "").await.unwrap();
            let (client_rx, client_got) = client_reader.await.unwrap();
            let (_server_rx, server_got) = server_reader.await.unwrap();
            for (acked, got) in [(client_acked, server_got), (server_acked, client_got)] {
                assert!(
                    got.windows(2).all(|w| w[0] < w[1]),
                    "out of order or repeated"
                );
                let mut got = got.iter().peekable();
                for seq in acked {
                    while got.next_if(|&&n| n < seq).is_some() {}
                    assert_eq!(got.next(), Some(&seq), "acknowledged and lost");
                }
            }
            assert!(
                client_rx
                    .closed_reason()
                    .is_some_and(ClosedReason::is_clean)
            );
        })
        .await;
        assert!(done.is_ok(), "a task slept forever");
    });
}

/// The length of a binary message received.
fn binary_len(received: Option<io::Result<Message>>) -> usize {
    match received {
        Some(Ok(Message::Binary(data))) => data.len(),
        other => panic!("{other:?}"),
    }
}

/// A waker that counts nothing: its `Arc`'s strong count tells who holds it.
struct Held;

impl std::task::Wake for Held {
    fn wake(self: Arc<Self>) {}
}

/// Split, used from two tasks, then idle: the socket gives back its
/// buffers as the whole one does (the shared waker is all the halves add),
/// and once the halves and the peer are dropped nothing holds the tasks'
/// wakers: no cycle between the shared waker and the socket.
#[test]
fn idle_halves_hold_no_buffer_and_dropping_them_frees_every_waker() {
    run(async {
        let (mut client, server) = pair(1 << 20, plain(), Options::default()).await;
        let (mut rx, mut tx) = server.into_split();
        tx.send_binary(&[1; 300_000]).await.unwrap();
        client.send_binary(&[2; 300_000]).await.unwrap();
        assert_eq!(binary_len(rx.next().await), 300_000);
        assert_eq!(binary_len(client.recv().await), 300_000);
        // Silence: the reader follows the release deadlines, then is cut off.
        assert!(timeout(Duration::from_secs(3), rx.next()).await.is_err());
        let ws = rx.reunite(tx).unwrap();
        let conn = ws.connection().heap_usage();
        assert_eq!(conn, 0, "{conn} bytes held by an idle connection");
        let held = ws.heap_usage();
        assert!(
            held <= std::mem::size_of::<tokio::time::Sleep>() + 128,
            "{held} bytes held by an idle socket"
        );

        // Two wakers, as two tasks would poll with, both left registered.
        let (client, server) = pair(1024, plain(), Options::default()).await;
        let (mut rx, mut tx) = server.into_split();
        let (reader, writer) = (Arc::new(Held), Arc::new(Held));
        let reader_waker = std::task::Waker::from(reader.clone());
        let writer_waker = std::task::Waker::from(writer.clone());
        let mut read_cx = Context::from_waker(&reader_waker);
        let mut write_cx = Context::from_waker(&writer_waker);
        assert!(Pin::new(&mut rx).poll_next(&mut read_cx).is_pending());
        let mut sink = Pin::new(&mut tx);
        assert!(sink.as_mut().poll_ready(&mut write_cx).is_ready());
        sink.as_mut()
            .start_send(Message::binary(vec![0; 8192]))
            .unwrap();
        assert!(sink.as_mut().poll_flush(&mut write_cx).is_pending());
        assert!(Pin::new(&mut rx).poll_next(&mut read_cx).is_pending());
        drop((reader_waker, writer_waker));
        assert!(Arc::strong_count(&reader) > 1 && Arc::strong_count(&writer) > 1);
        drop((rx, tx, client));
        assert_eq!(Arc::strong_count(&reader), 1, "the reader's waker leaked");
        assert_eq!(Arc::strong_count(&writer), 1, "the writer's waker leaked");
    });
}

/// A `recv_with` closure that panics poisons the lock the halves share;
/// the writing half goes on, and so does the reading half if it is kept:
/// the lock's poison is ignored, as the socket is never half-updated
/// across user code.
#[test]
fn a_panic_in_recv_with_leaves_both_halves_usable() {
    run(async {
        let (mut client, server) = pair(4096, plain(), Options::default()).await;
        let (rx, mut tx) = server.into_split();
        client.send_text("boom").await.unwrap();
        client.send_text("after").await.unwrap();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let panicking = rx.clone();
        let task = tokio::spawn(async move {
            let mut rx = panicking.lock().await;
            rx.recv_with(|_, _| -> () { panic!("the application's bug") })
                .await
        });
        assert!(task.await.unwrap_err().is_panic());
        let mut rx = Arc::try_unwrap(rx).ok().unwrap().into_inner();
        assert_eq!(rx.next().await.unwrap().unwrap(), Message::text("after"));
        tx.send_text("still here").await.unwrap();
        assert_eq!(
            client.recv().await.unwrap().unwrap(),
            Message::text("still here")
        );
        // And the close handshake completes through the halves.
        drop(rx);
        let peer = tokio::spawn(async move {
            assert!(matches!(
                client.recv().await,
                Some(Ok(Message::Close { .. }))
            ));
            client.recv().await.is_none()
        });
        timeout(LIMIT, tx.close(CloseCode::NORMAL, ""))
            .await
            .unwrap()
            .unwrap();
        assert!(tx.closed_reason().is_some_and(ClosedReason::is_clean));
        assert!(peer.await.unwrap());
    });
}

/// The ways to close through the halves, twice each, and sends after the
/// end: refused with `BrokenPipe` at once, whichever half ended it.
#[test]
fn closing_through_the_halves_twice_and_sending_after_the_end() {
    run(async {
        // The Sink's close with the reader alive writes our Close only; the
        // reader sees the end; closing again changes nothing.
        let (mut client, server) = pair(4096, plain(), Options::default()).await;
        let (mut rx, mut tx) = server.into_split();
        let peer = tokio::spawn(async move {
            while client.recv().await.is_some() {}
            client.closed_reason()
        });
        SinkExt::close(&mut tx).await.unwrap();
        SinkExt::close(&mut tx).await.unwrap();
        assert!(matches!(rx.next().await, Some(Ok(Message::Close { .. }))));
        assert!(rx.next().await.is_none());
        assert!(rx.next().await.is_none());
        tx.close(CloseCode::NORMAL, "again").await.unwrap();
        for sent in [
            tx.send_text("late").await,
            tx.send(Message::text("late")).await,
            tx.send_ping(b"late").await,
            SinkExt::send(&mut tx, Message::text("late")).await,
        ] {
            assert_eq!(sent.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        }
        assert!(peer.await.unwrap().is_some_and(ClosedReason::is_clean));
        assert!(rx.closed_reason().is_some_and(ClosedReason::is_clean));

        // With the reader gone, the Sink's close waits for the end itself.
        let (mut client, server) = pair(4096, plain(), Options::default()).await;
        let (rx, mut tx) = server.into_split();
        drop(rx);
        let peer = tokio::spawn(async move {
            while client.recv().await.is_some() {}
            client.closed_reason()
        });
        timeout(LIMIT, SinkExt::close(&mut tx))
            .await
            .unwrap()
            .unwrap();
        assert!(tx.closed_reason().is_some_and(ClosedReason::is_clean));
        timeout(LIMIT, tx.close(CloseCode::NORMAL, ""))
            .await
            .unwrap()
            .unwrap();
        let sent = tx.send_binary(b"late").await;
        assert_eq!(sent.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert!(peer.await.unwrap().is_some_and(ClosedReason::is_clean));
    });
}

/// A peer that floods Pings and reads nothing, while the application only
/// writes (and the reading half answers): what waits to be written stays
/// within `max_pending`, one message and one Pong (Pongs owed are
/// coalesced), however many Pings come.
#[test]
fn a_ping_flood_against_a_writing_application_stays_bounded() {
    run(async {
        let mut options = Options::default();
        options.max_pending = 8192;
        let bound = options.max_pending;
        let (raw, server) = raw_peer(4096, plain(), options).await;
        let (mut raw_rx, mut raw_tx) = tokio::io::split(raw);
        let (mut rx, mut tx) = server.into_split();
        let flood = tokio::spawn(async move {
            // Bounded, so the paused clock moves once all is read.
            let ping = masked(0x89, &[7; 125]);
            for _ in 0..20_000 {
                raw_tx.write_all(&ping).await.unwrap();
            }
            std::future::pending::<()>().await;
        });
        let reader = tokio::spawn(async move {
            let _ = timeout(Duration::from_secs(5), async {
                while let Some(Ok(_)) = rx.next().await {}
            })
            .await;
            rx
        });
        let writer = tokio::spawn(async move {
            let _ = timeout(Duration::from_secs(5), async {
                while tx.send(Message::binary(vec![1; 1000])).await.is_ok() {}
            })
            .await;
            tx
        });
        let ws = reader
            .await
            .unwrap()
            .reunite(writer.await.unwrap())
            .unwrap();
        let pending = ws.pending_transmit();
        assert!(
            pending <= bound + 1004 + 129,
            "{pending} bytes pending, bound {bound}"
        );
        let held = ws.heap_usage();
        assert!(held <= 4 * bound, "{held} bytes held");
        // The peer, reading at last, finds Pongs and messages, in frames.
        let mut first = [0; 2];
        raw_rx.read_exact(&mut first).await.unwrap();
        assert!(matches!(first[0], 0x82 | 0x8a), "{first:?}");
        flood.abort();
    });
}
