//! Tokio sockets over an in-memory duplex pipe on tokio's paused clock,
//! for the driver's tests (included with `#[path]` by the tests that need
//! the `tokio` feature, so the core's tests never depend on it).

use std::future::Future;
use std::io;

use tokio::io::{DuplexStream, duplex};
use wscore::Config;
use wscore::handshake::client::ClientRequest;
use wscore::tokio::{Options, WebSocket};

/// Run `f` on a current-thread runtime whose clock is paused: timers fire
/// as soon as every task waits, so the tests take no real time.
pub fn run<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds")
        .block_on(f)
}

/// Mask keys from a counter: deterministic, and different per frame.
pub fn counter_mask() -> impl FnMut() -> [u8; 4] + Send + 'static {
    let mut n = 0u32;
    move || {
        n = n.wrapping_add(0x9e37_79b9);
        n.to_le_bytes()
    }
}

/// The client's handshake on `io`.
pub async fn connect(io: DuplexStream, config: &Config) -> io::Result<WebSocket<DuplexStream>> {
    let request = ClientRequest::new("localhost", [7; 16]).target("/echo");
    let (ws, _response) =
        WebSocket::connect(io, &request, counter_mask(), config, Options::default()).await?;
    Ok(ws)
}

/// A client and a server over a pipe of `capacity` bytes each way, the
/// server with `config` and `options`, the client with the defaults.
pub async fn pair(
    capacity: usize,
    config: Config,
    options: Options,
) -> (WebSocket<DuplexStream>, WebSocket<DuplexStream>) {
    let (a, b) = duplex(capacity);
    let server = tokio::spawn(async move { WebSocket::accept(b, &config, options).await });
    let client = connect(a, &Config::default())
        .await
        .expect("the client connects");
    let server = server
        .await
        .expect("the server task runs")
        .expect("the server accepts");
    (client, server)
}
