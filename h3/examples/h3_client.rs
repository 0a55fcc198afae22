//! A WebSocket-over-HTTP/3 test client (RFC 9220) on quiche and wscore.
//!
//! `cargo run -p wscore-h3 --example h3_client -- [--insecure] [--no-deflate]
//! [--ca FILE] ADDR [AUTHORITY [PATH]]`, e.g. `127.0.0.1:4433 localhost /echo`.
//! Opens a WebSocket to an echo server, sends text and binary messages
//! (empty, small, 1 MiB, non-ASCII), a Ping, checks every echo byte for
//! byte, closes with 1000 and checks the server's close code. Prints one
//! line per check and exits 1 on the first mismatch. `--insecure` skips
//! the certificate check (throwaway test certificates only).

use std::net::SocketAddr;
use std::process::exit;
use std::time::Duration;

use wscore::{CloseCode, ClosedReason};
use wscore_h3::client::{ClientOptions, Message, WsClient};

const TIMEOUT: Duration = Duration::from_secs(20);

fn fail(what: &str) -> ! {
    eprintln!("h3_client: FAIL: {what}");
    exit(1);
}

fn main() {
    let mut options = ClientOptions::default();
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--insecure" => options.verify_peer = false,
            "--no-deflate" => options.ws.deflate.enabled = false,
            "--ca" => options.ca = Some(args.next().unwrap_or_else(|| fail("--ca needs a file"))),
            _ => positional.push(arg),
        }
    }
    let Some(addr) = positional.first() else {
        eprintln!(
            "usage: h3_client [--insecure] [--no-deflate] [--ca FILE] ADDR [AUTHORITY [PATH]]"
        );
        exit(2);
    };
    let addr: SocketAddr = addr
        .parse()
        .unwrap_or_else(|e| fail(&format!("{addr}: {e}")));
    let authority = positional
        .get(1)
        .cloned()
        .unwrap_or_else(|| "localhost".into());
    let path = positional.get(2).cloned().unwrap_or_else(|| "/".into());

    let mut ws = WsClient::connect(addr, &authority, &path, &options, TIMEOUT)
        .unwrap_or_else(|e| fail(&format!("connect: {e}")));
    println!(
        "h3_client: connected, permessage-deflate {}",
        if ws.deflate() { "agreed" } else { "not agreed" }
    );
    if let Err(e) = wscore_h3::client::exchange_checks(&mut ws, TIMEOUT) {
        fail(&e);
    }
    if let Err(e) = ws.close(CloseCode::NORMAL, "done") {
        fail(&format!("close: {e}"));
    }
    loop {
        match ws.next_message(TIMEOUT) {
            Ok(Message::Close(code, _)) if code == CloseCode::NORMAL => {
                println!("h3_client: server closed with {}", code.0);
            }
            Ok(Message::Close(code, reason)) => fail(&format!("close code {} ({reason})", code.0)),
            Ok(Message::Closed(ClosedReason::Clean { code })) if code == CloseCode::NORMAL => break,
            Ok(Message::Closed(reason)) => fail(&format!("ended: {reason}")),
            Ok(Message::Pong(_) | Message::Ping(_)) => {}
            Ok(other) => fail(&format!("unexpected after close: {other:?}")),
            Err(e) => fail(&format!("closing: {e}")),
        }
    }
    if let Err(e) = ws.shutdown(Duration::from_secs(2)) {
        fail(&format!("shutdown: {e}"));
    }
    println!("h3_client: PASS");
}
