//! [`WebSocketUpgrade`]: the extractor, its knobs, and the 101.

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;

use axum_core::Error;
use axum_core::body::Body;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::header::HeaderValue;
use http::request::Parts;
use http::{StatusCode, Version};
use hyper::ext::Protocol;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use super::WebSocket;
use super::rejection::WebSocketUpgradeRejection;
use crate::config::Config;
use crate::handshake::server::{Accept, Request};
use crate::time::Instant;
use crate::tokio::{Options, WebSocket as TokioWebSocket};

/// The extractor that accepts a WebSocket handshake, as axum's
/// `WebSocketUpgrade`: take it as a handler argument, set what you need,
/// and return [`on_upgrade`](Self::on_upgrade)'s response.
///
/// Extraction validates the request with the handshake layer, by the
/// HTTP version it came on:
///
/// - **HTTP/1.1** ([`Request::from_http_parts`]): a GET with `Connection:
///   upgrade`, `Upgrade: websocket`, `Sec-WebSocket-Version: 13`, a valid
///   `Sec-WebSocket-Key` and `Host`; answered 101.
/// - **HTTP/2** (RFC 8441, [`Request::from_extended_connect_parts`]): an
///   extended CONNECT with `:protocol websocket` (hyper's
///   `hyper::ext::Protocol` extension), `:scheme`, `:path`, `:authority`
///   and `sec-websocket-version: 13`; answered 200, and the WebSocket runs
///   on that one HTTP/2 stream, beside the connection's other requests.
///   The server must advertise `SETTINGS_ENABLE_CONNECT_PROTOCOL` or
///   clients never send one: `axum::serve` does with axum's `http2`
///   feature on; a hand-built hyper server calls
///   `http2::Builder::enable_connect_protocol`. Route WebSocket handlers
///   with `axum::routing::any`, as axum advises, since the method differs.
///
/// Anything else is refused with a [`WebSocketUpgradeRejection`] and its
/// status (see [`rejection`](super::rejection)).
///
/// The connection runs under [`Config::default`] unless told otherwise:
/// permessage-deflate accepted when the client offers it (every browser
/// does), 16 MiB message and frame caps, a keepalive Ping after 30 s of
/// silence (the peer is dropped 30 s after it if nothing came back), a
/// message that must arrive within 60 s once begun. See [`Config`].
#[must_use]
pub struct WebSocketUpgrade<F = DefaultOnFailedUpgrade> {
    request: Request,
    requested: Vec<HeaderValue>,
    protocol: Option<HeaderValue>,
    config: Config,
    options: Options,
    on_upgrade: OnUpgrade,
    on_failed_upgrade: F,
}

impl<F> fmt::Debug for WebSocketUpgrade<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("request", &self.request)
            .field("protocol", &self.protocol)
            .field("config", &self.config)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<F> WebSocketUpgrade<F> {
    /// The whole protocol configuration, replacing the one set so far
    /// (call it before the knobs below, which change it). With it come
    /// the keepalive, the deadlines, the buffer release and the deflate
    /// preferences; streaming is turned off, since [`Message`](super::Message)
    /// has no pieces of messages.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// How the driver uses the upgraded connection (read size,
    /// backpressure bound, drain time), replacing the options set so far.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// The bytes asked of the connection per read ([`Options::read_size`]),
    /// default 64 KiB. Unlike axum's, the buffer is shared by the
    /// connections a thread drives, so a large value costs memory once per
    /// thread, not per connection.
    pub fn read_buffer_size(mut self, size: usize) -> Self {
        self.options.read_size = size.max(1);
        self
    }

    /// Accepted for axum's sake and ignored: each `send` (or `Sink`
    /// flush) writes its messages out, so there is no write-behind buffer
    /// to size.
    pub fn write_buffer_size(self, _size: usize) -> Self {
        self
    }

    /// The most bytes that may wait to be written ([`Options::max_pending`],
    /// default 64 KiB): past it a send waits, and the connection stops
    /// reading, until the peer takes some. axum's makes a send fail past
    /// it instead; here a peer that does not read stalls its own traffic
    /// rather than growing this process's memory.
    pub fn max_write_buffer_size(mut self, max: usize) -> Self {
        self.options.max_pending = max;
        self
    }

    /// The largest message accepted ([`Config::max_message_size`],
    /// default 16 MiB; axum's is 64 MiB). A bigger one closes the
    /// connection with 1009 before its excess is buffered; with
    /// permessage-deflate the cap applies to the inflated size.
    pub fn max_message_size(mut self, max: usize) -> Self {
        self.config.max_message_size = max as u64;
        self
    }

    /// The largest frame accepted ([`Config::max_frame_size`], default
    /// 16 MiB). A bigger one closes the connection with 1009 before its
    /// payload is read.
    pub fn max_frame_size(mut self, max: usize) -> Self {
        self.config.max_frame_size = max as u64;
        self
    }

    /// Accepted for axum's sake, and refused: a client's unmasked frame
    /// always fails the connection with 1002, as RFC 6455 section 5.1
    /// says it MUST, whatever is passed here.
    pub fn accept_unmasked_frames(self, _accept: bool) -> Self {
        self
    }

    /// Choose the subprotocol: the first of `protocols` (in decreasing
    /// order of preference) that the client offered, or none. It is sent
    /// in the 101's `Sec-WebSocket-Protocol` and given by
    /// [`WebSocket::protocol`](super::WebSocket::protocol).
    pub fn protocols<I>(mut self, protocols: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        self.protocol = protocols
            .into_iter()
            .map(Into::into)
            .find(|p| self.request.protocols().iter().any(|o| o == p))
            .and_then(|p| HeaderValue::from_str(&p).ok());
        self
    }

    /// The subprotocols the client offered, in its order of preference
    /// (axum's are sorted by name).
    pub fn requested_protocols(&self) -> impl Iterator<Item = &HeaderValue> {
        self.requested.iter()
    }

    /// Choose the subprotocol yourself; the last of this and
    /// [`protocols`](Self::protocols) wins. It must be one the client
    /// offered (RFC 6455 section 4.2.2): otherwise
    /// [`on_upgrade`](Self::on_upgrade) answers 500 and reports the error
    /// to [`on_failed_upgrade`](Self::on_failed_upgrade)'s callback, where
    /// axum would send it and let the client fail.
    pub fn set_selected_protocol(&mut self, protocol: HeaderValue) {
        self.protocol = Some(protocol);
    }

    /// The subprotocol chosen so far.
    pub fn selected_protocol(&self) -> Option<&HeaderValue> {
        self.protocol.as_ref()
    }

    /// Call `callback` if the upgrade fails: hyper could not hand over the
    /// connection (the client left before the 101 went out), or the
    /// response could not be built (see
    /// [`set_selected_protocol`](Self::set_selected_protocol)). Ignored by
    /// default.
    pub fn on_failed_upgrade<C>(self, callback: C) -> WebSocketUpgrade<C>
    where
        C: OnFailedUpgrade,
    {
        WebSocketUpgrade {
            request: self.request,
            requested: self.requested,
            protocol: self.protocol,
            config: self.config,
            options: self.options,
            on_upgrade: self.on_upgrade,
            on_failed_upgrade: callback,
        }
    }

    /// Accept: return the response for the handler to return (101
    /// Switching Protocols on HTTP/1.1, 200 on HTTP/2), and spawn a task
    /// (`tokio::spawn`) that waits for hyper to hand over the connection
    /// (or the HTTP/2 stream) and runs `callback` on it.
    ///
    /// The response comes from the handshake layer
    /// ([`Request::accept_http`]): the accept key (HTTP/1.1 only), the
    /// subprotocol, and permessage-deflate's answer when the client
    /// offered it and the config allows it. The connection is made now, so
    /// its clock (its keepalive and deadlines) starts at this call.
    ///
    /// On HTTP/2 the socket's end of stream is the peer's END_STREAM and a
    /// stream reset is an abrupt end (RFC 8441 section 5): closing the
    /// socket ends the stream, not the HTTP/2 connection.
    #[must_use = "to set up the WebSocket connection, this response must be returned"]
    pub fn on_upgrade<C, Fut>(self, callback: C) -> Response
    where
        C: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        F: OnFailedUpgrade,
    {
        let mut config = self.config;
        config.streaming = false;
        let mut accept = Accept::new();
        if let Some(protocol) = &self.protocol {
            match protocol.to_str() {
                Ok(protocol) => accept = accept.protocol(protocol),
                Err(e) => return failed(self.on_failed_upgrade, Error::new(e)),
            }
        }
        let epoch = ::tokio::time::Instant::now();
        let (conn, response) = match self.request.accept_http(&accept, &config, Instant::ZERO) {
            Ok((conn, _, response)) => (conn, response),
            Err(e) => return failed(self.on_failed_upgrade, Error::new(e)),
        };
        let (on_upgrade, on_failed_upgrade) = (self.on_upgrade, self.on_failed_upgrade);
        // Boxed while the upgrade is awaited: what an async block captures
        // keeps its room in the task for the task's whole life, and the
        // connection would otherwise sit there twice (here and in the
        // socket), about 0.4 KiB per connection.
        let state = alloc::boxed::Box::new((conn, self.options, self.protocol));
        ::tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(e) => return on_failed_upgrade.call(Error::new(e)),
            };
            let (conn, options, protocol) = *state;
            let inner =
                TokioWebSocket::from_connection(TokioIo::new(upgraded), conn, epoch, options);
            callback(WebSocket::new(inner, protocol)).await;
        });
        response.map(|()| Body::empty())
    }
}

/// Report a 101 that could not be built, and answer 500.
fn failed<F: OnFailedUpgrade>(on_failed_upgrade: F, error: Error) -> Response {
    on_failed_upgrade.call(error);
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "the WebSocket handshake could not be answered\n",
    )
        .into_response()
}

/// What to do when the upgrade fails; see
/// [`WebSocketUpgrade::on_failed_upgrade`]. Any `FnOnce(Error)` is one.
pub trait OnFailedUpgrade: Send + 'static {
    /// Report the error.
    fn call(self, error: Error);
}

impl<F> OnFailedUpgrade for F
where
    F: FnOnce(Error) + Send + 'static,
{
    fn call(self, error: Error) {
        self(error)
    }
}

/// The default [`OnFailedUpgrade`]: ignores the error.
#[non_exhaustive]
#[derive(Debug)]
pub struct DefaultOnFailedUpgrade;

impl OnFailedUpgrade for DefaultOnFailedUpgrade {
    fn call(self, _error: Error) {}
}

impl<S> FromRequestParts<S> for WebSocketUpgrade<DefaultOnFailedUpgrade>
where
    S: Send + Sync,
{
    type Rejection = WebSocketUpgradeRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let request = if parts.version > Version::HTTP_11 {
            // hyper puts `:protocol` in the request's extensions; without
            // it the CONNECT is a tunnel request and is refused.
            let protocol = parts.extensions.get::<Protocol>().map(Protocol::as_str);
            Request::from_extended_connect_parts(parts, protocol)
                .map_err(WebSocketUpgradeRejection::extended_connect)?
        } else {
            Request::from_http_parts(parts).map_err(WebSocketUpgradeRejection::handshake)?
        };
        let on_upgrade = parts.extensions.remove::<OnUpgrade>().ok_or_else(|| {
            WebSocketUpgradeRejection::no_upgrade_handle(parts.version > Version::HTTP_11)
        })?;
        // Each is a token (the handshake checked), so a valid value.
        let requested = request
            .protocols()
            .iter()
            .filter_map(|p| HeaderValue::from_str(p).ok())
            .collect();
        Ok(WebSocketUpgrade {
            request,
            requested,
            protocol: None,
            config: Config::default(),
            options: Options::default(),
            on_upgrade,
            on_failed_upgrade: DefaultOnFailedUpgrade,
        })
    }
}
