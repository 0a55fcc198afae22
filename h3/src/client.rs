//! A blocking WebSocket-over-HTTP/3 client: one QUIC connection, one
//! extended CONNECT request stream, one `wscore::Connection`.
//!
//! [`WsClient::connect`] waits for the server's SETTINGS and refuses a
//! server that did not send SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 9220
//! section 3), then sends the request wscore builds and checks the
//! response with wscore. Messages come back owned, one per
//! [`WsClient::next_message`].

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use quiche::h3::{self, NameValue};
use wscore::handshake::client::ClientRequest;
use wscore::{CloseCode, ClosedReason, Config, Event};

use crate::stream::WsStream;
use crate::{
    H3_REQUEST_CANCELLED, MAX_DATAGRAM_SIZE, flush_quic, h3_config, now, quic_config, random,
    wait_for,
};

/// What the client connects with.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Check the server's certificate (against `ca`, or the system's roots
    /// in `/etc/ssl/certs`). Off only for tests with a throwaway
    /// certificate.
    pub verify_peer: bool,
    /// A PEM file of trusted roots.
    pub ca: Option<String>,
    /// The WebSocket connection's settings (offers permessage-deflate by
    /// default).
    pub ws: Config,
    /// The QUIC idle timeout (60 s: above wscore's keepalive, as the
    /// server's).
    pub idle_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            verify_peer: true,
            ca: None,
            ws: Config::default(),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// A message or other event of the WebSocket, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A Ping (already answered).
    Ping(Vec<u8>),
    /// A Pong.
    Pong(Vec<u8>),
    /// The server's Close.
    Close(CloseCode, String),
    /// The end; always the last.
    Closed(ClosedReason),
}

/// A WebSocket over HTTP/3.
pub struct WsClient {
    t: Transport,
    h3: h3::Connection,
    stream: WsStream,
    /// Whether permessage-deflate was agreed.
    deflate: bool,
    messages: VecDeque<Message>,
}

/// The socket and the QUIC connection, with the buffers for its datagrams.
struct Transport {
    socket: UdpSocket,
    local: SocketAddr,
    conn: quiche::Connection,
    buf: Vec<u8>,
    out: [u8; MAX_DATAGRAM_SIZE],
}

impl Transport {
    /// Send what quiche has, wait for one datagram (or `wait`, or quiche's
    /// timer) and feed it in.
    fn step(&mut self, wait: Duration, extra: Option<Duration>) -> io::Result<()> {
        flush_quic(&self.socket, &mut self.conn, &mut self.out)?;
        let wait = wait_for(self.conn.timeout().into_iter().chain(extra), wait);
        self.socket.set_read_timeout(Some(wait))?;
        match self.socket.recv_from(&mut self.buf) {
            Ok((n, from)) => {
                let info = quiche::RecvInfo {
                    from,
                    to: self.local,
                };
                // A packet quiche refuses is dropped, as QUIC asks.
                let _ = self.conn.recv(&mut self.buf[..n], info);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                        | io::ErrorKind::ConnectionRefused
                ) => {}
            Err(e) => return Err(e),
        }
        if self
            .conn
            .timeout_instant()
            .is_some_and(|at| at <= Instant::now())
        {
            self.conn.on_timeout();
        }
        Ok(())
    }
}

fn deadline_left(deadline: Instant) -> Result<Duration, String> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err("timed out".into())
    } else {
        Ok(left)
    }
}

impl WsClient {
    /// Connect to `addr`, open a WebSocket on `path` with `:authority`
    /// `authority` (also the TLS server name, without its port), within
    /// `timeout`.
    pub fn connect(
        addr: SocketAddr,
        authority: &str,
        path: &str,
        options: &ClientOptions,
        timeout: Duration,
    ) -> Result<WsClient, String> {
        let deadline = Instant::now() + timeout;
        let (mut t, mut h3) = open(addr, authority, options, deadline)?;

        // The extended CONNECT, built and checked by wscore.
        let request = ClientRequest::new(authority, random()).target(path);
        let (fields, handshake) = request
            .to_extended_connect_fields(&options.ws, "https")
            .map_err(|e| format!("request: {e}"))?;
        let headers: Vec<h3::Header> = fields
            .iter()
            .map(|f| h3::Header::new(f.name().as_bytes(), f.value()))
            .collect();
        let id = h3
            .send_request(&mut t.conn, &headers, false)
            .map_err(|e| format!("send_request: {e}"))?;
        loop {
            match h3.poll(&mut t.conn) {
                Ok((sid, h3::Event::Headers { list, .. })) if sid == id => {
                    let fields = list.iter().map(|h| (h.name(), h.value()));
                    match handshake.check_response_fields(fields) {
                        Ok(response) => {
                            let deflate = !response.negotiated().extensions.is_empty();
                            let ws = response.open(now(), &[], random::<4>);
                            return Ok(WsClient {
                                t,
                                h3,
                                stream: WsStream::new(id, ws),
                                deflate,
                                messages: VecDeque::new(),
                            });
                        }
                        Err(e) => {
                            let status = list
                                .iter()
                                .find(|h| h.name() == b":status")
                                .map(|h| String::from_utf8_lossy(h.value()).into_owned());
                            return Err(format!(
                                "refused (:status {}): {e}",
                                status.unwrap_or_default()
                            ));
                        }
                    }
                }
                Ok((sid, h3::Event::Finished | h3::Event::Reset(_))) if sid == id => {
                    return Err("the server ended the stream without a response".into());
                }
                Ok(_) => continue,
                Err(h3::Error::Done) => {}
                Err(e) => return Err(format!("h3: {e}")),
            }
            if t.conn.is_closed() {
                return Err("QUIC connection closed during the handshake".into());
            }
            t.step(deadline_left(deadline)?, None)
                .map_err(|e| e.to_string())?;
        }
    }

    /// Whether permessage-deflate was agreed.
    pub fn deflate(&self) -> bool {
        self.deflate
    }

    /// The WebSocket connection, for commands beyond the ones here
    /// (fragments, pings...). What they queue goes out on the next
    /// [`next_message`](Self::next_message) or [`flush`](Self::flush).
    pub fn ws(&mut self) -> &mut wscore::Connection {
        &mut self.stream.ws
    }

    /// Queue a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), String> {
        self.stream.ws.send_text(text).map_err(|e| e.to_string())
    }

    /// Queue a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), String> {
        self.stream.ws.send_binary(data).map_err(|e| e.to_string())
    }

    /// Queue a Ping.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), String> {
        self.stream.ws.send_ping(payload).map_err(|e| e.to_string())
    }

    /// Start the close handshake.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), String> {
        self.stream
            .ws
            .close(now(), code, reason)
            .map_err(|e| e.to_string())
    }

    /// Write what is queued into the stream and send the packets.
    pub fn flush(&mut self) -> Result<(), String> {
        self.stream
            .write(&mut self.h3, &mut self.t.conn, &mut self.t.buf);
        flush_quic(&self.t.socket, &mut self.t.conn, &mut self.t.out).map_err(|e| e.to_string())
    }

    /// Reset the request stream (RESET_STREAM and STOP_SENDING with
    /// H3_REQUEST_CANCELLED): an abrupt end for the server.
    pub fn reset(&mut self) -> Result<(), String> {
        let _ = self.t.conn.stream_shutdown(
            self.stream.id,
            quiche::Shutdown::Write,
            H3_REQUEST_CANCELLED,
        );
        let _ = self.t.conn.stream_shutdown(
            self.stream.id,
            quiche::Shutdown::Read,
            H3_REQUEST_CANCELLED,
        );
        flush_quic(&self.t.socket, &mut self.t.conn, &mut self.t.out).map_err(|e| e.to_string())
    }

    /// The next message, sending what is queued meanwhile; an error after
    /// `timeout`, or when the QUIC connection ends first.
    pub fn next_message(&mut self, timeout: Duration) -> Result<Message, String> {
        let deadline = Instant::now() + timeout;
        loop {
            self.collect();
            if let Some(message) = self.messages.pop_front() {
                // Our answer to it (a Pong, the echoed Close) goes out now.
                self.flush()?;
                return Ok(message);
            }
            self.flush()?;
            if self.t.conn.is_closed() {
                return Err(format!(
                    "QUIC connection closed: {:?}",
                    self.t.conn.peer_error()
                ));
            }
            let ws_wait = self
                .stream
                .ws
                .poll_timeout()
                .map(|at| at.saturating_duration_since(now()));
            self.t
                .step(deadline_left(deadline)?, ws_wait)
                .map_err(|e| e.to_string())?;
            self.stream.ws.handle_timeout(now());
        }
    }

    /// After [`Message::Closed`]: let our last bytes and FIN go out, and
    /// close the QUIC connection (H3_NO_ERROR) once the stream is done or
    /// after `linger`.
    pub fn shutdown(mut self, linger: Duration) -> Result<(), String> {
        let deadline = Instant::now() + linger;
        loop {
            self.flush()?;
            if self.stream.is_done() || Instant::now() >= deadline {
                break;
            }
            self.t
                .step(deadline.saturating_duration_since(Instant::now()), None)
                .map_err(|e| e.to_string())?;
        }
        // H3_NO_ERROR: the WebSocket ended by its stream; the QUIC
        // connection ends only because this client has nothing else.
        let _ = self.t.conn.close(true, 0x100, b"");
        self.flush()
    }

    /// Handle the HTTP/3 events and take the connection's events.
    fn collect(&mut self) {
        loop {
            match self.h3.poll(&mut self.t.conn) {
                Ok((id, h3::Event::Data)) if id == self.stream.id => {
                    self.stream
                        .read(&mut self.h3, &mut self.t.conn, &mut self.t.buf);
                }
                Ok((id, h3::Event::Finished)) if id == self.stream.id => self.stream.peer_end(),
                Ok((id, h3::Event::Reset(_))) if id == self.stream.id => {
                    self.stream.peer_reset(&mut self.t.conn);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        while let Some(event) = self.stream.ws.poll_event() {
            self.messages.push_back(match event {
                Event::Text(text) => Message::Text(text.to_owned()),
                Event::Binary(data) => Message::Binary(data.to_vec()),
                Event::Ping(data) => Message::Ping(data.to_vec()),
                Event::Pong(data) => Message::Pong(data.to_vec()),
                Event::Close { code, reason } => Message::Close(code, reason.to_owned()),
                Event::Closed(reason) => Message::Closed(reason),
                // Streaming mode is off in the default Config.
                _ => continue,
            });
        }
    }
}

/// Open the QUIC connection and HTTP/3 on it, and wait for the server's
/// SETTINGS: an extended CONNECT may only follow
/// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 9220 section 3, RFC 8441
/// section 3).
fn open(
    addr: SocketAddr,
    authority: &str,
    options: &ClientOptions,
    deadline: Instant,
) -> Result<(Transport, h3::Connection), String> {
    let bind = if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = UdpSocket::bind(bind).map_err(|e| format!("bind: {e}"))?;
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let mut config = quic_config(options.idle_timeout, 4).map_err(|e| e.to_string())?;
    config.verify_peer(options.verify_peer);
    if let Some(ca) = &options.ca {
        config
            .load_verify_locations_from_file(ca)
            .map_err(|e| format!("{ca}: {e}"))?;
    } else if options.verify_peer {
        config
            .load_verify_locations_from_directory("/etc/ssl/certs")
            .map_err(|e| format!("/etc/ssl/certs: {e}"))?;
    }
    let server_name = host_of(authority);
    let scid_bytes: [u8; quiche::MAX_CONN_ID_LEN] = random();
    let scid = quiche::ConnectionId::from_ref(&scid_bytes);
    let conn = quiche::connect(Some(server_name), &scid, local, addr, &mut config)
        .map_err(|e| format!("quic connect: {e}"))?;
    let mut t = Transport {
        socket,
        local,
        conn,
        buf: vec![0; 65535],
        out: [0; MAX_DATAGRAM_SIZE],
    };
    let h3_config = h3_config().map_err(|e| e.to_string())?;
    let mut h3 = None;
    loop {
        if t.conn.is_closed() {
            return Err(format!("QUIC connection closed: {:?}", t.conn.peer_error()));
        }
        if h3.is_none() && t.conn.is_established() {
            h3 = Some(
                h3::Connection::with_transport(&mut t.conn, &h3_config)
                    .map_err(|e| format!("h3: {e}"))?,
            );
        }
        if let Some(h3) = h3.as_mut() {
            // SETTINGS come on the control stream, which poll reads.
            while let Ok((_, ev)) = h3.poll(&mut t.conn) {
                if let h3::Event::GoAway = ev {
                    return Err("GOAWAY before the request".into());
                }
            }
            if h3.peer_settings_raw().is_some() {
                break;
            }
        }
        t.step(deadline_left(deadline)?, None)
            .map_err(|e| e.to_string())?;
    }
    let h3 = h3.expect("the loop above ends only with h3");
    if !h3.extended_connect_enabled_by_peer() {
        return Err("the server did not send SETTINGS_ENABLE_CONNECT_PROTOCOL".into());
    }
    Ok((t, h3))
}

/// A response head and body, as [`request`] returns them.
pub type RawResponse = (Vec<(Vec<u8>, Vec<u8>)>, Vec<u8>);

/// Send one request of `fields` (no body) to a server that allows
/// extended CONNECT, and return the response's fields and body: for tests
/// of what a server refuses.
pub fn request(
    addr: SocketAddr,
    authority: &str,
    fields: &[(&[u8], &[u8])],
    options: &ClientOptions,
    timeout: Duration,
) -> Result<RawResponse, String> {
    let deadline = Instant::now() + timeout;
    let (mut t, mut h3) = open(addr, authority, options, deadline)?;
    let headers: Vec<h3::Header> = fields
        .iter()
        .map(|(name, value)| h3::Header::new(name, value))
        .collect();
    let id = h3
        .send_request(&mut t.conn, &headers, true)
        .map_err(|e| format!("send_request: {e}"))?;
    let mut head = Vec::new();
    let mut body = Vec::new();
    loop {
        match h3.poll(&mut t.conn) {
            Ok((sid, h3::Event::Headers { list, .. })) if sid == id => {
                head = list
                    .iter()
                    .map(|h| (h.name().to_vec(), h.value().to_vec()))
                    .collect();
                continue;
            }
            Ok((sid, h3::Event::Data)) if sid == id => {
                while let Ok(n) = h3.recv_body(&mut t.conn, id, &mut t.buf) {
                    body.extend_from_slice(&t.buf[..n]);
                }
                continue;
            }
            Ok((sid, h3::Event::Finished)) if sid == id => return finish(t, head, body),
            Ok((sid, h3::Event::Reset(code))) if sid == id => {
                return Err(format!("the server reset the stream ({code:#x})"));
            }
            Ok(_) => continue,
            Err(h3::Error::Done) => {}
            Err(e) => return Err(format!("h3: {e}")),
        }
        if t.conn.is_closed() {
            return Err("QUIC connection closed before the response".into());
        }
        t.step(deadline_left(deadline)?, None)
            .map_err(|e| e.to_string())?;
    }
}

/// Close the QUIC connection (H3_NO_ERROR) after a whole response.
fn finish(
    mut t: Transport,
    head: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
) -> Result<RawResponse, String> {
    let _ = t.conn.close(true, 0x100, b"");
    flush_quic(&t.socket, &mut t.conn, &mut t.out).map_err(|e| e.to_string())?;
    Ok((head, body))
}

/// The host of an authority, for the TLS server name: `[::1]:443` gives
/// `::1`, `example.com:443` gives `example.com`.
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
}

/// The messages [`exchange_checks`] sends: empty, small and non-ASCII
/// text, a 1 MiB text, empty and small binary, 1 MiB of binary that does
/// not compress (so permessage-deflate's stored blocks are exercised too),
/// and 1 MiB that does.
pub fn test_messages() -> Vec<Message> {
    let mut noise = vec![0u8; 1 << 20];
    // A fixed xorshift: incompressible yet reproducible.
    let mut x: u32 = 0x9e37_79b9;
    for b in &mut noise {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    vec![
        Message::Text(String::new()),
        Message::Text("hello over HTTP/3".into()),
        Message::Text("héllo wörld, ünïcödé ✓ 🦀".into()),
        Message::Text("WebSocket over QUIC. ".repeat((1 << 20) / 21)),
        Message::Binary(Vec::new()),
        Message::Binary(vec![0, 1, 2, 3, 254, 255]),
        Message::Binary(noise),
        Message::Binary((0..1 << 20).map(|i| (i % 251) as u8).collect()),
    ]
}

/// Send each of [`test_messages`] and check that its echo comes back equal
/// byte for byte and of the same type, then a Ping and its Pong. Prints a
/// line per check.
pub fn exchange_checks(ws: &mut WsClient, timeout: Duration) -> Result<(), String> {
    for (i, sent) in test_messages().into_iter().enumerate() {
        let (kind, len) = match &sent {
            Message::Text(t) => {
                ws.send_text(t)?;
                ("text", t.len())
            }
            Message::Binary(b) => {
                ws.send_binary(b)?;
                ("binary", b.len())
            }
            _ => unreachable!("test_messages has only text and binary"),
        };
        let echo = loop {
            match ws.next_message(timeout)? {
                Message::Ping(_) | Message::Pong(_) => continue,
                other => break other,
            }
        };
        if echo != sent {
            return Err(format!(
                "message {i} ({kind}, {len} bytes): echo differs: {}",
                describe(&echo)
            ));
        }
        println!("h3_client: echo ok: {kind} {len} bytes");
    }
    let payload = b"are you there?";
    ws.send_ping(payload)?;
    loop {
        match ws.next_message(timeout)? {
            Message::Pong(p) if p == payload => break,
            Message::Ping(_) => continue,
            other => return Err(format!("waiting for the Pong: {}", describe(&other))),
        }
    }
    println!("h3_client: pong ok");
    Ok(())
}

/// A message in a few words, without dumping a megabyte.
fn describe(m: &Message) -> String {
    match m {
        Message::Text(t) => format!("text of {} bytes", t.len()),
        Message::Binary(b) => format!("binary of {} bytes", b.len()),
        Message::Ping(p) => format!("ping of {} bytes", p.len()),
        Message::Pong(p) => format!("pong of {} bytes", p.len()),
        Message::Close(code, reason) => format!("close {} {reason:?}", code.0),
        Message::Closed(reason) => format!("closed: {reason}"),
    }
}
