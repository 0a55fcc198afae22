//! Our client against our server over 127.0.0.1 UDP, in one process: the
//! echo checks with permessage-deflate on and off, and a stream reset in
//! the middle of a message, which the server's wscore connection must see
//! as an abrupt EOF (RFC 9220 section 3) without panicking; and requests
//! that are not a WebSocket, refused with the handshake layer's statuses.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use wscore::{CloseCode, ClosedReason, MessageKind};
use wscore_h3::client::{ClientOptions, Message, WsClient, exchange_checks, request};
use wscore_h3::server::{Server, ServerConfig, StreamEnd};

const TIMEOUT: Duration = Duration::from_secs(20);

/// A throwaway certificate and key for localhost, made with `openssl`.
fn certificate(name: &str) -> (PathBuf, String, String) {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("wscore-h3-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("the temporary directory is writable");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(status.status.success(), "openssl: {status:?}");
    (
        dir.clone(),
        cert.to_string_lossy().into_owned(),
        key.to_string_lossy().into_owned(),
    )
}

struct Running {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    ends: mpsc::Receiver<StreamEnd>,
    thread: Option<JoinHandle<()>>,
    /// The certificate's directory, removed at the end.
    dir: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the server thread does not panic");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(name: &str) -> Running {
    let (dir, cert, key) = certificate(name);
    let mut server = Server::bind("127.0.0.1:0", ServerConfig::new(cert, key)).expect("bind");
    let (tx, ends) = mpsc::channel();
    server.report_ends(tx);
    let addr = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || server.run(&flag).expect("the server runs"));
    Running {
        addr,
        stop,
        ends,
        thread: Some(thread),
        dir,
    }
}

fn insecure(deflate: bool) -> ClientOptions {
    let mut options = ClientOptions {
        verify_peer: false,
        ..ClientOptions::default()
    };
    options.ws.deflate.enabled = deflate;
    options
}

fn echo_and_close(deflate: bool) {
    let server = start(if deflate { "deflate" } else { "plain" });
    let mut ws = WsClient::connect(
        server.addr,
        "localhost",
        "/echo",
        &insecure(deflate),
        TIMEOUT,
    )
    .expect("the handshake succeeds");
    assert_eq!(ws.deflate(), deflate);
    exchange_checks(&mut ws, TIMEOUT).expect("every echo is equal");
    ws.close(CloseCode::NORMAL, "done").expect("close");
    let mut saw_close = false;
    loop {
        match ws.next_message(TIMEOUT).expect("the close handshake ends") {
            Message::Close(code, _) => {
                assert_eq!(code, CloseCode::NORMAL);
                saw_close = true;
            }
            Message::Closed(reason) => {
                assert_eq!(
                    reason,
                    ClosedReason::Clean {
                        code: CloseCode::NORMAL
                    }
                );
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(saw_close);
    ws.shutdown(Duration::from_secs(2)).expect("shutdown");
    let end = server
        .ends
        .recv_timeout(TIMEOUT)
        .expect("the server reports the end");
    assert_eq!(
        end.reason,
        ClosedReason::Clean {
            code: CloseCode::NORMAL
        }
    );
}

#[test]
fn echo_with_permessage_deflate() {
    echo_and_close(true);
}

#[test]
fn echo_without_permessage_deflate() {
    echo_and_close(false);
}

#[test]
fn a_stream_reset_mid_message_is_an_abrupt_eof_for_the_server() {
    let server = start("reset");
    let mut ws = WsClient::connect(server.addr, "localhost", "/echo", &insecure(true), TIMEOUT)
        .expect("the handshake succeeds");
    // Half a message: a first fragment of a binary message, never ended.
    ws.ws().begin_message(MessageKind::Binary).expect("begin");
    ws.ws()
        .send_fragment(&vec![7u8; 64 << 10], false)
        .expect("fragment");
    // Let it reach the server (the timeout is the point: no echo comes).
    assert!(ws.next_message(Duration::from_millis(500)).is_err());
    ws.reset().expect("reset");
    let end = server
        .ends
        .recv_timeout(TIMEOUT)
        .expect("the server reports the end");
    assert_eq!(end.reason, ClosedReason::Eof);
    // The server goes on serving.
    let mut again = WsClient::connect(server.addr, "localhost", "/", &insecure(false), TIMEOUT)
        .expect("a second handshake succeeds");
    again.send_text("still here").expect("send");
    assert_eq!(
        again.next_message(TIMEOUT).expect("echo"),
        Message::Text("still here".into())
    );
}

type Fields = Vec<(&'static [u8], &'static [u8])>;

/// A request, the status it must get, and a field that status calls for.
type Refusal = (Fields, &'static [u8], Option<(&'static str, &'static [u8])>);

fn field<'a>(head: &'a [(Vec<u8>, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    head.iter()
        .find(|(n, _)| n == name.as_bytes())
        .map(|(_, v)| v.as_slice())
}

#[test]
fn requests_that_are_not_websockets_get_the_handshake_layers_status() {
    let server = start("refusals");
    let base: [(&'static [u8], &'static [u8]); 5] = [
        (b":method", b"CONNECT"),
        (b":protocol", b"websocket"),
        (b":scheme", b"https"),
        (b":authority", b"localhost"),
        (b":path", b"/"),
    ];
    let version: (&'static [u8], &'static [u8]) = (b"sec-websocket-version", b"13");
    let get: Fields = vec![
        (b":method", b"GET"),
        (b":scheme", b"https"),
        (b":authority", b"localhost"),
        (b":path", b"/"),
    ];
    let mut udp = base.to_vec();
    udp[1].1 = b"connect-udp";
    udp.push(version);
    let no_version = base.to_vec();
    let cases: [Refusal; 3] = [
        (get, b"405", Some(("allow", b"CONNECT"))),
        (udp, b"400", None),
        (no_version, b"400", Some(("sec-websocket-version", b"13"))),
    ];
    for (i, (fields, status, extra)) in cases.into_iter().enumerate() {
        let (head, body) = request(server.addr, "localhost", &fields, &insecure(false), TIMEOUT)
            .unwrap_or_else(|e| panic!("case {i}: {e}"));
        assert_eq!(field(&head, ":status"), Some(status), "{head:?}");
        if let Some((name, value)) = extra {
            assert_eq!(field(&head, name), Some(value), "{head:?}");
        }
        assert!(body.ends_with(b"\n") && body.len() > 1, "{body:?}");
    }
    // No WebSocket was opened, so none ended.
    assert!(server.ends.try_recv().is_err());
}
