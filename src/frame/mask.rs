//! Masking (RFC 6455 section 5.3).
//!
//! Masking is an XOR with a 4-byte key repeated over the payload, so the same
//! function masks and unmasks. It is resumable: a payload that arrives in
//! pieces is unmasked piece by piece by passing each piece's offset into the
//! payload.

/// Bytes handled per step of the wide loop. 64 lets LLVM turn the XOR of a
/// chunk with a pre-rotated key block into a few full-width vector ops on any
/// target (SSE2, AVX2, NEON) without `unsafe` or target-specific code.
const BLOCK: usize = 64;

/// XOR `buf` in place with `key`, as if `buf` started `offset` bytes into
/// the payload.
///
/// Masking twice with the same key and offset is the identity, and masking a
/// payload in pieces (each with its own offset) equals masking it whole.
///
/// Cost: one pass over `buf`, in place; no allocation, no copy
/// (`benches/benches/mask.rs` measures it against a plain copy).
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // The byte at payload position p is XORed with key[p % 4]; rotating the
    // key once makes every piece start at key index 0.
    let key = rotate(key, offset);
    if buf.len() < BLOCK {
        mask_words(buf, key);
        return;
    }
    // Building the 64-byte key block costs about as much as masking a
    // short payload, so only long ones take this path.
    let mut block = [0u8; BLOCK];
    for quad in block.chunks_exact_mut(4) {
        quad.copy_from_slice(&key);
    }
    let mut chunks = buf.chunks_exact_mut(BLOCK);
    for chunk in &mut chunks {
        for (b, k) in chunk.iter_mut().zip(block.iter()) {
            *b ^= k;
        }
    }
    // The tail is shorter than a block and starts at a multiple of 4 from
    // the rotated origin, so the same key applies from its start.
    mask_words(chunks.into_remainder(), key);
}

/// Mask a short buffer (starting at key index 0) eight bytes at a time:
/// the path of small frames, where setup cost is what counts.
fn mask_words(buf: &mut [u8], key: [u8; 4]) {
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut words = buf.chunks_exact_mut(8);
    for w in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(w);
        w.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
    }
    // Up to 7 bytes, starting at key index 0 (8 is a multiple of 4).
    for (b, k) in words.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *b ^= k;
    }
}

/// XOR `src` with `key` (starting `offset` bytes into the payload) and append
/// the result to `dst`: the copy and the masking in one call, for payloads
/// that must outlive the input they arrived in.
///
/// It works in blocks small enough to stay in the L1 cache, so the XOR pass
/// re-reads bytes the copy just wrote instead of going back to memory: on a
/// large payload that is close to the speed of the copy alone
/// (`benches/benches/mask.rs` runs both side by side).
///
/// Cost: `dst` reserves `src.len()` more bytes once (at most one
/// reallocation), then each byte of `src` is copied once.
pub fn append_masked(dst: &mut alloc::vec::Vec<u8>, src: &[u8], key: [u8; 4], offset: usize) {
    const STEP: usize = 8 * 1024;
    dst.reserve(src.len());
    let key = rotate(key, offset);
    // STEP is a multiple of 4, so every block starts at key index 0.
    for block in src.chunks(STEP) {
        let start = dst.len();
        dst.extend_from_slice(block);
        apply_mask(&mut dst[start..], key, 0);
    }
}

/// Write `src` XORed with `key` (starting at key index 0) into `dst`, of
/// the same length: the copy and the unmasking in one pass, for payload
/// that moves from the transport's buffer into the connection's. One
/// read and one write per byte, where a copy then an in-place XOR make
/// two of each.
pub(crate) fn copy_masked(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    debug_assert_eq!(dst.len(), src.len(), "copy_masked needs equal lengths");
    let mut block = [0u8; BLOCK];
    for quad in block.chunks_exact_mut(4) {
        quad.copy_from_slice(&key);
    }
    let mut d = dst.chunks_exact_mut(BLOCK);
    let mut s = src.chunks_exact(BLOCK);
    for (d, s) in (&mut d).zip(&mut s) {
        for ((d, s), k) in d.iter_mut().zip(s).zip(block.iter()) {
            *d = s ^ k;
        }
    }
    // The tail starts at a multiple of 4 from the key's origin.
    for ((d, s), k) in d
        .into_remainder()
        .iter_mut()
        .zip(s.remainder())
        .zip(key.iter().cycle())
    {
        *d = s ^ k;
    }
}

/// The key as seen from `offset` bytes into the payload: a byte rotation,
/// done as one shift of the key read as a little-endian word.
pub(crate) fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    let shift = 8 * (offset % 4) as u32;
    u32::from_le_bytes(key).rotate_right(shift).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious byte-at-a-time definition the fast path must agree with.
    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn copy_masked_agrees_with_copy_then_mask_for_every_length_and_key() {
        let src: alloc::vec::Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        for key in [[0x37, 0xfa, 0x21, 0x3d], [0, 0, 0, 0], [0xff; 4]] {
            for len in 0..src.len() {
                let mut want = src[..len].to_vec();
                apply_mask(&mut want, key, 0);
                let mut got = alloc::vec![0u8; len];
                copy_masked(&mut got, &src[..len], key);
                assert_eq!(got, want, "len {len}");
            }
        }
    }

    #[test]
    fn agrees_with_naive_for_every_length_and_offset() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..300 {
            for offset in 0..8 {
                let data: alloc::vec::Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
                let mut fast = data.clone();
                let mut slow = data.clone();
                apply_mask(&mut fast, key, offset);
                naive(&mut slow, key, offset);
                assert_eq!(fast, slow, "len {len} offset {offset}");
            }
        }
    }
}
