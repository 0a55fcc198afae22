//! What the `std::net` examples share: the clock, the OS random source, both
//! handshakes over a blocking socket, and the echo loop.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use wscore::frame::Status;
use wscore::handshake::HandshakeLimits;
use wscore::handshake::client::ClientRequest;
use wscore::handshake::server::{Accept, ServerHandshake};
use wscore::{ClosedReason, Config, Connection, Event, Instant};

/// Give the pages glibc's malloc keeps back to the kernel every
/// `interval`, from a thread of its own, for the life of the process.
///
/// Why: connections that were busy at the same moment (a burst of
/// messages, thousands of handshakes) allocated their working buffers
/// together and freed them when they went idle, but glibc keeps freed
/// memory in its free lists, and returns to the kernel only what lies at
/// the top of its heap: the process's resident size stays at the burst's
/// peak. `malloc_trim` releases every whole free page. Measured with
/// `--bench scale` (BENCHMARKS.md): 8,000 idle connections that each
/// echoed one message with permessage-deflate hold 75 KiB each without it
/// and under 5 KiB with it. Elsewhere than glibc this does nothing.
pub fn spawn_malloc_trimmer(interval: std::time::Duration) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(interval);
            // SAFETY: `malloc_trim` takes no pointer and only walks glibc's
            // own free lists under its arena locks; any thread may call it at
            // any time.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    });
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = interval;
}

/// Bytes per socket read.
pub const READ_BUF: usize = 64 * 1024;

/// How long a client may take to send its whole upgrade request.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The process's monotonic clock as a wscore `Instant` (epoch: first call).
pub fn now() -> Instant {
    use std::sync::OnceLock;
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    Instant::from_elapsed(START.get_or_init(std::time::Instant::now).elapsed())
}

/// Masking keys from the OS's random source (RFC 6455 section 5.3 asks
/// for unpredictable keys).
pub fn os_mask() -> impl FnMut() -> [u8; 4] + Send + 'static {
    || {
        let mut key = [0; 4];
        getrandom::getrandom(&mut key).expect("the OS random source works");
        key
    }
}

/// Read the client's upgrade request, answer it, and return the connection
/// with any frames the client sent behind its request already fed in. A bad
/// request gets the HTTP response the handshake layer produced. A client
/// that takes longer than [`HANDSHAKE_TIMEOUT`] gets an error of kind
/// `TimedOut` that says so.
pub fn accept(stream: &mut TcpStream, config: &Config) -> io::Result<Connection> {
    accept_within(stream, config, HANDSHAKE_TIMEOUT)
}

/// [`accept`], with the handshake's time limit as a parameter (for tests).
pub fn accept_within(
    stream: &mut TcpStream,
    config: &Config,
    timeout: Duration,
) -> io::Result<Connection> {
    // A client that connects and never finishes its request must not hold
    // a thread forever; the limit is for the whole request, so one that
    // trickles a byte at a time cannot stretch it read by read.
    let deadline = std::time::Instant::now() + timeout;
    let mut handshake = ServerHandshake::new(HandshakeLimits::default());
    let mut buf = vec![0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(handshake_read_error(
                io::ErrorKind::TimedOut.into(),
                timeout,
            ));
        }
        stream.set_read_timeout(Some(left))?;
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(handshake_read_error(e, timeout)),
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "EOF during handshake",
            ));
        }
        match handshake.handle_input(&buf[..n]) {
            Ok(Status::Partial) => continue,
            Ok(Status::Complete((request, used))) => {
                let mut response = Vec::new();
                let negotiated = request
                    .accept(&accept_choice(request, config), &mut response)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
                stream.write_all(&response)?;
                let mut conn = Connection::from_server_handshake(config, now(), negotiated);
                conn.handle_input(now(), &buf[used..n]);
                return Ok(conn);
            }
            Err(error) => {
                let _ = stream.write_all(&error.response());
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    error.to_string(),
                ));
            }
        }
    }
}

/// What a failed read during the handshake means. A read timeout shows up
/// as `WouldBlock` on Unix and `TimedOut` on Windows, whose own message
/// ("Resource temporarily unavailable") hides that the client was too slow:
/// say so, with the limit.
pub fn handshake_read_error(e: io::Error, timeout: Duration) -> io::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
            io::ErrorKind::TimedOut,
            format!("handshake timed out after {}", seconds(timeout)),
        ),
        _ => e,
    }
}

/// `10 s`, or `0.25 s` for a limit that is not whole seconds.
fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} s", d.as_secs_f64())
    }
}

/// A `ws://host[:port][/path]` URL, split.
#[derive(Debug, PartialEq, Eq)]
pub struct WsUrl {
    /// The host to connect to: a name, an IPv4 address, or an IPv6 address
    /// without its brackets (`::1`), as `TcpStream::connect` takes it.
    pub host: String,
    pub port: u16,
    pub target: String,
}

impl WsUrl {
    /// The `Host` header value (RFC 6455 section 4.1 item 4, RFC 3986
    /// section 3.2.2): an IPv6 address back in brackets, and `:port` unless
    /// it is 80, the default for `ws://`.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Split a `ws://` URL. An IPv6 literal must be in brackets
/// (`ws://[::1]:9001/`), as RFC 3986 section 3.2.2 writes it, since its
/// colons would otherwise read as a port separator.
pub fn parse_url(url: &str) -> Result<WsUrl, String> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| format!("{url}: only ws:// URLs are supported"))?;
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_owned()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_owned()),
    };
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (ip, after) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("{url}: unclosed [ in the host"))?;
            ip.parse::<std::net::Ipv6Addr>()
                .map_err(|_| format!("{url}: {ip} is not an IPv6 address"))?;
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| format!("{url}: junk after ]"))?,
                ),
            };
            (ip, port)
        }
        None => {
            let (host, port) = match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            if host.contains(['[', ']', '@']) {
                return Err(format!("{url}: bad host"));
            }
            (host, port)
        }
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| format!("{url}: bad port"))?,
        None => 80,
    };
    if host.is_empty() {
        return Err(format!("{url}: no host"));
    }
    Ok(WsUrl {
        host: host.to_owned(),
        port,
        target,
    })
}

/// How the server answers a request: permessage-deflate when the client
/// offers it and `config.deflate` allows it (on by default), no
/// subprotocol.
fn accept_choice(request: &wscore::handshake::server::Request, config: &Config) -> Accept {
    #[cfg(feature = "deflate")]
    return Accept::new().deflate(request, &config.deflate);
    #[cfg(not(feature = "deflate"))]
    {
        let _ = (request, config);
        Accept::new()
    }
}

/// Connect and handshake; returns the socket and the connection, with the
/// server's first frames (if they came with the 101) already fed in.
pub fn connect(url: &WsUrl, config: &Config) -> Result<(TcpStream, Connection), String> {
    let mut stream =
        TcpStream::connect((url.host.as_str(), url.port)).map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut nonce = [0u8; 16];
    getrandom::getrandom(&mut nonce).map_err(|e| e.to_string())?;
    let mut request = Vec::new();
    let offer = ClientRequest::new(url.host_header(), nonce).target(url.target.clone());
    // Offer permessage-deflate as `config.deflate` says (on by default).
    #[cfg(feature = "deflate")]
    let offer = offer.deflate(&config.deflate);
    let mut handshake = offer.write(&mut request).map_err(|e| e.to_string())?;
    stream
        .write_all(&request)
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("the server closed the connection during the handshake".into());
        }
        match handshake.handle_input(&buf[..n]) {
            Ok(Status::Partial) => continue,
            Ok(Status::Complete((response, used))) => {
                let negotiated = response.negotiated().clone();
                let mut conn =
                    Connection::from_client_handshake(config, now(), negotiated, os_mask());
                conn.handle_input(now(), &buf[used..n]);
                return Ok((stream, conn));
            }
            Err(e) => return Err(format!("handshake refused: {e}")),
        }
    }
}

/// Write out everything the connection has queued.
pub fn flush(stream: &mut TcpStream, conn: &mut Connection, out: &mut Vec<u8>) -> io::Result<()> {
    if conn.poll_transmit(out) > 0 {
        stream.write_all(out)?;
        // The connection queues its next frames in this allocation and
        // frees it when idle; `out` keeps none.
        conn.recycle_transmit(std::mem::take(out));
    }
    Ok(())
}

/// After the end: stop writing, then read until the peer closes (bounded),
/// so our last bytes (the Close) are not lost to a reset when unread input
/// is still in our socket.
pub fn linger(stream: &mut TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut sink = [0u8; 4096];
    while let Ok(n) = stream.read(&mut sink) {
        if n == 0 {
            break;
        }
    }
}

/// Feed the socket's bytes (or EOF, or the deadline) to the connection,
/// once, reading into `buf`.
///
/// `buf` follows the connection's life: an idle connection's thread waits
/// for bytes with a one-byte `peek`, holding no read buffer, and only then
/// gets a [`READ_BUF`]-byte one; when a deadline passes without input (the
/// connection's buffer release, or keepalive), `buf` is freed again, as the
/// connection frees its own.
pub fn read_once(
    stream: &mut TcpStream,
    conn: &mut Connection,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    let timeout = conn.poll_timeout().map(|at| {
        at.saturating_duration_since(now())
            .max(Duration::from_millis(1))
    });
    stream.set_read_timeout(timeout)?;
    let read = if buf.is_empty() {
        match stream.peek(&mut [0u8; 1]) {
            Ok(0) => Ok(0),
            Ok(_) => {
                buf.resize(READ_BUF, 0);
                stream.read(buf)
            }
            Err(e) => Err(e),
        }
    } else {
        stream.read(buf)
    };
    match read {
        Ok(0) => conn.handle_eof(now()),
        Ok(n) => conn.handle_input(now(), &buf[..n]),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            *buf = Vec::new();
            conn.handle_timeout(now());
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
        Err(_) => conn.handle_eof(now()),
    }
    Ok(())
}

/// Echo every text and binary message back with the same type until the
/// connection ends, and say why it ended.
pub fn echo(stream: &mut TcpStream, conn: &mut Connection) -> io::Result<ClosedReason> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        // Each event borrows only the input buffer, so the sending half that
        // comes with it echoes the payload without copying it first.
        while let Some((event, mut tx)) = conn.poll_event_with_sender() {
            // Sending fails only once our Close is out; then there is
            // nothing left to echo.
            let _ = match event {
                Event::Text(text) => tx.send_text(text),
                Event::Binary(data) => tx.send_binary(data),
                Event::Closed(reason) => {
                    flush(stream, conn, &mut out)?;
                    linger(stream);
                    return Ok(reason);
                }
                _ => Ok(()),
            };
        }
        flush(stream, conn, &mut out)?;
        read_once(stream, conn, &mut buf)?;
    }
}
