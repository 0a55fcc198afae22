//! Distance-limited LZ77 over hash chains.
//!
//! The history lives in `buf`, which holds up to `2^w` bytes already
//! encoded (the window) followed by the bytes being encoded. Positions are
//! indices into `buf`, kept in `u16` tables: `head[hash]` is the latest
//! position whose next three bytes have that hash, `prev[p & mask]` (offset so
//! slides keep slots) the one before it (a ring of `2^w` links, since older positions are out of
//! reach anyway). When `buf` fills, the last `2^w` bytes slide to its
//! start and every table entry drops by the same amount.
//!
//! Correctness never rests on the tables: a candidate is used only if it
//! lies at or after `floor` (the first byte the decoder still has: the
//! start of history after a reset) and at most `2^w` bytes back, and its
//! bytes are compared for real. Stale or aliased entries only cost probes.

use alloc::vec;
use alloc::vec::Vec;

use super::symbols::{MAX_MATCH, MIN_MATCH};
use super::tokens::Tokens;

/// How hard one level searches.
#[derive(Clone, Copy, Debug)]
pub(super) struct Effort {
    /// Candidates probed per search.
    chain: u16,
    /// A match this long ends the search.
    nice: u16,
    /// Lazy matching: look one byte further for a better match when the
    /// current one is shorter than this. 0: greedy.
    lazy: u16,
    /// With a previous match this long, probe only a quarter of the chain.
    good: u16,
    /// Greedy only: insert the positions inside a match no longer than
    /// this into the hash chains (longer ones are skipped, for speed).
    max_insert: u16,
}

impl Effort {
    /// The parameters of `level` (1..=9; others clamp).
    pub(super) fn for_level(level: u8) -> Effort {
        let e = |chain, nice, lazy, good, max_insert| Effort {
            chain,
            nice,
            lazy,
            good,
            max_insert,
        };
        match level {
            0 | 1 => e(4, 16, 0, 0, 4),
            2 => e(8, 32, 0, 0, 16),
            3 => e(24, 64, 0, 0, 258),
            4 => e(16, 32, 16, 4, 258),
            5 => e(32, 64, 64, 8, 258),
            // Trying the next byte only after a match shorter than 16 (as
            // zlib's level 6 does) ran W5 5% faster than always trying it,
            // for 0.4% more bytes on chat messages (the same as zlib's);
            // levels 7 to 9 always try it (2.7% smaller on a 4 MiB JSON
            // file than lazy 32).
            6 => e(128, 128, 16, 8, 258),
            7 => e(256, 192, 258, 16, 258),
            8 => e(512, 258, 258, 32, 258),
            _ => e(1024, 258, 258, 32, 258),
        }
    }
}

/// A length-3 match this far back costs more bits than three literals
/// usually do, so it is not taken.
const TOO_FAR: usize = 4096;

/// The sliding window and its hash chains.
#[derive(Debug)]
pub(super) struct Window {
    /// History, then the bytes being encoded. Capacity `wsize + lookahead`.
    buf: Vec<u8>,
    /// Latest position per hash.
    head: Vec<u16>,
    /// Previous position with the same hash, per `(position + ring) & mask`.
    prev: Vec<u16>,
    /// The window size, `2^w`: the largest distance allowed.
    wsize: usize,
    /// Bits of the hash.
    hash_bits: u32,
    /// Next position to encode.
    pos: usize,
    /// First position the decoder has (0 unless reset since the last slide).
    floor: usize,
    /// Total slide distance modulo `wsize`: `prev` is indexed by
    /// `(p + ring) & mask`, so a position keeps its slot when the buffer
    /// slides by an amount that is not a multiple of the window.
    ring: usize,
    /// Lazy matching: the byte at `pos - 1` is not yet emitted.
    pending: bool,
    /// Lazy matching: best match found at `pos - 1` (length 0: none).
    prev_len: usize,
    /// Distance of that match.
    prev_dist: usize,
}

impl Window {
    /// Allocate a window of `2^window_bits` bytes, holding `history` (at
    /// most that many bytes, the end of what was sent before) as already
    /// encoded, with each of its positions linked into the hash chains as
    /// encoding it would have: matches into it are found as if the window
    /// had never been freed. The buffer is allocated for at most `input`
    /// bytes of new input (`usize::MAX`: any amount); more still fits, by
    /// growing it.
    pub(super) fn new(window_bits: u8, history: &[u8], input: usize) -> Window {
        let wsize = 1usize << window_bits;
        // New input is read in pieces of at least 2 KiB so small windows
        // do not slide (an O(table) step) every few hundred bytes.
        let cap = wsize + wsize.max(2048);
        let hash_bits = u32::from(window_bits + 1).clamp(10, 15);
        // More would be out of reach anyway; only the last `wsize` count.
        let history = &history[history.len().saturating_sub(wsize)..];
        let mut buf = Vec::with_capacity(cap.min(history.len().saturating_add(input)));
        buf.extend_from_slice(history);
        let mut window = Window {
            buf,
            head: vec![0; 1 << hash_bits],
            prev: vec![0; wsize],
            wsize,
            hash_bits,
            pos: 0,
            floor: 0,
            ring: 0,
            pending: false,
            prev_len: 0,
            prev_dist: 0,
        };
        // Every position with three bytes after it, oldest first, so the
        // chains run newest to oldest as `longest` expects.
        for p in 0..history.len().saturating_sub(MIN_MATCH - 1) {
            window.insert(p);
        }
        window.pos = history.len();
        window
    }

    /// The bytes a later message may refer to: the last `2^w` encoded
    /// since the last reset. Only between calls (everything given has
    /// been encoded), which is when a compressor can be released.
    pub(super) fn history(&self) -> &[u8] {
        debug_assert!(self.pos == self.buf.len() && !self.pending);
        &self.buf[self.floor.max(self.pos.saturating_sub(self.wsize))..self.pos]
    }

    /// Heap bytes held.
    pub(super) fn heap_usage(&self) -> usize {
        self.buf.capacity() + 2 * (self.head.capacity() + self.prev.capacity())
    }

    /// Forget the history: nothing before the current end may be matched.
    /// O(1): the tables keep their entries, which `floor` now rejects.
    pub(super) fn reset(&mut self) {
        self.floor = self.buf.len();
        self.pos = self.buf.len();
        self.pending = false;
        self.prev_len = 0;
    }

    /// Buffer capacity: history plus the largest piece of new input.
    fn cap(&self) -> usize {
        self.wsize + self.wsize.max(2048)
    }

    /// Append as much of `input` as fits, sliding first if the buffer is
    /// full. Returns how many bytes were taken.
    pub(super) fn fill(&mut self, input: &[u8]) -> usize {
        if self.buf.len() == self.cap() && !input.is_empty() {
            self.slide();
        }
        let n = input.len().min(self.cap() - self.buf.len());
        self.buf.extend_from_slice(&input[..n]);
        n
    }

    /// Move the last `wsize` bytes before `pos` (and everything after) to
    /// the start. Called only with `pos > wsize`, once per at least
    /// `cap - wsize - MAX_MATCH` bytes of input, so its cost is linear.
    fn slide(&mut self) {
        let shift = self.pos.saturating_sub(self.wsize);
        if shift == 0 {
            return;
        }
        self.buf.copy_within(shift.., 0);
        self.buf.truncate(self.buf.len() - shift);
        self.pos -= shift;
        self.floor = self.floor.saturating_sub(shift);
        self.ring = (self.ring + shift) & (self.wsize - 1);
        // Positions are below cap <= 65536, and shift = pos - wsize <=
        // cap - wsize <= 32768, so both fit in u16.
        let s = shift as u16;
        // Two plain loops (not a chained iterator) so both vectorise.
        for v in &mut self.head {
            *v = v.saturating_sub(s);
        }
        for v in &mut self.prev {
            *v = v.saturating_sub(s);
        }
    }

    /// Hash of the three bytes at `p` (needs `p + 3 <= buf.len()`).
    #[inline]
    fn hash(&self, p: usize) -> usize {
        let b = &self.buf[p..p + 3];
        let v = u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16;
        (v.wrapping_mul(0x9E37_79B1) >> (32 - self.hash_bits)) as usize
    }

    /// Link position `p` into its hash chain; return the previous head.
    #[inline]
    fn insert(&mut self, p: usize) -> usize {
        let h = self.hash(p);
        let old = self.head[h];
        self.prev[(p + self.ring) & (self.wsize - 1)] = old;
        self.head[h] = p as u16;
        usize::from(old)
    }

    /// Length of the common prefix of `buf[a..]` and `buf[b..]`, at most
    /// `max` (needs `a < b` and `b + max <= buf.len()`).
    #[inline]
    fn common(&self, a: usize, b: usize, max: usize) -> usize {
        let buf = &self.buf[..];
        let mut i = 0;
        // Eight bytes at a time: the first differing byte is the lowest
        // nonzero byte of the XOR.
        while i + 8 <= max {
            let x = read_u64(buf, a + i) ^ read_u64(buf, b + i);
            if x != 0 {
                return i + (x.trailing_zeros() / 8) as usize;
            }
            i += 8;
        }
        while i < max && buf[a + i] == buf[b + i] {
            i += 1;
        }
        i
    }

    /// The longest match for `pos` longer than `better_than`, walking the
    /// chain from `cand` (the previous head). Returns (length, distance),
    /// length 0 if none.
    fn longest(
        &self,
        pos: usize,
        mut cand: usize,
        better_than: usize,
        effort: &Effort,
    ) -> (usize, usize) {
        let max = MAX_MATCH.min(self.buf.len() - pos);
        let mut best = better_than.max(MIN_MATCH - 1);
        if best >= max {
            return (0, 0);
        }
        let nice = usize::from(effort.nice).min(max);
        let mut chain = effort.chain;
        if better_than >= usize::from(effort.good) && effort.good > 0 {
            chain = (chain >> 2).max(1);
        }
        // The window limit, and nothing from before a reset.
        let lowest = self.floor.max(pos.saturating_sub(self.wsize));
        let mut best_dist = 0;
        while cand >= lowest && cand < pos && chain > 0 {
            // A longer match must also agree at indexes `best - 1` and
            // `best`: check those two first, in one compare; it rejects
            // most candidates without touching the rest.
            if read_u16(&self.buf, cand + best - 1) == read_u16(&self.buf, pos + best - 1) {
                let len = self.common(cand, pos, max);
                if len > best {
                    best = len;
                    best_dist = pos - cand;
                    if len >= nice {
                        break;
                    }
                }
            }
            let next = usize::from(self.prev[(cand + self.ring) & (self.wsize - 1)]);
            // Chains run strictly backwards; anything else is a stale link.
            if next >= cand {
                break;
            }
            cand = next;
            chain -= 1;
        }
        if best_dist == 0 || (best == MIN_MATCH && best_dist > TOO_FAR) {
            return (0, 0);
        }
        (best, best_dist)
    }

    /// Encode positions into `tokens` until the buffer's end (or, with
    /// `more` input to come, until `MAX_MATCH` bytes before it, so every
    /// match can reach full length), or until `tokens` is full.
    pub(super) fn tokenize(&mut self, tokens: &mut Tokens, effort: &Effort, more: bool) {
        let end = self.buf.len();
        let limit = if more {
            end.saturating_sub(MAX_MATCH)
        } else {
            end
        };
        if effort.lazy == 0 {
            self.greedy(tokens, effort, limit);
        } else {
            self.lazy(tokens, effort, limit);
        }
        if !more && self.pos >= end && self.pending && !tokens.is_full() {
            // The last byte's own match cannot be >= 3 bytes: a literal.
            tokens.literal(self.buf[self.pos - 1]);
            self.pending = false;
            self.prev_len = 0;
        }
    }

    /// Greedy parsing: take the longest match at each position.
    fn greedy(&mut self, tokens: &mut Tokens, effort: &Effort, limit: usize) {
        let end = self.buf.len();
        // Literals since the last match.
        let mut misses = 0usize;
        while self.pos < limit && !tokens.is_full() {
            let pos = self.pos;
            let (len, dist) = if pos + MIN_MATCH <= end {
                let cand = self.insert(pos);
                self.longest(pos, cand, 0, effort)
            } else {
                (0, 0)
            };
            if len >= MIN_MATCH {
                tokens.matched(len, dist);
                if len <= usize::from(effort.max_insert) {
                    for p in pos + 1..(pos + len).min(end.saturating_sub(MIN_MATCH - 1)) {
                        self.insert(p);
                    }
                }
                self.pos = pos + len;
                misses = 0;
            } else {
                tokens.literal(self.buf[pos]);
                self.pos = pos + 1;
                misses += 1;
                // In a long run of literals (incompressible data) search
                // only every few positions, up to one in eight: searching
                // each made random input 3x slower than miniz_oxide's
                // level 1, and text rarely has 64 literals in a row.
                for _ in 0..(misses >> 6).min(7) {
                    if self.pos >= limit || tokens.is_full() {
                        break;
                    }
                    tokens.literal(self.buf[self.pos]);
                    self.pos += 1;
                }
            }
        }
    }

    /// Lazy parsing: keep the match found at `pos - 1` unless `pos` starts
    /// a longer one, in which case `pos - 1` becomes a literal.
    fn lazy(&mut self, tokens: &mut Tokens, effort: &Effort, limit: usize) {
        let end = self.buf.len();
        while self.pos < limit && !tokens.is_full() {
            let pos = self.pos;
            let (len, dist) = if pos + MIN_MATCH <= end {
                let cand = self.insert(pos);
                if self.prev_len < usize::from(effort.lazy) {
                    self.longest(pos, cand, self.prev_len, effort)
                } else {
                    (0, 0)
                }
            } else {
                (0, 0)
            };
            if self.pending && self.prev_len >= MIN_MATCH && len <= self.prev_len {
                // The match at pos - 1 wins; `pos` is already in the chains.
                let stop = pos - 1 + self.prev_len;
                tokens.matched(self.prev_len, self.prev_dist);
                for p in pos + 1..stop.min(end.saturating_sub(MIN_MATCH - 1)) {
                    self.insert(p);
                }
                self.pos = stop;
                self.pending = false;
                self.prev_len = 0;
            } else {
                if self.pending {
                    tokens.literal(self.buf[pos - 1]);
                }
                self.pending = true;
                self.prev_len = len;
                self.prev_dist = dist;
                self.pos = pos + 1;
            }
        }
    }
}

/// Eight bytes of `buf` at `i`, little-endian (needs `i + 8 <= len`).
#[inline]
fn read_u16(buf: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([buf[i], buf[i + 1]])
}

fn read_u64(buf: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[i..i + 8]);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: `prev` was indexed by `p & mask` alone, so a slide by an
    /// amount that is not a multiple of the window moved every position
    /// to another slot and broke the chains (valid output, lost matches).
    /// After each slide every position still within the window must be
    /// reachable from its hash's head.
    #[test]
    fn chains_survive_slides() {
        for bits in [8, 9, 12] {
            let mut w = Window::new(bits, &[], usize::MAX);
            let effort = Effort::for_level(9);
            let mut tokens = Tokens::new(1 << 15);
            let mut x = 99u32;
            let data: Vec<u8> = (0..40_000)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    b'a' + (x >> 28) as u8 % 3
                })
                .collect();
            let mut taken = 0;
            let mut slides = 0;
            while taken < data.len() {
                let before = w.pos;
                taken += w.fill(&data[taken..]);
                slides += usize::from(w.pos < before);
                // Right after a slide the whole window is older positions.
                check_chains(&w, bits);
                w.tokenize(&mut tokens, &effort, taken < data.len());
                tokens.clear();
                check_chains(&w, bits);
            }
            assert!(slides > 3);
        }
    }

    /// Every position within the window before `pos` is on its hash chain.
    fn check_chains(w: &Window, bits: u8) {
        let end = w.buf.len();
        let lowest = (w.pos + 1).saturating_sub(w.wsize).max(w.floor);
        for p in lowest..w.pos.min(end.saturating_sub(2)) {
            let mut cand = usize::from(w.head[w.hash(p)]);
            while cand > p {
                let next = usize::from(w.prev[(cand + w.ring) & (w.wsize - 1)]);
                assert!(next < cand, "bits {bits}: chain broken above {p}");
                cand = next;
            }
            assert_eq!(cand, p, "bits {bits}: position {p} unreachable");
        }
    }
}
