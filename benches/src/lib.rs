//! What more than one benchmark in `benches/` uses; the benchmarks
//! themselves live there.

use std::io;

use tokio::net::TcpStream;
use wscore::tokio::{Options, WebSocket};
use wscore::{Config, Event};

/// The environment variable `name` as a number, or `default` when it is
/// unset or not a number.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// wscore's echo server connection, as `examples/tokio_echo.rs` (without
/// its keepalive): the tokio driver with the default `Config` and
/// `Options`, echoing every message with its type from the borrowed
/// payload.
pub async fn wscore_echo(stream: TcpStream) -> io::Result<()> {
    let mut ws = WebSocket::accept(stream, &Config::default(), Options::default()).await?;
    while let Some(sent) = ws
        .recv_with(|event, mut tx| match event {
            Event::Text(text) => tx.send_text(text),
            Event::Binary(data) => tx.send_binary(data),
            _ => Ok(()),
        })
        .await
    {
        sent??;
    }
    Ok(())
}
