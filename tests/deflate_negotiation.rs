//! permessage-deflate negotiation (RFC 7692 section 7.1), both roles:
//! tables of offers and the server's answer, of responses and the client's
//! verdict, the hand-built answers `Accept` refuses, and properties tying
//! the two sides together. Chunking is the handshake tests' business.
#![cfg(feature = "deflate")]

use proptest::prelude::*;
use wscore::extension::deflate::{DeflateConfig, DeflateParams};
use wscore::frame::Status;
use wscore::handshake::client::{ClientHandshake, ClientRequest, Response};
use wscore::handshake::server::{Accept, Request, ServerHandshake};
use wscore::handshake::{BuildError, ClientHandshakeError, Extension, HandshakeLimits, Negotiated};
use wscore::{Config, Instant};

/// The connection config whose permessage-deflate policy is `policy`.
fn with(policy: &DeflateConfig) -> Config {
    Config::default().with_deflate(*policy)
}

/// `request.accept` under `config`, for what was agreed (and the 101 in
/// `out`); the connection is dropped.
fn agree(
    request: &Request,
    accept: &Accept,
    config: &Config,
    out: &mut Vec<u8>,
) -> Result<Negotiated, BuildError> {
    request
        .accept(accept, config, Instant::ZERO, &[], out)
        .map(|(_, agreed)| agreed)
}

/// The RFC 6455 section 1.3 nonce: its accept value is below.
const NONCE: [u8; 16] = *b"the sample nonce";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A config from its knobs, in `DeflateConfig`'s field order.
fn config(
    max_window_bits: u8,
    peer_max_window_bits: u8,
    no_context_takeover: bool,
    peer_no_context_takeover: bool,
) -> DeflateConfig {
    let mut c = DeflateConfig::DEFAULT;
    c.max_window_bits = max_window_bits;
    c.peer_max_window_bits = peer_max_window_bits;
    c.no_context_takeover = no_context_takeover;
    c.peer_no_context_takeover = peer_no_context_takeover;
    c
}

/// An extension element in its wire form, as the handshake writes it.
fn wire(e: &Extension) -> String {
    let mut s = e.name().to_string();
    for (name, value) in e.params() {
        s.push_str("; ");
        s.push_str(name);
        if let Some(v) = value {
            s.push('=');
            s.push_str(v);
        }
    }
    s
}

/// The request a client sends with `Sec-WebSocket-Extensions: {value}`,
/// as the server parsed it.
fn request_offering(value: &str) -> Request {
    let head = format!(
        "GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: {value}\r\n\r\n"
    );
    let mut server = ServerHandshake::new(HandshakeLimits::default());
    match server.handle_input(head.as_bytes()) {
        Ok(Status::Complete(_)) => server.into_request().unwrap(),
        other => panic!("{value:?} is not a valid offer list: {other:?}"),
    }
}

/// What a server with `policy` answers to the offers in `value`.
fn server_answer(policy: &DeflateConfig, value: &str) -> Option<String> {
    let request = request_offering(value);
    let answer = policy.negotiate(request.extensions());
    // `accept` under the policy agrees with the primitive, and its 101 goes
    // through.
    let negotiated = agree(&request, &Accept::new(), &with(policy), &mut Vec::new()).unwrap();
    assert_eq!(
        DeflateParams::from_extensions(&negotiated.extensions),
        answer.as_ref().map(|(_, p)| *p)
    );
    answer.map(|(e, params)| {
        assert_eq!(DeflateParams::from_response(&e), Some(params));
        wire(&e)
    })
}

/// A client that sends `offers` and reads a 101 whose
/// `Sec-WebSocket-Extensions` lines are `responses`.
fn client_verdict(
    offers: &[Extension],
    responses: &[&str],
) -> Result<Response, ClientHandshakeError> {
    let request = offers
        .iter()
        .fold(ClientRequest::new("example.com", NONCE), |r, e| {
            r.extension(e.clone())
        });
    // Only the offers given: a config that offers nothing of its own.
    let mut client: ClientHandshake = request
        .write(&with(&DeflateConfig::DISABLED), &mut Vec::new())
        .unwrap();
    let mut head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n"
    );
    for r in responses {
        head.push_str(&format!("Sec-WebSocket-Extensions: {r}\r\n"));
    }
    head.push_str("\r\n");
    match client.handle_input(head.as_bytes())? {
        Status::Complete((response, _)) => Ok(response.clone()),
        Status::Partial => panic!("the head is complete"),
    }
}

/// Offers parsed from one header value.
fn offers(value: &str) -> Vec<Extension> {
    request_offering(value).extensions().to_vec()
}

const D: DeflateConfig = DeflateConfig::DEFAULT;

// ------------------------------------------------------------- client offers

#[test]
fn client_offers_follow_the_policy() {
    let table: &[(DeflateConfig, &[&str])] = &[
        // The defaults ask for 13-bit windows, with the fallback a server
        // that cannot limit its window accepts.
        (
            D,
            &[
                "permessage-deflate; server_max_window_bits=13; client_max_window_bits",
                "permessage-deflate; client_max_window_bits",
            ],
        ),
        (
            config(15, 15, false, false),
            &["permessage-deflate; client_max_window_bits"],
        ),
        (DeflateConfig::DISABLED, &[]),
        (
            config(10, 15, false, false),
            &["permessage-deflate; client_max_window_bits"],
        ),
        (
            config(15, 9, false, false),
            &[
                "permessage-deflate; server_max_window_bits=9; client_max_window_bits",
                "permessage-deflate; client_max_window_bits",
            ],
        ),
        (
            config(15, 15, true, false),
            &["permessage-deflate; client_no_context_takeover; client_max_window_bits"],
        ),
        (
            config(15, 15, false, true),
            &["permessage-deflate; server_no_context_takeover; client_max_window_bits"],
        ),
        (
            config(8, 12, true, true),
            &[
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=12; client_max_window_bits",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 client_max_window_bits",
            ],
        ),
    ];
    for (policy, expected) in table {
        let got: Vec<String> = policy.offers().iter().map(wire).collect();
        assert_eq!(got, *expected, "{policy:?}");
        // And the request carries them, in order, in one field.
        let mut out = Vec::new();
        ClientRequest::new("example.com", NONCE)
            .write(&with(policy), &mut out)
            .unwrap();
        let head = String::from_utf8(out).unwrap();
        let field = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Extensions: "));
        assert_eq!(
            field.map(str::to_string),
            (!expected.is_empty()).then(|| expected.join(", "))
        );
    }
}

// ------------------------------------------------------------- server answers

#[test]
fn server_answers_offers() {
    // The RFC's rules, under windows of 15 (which need no answer); the
    // default's 13-bit windows follow the table.
    let w15 = config(15, 15, false, false);
    let pmd = "permessage-deflate";
    #[rustfmt::skip]
    let table: &[(&str, DeflateConfig, &str, Option<&str>)] = &[
        // Plain offers.
        ("bare", w15, pmd, Some(pmd)),
        ("browser", w15, "permessage-deflate; client_max_window_bits", Some(pmd)),
        ("firefox", w15, "permessage-deflate", Some(pmd)),
        ("other extension only", w15, "x-webkit-deflate-frame", None),
        ("disabled", DeflateConfig::DISABLED, pmd, None),
        ("name is case-sensitive", w15, "Permessage-Deflate", None),
        // 7.1.1.1: server_no_context_takeover offered must be answered.
        ("snct offered", w15, "permessage-deflate; server_no_context_takeover",
            Some("permessage-deflate; server_no_context_takeover")),
        // 7.1.1.2: the client's hint is echoed.
        ("cnct offered", w15, "permessage-deflate; client_no_context_takeover",
            Some("permessage-deflate; client_no_context_takeover")),
        // 7.1.2.1: an offered server limit is answered, at most as large.
        ("smwb offered", w15, "permessage-deflate; server_max_window_bits=10",
            Some("permessage-deflate; server_max_window_bits=10")),
        ("smwb offered, ours smaller", config(9, 15, false, false),
            "permessage-deflate; server_max_window_bits=10",
            Some("permessage-deflate; server_max_window_bits=9")),
        ("smwb offered, ours larger", config(12, 15, false, false),
            "permessage-deflate; server_max_window_bits=10",
            Some("permessage-deflate; server_max_window_bits=10")),
        ("smwb=15 offered", w15, "permessage-deflate; server_max_window_bits=15",
            Some("permessage-deflate; server_max_window_bits=15")),
        ("smwb=8 offered", w15, "permessage-deflate; server_max_window_bits=8",
            Some("permessage-deflate; server_max_window_bits=8")),
        ("smwb quoted", w15, "permessage-deflate; server_max_window_bits=\"10\"",
            Some("permessage-deflate; server_max_window_bits=10")),
        ("smwb quoted with escapes", w15, "permessage-deflate; server_max_window_bits=\"1\\1\"",
            Some("permessage-deflate; server_max_window_bits=11")),
        // 7.1.2.2: client limits only when the client offered the parameter.
        ("cmwb=10 offered", w15, "permessage-deflate; client_max_window_bits=10",
            Some("permessage-deflate; client_max_window_bits=10")),
        ("cmwb=15 offered", w15, "permessage-deflate; client_max_window_bits=15", Some(pmd)),
        ("cmwb quoted", w15, "permessage-deflate; client_max_window_bits=\"9\"",
            Some("permessage-deflate; client_max_window_bits=9")),
        // Declined: section 7.1's list.
        ("unknown param", w15, "permessage-deflate; foo", None),
        ("unknown param with value", w15, "permessage-deflate; foo=1", None),
        ("param name is case-sensitive", w15, "permessage-deflate; Server_No_Context_Takeover", None),
        ("duplicate snct", w15,
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover", None),
        ("duplicate cmwb", w15,
            "permessage-deflate; client_max_window_bits; client_max_window_bits=10", None),
        ("snct with value", w15, "permessage-deflate; server_no_context_takeover=1", None),
        ("cnct with value", w15, "permessage-deflate; client_no_context_takeover=\"x\"", None),
        ("smwb without value", w15, "permessage-deflate; server_max_window_bits", None),
        ("smwb=7", w15, "permessage-deflate; server_max_window_bits=7", None),
        ("smwb=16", w15, "permessage-deflate; server_max_window_bits=16", None),
        ("smwb=0", w15, "permessage-deflate; server_max_window_bits=0", None),
        ("smwb leading zero", w15, "permessage-deflate; server_max_window_bits=010", None),
        ("smwb quoted leading zero", w15, "permessage-deflate; server_max_window_bits=\"09\"", None),
        ("smwb not numeric", w15, "permessage-deflate; server_max_window_bits=ten", None),
        ("smwb signed", w15, "permessage-deflate; server_max_window_bits=+9", None),
        ("cmwb=7", w15, "permessage-deflate; client_max_window_bits=7", None),
        ("cmwb=16", w15, "permessage-deflate; client_max_window_bits=16", None),
        ("cmwb leading zero", w15, "permessage-deflate; client_max_window_bits=08", None),
        // Several offers: the first acceptable one wins.
        ("first declined, second taken", w15,
            "permessage-deflate; foo, permessage-deflate; server_max_window_bits=12",
            Some("permessage-deflate; server_max_window_bits=12")),
        ("first of two valid taken", w15,
            "permessage-deflate; server_max_window_bits=10, permessage-deflate",
            Some("permessage-deflate; server_max_window_bits=10")),
        ("other extension first", w15,
            "x-foo; a=1, permessage-deflate; server_max_window_bits=16, permessage-deflate; client_max_window_bits=12",
            Some("permessage-deflate; client_max_window_bits=12")),
        ("all declined", w15,
            "permessage-deflate; x, permessage-deflate; server_max_window_bits", None),
        // Each policy knob.
        ("own window", config(10, 15, false, false), pmd,
            Some("permessage-deflate; server_max_window_bits=10")),
        ("own window clamped", config(0, 15, false, false), pmd,
            Some("permessage-deflate; server_max_window_bits=8")),
        ("own reset", config(15, 15, true, false), pmd,
            Some("permessage-deflate; server_no_context_takeover")),
        ("peer reset", config(15, 15, false, true), pmd,
            Some("permessage-deflate; client_no_context_takeover")),
        ("peer window, limitable", config(15, 11, false, false),
            "permessage-deflate; client_max_window_bits",
            Some("permessage-deflate; client_max_window_bits=11")),
        ("peer window, offered smaller", config(15, 11, false, false),
            "permessage-deflate; client_max_window_bits=9",
            Some("permessage-deflate; client_max_window_bits=9")),
        ("peer window, not limitable: accepted at 15", config(15, 11, false, false), pmd,
            Some(pmd)),
        ("peer window clamped", config(15, 99, false, false),
            "permessage-deflate; client_max_window_bits", Some(pmd)),
        ("every knob", config(9, 10, true, true),
            "permessage-deflate; client_max_window_bits; server_max_window_bits=12",
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                  server_max_window_bits=9; client_max_window_bits=10")),
    ];
    let defaults: &[(&str, &str, Option<&str>)] = &[
        // The defaults lower both windows to 13 bits: the server's always
        // (7.1.2.1), the client's when it offered the parameter (7.1.2.2).
        (
            "bare",
            pmd,
            Some("permessage-deflate; server_max_window_bits=13"),
        ),
        (
            "browser",
            "permessage-deflate; client_max_window_bits",
            Some("permessage-deflate; server_max_window_bits=13; client_max_window_bits=13"),
        ),
        (
            "smwb=10 offered",
            "permessage-deflate; server_max_window_bits=10",
            Some("permessage-deflate; server_max_window_bits=10"),
        ),
        (
            "cmwb=15 offered",
            "permessage-deflate; client_max_window_bits=15",
            Some("permessage-deflate; server_max_window_bits=13; client_max_window_bits=13"),
        ),
        (
            "snct offered",
            "permessage-deflate; server_no_context_takeover",
            Some("permessage-deflate; server_no_context_takeover; server_max_window_bits=13"),
        ),
    ];
    for (name, offer, expected) in defaults {
        assert_eq!(
            server_answer(&D, offer).as_deref(),
            *expected,
            "default, {name}: {offer}"
        );
    }
    for (name, policy, offer, expected) in table {
        assert_eq!(
            server_answer(policy, offer).as_deref(),
            *expected,
            "{name}: {offer}"
        );
    }
}

#[test]
fn server_answer_params() {
    let request = request_offering(
        "permessage-deflate; client_no_context_takeover; \
         client_max_window_bits=12; server_max_window_bits=10",
    );
    let (_, params) = config(15, 9, false, false)
        .negotiate(request.extensions())
        .unwrap();
    assert_eq!(
        params,
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: true,
            server_max_window_bits: 10,
            client_max_window_bits: 9,
        }
    );
}

// ------------------------------------------------------------ client verdicts

#[test]
fn client_checks_the_answer() {
    use ClientHandshakeError::{ExtensionNotOffered, InvalidExtensionResponse as Invalid};
    let browser = offers("permessage-deflate; client_max_window_bits");
    let bare = offers("permessage-deflate");
    let no_fallback = config(15, 10, false, false).offers()[..1].to_vec();
    let asks = offers("permessage-deflate; server_max_window_bits=10; client_max_window_bits=12");
    let with_fallback = config(15, 10, false, false).offers();
    let snct = config(15, 15, false, true).offers();
    let none: Vec<Extension> = Vec::new();
    type Row<'a> = (
        &'a str,
        &'a [Extension],
        &'a [&'a str],
        Result<Option<DeflateParams>, ClientHandshakeError>,
    );
    let p = |snct, cnct, s, c| {
        Ok(Some(DeflateParams {
            server_no_context_takeover: snct,
            client_no_context_takeover: cnct,
            server_max_window_bits: s,
            client_max_window_bits: c,
        }))
    };
    let d = p(false, false, 15, 15);
    #[rustfmt::skip]
    let table: Vec<Row<'_>> = vec![
        ("no answer", &browser, &[], Ok(None)),
        ("bare", &browser, &["permessage-deflate"], d.clone()),
        ("both resets", &browser,
            &["permessage-deflate; server_no_context_takeover; client_no_context_takeover"],
            p(true, true, 15, 15)),
        ("server limits itself unasked", &browser,
            &["permessage-deflate; server_max_window_bits=9"], p(false, false, 9, 15)),
        ("server limits us", &browser,
            &["permessage-deflate; client_max_window_bits=8"], p(false, false, 15, 8)),
        ("quoted value", &browser,
            &["permessage-deflate; client_max_window_bits=\"10\""], p(false, false, 15, 10)),
        ("OWS and spacing", &browser,
            &["permessage-deflate ;client_max_window_bits = 11"], p(false, false, 15, 11)),
        ("cmwb=15", &browser, &["permessage-deflate; client_max_window_bits=15"], d.clone()),
        // Values in the response.
        ("cmwb valueless", &browser, &["permessage-deflate; client_max_window_bits"], Err(Invalid)),
        ("cmwb=7", &browser, &["permessage-deflate; client_max_window_bits=7"], Err(Invalid)),
        ("cmwb=16", &browser, &["permessage-deflate; client_max_window_bits=16"], Err(Invalid)),
        ("cmwb leading zero", &browser, &["permessage-deflate; client_max_window_bits=09"],
            Err(Invalid)),
        ("smwb valueless", &browser, &["permessage-deflate; server_max_window_bits"], Err(Invalid)),
        ("smwb=7", &browser, &["permessage-deflate; server_max_window_bits=7"], Err(Invalid)),
        ("smwb=16", &browser, &["permessage-deflate; server_max_window_bits=16"], Err(Invalid)),
        ("snct with value", &browser,
            &["permessage-deflate; server_no_context_takeover=1"], Err(Invalid)),
        ("unknown param", &browser, &["permessage-deflate; foo=1"], Err(Invalid)),
        ("duplicate param", &browser,
            &["permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
            Err(Invalid)),
        // Duplicate elements, in one field or two.
        ("two elements", &browser, &["permessage-deflate, permessage-deflate"], Err(Invalid)),
        ("two fields", &browser, &["permessage-deflate", "permessage-deflate"], Err(Invalid)),
        // 7.1.2.2: client_max_window_bits only if offered.
        ("cmwb not offered", &bare, &["permessage-deflate; client_max_window_bits=10"],
            Err(Invalid)),
        ("cmwb larger than offered", &asks,
            &["permessage-deflate; server_max_window_bits=10; client_max_window_bits=13"],
            Err(Invalid)),
        ("cmwb as offered", &asks,
            &["permessage-deflate; server_max_window_bits=10; client_max_window_bits=12"],
            p(false, false, 10, 12)),
        // 7.1.2.1: an asked server limit must be answered, at most as large.
        ("smwb asked, answered smaller", &asks, &["permessage-deflate; server_max_window_bits=8"],
            p(false, false, 8, 15)),
        ("smwb asked, answered larger", &asks, &["permessage-deflate; server_max_window_bits=11"],
            Err(Invalid)),
        ("smwb asked, not answered", &asks, &["permessage-deflate"], Err(Invalid)),
        ("smwb asked, no fallback, not answered", &no_fallback, &["permessage-deflate"],
            Err(Invalid)),
        // The fallback offer makes the unlimited answer fine.
        ("fallback: limited answer", &with_fallback,
            &["permessage-deflate; server_max_window_bits=10"], p(false, false, 10, 15)),
        ("fallback: unlimited answer", &with_fallback, &["permessage-deflate"], d.clone()),
        ("fallback: too large", &with_fallback,
            &["permessage-deflate; server_max_window_bits=12"], p(false, false, 12, 15)),
        // 7.1.1.1: an asked reset must be answered.
        ("snct asked, answered", &snct, &["permessage-deflate; server_no_context_takeover"],
            p(true, false, 15, 15)),
        ("snct asked, not answered", &snct, &["permessage-deflate"], Err(Invalid)),
        // No permessage-deflate offer at all.
        ("not offered", &none, &["permessage-deflate"], Err(ExtensionNotOffered)),
    ];
    for (name, offers, responses, expected) in table {
        let got = client_verdict(offers, responses)
            .map(|r| DeflateParams::from_extensions(&r.negotiated().extensions));
        assert_eq!(got, expected, "{name}: {responses:?}");
    }
}

#[test]
fn fallback_too_large_is_the_fallback_offer() {
    // "fallback: too large" above passes because the fallback offer puts
    // no limit on the server: the first offer alone would refuse it.
    let first = config(15, 10, false, false).offers().remove(0);
    let answer =
        Extension::new("permessage-deflate").with_param_value("server_max_window_bits", "12");
    assert_eq!(DeflateParams::from_response_to(&answer, &[first]), None);
}

#[cfg(feature = "std")]
#[test]
fn the_new_error_reads_well_and_is_invalid_data() {
    let e = ClientHandshakeError::InvalidExtensionResponse;
    assert!(!e.to_string().is_empty());
    let io = std::io::Error::from(e);
    assert_eq!(io.kind(), std::io::ErrorKind::InvalidData);
    let b = BuildError::InvalidExtensionResponse;
    assert_eq!(
        std::io::Error::from(b).kind(),
        std::io::ErrorKind::InvalidInput
    );
}

// ------------------------------------------------------ hand-built answers

#[test]
fn accept_refuses_a_hand_built_answer_that_fits_no_offer() {
    let request = request_offering(
        "permessage-deflate; server_max_window_bits=10, x-other, permessage-deflate; foo",
    );
    let pmd = || Extension::new("permessage-deflate");
    for (name, accept, expected) in [
        (
            "fits",
            Accept::new().extension(pmd().with_param_value("server_max_window_bits", "9")),
            Ok(()),
        ),
        (
            "with another extension",
            Accept::new()
                .extension(Extension::new("x-other"))
                .extension(pmd().with_param_value("server_max_window_bits", "10")),
            Ok(()),
        ),
        (
            "smwb missing",
            Accept::new().extension(pmd()),
            Err(BuildError::InvalidExtensionResponse),
        ),
        (
            "smwb too large",
            Accept::new().extension(pmd().with_param_value("server_max_window_bits", "11")),
            Err(BuildError::InvalidExtensionResponse),
        ),
        (
            "cmwb not offered",
            Accept::new().extension(
                pmd()
                    .with_param_value("server_max_window_bits", "10")
                    .with_param_value("client_max_window_bits", "10"),
            ),
            Err(BuildError::InvalidExtensionResponse),
        ),
        (
            "echoes the declined offer",
            Accept::new().extension(pmd().with_param("foo")),
            Err(BuildError::InvalidExtensionResponse),
        ),
        (
            "twice",
            Accept::new()
                .extension(pmd().with_param_value("server_max_window_bits", "10"))
                .extension(pmd().with_param_value("server_max_window_bits", "10")),
            Err(BuildError::InvalidExtensionResponse),
        ),
        (
            // The config (which would answer too) adds no second element.
            "hand-built under a config that accepts",
            Accept::new().extension(pmd().with_param_value("server_max_window_bits", "10")),
            Ok(()),
        ),
        (
            "not a token still comes first",
            Accept::new().extension(pmd().with_param_value("a", "b c")),
            Err(BuildError::InvalidExtension),
        ),
    ] {
        let mut out = Vec::new();
        let got = agree(&request, &accept, &with(&D), &mut out);
        if let Ok(agreed) = &got {
            // The hand-built answer stands alone: no second element.
            let pmds = agreed
                .extensions
                .iter()
                .filter(|e| e.name() == "permessage-deflate");
            assert_eq!(pmds.count(), 1, "{name}");
        }
        let got = got.map(|_| ());
        assert_eq!(got, expected, "{name}");
        assert_eq!(out.is_empty(), got.is_err(), "{name}");
    }
    // Nothing offered: the name check answers first.
    let plain = request_offering("x-other");
    assert_eq!(
        agree(
            &plain,
            &Accept::new().extension(Extension::new("permessage-deflate")),
            &with(&D),
            &mut Vec::new()
        ),
        Err(BuildError::ExtensionNotOffered)
    );
    assert_eq!(
        agree(&plain, &Accept::new(), &with(&D), &mut Vec::new()).map(|n| n.extensions),
        Ok(Vec::new())
    );
}

#[cfg(feature = "http")]
#[test]
fn the_http_path_runs_the_same_checks() {
    let (request, client) = ClientRequest::new("example.com", NONCE)
        .to_http(&with(&config(11, 10, false, false)))
        .unwrap();
    let offer = Request::from_http(&request).unwrap();
    let bad = Accept::new().extension(Extension::new("permessage-deflate").with_param("foo"));
    assert_eq!(
        offer
            .accept_http(&bad, &with(&D), Instant::ZERO)
            .map(|_| ()),
        Err(BuildError::InvalidExtensionResponse)
    );
    let (_, negotiated, response) = offer
        .accept_http(&Accept::new(), &with(&D), Instant::ZERO)
        .unwrap();
    let checked = client.check_http_response(&response).unwrap();
    assert_eq!(checked.negotiated().extensions, negotiated.extensions);
    assert_eq!(
        DeflateParams::from_extensions(&negotiated.extensions),
        Some(DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 10,
            // The server's own limit: the client offered no value (its 11
            // bits are applied by its compressor).
            client_max_window_bits: 13,
        })
    );

    // A response with a bad element fails the client.
    let mut response = response;
    response.headers_mut().insert(
        "sec-websocket-extensions",
        http::HeaderValue::from_static("permessage-deflate; client_max_window_bits"),
    );
    assert_eq!(
        client.check_http_response(&response).map(|_| ()),
        Err(ClientHandshakeError::InvalidExtensionResponse)
    );
}

// ---------------------------------------------------------------- properties

/// Every config whose knobs matter for negotiation, window bits in range.
fn every_config() -> impl Iterator<Item = DeflateConfig> {
    (0..2 * 8 * 8 * 4).map(|i| {
        let mut c = config(
            8 + (i % 8) as u8,
            8 + (i / 8 % 8) as u8,
            i / 64 % 2 == 1,
            i / 128 % 2 == 1,
        );
        c.enabled = i / 256 % 2 == 0;
        c
    })
}

/// What any client and server configs agree on: the server answers the
/// client's first offer, the client accepts the answer, and the result
/// honours both policies.
fn check_pair(client: &DeflateConfig, server: &DeflateConfig) {
    let offers = client.offers();
    let answer = server.negotiate(&offers);
    if !client.enabled || !server.enabled {
        assert_eq!(answer, None);
        return;
    }
    let (response, params) = answer.expect("our offers are always acceptable");
    assert_eq!(
        DeflateParams::from_response_to(&response, &offers),
        Some(params)
    );
    let clamp = |b: u8| b.clamp(8, 15);
    assert!(params.server_max_window_bits <= clamp(server.max_window_bits));
    assert!(params.server_max_window_bits <= clamp(client.peer_max_window_bits));
    // The client's own limit is not negotiated: its compressor applies it
    // (a smaller window is always allowed), so the agreed value may be
    // larger (the compressor's `window_is_honoured` tests check the rest).
    assert!(params.client_max_window_bits <= clamp(server.peer_max_window_bits));
    assert_eq!(
        params.server_no_context_takeover,
        client.peer_no_context_takeover || server.no_context_takeover
    );
    assert_eq!(
        params.client_no_context_takeover,
        client.no_context_takeover || server.peer_no_context_takeover
    );
}

#[test]
fn every_pair_of_configs_agrees() {
    let all: Vec<DeflateConfig> = every_config().collect();
    for client in &all {
        for server in &all {
            check_pair(client, server);
        }
    }
}

fn any_config() -> impl Strategy<Value = DeflateConfig> {
    (
        any::<bool>(),
        0u8..20,
        0u8..20,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(enabled, own, peer, nct, peer_nct)| {
            let mut c = config(own, peer, nct, peer_nct);
            c.enabled = enabled;
            c
        })
}

/// A permessage-deflate offer from parts that are mostly valid, sometimes
/// not: known and unknown names, values good and bad, repeats.
fn any_offer() -> impl Strategy<Value = Extension> {
    let name = prop_oneof![
        Just("server_no_context_takeover"),
        Just("client_no_context_takeover"),
        Just("server_max_window_bits"),
        Just("client_max_window_bits"),
        Just("foo"),
    ];
    let value = prop_oneof![
        3 => Just(None),
        6 => (8u8..=15).prop_map(|b| Some(b.to_string())),
        1 => prop_oneof![Just("7"), Just("16"), Just("010"), Just("x")]
            .prop_map(|v| Some(v.to_string())),
    ];
    (
        prop_oneof![9 => Just("permessage-deflate"), 1 => Just("x-other")],
        proptest::collection::vec((name, value), 0..5),
    )
        .prop_map(|(ext, params)| {
            params
                .into_iter()
                .fold(Extension::new(ext), |e, (n, v)| match v {
                    Some(v) => e.with_param_value(n, v),
                    None => e.with_param(n),
                })
        })
}

proptest! {
    /// Over the wire: the client offers per its config, the server answers
    /// per its own, and the client's handshake takes the 101 with the
    /// parameters the server computed.
    #[test]
    fn a_server_answer_passes_the_client_handshake(client in any_config(), server in any_config()) {
        check_pair(&client, &server);
        let mut to_server = Vec::new();
        let mut client_hs = ClientRequest::new("example.com", NONCE)
            .write(&with(&client), &mut to_server)
            .unwrap();
        let mut server_hs = ServerHandshake::new(HandshakeLimits::default());
        let Ok(Status::Complete((request, _))) = server_hs.handle_input(&to_server) else {
            panic!("our request is valid");
        };
        let mut to_client = Vec::new();
        let on_server = agree(request, &Accept::new(), &with(&server), &mut to_client).unwrap();
        let Ok(Status::Complete((response, _))) = client_hs.handle_input(&to_client) else {
            panic!("the server's answer is refused");
        };
        let on_client = DeflateParams::from_extensions(&response.negotiated().extensions);
        prop_assert_eq!(on_client, DeflateParams::from_extensions(&on_server.extensions));
        prop_assert_eq!(on_client, server.negotiate(&client.offers()).map(|(_, p)| p));
    }

    /// Whatever offers arrive, valid or not, an answer the server gives is
    /// one the client that made them accepts, with the same parameters, and
    /// it answers the first offer that is acceptable at all.
    #[test]
    fn any_answer_is_accepted_by_the_offerer(
        offers in proptest::collection::vec(any_offer(), 0..4),
        server in any_config(),
    ) {
        match server.negotiate(&offers) {
            Some((response, params)) => {
                prop_assert_eq!(DeflateParams::from_response(&response), Some(params));
                prop_assert_eq!(DeflateParams::from_response_to(&response, &offers), Some(params));
                // The first offer the default server takes is the one answered.
                let first = offers.iter().position(|o| D.negotiate(core::slice::from_ref(o)).is_some());
                let first = first.expect("an offer was acceptable");
                prop_assert_eq!(
                    DeflateParams::from_response_to(&response, &offers[first..=first]),
                    Some(params)
                );
            }
            None => prop_assert!(
                !server.enabled
                    || offers.iter().all(|o| D.negotiate(core::slice::from_ref(o)).is_none())
            ),
        }
    }
}

// ------------------------------------------------------------------ tokio

#[cfg(feature = "tokio")]
mod tokio_driver {
    use super::*;
    use tokio::io::duplex;
    use wscore::Config;
    use wscore::tokio::{Options, WebSocket};

    /// Run both handshakes over a pipe; the offers the server saw and the
    /// extensions the client ended with.
    async fn run(
        client_config: &Config,
        server_config: &Config,
        request: ClientRequest,
    ) -> (Vec<Extension>, Vec<Extension>) {
        let (a, b) = duplex(64 << 10);
        let mut seen = Vec::new();
        let server = WebSocket::accept_with(b, server_config, Options::default(), |r| {
            seen = r.extensions().to_vec();
            Ok(Accept::new())
        });
        let client = WebSocket::connect(
            a,
            &request,
            || [1, 2, 3, 4],
            client_config,
            Options::default(),
        );
        let (server, client) = tokio::join!(server, client);
        server.unwrap();
        let (_, response) = client.unwrap();
        (seen, response.negotiated().extensions.clone())
    }

    #[tokio::test]
    async fn connect_and_accept_negotiate_per_config() {
        let plain = || ClientRequest::new("example.com", NONCE);
        let on = Config::default();
        let off = Config::default().with_deflate(DeflateConfig::DISABLED);
        let small = Config::default().with_deflate(config(15, 10, false, false));

        let (seen, got) = run(&on, &on, plain()).await;
        assert_eq!(seen, D.offers());
        assert_eq!(
            got,
            [Extension::new("permessage-deflate")
                .with_param_value("server_max_window_bits", "13")
                .with_param_value("client_max_window_bits", "13")]
        );

        let (seen, got) = run(&off, &on, plain()).await;
        assert!(seen.is_empty() && got.is_empty());

        let (seen, got) = run(&on, &off, plain()).await;
        assert_eq!(seen, D.offers());
        assert!(got.is_empty());

        let (seen, got) = run(&on, &small, plain()).await;
        assert_eq!(seen, D.offers());
        assert_eq!(
            got,
            [
                // 13: what the default client asked of the server.
                Extension::new("permessage-deflate")
                    .with_param_value("server_max_window_bits", "13")
                    .with_param_value("client_max_window_bits", "10")
            ]
        );

        // An offer the application made itself is left alone.
        let own = plain().extension(Extension::new("permessage-deflate"));
        let (seen, got) = run(&on, &on, own).await;
        assert_eq!(seen, [Extension::new("permessage-deflate")]);
        assert_eq!(
            got,
            [
                Extension::new("permessage-deflate")
                    .with_param_value("server_max_window_bits", "13")
            ]
        );
    }
}
