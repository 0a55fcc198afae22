//! WebSocket over HTTP/3 (RFC 9220) with wscore's sans-IO core on
//! [quiche]'s QUIC and HTTP/3: a blocking echo [`server`], a blocking
//! [`client`], and the glue between an HTTP/3 request stream and a
//! `wscore::Connection` ([`stream`]) that both share.
//!
//! The handshake is wscore's extended CONNECT layer
//! (`Request::from_extended_connect_fields`, `accept_fields`,
//! `ClientRequest::to_extended_connect_fields`,
//! `ClientHandshake::check_response_fields`) over the field lists quiche
//! hands over. After the 200, the request stream's DATA carries the
//! WebSocket frames both ways; the end of the stream (FIN) is the
//! connection's EOF, a reset is an abrupt EOF, and the close handshake
//! ends by finishing the stream, never the QUIC connection (RFC 8441
//! section 5, RFC 9220 section 3).
//!
//! This crate is a separate workspace member so that BoringSSL, which
//! quiche builds with cmake, never enters the core's builds, tests or Miri.
//! See README.md beside this crate for how to run it and its limits.

#![forbid(unsafe_code)]

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::OnceLock;
use std::time::Duration;

pub mod client;
pub mod server;
pub mod stream;

/// The largest UDP payload we send or expect: fits the IPv6 minimum MTU
/// with room to spare, as quiche's own examples use.
pub const MAX_DATAGRAM_SIZE: usize = 1350;

/// H3_REQUEST_CANCELLED (RFC 9114 section 8.1): the code we reset a
/// request stream with, and that RFC 9220 reads as an abrupt end.
pub const H3_REQUEST_CANCELLED: u64 = 0x10c;

/// The process's monotonic clock as a wscore `Instant` (epoch: first call).
pub fn now() -> wscore::Instant {
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    wscore::Instant::from_elapsed(START.get_or_init(std::time::Instant::now).elapsed())
}

/// Random bytes from the OS (connection IDs, the client's masks).
pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    bytes
}

/// The QUIC settings both ends share: ALPN `h3`, TLS 1.3 (QUIC has no
/// other), an idle timeout, and flow-control windows that let a 1 MiB
/// message through without waiting for a window update per packet.
pub fn quic_config(idle_timeout: Duration, max_streams: u64) -> quiche::Result<quiche::Config> {
    let mut config = quiche::Config::new(quiche::PROTOCOL_VERSION)?;
    config.set_application_protos(quiche::h3::APPLICATION_PROTOCOL)?;
    config.set_max_idle_timeout(u64::try_from(idle_timeout.as_millis()).unwrap_or(u64::MAX));
    config.set_max_recv_udp_payload_size(MAX_DATAGRAM_SIZE);
    config.set_max_send_udp_payload_size(MAX_DATAGRAM_SIZE);
    config.set_initial_max_data(16 << 20);
    config.set_initial_max_stream_data_bidi_local(4 << 20);
    config.set_initial_max_stream_data_bidi_remote(4 << 20);
    config.set_initial_max_stream_data_uni(1 << 20);
    config.set_initial_max_streams_bidi(max_streams);
    // The peer's control stream, QPACK encoder and decoder streams, and
    // room for a GREASE or unknown one (RFC 9114 section 6.2).
    config.set_initial_max_streams_uni(8);
    config.set_disable_active_migration(true);
    Ok(config)
}

/// The HTTP/3 settings both ends share: SETTINGS_ENABLE_CONNECT_PROTOCOL
/// (RFC 9220 section 3, needed before any extended CONNECT) and a cap on
/// the size of a header section.
pub fn h3_config() -> quiche::h3::Result<quiche::h3::Config> {
    let mut config = quiche::h3::Config::new()?;
    config.enable_extended_connect(true);
    config.set_max_field_section_size(16 << 10);
    Ok(config)
}

/// Send every packet quiche has for `conn` now.
pub fn flush_quic(
    socket: &UdpSocket,
    conn: &mut quiche::Connection,
    out: &mut [u8],
) -> io::Result<()> {
    loop {
        match conn.send(out) {
            Ok((n, info)) => send_datagram(socket, &out[..n], info.to)?,
            Err(quiche::Error::Done) => return Ok(()),
            // quiche closed the connection itself; its CONNECTION_CLOSE
            // went out on an earlier call, or the connection is gone.
            Err(_) => {
                let _ = conn.close(false, 0x1, b"send failed");
                return Ok(());
            }
        }
    }
}

fn send_datagram(socket: &UdpSocket, packet: &[u8], to: SocketAddr) -> io::Result<()> {
    match socket.send_to(packet, to) {
        Ok(_) => Ok(()),
        // A full send buffer drops the packet, as the network might:
        // QUIC's loss recovery sends it again.
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
        Err(e) => Err(e),
    }
}

/// How long to wait for a datagram: until the earliest of the deadlines,
/// at least a millisecond (a zero read timeout means "forever" on std), at
/// most `cap`.
pub fn wait_for(deadlines: impl IntoIterator<Item = Duration>, cap: Duration) -> Duration {
    deadlines
        .into_iter()
        .fold(cap, Duration::min)
        .max(Duration::from_millis(1))
}
