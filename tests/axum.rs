//! `wscore::axum` behind a real axum `Router` on 127.0.0.1, reached by the
//! crate's tokio client and by tokio-tungstenite: the handlers are axum's
//! documented ones with only the `use` line changed.

use std::future::{Future, ready};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::{self, Method, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

// The one line an axum user changes:
// use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use wscore::axum::{Message, WebSocket, WebSocketUpgrade};

use wscore::axum::rejection::WebSocketUpgradeRejection;
use wscore::handshake::client::{ClientRequest, Response as ClientResponse};
use wscore::tokio::{Message as TokioMessage, Options, WebSocket as Client};
use wscore::{CloseCode, ClosedReason, Config};

/// Run a test's body with a time limit, so a hang fails instead of waiting.
async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("the test finished within 10 s")
}

/// Serve `app` on an ephemeral loopback port.
async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// axum's documented handler (`axum::extract::ws`, module docs).
async fn handler(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(handle_socket)
}

/// axum's documented socket loop, verbatim.
async fn handle_socket(mut socket: WebSocket) {
    while let Some(msg) = socket.recv().await {
        let msg = if let Ok(msg) = msg {
            msg
        } else {
            // client disconnected
            return;
        };

        if socket.send(msg).await.is_err() {
            // client disconnected
            return;
        }
    }
}

fn mask() -> impl FnMut() -> [u8; 4] + Send + 'static {
    let mut n = 0u32;
    move || {
        n = n.wrapping_add(0x9e37_79b9);
        n.to_le_bytes()
    }
}

/// The crate's tokio client, connected to `path` offering `protocols`.
async fn connect(
    addr: SocketAddr,
    path: &str,
    protocols: &[&str],
) -> (Client<TcpStream>, ClientResponse) {
    let io = TcpStream::connect(addr).await.unwrap();
    let mut request = ClientRequest::new(addr.to_string(), [7; 16]).target(path);
    for protocol in protocols {
        request = request.protocol(*protocol);
    }
    Client::connect(io, &request, mask(), &Config::default(), Options::default())
        .await
        .unwrap()
}

/// Close from the client and check the close handshake completed.
async fn close_cleanly(client: &mut Client<TcpStream>, code: CloseCode, reason: &str) {
    let end = client.close(code, reason).await.unwrap();
    assert_eq!(end, ClosedReason::Clean { code });
}

#[tokio::test]
async fn echoes_text_and_binary_with_permessage_deflate_by_default() {
    bounded(async {
        let addr = serve(Router::new().route("/ws", any(handler))).await;
        let (mut client, response) = connect(addr, "/ws", &[]).await;
        let extensions = response.headers().get("Sec-WebSocket-Extensions");
        let extensions = std::str::from_utf8(extensions.expect("an extension was agreed")).unwrap();
        assert!(extensions.starts_with("permessage-deflate"), "{extensions}");
        assert_eq!(response.negotiated().extensions.len(), 1);

        let text = "hello ".repeat(1000);
        client.send_text(&text).await.unwrap();
        assert_eq!(
            client.recv().await.unwrap().unwrap(),
            TokioMessage::text(text)
        );
        client.send_binary(&[0, 1, 2, 255]).await.unwrap();
        assert_eq!(
            client.recv().await.unwrap().unwrap(),
            TokioMessage::binary(vec![0, 1, 2, 255])
        );
        close_cleanly(&mut client, CloseCode::NORMAL, "").await;
    })
    .await;
}

#[tokio::test]
async fn tokio_tungstenite_client_echoes_and_gets_its_pong() {
    use tokio_tungstenite::tungstenite::Message as Ts;
    bounded(async {
        let addr = serve(Router::new().route("/ws", any(handler))).await;
        let (mut socket, response) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        // It offers no extension, so none is agreed.
        assert!(
            response
                .headers()
                .get(http::header::SEC_WEBSOCKET_EXTENSIONS)
                .is_none()
        );
        socket.send(Ts::text("foobar")).await.unwrap();
        assert_eq!(socket.next().await.unwrap().unwrap(), Ts::text("foobar"));
        socket.send(Ts::binary(vec![9; 70_000])).await.unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Ts::binary(vec![9; 70_000])
        );
        socket.send(Ts::Ping("ping".into())).await.unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Ts::Pong("ping".into())
        );
        // The handler echoes every message, the Ping too (as with axum's).
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Ts::Ping("ping".into())
        );
        socket.close(None).await.unwrap();
        let end = socket.next().await;
        assert!(matches!(end, Some(Ok(Ts::Close(_))) | None), "{end:?}");
    })
    .await;
}

/// axum's own `echo_app` test: the server's list picks the client's
/// second offer.
#[tokio::test]
async fn protocols_picks_the_first_of_ours_the_client_offered() {
    async fn handle_socket(mut socket: WebSocket) {
        assert_eq!(socket.protocol().unwrap(), "echo");
        while let Some(Ok(msg)) = socket.recv().await {
            if socket.send(msg).await.is_err() {
                break;
            }
        }
    }
    bounded(async {
        let app = Router::new().route(
            "/echo",
            any(|ws: WebSocketUpgrade| {
                let requested: Vec<_> = ws.requested_protocols().cloned().collect();
                assert_eq!(requested, ["echo3", "echo"]);
                let ws = ws.protocols(["echo2", "echo"]);
                assert_eq!(ws.selected_protocol().unwrap(), "echo");
                ready(ws.on_upgrade(handle_socket))
            }),
        );
        let addr = serve(app).await;
        let (mut client, response) = connect(addr, "/echo", &["echo3", "echo"]).await;
        assert_eq!(response.negotiated().protocol.as_deref(), Some("echo"));
        assert_eq!(
            response.headers().get("Sec-WebSocket-Protocol"),
            Some(&b"echo"[..])
        );
        client.send_text("hi").await.unwrap();
        assert_eq!(
            client.recv().await.unwrap().unwrap(),
            TokioMessage::text("hi")
        );
    })
    .await;
}

/// Send `head` as it is and read the answer: the status, the head's lines
/// (in lower case), and the body (as long as `Content-Length` says).
async fn raw(addr: SocketAddr, head: &str) -> (u16, String, String) {
    let mut io = TcpStream::connect(addr).await.unwrap();
    io.write_all(head.as_bytes()).await.unwrap();
    read_response(&mut io).await
}

async fn read_response(io: &mut TcpStream) -> (u16, String, String) {
    let mut answer = Vec::new();
    let end = loop {
        if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        assert_ne!(io.read_buf(&mut answer).await.unwrap(), 0, "the head ended");
    };
    let head = String::from_utf8(answer[..end].to_vec())
        .unwrap()
        .to_ascii_lowercase();
    let length = head
        .split("\r\n")
        .find_map(|line| line.strip_prefix("content-length: "))
        .map_or(0, |n| n.parse().unwrap());
    let mut body = answer[end + 4..].to_vec();
    while body.len() < length {
        assert_ne!(io.read_buf(&mut body).await.unwrap(), 0, "the body ended");
    }
    let status = head[9..12].parse().unwrap();
    (status, head, String::from_utf8(body).unwrap())
}

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn upgrade_request(method: &str, version: &str, extra: &str) -> String {
    format!(
        "{method} /ws HTTP/{version}\r\nHost: x\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn refusals_get_the_handshake_layers_status_and_headers() {
    bounded(async {
        let addr = serve(Router::new().route("/ws", any(handler))).await;

        let plain = "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let (status, head, body) = raw(addr, plain).await;
        assert_eq!(status, 426, "{head}");
        assert!(head.contains("\r\nupgrade: websocket"), "{head}");
        assert_eq!(body, "this resource requires a WebSocket upgrade\n");

        let bad_version = upgrade_request("GET", "1.1", "Sec-WebSocket-Version: 8\r\n");
        let (status, head, _) = raw(addr, &bad_version).await;
        assert_eq!(status, 426, "{head}");
        assert!(head.contains("\r\nsec-websocket-version: 13"), "{head}");

        let post = upgrade_request("POST", "1.1", "Sec-WebSocket-Version: 13\r\n");
        let (status, head, _) = raw(addr, &post).await;
        assert_eq!(status, 405, "{head}");
        assert!(head.contains("\r\nallow: get"), "{head}");

        let http10 = upgrade_request("GET", "1.0", "Sec-WebSocket-Version: 13\r\n");
        let (status, head, _) = raw(addr, &http10).await;
        assert_eq!(status, 400, "{head}");

        let no_key = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
                      Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
        let (status, _, body) = raw(addr, no_key).await;
        assert_eq!(status, 400);
        assert_eq!(body, "missing Sec-WebSocket-Key\n");
    })
    .await;
}

/// A handler can take the rejection and match on axum's variant names.
#[tokio::test]
async fn rejections_match_axums_variant_names() {
    async fn handler(ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>) -> Response {
        match ws {
            Ok(ws) => ws.on_upgrade(|_| async {}),
            Err(WebSocketUpgradeRejection::InvalidWebSocketVersionHeader(r)) => {
                assert_eq!(r.status(), StatusCode::UPGRADE_REQUIRED);
                (StatusCode::IM_A_TEAPOT, r.body_text()).into_response()
            }
            Err(WebSocketUpgradeRejection::MethodNotGet(r)) => r.into_response(),
            Err(other) => other.into_response(),
        }
    }
    bounded(async {
        let addr = serve(Router::new().route("/ws", any(handler))).await;
        let bad_version = upgrade_request("GET", "1.1", "Sec-WebSocket-Version: 7\r\n");
        let (status, _, body) = raw(addr, &bad_version).await;
        assert_eq!(status, 418);
        assert_eq!(body, "unsupported Sec-WebSocket-Version");
    })
    .await;
}

/// The extractor alone: HTTP/2 requests it refuses, each with axum's
/// variant name and the extended CONNECT's status, and requests that come
/// without an upgrade handle.
#[tokio::test]
async fn http2_refusals_and_requests_without_an_upgrade_handle() {
    async fn extract(request: http::Request<()>) -> WebSocketUpgradeRejection {
        let (mut parts, ()) = request.into_parts();
        WebSocketUpgrade::from_request_parts(&mut parts, &())
            .await
            .unwrap_err()
    }
    let h2 = |method, protocol: Option<&'static str>, version: &str| {
        let mut request = http::Request::builder()
            .method(method)
            .version(Version::HTTP_2)
            .uri("https://example.com/ws")
            .header("sec-websocket-version", version)
            .body(())
            .unwrap();
        if let Some(p) = protocol {
            request
                .extensions_mut()
                .insert(hyper::ext::Protocol::from_static(p));
        }
        request
    };
    type R = WebSocketUpgradeRejection;
    type Case = (http::Request<()>, fn(&R) -> bool, u16);
    let cases: [Case; 6] = [
        // A valid extended CONNECT, but no `OnUpgrade` from a server.
        (
            h2(Method::CONNECT, Some("websocket"), "13"),
            |r| matches!(r, R::ConnectionNotUpgradable(_)),
            501,
        ),
        (
            h2(Method::GET, Some("websocket"), "13"),
            |r| matches!(r, R::MethodNotConnect(_)),
            405,
        ),
        // A tunnel request, and another protocol.
        (
            h2(Method::CONNECT, None, "13"),
            |r| matches!(r, R::InvalidProtocolPseudoheader(_)),
            400,
        ),
        (
            h2(Method::CONNECT, Some("webtransport"), "13"),
            |r| matches!(r, R::InvalidProtocolPseudoheader(_)),
            400,
        ),
        (
            h2(Method::CONNECT, Some("websocket"), "8"),
            |r| matches!(r, R::InvalidWebSocketVersionHeader(_)),
            400,
        ),
        (
            {
                let mut r = h2(Method::CONNECT, Some("websocket"), "13");
                r.headers_mut()
                    .insert("connection", http::HeaderValue::from_static("upgrade"));
                r
            },
            |r| matches!(r, R::InvalidRequest(_)),
            400,
        ),
    ];
    for (request, is, status) in cases {
        let rejection = extract(request).await;
        assert!(is(&rejection), "{rejection:?}");
        assert_eq!(rejection.status(), status, "{rejection:?}");
        let error = rejection.extended_connect_error();
        assert_eq!(error.is_some(), status != 501, "{rejection:?}");
        assert_eq!(rejection.handshake_error(), None);
        let response: Response = rejection.into_response();
        assert_eq!(response.status(), status);
        // HTTP/2 forbids connection-specific fields in any response.
        assert!(response.headers().get("connection").is_none());
        assert!(response.headers().get("upgrade").is_none());
        match error {
            Some(wscore::handshake::ExtendedConnectError::MethodNotAllowed) => {
                assert_eq!(response.headers()["allow"], "CONNECT");
            }
            Some(wscore::handshake::ExtendedConnectError::UnsupportedVersion) => {
                assert_eq!(response.headers()["sec-websocket-version"], "13");
            }
            _ => {}
        }
    }

    // A valid HTTP/1.1 upgrade, but no `OnUpgrade` from a server.
    let request = http::Request::builder()
        .uri("/ws")
        .header("host", "x")
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .header("sec-websocket-key", KEY)
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    let rejection = extract(request).await;
    assert!(matches!(
        rejection,
        WebSocketUpgradeRejection::ConnectionNotUpgradable(_)
    ));
    assert_eq!(rejection.status(), StatusCode::UPGRADE_REQUIRED);
}

#[tokio::test]
async fn on_failed_upgrade_hears_of_a_101_that_cannot_be_built() {
    bounded(async {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        // The chosen protocol is not one the client offered.
        let unoffered = move |mut ws: WebSocketUpgrade| {
            let tx = tx.clone();
            ws.set_selected_protocol(http::HeaderValue::from_static("nope"));
            ready(
                ws.on_failed_upgrade(move |e: axum::Error| tx.send(e.to_string()).unwrap())
                    .on_upgrade(|_| async { panic!("never upgraded") }),
            )
        };
        let addr = serve(Router::new().route("/ws", any(unoffered))).await;
        let request = upgrade_request("GET", "1.1", "Sec-WebSocket-Version: 13\r\n");
        let (status, _, _) = raw(addr, &request).await;
        assert_eq!(status, 500);
        assert!(rx.recv().await.unwrap().contains("offer"));
    })
    .await;
}

#[tokio::test]
async fn a_message_over_max_message_size_closes_with_1009() {
    bounded(async {
        let app = Router::new().route(
            "/ws",
            any(|ws: WebSocketUpgrade| ready(ws.max_message_size(1024).on_upgrade(handle_socket))),
        );
        let addr = serve(app).await;
        let (mut client, _) = connect(addr, "/ws", &[]).await;
        client.send_binary(&[1; 1024]).await.unwrap();
        assert_eq!(
            client.recv().await.unwrap().unwrap(),
            TokioMessage::binary(vec![1; 1024])
        );
        client.send_binary(&[1; 1025]).await.unwrap();
        match client.recv().await.unwrap().unwrap() {
            TokioMessage::Close { code, .. } => assert_eq!(code, CloseCode::MESSAGE_TOO_BIG),
            other => panic!("expected the Close, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn a_client_close_reaches_the_handler_and_ends_it_cleanly() {
    bounded(async {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (done_tx, mut done) = mpsc::unbounded_channel::<()>();
        let log = seen.clone();
        let app = Router::new().route(
            "/ws",
            any(move |ws: WebSocketUpgrade| {
                let (log, done_tx) = (log.clone(), done_tx.clone());
                ready(ws.on_upgrade(move |mut socket: WebSocket| async move {
                    while let Some(msg) = socket.recv().await {
                        let msg = msg.unwrap();
                        log.lock().unwrap().push(msg.clone());
                        // Echoing the Close finishes the handshake.
                        socket.send(msg).await.unwrap();
                    }
                    done_tx.send(()).unwrap();
                }))
            }),
        );
        let addr = serve(app).await;
        let (mut client, _) = connect(addr, "/ws", &[]).await;
        client.send_text("last words").await.unwrap();
        close_cleanly(&mut client, CloseCode::GOING_AWAY, "bye").await;
        done.recv().await.unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0], Message::text("last words"));
        assert_eq!(
            seen[1],
            Message::Close(Some(wscore::axum::CloseFrame {
                code: wscore::axum::close_code::AWAY,
                reason: "bye".into(),
            }))
        );
        assert_eq!(seen.len(), 2);
    })
    .await;
}

/// axum's chat pattern: `StreamExt::split` into a reader task and a writer
/// task, the reader handing each message to the writer.
#[tokio::test]
async fn split_into_a_reader_task_and_a_writer_task() {
    use futures_util::stream::{SplitSink, SplitStream};

    async fn handle_socket(socket: WebSocket) {
        let (sender, receiver) = socket.split();
        let (tx, rx) = mpsc::channel(4);
        let writer = tokio::spawn(write(sender, rx));
        tokio::spawn(read(receiver, tx));
        writer.await.unwrap();
    }

    async fn read(mut receiver: SplitStream<WebSocket>, tx: mpsc::Sender<Message>) {
        while let Some(Ok(msg)) = receiver.next().await {
            if let Message::Text(text) = msg {
                let _ = tx.send(Message::text(text.to_uppercase())).await;
            }
        }
    }

    async fn write(mut sender: SplitSink<WebSocket, Message>, mut rx: mpsc::Receiver<Message>) {
        sender.send(Message::text("welcome")).await.unwrap();
        while let Some(msg) = rx.recv().await {
            if sender.send(msg).await.is_err() {
                return;
            }
        }
        // The reader saw the end: finish the close handshake's writing.
        let _ = sender.close().await;
    }

    bounded(async {
        let addr = serve(Router::new().route(
            "/ws",
            any(|ws: WebSocketUpgrade| ready(ws.on_upgrade(handle_socket))),
        ))
        .await;
        let (mut client, _) = connect(addr, "/ws", &[]).await;
        assert_eq!(
            client.recv().await.unwrap().unwrap(),
            TokioMessage::text("welcome")
        );
        for word in ["one", "two", "three"] {
            client.send_text(word).await.unwrap();
        }
        for word in ["ONE", "TWO", "THREE"] {
            assert_eq!(
                client.recv().await.unwrap().unwrap(),
                TokioMessage::text(word)
            );
        }
        close_cleanly(&mut client, CloseCode::NORMAL, "").await;
    })
    .await;
}

/// The server sends a Pong (a one-way heartbeat) and then closes with its
/// own code; it reads until the client's answer ends the stream.
#[tokio::test]
async fn the_server_sends_a_pong_then_closes_with_its_code() {
    async fn handle_socket(mut socket: WebSocket) {
        socket.send(Message::Pong("beat".into())).await.unwrap();
        let close = wscore::axum::CloseFrame {
            code: 4000,
            reason: "done".into(),
        };
        socket.send(Message::Close(Some(close))).await.unwrap();
        // Sending after our Close fails, and changes nothing.
        assert!(socket.send(Message::text("late")).await.is_err());
        assert!(!futures_util::stream::FusedStream::is_terminated(&socket));
        let mut rest = Vec::new();
        while let Some(msg) = socket.recv().await {
            rest.push(msg.unwrap());
        }
        assert_eq!(
            rest,
            [Message::Close(Some(wscore::axum::CloseFrame {
                code: 4000,
                reason: "".into(),
            }))]
        );
        assert!(futures_util::stream::FusedStream::is_terminated(&socket));
    }
    bounded(async {
        let (done_tx, mut done) = mpsc::unbounded_channel::<()>();
        let app = Router::new().route(
            "/ws",
            any(move |ws: WebSocketUpgrade| {
                let done_tx = done_tx.clone();
                ready(ws.on_upgrade(move |socket| async move {
                    handle_socket(socket).await;
                    done_tx.send(()).unwrap();
                }))
            }),
        );
        let addr = serve(app).await;
        let (mut client, _) = connect(addr, "/ws", &[]).await;
        assert_eq!(
            client.recv().await.unwrap().unwrap(),
            TokioMessage::Pong("beat".into())
        );
        assert_eq!(
            client.recv().await.unwrap().unwrap(),
            TokioMessage::Close {
                code: CloseCode(4000),
                reason: "done".into()
            }
        );
        assert!(client.recv().await.is_none());
        done.recv().await.unwrap();
    })
    .await;
}

/// axum's other documented uses compile unchanged against `wscore::axum`:
/// state passed to the callback, `on_failed_upgrade`, the knobs, and the
/// Close frame of axum's websockets example.
#[allow(dead_code)]
mod axum_docs_compile {
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::response::Response;
    use wscore::axum::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};

    #[derive(Clone)]
    struct AppState {}

    async fn with_state(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
        ws.on_upgrade(|socket| handle_socket(socket, state))
    }

    async fn handle_socket(_socket: WebSocket, _state: AppState) {}

    async fn failed(ws: WebSocketUpgrade) -> Response {
        ws.read_buffer_size(4096)
            .write_buffer_size(0)
            .max_write_buffer_size(1 << 20)
            .max_frame_size(1 << 20)
            .max_message_size(1 << 20)
            .accept_unmasked_frames(false)
            .on_failed_upgrade(|error| {
                report_error(error);
            })
            .on_upgrade(|_| async {})
    }

    fn report_error(_: axum::Error) {}

    async fn goodbye(mut socket: WebSocket) {
        let _ = socket
            .send(Message::Ping(Bytes::from_static(&[1, 2, 3])))
            .await;
        if let Some(Ok(msg)) = socket.recv().await {
            let _: Result<&str, axum::Error> = msg.to_text();
            if let Message::Close(Some(cf)) = &msg {
                println!("close with code {} and reason `{}`", cf.code, cf.reason);
            }
        }
        let _ = socket
            .send(Message::Close(Some(CloseFrame {
                code: close_code::NORMAL,
                reason: Utf8Bytes::from("Goodbye"),
            })))
            .await;
    }

    fn router() -> axum::Router {
        axum::Router::new()
            .route("/state", axum::routing::any(with_state))
            .route("/failed", axum::routing::any(failed))
            .with_state(AppState {})
    }
}

/// The broadcast shape: each socket's task gets the same
/// `Arc<PreparedMessage>` and sends it with `send_prepared`; every client
/// (each with permessage-deflate, as agreed by default) reads the message,
/// which was compressed once for all of them.
#[tokio::test]
async fn a_broadcast_sends_one_prepared_message_to_every_socket() {
    use axum::extract::State;
    use tokio::sync::broadcast;
    use wscore::PreparedMessage;

    type Lines = broadcast::Sender<Arc<PreparedMessage>>;

    async fn member(ws: WebSocketUpgrade, State(lines): State<Lines>) -> Response {
        ws.on_upgrade(move |mut socket| async move {
            let mut lines = lines.subscribe();
            // Subscribed: from here on the member misses nothing.
            if socket.send(Message::text("joined")).await.is_err() {
                return;
            }
            loop {
                tokio::select! {
                    line = lines.recv() => {
                        let Ok(line) = line else { return };
                        if socket.send_prepared(&line).await.is_err() {
                            return;
                        }
                    }
                    msg = socket.recv() => match msg {
                        Some(Ok(_)) => {}
                        _ => return,
                    },
                }
            }
        })
    }

    bounded(async {
        let (lines, _) = broadcast::channel(16);
        let app = Router::new()
            .route("/ws", any(member))
            .with_state(lines.clone());
        let addr = serve(app).await;
        let mut clients = Vec::new();
        for _ in 0..3 {
            let (mut client, response) = connect(addr, "/ws", &[]).await;
            assert_eq!(response.negotiated().extensions.len(), 1);
            assert_eq!(
                client.recv().await.unwrap().unwrap(),
                TokioMessage::text("joined")
            );
            clients.push(client);
        }

        let text = "a line everyone reads; ".repeat(20);
        let line = Arc::new(PreparedMessage::text(&text));
        assert_eq!(lines.send(Arc::clone(&line)).unwrap(), 3);
        for client in &mut clients {
            assert_eq!(
                client.recv().await.unwrap().unwrap(),
                TokioMessage::text(text.clone())
            );
        }
        // One compressed form served the three sockets.
        assert_eq!(line.compressed_window_bits().count(), 1);
        for client in &mut clients {
            close_cleanly(client, CloseCode::NORMAL, "").await;
        }
    })
    .await;
}
