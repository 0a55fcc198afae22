//! `wscore::tokio::h2::Http2Client` against real HTTP/2 servers on
//! loopback (`common/h2_servers.rs`): hyper 1.x with extended CONNECT (the
//! server most users have), and a raw `h2` server for what hyper will not
//! do on request (reset a stream mid-message, show whether a stream ended
//! with END_STREAM). Every test runs under a deadline of its own, on one
//! thread, so the counting allocator sees both ends.

#[path = "common/counting.rs"]
mod counting;
#[path = "common/h2_servers.rs"]
mod servers;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use servers::*;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::time::Instant as TokioInstant;
use wscore::extension::deflate::DeflateConfig;
use wscore::handshake::ClientHandshakeError;
use wscore::tokio::h2::{Http2Client, Http2Options};
use wscore::tokio::{ConnectOptions, Message, Options};
use wscore::{CloseCode, ClosedReason, Config};

/// A new WebSocket on `session` echoes `text`: the connection still works.
async fn echoes_on_a_new_socket(session: &Http2Client, text: &str) {
    let (mut ws, _) = session
        .websocket("/echo", &Config::default(), ConnectOptions::new())
        .await
        .unwrap();
    ws.send_text(text).await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text(text));
}

/// Text, binary, and messages of several MiB each way (past every window,
/// so flow control has to reopen them many times), with `config`'s
/// permessage-deflate; returns whether deflate was agreed.
async fn echo_round(session: &Http2Client, config: &Config) -> bool {
    let (mut ws, response) = session
        .websocket("/echo", config, ConnectOptions::new())
        .await
        .unwrap();
    ws.send(Message::text("hello over h2")).await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::text("hello over h2")
    );
    ws.send_binary(&[0, 1, 2, 255]).await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::binary(vec![0, 1, 2, 255])
    );
    let large = noise(5 << 20, 7);
    ws.send_binary(&large).await.unwrap();
    match ws.recv().await.unwrap().unwrap() {
        Message::Binary(data) => assert!(data == large, "the 5 MiB echo differs"),
        other => panic!("expected the large echo, got {other:?}"),
    }
    let text = "wscore ".repeat(600_000);
    ws.send_text(&text).await.unwrap();
    match ws.recv().await.unwrap().unwrap() {
        Message::Text(echoed) => assert!(echoed.as_str() == text, "the text echo differs"),
        other => panic!("expected the text echo, got {other:?}"),
    }
    let reason = ws.close(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(
        reason,
        ClosedReason::Clean {
            code: CloseCode::NORMAL
        }
    );
    !response.negotiated().extensions.is_empty()
}

#[tokio::test]
async fn echo_text_binary_and_large_messages_with_and_without_deflate() {
    bounded(async {
        let (port, accepts, _) = hyper_server(true, Behaviour::Echo, None).await;
        let session = h2c_session(port).await;
        assert!(echo_round(&session, &Config::default()).await);
        let mut plain = Config::default();
        plain.deflate = DeflateConfig::DISABLED;
        assert!(!echo_round(&session, &plain).await);
        assert_eq!(accepts.load(Ordering::SeqCst), 1);
    })
    .await;
}

#[tokio::test]
async fn twenty_websockets_share_one_connection() {
    bounded(async {
        let (port, accepts, _) = hyper_server(true, Behaviour::Echo, None).await;
        let session = h2c_session(port).await;
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let session = session.clone();
                tokio::spawn(async move {
                    let (mut ws, _) = session
                        .websocket(
                            &format!("/echo?n={i}"),
                            &Config::default(),
                            ConnectOptions::new(),
                        )
                        .await
                        .unwrap();
                    for round in 0..5 {
                        let data = noise(100_000, i * 10 + round);
                        ws.send_binary(&data).await.unwrap();
                        let echoed = ws.recv().await.unwrap().unwrap();
                        assert!(echoed == Message::binary(data), "socket {i} round {round}");
                    }
                    ws.close(CloseCode::NORMAL, "").await.unwrap()
                })
            })
            .collect();
        for task in tasks {
            assert!(matches!(task.await.unwrap(), ClosedReason::Clean { .. }));
        }
        assert_eq!(accepts.load(Ordering::SeqCst), 1, "one TCP connection");
    })
    .await;
}

#[tokio::test]
async fn a_server_without_extended_connect_is_unsupported() {
    bounded(async {
        let (port, _, _) = hyper_server(false, Behaviour::Echo, None).await;
        let e = Http2Client::connect(h2c(port), &Http2Options::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{e}");
        assert!(
            e.to_string().contains("SETTINGS_ENABLE_CONNECT_PROTOCOL"),
            "{e}"
        );
    })
    .await;
}

/// An HTTP/2 session with prior knowledge to 127.0.0.1:`port`.
async fn h2c_session(port: u16) -> Http2Client {
    Http2Client::connect(h2c(port), &Http2Options::new())
        .await
        .unwrap()
}

/// What a server behaving as `behaviour` answers a WebSocket with: the
/// refusal under the `ConnectionRefused` error.
async fn refused_by(behaviour: Behaviour) -> wscore::handshake::RejectedResponse {
    let (port, _, _) = hyper_server(true, behaviour, None).await;
    let e = h2c_session(port)
        .await
        .websocket("/", &Config::default(), ConnectOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
    let ClientHandshakeError::Status(rejected) = refusal(&e) else {
        panic!("{e:?}");
    };
    rejected.clone()
}

/// The handshake error under an `io::Error` of `websocket`.
fn refusal(e: &io::Error) -> &ClientHandshakeError {
    e.get_ref()
        .and_then(|e| e.downcast_ref::<ClientHandshakeError>())
        .unwrap_or_else(|| panic!("not a handshake error: {e:?}"))
}

#[tokio::test]
async fn a_403_is_refused_with_its_status_and_body() {
    bounded(async {
        let rejected = refused_by(Behaviour::Forbid).await;
        assert_eq!(rejected.status(), 403);
        assert_eq!(rejected.body(), b"not for you\n");
    })
    .await;
}

#[tokio::test]
async fn a_2xx_other_than_200_is_refused() {
    bounded(async {
        assert_eq!(refused_by(Behaviour::NoContent).await.status(), 204);
    })
    .await;
}

#[tokio::test]
async fn targets_of_another_scheme_are_refused_before_any_io() {
    bounded(async {
        let (port, _, _) = hyper_server(true, Behaviour::Echo, None).await;
        let session = Http2Client::connect(
            format!("http://127.0.0.1:{port}/ignored"),
            &Http2Options::new(),
        )
        .await
        .unwrap();
        for target in [
            "wss://127.0.0.1/x",
            "https://127.0.0.1/x",
            "ftp://h/x",
            "no-slash",
        ] {
            let e = session
                .websocket(target, &Config::default(), ConnectOptions::new())
                .await
                .unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{target}: {e}");
        }
        // A URL of the connection's scheme names its own authority.
        let url = format!("ws://127.0.0.1:{port}/echo");
        let (mut ws, _) = session
            .websocket(&url, &Config::default(), ConnectOptions::new())
            .await
            .unwrap();
        ws.send_text("by url").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("by url"));
    })
    .await;
}

/// A stalled reader: the server sends 16 MiB and the client reads none of
/// it for a while. HTTP/2 flow control must stop the server once the
/// stream's window is full, and the process's heap must not grow by the
/// flood; then every message still arrives, in order.
#[tokio::test]
async fn a_stalled_reader_is_held_back_by_flow_control() {
    bounded(async {
        let (port, _, sent) = hyper_server(true, Behaviour::Flood, None).await;
        let window = 256 << 10;
        let options = Http2Options::new()
            .stream_window(window)
            .connection_window(1 << 20);
        let session = Http2Client::connect(h2c(port), &options).await.unwrap();
        let mut plain = Config::default();
        plain.deflate = DeflateConfig::DISABLED;
        let (mut ws, _) = session
            .websocket("/flood", &plain, ConnectOptions::new())
            .await
            .unwrap();
        let before = counting::live();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let grown = counting::live() - before;
        let stalled_at = sent.load(Ordering::SeqCst);
        let total = FLOOD_MESSAGES * FLOOD_SIZE;
        // The stream window, plus what the server's own socket and
        // driver hold before a send returns (a message and its
        // max_pending), with room for frame headers.
        let bound = window as usize + 2 * FLOOD_SIZE + (64 << 10) + (64 << 10);
        assert!(
            stalled_at <= bound,
            "the server got {stalled_at} bytes out of {total} past a reader that stalled (bound {bound})"
        );
        // Both ends live on this thread: the heap holds the unread window
        // and the messages in flight, not the flood.
        assert!(
            grown < 2 << 20,
            "the heap grew by {grown} bytes while the reader stalled"
        );
        let mut received = 0;
        while let Some(message) = ws.recv().await {
            match message.unwrap() {
                Message::Binary(data) => {
                    assert_eq!(data.len(), FLOOD_SIZE);
                    assert!(data.iter().all(|&b| b == received as u8), "message {received}");
                    received += 1;
                }
                Message::Close { .. } => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(received, FLOOD_MESSAGES);
        assert_eq!(
            ws.closed_reason(),
            Some(ClosedReason::Clean {
                code: CloseCode::NORMAL
            })
        );
    })
    .await;
}

/// The other direction: a server that never reads. The client's writes
/// must wait for window (Pending), not pile up in h2's send buffers.
#[tokio::test]
async fn a_server_that_does_not_read_holds_back_the_writer() {
    bounded(async {
        let port = raw_server(Arc::default()).await;
        let session = h2c_session(port).await;
        let mut plain = Config::default();
        plain.deflate = DeflateConfig::DISABLED;
        let (mut ws, _) = session
            .websocket("/stall", &plain, ConnectOptions::new())
            .await
            .unwrap();
        let before = counting::live();
        let message = noise(1 << 20, 9);
        let mut sent = 0;
        let writing = async {
            loop {
                ws.send_binary(&message).await.unwrap();
                sent += 1;
                // Lets the timeout fire even if sends never wait.
                tokio::task::yield_now().await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_millis(500), writing).await;
        let grown = counting::live() - before;
        // h2's default window is 64 KiB: the first 1 MiB message cannot
        // have gone out, let alone the next ones.
        assert_eq!(sent, 0, "a send completed past a peer that reads nothing");
        // The message being written (its frame, once) and a write's chunk.
        assert!(
            grown < 3 << 20,
            "the heap grew by {grown} bytes while the peer did not read"
        );
    })
    .await;
}

#[tokio::test]
async fn close_1000_ends_the_stream_with_end_stream_both_ways() {
    bounded(async {
        let (tell, told) = oneshot::channel();
        let port = raw_server(Arc::new(std::sync::Mutex::new(Some(tell)))).await;
        let session = h2c_session(port).await;
        let (mut ws, _) = session
            .websocket("/echo", &Config::default(), ConnectOptions::new())
            .await
            .unwrap();
        ws.send_text("bye soon").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("bye soon"));
        let reason = ws.close(CloseCode::NORMAL, "done").await.unwrap();
        assert_eq!(
            reason,
            ClosedReason::Clean {
                code: CloseCode::NORMAL
            }
        );
        assert!(
            ws.get_ref().is_end_stream(),
            "the server ended its side with END_STREAM"
        );
        assert!(
            told.await.unwrap(),
            "the client ended its side with END_STREAM, not a reset"
        );
        // The connection outlives the WebSocket (RFC 8441 section 5).
        echoes_on_a_new_socket(&session, "still here").await;
    })
    .await;
}

#[tokio::test]
async fn a_stream_reset_mid_message_is_an_abrupt_end() {
    bounded(async {
        let port = raw_server(Arc::default()).await;
        let session = h2c_session(port).await;
        let (mut ws, _) = session
            .websocket("/reset", &Config::default(), ConnectOptions::new())
            .await
            .unwrap();
        let e = ws.recv().await.unwrap().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
        assert!(ws.recv().await.is_none(), "the end is reported once");
        assert!(!ws.get_ref().is_end_stream());
        let e = ws.send_text("into the void").await.unwrap_err();
        assert!(
            matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{e}"
        );
        // Only that stream ended.
        echoes_on_a_new_socket(&session, "after the reset").await;
    })
    .await;
}

#[tokio::test]
async fn wss_over_tls_with_alpn_h2() {
    bounded(async {
        let (acceptor, connector) = tls_pair(&[b"h2"]);
        let (port, accepts, _) = hyper_server(true, Behaviour::Echo, Some(acceptor)).await;
        let options = Http2Options::new().connector(connector);
        let session = Http2Client::connect(format!("wss://localhost:{port}"), &options)
            .await
            .unwrap();
        let (mut a, _) = session
            .websocket("/a", &Config::default(), ConnectOptions::new())
            .await
            .unwrap();
        let (mut b, _) = session
            .websocket("/b", &Config::default(), ConnectOptions::new())
            .await
            .unwrap();
        a.send_text("over tls").await.unwrap();
        b.send_binary(&noise(1 << 20, 3)).await.unwrap();
        assert_eq!(a.recv().await.unwrap().unwrap(), Message::text("over tls"));
        assert_eq!(
            b.recv().await.unwrap().unwrap(),
            Message::binary(noise(1 << 20, 3))
        );
        a.close(CloseCode::NORMAL, "").await.unwrap();
        b.close(CloseCode::NORMAL, "").await.unwrap();
        assert_eq!(accepts.load(Ordering::SeqCst), 1);
    })
    .await;
}

#[tokio::test]
async fn a_tls_server_without_h2_alpn_is_unsupported() {
    bounded(async {
        let (acceptor, connector) = tls_pair(&[b"http/1.1"]);
        let (port, _, _) = hyper_server(true, Behaviour::Echo, Some(acceptor)).await;
        let options = Http2Options::new().connector(connector);
        let e = Http2Client::connect(format!("wss://localhost:{port}"), &options)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{e}");
    })
    .await;
}

#[tokio::test]
async fn a_server_that_never_answers_the_preface_times_out() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let silent = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            tokio::time::sleep(TEST_DEADLINE).await;
            drop(tcp);
        });
        let options = Http2Options::new().timeout(Duration::from_millis(300));
        let started = TokioInstant::now();
        let e = Http2Client::connect(h2c(port), &options).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
        silent.abort();
    })
    .await;
}

#[tokio::test]
async fn a_connection_that_dies_ends_every_websocket_on_it() {
    bounded(async {
        let port = raw_server(Arc::default()).await;
        let session = h2c_session(port).await;
        let config = Config::default();
        let (mut a, _) = session
            .websocket("/echo", &config, ConnectOptions::new())
            .await
            .unwrap();
        let (mut b, _) = session
            .websocket("/echo", &config, ConnectOptions::new())
            .await
            .unwrap();
        a.send_text("alive").await.unwrap();
        assert_eq!(a.recv().await.unwrap().unwrap(), Message::text("alive"));
        assert!(
            session
                .websocket("/die", &config, ConnectOptions::new())
                .await
                .is_err()
        );
        for ws in [&mut a, &mut b] {
            match ws.recv().await {
                Some(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
                other => panic!("expected the abrupt end as an error, got {other:?}"),
            }
            assert!(ws.recv().await.is_none());
            assert_eq!(ws.closed_reason(), None, "not a clean close");
        }
        assert!(
            session
                .websocket("/echo", &config, ConnectOptions::new())
                .await
                .is_err(),
            "a dead connection opens no WebSocket"
        );
    })
    .await;
}

#[tokio::test]
async fn a_refusal_whose_body_never_ends_is_still_the_refusal() {
    bounded(async {
        let port = raw_server(Arc::default()).await;
        let session = h2c_session(port).await;
        let mut options = Options::default();
        options.handshake_timeout = Duration::from_millis(300);
        let e = session
            .websocket(
                "/refuse-slowly",
                &Config::default(),
                ConnectOptions::new().options(options),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        let ClientHandshakeError::Status(rejected) = refusal(&e) else {
            panic!("{e:?}");
        };
        assert_eq!(rejected.status(), 403);
        assert_eq!(rejected.body(), b"no, and ");
    })
    .await;
}

/// Idle WebSockets on one connection hold no buffers: after a message each
/// way and the idle release, what 50 of them (both ends on this thread,
/// each over an `H2Stream`) hold per pair is their protocol state and h2's
/// stream bookkeeping: about 5 KiB, where keeping the last DATA chunk read
/// (an emptied `Bytes` pins its share of h2's read buffer) held 21 KiB.
/// (The raw server: hyper's upgraded HTTP/2 stream keeps its last chunk,
/// about 75 KiB per idle stream here.)
#[tokio::test]
async fn idle_websockets_on_one_connection_hold_no_buffers() {
    bounded(async {
        let port = raw_server(Arc::default()).await;
        let session = h2c_session(port).await;
        let mut config = Config::default();
        config.deflate = DeflateConfig::DISABLED;
        config.buffer_release = Some(Duration::from_millis(20));
        let before = counting::live();
        let mut sockets = Vec::new();
        for _ in 0..50 {
            let (mut ws, _) = session
                .websocket("/echo", &config, ConnectOptions::new())
                .await
                .unwrap();
            ws.send_binary(&[5; 40_000]).await.unwrap();
            ws.recv().await.unwrap().unwrap();
            sockets.push(ws);
        }
        // Let every socket, and the server's, see its idle deadline.
        for _ in 0..13 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            for ws in &mut sockets {
                let _ = tokio::time::timeout(Duration::from_millis(1), ws.recv()).await;
            }
        }
        let per_pair = (counting::live() - before) / 50;
        assert!(per_pair < 12 << 10, "{per_pair} bytes per idle pair");
    })
    .await;
}
