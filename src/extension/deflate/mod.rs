//! permessage-deflate (RFC 7692): what to offer or accept
//! ([`DeflateConfig`]), what the handshake agreed on ([`DeflateParams`]),
//! and the codec the connection runs once it is agreed.
//!
//! The connection compresses each outgoing data message (above
//! [`DeflateConfig::min_size`]) into one frame or one frame per piece, sets
//! RSV1 on its first frame, and strips the `00 00 ff ff` tail of the sync
//! flush (section 7.2.1). Received messages with RSV1 are inflated with an
//! output budget of [`Config::max_message_size`](crate::Config::max_message_size)
//! (section 7.2.2); control frames are never compressed (section 6.1).
//!
//! Window sizes are honoured for real in both directions: our compressor
//! never emits a match distance past the negotiated window (8 to 15 bits),
//! and the inflater keeps only the window the peer may use. A connection
//! keeps its working memory while busy; `release_buffers` (for an idle
//! connection) frees all of it but the history the agreed context
//! takeover needs, which the next message rebuilds from.

pub(crate) mod codec;
mod compress;
mod inflate;
mod negotiate;

pub(crate) use compress::Compressor;
pub(crate) use inflate::{InflateError, Inflater};

use super::Extension;
use crate::role::Role;

/// The extension's registered name (RFC 7692 section 7).
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The smallest and largest LZ77 window sizes, in bits (section 7.1.2).
pub const MIN_WINDOW_BITS: u8 = 8;
/// See [`MIN_WINDOW_BITS`].
pub const MAX_WINDOW_BITS: u8 = 15;

/// The default of both [`DeflateConfig::max_window_bits`] and
/// [`DeflateConfig::peer_max_window_bits`]: 13 bits, 8 KiB each way, so an
/// idle connection's deflate history (all it keeps between messages with
/// context takeover, see [`DeflateConfig::max_window_bits`]) is 16 KiB
/// plus a small box, under 24 KiB per connection with room to spare.
const DEFAULT_WINDOW_BITS: u8 = 13;

/// Whether, and how, this endpoint uses permessage-deflate: a client offers
/// it with these preferences, a server accepts an offer under them.
///
/// The fields are role-neutral: "own" is this endpoint's compressor (the
/// `server_*` parameters for a server, `client_*` for a client), "peer" the
/// other side's. Part of [`Config`](crate::Config) as
/// [`Config::deflate`](crate::Config::deflate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// Offer (client) or accept (server) permessage-deflate. Default: `true`.
    pub enabled: bool,
    /// The largest LZ77 window our compressor uses, in bits (8 to 15; out
    /// of range values are clamped). A peer may ask for less; we never use
    /// more. A server answers every offer with `server_max_window_bits`
    /// when this is below 15; a client offers `client_max_window_bits=N`.
    ///
    /// Memory: while busy the compressor's working memory (history, hash
    /// chains, the block's tokens and ~9 KB of tables) grows with
    /// `2^max_window_bits`, allocated by the first compressed message and
    /// kept between messages; `tests/deflate_idle.rs` `memory_table`
    /// prints a busy server's whole heap for each window. An idle
    /// connection (`release_buffers`, or [`Config::buffer_release`](crate::Config::buffer_release))
    /// keeps only the last `2^max_window_bits` bytes sent when context is
    /// kept, and nothing without takeover (`memory_table` checks both).
    ///
    /// Default: 13 (8 KiB), so that our history plus the peer's (see
    /// [`peer_max_window_bits`](Self::peer_max_window_bits)) is 16 KiB and
    /// an idle connection's deflate state fits a budget of 24 KiB with
    /// room to spare (measured: 16 528 bytes, history and box, by
    /// `memory_table`; the budget is checked by
    /// `browser_offer_with_the_defaults_idles_within_24_kib`, both in
    /// `tests/deflate_idle.rs`; 14 bits one way and 13 the other would be
    /// 24 KiB plus the box, just over). Measured with W5 (BENCHMARKS.md,
    /// `benches/benches/deflate`: 1000 chat-like JSON messages, level 6,
    /// both windows equal), against 15: 13 bits put 5.6% more bytes on the
    /// wire and run 1.8x as many round trips per second (the match search
    /// walks shorter chains); 14 bits 3.0% more bytes, 1.4x as fast; 12
    /// bits 10.9% more, 2.0x.
    pub max_window_bits: u8,
    /// The largest window we ask the peer to compress with, in bits (8 to
    /// 15; clamped). It bounds the history our inflater keeps between
    /// messages when the peer keeps its context (`2^N` bytes, or 512 for
    /// 8). A server asks it with `client_max_window_bits=N` when the
    /// client offered that parameter (browsers do); a client offers
    /// `server_max_window_bits=N` first and the same offer without it
    /// second, so a server that cannot limit its window still accepts. A
    /// peer that cannot be limited still gets 15: our inflater copes.
    /// Default: 13, for the budget explained under
    /// [`max_window_bits`](Self::max_window_bits).
    pub peer_max_window_bits: u8,
    /// Reset our compressor after every message (the `*_no_context_takeover`
    /// parameter for our side): between messages the compressor then holds
    /// no history, so an idle connection keeps nothing of it, at a large
    /// cost in ratio on chat traffic (W5 in BENCHMARKS.md: 0.52 of the
    /// payload on the wire instead of 0.29). Default: `false`.
    pub no_context_takeover: bool,
    /// Ask the peer to reset its compressor after every message, so our
    /// inflater keeps no history between messages. Default: `false`.
    pub peer_no_context_takeover: bool,
    /// Messages shorter than this many bytes are sent uncompressed: below
    /// a few dozen bytes deflate rarely gains, and an uncompressed message
    /// skips the compressor's pass and its scratch copy. Applies to whole
    /// messages; pieces sent with `send_fragment` are all compressed.
    /// Default: 0 (compress all).
    pub min_size: u32,
    /// Compression effort, 1 (fastest) to 9 (smallest output). Default: 6.
    pub level: u8,
}

impl DeflateConfig {
    /// The defaults, usable in a `const`.
    pub const DEFAULT: DeflateConfig = DeflateConfig {
        enabled: true,
        max_window_bits: DEFAULT_WINDOW_BITS,
        peer_max_window_bits: DEFAULT_WINDOW_BITS,
        no_context_takeover: false,
        peer_no_context_takeover: false,
        min_size: 0,
        level: 6,
    };

    /// permessage-deflate turned off: nothing offered, nothing accepted.
    pub const DISABLED: DeflateConfig = DeflateConfig {
        enabled: false,
        ..DeflateConfig::DEFAULT
    };
}

impl Default for DeflateConfig {
    fn default() -> DeflateConfig {
        DeflateConfig::DEFAULT
    }
}

/// What the handshake agreed on: the parameters of the server's response
/// (RFC 7692 section 7.1), with absent window sizes as 15.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// The server's LZ77 window, in bits (8 to 15).
    pub server_max_window_bits: u8,
    /// The client's LZ77 window, in bits (8 to 15).
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    /// No parameters: both windows 15, context kept on both sides.
    fn default() -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
        }
    }
}

/// A window-bits value: 1*DIGIT in 8..=15, no leading zero (section
/// 7.1.2.1 says the value is a decimal integer in that range without
/// leading zeros).
pub(crate) fn parse_window_bits(value: &str) -> Option<u8> {
    match value.as_bytes() {
        [d @ b'8'..=b'9'] => Some(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Some(10 + (d - b'0')),
        _ => None,
    }
}

impl DeflateParams {
    /// Read the parameters of a server's permessage-deflate response: each
    /// parameter known, at most once, window sizes with a value in 8..=15.
    /// `None` if the element is not permessage-deflate or breaks a rule.
    #[must_use]
    pub fn from_response(extension: &Extension) -> Option<DeflateParams> {
        if extension.name() != EXTENSION_NAME {
            return None;
        }
        let mut params = DeflateParams::default();
        let mut seen = [false; 4];
        for (name, value) in extension.params() {
            let i = match name.as_str() {
                "server_no_context_takeover" => 0,
                "client_no_context_takeover" => 1,
                "server_max_window_bits" => 2,
                "client_max_window_bits" => 3,
                _ => return None,
            };
            if core::mem::replace(&mut seen[i], true) {
                return None;
            }
            match (i, value.as_deref()) {
                (0, None) => params.server_no_context_takeover = true,
                (1, None) => params.client_no_context_takeover = true,
                (2, Some(v)) => params.server_max_window_bits = parse_window_bits(v)?,
                (3, Some(v)) => params.client_max_window_bits = parse_window_bits(v)?,
                _ => return None,
            }
        }
        Some(params)
    }

    /// The permessage-deflate parameters among a handshake's negotiated
    /// extensions, if it was agreed.
    #[must_use]
    pub fn from_extensions(extensions: &[Extension]) -> Option<DeflateParams> {
        extensions
            .iter()
            .find(|e| e.name() == EXTENSION_NAME)
            .and_then(DeflateParams::from_response)
    }

    /// Our compressor's side for `role`: its window bits and whether it
    /// resets after every message.
    #[must_use]
    pub fn own(&self, role: Role) -> (u8, bool) {
        match role {
            Role::Server => (self.server_max_window_bits, self.server_no_context_takeover),
            Role::Client => (self.client_max_window_bits, self.client_no_context_takeover),
        }
    }

    /// The peer's compressor side for `role` (what our inflater must
    /// follow): its window bits and whether it resets after every message.
    #[must_use]
    pub fn peer(&self, role: Role) -> (u8, bool) {
        match role {
            Role::Server => self.own(Role::Client),
            Role::Client => self.own(Role::Server),
        }
    }
}
