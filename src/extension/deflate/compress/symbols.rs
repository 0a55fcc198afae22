//! The alphabets of RFC 1951 section 3.2.5 (length and distance symbols
//! with their extra bits) and the fixed Huffman code of section 3.2.6, as
//! tables computed at compile time so the hot loops only index.

/// Shortest match deflate can encode.
pub(super) const MIN_MATCH: usize = 3;
/// Longest match deflate can encode.
pub(super) const MAX_MATCH: usize = 258;
/// Literal/length symbols in use (0..=285); 286 and 287 never occur.
pub(super) const LIT_SYMS: usize = 286;
/// Distance symbols in use (0..=29).
pub(super) const DIST_SYMS: usize = 30;
/// The end-of-block symbol.
pub(super) const END_OF_BLOCK: usize = 256;

/// The length code (symbol - 257) of a match length minus 3 (0..=255).
const fn length_code(l3: usize) -> usize {
    if l3 == 255 {
        // 258 has its own code, 285, although 284 could also reach it.
        28
    } else if l3 < 8 {
        l3
    } else {
        // Four codes per extra-bit count: the top three bits pick the code.
        let lg = (usize::BITS - 1 - l3.leading_zeros()) as usize;
        4 * (lg - 1) + ((l3 >> (lg - 2)) & 3)
    }
}

/// `LENGTH_CODE[len - 3]`: the length code, symbol minus 257.
pub(super) const LENGTH_CODE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = length_code(i) as u8;
        i += 1;
    }
    t
};

/// Extra bits of each length code.
pub(super) const LENGTH_EXTRA: [u8; 29] = {
    let mut t = [0u8; 29];
    let mut c = 8;
    while c < 28 {
        t[c] = (c / 4 - 1) as u8;
        c += 1;
    }
    t
};

/// Smallest length minus 3 of each length code.
pub(super) const LENGTH_BASE: [u8; 29] = {
    let mut t = [0u8; 29];
    let mut c = 0;
    while c < 29 {
        t[c] = if c < 8 {
            c as u8
        } else if c == 28 {
            255
        } else {
            ((4 + c % 4) << (c / 4 - 1)) as u8
        };
        c += 1;
    }
    t
};

/// The distance code of a distance (1..=32768), and its extra bits' count
/// and value. Computed rather than tabled: a leading-zero count is as
/// cheap as a lookup and needs no 512-entry table.
#[inline]
pub(super) fn distance_code(dist: usize) -> (usize, u32, u32) {
    let d = (dist - 1) as u32;
    if d < 4 {
        return (d as usize, 0, 0);
    }
    let lg = 31 - d.leading_zeros();
    let code = 2 * lg + ((d >> (lg - 1)) & 1);
    let extra = lg - 1;
    (code as usize, extra, d & ((1 << extra) - 1))
}

/// Extra bits of each distance code.
pub(super) const DIST_EXTRA: [u8; 30] = {
    let mut t = [0u8; 30];
    let mut c = 4;
    while c < 30 {
        t[c] = (c / 2 - 1) as u8;
        c += 1;
    }
    t
};

/// Code lengths of the fixed literal/length code (section 3.2.6).
pub(super) const FIXED_LIT_LEN: [u8; 288] = {
    let mut t = [8u8; 288];
    let mut i = 144;
    while i < 256 {
        t[i] = 9;
        i += 1;
    }
    while i < 280 {
        t[i] = 7;
        i += 1;
    }
    t
};

/// The fixed literal/length codes, bit-reversed for an LSB-first writer.
pub(super) const FIXED_LIT_CODE: [u16; 288] = canonical(&FIXED_LIT_LEN);

/// The fixed distance codes: five bits each, bit-reversed.
pub(super) const FIXED_DIST_CODE: [u16; 30] = canonical(&[5u8; 30]);

/// Canonical Huffman codes for `lens` (section 3.2.2), each bit-reversed
/// because deflate packs Huffman codes starting from their top bit while
/// the bit writer fills bytes from the bottom.
pub(super) const fn canonical<const N: usize>(lens: &[u8; N]) -> [u16; N] {
    let mut count = [0u16; 16];
    let mut i = 0;
    while i < N {
        count[lens[i] as usize] += 1;
        i += 1;
    }
    count[0] = 0;
    let mut next = [0u16; 16];
    let mut code = 0u16;
    let mut bits = 1;
    while bits < 16 {
        code = (code + count[bits - 1]) << 1;
        next[bits] = code;
        bits += 1;
    }
    let mut codes = [0u16; N];
    i = 0;
    while i < N {
        let len = lens[i] as usize;
        if len > 0 {
            codes[i] = next[len].reverse_bits() >> (16 - len);
            next[len] += 1;
        }
        i += 1;
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tables against section 3.2.5's listing, spot-checked at every
    /// code boundary.
    #[test]
    fn length_and_distance_codes() {
        for c in 0..29 {
            let base = LENGTH_BASE[c] as usize;
            assert_eq!(LENGTH_CODE[base] as usize, c);
            let top = if c == 28 {
                255
            } else {
                base + (1 << LENGTH_EXTRA[c]) - 1
            };
            assert_eq!(LENGTH_CODE[top.min(254)] as usize, c.min(27));
        }
        assert_eq!(LENGTH_CODE[11 - 3], 8);
        assert_eq!(LENGTH_CODE[257 - 3], 27);
        assert_eq!(LENGTH_BASE[27] as usize + 3, 227);
        assert_eq!(distance_code(1), (0, 0, 0));
        assert_eq!(distance_code(5), (4, 1, 0));
        assert_eq!(distance_code(8), (5, 1, 1));
        assert_eq!(distance_code(24577), (29, 13, 0));
        assert_eq!(distance_code(32768), (29, 13, 8191));
        assert_eq!(FIXED_LIT_CODE[256], 0);
        assert_eq!(FIXED_LIT_CODE[0], 0b0000_1100);
    }
}
