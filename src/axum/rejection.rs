//! Why [`WebSocketUpgrade`](super::WebSocketUpgrade) refused a request,
//! under the names of axum's rejections, each with the response it gets.
//!
//! The checks and the statuses are the handshake layer's
//! ([`Request::from_http_parts`](crate::handshake::server::Request::from_http_parts),
//! the table on [`HandshakeError`]), so they follow RFC 6455 where axum's
//! take shortcuts: a wrong `Sec-WebSocket-Version` is 426 with
//! `Sec-WebSocket-Version: 13` (axum: 400), a GET without `Upgrade` 426
//! with `Upgrade: websocket`, a 405 has `Allow: GET`, and every refusal
//! has `Connection: close`. The body is one line of plain text, in axum's
//! [`Body`].
//!
//! | rejection | when | status |
//! |---|---|---|
//! | [`MethodNotGet`] | HTTP/1.1, not GET | 405 |
//! | [`InvalidConnectionHeader`] | `Connection` does not list `upgrade` | 400 |
//! | [`InvalidUpgradeHeader`] | `Upgrade` missing / not `websocket` | 426 / 400 |
//! | [`InvalidWebSocketVersionHeader`] | `Sec-WebSocket-Version` not `13` | 426 |
//! | [`WebSocketKeyHeaderMissing`] | no `Sec-WebSocket-Key` | 400 |
//! | [`InvalidRequest`] | anything else the handshake refuses (bad key, `Host`, `Origin`, protocol or extension lists, a body...) | 400 |
//! | [`ConnectionNotUpgradable`] | HTTP/1.0 (400); no upgrade handle from the server (426) | 400 / 426 |
//!
//! Over HTTP/2 the checks are the extended CONNECT's
//! ([`Request::from_extended_connect_parts`](crate::handshake::server::Request::from_extended_connect_parts),
//! the table on [`ExtendedConnectError`]); HTTP/2 has no `Upgrade` and
//! forbids it, so where HTTP/1.1 answers 426 these answer 400:
//!
//! | rejection | when | status |
//! |---|---|---|
//! | [`MethodNotConnect`] | not CONNECT | 405 with `allow: CONNECT` |
//! | [`InvalidProtocolPseudoheader`] | `:protocol` missing or not `websocket` | 400 |
//! | [`InvalidWebSocketVersionHeader`] | `sec-websocket-version` not `13` | 400 with `sec-websocket-version: 13` |
//! | [`InvalidRequest`] | anything else (`:scheme`, `:path`, `:authority`, a connection-specific field, `origin`, protocol or extension lists) | 400 |
//! | [`ConnectionNotUpgradable`] | no upgrade handle from the server | 501 |

use alloc::string::{String, ToString};
use core::fmt;

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{CONNECTION, CONTENT_TYPE, HeaderValue, UPGRADE};

use crate::handshake::{ExtendedConnectError, HandshakeError};

/// What a rejection carries: the handshake layer's refusal (of an
/// HTTP/1.1 upgrade or an HTTP/2 extended CONNECT), or the one the
/// extractor adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    Handshake(HandshakeError),
    ExtendedConnect(ExtendedConnectError),
    /// The server put no `hyper::upgrade::OnUpgrade` in the request;
    /// `true` for an HTTP/2 request.
    NoUpgradeHandle(bool),
}

impl Refusal {
    fn status(self) -> StatusCode {
        match self {
            Refusal::Handshake(error) => {
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Refusal::ExtendedConnect(error) => {
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Refusal::NoUpgradeHandle(false) => StatusCode::UPGRADE_REQUIRED,
            // A 426 must name a protocol in `Upgrade`, which HTTP/2
            // forbids: the server lacks what the request needs.
            Refusal::NoUpgradeHandle(true) => StatusCode::NOT_IMPLEMENTED,
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Refusal::Handshake(error) => error.reason(),
            Refusal::ExtendedConnect(error) => error.reason(),
            Refusal::NoUpgradeHandle(_) => {
                "WebSocket request couldn't be upgraded since no upgrade state was present"
            }
        }
    }

    fn into_response(self) -> Response {
        let http2 = match self {
            Refusal::Handshake(error) => return error.to_http_response().map(Body::from),
            Refusal::ExtendedConnect(error) => return error.to_http_response().map(Body::from),
            Refusal::NoUpgradeHandle(http2) => http2,
        };
        let mut response = Response::new(Body::from(alloc::format!("{}\n", self.reason())));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        let text = HeaderValue::from_static("text/plain; charset=utf-8");
        headers.insert(CONTENT_TYPE, text);
        if !http2 {
            // RFC 9110 section 15.5.22: a 426 names the protocol in
            // `Upgrade`, which comes with the `upgrade` connection option.
            headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        }
        response
    }
}

/// One rejection type per case, each with axum's `body_text` and `status`.
macro_rules! rejection {
    ($($(#[$m:meta])* $name:ident;)*) => {$(
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(Refusal);

        impl $name {
            /// The response body's text.
            #[must_use]
            pub fn body_text(&self) -> String {
                self.to_string()
            }

            /// The response status.
            #[must_use]
            pub fn status(&self) -> StatusCode {
                self.0.status()
            }

            /// The handshake layer's refusal, when it was one (every
            /// refusal of an HTTP/1.x request but a missing upgrade
            /// handle).
            #[must_use]
            pub fn handshake_error(&self) -> Option<HandshakeError> {
                match self.0 {
                    Refusal::Handshake(error) => Some(error),
                    _ => None,
                }
            }

            /// The extended CONNECT's refusal, when it was one (every
            /// refusal of an HTTP/2 request but a missing upgrade handle).
            #[must_use]
            pub fn extended_connect_error(&self) -> Option<ExtendedConnectError> {
                match self.0 {
                    Refusal::ExtendedConnect(error) => Some(error),
                    _ => None,
                }
            }
        }

        impl IntoResponse for $name {
            fn into_response(self) -> Response {
                self.0.into_response()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0.reason())
            }
        }

        impl std::error::Error for $name {}
    )*};
}

rejection! {
    /// The HTTP/1.1 request's method was not GET: 405 with `Allow: GET`.
    MethodNotGet;
    /// `Connection` does not list `upgrade`: 400.
    InvalidConnectionHeader;
    /// `Upgrade` is missing (426 with `Upgrade: websocket`: a plain GET to
    /// a WebSocket route), or does not list `websocket` (400).
    InvalidUpgradeHeader;
    /// `Sec-WebSocket-Version` is missing, repeated or not `13`: 426 with
    /// `Sec-WebSocket-Version: 13` (RFC 6455 section 4.4); over HTTP/2,
    /// 400 with `sec-websocket-version: 13`.
    InvalidWebSocketVersionHeader;
    /// No `Sec-WebSocket-Key`: 400.
    WebSocketKeyHeaderMissing;
    /// Another check of the handshake failed (a key that is not 16 bytes
    /// of base64, a bad `Host`, `Origin`, `Sec-WebSocket-Protocol` or
    /// `Sec-WebSocket-Extensions`, a request with a body; over HTTP/2 a bad
    /// `:scheme`, `:path` or `:authority`, or a connection-specific
    /// field): 400. axum does not check these;
    /// [`handshake_error`](Self::handshake_error) or
    /// [`extended_connect_error`](Self::extended_connect_error) tells
    /// which.
    InvalidRequest;
    /// The connection cannot be upgraded: an HTTP/1.0 request (400, the
    /// upgrade needs HTTP/1.1), or a server that gave the request no
    /// upgrade handle (426 as axum answers, or 501 over HTTP/2, where a
    /// 426 cannot carry its `Upgrade`; `axum::serve` always gives one, a
    /// `tower::ServiceExt::oneshot` test does not).
    ConnectionNotUpgradable;
    /// An HTTP/2 (or later) request whose method is not CONNECT: 405 with
    /// `allow: CONNECT`.
    MethodNotConnect;
    /// An HTTP/2 CONNECT whose `:protocol` is missing (a tunnel request)
    /// or not `websocket`: 400.
    InvalidProtocolPseudoheader;
}

/// Every way [`WebSocketUpgrade`](super::WebSocketUpgrade) refuses a
/// request, as axum's enum of the same name (one variant per rejection
/// type, the same names where axum has them). Its response is the
/// variant's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebSocketUpgradeRejection {
    /// See [`MethodNotGet`].
    MethodNotGet(MethodNotGet),
    /// See [`MethodNotConnect`].
    MethodNotConnect(MethodNotConnect),
    /// See [`InvalidConnectionHeader`].
    InvalidConnectionHeader(InvalidConnectionHeader),
    /// See [`InvalidUpgradeHeader`].
    InvalidUpgradeHeader(InvalidUpgradeHeader),
    /// See [`InvalidWebSocketVersionHeader`].
    InvalidWebSocketVersionHeader(InvalidWebSocketVersionHeader),
    /// See [`WebSocketKeyHeaderMissing`].
    WebSocketKeyHeaderMissing(WebSocketKeyHeaderMissing),
    /// See [`InvalidRequest`].
    InvalidRequest(InvalidRequest),
    /// See [`ConnectionNotUpgradable`].
    ConnectionNotUpgradable(ConnectionNotUpgradable),
    /// See [`InvalidProtocolPseudoheader`].
    InvalidProtocolPseudoheader(InvalidProtocolPseudoheader),
}

impl WebSocketUpgradeRejection {
    /// The rejection of a request the handshake layer refused.
    pub(super) fn handshake(error: HandshakeError) -> WebSocketUpgradeRejection {
        use WebSocketUpgradeRejection as R;
        let refusal = Refusal::Handshake(error);
        match error {
            HandshakeError::MethodNotAllowed => R::MethodNotGet(MethodNotGet(refusal)),
            HandshakeError::MissingConnectionUpgrade => {
                R::InvalidConnectionHeader(InvalidConnectionHeader(refusal))
            }
            HandshakeError::MissingUpgrade | HandshakeError::UpgradeNotWebSocket => {
                R::InvalidUpgradeHeader(InvalidUpgradeHeader(refusal))
            }
            HandshakeError::UnsupportedVersion => {
                R::InvalidWebSocketVersionHeader(InvalidWebSocketVersionHeader(refusal))
            }
            HandshakeError::MissingKey => {
                R::WebSocketKeyHeaderMissing(WebSocketKeyHeaderMissing(refusal))
            }
            HandshakeError::HttpVersion => {
                R::ConnectionNotUpgradable(ConnectionNotUpgradable(refusal))
            }
            _ => R::InvalidRequest(InvalidRequest(refusal)),
        }
    }

    /// The server gave the request no upgrade handle; `http2` when the
    /// request came over HTTP/2.
    pub(super) fn no_upgrade_handle(http2: bool) -> WebSocketUpgradeRejection {
        let refusal = ConnectionNotUpgradable(Refusal::NoUpgradeHandle(http2));
        WebSocketUpgradeRejection::ConnectionNotUpgradable(refusal)
    }

    /// The rejection of an HTTP/2 request the extended CONNECT refused.
    pub(super) fn extended_connect(error: ExtendedConnectError) -> WebSocketUpgradeRejection {
        use ExtendedConnectError as E;
        use WebSocketUpgradeRejection as R;
        let refusal = Refusal::ExtendedConnect(error);
        match error {
            E::MethodNotAllowed => R::MethodNotConnect(MethodNotConnect(refusal)),
            E::MissingProtocol | E::ProtocolNotWebSocket => {
                R::InvalidProtocolPseudoheader(InvalidProtocolPseudoheader(refusal))
            }
            E::UnsupportedVersion => {
                R::InvalidWebSocketVersionHeader(InvalidWebSocketVersionHeader(refusal))
            }
            _ => R::InvalidRequest(InvalidRequest(refusal)),
        }
    }

    fn refusal(&self) -> Refusal {
        use WebSocketUpgradeRejection as R;
        match self {
            R::MethodNotGet(r) => r.0,
            R::MethodNotConnect(r) => r.0,
            R::InvalidConnectionHeader(r) => r.0,
            R::InvalidUpgradeHeader(r) => r.0,
            R::InvalidWebSocketVersionHeader(r) => r.0,
            R::WebSocketKeyHeaderMissing(r) => r.0,
            R::InvalidRequest(r) => r.0,
            R::ConnectionNotUpgradable(r) => r.0,
            R::InvalidProtocolPseudoheader(r) => r.0,
        }
    }

    /// The response body's text.
    #[must_use]
    pub fn body_text(&self) -> String {
        self.to_string()
    }

    /// The response status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.refusal().status()
    }

    /// The handshake layer's refusal, when it was one.
    #[must_use]
    pub fn handshake_error(&self) -> Option<HandshakeError> {
        match self.refusal() {
            Refusal::Handshake(error) => Some(error),
            _ => None,
        }
    }

    /// The extended CONNECT's refusal, when it was one (an HTTP/2
    /// request).
    #[must_use]
    pub fn extended_connect_error(&self) -> Option<ExtendedConnectError> {
        match self.refusal() {
            Refusal::ExtendedConnect(error) => Some(error),
            _ => None,
        }
    }
}

impl IntoResponse for WebSocketUpgradeRejection {
    fn into_response(self) -> Response {
        self.refusal().into_response()
    }
}

impl fmt::Display for WebSocketUpgradeRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.refusal().reason())
    }
}

impl std::error::Error for WebSocketUpgradeRejection {}

macro_rules! from_rejection {
    ($($name:ident)*) => {$(
        impl From<$name> for WebSocketUpgradeRejection {
            fn from(rejection: $name) -> WebSocketUpgradeRejection {
                WebSocketUpgradeRejection::$name(rejection)
            }
        }
    )*};
}

from_rejection! {
    MethodNotGet MethodNotConnect InvalidConnectionHeader InvalidUpgradeHeader
    InvalidWebSocketVersionHeader WebSocketKeyHeaderMissing InvalidRequest
    ConnectionNotUpgradable InvalidProtocolPseudoheader
}
