//! axum's echo server on `wscore::axum`: `cargo run --example axum_echo [PORT]`.
use axum::{Router, response::Response, routing::any};
use wscore::axum::{Message, WebSocket, WebSocketUpgrade};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::args().nth(1).or(std::env::var("PORT").ok());
    let addr = format!("127.0.0.1:{}", port.as_deref().unwrap_or("9003"));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on ws://{}/ws", listener.local_addr()?);
    axum::serve(listener, Router::new().route("/ws", any(handler))).await
}

async fn handler(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(echo)
}

async fn echo(mut socket: WebSocket) {
    while let Some(Ok(msg)) = socket.recv().await {
        // Data only: Pings are answered already, and an echoed Pong would
        // be one the peer never asked for (Autobahn 2.7 checks this).
        if let Message::Text(_) | Message::Binary(_) = msg {
            if socket.send(msg).await.is_err() {
                return;
            }
        }
    }
}
