//! The extended CONNECT handshake (RFC 8441 over HTTP/2, RFC 9220 over
//! HTTP/3): which requests and responses each side accepts, on field lists
//! and on `http` types alike, and that a client's request, the server's
//! answer and the client's check end in two connections that talk, with
//! and without permessage-deflate.

mod common;

use http::{Method, Uri, Version};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::subsequence;

use common::handshake::plain;
use common::{Ev, Pair, counter_mask};
use wscore::handshake::client::{ClientHandshake, ClientRequest, Response};
use wscore::handshake::server::{Accept, Reject, Request, ServerHandshake};
use wscore::handshake::{
    BuildError, CONNECT_PROTOCOL, ClientHandshakeError, ExtendedConnectError, Extension,
    HandshakeLimits, Headers, Status,
};
use wscore::{CloseCode, ClosedReason, Config, Instant, Role};

type Field = (&'static str, &'static [u8]);

/// A valid extended CONNECT request, pseudo-headers first (RFC 8441
/// section 5.1's example, without the offers).
fn valid() -> Vec<Field> {
    vec![
        (":method", b"CONNECT"),
        (":protocol", b"websocket"),
        (":scheme", b"https"),
        (":path", b"/chat"),
        (":authority", b"server.example.com"),
        ("sec-websocket-version", b"13"),
    ]
}

fn without(name: &str) -> Vec<Field> {
    valid().into_iter().filter(|(n, _)| *n != name).collect()
}

fn replaced(name: &str, value: &'static [u8]) -> Vec<Field> {
    valid()
        .into_iter()
        .map(|(n, v)| if n == name { (n, value) } else { (n, v) })
        .collect()
}

fn with(extra: &[Field]) -> Vec<Field> {
    let mut fields = valid();
    fields.extend_from_slice(extra);
    fields
}

fn pairs(fields: &[Field]) -> impl Iterator<Item = (&[u8], &[u8])> {
    fields.iter().map(|(n, v)| (n.as_bytes(), *v))
}

fn header_pairs(fields: &Headers) -> Vec<(&[u8], &[u8])> {
    fields
        .iter()
        .map(|f| (f.name().as_bytes(), f.value()))
        .collect()
}

fn by_fields(fields: &[Field]) -> Result<Request, ExtendedConnectError> {
    Request::from_extended_connect_fields(pairs(fields))
}

/// The same request as an HTTP/2 library hands it over, with the
/// `:protocol` value apart; `None` when the `http` crate cannot hold it
/// (no method, a URI it refuses, a pseudo-header out of place...).
fn by_http(fields: &[Field]) -> Option<Result<Request, ExtendedConnectError>> {
    let mut builder = http::Request::builder().version(Version::HTTP_2);
    let mut uri = Uri::builder();
    let mut protocol = None;
    let mut has_method = false;
    let mut regular = false;
    for &(name, value) in fields {
        let text = std::str::from_utf8(value).ok()?;
        match name {
            ":method" if !regular => {
                builder = builder.method(Method::from_bytes(value).ok()?);
                has_method = true;
            }
            ":protocol" if !regular => protocol = Some(text),
            ":scheme" if !regular => uri = uri.scheme(text),
            ":path" if !regular => uri = uri.path_and_query(text),
            ":authority" if !regular => uri = uri.authority(text),
            _ if name.starts_with(':') => return None,
            _ => {
                regular = true;
                builder = builder.header(name, value);
            }
        }
    }
    if !has_method {
        return None;
    }
    let request = builder.uri(uri.build().ok()?).body(()).ok()?;
    Some(Request::from_extended_connect(&request, protocol))
}

/// What a request says, for comparing the two paths.
fn summary(r: &Request) -> (String, String, Option<String>, Vec<String>, Vec<Extension>) {
    (
        r.target().into(),
        r.host().into(),
        r.origin().map(Into::into),
        r.protocols().to_vec(),
        r.extensions().to_vec(),
    )
}

#[test]
fn valid_requests_are_accepted_the_same_both_ways() {
    let cases: Vec<Vec<Field>> = vec![
        valid(),
        replaced(":scheme", b"http"),
        replaced(":scheme", b"HTTPS"),
        replaced(":protocol", b"WebSocket"),
        replaced(":path", b"/chat?room=1&x=%20"),
        replaced(":authority", b"[::1]:8443"),
        replaced(":authority", b"example.com:"),
        // Pseudo-headers in any order among themselves.
        vec![
            (":authority", b"server.example.com"),
            (":path", b"/chat"),
            (":scheme", b"https"),
            (":protocol", b"websocket"),
            (":method", b"CONNECT"),
            ("sec-websocket-version", b"13"),
        ],
        // RFC 8441 section 5: the key is not used, and ignored if sent.
        with(&[("sec-websocket-key", b"not even base64")]),
        with(&[("host", b"SERVER.example.com")]),
        with(&[("te", b"trailers")]),
        with(&[
            ("origin", b"https://example.com"),
            ("sec-websocket-protocol", b"chat, superchat"),
            ("sec-websocket-protocol", b"v3"),
            (
                "sec-websocket-extensions",
                b"permessage-deflate; client_max_window_bits, x-ext; a=\"b\"",
            ),
            ("cookie", b"a=1"),
        ]),
    ];
    for fields in cases {
        let request = by_fields(&fields).unwrap_or_else(|e| panic!("{fields:?}: {e}"));
        assert!(request.is_extended_connect());
        assert_eq!(request.key(), "");
        let path = fields.iter().find(|f| f.0 == ":path").unwrap().1;
        assert_eq!(request.target().as_bytes(), path);
        let on_http = by_http(&fields).expect("representable").unwrap();
        assert_eq!(summary(&on_http), summary(&request), "{fields:?}");
        assert_eq!(on_http.scheme(), request.scheme());
    }
    let offered = by_fields(&with(&[
        ("sec-websocket-protocol", b"chat, superchat"),
        ("sec-websocket-protocol", b"v3"),
    ]))
    .unwrap();
    assert_eq!(offered.protocols(), ["chat", "superchat", "v3"]);
    assert_eq!(offered.scheme(), Some("https"));
    assert_eq!(offered.host(), "server.example.com");
    assert_eq!(offered.path(), "/chat");
}

#[test]
fn invalid_requests_are_refused_with_their_error_both_ways() {
    use ExtendedConnectError as E;
    let cases: Vec<(Vec<Field>, ExtendedConnectError)> = vec![
        (replaced(":method", b"GET"), E::MethodNotAllowed),
        (replaced(":method", b"connect"), E::MethodNotAllowed),
        (without(":protocol"), E::MissingProtocol),
        (
            replaced(":protocol", b"webtransport"),
            E::ProtocolNotWebSocket,
        ),
        (
            replaced(":protocol", b"websocket2"),
            E::ProtocolNotWebSocket,
        ),
        (without(":scheme"), E::InvalidScheme),
        (replaced(":scheme", b"wss"), E::InvalidScheme),
        (replaced(":scheme", b"ftp"), E::InvalidScheme),
        (without(":path"), E::InvalidPath),
        (replaced(":path", b"chat"), E::InvalidPath),
        (replaced(":path", b"*"), E::InvalidPath),
        (without(":authority"), E::InvalidAuthority),
        (
            replaced(":authority", b"user@server.example.com"),
            E::InvalidAuthority,
        ),
        (
            replaced(":authority", b"server.example.com:99999"),
            E::InvalidAuthority,
        ),
        (with(&[("host", b"other.example.com")]), E::InvalidAuthority),
        (
            with(&[
                ("host", b"server.example.com"),
                ("host", b"server.example.com"),
            ]),
            E::InvalidAuthority,
        ),
        (
            with(&[("connection", b"upgrade")]),
            E::ConnectionSpecificField,
        ),
        (
            with(&[("upgrade", b"websocket")]),
            E::ConnectionSpecificField,
        ),
        (with(&[("keep-alive", b"5")]), E::ConnectionSpecificField),
        (
            with(&[("proxy-connection", b"x")]),
            E::ConnectionSpecificField,
        ),
        (
            with(&[("transfer-encoding", b"chunked")]),
            E::ConnectionSpecificField,
        ),
        (with(&[("te", b"gzip")]), E::ConnectionSpecificField),
        (without("sec-websocket-version"), E::UnsupportedVersion),
        (
            replaced("sec-websocket-version", b"8"),
            E::UnsupportedVersion,
        ),
        (
            with(&[("sec-websocket-version", b"13")]),
            E::UnsupportedVersion,
        ),
        (
            with(&[("origin", b"a"), ("origin", b"b")]),
            E::InvalidOrigin,
        ),
        (
            with(&[("sec-websocket-protocol", b"a b")]),
            E::InvalidProtocols,
        ),
        (
            with(&[("sec-websocket-protocol", b",")]),
            E::InvalidProtocols,
        ),
        (
            with(&[("sec-websocket-extensions", b"; x")]),
            E::InvalidExtensions,
        ),
        (
            with(&[("sec-websocket-extensions", b"x; a=\"")]),
            E::InvalidExtensions,
        ),
        // The method is checked before `:protocol`, and so on down.
        (
            vec![(":method", b"GET"), ("sec-websocket-version", b"8")],
            E::MethodNotAllowed,
        ),
    ];
    let mut on_http_too = 0;
    for (fields, expected) in &cases {
        assert_eq!(by_fields(fields).err(), Some(*expected), "{fields:?}");
        if let Some(on_http) = by_http(fields) {
            assert_eq!(on_http.err(), Some(*expected), "http: {fields:?}");
            on_http_too += 1;
        }
    }
    // Only what the `http` crate cannot hold (a scheme without an
    // authority, a relative path...) is checked on field lists alone.
    assert!(
        on_http_too + 6 >= cases.len(),
        "{on_http_too} of {}",
        cases.len()
    );
}

#[test]
fn field_lists_that_break_http2_rules_are_malformed() {
    let mut late_pseudo = valid();
    late_pseudo.swap(4, 5);
    let cases: Vec<Vec<Field>> = vec![
        late_pseudo,
        with(&[(":path", b"/again")]),
        with(&[(":status", b"200")]),
        with(&[(":foo", b"x")]),
        without(":method"),
        with(&[("Origin", b"https://example.com")]),
        with(&[("bad name", b"x")]),
        with(&[("x", b"a\r\nb")]),
        with(&[("x", b" padded")]),
        replaced(":path", b"/chat\0"),
    ];
    for fields in cases {
        assert_eq!(
            by_fields(&fields).err(),
            Some(ExtendedConnectError::Malformed),
            "{fields:?}"
        );
    }
}

#[test]
fn an_http1_request_is_not_an_extended_connect() {
    for version in [Version::HTTP_10, Version::HTTP_11] {
        let request = http::Request::builder()
            .method(Method::CONNECT)
            .version(version)
            .uri("https://server.example.com/chat")
            .header("sec-websocket-version", "13")
            .body(())
            .unwrap();
        assert_eq!(
            Request::from_extended_connect(&request, Some("websocket")).err(),
            Some(ExtendedConnectError::HttpVersion)
        );
    }
    // HTTP/3 is RFC 9220's: the same rules.
    let request = http::Request::builder()
        .method(Method::CONNECT)
        .version(Version::HTTP_3)
        .uri("https://server.example.com/chat")
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    assert!(Request::from_extended_connect(&request, Some("websocket")).is_ok());
    let (parts, ()) = request.into_parts();
    assert!(Request::from_extended_connect_parts(&parts, Some("websocket")).is_ok());
}

#[test]
fn refusals_name_their_status_and_carry_no_connection_specific_field() {
    use ExtendedConnectError as E;
    for (error, status, extra) in [
        (E::Malformed, 400, None),
        (E::HttpVersion, 400, None),
        (E::MethodNotAllowed, 405, Some(("allow", "CONNECT"))),
        (E::MissingProtocol, 400, None),
        (E::ProtocolNotWebSocket, 400, None),
        (E::InvalidScheme, 400, None),
        (E::InvalidPath, 400, None),
        (E::InvalidAuthority, 400, None),
        (E::ConnectionSpecificField, 400, None),
        (
            E::UnsupportedVersion,
            400,
            Some(("sec-websocket-version", "13")),
        ),
        (E::InvalidOrigin, 400, None),
        (E::InvalidProtocols, 400, None),
        (E::InvalidExtensions, 400, None),
    ] {
        assert_eq!(error.status(), status);
        let fields = error.response_fields();
        let first = fields.iter().next().unwrap();
        assert_eq!(first.name(), ":status");
        assert_eq!(first.value(), status.to_string().as_bytes());
        let response = error.to_http_response();
        assert_eq!(response.status(), status);
        assert_eq!(response.body(), &format!("{}\n", error.reason()));
        for name in ["connection", "upgrade", "content-length"] {
            assert!(!fields.contains(name) && !response.headers().contains_key(name));
        }
        for field in fields.iter().skip(1) {
            assert_eq!(field.name(), field.name().to_ascii_lowercase());
            assert_eq!(response.headers()[field.name()].as_bytes(), field.value());
        }
        assert_eq!(fields.len(), response.headers().len() + 1);
        if let Some((name, value)) = extra {
            assert_eq!(fields.get(name), Some(value.as_bytes()), "{error:?}");
        }
        assert!(!error.to_string().is_empty());
    }
}

#[test]
fn each_request_is_answered_only_by_its_own_handshake() {
    let extended = by_fields(&valid()).unwrap();
    let mut out = Vec::new();
    let refused = extended.accept(&Accept::new(), &plain(), Instant::ZERO, &[], &mut out);
    assert_eq!(refused.err(), Some(BuildError::WrongHttpVersion));
    assert!(out.is_empty());

    let mut bytes = Vec::new();
    let _ = ClientRequest::new("h", [0; 16])
        .write(&plain(), &mut bytes)
        .unwrap();
    let mut server = ServerHandshake::new(HandshakeLimits::default());
    let Ok(Status::Complete((upgrade, _))) = server.handle_input(&bytes) else {
        panic!("a valid upgrade");
    };
    assert!(!upgrade.is_extended_connect());
    assert_eq!(upgrade.scheme(), None);
    assert_eq!(
        upgrade
            .accept_fields(&Accept::new(), &plain(), Instant::ZERO)
            .err(),
        Some(BuildError::WrongHttpVersion)
    );
    // The 101 of the upgrade still comes from `accept_http`.
    let (_, _, response) = upgrade
        .accept_http(&Accept::new(), &plain(), Instant::ZERO)
        .unwrap();
    assert_eq!(response.status(), 101);
}

/// A client handshake for an extended CONNECT offering `v1`, `v2` and
/// permessage-deflate (by hand, so the test does not depend on the
/// `deflate` feature's defaults), and another for the HTTP/1.1 upgrade.
fn clients() -> (ClientHandshake, ClientHandshake) {
    let request = ClientRequest::new("server.example.com", [3; 16])
        .protocol("v1")
        .protocol("v2")
        .extension(Extension::new("permessage-deflate").with_param("client_max_window_bits"));
    let (_, extended) = request
        .to_extended_connect_fields(&plain(), "https")
        .unwrap();
    let upgrade = request.write(&plain(), &mut Vec::new()).unwrap();
    (extended, upgrade)
}

fn check(client: &ClientHandshake, fields: &[Field]) -> Result<Response, ClientHandshakeError> {
    client.check_response_fields(pairs(fields))
}

fn check_http(
    client: &ClientHandshake,
    fields: &[Field],
) -> Result<Response, ClientHandshakeError> {
    let mut response = http::Response::builder().version(Version::HTTP_2);
    for &(name, value) in fields {
        response = match name {
            ":status" => response.status(value),
            _ => response.header(name, value),
        };
    }
    client.check_http_response(&response.body(()).unwrap())
}

#[test]
fn the_client_accepts_exactly_a_200_with_answers_it_offered() {
    use ClientHandshakeError as C;
    let (client, upgrade) = clients();
    assert!(client.is_extended_connect() && !upgrade.is_extended_connect());
    let ok = |fields: Vec<Field>| {
        let on_fields = check(&client, &fields).unwrap().into_negotiated();
        let on_http = check_http(&client, &fields).unwrap().into_negotiated();
        assert_eq!(on_fields, on_http);
        on_fields
    };
    let agreed = ok(vec![(":status", b"200")]);
    assert_eq!((agreed.protocol, agreed.extensions.len()), (None, 0));
    let agreed = ok(vec![
        (":status", b"200"),
        ("sec-websocket-protocol", b"v2"),
        ("sec-websocket-extensions", b"permessage-deflate"),
        ("sec-websocket-accept", b"ignored"),
        ("set-cookie", b"a=1"),
    ]);
    assert_eq!(agreed.protocol.as_deref(), Some("v2"));
    assert_eq!(agreed.extensions[0].name(), "permessage-deflate");

    // RFC 8441 section 5 answers 200; any other status, 2xx included, is
    // a refusal the application may read.
    for status in [&b"201"[..], b"204", b"206", b"101", b"301", b"400", b"404"] {
        let fields = [(":status", status), ("location", &b"/elsewhere"[..])];
        let expected: u16 = std::str::from_utf8(status).unwrap().parse().unwrap();
        for got in [check(&client, &fields), check_http(&client, &fields)] {
            match got {
                Err(C::Status(rejected)) => {
                    assert_eq!(rejected.status(), expected);
                    assert_eq!(rejected.headers().get("location"), Some(&b"/elsewhere"[..]));
                }
                other => panic!("{expected}: {other:?}"),
            }
        }
    }

    let refused: Vec<(Vec<Field>, ClientHandshakeError)> = vec![
        (
            vec![(":status", b"200"), ("sec-websocket-protocol", b"v3")],
            C::ProtocolNotOffered,
        ),
        (
            vec![(":status", b"200"), ("sec-websocket-protocol", b"v1, v2")],
            C::ProtocolNotOffered,
        ),
        (
            vec![(":status", b"200"), ("sec-websocket-extensions", b"x-ext")],
            C::ExtensionNotOffered,
        ),
        (
            vec![(":status", b"200"), ("sec-websocket-extensions", b";")],
            C::InvalidExtensions,
        ),
    ];
    #[cfg(feature = "deflate")]
    let refused = {
        let mut refused = refused;
        for answer in [
            &b"permessage-deflate, permessage-deflate"[..],
            b"permessage-deflate; server_max_window_bits=16",
            b"permessage-deflate; client_max_window_bits=7",
            b"permessage-deflate; x=1",
        ] {
            refused.push((
                vec![(":status", b"200"), ("sec-websocket-extensions", answer)],
                C::InvalidExtensionResponse,
            ));
        }
        refused
    };
    for (fields, expected) in refused {
        assert_eq!(
            check(&client, &fields).err(),
            Some(expected.clone()),
            "{fields:?}"
        );
        assert_eq!(
            check_http(&client, &fields).err(),
            Some(expected),
            "http: {fields:?}"
        );
    }
}

#[test]
fn the_client_refuses_malformed_lists_and_answers_of_another_handshake() {
    let (client, upgrade) = clients();
    for fields in [
        vec![],
        vec![("sec-websocket-protocol", b"v1")],
        vec![(":status", b"2000")],
        vec![(":status", b"2x0")],
        vec![(":status", b"050")],
        vec![(":status", b"200"), (":status", b"200")],
        vec![(":status", b"200"), (":path", b"/")],
        vec![("x", b"1"), (":status", b"200")],
        vec![(":status", b"200"), ("X-Upper", b"1")],
    ] as [Vec<Field>; 9]
    {
        assert_eq!(
            check(&client, &fields).err(),
            Some(ClientHandshakeError::Malformed),
            "{fields:?}"
        );
    }
    // A handshake that sent the HTTP/1.1 upgrade takes no field list...
    assert_eq!(
        check(&upgrade, &[(":status", b"200")]).err(),
        Some(ClientHandshakeError::HttpVersion)
    );
    // ...and one that sent an extended CONNECT no HTTP/1.x answer.
    let mut bytes_client = client.clone();
    assert_eq!(
        bytes_client.handle_input(b"HTTP/1.1 200 OK\r\n\r\n").err(),
        Some(ClientHandshakeError::HttpVersion)
    );
    let http1 = http::Response::builder()
        .version(Version::HTTP_11)
        .body(())
        .unwrap();
    assert_eq!(
        client.check_http_response(&http1).err(),
        Some(ClientHandshakeError::HttpVersion)
    );
}

#[test]
fn the_client_refuses_what_extended_connect_cannot_carry() {
    let request = ClientRequest::new("server.example.com", [0; 16]);
    for scheme in ["ws", "wss", "ftp", ""] {
        assert_eq!(
            request.to_extended_connect_fields(&plain(), scheme).err(),
            Some(BuildError::InvalidScheme)
        );
        assert_eq!(
            request.to_extended_connect(&plain(), scheme).err(),
            Some(BuildError::InvalidScheme)
        );
    }
    let bad_host = ClientRequest::new("user@host", [0; 16]);
    assert_eq!(
        bad_host.to_extended_connect(&plain(), "https").err(),
        Some(BuildError::InvalidHost)
    );
    let reserved = ClientRequest::new("h", [0; 16]).header("Upgrade", "websocket");
    assert_eq!(
        reserved.to_extended_connect(&plain(), "https").err(),
        Some(BuildError::ReservedHeader)
    );
}

#[test]
fn the_client_request_is_rfc_8441_section_5_1() {
    let request = ClientRequest::new("server.example.com", [9; 16])
        .target("/chat")
        .origin("http://www.example.com")
        .protocol("chat")
        .protocol("superchat");
    let (fields, _) = request
        .to_extended_connect_fields(&plain(), "https")
        .unwrap();
    let got: Vec<(String, String)> = fields
        .iter()
        .map(|f| (f.name().into(), f.value_str().unwrap().into()))
        .collect();
    let expected = [
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "https"),
        (":authority", "server.example.com"),
        (":path", "/chat"),
        ("sec-websocket-version", "13"),
        ("origin", "http://www.example.com"),
        ("sec-websocket-protocol", "chat, superchat"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(n, v)| ((*n).into(), (*v).into()))
        .collect();
    assert_eq!(got, expected);

    let (http_request, _) = request.to_extended_connect(&plain(), "https").unwrap();
    assert_eq!(http_request.method(), Method::CONNECT);
    assert_eq!(http_request.version(), Version::HTTP_2);
    assert_eq!(http_request.uri(), "https://server.example.com/chat");
    let names: Vec<&str> = http_request.headers().keys().map(|n| n.as_str()).collect();
    assert_eq!(
        names,
        ["sec-websocket-version", "origin", "sec-websocket-protocol"]
    );
    assert_eq!(CONNECT_PROTOCOL, "websocket");
}

/// What a client offers in the round trip.
#[derive(Clone, Debug)]
struct Offer {
    path: String,
    origin: Option<String>,
    protocols: Vec<String>,
    extras: Vec<(String, String)>,
    https: bool,
    deflate: bool,
    http_types: bool,
}

fn offer() -> impl Strategy<Value = Offer> {
    (
        "/[a-z0-9/]{0,12}(\\?[a-z=&]{0,8})?",
        option::of("https://[a-z]{1,8}\\.example"),
        subsequence(vec!["chat", "v1.chat", "mqtt", "graphql-ws"], 0..4),
        vec(("x-[a-z]{1,8}", "[!-~]{1,16}"), 0..3),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(path, origin, protocols, extras, https, deflate, http_types)| Offer {
                path,
                origin,
                protocols: protocols.into_iter().map(String::from).collect(),
                extras,
                https,
                deflate,
                http_types,
            },
        )
}

fn config(deflate: bool) -> Config {
    if deflate { Config::default() } else { plain() }
}

proptest! {
    /// Client request -> server answer -> client check, on field lists or
    /// on `http` types: the server sees what the client offered, both
    /// agree, and a message crosses each way through the two connections
    /// (compressed when deflate was agreed).
    #[test]
    fn round_trip_client_request_server_answer_client_check(
        offer in offer(),
        choice in any::<prop::sample::Index>(),
        text in "[ -~]{0,64}",
        binary in vec(any::<u8>(), 0..64),
    ) {
        let config = config(offer.deflate);
        let scheme = if offer.https { "https" } else { "http" };
        let mut request = ClientRequest::new("server.example.com:8443", [1; 16])
            .target(offer.path.clone());
        if let Some(origin) = &offer.origin {
            request = request.origin(origin.clone());
        }
        for p in &offer.protocols {
            request = request.protocol(p.clone());
        }
        for (n, v) in &offer.extras {
            request = request.header(n.clone(), v.clone());
        }
        let chosen = (!offer.protocols.is_empty())
            .then(|| offer.protocols[choice.index(offer.protocols.len())].clone());
        let mut accept = Accept::new();
        if let Some(p) = &chosen {
            accept = accept.protocol(p.clone());
        }
        let now = Instant::ZERO;

        let (server, on_server, on_client) = if offer.http_types {
            let (http_request, client) = request.to_extended_connect(&config, scheme).unwrap();
            let seen = Request::from_extended_connect(&http_request, Some(CONNECT_PROTOCOL)).unwrap();
            prop_assert_eq!(seen.target(), offer.path.as_str());
            prop_assert_eq!(seen.host(), "server.example.com:8443");
            prop_assert_eq!(seen.scheme(), Some(scheme));
            prop_assert_eq!(seen.origin(), offer.origin.as_deref());
            prop_assert_eq!(seen.protocols(), offer.protocols.as_slice());
            let (server, agreed, response) = seen.accept_http(&accept, &config, now).unwrap();
            prop_assert_eq!(response.status(), 200);
            prop_assert!(!response.headers().contains_key("sec-websocket-accept"));
            let checked = client.check_http_response(&response).unwrap();
            (server, agreed, checked)
        } else {
            let (fields, client) = request.to_extended_connect_fields(&config, scheme).unwrap();
            let seen = Request::from_extended_connect_fields(header_pairs(&fields)).unwrap();
            prop_assert_eq!(seen.target(), offer.path.as_str());
            prop_assert_eq!(seen.protocols(), offer.protocols.as_slice());
            let (server, agreed, response) = seen.accept_fields(&accept, &config, now).unwrap();
            prop_assert_eq!(response.iter().next().map(|f| f.value()), Some(&b"200"[..]));
            let checked = client.check_response_fields(header_pairs(&response)).unwrap();
            (server, agreed, checked)
        };
        prop_assert_eq!(&on_client.negotiated().protocol, &chosen);
        prop_assert_eq!(&on_client.negotiated().protocol, &on_server.protocol);
        prop_assert_eq!(&on_client.negotiated().extensions, &on_server.extensions);
        prop_assert_eq!(
            on_server.extensions.iter().any(|e| e.name() == "permessage-deflate"),
            offer.deflate && cfg!(feature = "deflate")
        );

        let client = on_client.open(now, &[], counter_mask());
        prop_assert_eq!((client.role(), server.role()), (Role::Client, Role::Server));
        let mut pair = Pair::from_connections(client, server);
        pair.client.send_text(&text).unwrap();
        pair.server.send_binary(&binary).unwrap();
        pair.drive();
        prop_assert_eq!(pair.take_server_events(), vec![Ev::Text(text.clone())]);
        prop_assert_eq!(pair.take_client_events(), vec![Ev::Binary(binary.clone())]);
        // With deflate agreed the frames say so (RSV1), else they do not.
        let compressed = |wire: &[u8]| !wire.is_empty() && wire[0] & 0x40 != 0;
        if !text.is_empty() {
            prop_assert_eq!(
                compressed(&pair.client_wire),
                offer.deflate && cfg!(feature = "deflate")
            );
        }
    }
}

#[test]
fn an_application_refusal_carries_no_connection_field() {
    let reject = Reject::new(403)
        .header("WWW-Authenticate", "Bearer")
        .body("go away");
    let fields = reject.response_fields().unwrap();
    let got: Vec<(&str, &[u8])> = fields.iter().map(|f| (f.name(), f.value())).collect();
    assert_eq!(
        got,
        [(":status", &b"403"[..]), ("www-authenticate", b"Bearer")]
    );
    let response = reject.to_extended_connect_response().unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(response.body(), b"go away");
    assert_eq!(response.headers().len(), 1);
    assert!(!response.headers().contains_key("connection"));
    for bad in [
        Reject::new(101),
        Reject::new(400).header("Connection", "close"),
    ] {
        assert!(bad.response_fields().is_err());
        assert!(bad.to_extended_connect_response().is_err());
    }
}

/// Two connections through the field-list handshake, without deflate.
fn connected() -> Pair {
    let (fields, client) = ClientRequest::new("h", [0; 16])
        .to_extended_connect_fields(&plain(), "https")
        .unwrap();
    let seen = Request::from_extended_connect_fields(header_pairs(&fields)).unwrap();
    let (server, _, response) = seen
        .accept_fields(&Accept::new(), &plain(), Instant::ZERO)
        .unwrap();
    let client = client
        .check_response_fields(header_pairs(&response))
        .unwrap()
        .open(Instant::ZERO, &[], counter_mask());
    Pair::from_connections(client, server)
}

#[test]
fn end_stream_is_the_transport_s_end() {
    // RFC 8441 section 5: END_STREAM is what TCP's FIN was. After the
    // close handshake it ends the connection cleanly...
    let mut pair = connected();
    pair.client
        .close(pair.now, CloseCode::NORMAL, "bye")
        .unwrap();
    pair.drive();
    pair.server.handle_eof(pair.now);
    pair.server_closes_transport();
    let clean = Ev::Closed(ClosedReason::Clean {
        code: CloseCode::NORMAL,
    });
    assert_eq!(pair.take_client_events().last(), Some(&clean));
    assert!(pair.server.is_closed());
    // ...and before it, as a reset does, it is an abnormal end (1006).
    let mut pair = connected();
    pair.server.handle_eof(pair.now);
    assert_eq!(
        common::events(&mut pair.server),
        [Ev::Closed(ClosedReason::Eof)]
    );
}
