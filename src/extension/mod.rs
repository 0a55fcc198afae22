//! Extensions (RFC 6455 section 9): the `Sec-WebSocket-Extensions` values
//! ([`Extension`]), what this endpoint offers or answers under its
//! [`Config`], and the codec the connection runs once one is agreed.
//!
//! This layer sits below the handshake: the handshake carries header
//! values and asks this module, through four crate-private calls, what a
//! client offers, what a server answers, whether an answer is valid, and
//! what codec the agreement asks of the connection, all under the
//! connection's [`Config`]. Nothing here knows about HTTP heads, and the
//! feature gates for permessage-deflate live here, not in the handshake or
//! the connection.
//!
//! So a [`Config`] is all it takes: a client's
//! [`ClientRequest::write`](crate::handshake::client::ClientRequest::write)
//! offers permessage-deflate as [`Config::deflate`](crate::Config) says, a
//! server's [`Request::accept`](crate::handshake::server::Request::accept)
//! accepts it the same way, and the connection either returns runs the
//! agreed codec.
//!
//! permessage-deflate (RFC 7692, feature `deflate`, on by default) is the
//! extension implemented: [`deflate`] holds its configuration, its
//! negotiation and its codec. An extension this crate does not know can
//! still be offered or accepted by hand; its RSV bits then stay reserved,
//! and a frame using them fails the connection (1002, section 5.2).

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::config::Config;
use crate::frame::Rsv;
use crate::role::Role;

#[cfg(feature = "deflate")]
pub mod deflate;
#[cfg(not(feature = "deflate"))]
pub(crate) mod disabled;
mod list;

#[cfg(feature = "deflate")]
pub(crate) use deflate::codec;
#[cfg(not(feature = "deflate"))]
pub(crate) use disabled as codec;
pub use list::Extension;
pub(crate) use list::{parse_extension_list, write_extension_list};

/// An answer that breaks the rules of the extension it answers (for
/// permessage-deflate, RFC 7692 section 7.1: one element at most, and a
/// valid answer to one of the offers of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InvalidAnswer;

/// A client's offers: the application's (`own`, in its order), then what
/// `config` offers, unless the application offered that extension itself
/// (its offers then stand alone).
#[allow(unused_variables, unused_mut)]
pub(crate) fn offers(config: &Config, own: &[Extension]) -> Vec<Extension> {
    let mut offers = own.to_vec();
    #[cfg(feature = "deflate")]
    if !has(own, deflate::EXTENSION_NAME) {
        offers.extend(config.deflate.offers());
    }
    offers
}

/// A server's answer to the client's `offers`: the application's (`own`),
/// then what `config` accepts, unless the application answered that
/// extension itself.
#[allow(unused_variables, unused_mut)]
pub(crate) fn answer(config: &Config, offers: &[Extension], own: &[Extension]) -> Vec<Extension> {
    let mut answer = own.to_vec();
    #[cfg(feature = "deflate")]
    if !has(own, deflate::EXTENSION_NAME) {
        if let Some((element, _)) = config.deflate.negotiate(offers) {
            answer.push(element);
        }
    }
    answer
}

/// Whether `answer` (a server's `Sec-WebSocket-Extensions` elements, each
/// named in `offers` already) answers `offers` as each known extension's
/// rules require. Checked by a server for an answer the application built
/// and by a client for the answer it received.
#[allow(unused_variables)]
pub(crate) fn check_answer(
    offers: &[Extension],
    answer: &[Extension],
) -> Result<(), InvalidAnswer> {
    #[cfg(feature = "deflate")]
    {
        let mut elements = answer
            .iter()
            .filter(|e| e.name() == deflate::EXTENSION_NAME);
        if let Some(element) = elements.next() {
            if elements.next().is_some()
                || deflate::DeflateParams::from_response_to(element, offers).is_none()
            {
                return Err(InvalidAnswer);
            }
        }
    }
    Ok(())
}

/// What the agreed extensions ask of a connection playing `role`: the
/// permessage-deflate codec, if agreed (boxed, so a connection without it
/// pays one pointer), and the RSV bits a received frame may then set.
#[allow(unused_variables)]
pub(crate) fn codec_for(
    agreed: &[Extension],
    role: Role,
    config: &Config,
) -> (Option<Box<codec::Deflate>>, Rsv) {
    #[cfg(feature = "deflate")]
    if let Some(params) = deflate::DeflateParams::from_extensions(agreed) {
        let codec = codec::Deflate::new(&params, role, &config.deflate);
        return (Some(Box::new(codec)), Rsv::RSV1);
    }
    (None, Rsv::NONE)
}

/// Whether an element called `name` is among `extensions`.
#[cfg(feature = "deflate")]
fn has(extensions: &[Extension], name: &str) -> bool {
    extensions.iter().any(|e| e.name() == name)
}
