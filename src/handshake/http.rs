//! The opening handshake over the [`http`] crate's types (feature `http`),
//! for an HTTP library that parsed the head already: hyper and axum hand a
//! server an [`http::Request`] (or its [`Parts`]) and take an
//! [`http::Response`] back; a client sends an [`http::Request`] and gets an
//! [`http::Response`].
//!
//! Nothing here validates on its own: a request or response is turned into
//! the same head the byte-level handshake parses, and goes through the same
//! checks, so both paths refuse the same requests with the same status. The
//! headers written come from the same lists too.
//!
//! What differs: an HTTP library has already framed the head, so
//! [`HandshakeLimits`](super::HandshakeLimits) (431) is its business, and a
//! response built here has no `Content-Length`, which the library sets from
//! the body it sends.
//!
//! [`Request::from_http`] shows a whole round trip.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use http::header::{HeaderName, HeaderValue};
use http::request::Parts;
use http::{HeaderMap, Method, StatusCode, Uri, Version};

use super::Negotiated;
use super::client::{ClientHandshake, ClientRequest, Response, ResponseHead};
use super::error::{BuildError, ClientHandshakeError, HandshakeError};
use super::header::Headers;
use super::server::{Accept, Reject, Request, RequestHead, Via, open, validate_request};
use super::write::HeaderSink;
use crate::config::Config;
use crate::connection::Connection;
use crate::time::Instant;

/// A header map being filled from a head's list of fields. Every field was
/// checked already, so a field the `http` crate refuses is a bug between
/// the two checks; it is reported as an error rather than a panic.
#[derive(Default)]
pub(super) struct MapSink {
    map: HeaderMap,
    refused: Option<BuildError>,
}

impl HeaderSink for MapSink {
    fn header(&mut self, name: &str, value: &[u8]) {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            (Ok(name), Ok(value)) => {
                self.map.append(name, value);
            }
            (Err(_), _) => {
                self.refused.get_or_insert(BuildError::InvalidHeaderName);
            }
            (_, Err(_)) => {
                self.refused.get_or_insert(BuildError::InvalidHeaderValue);
            }
        }
    }
}

impl MapSink {
    pub(super) fn finish(self) -> Result<HeaderMap, BuildError> {
        match self.refused {
            Some(error) => Err(error),
            None => Ok(self.map),
        }
    }
}

/// The minor version of an HTTP/1.x message, as httparse reports it; any
/// other version (0.9, 2, 3) is not one the upgrade of RFC 6455 runs over.
pub(super) fn minor_version(version: Version) -> Option<u8> {
    match version {
        Version::HTTP_10 => Some(0),
        Version::HTTP_11 => Some(1),
        _ => None,
    }
}

/// The status as the `http` crate's type. Every status the handshake
/// writes is a valid three-digit code, so the fallback is never taken; it
/// is there so that no path can panic.
pub(super) fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl Request {
    /// Validate a request an HTTP library parsed, exactly as
    /// [`ServerHandshake`](super::server::ServerHandshake) validates one it
    /// read (its docs list the checks and their order). The body is not
    /// looked at; a request that announces one (`Content-Length` other than
    /// 0, `Transfer-Encoding`) is refused, as on the byte path.
    ///
    /// Cost: the target and every header field are copied into the
    /// [`Request`]. [`HandshakeLimits`](super::HandshakeLimits) does not
    /// apply: capping the head (431) is the HTTP library's business.
    ///
    /// On error, answer with [`HandshakeError::to_http_response`].
    ///
    /// ```
    /// use wscore::handshake::client::ClientRequest;
    /// use wscore::handshake::server::{Accept, Request};
    /// use wscore::{Config, Event, Instant};
    ///
    /// let (config, now) = (Config::default(), Instant::ZERO);
    ///
    /// // The client's request, as an HTTP client library would send it.
    /// let (request, client) = ClientRequest::new("example.com", [7; 16])
    ///     .protocol("chat")
    ///     .to_http(&config)
    ///     .unwrap();
    ///
    /// // The server, handed the request by its HTTP library, answers with
    /// // the 101 and keeps the connection for the upgraded transport.
    /// let (mut server, negotiated, response) = match Request::from_http(&request) {
    ///     Ok(offer) => offer
    ///         .accept_http(&Accept::new().protocol("chat"), &config, now)
    ///         .unwrap(),
    ///     Err(refusal) => panic!("would answer {:?}", refusal.to_http_response()),
    /// };
    /// assert_eq!(response.status(), 101);
    /// assert_eq!(negotiated.protocol.as_deref(), Some("chat"));
    ///
    /// // The client checks the 101 it got back and opens its connection;
    /// // permessage-deflate is on both ways under the default config.
    /// let checked = client.check_http_response(&response).unwrap();
    /// assert_eq!(checked.negotiated().protocol.as_deref(), Some("chat"));
    /// assert_eq!(checked.negotiated().extensions, negotiated.extensions);
    /// let mut client = checked.open(now, &[], || [1, 2, 3, 4]);
    ///
    /// client.send_text("hi").unwrap();
    /// let mut wire = Vec::new();
    /// client.poll_transmit(&mut wire);
    /// server.handle_input(now, &wire);
    /// assert_eq!(server.poll_event(), Some(Event::Text("hi")));
    /// ```
    pub fn from_http<B>(request: &http::Request<B>) -> Result<Request, HandshakeError> {
        from_head(
            request.method(),
            request.version(),
            request.uri(),
            request.headers(),
        )
    }

    /// [`from_http`](Self::from_http) for the head alone, as
    /// `http::Request::into_parts` (or an axum extractor) gives it.
    pub fn from_http_parts(parts: &Parts) -> Result<Request, HandshakeError> {
        from_head(&parts.method, parts.version, &parts.uri, &parts.headers)
    }

    /// Accept the handshake, as [`accept`](Self::accept) does: return the
    /// server's connection (under `config`, with the agreed extensions),
    /// what was agreed, and the response as an [`http::Response`], for the
    /// HTTP library to send before it hands over the upgraded transport
    /// (or, for extended CONNECT, the stream). The library keeps any bytes
    /// read behind the head and yields them from the upgraded transport,
    /// so there is no `rest` to feed here.
    ///
    /// The response answers the handshake the request came by: for the
    /// HTTP/1.1 upgrade, 101 Switching Protocols over HTTP/1.1 with
    /// `Upgrade`, `Connection` and `Sec-WebSocket-Accept`; for extended
    /// CONNECT ([`from_extended_connect`](Self::from_extended_connect)),
    /// 200 with only `sec-websocket-protocol`, `sec-websocket-extensions`
    /// and the extras (RFC 8441 section 5), marked HTTP/2 (an HTTP/2 or
    /// HTTP/3 library sends it on the connection the request came by,
    /// whatever the mark says).
    ///
    /// Cost: the 101 hashes the key once (SHA-1); both allocate the header
    /// map. With permessage-deflate agreed, the connection boxes its codec,
    /// whose working memory waits for the first message.
    ///
    /// Refuses with the [`BuildError`]s of [`accept`](Self::accept), for
    /// the same choices; on error nothing changed: fix the choice and call
    /// again.
    pub fn accept_http(
        &self,
        accept: &Accept,
        config: &Config,
        now: Instant,
    ) -> Result<(Connection, Negotiated, http::Response<()>), BuildError> {
        let (protocols, extensions) = self.offer();
        let agreed = accept.agree(config, protocols, extensions)?;
        let mut sink = MapSink::default();
        let mut response = http::Response::new(());
        match self.via() {
            Via::Upgrade { key } => {
                accept.write_headers(key, &agreed, &mut sink);
                *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
                *response.version_mut() = Version::HTTP_11;
            }
            Via::ExtendedConnect { .. } => {
                accept.write_agreed(&agreed, &mut sink);
                *response.status_mut() = StatusCode::OK;
                *response.version_mut() = Version::HTTP_2;
            }
        }
        *response.headers_mut() = sink.finish()?;
        let (connection, agreed) = open(config, now, &[], agreed);
        Ok((connection, agreed, response))
    }
}

fn from_head(
    method: &Method,
    version: Version,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Request, HandshakeError> {
    // The target as it was sent: origin-form has no scheme or authority, so
    // `Uri` prints the path and query alone; absolute-form prints whole.
    let target = uri.to_string();
    validate_request(RequestHead {
        method: method.as_str(),
        minor_version: minor_version(version),
        target: Some(&target),
        headers: Headers::from_http(headers),
    })
}

impl HandshakeError {
    /// The response for this error as an [`http::Response`]: the status and
    /// headers [`write_response`](Self::write_response) writes (426 with
    /// `Sec-WebSocket-Version: 13`, 405 with `Allow: GET`, ...), and the
    /// same one-line body, without `Content-Length`.
    #[must_use]
    pub fn to_http_response(self) -> http::Response<String> {
        let mut sink = MapSink::default();
        self.write_headers(&mut sink);
        let mut body = self.reason().to_string();
        body.push('\n');
        let mut response = http::Response::new(body);
        *response.status_mut() = status_code(self.status());
        // These fields are constants that pass the `http` crate's checks.
        *response.headers_mut() = sink.map;
        response
    }
}

impl Reject {
    /// This refusal as an [`http::Response`]: the status, the extra
    /// headers, `Connection: close` and the body, as
    /// [`write`](Self::write) writes them but without `Content-Length`.
    pub fn to_http_response(&self) -> Result<http::Response<Vec<u8>>, BuildError> {
        self.check()?;
        let mut sink = MapSink::default();
        for (name, value) in &self.headers {
            sink.header(name, value);
        }
        sink.header("Connection", b"close");
        let mut response = http::Response::new(self.body.clone());
        *response.status_mut() = status_code(self.status);
        *response.headers_mut() = sink.finish()?;
        Ok(response)
    }
}

impl ClientRequest {
    /// Check the request and, only if it is valid, return it as an
    /// [`http::Request`] (GET, HTTP/1.1, the target as its URI, and the
    /// same header fields [`write`](Self::write) writes, `Host` included),
    /// with the handshake that checks the answer: pass the response to
    /// [`ClientHandshake::check_http_response`]. `config` plays the part
    /// it plays in [`write`](Self::write).
    pub fn to_http(
        &self,
        config: &Config,
    ) -> Result<(http::Request<()>, ClientHandshake), BuildError> {
        self.check()?;
        let uri = Uri::try_from(self.target_str()).map_err(|_| BuildError::InvalidTarget)?;
        let key = self.key();
        let offers = self.offers(config);
        let mut sink = MapSink::default();
        self.write_headers(&key, &offers, &mut sink);
        let mut request = http::Request::new(());
        *request.method_mut() = Method::GET;
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_11;
        *request.headers_mut() = sink.finish()?;
        Ok((request, self.handshake(&key, config, offers)))
    }
}

impl ClientHandshake {
    /// Validate a response an HTTP library received, exactly as
    /// [`handle_input`](Self::handle_input) validates one it reads (the
    /// type's docs list the checks). A non-101 answer is
    /// [`ClientHandshakeError::Status`], with an empty
    /// [`body_start`](super::RejectedResponse::body_start): the body is
    /// the library's to read. Open the connection with
    /// [`Response::open`], with no `rest` (the library keeps what it read
    /// behind the head).
    ///
    /// This does not change the handshake's byte-level state.
    pub fn check_http_response<B>(
        &self,
        response: &http::Response<B>,
    ) -> Result<Response, ClientHandshakeError> {
        let status = response.status();
        self.validate_response(ResponseHead {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").into(),
            minor_version: minor_version(response.version()),
            headers: Headers::from_http(response.headers()),
            body_start: &[],
        })
    }
}
