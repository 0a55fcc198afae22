//! The tokio socket as a `Stream` and a `Sink`, and split into halves that
//! two tasks own: messages both ways at once, backpressure and the wake-ups
//! it needs, keepalive, the close handshake from either side, reunite.

#[path = "common/tokio_pipe.rs"]
mod pipe;

use std::io;
use std::time::Duration;

use futures_util::stream::FusedStream;
use futures_util::{SinkExt, StreamExt};
use pipe::{pair, run};
use tokio::time::timeout;
use wscore::tokio::{Message, Options};
use wscore::{CloseCode, ClosedReason, Config};

/// A config without permessage-deflate, so sizes on the wire are the
/// payloads' (and without the deflate feature's cost in the pair).
fn plain() -> Config {
    Config::default().with_deflate(wscore::extension::deflate::DeflateConfig::DISABLED)
}

/// Whether the connection ended with a close handshake.
fn clean(reason: Option<ClosedReason>) -> bool {
    matches!(reason, Some(ClosedReason::Clean { .. }))
}

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn stream_and_sink_carry_every_kind_of_message() {
    run(async {
        let (mut client, mut server) = pair(4096, Config::default(), Options::default()).await;
        let echo = tokio::spawn(async move {
            while let Some(message) = server.next().await {
                if let m @ (Message::Text(_) | Message::Binary(_)) = message.unwrap() {
                    server.send(m).await.unwrap();
                }
            }
            server.closed_reason()
        });
        client.send(Message::text("hello")).await.unwrap();
        client.send(Message::binary(vec![1, 2, 3])).await.unwrap();
        client
            .send(Message::Ping(b"p".to_vec().into()))
            .await
            .unwrap();
        // A streamed message in three pieces comes back whole.
        for (piece, fin) in [("a", false), ("b", false), ("c", true)] {
            let data = piece.into();
            client
                .send(Message::TextFragment { data, fin })
                .await
                .unwrap();
        }
        let got: Vec<Message> = (&mut client).take(4).map(Result::unwrap).collect().await;
        assert_eq!(
            got,
            [
                Message::text("hello"),
                Message::binary(vec![1, 2, 3]),
                Message::Pong(b"p".to_vec().into()),
                Message::text("abc"),
            ]
        );
        // The Sink's close sends our Close; the stream then ends cleanly.
        SinkExt::close(&mut client).await.unwrap();
        assert!(matches!(
            client.next().await,
            Some(Ok(Message::Close { .. }))
        ));
        assert!(client.next().await.is_none());
        assert!(client.is_terminated());
        assert!(clean(client.closed_reason()));
        assert!(clean(echo.await.unwrap()));
    });
}

#[test]
fn a_send_refused_by_the_connection_sends_nothing_and_says_why() {
    run(async {
        let (mut client, _server) = pair(4096, plain(), Options::default()).await;
        let big_ping = Message::Ping(vec![0; 126].into());
        let e = client.send(big_ping).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(client.pending_transmit(), 0);
        client.close(CloseCode::NORMAL, "").await.ok();
        let e = client.send(Message::text("late")).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    });
}

#[test]
fn halves_in_two_tasks_carry_messages_both_ways_at_once() {
    run(async {
        const COUNT: usize = 2000;
        let (client, server) = pair(1024, Config::default(), Options::default()).await;
        let (mut server_rx, mut server_tx) = server.into_split();
        let (mut client_rx, mut client_tx) = client.into_split();
        // Four tasks: each side writes COUNT messages while reading the
        // other's COUNT, through a pipe far smaller than either stream.
        let writers = [
            tokio::spawn(async move {
                for i in 0..COUNT {
                    server_tx.send(Message::text(format!("s{i}"))).await?;
                }
                io::Result::Ok(server_tx)
            }),
            tokio::spawn(async move {
                for i in 0..COUNT {
                    client_tx.send(Message::text(format!("c{i}"))).await?;
                }
                io::Result::Ok(client_tx)
            }),
        ];
        let server_reader = tokio::spawn(async move {
            for i in 0..COUNT {
                let m = server_rx.next().await.unwrap().unwrap();
                assert_eq!(m, Message::text(format!("c{i}")));
            }
            server_rx
        });
        let client_reader = tokio::spawn(async move {
            for i in 0..COUNT {
                let m = client_rx.next().await.unwrap().unwrap();
                assert_eq!(m, Message::text(format!("s{i}")));
            }
            client_rx
        });
        let done = timeout(LIMIT, async {
            let [server_tx, client_tx] = writers;
            let server_tx = server_tx.await.unwrap().unwrap();
            let mut client_tx = client_tx.await.unwrap().unwrap();
            let server_rx = server_reader.await.unwrap();
            let mut client_rx = client_reader.await.unwrap();
            // The client closes from its writing half; its reading half sees
            // the server's answer and the clean end.
            client_tx.close(CloseCode::NORMAL, "bye").await.unwrap();
            let mut server = server_rx.reunite(server_tx).unwrap();
            assert!(matches!(
                server.recv().await,
                Some(Ok(Message::Close {
                    code: CloseCode::NORMAL,
                    ..
                }))
            ));
            assert!(server.recv().await.is_none());
            assert!(matches!(
                client_rx.next().await,
                Some(Ok(Message::Close { .. }))
            ));
            assert!(client_rx.next().await.is_none());
            assert!(clean(client_tx.closed_reason()));
        })
        .await;
        assert!(done.is_ok(), "the halves stalled");
    });
}

/// The case the shared wakers exist for: the reading half stops reading
/// because the Pongs it owes fill the send queue (the peer sends Pings and
/// does not read yet), while the writing half waits to write a message of
/// its own. When the peer starts reading, the transport wakes one waiting
/// task; both must go on, or the reader never reads again.
#[test]
fn a_reader_stalled_by_backpressure_resumes_when_the_writer_drains() {
    run(async {
        const PINGS: usize = 400;
        let mut options = Options::default();
        options.max_pending = 1024;
        let (client, server) = pair(256, plain(), options).await;
        let (mut server_rx, mut server_tx) = server.into_split();
        let (mut client_rx, mut client_tx) = client.into_split();
        // The server reads until the end, as an application would: the
        // Pongs it owes go out while it polls.
        let server_reader = tokio::spawn(async move {
            let mut pings = 0;
            while let Some(message) = server_rx.next().await {
                if let Message::Ping(_) = message? {
                    pings += 1;
                }
            }
            io::Result::Ok(pings)
        });
        let server_writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            server_tx.send_binary(&[9; 8192]).await?;
            io::Result::Ok(server_tx)
        });
        let client_writer = tokio::spawn(async move {
            for _ in 0..PINGS {
                client_tx.send_ping(&[7; 125]).await?;
            }
            io::Result::Ok(client_tx)
        });
        // The client reads nothing for a while: everything stalls.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!server_writer.is_finished() && !client_writer.is_finished());
        // Then it reads everything: Pongs (one per Ping, or fewer: a Pong
        // may answer several Pings, section 5.5.3) and the server's message.
        let client_reader = tokio::spawn(async move {
            let mut binary = 0;
            while let Some(message) = client_rx.next().await {
                if let Message::Binary(data) = message? {
                    assert_eq!(data.len(), 8192);
                    binary += 1;
                }
            }
            io::Result::Ok(binary)
        });
        let done = timeout(LIMIT, async {
            let mut client_tx = client_writer.await.unwrap().unwrap();
            let server_tx = server_writer.await.unwrap().unwrap();
            client_tx.close(CloseCode::NORMAL, "").await.unwrap();
            assert_eq!(client_reader.await.unwrap().unwrap(), 1);
            assert_eq!(server_reader.await.unwrap().unwrap(), PINGS);
            assert!(clean(server_tx.closed_reason()));
        })
        .await;
        assert!(done.is_ok(), "a half never woke up");
    });
}

#[test]
fn keepalive_runs_while_only_the_reading_half_is_polled() {
    run(async {
        let mut config = plain();
        config.keepalive_interval = Some(Duration::from_secs(10));
        config.keepalive_timeout = Some(Duration::from_secs(5));
        let (client, server) = pair(4096, config, Options::default()).await;
        // The client is silent: it never reads, so it never answers a Ping.
        let (mut server_rx, _server_tx) = server.into_split();
        let started = tokio::time::Instant::now();
        let end = timeout(LIMIT, async {
            while let Some(message) = server_rx.next().await {
                if let Err(e) = message {
                    return Some(e.kind());
                }
            }
            None
        })
        .await
        .expect("keepalive ends it");
        assert_eq!(end, Some(io::ErrorKind::TimedOut));
        assert_eq!(
            server_rx.closed_reason(),
            Some(ClosedReason::KeepaliveTimeout)
        );
        assert_eq!(started.elapsed(), Duration::from_secs(15));
        drop(client);
    });
}

#[test]
fn the_writing_half_completes_the_close_handshake_when_the_reader_is_gone() {
    run(async {
        let (mut client, server) = pair(4096, plain(), Options::default()).await;
        let (server_rx, mut server_tx) = server.into_split();
        drop(server_rx);
        let peer = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(message) = client.recv().await {
                got.push(message.unwrap());
            }
            (got, client.closed_reason())
        });
        server_tx.send_text("last").await.unwrap();
        timeout(LIMIT, server_tx.close(CloseCode::GOING_AWAY, "restart"))
            .await
            .expect("the close handshake ends")
            .unwrap();
        assert!(clean(server_tx.closed_reason()));
        let (got, reason) = peer.await.unwrap();
        assert_eq!(got[0], Message::text("last"));
        assert!(matches!(
            &got[1],
            Message::Close { code: CloseCode::GOING_AWAY, reason } if reason == "restart"
        ));
        assert!(clean(reason));
    });
}

#[test]
fn the_reading_half_goes_on_when_the_writer_is_dropped_and_answers_the_close() {
    run(async {
        let (mut client, server) = pair(4096, plain(), Options::default()).await;
        let (mut server_rx, server_tx) = server.into_split();
        drop(server_tx);
        client.send_text("still here").await.unwrap();
        assert_eq!(
            server_rx.recv().await.unwrap().unwrap(),
            Message::text("still here")
        );
        let closed = tokio::spawn(async move { client.close(CloseCode::NORMAL, "").await });
        assert!(matches!(
            server_rx.recv().await,
            Some(Ok(Message::Close { .. }))
        ));
        assert!(server_rx.recv().await.is_none());
        assert!(clean(Some(closed.await.unwrap().unwrap())));
    });
}

#[test]
fn halves_of_two_sockets_do_not_reunite() {
    run(async {
        let (a, b) = pair(4096, plain(), Options::default()).await;
        let (a_rx, a_tx) = a.into_split();
        let (b_rx, b_tx) = b.into_split();
        let wscore::tokio::ReuniteError(a_rx, b_tx) = a_rx.reunite(b_tx).unwrap_err();
        let a = a_rx.reunite(a_tx).unwrap();
        let b = b_rx.reunite(b_tx).unwrap();
        assert!(a.closed_reason().is_none() && b.closed_reason().is_none());
    });
}

/// The axum and tokio-tungstenite shape: `StreamExt::split` (a lock around
/// the whole socket) instead of `WebSocket::split`, a reader task and a
/// writer task fed by a channel.
#[test]
fn futures_split_halves_work_from_two_tasks() {
    run(async {
        const COUNT: usize = 1000;
        let (client, server) = pair(512, Config::default(), Options::default()).await;
        let (mut sink, mut stream) = StreamExt::split(server);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(16);
        let writer = tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                sink.send(message).await?;
            }
            io::Result::Ok(sink)
        });
        let reader = tokio::spawn(async move {
            let mut n = 0;
            while let Some(message) = stream.next().await {
                if let Message::Text(text) = message? {
                    assert_eq!(text, format!("c{n}"));
                    n += 1;
                    // Echo through the writer task.
                    if tx.send(Message::Text(text)).await.is_err() {
                        break;
                    }
                }
            }
            io::Result::Ok(n)
        });
        let (mut client_rx, mut client_tx) = client.into_split();
        let done = timeout(LIMIT, async {
            let send = async {
                for i in 0..COUNT {
                    client_tx.send_text(&format!("c{i}")).await.unwrap();
                }
            };
            let receive = async {
                for i in 0..COUNT {
                    let m = client_rx.next().await.unwrap().unwrap();
                    assert_eq!(m, Message::text(format!("c{i}")));
                }
            };
            tokio::join!(send, receive);
            client_tx.close(CloseCode::NORMAL, "").await.unwrap();
            assert!(client_rx.next().await.is_some_and(|m| m.is_ok()));
            assert!(client_rx.next().await.is_none());
            assert_eq!(reader.await.unwrap().unwrap(), COUNT);
            let _sink = writer.await.unwrap().unwrap();
        })
        .await;
        assert!(done.is_ok(), "the halves stalled");
    });
}
