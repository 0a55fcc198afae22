//! Connection limits and behaviour switches.

use core::time::Duration;

/// The configuration of a [`Connection`](crate::connection::Connection).
///
/// Every buffer the connection keeps is capped here (house rule 3). Start
/// from [`Config::default`] (or [`Config::DEFAULT`] in a `const`) and change
/// what you need, in one expression with the `with_*` methods (the struct is
/// `#[non_exhaustive]`, so a struct literal is not possible outside the
/// crate), or field by field:
///
/// ```
/// use core::time::Duration;
/// use wscore::Config;
///
/// const CONFIG: Config = Config::DEFAULT
///     .with_max_message_size(64 << 20)
///     .with_keepalive_interval(Some(Duration::from_secs(20)));
///
/// let mut config = Config::default();
/// config.max_message_size = 64 << 20;
/// config.keepalive_interval = Some(Duration::from_secs(20));
/// assert_eq!(config, CONFIG);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The largest payload one received frame may announce. A header that
    /// announces more fails the connection with 1009
    /// ([`ProtocolError::FrameTooLarge`](crate::ProtocolError::FrameTooLarge))
    /// before any of its payload is read. Default: 16 MiB.
    pub max_frame_size: u64,
    /// The largest message (the sum of its frames' payloads) the connection
    /// accepts. A frame header that would take a message past it fails the
    /// connection with 1009
    /// ([`ProtocolError::MessageTooLarge`](crate::ProtocolError::MessageTooLarge))
    /// before that payload is buffered. For a compressed message it caps
    /// what the message inflates to, counted exactly as it inflates
    /// (its compressed frames are capped by
    /// [`max_frame_size`](Self::max_frame_size) alone). In streaming mode
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
    /// bytes, each behind its own 2 to 14-byte header (a compressed message
    /// is split after compression). `None` sends each message as one
    /// frame; `Some(0)` counts as 1. Default: `None`.
    pub fragment_size: Option<usize>,
    /// Send a Ping after this long without receiving anything. `None` or
    /// zero is off. Default: 30 s, so that a peer gone without a FIN (a
    /// dropped mobile link, a crashed host) is noticed in a minute rather
    /// than when the kernel's TCP keepalive (two hours by default) does;
    /// browsers and WebSocket libraries answer Pings by themselves.
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
    /// How long a frame or message the peer has started may take to
    /// arrive whole: from the input that brought its first byte to the one
    /// that completes it. Past that the connection fails with 1008 (policy
    /// violation) and [`ClosedReason::MessageTimeout`](crate::ClosedReason::MessageTimeout),
    /// after every message that was complete before it is handed out. It
    /// is what keepalive cannot see: a peer that trickles a byte at a time
    /// into a frame it never finishes. Control frames between the
    /// fragments of a message do not restart it. The limit implies a
    /// minimum rate for the largest message: 16 MiB (the default cap) in
    /// 60 s is 280 KB/s; raise it with the cap for large uploads over slow
    /// links. `None` or zero is no limit. Default: 60 s.
    pub message_timeout: Option<Duration>,
    /// How long the connection may go without traffic (no input and no
    /// command) before it gives its buffers back. While messages flow, the
    /// input buffer, the transmit queue and the permessage-deflate scratch
    /// keep their size, so a steady stream allocates nothing; once the
    /// connection has been quiet for this long, [`handle_timeout`] frees
    /// them, leaving the protocol state and the deflate history that the
    /// agreed context takeover needs. Every such period that did see
    /// traffic, a buffer more than twice the size it needs (and over 64 KiB)
    /// is shrunk, so one large message does not pin its buffer on a busy
    /// connection either. `None` keeps buffers until
    /// [`release_buffers`](crate::Connection::release_buffers); zero counts
    /// as one millisecond. Default: 1 s.
    ///
    /// [`handle_timeout`]: crate::Connection::handle_timeout
    pub buffer_release: Option<Duration>,
    /// permessage-deflate (RFC 7692): whether a client offers it and a
    /// server accepts it, and with what windows, context takeover and
    /// threshold. The handshake offers or accepts it as this says
    /// ([`ClientRequest::write`](crate::handshake::client::ClientRequest::write),
    /// [`Request::accept`](crate::handshake::server::Request::accept)), and
    /// the connection it returns runs it when it was agreed.
    /// Default: [`DeflateConfig::DEFAULT`](crate::extension::deflate::DeflateConfig::DEFAULT), enabled.
    #[cfg(feature = "deflate")]
    pub deflate: crate::extension::deflate::DeflateConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}

/// One `with_*` method per field, each a `const fn` so a whole
/// configuration can be a `const`. Each sets the field of the same name;
/// see the field's docs for what it means and its default.
impl Config {
    /// The defaults, as [`Config::default`] gives them, usable in a `const`.
    pub const DEFAULT: Config = Config {
        max_frame_size: 16 << 20,
        max_message_size: 16 << 20,
        streaming: false,
        auto_pong: true,
        auto_close: true,
        fragment_size: None,
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_timeout: Some(Duration::from_secs(30)),
        close_timeout: Some(Duration::from_secs(30)),
        message_timeout: Some(Duration::from_secs(60)),
        buffer_release: Some(Duration::from_secs(1)),
        #[cfg(feature = "deflate")]
        deflate: crate::extension::deflate::DeflateConfig::DEFAULT,
    };

    /// The largest payload one received frame may announce: sets [`max_frame_size`](Self::max_frame_size).
    #[must_use]
    pub const fn with_max_frame_size(mut self, max_frame_size: u64) -> Config {
        self.max_frame_size = max_frame_size;
        self
    }

    /// The largest message the connection accepts: sets [`max_message_size`](Self::max_message_size).
    #[must_use]
    pub const fn with_max_message_size(mut self, max_message_size: u64) -> Config {
        self.max_message_size = max_message_size;
        self
    }

    /// Whether data messages are delivered in pieces as they arrive: sets [`streaming`](Self::streaming).
    #[must_use]
    pub const fn with_streaming(mut self, streaming: bool) -> Config {
        self.streaming = streaming;
        self
    }

    /// Whether received Pings are answered automatically: sets [`auto_pong`](Self::auto_pong).
    #[must_use]
    pub const fn with_auto_pong(mut self, auto_pong: bool) -> Config {
        self.auto_pong = auto_pong;
        self
    }

    /// Whether a received Close is echoed automatically: sets [`auto_close`](Self::auto_close).
    #[must_use]
    pub const fn with_auto_close(mut self, auto_close: bool) -> Config {
        self.auto_close = auto_close;
        self
    }

    /// The largest payload of one outgoing frame; `None` for one frame per message: sets [`fragment_size`](Self::fragment_size).
    #[must_use]
    pub const fn with_fragment_size(mut self, fragment_size: Option<usize>) -> Config {
        self.fragment_size = fragment_size;
        self
    }

    /// How long without input before a keepalive Ping; `None` or zero is off: sets [`keepalive_interval`](Self::keepalive_interval).
    #[must_use]
    pub const fn with_keepalive_interval(mut self, keepalive_interval: Option<Duration>) -> Config {
        self.keepalive_interval = keepalive_interval;
        self
    }

    /// How long to wait for input after a keepalive Ping: sets [`keepalive_timeout`](Self::keepalive_timeout).
    #[must_use]
    pub const fn with_keepalive_timeout(mut self, keepalive_timeout: Option<Duration>) -> Config {
        self.keepalive_timeout = keepalive_timeout;
        self
    }

    /// How long to wait for the close handshake to finish: sets [`close_timeout`](Self::close_timeout).
    #[must_use]
    pub const fn with_close_timeout(mut self, close_timeout: Option<Duration>) -> Config {
        self.close_timeout = close_timeout;
        self
    }

    /// How long a started frame or message may take to arrive whole; `None` is no limit: sets [`message_timeout`](Self::message_timeout).
    #[must_use]
    pub const fn with_message_timeout(mut self, message_timeout: Option<Duration>) -> Config {
        self.message_timeout = message_timeout;
        self
    }

    /// How long without traffic before buffers are given back; `None` keeps them: sets [`buffer_release`](Self::buffer_release).
    #[must_use]
    pub const fn with_buffer_release(mut self, buffer_release: Option<Duration>) -> Config {
        self.buffer_release = buffer_release;
        self
    }

    /// How permessage-deflate is offered or accepted: sets [`deflate`](Self::deflate).
    #[cfg(feature = "deflate")]
    #[must_use]
    pub const fn with_deflate(
        mut self,
        deflate: crate::extension::deflate::DeflateConfig,
    ) -> Config {
        self.deflate = deflate;
        self
    }
}
