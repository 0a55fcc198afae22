//! A chat room's fan-out: one message to every member, sent to each in
//! turn (`send_text`) against framed and compressed once
//! (`PreparedMessage` + `send_prepared`), in the same run so the ratio
//! holds on a noisy machine.
//!
//! `cargo bench -p wscore-benches --bench broadcast`
//!
//! `BROADCAST_MEMBERS` (default 1000) server `Connection`s in memory, each
//! accepted through the real handshake from a browser's offer
//! (`permessage-deflate; client_max_window_bits`), so they run what a
//! browser gets from our defaults: 13-bit windows, context kept. The
//! messages are chat lines of about 100 bytes and JSON messages of about
//! 4 KiB, 64 different ones of each taken in turn (so a member's kept
//! context helps `send_text` as it would in a room); each member's output
//! is drained into one buffer, as a driver writing to its socket would.
//! The same again without permessage-deflate.
//!
//! Printed, per row: whole broadcasts per second, bytes allocated per
//! broadcast (a counting allocator: every byte asked of it, freed or not,
//! preparing the message included), and payload bytes on the wire per
//! member. Each cell runs for about [`CELL_TIME`] after two warm-up
//! broadcasts, so the whole run takes seconds.

#[path = "../../tests/common/counting.rs"]
mod counting;

use std::hint::black_box;
use std::time::{Duration, Instant};

use wscore::handshake::server::{Accept, ServerHandshake};
use wscore::handshake::{HandshakeLimits, Status};
use wscore::{Config, Connection, PreparedMessage};
use wscore_benches::env_usize;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// How long each cell of the table runs, after its warm-up.
const CELL_TIME: Duration = Duration::from_millis(600);

/// A server connection accepted from a browser's request, deflate offered
/// as Chrome and Firefox offer it.
fn member(config: &Config) -> Connection {
    let request = "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
    let mut hs = ServerHandshake::new(HandshakeLimits::default());
    let Ok(Status::Complete((req, _))) = hs.handle_input(request.as_bytes()) else {
        panic!("a browser's request is complete and valid");
    };
    let mut answer = Vec::new();
    let (conn, _) = req
        .accept(
            &Accept::new(),
            config,
            wscore::Instant::ZERO,
            &[],
            &mut answer,
        )
        .expect("the request is accepted");
    let head = String::from_utf8_lossy(&answer);
    assert_eq!(
        head.contains("permessage-deflate"),
        config.deflate.enabled,
        "deflate agreed as configured: {head}"
    );
    conn
}

/// 64 different messages of about `len` bytes: chat-like JSON, a user, a
/// counter and words from a small vocabulary, as a room's traffic is.
fn messages(len: usize) -> Vec<String> {
    const WORDS: &[&str] = &[
        "hello", "everyone", "the", "meeting", "starts", "at", "noon", "see", "you", "there",
        "thanks", "ok", "sounds", "good", "what", "about", "tomorrow", "lunch", "coffee", "?",
    ];
    let mut x = 0x9e37_79b9_u32;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as usize
    };
    (0..64)
        .map(|i| {
            let mut m = format!(
                "{{\"room\":\"general\",\"from\":\"user{}\",\"seq\":{i},\"text\":\"",
                rnd() % 500
            );
            while m.len() < len - 2 {
                m.push_str(WORDS[rnd() % WORDS.len()]);
                m.push(' ');
            }
            m.truncate(len - 2);
            m.push_str("\"}");
            m
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Way {
    EachInTurn,
    Prepared,
}

/// One broadcast of `text` to every member, drained into `out`; returns
/// the bytes put on the wire.
fn broadcast(members: &mut [Connection], text: &str, way: Way, out: &mut Vec<u8>) -> usize {
    let mut wire = 0;
    match way {
        Way::EachInTurn => {
            for m in members.iter_mut() {
                m.send_text(text).expect("members are open");
                wire += m.poll_transmit(out);
                black_box(&out);
                out.clear();
            }
        }
        Way::Prepared => {
            let prepared = PreparedMessage::text(text);
            for m in members.iter_mut() {
                m.send_prepared(&prepared).expect("members are open");
                wire += m.poll_transmit(out);
                black_box(&out);
                out.clear();
            }
        }
    }
    wire
}

struct Cell {
    per_sec: f64,
    alloc_bytes: f64,
    wire_per_member: f64,
}

fn cell(members: &mut [Connection], msgs: &[String], way: Way) -> Cell {
    let mut out = Vec::new();
    let mut next = 0;
    for _ in 0..2 {
        broadcast(members, &msgs[next % msgs.len()], way, &mut out);
        next += 1;
    }
    let (start, bytes_before) = (Instant::now(), counting::allocated_bytes());
    let (mut n, mut wire) = (0usize, 0usize);
    while n < 3 || start.elapsed() < CELL_TIME {
        wire += broadcast(members, &msgs[next % msgs.len()], way, &mut out);
        next += 1;
        n += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    Cell {
        per_sec: n as f64 / secs,
        alloc_bytes: (counting::allocated_bytes() - bytes_before) as f64 / n as f64,
        wire_per_member: wire as f64 / (n * members.len()) as f64,
    }
}

fn main() {
    let n = env_usize("BROADCAST_MEMBERS", 1000);
    println!("broadcast to {n} members, wscore server connections in memory\n");
    println!(
        "| deflate | message | way | broadcasts/s | ratio | bytes allocated / broadcast | wire bytes / member |"
    );
    println!("|---|---|---|---:|---:|---:|---:|");
    for deflate in [true, false] {
        let config = {
            let mut c = Config::default();
            c.deflate.enabled = deflate;
            c
        };
        for (name, len) in [("~100 B chat line", 100), ("~4 KiB", 4096)] {
            let msgs = messages(len);
            // Fresh members per way, so neither inherits the other's
            // compressor history.
            let mut rows = Vec::new();
            for way in [Way::EachInTurn, Way::Prepared] {
                let mut members: Vec<Connection> = (0..n).map(|_| member(&config)).collect();
                rows.push((way, cell(&mut members, &msgs, way)));
            }
            let base = rows[0].1.per_sec;
            for (way, c) in rows {
                println!(
                    "| {} | {name} | {} | {:.0} | {:.2}x | {:.0} | {:.1} |",
                    if deflate {
                        "13-bit, context kept"
                    } else {
                        "off"
                    },
                    if way == Way::Prepared {
                        "`send_prepared`"
                    } else {
                        "`send_text` each"
                    },
                    c.per_sec,
                    c.per_sec / base,
                    c.alloc_bytes,
                    c.wire_per_member,
                );
            }
        }
    }
}
