//! A blocking WebSocket-over-HTTP/3 echo server on one UDP socket: quiche
//! for QUIC and HTTP/3, wscore for the handshake and the WebSocket, one
//! `wscore::Connection` per extended CONNECT request stream.
//!
//! Each WebSocket echoes text and binary messages with the same type;
//! Pings are answered and the close handshake completed by the core
//! (its default `Config`), permessage-deflate agreed when offered. A
//! request that is not a WebSocket extended CONNECT gets the handshake
//! layer's status (400, or 405 for a method other than CONNECT) and a
//! one-line body. Bounded: [`ServerConfig::max_connections`] QUIC
//! connections (further Initials are dropped), [`ServerConfig::max_streams`]
//! concurrent request streams per connection (QUIC's stream limit), and
//! an idle timeout.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use quiche::h3::{self, NameValue};
use wscore::handshake::server::{Accept, Request};
use wscore::{ClosedReason, Config, Event};

use crate::stream::WsStream;
use crate::{MAX_DATAGRAM_SIZE, flush_quic, h3_config, now, quic_config, random, wait_for};

/// Our connection IDs' length.
const CID_LEN: usize = quiche::MAX_CONN_ID_LEN;

/// What the server is run with.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// PEM certificate chain file.
    pub cert: String,
    /// PEM private key file.
    pub key: String,
    /// QUIC connections served at once; Initials beyond are dropped.
    pub max_connections: usize,
    /// Concurrent request streams per QUIC connection.
    pub max_streams: u64,
    /// A QUIC connection silent this long is closed.
    pub idle_timeout: Duration,
    /// The WebSocket connections' settings (deflate on by default).
    pub ws: Config,
}

impl ServerConfig {
    /// The defaults: 64 connections, 16 streams each, 60 s idle timeout,
    /// wscore's default `Config`.
    ///
    /// The idle timeout is above the WebSocket's keepalive (a Ping after
    /// 30 s of silence, in wscore's default `Config`), so a quiet but live
    /// WebSocket keeps its QUIC connection, and a dead peer is dropped by
    /// whichever gives up first, wscore's Pong wait or QUIC's idle timer.
    pub fn new(cert: impl Into<String>, key: impl Into<String>) -> ServerConfig {
        ServerConfig {
            cert: cert.into(),
            key: key.into(),
            max_connections: 64,
            max_streams: 16,
            idle_timeout: Duration::from_secs(60),
            ws: Config::default(),
        }
    }
}

/// How one WebSocket ended, for logs and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamEnd {
    /// The request stream.
    pub stream: u64,
    /// Why the WebSocket ended.
    pub reason: ClosedReason,
}

/// One QUIC connection and its WebSockets.
struct Client {
    conn: quiche::Connection,
    h3: Option<h3::Connection>,
    streams: HashMap<u64, WsStream>,
    /// The connection IDs that map to this client.
    cids: Vec<Vec<u8>>,
}

/// The server: a socket, the QUIC and HTTP/3 settings, and the clients.
pub struct Server {
    socket: UdpSocket,
    local: SocketAddr,
    quic: quiche::Config,
    h3: h3::Config,
    config: ServerConfig,
    clients: HashMap<u64, Client>,
    by_cid: HashMap<Vec<u8>, u64>,
    next_client: u64,
    ends: Option<mpsc::Sender<StreamEnd>>,
}

impl Server {
    /// Bind `addr` and load the certificate and key.
    pub fn bind(addr: &str, config: ServerConfig) -> io::Result<Server> {
        let socket = UdpSocket::bind(addr)?;
        let local = socket.local_addr()?;
        let mut quic =
            quic_config(config.idle_timeout, config.max_streams).map_err(io::Error::other)?;
        quic.load_cert_chain_from_pem_file(&config.cert)
            .map_err(|e| io::Error::other(format!("certificate {}: {e}", config.cert)))?;
        quic.load_priv_key_from_pem_file(&config.key)
            .map_err(|e| io::Error::other(format!("key {}: {e}", config.key)))?;
        let h3 = h3_config().map_err(io::Error::other)?;
        Ok(Server {
            socket,
            local,
            quic,
            h3,
            config,
            clients: HashMap::new(),
            by_cid: HashMap::new(),
            next_client: 0,
            ends: None,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Report how each WebSocket ended on `ends`.
    pub fn report_ends(&mut self, ends: mpsc::Sender<StreamEnd>) {
        self.ends = Some(ends);
    }

    /// Serve until `stop` is set (checked at least every 50 ms).
    pub fn run(&mut self, stop: &AtomicBool) -> io::Result<()> {
        let mut buf = vec![0u8; 65535];
        let mut out = [0u8; MAX_DATAGRAM_SIZE];
        while !stop.load(Ordering::Relaxed) {
            let wait = wait_for(
                self.clients.values().flat_map(|c| {
                    let ws = c.streams.values().filter_map(|s| {
                        s.ws.poll_timeout()
                            .map(|at| at.saturating_duration_since(now()))
                    });
                    c.conn.timeout().into_iter().chain(ws)
                }),
                Duration::from_millis(50),
            );
            self.socket.set_read_timeout(Some(wait))?;
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => self.on_datagram(&mut buf[..n], from, &mut out)?,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // An ICMP error from an earlier send, reported on Linux as
                // ConnectionRefused on the next call: not ours to stop for.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                Err(e) => return Err(e),
            }
            self.on_timers();
            self.pump_all(&mut buf, &mut out)?;
        }
        Ok(())
    }

    fn on_datagram(
        &mut self,
        packet: &mut [u8],
        from: SocketAddr,
        out: &mut [u8],
    ) -> io::Result<()> {
        let Ok(hdr) = quiche::Header::from_slice(packet, CID_LEN) else {
            return Ok(());
        };
        let key = match self.by_cid.get(hdr.dcid.as_ref()) {
            Some(&key) => key,
            None => {
                // RFC 9000 section 14.1: a client's first datagram is at
                // least 1200 bytes; a smaller one could be spoofed cheaply
                // to take one of our connection slots.
                if hdr.ty != quiche::Type::Initial || packet.len() < 1200 {
                    return Ok(());
                }
                if !quiche::version_is_supported(hdr.version) {
                    if let Ok(n) = quiche::negotiate_version(&hdr.scid, &hdr.dcid, out) {
                        let _ = self.socket.send_to(&out[..n], from);
                    }
                    return Ok(());
                }
                // The cap: a full server drops the Initial, and the
                // client's own handshake timeout tells it.
                if self.clients.len() >= self.config.max_connections {
                    return Ok(());
                }
                let scid_bytes: [u8; CID_LEN] = random();
                let scid = quiche::ConnectionId::from_ref(&scid_bytes);
                let Ok(conn) = quiche::accept(&scid, None, self.local, from, &mut self.quic) else {
                    return Ok(());
                };
                let key = self.next_client;
                self.next_client += 1;
                let cids = vec![hdr.dcid.to_vec(), scid_bytes.to_vec()];
                for cid in &cids {
                    self.by_cid.insert(cid.clone(), key);
                }
                self.clients.insert(
                    key,
                    Client {
                        conn,
                        h3: None,
                        streams: HashMap::new(),
                        cids,
                    },
                );
                key
            }
        };
        let client = self
            .clients
            .get_mut(&key)
            .expect("by_cid only names live clients");
        let info = quiche::RecvInfo {
            from,
            to: self.local,
        };
        if client.conn.recv(packet, info).is_err() {
            return Ok(());
        }
        if client.h3.is_none() && client.conn.is_established() {
            match h3::Connection::with_transport(&mut client.conn, &self.h3) {
                Ok(h3) => client.h3 = Some(h3),
                Err(_) => {
                    let _ = client.conn.close(true, 0x101, b"H3_GENERAL_PROTOCOL_ERROR");
                }
            }
        }
        Ok(())
    }

    fn on_timers(&mut self) {
        for client in self.clients.values_mut() {
            if client
                .conn
                .timeout_instant()
                .is_some_and(|at| at <= std::time::Instant::now())
            {
                client.conn.on_timeout();
            }
            for stream in client.streams.values_mut() {
                // Spurious calls are harmless (house rule 5).
                stream.ws.handle_timeout(now());
            }
        }
    }

    /// Handle every HTTP/3 event, echo, write, send packets, and drop what
    /// has ended.
    fn pump_all(&mut self, buf: &mut [u8], out: &mut [u8]) -> io::Result<()> {
        for client in self.clients.values_mut() {
            if let Some(h3) = client.h3.as_mut() {
                poll_h3(
                    h3,
                    &mut client.conn,
                    &mut client.streams,
                    &self.config.ws,
                    buf,
                );
                for stream in client.streams.values_mut() {
                    echo(stream, self.ends.as_ref());
                    stream.write(h3, &mut client.conn, buf);
                }
                client.streams.retain(|_, s| !s.is_done());
            }
            flush_quic(&self.socket, &mut client.conn, out)?;
        }
        let closed: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, c)| c.conn.is_closed())
            .map(|(&k, _)| k)
            .collect();
        for key in closed {
            if let Some(mut client) = self.clients.remove(&key) {
                // The QUIC connection ended under its WebSockets: an
                // abrupt end for each that was still open.
                for stream in client.streams.values_mut() {
                    stream.peer_end();
                    echo(stream, self.ends.as_ref());
                }
                for cid in client.cids {
                    self.by_cid.remove(&cid);
                }
            }
        }
        Ok(())
    }
}

/// Handle the HTTP/3 events of one connection.
fn poll_h3(
    h3: &mut h3::Connection,
    conn: &mut quiche::Connection,
    streams: &mut HashMap<u64, WsStream>,
    config: &Config,
    buf: &mut [u8],
) {
    loop {
        match h3.poll(conn) {
            Ok((id, h3::Event::Headers { list, more_frames })) => {
                let fields = list.iter().map(|h| (h.name(), h.value()));
                match Request::from_extended_connect_fields(fields) {
                    Ok(request) => match request.accept_fields(&Accept::new(), config, now()) {
                        Ok((ws, _agreed, fields)) => {
                            let headers: Vec<h3::Header> = fields
                                .iter()
                                .map(|f| h3::Header::new(f.name().as_bytes(), f.value()))
                                .collect();
                            if h3.send_response(conn, id, &headers, false).is_ok() {
                                let mut stream = WsStream::new(id, ws);
                                if !more_frames {
                                    stream.peer_end();
                                }
                                streams.insert(id, stream);
                            }
                        }
                        Err(e) => refuse(h3, conn, id, 500, &e.to_string()),
                    },
                    Err(e) => {
                        let headers: Vec<h3::Header> = e
                            .response_fields()
                            .iter()
                            .map(|f| h3::Header::new(f.name().as_bytes(), f.value()))
                            .collect();
                        if h3.send_response(conn, id, &headers, false).is_ok() {
                            let body = format!("{}\n", e.reason());
                            let _ = h3.send_body(conn, id, body.as_bytes(), true);
                        }
                    }
                }
            }
            Ok((id, h3::Event::Data)) => match streams.get_mut(&id) {
                Some(stream) => stream.read(h3, conn, buf),
                // A refused request's body, or a stream we are done with.
                None => while h3.recv_body(conn, id, buf).is_ok() {},
            },
            Ok((id, h3::Event::Finished)) => {
                if let Some(stream) = streams.get_mut(&id) {
                    stream.peer_end();
                }
            }
            Ok((id, h3::Event::Reset(_))) => {
                if let Some(stream) = streams.get_mut(&id) {
                    stream.peer_reset(conn);
                }
            }
            Ok((_, h3::Event::PriorityUpdate | h3::Event::GoAway)) => {}
            Err(h3::Error::Done) => return,
            // quiche closed the connection with the error's code already.
            Err(_) => return,
        }
    }
}

/// A refusal with a plain-text body that is not the handshake layer's.
fn refuse(h3: &mut h3::Connection, conn: &mut quiche::Connection, id: u64, status: u16, why: &str) {
    let status = status.to_string();
    let headers = [
        h3::Header::new(b":status", status.as_bytes()),
        h3::Header::new(b"content-type", b"text/plain; charset=utf-8"),
    ];
    if h3.send_response(conn, id, &headers, false).is_ok() {
        let _ = h3.send_body(conn, id, format!("{why}\n").as_bytes(), true);
    }
}

/// Echo every message the stream's connection has for us.
fn echo(stream: &mut WsStream, ends: Option<&mpsc::Sender<StreamEnd>>) {
    let id = stream.id;
    while let Some((event, mut tx)) = stream.ws.poll_event_with_sender() {
        // Sending fails only once our Close is out; then there is nothing
        // left to echo.
        let _ = match event {
            Event::Text(text) => tx.send_text(text),
            Event::Binary(data) => tx.send_binary(data),
            Event::Closed(reason) => {
                if let Some(ends) = ends {
                    let _ = ends.send(StreamEnd { stream: id, reason });
                }
                Ok(())
            }
            _ => Ok(()),
        };
    }
}
