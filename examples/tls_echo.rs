//! A `wss://` echo server: tokio-rustls in front of the tokio driver.
//!
//! `cargo run --release --features rustls --example tls_echo -- [ADDR] [CERT.pem KEY.pem]`
//! (default `127.0.0.1:9443`). With a certificate chain and its private key
//! in PEM files it serves those; without, it makes a self-signed
//! certificate for `localhost`, `127.0.0.1` and `::1`, writes it to a PEM
//! file and prints how to trust it. The WebSocket is the same as on plain
//! TCP: `WebSocket::accept` takes the TLS stream as it takes any
//! `AsyncRead + AsyncWrite`.

mod common;
#[path = "common/tls.rs"]
mod tls;

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use wscore::Config;
use wscore::tokio::{Options, WebSocket};

/// How long a client may take over the TLS handshake; the WebSocket
/// handshake then has `Options::handshake_timeout` (10 s) of its own.
const TLS_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, files) = match args.as_slice() {
        [] => ("127.0.0.1:9443", None),
        [addr] => (addr.as_str(), None),
        [cert, key] => ("127.0.0.1:9443", Some((cert, key))),
        [addr, cert, key] => (addr.as_str(), Some((cert, key))),
        _ => {
            eprintln!("usage: tls_echo [ADDR] [CERT.pem KEY.pem]");
            std::process::exit(2);
        }
    };
    let (chain, key) = match files {
        Some((cert, key)) => tls::load(cert, key)?,
        None => self_signed()?,
    };
    // The WebSocket handshake is HTTP/1.1 (RFC 6455); say so to clients
    // that offer h2 as well.
    let tls = tls::server_config(chain, key, &[b"http/1.1"])?;
    let acceptor = TlsAcceptor::from(Arc::new(tls));

    let config = Config::default();
    common::spawn_malloc_trimmer(Duration::from_secs(2));
    let listener = TcpListener::bind(addr).await?;
    println!("listening on wss://{}", listener.local_addr()?);
    io::stdout().flush()?;
    common::accept_loop_tokio(&listener, |stream| {
        let _ = stream.set_nodelay(true);
        let (acceptor, config) = (acceptor.clone(), config.clone());
        tokio::spawn(async move {
            // A client that stalls the TLS handshake is dropped like one
            // that stalls the WebSocket handshake.
            let tls = tokio::time::timeout(TLS_TIMEOUT, acceptor.accept(stream))
                .await
                .map_err(|_| {
                    io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")
                })??;
            // The driver takes the TLS stream as it takes a TcpStream.
            let mut ws = WebSocket::accept(tls, &config, Options::default()).await?;
            common::echo_tokio(&mut ws).await
        });
    })
    .await
}

/// A certificate chain (leaf first) and its private key from PEM files.
fn self_signed() -> io::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    let certified = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
    let path = std::env::temp_dir().join("wscore-tls-echo-cert.pem");
    std::fs::write(&path, certified.cert.pem())?;
    let path = path.display();
    println!("no certificate given: made a self-signed one for localhost, written to {path}");
    println!("trust it in the client, e.g.:");
    println!("  wscore:  roots.add(..) from {path}, then Connector::Rustls(client_config(roots))");
    println!("  Node:    NODE_EXTRA_CA_CERTS={path} node client.js");
    println!("  Python:  ssl_context.load_verify_locations(\"{path}\")");
    println!("  curl:    curl --cacert {path} ...");
    println!("  browser: open https://localhost:<port>/ once and accept the warning");
    let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    Ok((vec![certified.cert.der().clone()], key.into()))
}
