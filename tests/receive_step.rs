//! Receiving is the input step's work: by the time `handle_input` (or
//! `handle_eof`, `handle_timeout`) returns, Pings are answered, a violation
//! has ended the connection, and `poll_event` only hands out what was
//! parsed. Each test reads the connection's state before any `poll_event`.

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use wscore::{ClosedReason, Config, Event, ProtocolError};

#[path = "common/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// The most events one input step queues (`recv::BATCH` in the crate).
const BATCH: usize = 256;

#[test]
fn a_ping_is_answered_by_the_input_step() {
    let mut s = server(&Config::default());
    let mut wire = client_frame(0x81, b"first");
    wire.extend(client_frame(0x89, b"are you there"));
    s.handle_input(t(0), &wire);
    // No poll_event yet: the Pong is queued already.
    let frames = parse_wire(&transmit(&mut s));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].0.opcode, wscore::frame::Opcode::Pong);
    assert_eq!(frames[0].1, b"are you there");
    assert_eq!(
        events(&mut s),
        vec![
            Ev::Text("first".into()),
            Ev::Ping(b"are you there".to_vec())
        ]
    );
}

#[test]
fn a_violation_closes_the_connection_in_the_input_step() {
    let mut s = server(&Config::default());
    let mut wire = client_frame(0x82, b"kept");
    // A text message that is not UTF-8.
    wire.extend(client_frame(0x81, &[0xff, 0xfe]));
    s.handle_input(t(0), &wire);
    assert!(s.is_closed());
    assert!(!s.close_sent(), "the Close waits for the events before it");
    assert_eq!(
        s.poll_timeout(),
        None,
        "an ended connection has no deadline"
    );
    assert_eq!(
        events(&mut s),
        vec![
            Ev::Binary(b"kept".to_vec()),
            Ev::Closed(ClosedReason::ProtocolError(ProtocolError::InvalidUtf8))
        ]
    );
    assert!(s.close_sent());
    assert_eq!(close_codes(&transmit(&mut s)), vec![Some(1007)]);
}

#[test]
fn eof_closes_the_connection_at_once_and_keeps_the_events() {
    let mut s = server(&Config::default());
    s.handle_input(t(0), &client_frame(0x81, b"last words"));
    s.handle_eof(t(0));
    assert!(s.is_closed());
    assert_eq!(
        events(&mut s),
        vec![Ev::Text("last words".into()), Ev::Closed(ClosedReason::Eof)]
    );
}

#[test]
fn a_late_message_closes_the_connection_in_handle_timeout() {
    let config = cfg(|c| c.message_timeout = Some(Duration::from_secs(5)));
    let mut s = server(&config);
    let mut wire = client_frame(0x81, b"complete");
    let half = client_frame(0x82, b"never finished");
    wire.extend_from_slice(&half[..8]);
    s.handle_input(t(0), &wire);
    s.handle_timeout(t(5_000));
    assert!(s.is_closed());
    assert_eq!(
        events(&mut s),
        vec![
            Ev::Text("complete".into()),
            Ev::Closed(ClosedReason::MessageTimeout)
        ]
    );
    assert_eq!(close_codes(&transmit(&mut s)), vec![Some(1008)]);
}

#[test]
fn a_ping_between_fragments_keeps_its_payload_when_the_next_fragment_joins() {
    // The Ping sits in the gap the next fragment's payload is moved over;
    // all of it arrives in one read, so its event is still queued then.
    let mut s = server(&Config::default());
    let mut wire = client_frame(0x01, b"abc");
    wire.extend(client_frame(0x89, b"ping payload"));
    wire.extend(client_frame(0x80, b"defghijklmnopqrstuvwxyz"));
    s.handle_input(t(0), &wire);
    assert_eq!(
        events(&mut s),
        vec![
            Ev::Ping(b"ping payload".to_vec()),
            Ev::Text("abcdefghijklmnopqrstuvwxyz".into())
        ]
    );
}

/// A flood of empty Pings in one read: the input step queues one batch,
/// answers its Pings, and the rest is parsed as the events are drained;
/// the queue's heap stays that of one batch, at BATCH and BATCH + 1 events.
#[test]
fn a_flood_of_empty_frames_is_queued_a_batch_at_a_time() {
    for n in [BATCH, BATCH + 1, 10 * BATCH] {
        let mut s = server(&cfg(|c| c.auto_pong = false));
        let mut wire = Vec::new();
        for _ in 0..n {
            wire.extend(client_frame(0x8A, b""));
        }
        let before = counting::live();
        s.handle_input(t(0), &wire);
        let held = counting::live() - before;
        // The input (6 bytes a frame) and a queue of one batch.
        let bound = wire.len() + wire.len() / 8 + 64 + BATCH * 32 + 128;
        assert!(held as usize <= bound, "{n} frames: {held} > {bound}");
        let mut count = 0;
        while let Some(event) = s.poll_event() {
            assert_eq!(event, Event::Pong(b""));
            count += 1;
        }
        assert_eq!(count, n);
    }
}

#[test]
fn pings_past_a_batch_are_answered_as_the_events_are_drained() {
    let mut s = server(&Config::default());
    let mut wire = Vec::new();
    // Empty Pings: their Pongs (2 bytes each) stay within the budget of
    // unsent automatic Pongs (`AUTO_PONG_BUDGET`), so none is coalesced.
    for _ in 0..BATCH + 10 {
        wire.extend(client_frame(0x89, b""));
    }
    s.handle_input(t(0), &wire);
    let pongs = parse_wire(&transmit(&mut s)).len();
    assert_eq!(pongs, BATCH, "the input step answers one batch");
    assert_eq!(events(&mut s).len(), BATCH + 10);
    assert_eq!(parse_wire(&transmit(&mut s)).len(), 10);
}

proptest! {
    /// However the input is cut, after each input step the Pongs for the
    /// complete Pings in it are queued, before any event is drained.
    #[test]
    fn pongs_follow_the_input_step_under_any_chunking(
        pings in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20), 1..20),
        cuts in prop::collection::vec(1usize..40, 1..40),
    ) {
        let mut wire = Vec::new();
        for p in &pings {
            wire.extend(client_frame(0x89, p));
        }
        let mut s = server(&Config::default());
        let mut pongs = Vec::new();
        let mut rest = &wire[..];
        let mut cut = cuts.iter().cycle();
        while !rest.is_empty() {
            let n = (*cut.next().unwrap()).min(rest.len());
            s.handle_input(t(0), &rest[..n]);
            rest = &rest[n..];
            let complete = wire.len() - rest.len();
            // Every Ping wholly inside the bytes fed so far is answered.
            let mut end = 0;
            let mut expect = 0;
            for p in &pings {
                end += client_frame(0x89, p).len();
                if end <= complete {
                    expect += 1;
                }
            }
            for (_, payload) in parse_wire(&transmit(&mut s)) {
                pongs.push(payload);
            }
            prop_assert_eq!(pongs.len(), expect);
            while s.poll_event().is_some() {}
        }
        prop_assert_eq!(pongs, pings);
    }
}

#[test]
fn frames_behind_a_full_batch_are_still_handed_out_after_eof() {
    let mut s = server(&cfg(|c| c.auto_pong = false));
    let mut wire = Vec::new();
    for _ in 0..BATCH + 3 {
        wire.extend(client_frame(0x8A, b""));
    }
    wire.extend(client_frame(0x81, b"the last message"));
    s.handle_input(t(0), &wire);
    s.handle_eof(t(0));
    assert!(s.is_closed());
    let evs = events(&mut s);
    assert_eq!(evs.len(), BATCH + 5);
    assert_eq!(evs[BATCH + 3], Ev::Text("the last message".into()));
    assert_eq!(evs[BATCH + 4], Ev::Closed(ClosedReason::Eof));
}

#[cfg(feature = "deflate")]
#[test]
fn compressed_messages_in_one_read_each_pause_the_parse_and_all_arrive_after_eof() {
    use wscore::extension::deflate::DeflateParams;
    let p = DeflateParams::default();
    let (mut c, mut s) = common::deflate::connections(&p, &Config::default(), &Config::default());
    let text = "compressible ".repeat(20);
    for _ in 0..3 {
        c.send_text(&text).unwrap();
    }
    c.send_ping(b"behind them").unwrap();
    let wire = transmit(&mut c);
    s.handle_input(t(0), &wire);
    s.handle_eof(t(0));
    assert!(s.is_closed());
    let evs = events(&mut s);
    assert_eq!(
        evs,
        vec![
            Ev::Text(text.clone()),
            Ev::Text(text.clone()),
            Ev::Text(text),
            Ev::Ping(b"behind them".to_vec()),
            Ev::Closed(ClosedReason::Eof)
        ]
    );
}

// Found by the hostile review of the eager input step.

#[test]
fn a_close_behind_a_full_batch_then_eof_is_a_clean_end_and_the_last_frame() {
    let mut s = server(&Config::default());
    let mut wire = Vec::new();
    for _ in 0..BATCH {
        wire.extend(client_frame(0x89, b""));
    }
    wire.extend(client_frame(0x88, &[0x03, 0xE8]));
    wire.extend(client_frame(0x81, b"after close"));
    s.handle_input(t(0), &wire);
    s.handle_eof(t(1));
    let evs = events(&mut s);
    assert_eq!(evs.len(), BATCH + 2, "nothing after the Close: {evs:?}");
    assert_eq!(
        &evs[BATCH..],
        &[
            Ev::Close(1000, String::new()),
            Ev::Closed(ClosedReason::Clean {
                code: wscore::CloseCode::NORMAL
            })
        ]
    );
}

#[test]
fn a_message_deadline_after_the_peers_close_is_not_a_timeout() {
    for drain_first in [false, true] {
        let mut s = server(&Config::default());
        s.handle_input(t(0), &client_frame(0x01, b"par"));
        s.handle_input(t(10), &client_frame(0x88, &[0x03, 0xE8]));
        if drain_first {
            assert_eq!(
                events(&mut s).last(),
                Some(&Ev::Closed(ClosedReason::Clean {
                    code: wscore::CloseCode::NORMAL
                }))
            );
            continue;
        }
        // A driver handles a due deadline before it polls events.
        s.handle_timeout(t(60_000));
        assert_eq!(
            events(&mut s),
            vec![
                Ev::Close(1000, String::new()),
                Ev::Closed(ClosedReason::Clean {
                    code: wscore::CloseCode::NORMAL
                })
            ]
        );
        assert_eq!(close_codes(&transmit(&mut s)), vec![Some(1000)]);
    }
    // A client whose close handshake is done waits for EOF, not for the
    // message it had in progress.
    let mut c = client(&Config::default());
    c.handle_input(t(0), &server_frame(0x01, b"par"));
    c.handle_input(t(50_000), &server_frame(0x88, &[0x03, 0xE8]));
    let _ = events(&mut c);
    c.handle_timeout(t(60_001));
    assert!(!c.is_closed(), "closed by the message deadline");
}

#[test]
fn pings_before_a_violation_can_still_be_answered() {
    let mut s = server(&cfg(|c| c.auto_pong = false));
    let mut wire = client_frame(0x89, b"x");
    wire.extend(client_frame(0x83, b"")); // a reserved opcode
    s.handle_input(t(0), &wire);
    assert!(s.is_closed());
    assert_eq!(s.poll_event(), Some(Event::Ping(b"x")));
    s.send_pong(b"x").unwrap();
    s.send_text("y").unwrap();
    assert_eq!(
        events(&mut s),
        vec![Ev::Closed(ClosedReason::ProtocolError(
            ProtocolError::ReservedOpcode(3)
        ))]
    );
    assert!(s.send_pong(b"late").is_err(), "the Close is out");
    let frames = parse_wire(&transmit(&mut s));
    assert_eq!(frames.len(), 3, "the Pong, the text, the Close");
    assert_eq!(frames[0].1, b"x");
}
