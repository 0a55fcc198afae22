//! Arbitrary bytes as a client's `Sec-WebSocket-Extensions` value, answered
//! by a server under an arbitrary permessage-deflate policy (RFC 7692
//! section 7.1).
//!
//! The first three input bytes are the server's `DeflateConfig`: byte 0's
//! bit 0 turns it off, bit 1 sets `no_context_takeover`, bit 2
//! `peer_no_context_takeover`; bytes 1 and 2 are `max_window_bits` and
//! `peer_max_window_bits` as given (the config clamps them). The rest is the
//! header value, put into an otherwise valid request.
//!
//! Invariants: no panic; an answer is a valid response element whose
//! parameters are the ones the server reports, and it answers the first
//! offer that is acceptable on its own; no answer means the policy is off or
//! no offer is acceptable; `Request::accept` under that policy writes that
//! answer into a 101
//! that a client which made those offers accepts, with the same parameters;
//! the offers round-trip through a client's request unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscore::extension::deflate::{DeflateConfig, DeflateParams};
use wscore::frame::Status;
use wscore::handshake::client::ClientRequest;
use wscore::handshake::server::{Accept, Request, ServerHandshake};
use wscore::handshake::{Extension, HandshakeLimits};
use wscore::{Config, Instant};

/// The RFC 6455 section 1.3 nonce, whose key the request below carries.
const NONCE: [u8; 16] = *b"the sample nonce";

/// The request with `value` as its extension offer, if it passes the
/// handshake's checks (a value that is not a section 9.1 list does not).
fn request_offering(value: &[u8]) -> Option<Request> {
    let mut head = b"GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: "
        .to_vec();
    head.extend_from_slice(value);
    head.extend_from_slice(b"\r\n\r\n");
    let mut server = ServerHandshake::new(HandshakeLimits::default());
    match server.handle_input(&head) {
        Ok(Status::Complete(_)) => server.into_request(),
        _ => None,
    }
}

/// Whether the server would take `offer` were it alone: acceptability does
/// not depend on the policy beyond `enabled`.
fn acceptable(offer: &Extension) -> bool {
    DeflateConfig::DEFAULT
        .negotiate(core::slice::from_ref(offer))
        .is_some()
}

fuzz_target!(|input: &[u8]| {
    let [flags, own, peer, value @ ..] = input else {
        return;
    };
    let mut config = DeflateConfig::DEFAULT;
    config.enabled = flags & 1 == 0;
    config.no_context_takeover = flags & 2 != 0;
    config.peer_no_context_takeover = flags & 4 != 0;
    config.max_window_bits = *own;
    config.peer_max_window_bits = *peer;

    let Some(request) = request_offering(value) else {
        return;
    };
    let offers = request.extensions();

    // The server's choice, checked against the client's view of it.
    let answer = config.negotiate(offers);
    match &answer {
        Some((response, params)) => {
            assert_eq!(DeflateParams::from_response(response), Some(*params));
            assert_eq!(
                DeflateParams::from_response_to(response, offers),
                Some(*params),
                "the offerer refuses the answer"
            );
            let first = offers
                .iter()
                .position(acceptable)
                .expect("an answer means an acceptable offer");
            assert_eq!(
                DeflateParams::from_response_to(response, &offers[first..=first]),
                Some(*params),
                "not an answer to the first acceptable offer"
            );
            let bits = |b: u8| b.clamp(8, 15);
            assert!(params.server_max_window_bits <= bits(*own));
            // 15 when the client cannot be limited (7.1.2.2): still accepted.
            assert!(
                params.client_max_window_bits <= bits(*peer) || params.client_max_window_bits == 15
            );
            assert!(params.server_no_context_takeover >= config.no_context_takeover);
            assert!(params.client_no_context_takeover >= config.peer_no_context_takeover);
        }
        None => assert!(!config.enabled || !offers.iter().any(acceptable)),
    }

    // The same offers from a client, over the wire and back.
    let mut to_server = Vec::new();
    let mut client = offers
        .iter()
        .fold(ClientRequest::new("example.com", NONCE), |r, e| {
            r.extension(e.clone())
        })
        // Only these offers: a config that adds none of its own.
        .write(
            &Config::default().with_deflate(DeflateConfig::DISABLED),
            &mut to_server,
        )
        .expect("parsed offers are valid to send");
    let mut server = ServerHandshake::new(HandshakeLimits::default());
    let Ok(Status::Complete((again, _))) = server.handle_input(&to_server) else {
        panic!("the client's request is refused");
    };
    assert_eq!(again.extensions(), offers, "offers change on the wire");

    let mut to_client = Vec::new();
    let (_, on_server) = request
        .accept(
            &Accept::new(),
            &Config::default().with_deflate(config),
            Instant::ZERO,
            &[],
            &mut to_client,
        )
        .expect("the config's answer is valid");
    let on_server = DeflateParams::from_extensions(&on_server.extensions);
    assert_eq!(on_server, answer.map(|(_, p)| p));
    let Ok(Status::Complete((response, _))) = client.handle_input(&to_client) else {
        panic!("the client refuses the server's 101");
    };
    assert_eq!(
        DeflateParams::from_extensions(&response.negotiated().extensions),
        on_server
    );
});
