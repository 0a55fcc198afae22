//! `--serve NAME SECS [--no-trim]`: the echo servers this binary runs itself, each in
//! a process of its own (the benchmark re-executes itself with these
//! arguments).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use wscore::extension::deflate::DeflateConfig;
use wscore::handshake::HandshakeLimits;
use wscore::handshake::server::{Accept, ServerHandshake};
use wscore::{Config, Event, Instant, Status};
use wscore_benches::AxumWs;

/// The listen backlog each server asks for (the kernel caps it at
/// `net.core.somaxconn`, 4096 here): thousands of clients connect at once.
const BACKLOG: u32 = 4096;

/// The servers `--serve` knows, by the name it takes.
pub const NAMES: [&str; 5] = [
    "wscore",
    "tokio-tungstenite",
    "tokio-floor",
    "axum",
    "wscore-axum",
];

/// Run echo server `name` on 127.0.0.1 for `lifetime`, then exit the
/// process, with glibc's free pages given back every 2 s if `trim` (as
/// the example servers do). Prints `listening on ADDR` first.
pub fn serve(name: &str, lifetime: Duration, trim: bool) -> ! {
    if !NAMES.contains(&name) {
        eprintln!("--serve {} SECS", NAMES.join("|"));
        std::process::exit(2);
    }
    let name = name.to_owned();
    if trim {
        wscore_benches::spawn_malloc_trimmer(Duration::from_secs(2));
    }
    // What `#[tokio::main]` builds: a worker thread per core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the server's runtime builds");
    runtime.block_on(async {
        let socket = TcpSocket::new_v4().expect("a socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind 127.0.0.1");
        let listener = socket.listen(BACKLOG).expect("listen");
        println!(
            "listening on {}",
            listener.local_addr().expect("local addr")
        );
        // The axum rows: axum's own accept loop (`axum::serve`) and its
        // hyper connections, on the same listener.
        let ws = match name.as_str() {
            "axum" => Some(AxumWs::Builtin),
            "wscore-axum" => Some(AxumWs::Wscore),
            _ => None,
        };
        if let Some(ws) = ws {
            let _ = tokio::time::timeout(lifetime, wscore_benches::axum_echo(listener, ws)).await;
            return;
        }
        let accept = async {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let name = name.clone();
                tokio::spawn(async move {
                    // The client ends every connection by dropping it; how
                    // a server reports that does not matter here.
                    let _ = match name.as_str() {
                        "wscore" => wscore_benches::wscore_echo(stream).await,
                        "tokio-tungstenite" => echo_tungstenite(stream).await,
                        _ => echo_floor(stream).await,
                    };
                });
            }
        };
        let _ = tokio::time::timeout(lifetime, accept).await;
    });
    // The open connections' tasks would hold up the runtime's drop.
    std::process::exit(0);
}

/// tokio-tungstenite's echo server example: its own handshake, then
/// forward every data message back.
async fn echo_tungstenite(stream: TcpStream) -> io::Result<()> {
    use futures_util::{StreamExt, TryStreamExt};
    let ws = tokio_tungstenite::accept_async(stream)
        .await
        .map_err(io::Error::other)?;
    let (tx, rx) = ws.split();
    rx.try_filter(|m| std::future::ready(m.is_text() || m.is_binary()))
        .forward(tx)
        .await
        .map_err(io::Error::other)
}

/// The floor under any tokio server: answer the handshake and echo the
/// first message with wscore's sans-IO core, then drop every buffer and
/// the protocol state, and wait for the socket to become readable, holding
/// nothing but the task and the `TcpStream`.
async fn echo_floor(mut stream: TcpStream) -> io::Result<()> {
    echo_first_message(&mut stream).await?;
    let mut probe = [0u8; 64];
    loop {
        stream.readable().await?;
        match stream.try_read(&mut probe) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
}

/// The floor's handshake and first echo; everything it allocates is freed
/// when it returns.
async fn echo_first_message(stream: &mut TcpStream) -> io::Result<()> {
    let mut handshake = ServerHandshake::new(HandshakeLimits::default());
    let mut buf = vec![0u8; 4096];
    let mut out = Vec::new();
    // The clock never matters here: no timer is set. The floor runs no
    // extension, whatever the client offers.
    let config = Config::default().with_deflate(DeflateConfig::DISABLED);
    let mut conn = loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        match handshake.handle_input(&buf[..n]) {
            Ok(Status::Partial) => {}
            Ok(Status::Complete((request, used))) => {
                let (conn, _) = request
                    .accept(
                        &Accept::new(),
                        &config,
                        Instant::ZERO,
                        &buf[used..n],
                        &mut out,
                    )
                    .map_err(io::Error::other)?;
                break conn;
            }
            Err(e) => return Err(io::Error::other(e)),
        }
    };
    stream.write_all(&out).await?;
    loop {
        let mut echoed = false;
        while let Some((event, mut tx)) = conn.poll_event_with_sender() {
            if let Event::Text(text) = event {
                tx.send_text(text).map_err(io::Error::other)?;
                echoed = true;
            }
        }
        out.clear();
        conn.poll_transmit(&mut out);
        stream.write_all(&out).await?;
        if echoed {
            return Ok(());
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        conn.handle_input(Instant::ZERO, &buf[..n]);
    }
}
