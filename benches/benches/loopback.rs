//! Echo servers over TCP on 127.0.0.1, one load client for all.
//!
//! `cargo bench -p wscore-benches --bench loopback` prints a markdown table
//! of messages echoed per second (see `BENCHMARKS.md`). Each server runs on
//! its own thread with a current-thread tokio runtime, the client on
//! another, so the two cores of a small machine are one server and one
//! client. For each message size, N connections are opened and their
//! handshakes done untimed; then every connection writes its M pre-masked
//! frames as fast as the server takes them while it reads the echoes, and
//! the clock stops when every echo of every connection is in, counted and
//! checked (count, type, bytes). Runs are interleaved (rep 1 of every server,
//! then rep 2, ...) and the median is reported. `LOOPBACK_CONNS`,
//! `LOOPBACK_MSGS` (per connection, scaled down for 16 KiB) and
//! `LOOPBACK_REPS` change the load (defaults 50, 2000, 5); `LOOPBACK_SIZE`
//! (20, 1024 or 16384) and `LOOPBACK_ONLY` (a prefix of a server's name)
//! run a part of it. Every server uses its crate's default settings.

use std::future::ready;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use wscore::extension::deflate::DeflateConfig;
use wscore::frame::Status;
use wscore::handshake::HandshakeLimits;
use wscore::handshake::client::ClientRequest;
use wscore::handshake::server::{Accept, ServerHandshake};
use wscore::{Config, Instant as Now};
use wscore_benches::{AxumWs, env_usize as env};

/// The handshakes here offer and accept no extension: the clients write
/// plain frames by hand.
const LOOPBACK_CONFIG: Config = Config::DEFAULT.with_deflate(DeflateConfig::DISABLED);

/// No single run may take longer: a stalled server fails the benchmark
/// instead of hanging it.
const RUN_LIMIT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    Wscore,
    WscoreForward,
    WscoreRecvSend,
    TokioTungstenite,
    TokioTungsteniteNextSend,
    TokioWebsockets,
    Fastwebsockets,
    WscoreAxum,
    AxumBuiltin,
}

const SERVERS: [Server; 9] = [
    Server::Wscore,
    Server::WscoreForward,
    Server::WscoreRecvSend,
    Server::TokioTungstenite,
    Server::TokioTungsteniteNextSend,
    Server::TokioWebsockets,
    Server::Fastwebsockets,
    Server::WscoreAxum,
    Server::AxumBuiltin,
];

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Wscore => "wscore (tokio driver)",
            Server::WscoreForward => "wscore (split + forward)",
            Server::WscoreRecvSend => "wscore (recv + send)",
            Server::TokioTungstenite => "tokio-tungstenite",
            Server::TokioTungsteniteNextSend => "tokio-tungstenite (next + send)",
            Server::TokioWebsockets => "tokio-websockets",
            Server::Fastwebsockets => "fastwebsockets",
            Server::WscoreAxum => "wscore::axum",
            Server::AxumBuiltin => "axum built-in (tungstenite)",
        }
    }

    /// Which servers are compared with each other: those that batch
    /// writes, those that write each message out before taking the next,
    /// and the two behind axum's router.
    fn kind(self) -> u8 {
        match self {
            Server::WscoreRecvSend | Server::TokioTungsteniteNextSend => 1,
            Server::WscoreAxum | Server::AxumBuiltin => 2,
            _ => 0,
        }
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds")
}

/// Start `server` on its own thread; returns its address.
fn spawn_server(server: Server) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("local addr"))
                .expect("main waits");
            if server.kind() == 2 {
                let ws = match server {
                    Server::WscoreAxum => AxumWs::Wscore,
                    _ => AxumWs::Builtin,
                };
                return wscore_benches::axum_echo(listener, ws)
                    .await
                    .expect("the axum server runs");
            }
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    // The client ends each connection by dropping it; how a
                    // server reports that does not matter here.
                    let _ = serve(server, stream).await;
                });
            }
        });
    });
    rx.recv().expect("the server thread starts")
}

/// Echo every message with its type until the connection ends, the way
/// each crate's docs or examples show.
async fn serve(server: Server, mut stream: TcpStream) -> Result<(), Box<dyn std::error::Error>> {
    match server {
        Server::Wscore => wscore_benches::wscore_echo(stream).await?,
        Server::WscoreForward => {
            use wscore::tokio::{Message, Options, WebSocket};
            // The same shape as the peers' below, through the Stream and
            // Sink of the split halves and owned messages: what a user who
            // comes from tokio-tungstenite writes first.
            let ws = WebSocket::accept(stream, &Config::default(), Options::default()).await?;
            let (rx, tx) = ws.into_split();
            rx.try_filter(|m| ready(matches!(m, Message::Text(_) | Message::Binary(_))))
                .forward(tx)
                .await?;
        }
        Server::WscoreRecvSend => {
            use wscore::tokio::{Message, Options, WebSocket};
            // The crate docs' first server: owned messages, and each `send`
            // writes its message out before it returns.
            let mut ws = WebSocket::accept(stream, &Config::default(), Options::default()).await?;
            while let Some(message) = ws.recv().await {
                if let m @ (Message::Text(_) | Message::Binary(_)) = message? {
                    ws.send(m).await?;
                }
            }
        }
        Server::TokioTungstenite => {
            use tokio_tungstenite::WebSocketStream;
            use tokio_tungstenite::tungstenite::protocol::Role;
            raw_accept(&mut stream).await?;
            let ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
            let (tx, rx) = ws.split();
            // tokio-tungstenite's echo server example: `forward` feeds the
            // sink and flushes when the stream has nothing ready.
            rx.try_filter(|m| ready(m.is_text() || m.is_binary()))
                .forward(tx)
                .await?;
        }
        Server::TokioTungsteniteNextSend => {
            use futures_util::SinkExt;
            use tokio_tungstenite::WebSocketStream;
            use tokio_tungstenite::tungstenite::protocol::Role;
            raw_accept(&mut stream).await?;
            let mut ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
            // The loop its users write first, as `recv + send` above:
            // `SinkExt::send` flushes each message.
            while let Some(message) = ws.next().await {
                let message = message?;
                if message.is_text() || message.is_binary() {
                    ws.send(message).await?;
                }
            }
        }
        Server::WscoreAxum | Server::AxumBuiltin => unreachable!("served by axum_echo"),
        Server::TokioWebsockets => {
            raw_accept(&mut stream).await?;
            let ws = tokio_websockets::ServerBuilder::new().serve(stream);
            let (tx, rx) = ws.split();
            rx.try_filter(|m| ready(m.is_text() || m.is_binary()))
                .forward(tx)
                .await?;
        }
        Server::Fastwebsockets => {
            use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
            raw_accept(&mut stream).await?;
            // Its echo server example: whole messages (text validated) from
            // a FragmentCollector, each frame written back at once.
            let mut ws = FragmentCollector::new(WebSocket::after_handshake(stream, Role::Server));
            loop {
                let frame = ws.read_frame().await?;
                match frame.opcode {
                    OpCode::Close => break,
                    OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// The server handshake for the crates driven after it (untimed, and the
/// same for all three). The client sends nothing before the 101.
async fn raw_accept(stream: &mut TcpStream) -> io::Result<()> {
    let mut handshake = ServerHandshake::new(HandshakeLimits::default());
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        match handshake.handle_input(&buf[..n]) {
            Ok(Status::Partial) => {}
            Ok(Status::Complete((request, _))) => {
                let mut out = Vec::new();
                // Only the 101 is wanted: the crate driven next takes the
                // stream, so the connection `accept` returns is dropped.
                request
                    .accept(&Accept::new(), &LOOPBACK_CONFIG, Now::ZERO, &[], &mut out)
                    .map_err(io::Error::other)?;
                return stream.write_all(&out).await;
            }
            Err(e) => return Err(io::Error::other(e)),
        }
    }
}

/// What one connection sends: `count` masked frames of `size` bytes.
fn frames(size: usize, count: usize) -> (Vec<u8>, u8) {
    let opcode = if size <= 125 { 0x1 } else { 0x2 };
    let key = [0x12, 0x34, 0x56, 0x78];
    // ASCII, so the text frames are valid UTF-8.
    let payload: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    let mut one = vec![0x80 | opcode];
    match size {
        0..=125 => one.push(0x80 | size as u8),
        126..=65535 => {
            one.push(0x80 | 126);
            one.extend_from_slice(&(size as u16).to_be_bytes());
        }
        _ => {
            one.push(0x80 | 127);
            one.extend_from_slice(&(size as u64).to_be_bytes());
        }
    }
    one.extend_from_slice(&key);
    one.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    (one.repeat(count), opcode)
}

/// Connect and handshake one client connection.
async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut head = Vec::new();
    let mut handshake = ClientRequest::new(addr.to_string(), [9; 16])
        .write(&LOOPBACK_CONFIG, &mut head)
        .map_err(io::Error::other)?;
    stream.write_all(&head).await?;
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        match handshake.handle_input(&buf[..n]) {
            Ok(Status::Partial) => {}
            Ok(Status::Complete((_, used))) if used == n => return Ok(stream),
            Ok(Status::Complete(_)) => return Err(io::Error::other("frames before any request")),
            Err(e) => return Err(io::Error::other(e)),
        }
    }
}

/// Read `count` echoed frames of `size` bytes with `opcode`; panics on
/// anything else.
async fn read_echoes(
    mut rx: tokio::net::tcp::OwnedReadHalf,
    size: usize,
    count: usize,
    opcode: u8,
) {
    let mut buf = vec![0u8; 256 << 10];
    let (mut filled, mut start, mut got) = (0, 0, 0);
    while got < count {
        // Parse every whole frame in hand (servers never mask).
        loop {
            let avail = &buf[start..filled];
            if avail.len() < 2 {
                break;
            }
            assert_eq!(
                avail[0],
                0x80 | opcode,
                "echo {got}: wrong type or fragmented"
            );
            let (header, len) = match avail[1] {
                126 if avail.len() >= 4 => (4, u16::from_be_bytes([avail[2], avail[3]]) as usize),
                127 if avail.len() >= 10 => (
                    10,
                    u64::from_be_bytes(avail[2..10].try_into().expect("8 bytes")) as usize,
                ),
                126 | 127 => break,
                n => (2, n as usize),
            };
            assert_eq!(len, size, "echo {got}: wrong length");
            if avail.len() < header + len {
                break;
            }
            start += header + len;
            got += 1;
        }
        if got == count {
            break;
        }
        // Keep the partial frame, at the start.
        buf.copy_within(start..filled, 0);
        filled -= start;
        start = 0;
        let n = rx.read(&mut buf[filled..]).await.expect("client read");
        assert!(n > 0, "the server closed after {got} of {count} echoes");
        filled += n;
    }
}

/// One timed run: `conns` connections, each echoing `msgs` messages of
/// `size` bytes. Returns messages per second.
fn run(client: &Runtime, addr: SocketAddr, conns: usize, msgs: usize, size: usize) -> f64 {
    let (wire, opcode) = frames(size, msgs);
    let wire = std::sync::Arc::new(wire);
    client.block_on(async {
        let mut streams = Vec::with_capacity(conns);
        for _ in 0..conns {
            streams.push(connect(addr).await.expect("handshake"));
        }
        let start = Instant::now();
        let mut tasks = Vec::with_capacity(conns);
        let mut readers = Vec::with_capacity(conns);
        for stream in streams {
            let (rx, mut tx) = stream.into_split();
            let wire = wire.clone();
            // Writer and reader apart, so the client never stops reading
            // while the server waits for it to.
            tasks.push(tokio::spawn(async move {
                tx.write_all(&wire).await.expect("client write");
                // Dropping `tx` here would send FIN before the echoes are in.
                tx
            }));
            readers.push(tokio::spawn(read_echoes(rx, size, msgs, opcode)));
        }
        let writers = tokio::time::timeout(RUN_LIMIT, async {
            for reader in readers {
                reader.await.expect("a reader task");
            }
            let mut writers = Vec::with_capacity(conns);
            for task in tasks {
                writers.push(task.await.expect("a writer task"));
            }
            writers
        })
        .await
        .expect("the run finishes in time");
        let rate = (conns * msgs) as f64 / start.elapsed().as_secs_f64();
        drop(writers);
        rate
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; filters come from the environment.
    let conns = env("LOOPBACK_CONNS", 50);
    let msgs = env("LOOPBACK_MSGS", 2000);
    let reps = env("LOOPBACK_REPS", 5).max(1);
    // 16 KiB messages get a tenth of the count, to keep a run near a second.
    let sizes = [(20, msgs), (1 << 10, msgs), (16 << 10, (msgs / 10).max(1))];
    let sizes: Vec<(usize, usize)> = sizes
        .into_iter()
        .filter(|&(s, _)| std::env::var("LOOPBACK_SIZE").map_or(true, |v| v == s.to_string()))
        .collect();
    let only = std::env::var("LOOPBACK_ONLY").ok();
    let servers: Vec<Server> = SERVERS
        .into_iter()
        .filter(|s| {
            only.as_ref()
                .is_none_or(|o| s.name().starts_with(o.as_str()))
        })
        .collect();
    let addrs: Vec<SocketAddr> = servers.iter().map(|&s| spawn_server(s)).collect();
    let client = runtime();
    let mut results = vec![vec![Vec::new(); servers.len()]; sizes.len()];
    // One untimed warm-up of each, then interleaved reps.
    for rep in 0..=reps {
        for (si, &(size, count)) in sizes.iter().enumerate() {
            for (i, &addr) in addrs.iter().enumerate() {
                let rate = run(&client, addr, conns, count, size);
                if rep > 0 {
                    results[si][i].push(rate);
                }
            }
        }
    }
    println!(
        "{conns} connections; messages/s, median of {reps} interleaved reps; ratio = each wscore server / the best peer of its kind (batching servers; loops that write each message out; the two under axum)\n"
    );
    let ours: Vec<usize> = (0..servers.len())
        .filter(|&i| servers[i].name().starts_with("wscore"))
        .collect();
    print!("| size | msgs/conn |");
    for s in &servers {
        print!(" {} |", s.name());
    }
    println!(" wscore / best peer |");
    println!("|---|---:|{}---:|", "---:|".repeat(servers.len()));
    for (si, &(size, count)) in sizes.iter().enumerate() {
        let medians: Vec<f64> = results[si].iter().cloned().map(median).collect();
        // Like for like (`Server::kind`): batching servers with the best
        // batching peer, loops that write each message out with the peer's
        // loop that does the same, and the two axum servers together.
        let best_peer = |ours: Server| {
            (0..medians.len())
                .filter(|&i| !servers[i].name().starts_with("wscore"))
                .filter(|&i| servers[i].kind() == ours.kind())
                .map(|i| medians[i])
                .fold(0.0, f64::max)
        };
        let label = if size >= 1024 {
            format!("{} KiB", size >> 10)
        } else {
            format!("{size} B")
        };
        print!("| {label} | {count} |");
        for m in &medians {
            print!(" {:.0} |", m);
        }
        let ratios: Vec<String> = ours
            .iter()
            .map(|&i| format!("{:.2}x", medians[i] / best_peer(servers[i])))
            .collect();
        println!(" {} |", ratios.join(" / "));
    }
}
