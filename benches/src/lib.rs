//! What more than one benchmark in `benches/` uses; the benchmarks
//! themselves live there.

use std::io;

use tokio::net::TcpStream;
use wscore::tokio::{Options, WebSocket};
use wscore::{Config, Event};

/// Give the pages glibc's malloc keeps back to the kernel every
/// `interval`, from a thread of its own, for the life of the process.
///
/// Why: connections that were busy at the same moment (a burst of
/// messages, thousands of handshakes) allocated their working buffers
/// together and freed them when they went idle, but glibc keeps freed
/// memory in its free lists, and returns to the kernel only what lies at
/// the top of its heap: the process's resident size stays at the burst's
/// peak. `malloc_trim` releases every whole free page. Measured here
/// (BENCHMARKS.md): 8,000 idle connections that each
/// echoed one message with permessage-deflate hold 75 KiB each without it
/// and under 5 KiB with it. Elsewhere than glibc this does nothing.
pub fn spawn_malloc_trimmer(interval: std::time::Duration) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(interval);
            // SAFETY: `malloc_trim` takes no pointer and only walks glibc's
            // own free lists under its arena locks; any thread may call it at
            // any time.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    });
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = interval;
}

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

/// Which WebSocket module serves [`axum_echo`]'s handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AxumWs {
    /// `axum::extract::ws`: axum's own, on tokio-tungstenite.
    Builtin,
    /// `wscore::axum`, its drop-in.
    Wscore,
}

/// Serve an axum app on `listener` until it fails: the echo handler of
/// axum's docs (data messages only, as `examples/axum_echo.rs`) at `/`, on
/// `ws`. Every accepted connection gets `TCP_NODELAY`, as the benchmarks'
/// other servers do.
pub async fn axum_echo(listener: tokio::net::TcpListener, ws: AxumWs) -> io::Result<()> {
    use axum::routing::any;
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = match ws {
        AxumWs::Wscore => axum::Router::new().route("/", any(ours::handler)),
        AxumWs::Builtin => axum::Router::new().route("/", any(builtin::handler)),
    };
    axum::serve(listener, app).await
}

/// The handler, twice: the modules differ in their first line only.
mod ours {
    use axum::response::Response;
    use wscore::axum::{Message, WebSocket, WebSocketUpgrade};

    pub async fn handler(ws: WebSocketUpgrade) -> Response {
        ws.on_upgrade(echo)
    }

    async fn echo(mut socket: WebSocket) {
        while let Some(Ok(msg)) = socket.recv().await {
            if let Message::Text(_) | Message::Binary(_) = msg
                && socket.send(msg).await.is_err()
            {
                return;
            }
        }
    }
}

mod builtin {
    use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
    use axum::response::Response;

    pub async fn handler(ws: WebSocketUpgrade) -> Response {
        ws.on_upgrade(echo)
    }

    async fn echo(mut socket: WebSocket) {
        while let Some(Ok(msg)) = socket.recv().await {
            if let Message::Text(_) | Message::Binary(_) = msg
                && socket.send(msg).await.is_err()
            {
                return;
            }
        }
    }
}
