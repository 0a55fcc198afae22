//! The tokio driver over an in-memory duplex pipe, on tokio's virtual
//! clock: round trip, keepalive, handshake timeout, close, backpressure.

#[path = "common/tokio_pipe.rs"]
mod pipe;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pipe::{connect, pair, run};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};
use tokio::time::Instant as TokioInstant;
use wscore::handshake::client::ClientRequest;
use wscore::tokio::{Message, Options, WebSocket};
use wscore::{CloseCode, ClosedReason, Config, Event};

/// Echo every data message until the end; return how the end was reported.
async fn echo(mut ws: WebSocket<DuplexStream>) -> (Option<io::Error>, Option<ClosedReason>) {
    while let Some(sent) = ws
        .recv_with(|event, mut tx| match event {
            Event::Text(text) => tx.send_text(text),
            Event::Binary(data) => tx.send_binary(data),
            _ => Ok(()),
        })
        .await
    {
        match sent {
            Ok(_) => {}
            Err(e) => return (Some(e), ws.closed_reason()),
        }
    }
    (None, ws.closed_reason())
}

#[test]
fn round_trip_then_clean_close() {
    run(async {
        let (a, b) = duplex(64 << 10);
        let server = tokio::spawn(async move {
            let ws = WebSocket::accept(b, &Config::default(), Options::default()).await?;
            io::Result::Ok(echo(ws).await)
        });
        let mut client = connect(a, &Config::default()).await.unwrap();
        let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        client.send_text("hello").await.unwrap();
        client.send_binary(&big).await.unwrap();
        client.send_ping(b"p").await.unwrap();
        assert_eq!(
            client.recv().await.unwrap().unwrap(),
            Message::Text("hello".into())
        );
        assert_eq!(
            client.recv().await.unwrap().unwrap(),
            Message::Binary(big.into())
        );
        assert_eq!(
            client.recv().await.unwrap().unwrap(),
            Message::Pong(b"p".to_vec().into())
        );
        let reason = client.close(CloseCode::NORMAL, "bye").await.unwrap();
        assert_eq!(
            reason,
            ClosedReason::Clean {
                code: CloseCode::NORMAL
            }
        );
        assert!(client.recv().await.is_none());
        let (error, reason) = server.await.unwrap().unwrap();
        assert!(error.is_none(), "{error:?}");
        assert!(reason.is_some_and(ClosedReason::is_clean));
    });
}

#[test]
fn server_sees_the_close_message_then_the_end() {
    run(async {
        let (a, b) = duplex(4096);
        let server = tokio::spawn(async move {
            let mut ws = WebSocket::accept(b, &Config::default(), Options::default()).await?;
            let first = ws.recv().await.unwrap()?;
            let end = ws.recv().await;
            io::Result::Ok((first, end.is_none(), ws.closed_reason()))
        });
        let mut client = connect(a, &Config::default()).await.unwrap();
        let reason = client.close(CloseCode::GOING_AWAY, "going").await.unwrap();
        assert_eq!(
            reason,
            ClosedReason::Clean {
                code: CloseCode::GOING_AWAY
            }
        );
        let (first, ended, reason) = server.await.unwrap().unwrap();
        assert_eq!(
            first,
            Message::Close {
                code: CloseCode::GOING_AWAY,
                reason: "going".into()
            }
        );
        assert!(ended);
        assert!(reason.is_some_and(ClosedReason::is_clean));
    });
}

#[test]
fn keepalive_declares_a_silent_peer_dead_after_interval_plus_timeout() {
    run(async {
        let (mut a, b) = duplex(4096);
        let mut config = Config::default();
        config.keepalive_interval = Some(Duration::from_secs(5));
        config.keepalive_timeout = Some(Duration::from_secs(2));
        let server = tokio::spawn(async move {
            let mut ws = WebSocket::accept(b, &config, Options::default()).await?;
            let start = TokioInstant::now();
            let end = ws.recv().await;
            io::Result::Ok((end.map(|r| r.map_err(|e| e.kind())), start.elapsed()))
        });
        // A client that completes the handshake, then never answers.
        let request = ClientRequest::new("localhost", [1; 16]);
        let mut head = Vec::new();
        let _ = request.write(&plain(), &mut head).unwrap();
        a.write_all(&head).await.unwrap();
        let (end, elapsed) = server.await.unwrap().unwrap();
        assert_eq!(end, Some(Err(io::ErrorKind::TimedOut)));
        assert_eq!(elapsed, Duration::from_secs(7));
        // What reached the silent client: the 101, then one empty Ping.
        let mut got = Vec::new();
        a.read_to_end(&mut got).await.unwrap();
        assert!(got.ends_with(b"\r\n\r\n\x89\x00"), "{got:?}");
    });
}

#[test]
fn keepalive_keeps_an_answering_peer() {
    run(async {
        let (a, b) = duplex(4096);
        let mut config = Config::default();
        config.keepalive_interval = Some(Duration::from_secs(5));
        config.keepalive_timeout = Some(Duration::from_secs(2));
        let server_config = config.clone();
        let server = tokio::spawn(async move {
            let mut ws = WebSocket::accept(b, &server_config, Options::default()).await?;
            // Only Pongs arrive for 62 s: the application sends nothing.
            let until = TokioInstant::now() + Duration::from_secs(62);
            let mut pongs = 0;
            while let Ok(message) = tokio::time::timeout_at(until, ws.recv()).await {
                assert!(matches!(message, Some(Ok(Message::Pong(_)))), "{message:?}");
                pongs += 1;
            }
            io::Result::Ok((pongs, ws.closed_reason()))
        });
        let mut client = connect(a, &Config::default()).await.unwrap();
        let pings = tokio::spawn(async move {
            // Receiving is what answers the Pings.
            let mut pings = 0;
            while let Some(Ok(message)) = client.recv().await {
                if let Message::Ping(_) = message {
                    pings += 1;
                }
            }
            pings
        });
        // 62 s without data, a Ping every 5 s (each Pong restarts the
        // interval), and the server still open at the end.
        let (pongs, reason) = server.await.unwrap().unwrap();
        assert_eq!(reason, None);
        assert_eq!(pongs, 12);
        drop(pings);
    });
}

#[test]
fn handshake_times_out() {
    run(async {
        let (_a, b) = duplex(4096);
        let mut options = Options::default();
        options.handshake_timeout = Duration::from_secs(3);
        let start = TokioInstant::now();
        let error = WebSocket::accept(b, &Config::default(), options)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    });
}

#[test]
fn a_bad_request_gets_its_http_error() {
    run(async {
        let (mut a, b) = duplex(4096);
        let server = tokio::spawn(async move {
            WebSocket::accept(b, &Config::default(), Options::default()).await
        });
        a.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let error = server.await.unwrap().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        let mut got = Vec::new();
        a.read_to_end(&mut got).await.unwrap();
        assert!(got.starts_with(b"HTTP/1.1 426"), "{got:?}");
    });
}

#[test]
fn a_protocol_violation_is_invalid_data() {
    run(async {
        let (mut a, b) = duplex(4096);
        let server = tokio::spawn(async move {
            let mut ws = WebSocket::accept(b, &Config::default(), Options::default()).await?;
            let end = ws.recv().await;
            io::Result::Ok(end.map(|r| r.map_err(|e| e.kind())))
        });
        let mut head = Vec::new();
        let _ = ClientRequest::new("localhost", [1; 16])
            .write(&plain(), &mut head)
            .unwrap();
        a.write_all(&head).await.unwrap();
        // An unmasked frame from a client (section 5.1).
        a.write_all(&[0x81, 0x01, b'x']).await.unwrap();
        let end = server.await.unwrap().unwrap();
        assert_eq!(end, Some(Err(io::ErrorKind::InvalidData)));
    });
}

#[test]
fn backpressure_stops_reading_from_a_peer_that_does_not_read() {
    run(async {
        const MESSAGE: usize = 16 << 10;
        const COUNT: usize = 1000;
        let mut options = Options::default();
        options.max_pending = 64 << 10;
        let bound = options.max_pending;
        let (mut client, mut server) = pair(4096, Config::default(), options).await;
        // The client sends and never reads.
        let sent = Arc::new(AtomicUsize::new(0));
        let counted = sent.clone();
        tokio::spawn(async move {
            // Incompressible and different every time (with context
            // takeover a repeated message would compress to a few bytes),
            // so permessage-deflate, which connect and accept negotiate by
            // default, does not shrink it.
            let mut x = 0x9e37_79b9_u32;
            for _ in 0..COUNT {
                let payload: Vec<u8> = (0..MESSAGE)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        x as u8
                    })
                    .collect();
                if client.send_binary(&payload).await.is_err() {
                    break;
                }
                counted.fetch_add(1, Ordering::Relaxed);
            }
            // Keep the client alive (and not reading) for the rest of the test.
            std::future::pending::<()>().await;
        });
        let mut max_pending = 0;
        loop {
            let step = tokio::time::timeout(
                Duration::from_secs(1),
                server.recv_with(|event, mut tx| match event {
                    Event::Binary(data) => tx.send_binary(data),
                    _ => Ok(()),
                }),
            )
            .await;
            max_pending = max_pending.max(server.pending_transmit());
            if step.is_err() {
                break; // Stuck: it can neither write nor (by choice) read.
            }
        }
        // A frame's header, plus stored-block overhead if compressed.
        let frame = MESSAGE + 4 + 16;
        assert!(
            max_pending <= bound + frame,
            "{max_pending} bytes pending, bound {bound}"
        );
        let sent = sent.load(Ordering::Relaxed);
        assert!(sent < 20, "the client got {sent} messages out");
    });
}

/// A client's opening handshake with `frames` behind it, all in one write,
/// as a peer that floods the connection sends it.
fn upgrade_then(frames: &[u8]) -> Vec<u8> {
    let mut bytes = b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n"
        .to_vec();
    bytes.extend_from_slice(frames);
    bytes
}

/// A masked binary frame (mask key zero) carrying `payload` (at most 125 bytes).
fn masked_binary(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x82, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

#[test]
fn a_flooded_connection_yields_to_the_others_on_its_thread() {
    // Issue 16: 10,000 one-byte messages arrive in two reads, and handing
    // them out never waited on the transport, so the flooded task ran
    // through all of them before the other connection's task got a turn.
    run(async {
        const FLOOD: usize = 10_000;
        let flood = upgrade_then(&masked_binary(b"x").repeat(FLOOD));
        let (mut flooder, a) = duplex(flood.len() + 4096);
        flooder.write_all(&flood).await.unwrap();
        let (mut client, b) = duplex(4096);
        client
            .write_all(&upgrade_then(&masked_binary(b"hi")))
            .await
            .unwrap();
        let handed_out = Arc::new(AtomicUsize::new(0));
        let count = handed_out.clone();
        // Spawned first, so on this one thread it runs first.
        let flooded = tokio::spawn(async move {
            let mut ws = WebSocket::accept(a, &Config::default(), Options::default()).await?;
            while count.load(Ordering::Relaxed) < FLOOD {
                ws.recv().await.expect("the flooder never closes")?;
                count.fetch_add(1, Ordering::Relaxed);
            }
            io::Result::Ok(())
        });
        let count = handed_out.clone();
        let other = tokio::spawn(async move {
            let mut ws = WebSocket::accept(b, &Config::default(), Options::default()).await?;
            let message = ws.recv().await.expect("one message comes")?;
            assert_eq!(message, Message::Binary(b"hi".to_vec().into()));
            ws.send_binary(b"answer").await?;
            io::Result::Ok(count.load(Ordering::Relaxed))
        });
        let seen = other.await.unwrap().unwrap();
        assert!(
            seen < FLOOD / 10,
            "the other connection was answered after {seen} of the flood's {FLOOD} events"
        );
        flooded.await.unwrap().unwrap();
        assert_eq!(handed_out.load(Ordering::Relaxed), FLOOD);
        drop((flooder, client));
    });
}

#[test]
fn close_gives_up_on_a_silent_peer_after_the_close_timeout() {
    run(async {
        let (mut a, b) = duplex(4096);
        let mut config = Config::default();
        config.close_timeout = Some(Duration::from_secs(5));
        let server = tokio::spawn(async move {
            let mut ws = WebSocket::accept(b, &config, Options::default()).await?;
            let start = TokioInstant::now();
            let reason = ws.close(CloseCode::NORMAL, "").await?;
            io::Result::Ok((reason, start.elapsed(), ws.recv().await.is_none()))
        });
        // A client that completes the handshake, then never answers (and
        // keeps its side open: the drain must not wait for it).
        let mut head = Vec::new();
        let _ = ClientRequest::new("localhost", [1; 16])
            .write(&plain(), &mut head)
            .unwrap();
        a.write_all(&head).await.unwrap();
        let (reason, elapsed, ended) = server.await.unwrap().unwrap();
        assert_eq!(reason, ClosedReason::CloseTimeout);
        assert_eq!(elapsed, Duration::from_secs(5));
        assert!(ended);
        // The server's Close did go out, and then its end of the stream.
        let mut got = Vec::new();
        a.read_to_end(&mut got).await.unwrap();
        assert!(got.ends_with(b"\r\n\r\n\x88\x02\x03\xe8"), "{got:?}");
    });
}

#[test]
fn recv_cancelled_by_a_timeout_loses_no_message() {
    run(async {
        let (mut client, mut server) = pair(1024, Config::default(), Options::default()).await;
        let sender = tokio::spawn(async move {
            for i in 0..200u32 {
                client.send_binary(&i.to_be_bytes().repeat(100)).await?;
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            client.close(CloseCode::NORMAL, "").await
        });
        let mut next = 0u32;
        loop {
            // Shorter than the gap between messages: most calls are cut off.
            match tokio::time::timeout(Duration::from_millis(1), server.recv()).await {
                Err(_) => continue,
                Ok(Some(Ok(Message::Binary(data)))) => {
                    assert_eq!(data, next.to_be_bytes().repeat(100));
                    next += 1;
                }
                Ok(Some(Ok(Message::Close { .. }))) => {}
                Ok(None) => break,
                Ok(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(next, 200);
        assert!(sender.await.unwrap().unwrap().is_clean());
    });
}

#[test]
fn a_broken_transport_is_an_error_then_the_end() {
    run(async {
        let (client, mut server) = pair(4096, Config::default(), Options::default()).await;
        drop(client);
        // The peer vanished without a Close: the read sees EOF.
        let end = server.recv().await.map(|r| r.map_err(|e| e.kind()));
        assert_eq!(end, Some(Err(io::ErrorKind::UnexpectedEof)));
        assert_eq!(server.closed_reason(), Some(ClosedReason::Eof));
        assert!(server.recv().await.is_none());
        // Sending after the end is refused, not written to a dead transport.
        let error = server.send_text("late").await.unwrap_err();
        // The one mapping: a send after the end is a broken pipe, as in
        // the core (tests/io_error.rs).
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    });
}

/// The driver holds no buffer once its connection has been idle for
/// `buffer_release`: the read buffer is per thread, the written bytes go
/// back to the connection, which frees them with its own, and the timer is
/// kept only for keepalive's next Ping. After the idle period traffic
/// resumes as before.
#[test]
fn an_idle_socket_gives_back_every_buffer_and_works_after() {
    #[cfg(feature = "deflate")]
    {
        // permessage-deflate agreed with the defaults (windows 13/13,
        // context kept both ways): the two histories stay, 16 KiB and a
        // little, within the 24 KiB the README promises.
        idle_socket(Config::default(), 24 << 10);
        let off =
            Config::default().with_deflate(wscore::extension::deflate::DeflateConfig::DISABLED);
        idle_socket(off, 0);
    }
    #[cfg(not(feature = "deflate"))]
    idle_socket(Config::default(), 0);
}

/// Three rounds of a large and a small message each way, then 3 s of
/// silence after each: the server's connection must hold at most
/// `idle_bound` heap bytes while silent, the driver only its timer, and
/// both go on working.
fn idle_socket(config: Config, idle_bound: usize) {
    run(async {
        let (a, b) = duplex(1 << 20);
        let client_config = config.clone();
        let client = tokio::spawn(async move {
            let mut ws = connect(a, &client_config).await?;
            for round in 0..3u8 {
                // A large message and a small one, then silence.
                let big = vec![round; 300_000];
                ws.send_binary(&big).await?;
                ws.send_text("hi").await?;
                assert_eq!(ws.recv().await.unwrap()?, Message::Binary(big.into()));
                assert_eq!(ws.recv().await.unwrap()?, Message::Text("hi".into()));
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            ws.close(CloseCode::NORMAL, "").await
        });
        let mut server = WebSocket::accept(b, &config, Options::default())
            .await
            .unwrap();
        for _ in 0..3 {
            for _ in 0..2 {
                let echoed = server
                    .recv_with(|event, mut tx| match event {
                        Event::Text(text) => tx.send_text(text),
                        Event::Binary(data) => tx.send_binary(data),
                        _ => Ok(()),
                    })
                    .await;
                echoed.unwrap().unwrap().unwrap();
            }
            server.flush().await.unwrap();
            assert!(server.heap_usage() > 0, "buffers are in use while busy");
            // Nothing arrives for 3 s: recv (cancel-safe) is cut short by
            // the timeout, after the driver followed the release deadlines.
            let idle = tokio::time::timeout(Duration::from_secs(3), server.recv()).await;
            assert!(idle.is_err(), "nothing was sent meanwhile");
            // The connection's buffers are gone; the driver holds the
            // timer of keepalive's next Ping (on by default) and nothing
            // else.
            let conn = server.connection().heap_usage();
            assert!(
                conn <= idle_bound,
                "{conn} bytes held by an idle connection"
            );
            let held = server.heap_usage();
            assert!(
                held <= conn + std::mem::size_of::<tokio::time::Sleep>(),
                "{held} bytes held by an idle socket"
            );
        }
        // The client's Close, then the end, clean.
        assert!(matches!(
            server.recv().await,
            Some(Ok(Message::Close { .. }))
        ));
        assert!(server.recv().await.is_none(), "a clean close ends it");
        assert!(matches!(
            client.await.unwrap().unwrap(),
            ClosedReason::Clean { .. }
        ));
    });
}

/// The config of the hand-written clients here: they write plain frames,
/// so they offer no permessage-deflate.
fn plain() -> Config {
    Config::default().with_deflate(wscore::extension::deflate::DeflateConfig::DISABLED)
}
