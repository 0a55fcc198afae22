//! Buffers that follow the connection's life, measured with a counting
//! allocator: kept while busy (no allocation per message, large or small,
//! with `Config::default()`), given back once idle for `buffer_release`,
//! and sized by the bytes that arrived, never by what a header announced.

mod common;

#[path = "common/counting.rs"]
mod counting;

use std::time::Duration;

use common::*;
use counting::{allocs, live, peak_during};
use proptest::prelude::*;
use wscore::{Config, Connection, Event};

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

#[test]
fn a_header_announcing_16_mib_pins_only_the_bytes_that_arrived() {
    // The attack from the issue: a 14-byte header announcing 16 MiB, then
    // 10 bytes, then silence. Before, the header reserved the whole frame.
    let mut s = server(&Config::default());
    let mut wire = client_frame(0x82, &vec![0; 16 << 20]);
    wire.truncate(14 + 10);
    let base = live();
    let peak = peak_during(|| {
        s.handle_input(t(0), &wire);
        assert!(s.poll_event().is_none());
    });
    let held = (live() - base) as usize;
    assert!(held <= 8 << 10, "{held} bytes held for 24 received");
    assert!(peak <= 8 << 10, "peak {peak} bytes for 24 received");
    assert_eq!(held, s.heap_usage());
    // Byte by byte up to 1 MiB, the buffer stays within twice what came.
    let payload = &client_frame(0x82, &vec![0; 16 << 20])[24..];
    let mut received = 24;
    for piece in payload[..(1 << 20) - 24].chunks(4096) {
        s.handle_input(t(0), piece);
        assert!(s.poll_event().is_none());
        received += piece.len();
        assert!(
            s.heap_usage() <= 2 * received + 8192,
            "{} bytes held for {received} received",
            s.heap_usage()
        );
    }
}

#[test]
fn zero_allocations_per_message_for_large_messages_by_default() {
    // A steady stream of 1 MiB messages, each way, with `Config::default()`:
    // after the first, the buffers are reused, whatever the message type.
    let mut s = server(&Config::default());
    let mut c = client(&Config::default());
    let text = "é".repeat(1 << 19);
    let binary = vec![7u8; 1 << 20];
    let mut wire = client_frame(0x81, text.as_bytes());
    wire.extend(client_frame(0x82, &binary));
    let mut out = Vec::new();
    let round = |s: &mut Connection, c: &mut Connection, out: &mut Vec<u8>| {
        let mut got = 0;
        for piece in wire.chunks(64 << 10) {
            s.handle_input(t(0), piece);
            while let Some(e) = s.poll_event() {
                got += match e {
                    Event::Text(t) => t.len(),
                    Event::Binary(b) => b.len(),
                    other => panic!("{other:?}"),
                };
            }
        }
        c.send_binary(&binary).unwrap();
        c.poll_transmit(out);
        out.clear();
        got
    };
    // Two rounds of warm-up: `poll_transmit` swaps the queue with the
    // caller's buffer, so the second is the first with both allocated.
    for _ in 0..2 {
        round(&mut s, &mut c, &mut out);
    }
    let before = allocs();
    for _ in 0..20 {
        assert_eq!(round(&mut s, &mut c, &mut out), 2 << 20);
    }
    assert_eq!(allocs() - before, 0, "allocations in 20 rounds");
}

#[test]
fn an_idle_connection_gives_everything_back_after_one_quiet_period() {
    let mut s = server(&Config::default());
    let base = live();
    s.handle_input(t(0), &client_frame(0x82, &vec![1; 100_000]));
    while s.poll_event().is_some() {}
    s.send_binary(&[2; 50_000]).unwrap();
    let mut out = Vec::new();
    s.poll_transmit(&mut out);
    drop(out);
    // Busy until 0 s; the first deadline (1 s) finds that traffic, the
    // second (2 s) a quiet period.
    let now = follow_deadlines(&mut s, t(0), t(10_000));
    assert_eq!(now, t(2000));
    assert_eq!(live() - base, 0);
    assert_eq!(
        s.poll_timeout(),
        Some(t(30_000)),
        "an idle connection's one deadline is keepalive's"
    );
    // Traffic brings the deadline back.
    s.handle_input(t(70_000), &client_frame(0x81, b"hi"));
    assert_eq!(events(&mut s), vec![Ev::Text("hi".into())]);
    assert_eq!(s.poll_timeout(), Some(t(71_000)));
}

#[test]
fn buffer_release_off_keeps_buffers_until_release_buffers() {
    let mut s = server(&cfg(|c| {
        c.buffer_release = None;
        c.keepalive_interval = None;
    }));
    s.handle_input(t(0), &client_frame(0x82, &vec![1; 100_000]));
    while s.poll_event().is_some() {}
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(t(3_600_000));
    assert!(s.heap_usage() >= 100_000);
    s.release_buffers();
    assert_eq!(s.heap_usage(), 0);
}

/// One side's traffic in a property case.
#[derive(Clone, Debug)]
struct Traffic {
    sizes: Vec<usize>,
    /// Fragment size for the messages sent; `None` for one frame each.
    fragment: Option<usize>,
    streaming: bool,
    read: usize,
    /// A Ping after every message.
    pings: bool,
    /// The period, in milliseconds.
    release_ms: u64,
}

fn traffic() -> impl Strategy<Value = Traffic> {
    (
        prop::collection::vec(
            prop_oneof![0usize..200, 1000usize..5000, Just(70_000usize)],
            1..8,
        ),
        prop_oneof![Just(None), (1usize..3000).prop_map(Some)],
        any::<bool>(),
        prop_oneof![Just(1usize), 2usize..100, 1000usize..70_000],
        any::<bool>(),
        prop_oneof![Just(0u64), Just(1), 2u64..5000],
    )
        .prop_map(
            |(sizes, fragment, streaming, read, pings, release_ms)| Traffic {
                sizes,
                fragment,
                streaming,
                read,
                pings,
                release_ms,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever the traffic (message sizes, fragmentation, streaming, read
    /// sizes, Pings, the period), once both sides have seen no traffic for
    /// a whole period their heap, checked against the allocator, is zero
    /// (beyond the client's boxed mask source), and everything arrived.
    #[test]
    fn after_any_traffic_an_idle_pair_holds_no_heap(t_ in traffic()) {
        let config = cfg(|c| {
            c.streaming = t_.streaming;
            c.fragment_size = t_.fragment;
            c.buffer_release = Some(Duration::from_millis(t_.release_ms));
            #[cfg(feature = "deflate")]
            {
                c.deflate = wscore::extension::deflate::DeflateConfig::DISABLED;
            }
        });
        let base = live();
        let mut p = Pair::with_configs(&config, &config);
        p.chunking = Chunking::Sizes(vec![t_.read]);
        let mask_source = (live() - base) as usize;
        for (i, &size) in t_.sizes.iter().enumerate() {
            p.client.send_binary(&vec![i as u8; size]).unwrap();
            p.server.send_text(&"x".repeat(size)).unwrap();
            if t_.pings {
                p.client.send_ping(b"p").unwrap();
            }
            p.drive();
            p.advance(Duration::from_millis(t_.release_ms / 3));
        }
        let got: usize = whole(p.take_server_events())
            .iter()
            .map(|e| match e {
                Ev::Binary(b) => b.len(),
                _ => 0,
            })
            .sum();
        prop_assert_eq!(got, t_.sizes.iter().sum::<usize>());
        // Quiet from here: follow each side's deadlines for three periods.
        let until = p.now + Duration::from_millis(3 * t_.release_ms.max(1) + 1);
        let from = p.now;
        follow_deadlines(&mut p.client, from, until);
        follow_deadlines(&mut p.server, from, until);
        prop_assert_eq!(p.server.heap_usage(), 0);
        prop_assert_eq!(p.client.heap_usage(), 0);
        // Only the two connections stay: the harness's logs go first.
        let Pair { client, server, chunking, client_events, server_events, client_wire, server_wire, .. } = p;
        drop((chunking, client_events, server_events, client_wire, server_wire));
        let held = (live() - base) as usize;
        prop_assert!(
            held <= mask_source + 64,
            "{} bytes held by two idle connections (mask source {})",
            held,
            mask_source
        );
        drop((client, server));
    }
}

#[test]
fn payload_buffer_lends_what_the_bytes_received_justify() {
    // The tokio driver reads a large payload straight into the message
    // (`payload_buffer`); a peer that announces 16 MiB and sends 10 bytes
    // gets nothing lent (the driver reads through its shared buffer), and
    // once bytes have grown the buffer, what is lent stays within what
    // they justify.
    let mut s = server(&Config::default());
    let wire = client_frame(0x82, &vec![0; 16 << 20]);
    s.handle_input(t(0), &wire[..24]);
    assert!(s.poll_event().is_none());
    assert!(
        s.payload_buffer(64 << 10).is_none(),
        "24 bytes justify no lending"
    );
    assert!(s.heap_usage() <= 1 << 10, "{} bytes held", s.heap_usage());
    // The transport brings 1,000 bytes at a time, read into the
    // connection when it lends, through the shared buffer when not.
    let mut received = 24;
    let mut lent_reads = 0;
    let mut rest = &wire[24..4 << 20];
    while !rest.is_empty() {
        let n = match s.payload_buffer(64 << 10) {
            Some(buf) => {
                lent_reads += 1;
                let n = buf.len().min(1000).min(rest.len());
                buf[..n].copy_from_slice(&rest[..n]);
                s.commit_input(t(0), n);
                n
            }
            None => {
                let n = rest.len().min(1000);
                s.handle_input(t(0), &rest[..n]);
                n
            }
        };
        assert!(s.poll_event().is_none());
        rest = &rest[n..];
        received += n;
        // Growth doubles the buffer once it is nearly full, plus an
        // eighth of headroom: 2.25 times what came, at most.
        assert!(
            s.heap_usage() <= 9 * received / 4 + (8 << 10),
            "{} bytes held for {received} received",
            s.heap_usage()
        );
    }
    assert!(
        lent_reads > 4000,
        "{lent_reads} reads went into the lent buffer"
    );
    // Nothing to lend outside a large payload.
    let mut idle = server(&Config::default());
    assert!(idle.payload_buffer(64 << 10).is_none());
}
