//! What an idle WebSocket costs behind `axum::serve` over HTTP/2 against
//! HTTP/1.1, with `wscore::axum` on the server and the crate's clients on
//! the same thread, measured with the counting allocator (client and server
//! together, per pair). Over HTTP/2 hyper's upgraded stream keeps the last
//! DATA chunk it handed out (an emptied `Bytes` that still holds its share
//! of the connection's read buffer; hyper 1.12, `proto/h2/upgrade.rs`), so
//! the cost there follows the last message's size, where our own client's
//! `H2Stream` lets go of it. Measured: 3.6 KB per pair over HTTP/1.1 either
//! way; over HTTP/2 4.8 KB after a chat line and 12.8 KB after a 40 KB
//! message. The tests print the figures and bound them.

#[path = "common/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::response::Response;
use axum::routing::any;
use tokio::net::TcpListener;
use wscore::Config;
use wscore::axum::{WebSocket, WebSocketUpgrade};
use wscore::extension::deflate::DeflateConfig;
use wscore::tokio::h2::{Http2Client, Http2Options};
use wscore::tokio::{ConnectOptions, Message, WebSocket as Client, connect_with};

const SOCKETS: isize = 50;

/// The config of both ends: no deflate (its windows would dwarf what is
/// measured), buffers released after 20 ms idle.
fn config() -> Config {
    let mut config = Config::default();
    config.deflate = DeflateConfig::DISABLED;
    config.buffer_release = Some(Duration::from_millis(20));
    config
}

async fn handler(ws: WebSocketUpgrade) -> Response {
    ws.config(config()).on_upgrade(echo)
}

async fn echo(mut socket: WebSocket) {
    while let Some(Ok(msg)) = socket.recv().await {
        if socket.send(msg).await.is_err() {
            return;
        }
    }
}

async fn serve() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/ws", any(handler));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Exchange `message` on each socket, let every end (ours and the
/// server's tasks, all on this thread) pass its idle release, and return
/// the heap held per client+server pair.
async fn idle_cost<S>(sockets: &mut [Client<S>], before: isize, message: &Message) -> isize
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    for ws in sockets.iter_mut() {
        ws.send(message.clone()).await.unwrap();
        ws.recv().await.unwrap().unwrap();
    }
    for _ in 0..13 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        for ws in sockets.iter_mut() {
            let _ = tokio::time::timeout(Duration::from_millis(1), ws.recv()).await;
        }
    }
    (counting::live() - before) / SOCKETS
}

/// Open [`SOCKETS`] WebSockets over HTTP/1.1 (a connection each) and over
/// one HTTP/2 connection, exchange `message` on each, and return the idle
/// heap per pair for both.
async fn both(message: Message) -> (isize, isize) {
    let addr = serve().await;
    // Warm up what is made once (the server's tasks, h2's tables).
    let url = format!("ws://{addr}/ws");
    drop(
        connect_with(url.as_str(), &config(), ConnectOptions::new())
            .await
            .unwrap(),
    );

    let before = counting::live();
    let mut h1 = Vec::new();
    for _ in 0..SOCKETS {
        let (ws, _) = connect_with(url.as_str(), &config(), ConnectOptions::new())
            .await
            .unwrap();
        h1.push(ws);
    }
    let over_h1 = idle_cost(&mut h1, before, &message).await;
    drop(h1);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let session = Http2Client::connect(url.as_str(), &Http2Options::new())
        .await
        .unwrap();
    let before = counting::live();
    let mut h2 = Vec::new();
    for _ in 0..SOCKETS {
        let (ws, _) = session
            .websocket("/ws", &config(), ConnectOptions::new())
            .await
            .unwrap();
        h2.push(ws);
    }
    let over_h2 = idle_cost(&mut h2, before, &message).await;
    (over_h1, over_h2)
}

/// After a chat line each way, HTTP/2 costs about what HTTP/1.1 does: the
/// chunk hyper keeps is as small as what arrived.
#[tokio::test]
async fn after_a_chat_line_an_idle_websocket_over_http2_costs_about_what_http1_does() {
    let (over_h1, over_h2) = both(Message::text("a line of chat, about this long")).await;
    println!(
        "idle pair after a chat line, behind axum::serve: HTTP/1.1 {over_h1} B, HTTP/2 {over_h2} B"
    );
    assert!(over_h1 < 8 << 10, "HTTP/1.1: {over_h1} bytes per idle pair");
    assert!(over_h2 < 8 << 10, "HTTP/2: {over_h2} bytes per idle pair");
}

/// After a 40 KB message, the chunk hyper keeps for each stream is a share
/// of h2's read buffer that HTTP/1.1 does not hold: still far below a
/// read buffer per connection.
#[tokio::test]
async fn after_a_large_message_an_idle_http2_websocket_holds_hyper_s_last_chunk() {
    let (over_h1, over_h2) = both(Message::binary(vec![5; 40_000])).await;
    println!(
        "idle pair after a 40 KB message, behind axum::serve: HTTP/1.1 {over_h1} B, HTTP/2 {over_h2} B"
    );
    assert!(over_h1 < 8 << 10, "HTTP/1.1: {over_h1} bytes per idle pair");
    assert!(over_h2 < 32 << 10, "HTTP/2: {over_h2} bytes per idle pair");
}
