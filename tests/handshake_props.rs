//! Properties of the opening handshake: whatever a client builds, the server
//! accepts, and whatever the server answers, the client accepts; the server
//! accepts a Host or target authority exactly when a reference predicate
//! written apart from the crate does; and both parsers give the same outcome
//! however their input is split.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

use common::authority::reference_authority;
use common::handshake::{accept_plain, plain};
use wscore::frame::Status;
use wscore::handshake::client::{ClientHandshake, ClientRequest, Response};
use wscore::handshake::server::{Accept, Request, ServerHandshake};
use wscore::handshake::{ClientHandshakeError, Extension, HandshakeError, HandshakeLimits};

const TCHARS: &str = "[a-zA-Z0-9!#$%&'*+.^_`|~-]";

fn token() -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("{TCHARS}{{1,12}}")).expect("the token regex is valid")
}

fn extension() -> impl Strategy<Value = Extension> {
    (token(), vec((token(), option::of(token())), 0..4)).prop_map(|(name, params)| {
        params
            .into_iter()
            .fold(Extension::new(name), |ext, (p, v)| match v {
                Some(v) => ext.with_param_value(p, v),
                None => ext.with_param(p),
            })
    })
}

/// Extra header names never collide with the ones the handshake writes,
/// thanks to the `X-` prefix.
fn extra_header() -> impl Strategy<Value = (String, String)> {
    (
        token().prop_map(|t| format!("X-{t}")),
        // Visible ASCII with inner spaces and tabs, or empty.
        "([!-~]([ \t!-~]{0,30}[!-~])?)?",
    )
}

#[derive(Clone, Debug)]
struct Offer {
    host: String,
    target: String,
    origin: Option<String>,
    protocols: Vec<String>,
    extensions: Vec<Extension>,
    headers: Vec<(String, String)>,
    nonce: [u8; 16],
}

impl Offer {
    fn request(&self) -> ClientRequest {
        let mut r = ClientRequest::new(self.host.clone(), self.nonce).target(self.target.clone());
        if let Some(o) = &self.origin {
            r = r.origin(o.clone());
        }
        for p in &self.protocols {
            r = r.protocol(p.clone());
        }
        for e in &self.extensions {
            r = r.extension(e.clone());
        }
        for (n, v) in &self.headers {
            r = r.header(n.clone(), v.clone());
        }
        r
    }
}

/// A host name with an optional port, a valid authority however drawn.
fn host() -> impl Strategy<Value = String> {
    ("[a-z0-9.-]{1,30}", option::of(any::<u16>())).prop_map(|(name, port)| match port {
        Some(port) => format!("{name}:{port}"),
        None => name,
    })
}

fn offer() -> impl Strategy<Value = Offer> {
    (
        host(),
        "/[!-~]{0,40}",
        option::of("https?://[a-z0-9.-]{1,20}"),
        btree_set(token(), 0..6),
        vec(extension(), 0..5),
        vec(extra_header(), 0..8),
        any::<[u8; 16]>(),
    )
        .prop_map(
            |(host, target, origin, protocols, extensions, headers, nonce)| Offer {
                host,
                target,
                origin,
                protocols: protocols.into_iter().collect(),
                extensions,
                headers,
                nonce,
            },
        )
}

/// What the server picks: an index into the offered protocols (if any) and
/// a subset of the offered extensions (with their parameters as offered).
fn choice() -> impl Strategy<Value = (Option<usize>, Vec<bool>)> {
    (option::of(0..6usize), vec(any::<bool>(), 5))
}

/// Where a parser ended up after all the input.
#[derive(Debug, PartialEq)]
enum Outcome<T, E> {
    Partial,
    /// The parsed head and the bytes after it.
    Complete(T, Vec<u8>),
    Failed(E),
}

/// Cut `bytes` at the given points (taken modulo the length, sorted).
fn split<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for p in points {
        pieces.push(&bytes[start..p]);
        start = p;
    }
    pieces.push(&bytes[start..]);
    pieces
}

fn feed_server(
    limits: HandshakeLimits,
    bytes: &[u8],
    cuts: &[usize],
) -> Outcome<Request, HandshakeError> {
    let mut server = ServerHandshake::new(limits);
    let mut offset = 0;
    for piece in split(bytes, cuts) {
        // Own the result, so the handshake can be inspected while it is held.
        let result = server
            .handle_input(piece)
            .map(|s| s.complete().map(|(r, used)| (r.clone(), used)));
        assert!(server.buffered_len() <= limits.max_head_len);
        match result {
            Ok(None) => offset += piece.len(),
            Ok(Some((request, used))) => {
                assert!(used <= piece.len());
                return Outcome::Complete(request, bytes[offset + used..].to_vec());
            }
            Err(e) => return Outcome::Failed(e),
        }
    }
    Outcome::Partial
}

/// Chunking decides how much of a refused response's body arrives with its
/// head, so `body_start` may only shrink to a prefix; the rest must match.
fn same_client_outcome(
    chunked: &Outcome<Response, ClientHandshakeError>,
    whole: &Outcome<Response, ClientHandshakeError>,
) -> bool {
    match (chunked, whole) {
        (
            Outcome::Failed(ClientHandshakeError::Status(a)),
            Outcome::Failed(ClientHandshakeError::Status(b)),
        ) => {
            a.status() == b.status()
                && a.reason() == b.reason()
                && a.headers() == b.headers()
                && b.body_start().starts_with(a.body_start())
        }
        _ => chunked == whole,
    }
}

fn feed_client(
    mut client: ClientHandshake,
    bytes: &[u8],
    cuts: &[usize],
) -> Outcome<Response, ClientHandshakeError> {
    let limits = client.limits();
    let mut offset = 0;
    for piece in split(bytes, cuts) {
        // Own the result, so the handshake can be inspected while it is held.
        let result = client
            .handle_input(piece)
            .map(|s| s.complete().map(|(r, used)| (r.clone(), used)));
        assert!(client.buffered_len() <= limits.max_head_len);
        match result {
            Ok(None) => offset += piece.len(),
            Ok(Some((response, used))) => {
                assert!(used <= piece.len());
                return Outcome::Complete(response, bytes[offset + used..].to_vec());
            }
            Err(e) => return Outcome::Failed(e),
        }
    }
    Outcome::Partial
}

/// Overwrite some bytes, to reach the error paths from near-valid input.
fn mutate(bytes: &mut [u8], edits: &[(usize, u8)]) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    for &(at, value) in edits {
        bytes[at % len] = value;
    }
}

/// Bytes that look like HTTP heads: mostly header-ish characters and line ends.
fn head_like_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => proptest::sample::select(b"GET / HTTP/1.1 :,;=\"ws-Upgrade".to_vec()),
        2 => Just(b'\r'),
        2 => Just(b'\n'),
        1 => any::<u8>(),
    ]
}

// ------------------------------------------------ Host and target authority

/// Bytes an authority is drawn from: every class its grammar tells apart,
/// and bytes it never allows (controls, non-ASCII, delimiters, space).
const AUTHORITY_BYTES: &[u8] = b"aZv09fF.-_~%!$&'()*+,;=:@/?#[]\\\"<>^`{|} \t\x01\x7f\x80\xff";

/// Something shaped like a host: a reg-name, an IPv4 address, an IPv6 or
/// IPvFuture literal, in their valid forms (the mutation in
/// [`authority_value`] breaks some).
fn host_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._~!$&'()*+,;=-]{1,12}",
        "([a-z0-9]|%[0-9a-fA-F]{2}|%[0-9g]{0,2}){1,6}",
        any::<Ipv4Addr>().prop_map(|a| a.to_string()),
        // Zero pieces often enough for std to write a `::`.
        vec(prop_oneof![Just(0u16), any::<u16>()], 8).prop_map(|p| {
            let pieces: [u16; 8] = p.try_into().expect("eight pieces were drawn");
            format!("[{}]", Ipv6Addr::from(pieces))
        }),
        any::<Ipv4Addr>().prop_map(|a| format!("[::ffff:{a}]")),
        "\\[[vV][0-9a-fA-F]{1,3}\\.[a-z0-9:+]{1,6}\\]",
    ]
}

/// A candidate `Host` value or target authority: either any string of
/// [`AUTHORITY_BYTES`], or a host-like string with an optional port, maybe
/// with one byte inserted or overwritten, so both outcomes are common.
fn authority_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(select(AUTHORITY_BYTES), 0..20),
        (
            host_like(),
            prop_oneof![Just(String::new()), ":[0-9]{0,6}"],
            option::of((any::<usize>(), select(AUTHORITY_BYTES), any::<bool>())),
        )
            .prop_map(|(host, port, edit)| {
                let mut value = format!("{host}{port}").into_bytes();
                if let Some((at, byte, insert)) = edit {
                    let at = at % (value.len() + 1);
                    if insert || at == value.len() {
                        value.insert(at, byte);
                    } else {
                        value[at] = byte;
                    }
                }
                value
            }),
    ]
}

/// A request with `target` and this `Host` value, written byte for byte.
fn request_with(target: &[u8], host: &[u8]) -> Vec<u8> {
    let mut bytes = b"GET ".to_vec();
    bytes.extend_from_slice(target);
    bytes.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    bytes.extend_from_slice(host);
    bytes.extend_from_slice(
        b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    bytes
}

/// A header field value without the outer spaces and tabs HTTP strips.
fn trim_ows(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn host_is_accepted_iff_it_is_a_valid_authority(
        value in authority_value().prop_filter("CR and LF end the line", |v| {
            !v.contains(&b'\r') && !v.contains(&b'\n')
        }),
        cuts in vec(any::<usize>(), 0..12),
    ) {
        let bytes = request_with(b"/chat", &value);
        let limits = HandshakeLimits::default();
        let whole = feed_server(limits, &bytes, &[]);
        let field = trim_ows(&value);
        match &whole {
            Outcome::Complete(request, rest) => {
                prop_assert!(reference_authority(field), "accepted {:?}", String::from_utf8_lossy(field));
                prop_assert_eq!(request.host().as_bytes(), field);
                prop_assert!(rest.is_empty());
            }
            Outcome::Failed(error) => {
                prop_assert!(!reference_authority(field), "refused {:?}", String::from_utf8_lossy(field));
                // A control byte no field value may hold fails the parse
                // itself; anything else is the Host check.
                let control = field.iter().any(|&b| b != b'\t' && (b < 0x20 || b == 0x7f));
                let want = if control { HandshakeError::Malformed } else { HandshakeError::InvalidHost };
                prop_assert_eq!(*error, want);
                prop_assert_eq!(error.status(), 400);
            }
            Outcome::Partial => prop_assert!(false, "a complete head left partial"),
        }
        prop_assert_eq!(feed_server(limits, &bytes, &cuts), whole);
    }

    #[test]
    fn target_authority_is_accepted_iff_valid_and_wins_over_host(
        value in authority_value().prop_map(|v| {
            // Keep the bytes a request target holds, minus the `/` and `?`
            // that would end the authority.
            v.into_iter().filter(|b| b.is_ascii_graphic() && !b"/?".contains(b)).collect::<Vec<u8>>()
        }),
        scheme in select(&["ws", "wss", "http", "https", "WS", "Https"][..]),
        cuts in vec(any::<usize>(), 0..12),
    ) {
        let mut target = format!("{scheme}://").into_bytes();
        target.extend_from_slice(&value);
        target.extend_from_slice(b"/chat?x");
        let bytes = request_with(&target, b"example.com");
        let limits = HandshakeLimits::default();
        let whole = feed_server(limits, &bytes, &[]);
        match &whole {
            Outcome::Complete(request, _) => {
                prop_assert!(reference_authority(&value), "accepted {:?}", String::from_utf8_lossy(&value));
                prop_assert_eq!(request.host().as_bytes(), &value[..]);
                prop_assert_eq!(request.path(), "/chat");
                prop_assert_eq!(request.query(), Some("x"));
            }
            Outcome::Failed(error) => {
                prop_assert!(!reference_authority(&value), "refused {:?}", String::from_utf8_lossy(&value));
                prop_assert_eq!(*error, HandshakeError::InvalidTarget);
            }
            Outcome::Partial => prop_assert!(false, "a complete head left partial"),
        }
        prop_assert_eq!(feed_server(limits, &bytes, &cuts), whole);
    }

    #[test]
    fn server_accepts_any_built_request_and_client_accepts_the_101(
        offer in offer(),
        (protocol_pick, extension_picks) in choice(),
        frames in vec(any::<u8>(), 0..32),
    ) {
        let mut to_server = Vec::new();
        let mut client = offer.request().write(&plain(), &mut to_server).expect("the strategy builds valid requests");
        let head_len = to_server.len();
        to_server.extend_from_slice(&frames);

        let mut server = ServerHandshake::new(HandshakeLimits::default());
        let Ok(Status::Complete((request, used))) = server.handle_input(&to_server) else {
            panic!("server refused {:?}", String::from_utf8_lossy(&to_server));
        };
        prop_assert_eq!(used, head_len);
        prop_assert_eq!(request.host(), offer.host.as_str());
        prop_assert_eq!(request.target(), offer.target.as_str());
        prop_assert_eq!(request.origin(), offer.origin.as_deref());
        prop_assert_eq!(request.protocols(), offer.protocols.as_slice());
        prop_assert_eq!(request.extensions(), offer.extensions.as_slice());
        for (name, value) in &offer.headers {
            prop_assert!(request.headers().get_all(name).any(|v| v == value.as_bytes()));
        }

        let protocol = protocol_pick.and_then(|i| offer.protocols.get(i).cloned());
        let chosen: Vec<Extension> = offer
            .extensions
            .iter()
            .zip(extension_picks.iter().chain(core::iter::repeat(&false)))
            .filter(|(_, pick)| **pick)
            .map(|(e, _)| e.clone())
            .collect();
        let mut accept = Accept::new().header("Set-Cookie", "a=b");
        if let Some(p) = &protocol {
            accept = accept.protocol(p.clone());
        }
        for e in &chosen {
            accept = accept.extension(e.clone());
        }
        let mut to_client = Vec::new();
        let on_server = accept_plain(request, &accept, &mut to_client).unwrap();
        let head_len = to_client.len();
        to_client.extend_from_slice(&frames);

        let Ok(Status::Complete((response, used))) = client.handle_input(&to_client) else {
            panic!("client refused {:?}", String::from_utf8_lossy(&to_client));
        };
        prop_assert_eq!(used, head_len);
        let on_client = response.negotiated();
        prop_assert_eq!(&on_client.protocol, &protocol);
        prop_assert_eq!(&on_client.extensions, &chosen);
        prop_assert_eq!(&on_server.protocol, &protocol);
        prop_assert_eq!(&on_server.extensions, &chosen);
        prop_assert_eq!(response.headers().get("set-cookie"), Some(&b"a=b"[..]));
    }

    #[test]
    fn server_outcome_does_not_depend_on_chunking(
        offer in offer(),
        frames in vec(any::<u8>(), 0..16),
        edits in vec((any::<usize>(), head_like_byte()), 0..3),
        cuts in vec(any::<usize>(), 0..12),
        small in any::<bool>(),
    ) {
        let mut bytes = Vec::new();
        let _ = offer.request().write(&plain(), &mut bytes).unwrap();
        mutate(&mut bytes, &edits);
        bytes.extend_from_slice(&frames);
        let limits = if small { HandshakeLimits::new(200, 6) } else { HandshakeLimits::default() };
        let whole = feed_server(limits, &bytes, &[]);
        prop_assert_eq!(feed_server(limits, &bytes, &cuts), whole);
    }

    #[test]
    fn server_outcome_on_junk_does_not_depend_on_chunking(
        bytes in vec(head_like_byte(), 0..400),
        cuts in vec(any::<usize>(), 0..12),
    ) {
        let limits = HandshakeLimits::new(256, 8);
        let whole = feed_server(limits, &bytes, &[]);
        prop_assert_eq!(feed_server(limits, &bytes, &cuts), whole);
    }

    #[test]
    fn client_outcome_does_not_depend_on_chunking(
        offer in offer(),
        (protocol_pick, extension_picks) in choice(),
        frames in vec(any::<u8>(), 0..16),
        edits in vec((any::<usize>(), head_like_byte()), 0..3),
        cuts in vec(any::<usize>(), 0..12),
        status in prop_oneof![Just(None), (200u16..600).prop_map(Some)],
    ) {
        let mut to_server = Vec::new();
        let client = offer.request().write(&plain(), &mut to_server).unwrap();
        let mut server = ServerHandshake::new(HandshakeLimits::default());
        let Ok(Status::Complete((request, _))) = server.handle_input(&to_server) else {
            panic!("server refused a built request");
        };
        let mut bytes = Vec::new();
        match status {
            None => {
                let mut accept = Accept::new();
                if let Some(p) = protocol_pick.and_then(|i| offer.protocols.get(i)) {
                    accept = accept.protocol(p.clone());
                }
                for (e, pick) in offer.extensions.iter().zip(&extension_picks) {
                    if *pick {
                        accept = accept.extension(e.clone());
                    }
                }
                accept_plain(request, &accept, &mut bytes).unwrap();
            }
            Some(status) => {
                wscore::handshake::server::Reject::new(status)
                    .body("no")
                    .write(&mut bytes)
                    .unwrap();
            }
        }
        mutate(&mut bytes, &edits);
        bytes.extend_from_slice(&frames);
        let whole = feed_client(client.clone(), &bytes, &[]);
        if edits.is_empty() {
            match (&whole, status) {
                (Outcome::Complete(_, rest), None) => prop_assert_eq!(rest, &frames),
                (Outcome::Failed(ClientHandshakeError::Status(r)), Some(s)) => {
                    prop_assert_eq!(r.status(), s);
                    prop_assert!(r.body_start().starts_with(b"no"));
                }
                (other, _) => prop_assert!(false, "unexpected outcome {:?}", other),
            }
        }
        let chunked = feed_client(client, &bytes, &cuts);
        prop_assert!(same_client_outcome(&chunked, &whole), "{:?} != {:?}", chunked, whole);
    }

    #[test]
    fn client_outcome_on_junk_does_not_depend_on_chunking(
        bytes in vec(head_like_byte(), 0..400),
        cuts in vec(any::<usize>(), 0..12),
        nonce in any::<[u8; 16]>(),
    ) {
        let client = ClientRequest::new("h", nonce)
            .limits(HandshakeLimits::new(256, 8))
            .write(&plain(), &mut Vec::new())
            .unwrap();
        let whole = feed_client(client.clone(), &bytes, &[]);
        let chunked = feed_client(client, &bytes, &cuts);
        prop_assert!(same_client_outcome(&chunked, &whole), "{:?} != {:?}", chunked, whole);
    }

    #[test]
    fn extension_lists_round_trip_through_a_server(
        offers in vec(extension(), 1..6),
        picks in subsequence((0..5usize).collect::<Vec<_>>(), 0..=5),
    ) {
        // Offers written by the client parse back identically on the server,
        // and a server response built from any subset parses back on the client.
        let mut request = ClientRequest::new("h", [1; 16]);
        for e in &offers {
            request = request.extension(e.clone());
        }
        let mut bytes = Vec::new();
        let client = request.write(&plain(), &mut bytes).unwrap();
        let mut server = ServerHandshake::new(HandshakeLimits::default());
        let Ok(Status::Complete((req, _))) = server.handle_input(&bytes) else { panic!() };
        prop_assert_eq!(req.extensions(), offers.as_slice());
        let chosen: Vec<Extension> = picks.iter().filter_map(|&i| offers.get(i).cloned()).collect();
        let accept = chosen.iter().cloned().fold(Accept::new(), Accept::extension);
        let mut out = Vec::new();
        accept_plain(req, &accept, &mut out).unwrap();
        match feed_client(client, &out, &[]) {
            Outcome::Complete(r, rest) => {
                prop_assert!(rest.is_empty());
                prop_assert_eq!(&r.negotiated().extensions, &chosen);
            }
            other => prop_assert!(false, "unexpected outcome {:?}", other),
        }
    }
}
