//! What the examples share: the clock, the OS random source, both
//! handshakes over a blocking socket, the echo loop, and accept loops
//! (threads and tokio) that outlive running short of descriptors, memory
//! or threads.
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
///
/// A process that cannot start the thread (out of threads or memory) goes
/// on without it: trimming saves memory, it is not needed to serve.
pub fn spawn_malloc_trimmer(interval: std::time::Duration) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if let Err(e) = std::thread::Builder::new().spawn(move || {
        loop {
            std::thread::sleep(interval);
            // SAFETY: `malloc_trim` takes no pointer and only walks glibc's
            // own free lists under its arena locks; any thread may call it at
            // any time.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    }) {
        eprintln!("no malloc trimmer: {e}");
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = interval;
}

/// The first pause of an accept loop under pressure; each pressure
/// after it doubles the pause, up to [`BACKOFF_MAX`].
pub const BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest pause: a freed descriptor or thread is taken within a
/// second, and a second of pauses costs nothing.
pub const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one log line per this interval, however many errors come.
pub const BACKOFF_REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// How one turn of an accept loop ended.
#[derive(Debug)]
pub enum Accepted {
    /// A connection was accepted and handed over (to a thread, a task).
    Served,
    /// `accept` failed.
    AcceptFailed(io::Error),
    /// A connection was accepted but could not be handed over (no thread
    /// to be had); it has been dropped, which closed it.
    ServeFailed(io::Error),
}

/// An accept loop's answer to failure: pause, growing, and log, seldom.
///
/// Why: a server short of a resource (descriptors: `EMFILE`, `ENFILE`;
/// memory: `ENOMEM`, `ENOBUFS`; threads) fails every accept until a
/// connection it serves ends. Returning from the loop ends every
/// connection with it; retrying at once spins a core and writes a log
/// line per try. So any error that is not one connection's own is
/// pressure: pause [`BACKOFF_MIN`], doubling up to [`BACKOFF_MAX`] while
/// it lasts, back to the shortest after a connection is served, and say
/// so at most once per [`BACKOFF_REPORT_INTERVAL`], with a count. The
/// connections already served carry on meanwhile, on their own threads or
/// tasks. An error that is one connection's (reset or aborted while it
/// waited, see [`is_connection_error`]) is skipped without a pause.
///
/// The type only decides; [`accept_loop`] (threads) and
/// [`accept_loop_tokio`] (tasks) pause.
#[derive(Debug)]
pub struct AcceptBackoff {
    next: Duration,
    unreported: u64,
    last_report: Option<std::time::Instant>,
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        Self {
            next: BACKOFF_MIN,
            unreported: 0,
            last_report: None,
        }
    }
}

impl AcceptBackoff {
    /// How long to pause before the next accept after `outcome`, if at
    /// all; logs to stderr when a report is due.
    pub fn pause_after(&mut self, outcome: Accepted) -> Option<Duration> {
        let (pause, report) = self.step(std::time::Instant::now(), outcome);
        if let Some(line) = report {
            eprintln!("{line}");
        }
        pause
    }

    /// [`pause_after`](Self::pause_after) at `now`, returning the log line
    /// instead of writing it (for tests).
    pub fn step(
        &mut self,
        now: std::time::Instant,
        outcome: Accepted,
    ) -> (Option<Duration>, Option<String>) {
        let (what, e) = match outcome {
            Accepted::Served => {
                self.next = BACKOFF_MIN;
                return (None, None);
            }
            Accepted::AcceptFailed(e) if is_connection_error(&e) => return (None, None),
            Accepted::AcceptFailed(e) => ("accept", e),
            Accepted::ServeFailed(e) => ("cannot serve a connection, closed it", e),
        };
        let pause = self.next;
        self.next = (pause * 2).min(BACKOFF_MAX);
        self.unreported += 1;
        let due = self
            .last_report
            .is_none_or(|at| now.saturating_duration_since(at) >= BACKOFF_REPORT_INTERVAL);
        if !due {
            return (Some(pause), None);
        }
        let line = format!(
            "{what}: {e} (errors since the last report: {}); accepting again in {pause:?}",
            self.unreported
        );
        self.unreported = 0;
        self.last_report = Some(now);
        (Some(pause), Some(line))
    }
}

/// Whether a failed `accept` is the trouble of the one connection it was
/// taking (skip it) rather than the process's (pause). Reset or aborted
/// while queued, refused by a firewall rule, or, on Linux, a network error
/// already pending on the new socket, which accept(2) reports in its
/// place and asks to be treated like `EAGAIN`.
pub fn is_connection_error(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted
            | ConnectionReset
            | Interrupted
            | PermissionDenied
            | HostUnreachable
            | NetworkUnreachable
            | NetworkDown
    ) {
        return true;
    }
    #[cfg(unix)]
    if let Some(code) = e.raw_os_error() {
        #[cfg(target_os = "linux")]
        if code == libc::ENONET {
            return true;
        }
        return [
            libc::EPROTO,
            libc::ENOPROTOOPT,
            libc::EHOSTDOWN,
            libc::EOPNOTSUPP,
        ]
        .contains(&code);
    }
    false
}

/// Accept connections on `listener` for ever, handing each to `serve`
/// (which starts its thread), pausing under pressure as
/// [`AcceptBackoff`] says. An error from `serve` counts as pressure; the
/// connection it was given is dropped, which closes it.
pub fn accept_loop(
    listener: &std::net::TcpListener,
    mut serve: impl FnMut(TcpStream) -> io::Result<()>,
) -> ! {
    let mut backoff = AcceptBackoff::default();
    loop {
        let outcome = match listener.accept() {
            Ok((stream, _)) => {
                serve(stream).map_or_else(Accepted::ServeFailed, |()| Accepted::Served)
            }
            Err(e) => Accepted::AcceptFailed(e),
        };
        if let Some(pause) = backoff.pause_after(outcome) {
            std::thread::sleep(pause);
        }
    }
}

/// [`accept_loop`] for tokio: `serve` spawns the connection's task, which
/// cannot fail. The pauses are the runtime's sleeps, so the other tasks
/// run on.
pub async fn accept_loop_tokio(
    listener: &tokio::net::TcpListener,
    mut serve: impl FnMut(tokio::net::TcpStream),
) -> ! {
    let mut backoff = AcceptBackoff::default();
    loop {
        let outcome = match listener.accept().await {
            Ok((stream, _)) => {
                serve(stream);
                Accepted::Served
            }
            Err(e) => Accepted::AcceptFailed(e),
        };
        if let Some(pause) = backoff.pause_after(outcome) {
            tokio::time::sleep(pause).await;
        }
    }
}

/// Echo every data message with the same type, from the borrowed payload,
/// until the connection ends: the body of the tokio echo servers, over TCP
/// or TLS alike. The end's error, if it was not clean, is returned.
pub async fn echo_tokio<S>(ws: &mut wscore::tokio::WebSocket<S>) -> io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(sent) = ws
        .recv_with(|event, mut tx| match event {
            Event::Text(text) => tx.send_text(text),
            Event::Binary(data) => tx.send_binary(data),
            _ => Ok(()),
        })
        .await
    {
        // Sending fails only once our Close is out: the end follows.
        let _ = sent?;
    }
    Ok(())
}

/// The read buffer a connection starts with, and goes back to when reads
/// are short.
pub const READ_SMALL: usize = 4 * 1024;

/// Bytes per socket read.
pub const READ_BUF: usize = 64 * 1024;

/// How long one write may block on a peer that does not read before the
/// connection is given up.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

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
        getrandom::fill(&mut key).expect("the OS random source works");
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
                // No subprotocol; permessage-deflate as `config.deflate`
                // says (on by default).
                let mut response = Vec::new();
                let (conn, _) =
                    request.accept(&Accept::new(), config, now(), &buf[used..n], &mut response)?;
                stream.write_all(&response)?;
                return Ok(conn);
            }
            Err(error) => {
                let _ = stream.write_all(&error.response());
                return Err(error.into());
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

/// Connect and handshake; returns the socket and the connection, with the
/// server's first frames (if they came with the 101) already fed in.
pub fn connect(url: &WsUrl, config: &Config) -> Result<(TcpStream, Connection), String> {
    let mut stream =
        TcpStream::connect((url.host.as_str(), url.port)).map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| e.to_string())?;
    let mut request = Vec::new();
    let offer = ClientRequest::new(url.host_header(), nonce).target(url.target.clone());
    // Offers permessage-deflate as `config.deflate` says (on by default).
    let mut handshake = offer
        .write(config, &mut request)
        .map_err(|e| e.to_string())?;
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
                let conn = response.open(now(), &buf[used..n], os_mask());
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
/// gets a [`READ_SMALL`]-byte one, which grows to [`READ_BUF`] while reads
/// fill it; when a deadline passes without input (the connection's buffer
/// release, or keepalive), `buf` is freed again, as the connection frees
/// its own. While a large message arrives, reads go where it is assembled
/// ([`Connection::payload_buffer`]) and `buf` is freed.
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
    // While a large message arrives, read where it is assembled (no copy,
    // and no read buffer of our own held beside it: a peer that announces
    // 16 MiB and sends a few bytes pins a few KiB).
    let (read, lent) = match conn.payload_buffer(READ_BUF) {
        Some(lent) => {
            *buf = Vec::new();
            (stream.read(lent), true)
        }
        None if buf.is_empty() => {
            let read = match stream.peek(&mut [0u8; 1]) {
                Ok(0) => Ok(0),
                Ok(_) => {
                    buf.resize(READ_SMALL, 0);
                    stream.read(buf)
                }
                Err(e) => Err(e),
            };
            (read, false)
        }
        None => (stream.read(buf), false),
    };
    // The buffer follows the reads: a read that fills it asks for the big
    // one, a short read into the big one goes back to the small one, so a
    // peer trickling bytes holds 4 KiB and a bulk sender 64 KiB.
    if let Ok(n) = read {
        if n == buf.len() && n < READ_BUF {
            buf.resize(READ_BUF, 0);
        } else if buf.len() == READ_BUF && n < READ_SMALL {
            buf.truncate(READ_SMALL);
            buf.shrink_to_fit();
        }
    }
    match read {
        Ok(0) => conn.handle_eof(now()),
        Ok(n) if lent => conn.commit_input(now(), n),
        Ok(n) => conn.handle_input(now(), &buf[..n.min(buf.len())]),
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
    // A peer that never reads would block our writes, and this thread,
    // forever (the tokio driver stops reading instead, at its
    // `max_pending`): give up on it after WRITE_TIMEOUT.
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
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
