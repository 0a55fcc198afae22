//! A WebSocket-over-HTTP/3 echo server (RFC 9220) on quiche and wscore.
//!
//! `cargo run -p wscore-h3 --example h3_echo -- ADDR CERT KEY`, e.g.
//! `127.0.0.1:4433 cert.pem key.pem` (PEM files; port 0 picks a free
//! one). Prints `listening on ADDR` once the socket is bound. Echoes text
//! and binary messages on every extended CONNECT stream with `:protocol
//! websocket`, answers Pings, completes the close handshake by finishing
//! the stream, agrees permessage-deflate when offered, and refuses other
//! requests with 400 or 405. At most 64 QUIC connections of 16 streams
//! each; a connection silent for 60 s (wscore pings a WebSocket silent for 30 s) is closed. Runs until killed.

use std::io::Write;
use std::sync::atomic::AtomicBool;

use wscore_h3::server::{Server, ServerConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, cert, key] = args.as_slice() else {
        eprintln!("usage: h3_echo ADDR CERT KEY");
        std::process::exit(2);
    };
    // Messages of up to 64 MiB, as the TCP echo server allows; the
    // rest is wscore's default Config (permessage-deflate on).
    let mut config = ServerConfig::new(cert.as_str(), key.as_str());
    config.ws.max_message_size = 64 << 20;
    let mut server = match Server::bind(addr, config) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("cannot start on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!("listening on {}", server.local_addr());
    let _ = std::io::stdout().flush();
    let stop = AtomicBool::new(false);
    if let Err(e) = server.run(&stop) {
        eprintln!("server: {e}");
        std::process::exit(1);
    }
}
