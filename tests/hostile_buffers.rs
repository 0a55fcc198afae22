//! Hostile review of the activity-following buffers and the direct receive
//! path (`recv/buffer.rs::append_direct`): any chunking, with or without
//! draining, through `handle_input` or `input_buffer`/`commit_input`, with
//! the release timer and `release_buffers` at any point, must give the same
//! events and the same transmitted bytes as the wire fed in one piece
//! through `input_buffer` (which never takes the direct path).

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use wscore::{Config, Connection};

const SIZES: &[usize] = &[
    0, 1, 2, 125, 126, 127, 1022, 1023, 1024, 1025, 1026, 4096, 16383, 16384, 16385, 32769,
];

#[derive(Clone, Debug)]
enum Ctl {
    Ping(usize),
    Pong(usize),
}

#[derive(Clone, Debug)]
enum Item {
    /// A data message: text?, fragment lengths, an invalid UTF-8 byte at
    /// this offset of the payload (text only), controls after fragment i.
    Msg {
        text: bool,
        frags: Vec<usize>,
        bad: Option<usize>,
        ctls: Vec<(usize, Ctl)>,
    },
    Ctl(Ctl),
    /// Raw hostile frames: 0 a stray continuation, 1 RSV1 data frame without
    /// deflate, 2 a Close with code 1000, 3 a large text frame inside a
    /// message (ExpectedContinuation).
    Raw(u8, usize),
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => proptest::sample::select(SIZES.to_vec()),
        1 => 0usize..3000,
    ]
}

fn ctl() -> impl Strategy<Value = Ctl> {
    prop_oneof![
        (0usize..126).prop_map(Ctl::Ping),
        (0usize..126).prop_map(Ctl::Pong)
    ]
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        6 => (
            any::<bool>(),
            proptest::collection::vec(size(), 1..4),
            proptest::option::weighted(0.3, any::<proptest::sample::Index>()),
            proptest::collection::vec((0usize..4, ctl()), 0..3),
            any::<bool>(),
        )
            .prop_map(|(text, frags, bad, ctls, edge)| {
                let total: usize = frags.iter().sum();
                let bad = bad.filter(|_| text && total > 0).map(|i| {
                    // Bias toward the 16 KiB step and fragment edges.
                    let edges: Vec<usize> = [16383usize, 16384, 16385, 1023, 1024, total - 1]
                        .into_iter()
                        .chain(frags.iter().scan(0, |a, f| {
                            *a += f;
                            Some(a.saturating_sub(1))
                        }))
                        .filter(|&e| e < total)
                        .collect();
                    if edge && !edges.is_empty() {
                        edges[i.index(edges.len())]
                    } else {
                        i.index(total)
                    }
                });
                Item::Msg { text, frags, bad, ctls }
            }),
        1 => ctl().prop_map(Item::Ctl),
        1 => (0u8..4, proptest::sample::select(vec![0usize, 10, 1023, 1024, 2000]))
            .prop_map(|(k, n)| Item::Raw(k, n)),
    ]
}

/// Valid UTF-8 of exactly `n` bytes with multi-byte characters throughout.
fn text_bytes(n: usize, seed: usize) -> Vec<u8> {
    let chars = ["a", "\u{e9}", "\u{20ac}", "\u{1f600}"];
    let mut out = Vec::with_capacity(n);
    let mut i = seed;
    while out.len() < n {
        let c = chars[i % 4].as_bytes();
        if out.len() + c.len() > n {
            out.push(b'z');
        } else {
            out.extend_from_slice(c);
        }
        i = i.wrapping_mul(7).wrapping_add(3);
    }
    out
}

fn ctl_frame(c: &Ctl) -> Vec<u8> {
    match c {
        Ctl::Ping(n) => client_frame(0x89, &vec![0x50; *n]),
        Ctl::Pong(n) => client_frame(0x8A, &vec![0x51; *n]),
    }
}

fn wire(items: &[Item]) -> Vec<u8> {
    let mut w = Vec::new();
    for (k, it) in items.iter().enumerate() {
        match it {
            Item::Msg {
                text,
                frags,
                bad,
                ctls,
            } => {
                let total: usize = frags.iter().sum();
                let mut payload = if *text {
                    text_bytes(total, k)
                } else {
                    (0..total).map(|i| (i * 31 + k) as u8).collect()
                };
                if let Some(b) = bad {
                    payload[*b] = 0xFF;
                }
                let mut at = 0;
                for (i, f) in frags.iter().enumerate() {
                    let fin = i + 1 == frags.len();
                    let op = if i > 0 {
                        0
                    } else if *text {
                        1
                    } else {
                        2
                    };
                    let b0 = op | if fin { 0x80 } else { 0 };
                    w.extend(client_frame(b0, &payload[at..at + f]));
                    at += f;
                    for (after, c) in ctls {
                        if *after == i && !fin {
                            w.extend(ctl_frame(c));
                        }
                    }
                }
            }
            Item::Ctl(c) => w.extend(ctl_frame(c)),
            Item::Raw(0, n) => w.extend(client_frame(0x80, &vec![1; *n])),
            Item::Raw(1, n) => w.extend(client_frame(0xC2, &vec![2; *n])),
            Item::Raw(2, _) => w.extend(client_frame(0x88, &[0x03, 0xE8, b'o', b'k'])),
            Item::Raw(_, n) => {
                w.extend(client_frame(0x02, &[3; 5]));
                w.extend(client_frame(0x81, &vec![b'x'; *n]));
            }
        }
    }
    w
}

fn config(max: Option<u64>, streaming: bool) -> Config {
    cfg(|c| {
        if let Some(m) = max {
            c.max_message_size = m;
            c.max_frame_size = c.max_frame_size.max(m);
        }
        c.streaming = streaming;
        c.buffer_release = Some(Duration::from_millis(1));
        // Byte-at-a-time reads 2 ms apart take minutes of virtual time:
        // the message deadline (tests/deadlines.rs) would end them.
        c.message_timeout = None;
    })
}

/// The reference: the whole wire through `input_buffer`/`commit_input`
/// (the general path only), then every event, EOF, and the transmit queue.
fn reference(config: &Config, wire: &[u8]) -> (Vec<Ev>, Vec<u8>) {
    reference_on(server(config), wire)
}

fn reference_on(mut conn: Connection, wire: &[u8]) -> (Vec<Ev>, Vec<u8>) {
    let mut rest = wire;
    while !rest.is_empty() {
        let buf = conn.input_buffer(rest.len());
        let n = buf.len().min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        conn.commit_input(t(0), n);
        rest = &rest[n..];
    }
    finish(conn, t(0), Vec::new())
}

fn finish(mut conn: Connection, now: wscore::Instant, mut evs: Vec<Ev>) -> (Vec<Ev>, Vec<u8>) {
    evs.extend(events(&mut conn));
    conn.handle_eof(now);
    evs.extend(events(&mut conn));
    (evs, transmit(&mut conn))
}

#[derive(Clone, Debug)]
struct Op {
    read: usize,
    lent: bool,
    drain: bool,
    /// 0 nothing, 1 advance the clock past the release period and fire
    /// timers, 2 release_buffers, 3 both.
    timer: u8,
}

fn op() -> impl Strategy<Value = Op> {
    (
        prop_oneof![
            1usize..8,
            proptest::sample::select(vec![
                125usize,
                1023,
                1024,
                1025,
                1030,
                4096,
                16384,
                16390,
                65536,
                4 << 20
            ]),
            1usize..40000,
        ],
        any::<bool>(),
        proptest::bool::weighted(0.7),
        0u8..4,
    )
        .prop_map(|(read, lent, drain, timer)| Op {
            read,
            lent,
            drain,
            timer,
        })
}

/// Feed `wire` as `ops` say (cycling); returns the events, transmit, and
/// bytes moved.
fn chunked(config: &Config, wire: &[u8], ops: &[Op]) -> (Vec<Ev>, Vec<u8>, u64) {
    chunked_on(server(config), wire, ops)
}

fn chunked_on(mut conn: Connection, wire: &[u8], ops: &[Op]) -> (Vec<Ev>, Vec<u8>, u64) {
    let mut evs = Vec::new();
    let mut now_ms = 0;
    let mut rest = wire;
    let mut i = 0;
    while !rest.is_empty() {
        let op = &ops[i % ops.len()];
        i += 1;
        let n = op.read.min(rest.len());
        if op.lent {
            // As the tokio driver: where a large payload is arriving, the
            // connection lends where it is assembled (`payload_buffer`).
            let buf = match conn.payload_buffer(n) {
                Some(buf) => buf,
                None => conn.input_buffer(n),
            };
            let m = buf.len().min(n);
            buf[..m].copy_from_slice(&rest[..m]);
            conn.commit_input(t(now_ms), m);
            rest = &rest[m..];
        } else {
            conn.handle_input(t(now_ms), &rest[..n]);
            rest = &rest[n..];
        }
        if op.drain {
            evs.extend(events(&mut conn));
        }
        if op.timer & 1 != 0 {
            now_ms += 2;
            conn.handle_timeout(t(now_ms));
        }
        if op.timer & 2 != 0 {
            conn.release_buffers();
        }
    }
    let moved = conn.bytes_moved();
    let (evs, tx) = finish(conn, t(now_ms), evs);
    (evs, tx, moved)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("HB_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(200), .. ProptestConfig::default() })]

    #[test]
    fn chunking_and_timers_do_not_change_events(
        items in proptest::collection::vec(item(), 1..6),
        ops in proptest::collection::vec(op(), 1..6),
        max in proptest::option::of(proptest::sample::select(vec![1023u64, 1024, 1025, 2048, 16384, 16385, 32769])),
        streaming in proptest::bool::weighted(0.2),
    ) {
        let config = config(max, streaming);
        let w = wire(&items);
        let (ref_evs, ref_tx) = reference(&config, &w);
        // The whole wire through handle_input (direct path) too.
        let (whole_evs, whole_tx, _) = chunked(&config, &w, &[Op { read: usize::MAX, lent: false, drain: true, timer: 0 }]);
        prop_assert_eq!(&whole_evs, &ref_evs, "whole handle_input differs");
        prop_assert_eq!(&whole_tx, &ref_tx);
        let (evs, tx, moved) = chunked(&config, &w, &ops);
        let evs = if streaming { whole(evs) } else { evs };
        let ref_evs = if streaming { whole(ref_evs) } else { ref_evs };
        prop_assert_eq!(&evs, &ref_evs);
        prop_assert_eq!(&tx, &ref_tx);
        // release_buffers between reads is checked apart (see
        // `release_between_frames_moves_the_message_each_time`).
        if ops.iter().all(|o| o.timer & 2 == 0) {
            prop_assert!(moved <= 3 * w.len() as u64 + 64, "moved {} for {} bytes", moved, w.len());
        }
    }
}

/// A message held across many small frames (Pings), with the release timer
/// (busy: `shrink_oversized`) and `release_buffers` after each read:
/// `release` cuts the buffer to exactly its bytes, the next read doubles
/// it, the timer then finds it over twice what it holds and `fit` moves the
/// whole message to drop the few bytes of the Ping just consumed. Work is
/// the message size times the number of frames, not linear in the input.
/// Failed before the fix: `Receiver::shrink_oversized` called `fit`
/// without `compact`, and `fit` shifted down whenever `a > 0 || pos > b`,
/// whatever the gap.
#[test]
fn release_between_frames_moves_the_message_each_time() {
    let config = cfg(|c| c.buffer_release = Some(Duration::from_millis(1)));
    let mut conn = server(&config);
    let mut w = client_frame(0x02, &vec![7; 64 << 10]);
    for _ in 0..100 {
        w.extend(client_frame(0x89, b""));
    }
    w.extend(client_frame(0x80, b""));
    let mut evs = Vec::new();
    let mut now = 0;
    for piece in w.chunks(6) {
        conn.handle_input(t(now), piece);
        evs.extend(events(&mut conn));
        // A busy connection's release timer, then the application's release.
        now += 2;
        conn.handle_timeout(t(now));
        conn.release_buffers();
    }
    assert_eq!(evs.len(), 101);
    assert_eq!(evs[100], Ev::Binary(vec![7; 64 << 10]));
    let moved = conn.bytes_moved();
    assert!(
        moved <= 3 * w.len() as u64,
        "moved {moved} bytes for {} bytes of input",
        w.len()
    );
}

/// The same through the release timer alone: a peer holding a large
/// message open and sending one empty Ping per two release periods makes
/// the connection move the whole message each time (the idle branch of
/// `on_release_timer` calls `release`, whose `fit(0)` shifts down). Work
/// bounded per period, but amplified: 6 bytes in, the whole message moved.
/// Failed before the fix, for the same cause (and `fit(0)` left no room,
/// so the next Ping made the buffer grow and be cut again).
#[test]
fn trickling_pings_make_the_idle_release_move_the_message() {
    let config = cfg(|c| c.buffer_release = Some(Duration::from_millis(1000)));
    let mut conn = server(&config);
    let mut now = 0;
    let big = client_frame(0x02, &vec![7; 1 << 20]);
    conn.handle_input(t(now), &big);
    assert!(events(&mut conn).is_empty());
    let mut input = big.len();
    for _ in 0..20 {
        let ping = client_frame(0x89, b"");
        input += ping.len();
        conn.handle_input(t(now), &ping);
        assert_eq!(events(&mut conn), [Ev::Ping(vec![])]);
        transmit(&mut conn);
        // Two quiet periods: the first sees the traffic, the second idles.
        for _ in 0..2 {
            now += 1001;
            if conn.poll_timeout().is_some_and(|at| at <= t(now)) {
                conn.handle_timeout(t(now));
            }
        }
    }
    let moved = conn.bytes_moved();
    assert!(
        moved <= 3 * input as u64,
        "moved {moved} bytes for {input} bytes of input"
    );
}

/// close() then the release timer (and input after our Close): the Close
/// stays queued, events before the peer's Close are kept, nothing panics.
#[test]
fn close_then_release_timer_keeps_close_and_events() {
    let config = cfg(|c| c.buffer_release = Some(Duration::from_millis(1)));
    let mut conn = server(&config);
    let msg = client_frame(0x82, &vec![9; 3000]);
    conn.handle_input(t(0), &msg[..1500]);
    conn.close(t(0), wscore::CloseCode(1000), "bye").unwrap();
    for ms in [2, 4, 8] {
        conn.handle_timeout(t(ms));
        conn.release_buffers();
    }
    conn.handle_input(t(9), &msg[1500..]);
    conn.handle_timeout(t(12));
    conn.release_buffers();
    conn.handle_input(t(13), &client_frame(0x88, &[0x03, 0xE8]));
    conn.handle_timeout(t(20));
    conn.release_buffers();
    let evs = events(&mut conn);
    assert_eq!(evs[0], Ev::Binary(vec![9; 3000]));
    assert_eq!(evs[1], Ev::Close(1000, String::new()));
    let tx = transmit(&mut conn);
    assert_eq!(&tx[..2], &[0x88, 5]);
}

/// Two handle_input calls without draining, each carrying a whole large
/// message on the direct path, then invalid text in a third: both messages
/// come out before the error.
#[test]
fn undrained_direct_messages_precede_the_error() {
    let mut conn = server(&Config::default());
    let a = text_bytes(20000, 1);
    let b = vec![5u8; 1024];
    let mut bad = text_bytes(16385, 2);
    bad[16384] = 0xC0;
    conn.handle_input(t(0), &client_frame(0x81, &a));
    conn.handle_input(t(0), &client_frame(0x82, &b));
    conn.handle_input(t(0), &client_frame(0x81, &bad));
    conn.handle_input(t(0), &client_frame(0x82, &b));
    let evs = events(&mut conn);
    assert_eq!(
        evs.len(),
        3,
        "{:?}",
        evs.iter()
            .map(|e| match e {
                Ev::Closed(r) => format!("{r:?}"),
                _ => "msg".into(),
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(evs[0], Ev::Text(String::from_utf8(a).unwrap()));
    assert_eq!(evs[1], Ev::Binary(b));
    assert!(matches!(
        evs[2],
        Ev::Closed(wscore::ClosedReason::ProtocolError(_))
    ));
}

/// permessage-deflate agreed: compressed messages (RSV1, never on the
/// direct path) and Pings between them, large and small, any chunking,
/// with the release timer and `release_buffers` anywhere.
#[cfg(feature = "deflate")]
mod deflate_agreed {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: std::env::var("HB_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64), .. ProptestConfig::default() })]

        #[test]
        fn compressed_chunking_and_timers_do_not_change_events(
            msgs in proptest::collection::vec((any::<bool>(), size(), 0usize..3), 1..5),
            ops in proptest::collection::vec(op(), 1..5),
            fragment in proptest::option::of(proptest::sample::select(vec![100usize, 1023, 1024, 5000])),
        ) {
            let p = common::deflate::params(false, false, 15, 15);
            let client_cfg = cfg(|c| c.fragment_size = fragment);
            let server_cfg = config(None, false);
            let (mut client, _) = common::deflate::connections(&p, &client_cfg, &server_cfg);
            for (k, (text, len, ping)) in msgs.iter().enumerate() {
                if *text {
                    client.send_text(std::str::from_utf8(&text_bytes(*len, k)).unwrap()).unwrap();
                } else {
                    let data: Vec<u8> = (0..*len).map(|i| ((i * 7) % 251) as u8 ^ (k as u8)).collect();
                    client.send_binary(&data).unwrap();
                }
                for _ in 0..*ping {
                    client.send_ping(b"pp").unwrap();
                }
            }
            let w = transmit(&mut client);
            let (_, s1) = common::deflate::connections(&p, &client_cfg, &server_cfg);
            let (ref_evs, ref_tx) = reference_on(s1, &w);
            prop_assert!(!ref_evs.iter().any(|e| matches!(e, Ev::Closed(wscore::ClosedReason::ProtocolError(_)))), "{:?}", ref_evs.last());
            let (_, s2) = common::deflate::connections(&p, &client_cfg, &server_cfg);
            let (evs, tx, _) = chunked_on(s2, &w, &ops);
            prop_assert_eq!(evs, ref_evs);
            prop_assert_eq!(tx, ref_tx);
        }
    }
}
