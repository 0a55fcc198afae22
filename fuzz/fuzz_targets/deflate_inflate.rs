//! Arbitrary compressed data, cut into arbitrary frames and reads, into a
//! connection that agreed on permessage-deflate with arbitrary parameters
//! and limits, whole or streaming.
//!
//! Invariants: no panic; what is handed out never exceeds the message
//! limit; a message that ends is either handed out or refused with 1007
//! (invalid data), 1009 (over the limit) or 1002/1007 for the framing and
//! text rules, and nothing follows the terminal event; the heap stays
//! within the limit plus the input, the inflater's history and tables.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscore::{ClosedReason, Config, Event, Instant, ProtocolError};
use wscore_fuzz::{check_wire, chunks, deflate_pair};

fuzz_target!(|data: &[u8]| {
    let [
        sel,
        params,
        params2,
        limit_sel,
        frame_seed,
        read_seed,
        data @ ..,
    ] = data
    else {
        return;
    };
    let limit = u64::from(*limit_sel) * 64;
    let streaming = sel & 1 != 0;
    let text = sel & 2 != 0;
    let to_server = sel & 4 != 0;
    let mut config = Config::default();
    config.max_message_size = limit;
    config.streaming = streaming;
    let (client, server) = deflate_pair(*params, *params2, &config, &config);
    let (mut conn, masked) = if to_server {
        (server, true)
    } else {
        (client, false)
    };

    // One compressed message: frames cut by `frame_seed`, RSV1 on the first.
    let mut wire = Vec::new();
    let pieces = chunks(*frame_seed, data);
    let n = pieces.len();
    for (i, piece) in pieces.into_iter().enumerate() {
        let opcode = match (i, text) {
            (0, true) => wscore::frame::Opcode::Text,
            (0, false) => wscore::frame::Opcode::Binary,
            _ => wscore::frame::Opcode::Continuation,
        };
        let header = wscore::frame::FrameHeader {
            fin: i + 1 == n,
            rsv1: i == 0,
            mask: masked.then_some([1, 2, 3, 4]),
            ..wscore::frame::FrameHeader::new(opcode, piece.len() as u64)
        };
        header.encode_to_vec(&mut wire);
        wscore::frame::append_masked(&mut wire, piece, [1, 2, 3, 4], 0);
        if !masked {
            let at = wire.len() - piece.len();
            wire.truncate(at);
            wire.extend_from_slice(piece);
        }
    }

    let mut handed_out = 0u64;
    let mut closed = None;
    let mut out = Vec::new();
    for read in chunks(*read_seed, &wire) {
        conn.handle_input(Instant::ZERO, read);
        // The input buffer holds at most what was fed (one message's
        // frames); the inflater at most the limit (plus one byte), two
        // windows of history and a growth step; its tables are ~10 KiB.
        let bound = 2 * wire.len() + limit as usize + 3 * 32768 + 64 * 1024;
        assert!(
            conn.heap_usage() <= bound,
            "{} > {bound}",
            conn.heap_usage()
        );
        while let Some(e) = conn.poll_event() {
            assert!(closed.is_none(), "an event after Closed");
            match e {
                Event::Text(t) => handed_out += t.len() as u64,
                Event::Binary(b) => handed_out += b.len() as u64,
                Event::TextFragment { data, .. } => handed_out += data.len() as u64,
                Event::BinaryFragment { data, .. } => handed_out += data.len() as u64,
                Event::Closed(r) => closed = Some(r),
                other => panic!("unexpected event {other:?}"),
            }
            assert!(
                handed_out <= limit,
                "{handed_out} bytes past the limit {limit}"
            );
        }
        conn.poll_transmit(&mut out);
    }
    if let Some(reason) = closed {
        match reason {
            ClosedReason::ProtocolError(
                ProtocolError::InvalidCompressedData
                | ProtocolError::MessageTooLarge
                | ProtocolError::InvalidUtf8
                | ProtocolError::FrameTooLarge,
            ) => {}
            other => panic!("unexpected ending {other:?}"),
        }
    }
    // Our side sent a Close at most, never with RSV1 (`check_wire`
    // allows no RSV bits).
    check_wire(&out, conn.role());
});
