//! Handshake errors, split by blame (house rule 6).
//!
//! * [`HandshakeError`]: the client's request was refused. Each variant maps
//!   to exactly one HTTP status, and [`HandshakeError::response`] is the
//!   complete response to send before closing the transport.
//! * [`ClientHandshakeError`]: the server's response was refused (or was not
//!   an upgrade at all). There is nothing to send: close the transport.
//! * [`BuildError`]: the local application asked to write a request or
//!   response the protocol does not allow. Nothing was written and no state
//!   changed.

use alloc::vec::Vec;
use core::fmt;

use super::rejected::RejectedResponse;
use super::write::{HeaderSink, write_content_length, write_status_line};

/// Why a server refused a client's opening handshake (RFC 6455 section
/// 4.2.1), and the HTTP status that says so.
///
/// | variant | status | extra headers |
/// |---|---|---|
/// | [`HeadTooLong`](Self::HeadTooLong), [`TooManyHeaders`](Self::TooManyHeaders) | 431 | |
/// | [`Malformed`](Self::Malformed), [`HttpVersion`](Self::HttpVersion), [`InvalidTarget`](Self::InvalidTarget), [`InvalidHost`](Self::InvalidHost) | 400 | |
/// | [`MethodNotAllowed`](Self::MethodNotAllowed) | 405 | `Allow: GET` |
/// | [`MissingUpgrade`](Self::MissingUpgrade) | 426 | `Upgrade: websocket` |
/// | [`UpgradeNotWebSocket`](Self::UpgradeNotWebSocket), [`MissingConnectionUpgrade`](Self::MissingConnectionUpgrade) | 400 | |
/// | [`UnsupportedVersion`](Self::UnsupportedVersion) | 426 | `Sec-WebSocket-Version: 13`, `Upgrade: websocket` |
/// | [`MissingKey`](Self::MissingKey), [`InvalidKey`](Self::InvalidKey), [`InvalidOrigin`](Self::InvalidOrigin), [`InvalidProtocols`](Self::InvalidProtocols), [`InvalidExtensions`](Self::InvalidExtensions), [`UnexpectedBody`](Self::UnexpectedBody) | 400 | |
///
/// Every response also carries `Connection: close`, a plain-text body
/// naming the problem, and its `Content-Length`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The head grew past [`HandshakeLimits::max_head_len`](super::HandshakeLimits::max_head_len). 431.
    HeadTooLong,
    /// The head had more than [`HandshakeLimits::max_headers`](super::HandshakeLimits::max_headers) header lines. 431.
    TooManyHeaders,
    /// Not an HTTP/1.x request head (bad request line, header syntax, bare CR...). 400.
    Malformed,
    /// The method was not GET (section 4.2.1 item 1). 405 with `Allow: GET`.
    MethodNotAllowed,
    /// HTTP/1.0: the handshake needs HTTP/1.1 or later (section 4.2.1 item 1).
    /// 400, not 505: the major version is supported.
    HttpVersion,
    /// The request target is neither origin-form (`/path?query`) nor
    /// absolute-form (`ws://host/path`) with the scheme `http`, `https`,
    /// `ws` or `wss` and a valid authority, as `Host` must have (section
    /// 4.2.1 item 1; RFC 9112 section 3.2). 400.
    InvalidTarget,
    /// `Host` is missing, repeated, or its value is not a valid authority
    /// `host[:port]`: empty, with userinfo, spaces or control characters, a
    /// port that is not a number up to 65535, unbalanced IPv6 brackets...
    /// (section 4.2.1 item 2; RFC 9112 section 3.2 requires the 400). 400.
    InvalidHost,
    /// No `Upgrade` header at all: a plain HTTP request to a WebSocket
    /// resource. 426 Upgrade Required with `Upgrade: websocket`.
    MissingUpgrade,
    /// `Upgrade` is present but does not list `websocket` (section 4.2.1
    /// item 3). 400.
    UpgradeNotWebSocket,
    /// `Connection` is missing or does not list `upgrade` (section 4.2.1
    /// item 4). 400.
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Version` is missing, repeated or not `13` (section
    /// 4.2.1 item 6, section 4.4). 426 with `Sec-WebSocket-Version: 13`.
    UnsupportedVersion,
    /// No `Sec-WebSocket-Key` (section 4.2.1 item 5). 400.
    MissingKey,
    /// `Sec-WebSocket-Key` is repeated or is not the base64 encoding of
    /// exactly 16 bytes (section 4.2.1 item 5). 400.
    InvalidKey,
    /// `Origin` is repeated or not text. 400.
    InvalidOrigin,
    /// `Sec-WebSocket-Protocol` is not a list of tokens (section 4.1). 400.
    InvalidProtocols,
    /// `Sec-WebSocket-Extensions` does not follow section 9.1. 400.
    InvalidExtensions,
    /// The request announces a body (`Transfer-Encoding`, or a
    /// `Content-Length` other than 0). Its bytes would sit between the head
    /// and the first frame, where neither HTTP nor WebSocket framing could
    /// tell them apart, so it is refused rather than guessed at. 400.
    UnexpectedBody,
}

impl HandshakeError {
    /// The HTTP status to answer with.
    #[must_use]
    pub const fn status(self) -> u16 {
        match self {
            HandshakeError::HeadTooLong | HandshakeError::TooManyHeaders => 431,
            HandshakeError::MethodNotAllowed => 405,
            HandshakeError::MissingUpgrade | HandshakeError::UnsupportedVersion => 426,
            HandshakeError::Malformed
            | HandshakeError::HttpVersion
            | HandshakeError::InvalidTarget
            | HandshakeError::InvalidHost
            | HandshakeError::UpgradeNotWebSocket
            | HandshakeError::MissingConnectionUpgrade
            | HandshakeError::MissingKey
            | HandshakeError::InvalidKey
            | HandshakeError::InvalidOrigin
            | HandshakeError::InvalidProtocols
            | HandshakeError::InvalidExtensions
            | HandshakeError::UnexpectedBody => 400,
        }
    }

    /// A short, plain ASCII description, used as the response body.
    #[must_use]
    pub const fn reason(self) -> &'static str {
        match self {
            HandshakeError::HeadTooLong => "request head too long",
            HandshakeError::TooManyHeaders => "too many header fields",
            HandshakeError::Malformed => "malformed HTTP request",
            HandshakeError::MethodNotAllowed => "the WebSocket handshake must use GET",
            HandshakeError::HttpVersion => "the WebSocket handshake needs HTTP/1.1",
            HandshakeError::InvalidTarget => "invalid request target",
            HandshakeError::InvalidHost => "missing or invalid Host",
            HandshakeError::MissingUpgrade => "this resource requires a WebSocket upgrade",
            HandshakeError::UpgradeNotWebSocket => "Upgrade does not name websocket",
            HandshakeError::MissingConnectionUpgrade => "Connection does not name upgrade",
            HandshakeError::UnsupportedVersion => "unsupported Sec-WebSocket-Version",
            HandshakeError::MissingKey => "missing Sec-WebSocket-Key",
            HandshakeError::InvalidKey => "invalid Sec-WebSocket-Key",
            HandshakeError::InvalidOrigin => "invalid Origin",
            HandshakeError::InvalidProtocols => "invalid Sec-WebSocket-Protocol",
            HandshakeError::InvalidExtensions => "invalid Sec-WebSocket-Extensions",
            HandshakeError::UnexpectedBody => "a WebSocket handshake request has no body",
        }
    }

    /// Append the complete HTTP response for this error to `out`: status
    /// line, the headers the status calls for, `Connection: close`,
    /// `Content-Type`, `Content-Length` and a one-line body. Send it, then
    /// close the transport. Never fails; it only appends to `out`.
    pub fn write_response(self, out: &mut Vec<u8>) {
        write_status_line(out, self.status());
        self.write_headers(out);
        let reason = self.reason();
        write_content_length(out, reason.len() + 1);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(reason.as_bytes());
        out.push(b'\n');
    }

    /// The header fields the status calls for, `Connection` and
    /// `Content-Type`: everything but the framing (`Content-Length`).
    pub(crate) fn write_headers(self, out: &mut impl HeaderSink) {
        let upgrade = match self {
            HandshakeError::MethodNotAllowed => {
                out.header("Allow", b"GET");
                false
            }
            HandshakeError::UnsupportedVersion => {
                out.header("Sec-WebSocket-Version", b"13");
                true
            }
            HandshakeError::MissingUpgrade => true,
            _ => false,
        };
        if upgrade {
            // RFC 7231 section 6.5.15: a 426 MUST name the protocol to
            // upgrade to, and RFC 7230 section 6.7: an Upgrade field MUST
            // come with the "upgrade" connection option.
            out.header("Upgrade", b"websocket");
            out.header("Connection", b"Upgrade, close");
        } else {
            out.header("Connection", b"close");
        }
        out.header("Content-Type", b"text/plain; charset=utf-8");
    }

    /// The complete HTTP response for this error, as [`write_response`](Self::write_response) writes it.
    #[must_use]
    pub fn response(self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_response(&mut out);
        out
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {})", self.reason(), self.status())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HandshakeError {}

/// Why a client refused the server's answer to its opening handshake
/// (RFC 6455 section 4.1, "the client MUST _Fail the WebSocket
/// Connection_"). Close the transport; there is nothing to send.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientHandshakeError {
    /// The response head grew past the configured maximum.
    HeadTooLong,
    /// The response had more header lines than the configured maximum.
    TooManyHeaders,
    /// Not an HTTP/1.x response head.
    Malformed,
    /// The server answered with a status other than 101 (200 for extended
    /// CONNECT, any other 2xx included): a redirect, an authentication
    /// challenge, an error. The response is attached so the
    /// application can follow or report it.
    Status(RejectedResponse),
    /// A 101 over HTTP/1.0, which cannot switch protocols, or, for
    /// extended CONNECT (RFC 8441), an answer read as HTTP/1.x.
    HttpVersion,
    /// `Upgrade` does not list `websocket`.
    MissingUpgrade,
    /// `Connection` does not list `upgrade`.
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Accept` is missing, repeated, or not the value for the
    /// key we sent.
    InvalidAccept,
    /// `Sec-WebSocket-Protocol` names a subprotocol we did not offer, names
    /// more than one, or is not a token.
    ProtocolNotOffered,
    /// `Sec-WebSocket-Extensions` does not follow section 9.1.
    InvalidExtensions,
    /// `Sec-WebSocket-Extensions` names an extension we did not offer.
    ExtensionNotOffered,
    /// The server's answer to our permessage-deflate offers is not one RFC
    /// 7692 section 7.1 allows: the element appears twice, has an unknown
    /// or repeated parameter or an invalid value, or does not fit any of
    /// our offers (a window larger than we asked, `client_max_window_bits`
    /// we did not offer, `server_no_context_takeover` we asked for but
    /// missing). Checked with the `deflate` feature.
    InvalidExtensionResponse,
}

impl fmt::Display for ClientHandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientHandshakeError::HeadTooLong => f.write_str("response head too long"),
            ClientHandshakeError::TooManyHeaders => f.write_str("too many response header fields"),
            ClientHandshakeError::Malformed => f.write_str("malformed HTTP response"),
            ClientHandshakeError::Status(r) => {
                write!(
                    f,
                    "the server answered {} {} instead of accepting",
                    r.status(),
                    r.reason()
                )
            }
            ClientHandshakeError::HttpVersion => {
                f.write_str("the response came over an HTTP version the handshake does not run on")
            }
            ClientHandshakeError::MissingUpgrade => f.write_str("Upgrade does not name websocket"),
            ClientHandshakeError::MissingConnectionUpgrade => {
                f.write_str("Connection does not name upgrade")
            }
            ClientHandshakeError::InvalidAccept => {
                f.write_str("missing or wrong Sec-WebSocket-Accept")
            }
            ClientHandshakeError::ProtocolNotOffered => {
                f.write_str("the server chose a subprotocol that was not offered")
            }
            ClientHandshakeError::InvalidExtensions => {
                f.write_str("invalid Sec-WebSocket-Extensions")
            }
            ClientHandshakeError::ExtensionNotOffered => {
                f.write_str("the server chose an extension that was not offered")
            }
            ClientHandshakeError::InvalidExtensionResponse => {
                f.write_str("the server's extension parameters do not answer our offer")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ClientHandshakeError {}

/// A request or response the local application asked for that the protocol
/// does not allow. Returning one has no effect: nothing was written and no
/// state changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BuildError {
    /// The host is empty or holds something other than visible ASCII.
    InvalidHost,
    /// The request target is not origin-form (starting with `/`) or holds
    /// something other than visible ASCII.
    InvalidTarget,
    /// The origin is empty or holds something other than visible ASCII.
    InvalidOrigin,
    /// A subprotocol is not a token, or is offered twice (section 4.1).
    InvalidProtocol,
    /// An extension name, parameter name or value is not a token (section 9.1).
    InvalidExtension,
    /// A header name is not a token.
    InvalidHeaderName,
    /// A header value holds a control character (CR and LF included) or
    /// leading or trailing whitespace.
    InvalidHeaderValue,
    /// An extra header the handshake writes itself (`Upgrade`,
    /// `Connection`, `Sec-WebSocket-*`, `Host`, `Origin`, `Content-Length`,
    /// `Transfer-Encoding`).
    ReservedHeader,
    /// A rejection status outside 200-999 (1xx responses are not final).
    InvalidStatus,
    /// The chosen subprotocol is not one the client offered (section 4.2.2).
    ProtocolNotOffered,
    /// An extension in the response is not one the client offered (section 9.1).
    ExtensionNotOffered,
    /// A permessage-deflate element in the response is not a valid answer
    /// to any of the client's offers of it (RFC 7692 section 7.1), or
    /// appears twice. Checked with the `deflate` feature; the answer the
    /// config adds in `Request::accept` is always valid.
    InvalidExtensionResponse,
    /// The answer asked for does not fit the handshake the request came
    /// by: an HTTP/1.1 101 ([`Request::accept`](super::server::Request::accept))
    /// for an extended CONNECT request (RFC 8441, RFC 9220), or response
    /// fields for extended CONNECT
    /// ([`Request::accept_fields`](super::server::Request::accept_fields))
    /// for an HTTP/1.1 upgrade.
    WrongHttpVersion,
    /// The `:scheme` of an extended CONNECT request is not `http` or
    /// `https` (RFC 8441 section 5).
    InvalidScheme,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BuildError::InvalidHost => "invalid host",
            BuildError::InvalidTarget => "invalid request target",
            BuildError::InvalidOrigin => "invalid origin",
            BuildError::InvalidProtocol => "subprotocol is not a token or is repeated",
            BuildError::InvalidExtension => "extension name or parameter is not a token",
            BuildError::InvalidHeaderName => "header name is not a token",
            BuildError::InvalidHeaderValue => {
                "header value holds control characters or outer whitespace"
            }
            BuildError::ReservedHeader => "header is written by the handshake itself",
            BuildError::InvalidStatus => "status is not a final status (200-999)",
            BuildError::ProtocolNotOffered => "subprotocol was not offered by the client",
            BuildError::ExtensionNotOffered => "extension was not offered by the client",
            BuildError::InvalidExtensionResponse => {
                "extension parameters do not answer the client's offer"
            }
            BuildError::WrongHttpVersion => {
                "the answer does not fit the HTTP version the request came by"
            }
            BuildError::InvalidScheme => "the scheme is not http or https",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for BuildError {}
