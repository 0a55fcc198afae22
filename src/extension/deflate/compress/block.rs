//! Writing one block of tokens (RFC 1951 section 3.2.3): as a dynamic
//! Huffman block, a fixed Huffman block or stored bytes, whichever is
//! smallest. Costs are exact bit counts, so the choice is exact too.

use super::bits::BitWriter;
use super::huffman::{Scratch, code_lengths};
use super::symbols::{
    DIST_EXTRA, DIST_SYMS, END_OF_BLOCK, FIXED_DIST_CODE, FIXED_LIT_CODE, FIXED_LIT_LEN,
    LENGTH_BASE, LENGTH_CODE, LENGTH_EXTRA, LIT_SYMS, canonical, distance_code,
};
use super::tokens::{MATCH_FLAG, Tokens};

/// Order in which the code-length code's lengths are sent (section 3.2.7).
const CL_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Largest stored block payload (LEN is 16 bits).
const MAX_STORED: usize = 0xffff;

/// Scratch space for a dynamic block's codes: kept between blocks so no
/// block allocates.
#[derive(Debug)]
pub(super) struct BlockCodes {
    /// Literal/length code lengths (288 so the table fits `canonical`).
    lit_len: [u8; 288],
    /// Literal/length codes, bit-reversed.
    lit_code: [u16; 288],
    /// Distance code lengths.
    dist_len: [u8; DIST_SYMS],
    /// Distance codes, bit-reversed.
    dist_code: [u16; DIST_SYMS],
    /// The run-length coded code lengths: symbol (0..=18) and extra value.
    cl_run: [(u8, u8); LIT_SYMS + DIST_SYMS],
    /// Entries used in `cl_run`.
    cl_count: usize,
    /// Code-length code lengths.
    cl_len: [u8; 19],
    /// Code-length codes, bit-reversed.
    cl_code: [u16; 19],
    /// Working arrays of the Huffman builder.
    scratch: Scratch,
}

impl BlockCodes {
    /// Zeroed scratch.
    pub(super) fn new() -> BlockCodes {
        BlockCodes {
            lit_len: [0; 288],
            lit_code: [0; 288],
            dist_len: [0; DIST_SYMS],
            dist_code: [0; DIST_SYMS],
            cl_run: [(0, 0); LIT_SYMS + DIST_SYMS],
            cl_count: 0,
            cl_len: [0; 19],
            cl_code: [0; 19],
            scratch: Scratch::new(),
        }
    }
}

/// Write `tokens` (which encode exactly `raw`) as one non-final block, in
/// the smallest of the three block types. Counts the end-of-block symbol
/// into `tokens.lit`.
pub(super) fn write_block(
    tokens: &mut Tokens,
    raw: &[u8],
    codes: &mut BlockCodes,
    w: &mut BitWriter<'_>,
) {
    if tokens.list.is_empty() {
        return;
    }
    tokens.lit[END_OF_BLOCK] = 1;

    // Extra bits cost the same in both Huffman block types.
    let lengths = &tokens.lit[END_OF_BLOCK + 1..];
    let extra = cost(lengths, &LENGTH_EXTRA) + cost(&tokens.dist, &DIST_EXTRA);
    let fixed = 3 + extra + cost(&tokens.lit, &FIXED_LIT_LEN) + cost(&tokens.dist, &[5; DIST_SYMS]);
    let dynamic = 3 + extra + build_dynamic(tokens, codes);
    // Stored: the first header pads to a byte, later ones pad 5 bits.
    let chunks = raw.len().div_ceil(MAX_STORED).max(1) as u64;
    let first_pad = u64::from((8 - (w.bit_offset() + 3) % 8) % 8);
    let stored = first_pad + (chunks - 1) * 5 + chunks * (3 + 32) + 8 * raw.len() as u64;

    if stored < fixed.min(dynamic) {
        write_stored(raw, w);
    } else if fixed <= dynamic {
        w.put(0b010, 3);
        write_tokens(
            tokens,
            &FIXED_LIT_CODE,
            &FIXED_LIT_LEN,
            &FIXED_DIST_CODE,
            &[5; DIST_SYMS],
            w,
        );
    } else {
        w.put(0b100, 3);
        write_dynamic_header(codes, w);
        write_tokens(
            tokens,
            &codes.lit_code,
            &codes.lit_len,
            &codes.dist_code,
            &codes.dist_len,
            w,
        );
    }
}

/// Bits for the symbols counted in `freq` under code lengths `lens`.
fn cost(freq: &[u32], lens: &[u8]) -> u64 {
    freq.iter()
        .zip(lens)
        .map(|(&f, &l)| u64::from(f) * u64::from(l))
        .sum()
}

/// The used prefix of a code-length table, at least `min` long.
fn used(lens: &[u8], min: usize) -> usize {
    lens.iter()
        .rposition(|&l| l != 0)
        .map_or(0, |i| i + 1)
        .max(min)
}

/// Build the dynamic code lengths into `codes` and return the bits of the header
/// (after the 3 block-type bits) and the symbols (without extra bits).
fn build_dynamic(tokens: &Tokens, codes: &mut BlockCodes) -> u64 {
    code_lengths(
        &tokens.lit,
        15,
        &mut codes.lit_len[..LIT_SYMS],
        &mut codes.scratch,
    );
    code_lengths(&tokens.dist, 15, &mut codes.dist_len, &mut codes.scratch);
    let n_lit = used(&codes.lit_len, 257);
    let n_dist = used(&codes.dist_len, 1);

    // Run-length code the two length tables as one sequence (repeats may
    // cross from one to the other, section 3.2.7).
    let mut seq = [0u8; LIT_SYMS + DIST_SYMS];
    seq[..n_lit].copy_from_slice(&codes.lit_len[..n_lit]);
    seq[n_lit..n_lit + n_dist].copy_from_slice(&codes.dist_len[..n_dist]);
    let seq = &seq[..n_lit + n_dist];
    let mut freq = [0u32; 19];
    let mut k = 0;
    let mut push = |sym: u8, extra: u8| {
        codes.cl_run[k] = (sym, extra);
        freq[usize::from(sym)] += 1;
        k += 1;
    };
    let mut i = 0;
    while i < seq.len() {
        let v = seq[i];
        let mut run = seq[i..].iter().take_while(|&&x| x == v).count();
        i += run;
        if v == 0 {
            while run >= 11 {
                let r = run.min(138);
                push(18, (r - 11) as u8);
                run -= r;
            }
            if run >= 3 {
                push(17, (run - 3) as u8);
                run = 0;
            }
        } else {
            push(v, 0);
            run -= 1;
            while run >= 3 {
                let r = run.min(6);
                push(16, (r - 3) as u8);
                run -= r;
            }
        }
        for _ in 0..run {
            push(v, 0);
        }
    }
    codes.cl_count = k;
    code_lengths(&freq, 7, &mut codes.cl_len, &mut codes.scratch);
    let n_cl = 4.max(
        CL_ORDER
            .iter()
            .rposition(|&s| codes.cl_len[s] != 0)
            .map_or(0, |p| p + 1),
    );

    let header = 5
        + 5
        + 4
        + 3 * n_cl as u64
        + cost(&freq, &codes.cl_len)
        + u64::from(freq[16]) * 2
        + u64::from(freq[17]) * 3
        + u64::from(freq[18]) * 7;
    header + cost(&tokens.lit, &codes.lit_len) + cost(&tokens.dist, &codes.dist_len)
}

/// Write HLIT, HDIST, HCLEN, the code-length code and the run-length
/// coded lengths that `build_dynamic` prepared, and compute the codes
/// `write_tokens` then uses.
fn write_dynamic_header(codes: &mut BlockCodes, w: &mut BitWriter<'_>) {
    // The codes themselves only now: most small blocks go out fixed.
    codes.lit_code = canonical(&codes.lit_len);
    codes.dist_code = canonical(&codes.dist_len);
    codes.cl_code = canonical(&codes.cl_len);
    let n_lit = used(&codes.lit_len, 257);
    let n_dist = used(&codes.dist_len, 1);
    let n_cl = 4.max(
        CL_ORDER
            .iter()
            .rposition(|&s| codes.cl_len[s] != 0)
            .map_or(0, |p| p + 1),
    );
    w.put((n_lit - 257) as u32, 5);
    w.put((n_dist - 1) as u32, 5);
    w.put((n_cl - 4) as u32, 4);
    for &s in &CL_ORDER[..n_cl] {
        w.put(u32::from(codes.cl_len[s]), 3);
    }
    for &(sym, extra) in &codes.cl_run[..codes.cl_count] {
        let s = usize::from(sym);
        w.put(u32::from(codes.cl_code[s]), u32::from(codes.cl_len[s]));
        match sym {
            16 => w.put(u32::from(extra), 2),
            17 => w.put(u32::from(extra), 3),
            18 => w.put(u32::from(extra), 7),
            _ => {}
        }
    }
}

/// Write the tokens and the end-of-block symbol under the given codes.
fn write_tokens(
    tokens: &Tokens,
    lit_code: &[u16],
    lit_len: &[u8],
    dist_code: &[u16],
    dist_len: &[u8],
    w: &mut BitWriter<'_>,
) {
    for &t in &tokens.list {
        if t & MATCH_FLAG == 0 {
            let s = t as usize;
            w.put(u32::from(lit_code[s]), u32::from(lit_len[s]));
        } else {
            let l3 = ((t >> 16) & 0xff) as usize;
            let c = usize::from(LENGTH_CODE[l3]);
            let s = END_OF_BLOCK + 1 + c;
            w.put(u32::from(lit_code[s]), u32::from(lit_len[s]));
            w.put(
                (l3 - usize::from(LENGTH_BASE[c])) as u32,
                u32::from(LENGTH_EXTRA[c]),
            );
            let (dc, bits, value) = distance_code((t & 0xffff) as usize);
            w.put(u32::from(dist_code[dc]), u32::from(dist_len[dc]));
            w.put(value, bits);
        }
    }
    w.put(
        u32::from(lit_code[END_OF_BLOCK]),
        u32::from(lit_len[END_OF_BLOCK]),
    );
}

/// Write `raw` as stored blocks of at most 65535 bytes.
fn write_stored(raw: &[u8], w: &mut BitWriter<'_>) {
    for chunk in raw.chunks(MAX_STORED) {
        w.put(0, 3);
        w.align();
        let len = chunk.len() as u16;
        w.put(u32::from(len) | u32::from(!len) << 16, 32);
        w.bytes(chunk);
    }
}
