//! `wscore::tokio::h2::Http2Client` against real HTTP/2 servers on
//! loopback: hyper 1.x with extended CONNECT (the server most users have),
//! and a raw `h2` server for what hyper will not do on request (reset a
//! stream mid-message, show whether a stream ended with END_STREAM).
//! Both answer with wscore's own server-side handshake. Every test runs
//! under a deadline of its own, on one thread, so the counting allocator
//! sees both ends.

#[path = "common/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::time::Instant as TokioInstant;
use wscore::extension::deflate::DeflateConfig;
use wscore::handshake::ClientHandshakeError;
use wscore::handshake::server::{Accept, Request};
use wscore::tokio::h2::{H2Stream, Http2Client, Http2Options};
use wscore::tokio::{ConnectOptions, Connector, Message, Options, WebSocket, client_config};
use wscore::{CloseCode, ClosedReason, Config, Event, Instant};

/// Every test's bound: far above what each needs on a loaded machine.
const TEST_DEADLINE: Duration = Duration::from_secs(30);

async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(TEST_DEADLINE, f)
        .await
        .expect("the test finishes within its deadline")
}

/// Echo data messages until the end.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut ws: WebSocket<S>) -> WebSocket<S> {
    while let Some(Ok(_)) = ws
        .recv_with(|event, mut tx| match event {
            Event::Text(text) => tx.send_text(text),
            Event::Binary(data) => tx.send_binary(data),
            _ => Ok(()),
        })
        .await
    {}
    ws
}

/// What a hyper test server does with an extended CONNECT.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    /// Accept and echo.
    Echo,
    /// Accept and send `FLOOD_MESSAGES` messages of `FLOOD_SIZE` bytes,
    /// counting the bytes its sends returned from.
    Flood,
    /// Answer 403 with a body.
    Forbid,
    /// Answer 204, a 2xx that is not RFC 8441's 200.
    NoContent,
}

const FLOOD_MESSAGES: usize = 256;
const FLOOD_SIZE: usize = 64 << 10;

/// A hyper HTTP/2 server (h2c, or TLS with `tls`) on 127.0.0.1: extended
/// CONNECT enabled if `connect_protocol`. Its port, and the number of
/// connections it accepted (and the bytes `Flood` sent).
async fn hyper_server(
    connect_protocol: bool,
    behaviour: Behaviour,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepts = Arc::new(AtomicUsize::new(0));
    let flooded = Arc::new(AtomicUsize::new(0));
    let (counted, sent) = (accepts.clone(), flooded.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let (tls, sent) = (tls.clone(), sent.clone());
            tokio::spawn(async move {
                match tls {
                    None => serve_hyper(tcp, connect_protocol, behaviour, sent).await,
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(tcp).await {
                            serve_hyper(tls, connect_protocol, behaviour, sent).await;
                        }
                    }
                }
            });
        }
    });
    (port, accepts, flooded)
}

async fn serve_hyper<S>(io: S, connect_protocol: bool, behaviour: Behaviour, sent: Arc<AtomicUsize>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    if connect_protocol {
        builder.enable_connect_protocol();
    }
    let service = service_fn(move |request| handle(request, behaviour, sent.clone()));
    let _ = builder.serve_connection(TokioIo::new(io), service).await;
}

/// wscore's server handshake on hyper's request, then `behaviour`.
async fn handle(
    mut request: hyper::Request<Incoming>,
    behaviour: Behaviour,
    sent: Arc<AtomicUsize>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let protocol = request
        .extensions()
        .get::<hyper::ext::Protocol>()
        .map(|p| p.as_str().to_owned());
    let offer = match Request::from_extended_connect(&request, protocol.as_deref()) {
        Ok(offer) => offer,
        Err(e) => return Ok(e.to_http_response().map(Full::from)),
    };
    let status = match behaviour {
        Behaviour::Forbid => 403,
        Behaviour::NoContent => 204,
        Behaviour::Echo | Behaviour::Flood => 200,
    };
    if status != 200 {
        let body = if status == 403 { "not for you\n" } else { "" };
        let mut response = hyper::Response::new(Full::from(body));
        *response.status_mut() = status.try_into().unwrap();
        return Ok(response);
    }
    let epoch = TokioInstant::now();
    let (conn, _, response) = offer
        .accept_http(&Accept::new(), &Config::default(), Instant::ZERO)
        .unwrap();
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let io = TokioIo::new(upgrade.await.unwrap());
        let mut ws = WebSocket::from_connection(io, conn, epoch, Options::default());
        match behaviour {
            Behaviour::Flood => {
                for i in 0..FLOOD_MESSAGES {
                    if ws.send_binary(&[i as u8; FLOOD_SIZE]).await.is_err() {
                        return;
                    }
                    sent.fetch_add(FLOOD_SIZE, Ordering::SeqCst);
                }
                let _ = ws.close(CloseCode::NORMAL, "").await;
            }
            _ => {
                echo(ws).await;
            }
        }
    });
    // Empty: hyper refuses a 2xx to CONNECT with a body.
    Ok(response.map(|()| Full::new(Bytes::new())))
}

fn h2c(port: u16) -> String {
    format!("ws://127.0.0.1:{port}")
}

/// Bytes that deflate cannot shrink much (an LCG), so a large message
/// stays large on the wire with permessage-deflate too.
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
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
        let session = Http2Client::connect(h2c(port), &Http2Options::new())
            .await
            .unwrap();
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
        let session = Http2Client::connect(h2c(port), &Http2Options::new())
            .await
            .unwrap();
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

/// The handshake error under an `io::Error` of `websocket`.
fn refusal(e: &io::Error) -> &ClientHandshakeError {
    e.get_ref()
        .and_then(|e| e.downcast_ref::<ClientHandshakeError>())
        .unwrap_or_else(|| panic!("not a handshake error: {e:?}"))
}

#[tokio::test]
async fn a_403_is_refused_with_its_status_and_body() {
    bounded(async {
        let (port, _, _) = hyper_server(true, Behaviour::Forbid, None).await;
        let session = Http2Client::connect(h2c(port), &Http2Options::new())
            .await
            .unwrap();
        let e = session
            .websocket("/", &Config::default(), ConnectOptions::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        let ClientHandshakeError::Status(rejected) = refusal(&e) else {
            panic!("{e:?}");
        };
        assert_eq!(rejected.status(), 403);
        assert_eq!(rejected.body(), b"not for you\n");
    })
    .await;
}

#[tokio::test]
async fn a_2xx_other_than_200_is_refused() {
    bounded(async {
        let (port, _, _) = hyper_server(true, Behaviour::NoContent, None).await;
        let session = Http2Client::connect(h2c(port), &Http2Options::new())
            .await
            .unwrap();
        let e = session
            .websocket("/", &Config::default(), ConnectOptions::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        let ClientHandshakeError::Status(rejected) = refusal(&e) else {
            panic!("{e:?}");
        };
        assert_eq!(rejected.status(), 204);
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
        let session = Http2Client::connect(h2c(port), &Http2Options::new())
            .await
            .unwrap();
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

/// A raw h2 server on 127.0.0.1 with wscore's handshake and, on its side
/// too, a [`WebSocket`] over an [`H2Stream`]: `/reset` sends part of a
/// message then resets the stream, `/stall` never reads, `/refuse-slowly`
/// answers 403 with a body that never ends, `/die` drops the
/// whole connection, any other path
/// echoes and then tells `ended` whether the client ended its side with
/// END_STREAM. Its port.
async fn raw_server(ended: Arc<std::sync::Mutex<Option<oneshot::Sender<bool>>>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let ended = ended.clone();
            tokio::spawn(async move {
                let mut conn = h2::server::Builder::new()
                    .enable_connect_protocol()
                    .handshake::<_, Bytes>(tcp)
                    .await
                    .unwrap();
                while let Some(Ok((request, mut respond))) = conn.accept().await {
                    if request.uri().path() == "/die" {
                        // Drop the connection, its TCP socket and every
                        // stream on it, without a GOAWAY: a crash.
                        return;
                    }
                    let (parts, body) = request.into_parts();
                    let protocol = parts
                        .extensions
                        .get::<h2::ext::Protocol>()
                        .map(|p| p.as_str().to_owned());
                    if parts.uri.path() == "/refuse-slowly" {
                        // A refusal whose body never ends.
                        let mut refusal = http::Response::new(());
                        *refusal.status_mut() = http::StatusCode::FORBIDDEN;
                        let mut send = respond.send_response(refusal, false).unwrap();
                        send.send_data(Bytes::from_static(b"no, and "), false)
                            .unwrap();
                        tokio::spawn(async move {
                            tokio::time::sleep(TEST_DEADLINE).await;
                            drop((send, body));
                        });
                        continue;
                    }
                    let offer =
                        Request::from_extended_connect_parts(&parts, protocol.as_deref()).unwrap();
                    let (conn, _, response) = offer
                        .accept_http(&Accept::new(), &Config::default(), Instant::ZERO)
                        .unwrap();
                    let mut send = respond.send_response(response, false).unwrap();
                    let epoch = TokioInstant::now();
                    if parts.uri.path() == "/stall" {
                        // Never read: the client's writes must wait on
                        // the window this side never reopens.
                        tokio::spawn(async move {
                            tokio::time::sleep(TEST_DEADLINE).await;
                            drop((send, body));
                        });
                        continue;
                    }
                    if parts.uri.path() == "/reset" {
                        tokio::spawn(async move {
                            // A binary frame announcing 1 MiB, 1000 bytes
                            // of it, then RST_STREAM mid-message.
                            let mut partial = vec![0x82, 127, 0, 0, 0, 0, 0, 0x10, 0, 0];
                            partial.extend_from_slice(&[7; 1000]);
                            send.send_data(partial.into(), false).unwrap();
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            send.send_reset(h2::Reason::CANCEL);
                            drop(body);
                        });
                        continue;
                    }
                    let ws = WebSocket::from_connection(
                        H2Stream::new(send, body),
                        conn,
                        epoch,
                        Options::default(),
                    );
                    let ended = ended.clone();
                    tokio::spawn(async move {
                        let ws = echo(ws).await;
                        let end_stream = ws.get_ref().is_end_stream();
                        if let Some(tell) = ended.lock().unwrap().take() {
                            let _ = tell.send(end_stream);
                        }
                    });
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn close_1000_ends_the_stream_with_end_stream_both_ways() {
    bounded(async {
        let (tell, told) = oneshot::channel();
        let port = raw_server(Arc::new(std::sync::Mutex::new(Some(tell)))).await;
        let session = Http2Client::connect(h2c(port), &Http2Options::new())
            .await
            .unwrap();
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
        let (mut again, _) = session
            .websocket("/echo", &Config::default(), ConnectOptions::new())
            .await
            .unwrap();
        again.send_text("still here").await.unwrap();
        assert_eq!(
            again.recv().await.unwrap().unwrap(),
            Message::text("still here")
        );
    })
    .await;
}

#[tokio::test]
async fn a_stream_reset_mid_message_is_an_abrupt_end() {
    bounded(async {
        let port = raw_server(Arc::default()).await;
        let session = Http2Client::connect(h2c(port), &Http2Options::new())
            .await
            .unwrap();
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
        let (mut ws, _) = session
            .websocket("/echo", &Config::default(), ConnectOptions::new())
            .await
            .unwrap();
        ws.send_text("after the reset").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::text("after the reset")
        );
    })
    .await;
}

/// A self-signed certificate for localhost and 127.0.0.1, and its key.
fn certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names).unwrap();
    let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    (certified.cert.der().clone(), key.into())
}

/// A TLS acceptor with a fresh certificate and `alpn`, and a connector
/// that trusts the certificate.
fn tls_pair(alpn: &[&[u8]]) -> (tokio_rustls::TlsAcceptor, Connector) {
    let (cert, key) = certificate();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        Connector::Rustls(client_config(roots)),
    )
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
        let session = Http2Client::connect(h2c(port), &Http2Options::new())
            .await
            .unwrap();
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
        let session = Http2Client::connect(h2c(port), &Http2Options::new())
            .await
            .unwrap();
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
        let session = Http2Client::connect(h2c(port), &Http2Options::new())
            .await
            .unwrap();
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
