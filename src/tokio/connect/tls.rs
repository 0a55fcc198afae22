//! TLS for `wss://` (feature `rustls`): the connector, the default client
//! configuration and its roots.

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::format;
use alloc::sync::Arc;
use alloc::vec;
use std::io;
use std::sync::OnceLock;

use ::tokio::io::{AsyncRead, AsyncWrite};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};

use super::MaybeTlsStream;

/// The ALPN protocol a WebSocket handshake runs over (RFC 6455 is HTTP/1.1
/// only; RFC 8441's HTTP/2 handshake is another protocol).
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// A client configuration for `wss://` with `roots` as its trust anchors:
/// rustls's safe defaults on the `ring` provider (named here, so a process
/// that also links `aws-lc-rs` does not make rustls's default ambiguous),
/// no client certificate, and ALPN `http/1.1`, so a server that speaks
/// HTTP/2 as well answers in HTTP/1.1. Pass it as
/// [`Connector::Rustls`](super::Connector::Rustls), e.g. to trust a private
/// CA or a self-signed test certificate.
pub fn client_config(roots: RootCertStore) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring's default provider supports rustls's default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP11.to_owned()];
    Arc::new(config)
}

/// The configuration [`connect`](super::connect) uses when none is given,
/// built once per process (loading the OS store reads files): the Mozilla
/// roots of `webpki-roots`, or the OS's with `rustls-native-roots`.
pub(in crate::tokio) fn default_config() -> io::Result<Arc<ClientConfig>> {
    static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(config) = DEFAULT.get() {
        return Ok(config.clone());
    }
    let config = client_config(default_roots()?);
    Ok(DEFAULT.get_or_init(|| config).clone())
}

#[cfg(not(feature = "rustls-native-roots"))]
fn default_roots() -> io::Result<RootCertStore> {
    Ok(RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    })
}

#[cfg(feature = "rustls-native-roots")]
fn default_roots() -> io::Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let errors: alloc::vec::Vec<_> = found.errors.iter().map(|e| format!("{e}")).collect();
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "no usable root certificates in the OS store ({})",
                errors.join("; ")
            ),
        ));
    }
    Ok(roots)
}

/// TLS over `io` to `host` (a name, or an IP address without brackets, which
/// rustls checks against the certificate's IP addresses instead of sending
/// it as SNI).
pub(super) async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
    config: Arc<ClientConfig>,
    host: &str,
    io: S,
) -> io::Result<MaybeTlsStream<S>> {
    let stream = handshake(config, host, io).await?;
    // A configuration of the caller's may offer h2: a server that picks it
    // would not understand the HTTP/1.1 upgrade.
    if let Some(alpn) = stream.get_ref().1.alpn_protocol() {
        if alpn != ALPN_HTTP11 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the server chose ALPN {:?}; a websocket handshake needs http/1.1",
                    alloc::string::String::from_utf8_lossy(alpn)
                ),
            ));
        }
    }
    Ok(MaybeTlsStream::Rustls(Box::new(stream)))
}

/// The TLS handshake alone, whatever ALPN agreed: the caller checks it.
pub(in crate::tokio) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    config: Arc<ClientConfig>,
    host: &str,
    io: S,
) -> io::Result<tokio_rustls::client::TlsStream<S>> {
    let name = ServerName::try_from(host.to_owned()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{host:?} is not a valid TLS server name"),
        )
    })?;
    tokio_rustls::TlsConnector::from(config)
        .connect(name, io)
        .await
}
