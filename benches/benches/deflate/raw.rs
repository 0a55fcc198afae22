//! The raw backend: what the peers' deflate costs with no WebSocket around
//! it. flate2 (built here on C zlib, as both peers build it) in raw deflate
//! mode (no zlib header), window 15: per message, compress with a sync
//! flush and strip the `00 00 ff ff` tail (RFC 7692 section 7.2.1), then
//! inflate it with the tail put back (section 7.2.2), once each way, with
//! one compressor and one inflater per direction kept across messages
//! (context takeover), or reset after each message (no context takeover,
//! soketto's only mode). No framing, masking or copying through a
//! transport; the wire bytes it reports are compressed payload only.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

use crate::Wire;

const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];

/// One direction: a compressor at the sender, an inflater at the receiver.
struct Direction {
    compress: Compress,
    inflate: Decompress,
}

pub struct Pair {
    c2s: Direction,
    s2c: Direction,
    reset: bool,
    compressed: Vec<u8>,
    inflated: Vec<u8>,
}

pub fn new(level: u32, context_takeover: bool) -> Pair {
    let dir = || Direction {
        compress: Compress::new_with_window_bits(Compression::new(level), false, 15),
        inflate: Decompress::new_with_window_bits(false, 15),
    };
    Pair {
        c2s: dir(),
        s2c: dir(),
        reset: !context_takeover,
        compressed: Vec::with_capacity(8 << 10),
        inflated: Vec::with_capacity(8 << 10),
    }
}

/// Compress `input` into `out` (cleared first), sync-flushed, tail removed.
fn compress(c: &mut Compress, input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let start = c.total_in();
    loop {
        // A sync flush is complete once it returns with output room left.
        out.reserve(input.len() / 4 + 64);
        let done = (c.total_in() - start) as usize;
        c.compress_vec(&input[done..], out, FlushCompress::Sync)
            .expect("raw: compress");
        if (c.total_in() - start) as usize == input.len() && out.len() < out.capacity() {
            break;
        }
    }
    assert!(out.ends_with(&TAIL), "raw: no sync-flush tail");
    out.truncate(out.len() - TAIL.len());
}

/// Inflate `input` + the tail into `out` (cleared first).
fn inflate(d: &mut Decompress, input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    for part in [input, &TAIL[..]] {
        let start = d.total_in();
        loop {
            if out.capacity() - out.len() < 256 {
                out.reserve(out.capacity().max(1024));
            }
            let done = (d.total_in() - start) as usize;
            d.decompress_vec(&part[done..], out, FlushDecompress::Sync)
                .expect("raw: inflate");
            if (d.total_in() - start) as usize == part.len() && out.len() < out.capacity() {
                break;
            }
        }
    }
}

/// One message through one direction; returns its compressed size.
fn hop(dir: &mut Direction, reset: bool, msg: &str, z: &mut Vec<u8>, out: &mut Vec<u8>) -> u64 {
    compress(&mut dir.compress, msg.as_bytes(), z);
    inflate(&mut dir.inflate, z, out);
    assert_eq!(
        &out[..],
        msg.as_bytes(),
        "raw: inflated a different message"
    );
    if reset {
        dir.compress.reset();
        dir.inflate.reset(false);
    }
    z.len() as u64
}

/// One pass over `corpus`: compress + inflate client to server, then again
/// server to client, each checked against the message.
pub fn round_trips(p: &mut Pair, corpus: &[String]) -> Wire {
    let mut w = Wire::default();
    for msg in corpus {
        w.c2s += hop(&mut p.c2s, p.reset, msg, &mut p.compressed, &mut p.inflated);
        w.s2c += hop(&mut p.s2c, p.reset, msg, &mut p.compressed, &mut p.inflated);
    }
    w
}
