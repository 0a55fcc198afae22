//! An echo server on the tokio driver, a task per connection.
//!
//! `cargo run --release --features tokio --example tokio_echo -- [ADDR]`
//! (default `127.0.0.1:9002`). Echoes every message with the same type,
//! from the borrowed payload; pings an idle client every 30 s and drops one
//! that stays silent 30 s more. An idle connection holds no buffer (the
//! driver's and the connection's are given back after a second without
//! traffic), and a thread hands the memory glibc keeps back to the kernel
//! every 2 s (`common::spawn_malloc_trimmer`).

mod common;

use std::io::Write;
use std::time::Duration;

use tokio::net::TcpListener;
use wscore::Config;
use wscore::tokio::{Options, WebSocket};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:9002".into());
    // The defaults: keepalive (a Ping after 30 s of silence, dropped 30 s
    // later), a minute for a started message, buffers given back after a
    // second without traffic.
    let config = Config::default();
    common::spawn_malloc_trimmer(Duration::from_secs(2));
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    // Out of descriptors, the loop pauses and accepts again later; the
    // connections it has are served meanwhile (`common::accept_loop_tokio`).
    common::accept_loop_tokio(&listener, |stream| {
        // Only latency depends on it; a socket that refuses it still works.
        let _ = stream.set_nodelay(true);
        let config = config.clone();
        tokio::spawn(async move {
            let mut ws = WebSocket::accept(stream, &config, Options::default()).await?;
            common::echo_tokio(&mut ws).await
        });
    })
    .await
}
