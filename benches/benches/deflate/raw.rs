//! The raw backends: what deflate costs with no WebSocket around it. Per
//! message, compress with a sync flush and strip the `00 00 ff ff` tail
//! (RFC 7692 section 7.2.1), then inflate it with the tail put back
//! (section 7.2.2), once each way, with one compressor and one inflater per
//! direction kept across messages (context takeover) or reset after each
//! message (no context takeover, soketto's only mode). Raw deflate (no zlib
//! header), window 15 unless a row says otherwise. No framing, masking or transport; the wire bytes
//! reported are compressed payload only.
//!
//! Two libraries: flate2 (built here on C zlib, as both peers build it;
//! see the crate manifest) and miniz_oxide (the pure-Rust library wscore's
//! inflater runs on).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use miniz_oxide::deflate::core::{CompressorOxide, create_comp_flags_from_zip_params};
use miniz_oxide::inflate::stream::InflateState;
use miniz_oxide::{DataFormat, MZError, MZFlush};

use crate::Wire;

const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];

/// One direction: a compressor at the sender, an inflater at the receiver.
trait Direction {
    /// Compress `msg` (tail stripped) and inflate the result: the
    /// compressed size and the inflated bytes.
    fn hop(&mut self, msg: &[u8]) -> (usize, &[u8]);
    /// Forget the history (no context takeover).
    fn reset(&mut self);
}

pub struct Pair {
    c2s: Box<dyn Direction>,
    s2c: Box<dyn Direction>,
    reset: bool,
}

#[derive(Clone, Copy)]
pub enum Lib {
    Zlib,
    Miniz,
}

/// `window` in bits; miniz_oxide's compressor always uses 15.
pub fn new(lib: Lib, level: u8, window: u8, context_takeover: bool) -> Pair {
    let dir = || -> Box<dyn Direction> {
        match lib {
            Lib::Zlib => Box::new(Zlib {
                compress: Compress::new_with_window_bits(
                    Compression::new(level.into()),
                    false,
                    window,
                ),
                inflate: Decompress::new_with_window_bits(false, window),
                z: Vec::new(),
                out: Vec::new(),
            }),
            Lib::Miniz => Box::new(Miniz {
                // Its compressor has a fixed 32 KiB window.
                compress: {
                    assert_eq!(window, 15, "miniz_oxide compresses with window 15 only");
                    Box::new(CompressorOxide::new(create_comp_flags_from_zip_params(
                        level.into(),
                        -15,
                        0,
                    )))
                },
                inflate: InflateState::new_boxed(DataFormat::Raw),
                z: Vec::new(),
                out: Vec::new(),
            }),
        }
    };
    Pair {
        c2s: dir(),
        s2c: dir(),
        reset: !context_takeover,
    }
}

struct Zlib {
    compress: Compress,
    inflate: Decompress,
    z: Vec<u8>,
    out: Vec<u8>,
}

impl Direction for Zlib {
    fn hop(&mut self, msg: &[u8]) -> (usize, &[u8]) {
        let (z, out) = (&mut self.z, &mut self.out);
        // Compress: a sync flush is complete once it returns with output
        // room left.
        let c = &mut self.compress;
        z.clear();
        let start = c.total_in();
        loop {
            z.reserve(msg.len() + 64);
            let done = (c.total_in() - start) as usize;
            c.compress_vec(&msg[done..], z, FlushCompress::Sync)
                .expect("raw zlib: compress");
            if (c.total_in() - start) as usize == msg.len() && z.len() < z.capacity() {
                break;
            }
        }
        assert!(z.ends_with(&TAIL), "raw zlib: no sync-flush tail");
        z.truncate(z.len() - TAIL.len());
        // Inflate the payload, then the tail.
        let d = &mut self.inflate;
        out.clear();
        for part in [&z[..], &TAIL[..]] {
            let start = d.total_in();
            loop {
                if out.capacity() - out.len() < 256 {
                    out.reserve(out.capacity().max(1024));
                }
                let done = (d.total_in() - start) as usize;
                d.decompress_vec(&part[done..], out, FlushDecompress::Sync)
                    .expect("raw zlib: inflate");
                if (d.total_in() - start) as usize == part.len() && out.len() < out.capacity() {
                    break;
                }
            }
        }
        (z.len(), out)
    }

    fn reset(&mut self) {
        self.compress.reset();
        self.inflate.reset(false);
    }
}

struct Miniz {
    compress: Box<CompressorOxide>,
    inflate: Box<InflateState>,
    /// Scratch space of their full length (zeroed once, when they grow).
    z: Vec<u8>,
    out: Vec<u8>,
}

/// Make sure `v` has at least `room` bytes past `len` (zeroed once, kept).
fn room(v: &mut Vec<u8>, len: usize, room: usize) {
    if v.len() < len + room {
        v.resize(len + room, 0);
    }
}

impl Direction for Miniz {
    fn hop(&mut self, msg: &[u8]) -> (usize, &[u8]) {
        let (z, out) = (&mut self.z, &mut self.out);
        let mut zlen = 0;
        let mut done = 0;
        loop {
            room(z, zlen, msg.len() + 64);
            let r = miniz_oxide::deflate::stream::deflate(
                &mut self.compress,
                &msg[done..],
                &mut z[zlen..],
                MZFlush::Sync,
            );
            assert!(
                matches!(r.status, Ok(_) | Err(MZError::Buf)),
                "raw miniz: compress {:?}",
                r.status
            );
            done += r.bytes_consumed;
            zlen += r.bytes_written;
            if done == msg.len() && zlen < z.len() {
                break;
            }
        }
        assert!(z[..zlen].ends_with(&TAIL), "raw miniz: no sync-flush tail");
        zlen -= TAIL.len();
        let mut olen = 0;
        for part in [&z[..zlen], &TAIL[..]] {
            let mut done = 0;
            loop {
                room(out, olen, 1024);
                let r = miniz_oxide::inflate::stream::inflate(
                    &mut self.inflate,
                    &part[done..],
                    &mut out[olen..],
                    MZFlush::Sync,
                );
                assert!(
                    matches!(r.status, Ok(_) | Err(MZError::Buf)),
                    "raw miniz: inflate {:?}",
                    r.status
                );
                done += r.bytes_consumed;
                olen += r.bytes_written;
                if done == part.len() && olen < out.len() {
                    break;
                }
            }
        }
        (zlen, &out[..olen])
    }

    fn reset(&mut self) {
        self.compress.reset();
        self.inflate.reset(DataFormat::Raw);
    }
}

/// One message through one direction, checked; returns its compressed size.
fn hop(dir: &mut dyn Direction, reset: bool, msg: &str) -> u64 {
    let (zlen, out) = dir.hop(msg.as_bytes());
    assert_eq!(out, msg.as_bytes(), "raw: inflated a different message");
    if reset {
        dir.reset();
    }
    zlen as u64
}

/// One pass over `corpus`: compress + inflate client to server, then again
/// server to client, each checked against the message.
pub fn round_trips(p: &mut Pair, corpus: &[String]) -> Wire {
    let mut w = Wire::default();
    for msg in corpus {
        w.c2s += hop(p.c2s.as_mut(), p.reset, msg);
        w.s2c += hop(p.s2c.as_mut(), p.reset, msg);
    }
    w
}
