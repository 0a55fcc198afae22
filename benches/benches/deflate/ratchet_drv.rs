//! ratchet (`ratchet_rs` with feature `deflate`, i.e. `ratchet_deflate`):
//! its own handshake (`WebSocketClientBuilder::subscribe` /
//! `WebSocketServerBuilder::accept`, each with a `DeflateExtProvider`)
//! over the in-memory duplex, run to completion with both ends polled
//! together. A round trip is `write(payload, PayloadType::Text)` (which
//! writes the frame and flushes), `read` into a reused `BytesMut`, and the
//! same back. ratchet does not check text (its docs leave that to the
//! user), so the driver does, with `std::str::from_utf8`, on each receipt.
//!
//! Context takeover: ratchet's default `DeflateConfig` asks for no context
//! takeover both ways, and its server resets its compressor after every
//! message whenever `accept_no_context_takeover` is set (the default), even
//! if the client did not ask. For W5 (context takeover on) both ends set
//! `request_server_no_context_takeover`, `request_client_no_context_takeover`
//! and `accept_no_context_takeover` to `false`; windows stay 15.

use bytes::BytesMut;
use futures_util::future::join;
use ratchet_rs::deflate::{Compression, Deflate, DeflateConfig, DeflateExtProvider};
use ratchet_rs::{Message, PayloadType, WebSocket, WebSocketClientBuilder, WebSocketServerBuilder};
use tokio::runtime::Runtime;

use crate::Wire;
use crate::duplex::{self, End, Meter};

pub struct Pair {
    client: WebSocket<End, Deflate>,
    server: WebSocket<End, Deflate>,
    meter: Meter,
    buf: BytesMut,
}

pub fn connect(rt: &Runtime, level: u32) -> Pair {
    let config = DeflateConfig {
        request_server_no_context_takeover: false,
        request_client_no_context_takeover: false,
        accept_no_context_takeover: false,
        compression_level: Compression::new(level),
        ..DeflateConfig::default()
    };
    let provider = DeflateExtProvider::with_config(config);
    let (c, s) = duplex::pair();
    let meter = c.meter();
    let client = WebSocketClientBuilder::default()
        .extension(provider)
        .subscribe(c, "ws://localhost/");
    let server = WebSocketServerBuilder::default()
        .extension(provider)
        .accept(s);
    let (client, server) = rt.block_on(join(client, server));
    let client = client.expect("ratchet: client handshake").into_websocket();
    let server = server.expect("ratchet: server handshake").into_websocket();
    assert_eq!(meter.unread(), 0, "ratchet: handshake left bytes behind");
    meter.strict();
    Pair {
        client,
        server,
        meter,
        buf: BytesMut::with_capacity(8 << 10),
    }
}

/// One pass over `corpus` (see `wscore_drv::round_trips`).
pub fn round_trips(rt: &Runtime, p: &mut Pair, corpus: &[String]) -> Wire {
    let before = p.meter.written();
    rt.block_on(async {
        let Pair {
            client,
            server,
            buf,
            ..
        } = p;
        for msg in corpus {
            client
                .write(msg, PayloadType::Text)
                .await
                .expect("ratchet: client send");
            buf.clear();
            let m = server.read(buf).await.expect("ratchet: server recv");
            assert!(matches!(m, Message::Text), "ratchet: server got {m:?}");
            let text = std::str::from_utf8(buf).expect("ratchet: server got bad UTF-8");
            assert_eq!(text, msg, "ratchet: server got a different message");
            server
                .write(text, PayloadType::Text)
                .await
                .expect("ratchet: server send");
            buf.clear();
            let m = client.read(buf).await.expect("ratchet: client recv");
            assert!(matches!(m, Message::Text), "ratchet: client got {m:?}");
            let text = std::str::from_utf8(buf).expect("ratchet: client got bad UTF-8");
            assert_eq!(text, msg, "ratchet: client got a different echo");
        }
    });
    assert_eq!(p.meter.unread(), 0, "ratchet: bytes left unread");
    let after = p.meter.written();
    Wire {
        c2s: after.0 - before.0,
        s2c: after.1 - before.1,
    }
}
