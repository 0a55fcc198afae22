//! permessage-deflate from a hostile (or merely unusual but valid) peer:
//! compressed input built by another encoder (miniz_oxide's, with real
//! back-references and sync flushes), aimed at the receive path's corners
//! (streaming pieces, empty frames, history kept or not, limits).

mod common;

use common::deflate::{connections, params};
use common::{Ev, cfg, events, server_frame, t, transmit};
use miniz_oxide::deflate::core::{
    CompressorOxide, TDEFLFlush, TDEFLStatus, compress, create_comp_flags_from_zip_params,
};
use wscore::deflate::DeflateParams;
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

/// Join streamed pieces into whole messages (and keep everything else).
fn whole(evs: Vec<Ev>) -> Vec<Ev> {
    let mut out = Vec::new();
    let (mut text, mut bin) = (String::new(), Vec::new());
    for e in evs {
        match e {
            Ev::TextFragment(s, fin) => {
                text.push_str(&s);
                if fin {
                    out.push(Ev::Text(std::mem::take(&mut text)));
                }
            }
            Ev::BinaryFragment(b, fin) => {
                bin.extend_from_slice(&b);
                if fin {
                    out.push(Ev::Binary(std::mem::take(&mut bin)));
                }
            }
            other => out.push(other),
        }
    }
    out
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
            assert_eq!(receive(&p, streaming, &wire), want, "{p:?} streaming {streaming}");
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

/// A compressed message whose last frame is empty (a sender that flushes
/// each piece and then ends the message with an empty FIN frame), and a
/// compressed message with no payload at all. The message after each must
/// still arrive: an empty frame must not leave the parser waiting for
/// payload that will never come.
#[test]
fn an_empty_final_frame_of_a_compressed_message_ends_it() {
    // "Hello" (section 7.2.3.1) in a first frame, its end in an empty one.
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let mut wire = server_frame(0x41, &hello); // RSV1 text, not fin
    wire.extend(server_frame(0x80, &[])); // empty continuation, fin
    wire.extend(server_frame(0xc1, &[])); // a compressed text with no payload
    wire.extend(server_frame(0x81, b"after")); // uncompressed
    let p = DeflateParams::default();
    for streaming in [false, true] {
        assert_eq!(
            receive(&p, streaming, &wire),
            [
                Ev::Text("Hello".into()),
                Ev::Text(String::new()),
                Ev::Text("after".into())
            ],
            "streaming {streaming}"
        );
    }
}

