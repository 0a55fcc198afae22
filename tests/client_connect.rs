//! `wscore::tokio::connect` against real servers on loopback: ws:// and
//! wss:// echo, trust, the request it writes (Host, target, nonce, masks),
//! refusals with their body, bad URLs and a server that never answers.
//! Every test runs under a deadline of its own.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use wscore::extension::deflate::DeflateConfig;
use wscore::handshake::{ClientHandshakeError, RejectedResponse};
use wscore::tokio::{
    ConnectOptions, Connector, Message, Options, WebSocket, client_config, connect, connect_with,
};
use wscore::{CloseCode, ClosedReason, Config, Event};

/// Every test's bound: far above what each needs on a loaded machine.
const TEST_DEADLINE: Duration = Duration::from_secs(20);

async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(TEST_DEADLINE, f)
        .await
        .expect("the test finishes within its deadline")
}

/// Echo data messages on `io` until the end.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(io: S) {
    let Ok(mut ws) = WebSocket::accept(io, &Config::default(), Options::default()).await else {
        return;
    };
    while let Some(Ok(_)) = ws
        .recv_with(|event, mut tx| match event {
            Event::Text(text) => tx.send_text(text),
            Event::Binary(data) => tx.send_binary(data),
            _ => Ok(()),
        })
        .await
    {}
}

/// A ws:// echo server on 127.0.0.1; its port.
async fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(echo(tcp));
        }
    });
    port
}

/// A self-signed certificate for localhost and 127.0.0.1, and its key.
fn certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names).unwrap();
    let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    (certified.cert.der().clone(), key.into())
}

/// A wss:// echo server on 127.0.0.1 with `cert`; its port.
async fn tls_echo_server(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    echo(tls).await;
                }
            });
        }
    });
    port
}

/// `connect_with` refuses `url` with `options` as the caller's mistake.
async fn assert_invalid_input(url: &str, options: ConnectOptions) {
    let e = connect_with(url, &Config::default(), options)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{url}: {e}");
}

/// Read one request head (up to the empty line) from `tcp`.
async fn read_head(tcp: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// A server on 127.0.0.1 for one connection: it reads the request head
/// and hands the socket and the head to `serve`. Its port, and its task.
async fn one_shot<F, T>(
    serve: impl FnOnce(TcpStream, String) -> F + Send + 'static,
) -> (u16, JoinHandle<T>)
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let head = read_head(&mut tcp).await;
        serve(tcp, head).await
    });
    (port, task)
}

/// The request head the client sends to `url` (`{port}` filled in with a
/// listener's); the server hangs up without answering.
async fn captured_request(listener: TcpListener, url: &str) -> String {
    let url = url.replace("{port}", &listener.local_addr().unwrap().port().to_string());
    let server = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        read_head(&mut tcp).await
    });
    let result = connect(url.as_str()).await;
    assert!(result.is_err(), "the server hung up");
    server.await.unwrap()
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocket<S>) {
    ws.send_text("hello").await.unwrap();
    match ws.recv().await {
        Some(Ok(Message::Text(text))) => assert_eq!(text.as_str(), "hello"),
        other => panic!("expected the echo, got {other:?}"),
    }
    ws.send_binary(&[1, 2, 3]).await.unwrap();
    match ws.recv().await {
        Some(Ok(Message::Binary(data))) => assert_eq!(&data[..], [1, 2, 3]),
        other => panic!("expected the echo, got {other:?}"),
    }
    let reason = ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    assert!(matches!(reason, ClosedReason::Clean { .. }), "{reason:?}");
}

#[tokio::test]
async fn ws_echo() {
    bounded(async {
        let port = echo_server().await;
        let (mut ws, response) = connect(format!("ws://127.0.0.1:{port}/echo"))
            .await
            .unwrap();
        assert!(!ws.get_ref().is_tls());
        assert!(
            ws.get_ref().get_ref().nodelay().unwrap(),
            "TCP_NODELAY is on"
        );
        assert_eq!(response.negotiated().protocol, None);
        round_trip(&mut ws).await;
    })
    .await;
}

#[tokio::test]
async fn wss_echo_with_custom_roots() {
    bounded(async {
        let (cert, key) = certificate();
        let mut roots = RootCertStore::empty();
        roots.add(cert.clone()).unwrap();
        let port = tls_echo_server(cert, key).await;
        let options = ConnectOptions::new().connector(Connector::Rustls(client_config(roots)));
        for host in ["localhost", "127.0.0.1"] {
            let url = format!("wss://{host}:{port}/");
            let (mut ws, _) = connect_with(url.as_str(), &Config::default(), options.clone())
                .await
                .unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(ws.get_ref().is_tls());
            round_trip(&mut ws).await;
        }
    })
    .await;
}

#[tokio::test]
async fn wss_to_an_untrusted_certificate_fails_clearly() {
    bounded(async {
        let (cert, key) = certificate();
        let port = tls_echo_server(cert, key).await;
        // The default roots (Mozilla's) do not know a self-signed cert.
        let e = connect(format!("wss://localhost:{port}/"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        let tls = e
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
            .unwrap_or_else(|| panic!("a rustls error: {e:?}"));
        assert!(
            matches!(tls, rustls::Error::InvalidCertificate(_)),
            "{tls:?}"
        );
        assert!(e.to_string().contains("certificate"), "{e}");
    })
    .await;
}

#[tokio::test]
async fn wss_with_tls_turned_off_is_invalid_input() {
    bounded(async {
        let options = ConnectOptions::new().connector(Connector::Plain);
        assert_invalid_input("wss://localhost:1/", options).await;
    })
    .await;
}

#[tokio::test]
async fn host_has_the_port_only_when_it_is_not_the_default() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let head = captured_request(listener, "ws://localhost:{port}/").await;
        assert_eq!(header(&head, "host"), Some(&*format!("localhost:{port}")));

        // The default port needs port 80, which may be taken or forbidden.
        match TcpListener::bind("127.0.0.1:80").await {
            Ok(listener) => {
                let head = captured_request(listener, "ws://localhost/").await;
                assert_eq!(header(&head, "host"), Some("localhost"));
            }
            Err(e) => eprintln!("port 80 not available ({e}): default port not checked here"),
        }
    })
    .await;
}

#[tokio::test]
async fn the_target_is_the_path_and_query() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let head = captured_request(listener, "ws://127.0.0.1:{port}/chat/room?x=1&y=%20").await;
        assert!(
            head.starts_with("GET /chat/room?x=1&y=%20 HTTP/1.1\r\n"),
            "{head}"
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let head = captured_request(listener, "ws://127.0.0.1:{port}").await;
        assert!(head.starts_with("GET / HTTP/1.1\r\n"), "{head}");
    })
    .await;
}

#[tokio::test]
async fn ipv6_literal() {
    bounded(async {
        let Ok(listener) = TcpListener::bind("[::1]:0").await else {
            eprintln!("::1 cannot bind here: skipped");
            return;
        };
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            echo(tcp).await;
        });
        let (mut ws, _) = connect(format!("ws://[::1]:{port}/")).await.unwrap();
        round_trip(&mut ws).await;

        let listener = TcpListener::bind("[::1]:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let head = captured_request(listener, "ws://[::1]:{port}/v6").await;
        assert!(head.starts_with("GET /v6 HTTP/1.1\r\n"), "{head}");
        assert_eq!(header(&head, "host"), Some(&*format!("[::1]:{port}")));
    })
    .await;
}

/// A server that answers `head` and then `body` in two writes, then closes.
async fn refusing_server(head: &'static [u8], body: Vec<u8>) -> u16 {
    let (port, _) = one_shot(move |mut tcp, _| async move {
        tcp.write_all(head).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = tcp.write_all(&body).await;
    })
    .await;
    port
}

fn rejected(e: &io::Error) -> &RejectedResponse {
    match e
        .get_ref()
        .and_then(|e| e.downcast_ref::<ClientHandshakeError>())
    {
        Some(ClientHandshakeError::Status(rejected)) => rejected,
        _ => panic!("a refusal: {e:?}"),
    }
}

#[tokio::test]
async fn a_refusal_comes_back_with_status_headers_and_body() {
    bounded(async {
        let body = b"no websockets for you".to_vec();
        let head = b"HTTP/1.1 403 Forbidden\r\nX-Why: policy\r\nContent-Length: 21\r\n\r\n";
        let port = refusing_server(head, body).await;
        let e = connect(format!("ws://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        let rejected = rejected(&e);
        assert_eq!(rejected.status(), 403);
        assert_eq!(rejected.reason(), "Forbidden");
        assert_eq!(rejected.headers().get("x-why"), Some(&b"policy"[..]));
        assert_eq!(rejected.body(), b"no websockets for you");
        assert!(!rejected.is_body_truncated());
    })
    .await;
}

#[tokio::test]
async fn a_refusal_with_a_kept_alive_connection_is_reported_at_its_content_length() {
    bounded(async {
        let (port, server) = one_shot(|mut tcp, _| async move {
            tcp.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope")
                .await
                .unwrap();
            // Keep the connection open well past the test.
            tokio::time::sleep(Duration::from_secs(30)).await;
        })
        .await;
        let start = Instant::now();
        let e = connect(format!("ws://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "did not wait for EOF"
        );
        assert_eq!(rejected(&e).body(), b"nope");
        server.abort();
    })
    .await;
}

#[tokio::test]
async fn a_huge_refusal_body_is_cut_at_the_cap() {
    bounded(async {
        let (port, server) = one_shot(|mut tcp, _| async move {
            tcp.write_all(b"HTTP/1.1 500 Oops\r\n\r\n").await.unwrap();
            // No length: the body would end at close. Send until the client
            // hangs up, at most 64 MiB.
            let chunk = vec![b'x'; 64 << 10];
            let mut sent = 0usize;
            while sent < 64 << 20 && tcp.write_all(&chunk).await.is_ok() {
                sent += chunk.len();
            }
            sent
        })
        .await;
        let e = connect(format!("ws://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        let rejected = rejected(&e);
        assert_eq!(rejected.status(), 500);
        assert_eq!(rejected.body().len(), RejectedResponse::MAX_BODY);
        assert!(rejected.is_body_truncated());
        drop(e);
        let sent = server.await.unwrap();
        assert!(sent < 64 << 20, "the client stopped reading at the cap");
    })
    .await;
}

#[tokio::test]
async fn bad_urls_are_invalid_input() {
    bounded(async {
        for url in [
            "http://127.0.0.1:1/",
            "https://127.0.0.1:1/",
            "ftp://127.0.0.1/",
            "127.0.0.1:1",
            "ws://h/#f",
            "ws://u:p@127.0.0.1:1/",
            "ws://127.0.0.1:99999/",
            "not a url",
        ] {
            assert_invalid_input(url, ConnectOptions::new()).await;
        }
        let reserved = ConnectOptions::new().header("Sec-WebSocket-Key", "x");
        assert_invalid_input("ws://127.0.0.1:1/", reserved).await;
    })
    .await;
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    bounded(async {
        let (port, server) = one_shot(|tcp, _| async move {
            // Holds the connection open, silent.
            let _tcp = tcp;
            tokio::time::sleep(Duration::from_secs(30)).await;
        })
        .await;
        let mut options = Options::default();
        options.handshake_timeout = Duration::from_millis(300);
        let start = Instant::now();
        let e = connect_with(
            format!("ws://127.0.0.1:{port}/"),
            &Config::default(),
            ConnectOptions::new().options(options),
        )
        .await
        .unwrap_err();
        let took = start.elapsed();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
        server.abort();
    })
    .await;
}

#[tokio::test]
async fn the_nonce_differs_between_connections() {
    bounded(async {
        let mut keys = Vec::new();
        for _ in 0..2 {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let head = captured_request(listener, "ws://127.0.0.1:{port}/").await;
            keys.push(header(&head, "sec-websocket-key").unwrap().to_string());
        }
        assert_eq!(keys[0].len(), 24, "16 bytes in base64");
        assert_ne!(keys[0], keys[1]);
    })
    .await;
}

#[tokio::test]
async fn masks_differ_across_frames() {
    bounded(async {
        const FRAMES: usize = 200;
        let (port, server) = one_shot(|mut tcp, head| async move {
            let key = header(&head, "sec-websocket-key").unwrap();
            let accept = wscore::handshake::accept_key(key.as_bytes());
            let answer = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            );
            tcp.write_all(answer.as_bytes()).await.unwrap();
            // Each frame: 0x82, 0x80 | 1, a 4-byte key, 1 byte of payload.
            let mut frames = vec![0; FRAMES * 7];
            tcp.read_exact(&mut frames).await.unwrap();
            frames
                .chunks(7)
                .map(|f| {
                    assert_eq!(f[..2], [0x82, 0x81]);
                    <[u8; 4]>::try_from(&f[2..6]).unwrap()
                })
                .collect::<Vec<_>>()
        })
        .await;
        // Uncompressed, so each frame is 7 bytes on the wire.
        let mut config = Config::default();
        config.deflate = DeflateConfig::DISABLED;
        let (mut ws, _) = connect_with(
            format!("ws://127.0.0.1:{port}/"),
            &config,
            ConnectOptions::new(),
        )
        .await
        .unwrap();
        for i in 0..FRAMES {
            ws.send_binary(&[i as u8]).await.unwrap();
        }
        let masks = server.await.unwrap();
        let distinct: std::collections::BTreeSet<_> = masks.iter().collect();
        assert!(distinct.len() >= FRAMES - 1, "{} distinct", distinct.len());
    })
    .await;
}
