//! Keepalive over the whole space of settings, on a virtual clock: a silent
//! peer is declared dead by interval + timeout (from its last input), a live
//! peer never is, a zero interval is off, and `handle_timeout` does bounded
//! work whatever the settings.

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use wscore::{ClosedReason, Config, Connection, Event, Instant};

/// Keepalive alone: the buffer release timer is another deadline, which
/// would add steps to the deadline walks below; `with_release` tests the
/// two together.
fn settings(interval: Option<u64>, timeout: Option<u64>) -> Config {
    with_release(interval, timeout, None)
}

fn with_release(interval: Option<u64>, timeout: Option<u64>, release: Option<u64>) -> Config {
    cfg(|c| {
        c.keepalive_interval = interval.map(Duration::from_millis);
        c.keepalive_timeout = timeout.map(Duration::from_millis);
        c.buffer_release = release.map(Duration::from_millis);
    })
}

/// Millisecond settings: zero, tiny, equal and very different values all
/// come up often.
fn millis() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        Just(None),
        Just(Some(0)),
        (1u64..=5).prop_map(Some),
        (1u64..=120_000).prop_map(Some),
        Just(Some(30_000)),
    ]
}

/// Deadlines a test follows at most: a heartbeat without a timeout never
/// ends by itself.
const STEPS: usize = 2_000;

/// Drive a connection whose peer never sends a byte, jumping the clock to
/// each deadline, until it closes, `horizon` passes or [`STEPS`] deadlines
/// were followed. Returns when it closed (and why), and how many Pings it
/// sent.
fn silent_peer(
    conn: &mut Connection,
    horizon: Instant,
) -> (Option<(Instant, ClosedReason)>, usize) {
    let mut pings = 0;
    let mut last = t(0);
    for _ in 0..STEPS {
        let Some(at) = conn.poll_timeout() else {
            return (None, pings);
        };
        assert!(at > last || at == t(0), "deadlines move forward");
        last = at;
        if at > horizon {
            return (None, pings);
        }
        conn.handle_timeout(at);
        let closed = events(conn).into_iter().find_map(|e| match e {
            Ev::Closed(r) => Some(r),
            _ => None,
        });
        let out = transmit(conn);
        pings += parse_wire(&out)
            .iter()
            .filter(|(h, _)| h.opcode == wscore::frame::Opcode::Ping)
            .count();
        if let Some(reason) = closed {
            return (Some((at, reason)), pings);
        }
        // Spurious calls at the same instant change nothing.
        conn.handle_timeout(at);
        assert!(events(conn).is_empty());
        assert_eq!(conn.pending_transmit(), 0);
    }
    (None, pings)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_silent_peer_is_dead_by_interval_plus_timeout(interval in millis(), timeout in millis()) {
        let mut s = server(&settings(interval, timeout));
        let horizon = t(10_000_000);
        let (closed, pings) = silent_peer(&mut s, horizon);
        match (interval, timeout) {
            (None | Some(0), _) => {
                // Off: no deadline, no Ping, never closed.
                prop_assert_eq!(closed, None);
                prop_assert_eq!(pings, 0);
            }
            (Some(i), None) => {
                // No timeout: a heartbeat every interval, never a verdict.
                prop_assert_eq!(closed, None);
                prop_assert_eq!(pings as u64, (10_000_000 / i).min(STEPS as u64));
            }
            (Some(i), Some(to)) => {
                let (at, reason) = closed.expect("a silent peer must be declared dead");
                prop_assert_eq!(reason, ClosedReason::KeepaliveTimeout);
                prop_assert_eq!(at, t(i + to), "dead exactly at interval + timeout");
                prop_assert_eq!(pings, 1, "one Ping per silence");
            }
        }
    }

    #[test]
    fn the_buffer_release_timer_changes_no_keepalive_verdict(
        interval in millis(),
        timeout in millis(),
        release in millis(),
    ) {
        // The release deadlines come and go between keepalive's: the
        // verdict and its instant are the same as with keepalive alone.
        let mut alone = server(&settings(interval, timeout));
        let mut both = server(&with_release(interval, timeout, release));
        let horizon = t(1_000_000);
        let (closed_alone, _) = silent_peer(&mut alone, horizon);
        let (closed_both, _) = silent_peer(&mut both, horizon);
        if closed_alone.is_some() {
            prop_assert_eq!(closed_alone, closed_both);
        }
        // An idle server holds nothing once its deadlines are followed.
        prop_assert_eq!(both.heap_usage(), 0);
    }

    #[test]
    fn a_peer_that_keeps_sending_is_never_dead(
        interval in 1u64..=60_000,
        timeout in millis(),
        gaps in prop::collection::vec(0.0f64..1.0, 1..60),
    ) {
        // The client sends a message at gaps strictly shorter than the
        // server's interval; the server must never ping or give up.
        let mut p = Pair::with_configs(&Config::default(), &settings(Some(interval), timeout));
        for g in gaps {
            let step = ((interval as f64 - 1.0) * g) as u64;
            p.advance(Duration::from_millis(step));
            p.client.send_text("still here").unwrap();
            p.drive();
        }
        let closed = p.take_server_events().into_iter().any(|e| matches!(e, Ev::Closed(_)));
        prop_assert!(!closed);
        prop_assert!(!p.server.is_closed());
    }

    #[test]
    fn a_peer_that_answers_pings_is_never_dead(
        interval in 1u64..=60_000,
        timeout in 1u64..=60_000,
        rounds in 1usize..20,
    ) {
        // The client sends nothing of its own, but its automatic Pongs
        // arrive before the timeout (the in-memory wire takes no time).
        let mut p = Pair::with_configs(&Config::default(), &settings(Some(interval), Some(timeout)));
        for _ in 0..rounds {
            let at = p.server.poll_timeout().expect("keepalive armed");
            p.advance(at - p.now);
        }
        prop_assert!(!p.server.is_closed());
        let pongs = p.take_server_events().into_iter().filter(|e| matches!(e, Ev::Pong(_))).count();
        prop_assert!(pongs >= 1);
    }
}

#[test]
fn keepalive_timeout_is_not_pushed_back_by_its_own_pings() {
    // The defaults' timeout (30 s) with an interval below it: before the
    // fix each Ping re-armed the timeout and the peer was never dead.
    let mut s = server(&settings(Some(10_000), Some(30_000)));
    let (closed, pings) = silent_peer(&mut s, t(3_600_000));
    assert_eq!(closed, Some((t(40_000), ClosedReason::KeepaliveTimeout)));
    assert_eq!(pings, 1);
}

#[test]
fn zero_keepalive_interval_is_off_and_handle_timeout_returns() {
    let mut s = server(&settings(Some(0), None));
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(t(1_000_000));
    assert!(events(&mut s).is_empty());
    assert_eq!(s.pending_transmit(), 0);
}

#[test]
fn input_after_a_keepalive_ping_restarts_the_interval() {
    let mut s = server(&settings(Some(10_000), Some(5_000)));
    s.handle_timeout(t(10_000));
    assert_eq!(s.poll_timeout(), Some(t(15_000)));
    // The peer answers at 12 s: the timeout is off and the next Ping is
    // due 10 s after that input.
    s.handle_input(t(12_000), &client_frame(0x8A, b""));
    assert!(matches!(s.poll_event(), Some(Event::Pong(_))));
    assert_eq!(s.poll_timeout(), Some(t(22_000)));
}
