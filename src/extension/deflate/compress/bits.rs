//! An LSB-first bit writer (RFC 1951 section 3.1.1) appending to the
//! caller's output vector.

use alloc::vec::Vec;

/// Packs bit fields into bytes, least significant bit first.
pub(super) struct BitWriter<'a> {
    /// Where whole bytes go.
    out: &'a mut Vec<u8>,
    /// Pending bits, the oldest at bit 0.
    acc: u64,
    /// How many bits of `acc` are pending (always < 32 between calls).
    count: u32,
}

impl<'a> BitWriter<'a> {
    /// A writer starting on a byte boundary at the end of `out`.
    pub(super) fn new(out: &'a mut Vec<u8>) -> BitWriter<'a> {
        BitWriter {
            out,
            acc: 0,
            count: 0,
        }
    }

    /// Write the low `n` bits of `bits` (n <= 32; higher bits must be zero).
    #[inline]
    pub(super) fn put(&mut self, bits: u32, n: u32) {
        self.acc |= u64::from(bits) << self.count;
        self.count += n;
        // Spill four bytes at a time: fewer, wider pushes than per byte.
        if self.count >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.count -= 32;
        }
    }

    /// Pad with zero bits to the next byte boundary and write out every
    /// pending byte.
    pub(super) fn align(&mut self) {
        while self.count > 0 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.count = self.count.saturating_sub(8);
        }
        self.acc = 0;
    }

    /// Pending bits past the last byte boundary (0..8 once aligned bytes
    /// are counted out), for sizing a stored block's padding.
    pub(super) fn bit_offset(&self) -> u32 {
        self.count % 8
    }

    /// Append whole bytes; only valid on a byte boundary (after `align`).
    pub(super) fn bytes(&mut self, data: &[u8]) {
        debug_assert_eq!(self.count, 0);
        self.out.extend_from_slice(data);
    }
}
