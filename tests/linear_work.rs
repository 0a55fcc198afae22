//! The receive path's work is linear in its input whatever the read size:
//! every input byte is copied in once, and `bytes_moved` (compaction and
//! fragment joining) stays within a constant factor of the input. Counted,
//! not timed, so the tests cannot flake on a busy machine.

mod common;

use common::*;
use proptest::prelude::*;
use wscore::{Config, Connection, Event};

/// Bytes moved per input byte, at most. The accounting: (a) each byte of a
/// fragment's payload is moved left onto its message at most once; (b)
/// moving the message so far right instead costs no more than the new
/// fragment's payload, charged to it once; (c) compaction moves no more live
/// bytes than the dead bytes it frees, and dead bytes (consumed frames and
/// headers) never add up to more than the input. So at most 3.
const MOVES_PER_INPUT_BYTE: u64 = 3;

/// Feed `wire` in reads of `read` bytes, draining events after each read
/// as a driver does. Returns (events, payload bytes delivered).
fn feed(conn: &mut Connection, wire: &[u8], read: usize) -> (usize, usize) {
    let (mut events, mut bytes) = (0, 0);
    let mut out = Vec::new();
    for piece in wire.chunks(read.max(1)) {
        conn.handle_input(t(0), piece);
        while let Some(e) = conn.poll_event() {
            events += 1;
            bytes += match e {
                Event::Text(t) => t.len(),
                Event::Binary(b) | Event::Ping(b) | Event::Pong(b) => b.len(),
                Event::TextFragment { data, .. } => data.len(),
                Event::BinaryFragment { data, .. } => data.len(),
                _ => 0,
            };
        }
        conn.poll_transmit(&mut out);
        out.clear();
    }
    (events, bytes)
}

fn big() -> Config {
    cfg(|c| {
        c.max_message_size = 64 << 20;
        c.max_frame_size = 64 << 20;
    })
}

/// Many empty frames: the drain that used to be quadratic (issue 8, item 1).
fn empty_frames(n: usize) -> Vec<u8> {
    let one = client_frame(0x82, b"");
    one.repeat(n)
}

/// A large message followed in the same stream by many empty Pings: each
/// Ping used to move the whole message.
fn message_then_pings(len: usize, pings: usize) -> Vec<u8> {
    let mut wire = client_frame(0x82, &vec![7; len]);
    wire.extend(client_frame(0x89, b"").repeat(pings));
    wire
}

/// A text message in many fragments with a Ping between every two.
fn fragments_with_pings(fragments: usize, size: usize) -> Vec<u8> {
    let mut wire = Vec::new();
    for i in 0..fragments {
        let b0 = match (i == 0, i + 1 == fragments) {
            (true, true) => 0x81,
            (true, false) => 0x01,
            (false, true) => 0x80,
            (false, false) => 0x00,
        };
        wire.extend(client_frame(b0, &vec![b'a' + (i % 26) as u8; size]));
        wire.extend(client_frame(0x89, b"p"));
    }
    wire
}

fn read_size() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..=64, 65usize..=65_536, 65_537usize..=(4 << 20)]
}

fn assert_linear(conn: &Connection, wire: &[u8], what: &str) {
    let moved = conn.bytes_moved();
    assert!(
        moved <= MOVES_PER_INPUT_BYTE * wire.len() as u64,
        "{what}: moved {moved} bytes for {} bytes of input",
        wire.len()
    );
}

#[test]
fn draining_queued_events_is_linear() {
    // 320k empty frames in one input, then one full drain: the case that
    // took seconds when every poll_event moved everything still queued.
    let wire = empty_frames(320_000);
    let mut s = server(&Config::default());
    let (events, _) = feed(&mut s, &wire, wire.len());
    assert_eq!(events, 320_000);
    assert_eq!(s.bytes_moved(), 0, "nothing is moved to hand out events");
}

#[test]
fn a_message_followed_by_pings_is_not_moved_per_ping() {
    let wire = message_then_pings(16 << 20, 10_000);
    let mut s = server(&big());
    let (events, bytes) = feed(&mut s, &wire, wire.len());
    assert_eq!((events, bytes), (10_001, 16 << 20));
    assert_eq!(s.bytes_moved(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn work_per_message_is_bounded_for_any_read_size(read in read_size(), which in 0usize..4) {
        let (wire, config, expect_events) = match which {
            0 => (empty_frames(200_000), Config::default(), 200_000),
            1 => (message_then_pings(4 << 20, 20_000), big(), 20_001),
            2 => (fragments_with_pings(2_000, 1_000), big(), 2_001),
            _ => (fragments_with_pings(500, 4_000), cfg(|c| {
                c.streaming = true;
                c.max_message_size = 64 << 20;
            }), 0),
        };
        let mut s = server(&config);
        let (events, _) = feed(&mut s, &wire, read);
        if expect_events > 0 {
            prop_assert_eq!(events, expect_events);
        }
        prop_assert!(!s.is_closed());
        assert_linear(&s, &wire, &format!("workload {which}, reads of {read}"));
    }

    #[test]
    fn any_chunking_gives_the_same_events_and_linear_work(
        sizes in prop::collection::vec(1usize..=70_000, 1..8),
        fragments in 1usize..40,
        size in 0usize..3_000,
    ) {
        let wire = fragments_with_pings(fragments, size);
        let mut whole = server(&big());
        let whole_events = {
            whole.handle_input(t(0), &wire);
            events(&mut whole)
        };
        let mut s = server(&big());
        let mut got = Vec::new();
        for piece in Chunking::Sizes(sizes).split(&wire) {
            s.handle_input(t(0), piece);
            got.extend(events(&mut s));
        }
        prop_assert_eq!(got, whole_events);
        assert_linear(&s, &wire, "random chunking");
    }
}
