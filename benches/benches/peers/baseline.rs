//! Yardsticks measured in the same run: what the memory system allows for
//! the receive and send paths, and a minimal frame parser for W1.

use crate::common::{Pipe, Tally, checksum, copy_masked, xor_in_place};

/// Copy into a reused buffer, unmask it in place, checksum it (the work a
/// receiver of one masked frame cannot avoid). `utf8` adds simdutf8.
pub fn copy_unmask(dst: &mut Vec<u8>, src: &[u8], key: [u8; 4], utf8: bool) -> Tally {
    dst.resize(src.len(), 0);
    dst.copy_from_slice(src);
    xor_in_place(dst, key);
    if utf8 {
        simdutf8::basic::from_utf8(dst).expect("baseline: invalid UTF-8");
    }
    let mut t = Tally::default();
    t.add(dst);
    t
}

/// The same into a fresh allocation, freed afterwards: the page faults and
/// allocator work a receiver pays when it does not keep its buffer.
pub fn alloc_copy_unmask(src: &[u8], key: [u8; 4], utf8: bool) -> Tally {
    let mut v = src.to_vec();
    xor_in_place(&mut v, key);
    if utf8 {
        simdutf8::basic::from_utf8(&v).expect("baseline: invalid UTF-8");
    }
    let mut t = Tally::default();
    t.add(&v);
    t
}

/// One pass reading `src` and writing `dst = src ^ key` (a client's send).
pub fn fused_copy_mask(dst: &mut Vec<u8>, src: &[u8], key: [u8; 4]) {
    dst.resize(src.len(), 0);
    copy_masked(dst, src, key);
}

/// Unmask in place only.
pub fn xor_only(buf: &mut [u8], key: [u8; 4]) {
    xor_in_place(buf, key);
}

/// The checksum pass alone, which every receive row includes.
pub fn sum_only(data: &[u8]) -> u64 {
    checksum(data)
}

/// W1's yardstick: read into a buffer, then parse each whole masked frame
/// in place (header, unmask, tally), moving a partial frame to the front.
/// Only what W1 sends is handled: final binary frames short enough to fit
/// the buffer.
pub struct MiniParser {
    io: Pipe,
    buf: Vec<u8>,
    read_size: usize,
}

pub fn mini_parser(io: Pipe, read_size: usize) -> MiniParser {
    MiniParser {
        io,
        buf: vec![0; read_size + (64 << 10)],
        read_size,
    }
}

pub fn mini_recv(p: &mut MiniParser, msgs: u64) -> Tally {
    let mut t = Tally::default();
    let mut end = 0;
    while t.msgs < msgs {
        let n = p.io.read_into(&mut p.buf[end..end + p.read_size]);
        assert!(n > 0, "mini parser: EOF after {} of {msgs}", t.msgs);
        end += n;
        let mut at = 0;
        while end - at >= 4 {
            let (b0, b1) = (p.buf[at], p.buf[at + 1]);
            assert_eq!(b0, 0x82, "mini parser: only final binary frames");
            let (len, head) = match b1 {
                0xFE => (
                    u16::from_be_bytes([p.buf[at + 2], p.buf[at + 3]]) as usize,
                    8,
                ),
                0x80..=0xFD => ((b1 & 0x7F) as usize, 6),
                _ => panic!("mini parser: only masked frames under 64 KiB"),
            };
            if end - at < head + len {
                break;
            }
            let key: [u8; 4] = p.buf[at + head - 4..at + head].try_into().unwrap();
            let payload = &mut p.buf[at + head..at + head + len];
            xor_in_place(payload, key);
            t.add(payload);
            at += head + len;
        }
        p.buf.copy_within(at..end, 0);
        end -= at;
    }
    t
}
