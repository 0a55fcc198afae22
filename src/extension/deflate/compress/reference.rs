//! A small RFC 1951 decoder for the tests, written independently of the
//! encoder. It differs from a general inflater on purpose: it rejects any
//! distance past `2^window_bits` or before the start of its history, any
//! incomplete or over-subscribed dynamic code, and BFINAL (our streams
//! never end), so a round trip through it proves the window is honoured.

use alloc::vec;
use alloc::vec::Vec;

/// Why a stream was rejected.
pub(super) type Error = &'static str;

/// Reads bits LSB first.
struct Input<'a> {
    /// The stream.
    data: &'a [u8],
    /// Position in bits.
    bit: usize,
}

impl Input<'_> {
    /// The next `n` bits as a number, first bit lowest.
    fn bits(&mut self, n: u32) -> Result<u32, Error> {
        let mut v = 0;
        for i in 0..n {
            let byte = *self.data.get(self.bit / 8).ok_or("truncated")?;
            v |= u32::from((byte >> (self.bit % 8)) & 1) << i;
            self.bit += 1;
        }
        Ok(v)
    }
}

/// A canonical Huffman code: how many codes of each length, and the
/// symbols in code order.
struct Code {
    /// Codes per length 0..=15.
    count: [u16; 16],
    /// Symbols sorted by (length, symbol).
    symbols: Vec<u16>,
}

impl Code {
    /// The code with these lengths; `complete` demands a Kraft sum of 1.
    fn new(lens: &[u8], complete: bool) -> Result<Code, Error> {
        let mut count = [0u16; 16];
        for &l in lens {
            count[usize::from(l)] += 1;
        }
        count[0] = 0;
        let mut left: i32 = 1;
        for &c in &count[1..] {
            left = left * 2 - i32::from(c);
            if left < 0 {
                return Err("over-subscribed code");
            }
        }
        if complete && left != 0 {
            return Err("incomplete code");
        }
        let mut symbols = Vec::new();
        for len in 1..16u8 {
            for (s, &l) in lens.iter().enumerate() {
                if l == len {
                    symbols.push(s as u16);
                }
            }
        }
        Ok(Code { count, symbols })
    }

    /// Read one symbol: walk the lengths, comparing the code read so far
    /// with the range of codes of that length.
    fn decode(&self, input: &mut Input<'_>) -> Result<usize, Error> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= input.bits(1)? as i32;
            let count = i32::from(self.count[len]);
            if code - first < count {
                return Ok(usize::from(self.symbols[(index + code - first) as usize]));
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("invalid code")
    }
}

/// Base and extra bits of the length symbols 257..=285.
const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
/// See [`LEN_BASE`].
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Base and extra bits of the distance symbols 0..=29.
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
/// See [`DIST_BASE`].
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Decode `data` (whole blocks, ending on a byte boundary) and append to
/// `out`. Matches may reach back into `out`'s earlier bytes from index
/// `history_start` on, and never more than `2^window_bits` bytes.
pub(super) fn inflate(
    data: &[u8],
    window_bits: u8,
    history_start: usize,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let window = 1usize << window_bits;
    let mut input = Input { data, bit: 0 };
    while input.bit.div_ceil(8) < data.len() {
        if input.bits(1)? == 1 {
            return Err("BFINAL set");
        }
        match input.bits(2)? {
            0 => {
                input.bit = input.bit.div_ceil(8) * 8;
                let len = input.bits(16)?;
                if input.bits(16)? != !len & 0xffff {
                    return Err("bad stored length");
                }
                for _ in 0..len {
                    out.push(input.bits(8)? as u8);
                }
            }
            1 => {
                let mut lens = [8u8; 288];
                lens[144..256].fill(9);
                lens[256..280].fill(7);
                let lit = Code::new(&lens, true)?;
                let dist = Code::new(&[5; 30], false)?;
                codes(&mut input, &lit, &dist, window, history_start, out)?;
            }
            2 => {
                let n_lit = input.bits(5)? as usize + 257;
                let n_dist = input.bits(5)? as usize + 1;
                let n_cl = input.bits(4)? as usize + 4;
                if n_lit > 286 || n_dist > 30 {
                    return Err("too many codes");
                }
                let order = [
                    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
                ];
                let mut cl = [0u8; 19];
                for &i in &order[..n_cl] {
                    cl[i] = input.bits(3)? as u8;
                }
                let cl = Code::new(&cl, true)?;
                let mut lens = vec![0u8; n_lit + n_dist];
                let mut i = 0;
                while i < lens.len() {
                    let (value, repeat) = match cl.decode(&mut input)? {
                        s @ 0..=15 => (s as u8, 1),
                        16 => (
                            *lens[..i].last().ok_or("repeat with no length")?,
                            3 + input.bits(2)? as usize,
                        ),
                        17 => (0, 3 + input.bits(3)? as usize),
                        _ => (0, 11 + input.bits(7)? as usize),
                    };
                    if i + repeat > lens.len() {
                        return Err("lengths overrun");
                    }
                    lens[i..i + repeat].fill(value);
                    i += repeat;
                }
                if lens[256] == 0 {
                    return Err("no end-of-block code");
                }
                let lit = Code::new(&lens[..n_lit], true)?;
                let dist = Code::new(&lens[n_lit..], true)?;
                codes(&mut input, &lit, &dist, window, history_start, out)?;
            }
            _ => return Err("block type 3"),
        }
    }
    Ok(())
}

/// Decode one Huffman block's symbols up to its end-of-block code.
fn codes(
    input: &mut Input<'_>,
    lit: &Code,
    dist: &Code,
    window: usize,
    history_start: usize,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    loop {
        let sym = lit.decode(input)?;
        match sym {
            0..=255 => out.push(sym as u8),
            256 => return Ok(()),
            257..=285 => {
                let l = sym - 257;
                let len = usize::from(LEN_BASE[l]) + input.bits(u32::from(LEN_EXTRA[l]))? as usize;
                let d = dist.decode(input)?;
                if d >= 30 {
                    return Err("distance symbol 30 or 31");
                }
                let distance =
                    usize::from(DIST_BASE[d]) + input.bits(u32::from(DIST_EXTRA[d]))? as usize;
                if distance > window {
                    return Err("distance beyond the window");
                }
                if distance > out.len() - history_start {
                    return Err("distance before the start of the history");
                }
                for _ in 0..len {
                    out.push(out[out.len() - distance]);
                }
            }
            _ => return Err("literal/length symbol 286 or 287"),
        }
    }
}
