//! permessage-deflate from a hostile (or merely unusual but valid) peer:
//! compressed input built by another encoder (miniz_oxide's, with real
//! back-references and sync flushes), aimed at the receive path's corners
//! (streaming pieces, empty frames, history kept or not, limits).

mod common;

use common::deflate::{connections, params};
use common::{Ev, cfg, events, server_frame, t, whole};
use miniz_oxide::deflate::core::{
    CompressorOxide, TDEFLFlush, TDEFLStatus, compress, create_comp_flags_from_zip_params,
};
use wscore::extension::deflate::DeflateParams;
use wscore::{ClosedReason, Config, Connection, ProtocolError};

/// A raw-deflate encoder (window 15) whose output per call ends in a sync
/// flush (`00 00 ff ff`), as a permessage-deflate sender produces.
struct Enc(Box<CompressorOxide>);

impl Enc {
    fn new() -> Enc {
        Enc(Box::new(CompressorOxide::new(
            create_comp_flags_from_zip_params(6, -15, 0),
        )))
    }

    /// `input` compressed and sync-flushed (with its `00 00 ff ff`).
    fn sync(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; input.len() + input.len() / 2 + 1024];
        let (status, used, n) = compress(&mut self.0, input, &mut out, TDEFLFlush::Sync);
        assert_eq!((status, used), (TDEFLStatus::Okay, input.len()));
        out.truncate(n);
        assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
        out
    }

    /// The last piece of a message: sync-flushed, tail stripped (7.2.1).
    fn last(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = self.sync(input);
        out.truncate(out.len() - 4);
        out
    }
}

/// Bytes that do not compress by themselves (a xorshift stream).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn client_with(p: &DeflateParams, streaming: bool) -> Connection {
    connections(p, &cfg(|c| c.streaming = streaming), &Config::default()).0
}

fn receive(p: &DeflateParams, streaming: bool, wire: &[u8]) -> Vec<Ev> {
    let mut client = client_with(p, streaming);
    client.handle_input(t(0), wire);
    whole(events(&mut client))
}

// ---- history inside one message, without context takeover ----

/// The peer resets its context between messages (server_no_context_takeover)
/// but of course refers back within a message: the second fragment repeats
/// the first, so it is one long match into the first fragment's bytes.
/// Whole mode keeps the message whole; streaming mode hands the first
/// fragment out as a piece, and must still keep it as history.
#[test]
fn no_context_takeover_streaming_keeps_history_within_a_fragmented_message() {
    let data = noise(1000, 1);
    let mut enc = Enc::new();
    let mut wire = server_frame(0x42, &enc.sync(&data)); // RSV1, binary, not fin
    wire.extend(server_frame(0x80, &enc.last(&data))); // continuation, fin
    let want = [Ev::Binary([&data[..], &data[..]].concat())];
    for p in [params(true, false, 15, 15), params(true, true, 15, 15)] {
        for streaming in [false, true] {
            assert_eq!(
                receive(&p, streaming, &wire),
                want,
                "{p:?} streaming {streaming}"
            );
        }
    }
}

/// The same within one frame: a message over one 64 KiB piece whose
/// matches reach back across the piece boundary.
#[test]
fn no_context_takeover_streaming_keeps_history_across_a_piece_boundary() {
    let unit = noise(20_000, 2);
    let data = unit.repeat(5); // 100 KB: matches 20 KB back, past 64 KiB
    let wire = server_frame(0xc2, &Enc::new().last(&data));
    assert!(wire.len() < 30_000);
    let p = params(true, false, 15, 15);
    for streaming in [false, true] {
        assert_eq!(
            receive(&p, streaming, &wire),
            [Ev::Binary(data.clone())],
            "streaming {streaming}"
        );
    }
}

/// A peer that agreed on an 8-bit window and then uses 15 (a violation)
/// in a message longer than one streamed piece: its matches are cut at
/// the piece boundary and the inflater's history slid to 256 bytes in
/// between. Whatever we answer (the data, or 1007), we must not panic.
#[test]
fn a_peer_exceeding_its_window_across_a_piece_boundary_does_not_panic() {
    let unit = noise(1000, 3);
    let data = unit.repeat(100);
    let wire = server_frame(0xc2, &Enc::new().last(&data));
    for p in [params(false, false, 8, 15), params(true, false, 8, 15)] {
        for streaming in [false, true] {
            let evs = receive(&p, streaming, &wire);
            assert!(
                evs == [Ev::Binary(data.clone())]
                    || evs
                        == [Ev::Closed(ClosedReason::ProtocolError(
                            ProtocolError::InvalidCompressedData
                        ))],
                "{p:?} streaming {streaming}: {} events",
                evs.len()
            );
        }
    }
}

// ---- empty frames ----

/// A compressed message whose last frame is empty (a sender that ends
/// the message with an empty FIN frame): the message after it must still
/// arrive. And a compressed message with no payload at all, which is not
/// what section 7.2.1 produces (the empty message is `00`, section
/// 7.2.3.6; the tail alone stops inside a stored block's header), is
/// 1007 in both modes. Neither may leave the parser waiting for payload
/// that will never come, as streaming mode did.
#[test]
fn an_empty_final_frame_of_a_compressed_message_ends_it() {
    // "Hello" (section 7.2.3.1) in a first frame, its end in an empty one.
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let mut wire = server_frame(0x41, &hello); // RSV1 text, not fin
    wire.extend(server_frame(0x80, &[])); // empty continuation, fin
    wire.extend(server_frame(0x81, b"after")); // uncompressed
    let mut empty = server_frame(0xc1, &[]); // compressed, no payload
    empty.extend(server_frame(0x81, b"after"));
    let p = DeflateParams::default();
    for streaming in [false, true] {
        assert_eq!(
            receive(&p, streaming, &wire),
            [Ev::Text("Hello".into()), Ev::Text("after".into())],
            "streaming {streaming}"
        );
        assert_eq!(
            receive(&p, streaming, &empty),
            [Ev::Closed(ClosedReason::ProtocolError(
                ProtocolError::InvalidCompressedData
            ))],
            "streaming {streaming}"
        );
    }
}

// ---- no context takeover, as agreed, on the receive side ----

/// Section 7.2.3.2's second message refers to the first. After agreeing
/// on server_no_context_takeover the server may not do that: our
/// inflater starts each message with no history, so it is 1007, whatever
/// the mode and however the bytes arrive.
#[test]
fn a_peer_referring_to_a_previous_message_after_no_context_takeover_gets_1007() {
    let wire = [
        0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, // "Hello"
        0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00, // one match into it
    ];
    for streaming in [false, true] {
        for bytewise in [false, true] {
            let mut client = client_with(&params(true, false, 15, 15), streaming);
            if bytewise {
                for b in wire {
                    client.handle_input(t(0), &[b]);
                }
            } else {
                client.handle_input(t(0), &wire);
            }
            assert_eq!(
                whole(events(&mut client)),
                [
                    Ev::Text("Hello".into()),
                    Ev::Closed(ClosedReason::ProtocolError(
                        ProtocolError::InvalidCompressedData
                    ))
                ],
                "streaming {streaming} bytewise {bytewise}"
            );
        }
    }
    // With context takeover it is fine (section 7.2.3.2), in every mode.
    for streaming in [false, true] {
        let mut client = client_with(&DeflateParams::default(), streaming);
        for b in wire {
            client.handle_input(t(0), &[b]);
        }
        assert_eq!(
            whole(events(&mut client)),
            [Ev::Text("Hello".into()), Ev::Text("Hello".into())]
        );
    }
}

// ---- text cut by pieces ----

/// Streaming text over many 64 KiB pieces, each cut somewhere inside a
/// multi-byte character, fed whole and in odd chunks: the pieces are
/// valid `str`s that join into the text. Then the same text with one
/// byte broken at the end (valid in every piece but the last) is 1007.
#[test]
fn streamed_compressed_text_is_cut_only_between_characters() {
    let text = "é€😀a".repeat(40_000); // 400 KB, 1 to 4 byte characters
    let mut enc = Enc::new();
    let wire = server_frame(0xc1, &enc.last(text.as_bytes()));
    let mut bad = text.clone().into_bytes();
    *bad.last_mut().unwrap() = 0xff;
    let bad_wire = server_frame(0xc1, &Enc::new().last(&bad));
    for chunk in [usize::MAX, 1, 777] {
        let mut client = client_with(&DeflateParams::default(), true);
        let mut evs = Vec::new();
        for c in wire.chunks(chunk.min(wire.len())) {
            client.handle_input(t(0), c);
            evs.extend(events(&mut client));
        }
        assert!(evs.len() > 6, "{} events", evs.len());
        assert_eq!(whole(evs), [Ev::Text(text.clone())], "chunk {chunk}");
        let mut client = client_with(&DeflateParams::default(), true);
        let mut evs = Vec::new();
        for c in bad_wire.chunks(chunk.min(bad_wire.len())) {
            client.handle_input(t(0), c);
            evs.extend(events(&mut client));
        }
        assert_eq!(
            evs.last(),
            Some(&Ev::Closed(ClosedReason::ProtocolError(
                ProtocolError::InvalidUtf8
            ))),
            "chunk {chunk}"
        );
        assert!(evs.iter().all(|e| !matches!(e, Ev::TextFragment(_, true))));
    }
}

// ---- the RFC's examples in streaming mode, a byte at a time ----

#[test]
fn rfc_7692_examples_streamed_a_byte_at_a_time() {
    let cases: [&[u8]; 5] = [
        &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
        &[
            0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
        ],
        &[
            0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ],
        &[0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
        &[
            0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07,
            0x00,
        ],
    ];
    for wire in cases {
        let mut client = client_with(&DeflateParams::default(), true);
        let mut evs = Vec::new();
        for _ in 0..2 {
            for b in wire {
                client.handle_input(t(0), &[*b]);
                evs.extend(events(&mut client));
            }
        }
        assert_eq!(
            whole(evs),
            [Ev::Text("Hello".into()), Ev::Text("Hello".into())],
            "{wire:02x?}"
        );
    }
}

// ---- the limit with history, over many frames ----

/// A message at the limit spread over many small frames, after earlier
/// messages filled the history, and its first back-reference reaching
/// into them: exactly the limit passes, one byte more is 1009, in both
/// modes; and limit 0 takes only empty messages.
#[test]
fn the_limit_holds_over_many_frames_with_history() {
    let history = noise(5000, 4);
    for limit in [0usize, 1, 3000, 70_000] {
        for (len, ok) in [(limit, true), (limit + 1, false)] {
            for streaming in [false, true] {
                let mut enc = Enc::new();
                let mut wire = Vec::new();
                // Two earlier messages, each within the limit when it is
                // not 0 (then empty).
                let h = &history[..limit.min(history.len())];
                for _ in 0..2 {
                    wire.extend(server_frame(0xc2, &enc.last(h)));
                }
                let data: Vec<u8> = h.iter().copied().cycle().take(len).collect();
                let data = if h.is_empty() { vec![9; len] } else { data };
                let payload = enc.last(&data);
                let mut frames = payload.chunks(3).peekable();
                let mut b0 = 0x42;
                while let Some(c) = frames.next() {
                    let fin = if frames.peek().is_none() { 0x80 } else { 0 };
                    wire.extend(server_frame(b0 | fin, c));
                    b0 = 0x00;
                }
                let conf = cfg(|c| {
                    c.streaming = streaming;
                    c.max_message_size = limit as u64;
                });
                let mut client =
                    connections(&DeflateParams::default(), &conf, &Config::default()).0;
                client.handle_input(t(0), &wire);
                let evs = whole(events(&mut client));
                let want_h = Ev::Binary(h.to_vec());
                if ok {
                    assert_eq!(
                        evs,
                        [want_h.clone(), want_h, Ev::Binary(data)],
                        "{limit} {streaming}"
                    );
                } else {
                    assert_eq!(
                        evs.last(),
                        Some(&Ev::Closed(ClosedReason::ProtocolError(
                            ProtocolError::MessageTooLarge
                        ))),
                        "{limit} {streaming}"
                    );
                }
            }
        }
    }
}

// ---- send side ----

/// A compressed message sent in pieces (RSV1 on its first frame only),
/// with Pings, a whole compressed message and an uncompressed one around
/// it, decoded by the peer in both modes and any chunking; then a
/// fragmented compressed message cut short by our Close: the peer sees its
/// pieces (streaming) and the Close, never a 1002 or 1007.
#[test]
fn fragmented_compressed_sends_decode_and_a_close_may_cut_them() {
    for streaming in [false, true] {
        for chunking in [common::Chunking::Whole, common::Chunking::Bytewise] {
            let conf = cfg(|c| {
                c.streaming = streaming;
                c.fragment_size = Some(5);
            });
            let mut p = common::deflate::pair(&params(false, true, 15, 9), &conf, &conf);
            p.chunking = chunking.clone();
            p.client
                .send_text("before, compressed and cut by fragment_size")
                .unwrap();
            p.client.begin_message(wscore::MessageKind::Text).unwrap();
            p.client.send_fragment("caf".as_bytes(), false).unwrap();
            p.client.send_ping(b"x").unwrap();
            p.client.send_fragment(&[0xc3], false).unwrap(); // half of 'é'
            p.client.send_fragment(&[0xa9], false).unwrap();
            p.client.send_fragment(b"", false).unwrap();
            p.client.send_fragment(b" au lait", true).unwrap();
            p.client
                .send_uncompressed(wscore::MessageKind::Binary, b"plain")
                .unwrap();
            p.client.begin_message(wscore::MessageKind::Binary).unwrap();
            p.client.send_fragment(b"never finished", false).unwrap();
            p.client
                .close(p.now, wscore::CloseCode::NORMAL, "bye")
                .unwrap();
            p.drive();
            let frames = common::parse_wire(&p.client_wire);
            let rsv1: Vec<(u8, bool)> = frames
                .iter()
                .map(|(h, _)| (h.opcode.as_u8(), h.rsv1))
                .collect();
            // RSV1 on each first frame of a compressed message only:
            // continuations and control frames never, "plain" not.
            let firsts: Vec<(u8, bool)> = rsv1
                .iter()
                .copied()
                .filter(|&(op, _)| op == 1 || op == 2)
                .collect();
            assert_eq!(firsts, [(1, true), (1, true), (2, false), (2, true)]);
            assert!(
                rsv1.iter().all(|&(op, r)| !r || op == 1 || op == 2),
                "{rsv1:?}"
            );
            let evs = p.take_server_events();
            let mut joined = whole(evs.clone());
            // The unfinished message's pieces, if streamed, stay unjoined.
            joined.retain(|e| !matches!(e, Ev::BinaryFragment(..)));
            assert_eq!(
                joined,
                [
                    Ev::Text("before, compressed and cut by fragment_size".into()),
                    Ev::Ping(b"x".to_vec()),
                    Ev::Text("café au lait".into()),
                    Ev::Binary(b"plain".to_vec()),
                    Ev::Close(1000, "bye".into()),
                    Ev::Closed(ClosedReason::Clean {
                        code: wscore::CloseCode::NORMAL
                    }),
                ],
                "streaming {streaming} {chunking:?}: {evs:?}"
            );
        }
    }
}

// ---- release_buffers between and inside messages ----

/// `release_buffers` after every event, in the middle of a streamed
/// compressed message and between messages, with and without context
/// takeover: nothing the next bytes need is freed.
#[test]
fn release_buffers_anywhere_loses_nothing() {
    let unit = noise(3000, 5);
    let big = unit.repeat(40); // 120 KB: two pieces and a bit
    for p in [
        params(true, false, 15, 15),
        params(false, false, 15, 15),
        params(true, true, 9, 9),
    ] {
        for streaming in [false, true] {
            let mut enc = Enc::new();
            let mut wire = Vec::new();
            for _ in 0..3 {
                let payload = enc.last(&big);
                let half = payload.len() / 2;
                wire.extend(server_frame(0x42, &payload[..half]));
                wire.extend(server_frame(0x80, &payload[half..]));
                if p.server_no_context_takeover {
                    enc = Enc::new();
                }
            }
            let mut client = client_with(&p, streaming);
            let mut evs = Vec::new();
            for c in wire.chunks(1000) {
                client.handle_input(t(0), c);
                while let Some(e) = client.poll_event() {
                    evs.push(Ev::from_event(e));
                    client.release_buffers();
                }
                client.release_buffers();
            }
            assert_eq!(
                whole(evs),
                vec![Ev::Binary(big.clone()); 3],
                "{p:?} streaming {streaming}"
            );
        }
    }
}

// ---- linear work ----

/// Compressed input arriving in small reads, with context takeover (the
/// inflater keeps a 32 KiB window behind what it hands out): the bytes
/// the inflater moves to keep its history must stay within a constant
/// factor of the input and output, whatever the read size, as for the
/// input buffer (tests/linear_work.rs). With a message limit just under
/// 64 KiB the inflater's buffer settles just over `retain + 2 windows`,
/// where it used to slide the whole window down on every `poll_event`:
/// 32 KiB moved per read (4.6 GB for 230 KB read a byte at a time).
#[test]
fn the_inflater_moves_history_a_bounded_number_of_times() {
    for limit in [50_000usize, 60_000, 16 << 20] {
        let n = limit.min(100_000);
        let mut enc = Enc::new();
        let mut wire = Vec::new();
        for (len, seed) in [(40_000, 1), (n, 2), (n, 3), (n, 4)] {
            wire.extend(server_frame(0xc2, &enc.last(&noise(len, seed))));
        }
        for streaming in [false, true] {
            for read in [1usize, 100, 10_000] {
                let conf = cfg(|c| {
                    c.streaming = streaming;
                    c.max_message_size = limit as u64;
                });
                let mut client =
                    connections(&DeflateParams::default(), &conf, &Config::default()).0;
                let mut delivered = 0usize;
                for c in wire.chunks(read) {
                    client.handle_input(t(0), c);
                    while let Some(e) = client.poll_event() {
                        if let wscore::Event::Binary(b)
                        | wscore::Event::BinaryFragment { data: b, .. } = e
                        {
                            delivered += b.len();
                        }
                    }
                }
                assert_eq!(delivered, 40_000 + 3 * n);
                let moved = client.bytes_moved();
                assert!(
                    moved <= 3 * (wire.len() + delivered) as u64,
                    "limit {limit}, streaming {streaming}, reads of {read}: \
                     {moved} bytes moved for {delivered}"
                );
            }
        }
    }
}

// ---- framing ----

/// Inside a compressed fragmented message, after a Ping: a new data frame
/// with RSV1 is a new message where a continuation must come (1002,
/// RFC 6455 section 5.4), RSV1 on the continuation is 1002 (RFC 7692
/// section 6.1), and a plain continuation finishes the message.
#[test]
fn frames_inside_a_compressed_fragmented_message() {
    let first = server_frame(0x41, &[0xf2, 0x48, 0xcd]);
    let ping = server_frame(0x89, b"p");
    let fail = |e| {
        vec![
            Ev::Ping(b"p".to_vec()),
            Ev::Closed(ClosedReason::ProtocolError(e)),
        ]
    };
    let cases: [(Vec<u8>, Vec<Ev>); 3] = [
        (
            server_frame(0xc1, &[0xc9, 0xc9, 0x07, 0x00]),
            fail(ProtocolError::ExpectedContinuation),
        ),
        (
            server_frame(0xc0, &[0xc9, 0xc9, 0x07, 0x00]),
            fail(ProtocolError::ReservedBits),
        ),
        (
            server_frame(0x80, &[0xc9, 0xc9, 0x07, 0x00]),
            vec![Ev::Ping(b"p".to_vec()), Ev::Text("Hello".into())],
        ),
    ];
    for (next, want) in cases {
        for streaming in [false, true] {
            let wire = [&first[..], &ping, &next].concat();
            let mut evs = receive(&DeflateParams::default(), streaming, &wire);
            // Streaming may hand out "He" before the Ping.
            if streaming {
                evs.retain(|e| !matches!(e, Ev::TextFragment(..)));
                let mut want = want.clone();
                want.retain(|e| !matches!(e, Ev::Text(_)));
                let got: Vec<Ev> = evs
                    .into_iter()
                    .filter(|e| !matches!(e, Ev::Text(_)))
                    .collect();
                assert_eq!(got, want, "{next:02x?}");
            } else {
                assert_eq!(evs, want, "{next:02x?}");
            }
        }
    }
}

// ---- a message that does not end on a block boundary ----

/// A sender that leaves the sync flush's `00 00 ff ff` on its message
/// (RFC 7692 section 7.2.1 has it removed) leaves the decoder, once the
/// tail is appended again, inside the header of a stored block; with
/// context takeover the next message's bytes would be read as that
/// block's LEN/NLEN and raw contents (an empty binary message arrived as
/// `00 00 ff ff`, and the 65 280-byte "stored block" swallowed the
/// messages after it, silently). The message must end on a block
/// boundary: 1007 (main's a2b8bd2, `Inflater::finish`).
#[test]
fn a_message_not_ending_on_a_block_boundary_is_1007() {
    let mut wire = server_frame(
        0xc1,
        &[
            0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff,
        ],
    );
    wire.extend(server_frame(0xc2, &[0x00])); // an empty message
    let evs = receive(&DeflateParams::default(), false, &wire);
    assert_ne!(evs.get(1), Some(&Ev::Binary(vec![0, 0, 0xff, 0xff])));
    assert_eq!(
        evs.last(),
        Some(&Ev::Closed(ClosedReason::ProtocolError(
            ProtocolError::InvalidCompressedData
        )))
    );
}

// ---- work per read ----

/// A large compressed text message (whole mode) arriving in small reads:
/// what was inflated so far must not be looked through (or copied) again
/// on every read. It was, twice: the streaming-only "is there a piece"
/// check validated the whole message so far as UTF-8 on every read, and
/// `settle` cut the geometrically grown buffer back to the message so far
/// on every read, so the next read reallocated it (see also
/// deflate_hostile_alloc.rs). 4 MB of text compressed to 4 KB and read a
/// byte at a time took 1.3 s (release; minutes in debug) against 10 ms in
/// one read. Timed as a ratio of the same work in one read, with a wide
/// margin, so a slow machine does not matter.
#[test]
fn whole_mode_compressed_text_is_not_revalidated_on_every_read() {
    let text = "é".repeat(2 << 20);
    let wire = server_frame(0xc1, &Enc::new().last(text.as_bytes()));
    assert!(wire.len() < 20_000, "{}", wire.len());
    let time = |read: usize| {
        let mut client = client_with(&DeflateParams::default(), false);
        let started = std::time::Instant::now();
        let mut got = 0;
        for c in wire.chunks(read) {
            client.handle_input(t(0), c);
            while let Some(e) = client.poll_event() {
                if let wscore::Event::Text(s) = e {
                    got += s.len();
                }
            }
        }
        assert_eq!(got, text.len());
        started.elapsed()
    };
    let whole = time(wire.len());
    let bytewise = time(1);
    assert!(
        bytewise < whole * 10 + std::time::Duration::from_millis(100),
        "{bytewise:?} a byte at a time, {whole:?} in one read"
    );
}
