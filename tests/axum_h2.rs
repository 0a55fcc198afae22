//! `wscore::axum` over HTTP/2 (RFC 8441) behind a real `axum::serve` on
//! 127.0.0.1 (h2c, prior knowledge), reached by a client on the `h2`
//! crate that speaks WebSocket through the crate's sans-IO `Connection`:
//! an independent HTTP/2 stack on one side, hyper's on the other. The
//! handler is the one axum documents, unchanged.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::response::Response;
use axum::routing::{any, get};
use bytes::Bytes;
use h2::client::SendRequest;
use h2::{RecvStream, SendStream};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use wscore::axum::{Message, WebSocket, WebSocketUpgrade};
use wscore::handshake::CONNECT_PROTOCOL;
use wscore::handshake::client::ClientRequest;
use wscore::{CloseCode, ClosedReason, Config, Connection, Event, Instant};

async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("the test finished within 20 s")
}

/// axum's documented handler and socket loop.
async fn handler(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(handle_socket)
}

async fn handle_socket(mut socket: WebSocket) {
    while let Some(msg) = socket.recv().await {
        let Ok(msg) = msg else { return };
        if socket.send(msg).await.is_err() {
            return;
        }
    }
}

/// Serve `app` with `axum::serve` (its `http2` feature advertises
/// SETTINGS_ENABLE_CONNECT_PROTOCOL), counting the TCP connections.
async fn serve(app: Router) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let listener = CountingListener(listener, counter);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, accepted)
}

/// A listener that counts what it accepts, to tell how many TCP
/// connections the WebSockets came over.
struct CountingListener(TcpListener, Arc<AtomicUsize>);

impl axum::serve::Listener for CountingListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        let accepted = axum::serve::Listener::accept(&mut self.0).await;
        self.1.fetch_add(1, Ordering::SeqCst);
        accepted
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// An HTTP/2 connection (h2c) whose SETTINGS are in: the server's SETTINGS
/// frame comes before its answer to our PING, so once the PONG is back,
/// `is_extended_connect_protocol_enabled` tells the truth.
async fn h2_connect(addr: SocketAddr) -> SendRequest<Bytes> {
    let io = TcpStream::connect(addr).await.unwrap();
    let (send, mut connection) = h2::client::handshake(io).await.unwrap();
    let mut ping = connection.ping_pong().unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    ping.ping(h2::Ping::opaque()).await.unwrap();
    let send = send.ready().await.unwrap();
    assert!(send.is_extended_connect_protocol_enabled());
    send
}

/// One WebSocket on an HTTP/2 stream: the sans-IO client connection and
/// the stream's two halves.
struct H2Socket {
    conn: Connection,
    send: SendStream<Bytes>,
    recv: RecvStream,
    wire: Vec<u8>,
}

impl H2Socket {
    /// Open a WebSocket on `path` with `config`; returns the socket and the
    /// answer's `sec-websocket-extensions`.
    async fn open(
        h2: &SendRequest<Bytes>,
        addr: SocketAddr,
        path: &str,
        config: &Config,
    ) -> (H2Socket, Option<String>) {
        let (mut request, handshake) = ClientRequest::new(addr.to_string(), [5; 16])
            .target(path)
            .to_extended_connect(config, "http")
            .unwrap();
        request
            .extensions_mut()
            .insert(h2::ext::Protocol::from_static(CONNECT_PROTOCOL));
        let mut h2 = h2.clone().ready().await.unwrap();
        let (response, send) = h2.send_request(request, false).unwrap();
        let response = response.await.unwrap();
        assert_eq!(response.status(), 200);
        let extensions = response
            .headers()
            .get("sec-websocket-extensions")
            .map(|v| v.to_str().unwrap().to_owned());
        let checked = handshake.check_http_response(&response).unwrap();
        let conn = checked.open(Instant::ZERO, &[], || [1, 2, 3, 4]);
        let socket = H2Socket {
            conn,
            send,
            recv: response.into_body(),
            wire: Vec::new(),
        };
        (socket, extensions)
    }

    /// Write out what the connection holds, within the stream's flow
    /// control.
    async fn flush(&mut self) {
        self.wire.clear();
        self.conn.poll_transmit(&mut self.wire);
        let mut rest = Bytes::from(std::mem::take(&mut self.wire));
        while !rest.is_empty() {
            self.send.reserve_capacity(rest.len());
            let granted = std::future::poll_fn(|cx| self.send.poll_capacity(cx))
                .await
                .unwrap()
                .unwrap();
            let chunk = rest.split_to(granted.min(rest.len()));
            self.send.send_data(chunk, false).unwrap();
        }
    }

    /// The next whole message, as `(is_text, bytes)`; `Err` with how the
    /// connection ended once it did.
    async fn next(&mut self) -> Result<(bool, Vec<u8>), ClosedReason> {
        loop {
            match self.conn.poll_event() {
                Some(Event::Text(text)) => return Ok((true, text.as_bytes().to_vec())),
                Some(Event::Binary(data)) => return Ok((false, data.to_vec())),
                Some(Event::Closed(reason)) => {
                    self.flush().await;
                    return Err(reason);
                }
                Some(_) => continue,
                None => {}
            }
            // A Pong or a Close answer may be waiting to go out.
            self.flush().await;
            match self.recv.data().await {
                Some(Ok(data)) => {
                    self.recv
                        .flow_control()
                        .release_capacity(data.len())
                        .unwrap();
                    self.conn.handle_input(Instant::ZERO, &data);
                }
                // END_STREAM is the transport's end (RFC 8441 section 5).
                None => self.conn.handle_eof(Instant::ZERO),
                Some(Err(e)) => panic!("stream error: {e}"),
            }
        }
    }
}

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "page" }))
        .route("/ws", any(handler))
}

#[tokio::test]
async fn echoes_over_an_http2_stream_with_permessage_deflate() {
    bounded(async {
        let (addr, _) = serve(app()).await;
        let h2 = h2_connect(addr).await;
        let (mut ws, extensions) = H2Socket::open(&h2, addr, "/ws", &Config::default()).await;
        assert_eq!(
            extensions.as_deref(),
            Some("permessage-deflate; server_max_window_bits=13; client_max_window_bits=13")
        );
        ws.conn.send_text("héllo over h2").unwrap();
        // Larger than the stream's initial window (64 KiB), so flow control
        // has to turn over on both sides; random-ish so deflate cannot
        // shrink it away.
        let big: Vec<u8> = (0..300_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        ws.conn.send_binary(&big).unwrap();
        ws.flush().await;
        assert_eq!(ws.next().await, Ok((true, "héllo over h2".into())));
        assert_eq!(ws.next().await, Ok((false, big)));

        // The close handshake ends the stream, not the connection: the
        // server's END_STREAM follows its Close.
        ws.conn
            .close(Instant::ZERO, CloseCode::NORMAL, "bye")
            .unwrap();
        ws.flush().await;
        assert_eq!(
            ws.next().await,
            Err(ClosedReason::Clean {
                code: CloseCode::NORMAL
            })
        );
        ws.send.send_data(Bytes::new(), true).unwrap();
        assert!(ws.recv.is_end_stream());
        // The HTTP/2 connection still serves requests.
        let page = http::Request::get(format!("http://{addr}/"))
            .body(())
            .unwrap();
        let (response, _) = h2
            .clone()
            .ready()
            .await
            .unwrap()
            .send_request(page, true)
            .unwrap();
        assert_eq!(response.await.unwrap().status(), 200);
    })
    .await;
}

#[tokio::test]
async fn without_deflate_the_answer_has_no_extension() {
    bounded(async {
        let (addr, _) = serve(app()).await;
        let h2 = h2_connect(addr).await;
        let config =
            Config::default().with_deflate(wscore::extension::deflate::DeflateConfig::DISABLED);
        let (mut ws, extensions) = H2Socket::open(&h2, addr, "/ws", &config).await;
        assert_eq!(extensions, None);
        ws.conn.send_text("plain").unwrap();
        ws.flush().await;
        assert_eq!(ws.next().await, Ok((true, b"plain".to_vec())));
    })
    .await;
}

/// Twenty WebSockets and a page request at once over one TCP connection.
#[tokio::test]
async fn many_websockets_share_one_http2_connection() {
    bounded(async {
        let (addr, accepted) = serve(app()).await;
        let h2 = h2_connect(addr).await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let h2 = h2.clone();
            tasks.push(tokio::spawn(async move {
                let (mut ws, _) = H2Socket::open(&h2, addr, "/ws", &Config::default()).await;
                for j in 0..10 {
                    let line = format!("socket {i} line {j}");
                    ws.conn.send_text(&line).unwrap();
                    ws.flush().await;
                    assert_eq!(ws.next().await, Ok((true, line.into_bytes())));
                }
                ws.conn.close(Instant::ZERO, CloseCode::NORMAL, "").unwrap();
                ws.flush().await;
                assert!(matches!(ws.next().await, Err(ClosedReason::Clean { .. })));
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    })
    .await;
}

/// The client's END_STREAM without a Close, and a reset stream, are the
/// end of the transport for the handler: its socket yields `None` (or an
/// error) and the handler returns; the HTTP/2 connection goes on.
#[tokio::test]
async fn end_stream_and_reset_end_the_handlers_socket() {
    bounded(async {
        let (done_tx, mut done) = mpsc::unbounded_channel::<&'static str>();
        let app = Router::new().route(
            "/ws",
            any(move |ws: WebSocketUpgrade| {
                let done_tx = done_tx.clone();
                async move {
                    ws.on_upgrade(move |mut socket| async move {
                        let mut saw_error = false;
                        while let Some(msg) = socket.recv().await {
                            match msg {
                                Ok(Message::Text(t)) => {
                                    let _ = socket.send(Message::Text(t)).await;
                                }
                                Ok(_) => {}
                                Err(_) => saw_error = true,
                            }
                        }
                        let _ = done_tx.send(if saw_error { "error" } else { "end" });
                    })
                }
            }),
        );
        let (addr, accepted) = serve(app).await;
        let h2 = h2_connect(addr).await;

        let (mut ws, _) = H2Socket::open(&h2, addr, "/ws", &Config::default()).await;
        ws.conn.send_text("one").unwrap();
        ws.flush().await;
        assert_eq!(ws.next().await, Ok((true, b"one".to_vec())));
        ws.send.send_data(Bytes::new(), true).unwrap();
        let ended = done.recv().await.unwrap();
        assert!(["end", "error"].contains(&ended));

        let (mut ws, _) = H2Socket::open(&h2, addr, "/ws", &Config::default()).await;
        // Half a frame, then a reset.
        ws.conn.send_text("two").unwrap();
        ws.wire.clear();
        ws.conn.poll_transmit(&mut ws.wire);
        let half = Bytes::copy_from_slice(&ws.wire[..3]);
        ws.send.send_data(half, false).unwrap();
        ws.send.send_reset(h2::Reason::CANCEL);
        let ended = done.recv().await.unwrap();
        assert!(["end", "error"].contains(&ended));

        // The connection still carries new WebSockets.
        let (mut ws, _) = H2Socket::open(&h2, addr, "/ws", &Config::default()).await;
        ws.conn.send_text("three").unwrap();
        ws.flush().await;
        assert_eq!(ws.next().await, Ok((true, b"three".to_vec())));
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    })
    .await;
}

/// Requests the extended CONNECT refuses, sent by a real HTTP/2 client:
/// each gets its status and fields on the stream, and the connection
/// stays up for the next.
#[tokio::test]
async fn refusals_over_http2_get_their_status() {
    bounded(async {
        let (addr, _) = serve(app()).await;
        let h2 = h2_connect(addr).await;
        let uri = format!("http://{addr}/ws");
        let connect = |protocol: Option<&'static str>, version: &str| {
            let mut request = http::Request::builder()
                .method("CONNECT")
                .uri(&uri)
                .header("sec-websocket-version", version)
                .body(())
                .unwrap();
            if let Some(p) = protocol {
                request
                    .extensions_mut()
                    .insert(h2::ext::Protocol::from_static(p));
            }
            request
        };
        let cases = [
            (connect(Some("webtransport"), "13"), 400, None),
            (
                connect(Some("websocket"), "8"),
                400,
                Some(("sec-websocket-version", "13")),
            ),
            (
                http::Request::get(&uri).body(()).unwrap(),
                405,
                Some(("allow", "CONNECT")),
            ),
        ];
        for (request, status, field) in cases {
            let mut send = h2.clone().ready().await.unwrap();
            let (response, _stream) = send.send_request(request, true).unwrap();
            let response = response.await.unwrap();
            assert_eq!(response.status(), status);
            if let Some((name, value)) = field {
                assert_eq!(response.headers()[name], value);
            }
        }
        // After the refusals a WebSocket still opens on the same connection.
        let (mut ws, _) = H2Socket::open(&h2, addr, "/ws", &Config::default()).await;
        ws.conn.send_text("still here").unwrap();
        ws.flush().await;
        assert_eq!(ws.next().await, Ok((true, b"still here".to_vec())));
    })
    .await;
}

/// A client that stops reading holds the handler's sends back through
/// HTTP/2 flow control: its stream window (64 KiB here) fills, hyper's
/// send buffer for the stream fills, and `send` waits, so what the server
/// has taken on is bounded, not the size of everything sent at it.
#[tokio::test]
async fn a_client_that_stops_reading_stalls_the_handlers_sends() {
    bounded(async {
        let (sent_tx, mut sent) = mpsc::unbounded_channel::<usize>();
        let app = Router::new().route(
            "/ws",
            any(move |ws: WebSocketUpgrade| {
                let sent_tx = sent_tx.clone();
                async move {
                    ws.on_upgrade(move |mut socket| async move {
                        // Fresh pseudo-random bytes each time, so deflate
                        // cannot shrink them away.
                        let mut x = 0x2545_f491_4f6c_dd1d_u64;
                        for n in 1..=10_000 {
                            let chunk: Vec<u8> = (0..10_240)
                                .map(|_| {
                                    x ^= x << 13;
                                    x ^= x >> 7;
                                    x ^= x << 17;
                                    x as u8
                                })
                                .collect();
                            let message = Message::Binary(chunk.into());
                            if socket.send(message).await.is_err() {
                                return;
                            }
                            let _ = sent_tx.send(n);
                        }
                    })
                }
            }),
        );
        let (addr, _) = serve(app).await;
        let h2 = h2_connect(addr).await;
        let (_ws, _) = H2Socket::open(&h2, addr, "/ws", &Config::default()).await;
        // Nothing is read: let the sends run until they stop.
        let mut done = 0;
        while let Ok(Some(n)) = tokio::time::timeout(Duration::from_millis(500), sent.recv()).await
        {
            done = n;
        }
        // At most 64 KiB of stream window, hyper's per-stream send buffer
        // (400 KiB at most) and the socket's own bounded queue: under 64
        // messages of 10 KiB (9 when measured), nowhere near the 10,000
        // (100 MiB) sent at it.
        println!("{done} sends of 10 KiB completed before the sender waited");
        assert!(done > 0, "some sends completed");
        assert!(
            done < 64,
            "{done} sends of 10 KiB completed against a stalled reader"
        );
    })
    .await;
}
