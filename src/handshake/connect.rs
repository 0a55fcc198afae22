//! The extended CONNECT handshake: WebSocket over HTTP/2 (RFC 8441) and
//! over HTTP/3 (RFC 9220, the same rules on HTTP/3's streams).
//!
//! An HTTP/2 or HTTP/3 library frames the head; this module checks what it
//! parsed and builds what it sends, on plain field lists (pseudo-headers
//! first, as HEADERS frames carry them, for a library such as quiche that
//! hands them over that way) and, with the `http` feature, on the `http`
//! crate's types. Both end in the same [`Request`] and
//! [`ClientHandshake`] as the HTTP/1.1 upgrade, and so in the same
//! [`Connection`](crate::Connection), permessage-deflate included: only
//! the head differs (RFC 8441 section 5):
//!
//! | | HTTP/1.1 (RFC 6455) | HTTP/2, HTTP/3 (RFC 8441, RFC 9220) |
//! |---|---|---|
//! | request | `GET`, `Upgrade: websocket`, `Connection: Upgrade` | `:method CONNECT`, `:protocol websocket` |
//! | target | request target, `Host` | `:scheme`, `:authority`, `:path` |
//! | key | `Sec-WebSocket-Key` / `Sec-WebSocket-Accept` | not used |
//! | success | `101 Switching Protocols` | `200` (any other 2xx is refused) |
//! | offers | `Sec-WebSocket-Version`, `-Protocol`, `-Extensions`, `Origin` | the same fields |
//!
//! The offer fields are parsed by the HTTP/1.1 path's code, and the
//! answer's by the same client check, so both handshakes agree on every
//! subprotocol and extension.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::Negotiated;
use super::authority::is_valid_authority;
use super::client::{ClientHandshake, ClientRequest, Response, ResponseHead};
use super::error::{BuildError, ClientHandshakeError, HandshakeError};
use super::header::{Headers, ascii_string, is_field_value, is_token, trim_ows};
use super::server::{Accept, Reject, Request, Via, open, parse_offer};
use super::write::HeaderSink;
use crate::config::Config;
use crate::connection::Connection;
use crate::time::Instant;

/// The `:protocol` value of a WebSocket extended CONNECT (RFC 8441 section
/// 4): `websocket`.
///
/// The `http` crate has no field for `:protocol`; HTTP/2 and HTTP/3
/// libraries carry it as a request extension of their own type (`h2::ext::
/// Protocol`, `hyper::ext::Protocol`, `h3::ext::Protocol`). A client
/// attaches it, e.g. `request.extensions_mut().insert(h2::ext::Protocol::
/// from_static(CONNECT_PROTOCOL))`; a server passes its value to
/// [`Request::from_extended_connect`].
pub const CONNECT_PROTOCOL: &str = "websocket";

/// Why a server refused an extended CONNECT request (RFC 8441 section 4
/// and 5, RFC 9220), and the status that says so.
///
/// | variant | status | extra fields |
/// |---|---|---|
/// | [`MethodNotAllowed`](Self::MethodNotAllowed) | 405 | `allow: CONNECT` |
/// | [`UnsupportedVersion`](Self::UnsupportedVersion) | 400 | `sec-websocket-version: 13` |
/// | every other variant | 400 | |
///
/// Every response also carries `content-type: text/plain; charset=utf-8`
/// and a one-line body naming the problem, and no connection-specific
/// field (`Connection`, `Upgrade`...), which HTTP/2 and HTTP/3 forbid (RFC
/// 9113 section 8.2.2, RFC 9114 section 4.2).
///
/// Where the HTTP/1.1 upgrade answers 426 (a version other than 13, or a
/// plain request to a WebSocket resource), this answers 400: a 426 MUST
/// carry an `Upgrade` field (RFC 9110 section 15.5.22) and HTTP/2 and
/// HTTP/3 cannot carry one. A wrong version still names the one supported,
/// as RFC 6455 section 4.4 asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtendedConnectError {
    /// The field list breaks HTTP/2's or HTTP/3's rules for a request
    /// head: a pseudo-header after a regular field, repeated, unknown or
    /// missing `:method`, a field name with uppercase letters or that is
    /// not a token, a value with control characters or outer whitespace
    /// (RFC 9113 sections 8.2.1 and 8.3, RFC 9114 section 4.3). Found only
    /// by [`Request::from_extended_connect_fields`]; an HTTP library
    /// checked these already. 400.
    Malformed,
    /// An HTTP/1.x request, which cannot carry `:protocol`: the HTTP/1.1
    /// upgrade is `Request::from_http`'s. 400.
    HttpVersion,
    /// The method is not CONNECT (RFC 8441 section 4). 405 with
    /// `allow: CONNECT`.
    MethodNotAllowed,
    /// A CONNECT without `:protocol`: a tunnel request, for a proxy, not a
    /// WebSocket (RFC 9113 section 8.5). 400.
    MissingProtocol,
    /// `:protocol` is not `websocket` (RFC 8441 section 4; compared ASCII
    /// case-insensitively, as `Upgrade: websocket` is on HTTP/1.1). 400.
    ProtocolNotWebSocket,
    /// `:scheme` is missing or not `http` or `https` (RFC 8441 sections 4
    /// and 5). 400.
    InvalidScheme,
    /// `:path` is missing, or not an origin-form target: `/` followed by
    /// visible ASCII (RFC 8441 section 4, RFC 9113 section 8.3.1). 400.
    InvalidPath,
    /// `:authority` is missing or not a valid `host[:port]` (the rules of
    /// `Host` on HTTP/1.1, see
    /// [`ServerHandshake`](super::server::ServerHandshake)), or a `host`
    /// field is repeated or names another authority (RFC 9113 section
    /// 8.3.1). 400.
    InvalidAuthority,
    /// A connection-specific field: `connection`, `keep-alive`,
    /// `proxy-connection`, `transfer-encoding`, `upgrade`, or `te` other
    /// than `trailers`. HTTP/2 and HTTP/3 make such a request malformed
    /// (RFC 9113 section 8.2.2, RFC 9114 section 4.2). 400.
    ConnectionSpecificField,
    /// `sec-websocket-version` is missing, repeated or not `13` (RFC 8441
    /// section 5, RFC 6455 section 4.4). 400 with
    /// `sec-websocket-version: 13`.
    UnsupportedVersion,
    /// `origin` is repeated or not text. 400.
    InvalidOrigin,
    /// `sec-websocket-protocol` is not a list of tokens. 400.
    InvalidProtocols,
    /// `sec-websocket-extensions` does not follow RFC 6455 section 9.1. 400.
    InvalidExtensions,
}

impl ExtendedConnectError {
    /// The status to answer with.
    #[must_use]
    pub const fn status(self) -> u16 {
        match self {
            ExtendedConnectError::MethodNotAllowed => 405,
            _ => 400,
        }
    }

    /// A short, plain ASCII description, used as the response body.
    #[must_use]
    pub const fn reason(self) -> &'static str {
        match self {
            ExtendedConnectError::Malformed => "malformed request fields",
            ExtendedConnectError::HttpVersion => {
                "extended CONNECT needs HTTP/2 or HTTP/3; HTTP/1.1 upgrades with GET"
            }
            ExtendedConnectError::MethodNotAllowed => {
                "WebSocket over HTTP/2 or HTTP/3 uses CONNECT"
            }
            ExtendedConnectError::MissingProtocol => "CONNECT without :protocol",
            ExtendedConnectError::ProtocolNotWebSocket => ":protocol is not websocket",
            ExtendedConnectError::InvalidScheme => "missing or invalid :scheme",
            ExtendedConnectError::InvalidPath => "missing or invalid :path",
            ExtendedConnectError::InvalidAuthority => "missing or invalid :authority",
            ExtendedConnectError::ConnectionSpecificField => {
                "connection-specific header field in an HTTP/2 or HTTP/3 request"
            }
            ExtendedConnectError::UnsupportedVersion => "unsupported Sec-WebSocket-Version",
            ExtendedConnectError::InvalidOrigin => "invalid Origin",
            ExtendedConnectError::InvalidProtocols => "invalid Sec-WebSocket-Protocol",
            ExtendedConnectError::InvalidExtensions => "invalid Sec-WebSocket-Extensions",
        }
    }

    /// The fields the status calls for and the body's type.
    pub(crate) fn write_fields(self, out: &mut impl HeaderSink) {
        match self {
            ExtendedConnectError::MethodNotAllowed => out.header("allow", b"CONNECT"),
            ExtendedConnectError::UnsupportedVersion => {
                out.header("sec-websocket-version", b"13");
            }
            _ => {}
        }
        out.header("content-type", b"text/plain; charset=utf-8");
    }

    /// The response head for this error as a field list: `:status` first,
    /// then the fields of the type's table, all lowercase, for an HTTP/2
    /// or HTTP/3 library that takes plain lists. Send it with
    /// [`reason`](Self::reason) and a line feed as the body (or no body),
    /// then end the stream.
    ///
    /// Cost: allocates the list (four fields at most).
    #[must_use]
    pub fn response_fields(self) -> Headers {
        let mut fields = Headers::default();
        let mut status = Vec::new();
        super::write::write_decimal(&mut status, usize::from(self.status()));
        fields.push_lowercase(":status", &status);
        self.write_fields(&mut fields);
        fields
    }

    /// The same refusal by the HTTP/1.1 path's error, for the offer fields
    /// both paths parse with one function.
    fn from_offer(error: HandshakeError) -> ExtendedConnectError {
        match error {
            HandshakeError::InvalidOrigin => ExtendedConnectError::InvalidOrigin,
            HandshakeError::InvalidProtocols => ExtendedConnectError::InvalidProtocols,
            _ => ExtendedConnectError::InvalidExtensions,
        }
    }
}

impl fmt::Display for ExtendedConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {})", self.reason(), self.status())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ExtendedConnectError {}

/// An extended CONNECT request head as a front end found it: the
/// pseudo-headers (`None` when absent) and the regular fields.
pub(super) struct ConnectHead<'a> {
    pub(super) method: &'a [u8],
    pub(super) protocol: Option<&'a [u8]>,
    pub(super) scheme: Option<&'a [u8]>,
    pub(super) path: Option<&'a [u8]>,
    pub(super) authority: Option<&'a [u8]>,
    pub(super) headers: Headers,
}

/// Fields HTTP/2 and HTTP/3 forbid (RFC 9113 section 8.2.2, RFC 9114
/// section 4.2); `te` is checked apart, as `te: trailers` is allowed.
const CONNECTION_SPECIFIC: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// Validate an extended CONNECT request, in the order of
/// [`Request::from_extended_connect_fields`]' docs.
pub(super) fn validate_connect(head: ConnectHead<'_>) -> Result<Request, ExtendedConnectError> {
    use ExtendedConnectError as E;
    if head.method != b"CONNECT" {
        return Err(E::MethodNotAllowed);
    }
    match head.protocol {
        None => return Err(E::MissingProtocol),
        Some(p) if !p.eq_ignore_ascii_case(CONNECT_PROTOCOL.as_bytes()) => {
            return Err(E::ProtocolNotWebSocket);
        }
        Some(_) => {}
    }
    let scheme = match head.scheme {
        Some(s) if is_http_scheme(s) => s,
        _ => return Err(E::InvalidScheme),
    };
    let path = match head.path {
        Some(p) if p.first() == Some(&b'/') && p.iter().all(u8::is_ascii_graphic) => p,
        _ => return Err(E::InvalidPath),
    };
    let authority = match head.authority {
        Some(a) if is_valid_authority(a) => a,
        _ => return Err(E::InvalidAuthority),
    };
    let headers = head.headers;
    match headers.single("host") {
        Ok(None) => {}
        Ok(Some(host)) if trim_ows(host).eq_ignore_ascii_case(authority) => {}
        Ok(Some(_)) | Err(()) => return Err(E::InvalidAuthority),
    }
    if CONNECTION_SPECIFIC
        .iter()
        .any(|name| headers.contains(name))
        || headers
            .get_all("te")
            .any(|v| !trim_ows(v).eq_ignore_ascii_case(b"trailers"))
    {
        return Err(E::ConnectionSpecificField);
    }
    // RFC 8441 section 5: the version as on HTTP/1.1; no key.
    match headers.single("sec-websocket-version") {
        Ok(Some(v)) if trim_ows(v) == b"13" => {}
        _ => return Err(E::UnsupportedVersion),
    }
    let offer = parse_offer(&headers).map_err(E::from_offer)?;
    Ok(Request::extended_connect(
        ascii_string(path),
        ascii_string(authority),
        ascii_string(scheme),
        offer,
        headers,
    ))
}

/// `http` or `https`, any case (RFC 8441 section 5: the scheme of a `ws`
/// or `wss` URI's HTTP counterpart).
fn is_http_scheme(scheme: &[u8]) -> bool {
    scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"https")
}

/// Whether `name` may name a field of an HTTP/2 or HTTP/3 head: a token
/// without uppercase letters (RFC 9113 section 8.2.1, RFC 9114 section
/// 4.2).
fn is_lowercase_token(name: &[u8]) -> bool {
    is_token(name) && !name.iter().any(u8::is_ascii_uppercase)
}

/// Split a field list into pseudo-headers and regular fields, checking the
/// rules HTTP/2 and HTTP/3 set on both. `pseudo` is called with each
/// pseudo-header, in order, and returns `false` for one it does not know
/// or has seen; every pseudo-header must come before the regular fields.
fn split_fields<'a>(
    fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    mut pseudo: impl FnMut(&[u8], &'a [u8]) -> bool,
) -> Result<Headers, ()> {
    let mut headers = Headers::default();
    for (name, value) in fields {
        if !is_field_value(value) {
            return Err(());
        }
        match name.strip_prefix(b":") {
            Some(pseudo_name) => {
                if !headers.is_empty() || !pseudo(pseudo_name, value) {
                    return Err(());
                }
            }
            None if is_lowercase_token(name) => {
                headers.push_lowercase(&ascii_string(name), value);
            }
            None => return Err(()),
        }
    }
    Ok(headers)
}

/// Set `slot` to `value` unless it is set already.
fn set_once<'a>(slot: &mut Option<&'a [u8]>, value: &'a [u8]) -> bool {
    slot.replace(value).is_none()
}

impl Request {
    /// Validate an extended CONNECT request (RFC 8441 over HTTP/2, RFC
    /// 9220 over HTTP/3) given as the field list of its HEADERS frame:
    /// pseudo-headers first, then the regular fields, as a library such as
    /// quiche hands them over (`headers.iter().map(|h| (h.name(),
    /// h.value()))`).
    ///
    /// The checks, in order, the first failing one deciding the
    /// [`ExtendedConnectError`]: the list's syntax (pseudo-headers first,
    /// each once, only `:method`, `:protocol`, `:scheme`, `:path` and
    /// `:authority`, `:method` present, lowercase token names, values
    /// without controls or outer whitespace), `:method` CONNECT (405),
    /// `:protocol` present and `websocket`, `:scheme` `http` or `https`,
    /// `:path` origin-form, `:authority` a valid `host[:port]` and any
    /// `host` equal to it, no connection-specific field,
    /// `sec-websocket-version: 13`, then `origin`,
    /// `sec-websocket-protocol` and `sec-websocket-extensions` as on
    /// HTTP/1.1 (all 400 but the method). `sec-websocket-key` is not
    /// required, and ignored if sent (RFC 8441 section 5).
    ///
    /// Accept with [`accept_fields`](Self::accept_fields) (or
    /// [`accept_http`](Self::accept_http)); refuse with
    /// [`ExtendedConnectError::response_fields`] or a
    /// [`Reject::response_fields`].
    ///
    /// Cost: one pass over the fields; the pseudo-header values and every
    /// regular field are copied into the [`Request`]. The length of the
    /// head is the HTTP library's to cap (its header list size limit).
    pub fn from_extended_connect_fields<'a>(
        fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Result<Request, ExtendedConnectError> {
        let (mut method, mut protocol, mut scheme, mut path, mut authority) =
            (None, None, None, None, None);
        let headers = split_fields(fields, |name, value| {
            let slot = match name {
                b"method" => &mut method,
                b"protocol" => &mut protocol,
                b"scheme" => &mut scheme,
                b"path" => &mut path,
                b"authority" => &mut authority,
                _ => return false,
            };
            set_once(slot, value)
        })
        .map_err(|()| ExtendedConnectError::Malformed)?;
        validate_connect(ConnectHead {
            method: method.ok_or(ExtendedConnectError::Malformed)?,
            protocol,
            scheme,
            path,
            authority,
            headers,
        })
    }

    /// Accept an extended CONNECT request: check `accept` as
    /// [`accept`](Self::accept) does, and return the server's connection
    /// (under `config`, with the agreed extensions), what was agreed, and
    /// the response head as a field list: `:status` `200`, then
    /// `sec-websocket-protocol` and `sec-websocket-extensions` if agreed,
    /// then `accept`'s extra fields, all lowercase (RFC 8441 section 5).
    /// Send it without END_STREAM: the stream's DATA frames then carry the
    /// connection's bytes both ways.
    ///
    /// Cost: allocates the field list; no hash (there is no
    /// `Sec-WebSocket-Accept`). With permessage-deflate agreed, the
    /// connection boxes its codec, whose working memory waits for the
    /// first message.
    ///
    /// Refuses with the [`BuildError`]s of [`accept`](Self::accept), for
    /// the same choices, and with
    /// [`WrongHttpVersion`](BuildError::WrongHttpVersion) for a request
    /// that came by the HTTP/1.1 upgrade, whose answer is a 101 with
    /// `Sec-WebSocket-Accept`. On error nothing changed.
    pub fn accept_fields(
        &self,
        accept: &Accept,
        config: &Config,
        now: Instant,
    ) -> Result<(Connection, Negotiated, Headers), BuildError> {
        let Via::ExtendedConnect { .. } = self.via() else {
            return Err(BuildError::WrongHttpVersion);
        };
        let (protocols, extensions) = self.offer();
        let agreed = accept.agree(config, protocols, extensions)?;
        let mut fields = Headers::default();
        fields.push_lowercase(":status", b"200");
        accept.write_agreed(&agreed, &mut fields);
        let (connection, agreed) = open(config, now, &[], agreed);
        Ok((connection, agreed, fields))
    }
}

impl ClientRequest {
    /// Check the request for extended CONNECT with `scheme` (`https` for a
    /// `wss` URI, `http` for `ws`, RFC 8441 section 5).
    pub(super) fn check_connect(&self, scheme: &str) -> Result<(), BuildError> {
        self.check()?;
        if !is_valid_authority(self.host_str().as_bytes()) {
            return Err(BuildError::InvalidHost);
        }
        if !is_http_scheme(scheme.as_bytes()) {
            return Err(BuildError::InvalidScheme);
        }
        Ok(())
    }

    /// Check the request and, only if it is valid, return it as the field
    /// list of an extended CONNECT (RFC 8441 section 4 and 5, RFC 9220):
    /// `:method CONNECT`, `:protocol websocket`, `:scheme` (`scheme`),
    /// `:authority` (the host), `:path` (the target), then
    /// `sec-websocket-version: 13`, `origin`, `sec-websocket-protocol`,
    /// `sec-websocket-extensions` (this request's offers and those of
    /// `config`, as [`write`](Self::write) offers them) and the extra
    /// fields, all lowercase. No `Sec-WebSocket-Key`: the nonce is not
    /// used. Pass the response's fields to
    /// [`ClientHandshake::check_response_fields`].
    ///
    /// `scheme` is `https` for a `wss` URI and `http` for a `ws` one (any
    /// case). The peer must have sent `SETTINGS_ENABLE_CONNECT_PROTOCOL`
    /// first (RFC 8441 section 3); that is the HTTP library's to check.
    ///
    /// Refuses with the [`BuildError`]s of [`write`](Self::write),
    /// [`InvalidHost`](BuildError::InvalidHost) for a host that is not a
    /// valid `host[:port]`, and
    /// [`InvalidScheme`](BuildError::InvalidScheme).
    ///
    /// Cost: allocates the list and the handshake's copy of `config` and
    /// the offers.
    pub fn to_extended_connect_fields(
        &self,
        config: &Config,
        scheme: &str,
    ) -> Result<(Headers, ClientHandshake), BuildError> {
        self.check_connect(scheme)?;
        let offers = self.offers(config);
        let mut fields = Headers::default();
        fields.push_lowercase(":method", b"CONNECT");
        fields.push_lowercase(":protocol", CONNECT_PROTOCOL.as_bytes());
        fields.push_lowercase(":scheme", scheme.as_bytes());
        fields.push_lowercase(":authority", self.host_str().as_bytes());
        fields.push_lowercase(":path", self.target_str().as_bytes());
        self.write_offer_headers(&offers, &mut fields);
        Ok((fields, self.connect_handshake(config, offers)))
    }
}

impl ClientHandshake {
    /// Validate the answer to an extended CONNECT, given as the field list
    /// of its HEADERS frame (`:status` first), as a library such as quiche
    /// hands it over.
    ///
    /// The checks: the list's syntax (one `:status` of three digits, 100
    /// to 999, no
    /// other pseudo-header, pseudo-headers first, lowercase token names),
    /// else [`Malformed`](ClientHandshakeError::Malformed); status 200,
    /// else [`Status`](ClientHandshakeError::Status) (any other 2xx too:
    /// RFC 8441 section 5 answers with 200, and RFC 9110 section 9.3.6
    /// makes any 2xx to a CONNECT a tunnel, so only 200 says the server
    /// speaks WebSocket); then `sec-websocket-protocol` and
    /// `sec-websocket-extensions` as on HTTP/1.1. No
    /// `Sec-WebSocket-Accept` is looked for.
    ///
    /// Open the connection with [`Response::open`], with no `rest`.
    /// This does not change the handshake's state. A handshake made by
    /// [`ClientRequest::write`] refuses every list with
    /// [`HttpVersion`](ClientHandshakeError::HttpVersion).
    pub fn check_response_fields<'a>(
        &self,
        fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Result<Response, ClientHandshakeError> {
        let mut status = None;
        let headers = split_fields(fields, |name, value| {
            name == b"status" && set_once(&mut status, value)
        })
        .map_err(|()| ClientHandshakeError::Malformed)?;
        let status = match status {
            // 100 to 999, as the `http` crate's `StatusCode` holds: a
            // leading zero is not a status (RFC 9110 section 15).
            Some(s) if s.len() == 3 && s.iter().all(u8::is_ascii_digit) && s[0] != b'0' => {
                s.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'))
            }
            _ => return Err(ClientHandshakeError::Malformed),
        };
        if !self.is_extended_connect() {
            return Err(ClientHandshakeError::HttpVersion);
        }
        self.validate_response(ResponseHead {
            status,
            reason: String::new(),
            minor_version: None,
            headers,
            body_start: &[],
        })
    }
}

impl Reject {
    /// This refusal as the head of an HTTP/2 or HTTP/3 response: `:status`
    /// then the extra headers, lowercased, and no `connection` field, which
    /// HTTP/2 and HTTP/3 forbid (RFC 9113 section 8.2.2, RFC 9114 section
    /// 4.2). Send the body (if any) as the stream's DATA, then end the
    /// stream.
    ///
    /// Refuses as [`write`](Self::write) does: [`BuildError::InvalidStatus`]
    /// outside 200-999, and [`BuildError::InvalidHeaderName`],
    /// [`BuildError::InvalidHeaderValue`] or [`BuildError::ReservedHeader`]
    /// for an extra header. A 2xx refusal is the caller's choice, but a
    /// client of this crate reads only a 200 as an accept.
    ///
    /// Cost: allocates the list.
    pub fn response_fields(&self) -> Result<Headers, BuildError> {
        self.check()?;
        let mut fields = Headers::default();
        let mut status = Vec::new();
        super::write::write_decimal(&mut status, usize::from(self.status));
        fields.push_lowercase(":status", &status);
        for (name, value) in &self.headers {
            fields.push_lowercase(name, value);
        }
        Ok(fields)
    }
}
