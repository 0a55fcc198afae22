//! Connections that agreed on permessage-deflate through the real
//! handshake, with any parameters.

use wscore::extension::deflate::DeflateParams;
use wscore::handshake::client::ClientRequest;
use wscore::handshake::server::{Accept, ServerHandshake};
use wscore::handshake::{Extension, HandshakeLimits};
use wscore::{Config, Connection, Status};

use super::{Pair, counter_mask, t};

/// The offer that allows `p` (every parameter the response will carry),
/// and the response that agrees on exactly `p`.
pub fn offer_and_response(p: &DeflateParams) -> (Extension, Extension) {
    let mut offer = Extension::new("permessage-deflate");
    let mut response = Extension::new("permessage-deflate");
    if p.server_no_context_takeover {
        offer = offer.with_param("server_no_context_takeover");
        response = response.with_param("server_no_context_takeover");
    }
    if p.client_no_context_takeover {
        offer = offer.with_param("client_no_context_takeover");
        response = response.with_param("client_no_context_takeover");
    }
    offer = offer.with_param_value(
        "server_max_window_bits",
        p.server_max_window_bits.to_string(),
    );
    response = response.with_param_value(
        "server_max_window_bits",
        p.server_max_window_bits.to_string(),
    );
    offer = offer.with_param("client_max_window_bits");
    response = response.with_param_value(
        "client_max_window_bits",
        p.client_max_window_bits.to_string(),
    );
    (offer, response)
}

/// A client and a server that agreed on `p` through the handshake.
pub fn connections(
    p: &DeflateParams,
    client_cfg: &Config,
    server_cfg: &Config,
) -> (Connection, Connection) {
    let (offer, response) = offer_and_response(p);
    let mut request = Vec::new();
    let mut client_hs = ClientRequest::new("example.com", [7; 16])
        .extension(offer)
        .write(client_cfg, &mut request)
        .expect("a valid request");
    let mut server_hs = ServerHandshake::new(HandshakeLimits::default());
    let Ok(Status::Complete((req, _))) = server_hs.handle_input(&request) else {
        panic!("the request is complete and valid");
    };
    let mut answer = Vec::new();
    let (server, _) = req
        .accept(
            &Accept::new().extension(response),
            server_cfg,
            t(0),
            &[],
            &mut answer,
        )
        .expect("the response answers the offer");
    let Ok(Status::Complete((res, _))) = client_hs.handle_input(&answer) else {
        panic!("the client accepts the response");
    };
    let client = res.open(t(0), &[], counter_mask());
    (client, server)
}

/// A [`Pair`] that agreed on `p`.
pub fn pair(p: &DeflateParams, client_cfg: &Config, server_cfg: &Config) -> Pair {
    let (client, server) = connections(p, client_cfg, server_cfg);
    Pair::from_connections(client, server)
}

/// Every combination of the four parameters, with windows `8..=15`.
pub fn params(snct: bool, cnct: bool, sbits: u8, cbits: u8) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        server_max_window_bits: sbits,
        client_max_window_bits: cbits,
    }
}
