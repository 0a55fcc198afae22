//! Arbitrary field lists into both ends of the extended CONNECT handshake
//! (RFC 8441, RFC 9220): as a request into
//! `Request::from_extended_connect_fields`, and as a response into
//! `ClientHandshake::check_response_fields`.
//!
//! The first input byte is a control byte: bit 0 turns permessage-deflate
//! on for both ends' config, bit 1 sends the list to the client instead of
//! the server. The rest is the list: fields separated by `\n`, each name
//! separated from its value by the first `\0` (a field without one has an
//! empty value), so the seed corpus is readable.
//!
//! Invariants: no panic; a request accepted is an extended CONNECT with an
//! origin-form target, a non-empty authority and an `http`/`https` scheme,
//! and `accept_fields` answers it with `:status 200` first and lowercase,
//! connection-free fields, which a client that offered what it offered
//! accepts with the same agreement; a refused request's error has status
//! 400 or 405 and a response list that starts with that `:status`; a
//! response the client accepts had exactly `:status 200`, and one it
//! refuses for its status had another.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscore::handshake::client::ClientRequest;
use wscore::handshake::server::{Accept, Request};
use wscore::handshake::{ClientHandshakeError, Headers};
use wscore::{Config, Instant};

fn fields(data: &[u8]) -> Vec<(&[u8], &[u8])> {
    data.split(|&b| b == b'\n')
        .map(|field| match field.iter().position(|&b| b == 0) {
            Some(i) => (&field[..i], &field[i + 1..]),
            None => (field, &[][..]),
        })
        .collect()
}

fn pairs(list: &Headers) -> Vec<(&[u8], &[u8])> {
    list.iter()
        .map(|f| (f.name().as_bytes(), f.value()))
        .collect()
}

fn config(deflate: bool) -> Config {
    if deflate {
        Config::default()
    } else {
        Config::default().with_deflate(wscore::extension::deflate::DeflateConfig::DISABLED)
    }
}

fn connection_free(list: &Headers) {
    for field in list {
        assert_eq!(field.name(), field.name().to_ascii_lowercase());
        for forbidden in ["connection", "upgrade", "keep-alive", "transfer-encoding"] {
            assert_ne!(field.name(), forbidden);
        }
    }
}

fn serve(config: &Config, list: &[(&[u8], &[u8])]) {
    match Request::from_extended_connect_fields(list.iter().copied()) {
        Ok(request) => {
            assert!(request.is_extended_connect());
            assert!(request.target().starts_with('/'));
            assert!(!request.host().is_empty());
            let scheme = request.scheme().expect("an extended CONNECT has a scheme");
            assert!(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"));
            let (_, agreed, response) = request
                .accept_fields(&Accept::new(), config, Instant::ZERO)
                .expect("Accept::new() fits every valid request");
            let first = response.iter().next().expect("a :status");
            assert_eq!((first.name(), first.value()), (":status", &b"200"[..]));
            connection_free(&response);

            // A client that offered the same extensions accepts the answer.
            let mut client = ClientRequest::new(request.host(), [0; 16]).target(request.target());
            for extension in request.extensions() {
                client = client.extension(extension.clone());
            }
            if let Ok((_, handshake)) = client.to_extended_connect_fields(
                &Config::default()
                    .with_deflate(wscore::extension::deflate::DeflateConfig::DISABLED),
                scheme,
            ) {
                let checked = handshake
                    .check_response_fields(pairs(&response))
                    .expect("the client accepts the server's answer to its offers");
                assert_eq!(checked.negotiated().extensions, agreed.extensions);
            }
        }
        Err(error) => {
            assert!(matches!(error.status(), 400 | 405));
            let response = error.response_fields();
            let first = response.iter().next().expect("a :status");
            assert_eq!(first.name(), ":status");
            assert_eq!(first.value(), error.status().to_string().as_bytes());
            connection_free(&response);
        }
    }
}

fn check(config: &Config, list: &[(&[u8], &[u8])]) {
    let (_, handshake) = ClientRequest::new("example.com", [0; 16])
        .protocol("chat")
        .to_extended_connect_fields(config, "https")
        .expect("a valid request");
    let status = list
        .iter()
        .find(|(name, _)| *name == b":status")
        .map(|(_, value)| *value);
    match handshake.check_response_fields(list.iter().copied()) {
        Ok(response) => {
            assert_eq!(status, Some(&b"200"[..]));
            let _ = response.open(Instant::ZERO, &[], || [0; 4]);
        }
        Err(ClientHandshakeError::Status(rejected)) => {
            assert_ne!(rejected.status(), 200);
            assert_eq!(Some(rejected.status().to_string().as_bytes()), status);
        }
        Err(_) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let config = config(control & 1 != 0);
    let list = fields(rest);
    if control & 2 == 0 {
        serve(&config, &list);
    } else {
        check(&config, &list);
    }
});
