//! The handshake over the `http` crate's types gives the same outcome as the
//! byte-level handshake for the same request, and a client and server built
//! on `http` types complete it together.
#![cfg(feature = "http")]

use http::header::{HeaderName, HeaderValue};
use http::{Method, Version};
use wscore::handshake::client::ClientRequest;
use wscore::handshake::server::{Accept, Reject, Request, ServerHandshake};
use wscore::handshake::{
    BuildError, ClientHandshakeError, Extension, HandshakeError, HandshakeLimits, Negotiated,
    Status, accept_key,
};
use wscore::{Config, Instant, Role};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The config of these tests: the defaults without permessage-deflate, so
/// the heads hold only what each test spells out (with `deflate`, both
/// paths add the same offers and answers; the doc example of
/// `Request::from_http` runs that).
fn plain() -> Config {
    #[cfg(feature = "deflate")]
    return Config::default().with_deflate(wscore::extension::deflate::DeflateConfig::DISABLED);
    #[cfg(not(feature = "deflate"))]
    Config::default()
}

/// `accept` on the byte path under [`plain`]: what was agreed, the 101 in `out`.
fn accept_bytes(
    request: &Request,
    accept: &Accept,
    out: &mut Vec<u8>,
) -> Result<Negotiated, BuildError> {
    request
        .accept(accept, &plain(), Instant::ZERO, &[], out)
        .map(|(_, agreed)| agreed)
}

/// `accept_http` under [`plain`]: what was agreed and the 101.
fn accept_http(
    request: &Request,
    accept: &Accept,
) -> Result<(Negotiated, http::Response<()>), BuildError> {
    request
        .accept_http(accept, &plain(), Instant::ZERO)
        .map(|(_, agreed, response)| (agreed, response))
}

/// One request, described once and written both ways.
struct Case {
    method: &'static str,
    version: Version,
    target: &'static str,
    headers: Vec<(&'static str, &'static [u8])>,
}

/// A valid handshake request's headers.
fn valid_headers() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("Host", b"example.com"),
        ("Upgrade", b"websocket"),
        ("Connection", b"Upgrade"),
        ("Sec-WebSocket-Key", KEY.as_bytes()),
        ("Sec-WebSocket-Version", b"13"),
    ]
}

fn case(method: &'static str, version: Version, target: &'static str) -> Case {
    Case {
        method,
        version,
        target,
        headers: valid_headers(),
    }
}

impl Case {
    fn without(mut self, name: &str) -> Case {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    fn with(mut self, name: &'static str, value: &'static [u8]) -> Case {
        self.headers.push((name, value));
        self
    }

    fn replacing(self, name: &'static str, value: &'static [u8]) -> Case {
        self.without(name).with(name, value)
    }

    fn bytes(&self) -> Vec<u8> {
        let version = match self.version {
            Version::HTTP_10 => "HTTP/1.0",
            _ => "HTTP/1.1",
        };
        let mut out = format!("{} {} {version}\r\n", self.method, self.target).into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    fn http(&self) -> http::Request<()> {
        let mut request = http::Request::builder()
            .method(Method::from_bytes(self.method.as_bytes()).unwrap())
            .uri(self.target)
            .version(self.version)
            .body(())
            .unwrap();
        for (name, value) in &self.headers {
            request.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        request
    }
}

/// The byte-level outcome of a complete request.
fn by_bytes(case: &Case) -> Result<Request, HandshakeError> {
    let bytes = case.bytes();
    let mut server = ServerHandshake::new(HandshakeLimits::default());
    match server.handle_input(&bytes)? {
        Status::Complete((request, used)) => {
            assert_eq!(used, bytes.len());
            Ok(request.clone())
        }
        Status::Partial => panic!("a complete head is not partial"),
    }
}

/// What matters of an accepted request: everything but the header names'
/// case, which an HTTP library normalizes.
#[derive(Debug, PartialEq)]
struct Summary {
    target: String,
    host: String,
    origin: Option<String>,
    key: String,
    protocols: Vec<String>,
    extensions: Vec<Extension>,
}

fn summary(r: &Request) -> Summary {
    Summary {
        target: r.target().into(),
        host: r.host().into(),
        origin: r.origin().map(String::from),
        key: r.key().into(),
        protocols: r.protocols().to_vec(),
        extensions: r.extensions().to_vec(),
    }
}

#[test]
fn both_paths_give_the_same_outcome_for_every_request() {
    use HandshakeError as E;
    let get = |target| case("GET", Version::HTTP_11, target);
    let table: Vec<(Case, Result<(), HandshakeError>)> = vec![
        (get("/chat"), Ok(())),
        (
            get("/chat?room=1").with("Origin", b"https://example.com"),
            Ok(()),
        ),
        (get("ws://example.com:8080/chat"), Ok(())),
        (
            get("/")
                .with("Sec-WebSocket-Protocol", b"chat, superchat")
                .with(
                    "Sec-WebSocket-Extensions",
                    b"permessage-deflate; client_max_window_bits",
                ),
            Ok(()),
        ),
        (
            get("/").replacing("Connection", b"keep-alive, Upgrade"),
            Ok(()),
        ),
        (get("/").with("Content-Length", b"0"), Ok(())),
        (
            case("POST", Version::HTTP_11, "/"),
            Err(E::MethodNotAllowed),
        ),
        (case("get", Version::HTTP_11, "/"), Err(E::MethodNotAllowed)),
        (case("GET", Version::HTTP_10, "/"), Err(E::HttpVersion)),
        (get("*"), Err(E::InvalidTarget)),
        (get("example.com:80"), Err(E::InvalidTarget)),
        (get("ftp://example.com/"), Err(E::InvalidTarget)),
        (
            get("/").with("Content-Length", b"5"),
            Err(E::UnexpectedBody),
        ),
        (
            get("/").with("Transfer-Encoding", b"chunked"),
            Err(E::UnexpectedBody),
        ),
        (get("/").without("Host"), Err(E::InvalidHost)),
        (get("/").with("Host", b"other.example"), Err(E::InvalidHost)),
        (
            get("/").replacing("Host", b"a@example.com"),
            Err(E::InvalidHost),
        ),
        (get("/").without("Upgrade"), Err(E::MissingUpgrade)),
        (
            get("/").replacing("Upgrade", b"h2c"),
            Err(E::UpgradeNotWebSocket),
        ),
        (
            get("/").without("Connection"),
            Err(E::MissingConnectionUpgrade),
        ),
        (
            get("/").replacing("Connection", b"close"),
            Err(E::MissingConnectionUpgrade),
        ),
        (
            get("/").without("Sec-WebSocket-Version"),
            Err(E::UnsupportedVersion),
        ),
        (
            get("/").replacing("Sec-WebSocket-Version", b"8"),
            Err(E::UnsupportedVersion),
        ),
        (get("/").without("Sec-WebSocket-Key"), Err(E::MissingKey)),
        (
            get("/").replacing("Sec-WebSocket-Key", b"c2hvcnQ="),
            Err(E::InvalidKey),
        ),
        (
            get("/").with("Sec-WebSocket-Key", KEY.as_bytes()),
            Err(E::InvalidKey),
        ),
        (get("/").with("Origin", b"\xff\xfe"), Err(E::InvalidOrigin)),
        (
            get("/").with("Sec-WebSocket-Protocol", b"a b"),
            Err(E::InvalidProtocols),
        ),
        (
            get("/").with("Sec-WebSocket-Extensions", b"; x"),
            Err(E::InvalidExtensions),
        ),
    ];
    for (case, expected) in table {
        let label = String::from_utf8_lossy(&case.bytes()).into_owned();
        let bytes = by_bytes(&case);
        let via_http = Request::from_http(&case.http());
        let (parts, ()) = case.http().into_parts();
        let via_parts = Request::from_http_parts(&parts);
        match expected {
            Ok(()) => {
                let bytes = bytes.unwrap_or_else(|e| panic!("{label}: {e}"));
                assert_eq!(summary(&via_http.unwrap()), summary(&bytes), "{label}");
                assert_eq!(summary(&via_parts.unwrap()), summary(&bytes), "{label}");
            }
            Err(error) => {
                assert_eq!(bytes.err(), Some(error), "{label}");
                assert_eq!(via_http.err(), Some(error), "{label}");
                assert_eq!(via_parts.err(), Some(error), "{label}");
            }
        }
    }
}

/// Header fields as (lowercased name, value), in order.
type Fields = Vec<(String, Vec<u8>)>;

/// The header lines of a byte-level response, lowercased names, without
/// the framing field the `http` responses leave to the library.
fn byte_headers(response: &[u8]) -> (u16, Fields, Vec<u8>) {
    let text = response;
    let end = text.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = std::str::from_utf8(&text[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(": ").unwrap();
            (n.to_ascii_lowercase(), v.as_bytes().to_vec())
        })
        .filter(|(n, _)| n != "content-length")
        .collect();
    (status, headers, text[end + 4..].to_vec())
}

fn http_headers(map: &http::HeaderMap) -> Fields {
    map.iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect()
}

#[test]
fn refusals_have_the_same_status_headers_and_body_both_ways() {
    for error in [
        HandshakeError::Malformed,
        HandshakeError::MethodNotAllowed,
        HandshakeError::MissingUpgrade,
        HandshakeError::UnsupportedVersion,
        HandshakeError::InvalidKey,
        HandshakeError::HeadTooLong,
    ] {
        let (status, headers, body) = byte_headers(&error.response());
        let response = error.to_http_response();
        assert_eq!(response.status().as_u16(), status, "{error}");
        assert_eq!(response.status().as_u16(), error.status(), "{error}");
        assert_eq!(http_headers(response.headers()), headers, "{error}");
        assert_eq!(response.body().as_bytes(), body, "{error}");
    }
    let version = HandshakeError::UnsupportedVersion.to_http_response();
    assert_eq!(version.status(), 426);
    assert_eq!(version.headers()["sec-websocket-version"], "13");

    let reject = Reject::new(403)
        .header("WWW-Authenticate", "Basic")
        .body("no");
    let mut bytes = Vec::new();
    reject.write(&mut bytes).unwrap();
    let (status, headers, body) = byte_headers(&bytes);
    let response = reject.to_http_response().unwrap();
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(http_headers(response.headers()), headers);
    assert_eq!(*response.body(), body);
    assert!(Reject::new(101).to_http_response().is_err());
}

#[test]
fn the_101_has_the_same_headers_both_ways() {
    let case = case("GET", Version::HTTP_11, "/")
        .with("Sec-WebSocket-Protocol", b"chat")
        .with("Sec-WebSocket-Extensions", b"x-ext");
    let request = by_bytes(&case).unwrap();
    let accept = Accept::new()
        .protocol("chat")
        .extension(Extension::new("x-ext"))
        .header("Set-Cookie", "a=1");
    let mut bytes = Vec::new();
    let on_bytes = accept_bytes(&request, &accept, &mut bytes).unwrap();
    let (negotiated, response) = accept_http(&request, &accept).unwrap();
    assert_eq!(negotiated, on_bytes);
    let (status, headers, body) = byte_headers(&bytes);
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(response.version(), Version::HTTP_11);
    assert_eq!(http_headers(response.headers()), headers);
    assert!(body.is_empty());
    assert_eq!(
        response.headers()["sec-websocket-accept"],
        accept_key(KEY.as_bytes()).as_str()
    );
    // A choice the client did not offer is refused the same way.
    let bad = Accept::new().protocol("other");
    assert_eq!(
        accept_http(&request, &bad).err(),
        accept_bytes(&request, &bad, &mut Vec::new()).err()
    );
}

#[test]
fn round_trip_client_http_request_to_server_to_client_check() {
    let client_request = ClientRequest::new("example.com:8080", [5; 16])
        .target("/chat?room=1")
        .origin("https://example.com")
        .protocol("v2")
        .protocol("v1")
        .extension(Extension::new("x-ext"))
        .header("Cookie", "session=1");
    let (request, client) = client_request.to_http(&plain()).unwrap();
    assert_eq!(request.method(), Method::GET);
    assert_eq!(request.uri(), "/chat?room=1");
    assert_eq!(request.headers()["host"], "example.com:8080");

    // The http request carries what the byte request carries.
    let mut bytes = Vec::new();
    client_request.write(&plain(), &mut bytes).unwrap();
    let mut server = ServerHandshake::new(HandshakeLimits::default());
    let Status::Complete((on_bytes, _)) = server.handle_input(&bytes).unwrap() else {
        panic!("complete");
    };

    let offer = Request::from_http(&request).unwrap();
    assert_eq!(summary(&offer), summary(on_bytes));
    assert_eq!(offer.protocols(), ["v2", "v1"]);
    let (server, on_server, response) = offer
        .accept_http(&Accept::new().protocol("v1"), &plain(), Instant::ZERO)
        .unwrap();
    // Each side's path can only make its own side's connection.
    assert_eq!(server.role(), Role::Server);

    let checked = client.check_http_response(&response).unwrap();
    assert_eq!(
        checked.open(Instant::ZERO, &[], || [0; 4]).role(),
        Role::Client
    );
    let on_client = checked.into_negotiated();
    assert_eq!(on_client.protocol.as_deref(), Some("v1"));
    assert_eq!(on_client.protocol, on_server.protocol);
    assert_eq!(on_client.extensions, on_server.extensions);

    // The same 101 as bytes passes the byte-level check too.
    let mut to_client = Vec::new();
    accept_bytes(&offer, &Accept::new().protocol("v1"), &mut to_client).unwrap();
    let (_, mut byte_client) = client_request.to_http(&plain()).unwrap();
    assert!(matches!(
        byte_client.handle_input(&to_client),
        Ok(Status::Complete(_))
    ));
}

#[test]
fn the_client_refuses_bad_http_responses_as_it_refuses_bad_bytes() {
    let (request, client) = ClientRequest::new("h", [1; 16]).to_http(&plain()).unwrap();
    let offer = Request::from_http(&request).unwrap();
    let (_, good) = accept_http(&offer, &Accept::new()).unwrap();

    let mut wrong_accept = good.clone();
    wrong_accept
        .headers_mut()
        .insert("sec-websocket-accept", HeaderValue::from_static("nope"));
    assert_eq!(
        client.check_http_response(&wrong_accept).err(),
        Some(ClientHandshakeError::InvalidAccept)
    );

    let mut unoffered = good.clone();
    unoffered
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("chat"));
    assert_eq!(
        client.check_http_response(&unoffered).err(),
        Some(ClientHandshakeError::ProtocolNotOffered)
    );

    let mut old = good.clone();
    *old.version_mut() = Version::HTTP_10;
    assert_eq!(
        client.check_http_response(&old).err(),
        Some(ClientHandshakeError::HttpVersion)
    );

    let refused = http::Response::builder()
        .status(302)
        .header("location", "/elsewhere")
        .body(())
        .unwrap();
    match client.check_http_response(&refused) {
        Err(ClientHandshakeError::Status(r)) => {
            assert_eq!(r.status(), 302);
            assert_eq!(r.reason(), "Found");
            assert_eq!(r.headers().get("Location"), Some(&b"/elsewhere"[..]));
        }
        other => panic!("{other:?}"),
    }
}
