//! Length-limited Huffman code lengths (RFC 1951 section 3.2.2 needs
//! literal/length and distance codes of at most 15 bits and the code-length
//! code of at most 7).
//!
//! Method: an optimal Huffman tree by the two-queue merge over symbols
//! sorted by frequency, then, if some leaves are deeper than the limit,
//! clamp them and restore the Kraft equality. Clamping raises the Kraft sum
//! (in units of 2^-limit) above 2^limit by less than the number of clamped
//! leaves; lengthening the least frequent codes shorter than the limit
//! lowers it by at least one unit each time, so the loop ends, and every
//! length stays <= limit by construction. Any remaining deficit is then a
//! multiple of the smallest term, so shortening codes fills it exactly:
//! deflate decoders (zlib) reject incomplete codes.

/// Most symbols of any deflate alphabet (literal/length: 288).
const MAX_SYMS: usize = 288;

/// Working arrays for [`code_lengths`], kept on the heap with the
/// compressor: zeroing ~6 KB of stack per code (three per block) was a
/// measurable part of compressing a small message.
#[derive(Debug)]
pub(super) struct Scratch {
    /// The used symbols as `frequency << 16 | symbol`.
    leaves: [u64; MAX_SYMS],
    /// Node weights, then node depths.
    weight: [u32; 2 * MAX_SYMS],
    /// Each node's parent.
    parent: [u16; 2 * MAX_SYMS],
}

impl Scratch {
    /// Zeroed arrays.
    pub(super) fn new() -> Scratch {
        Scratch {
            leaves: [0; MAX_SYMS],
            weight: [0; 2 * MAX_SYMS],
            parent: [0; 2 * MAX_SYMS],
        }
    }
}

/// Fill `lens[s]` with a complete prefix code's lengths, each <= `limit`,
/// for the symbols with nonzero `freq[s]` (others get 0). With fewer than
/// two used symbols a second, unused one gets a code too, so the code is
/// complete. `freq.len()` must equal `lens.len()`, at most 288, and at
/// least 2; `2^limit` must be at least `freq.len()`.
pub(super) fn code_lengths(freq: &[u32], limit: u8, lens: &mut [u8], scratch: &mut Scratch) {
    let n_syms = freq.len().min(lens.len()).min(MAX_SYMS);
    let Scratch {
        leaves,
        weight,
        parent,
    } = scratch;
    // The used symbols as `frequency << 16 | symbol`: one integer sort
    // orders them by frequency (ties by symbol), faster than tuples.
    let mut n = 0;
    for s in 0..n_syms {
        lens[s] = 0;
        if freq[s] > 0 {
            leaves[n] = u64::from(freq[s]) << 16 | s as u64;
            n += 1;
        }
    }
    if n < 2 {
        // One symbol (or none): give it and a neighbour one bit each.
        let used = if n == 1 {
            (leaves[0] & 0xffff) as usize
        } else {
            0
        };
        lens[used] = 1;
        lens[if used == 0 { 1 } else { 0 }] = 1;
        return;
    }
    let leaves = &mut leaves[..n];
    leaves.sort_unstable();
    let sym = |leaf: u64| (leaf & 0xffff) as usize;

    // Two-queue Huffman: leaves ascending in `leaves`, internal nodes in
    // creation order (also ascending), so the two lightest are at a head.
    // Nodes 0..n are leaves, n.. internal; a parent's index is always
    // larger than its children's.
    for (i, &leaf) in leaves.iter().enumerate() {
        weight[i] = (leaf >> 16) as u32;
    }
    let (mut leaf, mut inner, mut next) = (0, n, n);
    for _ in 1..n {
        let mut pick = || {
            let take_leaf = leaf < n && (inner >= next || weight[leaf] <= weight[inner]);
            if take_leaf {
                leaf += 1;
                leaf - 1
            } else {
                inner += 1;
                inner - 1
            }
        };
        let (a, b) = (pick(), pick());
        weight[next] = weight[a].saturating_add(weight[b]);
        parent[a] = next as u16;
        parent[b] = next as u16;
        next += 1;
    }
    // Depths, root first (parents have larger indices). Reuse `weight`.
    let root = next - 1;
    weight[root] = 0;
    for node in (0..root).rev() {
        weight[node] = weight[parent[node] as usize] + 1;
    }

    let limit = u32::from(limit);
    let full = 1u32 << limit;
    let mut kraft = 0u32;
    for (i, &leaf) in leaves.iter().enumerate() {
        let depth = weight[i].min(limit);
        lens[sym(leaf)] = depth as u8;
        kraft += 1 << (limit - depth);
    }
    // Too long: lengthen the least frequent among the longest codes still
    // below the limit (the cheapest unit to give up).
    while kraft > full {
        let mut best: Option<usize> = None;
        for &leaf in leaves.iter() {
            let l = lens[sym(leaf)];
            if u32::from(l) < limit && best.is_none_or(|b| l > lens[b]) {
                best = Some(sym(leaf));
            }
        }
        let Some(b) = best else { break };
        lens[b] += 1;
        kraft -= 1 << (limit - u32::from(lens[b]));
    }
    // Now room to spare (only after clamping: a Huffman tree is full): shorten the most frequent codes that fit.
    while kraft < full {
        let mut changed = false;
        for &leaf in leaves.iter().rev() {
            let l = u32::from(lens[sym(leaf)]);
            if l > 1 && kraft + (1 << (limit - l)) <= full {
                kraft += 1 << (limit - l);
                lens[sym(leaf)] -= 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kraft sum in units of 2^-15.
    fn kraft(lens: &[u8]) -> u32 {
        lens.iter()
            .filter(|&&l| l > 0)
            .map(|&l| 1u32 << (15 - l))
            .sum()
    }

    /// Fibonacci frequencies force a maximally deep tree: the limit must
    /// still hold and the code must stay complete.
    #[test]
    fn deep_trees_are_limited_and_complete() {
        let mut freq = [0u32; 40];
        let (mut a, mut b) = (1u32, 1u32);
        for f in freq.iter_mut() {
            *f = a;
            (a, b) = (b, a.saturating_add(b));
        }
        for limit in [7u8, 9, 15] {
            let mut lens = [0u8; 40];
            code_lengths(&freq, limit, &mut lens, &mut Scratch::new());
            assert!(lens.iter().all(|&l| (1..=limit).contains(&l)));
            assert_eq!(kraft(&lens), 1 << 15);
        }
        let mut lens = [0u8; 19];
        code_lengths(&freq[..19], 7, &mut lens, &mut Scratch::new());
        assert!(lens.iter().all(|&l| (1..=7).contains(&l)));
        assert_eq!(kraft(&lens), 1 << 15);
    }

    /// One used symbol still gets a complete (two-code) code.
    #[test]
    fn single_symbol() {
        let mut freq = [0u32; 30];
        freq[0] = 9;
        let mut lens = [0u8; 30];
        code_lengths(&freq, 15, &mut lens, &mut Scratch::new());
        assert_eq!((lens[0], lens[1]), (1, 1));
        freq[0] = 0;
        freq[7] = 1;
        code_lengths(&freq, 15, &mut lens, &mut Scratch::new());
        assert_eq!((lens[7], lens[0]), (1, 1));
    }

    proptest::proptest! {
        /// Any frequencies: lengths within the limit, complete code.
        #[test]
        fn any_frequencies(freq in proptest::collection::vec(0u32..1_000_000, 2..288), small in proptest::bool::ANY) {
            let n = if small { freq.len().min(19) } else { freq.len() };
            let limit = if small { 7 } else { 15 };
            let mut lens = [0u8; 288];
            code_lengths(&freq[..n], limit, &mut lens[..n], &mut Scratch::new());
            proptest::prop_assert!(lens[..n].iter().all(|&l| l <= limit));
            proptest::prop_assert_eq!(kraft(&lens[..n]), 1 << 15);
            if freq[..n].iter().filter(|&&f| f > 0).count() >= 2 {
                for s in 0..n {
                    proptest::prop_assert_eq!(freq[s] > 0, lens[s] > 0);
                }
            }
        }
    }
}
