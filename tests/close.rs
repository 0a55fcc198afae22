//! The close handshake (RFC 6455 sections 5.5.1 and 7).

mod common;

use std::time::Duration;

use common::*;
use wscore::frame::Opcode;
use wscore::{CloseCode, ClosedReason, Config};

#[test]
fn client_initiated_close_completes_and_server_closes_transport_first() {
    let mut p = Pair::new();
    p.client.close(p.now, CloseCode::NORMAL, "bye").unwrap();
    p.drive();
    // The server saw the Close, echoed it, and is done (it closes TCP first).
    assert_eq!(
        p.take_server_events(),
        vec![
            Ev::Close(1000, "bye".into()),
            Ev::Closed(ClosedReason::Clean {
                code: CloseCode::NORMAL
            })
        ]
    );
    assert!(p.server.is_closed());
    // The client got the echo but waits for the server's transport close.
    assert_eq!(p.take_client_events(), vec![Ev::Close(1000, String::new())]);
    assert!(!p.client.is_closed());
    p.server_closes_transport();
    assert_eq!(
        p.take_client_events(),
        vec![Ev::Closed(ClosedReason::Clean {
            code: CloseCode::NORMAL
        })]
    );
    assert_eq!(close_codes(&p.server_wire), vec![Some(1000)]);
}

#[test]
fn server_initiated_close() {
    let mut p = Pair::new();
    p.server
        .close(p.now, CloseCode::GOING_AWAY, "restart")
        .unwrap();
    p.drive();
    assert_eq!(
        p.take_client_events(),
        vec![Ev::Close(1001, "restart".into())]
    );
    assert_eq!(
        p.take_server_events(),
        vec![
            Ev::Close(1001, String::new()),
            Ev::Closed(ClosedReason::Clean {
                code: CloseCode::GOING_AWAY
            })
        ]
    );
    p.server_closes_transport();
    assert!(p.client.is_closed());
}

#[test]
fn both_close_at_once() {
    let mut p = Pair::new();
    p.client.close(p.now, CloseCode::NORMAL, "c").unwrap();
    p.server.close(p.now, CloseCode::GOING_AWAY, "s").unwrap();
    p.drive();
    // Each side sent exactly one Close and did not echo the other's.
    assert_eq!(close_codes(&p.client_wire), vec![Some(1000)]);
    assert_eq!(close_codes(&p.server_wire), vec![Some(1001)]);
    assert!(p.server.is_closed());
    p.server_closes_transport();
    assert!(p.client.is_closed());
    assert!(p.client_events.contains(&Ev::Closed(ClosedReason::Clean {
        code: CloseCode::GOING_AWAY
    })));
}

#[test]
fn data_after_our_close_is_still_delivered_until_the_peers_close() {
    let mut s = server(&Config::default());
    s.close(t(0), CloseCode::NORMAL, "").unwrap();
    let mut wire = client_frame(0x81, b"in flight");
    wire.extend(client_frame(0x88, &1000u16.to_be_bytes()));
    s.handle_input(t(0), &wire);
    assert_eq!(
        events(&mut s),
        vec![
            Ev::Text("in flight".into()),
            Ev::Close(1000, String::new()),
            Ev::Closed(ClosedReason::Clean {
                code: CloseCode::NORMAL
            })
        ]
    );
    // Exactly one Close went out, and no data after it.
    assert_eq!(close_codes(&transmit(&mut s)), vec![Some(1000)]);
}

#[test]
fn empty_close_is_reported_as_1005_and_answered_with_an_empty_close() {
    let mut s = server(&Config::default());
    s.handle_input(t(0), &client_frame(0x88, b""));
    assert_eq!(
        events(&mut s),
        vec![
            Ev::Close(1005, String::new()),
            Ev::Closed(ClosedReason::Clean {
                code: CloseCode::NO_STATUS_RECEIVED
            })
        ]
    );
    assert_eq!(close_codes(&transmit(&mut s)), vec![None]);
}

#[test]
fn input_after_the_peers_close_is_ignored() {
    let mut s = server(&Config::default());
    let mut wire = client_frame(0x88, &1000u16.to_be_bytes());
    wire.extend(client_frame(0x81, b"after close"));
    wire.extend([0xFF; 10]); // garbage too
    s.handle_input(t(0), &wire);
    let evs = events(&mut s);
    assert_eq!(evs.len(), 2, "{evs:?}");
    assert!(!evs.contains(&Ev::Text("after close".into())));
}

#[test]
fn manual_close_reply_when_auto_close_is_off() {
    let config = cfg(|c| c.auto_close = false);
    let mut s = server(&config);
    s.handle_input(t(0), &client_frame(0x88, &[0x03, 0xE8, b'x']));
    assert_eq!(events(&mut s), vec![Ev::Close(1000, "x".into())]);
    assert_eq!(s.pending_transmit(), 0, "no automatic reply");
    // The application may finish what it was sending, then close.
    s.send_text("last words").unwrap();
    s.close(t(0), CloseCode::NORMAL, "done").unwrap();
    assert_eq!(
        events(&mut s),
        vec![Ev::Closed(ClosedReason::Clean {
            code: CloseCode::NORMAL
        })]
    );
    let frames = parse_wire(&transmit(&mut s));
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].0.opcode, Opcode::Close);
}

#[test]
fn eof_without_close_is_abnormal() {
    let mut p = Pair::new();
    p.client.send_text("x").unwrap();
    p.drive();
    p.server.handle_eof(p.now);
    assert_eq!(events(&mut p.server), vec![Ev::Closed(ClosedReason::Eof)]);
    assert_eq!(ClosedReason::Eof.code(), CloseCode::ABNORMAL);
    // Nothing after the end, however often asked.
    p.server.handle_eof(p.now);
    p.server.handle_input(p.now, &client_frame(0x81, b"x"));
    assert_eq!(events(&mut p.server), vec![]);
}

#[test]
fn eof_after_our_close_but_before_the_reply_is_abnormal() {
    let mut s = server(&Config::default());
    s.close(t(0), CloseCode::NORMAL, "").unwrap();
    s.handle_eof(t(1));
    assert_eq!(events(&mut s), vec![Ev::Closed(ClosedReason::Eof)]);
}

#[test]
fn unanswered_close_times_out() {
    let config = cfg(|c| c.close_timeout = Some(Duration::from_secs(5)));
    let mut s = server(&config);
    s.handle_input(t(1000), &[]);
    s.close(t(1000), CloseCode::NORMAL, "").unwrap();
    assert_eq!(s.poll_timeout(), Some(t(6000)));
    s.handle_timeout(t(5999));
    assert!(!s.is_closed(), "early timeout calls are harmless");
    s.handle_timeout(t(6000));
    assert_eq!(events(&mut s), vec![Ev::Closed(ClosedReason::CloseTimeout)]);
    assert_eq!(ClosedReason::CloseTimeout.code(), CloseCode::ABNORMAL);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn client_stops_waiting_for_the_servers_transport_close() {
    let config = cfg(|c| c.close_timeout = Some(Duration::from_secs(2)));
    let mut p = Pair::with_configs(&config, &Config::default());
    p.client.close(p.now, CloseCode::NORMAL, "").unwrap();
    p.drive();
    assert!(!p.client.is_closed());
    p.advance(Duration::from_secs(2));
    assert!(p.client.is_closed());
    assert_eq!(
        p.take_client_events().last(),
        Some(&Ev::Closed(ClosedReason::Clean {
            code: CloseCode::NORMAL
        }))
    );
}

#[test]
fn events_received_before_a_failure_are_not_lost() {
    let mut s = server(&Config::default());
    let mut wire = client_frame(0x81, b"one");
    wire.extend(client_frame(0x82, b"two"));
    wire.extend(client_frame(0x83, b"bad opcode"));
    s.handle_input(t(0), &wire);
    assert_eq!(
        events(&mut s),
        vec![
            Ev::Text("one".into()),
            Ev::Binary(b"two".to_vec()),
            Ev::Closed(ClosedReason::ProtocolError(
                wscore::ProtocolError::ReservedOpcode(3)
            ))
        ]
    );
}

/// Regression (the client example printed no echoes when stdin ended at
/// once): messages and a Close in one read. The replies to the messages must
/// go out before the automatic Close reply.
#[test]
fn replies_to_messages_before_a_close_precede_the_close_reply() {
    let mut s = server(&Config::default());
    let mut wire = client_frame(0x81, b"hello");
    wire.extend(client_frame(0x81, b"world"));
    wire.extend(client_frame(0x88, &1000u16.to_be_bytes()));
    s.handle_input(t(0), &wire);
    assert!(!s.close_sent());
    let mut echoed = 0;
    loop {
        let text = match s.poll_event() {
            Some(wscore::Event::Text(t)) => t.to_owned(),
            Some(_) => continue,
            None => break,
        };
        s.send_text(&text).unwrap();
        echoed += 1;
    }
    assert_eq!(echoed, 2);
    assert!(s.is_closed());
    let frames = parse_wire(&transmit(&mut s));
    let kinds: Vec<Opcode> = frames.iter().map(|(h, _)| h.opcode).collect();
    assert_eq!(kinds, [Opcode::Text, Opcode::Text, Opcode::Close]);
}

#[test]
fn eof_after_complete_frames_hands_them_out_first() {
    // Frames parsed lazily must not be lost when the transport ends before
    // the application drained them: first the frames, then Closed(Eof); a
    // frame cut by the EOF is dropped.
    let mut s = server(&Config::default());
    let mut wire = client_frame(0x81, b"one");
    wire.extend(client_frame(0x89, b"ping"));
    wire.extend(client_frame(0x82, b"two"));
    let cut = client_frame(0x81, b"never whole");
    wire.extend(&cut[..cut.len() - 3]);
    s.handle_input(t(0), &wire);
    s.handle_eof(t(0));
    assert_eq!(
        events(&mut s),
        vec![
            Ev::Text("one".into()),
            Ev::Ping(b"ping".to_vec()),
            Ev::Binary(b"two".to_vec()),
            Ev::Closed(ClosedReason::Eof)
        ]
    );
    assert!(s.is_closed());
    // Input after EOF is ignored, and nothing more is reported.
    s.handle_input(t(0), &client_frame(0x81, b"late"));
    assert_eq!(events(&mut s), vec![]);
}

#[test]
fn eof_inside_a_streamed_character_ends_without_a_partial_event() {
    let mut s = server(&cfg(|c| c.streaming = true));
    let wire = client_frame(0x01, "a€".as_bytes());
    s.handle_input(t(0), &wire[..wire.len() - 1]);
    s.handle_eof(t(0));
    assert_eq!(
        events(&mut s),
        vec![
            Ev::TextFragment("a".into(), false),
            Ev::Closed(ClosedReason::Eof)
        ]
    );
}

// Found by the hostile review: a client whose transport delivered the
// server's Close and then EOF before the application drained events went
// to AwaitEof and waited for the close timer (forever with none).

#[test]
fn client_close_then_eof_before_draining_reports_closed_at_once() {
    for close_timeout in [Some(std::time::Duration::from_secs(30)), None] {
        let mut c = client(&cfg(|c| c.close_timeout = close_timeout));
        c.handle_input(t(0), &server_frame(0x88, &[0x03, 0xE8]));
        c.handle_eof(t(0));
        assert_eq!(
            events(&mut c),
            vec![
                Ev::Close(1000, String::new()),
                Ev::Closed(ClosedReason::Clean {
                    code: CloseCode::NORMAL
                })
            ],
            "close_timeout {close_timeout:?}"
        );
        assert_eq!(c.poll_timeout(), None);
    }
}

#[test]
fn client_close_reply_then_eof_before_draining_reports_closed_at_once() {
    let mut c = client(&Config::default());
    c.close(t(0), CloseCode::NORMAL, "").unwrap();
    let _ = transmit(&mut c);
    c.handle_input(t(1), &server_frame(0x88, &[0x03, 0xE8]));
    c.handle_eof(t(1));
    assert_eq!(
        events(&mut c),
        vec![
            Ev::Close(1000, String::new()),
            Ev::Closed(ClosedReason::Clean {
                code: CloseCode::NORMAL
            })
        ]
    );
}

#[test]
fn close_on_a_long_idle_connection_gives_the_peer_the_whole_timeout() {
    // Idle for a minute, then the application closes (say, at shutdown):
    // the deadline counts from the `now` given to `close`, not from the
    // last input a minute ago.
    let mut s = server(&Config::default());
    s.close(t(60_000), CloseCode::NORMAL, "bye").unwrap();
    let _ = transmit(&mut s);
    let mut now = t(60_000);
    // Other deadlines (the buffer release) may come and go meanwhile; the
    // close deadline is the one that ends the connection, at now + 30 s.
    while let Some(at) = s.poll_timeout() {
        now = now.max(at);
        s.handle_timeout(now);
        let evs = events(&mut s);
        if !evs.is_empty() {
            assert_eq!(evs, vec![Ev::Closed(ClosedReason::CloseTimeout)]);
            assert_eq!(now, t(90_000), "closed without waiting the whole timeout");
            return;
        }
        assert!(now < t(90_000), "no end by the close deadline");
    }
    panic!("no close deadline");
}

/// The `Sender` handed out with an event has no `now` of its own: its
/// `close` counts the deadline from the input that brought the event.
#[test]
fn a_senders_close_counts_from_the_input_that_brought_the_event() {
    let config = cfg(|c| {
        c.close_timeout = Some(Duration::from_secs(5));
        // Only the close deadline is left to look at.
        c.buffer_release = None;
    });
    let mut s = server(&config);
    s.handle_input(t(1000), &[]);
    s.handle_input(t(7000), &client_frame(0x81, b"bye"));
    let (event, mut tx) = s.poll_event_with_sender().unwrap();
    assert_eq!(Ev::from_event(event), Ev::Text("bye".into()));
    tx.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(s.poll_timeout(), Some(t(12_000)));
    s.handle_timeout(t(11_999));
    assert!(!s.is_closed());
    s.handle_timeout(t(12_000));
    assert_eq!(events(&mut s), vec![Ev::Closed(ClosedReason::CloseTimeout)]);
}
