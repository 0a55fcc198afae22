//! Offers and answers (RFC 7692 section 7.1), both roles.
//!
//! * A client offers with [`DeflateConfig::offers`] (what
//!   [`ClientRequest::write`](crate::handshake::client::ClientRequest::write)
//!   offers under [`Config::deflate`](crate::Config::deflate)), and checks
//!   the server's answer with [`DeflateParams::from_response_to`] (the
//!   client handshake does this itself).
//! * A server answers with [`DeflateConfig::negotiate`] (what
//!   [`Request::accept`](crate::handshake::server::Request::accept) does
//!   under its config): the first acceptable offer wins (the client lists
//!   its offers in order of preference, section 5).
//!
//! [`DeflateParams::from_response_to`] has the table of what a valid
//! answer to an offer is.

use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

use super::{
    DeflateConfig, DeflateParams, EXTENSION_NAME, MAX_WINDOW_BITS, MIN_WINDOW_BITS,
    parse_window_bits,
};
use crate::extension::Extension;

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// Window bits as the config may hold them, brought into 8..=15 (the
/// config's fields document the clamping).
fn clamp_bits(bits: u8) -> u8 {
    bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS)
}

/// One permessage-deflate offer, parsed (section 7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Offer {
    /// 7.1.1.1: the client asks the server to reset its context.
    server_no_context_takeover: bool,
    /// 7.1.1.2: the client will reset its own context (a hint).
    client_no_context_takeover: bool,
    /// 7.1.2.1: the largest server window the client accepts, if limited.
    server_max_window_bits: Option<u8>,
    /// 7.1.2.2: `None` if absent (the client cannot be limited),
    /// `Some(None)` if valueless, `Some(Some(n))` if the client will use at
    /// most `n` bits anyway.
    client_max_window_bits: Option<Option<u8>>,
}

impl Offer {
    /// Parse a permessage-deflate offer; `None` for any other extension and
    /// for an offer a server must decline (section 7.1: unknown or repeated
    /// parameter, invalid value).
    fn parse(extension: &Extension) -> Option<Offer> {
        if extension.name() != EXTENSION_NAME {
            return None;
        }
        let mut offer = Offer {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: None,
        };
        let mut seen = [false; 4];
        for (name, value) in extension.params() {
            let i = match name.as_str() {
                SERVER_NO_CONTEXT_TAKEOVER => 0,
                CLIENT_NO_CONTEXT_TAKEOVER => 1,
                SERVER_MAX_WINDOW_BITS => 2,
                CLIENT_MAX_WINDOW_BITS => 3,
                _ => return None,
            };
            if core::mem::replace(&mut seen[i], true) {
                return None;
            }
            match (i, value.as_deref()) {
                (0, None) => offer.server_no_context_takeover = true,
                (1, None) => offer.client_no_context_takeover = true,
                // 7.1.2.1: in an offer, server_max_window_bits has a value.
                (2, Some(v)) => offer.server_max_window_bits = Some(parse_window_bits(v)?),
                // 7.1.2.2: in an offer, the value is optional.
                (3, None) => offer.client_max_window_bits = Some(None),
                (3, Some(v)) => offer.client_max_window_bits = Some(Some(parse_window_bits(v)?)),
                _ => return None,
            }
        }
        Some(offer)
    }

    /// Whether `response`, a valid response element (see
    /// [`DeflateParams::from_response`]), answers this offer as section 7.1
    /// allows.
    fn allows(&self, response: &Extension) -> bool {
        let bits = |name| response.param(name).flatten().and_then(parse_window_bits);
        // 7.1.1.1: a server accepting this offer MUST include it.
        if self.server_no_context_takeover && response.param(SERVER_NO_CONTEXT_TAKEOVER).is_none() {
            return false;
        }
        // 7.1.2.1: the server accepts a limit by answering one as small.
        if let Some(limit) = self.server_max_window_bits {
            if bits(SERVER_MAX_WINDOW_BITS).is_none_or(|b| b > limit) {
                return false;
            }
        }
        // 7.1.2.2: only if offered, and no larger than an offered value.
        if let Some(b) = bits(CLIENT_MAX_WINDOW_BITS) {
            match self.client_max_window_bits {
                None => return false,
                Some(Some(limit)) if b > limit => return false,
                Some(_) => {}
            }
        }
        true
    }
}

impl DeflateConfig {
    /// The permessage-deflate offers a client sends under this policy,
    /// most preferred first; empty if [`enabled`](Self::enabled) is off.
    ///
    /// The offer always has a valueless `client_max_window_bits` (section
    /// 7.1.2.2), as browsers send it, so a server may limit our window. Our
    /// own [`max_window_bits`](Self::max_window_bits) needs no parameter:
    /// a compressor may always use a smaller window than agreed, and ours
    /// does. (Offering `client_max_window_bits=13` made Autobahn's server,
    /// which answers `client_max_window_bits=15` to it, unusable: a
    /// response larger than an offered value must be refused.)
    /// `client_no_context_takeover` and `server_no_context_takeover` follow
    /// [`no_context_takeover`](Self::no_context_takeover) and
    /// [`peer_no_context_takeover`](Self::peer_no_context_takeover). When
    /// [`peer_max_window_bits`](Self::peer_max_window_bits) is below 15,
    /// the first offer asks `server_max_window_bits=N` and a second one
    /// without it follows, so a server that cannot limit its window can
    /// still accept (the fallback of section 7.1.2.1; our inflater copes
    /// with 15).
    ///
    /// ```
    /// use wscore::extension::deflate::DeflateConfig;
    ///
    /// // The defaults' 13-bit windows, with the fallback.
    /// let offers = DeflateConfig::DEFAULT.offers();
    /// assert_eq!(offers.len(), 2);
    /// assert_eq!(offers[0].param("server_max_window_bits"), Some(Some("13")));
    /// assert_eq!(offers[1].param("server_max_window_bits"), None);
    /// assert_eq!(offers[1].param("client_max_window_bits"), Some(None));
    ///
    /// // What a browser sends: windows of 15 ask nothing of the server.
    /// let mut browser_like = DeflateConfig::DEFAULT;
    /// browser_like.max_window_bits = 15;
    /// browser_like.peer_max_window_bits = 15;
    /// let offers = browser_like.offers();
    /// assert_eq!(offers.len(), 1);
    /// assert_eq!(offers[0].name(), "permessage-deflate");
    /// assert_eq!(offers[0].param("client_max_window_bits"), Some(None));
    /// ```
    #[must_use]
    pub fn offers(&self) -> Vec<Extension> {
        if !self.enabled {
            return Vec::new();
        }
        let peer = clamp_bits(self.peer_max_window_bits);
        let mut base = Extension::new(EXTENSION_NAME);
        if self.peer_no_context_takeover {
            base = base.with_param(SERVER_NO_CONTEXT_TAKEOVER);
        }
        if self.no_context_takeover {
            base = base.with_param(CLIENT_NO_CONTEXT_TAKEOVER);
        }
        let with_client_bits = |ext: Extension| ext.with_param(CLIENT_MAX_WINDOW_BITS);
        if peer < MAX_WINDOW_BITS {
            let limited = with_client_bits(
                base.clone()
                    .with_param_value(SERVER_MAX_WINDOW_BITS, peer.to_string()),
            );
            vec![limited, with_client_bits(base)]
        } else {
            vec![with_client_bits(base)]
        }
    }

    /// A server's choice among a client's offers (in the client's order,
    /// as [`Request::extensions`](crate::handshake::server::Request::extensions)
    /// gives them): the response element for the first acceptable
    /// permessage-deflate offer, and the parameters it agrees on. `None`
    /// when [`enabled`](Self::enabled) is off or no offer is acceptable.
    ///
    /// Offers that section 7.1 says to decline (an unknown or repeated
    /// parameter, a value where none belongs, a missing, out-of-range or
    /// leading-zero window size) are skipped. Any other offer is
    /// acceptable, since our compressor can honour every window and reset
    /// after every message. The response:
    ///
    /// * `server_no_context_takeover` if offered (7.1.1.1 requires it) or
    ///   if [`no_context_takeover`](Self::no_context_takeover) is set;
    /// * `client_no_context_takeover` if
    ///   [`peer_no_context_takeover`](Self::peer_no_context_takeover) is
    ///   set, or the client offered it (it resets anyway; saying so lets
    ///   our inflater drop its history);
    /// * `server_max_window_bits`: the smaller of the offered value and our
    ///   [`max_window_bits`](Self::max_window_bits) if offered (7.1.2.1
    ///   requires an answer), else ours when it is below 15;
    /// * `client_max_window_bits`, only if offered (7.1.2.2): the smaller
    ///   of the offered value (if any) and
    ///   [`peer_max_window_bits`](Self::peer_max_window_bits), when below
    ///   15. A client that cannot be limited is accepted all the same: we
    ///   can inflate a 15-bit window.
    ///
    /// ```
    /// use wscore::extension::deflate::{DeflateConfig, DeflateParams};
    /// use wscore::extension::Extension;
    ///
    /// // A browser's offer: the defaults lower both windows to 13 bits.
    /// let offers = [Extension::new("permessage-deflate").with_param("client_max_window_bits")];
    /// let (response, params) = DeflateConfig::DEFAULT.negotiate(&offers).unwrap();
    /// assert_eq!(
    ///     response,
    ///     Extension::new("permessage-deflate")
    ///         .with_param_value("server_max_window_bits", "13")
    ///         .with_param_value("client_max_window_bits", "13")
    /// );
    /// assert_eq!((params.server_max_window_bits, params.client_max_window_bits), (13, 13));
    /// ```
    #[must_use]
    pub fn negotiate(&self, offers: &[Extension]) -> Option<(Extension, DeflateParams)> {
        if !self.enabled {
            return None;
        }
        let offer = offers.iter().find_map(Offer::parse)?;
        Some(self.answer(&offer))
    }

    /// The response to an acceptable offer, and what it agrees on.
    fn answer(&self, offer: &Offer) -> (Extension, DeflateParams) {
        let own = clamp_bits(self.max_window_bits);
        let peer = clamp_bits(self.peer_max_window_bits);
        let server_no_context_takeover =
            offer.server_no_context_takeover || self.no_context_takeover;
        let client_no_context_takeover =
            offer.client_no_context_takeover || self.peer_no_context_takeover;
        let server_bits = match offer.server_max_window_bits {
            Some(limit) => Some(own.min(limit)),
            None => (own < MAX_WINDOW_BITS).then_some(own),
        };
        let client_bits = offer.client_max_window_bits.and_then(|offered| {
            let bits = peer.min(offered.unwrap_or(MAX_WINDOW_BITS));
            (bits < MAX_WINDOW_BITS).then_some(bits)
        });

        let mut response = Extension::new(EXTENSION_NAME);
        if server_no_context_takeover {
            response = response.with_param(SERVER_NO_CONTEXT_TAKEOVER);
        }
        if client_no_context_takeover {
            response = response.with_param(CLIENT_NO_CONTEXT_TAKEOVER);
        }
        if let Some(bits) = server_bits {
            response = response.with_param_value(SERVER_MAX_WINDOW_BITS, bits.to_string());
        }
        if let Some(bits) = client_bits {
            response = response.with_param_value(CLIENT_MAX_WINDOW_BITS, bits.to_string());
        }
        let params = DeflateParams {
            server_no_context_takeover,
            client_no_context_takeover,
            server_max_window_bits: server_bits.unwrap_or(MAX_WINDOW_BITS),
            client_max_window_bits: client_bits.unwrap_or(MAX_WINDOW_BITS),
        };
        debug_assert_eq!(DeflateParams::from_response(&response), Some(params));
        debug_assert!(offer.allows(&response));
        (response, params)
    }
}

impl DeflateParams {
    /// A client's check of the server's permessage-deflate response
    /// element against the `offers` it sent (its whole
    /// `Sec-WebSocket-Extensions` offer; other extensions are ignored): the
    /// parameters, if the element is valid
    /// ([`from_response`](Self::from_response)) and a valid answer to at
    /// least one permessage-deflate offer. `None` means the client must
    /// fail the connection (section 7.1).
    ///
    /// What a valid answer to an offer is (section 7.1):
    ///
    /// | parameter | in the offer | in the response |
    /// |---|---|---|
    /// | `server_no_context_takeover` | the client wants the server to reset | required if offered (7.1.1.1), allowed otherwise |
    /// | `client_no_context_takeover` | a hint: the client will reset | always allowed (7.1.1.2) |
    /// | `server_max_window_bits=N` | the server's window must be ≤ N | required, ≤ N, if offered; any 8..=15 otherwise (7.1.2.1) |
    /// | `client_max_window_bits[=N]` | the client can be limited (and uses ≤ N) | allowed only if offered, with a value, ≤ N if offered with one (7.1.2.2) |
    ///
    /// Every parameter at most once, no value on the `*_no_context_takeover`
    /// ones, window values 8 to 15 without leading zeros; anything else makes
    /// an offer one the server declines and a response one the client fails
    /// (section 7.1, the lists after "MUST decline" and "MUST _Fail_").
    ///
    /// The client handshake runs this itself; it is public for clients
    /// that check a response some other way.
    ///
    /// ```
    /// use wscore::extension::deflate::{DeflateConfig, DeflateParams};
    /// use wscore::extension::Extension;
    ///
    /// let offers = DeflateConfig::DEFAULT.offers();
    /// let ok = Extension::new("permessage-deflate").with_param_value("client_max_window_bits", "10");
    /// assert_eq!(DeflateParams::from_response_to(&ok, &offers).unwrap().client_max_window_bits, 10);
    /// let bad = Extension::new("permessage-deflate").with_param("client_max_window_bits");
    /// assert_eq!(DeflateParams::from_response_to(&bad, &offers), None);
    /// ```
    #[must_use]
    pub fn from_response_to(response: &Extension, offers: &[Extension]) -> Option<DeflateParams> {
        let params = DeflateParams::from_response(response)?;
        offers
            .iter()
            .filter_map(Offer::parse)
            .any(|offer| offer.allows(response))
            .then_some(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pmd() -> Extension {
        Extension::new(EXTENSION_NAME)
    }

    #[test]
    fn parses_offers_strictly() {
        assert_eq!(
            Offer::parse(
                &pmd()
                    .with_param(CLIENT_MAX_WINDOW_BITS)
                    .with_param_value(SERVER_MAX_WINDOW_BITS, "9")
            ),
            Some(Offer {
                server_no_context_takeover: false,
                client_no_context_takeover: false,
                server_max_window_bits: Some(9),
                client_max_window_bits: Some(None),
            })
        );
        for bad in [
            pmd().with_param("x"),
            pmd().with_param(SERVER_MAX_WINDOW_BITS),
            pmd().with_param_value(SERVER_NO_CONTEXT_TAKEOVER, "1"),
            pmd().with_param_value(CLIENT_MAX_WINDOW_BITS, "016"),
            pmd()
                .with_param(CLIENT_NO_CONTEXT_TAKEOVER)
                .with_param(CLIENT_NO_CONTEXT_TAKEOVER),
            Extension::new("x-deflate"),
        ] {
            assert_eq!(Offer::parse(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn clamps_config_window_bits() {
        // Our own window needs no parameter (it is enforced locally); the
        // peer's, clamped to 15, asks nothing of the server.
        let config = DeflateConfig {
            max_window_bits: 3,
            peer_max_window_bits: 200,
            ..DeflateConfig::DEFAULT
        };
        assert_eq!(config.offers(), [pmd().with_param(CLIENT_MAX_WINDOW_BITS)]);
        // Clamped to 8, the peer's window is asked for, with the fallback.
        let config = DeflateConfig {
            peer_max_window_bits: 3,
            ..DeflateConfig::DEFAULT
        };
        assert_eq!(
            config.offers(),
            [
                pmd()
                    .with_param_value(SERVER_MAX_WINDOW_BITS, "8")
                    .with_param(CLIENT_MAX_WINDOW_BITS),
                pmd().with_param(CLIENT_MAX_WINDOW_BITS)
            ]
        );
    }
}
