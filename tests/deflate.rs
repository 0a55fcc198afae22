//! permessage-deflate on the connection (RFC 7692 sections 6 and 7.2): the
//! RFC's examples byte for byte, round trips for every parameter
//! combination through any chunking, RSV1 rules, invalid data, and the
//! message limit counted on inflated bytes.

mod common;

use common::deflate::{connections, pair, params};
use common::{Chunking, Ev, cfg, events, parse_wire, server_frame, t, transmit, whole};
use proptest::prelude::*;
use wscore::extension::deflate::DeflateParams;
use wscore::frame::Opcode;
use wscore::{ClosedReason, Config, MessageKind, ProtocolError};

/// A client that agreed on the default parameters, fed the server's bytes.
fn client_receives(wire: &[u8]) -> Vec<Ev> {
    let (mut client, _) = connections(
        &DeflateParams::default(),
        &Config::default(),
        &Config::default(),
    );
    client.handle_input(t(0), wire);
    events(&mut client)
}

fn hello() -> Ev {
    Ev::Text("Hello".into())
}

// ---- RFC 7692 section 7.2.3, received ----

#[test]
fn rfc_7692_7_2_3_1_a_message_compressed_in_one_frame() {
    let wire = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(client_receives(&wire), [hello()]);
}

#[test]
fn rfc_7692_7_2_3_1_a_compressed_message_in_two_fragments() {
    let wire = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
    ];
    assert_eq!(client_receives(&wire), [hello()]);
}

#[test]
fn rfc_7692_7_2_3_2_the_second_message_refers_to_the_first() {
    let wire = [
        0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, // "Hello"
        0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00, // "Hello" again, one match
    ];
    assert_eq!(client_receives(&wire), [hello(), hello()]);
}

#[test]
fn rfc_7692_7_2_3_3_an_uncompressed_block() {
    let wire = [
        0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    assert_eq!(client_receives(&wire), [hello()]);
}

#[test]
fn rfc_7692_7_2_3_4_a_block_with_bfinal_set() {
    let wire = [0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    assert_eq!(client_receives(&wire), [hello()]);
    // And the next message, also ending its own stream, still decodes.
    let twice = [wire, wire].concat();
    assert_eq!(client_receives(&twice), [hello(), hello()]);
}

#[test]
fn rfc_7692_7_2_3_5_two_deflate_blocks_in_one_message() {
    let wire = [
        0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
    ];
    assert_eq!(client_receives(&wire), [hello()]);
}

#[test]
fn rfc_7692_7_2_3_6_an_empty_message() {
    // Section 7.2.3.6: an empty message compresses to the single byte 0x00.
    assert_eq!(
        client_receives(&[0xc1, 0x01, 0x00]),
        [Ev::Text(String::new())]
    );
    assert_eq!(
        client_receives(&[0xc2, 0x01, 0x00]),
        [Ev::Binary(Vec::new())]
    );
}

// ---- RFC 7692 section 7.2.3, sent ----

#[test]
fn rfc_7692_7_2_3_1_and_7_2_3_2_sent_byte_for_byte() {
    let (mut client, mut server) = connections(
        &DeflateParams::default(),
        &Config::default(),
        &Config::default(),
    );
    server.send_text("Hello").unwrap();
    let first = transmit(&mut server);
    assert_eq!(
        first,
        [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
    );
    // Context takeover: the second "Hello" is one match into the first.
    // The RFC's example encodes it as `f2 00 11 00 00` (a fixed block with
    // the match); ours is one byte shorter, `02 13 00 00` (the same match,
    // with the block's end bits packed tighter), and decodes the same.
    server.send_text("Hello").unwrap();
    let second = transmit(&mut server);
    assert_eq!(second, [0xc1, 0x04, 0x02, 0x13, 0x00, 0x00]);
    client.handle_input(t(0), &[first, second].concat());
    assert_eq!(events(&mut client), [hello(), hello()]);
}

#[test]
fn without_context_takeover_the_second_message_is_compressed_alone() {
    let p = params(true, false, 15, 15);
    let (_, mut server) = connections(&p, &Config::default(), &Config::default());
    for _ in 0..2 {
        server.send_text("Hello").unwrap();
        assert_eq!(
            transmit(&mut server),
            [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
    }
}

#[test]
fn an_empty_message_is_sent_as_one_zero_byte() {
    let (_, mut server) = connections(
        &DeflateParams::default(),
        &Config::default(),
        &Config::default(),
    );
    server.send_binary(b"").unwrap();
    assert_eq!(transmit(&mut server), [0xc2, 0x01, 0x00]);
}

// ---- the frame rules (section 6) ----

fn client_fails_with(wire: &[u8], error: ProtocolError) {
    let evs = client_receives(wire);
    assert_eq!(
        evs.last(),
        Some(&Ev::Closed(ClosedReason::ProtocolError(error))),
        "{evs:?}"
    );
}

#[test]
fn rsv1_on_a_continuation_frame_fails_with_1002() {
    let wire = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0xc0, 0x04, 0xc9, 0xc9, 0x07, 0x00,
    ];
    client_fails_with(&wire, ProtocolError::ReservedBits);
}

#[test]
fn rsv1_on_a_control_frame_fails_with_1002() {
    client_fails_with(&server_frame(0xc9, b""), ProtocolError::ReservedBits);
    client_fails_with(&server_frame(0xca, b""), ProtocolError::ReservedBits);
    client_fails_with(
        &server_frame(0xc8, &[0x03, 0xe8]),
        ProtocolError::ReservedBits,
    );
}

#[test]
fn rsv1_without_the_extension_fails_with_1002() {
    let mut client = common::client(&Config::default());
    client.handle_input(
        t(0),
        &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
    );
    assert_eq!(
        events(&mut client),
        [Ev::Closed(ClosedReason::ProtocolError(
            ProtocolError::ReservedBits
        ))]
    );
}

#[test]
fn invalid_compressed_data_fails_with_1007() {
    // BTYPE 11 is reserved (RFC 1951 section 3.2.3).
    client_fails_with(&[0xc1, 0x01, 0xff], ProtocolError::InvalidCompressedData);
    // A distance before the start of the stream.
    client_fails_with(
        &[0xc2, 0x03, 0x02, 0x06, 0x00],
        ProtocolError::InvalidCompressedData,
    );
    let (mut client, _) = connections(
        &DeflateParams::default(),
        &Config::default(),
        &Config::default(),
    );
    client.handle_input(t(0), &[0xc1, 0x01, 0xff]);
    let _ = events(&mut client);
    let sent = parse_wire(&transmit(&mut client));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1[..2], 1007u16.to_be_bytes());
}

#[test]
fn invalid_utf8_inside_compressed_text_fails_with_1007() {
    let (mut client, mut server) = connections(
        &DeflateParams::default(),
        &Config::default(),
        &Config::default(),
    );
    // Binary bytes sent with the text opcode: compress them as binary, then
    // flip the opcode on the wire.
    server.send_binary(&[0xff, 0xfe, b'a']).unwrap();
    let mut wire = transmit(&mut server);
    wire[0] = 0xc1;
    client.handle_input(t(0), &wire);
    assert_eq!(
        events(&mut client),
        [Ev::Closed(ClosedReason::ProtocolError(
            ProtocolError::InvalidUtf8
        ))]
    );
}

#[test]
fn control_frames_are_never_compressed_and_rsv1_marks_only_the_first_frame() {
    let mut p = pair(
        &DeflateParams::default(),
        &cfg(|c| c.fragment_size = Some(7)),
        &Config::default(),
    );
    let text = "a message long enough to be cut into several frames, twice: a message long enough";
    p.client.send_text(text).unwrap();
    p.client.send_ping(b"ping").unwrap();
    p.client.begin_message(MessageKind::Binary).unwrap();
    p.client.send_fragment(b"first piece ", false).unwrap();
    p.client.send_ping(b"between").unwrap();
    p.client.send_fragment(b"second piece", true).unwrap();
    p.drive();
    let frames = parse_wire(&p.client_wire);
    let mut first = true;
    for (h, _) in &frames {
        match h.opcode {
            Opcode::Ping | Opcode::Pong | Opcode::Close => assert!(!h.rsv1, "{h:?}"),
            Opcode::Text | Opcode::Binary => {
                assert!(h.rsv1, "{h:?}");
                first = false;
            }
            _ => assert!(!h.rsv1 && !first, "{h:?}"),
        }
    }
    assert!(
        frames.len() > 4,
        "fragment_size applies to the compressed payload"
    );
    assert_eq!(
        p.take_server_events(),
        [
            Ev::Text(text.into()),
            Ev::Ping(b"ping".to_vec()),
            Ev::Ping(b"between".to_vec()),
            Ev::Binary(b"first piece second piece".to_vec()),
        ]
    );
}

#[test]
fn uncompressed_messages_mix_with_compressed_ones() {
    let mut p = pair(
        &DeflateParams::default(),
        &cfg(|c| c.deflate.min_size = 10),
        &Config::default(),
    );
    p.client.send_text("short").unwrap(); // under min_size
    p.client
        .send_text("long enough to compress, long enough")
        .unwrap();
    p.client
        .send_uncompressed(MessageKind::Binary, b"as it is, as it is")
        .unwrap();
    p.client
        .send_text("long enough to compress, again")
        .unwrap();
    p.drive();
    let rsv1: Vec<bool> = parse_wire(&p.client_wire)
        .iter()
        .map(|(h, _)| h.rsv1)
        .collect();
    assert_eq!(rsv1, [false, true, false, true]);
    assert_eq!(
        p.take_server_events(),
        [
            Ev::Text("short".into()),
            Ev::Text("long enough to compress, long enough".into()),
            Ev::Binary(b"as it is, as it is".to_vec()),
            Ev::Text("long enough to compress, again".into()),
        ]
    );
}

// ---- the message limit counts inflated bytes, exactly ----

/// What the client reports for one message of `len` bytes from a server
/// whose message compresses to a few bytes (all `b'a'`), with the client's
/// limit at `limit`, whole or streaming.
fn receive_compressible(len: usize, limit: u64, streaming: bool) -> Vec<Ev> {
    let client_cfg = cfg(|c| {
        c.max_message_size = limit;
        c.streaming = streaming;
    });
    let (mut client, _) = connections(&DeflateParams::default(), &client_cfg, &Config::default());
    // Compressed by another encoder than ours, so the limit is tested on
    // its own: a raw deflate stream ending in a final block (section
    // 7.2.3.4 allows that).
    let payload = miniz_oxide::deflate::compress_to_vec(&vec![b'a'; len], 6);
    let wire = server_frame(0xc2, &payload);
    assert!(
        wire.len() < 64 + len / 100,
        "compressed to {} bytes",
        wire.len()
    );
    client.handle_input(t(0), &wire);
    events(&mut client)
}

fn joined(evs: &[Ev]) -> (Vec<u8>, Option<ClosedReason>) {
    let mut data = Vec::new();
    let mut end = None;
    for e in evs {
        match e {
            Ev::Binary(b) => data.extend_from_slice(b),
            Ev::BinaryFragment(b, _) => data.extend_from_slice(b),
            Ev::Closed(r) => end = Some(*r),
            other => panic!("unexpected {other:?}"),
        }
    }
    (data, end)
}

#[test]
fn a_message_inflating_to_the_limit_passes_and_one_byte_more_is_1009() {
    for streaming in [false, true] {
        for limit in [0u64, 1, 100, 4096, 65_536, 100_000, 1 << 20] {
            let at = receive_compressible(limit as usize, limit, streaming);
            let (data, end) = joined(&at);
            assert_eq!(
                (data.len() as u64, end),
                (limit, None),
                "at {limit}, {streaming}"
            );
            let over = receive_compressible(limit as usize + 1, limit, streaming);
            let (_, end) = joined(&over);
            assert_eq!(
                end,
                Some(ClosedReason::ProtocolError(ProtocolError::MessageTooLarge)),
                "over {limit}, streaming {streaming}"
            );
        }
    }
}

#[test]
fn the_same_boundary_holds_without_compression() {
    for limit in [0u64, 1, 100, 65_536] {
        for (len, ok) in [(limit, true), (limit + 1, false)] {
            let (mut client, mut server) = connections(
                &DeflateParams::default(),
                &cfg(|c| c.max_message_size = limit),
                &Config::default(),
            );
            server
                .send_uncompressed(MessageKind::Binary, &vec![7; len as usize])
                .unwrap();
            client.handle_input(t(0), &transmit(&mut server));
            let (data, end) = joined(&events(&mut client));
            if ok {
                assert_eq!((data.len() as u64, end), (limit, None));
            } else {
                assert_eq!(
                    end,
                    Some(ClosedReason::ProtocolError(ProtocolError::MessageTooLarge))
                );
            }
        }
    }
}

#[test]
fn streaming_hands_out_inflated_pieces_of_bounded_size() {
    let len = 5 << 20;
    let evs = receive_compressible(len, 16 << 20, true);
    assert!(evs.len() >= len / (64 << 10), "{} pieces", evs.len());
    for e in &evs {
        if let Ev::BinaryFragment(b, _) = e {
            assert!(b.len() <= 64 << 10);
        }
    }
    assert!(matches!(evs.last(), Some(Ev::BinaryFragment(_, true))));
    assert_eq!(joined(&evs), (vec![b'a'; len], None));
}

// ---- round trips ----

#[derive(Clone, Debug)]
enum Msg {
    Text(String),
    Binary(Vec<u8>),
}

fn msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        ".{0,300}".prop_map(Msg::Text),
        // Repetitive text, the kind deflate shrinks, long enough to reach
        // past small windows.
        ("[a-c]{1,8}", 0usize..3000).prop_map(|(unit, n)| Msg::Text(unit.repeat(n))),
        proptest::collection::vec(any::<u8>(), 0..2000).prop_map(Msg::Binary),
        (any::<u8>(), 0usize..70_000).prop_map(|(b, n)| Msg::Binary(vec![b; n])),
    ]
}

fn chunking() -> impl Strategy<Value = Chunking> {
    prop_oneof![
        Just(Chunking::Whole),
        Just(Chunking::Bytewise),
        proptest::collection::vec(1usize..5000, 1..5).prop_map(Chunking::Sizes),
    ]
}

fn expected(msgs: &[Msg]) -> Vec<Ev> {
    msgs.iter()
        .map(|m| match m {
            Msg::Text(s) => Ev::Text(s.clone()),
            Msg::Binary(b) => Ev::Binary(b.clone()),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Every combination of the four parameters and every window size,
    /// both directions, through any chunking, whole or streaming, with and
    /// without fragmentation: every message arrives as sent.
    #[test]
    fn round_trip_for_every_parameter_combination(
        snct in any::<bool>(),
        cnct in any::<bool>(),
        sbits in 8u8..=15,
        cbits in 8u8..=15,
        msgs in proptest::collection::vec(msg(), 1..6),
        chunks in chunking(),
        streaming in any::<bool>(),
        fragment in prop_oneof![Just(None), (1usize..3000).prop_map(Some)],
    ) {
        let p = params(snct, cnct, sbits, cbits);
        let conf = cfg(|c| { c.streaming = streaming; c.fragment_size = fragment; });
        let mut pair = pair(&p, &conf, &conf);
        pair.chunking = chunks;
        for m in &msgs {
            match m {
                Msg::Text(s) => { pair.client.send_text(s).unwrap(); pair.server.send_text(s).unwrap(); }
                Msg::Binary(b) => { pair.client.send_binary(b).unwrap(); pair.server.send_binary(b).unwrap(); }
            }
        }
        pair.drive();
        let want = expected(&msgs);
        prop_assert_eq!(whole(pair.take_server_events()), want.clone());
        prop_assert_eq!(whole(pair.take_client_events()), want);
        // Every data message went compressed.
        for wire in [&pair.client_wire, &pair.server_wire] {
            for (h, _) in parse_wire(wire) {
                if matches!(h.opcode, Opcode::Text | Opcode::Binary) {
                    prop_assert!(h.rsv1);
                }
            }
        }
    }
}

#[test]
fn compressible_messages_get_smaller_on_the_wire() {
    let mut p = pair(
        &DeflateParams::default(),
        &Config::default(),
        &Config::default(),
    );
    let json = r#"{"type":"message","room":"general","user":"alice","text":"hello there, how is everyone doing today?"}"#;
    for _ in 0..10 {
        p.client.send_text(json).unwrap();
    }
    p.drive();
    assert_eq!(p.take_server_events(), vec![Ev::Text(json.into()); 10]);
    assert!(
        p.client_wire.len() < json.len() * 10 / 3,
        "{} bytes on the wire for {}",
        p.client_wire.len(),
        json.len() * 10
    );
}

#[test]
fn a_message_that_does_not_end_on_a_block_boundary_fails_with_1007() {
    // "Hello" cut after three of its seven bytes (RFC 7692 7.2.3.1): with
    // the tail appended, the data stops inside a block, which section
    // 7.2.1's sync flush never produces.
    client_fails_with(
        &[0xc1, 0x03, 0xf2, 0x48, 0xcd],
        ProtocolError::InvalidCompressedData,
    );
    // The same cut in the first of two fragments is fine: the message
    // goes on.
    let wire = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
    ];
    assert_eq!(client_receives(&wire), [hello()]);
}

#[test]
fn release_buffers_frees_the_compressor_after_our_close_and_everything_at_the_end() {
    let mut p = pair(
        &DeflateParams::default(),
        &Config::default(),
        &Config::default(),
    );
    let json = r#"{"type":"message","room":"general","text":"context is kept between messages"}"#;
    p.client.send_text(&json.repeat(20)).unwrap();
    p.drive();
    p.client.release_buffers();
    let kept = p.client.heap_usage();
    // Context takeover: the compressor's history (the whole message, less
    // than a window) must stay while we may send; nothing else does.
    let sent = json.len() * 20;
    assert!(kept >= sent && kept < sent + 512, "{kept}");
    p.client.begin_message(MessageKind::Text).unwrap();
    p.client.send_fragment(b"cut short", false).unwrap();
    p.client
        .close(p.now, wscore::CloseCode::NORMAL, "")
        .unwrap();
    p.client.release_buffers();
    let after_close = p.client.heap_usage();
    // The history went with the compressor: what is left is the extension's
    // box and the fragment and Close waiting in the transmit queue.
    assert!(after_close < 256, "{kept} -> {after_close}");
    p.drive();
    p.server_closes_transport();
    assert!(p.client.is_closed());
    p.client.release_buffers();
    assert_eq!(p.client.heap_usage(), 0);
}
