//! A chat room on hyper 1.x, with the WebSocket handshake done through the
//! `http` feature and the connection driven by the tokio driver.
//!
//! `cargo run --example chat --features "tokio http" -- [ADDR] [FLAGS]`
//! (default `127.0.0.1:8080`), then open `http://ADDR/` in two browser tabs.
//!
//! ```text
//! chat [ADDR] [--tls CERT.pem KEY.pem] [--max-behind BYTES] [--slow-after SECS]
//!      [--allow-origin ORIGIN]... [--redis redis://HOST:PORT] [--history LINES]
//! ```
//!
//! With `--redis redis://HOST:PORT` several instances (on one machine or
//! many, behind a load balancer: `chat/deploy/`) share the room through
//! that Redis: every line reaches every member of every instance once,
//! in one order for all, each sender's lines in the order sent (the lines
//! go through Redis and come back, so an instance hears its own members
//! as the others do). A line Redis does not take within 5 s is not said:
//! its sender is closed with 1011 and its page comes back later and
//! resumes. An instance whose subscription breaks subscribes again and
//! reads what it missed from the Stream; one without it for 10 s closes
//! its members with 1011 too (their pages come back, to an instance that
//! has its Redis) and refuses new ones until it is back. It does not
//! start without its Redis. Redis holds at most `--history` lines
//! (`MAXLEN ~`): at most 640 MiB of the longest lines at the defaults,
//! about 1 MiB of 100-byte ones. Without `--redis`, one process is the room.
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
//! * `GET /ws?name=NAME[&since=ID]` is the WebSocket. Every text message
//!   is broadcast to everyone as `NAME: TEXT`; joins and leaves as
//!   `* NAME joined` and `* NAME left`. Each line goes out as `ID LINE`:
//!   its id in the room, `MS-SEQ` (a Redis Stream id; ids only grow on a
//!   connection). A page that lost its connection comes back, to this
//!   instance or any other, with `since=` the id of the last line it
//!   showed and first gets every line after it that the room still keeps
//!   (the newest `--history` lines, default 10,000; at most
//!   `--max-behind` of them in one go), then the live ones, none twice;
//!   a `since` that is not an id gets 400 (`chat/hub.rs` says how;
//!   tests/chat_room.rs `resume_*` and tests/chat_cluster.rs). Each join
//!   prints `joined NAME` (`joined NAME since ID`) on stdout, so whoever
//!   runs several instances sees where a member landed. Names cannot hold `:` or start with `*`, so a line is
//!   never mistaken for another kind; control, line-separator (U+2028,
//!   U+2029), bidi (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C)
//!   and zero-width (U+200B-U+200D, U+2060, U+FEFF) characters are
//!   stripped from names, and line breaks in a line's text become spaces
//!   (`chat/text.rs` says why; tests/chat_room.rs
//!   `names_lose_separators_bidi_and_zero_width` checks both).
//! * Only the served authorities are answered, and only pages from the
//!   allowed origins may open a WebSocket. The served authorities are the
//!   bound address (`127.0.0.1:8080`; with `localhost:PORT` too when it is
//!   a loopback address; for `0.0.0.0` or `::`, the loopback ones; on
//!   the scheme's default port, also without the port) plus
//!   the authority of each allowed origin; a request whose `Host`
//!   (`:authority` over HTTP/2) is another gets 421, the defence against
//!   DNS rebinding (a page from `evil.example` whose name now resolves
//!   here). The allowed origins are `--allow-origin ORIGIN` (repeatable,
//!   e.g. `https://chat.example.com` behind a proxy), and always the
//!   scheme (`http`, or `https` under `--tls`) plus each served address;
//!   a WebSocket from any other `Origin`, or none, gets 403. Never derived
//!   from the request itself (`host_and_origin_checks`).
//! * A slow member never holds up the room, and a burst does not make
//!   anyone slow. A member is cut off with 1013 (Try Again Later), and the
//!   others told, when the lines waiting for it pass `--max-behind BYTES`
//!   (default 4 MiB: 64 of the longest lines, as the old 64-line queue
//!   held, or about 25,000 of 100 bytes) or when its oldest undelivered
//!   line has waited `--slow-after SECS` (default 10 s), checked when a
//!   line is queued and by the
//!   member's timer, so one that stops reading in a quiet room is found
//!   too. Lines are shared (`Arc<PreparedMessage>`: framed, and
//!   compressed, once for the room), and the room's memory is at most
//!   members × max-behind (`chat/room.rs`). Its Close waits behind its
//!   unread lines for up to 30 s, but once it has sent
//!   [`CLOSE_READ_BUDGET`] bytes meanwhile it is dropped: a kicked member
//!   that floods is not read at full speed for the wait.
//!   (`burst_reaches_every_reader`, `join_storm_cuts_nobody`,
//!   `non_reader_cut_by_bytes`, `non_reader_cut_by_time`,
//!   `kicked_flooder_is_not_read`.) To make "slow" mean slow to read
//!   rather than slow to fill the kernel's buffers, the sockets' send
//!   buffers are kept small ([`SEND_BUFFER`]), and so is what HTTP/2
//!   buffers per stream.
//!
//! Browsers offer permessage-deflate and the room accepts it with the
//! crate's defaults, so `ws.extensions` is `permessage-deflate;
//! server_max_window_bits=13; client_max_window_bits=13`.

mod common;
#[path = "chat/hub.rs"]
mod hub;
#[path = "chat/read_budget.rs"]
mod read_budget;
#[path = "chat/room.rs"]
mod room;
#[path = "chat/text.rs"]
mod text;
#[path = "common/tls.rs"]
mod tls;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Method, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsAcceptor;
use wscore::handshake::server::{Accept, Request};
use wscore::tokio::{Message, Options, WebSocket};
use wscore::{CloseCode, Config, Instant};

use hub::{Hub, Id};
use read_budget::ReadBudget;
use room::{Cut, Limits, Line, Mailbox, Room};
use text::{clean_line, clean_name};

/// `--max-behind`'s default: 4 MiB is what the old 64-line queue held
/// of the longest lines ([`MAX_MESSAGE`]), so twenty members pasting
/// their longest line at the same moment is still a burst, not a slow
/// reader; it is about 25,000 lines of 100 bytes. A member that stopped
/// reading costs at most this (most of it text shared with the others).
const MAX_BEHIND: usize = 4 << 20;
/// `--slow-after`'s default: far longer than any healthy client takes to
/// read a burst, short enough that a stalled one is let go soon.
const SLOW_AFTER: Duration = Duration::from_secs(10);
/// The kernel send buffer per socket. The kernel grows an unset one to
/// megabytes, which a client that stopped reading would absorb before the
/// room noticed; a chat line is small, so a small buffer costs nothing.
const SEND_BUFFER: u32 = 64 << 10;
/// The longest chat line accepted, in bytes; longer ones end the
/// connection with 1009.
const MAX_MESSAGE: u64 = 64 << 10;
/// How long a client may take to send its request head, or to finish the
/// TLS handshake.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// A client silent this long is pinged, and dropped if it stays silent as
/// long again: a peer that vanished without a FIN does not stay a member.
const KEEPALIVE: Duration = Duration::from_secs(30);
/// How long a client that is cut off gets to take our Close.
const KICK_TIMEOUT: Duration = Duration::from_secs(30);
/// What a client that is cut off may send while its Close is pending
/// before it is dropped: an honest one sends its Close and perhaps a few
/// lines that were on their way (four of the longest); more is a flood,
/// which the driver's `close` would otherwise read and drop at full speed
/// for the whole [`KICK_TIMEOUT`].
const CLOSE_READ_BUDGET: u64 = 4 * MAX_MESSAGE;

/// How often freed memory goes back to the kernel (see
/// `common::spawn_malloc_trimmer`).
const TRIM_INTERVAL: Duration = Duration::from_secs(2);

/// The page served at `/`, kept in its own file so it reads as HTML.
const PAGE: &str = include_str!("chat/index.html");

const USAGE: &str = "usage: chat [ADDR] [--tls CERT.pem KEY.pem] [--max-behind BYTES] \
[--slow-after SECS] [--allow-origin ORIGIN]... [--redis redis://HOST:PORT] [--history LINES]";

/// What each flag does, for `--help` (the module docs say more), with
/// the defaults from their constants.
fn help() -> String {
    let max_behind = format!("(default {} MiB)", MAX_BEHIND >> 20);
    let slow_after = format!("(default {})", SLOW_AFTER.as_secs());
    [
        USAGE,
        "",
        "  ADDR                   where to listen (default 127.0.0.1:8080)",
        "  --tls CERT.pem KEY.pem serve HTTPS, HTTP/2 first (WebSockets over RFC 8441)",
        &format!("  --max-behind BYTES     cut off a member this far behind {max_behind}"),
        &format!("  --slow-after SECS      or whose oldest unread line is this old {slow_after}"),
        "  --allow-origin ORIGIN  also accept pages from ORIGIN (repeatable; default:",
        "                         only the address served, and localhost on loopback)",
        "  --redis URL            share the room with the other instances on this Redis",
        "                         (default: this process alone)",
        &format!(
            "  --history LINES        keep this many lines for pages that resume (default {})",
            hub::HISTORY
        ),
    ]
    .join("\n")
}

type Body = Full<Bytes>;

/// What the command line asks for.
struct Args {
    addr: SocketAddr,
    /// `--tls CERT KEY`: the PEM files to serve HTTPS with.
    tls: Option<(String, String)>,
    limits: Limits,
    /// `--allow-origin`, lowercased.
    allow_origins: Vec<String>,
    /// `--redis URL`: share the room through this Redis.
    redis: Option<String>,
    /// `--history LINES`: how many lines are kept for resuming.
    history: usize,
}

/// Flags anywhere, each followed by its values; one positional ADDR.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut args = args.into_iter();
    let mut addr = None;
    let mut tls = None;
    let mut limits = Limits {
        max_behind: MAX_BEHIND,
        slow_after: SLOW_AFTER,
    };
    let mut allow_origins = Vec::new();
    let mut redis = None;
    let mut history = hub::HISTORY;
    while let Some(arg) = args.next() {
        let mut value = |what: &str| args.next().ok_or(format!("{arg} needs {what}"));
        match arg.as_str() {
            "-h" | "--help" => {
                // Asked for, so on stdout and a success.
                println!("{}", help());
                std::process::exit(0);
            }
            "--tls" => tls = Some((value("CERT.pem and KEY.pem")?, value("KEY.pem")?)),
            "--max-behind" => {
                let v = value("BYTES")?;
                limits.max_behind = v.parse().map_err(|e| format!("--max-behind {v}: {e}"))?;
            }
            "--slow-after" => {
                let v = value("SECS")?;
                let secs: f64 = v.parse().map_err(|e| format!("--slow-after {v}: {e}"))?;
                // A day at most: a deadline must stay within what a
                // timer can represent.
                if !(0.0..=86_400.0).contains(&secs) {
                    return Err(format!("--slow-after {v}: 0 to 86400 seconds"));
                }
                limits.slow_after = Duration::from_secs_f64(secs);
            }
            "--allow-origin" => {
                let v = value("ORIGIN")?;
                if authority_of(&v).is_none() {
                    return Err(format!("--allow-origin {v}: not SCHEME://HOST[:PORT]"));
                }
                allow_origins.push(v.to_ascii_lowercase());
            }
            "--redis" => redis = Some(value("redis://HOST:PORT")?),
            "--history" => {
                let v = value("LINES")?;
                history = v.parse().map_err(|e| format!("--history {v}: {e}"))?;
            }
            _ if addr.is_none() && !arg.starts_with("--") => {
                addr = Some(arg.parse().map_err(|e| format!("{arg}: {e}"))?);
            }
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    let addr = addr.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)));
    Ok(Args {
        addr,
        tls,
        limits,
        allow_origins,
        redis,
        history,
    })
}

/// The `HOST[:PORT]` of an origin `SCHEME://HOST[:PORT]`.
fn authority_of(origin: &str) -> Option<&str> {
    let (scheme, authority) = origin.split_once("://")?;
    let valid = !scheme.is_empty() && !authority.is_empty() && !authority.contains(['/', '?', '#']);
    valid.then_some(authority)
}

/// Whom the server answers: the authorities it is reached by and the
/// origins whose pages may open a WebSocket (see the module docs).
struct Site {
    /// Lowercase `HOST[:PORT]`s.
    authorities: Vec<String>,
    /// Lowercase `SCHEME://HOST[:PORT]`s.
    origins: Vec<String>,
}

impl Site {
    fn new(bound: SocketAddr, scheme: &str, allow_origins: &[String]) -> Site {
        let port = bound.port();
        let mut authorities = Vec::new();
        if bound.ip().is_unspecified() || bound.ip().is_loopback() {
            authorities.push(format!("localhost:{port}"));
        }
        if bound.ip().is_unspecified() {
            // Reached by any of the machine's addresses; the loopback
            // ones are the ones known here.
            authorities.push(format!("127.0.0.1:{port}"));
            authorities.push(format!("[::1]:{port}"));
        } else {
            authorities.push(bound.to_string());
        }
        // On the scheme's default port, browsers leave the port out of
        // both `Host` and `Origin`.
        if matches!((scheme, port), ("http", 80) | ("https", 443)) {
            let suffix = format!(":{port}");
            let bare: Vec<String> = authorities
                .iter()
                .filter_map(|a| a.strip_suffix(&suffix).map(String::from))
                .collect();
            authorities.extend(bare);
        }
        let mut origins: Vec<String> = authorities
            .iter()
            .map(|a| format!("{scheme}://{a}"))
            .collect();
        for origin in allow_origins {
            origins.push(origin.clone());
            if let Some(authority) = authority_of(origin) {
                authorities.push(authority.into());
            }
        }
        Site {
            authorities,
            origins,
        }
    }

    fn serves(&self, authority: &str) -> bool {
        self.authorities
            .iter()
            .any(|a| a.eq_ignore_ascii_case(authority))
    }
}

fn main() -> std::io::Result<()> {
    let args = parse_args(std::env::args().skip(1)).unwrap_or_else(|e| {
        eprintln!("chat: {e}\n{USAGE}");
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
        let listener = socket.listen(1024)?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let bound = listener.local_addr()?;
        println!("listening on {scheme}://{bound}/");
        let site = Arc::new(Site::new(bound, scheme, &args.allow_origins));
        let room = Arc::new(Room::new(args.limits));
        let hub = match &args.redis {
            // Before serving: a member must not join a room that is not
            // connected to the others.
            Some(url) => Hub::redis(room, url, args.history).await.map_err(|e| {
                std::io::Error::other(format!("cannot use the Redis at {url}: {e}"))
            })?,
            None => Hub::local(room, args.history),
        };
        // Out of descriptors, the loop pauses and accepts again later;
        // the room goes on meanwhile (`common::accept_loop_tokio`).
        common::accept_loop_tokio(&listener, |stream| {
            // Chat lines are small and should go out at once.
            let _ = stream.set_nodelay(true);
            let shared = Shared {
                hub: hub.clone(),
                site: site.clone(),
            };
            tokio::spawn(connection(stream, tls.clone(), shared));
        })
        .await
    })
}

/// What every request needs.
#[derive(Clone)]
struct Shared {
    hub: Arc<Hub>,
    site: Arc<Site>,
}

/// Serve one TCP connection: HTTP/1.1, or over TLS whichever of HTTP/2
/// and HTTP/1.1 the client picked. An error here is one client's
/// connection failing.
async fn connection(stream: TcpStream, tls: Option<TlsAcceptor>, shared: Shared) {
    let Some(acceptor) = tls else {
        return serve_http1(stream, shared).await;
    };
    // A client that stalls the TLS handshake is dropped like one that
    // stalls its request head.
    let Ok(Ok(stream)) = tokio::time::timeout(HEAD_TIMEOUT, acceptor.accept(stream)).await else {
        return;
    };
    if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
        return serve_http1(stream, shared).await;
    }
    let service = service_fn(move |req| serve(req, shared.clone()));
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

async fn serve_http1<S>(stream: S, shared: Shared)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| serve(req, shared.clone()));
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
    shared: Shared,
) -> Result<hyper::Response<Body>, Infallible> {
    // `:authority` over HTTP/2 (and an absolute-form target), else `Host`.
    let authority = req
        .uri()
        .authority()
        .map(|a| a.as_str())
        .or_else(|| req.headers().get(HOST).and_then(|h| h.to_str().ok()));
    if !authority.is_some_and(|a| shared.site.serves(a)) {
        // A name we do not serve: a rebound DNS name, or a mistake.
        return Ok(status(StatusCode::MISDIRECTED_REQUEST, "not served here\n"));
    }
    Ok(match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => {
            let mut response = hyper::Response::new(Body::from(PAGE));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        (_, "/ws") => upgrade(req, shared),
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
fn upgrade(mut req: hyper::Request<Incoming>, shared: Shared) -> hyper::Response<Body> {
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
    // A browser lets any page open a WebSocket anywhere: only the
    // configured origins get in, whatever the request says of itself.
    let origins: Vec<&str> = shared.site.origins.iter().map(String::as_str).collect();
    if !offer.origin_allowed(&origins) {
        return status(StatusCode::FORBIDDEN, "origin not allowed\n");
    }
    let param = |key: &str| {
        let query = offer.query()?;
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
    };
    let name = param("name")
        .map(clean_name)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "anonymous".into());
    // A page that was here before asks for what it missed: the lines
    // after the last one it showed.
    let since = match param("since").map(str::parse::<Id>) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => return status(StatusCode::BAD_REQUEST, "since: not an id\n"),
    };
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
    let hub = shared.hub;
    tokio::spawn(async move {
        // Fails if the client went away before the 101 (or 200) was out.
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let io = ReadBudget::new(TokioIo::new(upgraded));
        let ws = WebSocket::from_connection(io, conn, epoch, Options::default());
        client(ws, name, since, hub).await;
    });
    response.map(|()| Body::default())
}

/// How a member's time in the room ended.
enum End {
    /// It left, or its connection ended.
    Left,
    /// The room cut it off.
    Kicked,
    /// The room could not take its line, or lost its Redis for longer than
    /// `hub::ROOM_LOST_AFTER`: the page comes back later and resumes.
    Unavailable,
}

impl From<Cut> for End {
    fn from(cut: Cut) -> End {
        match cut {
            Cut::TooSlow => End::Kicked,
            Cut::Unavailable => End::Unavailable,
        }
    }
}

/// One client: forward its messages to the room and the room's lines to
/// it, until it leaves or is too slow (see [`room`]). With `since`, it
/// first gets the lines it missed (see [`hub`]).
async fn client<S>(mut ws: WebSocket<ReadBudget<S>>, name: String, since: Option<Id>, hub: Arc<Hub>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Ok((id, mailbox)) = hub.join(&name, since).await else {
        let _ = tokio::time::timeout(KICK_TIMEOUT, unavailable(&mut ws)).await;
        return;
    };
    // Which instance a member is on, for whoever runs several.
    match since {
        Some(since) => println!("joined {name} since {since}"),
        None => println!("joined {name}"),
    }
    // Each turn handles one event; the loop ends with the connection, which
    // keepalive ends for a peer that vanished.
    let end = loop {
        let next = mailbox.front();
        tokio::select! {
            // `recv` and the `Notify`s are cancel-safe (the driver's docs
            // say so for `recv`), so losing the race loses nothing.
            cut = mailbox.kicked() => break End::from(cut),
            message = ws.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    // Said before the next is read: each member's lines
                    // keep their order, across instances too.
                    let line = format!("{name}: {}", clean_line(&text));
                    if hub.say(line).await.is_err() {
                        break End::Unavailable;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break End::Left,
            },
            () = mailbox.ready(), if next.is_none() => {}
            () = async {}, if next.is_some() => {
                let Some((line, queued)) = next else { continue };
                if let Some(end) = deliver(&mut ws, &mailbox, &line, queued, &hub, id).await {
                    break end;
                }
            }
        }
    };
    match end {
        End::Kicked => {
            // The Close waits behind what the client has not read yet; it
            // gets a while to catch up and read it, then the connection is
            // dropped, sooner if it floods us meanwhile.
            ws.get_mut().limit(CLOSE_READ_BUDGET);
            let closing = ws.close(CloseCode::TRY_AGAIN_LATER, "too slow: fell behind the room");
            let _ = tokio::time::timeout(KICK_TIMEOUT, closing).await;
        }
        End::Unavailable => {
            hub.leave(id).await;
            let _ = tokio::time::timeout(KICK_TIMEOUT, unavailable(&mut ws)).await;
        }
        End::Left => hub.leave(id).await,
    }
}

/// Close with 1011: the room is not there (Redis is not answering). The
/// page reconnects, to this instance or another, and resumes.
async fn unavailable<S>(ws: &mut WebSocket<ReadBudget<S>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    ws.get_mut().limit(CLOSE_READ_BUDGET);
    let _ = ws
        .close(CloseCode::INTERNAL_ERROR, "the room is unavailable")
        .await;
}

/// Hand `line` (the front of `mailbox`, queued at `queued`) to the
/// connection; `Some` if the member's time ends here. A send is not
/// cancelled once it started (it would have queued the line already), so
/// it is raced only against the end: a kick, or the line's age passing
/// `slow_after` while the client does not read (the room may be quiet,
/// with nothing queued to notice it).
async fn deliver<S>(
    ws: &mut WebSocket<S>,
    mailbox: &Mailbox,
    line: &Line,
    queued: tokio::time::Instant,
    hub: &Hub,
    id: u64,
) -> Option<End>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let too_old = tokio::time::sleep_until(queued + hub.room().limits().slow_after);
    tokio::select! {
        cut = mailbox.kicked() => Some(End::from(cut)),
        () = too_old => {
            hub.too_slow(id).await;
            Some(End::Kicked)
        }
        sent = ws.send_prepared(line) => match sent {
            Ok(()) => {
                mailbox.delivered(line);
                None
            }
            Err(_) => Some(End::Left),
        },
    }
}
