//! An idle connection's permessage-deflate state, measured with a counting
//! allocator: after traffic both ways and the idle period (or
//! `release_buffers`), a connection
//! holds its deflate history and nothing else (the last `2^window` bytes
//! each way that keeps its context, a small box besides), `heap_usage`
//! says exactly what the allocator saw, and traffic after the release
//! round-trips and compresses as well as without it.

mod common;

use common::{Chunking, counter_mask, follow_deadlines, t, transmit};
use proptest::prelude::*;
use wscore::extension::deflate::{DeflateConfig, DeflateParams};
use wscore::handshake::client::ClientRequest;
use wscore::handshake::server::{Accept, ServerHandshake};
use wscore::handshake::{Extension, HandshakeLimits};
use wscore::{Config, Connection, Event, Status};

#[path = "common/counting.rs"]
mod counting;

use counting::live;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// What an idle connection holds besides its history: the extension's box
/// (under 200 bytes on 64-bit targets), and for a peer window of 8 bits
/// the 256 bytes more history the inflater keeps (it tolerates the 9-bit
/// window zlib uses when asked for 8).
const IDLE_SLACK: usize = 512;

/// The browser's budget for the deflate state of an idle connection.
const BROWSER_BUDGET: usize = 24 << 10;

/// Compressible text of `len` bytes from `seed`: chat-like JSON, with
/// enough variety that the window size matters.
fn text(seed: u64, len: usize) -> String {
    let mut s = String::with_capacity(len + 100);
    let mut x = seed | 1;
    while s.len() < len {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s.push_str(&format!(
            r#"{{"id":{},"user":"user{}","text":"hello {} world"}},"#,
            x >> 44,
            x % 89,
            x % 1013
        ));
    }
    s.truncate(len);
    s
}

/// A config whose own window policy allows every agreed window (the
/// default caps ours at 13 bits).
fn any_window_config() -> Config {
    let mut config = Config::default();
    config.deflate.max_window_bits = 15;
    config.deflate.peer_max_window_bits = 15;
    config
}

/// Send `msg` from `from` to `to`, cut into `chunking`'s pieces, and check
/// it arrives whole. Returns the bytes it took on the wire. Nothing of it
/// outlives the call, so the allocator's count is the connections' alone.
fn send(from: &mut Connection, to: &mut Connection, msg: &str, chunking: &Chunking) -> usize {
    from.send_text(msg).unwrap();
    let wire = transmit(from);
    let mut got = 0;
    for piece in chunking.split(&wire) {
        to.handle_input(t(0), piece);
        while let Some(e) = to.poll_event() {
            match e {
                Event::Text(text) => {
                    assert_eq!(text, msg);
                    got += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(got, 1, "one message arrives");
    wire.len()
}

/// History an idle side keeps: its window when it keeps its context.
fn history_bound(bits: u8, reset: bool) -> usize {
    if reset { 0 } else { 1 << bits }
}

/// A client and a server agreed on `p`, with their configs.
fn agreed(p: &DeflateParams, config: &Config) -> (Connection, Connection) {
    common::deflate::connections(p, config, config)
}

/// Each message of `msgs` each way, cut by `chunking`; the wire bytes.
fn traffic<'a>(
    c: &mut Connection,
    s: &mut Connection,
    msgs: impl Iterator<Item = &'a String>,
    chunking: &Chunking,
) -> usize {
    msgs.map(|m| send(c, s, m, chunking) + send(s, c, m, chunking))
        .sum()
}

fn check_idle_after_release(
    p: &DeflateParams,
    sizes: &[usize],
    chunking: &Chunking,
) -> Result<(), TestCaseError> {
    let config = any_window_config();
    let msgs: Vec<String> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| text(i as u64 / 2, n))
        .collect();
    // The yardstick for compression: the same traffic, never released.
    let unreleased = {
        let (mut c, mut s) = agreed(p, &config);
        traffic(&mut c, &mut s, msgs.iter(), chunking);
        traffic(&mut c, &mut s, msgs.iter().rev(), chunking)
    };

    let base = live();
    let (mut c, mut s) = agreed(p, &config);
    // The client's boxed mask source is the one allocation `heap_usage`
    // does not count; everything else must match the allocator exactly.
    let mask = (live() - base) as usize - c.heap_usage() - s.heap_usage();
    prop_assert!(mask <= 16, "mask box {mask}");
    let exact = |c: &Connection, s: &Connection| {
        (
            (live() - base) as usize,
            c.heap_usage() + s.heap_usage() + mask,
        )
    };
    traffic(&mut c, &mut s, msgs.iter(), chunking);
    let (seen, usage) = exact(&c, &s);
    prop_assert_eq!(seen, usage, "after traffic");
    // The idle period passes: both sides follow their deadlines, as a
    // driver would, and the release timer gives back what idleness frees.
    follow_deadlines(&mut c, t(0), t(10_000));
    follow_deadlines(&mut s, t(0), t(10_000));
    // What is left is keepalive's deadline (on by default), not a release.
    prop_assert_eq!(c.poll_timeout(), Some(t(30_000)));
    prop_assert_eq!(s.poll_timeout(), Some(t(30_000)));
    let (seen, usage) = exact(&c, &s);
    prop_assert_eq!(seen, usage, "after the idle period");
    for (conn, own, own_reset, peer, peer_reset) in [
        (
            &c,
            p.client_max_window_bits,
            p.client_no_context_takeover,
            p.server_max_window_bits,
            p.server_no_context_takeover,
        ),
        (
            &s,
            p.server_max_window_bits,
            p.server_no_context_takeover,
            p.client_max_window_bits,
            p.client_no_context_takeover,
        ),
    ] {
        let bound = history_bound(own, own_reset) + history_bound(peer, peer_reset);
        prop_assert!(
            conn.heap_usage() <= bound + IDLE_SLACK,
            "{:?}: {} > {} + {}",
            p,
            conn.heap_usage(),
            bound,
            IDLE_SLACK
        );
        prop_assert!(conn.heap_usage() <= (1 << own) + (1 << peer) + IDLE_SLACK);
    }
    // After the release the same traffic again, last message first: it
    // round-trips, and puts no more on the wire than without the release
    // (a few bytes a message either way: the rebuilt hash chains are not
    // the same as the continuous ones).
    let released = traffic(&mut c, &mut s, msgs.iter().rev(), chunking);
    prop_assert!(
        released <= unreleased + 8 * msgs.len(),
        "{:?}: {} bytes after a release, {} without",
        p,
        released,
        unreleased
    );
    let (seen, usage) = exact(&c, &s);
    prop_assert_eq!(seen, usage, "after the rebuild");
    Ok(())
}

fn any_params() -> impl Strategy<Value = DeflateParams> {
    (any::<bool>(), any::<bool>(), 8u8..=15, 8u8..=15)
        .prop_map(|(snct, cnct, sbits, cbits)| common::deflate::params(snct, cnct, sbits, cbits))
}

fn any_sizes() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(
        prop_oneof![Just(0usize), Just(1), 2..2000usize, 2000..100_000usize],
        1..5,
    )
}

fn any_chunking() -> impl Strategy<Value = Chunking> {
    prop_oneof![
        Just(Chunking::Whole),
        proptest::collection::vec(1..3000usize, 1..4).prop_map(Chunking::Sizes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any parameters, message sizes and read chunking: an idle connection
    /// holds its history and a small box, `heap_usage` is exact, and
    /// traffic after the release round-trips and compresses as well.
    #[test]
    fn idle_heap_is_the_history_and_traffic_after_release_is_unchanged(
        p in any_params(), sizes in any_sizes(), chunking in any_chunking(),
    ) {
        check_idle_after_release(&p, &sizes, &chunking)?;
    }
}

/// The extremes and equal windows, each takeover mode, every time (the
/// property samples them).
#[test]
fn every_window_pair_and_takeover_mode() {
    for sbits in 8..=15 {
        for cbits in [8, sbits, 15] {
            for (snct, cnct) in [(false, false), (true, false), (false, true), (true, true)] {
                let p = common::deflate::params(snct, cnct, sbits, cbits);
                check_idle_after_release(&p, &[0, 1, 700, 40_000], &Chunking::Whole).unwrap();
            }
        }
    }
}

/// A browser's offer against the default server, and our default client
/// against it: 13-bit windows agreed, and each side idles within the 24 KiB
/// budget after messages large enough to fill both windows, with
/// `heap_usage` exact before and after the release.
#[test]
fn browser_offer_with_the_defaults_idles_within_24_kib() {
    let config = Config::default();
    for offer in [
        vec![Extension::new("permessage-deflate").with_param("client_max_window_bits")],
        DeflateConfig::DEFAULT.offers(),
    ] {
        let res_offer = offer
            .iter()
            .map(|e| format!("{e:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let base = live();
        let mut request = Vec::new();
        let mut client_hs = offer
            .iter()
            .fold(ClientRequest::new("example.com", [7; 16]), |r, e| {
                r.extension(e.clone())
            })
            .write(&config, &mut request)
            .unwrap();
        let mut server_hs = ServerHandshake::new(HandshakeLimits::default());
        let Ok(Status::Complete((req, _))) = server_hs.handle_input(&request) else {
            panic!("a complete request");
        };
        let mut answer = Vec::new();
        // The server accepts as `config.deflate` says.
        let (mut s, negotiated) = req
            .accept(&Accept::new(), &config, t(0), &[], &mut answer)
            .unwrap();
        let params = DeflateParams::from_extensions(&negotiated.extensions).unwrap();
        assert_eq!(
            params,
            common::deflate::params(false, false, 13, 13),
            "{offer:?}"
        );
        let Ok(Status::Complete((res, _))) = client_hs.handle_input(&answer) else {
            panic!("the client accepts the answer");
        };
        let mut c = res.open(t(0), &[], counter_mask());
        drop((request, answer, server_hs, client_hs, offer, negotiated));
        // What the handshake's leftovers and the client's mask box hold:
        // constant from here on, so `heap_usage` accounts for every change.
        let mask = live() - base - (c.heap_usage() + s.heap_usage()) as isize;
        let exact = |c: &Connection, s: &Connection| {
            assert_eq!(
                live() - base - mask,
                (c.heap_usage() + s.heap_usage()) as isize
            );
        };
        for (i, n) in [100_000, 3000, 50, 20_000].into_iter().enumerate() {
            let m = text(i as u64, n);
            send(&mut c, &mut s, &m, &Chunking::Sizes(vec![1400]));
            send(&mut s, &mut c, &m, &Chunking::Sizes(vec![1400]));
        }
        let busy = (s.heap_usage(), c.heap_usage());
        exact(&c, &s);
        c.release_buffers();
        s.release_buffers();
        exact(&c, &s);
        let idle = (s.heap_usage(), c.heap_usage());
        for conn in [&s, &c] {
            assert!(
                conn.heap_usage() <= BROWSER_BUDGET,
                "{} > {BROWSER_BUDGET}",
                conn.heap_usage()
            );
            assert!(conn.heap_usage() <= (8 << 10) * 2 + IDLE_SLACK);
        }
        // And the traffic goes on.
        let m = text(1, 3000);
        send(&mut c, &mut s, &m, &Chunking::Whole);
        send(&mut s, &mut c, &m, &Chunking::Whole);
        drop(m);
        exact(&c, &s);
        // Last: printing grows the test harness's capture buffer.
        println!(
            "defaults, offer {:?}: busy {} B server / {} B client, idle {} B server / {} B client",
            res_offer, busy.0, busy.1, idle.0, idle.1
        );
    }
}

/// The README's table: a server's deflate heap busy (after a 40 KB and a
/// 2 KB message each way) and idle (after `release_buffers`), measured
/// with the allocator, for equal windows each way (`cargo test --test
/// deflate_idle memory_table -- --nocapture`). Idle is exactly the two
/// histories plus the box.
#[test]
fn memory_table() {
    let config = any_window_config();
    for (bits, reset) in [
        (15, false),
        (14, false),
        (13, false),
        (12, false),
        (9, true),
        (8, true),
    ] {
        let p = common::deflate::params(reset, reset, bits, bits);
        let (mut c, mut s) = agreed(&p, &config);
        let msgs = [text(1, 40_000), text(2, 2000)];
        traffic(&mut c, &mut s, msgs.iter(), &Chunking::Whole);
        let busy = s.heap_usage();
        let before = live();
        s.release_buffers();
        let idle = s.heap_usage();
        assert_eq!(
            before - live(),
            (busy - idle) as isize,
            "heap_usage is exact"
        );
        let boxed = s.heap_usage() - history_bound(bits, reset) * 2;
        println!(
            "windows {bits}, {}: busy {busy} B, idle {idle} B (box {boxed} B)",
            if reset {
                "no context takeover"
            } else {
                "context kept"
            }
        );
        assert_eq!(idle, 2 * history_bound(bits, reset) + boxed);
        assert!(boxed <= 256, "{boxed}");
    }
}
