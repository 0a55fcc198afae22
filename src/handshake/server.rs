//! The server side of the opening handshake (RFC 6455 section 4.2).

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::authority::is_valid_authority;
use super::error::{BuildError, HandshakeError};
use super::head::{Fill, HeadReader};
use super::header::{Headers, ascii_string, is_valid_key, parse_token_list, trim_ows};
use super::write::write_status_line;
use super::{HandshakeLimits, Negotiated};
use crate::config::Config;
use crate::connection::Connection;
use crate::extension::{Extension, parse_extension_list};
use crate::frame::Status;
use crate::time::Instant;

pub use super::response::{Accept, Reject};

/// Reads and validates a client's opening handshake.
///
/// # Driving it
///
/// Call [`handle_input`](Self::handle_input) with each chunk of bytes read
/// from the transport, in order:
///
/// * `Ok(Status::Partial)`: every byte was taken; read more.
/// * `Ok(Status::Complete((request, used)))`: the request head ended after
///   `used` bytes of the input just given. Decide, then either
///   [`Request::accept`], passing `&input[used..]` (the client's first
///   frames, if it did not wait for the 101) to the connection it
///   returns, or write a [`Reject`].
/// * `Err(error)`: write [`HandshakeError::response`], then close.
///
/// The outcome is final: after `Complete`, later calls return the same
/// request with `used == 0` (all of any later input belongs to the
/// connection); after an error, they return the same error.
///
/// # Validation order
///
/// The head must fit [`HandshakeLimits`] (else 431) and parse as HTTP/1.x
/// (else 400). Then, in order, the first failing rule decides the status:
/// method GET (405), HTTP/1.1 or later (400), request target: origin-form,
/// or absolute-form with scheme `http`, `https`, `ws` or `wss` and a valid
/// authority (400), no body (400), one `Host` with a valid value (400),
/// `Upgrade` present (426) and listing `websocket` (400), `Connection`
/// listing `upgrade` (400), `Sec-WebSocket-Version: 13` (426),
/// `Sec-WebSocket-Key` (400), `Origin` (400), `Sec-WebSocket-Protocol`
/// (400), `Sec-WebSocket-Extensions` (400). The version is checked before
/// the key so a client speaking an older draft learns which version to use.
///
/// A valid authority, in `Host` or in the target, is `host[:port]` as RFC
/// 3986 section 3.2 writes it, without userinfo, with a non-empty host and a
/// port (if any) up to 65535; an empty port (`example.com:`) is accepted, as
/// RFC 3986 allows it. RFC 9112 section 3.2 requires the 400 for an invalid
/// `Host`. `Host` is required and checked even when an absolute-form target
/// overrides it (see [`Request::host`]).
#[derive(Clone, Debug)]
pub struct ServerHandshake {
    limits: HandshakeLimits,
    reader: HeadReader,
    state: State,
}

#[derive(Clone, Debug)]
enum State {
    Reading,
    Done(Request),
    Failed(HandshakeError),
}

impl ServerHandshake {
    /// A handshake waiting for the first byte of a request. Allocates
    /// nothing until bytes arrive.
    #[must_use]
    pub fn new(limits: HandshakeLimits) -> ServerHandshake {
        ServerHandshake {
            limits,
            reader: HeadReader::new(limits.max_head_len),
            state: State::Reading,
        }
    }

    /// Feed bytes received from the client; see the type's docs for what
    /// each outcome asks of the caller.
    ///
    /// `Partial` means all of `input` was consumed (buffered as part of the
    /// head), unlike a stateless parser's `Partial`. In `Complete((request,
    /// used))`, `used` counts bytes of this `input` only, never of earlier
    /// calls, and `input[used..]` was not looked at.
    ///
    /// Cost: each byte is scanned once for the end of the head and copied
    /// once into a buffer that never grows past
    /// [`HandshakeLimits::max_head_len`]; the complete head is parsed once,
    /// its fields copied into the [`Request`], and the buffer freed. The
    /// work is linear in the bytes fed however they are chunked
    /// (`tests/handshake_server.rs`:
    /// `maximal_head_one_byte_at_a_time_is_linear_work`).
    ///
    /// Refuses with a [`HandshakeError`], whose status the type's docs
    /// give rule by rule: 431 over the limits (a head longer than
    /// `max_head_len` as soon as its bytes pass it, before they are
    /// buffered), 400, 405 or 426 for an invalid request
    /// (`tests/handshake_refusals.rs`).
    pub fn handle_input(
        &mut self,
        input: &[u8],
    ) -> Result<Status<(&Request, usize)>, HandshakeError> {
        let used = match self.state {
            State::Reading => self.read(input),
            State::Done(_) | State::Failed(_) => 0,
        };
        match &self.state {
            State::Reading => Ok(Status::Partial),
            State::Done(request) => Ok(Status::Complete((request, used))),
            State::Failed(error) => Err(*error),
        }
    }

    /// Advance the state with `input`, returning how many of its bytes the
    /// head took.
    fn read(&mut self, input: &[u8]) -> usize {
        let outcome = match self.reader.fill(input) {
            Ok(Fill::Partial) => return input.len(),
            Ok(Fill::Complete(used)) => {
                let head = self.reader.take_head();
                parse_request(&head, self.limits.max_headers, self.reader.line_feeds())
                    .map(|request| (request, used))
            }
            Err(_) => Err(HandshakeError::HeadTooLong),
        };
        match outcome {
            Ok((request, used)) => {
                self.state = State::Done(request);
                used
            }
            Err(error) => {
                self.reader.clear();
                self.state = State::Failed(error);
                0
            }
        }
    }

    /// The request, once the head is complete and valid.
    #[must_use]
    pub fn request(&self) -> Option<&Request> {
        match &self.state {
            State::Done(request) => Some(request),
            _ => None,
        }
    }

    /// Take the request out, once the head is complete and valid.
    #[must_use]
    pub fn into_request(self) -> Option<Request> {
        match self.state {
            State::Done(request) => Some(request),
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

/// A client's opening handshake that passed validation (section 4.2.1),
/// for the application to accept or reject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    target: String,
    /// The authority of an absolute-form target, else the `Host` value.
    host: String,
    origin: Option<String>,
    via: Via,
    protocols: Vec<String>,
    extensions: Vec<Extension>,
    headers: Headers,
}

/// Which handshake a [`Request`] came by: what its answer must be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Via {
    /// The HTTP/1.1 upgrade (RFC 6455 section 4), answered with a 101 that
    /// carries `Sec-WebSocket-Accept` for this key (trimmed, base64 of 16
    /// bytes).
    Upgrade { key: String },
    /// Extended CONNECT over HTTP/2 or HTTP/3 (RFC 8441, RFC 9220),
    /// answered with a 200; `scheme` is the `:scheme` pseudo-header.
    ExtendedConnect { scheme: String },
}

/// What every request offers, whichever handshake carried it: the
/// `Origin`, subprotocol and extension fields (section 4.1 items 8 to 10),
/// parsed once for both.
pub(super) struct Offer {
    pub(super) origin: Option<String>,
    pub(super) protocols: Vec<String>,
    pub(super) extensions: Vec<Extension>,
}

/// Parse the offer in `headers` (section 4.2.1 items 7 to 9).
pub(super) fn parse_offer(headers: &Headers) -> Result<Offer, HandshakeError> {
    // Item 7.
    let origin = match headers.single("origin") {
        Ok(Some(o)) => Some(
            core::str::from_utf8(o)
                .map_err(|_| HandshakeError::InvalidOrigin)?
                .into(),
        ),
        Ok(None) => None,
        Err(()) => return Err(HandshakeError::InvalidOrigin),
    };

    // Items 8 and 9.
    let protocols = parse_token_list(headers, "sec-websocket-protocol")
        .map_err(|()| HandshakeError::InvalidProtocols)?;
    let mut extensions = Vec::new();
    for value in headers.get_all("sec-websocket-extensions") {
        parse_extension_list(value, &mut extensions)
            .map_err(|_| HandshakeError::InvalidExtensions)?;
    }
    Ok(Offer {
        origin,
        protocols,
        extensions,
    })
}

impl Request {
    /// A request that came by extended CONNECT, validated by the
    /// `connect` module.
    pub(super) fn extended_connect(
        path: String,
        authority: String,
        scheme: String,
        offer: Offer,
        headers: Headers,
    ) -> Request {
        Request {
            target: path,
            host: authority,
            origin: offer.origin,
            via: Via::ExtendedConnect { scheme },
            protocols: offer.protocols,
            extensions: offer.extensions,
            headers,
        }
    }

    /// Which handshake this request came by.
    pub(super) fn via(&self) -> &Via {
        &self.via
    }

    /// Whether this request came by extended CONNECT (RFC 8441 over
    /// HTTP/2, RFC 9220 over HTTP/3) rather than by the HTTP/1.1 upgrade.
    /// Its answer is then a 200 without `Sec-WebSocket-Accept`:
    /// [`accept_http`](Self::accept_http) or
    /// [`accept_fields`](Self::accept_fields) write it, and
    /// [`accept`](Self::accept) refuses.
    #[must_use]
    pub fn is_extended_connect(&self) -> bool {
        matches!(self.via, Via::ExtendedConnect { .. })
    }

    /// The `:scheme` of an extended CONNECT request (`https` or `http`,
    /// RFC 8441 section 5), as sent; `None` for an HTTP/1.1 upgrade, whose
    /// scheme is the transport's.
    #[must_use]
    pub fn scheme(&self) -> Option<&str> {
        match &self.via {
            Via::Upgrade { .. } => None,
            Via::ExtendedConnect { scheme } => Some(scheme),
        }
    }

    /// The request target as sent: usually origin-form, `/path?query`; an
    /// absolute-form target such as `ws://host/path` is accepted as HTTP
    /// requires (RFC 9112 section 3.2.2), for the schemes `http`, `https`,
    /// `ws` and `wss` (any case). For extended CONNECT, the `:path`
    /// pseudo-header, always origin-form.
    #[must_use]
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path part of the target, without the query (and, for an
    /// absolute-form target, without scheme and authority; `/` if empty).
    /// A view of the target: no allocation.
    #[must_use]
    pub fn path(&self) -> &str {
        let resource = match self.target.find("://") {
            Some(i) if !self.target.starts_with('/') => {
                let after = &self.target[i + 3..];
                after.find(['/', '?']).map_or("", |j| &after[j..])
            }
            _ => &self.target,
        };
        let path = resource.split_once('?').map_or(resource, |(p, _)| p);
        if path.is_empty() { "/" } else { path }
    }

    /// The query part of the target, after `?`, if there is one.
    #[must_use]
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// The authority the request is for, `host[:port]` as sent: the
    /// authority of an absolute-form target (`evil.example:8080` in
    /// `GET ws://evil.example:8080/chat`), otherwise the `Host` header.
    ///
    /// RFC 9112 section 3.2.2 says an origin server MUST ignore `Host` when
    /// the target is absolute-form and use the target's authority instead;
    /// reporting `Host` there would let a request be routed or checked by
    /// one name while it names another. The `Host` header as received stays
    /// in [`headers`](Self::headers). Either way the value is a valid
    /// authority (see [`ServerHandshake`]); it is not lowercased. For
    /// extended CONNECT, the `:authority` pseudo-header.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The `Origin` header, sent by every browser (section 4.1 item 8, and
    /// RFC 6454). See [`origin_allowed`](Self::origin_allowed).
    #[must_use]
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// Whether `Origin` is present and equal (ASCII case-insensitively, as
    /// origins are serialized in lowercase) to one of `allowed`, e.g.
    /// `["https://example.com"]`.
    ///
    /// Checking the origin is what protects a cookie-authenticated endpoint
    /// from cross-site pages (section 10.2). A request without `Origin` is
    /// not from a browser; whether to admit such clients is the
    /// application's policy, so this returns `false` and leaves it to
    /// [`origin`](Self::origin). To refuse, write `Reject::new(403)`.
    #[must_use]
    pub fn origin_allowed(&self, allowed: &[&str]) -> bool {
        self.origin
            .as_deref()
            .is_some_and(|origin| allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)))
    }

    /// The `Sec-WebSocket-Key`, trimmed (base64 of 16 bytes). Empty for
    /// extended CONNECT, which does not use it (RFC 8441 section 5).
    #[must_use]
    pub fn key(&self) -> &str {
        match &self.via {
            Via::Upgrade { key } => key,
            Via::ExtendedConnect { .. } => "",
        }
    }

    /// The subprotocols offered, in the client's order of preference
    /// (section 4.1 item 10). Case-sensitive.
    #[must_use]
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extensions offered, in the client's order of preference, with
    /// their parameters (section 9.1). One extension may appear several
    /// times with different parameters, as alternatives. For
    /// permessage-deflate, `accept` picks among them as its `Config` says.
    #[must_use]
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// Every header field of the request, in arrival order.
    #[must_use]
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// Accept the handshake: check `accept` against this request (the
    /// subprotocol must be one offered, each extension's name one offered,
    /// a permessage-deflate element a valid answer to an offer of it, extra
    /// headers well-formed and not ones the handshake writes), add what
    /// `config` accepts (permessage-deflate as [`Config::deflate`] says,
    /// unless `accept` answers it), append the 101 Switching Protocols
    /// response to `out` (section 4.2.2), and return the server's
    /// connection with what was agreed.
    ///
    /// The connection runs under `config` with the agreed extensions and
    /// has been fed `rest`: the bytes that followed the head in the input
    /// that completed it (`&input[used..]`), frames a client may send
    /// before it sees the 101. Send `out` before anything the connection
    /// transmits.
    ///
    /// Cost: appends the 101 to `out` (one SHA-1 for
    /// `Sec-WebSocket-Accept`); `rest` is fed as
    /// [`Connection::handle_input`] takes it, copied once; with
    /// permessage-deflate agreed, the connection boxes its codec, whose
    /// working memory waits for the first message.
    ///
    /// Refuses with a [`BuildError`], writing nothing:
    /// [`ProtocolNotOffered`](BuildError::ProtocolNotOffered) for a
    /// subprotocol the client did not offer,
    /// [`InvalidExtension`](BuildError::InvalidExtension) and
    /// [`ExtensionNotOffered`](BuildError::ExtensionNotOffered) for an
    /// extension not a token or not offered,
    /// [`InvalidExtensionResponse`](BuildError::InvalidExtensionResponse)
    /// for a permessage-deflate answer that fits no offer, and
    /// [`InvalidHeaderName`](BuildError::InvalidHeaderName),
    /// [`InvalidHeaderValue`](BuildError::InvalidHeaderValue) or
    /// [`ReservedHeader`](BuildError::ReservedHeader) for an extra header.
    /// Fix the choice and call again. A request that came by extended
    /// CONNECT is refused with
    /// [`WrongHttpVersion`](BuildError::WrongHttpVersion): its answer is
    /// not an HTTP/1.1 101.
    pub fn accept(
        &self,
        accept: &Accept,
        config: &Config,
        now: Instant,
        rest: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(Connection, Negotiated), BuildError> {
        let Via::Upgrade { key } = &self.via else {
            return Err(BuildError::WrongHttpVersion);
        };
        let agreed = accept.agree(config, &self.protocols, &self.extensions)?;
        write_status_line(out, 101);
        accept.write_headers(key, &agreed, out);
        out.extend_from_slice(b"\r\n");
        Ok(open(config, now, rest, agreed))
    }

    /// What a front end needs from the request to accept it.
    pub(super) fn offer(&self) -> (&[String], &[Extension]) {
        (&self.protocols, &self.extensions)
    }
}

/// The server's connection for `agreed`: the one place both front ends
/// (bytes and `http`) start it, so both apply `config` the same way.
pub(super) fn open(
    config: &Config,
    now: Instant,
    rest: &[u8],
    agreed: Negotiated,
) -> (Connection, Negotiated) {
    let connection = Connection::accepted(config, now, &agreed.extensions, rest);
    (connection, agreed)
}

/// Parse and validate a complete request head.
fn parse_request(
    head: &[u8],
    max_headers: usize,
    line_feeds: usize,
) -> Result<Request, HandshakeError> {
    // Each header line ends with a line feed, so `line_feeds` slots are
    // enough for any head under the cap, and a huge configured cap does not
    // turn into a huge allocation.
    let mut slots = vec![httparse::EMPTY_HEADER; max_headers.min(line_feeds)];
    let mut req = httparse::Request::new(&mut slots);
    match req.parse(head) {
        Ok(httparse::Status::Complete(n)) if n == head.len() => {}
        Err(httparse::Error::TooManyHeaders) => return Err(HandshakeError::TooManyHeaders),
        // Partial or short: the empty line we found is not where httparse
        // sees the head end (e.g. only blank lines).
        Ok(_) | Err(_) => return Err(HandshakeError::Malformed),
    }

    validate_request(RequestHead {
        method: req.method.unwrap_or(""),
        minor_version: req.version,
        target: req.path,
        headers: Headers::from_httparse(req.headers),
    })
}

/// A parsed request head, whichever front end parsed it: this module's
/// byte-level reader (httparse), or an HTTP library's request (the `http`
/// feature). Both go through the one [`validate_request`], so they give the
/// same outcome for the same request.
pub(super) struct RequestHead<'a> {
    /// The method, as sent (case-sensitive, RFC 9110 section 9.1).
    pub(super) method: &'a str,
    /// The minor version of an HTTP/1.x request; `None` for any other
    /// major version.
    pub(super) minor_version: Option<u8>,
    /// The request target as sent; `None` if the parser had none.
    pub(super) target: Option<&'a str>,
    pub(super) headers: Headers,
}

/// Validate a parsed request head (section 4.2.1), in the order the
/// [`ServerHandshake`] docs give.
pub(super) fn validate_request(head: RequestHead<'_>) -> Result<Request, HandshakeError> {
    // Section 4.2.1 item 1.
    if head.method != "GET" {
        return Err(HandshakeError::MethodNotAllowed);
    }
    if head.minor_version != Some(1) {
        return Err(HandshakeError::HttpVersion);
    }
    let target = head.target.ok_or(HandshakeError::Malformed)?;
    let target_authority = match parse_target(target)? {
        Target::Origin => None,
        Target::Absolute { authority } => Some(authority),
    };
    let headers = head.headers;
    if headers.contains("transfer-encoding")
        || headers
            .get_all("content-length")
            .any(|v| trim_ows(v) != b"0")
    {
        return Err(HandshakeError::UnexpectedBody);
    }

    // Item 2, and RFC 9112 section 3.2: exactly one `Host`, with a valid
    // value, even when an absolute-form target's authority overrides it.
    let host = match headers.single("host") {
        Ok(Some(h)) if is_valid_authority(h) => h,
        Ok(_) | Err(()) => return Err(HandshakeError::InvalidHost),
    };
    // RFC 9112 section 3.2.2: the target's authority wins over `Host`.
    let host = target_authority.map_or_else(|| ascii_string(host), String::from);

    // Items 3 and 4: tokens in lists, any case, across repeated fields.
    if !headers.contains("upgrade") {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !headers.has_token("upgrade", "websocket") {
        return Err(HandshakeError::UpgradeNotWebSocket);
    }
    if !headers.has_token("connection", "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }

    // Item 6 (before item 5, see the type's docs).
    match headers.single("sec-websocket-version") {
        Ok(Some(v)) if trim_ows(v) == b"13" => {}
        _ => return Err(HandshakeError::UnsupportedVersion),
    }

    // Item 5.
    let key = match headers.single("sec-websocket-key") {
        Ok(Some(k)) => trim_ows(k),
        Ok(None) => return Err(HandshakeError::MissingKey),
        Err(()) => return Err(HandshakeError::InvalidKey),
    };
    if !is_valid_key(key) {
        return Err(HandshakeError::InvalidKey);
    }
    let key = ascii_string(key);

    let offer = parse_offer(&headers)?;
    Ok(Request {
        target: target.into(),
        host,
        origin: offer.origin,
        via: Via::Upgrade { key },
        protocols: offer.protocols,
        extensions: offer.extensions,
        headers,
    })
}

/// The schemes an absolute-form target may name (ASCII case-insensitively,
/// RFC 3986 section 3.1): the WebSocket ones of RFC 6455 section 3, and the
/// HTTP ones a proxy or an HTTP client library may write for the upgrade
/// request. Any other scheme (`javascript:`, `file:`, `ftp:`) cannot name a
/// WebSocket resource on this server.
const TARGET_SCHEMES: [&str; 4] = ["http", "https", "ws", "wss"];

/// The two request-target forms a GET to a resource may use (RFC 9112
/// section 3.2); the authority-form and asterisk-form are for CONNECT and
/// OPTIONS only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target<'a> {
    /// `/path?query` (section 3.2.1).
    Origin,
    /// `scheme://authority/path?query` (section 3.2.2), with the authority
    /// checked by [`is_valid_authority`].
    Absolute { authority: &'a str },
}

/// Classify `target`, refusing what is neither form, an absolute-form
/// target with a scheme outside [`TARGET_SCHEMES`], and one without a valid
/// authority (`ws:/path`, `ws:///path`, `ws://user@host/`): its authority
/// replaces `Host` (section 3.2.2), so it must be as valid as `Host` must
/// be. The authority ends at the first `/` or `?`; a `#` before those is
/// refused with it, as a request target has no fragment.
fn parse_target(target: &str) -> Result<Target<'_>, HandshakeError> {
    if target.starts_with('/') {
        return Ok(Target::Origin);
    }
    let (scheme, rest) = target
        .split_once("://")
        .ok_or(HandshakeError::InvalidTarget)?;
    if !TARGET_SCHEMES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
    {
        return Err(HandshakeError::InvalidTarget);
    }
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    if !is_valid_authority(authority.as_bytes()) {
        return Err(HandshakeError::InvalidTarget);
    }
    Ok(Target::Absolute { authority })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with_target(target: &str) -> Request {
        Request {
            target: target.into(),
            host: "h".into(),
            origin: None,
            via: Via::Upgrade { key: String::new() },
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: Headers::default(),
        }
    }

    #[test]
    fn path_and_query_of_both_target_forms() {
        for (target, path, query) in [
            ("/", "/", None),
            ("/chat?room=1", "/chat", Some("room=1")),
            ("/a?", "/a", Some("")),
            ("ws://example.com/chat?x=1", "/chat", Some("x=1")),
            ("ws://example.com", "/", None),
            ("ws://example.com?x", "/", Some("x")),
        ] {
            let r = request_with_target(target);
            assert_eq!((r.path(), r.query()), (path, query), "{target}");
        }
    }

    #[test]
    fn request_target_forms() {
        let absolute = |authority| Ok(Target::Absolute { authority });
        assert_eq!(parse_target("/"), Ok(Target::Origin));
        assert_eq!(parse_target("ws://h/x"), absolute("h"));
        assert_eq!(parse_target("https://h"), absolute("h"));
        assert_eq!(parse_target("WSS://[::1]:1?q"), absolute("[::1]:1"));
        for bad in [
            "*",
            "example.com:80",
            "1ws://h",
            "ws://",
            "ftp://h/",
            "ws:/h",
            "ws://a@h/",
        ] {
            assert_eq!(
                parse_target(bad),
                Err(HandshakeError::InvalidTarget),
                "{bad}"
            );
        }
    }
}
