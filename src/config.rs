//! Connection limits and behaviour switches.

use core::time::Duration;

/// The configuration of a [`Connection`](crate::connection::Connection).
///
/// Every buffer the connection keeps is capped here (house rule 3). Start
/// from [`Config::default`] and change the fields you need:
///
/// ```
/// let mut config = wscore::Config::default();
/// config.max_message_size = 64 << 20;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The largest payload one received frame may announce. A header that
    /// announces more fails the connection with 1009 before any of its payload
    /// is read. Default: 16 MiB.
    pub max_frame_size: u64,
    /// The largest message (the sum of its frames' payloads) the connection
    /// accepts. A frame header that would take a message past it fails the
    /// connection with 1009 before that payload is buffered. In streaming mode
    /// nothing is buffered, but the limit still applies: raise it for huge
    /// streamed messages. Default: 16 MiB.
    pub max_message_size: u64,
    /// Deliver data messages in pieces as they arrive
    /// ([`Event::TextFragment`](crate::Event::TextFragment) and
    /// [`Event::BinaryFragment`](crate::Event::BinaryFragment)) instead of
    /// whole. Default: `false` (whole messages).
    pub streaming: bool,
    /// Answer every received Ping with a Pong carrying its payload (RFC 6455
    /// section 5.5.2 says MUST). The Ping is reported either way. Default: `true`.
    pub auto_pong: bool,
    /// Answer a received Close with a Close echoing its code (section 5.5.1 says
    /// MUST, "as soon as practical"). Turn off to finish sending first and then
    /// call [`close`](crate::connection::Connection::close) yourself. Default: `true`.
    pub auto_close: bool,
    /// Split outgoing whole messages into frames of at most this many payload
    /// bytes. `None` sends each message as one frame. Default: `None`.
    pub fragment_size: Option<usize>,
    /// Send a Ping after this long without receiving anything. `None` or
    /// zero is off. Default: `None`.
    ///
    /// With [`keepalive_timeout`](Self::keepalive_timeout) set too, a peer
    /// that sends nothing at all is declared dead (reported as 1006)
    /// exactly `keepalive_interval + keepalive_timeout` after its last
    /// input, after one Ping; any input (its Pong, or anything else)
    /// restarts the interval. Without a timeout the connection pings every
    /// interval and never gives up: a heartbeat that keeps intermediaries
    /// from dropping an idle connection. Durations are kept in whole
    /// milliseconds, rounded up, up to about 49 days.
    pub keepalive_interval: Option<Duration>,
    /// After a keepalive Ping, how long to wait for any input before the peer
    /// counts as dead; see [`keepalive_interval`](Self::keepalive_interval),
    /// without which it does nothing. Default: 30 s.
    pub keepalive_timeout: Option<Duration>,
    /// How long to wait, once our Close is sent, for the close handshake to
    /// finish (and, for a client, for the server to close the transport).
    /// Default: 30 s.
    pub close_timeout: Option<Duration>,
    /// Buffers whose capacity is at most this many bytes are kept for reuse
    /// when they empty, so steady traffic allocates nothing; larger ones are
    /// freed. Default: 16 KiB.
    pub retain_buffer: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 16 << 20,
            streaming: false,
            auto_pong: true,
            auto_close: true,
            fragment_size: None,
            keepalive_interval: None,
            keepalive_timeout: Some(Duration::from_secs(30)),
            close_timeout: Some(Duration::from_secs(30)),
            retain_buffer: 16 << 10,
        }
    }
}
