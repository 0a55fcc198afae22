//! One call from a `ws://` or `wss://` URL to an open [`WebSocket`], like
//! tokio-tungstenite's `connect_async`: resolve, TCP, TLS, the opening
//! handshake, all within [`Options::handshake_timeout`].

mod random;
mod stream;
#[cfg(feature = "rustls")]
pub(super) mod tls;
pub(super) mod url;

use alloc::string::String;
#[cfg(feature = "rustls")]
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::io;

use ::tokio::net::TcpStream;
use ::tokio::time::Instant as TokioInstant;

pub use random::{RandomMasks, random_nonce};
pub use stream::MaybeTlsStream;
#[cfg(feature = "rustls")]
pub use tls::client_config;
pub use url::IntoUrl;

use super::handshake::timed_out;
use super::{Options, WebSocket};
use crate::config::Config;
use crate::handshake::HandshakeLimits;
use crate::handshake::client::{ClientRequest, Response};
use url::{Target, invalid};

/// How `wss://` is encrypted, for [`ConnectOptions::connector`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Connector {
    /// No TLS: `ws://` only; a `wss://` URL is refused
    /// ([`InvalidInput`](io::ErrorKind::InvalidInput)).
    Plain,
    /// rustls with this configuration, used as given (its roots, client
    /// certificate, versions); [`client_config`] makes one from a root
    /// store. If the server picks an ALPN protocol other than `http/1.1`
    /// the connection is refused ([`InvalidData`](io::ErrorKind::InvalidData)).
    #[cfg(feature = "rustls")]
    Rustls(Arc<rustls::ClientConfig>),
}

/// What [`connect_with`] does beyond the URL: the driver's [`Options`], the
/// request's extras, and TLS. The default is what [`connect`] does.
///
/// ```
/// use std::time::Duration;
/// use wscore::tokio::{ConnectOptions, Options};
///
/// let mut options = Options::default();
/// options.handshake_timeout = Duration::from_secs(5);
/// let options = ConnectOptions::new()
///     .options(options)
///     .protocol("v2.chat")
///     .origin("https://example.com")
///     .header("Authorization", "Bearer abc");
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct ConnectOptions {
    pub(super) options: Options,
    protocols: Vec<String>,
    origin: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    limits: HandshakeLimits,
    pub(super) connector: Option<Connector>,
}

impl ConnectOptions {
    /// The defaults: [`Options::default`], no subprotocol, origin or extra
    /// header, the default [`HandshakeLimits`], and TLS for `wss://` as the
    /// crate's features say (see [`connect`]).
    pub fn new() -> ConnectOptions {
        ConnectOptions::default()
    }

    /// The driver's options; their `handshake_timeout` bounds the whole
    /// of [`connect_with`]: name lookup, TCP, TLS and the upgrade.
    pub fn options(mut self, options: Options) -> ConnectOptions {
        self.options = options;
        self
    }

    /// Offer a subprotocol; call once per protocol, most preferred first
    /// ([`ClientRequest::protocol`]).
    pub fn protocol(mut self, protocol: impl Into<String>) -> ConnectOptions {
        self.protocols.push(protocol.into());
        self
    }

    /// Send an `Origin` header ([`ClientRequest::origin`]).
    pub fn origin(mut self, origin: impl Into<String>) -> ConnectOptions {
        self.origin = Some(origin.into());
        self
    }

    /// Add a header (`Authorization`, `Cookie`, `User-Agent`...). Headers
    /// the handshake writes itself are refused when connecting
    /// ([`BuildError::ReservedHeader`](crate::handshake::BuildError::ReservedHeader),
    /// [`InvalidInput`](io::ErrorKind::InvalidInput)), before any I/O.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> ConnectOptions {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The caps for reading the server's response head.
    pub fn limits(mut self, limits: HandshakeLimits) -> ConnectOptions {
        self.limits = limits;
        self
    }

    /// How to do TLS for `wss://`, e.g. with your own roots:
    /// `Connector::Rustls(client_config(roots))`.
    pub fn connector(mut self, connector: Connector) -> ConnectOptions {
        self.connector = Some(connector);
        self
    }

    fn request(&self, target: &Target, nonce: [u8; 16]) -> ClientRequest {
        self.request_to(&target.authority, &target.target, nonce)
    }

    /// The request for `target` (path and query) at `authority`, with
    /// these options' extras.
    pub(super) fn request_to(
        &self,
        authority: &str,
        target: &str,
        nonce: [u8; 16],
    ) -> ClientRequest {
        let mut request = ClientRequest::new(authority, nonce)
            .target(target)
            .limits(self.limits);
        if let Some(origin) = &self.origin {
            request = request.origin(origin.as_str());
        }
        for protocol in &self.protocols {
            request = request.protocol(protocol.as_str());
        }
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_slice());
        }
        request
    }
}

/// Open a WebSocket to `url` (`ws://` or `wss://`) with [`Config::default`]
/// and the default [`ConnectOptions`]: tokio-tungstenite's `connect_async`.
///
/// It resolves the host (`tokio::net::lookup_host`) and tries its
/// addresses in order, with `TCP_NODELAY` on; for `wss://` it runs TLS over
/// rustls (feature `rustls`) with SNI and ALPN `http/1.1`, trusting the
/// Mozilla roots (`webpki-roots`), or the OS's with `rustls-native-roots`;
/// then the opening handshake, with the port in `Host` only when it is not
/// the scheme's default, the path and query as the target, permessage-deflate
/// offered, and the nonce and masks from the OS random source
/// ([`random_nonce`], [`RandomMasks`]). All of it within
/// [`Options::handshake_timeout`] (10 s).
///
/// Costs: a DNS lookup unless the host is an IP address, a TCP connect per
/// address tried, a TLS handshake, one round trip for the upgrade; two
/// `getrandom` calls, then one per 64 frames sent; the first `wss://` call
/// builds the root store once for the process.
///
/// Refuses, as [`io::Error`]:
///
/// | what | kind |
/// |---|---|
/// | a URL that does not parse, a scheme other than `ws`/`wss`, a fragment, user info, `wss://` without the `rustls` feature or with [`Connector::Plain`] | `InvalidInput` |
/// | past `handshake_timeout`, at any step | `TimedOut` |
/// | a server that answers other than 101: the source is a [`ClientHandshakeError::Status`](crate::handshake::ClientHandshakeError::Status) whose [`RejectedResponse`](crate::handshake::RejectedResponse) has the status, headers and up to 64 KiB of body | `ConnectionRefused` |
/// | an invalid 101 ([`ClientHandshakeError`](crate::handshake::ClientHandshakeError)), a certificate not trusted (the source is the `rustls::Error`), ALPN other than `http/1.1` | `InvalidData` |
/// | name lookup and TCP failures | as the OS reports them |
///
/// A minimal client:
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use wscore::CloseCode;
/// use wscore::tokio::{Message, connect};
///
/// let (mut ws, _) = connect("wss://echo.example.com/").await?;
/// ws.send_text("hello").await?;
/// if let Some(Message::Text(text)) = ws.recv().await.transpose()? {
///     println!("{text}");
/// }
/// ws.close(CloseCode::NORMAL, "").await?;
/// # Ok(()) }
/// ```
pub async fn connect(
    url: impl IntoUrl,
) -> io::Result<(WebSocket<MaybeTlsStream<TcpStream>>, Response)> {
    connect_with(url, &Config::default(), ConnectOptions::default()).await
}

/// [`connect`] with a [`Config`] for the connection and [`ConnectOptions`]
/// for the driver, the request and TLS. Everything [`connect`] says holds;
/// the request is checked before any I/O (a bad header or subprotocol is
/// [`InvalidInput`](io::ErrorKind::InvalidInput)).
pub async fn connect_with(
    url: impl IntoUrl,
    config: &Config,
    options: ConnectOptions,
) -> io::Result<(WebSocket<MaybeTlsStream<TcpStream>>, Response)> {
    let deadline = TokioInstant::now() + options.options.handshake_timeout;
    let target = Target::parse(&url.into_uri()?)?;
    let tls = Tls::for_target(&target, options.connector.as_ref())?;
    let request = options.request(&target, random_nonce()?);
    // Refuse a bad request before connecting: `write` checks it.
    request.write(config, &mut Vec::new())?;
    let masks = RandomMasks::new()?;
    let io = ::tokio::time::timeout_at(deadline, transport(&target, tls))
        .await
        .map_err(|_| timed_out())??;
    WebSocket::connect_by(io, &request, masks, config, options.options, deadline).await
}

/// The TLS a connection gets, decided before any I/O.
pub(super) enum Tls {
    None,
    #[cfg(feature = "rustls")]
    Rustls(Arc<rustls::ClientConfig>),
}

impl Tls {
    pub(super) fn for_target(target: &Target, connector: Option<&Connector>) -> io::Result<Tls> {
        if !target.tls {
            return Ok(Tls::None);
        }
        match connector {
            Some(Connector::Plain) => Err(invalid(
                "wss:// with Connector::Plain: TLS was turned off".into(),
            )),
            #[cfg(feature = "rustls")]
            Some(Connector::Rustls(config)) => Ok(Tls::Rustls(config.clone())),
            #[cfg(feature = "rustls")]
            None => Ok(Tls::Rustls(tls::default_config()?)),
            #[cfg(not(feature = "rustls"))]
            None => Err(invalid(
                "wss:// needs TLS: enable wscore's `rustls` feature".into(),
            )),
        }
    }
}

/// TCP to the target, then TLS if it asks for it.
async fn transport(target: &Target, tls: Tls) -> io::Result<MaybeTlsStream<TcpStream>> {
    let tcp = tcp_connect(&target.host, target.port).await?;
    match tls {
        Tls::None => Ok(MaybeTlsStream::Plain(tcp)),
        #[cfg(feature = "rustls")]
        Tls::Rustls(config) => tls::connect(config, &target.host, tcp).await,
    }
}

/// Each address of `host` in the order the resolver gives them, until one
/// connects; the last failure otherwise. (No Happy Eyeballs: an address
/// that swallows packets holds up the next until the deadline.)
pub(super) async fn tcp_connect(host: &str, port: u16) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in ::tokio::net::lookup_host((host, port)).await? {
        match TcpStream::connect(addr).await {
            Ok(tcp) => {
                // Frames are written whole; Nagle would only delay them.
                tcp.set_nodelay(true)?;
                return Ok(tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            alloc::format!("no address found for {host}"),
        )
    }))
}
