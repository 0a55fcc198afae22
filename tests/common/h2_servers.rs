//! The HTTP/2 servers the tests of `wscore::tokio::h2` run against, on
//! loopback: hyper 1.x with extended CONNECT, a raw `h2` server for what
//! hyper will not do on request, and TLS with a certificate made here.
//! Both answer with wscore's own server-side handshake.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::time::Instant as TokioInstant;
use wscore::handshake::server::{Accept, Request};
use wscore::tokio::h2::H2Stream;
use wscore::tokio::{Connector, Options, WebSocket, client_config};
use wscore::{CloseCode, Config, Event, Instant};

/// Every test's bound: far above what each needs on a loaded machine.
pub const TEST_DEADLINE: Duration = Duration::from_secs(30);

pub async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(TEST_DEADLINE, f)
        .await
        .expect("the test finishes within its deadline")
}

/// Echo data messages until the end.
pub async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut ws: WebSocket<S>) -> WebSocket<S> {
    while let Some(Ok(_)) = ws
        .recv_with(|event, mut tx| match event {
            Event::Text(text) => tx.send_text(text),
            Event::Binary(data) => tx.send_binary(data),
            _ => Ok(()),
        })
        .await
    {}
    ws
}

/// What a hyper test server does with an extended CONNECT.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Accept and echo.
    Echo,
    /// Accept and send `FLOOD_MESSAGES` messages of `FLOOD_SIZE` bytes,
    /// counting the bytes its sends returned from.
    Flood,
    /// Answer 403 with a body.
    Forbid,
    /// Answer 204, a 2xx that is not RFC 8441's 200.
    NoContent,
}

pub const FLOOD_MESSAGES: usize = 256;
pub const FLOOD_SIZE: usize = 64 << 10;

/// A hyper HTTP/2 server (h2c, or TLS with `tls`) on 127.0.0.1: extended
/// CONNECT enabled if `connect_protocol`. Its port, and the number of
/// connections it accepted (and the bytes `Flood` sent).
pub async fn hyper_server(
    connect_protocol: bool,
    behaviour: Behaviour,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepts = Arc::new(AtomicUsize::new(0));
    let flooded = Arc::new(AtomicUsize::new(0));
    let (counted, sent) = (accepts.clone(), flooded.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let (tls, sent) = (tls.clone(), sent.clone());
            tokio::spawn(async move {
                match tls {
                    None => serve_hyper(tcp, connect_protocol, behaviour, sent).await,
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(tcp).await {
                            serve_hyper(tls, connect_protocol, behaviour, sent).await;
                        }
                    }
                }
            });
        }
    });
    (port, accepts, flooded)
}

pub async fn serve_hyper<S>(
    io: S,
    connect_protocol: bool,
    behaviour: Behaviour,
    sent: Arc<AtomicUsize>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    if connect_protocol {
        builder.enable_connect_protocol();
    }
    let service = service_fn(move |request| handle(request, behaviour, sent.clone()));
    let _ = builder.serve_connection(TokioIo::new(io), service).await;
}

/// wscore's server handshake on hyper's request, then `behaviour`.
pub async fn handle(
    mut request: hyper::Request<Incoming>,
    behaviour: Behaviour,
    sent: Arc<AtomicUsize>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let protocol = request
        .extensions()
        .get::<hyper::ext::Protocol>()
        .map(|p| p.as_str().to_owned());
    let offer = match Request::from_extended_connect(&request, protocol.as_deref()) {
        Ok(offer) => offer,
        Err(e) => return Ok(e.to_http_response().map(Full::from)),
    };
    let status = match behaviour {
        Behaviour::Forbid => 403,
        Behaviour::NoContent => 204,
        Behaviour::Echo | Behaviour::Flood => 200,
    };
    if status != 200 {
        let body = if status == 403 { "not for you\n" } else { "" };
        let mut response = hyper::Response::new(Full::from(body));
        *response.status_mut() = status.try_into().unwrap();
        return Ok(response);
    }
    let epoch = TokioInstant::now();
    let (conn, _, response) = offer
        .accept_http(&Accept::new(), &Config::default(), Instant::ZERO)
        .unwrap();
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let io = TokioIo::new(upgrade.await.unwrap());
        let mut ws = WebSocket::from_connection(io, conn, epoch, Options::default());
        match behaviour {
            Behaviour::Flood => {
                for i in 0..FLOOD_MESSAGES {
                    if ws.send_binary(&[i as u8; FLOOD_SIZE]).await.is_err() {
                        return;
                    }
                    sent.fetch_add(FLOOD_SIZE, Ordering::SeqCst);
                }
                let _ = ws.close(CloseCode::NORMAL, "").await;
            }
            _ => {
                echo(ws).await;
            }
        }
    });
    // Empty: hyper refuses a 2xx to CONNECT with a body.
    Ok(response.map(|()| Full::new(Bytes::new())))
}

pub fn h2c(port: u16) -> String {
    format!("ws://127.0.0.1:{port}")
}

/// Bytes that deflate cannot shrink much (an LCG), so a large message
/// stays large on the wire with permessage-deflate too.
pub fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

/// A raw h2 server on 127.0.0.1 with wscore's handshake and, on its side
/// too, a [`WebSocket`] over an [`H2Stream`]: `/reset` sends part of a
/// message then resets the stream, `/stall` never reads, `/refuse-slowly`
/// answers 403 with a body that never ends, `/die` drops the
/// whole connection, any other path
/// echoes and then tells `ended` whether the client ended its side with
/// END_STREAM. Its port.
pub async fn raw_server(ended: Arc<std::sync::Mutex<Option<oneshot::Sender<bool>>>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let ended = ended.clone();
            tokio::spawn(async move {
                let mut conn = h2::server::Builder::new()
                    .enable_connect_protocol()
                    .handshake::<_, Bytes>(tcp)
                    .await
                    .unwrap();
                while let Some(Ok((request, mut respond))) = conn.accept().await {
                    if request.uri().path() == "/die" {
                        // Drop the connection, its TCP socket and every
                        // stream on it, without a GOAWAY: a crash.
                        return;
                    }
                    let (parts, body) = request.into_parts();
                    let protocol = parts
                        .extensions
                        .get::<h2::ext::Protocol>()
                        .map(|p| p.as_str().to_owned());
                    if parts.uri.path() == "/refuse-slowly" {
                        // A refusal whose body never ends.
                        let mut refusal = http::Response::new(());
                        *refusal.status_mut() = http::StatusCode::FORBIDDEN;
                        let mut send = respond.send_response(refusal, false).unwrap();
                        send.send_data(Bytes::from_static(b"no, and "), false)
                            .unwrap();
                        tokio::spawn(async move {
                            tokio::time::sleep(TEST_DEADLINE).await;
                            drop((send, body));
                        });
                        continue;
                    }
                    let offer =
                        Request::from_extended_connect_parts(&parts, protocol.as_deref()).unwrap();
                    let (conn, _, response) = offer
                        .accept_http(&Accept::new(), &Config::default(), Instant::ZERO)
                        .unwrap();
                    let mut send = respond.send_response(response, false).unwrap();
                    let epoch = TokioInstant::now();
                    if parts.uri.path() == "/stall" {
                        // Never read: the client's writes must wait on
                        // the window this side never reopens.
                        tokio::spawn(async move {
                            tokio::time::sleep(TEST_DEADLINE).await;
                            drop((send, body));
                        });
                        continue;
                    }
                    if parts.uri.path() == "/reset" {
                        tokio::spawn(async move {
                            // A binary frame announcing 1 MiB, 1000 bytes
                            // of it, then RST_STREAM mid-message.
                            let mut partial = vec![0x82, 127, 0, 0, 0, 0, 0, 0x10, 0, 0];
                            partial.extend_from_slice(&[7; 1000]);
                            send.send_data(partial.into(), false).unwrap();
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            send.send_reset(h2::Reason::CANCEL);
                            drop(body);
                        });
                        continue;
                    }
                    let ws = WebSocket::from_connection(
                        H2Stream::new(send, body),
                        conn,
                        epoch,
                        Options::default(),
                    );
                    let ended = ended.clone();
                    tokio::spawn(async move {
                        let ws = echo(ws).await;
                        let end_stream = ws.get_ref().is_end_stream();
                        if let Some(tell) = ended.lock().unwrap().take() {
                            let _ = tell.send(end_stream);
                        }
                    });
                }
            });
        }
    });
    port
}

/// A self-signed certificate for localhost and 127.0.0.1, and its key.
pub fn certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names).unwrap();
    let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    (certified.cert.der().clone(), key.into())
}

/// A TLS acceptor with a fresh certificate and `alpn`, and a connector
/// that trusts the certificate.
pub fn tls_pair(alpn: &[&[u8]]) -> (tokio_rustls::TlsAcceptor, Connector) {
    let (cert, key) = certificate();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        Connector::Rustls(client_config(roots)),
    )
}
