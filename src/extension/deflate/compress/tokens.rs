//! The LZ77 output of one block: literals and (length, distance) pairs,
//! with the symbol frequencies the block encoder builds its codes from.

use alloc::vec::Vec;

use super::symbols::{DIST_SYMS, END_OF_BLOCK, LENGTH_CODE, LIT_SYMS, MIN_MATCH, distance_code};

/// Set on a token that is a match; clear on a literal.
pub(super) const MATCH_FLAG: u32 = 1 << 31;

/// The tokens of the block being built.
#[derive(Debug)]
pub(super) struct Tokens {
    /// A literal byte, or `MATCH_FLAG | (length - 3) << 16 | distance`.
    /// Never grows past its first capacity: the block is written when full.
    pub(super) list: Vec<u32>,
    /// Literal/length symbol counts (end of block counted at write time).
    pub(super) lit: [u32; LIT_SYMS],
    /// Distance symbol counts.
    pub(super) dist: [u32; DIST_SYMS],
    /// Input bytes the tokens cover.
    pub(super) bytes: usize,
}

impl Tokens {
    /// Room for `cap` tokens.
    pub(super) fn new(cap: usize) -> Tokens {
        Tokens {
            list: Vec::with_capacity(cap),
            lit: [0; LIT_SYMS],
            dist: [0; DIST_SYMS],
            bytes: 0,
        }
    }

    /// No room for another token: time to write the block.
    #[inline]
    pub(super) fn is_full(&self) -> bool {
        self.list.len() >= self.list.capacity()
    }

    /// Record a literal byte.
    #[inline]
    pub(super) fn literal(&mut self, byte: u8) {
        self.list.push(u32::from(byte));
        self.lit[usize::from(byte)] += 1;
        self.bytes += 1;
    }

    /// Record a match of `len` (3..=258) bytes at `dist` (1..=32768).
    #[inline]
    pub(super) fn matched(&mut self, len: usize, dist: usize) {
        let l3 = len - MIN_MATCH;
        self.list.push(MATCH_FLAG | (l3 as u32) << 16 | dist as u32);
        self.lit[END_OF_BLOCK + 1 + usize::from(LENGTH_CODE[l3])] += 1;
        self.dist[distance_code(dist).0] += 1;
        self.bytes += len;
    }

    /// Start an empty block, keeping the allocation.
    pub(super) fn clear(&mut self) {
        self.list.clear();
        self.lit = [0; LIT_SYMS];
        self.dist = [0; DIST_SYMS];
        self.bytes = 0;
    }
}
