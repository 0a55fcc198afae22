//! The client's nonce and masking keys from the operating system's random
//! source (RFC 6455 sections 4.1 and 10.3): the crate's core takes both as
//! inputs, and this driver is where they come from.

use std::io;

use sha1::{Digest, Sha1};

use crate::connection::MaskSource;

/// Bytes of masking keys drawn from the OS at a time: 64 keys.
const KEY_BYTES: usize = 256;

/// A fresh `Sec-WebSocket-Key` nonce (section 4.1 item 7: "randomly
/// selected"), 16 bytes from the OS random source (`getrandom`): one
/// system call. Fails only where the platform has no random source.
pub fn random_nonce() -> io::Result<[u8; 16]> {
    let mut nonce = [0; 16];
    getrandom::fill(&mut nonce).map_err(random_error)?;
    Ok(nonce)
}

fn random_error(e: getrandom::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::other(alloc::format!("the OS random source failed: {e}")),
    }
}

/// Masking keys (section 5.3) from the operating system's random source,
/// for [`WebSocket::connect`](super::super::WebSocket::connect) and what
/// [`connect`](super::connect) uses.
///
/// Section 10.3 asks that a server, or anything between, cannot predict
/// the next key, so that a script cannot choose the bytes a proxy sees. Each
/// key is therefore read from the OS (`getrandom`), not from a generator
/// seeded once: keys leave on the wire, and a fast non-cryptographic
/// generator (xorshift, splitmix) can be reconstructed from a few of its
/// outputs. To keep that off the per-frame cost, keys are read 64 at a
/// time (256 bytes, one system call per 64 frames, a few nanoseconds per
/// frame) and each byte is used once.
///
/// Should the OS source ever fail after the first read (it does not on any
/// platform `getrandom` supports once it has worked, but a mask cannot
/// report an error), the next 64 keys come from SHA-1 over a 32-byte secret
/// read at creation and never sent, with a counter: still unpredictable to
/// anyone who sees only the wire.
///
/// It costs 304 bytes, boxed inside the connection that uses it.
pub struct RandomMasks {
    keys: [u8; KEY_BYTES],
    /// The next unused byte of `keys`.
    next: usize,
    /// The fallback's key and counter.
    secret: [u8; 32],
    counter: u64,
}

impl RandomMasks {
    /// The first 64 keys and the fallback's secret, from the OS: fails only
    /// where the platform has no random source.
    pub fn new() -> io::Result<RandomMasks> {
        let mut masks = RandomMasks {
            keys: [0; KEY_BYTES],
            next: 0,
            secret: [0; 32],
            counter: 0,
        };
        getrandom::fill(&mut masks.secret).map_err(random_error)?;
        getrandom::fill(&mut masks.keys).map_err(random_error)?;
        Ok(masks)
    }

    fn refill(&mut self) {
        if getrandom::fill(&mut self.keys).is_err() {
            self.derive();
        }
        self.next = 0;
    }

    /// The fallback: SHA-1(secret, counter), 20 bytes per block.
    fn derive(&mut self) {
        for block in self.keys.chunks_mut(20) {
            let digest = Sha1::new()
                .chain_update(self.secret)
                .chain_update(self.counter.to_le_bytes())
                .finalize();
            self.counter += 1;
            block.copy_from_slice(&digest[..block.len()]);
        }
    }
}

impl MaskSource for RandomMasks {
    #[inline]
    fn mask_key(&mut self) -> [u8; 4] {
        if self.next == KEY_BYTES {
            self.refill();
        }
        let mut key = [0; 4];
        key.copy_from_slice(&self.keys[self.next..self.next + 4]);
        self.next += 4;
        key
    }
}

impl core::fmt::Debug for RandomMasks {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The keys to come are the point of the type: never print them.
        f.debug_struct("RandomMasks").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;

    #[test]
    fn keys_do_not_repeat_across_refills() {
        let mut masks = RandomMasks::new().unwrap();
        let keys: BTreeSet<[u8; 4]> = (0..1000).map(|_| masks.mask_key()).collect();
        // 1000 draws from 2^32: a repeat has odds of about 1 in 10^4.
        assert!(keys.len() >= 999, "{} distinct keys", keys.len());
    }

    #[test]
    fn the_fallback_gives_fresh_keys_from_the_secret() {
        let mut masks = RandomMasks::new().unwrap();
        masks.derive();
        let first = masks.keys;
        masks.derive();
        assert_ne!(first, masks.keys);
        assert_eq!(masks.counter, 2 * KEY_BYTES.div_ceil(20) as u64);
        let mut other = RandomMasks::new().unwrap();
        other.derive();
        assert_ne!(first, other.keys, "each connection has its own secret");
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(random_nonce().unwrap(), random_nonce().unwrap());
    }
}
