//! What a hostile peer costs: drain throughput for floods of empty frames
//! at several read sizes, a large message with many Pings behind it, peak
//! heap for a message at the cap, and the transmit queue under a Ping flood
//! that the application never writes out.
//!
//! `cargo bench -p wscore-benches --bench hostile`
//!
//! It uses only API that predates the in-place receive path, so the same
//! file measures an older commit for a before/after comparison. Times are
//! wall-clock on a shared machine: compare rows of one run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::time::{Duration, Instant as Clock};

use wscore::frame::{FrameHeader, Opcode, append_masked};
use wscore::{Config, Connection, Instant};

/// Live and peak heap, for the peak-memory rows (this bench is one thread).
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(by: isize) {
    let now = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every method forwards its arguments unchanged to the system
// allocator; the counting only touches atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size() as isize);
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        grew(-(layout.size() as isize));
        // SAFETY: `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size as isize - layout.size() as isize);
        // SAFETY: `ptr` came from `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn peak_during(f: impl FnOnce()) -> usize {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    f();
    (PEAK.load(Relaxed) - base).max(0) as usize
}

const MIB: usize = 1 << 20;

fn frame(opcode: Opcode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let key = [0x11, 0x22, 0x33, 0x44];
    let h = FrameHeader {
        fin,
        mask: Some(key),
        ..FrameHeader::new(opcode, payload.len() as u64)
    };
    let mut out = Vec::new();
    h.encode_to_vec(&mut out);
    append_masked(&mut out, payload, key, 0);
    out
}

fn config(cap: usize) -> Config {
    let mut c = Config::default();
    c.max_message_size = cap as u64;
    c.max_frame_size = cap as u64;
    c
}

/// Feed `wire` in `read`-sized pieces, draining events after each; returns
/// the events seen and the time taken.
fn drain(conn: &mut Connection, wire: &[u8], read: usize) -> (usize, Duration) {
    let now = Instant::ZERO;
    let mut events = 0;
    let mut out = Vec::new();
    let start = Clock::now();
    for piece in wire.chunks(read) {
        conn.handle_input(now, piece);
        while let Some(e) = conn.poll_event() {
            std::hint::black_box(&e);
            events += 1;
        }
        conn.poll_transmit(&mut out);
        out.clear();
    }
    (events, start.elapsed())
}

fn main() {
    // Criterion-style flags from `cargo bench` are ignored.
    println!("| measurement | figure |");
    println!("|---|---:|");

    // Item 1: draining floods of empty frames, 16 MiB of them.
    let empty = frame(Opcode::Binary, true, b"");
    let flood = empty.repeat(16 * MIB / empty.len());
    for read in [4 << 10, 64 << 10, MIB] {
        let mut s = Connection::server(&Config::default(), Instant::ZERO);
        let (events, took) = drain(&mut s, &flood, read);
        assert_eq!(events, flood.len() / empty.len());
        println!(
            "| 16 MiB of empty frames, reads of {} KiB: drain | {:.1} MB/s, {:.0} ns/event |",
            read >> 10,
            flood.len() as f64 / took.as_secs_f64() / 1e6,
            took.as_nanos() as f64 / events as f64
        );
    }

    // Item 1: a 16 MiB message and 10,000 empty Pings behind it, one read.
    let mut wire = frame(Opcode::Binary, true, &vec![7; 16 * MIB]);
    wire.extend(frame(Opcode::Ping, true, b"").repeat(10_000));
    let mut s = Connection::server(&config(16 * MIB), Instant::ZERO);
    let (events, took) = drain(&mut s, &wire, wire.len());
    assert_eq!(events, 10_001);
    println!(
        "| 16 MiB message + 10,000 empty Pings in one read: drain | {:.1} ms |",
        took.as_secs_f64() * 1e3
    );

    // Item 4: peak heap for a message of exactly the cap (16 MiB), 64 KiB reads.
    let cap = 16 * MIB;
    let whole = frame(Opcode::Binary, true, &vec![1; cap]);
    let mut fragmented = Vec::new();
    let chunks: Vec<&[u8]> = whole[14..].chunks(64 << 10).collect();
    let payload = vec![1u8; cap];
    for (i, piece) in payload.chunks(64 << 10).enumerate() {
        let op = if i == 0 {
            Opcode::Binary
        } else {
            Opcode::Continuation
        };
        fragmented.extend(frame(op, i + 1 == chunks.len(), piece));
    }
    let mut with_ping = whole.clone();
    with_ping.extend(frame(Opcode::Ping, true, b""));
    let mut ping_first = frame(Opcode::Ping, true, b"");
    ping_first.extend(&whole);
    for (name, wire) in [
        ("one frame", &whole),
        ("64 KiB fragments", &fragmented),
        ("one frame + an empty Ping behind it", &with_ping),
        ("an empty Ping, then the message, in one read", &ping_first),
    ] {
        let read = if name.contains("one read") {
            wire.len()
        } else {
            64 << 10
        };
        let mut s = Connection::server(&config(cap), Instant::ZERO);
        let peak = peak_during(|| {
            let (events, _) = drain(&mut s, wire, read);
            assert!(events >= 1);
        });
        println!(
            "| peak heap, 16 MiB message at the cap, {name} | {:.2} MiB ({:.2}x the cap) |",
            peak as f64 / MIB as f64,
            peak as f64 / cap as f64
        );
    }

    // Item 5: 100 MiB of 125-byte Pings, events drained, output never written.
    let ping = frame(Opcode::Ping, true, &[9; 125]);
    let pings = ping.repeat(100 * MIB / ping.len());
    let mut s = Connection::server(&Config::default(), Instant::ZERO);
    let now = Instant::ZERO;
    for piece in pings.chunks(64 << 10) {
        s.handle_input(now, piece);
        while s.poll_event().is_some() {}
    }
    println!(
        "| 100 MiB of Pings, transmit never drained: queued | {:.2} KiB |",
        s.pending_transmit() as f64 / 1024.0
    );
}
