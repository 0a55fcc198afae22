//! Two WebSockets over one HTTP/2 connection (RFC 8441), checked against
//! an echo server.
//!
//! `cargo run --features h2,rustls --example h2_client -- URL [--ca CERT.pem]`,
//! e.g. `wss://localhost:8443/ws` (or `ws://` for HTTP/2 without TLS, with
//! prior knowledge). `--ca` trusts that certificate (a test server's own)
//! instead of the Mozilla roots.
//!
//! Opens the connection once and two WebSockets to the URL's path on it,
//! both open at the same time, with permessage-deflate offered. Through
//! each it sends a text line, a 1 MiB binary message of noise and a Ping,
//! checks that the echoes are exact and the Pong came back, and closes with
//! 1000; it prints what it did and exits non-zero on any mismatch, so
//! `tests/interop/h2/run.sh` runs it against other implementations. A
//! server that does not enable extended CONNECT is an `Unsupported`
//! error: such a server takes WebSockets on HTTP/1.1 only.

use std::io;
use std::time::Duration;

use wscore::tokio::h2::{H2Stream, Http2Client, Http2Options};
use wscore::tokio::{ConnectOptions, Message, WebSocket};
use wscore::{CloseCode, ClosedReason, Config};

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let mut url = None;
    let mut options = Http2Options::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ca" => {
                let path = args.next().ok_or_else(|| usage("--ca needs a file"))?;
                options = options.connector(trusting(&path)?);
            }
            _ if url.is_none() => url = Some(arg),
            _ => return Err(usage(&format!("unexpected argument {arg}"))),
        }
    }
    let url = url.ok_or_else(|| usage("no URL"))?;
    let session = Http2Client::connect(url.as_str(), &options).await?;
    let config = Config::default().with_close_timeout(Some(Duration::from_secs(3)));
    // Both open before either is used: two streams of one connection.
    let mut sockets = Vec::new();
    for n in 1..=2 {
        // The URL again: its path is the target, its authority the
        // connection's.
        let (ws, response) = session
            .websocket(&url, &config, ConnectOptions::new())
            .await?;
        let agreed: Vec<String> = response
            .negotiated()
            .extensions
            .iter()
            .map(|e| format!("{e:?}"))
            .collect();
        println!("socket {n}: open over HTTP/2, extensions {agreed:?}");
        sockets.push(ws);
    }
    for (n, ws) in sockets.iter_mut().enumerate() {
        exchange(n + 1, ws).await?;
    }
    // Both close at once. After the close handshake a client waits for the
    // server to end its side (END_STREAM, RFC 8441 section 5, as it waits
    // for the server's FIN over HTTP/1.1), up to the config's close
    // timeout, kept short here: a server that never ends its streams
    // (Hypercorn 0.18 does not) costs those seconds, not thirty.
    let closes = sockets
        .into_iter()
        .enumerate()
        .map(|(n, mut ws)| async move {
            let started = std::time::Instant::now();
            let end = ws.close(CloseCode::NORMAL, "done").await?;
            if end
                != (ClosedReason::Clean {
                    code: CloseCode::NORMAL,
                })
            {
                return Err(mismatch(format!("socket {}: closed as {end:?}", n + 1)));
            }
            let ended = if ws.get_ref().is_end_stream() {
                "the server ended its stream"
            } else {
                "the server did not end its stream"
            };
            let took = started.elapsed().as_millis();
            println!(
                "socket {}: closed cleanly with 1000 in {took} ms; {ended}",
                n + 1
            );
            Ok(())
        });
    for closed in futures_util::future::join_all(closes).await {
        closed?;
    }
    println!("PASS: two WebSockets over one HTTP/2 connection");
    Ok(())
}

/// A text line, 1 MiB of noise and a Ping through `ws`, each checked.
async fn exchange(n: usize, ws: &mut WebSocket<H2Stream>) -> io::Result<()> {
    let line = format!("héllo from socket {n} over HTTP/2");
    ws.send_text(&line).await?;
    expect(ws, Message::text(line.as_str())).await?;
    let mut x = 0x9e37_79b9_7f4a_7c15_u64 ^ n as u64;
    let noise: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    ws.send_binary(&noise).await?;
    expect(ws, Message::binary(noise)).await?;
    ws.send_ping(b"are you there").await?;
    loop {
        match ws.recv().await.transpose()? {
            Some(Message::Pong(payload)) if payload.as_ref() == b"are you there" => break,
            Some(Message::Ping(_)) => continue,
            other => {
                return Err(mismatch(format!(
                    "socket {n}: wanted the Pong, got {other:?}"
                )));
            }
        }
    }
    println!("socket {n}: text, 1 MiB binary and a Ping echoed exactly");
    Ok(())
}

async fn expect(ws: &mut WebSocket<H2Stream>, want: Message) -> io::Result<()> {
    match ws.recv().await.transpose()? {
        Some(got) if got == want => Ok(()),
        Some(got) => Err(mismatch(format!(
            "wanted {}, got {}",
            describe(&want),
            describe(&got)
        ))),
        None => Err(mismatch("the connection ended".into())),
    }
}

fn describe(message: &Message) -> String {
    match message {
        Message::Text(t) => format!("text of {} bytes", t.len()),
        Message::Binary(b) => format!("binary of {} bytes", b.len()),
        other => format!("{other:?}"),
    }
}

fn mismatch(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("FAIL: {what}"))
}

fn usage(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what}\nusage: h2_client URL [--ca CERT.pem]"),
    )
}

/// A connector that trusts the certificates in `path` alone.
#[cfg(feature = "rustls")]
fn trusting(path: &str) -> io::Result<wscore::tokio::Connector> {
    use wscore::tokio::rustls::RootCertStore;
    use wscore::tokio::rustls::pki_types::CertificateDer;
    use wscore::tokio::rustls::pki_types::pem::PemObject;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(io::Error::other)? {
        roots
            .add(cert.map_err(io::Error::other)?)
            .map_err(io::Error::other)?;
    }
    Ok(wscore::tokio::Connector::Rustls(
        wscore::tokio::client_config(roots),
    ))
}

#[cfg(not(feature = "rustls"))]
fn trusting(_path: &str) -> io::Result<wscore::tokio::Connector> {
    Err(usage("--ca needs the rustls feature"))
}
