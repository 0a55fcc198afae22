//! Two WebSockets over one HTTP/2 connection (RFC 8441).
//!
//! `cargo run --features h2,rustls --example h2_client -- URL [LINE]`, e.g.
//! `wss://example.com/echo` (or `ws://` for HTTP/2 without TLS, prior
//! knowledge). Opens the connection once, then a WebSocket to the URL's
//! path twice on it, sends LINE (default `hello`) through each and prints
//! what comes back. A server that does not enable extended CONNECT is an
//! `Unsupported` error: such a server takes WebSockets on HTTP/1.1 only.

use wscore::tokio::h2::{Http2Client, Http2Options};
use wscore::tokio::{ConnectOptions, Message};
use wscore::{CloseCode, Config};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("usage: h2_client URL [LINE]");
    let line = args.next().unwrap_or_else(|| "hello".into());
    let session = Http2Client::connect(url.as_str(), &Http2Options::new()).await?;
    let config = Config::default();
    for n in 1..=2 {
        // The URL again: its path is the target, its authority the
        // connection's. Both sockets share the one connection.
        let (mut ws, _) = session
            .websocket(&url, &config, ConnectOptions::new())
            .await?;
        ws.send(Message::text(format!("{line} ({n})"))).await?;
        if let Some(reply) = ws.recv().await {
            println!("socket {n}: {:?}", reply?);
        }
        ws.close(CloseCode::NORMAL, "").await?;
    }
    Ok(())
}
