//! The client side of the opening handshake (RFC 6455 section 4.1).

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::error::{BuildError, ClientHandshakeError};
use super::head::{Fill, HeadReader};
use super::header::{
    Headers, accept_key, is_token, is_visible_ascii, key_for_nonce, parse_token_list, trim_ows,
};
use super::rejected::RejectedResponse;
use super::response::check_extra_header;
use super::write::HeaderSink;
use super::{HandshakeLimits, Negotiated};
use crate::config::Config;
use crate::connection::{Connection, MaskSource};
use crate::extension::{self, Extension, parse_extension_list, write_extension_list};
use crate::frame::Status;
use crate::time::Instant;

/// The client's opening handshake request (section 4.1), built by the
/// application and written by [`write`](Self::write).
///
/// The 16-byte nonce behind `Sec-WebSocket-Key` comes from the caller, who
/// must draw it from a good random source (section 4.1 item 7 and section
/// 10.3): the crate never reads one itself.
///
/// The extensions offered are those added with
/// [`extension`](Self::extension) followed by what the [`Config`] given to
/// [`write`](Self::write) offers: permessage-deflate as
/// [`Config::deflate`] says, unless the request offers it by hand already.
///
/// ```
/// use wscore::handshake::client::ClientRequest;
/// use wscore::Config;
///
/// let mut out = Vec::new();
/// let handshake = ClientRequest::new("example.com:8080", [0; 16])
///     .target("/chat?room=1")
///     .origin("https://example.com")
///     .protocol("v2.chat")
///     .header("Cookie", "session=1")
///     .write(&Config::default(), &mut out)
///     .unwrap();
/// let head = String::from_utf8(out).unwrap();
/// assert!(head.starts_with("GET /chat?room=1 HTTP/1.1\r\nHost: example.com:8080\r\n"));
/// // The default config offers permessage-deflate (with the feature).
/// let offered = head.contains("\r\nSec-WebSocket-Extensions: permessage-deflate; ");
/// assert_eq!(offered, cfg!(feature = "deflate"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ClientRequest {
    host: String,
    target: String,
    origin: Option<String>,
    protocols: Vec<String>,
    extensions: Vec<Extension>,
    headers: Vec<(String, Vec<u8>)>,
    nonce: [u8; 16],
    limits: HandshakeLimits,
}

impl ClientRequest {
    /// A request to `host` (the `Host` header: the server's host name, with
    /// `:port` unless it is the scheme's default) for target `/`, keyed by
    /// `nonce`, with the default [`HandshakeLimits`] for the response.
    pub fn new(host: impl Into<String>, nonce: [u8; 16]) -> ClientRequest {
        ClientRequest {
            host: host.into(),
            target: "/".into(),
            origin: None,
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: Vec::new(),
            nonce,
            limits: HandshakeLimits::DEFAULT,
        }
    }

    /// The request target: the resource name, path and query (section 3),
    /// starting with `/`.
    pub fn target(mut self, target: impl Into<String>) -> ClientRequest {
        self.target = target.into();
        self
    }

    /// Send an `Origin` header (browsers always do; other clients may).
    pub fn origin(mut self, origin: impl Into<String>) -> ClientRequest {
        self.origin = Some(origin.into());
        self
    }

    /// Offer a subprotocol; call once per protocol, most preferred first.
    pub fn protocol(mut self, protocol: impl Into<String>) -> ClientRequest {
        self.protocols.push(protocol.into());
        self
    }

    /// Offer an extension; call once per offer, most preferred first. The
    /// same extension may be offered several times with different
    /// parameters.
    pub fn extension(mut self, extension: Extension) -> ClientRequest {
        self.extensions.push(extension);
        self
    }

    /// Add an extra header (`Cookie`, `Authorization`, `User-Agent`...).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> ClientRequest {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The caps for reading the response.
    pub fn limits(mut self, limits: HandshakeLimits) -> ClientRequest {
        self.limits = limits;
        self
    }

    /// Check the request and, only if it is valid, append it to `out` and
    /// return the handshake that reads the response. `config` is the
    /// connection's: it adds the extensions it offers (see the type's
    /// docs), and the connection the response opens runs under it. The
    /// handshake keeps a copy of `config`, the subprotocols and the
    /// offers, to check the response against.
    ///
    /// Refuses with a [`BuildError`], writing nothing:
    /// [`InvalidHost`](BuildError::InvalidHost),
    /// [`InvalidTarget`](BuildError::InvalidTarget) (not starting with `/`)
    /// and [`InvalidOrigin`](BuildError::InvalidOrigin) for an empty value
    /// or one with anything but visible ASCII,
    /// [`InvalidProtocol`](BuildError::InvalidProtocol),
    /// [`InvalidExtension`](BuildError::InvalidExtension), and
    /// [`InvalidHeaderName`](BuildError::InvalidHeaderName),
    /// [`InvalidHeaderValue`](BuildError::InvalidHeaderValue) or
    /// [`ReservedHeader`](BuildError::ReservedHeader) for an extra header.
    pub fn write(&self, config: &Config, out: &mut Vec<u8>) -> Result<ClientHandshake, BuildError> {
        self.check()?;
        let offers = self.offers(config);
        let key = key_for_nonce(&self.nonce);
        // Section 4.1, items 1 to 12.
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(self.target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        self.write_headers(&key, &offers, out);
        out.extend_from_slice(b"\r\n");
        Ok(self.handshake(&key, config, offers))
    }

    /// The extensions this request offers under `config`: the
    /// application's, then the extension layer's.
    pub(super) fn offers(&self, config: &Config) -> Vec<Extension> {
        extension::offers(config, &self.extensions)
    }

    /// The header fields of the request (section 4.1, items 4 to 12), once
    /// [`check`](Self::check) passed, offering `offers`.
    pub(super) fn write_headers(&self, key: &str, offers: &[Extension], out: &mut impl HeaderSink) {
        out.header("Host", self.host.as_bytes());
        out.header("Upgrade", b"websocket");
        out.header("Connection", b"Upgrade");
        out.header("Sec-WebSocket-Key", key.as_bytes());
        self.write_offer_headers(offers, out);
    }

    /// The fields both handshakes send (section 4.1 items 9 to 12; RFC
    /// 8441 section 5): the version, `Origin`, the offers, the extras.
    pub(super) fn write_offer_headers(&self, offers: &[Extension], out: &mut impl HeaderSink) {
        out.header("Sec-WebSocket-Version", b"13");
        if let Some(origin) = &self.origin {
            out.header("Origin", origin.as_bytes());
        }
        if !self.protocols.is_empty() {
            let mut list = Vec::new();
            for (i, p) in self.protocols.iter().enumerate() {
                if i > 0 {
                    list.extend_from_slice(b", ");
                }
                list.extend_from_slice(p.as_bytes());
            }
            out.header("Sec-WebSocket-Protocol", &list);
        }
        if !offers.is_empty() {
            let mut list = Vec::new();
            write_extension_list(offers, &mut list);
            out.header("Sec-WebSocket-Extensions", &list);
        }
        for (name, value) in &self.headers {
            out.header(name, value);
        }
    }

    /// The key this request sends, derived from its nonce.
    #[cfg(feature = "http")]
    pub(super) fn key(&self) -> String {
        key_for_nonce(&self.nonce)
    }

    /// The handshake that checks the answer to this request, sent with `key`
    /// and `offers`, for a connection under `config`.
    pub(super) fn handshake(
        &self,
        key: &str,
        config: &Config,
        offers: Vec<Extension>,
    ) -> ClientHandshake {
        self.handshake_expecting(Some(accept_key(key.as_bytes())), config, offers)
    }

    /// The handshake that checks the answer to this request sent by
    /// extended CONNECT (RFC 8441), with `offers`.
    pub(super) fn connect_handshake(
        &self,
        config: &Config,
        offers: Vec<Extension>,
    ) -> ClientHandshake {
        self.handshake_expecting(None, config, offers)
    }

    fn handshake_expecting(
        &self,
        expected_accept: Option<String>,
        config: &Config,
        offers: Vec<Extension>,
    ) -> ClientHandshake {
        ClientHandshake {
            limits: self.limits,
            reader: HeadReader::new(self.limits.max_head_len),
            expected_accept,
            protocols: self.protocols.clone(),
            extensions: offers,
            config: config.clone(),
            state: State::Reading,
        }
    }

    /// The request target, for the other front ends.
    pub(super) fn target_str(&self) -> &str {
        &self.target
    }

    /// The host, for the extended CONNECT front ends (`:authority`).
    pub(super) fn host_str(&self) -> &str {
        &self.host
    }

    pub(super) fn check(&self) -> Result<(), BuildError> {
        if !is_visible_ascii(&self.host) {
            return Err(BuildError::InvalidHost);
        }
        if !self.target.starts_with('/') || !is_visible_ascii(&self.target) {
            return Err(BuildError::InvalidTarget);
        }
        if self.origin.as_deref().is_some_and(|o| !is_visible_ascii(o)) {
            return Err(BuildError::InvalidOrigin);
        }
        // Section 4.1 item 10: tokens, and unique.
        for (i, p) in self.protocols.iter().enumerate() {
            if !is_token(p.as_bytes()) || self.protocols[..i].contains(p) {
                return Err(BuildError::InvalidProtocol);
            }
        }
        if !self.extensions.iter().all(Extension::is_valid) {
            return Err(BuildError::InvalidExtension);
        }
        for (name, value) in &self.headers {
            check_extra_header(name, value)?;
        }
        Ok(())
    }
}

/// Reads and validates the server's answer to a [`ClientRequest`].
///
/// Call [`handle_input`](Self::handle_input) with each chunk of bytes read
/// from the transport, in order:
///
/// * `Ok(Status::Partial)`: every byte was taken; read more.
/// * `Ok(Status::Complete((response, used)))`: a valid 101 ended after
///   `used` bytes of the input just given; open the connection with
///   [`Response::open`], passing `&input[used..]` (the server's first
///   frames).
/// * `Err(error)`: fail the connection (close the transport). A non-101
///   answer is [`ClientHandshakeError::Status`], which carries it.
///
/// The outcome is final: after `Complete`, later calls return the same
/// response with `used == 0`; after an error, the same error.
///
/// The checks (section 4.1, after "the client MUST validate the server's
/// response"), in order: caps, HTTP syntax, status 101, HTTP/1.1,
/// `Upgrade: websocket`, `Connection: upgrade`, `Sec-WebSocket-Accept`,
/// `Sec-WebSocket-Protocol` (at most one, offered), and
/// `Sec-WebSocket-Extensions` (valid, each offered, and each a valid
/// answer to our offers of it by that extension's rules: for
/// permessage-deflate, one element at most, RFC 7692 section 7.1).
#[derive(Clone, Debug)]
pub struct ClientHandshake {
    limits: HandshakeLimits,
    reader: HeadReader,
    /// The `Sec-WebSocket-Accept` an HTTP/1.1 101 must carry; `None` for
    /// extended CONNECT (RFC 8441), answered by a 200 without one.
    expected_accept: Option<String>,
    protocols: Vec<String>,
    /// What the request offered, the config's offers included.
    extensions: Vec<Extension>,
    /// The connection's config, for [`Response::open`].
    config: Config,
    state: State,
}

#[derive(Clone, Debug)]
enum State {
    Reading,
    Done(Response),
    Failed(ClientHandshakeError),
}

impl ClientHandshake {
    /// Feed bytes received from the server; see the type's docs for what
    /// each outcome asks of the caller.
    ///
    /// `Partial` means all of `input` was consumed (buffered as part of the
    /// head). In `Complete((response, used))`, `used` counts bytes of this
    /// `input` only, and `input[used..]` was not looked at, except that a
    /// non-101 answer copies up to `max_head_len` of it as its
    /// [`body_start`](super::RejectedResponse::body_start).
    ///
    /// Cost: as [`ServerHandshake::handle_input`](super::server::ServerHandshake::handle_input):
    /// each byte scanned once and the head copied once, within
    /// [`HandshakeLimits::max_head_len`], then parsed once
    /// (`tests/handshake_client.rs`:
    /// `client_maximal_response_one_byte_at_a_time_is_linear_work`).
    ///
    /// Refuses with a [`ClientHandshakeError`], at the first check that
    /// fails in the order the type's docs give.
    pub fn handle_input(
        &mut self,
        input: &[u8],
    ) -> Result<Status<(&Response, usize)>, ClientHandshakeError> {
        let used = match self.state {
            State::Reading => self.read(input),
            State::Done(_) | State::Failed(_) => 0,
        };
        match &self.state {
            State::Reading => Ok(Status::Partial),
            State::Done(response) => Ok(Status::Complete((response, used))),
            State::Failed(error) => Err(error.clone()),
        }
    }

    fn read(&mut self, input: &[u8]) -> usize {
        let outcome = match self.reader.fill(input) {
            Ok(Fill::Partial) => return input.len(),
            Ok(Fill::Complete(used)) => {
                let head = self.reader.take_head();
                self.parse_response(&head, &input[used..])
                    .map(|r| (r, used))
            }
            Err(_) => Err(ClientHandshakeError::HeadTooLong),
        };
        match outcome {
            Ok((response, used)) => {
                self.state = State::Done(response);
                used
            }
            Err(error) => {
                self.reader.clear();
                self.state = State::Failed(error);
                0
            }
        }
    }

    /// Parse and validate a complete response head.
    fn parse_response(
        &self,
        head: &[u8],
        body_start: &[u8],
    ) -> Result<Response, ClientHandshakeError> {
        // As on the server: one slot per line is enough.
        let slots = self.limits.max_headers.min(self.reader.line_feeds());
        let mut slots = vec![httparse::EMPTY_HEADER; slots];
        let mut res = httparse::Response::new(&mut slots);
        match res.parse(head) {
            Ok(httparse::Status::Complete(n)) if n == head.len() => {}
            Err(httparse::Error::TooManyHeaders) => {
                return Err(ClientHandshakeError::TooManyHeaders);
            }
            Ok(_) | Err(_) => return Err(ClientHandshakeError::Malformed),
        }
        let status = res.code.ok_or(ClientHandshakeError::Malformed)?;
        self.validate_response(ResponseHead {
            status,
            reason: res.reason.unwrap_or("").into(),
            minor_version: res.version,
            headers: Headers::from_httparse(res.headers),
            body_start,
        })
    }

    /// Validate a parsed response head (section 4.1), whichever front end
    /// parsed it, in the order the type's docs give.
    pub(super) fn validate_response(
        &self,
        head: ResponseHead<'_>,
    ) -> Result<Response, ClientHandshakeError> {
        let ResponseHead {
            status,
            reason,
            minor_version,
            headers,
            body_start,
        } = head;
        let expected_status = match self.expected_accept {
            Some(_) => 101,
            // RFC 8441 section 5: exactly 200, see `check_response_fields`.
            None => 200,
        };
        if status != expected_status {
            // The body start is capped like the head it came with.
            return Err(ClientHandshakeError::Status(RejectedResponse::new(
                status,
                reason,
                headers,
                body_start,
                self.limits.max_head_len,
            )));
        }
        match &self.expected_accept {
            Some(expected_accept) => {
                if minor_version != Some(1) {
                    return Err(ClientHandshakeError::HttpVersion);
                }
                if !headers.has_token("upgrade", "websocket") {
                    return Err(ClientHandshakeError::MissingUpgrade);
                }
                if !headers.has_token("connection", "upgrade") {
                    return Err(ClientHandshakeError::MissingConnectionUpgrade);
                }
                match headers.single("sec-websocket-accept") {
                    Ok(Some(v)) if trim_ows(v) == expected_accept.as_bytes() => {}
                    _ => return Err(ClientHandshakeError::InvalidAccept),
                }
            }
            // An extended CONNECT is answered on HTTP/2 or HTTP/3: an
            // HTTP/1.x 200 (a byte-level read) is not its answer.
            None if minor_version.is_some() => return Err(ClientHandshakeError::HttpVersion),
            None => {}
        }

        let protocol = match parse_token_list(&headers, "sec-websocket-protocol") {
            Ok(list) => match <[String; 1]>::try_from(list) {
                Ok([p]) if self.protocols.contains(&p) => Some(p),
                Ok(_) => return Err(ClientHandshakeError::ProtocolNotOffered),
                Err(list) if list.is_empty() => None,
                Err(_) => return Err(ClientHandshakeError::ProtocolNotOffered),
            },
            Err(()) => return Err(ClientHandshakeError::ProtocolNotOffered),
        };

        let mut extensions = Vec::new();
        for value in headers.get_all("sec-websocket-extensions") {
            parse_extension_list(value, &mut extensions)
                .map_err(|_| ClientHandshakeError::InvalidExtensions)?;
        }
        if !extensions
            .iter()
            .all(|e| self.extensions.iter().any(|o| o.name() == e.name()))
        {
            return Err(ClientHandshakeError::ExtensionNotOffered);
        }
        extension::check_answer(&self.extensions, &extensions)
            .map_err(|_| ClientHandshakeError::InvalidExtensionResponse)?;

        Ok(Response {
            reason,
            headers,
            negotiated: Negotiated {
                protocol,
                extensions,
            },
            config: self.config.clone(),
        })
    }

    /// Whether this handshake checks the answer to an extended CONNECT
    /// (RFC 8441, RFC 9220): a 200 without `Sec-WebSocket-Accept`.
    #[must_use]
    pub fn is_extended_connect(&self) -> bool {
        self.expected_accept.is_none()
    }

    /// The response, once a valid 101 is complete.
    #[must_use]
    pub fn response(&self) -> Option<&Response> {
        match &self.state {
            State::Done(response) => Some(response),
            _ => None,
        }
    }

    /// Take the response out, once a valid 101 is complete.
    #[must_use]
    pub fn into_response(self) -> Option<Response> {
        match self.state {
            State::Done(response) => Some(response),
            _ => None,
        }
    }

    /// The caps this handshake enforces.
    #[must_use]
    pub fn limits(&self) -> HandshakeLimits {
        self.limits
    }

    /// How many bytes of an unfinished head are buffered; never more than
    /// [`HandshakeLimits::max_head_len`].
    #[must_use]
    pub fn buffered_len(&self) -> usize {
        self.reader.buffered_len()
    }

    /// The bytes scanned, copied or parsed so far: a measure of work for the
    /// test that proves it linear in the input. Not a stable API.
    #[doc(hidden)]
    #[must_use]
    pub fn bytes_examined(&self) -> usize {
        self.reader.examined()
    }
}

/// A parsed response head, whichever front end parsed it: the byte-level
/// reader (httparse) or an HTTP library's response (the `http` feature).
pub(super) struct ResponseHead<'a> {
    pub(super) status: u16,
    pub(super) reason: String,
    /// The minor version of an HTTP/1.x response; `None` for any other
    /// major version.
    pub(super) minor_version: Option<u8>,
    pub(super) headers: Headers,
    /// The bytes that came behind the head, for a refusal's body.
    pub(super) body_start: &'a [u8],
}

/// A server's valid 101 Switching Protocols response, as the client
/// received it: [`open`](Self::open) starts the connection it agreed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    reason: String,
    headers: Headers,
    negotiated: Negotiated,
    /// The config the request was written with, which the connection runs
    /// under (its deflate preferences included).
    config: Config,
}

impl Response {
    /// The reason phrase, possibly empty (`HTTP/1.1 101 ` is valid).
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Every header field of the response, in arrival order.
    #[must_use]
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The subprotocol and extensions the server chose ([`open`](Self::open)
    /// starts the connection with them).
    #[must_use]
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// Take the negotiated result out.
    #[must_use]
    pub fn into_negotiated(self) -> Negotiated {
        self.negotiated
    }

    /// The client's connection for this response: run under the
    /// [`Config`] the request was written with, with the extensions the
    /// server agreed to (permessage-deflate with the agreed parameters),
    /// and already fed `rest`, the bytes that followed the head in the
    /// input that completed it (`&input[used..]`; empty when an HTTP
    /// library read the response). `mask` supplies a masking key for
    /// every frame the client sends; see [`Connection::client`].
    ///
    /// Only a client's handshake makes a `Response`, so the connection is
    /// always a client's.
    ///
    /// Cost: that of [`Connection::client`] plus feeding `rest`, copied
    /// once as [`Connection::handle_input`] takes it; with
    /// permessage-deflate agreed, the connection boxes its codec, whose
    /// working memory waits for the first message.
    pub fn open(&self, now: Instant, rest: &[u8], mask: impl MaskSource + 'static) -> Connection {
        Connection::connected(&self.config, now, &self.negotiated.extensions, mask, rest)
    }
}
