//! The message deadline (`Config::message_timeout`) on a virtual clock: a
//! frame or message the peer started and does not finish in time fails the
//! connection with 1008 at exactly its start plus the timeout, after every
//! complete message before it; a peer that keeps finishing what it starts
//! is never cut, however long the stream; control frames between the
//! fragments of a message do not restart it; zero and `None` are off.

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use wscore::{ClosedReason, Config, Connection};

fn with_timeout(ms: Option<u64>) -> Config {
    cfg(|c| {
        c.message_timeout = ms.map(Duration::from_millis);
        // Keepalive and the buffer release are other deadlines; these
        // tests follow this one alone.
        c.buffer_release = None;
        c.keepalive_interval = None;
    })
}

/// Feed `input` at `at`, drain events and output; returns the events.
fn feed(conn: &mut Connection, at: u64, input: &[u8]) -> Vec<Ev> {
    conn.handle_input(t(at), input);
    let evs = events(conn);
    let _ = transmit(conn);
    evs
}

/// Follow deadlines up to `until` as a driver would; returns the events
/// and the instant of a `Closed` event, if one came.
fn run_until(conn: &mut Connection, until: u64) -> (Vec<Ev>, Option<u64>, Vec<u8>) {
    let mut evs = Vec::new();
    let mut wire = Vec::new();
    while let Some(at) = conn.poll_timeout() {
        if at > t(until) {
            break;
        }
        conn.handle_timeout(at);
        let got = events(conn);
        wire.extend(transmit(conn));
        let closed = got.iter().any(|e| matches!(e, Ev::Closed(_)));
        evs.extend(got);
        if closed {
            return (evs, Some(at.elapsed().as_millis() as u64), wire);
        }
    }
    (evs, None, wire)
}

fn timeouts() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        Just(None),
        Just(Some(0)),
        (1u64..=5).prop_map(Some),
        (1u64..=120_000).prop_map(Some),
        Just(Some(60_000)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A peer that starts a large frame and sends its bytes ever more
    /// slowly: cut at exactly start + timeout with 1008, after the whole
    /// message that came before; never with the limit off.
    #[test]
    fn a_frame_that_never_finishes_is_cut_at_its_deadline(
        timeout in timeouts(),
        start in 0u64..10_000,
        gap in 1u64..2_000,
    ) {
        let mut s = server(&with_timeout(timeout));
        let mut wire = client_frame(0x81, b"before");
        let slow = client_frame(0x82, &vec![7; 100_000]);
        wire.extend_from_slice(&slow[..20]);
        let evs = feed(&mut s, start, &wire);
        prop_assert_eq!(evs, vec![Ev::Text("before".into())]);
        // A byte every `gap` ms, following deadlines in between.
        let mut now = start;
        let mut closed = None;
        let mut sent = Vec::new();
        for byte in slow[20..200].iter() {
            let (evs, at, out) = run_until(&mut s, now + gap - 1);
            sent.extend(out);
            if let Some(at) = at {
                prop_assert_eq!(evs.last(), Some(&Ev::Closed(ClosedReason::MessageTimeout)));
                closed = Some(at);
                break;
            }
            now += gap;
            let evs = feed(&mut s, now, std::slice::from_ref(byte));
            prop_assert!(evs.is_empty(), "{:?}", evs);
        }
        match timeout {
            Some(ms) if ms > 0 && ms < 179 * gap => {
                prop_assert_eq!(closed, Some(start + ms), "cut at start + timeout");
                prop_assert_eq!(close_codes(&sent), vec![Some(1008)]);
                prop_assert!(s.is_closed());
            }
            Some(ms) if ms > 0 => prop_assert!(closed.is_none_or(|at| at >= start + ms)),
            _ => prop_assert_eq!(closed, None, "off"),
        }
    }

    /// A stream of messages, each split across reads so that something is
    /// always in progress, each finishing within the timeout: never cut,
    /// though the stream lasts many times the timeout.
    #[test]
    fn a_peer_that_finishes_what_it_starts_is_never_cut(
        timeout in 100u64..10_000,
        pieces in 2usize..6,
        messages in 3usize..30,
    ) {
        let mut s = server(&with_timeout(Some(timeout)));
        let mut wire = Vec::new();
        for i in 0..messages {
            wire.extend(client_frame(0x82, &vec![i as u8; 3000]));
        }
        // Cut so each message spans `pieces` reads; each read comes a
        // little less than timeout / pieces after the last.
        let step = wire.len().div_ceil(messages * pieces);
        let mut now = 0;
        let mut got = 0;
        for piece in wire.chunks(step) {
            let (evs, closed, _) = run_until(&mut s, now);
            prop_assert_eq!(closed, None);
            got += evs.len();
            got += feed(&mut s, now, piece).len();
            now += (timeout - 1) / pieces as u64;
        }
        prop_assert_eq!(got, messages);
        prop_assert!(now > 2 * timeout || messages * pieces < 10);
        prop_assert!(!s.is_closed());
    }
}

#[test]
fn pings_between_fragments_do_not_restart_the_deadline() {
    let mut s = server(&with_timeout(Some(10_000)));
    let first = client_frame(0x02, &[1; 10]);
    assert!(feed(&mut s, 0, &first).is_empty());
    // A Ping every second, the message never finished.
    let mut now = 0;
    let mut closed = None;
    while now < 20_000 {
        now += 1_000;
        let (_, at, _) = run_until(&mut s, now - 1);
        if at.is_some() {
            closed = at;
            break;
        }
        let evs = feed(&mut s, now, &client_frame(0x89, b"p"));
        assert_eq!(evs, vec![Ev::Ping(b"p".to_vec())]);
    }
    assert_eq!(closed, Some(10_000), "cut 10 s after the first fragment");
}

#[test]
fn the_deadline_counts_from_the_input_that_started_the_message() {
    // A whole message and the start of the next in one read at 0; more of
    // the second at 5 s; a third started at 9 s after the second ended:
    // the third's deadline runs from 9 s, not from 0.
    let mut s = server(&with_timeout(Some(10_000)));
    let second = client_frame(0x82, &[2; 2000]);
    let third = client_frame(0x82, &[3; 2000]);
    let mut wire = client_frame(0x81, b"one");
    wire.extend_from_slice(&second[..100]);
    assert_eq!(feed(&mut s, 0, &wire), vec![Ev::Text("one".into())]);
    assert!(feed(&mut s, 5_000, &second[100..1000]).is_empty());
    let mut rest = second[1000..].to_vec();
    rest.extend_from_slice(&third[..10]);
    assert_eq!(feed(&mut s, 9_000, &rest), vec![Ev::Binary(vec![2; 2000])]);
    assert_eq!(s.poll_timeout(), Some(t(19_000)));
    let (_, closed, _) = run_until(&mut s, 60_000);
    assert_eq!(closed, Some(19_000));
}

#[test]
fn a_complete_message_waiting_to_be_polled_is_handed_out_before_the_end() {
    let mut s = server(&with_timeout(Some(1_000)));
    let mut wire = client_frame(0x81, b"done");
    wire.extend_from_slice(&client_frame(0x82, &[0; 5000])[..50]);
    s.handle_input(t(0), &wire);
    // The deadline passes before the application polled anything.
    s.handle_timeout(t(1_000));
    assert_eq!(
        events(&mut s),
        vec![
            Ev::Text("done".into()),
            Ev::Closed(ClosedReason::MessageTimeout)
        ]
    );
    assert_eq!(close_codes(&transmit(&mut s)), vec![Some(1008)]);
}

#[test]
fn the_default_is_sixty_seconds() {
    assert_eq!(
        Config::default().message_timeout,
        Some(Duration::from_secs(60))
    );
    let mut s = server(&cfg(|c| {
        c.buffer_release = None;
        c.keepalive_interval = None;
    }));
    assert!(feed(&mut s, 0, &client_frame(0x82, &[0; 5000])[..100]).is_empty());
    assert_eq!(s.poll_timeout(), Some(t(60_000)));
}
