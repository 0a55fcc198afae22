//! WebSockets over HTTP/2 (RFC 8441), several on one connection (feature
//! `h2`, on the [`h2`](https://docs.rs/h2) crate).
//!
//! An [`Http2Client`] is one HTTP/2 connection: over TCP with prior
//! knowledge (h2c) for `ws://` and `http://` URLs, over TLS with ALPN `h2`
//! for `wss://` and `https://` (feature `rustls`), or over any stream you
//! connected ([`Http2Client::handshake`]). Each
//! [`websocket`](Http2Client::websocket) call opens one WebSocket on a
//! stream of its own with an extended CONNECT; it is the same
//! [`WebSocket`] as over HTTP/1.1, over an [`H2Stream`] instead of a TCP
//! socket:
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use wscore::Config;
//! use wscore::tokio::h2::{Http2Client, Http2Options};
//! use wscore::tokio::{ConnectOptions, Message};
//!
//! let session = Http2Client::connect("wss://example.com", &Http2Options::new()).await?;
//! let config = Config::default();
//! let (mut chat, _) = session.websocket("/chat", &config, ConnectOptions::new()).await?;
//! let (mut feed, _) = session.websocket("/feed", &config, ConnectOptions::new()).await?;
//! chat.send(Message::text("hello")).await?;
//! # drop(feed); Ok(()) }
//! ```
//!
//! What HTTP/2 changes (RFC 8441 section 5): the handshake is a CONNECT
//! answered by `200` (no key, no `Sec-WebSocket-Accept`); a WebSocket's
//! end is the end of its stream (END_STREAM after the close handshake,
//! `RST_STREAM` for an abrupt one), never the connection's; and each
//! stream's bytes are under HTTP/2 flow control, which [`H2Stream`] obeys
//! both ways, so neither side buffers more than a window of the other's.

mod stream;

use alloc::format;
use alloc::sync::Arc;
use core::time::Duration;
use std::io;

use ::h2::RecvStream;
use ::h2::client::SendRequest;
use ::tokio::io::{AsyncRead, AsyncWrite};
use ::tokio::time::Instant as TokioInstant;
use bytes::Bytes;

pub use stream::H2Stream;
use stream::to_io_error;

use super::WebSocket;
use super::connect::url::{Target, invalid};
use super::connect::{ConnectOptions, Connector, IntoUrl, RandomMasks, Tls, tcp_connect};
use super::driver::now_since;
use super::handshake::timed_out;
use crate::config::Config;
use crate::frame::Status;
use crate::handshake::client::Response;
use crate::handshake::{CONNECT_PROTOCOL, ClientHandshakeError, RejectedResponse};

/// How an [`Http2Client`] connects, and the flow-control windows it
/// grants the server. The default suits most uses; see each setter.
///
/// ```
/// use std::time::Duration;
/// use wscore::tokio::h2::Http2Options;
///
/// let options = Http2Options::new()
///     .timeout(Duration::from_secs(5))
///     .stream_window(1 << 20)
///     .connection_window(4 << 20);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Http2Options {
    connector: Option<Connector>,
    timeout: Duration,
    stream_window: u32,
    connection_window: u32,
}

impl Default for Http2Options {
    fn default() -> Http2Options {
        Http2Options {
            connector: None,
            timeout: Duration::from_secs(10),
            stream_window: 256 << 10,
            connection_window: 1 << 20,
        }
    }
}

impl Http2Options {
    /// The defaults: TLS as the crate's features say (as for
    /// [`connect`](super::connect)), 10 s to connect, windows of 256 KiB
    /// per stream and 1 MiB per connection.
    pub fn new() -> Http2Options {
        Http2Options::default()
    }

    /// How to do TLS for `wss://` and `https://`: the configuration is
    /// used as given except for its ALPN list, which becomes `h2` alone
    /// (HTTP/2 over TLS is agreed by ALPN, RFC 9113 section 3.2).
    pub fn connector(mut self, connector: Connector) -> Http2Options {
        self.connector = Some(connector);
        self
    }

    /// The bound on [`Http2Client::connect`] and
    /// [`Http2Client::handshake`] as a whole: name lookup, TCP, TLS, the
    /// HTTP/2 preface and the server's SETTINGS. Default: 10 s.
    pub fn timeout(mut self, timeout: Duration) -> Http2Options {
        self.timeout = timeout;
        self
    }

    /// The receive window of each stream (SETTINGS_INITIAL_WINDOW_SIZE):
    /// the most a WebSocket whose reader stalls holds unread. HTTP/2's
    /// default, 64 KiB, costs a round trip per 64 KiB of a large message;
    /// default here: 256 KiB. Capped at 2^31 - 1 by HTTP/2.
    pub fn stream_window(mut self, bytes: u32) -> Http2Options {
        self.stream_window = bytes.min(MAX_WINDOW);
        self
    }

    /// The receive window of the whole connection: the most all its
    /// WebSockets together hold unread. Default: 1 MiB.
    pub fn connection_window(mut self, bytes: u32) -> Http2Options {
        self.connection_window = bytes.min(MAX_WINDOW);
        self
    }
}

/// HTTP/2's largest flow-control window (RFC 9113 section 6.9.1).
const MAX_WINDOW: u32 = (1 << 31) - 1;

/// One HTTP/2 connection to a server that accepts WebSockets by extended
/// CONNECT (RFC 8441), on which [`websocket`](Self::websocket) opens as
/// many WebSockets as the server allows streams at once.
///
/// A cheap handle: clones share the connection (an `Arc`). The connection
/// is driven by a task of its own, spawned on the current tokio runtime
/// when the client is made, because every stream needs it to make
/// progress and none of them owns it; it ends, with a GOAWAY, once every
/// handle and every [`H2Stream`] is dropped, or when the connection fails
/// (each WebSocket then sees a [`ConnectionReset`](io::ErrorKind::ConnectionReset)
/// or the transport's own error).
#[derive(Clone, Debug)]
pub struct Http2Client {
    send: SendRequest<Bytes>,
    /// `https` (for `wss`) or `http`: the `:scheme` of every CONNECT.
    tls: bool,
    /// The `:authority` of a [`websocket`](Self::websocket) call given a
    /// path.
    authority: Arc<str>,
}

impl Http2Client {
    /// Connect to `url` (`ws://`, `http://`: TCP with prior knowledge;
    /// `wss://`, `https://`: TLS with ALPN `h2`, feature `rustls`), start
    /// HTTP/2 and wait for the server's SETTINGS, all within
    /// [`Http2Options::timeout`]. The URL's path is not used; its host and
    /// port name the connection and are the `:authority` of a WebSocket
    /// opened by path.
    ///
    /// Refuses, as [`io::Error`]:
    ///
    /// | what | kind |
    /// |---|---|
    /// | a URL that does not parse, another scheme, user info, TLS without the `rustls` feature or with [`Connector::Plain`] | `InvalidInput` |
    /// | a TLS server that did not agree `h2` by ALPN, a server whose SETTINGS do not enable extended CONNECT | `Unsupported`: fall back to HTTP/1.1 ([`connect_with`](super::connect_with)) |
    /// | past the timeout | `TimedOut` |
    /// | a certificate not trusted | `InvalidData` |
    /// | name lookup, TCP, and HTTP/2 failures | as reported |
    ///
    /// Must be called within a tokio runtime (the connection's task is
    /// spawned on it).
    pub async fn connect(url: impl IntoUrl, options: &Http2Options) -> io::Result<Http2Client> {
        let deadline = TokioInstant::now() + options.timeout;
        let target = Target::parse_schemes(&url.into_uri()?, true)?;
        let tls = Tls::for_target(&target, options.connector.as_ref())?;
        ::tokio::time::timeout_at(deadline, async {
            let tcp = tcp_connect(&target.host, target.port).await?;
            match tls {
                Tls::None => start(tcp, &target, options).await,
                #[cfg(feature = "rustls")]
                Tls::Rustls(config) => {
                    let tls = tls_h2(config, &target.host, tcp).await?;
                    start(tls, &target, options).await
                }
            }
        })
        .await
        .map_err(|_| timed_out())?
    }

    /// Start HTTP/2 on `io`, a transport already connected (and encrypted,
    /// if it is to be) to the server named by `url`, whose scheme gives
    /// the `:scheme` of each CONNECT (`wss`/`https` or `ws`/`http`) and
    /// whose authority the `:authority` of a WebSocket opened by path.
    /// Over TLS, agreeing `h2` by ALPN was the caller's business. Waits for
    /// the server's SETTINGS within [`Http2Options::timeout`]; refuses as
    /// [`connect`](Self::connect) does (a server without extended CONNECT
    /// is [`Unsupported`](io::ErrorKind::Unsupported)).
    ///
    /// Must be called within a tokio runtime (the connection's task is
    /// spawned on it).
    pub async fn handshake<S>(
        io: S,
        url: impl IntoUrl,
        options: &Http2Options,
    ) -> io::Result<Http2Client>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let target = Target::parse_schemes(&url.into_uri()?, true)?;
        ::tokio::time::timeout(options.timeout, start(io, &target, options))
            .await
            .map_err(|_| timed_out())?
    }

    /// Open a WebSocket on a new stream of this connection: send the
    /// extended CONNECT for `target` and check the answer with the
    /// handshake layer ([`ClientRequest::to_extended_connect`](crate::handshake::client::ClientRequest::to_extended_connect),
    /// [`check_http_response`](crate::handshake::client::ClientHandshake::check_http_response)),
    /// within `options`' [`Options::handshake_timeout`](super::Options::handshake_timeout).
    ///
    /// `target` is a path with its query (`/chat?room=1`), sent with the
    /// connection's authority, or a whole URL of the connection's scheme
    /// (`wss://` or `https://` over TLS, `ws://` or `http://` otherwise),
    /// whose authority and path are sent. `options` gives the subprotocols,
    /// `Origin`, extra headers and the driver's options, as for
    /// [`connect_with`](super::connect_with) (its connector is not used);
    /// `config` the connection's settings, permessage-deflate included.
    ///
    /// Waits while the server's limit of concurrent streams is reached.
    /// Refuses, as [`io::Error`]: a bad target or request `InvalidInput`,
    /// before any I/O; a server that answers other than 200
    /// `ConnectionRefused`, whose source is a
    /// [`ClientHandshakeError::Status`] with the status, headers and up to
    /// 64 KiB of the body; an invalid 200 `InvalidData`; past the timeout
    /// `TimedOut`; a connection that failed `ConnectionReset` or the
    /// transport's error.
    ///
    /// Cost: one HEADERS frame each way; two `getrandom` calls for the
    /// masks (then one per 64 frames). No nonce: extended CONNECT has no
    /// key.
    pub async fn websocket(
        &self,
        target: &str,
        config: &Config,
        options: ConnectOptions,
    ) -> io::Result<(WebSocket<H2Stream>, Response)> {
        let deadline = TokioInstant::now() + options.options.handshake_timeout;
        let (authority, path) = self.resolve(target)?;
        // The nonce is for Sec-WebSocket-Key, which extended CONNECT does
        // not send (RFC 8441 section 5).
        let request = options.request_to(&authority, &path, [0; 16]);
        let scheme = if self.tls { "https" } else { "http" };
        let (mut head, handshake) = request.to_extended_connect(config, scheme)?;
        head.extensions_mut()
            .insert(::h2::ext::Protocol::from_static(CONNECT_PROTOCOL));
        let masks = RandomMasks::new()?;
        let exchange = async {
            let mut send = self.send.clone().ready().await.map_err(to_io_error)?;
            let (answer, stream) = send.send_request(head, false).map_err(to_io_error)?;
            let answer = answer.await.map_err(to_io_error)?;
            let (parts, body) = answer.into_parts();
            let answer = http::Response::from_parts(parts, ());
            io::Result::Ok((stream, body, handshake.check_http_response(&answer)))
        };
        let (stream, mut body, checked) = ::tokio::time::timeout_at(deadline, exchange)
            .await
            .map_err(|_| timed_out())??;
        let response = match checked {
            Ok(response) => response,
            Err(ClientHandshakeError::Status(mut rejected)) => {
                // What the server said is worth more than a timeout: the
                // refusal comes back with the body read by the deadline.
                let _ =
                    ::tokio::time::timeout_at(deadline, read_body(&mut body, &mut rejected)).await;
                return Err(ClientHandshakeError::Status(rejected).into());
            }
            Err(e) => return Err(e.into()),
        };
        let epoch = TokioInstant::now();
        let conn = response.open(now_since(epoch), &[], masks);
        let io = H2Stream::new(stream, body);
        Ok((
            WebSocket::from_connection(io, conn, epoch, options.options),
            response,
        ))
    }

    /// The `:authority` and `:path` for a [`websocket`](Self::websocket)
    /// target.
    fn resolve(&self, target: &str) -> io::Result<(alloc::string::String, alloc::string::String)> {
        if target.starts_with('/') {
            return Ok((self.authority.as_ref().into(), target.into()));
        }
        let url = Target::parse_schemes(&super::connect::IntoUrl::into_uri(target)?, true)?;
        if url.tls != self.tls {
            return Err(invalid(format!(
                "{target} does not have the scheme of this connection ({})",
                if self.tls {
                    "wss or https"
                } else {
                    "ws or http"
                }
            )));
        }
        Ok((url.authority, url.target))
    }
}

/// Read a refusal's body into it until the stream ends or
/// [`RejectedResponse::MAX_BODY`] is kept (or the body fails: the refusal
/// is the error worth reporting).
async fn read_body(body: &mut RecvStream, rejected: &mut RejectedResponse) {
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
        if rejected.handle_body(&chunk) == Status::Complete(()) {
            return;
        }
    }
}

/// HTTP/2 on `io` to `target`: the preface, the connection's task, and the
/// server's SETTINGS, which must enable extended CONNECT.
async fn start<S>(io: S, target: &Target, options: &Http2Options) -> io::Result<Http2Client>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, mut connection) = ::h2::client::Builder::new()
        .initial_window_size(options.stream_window)
        .initial_connection_window_size(options.connection_window)
        // A WebSocket client has no use for pushed responses.
        .enable_push(false)
        .handshake::<_, Bytes>(io)
        .await
        .map_err(to_io_error)?;
    let mut ping = connection
        .ping_pong()
        .expect("the pings of a connection just made were not taken");
    ::tokio::spawn(async move {
        // Its errors reach the streams, each as its own reads and writes
        // fail; the task itself has no one to tell.
        let _ = connection.await;
    });
    // `ready()` resolves before the server's SETTINGS are read, and until
    // then h2 reports extended CONNECT as off. The server sends its SETTINGS
    // first of all (RFC 9113 section 3.4) and h2 reads frames in order,
    // applying a SETTINGS before it reads the next frame, so once the PONG
    // of our PING is in, so are the server's SETTINGS. One round trip, no
    // guessing with a timer.
    ping.ping(::h2::Ping::opaque()).await.map_err(to_io_error)?;
    let send = send.ready().await.map_err(to_io_error)?;
    if !send.is_extended_connect_protocol_enabled() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the HTTP/2 server does not enable extended CONNECT \
             (SETTINGS_ENABLE_CONNECT_PROTOCOL, RFC 8441): it cannot take a \
             WebSocket over HTTP/2; use HTTP/1.1",
        ));
    }
    Ok(Http2Client {
        send,
        tls: target.tls,
        authority: target.authority.as_str().into(),
    })
}

/// TLS offering only `h2` by ALPN, and refusing a server that did not
/// agree to it.
#[cfg(feature = "rustls")]
async fn tls_h2(
    config: Arc<rustls::ClientConfig>,
    host: &str,
    tcp: ::tokio::net::TcpStream,
) -> io::Result<tokio_rustls::client::TlsStream<::tokio::net::TcpStream>> {
    let mut config = (*config).clone();
    config.alpn_protocols = alloc::vec![ALPN_H2.to_vec()];
    let stream = super::connect::tls::handshake(Arc::new(config), host, tcp)
        .await
        .map_err(|e| {
            // A server that has ALPN but not `h2` ends the handshake with
            // this alert (RFC 7301 section 3.2): the same answer as one that
            // ignores ALPN, and a caller falls back on either.
            let refused = e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>())
                == Some(&rustls::Error::AlertReceived(
                    rustls::AlertDescription::NoApplicationProtocol,
                ));
            if refused { alpn_refused(None) } else { e }
        })?;
    match stream.get_ref().1.alpn_protocol() {
        Some(ALPN_H2) => Ok(stream),
        other => Err(alpn_refused(other)),
    }
}

/// The error for a TLS server that did not agree to `h2`, having chosen
/// `chosen` instead.
#[cfg(feature = "rustls")]
fn alpn_refused(chosen: Option<&[u8]>) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "the TLS server did not agree to HTTP/2 by ALPN (it chose {:?}); use HTTP/1.1",
            chosen.map(alloc::string::String::from_utf8_lossy)
        ),
    )
}

/// HTTP/2's ALPN protocol identifier (RFC 9113 section 3.2).
#[cfg(feature = "rustls")]
const ALPN_H2: &[u8] = b"h2";
