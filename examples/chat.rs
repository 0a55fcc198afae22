//! A chat room on hyper 1.x, with the WebSocket handshake done through the
//! `http` feature and the connection driven by the tokio driver.
//!
//! `cargo run --example chat --features "tokio http" -- [ADDR]` (default
//! `127.0.0.1:8080`), then open `http://ADDR/` in two browser tabs.
//!
//! With `--tls CERT.pem KEY.pem` it serves HTTPS instead, offering HTTP/2
//! first (ALPN `h2`, then `http/1.1`) and advertising
//! SETTINGS_ENABLE_CONNECT_PROTOCOL, so a browser loads the page over
//! HTTP/2 and opens its WebSocket on that same connection (RFC 8441: an
//! extended CONNECT answered 200, not an upgrade answered 101). A client
//! that speaks only HTTP/1.1 gets the upgrade as before.
//!
//! * `GET /` serves one HTML page (`examples/chat/index.html`, plain
//!   JavaScript).
//! * `GET /ws?name=NAME` is the WebSocket. Every text message is broadcast
//!   to everyone as `NAME: TEXT`; joins and leaves as `* NAME joined` and
//!   `* NAME left`. Names cannot hold `:` or start with `*`, so a line is
//!   never mistaken for another kind.
//! * Only pages this server served may connect: `Origin` must be
//!   `http://` (or `https://` under `--tls`) + the `Host` (`:authority`
//!   over HTTP/2) the request was sent to (else 403), since a browser lets
//!   any site open a WebSocket to any address.
//! * A slow client never holds up the room: each client has a queue of
//!   [`QUEUE`] lines; a client whose queue is full when a line comes is
//!   closed with 1013 (Try Again Later) and removed, and the others carry
//!   on. To make "slow" mean slow to read rather than slow to fill the
//!   kernel's buffers, the sockets' send buffers are kept small
//!   ([`SEND_BUFFER`]), and so is what HTTP/2 buffers per stream.
//!
//! Browsers offer permessage-deflate and the room accepts it with the
//! crate's defaults, so `ws.extensions` is `permessage-deflate;
//! server_max_window_bits=13; client_max_window_bits=13`.

mod common;
#[path = "common/tls.rs"]
mod tls;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Method, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio_rustls::TlsAcceptor;
use wscore::handshake::server::{Accept, Request};
use wscore::tokio::{Message, Options, WebSocket};
use wscore::{CloseCode, Config, Instant, PreparedMessage};

/// Lines a client may be behind before it is cut off.
const QUEUE: usize = 64;
/// The kernel send buffer per socket. The kernel grows an unset one to
/// megabytes, which a client that stopped reading would absorb before the
/// room noticed; a chat line is small, so a small buffer costs nothing.
const SEND_BUFFER: u32 = 64 << 10;
/// The longest chat line accepted, in bytes; longer ones end the
/// connection with 1009.
const MAX_MESSAGE: u64 = 64 << 10;
/// The longest name, in characters.
const MAX_NAME: usize = 32;
/// How long a client may take to send its request head, or to finish the
/// TLS handshake.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// A client silent this long is pinged, and dropped if it stays silent as
/// long again: a peer that vanished without a FIN does not stay a member.
const KEEPALIVE: Duration = Duration::from_secs(30);
/// How long a client that is cut off gets to take our Close.
const KICK_TIMEOUT: Duration = Duration::from_secs(30);

/// How often freed memory goes back to the kernel (see
/// `common::spawn_malloc_trimmer`).
const TRIM_INTERVAL: Duration = Duration::from_secs(2);

/// The page served at `/`, kept in its own file so it reads as HTML.
const PAGE: &str = include_str!("chat/index.html");

type Body = Full<Bytes>;

/// What the command line asks for.
struct Args {
    addr: SocketAddr,
    /// `--tls CERT KEY`: the PEM files to serve HTTPS with.
    tls: Option<(String, String)>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut addr = None;
    let mut tls = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tls" => match (args.next(), args.next()) {
                (Some(cert), Some(key)) => tls = Some((cert, key)),
                _ => return Err("--tls needs CERT.pem and KEY.pem".into()),
            },
            _ if addr.is_none() && !arg.starts_with("--") => {
                addr = Some(arg.parse().map_err(|e| format!("{arg}: {e}"))?);
            }
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    let addr = addr.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)));
    Ok(Args { addr, tls })
}

fn main() -> std::io::Result<()> {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("chat: {e}\nusage: chat [ADDR] [--tls CERT.pem KEY.pem]");
        std::process::exit(2);
    });
    // HTTP/2 first: a browser then puts the page and its WebSockets on
    // one connection. Browsers speak HTTP/2 only over TLS, so without
    // `--tls` it is HTTP/1.1 alone.
    let tls = match &args.tls {
        Some((cert, key)) => {
            let (chain, key) = tls::load(cert, key)?;
            let config = tls::server_config(chain, key, &[b"h2", b"http/1.1"])?;
            Some(TlsAcceptor::from(Arc::new(config)))
        }
        None => None,
    };
    // Idle members hold almost nothing; the trimmer makes the process's
    // resident size show it after a burst.
    common::spawn_malloc_trimmer(TRIM_INTERVAL);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let addr = args.addr;
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // Accepted sockets inherit it (Linux).
        socket.set_send_buffer_size(SEND_BUFFER)?;
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        let listener = socket.listen(128)?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("listening on {scheme}://{}/", listener.local_addr()?);
        let room = Arc::new(Room::default());
        // Out of descriptors, the loop pauses and accepts again later;
        // the room goes on meanwhile (`common::accept_loop_tokio`).
        common::accept_loop_tokio(&listener, |stream| {
            // Chat lines are small and should go out at once.
            let _ = stream.set_nodelay(true);
            let (room, tls) = (room.clone(), tls.clone());
            tokio::spawn(connection(stream, tls, room));
        })
        .await
    })
}

/// Serve one TCP connection: HTTP/1.1, or over TLS whichever of HTTP/2
/// and HTTP/1.1 the client picked. An error here is one client's
/// connection failing.
async fn connection(stream: TcpStream, tls: Option<TlsAcceptor>, room: Arc<Room>) {
    let Some(acceptor) = tls else {
        return serve_http1(stream, room, "http").await;
    };
    // A client that stalls the TLS handshake is dropped like one that
    // stalls its request head.
    let Ok(Ok(stream)) = tokio::time::timeout(HEAD_TIMEOUT, acceptor.accept(stream)).await else {
        return;
    };
    if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
        return serve_http1(stream, room, "https").await;
    }
    let service = service_fn(move |req| serve(req, room.clone(), "https"));
    let _ = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        // Without SETTINGS_ENABLE_CONNECT_PROTOCOL a browser opens its
        // WebSockets on a second connection, over HTTP/1.1.
        .enable_connect_protocol()
        // What HTTP/2 buffers for a stream the client is slow to take,
        // kept as small as the socket's own buffer for the same reason
        // (a slow member is noticed by its queue, not absorbed here).
        .max_send_buf_size(SEND_BUFFER as usize)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn serve_http1<S>(stream: S, room: Arc<Room>, scheme: &'static str)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| serve(req, room.clone(), scheme));
    // The timer bounds how long a silent client holds a connection before
    // its request head is in.
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

async fn serve(
    req: hyper::Request<Incoming>,
    room: Arc<Room>,
    scheme: &'static str,
) -> Result<hyper::Response<Body>, Infallible> {
    Ok(match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => {
            let mut response = hyper::Response::new(Body::from(PAGE));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        (_, "/ws") => upgrade(req, room, scheme),
        _ => status(StatusCode::NOT_FOUND, "not found\n"),
    })
}

fn status(code: StatusCode, body: &'static str) -> hyper::Response<Body> {
    let mut response = hyper::Response::new(Body::from(body));
    *response.status_mut() = code;
    response
}

/// Validate the handshake, answer it, and run the client once hyper hands
/// over the connection (HTTP/1.1) or the stream (HTTP/2).
fn upgrade(
    mut req: hyper::Request<Incoming>,
    room: Arc<Room>,
    scheme: &str,
) -> hyper::Response<Body> {
    let offer = if req.version() == Version::HTTP_2 {
        // The extended CONNECT (RFC 8441): hyper hands over `:protocol`
        // as an extension.
        let protocol = req.extensions().get::<hyper::ext::Protocol>();
        match Request::from_extended_connect(&req, protocol.map(|p| p.as_str())) {
            Ok(offer) => offer,
            // 400, 405 with `allow: CONNECT`...
            Err(refused) => return refused.to_http_response().map(Body::from),
        }
    } else {
        match Request::from_http(&req) {
            Ok(offer) => offer,
            // 400, 405, 426 with `Sec-WebSocket-Version: 13`...
            Err(refused) => return refused.to_http_response().map(Body::from),
        }
    };
    // The page we serve comes from the same authority the WebSocket is
    // opened on; anything else is another site's page.
    let served_from = format!("{scheme}://{}", offer.host());
    if !offer.origin_allowed(&[&served_from]) {
        return status(StatusCode::FORBIDDEN, "origin not allowed\n");
    }
    let name = offer
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("name=")))
        .map(clean_name)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "anonymous".into());
    // No subprotocol; permessage-deflate when the browser offers it (every
    // browser does), with the crate's default preferences.
    let config = Config::default()
        .with_max_message_size(MAX_MESSAGE)
        .with_max_frame_size(MAX_MESSAGE)
        .with_keepalive_interval(Some(KEEPALIVE));
    // The connection's clock counts from now: it starts at the accept.
    let epoch = tokio::time::Instant::now();
    let (conn, response) = match offer.accept_http(&Accept::new(), &config, Instant::ZERO) {
        Ok((conn, _, response)) => (conn, response),
        Err(_) => return status(StatusCode::INTERNAL_SERVER_ERROR, "cannot accept\n"),
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        // Fails if the client went away before the 101 (or 200) was out.
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let ws =
            WebSocket::from_connection(TokioIo::new(upgraded), conn, epoch, Options::default());
        client(ws, name, room).await;
    });
    response.map(|()| Body::default())
}

/// Percent-decode a `name=` value (as `encodeURIComponent` writes it) and
/// keep what can be shown on one line: at most [`MAX_NAME`] characters, no
/// control characters, no `:` (which ends the name in a chat line) and no
/// leading `*` (which marks a notice).
fn clean_name(raw: &str) -> String {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        let hex = |c: u8| (c as char).to_digit(16);
        match b {
            b'%' if rest.len() >= 2 => match (hex(rest[0]), hex(rest[1])) {
                (Some(h), Some(l)) => {
                    bytes.push((h * 16 + l) as u8);
                    rest = &rest[2..];
                }
                _ => bytes.push(b),
            },
            b'+' => bytes.push(b' '),
            _ => bytes.push(b),
        }
    }
    let name: String = String::from_utf8_lossy(&bytes)
        .chars()
        .filter(|c| !c.is_control() && *c != ':')
        .take(MAX_NAME)
        .collect();
    name.trim().trim_start_matches('*').trim().to_string()
}

/// One client: forward its messages to the room and the room's lines to
/// it, until it leaves or falls [`QUEUE`] lines behind.
async fn client<S>(mut ws: WebSocket<S>, name: String, room: Arc<Room>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (tx, mut rx) = mpsc::channel(QUEUE);
    let kick = Arc::new(Notify::new());
    let id = room.join(&name, tx, kick.clone());
    // Each turn handles one event; the loop ends with the connection, which
    // keepalive ends for a peer that vanished.
    let kicked = loop {
        tokio::select! {
            // Both futures are cancel-safe (the driver's docs say so for
            // `recv`), so losing the race loses nothing.
            _ = kick.notified() => break true,
            message = ws.recv() => match message {
                Some(Ok(Message::Text(text))) => room.broadcast(format!("{name}: {text}")),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break false,
            },
            line = rx.recv() => {
                let Some(line) = line else { break false };
                // A client that stopped reading blocks this write; the
                // room then fills its queue and kicks it, which ends the wait.
                tokio::select! {
                    _ = kick.notified() => break true,
                    sent = ws.send_prepared(&line) => if sent.is_err() { break false },
                }
            }
        }
    };
    if kicked {
        // The Close waits behind what the client has not read yet; it gets
        // a while to catch up and read it, then the connection is dropped.
        let closing = ws.close(CloseCode::TRY_AGAIN_LATER, "too slow: fell behind the room");
        let _ = tokio::time::timeout(KICK_TIMEOUT, closing).await;
    } else {
        room.leave(id);
    }
}

struct Member {
    name: String,
    queue: mpsc::Sender<Arc<PreparedMessage>>,
    kick: Arc<Notify>,
}

/// Who is in the room, and their queues.
#[derive(Default)]
struct Room {
    members: Mutex<HashMap<u64, Member>>,
    next_id: AtomicU64,
}

impl Room {
    fn join(
        &self,
        name: &str,
        queue: mpsc::Sender<Arc<PreparedMessage>>,
        kick: Arc<Notify>,
    ) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let member = Member {
            name: name.into(),
            queue,
            kick,
        };
        self.lock().insert(id, member);
        self.broadcast(format!("* {name} joined"));
        id
    }

    fn leave(&self, id: u64) {
        let gone = self.lock().remove(&id);
        if let Some(member) = gone {
            self.broadcast(format!("* {} left", member.name));
        }
    }

    /// Queue `line` for everyone, never waiting: a member whose queue is
    /// full is removed and told to close, and the others hear of it. The
    /// line is framed once, and compressed once for the whole room, not
    /// once per member: every member's task sends the same
    /// `PreparedMessage`.
    fn broadcast(&self, line: String) {
        let mut lines = vec![Arc::new(PreparedMessage::text(&line))];
        let mut members = self.lock();
        // Each pass after the first announces members removed by the one
        // before, so there are at most as many passes as members.
        while let Some(line) = lines.pop() {
            let mut too_slow = Vec::new();
            members.retain(|_, member| match member.queue.try_send(line.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    too_slow.push(member.name.clone());
                    member.kick.notify_one();
                    false
                }
                // Its task ended and will announce the leave itself.
                Err(mpsc::error::TrySendError::Closed(_)) => true,
            });
            for name in too_slow {
                let line = format!("* {name} was too slow and was disconnected");
                lines.push(Arc::new(PreparedMessage::text(&line)));
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Member>> {
        // A panic while holding the lock cannot leave the map half-changed
        // (each change is one call), so a poisoned lock is still usable.
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }
}
