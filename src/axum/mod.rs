//! WebSockets for axum 0.8 (feature `axum`), with the types and methods of
//! `axum::extract::ws`, on this crate's protocol core and tokio driver:
//! permessage-deflate, bounded buffers, keepalive and deadlines included.
//!
//! # Switching
//!
//! Change the import; the handler stays as it is:
//!
//! ```diff
//! -use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
//! +use wscore::axum::{Message, WebSocket, WebSocketUpgrade};
//! ```
//!
//! axum's `ws` feature can then go (it brings tokio-tungstenite).
//!
//! ```
//! use axum::{Router, response::Response, routing::any};
//! use wscore::axum::{WebSocket, WebSocketUpgrade};
//!
//! let app: Router = Router::new().route("/ws", any(handler));
//!
//! async fn handler(ws: WebSocketUpgrade) -> Response {
//!     ws.on_upgrade(handle_socket)
//! }
//!
//! async fn handle_socket(mut socket: WebSocket) {
//!     while let Some(Ok(msg)) = socket.recv().await {
//!         if socket.send(msg).await.is_err() {
//!             return; // client disconnected
//!         }
//!     }
//! }
//! ```
//!
//! # Reading and writing at once
//!
//! [`WebSocket`] is a `Stream` of messages and a `Sink` of them, so
//! futures' `StreamExt::split` gives a reader half and a writer half for
//! two tasks, as in axum's chat example:
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use wscore::axum::{Message, WebSocket};
//!
//! async fn handle_socket(socket: WebSocket) {
//!     let (mut sender, mut receiver) = socket.split();
//!     let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(16);
//!     tokio::spawn(async move {
//!         while let Some(msg) = rx.recv().await {
//!             if sender.send(msg).await.is_err() {
//!                 return;
//!             }
//!         }
//!     });
//!     while let Some(Ok(msg)) = receiver.next().await {
//!         if tx.send(msg).await.is_err() {
//!             return;
//!         }
//!     }
//! }
//! ```
//!
//! # What differs from axum's
//!
//! * **permessage-deflate is on.** It is accepted whenever the client
//!   offers it, as [`Config::default`](crate::Config::default) says
//!   (axum's has none). Turn it off, or change its windows, through
//!   [`WebSocketUpgrade::config`].
//! * **Other defaults:** 16 MiB message cap (axum: 64 MiB), a keepalive
//!   Ping after 30 s of silence and a dead peer dropped 30 s later, a
//!   60 s limit on the arrival of a message once begun, buffers given back
//!   after 1 s idle. All in [`Config`](crate::Config).
//! * **Refusals follow RFC 6455**, through the crate's handshake layer:
//!   426 with `Sec-WebSocket-Version: 13` for a bad version, 405 with
//!   `Allow: GET`, and checks axum skips (the key's form, `Host`); see
//!   [`rejection`].
//! * **HTTP/2 (RFC 8441)** works as axum's does (turn on axum's `http2`
//!   feature; `axum::serve` then advertises extended CONNECT, and the
//!   extractor answers 200), with the extended CONNECT's checks of
//!   `:protocol`, `:scheme`, `:path` and `:authority`, and its refusals
//!   (400 where HTTP/1.1 would say 426, which HTTP/2 cannot carry).
//! * **Knobs:** [`write_buffer_size`](WebSocketUpgrade::write_buffer_size)
//!   does nothing (each send writes its message out), and
//!   [`accept_unmasked_frames`](WebSocketUpgrade::accept_unmasked_frames)
//!   cannot turn masking off; the others map onto
//!   [`Config`](crate::Config) and [`Options`](crate::tokio::Options), as
//!   their docs say.
//! * **Broadcast without per-member work:** [`WebSocket::send_prepared`]
//!   sends a [`PreparedMessage`](crate::PreparedMessage) framed, and with
//!   permessage-deflate compressed, once for every socket it is handed to
//!   (axum's would frame and compress a [`Message`] per member).
//! * [`Utf8Bytes`] is the tokio driver's: an `Arc<str>`, with axum's
//!   methods, but `from_static` is not a `const fn` (it allocates once).

pub mod close_code;
mod message;
pub mod rejection;
mod socket;
mod upgrade;

pub use message::{CloseCode, CloseFrame, Message};
pub use socket::WebSocket;
pub use upgrade::{DefaultOnFailedUpgrade, OnFailedUpgrade, WebSocketUpgrade};

/// UTF-8 text in a shared buffer: the tokio driver's, which has the API of
/// axum's `Utf8Bytes`.
pub use crate::tokio::Utf8Bytes;
