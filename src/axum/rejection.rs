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
//! | [`MethodNotConnect`] | HTTP/2 or later, not CONNECT | 405 |
//! | [`Http2NotSupported`] | HTTP/2 or later, CONNECT (RFC 8441) | 501 |
//!
//! axum's `InvalidProtocolPseudoheader` has no counterpart: an HTTP/2
//! CONNECT is refused whatever its `:protocol`, until WebSockets over
//! HTTP/2 land.

use alloc::string::{String, ToString};
use core::fmt;

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{ALLOW, CONNECTION, CONTENT_TYPE, HeaderValue, UPGRADE};

use crate::handshake::HandshakeError;

/// What a rejection carries: the handshake layer's refusal, or one of the
/// two the extractor adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    Handshake(HandshakeError),
    /// The server put no `hyper::upgrade::OnUpgrade` in the request.
    NoUpgradeHandle,
    /// HTTP/2 or later, not CONNECT.
    NotConnect,
    /// HTTP/2 or later, CONNECT.
    Http2,
}

impl Refusal {
    fn status(self) -> StatusCode {
        match self {
            Refusal::Handshake(error) => {
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Refusal::NoUpgradeHandle => StatusCode::UPGRADE_REQUIRED,
            Refusal::NotConnect => StatusCode::METHOD_NOT_ALLOWED,
            Refusal::Http2 => StatusCode::NOT_IMPLEMENTED,
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Refusal::Handshake(error) => error.reason(),
            Refusal::NoUpgradeHandle => {
                "WebSocket request couldn't be upgraded since no upgrade state was present"
            }
            Refusal::NotConnect => "a WebSocket over HTTP/2 must use CONNECT",
            Refusal::Http2 => {
                "WebSockets over HTTP/2 (RFC 8441) are not supported yet; connect over HTTP/1.1"
            }
        }
    }

    fn into_response(self) -> Response {
        if let Refusal::Handshake(error) = self {
            return error.to_http_response().map(Body::from);
        }
        let mut response = Response::new(Body::from(alloc::format!("{}\n", self.reason())));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        let text = HeaderValue::from_static("text/plain; charset=utf-8");
        headers.insert(CONTENT_TYPE, text);
        match self {
            // RFC 9110 section 15.5.22: a 426 names the protocol in
            // `Upgrade`, which comes with the `upgrade` connection option.
            Refusal::NoUpgradeHandle => {
                headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
                headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
            }
            Refusal::NotConnect => {
                headers.insert(ALLOW, HeaderValue::from_static("CONNECT"));
            }
            Refusal::Handshake(_) | Refusal::Http2 => {}
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
    /// `Sec-WebSocket-Version: 13` (RFC 6455 section 4.4).
    InvalidWebSocketVersionHeader;
    /// No `Sec-WebSocket-Key`: 400.
    WebSocketKeyHeaderMissing;
    /// Another check of the handshake failed (a key that is not 16 bytes
    /// of base64, a bad `Host`, `Origin`, `Sec-WebSocket-Protocol` or
    /// `Sec-WebSocket-Extensions`, a request with a body...): 400. axum
    /// does not check these; [`handshake_error`](Self::handshake_error)
    /// tells which.
    InvalidRequest;
    /// The connection cannot be upgraded: an HTTP/1.0 request (400, the
    /// upgrade needs HTTP/1.1), or a server that gave the request no
    /// upgrade handle (426, as axum answers; `axum::serve` always gives
    /// one, a `tower::ServiceExt::oneshot` test does not).
    ConnectionNotUpgradable;
    /// An HTTP/2 (or later) request whose method is not CONNECT: 405 with
    /// `Allow: CONNECT`.
    MethodNotConnect;
    /// An HTTP/2 extended CONNECT (RFC 8441): not supported yet, 501. It
    /// comes with the crate's HTTP/2 handshake; until then serve WebSocket
    /// routes over HTTP/1.1 (axum only offers extended CONNECT with its
    /// `http2` feature on).
    Http2NotSupported;
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
    /// See [`Http2NotSupported`].
    Http2NotSupported(Http2NotSupported),
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

    /// The server gave the request no upgrade handle.
    pub(super) fn no_upgrade_handle() -> WebSocketUpgradeRejection {
        let refusal = ConnectionNotUpgradable(Refusal::NoUpgradeHandle);
        WebSocketUpgradeRejection::ConnectionNotUpgradable(refusal)
    }

    /// A request over HTTP/2 or later, CONNECT or not.
    pub(super) fn http2(connect: bool) -> WebSocketUpgradeRejection {
        if connect {
            WebSocketUpgradeRejection::Http2NotSupported(Http2NotSupported(Refusal::Http2))
        } else {
            WebSocketUpgradeRejection::MethodNotConnect(MethodNotConnect(Refusal::NotConnect))
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
            R::Http2NotSupported(r) => r.0,
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
    ConnectionNotUpgradable Http2NotSupported
}
