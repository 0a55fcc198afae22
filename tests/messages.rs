//! Data messages: whole, fragmented, streamed, in both directions.

mod common;

use common::*;
use wscore::{ClosedReason, Config, MessageKind, ProtocolError, SendError};

#[test]
fn text_and_binary_both_ways() {
    let mut p = Pair::new();
    p.client.send_text("hello").unwrap();
    p.client.send_binary(&[0, 1, 2, 255]).unwrap();
    p.server.send_text("héllo wörld").unwrap();
    p.server.send_binary(b"").unwrap();
    p.drive();
    assert_eq!(
        p.take_server_events(),
        vec![Ev::Text("hello".into()), Ev::Binary(vec![0, 1, 2, 255])]
    );
    assert_eq!(
        p.take_client_events(),
        vec![Ev::Text("héllo wörld".into()), Ev::Binary(vec![])]
    );
}

#[test]
fn client_frames_are_masked_and_server_frames_are_not() {
    let mut p = Pair::new();
    p.client.send_text("abc").unwrap();
    p.server.send_text("abc").unwrap();
    p.drive();
    for (h, _) in parse_wire(&p.client_wire) {
        assert!(h.mask.is_some());
    }
    for (h, _) in parse_wire(&p.server_wire) {
        assert!(h.mask.is_none());
    }
}

#[test]
fn every_chunking_gives_the_same_events() {
    let sizes = [vec![1], vec![2], vec![3, 7], vec![13], vec![100, 1]];
    let run = |chunking: Chunking| {
        let mut p = Pair::new();
        p.chunking = chunking;
        p.client.send_text("first message").unwrap();
        p.client.send_ping(b"pp").unwrap();
        p.client.begin_message(MessageKind::Binary).unwrap();
        p.client.send_fragment(&[9; 300], false).unwrap();
        p.client.send_ping(b"mid").unwrap();
        p.client.send_fragment(&[8; 70000], true).unwrap();
        p.client.send_text("κόσμε").unwrap();
        p.drive();
        p.take_server_events()
    };
    let whole = run(Chunking::Whole);
    assert_eq!(whole.len(), 5, "{whole:?}");
    assert_eq!(run(Chunking::Bytewise), whole);
    for s in sizes {
        assert_eq!(run(Chunking::Sizes(s)), whole);
    }
}

#[test]
fn fragmented_message_with_interleaved_control_frames() {
    let mut s = server(&Config::default());
    let mut wire = client_frame(0x01, b"Hel"); // text, not FIN
    wire.extend(client_frame(0x89, b"ping!")); // ping in between
    wire.extend(client_frame(0x00, "lo κ".as_bytes())); // continuation
    wire.extend(client_frame(0x8A, b"")); // pong in between
    wire.extend(client_frame(0x80, "όσμε".as_bytes())); // final continuation
    s.handle_input(t(0), &wire);
    assert_eq!(
        events(&mut s),
        vec![
            Ev::Ping(b"ping!".to_vec()),
            Ev::Pong(vec![]),
            Ev::Text("Hello κόσμε".into())
        ]
    );
    // The ping was answered with a pong carrying its payload.
    let out = parse_wire(&transmit(&mut s));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.opcode, wscore::frame::Opcode::Pong);
    assert_eq!(out[0].1, b"ping!");
}

#[test]
fn text_split_inside_a_character_across_frames_is_fine() {
    let mut s = server(&Config::default());
    let euro = "€".as_bytes(); // 3 bytes
    let mut wire = client_frame(0x01, &euro[..1]);
    wire.extend(client_frame(0x00, &euro[1..2]));
    wire.extend(client_frame(0x80, &euro[2..]));
    s.handle_input(t(0), &wire);
    assert_eq!(events(&mut s), vec![Ev::Text("€".into())]);
}

#[test]
fn invalid_utf8_fails_before_the_frame_ends() {
    // A frame announcing 100 bytes whose third byte already makes the text
    // invalid: the connection fails with 1007 as soon as that byte arrives.
    let mut payload = b"ok".to_vec();
    payload.push(0xFF);
    payload.extend(std::iter::repeat_n(b'a', 97));
    let wire = client_frame(0x81, &payload);
    let header_len = 2 + 2 + 4; // 16-bit length form, mask key
    let mut s = server(&Config::default());
    s.handle_input(t(0), &wire[..header_len + 3]);
    let evs = events(&mut s);
    assert!(s.is_closed());
    assert_eq!(
        evs,
        vec![Ev::Closed(ClosedReason::ProtocolError(
            ProtocolError::InvalidUtf8
        ))]
    );
    assert_eq!(close_codes(&transmit(&mut s)), vec![Some(1007)]);
}

#[test]
fn invalid_utf8_fails_in_a_fragment_before_the_message_ends() {
    let mut s = server(&Config::default());
    s.handle_input(t(0), &client_frame(0x01, b"fine"));
    assert_eq!(events(&mut s), vec![]);
    assert!(!s.is_closed());
    s.handle_input(t(0), &client_frame(0x00, &[0xED, 0xA0, 0x80])); // a surrogate
    assert_eq!(
        events(&mut s),
        vec![Ev::Closed(ClosedReason::ProtocolError(
            ProtocolError::InvalidUtf8
        ))]
    );
    assert!(s.is_closed());
    assert_eq!(close_codes(&transmit(&mut s)), vec![Some(1007)]);
}

#[test]
fn text_ending_inside_a_character_is_1007() {
    let mut s = server(&Config::default());
    s.handle_input(t(0), &client_frame(0x81, &"€".as_bytes()[..2]));
    events(&mut s);
    assert_eq!(close_codes(&transmit(&mut s)), vec![Some(1007)]);
}

#[test]
fn streaming_mode_delivers_pieces_as_they_arrive() {
    let config = cfg(|c| c.streaming = true);
    let mut s = server(&config);
    let wire = client_frame(0x01, "ab€".as_bytes()); // 5 bytes, not FIN
    let fin = client_frame(0x80, b"cd");
    // Feed the first frame with its payload cut inside the euro sign.
    let header = 6;
    s.handle_input(t(0), &wire[..header + 3]);
    assert_eq!(events(&mut s), vec![Ev::TextFragment("ab".into(), false)]);
    s.handle_input(t(0), &wire[header + 3..]);
    assert_eq!(events(&mut s), vec![Ev::TextFragment("€".into(), false)]);
    s.handle_input(t(0), &fin);
    assert_eq!(events(&mut s), vec![Ev::TextFragment("cd".into(), true)]);

    // An empty final frame still ends the message.
    s.handle_input(t(0), &client_frame(0x02, b"xyz"));
    s.handle_input(t(0), &client_frame(0x80, b""));
    assert_eq!(
        events(&mut s),
        vec![
            Ev::BinaryFragment(b"xyz".to_vec(), false),
            Ev::BinaryFragment(vec![], true)
        ]
    );
}

#[test]
fn streaming_mode_never_buffers_the_message() {
    // 8 MiB message through a connection whose message limit allows it, in
    // 64 KiB reads: every read is delivered as it comes.
    let config = cfg(|c| c.streaming = true);
    let mut s = server(&config);
    let payload = vec![7u8; 8 << 20];
    let wire = client_frame(0x82, &payload);
    let mut total = 0;
    for chunk in wire.chunks(64 << 10) {
        s.handle_input(t(0), chunk);
        while let Some(e) = s.poll_event() {
            match e {
                wscore::Event::BinaryFragment { data, .. } => {
                    assert!(data.len() <= 64 << 10);
                    total += data.len();
                }
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(total, payload.len());
}

#[test]
fn automatic_fragmentation_splits_and_reassembles() {
    let config = cfg(|c| c.fragment_size = Some(10));
    let mut p = Pair::with_configs(&config, &Config::default());
    let text = "0123456789abcdefghij€€€€";
    p.client.send_text(text).unwrap();
    p.drive();
    let frames = parse_wire(&p.client_wire);
    assert_eq!(frames.len(), 4);
    assert!(frames.iter().all(|(h, _)| h.payload_len <= 10));
    assert!(frames[..3].iter().all(|(h, _)| !h.fin));
    assert!(frames[3].0.fin);
    assert_eq!(p.take_server_events(), vec![Ev::Text(text.into())]);
}

#[test]
fn streamed_send_produces_one_message() {
    let mut p = Pair::new();
    p.server.begin_message(MessageKind::Text).unwrap();
    let euro = "€".as_bytes();
    p.server.send_fragment(&euro[..1], false).unwrap();
    // Other frames may interleave with fragments: control frames only.
    p.server.send_ping(b"x").unwrap();
    p.server.send_fragment(&euro[1..], true).unwrap();
    p.drive();
    assert_eq!(
        p.take_client_events(),
        vec![Ev::Ping(b"x".to_vec()), Ev::Text("€".into())]
    );
}

#[test]
fn send_misuse_is_refused_and_changes_nothing() {
    let mut s = server(&Config::default());
    assert_eq!(
        s.send_fragment(b"x", true),
        Err(SendError::NoMessageStarted)
    );
    assert_eq!(s.send_ping(&[0; 126]), Err(SendError::ControlTooLong));
    assert_eq!(s.send_pong(&[0; 126]), Err(SendError::ControlTooLong));
    assert_eq!(s.pending_transmit(), 0);

    s.begin_message(MessageKind::Text).unwrap();
    assert_eq!(
        s.begin_message(MessageKind::Binary),
        Err(SendError::MessageInProgress)
    );
    assert_eq!(s.send_text("x"), Err(SendError::MessageInProgress));
    assert_eq!(s.send_fragment(&[0xFF], false), Err(SendError::InvalidUtf8));
    assert_eq!(
        s.send_fragment(&[0xE2, 0x82], true),
        Err(SendError::InvalidUtf8)
    );
    assert_eq!(s.pending_transmit(), 0, "refused calls queued nothing");
    // The refused pieces left no trace: a valid continuation still works.
    s.send_fragment("ok".as_bytes(), true).unwrap();
    assert!(s.pending_transmit() > 0);

    for (code, reason, err) in [
        (1005, "", SendError::InvalidCloseCode(1005)),
        (1006, "", SendError::InvalidCloseCode(1006)),
        (1015, "", SendError::InvalidCloseCode(1015)),
        (1004, "", SendError::InvalidCloseCode(1004)),
        (999, "", SendError::InvalidCloseCode(999)),
        (2000, "", SendError::InvalidCloseCode(2000)),
        (5000, "", SendError::InvalidCloseCode(5000)),
    ] {
        assert_eq!(s.close(t(0), wscore::CloseCode(code), reason), Err(err));
    }
    let long = "x".repeat(124);
    assert_eq!(
        s.close(t(0), wscore::CloseCode::NORMAL, &long),
        Err(SendError::CloseReasonTooLong)
    );
    assert!(!s.close_sent());
    s.close(t(0), wscore::CloseCode::NORMAL, &long[..123])
        .unwrap();
    assert_eq!(s.send_text("late"), Err(SendError::Closed));
    assert_eq!(s.send_binary(b"late"), Err(SendError::Closed));
    assert_eq!(s.send_ping(b""), Err(SendError::Closed));
    assert_eq!(s.begin_message(MessageKind::Binary), Err(SendError::Closed));
    assert_eq!(
        s.close(t(0), wscore::CloseCode::NORMAL, ""),
        Err(SendError::Closed)
    );
}

#[test]
fn pending_transmit_reports_queued_bytes_for_backpressure() {
    let mut s = server(&Config::default());
    s.send_binary(&[0; 1000]).unwrap();
    assert_eq!(s.pending_transmit(), 1004);
    let mut buf = b"already here".to_vec();
    assert_eq!(s.poll_transmit(&mut buf), 1004);
    assert_eq!(buf.len(), 12 + 1004, "appended after what the buffer held");
    assert_eq!(s.pending_transmit(), 0);
}

/// What an in-place send puts on the wire: the header, then the payload.
fn in_place_wire(conn: &mut wscore::Connection, kind: MessageKind, payload: &[u8]) -> Vec<u8> {
    let mut buf = payload.to_vec();
    let header = conn.send_in_place(kind, &mut buf).unwrap();
    assert_eq!(conn.pending_transmit(), 0, "nothing is queued");
    [header.as_bytes(), &buf].concat()
}

#[test]
fn send_in_place_round_trips_in_both_roles() {
    for len in [0usize, 1, 125, 126, 65_535, 65_536, 200_000] {
        let payload: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        // Server to client: unmasked, the caller's buffer untouched.
        let mut p = Pair::new();
        let mut buf = payload.clone();
        let header = p
            .server
            .send_in_place(MessageKind::Binary, &mut buf)
            .unwrap();
        assert_eq!(buf, payload, "a server does not mask");
        p.client.handle_input(p.now, header.as_bytes());
        p.client.handle_input(p.now, &buf);
        assert_eq!(events(&mut p.client), vec![Ev::Binary(payload.clone())]);
        // Client to server: masked in place, with a fresh key.
        let wire = in_place_wire(&mut p.client, MessageKind::Binary, &payload);
        let frames = parse_wire(&wire);
        assert_eq!(frames.len(), 1);
        assert!(frames[0].0.mask.is_some() && frames[0].0.fin);
        p.server.handle_input(p.now, &wire);
        assert_eq!(events(&mut p.server), vec![Ev::Binary(payload)]);
    }
}

#[test]
fn send_in_place_text_is_checked_and_refusals_change_nothing() {
    let mut p = Pair::new();
    let wire = in_place_wire(&mut p.client, MessageKind::Text, "κόσμε".as_bytes());
    p.server.handle_input(p.now, &wire);
    assert_eq!(events(&mut p.server), vec![Ev::Text("κόσμε".into())]);

    let mut bad = vec![b'a', 0xFF];
    assert_eq!(
        p.client.send_in_place(MessageKind::Text, &mut bad),
        Err(SendError::InvalidUtf8)
    );
    assert_eq!(
        bad,
        [b'a', 0xFF],
        "a refused send leaves the payload as it was"
    );

    // Bytes waiting in poll_transmit would land between header and payload.
    p.client.send_ping(b"x").unwrap();
    let before = p.client.pending_transmit();
    let mut data = b"data".to_vec();
    assert_eq!(
        p.client.send_in_place(MessageKind::Binary, &mut data),
        Err(SendError::TransmitPending)
    );
    assert_eq!(
        (p.client.pending_transmit(), &data[..]),
        (before, &b"data"[..])
    );
    transmit(&mut p.client);

    p.client.begin_message(MessageKind::Binary).unwrap();
    assert_eq!(
        p.client.send_in_place(MessageKind::Binary, &mut data),
        Err(SendError::MessageInProgress)
    );
    p.client.send_fragment(b"", true).unwrap();
    transmit(&mut p.client);

    p.client
        .close(p.now, wscore::CloseCode::NORMAL, "")
        .unwrap();
    transmit(&mut p.client);
    assert_eq!(
        p.client.send_in_place(MessageKind::Binary, &mut data),
        Err(SendError::Closed)
    );
    assert_eq!(data, b"data");
}

#[test]
fn streaming_mode_reports_small_whole_frames_as_final_fragments() {
    // The small-frame fast path must not turn streaming mode's pieces into
    // whole-message events.
    let mut s = server(&cfg(|c| c.streaming = true));
    s.handle_input(t(0), &client_frame(0x81, b"hi"));
    s.handle_input(t(0), &client_frame(0x82, b"yo"));
    assert_eq!(
        events(&mut s),
        vec![
            Ev::TextFragment("hi".into(), true),
            Ev::BinaryFragment(b"yo".to_vec(), true)
        ]
    );
}
