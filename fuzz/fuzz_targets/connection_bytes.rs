//! Arbitrary bytes, in arbitrary chunks, into a server and a client
//! connection.
//!
//! Invariants: no panic; memory stays within a bound set by the configured
//! limits and the chunk size; every Close on the wire carries a sendable
//! code and is the last frame; exactly one terminal event, and it is last;
//! a connection the input step ended reports its end in the same drain.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscore::{Config, Connection, Event, Instant};
use wscore_fuzz::check_wire;

const MAX_MESSAGE: u64 = 4096;

fn config(streaming: bool) -> Config {
    let mut c = Config::default();
    c.max_frame_size = 2048;
    c.max_message_size = MAX_MESSAGE;
    c.streaming = streaming;
    c
}

fn run(mut conn: Connection, data: &[u8], chunk: usize) {
    let mut wire = Vec::new();
    let mut closed = 0;
    for piece in data.chunks(chunk) {
        conn.handle_input(Instant::ZERO, piece);
        let ended = conn.is_closed();
        // Bounded: the message in progress and one chunk of input, with
        // geometric growth; the queue of parsed events (at most a batch of
        // 256 descriptions, 32 bytes with growth slack, and control
        // payloads copied aside, no more than the chunk); the output keeps
        // at most what the largest drain swapped in (16 KiB here), a Close
        // and the automatic Pongs' budget.
        let cap = MAX_MESSAGE as usize;
        let queue = 256 * 32 + 64 + piece.len();
        let bound = 2 * (cap + cap / 8 + 4096 + piece.len()) + queue + 16 * 1024 + 2048;
        assert!(
            conn.heap_usage() <= bound,
            "{} > {bound}",
            conn.heap_usage()
        );
        while let Some(e) = conn.poll_event() {
            assert_eq!(closed, 0, "an event after Closed");
            if let Event::Closed(_) = e {
                closed += 1;
            }
        }
        assert!(!ended || closed == 1, "is_closed() without Event::Closed");
        conn.poll_transmit(&mut wire);
    }
    conn.handle_eof(Instant::ZERO);
    while let Some(e) = conn.poll_event() {
        assert_eq!(closed, 0, "an event after Closed");
        if let Event::Closed(_) = e {
            closed += 1;
        }
    }
    conn.poll_transmit(&mut wire);
    assert_eq!(closed, 1, "exactly one terminal event");
    check_wire(&wire, conn.role());
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, data)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(sel >> 2) + 1;
    let streaming = sel & 1 != 0;
    if sel & 2 == 0 {
        run(
            Connection::server(&config(streaming), Instant::ZERO),
            data,
            chunk,
        );
    } else {
        run(
            Connection::client(&config(streaming), Instant::ZERO, || [7, 7, 7, 7]),
            data,
            chunk,
        );
    }
});
