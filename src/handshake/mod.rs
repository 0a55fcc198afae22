//! The opening handshake (RFC 6455 section 4): the HTTP/1.1 upgrade that
//! comes before any frame.
//!
//! Both sides are sans-IO and incremental: feed received bytes in chunks of
//! any size to `handle_input`, which answers
//! [`Status::Partial`] until the
//! head is complete, then hands back the parsed head and how many bytes of
//! *that last input* it used. The rest of that input (frames the peer sent
//! right behind its head) belongs to the connection.
//!
//! * [`server::ServerHandshake`] reads a request and validates it per
//!   section 4.2.1 and RFC 9112 section 3.2. The application inspects the
//!   [`server::Request`] (target, host: the authority of an absolute-form
//!   target or else `Host`, Origin, offered subprotocols and extensions, all
//!   headers) and either accepts with an [`server::Accept`], which writes the
//!   101 and returns the server's [`Connection`] with the [`Negotiated`]
//!   result, or refuses with a [`server::Reject`]. An invalid request fails
//!   with a [`HandshakeError`] that knows its HTTP status and its complete
//!   response.
//! * [`client::ClientRequest`] writes a request and returns a
//!   [`client::ClientHandshake`], which reads the response and validates it
//!   per section 4.1 into a [`client::Response`], whose
//!   [`open`](client::Response::open) returns the client's [`Connection`],
//!   or fails with a [`ClientHandshakeError`] (a non-101 response is
//!   exposed, for redirects and authentication).
//!
//! The handshake ends in the [`Connection`]: both sides take the
//! connection's [`Config`](crate::Config), offer or accept the extensions
//! it enables (permessage-deflate by default, see
//! [`extension`](crate::extension)), and start the connection with what was
//! agreed, fed the bytes that followed the head. A server's accept can only
//! make a server's connection and a client's response only a client's.
//!
//! With the `http` feature, both sides also work on the `http` crate's
//! types, for a server or client whose HTTP library (hyper, axum...) parsed
//! the head already: `Request::from_http` / `from_http_parts` and
//! `Request::accept_http` on the server, `ClientRequest::to_http` and
//! `ClientHandshake::check_http_response` on the client,
//! `HandshakeError::to_http_response` and `Reject::to_http_response` for
//! refusals. They run the same checks as the byte-level path and end in the
//! same connection, so the same request gets the same outcome and status
//! either way.
//!
//! # WebSocket over HTTP/2 and HTTP/3
//!
//! The extended CONNECT of RFC 8441 (HTTP/2) and RFC 9220 (HTTP/3) carries
//! the same offers on a stream of a connection the HTTP library already
//! has, and ends in the same [`Connection`]:
//!
//! | | HTTP/1.1 upgrade (RFC 6455) | extended CONNECT (RFC 8441, RFC 9220) |
//! |---|---|---|
//! | request | `GET`, `Upgrade: websocket`, `Connection: Upgrade`, `Host` | `:method CONNECT`, `:protocol websocket`, `:scheme`, `:authority`, `:path` |
//! | key | `Sec-WebSocket-Key`, answered by `Sec-WebSocket-Accept` | none |
//! | success | `101 Switching Protocols` | `200` (any other 2xx is refused) |
//! | version, subprotocols, extensions, origin | `Sec-WebSocket-*`, `Origin` | the same fields |
//! | a wrong version | 426 | 400 (a 426 needs `Upgrade`, which HTTP/2 forbids) |
//! | the transport's end | TCP FIN: `handle_eof` | END_STREAM: `handle_eof` |
//!
//! * Server: [`server::Request::from_extended_connect_fields`] takes the
//!   HEADERS frame's field list (quiche hands one over), and, with the
//!   `http` feature, `Request::from_extended_connect` takes an
//!   `http::Request` and the `:protocol` value (hyper and h2 carry it as
//!   a request extension: `hyper::ext::Protocol::as_str`). A refusal is an
//!   [`ExtendedConnectError`]; the accept is
//!   [`server::Request::accept_fields`] or `Request::accept_http`, which
//!   answers 200 to a request that came this way.
//! * Client: [`client::ClientRequest::to_extended_connect_fields`] or
//!   `ClientRequest::to_extended_connect` (add [`CONNECT_PROTOCOL`] as
//!   your library's `:protocol` extension), and the handshake's
//!   [`client::ClientHandshake::check_response_fields`] or
//!   `check_http_response`.
//!
//! After the 200 the stream's DATA carries the connection's bytes both
//! ways (RFC 8441 section 5): feed what arrives to `handle_input` and send
//! what `poll_transmit` gives. The end of the stream (END_STREAM) is the
//! transport's EOF, fed to `handle_eof`; a reset (RST_STREAM, HTTP/3's
//! stream reset) is a broken transport, fed to `handle_eof` too, which
//! reports an abnormal closure if the close handshake had not ended. Where
//! RFC 6455 closes the TCP connection, end the stream instead: the HTTP
//! connection stays up for other streams.
//!
//! Every buffer is bounded by [`HandshakeLimits`]. The work done is linear in
//! the bytes received however they are chunked: the end of the head is
//! found by a byte-at-a-time scan that resumes where it stopped, and the
//! head is parsed once.
//!
//! ```
//! use wscore::frame::Status;
//! use wscore::handshake::client::ClientRequest;
//! use wscore::handshake::server::{Accept, ServerHandshake};
//! use wscore::handshake::HandshakeLimits;
//! use wscore::{Config, Event, Instant};
//!
//! let (config, now) = (Config::default(), Instant::ZERO);
//!
//! // The client writes its request; the nonce comes from the caller's RNG.
//! let mut to_server = Vec::new();
//! let mut client = ClientRequest::new("example.com", [7; 16])
//!     .target("/chat")
//!     .protocol("chat")
//!     .write(&config, &mut to_server)
//!     .unwrap();
//!
//! // The server reads it (here in two pieces) and accepts it.
//! let mut server = ServerHandshake::new(HandshakeLimits::default());
//! let (first, second) = to_server.split_at(10);
//! assert!(server.handle_input(first).unwrap().is_partial());
//! let Status::Complete((request, used)) = server.handle_input(second).unwrap() else {
//!     panic!("the head is complete");
//! };
//! assert_eq!(used, second.len());
//! assert_eq!(request.target(), "/chat");
//! let mut to_client = Vec::new();
//! let chosen = request.protocols()[0].clone();
//! let accept = Accept::new().protocol(chosen);
//! let rest = &second[used..]; // frames sent behind the head: none here
//! let (mut server, on_server) = request.accept(&accept, &config, now, rest, &mut to_client).unwrap();
//!
//! // The client validates the 101 and opens its connection.
//! let Status::Complete((response, used)) = client.handle_input(&to_client).unwrap() else {
//!     panic!("the head is complete");
//! };
//! assert_eq!(used, to_client.len());
//! assert_eq!(response.negotiated().protocol.as_deref(), Some("chat"));
//! assert_eq!(on_server.protocol.as_deref(), Some("chat"));
//! let mask = || [1, 2, 3, 4]; // use a strong random source (section 5.3)
//! let mut client = response.open(now, &to_client[used..], mask);
//!
//! client.send_text("hi").unwrap();
//! let mut wire = Vec::new();
//! client.poll_transmit(&mut wire);
//! server.handle_input(now, &wire);
//! assert_eq!(server.poll_event(), Some(Event::Text("hi")));
//! ```
//!
//! [`Connection`]: crate::Connection

use alloc::string::String;
use alloc::vec::Vec;

mod authority;
pub mod client;
mod connect;
#[cfg(feature = "http")]
mod connect_http;
mod error;
mod head;
mod header;
#[cfg(feature = "http")]
mod http;
mod rejected;
mod response;
pub mod server;
mod write;

/// The `Sec-WebSocket-Extensions` element, from the extension layer
/// (re-exported where the handshake's users looked for it).
pub use crate::extension::Extension;
/// The outcome of each `handle_input`: the same type as
/// [`crate::frame::Status`] and [`crate::Status`], re-exported here so a
/// handshake driver needs no import from the frame codec.
pub use crate::frame::Status;
pub use connect::{CONNECT_PROTOCOL, ExtendedConnectError};
pub use error::{BuildError, ClientHandshakeError, HandshakeError};
pub use header::{HeaderField, Headers, accept_key};
pub use rejected::RejectedResponse;

/// Caps on what a handshake buffers, for both sides.
///
/// Over a cap, a server refuses with 431 Request Header Fields Too Large
/// ([`HandshakeError::HeadTooLong`], [`HandshakeError::TooManyHeaders`]) and
/// a client fails ([`ClientHandshakeError::HeadTooLong`],
/// [`ClientHandshakeError::TooManyHeaders`]). Nothing grows past them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct HandshakeLimits {
    /// The longest head accepted, in bytes, from the first byte of the
    /// request or status line up to and including the empty line that ends
    /// the head. Default 8192 (8 KiB), as common servers use.
    pub max_head_len: usize,
    /// The most header lines accepted (repeated fields count each time).
    /// Default 64: a browser handshake sends about 15.
    pub max_headers: usize,
}

impl HandshakeLimits {
    /// The defaults: an 8 KiB head and 64 headers.
    pub const DEFAULT: HandshakeLimits = HandshakeLimits {
        max_head_len: 8192,
        max_headers: 64,
    };

    /// Limits with the given caps.
    #[must_use]
    pub const fn new(max_head_len: usize, max_headers: usize) -> HandshakeLimits {
        HandshakeLimits {
            max_head_len,
            max_headers,
        }
    }
}

impl Default for HandshakeLimits {
    fn default() -> HandshakeLimits {
        HandshakeLimits::DEFAULT
    }
}

/// What a completed handshake agreed on, for the application: the
/// connection it returned runs with these extensions already. It carries
/// no role: which side made it is in the type of the call that did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Negotiated {
    /// The subprotocol both ends agreed on (`Sec-WebSocket-Protocol`), if any.
    pub protocol: Option<String>,
    /// The extensions in use, in the order of the server's response (the
    /// order they apply in), with the parameters of the server's response.
    pub extensions: Vec<Extension>,
}
