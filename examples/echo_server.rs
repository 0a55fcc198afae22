//! An echo server over `std::net`, a thread per connection.
//!
//! `cargo run --release --example echo_server -- [ADDR]` (default
//! `127.0.0.1:9001`). Echoes every text and binary message with the same
//! type, answers pings, completes the close handshake, pings a silent
//! client after 30 s and drops it 30 s later, and cuts a message that has
//! not finished within 60 s. This is the testee for the Autobahn
//! fuzzingclient run.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

use wscore::Config;

/// Each connection's thread stack. Buffers live on the heap, so the 2 MiB
/// default is mostly unused; a small one lets more connections fit in the
/// address space and in a memory limit.
const STACK_SIZE: usize = 256 << 10;

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let listener = match TcpListener::bind(&addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot bind {addr}: {e}");
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().map_or(addr, |a| a.to_string());
    // Idle connections give their buffers back; this gives the pages
    // glibc keeps back to the kernel.
    common::spawn_malloc_trimmer(Duration::from_secs(2));
    println!("listening on {local}");
    let _ = std::io::stdout().flush();

    // Crate defaults (a started message must finish within 60 s, a Ping
    // after 30 s of silence and a peer silent 30 s more, gone without a
    // FIN, dropped and its thread freed), except messages of up to 64 MiB
    // (Autobahn 9.x sends 16 MiB messages).
    let mut config = Config::default();
    config.max_message_size = 64 << 20;

    // Out of descriptors or threads, the loop pauses and accepts again
    // later, and the connections it has are served meanwhile
    // (`common::accept_loop`); a connection that gets no thread is closed.
    common::accept_loop(&listener, |mut stream| {
        let config = config.clone();
        // A misbehaving connection only ever ends its own thread.
        std::thread::Builder::new()
            .stack_size(STACK_SIZE)
            .spawn(move || {
                let _ = stream.set_nodelay(true);
                let peer = stream
                    .peer_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                match common::accept(&mut stream, &config) {
                    Ok(mut conn) => match common::echo(&mut stream, &mut conn) {
                        Ok(reason) if reason.is_clean() => {}
                        Ok(reason) => eprintln!("{peer}: {reason}"),
                        Err(e) => eprintln!("{peer}: {e}"),
                    },
                    Err(e) => eprintln!("{peer}: handshake failed: {e}"),
                }
            })
            // Detached: the thread ends with its connection. An error (no
            // thread to be had) drops the closure, and the socket with it.
            .map(drop)
    })
}
