//! One row per RFC 6455 rule a peer can break, with the exact close code the
//! connection must answer with. Each row is also fed one byte at a time: the
//! outcome must not depend on chunking.

mod common;

use common::*;
use wscore::{ClosedReason, Config, ProtocolError as P};

fn close(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

/// (name, frames the client sends to the server, expected error)
fn table() -> Vec<(&'static str, Vec<u8>, P)> {
    let limits_msg = 1000;
    let mut rows: Vec<(&str, Vec<u8>, P)> = vec![
        (
            "reserved opcode 3",
            client_frame(0x83, b""),
            P::ReservedOpcode(3),
        ),
        (
            "reserved opcode 7",
            client_frame(0x87, b""),
            P::ReservedOpcode(7),
        ),
        (
            "reserved control opcode B",
            client_frame(0x8B, b""),
            P::ReservedOpcode(0xB),
        ),
        (
            "reserved control opcode F",
            client_frame(0x8F, b""),
            P::ReservedOpcode(0xF),
        ),
        (
            "RSV1 without extension",
            client_frame(0xC1, b"x"),
            P::ReservedBits,
        ),
        ("RSV2", client_frame(0xA1, b"x"), P::ReservedBits),
        ("RSV3", client_frame(0x91, b"x"), P::ReservedBits),
        (
            "fragmented ping",
            client_frame(0x09, b""),
            P::FragmentedControl,
        ),
        (
            "fragmented close",
            client_frame(0x08, b""),
            P::FragmentedControl,
        ),
        (
            "ping of 126 bytes",
            client_frame(0x89, &[0; 126]),
            P::ControlTooLong,
        ),
        (
            "unmasked client frame",
            server_frame(0x81, b"hi"),
            P::UnmaskedFrame,
        ),
        (
            "continuation without a message",
            client_frame(0x80, b"x"),
            P::UnexpectedContinuation,
        ),
        (
            "new text inside a fragmented message",
            [client_frame(0x01, b"a"), client_frame(0x81, b"b")].concat(),
            P::ExpectedContinuation,
        ),
        (
            "new binary inside a fragmented message",
            [client_frame(0x02, b"a"), client_frame(0x82, b"b")].concat(),
            P::ExpectedContinuation,
        ),
        (
            "invalid UTF-8 text",
            client_frame(0x81, &[0xC0, 0xAF]),
            P::InvalidUtf8,
        ),
        (
            "close with 1 byte",
            client_frame(0x88, &[0x03]),
            P::InvalidCloseLength,
        ),
        (
            "close reason not UTF-8",
            client_frame(0x88, &close(1000, &[0xFF])),
            P::InvalidUtf8,
        ),
        (
            "frame over max_frame_size",
            client_frame(0x82, &vec![0; limits_msg + 1]),
            P::FrameTooLarge,
        ),
        (
            "message over max_message_size",
            [
                client_frame(0x02, &vec![0; 600]),
                client_frame(0x80, &vec![0; 401]),
            ]
            .concat(),
            P::MessageTooLarge,
        ),
    ];
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        rows.push((
            "bad close code",
            client_frame(0x88, &close(code, b"")),
            P::InvalidCloseCode(code),
        ));
    }
    rows
}

fn limited() -> Config {
    cfg(|c| {
        c.max_frame_size = 1000;
        c.max_message_size = 1000;
    })
}

#[test]
fn every_violation_gets_its_close_code() {
    for (name, wire, err) in table() {
        for chunking in [Chunking::Whole, Chunking::Bytewise] {
            let mut s = server(&limited());
            let mut evs = Vec::new();
            for piece in chunking.split(&wire) {
                s.handle_input(t(0), piece);
                evs.extend(events(&mut s));
            }
            assert!(s.is_closed(), "{name}: not failed");
            assert_eq!(
                evs.last(),
                Some(&Ev::Closed(ClosedReason::ProtocolError(err))),
                "{name}"
            );
            assert_eq!(
                close_codes(&transmit(&mut s)),
                vec![Some(err.close_code().0)],
                "{name}"
            );
        }
    }
}

#[test]
fn masked_server_frame_is_refused_by_a_client() {
    let mut c = client(&Config::default());
    c.handle_input(t(0), &client_frame(0x81, b"masked"));
    assert_eq!(
        events(&mut c),
        vec![Ev::Closed(ClosedReason::ProtocolError(P::MaskedFrame))]
    );
    // The client's own Close is masked, as all its frames are.
    let out = transmit(&mut c);
    assert_eq!(close_codes(&out), vec![Some(1002)]);
    assert!(parse_wire(&out)[0].0.mask.is_some());
}

#[test]
fn valid_close_codes_are_accepted() {
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
        4000, 4999,
    ] {
        let mut s = server(&Config::default());
        s.handle_input(t(0), &client_frame(0x88, &close(code, b"fine")));
        assert_eq!(events(&mut s)[0], Ev::Close(code, "fine".into()), "{code}");
        assert_eq!(close_codes(&transmit(&mut s)), vec![Some(code)], "echoed");
    }
}

#[test]
fn limits_at_the_cap_are_accepted() {
    let mut s = server(&limited());
    s.handle_input(t(0), &client_frame(0x82, &vec![1; 1000]));
    assert_eq!(events(&mut s), vec![Ev::Binary(vec![1; 1000])]);
    let mut wire = client_frame(0x02, &vec![2; 600]);
    wire.extend(client_frame(0x80, &vec![2; 400]));
    s.handle_input(t(0), &wire);
    assert_eq!(events(&mut s), vec![Ev::Binary(vec![2; 1000])]);
}

#[test]
fn oversized_message_is_refused_at_the_header_before_its_payload() {
    let mut s = server(&limited());
    s.handle_input(t(0), &client_frame(0x02, &vec![0; 600]));
    assert_eq!(events(&mut s), vec![]);
    let second = client_frame(0x80, &vec![0; 401]);
    // Only the header of the second frame: 2 + 2 + 4 bytes.
    s.handle_input(t(0), &second[..8]);
    assert_eq!(
        events(&mut s),
        vec![Ev::Closed(ClosedReason::ProtocolError(P::MessageTooLarge))]
    );
    assert!(s.is_closed());
    assert_eq!(close_codes(&transmit(&mut s)), vec![Some(1009)]);
}

#[test]
fn failure_is_sticky() {
    let mut s = server(&Config::default());
    s.handle_input(t(0), &client_frame(0x83, b""));
    assert_eq!(events(&mut s).len(), 1);
    let sent = transmit(&mut s);
    s.handle_input(t(0), &client_frame(0x81, b"more"));
    s.handle_input(t(0), &client_frame(0x83, b""));
    s.handle_eof(t(0));
    s.handle_timeout(t(1 << 40));
    assert_eq!(events(&mut s), vec![], "exactly one terminal event");
    assert_eq!(transmit(&mut s), Vec::<u8>::new(), "exactly one Close");
    assert_eq!(close_codes(&sent), vec![Some(1002)]);
}

/// Regression (Autobahn 3.2, 4.1.3, 5.15 were NON-STRICT): a valid message
/// and a violation in one read. The application must still be able to answer
/// the message, and its answer must precede the Close on the wire.
#[test]
fn reply_to_a_message_before_a_violation_goes_out_before_the_close() {
    let mut s = server(&Config::default());
    let mut wire = client_frame(0x81, b"Hello");
    wire.extend(client_frame(0xC1, b"bad rsv"));
    wire.extend(client_frame(0x89, b"ignored ping"));
    s.handle_input(t(0), &wire);
    assert!(s.is_closed(), "the input step found the violation");
    assert!(
        !s.close_sent(),
        "no Close before the earlier event is handed out"
    );
    match s.poll_event() {
        Some(wscore::Event::Text(t)) => assert_eq!(t, "Hello"),
        other => panic!("{other:?}"),
    }
    s.send_text("Hello").unwrap();
    assert_eq!(
        events(&mut s),
        vec![Ev::Closed(ClosedReason::ProtocolError(P::ReservedBits))]
    );
    assert!(s.is_closed());
    let frames = parse_wire(&transmit(&mut s));
    assert_eq!(frames.len(), 2, "the echo, then the Close; no pong");
    assert_eq!(frames[0].1, b"Hello");
    assert_eq!(close_codes(&transmit_all(frames)), vec![Some(1002)]);
    // Input after the violation is still ignored.
    s.handle_input(t(0), &client_frame(0x81, b"late"));
    assert_eq!(events(&mut s), vec![]);
}

fn transmit_all(frames: Vec<(wscore::frame::FrameHeader, Vec<u8>)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (mut h, p) in frames {
        h.mask = None;
        h.encode_to_vec(&mut out);
        out.extend(p);
    }
    out
}
